//! The two documents an issuer publishes: OIDC discovery and the JWKS.

use serde_json::{Value, json};

use crate::keydir::KeyRing;

/// Path of the discovery document below the issuer URL.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// Path of the JWKS below the issuer URL.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// The JWKS URL shipgate publishes for `issuer`.
pub fn jwks_url(issuer: &str) -> String {
    format!("{}{JWKS_PATH}", issuer.trim_end_matches('/'))
}

/// The discovery document: `issuer`, `jwks_uri`, and the members OIDC
/// Discovery requires, describing signed ID-token-like JWTs.
pub fn discovery_document(issuer: &str, ring: &KeyRing) -> Value {
    let algs: Vec<&str> = ring.algorithms().iter().map(|a| a.as_str()).collect();
    json!({
        "issuer": issuer,
        "jwks_uri": jwks_url(issuer),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nbf", "jti"],
    })
}

/// Both documents, pretty-printed, newline-terminated: (discovery, JWKS).
pub fn render(issuer: &str, ring: &KeyRing) -> (String, String) {
    let pretty = |v: &Value| {
        let mut text = serde_json::to_string_pretty(v).unwrap_or_default();
        text.push('\n');
        text
    };
    (
        pretty(&discovery_document(issuer, ring)),
        pretty(&ring.jwks()),
    )
}

/// Writes `<out>/.well-known/openid-configuration` and
/// `<out>/.well-known/jwks.json` for static hosting. Each file is replaced
/// atomically (a reader sees the old or the new document, never half).
pub fn publish(
    issuer: &str,
    ring: &KeyRing,
    out: &std::path::Path,
) -> std::io::Result<[std::path::PathBuf; 2]> {
    let dir = out.join(".well-known");
    std::fs::create_dir_all(&dir)?;
    let (discovery, jwks) = render(issuer, ring);
    let discovery_path = dir.join("openid-configuration");
    let jwks_path = dir.join("jwks.json");
    for (path, text) in [(&discovery_path, discovery), (&jwks_path, jwks)] {
        let mut tmp = tempfile::Builder::new()
            .prefix(".publish-")
            .tempfile_in(&dir)?;
        std::io::Write::write_all(&mut tmp, text.as_bytes())?;
        tmp.as_file().sync_all()?;
        // Public documents: readable by the web server.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644))?;
        }
        tmp.persist(path).map_err(|err| err.error)?;
    }
    Ok([discovery_path, jwks_path])
}
