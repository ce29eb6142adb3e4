//! Software OATH: an authenticator app's time-based codes (TOTP, RFC 6238), as the real
//! Microsoft Authenticator and every other app read them from a QR code (issue 17).
//!
//! The decision is here; the HMAC is the caller's (the service computes it with its one
//! crypto stack and hands this module the code of each step it asks for).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::policy::{targets, MethodState, ScopeMiss, SoftwareOathConfiguration};
use crate::session::{AuthMethod, Session};
use crate::Timestamp;

/// Seconds per step (RFC 6238's default, the only value Authenticator apps all honour).
pub const PERIOD_SECONDS: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Steps accepted either side of the current one (clock drift of up to 30 s).
pub const WINDOW: i64 = 1;
/// Bytes of a generated secret: 160 bits, RFC 4226's recommendation for HMAC-SHA1.
pub const SECRET_BYTES: usize = 20;

/// A time step: the number of whole periods since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Step(pub u64);

impl Step {
    /// The step `now` falls in.
    pub fn at(now: Timestamp) -> Step {
        Step(u64::try_from(now.unix_timestamp().div_euclid(PERIOD_SECONDS)).unwrap_or(0))
    }
}

/// Why a typed code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OathRefusal {
    /// Not six digits.
    #[error("a code is the six digits your authenticator app shows")]
    Malformed,
    /// No step in the window has this code.
    #[error("that code is not correct; enter the code your authenticator app shows now")]
    WrongCode,
    /// The code is right but was already used: a code works once (no replay of a code seen
    /// over a shoulder or through a phishing page).
    #[error("that code was already used; wait for the next code and enter it")]
    AlreadyUsed,
}

/// Accepts `typed` when it is the code of a step within [`WINDOW`] of `now` that is later
/// than `last_used` (the last step a code was accepted for). Returns that step, which the
/// caller records with a compare-and-set so that two concurrent uses of one code cannot both
/// succeed. Every step of the window is computed and compared, match or not.
pub fn accept(
    typed: &str,
    now: Timestamp,
    last_used: Option<Step>,
    code_of: impl Fn(Step) -> u32,
) -> Result<Step, OathRefusal> {
    let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    let digits_ok = typed.len() == DIGITS as usize && typed.bytes().all(|b| b.is_ascii_digit());
    let Some(value) = typed.parse::<u32>().ok().filter(|_| digits_ok) else {
        return Err(OathRefusal::Malformed);
    };
    let now = Step::at(now);
    let mut fresh: Option<Step> = None;
    let mut stale = false;
    for d in -WINDOW..=WINDOW {
        let Some(s) = now.0.checked_add_signed(d).map(Step) else {
            continue;
        };
        // A branch-free equality of two integers (no early exit on the first match).
        let matches = (code_of(s) ^ value) == 0;
        if matches {
            if last_used.is_some_and(|u| s <= u) {
                stale = true;
            } else if fresh.is_none_or(|f| s > f) {
                fresh = Some(s);
            }
        }
    }
    match (fresh, stale) {
        (Some(s), _) => Ok(s),
        (None, true) => Err(OathRefusal::AlreadyUsed),
        (None, false) => Err(OathRefusal::WrongCode),
    }
}

/// Why an authenticator app cannot be added now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrolRefusal {
    /// The method is disabled in the authentication methods policy.
    MethodDisabled,
    /// The user is outside its targets.
    NotInScope(ScopeMiss),
    /// The user already has one (one per user: remove it to add another).
    AlreadyRegistered,
    /// The session is not a recent MFA sign-in, and the user holds a method that is (R14):
    /// they must sign in with it first.
    StepUpRequired,
}

