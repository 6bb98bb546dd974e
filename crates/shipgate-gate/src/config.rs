//! `gate.toml`: what the gate serves and who may publish and approve.
//!
//! Relative paths (data directory, gate key) are resolved against the
//! directory of the config file, so a gate directory can be moved as a whole.
//! Unknown keys are refused with the key named (a typo such as `quorom` must
//! not silently fall back to a default).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use shipgate_oidc::{Algorithm, parse_duration};

use shipgate_protocol::names;

use crate::limits::{Limits, LimitsConfig};

/// Default cap on one staging request body: 4 GiB.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 4 << 30;
/// Default `idle_timeout_seconds`.
pub const DEFAULT_IDLE_TIMEOUT_SECONDS: u64 = 20;
/// Default `max_connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Everything that can be wrong with a config file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the schema (unknown key,
    /// wrong type, missing key): `FILE:LINE:COLUMN: message`, then the line.
    #[error("{path}:{line}:{column}: {message}{}", show_line(*.line, .snippet))]
    Parse {
        /// The config file.
        path: PathBuf,
        /// 1-based line of the problem (0 when the parser gave no position).
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// The parser's message (names the key).
        message: String,
        /// The offending line as written.
        snippet: String,
    },
    /// The file parsed but a value breaks a rule.
    #[error("{path}: {field}: {message}")]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// Dotted path of the offending field, e.g. `package[1].quorum`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

/// A whole `gate.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    /// Address to listen on, e.g. `127.0.0.1:8080` (`:0` picks a free port).
    pub listen: SocketAddr,
    /// The URL clients use to reach the gate (shown in hints, used as the
    /// audience default). It is also the issuer (`iss`) of the execution
    /// tokens, so verifiers fetch the gate's keys from it: https, or http to
    /// a loopback IP. A port of 0 takes the port actually bound (tests).
    pub public_url: String,
    /// Directory holding `gate.db` and `blobs/`.
    pub data_dir: PathBuf,
    /// Where the gate keeps its state: absent for the embedded SQLite file
    /// in the data directory, or `postgres://USER@HOST:PORT/DATABASE` for a
    /// PostgreSQL database several replicas share. Keep the password out of
    /// this file: PostgreSQL's `PGPASSWORD` variable or a `~/.pgpass` file
    /// provide it (the URL is never logged with its password).
    #[serde(default)]
    pub database: Option<String>,
    /// Where the released and staged files live: absent for `DATA/blobs/`,
    /// or `s3://BUCKET/PREFIX` (reached as `[blobs_s3]` says).
    #[serde(default)]
    pub blobs: Option<String>,
    /// How to reach the bucket of `blobs = "s3://..."`.
    #[serde(default)]
    pub blobs_s3: Option<crate::blobs::S3Settings>,
    /// The gate's minisign secret key (signs release manifests).
    pub gate_key: PathBuf,
    /// The key that seals maintainers' TOTP secrets in the database
    /// (AES-256-GCM); created 0600 on first start. Back it up separately
    /// from the database and keep it out of database backups. Default
    /// `secrets.key` beside the config file.
    #[serde(default = "default_secrets_key_file")]
    pub secrets_key_file: PathBuf,
    /// The audience CI tokens must be minted for (`aud` claim). Announced in
    /// `GET /v1/info` so `shipgate stage` can request it.
    pub audience: String,
    /// Largest accepted staging request body in bytes.
    #[serde(default = "default_max_upload")]
    pub max_upload_bytes: u64,
    /// Seconds a connection may take to send a request's headers, and may
    /// sit idle between requests, before the gate closes it; also the
    /// longest pause allowed inside a staging upload.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout_seconds: u64,
    /// Connections served at once; further clients wait in the listen
    /// backlog until one closes.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// A local OIDC issuer the gate itself serves (only for `serve --dev`
    /// and tests): its key directory, served under `{public_url}/dev-issuer`.
    #[serde(default)]
    pub dev_issuer_keys: Option<PathBuf>,
    /// Dev only, with `dev_issuer_keys`: the bearer token a caller must
    /// present to the dev issuer's GitHub-compatible token endpoint
    /// (`{public_url}/dev-issuer/token`, what `ACTIONS_ID_TOKEN_REQUEST_URL`
    /// points at in GitHub Actions). Absent: no token endpoint.
    #[serde(default)]
    pub dev_issuer_request_token: Option<String>,
    /// The execution tokens the gate issues for released releases.
    #[serde(default)]
    pub execution_tokens: ExecutionTokenConfig,
    /// Seconds between housekeeping passes (expiry of undecided releases,
    /// deletion of rejected releases' files).
    #[serde(default = "default_maintenance_interval")]
    pub maintenance_interval_seconds: u64,
    /// Default limits on what a package may keep staged (see [`crate::limits`]).
    #[serde(default)]
    pub limits: LimitsConfig,
    /// PEM certificate chain for serving HTTPS itself (with `tls_key`);
    /// re-read on SIGHUP. Absent: plain HTTP (behind a TLS proxy).
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`; must be mode 0600.
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// A second address serving `/metrics` and `/healthz` only (for a
    /// scraper). Absent: `/metrics` is not served at all.
    #[serde(default)]
    pub metrics_listen: Option<SocketAddr>,
    /// `/healthz` fails when the data directory's file system has less
    /// free space than this (default 1 GiB).
    #[serde(default = "default_min_free_disk")]
    pub min_free_disk_bytes: u64,
    /// How the gate retries publishing to registries (`[publishing]`).
    #[serde(default)]
    pub publishing: crate::targets::PublishingConfig,
    /// Webhooks told about every package (`[[webhook]]`).
    #[serde(default, rename = "webhook")]
    pub webhooks: Vec<crate::webhook_config::WebhookConfig>,
    /// How webhooks are called and retried (`[webhook_delivery]`).
    #[serde(default)]
    pub webhook_delivery: crate::webhook_config::WebhookDeliveryConfig,
    /// The packages this gate releases.
    #[serde(default, rename = "package")]
    pub packages: Vec<PackageConfig>,
    /// Witnesses asked to cosign each new checkpoint (`[[witness]]`).
    #[serde(default, rename = "witness")]
    pub witnesses: Vec<WitnessConfig>,
    /// Directory the config was read from (relative paths are resolved against it).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

fn default_maintenance_interval() -> u64 {
    600
}

fn default_secrets_key_file() -> PathBuf {
    PathBuf::from("secrets.key")
}

fn default_max_upload() -> u64 {
    DEFAULT_MAX_UPLOAD_BYTES
}

fn default_idle_timeout() -> u64 {
    DEFAULT_IDLE_TIMEOUT_SECONDS
}

fn default_min_free_disk() -> u64 {
    1 << 30
}

fn default_max_connections() -> usize {
    DEFAULT_MAX_CONNECTIONS
}

/// One `[[witness]]`: a C2SP tlog-witness the gate asks to cosign its
/// checkpoints (see `crate::tlog::witnesses`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessConfig {
    /// The witness's name; must be the name in its key.
    pub name: String,
    /// The witness's URL prefix: the gate posts to `{url}/add-checkpoint`.
    pub url: String,
    /// Its verifier key, `<name>+<key id>+<base64 key>` (or `key_file`).
    #[serde(default)]
    pub key: Option<String>,
    /// A file holding the verifier key (relative to the config file).
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Seconds after which a cosignature is renewed even when the log did
    /// not grow, so clients checking `--max-age` see the gate is alive.
    #[serde(default = "default_witness_refresh")]
    pub refresh_seconds: u64,
}

fn default_witness_refresh() -> u64 {
    300
}

/// One `[[package]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageConfig {
    /// The package name.
    pub name: String,
    /// User names allowed to approve (each must also be enrolled with
    /// `shipgate admin enroll USER --package NAME`).
    pub maintainers: Vec<String>,
    /// Distinct maintainers needed to release.
    #[serde(default = "one")]
    pub quorum: u32,
    /// CI identities allowed to stage.
    #[serde(default, rename = "publisher")]
    pub publishers: Vec<PublisherConfig>,
    /// The `aud` of this package's execution tokens (what its deploy step
    /// passes as `shipgate oidc verify --audience`); default `deploy:<name>`.
    #[serde(default)]
    pub execution_audience: Option<String>,
    /// Overrides of the gate's `[limits]` for this package.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Registries the gate publishes approved releases to (`[[package.target]]`).
    #[serde(default, rename = "target")]
    pub targets: Vec<crate::targets::TargetConfig>,
    /// Webhooks told about this package (`[[package.webhook]]`).
    #[serde(default, rename = "webhook")]
    pub webhooks: Vec<crate::webhook_config::WebhookConfig>,
    /// How maintainers must decide: `any` (TOTP or passkey, the default) or
    /// `passkey` (TOTP decisions are refused for this package).
    #[serde(default)]
    pub approval: ApprovalMode,
}

/// The second factor a package's decisions must use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalMode {
    /// A TOTP code or a passkey.
    #[default]
    Any,
    /// Only a passkey assertion (verifiable by anyone from the log).
    Passkey,
}

