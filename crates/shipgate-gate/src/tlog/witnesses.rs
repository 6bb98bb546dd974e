//! The gate asks the witnesses of `gate.toml` (`[[witness]]`) to cosign its
//! checkpoints (C2SP `tlog-witness`), and serves the checkpoint with their
//! cosignatures appended as more signature lines of the same note.
//!
//! One background task per witness: whenever the log's size is past the
//! last checkpoint the witness cosigned, or its cosignature is older than
//! `refresh_seconds` (so an idle but honest gate keeps fresh cosignatures,
//! and clients with `--max-age` can tell it from a frozen one), the task
//! sends the current checkpoint with the consistency proof from the
//! witness's size. The first request says `old 0`; a witness that knows the
//! log answers 409 with its size, and the task resends with the proof from
//! there. Each cosignature is verified with the witness's key before it is
//! served. A witness that is down or refuses is retried with backoff; it
//! never blocks staging, decisions or the checkpoint route, which simply
//! serves whatever cosignatures match the current checkpoint.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use shipgate_log::add_checkpoint::{AddCheckpoint, SIZE_CONTENT_TYPE, parse_size_body};
use shipgate_log::note::SignedNote;
use shipgate_log::{CosignatureVerifier, Hash};

use crate::api::AppState;
use crate::config::WitnessConfig;
use crate::storage::StoredCheckpoint;

/// How often each task looks at the log's size.
const TICK: Duration = Duration::from_millis(500);
/// Longest wait between two attempts at a witness that fails.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Time allowed for one request to a witness.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer read from a witness (a few signature lines).
const MAX_ANSWER_BYTES: usize = 16 << 10;

/// One configured witness.
#[derive(Debug)]
struct Entry {
    verifier: CosignatureVerifier,
    url: String,
    refresh: Duration,
}

/// A cosignature the gate holds for one checkpoint.
#[derive(Debug, Clone)]
struct Cosigned {
    size: u64,
    root: Hash,
    line: String,
    timestamp: u64,
}

/// The witnesses and the cosignatures they gave.
#[derive(Debug, Default)]
pub struct Witnesses {
    entries: Vec<Entry>,
    cosigned: Mutex<Vec<Option<Cosigned>>>,
}

/// Checks the `[[witness]]` entries: `(field, message)` for the config error.
pub fn check_config(witnesses: &[WitnessConfig], base_dir: &Path) -> Result<(), (String, String)> {
    for (i, config) in witnesses.iter().enumerate() {
        entry(config, base_dir)
            .map_err(|(field, message)| (format!("witness[{i}].{field}"), message))?;
        if witnesses[..i].iter().any(|w| w.name == config.name) {
            return Err((format!("witness[{i}].name"), "is listed twice".into()));
        }
    }
    Ok(())
}

fn entry(config: &WitnessConfig, base_dir: &Path) -> Result<Entry, (&'static str, String)> {
    let url = config.url.trim_end_matches('/').to_owned();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(("url", "must start with http:// or https://".into()));
    }
    let vkey = match (&config.key, &config.key_file) {
        (Some(key), None) => key.trim().to_owned(),
        (None, Some(file)) => {
            let path = base_dir.join(file);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ("key_file", format!("cannot read {}: {e}", path.display())))?;
            text.trim().to_owned()
        }
        _ => return Err(("key", "give exactly one of key and key_file".into())),
    };
    let verifier = CosignatureVerifier::parse(&vkey).map_err(|e| ("key", e.to_string()))?;
    if verifier.name() != config.name {
        return Err((
            "name",
            format!(
                "is {:?} but the key is named {:?}",
                config.name,
                verifier.name()
            ),
        ));
    }
    if !(1..=86_400).contains(&config.refresh_seconds) {
        return Err(("refresh_seconds", "must be between 1 and 86400".into()));
    }
    Ok(Entry {
        verifier,
        url,
        refresh: Duration::from_secs(config.refresh_seconds),
    })
}

