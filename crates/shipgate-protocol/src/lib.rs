//! What the gate server and its clients must agree on: the JSON bodies of
//! the HTTP API, the release model they carry, the rules for names that
//! arrive from outside, the escaping of untrusted text, the bytes of a log
//! leaf, the log's origin and the release manifest the gate signs.
//!
//! Both `shipgate-gate` (the server) and `shipgate-client` depend on this
//! crate and on nothing of each other, so a user who only fetches never
//! links the server, and the two sides cannot drift apart.

pub mod audience;
pub mod leaf;
pub mod manifest;
pub mod names;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod origin;
pub mod passkey;
pub mod passkey_verify;
pub mod release;
pub mod untrusted;
pub mod wire;
