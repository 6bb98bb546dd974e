//! The client side of the log: what `shipgate fetch` and `shipgate log
//! verify` check. Nothing the gate sends is trusted until it verified:
//!
//! - a checkpoint must carry a valid signature by the pinned gate key (the
//!   note key named after the checkpoint's origin);
//! - a newer checkpoint must extend the one saved earlier (a consistency
//!   proof); a smaller size or another root at the same size is a rollback
//!   or a fork;
//! - the `released` leaf of a fetched release must be exactly the canonical
//!   encoding of an event saying what the client verified itself (package,
//!   version, manifest digest, signing key), and an inclusion proof must lead
//!   from its hash to the signed root;
//! - a full audit recomputes every leaf hash from its data and the root from
//!   the leaf hashes, following the gate's pages however short (an empty
//!   page before the end is an error, never a loop), and replays the events
//!   to check what they mean ([`super::replay`]).

use std::collections::BTreeMap;

use shipgate_log::note::SignedNote;
use shipgate_log::{
    Checkpoint, CheckpointError, ConsistencyError, Frontier, Hash, VerifyError, check_consistent,
    leaf_hash,
};
use shipgate_manifest::PublicKey;

use super::replay::{Meaning, Replay};
use crate::client::{Client, ClientError, Progress};
use shipgate_protocol::leaf::{LeafError, LogEvent};
use shipgate_protocol::origin::note_verifier;

/// A log check failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogCheckError {
    /// Talking to the gate failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The checkpoint is malformed, for another log, or not signed by the gate key.
    #[error("{what} does not verify: {error}")]
    Checkpoint {
        /// Which checkpoint (`the gate's checkpoint`, `the saved checkpoint in FILE`).
        what: String,
        /// Why.
        error: CheckpointError,
    },
    /// The log does not extend the saved checkpoint: rolled back, forked or rewritten.
    #[error("the gate's log is NOT consistent with the checkpoint saved earlier: {0}")]
    Inconsistent(ConsistencyError),
    /// The inclusion proof does not lead to the signed root.
    #[error("leaf {index} is not included in the signed checkpoint of size {size}: {error}")]
    NotIncluded {
        /// Leaf index.
        index: u64,
        /// Checkpoint size.
        size: u64,
        /// Why.
        error: VerifyError,
    },
    /// A leaf is not a well-formed canonical event.
    #[error("log leaf {index} is malformed: {error}")]
    BadLeaf {
        /// Leaf index.
        index: u64,
        /// Why.
        error: LeafError,
    },
    /// The leaf does not record what the client verified, or the entries
    /// break a rule of the log.
    #[error("log leaf {index} {reason}")]
    WrongLeaf {
        /// Leaf index.
        index: u64,
        /// What is wrong.
        reason: String,
    },
    /// The leaves do not give the signed root.
    #[error(
        "the {size} leaves the gate serves hash to root {computed}, but its signed checkpoint says {signed}"
    )]
    RootMismatch {
        /// Tree size.
        size: u64,
        /// Root recomputed from the leaves.
        computed: Hash,
        /// Root in the checkpoint.
        signed: Hash,
    },
    /// The gate answered something other than what was asked.
    #[error("the gate's answer does not match the request: {0}")]
    BadAnswer(String),
}

/// A checkpoint that verified, with its note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The signed note it came in (what clients save).
    pub note: String,
}

/// Verifies a checkpoint note with the gate key. The origin is the note's
/// first line (the key name must equal it, and the signature covers it).
pub fn open_checkpoint(
    note: &[u8],
    key: &PublicKey,
    what: &str,
) -> Result<SignedCheckpoint, LogCheckError> {
    let fail = |error| LogCheckError::Checkpoint {
        what: what.to_owned(),
        error,
    };
    let parsed = SignedNote::parse(note).map_err(|e| fail(e.into()))?;
    let origin = parsed.text().split('\n').next().unwrap_or_default();
    if origin.is_empty() {
        return Err(fail(CheckpointError::EmptyOrigin));
    }
    let verifier = note_verifier(origin, key).map_err(|_| {
        fail(CheckpointError::InvalidField {
            field: "origin (not a valid key name)",
        })
    })?;
    let checkpoint = Checkpoint::open(note, origin, &verifier).map_err(fail)?;
    let note = String::from_utf8(note.to_vec()).map_err(|e| {
        fail(
            shipgate_log::NoteError::NotUtf8 {
                offset: e.utf8_error().valid_up_to(),
            }
            .into(),
        )
    })?;
    Ok(SignedCheckpoint { checkpoint, note })
}

