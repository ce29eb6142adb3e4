//! WebAuthn input: registration responses (every attestation statement format, then the
//! trust path), sign-in assertions, and FIDO MDS3 BLOBs (JWS, certificate path, payload).

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use portcullis_webauthn::{
    verify_blob, verify_trust, BlobCheck, Credential, RelyingParty, RootEntry, RootScope,
    Staleness, TrustRoots, MDS_SIGNER,
};
use serde_json::{json, Value};

use crate::frame::Fields;

/// The recorded registrations (the real vectors the test suite checks, one per statement
/// format): each input is verified against one of their relying parties and challenges.
const VECTORS: &[&str] = &[
    include_str!("../../cli/tests/vectors/packed.json"),
    include_str!("../../cli/tests/vectors/packed-x5c.json"),
    include_str!("../../cli/tests/vectors/packed-ed25519.json"),
    include_str!("../../cli/tests/vectors/tpm.json"),
    include_str!("../../cli/tests/vectors/android-key.json"),
    include_str!("../../cli/tests/vectors/android-safetynet.json"),
    include_str!("../../cli/tests/vectors/apple.json"),
    include_str!("../../cli/tests/vectors/fido-u2f.json"),
    include_str!("../../cli/tests/vectors/none.json"),
];

/// An ES256 passkey and one of its sign-ins (made by the software authenticator; see
/// `examples/seeds.rs`), and an MDS3 BLOB with the root it chains to.
const ES256: &str = include_str!("../../../fuzz/vectors/es256.json");
const MDS: &str = include_str!("../../../fuzz/vectors/mds.json");

/// One relying party, challenge, time and set of roots to verify against.
pub struct Context {
    rp: RelyingParty,
    state: portcullis_webauthn::RegistrationState,
    at: SystemTime,
    roots: Vec<Vec<u8>>,
}

fn b64url(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).unwrap_or_default()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn context(v: &Value) -> Option<Context> {
    let origin = url::Url::parse(str_of(v, "origin")).ok()?;
    let rp = RelyingParty::danger_with_origin(str_of(v, "rpId"), &origin, "fuzz");
    let state = rp
        .danger_state_for_foreign_challenge(&b64url(str_of(v, "challenge")))
        .ok()?;
    // A fixed time when the vector names none: a run must not depend on the day.
    let at = time::OffsetDateTime::parse(
        str_of(v, "at"),
        &time::format_description::well_known::Rfc3339,
    )
    .map(SystemTime::from)
    .unwrap_or(SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600));
    let roots = v
        .get("roots")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|r| {
            STANDARD
                .decode(r.split_whitespace().collect::<String>())
                .ok()
        })
        .collect();
    Some(Context {
        rp,
        state,
        at,
        roots,
    })
}

/// The contexts of [`VECTORS`], with each vector's response for seeding.
pub fn contexts() -> &'static [(Context, Value)] {
    static CONTEXTS: OnceLock<Vec<(Context, Value)>> = OnceLock::new();
    CONTEXTS.get_or_init(|| {
        VECTORS
            .iter()
            .filter_map(|t| serde_json::from_str::<Value>(t).ok())
            .filter_map(|v| Some((context(&v)?, v)))
            .collect()
    })
}

/// A registration response: selector (which context), then credential id,
/// clientDataJSON, and the attestation object (the rest). What verifies is then checked
/// against the context's roots as a trust path.
pub fn registration(data: &[u8]) {
    let _ = registration_verifies(data);
}

/// [`registration`], saying whether the response verified (the replay test checks that
/// the recorded ones do, so that the target reaches the statement checks at all).
pub fn registration_verifies(data: &[u8]) -> bool {
    let mut f = Fields::new(data);
    let (Some(which), Some(id), Some(client_data)) = (f.byte(), f.part(), f.part()) else {
        return false;
    };
    let all = contexts();
    let Some((cx, _)) = all.get(usize::from(which) % all.len().max(1)) else {
        return false;
    };
    let body = json!({
        "id": URL_SAFE_NO_PAD.encode(id),
        "rawId": URL_SAFE_NO_PAD.encode(id),
        "type": "public-key",
        "response": {
            "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data),
            "attestationObject": URL_SAFE_NO_PAD.encode(f.rest()),
        },
    });
    let Ok(cred) = cx.rp.finish_registration(&body, &cx.state, cx.at) else {
        return false;
    };
    let roots = TrustRoots::new(&[RootEntry {
        scope: RootScope::Model(cred.aaguid),
        name: "fuzz".into(),
        roots: cx.roots.clone(),
    }]);
    let _ = verify_trust(&cred, &roots, cx.at).aaguid_attested();
    true
}

/// The registration input [`registration`] reads for a recorded response.
pub fn registration_input(which: u8, response: &Value) -> Vec<u8> {
    let r = response.get("response").unwrap_or(&Value::Null);
    crate::frame::join(
        which,
        &[
            &b64url(str_of(response, "rawId")),
            &b64url(str_of(r, "clientDataJSON")),
            &b64url(str_of(r, "attestationObject")),
        ],
    )
}

/// A passkey to sign in with: the relying party, the stored credential, its counter, and
/// an authentication state for the recorded challenge.
struct SignInContext {
    rp: RelyingParty,
    credential: Credential,
    counter: u32,
    state: portcullis_webauthn::AuthenticationState,
}

