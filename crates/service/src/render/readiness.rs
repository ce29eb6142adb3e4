//! The readiness report (R50) in words and shapes: one JSON document, a readable text report,
//! and CSV with one row per user finding.

use std::collections::{BTreeMap, BTreeSet};

use portcullis_domain::readiness::{
    DeploymentFinding, FindingCode, RemedyCode, Severity, Step, UserFinding,
};
use portcullis_domain::time_fmt::rfc3339;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::readiness::Readiness;

/// What a trap is, for an administrator.
pub fn explanation(code: FindingCode) -> &'static str {
    match code {
        FindingCode::StrengthLoop => "A strength requires a passkey these users do not hold yet, and it also covers where they would register one: every way in asks for what they can only get by getting in.",
        FindingCode::NotEnabledForPasskeys => "Conditional Access requires a passkey, and the Passkey (FIDO2) settings let these users register none that meets it (outside the targets, method or self-service off, or no allowed model meets the strength).",
        FindingCode::ApprovedClientAppBlock => "An approved client app or app protection policy covers these users, and the Authenticator is neither, so they cannot sign in or register there.",
        FindingCode::CompliantDeviceUnreachable => "A compliant (or hybrid-joined) device is required where these users have none.",
        FindingCode::MobilePlatformBlocked => "iOS or Android is blocked where desktops are not: the Authenticator cannot register a passkey, and these users cannot reach the application from their phone.",
        FindingCode::RegisterSecurityInfoUnsatisfiable => "The \"register security info\" user action requires what these users cannot present, so they cannot add the passkey they need.",
        FindingCode::TapUnavailable => "These users hold no method and need a Temporary Access Pass to start, but the TAP settings exclude them (or TAP is off).",
        FindingCode::AaguidBlockedInUse => "Key restrictions now refuse the model of passkeys these users registered: those passkeys stop signing in (a blocker when it was their only way in).",
        FindingCode::AdminLockout => "Every enabled Global Administrator is blocked from the admin surfaces (R45).",
        FindingCode::EnforcedBeforeRegistered => "An application requires a passkey these users have not registered, and no persona — desktop, iOS or Android — offers them a way to register one: the requirement was enforced before they registered.",
        FindingCode::CrossDeviceNeedsBluetooth => "From a desktop, these users must add a passkey in Microsoft Authenticator across devices: a QR code, then Bluetooth between the phone and the computer, both of which must have Bluetooth on and reach the hybrid tunnel endpoints https://cable.ua5v.com and https://cable.auth.com through your proxy and firewall (R24).",
        FindingCode::AttestationUnverifiable => "Attestation is enforced, and a model the settings allow cannot be attested: the metadata store holds no trusted root for it, or (for the Authenticator) no app attestation service is configured. Every registration of that model will be refused (a blocker for users who hold no passkey and could register no other).",
        FindingCode::AndroidSingleProfile => "These users work in both Android profiles, and their passkeys were made in one: a passkey is usable only from the profile it was made in (R20), so the other profile cannot use it.",
        FindingCode::OsTooOld => "The only way these users meet the requirement is a passkey in Microsoft Authenticator, and their known phones run a system too old to hold one (Android 14 and iOS 17 are needed, R19).",
        FindingCode::WeakMfaCanRegister => "These users can register the passkey a requirement asks for on the strength of a weaker claim they already hold (a passkey that does not meet it): the new passkey is only as trustworthy as that claim.",
    }
}

