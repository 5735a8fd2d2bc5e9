//! The node API as `witness_node` serves it: login, database, network_broadcast and history,
//! with per-connection API ids and the node's error shapes.
//!
//! A [`Session`] is one client connection's state (API ids, callbacks, subscriptions); HTTP
//! requests each get a fresh one, as on the node. [`dispatch`] answers one call.

use crate::chain::Chain;
use crate::methods::{
    BROADCAST_METHODS, CUSTOM_OPERATIONS_METHODS, DATABASE_METHODS, HISTORY_METHODS, LOGIN_METHODS, ORDERS_METHODS,
};
use crate::node::Endpoint;
use bts_protocol::*;
use bts_rpc::FcException;
use bts_rpc::wire::{ApiRef, Call, RpcError};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

/// The API sets a connection can obtain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiKind {
    /// `database` (always id 0).
    Database,
    /// `login` (always id 1).
    Login,
    /// `network_broadcast`.
    NetworkBroadcast,
    /// `history`.
    History,
    /// `orders` (available, no methods served by the devnet).
    Orders,
    /// `custom_operations` (available, no methods served by the devnet).
    CustomOperations,
}

impl ApiKind {
    fn methods(self) -> &'static [&'static str] {
        match self {
            ApiKind::Database => DATABASE_METHODS,
            ApiKind::Login => LOGIN_METHODS,
            ApiKind::NetworkBroadcast => BROADCAST_METHODS,
            ApiKind::History => HISTORY_METHODS,
            ApiKind::Orders => ORDERS_METHODS,
            ApiKind::CustomOperations => CUSTOM_OPERATIONS_METHODS,
        }
    }

    fn from_login_method(name: &str) -> Option<Self> {
        Some(match name {
            "database" => ApiKind::Database,
            "network_broadcast" => ApiKind::NetworkBroadcast,
            "history" => ApiKind::History,
            "orders" => ApiKind::Orders,
            "custom_operations" => ApiKind::CustomOperations,
            _ => return None,
        })
    }
}

/// One client connection's state.
#[derive(Debug)]
pub struct Session {
    /// API ids handed out, by position (0 = database, 1 = login).
    api_ids: Vec<ApiKind>,
    /// Callback id given to `set_subscribe_callback`.
    pub subscribe_callback: Option<Value>,
    /// `set_auto_subscription` (on by default).
    pub auto_subscribe: bool,
    /// Objects subscribed to by auto-subscribing reads.
    pub subscribed: HashSet<ObjectId>,
    /// Accounts subscribed to through `get_full_accounts(…, true)`.
    pub subscribed_accounts: HashSet<AccountId>,
    /// Callback id given to `set_block_applied_callback`.
    pub block_callback: Option<Value>,
    /// Callback id given to `set_pending_transaction_callback`.
    pub pending_callback: Option<Value>,
    /// `broadcast_transaction_with_callback` waiting for inclusion: tx id → callback id.
    pub inclusion_callbacks: HashMap<TransactionId, Value>,
    /// HTTP requests cannot receive callbacks.
    pub http: bool,
    /// `login.logout` was called: API sets are refused until `login` again.
    pub logged_out: bool,
}

impl Session {
    /// A fresh connection: ids 0 and 1 exist, auto-subscription on.
    pub fn new(http: bool) -> Self {
        Self {
            api_ids: vec![ApiKind::Database, ApiKind::Login],
            subscribe_callback: None,
            auto_subscribe: true,
            subscribed: HashSet::new(),
            subscribed_accounts: HashSet::new(),
            block_callback: None,
            pending_callback: None,
            inclusion_callbacks: HashMap::new(),
            http,
            logged_out: false,
        }
    }

    fn api_id(&mut self, kind: ApiKind) -> u64 {
        match self.api_ids.iter().position(|k| *k == kind) {
            Some(i) => i as u64,
            None => {
                self.api_ids.push(kind);
                (self.api_ids.len() - 1) as u64
            }
        }
    }

