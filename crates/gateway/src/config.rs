//! Gateway configuration: one TOML file, every key documented with its default, validated at
//! start (and on reload) with the offending key named.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// TOML syntax error or an unknown/mistyped key (the message names it).
    #[error("invalid config {path}: {message}")]
    Parse {
        /// The path.
        path: String,
        /// The parser's message, naming the key and line.
        message: String,
    },
    /// A value is out of range.
    #[error("invalid config: {key}: {reason}")]
    Invalid {
        /// The offending key, dotted (`health.fall`).
        key: String,
        /// What is wrong.
        reason: String,
    },
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.into(), reason: reason.into() }
}

/// The whole gateway configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Address of the client listener (WebSocket and HTTP JSON-RPC on one port). Default `127.0.0.1:8080`.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Expected chain id (hex); upstreams reporting another are never used. Default: the chain
    /// id the first upstream reports at start.
    #[serde(default)]
    pub chain_id: Option<String>,
    /// Name shown on the stats page. Default `bts-infra gateway`.
    #[serde(default = "default_name")]
    pub name: String,
    /// Threads serving client connections, each with its own single-threaded runtime (a
    /// connection stays on one). Default `0`: one per CPU core.
    #[serde(default)]
    pub workers: usize,
    /// Longest window, in microseconds, that a worker keeps polling its sockets after a frame
    /// before it sleeps (adaptive busy polling, `crate::spin`): the window grows while frames
    /// come closer together than this and shrinks when they do not or when another thread
    /// wants the core. Shortens round trips where waking a sleeping CPU is expensive (virtual
    /// machines); costs CPU only while frames keep coming that fast. Default `200`; `0`: off.
    /// At most 100000.
    #[serde(default = "default_busy_poll_us")]
    pub busy_poll_us: u64,
    /// The BitShares nodes behind the gateway.
    pub upstreams: Vec<UpstreamConfig>,
    /// Health checking.
    #[serde(default)]
    pub health: HealthConfig,
    /// Client limits.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// WebSocket session failover.
    #[serde(default)]
    pub sessions: SessionsConfig,
    /// The response cache for answers that cannot change.
    #[serde(default)]
    pub cache: CacheConfig,
    /// How transactions are broadcast.
    #[serde(default)]
    pub broadcasts: BroadcastsConfig,
    /// Admin endpoints (`/admin/...` on the listener).
    #[serde(default)]
    pub admin: AdminConfig,
    /// Outputs for existing monitoring (HAProxy agent-check).
    #[serde(default)]
    pub monitoring: MonitoringConfig,
    /// TLS on the listener (`wss://`, `https://`). Default: plain `ws://`/`http://`.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
}

/// Where the listener's certificate comes from: PEM files (`cert_file` + `key_file`) or ACME
/// (`[tls.acme]`), exactly one of the two. Files are re-read on reload (SIGHUP,
/// `POST /admin/reload`) and when they change on disk (checked every 5 s).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// Certificate chain, leaf first (e.g. Let's Encrypt's `fullchain.pem`).
    pub cert_file: Option<std::path::PathBuf>,
    /// The leaf's private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<std::path::PathBuf>,
    /// A plain-HTTP listener (`0.0.0.0:80`) that answers ACME HTTP-01 challenges and redirects
    /// everything else to `https://` on the main listener. Required with `[tls.acme]`.
    pub http_listen: Option<SocketAddr>,
    /// Automatic certificates from an RFC 8555 CA (Let's Encrypt by default).
    pub acme: Option<AcmeConfig>,
}

impl TlsConfig {
    /// The certificate and key files, when the certificate comes from files.
    pub fn files(&self) -> Option<(&std::path::Path, &std::path::Path)> {
        Some((self.cert_file.as_deref()?, self.key_file.as_deref()?))
    }
}

