//! `bts-infra check` (Nagios / Monitoring Plugins) and `bts-infra munin` against a running
//! `bts-infra up`, plus the Grafana dashboard's queries against the gateway's real `/metrics`.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bts-infra"))
}

struct Up {
    child: Child,
    gateway: String,
    nodes: Vec<String>,
    admin: String,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

fn up() -> Up {
    let mut child = bin()
        .args(["up", "--listen", "127.0.0.1:0", "--faucet-listen", "127.0.0.1:0", "--devnet-listen", "127.0.0.1:0"])
        .args(["--devnet-admin-listen", "127.0.0.1:0", "--block-interval", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        let done = line.contains("registrar WIF");
        lines.push(line);
        if done {
            break;
        }
    }
    std::thread::spawn(move || for _ in stdout.lines() {});
    let word = |prefix: &str| -> String {
        lines
            .iter()
            .find(|l| l.trim_start().starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or_else(|| panic!("no {prefix} in {lines:?}"))
            .to_owned()
    };
    let gateway = word("gateway:").trim_start_matches("ws://").to_owned();
    let nodes = (0..3).map(|i| word(&format!("node{i}:"))).collect();
    let admin = word("faults:").trim_start_matches("http://").trim_end_matches("/status").to_owned();
    Up { child, gateway, nodes, admin }
}

fn check(args: &[&str]) -> (i32, String, String) {
    let o: Output = bin().arg("check").args(args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn http(addr: &str, method: &str, path: &str, body: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    resp
}

/// Perfdata items: `label=value[UOM];[warn];[crit];[min];[max]` (gateway.md §9.3).
fn assert_perfdata(line: &str) {
    let (_, perf) = line.trim_end().split_once(" | ").unwrap_or_else(|| panic!("no perfdata: {line}"));
    for item in perf.split(' ') {
        let (label, rest) = item.split_once('=').unwrap_or_else(|| panic!("bad item {item}"));
        assert!(!label.is_empty() && !label.contains('\''), "{item}");
        let fields: Vec<&str> = rest.split(';').collect();
        assert!(fields.len() <= 5, "{item}");
        let value = fields[0].trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == '%');
        assert!(value == "U" || value.parse::<f64>().is_ok(), "{item}");
    }
}

#[test]
fn nagios_check_and_munin_plugin_follow_their_conventions() {
    let up = up();
    let gw = format!("http://{}", up.gateway);
    // All three upstreams healthy → OK, one line, nothing on stderr.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (code, out, err) = loop {
        let r = check(&["--url", &gw]);
        if r.0 == 0 || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("BTSGW OK: 3/3 upstreams healthy; head age "), "{out}");
    assert_eq!(out.lines().count(), 1);
    assert!(err.is_empty(), "{err}");
    assert_perfdata(&out);

    // A node directly.
    let (code, out, _) = check(&["--url", &up.nodes[1]]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("BTSNODE OK: head "), "{out}");
    assert_perfdata(&out);

    // One node stalls → WARNING (2/3 healthy); with --crit-healthy 3 the same is CRITICAL.
    let resp = http(&up.admin, "PATCH", "/nodes/2/faults", r#"{"stall":true}"#);
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let (code, out, _) = loop {
        // First it shows as lagging (WARNING: lag), then down (WARNING: 2/3 healthy).
        let r = check(&["--url", &gw]);
        if r.1.starts_with("BTSGW WARNING: 2/3") || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("BTSGW WARNING: 2/3 upstreams healthy |"), "{out}");
    assert_eq!(check(&["--url", &gw, "--crit-healthy", "3"]).0, 2);
    // The stalled node itself: its head gets old → CRITICAL with a 2-second threshold.
    std::thread::sleep(Duration::from_secs(3));
    let (code, out, _) = check(&["--url", &up.nodes[2], "--warn-age", "1", "--crit-age", "2"]);
    assert_eq!(code, 2, "{out}");

    // Unreachable → CRITICAL; bad arguments and --help → UNKNOWN (3), all on stdout.
    let (code, out, err) = check(&["--url", "http://127.0.0.1:9", "--timeout", "2"]);
    assert_eq!((code, err.as_str()), (2, ""), "{out}");
    assert!(out.starts_with("BTSGW CRITICAL: cannot reach"), "{out}");
    let (code, out, err) = check(&["--warn-age", "x"]);
    assert_eq!((code, err.as_str()), (3, ""));
    assert!(out.starts_with("BTS UNKNOWN: invalid value 'x' for '--warn-age"), "{out}");
    assert_eq!(check(&["--help"]).0, 3);
    // Debian's monitoring-plugins `negate` (as used in Nagios configs) reads our exit codes.
    let negate = "/usr/lib/nagios/plugins/negate";
    assert!(std::path::Path::new(negate).exists(), "monitoring-plugins-basic is installed (.ci/run installs it)");
    let o = Command::new(negate)
        .args([
            "-o",
            "CRITICAL",
            "-c",
            "OK",
            env!("CARGO_BIN_EXE_bts-infra"),
            "check",
            "--url",
            "http://127.0.0.1:9",
            "-t",
            "2",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));

    // Munin: config and fetch, multigraph when the node announces it.
    let munin = |args: &[&str], multigraph: bool| -> String {
        let mut c = bin();
        c.arg("munin").args(args).env("url", &gw);
        if multigraph {
            c.env("MUNIN_CAP_MULTIGRAPH", "1");
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let config = munin(&["config"], true);
    assert!(config.starts_with("multigraph bts_gateway\ngraph_title "), "{config}");
    assert!(config.contains("multigraph bts_gateway_head_age\n") && config.contains("node2.label node2\n"), "{config}");
    let fetch = munin(&[], true);
    assert!(fetch.contains("healthy.value 2\n") && fetch.contains("upstreams.value 3\n"), "{fetch}");
    for line in fetch.lines().filter(|l| !l.starts_with("multigraph ")) {
        let (field, value) = line.split_once(".value ").unwrap_or_else(|| panic!("bad line {line}"));
        assert!(field.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_'), "{line}");
        assert!(value == "U" || value.parse::<f64>().is_ok(), "{line}");
    }
    assert!(!munin(&[], false).contains("multigraph"));
    assert_eq!(munin(&["autoconf"], false), "yes\n");
}

#[test]
fn grafana_dashboard_queries_only_exported_metrics() {
    let up = up();
    // Some traffic so the request counters exist.
    let body = r#"{"id":1,"method":"call","params":["database","get_chain_id",[]]}"#;
    http(&up.gateway, "POST", "/", body);
    std::thread::sleep(Duration::from_millis(1500));
    let metrics = http(&up.gateway, "GET", "/metrics", "");
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/grafana/bts-gateway.json"))
            .unwrap(),
    )
    .unwrap();
    let mut exprs = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for t in panel["targets"].as_array().unwrap() {
            let legend = t["legendFormat"].as_str().unwrap_or_default();
            exprs.push((t["expr"].as_str().unwrap().to_owned(), legend.to_owned()));
        }
    }
    assert!(exprs.len() >= 10);
    for (expr, legend) in &exprs {
        // Every {{label}} in a legend is one the query's result carries: one it groups by, or
        // (no aggregation) one on the series, checked below with the `by` labels.
        let by: Vec<&str> = expr
            .split("by (")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .map(|l| l.split(',').map(str::trim).collect())
            .unwrap_or_default();
        let legend_labels: Vec<&str> =
            legend.split("{{").skip(1).filter_map(|r| r.split("}}").next()).map(str::trim).collect();
        if expr.contains("sum(") || expr.contains("max(") {
            assert!(legend_labels.is_empty(), "{expr}: legend {legend} names labels an aggregate has not");
        }
        if !by.is_empty() {
            for l in &legend_labels {
                assert!(by.contains(l), "{expr}: legend {legend} names {l}, which the query does not group by");
            }
        }
        let labels: Vec<&str> = if by.is_empty() { legend_labels } else { by };
        let names: Vec<&str> =
            expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| w.starts_with("bts_")).collect();
        assert!(!names.is_empty(), "{expr}");
        for name in names {
            let series: Vec<&str> = metrics
                .lines()
                .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
                .collect();
            assert!(!series.is_empty(), "dashboard uses {name}, which /metrics does not export");
            // Labels the query groups by (or its legend shows) must exist on the series.
            for label in &labels {
                assert!(series.iter().any(|s| s.contains(&format!("{label}=\""))), "{name} has no label {label}");
            }
        }
    }
}
