//! The password and the authenticator app in words (issue 17): refusals of a password sign-in
//! and of adding an app, for the pages, the sign-in log and the API.

use portcullis_domain::oath::EnrolRefusal;
use portcullis_domain::password::PasswordRefusal;
use portcullis_domain::policy::ScopeMiss;
use portcullis_domain::time_fmt::rfc3339;

use super::INVALID_CREDENTIALS;

/// Why a password sign-in was refused. An unknown user, a user without a password and a
/// wrong password read alike.
pub fn password_refusal(r: &PasswordRefusal) -> String {
    match r {
        PasswordRefusal::MalformedUsername => {
            "Enter your username as name@domain, for example alice@contoso.com.".into()
        }
        PasswordRefusal::UnknownUser
        | PasswordRefusal::NoPassword
        | PasswordRefusal::WrongPassword => INVALID_CREDENTIALS.into(),
        PasswordRefusal::AccountDisabled => {
            "Your account has been disabled. Contact your administrator.".into()
        }
        PasswordRefusal::LockedOut { until } => {
            format!("Too many wrong attempts. Try again after {}.", rfc3339(*until))
        }
        PasswordRefusal::SecondStepExpired => {
            "This sign-in took too long. Enter your username and password again.".into()
        }
        PasswordRefusal::WrongCode => {
            "That code is not correct. Enter the code your authenticator app shows now.".into()
        }
        PasswordRefusal::PushDenied => "The request was denied in Microsoft Authenticator. If you did not start this sign-in, tell your administrator: someone may know your password.".into(),
        PasswordRefusal::PushWrongNumber => "The number entered in Microsoft Authenticator was not the one shown here, so the request was denied. Sign in again and enter the number this page shows.".into(),
        PasswordRefusal::PushTimedOut => "Microsoft Authenticator did not answer in time. Sign in again, and approve the request in the app.".into(),
        PasswordRefusal::PushThrottled { until } => format!("Your phone has received as many Microsoft Authenticator requests as it may in {} minutes, so no more are sent until {}. If you did not try to sign in that often, someone may know your password: change it, and tell your administrator.", portcullis_domain::push::FLOOD_WINDOW.whole_minutes(), rfc3339(*until)),
        PasswordRefusal::SecondFactorRequired => "Your account has a stronger way to sign in (a passkey, a Temporary Access Pass or an authenticator app your organisation no longer allows): a password alone is not enough. Sign in with your passkey or a Temporary Access Pass.".into(),
        PasswordRefusal::CodeAlreadyUsed => "That code was already used: each code works once. Wait for your authenticator app to show the next code, then enter it.".into(),
    }
}

/// Why an authenticator app cannot be added now.
pub fn oath_enrol_refusal(r: &EnrolRefusal) -> String {
    match r {
        EnrolRefusal::MethodDisabled => "Authenticator app codes are turned off in this organisation's authentication methods policy.".into(),
        EnrolRefusal::NotInScope(miss) => format!(
            "Authenticator app codes are not enabled for your account (you are {}). Ask your administrator.",
            match miss {
                ScopeMiss::Excluded => "excluded from the software OATH policy",
                ScopeMiss::NotIncluded => "not in a group the software OATH policy includes",
            }
        ),
        EnrolRefusal::AlreadyRegistered => "You already have an authenticator app. Delete it first to set up another.".into(),
        EnrolRefusal::StepUpRequired => "To add a sign-in method, first sign in again with a method that proves two factors (a passkey, a Temporary Access Pass, or your password with your authenticator app).".into(),
    }
}
