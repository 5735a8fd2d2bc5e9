//! Object ids (`1.2.17`) and the fixed-size hashes that name chains, blocks and transactions.
//!
//! Typed ids (`AccountId`, `AssetId`, …) pack as a varint of the instance only, exactly as
//! `object_id<S,T>` does on the wire; the generic [`ObjectId`] packs as a uint64
//! `space << 56 | type << 48 | instance`. In JSON both are the `"s.t.i"` string.

use crate::error::{Error, Result};
use crate::pack::{Pack, Reader, Unpack, pack_varint};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};
use std::fmt;
use std::str::FromStr;

/// Largest instance an object id can carry (48 bits).
pub const MAX_INSTANCE: u64 = (1 << 48) - 1;

/// Any object id: `space.type.instance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId {
    /// Space: 1 = protocol objects, 2 = implementation objects.
    pub space: u8,
    /// Object type within the space.
    pub type_id: u8,
    /// Instance number (at most 48 bits).
    pub instance: u64,
}

impl ObjectId {
    /// Builds an id; the instance is truncated to 48 bits as the node does.
    pub const fn new(space: u8, type_id: u8, instance: u64) -> Self {
        Self { space, type_id, instance: instance & MAX_INSTANCE }
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.space, self.type_id, self.instance)
    }
}

impl FromStr for ObjectId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = |reason| Error::InvalidObjectId { input: s.to_owned(), reason };
        let mut parts = s.split('.');
        let mut next =
            |what| parts.next().filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())).ok_or(bad(what));
        let space = next("expected three dot-separated numbers")?;
        let type_id = next("expected three dot-separated numbers")?;
        let instance = next("expected three dot-separated numbers")?;
        if parts.next().is_some() {
            return Err(bad("expected three dot-separated numbers"));
        }
        let space: u8 = space.parse().map_err(|_| bad("space does not fit in 8 bits"))?;
        let type_id: u8 = type_id.parse().map_err(|_| bad("type does not fit in 8 bits"))?;
        let instance: u64 =
            instance.parse().ok().filter(|i| *i <= MAX_INSTANCE).ok_or(bad("instance does not fit in 48 bits"))?;
        Ok(Self { space, type_id, instance })
    }
}

crate::serde_via_str!(ObjectId);

impl Pack for ObjectId {
    fn pack(&self, out: &mut Vec<u8>) {
        let v = (u64::from(self.space) << 56) | (u64::from(self.type_id) << 48) | self.instance;
        v.pack(out);
    }
}

impl Unpack for ObjectId {
    fn unpack(r: &mut Reader<'_>) -> Result<Self> {
        let v = u64::unpack(r)?;
        Ok(Self { space: (v >> 56) as u8, type_id: (v >> 48) as u8, instance: v & MAX_INSTANCE })
    }
}

/// An id whose space and type are fixed by the Rust type, e.g. [`AccountId`] = `1.2.N`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TypedId<const SPACE: u8, const TYPE: u8>(pub u64);

impl<const SPACE: u8, const TYPE: u8> TypedId<SPACE, TYPE> {
    /// The id with this instance number.
    pub const fn new(instance: u64) -> Self {
        Self(instance)
    }

    /// The instance number.
    pub const fn instance(self) -> u64 {
        self.0
    }

    /// The generic form of this id.
    pub const fn object_id(self) -> ObjectId {
        ObjectId::new(SPACE, TYPE, self.0)
    }

    /// What this id names, for error messages.
    pub fn kind() -> &'static str {
        match (SPACE, TYPE) {
            (1, 2) => "an account",
            (1, 3) => "an asset",
            (1, 5) => "a committee member",
            (1, 6) => "a witness",
            (1, 13) => "a vesting balance",
            (1, 14) => "a worker",
            (2, 0) => "the global properties",
            (2, 1) => "the dynamic global properties",
            (2, 3) => "an asset dynamic data",
            (2, 5) => "an account balance",
            (2, 6) => "an account statistics",
            _ => "an object",
        }
    }
}

