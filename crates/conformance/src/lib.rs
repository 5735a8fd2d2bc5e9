//! A conformance suite for anything that answers like `witness_node`: the same requests sent to
//! a node URL, and the answers compared with what bitshares-core 7.0.2 answered to them.
//!
//! The expectations are not written by hand. [`observe`] sends every case's frames to a target
//! and keeps what came back ([`Observation`]); run against a real `witness_node` 7.0.2 the
//! observations are written to `golden/witness_node-7.0.2.json` ([`record`]). Any other target
//! (the devnet, the gateway in front of either) is then [`compare`]d with that record:
//! - [`Mode::Exact`]: the whole answer after [`normalize`] (which masks what differs between
//!   two chains and two runs: block and transaction ids, times, head numbers, the fc stack's
//!   source locations) — ids, envelope errors, error codes and messages, HTTP statuses;
//! - [`Mode::Shape`]: member names and order, and each value's kind (number, string, array…),
//!   for answers whose values depend on the chain's state (balances, objects) — plus fc's
//!   integer rule (no JSON number outside what fc writes as a number).
//!
//! The target needs a funded lifetime-member account whose key is given ([`Target`]): `nathan`
//! on the dev key on a private chain from the dev genesis, after claiming its genesis balance
//! and upgrading (docs/conformance.md), or the devnet's registrar.

use bts_protocol::{ChainId, PrivateKey, SignedTransaction};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

/// The record of a real `witness_node` 7.0.2 (see the module docs).
pub const GOLDEN: &str = include_str!("../golden/witness_node-7.0.2.json");

/// Where we answer differently from witness_node on purpose, by case-key prefix, with why. Every
/// entry is also in docs/conformance.md.
pub const KNOWN_DIFFERENCES: &[(&str, &str)] = &[(
    "envelope/http/a-response",
    "witness_node never answers a JSON-RPC response object POSTed to it (an exception escapes its HTTP \
     handler and the client waits until it gives up); the devnet and the gateway answer 204 No Content",
)];

/// The public dev key (`sha256("nathan")`), on which the dev genesis puts `nathan` and every
/// init account.
pub const DEV_WIF: &str = "5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD3";

/// What the suite talks to.
#[derive(Debug, Clone)]
pub struct Target {
    /// `ws://host:port` of the node (or of a gateway in front of nodes).
    pub ws_url: String,
    /// The funded lifetime member the broadcast cases spend from (`nathan`).
    pub account: String,
    /// Its active key.
    pub key: PrivateKey,
}

impl Target {
    /// A target at `ws_url` spending from `nathan` on the dev key.
    pub fn dev(ws_url: impl Into<String>) -> Result<Self, Error> {
        let key = PrivateKey::from_wif(DEV_WIF).map_err(|e| Error::Setup(e.to_string()))?;
        Ok(Self { ws_url: ws_url.into(), account: "nathan".into(), key })
    }

    fn http_addr(&self) -> Result<String, Error> {
        let rest = self
            .ws_url
            .strip_prefix("ws://")
            .ok_or_else(|| Error::Setup(format!("{}: only ws:// targets are supported", self.ws_url)))?;
        Ok(rest.trim_end_matches('/').to_owned())
    }
}

/// Why the suite could not run (a case that merely answers differently is not an error).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The target cannot be reached or set up.
    #[error("conformance setup: {0}")]
    Setup(String),
    /// The golden record is unreadable.
    #[error("golden record: {0}")]
    Golden(String),
}

/// How an observation is compared with the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The whole normalized answer.
    Exact,
    /// Member names, their order and the kinds of values.
    Shape,
}

/// One answer (or its absence) the target gave.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Observation {
    /// `case/label`, unique.
    pub key: String,
    /// How it is compared.
    pub mode: Mode,
    /// What was sent.
    pub sent: String,
    /// The answer: the frame's JSON, `"<no answer>"`, or for HTTP `{status, close, body}`.
    pub answer: Value,
}

const NO_ANSWER: &str = "<no answer>";

/// A WebSocket connection to the target.
struct Ws {
    stream: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

fn text_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

impl Ws {
    async fn connect(url: &str) -> Result<Self, Error> {
        let connecting = tokio_tungstenite::connect_async(url);
        let (stream, _) = tokio::time::timeout(Duration::from_secs(5), connecting)
            .await
            .map_err(|_| Error::Setup(format!("{url}: no connection within 5 s")))?
            .map_err(|e| Error::Setup(format!("{url}: {e}")))?;
        Ok(Self { stream })
    }

    async fn send(&mut self, text: &str) -> Result<(), Error> {
        self.stream.send(Message::text(text)).await.map_err(|e| Error::Setup(format!("send: {e}")))
    }

    /// The next text frame within `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.stream.next()).await.ok()??;
            match frame {
                Ok(Message::Text(t)) => return Some(text_value(t.as_str())),
                Ok(Message::Binary(b)) => return Some(text_value(&String::from_utf8_lossy(&b))),
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// Sends `text` and returns the first frame that is not a notice (notices of earlier
    /// subscriptions may be interleaved), or `"<no answer>"`.
    async fn ask(&mut self, text: &str) -> Result<Value, Error> {
        self.send(text).await?;
        self.answer(Duration::from_secs(10)).await
    }

    async fn answer(&mut self, wait: Duration) -> Result<Value, Error> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some(v) if v.get("method").and_then(Value::as_str) == Some("notice") => continue,
                Some(v) => return Ok(v),
                None => return Ok(Value::String(NO_ANSWER.into())),
            }
        }
    }

    /// Like [`Ws::ask`] for frames that may get no answer: waits 700 ms.
    async fn ask_maybe(&mut self, text: &str) -> Result<Value, Error> {
        self.send(text).await?;
        self.answer(Duration::from_millis(700)).await
    }

    /// A call's `result` (an error is a setup failure: the case needs the value).
    async fn result(&mut self, method: &str, params: Value) -> Result<Value, Error> {
        let frame = json!({"id": 9000, "method": "call", "params": [0, method, params]}).to_string();
        let v = self.ask(&frame).await?;
        v.get("result").cloned().ok_or_else(|| Error::Setup(format!("{method}: {v}")))
    }

    /// The next notice within `wait`.
    async fn notice(&mut self, wait: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some(v) if v.get("method").and_then(Value::as_str) == Some("notice") => return v,
                Some(_) => continue,
                None => return Value::String(NO_ANSWER.into()),
            }
        }
    }
}

