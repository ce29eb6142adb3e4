//! Readiness (R50) and the dry run (R51): loads every user's facts and the configuration —
//! the current one, and a proposed one built from Graph documents — asks the domain's
//! analysis (which asks the decision engine), and hands back what it found and what a
//! proposal would change.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use portcullis_domain::application::Application;
use portcullis_domain::conditional_access::{validate, Known, Policy};
use portcullis_domain::device::Device;
use portcullis_domain::directory::{
    DirectoryRole, User, AUTHENTICATOR_APP, FIRST_PARTY_APPS, SECURITY_INFO_APP,
};
use portcullis_domain::passkey::Passkey;
use portcullis_domain::policy::{MethodConfiguration, MethodId};
use portcullis_domain::readiness::{self, Subject, Tenant, UserFinding};
use portcullis_domain::strength::{Strength, StrengthDocument};
use portcullis_domain::tap::TemporaryAccessPass;
use portcullis_domain::time_fmt::rfc3339;
use portcullis_domain::Timestamp;
use portcullis_store::{applications, devices, directory, passkeys as store_pk, tap as store_tap};
use serde_json::Value;
use uuid::Uuid;

use crate::conditional_access::{CaData, Methods};
use crate::{Result, Service, ServiceError};

/// A proposed configuration (R51), from Graph documents: policies added (no id) or
/// replacing the policy with their id, policies deleted, and Passkey (FIDO2) or TAP settings
/// (applied as a Graph PATCH is: the properties given replace the current ones).
#[derive(Debug, Clone, Default)]
pub struct Proposal {
    policies: Vec<Policy>,
    delete_policies: Vec<String>,
    methods: Vec<(MethodId, Value)>,
    strengths: Vec<StrengthDocument>,
}

impl Proposal {
    /// Adds one Graph document; its `@odata.type` says which kind it is.
    pub fn add(&mut self, doc: Value) -> Result<()> {
        let kind = doc
            .get("@odata.type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim_start_matches('#')
            .trim_start_matches("microsoft.graph.")
            .to_string();
        match kind.as_str() {
            "conditionalAccessPolicy" => {
                let mut p: Policy = serde_json::from_value(doc).map_err(|e| {
                    ServiceError::Invalid(format!("a proposed conditionalAccessPolicy: {e}"))
                })?;
                if p.id.is_empty() {
                    p.id = Uuid::new_v4().to_string();
                }
                self.policies.push(p);
            }
            "authenticationStrengthPolicy" => {
                let d = StrengthDocument::parse(doc).map_err(|e| {
                    ServiceError::Invalid(format!("a proposed authenticationStrengthPolicy: {e}"))
                })?;
                self.strengths.push(d);
            }
            "fido2AuthenticationMethodConfiguration" => self.methods.push((MethodId::Fido2, doc)),
            "temporaryAccessPassAuthenticationMethodConfiguration" => {
                self.methods.push((MethodId::TemporaryAccessPass, doc))
            }
            other => {
                return Err(ServiceError::Invalid(format!(
                    "a proposed document's @odata.type '{other}' is not one of conditionalAccessPolicy, authenticationStrengthPolicy, fido2AuthenticationMethodConfiguration, temporaryAccessPassAuthenticationMethodConfiguration"
                )))
            }
        }
        Ok(())
    }

    /// Adds a Conditional Access policy: with an id it replaces that policy, without one it
    /// is added.
    pub fn add_policy(&mut self, mut policy: Policy) {
        if policy.id.is_empty() {
            policy.id = Uuid::new_v4().to_string();
        }
        self.policies.push(policy);
    }

    /// Adds a strength document (a custom strength added, or replacing the one its id names).
    pub fn add_strength(&mut self, doc: StrengthDocument) {
        self.strengths.push(doc);
    }

    /// Deletes a policy by id.
    pub fn delete_policy(&mut self, id: &str) {
        self.delete_policies.push(id.trim().to_string());
    }

    /// Whether it proposes nothing.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
            && self.delete_policies.is_empty()
            && self.methods.is_empty()
            && self.strengths.is_empty()
    }
}