/// Let's Encrypt's production directory, the default CA.
pub const LETS_ENCRYPT_PRODUCTION: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// Automatic certificates (`[tls.acme]`). By setting this section the operator agrees to the
/// CA's terms of service (the gateway accepts them when it creates the ACME account).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcmeConfig {
    /// DNS names on the certificate; each must resolve to this gateway's `tls.http_listen`.
    pub domains: Vec<String>,
    /// Contact URLs for the CA's expiry and problem mail (`mailto:ops@example.com`). Optional.
    #[serde(default)]
    pub contact: Vec<String>,
    /// The CA's directory URL. Default: Let's Encrypt production. Staging:
    /// `https://acme-staging-v02.api.letsencrypt.org/directory`.
    #[serde(default = "default_acme_directory")]
    pub directory: String,
    /// Where the account key and the certificate are kept (created 0700; keys are 0600).
    pub state_dir: std::path::PathBuf,
    /// PEM root that the CA's own HTTPS endpoint is verified against (for a private or test CA
    /// such as pebble). Default: the system roots.
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
    /// Renew when the certificate has less than this many days left, or a third of its
    /// lifetime, whichever is more. Default 30.
    #[serde(default = "default_renew_before_days")]
    pub renew_before_days: u32,
    /// First retry delay after a failed attempt, doubled per failure. Default 60.
    #[serde(default = "default_retry_min_seconds")]
    pub retry_min_seconds: u64,
    /// Longest delay between retries. Default 21600 (6 h).
    #[serde(default = "default_retry_max_seconds")]
    pub retry_max_seconds: u64,
}

fn default_acme_directory() -> String {
    LETS_ENCRYPT_PRODUCTION.into()
}
fn default_renew_before_days() -> u32 {
    30
}
fn default_retry_min_seconds() -> u64 {
    60
}
fn default_retry_max_seconds() -> u64 {
    6 * 3600
}

/// Monitoring outputs besides `/stats`, `/stats.json`, `/metrics` and `/health`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitoringConfig {
    /// TCP address of the HAProxy agent-check responder (`127.0.0.1:8081`). Default: off.
    /// Not reloadable (restart to change).
    pub agent_check_listen: Option<SocketAddr>,
}

/// The default `busy_poll_us`: as Linux's halt polling (KVM `halt_poll_ns`, guest
/// `guest_halt_poll_ns`), 200 µs bridges a loopback or LAN round trip to a node.
pub const DEFAULT_BUSY_POLL_US: u64 = 200;

fn default_busy_poll_us() -> u64 {
    DEFAULT_BUSY_POLL_US
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_name() -> String {
    "bts-infra gateway".into()
}

/// One upstream node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Unique name used in logs, stats and metrics (e.g. `node1`).
    pub name: String,
    /// `ws://host:port` or `http://host:port` of the node (a node serves both on one port, and
    /// the gateway always talks WebSocket to it), or `wss://`/`https://` behind TLS.
    pub url: String,
    /// Relative share of new sessions and requests, 1–1000. Default 100.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// PEM file of the CA(s) that sign a `wss://` upstream's certificate. Default: the system's
    /// root certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<std::path::PathBuf>,
}

fn default_weight() -> u32 {
    100
}

/// Health-check settings (HAProxy-style rise/fall).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthConfig {
    /// Milliseconds between checks of each upstream (each reads 2.1.0). Default 1000.
    pub interval_ms: u64,
    /// Milliseconds a check may take before it counts as failed. Default 2000.
    pub timeout_ms: u64,
    /// Consecutive good checks before a down upstream is up again. Default 2.
    pub rise: u32,
    /// Consecutive bad checks before an up upstream is down. Default 3.
    pub fall: u32,
    /// Head older than this (seconds) is bad. Default 15.
    pub max_head_age_secs: u64,
    /// Head more than this many blocks behind the best upstream is bad. Default 5.
    pub max_lag_blocks: u32,
    /// Head more than this many blocks behind the best (but within `max_lag_blocks`) shows as
    /// `lagging`: still used, but last in line. Default 2.
    pub lagging_blocks: u32,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            interval_ms: 1000,
            timeout_ms: 2000,
            rise: 2,
            fall: 3,
            max_head_age_secs: 15,
            max_lag_blocks: 5,
            lagging_blocks: 2,
        }
    }
}

