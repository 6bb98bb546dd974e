//! `jti` replay protection: a token's id is remembered until the token has
//! expired (plus leeway); a second use in that window is refused. After that
//! the token itself is refused as expired, so the id can be forgotten and
//! memory does not grow with the number of tokens ever seen.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::future::Future;
use std::sync::Mutex;
use std::time::SystemTime;

use crate::error::{Rejection, VerifyError};

/// Remembers token ids. The gate implements this on its database (a unique
/// row per `jti`, deleted after `forget_after`).
pub trait ReplayGuard: Send + Sync {
    /// Refuses (`Rejection::Replayed`) when `jti` was remembered and not yet
    /// forgotten; otherwise remembers it until `forget_after`. Must be atomic:
    /// two concurrent calls with the same `jti` may not both succeed.
    fn check_and_remember(
        &self,
        jti: &str,
        forget_after: SystemTime,
    ) -> impl Future<Output = Result<(), VerifyError>> + Send;
}

/// An in-memory [`ReplayGuard`] for one process.
#[derive(Debug, Default)]
pub struct InMemoryReplayGuard {
    inner: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    until: HashMap<String, SystemTime>,
    expiry: BinaryHeap<Reverse<(SystemTime, String)>>,
}

impl InMemoryReplayGuard {
    /// An empty guard.
    pub fn new() -> Self {
        Self::default()
    }

    /// [`ReplayGuard::check_and_remember`] at a given time (for tests).
    pub fn check_and_remember_at(
        &self,
        jti: &str,
        forget_after: SystemTime,
        now: SystemTime,
    ) -> Result<(), VerifyError> {
        let mut seen = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        seen.forget_expired(now);
        if seen.until.contains_key(jti) {
            return Err(Rejection::Replayed(jti.to_owned()).into());
        }
        seen.until.insert(jti.to_owned(), forget_after);
        seen.expiry.push(Reverse((forget_after, jti.to_owned())));
        Ok(())
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .until
            .len()
    }

    /// True when no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Seen {
    fn forget_expired(&mut self, now: SystemTime) {
        while let Some(Reverse((at, _))) = self.expiry.peek() {
            if *at > now {
                break;
            }
            if let Some(Reverse((_, jti))) = self.expiry.pop() {
                self.until.remove(&jti);
            }
        }
    }
}

impl ReplayGuard for InMemoryReplayGuard {
    async fn check_and_remember(
        &self,
        jti: &str,
        forget_after: SystemTime,
    ) -> Result<(), VerifyError> {
        self.check_and_remember_at(jti, forget_after, SystemTime::now())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::InMemoryReplayGuard;
    use crate::error::Rejection;

    #[test]
    fn second_use_is_refused_and_expiry_frees_memory() {
        let guard = InMemoryReplayGuard::new();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let later = t0 + Duration::from_secs(600);
        guard.check_and_remember_at("a", later, t0).unwrap();
        guard
            .check_and_remember_at("b", t0 + Duration::from_secs(60), t0)
            .unwrap();
        let err = guard.check_and_remember_at("a", later, t0).unwrap_err();
        assert_eq!(err.rejection(), Some(&Rejection::Replayed("a".into())));
        assert_eq!(guard.len(), 2);
        // After b's window, b is forgotten; a is still remembered.
        let t1 = t0 + Duration::from_secs(61);
        guard.check_and_remember_at("c", later, t1).unwrap();
        assert_eq!(guard.len(), 2);
        assert!(guard.check_and_remember_at("a", later, t1).is_err());
        // Once every window has passed, memory is empty again.
        let t2 = later + Duration::from_secs(1);
        guard
            .check_and_remember_at("d", t2 + Duration::from_secs(5), t2)
            .unwrap();
        assert_eq!(guard.len(), 1, "only d is remembered");
    }
}
