//! A typed value read through a [`schema`](crate::schema) table: JSON ↔ [`Value`] ↔ binary.
//!
//! This is how the crate handles every operation it has no hand-written struct for. A [`Value`]
//! is fully typed — integers range-checked, ids of the right space and type, keys and hashes
//! decoded, containers in node order — so packing it gives exactly the bytes the node packs.
//!
//! Rules, as fc applies them (`fc/variant.hpp`, `fc/reflect/variant.hpp`, `graphene/protocol/ext.hpp`):
//! - integers are accepted as JSON numbers or decimal strings; int64 values outside the int32 range
//!   and uint64 values above 0xffffffff are written as strings;
//! - `flat_set`/`flat_map` are sorted in node order and de-duplicated (first wins) on reading;
//! - absent `optional` members are omitted from JSON; an `extension<T>` lists only present members
//!   and an unknown member is an error (as `ext.hpp` asserts);
//! - unknown struct members are ignored (as fc does). Unlike fc, a *missing* non-optional member
//!   is an error naming it rather than a silent default: a value we cannot state exactly is one we
//!   must not sign;
//! - nesting is limited to 200 levels (`GRAPHENE_MAX_NESTED_OBJECTS`), on reading JSON and binary.

use crate::error::{Error, Result};
use crate::id::ObjectId;
use crate::keys::{Address, PublicKey};
use crate::operations::Operation;
use crate::pack::{Pack, Reader, Unpack, pack_varint};
use crate::schema::{Struct, Ty};
use crate::time::TimePointSec;
use crate::{VoteId, authority::NodeOrder};
use serde_json::Value as Json;
use std::cmp::Ordering;

/// Deepest nesting accepted (`GRAPHENE_MAX_NESTED_OBJECTS`).
pub const MAX_DEPTH: u32 = 200;

/// A value of a schema type. Its shape always matches the [`Ty`] it was read with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `bool`.
    Bool(bool),
    /// Any unsigned integer (`uint8` … `uint64`, `unsigned_int`), range-checked for its type.
    Uint(u64),
    /// `int64` / `share_type`.
    Int(i64),
    /// `string`.
    Str(String),
    /// `vector<char>` or a fixed-size hash.
    Bytes(Vec<u8>),
    /// `public_key_type`.
    PublicKey(PublicKey),
    /// `address`.
    Address(Address),
    /// `time_point_sec`.
    Time(TimePointSec),
    /// `object_id<S, T>` or `object_id_type`.
    Id(ObjectId),
    /// `vote_id_type`.
    Vote(VoteId),
    /// `void_t` or an empty struct.
    Void,
    /// `optional<T>`; also an `extension<T>` member.
    Opt(Option<Box<Value>>),
    /// `vector`, `flat_set` (sorted) or `flat_map` (sorted [`Value::Pair`]s).
    List(Vec<Value>),
    /// `pair<A, B>` or a map entry.
    Pair(Box<Value>, Box<Value>),
    /// A struct's members in reflect order (or an extension's, each a [`Value::Opt`]).
    Struct(Vec<Value>),
    /// A `static_variant` alternative.
    Variant(u64, Box<Value>),
    /// A nested operation (`op_wrapper`).
    Op(Box<Operation>),
}

fn bad(path: &str, reason: impl Into<String>) -> Error {
    Error::InvalidField { path: path.to_owned(), reason: reason.into() }
}

fn join(path: &str, member: &str) -> String {
    if path.is_empty() { member.to_owned() } else { format!("{path}.{member}") }
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a bool",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn json_int(v: &Json, path: &str) -> Result<i128> {
    match v {
        Json::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .ok_or_else(|| bad(path, format!("expected an integer, got {n}"))),
        Json::String(s) => s.trim().parse().map_err(|_| bad(path, format!("expected an integer, got \"{s}\""))),
        other => Err(bad(path, format!("expected an integer, got {}", kind(other)))),
    }
}

fn json_uint(v: &Json, path: &str, max: u64) -> Result<Value> {
    let n = json_int(v, path)?;
    u64::try_from(n)
        .ok()
        .filter(|n| *n <= max)
        .map(Value::Uint)
        .ok_or_else(|| bad(path, format!("{n} is out of range 0..={max}")))
}

