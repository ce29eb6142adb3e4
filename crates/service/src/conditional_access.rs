//! Conditional Access use cases: policies, named locations and custom strengths (validated,
//! guarded against admin lock-out, audited), and the evaluation of one sign-in for the
//! authorization endpoint and for What If — the same domain functions for both.

use portcullis_domain::access::{
    decide, decide_registration, passkey_need, usable_methods, used_methods, AccessDecision,
    MethodsPolicy, PasskeyNeed, SignIn,
};
use portcullis_domain::actor::Actor;
use portcullis_domain::application::Application;
use portcullis_domain::audit::{kinds, AuditRecord, AuditTarget, Operation};
use portcullis_domain::conditional_access::evaluate::{AppliedResult, Config, Detail, Evaluation};
use portcullis_domain::conditional_access::guard::{admins_still_in, Admin};
use portcullis_domain::conditional_access::location::{parse_cidr, NamedLocation};
use portcullis_domain::conditional_access::platform::{from_user_agent, ClientAppType, Platform};
use portcullis_domain::conditional_access::remedy::Verdict;
use portcullis_domain::conditional_access::set::PolicySet;
use portcullis_domain::conditional_access::{validate, Known, Policy};
use portcullis_domain::device::{Device, DeviceFacts};
use portcullis_domain::directory::{DirectoryRole, User, SECURITY_INFO_APP};
use portcullis_domain::passkey::Passkey;
use portcullis_domain::policy::{
    Fido2Configuration, MethodConfiguration, MethodId, TapConfiguration,
};
use portcullis_domain::session::Session;
use portcullis_domain::strength::{
    self, validate_combinations, Combination, Factor, Strength, StrengthDocument, UsedMethod,
};
use portcullis_domain::time_fmt::rfc3339;
use portcullis_domain::Timestamp;
use portcullis_store::{
    applications, audit, commit, conditional_access as ca, decision_reads, directory, Conn,
};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

use crate::{RequestContext, Result, Service, ServiceError};

/// The tenant's Conditional Access configuration.
#[derive(Debug, Clone, Default)]
pub struct CaData {
    /// Policies, parsed and indexed once ([`PolicySet::new`]).
    pub set: PolicySet,
    /// Built-in and custom strengths.
    pub strengths: Vec<Strength>,
    /// Named locations.
    pub locations: Vec<NamedLocation>,
}

impl CaData {
    /// Parses and indexes `policies`.
    pub fn new(
        policies: Vec<Policy>,
        strengths: Vec<Strength>,
        locations: Vec<NamedLocation>,
    ) -> Self {
        CaData {
            set: PolicySet::new(policies),
            strengths,
            locations,
        }
    }

    /// The policies in Graph's shape, in evaluation order.
    pub fn policies(&self) -> &[Policy] {
        self.set.policies()
    }

    /// The same configuration with `policy` added, or replacing the policy with its id.
    pub fn with_policy(&self, policy: Policy) -> Self {
        CaData {
            set: self.set.with_policy(policy),
            strengths: self.strengths.clone(),
            locations: self.locations.clone(),
        }
    }

    /// The evaluation view.
    pub fn config(&self) -> Config<'_> {
        Config {
            policies: &self.set,
            strengths: &self.strengths,
            locations: &self.locations,
        }
    }
}

/// This node's parsed and indexed copy of the configuration with the version it was read
/// at: a sign-in costs one small read instead of parsing every policy, and a change made on
/// any node is seen by the next sign-in on every node.
#[derive(Debug, Clone, Default)]
pub(crate) struct CaCache(Arc<Mutex<Option<Versioned>>>);

/// A configuration and the version it was read at.
type Versioned = (i64, Arc<CaData>);

impl CaCache {
    fn get(&self, version: i64) -> Option<Arc<CaData>> {
        // A panic while holding the lock cannot leave a half-written entry (it is replaced
        // whole), so a poisoned lock is still good to read.
        let slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        slot.as_ref()
            .filter(|(v, _)| *v == version)
            .map(|(_, d)| d.clone())
    }

    fn put(&self, version: i64, data: Arc<CaData>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((version, data));
    }
}

