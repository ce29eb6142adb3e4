//! The passkey inventory (R52): every stored passkey as an administrator reads it — its
//! model, how its attestation vouched for it, whether it is synced and backed up, and whether
//! it can sign in now (and under a proposed Passkey (FIDO2) configuration), asked of the same
//! [`passkey::sign_in_usability`] that sign-in asks. Filters arrive as text (a query string,
//! CLI flags) and are parsed once into a [`Filter`]; only a parsed filter selects rows.

use std::collections::BTreeSet;

use uuid::Uuid;

use crate::actor::{may_manage_methods, may_view_methods, Actor};
use crate::directory::DirectoryRole;
use crate::passkey::{self, Passkey, PasskeyRefusal};
use crate::policy::Fido2Configuration;
use crate::Timestamp;

/// How the attestation statement vouched for the passkey at registration (WebAuthn §6.5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Attestation {
    /// No statement (`none`).
    None,
    /// Signed by the credential's own key.
    SelfAttestation,
    /// A certificate chain from the vendor.
    Basic,
    /// An attestation CA (TPM).
    AttCa,
    /// An anonymization CA (Apple).
    AnonCa,
    /// A statement the verifier could not place.
    Uncertain,
}

impl Attestation {
    /// The stored and exported name.
    pub fn code(self) -> &'static str {
        match self {
            Attestation::None => "none",
            Attestation::SelfAttestation => "self",
            Attestation::Basic => "basic",
            Attestation::AttCa => "attca",
            Attestation::AnonCa => "anonca",
            Attestation::Uncertain => "uncertain",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<Attestation> {
        [
            Attestation::None,
            Attestation::SelfAttestation,
            Attestation::Basic,
            Attestation::AttCa,
            Attestation::AnonCa,
            Attestation::Uncertain,
        ]
        .into_iter()
        .find(|a| a.code() == s)
    }
}

/// One stored passkey with what the inventory shows beside the policy view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The passkey as policy sees it.
    pub passkey: Passkey,
    /// Its owner's userPrincipalName.
    pub user_principal_name: String,
    /// How its attestation vouched for it.
    pub attestation: Attestation,
    /// The BS flag as last seen (unknown for passkeys stored before it was kept).
    pub backed_up: Option<bool>,
    /// What the client reported about the authenticator at registration (R24).
    pub client: crate::passkey::ClientReport,
}

/// Why a filter does not parse: the field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FilterError {
    /// The filter's name as the caller wrote it.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

/// The filters as text, as a query string or the CLI gives them (empty = not given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawFilter {
    /// An AAGUID.
    pub aaguid: String,
    /// Part of a model name (any case).
    pub model: String,
    /// `true` or `false`.
    pub usable: String,
    /// `true` or `false`.
    pub attested: String,
    /// `true` (synced) or `false` (device-bound).
    pub synced: String,
    /// A date (`YYYY-MM-DD`) or an RFC 3339 time: passkeys not used since.
    pub unused_since: String,
    /// A group's object id.
    pub group: String,
    /// `enabled` or `disabled`.
    pub state: String,
}

impl RawFilter {
    /// The filters' names, as a query string or a form carries them.
    pub const NAMES: [&'static str; 8] = [
        "aaguid",
        "model",
        "usable",
        "attested",
        "synced",
        "unusedSince",
        "group",
        "state",
    ];

    fn slot(&mut self, name: &str) -> Option<&mut String> {
        Some(match name {
            "aaguid" => &mut self.aaguid,
            "model" => &mut self.model,
            "usable" => &mut self.usable,
            "attested" => &mut self.attested,
            "synced" => &mut self.synced,
            "unusedSince" => &mut self.unused_since,
            "group" => &mut self.group,
            "state" => &mut self.state,
            _ => return None,
        })
    }

    /// Sets the filter called `name`; false when no filter has that name.
    pub fn set(&mut self, name: &str, value: String) -> bool {
        self.slot(name).map(|s| *s = value).is_some()
    }

