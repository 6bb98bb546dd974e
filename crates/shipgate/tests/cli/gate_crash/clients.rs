//! The drill's clients: threads that stage small and large releases and
//! approve staged ones against whatever gate is up, and write down every
//! answer the gate acknowledged (the promises a crash must not break).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use shipgate_client::tlog::audit::{SignedCheckpoint, open_checkpoint};
use shipgate_manifest::PublicKey;

use super::http::{Reply, call};
use crate::gate_util::{Minter, multipart, sha256_hex};

/// The audience of the drill's gate.
pub const AUDIENCE: &str = "shipgate-drill";

/// A package of the drill: (name, repository, owner id, quorum).
pub const PACKAGES: [(&str, &str, &str, u32); 2] =
    [("solo", "acme/solo", "51", 1), ("duo", "acme/duo", "52", 2)];

/// Bytes every small release carries as `shared.txt`: one blob referenced
/// by many releases (and held by many uploads at once).
pub const SHARED: &[u8] = b"the same bytes in every small release\n";

/// An enrolled maintainer.
#[derive(Debug, Clone)]
pub struct Maintainer {
    pub name: String,
    pub package: String,
    pub token: String,
    pub secret: String,
}

/// A staging the gate answered 201 to.
#[derive(Debug, Clone)]
pub struct AckedStage {
    pub id: i64,
    pub package: String,
    pub version: String,
    /// (name, size, sha256), sorted by name.
    pub files: Vec<(String, u64, String)>,
}

/// Everything the clients saw.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Stagings answered 201.
    pub stages: Vec<AckedStage>,
    /// Approvals answered 200: (release, maintainer).
    pub approvals: Vec<(i64, String)>,
    /// Approvals answered 200 with state `released`: (release, manifest sha256).
    pub releases: Vec<(i64, String)>,
    /// Requests cut by a kill, per call.
    pub dropped: BTreeMap<&'static str, usize>,
    /// Uploads cut after some but not all of their body was sent.
    pub mid_upload: usize,
    /// Every distinct signed checkpoint the watcher saw, in order.
    pub checkpoints: Vec<SignedCheckpoint>,
    /// Answers no drill client should ever get.
    pub unexpected: Vec<String>,
}

/// What the main thread and the clients share.
#[derive(Default)]
pub struct Shared {
    /// The port of the gate that is up, and a count of gates started (so a
    /// client never sends to a new gate that happens to get an old port
    /// while the checks run).
    port: Mutex<(Option<u16>, u64)>,
    changed: Condvar,
    stop: AtomicBool,
    pub ledger: Mutex<Ledger>,
    /// The last TOTP step each maintainer sent (acknowledged or not: a cut
    /// request may have burned it), and whether a request of theirs is in
    /// flight: one at a time, or a later step could arrive first and make
    /// the earlier one a refused reuse.
    steps: Mutex<HashMap<String, (i64, bool)>>,
}

impl Shared {
    /// Lets the clients send to `port` (`None`: hold new requests).
    pub fn publish(&self, port: Option<u16>) {
        let mut current = self.port.lock().unwrap();
        current.0 = port;
        current.1 += 1;
        self.changed.notify_all();
    }

    /// True while the gate a client got from [`Shared::port`] is still the
    /// one to send to.
    fn still(&self, generation: u64) -> bool {
        self.port.lock().unwrap().1 == generation
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.changed.notify_all();
    }

    /// Waits for a gate to send to: (port, generation); `None` when the
    /// drill is over.
    fn port(&self) -> Option<(u16, u64)> {
        let mut port = self.port.lock().unwrap();
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return None;
            }
            if let (Some(p), generation) = *port {
                return Some((p, generation));
            }
            port = self
                .changed
                .wait_timeout(port, Duration::from_millis(50))
                .unwrap()
                .0;
        }
    }

    fn note(&self, f: impl FnOnce(&mut Ledger)) {
        f(&mut self.ledger.lock().unwrap());
    }

    fn dropped(&self, call: &'static str) {
        self.note(|l| *l.dropped.entry(call).or_default() += 1);
    }

    fn unexpected(&self, what: String) {
        self.note(|l| l.unexpected.push(what));
    }
}

