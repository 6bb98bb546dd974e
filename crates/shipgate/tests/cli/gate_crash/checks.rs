//! What must hold after every restart: every release whole (fully staged or
//! fully released) or absent, every acknowledged answer kept, nothing
//! doubled, the event sequence gapless and only ever extended.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use shipgate_client::client::Client;
use shipgate_client::tlog::audit::{SignedCheckpoint, check_extends, fetch_checkpoint};
use shipgate_gate::storage::{Db, Event, ReleaseDetail, ReleaseState, SignedManifest};
use shipgate_manifest::{EntryKind, PublicKey};

use super::clients::{Ledger, PACKAGES};
use super::http::{Reply, call};
use crate::gate_util::{Gate, sha256_hex};
use crate::util::{shipgate, stderr};

/// What earlier checks saw, to check that nothing goes backwards.
#[derive(Debug, Default)]
pub struct History {
    /// Every event, as of the last check.
    pub events: Vec<Event>,
    /// Release id → (state, SHA-256 of its signed manifest once released).
    pub releases: BTreeMap<i64, (ReleaseState, Option<String>)>,
    /// Released releases already downloaded and verified over HTTP.
    pub served: HashSet<i64>,
    /// The log's checkpoint right after the last restart.
    pub head: Option<SignedCheckpoint>,
    /// How many of the watcher's checkpoints were already checked.
    pub checkpoints_checked: usize,
}

/// The database as one consistent picture (the gate is quiet during checks).
struct Snapshot {
    events: Vec<Event>,
    releases: Vec<ReleaseDetail>,
    signed: HashMap<i64, SignedManifest>,
}

fn snapshot(data: &Path) -> Snapshot {
    shipgate_gate::block_on(async {
        let db = Db::open(data).await.unwrap();
        let events = db.events().await.unwrap();
        let mut releases = Vec::new();
        let mut signed = HashMap::new();
        for summary in db
            .list_releases(&shipgate_protocol::wire::ReleaseQuery {
                limit: Some(100_000),
                ..Default::default()
            })
            .await
            .unwrap()
        {
            let detail = db.release(summary.id).await.unwrap().unwrap();
            if detail.summary.state == ReleaseState::Released
                && let Some((_, s)) = db
                    .released_version(&detail.summary.package, &detail.summary.version)
                    .await
                    .unwrap()
            {
                signed.insert(summary.id, s);
            }
            releases.push(detail);
        }
        db.close().await;
        Snapshot {
            events,
            releases,
            signed,
        }
    })
    .unwrap()
}

fn quorum(package: &str) -> u32 {
    PACKAGES
        .iter()
        .find(|p| p.0 == package)
        .map_or(u32::MAX, |p| p.3)
}

