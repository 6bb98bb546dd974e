//! Module manifests, hashing, Ed25519 (minisign) signatures and the branch-aware trust policy.
