//! C2SP signed notes (`c2sp.org/signed-note`): text signed by one or more keys.
//!
//! ```text
//! <text, one or more lines, each ending in a newline>
//! <an empty line>
//! — <key name> <base64(4-byte key ID || signature)>
//! ```
//!
//! The signature covers the text including its final newline, not the empty
//! line. A note must be UTF-8 without control characters other than newline
//! (so a CRLF note is refused). Signatures by unknown keys are ignored; a
//! known key whose signature fails rejects the whole note; at least one known
//! signature must verify.

pub(crate) mod keys;

pub use keys::{
    ED25519_KEY_LEN, ED25519_SIGNATURE_LEN, ED25519_SIGNATURE_TYPE, KeyError, NoteSigner,
    NoteVerifier, is_valid_key_name, key_id,
};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// Largest note accepted, in bytes: room for the 16 post-quantum-sized
/// signatures the spec requires verifiers to accept, and far more Ed25519 ones.
pub const MAX_NOTE_BYTES: usize = 128 * 1024;
/// Most signature lines accepted in one note.
pub const MAX_SIGNATURES: usize = 100;

/// The em dash and space that start every signature line.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// A note could not be read, signed or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note is larger than [`MAX_NOTE_BYTES`].
    #[error("the note is {size} bytes, more than the {max} accepted")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The note is not valid UTF-8.
    #[error("the note is not valid UTF-8 (at byte {offset})")]
    NotUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// The note contains a carriage return: notes use bare `\n` line endings.
    #[error(
        "the note contains a carriage return at byte {offset}: notes use \\n line endings, not \\r\\n"
    )]
    CarriageReturn {
        /// Offset of the `\r`.
        offset: usize,
    },
    /// The note contains a control character other than newline.
    #[error("the note contains control character 0x{byte:02x} at byte {offset}")]
    ControlCharacter {
        /// Offset of the character.
        offset: usize,
        /// The character.
        byte: u8,
    },
    /// The note does not end with a newline.
    #[error("the note does not end with a newline")]
    MissingFinalNewline,
    /// No empty line separates the text from the signatures.
    #[error("the note has no signature block (an empty line followed by signature lines)")]
    NoSignatureBlock,
    /// A line of the signature block is not a well-formed signature line.
    #[error("line {line} of the note is not a signature line: {reason}")]
    MalformedSignatureLine {
        /// 1-based line number in the note.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("the note has more than {max} signature lines")]
    TooManySignatures {
        /// The limit.
        max: usize,
    },
    /// A signature by a known key does not verify: the note is rejected.
    #[error("the signature by key {name} ({key_id:08x}) does not verify")]
    InvalidSignature {
        /// The key name.
        name: String,
        /// The key ID.
        key_id: u32,
    },
    /// No signature by any of the trusted keys.
    #[error("the note is not signed by any trusted key")]
    NoKnownSignature,
    /// Two trusted verifiers share a name and key ID, so a signature cannot be attributed.
    #[error("two trusted keys share the name {name} and key ID {key_id:08x}")]
    AmbiguousVerifiers {
        /// The key name.
        name: String,
        /// The key ID.
        key_id: u32,
    },
    /// The text to sign is empty or does not end with a newline.
    #[error("the text to sign must be non-empty and end with a newline")]
    TextNotTerminated,
    /// No signer was given.
    #[error("a note needs at least one signature")]
    NoSigners,
}

/// One signature line of a note, not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key ID (first four bytes of the decoded signature).
    pub key_id: u32,
    /// The signature bytes after the key ID.
    pub signature: Vec<u8>,
}

