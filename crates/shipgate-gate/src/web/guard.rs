//! The rules every page and ceremony shares: security headers on every
//! answer, the session cookie, the CSRF token and the origin check.
//!
//! A state change (every POST) must come from the gate's own pages: its
//! `Origin` must be the gate's origin, `Sec-Fetch-Site` (when the browser
//! sends it) must say `same-origin`, and a signed-in request must carry the
//! session's CSRF token (header `X-Shipgate-CSRF` from the script, field
//! `csrf` from a form). The cookie is `SameSite=Strict` as well, so a
//! cross-site request arrives without a session anyway; each check alone
//! would be enough, all three are there so one mistake is not a hole.

use axum::http::HeaderMap;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, COOKIE, HeaderName, HeaderValue, ORIGIN,
    REFERRER_POLICY, SET_COOKIE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::response::Response;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::WebError;
use super::passkey::{RelyingParty, b64url};
use crate::api::AppState;
use crate::storage::WebSession;

/// The page's Content-Security-Policy: nothing from elsewhere, no inline
/// script or style, no framing, forms only to the gate.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "shipgate_session";
/// The header the script sends the CSRF token in.
pub const CSRF_HEADER: &str = "x-shipgate-csrf";
/// How long a sign-in lasts.
pub const SESSION_SECONDS: i64 = 12 * 3600;

/// Adds the security headers to every answer of the review pages.
pub async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    // Pages show live state and who is signed in: never cached. Assets set
    // their own long-lived header first.
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A fresh random token (32 bytes, base64url).
pub fn random_token() -> Result<String, WebError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| WebError::internal(format!("no randomness: {e}")))?;
    Ok(b64url(&bytes))
}

/// SHA-256 (hex) of a token: what the database keeps instead of it.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The gate as a relying party, or a page saying why passkeys are off.
pub fn relying_party(state: &AppState) -> Result<RelyingParty, WebError> {
    RelyingParty::from_public_url(state.public_url())
        .map_err(|e| WebError::forbidden(e.to_string()))
}

/// The value of the session cookie, if the request has one.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// The signed-in maintainer, if any: an unexpired session of a maintainer
/// who is still enrolled, not revoked and not locked.
pub async fn session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(String, WebSession)>, WebError> {
    let Some(cookie) = session_cookie(headers) else {
        return Ok(None);
    };
    let hash = token_hash(cookie);
    let Some(session) = state.db().web_session(&hash, crate::unix_now()).await? else {
        return Ok(None);
    };
    let standing = state
        .db()
        .maintainer(&session.maintainer)
        .await?
        .is_some_and(|m| m.revoked_at.is_none() && m.lock_reason.is_none());
    Ok(standing.then_some((hash, session)))
}

/// Refuses a state change that does not come from the gate's own pages.
pub fn same_origin(headers: &HeaderMap, rp: &RelyingParty) -> Result<(), WebError> {
    let origin = headers.get(ORIGIN).and_then(|v| v.to_str().ok());
    if origin != Some(rp.origin()) {
        return Err(WebError::refused(format!(
            "cross-origin request: Origin {origin:?}, expected {:?}",
            rp.origin()
        ))
        .json());
    }
    if let Some(site) = headers.get("sec-fetch-site")
        && site.as_bytes() != b"same-origin"
    {
        return Err(
            WebError::refused(format!("Sec-Fetch-Site is {site:?}, not same-origin")).json(),
        );
    }
    Ok(())
}

/// Checks the CSRF token a signed-in request carries.
pub fn csrf(session: &WebSession, presented: Option<&str>) -> Result<(), WebError> {
    let ok =
        presented.is_some_and(|p| bool::from(p.as_bytes().ct_eq(session.csrf_token.as_bytes())));
    if ok {
        Ok(())
    } else {
        Err(WebError::refused(format!(
            "missing or wrong CSRF token for {}'s session",
            session.maintainer
        )))
    }
}

/// The CSRF token of a script's request.
pub fn csrf_header(headers: &HeaderMap) -> Option<&str> {
    headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok())
}

/// A signed-in request's checks, for the script's POSTs: same origin,
/// a session, its CSRF token. Returns the session.
pub async fn signed_in_post(
    state: &AppState,
    headers: &HeaderMap,
    rp: &RelyingParty,
) -> Result<(String, WebSession), WebError> {
    same_origin(headers, rp)?;
    let (hash, session) = session(state, headers)
        .await?
        .ok_or_else(|| WebError::forbidden("sign in first").json())?;
    csrf(&session, csrf_header(headers)).map_err(WebError::json)?;
    Ok((hash, session))
}

/// The `Set-Cookie` value of a new session. `Secure` is left out only for
/// plain http on `localhost` (a development gate; browsers treat it as a
/// secure context, but a cookie marked Secure would not be sent back over
/// http by every browser).
pub fn session_cookie_header(
    rp: &RelyingParty,
    token: &str,
) -> Result<(HeaderName, HeaderValue), WebError> {
    let secure = !(rp.origin().starts_with("http://") && rp.rp_id() == "localhost");
    let value = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECONDS}{}",
        if secure { "; Secure" } else { "" }
    );
    Ok((
        SET_COOKIE,
        HeaderValue::from_str(&value).map_err(WebError::internal)?,
    ))
}

/// The `Set-Cookie` value that ends a session in the browser.
pub fn cleared_cookie() -> (HeaderName, HeaderValue) {
    (
        SET_COOKIE,
        HeaderValue::from_static("shipgate_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp() -> RelyingParty {
        RelyingParty::from_public_url("https://gate.example.org").unwrap()
    }

    #[test]
    fn only_the_gates_own_origin_may_change_state() {
        let mut headers = HeaderMap::new();
        assert!(same_origin(&headers, &rp()).is_err(), "no Origin");
        headers.insert(ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(same_origin(&headers, &rp()).is_err());
        headers.insert(ORIGIN, HeaderValue::from_static("https://gate.example.org"));
        assert!(same_origin(&headers, &rp()).is_ok());
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(same_origin(&headers, &rp()).is_err());
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&headers, &rp()).is_ok());
    }

    #[test]
    fn csrf_token_must_match_exactly() {
        let session = WebSession {
            maintainer: "alice".into(),
            csrf_token: "abc".into(),
            expires_at: 0,
        };
        assert!(csrf(&session, None).is_err());
        assert!(csrf(&session, Some("ab")).is_err());
        assert!(csrf(&session, Some("abcd")).is_err());
        assert!(csrf(&session, Some("abc")).is_ok());
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; shipgate_session=tok; b=2"),
        );
        assert_eq!(session_cookie(&headers), Some("tok"));
        headers.insert(COOKIE, HeaderValue::from_static("shipgate_session="));
        assert_eq!(session_cookie(&headers), None);
    }

    #[test]
    fn cookies_are_secure_except_on_plain_localhost() {
        let (_, v) = session_cookie_header(&rp(), "t").unwrap();
        let v = v.to_str().unwrap();
        assert!(v.contains("HttpOnly") && v.contains("SameSite=Strict") && v.ends_with("; Secure"));
        let local = RelyingParty::from_public_url("http://localhost:8080").unwrap();
        let (_, v) = session_cookie_header(&local, "t").unwrap();
        assert!(!v.to_str().unwrap().contains("Secure"));
    }
}
