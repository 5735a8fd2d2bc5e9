//! Prometheus metrics of one faucet. The faucet keeps its own recorder (not the process-global
//! one), so it can run in the same process as the gateway (`bts-infra up`) and each service's
//! `/metrics` shows only its own series. Every name starts with `bts_faucet_`.

use metrics::{Counter, Gauge, Label};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// The faucet's recorder and the handles it updates.
pub struct FaucetMetrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// Registrar's core balance, satoshis.
    pub registrar_balance: Gauge,
    /// Cashback withdrawable now, satoshis.
    pub cashback_withdrawable: Gauge,
    /// 1 while the balance is below `funds.low_balance`.
    pub low_balance: Gauge,
    /// Registrations not yet irreversible or failed.
    pub unfinished: Gauge,
    /// Registered accounts that became lifetime members.
    pub upgraded_accounts: Gauge,
    /// Cashback withdrawn, satoshis.
    pub cashback_claimed: Counter,
}

impl std::fmt::Debug for FaucetMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FaucetMetrics")
    }
}

impl Default for FaucetMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl FaucetMetrics {
    /// A fresh recorder with HELP texts (promtool requires them).
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let (registrar_balance, cashback_withdrawable, low_balance, unfinished, upgraded_accounts, cashback_claimed) =
            metrics::with_local_recorder(&recorder, || {
                use metrics::{describe_counter, describe_gauge};
                describe_gauge!("bts_faucet_registrar_balance_satoshis", "Registrar's core-asset balance, satoshis");
                describe_gauge!(
                    "bts_faucet_cashback_withdrawable_satoshis",
                    "Vested cashback withdrawable now, satoshis"
                );
                describe_gauge!("bts_faucet_low_balance", "1 while the registrar balance is below funds.low_balance");
                describe_gauge!("bts_faucet_unfinished_registrations", "Registrations not yet irreversible or failed");
                describe_gauge!("bts_faucet_upgraded_accounts", "Registered accounts that became lifetime members");
                describe_counter!(
                    "bts_faucet_cashback_claimed_satoshis_total",
                    "Cashback withdrawn by the faucet, satoshis"
                );
                describe_counter!("bts_faucet_registrations_total", "Registrations that reached a state, by state");
                describe_counter!("bts_faucet_refusals_total", "Requests refused, by reason");
                describe_counter!("bts_faucet_requests_total", "Registration requests received");
                (
                    metrics::gauge!("bts_faucet_registrar_balance_satoshis"),
                    metrics::gauge!("bts_faucet_cashback_withdrawable_satoshis"),
                    metrics::gauge!("bts_faucet_low_balance"),
                    metrics::gauge!("bts_faucet_unfinished_registrations"),
                    metrics::gauge!("bts_faucet_upgraded_accounts"),
                    metrics::counter!("bts_faucet_cashback_claimed_satoshis_total"),
                )
            });
        Self {
            recorder,
            handle,
            registrar_balance,
            cashback_withdrawable,
            low_balance,
            unfinished,
            upgraded_accounts,
            cashback_claimed,
        }
    }

    fn counter(&self, name: &'static str, labels: Vec<Label>) -> Counter {
        metrics::with_local_recorder(&self.recorder, || metrics::counter!(name, labels))
    }

    /// A registration request arrived.
    pub fn request(&self) {
        self.counter("bts_faucet_requests_total", Vec::new()).increment(1);
    }

    /// A registration reached `state`.
    pub fn reached(&self, state: crate::store::RegistrationState) {
        self.counter("bts_faucet_registrations_total", vec![Label::new("state", state.as_str())]).increment(1);
    }

    /// A request was refused for `reason`.
    pub fn refused(&self, reason: &'static str) {
        self.counter("bts_faucet_refusals_total", vec![Label::new("reason", reason)]).increment(1);
    }

    /// The exposition text for `/metrics`.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}
