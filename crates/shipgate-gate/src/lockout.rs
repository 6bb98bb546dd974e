//! The TOTP guessing policy: how many wrong codes a maintainer token may
//! send before the gate stops listening, and why that keeps an attacker who
//! stole a maintainer token under one chance in a million per year.
//!
//! Two rules, both counted per maintainer on failed codes (wrong or reused):
//! - **5 within 15 minutes** lock the maintainer until an admin runs
//!   `shipgate admin unlock`. This stops a fast attacker and tells the admin
//!   at once. An accepted code or an unlock forgives these for this rule.
//! - **30 within 365 days** lock the maintainer for good: `admin unlock`
//!   refuses, only re-enrolment (`admin revoke` then `admin enroll`, which
//!   issues a NEW token and TOTP secret and so also kills a stolen token)
//!   clears it. Nothing else — no accepted code, no unlock — resets this
//!   count. This stops the slow attacker who stays under the first rule and
//!   waits for unlocks.
//!
//! A wrong *token* never reaches the code check and counts for nothing, so no
//! one can lock a maintainer out by sending requests in their name.
//!
//! The bound. A code is accepted for the current 30-second step and the one
//! before and after it (clock skew): 3 codes. An 8-digit code is an HOTP
//! value, a 31-bit integer reduced modulo 10^8; the most likely code has
//! ceil(2^31 / 10^8) = 22 of the 2^31 integers, so one guess succeeds with
//! probability at most 3 × 22 / 2^31 = 3.07 × 10^-8 (for an attacker who
//! cannot predict HMAC-SHA-1 under a 160-bit secret). In any 365 days at most
//! 30 guesses can fail before the second rule locks the maintainer for good,
//! so at most 30 guesses are made per year, and the chance that one of them
//! succeeds is at most 30 × 3.07 × 10^-8 = 9.2 × 10^-7 < 10^-6. (With the old
//! 6-digit codes one guess alone was 3.0 × 10^-6.)
//!
//! Why 30: it is the largest round budget under the target with a margin
//! (32 would give 9.8 × 10^-7, 33 would exceed it), and it is far above what
//! an honest maintainer mistypes in a year; before it is reached the first
//! rule has locked the maintainer and paged the admin up to six times.

use serde::Serialize;

use crate::credentials::TOTP_DIGITS;

/// Failed codes that lock a maintainer until an admin unlocks them...
pub const SHORT_LIMIT: u32 = 5;
/// ...when they happen within this many seconds (15 minutes).
pub const SHORT_WINDOW_SECONDS: i64 = 15 * 60;
/// Failed codes that lock a maintainer until they are re-enrolled...
pub const YEARLY_BUDGET: u32 = 30;
/// ...when they happen within this many seconds (365 days).
pub const BUDGET_WINDOW_SECONDS: i64 = 365 * 24 * 60 * 60;
/// Time steps a code is accepted for: the current one and one on each side.
pub const ACCEPTED_STEPS: u32 = 3;

/// Why a maintainer is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LockReason {
    /// [`SHORT_LIMIT`] failures within [`SHORT_WINDOW_SECONDS`]:
    /// `shipgate admin unlock` lifts it.
    Failures,
    /// [`YEARLY_BUDGET`] failures within [`BUDGET_WINDOW_SECONDS`]:
    /// only re-enrolment (new token and secret) lifts it.
    Budget,
}

impl LockReason {
    /// The database and JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Failures => "failures",
            Self::Budget => "budget",
        }
    }

    /// Parses the database spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "failures" => Some(Self::Failures),
            "budget" => Some(Self::Budget),
            _ => None,
        }
    }

    /// One line for people.
    pub fn describe(self) -> String {
        match self {
            Self::Failures => format!(
                "{SHORT_LIMIT} wrong TOTP codes within {} minutes",
                SHORT_WINDOW_SECONDS / 60
            ),
            Self::Budget => {
                format!("the yearly budget of {YEARLY_BUDGET} wrong TOTP codes is used up")
            }
        }
    }
}

/// A maintainer's failed codes, counted for both rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FailureCounts {
    /// Failures in the last [`SHORT_WINDOW_SECONDS`] not forgiven since
    /// (by an accepted code or an unlock).
    pub recent: u32,
    /// All failures in the last [`BUDGET_WINDOW_SECONDS`].
    pub year: u32,
}

