//! Starting and stopping a devnet: genesis or restart, block production, endpoints, admin API.

use crate::chain::Chain;
use crate::faults::FaultsPatch;
use crate::genesis::Genesis;
use crate::node::{Endpoint, Shared, serve_on};
use crate::store::{Store, StoreError};
use bts_protocol::{AddressPrefix, ChainId, PrivateKey, TimePointSec};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Devnet settings. See `bts-infra devnet --help` for the defaults.
#[derive(Debug, Clone)]
pub struct DevnetConfig {
    /// Number of node endpoints (each on its own port: listen, listen+1, …).
    pub nodes: usize,
    /// Seconds between blocks (1–30).
    pub block_interval: u32,
    /// Address of the first endpoint; port 0 picks free ports.
    pub listen: SocketAddr,
    /// Admin API address (must be loopback); `None` disables it.
    pub admin_listen: Option<SocketAddr>,
    /// Address prefix of the chain's keys.
    pub prefix: AddressPrefix,
    /// Chain name mixed into the genesis (changes the chain id).
    pub chain_name: String,
    /// Explicit chain id instead of the derived one.
    pub chain_id: Option<ChainId>,
    /// Name of the funded lifetime-member registrar (1.2.17).
    pub registrar_name: String,
    /// Registrar key; generated (and saved in the data dir) when `None`.
    pub registrar_key: Option<PrivateKey>,
    /// Registrar's initial balance in BTS satoshis.
    pub registrar_balance: i64,
    /// Data directory; in-memory when `None`.
    pub data_dir: Option<PathBuf>,
    /// Faults to inject at start, by endpoint index.
    pub faults: Vec<(usize, FaultsPatch)>,
}

impl Default for DevnetConfig {
    fn default() -> Self {
        Self {
            nodes: 1,
            block_interval: 3,
            listen: SocketAddr::from(([127, 0, 0, 1], 8090)),
            admin_listen: Some(SocketAddr::from(([127, 0, 0, 1], 8089))),
            prefix: AddressPrefix::BTS,
            chain_name: "bts-infra devnet".into(),
            chain_id: None,
            registrar_name: "faucet".into(),
            registrar_key: None,
            registrar_balance: 1_000_000 * 100_000,
            data_dir: None,
            faults: Vec::new(),
        }
    }
}

/// Why a devnet could not start.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    /// A setting is out of range.
    #[error("invalid devnet setting {key}: {reason}")]
    Config {
        /// The offending setting.
        key: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A port could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The data directory could not be used.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored chain could not be replayed.
    #[error("cannot restore the chain: {0}")]
    Replay(String),
}

fn config_err(key: &'static str, reason: impl Into<String>) -> DevnetError {
    DevnetError::Config { key, reason: reason.into() }
}

/// A running devnet. Dropping it (or [`Devnet::shutdown`]) stops every task and closes the ports.
pub struct Devnet {
    shared: Arc<Shared>,
    endpoints: Vec<Arc<Endpoint>>,
    admin_addr: Option<SocketAddr>,
    registrar_key: PrivateKey,
    generated_registrar_key: bool,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Devnet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        for e in &self.endpoints {
            e.drop_connections();
        }
    }
}