/// Fetches the gate's current checkpoint and verifies it.
pub fn fetch_checkpoint(
    client: &Client,
    key: &PublicKey,
) -> Result<SignedCheckpoint, LogCheckError> {
    let note = client.log_checkpoint()?;
    open_checkpoint(&note, key, "the gate's checkpoint")
}

/// The size in a checkpoint note, WITHOUT verifying it (for listings only).
pub fn unverified_size(note: &[u8]) -> Result<u64, LogCheckError> {
    let fail = |error| LogCheckError::Checkpoint {
        what: "the gate's checkpoint".into(),
        error,
    };
    let parsed = SignedNote::parse(note).map_err(|e| fail(e.into()))?;
    Ok(Checkpoint::from_text(parsed.text()).map_err(fail)?.size)
}

/// Checks that `new` extends `old` (both verified), fetching the
/// consistency proof when one is needed.
pub fn check_extends(
    client: &Client,
    old: &Checkpoint,
    new: &Checkpoint,
) -> Result<(), LogCheckError> {
    let needs_proof = old.origin == new.origin && 0 < old.size && old.size < new.size;
    let proof = if needs_proof {
        let answer = client.log_consistency_proof(old.size, new.size)?;
        if (answer.from, answer.to) != (old.size, new.size) {
            return Err(LogCheckError::BadAnswer(format!(
                "asked for the consistency proof {}..{}, got {}..{}",
                old.size, new.size, answer.from, answer.to
            )));
        }
        answer.proof
    } else {
        Vec::new()
    };
    check_consistent(old, new, &proof).map_err(LogCheckError::Inconsistent)
}

/// What a `released` leaf must say: what the client verified itself.
#[derive(Debug, Clone)]
pub struct ExpectedRelease<'a> {
    /// Package.
    pub package: &'a str,
    /// Version.
    pub version: &'a str,
    /// SHA-256 (hex) of the manifest whose signature verified.
    pub manifest_sha256: &'a str,
    /// ID of the key that signed it (minisign, 16 uppercase hex digits).
    pub signature_key_id: &'a str,
}

/// Verifies that leaf `index` of the checkpoint's tree records the release
/// `expected` describes: the leaf bytes are re-derived and compared, then
/// their hash is proven included. Returns the event.
pub fn check_release_included(
    client: &Client,
    checkpoint: &Checkpoint,
    index: u64,
    expected: &ExpectedRelease<'_>,
) -> Result<LogEvent, LogCheckError> {
    if index >= checkpoint.size {
        return Err(LogCheckError::NotIncluded {
            index,
            size: checkpoint.size,
            error: VerifyError::IndexOutOfRange {
                index,
                size: checkpoint.size,
            },
        });
    }
    let page = client.log_entries(index, index + 1)?;
    let entry = match page.entries.as_slice() {
        [entry] if entry.index == index => entry,
        _ => {
            return Err(LogCheckError::BadAnswer(format!(
                "asked for leaf {index}, got {} entries",
                page.entries.len()
            )));
        }
    };
    let data = entry.data.as_bytes();
    let event =
        LogEvent::from_leaf(data).map_err(|error| LogCheckError::BadLeaf { index, error })?;
    let wrong = |reason: String| LogCheckError::WrongLeaf { index, reason };
    if event.kind != "released" {
        return Err(wrong(format!(
            "is a {:?} event, not `released`",
            event.kind
        )));
    }
    let checks = [
        ("package", event.package.as_deref(), expected.package),
        ("version", event.version.as_deref(), expected.version),
        (
            "manifest_sha256",
            event.detail_str("manifest_sha256"),
            expected.manifest_sha256,
        ),
        (
            "signature_key_id",
            event.detail_str("signature_key_id"),
            expected.signature_key_id,
        ),
    ];
    for (field, found, wanted) in checks {
        if found != Some(wanted) {
            return Err(wrong(format!(
                "records {field} {found:?}, but the verified release has {wanted:?}"
            )));
        }
    }
    let leaf = leaf_hash(data);
    let answer = client.log_inclusion_proof(index, checkpoint.size)?;
    if (answer.index, answer.size) != (index, checkpoint.size) {
        return Err(LogCheckError::BadAnswer(format!(
            "asked for the inclusion proof of {index} in {}, got {} in {}",
            checkpoint.size, answer.index, answer.size
        )));
    }
    checkpoint
        .verify_inclusion(&leaf, index, &answer.proof)
        .map_err(|error| LogCheckError::NotIncluded {
            index,
            size: checkpoint.size,
            error,
        })?;
    Ok(event)
}

