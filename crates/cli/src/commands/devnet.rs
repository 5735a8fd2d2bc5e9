//! `bts-infra devnet`: a local chain for demos, development and tests.

use anyhow::{Context, Result, bail};
use bts_devnet::{Devnet, DevnetConfig, Faults};
use bts_protocol::{AddressPrefix, ChainId, PrivateKey};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct DevnetArgs {
    /// Number of node endpoints, on consecutive ports from --listen.
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// Seconds between blocks (1–30).
    #[arg(long, default_value_t = 3)]
    block_interval: u32,
    /// Address of the first node endpoint (WebSocket and HTTP JSON-RPC on one port).
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// Address of the admin API for fault injection (loopback only).
    #[arg(long, default_value = "127.0.0.1:8089")]
    admin_listen: SocketAddr,
    /// Do not start the admin API.
    #[arg(long)]
    no_admin: bool,
    /// Address prefix of public keys on this chain.
    #[arg(long, default_value = "BTS")]
    prefix: AddressPrefix,
    /// Name mixed into the genesis; a different name gives a different chain id.
    #[arg(long, default_value = "bts-infra devnet")]
    chain_name: String,
    /// Report this chain id instead of the derived one (64 hex characters, `mainnet` or `testnet`).
    #[arg(long)]
    chain_id: Option<String>,
    /// Name of the funded lifetime-member registrar account (1.2.17).
    #[arg(long, default_value = "faucet")]
    registrar_name: String,
    /// File with the registrar's WIF; without it a key is generated and printed once (and kept
    /// in --data-dir/registrar.wif when a data dir is used).
    #[arg(long)]
    registrar_wif_file: Option<PathBuf>,
    /// Registrar's initial balance, in whole BTS.
    #[arg(long, default_value_t = 1_000_000)]
    registrar_balance: i64,
    /// Directory to persist the chain in (restarts continue it); in-memory when omitted.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Inject a fault at start: NODE:SPEC with SPEC one of stall, lag=N, latency=MS,
    /// error-rate=P, refuse, wrong-chain-id (repeatable; change them later via the admin API).
    #[arg(long = "fault", value_name = "NODE:SPEC")]
    faults: Vec<String>,
}

pub fn run(args: DevnetArgs) -> Result<()> {
    let config = build_config(args)?;
    super::init_logging();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let devnet = Devnet::start(config).await?;
        print_banner(&devnet);
        super::shutdown_signal().await;
        tracing::info!("shutting down");
        devnet.shutdown();
        Ok(())
    })
}

fn build_config(args: DevnetArgs) -> Result<DevnetConfig> {
    let chain_id = match args.chain_id.as_deref() {
        None => None,
        Some("mainnet") => Some(ChainId::MAINNET),
        Some("testnet") => Some(ChainId::TESTNET),
        Some(hex) => Some(hex.parse::<ChainId>().context("--chain-id")?),
    };
    let registrar_key = match &args.registrar_wif_file {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading --registrar-wif-file {}", path.display()))?;
            let wif = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'));
            let Some(wif) = wif else { bail!("--registrar-wif-file {} holds no WIF", path.display()) };
            Some(PrivateKey::from_wif(wif).with_context(|| format!("--registrar-wif-file {}", path.display()))?)
        }
    };
    let mut faults = Vec::new();
    for spec in &args.faults {
        let (node, what) =
            spec.split_once(':').with_context(|| format!("--fault {spec}: expected NODE:SPEC, e.g. 1:stall"))?;
        let node: usize = node.parse().with_context(|| format!("--fault {spec}: NODE must be a number"))?;
        if node >= args.nodes {
            bail!("--fault {spec}: there is no node {node} (nodes are 0..{})", args.nodes);
        }
        faults.push((node, Faults::parse_spec(what).map_err(|e| anyhow::anyhow!("--fault {spec}: {e}"))?));
    }
    if !args.listen.ip().is_loopback() {
        eprintln!("warning: --listen {} is not loopback: the devnet is reachable from the network", args.listen);
    }
    Ok(DevnetConfig {
        nodes: args.nodes,
        block_interval: args.block_interval,
        listen: args.listen,
        admin_listen: (!args.no_admin).then_some(args.admin_listen),
        prefix: args.prefix,
        chain_name: args.chain_name,
        chain_id,
        registrar_name: args.registrar_name,
        registrar_key,
        registrar_balance: args.registrar_balance.checked_mul(100_000).context("--registrar-balance is too large")?,
        data_dir: args.data_dir,
        faults,
    })
}

fn print_banner(devnet: &Devnet) {
    println!("devnet chain id: {}", devnet.chain_id());
    for (i, e) in devnet.endpoints().iter().enumerate() {
        println!("node {i}: {} (HTTP: {})", e.ws_url(), e.http_url());
    }
    if let Some(admin) = devnet.admin_url() {
        println!("admin API: {admin}/status");
    }
    let key = devnet.registrar_key();
    println!("registrar: {} (1.2.17), public key {}", devnet.registrar_name(), key.public_key(devnet.prefix()));
    if devnet.registrar_key_generated() {
        println!("registrar WIF (shown once; keep it): {}", key.to_wif());
    }
}
