//! `bts-infra check` (a Nagios / Monitoring Plugins check) and `bts-infra munin` (a Munin
//! plugin), both reading a gateway's `/stats.json` (or, for `check`, a node's head directly).

use anyhow::{Context, Result};
use bts_gateway::outputs::{self, CheckStatus, Thresholds};
use clap::Args;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A gateway (http://127.0.0.1:8080: reads /stats.json) or a node (ws://127.0.0.1:8090:
    /// reads its head).
    #[arg(long, short = 'u')]
    url: String,
    /// WARNING when the freshest healthy head is older than this, seconds.
    #[arg(long, default_value_t = 6.0)]
    warn_age: f64,
    /// CRITICAL when it is older than this, seconds.
    #[arg(long, default_value_t = 15.0)]
    crit_age: f64,
    /// WARNING when a healthy upstream lags this many blocks or more (gateway only).
    #[arg(long, default_value_t = 2)]
    warn_lag: u64,
    /// CRITICAL at this many blocks or more (gateway only).
    #[arg(long, default_value_t = 5)]
    crit_lag: u64,
    /// WARNING with fewer healthy upstreams than this (default: all configured ones).
    #[arg(long)]
    warn_healthy: Option<u64>,
    /// CRITICAL with fewer healthy upstreams than this.
    #[arg(long, default_value_t = 1)]
    crit_healthy: u64,
    /// Give up after this many seconds (CRITICAL).
    #[arg(long, short = 't', default_value_t = 10)]
    timeout: u64,
}

/// Runs the check: one line on stdout, the exit code is the state (0 OK … 3 UNKNOWN).
pub fn run_check(args: CheckArgs) -> ExitCode {
    let thresholds = Thresholds {
        warn_age: args.warn_age,
        crit_age: args.crit_age,
        warn_lag: args.warn_lag,
        crit_lag: args.crit_lag,
        warn_healthy: args.warn_healthy,
        crit_healthy: args.crit_healthy,
    };
    let outcome = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt.block_on(outputs::run_check(&args.url, &thresholds, Duration::from_secs(args.timeout.max(1)))),
        Err(e) => outputs::CheckOutcome { status: CheckStatus::Unknown, line: format!("BTS UNKNOWN: {e}") },
    };
    println!("{}", outcome.line);
    ExitCode::from(outcome.status as u8)
}

#[derive(Debug, Args)]
pub struct MuninArgs {
    /// `config` prints the graph definitions; no mode fetches values; `autoconf` says yes/no.
    mode: Option<String>,
    /// The gateway (http://127.0.0.1:8080). Also read from the environment variable `url`
    /// (plugin-conf.d: `env.url http://127.0.0.1:8080`).
    #[arg(long, env = "url", default_value = "http://127.0.0.1:8080")]
    url: String,
}

/// Munin plugin: multigraph output when the node announced it (`MUNIN_CAP_MULTIGRAPH=1`).
pub fn run_munin(args: MuninArgs) -> Result<()> {
    let multigraph = std::env::var("MUNIN_CAP_MULTIGRAPH").is_ok_and(|v| v == "1");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the runtime")?;
    let stats_url = format!("{}/stats.json", args.url.trim_end_matches('/'));
    let stats = rt.block_on(outputs::fetch_json(&stats_url, Duration::from_secs(10)));
    match args.mode.as_deref() {
        Some("autoconf") => {
            match stats {
                Ok(_) => println!("yes"),
                Err(e) => println!("no ({e})"),
            }
            Ok(())
        }
        Some("config") => {
            let stats = stats.map_err(anyhow::Error::msg)?;
            print!("{}", outputs::munin_config(&stats, multigraph));
            if std::env::var("MUNIN_CAP_DIRTYCONFIG").is_ok_and(|v| v == "1") {
                print!("{}", outputs::munin_fetch(&stats, multigraph));
            }
            Ok(())
        }
        None | Some("fetch") => {
            let stats = stats.map_err(anyhow::Error::msg)?;
            print!("{}", outputs::munin_fetch(&stats, multigraph));
            Ok(())
        }
        Some(other) => anyhow::bail!("unknown munin mode {other:?}: expected config, autoconf or none (fetch)"),
    }
}