    fn subscribe(&mut self, ids: impl IntoIterator<Item = ObjectId>, explicit: Option<bool>) {
        if self.subscribe_callback.is_some() && explicit.unwrap_or(self.auto_subscribe) {
            self.subscribed.extend(ids);
        }
    }
}

/// What a call produced.
#[derive(Debug)]
pub enum Outcome {
    /// The result.
    Value(Value),
    /// `broadcast_transaction_synchronous`: answer once this transaction is in a block.
    AwaitInclusion(TransactionId),
}

fn bad_cast(from: &Value, to: &str) -> RpcError {
    let from = match from {
        Value::Null => "null_type",
        Value::Bool(_) => "bool_type",
        Value::Number(n) if n.is_f64() => "double_type",
        Value::Number(n) if n.is_u64() => "uint64_type",
        Value::Number(_) => "int64_type",
        Value::String(_) => "string_type",
        Value::Array(_) => "array_type",
        Value::Object(_) => "object_type",
    };
    FcException::new(7, "bad_cast_exception", "Bad Cast", format!("Invalid cast from {from} to {to}")).into_error()
}

fn as_bool(v: &Value) -> Result<bool, RpcError> {
    match v {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => Ok(n.as_f64().is_some_and(|f| f != 0.0)),
        Value::String(s) if s == "true" => Ok(true),
        Value::String(s) if s == "false" => Ok(false),
        Value::String(_) => Err(fc(FcException::new(
            7,
            "bad_cast_exception",
            "Bad Cast",
            "Cannot convert string to bool (only \"true\" or \"false\" can be converted)",
        ))),
        other => Err(bad_cast(other, "bool")),
    }
}

/// An object id read as the node reads one (`object_id.hpp` `from_variant`), with its errors.
fn object_id(v: &Value) -> Result<ObjectId, RpcError> {
    let Some(s) = v.as_str() else {
        let ty = match v {
            Value::Null => "null_type",
            Value::Bool(_) => "bool_type",
            Value::Number(n) if n.is_f64() => "double_type",
            Value::Number(n) if n.is_u64() => "uint64_type",
            Value::Number(_) => "int64_type",
            Value::Array(_) => "array_type",
            _ => "object_type",
        };
        return Err(fc(FcException::new(
            7,
            "bad_cast_exception",
            "Bad Cast",
            format!("Invalid cast from type '{ty}' to Object"),
        )));
    };
    let assert = |expr: &str, msg: &str| fc(FcException::assert(expr, msg).in_method("from_variant"));
    let first = s.find('.').ok_or_else(|| assert("first_dot != std::string::npos", "Missing the first dot"))?;
    if first == 0 {
        return Err(assert("first_dot != 0", "Missing the space part"));
    }
    let second = s[first + 1..]
        .find('.')
        .map(|i| i + first + 1)
        .ok_or_else(|| assert("second_dot != std::string::npos", "Missing the second dot"))?;
    if second == first + 1 {
        return Err(assert("second_dot != first_dot+1", "Missing the type part"));
    }
    let num = |t: &str| -> Result<u64, RpcError> {
        let digits = t.strip_prefix('+').unwrap_or(t);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(fc(FcException::new(4, "parse_error_exception", "Parse Error", "Couldn't parse uint64_t")));
        }
        digits
            .parse()
            .map_err(|_| fc(FcException::new(4, "parse_error_exception", "Parse Error", "Couldn't parse uint64_t")))
    };
    let space = num(&s[..first])?;
    if space > 0xff {
        return Err(assert("space_id <= graphene::db::object_id_type::one_byte_mask", "space overflow"));
    }
    let ty = num(&s[first + 1..second])?;
    if ty > 0xff {
        return Err(assert("type_id <= graphene::db::object_id_type::one_byte_mask", "type overflow"));
    }
    let instance = num(&s[second + 1..])?;
    Ok(ObjectId::new(space as u8, ty as u8, instance))
}

