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

/// A request frame, read by the node's rules (`fc::rpc::websocket_api_connection::on_message`).
#[derive(Debug)]
pub struct Request {
    /// The id to echo, already in the form the node writes it (`4294967296` → `"4294967296"`,
    /// `1.5` → `"1.50000000000000000"`); `None` when the node sends no answer (no id, or a null
    /// id without `jsonrpc`).
    pub id: Option<Value>,
    /// Whether the request carried `"jsonrpc":"2.0"` (echoed in the answer).
    pub jsonrpc: bool,
    /// Top-level method: `call`, `notice`, `callback` or, routed to API 0, a database method.
    pub method: String,
    /// The parameters as the node read them.
    pub params: Vec<crate::fc::Variant>,
}

/// A call resolved from a request: API, method and argument array.
#[derive(Debug)]
pub struct Call {
    /// Target API.
    pub api: ApiRef,
    /// Method name.
    pub method: String,
    /// The argument array as the node read it.
    pub args: crate::fc::Variant,
}

impl Call {
    /// The arguments as text a node reads back into the same values (to forward the call).
    pub fn args_text(&self) -> String {
        self.args.to_node_input()
    }

    /// The arguments as a `serde_json` value (to deserialize them).
    pub fn args_value(&self) -> Value {
        self.args.to_serde()
    }
}

/// An envelope-level refusal: `{"id":null,"jsonrpc":"2.0","error":{code, message}}`.
fn refuse(code: i64, message: &str) -> Box<ErrorResponse> {
    Box::new(ErrorResponse::new(Some(Value::Null), true, RpcError::plain(code, message)))
}

impl Request {
    /// Reads one frame as the node does. `Ok(None)`: the node sends nothing back (the frame is
    /// an answer to a call the server made); `Err`: the ready-to-send refusal, `id` null.
    pub fn parse(text: &str) -> Result<Option<Request>, Box<ErrorResponse>> {
        use crate::fc::Variant;
        let var = crate::fc::parse(text).map_err(|e| {
            Box::new(ErrorResponse::new(Some(Value::Null), true, RpcError::from_parse_failure(&e, text)))
        })?;
        let members = match &var {
            Variant::Array(_) => return Err(refuse(INVALID_REQUEST, "Batch requests not supported")),
            Variant::Object(m) => m,
            _ => return Err(refuse(INVALID_REQUEST, "Invalid JSON request")),
        };
        let id = var.get("id");
        if id.is_some_and(|id| !matches!(id, Variant::String(_) | Variant::Null) && !id.is_numeric()) {
            return Err(refuse(INVALID_REQUEST, "Invalid id"));
        }
        let method = var.get("method");
        if method.is_some_and(|m| m.as_str().is_none_or(str::is_empty)) {
            return Err(refuse(INVALID_REQUEST, "Missing or invalid method"));
        }
        let jsonrpc = var.get("jsonrpc");
        if jsonrpc.is_some_and(|j| j.as_str() != Some("2.0")) {
            return Err(refuse(INVALID_REQUEST, "Unsupported JSON-RPC version"));
        }
        let Some(method) = method.and_then(Variant::as_str) else {
            if members.iter().any(|(k, _)| k == "result" || k == "error") {
                if id.is_none() || (id == Some(&Variant::Null) && jsonrpc.is_none()) {
                    return Err(refuse(INVALID_REQUEST, "Missing or invalid id"));
                }
                return Ok(None);
            }
            return Err(refuse(INVALID_REQUEST, "Missing method or result or error"));
        };
        let params = match var.get("params") {
            None => Vec::new(),
            Some(Variant::Object(_)) => return Err(refuse(INVALID_PARAMS, "Named parameters not supported")),
            Some(Variant::Array(items)) => items.clone(),
            Some(_) => return Err(refuse(INVALID_REQUEST, "Invalid parameters")),
        };
        // A null id is an id in JSON-RPC 2.0 but "no id" in 1.0 (fc's rule).
        let has_id = id.is_some_and(|id| jsonrpc.is_some() || *id != Variant::Null);
        let id = if has_id { id.map(|id| serde_json::from_str(&id.to_fc_json()).unwrap_or(Value::Null)) } else { None };
        Ok(Some(Request { id, jsonrpc: jsonrpc.is_some(), method: method.to_owned(), params }))
    }

