//! The route table: every path the server answers, the methods it answers there, the error
//! shape its clients read and who may use it. The router is built from this table (the
//! [`route_table!`] macro writes both from one list), so a route cannot exist without its
//! entry, and the bad-input test derives its corpus from it.
//!
//! The Graph-compatible API has one entry per version (`/v1.0/{*path}`, `/beta/{*path}`);
//! its own table, with each operation's capability, is [`crate::graph::ROUTES`].

use axum::handler::Handler;
use axum::routing::MethodRouter;

use crate::AppState;

/// Which error shape a route's clients read (SPEC §7: every error in its surface's shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// The Graph-compatible API: `{"error": {"code", "message", "innerError"}}`.
    Graph,
    /// The pages' JSON API and the admin API: `{"error": {"code", "message"}}`.
    Api,
    /// OAuth 2.0 and OpenID Connect: `{"error", "error_description"}`, or for the
    /// front-channel endpoints a page or a redirect to the client.
    OAuth,
    /// Pages: an HTML page that says what went wrong.
    Page,
}

/// Who may use a route; a handler's extractors enforce it, this states it for readers and
/// for the test that tries each route without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Anyone,
    /// A signed-in user (session cookie); others are sent to sign in.
    SignedIn,
    /// A signed-in user holding a directory role; the page or action then asks the
    /// authorization table for its capability.
    Administrator,
    /// A bearer access token whose scopes and roles the authorization table accepts.
    Bearer,
}

/// An HTTP method a route answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// GET (and HEAD).
    Get,
    /// POST.
    Post,
    /// Any method; the handler dispatches (Graph).
    Any,
}

impl Verb {
    /// The method's name on the wire (`*` for any).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Any => "*",
        }
    }

    /// `router` answering this method with `handler` as well.
    pub(crate) fn on<H, T>(
        self,
        router: MethodRouter<AppState>,
        handler: H,
    ) -> MethodRouter<AppState>
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        match self {
            Self::Get => router.get(handler),
            Self::Post => router.post(handler),
            // As `axum::routing::any`: no `Allow` header (the handler answers every method).
            Self::Any => router.merge(axum::routing::any(handler)),
        }
    }
}

/// One route of the table.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// The path pattern in the router's syntax (`{id}` one segment, `{*rest}` the rest).
    pub path: &'static str,
    /// The methods it answers.
    pub verbs: &'static [Verb],
    /// The error shape its clients read.
    pub surface: Surface,
    /// Who may use it.
    pub access: Access,
}

/// Writes a route table and the router built from it, from one list:
/// `"/path" => Surface, Access { Get handler, Post other };`.
macro_rules! route_table {
    (
        $(#[$meta:meta])* $vis:vis const $table:ident;
        $rvis:vis fn $router:ident;
        $( $path:expr => $surface:ident, $access:ident { $( $verb:ident $handler:expr ),+ $(,)? } );* $(;)?
    ) => {
        $(#[$meta])*
        $vis const $table: &[$crate::route_table::Route] = &[
            $( $crate::route_table::Route {
                path: $path,
                verbs: &[ $( $crate::route_table::Verb::$verb ),+ ],
                surface: $crate::route_table::Surface::$surface,
                access: $crate::route_table::Access::$access,
            } ),*
        ];

        /// The router of this table's routes.
        $rvis fn $router() -> axum::Router<$crate::AppState> {
            axum::Router::new()
            $( .route(
                $path,
                axum::routing::MethodRouter::new()
                    $( .pipe(|r| $crate::route_table::Verb::$verb.on(r, $handler)) )+
            ) )*
        }
    };
}
pub(crate) use route_table;

/// Lets the macro chain one `Verb::on` per method onto a `MethodRouter`.
pub(crate) trait Pipe: Sized {
    /// `f(self)`.
    fn pipe(self, f: impl FnOnce(Self) -> Self) -> Self {
        f(self)
    }
}

impl Pipe for MethodRouter<AppState> {}

/// Every route of the server, pages and APIs alike.
pub fn routes() -> impl Iterator<Item = &'static Route> {
    crate::routes::ROUTES.iter().chain(crate::admin::ROUTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_edge_gives_each_route_its_declared_error_shape() {
        for r in routes() {
            let sample = r
                .path
                .replace("{*path}", "users")
                .replace("{tenant}", "common")
                .replace(['{', '}'], "");
            assert_eq!(
                crate::edge::surface(&sample),
                r.surface,
                "{}: the edge shapes its bare errors as another surface",
                r.path
            );
        }
    }

    #[test]
    fn every_path_is_listed_once() {
        let mut seen = std::collections::BTreeSet::new();
        for r in routes() {
            assert!(seen.insert(r.path), "{} is listed twice", r.path);
        }
    }
}