/// Whether witness_node 7.0.2 (with its default plugins) has an object index for this space and
/// type, with the node's error when it has not (`object_database::get_index`).
fn check_index(id: ObjectId) -> Result<(), RpcError> {
    let (space, ty) = (id.space, id.type_id);
    let sized = matches!(space, 1 | 2 | 4 | 5 | 7);
    if space == 255 || !sized {
        let (expr, what) = if space == u8::MAX {
            ("_index.size() > space_id", format!("Database index {space}.{ty} does not exist, index size is 255"))
        } else {
            (
                "_index[space_id].size() > type_id",
                format!("Database index {space}.{ty} does not exist, space size is 0"),
            )
        };
        return Err(fc(FcException::assert(expr, what).in_method("get_index")));
    }
    let registered = match space {
        1 => (2..=22).contains(&ty),
        2 => ty <= 18 && ty != 2,
        4 => ty == 0,
        5 => ty <= 5,
        _ => ty == 0,
    };
    if !registered {
        let what = format!("Database index {space}.{ty} has not been initialized");
        return Err(fc(FcException::assert("tmp != nullptr", what).in_method("get_index")));
    }
    Ok(())
}

/// Positional arguments with the node's errors for missing or mistyped ones.
struct Args(Vec<Value>);

impl Args {
    fn parse(call: &Call) -> Result<Self, RpcError> {
        match call.args_value() {
            Value::Array(a) => Ok(Self(a)),
            other => Err(bad_cast(&other, "Array")),
        }
    }
    /// Argument `i`; missing, it is fc's error for a call with too few arguments.
    fn get(&self, i: usize) -> Result<&Value, RpcError> {
        self.0.get(i).ok_or_else(|| {
            FcException::assert("a0 != e || optional_args", "too few arguments passed to method")
                .in_method("call_generic")
                .into_error()
        })
    }
    /// A callback argument: fc reads it as a uint64 and writes it back as one.
    fn callback(&self, i: usize) -> Result<Value, RpcError> {
        let v = self.get(i)?;
        let n = match v {
            Value::Null => 0,
            Value::Bool(b) => u64::from(*b),
            Value::Number(n) => {
                n.as_u64().or_else(|| n.as_i64().map(|i| i as u64)).unwrap_or_else(|| n.as_f64().unwrap_or(0.0) as u64)
            }
            Value::String(s) => s.parse().map_err(|_| {
                fc(FcException::new(4, "parse_error_exception", "Parse Error", "Couldn't parse uint64_t"))
            })?,
            other => return Err(bad_cast(other, "uint64")),
        };
        Ok(serde_json::from_str(&bts_rpc::fc::Variant::Uint64(n).to_fc_json()).unwrap_or(Value::Null))
    }
    fn opt(&self, i: usize) -> Option<&Value> {
        self.0.get(i).filter(|v| !v.is_null())
    }
    fn array(&self, i: usize) -> Result<&Vec<Value>, RpcError> {
        let v = self.get(i)?;
        v.as_array().ok_or_else(|| bad_cast(v, "Array"))
    }
    fn string(&self, i: usize) -> Result<&str, RpcError> {
        let v = self.get(i)?;
        v.as_str().ok_or_else(|| bad_cast(v, "String"))
    }
    fn u64(&self, i: usize) -> Result<u64, RpcError> {
        let v = self.get(i)?;
        v.as_u64().or_else(|| v.as_str()?.parse().ok()).ok_or_else(|| bad_cast(v, "uint64"))
    }
    /// An optional bool, read as fc's `as_bool` does: numbers are true unless 0, strings must
    /// be `"true"` or `"false"`.
    fn bool_opt(&self, i: usize) -> Result<Option<bool>, RpcError> {
        match self.opt(i) {
            None => Ok(None),
            Some(v) => as_bool(v).map(Some),
        }
    }
    /// A required bool.
    fn bool(&self, i: usize) -> Result<bool, RpcError> {
        as_bool(self.get(i)?)
    }
    fn typed<T: serde::de::DeserializeOwned>(&self, i: usize, what: &str) -> Result<T, RpcError> {
        let v = self.get(i)?;
        serde_json::from_value(v.clone()).map_err(|e| {
            FcException::new(4, "parse_error_exception", "Parse Error", format!("invalid {what}: {e}")).into_error()
        })
    }
    fn strings(&self, i: usize) -> Result<Vec<String>, RpcError> {
        self.array(i)?.iter().map(|v| v.as_str().map(str::to_owned).ok_or_else(|| bad_cast(v, "String"))).collect()
    }
}