impl ApprovalMode {
    /// The word gate.toml and the `package_policy` leaf use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::Passkey => "passkey",
        }
    }
}

fn one() -> u32 {
    1
}

impl PackageConfig {
    /// The audience of this package's execution tokens.
    pub fn execution_audience(&self) -> String {
        self.execution_audience
            .clone()
            .unwrap_or_else(|| format!("deploy:{}", self.name))
    }
}

/// Default lifetime of an execution token.
pub const DEFAULT_EXECUTION_TTL: Duration = Duration::from_secs(600);
/// Longest lifetime an execution token may be given: it authorizes one
/// deploy right after the release, not a standing credential.
pub const MAX_EXECUTION_TTL: Duration = Duration::from_secs(3600);

/// `[execution_tokens]`: the gate as an OIDC issuer of execution tokens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutionTokenConfig {
    /// The algorithm of the key generated in `DATA/oidc-keys/` on first
    /// start (`RS256`, `ES256` or `EdDSA`); later keys are whatever an
    /// operator adds there.
    #[serde(default = "default_execution_algorithm")]
    pub algorithm: String,
    /// Lifetime of each token, e.g. `10m` (at most `1h`).
    #[serde(default = "default_execution_ttl")]
    pub ttl: String,
}

impl Default for ExecutionTokenConfig {
    fn default() -> Self {
        Self {
            algorithm: default_execution_algorithm(),
            ttl: default_execution_ttl(),
        }
    }
}

fn default_execution_algorithm() -> String {
    "RS256".into()
}

fn default_execution_ttl() -> String {
    "10m".into()
}

impl ExecutionTokenConfig {
    /// The key algorithm (validated when the config is loaded).
    pub fn algorithm(&self) -> Algorithm {
        Algorithm::from_user(&self.algorithm).unwrap_or(Algorithm::RS256)
    }

