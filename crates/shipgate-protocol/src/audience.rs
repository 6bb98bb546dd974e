//! The audience (`aud`) of the CI tokens a gate accepts, by convention
//! `shipgate:` followed by the gate's URL.
//!
//! The client asks a CI provider (GitHub Actions' token endpoint) to mint a
//! token for this audience. It must not simply take the audience the gate
//! announces: a wrong or hostile `--gate` could announce the audience of a
//! cloud provider's token exchange or of a package registry, and receive a
//! real token for that service. A fixed prefix plus the URL the user named
//! makes a token minted for one gate useless anywhere else.

/// The prefix of the default audience.
pub const PREFIX: &str = "shipgate:";

/// The default audience of the gate at `gate_url`: `shipgate:` + the URL
/// without surrounding spaces or trailing slashes.
pub fn default_for(gate_url: &str) -> String {
    format!("{PREFIX}{}", gate_url.trim().trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_prefix_and_the_normalised_url() {
        assert_eq!(
            default_for("https://gate.example.com/"),
            "shipgate:https://gate.example.com"
        );
        assert_eq!(
            default_for(" http://127.0.0.1:8080 "),
            "shipgate:http://127.0.0.1:8080"
        );
    }
}
