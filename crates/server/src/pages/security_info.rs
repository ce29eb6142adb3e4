//! Security info: the user's passkeys, whether each works and why not, and adding one.

use maud::{html, Markup};
use portcullis_domain::access::PasskeyNeed;
use portcullis_domain::directory::User;
use portcullis_domain::passkey::PasskeyRefusal;
use portcullis_domain::time_fmt::rfc3339;
use portcullis_service::passkeys::{PasskeyView, RegistrationOffer};
use portcullis_service::render::passkey_refusal;

use super::layout;

/// The Security info page.
pub fn page(user: &User, passkeys: &[PasskeyView], offer: &RegistrationOffer) -> Markup {
    layout(
        "Security info",
        html! {
            h1 { "Security info" }
            p.muted { "These are the methods you use to sign in as " strong { (user.user_principal_name) } "." }
            p.notice hidden id="status" role="status" {}
            @if passkeys.is_empty() {
                p id="no-passkeys" { "You have no passkey yet." }
            }
            ul.methods id="passkeys" {
                @for v in passkeys {
                    @let p = &v.stored.passkey;
                    li.method data-passkey=(p.id) {
                        strong { (p.display_name) }
                        div.muted {
                            (v.model.as_deref().unwrap_or("Unknown model")) " · AAGUID " code { (p.aaguid) }
                            // R32: a model name is only a claim unless the attestation signed it.
                            @if p.attested { " (attested)" } @else { span.aaguid-self-reported { " (self-reported)" } }
                        }
                        div.muted {
                            "Added " (rfc3339(p.created_at))
                            " · last used " (p.last_used_at.map(rfc3339).unwrap_or_else(|| "never".into()))
                            @if let Some(d) = &p.device { " · " (d) }
                            @if let Some(pr) = &p.device_profile { " (" (pr) " profile)" }
                        }
                        @match &v.usable {
                            Ok(()) => { div.usable { "Can be used to sign in" } }
                            Err(r) => { div.unusable.notice.error { "Cannot be used to sign in: " (passkey_refusal(r)) } }
                        }
                        form method="post" action={ "/security-info/passkeys/" (p.id) "/delete" } {
                            button.secondary type="submit" { "Delete" }
                        }
                    }
                }
            }
            h2 { "Add sign-in method" }
            @match (&offer.may_add, &offer.conditional_access) {
                (Ok(()), Err(refused)) => { p.notice.error id="ca-refused" { (refused) } }
                (Ok(()), Ok(PasskeyNeed::NoneCan(_))) => {
                    p.notice.error id="no-passkey-would-do" { "Your organisation's sign-in policy needs a method that no passkey provides, so a passkey added here could not sign you in. Ask your administrator." }
                }
                (Ok(()), Ok(need)) => {
                    // R48: offer only what would meet the strength that governs sign-in.
                    @if offer.authenticator_only() {
                        p.muted id="strength-note" { "Your organisation requires a passkey in Microsoft Authenticator." }
                        p { button type="button" id="add-authenticator" data-action="add-passkey" data-kind="authenticator" { "Passkey in Microsoft Authenticator" } }
                    } @else {
                        @if offer.authenticator_option {
                            p { button type="button" id="add-authenticator" data-action="add-passkey" data-kind="authenticator" { "Passkey in Microsoft Authenticator" } }
                        }
                        @if let PasskeyNeed::Models(models) = need {
                            p.muted id="strength-note" {
                                "Your organisation requires a passkey of one of these models (AAGUID): "
                                @for (i, m) in models.iter().enumerate() { @if i > 0 { ", " } code { (m) } }
                            }
                        }
                        p { button type="button" id="add-passkey" data-action="add-passkey" data-kind="generic" { "Security key or passkey" } }
                        @if offer.legacy_flow && matches!(need, PasskeyNeed::Any) {
                            p.muted { "Having trouble? " button.link type="button" id="add-legacy" data-action="add-passkey" data-kind="legacy" { "Try the basic flow" } }
                        }
                    }
                }
                (Err(PasskeyRefusal::StepUpRequired), _) => {
                    p.notice.error id="step-up" { (passkey_refusal(&PasskeyRefusal::StepUpRequired)) }
                    p { a href="/signin" { "Verify your identity" } }
                }
                (Err(r), _) => { p.notice.error id="cannot-add" { (passkey_refusal(r)) } }
            }
            p { a href="/me" { "Back" } }
            script src="/static/portcullis.js" {}
        },
    )
}
