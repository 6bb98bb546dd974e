//! The release gate: HTTP API, storage, approvals, signing and the transparency log.