/// Whether `session` may add an authenticator app. A recent MFA sign-in may (R14). A
/// password sign-in may only while the user holds no method that is MFA (`holds_mfa_method`):
/// the first second factor is added after the password, as Entra's combined registration
/// does; Conditional Access's "register security info" action is asked separately.
pub fn may_enrol(
    cfg: &SoftwareOathConfiguration,
    member_of: &[uuid::Uuid],
    session: &Session,
    holds_mfa_method: bool,
    has_app: bool,
    now: Timestamp,
) -> Result<(), EnrolRefusal> {
    if cfg.state == MethodState::Disabled {
        return Err(EnrolRefusal::MethodDisabled);
    }
    match targets::scope(&cfg.include_targets, &cfg.exclude_targets, member_of) {
        targets::Scope::Included(_) => {}
        targets::Scope::Excluded(_) => return Err(EnrolRefusal::NotInScope(ScopeMiss::Excluded)),
        targets::Scope::NotIncluded => {
            return Err(EnrolRefusal::NotInScope(ScopeMiss::NotIncluded))
        }
    }
    if has_app {
        return Err(EnrolRefusal::AlreadyRegistered);
    }
    may_add_second_factor(session, holds_mfa_method, now)
}

/// Whether `session` may add a second factor (an app's codes, the Authenticator's push): a
/// recent MFA sign-in may (R14); a password sign-in may only while the user holds no method
/// that is MFA (`holds_mfa_method`) — the first second factor comes after the password.
pub fn may_add_second_factor(
    session: &Session,
    holds_mfa_method: bool,
    now: Timestamp,
) -> Result<(), EnrolRefusal> {
    let fresh = crate::passkey::mfa_is_fresh(session, now);
    let first_factor_only =
        session.is_live(now) && session.methods == [AuthMethod::Password] && !holds_mfa_method;
    if fresh || first_factor_only {
        Ok(())
    } else {
        Err(EnrolRefusal::StepUpRequired)
    }
}

/// Whether the app's method lets `member_of` sign in with it now (state and targets).
pub fn usable(cfg: &SoftwareOathConfiguration, member_of: &[uuid::Uuid]) -> bool {
    cfg.state == MethodState::Enabled
        && matches!(
            targets::scope(&cfg.include_targets, &cfg.exclude_targets, member_of),
            targets::Scope::Included(_)
        )
}

/// The code of a step from its HMAC-SHA1 (RFC 4226 §5.3, dynamic truncation).
pub fn truncate(mac: &[u8; 20]) -> u32 {
    let offset = usize::from(mac[19] & 0x0f);
    let mut word = [0u8; 4];
    // offset ≤ 15, so offset + 4 ≤ 19: the slice is always there.
    if let Some(w) = mac.get(offset..offset + 4) {
        word.copy_from_slice(w);
    }
    (u32::from_be_bytes(word) & 0x7fff_ffff)
        .checked_rem(10u32.pow(DIGITS))
        .unwrap_or(0)
}

/// The message a step's HMAC is computed over: the step as 8 big-endian bytes.
pub fn counter_bytes(s: Step) -> [u8; 8] {
    s.0.to_be_bytes()
}

/// What an app reads from a key URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUri {
    /// Who issued it (shown above the account).
    pub issuer: String,
    /// The account.
    pub account: String,
    /// The shared secret.
    pub secret: Vec<u8>,
}

/// Why a key URI was refused: only what [`key_uri`] writes is read (TOTP, SHA1, 6 digits,
/// 30 seconds).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a key URI this app reads: {0}")]
pub struct KeyUriError(pub String);

