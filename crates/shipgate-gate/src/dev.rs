//! `shipgate serve --dev`: a complete local gate in one directory.
//!
//! First run creates `DIR/` with a gate key, a stand-in CI issuer key
//! directory (served by the gate itself under `/dev-issuer`), a `gate.toml`
//! with a sample package `hello` bound to that issuer, and one enrolled
//! maintainer `dev` whose credentials are kept in `DIR/dev-maintainer.toml`
//! (mode 0600) so later runs can print them again. Later runs reuse it all.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shipgate_manifest::keys::generate_key_pair;
use shipgate_oidc::{Algorithm, KeyDir};

use crate::config::GateConfig;
use crate::publishers::dev_issuer_url;

/// The sample package of a dev gate.
pub const DEV_PACKAGE: &str = "hello";
/// The enrolled dev maintainer.
pub const DEV_MAINTAINER: &str = "dev";
/// The repository the dev issuer's tokens must name.
pub const DEV_REPOSITORY: &str = "dev/hello";
/// Its owner id.
pub const DEV_OWNER_ID: &str = "1";
/// The audience of a dev gate at `public_url`: the convention every
/// client uses by default (`shipgate:` + the gate's URL).
pub fn dev_audience(public_url: &str) -> String {
    shipgate_protocol::audience::default_for(public_url)
}

/// Why the dev directory could not be prepared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevError {
    /// A file could not be written or read.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The existing config is broken.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Enrolling the dev maintainer failed.
    #[error(transparent)]
    Admin(#[from] crate::admin::AdminError),
}

/// The dev maintainer's credentials, as stored in `dev-maintainer.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevMaintainer {
    /// Maintainer token.
    pub token: String,
    /// Base32 TOTP secret.
    pub totp_secret: String,
    /// `otpauth://` URI.
    pub otpauth_uri: String,
}

/// A prepared dev directory.
#[derive(Debug)]
pub struct DevSetup {
    /// The directory.
    pub dir: PathBuf,
    /// Its `gate.toml`.
    pub config_path: PathBuf,
    /// The loaded config.
    pub config: GateConfig,
    /// The dev maintainer.
    pub maintainer: DevMaintainer,
    /// True when this run created the directory.
    pub created: bool,
}

fn file_err(path: &Path, err: impl std::fmt::Display) -> DevError {
    DevError::File {
        path: path.to_owned(),
        message: err.to_string(),
    }
}

fn write_private(path: &Path, text: &str) -> Result<(), DevError> {
    shipgate_fs::write_private(path, text.as_bytes()).map_err(|e| file_err(path, e))
}

