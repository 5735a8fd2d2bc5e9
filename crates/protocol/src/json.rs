//! How the node writes and reads numbers in JSON.
//!
//! fc stringifies int64 values outside the int32 range and uint64 values above 0xffffffff
//! (`bitshares-fc src/io/json.cpp`, `stringify_large_ints_and_doubles`), and its variant
//! conversions accept a number or a decimal string for every integer field. These serde helpers
//! reproduce both directions so our JSON is byte-for-byte what the node would emit.

use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;
use std::fmt;
use std::marker::PhantomData;

/// Deserializes any integer type from a JSON number or a decimal string, range-checked.
pub fn int_from_number_or_string<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i128>,
{
    struct V<T>(PhantomData<T>);
    impl<T: TryFrom<i128>> V<T> {
        fn fit<E: de::Error>(v: i128) -> Result<T, E> {
            T::try_from(v)
                .map_err(|_| E::custom(format_args!("integer {v} out of range for {}", std::any::type_name::<T>())))
        }
    }
    impl<T: TryFrom<i128>> Visitor<'_> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an integer or a decimal string")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
            Self::fit(i128::from(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
            Self::fit(i128::from(v))
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<T, E> {
            let v: i128 = s.trim().parse().map_err(|_| E::custom(format_args!("invalid integer string \"{s}\"")))?;
            Self::fit(v)
        }
    }
    d.deserialize_any(V(PhantomData))
}

/// Serializes an int64 as fc does: a number inside the int32 range, otherwise a string.
pub fn serialize_i64<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
    if i32::try_from(*v).is_ok() { s.serialize_i64(*v) } else { s.collect_str(v) }
}

/// Serializes a uint64 as fc does: a number up to 0xffffffff, otherwise a string.
pub fn serialize_u64<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
    if *v <= u64::from(u32::MAX) { s.serialize_u64(*v) } else { s.collect_str(v) }
}

/// `with`-module for int64 fields (`share_type` and friends).
pub mod i64_fc {
    pub use super::int_from_number_or_string as deserialize;
    pub use super::serialize_i64 as serialize;
}

/// `with`-module for uint64 fields.
pub mod u64_fc {
    pub use super::int_from_number_or_string as deserialize;
    pub use super::serialize_u64 as serialize;
}

/// `with`-module for integer fields that fc always writes as numbers but accepts as strings.
pub mod int {
    pub use super::int_from_number_or_string as deserialize;
    use serde::{Serialize, Serializer};
    /// Writes the integer as a JSON number.
    pub fn serialize<T: Serialize, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }
}

/// `with`-module for byte strings written as lowercase hex (fc `vector<char>`).
pub mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};
    /// Writes bytes as lowercase hex.
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }
    /// Reads bytes from hex.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        hex::decode(s.as_ref()).map_err(|e| D::Error::custom(format_args!("invalid hex \"{s}\": {e}")))
    }
}

/// Implements `Serialize`/`Deserialize` through `Display`/`FromStr`, for the many protocol types
/// whose JSON form is a string (`"1.2.17"`, `"BTS…"`, `"2016-04-06T08:29:27"`, hex).
#[macro_export]
macro_rules! serde_via_str {
    ($($ty:ty),* $(,)?) => {$(
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(<D::Error as serde::de::Error>::custom)
            }
        }
    )*};
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Nums {
        #[serde(with = "super::i64_fc")]
        a: i64,
        #[serde(with = "super::u64_fc")]
        b: u64,
        #[serde(with = "super::int")]
        c: u16,
    }

    #[test]
    fn large_ints_are_strings_like_fc() {
        let n = Nums { a: 44_261_516_129, b: 5, c: 7 };
        assert_eq!(serde_json::to_string(&n).unwrap(), r#"{"a":"44261516129","b":5,"c":7}"#);
        let n = Nums { a: -2_147_483_648, b: 4_294_967_296, c: 0 };
        assert_eq!(serde_json::to_string(&n).unwrap(), r#"{"a":-2147483648,"b":"4294967296","c":0}"#);
        let n = Nums { a: -2_147_483_649, b: 4_294_967_295, c: 0 };
        assert_eq!(serde_json::to_string(&n).unwrap(), r#"{"a":"-2147483649","b":4294967295,"c":0}"#);
    }

    #[test]
    fn numbers_and_strings_are_both_accepted() {
        let n: Nums = serde_json::from_str(r#"{"a":"12","b":"99","c":"3"}"#).unwrap();
        assert_eq!(n, Nums { a: 12, b: 99, c: 3 });
        let err = serde_json::from_str::<Nums>(r#"{"a":1,"b":1,"c":70000}"#).unwrap_err().to_string();
        assert!(err.contains("out of range"), "{err}");
        let err = serde_json::from_str::<Nums>(r#"{"a":"x","b":1,"c":1}"#).unwrap_err().to_string();
        assert!(err.contains("invalid integer string \"x\""), "{err}");
    }
}