fn json_str<'a>(v: &'a Json, path: &str, what: &str) -> Result<&'a str> {
    v.as_str().ok_or_else(|| bad(path, format!("expected {what} string, got {}", kind(v))))
}

fn json_array<'a>(v: &'a Json, path: &str) -> Result<&'a [Json]> {
    v.as_array().map(Vec::as_slice).ok_or_else(|| bad(path, format!("expected an array, got {}", kind(v))))
}

fn deeper(depth: u32) -> Result<u32> {
    if depth >= MAX_DEPTH { Err(Error::TooDeep(MAX_DEPTH)) } else { Ok(depth + 1) }
}

/// Reads a value of type `ty` from the node's JSON form.
pub fn from_json(ty: &Ty, v: &Json, path: &str, depth: u32) -> Result<Value> {
    let depth = deeper(depth)?;
    // The recursive arms live in their own functions so that this frame, which every nesting
    // level pays for, stays small (deep input must fail with TooDeep, not overflow the stack).
    match ty {
        Ty::Opt(inner) => match v {
            Json::Null => Ok(Value::Opt(None)),
            v => Ok(Value::Opt(Some(Box::new(from_json(inner, v, path, depth)?)))),
        },
        Ty::Struct(s) => struct_from_json(s, v, path, depth),
        Ty::Ext(s) => ext_from_json(s, v, path, depth),
        Ty::Op => Ok(Value::Op(Box::new(Operation::from_json_at(v, path, depth)?))),
        Ty::Vec(_) | Ty::Set(_) | Ty::Map(..) | Ty::Pair(..) | Ty::Variant(_) => {
            composite_from_json(ty, v, path, depth)
        }
        _ => scalar_from_json(ty, v, path),
    }
}

#[inline(never)]
fn scalar_from_json(ty: &Ty, v: &Json, path: &str) -> Result<Value> {
    Ok(match ty {
        Ty::Bool => match v {
            Json::Bool(b) => Value::Bool(*b),
            Json::String(s) if s == "true" || s == "false" => Value::Bool(s == "true"),
            other => return Err(bad(path, format!("expected a bool, got {}", kind(other)))),
        },
        Ty::U8 => json_uint(v, path, u8::MAX.into())?,
        Ty::U16 => json_uint(v, path, u16::MAX.into())?,
        Ty::U32 | Ty::VarU32 => json_uint(v, path, u32::MAX.into())?,
        Ty::U64 => json_uint(v, path, u64::MAX)?,
        Ty::I64 => {
            let n = json_int(v, path)?;
            Value::Int(i64::try_from(n).map_err(|_| bad(path, format!("{n} is out of the int64 range")))?)
        }
        Ty::Str => Value::Str(json_str(v, path, "a")?.to_owned()),
        Ty::Bytes => {
            Value::Bytes(hex::decode(json_str(v, path, "a hex")?).map_err(|e| bad(path, format!("invalid hex: {e}")))?)
        }
        Ty::Fixed(n) => {
            let bytes = hex::decode(json_str(v, path, "a hex")?).map_err(|e| bad(path, format!("invalid hex: {e}")))?;
            if bytes.len() != *n {
                return Err(bad(path, format!("expected {n} bytes of hex, got {}", bytes.len())));
            }
            Value::Bytes(bytes)
        }
        Ty::PublicKey => {
            Value::PublicKey(json_str(v, path, "a public key")?.parse().map_err(|e: Error| bad(path, e.to_string()))?)
        }
        Ty::Address => {
            Value::Address(json_str(v, path, "an address")?.parse().map_err(|e: Error| bad(path, e.to_string()))?)
        }
        Ty::Time => Value::Time(json_str(v, path, "a time")?.parse().map_err(|e: Error| bad(path, e.to_string()))?),
        Ty::Id(space, type_id) => {
            let id: ObjectId =
                json_str(v, path, "an object id")?.parse().map_err(|e: Error| bad(path, e.to_string()))?;
            if (id.space, id.type_id) != (*space, *type_id) {
                return Err(bad(path, format!("expected a {space}.{type_id}.N id, got \"{id}\"")));
            }
            Value::Id(id)
        }
        Ty::AnyId => {
            Value::Id(json_str(v, path, "an object id")?.parse().map_err(|e: Error| bad(path, e.to_string()))?)
        }
        Ty::VoteId => {
            Value::Vote(json_str(v, path, "a vote id")?.parse().map_err(|e: Error| bad(path, e.to_string()))?)
        }
        Ty::Void => Value::Void,
        _ => return Err(bad(path, "internal: not a scalar type")),
    })
}

