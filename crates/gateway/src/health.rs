//! Upstream health as a small state machine: observations in, state transitions out.
//!
//! A check reads 2.1.0 from the upstream. It is *bad* when it fails or times out, when the chain
//! id is wrong, when the head is older than `max_head_age_secs`, when the head is more than
//! `max_lag_blocks` behind the best upstream, or when the head id disagrees with the majority at
//! the same height (a fork). `fall` consecutive bad checks take an upstream down; `rise`
//! consecutive good ones bring it back (HAProxy semantics, counted in [`Health::record`] only).
//! A good check whose head is more than `lagging_blocks` behind shows as `lagging`: still used,
//! but chosen last. The first check after start decides at once, so a fresh gateway is usable
//! without waiting `rise` intervals.

use crate::config::HealthConfig;
use bts_protocol::{BlockId, TimePointSec};
use serde::Serialize;
use std::time::{Duration, Instant};

/// Operational state of an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Not checked yet.
    Unknown,
    /// In sync; gets traffic.
    Up,
    /// A little behind; gets traffic only when no `up` upstream can take it.
    Lagging,
    /// Failing checks; gets no traffic.
    Down,
}

impl State {
    /// The lowercase name used in logs, stats and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Unknown => "unknown",
            State::Up => "up",
            State::Lagging => "lagging",
            State::Down => "down",
        }
    }
}

/// What the operator set: traffic allowed, no new traffic (drain), or out of service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AdminState {
    /// Normal.
    Enabled,
    /// No new sessions or requests; existing sessions stay.
    Drain,
    /// Out of service: no traffic, existing sessions are closed.
    Maintenance,
}

/// One successful read of an upstream's 2.1.0.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observation {
    /// `head_block_number`.
    pub head: u32,
    /// `head_block_id`.
    pub head_id: BlockId,
    /// `time` of the head block.
    pub head_time: TimePointSec,
    /// `last_irreversible_block_num`.
    pub lib: u32,
    /// How long the read took.
    #[serde(skip)]
    pub latency: Duration,
}

/// The verdict on one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// In sync.
    Good,
    /// Usable but behind by more than `lagging_blocks`.
    Lagging(String),
    /// Failing, with the reason.
    Bad(String),
}

/// What the pool knows about all upstreams when judging one.
#[derive(Debug, Clone, Copy)]
pub struct Reference {
    /// Highest head among upstreams with the right chain id.
    pub best_head: u32,
    /// Wall clock now.
    pub now: TimePointSec,
    /// Some(id) when most upstreams at this upstream's height agree on a different block id.
    pub majority_id_at_height: Option<BlockId>,
}

/// Judges one observation against the thresholds.
pub fn judge(obs: &Observation, reference: &Reference, cfg: &HealthConfig) -> Verdict {
    let age = i64::from(reference.now.secs()) - i64::from(obs.head_time.secs());
    if age > cfg.max_head_age_secs as i64 {
        return Verdict::Bad(format!("head age {age}s > {}s", cfg.max_head_age_secs));
    }
    let lag = reference.best_head.saturating_sub(obs.head);
    if lag > cfg.max_lag_blocks {
        return Verdict::Bad(format!("lag {lag} blocks > {}", cfg.max_lag_blocks));
    }
    if let Some(majority) = reference.majority_id_at_height.filter(|m| *m != obs.head_id) {
        return Verdict::Bad(format!(
            "fork: head {} at block {} differs from the majority's {majority}",
            obs.head_id, obs.head
        ));
    }
    if lag > cfg.lagging_blocks {
        return Verdict::Lagging(format!("lag {lag} blocks > {}", cfg.lagging_blocks));
    }
    Verdict::Good
}

/// A state change, for logs and session handling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// Previous state.
    pub from: State,
    /// New state.
    pub to: State,
    /// Why.
    pub reason: String,
}

/// Rise/fall bookkeeping of one upstream.
#[derive(Debug, Clone)]
pub struct Health {
    /// Current operational state.
    pub state: State,
    /// Consecutive good checks.
    pub good: u32,
    /// Consecutive bad checks.
    pub bad: u32,
    /// The last check's result in words ("ok", "lag 3 blocks > 2", "timeout after 2s", …).
    pub last_result: String,
    /// Why the upstream is in its state.
    pub reason: String,
    /// When it entered the state.
    pub since: Instant,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            state: State::Unknown,
            good: 0,
            bad: 0,
            last_result: "not checked yet".into(),
            reason: String::new(),
            since: Instant::now(),
        }
    }
}