/// A What If question (R43).
#[derive(Debug, Clone)]
pub struct WhatIf {
    /// User id or UPN.
    pub user: String,
    /// Application (client id) — or `None` for the "register security info" user action.
    pub application: Option<String>,
    /// Device platform.
    pub platform: Option<Platform>,
    /// Source address.
    pub ip: Option<std::net::IpAddr>,
    /// Browser or native client.
    pub client_app_type: ClientAppType,
    /// The device (`deviceInfo`), if any.
    pub device: Option<DeviceFacts>,
    /// Methods used (`fido2`, `temporaryAccessPassOneTime`), with the passkey AAGUID if any.
    pub methods: Vec<UsedMethod>,
}

fn audit_record(
    activity: &'static str,
    operation: Operation,
    actor: &Actor,
    id: &str,
    name: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> AuditRecord {
    AuditRecord {
        activity,
        category: "Policy",
        service: kinds::CONDITIONAL_ACCESS,
        operation,
        actor: actor.clone(),
        target: AuditTarget {
            id: id.into(),
            display_name: name.into(),
            kind: "Policy",
        },
        before,
        after,
        reason: format!("{activity}: {name}"),
    }
}

async fn load(c: &mut Conn) -> Result<CaData> {
    Ok(CaData::new(
        ca::policies(c).await?,
        strength::all(&ca::strengths(c).await?),
        ca::locations(c).await?,
    ))
}

/// The Passkey (FIDO2) and TAP settings, as loaded.
pub(crate) struct Methods {
    pub(crate) fido2: Fido2Configuration,
    pub(crate) tap: TapConfiguration,
    /// Authenticator app codes: carried (a proposal may change them); the access engine does
    /// not model the password and its second factor yet.
    pub(crate) oath: portcullis_domain::policy::SoftwareOathConfiguration,
    /// Microsoft Authenticator push: carried, not modelled yet, as the app's codes.
    pub(crate) authenticator: portcullis_domain::policy::AuthenticatorConfiguration,
}

impl Methods {
    pub(crate) async fn load(c: &mut Conn) -> Result<Methods> {
        let mut stored = vec![];
        for id in MethodId::ALL {
            stored.extend(portcullis_store::policy::get(c, id).await?);
        }
        Ok(Methods::from_stored(&stored))
    }

    /// The methods from their stored configurations (Graph's default for one never saved).
    pub(crate) fn from_stored(stored: &[MethodConfiguration]) -> Methods {
        let get = |id: MethodId| {
            crate::policy::or_default(stored.iter().find(|m| m.id() == id).cloned(), id)
        };
        Methods {
            fido2: crate::passkeys::fido2(get(MethodId::Fido2)),
            tap: crate::tap::tap_config(get(MethodId::TemporaryAccessPass)),
            oath: crate::oath::oath_config(get(MethodId::SoftwareOath)),
            authenticator: crate::push::authenticator_config(get(MethodId::MicrosoftAuthenticator)),
        }
    }

    pub(crate) fn policy(&self) -> MethodsPolicy<'_> {
        MethodsPolicy {
            fido2: &self.fido2,
            tap: &self.tap,
        }
    }
}

/// What every decision about one user loads: the configuration, the methods policy, their
/// groups, roles and the methods they may use, and the Security info application.
struct Subject {
    data: Arc<CaData>,
    methods: Methods,
    groups: Vec<Uuid>,
    roles: Vec<DirectoryRole>,
    registered: Vec<UsedMethod>,
    portal: Option<Application>,
}

impl Subject {
    /// The decision's facts about `user` signing in with `used`, from an unknown place,
    /// platform and device in a browser; callers set the signals they have.
    fn sign_in<'a>(&'a self, user: &'a User, used: &'a [UsedMethod], now: Timestamp) -> SignIn<'a> {
        SignIn {
            user,
            groups: &self.groups,
            roles: &self.roles,
            used,
            registered: &self.registered,
            config: self.data.config(),
            methods: self.methods.policy(),
            platform: None,
            ip: None,
            client_app_type: ClientAppType::Browser,
            device: None,
            now,
            detail: Detail::FirstReason,
        }
    }
}

