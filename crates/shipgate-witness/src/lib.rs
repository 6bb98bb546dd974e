//! A small C2SP `tlog-witness`: it follows the transparency logs it is
//! configured for, remembers the latest checkpoint it cosigned for each, and
//! cosigns (C2SP `cosignature/v1`) only checkpoints that are signed by the
//! log's key and are consistent extensions of that one.
//!
//! - [`keys`]: the witness key file (generated 0600) and its verifier key.
//! - [`logs`]: the logs followed, `ORIGIN=VERIFIER-KEY`.
//! - [`state`]: the latest cosigned checkpoint per log, one file each,
//!   replaced atomically and fsynced before any answer.
//! - [`witness`]: the `add-checkpoint` decision, independent of HTTP.
//! - [`server`]: the HTTP API (`POST /add-checkpoint`, and read-only `GET`s).
//!
//! Why it can be trusted to catch a forking log: it cosigns a new checkpoint
//! only with a consistency proof from the one it cosigned before, so two
//! clients shown two different histories cannot both get its cosignature.

pub mod keys;
pub mod logs;
pub mod server;
pub mod state;
pub mod witness;

pub use keys::{KeyFileError, generate_key_files, read_key_file};
pub use logs::{LogKey, LogKeyError};
pub use server::{ServeError, router, serve, serve_blocking};
pub use state::{StateError, WitnessState};
pub use witness::{AddError, Witness};
