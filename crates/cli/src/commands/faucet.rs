//! `bts-infra faucet`: the account-registration service, and `faucet stats` (the referral table).

use anyhow::{Context, Result};
use bts_faucet::server::format_core;
use bts_faucet::store::Store;
use bts_faucet::{Faucet, FaucetConfig};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = false)]
pub struct FaucetArgs {
    /// TOML configuration file (see config/faucet.example.toml for every key and default).
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    /// Validate the configuration and exit (0 when valid); does not contact the node.
    #[arg(long)]
    check_config: bool,
    /// Print the effective configuration (defaults filled in) and exit.
    #[arg(long)]
    print_config: bool,
    #[command(subcommand)]
    action: Option<FaucetAction>,
}

#[derive(Debug, Subcommand)]
enum FaucetAction {
    /// Print registrations per referrer (accounts, lifetime upgrades) and totals from the store.
    Stats {
        /// Print the figures as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn load(args: &FaucetArgs) -> Result<FaucetConfig> {
    let path = args.config.as_ref().context("--config <file> is required (see config/faucet.example.toml)")?;
    Ok(FaucetConfig::load(path)?)
}

pub fn run(args: FaucetArgs) -> Result<()> {
    let config = load(&args)?;
    if let Some(FaucetAction::Stats { json }) = args.action {
        return print_stats(&config, json);
    }
    if args.check_config {
        println!("{}: ok", args.config.as_ref().map(|p| p.display().to_string()).unwrap_or_default());
        return Ok(());
    }
    if args.print_config {
        print!("{}", toml::to_string_pretty(&config).context("printing the configuration")?);
        return Ok(());
    }
    super::init_logging();
    let key = bts_faucet::load_registrar_key(&config)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let faucet = Faucet::start(config, key).await?;
        println!("faucet: http://{}/api/v1/accounts", faucet.addr());
        println!("stats:  http://{}/stats", faucet.addr());
        super::shutdown_signal().await;
        tracing::info!("shutting down");
        faucet.shutdown(Duration::from_secs(10)).await;
        Ok(())
    })
}

fn print_stats(config: &FaucetConfig, json: bool) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let store = Store::open(&config.store).await?;
        let now = i64::from(bts_protocol::TimePointSec::now().secs());
        let stats = store.stats(now).await?;
        store.close().await;
        if json {
            println!("{}", serde_json::to_string_pretty(&stats)?);
            return Ok(());
        }
        let width = stats.per_referrer.iter().map(|r| r.0.len()).max().unwrap_or(0).max("referrer".len());
        println!("{:<width$}  {:>10}  {:>18}", "referrer", "accounts", "lifetime upgrades");
        for (name, accounts, upgraded) in &stats.per_referrer {
            println!("{name:<width$}  {accounts:>10}  {upgraded:>18}");
        }
        println!("{:<width$}  {:>10}  {:>18}", "total", stats.registered, stats.upgraded);
        println!();
        println!("fees paid for registrations: {}", format_core(stats.fees_paid));
        println!("cashback claimed:            {}", format_core(stats.cashback_claimed));
        for (state, n) in &stats.by_state {
            println!("rows {state}: {n}");
        }
        Ok(())
    })
}
