//! The JSON bodies of the HTTP API, shared by the server and the client so
//! the two cannot drift apart. With the `openapi` feature each also describes
//! itself as an OpenAPI schema, from which the gate generates its document.

use serde::{Deserialize, Serialize};

use crate::release::{Approval, Provenance, ReleaseFile, ReleaseState, ReleaseSummary};

/// Every error: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The inside of an error answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Machine-readable code (one of `ERROR_CODES`).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::ErrorCode))]
    pub code: String,
    /// One human-readable line.
    pub message: String,
}

/// Every `code` an error may carry.
pub const ERROR_CODES: &[&str] = &[
    "bad_request",
    "unauthorized",
    "not_found",
    "method_not_allowed",
    "request_timeout",
    "conflict",
    "limit_exceeded",
    "payload_too_large",
    "artifact_refused",
    "internal",
    "not_implemented",
    "unavailable",
];

/// `GET /v1/info`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GateInfo {
    /// Always `shipgate`.
    pub service: String,
    /// The gate's shipgate version.
    pub version: String,
    /// The URL the gate announces for itself.
    pub public_url: String,
    /// The audience a CI token must be minted for.
    pub audience: String,
    /// The gate's public key in minisign `.pub` file format.
    pub public_key: String,
    /// SHA-256 (hex) of the raw public key bytes: the fingerprint users pin.
    pub key_fingerprint: String,
    /// The transparency log's origin (first line of its checkpoints).
    #[serde(default)]
    pub log_origin: String,
    /// The checkpoint verifier key, `<origin>+<key id>+<base64 key>` (the
    /// gate key's Ed25519 public key under the origin's name).
    #[serde(default)]
    pub log_key: String,
}

/// The first part of a staging upload: every file that follows.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StageAnnouncement {
    /// The files, in any order; part `file.N` carries the bytes of `files[N]`.
    pub files: Vec<AnnouncedFile>,
}

/// One announced file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AnnouncedFile {
    /// File name: ASCII letters, digits and `._-+~@=,()[]` only.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::FileName))]
    pub name: String,
    /// Exact size in bytes.
    pub size: u64,
    /// Lowercase hex SHA-256 the bytes must have.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Sha256Hex))]
    pub sha256: String,
}

/// Answer to a successful staging.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageResponse {
    /// The new release id.
    pub id: i64,
    /// Package.
    pub package: String,
    /// Version.
    pub version: String,
    /// Always `staged`.
    pub state: ReleaseState,
    /// The stored files.
    pub files: Vec<ReleaseFile>,
}

/// `GET /v1/releases`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleaseList {
    /// Newest first, at most the page's `limit`.
    pub releases: Vec<ReleaseSummary>,
    /// When more releases follow: pass it as `before` for the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}

/// Releases a page of `GET /v1/releases` holds when no `limit` is given.
pub const RELEASES_PAGE_DEFAULT: u32 = 100;
/// Most releases one page may hold.
pub const RELEASES_PAGE_MAX: u32 = 500;

/// The query of `GET /v1/releases`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReleaseQuery<'a> {
    /// Only releases in this state.
    pub state: Option<ReleaseState>,
    /// Only releases of this package.
    pub package: Option<&'a str>,
    /// Only releases with a smaller id (the previous page's `next_before`).
    pub before: Option<i64>,
    /// At most this many (1..=500; default 100).
    pub limit: Option<u32>,
}

/// `GET /v1/releases/{id}`: everything a reviewer needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleaseView {
    /// Id, package, version, state and times.
    #[serde(flatten)]
    pub summary: ReleaseSummary,
    /// Who built it (from the CI token).
    pub provenance: Provenance,
    /// Files, sorted by name.
    pub files: Vec<ReleaseFile>,
    /// Approvals so far.
    pub approvals: Vec<Approval>,
    /// Approvals needed.
    pub quorum: u32,
    /// Why it was rejected.
    pub reject_reason: Option<String>,
    /// Difference from the previous released version of the package.
    pub diff: Diff,
    /// Index of the `released` event in the transparency log, once released.
    #[serde(default)]
    pub log_index: Option<u64>,
    /// For packages with registry targets: what the staged archives state and
    /// declare, and what changed since the previous released version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<ArtifactReview>,
    /// For packages with registry targets: where publishing stands, per target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<TargetStatus>,
}

/// What a release's archives declare, for the reviewer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArtifactReview {
    /// Each archive as read at staging: name, version and declarations
    /// (scripts, dependencies, bins, entry points, `.pth` files, build script).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub files: Vec<serde_json::Value>,
    /// The released version compared against (`None`: the first one).
    pub previous_version: Option<String>,
    /// Each declaration added, removed or changed since `previous_version`.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub changes: Vec<serde_json::Value>,
    /// True when something that runs on the installer's machine was added or
    /// changed (an install script, a `.pth` file, a build script).
    pub loud: bool,
}

/// One registry target of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TargetStatus {
    /// `npm`, `pypi` or `cargo`.
    pub kind: String,
    /// The registry URL.
    pub registry: String,
    /// `staged` (not released yet), `pending`, `published`, `failed` or `conflict`.
    pub state: String,
    /// Publishing attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// The last error (kept when the job ends `failed` or `conflict`).
    #[serde(default)]
    pub last_error: Option<String>,
    /// Where the release can be fetched once published.
    #[serde(default)]
    pub url: Option<String>,
    /// Each published file and the integrity the registry records for it.
    #[serde(default)]
    pub integrity: Vec<PublishedIntegrity>,
}

