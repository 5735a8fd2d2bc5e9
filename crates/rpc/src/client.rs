//! An async client for a BitShares node: WebSocket (with notices and reconnect) and HTTP POST.
//!
//! The WebSocket client keeps one connection alive in a background task: it reconnects with
//! exponential backoff, fails the calls that were in flight when a connection dropped (never
//! re-sends them: a broadcast must not be repeated blindly), and resolves API names to the
//! per-connection ids through the login API. Users that subscribe should watch
//! [`WsClient::state`] and subscribe again after each reconnect.

use crate::wire::{ApiRef, Incoming, Notice, RpcError, parse_incoming};
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Message;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No connection could be made (or none is up right now).
    #[error("cannot connect to {url}: {reason}")]
    Connect {
        /// The node URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The node did not answer in time.
    #[error("{method} timed out after {after:?}")]
    Timeout {
        /// The method called.
        method: String,
        /// The timeout that expired.
        after: Duration,
    },
    /// The connection dropped while the call was in flight; it was not re-sent.
    #[error("connection to {url} lost while {method} was in flight")]
    Disconnected {
        /// The node URL.
        url: String,
        /// The method called.
        method: String,
    },
    /// The node answered with an error.
    #[error("node error: {0}")]
    Rpc(#[from] RpcError),
    /// The node answered something that is not valid JSON-RPC.
    #[error("protocol error: {0}")]
    Protocol(String),
}

/// Client settings. Defaults: 10 s call timeout, 5 s connect timeout, reconnect backoff 100 ms
/// doubling up to 5 s.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `ws://host:port` (WebSocket) or `http://host:port` (HTTP).
    pub url: String,
    /// Per-call timeout.
    pub call_timeout: Duration,
    /// Timeout for opening a connection.
    pub connect_timeout: Duration,
    /// First reconnect delay.
    pub reconnect_min: Duration,
    /// Largest reconnect delay.
    pub reconnect_max: Duration,
    /// Trust for `wss://` nodes; `None` = the system's root certificates.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl ClientConfig {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            call_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(5),
            tls: None,
        }
    }
}

/// Connection state of a [`WsClient`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Not connected (initially, or after a drop while reconnecting).
    Disconnected,
    /// Connected; `generation` increases with every new connection.
    Connected {
        /// 1 for the first connection, +1 per reconnect.
        generation: u64,
    },
}

type Pending = Arc<Mutex<HashMap<u64, (String, oneshot::Sender<Result<Value, RpcError>>)>>>;

struct Connection {
    tx: mpsc::UnboundedSender<Message>,
    pending: Pending,
    generation: u64,
}

struct Inner {
    config: ClientConfig,
    next_id: AtomicU64,
    conn: Mutex<Option<Arc<Connection>>>,
    api_ids: Mutex<(u64, HashMap<String, u64>)>,
    notices: broadcast::Sender<Notice>,
    state: watch::Sender<ConnectionState>,
}

struct Handle {
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A WebSocket connection to a node that reconnects by itself. Cheap to clone; the connection
/// closes when the last clone is dropped.
#[derive(Clone)]
pub struct WsClient {
    handle: Arc<Handle>,
}

impl std::fmt::Debug for WsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsClient").field("url", &self.handle.inner.config.url).finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding these short critical sections cannot leave them inconsistent.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl WsClient {
    /// Starts the connection task without waiting for it to connect.
    pub fn spawn(config: ClientConfig) -> Self {
        let (notices, _) = broadcast::channel(1024);
        let (state, _) = watch::channel(ConnectionState::Disconnected);
        let inner = Arc::new(Inner {
            config,
            next_id: AtomicU64::new(1),
            conn: Mutex::new(None),
            api_ids: Mutex::new((0, HashMap::new())),
            notices,
            state,
        });
        let task = tokio::spawn(run_connection(inner.clone()));
        Self { handle: Arc::new(Handle { inner, task }) }
    }

    /// Connects and waits for the first connection (up to the connect timeout).
    pub async fn connect(config: ClientConfig) -> Result<Self, ClientError> {
        let timeout = config.connect_timeout;
        let url = config.url.clone();
        let client = Self::spawn(config);
        let mut state = client.state();
        let connected =
            tokio::time::timeout(timeout, state.wait_for(|s| matches!(s, ConnectionState::Connected { .. })));
        match connected.await {
            Ok(Ok(_)) => Ok(client),
            _ => Err(ClientError::Connect { url, reason: format!("no connection within {timeout:?}") }),
        }
    }

    /// The node URL.
    pub fn url(&self) -> &str {
        &self.handle.inner.config.url
    }

    /// Watches connection state changes (use it to re-subscribe after a reconnect).
    pub fn state(&self) -> watch::Receiver<ConnectionState> {
        self.handle.inner.state.subscribe()
    }

    /// A stream of the notices the node pushes on this connection.
    pub fn notices(&self) -> broadcast::Receiver<Notice> {
        self.handle.inner.notices.subscribe()
    }