    /// Resolves the request as the node's `call` method and its fallback do: `call` takes
    /// exactly `[api, method, [args]]` (api a name, resolved through the login API, or anything
    /// fc casts to an id); any other method goes to API 0. `notice` and `callback` address
    /// callbacks the server registered, of which a node serving clients has none.
    pub fn call(&self) -> Result<Call, RpcError> {
        use crate::fc::Variant;
        match self.method.as_str() {
            "call" => {
                let [api, method, Variant::Array(_)] = self.params.as_slice() else {
                    return Err(FcException::assert("args.size() == 3 && args[2].is_array()", "")
                        .in_method("operator()")
                        .into_error());
                };
                let api = match api {
                    Variant::String(name) => ApiRef::Name(name.clone()),
                    other => ApiRef::Id(other.as_uint64().map_err(|e| FcException::from_fc(&e).into_error())?),
                };
                let method = method.as_string().map_err(|e| FcException::from_fc(&e).into_error())?;
                Ok(Call { api, method, args: self.params[2].clone() })
            }
            "notice" | "callback" => {
                let [first, Variant::Array(_)] = self.params.as_slice() else {
                    return Err(FcException::assert("args.size() == 2 && args[1].is_array()", "")
                        .in_method("operator()")
                        .into_error());
                };
                first.as_uint64().map_err(|e| FcException::from_fc(&e).into_error())?;
                let what = if self.method == "notice" { "receive_notice" } else { "receive_callback" };
                Err(FcException::assert("_local_callbacks.size() > callback_id", "").in_method(what).into_error())
            }
            _ => {
                Ok(Call { api: ApiRef::Id(0), method: self.method.clone(), args: Variant::Array(self.params.clone()) })
            }
        }
    }
}

/// A `call` (or top-level method) frame parsed in one pass without copying: the fast path of a
/// proxy. It accepts only frames that the node's own parser ([`crate::fc`]) reads the same way
/// and whose id the node echoes as sent: strict JSON, no duplicate keys, no escapes in the id,
/// method or API name, an id that is a string or an integer the node writes back unchanged
/// (−2³¹ … 2³²−1). Anything else yields `None`; callers then use [`Request::parse`], which reads
/// it as the node does and produces the node's exact errors.
#[derive(Debug)]
pub struct BorrowedCall<'a> {
    /// The id as sent (and as the node echoes it), `None` for a notification.
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

/// Whether the node writes this JSON integer literal back exactly as it is: fc keeps int64
/// inside the int32 range and uint64 up to 0xffffffff as numbers (`-0` becomes `0`).
fn echoed_unchanged(number: &str) -> bool {
    match number.strip_prefix('-') {
        Some("0") => false,
        Some(_) => number.parse::<i64>().is_ok_and(|n| n >= i64::from(i32::MIN)),
        None => number.parse::<u64>().is_ok_and(|n| n <= u64::from(u32::MAX)),
    }
}

/// Whether `json` holds an integer literal (outside strings) of 19 or more digits. fc's parser
/// refuses the whole frame when an integer does not fit int64/uint64 (`Couldn't parse uint64_t`,
/// answered with id null), where serde reads it as a float: such frames must take the full parser.
fn has_long_integer(json: &str) -> bool {
    let (mut in_string, mut escaped, mut run) = (false, false, 0u32);
    for b in json.bytes() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                run = 0;
            }
            b'0'..=b'9' => {
                run += 1;
                if run >= 19 {
                    return true;
                }
            }
            _ => run = 0,
        }
    }
    false
}

