//! The formats existing monitoring consumes, computed from a gateway's `/stats.json` (the same
//! snapshot the stats page shows) or a node's `2.1.0`: a Nagios / Monitoring Plugins check
//! (one status line with perfdata, exit 0/1/2/3 — gateway.md §9) and a Munin plugin (`config`
//! and fetch, multigraph per upstream — §10). Evaluation is pure; fetching is a thin shell.

use serde_json::Value;
use std::fmt::Write as _;
use std::time::Duration;

/// A Monitoring Plugins state; the exit code is the discriminant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CheckStatus {
    /// 0.
    Ok = 0,
    /// 1.
    Warning = 1,
    /// 2.
    Critical = 2,
    /// 3: bad arguments or an internal failure.
    Unknown = 3,
}

impl CheckStatus {
    /// The word in the status line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Warning => "WARNING",
            Self::Critical => "CRITICAL",
            Self::Unknown => "UNKNOWN",
        }
    }
}

/// Thresholds of `bts-infra check`. Defaults: head age warn 6 s / crit 15 s, lag warn 2 / crit 5
/// blocks, healthy upstreams warn below all of them / crit below 1.
#[derive(Debug, Clone)]
pub struct Thresholds {
    /// Head age (seconds) above which the state is WARNING.
    pub warn_age: f64,
    /// Head age (seconds) above which the state is CRITICAL.
    pub crit_age: f64,
    /// Largest lag (blocks) among healthy upstreams at or above which the state is WARNING.
    pub warn_lag: u64,
    /// Same, CRITICAL.
    pub crit_lag: u64,
    /// Fewer healthy upstreams than this is WARNING; `None` = all configured upstreams.
    pub warn_healthy: Option<u64>,
    /// Fewer healthy upstreams than this is CRITICAL.
    pub crit_healthy: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { warn_age: 6.0, crit_age: 15.0, warn_lag: 2, crit_lag: 5, warn_healthy: None, crit_healthy: 1 }
    }
}

/// A check's verdict: the exit status and the one line for stdout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutcome {
    /// Exit status.
    pub status: CheckStatus,
    /// `SERVICE STATUS: text | perfdata`.
    pub line: String,
}

fn is_healthy(u: &Value) -> bool {
    matches!(u["state"].as_str(), Some("up" | "lagging")) && u["admin_state"] == "enabled"
}

fn secs(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
}

/// Verdict on a gateway from its `/stats.json`.
pub fn evaluate_gateway(stats: &Value, t: &Thresholds) -> CheckOutcome {
    let upstreams = stats["upstreams"].as_array().cloned().unwrap_or_default();
    let total = upstreams.len() as u64;
    let healthy: Vec<&Value> = upstreams.iter().filter(|u| is_healthy(u)).collect();
    let n = healthy.len() as u64;
    let age = healthy.iter().filter_map(|u| u["head_age_seconds"].as_f64()).reduce(f64::min);
    let lag = healthy.iter().filter_map(|u| u["lag_blocks"].as_u64()).max().unwrap_or(0);
    let warn_healthy = t.warn_healthy.unwrap_or(total);
    let mut status = CheckStatus::Ok;
    let mut problems = Vec::new();
    let mut raise = |s: CheckStatus, why: String| {
        status = status.max(s);
        problems.push(why);
    };
    if n < t.crit_healthy {
        raise(CheckStatus::Critical, format!("{n}/{total} upstreams healthy"));
    } else if n < warn_healthy {
        raise(CheckStatus::Warning, format!("{n}/{total} upstreams healthy"));
    }
    match age {
        Some(a) if a > t.crit_age => raise(CheckStatus::Critical, format!("head {}s old", secs(a))),
        Some(a) if a > t.warn_age => raise(CheckStatus::Warning, format!("head {}s old", secs(a))),
        _ => {}
    }
    if lag >= t.crit_lag {
        raise(CheckStatus::Critical, format!("lag {lag} blocks"));
    } else if lag >= t.warn_lag {
        raise(CheckStatus::Warning, format!("lag {lag} blocks"));
    }
    let text = if problems.is_empty() {
        format!("{n}/{total} upstreams healthy; head age {}", age.map_or("unknown".into(), |a| format!("{}s", secs(a))))
    } else {
        problems.join("; ")
    };
    let age_perf = age.map_or("U".into(), |a| format!("{}s", secs(a)));
    let line = format!(
        "BTSGW {}: {text} | healthy={n};{warn_healthy}:;{}:;0;{total} head_age={age_perf};{};{};0 max_lag_blocks={lag};{};{};0 connections={}",
        status.as_str(),
        t.crit_healthy,
        secs(t.warn_age),
        secs(t.crit_age),
        t.warn_lag.saturating_sub(1),
        t.crit_lag.saturating_sub(1),
        stats["connections"].as_u64().unwrap_or(0),
    );
    CheckOutcome { status, line }
}