/// What a proposal changes: findings it creates and findings it resolves.
#[derive(Debug, Clone, Default)]
pub struct Delta {
    /// Found under the proposal, not now.
    pub new: Vec<UserFinding>,
    /// Found now, not under the proposal.
    pub resolved: Vec<UserFinding>,
}

impl Delta {
    /// The users the proposal strands: a new finding worse than information (a blocker, or
    /// a path that fails for a persona or an application).
    pub fn stranded(&self) -> BTreeSet<Uuid> {
        self.new
            .iter()
            .filter(|f| f.severity != portcullis_domain::readiness::Severity::Info)
            .map(|f| f.user)
            .collect()
    }
}

/// What the analysis found, with what is needed to report it.
#[derive(Debug, Clone)]
pub struct Readiness {
    /// When it ran.
    pub generated: Timestamp,
    /// The users analysed.
    pub users: Vec<User>,
    /// Every user's findings under the configuration analysed (the proposed one, if any).
    pub findings: Vec<UserFinding>,
    /// With a proposal: what it changes.
    pub delta: Option<Delta>,
    /// The configurations analysed, proposed last (for policy ids and names).
    pub data: Vec<Arc<CaData>>,
    /// What the servers observed about the deployment (a proxy not listed as trusted).
    pub deployment: Vec<readiness::DeploymentFinding>,
}

/// One user's facts, loaded once for every configuration analysed.
struct Facts {
    groups: Vec<Uuid>,
    roles: Vec<DirectoryRole>,
    passkeys: Vec<Passkey>,
    pass: Option<TemporaryAccessPass>,
    devices: Vec<Device>,
}

