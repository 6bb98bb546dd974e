//! `gate.toml`'s `blobs = "..."` and `[blobs_s3]`.

use serde::Deserialize;

use super::BlobError;

/// Default `blobs_s3.sweep_grace_minutes`: a day. Objects younger than this
/// are never swept, so an upload another replica is about to commit (S3
/// dates a multipart upload from its start) survives.
pub const DEFAULT_SWEEP_GRACE_MINUTES: u64 = 24 * 60;

/// Where the gate keeps its blobs, from `blobs = "..."`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlobLocation {
    /// `DATA/blobs/` (no `blobs` setting).
    DataDir,
    /// `s3://BUCKET/PREFIX`.
    S3 {
        /// The bucket.
        bucket: String,
        /// Key prefix without leading or trailing `/` (may be empty).
        prefix: String,
    },
}

impl BlobLocation {
    /// Parses the `blobs` setting; `None` is the data directory.
    pub fn parse(setting: Option<&str>) -> Result<Self, BlobError> {
        let Some(setting) = setting else {
            return Ok(Self::DataDir);
        };
        let invalid = |message: String| BlobError::Config {
            field: "blobs",
            message,
        };
        let rest = setting.strip_prefix("s3://").ok_or_else(|| {
            invalid(format!(
                "{setting:?} is not s3://BUCKET/PREFIX (leave `blobs` out for the data directory)"
            ))
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-'))
            && !bucket.starts_with(['.', '-'])
            && !bucket.ends_with(['.', '-']);
        if !bucket_ok {
            return Err(invalid(format!(
                "bucket {bucket:?} is not a bucket name (3 to 63 of a-z, 0-9, '.', '-')"
            )));
        }
        let prefix = prefix.trim_end_matches('/');
        let prefix_ok = prefix.len() <= 512
            && (prefix.is_empty()
                || prefix.split('/').all(|segment| {
                    !segment.is_empty()
                        && segment != "."
                        && segment != ".."
                        && segment
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                }));
        if !prefix_ok {
            return Err(invalid(format!(
                "prefix {prefix:?} must be segments of A-Z, a-z, 0-9, '-', '_', '.' separated by '/'"
            )));
        }
        Ok(Self::S3 {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }
}

/// Checks `blobs` and `[blobs_s3]` together: the field at fault and why.
pub fn check_settings(
    blobs: Option<&str>,
    s3: Option<&S3Settings>,
) -> Result<(), (&'static str, String)> {
    let location = BlobLocation::parse(blobs).map_err(|err| match err {
        BlobError::Config { field, message } => (field, message),
        other => ("blobs", other.to_string()),
    })?;
    if location == BlobLocation::DataDir && s3.is_some() {
        return Err((
            "blobs_s3",
            "is set but `blobs` is not an s3:// location".into(),
        ));
    }
    if let Some(endpoint) = s3.and_then(|s| s.endpoint.as_deref()) {
        let http = endpoint.starts_with("http://");
        if !(http || endpoint.starts_with("https://")) {
            return Err((
                "blobs_s3.endpoint",
                format!("{endpoint:?} must start with https:// (or http://)"),
            ));
        }
        if http && !s3.is_some_and(|s| s.allow_http) {
            return Err((
                "blobs_s3.endpoint",
                "is http://: credentials would travel in clear text; use https:// or set allow_http = true for a server on this machine".into(),
            ));
        }
    }
    Ok(())
}

/// `[blobs_s3]`: how to reach the bucket of `blobs = "s3://..."`. Anything
/// left out comes from the standard AWS variables (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
/// `AWS_ENDPOINT_URL`); values here win over them.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Settings {
    /// The S3 endpoint (`https://s3.example.net`); absent: AWS.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The region (`us-east-1`).
    #[serde(default)]
    pub region: Option<String>,
    /// Address buckets as `ENDPOINT/BUCKET` (true, the default, what most
    /// S3-compatible servers want) or as `BUCKET.ENDPOINT` (false).
    #[serde(default)]
    pub path_style: Option<bool>,
    /// Allow an `http://` endpoint (credentials and bytes in clear text:
    /// only for a server on the same machine).
    #[serde(default)]
    pub allow_http: bool,
    /// Access key id (prefer `AWS_ACCESS_KEY_ID`).
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// Secret access key (prefer `AWS_SECRET_ACCESS_KEY`); never logged.
    #[serde(default)]
    pub secret_access_key: Option<String>,
    /// Minutes an unreferenced object is kept before the sweep may delete it.
    #[serde(default)]
    pub sweep_grace_minutes: Option<u64>,
    /// Retries of a failed request before the operation fails (default 3).
    #[serde(default)]
    pub max_retries: Option<usize>,
    /// Seconds after which a request is no longer retried (default 30).
    #[serde(default)]
    pub retry_timeout_seconds: Option<u64>,
}

impl S3Settings {
    /// The sweep's grace period in seconds.
    pub fn sweep_grace_seconds(&self) -> u64 {
        self.sweep_grace_minutes
            .unwrap_or(DEFAULT_SWEEP_GRACE_MINUTES)
            .saturating_mul(60)
    }
}

// Written by hand so the secret never reaches a log line or an error.
impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("path_style", &self.path_style)
            .field("allow_http", &self.allow_http)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field("sweep_grace_minutes", &self.sweep_grace_minutes)
            .field("max_retries", &self.max_retries)
            .field("retry_timeout_seconds", &self.retry_timeout_seconds)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert_eq!(BlobLocation::parse(None).unwrap(), BlobLocation::DataDir);
        assert_eq!(
            BlobLocation::parse(Some("s3://my-bucket/gate/blobs/")).unwrap(),
            BlobLocation::S3 {
                bucket: "my-bucket".into(),
                prefix: "gate/blobs".into()
            }
        );
        assert_eq!(
            BlobLocation::parse(Some("s3://my-bucket")).unwrap(),
            BlobLocation::S3 {
                bucket: "my-bucket".into(),
                prefix: String::new()
            }
        );
        for bad in [
            "",
            "/srv/blobs",
            "s3://",
            "s3://ab/x",
            "s3://Bucket/x",
            "s3://bucket/../x",
            "s3://bucket/a//b",
            "s3://bucket/a b",
            "gs://bucket/x",
            "s3://-bucket/x",
        ] {
            let err = BlobLocation::parse(Some(bad)).unwrap_err();
            assert!(err.to_string().starts_with("blobs: "), "{bad}: {err}");
        }
    }

    #[test]
    fn the_secret_is_never_in_debug_output() {
        let settings = S3Settings {
            secret_access_key: Some("hunter2-very-secret".into()),
            ..S3Settings::default()
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