impl Witnesses {
    /// The witnesses of a (validated) config.
    pub fn from_config(witnesses: &[WitnessConfig], base_dir: &Path) -> Result<Witnesses, String> {
        let entries = witnesses
            .iter()
            .enumerate()
            .map(|(i, config)| {
                entry(config, base_dir)
                    .map_err(|(field, message)| format!("witness[{i}].{field}: {message}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cosigned = Mutex::new(vec![None; entries.len()]);
        Ok(Witnesses { entries, cosigned })
    }

    /// The note of `stored` with every cosignature made on its size and
    /// root appended (in the order of `gate.toml`).
    pub fn cosigned_note(&self, stored: &StoredCheckpoint) -> String {
        let cosigned = self.cosigned.lock().unwrap_or_else(|e| e.into_inner());
        let mut note = stored.note.clone();
        for c in cosigned.iter().flatten() {
            if c.size == stored.size && c.root == stored.root {
                note.push_str(&c.line);
            }
        }
        note
    }

    fn get(&self, i: usize) -> Option<Cosigned> {
        let cosigned = self.cosigned.lock().unwrap_or_else(|e| e.into_inner());
        cosigned.get(i).cloned().flatten()
    }

    fn set(&self, i: usize, value: Cosigned) {
        let mut cosigned = self.cosigned.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = cosigned.get_mut(i) {
            *slot = Some(value);
        }
    }
}

/// Starts one task per witness; they run until aborted.
pub fn spawn(state: AppState) -> Vec<tokio::task::JoinHandle<()>> {
    let count = state.log().witnesses().entries.len();
    let client = match reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "cannot build the HTTP client for witnesses: no cosignatures");
            return Vec::new();
        }
    };
    (0..count)
        .map(|i| tokio::spawn(run_one(state.clone(), client.clone(), i)))
        .collect()
}

/// What one attempt at a witness gave.
enum Outcome {
    Cosigned,
    /// The witness is at another size: retry from there now.
    Conflict(u64),
    Failed(String),
}

async fn run_one(state: AppState, client: reqwest::Client, i: usize) {
    let Some(entry) = state.log().witnesses().entries.get(i) else {
        return;
    };
    let name = entry.verifier.name().to_owned();
    // The witness's size as far as the gate knows (None: ask with old 0).
    let mut known: Option<u64> = None;
    let mut backoff = Duration::ZERO;
    let mut failures: u32 = 0;
    loop {
        tokio::time::sleep(TICK.max(backoff)).await;
        let stored = match state.log().checkpoint(state.db(), crate::unix_now()).await {
            Ok(stored) => stored,
            Err(error) => {
                tracing::error!(%error, witness = %name, "cannot read the checkpoint to send");
                continue;
            }
        };
        let now = u64::try_from(crate::unix_now()).unwrap_or(0);
        let fresh = state.log().witnesses().get(i).is_some_and(|c| {
            c.size == stored.size
                && c.root == stored.root
                && now.saturating_sub(c.timestamp) < entry.refresh.as_secs()
        });
        if fresh {
            continue;
        }
        let mut outcome = attempt(&state, &client, entry, i, &stored, known).await;
        // One conflict is the normal way to learn the witness's size.
        if let Outcome::Conflict(size) = outcome {
            known = Some(size);
            outcome = attempt(&state, &client, entry, i, &stored, known).await;
        }
        match outcome {
            Outcome::Cosigned => {
                if failures > 0 {
                    tracing::info!(witness = %name, size = stored.size, "witness reachable again: cosigned");
                }
                known = Some(stored.size);
                failures = 0;
                backoff = Duration::ZERO;
            }
            Outcome::Conflict(size) => {
                known = Some(size);
                failures += 1;
                tracing::error!(witness = %name, witness_size = size, size = stored.size, "the witness refuses this checkpoint (it cosigned another root at its size: a fork?)");
            }
            Outcome::Failed(reason) => {
                failures += 1;
                tracing::warn!(witness = %name, %reason, failures, "witness did not cosign; retrying in the background");
            }
        }
        if failures > 0 {
            let step = 1u64 << failures.min(6);
            backoff = Duration::from_secs(step)
                .min(MAX_BACKOFF)
                .min(entry.refresh.max(TICK));
        }
    }
}

async fn attempt(
    state: &AppState,
    client: &reqwest::Client,
    entry: &Entry,
    i: usize,
    stored: &StoredCheckpoint,
    known: Option<u64>,
) -> Outcome {
    let old = known.unwrap_or(0);
    if old > stored.size {
        return Outcome::Failed(format!(
            "the witness has cosigned size {old}, larger than this log ({}): was the log rolled back?",
            stored.size
        ));
    }
    let proof = if old == 0 || old == stored.size {
        Vec::new()
    } else {
        match state
            .log()
            .consistency_proof(state.db(), old, stored.size)
            .await
        {
            Ok(proof) => proof,
            Err(error) => return Outcome::Failed(format!("no consistency proof: {error}")),
        }
    };
    let body = AddCheckpoint {
        old_size: old,
        proof,
        note: stored.note.clone().into_bytes(),
    }
    .to_body();
    let response = match client
        .post(format!("{}/add-checkpoint", entry.url))
        .body(body)
        .send()
        .await
    {
        Ok(response) => response,
        Err(error) => return Outcome::Failed(format!("unreachable: {error}")),
    };
    let status = response.status().as_u16();
    let conflict_size = status == 409
        && response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(SIZE_CONTENT_TYPE.as_bytes()));
    let answer = match read_limited(response).await {
        Ok(answer) => answer,
        Err(reason) => return Outcome::Failed(reason),
    };
    if conflict_size {
        return match parse_size_body(&answer) {
            Ok(size) => Outcome::Conflict(size),
            Err(error) => Outcome::Failed(format!("409 with a bad size: {error}")),
        };
    }
    if status != 200 {
        let reason = String::from_utf8_lossy(&answer[..answer.len().min(200)])
            .trim()
            .to_owned();
        return Outcome::Failed(format!("answered {status}: {reason}"));
    }
    match verified_cosignature(entry, stored, &answer) {
        Ok(cosigned) => {
            tracing::info!(witness = %entry.verifier.name(), size = stored.size, "checkpoint cosigned");
            state.log().witnesses().set(i, cosigned);
            Outcome::Cosigned
        }
        Err(reason) => Outcome::Failed(reason),
    }
}

