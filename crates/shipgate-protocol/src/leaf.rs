//! The bytes of a log leaf: one gate event as canonical JSON.
//!
//! A leaf is a JSON object with exactly these keys, in this (sorted) order:
//!
//! ```text
//! {"actor":…,"detail":{…},"format":"shipgate.event.v1","kind":…,"package":…,
//!  "release_id":…,"seq":…,"time":…,"version":…}
//! ```
//!
//! `format` names the encoding (a future change gets a new name, never new
//! meanings for old keys); `seq` is the event's number in the gate's `events`
//! table, `time` Unix seconds, `package`/`version`/`release_id` are `null`
//! for events about maintainers, and `detail` holds the kind's own fields
//! (for `released`: `manifest_sha256`, `signature_key_id`, `approved_by`).
//!
//! "Canonical" means RFC 8785 (JCS) for the values the gate writes: object
//! keys sorted, no whitespace, strings escaped only where JSON requires
//! (`\"`, `\\`, `\b \f \n \r \t`, other control characters as lowercase
//! `\u00xx`, everything else as UTF-8), integers only (|n| < 2^53), no
//! floats. Python's `json.dumps(v, sort_keys=True, separators=(",", ":"),
//! ensure_ascii=False)` produces the same bytes, so anyone can recompute a
//! leaf hash: `SHA-256(0x00 || leaf)`.
//!
//! Reading is strict: [`LogEvent::from_leaf`] refuses any byte string that
//! is not exactly the canonical encoding of a well-formed event, so one
//! event has one leaf and a client never trusts bytes it did not re-derive.

use serde_json::{Map, Value};

/// The `format` of every leaf this gate writes.
pub const LEAF_FORMAT: &str = "shipgate.event.v1";

/// Largest leaf accepted when reading. Larger than what the gate writes
/// ([`MAX_WRITTEN_LEAF_BYTES`]) so that logs written before that cap stay
/// readable.
pub const MAX_LEAF_BYTES: usize = 4 << 20;

/// Largest leaf the gate writes. A staging whose `staged` leaf would be
/// larger is refused before anything is stored. The most files a release
/// may have (1000) with the longest names (255 bytes) make a leaf of about
/// 380 KiB, so only unusually long CI token claims come near it. Twice this
/// (the worst case of JSON-escaping a leaf) fits in one page of
/// `GET /v1/log/entries` with room to spare, so one leaf never outgrows a
/// page.
pub const MAX_WRITTEN_LEAF_BYTES: usize = 512 << 10;

/// Largest integer magnitude a canonical leaf may hold: JCS writes numbers
/// as IEEE doubles, exact only below 2^53.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The keys of a leaf, sorted.
const KEYS: [&str; 9] = [
    "actor",
    "detail",
    "format",
    "kind",
    "package",
    "release_id",
    "seq",
    "time",
    "version",
];

/// A leaf could not be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LeafError {
    /// The leaf is larger than [`MAX_LEAF_BYTES`].
    #[error("the leaf is {0} bytes, more than the {MAX_LEAF_BYTES} accepted")]
    TooLarge(usize),
    /// The leaf is not a JSON object.
    #[error("the leaf is not a JSON object: {0}")]
    NotJson(String),
    /// The leaf names another encoding.
    #[error("the leaf's format is {0:?}, not {LEAF_FORMAT:?}")]
    UnknownFormat(String),
    /// A key is missing.
    #[error("the leaf has no {0:?}")]
    MissingKey(&'static str),
    /// A key that events do not have.
    #[error("the leaf has an unexpected key {0:?}")]
    UnexpectedKey(String),
    /// A key holds the wrong JSON type.
    #[error("the leaf's {0:?} has the wrong type")]
    WrongType(&'static str),
    /// A number is not an integer below 2^53 in magnitude.
    #[error("the leaf holds a number that is not an integer below 2^53")]
    NotSafeInteger,
    /// The bytes parse, but are not the canonical encoding of what they hold.
    #[error("the leaf is not in canonical form (sorted keys, no whitespace, minimal escapes)")]
    NotCanonical,
}

/// One gate event as the log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// The event's number in the gate's `events` table.
    pub seq: i64,
    /// Unix seconds.
    pub time: i64,
    /// `staged`, `approved`, `rejected`, `released`, `maintainer_enrolled`, ...
    pub kind: String,
    /// Who caused it: a CI subject, a maintainer, `admin` or `gate`.
    pub actor: String,
    /// The release concerned, if any.
    pub release_id: Option<i64>,
    /// Its package.
    pub package: Option<String>,
    /// Its version.
    pub version: Option<String>,
    /// The kind's own fields.
    pub detail: Map<String, Value>,
}