/// Parses an `otpauth://totp/…` URI, as an authenticator app does when it scans one.
pub fn parse_key_uri(uri: &str) -> Result<KeyUri, KeyUriError> {
    let bad = |m: &str| KeyUriError(m.to_string());
    let u = url::Url::parse(uri).map_err(|e| KeyUriError(e.to_string()))?;
    if u.scheme() != "otpauth" || u.host_str() != Some("totp") {
        return Err(bad("expected otpauth://totp/"));
    }
    let label = percent_encoding::percent_decode_str(u.path().trim_start_matches('/'))
        .decode_utf8()
        .map_err(|_| bad("the label is not UTF-8"))?
        .into_owned();
    let (label_issuer, account) = match label.split_once(':') {
        Some((i, a)) => (Some(i.to_string()), a.to_string()),
        None => (None, label),
    };
    let mut secret = None;
    let mut issuer = label_issuer;
    for (k, v) in u.query_pairs() {
        match (k.as_ref(), v.as_ref()) {
            ("secret", s) => {
                secret = Some(
                    data_encoding::BASE32_NOPAD
                        .decode(s.trim_end_matches('=').to_ascii_uppercase().as_bytes())
                        .map_err(|_| bad("the secret is not base32"))?,
                )
            }
            ("issuer", i) => issuer = Some(i.to_string()),
            ("algorithm", "SHA1") | ("digits", "6") | ("period", "30") => {}
            ("algorithm" | "digits" | "period", other) => {
                return Err(KeyUriError(format!("{k}={other} is not supported")))
            }
            _ => {}
        }
    }
    Ok(KeyUri {
        issuer: issuer.unwrap_or_default(),
        account,
        secret: secret
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad("no secret"))?,
    })
}

/// A secret as apps take it typed in: unpadded base32.
pub fn base32(secret: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(secret)
}

