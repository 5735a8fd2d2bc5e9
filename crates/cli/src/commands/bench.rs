//! `bts-infra bench`: the bounded WebSocket load generator (loopback targets only).

use anyhow::{Context, Result};
use bts_loadgen::{LoadConfig, run as run_load};
use clap::Args;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Target: ws://127.0.0.1:PORT or http://127.0.0.1:PORT (a node, HAProxy or the gateway;
    /// http:// sends one JSON-RPC POST at a time over a keep-alive connection). Loopback only.
    #[arg(long)]
    url: String,
    /// Concurrent connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Calls per connection, one after another.
    #[arg(long, default_value_t = 200)]
    messages: usize,
    /// Pace each connection to one call per this many milliseconds (0: back to back). Light
    /// steady traffic, e.g. to see what busy polling costs when the proxy is not saturated.
    #[arg(long, default_value_t = 0)]
    interval_ms: u64,
    /// Database method called.
    #[arg(long, default_value = "get_dynamic_global_properties")]
    method: String,
    /// Its arguments as a JSON array, e.g. '[42]' for get_block.
    #[arg(long, default_value = "[]")]
    params: String,
    /// Overall time limit, seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Print one JSON object instead of a line of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: BenchArgs) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let config = LoadConfig {
        url: args.url.clone(),
        connections: args.connections,
        messages_per_connection: args.messages,
        method: args.method,
        params: {
            let p: serde_json::Value = serde_json::from_str(&args.params).context("--params is not JSON")?;
            anyhow::ensure!(p.is_array(), "--params must be a JSON array");
            p.to_string()
        },
        timeout: Duration::from_secs(args.timeout),
        interval: Duration::from_millis(args.interval_ms),
    };
    let report = runtime.block_on(run_load(&config))?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{}: {} connections, {} ok, {} failed, {:.0} msgs/s, p50 {:.3} ms, p99 {:.3} ms",
            args.url,
            report.connections,
            report.completed,
            report.failed,
            report.messages_per_second,
            report.p50_ms,
            report.p99_ms
        );
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct BenchRegistrationsArgs {
    /// Faucet base URL, http://127.0.0.1:PORT (loopback only).
    #[arg(long)]
    faucet: String,
    /// Node for the baseline, ws://127.0.0.1:PORT: the same registrations signed here and
    /// broadcast directly (registrar WIF from the BTS_FAUCET_WIF environment variable).
    #[arg(long)]
    node: Option<String>,
    /// Registrar account name for the baseline.
    #[arg(long, default_value = "faucet")]
    registrar: String,
    /// Registrations per mode.
    #[arg(long, default_value_t = 200)]
    count: usize,
    /// Registrations in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Overall time limit per mode, seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Print one JSON object per mode instead of a line of text.
    #[arg(long)]
    json: bool,
}

pub fn run_registrations(args: BenchRegistrationsArgs) -> Result<()> {
    use bts_loadgen::registrations;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    // Names must be new on every run: a per-run tag from the clock.
    let tag = format!(
        "{:x}",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) % 0xffffff
    );
    let timeout = Duration::from_secs(args.timeout);
    let mut reports = vec![runtime.block_on(registrations::through_faucet(
        &args.faucet,
        &format!("f{tag}"),
        args.count,
        args.concurrency,
        timeout,
    ))?];
    if let Some(node) = &args.node {
        let wif = std::env::var("BTS_FAUCET_WIF").context("the baseline needs the registrar WIF in BTS_FAUCET_WIF")?;
        let key = bts_protocol::PrivateKey::from_wif(wif.trim()).context("BTS_FAUCET_WIF is not a valid WIF")?;
        reports.push(runtime.block_on(registrations::direct(
            node,
            &args.registrar,
            key,
            &format!("d{tag}"),
            args.count,
            args.concurrency,
            timeout,
        ))?);
    }
    for r in &reports {
        if args.json {
            println!("{}", serde_json::to_string(r)?);
        } else {
            println!(
                "{}: {}/{} registered in {:.1} s, {:.1} registrations/s, p50 {:.1} ms, p99 {:.1} ms{}",
                r.mode,
                r.registered,
                r.attempted,
                r.seconds,
                r.registrations_per_second,
                r.p50_ms,
                r.p99_ms,
                r.first_error.as_ref().map(|e| format!(" (first error: {e})")).unwrap_or_default()
            );
        }
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct BenchFailoverArgs {
    /// The gateway, ws://127.0.0.1:PORT (loopback only; its /stats.json shows the session's node).
    #[arg(long)]
    gateway: String,
    /// The devnet admin API, http://127.0.0.1:PORT, used to refuse and restore nodes.
    #[arg(long)]
    devnet_admin: String,
    /// Failovers to time.
    #[arg(long, default_value_t = 100)]
    count: usize,
    /// Print one JSON object instead of a line of text.
    #[arg(long)]
    json: bool,
}

/// `bts-infra bench-failover`: node refused → first notice on the moved session, p50/p99.
pub fn run_failover(args: BenchFailoverArgs) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let r = runtime.block_on(bts_loadgen::sessions::failover(&args.gateway, &args.devnet_admin, args.count))?;
    if args.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "failover: {}/{} sessions moved, first notice after p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            r.moved, r.failovers, r.p50_ms, r.p99_ms, r.max_ms
        );
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct BenchSessionsArgs {
    /// The gateway, ws://127.0.0.1:PORT (loopback only).
    #[arg(long)]
    url: String,
    /// Process whose resident memory is measured (the gateway's pid).
    #[arg(long)]
    pid: u32,
    /// Subscribed sessions to open and hold.
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// Seconds to let them idle before measuring.
    #[arg(long, default_value_t = 5)]
    settle: u64,
    /// Print one JSON object instead of a line of text.
    #[arg(long)]
    json: bool,
}

/// `bts-infra bench-sessions`: resident memory per idle subscribed session.
pub fn run_sessions(args: BenchSessionsArgs) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let r = runtime.block_on(bts_loadgen::sessions::idle_sessions(
        &args.url,
        args.pid,
        args.count,
        Duration::from_secs(args.settle),
    ))?;
    if args.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "sessions: {} idle subscribed sessions, RSS {} → {} KiB, {:.1} KiB per session",
            r.sessions, r.rss_before_kib, r.rss_after_kib, r.kib_per_session
        );
    }
    Ok(())
}