    /// The lifetime (validated when the config is loaded).
    pub fn ttl(&self) -> Duration {
        parse_duration(&self.ttl).unwrap_or(DEFAULT_EXECUTION_TTL)
    }
}

/// The CI provider a trusted-publisher binding is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// GitHub Actions.
    Github,
    /// GitLab CI.
    Gitlab,
}

/// One `[[package.publisher]]`: the CI identity allowed to stage the package.
///
/// Required for GitHub: `repository_owner_id`, `environment` and `ref`
/// (`"*"` says "any" on purpose); for GitLab: `project_id`. A missing one
/// stops the gate at start with the file, package and field named.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublisherConfig {
    /// `github` or `gitlab`.
    pub provider: Provider,
    /// The token issuer URL (e.g. `https://token.actions.githubusercontent.com`).
    pub issuer: String,
    /// `owner/repo` (GitHub) or `group/project` (GitLab).
    pub repository: String,
    /// GitHub: the owner's numeric id (required). It survives renames, so an
    /// owner deleted and re-created under the same name does not inherit
    /// the binding.
    #[serde(default)]
    pub repository_owner_id: Option<String>,
    /// GitHub: the repository's numeric id (optional, checked when set):
    /// refuses a repository deleted and re-created under the same name.
    #[serde(default)]
    pub repository_id: Option<String>,
    /// GitLab: the project's numeric id (required), for the same reason.
    #[serde(default)]
    pub project_id: Option<String>,
    /// The workflow file: `.github/workflows/release.yml` (GitHub; the
    /// `.github/workflows/` prefix is optional) or the CI config path
    /// (GitLab, e.g. `.gitlab-ci.yml`).
    pub workflow: String,
    /// GitHub only: the `owner/repo` holding the workflow when the publishing
    /// job is a reusable workflow from another repository (matched against
    /// `job_workflow_ref` instead of `workflow_ref`).
    #[serde(default)]
    pub workflow_repository: Option<String>,
    /// The deployment environment the job must run in; `"*"`: any (or none).
    /// Required for GitHub.
    #[serde(default)]
    pub environment: Option<String>,
    /// Glob over the git ref, e.g. `refs/tags/v*`; `"*"`: any ref (a pull
    /// request's `refs/pull/...` is refused whatever this says). Required
    /// for GitHub.
    #[serde(default, rename = "ref")]
    pub ref_glob: Option<String>,
    /// GitHub only: the `event_name`s accepted. Default: push, release,
    /// workflow_dispatch, schedule.
    #[serde(default)]
    pub events: Option<Vec<String>>,
}

/// The value of `environment` or `ref` that accepts anything, on purpose.
pub const ANY: &str = "*";

impl PublisherConfig {
    /// The environment to require, `None` for any.
    pub fn required_environment(&self) -> Option<&str> {
        self.environment.as_deref().filter(|e| *e != ANY)
    }

    /// The ref glob to require, `None` for any.
    pub fn required_ref(&self) -> Option<&str> {
        self.ref_glob.as_deref().filter(|r| *r != ANY)
    }

    /// The accepted GitHub events.
    pub fn accepted_events(&self) -> Vec<String> {
        match &self.events {
            Some(events) => events.clone(),
            None => shipgate_oidc::binding::DEFAULT_GITHUB_EVENTS
                .map(str::to_owned)
                .to_vec(),
        }
    }

    /// Checks one binding of package `package`; `Err((field, message))`
    /// names the field (relative to the binding) and says how to fix it.
    fn validate(&self, package: &str) -> Result<(), (&'static str, String)> {
        if !self.issuer.starts_with("https://") && !self.issuer.starts_with("http://") {
            return Err(("issuer", "must be an http(s) URL".into()));
        }
        if self.repository.split('/').filter(|s| !s.is_empty()).count() < 2 {
            return Err((
                "repository",
                format!("{:?} is not OWNER/REPO", self.repository),
            ));
        }
        if self.workflow.trim().is_empty() {
            return Err(("workflow", "must not be empty".into()));
        }
        match self.provider {
            Provider::Github => self.validate_github(package),
            Provider::Gitlab => self.validate_gitlab(package),
        }
    }

    fn validate_github(&self, package: &str) -> Result<(), (&'static str, String)> {
        let missing = |what: &str, hint: &str| {
            format!(
                "is required for the GitHub publisher of package {package:?} ({what}); hint: {hint}"
            )
        };
        match self.repository_owner_id.as_deref() {
            None | Some("") => {
                return Err((
                    "repository_owner_id",
                    missing(
                        "the numeric id survives renames: an owner deleted and re-created under the same name must not inherit the binding",
                        "add repository_owner_id = \"<id>\" (the `repository_owner_id` claim of a token from this repository, or `gh api repos/OWNER/REPO --jq .owner.id`)",
                    ),
                ));
            }
            Some(id) => numeric("repository_owner_id", id)?,
        }
        if let Some(id) = &self.repository_id {
            numeric("repository_id", id)?;
        }
        match self.environment.as_deref() {
            None => {
                return Err((
                    "environment",
                    missing(
                        "the deployment environment the publishing job runs in",
                        "add environment = \"release\" or environment = \"*\"",
                    ),
                ));
            }
            Some(env) => check_environment(env)?,
        }
        match self.ref_glob.as_deref() {
            None => {
                return Err((
                    "ref",
                    missing(
                        "the git refs releases are built from",
                        "add ref = \"refs/tags/v*\" or ref = \"*\"",
                    ),
                ));
            }
            Some(glob) => check_ref_glob(glob)?,
        }
        if let Some(events) = &self.events {
            check_events(events)?;
        }
        if self.project_id.is_some() {
            return Err((
                "project_id",
                "is for GitLab; a GitHub binding pins repository_owner_id and repository_id".into(),
            ));
        }
        Ok(())
    }

