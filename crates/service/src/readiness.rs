//! Readiness (R50): loads every user's facts and the configuration, asks the domain's
//! analysis (which asks the decision engine), and hands back what it found.

use portcullis_domain::application::Application;
use portcullis_domain::directory::{User, FIRST_PARTY_APPS, SECURITY_INFO_APP};
use portcullis_domain::passkey::Passkey;
use portcullis_domain::readiness::{self, Subject, Tenant, UserFinding};
use portcullis_domain::Timestamp;
use portcullis_store::{applications, devices, directory, passkeys as store_pk, tap as store_tap};
use std::sync::Arc;

use crate::conditional_access::{CaData, Methods};
use crate::{Result, Service, ServiceError};

/// What the analysis found, with what is needed to report it.
#[derive(Debug, Clone)]
pub struct Readiness {
    /// When it ran.
    pub generated: Timestamp,
    /// The users analysed.
    pub users: Vec<User>,
    /// Every user's findings.
    pub findings: Vec<UserFinding>,
    /// The configuration analysed (for policy ids and names).
    pub data: Arc<CaData>,
}

impl Service {
    /// Analyses every user (or those named), as every persona, against the current
    /// configuration.
    pub async fn readiness(&self, only: &[String]) -> Result<Readiness> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        let data = self.cached_ca_data(&mut c).await?;
        let methods = Methods::load(&mut c).await?;
        let portal = applications::by_app_id(&mut c, SECURITY_INFO_APP.app_id)
            .await?
            .ok_or_else(|| {
                ServiceError::Invalid(
                    "the tenant is not set up yet (Security info is not registered): run `portcullis serve` once".into(),
                )
            })?;
        let apps: Vec<Application> = applications::list(&mut c)
            .await?
            .into_iter()
            .filter(|a| !FIRST_PARTY_APPS.iter().any(|f| f.app_id == a.app_id))
            .collect();
        let users = if only.is_empty() {
            all_users(&mut c).await?
        } else {
            let mut users = vec![];
            for u in only {
                users.push(crate::directory::resolve_user(&mut c, u).await?);
            }
            users
        };
        let networks = readiness::networks(&data.locations);
        let tenant = Tenant {
            config: data.config(),
            methods: methods.policy(),
            applications: &apps,
            portal: &portal,
            networks: &networks,
            now,
        };
        let mut findings = vec![];
        for user in &users {
            let groups = directory::member_of(&mut c, user.id).await?;
            let roles = directory::roles_of(&mut c, user.id).await?;
            let passkeys: Vec<Passkey> = store_pk::for_user(&mut c, user.id)
                .await?
                .into_iter()
                .filter(|p| p.deleted.is_none())
                .map(|p| p.passkey)
                .collect();
            let pass = store_tap::for_user(&mut c, user.id).await?.map(|p| p.pass);
            let devices = devices::of_owner(&mut c, user.id).await?;
            findings.extend(readiness::analyse_user(
                &tenant,
                &Subject {
                    user,
                    groups: &groups,
                    roles: &roles,
                    passkeys: &passkeys,
                    pass: pass.as_ref(),
                    devices: &devices,
                },
            ));
        }
        let admins = self.global_admins(&mut c).await?;
        findings.extend(readiness::admin_lockout(
            &data.config(),
            methods.policy(),
            &admins,
            &portal,
            now,
        ));
        findings.sort();
        Ok(Readiness {
            generated: now,
            users,
            findings,
            data,
        })
    }
}

async fn all_users(c: &mut portcullis_store::Conn) -> Result<Vec<User>> {
    let mut out: Vec<User> = vec![];
    loop {
        let after = out.last().map(|u| u.user_principal_name.to_string());
        let page = directory::list_users(c, after.as_deref(), 1000).await?;
        let done = page.len() < 1000;
        out.extend(page);
        if done {
            return Ok(out);
        }
    }
}
