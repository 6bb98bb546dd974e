//! The keys of one pinned issuer, fetched over HTTP and cached.
//!
//! Discovery (`<issuer>/.well-known/openid-configuration`) must name exactly
//! the pinned issuer; its `jwks_uri` (checked like any URL) gives the keys.
//! Keys stay fresh for the `Cache-Control: max-age` of the JWKS response
//! (5 minutes when absent, at most a day). A token with a `kid` not in the
//! set triggers one refetch, and such refetches happen at most once per
//! `refetch_floor` (60 s) per issuer, whether they succeed or fail, so a
//! stream of tokens with made-up `kid`s cannot make us hammer the issuer. A
//! failed regular fetch is not retried for `failure_backoff` (10 s) either.
//! With a [`DiskCache`], the keys and the time of the last refetch persist
//! across processes (the CLI); without, they live in memory (the gate).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::Value;

use crate::disk_cache::{CacheEntry, DiskCache, new_entry};
use crate::error::{Rejection, VerifyError};
use crate::fetch::{FetchError, FetchOptions, Fetcher, check_url, discovery_url};
use crate::jwks::KeySet;
use crate::signature::VerifyingKey;

/// How a remote key source fetches and caches.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// HTTP timeouts.
    pub fetch: FetchOptions,
    /// Least time between two refetches caused by unknown `kid`s.
    pub refetch_floor: Duration,
    /// Least time between a failed fetch and the next attempt.
    pub failure_backoff: Duration,
    /// Persist keys across processes (the CLI); `None` keeps them in memory.
    pub disk_cache: Option<DiskCache>,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            fetch: FetchOptions::default(),
            refetch_floor: Duration::from_secs(60),
            failure_backoff: Duration::from_secs(10),
            disk_cache: None,
        }
    }
}

/// What the hot path reads without waiting: the keys and until when they
/// are fresh.
#[derive(Debug, Clone, Default)]
struct Snapshot {
    keys: Option<Arc<KeySet>>,
    fresh_until: u64,
}

/// Everything else, behind an async lock so that one fetch runs at a time.
#[derive(Debug, Default)]
struct State {
    /// Built on the first fetch: loading the system's root certificates
    /// costs milliseconds that a CLI run with a warm cache should not pay.
    fetcher: Option<Fetcher>,
    disk_checked: bool,
    jwks_uri: String,
    jwks: Value,
    fetched_at: u64,
    max_age: u64,
    refetched_at: Option<u64>,
    failed_at: Option<u64>,
}

/// The cached keys of one issuer.
#[derive(Debug)]
pub struct RemoteKeys {
    issuer: String,
    options: RemoteOptions,
    snapshot: RwLock<Snapshot>,
    state: tokio::sync::Mutex<State>,
}

impl RemoteKeys {
    /// A key source for `issuer` (whose URL is checked now; nothing is fetched).
    pub fn new(issuer: &str, options: RemoteOptions) -> Result<RemoteKeys, FetchError> {
        check_url(issuer)?;
        Ok(RemoteKeys {
            issuer: issuer.to_owned(),
            options,
            snapshot: RwLock::new(Snapshot::default()),
            state: tokio::sync::Mutex::new(State::default()),
        })
    }

    /// The key for `kid` at `now` (seconds since the epoch).
    pub async fn key(&self, kid: &str, now: u64) -> Result<Arc<VerifyingKey>, VerifyError> {
        {
            let snap = self.snapshot.read().unwrap_or_else(|p| p.into_inner());
            if let Some(keys) = &snap.keys
                && now < snap.fresh_until
                && let Some(key) = keys.get(kid)
            {
                return Ok(key);
            }
        }
        self.key_slow(kid, now).await
    }

    async fn key_slow(&self, kid: &str, now: u64) -> Result<Arc<VerifyingKey>, VerifyError> {
        let mut state = self.state.lock().await;
        if !state.disk_checked {
            state.disk_checked = true;
            self.load_from_disk(&mut state, now);
        }
        let mut fetched_now = false;
        if !self.is_fresh(&state, now) {
            if let Some(failed) = state.failed_at
                && now < failed.saturating_add(self.options.failure_backoff.as_secs())
            {
                return Err(FetchError::Backoff {
                    issuer: self.issuer.clone(),
                    secs: self.options.failure_backoff.as_secs(),
                }
                .into());
            }
            match self.fetch(&mut state).await {
                Ok(fetched) => self.apply(&mut state, fetched, now),
                Err(err) => {
                    state.failed_at = Some(now);
                    return Err(err.into());
                }
            }
            fetched_now = true;
        }
        if let Some(key) = self.lookup(kid) {
            return Ok(key);
        }
        let unknown = |refetch| {
            VerifyError::Rejected(Rejection::UnknownKid {
                kid: kid.to_owned(),
                refetch,
            })
        };
        if fetched_now {
            return Err(unknown("not needed: the JWKS was just fetched"));
        }
        if let Some(last) = state.refetched_at
            && now < last.saturating_add(self.options.refetch_floor.as_secs())
        {
            return Err(unknown(
                "suppressed: the last refetch was less than 60 s ago",
            ));
        }
        // Record the attempt before fetching: failed refetches count too.
        state.refetched_at = Some(now);
        self.persist(&state);
        match self.fetch(&mut state).await {
            Ok(fetched) => self.apply(&mut state, fetched, now),
            Err(err) => {
                tracing::info!("refetching the keys of {} failed: {err}", self.issuer);
                return Err(unknown("failed"));
            }
        }
        self.lookup(kid).ok_or_else(|| unknown("done"))
    }