/// Where each window starts at `now`: (short window, budget window).
pub fn window_starts(now: i64) -> (i64, i64) {
    (
        now.saturating_sub(SHORT_WINDOW_SECONDS),
        now.saturating_sub(BUDGET_WINDOW_SECONDS),
    )
}

/// The lock these counts call for, if any (the budget wins: it is the
/// stronger lock).
pub fn lock_for(counts: FailureCounts) -> Option<LockReason> {
    if counts.year >= YEARLY_BUDGET {
        Some(LockReason::Budget)
    } else if counts.recent >= SHORT_LIMIT {
        Some(LockReason::Failures)
    } else {
        None
    }
}

/// The largest chance that one guessed code is accepted (see the module
/// documentation).
pub fn odds_per_guess() -> f64 {
    let codes = 10u64.pow(u32::from(TOTP_DIGITS));
    let values = 1u64 << 31;
    let most_likely = values.div_ceil(codes);
    f64::from(ACCEPTED_STEPS) * most_likely as f64 / values as f64
}

/// The most guesses a stolen token allows in any 365 days.
pub fn max_guesses_per_year() -> u32 {
    YEARLY_BUDGET
}

/// The largest chance that a stolen token's guesses succeed within a year.
pub fn odds_per_year() -> f64 {
    f64::from(max_guesses_per_year()) * odds_per_guess()
}

/// The policy's numbers, as `shipgate admin status --json` reports them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    /// Digits of a code.
    pub digits: u8,
    /// Time steps a code is accepted for.
    pub accepted_steps: u32,
    /// Failures within `short_window_seconds` that lock until `admin unlock`.
    pub short_limit: u32,
    /// The short window.
    pub short_window_seconds: i64,
    /// Failures within `budget_window_seconds` that lock until re-enrolment.
    pub yearly_budget: u32,
    /// The budget window.
    pub budget_window_seconds: i64,
    /// The most guesses a stolen token allows in any 365 days.
    pub max_guesses_per_year: u32,
    /// The largest chance one guess is accepted.
    pub odds_per_guess: f64,
    /// The largest chance a stolen token's guesses succeed within a year.
    pub odds_per_year: f64,
}

/// The policy in force.
pub fn policy() -> Policy {
    Policy {
        digits: TOTP_DIGITS,
        accepted_steps: ACCEPTED_STEPS,
        short_limit: SHORT_LIMIT,
        short_window_seconds: SHORT_WINDOW_SECONDS,
        yearly_budget: YEARLY_BUDGET,
        budget_window_seconds: BUDGET_WINDOW_SECONDS,
        max_guesses_per_year: max_guesses_per_year(),
        odds_per_guess: odds_per_guess(),
        odds_per_year: odds_per_year(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_keeps_a_year_of_guessing_under_one_in_a_million() {
        assert_eq!(TOTP_DIGITS, 8);
        let per_guess = odds_per_guess();
        assert!((per_guess - 3.0733e-8).abs() < 1e-11, "{per_guess}");
        let per_year = odds_per_year();
        assert!(per_year < 1e-6, "{per_year}");
        assert!((per_year - 9.22e-7).abs() < 1e-9, "{per_year}");
        // 32 guesses a year would still pass, 33 would not.
        assert!(f64::from(YEARLY_BUDGET + 2) * per_guess < 1e-6);
        assert!(f64::from(YEARLY_BUDGET + 3) * per_guess > 1e-6);
        // The short rule alone gives a patient attacker ~140,000 guesses a year.
        let short_only =
            (BUDGET_WINDOW_SECONDS / SHORT_WINDOW_SECONDS) * i64::from(SHORT_LIMIT - 1);
        assert_eq!(short_only, 140_160);
    }

    #[test]
    fn the_budget_wins_over_the_short_rule() {
        let c = |recent, year| FailureCounts { recent, year };
        assert_eq!(lock_for(c(0, 0)), None);
        assert_eq!(lock_for(c(4, 29)), None);
        assert_eq!(lock_for(c(5, 5)), Some(LockReason::Failures));
        assert_eq!(lock_for(c(1, 30)), Some(LockReason::Budget));
        assert_eq!(lock_for(c(5, 30)), Some(LockReason::Budget));
        for reason in [LockReason::Failures, LockReason::Budget] {
            assert_eq!(LockReason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(LockReason::parse("forever"), None);
        assert_eq!(
            window_starts(1_000_000),
            (1_000_000 - 900, 1_000_000 - 31_536_000)
        );
    }
}