    /// The filters `get` gives, by name (as a form or a query map holds them).
    pub fn from_fn(get: impl Fn(&str) -> String) -> RawFilter {
        let mut raw = RawFilter::default();
        for n in Self::NAMES {
            raw.set(n, get(n));
        }
        raw
    }

    /// Each filter given, by name, in [`Self::NAMES`] order.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            &self.aaguid,
            &self.model,
            &self.usable,
            &self.attested,
            &self.synced,
            &self.unused_since,
            &self.group,
            &self.state,
        ]
        .into_iter()
        .zip(Self::NAMES)
        .filter(|(v, _)| !v.is_empty())
        .map(|(v, n)| (n, v.as_str()))
        .collect()
    }
}

/// A parsed filter: every condition holds for a row it selects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// This model only.
    pub aaguid: Option<Uuid>,
    /// Models whose name contains this (lower-case).
    pub model: Option<String>,
    /// Usable (or not) under the current configuration.
    pub usable: Option<bool>,
    /// AAGUID attested (or self-reported).
    pub attested: Option<bool>,
    /// Synced (or device-bound).
    pub synced: Option<bool>,
    /// Not used since this time (never used counts as not used).
    pub unused_since: Option<Timestamp>,
    /// Owned by a member of this group.
    pub group: Option<Uuid>,
    /// Enabled or disabled.
    pub state: Option<State>,
}

fn flag(field: &'static str, s: &str) -> Result<Option<bool>, FilterError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "true" | "yes" => Ok(Some(true)),
        "false" | "no" => Ok(Some(false)),
        other => Err(FilterError {
            field,
            message: format!("'{other}' is not true or false"),
        }),
    }
}

fn id(field: &'static str, s: &str) -> Result<Option<Uuid>, FilterError> {
    match s.trim() {
        "" => Ok(None),
        t => Uuid::parse_str(t).map(Some).map_err(|_| FilterError {
            field,
            message: format!("'{t}' is not an id (a GUID)"),
        }),
    }
}

fn date(field: &'static str, s: &str) -> Result<Option<Timestamp>, FilterError> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let as_day = time::Date::parse(t, &time::format_description::well_known::Iso8601::DATE)
        .map(|d| d.midnight().assume_utc());
    as_day
        .or_else(|_| Timestamp::parse(t, &time::format_description::well_known::Rfc3339))
        .map(Some)
        .map_err(|_| FilterError {
            field,
            message: format!("'{t}' is not a date (YYYY-MM-DD) or an RFC 3339 time"),
        })
}

impl Filter {
    /// Parses each filter once; the first one that does not parse is the error.
    pub fn parse(raw: &RawFilter) -> Result<Filter, FilterError> {
        let model = raw.model.trim().to_lowercase();
        if model.chars().count() > 200 {
            return Err(FilterError {
                field: "model",
                message: "a model name is at most 200 characters".into(),
            });
        }
        Ok(Filter {
            aaguid: id("aaguid", &raw.aaguid)?,
            model: Some(model).filter(|m| !m.is_empty()),
            usable: flag("usable", &raw.usable)?,
            attested: flag("attested", &raw.attested)?,
            synced: flag("synced", &raw.synced)?,
            unused_since: date("unusedSince", &raw.unused_since)?,
            group: id("group", &raw.group)?,
            state: match raw.state.trim().to_ascii_lowercase().as_str() {
                "" => None,
                "enabled" => Some(State::Enabled),
                "disabled" => Some(State::Disabled),
                other => {
                    return Err(FilterError {
                        field: "state",
                        message: format!("'{other}' is not enabled or disabled"),
                    })
                }
            },
        })
    }

    /// The AAGUIDs whose model name matches the model filter, from `names`; `None` when
    /// there is no model filter. (An empty set selects nothing.)
    pub fn models<'a>(
        &self,
        names: impl IntoIterator<Item = (&'a Uuid, &'a String)>,
    ) -> Option<BTreeSet<Uuid>> {
        let m = self.model.as_ref()?;
        Some(
            names
                .into_iter()
                .filter(|(_, n)| n.to_lowercase().contains(m.as_str()))
                .map(|(a, _)| *a)
                .collect(),
        )
    }
}

