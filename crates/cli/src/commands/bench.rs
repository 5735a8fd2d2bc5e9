//! `bts-infra bench`: the bounded WebSocket load generator (loopback targets only).

use anyhow::{Context, Result};
use bts_loadgen::{LoadConfig, run as run_load};
use clap::Args;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Target: ws://127.0.0.1:PORT (a node, HAProxy or the gateway). Loopback only.
    #[arg(long)]
    url: String,
    /// Concurrent connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Calls per connection, one after another.
    #[arg(long, default_value_t = 200)]
    messages: usize,
    /// Database method called (no arguments).
    #[arg(long, default_value = "get_dynamic_global_properties")]
    method: String,
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
        timeout: Duration::from_secs(args.timeout),
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
