//! Release artifacts and the registries people install them from.
//!
//! Two halves:
//!
//! - [`artifact`]: reads an npm tarball, a Python wheel or sdist, or a `.crate` file from
//!   disk as hostile input (bounded, streaming), and reports the name and version it states
//!   and what it declares that runs or pulls code on the installer's machine: npm lifecycle
//!   scripts, dependencies, `bin` entries, Python entry points and `.pth` files, a crate's
//!   build script and proc-macro flag. [`artifact::check_matches`] compares an artifact with
//!   the staged name and version, [`artifact::diff`] compares two releases' declarations.
//! - [`mod@publish`]: publishes approved files to an npm registry (publish document), PyPI
//!   (legacy upload API) or a cargo registry (web API), idempotently and never overwriting.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::path::Path;
//! use shipgate_registry::artifact::{Declarations, Limits, check_release, diff};
//! use shipgate_registry::{Credential, PublishFile, PublishOptions, Publisher, Target, TargetKind};
//!
//! // At staging: the files for the target, each stating the staged name and version.
//! let path = Path::new("/var/lib/gate/blobs/demo-1.2.3.tgz");
//! let infos = check_release(TargetKind::Npm, &[("demo-1.2.3.tgz", path)], "demo", "1.2.3", &Limits::default())?;
//! // For the reviewer: what changed since the previous release (here: none).
//! let changes = diff(&Declarations::default(), &Declarations::merged(&infos));
//! println!("{}", serde_json::to_string(&changes)?);
//!
//! // After approval: publish exactly the approved bytes.
//! let target = Target::new(TargetKind::Npm, "https://registry.npmjs.org/").with_tag("latest");
//! let credential = Credential::from_file(Path::new("/etc/shipgate/npm-token"))?;
//! let file = PublishFile { file_name: "demo-1.2.3.tgz".into(), path: path.into(), sha256: "…".into() };
//! let publisher = Publisher::new(PublishOptions::default())?;
//! match publisher.publish(&target, &credential, &[file]).await {
//!     Ok(published) => println!("published at {}", published.url),
//!     Err(e) if e.is_conflict() => eprintln!("conflict, not overwritten: {e}"),
//!     Err(e) if e.is_retriable() => eprintln!("will retry: {e}"),
//!     Err(e) => eprintln!("failed: {e}"),
//! }
//! # Ok(()) }
//! ```

pub mod artifact;
mod kind;
pub mod publish;

pub use artifact::{
    ArtifactError, ArtifactInfo, Declarations, check_matches, check_release, diff, inspect,
};
pub use kind::TargetKind;
pub use publish::{
    Credential, CredentialError, PublishError, PublishFile, PublishOptions, Published,
    PublishedFile, Publisher, Target, publish,
};