/// What a full audit saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AuditReport {
    /// Leaves checked.
    pub entries: u64,
    /// How many of each kind.
    pub kinds: BTreeMap<String, u64>,
    /// What replaying the events found: rules broken (the log verifies, but
    /// does not mean what a gate following its rules would have written)
    /// and leaves checked only in part.
    #[serde(flatten)]
    pub meaning: Meaning,
}

impl AuditReport {
    /// True when no event breaks a rule.
    pub fn means_what_it_says(&self) -> bool {
        self.meaning.violations.is_empty() && self.meaning.more_violations == 0
    }
}

/// Downloads every leaf of the checkpoint's tree, checks that each is a
/// canonical event with a `seq` larger than the one before, recomputes every
/// leaf hash and the root, and compares it with the signed root; then
/// replays the events. Hash failures are errors; broken rules are listed in
/// the report (see [`AuditReport::means_what_it_says`]).
pub fn audit_entries(
    client: &Client,
    checkpoint: &Checkpoint,
    progress: &dyn Progress,
) -> Result<AuditReport, LogCheckError> {
    progress.start("auditing", checkpoint.size);
    let result = audit_pages(client, checkpoint, progress);
    progress.finish();
    result
}

fn audit_pages(
    client: &Client,
    checkpoint: &Checkpoint,
    progress: &dyn Progress,
) -> Result<AuditReport, LogCheckError> {
    let size = checkpoint.size;
    let mut frontier = Frontier::new();
    let mut report = AuditReport::default();
    let mut last_seq = i64::MIN;
    let mut replay = Replay::new();
    while frontier.size() < size {
        let start = frontier.size();
        let page = client.log_entries(start, size)?;
        if page.entries.is_empty() {
            return Err(LogCheckError::BadAnswer(format!(
                "no entries from index {start}"
            )));
        }
        for entry in page.entries {
            let index = frontier.size();
            if entry.index != index || index >= size {
                return Err(LogCheckError::BadAnswer(format!(
                    "expected leaf {index}, got leaf {}",
                    entry.index
                )));
            }
            let data = entry.data.as_bytes();
            let event = LogEvent::from_leaf(data)
                .map_err(|error| LogCheckError::BadLeaf { index, error })?;
            if event.seq <= last_seq {
                return Err(LogCheckError::WrongLeaf {
                    index,
                    reason: format!(
                        "has event number {} after {last_seq}: events are logged in order",
                        event.seq
                    ),
                });
            }
            last_seq = event.seq;
            let hash = leaf_hash(data);
            if hash != entry.leaf_hash {
                return Err(LogCheckError::WrongLeaf {
                    index,
                    reason: "hashes to another leaf hash than the gate states".into(),
                });
            }
            // Cannot fail: index < size <= u64::MAX.
            let _ = frontier.append(hash);
            replay.apply(index, &event);
            *report.kinds.entry(event.kind).or_default() += 1;
            progress.advance(1);
        }
    }
    report.entries = size;
    report.meaning = replay.finish();
    let computed = frontier.root();
    if computed != checkpoint.root {
        return Err(LogCheckError::RootMismatch {
            size,
            computed,
            signed: checkpoint.root,
        });
    }
    Ok(report)
}