/// A remedy, for an administrator.
pub fn remedy(code: RemedyCode) -> &'static str {
    match code {
        RemedyCode::IssueTap => "Issue a Temporary Access Pass: signing in with it opens Security info for proof-up, where the passkey can be added.",
        RemedyCode::SplitDesktopMobile => "Split the policy: require the passkey strength on desktop platforms, and accept a TAP on iOS and Android where the Authenticator registers.",
        RemedyCode::ApplicationFilter => "Target applications with an application filter instead of All resources, so Security info and the Authenticator stay reachable.",
        RemedyCode::EnablePasskeysForUser => "Include the users in the Passkey (FIDO2) targets, turn the method and self-service registration on, and allow a model that meets the strength (attested where a strength names models).",
        RemedyCode::ExcludeAuthenticatorApp => "Exclude the Authenticator from the approved-client-app requirement.",
        RemedyCode::CompliantDeviceOr => "Offer a compliant device as an OR alternative to the approved client app.",
        RemedyCode::EnrolDevice => "Enrol a compliant device of that platform for the users.",
        RemedyCode::TemporaryExclusion => "Give the users a time-bound exclusion while they get there.",
        RemedyCode::AllowMobilePlatforms => "Allow iOS and Android, at least for registering security info.",
        RemedyCode::RelaxRegistrationPolicy => "Let the registration policy accept what the users can hold (a TAP, a trusted named location).",
        RemedyCode::IncludeInTapPolicy => "Include the users in the Temporary Access Pass targets (and turn TAP on).",
        RemedyCode::ReAddAaguid => "Allow the model again in the key restrictions: its passkeys work again at once.",
        RemedyCode::ExcludeBreakGlass => "Exclude a break-glass account or a role from the blocking policy.",
        RemedyCode::RegisterBeforeEnforcing => "Keep the policy report-only until the users have registered (this report lists who has not), then enforce it.",
        RemedyCode::RegisterOnThePhone => "Register on the phone itself (Security info in the phone's browser, or the Authenticator app), or make sure Bluetooth is on for both devices.",
        RemedyCode::ImportMetadata => "Import the model's metadata with its attestation roots (`portcullis metadata import`: an MDS3 BLOB or the model's statement).",
        RemedyCode::ConfigureAppAttestation => "Configure the Authenticator's app attestation service (`app_attestation_root` in the configuration).",
        RemedyCode::RemoveUnverifiableModel => "Take the model that cannot be attested out of the allow list, or stop enforcing attestation for it.",
        RemedyCode::SecondProfilePasskey => "Have the users add a passkey in the other Android profile as well (one per profile).",
        RemedyCode::UpdateOs => "Update the phones to Android 14 or iOS 17 or later.",
        RemedyCode::AllowAnotherModel => "Let the requirement accept a model that works without the Authenticator, such as a security key.",
        RemedyCode::ProtectRegistration => "Protect the \"register security info\" user action with a strength the weaker claim does not meet (the passkey required, or a Temporary Access Pass to bootstrap), so it cannot add a stronger one.",
    }
}

/// A deployment finding in words: what it is, and what to do.
pub fn deployment_words(f: &DeploymentFinding) -> (String, String) {
    match f {
        DeploymentFinding::SharedSourceBehindProxy(p) => (
            format!(
                "Requests reach Portcullis through {}, which sends X-Forwarded-For but is not listed in trusted_proxies: every client behind it counts as one source, so rate limits and lock-outs are shared — one user's wrong codes lock everyone behind it out of the pass sign-in.",
                p.peer
            ),
            format!(
                "If {} is your reverse proxy, add it to trusted_proxies and restart (its record is then cleared); if it is not, find out why it sends X-Forwarded-For.",
                p.peer
            ),
        ),
    }
}

/// The deployment findings as the JSON document lists them.
fn deployment_json(r: &Readiness) -> Vec<Value> {
    r.deployment
        .iter()
        .map(|f| {
            let (explanation, remedy) = deployment_words(f);
            match f {
                DeploymentFinding::SharedSourceBehindProxy(p) => json!({
                    "code": f.code(),
                    "severity": severity(Severity::Warning),
                    "peer": p.peer.to_string(),
                    "firstSeenDateTime": rfc3339(p.first_seen),
                    "lastSeenDateTime": rfc3339(p.last_seen),
                    "explanation": explanation,
                    "remedy": remedy,
                }),
            }
        })
        .collect()
}