    fn lookup(&self, kid: &str) -> Option<Arc<VerifyingKey>> {
        let snap = self.snapshot.read().unwrap_or_else(|p| p.into_inner());
        snap.keys.as_ref().and_then(|keys| keys.get(kid))
    }

    fn is_fresh(&self, state: &State, now: u64) -> bool {
        let snap = self.snapshot.read().unwrap_or_else(|p| p.into_inner());
        snap.keys.is_some() && now < state.fetched_at.saturating_add(state.max_age)
    }

    fn load_from_disk(&self, state: &mut State, now: u64) {
        let Some(disk) = &self.options.disk_cache else {
            return;
        };
        let Some(entry) = disk.load(&self.issuer, now) else {
            return;
        };
        let keys = match entry.jwks.as_object().map(KeySet::from_jwks) {
            Some(Ok(keys)) => keys,
            _ => {
                tracing::info!(
                    "JWKS cache {}: the cached JWKS is unusable; fetching again",
                    disk.path_for(&self.issuer).display()
                );
                return;
            }
        };
        tracing::debug!(
            issuer = self.issuer.as_str(),
            "keys loaded from the JWKS cache"
        );
        state.jwks_uri = entry.jwks_uri;
        state.jwks = entry.jwks;
        state.fetched_at = entry.fetched_at;
        state.max_age = entry.max_age;
        state.refetched_at = entry.refetched_at;
        self.publish(
            Arc::new(keys),
            entry.fetched_at.saturating_add(entry.max_age),
        );
    }

    fn apply(&self, state: &mut State, fetched: FetchedKeys, now: u64) {
        state.jwks_uri = fetched.jwks_uri;
        state.jwks = fetched.jwks;
        state.fetched_at = now;
        state.max_age = fetched.max_age.as_secs();
        state.failed_at = None;
        self.publish(Arc::new(fetched.keys), now.saturating_add(state.max_age));
        self.persist(state);
    }

    fn publish(&self, keys: Arc<KeySet>, fresh_until: u64) {
        let mut snap = self.snapshot.write().unwrap_or_else(|p| p.into_inner());
        *snap = Snapshot {
            keys: Some(keys),
            fresh_until,
        };
    }

    fn persist(&self, state: &State) {
        let Some(disk) = &self.options.disk_cache else {
            return;
        };
        if state.jwks.is_null() {
            return; // nothing fetched yet: nothing to cache
        }
        let mut entry: CacheEntry = new_entry(
            &self.issuer,
            &state.jwks_uri,
            state.jwks.clone(),
            state.fetched_at,
            state.max_age,
        );
        entry.refetched_at = state.refetched_at;
        disk.store(&entry);
    }

    /// Discovery, then the JWKS.
    async fn fetch(&self, state: &mut State) -> Result<FetchedKeys, FetchError> {
        let fetcher = match &state.fetcher {
            Some(fetcher) => fetcher.clone(),
            None => {
                let fetcher = Fetcher::new(self.options.fetch)?;
                state.fetcher = Some(fetcher.clone());
                fetcher
            }
        };
        let url = discovery_url(&self.issuer);
        tracing::debug!("fetching {url}");
        let discovery = fetcher.get_json(&url).await?;
        let bad = |reason: &str| FetchError::BadDocument {
            url: url.clone(),
            reason: reason.to_owned(),
        };
        match discovery.document.get("issuer") {
            Some(Value::String(found)) if *found == self.issuer => {}
            Some(Value::String(found)) => {
                return Err(FetchError::IssuerMismatch {
                    url,
                    expected: self.issuer.clone(),
                    found: found.clone(),
                });
            }
            _ => return Err(bad("no `issuer` string")),
        }
        let jwks_uri = discovery
            .document
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no `jwks_uri` string"))?
            .to_owned();
        tracing::debug!("fetching {jwks_uri}");
        let jwks = fetcher.get_json(&jwks_uri).await?;
        let keys = KeySet::from_jwks(&jwks.document).map_err(|err| FetchError::BadDocument {
            url: jwks_uri.clone(),
            reason: err.to_string(),
        })?;
        tracing::debug!(
            issuer = self.issuer.as_str(),
            keys = keys.len(),
            "JWKS fetched"
        );
        Ok(FetchedKeys {
            max_age: discovery.max_age.min(jwks.max_age),
            jwks_uri,
            jwks: Value::Object(jwks.document),
            keys,
        })
    }
}

struct FetchedKeys {
    jwks_uri: String,
    jwks: Value,
    keys: KeySet,
    max_age: Duration,
}
