//! The review pages at `/`: packages and releases for everyone who can
//! reach the gate, and, for maintainers signed in with a passkey, staged
//! files and decisions.
//!
//! A module of the gate rather than its own crate: the pages read the
//! gate's storage, config and decision path directly, and a separate crate
//! would have to import the gate (dependencies point down; nothing below
//! may import the gate), so it would only move code, not separate it.
//!
//! One file per page or flow: [`index`] (packages and releases),
//! [`release`] (one release), [`files`] (staged downloads), [`enrol`]
//! (registering a passkey by a one-time link), [`signin`] (sessions),
//! [`decide`] (approving or rejecting with a passkey). [`guard`] holds the
//! security rules every route shares: headers, the session cookie, CSRF and
//! the origin check.
//!
//! Server-rendered with maud (which escapes every interpolated string), no
//! external assets: the CSS and the one script (WebAuthn only) are embedded
//! and served from `/assets/` under a name that carries their digest, so
//! they can be cached for a year. The pages are readable without script.

mod assets;
mod decide;
mod enrol;
mod error;
mod files;
pub mod guard;
mod index;
mod layout;
pub mod passkey;
mod release;
mod signin;

use axum::Router;
use axum::routing::{get, post};

use crate::api::AppState;

pub use enrol::LINK_SECONDS as ENROLMENT_LINK_SECONDS;
pub use error::WebError;

/// Adds the review pages to the gate's router.
pub fn routes(router: Router<AppState>) -> Router<AppState> {
    let pages = Router::new()
        .route("/", get(index::page))
        .route("/releases/{id}", get(release::page))
        .route("/releases/{id}/files/{file}", get(files::download))
        .route("/releases/{id}/decision/options", post(decide::options))
        .route("/releases/{id}/decision/finish", post(decide::finish))
        .route("/enrol/{token}", get(enrol::page))
        .route("/enrol/{token}/options", post(enrol::options))
        .route("/enrol/{token}/finish", post(enrol::finish))
        .route("/signin", get(signin::page))
        .route("/signin/options", post(signin::options))
        .route("/signin/finish", post(signin::finish))
        .route("/signout", post(signin::signout))
        .route("/assets/{name}", get(assets::serve))
        .layer(axum::middleware::map_response(guard::security_headers));
    router.merge(pages)
}