/// Runs every check against the freshly restarted, quiet `gate`; returns the
/// problems found (empty when all is well) and updates `history`.
pub fn check(gate: &Gate, key: &PublicKey, ledger: &Ledger, history: &mut History) -> Vec<String> {
    let data = gate.path().join("data");
    let snap = snapshot(&data);
    let mut problems = Vec::new();
    let mut fail = |p: String| problems.push(p);

    // The event sequence: gapless, and what was there before is unchanged.
    for (i, event) in snap.events.iter().enumerate() {
        if event.seq != i as i64 + 1 {
            fail(format!("event #{} has seq {}: a gap", i + 1, event.seq));
            break;
        }
    }
    if snap.events.len() < history.events.len()
        || snap.events[..history.events.len()] != history.events[..]
    {
        fail(format!(
            "the event history was rewritten: {} events before, {} now",
            history.events.len(),
            snap.events.len()
        ));
    }
    for event in &snap.events {
        if !matches!(
            event.kind.as_str(),
            "package_policy" | "maintainer_enrolled" | "staged" | "approved" | "released"
        ) {
            fail(format!("unexpected event {event:?}"));
        }
    }

    // Each release: whole, and its events match its rows.
    let ids: HashSet<i64> = snap.releases.iter().map(|r| r.summary.id).collect();
    for event in &snap.events {
        if let Some(id) = event.release_id
            && !ids.contains(&id)
        {
            fail(format!(
                "event {} names release {id}, which does not exist",
                event.seq
            ));
        }
    }
    let mut blob_sizes: BTreeMap<String, u64> = BTreeMap::new();
    for release in &snap.releases {
        let id = release.summary.id;
        let events: Vec<&Event> = snap
            .events
            .iter()
            .filter(|e| e.release_id == Some(id))
            .collect();
        let count = |kind: &str| events.iter().filter(|e| e.kind == kind).count();
        if count("staged") != 1 {
            fail(format!(
                "release {id} has {} staged events",
                count("staged")
            ));
        }
        for file in &release.files {
            blob_sizes.insert(file.sha256.clone(), file.size);
        }
        if let Some(staged) = events.iter().find(|e| e.kind == "staged") {
            let detail: serde_json::Value = serde_json::from_str(&staged.detail).unwrap();
            let logged: BTreeSet<(String, u64, String)> = detail["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    (
                        f["path"].as_str().unwrap().to_owned(),
                        f["size"].as_u64().unwrap(),
                        f["sha256"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            let stored: BTreeSet<(String, u64, String)> = release
                .files
                .iter()
                .map(|f| (f.path.clone(), f.size, f.sha256.clone()))
                .collect();
            if logged != stored || stored.is_empty() {
                fail(format!(
                    "release {id}: files {stored:?} but staged event lists {logged:?}"
                ));
            }
        }
        // Approvals: distinct, each with exactly one event, and no event
        // without its approval.
        let approvers: Vec<&str> = release
            .approvals
            .iter()
            .map(|a| a.maintainer.as_str())
            .collect();
        let distinct: BTreeSet<&str> = approvers.iter().copied().collect();
        if distinct.len() != approvers.len() {
            fail(format!("release {id}: doubled approval {approvers:?}"));
        }
        let mut approved_events: Vec<&str> = events
            .iter()
            .filter(|e| e.kind == "approved")
            .map(|e| e.actor.as_str())
            .collect();
        approved_events.sort_unstable();
        let mut sorted = approvers.clone();
        sorted.sort_unstable();
        if approved_events != sorted {
            fail(format!(
                "release {id}: approvals {sorted:?} but approved events by {approved_events:?}"
            ));
        }
        let approvals = u32::try_from(approvers.len()).unwrap();
        let needed = quorum(&release.summary.package);
        match release.summary.state {
            ReleaseState::Staged => {
                if count("released") != 0 || approvals >= needed {
                    fail(format!(
                        "release {id} is staged with {approvals} of {needed} approvals and {} released events",
                        count("released")
                    ));
                }
            }
            ReleaseState::Released => {
                if count("released") != 1 || approvals < needed {
                    fail(format!(
                        "release {id} is released with {approvals} of {needed} approvals and {} released events",
                        count("released")
                    ));
                }
                match snap.signed.get(&id) {
                    Some(signed) => {
                        let logged = events
                            .iter()
                            .find(|e| e.kind == "released")
                            .map(|e| e.detail.clone())
                            .unwrap_or_default();
                        check_signed(release, signed, key, &logged, &mut fail);
                    }
                    None => fail(format!(
                        "release {id} is released without a signed manifest"
                    )),
                }
            }
            ReleaseState::Rejected => fail(format!("release {id} was rejected; nobody rejects")),
        }
    }

    // The blob directory holds exactly the referenced blobs, each intact.
    let blobs = data.join("blobs");
    let on_disk: BTreeSet<String> = std::fs::read_dir(&blobs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let referenced: BTreeSet<String> = blob_sizes.keys().cloned().collect();
    if on_disk != referenced {
        let extra: Vec<&String> = on_disk.difference(&referenced).collect();
        let missing: Vec<&String> = referenced.difference(&on_disk).collect();
        fail(format!(
            "blob directory: extra {extra:?}, missing {missing:?}"
        ));
    }
    for (sha, size) in &blob_sizes {
        if let Ok(bytes) = std::fs::read(blobs.join(sha))
            && (bytes.len() as u64 != *size || &sha256_hex(&bytes) != sha)
        {
            fail(format!(
                "blob {sha}: {} bytes that do not hash to their name",
                bytes.len()
            ));
        }
    }

    // Every acknowledged answer is kept.
    let by_id: HashMap<i64, &ReleaseDetail> =
        snap.releases.iter().map(|r| (r.summary.id, r)).collect();
    for stage in &ledger.stages {
        match by_id.get(&stage.id) {
            Some(r) => {
                let files: Vec<(String, u64, String)> = r
                    .files
                    .iter()
                    .map(|f| (f.path.clone(), f.size, f.sha256.clone()))
                    .collect();
                if r.summary.package != stage.package
                    || r.summary.version != stage.version
                    || files != stage.files
                {
                    fail(format!("acknowledged staging {stage:?} is stored as {r:?}"));
                }
            }
            None => fail(format!("acknowledged staging {stage:?} is lost")),
        }
    }
    for (id, maintainer) in &ledger.approvals {
        let kept = by_id
            .get(id)
            .is_some_and(|r| r.approvals.iter().any(|a| &a.maintainer == maintainer));
        if !kept {
            fail(format!(
                "acknowledged approval of {id} by {maintainer} is lost"
            ));
        }
    }
    for (id, digest) in &ledger.releases {
        let kept = snap
            .signed
            .get(id)
            .is_some_and(|s| &sha256_hex(&s.manifest) == digest);
        if !kept {
            fail(format!(
                "acknowledged release {id} (manifest {digest}) is lost or changed"
            ));
        }
    }

    // Nothing goes backwards.
    let now: BTreeMap<i64, (ReleaseState, Option<String>)> = snap
        .releases
        .iter()
        .map(|r| {
            let id = r.summary.id;
            (
                id,
                (
                    r.summary.state,
                    snap.signed.get(&id).map(|s| sha256_hex(&s.manifest)),
                ),
            )
        })
        .collect();
    for (id, before) in &history.releases {
        match now.get(id) {
            None => fail(format!("release {id} disappeared")),
            Some(after) => {
                let regressed = match (before.0, after.0) {
                    (ReleaseState::Released, ReleaseState::Released) => before.1 != after.1,
                    (ReleaseState::Released, _) => true,
                    _ => false,
                };
                if regressed {
                    fail(format!("release {id} went from {before:?} to {after:?}"));
                }
            }
        }
    }

    // The HTTP view agrees, and released versions are served intact.
    check_http(gate, key, &snap, history, &mut fail);

    // The transparency log: one leaf per event, and consistent with every
    // checkpoint seen before the kill.
    check_log(gate, key, ledger, &snap, history, &mut fail);

    history.events = snap.events;
    history.releases = now;
    problems
}

/// A released release's signed manifest: signature good with the gate key,
/// its files exactly the release's, its digest the one the event recorded.
fn check_signed(
    release: &ReleaseDetail,
    signed: &SignedManifest,
    key: &PublicKey,
    released_event: &str,
    fail: &mut impl FnMut(String),
) {
    let id = release.summary.id;
    let manifest = match shipgate_client::fetch::verify(
        &signed.manifest,
        signed.signature.as_bytes(),
        key,
        &release.summary.package,
        &release.summary.version,
    ) {
        Ok(m) => m,
        Err(e) => {
            return fail(format!(
                "release {id}: signed manifest does not verify: {e}"
            ));
        }
    };
    let listed: BTreeSet<(String, u64, String)> = manifest
        .entries()
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::File { size, sha256 } => Some((e.path.to_string(), *size, sha256.to_hex())),
            _ => None,
        })
        .collect();
    let stored: BTreeSet<(String, u64, String)> = release
        .files
        .iter()
        .map(|f| (f.path.clone(), f.size, f.sha256.clone()))
        .collect();
    if listed != stored || manifest.entries().len() != stored.len() {
        fail(format!(
            "release {id}: manifest lists {listed:?}, release has {stored:?}"
        ));
    }
    let digest = sha256_hex(&signed.manifest);
    if !released_event.contains(&digest) {
        fail(format!(
            "release {id}: released event {released_event} does not name {digest}"
        ));
    }
}

/// `GET /v1/releases` matches the database; each release seen released for
/// the first time is downloaded (manifest, signature, files) and verified.
fn check_http(
    gate: &Gate,
    key: &PublicKey,
    snap: &Snapshot,
    history: &mut History,
    fail: &mut impl FnMut(String),
) {
    let get = |path: &str| match call(gate.port, "GET", path, &[], b"", None) {
        Reply::Answer(200, body) => Some(body),
        other => {
            eprintln!("GET {path}: {other:?}");
            None
        }
    };
    // Every page, following next_before.
    let mut served: BTreeSet<(i64, String)> = BTreeSet::new();
    let mut path = "/v1/releases?limit=500".to_owned();
    loop {
        let Some(list) = get(&path) else {
            return fail(format!("GET {path} failed"));
        };
        let list: serde_json::Value = serde_json::from_slice(&list).unwrap();
        served.extend(list["releases"].as_array().unwrap().iter().map(|r| {
            (
                r["id"].as_i64().unwrap(),
                r["state"].as_str().unwrap().to_owned(),
            )
        }));
        match list["next_before"].as_i64() {
            Some(next) => path = format!("/v1/releases?limit=500&before={next}"),
            None => break,
        }
    }
    let stored: BTreeSet<(i64, String)> = snap
        .releases
        .iter()
        .map(|r| (r.summary.id, r.summary.state.as_str().to_owned()))
        .collect();
    if served != stored {
        fail(format!(
            "GET /v1/releases differs from the database: {served:?} vs {stored:?}"
        ));
    }
    for release in &snap.releases {
        let id = release.summary.id;
        if release.summary.state != ReleaseState::Released || history.served.contains(&id) {
            continue;
        }
        let base = format!(
            "/v1/packages/{}/versions/{}",
            release.summary.package, release.summary.version
        );
        let (Some(manifest), Some(signature)) = (
            get(&format!("{base}/manifest")),
            get(&format!("{base}/manifest.minisig")),
        ) else {
            fail(format!("release {id}: manifest or signature not served"));
            continue;
        };
        if let Err(e) = shipgate_client::fetch::verify(
            &manifest,
            &signature,
            key,
            &release.summary.package,
            &release.summary.version,
        ) {
            fail(format!(
                "release {id}: served manifest does not verify: {e}"
            ));
        }
        for file in &release.files {
            match get(&format!("{base}/files/{}", file.path)) {
                Some(bytes) if sha256_hex(&bytes) == file.sha256 => {}
                _ => fail(format!(
                    "release {id}: file {} not served intact",
                    file.path
                )),
            }
        }
        history.served.insert(id);
    }
}

/// The restarted gate's log: its checkpoint verifies, it has one leaf per
/// event, it extends the checkpoint of the previous restart and every
/// checkpoint the watcher saw since (a consistency proof each), and the real
/// `shipgate log verify` agrees against the checkpoint file it keeps.
fn check_log(
    gate: &Gate,
    key: &PublicKey,
    ledger: &Ledger,
    snap: &Snapshot,
    history: &mut History,
    fail: &mut impl FnMut(String),
) {
    let client = Client::new(&gate.url).unwrap();
    let head = match fetch_checkpoint(&client, key) {
        Ok(head) => head,
        Err(e) => return fail(format!("the log's checkpoint: {e}")),
    };
    if head.checkpoint.size != snap.events.len() as u64 {
        fail(format!(
            "the log has {} leaves for {} events",
            head.checkpoint.size,
            snap.events.len()
        ));
    }
    let seen = &ledger.checkpoints[history.checkpoints_checked.min(ledger.checkpoints.len())..];
    for old in history.head.iter().chain(seen) {
        if let Err(e) = check_extends(&client, &old.checkpoint, &head.checkpoint) {
            fail(format!(
                "the log (size {}) is not consistent with a checkpoint seen before the kill (size {}): {e}",
                head.checkpoint.size, old.checkpoint.size
            ));
        }
    }
    history.checkpoints_checked = ledger.checkpoints.len();
    history.head = Some(head);
    let out = log_verify(gate, false);
    if !out.status.success() {
        fail(format!("shipgate log verify: {}", stderr(&out)));
    }
}

/// Runs `shipgate log verify` against the drill's checkpoint file (which it
/// updates), pinned to the gate key; `entries` also re-hashes every leaf.
pub fn log_verify(gate: &Gate, entries: bool) -> std::process::Output {
    let mut cmd = shipgate();
    cmd.current_dir(gate.path())
        .env("SHIPGATE_CONFIG_DIR", gate.path().join("user-config"))
        .args([
            "log",
            "verify",
            "--gate",
            &gate.url,
            "--checkpoint",
            "drill.checkpoint",
            "--gate-key",
            "gate.pub",
        ]);
    if entries {
        cmd.arg("--entries");
    }
    cmd.output().unwrap()
}

/// Every checkpoint the watcher ever saw is extended by the gate's current
/// log (the per-restart checks cover each once; this covers all at the end).
pub fn check_all_checkpoints(gate: &Gate, key: &PublicKey, ledger: &Ledger) -> Vec<String> {
    let client = Client::new(&gate.url).unwrap();
    let head = fetch_checkpoint(&client, key).unwrap();
    ledger
        .checkpoints
        .iter()
        .filter_map(|old| {
            check_extends(&client, &old.checkpoint, &head.checkpoint)
                .err()
                .map(|e| format!("checkpoint of size {}: {e}", old.checkpoint.size))
        })
        .collect()
}
