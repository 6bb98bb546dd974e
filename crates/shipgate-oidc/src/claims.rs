//! Verified claims and the registered-claim rules (RFC 7519 §4.1, RFC 8725 §3.8-3.9).
//!
//! - `iss` must equal the pinned issuer exactly.
//! - `aud` is required: a string, or an array of strings; it must contain the
//!   expected audience, and an array naming any other audience is refused
//!   unless extra audiences are allowed.
//! - `exp` is required; `nbf` and `iat` are checked when present (`iat` may
//!   not be in the future); all three allow the same leeway.
//! - `exp` may be at most [`Validation::max_exp_ahead`] (default
//!   [`MAX_EXP_AHEAD`], one year) after now: a token valid for centuries is
//!   not a short-lived CI credential, and its `jti` would have to be
//!   remembered for as long.
//! - NumericDate claims must be JSON integers from 0 to
//!   [`crate::MAX_NUMERIC_DATE`]; the rules are in `numeric_date.rs`, the one
//!   place that reads them.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::error::Rejection;
use crate::expect::Expectation;
use crate::numeric_date::numeric_date;

/// The default clock-skew leeway.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

/// The default bound on how far after now a token's `exp` may be: one year
/// (365 days). CI providers' tokens live minutes to hours; anything beyond
/// this is a forged or misconfigured token, refused with
/// [`Rejection::ExpiresTooFarAhead`].
pub const MAX_EXP_AHEAD: Duration = Duration::from_secs(365 * 24 * 3600);

/// What a token must satisfy besides its signature and issuer.
#[derive(Debug, Clone)]
pub struct Validation {
    /// The audience that must be in `aud`.
    pub audience: String,
    /// Clock-skew leeway for `exp`, `nbf`, `iat`.
    pub leeway: Duration,
    /// Accept an `aud` array that also names other audiences.
    pub allow_extra_audiences: bool,
    /// The furthest after now that `exp` may be (default [`MAX_EXP_AHEAD`]).
    /// Also bounds how long a replay guard must remember the token's `jti`.
    pub max_exp_ahead: Duration,
    /// Claims that must be present with the given value or pattern.
    pub expectations: Vec<Expectation>,
}

impl Validation {
    /// Requires `audience`, with the default leeway and no expected claims.
    pub fn new(audience: impl Into<String>) -> Validation {
        Validation {
            audience: audience.into(),
            leeway: DEFAULT_LEEWAY,
            allow_extra_audiences: false,
            max_exp_ahead: MAX_EXP_AHEAD,
            expectations: Vec::new(),
        }
    }
}

/// The claims of a token whose signature, issuer, audience and times were
/// verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims(Map<String, Value>);

impl Claims {
    pub(crate) fn new(map: Map<String, Value>) -> Claims {
        Claims(map)
    }

    /// Any claim by name.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// A string claim by name (`None` when absent or not a string).
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    /// `iss`.
    pub fn issuer(&self) -> &str {
        self.get_str("iss").unwrap_or_default()
    }

    /// `sub`, when it is a string.
    pub fn subject(&self) -> Option<&str> {
        self.get_str("sub")
    }

    /// `jti`, when it is a string.
    pub fn jti(&self) -> Option<&str> {
        self.get_str("jti")
    }

    /// `exp` in seconds since the epoch (always present once verified, and
    /// then within `0..=MAX_NUMERIC_DATE`).
    pub fn expires_at(&self) -> i64 {
        self.0.get("exp").and_then(Value::as_i64).unwrap_or(0)
    }

    /// Every claim, as a JSON object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// Every claim, as JSON.
    pub fn to_json(&self) -> Value {
        Value::Object(self.0.clone())
    }
}

/// Checks the registered claims of `claims` at `now` (seconds since the epoch).
pub(crate) fn check_registered(
    claims: &Map<String, Value>,
    issuer: &str,
    validation: &Validation,
    now: i64,
) -> Result<(), Rejection> {
    match claims.get("iss") {
        Some(Value::String(iss)) if iss == issuer => {}
        Some(Value::String(iss)) => {
            return Err(Rejection::IssuerMismatch { found: iss.clone() });
        }
        Some(_) => return Err(Rejection::ClaimType("iss".into())),
        None => return Err(Rejection::MissingClaim("iss")),
    }
    check_audience(claims, validation)?;

    let leeway = validation.leeway.as_secs();
    let slack = i64::try_from(leeway).unwrap_or(i64::MAX);
    // Every time claim is read (and its type and range checked) before any
    // is compared, so a token with two bad claims is refused for the same
    // reason whatever the order of the comparisons.
    let exp = numeric_date(claims, "exp")?.ok_or(Rejection::MissingClaim("exp"))?;
    let nbf = numeric_date(claims, "nbf")?;
    let iat = numeric_date(claims, "iat")?;
    if now > exp.saturating_add(slack) {
        return Err(Rejection::Expired { exp, now, leeway });
    }
    let max = validation.max_exp_ahead.as_secs();
    if exp > now.saturating_add(i64::try_from(max).unwrap_or(i64::MAX)) {
        return Err(Rejection::ExpiresTooFarAhead { exp, now, max });
    }
    if let Some(nbf) = nbf
        && nbf > now.saturating_add(slack)
    {
        return Err(Rejection::NotYetValid { nbf, now, leeway });
    }
    if let Some(iat) = iat
        && iat > now.saturating_add(slack)
    {
        return Err(Rejection::IssuedInFuture { iat, now, leeway });
    }
    Ok(())
}