/// Up to `limit` leaves from `from` (for listings: decoded, not verified
/// against a checkpoint), stopping at `size`.
pub fn list_entries(
    client: &Client,
    from: u64,
    limit: u64,
    size: u64,
) -> Result<Vec<(u64, LogEvent)>, LogCheckError> {
    let end = from.saturating_add(limit).min(size);
    let mut out = Vec::new();
    let mut next = from;
    while next < end {
        let page = client.log_entries(next, end)?;
        if page.entries.is_empty() {
            return Err(LogCheckError::BadAnswer(format!(
                "no entries from index {next}"
            )));
        }
        for entry in page.entries {
            if entry.index != next || next >= end {
                return Err(LogCheckError::BadAnswer(format!(
                    "expected leaf {next}, got leaf {}",
                    entry.index
                )));
            }
            let event = LogEvent::from_leaf(entry.data.as_bytes())
                .map_err(|error| LogCheckError::BadLeaf { index: next, error })?;
            out.push((next, event));
            next += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    use serde_json::json;
    use shipgate_log::Frontier;

    use super::*;
    use crate::client::NoProgress;

    fn leaf(seq: i64) -> Vec<u8> {
        LogEvent {
            seq,
            time: 0,
            kind: "test".into(),
            actor: "me".into(),
            release_id: None,
            package: None,
            version: None,
            detail: serde_json::Map::new(),
        }
        .to_leaf()
        .unwrap()
    }

    /// A gate that answers `GET /v1/log/entries?start=S&end=E` with what
    /// `page(S, E)` returns (indexes of leaves to serve), on a loopback port.
    fn serve_pages(leaves: Vec<Vec<u8>>, page: fn(u64, u64) -> Vec<u64>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                reader.read_line(&mut request).unwrap();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                        break;
                    }
                }
                let query = request.split(['?', ' ']).nth(2).unwrap_or_default();
                let number = |key: &str| {
                    query
                        .split('&')
                        .find_map(|p| p.strip_prefix(&format!("{key}=")))
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                let entries: Vec<_> = page(number("start"), number("end"))
                    .into_iter()
                    .map(|i| {
                        let data = &leaves[i as usize];
                        json!({
                            "index": i,
                            "data": String::from_utf8(data.clone()).unwrap(),
                            "leaf_hash": leaf_hash(data).to_hex(),
                        })
                    })
                    .collect();
                let body = json!({ "entries": entries }).to_string();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        url
    }

    fn checkpoint(leaves: &[Vec<u8>]) -> Checkpoint {
        let mut frontier = Frontier::new();
        for data in leaves {
            frontier.append(leaf_hash(data)).unwrap();
        }
        Checkpoint::new("gate.test", leaves.len() as u64, frontier.root())
    }

    /// A gate that serves one leaf per page (as it does when leaves are
    /// large) is followed to the end.
    #[test]
    fn short_pages_are_followed_to_the_end() {
        let leaves: Vec<Vec<u8>> = (1..=7).map(leaf).collect();
        let signed = checkpoint(&leaves);
        let url = serve_pages(leaves, |start, _| vec![start]);
        let client = Client::new(&url).unwrap();
        let report = audit_entries(&client, &signed, &NoProgress).unwrap();
        assert_eq!(report.entries, 7);
        assert_eq!(report.kinds["test"], 7);
        assert!(report.means_what_it_says());
    }

    /// An empty page before the end is an error, not an endless loop; so is
    /// a page that skips or repeats leaves.
    #[test]
    fn empty_or_misnumbered_pages_are_refused() {
        let leaves: Vec<Vec<u8>> = (1..=5).map(leaf).collect();
        let signed = checkpoint(&leaves);
        let url = serve_pages(leaves.clone(), |start, end| {
            if start >= 3 {
                vec![]
            } else {
                (start..end.min(start + 2)).collect()
            }
        });
        let client = Client::new(&url).unwrap();
        let err = audit_entries(&client, &signed, &NoProgress).unwrap_err();
        assert!(err.to_string().contains("no entries from index 4"), "{err}");
        let url = serve_pages(leaves, |start, _| vec![start + 1]);
        let client = Client::new(&url).unwrap();
        let err = audit_entries(&client, &signed, &NoProgress).unwrap_err();
        assert!(
            err.to_string().contains("expected leaf 0, got leaf 1"),
            "{err}"
        );
    }
}
