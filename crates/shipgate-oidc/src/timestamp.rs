//! UTC timestamps in the compact ISO 8601 basic form used in key file names
//! (`20260501T120000.123456789Z`): fixed width, so sorting file names sorts
//! keys by creation time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Length of a stamp: `YYYYMMDDTHHMMSS.nnnnnnnnnZ`.
pub const STAMP_LEN: usize = 26;

/// Formats `time` (clamped to the epoch) as `YYYYMMDDTHHMMSS.nnnnnnnnnZ`.
pub fn stamp(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = since.as_secs();
    let (year, month, day) = civil_from_days(i64::try_from(secs / 86_400).unwrap_or(i64::MAX));
    let rem = secs % 86_400;
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_nanos()
    )
}

/// True when `text` has the exact shape of a stamp.
pub fn is_stamp(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == STAMP_LEN
        && b.iter().enumerate().all(|(i, c)| match i {
            8 => *c == b'T',
            15 => *c == b'.',
            25 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day)
/// (Howard Hinnant's `civil_from_days`; negative days are before 1970).
/// Also used by the CLI to print Unix times in UTC without a time zone
/// database.
///
/// Never panics: days beyond ±25 trillion years (far outside any real
/// timestamp, e.g. a hostile gate's `i64::MAX`) are clamped to that range.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    const LIMIT: i64 = i64::MAX / 1_000;
    let z = days.clamp(-LIMIT, LIMIT) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // In range by construction: day 1..=31, month 1..=12.
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::{civil_from_days, is_stamp, stamp};

    #[test]
    fn known_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(19_675), (2023, 11, 14));
    }

    #[test]
    fn extreme_days_do_not_panic() {
        for days in [i64::MAX, i64::MIN, i64::MAX / 86_400, i64::MIN / 86_400] {
            let (_, month, day) = civil_from_days(days);
            assert!((1..=12).contains(&month) && (1..=31).contains(&day));
        }
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(stamp(UNIX_EPOCH), "19700101T000000.000000000Z");
        // 2000-02-29T23:59:59.5Z (a leap day)
        let t = UNIX_EPOCH + Duration::new(951_868_799, 500_000_000);
        assert_eq!(stamp(t), "20000229T235959.500000000Z");
        // 2026-05-01T12:00:00Z
        let t = UNIX_EPOCH + Duration::from_secs(1_777_636_800);
        assert_eq!(stamp(t), "20260501T120000.000000000Z");
        assert!(is_stamp(&stamp(t)));
    }

    #[test]
    fn sorting_stamps_sorts_time() {
        let a = stamp(UNIX_EPOCH + Duration::new(1_777_636_800, 999_999_999));
        let b = stamp(UNIX_EPOCH + Duration::from_secs(1_777_636_801));
        assert!(a < b);
    }

    #[test]
    fn shape_check() {
        assert!(!is_stamp("20260501T120000Z"));
        assert!(!is_stamp("20260501X120000.000000000Z"));
        assert!(!is_stamp("2026050aT120000.000000000Z"));
    }
}
