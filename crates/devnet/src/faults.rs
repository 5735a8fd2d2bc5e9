//! Per-endpoint fault injection: what the gateway's failover tests break on purpose.
//!
//! Each node endpoint of the devnet has its own [`Faults`]. A stalled endpoint freezes its view
//! of the chain at the head it had when stalled; a lagging one shows the chain N blocks behind.
//! Both only change what that endpoint *shows* (2.1.0, blocks, notices); the chain itself keeps
//! producing, as a network would around one bad node.

use serde::{Deserialize, Serialize};

/// The faults currently injected into one endpoint. All off by default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Stop advancing the head this endpoint shows (it falls out of sync).
    #[serde(default)]
    pub stall: bool,
    /// Show the chain this many blocks behind the real head.
    #[serde(default)]
    pub lag: u32,
    /// Delay every answer by this many milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Answer this fraction of calls (0.0–1.0) with an internal error.
    #[serde(default)]
    pub error_rate: f64,
    /// Refuse new connections (the port is closed) and drop existing ones.
    #[serde(default)]
    pub refuse: bool,
    /// Report a different chain id from `get_chain_id` / `get_chain_properties`.
    #[serde(default)]
    pub wrong_chain_id: bool,
}

/// A partial update of [`Faults`] (admin API `PATCH` body): only the given fields change.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsPatch {
    /// See [`Faults::stall`].
    pub stall: Option<bool>,
    /// See [`Faults::lag`].
    pub lag: Option<u32>,
    /// See [`Faults::latency_ms`].
    pub latency_ms: Option<u64>,
    /// See [`Faults::error_rate`].
    pub error_rate: Option<f64>,
    /// See [`Faults::refuse`].
    pub refuse: Option<bool>,
    /// See [`Faults::wrong_chain_id`].
    pub wrong_chain_id: Option<bool>,
}

impl Faults {
    /// Applies a patch, validating ranges.
    pub fn apply(&mut self, patch: &FaultsPatch) -> Result<(), String> {
        if let Some(rate) = patch.error_rate {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("error_rate must be between 0 and 1, got {rate}"));
            }
            self.error_rate = rate;
        }
        if let Some(v) = patch.stall {
            self.stall = v;
        }
        if let Some(v) = patch.lag {
            self.lag = v;
        }
        if let Some(v) = patch.latency_ms {
            self.latency_ms = v;
        }
        if let Some(v) = patch.refuse {
            self.refuse = v;
        }
        if let Some(v) = patch.wrong_chain_id {
            self.wrong_chain_id = v;
        }
        Ok(())
    }

    /// Parses a command-line fault spec: `stall`, `lag=N`, `latency=MS`, `error-rate=P`,
    /// `refuse`, `wrong-chain-id`.
    pub fn parse_spec(spec: &str) -> Result<FaultsPatch, String> {
        let mut patch = FaultsPatch::default();
        let (key, value) = spec.split_once('=').map_or((spec, None), |(k, v)| (k, Some(v)));
        let num = |v: Option<&str>| -> Result<u64, String> {
            v.ok_or_else(|| format!("fault \"{key}\" needs a value: {key}=N"))?
                .parse()
                .map_err(|_| format!("fault \"{spec}\": not a number"))
        };
        match key {
            "stall" => patch.stall = Some(true),
            "refuse" => patch.refuse = Some(true),
            "wrong-chain-id" => patch.wrong_chain_id = Some(true),
            "lag" => patch.lag = Some(u32::try_from(num(value)?).map_err(|_| "lag too large".to_owned())?),
            "latency" => patch.latency_ms = Some(num(value)?),
            "error-rate" => {
                let rate: f64 = value
                    .ok_or("fault \"error-rate\" needs a value: error-rate=0.5")?
                    .parse()
                    .map_err(|_| format!("fault \"{spec}\": not a number"))?;
                patch.error_rate = Some(rate);
            }
            other => {
                return Err(format!(
                    "unknown fault \"{other}\": expected stall, lag=N, latency=MS, error-rate=P, refuse or wrong-chain-id"
                ));
            }
        }
        Faults::default().apply(&patch)?;
        Ok(patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_validate() {
        let p = Faults::parse_spec("lag=3").unwrap();
        assert_eq!(p.lag, Some(3));
        assert_eq!(Faults::parse_spec("stall").unwrap().stall, Some(true));
        assert!(Faults::parse_spec("error-rate=1.5").unwrap_err().contains("between 0 and 1"));
        assert!(Faults::parse_spec("explode").unwrap_err().contains("unknown fault"));
        assert!(Faults::parse_spec("lag").unwrap_err().contains("needs a value"));
    }
}
