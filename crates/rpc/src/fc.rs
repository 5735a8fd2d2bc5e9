//! fc's JSON, as `witness_node` reads and writes it: the variant model, the node's lenient
//! ("legacy") parser, and fc's writers.
//!
//! The node does not read JSON by the standard. Its parser (`fc/src/io/json.cpp`,
//! `json::legacy_parser`) accepts things a strict parser refuses and reads some strict JSON
//! differently:
//! - numbers: `-?[0-9.]+` only; a number followed by a letter is a **string** (`1e5` → `"1e5"`);
//!   one with a dot is a double, a negative one an int64, any other a uint64 (`007` → 7); one that
//!   does not fit is a parse error;
//! - string escapes: only `\t`, `\n`, `\r`, `\\` are translated; any other `\c` is `c`
//!   (`\u0041` → `u0041`, `\b` → `b`); byte 0x04 ends the input;
//! - commas are optional separators (`{"a":1,,}` is fine), duplicate keys are all kept and the
//!   first one is the one looked up; bare words are strings; anything after the first value is
//!   ignored; nesting deeper than 200 is refused.
//!
//! The writers: [`Variant::to_fc_json`] is `fc::json::to_string(…, stringify_large_ints_and_doubles)`,
//! what the node sends (int64 outside the int32 range and uint64 above 0xffffffff as strings,
//! doubles as 17-decimal strings). [`Variant::to_node_input`] writes text that this parser (and
//! so the node) reads back into exactly the same variant — used to forward a frame a strict
//! parser could not have read.
//!
//! Every rule here was checked against bitshares-core 7.0.2 (docs/conformance.md).

use std::fmt::Write as _;

/// Nesting limit of the node's RPC parser (`GRAPHENE_NET_MAX_NESTED_OBJECTS`).
pub const MAX_DEPTH: u32 = 200;

/// An fc variant.
#[derive(Debug, Clone, PartialEq)]
pub enum Variant {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A negative number without a dot.
    Int64(i64),
    /// A non-negative number without a dot.
    Uint64(u64),
    /// A number with a dot.
    Double(f64),
    /// A string (quoted, or a bare word / number-with-letters the parser kept as text).
    String(String),
    /// An array.
    Array(Vec<Variant>),
    /// An object, keys in input order, duplicates kept (lookups find the first).
    Object(Vec<(String, Variant)>),
}

/// A failed fc conversion or parse: the exception the node would throw.
#[derive(Debug, Clone, PartialEq)]
pub struct FcError {
    /// fc exception code (4 parse_error_exception, 7 bad_cast_exception, 11 eof_exception).
    pub code: i64,
    /// fc exception name.
    pub name: &'static str,
    /// `what()` text.
    pub what: &'static str,
    /// The log message format (`${key}` placeholders) of the innermost frame.
    pub format: String,
    /// The values for the format (boxed: the error travels through every parser frame).
    pub data: Box<serde_json::Value>,
}

impl FcError {
    fn parse(format: impl Into<String>, data: serde_json::Value) -> Self {
        Self {
            code: 4,
            name: "parse_error_exception",
            what: "Parse Error",
            format: format.into(),
            data: Box::new(data),
        }
    }
    fn eof(format: &str) -> Self {
        Self {
            code: 11,
            name: "eof_exception",
            what: "End Of File",
            format: format.into(),
            data: Box::new(serde_json::json!({})),
        }
    }
    fn bad_cast(from: &'static str, to: &str) -> Self {
        Self {
            code: 7,
            name: "bad_cast_exception",
            what: "Bad Cast",
            format: format!("Invalid cast from ${{type}} to {to}"),
            data: Box::new(serde_json::json!({ "type": from })),
        }
    }
    fn is_eof(&self) -> bool {
        self.code == 11
    }
    /// The formatted message (`${key}` replaced by the data's values), as fc's `to_string`.
    pub fn message(&self) -> String {
        let mut out = String::new();
        let mut rest = self.format.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let Some(end) = rest[start..].find('}') else {
                out.push_str(&rest[start..]);
                return out;
            };
            let key = &rest[start + 2..start + end];
            match self.data.get(key) {
                Some(serde_json::Value::String(s)) => out.push_str(s),
                Some(v) => out.push_str(&v.to_string()),
                None => out.push_str(&rest[start..start + end + 1]),
            }
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        out
    }
}

