//! The node's JSON-RPC wire format, in fc's exact shapes (protocol.md §6, witness_node_observed.md).
//!
//! Parsing keeps `params` as raw JSON (`RawValue`) so a proxy can route a frame without
//! re-serializing it, and ids are echoed back exactly as the client sent them (number or string).

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::fmt;

/// `-32700`: the frame is not JSON.
pub const PARSE_ERROR: i64 = -32700;
/// `-32600`: valid JSON but not a request (e.g. a batch).
pub const INVALID_REQUEST: i64 = -32600;
/// `-32601`: the API has no such method.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// `-32602`: named parameters are not supported.
pub const INVALID_PARAMS: i64 = -32602;
/// `-32603`: internal error.
pub const INTERNAL_ERROR: i64 = -32603;

/// Which API set a call addresses: the per-connection numeric id, or a name the server resolves
/// through the login API (`"database"`, `"network_broadcast"`, …).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ApiRef {
    /// Numeric API id (0 = database, 1 = login; others handed out on request).
    Id(u64),
    /// API set name.
    Name(String),
}

impl fmt::Display for ApiRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiRef::Id(id) => write!(f, "{id}"),
            ApiRef::Name(n) => f.write_str(n),
        }
    }
}

impl Serialize for ApiRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ApiRef::Id(id) => s.serialize_u64(*id),
            ApiRef::Name(n) => s.serialize_str(n),
        }
    }
}

/// A parsed request frame. `params` stays raw.
#[derive(Debug)]
pub struct Request {
    /// The id to echo (`None` for a notification, which gets no answer).
    pub id: Option<Value>,
    /// Whether the request carried `"jsonrpc":"2.0"` (echoed in the answer).
    pub jsonrpc: bool,
    /// Top-level method: `call` or, routed to API 0, a database method name.
    pub method: String,
    /// Raw params.
    pub params: Option<Box<RawValue>>,
}

/// A call resolved from a request: API, method and raw argument array.
#[derive(Debug)]
pub struct Call {
    /// Target API.
    pub api: ApiRef,
    /// Method name.
    pub method: String,
    /// Arguments as a raw JSON array.
    pub args: Box<RawValue>,
}

#[derive(serde::Deserialize)]
struct RawRequest {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    jsonrpc: Option<Value>,
    method: Option<Value>,
    #[serde(default)]
    params: Option<Box<RawValue>>,
}

impl Request {
    /// Parses one frame. Errors are ready-to-send answers (`id` null where unknown).
    pub fn parse(text: &str) -> Result<Request, Box<ErrorResponse>> {
        let trimmed = text.trim_start();
        if trimmed.starts_with('[') {
            if serde_json::from_str::<Value>(text).is_err() {
                return Err(Box::new(ErrorResponse::new(Some(Value::Null), true, RpcError::parse_error())));
            }
            return Err(Box::new(ErrorResponse::new(
                Some(Value::Null),
                true,
                RpcError::plain(INVALID_REQUEST, "Batch requests not supported"),
            )));
        }
        let raw: RawRequest = match serde_json::from_str(text) {
            Ok(r) => r,
            Err(e) if e.is_syntax() || e.is_eof() => {
                return Err(Box::new(ErrorResponse::new(Some(Value::Null), true, RpcError::parse_error())));
            }
            Err(_) => {
                return Err(Box::new(ErrorResponse::new(
                    Some(Value::Null),
                    true,
                    RpcError::plain(INVALID_REQUEST, "Invalid Request"),
                )));
            }
        };
        let jsonrpc = match &raw.jsonrpc {
            None => false,
            Some(Value::String(v)) if v == "2.0" => true,
            Some(_) => {
                return Err(Box::new(ErrorResponse::new(
                    raw.id,
                    true,
                    RpcError::plain(INVALID_REQUEST, "Invalid JSON-RPC version: jsonrpc must be \"2.0\""),
                )));
            }
        };
        let id = match raw.id {
            Some(Value::Null) | None => None,
            Some(v @ (Value::Number(_) | Value::String(_))) => Some(v),
            Some(_) => {
                return Err(Box::new(ErrorResponse::new(
                    Some(Value::Null),
                    jsonrpc,
                    RpcError::plain(INVALID_REQUEST, "Invalid Request: id must be a number or a string"),
                )));
            }
        };
        let method = match raw.method {
            Some(Value::String(m)) => m,
            _ => {
                return Err(Box::new(ErrorResponse::new(
                    id,
                    jsonrpc,
                    RpcError::plain(INVALID_REQUEST, "Invalid Request: missing method"),
                )));
            }
        };
        Ok(Request { id, jsonrpc, method, params: raw.params })
    }

