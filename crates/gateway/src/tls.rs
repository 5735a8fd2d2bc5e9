//! TLS on the gateway's listener: `wss://` and `https://` with rustls (aws-lc-rs provider,
//! TLS 1.2 and 1.3, ALPN `http/1.1`). The certificate lives behind an `ArcSwap`, so a reload
//! (SIGHUP, `POST /admin/reload`, or the files changing on disk) swaps it for new handshakes
//! while open connections keep theirs. Handshakes run in their own tasks, so a slow client
//! never holds up the accept loop.

use arc_swap::{ArcSwap, ArcSwapOption};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

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

/// Builds a certified key from PEM text (an ACME chain and the key generated for it).
pub fn certified_key_from_pem(chain_pem: &str, key_pem: &str) -> Result<CertifiedKey, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Rustls(format!("certificate chain: {e}")))?;
    if chain.is_empty() {
        return Err(TlsError::Rustls("no CERTIFICATE in the chain".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|_| TlsError::Rustls("no usable private key".into()))?;
    CertifiedKey::from_der(chain, key, &provider()).map_err(|e| TlsError::Rustls(e.to_string()))
}

/// What the stats page and metrics show about the served certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CertInfo {
    /// `files` or `acme`.
    pub source: &'static str,
    /// The leaf's notAfter, seconds since the Unix epoch (0 before the first certificate).
    pub not_after: i64,
    /// The leaf's serial number in hex.
    pub serial: String,
}

/// Validity and serial of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafInfo {
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// Serial number, lower-case hex.
    pub serial: String,
}

/// Reads the validity and serial of a DER certificate; `None` if it does not parse.
pub fn leaf_info(der: &[u8]) -> Option<LeafInfo> {
    use x509_cert::der::Decode;
    let cert = x509_cert::Certificate::from_der(der).ok()?;
    let tbs = cert.tbs_certificate();
    let secs = |t: x509_cert::time::Time| i64::try_from(t.to_unix_duration().as_secs()).ok();
    Some(LeafInfo {
        not_before: secs(tbs.validity().not_before)?,
        not_after: secs(tbs.validity().not_after)?,
        serial: hex_lower(tbs.serial_number().as_bytes()),
    })
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug)]
struct Files {
    cert_file: PathBuf,
    key_file: PathBuf,
    loaded_mtime: std::sync::Mutex<Option<(SystemTime, SystemTime)>>,
}

/// The current certificate, swapped on reload or renewal. Empty only while an ACME
/// certificate has not been obtained yet (handshakes then fail: no certificate is better than
/// a wrong one).
#[derive(Debug)]
pub struct CertStore {
    current: ArcSwapOption<CertifiedKey>,
    info: ArcSwap<CertInfo>,
    files: Option<Files>,
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.load_full()
    }
}

fn mtimes(cert: &Path, key: &Path) -> Option<(SystemTime, SystemTime)> {
    Some((std::fs::metadata(cert).ok()?.modified().ok()?, std::fs::metadata(key).ok()?.modified().ok()?))
}

impl CertStore {
    /// Loads the files once; errors name the config key.
    pub fn open(cert_file: &Path, key_file: &Path) -> Result<Arc<Self>, TlsError> {
        let key = load_certified_key(cert_file, key_file)?;
        let store = Self {
            current: ArcSwapOption::empty(),
            info: ArcSwap::from_pointee(CertInfo { source: "files", ..CertInfo::default() }),
            files: Some(Files {
                cert_file: cert_file.to_owned(),
                key_file: key_file.to_owned(),
                loaded_mtime: std::sync::Mutex::new(mtimes(cert_file, key_file)),
            }),
        };
        store.install(key);
        Ok(Arc::new(store))
    }

    /// A store filled by ACME; empty until the first certificate is installed.
    pub fn managed() -> Arc<Self> {
        Arc::new(Self {
            current: ArcSwapOption::empty(),
            info: ArcSwap::from_pointee(CertInfo { source: "acme", ..CertInfo::default() }),
            files: None,
        })
    }

    /// Serves `key` to new handshakes from now on; open connections keep theirs.
    pub fn install(&self, key: CertifiedKey) {
        let leaf = key.cert.first().and_then(|c| leaf_info(c.as_ref()));
        let (not_after, serial) = leaf.map(|l| (l.not_after, l.serial)).unwrap_or_default();
        let source = self.info.load().source;
        self.info.store(Arc::new(CertInfo { source, not_after, serial }));
        crate::metrics::certificate_expiry(not_after);
        self.current.store(Some(Arc::new(key)));
    }

    /// Source, expiry and serial of the served certificate.
    pub fn info(&self) -> Arc<CertInfo> {
        self.info.load_full()
    }

    /// Re-reads the files (file mode; a no-op for ACME); on error the old certificate stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let Some(files) = &self.files else { return Ok(()) };
        let key = load_certified_key(&files.cert_file, &files.key_file)?;
        self.install(key);
        if let Ok(mut m) = files.loaded_mtime.lock() {
            *m = mtimes(&files.cert_file, &files.key_file);
        }
        tracing::info!(cert = %files.cert_file.display(), "TLS certificate loaded");
        Ok(())
    }

    /// Reloads when either file's modification time changed since the last load.
    pub fn reload_if_changed(&self) {
        let Some(files) = &self.files else { return };
        let now = mtimes(&files.cert_file, &files.key_file);
        let changed = files.loaded_mtime.lock().map(|m| *m != now).unwrap_or(false);
        if changed
            && now.is_some()
            && let Err(e) = self.reload()
        {
            // Remember this version so the error is logged once per change, not every 5 s.
            if let Ok(mut m) = files.loaded_mtime.lock() {
                *m = now;
            }
            tracing::error!(error = %e, "changed TLS files not loaded; the old certificate stays in use");
        }
    }

    /// The DER of the certificate currently served (first of the chain); empty when none.
    pub fn current_certificate(&self) -> Vec<u8> {
        self.current.load().as_ref().and_then(|k| k.cert.first()).map(|c| c.as_ref().to_vec()).unwrap_or_default()
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
