//! `stage --wait --until published`: after the release, wait until the gate
//! has published it to every registry target, showing each target's state
//! on stderr. A target that ends `conflict` or `failed` ends the wait with
//! exit 1, naming the target and its error.

use std::time::{Duration, Instant};

use shipgate_client::client::Client;

use crate::commands::gate_ui::{client_error, printable};
use crate::exit::CliError;

/// What `--until` waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Until {
    /// The maintainers' decision (the release is signed).
    Released,
    /// Every registry target published by the gate.
    Published,
}

pub(super) fn wait(
    client: &Client,
    id: i64,
    timeout: Duration,
    gate: &str,
) -> Result<(), CliError> {
    // Clamped: `Instant + Duration::MAX` would panic; a century is "never".
    let deadline = Instant::now() + timeout.min(std::time::Duration::from_secs(100 * 365 * 86_400));
    let mut shown: Vec<String> = Vec::new();
    loop {
        let view = client.show(id).map_err(|e| client_error(e, gate))?;
        if view.targets.is_empty() {
            errln!("release {id}: its package has no registry target; nothing to publish");
            return Ok(());
        }
        let lines: Vec<String> = view
            .targets
            .iter()
            .map(|t| {
                let mut line = format!(
                    "target {} {}: {}",
                    printable(&t.kind),
                    printable(&t.registry),
                    printable(&t.state)
                );
                if let Some(url) = t.url.as_deref().filter(|_| t.state == "published") {
                    line.push_str(&format!(" at {}", printable(url)));
                } else if let Some(error) = &t.last_error {
                    line.push_str(&format!(" (attempt {}: {})", t.attempts, printable(error)));
                }
                line
            })
            .collect();
        if lines != shown {
            for line in lines.iter().filter(|l| !shown.contains(l)) {
                errln!("{line}");
            }
            shown = lines;
        }
        if let Some(bad) = view
            .targets
            .iter()
            .find(|t| t.state == "conflict" || t.state == "failed")
        {
            return Err(CliError::check(format!(
                "release {id}: the {} target {} is {}: {}",
                printable(&bad.kind),
                printable(&bad.registry),
                bad.state,
                printable(bad.last_error.as_deref().unwrap_or("(no error recorded)"))
            )));
        }
        if view.targets.iter().all(|t| t.state == "published") {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(CliError::check(format!(
                "release {id} is released but not yet published to every target after {} s",
                timeout.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