impl LogEvent {
    /// The leaf bytes. Fails only for values a canonical leaf cannot hold
    /// (floats, integers beyond 2^53).
    pub fn to_leaf(&self) -> Result<Vec<u8>, LeafError> {
        let mut out = Vec::with_capacity(256);
        write_canonical(&self.to_value(), &mut out)?;
        Ok(out)
    }

    /// The event a leaf records, refusing anything but the canonical
    /// encoding of a well-formed v1 event.
    pub fn from_leaf(leaf: &[u8]) -> Result<LogEvent, LeafError> {
        if leaf.len() > MAX_LEAF_BYTES {
            return Err(LeafError::TooLarge(leaf.len()));
        }
        let value: Value =
            serde_json::from_slice(leaf).map_err(|e| LeafError::NotJson(e.to_string()))?;
        let Value::Object(mut object) = value else {
            return Err(LeafError::NotJson("not an object".into()));
        };
        let format = take_string(&mut object, "format")?;
        if format != LEAF_FORMAT {
            return Err(LeafError::UnknownFormat(format));
        }
        let event = LogEvent {
            seq: take_integer(&mut object, "seq")?,
            time: take_integer(&mut object, "time")?,
            kind: take_string(&mut object, "kind")?,
            actor: take_string(&mut object, "actor")?,
            release_id: take_optional(&mut object, "release_id", Value::as_i64)?,
            package: take_optional(&mut object, "package", |v| v.as_str().map(str::to_owned))?,
            version: take_optional(&mut object, "version", |v| v.as_str().map(str::to_owned))?,
            detail: match object.remove("detail") {
                Some(Value::Object(detail)) => detail,
                Some(_) => return Err(LeafError::WrongType("detail")),
                None => return Err(LeafError::MissingKey("detail")),
            },
        };
        if let Some(key) = object.keys().next() {
            return Err(LeafError::UnexpectedKey(key.clone()));
        }
        // Duplicate keys, whitespace, other escapes or key orders all parse
        // to the same value: only the canonical bytes are accepted.
        if event.to_leaf()? != leaf {
            return Err(LeafError::NotCanonical);
        }
        Ok(event)
    }

    /// A string field of `detail`, if present.
    pub fn detail_str(&self, key: &str) -> Option<&str> {
        self.detail.get(key).and_then(Value::as_str)
    }

    /// The event as a JSON value (the leaf, parsed).
    pub fn to_value(&self) -> Value {
        let mut object = Map::new();
        object.insert("actor".into(), Value::from(self.actor.clone()));
        object.insert("detail".into(), Value::Object(self.detail.clone()));
        object.insert("format".into(), Value::from(LEAF_FORMAT));
        object.insert("kind".into(), Value::from(self.kind.clone()));
        object.insert("package".into(), Value::from(self.package.clone()));
        object.insert("release_id".into(), Value::from(self.release_id));
        object.insert("seq".into(), Value::from(self.seq));
        object.insert("time".into(), Value::from(self.time));
        object.insert("version".into(), Value::from(self.version.clone()));
        debug_assert!(object.keys().all(|k| KEYS.contains(&k.as_str())));
        Value::Object(object)
    }
}

