//! `bts-infra`: one binary, one subcommand per service.
//!
//! This crate only parses arguments, reads files and stdin, and calls the library crates. Every
//! failure ends as one line on stderr and exit code 2 (clap's usage errors use 2 as well).

mod commands;

use clap::error::ErrorKind;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// BitShares public API infrastructure: gateway, faucet, devnet and operator tools.
#[derive(Debug, Parser)]
#[command(name = "bts-infra", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create and convert keys (WIF private keys, BTS… public keys, web-wallet password keys).
    #[command(subcommand)]
    Key(commands::key::KeyCommand),
    /// Inspect, sign and verify transactions in the node's JSON form (read from stdin).
    #[command(subcommand)]
    Tx(commands::tx::TxCommand),
    /// Run a local BitShares-compatible chain served by N node endpoints (WebSocket + HTTP).
    Devnet(commands::devnet::DevnetArgs),
    /// Run the chain-aware gateway in front of BitShares nodes (config: see config/gateway.example.toml).
    Gateway(commands::gateway::GatewayArgs),
    /// Run the account-registration faucet the web wallet calls (config: see config/faucet.example.toml).
    Faucet(commands::faucet::FaucetArgs),
    /// Start everything on loopback: a 3-node devnet, the gateway in front of it, and the faucet.
    Up(commands::up::UpArgs),
    /// Load-test a WebSocket JSON-RPC endpoint on loopback (fixed connections and messages).
    Bench(commands::bench::BenchArgs),
    /// Nagios / Monitoring Plugins check of a gateway or a node: one line, exit 0/1/2/3.
    Check(commands::monitor::CheckArgs),
    /// Munin plugin for a gateway (`config`, fetch; multigraph per upstream).
    Munin(commands::monitor::MuninArgs),
    /// Load-test registrations: through a faucet, and (baseline) signed and broadcast directly to a node.
    BenchRegistrations(commands::bench::BenchRegistrationsArgs),
    /// Benchmark session failover through a gateway: node refused → first notice on the moved
    /// session, p50/p99 over N failovers (loopback only).
    BenchFailover(commands::bench::BenchFailoverArgs),
    /// Benchmark the gateway's resident memory per idle subscribed WebSocket session.
    BenchSessions(commands::bench::BenchSessionsArgs),
    /// Send the conformance suite to a node or gateway and compare its answers with what
    /// witness_node 7.0.2 answered (or record a real node's answers with --record).
    Conformance(commands::conformance::ConformanceArgs),
}

fn main() -> ExitCode {
    // A bug must still end as one line, never a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error: {info}");
    }));
    // A monitoring plugin answers every invocation on stdout with exit 3 for UNKNOWN, --help and
    // --version included (Monitoring Plugins guidelines), never on stderr.
    let plugin = std::env::args().nth(1).as_deref() == Some("check");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if plugin => {
            let text = err.render().to_string();
            if matches!(err.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                print!("{text}");
            } else {
                // clap's error up to the usage block, on one line.
                let message: Vec<&str> =
                    text.lines().map(str::trim).take_while(|l| !l.is_empty() && !l.starts_with("Usage:")).collect();
                println!("BTS UNKNOWN: {}", message.join(" ").trim_start_matches("error: "));
            }
            return ExitCode::from(3);
        }
        Err(err) if matches!(err.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            // Help and version go to stdout with exit 0, as clap would do.
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            return ExitCode::from(2);
        }
        Err(err) => {
            // Usage errors: the first line only ("error: invalid value 'x' for '--chain-id …'").
            let text = err.render().to_string();
            eprintln!("{}", text.lines().next().unwrap_or("error: invalid arguments"));
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Key(cmd) => commands::key::run(cmd),
        Command::Tx(cmd) => commands::tx::run(cmd),
        Command::Devnet(args) => commands::devnet::run(args),
        Command::Gateway(args) => commands::gateway::run(args),
        Command::Faucet(args) => commands::faucet::run(args),
        Command::Up(args) => commands::up::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::BenchRegistrations(args) => commands::bench::run_registrations(args),
        Command::BenchFailover(args) => commands::bench::run_failover(args),
        Command::BenchSessions(args) => commands::bench::run_sessions(args),
        Command::Check(args) => return commands::monitor::run_check(args),
        Command::Munin(args) => commands::monitor::run_munin(args),
        Command::Conformance(args) => commands::conformance::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` joins the context chain into one line: "reading --wif-file x: No such file".
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