impl Service {
    /// Loads what is committed, in one read (the [`Reader`](portcullis_store::bulk::Reader):
    /// one hand-off, one snapshot); the configuration from this node's copy of its version.
    /// It takes connections of its own: call it holding none.
    async fn subject(&self, user: Uuid, now: Timestamp) -> Result<Subject> {
        let reads =
            decision_reads::for_user(self.store().reader(), user, SECURITY_INFO_APP.app_id).await?;
        let methods = Methods::from_stored(&reads.methods);
        let passkeys: Vec<Passkey> = reads.passkeys.into_iter().map(|p| p.passkey).collect();
        let pass = reads.pass.map(|p| p.pass);
        let data = match self.ca_cache.get(reads.ca_version) {
            Some(data) => data,
            // A newer version than this node's copy: loaded (and cached) afresh.
            None => self.ca_data().await?,
        };
        Ok(Subject {
            data,
            roles: reads.roles,
            registered: usable_methods(
                methods.policy(),
                &reads.member_of,
                &passkeys,
                pass.as_ref(),
                now,
            ),
            methods,
            groups: reads.member_of,
            portal: reads.portal,
        })
    }
}

impl Service {
    /// A transaction for changing the configuration (see [`ca::begin_change`]).
    async fn begin_ca_change(&self) -> Result<portcullis_store::Tx> {
        let mut tx = self.store().begin().await?;
        ca::begin_change(&mut tx).await?;
        Ok(tx)
    }

    /// The configuration.
    pub async fn ca_data(&self) -> Result<Arc<CaData>> {
        let mut c = self.store().conn().await?;
        self.cached_ca_data(&mut c).await
    }

    /// The configuration from this node's copy when it is current, else loaded afresh.
    pub(crate) async fn cached_ca_data(&self, c: &mut Conn) -> Result<Arc<CaData>> {
        let version = ca::version(c).await?;
        if let Some(data) = self.ca_cache.get(version) {
            return Ok(data);
        }
        let data = Arc::new(load(c).await?);
        // Saving refuses such policies; one edited behind the API blocks until fixed.
        for (p, why) in data.set.unreadable() {
            tracing::error!(policy = %p.id, name = %p.display_name, %why, "a stored Conditional Access policy no longer parses: it blocks everyone it could concern until it is fixed or deleted");
        }
        self.ca_cache.put(version, data.clone());
        Ok(data)
    }

    /// Enabled Global Administrators with their groups and roles.
    pub(crate) async fn global_admins(&self, c: &mut Conn) -> Result<Vec<Admin>> {
        let mut out = vec![];
        for user in directory::holders_of(c, DirectoryRole::GlobalAdministrator).await? {
            let groups = directory::member_of(c, user.id).await?;
            let roles = directory::roles_of(c, user.id).await?;
            let devices = portcullis_store::devices::of_owner(c, user.id)
                .await?
                .iter()
                .map(Device::facts)
                .collect();
            out.push(Admin {
                user,
                groups,
                roles,
                devices,
            });
        }
        Ok(out)
    }

    /// Creates or replaces a policy: validated (graph-api.md §5), and refused when it would
    /// lock every enabled Global Administrator out unless `accept_lockout` (R45). Audited.
    pub async fn save_ca_policy(
        &self,
        actor: &Actor,
        policy: Policy,
        accept_lockout: bool,
    ) -> Result<Policy> {
        self.save_ca_policy_opened_on(actor, policy, accept_lockout, None)
            .await
    }