fn fc(e: FcException) -> RpcError {
    e.into_error()
}

/// A method witness_node has and the devnet does not serve (docs/conformance.md).
fn unimplemented(method: &str) -> RpcError {
    fc(FcException::assert("false", format!("the devnet does not implement {method}")))
}

fn access_denied() -> RpcError {
    FcException::assert("is_allowed", "Access denied").into_error()
}

/// Answers one call for a session on an endpoint.
pub fn dispatch(endpoint: &Endpoint, session: &mut Session, call: &Call) -> Result<Outcome, RpcError> {
    let kind = match &call.api {
        ApiRef::Id(id) => *session.api_ids.get(usize::try_from(*id).unwrap_or(usize::MAX)).ok_or_else(|| {
            FcException::assert("_local_apis.size() > api_id", "").with_data(json!({"api_id": id})).into_error()
        })?,
        // A named API is resolved by calling that method on the login API.
        ApiRef::Name(name) => match ApiKind::from_login_method(name) {
            Some(kind) => kind,
            None if name == "login" => ApiKind::Login,
            None if LOGIN_METHODS.contains(&name.as_str()) => return Err(access_denied()),
            None => return Err(RpcError::method_not_found(name, LOGIN_METHODS)),
        },
    };
    let args = Args::parse(call)?;
    let method = call.method.as_str();
    if !kind.methods().contains(&method) {
        return Err(RpcError::method_not_found(method, kind.methods()));
    }
    let value = match kind {
        ApiKind::Login => login_api(session, method, &args)?,
        ApiKind::Database => return database_api(endpoint, session, method, &args),
        ApiKind::NetworkBroadcast => return broadcast_api(endpoint, session, method, &args),
        ApiKind::History => history_api(endpoint, method, &args)?,
        ApiKind::Orders | ApiKind::CustomOperations => return Err(unimplemented(method)),
    };
    Ok(Outcome::Value(value))
}

fn login_api(session: &mut Session, method: &str, args: &Args) -> Result<Value, RpcError> {
    if let Some(kind) = ApiKind::from_login_method(method) {
        if session.logged_out {
            return Err(access_denied());
        }
        return Ok(json!(session.api_id(kind)));
    }
    Ok(match method {
        // No api-access file: every user and password is accepted (`bts_rpc::wire::login_result`).
        "login" => {
            let r = bts_rpc::wire::login_result(&Value::Array(args.0.clone()).to_string())?;
            if r == "true" {
                session.logged_out = false;
            }
            serde_json::from_str(r).unwrap_or(Value::Null)
        }
        "logout" => {
            session.logged_out = true;
            json!(false)
        }
        "get_available_api_sets" if session.logged_out => json!([]),
        "get_available_api_sets" => {
            json!(["custom_operations_api", "database_api", "history_api", "network_broadcast_api", "orders_api"])
        }
        "get_info" => json!(""),
        "get_config" if session.logged_out => {
            return Err(fc(FcException::assert("is_allowed", "Access denied, please login")));
        }
        "get_config" => json!({
            "api_limit_get_account_history": 100,
            "api_limit_get_full_accounts": 50,
            "api_limit_lookup_accounts": 1000,
            "api_limit_get_assets": 101,
            "api_limit_get_key_references": 100,
        }),
        // block, network_node, crypto, asset, debug: not granted without api-access.
        _ => return Err(access_denied()),
    })
}

