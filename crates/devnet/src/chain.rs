//! The devnet's chain state and its rules: a synchronous state machine with no I/O.
//!
//! Transactions are validated in the node's order (`database::_apply_transaction`): stateless
//! validation, duplicate id, signatures against the required authorities, TaPoS, expiration, then
//! per operation the fee check and the evaluator. A pushed transaction is applied to the state at
//! once (as a node applies it to its pending state) and packed into the next block. Errors carry
//! the node's exact texts (witness_node_observed.md).
//!
//! Simplifications, documented in the README: fees are split (network / lifetime referrer /
//! referrer / registrar) when paid rather than at maintenance, and cashback vests at once.

use crate::genesis::{CHAIN_PARAMETERS_JSON, Genesis, INIT_WITNESSES};
use crate::objects::*;
use bts_protocol::id::well_known::*;
use bts_protocol::*;
use bts_rpc::FcException;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap, VecDeque};

/// How many recent dynamic-global-properties snapshots are kept (for lagging endpoints).
const DGP_HISTORY: usize = 4096;
/// Block summaries TaPoS can reference (the node keeps 65536).
const TAPOS_WINDOW: u32 = 65_536;
/// 100 % in basis points.
const FULL_PERCENT: i64 = 10_000;

/// A transaction that was applied to the pending state, waiting for the next block.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The transaction with its results.
    pub trx: ProcessedTransaction,
    /// Its id.
    pub id: TransactionId,
}

/// Where a transaction ended up.
#[derive(Debug, Clone)]
pub struct Inclusion {
    /// Transaction id.
    pub id: TransactionId,
    /// Block it is in.
    pub block_num: u32,
    /// Index within the block.
    pub trx_num: usize,
    /// The processed transaction.
    pub trx: ProcessedTransaction,
}

/// What changed in one block, for subscribers.
#[derive(Debug, Clone)]
pub struct BlockApplied {
    /// Block number.
    pub block_num: u32,
    /// Block id.
    pub block_id: BlockId,
    /// Objects modified by this block (2.1.0 always).
    pub changed: Vec<ObjectId>,
    /// Transactions included.
    pub included: Vec<Inclusion>,
}

/// The whole chain state.
#[derive(Debug)]
pub struct Chain {
    genesis: Genesis,
    chain_id: ChainId,
    prefix: AddressPrefix,
    params: Value,
    init_key: PrivateKey,
    pub(crate) accounts: Vec<Account>,
    names: std::collections::BTreeMap<String, u64>,
    pub(crate) balances: Vec<Balance>,
    balance_index: HashMap<(u64, u64), u64>,
    pub(crate) vesting: Vec<VestingBalance>,
    pub(crate) assets: Vec<AssetObject>,
    pub(crate) witnesses: Vec<Witness>,
    pub(crate) dgp: DynamicGlobalProperties,
    dgp_history: VecDeque<DynamicGlobalProperties>,
    blocks: Vec<SignedBlock>,
    block_ids: Vec<BlockId>,
    recent_tx: HashMap<TransactionId, TimePointSec>,
    included: HashMap<TransactionId, (u32, usize)>,
    pending: Vec<Pending>,
    pub(crate) history: Vec<OperationHistory>,
    account_history: HashMap<u64, Vec<u64>>,
    dirty: BTreeSet<ObjectId>,
}

fn assert_err(expr: &str, msg: impl AsRef<str>) -> FcException {
    FcException::assert(expr, msg)
}

