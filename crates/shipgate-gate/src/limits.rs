//! How much one package may keep on the gate: without limits a single CI
//! identity can stage until the disk is full, after which nothing can be
//! approved, and undecided or rejected releases keep their blobs for ever.
//!
//! `[limits]` in gate.toml sets the defaults for every package and
//! `[package.limits]` overrides them for one. Every field is optional.

use std::time::Duration;

use serde::Deserialize;
use shipgate_oidc::parse_duration;

/// Staged, undecided releases one package may have at once.
pub const DEFAULT_MAX_PENDING_RELEASES: u32 = 20;
/// Bytes all undecided releases of one package may hold together (20 GiB).
pub const DEFAULT_MAX_STAGED_BYTES: u64 = 20 << 30;
/// An undecided release expires after this long.
pub const DEFAULT_STAGED_EXPIRY: &str = "30d";
/// Blobs of rejected and expired releases are deleted after this long.
pub const DEFAULT_REJECTED_RETENTION: &str = "30d";

/// `[limits]` or `[package.limits]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Staged, undecided releases of the package at once.
    pub max_pending_releases: Option<u32>,
    /// Bytes of one release (all its files); never above `max_upload_bytes`.
    pub max_release_bytes: Option<u64>,
    /// Bytes of all undecided releases of the package together.
    pub max_staged_bytes: Option<u64>,
    /// How long a release may wait for a decision, e.g. `30d`.
    pub staged_expiry: Option<String>,
    /// How long rejected (and expired) releases keep their files, e.g. `30d`.
    pub rejected_retention: Option<String>,
}

impl LimitsConfig {
    /// Checks the values; `at` names the table in messages (`limits` or
    /// `package[2].limits`). Returns the offending field and why.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.max_pending_releases == Some(0) {
            return Err(("max_pending_releases", "must be at least 1".into()));
        }
        if self.max_release_bytes == Some(0) {
            return Err(("max_release_bytes", "must be at least 1".into()));
        }
        if self.max_staged_bytes == Some(0) {
            return Err(("max_staged_bytes", "must be at least 1".into()));
        }
        for (field, value) in [
            ("staged_expiry", &self.staged_expiry),
            ("rejected_retention", &self.rejected_retention),
        ] {
            if let Some(text) = value {
                match parse_duration(text) {
                    Ok(d) if !d.is_zero() => {}
                    Ok(_) => return Err((field, "must be longer than 0s".into())),
                    Err(err) => return Err((field, err.to_string())),
                }
            }
        }
        Ok(())
    }
}

/// The limits in force for one package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Staged, undecided releases at once.
    pub max_pending_releases: u32,
    /// Bytes of one release.
    pub max_release_bytes: u64,
    /// Bytes of all undecided releases together.
    pub max_staged_bytes: u64,
    /// How long a release may wait for a decision.
    pub staged_expiry: Duration,
    /// How long rejected and expired releases keep their files.
    pub rejected_retention: Duration,
}

impl Limits {
    /// The package's table over the gate's table over the defaults;
    /// `max_upload_bytes` caps the release size.
    pub fn resolve(package: &LimitsConfig, gate: &LimitsConfig, max_upload_bytes: u64) -> Self {
        let duration = |a: &Option<String>, b: &Option<String>, default: &str| {
            a.as_deref()
                .or(b.as_deref())
                .and_then(|t| parse_duration(t).ok())
                .or_else(|| parse_duration(default).ok())
                .unwrap_or(Duration::from_secs(30 * 86_400))
        };
        Self {
            max_pending_releases: package
                .max_pending_releases
                .or(gate.max_pending_releases)
                .unwrap_or(DEFAULT_MAX_PENDING_RELEASES),
            max_release_bytes: package
                .max_release_bytes
                .or(gate.max_release_bytes)
                .unwrap_or(max_upload_bytes)
                .min(max_upload_bytes),
            max_staged_bytes: package
                .max_staged_bytes
                .or(gate.max_staged_bytes)
                .unwrap_or(DEFAULT_MAX_STAGED_BYTES),
            staged_expiry: duration(
                &package.staged_expiry,
                &gate.staged_expiry,
                DEFAULT_STAGED_EXPIRY,
            ),
            rejected_retention: duration(
                &package.rejected_retention,
                &gate.rejected_retention,
                DEFAULT_REJECTED_RETENTION,
            ),
        }
    }