#[inline(never)]
fn composite_from_json(ty: &Ty, v: &Json, path: &str, depth: u32) -> Result<Value> {
    Ok(match ty {
        Ty::Vec(item) => Value::List(
            json_array(v, path)?
                .iter()
                .enumerate()
                .map(|(i, x)| from_json(item, x, &format!("{path}[{i}]"), depth))
                .collect::<Result<_>>()?,
        ),
        Ty::Set(item) => {
            let items = json_array(v, path)?
                .iter()
                .enumerate()
                .map(|(i, x)| from_json(item, x, &format!("{path}[{i}]"), depth))
                .collect::<Result<Vec<_>>>()?;
            Value::List(node_sorted(items))
        }
        Ty::Map(k, val) | Ty::Pair(k, val) => {
            let pair = |x: &Json, p: &str| -> Result<Value> {
                match json_array(x, p)? {
                    [a, b] => Ok(Value::Pair(
                        Box::new(from_json(k, a, &format!("{p}[0]"), depth)?),
                        Box::new(from_json(val, b, &format!("{p}[1]"), depth)?),
                    )),
                    other => Err(bad(p, format!("expected a [key, value] pair, got {} elements", other.len()))),
                }
            };
            if matches!(ty, Ty::Pair(..)) {
                pair(v, path)?
            } else {
                let entries = json_array(v, path)?
                    .iter()
                    .enumerate()
                    .map(|(i, x)| pair(x, &format!("{path}[{i}]")))
                    .collect::<Result<Vec<_>>>()?;
                Value::List(node_sorted(entries))
            }
        }
        Ty::Variant(var) => {
            let items = json_array(v, path)?;
            let [tag, value] = items else {
                return Err(bad(path, format!("expected [tag, value] for {}, got {} elements", var.name, items.len())));
            };
            let tag = json_int(tag, &format!("{path}[0]"))?;
            let alt = usize::try_from(tag).ok().and_then(|t| var.alternatives.get(t)).ok_or_else(|| {
                bad(path, format!("invalid {} tag {tag} (0..={})", var.name, var.alternatives.len() - 1))
            })?;
            Value::Variant(tag as u64, Box::new(from_json(alt, value, &format!("{path}[1]"), depth)?))
        }
        _ => return Err(bad(path, "internal: not a composite type")),
    })
}

/// Reads a struct's members; `null` members count as absent.
pub fn struct_from_json(s: &Struct, v: &Json, path: &str, depth: u32) -> Result<Value> {
    let obj = v.as_object().ok_or_else(|| bad(path, format!("expected a {} object, got {}", s.name, kind(v))))?;
    let mut out = Vec::with_capacity(s.fields.len());
    for (name, ty) in s.fields {
        let p = join(path, name);
        match obj.get(*name) {
            Some(x) => out.push(from_json(ty, x, &p, depth)?),
            None => out.push(default_for_missing(ty).ok_or_else(|| bad(&p, format!("missing member of {}", s.name)))?),
        }
    }
    Ok(Value::Struct(out))
}

/// The value of an absent member, for the members fc lets a sender omit without changing the
/// meaning: optionals, extensions and the empty future-extensions set.
fn default_for_missing(ty: &Ty) -> Option<Value> {
    match ty {
        Ty::Opt(_) => Some(Value::Opt(None)),
        Ty::Ext(s) => Some(Value::Struct(vec![Value::Opt(None); s.fields.len()])),
        Ty::Set(Ty::Variant(v)) if v.name == "future_extensions" => Some(Value::List(Vec::new())),
        Ty::Void => Some(Value::Void),
        _ => None,
    }
}

