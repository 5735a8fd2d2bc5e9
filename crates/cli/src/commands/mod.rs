//! Subcommand implementations: argument structs and thin calls into the library crates.

pub mod key;
pub mod tx;

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
