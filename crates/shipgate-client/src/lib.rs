//! Everything a consumer or a CI job runs against a gate: the HTTP client,
//! `fetch` and its verification, `stage --wait`, the client side of the
//! transparency log (checkpoints, proofs, the entries audit), the
//! checkpoints it remembers and the user's shipgate files.
//!
//! It depends on `shipgate-protocol` for the wire format and never on the
//! server (`shipgate-gate`).

pub mod client;
pub mod fetch;
pub mod tlog;
pub mod user_config;
pub mod wait;