fn ext_from_json(s: &Struct, v: &Json, path: &str, depth: u32) -> Result<Value> {
    let mut out = vec![Value::Opt(None); s.fields.len()];
    match v {
        Json::Null => {}
        Json::Array(a) if a.is_empty() => {}
        Json::Object(obj) => {
            for (key, x) in obj {
                let index = s.fields.iter().position(|(n, _)| n == key).ok_or_else(|| {
                    let known: Vec<&str> = s.fields.iter().map(|(n, _)| *n).collect();
                    bad(
                        &join(path, key),
                        format!("unknown extension member of {} (known: {})", s.name, known.join(", ")),
                    )
                })?;
                out[index] = Value::Opt(Some(Box::new(from_json(&s.fields[index].1, x, &join(path, key), depth)?)));
            }
        }
        other => return Err(bad(path, format!("expected an extension object, got {}", kind(other)))),
    }
    Ok(Value::Struct(out))
}

/// Sorts and de-duplicates in node order, keeping the first of equal elements (`flat_set::insert`).
fn node_sorted(mut items: Vec<Value>) -> Vec<Value> {
    items.sort_by(node_cmp); // stable: the first of equals stays first
    items.dedup_by(|later, earlier| node_cmp(earlier, later) == Ordering::Equal);
    items
}

/// The node's `operator<` for container elements (map entries compare by key only).
fn node_cmp(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Uint(x), Value::Uint(y)) => x.cmp(y),
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Str(x), Value::Str(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Bytes(x), Value::Bytes(y)) => x.cmp(y),
        (Value::PublicKey(x), Value::PublicKey(y)) => x.node_key().cmp(&y.node_key()),
        (Value::Address(x), Value::Address(y)) => x.node_key().cmp(&y.node_key()),
        (Value::Time(x), Value::Time(y)) => x.0.cmp(&y.0),
        (Value::Id(x), Value::Id(y)) => id_word(x).cmp(&id_word(y)),
        (Value::Vote(x), Value::Vote(y)) => x.node_key().cmp(&y.node_key()),
        // fc's static_variant compares `which()` only.
        (Value::Variant(x, _), Value::Variant(y, _)) => x.cmp(y),
        (Value::Pair(ka, _), Value::Pair(kb, _)) => node_cmp(ka, kb),
        _ => Ordering::Equal,
    }
}

fn id_word(id: &ObjectId) -> u64 {
    (u64::from(id.space) << 56) | (u64::from(id.type_id) << 48) | id.instance
}

fn int64_json(n: i64) -> Json {
    if i32::try_from(n).is_ok() { Json::from(n) } else { Json::String(n.to_string()) }
}

