use shipgate_log::add_checkpoint::AddCheckpoint;
use shipgate_log::{Checkpoint, MemoryTree, NoteSigner, leaf_hash};

use super::*;

struct Log {
    signer: NoteSigner,
    tree: MemoryTree,
}

impl Log {
    fn new(seed: u8) -> Log {
        Log {
            signer: NoteSigner::from_ed25519_seed("gate.test", &[seed; 32]).unwrap(),
            tree: MemoryTree::new(),
        }
    }

    fn grow(&mut self, tag: &str, n: usize) {
        for i in 0..n {
            let size = self.tree.size();
            self.tree
                .append(leaf_hash(format!("{tag} {size} {i}").as_bytes()))
                .unwrap();
        }
    }

    fn note(&self) -> String {
        let size = self.tree.size();
        Checkpoint::new("gate.test", size, self.tree.root(size).unwrap())
            .sign(&self.signer)
            .unwrap()
    }

    fn request(&self, old: u64) -> Vec<u8> {
        let size = self.tree.size();
        let proof = if old == 0 {
            Vec::new()
        } else {
            self.tree.consistency_proof(old, size).unwrap()
        };
        AddCheckpoint {
            old_size: old,
            proof,
            note: self.note().into_bytes(),
        }
        .to_body()
    }
}

fn witness(dir: &std::path::Path, log: &Log) -> Witness {
    let logs = vec![LogKey {
        origin: "gate.test".into(),
        verifier: log.signer.verifier(),
    }];
    let state = WitnessState::open(dir, &logs).unwrap();
    let signer = CosignatureSigner::from_ed25519_seed("witness.test", &[9; 32]).unwrap();
    Witness::new(signer, logs, state)
}

fn status(result: Result<String, AddError>) -> u16 {
    match result {
        Ok(_) => 200,
        Err(e) => e.status(),
    }
}

#[test]
fn cosigns_consistent_extensions_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::new(1);
    log.grow("a", 3);
    let w = witness(dir.path(), &log);
    // First contact: old 0, no proof.
    let line = w.add_checkpoint(&log.request(0), 100).unwrap();
    let mut cosigned = log.note();
    cosigned.push_str(&line);
    let parsed = SignedNote::parse(cosigned.as_bytes()).unwrap();
    assert_eq!(w.verifier().check(&parsed).unwrap(), 100);
    assert_eq!(w.size("gate.test"), Some(3));
    // The same checkpoint again (a refresh): cosigned with the new time.
    assert_eq!(status(w.add_checkpoint(&log.request(3), 200)), 200);
    // Grows: needs the proof from 3.
    log.grow("a", 5);
    assert_eq!(status(w.add_checkpoint(&log.request(0), 300)), 409);
    assert!(matches!(
        w.add_checkpoint(&log.request(2), 300),
        Err(AddError::WrongOldSize { old: 2, size: 3 })
    ));
    assert_eq!(status(w.add_checkpoint(&log.request(3), 300)), 200);
    assert_eq!(w.size("gate.test"), Some(8));
}

#[test]
fn refuses_forks_bad_proofs_strangers_and_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::new(1);
    log.grow("a", 4);
    let w = witness(dir.path(), &log);
    w.add_checkpoint(&log.request(0), 1).unwrap();

    // A fork at the same size: same key, another history.
    let mut fork = Log::new(1);
    fork.grow("b", 4);
    assert!(matches!(
        w.add_checkpoint(&fork.request(4), 2),
        Err(AddError::Fork { size: 4 })
    ));
    // A forked history that grew: its own proof from 4 does not lead from
    // the root the witness cosigned.
    fork.grow("b", 3);
    let err = w.add_checkpoint(&fork.request(4), 2).unwrap_err();
    assert_eq!(err.status(), 422, "{err}");
    // A valid checkpoint with a truncated proof.
    log.grow("a", 3);
    let mut request = AddCheckpoint::parse(&log.request(4)).unwrap();
    request.proof.pop();
    assert_eq!(status(w.add_checkpoint(&request.to_body(), 2)), 422);
    // Signed by another key.
    let mut stranger = Log::new(2);
    stranger.grow("a", 7);
    assert_eq!(status(w.add_checkpoint(&stranger.request(4), 2)), 403);
    // Another log.
    let other = NoteSigner::from_ed25519_seed("other.test", &[1; 32]).unwrap();
    let note = Checkpoint::new("other.test", 1, leaf_hash(b"x"))
        .sign(&other)
        .unwrap();
    let body = AddCheckpoint {
        old_size: 0,
        proof: vec![],
        note: note.into_bytes(),
    }
    .to_body();
    assert_eq!(status(w.add_checkpoint(&body, 2)), 404);
    // Old larger than the checkpoint.
    let mut small = Log::new(1);
    small.grow("a", 2);
    assert_eq!(status(w.add_checkpoint(&small.request(0), 2)), 409);
    let body = format!("old 3\n\n{}", small.note());
    assert_eq!(status(w.add_checkpoint(body.as_bytes(), 2)), 400);
    // Garbage.
    for body in [
        &b""[..],
        b"old 0\n\nnot a note\n",
        b"old 0\n\n\n\n",
        &[0xff; 100],
    ] {
        assert_eq!(status(w.add_checkpoint(body, 2)), 400, "{body:?}");
    }
    // Nothing of the above moved the witness.
    assert_eq!(w.size("gate.test"), Some(4));
    // The honest extension still works.
    assert_eq!(status(w.add_checkpoint(&log.request(4), 3)), 200);
}

#[test]
fn restarts_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::new(1);
    log.grow("a", 2);
    {
        let w = witness(dir.path(), &log);
        w.add_checkpoint(&log.request(0), 1).unwrap();
    }
    let w = witness(dir.path(), &log);
    assert_eq!(w.size("gate.test"), Some(2));
    assert_eq!(w.latest_note("gate.test"), Some(log.note()));
    let mut fork = Log::new(1);
    fork.grow("b", 2);
    assert_eq!(status(w.add_checkpoint(&fork.request(0), 2)), 409);
    assert_eq!(status(w.add_checkpoint(&fork.request(2), 2)), 409);
}