    /// Calls `method` on an API (id or name) with the argument array `args`.
    pub async fn call(&self, api: impl Into<ApiRef>, method: &str, args: Value) -> Result<Value, ClientError> {
        let api = match api.into() {
            ApiRef::Name(name) => ApiRef::Id(self.api_id(&name).await?),
            id => id,
        };
        self.call_raw(&api, method, args).await.map(|(_, v)| v)
    }

    /// The per-connection id of an API set, asked of the login API once per connection.
    pub async fn api_id(&self, name: &str) -> Result<u64, ClientError> {
        if name == "login" {
            return Ok(1);
        }
        let generation = self.generation();
        {
            let ids = lock(&self.handle.inner.api_ids);
            if let Some(id) = ids.1.get(name).filter(|_| ids.0 == generation) {
                return Ok(*id);
            }
        }
        let (gen_used, v) = self.call_raw(&ApiRef::Id(1), name, json!([])).await?;
        let id =
            v.as_u64().ok_or_else(|| ClientError::Protocol(format!("login.{name} returned {v}, not an API id")))?;
        let mut ids = lock(&self.handle.inner.api_ids);
        if ids.0 != gen_used {
            *ids = (gen_used, HashMap::new());
        }
        ids.1.insert(name.to_owned(), id);
        Ok(id)
    }

    fn generation(&self) -> u64 {
        match *self.handle.inner.state.borrow() {
            ConnectionState::Connected { generation } => generation,
            ConnectionState::Disconnected => 0,
        }
    }

    async fn call_raw(&self, api: &ApiRef, method: &str, args: Value) -> Result<(u64, Value), ClientError> {
        let id = self.handle.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let generation = self.generation();
        self.send_call(id, api, method, args).await.map(|v| (generation, v))
    }

    async fn send_call(&self, id: u64, api: &ApiRef, method: &str, args: Value) -> Result<Value, ClientError> {
        let inner = &self.handle.inner;
        let conn = lock(&inner.conn).clone().ok_or_else(|| ClientError::Connect {
            url: inner.config.url.clone(),
            reason: "not connected (reconnecting)".into(),
        })?;
        let (tx, rx) = oneshot::channel();
        lock(&conn.pending).insert(id, (method.to_owned(), tx));
        let frame = json!({"id": id, "method": "call", "params": [api, method, args]}).to_string();
        if conn.tx.send(Message::text(frame)).is_err() {
            lock(&conn.pending).remove(&id);
            return Err(ClientError::Disconnected { url: inner.config.url.clone(), method: method.to_owned() });
        }
        match tokio::time::timeout(inner.config.call_timeout, rx).await {
            Ok(Ok(result)) => result.map_err(ClientError::Rpc),
            Ok(Err(_)) => Err(ClientError::Disconnected { url: inner.config.url.clone(), method: method.to_owned() }),
            Err(_) => {
                lock(&conn.pending).remove(&id);
                Err(ClientError::Timeout { method: method.to_owned(), after: inner.config.call_timeout })
            }
        }
    }
}

/// Read-buffer size for WebSocket connections, in bytes. tungstenite's default (128 KiB) is
/// zero-filled on every socket read, which cost 40 % of the gateway's CPU in a profile of small
/// JSON-RPC messages; larger messages still arrive, over several reads.
pub const READ_BUFFER_BYTES: usize = 8 * 1024;

/// Sends `frames` and flushes once, so frames that queued up while the socket was busy leave
/// in one write (one system call on each side instead of one per frame). Stops at the first
/// failure: the connection is gone then, and so are the frames after it.
pub async fn send_batch<S, M>(sink: &mut S, frames: impl IntoIterator<Item = M>) -> Result<(), S::Error>
where
    S: futures_util::Sink<M> + Unpin,
{
    for frame in frames {
        sink.feed(frame).await?;
    }
    sink.flush().await
}

/// Opens a client WebSocket with the project's buffer settings.
pub async fn connect_websocket(
    url: &str,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    tokio_tungstenite::tungstenite::Error,
> {
    let config =
        tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(READ_BUFFER_BYTES);
    let connector = if url.starts_with("wss://") {
        let tls = match tls {
            Some(t) => t.clone(),
            None => system_tls().map_err(|e| {
                tokio_tungstenite::tungstenite::Error::Io(std::io::Error::other(format!("no TLS roots: {e}")))
            })?,
        };
        Some(tokio_tungstenite::Connector::Rustls(tls))
    } else {
        None
    };
    tokio_tungstenite::connect_async_tls_with_config(url, Some(config), true, connector).await.map(|(ws, _)| ws)
}

fn tls_builder(roots: rustls::RootCertStore) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ))
}

/// TLS client settings trusting only the CA certificates in `ca_file` (PEM), for `wss://` nodes
/// with a private CA.
pub fn tls_with_ca_file(ca_file: &std::path::Path) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let certs = rustls_pki_types::CertificateDer::pem_file_iter(ca_file)
        .map_err(|e| format!("{}: {e}", ca_file.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", ca_file.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no CERTIFICATE in the file", ca_file.display()));
    }
    for c in certs {
        roots.add(c).map_err(|e| format!("{}: {e}", ca_file.display()))?;
    }
    tls_builder(roots)
}