/// Whether the passkey is enabled or disabled by an administrator (R26).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// It can be used (subject to policy).
    Enabled,
    /// Kept, and refused at sign-in until enabled again.
    Disabled,
}

impl State {
    /// The exported name.
    pub fn code(self) -> &'static str {
        match self {
            State::Enabled => "enabled",
            State::Disabled => "disabled",
        }
    }

    /// A passkey's state.
    pub fn of(p: &Passkey) -> State {
        if p.disabled {
            State::Disabled
        } else {
            State::Enabled
        }
    }
}

/// One inventory row: a record and what the policy says of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The stored passkey.
    pub record: Record,
    /// Its model's name, when the metadata store knows it.
    pub model: Option<String>,
    /// Enabled or disabled.
    pub state: State,
    /// Whether it can sign its owner in under the current configuration, and why not.
    pub usable: Result<(), PasskeyRefusal>,
    /// The same under a proposed configuration, when one is given.
    pub proposed: Option<Result<(), PasskeyRefusal>>,
}

/// What the rows are for: reading them, or changing them (a bulk disable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The passkeys of users whose methods the reader may view (Global Readers: anyone's).
    View,
    /// The passkeys of users whose methods the reader may manage (never their own).
    Manage,
}

/// What every row is judged against.
#[derive(Debug, Clone, Copy)]
pub struct Judge<'a> {
    /// Who reads the inventory.
    pub reader: &'a Actor,
    /// Which of the reader's rights selects the rows.
    pub purpose: Purpose,
    /// The current Passkey (FIDO2) configuration.
    pub current: &'a Fido2Configuration,
    /// A proposed one, if any.
    pub proposed: Option<&'a Fido2Configuration>,
}

/// The row for `record`, or `None` when the filter leaves it out or the reader may not view
/// its owner's methods. `member_of` is the owner's groups, `roles` their directory roles.
pub fn row(
    judge: &Judge<'_>,
    filter: &Filter,
    record: &Record,
    model: Option<&str>,
    member_of: &[Uuid],
    roles: &[DirectoryRole],
) -> Option<Row> {
    let p = &record.passkey;
    match judge.purpose {
        Purpose::View => may_view_methods(judge.reader, p.user_id, roles).ok()?,
        Purpose::Manage => may_manage_methods(judge.reader, p.user_id, roles).ok()?,
    }
    let selected = filter.aaguid.is_none_or(|a| a == p.aaguid)
        && filter.attested.is_none_or(|a| a == p.attested)
        && filter.synced.is_none_or(|s| s == p.synced)
        && filter
            .unused_since
            .is_none_or(|t| p.last_used_at.is_none_or(|u| u < t))
        && filter.group.is_none_or(|g| member_of.contains(&g))
        && filter.state.is_none_or(|s| s == State::of(p))
        && filter
            .model
            .as_ref()
            .is_none_or(|m| model.is_some_and(|name| name.to_lowercase().contains(m.as_str())));
    if !selected {
        return None;
    }
    let usable = passkey::sign_in_usability(judge.current, member_of, p);
    if filter.usable.is_some_and(|u| u != usable.is_ok()) {
        return None;
    }
    Some(Row {
        record: record.clone(),
        model: model.map(str::to_string),
        state: State::of(p),
        usable,
        proposed: judge
            .proposed
            .map(|cfg| passkey::sign_in_usability(cfg, member_of, p)),
    })
}

/// The groups whose membership decides a row: those the configurations target (now and
/// proposed) and the group filter's. Only these memberships need reading.
pub fn groups_read(
    current: &Fido2Configuration,
    proposed: Option<&Fido2Configuration>,
    filter: &Filter,
) -> BTreeSet<Uuid> {
    let targets = |c: &Fido2Configuration| -> Vec<Uuid> {
        crate::policy::MethodConfiguration::Fido2(c.clone()).target_groups()
    };
    targets(current)
        .into_iter()
        .chain(proposed.map(targets).unwrap_or_default())
        .chain(filter.group)
        .collect()
}

#[cfg(test)]
mod tests;