/// A transaction argument. fc's reflection leaves a member the JSON lacks at its default, so a
/// transaction with missing members reaches the node's checks (which then refuse it, e.g. for
/// having no operations): the same defaults are filled in here.
fn parse_tx(args: &Args, i: usize) -> Result<SignedTransaction, RpcError> {
    let mut v = args.get(i)?.clone();
    if let Some(o) = v.as_object_mut() {
        for (k, default) in [
            ("ref_block_num", json!(0)),
            ("ref_block_prefix", json!(0)),
            ("expiration", json!("1970-01-01T00:00:00")),
            ("operations", json!([])),
            ("extensions", json!([])),
            ("signatures", json!([])),
        ] {
            o.entry(k).or_insert(default);
        }
    }
    serde_json::from_value(v).map_err(|e| {
        FcException::new(4, "parse_error_exception", "Parse Error", format!("invalid transaction: {e}")).into_error()
    })
}

fn database_api(endpoint: &Endpoint, session: &mut Session, method: &str, args: &Args) -> Result<Outcome, RpcError> {
    let mut chain = endpoint.chain();
    let view_head = endpoint.visible_head(chain.head_block_num());
    let v = match method {
        "get_chain_id" => json!(endpoint.reported_chain_id(chain.chain_id())),
        "get_chain_properties" => json!({
            "id": "2.11.0",
            "chain_id": endpoint.reported_chain_id(chain.chain_id()),
            "immutable_parameters": {
                "min_committee_member_count": 11,
                "min_witness_count": 11,
                "num_special_accounts": 0,
                "num_special_assets": 0
            }
        }),
        "get_config" => crate::constants::config(chain.prefix()),
        "get_dynamic_global_properties" => dgp_view(&chain, view_head),
        "get_global_properties" => chain.global_properties_json(),
        "get_objects" => {
            let ids = args.array(0)?;
            let explicit = args.bool_opt(1)?;
            let mut out = Vec::with_capacity(ids.len());
            let mut seen = Vec::new();
            let ids = ids.iter().map(object_id).collect::<Result<Vec<_>, _>>()?;
            for id in &ids {
                check_index(*id)?;
            }
            for id in ids {
                let obj = if id == id::well_known::DYNAMIC_GLOBAL_PROPERTIES {
                    Some(dgp_view(&chain, view_head))
                } else {
                    chain.object_json(id)
                };
                if obj.is_some() {
                    seen.push(id);
                }
                out.push(obj.unwrap_or(Value::Null));
            }
            session.subscribe(seen, explicit);
            json!(out)
        }
        "get_block_header" | "get_block" => {
            let num = u32::try_from(args.u64(0)?).unwrap_or(u32::MAX);
            match chain.block(num).filter(|_| num <= view_head) {
                None => Value::Null,
                Some(b) => {
                    let mut v = serde_json::to_value(b).unwrap_or(Value::Null);
                    if let Some(o) = v.as_object_mut().filter(|_| method == "get_block_header") {
                        o.remove("witness_signature");
                        o.remove("transactions");
                    }
                    v
                }
            }
        }
        "get_transaction" => {
            let num = u32::try_from(args.u64(0)?).unwrap_or(u32::MAX);
            let i = args.u64(1)? as usize;
            let Some(block) = chain.block(num).filter(|_| num <= view_head) else {
                return Err(fc(FcException::assert("opt_block", "")));
            };
            match block.transactions.get(i) {
                Some(t) => serde_json::to_value(t).unwrap_or(Value::Null),
                None => return Err(fc(FcException::assert("opt_block->transactions.size() > trx_num", ""))),
            }
        }
        "get_recent_transaction_by_id" => {
            let id: TransactionId = args.typed(0, "transaction id")?;
            chain
                .inclusion(&id)
                .and_then(|(b, i)| chain.block(b)?.transactions.get(i).cloned())
                .map_or(Value::Null, |t| serde_json::to_value(t).unwrap_or(Value::Null))
        }
        "get_accounts" | "lookup_account_names" => {
            let names = args.strings(0)?;
            let explicit = if method == "get_accounts" { args.bool_opt(1)? } else { Some(false) };
            let found: Vec<Option<&crate::objects::Account>> =
                names.iter().map(|n| chain.account_by_name_or_id(n)).collect();
            session.subscribe(found.iter().flatten().map(|a| a.id.object_id()), explicit);
            json!(found.iter().map(|a| a.map_or(Value::Null, |a| a.to_json())).collect::<Vec<_>>())
        }
        "get_account_by_name" => chain.account_by_name(args.string(0)?).map_or(Value::Null, |a| a.to_json()),
        "get_account_count" => json!(chain.accounts.len()),
        "lookup_accounts" => {
            let limit = args.u64(1)?;
            if limit > 1000 {
                return Err(fc(FcException::assert("limit <= 1000", "")));
            }
            let accounts = chain.accounts_from(args.string(0)?, limit as usize);
            session.subscribe(accounts.iter().map(|a| a.id.object_id()), args.bool_opt(2)?);
            json!(accounts.iter().map(|a| json!([a.name, a.id])).collect::<Vec<_>>())
        }
        "get_full_accounts" => {
            let names = args.strings(0)?;
            let subscribe = args.bool_opt(1)?.unwrap_or(false);
            let mut out = Vec::new();
            for n in names {
                let Some(a) = chain.account_by_name_or_id(&n) else { continue };
                if subscribe && session.subscribe_callback.is_some() {
                    session.subscribed_accounts.insert(a.id);
                }
                out.push(json!([n, full_account(&chain, a)]));
            }
            json!(out)
        }
        "unsubscribe_from_accounts" => {
            for n in args.strings(0)? {
                if let Some(a) = chain.account_by_name_or_id(&n) {
                    session.subscribed_accounts.remove(&a.id);
                }
            }
            Value::Null
        }
        "get_key_references" => {
            let keys = args.array(0)?;
            let mut out = Vec::new();
            for k in keys {
                let s = k.as_str().ok_or_else(|| bad_cast(k, "String"))?;
                let key = PublicKey::parse_with_prefix(s, chain.prefix())
                    .map_err(|e| fc(FcException::new(4, "parse_error_exception", "Parse Error", e.to_string())))?;
                out.push(json!(chain.key_references(&key)));
            }
            json!(out)
        }
        "get_account_balances" | "get_named_account_balances" => {
            let who = args.string(0)?;
            let account = if method == "get_named_account_balances" {
                chain.account_by_name(who)
            } else {
                chain.account_by_name_or_id(who)
            };
            let Some(account) = account else {
                return Err(fc(FcException::assert("account != nullptr", format!("no such account: {who}"))));
            };
            let wanted = args.strings(1)?;
            let balances: Vec<Value> = if wanted.is_empty() {
                chain
                    .balances_of(account.id)
                    .iter()
                    .map(|b| json!(Asset { amount: b.balance, asset_id: b.asset_type }))
                    .collect()
            } else {
                wanted
                    .iter()
                    .filter_map(|a| chain.asset_by_symbol_or_id(a))
                    .map(|asset| {
                        let id = AssetId::new(asset.id);
                        json!(Asset { amount: chain.balance(account.id, id), asset_id: id })
                    })
                    .collect()
            };
            json!(balances)
        }
        "get_vesting_balances" => {
            let who = args.string(0)?;
            let account = chain
                .account_by_name_or_id(who)
                .ok_or_else(|| fc(FcException::assert("account != nullptr", format!("no such account: {who}"))))?;
            json!(chain.vesting_of(account.id).iter().map(|v| v.to_json()).collect::<Vec<_>>())
        }
        "get_assets" | "lookup_asset_symbols" => {
            let names = args.strings(0)?;
            let found: Vec<Option<&crate::objects::AssetObject>> =
                names.iter().map(|n| chain.asset_by_symbol_or_id(n)).collect();
            let explicit = if method == "get_assets" { args.bool_opt(1)? } else { Some(false) };
            session.subscribe(found.iter().flatten().map(|a| ObjectId::new(1, 3, a.id)), explicit);
            json!(found.iter().map(|a| a.map_or(Value::Null, |a| a.extended_json())).collect::<Vec<_>>())
        }
        "list_assets" => {
            let limit = args.u64(1)?;
            if limit > 101 {
                return Err(fc(FcException::assert("limit <= 101", "")));
            }
            json!(
                chain
                    .assets_from(args.string(0)?, limit as usize)
                    .iter()
                    .map(|a| a.extended_json())
                    .collect::<Vec<_>>()
            )
        }
        "get_transaction_hex" => json!(hex::encode(parse_tx(args, 0)?.signed_bytes())),
        "get_transaction_hex_without_sig" => json!(hex::encode(parse_tx(args, 0)?.transaction.unsigned_bytes())),
        "get_required_fees" => {
            let ops: Vec<Operation> = args.typed(0, "operations")?;
            let asset = args.string(1)?;
            if chain.asset_by_symbol_or_id(asset).map(|a| a.id) != Some(0) {
                return Err(fc(FcException::assert(
                    "asset exists",
                    format!("the devnet quotes fees in BTS (1.3.0) only, not {asset}"),
                )));
            }
            json!(ops.iter().map(|op| Asset::core(chain.required_fee(op))).collect::<Vec<_>>())
        }
        "get_potential_signatures" | "get_required_signatures" => {
            let tx = parse_tx(args, 0)?;
            let available: Option<Vec<PublicKey>> =
                if method == "get_required_signatures" { Some(args.typed(1, "public keys")?) } else { None };
            let mut keys: Vec<PublicKey> = Vec::new();
            for op in &tx.transaction.operations {
                if let Some(a) = chain.account(op.fee_payer()) {
                    // Potential signatures include owner keys; required ones need only active.
                    let owner = a.owner.key_auths.iter().filter(|_| available.is_none());
                    for (k, _) in a.active.key_auths.iter().chain(owner) {
                        if !keys.contains(k) && available.as_ref().is_none_or(|av| av.contains(k)) {
                            keys.push(*k);
                        }
                    }
                }
            }
            json!(keys)
        }
        // The devnet has no address authorities.
        "get_potential_address_signatures" => json!([]),
        "verify_authority" | "validate_transaction" => {
            let tx = parse_tx(args, 0)?;
            let processed = chain.dry_run(&tx).map_err(fc)?;
            if method == "verify_authority" {
                json!(true)
            } else {
                serde_json::to_value(processed).unwrap_or(Value::Null)
            }
        }
        "set_subscribe_callback" | "set_block_applied_callback" | "set_pending_transaction_callback" => {
            if session.http {
                return Err(fc(FcException::assert("_subscribe_callback", "callbacks need a WebSocket connection")));
            }
            let cb = args.callback(0)?;
            match method {
                "set_subscribe_callback" => {
                    // `notify_remove_create` is not optional.
                    args.bool(1)?;
                    session.subscribe_callback = Some(cb);
                    session.subscribed.clear();
                }
                "set_block_applied_callback" => session.block_callback = Some(cb),
                _ => session.pending_callback = Some(cb),
            }
            Value::Null
        }
        "set_auto_subscription" => {
            session.auto_subscribe = args.bool_opt(0)?.unwrap_or(true);
            Value::Null
        }
        "cancel_all_subscriptions" => {
            session.subscribe_callback = None;
            session.block_callback = None;
            session.pending_callback = None;
            session.subscribed.clear();
            session.subscribed_accounts.clear();
            Value::Null
        }
        _ => return Err(unimplemented(method)),
    };
    drop(chain);
    Ok(Outcome::Value(v))
}