fn check_audience(claims: &Map<String, Value>, validation: &Validation) -> Result<(), Rejection> {
    let expected = &validation.audience;
    let mismatch = || Rejection::AudienceMismatch {
        expected: expected.clone(),
    };
    match claims.get("aud") {
        None => Err(Rejection::MissingClaim("aud")),
        Some(Value::String(aud)) if aud == expected => Ok(()),
        Some(Value::String(_)) => Err(mismatch()),
        Some(Value::Array(items)) => {
            let mut names = Vec::with_capacity(items.len());
            for item in items {
                names.push(
                    item.as_str()
                        .ok_or_else(|| Rejection::ClaimType("aud".into()))?,
                );
            }
            if !names.iter().any(|name| name == expected) {
                return Err(mismatch());
            }
            let others = names.iter().filter(|name| *name != expected).count();
            if others > 0 && !validation.allow_extra_audiences {
                return Err(Rejection::ExtraAudiences(others + 1));
            }
            Ok(())
        }
        Some(_) => Err(Rejection::ClaimType("aud".into())),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{Map, Value, json};

    use super::{Validation, check_registered};
    use crate::error::Rejection;

    const NOW: i64 = 1_800_000_000;
    const ISS: &str = "https://ci.example.com";

    fn claims(extra: Value) -> Map<String, Value> {
        let mut base =
            json!({"iss": ISS, "aud": "deploy", "exp": NOW + 600, "iat": NOW, "nbf": NOW});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                base.as_object_mut().unwrap().remove(k);
            } else {
                base[k] = v.clone();
            }
        }
        base.as_object().unwrap().clone()
    }

    fn check(extra: Value) -> Result<(), Rejection> {
        check_registered(&claims(extra), ISS, &Validation::new("deploy"), NOW)
    }

    #[test]
    fn a_good_token_passes() {
        assert_eq!(check(json!({})), Ok(()));
        assert_eq!(check(json!({"aud": ["deploy"]})), Ok(()));
        assert_eq!(check(json!({"nbf": null, "iat": null})), Ok(()));
    }

    #[test]
    fn issuer_is_exact() {
        for iss in [
            "https://ci.example.com/",
            "HTTPS://ci.example.com",
            "https://ci.example.co",
        ] {
            assert_eq!(
                check(json!({ "iss": iss })),
                Err(Rejection::IssuerMismatch { found: iss.into() })
            );
        }
        assert_eq!(
            check(json!({"iss": null})),
            Err(Rejection::MissingClaim("iss"))
        );
        assert_eq!(
            check(json!({"iss": [ISS]})),
            Err(Rejection::ClaimType("iss".into()))
        );
    }

    #[test]
    fn audience_is_required_and_exact() {
        assert_eq!(
            check(json!({"aud": null})),
            Err(Rejection::MissingClaim("aud"))
        );
        for aud in [
            json!("Deploy"),
            json!("deploy "),
            json!([]),
            json!(["other"]),
        ] {
            assert!(
                matches!(
                    check(json!({ "aud": aud })),
                    Err(Rejection::AudienceMismatch { .. })
                ),
                "{aud}"
            );
        }
        assert_eq!(
            check(json!({"aud": ["deploy", "other"]})),
            Err(Rejection::ExtraAudiences(2))
        );
        assert_eq!(
            check(json!({"aud": ["deploy", 7]})),
            Err(Rejection::ClaimType("aud".into()))
        );
        assert_eq!(
            check(json!({"aud": 7})),
            Err(Rejection::ClaimType("aud".into()))
        );
        let mut v = Validation::new("deploy");
        v.allow_extra_audiences = true;
        let c = claims(json!({"aud": ["other", "deploy"]}));
        assert_eq!(check_registered(&c, ISS, &v, NOW), Ok(()));
    }

    #[test]
    fn exp_is_required_and_enforced_with_leeway() {
        assert_eq!(
            check(json!({"exp": null})),
            Err(Rejection::MissingClaim("exp"))
        );
        assert_eq!(check(json!({"exp": NOW - 60})), Ok(()), "within leeway");
        assert!(matches!(
            check(json!({"exp": NOW - 61})),
            Err(Rejection::Expired { .. })
        ));
        let mut v = Validation::new("deploy");
        v.leeway = Duration::ZERO;
        let c = claims(json!({"exp": NOW - 1}));
        assert!(matches!(
            check_registered(&c, ISS, &v, NOW),
            Err(Rejection::Expired { .. })
        ));
    }

    #[test]
    fn nbf_and_iat_may_not_be_in_the_future() {
        assert_eq!(check(json!({"nbf": NOW + 60})), Ok(()));
        assert!(matches!(
            check(json!({"nbf": NOW + 61})),
            Err(Rejection::NotYetValid { .. })
        ));
        assert_eq!(check(json!({"iat": NOW + 60})), Ok(()));
        assert!(matches!(
            check(json!({"iat": NOW + 61})),
            Err(Rejection::IssuedInFuture { .. })
        ));
    }

    #[test]
    fn time_claims_of_the_wrong_type_are_refused() {
        for claim in ["exp", "nbf", "iat"] {
            for bad in [
                json!((NOW + 10).to_string()),
                json!(NOW as f64 + 0.5),
                json!(1.8e9),
                json!(true),
                json!([NOW]),
                json!({"t": NOW}),
            ] {
                assert_eq!(
                    check(json!({ claim: bad.clone() })),
                    Err(Rejection::ClaimType(claim.into())),
                    "{claim}={bad}"
                );
            }
            // An explicit JSON null is a wrong type too, not an absent claim.
            let mut c = claims(json!({}));
            c.insert(claim.into(), Value::Null);
            assert_eq!(
                check_registered(&c, ISS, &Validation::new("deploy"), NOW),
                Err(Rejection::ClaimType(claim.into()))
            );
        }
    }
}