/// Creates (first run) or loads the dev directory `dir`.
pub async fn prepare(dir: &Path) -> Result<DevSetup, DevError> {
    let config_path = dir.join("gate.toml");
    let maintainer_path = dir.join("dev-maintainer.toml");
    if config_path.exists() {
        let config = GateConfig::load(&config_path)?;
        let text =
            std::fs::read_to_string(&maintainer_path).map_err(|e| file_err(&maintainer_path, e))?;
        let maintainer = toml::from_str(&text).map_err(|e| file_err(&maintainer_path, e))?;
        return Ok(DevSetup {
            dir: dir.to_owned(),
            config_path,
            config,
            maintainer,
            created: false,
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| file_err(dir, e))?;

    // A fixed port for this directory: the issuer URL in gate.toml names it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| file_err(dir, format!("cannot find a free port: {e}")))?
        .port();
    let public_url = format!("http://127.0.0.1:{port}");

    let pair = generate_key_pair(None).map_err(|e| file_err(&dir.join("gate.key"), e))?;
    write_private(&dir.join("gate.key"), &pair.secret_key_file)?;
    shipgate_fs::write_atomic(&dir.join("gate.pub"), pair.public_key_file.as_bytes())
        .map_err(|e| file_err(&dir.join("gate.pub"), e))?;
    KeyDir::new(dir.join("ci-keys"))
        .generate(Algorithm::RS256)
        .map_err(|e| file_err(&dir.join("ci-keys"), e))?;

    // The bearer token of the stand-in GitHub token endpoint (what
    // ACTIONS_ID_TOKEN_REQUEST_TOKEN holds in a real runner).
    let mut random = [0u8; 24];
    getrandom::fill(&mut random).map_err(|e| file_err(dir, format!("no randomness: {e}")))?;
    let request_token = hex::encode(random);

    let audience = dev_audience(&public_url);
    let config_text = format!(
        r#"# A development gate created by `shipgate serve --dev`. Not for production:
# its CI issuer is a local key directory served by the gate itself.
listen = "127.0.0.1:{port}"
public_url = "{public_url}"
data_dir = "data"
gate_key = "gate.key"
audience = "{audience}"
dev_issuer_keys = "ci-keys"
dev_issuer_request_token = "{request_token}"

[[package]]
name = "{DEV_PACKAGE}"
maintainers = ["{DEV_MAINTAINER}"]
quorum = 1

[[package.publisher]]
provider = "github"
issuer = "{issuer}"
repository = "{DEV_REPOSITORY}"
repository_owner_id = "{DEV_OWNER_ID}"
workflow = ".github/workflows/release.yml"
# Any environment and any ref (the dev token endpoint mints for any): a real
# gate names them, e.g. environment = "release" and ref = "refs/tags/v*".
environment = "*"
ref = "*"
"#,
        issuer = dev_issuer_url(&public_url),
    );
    // Private: it holds the dev token endpoint's request token.
    write_private(&config_path, &config_text)?;
    let config = GateConfig::load(&config_path)?;
    let creds = crate::admin::enroll(
        &config,
        DEV_MAINTAINER,
        &[DEV_PACKAGE.to_owned()],
        crate::unix_now(),
    )
    .await?;
    let maintainer = DevMaintainer {
        token: creds.token,
        totp_secret: creds.totp_secret,
        otpauth_uri: creds.otpauth_uri,
    };
    let text = toml::to_string(&maintainer).map_err(|e| file_err(&maintainer_path, e))?;
    write_private(&maintainer_path, &text)?;
    Ok(DevSetup {
        dir: dir.to_owned(),
        config_path,
        config,
        maintainer,
        created: true,
    })
}

/// `ACTIONS_ID_TOKEN_REQUEST_URL` and `ACTIONS_ID_TOKEN_REQUEST_TOKEN` for
/// the dev gate's stand-in GitHub token endpoint (None for a dev directory
/// created before the endpoint existed). The URL's query makes its tokens
/// those of one run building tag `v{version}`, like [`mint_args`].
pub fn actions_env(setup: &DevSetup, version: &str) -> Option<(String, String)> {
    let token = setup.config.dev_issuer_request_token.clone()?;
    let url = format!(
        "{}{}?ref=refs/tags/v{version}&run_id=1",
        setup.config.public_url.trim_end_matches('/'),
        crate::dev_token::DEV_TOKEN_PATH
    );
    Some((url, token))
}

/// The `shipgate oidc issue` arguments that mint a dev CI token for
/// `version` (GitHub-shaped claims matching the sample binding).
pub fn mint_args(setup: &DevSetup, version: &str) -> Vec<String> {
    let tag = format!("refs/tags/v{version}");
    let keys = setup.dir.join("ci-keys").display().to_string();
    let mut args: Vec<String> = [
        "oidc",
        "issue",
        "--keys",
        &keys,
        "--issuer",
        &dev_issuer_url(&setup.config.public_url),
        "--audience",
        &setup.config.audience,
        "--subject",
        &format!("repo:{DEV_REPOSITORY}:ref:{tag}"),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for claim in [
        format!("repository={DEV_REPOSITORY}"),
        format!("repository_owner_id={DEV_OWNER_ID}"),
        format!("workflow_ref={DEV_REPOSITORY}/.github/workflows/release.yml@{tag}"),
        format!("ref={tag}"),
        "sha=0000000000000000000000000000000000000000".to_owned(),
        "run_id=1".to_owned(),
        "event_name=push".to_owned(),
    ] {
        args.push("--claim".to_owned());
        args.push(claim);
    }
    args
}