/// Writes a value in the node's JSON form.
pub fn to_json(ty: &Ty, v: &Value) -> Json {
    match (ty, v) {
        (_, Value::Bool(b)) => Json::Bool(*b),
        (Ty::U64, Value::Uint(n)) if *n > u64::from(u32::MAX) => Json::String(n.to_string()),
        (_, Value::Uint(n)) => Json::from(*n),
        (_, Value::Int(n)) => int64_json(*n),
        (_, Value::Str(s)) => Json::String(s.clone()),
        (_, Value::Bytes(b)) => Json::String(hex::encode(b)),
        (_, Value::PublicKey(k)) => Json::String(k.to_string()),
        (_, Value::Address(a)) => Json::String(a.to_string()),
        (_, Value::Time(t)) => Json::String(t.to_string()),
        (_, Value::Id(id)) => Json::String(id.to_string()),
        (_, Value::Vote(vote)) => Json::String(vote.to_string()),
        (_, Value::Void) => Json::Object(Default::default()),
        (Ty::Opt(inner), Value::Opt(x)) => x.as_ref().map_or(Json::Null, |x| to_json(inner, x)),
        (Ty::Vec(item) | Ty::Set(item), Value::List(xs)) => Json::Array(xs.iter().map(|x| to_json(item, x)).collect()),
        (Ty::Map(k, val), Value::List(xs)) => Json::Array(xs.iter().map(|x| pair_json(k, val, x)).collect()),
        (Ty::Pair(k, val), x @ Value::Pair(..)) => pair_json(k, val, x),
        (Ty::Struct(s), Value::Struct(xs)) => {
            let mut obj = serde_json::Map::new();
            for ((name, fty), x) in s.fields.iter().zip(xs) {
                // fc's to_variant_visitor skips absent optionals.
                if !matches!(x, Value::Opt(None)) {
                    obj.insert((*name).to_owned(), to_json(fty, x));
                }
            }
            Json::Object(obj)
        }
        (Ty::Ext(s), Value::Struct(xs)) => {
            let mut obj = serde_json::Map::new();
            for ((name, fty), x) in s.fields.iter().zip(xs) {
                if let Value::Opt(Some(x)) = x {
                    obj.insert((*name).to_owned(), to_json(fty, x));
                }
            }
            Json::Object(obj)
        }
        (Ty::Variant(var), Value::Variant(tag, x)) => {
            let alt = var.alternatives.get(*tag as usize).unwrap_or(&Ty::Void);
            Json::Array(vec![Json::from(*tag), to_json(alt, x)])
        }
        (_, Value::Op(op)) => serde_json::to_value(op).unwrap_or(Json::Null),
        // A value always matches the type it was read with; nothing else is reachable.
        _ => Json::Null,
    }
}

fn pair_json(k: &Ty, v: &Ty, x: &Value) -> Json {
    match x {
        Value::Pair(a, b) => Json::Array(vec![to_json(k, a), to_json(v, b)]),
        _ => Json::Null,
    }
}

/// Appends a value's binary form.
pub fn pack(ty: &Ty, v: &Value, out: &mut Vec<u8>) {
    match (ty, v) {
        (Ty::Bool, Value::Bool(b)) => b.pack(out),
        (Ty::U8, Value::Uint(n)) => out.push(*n as u8),
        (Ty::U16, Value::Uint(n)) => (*n as u16).pack(out),
        (Ty::U32, Value::Uint(n)) => (*n as u32).pack(out),
        (Ty::U64, Value::Uint(n)) => n.pack(out),
        (Ty::VarU32, Value::Uint(n)) => pack_varint(*n, out),
        (Ty::I64, Value::Int(n)) => n.pack(out),
        (Ty::Str, Value::Str(s)) => s.pack(out),
        (Ty::Bytes, Value::Bytes(b)) => {
            pack_varint(b.len() as u64, out);
            out.extend_from_slice(b);
        }
        (Ty::Fixed(_), Value::Bytes(b)) => out.extend_from_slice(b),
        (Ty::PublicKey, Value::PublicKey(k)) => k.pack(out),
        (Ty::Address, Value::Address(a)) => a.pack(out),
        (Ty::Time, Value::Time(t)) => t.pack(out),
        (Ty::Id(..), Value::Id(id)) => pack_varint(id.instance, out),
        (Ty::AnyId, Value::Id(id)) => id.pack(out),
        (Ty::VoteId, Value::Vote(vote)) => vote.pack(out),
        (Ty::Void, _) => {}
        (Ty::Opt(inner), Value::Opt(x)) => match x {
            None => out.push(0),
            Some(x) => {
                out.push(1);
                pack(inner, x, out);
            }
        },
        (Ty::Vec(item) | Ty::Set(item), Value::List(xs)) => {
            pack_varint(xs.len() as u64, out);
            xs.iter().for_each(|x| pack(item, x, out));
        }
        (Ty::Map(k, val), Value::List(xs)) => {
            pack_varint(xs.len() as u64, out);
            for x in xs {
                if let Value::Pair(a, b) = x {
                    pack(k, a, out);
                    pack(val, b, out);
                }
            }
        }
        (Ty::Pair(k, val), Value::Pair(a, b)) => {
            pack(k, a, out);
            pack(val, b, out);
        }
        (Ty::Struct(s), Value::Struct(xs)) => s.fields.iter().zip(xs).for_each(|((_, t), x)| pack(t, x, out)),
        (Ty::Ext(s), Value::Struct(xs)) => {
            let present = xs.iter().filter(|x| matches!(x, Value::Opt(Some(_)))).count();
            pack_varint(present as u64, out);
            for (index, ((_, t), x)) in s.fields.iter().zip(xs).enumerate() {
                if let Value::Opt(Some(x)) = x {
                    pack_varint(index as u64, out);
                    pack(t, x, out);
                }
            }
        }
        (Ty::Variant(var), Value::Variant(tag, x)) => {
            pack_varint(*tag, out);
            if let Some(alt) = var.alternatives.get(*tag as usize) {
                pack(alt, x, out);
            }
        }
        (Ty::Op, Value::Op(op)) => op.pack(out),
        _ => debug_assert!(false, "value {v:?} does not match type {ty:?}"),
    }
}

