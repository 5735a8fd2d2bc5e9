//! What a registration request must satisfy before anything is stored or sent: the body's shape,
//! the name (chain rule, premium rule, deny-list), the three keys, and where the client really
//! is. Pure functions, tested without sockets; every refusal carries the message the wallet shows.

use crate::config::{IpLists, PolicyConfig};
use bts_protocol::{AddressPrefix, PublicKey, names};
use serde::Deserialize;
use std::net::IpAddr;

/// A refusal, mapped once to the wallet's `{"error":{"base":[message]}}` and an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The body is not the expected JSON.
    #[error("{0}")]
    BadRequest(String),
    /// The name breaks the chain's rule.
    #[error("Invalid account name '{name}': {reason}")]
    InvalidName {
        /// The requested name.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// Premium name while `policy.allow_premium` is off (wording of the wallet's Rails faucet).
    #[error("Premium names registration is not supported by this faucet")]
    PremiumName,
    /// The name contains a denied substring.
    #[error("Account name '{0}' is not allowed by this faucet")]
    DeniedName(String),
    /// A key is not a valid public key of this chain.
    #[error("Invalid {field} '{value}': {reason}")]
    InvalidKey {
        /// `owner_key`, `active_key` or `memo_key`.
        field: &'static str,
        /// The value sent (a public key, not a secret).
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// The name is taken on chain (wording of every earlier faucet).
    #[error("Account exists")]
    AccountExists,
    /// Another request for the same name is being processed.
    #[error("Account '{0}' is already being registered")]
    InFlight(String),
    /// The client's address is on the deny-list.
    #[error("Registrations from {0} are not allowed")]
    IpDenied(IpAddr),
    /// The per-IP cooldown has not passed.
    #[error("Only one account per IP every {cooldown} seconds; try again in {wait} seconds")]
    IpCooldown {
        /// `limits.ip_cooldown_seconds`.
        cooldown: u64,
        /// Seconds left.
        wait: u64,
    },
    /// The per-IP daily cap is reached.
    #[error("No more than {0} accounts per IP per day")]
    IpDailyCap(u32),
    /// The global rate limit is reached.
    #[error("The faucet is busy (more than {0} registrations per minute); try again in a minute")]
    GlobalRate(u32),
    /// No node answered before anything was signed; nothing was done.
    #[error("The BitShares node is unavailable; nothing was registered, please try again in a minute")]
    NodeUnavailable,
    /// The transaction is signed and stored but its fate is not known yet; it completes in the
    /// background when a node answers.
    #[error(
        "The registration of '{0}' was sent but not yet confirmed by the node; it will complete by itself, check again in a minute"
    )]
    Pending(String),
    /// The node refused the transaction (its message, without the fc prefix).
    #[error("The node refused the registration: {0}")]
    NodeRejected(String),
    /// The registrar cannot pay the fee.
    #[error("The faucet is out of funds; please try again later")]
    OutOfFunds,
    /// The store failed; nothing was sent.
    #[error("The faucet could not record the request; nothing was registered, please try again later")]
    Store,
}

impl Refusal {
    /// HTTP status for this refusal (the wallet ignores it; other clients and logs use it).
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::InvalidName { .. } | Self::PremiumName | Self::DeniedName(_) | Self::InvalidKey { .. } => 422,
            Self::AccountExists | Self::InFlight(_) => 409,
            Self::IpDenied(_) => 403,
            Self::IpCooldown { .. } | Self::IpDailyCap(_) | Self::GlobalRate(_) => 429,
            Self::NodeUnavailable | Self::Pending(_) | Self::OutOfFunds => 503,
            Self::NodeRejected(_) => 502,
            Self::Store => 500,
        }
    }

    /// Short label for metrics (`bts_faucet_refusals_total{reason}`).
    pub fn label(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::InvalidName { .. } => "invalid_name",
            Self::PremiumName => "premium_name",
            Self::DeniedName(_) => "denied_name",
            Self::InvalidKey { .. } => "invalid_key",
            Self::AccountExists => "account_exists",
            Self::InFlight(_) => "in_flight",
            Self::IpDenied(_) => "ip_denied",
            Self::IpCooldown { .. } => "ip_cooldown",
            Self::IpDailyCap(_) => "ip_daily_cap",
            Self::GlobalRate(_) => "global_rate",
            Self::NodeUnavailable => "node_unavailable",
            Self::Pending(_) => "pending",
            Self::NodeRejected(_) => "node_rejected",
            Self::OutOfFunds => "out_of_funds",
            Self::Store => "store",
        }
    }
}