impl std::fmt::Display for FcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, self.message())
    }
}

impl std::error::Error for FcError {}

impl Variant {
    /// fc's type name (`get_type()` as printed: `string_type`, `array_type`, …).
    pub fn type_name(&self) -> &'static str {
        match self {
            Variant::Null => "null_type",
            Variant::Bool(_) => "bool_type",
            Variant::Int64(_) => "int64_type",
            Variant::Uint64(_) => "uint64_type",
            Variant::Double(_) => "double_type",
            Variant::String(_) => "string_type",
            Variant::Array(_) => "array_type",
            Variant::Object(_) => "object_type",
        }
    }

    /// The first member named `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Variant> {
        match self {
            Variant::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// fc's `is_numeric`: int64, uint64, double and bool.
    pub fn is_numeric(&self) -> bool {
        matches!(self, Variant::Int64(_) | Variant::Uint64(_) | Variant::Double(_) | Variant::Bool(_))
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Variant::String(s) => Some(s),
            _ => None,
        }
    }

    /// fc's `variant::as_uint64`: numbers cast, bool 0/1, null 0, strings parsed.
    pub fn as_uint64(&self) -> Result<u64, FcError> {
        match self {
            Variant::Null => Ok(0),
            Variant::Bool(b) => Ok(u64::from(*b)),
            Variant::Int64(i) => Ok(*i as u64),
            Variant::Uint64(u) => Ok(*u),
            // C++ static_cast of a double; Rust's saturating cast for the out-of-range cases.
            Variant::Double(d) => Ok(*d as u64),
            Variant::String(s) => to_uint64(s),
            other => Err(FcError::bad_cast(other.type_name(), "uint64")),
        }
    }

    /// fc's `variant::as_string`: strings as they are, numbers in decimal (doubles with 17
    /// decimals), bools as `true`/`false`, null as the empty string.
    pub fn as_string(&self) -> Result<String, FcError> {
        match self {
            Variant::Null => Ok(String::new()),
            Variant::Bool(b) => Ok(b.to_string()),
            Variant::Int64(i) => Ok(i.to_string()),
            Variant::Uint64(u) => Ok(u.to_string()),
            Variant::Double(d) => Ok(double_to_string(*d)),
            Variant::String(s) => Ok(s.clone()),
            other => Err(FcError::bad_cast(other.type_name(), "string")),
        }
    }

    /// The text the node sends for this value (`stringify_large_ints_and_doubles`).
    pub fn to_fc_json(&self) -> String {
        let mut out = String::new();
        self.write_fc(&mut out);
        out
    }

    fn write_fc(&self, out: &mut String) {
        match self {
            Variant::Null => out.push_str("null"),
            Variant::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Variant::Int64(i) => {
                if i32::try_from(*i).is_ok() {
                    let _ = write!(out, "{i}");
                } else {
                    let _ = write!(out, "\"{i}\"");
                }
            }
            Variant::Uint64(u) => {
                if *u <= u64::from(u32::MAX) {
                    let _ = write!(out, "{u}");
                } else {
                    let _ = write!(out, "\"{u}\"");
                }
            }
            Variant::Double(d) => {
                out.push('"');
                out.push_str(&double_to_string(*d));
                out.push('"');
            }
            Variant::String(s) => escape_fc(s, out),
            Variant::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_fc(out);
                }
                out.push(']');
            }
            Variant::Object(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    escape_fc(k, out);
                    out.push(':');
                    v.write_fc(out);
                }
                out.push('}');
            }
        }
    }

    /// Text that the node's parser reads back into exactly this variant: strings keep their
    /// bytes (only `"`, `\` and 0x04 are escaped, as `\"`, `\\`, `\<0x04>`: the parser's own
    /// reading of a backslash), doubles always carry a dot, duplicate keys stay.
    pub fn to_node_input(&self) -> String {
        let mut out = String::new();
        self.write_node_input(&mut out);
        out
    }

    fn write_node_input(&self, out: &mut String) {
        match self {
            Variant::Null => out.push_str("null"),
            Variant::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Variant::Int64(i) => {
                let _ = write!(out, "{i}");
            }
            Variant::Uint64(u) => {
                let _ = write!(out, "{u}");
            }
            Variant::Double(d) => {
                // Display never uses an exponent (which the parser would read as a string).
                let text = d.to_string();
                out.push_str(&text);
                if !text.contains('.') {
                    out.push_str(".0");
                }
            }
            Variant::String(s) => {
                out.push('"');
                for c in s.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\u{4}' => out.push_str("\\\u{4}"),
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
            Variant::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_node_input(out);
                }
                out.push(']');
            }
            Variant::Object(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    Variant::String(k.clone()).write_node_input(out);
                    out.push(':');
                    v.write_node_input(out);
                }
                out.push('}');
            }
        }
    }

    /// The same value as a `serde_json::Value` (for code that deserializes arguments with
    /// serde): duplicate keys resolve to the first, as the node's lookups do.
    pub fn to_serde(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Variant::Null => Value::Null,
            Variant::Bool(b) => Value::Bool(*b),
            Variant::Int64(i) => Value::from(*i),
            Variant::Uint64(u) => Value::from(*u),
            Variant::Double(d) => serde_json::Number::from_f64(*d).map_or(Value::Null, Value::Number),
            Variant::String(s) => Value::String(s.clone()),
            Variant::Array(items) => Value::Array(items.iter().map(Variant::to_serde).collect()),
            Variant::Object(members) => {
                let mut map = serde_json::Map::new();
                for (k, v) in members {
                    if !map.contains_key(k) {
                        map.insert(k.clone(), v.to_serde());
                    }
                }
                Value::Object(map)
            }
        }
    }
}

