//! Webhooks in `gate.toml`: `[[webhook]]` (told about every package),
//! `[[package.webhook]]` (one package), the secrets they sign with, and
//! `[webhook_delivery]` (timeouts and retries).
//!
//! A webhook URL may carry a secret of its own (a Slack incoming-webhook
//! URL is one), so messages and logs name a webhook by its origin
//! (`https://hooks.example.org`), never by its whole URL.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::config::GateConfig;
use crate::private_files;

/// What a webhook can be told about: the event kinds of the gate's log
/// that concern one release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WebhookEvent {
    /// CI staged a release; it waits for approval.
    Staged,
    /// A maintainer approved (one of the quorum).
    Approved,
    /// The quorum was met: signed and served.
    Released,
    /// A maintainer rejected it.
    Rejected,
    /// No decision in time (`staged_expiry`).
    Expired,
    /// A registry target published it.
    Published,
    /// A registry target gave up.
    PublishFailed,
    /// A registry target holds other bytes for this version.
    PublishConflict,
}

impl WebhookEvent {
    /// Every event, in the order the documentation lists them.
    pub const ALL: [WebhookEvent; 8] = [
        WebhookEvent::Staged,
        WebhookEvent::Approved,
        WebhookEvent::Released,
        WebhookEvent::Rejected,
        WebhookEvent::Expired,
        WebhookEvent::Published,
        WebhookEvent::PublishFailed,
        WebhookEvent::PublishConflict,
    ];

    /// The event kind as the log writes it (also the `event` field and the
    /// `X-Shipgate-Event` header).
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::Staged => "staged",
            WebhookEvent::Approved => "approved",
            WebhookEvent::Released => "released",
            WebhookEvent::Rejected => "rejected",
            WebhookEvent::Expired => "expired",
            WebhookEvent::Published => "published",
            WebhookEvent::PublishFailed => "publish_failed",
            WebhookEvent::PublishConflict => "publish_conflict",
        }
    }

    /// The webhook event for a log event kind, if webhooks hear of it.
    pub fn from_kind(kind: &str) -> Option<WebhookEvent> {
        Self::ALL.into_iter().find(|e| e.as_str() == kind)
    }
}

/// The body a webhook receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// The shipgate JSON object (with a Slack-compatible `text` field).
    #[default]
    Json,
    /// `{"text": ...}` only, for a Slack (or compatible) incoming webhook.
    Slack,
}

/// One `[[webhook]]` or `[[package.webhook]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST: https, or http to a loopback address.
    pub url: String,
    /// The events this webhook is told about (at least one).
    pub events: Vec<WebhookEvent>,
    /// File holding the HMAC-SHA256 key (mode 0600), resolved against
    /// gate.toml's directory.
    pub secret_file: PathBuf,
    /// `json` (default) or `slack`.
    #[serde(default)]
    pub format: WebhookFormat,
}

impl WebhookConfig {
    /// True when this webhook wants `event`.
    pub fn wants(&self, event: WebhookEvent) -> bool {
        self.events.contains(&event)
    }

    /// Checks one webhook; `Err((field, message))` names the field.
    pub(crate) fn validate(&self) -> Result<(), (&'static str, String)> {
        check_url(&self.url).map_err(|message| ("url", message))?;
        if self.events.is_empty() {
            return Err((
                "events",
                format!(
                    "is empty, so this webhook would never be called; hint: events = [\"staged\", \"released\"] (any of {})",
                    event_names()
                ),
            ));
        }
        for (i, event) in self.events.iter().enumerate() {
            if self.events[..i].contains(event) {
                return Err(("events", format!("{:?} is listed twice", event.as_str())));
            }
        }
        if self.secret_file.as_os_str().is_empty() {
            return Err(("secret_file", "must name a file (mode 0600)".into()));
        }
        Ok(())
    }
}

fn event_names() -> String {
    WebhookEvent::ALL
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// https anywhere, or http to a loopback IP (a receiver on the same host);
/// no credentials in the URL (they would end up in logs).
fn check_url(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a #fragment".into());
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
                Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
                _ => false,
            };
            if loopback {
                Ok(())
            } else {
                Err("must be https (plain http only to a loopback IP such as 127.0.0.1)".into())
            }
        }
        _ => Err("must be an https URL".into()),
    }
}

/// The origin of a webhook URL, for messages and logs (the path may be a
/// secret).
pub fn origin(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(url) => url.origin().ascii_serialization(),
        Err(_) => "<invalid URL>".into(),
    }
}