impl<const SPACE: u8, const TYPE: u8> TryFrom<ObjectId> for TypedId<SPACE, TYPE> {
    type Error = Error;
    fn try_from(id: ObjectId) -> Result<Self> {
        if id.space == SPACE && id.type_id == TYPE {
            Ok(Self(id.instance))
        } else {
            Err(Error::WrongObjectType { expected: Self::kind(), space: SPACE, type_id: TYPE, got: id.to_string() })
        }
    }
}

impl<const SPACE: u8, const TYPE: u8> From<TypedId<SPACE, TYPE>> for ObjectId {
    fn from(id: TypedId<SPACE, TYPE>) -> Self {
        id.object_id()
    }
}

impl<const SPACE: u8, const TYPE: u8> FromStr for TypedId<SPACE, TYPE> {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        s.parse::<ObjectId>()?.try_into()
    }
}

impl<const SPACE: u8, const TYPE: u8> fmt::Display for TypedId<SPACE, TYPE> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SPACE}.{TYPE}.{}", self.0)
    }
}

impl<const SPACE: u8, const TYPE: u8> fmt::Debug for TypedId<SPACE, TYPE> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

impl<const SPACE: u8, const TYPE: u8> Serialize for TypedId<SPACE, TYPE> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de, const SPACE: u8, const TYPE: u8> Deserialize<'de> for TypedId<SPACE, TYPE> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(D::Error::custom)
    }
}

impl<const SPACE: u8, const TYPE: u8> Pack for TypedId<SPACE, TYPE> {
    fn pack(&self, out: &mut Vec<u8>) {
        pack_varint(self.0, out);
    }
}

impl<const SPACE: u8, const TYPE: u8> Unpack for TypedId<SPACE, TYPE> {
    fn unpack(r: &mut Reader<'_>) -> Result<Self> {
        let offset = r.position();
        let v = r.varint()?;
        if v > MAX_INSTANCE {
            return Err(Error::VarintOverflow(offset));
        }
        Ok(Self(v))
    }
}

/// `1.2.N`: an account.
pub type AccountId = TypedId<1, 2>;
/// `1.3.N`: an asset.
pub type AssetId = TypedId<1, 3>;
/// `1.5.N`: a committee member.
pub type CommitteeMemberId = TypedId<1, 5>;
/// `1.6.N`: a witness.
pub type WitnessId = TypedId<1, 6>;
/// `1.13.N`: a vesting balance.
pub type VestingBalanceId = TypedId<1, 13>;

/// Well-known ids of the genesis state.
pub mod well_known {
    use super::{AccountId, AssetId, ObjectId};
    /// `1.2.0` committee-account.
    pub const COMMITTEE_ACCOUNT: AccountId = AccountId::new(0);
    /// `1.2.1` witness-account.
    pub const WITNESS_ACCOUNT: AccountId = AccountId::new(1);
    /// `1.2.2` relaxed-committee-account.
    pub const RELAXED_COMMITTEE_ACCOUNT: AccountId = AccountId::new(2);
    /// `1.2.3` null-account.
    pub const NULL_ACCOUNT: AccountId = AccountId::new(3);
    /// `1.2.4` temp-account.
    pub const TEMP_ACCOUNT: AccountId = AccountId::new(4);
    /// `1.2.5` proxy-to-self (`GRAPHENE_PROXY_TO_SELF_ACCOUNT`).
    pub const PROXY_TO_SELF_ACCOUNT: AccountId = AccountId::new(5);
    /// `1.3.0` the core asset (BTS).
    pub const CORE_ASSET: AssetId = AssetId::new(0);
    /// `2.0.0` global properties.
    pub const GLOBAL_PROPERTIES: ObjectId = ObjectId::new(2, 0, 0);
    /// `2.1.0` dynamic global properties.
    pub const DYNAMIC_GLOBAL_PROPERTIES: ObjectId = ObjectId::new(2, 1, 0);
}

