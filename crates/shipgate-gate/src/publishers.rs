//! Trusted publishers: checks a CI token against a package's bindings.
//! (Wired to shipgate-oidc once that crate lands on main; until then every
//! token is refused — fail closed.)

use axum::Router;

use crate::api::AppState;
use crate::config::PackageConfig;
use crate::storage::{Db, Provenance};

/// Verifies CI tokens for staging.
#[derive(Debug, Default)]
pub struct PublisherAuth {}

impl PublisherAuth {
    /// Checks `token` against the bindings of `package`; the reason on refusal
    /// is for the log only.
    pub async fn authorize(
        &self,
        _token: &str,
        package: &PackageConfig,
        _db: &Db,
    ) -> Result<Provenance, String> {
        Err(format!(
            "CI token verification is not wired yet (package {})",
            package.name
        ))
    }
}

/// Adds the dev issuer's discovery and JWKS routes when configured.
pub fn dev_issuer_routes(router: Router<AppState>, _state: &AppState) -> Router<AppState> {
    router
}