/// One HTTP POST (a fresh connection, as a node serves one request per connection), waiting up
/// to 20 s for the answer (a synchronous broadcast waits for its block).
async fn http_post(addr: &str, body: &str) -> Result<Value, Error> {
    http_post_wait(addr, body, Duration::from_secs(20)).await
}

async fn http_post_wait(addr: &str, body: &str, wait: Duration) -> Result<Value, Error> {
    let exchange = async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        let req = format!(
            "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await?;
        // The node closes after its answer; a server that keeps the connection open is read
        // up to the end of its body.
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            let n = s.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(complete) = complete_response(&buf) {
                buf.truncate(complete);
                break;
            }
        }
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&buf).into_owned())
    };
    // witness_node never answers some requests (an exception escapes its HTTP handler): that is
    // an observation too.
    let Ok(text) = tokio::time::timeout(wait, exchange).await else {
        return Ok(json!({"status": 0, "body": NO_ANSWER}));
    };
    let text = text.map_err(|e| Error::Setup(format!("http://{addr}: {e}")))?;
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let head = head.to_ascii_lowercase();
    let status: u64 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = if head.contains("transfer-encoding: chunked") { dechunk(body) } else { body.to_owned() };
    let body = if body.is_empty() { Value::Null } else { text_value(&body) };
    Ok(json!({"status": status, "body": body}))
}

/// The length of a complete response in `buf` (head and a `Content-Length` body), if any.
fn complete_response(buf: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(buf).ok()?;
    let end = text.find("\r\n\r\n")? + 4;
    let head = text[..end].to_ascii_lowercase();
    let status = head.split_whitespace().nth(1).unwrap_or_default();
    if status == "204" || status == "304" {
        return Some(end);
    }
    let len: usize = head.lines().find_map(|l| l.strip_prefix("content-length:"))?.trim().parse().ok()?;
    (buf.len() >= end + len).then_some(end + len)
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(tail.get(..n).unwrap_or(tail));
        rest = tail.get(n + 2..).unwrap_or("");
    }
    out
}

/// Collects observations.
struct Obs {
    list: Vec<Observation>,
}

impl Obs {
    fn push(&mut self, key: String, mode: Mode, sent: &str, answer: Value) {
        self.list.push(Observation { key, mode, sent: sent.to_owned(), answer });
    }
}

/// Ids of every kind, in a frame the node answers (`get_chain_id`).
const IDS: &[(&str, Option<&str>)] = &[
    ("small", Some("3")),
    ("negative", Some("-1")),
    ("u32-max", Some("4294967295")),
    ("above-u32", Some("4294967296")),
    ("large", Some("4294967297")),
    ("i32-min", Some("-2147483648")),
    ("below-i32", Some("-2147483649")),
    ("below-minus-u32", Some("-4294967297")),
    ("float", Some("1.5")),
    ("float-tenth", Some("0.1")),
    ("exponent", Some("1e5")),
    ("leading-zeros", Some("007")),
    ("minus-zero", Some("-0")),
    ("string", Some("\"abc\"")),
    ("numeric-string", Some("\"7\"")),
    ("escaped-string", Some("\"a\\u0041b\\n\"")),
    ("true", Some("true")),
    ("false", Some("false")),
    ("null", Some("null")),
    ("missing", None),
    ("object", Some("{\"a\":1}")),
    ("array", Some("[1]")),
    ("too-large", Some("18446744073709551616")),
];