impl Service {
    /// Analyses every user (or those named), as every persona, against the current
    /// configuration — or, with a proposal, against the proposed one, with the delta.
    pub async fn readiness(
        &self,
        only: &[String],
        proposal: Option<&Proposal>,
    ) -> Result<Readiness> {
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
        let authenticator = applications::by_app_id(&mut c, AUTHENTICATOR_APP.app_id)
            .await?
            .ok_or_else(|| {
                ServiceError::Invalid(
                    "the tenant is not set up yet (the Authenticator is not registered): run `portcullis serve` once".into(),
                )
            })?;
        let apps: Vec<Application> = applications::list(&mut c)
            .await?
            .into_iter()
            .filter(|a| !FIRST_PARTY_APPS.iter().any(|f| f.app_id == a.app_id))
            .collect();
        // The users asked for by name (resolved here), or every user (read in bulk below).
        let named = if only.is_empty() {
            vec![]
        } else {
            let mut users = vec![];
            for u in only {
                let user = crate::directory::resolve_user(&mut c, u).await?;
                if !users.iter().any(|x: &User| x.id == user.id) {
                    users.push(user);
                }
            }
            users
        };
        let admins = self.global_admins(&mut c).await?;
        let trust = self.attestation_trust(&mut c).await?;
        let deployment =
            readiness::deployment_findings(&portcullis_store::forwarders::list(&mut c).await?, now);
        // Given back before the bulk reads (which use the reader's own connections): held
        // through them, it would be one connection fewer for every other request.
        drop(c);
        let users = if only.is_empty() {
            directory::all_users(self.store().reader()).await?
        } else {
            named
        };
        let facts = load_facts(self.store().reader(), &users).await?;
        let subjects: Vec<Subject<'_>> = users
            .iter()
            .zip(&facts)
            .map(|(user, f)| Subject {
                user,
                groups: &f.groups,
                roles: &f.roles,
                passkeys: &f.passkeys,
                pass: f.pass.as_ref(),
                devices: &f.devices,
            })
            .collect();
        let workers = std::thread::available_parallelism().unwrap_or(std::num::NonZeroUsize::MIN);
        // Tenant-wide findings beside the users', in one order.
        let finish = |mut out: Vec<UserFinding>, data: &CaData, methods: &Methods| {
            out.extend(readiness::admin_lockout(
                &data.config(),
                methods.policy(),
                &admins,
                &portal,
                now,
            ));
            out.sort();
            out
        };
        let networks = readiness::networks(&data.locations);
        let current = Tenant {
            config: data.config(),
            methods: methods.policy(),
            applications: &apps,
            portal: &portal,
            authenticator: &authenticator,
            networks: &networks,
            trust: &trust,
            now,
        };
        let Some(proposal) = proposal.filter(|p| !p.is_empty()) else {
            let r = Readiness {
                generated: now,
                findings: finish(
                    readiness::analyse(&current, &subjects, workers),
                    &data,
                    &methods,
                ),
                users,
                delta: None,
                data: vec![data],
                deployment,
            };
            if only.is_empty() {
                self.summary_cache
                    .put(crate::health::ReadinessSummary::of(&r));
            }
            return Ok(r);
        };
        let mut c = self.store().conn().await?;
        let (proposed, proposed_methods) = self.proposed(&mut c, &data, &methods, proposal).await?;
        drop(c);
        let proposed_networks = readiness::networks(&proposed.locations);
        let then = Tenant {
            config: proposed.config(),
            methods: proposed_methods.policy(),
            networks: &proposed_networks,
            ..current
        };
        let run = readiness::dry_run(&current, &then, &subjects, workers);
        let now_found = finish(run.now, &data, &methods);
        let then_found = finish(run.then, &proposed, &proposed_methods);
        let before: BTreeSet<&UserFinding> = now_found.iter().collect();
        let after: BTreeSet<&UserFinding> = then_found.iter().collect();
        let delta = Delta {
            new: after.difference(&before).map(|f| (*f).clone()).collect(),
            resolved: before.difference(&after).map(|f| (*f).clone()).collect(),
        };
        Ok(Readiness {
            generated: now,
            users,
            findings: then_found,
            delta: Some(delta),
            data: vec![data, Arc::new(proposed)],
            deployment,
        })
    }

    /// The configuration a proposal describes, checked as a save would check it.
    async fn proposed(
        &self,
        c: &mut portcullis_store::Conn,
        data: &CaData,
        methods: &Methods,
        p: &Proposal,
    ) -> Result<(CaData, Methods)> {
        for id in &p.delete_policies {
            if !data.policies().iter().any(|x| &x.id == id) {
                return Err(ServiceError::NotFound(format!(
                    "no Conditional Access policy '{id}' to delete"
                )));
            }
        }
        let kept: Vec<Policy> = data
            .policies()
            .iter()
            .filter(|x| !p.delete_policies.contains(&x.id))
            .cloned()
            .collect();
        let strengths = proposed_strengths(&data.strengths, &p.strengths, self.now())?;
        let mut proposed = CaData::new(kept, strengths, data.locations.clone());
        let strength_ids: Vec<String> = proposed.strengths.iter().map(|s| s.id.clone()).collect();
        let location_ids: Vec<String> = data.locations.iter().map(|l| l.id.clone()).collect();
        for policy in &p.policies {
            validate(
                policy,
                &Known {
                    strengths: &strength_ids,
                    locations: &location_ids,
                },
            )?;
            proposed = proposed.with_policy(policy.clone());
        }
        let mut out = Methods {
            fido2: methods.fido2.clone(),
            tap: methods.tap.clone(),
            oath: methods.oath.clone(),
            authenticator: methods.authenticator.clone(),
        };
        for (id, doc) in &p.methods {
            let current = match id {
                MethodId::Fido2 => MethodConfiguration::Fido2(out.fido2.clone()),
                MethodId::TemporaryAccessPass => {
                    MethodConfiguration::TemporaryAccessPass(out.tap.clone())
                }
                MethodId::SoftwareOath => MethodConfiguration::SoftwareOath(out.oath.clone()),
                MethodId::MicrosoftAuthenticator => {
                    MethodConfiguration::MicrosoftAuthenticator(out.authenticator.clone())
                }
            };
            let m = current.patched(doc.clone())?;
            let groups = directory::groups_by_ids(c, &m.target_groups()).await?;
            m.validate(groups.as_slice())?;
            match m {
                MethodConfiguration::Fido2(f) => out.fido2 = f,
                MethodConfiguration::TemporaryAccessPass(t) => out.tap = t,
                MethodConfiguration::SoftwareOath(o) => out.oath = o,
                MethodConfiguration::MicrosoftAuthenticator(a) => out.authenticator = a,
            }
        }
        Ok((proposed, out))
    }
}

