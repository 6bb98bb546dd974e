//! What a webhook receives: the JSON body (or Slack's `{"text": ...}`), its
//! one-line Slack-compatible text, and the HMAC-SHA256 signature headers.
//!
//! The body of a delivery is built from the stored event on every attempt,
//! so it is the same bytes each time; only `X-Shipgate-Timestamp` and the
//! signature over it change.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::storage::WebhookDelivery;
use crate::webhook_config::WebhookFormat;

/// Header naming the event kind.
pub const EVENT_HEADER: &str = "X-Shipgate-Event";
/// Header carrying the delivery id (the same on every attempt).
pub const DELIVERY_HEADER: &str = "X-Shipgate-Delivery";
/// Header carrying the Unix time of the attempt, in seconds.
pub const TIMESTAMP_HEADER: &str = "X-Shipgate-Timestamp";
/// Header carrying `sha256=<hex HMAC-SHA256(key, timestamp + "." + body)>`.
pub const SIGNATURE_HEADER: &str = "X-Shipgate-Signature";

/// Longest free text (a rejection reason, a registry error) put in `text`.
const MAX_REASON_CHARS: usize = 200;

/// The release's page on the gate.
pub fn release_page(public_url: &str, release_id: i64) -> String {
    format!("{}/releases/{release_id}", public_url.trim_end_matches('/'))
}

/// The body of `delivery` in `format`.
pub fn body(delivery: &WebhookDelivery, format: WebhookFormat, public_url: &str) -> Vec<u8> {
    let page = release_page(public_url, delivery.release_id);
    let text = text(delivery, &page);
    let value = match format {
        WebhookFormat::Slack => json!({ "text": text }),
        WebhookFormat::Json => json!({
            "id": delivery.id,
            "event": delivery.kind,
            "package": delivery.package,
            "version": delivery.version,
            "release_id": delivery.release_id,
            "time": rfc3339(delivery.at),
            "actor": delivery.actor,
            "url": page,
            "text": text,
        }),
    };
    value.to_string().into_bytes()
}

/// `sha256=<hex>` of HMAC-SHA256 under `key` over `timestamp.body`.
pub fn signature(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts a key of any length; the fallback is never taken.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// One line a chat tool shows as is: `&`, `<` and `>` escaped as Slack
/// asks, except in the link to the release page.
pub fn text(delivery: &WebhookDelivery, page: &str) -> String {
    let detail: Value = serde_json::from_str(&delivery.detail).unwrap_or(Value::Null);
    let field = |name: &str| {
        detail
            .get(name)
            .and_then(Value::as_str)
            .map(one_line)
            .unwrap_or_default()
    };
    let what = format!(
        "{} {}",
        escape(&delivery.package),
        escape(&delivery.version)
    );
    let actor = escape(&one_line(&delivery.actor));
    let sentence = match delivery.kind.as_str() {
        "staged" => format!("{what} is staged and waits for approval"),
        "approved" => format!("{what} was approved by {actor}"),
        "released" => format!("{what} is released"),
        "rejected" => format!(
            "{what} was rejected by {actor}: {}",
            escape(&field("reason"))
        ),
        "expired" => format!("{what} expired without a decision"),
        "published" => format!("{what} is published to {}", escape(&field("registry"))),
        "publish_failed" => format!(
            "publishing {what} to {} failed: {}",
            escape(&field("registry")),
            escape(&field("error"))
        ),
        "publish_conflict" => format!(
            "{} already holds other bytes for {what}; nothing was overwritten",
            escape(&field("registry"))
        ),
        other => format!("{what}: {}", escape(other)),
    };
    format!(
        "shipgate: {sentence} (<{page}|release {}>)",
        delivery.release_id
    )
}

/// Control characters and line breaks become spaces; long text is cut.
fn one_line(text: &str) -> String {
    let mut line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_REASON_CHARS)
        .collect();
    if text.chars().count() > MAX_REASON_CHARS {
        line.push('…');
    }
    line
}

