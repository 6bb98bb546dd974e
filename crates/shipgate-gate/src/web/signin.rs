//! Signing in with a passkey: `GET /signin` (the form), `POST
//! /signin/options` (a random challenge for the named maintainer's
//! credentials), `POST /signin/finish` (the assertion; sets the session
//! cookie) and `POST /signout`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use serde_json::{Value, json};
use webauthn_rs::prelude::PublicKeyCredential;

use super::WebError;
use super::guard::{self, random_token, token_hash};
use super::layout;
use super::passkey::b64url;
use crate::api::AppState;
use crate::storage::{Ceremony, WebSession};

/// How long the browser has to answer a challenge.
pub const CEREMONY_SECONDS: i64 = 300;

/// `GET /signin`.
pub async fn page() -> Html<String> {
    layout::page(
        "Sign in",
        None,
        html! {
            h1 { "Maintainer sign-in" }
            p class="without-script" { "Signing in uses your passkey through the browser's WebAuthn interface, which needs JavaScript. Reading the release pages does not." }
            form id="signin" class="needs-script" hidden data-next="/" {
                label for="maintainer" { "Maintainer name" }
                input id="maintainer" name="maintainer" type="text" autocomplete="username webauthn" required maxlength="64";
                p { button type="submit" { "Sign in with passkey" } }
            }
        },
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionsBody {
    maintainer: String,
}

/// The body of every ceremony's finish: which ceremony, and the assertion.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinishBody {
    /// The ceremony id the options came with.
    pub ceremony: String,
    /// The browser's assertion.
    pub credential: PublicKeyCredential,
}

/// Parses a JSON body, with one line saying what is wrong.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, WebError> {
    serde_json::from_slice(body).map_err(|e| WebError::bad_request(format!("{what}: {e}")).json())
}

fn no_passkey() -> WebError {
    WebError::forbidden("no usable passkey for this maintainer").json()
}

/// `POST /signin/options`.
pub async fn options(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, WebError> {
    let rp = guard::relying_party(&state).map_err(WebError::json)?;
    guard::same_origin(&headers, &rp)?;
    let OptionsBody { maintainer } = parse_json(&body, "sign-in request")?;
    if shipgate_protocol::names::maintainer(&maintainer).is_err() {
        return Err(no_passkey());
    }
    let standing = state
        .db()
        .maintainer(&maintainer)
        .await?
        .is_some_and(|m| m.revoked_at.is_none() && m.lock_reason.is_none());
    let credentials = state.db().active_passkeys(&maintainer).await?;
    if !standing || credentials.is_empty() {
        return Err(no_passkey());
    }
    let mut challenge = [0u8; 32];
    getrandom::fill(&mut challenge).map_err(|e| WebError::internal(e).json())?;
    let options = rp
        .request_options(&credentials, &challenge)
        .map_err(|e| WebError::internal(e).json())?;
    let now = crate::unix_now();
    let ceremony = Ceremony {
        id: random_token()?,
        purpose: "signin".into(),
        maintainer,
        state: b64url(&challenge),
        release_id: None,
        decision: None,
        reason: None,
        manifest_sha256: None,
        nonce: None,
        origin: None,
        expires_at: now + CEREMONY_SECONDS,
    };
    let mut tx = state.db().begin_write().await?;
    tx.start_ceremony(&ceremony, now).await?;
    tx.commit().await?;
    Ok(Json(json!({ "ceremony": ceremony.id, "options": options })))
}

/// `POST /signin/finish`.
pub async fn finish(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let rp = guard::relying_party(&state).map_err(WebError::json)?;
    guard::same_origin(&headers, &rp)?;
    let FinishBody {
        ceremony,
        credential,
    } = parse_json(&body, "sign-in answer")?;
    let now = crate::unix_now();
    let mut tx = state.db().begin_write().await?;
    let ceremony = tx
        .take_ceremony(&ceremony, now)
        .await?
        .filter(|c| c.purpose == "signin")
        .ok_or_else(|| {
            WebError::refused("sign-in answer to an unknown or expired challenge").json()
        })?;
    // The challenge is used up whatever happens next.
    tx.commit().await?;
    let mut tx = state.db().begin_write().await?;
    let standing = tx
        .maintainer(&ceremony.maintainer)
        .await?
        .is_some_and(|m| m.revoked_at.is_none() && m.lock_reason.is_none());
    let credentials = tx.active_passkeys(&ceremony.maintainer).await?;
    if !standing {
        return Err(WebError::refused(format!("{} may not sign in", ceremony.maintainer)).json());
    }
    let challenge = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        &ceremony.state,
    )
    .map_err(|_| WebError::internal("stored sign-in challenge is not base64url").json())?;
    let verified = rp
        .verify(&credentials, &challenge, &credential)
        .map_err(|e| {
            WebError::refused(format!("sign-in of {}: {e}", ceremony.maintainer)).json()
        })?;
    tx.passkey_used(
        &verified.credential_id,
        &verified.passkey,
        i64::from(verified.counter),
    )
    .await?;
    let token = random_token()?;
    let session = WebSession {
        maintainer: ceremony.maintainer.clone(),
        csrf_token: random_token()?,
        expires_at: now + guard::SESSION_SECONDS,
    };
    tx.create_web_session(&token_hash(&token), &session, now)
        .await?;
    tx.commit().await?;
    tracing::info!(maintainer = ceremony.maintainer, "signed in with a passkey");
    let cookie = guard::session_cookie_header(&rp, &token)?;
    Ok(([cookie], Json(json!({ "maintainer": ceremony.maintainer }))).into_response())
}

/// `POST /signout` (a form with the CSRF token).
pub async fn signout(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let rp = guard::relying_party(&state)?;
    guard::same_origin(&headers, &rp)?;
    let csrf = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.into_owned());
    if let Some((hash, session)) = guard::session(&state, &headers).await? {
        guard::csrf(&session, csrf.as_deref())?;
        let mut tx = state.db().begin_write().await?;
        tx.end_web_session(&hash).await?;
        tx.commit().await?;
    }
    Ok((
        StatusCode::SEE_OTHER,
        [
            guard::cleared_cookie(),
            (LOCATION, axum::http::HeaderValue::from_static("/")),
        ],
    )
        .into_response())
}
