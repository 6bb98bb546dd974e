//! The visible countdown of `stage --wait`, on stderr: an indicatif spinner
//! with the time left when stderr is a terminal, else one line every 30 s
//! (CI logs are not terminals; a line per second would flood them).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use shipgate_client::client::ClientError;
use shipgate_client::wait::WaitObserver;
use shipgate_protocol::wire::ReleaseView;

/// How often a line is printed when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(30);

pub struct Countdown {
    what: String,
    spinner: Option<ProgressBar>,
    last_line: Option<Instant>,
}

impl Countdown {
    /// A countdown for `what` (e.g. `release 3 (hello 1.2.0)`).
    pub fn new(what: String) -> Self {
        let spinner = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Self {
            what,
            spinner,
            last_line: None,
        }
    }

    fn message(&self, remaining: Duration, last: Option<&ReleaseView>) -> String {
        let approvals = last.map_or_else(String::new, |view| {
            format!(": {} of {} approval(s)", view.approvals.len(), view.quorum)
        });
        format!(
            "waiting for maintainers to decide on {}{approvals}, {} left",
            self.what,
            format_remaining(remaining)
        )
    }

    /// Removes the spinner.
    pub fn finish(&self) {
        if let Some(spinner) = &self.spinner {
            spinner.finish_and_clear();
        }
    }
}

impl WaitObserver for Countdown {
    fn tick(&mut self, remaining: Duration, last: Option<&ReleaseView>) {
        let message = self.message(remaining, last);
        if let Some(spinner) = &self.spinner {
            spinner.set_message(message);
            return;
        }
        if self
            .last_line
            .is_none_or(|at| at.elapsed() >= LINE_EVERY || remaining.is_zero())
        {
            errln!("{message}");
            self.last_line = Some(Instant::now());
        }
    }

    fn retrying(&mut self, error: &ClientError, remaining: Duration) {
        let line = format!(
            "warning: {error}; retrying ({} left)",
            format_remaining(remaining)
        );
        match &self.spinner {
            Some(spinner) => spinner.println(line),
            None => errln!("{line}"),
        }
    }
}

/// `29:05` under an hour, `1:02:03` above.
pub fn format_remaining(remaining: Duration) -> String {
    let secs = remaining.as_secs();
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::format_remaining;
    use std::time::Duration;

    #[test]
    fn remaining_time_reads_like_a_clock() {
        assert_eq!(format_remaining(Duration::from_secs(0)), "0:00");
        assert_eq!(format_remaining(Duration::from_secs(65)), "1:05");
        assert_eq!(format_remaining(Duration::from_secs(1800)), "30:00");
        assert_eq!(format_remaining(Duration::from_secs(3723)), "1:02:03");
    }
}