impl HealthConfig {
    /// Check interval.
    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms)
    }
    /// Check timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

/// What happens to a client's WebSocket session when its upstream fails (`[sessions]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionsConfig {
    /// Move sessions to another upstream (replaying their subscriptions) instead of closing
    /// them with 1012. Default true.
    pub failover: bool,
    /// How long a moving session may wait for an upstream whose head is at least the head the
    /// client has already seen, before it is closed (1013). Default 5000.
    pub failover_wait_ms: u64,
    /// Objects a session may hold subscriptions to and still be moved; a session beyond this
    /// is closed (1012) instead of moved when its upstream fails. Default 2000.
    pub max_subscribed_objects: usize,
    /// Bytes of journaled subscription calls a session may hold and still be moved. Default 65536.
    pub max_journal_bytes: usize,
    /// Sessions without node-side state (no subscription or callback yet) share one upstream
    /// connection per worker thread instead of opening their own; the first stateful call
    /// gives a session its own. Default true.
    pub share_connections: bool,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        Self {
            failover: true,
            failover_wait_ms: 5000,
            max_subscribed_objects: 2000,
            max_journal_bytes: 65_536,
            share_connections: true,
        }
    }
}

/// Broadcasting (`[broadcasts]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BroadcastsConfig {
    /// Send each transaction to this many healthy upstreams (1 = only the chosen one). The
    /// client gets one answer: the first acceptance, else the node's error (a node that
    /// already has the transaction answers `duplicate transaction`). Default 1.
    pub fanout: usize,
}

impl Default for BroadcastsConfig {
    fn default() -> Self {
        Self { fanout: 1 }
    }
}

/// The response cache (`[cache]`): chain constants and irreversible blocks/transactions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Bytes of answers kept (LRU); 0 turns the cache off. Default 67108864 (64 MiB).
    pub max_bytes: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self { max_bytes: 64 << 20 }
    }
}

/// Client limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest WebSocket message or HTTP body from a client, in bytes. Default 1 MiB.
    pub max_message_bytes: usize,
    /// Open client WebSocket connections in total. Default 10000.
    pub max_connections: usize,
    /// Open client WebSocket connections per IP. Default 50.
    pub max_connections_per_ip: usize,
    /// Sustained requests per second per client IP (WebSocket messages and HTTP requests). Default 50.
    pub requests_per_second_per_ip: u32,
    /// Burst above the sustained rate. Default 100.
    pub burst_per_ip: u32,
    /// A client WebSocket silent for this long is closed, seconds. Default 120 (wallets ping every 25 s).
    pub idle_timeout_secs: u64,
    /// Interval of WebSocket pings to clients, seconds (0 = none). Default 30.
    pub ping_interval_secs: u64,
    /// API sets clients may use. Default: database, login, network_broadcast, history, orders,
    /// custom_operations (so network_node, debug, crypto, … are refused).
    pub allowed_apis: Vec<String>,
    /// Methods refused on any API, e.g. expensive ones. Default none.
    pub denied_methods: Vec<String>,
    /// Milliseconds an HTTP request waits for its upstream answer. Default 10000.
    pub request_timeout_ms: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_message_bytes: 1 << 20,
            max_connections: 10_000,
            max_connections_per_ip: 50,
            requests_per_second_per_ip: 50,
            burst_per_ip: 100,
            idle_timeout_secs: 120,
            ping_interval_secs: 30,
            allowed_apis: ["database", "login", "network_broadcast", "history", "orders", "custom_operations"]
                .map(String::from)
                .to_vec(),
            denied_methods: Vec::new(),
            request_timeout_ms: 10_000,
        }
    }
}

/// Admin endpoints: allowed from loopback peers, or from anywhere with the token.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Bearer token accepted from non-loopback peers (`Authorization: Bearer …`). Default none:
    /// admin only from loopback.
    pub token: Option<String>,
}

