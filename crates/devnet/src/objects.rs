//! The chain objects the devnet serves, with their JSON in the node's field order.

use bts_protocol::id::well_known::*;
use bts_protocol::*;
use serde_json::{Value, json};

/// An account (1.2.N) together with its statistics (2.6.N), which share the instance number.
#[derive(Debug, Clone)]
pub struct Account {
    /// `1.2.N`.
    pub id: AccountId,
    /// `2106-02-07T06:28:15` for lifetime members.
    pub membership_expiration_date: TimePointSec,
    /// Who registered it.
    pub registrar: AccountId,
    /// Who referred it.
    pub referrer: AccountId,
    /// The lifetime member up the referral chain.
    pub lifetime_referrer: AccountId,
    /// Basis points of its fees that go to the network.
    pub network_fee_percentage: u16,
    /// Basis points of its fees that go to the lifetime referrer.
    pub lifetime_referrer_fee_percentage: u16,
    /// Basis points of the referral part that go to the referrer.
    pub referrer_rewards_percentage: u16,
    /// Name.
    pub name: String,
    /// Owner authority.
    pub owner: Authority,
    /// Active authority.
    pub active: Authority,
    /// Memo key and votes.
    pub options: AccountOptions,
    /// Cashback vesting balance, once it earned any.
    pub cashback_vb: Option<VestingBalanceId>,
    /// Block it was created in.
    pub creation_block_num: u32,
    /// Time it was created.
    pub creation_time: TimePointSec,
    /// Total fees paid (statistics).
    pub lifetime_fees_paid: i64,
}

impl Account {
    /// A basic (non-member) account registered by and referring to itself.
    pub fn new(
        id: u64,
        name: &str,
        owner: Authority,
        active: Authority,
        memo: PublicKey,
        now: TimePointSec,
        block_num: u32,
    ) -> Self {
        let me = AccountId::new(id);
        Self {
            id: me,
            membership_expiration_date: TimePointSec(0),
            registrar: me,
            referrer: me,
            lifetime_referrer: me,
            network_fee_percentage: 2000,
            lifetime_referrer_fee_percentage: 3000,
            referrer_rewards_percentage: 0,
            name: name.to_owned(),
            owner,
            active,
            options: AccountOptions::new_account(memo),
            cashback_vb: None,
            creation_block_num: block_num,
            creation_time: now,
            lifetime_fees_paid: 0,
        }
    }

    /// `account_upgrade` to lifetime: membership forever, its own registrar, referrer and
    /// lifetime referrer, and every non-network basis point of its fees back to itself.
    pub fn make_lifetime_member(&mut self, network_fee_percentage: u16) {
        self.membership_expiration_date = TimePointSec::MAX;
        self.registrar = self.id;
        self.referrer = self.id;
        self.lifetime_referrer = self.id;
        self.network_fee_percentage = network_fee_percentage;
        self.lifetime_referrer_fee_percentage = 10_000 - network_fee_percentage;
    }

    /// Lifetime member.
    pub fn is_lifetime_member(&self) -> bool {
        self.membership_expiration_date == TimePointSec::MAX
    }

    /// Lifetime or (unexpired) annual member. Annual membership cannot be bought any more, so
    /// on the devnet this equals lifetime membership.
    pub fn is_member(&self) -> bool {
        self.is_lifetime_member()
    }

    /// The account object JSON.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "membership_expiration_date": self.membership_expiration_date,
            "registrar": self.registrar,
            "referrer": self.referrer,
            "lifetime_referrer": self.lifetime_referrer,
            "network_fee_percentage": self.network_fee_percentage,
            "lifetime_referrer_fee_percentage": self.lifetime_referrer_fee_percentage,
            "referrer_rewards_percentage": self.referrer_rewards_percentage,
            "name": self.name,
            "owner": self.owner,
            "active": self.active,
            "options": self.options,
            "num_committee_voted": 0,
            "statistics": format!("2.6.{}", self.id.instance()),
            "whitelisting_accounts": [],
            "blacklisting_accounts": [],
            "whitelisted_accounts": [],
            "blacklisted_accounts": [],
        });
        if let Some(vb) = self.cashback_vb {
            v["cashback_vb"] = json!(vb);
        }
        let obj = v.as_object_mut();
        if let Some(obj) = obj {
            obj.insert("owner_special_authority".into(), json!([0, {}]));
            obj.insert("active_special_authority".into(), json!([0, {}]));
            obj.insert("top_n_control_flags".into(), json!(0));
            obj.insert("creation_block_num".into(), json!(self.creation_block_num));
            obj.insert("creation_time".into(), json!(self.creation_time));
        }
        v
    }

    /// The statistics object (2.6.N) JSON.
    pub fn statistics_json(&self) -> Value {
        json!({
            "id": format!("2.6.{}", self.id.instance()),
            "owner": self.id,
            "name": self.name,
            "most_recent_op": "2.9.0",
            "total_ops": 0,
            "removed_ops": 0,
            "total_core_in_orders": 0,
            "total_core_inactive": 0,
            "total_core_pob": 0,
            "total_core_pol": 0,
            "total_pob_value": 0,
            "total_pol_value": 0,
            "core_in_balance": 0,
            "has_cashback_vb": self.cashback_vb.is_some(),
            "is_voting": false,
            "last_vote_time": "1970-01-01T00:00:00",
            "vp_all": 0,
            "vp_active": 0,
            "vp_committee": 0,
            "vp_witness": 0,
            "vp_worker": 0,
            "vote_tally_time": "1970-01-01T00:00:00",
            "lifetime_fees_paid": int64_json(self.lifetime_fees_paid),
            "pending_fees": 0,
            "pending_vested_fees": 0,
        })
    }
}