/// Verdict on one node from its `2.1.0` object, `now` in Unix seconds.
pub fn evaluate_node(dgp: &Value, now: i64, t: &Thresholds) -> CheckOutcome {
    let head = dgp["head_block_number"].as_u64();
    let time = dgp["time"].as_str().and_then(|s| s.parse::<bts_protocol::TimePointSec>().ok());
    let (Some(head), Some(time)) = (head, time) else {
        return CheckOutcome {
            status: CheckStatus::Unknown,
            line: "BTSNODE UNKNOWN: no head in the node's answer".into(),
        };
    };
    let age = (now - i64::from(time.secs())).max(0) as f64;
    let status = if age > t.crit_age {
        CheckStatus::Critical
    } else if age > t.warn_age {
        CheckStatus::Warning
    } else {
        CheckStatus::Ok
    };
    CheckOutcome {
        status,
        line: format!(
            "BTSNODE {}: head {head}, {}s old | head_age={}s;{};{};0 head_block={head}",
            status.as_str(),
            secs(age),
            secs(age),
            secs(t.warn_age),
            secs(t.crit_age)
        ),
    }
}

/// Munin field name from an upstream name (`[A-Za-z_][A-Za-z0-9_]*`).
fn field(name: &str) -> String {
    let mut f: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    if !f.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        f.insert(0, '_');
    }
    f
}

/// `plugin config`: the main graph, and with `multigraph` one graph per measure per upstream.
pub fn munin_config(stats: &Value, multigraph: bool) -> String {
    let mut out = String::new();
    if multigraph {
        out.push_str("multigraph bts_gateway\n");
    }
    let name = stats["name"].as_str().unwrap_or("bts-infra gateway");
    let _ = writeln!(out, "graph_title {name}: upstreams and clients");
    out.push_str("graph_category bitshares\ngraph_vlabel count\ngraph_args --lower-limit 0\n");
    out.push_str("graph_info Healthy upstreams, WebSocket sessions and requests through the gateway.\n");
    out.push_str("healthy.label healthy upstreams\nhealthy.draw LINE2\nhealthy.critical 1:\n");
    out.push_str("upstreams.label configured upstreams\nupstreams.draw LINE1\n");
    out.push_str("ws_sessions.label WebSocket sessions\nws_sessions.draw LINE1\n");
    out.push_str("requests.label requests per second\nrequests.type DERIVE\nrequests.min 0\n");
    if multigraph {
        let upstreams = stats["upstreams"].as_array().cloned().unwrap_or_default();
        for (graph, title, vlabel, key) in [
            ("bts_gateway_head_age", "head age per upstream", "seconds", "head_age"),
            ("bts_gateway_lag", "lag behind the best upstream", "blocks", "lag"),
        ] {
            let _ = writeln!(
                out,
                "multigraph {graph}\ngraph_title {name}: {title}\ngraph_category bitshares\ngraph_vlabel {vlabel}"
            );
            for u in &upstreams {
                let f = field(u["name"].as_str().unwrap_or("upstream"));
                let _ = writeln!(out, "{f}.label {}", u["name"].as_str().unwrap_or(""));
                if key == "head_age" {
                    let _ = writeln!(out, "{f}.warning 6\n{f}.critical 15");
                }
            }
        }
    }
    out
}