    /// [`Service::save_ca_policy`], refused ([`ServiceError::Stale`]) when the stored policy
    /// is no longer the version `opened_on` names (see [`crate::version`]); checked after the
    /// change has locked the configuration.
    pub async fn save_ca_policy_opened_on(
        &self,
        actor: &Actor,
        mut policy: Policy,
        accept_lockout: bool,
        opened_on: Option<&str>,
    ) -> Result<Policy> {
        let now = self.now();
        let mut tx = self.begin_ca_change().await?;
        let data = load(&mut tx).await?;
        let before = data
            .policies()
            .iter()
            .find(|p| !policy.id.is_empty() && p.id == policy.id)
            .cloned();
        if let Some(b) = &before {
            crate::version::check(opened_on, b)?;
        }
        if policy.id.is_empty() {
            policy.id = Uuid::new_v4().to_string();
        }
        policy.created_date_time = before
            .as_ref()
            .and_then(|b| b.created_date_time.clone())
            .or_else(|| Some(rfc3339(now)));
        policy.modified_date_time = before.as_ref().map(|_| rfc3339(now));
        let strength_ids: Vec<String> = data.strengths.iter().map(|s| s.id.clone()).collect();
        let location_ids: Vec<String> = data.locations.iter().map(|l| l.id.clone()).collect();
        validate(
            &policy,
            &Known {
                strengths: &strength_ids,
                locations: &location_ids,
            },
        )?;
        let after = data.with_policy(policy.clone());
        let portal = applications::by_app_id(&mut tx, SECURITY_INFO_APP.app_id)
            .await?
            .ok_or_else(|| ServiceError::Internal("Security info is not registered".into()))?;
        let admins = self.global_admins(&mut tx).await?;
        let methods = Methods::load(&mut tx).await?;
        let in_before = admins_still_in(&data.config(), methods.policy(), &admins, &portal, now);
        let in_after = admins_still_in(&after.config(), methods.policy(), &admins, &portal, now);
        if !in_before.is_empty() && in_after.is_empty() && !accept_lockout {
            return Err(ServiceError::Lockout {
                policy: policy.display_name.clone(),
                admins: admins
                    .iter()
                    .filter(|a| a.user.account_enabled)
                    .map(|a| a.user.user_principal_name.to_string())
                    .collect(),
            });
        }
        ca::put_policy(&mut tx, &policy, now).await?;
        let rec = audit_record(
            if before.is_some() {
                "Update conditional access policy"
            } else {
                "Add conditional access policy"
            },
            if before.is_some() {
                Operation::Update
            } else {
                Operation::Add
            },
            actor,
            &policy.id,
            &policy.display_name,
            before.map(|b| json!(b)),
            Some(json!(policy)),
        );
        audit::append(&mut tx, &rec, now).await?;
        commit(tx).await?;
        Ok(policy)
    }