/// A severity as JSON, CSV and pages name it.
pub fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Blocker => "blocker",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

/// Policy names → ids, from the configurations analysed (a verdict may name several, joined).
fn policy_ids(r: &Readiness, names: &[String]) -> Vec<String> {
    let mut ids = BTreeSet::new();
    for joined in names {
        for name in joined.split(", ") {
            for data in &r.data {
                for p in data.policies().iter().filter(|p| p.display_name == name) {
                    ids.insert(p.id.clone());
                }
            }
        }
    }
    ids.into_iter().collect()
}

/// Each analysed user's UPN, by id.
pub fn upns(r: &Readiness) -> BTreeMap<Uuid, String> {
    r.users
        .iter()
        .map(|u| (u.id, u.user_principal_name.to_string()))
        .collect()
}

/// Whether any finding is a blocker.
pub fn has_blocker(findings: &[UserFinding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Blocker)
}

/// Whether the run should fail a pipeline: a blocker — with a proposal, one it *adds*, so a
/// change can be gated on even in a tenant that already has findings.
pub fn gates(r: &Readiness) -> bool {
    match &r.delta {
        Some(d) => has_blocker(&d.new),
        None => has_blocker(&r.findings),
    }
}

/// Findings grouped by code, as the JSON document lists them.
fn grouped(r: &Readiness, list: &[UserFinding]) -> Vec<Value> {
    let upn = upns(r);
    let mut by_code: BTreeMap<FindingCode, Vec<&UserFinding>> = BTreeMap::new();
    for f in list {
        by_code.entry(f.code).or_default().push(f);
    }
    by_code
        .iter()
        .map(|(code, list)| {
            let users: BTreeSet<Uuid> = list.iter().map(|f| f.user).collect();
            let worst = list.iter().map(|f| f.severity).min().unwrap_or(Severity::Info);
            let all_policies: Vec<String> = list.iter().flat_map(|f| f.policies.clone()).collect();
            let settings: BTreeSet<String> = list
                .iter()
                .flat_map(|f| f.settings.iter().map(|s| s.path()))
                .collect();
            json!({
                "code": code.as_str(),
                "severity": severity(worst),
                "userCount": users.len(),
                "users": list.iter().map(|f| json!({
                    "id": f.user,
                    "userPrincipalName": upn.get(&f.user),
                    "persona": f.persona.map(|p| p.code()),
                    "application": f.application,
                    "step": step(f.step),
                    "severity": severity(f.severity),
                    "policyIds": policy_ids(r, &f.policies),
                    "settings": f.settings.iter().map(|s| s.path()).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "policyIds": policy_ids(r, &all_policies),
                "settings": settings,
                "explanation": explanation(*code),
                "remedies": code.remedies().iter().map(|m| json!({"code": m.as_str(), "text": remedy(*m)})).collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// The report as one JSON document (`delta` only with a proposal).
pub fn json(r: &Readiness) -> Value {
    let with: BTreeSet<Uuid> = r.findings.iter().map(|f| f.user).collect();
    let mut counts: BTreeMap<&str, BTreeSet<Uuid>> = BTreeMap::new();
    for f in &r.findings {
        counts.entry(f.code.as_str()).or_default().insert(f.user);
    }
    let counts: BTreeMap<&str, usize> = counts.into_iter().map(|(c, u)| (c, u.len())).collect();
    let mut doc = json!({
        "generatedDateTime": rfc3339(r.generated),
        "summary": {"usersAnalyzed": r.users.len(), "usersWithFindings": with.len(), "byCode": counts},
        "findings": grouped(r, &r.findings),
        "deployment": deployment_json(r),
    });
    if let (Some(d), Value::Object(m)) = (&r.delta, &mut doc) {
        m.insert(
            "delta".into(),
            json!({"newFindings": grouped(r, &d.new), "resolvedFindings": grouped(r, &d.resolved)}),
        );
    }
    doc
}

/// The report as CSV: one row per user finding.
pub fn csv(r: &Readiness) -> String {
    let upn = upns(r);
    let mut out = String::from(
        "code,severity,userId,userPrincipalName,persona,application,step,policyIds,settings\n",
    );
    for f in &r.findings {
        let row = [
            f.code.as_str().to_string(),
            severity(f.severity).to_string(),
            f.user.to_string(),
            upn.get(&f.user).cloned().unwrap_or_default(),
            f.persona.map(|p| p.code().to_string()).unwrap_or_default(),
            f.application.clone().unwrap_or_default(),
            step(f.step).to_string(),
            policy_ids(r, &f.policies).join(" "),
            f.settings
                .iter()
                .map(|s| s.path())
                .collect::<Vec<_>>()
                .join(" "),
        ];
        out.push_str(&super::csv::line(&row));
    }
    out
}

/// The report for a person to read.
pub fn text(r: &Readiness) -> String {
    let upn = upns(r);
    let mut by_code: BTreeMap<FindingCode, Vec<&UserFinding>> = BTreeMap::new();
    for f in &r.findings {
        by_code.entry(f.code).or_default().push(f);
    }
    let with: BTreeSet<Uuid> = r.findings.iter().map(|f| f.user).collect();
    let mut out = format!(
        "Readiness, {}: {} users analysed, {} with findings.\n",
        rfc3339(r.generated),
        r.users.len(),
        with.len()
    );
    for f in &r.deployment {
        let (explanation, remedy) = deployment_words(f);
        out.push_str(&format!(
            "\n[{}] {} — the deployment\n  {explanation}\n  fix: {remedy}\n",
            severity(Severity::Warning),
            f.code()
        ));
    }
    for (code, list) in &by_code {
        let users: BTreeSet<Uuid> = list.iter().map(|f| f.user).collect();
        let worst = list
            .iter()
            .map(|f| f.severity)
            .min()
            .unwrap_or(Severity::Info);
        out.push_str(&format!(
            "\n[{}] {} — {} user(s)\n  {}\n",
            severity(worst),
            code.as_str(),
            users.len(),
            explanation(*code)
        ));
        for f in list {
            out.push_str(&format!(
                "  - {} as {} → {} ({})\n",
                upn.get(&f.user).map_or("?", String::as_str),
                f.persona.map_or("any persona", |p| p.code()),
                f.application.as_deref().unwrap_or("-"),
                step(f.step)
            ));
        }
        for m in code.remedies() {
            out.push_str(&format!("  fix: {}\n", remedy(*m)));
        }
    }
    if let Some(d) = &r.delta {
        out.push_str(&format!(
            "\nThe proposal creates {} finding(s) and resolves {}.\n",
            d.new.len(),
            d.resolved.len()
        ));
        for (label, list) in [("new", &d.new), ("resolved", &d.resolved)] {
            for f in list {
                out.push_str(&format!(
                    "  {label}: [{}] {} — {} as {} → {}\n",
                    severity(f.severity),
                    f.code.as_str(),
                    upn.get(&f.user).map_or("?", String::as_str),
                    f.persona.map_or("any persona", |p| p.code()),
                    f.application.as_deref().unwrap_or("-"),
                ));
            }
        }
    }
    out
}

/// A step as JSON, CSV and pages name it.
pub fn step(s: Step) -> &'static str {
    match s {
        Step::SignIn => "signIn",
        Step::Register => "register",
        Step::ObtainPass => "obtainPass",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R24: the note on cross-device registration names what hybrid needs — Bluetooth on
    /// both devices and the tunnel endpoints 002 lists.
    #[test]
    fn r24_the_cross_device_note_names_bluetooth_and_the_tunnel_endpoints() {
        let words = explanation(FindingCode::CrossDeviceNeedsBluetooth);
        for needed in [
            "Bluetooth",
            "both",
            "https://cable.ua5v.com",
            "https://cable.auth.com",
        ] {
            assert!(words.contains(needed), "{needed}: {words}");
        }
    }
}
