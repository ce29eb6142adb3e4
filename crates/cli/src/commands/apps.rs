//! `portcullis apps …`: applications (redirect URIs, client type, Conditional Access flags,
//! custom security attributes), their client secrets and granted permissions.

use clap::Subcommand;
use portcullis_domain::application::{
    custom_security_attributes_json, Application, IdTokenSigning,
};
use portcullis_service::apps::NewApplication;
use serde_json::{json, Map, Value};

use super::{open, operator, print_json, CliError, CmdResult};
use crate::config::Config;

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Register an application; a confidential one's client secret is printed once.
    Add {
        /// Display name.
        #[arg(long)]
        name: String,
        /// A public client (no secret, PKCE required), e.g. a mobile, desktop or browser app.
        #[arg(long)]
        public: bool,
        /// A redirect URI, matched exactly (repeat for several).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Mark it an approved client app (Conditional Access `approvedApplication`).
        #[arg(long)]
        approved_client_app: bool,
        /// Mark it as supporting app protection policy (`compliantApplication`).
        #[arg(long)]
        app_protection_policy: bool,
        /// A custom security attribute, `Set.Name=value` (repeat for several).
        #[arg(long = "attribute")]
        attributes: Vec<String>,
        /// How its ID tokens are signed: RS256 (OpenID Connect's default) or ES256.
        #[arg(long, default_value = "RS256", value_parser = id_token_alg)]
        id_token_alg: IdTokenSigning,
    },
    /// List applications with their granted permissions.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one application (by client id, object id or service principal id) as JSON.
    Show {
        /// The application.
        app: String,
    },
    /// Delete an application; its grants and tokens stop working.
    Delete {
        /// The application.
        app: String,
    },
    /// Grant an application permission (an app role in its tokens), e.g. Policy.Read.All.
    Grant {
        /// Client id.
        #[arg(long)]
        app: String,
        /// Permission name.
        #[arg(long)]
        permission: String,
    },
}

/// `--id-token-alg`: a JOSE algorithm name, in either case.
fn id_token_alg(s: &str) -> Result<IdTokenSigning, String> {
    IdTokenSigning::from_alg(&s.to_ascii_uppercase())
        .ok_or_else(|| format!("'{s}' is not RS256 or ES256"))
}

/// `Set.Name=value` arguments as Graph's `customSecurityAttributes` object.
fn attributes(args: &[String]) -> Result<Option<Value>, CliError> {
    if args.is_empty() {
        return Ok(None);
    }
    let mut sets: Map<String, Value> = Map::new();
    for a in args {
        let (path, value) = a
            .split_once('=')
            .ok_or_else(|| CliError::Other(format!("--attribute '{a}': write Set.Name=value")))?;
        let (set, name) = path
            .split_once('.')
            .ok_or_else(|| CliError::Other(format!("--attribute '{a}': write Set.Name=value")))?;
        let entry = sets.entry(set.to_string()).or_insert_with(|| json!({}));
        entry[name] = json!(value);
    }
    Ok(Some(Value::Object(sets)))
}

fn app_json(a: &Application, permissions: &[String]) -> Value {
    json!({
        "appId": a.app_id, "id": a.object_id, "servicePrincipalId": a.service_principal_id, "displayName": a.display_name,
        "publicClient": a.public_client, "firstParty": a.first_party, "redirectUris": a.redirect_uris,
        "approvedClientApp": a.approved_client_app, "appProtectionPolicy": a.app_protection_policy,
        "idTokenSigningAlgorithm": a.id_token_signing.alg(),
        "customSecurityAttributes": custom_security_attributes_json(&a.custom_security_attributes), "permissions": permissions,
    })
}

pub async fn run(cfg: &Config, cmd: Cmd) -> CmdResult {
    let svc = open(cfg).await?;
    match cmd {
        Cmd::Add {
            name,
            public,
            redirect_uris,
            approved_client_app,
            app_protection_policy,
            attributes: attrs,
            id_token_alg,
        } => {
            let spec = NewApplication {
                display_name: name,
                public_client: public,
                redirect_uris,
                approved_client_app,
                app_protection_policy,
                custom_security_attributes: attributes(&attrs)?,
                id_token_signing: id_token_alg,
                issue_secret: !public,
            };
            let (app, secret) = svc.add_application(&operator(), spec).await?;
            println!(
                "Application '{}' registered, client id {}",
                app.display_name, app.app_id
            );
            if let Some(s) = secret {
                println!("Client secret: {s}");
                println!("  The secret is shown only now; only its hash is stored.");
            }
        }
        Cmd::List { json } => {
            let apps = svc.applications().await?;
            if json {
                return print_json(&apps.iter().map(|(a, p)| app_json(a, p)).collect::<Vec<_>>());
            }
            for (a, perms) in apps {
                let kind = if a.first_party {
                    "first-party"
                } else if a.public_client {
                    "public"
                } else {
                    "confidential"
                };
                println!(
                    "{}  {:<28} {:<12} {}",
                    a.app_id,
                    a.display_name,
                    kind,
                    perms.join(" ")
                );
            }
        }
        Cmd::Show { app } => {
            let a = svc.application(&app).await?;
            let perms = svc
                .applications()
                .await?
                .into_iter()
                .find(|(x, _)| x.app_id == a.app_id)
                .map(|(_, p)| p)
                .unwrap_or_default();
            let mut v = app_json(&a, &perms);
            // Client secrets as Graph lists them: key id, hint and validity, never the secret.
            if let Some(m) = v.as_object_mut() {
                m.insert(
                    "passwordCredentials".into(),
                    serde_json::Value::Array(
                svc.client_secrets(&a.app_id)
                    .await?
                    .iter()
                    .map(|c| serde_json::json!({"keyId": c.key_id, "hint": c.hint, "displayName": c.display_name,
                        "startDateTime": portcullis_domain::time_fmt::rfc3339(c.start_at), "endDateTime": portcullis_domain::time_fmt::rfc3339(c.end_at)}))
                    .collect(),
                    ),
                );
            }
            return print_json(&v);
        }
        Cmd::Delete { app } => {
            svc.delete_application(&operator(), &app).await?;
            println!("Deleted {app}.");
        }
        Cmd::Grant { app, permission } => {
            if svc
                .grant_app_permission(&operator(), &app, &permission)
                .await?
            {
                println!("Granted {permission} to {app}.");
            } else {
                println!("{app} already has {permission}; nothing changed.");
            }
        }
    }
    Ok(())
}