    /// Deletes a policy (also guarded: removing an exclusion-bearing policy cannot lock out,
    /// so only the audit matters).
    pub async fn delete_ca_policy(&self, actor: &Actor, id: &str) -> Result<()> {
        let now = self.now();
        let mut tx = self.begin_ca_change().await?;
        let before = ca::policies(&mut tx)
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or_else(|| {
                ServiceError::NotFound(format!("no Conditional Access policy '{id}'"))
            })?;
        ca::delete_policy(&mut tx, id).await?;
        audit::append(
            &mut tx,
            &audit_record(
                "Delete conditional access policy",
                Operation::Delete,
                actor,
                id,
                &before.display_name,
                Some(json!(before)),
                None,
            ),
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }

    /// Creates a named IP location.
    pub async fn add_named_location(
        &self,
        actor: &Actor,
        name: &str,
        cidrs: &[String],
        trusted: bool,
    ) -> Result<NamedLocation> {
        let name = portcullis_domain::directory::validate_display_name(name)?;
        if cidrs.is_empty() {
            return Err(ServiceError::Invalid(
                "a named location needs at least one IP range".into(),
            ));
        }
        for c in cidrs {
            parse_cidr(c)?;
        }
        let now = self.now();
        let loc = NamedLocation {
            id: Uuid::new_v4().to_string(),
            display_name: name,
            is_trusted: trusted,
            cidrs: cidrs.to_vec(),
            created: rfc3339(now),
            modified: rfc3339(now),
        };
        let mut tx = self.begin_ca_change().await?;
        ca::put_location(&mut tx, &loc, now).await?;
        audit::append(
            &mut tx,
            &audit_record(
                "Add named location",
                Operation::Add,
                actor,
                &loc.id,
                &loc.display_name,
                None,
                Some(json!(loc)),
            ),
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(loc)
    }

    /// Creates a custom strength (R31): combinations validated; optional passkey AAGUIDs.
    pub async fn add_strength(
        &self,
        actor: &Actor,
        name: &str,
        description: &str,
        combinations: &[String],
        aaguids: Option<Vec<Uuid>>,
    ) -> Result<Strength> {
        let name = portcullis_domain::directory::validate_display_name(name)?;
        let doc = StrengthDocument {
            id: None,
            display_name: name,
            description: description.to_string(),
            allowed_combinations: combinations.to_vec(),
            combination_configurations: aaguids
                .iter()
                .map(|a| strength::CombinationConfiguration {
                    odata_type: "#microsoft.graph.fido2CombinationConfiguration".into(),
                    allowed_aaguids: a.clone(),
                })
                .collect(),
        };
        let now = self.now();
        let s = doc
            .to_strength(
                Uuid::new_v4().to_string(),
                Uuid::new_v4().to_string(),
                rfc3339(now),
                rfc3339(now),
            )
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let mut tx = self.begin_ca_change().await?;
        if ca::strengths(&mut tx)
            .await?
            .iter()
            .any(|x| x.display_name.eq_ignore_ascii_case(&s.display_name))
            || strength::BUILT_IN
                .iter()
                .any(|b| b.display_name.eq_ignore_ascii_case(&s.display_name))
        {
            return Err(ServiceError::Conflict(format!(
                "a strength named '{}' already exists",
                s.display_name
            )));
        }
        ca::put_strength(&mut tx, &s, now).await?;
        audit::append(
            &mut tx,
            &audit_record(
                "Add authentication strength policy",
                Operation::Add,
                actor,
                &s.id,
                &s.display_name,
                None,
                Some(s.to_json()),
            ),
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(s)
    }

    /// R32: the warning a saved strength deserves when no passkey can meet its AAGUID
    /// restriction, because no Passkey (FIDO2) ruleset enforces attestation.
    pub async fn strength_warnings(&self, s: &Strength) -> Result<Vec<String>> {
        let mut c = self.store().conn().await?;
        let cfg = match crate::policy::current(&mut c, portcullis_domain::policy::MethodId::Fido2)
            .await?
        {
            portcullis_domain::policy::MethodConfiguration::Fido2(f) => f,
            _ => return Ok(vec![]),
        };
        Ok(portcullis_domain::passkey::strength_needs_attestation(
            s.fido2_allowed_aaguids.as_deref(),
            &cfg,
        )
        .then(|| crate::render::strength_needs_attestation(&s.display_name))
        .into_iter()
        .collect())
    }

    /// The access decision for an authorization: loads what the decision reads (Security info
    /// included, so a refusal can tell a loop from "register first") and calls the domain's
    /// one decision function.
    pub async fn access_decision(
        &self,
        user: &User,
        session: &Session,
        app: &Application,
        ctx: &RequestContext,
        device: Option<&DeviceFacts>,
    ) -> Result<(AccessDecision, Arc<CaData>)> {
        let now = self.now();
        let subject = self.subject(user.id, now).await?;
        let platform = from_user_agent(&ctx.user_agent);
        let ip = ctx.source;
        // A public client with only custom-scheme redirects is a native app.
        let native = app.public_client && app.redirect_uris.iter().all(|u| !u.starts_with("http"));
        let client_app_type = if native {
            ClientAppType::MobileAppsAndDesktopClients
        } else {
            ClientAppType::Browser
        };
        let used = used_methods(session);
        let decision = decide(
            &SignIn {
                platform,
                ip,
                client_app_type,
                device,
                ..subject.sign_in(user, &used, now)
            },
            app,
            subject.portal.as_ref(),
        );
        Ok((decision, subject.data))
    }

    /// What If (R43): the same evaluation as a sign-in, without signing anyone in.
    pub async fn what_if(&self, q: &WhatIf) -> Result<(Evaluation, Verdict, Arc<CaData>)> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        let user = crate::directory::resolve_user(&mut c, &q.user).await?;
        let app = match &q.application {
            Some(a) => Some(
                applications::by_app_id(&mut c, a.trim())
                    .await?
                    .ok_or_else(|| {
                        ServiceError::NotFound(format!("no application '{a}' is registered"))
                    })?,
            ),
            None => None,
        };
        // The subject takes connections of its own: this one goes back first (two requests
        // each holding one while waiting for another would stall each other).
        drop(c);
        let subject = self.subject(user.id, now).await?;
        let s = SignIn {
            platform: q.platform,
            ip: q.ip,
            client_app_type: q.client_app_type,
            device: q.device.as_ref(),
            detail: Detail::EveryReason,
            ..subject.sign_in(&user, &q.methods, now)
        };
        // The same decisions as a sign-in and a registration: What If only lists every reason.
        let d = match (&app, &subject.portal) {
            (Some(app), _) => decide(&s, app, subject.portal.as_ref()),
            (None, Some(portal)) => decide_registration(&s, portal),
            (None, None) => {
                return Err(ServiceError::Internal(
                    "the Security info application is missing".into(),
                ))
            }
        };
        let (e, v) = (d.evaluation, d.verdict);
        Ok((e, v, subject.data.clone()))
    }
}

use crate::render::applied_policies_json;

/// The overall `conditionalAccessStatus` of an evaluation.
pub fn ca_status(e: &Evaluation) -> &'static str {
    let enforced: Vec<_> = e
        .policies
        .iter()
        .filter(|p| {
            p.applies && p.state == portcullis_domain::conditional_access::PolicyState::Enabled
        })
        .collect();
    if enforced.is_empty() {
        "notApplied"
    } else if enforced.iter().all(|p| p.result == AppliedResult::Success) {
        "success"
    } else {
        "failure"
    }
}

impl Service {
    /// The sign-in log entry of an application sign-in with every policy's result; a loop is
    /// logged as one (R44). The caller commits it with what the sign-in writes.
    pub(crate) fn app_sign_in_event(
        &self,
        user: &User,
        app: &Application,
        session: &Session,
        ctx: &RequestContext,
        d: &AccessDecision,
        policies: &[Policy],
    ) -> portcullis_store::signins::SignInEvent {
        let method = portcullis_domain::session::methods_text(&session.methods);
        let failure = crate::render::sign_in_failure(&d.verdict);
        let mut e = ctx.sign_in_event(
            self.now(),
            Some(user.id),
            user.user_principal_name.as_str(),
            &method,
            failure,
        );
        e.app_id = Some(app.app_id.clone());
        e.app_display_name = Some(app.display_name.clone());
        e.conditional_access_status = Some(ca_status(&d.evaluation).into());
        e.passkey_aaguid = session.passkey_aaguid;
        e.passkey_attested = session.passkey_aaguid.map(|_| session.passkey_attested);
        let mut applied = applied_policies_json(&d.evaluation, policies);
        // A TAP sign-in to register: the unmet strengths were skipped for proof-up.
        if let (Verdict::AllowForRegistration { .. }, Some(items)) =
            (&d.verdict, applied.as_array_mut())
        {
            for item in items.iter_mut().filter(|i| i["result"] == "failure") {
                item["authenticationStrength"] =
                    json!({"authenticationStrengthResult": "skippedForProofUp"});
            }
        }
        e.applied_conditional_access_policies = Some(applied);
        e
    }
}

impl Service {
    /// Registering security info (R40) is one resource, whichever surface asks: the Security
    /// info application — as its page's sign-in checks it — *and* the "register security
    /// info" user action, whose strengths govern registration in place of the All-resources
    /// ones (graph-api.md §6). Both are evaluated now, with this request's signals, on every
    /// registration call: a session that reached Security info earlier, elsewhere, or not at
    /// all gains nothing from it. A refusal is logged.
    ///
    /// When it allows, it answers what a new passkey must be (R48, [`PasskeyNeed`]): one
    /// that would not let the user back into Security info on its own only leads to the loop
    /// page at their next sign-in.
    pub async fn registration_allowed(
        &self,
        user: &User,
        session: &Session,
        ctx: &RequestContext,
    ) -> std::result::Result<RegistrationCheck, crate::passkeys::PasskeyError> {
        let now = self.now();
        let (d, check, data) = self.registration_decision(user, session, ctx).await?;
        let Some((code, message)) = crate::render::registration_refusal(&d.verdict) else {
            return Ok(check);
        };
        let mut event = ctx.sign_in_event(
            now,
            Some(user.id),
            user.user_principal_name.as_str(),
            "registerSecurityInfo",
            Some((53003, code, message.clone())),
        );
        event.app_id = Some(SECURITY_INFO_APP.app_id.into());
        event.app_display_name = Some("Register security info".into());
        event.conditional_access_status = Some(ca_status(&d.evaluation).into());
        event.applied_conditional_access_policies =
            Some(applied_policies_json(&d.evaluation, data.policies()));
        let mut c = self.store().conn().await?;
        portcullis_store::signins::append(&mut c, &event).await?;
        Err(crate::passkeys::PasskeyError::Rejected { code, message })
    }