/// A note split into its text and signature lines. Its text must not be
/// trusted until [`SignedNote::verify`] succeeds (or use [`open`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl SignedNote {
    /// Parses a note, checking its syntax only.
    pub fn parse(note: &[u8]) -> Result<SignedNote, NoteError> {
        if note.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge {
                size: note.len(),
                max: MAX_NOTE_BYTES,
            });
        }
        let note = std::str::from_utf8(note).map_err(|e| NoteError::NotUtf8 {
            offset: e.valid_up_to(),
        })?;
        check_characters(note)?;
        if !note.ends_with('\n') {
            return Err(NoteError::MissingFinalNewline);
        }
        // The last empty line separates text and signatures; signature lines
        // are never empty, so the text may itself contain empty lines.
        let split = note.rfind("\n\n").ok_or(NoteError::NoSignatureBlock)?;
        let (text, block) = (&note[..=split], &note[split + 2..]);
        if block.is_empty() {
            return Err(NoteError::NoSignatureBlock);
        }
        let first_line = text.matches('\n').count() + 2;
        let mut signatures = Vec::new();
        for (i, line) in block.split_terminator('\n').enumerate() {
            if i == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures {
                    max: MAX_SIGNATURES,
                });
            }
            let signature =
                parse_signature_line(line).map_err(|reason| NoteError::MalformedSignatureLine {
                    line: first_line + i,
                    reason,
                })?;
            signatures.push(signature);
        }
        Ok(SignedNote {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The signed text, including its final newline. Unverified.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order. Unverified.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Verifies the signatures made by the trusted keys, ignoring others.
    /// Returns the names of the trusted keys whose signature verified (at
    /// least one); any trusted signature that fails rejects the note.
    pub fn verify(&self, trusted: &[NoteVerifier]) -> Result<Vec<String>, NoteError> {
        for (i, a) in trusted.iter().enumerate() {
            if trusted[..i]
                .iter()
                .any(|b| a.name() == b.name() && a.key_id() == b.key_id())
            {
                return Err(NoteError::AmbiguousVerifiers {
                    name: a.name().to_owned(),
                    key_id: a.key_id(),
                });
            }
        }
        let mut verified: Vec<&NoteVerifier> = Vec::new();
        for signature in &self.signatures {
            // A key is known only if both its name and its ID match.
            let Some(verifier) = trusted
                .iter()
                .find(|v| v.name() == signature.name && v.key_id() == signature.key_id)
            else {
                continue;
            };
            if verified.contains(&verifier) {
                continue; // the same key signing twice adds nothing
            }
            if !verifier.verify(self.text.as_bytes(), &signature.signature) {
                return Err(NoteError::InvalidSignature {
                    name: signature.name.clone(),
                    key_id: signature.key_id,
                });
            }
            verified.push(verifier);
        }
        if verified.is_empty() {
            return Err(NoteError::NoKnownSignature);
        }
        Ok(verified.iter().map(|v| v.name().to_owned()).collect())
    }
}

/// Parses and verifies a note; returns its text once a trusted key's
/// signature verified.
pub fn open(note: &[u8], trusted: &[NoteVerifier]) -> Result<String, NoteError> {
    let parsed = SignedNote::parse(note)?;
    parsed.verify(trusted)?;
    Ok(parsed.text)
}

/// Signs `text` (non-empty, ending in a newline, no control characters other
/// than newline) with every signer, in order, and returns the note.
pub fn sign(text: &str, signers: &[&NoteSigner]) -> Result<String, NoteError> {
    if text.is_empty() || !text.ends_with('\n') {
        return Err(NoteError::TextNotTerminated);
    }
    check_characters(text)?;
    if signers.is_empty() {
        return Err(NoteError::NoSigners);
    }
    let mut note = String::with_capacity(text.len() + 128 * signers.len());
    note.push_str(text);
    note.push('\n');
    for signer in signers {
        let mut bytes = signer.key_id().to_be_bytes().to_vec();
        bytes.extend_from_slice(&signer.sign(text.as_bytes()));
        note.push_str(SIGNATURE_PREFIX);
        note.push_str(signer.name());
        note.push(' ');
        note.push_str(&BASE64.encode(bytes));
        note.push('\n');
    }
    if note.len() > MAX_NOTE_BYTES {
        return Err(NoteError::TooLarge {
            size: note.len(),
            max: MAX_NOTE_BYTES,
        });
    }
    Ok(note)
}

/// Refuses control characters other than newline, naming `\r` specially.
fn check_characters(text: &str) -> Result<(), NoteError> {
    for (offset, byte) in text.bytes().enumerate() {
        // Bytes below 0x20 are never part of a multi-byte UTF-8 character.
        match byte {
            b'\n' => {}
            b'\r' => return Err(NoteError::CarriageReturn { offset }),
            0x00..0x20 => return Err(NoteError::ControlCharacter { offset, byte }),
            _ => {}
        }
    }
    Ok(())
}

fn parse_signature_line(line: &str) -> Result<NoteSignature, &'static str> {
    let rest = line
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or("it does not start with an em dash (U+2014) and a space")?;
    let (name, encoded) = rest
        .split_once(' ')
        .ok_or("no space between key name and signature")?;
    if !is_valid_key_name(name) {
        return Err("invalid key name");
    }
    let bytes = BASE64
        .decode(encoded)
        .map_err(|_| "the signature is not standard base64")?;
    if bytes.len() < 5 {
        return Err("the signature is shorter than a key ID and one byte");
    }
    let (id, signature) = bytes.split_at(4);
    Ok(NoteSignature {
        name: name.to_owned(),
        key_id: u32::from_be_bytes([id[0], id[1], id[2], id[3]]),
        signature: signature.to_vec(),
    })
}
