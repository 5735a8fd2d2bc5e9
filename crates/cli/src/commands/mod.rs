//! Subcommand implementations: argument structs and thin calls into the library crates.

pub mod bench;
pub mod conformance;
pub mod devnet;
pub mod faucet;
pub mod gateway;
pub mod key;
pub mod monitor;
pub mod tx;
pub mod up;

use anyhow::{Context, Result, bail};
use std::io::Read;

/// Reads all of stdin as UTF-8, failing clearly when nothing was piped in.
pub fn read_stdin(what: &str) -> Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        bail!("expected {what} on stdin (pipe it in, e.g. `... < file`)");
    }
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).with_context(|| format!("reading {what} from stdin"))?;
    if text.trim().is_empty() {
        bail!("expected {what} on stdin, got nothing");
    }
    Ok(text)
}

/// Installs the log subscriber for long-running services: `RUST_LOG` or `info`, to stderr.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// What a service loop should do after a signal.
pub enum Signal {
    /// SIGHUP: reload the configuration.
    Reload,
    /// Ctrl-C or SIGTERM: stop.
    Stop,
}

/// Waits for SIGHUP (reload) or Ctrl-C/SIGTERM (stop).
pub async fn next_signal() -> Signal {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut hup), Ok(mut term)) = (signal(SignalKind::hangup()), signal(SignalKind::terminate())) else {
            let _ = tokio::signal::ctrl_c().await;
            return Signal::Stop;
        };
        tokio::select! {
            _ = hup.recv() => Signal::Reload,
            _ = term.recv() => Signal::Stop,
            _ = tokio::signal::ctrl_c() => Signal::Stop,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        Signal::Stop
    }
}

/// Resolves when the process receives Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
