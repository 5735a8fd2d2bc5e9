//! `bts-infra gateway`: the load balancer in front of BitShares nodes.

use super::Signal;
use anyhow::{Context, Result};
use bts_gateway::Gateway;
use bts_gateway::config::GatewayConfig;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct GatewayArgs {
    /// TOML configuration file (see config/gateway.example.toml for every key and default).
    #[arg(long, short)]
    config: PathBuf,
    /// Validate the configuration and exit (0 when valid).
    #[arg(long)]
    check_config: bool,
    /// Print the effective configuration (defaults filled in) and exit.
    #[arg(long)]
    print_config: bool,
    /// Seconds to wait for connections to close on SIGTERM.
    #[arg(long, default_value_t = 10)]
    drain_seconds: u64,
}

pub fn run(args: GatewayArgs) -> Result<()> {
    let config = GatewayConfig::load(&args.config)?;
    if args.check_config {
        println!("{}: ok ({} upstreams)", args.config.display(), config.upstreams.len());
        return Ok(());
    }
    if args.print_config {
        print!("{}", toml::to_string_pretty(&config).context("printing the configuration")?);
        return Ok(());
    }
    super::init_logging();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let gateway = Gateway::start(config, Some(args.config.clone())).await?;
        let tls = gateway.state().tls.is_some();
        let (ws, http) = if tls { ("wss", "https") } else { ("ws", "http") };
        println!("gateway: {ws}://{0} (HTTP: {http}://{0})", gateway.addr());
        println!("stats: {http}://{}/stats", gateway.addr());
        if let Some(plain) = gateway.http_addr() {
            println!("plain HTTP (ACME challenges, redirect to {http}): http://{plain}");
        }
        serve_until_stopped(&gateway).await;
        gateway.shutdown(Duration::from_secs(args.drain_seconds)).await;
        Ok(())
    })
}

/// Reloads on SIGHUP (logging a refused config), returns on Ctrl-C/SIGTERM.
pub async fn serve_until_stopped(gateway: &Gateway) {
    loop {
        match super::next_signal().await {
            Signal::Reload => match gateway.reload() {
                Ok(()) => tracing::info!("reloaded the configuration (SIGHUP)"),
                Err(e) => tracing::error!(error = %e, "configuration not reloaded; the old one stays in force"),
            },
            Signal::Stop => {
                tracing::info!("shutting down");
                return;
            }
        }
    }
}