impl Health {
    /// Counts a verdict; returns the transition it caused, if any.
    pub fn record(&mut self, verdict: &Verdict, cfg: &HealthConfig) -> Option<Transition> {
        let from = self.state;
        let (to, reason) = match verdict {
            Verdict::Good | Verdict::Lagging(_) => {
                self.bad = 0;
                self.good = self.good.saturating_add(1);
                let healthy = if let Verdict::Lagging(r) = verdict {
                    (State::Lagging, r.clone())
                } else {
                    (State::Up, "in sync".to_owned())
                };
                self.last_result = if let Verdict::Lagging(r) = verdict { r.clone() } else { "ok".into() };
                match from {
                    State::Unknown | State::Up | State::Lagging => healthy,
                    State::Down if self.good >= cfg.rise => (healthy.0, format!("{} good checks", self.good)),
                    State::Down => (State::Down, self.reason.clone()),
                }
            }
            Verdict::Bad(r) => {
                self.good = 0;
                self.bad = self.bad.saturating_add(1);
                self.last_result = r.clone();
                match from {
                    State::Unknown => (State::Down, r.clone()),
                    State::Down => (State::Down, self.reason.clone()),
                    _ if self.bad >= cfg.fall => (State::Down, r.clone()),
                    _ => (from, self.reason.clone()),
                }
            }
        };
        self.reason = reason.clone();
        if to == from {
            return None;
        }
        self.state = to;
        self.since = Instant::now();
        Some(Transition { from, to, reason })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(head: u32, time: u32) -> Observation {
        Observation {
            head,
            head_id: BlockId::default(),
            head_time: TimePointSec(time),
            lib: 0,
            latency: Duration::ZERO,
        }
    }

    fn reference(best: u32, now: u32) -> Reference {
        Reference { best_head: best, now: TimePointSec(now), majority_id_at_height: None }
    }

    #[test]
    fn thresholds_give_reasons() {
        let cfg = HealthConfig::default();
        assert_eq!(judge(&obs(10, 100), &reference(10, 110), &cfg), Verdict::Good);
        assert_eq!(judge(&obs(10, 100), &reference(10, 121), &cfg), Verdict::Bad("head age 21s > 15s".into()));
        assert_eq!(judge(&obs(4, 100), &reference(10, 100), &cfg), Verdict::Bad("lag 6 blocks > 5".into()));
        assert_eq!(judge(&obs(7, 100), &reference(10, 100), &cfg), Verdict::Lagging("lag 3 blocks > 2".into()));
        let mut r = reference(10, 100);
        r.majority_id_at_height = Some(BlockId([1; 20]));
        assert!(matches!(judge(&obs(10, 100), &r, &cfg), Verdict::Bad(m) if m.starts_with("fork")));
    }

    #[test]
    fn stalled_upstream_is_marked_down_after_fall_checks_and_up_after_rise() {
        let cfg = HealthConfig { fall: 3, rise: 2, ..HealthConfig::default() };
        let mut h = Health::default();
        assert_eq!(h.record(&Verdict::Good, &cfg).map(|t| t.to), Some(State::Up), "first check decides");
        let bad = Verdict::Bad("head age 21s > 15s".into());
        assert_eq!(h.record(&bad, &cfg), None);
        assert_eq!(h.record(&bad, &cfg), None);
        let t = h.record(&bad, &cfg).unwrap();
        assert_eq!((t.from, t.to, t.reason.as_str()), (State::Up, State::Down, "head age 21s > 15s"));
        assert_eq!(h.record(&Verdict::Good, &cfg), None, "one good check is not enough");
        assert_eq!(h.record(&bad, &cfg), None, "a bad check resets rise");
        assert_eq!(h.record(&Verdict::Good, &cfg), None);
        assert_eq!(h.record(&Verdict::Good, &cfg).map(|t| t.to), Some(State::Up));
    }

    #[test]
    fn lagging_is_immediate_and_a_failing_first_check_is_down() {
        let cfg = HealthConfig::default();
        let mut h = Health::default();
        assert_eq!(h.record(&Verdict::Bad("timeout".into()), &cfg).map(|t| t.to), Some(State::Down));
        let mut h = Health::default();
        h.record(&Verdict::Good, &cfg);
        assert_eq!(h.record(&Verdict::Lagging("lag 3 blocks > 2".into()), &cfg).map(|t| t.to), Some(State::Lagging));
        assert_eq!(h.record(&Verdict::Good, &cfg).map(|t| t.to), Some(State::Up));
    }
}
