//! TLS on the gateway's listener: `wss://` and `https://` with rustls (aws-lc-rs provider,
//! TLS 1.2 and 1.3, ALPN `http/1.1`). The certificate lives behind an `ArcSwap`, so a reload
//! (SIGHUP, `POST /admin/reload`, or the files changing on disk) swaps it for new handshakes
//! while open connections keep theirs. Handshakes run in their own tasks, so a slow client
//! never holds up the accept loop.

use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;

/// Why a certificate could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or holds no usable PEM item.
    #[error("{key}: {path}: {reason}")]
    File {
        /// The config key (`tls.cert_file`, `tls.key_file`).
        key: &'static str,
        /// The path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// rustls refused the pair (key does not match the certificate, unsupported key type, …).
    #[error("tls: {0}")]
    Rustls(String),
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Reads a PEM certificate chain and private key and checks that they belong together.
pub fn load_certified_key(cert_file: &Path, key_file: &Path) -> Result<CertifiedKey, TlsError> {
    let file_err = |key: &'static str, path: &Path, reason: String| TlsError::File {
        key,
        path: path.display().to_string(),
        reason,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| file_err("tls.cert_file", cert_file, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_err("tls.cert_file", cert_file, e.to_string()))?;
    if chain.is_empty() {
        return Err(file_err("tls.cert_file", cert_file, "no CERTIFICATE in the file".into()));
    }
    // The key's bytes never reach an error message.
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| file_err("tls.key_file", key_file, format!("no usable private key ({e})")))?;
    CertifiedKey::from_der(chain, key, &provider()).map_err(|e| TlsError::Rustls(e.to_string()))
}

/// The current certificate, swapped on reload.
#[derive(Debug)]
pub struct CertStore {
    current: ArcSwap<CertifiedKey>,
    cert_file: PathBuf,
    key_file: PathBuf,
    loaded_mtime: std::sync::Mutex<Option<(SystemTime, SystemTime)>>,
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

fn mtimes(cert: &Path, key: &Path) -> Option<(SystemTime, SystemTime)> {
    Some((std::fs::metadata(cert).ok()?.modified().ok()?, std::fs::metadata(key).ok()?.modified().ok()?))
}

impl CertStore {
    /// Loads the files once; errors name the config key.
    pub fn open(cert_file: &Path, key_file: &Path) -> Result<Arc<Self>, TlsError> {
        let key = load_certified_key(cert_file, key_file)?;
        Ok(Arc::new(Self {
            current: ArcSwap::from_pointee(key),
            cert_file: cert_file.to_owned(),
            key_file: key_file.to_owned(),
            loaded_mtime: std::sync::Mutex::new(mtimes(cert_file, key_file)),
        }))
    }

    /// Re-reads the files; on error the old certificate stays in use.
    pub fn reload(&self) -> Result<(), TlsError> {
        let key = load_certified_key(&self.cert_file, &self.key_file)?;
        self.current.store(Arc::new(key));
        if let Ok(mut m) = self.loaded_mtime.lock() {
            *m = mtimes(&self.cert_file, &self.key_file);
        }
        tracing::info!(cert = %self.cert_file.display(), "TLS certificate loaded");
        Ok(())
    }

    /// Reloads when either file's modification time changed since the last load.
    pub fn reload_if_changed(&self) {
        let now = mtimes(&self.cert_file, &self.key_file);
        let changed = self.loaded_mtime.lock().map(|m| *m != now).unwrap_or(false);
        if changed
            && now.is_some()
            && let Err(e) = self.reload()
        {
            // Remember this version so the error is logged once per change, not every 5 s.
            if let Ok(mut m) = self.loaded_mtime.lock() {
                *m = now;
            }
            tracing::error!(error = %e, "changed TLS files not loaded; the old certificate stays in use");
        }
    }

    /// The DER of the certificate currently served (first of the chain).
    pub fn current_certificate(&self) -> Vec<u8> {
        self.current.load().cert.first().map(|c| c.as_ref().to_vec()).unwrap_or_default()
    }

    /// The rustls server configuration resolving to this store.
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(rustls::DEFAULT_VERSIONS)
            .map_err(|e| TlsError::Rustls(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// A listener yielding TLS streams whose handshake has completed.
pub struct TlsListener {
    rx: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Handshakes slower than this are dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

impl TlsListener {
    /// Accepts TCP on `listener` and performs handshakes with `config` in separate tasks.
    pub fn new(listener: TcpListener, config: Arc<rustls::ServerConfig>) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        let task = tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let _ = tx.send((stream, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self { rx, local, task })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            // The accept task only ends when the listener is dropped; never yield then.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