fn uint(r: &mut Reader<'_>, ty: &Ty) -> Result<u64> {
    Ok(match ty {
        Ty::U8 => u8::unpack(r)?.into(),
        Ty::U16 => u16::unpack(r)?.into(),
        Ty::U32 => u32::unpack(r)?.into(),
        Ty::U64 => u64::unpack(r)?,
        _ => {
            let offset = r.position();
            let n = r.varint()?;
            if n > u64::from(u32::MAX) {
                return Err(Error::VarintOverflow(offset));
            }
            n
        }
    })
}

/// Smallest binary size of a value of `ty`, so that a count can be checked against the input
/// before anything is allocated.
fn min_size(ty: &Ty) -> usize {
    match ty {
        Ty::Void | Ty::Struct(_) | Ty::Pair(..) => 0,
        Ty::U16 => 2,
        Ty::U32 | Ty::Time | Ty::VoteId => 4,
        Ty::U64 | Ty::I64 | Ty::AnyId => 8,
        Ty::Fixed(n) => *n,
        Ty::PublicKey => 33,
        Ty::Address => 20,
        _ => 1,
    }
}

/// Reads a value of type `ty` from its binary form.
pub fn unpack(ty: &Ty, r: &mut Reader<'_>, depth: u32) -> Result<Value> {
    let depth = deeper(depth)?;
    // As in `from_json`: a small frame per nesting level, the arms out of line.
    match ty {
        Ty::Opt(_)
        | Ty::Vec(_)
        | Ty::Set(_)
        | Ty::Map(..)
        | Ty::Pair(..)
        | Ty::Struct(_)
        | Ty::Ext(_)
        | Ty::Variant(_)
        | Ty::Op => composite_unpack(ty, r, depth),
        _ => scalar_unpack(ty, r),
    }
}

#[inline(never)]
fn scalar_unpack(ty: &Ty, r: &mut Reader<'_>) -> Result<Value> {
    Ok(match ty {
        Ty::Bool => Value::Bool(bool::unpack(r)?),
        Ty::U8 | Ty::U16 | Ty::U32 | Ty::U64 | Ty::VarU32 => Value::Uint(uint(r, ty)?),
        Ty::I64 => Value::Int(i64::unpack(r)?),
        Ty::Str => Value::Str(String::unpack(r)?),
        Ty::Bytes => {
            let len = r.length(1)?;
            Value::Bytes(r.take(len, "bytes")?.to_vec())
        }
        Ty::Fixed(n) => Value::Bytes(r.take(*n, "hash")?.to_vec()),
        Ty::PublicKey => Value::PublicKey(PublicKey::unpack(r)?),
        Ty::Address => Value::Address(Address::unpack(r)?),
        Ty::Time => Value::Time(TimePointSec::unpack(r)?),
        Ty::Id(space, type_id) => {
            let offset = r.position();
            let instance = r.varint()?;
            if instance > crate::id::MAX_INSTANCE {
                return Err(Error::VarintOverflow(offset));
            }
            Value::Id(ObjectId::new(*space, *type_id, instance))
        }
        Ty::AnyId => Value::Id(ObjectId::unpack(r)?),
        Ty::VoteId => Value::Vote(VoteId::unpack(r)?),
        _ => Value::Void,
    })
}