/// fc's `to_string(double)`: fixed notation with 17 decimals (`1.5` → `1.50000000000000000`).
pub fn double_to_string(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    format!("{d:.17}")
}

/// fc's `escape_string`: `\b \f \n \r \t \\ \"`, other control characters as `\u00xx`, the rest
/// as it is (the same rule `serde_json` follows).
fn escape_fc(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn to_uint64(s: &str) -> Result<u64, FcError> {
    // boost::lexical_cast<uint64_t>: decimal digits only (a leading '+' aside), no overflow.
    let digits = s.strip_prefix('+').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FcError::parse("Couldn't parse uint64_t", serde_json::json!({})));
    }
    digits.parse().map_err(|_| FcError::parse("Couldn't parse uint64_t", serde_json::json!({})))
}

fn to_int64(s: &str) -> Result<i64, FcError> {
    s.parse().map_err(|_| FcError::parse("Couldn't parse int64_t", serde_json::json!({})))
}

fn to_double(s: &str) -> Result<f64, FcError> {
    match s.parse::<f64>() {
        Ok(d) if d.is_finite() => Ok(d),
        _ => Err(FcError::parse("Couldn't parse double", serde_json::json!({}))),
    }
}

/// Parses text as the node's RPC server does (`json::from_string(…, legacy_parser, 200)`).
pub fn parse(text: &str) -> Result<Variant, FcError> {
    let mut input = Input { bytes: text.as_bytes(), pos: 0 };
    input.value(MAX_DEPTH)
}

struct Input<'a> {
    bytes: &'a [u8],
    pos: usize,
}