    fn validate_gitlab(&self, package: &str) -> Result<(), (&'static str, String)> {
        if self.workflow_repository.is_some() {
            return Err((
                "workflow_repository",
                "is only for GitHub reusable workflows".into(),
            ));
        }
        for (field, set) in [
            ("repository_owner_id", self.repository_owner_id.is_some()),
            ("repository_id", self.repository_id.is_some()),
            ("events", self.events.is_some()),
        ] {
            if set {
                let hint = if field == "repository_owner_id" {
                    "; hint: for GitLab the project's numeric id goes in project_id (rename the key)"
                } else {
                    ""
                };
                return Err((field, format!("is only for GitHub bindings{hint}")));
            }
        }
        match self.project_id.as_deref() {
            None | Some("") => Err((
                "project_id",
                format!(
                    "is required for the GitLab publisher of package {package:?} (the numeric id survives renames: a project deleted and re-created under the same path must not inherit the binding); hint: add project_id = \"<id>\" (the `project_id` claim of a token from this project, shown on the project's overview page)"
                ),
            )),
            Some(id) => numeric("project_id", id),
        }?;
        if let Some(env) = &self.environment {
            check_environment(env)?;
        }
        if let Some(glob) = &self.ref_glob {
            check_ref_glob(glob)?;
        }
        Ok(())
    }
}

fn check_environment(env: &str) -> Result<(), (&'static str, String)> {
    if env.trim().is_empty() || env.trim() != env {
        return Err((
            "environment",
            format!(
                "{env:?} is not an environment name; hint: environment = \"release\" or environment = \"*\""
            ),
        ));
    }
    Ok(())
}

/// A numeric id as the providers write it: decimal digits.
fn numeric(field: &'static str, id: &str) -> Result<(), (&'static str, String)> {
    if !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err((field, format!("{id:?} is not a numeric id")))
    }
}

fn check_ref_glob(glob: &str) -> Result<(), (&'static str, String)> {
    if glob == ANY {
        return Ok(());
    }
    if glob.trim().is_empty() || glob.trim() != glob {
        return Err((
            "ref",
            format!("{glob:?} is not a ref pattern; hint: ref = \"refs/tags/v*\" or ref = \"*\""),
        ));
    }
    // `main` or `v*` never match: the ref claim is a full name. Patterns
    // that start with a glob character (`{refs/tags/*,refs/heads/main}`)
    // are left to the glob.
    if glob.starts_with(|c: char| c.is_ascii_alphanumeric()) && !glob.starts_with("refs/") {
        return Err((
            "ref",
            format!(
                "{glob:?} never matches: refs are full names; hint: ref = \"refs/tags/{glob}\" or ref = \"refs/heads/{glob}\""
            ),
        ));
    }
    shipgate_oidc::binding::check_ref_pattern(glob)
        .map_err(|_| ("ref", format!("{glob:?} is not a valid pattern")))
}

fn check_events(events: &[String]) -> Result<(), (&'static str, String)> {
    use shipgate_oidc::binding::REFUSED_GITHUB_EVENTS;
    if events.is_empty() {
        return Err((
            "events",
            "is empty, so no token could ever stage; hint: remove it to accept push, release, workflow_dispatch and schedule".into(),
        ));
    }
    for event in events {
        if event.is_empty() || !event.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(("events", format!("{event:?} is not a GitHub event name")));
        }
        if REFUSED_GITHUB_EVENTS.contains(&event.as_str()) {
            return Err((
                "events",
                format!(
                    "{event:?} is always refused: it runs with the repository's privileges on behalf of a fork"
                ),
            ));
        }
        if event == "pull_request" {
            return Err((
                "events",
                "\"pull_request\" runs carry a refs/pull/... ref, which is never accepted for a release".into(),
            ));
        }
    }
    Ok(())
}