/// `[webhook_delivery]`: how webhooks are called and retried.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookDeliveryConfig {
    /// Longest time one attempt may take, connect to last byte (default 10 s).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Wait after the first failed attempt, in milliseconds (default 5000);
    /// doubles after each further failure, with random jitter.
    #[serde(default = "default_backoff")]
    pub backoff_ms: u64,
    /// Longest wait between attempts, in milliseconds (default one hour).
    #[serde(default = "default_max_backoff")]
    pub max_backoff_ms: u64,
    /// A delivery not accepted this long after it was queued is given up
    /// (default three days).
    #[serde(default = "default_give_up")]
    pub give_up_after_seconds: u64,
}

fn default_timeout() -> u64 {
    10
}
fn default_backoff() -> u64 {
    5_000
}
fn default_max_backoff() -> u64 {
    3_600_000
}
fn default_give_up() -> u64 {
    3 * 86_400
}

impl Default for WebhookDeliveryConfig {
    fn default() -> Self {
        WebhookDeliveryConfig {
            timeout_seconds: default_timeout(),
            backoff_ms: default_backoff(),
            max_backoff_ms: default_max_backoff(),
            give_up_after_seconds: default_give_up(),
        }
    }
}

impl WebhookDeliveryConfig {
    pub(crate) fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(1..=300).contains(&self.timeout_seconds) {
            return Err(("timeout_seconds", "must be between 1 and 300".into()));
        }
        if self.backoff_ms == 0 {
            return Err(("backoff_ms", "must be at least 1".into()));
        }
        if self.max_backoff_ms < self.backoff_ms {
            return Err(("max_backoff_ms", "must be at least backoff_ms".into()));
        }
        if self.give_up_after_seconds == 0 {
            return Err(("give_up_after_seconds", "must be at least 1".into()));
        }
        Ok(())
    }

    /// The timeout of one attempt.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds.max(1))
    }

    /// The wait after failed attempt number `attempt` (1-based) before
    /// jitter: the backoff doubled per earlier failure, capped.
    pub fn backoff_after(&self, attempt: u32) -> Duration {
        let factor = 1u64 << attempt.saturating_sub(1).min(30);
        Duration::from_millis(
            self.backoff_ms
                .saturating_mul(factor)
                .min(self.max_backoff_ms),
        )
    }

    /// [`backoff_after`](Self::backoff_after) with "equal jitter": half of
    /// it fixed, the other half scaled by `random` in `0.0..=1.0`, so that
    /// receivers coming back from an outage are not hit by every gate at
    /// the same instant.
    pub fn jittered_backoff_after(&self, attempt: u32, random: f64) -> Duration {
        let full = self.backoff_after(attempt);
        let half = full / 2;
        let random = if random.is_nan() {
            0.0
        } else {
            random.clamp(0.0, 1.0)
        };
        half + half.mul_f64(random)
    }
}

/// Checks every webhook of `config`; `Err((field, message))` names the
/// field by its dotted path. A URL is listed once per scope, and never both
/// gate-wide and for a package (its secret would be ambiguous).
pub(crate) fn validate_all(config: &GateConfig) -> Result<(), (String, String)> {
    config
        .webhook_delivery
        .validate()
        .map_err(|(field, message)| (format!("webhook_delivery.{field}"), message))?;
    let mut gate_wide = Vec::new();
    for (i, hook) in config.webhooks.iter().enumerate() {
        hook.validate()
            .map_err(|(field, message)| (format!("webhook[{i}].{field}"), message))?;
        if gate_wide.contains(&hook.url.as_str()) {
            return Err((
                format!("webhook[{i}].url"),
                "is listed twice; list a URL once with all its events".into(),
            ));
        }
        gate_wide.push(hook.url.as_str());
    }
    for (i, package) in config.packages.iter().enumerate() {
        let mut seen = Vec::new();
        for (j, hook) in package.webhooks.iter().enumerate() {
            let at = |field: &str| format!("package[{i}].webhook[{j}].{field}");
            hook.validate()
                .map_err(|(field, message)| (at(field), message))?;
            if seen.contains(&hook.url.as_str()) {
                return Err((
                    at("url"),
                    "is listed twice; list a URL once with all its events".into(),
                ));
            }
            if gate_wide.contains(&hook.url.as_str()) {
                return Err((
                    at("url"),
                    "is also a gate-wide [[webhook]]; list it once".into(),
                ));
            }
            seen.push(hook.url.as_str());
        }
    }
    Ok(())
}

