//! Fee calculation as the node does it (`fee_schedule_calc.cpp`, each operation's
//! `calculate_fee`), read from the chain parameters' `current_fees`.

use bts_protocol::{Operation, Pack};
use serde_json::Value;

/// `calculate_data_fee`: `bytes × price_per_kbyte / 1024`, in 128-bit integer arithmetic.
pub fn data_fee(bytes: usize, price_per_kbyte: i64) -> i64 {
    let fee = (bytes as i128) * i128::from(price_per_kbyte) / 1024;
    i64::try_from(fee).unwrap_or(i64::MAX)
}

fn fee_params(params: &Value, tag: u64) -> Option<&Value> {
    params["current_fees"]["parameters"]
        .as_array()?
        .iter()
        .find(|entry| entry.get(0).and_then(Value::as_u64) == Some(tag))
        .and_then(|entry| entry.get(1))
}

fn field(v: Option<&Value>, key: &str) -> i64 {
    v.and_then(|p| p.get(key)).and_then(|x| x.as_i64().or_else(|| x.as_str()?.parse().ok())).unwrap_or(0)
}

/// The core-asset fee required for `op`, given how many accounts were registered in the
/// current maintenance interval (which scales `basic_fee` by `account_fee_scale_bitshifts`).
pub fn required_fee(params: &Value, op: &Operation, accounts_registered_this_interval: u32) -> i64 {
    let p = fee_params(params, op.tag());
    let base = match op {
        Operation::Transfer(t) => {
            let memo_fee = t.memo.as_ref().map_or(0, |m| data_fee(m.to_bytes().len(), field(p, "price_per_kbyte")));
            field(p, "fee") + memo_fee
        }
        Operation::AccountCreate(c) => {
            let per_scale = field(Some(params), "accounts_per_fee_scale").max(1);
            let shifts = field(Some(params), "account_fee_scale_bitshifts");
            let doublings = (i64::from(accounts_registered_this_interval) / per_scale) * shifts;
            let basic = field(p, "basic_fee").checked_shl(u32::try_from(doublings).unwrap_or(63)).unwrap_or(i64::MAX);
            let name_fee = if bts_protocol::is_cheap_name_chain(&c.name) { basic } else { field(p, "premium_fee") };
            name_fee.saturating_add(data_fee(op.pack_size(), field(p, "price_per_kbyte")))
        }
        Operation::AccountUpgrade(u) => {
            if u.upgrade_to_lifetime_member {
                field(p, "membership_lifetime_fee")
            } else {
                field(p, "membership_annual_fee")
            }
        }
        Operation::VestingBalanceWithdraw(_) => field(p, "fee"),
        // account_update: `fee + calculate_data_fee(pack_size, price_per_kbyte)`.
        Operation::Generic(g) if g.tag() == 6 => {
            field(p, "fee").saturating_add(data_fee(op.pack_size(), field(p, "price_per_kbyte")))
        }
        Operation::Generic(_) => field(p, "fee"),
    };
    let scale = params["current_fees"]["scale"].as_i64().unwrap_or(10_000);
    i64::try_from(i128::from(base) * i128::from(scale) / 10_000).unwrap_or(i64::MAX)
}
