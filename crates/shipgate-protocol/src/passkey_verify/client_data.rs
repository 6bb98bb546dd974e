//! clientDataJSON as the verifier reads it: one JSON object whose keys are
//! all distinct (at every depth). `serde_json` keeps the last of two equal
//! keys, and another reader may keep the first; a document that means two
//! things to two readers is refused instead.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::PasskeyError;

/// The fields the verifier uses; browsers may add others, which are
/// allowed (WebAuthn says so) but must not repeat a key.
#[derive(Debug)]
pub(super) struct ClientData {
    pub kind: String,
    pub challenge: String,
    pub origin: String,
    pub cross_origin: bool,
}

impl ClientData {
    pub(super) fn parse(bytes: &[u8]) -> Result<ClientData, PasskeyError> {
        let Strict(value) = serde_json::from_slice(bytes)
            .map_err(|e| PasskeyError::ClientDataNotJson(e.to_string()))?;
        let Value::Object(object) = value else {
            return Err(PasskeyError::ClientDataNotJson("not an object".into()));
        };
        let text = |key: &'static str, field: &'static str| match object.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(PasskeyError::WrongType(field)),
            None => Err(PasskeyError::Missing(field)),
        };
        let cross_origin = match object.get("crossOrigin") {
            None | Some(Value::Bool(false)) => false,
            Some(Value::Bool(true)) => true,
            Some(_) => {
                return Err(PasskeyError::WrongType(
                    "passkey.client_data_json's crossOrigin",
                ));
            }
        };
        Ok(ClientData {
            kind: text("type", "passkey.client_data_json's type")?,
            challenge: text("challenge", "passkey.client_data_json's challenge")?,
            origin: text("origin", "passkey.client_data_json's origin")?,
            cross_origin,
        })
    }
}

/// A JSON value read with duplicate keys refused.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Strict, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
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
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                let shown: String = key.chars().take(64).collect();
                return Err(de::Error::custom(format!("duplicate key {shown:?}")));
            }
            let Strict(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}