/// `plugin` (fetch): the values, `U` where unknown.
pub fn munin_fetch(stats: &Value, multigraph: bool) -> String {
    let mut out = String::new();
    if multigraph {
        out.push_str("multigraph bts_gateway\n");
    }
    let upstreams = stats["upstreams"].as_array().cloned().unwrap_or_default();
    let healthy = upstreams.iter().filter(|u| is_healthy(u)).count();
    let _ = writeln!(out, "healthy.value {healthy}");
    let _ = writeln!(out, "upstreams.value {}", upstreams.len());
    let _ = writeln!(out, "ws_sessions.value {}", stats["connections"].as_u64().unwrap_or(0));
    let _ = writeln!(out, "requests.value {}", stats["requests"].as_u64().unwrap_or(0));
    if multigraph {
        for (graph, key) in [("bts_gateway_head_age", "head_age_seconds"), ("bts_gateway_lag", "lag_blocks")] {
            let _ = writeln!(out, "multigraph {graph}");
            for u in &upstreams {
                let v = u[key].as_f64().map_or("U".into(), |v| v.to_string());
                let _ = writeln!(out, "{}.value {v}", field(u["name"].as_str().unwrap_or("upstream")));
            }
        }
    }
    out
}

/// GETs `url` (http:// only) and parses the JSON body.
pub async fn fetch_json(url: &str, timeout: Duration) -> Result<Value, String> {
    use http_body_util::{BodyExt, Empty};
    let client: hyper_util::client::legacy::Client<_, Empty<hyper::body::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let uri: hyper::Uri = url.parse().map_err(|e| format!("invalid URL {url}: {e}"))?;
    let get = async {
        let resp = client.get(uri).await.map_err(|e| format!("cannot reach {url}: {e}"))?;
        let status = resp.status();
        let body = resp.into_body().collect().await.map_err(|e| format!("reading {url}: {e}"))?.to_bytes();
        if !status.is_success() {
            return Err(format!("{url} answered {status}"));
        }
        serde_json::from_slice(&body).map_err(|e| format!("{url} is not JSON: {e}"))
    };
    tokio::time::timeout(timeout, get).await.map_err(|_| format!("{url} did not answer within {timeout:?}"))?
}