fn take_string(object: &mut Map<String, Value>, key: &'static str) -> Result<String, LeafError> {
    match object.remove(key) {
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(LeafError::WrongType(key)),
        None => Err(LeafError::MissingKey(key)),
    }
}

fn take_integer(object: &mut Map<String, Value>, key: &'static str) -> Result<i64, LeafError> {
    match object.remove(key) {
        Some(value) => value.as_i64().ok_or(LeafError::WrongType(key)),
        None => Err(LeafError::MissingKey(key)),
    }
}

/// A key that must be present, holding `null` or a value `read` accepts.
fn take_optional<T>(
    object: &mut Map<String, Value>,
    key: &'static str,
    read: impl Fn(&Value) -> Option<T>,
) -> Result<Option<T>, LeafError> {
    match object.remove(key) {
        Some(Value::Null) => Ok(None),
        Some(value) => read(&value).map(Some).ok_or(LeafError::WrongType(key)),
        None => Err(LeafError::MissingKey(key)),
    }
}

/// Writes `value` in canonical form (see the module documentation). Keys
/// are sorted here, whatever order the map keeps, so the bytes do not depend
/// on serde_json's `preserve_order` feature.
pub fn write_canonical(value: &Value, out: &mut Vec<u8>) -> Result<(), LeafError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => {
            let text = if let Some(n) = number.as_u64() {
                (n <= MAX_SAFE_INTEGER).then(|| n.to_string())
            } else if let Some(n) = number.as_i64() {
                (n.unsigned_abs() <= MAX_SAFE_INTEGER).then(|| n.to_string())
            } else {
                None
            };
            out.extend_from_slice(text.ok_or(LeafError::NotSafeInteger)?.as_bytes());
        }
        Value::String(text) => write_string(text, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(object) => {
            let mut entries: Vec<(&String, &Value)> = object.iter().collect();
            // Byte order equals JCS's UTF-16 order for the ASCII keys the
            // gate writes (and for any key without surrogate pairs).
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_canonical(item, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// A JSON string with the minimal escapes JCS prescribes.
fn write_string(text: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &byte in text.as_bytes() {
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x00..0x20 => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(byte >> 4)]);
                out.push(HEX[usize::from(byte & 0x0f)]);
            }
            // Multi-byte UTF-8 sequences pass through unchanged.
            _ => out.push(byte),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shipgate_log::leaf_hash;

    use super::*;

    fn released() -> LogEvent {
        LogEvent {
            seq: 7,
            time: 1_700_000_000,
            kind: "released".into(),
            actor: "gate".into(),
            release_id: Some(3),
            package: Some("hello".into()),
            version: Some("1.2.0".into()),
            detail: json!({
                "manifest_sha256": "983e037ea5ae85eaab96780fd9379013cc81070284f419ac76cd370064d5a8ed",
                "signature_key_id": "0123456789ABCDEF",
                "approved_by": ["bob", "alice"]
            })
            .as_object()
            .cloned()
            .unwrap(),
        }
    }

    /// The golden leaf: these bytes and this hash must never change, or
    /// every gate's log and every client's saved checkpoint breaks.
    #[test]
    fn golden_released_leaf() {
        let leaf = released().to_leaf().unwrap();
        let expected = concat!(
            r#"{"actor":"gate","detail":{"approved_by":["bob","alice"],"#,
            r#""manifest_sha256":"983e037ea5ae85eaab96780fd9379013cc81070284f419ac76cd370064d5a8ed","#,
            r#""signature_key_id":"0123456789ABCDEF"},"format":"shipgate.event.v1","#,
            r#""kind":"released","package":"hello","release_id":3,"seq":7,"time":1700000000,"#,
            r#""version":"1.2.0"}"#
        );
        assert_eq!(String::from_utf8(leaf.clone()).unwrap(), expected);
        assert_eq!(
            leaf_hash(&leaf).to_hex(),
            "c44e8b51ea28de8e57393608a621eb56c469b16d51f72196b1ea01465e35a32e"
        );
        assert_eq!(LogEvent::from_leaf(&leaf).unwrap(), released());
    }

    #[test]
    fn golden_maintainer_leaf_with_escapes() {
        let event = LogEvent {
            seq: 1,
            time: 0,
            kind: "rejected".into(),
            actor: "alice".into(),
            release_id: None,
            package: None,
            version: None,
            detail: json!({"reason": "na\u{ef}ve \"build\"\n\t\u{1}\\ \u{2028} /", "n": -5})
                .as_object()
                .cloned()
                .unwrap(),
        };
        let leaf = event.to_leaf().unwrap();
        assert_eq!(
            String::from_utf8(leaf.clone()).unwrap(),
            "{\"actor\":\"alice\",\"detail\":{\"n\":-5,\"reason\":\"na\u{ef}ve \\\"build\\\"\\n\\t\\u0001\\\\ \u{2028} /\"},\"format\":\"shipgate.event.v1\",\"kind\":\"rejected\",\"package\":null,\"release_id\":null,\"seq\":1,\"time\":0,\"version\":null}"
        );
        assert_eq!(LogEvent::from_leaf(&leaf).unwrap(), event);
    }

    #[test]
    fn only_the_canonical_bytes_of_a_v1_event_are_read() {
        let leaf = String::from_utf8(released().to_leaf().unwrap()).unwrap();
        let refused = [
            (leaf.replace(":", ": "), LeafError::NotCanonical),
            (
                leaf.replacen(
                    "{\"actor\":\"gate\",",
                    "{\"actor\":\"x\",\"actor\":\"gate\",",
                    1,
                ),
                LeafError::NotCanonical,
            ),
            (
                leaf.replace("hello", "hell\\u006f"),
                LeafError::NotCanonical,
            ),
            (
                leaf.replace("\"seq\":7", "\"seq\":7.0"),
                LeafError::WrongType("seq"),
            ),
            (
                leaf.replace("shipgate.event.v1", "shipgate.event.v2"),
                LeafError::UnknownFormat("shipgate.event.v2".into()),
            ),
            (
                leaf.replace(",\"version\":\"1.2.0\"", ""),
                LeafError::MissingKey("version"),
            ),
            (
                leaf.replace("\"version\"", "\"zzz\":1,\"version\""),
                LeafError::UnexpectedKey("zzz".into()),
            ),
            (
                leaf.replace("\"package\":\"hello\"", "\"package\":5"),
                LeafError::WrongType("package"),
            ),
            (
                leaf.replace("\"release_id\":3", "\"release_id\":9007199254740993"),
                LeafError::NotSafeInteger,
            ),
        ];
        for (bytes, expected) in refused {
            assert_eq!(
                LogEvent::from_leaf(bytes.as_bytes()),
                Err(expected),
                "{bytes}"
            );
        }
        for garbage in [
            &b""[..],
            b"[]",
            b"null",
            b"{",
            b"\xff\xfe",
            b"{\"format\":1}",
        ] {
            assert!(LogEvent::from_leaf(garbage).is_err());
        }
        let huge = vec![b' '; MAX_LEAF_BYTES + 1];
        assert_eq!(
            LogEvent::from_leaf(&huge),
            Err(LeafError::TooLarge(MAX_LEAF_BYTES + 1))
        );
    }

    #[test]
    fn floats_and_unsafe_integers_cannot_be_written() {
        let mut event = released();
        event.detail.insert("x".into(), json!(1.5));
        assert_eq!(event.to_leaf(), Err(LeafError::NotSafeInteger));
        event.detail.insert("x".into(), json!(1u64 << 53));
        assert_eq!(event.to_leaf(), Err(LeafError::NotSafeInteger));
        event.detail.insert("x".into(), json!((1i64 << 53) - 1));
        assert!(event.to_leaf().is_ok());
    }
}
