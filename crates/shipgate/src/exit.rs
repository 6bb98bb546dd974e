//! Exit codes and the one error type commands return to `main`.

use std::fmt::Display;
use std::process::ExitCode;

/// A check ran and failed (verification failed, findings above the threshold).
pub const CHECK_FAILED: u8 = 1;
/// Usage, configuration or input error: the check could not run.
pub const USAGE: u8 = 2;

/// What a command returns when it stops early. `report` prints one `error:`
/// line (plus optional `hint:` lines) to stderr and yields the exit code.
#[derive(Debug)]
pub struct CliError {
    code: u8,
    message: String,
    hints: Vec<String>,
}

impl CliError {
    /// Usage, configuration or unreadable input: exit 2.
    pub fn usage(message: impl Display) -> Self {
        Self {
            code: USAGE,
            message: message.to_string(),
            hints: Vec::new(),
        }
    }

    /// A check that ran and failed: exit 1.
    pub fn check(message: impl Display) -> Self {
        Self {
            code: CHECK_FAILED,
            message: message.to_string(),
            hints: Vec::new(),
        }
    }

    /// Adds a `hint:` line telling the user what to do next.
    pub fn hint(mut self, hint: impl Display) -> Self {
        self.hints.push(hint.to_string());
        self
    }

    pub fn report(&self) -> ExitCode {
        errln!("error: {}", self.message);
        for hint in &self.hints {
            errln!("hint: {hint}");
        }
        ExitCode::from(self.code)
    }

    /// [`report`](Self::report), and for a `--json` run also one JSON
    /// object on stdout, so a script reading stdout sees the failure too:
    /// `{"error": {"message", "hints", "exit_code"}}`.
    pub fn report_json(&self) -> ExitCode {
        let object = serde_json::json!({
            "error": {
                "message": self.message,
                "hints": self.hints,
                "exit_code": self.code,
            }
        });
        jsonln!("{object}");
        self.report()
    }
}

/// Result of a command: the exit code to use when it ran to the end.
pub type CmdResult = Result<ExitCode, CliError>;

/// Exit code for "the check ran and failed".
pub fn check_failed() -> ExitCode {
    ExitCode::from(CHECK_FAILED)
}
