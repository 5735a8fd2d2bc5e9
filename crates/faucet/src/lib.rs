//! The account-registration service the BitShares web wallet calls (`POST /api/v1/accounts`).
//!
//! A request is validated ([`policy`]), recorded ([`store`]) and driven through
//! `received → signed → broadcast → included → irreversible` by the [`registrar`], which signs
//! `account_create` with the registrar's key and talks to any node (or the gateway) through
//! `bts-rpc`. Background jobs finish what a crash interrupted, mark registrations irreversible,
//! claim vested cashback and count lifetime upgrades. The HTTP surface is in [`server`].

pub mod cashback;
pub mod config;
pub mod metrics;
pub mod node;
pub mod policy;
pub mod registrar;
pub mod server;
pub mod store;

pub use config::FaucetConfig;
pub use registrar::Registrar;

use bts_protocol::PrivateKey;
use bts_rpc::client::{ClientConfig, WsClient};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Why the faucet could not start.
#[derive(Debug, thiserror::Error)]
pub enum FaucetError {
    /// The registrar key could not be loaded (the message never contains the key).
    #[error("registrar key: {0}")]
    Key(String),
    /// Node, chain, registrar or store problem.
    #[error(transparent)]
    Start(#[from] registrar::StartError),
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Loads the registrar WIF from `registrar.wif_file` (refusing files readable by group or others)
/// or from the environment variable `registrar.wif_env`.
pub fn load_registrar_key(config: &FaucetConfig) -> Result<PrivateKey, FaucetError> {
    let wif = match &config.registrar.wif_file {
        Some(path) => read_key_file(path)?,
        None => std::env::var(&config.registrar.wif_env).map_err(|_| {
            FaucetError::Key(format!(
                "set registrar.wif_file in the config or the environment variable {}",
                config.registrar.wif_env
            ))
        })?,
    };
    PrivateKey::from_wif(wif.trim()).map_err(|e| FaucetError::Key(format!("not a valid WIF private key ({e})")))
}

fn read_key_file(path: &Path) -> Result<String, FaucetError> {
    let meta = std::fs::metadata(path).map_err(|e| FaucetError::Key(format!("cannot read {}: {e}", path.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(FaucetError::Key(format!(
                "{} is readable by group or others (mode {:o}); run chmod 600 on it",
                path.display(),
                mode & 0o777
            )));
        }
    }
    let _ = meta;
    std::fs::read_to_string(path).map_err(|e| FaucetError::Key(format!("cannot read {}: {e}", path.display())))
}

/// A running faucet: HTTP server plus background jobs.
pub struct Faucet {
    addr: SocketAddr,
    registrar: Arc<Registrar>,
    shutdown: tokio::sync::watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
    jobs: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Faucet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faucet").field("addr", &self.addr).finish()
    }
}

impl Faucet {
    /// Connects to the node, checks registrar and store, binds the listener and starts the jobs.
    pub async fn start(config: FaucetConfig, key: PrivateKey) -> Result<Self, FaucetError> {
        let client_config = ClientConfig {
            call_timeout: Duration::from_secs(config.timing.broadcast_timeout_seconds),
            ..ClientConfig::new(config.node_ws_url())
        };
        let url = config.node.clone();
        let client = WsClient::connect(client_config)
            .await
            .map_err(|e| registrar::StartError::Node { url, source: node::NodeError::Unavailable(e.to_string()) })?;
        let listen = config.listen;
        let registrar = Arc::new(Registrar::start(config, key, node::Node::new(client)).await?);
        let listener =
            tokio::net::TcpListener::bind(listen).await.map_err(|source| FaucetError::Bind { addr: listen, source })?;
        let addr = listener.local_addr().map_err(|source| FaucetError::Bind { addr: listen, source })?;
        let (shutdown, rx) = tokio::sync::watch::channel(false);
        let app = server::router(registrar.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let mut server_rx = rx.clone();
        let server = tokio::spawn(async move {
            let stop = async move {
                let _ = server_rx.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
                tracing::error!(error = %e, "faucet server stopped");
            }
        });
        let jobs = tokio::spawn(registrar.clone().run_jobs(rx));
        tracing::info!(%addr, "faucet listening");
        Ok(Self { addr, registrar, shutdown, server, jobs })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The registrar (state machine, store, metrics).
    pub fn registrar(&self) -> &Arc<Registrar> {
        &self.registrar
    }

    /// Stops accepting, lets in-flight requests finish (up to `grace`), stops the jobs.
    pub async fn shutdown(mut self, grace: Duration) {
        let _ = self.shutdown.send(true);
        if tokio::time::timeout(grace, &mut self.server).await.is_err() {
            self.server.abort();
        }
        // A job in the middle of a registration finishes its step unless the grace runs out; the
        // recovery pass of the next start picks up whatever is left.
        if tokio::time::timeout(grace, &mut self.jobs).await.is_err() {
            self.jobs.abort();
        }
        self.registrar.store().close().await;
    }
}
