//! `bts-infra up`: the whole system on loopback — a 3-node devnet, the gateway in front of it, and
//! the faucet registering accounts through the gateway.

use anyhow::{Context, Result};
use bts_devnet::{Devnet, DevnetConfig};
use bts_faucet::{Faucet, FaucetConfig};
use bts_gateway::Gateway;
use bts_gateway::config::{GatewayConfig, UpstreamConfig};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Gateway listener (WebSocket + HTTP JSON-RPC, /stats, /metrics, /health).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// First devnet node port; the three nodes use it and the next two.
    #[arg(long, default_value = "127.0.0.1:8090")]
    devnet_listen: SocketAddr,
    /// Faucet listener (POST /api/v1/accounts, /stats, /metrics, /health).
    #[arg(long, default_value = "127.0.0.1:8070")]
    faucet_listen: SocketAddr,
    /// Devnet admin API (fault injection).
    #[arg(long, default_value = "127.0.0.1:8089")]
    devnet_admin_listen: SocketAddr,
    /// Seconds between blocks.
    #[arg(long, default_value_t = 3)]
    block_interval: u32,
    /// Keep the chain in this directory across restarts (in memory when omitted).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

pub fn run(args: UpArgs) -> Result<()> {
    super::init_logging();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let devnet = Devnet::start(DevnetConfig {
            nodes: 3,
            block_interval: args.block_interval,
            listen: args.devnet_listen,
            admin_listen: Some(args.devnet_admin_listen),
            data_dir: args.data_dir.clone(),
            ..DevnetConfig::default()
        })
        .await
        .context("starting the devnet")?;
        let upstreams = devnet
            .endpoints()
            .iter()
            .enumerate()
            .map(|(i, e)| UpstreamConfig { name: format!("node{i}"), url: e.ws_url(), weight: 100, ca_file: None })
            .collect();
        let config = GatewayConfig {
            listen: args.listen,
            chain_id: Some(devnet.chain_id().to_string()),
            name: "bts-infra up".into(),
            workers: 0,
            busy_poll_us: bts_gateway::config::DEFAULT_BUSY_POLL_US,
            upstreams,
            health: Default::default(),
            limits: Default::default(),
            sessions: Default::default(),
            cache: Default::default(),
            broadcasts: Default::default(),
            admin: Default::default(),
            monitoring: Default::default(),
            tls: None,
        };
        let gateway = Gateway::start(config, None).await.context("starting the gateway")?;
        gateway.wait_healthy(1, Duration::from_secs(10)).await;
        let key = devnet.registrar_key();
        let mut faucet_config = FaucetConfig::new(devnet.registrar_name());
        faucet_config.listen = args.faucet_listen;
        faucet_config.node = format!("ws://{}", gateway.addr());
        faucet_config.chain_id = Some(devnet.chain_id().to_string());
        faucet_config.store = match &args.data_dir {
            Some(dir) => format!("sqlite://{}", dir.join("faucet.db").display()),
            None => "sqlite::memory:".into(),
        };
        // A local demo registers from loopback again and again; the limits stay on for others.
        faucet_config.limits.exempt_ips = vec!["127.0.0.0/8".into(), "::1".into()];
        faucet_config.funds.check_interval_seconds = 10;
        faucet_config.validate().context("faucet configuration")?;
        let faucet = Faucet::start(faucet_config, key.clone()).await.context("starting the faucet")?;
        println!("bts-infra is up (Ctrl-C to stop)");
        println!("  gateway:   ws://{0}  (HTTP JSON-RPC: http://{0})", gateway.addr());
        println!("  stats:     http://{}/stats", gateway.addr());
        println!("  metrics:   http://{}/metrics", gateway.addr());
        println!("  faucet:    http://{}/api/v1/accounts  (stats: http://{0}/stats)", faucet.addr());
        println!("  chain id:  {}", devnet.chain_id());
        for (i, url) in devnet.ws_urls().iter().enumerate() {
            println!("  node{i}:     {url}");
        }
        if let Some(admin) = devnet.admin_url() {
            println!("  faults:    {admin}/status  (devnet admin API)");
        }
        println!("  registrar: {} (1.2.17), public key {}", devnet.registrar_name(), key.public_key(devnet.prefix()));
        if devnet.registrar_key_generated() {
            println!("  registrar WIF (shown once): {}", key.to_wif());
        }
        super::gateway::serve_until_stopped(&gateway).await;
        faucet.shutdown(Duration::from_secs(5)).await;
        gateway.shutdown(Duration::from_secs(5)).await;
        devnet.shutdown();
        Ok(())
    })
}
