//! The software OATH (authenticator app code, TOTP) method configuration
//! (`softwareOathAuthenticationMethodConfiguration`, issue 17).

use serde::{Deserialize, Serialize};

use super::{ExcludeTarget, IncludeTarget, MethodState};

/// `softwareOathAuthenticationMethodConfiguration`: who may add and use an authenticator
/// app's codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SoftwareOathConfiguration {
    /// Whether the method is enabled.
    pub state: MethodState,
    /// Who may register and use it.
    pub include_targets: Vec<IncludeTarget>,
    /// Who may not (wins over include).
    #[serde(default)]
    pub exclude_targets: Vec<ExcludeTarget>,
}

impl Default for SoftwareOathConfiguration {
    /// Graph's defaults: disabled, for all users.
    fn default() -> Self {
        SoftwareOathConfiguration {
            state: MethodState::Disabled,
            include_targets: vec![IncludeTarget::all_users()],
            exclude_targets: vec![],
        }
    }
}