impl<'a> BorrowedCall<'a> {
    /// Parses a well-formed request frame, or returns `None`.
    pub fn parse(text: &'a str) -> Option<Self> {
        use std::borrow::Cow;
        // `&str` (not `Cow`) so that a string with an escape fails here: the node reads escapes
        // its own way, so such frames take the full parser.
        // A present `null` id is kept (`Option` would read it as absent).
        fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
            <&'de RawValue as serde::Deserialize>::deserialize(d).map(Some)
        }
        #[derive(serde::Deserialize)]
        struct Envelope<'a> {
            #[serde(borrow, default, deserialize_with = "present")]
            id: Option<&'a RawValue>,
            #[serde(borrow, default)]
            jsonrpc: Option<&'a str>,
            #[serde(borrow)]
            method: &'a str,
            #[serde(borrow, default)]
            params: Option<&'a RawValue>,
        }
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Api<'a> {
            Id(u64),
            Name(#[serde(borrow)] &'a str),
        }
        let env: Envelope<'a> = serde_json::from_str(text).ok()?;
        let jsonrpc = match env.jsonrpc {
            None => false,
            Some("2.0") => true,
            Some(_) => return None,
        };
        if env.method.is_empty() {
            return None;
        }
        let id = match env.id {
            // A null id with jsonrpc is answered (with `null`): the full parser handles it.
            Some(raw) if raw.get() == "null" => {
                if jsonrpc {
                    return None;
                }
                None
            }
            Some(raw) if raw.get().starts_with('"') && !raw.get().contains('\\') => Some(raw),
            Some(raw) if raw.get().bytes().all(|b| b.is_ascii_digit() || b == b'-') && echoed_unchanged(raw.get()) => {
                Some(raw)
            }
            Some(_) => return None,
            None => None,
        };
        let params = env.params?;
        if has_long_integer(params.get()) {
            return None;
        }
        if env.method == "call" {
            let (api, method, args): (Api<'a>, &'a str, &'a RawValue) = serde_json::from_str(params.get()).ok()?;
            if !args.get().starts_with('[') {
                return None;
            }
            let api = match api {
                Api::Id(n) => BorrowedApi::Id(n),
                Api::Name(n) => BorrowedApi::Name(Cow::Borrowed(n)),
            };
            Some(Self { id, jsonrpc, api, method: Cow::Borrowed(method), args })
        } else {
            if !params.get().starts_with('[') || env.method == "notice" || env.method == "callback" {
                return None;
            }
            Some(Self { id, jsonrpc, api: BorrowedApi::Id(0), method: Cow::Borrowed(env.method), args: params })
        }
    }
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

    /// `-32700 Invalid JSON message` with fc's `parse_error_exception` detail (`data.code` 4).
    pub fn parse_error() -> Self {
        let mut e = FcException::new(4, "parse_error_exception", "Parse Error", "Invalid JSON message")
            .into_error_with_message("Invalid JSON message");
        e.code = PARSE_ERROR;
        e
    }

    /// The node's answer to a frame its parser refused: `-32700 Invalid JSON message`, with the
    /// parser's exception in `data` (its innermost frame, then `from_string` with the text).
    pub fn from_parse_failure(failure: &crate::fc::FcError, text: &str) -> Self {
        let mut e = FcException::from_fc(failure).in_method("from_string");
        e.data = (*failure.data).clone();
        let mut err = e.into_error_with_message("Invalid JSON message");
        err.code = PARSE_ERROR;
        if let Some(stack) = err.data.as_mut().and_then(|d| d.get_mut("stack")).and_then(Value::as_array_mut) {
            let mut last = stack.first().cloned().unwrap_or(Value::Null);
            last["context"]["level"] = json!("warn");
            last["format"] = json!("");
            last["data"] = json!({ "str": text });
            stack.push(last);
        }
        err
    }

    /// `-32601 Method not found`, as the node words it: `stack[0]` says "No method with name
    /// '…'" and lists the API's methods as `[name, index]` pairs, by name (`api_methods` is in
    /// index order).
    pub fn method_not_found(method: &str, api_methods: &[&str]) -> Self {
        let mut methods: Vec<(&str, usize)> = api_methods.iter().enumerate().map(|(i, m)| (*m, i)).collect();
        methods.sort_unstable();
        let mut e = FcException::new(
            22,
            "method_not_found_exception",
            "Method Not Found",
            format!("No method with name '{method}'"),
        );
        e.format = Some("No method with name '${name}'".into());
        e.method = "call";
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
    /// The log format with its `${key}` placeholders, when it differs from `message`.
    pub format: Option<String>,
    /// Messages of the frames an `FC_RETHROW`/`FC_CAPTURE_AND_RETHROW` added on the way out,
    /// innermost first: fc appends them to the text (`what: m1 m2`) and to the stack.
    pub rethrown: Vec<String>,
}

