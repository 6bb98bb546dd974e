//! Fetching discovery and JWKS documents: https only (plain http only to a
//! loopback address, for tests and local issuers), checked before any
//! connection is made; timeouts; a response size cap; redirects only to URLs
//! that pass the same check.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::CACHE_CONTROL;
use serde_json::{Map, Value};

use crate::json::parse_object;

/// Largest discovery or JWKS document accepted.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// Freshness assumed when a response has no `Cache-Control: max-age`.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
/// Longest freshness honoured, whatever the server says.
pub const MAX_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// Why the issuer's keys could not be fetched. These are network or
/// configuration problems, not token problems.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The URL is not https (or http to a loopback address), or is malformed.
    #[error("{url}: {reason}")]
    UrlNotAllowed { url: String, reason: &'static str },
    /// Connecting, TLS, timeouts, redirect refused.
    #[error("{url}: request failed: {reason}")]
    Http { url: String, reason: String },
    /// A non-200 answer.
    #[error("{url}: HTTP status {status}")]
    Status { url: String, status: u16 },
    /// The document is larger than the cap.
    #[error("{url}: the response exceeds {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge { url: String },
    /// The document is not what it should be (bad JSON, missing member, ...).
    #[error("{url}: {reason}")]
    BadDocument { url: String, reason: String },
    /// Discovery names another issuer than the one pinned.
    #[error("{url}: the discovery document names issuer {found:?}, not {expected:?}")]
    IssuerMismatch {
        url: String,
        expected: String,
        found: String,
    },
    /// A recent fetch failed; the next attempt is allowed after a pause.
    #[error("the last fetch from {issuer} failed less than {secs}s ago; not retrying yet")]
    Backoff { issuer: String, secs: u64 },
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(String),
}

/// Checks that `url` may be fetched: `https`, or `http` to 127.0.0.0/8 or
/// [::1]; no user info. Host names are not resolved here: `http://localhost`
/// is refused (use `http://127.0.0.1`).
pub fn check_url(url: &str) -> Result<Url, FetchError> {
    let refuse = |reason| FetchError::UrlNotAllowed {
        url: url.to_owned(),
        reason,
    };
    let parsed = Url::parse(url).map_err(|_| refuse("not an absolute URL"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refuse("URLs with user info are refused"));
    }
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(parsed),
        "http" if is_loopback(&parsed) => Ok(parsed),
        "http" => Err(refuse(
            "plain http is allowed only to loopback addresses (127.0.0.0/8, [::1]); use https",
        )),
        _ => Err(refuse("only https URLs are allowed")),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        _ => false,
    }
}

/// The discovery URL of an issuer (OIDC Discovery §4: the issuer without a
/// trailing slash, then `/.well-known/openid-configuration`).
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Timeouts for fetching documents.
#[derive(Debug, Clone, Copy)]
pub struct FetchOptions {
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Time allowed for a whole request.
    pub timeout: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
        }
    }
}

/// A fetched JSON document and how long it may be cached.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The document (an object, without duplicate names).
    pub document: Map<String, Value>,
    /// From `Cache-Control` (default 5 minutes, at most a day, 0 for
    /// `no-store`/`no-cache`).
    pub max_age: Duration,
}

/// An HTTP client for discovery and JWKS documents.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
}

impl Fetcher {
    /// Builds a client. Redirects are followed (at most 3) only to URLs that
    /// pass [`check_url`].
    pub fn new(options: FetchOptions) -> Result<Fetcher, FetchError> {
        let policy = reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= 3 {
                attempt.error("too many redirects")
            } else if check_url(attempt.url().as_str()).is_err() {
                attempt.error("redirect to a URL that is not https (or http to loopback)")
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.timeout)
            .redirect(policy)
            .user_agent(concat!("shipgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| FetchError::Client(err.to_string()))?;
        Ok(Fetcher { client })
    }

    /// GETs `url` (checked first) and parses the body as a strict JSON object.
    pub async fn get_json(&self, url: &str) -> Result<Fetched, FetchError> {
        let checked = check_url(url)?;
        let http = |err: reqwest::Error| FetchError::Http {
            url: url.to_owned(),
            reason: error_chain(&err),
        };
        let mut response = self
            .client
            .get(checked)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(http)?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(FetchError::Status {
                url: url.to_owned(),
                status: response.status().as_u16(),
            });
        }
        if response
            .content_length()
            .is_some_and(|len| len > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(FetchError::TooLarge {
                url: url.to_owned(),
            });
        }
        let max_age = response
            .headers()
            .get_all(CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .fold(None, |acc, v| acc.or(parse_max_age(v)))
            .unwrap_or(DEFAULT_MAX_AGE)
            .min(MAX_MAX_AGE);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(http)? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(FetchError::TooLarge {
                    url: url.to_owned(),
                });
            }
            body.extend_from_slice(&chunk);
        }
        let document = parse_object(&body).map_err(|err| FetchError::BadDocument {
            url: url.to_owned(),
            reason: err.to_string(),
        })?;
        Ok(Fetched { document, max_age })
    }
}

/// `max-age=N` from one Cache-Control header value; `no-store` and
/// `no-cache` mean 0.
pub fn parse_max_age(value: &str) -> Option<Duration> {
    let mut found = None;
    for directive in value.split(',') {
        let directive = directive.trim();
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(secs) = lower.strip_prefix("max-age=") {
            found = secs
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    found
}

/// The causes of an error on one line. reqwest's own message only says
/// "error sending request for url (...)", repeating the URL we already
/// print; the causes say what happened (connection refused, timeout, TLS).
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut causes = Vec::new();
    let mut source = err.source();
    while let Some(inner) = source {
        causes.push(inner.to_string());
        source = inner.source();
    }
    if causes.is_empty() {
        err.to_string()
    } else {
        causes.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{FetchError, FetchOptions, Fetcher, check_url, discovery_url, parse_max_age};

    #[test]
    fn only_https_or_loopback_http() {
        for ok in [
            "https://token.actions.githubusercontent.com",
            "http://127.0.0.1:8080",
            "http://127.1.2.3/x",
            "http://[::1]:9000/issuer",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for refused in [
            "http://example.com",
            "http://localhost:8080",
            "http://10.0.0.1",
            "http://[::2]",
            "http://0.0.0.0",
            "ftp://example.com",
            "file:///etc/passwd",
            "https://user:pw@example.com",
            "example.com",
            "",
        ] {
            assert!(
                matches!(check_url(refused), Err(FetchError::UrlNotAllowed { .. })),
                "{refused}"
            );
        }
    }

    #[tokio::test]
    async fn plain_http_to_a_remote_host_is_refused_before_connecting() {
        // No network here: had a connection been attempted, the error would
        // be `Http` (DNS/connect failure), not `UrlNotAllowed`.
        let fetcher = Fetcher::new(FetchOptions::default()).unwrap();
        let err = fetcher
            .get_json("http://example.com/.well-known/openid-configuration")
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::UrlNotAllowed { .. }), "{err}");
    }

    #[test]
    fn discovery_url_drops_a_trailing_slash() {
        assert_eq!(
            discovery_url("https://a.example/tenant/"),
            "https://a.example/tenant/.well-known/openid-configuration"
        );
    }

    #[test]
    fn cache_control() {
        assert_eq!(
            parse_max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(parse_max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(
            parse_max_age("private, No-Cache, max-age=60"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_max_age("public"), None);
        assert_eq!(parse_max_age("max-age=abc"), None);
    }
}