#[inline(never)]
fn composite_unpack(ty: &Ty, r: &mut Reader<'_>, depth: u32) -> Result<Value> {
    Ok(match ty {
        Ty::Opt(inner) => {
            if bool::unpack(r)? {
                Value::Opt(Some(Box::new(unpack(inner, r, depth)?)))
            } else {
                Value::Opt(None)
            }
        }
        Ty::Vec(item) | Ty::Set(item) => {
            let len = r.length(min_size(item))?;
            let items = (0..len).map(|_| unpack(item, r, depth)).collect::<Result<Vec<_>>>()?;
            // fc inserts unpacked elements into the set, which sorts them.
            Value::List(if matches!(ty, Ty::Set(_)) { node_sorted(items) } else { items })
        }
        Ty::Map(k, val) => {
            let len = r.length(min_size(k) + min_size(val))?;
            let items = (0..len)
                .map(|_| Ok(Value::Pair(Box::new(unpack(k, r, depth)?), Box::new(unpack(val, r, depth)?))))
                .collect::<Result<Vec<_>>>()?;
            Value::List(node_sorted(items))
        }
        Ty::Pair(k, val) => Value::Pair(Box::new(unpack(k, r, depth)?), Box::new(unpack(val, r, depth)?)),
        Ty::Struct(s) => Value::Struct(s.fields.iter().map(|(_, t)| unpack(t, r, depth)).collect::<Result<_>>()?),
        Ty::Ext(s) => {
            let count = r.length(1)?;
            let mut out = vec![Value::Opt(None); s.fields.len()];
            let mut next = 0usize;
            for _ in 0..count {
                let index = r.varint()?;
                // fc reads members in index order; a repeated or out-of-order index is malformed.
                let i = usize::try_from(index)
                    .ok()
                    .filter(|i| *i >= next && *i < s.fields.len())
                    .ok_or(Error::InvalidVariantTag { what: s.name, tag: index })?;
                out[i] = Value::Opt(Some(Box::new(unpack(&s.fields[i].1, r, depth)?)));
                next = i + 1;
            }
            Value::Struct(out)
        }
        Ty::Variant(var) => {
            let tag = r.varint()?;
            let alt = usize::try_from(tag)
                .ok()
                .and_then(|t| var.alternatives.get(t))
                .ok_or(Error::InvalidVariantTag { what: var.name, tag })?;
            Value::Variant(tag, Box::new(unpack(alt, r, depth)?))
        }
        Ty::Op => Value::Op(Box::new(Operation::unpack_at(r, depth)?)),
        _ => scalar_unpack(ty, r)?,
    })
}

impl Value {
    /// The member `name` of a struct value read with schema `s`.
    pub fn member<'a>(&'a self, s: &Struct, name: &str) -> Option<&'a Value> {
        let Value::Struct(xs) = self else { return None };
        s.fields.iter().position(|(n, _)| *n == name).and_then(|i| xs.get(i))
    }

    /// Every public key inside this value.
    pub fn public_keys(&self, out: &mut Vec<PublicKey>) {
        match self {
            Value::PublicKey(k) => out.push(*k),
            Value::Opt(Some(x)) | Value::Variant(_, x) => x.public_keys(out),
            Value::Pair(a, b) => {
                a.public_keys(out);
                b.public_keys(out);
            }
            Value::List(xs) | Value::Struct(xs) => xs.iter().for_each(|x| x.public_keys(out)),
            Value::Op(op) => out.extend(op.public_keys()),
            _ => {}
        }
    }
}

