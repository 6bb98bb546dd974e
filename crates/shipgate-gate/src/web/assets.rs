//! The CSS and the script, embedded in the binary and served under names
//! that carry a digest of their content (`style-1a2b3c4d.css`), so a
//! browser may keep them for a year and a new gate's files get new names.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::WebError;

const STYLE: &str = include_str!("assets/style.css");
const SCRIPT: &str = include_str!("assets/passkey.js");

struct Asset {
    name: String,
    body: &'static str,
    content_type: &'static str,
}

fn asset(stem: &str, ext: &str, body: &'static str, content_type: &'static str) -> Asset {
    let digest = hex::encode(Sha256::digest(body.as_bytes()));
    Asset {
        name: format!("{stem}-{}.{ext}", &digest[..12]),
        body,
        content_type,
    }
}

static ASSETS: LazyLock<[Asset; 2]> = LazyLock::new(|| {
    [
        asset("style", "css", STYLE, "text/css; charset=utf-8"),
        asset("passkey", "js", SCRIPT, "text/javascript; charset=utf-8"),
    ]
});

/// The stylesheet's path.
pub fn style_path() -> String {
    format!("/assets/{}", ASSETS[0].name)
}

/// The script's path.
pub fn script_path() -> String {
    format!("/assets/{}", ASSETS[1].name)
}

/// `GET /assets/{name}`.
pub async fn serve(Path(name): Path<String>) -> Result<Response, WebError> {
    let found = ASSETS
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| WebError::not_found("no such asset"))?;
    Ok((
        [
            (CONTENT_TYPE, found.content_type),
            (CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        found.body,
    )
        .into_response())
}