/// The wallet's request body: `{"account":{...}}`.
#[derive(Debug, Deserialize)]
pub struct RequestBody {
    /// The account to register.
    pub account: AccountRequest,
}

/// The `account` object as the wallet sends it. Unknown keys are ignored (wallet versions differ).
#[derive(Debug, Default, Deserialize)]
pub struct AccountRequest {
    /// Requested name.
    #[serde(default)]
    pub name: Option<String>,
    /// Owner public key.
    #[serde(default)]
    pub owner_key: Option<String>,
    /// Active public key.
    #[serde(default)]
    pub active_key: Option<String>,
    /// Memo public key (defaults to the active key when absent, as cli_wallet does).
    #[serde(default)]
    pub memo_key: Option<String>,
    /// Referral code (stored, not interpreted).
    #[serde(default)]
    pub refcode: Option<String>,
    /// Referrer account name.
    #[serde(default)]
    pub referrer: Option<String>,
}

/// A request that passed every stateless check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRequest {
    /// The name, valid on chain.
    pub name: String,
    /// Owner key.
    pub owner_key: PublicKey,
    /// Active key.
    pub active_key: PublicKey,
    /// Memo key.
    pub memo_key: PublicKey,
    /// Referrer named by the request (not yet checked for membership).
    pub referrer: Option<String>,
    /// Referral code, as sent.
    pub refcode: Option<String>,
}

/// Parses the body and applies the name and key rules.
pub fn validate_request(body: &[u8], policy: &PolicyConfig, prefix: AddressPrefix) -> Result<ValidRequest, Refusal> {
    let parsed: RequestBody = serde_json::from_slice(body).map_err(|e| {
        Refusal::BadRequest(format!(
            "Request body must be JSON like {{\"account\":{{\"name\":…,\"owner_key\":…,\"active_key\":…,\"memo_key\":…}}}} ({e})"
        ))
    })?;
    let a = parsed.account;
    let name = required(a.name, "name")?;
    check_name(&name, policy)?;
    let owner_key = parse_key("owner_key", &required(a.owner_key, "owner_key")?, prefix)?;
    let active_raw = required(a.active_key, "active_key")?;
    let active_key = parse_key("active_key", &active_raw, prefix)?;
    let memo_key = match a.memo_key.filter(|m| !m.is_empty()) {
        Some(m) => parse_key("memo_key", &m, prefix)?,
        None => active_key,
    };
    let referrer = a.referrer.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    if let Some(r) = &referrer
        && let Some(reason) = names::chain_name_error(r)
    {
        return Err(Refusal::BadRequest(format!("Invalid referrer '{r}': {reason}")));
    }
    Ok(ValidRequest { name, owner_key, active_key, memo_key, referrer, refcode: a.refcode.filter(|c| !c.is_empty()) })
}

fn required(value: Option<String>, field: &str) -> Result<String, Refusal> {
    value.filter(|v| !v.is_empty()).ok_or_else(|| Refusal::BadRequest(format!("Please provide '{field}'")))
}

/// The chain rule, then the premium rule (the wallet's notion of cheap), then the deny-list.
pub fn check_name(name: &str, policy: &PolicyConfig) -> Result<(), Refusal> {
    if let Some(reason) = names::chain_name_error(name) {
        return Err(Refusal::InvalidName { name: name.to_owned(), reason });
    }
    // The wallet's rule, not the chain's: `alice.bob` is premium for the wallet (protocol.md §2.3).
    if !policy.allow_premium && !names::is_cheap_name_wallet(name) {
        return Err(Refusal::PremiumName);
    }
    if policy.deny_name_substrings.iter().any(|s| name.contains(s.as_str())) {
        return Err(Refusal::DeniedName(name.to_owned()));
    }
    Ok(())
}

