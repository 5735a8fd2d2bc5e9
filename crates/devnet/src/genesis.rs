//! The devnet's genesis: who exists at block 0, and the chain id derived from it.
//!
//! Mirrors bitshares-core's dev genesis (`genesis-dev.json`): the special accounts 1.2.0–1.2.5,
//! eleven init witnesses/accounts `init0`…`init10` (1.2.6–1.2.16, witnesses 1.6.1–1.6.11) on the
//! public dev key `sha256("nathan")`, the core asset BTS (1.3.0, precision 5), and then the
//! registrar (1.2.17): a funded lifetime member whose key the operator supplies. Like
//! `witness_node --genesis-json`, the chain id is the SHA-256 of the genesis JSON text, unless
//! an explicit chain id is configured.

use bts_protocol::{AddressPrefix, ChainId, PublicKey, TimePointSec};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Chain parameters of the dev genesis (fee schedule, limits, fee split), as the node reports
/// them in `get_global_properties().parameters`.
pub const CHAIN_PARAMETERS_JSON: &str = include_str!("chain_parameters.json");

/// Number of init witnesses (and init accounts), as in the dev genesis.
pub const INIT_WITNESSES: u64 = 11;

/// The genesis document; its JSON text hashes to the chain id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// Free-form chain name; changing it changes the chain id.
    pub chain_name: String,
    /// Time of block 0.
    pub initial_timestamp: TimePointSec,
    /// Address prefix of keys on this chain.
    pub address_prefix: AddressPrefix,
    /// Seconds between blocks.
    pub block_interval: u32,
    /// Key of the init witnesses and init accounts.
    pub init_key: PublicKey,
    /// Name of the registrar account (1.2.17).
    pub registrar_name: String,
    /// Owner, active and memo key of the registrar.
    pub registrar_key: PublicKey,
    /// Core-asset balance of the registrar, in satoshis (1 BTS = 100000).
    pub registrar_balance: i64,
    /// An explicit chain id overriding the derived one (to pose as a known chain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<ChainId>,
}

impl Genesis {
    /// The canonical JSON text (what is hashed and stored).
    pub fn to_json(&self) -> String {
        // Serializing plain data to a string cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The chain id: the configured one, or SHA-256 of the genesis JSON text.
    pub fn chain_id(&self) -> ChainId {
        self.chain_id.unwrap_or_else(|| ChainId(Sha256::digest(self.to_json().as_bytes()).into()))
    }
}
