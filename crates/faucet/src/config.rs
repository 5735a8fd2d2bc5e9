//! Faucet configuration: one TOML file, every key documented with its default, validated at start
//! with the offending key named. Amounts are in satoshis of the core asset (1 BTS = 100000).

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

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
        /// The offending key, dotted (`limits.ip_cooldown_seconds`).
        key: String,
        /// What is wrong.
        reason: String,
    },
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.into(), reason: reason.into() }
}

/// The whole faucet configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaucetConfig {
    /// HTTP listener for the registration API, stats, metrics and health. Default `127.0.0.1:8070`.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The node (or gateway) to talk to: `ws://`, `wss://` or `http://` (turned into `ws://`).
    /// Default `ws://127.0.0.1:8080` (the gateway of `bts-infra up`).
    #[serde(default = "default_node")]
    pub node: String,
    /// Expected chain id (hex); the faucet refuses to start against another chain. Default: none.
    #[serde(default)]
    pub chain_id: Option<String>,
    /// Where registrations are kept: `sqlite://path/to/faucet.db` (created if missing) or
    /// `postgres://user:pass@host/db`. Default `sqlite://faucet.db`.
    #[serde(default = "default_store")]
    pub store: String,
    /// The paying account.
    pub registrar: RegistrarConfig,
    /// Referrer handling.
    #[serde(default)]
    pub referral: ReferralConfig,
    /// Name policy.
    #[serde(default)]
    pub policy: PolicyConfig,
    /// Abuse limits.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Registrar balance and cashback claiming.
    #[serde(default)]
    pub funds: FundsConfig,
    /// Transaction and background-job timing.
    #[serde(default)]
    pub timing: TimingConfig,
    /// Admin access (`/admin/*`): loopback peers, or a bearer token.
    #[serde(default)]
    pub admin: AdminConfig,
}

/// The registrar: a lifetime member that pays for every registration.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrarConfig {
    /// Account name of the registrar (must be a lifetime member). Required.
    pub name: String,
    /// File holding the registrar's active-key WIF (one line). The faucet refuses to start when
    /// the file is readable by group or others (`chmod 600`).
    #[serde(default)]
    pub wif_file: Option<PathBuf>,
    /// Name of an environment variable holding the WIF, used when `wif_file` is not set.
    /// Default `BTS_FAUCET_WIF`.
    #[serde(default = "default_wif_env")]
    pub wif_env: String,
}

// Never print key material; only where it comes from.
impl std::fmt::Debug for RegistrarConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrarConfig")
            .field("name", &self.name)
            .field("wif_file", &self.wif_file)
            .field("wif_env", &self.wif_env)
            .finish()
    }
}

/// What the path segment in `POST /{segment}/api/v1/accounts` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentMode {
    /// Any single segment is accepted and ignored (the wallet's default `/onboarding` prefix).
    Ignore,
    /// The segment names a referrer when the body names none; segments that are not accounts are
    /// ignored like in `ignore` mode.
    Referrer,
}

/// Referrer handling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferralConfig {
    /// Referrer used when the request names none, or names one that is not a member.
    /// Default: the registrar.
    #[serde(default)]
    pub default_referrer: Option<String>,
    /// Share of the new account's future fee rewards that goes to the referrer, in basis points
    /// of 10000 (5000 = 50 %). Default 5000.
    #[serde(default = "default_referrer_percent")]
    pub referrer_percent: u16,
    /// Meaning of the URL path segment. Default `referrer`.
    #[serde(default = "default_segment_mode")]
    pub segment: SegmentMode,
}

impl Default for ReferralConfig {
    fn default() -> Self {
        Self { default_referrer: None, referrer_percent: default_referrer_percent(), segment: default_segment_mode() }
    }
}