/// An int64 written as fc writes it (a string outside the int32 range).
pub fn int64_json(v: i64) -> Value {
    if i32::try_from(v).is_ok() { json!(v) } else { json!(v.to_string()) }
}

/// An account balance object (2.5.N).
#[derive(Debug, Clone)]
pub struct Balance {
    /// Instance number.
    pub id: u64,
    /// Owner.
    pub owner: AccountId,
    /// Asset.
    pub asset_type: AssetId,
    /// Amount in satoshis.
    pub balance: i64,
}

impl Balance {
    /// JSON form.
    pub fn to_json(&self) -> Value {
        json!({
            "id": format!("2.5.{}", self.id),
            "owner": self.owner,
            "asset_type": self.asset_type,
            "balance": int64_json(self.balance),
            "maintenance_flag": false,
        })
    }
}

/// A vesting balance (1.13.N); the devnet only creates cashback balances, which vest at once.
#[derive(Debug, Clone)]
pub struct VestingBalance {
    /// Instance number.
    pub id: u64,
    /// Owner.
    pub owner: AccountId,
    /// Amount in core satoshis.
    pub balance: i64,
    /// Creation time (start of the vesting policy).
    pub start: TimePointSec,
}

impl VestingBalance {
    /// An empty cashback balance.
    pub fn cashback(id: u64, owner: AccountId, now: TimePointSec) -> Self {
        Self { id, owner, balance: 0, start: now }
    }

    /// JSON form (cdd policy with zero vesting seconds: all of it withdrawable).
    pub fn to_json(&self) -> Value {
        json!({
            "id": format!("1.13.{}", self.id),
            "owner": self.owner,
            "balance": Asset::core(self.balance),
            "policy": [1, {
                "vesting_seconds": 0,
                "start_claim": self.start,
                "coin_seconds_earned": "0",
                "coin_seconds_earned_last_update": self.start,
            }],
            "balance_type": "cashback",
        })
    }
}

/// An asset (1.3.N) and its dynamic data (2.3.N).
#[derive(Debug, Clone)]
pub struct AssetObject {
    /// Instance.
    pub id: u64,
    /// Ticker.
    pub symbol: String,
    /// Decimal places.
    pub precision: u8,
    /// Current supply in satoshis.
    pub current_supply: i64,
    /// Time of the block it was created in (genesis for the core asset).
    pub creation_time: TimePointSec,
}

impl AssetObject {
    /// The core asset with the given supply, created at genesis time `t0`.
    pub fn core(supply: i64, t0: TimePointSec) -> Self {
        Self { id: 0, symbol: "BTS".into(), precision: 5, current_supply: supply, creation_time: t0 }
    }

    /// `database_api`'s extended asset (`get_assets`, `list_assets`, `lookup_asset_symbols`):
    /// the object and how much of it is locked as collateral.
    pub fn extended_json(&self) -> Value {
        let mut v = self.to_json();
        if let Some(o) = v.as_object_mut() {
            o.insert("total_in_collateral".into(), json!(0));
        }
        v
    }

    /// Asset object JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "id": format!("1.3.{}", self.id),
            "symbol": self.symbol,
            "precision": self.precision,
            "issuer": NULL_ACCOUNT,
            "options": {
                "max_supply": "1000000000000000",
                "market_fee_percent": 0,
                "max_market_fee": "1000000000000000",
                "issuer_permissions": 0,
                "flags": 0,
                "core_exchange_rate": {
                    "base": {"amount": 1, "asset_id": "1.3.0"},
                    "quote": {"amount": 1, "asset_id": "1.3.0"}
                },
                "whitelist_authorities": [],
                "blacklist_authorities": [],
                "whitelist_markets": [],
                "blacklist_markets": [],
                "description": "",
                "extensions": {}
            },
            "dynamic_asset_data_id": format!("2.3.{}", self.id),
            "creation_block_num": 0,
            "creation_time": self.creation_time,
        })
    }

    /// Dynamic data (2.3.N) JSON.
    pub fn dynamic_json(&self) -> Value {
        json!({
            "id": format!("2.3.{}", self.id),
            "current_supply": int64_json(self.current_supply),
            "confidential_supply": 0,
            "accumulated_fees": 0,
            "accumulated_collateral_fees": 0,
            "fee_pool": 0,
        })
    }
}