/// The webhooks that hear about `package`: its own, then the gate-wide
/// ones, each with its scope (`Some(package)` or `None`).
pub fn webhooks_for<'a>(
    config: &'a GateConfig,
    package: &str,
) -> Vec<(Option<&'a str>, &'a WebhookConfig)> {
    let own = config
        .package(package)
        .into_iter()
        .flat_map(|p| p.webhooks.iter().map(move |h| (Some(p.name.as_str()), h)));
    own.chain(config.webhooks.iter().map(|h| (None, h)))
        .collect()
}

/// Shortest accepted webhook secret, in bytes.
pub const MIN_SECRET_LEN: usize = 16;
/// Longest accepted webhook secret file, in bytes.
pub const MAX_SECRET_LEN: usize = 4096;

/// Why a webhook secret could not be loaded at start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookSecretError {
    /// The file is open to other users, missing or unreadable.
    #[error("webhook secret for {origin}: {source}")]
    File {
        /// The webhook's origin.
        origin: String,
        /// What is wrong with the file.
        source: private_files::PrivateFileError,
    },
    /// The file's content cannot be a key.
    #[error("webhook secret for {origin}: {path}: {message}")]
    Content {
        /// The webhook's origin.
        origin: String,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
}

/// Every webhook's key, loaded once at start. `Debug` shows no key.
#[derive(Clone, Default)]
pub struct WebhookSecrets {
    by_hook: BTreeMap<(Option<String>, String), Vec<u8>>,
}

impl std::fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebhookSecrets({} keys, <redacted>)", self.by_hook.len())
    }
}

impl WebhookSecrets {
    /// Reads every webhook's secret file: it must be mode 0600 and hold at
    /// least 16 bytes (surrounding whitespace, such as a final newline, is
    /// not part of the key).
    pub fn load(config: &GateConfig) -> Result<Self, WebhookSecretError> {
        let mut by_hook = BTreeMap::new();
        let scoped = config.webhooks.iter().map(|h| (None, h)).chain(
            config
                .packages
                .iter()
                .flat_map(|p| p.webhooks.iter().map(move |h| (Some(p.name.clone()), h))),
        );
        for (scope, hook) in scoped {
            let path = config.base_dir.join(&hook.secret_file);
            let key = read_secret(&path, &origin(&hook.url))?;
            by_hook.insert((scope, hook.url.clone()), key);
        }
        Ok(WebhookSecrets { by_hook })
    }

    /// The key of the webhook `url` in `scope` (a package, or gate-wide).
    pub fn get(&self, scope: Option<&str>, url: &str) -> Option<&[u8]> {
        self.by_hook
            .get(&(scope.map(str::to_owned), url.to_owned()))
            .map(Vec::as_slice)
    }
}