/// Checks a gateway (`http://host:port`, reads `/stats.json`) or a node (`ws://host:port`).
/// An unreachable target is CRITICAL.
pub async fn run_check(url: &str, t: &Thresholds, timeout: Duration) -> CheckOutcome {
    if url.starts_with("http://") {
        let stats_url = format!("{}/stats.json", url.trim_end_matches('/'));
        match fetch_json(&stats_url, timeout).await {
            Ok(stats) => evaluate_gateway(&stats, t),
            Err(e) => CheckOutcome { status: CheckStatus::Critical, line: format!("BTSGW CRITICAL: {e}") },
        }
    } else if url.starts_with("ws://") || url.starts_with("wss://") {
        let config = bts_rpc::client::ClientConfig {
            call_timeout: timeout,
            connect_timeout: timeout,
            ..bts_rpc::client::ClientConfig::new(url)
        };
        let dgp = async {
            let c = bts_rpc::client::WsClient::connect(config).await.map_err(|e| e.to_string())?;
            c.call("database", "get_dynamic_global_properties", serde_json::json!([])).await.map_err(|e| e.to_string())
        };
        match tokio::time::timeout(timeout, dgp).await {
            Ok(Ok(v)) => evaluate_node(&v, i64::from(bts_protocol::TimePointSec::now().secs()), t),
            Ok(Err(e)) => CheckOutcome { status: CheckStatus::Critical, line: format!("BTSNODE CRITICAL: {e}") },
            Err(_) => CheckOutcome {
                status: CheckStatus::Critical,
                line: format!("BTSNODE CRITICAL: {url} did not answer within {timeout:?}"),
            },
        }
    } else {
        CheckOutcome {
            status: CheckStatus::Unknown,
            line: format!("BTS UNKNOWN: --url must be http://gateway:port or ws://node:port, got {url}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stats(states: &[(&str, &str, f64, u64)]) -> Value {
        json!({"name": "gw", "connections": 7, "requests": 100, "upstreams": states.iter().map(|(n, s, age, lag)| json!({
            "name": n, "state": s, "admin_state": "enabled", "head_age_seconds": age, "lag_blocks": lag
        })).collect::<Vec<_>>()})
    }

    #[test]
    fn all_healthy_is_ok_with_perfdata() {
        let o = evaluate_gateway(&stats(&[("node0", "up", 1.0, 0), ("node1", "up", 2.0, 0)]), &Thresholds::default());
        assert_eq!(o.status, CheckStatus::Ok);
        assert_eq!(
            o.line,
            "BTSGW OK: 2/2 upstreams healthy; head age 1s | healthy=2;2:;1:;0;2 head_age=1s;6;15;0 max_lag_blocks=0;1;4;0 connections=7"
        );
    }

    #[test]
    fn states_escalate_by_the_worst_problem() {
        let t = Thresholds::default();
        let o = evaluate_gateway(&stats(&[("a", "up", 1.0, 0), ("b", "down", 30.0, 0)]), &t);
        assert_eq!(
            (o.status, o.line.split(" | ").next().unwrap()),
            (CheckStatus::Warning, "BTSGW WARNING: 1/2 upstreams healthy")
        );
        let o = evaluate_gateway(&stats(&[("a", "up", 8.0, 3)]), &t);
        assert_eq!(
            (o.status, o.line.split(" | ").next().unwrap()),
            (CheckStatus::Warning, "BTSGW WARNING: head 8s old; lag 3 blocks")
        );
        let o = evaluate_gateway(&stats(&[("a", "down", 1.0, 0)]), &t);
        assert_eq!(o.status, CheckStatus::Critical);
        assert!(o.line.contains("head_age=U;"), "{}", o.line);
        let o = evaluate_gateway(&stats(&[("a", "lagging", 20.0, 0)]), &t);
        assert_eq!(o.status, CheckStatus::Critical);
    }

    #[test]
    fn node_head_age_decides() {
        let dgp = json!({"head_block_number": 42, "time": "2020-01-01T00:00:00"});
        let t0 = 1_577_836_800;
        assert_eq!(
            evaluate_node(&dgp, t0 + 2, &Thresholds::default()).line,
            "BTSNODE OK: head 42, 2s old | head_age=2s;6;15;0 head_block=42"
        );
        assert_eq!(evaluate_node(&dgp, t0 + 7, &Thresholds::default()).status, CheckStatus::Warning);
        assert_eq!(evaluate_node(&dgp, t0 + 99, &Thresholds::default()).status, CheckStatus::Critical);
    }

    #[test]
    fn munin_fields_are_valid_and_values_unknown_when_missing() {
        let mut s = stats(&[("node-0", "up", 1.5, 0)]);
        s["upstreams"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "9x", "state": "unknown", "admin_state": "enabled"}));
        let config = munin_config(&s, true);
        assert!(
            config.contains("multigraph bts_gateway_head_age\n") && config.contains("node_0.label node-0\n"),
            "{config}"
        );
        assert!(config.contains("_9x.label 9x\n"));
        let fetch = munin_fetch(&s, true);
        assert!(
            fetch.contains("healthy.value 1\n")
                && fetch.contains("node_0.value 1.5\n")
                && fetch.contains("_9x.value U\n"),
            "{fetch}"
        );
        assert!(!munin_fetch(&s, false).contains("multigraph"));
    }
}
