//! A session's subscription journal: the node-side state a WebSocket client has built up with
//! state-changing calls, kept so that the session can be rebuilt on another upstream.
//!
//! A node keeps subscriptions per connection (`../shared/reference/gateway.md` §3): the
//! subscribe callback and its flag, auto-subscription, block-applied and pending-transaction
//! callbacks, market subscriptions, full-account subscriptions, and every object an
//! auto-subscribing read returned. The journal keeps the *current* value of each (not a log),
//! so it stays small however long the session lives, and [`Journal::replay`] yields the calls
//! that recreate it. Arguments are stored as sent upstream, i.e. with the gateway's callback
//! ids, which stay the same across a move.

use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::BTreeSet;

/// Reads that subscribe the caller to the objects they return (once a subscribe callback is
/// set and unless auto-subscription is off or the call's own flag says otherwise).
const AUTO_SUBSCRIBING: &[&str] = &[
    "get_objects",
    "get_accounts",
    "get_assets",
    "lookup_accounts",
    "get_full_accounts",
    "get_htlc",
    "get_liquidity_pools",
    "get_liquidity_pools_by_share_asset",
];

/// Methods that change what the node pushes to this connection.
pub const JOURNALED: &[&str] = &[
    "set_subscribe_callback",
    "set_auto_subscription",
    "set_block_applied_callback",
    "set_pending_transaction_callback",
    "subscribe_to_market",
    "unsubscribe_from_market",
    "cancel_all_subscriptions",
    "get_full_accounts",
    "unsubscribe_from_accounts",
];

/// The subscription state of one session.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Journal {
    subscribe: Option<String>,
    subscribe_callback: Option<u64>,
    auto_subscription: Option<bool>,
    block_applied: Option<String>,
    pending_transactions: Option<String>,
    /// (base, quote) → the `subscribe_to_market` arguments.
    markets: Vec<((String, String), String)>,
    /// Names or ids given to `get_full_accounts(…, true)`.
    full_accounts: BTreeSet<String>,
    /// Ids of objects returned by auto-subscribing reads.
    objects: BTreeSet<String>,
}

fn parts(args: &str) -> Vec<&RawValue> {
    serde_json::from_str::<Vec<&RawValue>>(args).unwrap_or_default()
}

