//! Logging to stderr with `tracing`. `SHIPGATE_LOG` (an env-filter directive
//! such as `debug` or `shipgate_oidc=trace`) wins over `-v`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init(verbosity: u8) {
    let default = match verbosity {
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    let filter = std::env::var("SHIPGATE_LOG")
        .ok()
        .and_then(|directive| EnvFilter::try_new(directive).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(false)
        .without_time()
        .try_init();
}