/// Stages releases until the drill stops: small ones (`big == false`: the
/// shared file plus one or two random files) sent at once, or large ones
/// (one 1 MiB file) paced so that a kill often lands mid-stream.
pub fn stager(shared: Arc<Shared>, minter: Arc<Minter>, thread: usize, big: bool, seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut n = 0;
    while let Some((port, generation)) = shared.port() {
        n += 1;
        let (package, repository, owner, _) = PACKAGES[rng.usize(..PACKAGES.len())];
        let version = format!("{thread}.{n}.0");
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        if big {
            let mut bytes = vec![0u8; 1 << 20];
            rng.fill(&mut bytes);
            files.push(("big.bin".into(), bytes));
        } else {
            files.push(("shared.txt".into(), SHARED.to_vec()));
            for i in 0..rng.usize(1..=2) {
                let mut bytes = vec![0u8; rng.usize(1..=48 * 1024)];
                rng.fill(&mut bytes);
                files.push((format!("part{i}.bin"), bytes));
            }
        }
        let listed: Vec<serde_json::Value> = files
            .iter()
            .map(|(name, bytes)| {
                serde_json::json!({"name": name, "size": bytes.len(), "sha256": sha256_hex(bytes)})
            })
            .collect();
        let announce = serde_json::json!({ "files": listed }).to_string();
        let parts: Vec<(String, &[u8])> = files
            .iter()
            .enumerate()
            .map(|(i, (_, bytes))| (format!("file.{i}"), bytes.as_slice()))
            .collect();
        let parts: Vec<(&str, &[u8])> = parts.iter().map(|(n, b)| (n.as_str(), *b)).collect();
        let (content_type, body) = multipart(&announce, &parts);
        let token = minter.github_token(AUDIENCE, repository, owner, &version);
        let bearer = format!("Bearer {token}");
        let pace = big.then_some(Duration::from_millis(2));
        if !shared.still(generation) {
            continue;
        }
        let reply = call(
            port,
            "POST",
            &format!("/v1/packages/{package}/versions/{version}"),
            &[("Authorization", &bearer), ("Content-Type", &content_type)],
            &body,
            pace,
        );
        match reply {
            Reply::Answer(201, answer) => {
                let value: serde_json::Value = match serde_json::from_slice(&answer) {
                    Ok(v) => v,
                    Err(e) => {
                        shared.unexpected(format!("stage {package} {version}: 201 with {e}"));
                        continue;
                    }
                };
                let mut listed: Vec<(String, u64, String)> = files
                    .iter()
                    .map(|(name, bytes)| (name.clone(), bytes.len() as u64, sha256_hex(bytes)))
                    .collect();
                listed.sort();
                let stage = AckedStage {
                    id: value["id"].as_i64().unwrap_or(-1),
                    package: package.into(),
                    version,
                    files: listed,
                };
                shared.note(|l| l.stages.push(stage));
            }
            Reply::Answer(status, answer) => shared.unexpected(format!(
                "stage {package} {version}: {status} {}",
                Reply::text(&answer)
            )),
            Reply::Dropped { sent } => {
                shared.dropped(if big { "stage (large)" } else { "stage" });
                if big && sent > 0 && sent < body.len() {
                    shared.note(|l| l.mid_upload += 1);
                }
            }
            Reply::Hung => shared.unexpected(format!("stage {package} {version}: no answer")),
        }
        if !big {
            std::thread::sleep(Duration::from_millis(rng.u64(5..=20)));
        }
    }
}