/// 2.1.0 as the endpoint shows it (an older snapshot when it lags or is stalled).
pub fn dgp_view(chain: &Chain, view_head: u32) -> Value {
    chain.dgp_at(view_head).unwrap_or(chain.dgp()).to_json()
}

fn full_account(chain: &Chain, a: &crate::objects::Account) -> Value {
    let name_of = |id: AccountId| chain.account(id).map(|x| x.name.clone()).unwrap_or_default();
    let mut v = json!({
        "account": a.to_json(),
        "statistics": a.statistics_json(),
        "registrar_name": name_of(a.registrar),
        "referrer_name": name_of(a.referrer),
        "lifetime_referrer_name": name_of(a.lifetime_referrer),
        "votes": [],
    });
    if let Some(obj) = a.cashback_vb.and_then(|vb| chain.object_json(vb.object_id())) {
        v["cashback_balance"] = obj;
    }
    let rest = json!({
        "balances": chain.balances_of(a.id).iter().map(|b| b.to_json()).collect::<Vec<_>>(),
        "vesting_balances": chain.vesting_of(a.id).iter().map(|x| x.to_json()).collect::<Vec<_>>(),
        "limit_orders": [],
        "call_orders": [],
        "settle_orders": [],
        "proposals": [],
        "assets": [],
        "withdraws_from": [],
        "withdraws_to": [],
        "htlcs_from": [],
        "htlcs_to": [],
        "more_data_available": {
            "balances": false, "vesting_balances": false, "limit_orders": false, "call_orders": false,
            "settle_orders": false, "proposals": false, "assets": false, "withdraws_from": false,
            "withdraws_to": false, "htlcs_from": false, "htlcs_to": false
        }
    });
    if let (Some(o), Some(r)) = (v.as_object_mut(), rest.as_object()) {
        for (k, x) in r {
            o.insert(k.clone(), x.clone());
        }
    }
    v
}

