//! Shared output helpers for the release-gate commands (`serve`, `stage`,
//! `releases`, `release`, `approve`, `reject`, `fetch`, `admin`): progress
//! bars, error mapping, time formatting and escaping what the gate sent.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use shipgate_client::client::{Client, ClientError, Progress, Timeouts};

use crate::exit::CliError;
use shipgate_oidc::civil_from_days;

/// An indicatif bar on stderr, drawn only when stderr is a terminal.
pub struct Bar {
    bar: std::sync::Mutex<Option<ProgressBar>>,
    enabled: bool,
}

impl Bar {
    pub fn new() -> Self {
        Self {
            bar: std::sync::Mutex::new(None),
            enabled: std::io::stderr().is_terminal(),
        }
    }
}

impl Progress for Bar {
    fn start(&self, label: &str, total: u64) {
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::new(total);
        if let Ok(style) = ProgressStyle::with_template(
            "{msg:>11} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(label.to_owned());
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn advance(&self, bytes: u64) {
        if let Ok(slot) = self.bar.lock()
            && let Some(bar) = slot.as_ref()
        {
            bar.inc(bytes);
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock()
            && let Some(bar) = slot.take()
        {
            bar.finish_and_clear();
        }
    }
}

/// Every string a gate supplies (package, version, file names, provenance,
/// maintainer names, reasons) goes through this before human output, so a
/// hostile or older gate cannot move the cursor, retitle the window or hide
/// text with control and invisible formatting characters; they are shown as
/// escapes (`\u{1b}`, `\n`, `\u{202e}`). JSON output needs none of it.
pub use shipgate_protocol::untrusted::escape_for_terminal as printable;

/// The variables that set the client's deadlines, and what each sets.
const TIMEOUT_VARIABLES: [&str; 4] = [
    "SHIPGATE_CONNECT_TIMEOUT",
    "SHIPGATE_HTTP_TIMEOUT",
    "SHIPGATE_TRANSFER_TIMEOUT",
    "SHIPGATE_IDLE_TIMEOUT",
];

/// The client's deadlines: the defaults, each replaced by its variable
/// when set (`SHIPGATE_CONNECT_TIMEOUT`, `SHIPGATE_HTTP_TIMEOUT` for a whole
/// ordinary call, `SHIPGATE_TRANSFER_TIMEOUT` for a whole upload or
/// download, `SHIPGATE_IDLE_TIMEOUT` for silence within any call).
fn timeouts_from_env() -> Result<Timeouts, CliError> {
    let mut timeouts = Timeouts::default();
    let slots = [
        &mut timeouts.connect,
        &mut timeouts.request,
        &mut timeouts.transfer,
        &mut timeouts.idle,
    ];
    for (name, slot) in TIMEOUT_VARIABLES.into_iter().zip(slots) {
        let Ok(value) = std::env::var(name) else {
            continue;
        };
        *slot = shipgate_oidc::parse_duration(value.trim())
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                CliError::usage(format!(
                    "{name}={}: expected a duration such as 30s, 5m or 1h",
                    printable(&value)
                ))
            })?;
    }
    Ok(timeouts)
}

/// A client for `gate` with the deadlines the environment sets.
pub fn connect(gate: &str) -> Result<Client, CliError> {
    let timeouts = timeouts_from_env()?;
    Client::with_timeouts(gate, timeouts).map_err(|e| client_error(e, gate))
}

/// [`client_error`] for a request authenticated with a CI token (staging):
/// a refusal gets the hint that fits CI tokens, not the maintainer lockout.
pub fn ci_client_error(err: ClientError, gate: &str) -> CliError {
    if matches!(err, ClientError::Api { status: 401, .. }) {
        return CliError::check(&err).hint(
            "the gate never says why a CI token is refused: it checks the token's signature and issuer, its audience (`shipgate:` + the gate URL unless --audience), its expiry, the package's trusted-publisher binding (repository, owner id, workflow, environment, ref, event) and that the token was not used before; a refused token is spent, so mint a fresh one, and ask the gate operator for the logged reason",
        );
    }
    client_error(err, gate)
}

/// Maps a client error to an exit code and a hint.
pub fn client_error(err: ClientError, gate: &str) -> CliError {
    match &err {
        ClientError::BadUrl(_) => CliError::usage(&err).hint("pass the gate's base URL, e.g. --gate https://gate.example.com"),
        ClientError::Insecure { .. } if gate.contains("://localhost") => CliError::usage(&err).hint(
            "write the loopback address itself, e.g. http://127.0.0.1:PORT (a name such as localhost could resolve elsewhere, so only 127.0.0.0/8 and [::1] count as loopback), or use the gate's https:// URL",
        ),
        ClientError::Insecure { .. } => CliError::usage(&err).hint(
            "use the gate's https:// URL (put `shipgate serve` behind a TLS proxy); plain http only to 127.0.0.1 or [::1]",
        ),
        ClientError::Unreachable { .. } => CliError::usage(&err).hint(format!(
            "check --gate {gate} and that `shipgate serve` is running there"
        )),
        ClientError::Api { status: 401, .. } => CliError::check(&err).hint(
            "the gate never says why credentials are refused; run with -v, check the token and code, and ask the gate operator (a maintainer is locked after 5 wrong codes in 15 minutes until `shipgate admin unlock`, and after 30 in a year until re-enrolled; `shipgate admin status` shows which)",
        ),
        ClientError::Api { status: 400 | 413, .. } => CliError::usage(&err),
        ClientError::Api { status: 404, .. } => CliError::check(&err)
            .hint(format!("list what the gate has with `shipgate releases --gate {gate}`")),
        ClientError::TimedOut { .. } => CliError::usage(&err).hint(format!(
            "check --gate {gate}; a slow but working gate needs a longer deadline: {}",
            TIMEOUT_VARIABLES.join(", ")
        )),
        ClientError::Api { .. } | ClientError::Decode { .. } | ClientError::TooLarge { .. } => {
            CliError::check(&err)
        }
        _ => CliError::usage(&err),
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` for Unix seconds.
pub fn format_time(unix: i64) -> String {
    let (year, month, day) = civil_from_days(unix.div_euclid(86_400));
    let secs = unix.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Human size: `1.5 MiB`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(CliError::usage)?;
    jsonln!("{text}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times_and_sizes() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_time(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_size(10), "10 B");
        assert_eq!(format_size(1536), "1.5 KiB");
    }
}