/// A deterministic example value of type `ty` in the node's JSON form, for tests, fuzzing seeds
/// and the cross-checks against bitsharesjs and witness_node. `seed` varies the example: even
/// seeds leave optionals and extensions out and keep containers empty, odd seeds fill them (two
/// elements, given in reverse node order so that reading sorts them); variant alternatives and
/// numbers (including ones fc writes as strings) follow the seed.
pub fn example(ty: &Ty, seed: u32, depth: u32) -> Json {
    let full = seed % 2 == 1 && depth < 6;
    let n = u64::from(seed);
    match ty {
        Ty::Bool => Json::Bool(full),
        Ty::U8 => Json::from(n % 200 + 1),
        Ty::U16 => Json::from(n * 100 + 7),
        Ty::U32 => Json::from(n * 100_000 + 60),
        Ty::U64 => {
            if full {
                Json::String((5_000_000_000 + n).to_string())
            } else {
                Json::from(n + 3)
            }
        }
        Ty::I64 => {
            if full {
                Json::String((-6_000_000_000 - n as i64).to_string())
            } else {
                Json::from(n * 1000 + 1)
            }
        }
        Ty::VarU32 => Json::from(n * 300 + 2),
        Ty::Str => Json::String(format!("example-{seed}")),
        Ty::Bytes => Json::String(if full { hex::encode([seed as u8, 0xab, 0xcd]) } else { String::new() }),
        Ty::Fixed(len) => Json::String(hex::encode(
            (0..*len).map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed as u8)).collect::<Vec<_>>(),
        )),
        Ty::PublicKey | Ty::Address => {
            let key = crate::keys::PrivateKey::from_seed(&format!("example-{seed}"))
                .map(|k| k.public_key(crate::AddressPrefix::BTS))
                .unwrap_or(PublicKey::null(crate::AddressPrefix::BTS));
            Json::String(if matches!(ty, Ty::Address) { key.address().to_string() } else { key.to_string() })
        }
        Ty::Time => Json::String(TimePointSec(1_767_225_600 + seed * 86_400).to_string()),
        Ty::Id(space, type_id) => Json::String(format!("{space}.{type_id}.{}", n + 17)),
        Ty::AnyId => Json::String(format!("1.7.{}", n + 3)),
        Ty::VoteId => Json::String(format!("{}:{}", seed % 3, n + 11)),
        Ty::Void => Json::Object(Default::default()),
        Ty::Opt(inner) => {
            if full {
                example(inner, seed, depth + 1)
            } else {
                Json::Null
            }
        }
        // Future extensions stay empty: no chain value has ever set one.
        Ty::Set(Ty::Variant(v)) if v.name == "future_extensions" => Json::Array(Vec::new()),
        Ty::Vec(item) | Ty::Set(item) => Json::Array(if full {
            vec![example(item, seed + 2, depth + 1), example(item, seed, depth + 1)]
        } else {
            Vec::new()
        }),
        Ty::Map(k, v) => Json::Array(if full {
            vec![
                Json::Array(vec![example(k, seed + 2, depth + 1), example(v, seed, depth + 1)]),
                Json::Array(vec![example(k, seed, depth + 1), example(v, seed, depth + 1)]),
            ]
        } else {
            Vec::new()
        }),
        Ty::Pair(k, v) => Json::Array(vec![example(k, seed, depth + 1), example(v, seed, depth + 1)]),
        Ty::Struct(s) | Ty::Ext(s) => {
            let mut obj = serde_json::Map::new();
            for (name, fty) in s.fields {
                let present = !matches!(ty, Ty::Ext(_)) || full;
                let value = example(fty, seed, depth + 1);
                if present && !value.is_null() {
                    obj.insert((*name).to_owned(), value);
                }
            }
            Json::Object(obj)
        }
        Ty::Variant(var) => {
            // Deep values take the first alternative, which never recurses.
            let tag = if depth < 6 { seed as usize % var.alternatives.len() } else { 0 };
            Json::Array(vec![Json::from(tag), example(&var.alternatives[tag], seed, depth + 1)])
        }
        Ty::Op => example_operation(if depth < 4 { (seed * 5) % 78 } else { 0 }, seed, depth + 1),
    }
}

/// [`example`] for a whole operation `[tag, {fields}]`.
pub fn example_operation(tag: u32, seed: u32, depth: u32) -> Json {
    let tag = tag.min(77);
    let body = example(&Ty::Struct(&crate::schema::OPERATIONS[tag as usize].body), seed, depth);
    Json::Array(vec![Json::from(tag), body])
}