/// A witness (1.6.N).
#[derive(Debug, Clone)]
pub struct Witness {
    /// Instance.
    pub id: u64,
    /// Its account.
    pub witness_account: AccountId,
    /// Block signing key.
    pub signing_key: PublicKey,
    /// Last slot it produced in.
    pub last_aslot: u64,
    /// Last block it produced.
    pub last_confirmed_block_num: u32,
}

impl Witness {
    /// A witness that has produced nothing yet.
    pub fn new(id: u64, witness_account: AccountId, signing_key: PublicKey) -> Self {
        Self { id, witness_account, signing_key, last_aslot: 0, last_confirmed_block_num: 0 }
    }

    /// JSON form.
    pub fn to_json(&self) -> Value {
        json!({
            "id": format!("1.6.{}", self.id),
            "witness_account": self.witness_account,
            "last_aslot": self.last_aslot,
            "signing_key": self.signing_key,
            "vote_id": format!("1:{}", self.id.saturating_sub(1) * 2 + 1),
            "total_votes": 0,
            "url": "",
            "total_missed": 0,
            "last_confirmed_block_num": self.last_confirmed_block_num,
        })
    }
}

/// Object 2.1.0.
#[derive(Debug, Clone, PartialEq)]
pub struct DynamicGlobalProperties {
    /// Head block number.
    pub head_block_number: u32,
    /// Head block id.
    pub head_block_id: BlockId,
    /// Head block time.
    pub time: TimePointSec,
    /// Producer of the head block.
    pub current_witness: WitnessId,
    /// Next maintenance.
    pub next_maintenance_time: TimePointSec,
    /// Last vote tally.
    pub last_vote_tally_time: TimePointSec,
    /// Last budget.
    pub last_budget_time: TimePointSec,
    /// Registrations since the last maintenance (scales the basic account fee).
    pub accounts_registered_this_interval: u32,
    /// Missed slots.
    pub recently_missed_count: u32,
    /// Absolute slot of the head block.
    pub current_aslot: u64,
    /// Last irreversible block.
    pub last_irreversible_block_num: u32,
}

impl DynamicGlobalProperties {
    /// The state before block 1.
    pub fn genesis(t0: TimePointSec) -> Self {
        Self {
            head_block_number: 0,
            head_block_id: BlockId::default(),
            time: t0,
            current_witness: WitnessId::new(0),
            next_maintenance_time: t0,
            last_vote_tally_time: t0,
            last_budget_time: t0,
            accounts_registered_this_interval: 0,
            recently_missed_count: 0,
            current_aslot: 0,
            last_irreversible_block_num: 0,
        }
    }

    /// JSON in the observed field order.
    pub fn to_json(&self) -> Value {
        json!({
            "id": "2.1.0",
            "head_block_number": self.head_block_number,
            "head_block_id": self.head_block_id,
            "time": self.time,
            "current_witness": self.current_witness,
            "next_maintenance_time": self.next_maintenance_time,
            "last_vote_tally_time": self.last_vote_tally_time,
            "last_budget_time": self.last_budget_time,
            "witness_budget": 0,
            "total_pob": 0,
            "total_inactive": 0,
            "accounts_registered_this_interval": self.accounts_registered_this_interval,
            "recently_missed_count": self.recently_missed_count,
            "current_aslot": self.current_aslot,
            "recent_slots_filled": "340282366920938463463374607431768211455",
            "dynamic_flags": 0,
            "last_irreversible_block_num": self.last_irreversible_block_num,
        })
    }
}

/// An operation history object (1.11.N).
#[derive(Debug, Clone)]
pub struct OperationHistory {
    /// Instance.
    pub id: u64,
    /// The operation.
    pub op: Operation,
    /// Its result.
    pub result: OperationResult,
    /// Block it is in.
    pub block_num: u32,
    /// Transaction index in the block.
    pub trx_in_block: u16,
    /// Operation index in the transaction.
    pub op_in_trx: u16,
}

impl OperationHistory {
    /// JSON form.
    pub fn to_json(&self) -> Value {
        json!({
            "id": format!("1.11.{}", self.id),
            "op": self.op,
            "result": self.result,
            "block_num": self.block_num,
            "trx_in_block": self.trx_in_block,
            "op_in_trx": self.op_in_trx,
            "virtual_op": 0,
        })
    }
}
