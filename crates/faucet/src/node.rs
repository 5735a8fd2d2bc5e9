//! The faucet's view of the chain: the handful of node calls it makes, through the rpc client,
//! decoded into small typed answers. Every call has the client's timeout; a transport failure is
//! [`NodeError::Unavailable`], a refusal by the node is [`NodeError::Rejected`] with its message.

use bts_protocol::{AccountId, AddressPrefix, Asset, BlockId, ChainId, Operation, SignedTransaction, TimePointSec};
use bts_rpc::client::{ClientError, WsClient};
use serde_json::{Value, json};

/// Why a node call failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// No answer (connect failure, timeout, connection lost): the outcome of a broadcast is unknown.
    #[error("node unavailable: {0}")]
    Unavailable(String),
    /// The node answered with an error (message without fc's `Execution error: ` prefix).
    #[error("node refused: {0}")]
    Rejected(String),
    /// The node answered something the faucet cannot read.
    #[error("unexpected node answer to {method}: {detail}")]
    Unexpected {
        /// The call.
        method: &'static str,
        /// What was wrong.
        detail: String,
    },
}

impl From<ClientError> for NodeError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Rpc(r) => {
                let m = r.message.strip_prefix("Execution error: ").unwrap_or(&r.message);
                Self::Rejected(m.to_owned())
            }
            other => Self::Unavailable(other.to_string()),
        }
    }
}

/// The head of the chain as the node reports it.
#[derive(Debug, Clone, Copy)]
pub struct Head {
    /// Head block id (for TaPoS).
    pub block_id: BlockId,
    /// Head block time.
    pub time: TimePointSec,
    /// Last irreversible block number.
    pub last_irreversible: u32,
}

/// What the faucet needs to know about an account.
#[derive(Debug, Clone)]
pub struct AccountInfo {
    /// `1.2.N`.
    pub id: AccountId,
    /// Name.
    pub name: String,
    /// Registrar id.
    pub registrar: AccountId,
    /// First owner key, as the node writes it.
    pub owner_key: Option<String>,
    /// All active keys.
    pub active_keys: Vec<String>,
    /// Membership expiration (`MAX` for lifetime members).
    pub membership_expiration: TimePointSec,
}

impl AccountInfo {
    /// Lifetime member (protocol.md §5.2).
    pub fn is_lifetime_member(&self) -> bool {
        self.membership_expiration == TimePointSec::MAX
    }

    /// Lifetime member or unexpired annual member at `now`: may be a referrer.
    pub fn is_member(&self, now: TimePointSec) -> bool {
        self.is_lifetime_member() || now <= self.membership_expiration
    }

    fn from_json(v: &Value) -> Option<Self> {
        let keys = |auth: &str| -> Vec<String> {
            v[auth]["key_auths"]
                .as_array()
                .map(|a| a.iter().filter_map(|k| k[0].as_str().map(str::to_owned)).collect())
                .unwrap_or_default()
        };
        Some(Self {
            id: v["id"].as_str()?.parse().ok()?,
            name: v["name"].as_str()?.to_owned(),
            registrar: v["registrar"].as_str()?.parse().ok()?,
            owner_key: keys("owner").into_iter().next(),
            active_keys: keys("active"),
            membership_expiration: v["membership_expiration_date"].as_str()?.parse().ok()?,
        })
    }
}

/// A vesting balance with what can be withdrawn from it now.
#[derive(Debug, Clone)]
pub struct VestingBalance {
    /// `1.13.N`.
    pub id: String,
    /// Total in the balance, satoshis.
    pub balance: i64,
    /// Withdrawable at `now`, satoshis.
    pub withdrawable: i64,
}

/// A broadcast that the node put in a block.
#[derive(Debug, Clone)]
pub struct Inclusion {
    /// The block.
    pub block_num: u32,
    /// The first operation's result (`1.2.N` for account_create).
    pub new_object: Option<String>,
}

/// The node connection.
#[derive(Clone)]
pub struct Node {
    client: WsClient,
}

impl Node {
    /// Wraps a connected (or reconnecting) client.
    pub fn new(client: WsClient) -> Self {
        Self { client }
    }

    async fn call(&self, api: &str, method: &str, args: Value) -> Result<Value, NodeError> {
        Ok(self.client.call(api, method, args).await?)
    }

