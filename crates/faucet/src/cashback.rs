//! How much of a vesting balance can be withdrawn now — the chain's `get_allowed_withdraw` for
//! the two policies (bitshares-core `libraries/chain/vesting_balance_object.cpp`). The database
//! API does not compute it, so the faucet does, to claim its cashback without a refused
//! transaction.

use bts_protocol::TimePointSec;
use serde_json::Value;

fn u128_field(v: &Value) -> Option<u128> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64().map(u128::from),
        _ => None,
    }
}

fn time_field(v: &Value) -> Option<u32> {
    v.as_str().and_then(|s| s.parse::<TimePointSec>().ok()).map(TimePointSec::secs)
}

/// Withdrawable satoshis of a balance of `balance` under `policy` (`[tag, {…}]` as the node
/// writes it) at `now`. Unknown or malformed policies allow nothing.
pub fn withdrawable(policy: &Value, balance: i64, now: TimePointSec) -> i64 {
    let p = &policy[1];
    let now = now.secs();
    let balance_u = u128::try_from(balance.max(0)).unwrap_or(0);
    let allowed = match policy[0].as_u64() {
        // cdd_vesting_policy: coin-seconds earned since the last update, capped at
        // balance × vesting_seconds, divided by vesting_seconds; nothing before start_claim.
        Some(1) => (|| {
            let vesting_seconds = u128::from(p["vesting_seconds"].as_u64()?.max(1));
            let start_claim = time_field(&p["start_claim"])?;
            let earned = u128_field(&p["coin_seconds_earned"])?;
            let last = time_field(&p["coin_seconds_earned_last_update"])?;
            if now <= start_claim || now < last {
                return Some(0);
            }
            let delta = u128::from(now - last);
            let earned = (earned + balance_u * delta).min(balance_u * vesting_seconds);
            Some(earned / vesting_seconds)
        })(),
        // linear_vesting_policy: begin_balance vests linearly after the cliff.
        Some(0) => (|| {
            let begin = time_field(&p["begin_timestamp"])?;
            let cliff = u32::try_from(p["vesting_cliff_seconds"].as_u64()?).ok()?;
            let duration = u128::from(p["vesting_duration_seconds"].as_u64()?);
            let begin_balance = u128::try_from(p["begin_balance"].as_i64()?.max(0)).ok()?;
            if now <= begin.saturating_add(cliff) {
                return Some(0);
            }
            let elapsed = u128::from(now - begin);
            let vested =
                if duration == 0 || elapsed >= duration { begin_balance } else { begin_balance * elapsed / duration };
            let withdrawn = begin_balance.saturating_sub(balance_u);
            Some(vested.saturating_sub(withdrawn))
        })(),
        _ => None,
    };
    allowed.map_or(0, |a| i64::try_from(a.min(balance_u)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> TimePointSec {
        s.parse().unwrap()
    }

    #[test]
    fn cdd_policy_vests_by_coin_seconds() {
        let policy = json!([1, {"vesting_seconds": 100, "start_claim": "2020-01-01T00:00:00",
            "coin_seconds_earned": "0", "coin_seconds_earned_last_update": "2020-01-01T00:00:00"}]);
        assert_eq!(withdrawable(&policy, 1000, t("2020-01-01T00:00:00")), 0);
        assert_eq!(withdrawable(&policy, 1000, t("2020-01-01T00:00:10")), 100);
        assert_eq!(withdrawable(&policy, 1000, t("2020-01-01T00:01:40")), 1000);
        assert_eq!(withdrawable(&policy, 1000, t("2021-01-01T00:00:00")), 1000);
    }

    #[test]
    fn zero_vesting_seconds_allows_everything_after_start() {
        let policy = json!([1, {"vesting_seconds": 0, "start_claim": "2020-01-01T00:00:00",
            "coin_seconds_earned": "0", "coin_seconds_earned_last_update": "2020-01-01T00:00:00"}]);
        assert_eq!(withdrawable(&policy, 5000, t("2020-01-01T00:00:01")), 5000);
    }

    #[test]
    fn linear_policy_respects_cliff_and_past_withdrawals() {
        let policy = json!([0, {"begin_timestamp": "2020-01-01T00:00:00", "vesting_cliff_seconds": 10,
            "vesting_duration_seconds": 100, "begin_balance": 1000}]);
        assert_eq!(withdrawable(&policy, 1000, t("2020-01-01T00:00:05")), 0);
        assert_eq!(withdrawable(&policy, 1000, t("2020-01-01T00:00:50")), 500);
        assert_eq!(withdrawable(&policy, 700, t("2020-01-01T00:00:50")), 200);
    }

    #[test]
    fn unknown_policy_allows_nothing() {
        assert_eq!(withdrawable(&json!([7, {}]), 1000, t("2020-01-01T00:00:05")), 0);
    }
}