/// Slack's three escapes: the rest of its markup is harmless as text.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(at: i64) -> String {
    let days = at.div_euclid(86_400);
    let rem = at.rem_euclid(86_400);
    let (year, month, day) = shipgate_oidc::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(kind: &str, actor: &str, detail: Value) -> WebhookDelivery {
        WebhookDelivery {
            id: "0123abcd".into(),
            url: "https://hooks.example.org/x".into(),
            attempts: 0,
            created_ms: 0,
            event_seq: 9,
            kind: kind.into(),
            at: 1_780_000_000,
            actor: actor.into(),
            detail: detail.to_string(),
            release_id: 7,
            package: "hello".into(),
            version: "1.2.3".into(),
        }
    }

    #[test]
    fn the_json_body_carries_every_documented_field() {
        let d = delivery("approved", "alice", json!({ "maintainer": "alice" }));
        let body: Value =
            serde_json::from_slice(&body(&d, WebhookFormat::Json, "https://gate.example/"))
                .unwrap();
        assert_eq!(body["id"], "0123abcd");
        assert_eq!(body["event"], "approved");
        assert_eq!(body["package"], "hello");
        assert_eq!(body["version"], "1.2.3");
        assert_eq!(body["release_id"], 7);
        assert_eq!(body["time"], "2026-05-28T20:26:40Z");
        assert_eq!(body["url"], "https://gate.example/releases/7");
        assert_eq!(
            body["text"],
            "shipgate: hello 1.2.3 was approved by alice (<https://gate.example/releases/7|release 7>)"
        );
        let slack: Value = serde_json::from_slice(&body_of(&d, WebhookFormat::Slack)).unwrap();
        assert_eq!(slack.as_object().unwrap().len(), 1);
        assert_eq!(slack["text"], body["text"]);
    }

    fn body_of(d: &WebhookDelivery, format: WebhookFormat) -> Vec<u8> {
        body(d, format, "https://gate.example")
    }

    #[test]
    fn free_text_is_one_escaped_line() {
        let reason = "<!channel> & bad\nnews\u{1b}[31m".to_owned() + &"x".repeat(500);
        let d = delivery("rejected", "bob", json!({ "reason": reason }));
        let text = text(&d, "https://gate.example/releases/7");
        assert!(
            text.starts_with(
                "shipgate: hello 1.2.3 was rejected by bob: &lt;!channel&gt; &amp; bad news"
            ),
            "{text}"
        );
        assert!(!text.contains('\n') && !text.contains('\u{1b}'), "{text}");
        assert!(text.contains('…'), "cut: {text}");
        assert!(text.len() < 400, "{}", text.len());
        // A corrupt detail still gives a line.
        let mut d = delivery("publish_failed", "gate", json!({}));
        d.detail = "not json".into();
        assert!(text_of(&d).contains("publishing hello 1.2.3 to  failed"));
    }

    fn text_of(d: &WebhookDelivery) -> String {
        text(d, "https://g/releases/7")
    }

    #[test]
    fn every_event_has_its_sentence() {
        for (kind, detail, expected) in [
            ("staged", json!({}), "is staged and waits for approval"),
            ("released", json!({}), "is released"),
            (
                "expired",
                json!({ "reason": "r" }),
                "expired without a decision",
            ),
            (
                "published",
                json!({ "registry": "https://r/" }),
                "is published to https://r/",
            ),
            (
                "publish_conflict",
                json!({ "registry": "https://r/" }),
                "https://r/ already holds other bytes",
            ),
        ] {
            let t = text_of(&delivery(kind, "gate", detail));
            assert!(t.contains(expected), "{kind}: {t}");
        }
    }

    /// RFC 4231 test case 2, and the timestamp.body framing.
    #[test]
    fn signatures_are_hmac_sha256_over_timestamp_dot_body() {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // "12" + "." + "34" == "12.34": the same bytes as one message.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"12.34");
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(signature(b"Jefe", 12, b"34"), expected);
        assert_ne!(signature(b"Jefe", 13, b"34"), expected);
    }

    #[test]
    fn times_are_utc_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }
}