fn broadcast_api(endpoint: &Endpoint, session: &mut Session, method: &str, args: &Args) -> Result<Outcome, RpcError> {
    let (tx, callback) = match method {
        "broadcast_transaction" | "broadcast_transaction_synchronous" => (parse_tx(args, 0)?, None),
        "broadcast_transaction_with_callback" => {
            if session.http {
                return Err(fc(FcException::assert("cb", "callbacks need a WebSocket connection")));
            }
            let cb = args.callback(0)?;
            (parse_tx(args, 1)?, Some(cb))
        }
        _ => return Err(fc(FcException::assert("false", "broadcast_block is not supported by the devnet"))),
    };
    let pending = endpoint.push_transaction(&tx).map_err(fc)?;
    if let Some(cb) = callback {
        session.inclusion_callbacks.insert(pending.id, cb);
    }
    if method == "broadcast_transaction_synchronous" {
        return Ok(Outcome::AwaitInclusion(pending.id));
    }
    Ok(Outcome::Value(Value::Null))
}

fn history_api(endpoint: &Endpoint, method: &str, args: &Args) -> Result<Value, RpcError> {
    let chain = endpoint.chain();
    let who = args.string(0)?;
    // An unknown account has no history: the node answers an empty list.
    let Some(account) = chain.account_by_name_or_id(who) else { return Ok(json!([])) };
    let entries: Vec<&crate::objects::OperationHistory> = chain.account_history(account.id).collect();
    let limit_check = |limit: u64| {
        if limit > 100 {
            return Err(fc(FcException::assert("limit <= configured_limit", "limit can not be greater than 100")));
        }
        Ok(())
    };
    let out: Vec<Value> = match method {
        // get_account_history(account, stop, limit, start): newest first, ids in [stop, start].
        "get_account_history" => {
            let parse_hist = |i: usize| -> Result<u64, RpcError> {
                let s = args.string(i)?;
                let id: ObjectId = s.parse().map_err(|e: Error| {
                    fc(FcException::new(4, "parse_error_exception", "Parse Error", e.to_string()))
                })?;
                Ok(id.instance)
            };
            let stop = parse_hist(1)?;
            let limit = args.u64(2)?;
            limit_check(limit)?;
            let start = parse_hist(3)?;
            entries
                .iter()
                .filter(|h| (start == 0 || h.id <= start) && h.id >= stop)
                .take(limit as usize)
                .map(|h| h.to_json())
                .collect()
        }
        // get_relative_account_history(account, stop, limit, start): by sequence number.
        "get_relative_account_history" => {
            let limit = args.u64(2)?;
            limit_check(limit)?;
            entries.iter().take(limit as usize).map(|h| h.to_json()).collect()
        }
        _ => return Err(unimplemented(method)),
    };
    Ok(json!(out))
}