impl GateConfig {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Self::parse(&text, path, &base)
    }

    /// Parses and validates config text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path, base_dir: &Path) -> Result<Self, ConfigError> {
        let mut config: GateConfig =
            toml::from_str(text).map_err(|err| parse_error(path, text, &err))?;
        config.base_dir = if base_dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            base_dir.to_owned()
        };
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |field: String, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            field,
            message,
        };
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            return Err(invalid(
                "public_url".into(),
                "must start with http:// or https://".into(),
            ));
        }
        crate::tlog::witnesses::check_config(&self.witnesses, &self.base_dir)
            .map_err(|(field, message)| invalid(field, message))?;
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(invalid(
                "tls_cert".into(),
                "tls_cert and tls_key must be given together".into(),
            ));
        }
        if let Err(message) =
            crate::storage::Location::parse(self.database.as_deref(), Path::new(""))
        {
            return Err(invalid("database".into(), message));
        }
        if self.audience.trim().is_empty() {
            return Err(invalid("audience".into(), "must not be empty".into()));
        }
        crate::blobs::check_settings(self.blobs.as_deref(), self.blobs_s3.as_ref())
            .map_err(|(field, message)| invalid(field.into(), message))?;
        if !(1..=3600).contains(&self.idle_timeout_seconds) {
            return Err(invalid(
                "idle_timeout_seconds".into(),
                "must be between 1 and 3600".into(),
            ));
        }
        if !(1..=1_000_000).contains(&self.max_connections) {
            return Err(invalid(
                "max_connections".into(),
                "must be between 1 and 1000000".into(),
            ));
        }
        if self.max_upload_bytes == 0 {
            return Err(invalid(
                "max_upload_bytes".into(),
                "must be greater than 0".into(),
            ));
        }
        if Algorithm::from_user(&self.execution_tokens.algorithm).is_none() {
            return Err(invalid(
                "execution_tokens.algorithm".into(),
                format!(
                    "{:?} is not one of RS256, ES256, EdDSA",
                    self.execution_tokens.algorithm
                ),
            ));
        }
        match parse_duration(&self.execution_tokens.ttl) {
            Ok(ttl) if !ttl.is_zero() && ttl <= MAX_EXECUTION_TTL => {}
            Ok(_) => {
                return Err(invalid(
                    "execution_tokens.ttl".into(),
                    format!("{:?} is outside 1s..=1h", self.execution_tokens.ttl),
                ));
            }
            Err(err) => return Err(invalid("execution_tokens.ttl".into(), err.to_string())),
        }
        if self
            .dev_issuer_request_token
            .as_deref()
            .is_some_and(|t| t.len() < 16)
        {
            return Err(invalid(
                "dev_issuer_request_token".into(),
                "must be at least 16 characters".into(),
            ));
        }
        if self.dev_issuer_request_token.is_some() && self.dev_issuer_keys.is_none() {
            return Err(invalid(
                "dev_issuer_request_token".into(),
                "needs dev_issuer_keys (the key directory the endpoint signs with)".into(),
            ));
        }
        self.limits
            .check()
            .map_err(|(field, why)| invalid(format!("limits.{field}"), why))?;
        let mut seen = BTreeSet::new();
        for (i, package) in self.packages.iter().enumerate() {
            let at = |field: &str| format!("package[{i}].{field}");
            package
                .limits
                .check()
                .map_err(|(field, why)| invalid(at(&format!("limits.{field}")), why))?;
            names::package(&package.name).map_err(|e| invalid(at("name"), e.to_string()))?;
            if !seen.insert(package.name.as_str()) {
                return Err(invalid(
                    at("name"),
                    format!("package {:?} is listed twice", package.name),
                ));
            }
            let mut maintainers = BTreeSet::new();
            for name in &package.maintainers {
                names::maintainer(name).map_err(|e| invalid(at("maintainers"), e.to_string()))?;
                if !maintainers.insert(name.as_str()) {
                    return Err(invalid(
                        at("maintainers"),
                        format!("{name:?} is listed twice"),
                    ));
                }
            }
            if package.quorum == 0 {
                return Err(invalid(at("quorum"), "must be at least 1".into()));
            }
            if let Some(audience) = &package.execution_audience
                && (audience.trim().is_empty() || audience.trim() != audience)
            {
                return Err(invalid(
                    at("execution_audience"),
                    "must be non-empty, without surrounding spaces".into(),
                ));
            }
            if package.quorum as usize > package.maintainers.len() {
                return Err(invalid(
                    at("quorum"),
                    format!(
                        "is {} but only {} maintainer(s) are listed; the package could never be released",
                        package.quorum,
                        package.maintainers.len()
                    ),
                ));
            }
            for (j, target) in package.targets.iter().enumerate() {
                target.validate().map_err(|(field, message)| {
                    invalid(format!("package[{i}].target[{j}].{field}"), message)
                })?;
            }
            for (j, publisher) in package.publishers.iter().enumerate() {
                publisher
                    .validate(&package.name)
                    .map_err(|(field, message)| {
                        invalid(format!("package[{i}].publisher[{j}].{field}"), message)
                    })?;
            }
        }
        crate::webhook_config::validate_all(self)
            .map_err(|(field, message)| invalid(field, message))?;
        Ok(())
    }

    /// The data directory, resolved against the config file's directory.
    pub fn data_dir(&self) -> PathBuf {
        self.base_dir.join(&self.data_dir)
    }

    /// Where the gate keeps its state.
    pub fn database(&self) -> Result<crate::storage::Location, crate::storage::StorageError> {
        crate::storage::Location::parse(self.database.as_deref(), &self.data_dir())
            .map_err(crate::storage::StorageError::Location)
    }

    /// The gate key path, resolved against the config file's directory.
    pub fn gate_key_path(&self) -> PathBuf {
        self.base_dir.join(&self.gate_key)
    }

    /// The limits in force for `package` (its own table over `[limits]`
    /// over the defaults).
    pub fn limits_for(&self, package: &PackageConfig) -> Limits {
        Limits::resolve(&package.limits, &self.limits, self.max_upload_bytes)
    }

    /// The secrets key path, resolved against the config file's directory.
    pub fn secrets_key_path(&self) -> PathBuf {
        self.base_dir.join(&self.secrets_key_file)
    }

    /// Loads (creating on first use) the key that seals TOTP secrets.
    pub fn secrets_key(&self) -> Result<crate::secrets::SecretsKey, crate::secrets::SecretsError> {
        crate::secrets::SecretsKey::load_or_create(&self.secrets_key_path())
    }

    /// The TLS certificate and key paths, resolved like the other paths.
    pub fn tls_paths(&self) -> Option<(PathBuf, PathBuf)> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some((self.base_dir.join(cert), self.base_dir.join(key))),
            _ => None,
        }
    }

    /// The dev issuer key directory, if any, resolved like the other paths.
    pub fn dev_issuer_keys_path(&self) -> Option<PathBuf> {
        self.dev_issuer_keys.as_ref().map(|p| self.base_dir.join(p))
    }

    /// The `[[package]]` with this name.
    pub fn package(&self, name: &str) -> Option<&PackageConfig> {
        self.packages.iter().find(|p| p.name == name)
    }
}