fn sign_in_context(v: &Value) -> Option<SignInContext> {
    let cx = context(v)?;
    let cred = cx
        .rp
        .finish_registration(v.get("response")?, &cx.state, cx.at)
        .ok()?;
    let (_, state) = cx
        .rp
        .start_authentication(vec![cred.credential.clone()])
        .ok()?;
    let mut sv = serde_json::to_value(&state).ok()?;
    if let Some(m) = sv.as_object_mut() {
        m.insert(
            "challenge".into(),
            v.get("assertion")?.get("challenge")?.clone(),
        );
    }
    Some(SignInContext {
        rp: cx.rp,
        credential: cred.credential,
        counter: 0,
        state: serde_json::from_value(sv).ok()?,
    })
}

/// The passkeys [`assertion`] signs in with (Ed25519 from a real key, ES256 from the
/// software authenticator), each with its recorded sign-in.
fn sign_in_contexts() -> &'static [(SignInContext, Value)] {
    static CONTEXTS: OnceLock<Vec<(SignInContext, Value)>> = OnceLock::new();
    CONTEXTS.get_or_init(|| {
        VECTORS
            .iter()
            .copied()
            .chain([ES256])
            .filter_map(|t| serde_json::from_str::<Value>(t).ok())
            .filter(|v| v.get("assertion").is_some())
            .filter_map(|v| Some((sign_in_context(&v)?, v)))
            .collect()
    })
}

/// How many passkeys [`assertion`] chooses from, and their recorded sign-ins.
pub fn recorded_assertions() -> Vec<Value> {
    sign_in_contexts()
        .iter()
        .filter_map(|(_, v)| v.get("assertion")?.get("response").cloned())
        .collect()
}

/// A sign-in response: selector (which passkey), then credential id, clientDataJSON,
/// authenticatorData, signature, and the user handle (the rest).
pub fn assertion(data: &[u8]) {
    let _ = assertion_verifies(data);
}

/// [`assertion`], saying whether the sign-in verified.
pub fn assertion_verifies(data: &[u8]) -> bool {
    let mut f = Fields::new(data);
    let (Some(which), Some(id), Some(client_data), Some(auth_data), Some(sig)) =
        (f.byte(), f.part(), f.part(), f.part(), f.part())
    else {
        return false;
    };
    let all = sign_in_contexts();
    let Some((cx, _)) = all.get(usize::from(which) % all.len().max(1)) else {
        return false;
    };
    let user_handle = f.rest();
    let mut response = json!({
        "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data),
        "authenticatorData": URL_SAFE_NO_PAD.encode(auth_data),
        "signature": URL_SAFE_NO_PAD.encode(sig),
    });
    if !user_handle.is_empty() {
        if let Some(m) = response.as_object_mut() {
            m.insert(
                "userHandle".into(),
                URL_SAFE_NO_PAD.encode(user_handle).into(),
            );
        }
    }
    let body = json!({
        "id": URL_SAFE_NO_PAD.encode(id),
        "rawId": URL_SAFE_NO_PAD.encode(id),
        "type": "public-key",
        "response": response,
    });
    let Ok(parsed) = RelyingParty::parse_assertion(&body) else {
        return false;
    };
    let _ = cx.rp.refuse_unknown_credential(&parsed, &cx.state);
    cx.rp
        .finish_authentication(&parsed, &cx.state, &cx.credential, cx.counter)
        .is_ok()
}

/// The assertion input [`assertion`] reads for a recorded sign-in response.
pub fn assertion_input(which: u8, response: &Value) -> Vec<u8> {
    let r = response.get("response").unwrap_or(&Value::Null);
    let user_handle = b64url(str_of(r, "userHandle"));
    crate::frame::join(
        which,
        &[
            &b64url(str_of(response, "rawId")),
            &b64url(str_of(r, "clientDataJSON")),
            &b64url(str_of(r, "authenticatorData")),
            &b64url(str_of(r, "signature")),
            &user_handle,
        ],
    )
}

/// An MDS3 BLOB (compact JWS text) verified against the test root at the BLOB's time: the
/// JWS, the x5c path, the payload's entries and status reports.
pub fn mds_blob(data: &[u8]) {
    let _ = mds_blob_verifies(data);
}

/// [`mds_blob`], saying whether the BLOB verified as current.
pub fn mds_blob_verifies(data: &[u8]) -> bool {
    static FIXED: OnceLock<(Vec<Vec<u8>>, SystemTime)> = OnceLock::new();
    let (roots, at) = FIXED.get_or_init(|| {
        let v: Value = serde_json::from_str(MDS).unwrap_or_default();
        let root = STANDARD.decode(str_of(&v, "root")).unwrap_or_default();
        let at = SystemTime::UNIX_EPOCH
            + Duration::from_secs(v.get("at").and_then(Value::as_u64).unwrap_or_default());
        (vec![root], at)
    });
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let check = |staleness| {
        verify_blob(
            text,
            &BlobCheck {
                roots,
                crls: &[],
                signer: MDS_SIGNER,
                at: *at,
                staleness,
            },
        )
        .is_ok()
    };
    let stale_ok = check(Staleness::DangerAcceptStale);
    check(Staleness::Refuse) && stale_ok
}

/// The recorded BLOB of [`mds_blob`].
pub fn recorded_blob() -> String {
    let v: Value = serde_json::from_str(MDS).unwrap_or_default();
    str_of(&v, "blob").to_string()
}