impl FcException {
    /// A new exception with empty captured data.
    pub fn new(code: i64, name: &'static str, what: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            name,
            what,
            message: message.into(),
            data: json!({}),
            method: "",
            format: None,
            rethrown: Vec::new(),
        }
    }

    /// `FC_ASSERT(expr, msg)`: `Assert Exception: <expr>: <msg>`.
    pub fn assert(expr: &str, msg: impl AsRef<str>) -> Self {
        Self::new(10, "assert_exception", "Assert Exception", format!("{expr}: {}", msg.as_ref()))
    }

    /// The exception an fc conversion or parse threw, as the node reports it.
    pub fn from_fc(e: &crate::fc::FcError) -> Self {
        Self {
            code: e.code,
            name: e.name,
            what: e.what,
            message: e.message(),
            data: (*e.data).clone(),
            method: "",
            format: Some(e.format.clone()),
            rethrown: Vec::new(),
        }
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

    /// Adds the message of a frame a rethrow appended.
    pub fn rethrown(mut self, message: impl Into<String>) -> Self {
        self.rethrown.push(message.into());
        self
    }

    /// fc's `to_string()` of the exception: `<what>: <message>`, then each rethrow's message.
    pub fn to_string_fc(&self) -> String {
        let mut s = format!("{}: {}", self.what, self.message);
        for m in &self.rethrown {
            s.push(' ');
            s.push_str(m);
        }
        s
    }

    /// The wire error with the node's `Execution error:` message.
    pub fn into_error(self) -> RpcError {
        let message = self.execution_message();
        self.into_error_with_message(message)
    }

    fn into_error_with_message(self, message: impl Into<String>) -> RpcError {
        let format = self.format.unwrap_or(self.message);
        let frame = |level: &str, method: &str, format: &str, data: &Value| {
            json!({
                "context": {
                    "level": level,
                    "file": "devnet",
                    "line": 0,
                    "method": method,
                    "hostname": "",
                    "thread_name": "th_a",
                    "timestamp": now_iso(),
                },
                "format": format,
                "data": data,
            })
        };
        let mut frames = vec![frame("error", self.method, &format, &self.data)];
        frames.extend(self.rethrown.iter().map(|m| frame("warn", "", m, &json!({}))));
        let stack = Value::Array(frames);
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

/// A request or callback id the node echoed, in either of fc's forms: a number, or (above
/// 0xffffffff) the decimal string fc writes instead.
pub fn id_number(id: &Value) -> Option<u64> {
    match id {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A number the node echoed (a request or callback id the client chose), read in either of
/// fc's forms: `serde` reads `4294967297` and `"4294967297"` alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoedId(pub u64);

impl<'de> serde::Deserialize<'de> for EchoedId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = EchoedId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an unsigned integer or its decimal string")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<EchoedId, E> {
                Ok(EchoedId(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<EchoedId, E> {
                v.parse().map(EchoedId).map_err(|_| E::custom(format_args!("not an id: \"{v}\"")))
            }
        }
        d.deserialize_any(V)
    }
}

/// The login API's `login` as a node without an api-access file answers it (every user and
/// password is accepted): no user and no password → `1` (kept for old clients), one of them →
/// the node's assertion, both → `true`. `args` is the raw argument array.
pub fn login_result(args: &str) -> Result<&'static str, RpcError> {
    use crate::fc::Variant;
    let args = match crate::fc::parse(args) {
        Ok(Variant::Array(a)) => a,
        Ok(_) => Vec::new(),
        Err(e) => return Err(FcException::from_fc(&e).into_error()),
    };
    let given = |i: usize| -> Result<bool, RpcError> {
        match args.get(i) {
            None | Some(Variant::Null) => Ok(false),
            Some(v) => v.as_string().map(|_| true).map_err(|e| FcException::from_fc(&e).into_error()),
        }
    };
    match (given(0)?, given(1)?) {
        (false, false) => Ok("1"),
        (true, true) => Ok("true"),
        _ => Err(FcException::assert("o_user.valid() && o_password.valid()", "Must provide both user and password")
            .in_method("login")
            .into_error()),
    }
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
    fn frames_with_integers_fc_cannot_read_take_the_full_parser() {
        // Found by fuzz/client_frame: witness_node refuses such a frame with id null, so a
        // forwarded copy would never be answered.
        let frame = r#"{"id":1,"method":"call","params":[0,"get_block",[777777777777777777777777777777777770]]}"#;
        assert!(BorrowedCall::parse(frame).is_none());
        let e = Request::parse(frame).unwrap_err();
        assert_eq!((e.error.code, e.id.clone()), (PARSE_ERROR, Some(Value::Null)));
        let crash = r#"{"iild":1,"method":"call","params":[0,"get[1]_block",[777777777777777777777777777777777770]]}"#;
        assert!(BorrowedCall::parse(crash).is_none() && Request::parse(crash).is_err());
        // Long digit runs inside strings are fine.
        assert!(
            BorrowedCall::parse(r#"{"id":1,"method":"call","params":[0,"get_objects",[["1234567890123456789012"]]]}"#)
                .is_some()
        );
        assert!(
            BorrowedCall::parse(r#"{"id":1,"method":"call","params":[0,"get_block",[1234567890123456789]]}"#).is_none()
        );
    }

    #[test]
    fn call_envelope_with_numeric_and_named_api() {
        let r = Request::parse(r#"{"id":7,"method":"call","params":[1,"login",["",""]],"jsonrpc":"2.0"}"#)
            .unwrap()
            .unwrap();
        assert!(r.jsonrpc);
        let c = r.call().unwrap();
        assert_eq!((c.args_text(), c.api, c.method.as_str()), (r#"["",""]"#.to_owned(), ApiRef::Id(1), "login"));
        let r =
            Request::parse(r#"{"id":"x","method":"call","params":["database","get_chain_id",[]]}"#).unwrap().unwrap();
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
            r#"{"id":4294967296,"method":"m","params":[]}"#,
            r#"{"id":-2147483649,"method":"m","params":[]}"#,
            r#"{"id":-0,"method":"m","params":[]}"#,
            r#"{"id":1.5,"method":"m","params":[]}"#,
            r#"{"id":true,"method":"m","params":[]}"#,
            r#"{"id":"a\u0041","method":"m","params":[]}"#,
            r#"{"id":null,"jsonrpc":"2.0","method":"m","params":[]}"#,
            r#"{"id":1,"method":"","params":[]}"#,
            r#"{"id":1,"method":"m\u0041","params":[]}"#,
            r#"{"id":1,"method":"call","params":["d\u0041",m,[]]}"#,
            r#"{"id":1,"id":2,"method":"m","params":[]}"#,
            r#"{"id":1,"method":"m","params":[]} trailing"#,
        ] {
            assert!(BorrowedCall::parse(odd).is_none(), "{odd}");
        }
        for edge in ["4294967295", "-2147483648", "0", "\"x y\""] {
            let frame = format!(r#"{{"id":{edge},"method":"m","params":[]}}"#);
            let fast = BorrowedCall::parse(&frame).unwrap();
            let full = Request::parse(&frame).unwrap().unwrap();
            assert_eq!(fast.id.map(|r| r.get().to_owned()), full.id.map(|v| v.to_string()), "{edge}");
        }
    }

    #[test]
    fn ids_are_echoed_in_the_form_the_node_writes() {
        for (sent, echoed) in [
            ("4294967296", json!("4294967296")),
            ("-2147483649", json!("-2147483649")),
            ("1.5", json!("1.50000000000000000")),
            ("1e5", json!("1e5")),
            ("true", json!(true)),
            ("\"a\\u0041\"", json!("au0041")),
        ] {
            let r = Request::parse(&format!(r#"{{"id":{sent},"method":"m","params":[]}}"#)).unwrap().unwrap();
            assert_eq!(r.id, Some(echoed), "{sent}");
        }
        let none = Request::parse(r#"{"id":null,"method":"m","params":[]}"#).unwrap().unwrap();
        assert_eq!(none.id, None);
        let null = Request::parse(r#"{"id":null,"jsonrpc":"2.0","method":"m","params":[]}"#).unwrap().unwrap();
        assert_eq!(null.id, Some(Value::Null));
        let e = Request::parse(r#"{"id":{"a":1},"method":"m","params":[]}"#).unwrap_err();
        assert_eq!(e.to_json(), r#"{"id":null,"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid id"}}"#);
        assert!(Request::parse(r#"{"id":1,"result":5}"#).unwrap().is_none());
    }

    #[test]
    fn envelope_refusals_are_the_nodes() {
        for (frame, code, message) in [
            (r#""abc""#, -32600, "Invalid JSON request"),
            (r#"{"id":1}"#, -32600, "Missing method or result or error"),
            (r#"{"id":1,"method":"","params":[]}"#, -32600, "Missing or invalid method"),
            (r#"{"id":1,"jsonrpc":"1.0","method":"m","params":[]}"#, -32600, "Unsupported JSON-RPC version"),
            (r#"{"id":1,"method":"m","params":{}}"#, -32602, "Named parameters not supported"),
            (r#"{"id":1,"method":"m","params":null}"#, -32600, "Invalid parameters"),
            (r#"{"result":1}"#, -32600, "Missing or invalid id"),
        ] {
            let e = Request::parse(frame).unwrap_err();
            assert_eq!(
                (e.error.code, e.error.message.as_str(), e.id.clone(), e.jsonrpc),
                (code, message, Some(Value::Null), true),
                "{frame}"
            );
        }
        let call = |f: &str| Request::parse(f).unwrap().unwrap().call();
        let e = call(r#"{"id":1,"method":"call","params":[0,"get_chain_id"]}"#).unwrap_err();
        assert_eq!(e.message, "Execution error: Assert Exception: args.size() == 3 && args[2].is_array(): ");
        assert_eq!(call(r#"{"id":1,"method":"call","params":[true,"m",[]]}"#).unwrap().api, ApiRef::Id(1));
        assert_eq!(call(r#"{"id":1,"method":"call","params":[null,"m",[]]}"#).unwrap().api, ApiRef::Id(0));
        let e = call(r#"{"id":1,"method":"call","params":[[],"m",[]]}"#).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (7, "Execution error: Bad Cast: Invalid cast from array_type to uint64")
        );
        let e = call(r#"{"id":1,"method":"notice","params":[1,[]]}"#).unwrap_err();
        assert_eq!(e.message, "Execution error: Assert Exception: _local_callbacks.size() > callback_id: ");
        assert_eq!(call(r#"{"id":1,"method":"get_chain_id"}"#).unwrap().args_text(), "[]");
    }

    #[test]
    fn top_level_methods_route_to_api_zero() {
        let r = Request::parse(r#"{"id":1,"method":"get_chain_id","params":[]}"#).unwrap().unwrap();
        let c = r.call().unwrap();
        assert_eq!((c.api, c.method.as_str()), (ApiRef::Id(0), "get_chain_id"));
    }

    #[test]
    fn malformed_json_and_batches_get_the_node_errors() {
        let e = Request::parse("{oops").unwrap_err();
        assert_eq!(e.error.code, PARSE_ERROR);
        assert_eq!(e.error.data.as_ref().unwrap()["code"], 4);
        assert_eq!(e.error.data.as_ref().unwrap()["name"], "parse_error_exception");
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
    fn login_answers_like_a_node_without_api_access() {
        assert_eq!(login_result("[]"), Ok("1"));
        assert_eq!(login_result("[null,null]"), Ok("1"));
        assert_eq!(login_result(r#"["a","b","c"]"#), Ok("true"));
        assert_eq!(login_result(r#"["",""]"#), Ok("true"));
        let e = login_result(r#"["a"]"#).unwrap_err();
        assert_eq!(
            e.message,
            "Execution error: Assert Exception: o_user.valid() && o_password.valid(): Must provide both user and password"
        );
        assert_eq!(login_result(r#"[{},"b"]"#).unwrap_err().code, 7);
        let id: EchoedId = serde_json::from_str("\"4294967297\"").unwrap();
        assert_eq!(id, EchoedId(4_294_967_297));
    }

    #[test]
    fn echoed_ids_are_read_in_both_forms() {
        assert_eq!(id_number(&json!(7)), Some(7));
        assert_eq!(id_number(&json!("4294967297")), Some(4_294_967_297));
        assert_eq!(id_number(&json!("x")), None);
        assert_eq!(id_number(&json!(-1)), None);
    }

    #[test]
    fn incoming_notices_and_answers() {
        let n = parse_incoming(r#"{"method":"notice","params":[101,[[{"id":"2.1.0"}]]]}"#).unwrap();
        assert_eq!(n, Incoming::Notice(Notice { callback: json!(101), args: json!([[{"id":"2.1.0"}]]) }));
        let a = parse_incoming(r#"{"id":2,"error":{"code":10,"message":"x"}}"#).unwrap();
        assert!(matches!(a, Incoming::Response { result: Err(RpcError { code: 10, .. }), .. }));
    }
}