/// Name policy on top of the chain's rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Register premium names (no digit, no `-`, but a vowel; the wallet's rule), paying the
    /// premium fee. Default false.
    #[serde(default)]
    pub allow_premium: bool,
    /// Names containing any of these substrings are refused ("bitshares", "binance", …).
    /// Default: empty.
    #[serde(default)]
    pub deny_name_substrings: Vec<String>,
}

/// Abuse limits. Per-IP figures count registrations in the store, so they survive restarts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Seconds an IP must wait after a registration before the next one. 0 disables. Default 300.
    #[serde(default = "default_ip_cooldown")]
    pub ip_cooldown_seconds: u64,
    /// Registrations per IP per 24 hours. 0 disables. Default 10.
    #[serde(default = "default_ip_daily_cap")]
    pub ip_daily_cap: u32,
    /// Registrations per minute over all clients. 0 disables. Default 60.
    #[serde(default = "default_global_per_minute")]
    pub global_per_minute: u32,
    /// Client addresses or networks (`203.0.113.7`, `10.0.0.0/8`) that may not register.
    #[serde(default)]
    pub deny_ips: Vec<String>,
    /// Peers whose `X-Forwarded-For`, `X-Real-IP` and `CF-Connecting-IP` headers are believed.
    /// Default: none (the socket peer is the client).
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Addresses exempt from the per-IP limits (not from the deny-list). Default: none.
    #[serde(default)]
    pub exempt_ips: Vec<String>,
    /// Largest accepted request body, bytes. Default 8192.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            ip_cooldown_seconds: default_ip_cooldown(),
            ip_daily_cap: default_ip_daily_cap(),
            global_per_minute: default_global_per_minute(),
            deny_ips: Vec::new(),
            trusted_proxies: Vec::new(),
            exempt_ips: Vec::new(),
            max_body_bytes: default_max_body(),
        }
    }
}

/// Registrar balance and cashback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FundsConfig {
    /// Below this balance (satoshis) the faucet warns in logs and metrics and `/health` says
    /// degraded. Default 100000000 (1000 BTS).
    #[serde(default = "default_low_balance")]
    pub low_balance: i64,
    /// Claim vested cashback once the withdrawable amount reaches this (satoshis).
    /// 0 disables claiming. Default 10000000 (100 BTS).
    #[serde(default = "default_claim_threshold")]
    pub claim_threshold: i64,
    /// Seconds between balance/cashback checks. Default 300.
    #[serde(default = "default_funds_interval")]
    pub check_interval_seconds: u64,
}

impl Default for FundsConfig {
    fn default() -> Self {
        Self {
            low_balance: default_low_balance(),
            claim_threshold: default_claim_threshold(),
            check_interval_seconds: default_funds_interval(),
        }
    }
}

/// Transaction and background-job timing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimingConfig {
    /// Transaction expiration, seconds after the head block time. Default 120.
    #[serde(default = "default_expiration")]
    pub expiration_seconds: u32,
    /// How long a request waits for the node to include the transaction, seconds. Default 30.
    #[serde(default = "default_broadcast_timeout")]
    pub broadcast_timeout_seconds: u64,
    /// Seconds between passes that finish in-flight registrations and mark included ones
    /// irreversible. Default 3.
    #[serde(default = "default_recovery_interval")]
    pub recovery_interval_seconds: u64,
    /// Seconds between scans for lifetime upgrades among registered accounts. Default 600.
    #[serde(default = "default_upgrade_interval")]
    pub upgrade_scan_interval_seconds: u64,
}

impl Default for TimingConfig {
    fn default() -> Self {
        Self {
            expiration_seconds: default_expiration(),
            broadcast_timeout_seconds: default_broadcast_timeout(),
            recovery_interval_seconds: default_recovery_interval(),
            upgrade_scan_interval_seconds: default_upgrade_interval(),
        }
    }
}

/// Admin access.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Bearer token that allows admin calls from any peer. Default: none (loopback peers only).
    #[serde(default)]
    pub token: Option<String>,
}