/// The strengths with the proposed ones applied: a document naming a custom strength's id
/// replaces it (keeping when it was created), one naming no known id is added with it (so a
/// proposed policy can name it), one without an id is added; built-ins cannot be changed.
fn proposed_strengths(
    current: &[Strength],
    docs: &[StrengthDocument],
    now: Timestamp,
) -> Result<Vec<Strength>> {
    let invalid =
        |e: String| ServiceError::Invalid(format!("a proposed authenticationStrengthPolicy: {e}"));
    let mut out = current.to_vec();
    for d in docs {
        let id = d.id.clone().unwrap_or_else(|| Uuid::new_v4().to_string());
        let existing = out.iter().position(|s| s.id == id);
        if existing.is_some_and(|i| out.get(i).is_some_and(|s| s.built_in)) {
            return Err(invalid(format!(
                "'{id}' is a built-in strength, which cannot be changed"
            )));
        }
        let created = existing
            .and_then(|i| out.get(i))
            .map_or_else(|| rfc3339(now), |s| s.created.clone());
        let d = StrengthDocument {
            display_name: portcullis_domain::directory::validate_display_name(&d.display_name)?,
            ..d.clone()
        };
        let s = d
            .to_strength(id, Uuid::new_v4().to_string(), created, rfc3339(now))
            .map_err(|e| invalid(e.to_string()))?;
        match existing.and_then(|i| out.get_mut(i)) {
            Some(slot) => *slot = s,
            None => out.push(s),
        }
    }
    Ok(out)
}

/// Every user's facts in a handful of reads (not five per user), in `users`' order.
async fn load_facts(c: &portcullis_store::bulk::Reader, users: &[User]) -> Result<Vec<Facts>> {
    let mut by_user: HashMap<Uuid, Facts> = users
        .iter()
        .map(|u| {
            (
                u.id,
                Facts {
                    groups: vec![],
                    roles: vec![],
                    passkeys: vec![],
                    pass: None,
                    devices: vec![],
                },
            )
        })
        .collect();
    for (user, group) in directory::all_memberships(c).await? {
        if let Some(f) = by_user.get_mut(&user) {
            f.groups.push(group);
        }
    }
    for (user, role) in directory::all_role_assignments(c).await? {
        if let Some(f) = by_user.get_mut(&user) {
            f.roles.push(role);
        }
    }
    for p in store_pk::all_live(c).await? {
        if let Some(f) = by_user.get_mut(&p.user_id) {
            f.passkeys.push(p);
        }
    }
    for p in store_tap::all(c).await? {
        if let Some(f) = by_user.get_mut(&p.pass.user_id) {
            f.pass = Some(p.pass);
        }
    }
    for d in devices::list(c).await? {
        if let Some(f) = by_user.get_mut(&d.owner) {
            f.devices.push(d);
        }
    }
    // In the order they were added, so that which attempt the analysis meets first — and so
    // which policy a finding names — does not depend on how the store returned the rows.
    for f in by_user.values_mut() {
        f.passkeys.sort_by_key(|p| (p.created_at, p.id));
    }
    Ok(users.iter().filter_map(|u| by_user.remove(&u.id)).collect())
}