impl Chain {
    /// Builds block 0 from a genesis.
    pub fn new(genesis: Genesis) -> Result<Self, String> {
        let mut params: Value =
            serde_json::from_str(CHAIN_PARAMETERS_JSON).map_err(|e| format!("embedded chain parameters: {e}"))?;
        params["block_interval"] = json!(genesis.block_interval);
        let init_key = PrivateKey::from_seed("nathan").map_err(|e| e.to_string())?;
        let prefix = genesis.address_prefix;
        let chain_id = genesis.chain_id();
        let t0 = genesis.initial_timestamp;
        let mut chain = Chain {
            chain_id,
            prefix,
            params,
            init_key,
            accounts: Vec::new(),
            names: Default::default(),
            balances: Vec::new(),
            balance_index: HashMap::new(),
            vesting: Vec::new(),
            assets: vec![AssetObject::core(genesis.registrar_balance, genesis.initial_timestamp)],
            witnesses: Vec::new(),
            dgp: DynamicGlobalProperties::genesis(t0),
            dgp_history: VecDeque::new(),
            blocks: Vec::new(),
            block_ids: vec![BlockId::default()],
            recent_tx: HashMap::new(),
            included: HashMap::new(),
            pending: Vec::new(),
            history: Vec::new(),
            account_history: HashMap::new(),
            dirty: BTreeSet::new(),
            genesis,
        };
        let null_key = PublicKey::null(prefix);
        let network = chain.network_percent();
        for name in [
            "committee-account",
            "witness-account",
            "relaxed-committee-account",
            "null-account",
            "temp-account",
            "proxy-to-self",
        ] {
            chain.create_account(name, Authority::default(), Authority::default(), null_key, None, t0, 0);
        }
        let init_pub = chain.genesis.init_key;
        for i in 0..INIT_WITNESSES {
            let auth = Authority::single_key(init_pub);
            let id = chain.create_account(&format!("init{i}"), auth.clone(), auth, init_pub, None, t0, 0);
            chain.accounts[id as usize].make_lifetime_member(network);
        }
        // 1.6.0 is the null witness; init0.. become 1.6.1..
        chain.witnesses.push(Witness::new(0, NULL_ACCOUNT, PublicKey::null(prefix)));
        for i in 0..INIT_WITNESSES {
            chain.witnesses.push(Witness::new(i + 1, AccountId::new(6 + i), init_pub));
        }
        let reg_key = chain.genesis.registrar_key;
        let auth = Authority::single_key(reg_key);
        let name = chain.genesis.registrar_name.clone();
        let reg = chain.create_account(&name, auth.clone(), auth, reg_key, None, t0, 0);
        chain.accounts[reg as usize].make_lifetime_member(network);
        let funds = chain.genesis.registrar_balance;
        chain.adjust_balance(AccountId::new(reg), Asset::core(funds));
        chain.dirty.clear();
        chain.dgp_history.push_back(chain.dgp.clone());
        Ok(chain)
    }