impl std::fmt::Debug for AdminConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminConfig").field("token", &self.token.as_ref().map(|_| "<redacted>")).finish()
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8070))
}
fn default_node() -> String {
    "ws://127.0.0.1:8080".into()
}
fn default_store() -> String {
    "sqlite://faucet.db".into()
}
fn default_wif_env() -> String {
    "BTS_FAUCET_WIF".into()
}
fn default_referrer_percent() -> u16 {
    5000
}
fn default_segment_mode() -> SegmentMode {
    SegmentMode::Referrer
}
fn default_ip_cooldown() -> u64 {
    300
}
fn default_ip_daily_cap() -> u32 {
    10
}
fn default_global_per_minute() -> u32 {
    60
}
fn default_max_body() -> usize {
    8192
}
fn default_low_balance() -> i64 {
    1000 * 100_000
}
fn default_claim_threshold() -> i64 {
    100 * 100_000
}
fn default_funds_interval() -> u64 {
    300
}
fn default_expiration() -> u32 {
    120
}
fn default_broadcast_timeout() -> u64 {
    30
}
fn default_recovery_interval() -> u64 {
    3
}
fn default_upgrade_interval() -> u64 {
    600
}

/// Parsed IP lists, ready for lookups.
#[derive(Debug, Clone, Default)]
pub struct IpLists {
    /// `limits.deny_ips`.
    pub deny: Vec<IpNet>,
    /// `limits.trusted_proxies`.
    pub trusted_proxies: Vec<IpNet>,
    /// `limits.exempt_ips`.
    pub exempt: Vec<IpNet>,
}

fn parse_nets(key: &str, items: &[String]) -> Result<Vec<IpNet>, ConfigError> {
    items
        .iter()
        .enumerate()
        .map(|(i, s)| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| invalid(format!("{key}[{i}]"), format!("{s:?} is not an IP address or CIDR network")))
        })
        .collect()
}

impl FaucetConfig {
    /// A configuration with defaults for everything but the registrar name.
    pub fn new(registrar: impl Into<String>) -> Self {
        Self {
            listen: default_listen(),
            node: default_node(),
            chain_id: None,
            store: default_store(),
            registrar: RegistrarConfig { name: registrar.into(), wif_file: None, wif_env: default_wif_env() },
            referral: ReferralConfig::default(),
            policy: PolicyConfig::default(),
            limits: LimitsConfig::default(),
            funds: FundsConfig::default(),
            timing: TimingConfig::default(),
            admin: AdminConfig::default(),
        }
    }