macro_rules! hash_id {
    ($(#[$doc:meta])* $name:ident, $len:expr, $what:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                let mut out = [0u8; $len];
                hex::decode_to_slice(s.trim(), &mut out).map_err(|e| Error::InvalidHex {
                    what: $what,
                    reason: format!("{e} (expected {} hex characters, got {})", $len * 2, s.trim().len()),
                })?;
                Ok(Self(out))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        crate::serde_via_str!($name);

        impl Pack for $name {
            fn pack(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.0);
            }
        }

        impl Unpack for $name {
            fn unpack(r: &mut Reader<'_>) -> Result<Self> {
                Ok(Self(r.take_array($what)?))
            }
        }
    };
}

hash_id!(
    /// A chain id: SHA-256 of the genesis; prefixed to every signing digest.
    ChainId, 32, "chain id"
);
hash_id!(
    /// A block id: block number (big-endian) in bytes 0..4, then a truncated header hash.
    BlockId, 20, "block id"
);
hash_id!(
    /// A transaction id: the first 20 bytes of SHA-256 of the unsigned transaction.
    TransactionId, 20, "transaction id"
);
hash_id!(
    /// A SHA-256 digest, e.g. the signing digest of a transaction.
    Digest, 32, "digest"
);

impl ChainId {
    /// BitShares mainnet (prefix BTS).
    pub const MAINNET: ChainId = ChainId(hex_32("4018d7844c78f6a6c41c6a552b898022310fc5dec06da467ee7905a8dad512c8"));
    /// The public BitShares testnet (prefix TEST).
    pub const TESTNET: ChainId = ChainId(hex_32("39f5e2ede1f8bc1a3a54a7914414e3779e33193f1f5693510e73cb7a87617447"));
}

impl BlockId {
    /// The block number stored big-endian in the first four bytes.
    pub fn block_num(&self) -> u32 {
        u32::from_be_bytes([self.0[0], self.0[1], self.0[2], self.0[3]])
    }
}

/// Decodes 64 hex characters at compile time (for the chain-id constants).
const fn hex_32(s: &str) -> [u8; 32] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("bad hex digit in constant"),
        }
    }
    let b = s.as_bytes();
    assert!(b.len() == 64, "constant must be 64 hex characters");
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = nibble(b[2 * i]) << 4 | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids_parse_and_format() {
        let id: ObjectId = "1.2.17".parse().unwrap();
        assert_eq!(id, ObjectId::new(1, 2, 17));
        assert_eq!(id.to_string(), "1.2.17");
        for bad in ["", "1.2", "1.2.3.4", "1..3", "a.b.c", "256.0.0", "1.2.281474976710656", "1.2.-1", " 1.2.3"] {
            assert!(bad.parse::<ObjectId>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn typed_ids_reject_other_types_with_a_clear_message() {
        let err = "1.3.0".parse::<AccountId>().unwrap_err();
        assert_eq!(err.to_string(), "expected an account id (1.2.N), got \"1.3.0\"");
        assert_eq!("1.13.7".parse::<VestingBalanceId>().unwrap().instance(), 7);
    }

    #[test]
    fn typed_ids_pack_as_varint_and_generic_ids_as_u64() {
        assert_eq!(AccountId::new(300).to_bytes(), [0xac, 0x02]);
        assert_eq!(ObjectId::new(1, 2, 18).to_bytes(), [18, 0, 0, 0, 0, 0, 2, 1]);
        let back = ObjectId::from_bytes(&ObjectId::new(1, 2, 18).to_bytes(), crate::AddressPrefix::BTS).unwrap();
        assert_eq!(back, ObjectId::new(1, 2, 18));
    }

    #[test]
    fn block_number_is_big_endian_prefix() {
        let id: BlockId = "01f82b16db7ae25a4b9706b36c259438a9d4c8d1".parse().unwrap();
        assert_eq!(id.block_num(), 33_041_174);
        assert!("01f82b".parse::<BlockId>().is_err());
    }
}