/// TLS client settings trusting the system's root certificates (loaded once).
pub fn system_tls() -> Result<Arc<rustls::ClientConfig>, String> {
    static SYSTEM: std::sync::OnceLock<Result<Arc<rustls::ClientConfig>, String>> = std::sync::OnceLock::new();
    SYSTEM
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            let mut roots = rustls::RootCertStore::empty();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(format!("no system root certificates found ({} errors)", found.errors.len()));
            }
            tls_builder(roots)
        })
        .clone()
}

async fn run_connection(inner: Arc<Inner>) {
    let mut delay = inner.config.reconnect_min;
    let mut generation = 0u64;
    loop {
        let attempt = tokio::time::timeout(
            inner.config.connect_timeout,
            connect_websocket(&inner.config.url, inner.config.tls.as_ref()),
        );
        match attempt.await {
            Ok(Ok(socket)) => {
                generation += 1;
                delay = inner.config.reconnect_min;
                serve_connection(&inner, socket, generation).await;
                tracing::debug!(url = %inner.config.url, "node connection closed; reconnecting");
            }
            Ok(Err(e)) => tracing::debug!(url = %inner.config.url, error = %e, "connect failed"),
            Err(_) => tracing::debug!(url = %inner.config.url, "connect timed out"),
        }
        inner.state.send_replace(ConnectionState::Disconnected);
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(inner.config.reconnect_max);
    }
}

async fn serve_connection<S>(inner: &Arc<Inner>, socket: tokio_tungstenite::WebSocketStream<S>, generation: u64)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let pending: Pending = Arc::new(Mutex::new(HashMap::new()));
    let conn = Arc::new(Connection { tx, pending: pending.clone(), generation });
    *lock(&inner.conn) = Some(conn.clone());
    inner.state.send_replace(ConnectionState::Connected { generation: conn.generation });

    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(msg) => if sink.send(msg).await.is_err() { break },
                None => break,
            },
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(text))) => match parse_incoming(text.as_str()) {
                    Ok(Incoming::Notice(n)) => { let _ = inner.notices.send(n); }
                    Ok(Incoming::Response { id, result }) => {
                        if let Some((_, waiter)) = crate::wire::id_number(&id).and_then(|id| lock(&pending).remove(&id)) {
                            let _ = waiter.send(result);
                        }
                    }
                    Err(e) => tracing::warn!(url = %inner.config.url, error = %e, "ignoring malformed message from node"),
                },
                Some(Ok(Message::Ping(p))) => { let _ = sink.send(Message::Pong(p)).await; }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    *lock(&inner.conn) = None;
    // Dropping the waiters fails every in-flight call with `Disconnected`.
    lock(&pending).clear();
}

/// A stateless HTTP JSON-RPC client: each call is one POST with a string API name, as the node
/// expects over HTTP (no per-connection API ids).
#[derive(Clone)]
pub struct HttpClient {
    config: ClientConfig,
    uri: hyper::Uri,
    client: hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    next_id: Arc<AtomicU64>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient").field("url", &self.config.url).finish()
    }
}

impl HttpClient {
    /// A client for `config.url` (`http://host:port[/path]`).
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let uri: hyper::Uri = config
            .url
            .parse()
            .map_err(|e| ClientError::Connect { url: config.url.clone(), reason: format!("invalid URL: {e}") })?;
        if uri.scheme_str() != Some("http") {
            return Err(ClientError::Connect {
                url: config.url.clone(),
                reason: "only http:// URLs are supported".into(),
            });
        }
        let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
        connector.set_connect_timeout(Some(config.connect_timeout));
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
        Ok(Self { config, uri, client, next_id: Arc::new(AtomicU64::new(1)) })
    }

    /// Calls `api.method(args)`; `api` should be a name (`"database"`).
    pub async fn call(&self, api: impl Into<ApiRef>, method: &str, args: Value) -> Result<Value, ClientError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body =
            json!({"id": id, "jsonrpc": "2.0", "method": "call", "params": [api.into(), method, args]}).to_string();
        let request = hyper::Request::post(self.uri.clone())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| ClientError::Connect { url: self.config.url.clone(), reason: e.to_string() })?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| ClientError::Disconnected {
                    url: format!("{} ({e})", self.config.url),
                    method: method.to_owned(),
                })?
                .to_bytes();
            Ok::<_, ClientError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.config.call_timeout, exchange)
            .await
            .map_err(|_| ClientError::Timeout { method: method.to_owned(), after: self.config.call_timeout })??;
        let text = std::str::from_utf8(&bytes).map_err(|_| ClientError::Protocol("answer is not UTF-8".into()))?;
        match parse_incoming(text) {
            Ok(Incoming::Response { result, .. }) => result.map_err(ClientError::Rpc),
            Ok(Incoming::Notice(_)) => Err(ClientError::Protocol("notice over HTTP".into())),
            Err(e) => Err(ClientError::Protocol(format!("HTTP {status}: {e}"))),
        }
    }
}

impl From<u64> for ApiRef {
    fn from(id: u64) -> Self {
        ApiRef::Id(id)
    }
}

impl From<&str> for ApiRef {
    fn from(name: &str) -> Self {
        ApiRef::Name(name.to_owned())
    }
}