/// A published file's integrity string (`sha512-…` for npm, `sha256:…` otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublishedIntegrity {
    /// The file name.
    pub file_name: String,
    /// The integrity string.
    pub integrity: String,
}

/// Difference between a release and the previous released version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Diff {
    /// The version compared against (`None`: first release of the package).
    pub previous_version: Option<String>,
    /// Files that are new.
    pub added: Vec<ReleaseFile>,
    /// Files that are gone.
    pub removed: Vec<ReleaseFile>,
    /// Files whose content changed.
    pub changed: Vec<ChangedFile>,
    /// How many files are byte-identical.
    pub unchanged: usize,
}

/// A file present in both versions with different content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangedFile {
    /// File name.
    pub path: String,
    /// Size before.
    pub old_size: u64,
    /// Size now.
    pub new_size: u64,
    /// `new_size - old_size`.
    pub size_delta: i64,
    /// Digest before.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Sha256Hex))]
    pub old_sha256: String,
    /// Digest now.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Sha256Hex))]
    pub new_sha256: String,
}

/// Body of `POST /v1/releases/{id}/approve` and `/reject`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// The current TOTP code.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::TotpCode))]
    pub code: String,
    /// Why (required to reject, refused when approving).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::openapi::RejectReason>))]
    pub reason: Option<String>,
}

/// Answer to an approval or rejection.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionResponse {
    /// Release id.
    pub id: i64,
    /// State after the decision.
    pub state: ReleaseState,
    /// Distinct approvals so far.
    pub approvals: u32,
    /// Approvals needed.
    pub quorum: u32,
    /// SHA-256 of the signed manifest, once released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::openapi::Sha256Hex>))]
    pub manifest_sha256: Option<String>,
}

/// Answer to `POST /v1/releases/{id}/execution-token`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExecutionTokenResponse {
    /// The signed execution token (a compact JWT).
    pub token: String,
    /// Its `iss`: the gate's public URL.
    pub issuer: String,
    /// Its `aud`: the package's `execution_audience`.
    pub audience: String,
    /// Its `exp` (Unix seconds).
    pub expires_at: u64,
    /// Its `jti`.
    pub jti: String,
    /// The release it is bound to.
    pub release_id: i64,
    /// Package.
    pub package: String,
    /// Version.
    pub version: String,
    /// SHA-256 (hex) of the signed release manifest (the `digest` claim).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Sha256Hex))]
    pub digest: String,
}

/// `GET /v1/packages/{name}/versions/{version}/release`: where a released
/// version's `released` event is in the transparency log.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleasedVersion {
    /// Release id.
    pub release_id: i64,
    /// Package.
    pub package: String,
    /// Version.
    pub version: String,
    /// SHA-256 (hex) of the signed release manifest.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Sha256Hex))]
    pub manifest_sha256: String,
    /// Index of the `released` leaf.
    pub log_index: u64,
}

/// `GET /v1/log/entries?start=&end=`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogEntries {
    /// Consecutive leaves from `start` (at most 1000 and about 4 MiB, see
    /// `MAX_LOG_ENTRIES` and `MAX_LOG_PAGE_BYTES`; fewer than asked means:
    /// ask again from the next index; never empty).
    pub entries: Vec<LogEntryView>,
}

/// Most leaves `GET /v1/log/entries` returns at once.
pub const MAX_LOG_ENTRIES: u64 = 1000;

/// Most bytes a page of `GET /v1/log/entries` may take, counted with
/// [`log_entry_budget`] (so the real body is smaller). A page always holds
/// at least one entry, and no leaf the gate writes comes near this.
pub const MAX_LOG_PAGE_BYTES: u64 = 4 << 20;

/// The most bytes one entry with a `leaf_len`-byte leaf can take in a page:
/// the leaf as a JSON string (at worst twice its length, when every byte is
/// a `"` or a `\`), its index, its hash and the punctuation.
pub fn log_entry_budget(leaf_len: u64) -> u64 {
    const ENTRY_OVERHEAD: u64 = 128;
    leaf_len.saturating_mul(2).saturating_add(ENTRY_OVERHEAD)
}

/// Most files one release may have.
pub const MAX_RELEASE_FILES: usize = 1000;

/// One leaf.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogEntryView {
    /// 0-based leaf index.
    pub index: u64,
    /// The leaf bytes: canonical JSON text of the event, exactly as hashed.
    pub data: String,
    /// `SHA-256(0x00 || data)`, hex (a convenience: clients recompute it).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Sha256Hex))]
    pub leaf_hash: shipgate_log::Hash,
}

/// `GET /v1/log/proof/inclusion?index=&size=`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InclusionProofView {
    /// Leaf index.
    pub index: u64,
    /// Tree size.
    pub size: u64,
    /// The RFC 9162 inclusion proof, hex hashes, leaf's sibling first.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::openapi::Sha256Hex>))]
    pub proof: Vec<shipgate_log::Hash>,
}

/// `GET /v1/log/proof/consistency?from=&to=`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsistencyProofView {
    /// Older size.
    pub from: u64,
    /// Newer size.
    pub to: u64,
    /// The RFC 9162 consistency proof, hex hashes.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::openapi::Sha256Hex>))]
    pub proof: Vec<shipgate_log::Hash>,
}