/// C's `isalnum` in the "C" locale.
fn isalnum(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

fn char_text(c: u8) -> String {
    String::from_utf8_lossy(&[c]).into_owned()
}

impl Input<'_> {
    fn peek(&self) -> Result<u8, FcError> {
        // fc's stringstream reports the end of its input with this format.
        self.bytes.get(self.pos).copied().ok_or_else(|| FcError::eof("stringstream"))
    }

    fn get(&mut self) -> Result<u8, FcError> {
        let c = self.peek()?;
        self.pos += 1;
        Ok(c)
    }

    fn text(buf: Vec<u8>) -> String {
        String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    fn value(&mut self, depth: u32) -> Result<Variant, FcError> {
        if depth == 0 {
            return Err(FcError::parse("Too many nested items in JSON input!", serde_json::json!({})));
        }
        self.skip_white_space()?;
        let c = self.peek()?;
        match c {
            b'"' => self.string_from_stream().map(Variant::String),
            b'{' => self.object(depth - 1),
            b'[' => self.array(depth - 1),
            b'-' | b'.' | b'0'..=b'9' => self.number(),
            b'n' | b't' | b'f' => self.token(),
            0x04 => Err(FcError::eof("unexpected end of file")),
            _ => {
                let s = self.string_from_token()?;
                Err(FcError::parse(
                    "Unexpected char '${c}' in \"${s}\"",
                    serde_json::json!({"c": i64::from(c as i8), "s": s}),
                ))
            }
        }
    }

    fn skip_white_space(&mut self) -> Result<bool, FcError> {
        let mut skipped = false;
        loop {
            match self.peek()? {
                b' ' | b'\t' | b'\n' | b'\r' => {
                    skipped = true;
                    self.pos += 1;
                }
                _ => return Ok(skipped),
            }
        }
    }

    fn parse_escape(&mut self) -> Result<u8, FcError> {
        if self.peek()? != b'\\' {
            return Err(FcError::parse("Expected '\\'", serde_json::json!({})));
        }
        self.pos += 1;
        Ok(match self.peek()? {
            b't' => {
                self.pos += 1;
                b'\t'
            }
            b'n' => {
                self.pos += 1;
                b'\n'
            }
            b'r' => {
                self.pos += 1;
                b'\r'
            }
            b'\\' => {
                self.pos += 1;
                b'\\'
            }
            _ => self.get()?,
        })
    }

    fn string_from_stream(&mut self) -> Result<String, FcError> {
        let c = self.peek()?;
        if c != b'"' {
            return Err(FcError::parse("Expected '\"' but read '${char}'", serde_json::json!({"char": char_text(c)})));
        }
        self.pos += 1;
        let mut token = Vec::new();
        loop {
            match self.peek()? {
                b'\\' => token.push(self.parse_escape()?),
                0x04 => {
                    return Err(FcError::parse(
                        "EOF before closing '\"' in string '${token}'",
                        serde_json::json!({"token": Self::text(token)}),
                    ));
                }
                b'"' => {
                    self.pos += 1;
                    return Ok(Self::text(token));
                }
                c => {
                    token.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// A bare token; the end of the input ends it (fc catches the EOF).
    fn string_from_token(&mut self) -> Result<String, FcError> {
        let mut token = Vec::new();
        loop {
            let Ok(c) = self.peek() else { return Ok(Self::text(token)) };
            match c {
                b'\\' => match self.parse_escape() {
                    Ok(c) => token.push(c),
                    Err(e) if e.is_eof() => return Ok(Self::text(token)),
                    Err(e) => return Err(e),
                },
                b'\t' | b' ' | 0 | b'\n' => {
                    self.pos += 1;
                    return Ok(Self::text(token));
                }
                c if isalnum(c) || matches!(c, b'_' | b'-' | b'.' | b':' | b'/') => {
                    token.push(c);
                    self.pos += 1;
                }
                _ => return Ok(Self::text(token)),
            }
        }
    }

    fn object(&mut self, depth: u32) -> Result<Variant, FcError> {
        let unexpected_eof = |e: FcError| {
            if e.is_eof() { FcError::parse("Unexpected EOF: ${e}", serde_json::json!({"e": e.to_string()})) } else { e }
        };
        let body = |this: &mut Self| -> Result<Variant, FcError> {
            let c = this.peek()?;
            if c != b'{' {
                return Err(FcError::parse(
                    "Expected '{', but read '${char}'",
                    serde_json::json!({"char": char_text(c)}),
                ));
            }
            this.pos += 1;
            let mut members = Vec::new();
            while this.peek()? != b'}' {
                if this.peek()? == b',' {
                    this.pos += 1;
                    continue;
                }
                if this.skip_white_space()? {
                    continue;
                }
                let key = this.string_from_stream()?;
                this.skip_white_space()?;
                if this.peek()? != b':' {
                    return Err(FcError::parse("Expected ':' after key \"${key}\"", serde_json::json!({"key": key})));
                }
                this.pos += 1;
                let value = this.value(depth)?;
                members.push((key, value));
            }
            this.pos += 1;
            Ok(Variant::Object(members))
        };
        body(self).map_err(unexpected_eof)
    }

    fn array(&mut self, depth: u32) -> Result<Variant, FcError> {
        if self.peek()? != b'[' {
            return Err(FcError::parse("Expected '['", serde_json::json!({})));
        }
        self.pos += 1;
        let mut items = Vec::new();
        while self.peek()? != b']' {
            if self.peek()? == b',' {
                self.pos += 1;
                continue;
            }
            if self.skip_white_space()? {
                continue;
            }
            items.push(self.value(depth)?);
        }
        self.pos += 1;
        Ok(Variant::Array(items))
    }

    fn number(&mut self) -> Result<Variant, FcError> {
        let mut text = Vec::new();
        let mut dot = false;
        let mut neg = false;
        if self.peek()? == b'-' {
            neg = true;
            text.push(self.get()?);
        }
        // The end of the input ends the number.
        while let Ok(c) = self.peek() {
            match c {
                0 => break,
                b'.' => {
                    if dot {
                        return Err(FcError::parse(
                            "Can't parse a number with two decimal places",
                            serde_json::json!({}),
                        ));
                    }
                    dot = true;
                    text.push(c);
                    self.pos += 1;
                }
                b'0'..=b'9' => {
                    text.push(c);
                    self.pos += 1;
                }
                c if isalnum(c) => {
                    let mut s = Self::text(text);
                    s.push_str(&self.string_from_token()?);
                    return Ok(Variant::String(s));
                }
                _ => break,
            }
        }
        let s = Self::text(text);
        if matches!(s.as_str(), "-." | "." | "-") {
            return Err(FcError::parse(
                "Can't parse token \"${token}\" as a JSON numeric constant",
                serde_json::json!({"token": s}),
            ));
        }
        if dot {
            return to_double(&s).map(Variant::Double);
        }
        if neg {
            return to_int64(&s).map(Variant::Int64);
        }
        to_uint64(&s).map(Variant::Uint64)
    }

    fn token(&mut self) -> Result<Variant, FcError> {
        let mut text = Vec::new();
        let mut received_eof = false;
        loop {
            let Ok(c) = self.peek() else {
                received_eof = true;
                break;
            };
            match c {
                b'n' | b'u' | b'l' | b't' | b'r' | b'e' | b'f' | b'a' | b's' => {
                    text.push(c);
                    self.pos += 1;
                }
                _ => break,
            }
        }
        let s = Self::text(text);
        match s.as_str() {
            "null" => Ok(Variant::Null),
            "true" => Ok(Variant::Bool(true)),
            "false" => Ok(Variant::Bool(false)),
            _ if received_eof => {
                if s.is_empty() {
                    Err(FcError::eof("Unexpected EOF"))
                } else {
                    Ok(Variant::String(s))
                }
            }
            _ => {
                let mut s = s;
                s.push_str(&self.string_from_token()?);
                Ok(Variant::String(s))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo(id: &str) -> String {
        parse(id).unwrap().to_fc_json()
    }

    #[test]
    fn numbers_read_and_echo_as_the_node_does() {
        // Each pair observed on witness_node 7.0.2 (docs/conformance.md).
        for (sent, echoed) in [
            ("3", "3"),
            ("-1", "-1"),
            ("4294967295", "4294967295"),
            ("4294967296", "\"4294967296\""),
            ("-2147483648", "-2147483648"),
            ("-2147483649", "\"-2147483649\""),
            ("1.5", "\"1.50000000000000000\""),
            ("0.1", "\"0.10000000000000001\""),
            ("1e5", "\"1e5\""),
            ("1.25e2", "\"1.25e2\""),
            ("007", "7"),
            ("-0", "0"),
            ("true", "true"),
            ("false", "false"),
            ("\"7\"", "\"7\""),
            ("\"a\\u0041b\"", "\"au0041b\""),
        ] {
            assert_eq!(echo(sent), echoed, "{sent}");
        }
        assert!(parse("18446744073709551616").is_err());
        assert_eq!(parse("18446744073709551615").unwrap(), Variant::Uint64(u64::MAX));
    }

    #[test]
    fn lenient_objects_and_first_key_wins() {
        let v = parse(r#"{"id":1,,"method":"m","params":[],}"#).unwrap();
        assert_eq!(v.get("id"), Some(&Variant::Uint64(1)));
        let v = parse(r#"{"id":1,"id":2}"#).unwrap();
        assert_eq!(v.get("id"), Some(&Variant::Uint64(1)));
        let v = parse(r#"{"a":[1 2 3]} trailing"#).unwrap();
        assert_eq!(v.get("a"), Some(&Variant::Array(vec![Variant::Uint64(1), Variant::Uint64(2), Variant::Uint64(3)])));
        assert_eq!(parse("abc").unwrap_err().code, 4);
        let e = parse(r#"{id:1}"#).unwrap_err();
        assert_eq!((e.code, e.format.as_str()), (4, "Expected '\"' but read '${char}'"));
        assert_eq!(e.message(), "Expected '\"' but read 'i'");
        let e = parse(r#"{"id":"abc"#).unwrap_err();
        assert!(e.format.starts_with("Unexpected EOF"), "{e:?}");
        assert_eq!(parse("   ").unwrap_err().code, 11);
        assert_eq!(parse("nul").unwrap(), Variant::String("nul".into()));
    }

    #[test]
    fn depth_limit_is_the_nodes() {
        let ok = "[".repeat(200) + &"]".repeat(200);
        assert!(parse(&ok).is_ok());
        let deep = "[".repeat(201) + &"]".repeat(201);
        assert_eq!(parse(&deep).unwrap_err().format, "Too many nested items in JSON input!");
    }

    #[test]
    fn node_input_round_trips_every_variant() {
        let tricky = Variant::Object(vec![
            ("k\"\\".into(), Variant::String("a\u{8}b\u{4}c\"d\\e\u{1}".into())),
            ("k\"\\".into(), Variant::Double(1e300)),
            ("n".into(), Variant::Array(vec![Variant::Int64(-5), Variant::Uint64(u64::MAX), Variant::Double(0.1)])),
            ("s".into(), Variant::String("1e5".into())),
        ]);
        assert_eq!(parse(&tricky.to_node_input()).unwrap(), tricky);
    }

    #[test]
    fn conversions_follow_fc() {
        assert_eq!(Variant::Bool(true).as_uint64(), Ok(1));
        assert_eq!(Variant::Null.as_uint64(), Ok(0));
        assert_eq!(Variant::String("12".into()).as_uint64(), Ok(12));
        assert_eq!(Variant::Array(vec![]).as_uint64().unwrap_err().message(), "Invalid cast from array_type to uint64");
        assert_eq!(Variant::Uint64(5).as_string().unwrap(), "5");
        assert!(Variant::Bool(false).is_numeric());
    }
}
