//! Durations as users type them: `90s`, `10m`, `1h`, `30d` (a whole number and one
//! unit; no bare numbers, so `--ttl 10` cannot mean seconds to one reader and
//! minutes to another).

use std::time::Duration;

/// A duration that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a duration like 90s, 10m, 1h or 30d")]
pub struct DurationError(pub String);

/// Parses `<digits><s|m|h|d>`.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let err = || DurationError(text.to_owned());
    let split = text.len().checked_sub(1).ok_or_else(err)?;
    let (digits, unit) = text.split_at_checked(split).ok_or_else(err)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 9 {
        return Err(err());
    }
    let n: u64 = digits.parse().map_err(|_| err())?;
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(err()),
    };
    // Nine digits cannot overflow, but the bound lives elsewhere: check.
    let secs = n.checked_mul(factor).ok_or_else(err)?;
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::parse_duration;

    #[test]
    fn parses_seconds_minutes_hours() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        for bad in [
            "",
            "s",
            "10",
            "10 m",
            "-1s",
            "1.5h",
            "1w",
            "10M",
            "1h30m",
            "9999999999s",
            "１s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
