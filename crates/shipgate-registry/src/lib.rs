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
//! - [`publish`]: publishes approved files to an npm registry (publish document), PyPI
//!   (legacy upload API) or a cargo registry (web API), idempotently and never overwriting.

pub mod artifact;
mod kind;
pub mod publish;

pub use artifact::{
    ArtifactError, ArtifactInfo, Declarations, check_matches, check_release, diff, inspect,
};
pub use kind::TargetKind;
pub use publish::{Credential, PublishError, Published, Publisher, Target, publish};