    /// Resolves `call` and top-level methods (routed to API 0, as the node does).
    pub fn call(&self) -> Result<Call, RpcError> {
        let params = self.params.as_deref().map(RawValue::get).unwrap_or("[]");
        if self.method == "call" {
            let parts: Vec<&RawValue> = serde_json::from_str(params)
                .map_err(|_| RpcError::plain(INVALID_PARAMS, "Invalid params: expected [api, method, [args]]"))?;
            let [api, method, rest @ ..] = parts.as_slice() else {
                return Err(RpcError::plain(INVALID_PARAMS, "Invalid params: expected [api, method, [args]]"));
            };
            let api = match serde_json::from_str::<Value>(api.get()) {
                Ok(Value::Number(n)) if n.as_u64().is_some() => ApiRef::Id(n.as_u64().unwrap_or_default()),
                Ok(Value::String(s)) => ApiRef::Name(s),
                _ => return Err(RpcError::plain(INVALID_PARAMS, "Invalid params: API must be an id or a name")),
            };
            let method: String = serde_json::from_str(method.get())
                .map_err(|_| RpcError::plain(INVALID_PARAMS, "Invalid params: method must be a string"))?;
            let args = match rest.first() {
                Some(a) => (*a).to_owned(),
                None => empty_array(),
            };
            Ok(Call { api, method, args })
        } else {
            if params.trim_start().starts_with('{') {
                return Err(RpcError::plain(INVALID_PARAMS, "Named parameters are not supported"));
            }
            let args = self.params.clone().unwrap_or_else(empty_array);
            Ok(Call { api: ApiRef::Id(0), method: self.method.clone(), args })
        }
    }
}

/// A `call` (or top-level method) frame parsed in one pass without copying: the fast path of a
/// proxy. Anything unusual (batches, bad `jsonrpc`, odd ids, malformed params) yields `None`;
/// callers then use [`Request::parse`], which produces the node's exact error.
#[derive(Debug)]
pub struct BorrowedCall<'a> {
    /// The id as sent (number or string literal), `None` for a notification.
    pub id: Option<&'a RawValue>,
    /// Whether `"jsonrpc":"2.0"` was present.
    pub jsonrpc: bool,
    /// Target API.
    pub api: BorrowedApi<'a>,
    /// Method name.
    pub method: std::borrow::Cow<'a, str>,
    /// The argument array, raw.
    pub args: &'a RawValue,
}

/// An API reference borrowed from a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BorrowedApi<'a> {
    /// Numeric id.
    Id(u64),
    /// API set name.
    Name(std::borrow::Cow<'a, str>),
}

impl<'a> BorrowedCall<'a> {
    /// Parses a well-formed request frame, or returns `None`.
    pub fn parse(text: &'a str) -> Option<Self> {
        #[derive(serde::Deserialize)]
        struct Envelope<'a> {
            #[serde(borrow, default)]
            id: Option<&'a RawValue>,
            #[serde(borrow, default)]
            jsonrpc: Option<std::borrow::Cow<'a, str>>,
            #[serde(borrow)]
            method: std::borrow::Cow<'a, str>,
            #[serde(borrow, default)]
            params: Option<&'a RawValue>,
        }
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Api<'a> {
            Id(u64),
            Name(#[serde(borrow)] std::borrow::Cow<'a, str>),
        }
        let env: Envelope<'a> = serde_json::from_str(text).ok()?;
        let jsonrpc = match env.jsonrpc.as_deref() {
            None => false,
            Some("2.0") => true,
            Some(_) => return None,
        };
        let id = match env.id {
            Some(raw) if raw.get() == "null" => None,
            Some(raw)
                if raw.get().starts_with('"') || raw.get().starts_with(|c: char| c == '-' || c.is_ascii_digit()) =>
            {
                Some(raw)
            }
            Some(_) => return None,
            None => None,
        };
        let params = env.params?;
        if env.method == "call" {
            let (api, method, args): (Api<'a>, std::borrow::Cow<'a, str>, &'a RawValue) =
                serde_json::from_str(params.get()).ok()?;
            if !args.get().starts_with('[') {
                return None;
            }
            let api = match api {
                Api::Id(n) => BorrowedApi::Id(n),
                Api::Name(n) => BorrowedApi::Name(n),
            };
            Some(Self { id, jsonrpc, api, method, args })
        } else {
            if !params.get().starts_with('[') || env.method == "notice" || env.method == "callback" {
                return None;
            }
            Some(Self { id, jsonrpc, api: BorrowedApi::Id(0), method: env.method, args: params })
        }
    }
}

