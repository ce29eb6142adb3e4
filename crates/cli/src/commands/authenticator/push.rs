//! The push protocol (docs/authenticator-protocol.md, part 1): fetch the pending sign-in
//! requests, answer one with the number shown, each proved by the device key.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::state::{key, sign, Account};
use super::{out, CliError};

/// The server's answers, parsed once.
#[derive(Deserialize)]
pub(super) struct Refusal {
    pub(super) error: RefusalBody,
}

#[derive(Deserialize)]
pub(super) struct RefusalBody {
    pub(super) message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Activated {
    pub(super) device_id: String,
    pub(super) user_principal_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Request {
    pub(super) id: String,
    pub(super) app_name: Option<String>,
    pub(super) location: Option<String>,
    pub(super) expires_date_time: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Requests {
    pub(super) value: Vec<Request>,
}

#[derive(Deserialize)]
pub(super) struct Answered {
    pub(super) state: String,
}

/// POSTs `body`; the answer parsed as `T` when the status is `ok`, else the server's reason.
pub(super) async fn post<T: serde::de::DeserializeOwned>(
    url: &str,
    body: &Value,
    ok: u16,
) -> Result<T, CliError> {
    let r = reqwest::Client::new()
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| CliError::Other(format!("{url}: {e}")))?;
    let st = r.status().as_u16();
    let bytes = r
        .bytes()
        .await
        .map_err(|e| CliError::Other(format!("{url}: {e}")))?;
    if st != ok {
        let why = serde_json::from_slice::<Refusal>(&bytes)
            .map(|r| r.error.message)
            .unwrap_or_else(|_| "no reason given".into());
        return Err(CliError::Other(format!("the server refused ({st}): {why}")));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| CliError::Other(format!("{url}: an answer this app does not read: {e}")))
}

pub(super) async fn pending(a: &Account, wait: u64) -> Result<Vec<Request>, CliError> {
    let k = key(a)?;
    let now = portcullis_domain::Timestamp::now_utc().unix_timestamp();
    let sig = sign(&k, &format!("portcullis-poll|{}|{now}", a.device_id));
    let body = json!({"deviceId": a.device_id, "signedAt": now, "signature": sig, "waitSeconds": wait.min(25)});
    let r: Requests = post(
        &format!("{}/api/authenticator/requests", a.server),
        &body,
        200,
    )
    .await?;
    Ok(r.value)
}

pub(super) async fn answer(
    a: &Account,
    approve: bool,
    number: u8,
    wait: u64,
    json_out: bool,
) -> Result<(), CliError> {
    let found = pending(a, wait).await?;
    let Some(req) = found.last() else {
        return Err(CliError::Other("no pending sign-in request".into()));
    };
    let context = match (req.app_name.as_deref(), req.location.as_deref()) {
        (Some(app), Some(loc)) => format!(" to {app} from {loc}"),
        (Some(app), None) => format!(" to {app}"),
        (None, Some(loc)) => format!(" from {loc}"),
        (None, None) => String::new(),
    };
    let k = key(a)?;
    let id = &req.id;
    let sig = sign(
        &k,
        &format!("portcullis-answer|{id}|{}|{number}", u8::from(approve)),
    );
    let body =
        json!({"deviceId": a.device_id, "approve": approve, "number": number, "signature": sig});
    let r: Answered = post(
        &format!("{}/api/authenticator/requests/{id}", a.server),
        &body,
        200,
    )
    .await?;
    out(
        json_out,
        &json!({"request": id, "appName": req.app_name, "location": req.location, "state": r.state}),
        &format!(
            "Sign-in request{context} for {}: {}",
            a.user_principal_name, r.state
        ),
    );
    if r.state == "deniedWrongNumber" {
        return Err(CliError::Other(
            "the number was not the one the sign-in page shows: the request was denied".into(),
        ));
    }
    Ok(())
}
