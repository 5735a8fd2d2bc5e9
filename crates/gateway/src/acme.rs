//! Automatic certificates from an RFC 8555 CA (Let's Encrypt, or any ACME server such as
//! pebble) with HTTP-01 challenges, replacing the certbot cron job of the 2018 setup.
//!
//! The account key and the current certificate live in `state_dir`, so a restart serves the
//! certificate it already has instead of ordering a new one. One task ([`Acme::run`]) sleeps
//! until the certificate is due for renewal (with a per-certificate jitter), orders a new one,
//! and installs it in the [`CertStore`]: new handshakes get it, open connections keep theirs.
//! A failed attempt keeps the old certificate and retries with exponential backoff.
//! Challenges are answered by the plain-HTTP listener ([`http_router`]).

use crate::config::AcmeConfig;
use crate::tls::{CertStore, certified_key_from_pem, leaf_info};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, BodyWrapper, BytesResponse, ChallengeType, HttpClient,
    Identifier, NewAccount, NewOrder, OrderStatus, RetryPolicy,
};
use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why an ACME attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    /// The CA answered with a problem document, or the conversation failed.
    #[error("ACME: {0}")]
    Protocol(#[from] instant_acme::Error),
    /// The order did not become ready (the CA could not validate a challenge).
    #[error("ACME order not ready: {0}")]
    Order(String),
    /// The state directory could not be read or written.
    #[error("{path}: {source}")]
    State {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The certificate the CA returned is unusable.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// `tls.acme.ca_file` is unusable.
    #[error("tls.acme.ca_file: {0}")]
    CaFile(String),
}

/// What `/stats.json` and the stats page show about ACME.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AcmeStatus {
    /// The CA's directory URL.
    pub directory: String,
    /// Names on the certificate.
    pub domains: Vec<String>,
    /// An order is in progress.
    pub renewing: bool,
    /// When the last attempt ended (Unix seconds).
    pub last_attempt: Option<i64>,
    /// When the last certificate was obtained (Unix seconds).
    pub last_success: Option<i64>,
    /// Why the last attempt failed, while it is the latest outcome.
    pub last_error: Option<String>,
    /// Failed attempts since the last success.
    pub consecutive_failures: u32,
    /// When the next attempt is due (Unix seconds).
    pub next_attempt: Option<i64>,
}

/// The ACME client of one gateway.
pub struct Acme {
    config: AcmeConfig,
    store: Arc<CertStore>,
    http: AcmeHttp,
    account: tokio::sync::Mutex<Option<Account>>,
    /// HTTP-01 token → key authorization, while an order is open.
    challenges: Mutex<HashMap<String, String>>,
    status: Mutex<AcmeStatus>,
    wake: tokio::sync::Notify,
}

const ACCOUNT_FILE: &str = "account.json";
const CERT_FILE: &str = "cert.pem";
const KEY_FILE: &str = "key.pem";
const DOMAINS_FILE: &str = "domains";
/// How long one order may take before it counts as failed.
const ORDER_TIMEOUT: Duration = Duration::from_secs(300);

fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn state_err(path: &Path) -> impl FnOnce(std::io::Error) -> AcmeError + '_ {
    move |source| AcmeError::State { path: path.to_owned(), source }
}

/// Writes `contents` next to `path` and renames it into place, so a crash never leaves half a
/// certificate; `secret` files are created 0600.
fn write_atomic(path: &Path, contents: &[u8], secret: bool) -> Result<(), AcmeError> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp).map_err(state_err(&tmp))?;
    f.write_all(contents).and_then(|()| f.sync_all()).map_err(state_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(state_err(path))
}