    /// The genesis this chain started from.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }
    /// Chain id.
    pub fn chain_id(&self) -> ChainId {
        self.chain_id
    }
    /// Address prefix.
    pub fn prefix(&self) -> AddressPrefix {
        self.prefix
    }
    /// Chain parameters JSON (`get_global_properties().parameters`).
    pub fn parameters(&self) -> &Value {
        &self.params
    }
    fn param_i64(&self, key: &str) -> i64 {
        self.params.get(key).and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok())).unwrap_or(0)
    }
    fn network_percent(&self) -> u16 {
        u16::try_from(self.param_i64("network_percent_of_fee")).unwrap_or(2000)
    }
    /// Seconds between blocks.
    pub fn block_interval(&self) -> u32 {
        self.genesis.block_interval
    }
    /// Current dynamic global properties.
    pub fn dgp(&self) -> &DynamicGlobalProperties {
        &self.dgp
    }
    /// Head block number.
    pub fn head_block_num(&self) -> u32 {
        self.dgp.head_block_number
    }
    /// Head block time.
    pub fn head_time(&self) -> TimePointSec {
        self.dgp.time
    }

    /// The dynamic global properties as they were at block `num` (kept for recent blocks).
    pub fn dgp_at(&self, num: u32) -> Option<&DynamicGlobalProperties> {
        let first = self.dgp_history.front()?.head_block_number;
        self.dgp_history.get(num.checked_sub(first)? as usize)
    }

    /// Block `num`, if it exists.
    pub fn block(&self, num: u32) -> Option<&SignedBlock> {
        self.blocks.get((num as usize).checked_sub(1)?)
    }

    /// Id of block `num` (0 = all zero).
    pub fn block_id(&self, num: u32) -> Option<BlockId> {
        self.block_ids.get(num as usize).copied()
    }

    #[allow(clippy::too_many_arguments)] // one call site per origin (genesis, operation); all fields needed
    fn create_account(
        &mut self,
        name: &str,
        owner: Authority,
        active: Authority,
        memo: PublicKey,
        op: Option<&AccountCreateOperation>,
        now: TimePointSec,
        block_num: u32,
    ) -> u64 {
        let id = self.accounts.len() as u64;
        let mut account = Account::new(id, name, owner, active, memo, now, block_num);
        if let Some(op) = op {
            account.registrar = op.registrar;
            account.referrer = op.referrer;
            account.lifetime_referrer = self.accounts[op.referrer.instance() as usize].lifetime_referrer;
            account.network_fee_percentage = self.network_percent();
            account.lifetime_referrer_fee_percentage =
                u16::try_from(self.param_i64("lifetime_referrer_percent_of_fee")).unwrap_or(3000);
            account.referrer_rewards_percentage = op.referrer_percent;
            account.options = op.options.clone();
        }
        self.accounts.push(account);
        self.names.insert(name.to_owned(), id);
        self.dirty.insert(ObjectId::new(1, 2, id));
        self.dirty.insert(ObjectId::new(2, 6, id));
        id
    }

    /// Account by id.
    pub fn account(&self, id: AccountId) -> Option<&Account> {
        self.accounts.get(usize::try_from(id.instance()).ok()?)
    }

    /// Account by name.
    pub fn account_by_name(&self, name: &str) -> Option<&Account> {
        self.names.get(name).and_then(|id| self.accounts.get(*id as usize))
    }

    /// Account by name or `1.2.N` id string.
    pub fn account_by_name_or_id(&self, s: &str) -> Option<&Account> {
        match s.parse::<AccountId>() {
            Ok(id) => self.account(id),
            Err(_) => self.account_by_name(s),
        }
    }

    /// Accounts in name order starting at `lower_bound`.
    pub fn accounts_from(&self, lower_bound: &str, limit: usize) -> Vec<&Account> {
        self.names
            .range(lower_bound.to_owned()..)
            .take(limit)
            .filter_map(|(_, id)| self.accounts.get(*id as usize))
            .collect()
    }

    /// Balance of `account` in `asset`.
    pub fn balance(&self, account: AccountId, asset: AssetId) -> i64 {
        self.balance_index
            .get(&(account.instance(), asset.instance()))
            .map_or(0, |i| self.balances[*i as usize].balance)
    }

    /// Balance objects of an account.
    pub fn balances_of(&self, account: AccountId) -> Vec<&Balance> {
        self.balances.iter().filter(|b| b.owner == account).collect()
    }

    /// Vesting balances of an account.
    pub fn vesting_of(&self, account: AccountId) -> Vec<&VestingBalance> {
        self.vesting.iter().filter(|v| v.owner == account).collect()
    }

    /// Asset by id or symbol.
    pub fn asset_by_symbol_or_id(&self, s: &str) -> Option<&AssetObject> {
        match s.parse::<AssetId>() {
            Ok(id) => self.assets.get(usize::try_from(id.instance()).ok()?),
            Err(_) => self.assets.iter().find(|a| a.symbol == s),
        }
    }

    /// Assets in symbol order from `lower_bound`.
    pub fn assets_from(&self, lower_bound: &str, limit: usize) -> Vec<&AssetObject> {
        let mut all: Vec<&AssetObject> = self.assets.iter().filter(|a| a.symbol.as_str() >= lower_bound).collect();
        all.sort_by(|a, b| a.symbol.cmp(&b.symbol));
        all.truncate(limit);
        all
    }

    /// Accounts whose owner or active authority lists `key`.
    pub fn key_references(&self, key: &PublicKey) -> Vec<AccountId> {
        self.accounts
            .iter()
            .filter(|a| {
                a.owner.key_auths.iter().chain(a.active.key_auths.iter()).any(|(k, _)| k == key)
                    || a.options.memo_key == *key
            })
            .map(|a| a.id)
            .collect()
    }

    /// Operation history ids of an account, newest first.
    pub fn account_history(&self, account: AccountId) -> impl Iterator<Item = &OperationHistory> {
        self.account_history
            .get(&account.instance())
            .into_iter()
            .flatten()
            .rev()
            .filter_map(|i| self.history.get(*i as usize))
    }

    /// A transaction's inclusion, if known.
    pub fn inclusion(&self, id: &TransactionId) -> Option<(u32, usize)> {
        self.included.get(id).copied()
    }

    /// Any object by id, as the node's JSON.
    pub fn object_json(&self, id: ObjectId) -> Option<Value> {
        let i = usize::try_from(id.instance).ok()?;
        Some(match (id.space, id.type_id) {
            (1, 2) => self.accounts.get(i)?.to_json(),
            (1, 3) => self.assets.get(i)?.to_json(),
            // The init accounts' committee members: 1.5.N is init N, with vote id 0:(11+N).
            (1, 5) if id.instance < INIT_WITNESSES => json!({
                "id": id.to_string(),
                "committee_member_account": AccountId::new(6 + id.instance),
                "vote_id": format!("0:{}", INIT_WITNESSES + id.instance),
                "total_votes": 0,
                "url": "",
            }),
            (1, 6) => self.witnesses.get(i)?.to_json(),
            (1, 11) => self.history.get(i)?.to_json(),
            (1, 13) => self.vesting.get(i)?.to_json(),
            (2, 0) if i == 0 => self.global_properties_json(),
            (2, 1) if i == 0 => self.dgp.to_json(),
            (2, 3) => self.assets.get(i)?.dynamic_json(),
            (2, 5) => self.balances.get(i)?.to_json(),
            (2, 6) => self.accounts.get(i)?.statistics_json(),
            _ => return None,
        })
    }

    /// Object 2.0.0.
    pub fn global_properties_json(&self) -> Value {
        let active: Vec<String> = (1..=INIT_WITNESSES).map(|i| format!("1.6.{i}")).collect();
        let committee: Vec<String> = (0..INIT_WITNESSES).map(|i| format!("1.5.{i}")).collect();
        json!({
            "id": "2.0.0",
            "parameters": self.params,
            "next_available_vote_id": INIT_WITNESSES * 2,
            "active_committee_members": committee,
            "active_witnesses": active,
        })
    }

    /// The account that owns an object (for full-account subscriptions).
    pub fn object_owner(&self, id: ObjectId) -> Option<AccountId> {
        let i = usize::try_from(id.instance).ok()?;
        match (id.space, id.type_id) {
            (1, 2) | (2, 6) => Some(AccountId::new(id.instance)),
            (2, 5) => self.balances.get(i).map(|b| b.owner),
            (1, 13) => self.vesting.get(i).map(|v| v.owner),
            _ => None,
        }
    }

    fn adjust_balance(&mut self, account: AccountId, delta: Asset) {
        let key = (account.instance(), delta.asset_id.instance());
        let index = match self.balance_index.get(&key) {
            Some(i) => *i,
            None => {
                let i = self.balances.len() as u64;
                self.balances.push(Balance { id: i, owner: account, asset_type: delta.asset_id, balance: 0 });
                self.balance_index.insert(key, i);
                i
            }
        };
        self.balances[index as usize].balance += delta.amount;
        self.dirty.insert(ObjectId::new(2, 5, index));
        self.dirty.insert(ObjectId::new(2, 6, account.instance()));
    }

    fn deposit_cashback(&mut self, account: AccountId, amount: i64, now: TimePointSec) {
        if amount <= 0 {
            return;
        }
        // committee, witness, relaxed-committee, null and temp accounts get no cashback: burned.
        if account.instance() <= TEMP_ACCOUNT.instance() {
            return;
        }
        let Some(acct) = self.accounts.get(account.instance() as usize) else { return };
        let vb = match acct.cashback_vb {
            Some(vb) => vb,
            None => {
                let id = self.vesting.len() as u64;
                self.vesting.push(VestingBalance::cashback(id, account, now));
                self.accounts[account.instance() as usize].cashback_vb = Some(VestingBalanceId::new(id));
                self.dirty.insert(ObjectId::new(1, 2, account.instance()));
                VestingBalanceId::new(id)
            }
        };
        self.vesting[vb.instance() as usize].balance += amount;
        self.dirty.insert(ObjectId::new(1, 13, vb.instance()));
    }

    /// Splits a paid fee as `account_statistics_object::process_fees` does, at once.
    fn process_fee(&mut self, payer: AccountId, fee: i64, now: TimePointSec) {
        let Some(a) = self.accounts.get(payer.instance() as usize).cloned() else { return };
        self.accounts[payer.instance() as usize].lifetime_fees_paid += fee;
        let network_cut = fee * i64::from(a.network_fee_percentage) / FULL_PERCENT;
        let lifetime_cut = fee * i64::from(a.lifetime_referrer_fee_percentage) / FULL_PERCENT;
        let referral = fee - network_cut - lifetime_cut;
        let referrer_cut = referral * i64::from(a.referrer_rewards_percentage) / FULL_PERCENT;
        let registrar_cut = referral - referrer_cut;
        // A referrer that is no longer a member is replaced by the lifetime referrer.
        let referrer =
            if self.account(a.referrer).is_some_and(Account::is_member) { a.referrer } else { a.lifetime_referrer };
        self.deposit_cashback(a.lifetime_referrer, lifetime_cut, now);
        self.deposit_cashback(referrer, referrer_cut, now);
        self.deposit_cashback(a.registrar, registrar_cut, now);
        self.dirty.insert(ObjectId::new(2, 6, payer.instance()));
    }

    /// The fee the node requires for `op` in core-asset satoshis.
    pub fn required_fee(&self, op: &Operation) -> i64 {
        crate::fees::required_fee(&self.params, op, self.dgp.accounts_registered_this_interval)
    }

    /// `validate_transaction`: the processed transaction, without applying it.
    pub fn dry_run(&mut self, trx: &SignedTransaction) -> Result<ProcessedTransaction, FcException> {
        // Apply to a scratch copy of the mutable state and throw it away.
        let snapshot = self.snapshot();
        let result = self.apply_transaction(trx);
        self.restore(snapshot);
        result.map(|p| p.trx)
    }

    /// Validates and applies a transaction to the pending state (`push_transaction`).
    pub fn push_transaction(&mut self, trx: &SignedTransaction) -> Result<Pending, FcException> {
        let snapshot = self.snapshot();
        match self.apply_transaction(trx) {
            Ok(p) => {
                self.pending.push(p.clone());
                Ok(p)
            }
            Err(e) => {
                self.restore(snapshot);
                Err(e)
            }
        }
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            accounts: self.accounts.clone(),
            names: self.names.clone(),
            balances: self.balances.clone(),
            balance_index: self.balance_index.clone(),
            vesting: self.vesting.clone(),
            dgp: self.dgp.clone(),
            history_len: self.history.len(),
            account_history: self.account_history.clone(),
            recent_tx: self.recent_tx.clone(),
            dirty: self.dirty.clone(),
        }
    }

    fn restore(&mut self, s: Snapshot) {
        self.accounts = s.accounts;
        self.names = s.names;
        self.balances = s.balances;
        self.balance_index = s.balance_index;
        self.vesting = s.vesting;
        self.dgp = s.dgp;
        self.history.truncate(s.history_len);
        self.account_history = s.account_history;
        self.recent_tx = s.recent_tx;
        self.dirty = s.dirty;
    }

    fn apply_transaction(&mut self, trx: &SignedTransaction) -> Result<Pending, FcException> {
        let tx = &trx.transaction;
        let params_max_size = self.param_i64("maximum_transaction_size");
        let max_until = u32::try_from(self.param_i64("maximum_time_until_expiration")).unwrap_or(86_400);
        // trx.validate()
        if tx.operations.is_empty() {
            return Err(assert_err("operations.size() > 0", "A transaction must have at least one operation"));
        }
        tx.check_key_prefixes(self.prefix)
            .map_err(|e| FcException::new(4, "parse_error_exception", "Parse Error", e.to_string()))?;
        for op in &tx.operations {
            crate::evaluate::validate(op)?;
        }
        let size = trx.signed_bytes().len() as i64;
        if size > params_max_size {
            return Err(assert_err(
                "trx_size <= chain_parameters.maximum_transaction_size",
                format!("Transaction exceeds maximum transaction size ({size} > {params_max_size} bytes)"),
            ));
        }
        let id = tx.id();
        if self.recent_tx.contains_key(&id) {
            return Err(FcException::new(
                3_030_001,
                "duplicate_transaction",
                "duplicate transaction",
                format!("Transaction '{id}' is already in the database"),
            )
            .with_data(json!({"trx_id": id.to_string()})));
        }
        self.verify_authority(trx)?;
        // TaPoS, then expiration (too far ahead first, then expired), as the node orders them.
        if self.head_block_num() > 0 {
            let summary = self.tapos_block_id(tx.ref_block_num);
            let expected = summary.map(|b| TaposRef::from_block_id(&b).ref_block_prefix);
            if expected != Some(tx.ref_block_prefix) {
                return Err(assert_err("trx.ref_block_prefix == tapos_block_summary.block_id._hash[1].value()", ""));
            }
            match check_expiration(tx.expiration, self.head_time(), max_until) {
                Ok(()) => {}
                Err(ExpirationError::TooFarAhead) => {
                    return Err(assert_err(
                        "trx.expiration <= now + chain_parameters.maximum_time_until_expiration",
                        "",
                    )
                    .with_data(
                        json!({"trx.expiration": tx.expiration, "now": self.head_time(), "max_til_exp": max_until}),
                    ));
                }
                Err(ExpirationError::Expired) => {
                    return Err(assert_err("now <= trx.expiration", "")
                        .with_data(json!({"now": self.head_time(), "trx.exp": tx.expiration})));
                }
            }
        }
        let now = self.head_time();
        let block_num = self.head_block_num() + 1;
        let trx_in_block = self.pending.len();
        let mut results = Vec::with_capacity(tx.operations.len());
        for (op_in_trx, op) in tx.operations.iter().enumerate() {
            let required = self.required_fee(op);
            let fee = op.fee();
            if fee.asset_id != CORE_ASSET {
                return Err(assert_err(
                    "fee.asset_id == asset_id_type()",
                    "the devnet accepts fees in the core asset only",
                ));
            }
            // generic_evaluator::start_evaluate: the fee check comes before do_evaluate.
            if fee.amount < required {
                return Err(FcException::new(
                    4_010_007,
                    "insufficient_fee",
                    "insufficient fee",
                    "Insufficient Fee Paid",
                )
                .with_data(json!({"core_fee_paid": fee.amount, "required": required})));
            }
            crate::evaluate::evaluate(self, op)?;
            let payer = op.fee_payer();
            self.pay(payer, fee.amount)?;
            // Fees are split before the operation applies, so an upgrade's fee still rewards the
            // account's old referrer chain (account_upgrade_evaluator::do_apply).
            self.process_fee(payer, fee.amount, now);
            let result = self.apply_operation(op, now, block_num)?;
            self.record_history(op, &result, block_num, trx_in_block, op_in_trx);
            results.push(result);
        }
        self.recent_tx.insert(id, tx.expiration);
        Ok(Pending { trx: ProcessedTransaction { signed: trx.clone(), operation_results: results }, id })
    }

    fn tapos_block_id(&self, ref_block_num: u16) -> Option<BlockId> {
        let head = self.head_block_num();
        // The newest block whose low 16 bits match, within the window.
        let mut num = (head & !0xffff) | u32::from(ref_block_num);
        if num > head {
            num = num.checked_sub(TAPOS_WINDOW)?;
        }
        if head.saturating_sub(num) >= TAPOS_WINDOW {
            return None;
        }
        self.block_id(num)
    }

    fn pay(&mut self, payer: AccountId, amount: i64) -> Result<(), FcException> {
        self.debit(payer, Asset::core(amount))
    }

    /// Takes `amount` from an account, failing as `database::adjust_balance` does.
    fn debit(&mut self, account: AccountId, amount: Asset) -> Result<(), FcException> {
        let have = self.balance(account, amount.asset_id);
        if have < amount.amount {
            let name = self.account(account).map(|a| a.name.clone()).unwrap_or_default();
            return Err(assert_err(
                "itr->get_balance() >= -delta",
                format!(
                    "Insufficient Balance: {name}'s balance of {} is less than required {}",
                    self.format_amount(Asset { amount: have, asset_id: amount.asset_id }),
                    self.format_amount(amount)
                ),
            ));
        }
        self.adjust_balance(account, Asset { amount: -amount.amount, asset_id: amount.asset_id });
        Ok(())
    }

    /// An amount the way the node prints it: `1 BTS`, `0.5 BTS`.
    pub fn format_amount(&self, a: Asset) -> String {
        let (symbol, precision) = self
            .assets
            .get(a.asset_id.instance() as usize)
            .map_or(("?".to_owned(), 0), |x| (x.symbol.clone(), x.precision));
        let scale = 10i64.pow(u32::from(precision));
        let whole = a.amount / scale;
        let frac = (a.amount % scale).abs();
        if frac == 0 {
            format!("{whole} {symbol}")
        } else {
            let digits = format!("{frac:0width$}", width = usize::from(precision));
            format!("{whole}.{} {symbol}", digits.trim_end_matches('0'))
        }
    }

    fn apply_operation(
        &mut self,
        op: &Operation,
        now: TimePointSec,
        block_num: u32,
    ) -> Result<OperationResult, FcException> {
        match op {
            Operation::Transfer(t) => {
                // do_evaluate checked the balance before the fee was paid; the fee may have
                // eaten into it since (adjust_balance's check).
                self.debit(t.from, t.amount)?;
                self.adjust_balance(t.to, t.amount);
                Ok(OperationResult::Void)
            }
            Operation::AccountCreate(c) => {
                let id = self.create_account(
                    &c.name,
                    c.owner.clone(),
                    c.active.clone(),
                    c.options.memo_key,
                    Some(c),
                    now,
                    block_num,
                );
                self.dgp.accounts_registered_this_interval += 1;
                Ok(OperationResult::ObjectId(ObjectId::new(1, 2, id)))
            }
            Operation::AccountUpgrade(u) => {
                let network = self.network_percent();
                self.accounts[u.account_to_upgrade.instance() as usize].make_lifetime_member(network);
                self.dirty.insert(ObjectId::new(1, 2, u.account_to_upgrade.instance()));
                Ok(OperationResult::Void)
            }
            Operation::VestingBalanceWithdraw(w) => {
                let vb = &mut self.vesting[w.vesting_balance.instance() as usize];
                vb.balance -= w.amount.amount;
                self.dirty.insert(ObjectId::new(1, 13, w.vesting_balance.instance()));
                self.adjust_balance(w.owner, w.amount);
                Ok(OperationResult::Void)
            }
            Operation::Generic(g) if g.tag() == 6 => {
                let id = op.fee_payer().instance();
                let parse = |name: &str| g.member_json(name);
                let owner = parse("owner").and_then(|a| serde_json::from_value::<Authority>(a).ok());
                let active = parse("active").and_then(|a| serde_json::from_value::<Authority>(a).ok());
                let options = parse("new_options").and_then(|o| serde_json::from_value::<AccountOptions>(o).ok());
                let account = &mut self.accounts[id as usize];
                if let Some(owner) = owner {
                    account.owner = owner;
                }
                if let Some(active) = active {
                    account.active = active;
                }
                if let Some(options) = options {
                    account.options = options;
                }
                self.dirty.insert(ObjectId::new(1, 2, id));
                Ok(OperationResult::Void)
            }
            // validate() refused every other operation before it got here.
            Operation::Generic(g) => {
                Err(FcException::assert("false", format!("the devnet does not implement operation {}", g.tag())))
            }
        }
    }

    pub(crate) fn insufficient_transfer(&self, t: &TransferOperation) -> FcException {
        let from = self.account(t.from).map(|a| a.name.clone()).unwrap_or_default();
        let to = self.account(t.to).map(|a| a.name.clone()).unwrap_or_default();
        let have =
            self.format_amount(Asset { amount: self.balance(t.from, t.amount.asset_id), asset_id: t.amount.asset_id });
        let amount = self.format_amount(t.amount);
        // The transfer evaluator's FC_CAPTURE_AND_RETHROW adds the second sentence.
        assert_err(
            "insufficient_balance",
            format!("Insufficient Balance: {have}, unable to transfer '{amount}' from account '{from}' to '{to}'"),
        )
        .rethrown(format!("Unable to transfer {amount} from {from} to {to}"))
    }

    fn record_history(
        &mut self,
        op: &Operation,
        result: &OperationResult,
        block_num: u32,
        trx_in_block: usize,
        op_in_trx: usize,
    ) {
        let id = self.history.len() as u64;
        self.history.push(OperationHistory {
            id,
            op: op.clone(),
            result: result.clone(),
            block_num,
            trx_in_block: trx_in_block as u16,
            op_in_trx: op_in_trx as u16,
        });
        let mut impacted = vec![op.fee_payer()];
        match op {
            Operation::Transfer(t) => impacted.push(t.to),
            Operation::AccountCreate(c) => {
                impacted.push(c.referrer);
                if let OperationResult::ObjectId(new) = result {
                    impacted.push(AccountId::new(new.instance));
                }
            }
            Operation::AccountUpgrade(_) | Operation::VestingBalanceWithdraw(_) => {}
            Operation::Generic(g) => {
                // account_update: the accounts its new authorities name (operation_get_impacted_accounts).
                for name in ["owner", "active"] {
                    if let Some(auth) = g.member_json(name).and_then(|a| serde_json::from_value::<Authority>(a).ok()) {
                        impacted.extend(auth.account_auths.iter().map(|(id, _)| *id));
                    }
                }
            }
        }
        impacted.sort();
        impacted.dedup();
        for a in impacted {
            self.account_history.entry(a.instance()).or_default().push(id);
            self.dirty.insert(ObjectId::new(2, 6, a.instance()));
        }
    }

    /// Recovers the signing keys and checks them against the required active authorities
    /// (`verify_authority`): missing → "Missing Active Authority", unused → irrelevant signature.
    fn verify_authority(&self, trx: &SignedTransaction) -> Result<(), FcException> {
        let digest = trx.transaction.digest(&self.chain_id);
        let mut keys: Vec<PublicKey> = Vec::new();
        for sig in &trx.signatures {
            let key = sig.recover_canonical(&digest, self.prefix).map_err(|e| match e {
                Error::NonCanonicalSignature => {
                    assert_err("!check_canonical || public_key::is_canonical( c )", "signature is not canonical")
                }
                other => assert_err("verify_and_recover", other.to_string()),
            })?;
            if keys.contains(&key) {
                return Err(FcException::new(
                    4_010_005,
                    "tx_duplicate_sig",
                    "duplicate signature included",
                    "Duplicate Signature detected",
                ));
            }
            keys.push(key);
        }
        let mut used = vec![false; keys.len()];
        let mut required: Vec<AccountId> = trx.transaction.operations.iter().map(Operation::fee_payer).collect();
        required.sort();
        required.dedup();
        for account_id in required {
            let Some(account) = self.account(account_id) else {
                return Err(assert_err("account exists", format!("account {account_id} does not exist")));
            };
            let ok_active = self.authority_satisfied(&account.active, &keys, &mut used, 0);
            let ok = ok_active || self.authority_satisfied(&account.owner, &keys, &mut used, 0);
            if !ok {
                return Err(FcException::new(
                    4_010_001,
                    "tx_missing_active_auth",
                    "missing required active authority",
                    format!("Missing Active Authority {account_id}"),
                )
                .with_data(json!({"id": account_id.to_string()})));
            }
        }
        if used.iter().any(|u| !u) {
            return Err(FcException::new(
                4_010_004,
                "tx_irrelevant_sig",
                "irrelevant signature included",
                "Unnecessary signature(s) detected",
            ));
        }
        Ok(())
    }

    fn authority_satisfied(&self, auth: &Authority, keys: &[PublicKey], used: &mut [bool], depth: u32) -> bool {
        let mut weight: u64 = 0;
        for (key, w) in auth.key_auths.iter() {
            if let Some(i) = keys.iter().position(|k| k == key) {
                used[i] = true;
                weight += u64::from(*w);
            }
        }
        // max_authority_depth 2, as in the dev genesis parameters.
        if depth < 2 {
            for (account, w) in auth.account_auths.iter() {
                if let Some(a) = self.account(*account) {
                    let active = a.active.clone();
                    if self.authority_satisfied(&active, keys, used, depth + 1) {
                        weight += u64::from(*w);
                    }
                }
            }
        }
        weight >= u64::from(auth.weight_threshold) && auth.weight_threshold > 0
    }

    /// Produces the next block at `timestamp` with every pending transaction, signed by the
    /// scheduled witness.
    pub fn produce_block(&mut self, timestamp: TimePointSec) -> Result<(SignedBlock, BlockApplied), String> {
        let interval = self.block_interval().max(1);
        let slot_time = |t: u32| t - t % interval;
        let timestamp = TimePointSec(slot_time(timestamp.secs()).max(self.head_time().secs() + interval));
        let aslot = self.dgp.current_aslot + u64::from((timestamp.secs() - self.head_time().secs()) / interval);
        let witness_index = (aslot % INIT_WITNESSES) + 1;
        let witness = WitnessId::new(witness_index);
        let pending = std::mem::take(&mut self.pending);
        let previous = self.block_id(self.head_block_num()).unwrap_or_default();
        let block = SignedBlock::sign(
            previous,
            timestamp,
            witness,
            pending.iter().map(|p| p.trx.clone()).collect(),
            &self.init_key,
        )
        .map_err(|e| format!("signing block: {e}"))?;
        let applied = self.apply_block_header(&block, aslot, pending);
        Ok((block, applied))
    }

    fn apply_block_header(&mut self, block: &SignedBlock, aslot: u64, pending: Vec<Pending>) -> BlockApplied {
        let num = block.block_num();
        let id = block.id();
        let missed = aslot.saturating_sub(self.dgp.current_aslot + 1);
        self.dgp.head_block_number = num;
        self.dgp.head_block_id = id;
        self.dgp.time = block.header.timestamp;
        self.dgp.current_witness = block.header.witness;
        self.dgp.current_aslot = aslot;
        self.dgp.recently_missed_count = self.dgp.recently_missed_count.saturating_add(missed as u32);
        // With every init witness producing in turn, 70 % of them have built on head − 7.
        let offset = (FULL_PERCENT as u64 - 7000) * INIT_WITNESSES / FULL_PERCENT as u64;
        self.dgp.last_irreversible_block_num = num.saturating_sub((INIT_WITNESSES - 1 - offset) as u32);
        let maintenance = u32::try_from(self.param_i64("maintenance_interval")).unwrap_or(86_400).max(1);
        while self.dgp.next_maintenance_time <= self.dgp.time {
            self.dgp.last_budget_time = self.dgp.next_maintenance_time;
            self.dgp.last_vote_tally_time = self.dgp.next_maintenance_time;
            self.dgp.next_maintenance_time = TimePointSec(self.dgp.next_maintenance_time.secs() + maintenance);
            self.dgp.accounts_registered_this_interval = 0;
        }
        let witness_idx = block.header.witness.instance() as usize;
        if let Some(w) = self.witnesses.get_mut(witness_idx) {
            w.last_aslot = aslot;
            w.last_confirmed_block_num = num;
        }
        self.block_ids.push(id);
        self.blocks.push(block.clone());
        // Forget ids of expired transactions: they can no longer be replayed.
        let now = self.dgp.time;
        self.recent_tx.retain(|_, exp| *exp >= now);
        let included: Vec<Inclusion> = pending
            .into_iter()
            .enumerate()
            .map(|(trx_num, p)| {
                self.included.insert(p.id, (num, trx_num));
                Inclusion { id: p.id, block_num: num, trx_num, trx: p.trx }
            })
            .collect();
        self.dgp_history.push_back(self.dgp.clone());
        if self.dgp_history.len() > DGP_HISTORY {
            self.dgp_history.pop_front();
        }
        self.dirty.insert(DYNAMIC_GLOBAL_PROPERTIES);
        self.dirty.insert(ObjectId::new(1, 6, witness_idx as u64));
        let changed = std::mem::take(&mut self.dirty).into_iter().collect();
        BlockApplied { block_num: num, block_id: id, changed, included }
    }

    /// Re-applies a stored block (restart from the data dir): its transactions, then its header.
    pub fn replay_block(&mut self, block: &SignedBlock) -> Result<BlockApplied, String> {
        let num = block.block_num();
        if num != self.head_block_num() + 1
            || block.header.previous != self.block_id(self.head_block_num()).unwrap_or_default()
        {
            return Err(format!("block {num} does not extend head {}", self.head_block_num()));
        }
        for t in &block.transactions {
            self.push_transaction(&t.signed)
                .map_err(|e| format!("block {num}: transaction rejected on replay: {e}"))?;
        }
        let interval = self.block_interval().max(1);
        let aslot =
            self.dgp.current_aslot + u64::from((block.header.timestamp.secs() - self.head_time().secs()) / interval);
        let pending = std::mem::take(&mut self.pending);
        Ok(self.apply_block_header(block, aslot, pending))
    }
}

struct Snapshot {
    accounts: Vec<Account>,
    names: std::collections::BTreeMap<String, u64>,
    balances: Vec<Balance>,
    balance_index: HashMap<(u64, u64), u64>,
    vesting: Vec<VestingBalance>,
    dgp: DynamicGlobalProperties,
    history_len: usize,
    account_history: HashMap<u64, Vec<u64>>,
    recent_tx: HashMap<TransactionId, TimePointSec>,
    dirty: BTreeSet<ObjectId>,
}
