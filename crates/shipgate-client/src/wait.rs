//! Waiting for maintainers to decide on a staged release (`shipgate stage
//! --wait`): poll `GET /v1/releases/{id}` with backoff until the release is
//! released or rejected, or the time is up.
//!
//! Polls start 1 s apart and back off to one every 10 s: a decision is seen
//! at most 10 s after it happens, and a 30-minute wait costs about 190 small
//! GETs. A gate that is briefly unreachable or answers 5xx (a restart, a
//! proxy hiccup) does not end the wait: the poll is retried on the same
//! backoff until the deadline. Any other error ends it.

use std::time::{Duration, Instant};

use crate::client::{Client, ClientError};
use shipgate_protocol::release::ReleaseState;
use shipgate_protocol::wire::ReleaseView;

/// The longest wait or poll interval taken as given (a century): more is
/// "never", and `Instant + Duration::MAX` would panic.
const MAX_WAIT: Duration = Duration::from_secs(100 * 365 * 86_400);

/// First pause between polls.
pub const FIRST_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Longest pause between polls.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(10);
/// The observer is called at least this often (a countdown's resolution).
const TICK: Duration = Duration::from_secs(1);

/// How the wait ended.
#[derive(Debug, Clone)]
pub enum WaitOutcome {
    /// Approved by the quorum: signed and released.
    Released(ReleaseView),
    /// Rejected by a maintainer (`reject_reason` says why).
    Rejected(ReleaseView),
    /// The time ran out; the last state seen, if any poll succeeded.
    TimedOut(Option<ReleaseView>),
}

/// Told about the wait as it goes (the CLI draws a countdown with it).
pub trait WaitObserver {
    /// Called about once a second with the time left and the last state seen.
    fn tick(&mut self, remaining: Duration, last: Option<&ReleaseView>);
    /// A poll failed with a transient error; the wait goes on.
    fn retrying(&mut self, error: &ClientError, remaining: Duration);
}

/// The pause after a poll, given the previous pause.
pub fn next_interval(previous: Duration) -> Duration {
    (previous * 2).min(MAX_POLL_INTERVAL)
}

/// True for errors worth retrying: the gate unreachable or failing (5xx).
pub fn is_transient(error: &ClientError) -> bool {
    match error {
        ClientError::Unreachable { .. } | ClientError::TimedOut { .. } => true,
        ClientError::Api { status, .. } => *status >= 500,
        _ => false,
    }
}

/// Polls release `id` until it is decided or `timeout` has passed.
pub fn wait_for_decision(
    client: &Client,
    id: i64,
    timeout: Duration,
    observer: &mut dyn WaitObserver,
) -> Result<WaitOutcome, ClientError> {
    // Clamped: `Instant + Duration::MAX` would panic; a century is "never".
    let deadline = Instant::now() + timeout.min(MAX_WAIT);
    let remaining = || deadline.saturating_duration_since(Instant::now());
    let mut interval = FIRST_POLL_INTERVAL;
    let mut last: Option<ReleaseView> = None;
    loop {
        // One poll may take at most the time left (and never more than a
        // minute), so the deadline holds even against a hung gate.
        let budget = remaining().clamp(Duration::from_secs(1), Duration::from_secs(60));
        match client.show_within(id, budget) {
            Ok(view) => {
                match view.summary.state {
                    ReleaseState::Released => return Ok(WaitOutcome::Released(view)),
                    ReleaseState::Rejected => return Ok(WaitOutcome::Rejected(view)),
                    ReleaseState::Staged => {}
                }
                last = Some(view);
            }
            Err(err) if is_transient(&err) => observer.retrying(&err, remaining()),
            Err(err) => return Err(err),
        }
        // Sleep until the next poll, telling the observer every second.
        let next_poll = Instant::now() + interval.min(MAX_WAIT);
        loop {
            let left = remaining();
            observer.tick(left, last.as_ref());
            if left.is_zero() {
                return Ok(WaitOutcome::TimedOut(last));
            }
            let until_poll = next_poll.saturating_duration_since(Instant::now());
            if until_poll.is_zero() {
                break;
            }
            std::thread::sleep(until_poll.min(TICK).min(left));
        }
        interval = next_interval(interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_back_off_to_a_ceiling() {
        let mut interval = FIRST_POLL_INTERVAL;
        let mut seen = vec![interval.as_secs()];
        for _ in 0..6 {
            interval = next_interval(interval);
            seen.push(interval.as_secs());
        }
        assert_eq!(seen, [1, 2, 4, 8, 10, 10, 10]);
    }

    #[test]
    fn only_unreachable_and_server_errors_are_retried() {
        let api = |status| ClientError::Api {
            status,
            code: "x".into(),
            message: "m".into(),
        };
        assert!(is_transient(&ClientError::Unreachable {
            url: "u".into(),
            message: "refused".into()
        }));
        assert!(is_transient(&api(503)));
        assert!(is_transient(&api(500)));
        assert!(!is_transient(&api(404)));
        assert!(!is_transient(&api(401)));
        assert!(!is_transient(&ClientError::Decode {
            url: "u".into(),
            message: "m".into()
        }));
    }

    struct Count(usize);
    impl WaitObserver for Count {
        fn tick(&mut self, _: Duration, _: Option<&ReleaseView>) {}
        fn retrying(&mut self, _: &ClientError, _: Duration) {
            self.0 += 1;
        }
    }

    #[test]
    fn an_unreachable_gate_is_retried_until_the_deadline() {
        // A port nothing listens on: every poll fails to connect.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = Client::new(&format!("http://127.0.0.1:{port}")).unwrap();
        let mut observer = Count(0);
        let started = Instant::now();
        let outcome =
            wait_for_decision(&client, 1, Duration::from_millis(1500), &mut observer).unwrap();
        assert!(matches!(outcome, WaitOutcome::TimedOut(None)));
        assert!(observer.0 >= 1);
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