impl Acme {
    /// Prepares the state directory and installs the certificate kept there, if it still
    /// covers the configured names. Nothing is ordered until [`Acme::run`].
    pub fn new(config: AcmeConfig, store: Arc<CertStore>) -> Result<Arc<Self>, AcmeError> {
        let dir = &config.state_dir;
        std::fs::create_dir_all(dir).map_err(state_err(dir))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(state_err(dir))?;
        }
        let tls = match &config.ca_file {
            Some(path) => bts_rpc::client::tls_with_ca_file(path),
            None => bts_rpc::client::system_tls(),
        }
        .map_err(AcmeError::CaFile)?;
        let acme = Arc::new(Self {
            status: Mutex::new(AcmeStatus {
                directory: config.directory.clone(),
                domains: config.domains.clone(),
                ..AcmeStatus::default()
            }),
            http: AcmeHttp { tls },
            account: tokio::sync::Mutex::new(None),
            challenges: Mutex::new(HashMap::new()),
            wake: tokio::sync::Notify::new(),
            store,
            config,
        });
        acme.load_saved();
        Ok(acme)
    }

    fn load_saved(&self) {
        let dir = &self.config.state_dir;
        let saved_domains = std::fs::read_to_string(dir.join(DOMAINS_FILE)).unwrap_or_default();
        if saved_domains.lines().collect::<Vec<_>>()
            != self.config.domains.iter().map(String::as_str).collect::<Vec<_>>()
        {
            if dir.join(CERT_FILE).exists() {
                tracing::info!("the saved ACME certificate is for other names; a new one will be ordered");
            }
            return;
        }
        let (Ok(chain), Ok(key)) =
            (std::fs::read_to_string(dir.join(CERT_FILE)), std::fs::read_to_string(dir.join(KEY_FILE)))
        else {
            return;
        };
        match certified_key_from_pem(&chain, &key) {
            Ok(key) => {
                self.store.install(key);
                tracing::info!(not_after = self.store.info().not_after, "saved ACME certificate loaded");
            }
            Err(e) => tracing::warn!(error = %e, "saved ACME certificate unusable; a new one will be ordered"),
        }
    }

    /// The key authorization for an HTTP-01 token of an open order.
    pub fn challenge_response(&self, token: &str) -> Option<String> {
        self.challenges.lock().ok()?.get(token).cloned()
    }

    /// Current status for the stats page.
    pub fn status(&self) -> AcmeStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Orders a new certificate now (admin `POST /admin/acme/renew`), whatever the expiry.
    pub fn renew_now(&self) {
        self.wake.notify_one();
    }

    /// When the served certificate should be renewed: `renew_before_days` or a third of its
    /// lifetime before notAfter (whichever is earlier), minus a jitter of up to an hour taken
    /// from the serial so that gateways sharing a CA do not renew in the same second.
    fn renewal_due(&self) -> SystemTime {
        let Some(leaf) = leaf_info(&self.store.current_certificate()) else {
            return SystemTime::now();
        };
        let lifetime = (leaf.not_after - leaf.not_before).max(0) as u64;
        let window = (u64::from(self.config.renew_before_days) * 86_400).max(lifetime / 3);
        let jitter_cap = (window / 10).clamp(1, 3600);
        let seed = u64::from_str_radix(leaf.serial.get(leaf.serial.len().saturating_sub(12)..).unwrap_or("0"), 16);
        let jitter = seed.unwrap_or(0) % jitter_cap;
        let due = (leaf.not_after.max(0) as u64).saturating_sub(window + jitter);
        UNIX_EPOCH + Duration::from_secs(due)
    }

    fn backoff(&self, failures: u32) -> Duration {
        let min = self.config.retry_min_seconds;
        let base = min.saturating_mul(1u64 << failures.saturating_sub(1).min(20)).min(self.config.retry_max_seconds);
        // Up to 10 % more, so that many gateways do not retry in lockstep.
        let extra = getrandom::u64().unwrap_or(0) % (base / 10 + 1);
        Duration::from_secs(base + extra)
    }

    fn set_status(&self, f: impl FnOnce(&mut AcmeStatus)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
        }
    }

    /// Keeps a valid certificate installed: orders one at start when none is saved, renews
    /// ahead of expiry, retries failures with backoff. Runs until the task is aborted.
    pub async fn run(self: Arc<Self>) {
        let mut retry_at: Option<SystemTime> = None;
        loop {
            let due = retry_at.unwrap_or_else(|| self.renewal_due());
            self.set_status(|s| s.next_attempt = Some(unix(due)));
            crate::metrics::acme_next_attempt(unix(due));
            let wait = due.duration_since(SystemTime::now()).unwrap_or_default();
            if !wait.is_zero() {
                tracing::debug!(in_seconds = wait.as_secs(), "next ACME attempt scheduled");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = self.wake.notified() => tracing::info!("ACME renewal requested"),
                }
            }
            self.set_status(|s| s.renewing = true);
            let result = match tokio::time::timeout(ORDER_TIMEOUT, self.order()).await {
                Ok(r) => r,
                Err(_) => {
                    // The order was dropped mid-way; its challenges are void.
                    if let Ok(mut c) = self.challenges.lock() {
                        c.clear();
                    }
                    Err(AcmeError::Order(format!("no certificate within {} s", ORDER_TIMEOUT.as_secs())))
                }
            };
            let now = SystemTime::now();
            match result {
                Ok(()) => {
                    retry_at = None;
                    crate::metrics::acme_attempt("ok");
                    let info = self.store.info();
                    tracing::info!(domains = ?self.config.domains, not_after = info.not_after, serial = %info.serial,
                        "ACME certificate obtained and installed");
                    self.set_status(|s| {
                        s.renewing = false;
                        s.last_attempt = Some(unix(now));
                        s.last_success = Some(unix(now));
                        s.last_error = None;
                        s.consecutive_failures = 0;
                    });
                }
                Err(e) => {
                    crate::metrics::acme_attempt("error");
                    let failures = self.status().consecutive_failures + 1;
                    let delay = self.backoff(failures);
                    retry_at = Some(now + delay);
                    let serving = if self.store.current_certificate().is_empty() { "none yet" } else { "the old one" };
                    tracing::error!(error = %e, failures, retry_in_seconds = delay.as_secs(),
                        "ACME order failed; serving {serving}");
                    self.set_status(|s| {
                        s.renewing = false;
                        s.last_attempt = Some(unix(now));
                        s.last_error = Some(e.to_string());
                        s.consecutive_failures = failures;
                    });
                }
            }
        }
    }

    async fn account(&self) -> Result<Account, AcmeError> {
        let mut cached = self.account.lock().await;
        if let Some(a) = cached.as_ref() {
            return Ok(a.clone());
        }
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Saved {
            directory: String,
            credentials: AccountCredentials,
        }
        let path = self.config.state_dir.join(ACCOUNT_FILE);
        let saved: Option<Saved> =
            std::fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok()).filter(|s: &Saved| {
                // An account belongs to one CA; another directory means a new account.
                s.directory == self.config.directory
            });
        let builder = Account::builder_with_http(Box::new(self.http.clone()));
        let account = match saved {
            Some(s) => builder.from_credentials(s.credentials).await?,
            None => {
                let contact: Vec<&str> = self.config.contact.iter().map(String::as_str).collect();
                let new = NewAccount { contact: &contact, terms_of_service_agreed: true, only_return_existing: false };
                let (account, credentials) = builder.create(&new, self.config.directory.clone(), None).await?;
                let saved = Saved { directory: self.config.directory.clone(), credentials };
                let json = serde_json::to_vec_pretty(&saved).map_err(instant_acme::Error::Json)?;
                write_atomic(&path, &json, true)?;
                tracing::info!(id = account.id(), directory = %self.config.directory, "ACME account created");
                account
            }
        };
        *cached = Some(account.clone());
        Ok(account)
    }

    /// One order: HTTP-01 for every name, finalize with a fresh key, install the chain.
    async fn order(&self) -> Result<(), AcmeError> {
        let account = self.account().await?;
        let ids: Vec<Identifier> = self.config.domains.iter().cloned().map(Identifier::Dns).collect();
        let mut order = account.new_order(&NewOrder::new(&ids)).await?;
        let mut tokens = Vec::new();
        let outcome = async {
            let mut authorizations = order.authorizations();
            while let Some(authz) = authorizations.next().await {
                let mut authz = authz?;
                match authz.status {
                    AuthorizationStatus::Pending => {}
                    AuthorizationStatus::Valid => continue,
                    other => return Err(AcmeError::Order(format!("authorization is {other:?}"))),
                }
                let mut challenge = authz
                    .challenge(ChallengeType::Http01)
                    .ok_or_else(|| AcmeError::Order("the CA offers no http-01 challenge".into()))?;
                let answer = challenge.key_authorization().as_str().to_owned();
                if let Ok(mut c) = self.challenges.lock() {
                    c.insert(challenge.token.clone(), answer);
                }
                tokens.push(challenge.token.clone());
                challenge.set_ready().await?;
            }
            let policy = RetryPolicy::new().timeout(Duration::from_secs(120));
            let status = order.poll_ready(&policy).await?;
            if status != OrderStatus::Ready {
                return Err(AcmeError::Order(describe_failure(&mut order).await));
            }
            let key_pem = order.finalize().await?;
            let chain_pem = order.poll_certificate(&policy).await?;
            Ok((chain_pem, key_pem))
        }
        .await;
        if let Ok(mut c) = self.challenges.lock() {
            for t in &tokens {
                c.remove(t);
            }
        }
        let (chain_pem, key_pem) = outcome?;
        let key = certified_key_from_pem(&chain_pem, &key_pem)?;
        let dir = &self.config.state_dir;
        write_atomic(&dir.join(KEY_FILE), key_pem.as_bytes(), true)?;
        write_atomic(&dir.join(CERT_FILE), chain_pem.as_bytes(), false)?;
        write_atomic(&dir.join(DOMAINS_FILE), self.config.domains.join("\n").as_bytes(), false)?;
        self.store.install(key);
        Ok(())
    }
}

