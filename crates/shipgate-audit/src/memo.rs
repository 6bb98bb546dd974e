//! Per-file memos of the facts several rules ask about the same job
//! (publish steps, whether it publishes, its credentials). Each answer
//! re-reads the job's scripts or walks its whole tree, and half a dozen
//! rules ask: memoising them roughly halves the audit's time.
//!
//! Jobs are keyed by the address of their YAML node, which is unique only
//! while the document lives. The engine holds one [`FileScope`] per
//! document, entered before the document is loaded and dropped after it,
//! and outside a scope nothing is memoised.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::analysis::Credential;
use crate::local_actions::Facts;
use crate::model::Job;
use crate::publishing::{PublishStep, Publishing};

#[derive(Default)]
struct Memo {
    publish_steps: HashMap<usize, Vec<PublishStep>>,
    publishes: HashMap<usize, Option<Publishing>>,
    credentials: HashMap<usize, Vec<Credential>>,
    /// What each local action (by its `uses: ./path`) does.
    local_actions: HashMap<String, Rc<Facts>>,
    /// The repository the audited file belongs to, when it is on disk
    /// (local actions are read from it).
    repository: Option<PathBuf>,
}

std::thread_local! {
    static MEMO: RefCell<Option<Memo>> = const { RefCell::new(None) };
}

/// While alive, the memos of this thread are on (see the module docs).
pub struct FileScope(());

impl FileScope {
    pub fn enter(repository: Option<&Path>) -> Self {
        MEMO.with(|m| {
            *m.borrow_mut() = Some(Memo {
                repository: repository.map(Path::to_path_buf),
                ..Memo::default()
            });
        });
        FileScope(())
    }
}

impl Drop for FileScope {
    fn drop(&mut self) {
        MEMO.with(|m| *m.borrow_mut() = None);
    }
}

fn key(job: &Job<'_>) -> usize {
    std::ptr::from_ref(job.node) as usize
}

/// Looks a job's fact up in `table`, or computes and stores it.
fn memoised<T: Clone>(
    job: &Job<'_>,
    table: fn(&mut Memo) -> &mut HashMap<usize, T>,
    compute: impl FnOnce() -> T,
) -> T {
    let k = key(job);
    let found = MEMO.with(|m| {
        m.borrow_mut()
            .as_mut()
            .and_then(|memo| table(memo).get(&k).cloned())
    });
    if let Some(value) = found {
        return value;
    }
    let value = compute();
    MEMO.with(|m| {
        if let Some(memo) = m.borrow_mut().as_mut() {
            table(memo).insert(k, value.clone());
        }
    });
    value
}

pub(crate) fn publish_steps(
    job: &Job<'_>,
    compute: impl FnOnce() -> Vec<PublishStep>,
) -> Vec<PublishStep> {
    memoised(job, |m| &mut m.publish_steps, compute)
}

pub(crate) fn publishes(
    job: &Job<'_>,
    compute: impl FnOnce() -> Option<Publishing>,
) -> Option<Publishing> {
    memoised(job, |m| &mut m.publishes, compute)
}

pub(crate) fn credentials(
    job: &Job<'_>,
    compute: impl FnOnce() -> Vec<Credential>,
) -> Vec<Credential> {
    memoised(job, |m| &mut m.credentials, compute)
}

/// The repository root of the file being audited, when it is known.
pub(crate) fn repository() -> Option<PathBuf> {
    MEMO.with(|m| m.borrow().as_ref().and_then(|memo| memo.repository.clone()))
}

/// The facts of a local action, read once per file (computed without a
/// memo outside a [`FileScope`]).
pub(crate) fn local_action(path: &str, compute: impl FnOnce() -> Rc<Facts>) -> Rc<Facts> {
    let found = MEMO.with(|m| {
        m.borrow()
            .as_ref()
            .and_then(|memo| memo.local_actions.get(path).cloned())
    });
    if let Some(facts) = found {
        return facts;
    }
    let facts = compute();
    MEMO.with(|m| {
        if let Some(memo) = m.borrow_mut().as_mut() {
            memo.local_actions.insert(path.to_owned(), facts.clone());
        }
    });
    facts
}
