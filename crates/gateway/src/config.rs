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
    /// The BitShares nodes behind the gateway.
    pub upstreams: Vec<UpstreamConfig>,
    /// Health checking.
    #[serde(default)]
    pub health: HealthConfig,
    /// Client limits.
    #[serde(default)]
    pub limits: LimitsConfig,
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

/// Certificate files for the listener. Both are PEM; they are re-read on reload (SIGHUP,
/// `POST /admin/reload`) and when they change on disk (checked every 5 s).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Certificate chain, leaf first (e.g. Let's Encrypt's `fullchain.pem`).
    pub cert_file: std::path::PathBuf,
    /// The leaf's private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: std::path::PathBuf,
}

/// Monitoring outputs besides `/stats`, `/stats.json`, `/metrics` and `/health`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitoringConfig {
    /// TCP address of the HAProxy agent-check responder (`127.0.0.1:8081`). Default: off.
    /// Not reloadable (restart to change).
    pub agent_check_listen: Option<SocketAddr>,
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
        Ok(())
    }
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
    }

    #[test]
    fn the_example_file_is_valid() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/gateway.example.toml");
        GatewayConfig::load(&path).unwrap();
    }
}