impl Devnet {
    /// Builds or restores the chain, binds every port and starts producing blocks.
    pub async fn start(config: DevnetConfig) -> Result<Devnet, DevnetError> {
        if config.nodes == 0 || config.nodes > 64 {
            return Err(config_err("nodes", format!("must be 1..=64, got {}", config.nodes)));
        }
        if !(1..=30).contains(&config.block_interval) {
            return Err(config_err("block_interval", format!("must be 1..=30 seconds, got {}", config.block_interval)));
        }
        if let Some(admin) = config.admin_listen.filter(|a| !a.ip().is_loopback()) {
            return Err(config_err("admin_listen", format!("the admin API must listen on loopback, got {admin}")));
        }
        if config.registrar_balance <= 0 {
            return Err(config_err("registrar_balance", "must be positive"));
        }
        if bts_protocol::names::chain_name_error(&config.registrar_name).is_some() {
            return Err(config_err(
                "registrar_name",
                format!("\"{}\" is not a valid account name", config.registrar_name),
            ));
        }
        let mut store = config.data_dir.as_deref().map(Store::open).transpose()?;
        let stored_key = match &store {
            Some(s) => s.registrar_key()?,
            None => None,
        };
        let (registrar_key, generated) = match (&config.registrar_key, stored_key) {
            (Some(k), _) => (k.clone(), false),
            (None, Some(k)) => (k, false),
            (None, None) => (PrivateKey::generate().map_err(|e| config_err("registrar_key", e.to_string()))?, true),
        };
        let stored_genesis = match &store {
            Some(s) => s.genesis()?,
            None => None,
        };
        let (genesis, blocks) = match stored_genesis {
            Some(text) => {
                let g: Genesis =
                    serde_json::from_str(&text).map_err(|e| DevnetError::Replay(format!("genesis.json: {e}")))?;
                if g.registrar_key != registrar_key.public_key(g.address_prefix) {
                    return Err(config_err(
                        "registrar_key",
                        format!("does not match the stored chain's registrar key {}", g.registrar_key),
                    ));
                }
                let blocks = store.as_ref().map(Store::blocks).transpose()?.unwrap_or_default();
                (g, blocks)
            }
            None => {
                let now = TimePointSec::now().secs();
                let g = Genesis {
                    chain_name: config.chain_name.clone(),
                    initial_timestamp: TimePointSec(now - now % config.block_interval),
                    address_prefix: config.prefix,
                    block_interval: config.block_interval,
                    init_key: PrivateKey::from_seed("nathan")
                        .map_err(|e| DevnetError::Replay(e.to_string()))?
                        .public_key(config.prefix),
                    registrar_name: config.registrar_name.clone(),
                    registrar_key: registrar_key.public_key(config.prefix),
                    registrar_balance: config.registrar_balance,
                    chain_id: config.chain_id,
                };
                if let Some(s) = &store {
                    s.write_genesis(&g.to_json())?;
                    if generated {
                        let path = s.save_registrar_key(&registrar_key)?;
                        tracing::info!(path = %path.display(), "saved the generated registrar key");
                    }
                }
                (g, Vec::new())
            }
        };
        let mut chain = Chain::new(genesis).map_err(DevnetError::Replay)?;
        for b in &blocks {
            chain.replay_block(b).map_err(DevnetError::Replay)?;
        }
        if !blocks.is_empty() {
            tracing::info!(
                blocks = blocks.len(),
                head = chain.head_block_num(),
                "restored the chain from the data dir"
            );
        }
        let block_interval = chain.block_interval();
        let shared = Shared::new(chain);

        let mut tasks = Vec::new();
        let mut endpoints = Vec::new();
        for i in 0..config.nodes {
            let port = if config.listen.port() == 0 { 0 } else { config.listen.port() + i as u16 };
            let addr = SocketAddr::new(config.listen.ip(), port);
            let listener =
                tokio::net::TcpListener::bind(addr).await.map_err(|source| DevnetError::Bind { addr, source })?;
            let endpoint = Endpoint::new(i, shared.clone(), listener.local_addr().unwrap_or(addr));
            tasks.push(tokio::spawn({
                let endpoint = endpoint.clone();
                async move {
                    let _ = serve_on(endpoint, listener).await;
                }
            }));
            endpoints.push(endpoint);
        }
        for (index, patch) in &config.faults {
            let endpoint = endpoints.get(*index).ok_or_else(|| config_err("fault", format!("no node {index}")))?;
            endpoint.patch_faults(patch).map_err(|e| config_err("fault", e))?;
        }
        let admin_addr = match config.admin_listen {
            Some(addr) => {
                let listener =
                    tokio::net::TcpListener::bind(addr).await.map_err(|source| DevnetError::Bind { addr, source })?;
                let local = listener.local_addr().unwrap_or(addr);
                let app = crate::admin::router(shared.clone(), endpoints.clone());
                tasks.push(tokio::spawn(async move {
                    let _ = axum::serve(listener, app).await;
                }));
                Some(local)
            }
            None => None,
        };
        let store_cell = Arc::new(Mutex::new(store.take()));
        tasks.push(tokio::spawn(produce_blocks(shared.clone(), store_cell, block_interval)));
        Ok(Devnet { shared, endpoints, admin_addr, registrar_key, generated_registrar_key: generated, tasks })
    }

    /// The node endpoints.
    pub fn endpoints(&self) -> &[Arc<Endpoint>] {
        &self.endpoints
    }

    /// `ws://` URLs of the endpoints.
    pub fn ws_urls(&self) -> Vec<String> {
        self.endpoints.iter().map(|e| e.ws_url()).collect()
    }

    /// Admin API base URL.
    pub fn admin_url(&self) -> Option<String> {
        self.admin_addr.map(|a| format!("http://{a}"))
    }

    /// Chain id.
    pub fn chain_id(&self) -> ChainId {
        self.shared.lock().chain_id()
    }

    /// Address prefix.
    pub fn prefix(&self) -> AddressPrefix {
        self.shared.lock().prefix()
    }

    /// The registrar account's name.
    pub fn registrar_name(&self) -> String {
        self.shared.lock().genesis().registrar_name.clone()
    }

    /// The registrar's private key.
    pub fn registrar_key(&self) -> &PrivateKey {
        &self.registrar_key
    }

    /// True when the registrar key was generated by this start (so it must be shown once).
    pub fn registrar_key_generated(&self) -> bool {
        self.generated_registrar_key
    }

    /// Current head block number.
    pub fn head_block_num(&self) -> u32 {
        self.shared.lock().head_block_num()
    }

    /// Waits until the chain's head reaches `num` (or `timeout` passes).
    pub async fn wait_for_block(&self, num: u32, timeout: Duration) -> bool {
        let mut events = self.shared.events.subscribe();
        let wait = async {
            loop {
                if self.head_block_num() >= num {
                    return;
                }
                let _ = tokio::time::timeout(Duration::from_millis(500), events.recv()).await;
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }

    /// Stops block production and closes every port and connection.
    pub fn shutdown(self) {
        drop(self);
    }
}

async fn produce_blocks(shared: Arc<Shared>, store: Arc<Mutex<Option<Store>>>, interval: u32) {
    loop {
        let head_time = shared.lock().head_time().secs();
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let next_slot = u64::from(head_time + interval).max((now_ms / 1000) - (now_ms / 1000) % u64::from(interval));
        let next_ms = next_slot * 1000;
        if next_ms > now_ms {
            tokio::time::sleep(Duration::from_millis(next_ms - now_ms)).await;
        }
        let produced = {
            let mut chain = shared.lock();
            let now = TimePointSec::now();
            chain.produce_block(now)
        };
        match produced {
            Ok((block, applied)) => {
                let mut store = store.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Some(Err(e)) = store.as_mut().map(|s| s.append(&block)) {
                    tracing::error!(error = %e, "cannot persist block; the chain continues in memory");
                }
                drop(store);
                tracing::debug!(block = applied.block_num, txs = applied.included.len(), "block produced");
                let _ = shared.events.send(Arc::new(applied));
            }
            Err(e) => {
                tracing::error!(error = %e, "block production failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