/// Frames the node refuses or reads its own way, sent as they are.
const ENVELOPES: &[(&str, &str)] = &[
    ("unquoted-key", r#"{id:1,"method":"get_chain_id","params":[]}"#),
    ("not-an-object", r#""abc""#),
    ("batch", r#"[{"id":1,"method":"get_chain_id","params":[]}]"#),
    ("empty-batch", "[]"),
    ("id-only", r#"{"id":1}"#),
    ("empty-method", r#"{"id":1,"method":"","params":[]}"#),
    ("method-not-string", r#"{"id":1,"method":5,"params":[]}"#),
    ("jsonrpc-1.0", r#"{"id":1,"jsonrpc":"1.0","method":"get_chain_id","params":[]}"#),
    ("jsonrpc-2.0", r#"{"id":1,"jsonrpc":"2.0","method":"get_chain_id","params":[]}"#),
    ("named-params", r#"{"id":1,"method":"get_chain_id","params":{}}"#),
    ("null-params", r#"{"id":1,"method":"get_chain_id","params":null}"#),
    ("no-params", r#"{"id":1,"method":"get_chain_id"}"#),
    ("duplicate-id", r#"{"id":1,"method":"get_chain_id","params":[],"id":2}"#),
    ("trailing-garbage", r#"{"id":1,"method":"get_chain_id","params":[]} trailing"#),
    ("extra-commas", r#"{"id":1,,"method":"get_chain_id","params":[],}"#),
    ("a-response", r#"{"id":1,"result":5}"#),
    ("response-without-id", r#"{"result":5}"#),
    ("unterminated", r#"{"id":1,"method":"get_chain_id","params":["#),
    ("whitespace", "   "),
    ("call-two-params", r#"{"id":1,"method":"call","params":[0,"get_chain_id"]}"#),
    ("call-args-not-array", r#"{"id":1,"method":"call","params":[0,"get_chain_id",{}]}"#),
    ("call-api-true", r#"{"id":1,"method":"call","params":[true,"get_chain_id",[]]}"#),
    ("call-api-null", r#"{"id":1,"method":"call","params":[null,"get_chain_id",[]]}"#),
    ("call-api-name", r#"{"id":1,"method":"call","params":["database","get_chain_id",[]]}"#),
    ("call-api-unknown-name", r#"{"id":1,"method":"call","params":["foo","get_chain_id",[]]}"#),
    ("call-api-not-obtained", r#"{"id":1,"method":"call","params":[2,"get_chain_id",[]]}"#),
    ("call-api-array", r#"{"id":1,"method":"call","params":[[],"get_chain_id",[]]}"#),
    ("call-method-number", r#"{"id":1,"method":"call","params":[0,5,[]]}"#),
    ("notice", r#"{"id":1,"method":"notice","params":[1,[]]}"#),
    ("callback", r#"{"id":1,"method":"callback","params":[1,[]]}"#),
    ("unknown-method", r#"{"id":1,"method":"call","params":[0,"no_such_method",[]]}"#),
    ("too-few-args", r#"{"id":1,"method":"get_objects","params":[]}"#),
    ("extra-args", r#"{"id":1,"method":"get_objects","params":[["1.3.0"],1,2]}"#),
    ("bad-cast", r#"{"id":1,"method":"get_objects","params":["x"]}"#),
    ("bad-object-id", r#"{"id":1,"method":"get_objects","params":[["x.y.z"]]}"#),
];

/// The login API, in order on one connection (API ids are handed out per connection).
const LOGIN: &[(&str, &str)] = &[
    ("login-no-args", r#"[1,"login",[]]"#),
    ("login-nulls", r#"[1,"login",[null,null]]"#),
    ("login-user-only", r#"[1,"login",["a"]]"#),
    ("login", r#"[1,"login",["",""]]"#),
    ("login-extra", r#"[1,"login",["a","b","c"]]"#),
    ("database", r#"[1,"database",[]]"#),
    ("network_broadcast", r#"[1,"network_broadcast",[]]"#),
    ("history", r#"[1,"history",[]]"#),
    ("network_broadcast-again", r#"[1,"network_broadcast",[]]"#),
    ("orders", r#"[1,"orders",[]]"#),
    ("custom_operations", r#"[1,"custom_operations",[]]"#),
    ("crypto", r#"[1,"crypto",[]]"#),
    ("network_node", r#"[1,"network_node",[]]"#),
    ("asset", r#"[1,"asset",[]]"#),
    ("block", r#"[1,"block",[]]"#),
    ("debug", r#"[1,"debug",[]]"#),
    ("get_available_api_sets", r#"[1,"get_available_api_sets",[]]"#),
    ("get_info", r#"[1,"get_info",[]]"#),
    ("unknown", r#"[1,"no_such_method",[]]"#),
    ("call-on-history", r#"[4,"no_such_method",[]]"#),
    ("call-on-broadcast", r#"[2,"no_such_method",[]]"#),
    ("call-on-history-api", r#"[3,"no_such_method",[]]"#),
    ("call-on-custom-operations", r#"[5,"no_such_method",[]]"#),
    ("logout", r#"[1,"logout",[]]"#),
    ("database-after-logout", r#"[1,"database",[]]"#),
    ("apis-after-logout", r#"[1,"get_available_api_sets",[]]"#),
    ("login-again", r#"[1,"login",["",""]]"#),
    ("database-after-login", r#"[1,"database",[]]"#),
];

/// Reads whose answers depend on the chain's state: compared by shape.
fn reads(account: &str, key: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("get_chain_properties", json!([])),
        ("get_global_properties", json!([])),
        ("get_config", json!([])),
        ("get_dynamic_global_properties", json!([])),
        ("get_objects", json!([["2.1.0", "1.2.17", "1.3.0", "2.3.0", "2.0.0", "1.6.1", "1.5.0", "2.6.17", "1.2.999"]])),
        ("get_accounts", json!([[account, "1.2.6", "nobody"]])),
        ("get_account_by_name", json!([account])),
        ("lookup_account_names", json!([[account, "nobody"]])),
        ("lookup_accounts", json!(["init", 3])),
        ("get_account_count", json!([])),
        ("get_full_accounts", json!([[account], false])),
        ("get_account_balances", json!([account, []])),
        ("get_named_account_balances", json!([account, ["1.3.0"]])),
        ("get_vesting_balances", json!([account])),
        ("get_assets", json!([["1.3.0", "BTS", "1.3.99"]])),
        ("list_assets", json!(["", 10])),
        ("lookup_asset_symbols", json!([["BTS", "1.3.0"]])),
        ("get_block_header", json!([1])),
        ("get_block", json!([1])),
        ("get_block-future", json!([4_000_000_000u32])),
        ("get_key_references", json!([[key]])),
        ("get_recent_transaction_by_id", json!(["0000000000000000000000000000000000000000"])),
        ("get_transaction-none", json!([1, 0])),
    ]
}

/// The dev chain's head: (number, id, time).
async fn head(ws: &mut Ws) -> Result<(u64, String, String), Error> {
    let dgp = ws.result("get_dynamic_global_properties", json!([])).await?;
    let field = |k: &str| dgp.get(k).cloned().ok_or_else(|| Error::Setup(format!("2.1.0 has no {k}")));
    Ok((
        field("head_block_number")?.as_u64().unwrap_or(0),
        field("head_block_id")?.as_str().unwrap_or_default().to_owned(),
        field("time")?.as_str().unwrap_or_default().to_owned(),
    ))
}

fn iso_plus(time: &str, secs: i64) -> Result<String, Error> {
    let t: bts_protocol::TimePointSec = time.parse().map_err(|e| Error::Setup(format!("time {time}: {e}")))?;
    let shifted = i64::from(t.secs()) + secs;
    Ok(bts_protocol::TimePointSec(u32::try_from(shifted.max(0)).unwrap_or(u32::MAX)).to_string())
}

/// A signed transaction of `ops` referencing the block `head_id`, expiring at `expiration`.
fn signed(head_id: &str, expiration: &str, ops: Value, keys: &[&PrivateKey], chain: &ChainId) -> Result<Value, Error> {
    signed_with_prefix(head_id, None, expiration, ops, keys, chain)
}

/// [`signed`], with another `ref_block_prefix` when given.
fn signed_with_prefix(
    head_id: &str,
    prefix: Option<u32>,
    expiration: &str,
    ops: Value,
    keys: &[&PrivateKey],
    chain: &ChainId,
) -> Result<Value, Error> {
    let id: bts_protocol::BlockId = head_id.parse().map_err(|e| Error::Setup(format!("block id: {e}")))?;
    let mut tapos = bts_protocol::TaposRef::from_block_id(&id);
    if let Some(p) = prefix {
        tapos.ref_block_prefix = p;
    }
    let tx = json!({
        "ref_block_num": tapos.ref_block_num, "ref_block_prefix": tapos.ref_block_prefix,
        "expiration": expiration, "operations": ops, "extensions": [], "signatures": []
    });
    let mut tx: SignedTransaction = serde_json::from_value(tx).map_err(|e| Error::Setup(format!("tx: {e}")))?;
    for k in keys {
        tx.sign(k, chain).map_err(|e| Error::Setup(format!("sign: {e}")))?;
    }
    serde_json::to_value(&tx).map_err(|e| Error::Setup(format!("tx: {e}")))
}

fn call_frame(id: u64, api: u64, method: &str, args: Value) -> String {
    json!({"id": id, "method": "call", "params": [api, method, args]}).to_string()
}

/// Runs every case against `target` and returns what it answered.
pub async fn observe(target: &Target) -> Result<Vec<Observation>, Error> {
    let mut obs = Obs { list: Vec::new() };
    let http = target.http_addr()?;
    let url = target.ws_url.as_str();

    // Ids, over WebSocket and HTTP.
    let mut ws = Ws::connect(url).await?;
    for (label, id) in IDS {
        for jsonrpc in [false, true] {
            let rpc = if jsonrpc { r#""jsonrpc":"2.0","# } else { "" };
            let frame = match id {
                Some(id) => format!(r#"{{"id":{id},{rpc}"method":"get_chain_id","params":[]}}"#),
                None => format!(r#"{{{rpc}"method":"get_chain_id","params":[]}}"#),
            };
            let suffix = if jsonrpc { "+jsonrpc" } else { "" };
            obs.push(format!("ids/ws/{label}{suffix}"), Mode::Exact, &frame, ws.ask_maybe(&frame).await?);
            obs.push(format!("ids/http/{label}{suffix}"), Mode::Exact, &frame, http_post(&http, &frame).await?);
        }
    }

    // Envelopes and call forms.
    for (label, frame) in ENVELOPES {
        obs.push(format!("envelope/ws/{label}"), Mode::Exact, frame, ws.ask_maybe(frame).await?);
        // witness_node never answers a response sent over HTTP: not worth a long wait.
        let wait = Duration::from_secs(if *label == "a-response" { 3 } else { 20 });
        obs.push(format!("envelope/http/{label}"), Mode::Exact, frame, http_post_wait(&http, frame, wait).await?);
    }
    // A binary frame is read as text.
    let frame = r#"{"id":1,"method":"get_chain_id","params":[]}"#;
    ws.stream.send(Message::binary(frame.as_bytes().to_vec())).await.map_err(|e| Error::Setup(e.to_string()))?;
    obs.push("envelope/ws/binary-frame".into(), Mode::Exact, frame, ws.answer(Duration::from_secs(5)).await?);
    for (label, frame) in [
        ("unknown-space", r#"{"id":1,"method":"get_objects","params":[["9.9.9"]]}"#),
        ("unknown-protocol-type", r#"{"id":1,"method":"get_objects","params":[["1.99.0"]]}"#),
        ("unknown-implementation-type", r#"{"id":1,"method":"get_objects","params":[["2.99.0"]]}"#),
        ("two-part-id", r#"{"id":1,"method":"get_objects","params":[["1.2"]]}"#),
        ("object-id-number", r#"{"id":1,"method":"get_objects","params":[[5]]}"#),
    ] {
        obs.push(format!("envelope/ws/{label}"), Mode::Exact, frame, ws.ask(frame).await?);
    }

    // The login API on a fresh connection.
    let mut ws = Ws::connect(url).await?;
    for (i, (label, params)) in LOGIN.iter().enumerate() {
        let frame = format!(r#"{{"id":{},"method":"call","params":{params}}}"#, 100 + i);
        obs.push(format!("login/ws/{label}"), Mode::Exact, &frame, ws.ask(&frame).await?);
    }
    for (label, params) in [("database", r#"[1,"database",[]]"#), ("history", r#"[1,"history",[]]"#)] {
        let frame = format!(r#"{{"id":1,"method":"call","params":{params}}}"#);
        obs.push(format!("login/http/{label}"), Mode::Exact, &frame, http_post(&http, &frame).await?);
    }

    // Reads.
    let mut ws = Ws::connect(url).await?;
    let chain_id: ChainId = ws
        .result("get_chain_id", json!([]))
        .await?
        .as_str()
        .unwrap_or_default()
        .parse()
        .map_err(|e| Error::Setup(format!("chain id: {e}")))?;
    let key = target.key.public_key(bts_protocol::AddressPrefix::BTS).to_string();
    for (label, args) in reads(&target.account, &key) {
        let method = label.split('-').next().unwrap_or(label);
        let frame = call_frame(1, 0, method, args);
        obs.push(format!("read/{label}"), Mode::Shape, &frame, ws.ask(&frame).await?);
    }
    let frame = call_frame(1, 0, "get_chain_id", json!([]));
    obs.push("read/http/get_chain_id".into(), Mode::Exact, &frame, http_post(&http, &frame).await?);
    let frame = call_frame(1, 0, "get_dynamic_global_properties", json!([]));
    obs.push("read/http/get_dynamic_global_properties".into(), Mode::Shape, &frame, http_post(&http, &frame).await?);

    // History (API 2 on a fresh connection after asking for it).
    let mut ws = Ws::connect(url).await?;
    ws.ask(r#"{"id":1,"method":"call","params":[1,"history",[]]}"#).await?;
    for (label, method, args) in [
        ("get_account_history", "get_account_history", json!([target.account, "1.11.0", 5, "1.11.0"])),
        ("get_relative_account_history", "get_relative_account_history", json!([target.account, 0, 5, 0])),
        ("get_account_history-unknown", "get_account_history", json!(["nobody", "1.11.0", 5, "1.11.0"])),
        ("get_account_history-limit", "get_account_history", json!([target.account, "1.11.0", 101, "1.11.0"])),
    ] {
        let frame = call_frame(1, 2, method, args);
        let mode = if label.contains('-') { Mode::Exact } else { Mode::Shape };
        obs.push(format!("history/{label}"), mode, &frame, ws.ask(&frame).await?);
    }

    // Notices, and how callback ids come back.
    let mut ws = Ws::connect(url).await?;
    for (label, cb) in [("number", "102"), ("string", "\"7\""), ("above-u32", "4294967296"), ("true", "true")] {
        let frame = format!(r#"{{"id":1,"method":"call","params":[0,"set_block_applied_callback",[{cb}]]}}"#);
        obs.push(format!("notice/block-applied-{label}/answer"), Mode::Exact, &frame, ws.ask(&frame).await?);
        let n = ws.notice(Duration::from_secs(15)).await;
        obs.push(format!("notice/block-applied-{label}/notice"), Mode::Exact, &frame, n);
    }
    let mut ws = Ws::connect(url).await?;
    let frame = r#"{"id":1,"method":"call","params":[0,"set_subscribe_callback",[101,false]]}"#;
    obs.push("notice/subscribe/answer".into(), Mode::Exact, frame, ws.ask(frame).await?);
    let read = r#"{"id":2,"method":"call","params":[0,"get_objects",[["2.1.0"]]]}"#;
    obs.push("notice/subscribe/get_objects".into(), Mode::Shape, read, ws.ask(read).await?);
    obs.push("notice/subscribe/notice".into(), Mode::Shape, read, ws.notice(Duration::from_secs(15)).await);
    let frame = r#"{"id":1,"method":"call","params":[0,"set_subscribe_callback",[101]]}"#;
    obs.push("notice/subscribe-one-arg".into(), Mode::Exact, frame, ws.ask(frame).await?);

    broadcasts(target, &chain_id, &http, &mut obs).await?;
    Ok(obs.list)
}

async fn broadcasts(target: &Target, chain: &ChainId, http: &str, obs: &mut Obs) -> Result<(), Error> {
    let mut ws = Ws::connect(&target.ws_url).await?;
    ws.ask(r#"{"id":1,"method":"call","params":[1,"network_broadcast",[]]}"#).await?;
    let account = ws.result("get_account_by_name", json!([target.account])).await?;
    let from = account.get("id").and_then(Value::as_str).unwrap_or("1.2.17").to_owned();
    let fee_of = |op: &Value| json!([[op.clone()], "1.3.0"]);
    let transfer = |from: &str, to: &str, amount: u64, fee: u64| {
        json!([0, {"fee": {"amount": fee, "asset_id": "1.3.0"}, "from": from, "to": to,
            "amount": {"amount": amount, "asset_id": "1.3.0"}, "extensions": []}])
    };
    let fees = ws.result("get_required_fees", fee_of(&transfer(&from, "1.2.6", 1, 0))).await?;
    obs.push("broadcast/get_required_fees".into(), Mode::Exact, "get_required_fees(transfer)", fees.clone());
    let fee = fees.get(0).and_then(|f| f.get("amount")).and_then(Value::as_u64).unwrap_or(2_000_000);
    let transfer_fee = fee;
    // A different amount each run keeps the transactions apart (no duplicates across runs).
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let amount = 100_000 + nonce % 100_000;
    let (_, head_id, time) = head(&mut ws).await?;
    let expiration = iso_plus(&time, 60)?;
    let key = &target.key;

    let tx = signed(&head_id, &expiration, json!([transfer(&from, "1.2.6", amount, fee)]), &[key], chain)?;
    let frame = call_frame(10, 2, "broadcast_transaction_synchronous", json!([tx]));
    obs.push("broadcast/synchronous".into(), Mode::Shape, &frame, ws.ask(&frame).await?);
    let frame = call_frame(11, 2, "broadcast_transaction", json!([tx]));
    obs.push("broadcast/duplicate".into(), Mode::Exact, &frame, ws.ask(&frame).await?);

    let tx = signed(&head_id, &expiration, json!([transfer(&from, "1.2.6", amount + 1, fee)]), &[key], chain)?;
    let frame = call_frame(12, 2, "broadcast_transaction_with_callback", json!([55, tx]));
    obs.push("broadcast/with-callback/answer".into(), Mode::Exact, &frame, ws.ask(&frame).await?);
    obs.push("broadcast/with-callback/notice".into(), Mode::Shape, &frame, ws.notice(Duration::from_secs(20)).await);

    let tx = signed(&head_id, &expiration, json!([transfer(&from, "1.2.6", amount + 2, fee)]), &[key], chain)?;
    let frame = call_frame(13, 2, "broadcast_transaction", json!([tx]));
    obs.push("broadcast/plain".into(), Mode::Exact, &frame, ws.ask(&frame).await?);

    let (_, head_id, time) = head(&mut ws).await?;
    let cases: Vec<(&str, Value, Option<&str>, Option<String>)> = vec![
        ("expired", transfer(&from, "1.2.6", amount + 3, fee), None, Some(iso_plus(&time, -30)?)),
        ("too-far-ahead", transfer(&from, "1.2.6", amount + 4, fee), None, Some(iso_plus(&time, 86_400 * 2)?)),
        ("missing-authority", transfer(&from, "1.2.6", amount + 5, fee), Some("other-key"), None),
        // init4 is never sent anything: its balance stays 0.
        ("insufficient-balance", transfer("1.2.10", "1.2.0", 100_000, fee), None, None),
        ("fee-too-low", transfer(&from, "1.2.6", amount + 6, 1), None, None),
        ("unknown-account", transfer(&from, "1.2.9999", amount + 7, fee), None, None),
    ];
    let other = PrivateKey::from_seed("conformance-other-key").map_err(|e| Error::Setup(e.to_string()))?;
    for (label, op, signer, exp) in cases {
        let k = if signer.is_some() { &other } else { key };
        let tx = signed(&head_id, exp.as_deref().unwrap_or(&expiration), json!([op]), &[k], chain)?;
        let frame = call_frame(20, 2, "broadcast_transaction", json!([tx]));
        obs.push(format!("broadcast/{label}"), Mode::Exact, &frame, ws.ask(&frame).await?);
    }
    // A wrong reference block prefix.
    let ops = json!([transfer(&from, "1.2.6", amount + 8, fee)]);
    let tx = signed_with_prefix(&head_id, Some(12345), &expiration, ops, &[key], chain)?;
    let frame = call_frame(21, 2, "broadcast_transaction", json!([tx]));
    obs.push("broadcast/bad-tapos".into(), Mode::Exact, &frame, ws.ask(&frame).await?);
    // Unsigned and malformed.
    let tx = signed(&head_id, &expiration, json!([transfer(&from, "1.2.6", amount + 9, fee)]), &[], chain)?;
    let frame = call_frame(22, 2, "broadcast_transaction", json!([tx]));
    obs.push("broadcast/unsigned".into(), Mode::Exact, &frame, ws.ask(&frame).await?);
    let frame = call_frame(23, 2, "broadcast_transaction", json!([{"ref_block_num": 1}]));
    obs.push("broadcast/malformed".into(), Mode::Exact, &frame, ws.ask(&frame).await?);

    // Account registrations the node refuses.
    let pubkey = target.key.public_key(bts_protocol::AddressPrefix::BTS).to_string();
    let create = |name: &str, fee: u64| {
        let auth = json!({"weight_threshold": 1, "account_auths": [], "key_auths": [[pubkey, 1]], "address_auths": []});
        json!([5, {"fee": {"amount": fee, "asset_id": "1.3.0"}, "registrar": from, "referrer": from,
            "referrer_percent": 0, "name": name, "owner": auth, "active": auth,
            "options": {"memo_key": pubkey, "voting_account": "1.2.5", "num_witness": 0, "num_committee": 0,
                "votes": [], "extensions": []}, "extensions": {}}])
    };
    let fees = ws.result("get_required_fees", fee_of(&create("conformance-1", 0))).await?;
    obs.push("register/get_required_fees".into(), Mode::Exact, "get_required_fees(account_create)", fees.clone());
    // The fee grows with the transaction's size: asked for each name.
    let basic_fee = fees.get(0).and_then(|f| f.get("amount")).and_then(Value::as_u64).unwrap_or(500_000);
    let create_fee = async |ws: &mut Ws, name: &str| -> Result<u64, Error> {
        let fees = ws.result("get_required_fees", fee_of(&create(name, 0))).await?;
        Ok(fees.get(0).and_then(|f| f.get("amount")).and_then(Value::as_u64).unwrap_or(500_000))
    };
    // "abcdefg" is a premium name (a vowel, no digit, dash or dot): the basic fee is too low.
    for (label, name) in [("name-taken", "init0"), ("invalid-name", "Bad-Name1"), ("premium-name", "abcdefg")] {
        let fee = if label == "premium-name" { basic_fee } else { create_fee(&mut ws, name).await? };
        let tx = signed(&head_id, &expiration, json!([create(name, fee)]), &[key], chain)?;
        let frame = call_frame(30, 2, "broadcast_transaction", json!([tx]));
        obs.push(format!("register/{label}"), Mode::Exact, &frame, ws.ask(&frame).await?);
    }
    let name = format!("conformance-{}", nonce % 1_000_000_000);
    let fee = create_fee(&mut ws, &name).await?;
    let tx = signed(&head_id, &expiration, json!([create(&name, fee)]), &[key], chain)?;
    let frame = call_frame(31, 2, "broadcast_transaction_synchronous", json!([tx]));
    obs.push("register/ok".into(), Mode::Shape, &frame, ws.ask(&frame).await?);

    // Over HTTP: a synchronous broadcast, then the same again.
    let tx =
        signed(&head_id, &expiration, json!([transfer(&from, "1.2.6", amount + 10, transfer_fee)]), &[key], chain)?;
    let frame =
        json!({"id": 1, "method": "call", "params": ["network_broadcast", "broadcast_transaction_synchronous", [tx]]})
            .to_string();
    obs.push("broadcast/http/synchronous".into(), Mode::Shape, &frame, http_post(http, &frame).await?);
    let frame =
        json!({"id": 1, "method": "call", "params": ["network_broadcast", "broadcast_transaction", [tx]]}).to_string();
    obs.push("broadcast/http/duplicate".into(), Mode::Exact, &frame, http_post(http, &frame).await?);
    Ok(())
}

/// Writes observations as a golden record (pretty JSON, keys in case order).
pub fn record(observations: &[Observation]) -> String {
    let mut out = serde_json::Map::new();
    for o in observations {
        out.insert(o.key.clone(), json!({"mode": o.mode, "sent": o.sent, "answer": o.answer}));
    }
    serde_json::to_string_pretty(&Value::Object(out)).unwrap_or_default()
}

/// Reads a golden record.
pub fn parse_golden(text: &str) -> Result<Vec<Observation>, Error> {
    let map: serde_json::Map<String, Value> = serde_json::from_str(text).map_err(|e| Error::Golden(e.to_string()))?;
    map.into_iter()
        .map(|(key, v)| {
            let mode = serde_json::from_value(v["mode"].clone()).map_err(|e| Error::Golden(format!("{key}: {e}")))?;
            let sent = v["sent"].as_str().unwrap_or_default().to_owned();
            Ok(Observation { key, mode, sent, answer: v["answer"].clone() })
        })
        .collect()
}

/// Keys whose number values differ between two chains or two runs.
const VOLATILE_NUMBERS: &[&str] =
    &["head_block_number", "last_irreversible_block_num", "block_num", "ref_block_num", "ref_block_prefix", "trx_num"];

/// Masks what legitimately differs between two chains and two runs, for [`Mode::Exact`]:
/// hex ids and signatures, ISO times, head-dependent numbers, and of an fc error's stack
/// everything but the first frame's format and data (source files and lines are the node's).
pub fn normalize(v: &Value) -> Value {
    fn hexes(s: &str) -> String {
        // Runs of 40+ hex digits (ids, signatures) become <hexN>.
        let mut out = String::new();
        let mut run = String::new();
        let flush = |run: &mut String, out: &mut String| {
            if run.len() >= 40 {
                out.push_str(&format!("<hex{}>", run.len()));
            } else {
                out.push_str(run);
            }
            run.clear();
        };
        for c in s.chars() {
            if c.is_ascii_hexdigit() {
                run.push(c);
            } else {
                flush(&mut run, &mut out);
                out.push(c);
            }
        }
        flush(&mut run, &mut out);
        out
    }
    fn is_time(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() == 19 && b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':' && b[16] == b':'
    }
    match v {
        Value::String(s) if is_time(s) => Value::String("<time>".into()),
        Value::String(s) => Value::String(hexes(s)),
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        Value::Object(members) => {
            let mut out = serde_json::Map::new();
            for (k, v) in members {
                let nv = match (k.as_str(), v) {
                    ("stack", Value::Array(frames)) => {
                        // A parse error's data is the parser's own dump of its inner exception.
                        let parse = members.get("code").and_then(Value::as_i64) == Some(4)
                            || members.get("name").and_then(Value::as_str) == Some("eof_exception");
                        // Otherwise the first frame's message (its format with the data filled
                        // in): what the log says, however the values were captured.
                        let first = frames.first().map(|f| {
                            let format = f["format"].as_str().unwrap_or_default();
                            if parse {
                                json!({"format": format})
                            } else {
                                normalize(&json!({"message": expand(format, &f["data"])}))
                            }
                        });
                        Value::Array(first.into_iter().collect())
                    }
                    (k, Value::Number(_)) if VOLATILE_NUMBERS.contains(&k) => Value::String("<n>".into()),
                    _ => normalize(v),
                };
                out.insert(k.clone(), nv);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// fc's `format_string`: `${key}` replaced by the data's value (strings without quotes).
fn expand(format: &str, data: &Value) -> String {
    let mut out = String::new();
    let mut rest = format;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('}') else { break };
        let key = &rest[start + 2..start + len];
        match data.get(key) {
            Some(Value::String(s)) => out.push_str(s),
            Some(v) => out.push_str(&v.to_string()),
            None => out.push_str(&rest[start..=start + len]),
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// The kind of a scalar for [`Mode::Shape`]: integers and integer strings are one kind, since
/// fc writes an integer as either depending on its size.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "double",
        Value::Number(_) => "integer",
        Value::String(s) if !s.is_empty() && s.trim_start_matches('-').bytes().all(|b| b.is_ascii_digit()) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Object members the node writes only when set (fc omits absent `optional`s), so their
/// presence follows the chain's state rather than the node's code: an account gets `cashback_vb`
/// once it earned cashback, a full account `cashback_balance` with it.
const STATE_DEPENDENT_MEMBERS: &[&str] = &["cashback_vb", "cashback_balance"];

fn shape_diff(path: &str, golden: &Value, actual: &Value, out: &mut Vec<String>) {
    match (golden, actual) {
        (Value::Object(g), Value::Object(a)) => {
            let keep = |k: &&String| !STATE_DEPENDENT_MEMBERS.contains(&k.as_str());
            let gk: Vec<&String> = g.keys().filter(keep).collect();
            let ak: Vec<&String> = a.keys().filter(keep).collect();
            if gk != ak {
                out.push(format!("{path}: members {gk:?}, got {ak:?}"));
                return;
            }
            for (k, gv) in g {
                if let Some(av) = a.get(k) {
                    shape_diff(&format!("{path}.{k}"), gv, av, out);
                }
            }
        }
        (Value::Array(g), Value::Array(a)) => {
            // fc's static_variant is `[tag, value]`: values of different tags (two operation
            // types) have different shapes.
            let tag = |x: &[Value]| (x.len() == 2).then(|| x[0].as_u64()).flatten();
            if let (Some(gt), Some(at)) = (tag(g), tag(a))
                && gt != at
            {
                return;
            }
            for (i, (gv, av)) in g.iter().zip(a).enumerate() {
                shape_diff(&format!("{path}[{i}]"), gv, av, out);
            }
        }
        (g, a) if kind(g) != kind(a) => out.push(format!("{path}: {} {g}, got {} {a}", kind(g), kind(a))),
        _ => {}
    }
}

/// Integers fc would have written as strings: int64 outside the int32 range, uint64 above
/// 0xffffffff.
fn fc_integer_violations(path: &str, v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Number(n) => {
            let ok = n.as_i64().map_or_else(
                || n.as_u64().is_some_and(|u| u <= u64::from(u32::MAX)) || n.is_f64(),
                |i| i >= i64::from(i32::MIN) && i <= i64::from(u32::MAX),
            );
            if !ok {
                out.push(format!("{path}: {n} is a JSON number; fc writes it as a string"));
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                fc_integer_violations(&format!("{path}[{i}]"), x, out);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                fc_integer_violations(&format!("{path}.{k}"), x, out);
            }
        }
        _ => {}
    }
}

/// How one observation compared.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// As the node answered.
    Pass,
    /// Different; the differences, one per line.
    Fail(Vec<String>),
    /// The record has no such case (a new case, not yet recorded).
    Unrecorded,
    /// Not compared, for this reason (a known and documented difference).
    Exempt(&'static str),
}

/// The comparison of a run with the record.
#[derive(Debug, Clone)]
pub struct Report {
    /// Every observation of the run, with its verdict.
    pub results: Vec<(Observation, Verdict)>,
    /// Recorded cases the run did not produce.
    pub missing: Vec<String>,
}

impl Report {
    /// The failures.
    pub fn failures(&self) -> impl Iterator<Item = &(Observation, Verdict)> {
        self.results.iter().filter(|(_, v)| matches!(v, Verdict::Fail(_) | Verdict::Unrecorded))
    }

    /// Counts: (passed, failed, exempt).
    pub fn counts(&self) -> (usize, usize, usize) {
        let pass = self.results.iter().filter(|(_, v)| *v == Verdict::Pass).count();
        let exempt = self.results.iter().filter(|(_, v)| matches!(v, Verdict::Exempt(_))).count();
        (pass, self.results.len() - pass - exempt, exempt)
    }

    /// A plain-text table of the failures and exemptions, then the counts.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (o, v) in &self.results {
            match v {
                Verdict::Pass => {}
                Verdict::Fail(diffs) => {
                    out.push_str(&format!("FAIL   {}\n       sent: {}\n", o.key, o.sent));
                    for d in diffs {
                        out.push_str(&format!("       {d}\n"));
                    }
                }
                Verdict::Unrecorded => out.push_str(&format!("NEW    {} (not in the record)\n", o.key)),
                Verdict::Exempt(why) => out.push_str(&format!("EXEMPT {}: {why}\n", o.key)),
            }
        }
        for m in &self.missing {
            out.push_str(&format!("MISSED {m} (recorded, not produced)\n"));
        }
        let (p, f, e) = self.counts();
        out.push_str(&format!("{p} as the node answered, {f} different, {e} exempt\n"));
        out
    }
}

/// Compares a run with the record; `exempt` lists case-key prefixes not compared, with why.
pub fn compare(golden: &[Observation], run: &[Observation], exempt: &[(&str, &'static str)]) -> Report {
    let by_key: BTreeMap<&str, &Observation> = golden.iter().map(|o| (o.key.as_str(), o)).collect();
    let mut results = Vec::new();
    for o in run {
        if let Some((_, why)) = exempt.iter().find(|(prefix, _)| o.key.starts_with(prefix)) {
            results.push((o.clone(), Verdict::Exempt(why)));
            continue;
        }
        let Some(g) = by_key.get(o.key.as_str()) else {
            results.push((o.clone(), Verdict::Unrecorded));
            continue;
        };
        let mut diffs = Vec::new();
        match g.mode {
            Mode::Exact => {
                let (gn, an) = (normalize(&g.answer), normalize(&o.answer));
                if gn != an {
                    diffs.push(format!("node:  {gn}"));
                    diffs.push(format!("this:  {an}"));
                }
            }
            Mode::Shape => shape_diff("$", &g.answer, &o.answer, &mut diffs),
        }
        fc_integer_violations("$", &o.answer, &mut diffs);
        results.push((o.clone(), if diffs.is_empty() { Verdict::Pass } else { Verdict::Fail(diffs) }));
    }
    let produced: std::collections::HashSet<&str> = run.iter().map(|o| o.key.as_str()).collect();
    let missing = golden.iter().filter(|g| !produced.contains(g.key.as_str())).map(|g| g.key.clone()).collect();
    Report { results, missing }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizing_masks_ids_times_and_stack_locations() {
        let v = json!({"id": 1, "error": {"code": 10, "message": "duplicate transaction: Transaction '0123456789abcdef0123456789abcdef01234567' is already in the database",
            "data": {"stack": [{"context": {"file": "db.cpp", "line": 1}, "format": "f", "data": {}}, {"context": {}, "format": "g"}]}},
            "result": {"time": "2026-12-07T20:38:24", "head_block_number": 5}});
        let n = normalize(&v);
        assert_eq!(n["error"]["message"], "duplicate transaction: Transaction '<hex40>' is already in the database");
        assert_eq!(n["error"]["data"]["stack"], json!([{"message": "f"}]));
        let v = json!({"data": {"code": 10, "stack": [{"format": "Account '${a}' exists; ${n}", "data": {"a": "x", "n": 5}}]}});
        assert_eq!(normalize(&v)["data"]["stack"], json!([{"message": "Account 'x' exists; 5"}]));
        assert_eq!(n["result"], json!({"time": "<time>", "head_block_number": "<n>"}));
    }

    #[test]
    fn shapes_compare_members_order_and_kinds() {
        let mut d = Vec::new();
        shape_diff("$", &json!({"a": 1, "b": "x", "c": [1]}), &json!({"a": "10000000000", "b": "y", "c": []}), &mut d);
        assert!(d.is_empty(), "{d:?}");
        shape_diff("$", &json!({"a": 1, "b": 2}), &json!({"b": 2, "a": 1}), &mut d);
        assert_eq!(d.len(), 1, "member order matters");
        d.clear();
        shape_diff("$", &json!([null]), &json!([{}]), &mut d);
        assert_eq!(d.len(), 1);
        let mut v = Vec::new();
        fc_integer_violations(
            "$",
            &json!({"amount": 10_000_000_000u64, "ok": 4_294_967_295u64, "neg": -3_000_000_000i64}),
            &mut v,
        );
        assert_eq!(v.len(), 2, "{v:?}");
    }

    #[test]
    fn the_golden_record_reads() {
        let g = parse_golden(GOLDEN).unwrap();
        assert!(g.len() > 100, "{} observations", g.len());
        assert!(g.iter().any(|o| o.key == "ids/ws/above-u32"));
    }
}