    /// `get_chain_id`.
    pub async fn chain_id(&self) -> Result<ChainId, NodeError> {
        let v = self.call("database", "get_chain_id", json!([])).await?;
        v.as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| NodeError::Unexpected { method: "get_chain_id", detail: v.to_string() })
    }

    /// The chain's key prefix (`GRAPHENE_ADDRESS_PREFIX` from `get_config`: `BTS`, `TEST`, …).
    pub async fn address_prefix(&self) -> Result<AddressPrefix, NodeError> {
        let v = self.call("database", "get_config", json!([])).await?;
        v["GRAPHENE_ADDRESS_PREFIX"]
            .as_str()
            .and_then(|p| AddressPrefix::new(p).ok())
            .ok_or_else(|| NodeError::Unexpected { method: "get_config", detail: "no GRAPHENE_ADDRESS_PREFIX".into() })
    }

    /// `get_dynamic_global_properties`.
    pub async fn head(&self) -> Result<Head, NodeError> {
        let v = self.call("database", "get_dynamic_global_properties", json!([])).await?;
        let bad = || NodeError::Unexpected { method: "get_dynamic_global_properties", detail: v.to_string() };
        Ok(Head {
            block_id: v["head_block_id"].as_str().and_then(|s| s.parse().ok()).ok_or_else(bad)?,
            time: v["time"].as_str().and_then(|s| s.parse().ok()).ok_or_else(bad)?,
            last_irreversible: v["last_irreversible_block_num"]
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(bad)?,
        })
    }

    /// Time of block `num`, `None` when the node does not have it.
    pub async fn block_time(&self, num: u32) -> Result<Option<TimePointSec>, NodeError> {
        let v = self.call("database", "get_block_header", json!([num])).await?;
        Ok(v["timestamp"].as_str().and_then(|s| s.parse().ok()))
    }

    /// `lookup_account_names([name])`.
    pub async fn account_by_name(&self, name: &str) -> Result<Option<AccountInfo>, NodeError> {
        let v = self.call("database", "lookup_account_names", json!([[name]])).await?;
        match v.get(0) {
            Some(Value::Null) => Ok(None),
            Some(a) => AccountInfo::from_json(a)
                .map(Some)
                .ok_or_else(|| NodeError::Unexpected { method: "lookup_account_names", detail: a.to_string() }),
            None => Err(NodeError::Unexpected { method: "lookup_account_names", detail: v.to_string() }),
        }
    }

    /// `get_accounts(ids)`; `None` for ids that do not exist.
    pub async fn accounts(&self, ids: &[String]) -> Result<Vec<Option<AccountInfo>>, NodeError> {
        let v = self.call("database", "get_accounts", json!([ids])).await?;
        let list =
            v.as_array().ok_or_else(|| NodeError::Unexpected { method: "get_accounts", detail: v.to_string() })?;
        Ok(list.iter().map(AccountInfo::from_json).collect())
    }

    /// The fee the node requires for `op`, in core satoshis (`get_required_fees`).
    pub async fn required_fee(&self, op: &Operation) -> Result<i64, NodeError> {
        let v = self.call("database", "get_required_fees", json!([[op], "1.3.0"])).await?;
        let fee: Option<Asset> = v.get(0).and_then(|f| serde_json::from_value(f.clone()).ok());
        fee.map(|a| a.amount)
            .ok_or_else(|| NodeError::Unexpected { method: "get_required_fees", detail: v.to_string() })
    }

    /// Core-asset balance of `account`, satoshis.
    pub async fn core_balance(&self, account: AccountId) -> Result<i64, NodeError> {
        let v = self.call("database", "get_account_balances", json!([account, ["1.3.0"]])).await?;
        let a: Option<Asset> = v.get(0).and_then(|f| serde_json::from_value(f.clone()).ok());
        Ok(a.map_or(0, |a| a.amount))
    }

    /// The account's cashback vesting balances with what is withdrawable at `now`.
    pub async fn cashback_balances(
        &self,
        account: AccountId,
        now: TimePointSec,
    ) -> Result<Vec<VestingBalance>, NodeError> {
        let v = self.call("database", "get_vesting_balances", json!([account])).await?;
        let list = v
            .as_array()
            .ok_or_else(|| NodeError::Unexpected { method: "get_vesting_balances", detail: v.to_string() })?;
        Ok(list
            .iter()
            .filter(|b| b["balance_type"].as_str().is_none_or(|t| t == "cashback"))
            .filter(|b| b["balance"]["asset_id"] == "1.3.0")
            .filter_map(|b| {
                let balance: Asset = serde_json::from_value(b["balance"].clone()).ok()?;
                Some(VestingBalance {
                    id: b["id"].as_str()?.to_owned(),
                    balance: balance.amount,
                    withdrawable: crate::cashback::withdrawable(&b["policy"], balance.amount, now),
                })
            })
            .collect())
    }

    /// `broadcast_transaction_synchronous`: returns once the transaction is in a block.
    pub async fn broadcast_synchronous(&self, tx: &SignedTransaction) -> Result<Inclusion, NodeError> {
        let v = self.call("network_broadcast", "broadcast_transaction_synchronous", json!([tx])).await?;
        let block_num = v["block_num"].as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
            NodeError::Unexpected { method: "broadcast_transaction_synchronous", detail: v.to_string() }
        })?;
        let new_object = v["trx"]["operation_results"][0][1].as_str().map(str::to_owned);
        Ok(Inclusion { block_num, new_object })
    }
}