/// What a label or a parameter of the key URI keeps unescaped: RFC 3986's unreserved set.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The `otpauth://` URI an authenticator app scans, in the Key Uri Format every app reads:
/// label `issuer:account`, the secret in unpadded base32, and the issuer, algorithm, digits and
/// period spelled out (apps that assume defaults and apps that do not read the same key).
pub fn key_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let enc = |s: &str| utf8_percent_encode(s, COMPONENT).to_string();
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={PERIOD_SECONDS}",
        enc(issuer),
        enc(account),
        base32(secret),
        enc(issuer),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: Timestamp = datetime!(2026-12-01 10:00:15 UTC);

    /// A code per step that differs for each step (the HMAC is the service's).
    fn codes(s: Step) -> u32 {
        u32::try_from(s.0 % 1_000_000).unwrap_or(0)
    }

    fn code(s: Step) -> String {
        format!("{:06}", codes(s))
    }

    #[test]
    fn the_window_is_one_step_either_side() {
        let now = Step::at(NOW);
        for d in [-1, 0, 1] {
            let s = Step(now.0.wrapping_add_signed(d));
            assert_eq!(accept(&code(s), NOW, None, codes), Ok(s));
        }
        for d in [-2, 2] {
            let s = Step(now.0.wrapping_add_signed(d));
            assert_eq!(
                accept(&code(s), NOW, None, codes),
                Err(OathRefusal::WrongCode)
            );
        }
    }

    #[test]
    fn a_code_is_used_once_and_an_older_one_never_after() {
        let now = Step::at(NOW);
        let s = accept(&code(now), NOW, None, codes).unwrap_or(Step(0));
        assert_eq!(
            accept(&code(now), NOW, Some(s), codes),
            Err(OathRefusal::AlreadyUsed)
        );
        let before = Step(now.0 - 1);
        assert_eq!(
            accept(&code(before), NOW, Some(s), codes),
            Err(OathRefusal::AlreadyUsed)
        );
        let next = Step(now.0 + 1);
        assert_eq!(accept(&code(next), NOW, Some(s), codes), Ok(next));
    }

    #[test]
    fn only_six_digits_are_a_code() {
        for typed in [
            "",
            "12345",
            "1234567",
            "12a456",
            "-12345",
            "+12345",
            "１２３４５６",
        ] {
            assert_eq!(
                accept(typed, NOW, None, codes),
                Err(OathRefusal::Malformed),
                "{typed}"
            );
        }
        let now = Step::at(NOW);
        let spaced = format!("{} {}", &code(now)[..3], &code(now)[3..]);
        assert_eq!(accept(&spaced, NOW, None, codes), Ok(now));
    }

    #[test]
    fn truncation_follows_rfc_4226() {
        // RFC 4226 §5.4's worked example.
        let mac = [
            0x1f, 0x86, 0x98, 0x69, 0x0e, 0x02, 0xca, 0x16, 0x61, 0x85, 0x50, 0xef, 0x7f, 0x19,
            0xda, 0x8e, 0x94, 0x5b, 0x55, 0x5a,
        ];
        assert_eq!(truncate(&mac), 872_921);
    }

    fn session(methods: Vec<AuthMethod>) -> Session {
        Session {
            id: uuid::Uuid::nil(),
            user_id: uuid::Uuid::nil(),
            auth_time: NOW,
            methods,
            expires_at: NOW + time::Duration::hours(1),
            passkey_aaguid: None,
            passkey_attested: false,
            credential_id: None,
            campaign_pending: false,
        }
    }

    #[test]
    fn a_password_adds_the_first_app_only_and_mfa_any() {
        let on = SoftwareOathConfiguration {
            state: MethodState::Enabled,
            ..Default::default()
        };
        let pwd = session(vec![AuthMethod::Password]);
        assert_eq!(may_enrol(&on, &[], &pwd, false, false, NOW), Ok(()));
        assert_eq!(
            may_enrol(&on, &[], &pwd, true, false, NOW),
            Err(EnrolRefusal::StepUpRequired),
            "a user holding a passkey proves it before adding a factor"
        );
        assert_eq!(
            may_enrol(&on, &[], &pwd, false, true, NOW),
            Err(EnrolRefusal::AlreadyRegistered)
        );
        let mfa = session(vec![AuthMethod::Password, AuthMethod::SoftwareOath]);
        assert_eq!(may_enrol(&on, &[], &mfa, true, false, NOW), Ok(()));
        let later = NOW + time::Duration::hours(2);
        assert_eq!(
            may_enrol(&on, &[], &pwd, false, false, later),
            Err(EnrolRefusal::StepUpRequired),
            "an ended session adds nothing"
        );
        assert_eq!(
            may_enrol(
                &SoftwareOathConfiguration::default(),
                &[],
                &mfa,
                false,
                false,
                NOW
            ),
            Err(EnrolRefusal::MethodDisabled)
        );
        let g = uuid::Uuid::from_u128(7);
        let excl = SoftwareOathConfiguration {
            exclude_targets: vec![crate::policy::ExcludeTarget::group(g)],
            ..on.clone()
        };
        assert_eq!(
            may_enrol(&excl, &[g], &mfa, false, false, NOW),
            Err(EnrolRefusal::NotInScope(ScopeMiss::Excluded))
        );
        assert!(usable(&on, &[g]) && !usable(&excl, &[g]));
    }

    #[test]
    fn a_key_uri_reads_back_what_was_written() {
        let uri = key_uri("Contoso IdP", "ana@contoso.com", b"12345678901234567890");
        assert_eq!(
            parse_key_uri(&uri),
            Ok(KeyUri {
                issuer: "Contoso IdP".into(),
                account: "ana@contoso.com".into(),
                secret: b"12345678901234567890".to_vec()
            })
        );
        assert!(parse_key_uri("otpauth://hotp/x?secret=AAAA").is_err());
        assert!(parse_key_uri("otpauth://totp/x?secret=GEZDGNBV&digits=8").is_err());
        assert!(parse_key_uri("otpauth://totp/x").is_err());
    }

    #[test]
    fn the_key_uri_spells_out_every_parameter() {
        let uri = key_uri("Contoso IdP", "ana@contoso.com", b"12345678901234567890");
        assert_eq!(
            uri,
            "otpauth://totp/Contoso%20IdP:ana%40contoso.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Contoso%20IdP&algorithm=SHA1&digits=6&period=30"
        );
    }
}
