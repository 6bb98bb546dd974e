//! The body of a C2SP `tlog-witness` `add-checkpoint` request, and the
//! `text/x.tlog.size` body of its 409 answer.
//!
//! ```text
//! old <size the witness last cosigned, decimal>
//! <consistency proof hash, base64>     (0 to 63 lines; none when old is 0)
//!
//! <the signed checkpoint note>
//! ```
//!
//! Only the syntax is checked here; the witness verifies the note's
//! signature and the proof.

use crate::checkpoint::parse_size;
use crate::hash::Hash;
use crate::note::MAX_NOTE_BYTES;

/// Most consistency proof lines a request may carry (a proof in a tree of
/// up to 2^64 leaves has at most 63 hashes... plus none to spare).
pub const MAX_PROOF_LINES: usize = 63;
/// Largest request body: the header (old line and 63 base64 hashes) and a
/// note of at most [`MAX_NOTE_BYTES`].
pub const MAX_REQUEST_BYTES: usize = MAX_NOTE_BYTES + 64 * 46;
/// The media type of the 409 answer.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// An `add-checkpoint` body or a size answer is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddCheckpointError {
    /// The body is larger than [`MAX_REQUEST_BYTES`].
    #[error("the request is {0} bytes, more than the {MAX_REQUEST_BYTES} accepted")]
    TooLarge(usize),
    /// No empty line separates the header from the checkpoint.
    #[error(
        "the request has no empty line between the old size and proof lines and the checkpoint"
    )]
    NoSeparator,
    /// The first line is not `old <decimal>`.
    #[error("the first line must be `old <size>` (decimal, no leading zeros)")]
    BadOldLine,
    /// A proof line is not the base64 of 32 bytes.
    #[error("consistency proof line {line} is not a base64 hash")]
    BadProofLine {
        /// 1-based line number in the body.
        line: usize,
    },
    /// More than [`MAX_PROOF_LINES`] proof lines.
    #[error("the request has more than {MAX_PROOF_LINES} consistency proof lines")]
    TooManyProofLines,
    /// The old size is 0 but a proof is given.
    #[error("a request with old size 0 must carry no proof")]
    ProofForEmptyTree,
    /// The size answer is not a decimal number and a newline.
    #[error("the witness's size answer is not `<decimal>\\n`")]
    BadSizeAnswer,
}

/// One `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size the client believes the witness last cosigned.
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note (unverified when parsed).
    pub note: Vec<u8>,
}

impl AddCheckpoint {
    /// The request body.
    pub fn to_body(&self) -> Vec<u8> {
        let mut body = format!("old {}\n", self.old_size).into_bytes();
        for hash in &self.proof {
            body.extend_from_slice(hash.to_base64().as_bytes());
            body.push(b'\n');
        }
        body.push(b'\n');
        body.extend_from_slice(&self.note);
        body
    }

    /// Reads a request body (syntax only).
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, AddCheckpointError> {
        if body.len() > MAX_REQUEST_BYTES {
            return Err(AddCheckpointError::TooLarge(body.len()));
        }
        let split = body
            .windows(2)
            .position(|w| w == b"\n\n")
            .ok_or(AddCheckpointError::NoSeparator)?;
        let (header, note) = (&body[..split], &body[split + 2..]);
        let header = std::str::from_utf8(header).map_err(|_| AddCheckpointError::BadOldLine)?;
        let mut lines = header.split('\n');
        let old_size = lines
            .next()
            .and_then(|line| line.strip_prefix("old "))
            .and_then(|size| parse_size(size).ok())
            .ok_or(AddCheckpointError::BadOldLine)?;
        let mut proof = Vec::new();
        for (i, line) in lines.enumerate() {
            if i == MAX_PROOF_LINES {
                return Err(AddCheckpointError::TooManyProofLines);
            }
            let hash = Hash::from_base64(line)
                .map_err(|_| AddCheckpointError::BadProofLine { line: i + 2 })?;
            proof.push(hash);
        }
        if old_size == 0 && !proof.is_empty() {
            return Err(AddCheckpointError::ProofForEmptyTree);
        }
        Ok(AddCheckpoint {
            old_size,
            proof,
            note: note.to_vec(),
        })
    }
}

/// The 409 body: the witness's size and a newline.
pub fn size_body(size: u64) -> String {
    format!("{size}\n")
}

/// Reads a 409 body.
pub fn parse_size_body(body: &[u8]) -> Result<u64, AddCheckpointError> {
    std::str::from_utf8(body)
        .ok()
        .and_then(|text| text.strip_suffix('\n'))
        .and_then(|size| parse_size(size).ok())
        .ok_or(AddCheckpointError::BadSizeAnswer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note() -> Vec<u8> {
        b"example.com/log\n2\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\xe2\x80\x94 k AAAA\n"
            .to_vec()
    }

    #[test]
    fn round_trips() {
        for (old_size, proof) in [(0, vec![]), (1, vec![Hash([1; 32]), Hash([2; 32])])] {
            let request = AddCheckpoint {
                old_size,
                proof,
                note: note(),
            };
            assert_eq!(AddCheckpoint::parse(&request.to_body()).unwrap(), request);
        }
        assert_eq!(parse_size_body(size_body(42).as_bytes()).unwrap(), 42);
    }

    #[test]
    fn hostile_bodies_are_refused() {
        let hash = Hash([3; 32]).to_base64();
        let many = format!("old 1\n{}\n", vec![hash.as_str(); 64].join("\n"));
        let cases: Vec<(Vec<u8>, AddCheckpointError)> = vec![
            (b"".to_vec(), AddCheckpointError::NoSeparator),
            (b"old 1\n".to_vec(), AddCheckpointError::NoSeparator),
            (b"old 01\n\nx".to_vec(), AddCheckpointError::BadOldLine),
            (b"old -1\n\nx".to_vec(), AddCheckpointError::BadOldLine),
            (b"new 1\n\nx".to_vec(), AddCheckpointError::BadOldLine),
            (b"old  1\n\nx".to_vec(), AddCheckpointError::BadOldLine),
            (
                b"old 18446744073709551616\n\nx".to_vec(),
                AddCheckpointError::BadOldLine,
            ),
            (b"\xff\n\nx".to_vec(), AddCheckpointError::BadOldLine),
            (
                b"old 1\nAAAA\n\nx".to_vec(),
                AddCheckpointError::BadProofLine { line: 2 },
            ),
            (
                format!("old 0\n{hash}\n\nx").into_bytes(),
                AddCheckpointError::ProofForEmptyTree,
            ),
            (
                format!("{many}\nx").into_bytes(),
                AddCheckpointError::TooManyProofLines,
            ),
            (
                vec![b'a'; MAX_REQUEST_BYTES + 1],
                AddCheckpointError::TooLarge(MAX_REQUEST_BYTES + 1),
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(
                AddCheckpoint::parse(&body),
                Err(expected),
                "{:?}",
                String::from_utf8_lossy(&body[..body.len().min(40)])
            );
        }
        for bad in [&b""[..], b"1", b"01\n", b"1\n\n", b"x\n", b"-1\n"] {
            assert!(parse_size_body(bad).is_err(), "{bad:?}");
        }
    }
}