/// toml's messages span several lines (with a source excerpt); keep the
/// position and the message, which name the key.
/// A TOML error as `FILE:LINE:COLUMN: message` with the offending line.
fn parse_error(path: &Path, text: &str, err: &toml::de::Error) -> ConfigError {
    let (line, column, snippet) = match err.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            let snippet = text.lines().nth(line - 1).unwrap_or("").to_owned();
            (line, column, snippet)
        }
        None => (0, 0, String::new()),
    };
    ConfigError::Parse {
        path: path.to_owned(),
        line,
        column,
        message: one_line(err.message()),
        snippet,
    }
}

/// The offending line, shown under the message (escaped: a config file
/// may hold anything).
fn show_line(line: usize, snippet: &str) -> String {
    if snippet.trim().is_empty() {
        return String::new();
    }
    format!(
        "\n    {line} | {}",
        shipgate_protocol::untrusted::escape_for_terminal(snippet)
    )
}

fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| {
            !line.is_empty()
                && !line.starts_with('|')
                && !line.chars().all(|c| c == '^' || c == ' ' || c == '|')
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1:8080"
data_dir = "data"
gate_key = "gate.key"
audience = "shipgate"

[[package]]
name = "hello"
maintainers = ["alice", "bob"]
quorum = 2

[[package.publisher]]
provider = "github"
issuer = "https://token.actions.githubusercontent.com"
repository = "acme/hello"
repository_owner_id = "42"
workflow = ".github/workflows/release.yml"
environment = "release"
ref = "refs/tags/v*"
"#;

    fn parse(text: &str) -> Result<GateConfig, ConfigError> {
        GateConfig::parse(text, Path::new("gate.toml"), Path::new("/srv/gate"))
    }

    #[test]
    fn parses_a_full_config_and_resolves_paths() {
        let config = parse(GOOD).unwrap();
        assert_eq!(config.data_dir(), PathBuf::from("/srv/gate/data"));
        assert_eq!(config.gate_key_path(), PathBuf::from("/srv/gate/gate.key"));
        let pkg = config.package("hello").unwrap();
        assert_eq!(pkg.quorum, 2);
        assert_eq!(pkg.publishers[0].provider, Provider::Github);
        assert_eq!(pkg.publishers[0].ref_glob.as_deref(), Some("refs/tags/v*"));
        assert_eq!(config.max_upload_bytes, DEFAULT_MAX_UPLOAD_BYTES);
    }

    #[test]
    fn approval_is_any_unless_passkey_is_asked_for() {
        let config = parse(GOOD).unwrap();
        assert_eq!(config.package("hello").unwrap().approval, ApprovalMode::Any);
        let text = GOOD.replace("quorum = 2", "quorum = 2\napproval = \"passkey\"");
        let config = parse(&text).unwrap();
        assert_eq!(
            config.package("hello").unwrap().approval,
            ApprovalMode::Passkey
        );
        let text = GOOD.replace("quorum = 2", "quorum = 2\napproval = \"webauthn\"");
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains("webauthn") || err.contains("approval"),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_the_key_named() {
        let text = GOOD.replace("quorum = 2", "quorom = 2");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("quorom"), "{err}");
        let text = GOOD.replace("ref = ", "git_ref = ");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("git_ref"), "{err}");
        let text = format!("colour = \"blue\"\n{GOOD}");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("colour"), "{err}");
        // One line of message, then the offending line of the file.
        assert_eq!(err.lines().count(), 2, "{err}");
        assert!(
            err.lines()
                .nth(1)
                .is_some_and(|l| l.ends_with("| colour = \"blue\"")),
            "{err}"
        );
    }

    #[test]
    fn rule_violations_name_the_field() {
        let cases = [
            (
                GOOD.replace("quorum = 2", "quorum = 3"),
                "package[0].quorum",
            ),
            (
                GOOD.replace("quorum = 2", "quorum = 0"),
                "package[0].quorum",
            ),
            (
                GOOD.replace("\"bob\"", "\"alice\""),
                "package[0].maintainers",
            ),
            (
                GOOD.replace("name = \"hello\"", "name = \"../x\""),
                "package[0].name",
            ),
            (
                GOOD.replace("repository = \"acme/hello\"", "repository = \"acme\""),
                "package[0].publisher[0].repository",
            ),
            (
                GOOD.replace("http://127.0.0.1:8080", "ftp://x"),
                "public_url",
            ),
            (
                GOOD.replace("provider = \"github\"", "provider = \"jenkins\""),
                "jenkins",
            ),
            (
                GOOD.replace("listen = \"127.0.0.1:0\"", "listen = \"nowhere\""),
                "listen",
            ),
        ];
        for (text, needle) in cases {
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains(needle), "expected {needle:?} in {err}");
        }
        let twice = format!("{GOOD}\n[[package]]\nname = \"hello\"\nmaintainers = [\"carol\"]\n");
        let err = parse(&twice).unwrap_err().to_string();
        assert!(err.contains("listed twice"), "{err}");
    }

    #[test]
    fn execution_tokens_have_documented_defaults_and_checked_values() {
        let config = parse(GOOD).unwrap();
        assert_eq!(config.execution_tokens.algorithm(), Algorithm::RS256);
        assert_eq!(config.execution_tokens.ttl(), DEFAULT_EXECUTION_TTL);
        assert_eq!(config.packages[0].execution_audience(), "deploy:hello");

        let text = GOOD
            .replace(
                "[[package]]",
                "[execution_tokens]\nalgorithm = \"eddsa\"\nttl = \"90s\"\n\n[[package]]",
            )
            .replace(
                "quorum = 2",
                "quorum = 2\nexecution_audience = \"https://deploy.example\"",
            );
        let config = parse(&text).unwrap();
        assert_eq!(config.execution_tokens.algorithm(), Algorithm::EdDSA);
        assert_eq!(config.execution_tokens.ttl(), Duration::from_secs(90));
        assert_eq!(
            config.packages[0].execution_audience(),
            "https://deploy.example"
        );

        let with = |table: &str| GOOD.replace("[[package]]", &format!("{table}\n\n[[package]]"));
        for (text, needle) in [
            (
                with("[execution_tokens]\nalgorithm = \"HS256\""),
                "execution_tokens.algorithm",
            ),
            (with("[execution_tokens]\nttl = \"2h\""), "execution_tokens.ttl"),
            (with("[execution_tokens]\nttl = \"0s\""), "execution_tokens.ttl"),
            (with("[execution_tokens]\nttl = \"ten\""), "execution_tokens.ttl"),
            (with("[execution_tokens]\nkey = \"x\""), "key"),
            (
                GOOD.replace("quorum = 2", "quorum = 2\nexecution_audience = \" \""),
                "package[0].execution_audience",
            ),
            (
                GOOD.replace(
                    "audience = \"shipgate\"",
                    "audience = \"shipgate\"\ndev_issuer_request_token = \"0123456789abcdef\"",
                ),
                "dev_issuer_request_token",
            ),
            (
                GOOD.replace(
                    "audience = \"shipgate\"",
                    "audience = \"shipgate\"\ndev_issuer_keys = \"k\"\ndev_issuer_request_token = \"short\"",
                ),
                "dev_issuer_request_token",
            ),
        ] {
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains(needle), "expected {needle:?} in {err}");
        }
    }

    const GITLAB: &str = r#"