fn empty_array() -> Box<RawValue> {
    #[allow(clippy::expect_used)] // "[]" is a valid JSON literal: this cannot fail.
    RawValue::from_string("[]".to_owned()).expect("[] is valid JSON")
}

/// An error object as the node sends it: `{code, message, data?}`.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct RpcError {
    /// Error code (JSON-RPC protocol code, or the fc exception code).
    pub code: i64,
    /// Human-readable message; fc prefixes exceptions with `Execution error: `.
    pub message: String,
    /// fc exception detail: `{code, name, message, stack}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

impl std::error::Error for RpcError {}

impl RpcError {
    /// A protocol-level error without fc detail.
    pub fn plain(code: i64, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), data: None }
    }

    /// `-32700 Invalid JSON message` with fc's `parse_error_exception` detail.
    pub fn parse_error() -> Self {
        FcException::new(PARSE_ERROR, "parse_error_exception", "Parse Error", "Invalid JSON message")
            .into_error_with_message("Invalid JSON message")
    }

    /// `-32601 Method not found`, listing the API's methods like the node (`stack[0].data`).
    pub fn method_not_found(method: &str, api_methods: &[&str]) -> Self {
        let methods: serde_json::Map<String, Value> =
            api_methods.iter().enumerate().map(|(i, m)| ((*m).to_owned(), json!(i))).collect();
        let mut e = FcException::new(22, "method_not_found_exception", "Method Not Found", "Method not found");
        e.data = json!({"name": method, "api": methods});
        let mut err = e.into_error_with_message("Method not found");
        err.code = METHOD_NOT_FOUND;
        err
    }

    /// The fc exception name in `data.name`, if any.
    pub fn name(&self) -> Option<&str> {
        self.data.as_ref()?.get("name")?.as_str()
    }
}

/// An fc exception: code, name, `what()`, and the formatted log message of its top frame.
#[derive(Debug, Clone)]
pub struct FcException {
    /// fc exception code (assert_exception = 10, bad_cast = 7, …).
    pub code: i64,
    /// fc exception name (`assert_exception`, `duplicate_transaction`, …).
    pub name: &'static str,
    /// `what()` text (`Assert Exception`, `duplicate transaction`, …).
    pub what: &'static str,
    /// The expanded log message (`Account 'x' already exists.`); may be empty.
    pub message: String,
    /// Values captured with the message (`stack[0].data`).
    pub data: Value,
    /// Source method reported in the stack context.
    pub method: &'static str,
}

impl FcException {
    /// A new exception with empty captured data.
    pub fn new(code: i64, name: &'static str, what: &'static str, message: impl Into<String>) -> Self {
        Self { code, name, what, message: message.into(), data: json!({}), method: "" }
    }

    /// `FC_ASSERT(expr, msg)`: `Assert Exception: <expr>: <msg>`.
    pub fn assert(expr: &str, msg: impl AsRef<str>) -> Self {
        Self::new(10, "assert_exception", "Assert Exception", format!("{expr}: {}", msg.as_ref()))
    }

    /// Sets the captured data.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = data;
        self
    }

    /// Sets the source method reported in the stack.
    pub fn in_method(mut self, method: &'static str) -> Self {
        self.method = method;
        self
    }

    /// The `Execution error: <what>: <message>` text the node sends.
    pub fn execution_message(&self) -> String {
        format!("Execution error: {}", self.to_string_fc())
    }

    /// fc's `to_string()` of the exception: `<what>: <message>`.
    pub fn to_string_fc(&self) -> String {
        format!("{}: {}", self.what, self.message)
    }

    /// The wire error with the node's `Execution error:` message.
    pub fn into_error(self) -> RpcError {
        let message = self.execution_message();
        self.into_error_with_message(message)
    }

    fn into_error_with_message(self, message: impl Into<String>) -> RpcError {
        let stack = json!([{
            "context": {
                "level": "error",
                "file": "devnet",
                "line": 0,
                "method": self.method,
                "hostname": "",
                "thread_name": "th_a",
                "timestamp": now_iso(),
            },
            "format": self.message,
            "data": self.data,
        }]);
        RpcError {
            code: self.code,
            message: message.into(),
            data: Some(json!({"code": self.code, "name": self.name, "message": self.what, "stack": stack})),
        }
    }
}