    /// The registration decision and what a new passkey must be, with this request's
    /// signals; nothing is written.
    pub async fn registration_decision(
        &self,
        user: &User,
        session: &Session,
        ctx: &RequestContext,
    ) -> Result<(AccessDecision, RegistrationCheck, Arc<CaData>)> {
        let now = self.now();
        let subject = self.subject(user.id, now).await?;
        let Some(portal) = &subject.portal else {
            return Err(ServiceError::Internal(
                "the Security info application is missing".into(),
            ));
        };
        let used = used_methods(session);
        // R46: "register only from a compliant device" needs the device proved here too.
        let device = self
            .proved_device(
                user.id,
                ctx.device_proof.as_deref(),
                SECURITY_INFO_APP.app_id,
                portcullis_domain::device::REGISTRATION_BINDING,
            )
            .await?
            .map(|d| d.facts());
        let sign_in = SignIn {
            platform: from_user_agent(&ctx.user_agent),
            ip: ctx.source,
            device: device.as_ref(),
            ..subject.sign_in(user, &used, now)
        };
        let d = decide_registration(&sign_in, portal);
        let need = passkey_need(&sign_in, portal);
        Ok((d, RegistrationCheck { need }, subject.data.clone()))
    }
}

/// What an allowed registration may add (R48).
#[derive(Debug, Clone)]
pub struct RegistrationCheck {
    /// Which new passkeys would let the user back into Security info on their own.
    pub need: PasskeyNeed,
}

impl RegistrationCheck {
    /// Whether a passkey of model `aaguid` (attested or only self-reported) would do; if not,
    /// why, in words. Exact: [`passkey_need`] tried every model the strengths name, and any
    /// other model (or a self-reported AAGUID) counts as no model at all.
    pub fn admits(
        &self,
        aaguid: Uuid,
        attested: bool,
    ) -> std::result::Result<(), crate::passkeys::PasskeyError> {
        let refuse = |message: String| {
            Err(crate::passkeys::PasskeyError::Rejected {
                code: "strengthNotMet",
                message,
            })
        };
        match &self.need {
            PasskeyNeed::Any => Ok(()),
            PasskeyNeed::Models(m) if attested && m.contains(&aaguid) => Ok(()),
            PasskeyNeed::Models(m) => refuse(format!(
                "This passkey (AAGUID {aaguid}, {}) would not meet the authentication strength your organisation requires, so you could not sign in with it. Register a passkey of one of these models, with attestation: {}.",
                if attested { "attested" } else { "self-reported" },
                m.iter().map(Uuid::to_string).collect::<Vec<_>>().join(", ")
            )),
            PasskeyNeed::NoneCan(v) => refuse(format!(
                "No passkey would let you sign in: {}",
                crate::render::denial(v).map(|d| d.reason).unwrap_or_default()
            )),
        }
    }
}

impl Service {
    /// Deletes a named location that no policy uses.
    pub async fn delete_named_location(&self, actor: &Actor, id: &str) -> Result<()> {
        let now = self.now();
        let mut tx = self.begin_ca_change().await?;
        let data = load(&mut tx).await?;
        let loc = data
            .locations
            .iter()
            .find(|l| l.id == id)
            .ok_or_else(|| ServiceError::NotFound(format!("no named location '{id}'")))?;
        if let Some(p) = data.policies().iter().find(|p| {
            p.conditions.locations.as_ref().is_some_and(|l| {
                l.include_locations
                    .iter()
                    .chain(&l.exclude_locations)
                    .any(|x| x == id)
            })
        }) {
            return Err(ServiceError::Invalid(format!(
                "the named location '{}' is used by the policy '{}'; change the policy first",
                loc.display_name, p.display_name
            )));
        }
        ca::delete_location(&mut tx, id).await?;
        audit::append(
            &mut tx,
            &audit_record(
                "Delete named location",
                Operation::Delete,
                actor,
                id,
                &loc.display_name,
                Some(json!(loc)),
                None,
            ),
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }

    /// Renames or re-describes a custom strength; built-ins cannot change.
    pub async fn update_strength(
        &self,
        actor: &Actor,
        id: &str,
        name: Option<String>,
        description: Option<String>,
    ) -> Result<Strength> {
        self.change_strength(actor, id, "Update authentication strength policy", |s| {
            if let Some(n) = &name {
                s.display_name = portcullis_domain::directory::validate_display_name(n)?;
            }
            if let Some(d) = &description {
                s.description = d.clone();
            }
            Ok(())
        })
        .await
    }

    /// `updateAllowedCombinations`: returns (previous, current, ids of policies using it).
    pub async fn update_allowed_combinations(
        &self,
        actor: &Actor,
        id: &str,
        combinations: &[String],
    ) -> Result<(Vec<Combination>, Vec<Combination>, Vec<String>)> {
        let combos = validate_combinations(combinations)?;
        let mut previous = vec![];
        let s = self
            .change_strength(actor, id, "Update authentication strength policy", |s| {
                previous = s.allowed_combinations.clone();
                if s.fido2_allowed_aaguids.is_some() && !combos.iter().any(|c| c.factors() == [Factor::Fido2]) {
                    return Err(ServiceError::Invalid("the strength restricts passkey AAGUIDs, so it must keep the fido2 combination".into()));
                }
                s.allowed_combinations = combos.clone();
                Ok(())
            })
            .await?;
        let refs = self
            .ca_data()
            .await?
            .policies()
            .iter()
            .filter(|p| p.grant_controls.as_ref().and_then(|g| g.strength_id()) == Some(id))
            .map(|p| p.id.clone())
            .collect();
        Ok((previous, s.allowed_combinations, refs))
    }

    pub(crate) async fn change_strength(
        &self,
        actor: &Actor,
        id: &str,
        activity: &'static str,
        f: impl FnOnce(&mut Strength) -> Result<()>,
    ) -> Result<Strength> {
        if strength::BUILT_IN.iter().any(|b| b.id == id) {
            return Err(ServiceError::Invalid(
                "built-in authentication strengths cannot be changed".into(),
            ));
        }
        let now = self.now();
        let mut tx = self.begin_ca_change().await?;
        let before = ca::strengths(&mut tx)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| ServiceError::NotFound(format!("no authentication strength '{id}'")))?;
        let mut after = before.clone();
        f(&mut after)?;
        after.modified = rfc3339(now);
        ca::put_strength(&mut tx, &after, now).await?;
        audit::append(
            &mut tx,
            &audit_record(
                activity,
                Operation::Update,
                actor,
                id,
                &after.display_name,
                Some(before.to_json()),
                Some(after.to_json()),
            ),
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(after)
    }

    /// Deletes a custom strength that no policy requires.
    pub async fn delete_strength(&self, actor: &Actor, id: &str) -> Result<()> {
        if strength::BUILT_IN.iter().any(|b| b.id == id) {
            return Err(ServiceError::Invalid(
                "built-in authentication strengths cannot be deleted".into(),
            ));
        }
        let now = self.now();
        let mut tx = self.begin_ca_change().await?;
        let data = load(&mut tx).await?;
        let s = data
            .strengths
            .iter()
            .find(|s| s.id == id && !s.built_in)
            .ok_or_else(|| ServiceError::NotFound(format!("no authentication strength '{id}'")))?;
        if let Some(p) = data
            .policies()
            .iter()
            .find(|p| p.grant_controls.as_ref().and_then(|g| g.strength_id()) == Some(id))
        {
            return Err(ServiceError::Invalid(format!(
                "the strength '{}' is required by the policy '{}'; change the policy first",
                s.display_name, p.display_name
            )));
        }
        ca::delete_strength(&mut tx, id).await?;
        audit::append(
            &mut tx,
            &audit_record(
                "Delete authentication strength policy",
                Operation::Delete,
                actor,
                id,
                &s.display_name,
                Some(s.to_json()),
                None,
            ),
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }
}