    /// Checks a staging of `announced` bytes against what the package
    /// already holds (`pending` undecided releases of `staged` bytes).
    pub fn admit(&self, pending: u64, staged: u64, announced: u64) -> Result<(), LimitExceeded> {
        if announced > self.max_release_bytes {
            return Err(LimitExceeded::ReleaseBytes {
                announced,
                limit: self.max_release_bytes,
            });
        }
        if pending >= u64::from(self.max_pending_releases) {
            return Err(LimitExceeded::PendingReleases {
                pending,
                limit: self.max_pending_releases,
            });
        }
        if staged.saturating_add(announced) > self.max_staged_bytes {
            return Err(LimitExceeded::StagedBytes {
                staged,
                announced,
                limit: self.max_staged_bytes,
            });
        }
        Ok(())
    }
}

/// A staging would pass one of the package's limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitExceeded {
    /// The release alone is larger than allowed.
    #[error(
        "the release's files are {announced} bytes; this package allows {limit} bytes per release (max_release_bytes)"
    )]
    ReleaseBytes {
        /// Bytes announced.
        announced: u64,
        /// The limit.
        limit: u64,
    },
    /// Too many releases wait for a decision.
    #[error(
        "{pending} releases of this package already wait for a decision (max_pending_releases = {limit}); approve, reject or let them expire first"
    )]
    PendingReleases {
        /// Undecided releases.
        pending: u64,
        /// The limit.
        limit: u32,
    },
    /// Undecided releases would hold too many bytes.
    #[error(
        "undecided releases of this package hold {staged} bytes; {announced} more would pass max_staged_bytes = {limit}"
    )]
    StagedBytes {
        /// Bytes held by undecided releases.
        staged: u64,
        /// Bytes announced.
        announced: u64,
        /// The limit.
        limit: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_overrides_the_gate_over_the_defaults() {
        let gate = LimitsConfig {
            max_pending_releases: Some(5),
            staged_expiry: Some("7d".into()),
            ..Default::default()
        };
        let package = LimitsConfig {
            max_pending_releases: Some(2),
            max_release_bytes: Some(1 << 40),
            ..Default::default()
        };
        let limits = Limits::resolve(&package, &gate, 1000);
        assert_eq!(limits.max_pending_releases, 2);
        assert_eq!(limits.max_release_bytes, 1000, "capped by max_upload_bytes");
        assert_eq!(limits.max_staged_bytes, DEFAULT_MAX_STAGED_BYTES);
        assert_eq!(limits.staged_expiry, Duration::from_secs(7 * 86_400));
        assert_eq!(limits.rejected_retention, Duration::from_secs(30 * 86_400));
    }

    #[test]
    fn admission_checks_each_limit_at_its_edge() {
        let limits = Limits {
            max_pending_releases: 2,
            max_release_bytes: 100,
            max_staged_bytes: 150,
            staged_expiry: Duration::from_secs(1),
            rejected_retention: Duration::from_secs(1),
        };
        assert_eq!(limits.admit(1, 50, 100), Ok(()));
        assert!(matches!(
            limits.admit(0, 0, 101),
            Err(LimitExceeded::ReleaseBytes { .. })
        ));
        assert!(matches!(
            limits.admit(2, 0, 1),
            Err(LimitExceeded::PendingReleases { .. })
        ));
        assert!(matches!(
            limits.admit(1, 51, 100),
            Err(LimitExceeded::StagedBytes { .. })
        ));
        assert!(matches!(
            limits.admit(1, u64::MAX, u64::MAX),
            Err(LimitExceeded::ReleaseBytes { .. })
        ));
    }

    #[test]
    fn bad_values_are_refused() {
        for (config, field) in [
            (
                LimitsConfig {
                    max_pending_releases: Some(0),
                    ..Default::default()
                },
                "max_pending_releases",
            ),
            (
                LimitsConfig {
                    max_staged_bytes: Some(0),
                    ..Default::default()
                },
                "max_staged_bytes",
            ),
            (
                LimitsConfig {
                    staged_expiry: Some("0s".into()),
                    ..Default::default()
                },
                "staged_expiry",
            ),
            (
                LimitsConfig {
                    rejected_retention: Some("soon".into()),
                    ..Default::default()
                },
                "rejected_retention",
            ),
        ] {
            assert_eq!(config.check().unwrap_err().0, field);
        }
    }
}