    /// Reads and validates a TOML file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and validates TOML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { path: origin.into(), message: e.to_string().replace('\n', " ") })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every value; the error names the offending key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.node.starts_with("ws://")
            || self.node.starts_with("wss://")
            || self.node.starts_with("http://")
            || self.node.starts_with("https://"))
        {
            return Err(invalid("node", format!("{:?} must start with ws://, wss://, http:// or https://", self.node)));
        }
        if let Some(id) = &self.chain_id
            && (id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(invalid("chain_id", "must be 64 hex digits"));
        }
        if !(self.store.starts_with("sqlite:")
            || self.store.starts_with("postgres://")
            || self.store.starts_with("postgresql://"))
        {
            return Err(invalid("store", "must be sqlite://<path> or postgres://<user>@<host>/<db>"));
        }
        if let Some(reason) = bts_protocol::names::chain_name_error(&self.registrar.name) {
            return Err(invalid("registrar.name", format!("{:?} {reason}", self.registrar.name)));
        }
        if self.registrar.wif_env.is_empty() {
            return Err(invalid("registrar.wif_env", "must not be empty"));
        }
        if let Some(r) = &self.referral.default_referrer
            && let Some(reason) = bts_protocol::names::chain_name_error(r)
        {
            return Err(invalid("referral.default_referrer", format!("{r:?} {reason}")));
        }
        if self.referral.referrer_percent > 10000 {
            return Err(invalid("referral.referrer_percent", "is in basis points and must be at most 10000"));
        }
        for (i, s) in self.policy.deny_name_substrings.iter().enumerate() {
            if s.is_empty() {
                return Err(invalid(format!("policy.deny_name_substrings[{i}]"), "must not be empty"));
            }
        }
        self.ip_lists()?;
        if self.limits.max_body_bytes < 256 {
            return Err(invalid("limits.max_body_bytes", "must be at least 256"));
        }
        if self.funds.low_balance < 0 {
            return Err(invalid("funds.low_balance", "must not be negative"));
        }
        if self.funds.claim_threshold < 0 {
            return Err(invalid("funds.claim_threshold", "must not be negative"));
        }
        if self.funds.check_interval_seconds == 0 {
            return Err(invalid("funds.check_interval_seconds", "must be at least 1"));
        }
        if !(10..=86400).contains(&self.timing.expiration_seconds) {
            return Err(invalid("timing.expiration_seconds", "must be between 10 and 86400"));
        }
        if self.timing.broadcast_timeout_seconds == 0 {
            return Err(invalid("timing.broadcast_timeout_seconds", "must be at least 1"));
        }
        if self.timing.recovery_interval_seconds == 0 {
            return Err(invalid("timing.recovery_interval_seconds", "must be at least 1"));
        }
        if self.timing.upgrade_scan_interval_seconds == 0 {
            return Err(invalid("timing.upgrade_scan_interval_seconds", "must be at least 1"));
        }
        if self.admin.token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(invalid("admin.token", "must be at least 16 characters"));
        }
        Ok(())
    }

    /// The parsed deny/trust/exempt lists.
    pub fn ip_lists(&self) -> Result<IpLists, ConfigError> {
        Ok(IpLists {
            deny: parse_nets("limits.deny_ips", &self.limits.deny_ips)?,
            trusted_proxies: parse_nets("limits.trusted_proxies", &self.limits.trusted_proxies)?,
            exempt: parse_nets("limits.exempt_ips", &self.limits.exempt_ips)?,
        })
    }

    /// The node URL as a WebSocket URL (`http://` → `ws://`).
    pub fn node_ws_url(&self) -> String {
        if let Some(rest) = self.node.strip_prefix("http://") {
            format!("ws://{rest}")
        } else if let Some(rest) = self.node.strip_prefix("https://") {
            format!("wss://{rest}")
        } else {
            self.node.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_file_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/faucet.example.toml");
        let c = FaucetConfig::load(&path).unwrap();
        assert_eq!(c.registrar.name, "faucet");
    }

    #[test]
    fn unknown_key_is_named() {
        let e = FaucetConfig::parse("[registrar]\nname = \"faucet\"\n[limits]\nip_cooldown = 5\n", "t").unwrap_err();
        assert!(e.to_string().contains("ip_cooldown"), "{e}");
    }

    #[test]
    fn bad_values_name_their_key() {
        for (text, key) in [
            ("[registrar]\nname = \"Bad\"\n", "registrar.name"),
            ("[registrar]\nname = \"faucet\"\n[referral]\nreferrer_percent = 10001\n", "referral.referrer_percent"),
            ("[registrar]\nname = \"faucet\"\n[limits]\ndeny_ips = [\"1.2.3\"]\n", "limits.deny_ips[0]"),
            ("store = \"mysql://x\"\n[registrar]\nname = \"faucet\"\n", "store"),
            ("node = \"tcp://x\"\n[registrar]\nname = \"faucet\"\n", "node"),
        ] {
            let e = FaucetConfig::parse(text, "t").unwrap_err();
            assert!(e.to_string().contains(key), "{key}: {e}");
        }
    }

    #[test]
    fn debug_output_redacts_the_admin_token() {
        let mut c = FaucetConfig::new("faucet");
        c.admin.token = Some("secret-token-0123456789".into());
        assert!(!format!("{c:?}").contains("secret-token"));
    }
}