fn read_secret(path: &Path, origin: &str) -> Result<Vec<u8>, WebhookSecretError> {
    let file_error = |source| WebhookSecretError::File {
        origin: origin.to_owned(),
        source,
    };
    private_files::check_private_file(path, "webhook secret file").map_err(file_error)?;
    let content = |message: &str| WebhookSecretError::Content {
        origin: origin.to_owned(),
        path: path.to_owned(),
        message: message.to_owned(),
    };
    let len = std::fs::metadata(path)
        .map_err(|source| {
            file_error(private_files::PrivateFileError::Io {
                what: "webhook secret file",
                path: path.to_owned(),
                source,
            })
        })?
        .len();
    if len > MAX_SECRET_LEN as u64 {
        return Err(content("is larger than 4096 bytes; it should hold one key"));
    }
    let bytes = std::fs::read(path).map_err(|source| {
        file_error(private_files::PrivateFileError::Io {
            what: "webhook secret file",
            path: path.to_owned(),
            source,
        })
    })?;
    let key = bytes.trim_ascii();
    if key.len() < MIN_SECRET_LEN {
        return Err(content(
            "holds fewer than 16 bytes; hint: openssl rand -hex 32 > FILE && chmod 600 FILE",
        ));
    }
    Ok(key.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(text: &str) -> Result<WebhookConfig, toml::de::Error> {
        toml::from_str(text)
    }

    const GOOD: &str = "url = \"https://hooks.example.org/T1/B2/secret\"\nevents = [\"staged\"]\nsecret_file = \"s\"";

    #[test]
    fn urls_are_https_or_loopback_http() {
        for good in [
            "https://hooks.example.org/x",
            "http://127.0.0.1:8080/hook",
            "http://127.9.9.9/",
            "http://[::1]:9/",
        ] {
            let h = hook(&GOOD.replace("https://hooks.example.org/T1/B2/secret", good)).unwrap();
            assert!(h.validate().is_ok(), "{good}");
        }
        for bad in [
            "http://hooks.example.org/x",
            "http://localhost/x",
            "http://10.0.0.1/x",
            "ftp://127.0.0.1/x",
            "https://user:pw@hooks.example.org/",
            "https://hooks.example.org/#x",
            "hooks.example.org/x",
            "",
        ] {
            let h = hook(&GOOD.replace("https://hooks.example.org/T1/B2/secret", bad)).unwrap();
            assert_eq!(h.validate().unwrap_err().0, "url", "{bad}");
        }
    }

    #[test]
    fn events_are_known_non_empty_and_unique() {
        let h = hook(&GOOD.replace(
            "[\"staged\"]",
            "[\"staged\", \"publish_failed\", \"publish_conflict\", \"expired\"]",
        ))
        .unwrap();
        assert!(h.wants(WebhookEvent::PublishFailed));
        assert!(!h.wants(WebhookEvent::Released));
        let err = hook(&GOOD.replace("[\"staged\"]", "[\"stagged\"]")).unwrap_err();
        assert!(err.to_string().contains("stagged"), "{err}");
        let h = hook(&GOOD.replace("[\"staged\"]", "[]")).unwrap();
        assert_eq!(h.validate().unwrap_err().0, "events");
        let h = hook(&GOOD.replace("[\"staged\"]", "[\"staged\", \"staged\"]")).unwrap();
        assert_eq!(h.validate().unwrap_err().0, "events");
        let err = hook(&format!("{GOOD}\nsecret = \"x\"")).unwrap_err();
        assert!(err.to_string().contains("secret"), "{err}");
        let err = hook(&format!("{GOOD}\nformat = \"teams\"")).unwrap_err();
        assert!(err.to_string().contains("teams"), "{err}");
    }

    #[test]
    fn every_event_kind_round_trips() {
        for event in WebhookEvent::ALL {
            assert_eq!(WebhookEvent::from_kind(event.as_str()), Some(event));
        }
        assert_eq!(WebhookEvent::from_kind("maintainer_enrolled"), None);
        assert_eq!(WebhookEvent::from_kind("approval_withdrawn"), None);
    }

    #[test]
    fn backoff_doubles_is_capped_and_jitter_stays_in_the_upper_half() {
        let c = WebhookDeliveryConfig::default();
        assert_eq!(c.backoff_after(1), Duration::from_secs(5));
        assert_eq!(c.backoff_after(2), Duration::from_secs(10));
        assert_eq!(c.backoff_after(11), Duration::from_secs(3600));
        assert_eq!(c.backoff_after(u32::MAX), Duration::from_secs(3600));
        assert_eq!(
            c.jittered_backoff_after(2, 0.0),
            Duration::from_secs(5),
            "half fixed"
        );
        assert_eq!(c.jittered_backoff_after(2, 1.0), Duration::from_secs(10));
        assert_eq!(c.jittered_backoff_after(2, 7.0), Duration::from_secs(10));
        assert_eq!(
            c.jittered_backoff_after(2, f64::NAN),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn origins_hide_the_path() {
        assert_eq!(
            origin("https://hooks.slack.com/services/T0/B0/XXXX"),
            "https://hooks.slack.com"
        );
        assert_eq!(origin("http://127.0.0.1:9/x"), "http://127.0.0.1:9");
        assert_eq!(origin("nonsense"), "<invalid URL>");
    }

    #[test]
    fn secrets_must_be_private_and_long_enough() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = crate::private_files::private_tempdir();
        let path = dir.path().join("s");
        let write = |content: &[u8], mode: u32| {
            std::fs::write(&path, content).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        write(b"0123456789abcdef0123\n", 0o600);
        assert_eq!(
            read_secret(&path, "https://h").unwrap(),
            b"0123456789abcdef0123"
        );
        write(b"0123456789abcdef0123\n", 0o644);
        let err = read_secret(&path, "https://h").unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        write(b"short\n", 0o600);
        let err = read_secret(&path, "https://h").unwrap_err().to_string();
        assert!(err.contains("fewer than 16 bytes"), "{err}");
        write(&vec![b'a'; 5000], 0o600);
        let err = read_secret(&path, "https://h").unwrap_err().to_string();
        assert!(err.contains("larger than 4096"), "{err}");
        let err = read_secret(&dir.path().join("missing"), "https://h")
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing"), "{err}");
    }
}
