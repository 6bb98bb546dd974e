//! Strict base64url (RFC 4648 §5) without padding, as JWS compact form uses it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Encodes bytes as unpadded base64url.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes unpadded base64url. Refuses `=` padding, the standard alphabet's
/// `+` and `/`, whitespace, and non-zero trailing bits (so that one value has
/// exactly one encoding).
pub fn decode(text: &str) -> Option<Vec<u8>> {
    if !is_alphabet(text) {
        return None;
    }
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// True when every byte is in the base64url alphabet `[A-Za-z0-9_-]`.
pub fn is_alphabet(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::{decode, encode};

    #[test]
    fn round_trips_and_refuses_other_forms() {
        assert_eq!(encode([0xfb, 0xff]), "-_8");
        assert_eq!(decode("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(decode("+/8"), None, "standard alphabet");
        assert_eq!(decode("-_8="), None, "padding");
        assert_eq!(decode("-_ 8"), None, "whitespace");
        assert_eq!(decode("-_9"), None, "non-zero trailing bits");
        assert_eq!(decode("A"), None, "impossible length");
        assert_eq!(decode(""), Some(vec![]));
    }
}