impl fmt::Display for FcException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_fc())
    }
}

/// UTC wall-clock time as `YYYY-MM-DDTHH:MM:SS` (fc's stack timestamps).
fn now_iso() -> String {
    bts_protocol::TimePointSec::now().to_string()
}

/// An error answer ready to serialize.
#[derive(Debug, Clone)]
pub struct ErrorResponse {
    /// Echoed id (`Some(Null)` serializes as `"id":null`).
    pub id: Option<Value>,
    /// Whether to add `"jsonrpc":"2.0"`.
    pub jsonrpc: bool,
    /// The error.
    pub error: RpcError,
}

impl ErrorResponse {
    /// An error answer.
    pub fn new(id: Option<Value>, jsonrpc: bool, error: RpcError) -> Self {
        Self { id, jsonrpc, error }
    }

    /// The JSON text.
    pub fn to_json(&self) -> String {
        error_response(self.id.as_ref().unwrap_or(&Value::Null), self.jsonrpc, &self.error)
    }
}

/// `{"id":…,"jsonrpc":"2.0"?,"result":…}` with the result spliced in raw.
pub fn result_response(id: &Value, jsonrpc: bool, result: &RawValue) -> String {
    let id = serde_json::to_string(id).unwrap_or_else(|_| "null".into());
    if jsonrpc {
        format!("{{\"id\":{id},\"jsonrpc\":\"2.0\",\"result\":{}}}", result.get())
    } else {
        format!("{{\"id\":{id},\"result\":{}}}", result.get())
    }
}

/// `{"id":…,"jsonrpc":"2.0"?,"error":{…}}`.
pub fn error_response(id: &Value, jsonrpc: bool, error: &RpcError) -> String {
    let mut obj = serde_json::Map::new();
    obj.insert("id".into(), id.clone());
    if jsonrpc {
        obj.insert("jsonrpc".into(), json!("2.0"));
    }
    obj.insert("error".into(), serde_json::to_value(error).unwrap_or(Value::Null));
    Value::Object(obj).to_string()
}

/// `{"method":"notice","params":[callback_id,[args…]]}`: a server-pushed callback.
pub fn notice(callback: &Value, args: &Value) -> String {
    json!({"method": "notice", "params": [callback, args]}).to_string()
}

/// A decoded server → client message.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// An answer to a request.
    Response {
        /// Echoed request id.
        id: Value,
        /// `Ok(result)` or the node's error.
        result: Result<Value, RpcError>,
    },
    /// A `notice` for a callback.
    Notice(Notice),
}

/// A callback notice: `params[0]` is the callback id, `params[1]` its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// Callback id the client registered.
    pub callback: Value,
    /// The callback's arguments.
    pub args: Value,
}

