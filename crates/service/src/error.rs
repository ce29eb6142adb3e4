//! The services' typed errors; the HTTP edge and the CLI map them once.

use portcullis_domain::actor::MethodAdminDenied;
use portcullis_domain::directory::UpnError;
use portcullis_domain::policy::PolicyError;
use portcullis_domain::tap::IssueError;
use portcullis_store::StoreError;

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The named object does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed or breaks a rule; nothing was changed.
    #[error("{0}")]
    Invalid(String),
    /// The object already exists.
    #[error("{0}")]
    Conflict(String),
    /// A userPrincipalName was refused.
    #[error(transparent)]
    Upn(#[from] UpnError),
    /// A display name was refused.
    #[error(transparent)]
    DisplayName(#[from] portcullis_domain::directory::DisplayNameError),
    /// An address range was refused.
    #[error(transparent)]
    Cidr(#[from] portcullis_domain::conditional_access::location::CidrError),
    /// A date-time was refused.
    #[error(transparent)]
    Time(#[from] portcullis_domain::time_fmt::NotRfc3339),
    /// A redirect URI was refused.
    #[error(transparent)]
    RedirectUri(#[from] portcullis_domain::application::RedirectUriError),
    /// Custom security attributes were refused.
    #[error(transparent)]
    Attributes(#[from] portcullis_domain::application::AttributeError),
    /// Device properties were refused.
    #[error(transparent)]
    Device(#[from] portcullis_domain::device::DeviceError),
    /// A strength's combinations were refused (R31).
    #[error(transparent)]
    Combination(#[from] portcullis_domain::strength::CombinationError),
    /// The object changed after the change to it was prepared (a lost update refused).
    #[error("Someone changed these settings after you opened them (the audit log says who and what). Nothing was saved: open them again to see that change, then make yours.")]
    Stale,
    /// R5: the change makes key restrictions an enforced allow list with no AAGUID on it.
    #[error("Key restrictions of {} would be an enforced allow list with no AAGUID on it: every passkey would be refused, at registration and at sign-in, for everyone they apply to (R5). Add the models to allow, switch enforcement off, or confirm this consequence explicitly (Graph: ?acceptEmptyAllowList=true; CLI: --accept-empty-allow-list).", rulesets.join(" and "))]
    EmptyAllowList {
        /// The rulesets concerned, in words.
        rulesets: Vec<String>,
    },
    /// R45: saving the policy would block every enabled Global Administrator.
    #[error("R45: saving '{policy}' would block every enabled Global Administrator ({}) from signing in. Exclude a break-glass account or a role, or save again accepting the lock-out explicitly.", admins.join(", "))]
    Lockout {
        /// The policy's name.
        policy: String,
        /// The administrators it would lock out.
        admins: Vec<String>,
    },
    /// A strength document was refused (R31).
    #[error(transparent)]
    Strength(#[from] portcullis_domain::strength::StrengthDocumentError),
    /// A Conditional Access policy was refused (graph-api.md §5).
    #[error(transparent)]
    CaPolicy(#[from] portcullis_domain::conditional_access::CaPolicyError),
    /// A policy document was refused (R2, R10 …).
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// A pass cannot be issued as asked (R11).
    #[error(transparent)]
    Issue(#[from] IssueError),
    /// The actor may not do this to that user.
    #[error(transparent)]
    Forbidden(#[from] MethodAdminDenied),
    /// The actor may not touch this application's credentials or grant it this permission.
    #[error(transparent)]
    AppPrivilege(#[from] portcullis_domain::actor::AppPrivilegeDenied),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
    /// Something that is never the caller's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    /// Whether the server failed (the store, or a bug), as opposed to the caller's request.
    pub fn is_server_fault(&self) -> bool {
        matches!(self, ServiceError::Store(_) | ServiceError::Internal(_))
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            // What a client sent, refused by the database: the client's mistake (a 4xx), and
            // the transaction that carried it wrote nothing.
            StoreError::NulInText => ServiceError::Invalid(e.to_string()),
            e => ServiceError::Store(e),
        }
    }
}
