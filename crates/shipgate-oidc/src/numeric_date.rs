//! NumericDate claims (`exp`, `nbf`, `iat`; RFC 7519 §2): the one place that
//! decides which values are times at all.
//!
//! A time claim must be a JSON integer between 0 and [`MAX_NUMERIC_DATE`]
//! (the last second of the year 9999). Everything else is refused here, so
//! no later step ever meets a value it could overflow on or wrap:
//!
//! - a string (`"123"`), float (`1.5`, `1e30`), bool, array, object or null
//!   has the wrong type ([`Rejection::ClaimType`]); an integer too large for
//!   64 bits (`2^64`) is read by the JSON parser as a float and lands here too;
//! - a negative integer (`-1`) or one above [`MAX_NUMERIC_DATE`] (`2^63-1`,
//!   `2^63`) is out of range ([`Rejection::TimeOutOfRange`]).
//!
//! RFC 7519 allows fractional seconds, but no issuer we interoperate with
//! sends them, and refusing floats avoids rounding questions
//! (`1.9999999999e9`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::error::Rejection;

/// The latest time any time claim may name: 9999-12-31T23:59:59Z. Far beyond
/// any real token, and small enough that adding any leeway or lifetime to it
/// stays exact in `i64`, `u64` and `SystemTime`.
pub const MAX_NUMERIC_DATE: i64 = 253_402_300_799;

/// Reads the time claim `name`: absent → `None`; a JSON integer in
/// `0..=MAX_NUMERIC_DATE` → its value; anything else → refused.
pub(crate) fn numeric_date(
    claims: &Map<String, Value>,
    name: &str,
) -> Result<Option<i64>, Rejection> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let Value::Number(number) = value else {
        return Err(Rejection::ClaimType(name.into()));
    };
    if number.is_f64() {
        return Err(Rejection::ClaimType(name.into()));
    }
    match number.as_i64() {
        Some(secs) if (0..=MAX_NUMERIC_DATE).contains(&secs) => Ok(Some(secs)),
        // A negative i64, or an integer that fits u64 but not i64.
        _ => Err(Rejection::TimeOutOfRange {
            claim: name.into(),
            value: number.to_string(),
        }),
    }
}

/// `secs` after the epoch as a `SystemTime`, `None` when negative or not
/// representable (never a panic).
pub(crate) fn to_system_time(secs: i64) -> Option<SystemTime> {
    let secs = u64::try_from(secs).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::{MAX_NUMERIC_DATE, numeric_date, to_system_time};
    use crate::error::Rejection;

    fn read(value: &str) -> Result<Option<i64>, Rejection> {
        // Parsed from text, as a token's payload is: `2^64` and `1e30` are
        // what serde_json makes of them, not what a `json!` literal would be.
        let map: Map<String, Value> =
            serde_json::from_str(&format!("{{\"exp\": {value}}}")).unwrap();
        numeric_date(&map, "exp")
    }

    #[test]
    fn integers_in_range_are_times() {
        assert_eq!(read("0"), Ok(Some(0)));
        assert_eq!(read("1800000000"), Ok(Some(1_800_000_000)));
        assert_eq!(
            read(&MAX_NUMERIC_DATE.to_string()),
            Ok(Some(MAX_NUMERIC_DATE))
        );
        assert_eq!(numeric_date(&Map::new(), "exp"), Ok(None));
    }

    #[test]
    fn hostile_values_are_refused_by_kind() {
        let out_of_range = |value: &str| {
            Err(Rejection::TimeOutOfRange {
                claim: "exp".into(),
                value: value.into(),
            })
        };
        for value in [
            "-1",
            "-9223372036854775808",
            "253402300800",
            "9223372036854775807",
            "9223372036854775808",
            "18446744073709551615",
        ] {
            assert_eq!(read(value), out_of_range(value), "{value}");
        }
        let wrong_type = Err(Rejection::ClaimType("exp".into()));
        for value in [
            "18446744073709551616",
            "1e30",
            "1.8e9",
            "1800000000.5",
            "1800000000.0",
            "-0.0",
            "\"123\"",
            "true",
            "null",
            "[1]",
            "{\"t\": 1}",
        ] {
            assert_eq!(read(value), wrong_type, "{value}");
        }
        assert_eq!(
            read(&json!(u64::MAX).to_string()),
            out_of_range("18446744073709551615")
        );
    }

    #[test]
    fn conversion_to_system_time_is_checked() {
        assert!(to_system_time(MAX_NUMERIC_DATE).is_some());
        assert!(to_system_time(-1).is_none());
        assert!(to_system_time(0).is_some());
    }
}