impl UpstreamConfig {
    /// The WebSocket URL the gateway connects to (`http://` is the same port as `ws://`).
    pub fn ws_url(&self) -> String {
        if let Some(rest) = self.url.strip_prefix("http://") {
            format!("ws://{rest}")
        } else if let Some(rest) = self.url.strip_prefix("https://") {
            format!("wss://{rest}")
        } else {
            self.url.clone()
        }
    }

    /// TLS client settings for a `wss://` upstream: its `ca_file`, else the system roots;
    /// `None` for plain upstreams.
    pub fn tls(&self) -> Result<Option<std::sync::Arc<rustls::ClientConfig>>, String> {
        if !self.ws_url().starts_with("wss://") {
            return Ok(None);
        }
        match &self.ca_file {
            Some(path) => bts_rpc::client::tls_with_ca_file(path).map(Some),
            None => bts_rpc::client::system_tls().map(Some),
        }
    }
}

impl GatewayConfig {
    /// Reads and validates a TOML file.
    pub fn load(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and validates TOML text (`origin` names it in errors).
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let config: GatewayConfig = toml::from_str(text).map_err(|e| {
            // One line: "line 4: unknown field `healt`, expected one of …".
            let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let message = match line {
                Some(l) => {
                    let source = text.lines().nth(l - 1).unwrap_or("").trim();
                    format!("line {l} `{source}`: {}", e.message().trim())
                }
                None => e.message().trim().to_owned(),
            };
            ConfigError::Parse { path: origin.into(), message: message.replace('\n', " ") }
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Range and consistency checks.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.upstreams.is_empty() {
            return Err(invalid("upstreams", "at least one upstream is required"));
        }
        if self.workers > 1024 {
            return Err(invalid("workers", format!("{} is more than 1024 threads", self.workers)));
        }
        if self.busy_poll_us > 100_000 {
            return Err(invalid("busy_poll_us", format!("{} µs is more than 100000 (0.1 s)", self.busy_poll_us)));
        }
        let mut names = std::collections::HashSet::new();
        for (i, u) in self.upstreams.iter().enumerate() {
            if u.name.is_empty() || !u.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(invalid(
                    format!("upstreams[{i}].name"),
                    format!("\"{}\": use letters, digits, - and _", u.name),
                ));
            }
            if !names.insert(&u.name) {
                return Err(invalid(format!("upstreams[{i}].name"), format!("\"{}\" is used twice", u.name)));
            }
            if !["ws://", "http://", "wss://", "https://"].iter().any(|p| u.url.starts_with(p)) {
                let reason = format!("\"{}\": expected ws://, wss://, http:// or https://host:port", u.url);
                return Err(invalid(format!("upstreams[{i}].url"), reason));
            }
            if u.ca_file.is_some() && !u.ws_url().starts_with("wss://") {
                return Err(invalid(format!("upstreams[{i}].ca_file"), "only for wss:// or https:// upstreams"));
            }
            if let Err(reason) = u.tls() {
                let key = if u.ca_file.is_some() { "ca_file" } else { "url" };
                return Err(invalid(format!("upstreams[{i}].{key}"), reason));
            }
            if !(1..=1000).contains(&u.weight) {
                return Err(invalid(format!("upstreams[{i}].weight"), format!("{} is outside 1..=1000", u.weight)));
            }
        }
        if self.chain_id.as_ref().is_some_and(|id| id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(invalid("chain_id", "expected 64 hex characters"));
        }
        let h = &self.health;
        if h.interval_ms < 50 {
            return Err(invalid("health.interval_ms", "must be at least 50"));
        }
        if h.timeout_ms == 0 {
            return Err(invalid("health.timeout_ms", "must be positive"));
        }
        if h.rise == 0 {
            return Err(invalid("health.rise", "must be at least 1"));
        }
        if h.fall == 0 {
            return Err(invalid("health.fall", "must be at least 1"));
        }
        if h.lagging_blocks > h.max_lag_blocks {
            return Err(invalid("health.lagging_blocks", "must not exceed health.max_lag_blocks"));
        }
        let l = &self.limits;
        if l.max_message_bytes < 1024 {
            return Err(invalid("limits.max_message_bytes", "must be at least 1024"));
        }
        if l.max_connections == 0 || l.max_connections_per_ip == 0 {
            return Err(invalid("limits.max_connections", "must be positive"));
        }
        if l.requests_per_second_per_ip == 0 || l.burst_per_ip == 0 {
            return Err(invalid("limits.requests_per_second_per_ip", "rate and burst must be positive"));
        }
        if l.allowed_apis.is_empty() {
            return Err(invalid("limits.allowed_apis", "allow at least database and login"));
        }
        if self.broadcasts.fanout == 0 {
            return Err(invalid("broadcasts.fanout", "must be at least 1"));
        }
        if let Some(t) = &self.tls {
            validate_tls(t, self.listen)?;
        }
        Ok(())
    }
}

fn validate_tls(t: &TlsConfig, listen: SocketAddr) -> Result<(), ConfigError> {
    match (&t.cert_file, &t.key_file, &t.acme) {
        (Some(_), Some(_), None) => {}
        (None, None, Some(_)) => {}
        (_, _, Some(_)) => return Err(invalid("tls.acme", "use either cert_file/key_file or [tls.acme], not both")),
        (None, Some(_), None) => return Err(invalid("tls.cert_file", "required with tls.key_file")),
        (Some(_), None, None) => return Err(invalid("tls.key_file", "required with tls.cert_file")),
        (None, None, None) => return Err(invalid("tls", "set cert_file and key_file, or a [tls.acme] section")),
    }
    if t.http_listen == Some(listen) {
        return Err(invalid("tls.http_listen", "must differ from listen"));
    }
    let Some(a) = &t.acme else { return Ok(()) };
    if t.http_listen.is_none() {
        return Err(invalid("tls.http_listen", "required with [tls.acme]: the CA checks HTTP-01 challenges there"));
    }
    if a.domains.is_empty() {
        return Err(invalid("tls.acme.domains", "name at least one DNS name"));
    }
    for (i, d) in a.domains.iter().enumerate() {
        let ok = d.len() <= 253
            && d.contains('.')
            && d.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !ok {
            let reason = format!("\"{d}\" is not a DNS name (HTTP-01 cannot validate IPs or wildcards)");
            return Err(invalid(format!("tls.acme.domains[{i}]"), reason));
        }
    }
    if let Some(i) = a.contact.iter().position(|c| !c.starts_with("mailto:")) {
        return Err(invalid(format!("tls.acme.contact[{i}]"), "expected mailto:address"));
    }
    if !a.directory.starts_with("https://") {
        return Err(invalid("tls.acme.directory", "expected an https:// directory URL"));
    }
    if a.retry_min_seconds == 0 || a.retry_max_seconds < a.retry_min_seconds {
        return Err(invalid("tls.acme.retry_min_seconds", "must be positive and at most retry_max_seconds"));
    }
    if a.renew_before_days == 0 {
        return Err(invalid("tls.acme.renew_before_days", "must be at least 1"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "[[upstreams]]\nname = \"node1\"\nurl = \"ws://127.0.0.1:8090\"\n";

    #[test]
    fn defaults_fill_a_minimal_file() {
        let c = GatewayConfig::parse(MINIMAL, "test").unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!((c.health.rise, c.health.fall, c.health.max_head_age_secs, c.health.max_lag_blocks), (2, 3, 15, 5));
        assert_eq!(c.upstreams[0].weight, 100);
        assert_eq!(c.busy_poll_us, 200, "adaptive busy polling is on, up to 200 µs");
        let off = GatewayConfig::parse(&format!("busy_poll_us = 0\n{MINIMAL}"), "test").unwrap();
        assert_eq!(off.busy_poll_us, 0, "0 turns it off");
        assert!(!c.limits.allowed_apis.contains(&"network_node".to_string()));
    }

    #[test]
    fn errors_name_the_key() {
        let e = GatewayConfig::parse(&format!("{MINIMAL}bogus = 1\n"), "gw.toml").unwrap_err().to_string();
        assert!(e.contains("bogus") && e.contains("gw.toml"), "{e}");
        let e = GatewayConfig::parse(&format!("{MINIMAL}[health]\nfall = 0\n"), "t").unwrap_err().to_string();
        assert!(e.contains("health.fall"), "{e}");
        let e = GatewayConfig::parse("[[upstreams]]\nname = \"a\"\nurl = \"tcp://x\"\n", "t").unwrap_err().to_string();
        assert!(e.contains("upstreams[0].url"), "{e}");
        let c = GatewayConfig::parse("[[upstreams]]\nname = \"a\"\nurl = \"https://x:443\"\n", "t").unwrap();
        assert_eq!(c.upstreams[0].ws_url(), "wss://x:443");
        let e = GatewayConfig::parse("[[upstreams]]\nname = \"a\"\nurl = \"ws://x\"\nca_file = \"/ca.pem\"\n", "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("upstreams[0].ca_file") && e.contains("only for wss://"), "{e}");
        let c = GatewayConfig::parse("[[upstreams]]\nname = \"a\"\nurl = \"http://127.0.0.1:8090\"\n", "t").unwrap();
        assert_eq!(c.upstreams[0].ws_url(), "ws://127.0.0.1:8090");
        let e = GatewayConfig::parse(&format!("{MINIMAL}{MINIMAL}"), "t").unwrap_err().to_string();
        assert!(e.contains("used twice"), "{e}");
        let e = GatewayConfig::parse(&format!("{MINIMAL}[health]\nrise = \"x\"\n"), "t").unwrap_err().to_string();
        assert!(e.contains("rise"), "{e}");
        let e = GatewayConfig::parse(&format!("busy_poll_us = 200000\n{MINIMAL}"), "t").unwrap_err().to_string();
        assert!(e.contains("busy_poll_us") && e.contains("100000"), "{e}");
    }

    #[test]
    fn tls_sources_are_exclusive_and_checked() {
        let tls = |body: &str| GatewayConfig::parse(&format!("{MINIMAL}[tls]\n{body}"), "t").map_err(|e| e.to_string());
        assert!(tls("cert_file = \"/c.pem\"\nkey_file = \"/k.pem\"\n").is_ok());
        assert!(tls("cert_file = \"/c.pem\"\n").unwrap_err().contains("tls.key_file"));
        assert!(tls("").unwrap_err().contains("tls:"));
        let acme = "[tls.acme]\ndomains = [\"api.example.com\"]\nstate_dir = \"/var/lib/bts\"\n";
        let e = tls(acme).unwrap_err();
        assert!(e.contains("tls.http_listen") && e.contains("HTTP-01"), "{e}");
        let c =
            GatewayConfig::parse(&format!("{MINIMAL}[tls]\nhttp_listen = \"127.0.0.1:8081\"\n{acme}"), "t").unwrap();
        let a = c.tls.unwrap().acme.unwrap();
        assert_eq!((a.directory.as_str(), a.renew_before_days), (LETS_ENCRYPT_PRODUCTION, 30));
        let e = tls(&format!("http_listen = \"127.0.0.1:8081\"\n{}", acme.replace("api.example.com", "*.x.com")))
            .unwrap_err();
        assert!(e.contains("tls.acme.domains[0]"), "{e}");
        let e =
            tls(&format!("cert_file = \"/c\"\nkey_file = \"/k\"\nhttp_listen = \"127.0.0.1:81\"\n{acme}")).unwrap_err();
        assert!(e.contains("not both"), "{e}");
        let e = tls(&format!("http_listen = \"127.0.0.1:81\"\n{acme}contact = [\"ops@x\"]\n")).unwrap_err();
        assert!(e.contains("tls.acme.contact[0]"), "{e}");
    }

    #[test]
    fn the_example_file_is_valid() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/gateway.example.toml");
        GatewayConfig::load(&path).unwrap();
    }
}