/// Reads at most [`MAX_ANSWER_BYTES`] of a response.
async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("reading the answer failed: {e}"))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(format!(
                "the answer is larger than {MAX_ANSWER_BYTES} bytes"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The witness's own line from a 200 answer, verified over the checkpoint.
fn verified_cosignature(
    entry: &Entry,
    stored: &StoredCheckpoint,
    answer: &[u8],
) -> Result<Cosigned, String> {
    let answer = std::str::from_utf8(answer).map_err(|_| "the answer is not UTF-8".to_owned())?;
    // The answer is signature lines: appended to the note, it parses as one.
    let mut note = stored.note.clone();
    note.push_str(answer);
    let parsed = SignedNote::parse(note.as_bytes())
        .map_err(|e| format!("the answer is not signature lines: {e}"))?;
    let timestamp = entry
        .verifier
        .check(&parsed)
        .map_err(|e| format!("bad cosignature: {e}"))?;
    // Keep only the newest line by this key, exactly as the witness wrote it.
    let line = answer
        .split_inclusive('\n')
        .find(|line| {
            SignedNote::parse(format!("{}{line}", stored.note).as_bytes())
                .ok()
                .is_some_and(|n| entry.verifier.check(&n) == Ok(timestamp))
        })
        .ok_or_else(|| "no cosignature line".to_owned())?
        .to_owned();
    Ok(Cosigned {
        size: stored.size,
        root: stored.root,
        line,
        timestamp,
    })
}

#[cfg(test)]
mod tests {
    use shipgate_log::{Checkpoint, CosignatureSigner, NoteSigner};

    use super::*;

    fn signer() -> CosignatureSigner {
        CosignatureSigner::from_ed25519_seed("w.test", &[3; 32]).unwrap()
    }

    fn config(extra: impl FnOnce(&mut WitnessConfig)) -> WitnessConfig {
        let mut config = WitnessConfig {
            name: "w.test".into(),
            url: "http://127.0.0.1:1/".into(),
            key: Some(signer().verifier().to_string()),
            key_file: None,
            refresh_seconds: 300,
        };
        extra(&mut config);
        config
    }

    #[test]
    fn entries_are_checked_field_by_field() {
        let dir = Path::new("/nonexistent");
        assert!(check_config(&[config(|_| {})], dir).is_ok());
        let cases: Vec<(WitnessConfig, &str)> = vec![
            (config(|c| c.name = "other".into()), "witness[0].name"),
            (config(|c| c.url = "ftp://x".into()), "witness[0].url"),
            (
                config(|c| c.key = Some("w.test+00000000+BA==".into())),
                "witness[0].key",
            ),
            (
                config(|c| c.key_file = Some("k.pub".into())),
                "witness[0].key",
            ),
            (
                config(|c| {
                    c.key = None;
                    c.key_file = Some("k.pub".into());
                }),
                "witness[0].key_file",
            ),
            (
                config(|c| c.refresh_seconds = 0),
                "witness[0].refresh_seconds",
            ),
        ];
        for (config, field) in cases {
            let (found, message) = check_config(&[config], dir).unwrap_err();
            assert_eq!(found, field, "{message}");
        }
        let (field, _) = check_config(&[config(|_| {}), config(|_| {})], dir).unwrap_err();
        assert_eq!(field, "witness[1].name");
    }

    #[test]
    fn only_a_valid_cosignature_on_this_checkpoint_is_kept() {
        let log = NoteSigner::from_ed25519_seed("gate.test", &[1; 32]).unwrap();
        let checkpoint = Checkpoint::new("gate.test", 5, Hash([7; 32]));
        let stored = StoredCheckpoint {
            size: 5,
            signer: log.verifier().to_string(),
            root: checkpoint.root,
            note: checkpoint.sign(&log).unwrap(),
        };
        let witnesses =
            Witnesses::from_config(&[config(|_| {})], Path::new("/nonexistent")).unwrap();
        let entry = &witnesses.entries[0];
        let line = signer()
            .cosign(&checkpoint.to_text().unwrap(), 1000)
            .unwrap();
        let kept = verified_cosignature(entry, &stored, line.as_bytes()).unwrap();
        assert_eq!((kept.line.as_str(), kept.timestamp), (line.as_str(), 1000));
        witnesses.set(0, kept);
        assert_eq!(
            witnesses.cosigned_note(&stored),
            format!("{}{line}", stored.note)
        );
        // Another size: the cosignature is not served with it.
        let other = StoredCheckpoint {
            size: 6,
            ..stored.clone()
        };
        assert_eq!(witnesses.cosigned_note(&other), other.note);
        // Another checkpoint's cosignature, another key's, garbage: refused.
        let foreign = signer()
            .cosign(
                &Checkpoint::new("gate.test", 4, Hash([7; 32]))
                    .to_text()
                    .unwrap(),
                1000,
            )
            .unwrap();
        let stranger = CosignatureSigner::from_ed25519_seed("w.test", &[4; 32])
            .unwrap()
            .cosign(&checkpoint.to_text().unwrap(), 1000)
            .unwrap();
        for answer in [
            foreign.as_str(),
            stranger.as_str(),
            "",
            "garbage\n",
            "\u{2014} w.test AAAA\n",
        ] {
            assert!(
                verified_cosignature(entry, &stored, answer.as_bytes()).is_err(),
                "{answer:?}"
            );
        }
    }
}
