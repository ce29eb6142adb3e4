//! The Temporary Access Pass method configuration (R10, graph-api.md §2.1).

use serde::{Deserialize, Serialize};

use super::{invalid, ExcludeTarget, IncludeTarget, MethodState, PolicyError};

/// Shortest and longest lifetime Graph allows for any pass, in minutes.
pub const LIFETIME_RANGE: (i64, i64) = (10, 43_200);
/// Shortest and longest code length Graph allows.
pub const LENGTH_RANGE: (i64, i64) = (8, 48);

/// `temporaryAccessPassAuthenticationMethodConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TapConfiguration {
    /// Whether TAP sign-in is enabled.
    pub state: MethodState,
    /// Who may sign in with a pass.
    pub include_targets: Vec<IncludeTarget>,
    /// Who may not (wins over include).
    #[serde(default)]
    pub exclude_targets: Vec<ExcludeTarget>,
    /// Lifetime when the administrator gives none.
    pub default_lifetime_in_minutes: i64,
    /// Length of generated codes.
    pub default_length: i64,
    /// Shortest lifetime an administrator may choose.
    pub minimum_lifetime_in_minutes: i64,
    /// Longest lifetime an administrator may choose.
    pub maximum_lifetime_in_minutes: i64,
    /// When true every pass is one-time.
    pub is_usable_once: bool,
}

impl Default for TapConfiguration {
    /// Graph's defaults (graph-api.md §2.1).
    fn default() -> Self {
        TapConfiguration {
            state: MethodState::Disabled,
            include_targets: vec![IncludeTarget::all_users()],
            exclude_targets: vec![],
            default_lifetime_in_minutes: 60,
            default_length: 8,
            minimum_lifetime_in_minutes: 60,
            maximum_lifetime_in_minutes: 480,
            is_usable_once: false,
        }
    }
}

impl TapConfiguration {
    /// R10: lifetime bounds 10–43200 with min ≤ default ≤ max; length 8–48.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let (lo, hi) = LIFETIME_RANGE;
        for (field, v) in [
            ("minimumLifetimeInMinutes", self.minimum_lifetime_in_minutes),
            ("maximumLifetimeInMinutes", self.maximum_lifetime_in_minutes),
            ("defaultLifetimeInMinutes", self.default_lifetime_in_minutes),
        ] {
            if !(lo..=hi).contains(&v) {
                return Err(invalid(
                    field,
                    format!("{v} is outside the allowed range {lo}–{hi} minutes"),
                ));
            }
        }
        if self.minimum_lifetime_in_minutes > self.maximum_lifetime_in_minutes {
            return Err(invalid(
                "minimumLifetimeInMinutes",
                format!(
                    "{} is greater than maximumLifetimeInMinutes {}",
                    self.minimum_lifetime_in_minutes, self.maximum_lifetime_in_minutes
                ),
            ));
        }
        if !(self.minimum_lifetime_in_minutes..=self.maximum_lifetime_in_minutes)
            .contains(&self.default_lifetime_in_minutes)
        {
            return Err(invalid(
                "defaultLifetimeInMinutes",
                format!(
                    "{} must lie between minimumLifetimeInMinutes {} and maximumLifetimeInMinutes {}",
                    self.default_lifetime_in_minutes, self.minimum_lifetime_in_minutes, self.maximum_lifetime_in_minutes
                ),
            ));
        }
        let (lo, hi) = LENGTH_RANGE;
        if !(lo..=hi).contains(&self.default_length) {
            return Err(invalid(
                "defaultLength",
                format!(
                    "{} is outside the allowed range {lo}–{hi}",
                    self.default_length
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r10_lifetime_bounds_are_checked() {
        assert_eq!(TapConfiguration::default().validate(), Ok(()));
        let bad = [
            TapConfiguration {
                minimum_lifetime_in_minutes: 9,
                ..Default::default()
            },
            TapConfiguration {
                maximum_lifetime_in_minutes: 43_201,
                ..Default::default()
            },
            TapConfiguration {
                minimum_lifetime_in_minutes: 500,
                ..Default::default()
            },
            TapConfiguration {
                default_lifetime_in_minutes: 30,
                ..Default::default()
            },
            TapConfiguration {
                default_lifetime_in_minutes: 481,
                ..Default::default()
            },
            TapConfiguration {
                default_length: 7,
                ..Default::default()
            },
            TapConfiguration {
                default_length: 49,
                ..Default::default()
            },
        ];
        for c in bad {
            assert!(c.validate().is_err(), "{c:?} should be refused");
        }
    }
}