/// Approves staged releases until the drill stops: lists what is staged,
/// picks a release and one of its package's maintainers with an unused TOTP
/// step, and approves with the code for that step.
pub fn approver(shared: Arc<Shared>, maintainers: Arc<Vec<Maintainer>>, seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    while let Some((port, generation)) = shared.port() {
        let staged = match call(port, "GET", "/v1/releases?state=staged", &[], b"", None) {
            Reply::Answer(200, body) => {
                let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                value["releases"].as_array().cloned().unwrap_or_default()
            }
            Reply::Answer(status, body) => {
                shared.unexpected(format!("list: {status} {}", Reply::text(&body)));
                continue;
            }
            Reply::Dropped { .. } => {
                shared.dropped("list");
                continue;
            }
            Reply::Hung => {
                shared.unexpected("list: no answer".into());
                continue;
            }
        };
        if staged.is_empty() {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        let release = &staged[rng.usize(..staged.len())];
        let (Some(id), Some(package)) = (release["id"].as_i64(), release["package"].as_str())
        else {
            shared.unexpected(format!("list: malformed entry {release}"));
            continue;
        };
        let Some((maintainer, step)) = claim_step(&shared, &maintainers, id, package, &mut rng)
        else {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        let code =
            shipgate_gate::credentials::totp_code(&maintainer.secret, (step * 30) as u64).unwrap();
        let bearer = format!("Bearer {}", maintainer.token);
        let body = format!(r#"{{"code":"{code}"}}"#);
        let reply = if shared.still(generation) {
            call(
                port,
                "POST",
                &format!("/v1/releases/{id}/approve"),
                &[
                    ("Authorization", &bearer),
                    ("Content-Type", "application/json"),
                ],
                body.as_bytes(),
                None,
            )
        } else {
            Reply::Dropped { sent: 0 }
        };
        if let Some(entry) = shared.steps.lock().unwrap().get_mut(&maintainer.name) {
            entry.1 = false;
        }
        match reply {
            Reply::Answer(200, answer) => {
                let value: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
                let name = maintainer.name.clone();
                shared.note(|l| {
                    l.approvals.push((id, name));
                    if value["state"] == "released" {
                        let digest = value["manifest_sha256"].as_str().unwrap_or("").to_owned();
                        l.releases.push((id, digest));
                    }
                });
            }
            // Released meanwhile by another approval, or this maintainer's
            // approval was committed by a request the kill cut.
            Reply::Answer(409, _) => {}
            Reply::Answer(status, answer) => shared.unexpected(format!(
                "approve {id} as {}: {status} {}",
                maintainer.name,
                Reply::text(&answer)
            )),
            Reply::Dropped { sent: 0 } if !shared.still(generation) => {}
            Reply::Dropped { .. } => shared.dropped("approve"),
            Reply::Hung => shared.unexpected(format!("approve {id}: no answer")),
        }
    }
}

/// Picks a maintainer of `package` who has not been seen approving `id` and
/// has a TOTP step left that the gate accepts now (this step or the next),
/// and marks that step used.
fn claim_step<'a>(
    shared: &Shared,
    maintainers: &'a [Maintainer],
    id: i64,
    package: &str,
    rng: &mut fastrand::Rng,
) -> Option<(&'a Maintainer, i64)> {
    let approved: HashSet<String> = shared
        .ledger
        .lock()
        .unwrap()
        .approvals
        .iter()
        .filter(|(r, _)| *r == id)
        .map(|(_, m)| m.clone())
        .collect();
    let mut candidates: Vec<&Maintainer> = maintainers
        .iter()
        .filter(|m| m.package == package && !approved.contains(&m.name))
        .collect();
    rng.shuffle(&mut candidates);
    let now = shipgate_gate::unix_now();
    let current = now / 30;
    let mut steps = shared.steps.lock().unwrap();
    for m in candidates {
        let (last, busy) = steps.get(&m.name).copied().unwrap_or((0, false));
        // Never the previous step: the gate's clock may pass into the next
        // step before it checks, and a refused code counts as a failure.
        let step = (last + 1).max(current);
        if !busy && step <= current + 1 {
            steps.insert(m.name.clone(), (step, true));
            return Some((m, step));
        }
    }
    None
}

/// Fetches the gate's signed checkpoint every few milliseconds and keeps
/// each new one (verified with the gate key): the checkpoints a monitor saw
/// before each kill, which the log must stay consistent with.
pub fn watcher(shared: Arc<Shared>, key: PublicKey, seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    while let Some((port, _)) = shared.port() {
        match call(port, "GET", "/v1/log/checkpoint", &[], b"", None) {
            Reply::Answer(200, note) => match open_checkpoint(&note, &key, "drill checkpoint") {
                Ok(seen) => shared.note(|l| {
                    if l.checkpoints.last() != Some(&seen) {
                        l.checkpoints.push(seen);
                    }
                }),
                Err(e) => shared.unexpected(format!("checkpoint does not verify: {e}")),
            },
            Reply::Answer(status, body) => {
                shared.unexpected(format!("checkpoint: {status} {}", Reply::text(&body)));
            }
            Reply::Dropped { .. } => shared.dropped("checkpoint"),
            Reply::Hung => shared.unexpected("checkpoint: no answer".into()),
        }
        std::thread::sleep(Duration::from_millis(rng.u64(5..=25)));
    }
}