[[package.publisher]]
provider = "gitlab"
issuer = "https://gitlab.com"
repository = "acme/hello"
project_id = "5678"
workflow = ".gitlab-ci.yml"
"#;

    /// The error line for `text`, which must be refused.
    fn refused(text: &str) -> String {
        let err = parse(text).unwrap_err().to_string();
        assert!(!err.contains('\n'), "one line: {err}");
        err
    }

    #[test]
    fn github_bindings_require_environment_and_ref_unless_star() {
        let err = refused(&GOOD.replace("environment = \"release\"\n", ""));
        assert!(
            err.starts_with("gate.toml: package[0].publisher[0].environment: is required"),
            "{err}"
        );
        assert!(err.contains("package \"hello\""), "{err}");
        assert!(
            err.contains("hint: add environment = \"release\" or environment = \"*\""),
            "{err}"
        );
        let err = refused(&GOOD.replace("ref = \"refs/tags/v*\"\n", ""));
        assert!(
            err.contains("package[0].publisher[0].ref: is required"),
            "{err}"
        );
        assert!(err.contains("package \"hello\""), "{err}");
        assert!(
            err.contains("hint: add ref = \"refs/tags/v*\" or ref = \"*\""),
            "{err}"
        );

        // "*" on purpose: any environment, any ref.
        let text = GOOD
            .replace("environment = \"release\"", "environment = \"*\"")
            .replace("ref = \"refs/tags/v*\"", "ref = \"*\"");
        let config = parse(&text).unwrap();
        let publisher = &config.packages[0].publishers[0];
        assert_eq!(publisher.required_environment(), None);
        assert_eq!(publisher.required_ref(), None);
        let config = parse(GOOD).unwrap();
        let publisher = &config.packages[0].publishers[0];
        assert_eq!(publisher.required_environment(), Some("release"));
        assert_eq!(publisher.required_ref(), Some("refs/tags/v*"));
        assert_eq!(
            publisher.accepted_events(),
            ["push", "release", "workflow_dispatch", "schedule"]
        );

        for (from, to, field) in [
            (
                "environment = \"release\"",
                "environment = \"\"",
                "environment",
            ),
            (
                "environment = \"release\"",
                "environment = \" release\"",
                "environment",
            ),
            ("ref = \"refs/tags/v*\"", "ref = \"\"", "ref"),
            ("ref = \"refs/tags/v*\"", "ref = \"v*\"", "ref"),
            ("ref = \"refs/tags/v*\"", "ref = \"main\"", "ref"),
            ("ref = \"refs/tags/v*\"", "ref = \"refs/tags/[v\"", "ref"),
            (
                "repository_owner_id = \"42\"",
                "repository_owner_id = \"42\"\nrepository_id = \"acme\"",
                "repository_id",
            ),
            (
                "repository_owner_id = \"42\"",
                "repository_owner_id = \"4 2\"",
                "repository_owner_id",
            ),
            ("repository_owner_id = \"42\"", "", "repository_owner_id"),
            (
                "repository_owner_id = \"42\"",
                "repository_owner_id = \"42\"\nproject_id = \"7\"",
                "project_id",
            ),
        ] {
            let err = refused(&GOOD.replace(from, to));
            assert!(
                err.contains(&format!("package[0].publisher[0].{field}: ")),
                "{to}: {err}"
            );
        }
        let text = GOOD.replace(
            "repository_owner_id = \"42\"",
            "repository_owner_id = \"42\"\nrepository_id = \"74\"",
        );
        let config = parse(&text).unwrap();
        assert_eq!(
            config.packages[0].publishers[0].repository_id.as_deref(),
            Some("74")
        );
    }

    #[test]
    fn github_events_are_checked() {
        let with_events =
            |events: &str| GOOD.replace("ref = ", &format!("events = {events}\nref = "));
        let config = parse(&with_events("[\"release\", \"issue_comment\"]")).unwrap();
        assert_eq!(
            config.packages[0].publishers[0].accepted_events(),
            ["release", "issue_comment"]
        );
        for (events, needle) in [
            ("[]", "no token could ever stage"),
            ("[\"pull_request_target\"]", "always refused"),
            ("[\"workflow_run\"]", "always refused"),
            ("[\"pull_request\"]", "refs/pull/"),
            ("[\"Push\"]", "not a GitHub event name"),
            ("[\"\"]", "not a GitHub event name"),
        ] {
            let err = refused(&with_events(events));
            assert!(err.contains("package[0].publisher[0].events: "), "{err}");
            assert!(err.contains(needle), "{events}: {err}");
        }
    }

    #[test]
    fn gitlab_bindings_require_project_id() {
        let gitlab = |publisher: &str| {
            let start = GOOD.find("[[package.publisher]]").unwrap();
            format!("{}{publisher}", &GOOD[..start])
        };
        let config = parse(&gitlab(GITLAB)).unwrap();
        let publisher = &config.packages[0].publishers[0];
        assert_eq!(publisher.project_id.as_deref(), Some("5678"));
        assert_eq!(publisher.required_environment(), None);

        let err = refused(&gitlab(&GITLAB.replace("project_id = \"5678\"\n", "")));
        assert!(
            err.contains("package[0].publisher[0].project_id: is required"),
            "{err}"
        );
        assert!(err.contains("package \"hello\""), "{err}");
        assert!(err.contains("hint: add project_id = "), "{err}");
        // The key older gates used for the project id: told to rename it.
        let err = refused(&gitlab(
            &GITLAB.replace("project_id", "repository_owner_id"),
        ));
        assert!(
            err.contains("package[0].publisher[0].repository_owner_id: "),
            "{err}"
        );
        assert!(err.contains("rename the key"), "{err}");
        for (extra, field) in [
            ("events = [\"push\"]", "events"),
            ("repository_id = \"1\"", "repository_id"),
            ("workflow_repository = \"a/b\"", "workflow_repository"),
        ] {
            let err = refused(&gitlab(&format!("{GITLAB}{extra}\n")));
            assert!(err.contains(&format!("publisher[0].{field}: ")), "{err}");
        }
        let err = refused(&gitlab(&format!("{GITLAB}environment = \"\"\n")));
        assert!(err.contains("publisher[0].environment: "), "{err}");
        let err = refused(&gitlab(&GITLAB.replace("\"5678\"", "\"x\"")));
        assert!(
            err.contains("project_id: \"x\" is not a numeric id"),
            "{err}"
        );
    }

    #[test]
    fn garbage_is_a_parse_error_not_a_panic() {
        for text in [
            "",
            "\0\0\0",
            "[[package]",
            "listen = 5",
            "\u{feff}listen = \"x\"",
        ] {
            assert!(parse(text).is_err(), "{text:?}");
        }
    }

    /// Errors name the file, line and column of the first problem in the
    /// file (not the alphabetically first), and show the line.
    #[test]
    fn parse_errors_point_at_the_first_unknown_key_with_its_line() {
        let text = "listen = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1\"\nzeta = 1\n\
                    data_dir = \"data\"\ngate_key = \"gate.key\"\nalpha = 2\naudience = \"x\"\n";
        let err = parse(text).unwrap_err();
        let ConfigError::Parse {
            line,
            column,
            ref message,
            ref snippet,
            ..
        } = err
        else {
            panic!("{err}")
        };
        assert_eq!((line, column), (3, 1), "{err}");
        assert!(message.contains("`zeta`"), "{message}");
        assert_eq!(snippet, "zeta = 1");
        let shown = err.to_string();
        assert!(
            shown.starts_with("gate.toml:3:1: unknown field `zeta`"),
            "{shown}"
        );
        assert!(shown.contains("\n    3 | zeta = 1"), "{shown}");
        // A wrong type inside a package table: its line and column.
        let text = "listen = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1\"\ndata_dir = \"d\"\n\
                    gate_key = \"k\"\naudience = \"x\"\n[[package]]\nname = \"a\"\nmaintainers = [\"x\"]\nquorum = \"two\"\n";
        let shown = parse(text).unwrap_err().to_string();
        assert!(shown.starts_with("gate.toml:9:10: "), "{shown}");
        // A control sequence in the offending line is escaped.
        let shown = parse("listen = \"\u{1b}]0;x\u{7}\" \u{1b}[31m\n")
            .unwrap_err()
            .to_string();
        assert!(!shown.contains('\u{1b}'), "{shown:?}");
    }
}
