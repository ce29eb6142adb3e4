//! R55: the registration campaign's interrupt page after sign-in.

use maud::{html, Markup};
use portcullis_domain::policy::campaign::{Nudge, SnoozesLeft, ALLOWED_SNOOZES};

use super::layout;

/// The interrupt: why the user is here, the way to Security info, and "Not now" while the
/// campaign allows it. `back` is the (vetted) page to continue to; `snooze_days` how long
/// "Not now" lasts.
pub fn interrupt_page(nudge: &Nudge, back: &str, snooze_days: u8) -> Markup {
    let Nudge::Interrupt {
        method,
        snoozes_left,
    } = nudge
    else {
        return layout(
            "Continue",
            html! { p { a href=(back) id="continue" { "Continue" } } },
        );
    };
    let later = match snooze_days {
        0 => "We will ask again the next time you sign in.".to_string(),
        1 => "We will ask again in a day.".to_string(),
        d => format!("We will ask again in {d} days."),
    };
    let mut again = url::form_urlencoded::Serializer::new(String::new());
    again.append_pair("return_to", back);
    layout(
        "Protect your account",
        html! {
            h1 id="campaign" data-code=(nudge.code()) { "Protect your account with " (method.label()) }
            p { "Your organisation asks everyone to sign in with " (method.label()) " instead of a one-time code. A passkey cannot be phished, and signing in with it takes a fingerprint, a face or a PIN." }
            @match snoozes_left {
                SnoozesLeft::None => {
                    p.notice.error id="required" role="alert" { "You have postponed this " (ALLOWED_SNOOZES) " times, the most your organisation allows: add one now to continue." }
                }
                SnoozesLeft::Some(n) => {
                    p.notice id="snoozes-left" { "You can postpone this " (n) " more " (if *n == 1 { "time" } else { "times" }) "; after that, adding one is required." }
                }
                SnoozesLeft::Unlimited => {}
            }
            p { a.button href="/security-info" id="set-up" { "Add a passkey in Security info" } }
            p { a href={ "/registration-campaign?" (again.finish()) } id="added" { "I have added one: continue" } }
            @if *snoozes_left != SnoozesLeft::None {
                form method="post" action="/registration-campaign/snooze" {
                    input type="hidden" name="return_to" value=(back);
                    button.link type="submit" id="not-now" { "Not now" }
                }
                p.muted { (later) }
            }
            form method="post" action="/signout" { button.link type="submit" id="signout" { "Sign out" } }
        },
    )
}
