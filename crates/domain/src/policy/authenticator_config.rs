//! The Microsoft Authenticator method configuration
//! (`microsoftAuthenticatorAuthenticationMethodConfiguration`, issue 17): who may approve
//! sign-ins with the app, and what an approval request shows them.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ExcludeTarget, IncludeTarget, MethodState, TargetId, TargetType};

/// `advancedConfigState`: `default` is Microsoft-managed, which has shown the context since
/// 2023; Portcullis reads it as enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum AdvancedState {
    /// Microsoft-managed (shown).
    #[default]
    Default,
    /// Shown to the targeted users.
    Enabled,
    /// Not shown.
    Disabled,
}

/// `featureTarget`: a group or `all_users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FeatureTarget {
    /// Accepted on input for SDK compatibility; never needed.
    #[serde(rename = "@odata.type", default, skip_serializing)]
    pub odata_type: Option<String>,
    /// `group`.
    #[serde(default)]
    pub target_type: TargetType,
    /// `all_users` or a group id.
    pub id: TargetId,
}

/// `authenticationMethodFeatureConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FeatureSetting {
    /// Accepted on input for SDK compatibility; never needed.
    #[serde(rename = "@odata.type", default, skip_serializing)]
    pub odata_type: Option<String>,
    /// On, off or Microsoft-managed.
    #[serde(default)]
    pub state: AdvancedState,
    /// Who it applies to.
    #[serde(default = "FeatureSetting::everyone")]
    pub include_target: FeatureTarget,
    /// Who it does not (wins).
    #[serde(default = "FeatureSetting::nobody")]
    pub exclude_target: FeatureTarget,
}

impl FeatureSetting {
    fn everyone() -> FeatureTarget {
        FeatureTarget {
            odata_type: None,
            target_type: TargetType::Group,
            id: TargetId::AllUsers,
        }
    }

    /// Graph's "no one": the nil group id.
    fn nobody() -> FeatureTarget {
        FeatureTarget {
            odata_type: None,
            target_type: TargetType::Group,
            id: TargetId::Group(Uuid::nil()),
        }
    }

    /// Whether the feature is shown to a member of `member_of`.
    pub fn applies(&self, member_of: &[Uuid]) -> bool {
        self.state != AdvancedState::Disabled
            && self.include_target.id.covers(member_of)
            && !self.exclude_target.id.covers(member_of)
    }
}

impl Default for FeatureSetting {
    fn default() -> Self {
        FeatureSetting {
            odata_type: None,
            state: AdvancedState::Default,
            include_target: Self::everyone(),
            exclude_target: Self::nobody(),
        }
    }
}

/// `microsoftAuthenticatorFeatureSettings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FeatureSettings {
    /// Accepted on input for SDK compatibility; never needed.
    #[serde(rename = "@odata.type", default, skip_serializing)]
    pub odata_type: Option<String>,
    /// Show the application's name in an approval request.
    #[serde(default)]
    pub display_app_information_required_state: FeatureSetting,
    /// Show the sign-in's location (its network address) in an approval request.
    #[serde(default)]
    pub display_location_information_required_state: FeatureSetting,
}

/// `microsoftAuthenticatorAuthenticationMethodConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthenticatorConfiguration {
    /// Whether the method is enabled.
    pub state: MethodState,
    /// Who may use it (`authenticationMode` per target: any, push, deviceBasedPush).
    pub include_targets: Vec<IncludeTarget>,
    /// Who may not.
    #[serde(default)]
    pub exclude_targets: Vec<ExcludeTarget>,
    /// What approval requests show.
    #[serde(default)]
    pub feature_settings: FeatureSettings,
    /// Whether the app's own codes (TOTP) count as software OATH.
    #[serde(default = "yes")]
    pub is_software_oath_enabled: bool,
}

fn yes() -> bool {
    true
}

impl Default for AuthenticatorConfiguration {
    /// Graph's defaults: disabled, for all users, context Microsoft-managed.
    fn default() -> Self {
        AuthenticatorConfiguration {
            state: MethodState::Disabled,
            include_targets: vec![IncludeTarget::all_users()],
            exclude_targets: vec![],
            feature_settings: FeatureSettings::default(),
            is_software_oath_enabled: true,
        }
    }
}