/// The CA's reasons for an invalid order, from its challenges.
async fn describe_failure(order: &mut instant_acme::Order) -> String {
    let mut reasons = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(Ok(mut authz)) = authorizations.next().await {
        let Ok(state) = authz.refresh().await else { continue };
        for c in &state.challenges {
            if let Some(p) = &c.error {
                reasons.push(p.detail.clone().unwrap_or_else(|| format!("{:?}", p.r#type)));
            }
        }
    }
    if reasons.is_empty() { "order invalid".into() } else { format!("order invalid: {}", reasons.join("; ")) }
}

/// instant-acme's HTTP client: one HTTP/1.1 connection per request over rustls (the gateway's
/// aws-lc-rs provider), verified against the system roots or `tls.acme.ca_file`.
#[derive(Clone)]
struct AcmeHttp {
    tls: Arc<rustls::ClientConfig>,
}

/// Connect and whole-request limits for the CA's endpoint.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl AcmeHttp {
    async fn send(
        tls: Arc<rustls::ClientConfig>,
        mut req: hyper::Request<BodyWrapper<hyper::body::Bytes>>,
    ) -> Result<BytesResponse, BoxError> {
        let uri = req.uri().clone();
        if uri.scheme_str() != Some("https") {
            return Err(format!("{uri}: the ACME directory must be https").into());
        }
        let host = uri.host().ok_or_else(|| format!("{uri}: no host"))?.trim_matches(['[', ']']).to_owned();
        let port = uri.port_u16().unwrap_or(443);
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect((host.as_str(), port)))
            .await
            .map_err(|_| format!("connect to {host}:{port} timed out"))??;
        let name = rustls_pki_types::ServerName::try_from(host.clone())?;
        let stream = tokio_rustls::TlsConnector::from(tls).connect(name, tcp).await?;
        // Origin-form request target, as HTTP/1.1 clients send it.
        let origin = uri.path_and_query().map_or("/", |p| p.as_str());
        *req.uri_mut() = origin.parse()?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let response = sender.send_request(req).await?;
        // Read the body here, so the whole exchange is under the timeout.
        let (parts, body) = response.into_parts();
        let body = http_body_util::BodyExt::collect(body).await?.to_bytes();
        Ok(BytesResponse::from(hyper::Response::from_parts(parts, http_body_util::Full::new(body))))
    }
}

impl HttpClient for AcmeHttp {
    fn request(
        &self,
        mut req: hyper::Request<BodyWrapper<hyper::body::Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let tls = self.tls.clone();
        if let Some(host) = req.uri().authority().map(|a| a.as_str().to_owned())
            && let Ok(value) = header::HeaderValue::from_str(&host)
        {
            req.headers_mut().insert(header::HOST, value);
        }
        Box::pin(async move {
            match tokio::time::timeout(REQUEST_TIMEOUT, Self::send(tls, req)).await {
                Ok(r) => r.map_err(instant_acme::Error::Other),
                Err(_) => Err(instant_acme::Error::Other("ACME request timed out".into())),
            }
        })
    }
}

/// State of the plain-HTTP listener.
#[derive(Clone)]
struct HttpState {
    acme: Option<Arc<Acme>>,
    https_port: u16,
}

/// The plain-HTTP listener: ACME HTTP-01 answers, and a permanent redirect to `https://` on
/// the main listener for everything else.
pub fn http_router(acme: Option<Arc<Acme>>, https_port: u16) -> axum::Router {
    axum::Router::new()
        .route("/.well-known/acme-challenge/{token}", axum::routing::get(challenge))
        .fallback(redirect)
        .with_state(HttpState { acme, https_port })
}

async fn challenge(State(state): State<HttpState>, UrlPath(token): UrlPath<String>) -> Response {
    match state.acme.as_ref().and_then(|a| a.challenge_response(&token)) {
        Some(answer) => {
            tracing::info!(%token, "answered an ACME HTTP-01 challenge");
            ([(header::CONTENT_TYPE, "application/octet-stream")], answer).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such ACME challenge\n").into_response(),
    }
}

async fn redirect(State(state): State<HttpState>, headers: HeaderMap, uri: Uri) -> Response {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return (StatusCode::BAD_REQUEST, "a Host header is required\n").into_response();
    };
    // Drop the plain port; add the TLS listener's unless it is the default.
    let name = match host.rfind(':') {
        Some(i) if !host[i..].contains(']') => &host[..i],
        _ => host,
    };
    let port = if state.https_port == 443 { String::new() } else { format!(":{}", state.https_port) };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let location = format!("https://{name}{port}{path}");
    match header::HeaderValue::from_str(&location) {
        Ok(v) => (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, v)]).into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "bad Host header\n").into_response(),
    }
}
