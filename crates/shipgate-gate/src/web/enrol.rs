//! Registering a passkey by a one-time link (`shipgate admin enroll NAME
//! --passkey` prints it): `GET /enrol/{token}` shows the page, the script
//! asks `POST /enrol/{token}/options` for the browser's options and hands
//! the new credential to `POST /enrol/{token}/finish`. The gate stores the
//! credential and logs a `passkey_enrolled` leaf; the operator who printed
//! the link never sees a credential. A link is short-lived and works once.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Html;
use maud::html;
use serde_json::{Value, json};
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use super::WebError;
use super::guard::{self, token_hash};
use super::layout;
use crate::api::AppState;

/// How long an enrolment link works.
pub const LINK_SECONDS: i64 = 3600;

/// The link's token from the path: base64url, at most 64 characters.
fn link_token(path: Result<Path<String>, PathRejection>) -> Result<String, WebError> {
    let Path(token) = path.map_err(|e| WebError::bad_request(e.body_text()))?;
    let shaped = !token.is_empty()
        && token.len() <= 64
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if shaped {
        Ok(token)
    } else {
        Err(WebError::not_found(
            "this enrolment link is unknown, expired or already used",
        ))
    }
}

fn dead_link() -> WebError {
    WebError::not_found(
        "this enrolment link is unknown, expired or already used; ask the gate's operator for a new one",
    )
}

/// `GET /enrol/{token}`.
pub async fn page(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Html<String>, WebError> {
    let token = link_token(path)?;
    let maintainer = state
        .db()
        .enrolment_link(&token_hash(&token), crate::unix_now())
        .await?
        .ok_or_else(dead_link)?;
    Ok(layout::page(
        "Register a passkey",
        None,
        html! {
            h1 { "Register a passkey" }
            p { "This link registers a passkey for maintainer " strong { (maintainer) } " on this gate. It works once." }
            p class="without-script" { "Registering a passkey needs JavaScript (the browser's WebAuthn interface)." }
            form id="enrol" class="needs-script" hidden data-endpoint={ "/enrol/" (token) } {
                button type="submit" { "Create passkey" }
            }
        },
    ))
}

/// `POST /enrol/{token}/options`: the browser's registration options.
pub async fn options(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Json<Value>, WebError> {
    let rp = guard::relying_party(&state).map_err(WebError::json)?;
    guard::same_origin(&headers, &rp)?;
    let token = link_token(path).map_err(WebError::json)?;
    let hash = token_hash(&token);
    let now = crate::unix_now();
    let maintainer = state
        .db()
        .enrolment_link(&hash, now)
        .await?
        .ok_or_else(|| dead_link().json())?;
    let existing = state.db().active_passkeys(&maintainer).await?;
    let (options, registration) = rp
        .start_registration(&maintainer, &existing)
        .map_err(|e| WebError::internal(e).json())?;
    let mut tx = state.db().begin_write().await?;
    if !tx
        .set_enrolment_registration(&hash, &registration, now)
        .await?
    {
        return Err(dead_link().json());
    }
    tx.commit().await?;
    Ok(Json(json!({ "options": options })))
}

/// `POST /enrol/{token}/finish`: stores the new credential.
pub async fn finish(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, WebError> {
    let rp = guard::relying_party(&state).map_err(WebError::json)?;
    guard::same_origin(&headers, &rp)?;
    let token = link_token(path).map_err(WebError::json)?;
    let response: RegisterPublicKeyCredential = serde_json::from_slice(&body)
        .map_err(|e| WebError::bad_request(format!("registration response: {e}")).json())?;
    let now = crate::unix_now();
    let mut tx = state.db().begin_write().await?;
    // Spent by a conditional update: of two answers, one wins. A failed
    // verification below drops the transaction, so the link stays usable.
    let (maintainer, registration) = tx
        .spend_enrolment_link(&token_hash(&token), now)
        .await?
        .ok_or_else(|| dead_link().json())?;
    let record = tx.maintainer(&maintainer).await?;
    if record.is_none_or(|m| m.revoked_at.is_some()) {
        return Err(WebError::refused(format!(
            "enrolment link of {maintainer}, who is no longer enrolled"
        ))
        .json());
    }
    let mut passkey = rp
        .finish_registration(&maintainer, &response, &registration)
        .map_err(|e| WebError::bad_request(format!("the passkey was not accepted: {e}")).json())?;
    passkey.enrolled_at = now;
    if !tx.add_passkey(&passkey, now).await? {
        return Err(WebError::conflict("this passkey is already registered").json());
    }
    tx.commit().await?;
    tracing::info!(
        maintainer,
        credential_id = passkey.credential_id,
        "passkey registered"
    );
    Ok(Json(json!({
        "maintainer": maintainer,
        "credential_id": passkey.credential_id,
    })))
}
