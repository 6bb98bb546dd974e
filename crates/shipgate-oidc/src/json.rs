//! Strict JSON: parses an object into a `serde_json` map but refuses
//! duplicate member names at any depth.
//!
//! RFC 7515 §4 and RFC 7519 §4 let a parser either refuse duplicate names or
//! keep the last one; `serde_json` silently keeps the last, so two readers of
//! the same token can disagree (one sees `"alg":"RS256"`, another `"none"`).
//! We refuse. Names are compared
//! after unescaping, so `"a"` and `"\u0061"` are duplicates too.

use std::cell::RefCell;
use std::fmt;

use serde::Deserializer;
use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why a JSON document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// Not well-formed JSON (or not UTF-8, or nested too deeply).
    #[error("malformed JSON: {0}")]
    Malformed(String),
    /// The same member name appears twice in one object.
    #[error("duplicate member name {0:?}")]
    DuplicateKey(String),
    /// Well-formed, but the top level is not an object.
    #[error("the top level is not a JSON object")]
    NotAnObject,
}

/// Parses `bytes` as one JSON object, refusing duplicate member names.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, JsonError> {
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = StrictSeed {
        duplicate: &duplicate,
    }
    .deserialize(&mut de)
    .and_then(|value| de.end().map(|()| value));
    match parsed {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(JsonError::NotAnObject),
        Err(err) => match duplicate.into_inner() {
            Some(name) => Err(JsonError::DuplicateKey(name)),
            None => Err(JsonError::Malformed(err.to_string())),
        },
    }
}

/// Carries a slot where the visitor records the first duplicate name, so the
/// caller gets a typed error rather than a formatted string.
#[derive(Clone, Copy)]
struct StrictSeed<'a> {
    duplicate: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            if out.contains_key(&name) {
                let message = format!("duplicate member name {name:?}");
                *self.duplicate.borrow_mut() = Some(name);
                return Err(A::Error::custom(message));
            }
            let value = map.next_value_seed(self)?;
            out.insert(name, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::{JsonError, parse_object};

    #[test]
    fn parses_a_plain_object() {
        let map = parse_object(br#"{"a":1,"b":[true,null,"x",1.5],"c":{"d":-2}}"#).unwrap();
        assert_eq!(map["a"], 1);
        assert_eq!(map["c"]["d"], -2);
    }

    #[test]
    fn refuses_duplicate_names_at_any_depth_and_after_unescaping() {
        for (doc, name) in [
            (r#"{"alg":"RS256","alg":"none"}"#, "alg"),
            (r#"{"a":{"b":1,"b":2}}"#, "b"),
            (r#"{"x":[{"k":1,"k":1}]}"#, "k"),
            (r#"{"a":1,"\u0061":2}"#, "a"),
        ] {
            assert_eq!(
                parse_object(doc.as_bytes()),
                Err(JsonError::DuplicateKey(name.into())),
                "{doc}"
            );
        }
    }

    #[test]
    fn refuses_malformed_and_non_objects() {
        for doc in [
            &b"{"[..],
            b"{\"a\":1} x",
            b"{\"a\":1,}",
            b"{'a':1}",
            b"{\"a\":\"\xff\"}",
            b"{\"a\":\"\\ud800\"}",
            b"",
        ] {
            assert!(
                matches!(parse_object(doc), Err(JsonError::Malformed(_))),
                "{doc:?}"
            );
        }
        assert_eq!(parse_object(b"[1]"), Err(JsonError::NotAnObject));
        assert_eq!(parse_object(b"\"s\""), Err(JsonError::NotAnObject));
        let deep = "[".repeat(10_000);
        assert!(parse_object(format!("{{\"a\":{deep}").as_bytes()).is_err());
    }
}