fn parse_key(field: &'static str, value: &str, prefix: AddressPrefix) -> Result<PublicKey, Refusal> {
    PublicKey::parse_with_prefix(value, prefix).map_err(|e| Refusal::InvalidKey {
        field,
        value: value.chars().take(80).collect(),
        reason: e.to_string(),
    })
}

/// The client's address: the socket peer, or — only when the peer is a trusted proxy — the first
/// of `CF-Connecting-IP`, `X-Real-IP`, or the right-most untrusted `X-Forwarded-For` entry.
pub fn client_ip(peer: IpAddr, header: impl Fn(&str) -> Option<String>, lists: &IpLists) -> IpAddr {
    let trusted = |ip: &IpAddr| lists.trusted_proxies.iter().any(|n| n.contains(ip));
    if !trusted(&peer) {
        return peer;
    }
    for name in ["cf-connecting-ip", "x-real-ip"] {
        if let Some(ip) = header(name).and_then(|v| v.trim().parse::<IpAddr>().ok()) {
            return ip;
        }
    }
    if let Some(xff) = header("x-forwarded-for") {
        // Walk from the right: each trusted hop appended the address it saw.
        for hop in xff.rsplit(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) if trusted(&ip) => continue,
                Ok(ip) => return ip,
                Err(_) => break,
            }
        }
    }
    peer
}

#[cfg(test)]
mod tests {
    use super::*;
    use bts_protocol::PrivateKey;

    fn key(seed: &str) -> String {
        PrivateKey::from_seed(seed).unwrap().public_key(AddressPrefix::BTS).to_string()
    }

    fn body(name: &str, owner: &str, active: &str, memo: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"account":{"name":name,"owner_key":owner,"active_key":active,"memo_key":memo,"refcode":null,"referrer":null}})).unwrap()
    }

    #[test]
    fn wallet_body_is_accepted() {
        let (o, a, m) = (key("o"), key("a"), key("m"));
        let v =
            validate_request(&body("new-user-1", &o, &a, &m), &PolicyConfig::default(), AddressPrefix::BTS).unwrap();
        assert_eq!(v.name, "new-user-1");
        assert_eq!(v.owner_key.to_string(), o);
        assert_eq!(v.active_key.to_string(), a);
        assert_eq!(v.memo_key.to_string(), m);
        assert_eq!(v.referrer, None);
    }

    #[test]
    fn premium_and_denied_names_are_refused() {
        let p = PolicyConfig { allow_premium: false, deny_name_substrings: vec!["binance".into()] };
        assert_eq!(check_name("alice", &p), Err(Refusal::PremiumName));
        assert_eq!(check_name("alice.bob", &p), Err(Refusal::PremiumName));
        assert_eq!(check_name("alice-1", &p), Ok(()));
        assert_eq!(check_name("binance-9", &p), Err(Refusal::DeniedName("binance-9".into())));
        let allow = PolicyConfig { allow_premium: true, ..p };
        assert_eq!(check_name("alice", &allow), Ok(()));
    }

    #[test]
    fn trusted_proxy_headers_only() {
        let lists = IpLists { trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()], ..Default::default() };
        let h = |name: &str| (name == "x-forwarded-for").then(|| "198.51.100.1, 203.0.113.9, 127.0.0.1".to_string());
        assert_eq!(client_ip("127.0.0.1".parse().unwrap(), h, &lists), "203.0.113.9".parse::<IpAddr>().unwrap());
        assert_eq!(client_ip("192.0.2.5".parse().unwrap(), h, &lists), "192.0.2.5".parse::<IpAddr>().unwrap());
    }
}