/// Decodes a server message (answer or notice).
pub fn parse_incoming(text: &str) -> Result<Incoming, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON from node: {e}"))?;
    if v.get("method").and_then(Value::as_str) == Some("notice") {
        let params = v.get("params").and_then(Value::as_array).ok_or("notice without params")?;
        return Ok(Incoming::Notice(Notice {
            callback: params.first().cloned().unwrap_or(Value::Null),
            args: params.get(1).cloned().unwrap_or(Value::Null),
        }));
    }
    let id = v.get("id").cloned().unwrap_or(Value::Null);
    if let Some(err) = v.get("error") {
        let err: RpcError = serde_json::from_value(err.clone()).map_err(|e| format!("malformed error object: {e}"))?;
        return Ok(Incoming::Response { id, result: Err(err) });
    }
    match v.get("result") {
        Some(r) => Ok(Incoming::Response { id, result: Ok(r.clone()) }),
        None => Err(format!("message is neither an answer nor a notice: {text}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_envelope_with_numeric_and_named_api() {
        let r = Request::parse(r#"{"id":7,"method":"call","params":[1,"login",["",""]],"jsonrpc":"2.0"}"#).unwrap();
        assert!(r.jsonrpc);
        let c = r.call().unwrap();
        assert_eq!((c.api, c.method.as_str(), c.args.get()), (ApiRef::Id(1), "login", r#"["",""]"#));
        let r = Request::parse(r#"{"id":"x","method":"call","params":["database","get_chain_id",[]]}"#).unwrap();
        assert_eq!(r.call().unwrap().api, ApiRef::Name("database".into()));
        assert_eq!(r.id, Some(json!("x")));
    }

    #[test]
    fn borrowed_calls_match_the_full_parser() {
        let c =
            BorrowedCall::parse(r#"{"id":7,"method":"call","params":[1,"login",["",""]],"jsonrpc":"2.0"}"#).unwrap();
        assert_eq!(
            (c.id.map(|r| r.get()), c.jsonrpc, c.api, c.method.as_ref(), c.args.get()),
            (Some("7"), true, BorrowedApi::Id(1), "login", r#"["",""]"#)
        );
        let c = BorrowedCall::parse(r#"{"id":"x","method":"call","params":["database","get_chain_id",[]]}"#).unwrap();
        assert_eq!((c.id.map(|r| r.get()), c.api), (Some("\"x\""), BorrowedApi::Name("database".into())));
        let c = BorrowedCall::parse(r#"{"id":1,"method":"get_objects","params":[["2.1.0"]]}"#).unwrap();
        assert_eq!((c.api, c.method.as_ref()), (BorrowedApi::Id(0), "get_objects"));
        for odd in [
            "{oops",
            "[1]",
            r#"{"id":{},"method":"get_chain_id","params":[]}"#,
            r#"{"id":1,"jsonrpc":"1.0","method":"x","params":[]}"#,
            r#"{"id":1,"method":"call","params":[0,"m",{}]}"#,
            r#"{"id":1,"method":"call","params":[0]}"#,
            r#"{"id":1,"method":"m","params":{}}"#,
        ] {
            assert!(BorrowedCall::parse(odd).is_none(), "{odd}");
        }
    }

    #[test]
    fn top_level_methods_route_to_api_zero() {
        let r = Request::parse(r#"{"id":1,"method":"get_chain_id","params":[]}"#).unwrap();
        let c = r.call().unwrap();
        assert_eq!((c.api, c.method.as_str()), (ApiRef::Id(0), "get_chain_id"));
    }

    #[test]
    fn malformed_json_and_batches_get_the_node_errors() {
        let e = Request::parse("{oops").unwrap_err();
        assert_eq!(e.error.code, PARSE_ERROR);
        assert!(e.to_json().starts_with(r#"{"id":null,"jsonrpc":"2.0","error":{"code":-32700"#), "{}", e.to_json());
        let e = Request::parse(r#"[{"id":1}]"#).unwrap_err();
        assert_eq!(
            e.to_json(),
            r#"{"id":null,"jsonrpc":"2.0","error":{"code":-32600,"message":"Batch requests not supported"}}"#
        );
    }

    #[test]
    fn result_is_spliced_raw_and_jsonrpc_echoed() {
        let raw = RawValue::from_string("{\"b\":1,\"a\":2}".into()).unwrap();
        assert_eq!(result_response(&json!(3), false, &raw), r#"{"id":3,"result":{"b":1,"a":2}}"#);
        assert_eq!(result_response(&json!("s"), true, &raw), r#"{"id":"s","jsonrpc":"2.0","result":{"b":1,"a":2}}"#);
    }

    #[test]
    fn fc_exception_shape() {
        let e = FcException::assert("is_valid_name( name )", "").into_error();
        assert_eq!(e.code, 10);
        assert_eq!(e.message, "Execution error: Assert Exception: is_valid_name( name ): ");
        let data = e.data.unwrap();
        assert_eq!(data["name"], "assert_exception");
        assert_eq!(data["stack"][0]["context"]["thread_name"], "th_a");
        let e = RpcError::method_not_found("nope", &["get_chain_id"]);
        assert_eq!((e.code, e.message.as_str()), (-32601, "Method not found"));
        assert_eq!(e.data.unwrap()["code"], 22);
    }

    #[test]
    fn incoming_notices_and_answers() {
        let n = parse_incoming(r#"{"method":"notice","params":[101,[[{"id":"2.1.0"}]]]}"#).unwrap();
        assert_eq!(n, Incoming::Notice(Notice { callback: json!(101), args: json!([[{"id":"2.1.0"}]]) }));
        let a = parse_incoming(r#"{"id":2,"error":{"code":10,"message":"x"}}"#).unwrap();
        assert!(matches!(a, Incoming::Response { result: Err(RpcError { code: 10, .. }), .. }));
    }
}
