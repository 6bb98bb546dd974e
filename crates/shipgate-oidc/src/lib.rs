//! OIDC tokens: issue, verify, JWKS, discovery, trusted-publisher bindings.