fn string_list(raw: Option<&&RawValue>) -> Vec<String> {
    raw.and_then(|r| serde_json::from_str::<Vec<Value>>(r.get()).ok())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| match v {
            Value::String(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn market_key(a: Option<&&RawValue>, b: Option<&&RawValue>) -> Option<(String, String)> {
    let a: String = serde_json::from_str(a?.get()).ok()?;
    let b: String = serde_json::from_str(b?.get()).ok()?;
    Some(if a <= b { (a, b) } else { (b, a) })
}

impl Journal {
    /// Notes a state-changing call as it is sent upstream (`args` with the gateway's callback id).
    pub fn record(&mut self, method: &str, args: &str) {
        let p = parts(args);
        match method {
            "set_subscribe_callback" => {
                // The node starts a fresh object subscription set for the new callback.
                self.subscribe = Some(args.to_owned());
                self.subscribe_callback = p.first().and_then(|c| c.get().parse().ok());
                self.objects.clear();
            }
            "set_auto_subscription" => {
                self.auto_subscription = p.first().and_then(|b| serde_json::from_str(b.get()).ok());
            }
            "set_block_applied_callback" => self.block_applied = Some(args.to_owned()),
            "set_pending_transaction_callback" => self.pending_transactions = Some(args.to_owned()),
            "subscribe_to_market" => {
                if let Some(key) = market_key(p.get(1), p.get(2)) {
                    self.markets.retain(|(k, _)| *k != key);
                    self.markets.push((key, args.to_owned()));
                }
            }
            "unsubscribe_from_market" => {
                if let Some(key) = market_key(p.first(), p.get(1)) {
                    self.markets.retain(|(k, _)| *k != key);
                }
            }
            "cancel_all_subscriptions" => *self = Journal::default(),
            "get_full_accounts" if p.get(1).is_some_and(|s| s.get() == "true") && self.subscribe.is_some() => {
                self.full_accounts.extend(string_list(p.first()));
            }
            "unsubscribe_from_accounts" => {
                for a in string_list(p.first()) {
                    self.full_accounts.remove(&a);
                }
            }
            _ => {}
        }
    }

    /// Whether the objects in this call's answer become subscribed on the node.
    pub fn learns(&self, method: &str, args: &str) -> bool {
        if self.subscribe.is_none() || !AUTO_SUBSCRIBING.contains(&method) {
            return false;
        }
        // An explicit trailing `subscribe` flag decides; otherwise auto-subscription (default on).
        match parts(args).last().map(|r| r.get()) {
            Some("true") => true,
            Some("false") => false,
            _ => self.auto_subscription != Some(false),
        }
    }

    /// Adds the ids of the objects in an auto-subscribing read's result.
    pub fn learn(&mut self, result: &RawValue) {
        let Ok(items) = serde_json::from_str::<Vec<Value>>(result.get()) else { return };
        for item in items {
            match item {
                Value::Object(o) => {
                    if let Some(Value::String(id)) = o.get("id") {
                        self.objects.insert(id.clone());
                    }
                }
                // lookup_accounts: [name, id]; get_full_accounts: [name, {account: {id}, …}].
                Value::Array(pair) => match pair.get(1) {
                    Some(Value::String(id)) => {
                        self.objects.insert(id.clone());
                    }
                    Some(Value::Object(full)) => {
                        if let Some(Value::String(id)) = full.get("account").and_then(|a| a.get("id")) {
                            self.objects.insert(id.clone());
                        }
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }

    /// Number of subscribed objects.
    pub fn objects(&self) -> usize {
        self.objects.len()
    }

    /// Approximate bytes held (arguments and ids).
    pub fn bytes(&self) -> usize {
        let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        opt(&self.subscribe)
            + opt(&self.block_applied)
            + opt(&self.pending_transactions)
            + self.markets.iter().map(|((a, b), args)| a.len() + b.len() + args.len()).sum::<usize>()
            + self.full_accounts.iter().map(String::len).sum::<usize>()
            + self.objects.iter().map(String::len).sum::<usize>()
    }

    /// The gateway callback id of the subscribe callback, if one is set.
    pub fn subscribe_callback(&self) -> Option<u64> {
        self.subscribe_callback
    }

    /// The `database` API calls (method, arguments) that recreate this state on a fresh
    /// connection, in an order the node accepts.
    pub fn replay(&self) -> Vec<(&'static str, String)> {
        let mut calls = Vec::new();
        if let Some(auto) = self.auto_subscription {
            calls.push(("set_auto_subscription", format!("[{auto}]")));
        }
        if let Some(args) = &self.subscribe {
            calls.push(("set_subscribe_callback", args.clone()));
        }
        if let Some(args) = &self.block_applied {
            calls.push(("set_block_applied_callback", args.clone()));
        }
        if let Some(args) = &self.pending_transactions {
            calls.push(("set_pending_transaction_callback", args.clone()));
        }
        for (_, args) in &self.markets {
            calls.push(("subscribe_to_market", args.clone()));
        }
        if !self.full_accounts.is_empty() {
            let names = serde_json::to_string(&self.full_accounts).unwrap_or_else(|_| "[]".into());
            calls.push(("get_full_accounts", format!("[{names},true]")));
        }
        calls
    }

    /// Arguments of the `get_objects` call that re-subscribes the objects and reads their
    /// current versions (pushed to the client as a notice); `None` when there are none.
    pub fn refresh(&self) -> Option<String> {
        if self.subscribe.is_none() || self.objects.is_empty() {
            return None;
        }
        let ids = serde_json::to_string(&self.objects).ok()?;
        Some(format!("[{ids},true]"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).unwrap()
    }

    #[test]
    fn keeps_current_state_not_a_log() {
        let mut j = Journal::default();
        assert!(!j.learns("get_objects", r#"[["2.1.0"]]"#), "no callback yet: nothing subscribes");
        j.record("set_subscribe_callback", "[5,false]");
        assert!(j.learns("get_objects", r#"[["2.1.0"]]"#));
        assert!(!j.learns("get_objects", r#"[["2.1.0"],false]"#));
        j.learn(&raw(r#"[{"id":"2.1.0","head_block_number":5},null]"#));
        j.learn(&raw(r#"[["nathan","1.2.17"]]"#));
        j.learn(&raw(r#"[["faucet",{"account":{"id":"1.2.16"},"balances":[]}]]"#));
        assert_eq!(j.objects(), 3);
        j.record("subscribe_to_market", r#"[6,"1.3.0","1.3.1"]"#);
        j.record("subscribe_to_market", r#"[7,"1.3.1","1.3.0"]"#);
        j.record("get_full_accounts", r#"[["nathan"],true]"#);
        j.record("set_block_applied_callback", "[8]");
        let replay = j.replay();
        let methods: Vec<_> = replay.iter().map(|(m, _)| *m).collect();
        assert_eq!(
            methods,
            ["set_subscribe_callback", "set_block_applied_callback", "subscribe_to_market", "get_full_accounts"]
        );
        assert_eq!(replay[2].1, r#"[7,"1.3.1","1.3.0"]"#, "the latest subscription to a pair wins");
        assert_eq!(replay[3].1, r#"[["nathan"],true]"#);
        assert_eq!(j.refresh().unwrap(), r#"[["1.2.16","1.2.17","2.1.0"],true]"#);
        assert_eq!(j.subscribe_callback(), Some(5));

        j.record("unsubscribe_from_market", r#"["1.3.0","1.3.1"]"#);
        j.record("unsubscribe_from_accounts", r#"[["nathan"]]"#);
        assert_eq!(j.replay().len(), 2);
        j.record("set_auto_subscription", "[false]");
        assert!(!j.learns("get_accounts", r#"[["1.2.3"]]"#));
        assert!(j.learns("get_accounts", r#"[["1.2.3"],true]"#));
        assert_eq!(j.replay()[0], ("set_auto_subscription", "[false]".to_string()));
        j.record("cancel_all_subscriptions", "[]");
        assert_eq!(j, Journal::default());
        assert!(j.replay().is_empty() && j.refresh().is_none());
    }

    #[test]
    fn a_new_subscribe_callback_starts_a_new_object_set() {
        let mut j = Journal::default();
        j.record("set_subscribe_callback", "[1,true]");
        j.learn(&raw(r#"[{"id":"1.3.0"}]"#));
        j.record("set_subscribe_callback", "[2,false]");
        assert_eq!(j.objects(), 0);
        assert_eq!(j.subscribe_callback(), Some(2));
        assert!(j.bytes() > 0);
    }
}
