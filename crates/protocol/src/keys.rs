//! Keys as BitShares writes them.
//!
//! - Public keys: `PREFIX + base58(key33 ‖ RIPEMD160(key33)[..4])` (protocol.md §1.1). The prefix is
//!   the chain's `GRAPHENE_ADDRESS_PREFIX` (BTS, TEST, …); the wire form is the bare 33 bytes.
//! - Addresses (only used to sort `key_auths`): `RIPEMD160(SHA512(key33))`.
//! - Private keys: WIF `base58(0x80 ‖ secret32 ‖ SHA256(SHA256(…))[..4])`, no compression flag (§1.2);
//!   password keys `SHA256(name + role + password)` as the web wallet derives them (§1.3).
//!
//! A [`PublicKey`] remembers the prefix it was written with so it prints back the same way; equality
//! and hashing look only at the key bytes. Secrets never reach `Debug`, `Display` or error texts.

use crate::error::{Error, Result};
use crate::pack::{Pack, Reader, Unpack};
use k256::ecdsa::{SigningKey, VerifyingKey};
use ripemd::Ripemd160;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};
use sha2::{Digest as _, Sha256, Sha512};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// Longest address prefix we accept, in characters.
const MAX_PREFIX_LEN: usize = 16;

/// A chain's address prefix, such as `BTS` or `TEST`: 1 to 16 ASCII uppercase letters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressPrefix {
    bytes: [u8; MAX_PREFIX_LEN],
    len: u8,
}

impl AddressPrefix {
    /// `BTS`, the mainnet prefix and the default.
    pub const BTS: AddressPrefix = AddressPrefix::from_static("BTS");
    /// `TEST`, the public testnet prefix.
    pub const TEST: AddressPrefix = AddressPrefix::from_static("TEST");

    const fn from_static(s: &str) -> Self {
        let b = s.as_bytes();
        let mut bytes = [0u8; MAX_PREFIX_LEN];
        let mut i = 0;
        while i < b.len() {
            bytes[i] = b[i];
            i += 1;
        }
        Self { bytes, len: b.len() as u8 }
    }

    /// Validates and builds a prefix.
    pub fn new(s: &str) -> Result<Self> {
        if s.is_empty() || s.len() > MAX_PREFIX_LEN || !s.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Error::InvalidAddressPrefix(s.to_owned()));
        }
        Ok(Self::from_static(s))
    }

    /// The prefix text.
    pub fn as_str(&self) -> &str {
        // Only ASCII uppercase letters are ever stored (checked in `new`), so this cannot fail.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl Default for AddressPrefix {
    fn default() -> Self {
        Self::BTS
    }
}

impl fmt::Display for AddressPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for AddressPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl FromStr for AddressPrefix {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl Serialize for AddressPrefix {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AddressPrefix {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::new(&s).map_err(D::Error::custom)
    }
}

fn ripemd160(data: &[u8]) -> [u8; 20] {
    Ripemd160::digest(data).into()
}

/// Splits `PREFIX + base58(payload ‖ ripemd160(payload)[..4])` into its prefix and `N`-byte
/// payload. The prefix is found by trying each leading run of uppercase letters: only the right
/// split yields a payload whose checksum matches.
fn decode_prefixed<const N: usize>(s: &str, what_bad: &mut &'static str) -> Option<(AddressPrefix, [u8; N])> {
    let letters = s.bytes().take_while(u8::is_ascii_uppercase).count().min(MAX_PREFIX_LEN);
    // The longest run is by far the most likely split; try it first.
    // The reason reported on failure is the one for that most likely split.
    for split in (1..=letters).rev() {
        let mut fail = |reason| {
            if split == letters {
                *what_bad = reason;
            }
        };
        let Ok(raw) = bs58::decode(&s[split..]).into_vec() else {
            fail("not valid base58");
            continue;
        };
        if raw.len() != N + 4 {
            fail("wrong length");
            continue;
        }
        let (payload, checksum) = raw.split_at(N);
        if ripemd160(payload)[..4] != *checksum {
            fail("checksum mismatch");
            continue;
        }
        let mut out = [0u8; N];
        out.copy_from_slice(payload);
        let prefix = AddressPrefix::new(&s[..split]).ok()?;
        return Some((prefix, out));
    }
    None
}

fn encode_prefixed(prefix: AddressPrefix, payload: &[u8]) -> String {
    let mut raw = payload.to_vec();
    raw.extend_from_slice(&ripemd160(payload)[..4]);
    format!("{prefix}{}", bs58::encode(raw).into_string())
}

/// A compressed secp256k1 public key, with the prefix it is displayed with.
#[derive(Clone, Copy)]
pub struct PublicKey {
    data: [u8; 33],
    prefix: AddressPrefix,
}

impl PublicKey {
    /// The all-zero "null" key (`BTS1111111111111111111111111111111114T1Anm`).
    pub const fn null(prefix: AddressPrefix) -> Self {
        Self { data: [0; 33], prefix }
    }

    /// Wraps 33 raw bytes (not checked to be a curve point, like the node's `public_key_type`).
    pub const fn from_bytes(data: [u8; 33], prefix: AddressPrefix) -> Self {
        Self { data, prefix }
    }

    /// Parses a key that must carry `expected` as its prefix.
    pub fn parse_with_prefix(s: &str, expected: AddressPrefix) -> Result<Self> {
        match Self::from_str(s) {
            Ok(key) if key.prefix == expected => Ok(key),
            Ok(key) => Err(Error::WrongKeyPrefix { found: key.prefix.to_string(), expected: expected.to_string() }),
            Err(e) if s.starts_with(expected.as_str()) => Err(e),
            Err(e) => {
                let found: String = s.chars().take_while(char::is_ascii_uppercase).collect();
                if found.is_empty() {
                    Err(e)
                } else {
                    Err(Error::WrongKeyPrefix { found, expected: expected.to_string() })
                }
            }
        }
    }

    /// The 33-byte compressed point.
    pub fn as_bytes(&self) -> &[u8; 33] {
        &self.data
    }

    /// The prefix this key is displayed with.
    pub fn prefix(&self) -> AddressPrefix {
        self.prefix
    }

    /// The same key displayed with another prefix.
    pub fn with_prefix(self, prefix: AddressPrefix) -> Self {
        Self { prefix, ..self }
    }

    /// The key's address `RIPEMD160(SHA512(key33))`, by which the node orders `key_auths`.
    pub fn address(&self) -> Address {
        Address { data: ripemd160(&Sha512::digest(self.data)), prefix: self.prefix }
    }

    /// The key as a point on the curve, for signature verification.
    pub fn to_verifying_key(&self) -> Result<VerifyingKey> {
        VerifyingKey::from_sec1_bytes(&self.data)
            .map_err(|_| Error::InvalidPublicKey { input: self.to_string(), reason: "not a point on secp256k1" })
    }

    pub(crate) fn from_verifying_key(key: &VerifyingKey, prefix: AddressPrefix) -> Self {
        let point = key.to_sec1_point(true);
        let mut data = [0u8; 33];
        data.copy_from_slice(point.as_bytes());
        Self { data, prefix }
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.data == other.data
    }
}
impl Eq for PublicKey {}
impl Hash for PublicKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.data.hash(state);
    }
}

impl FromStr for PublicKey {
    type Err = Error;
    /// Parses a key with any prefix; use [`PublicKey::parse_with_prefix`] to insist on the chain's.
    fn from_str(s: &str) -> Result<Self> {
        let mut reason = "missing address prefix";
        decode_prefixed::<33>(s, &mut reason)
            .map(|(prefix, data)| Self { data, prefix })
            .ok_or_else(|| Error::InvalidPublicKey { input: s.to_owned(), reason })
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encode_prefixed(self.prefix, &self.data))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

crate::serde_via_str!(PublicKey);

impl Pack for PublicKey {
    fn pack(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.data);
    }
}

impl Unpack for PublicKey {
    fn unpack(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self { data: r.take_array("public key")?, prefix: r.prefix() })
    }
}

/// A Graphene address: `RIPEMD160(SHA512(key33))`, written `PREFIX + base58(addr ‖ checksum)`.
#[derive(Clone, Copy)]
pub struct Address {
    data: [u8; 20],
    prefix: AddressPrefix,
}

impl Address {
    /// The 20 address bytes; the node compares these bytewise to sort `key_auths`.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.data
    }
}

impl PartialEq for Address {
    fn eq(&self, other: &Self) -> bool {
        self.data == other.data
    }
}
impl Eq for Address {}
impl Hash for Address {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.data.hash(state);
    }
}

impl FromStr for Address {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let mut reason = "missing address prefix";
        decode_prefixed::<20>(s, &mut reason)
            .map(|(prefix, data)| Self { data, prefix })
            .ok_or_else(|| Error::InvalidPublicKey { input: s.to_owned(), reason })
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encode_prefixed(self.prefix, &self.data))
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

crate::serde_via_str!(Address);

impl Pack for Address {
    fn pack(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.data);
    }
}

impl Unpack for Address {
    fn unpack(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self { data: r.take_array("address")?, prefix: r.prefix() })
    }
}

/// Which of an account's keys a password derives (the web wallet's roles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyRole {
    /// The owner authority key.
    Owner,
    /// The active authority key (signs transactions).
    Active,
    /// The memo key (encrypts memos).
    Memo,
}

impl KeyRole {
    /// All roles in the wallet's order.
    pub const ALL: [KeyRole; 3] = [KeyRole::Owner, KeyRole::Active, KeyRole::Memo];

    /// The role string mixed into the password hash.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyRole::Owner => "owner",
            KeyRole::Active => "active",
            KeyRole::Memo => "memo",
        }
    }
}

impl fmt::Display for KeyRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyRole {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| Error::InvalidKeyRole(s.to_owned()))
    }
}

/// A secp256k1 private key. Its secret is zeroized on drop and never printed.
#[derive(Clone)]
pub struct PrivateKey {
    key: SigningKey,
}

impl PrivateKey {
    /// A key from 32 secret bytes; fails for zero or values not below the curve order.
    pub fn from_secret(secret: &[u8; 32]) -> Result<Self> {
        SigningKey::from_slice(secret).map(|key| Self { key }).map_err(|_| Error::InvalidPrivateKey)
    }

    /// A fresh key from the operating system's random number generator.
    pub fn generate() -> Result<Self> {
        loop {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret).map_err(|_| Error::RandomnessUnavailable)?;
            // Out-of-range secrets occur with probability ~2^-128; draw again.
            if let Ok(key) = Self::from_secret(&secret) {
                return Ok(key);
            }
        }
    }

    /// `SHA256(seed)`, as bitsharesjs `PrivateKey.fromSeed` (and the dev key "nathan").
    pub fn from_seed(seed: &str) -> Result<Self> {
        Self::from_secret(&Sha256::digest(seed.as_bytes()).into())
    }

    /// The web wallet's password key: `SHA256(account_name + role + password)`.
    pub fn from_password(account_name: &str, role: KeyRole, password: &str) -> Result<Self> {
        Self::from_seed(&format!("{account_name}{}{password}", role.as_str()))
    }

    /// Parses a WIF. Accepts the double-SHA256 checksum and, like the node's `wif_to_key`, a
    /// single-SHA256 one.
    pub fn from_wif(wif: &str) -> Result<Self> {
        let raw = bs58::decode(wif.trim()).into_vec().map_err(|_| Error::InvalidWif("not valid base58"))?;
        if raw.len() == 38 {
            return Err(Error::InvalidWif(
                "38-byte WIF with a compression flag (Bitcoin style); BitShares WIFs are 37 bytes",
            ));
        }
        if raw.len() != 37 {
            return Err(Error::InvalidWif("wrong length: expected 37 bytes (0x80, 32-byte secret, 4-byte checksum)"));
        }
        let (payload, checksum) = raw.split_at(33);
        if payload[0] != 0x80 {
            return Err(Error::InvalidWif("wrong version byte: expected 0x80"));
        }
        let single = Sha256::digest(payload);
        let double = Sha256::digest(single);
        if double[..4] != *checksum && single[..4] != *checksum {
            return Err(Error::InvalidWif("checksum mismatch"));
        }
        let mut secret = [0u8; 32];
        secret.copy_from_slice(&payload[1..]);
        Self::from_secret(&secret)
    }

    /// The WIF text (double-SHA256 checksum). This is the secret: handle with care.
    pub fn to_wif(&self) -> String {
        let mut raw = Vec::with_capacity(37);
        raw.push(0x80);
        raw.extend_from_slice(&self.key.to_bytes());
        let checksum = Sha256::digest(Sha256::digest(&raw));
        raw.extend_from_slice(&checksum[..4]);
        bs58::encode(raw).into_string()
    }

    /// The 32 secret bytes. This is the secret: handle with care.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.key.to_bytes().into()
    }

    /// The matching public key, displayed with `prefix`.
    pub fn public_key(&self, prefix: AddressPrefix) -> PublicKey {
        PublicKey::from_verifying_key(self.key.verifying_key(), prefix)
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.key
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey(<secret for {}>)", self.public_key(AddressPrefix::BTS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NATHAN_WIF: &str = "5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD3";
    const NATHAN_PUB: &str = "BTS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV";

    #[test]
    fn wrong_prefix_is_a_typed_error() {
        let test_key = PublicKey::from_str(NATHAN_PUB).unwrap().with_prefix(AddressPrefix::TEST).to_string();
        assert!(test_key.starts_with("TEST6MRy"));
        let err = PublicKey::parse_with_prefix(&test_key, AddressPrefix::BTS).unwrap_err();
        assert_eq!(err, Error::WrongKeyPrefix { found: "TEST".into(), expected: "BTS".into() });
        assert_eq!(err.to_string(), "invalid public key prefix \"TEST\", expected \"BTS\"");
        let stm = NATHAN_PUB.replacen("BTS", "STM", 1);
        assert!(matches!(PublicKey::parse_with_prefix(&stm, AddressPrefix::BTS), Err(Error::WrongKeyPrefix { .. })));
    }

    #[test]
    fn bad_checksum_is_reported() {
        let mut s = NATHAN_PUB.to_string();
        s.replace_range(10..11, if &s[10..11] == "a" { "b" } else { "a" });
        let err = PublicKey::parse_with_prefix(&s, AddressPrefix::BTS).unwrap_err();
        assert!(matches!(err, Error::InvalidPublicKey { reason: "checksum mismatch", .. }), "{err}");
        assert!(PublicKey::parse_with_prefix("BTS", AddressPrefix::BTS).is_err());
        assert!(PublicKey::parse_with_prefix("BTS0OIl", AddressPrefix::BTS).is_err());
        assert!(PublicKey::parse_with_prefix("", AddressPrefix::BTS).is_err());
    }

    #[test]
    fn wif_round_trips_and_rejects_bad_input_without_echoing_it() {
        let key = PrivateKey::from_wif(NATHAN_WIF).unwrap();
        assert_eq!(key.to_wif(), NATHAN_WIF);
        assert_eq!(key.public_key(AddressPrefix::BTS).to_string(), NATHAN_PUB);
        let mut broken = NATHAN_WIF.to_string();
        broken.replace_range(5..6, "x");
        let err = PrivateKey::from_wif(&broken).unwrap_err().to_string();
        assert!(!err.contains(&broken) && err.contains("checksum"), "{err}");
        assert!(!format!("{key:?}").contains(NATHAN_WIF));
        assert!(!format!("{key:?}").contains("d2653ff7"));
    }

    #[test]
    fn single_sha_checksum_is_accepted_like_the_node() {
        let key = PrivateKey::from_wif(NATHAN_WIF).unwrap();
        let mut raw = vec![0x80];
        raw.extend_from_slice(&key.secret_bytes());
        let check = Sha256::digest(&raw);
        raw.extend_from_slice(&check[..4]);
        let wif = bs58::encode(raw).into_string();
        assert_eq!(PrivateKey::from_wif(&wif).unwrap().secret_bytes(), key.secret_bytes());
    }

    #[test]
    fn password_keys_differ_per_role() {
        let keys: Vec<_> = KeyRole::ALL
            .iter()
            .map(|r| PrivateKey::from_password("alice", *r, "P5Kabc").unwrap().public_key(AddressPrefix::BTS))
            .collect();
        assert_ne!(keys[0], keys[1]);
        assert_ne!(keys[1], keys[2]);
        let direct = PrivateKey::from_seed("aliceactiveP5Kabc").unwrap().public_key(AddressPrefix::BTS);
        assert_eq!(keys[1], direct);
    }

    #[test]
    fn generated_keys_are_distinct() {
        let a = PrivateKey::generate().unwrap();
        let b = PrivateKey::generate().unwrap();
        assert_ne!(a.secret_bytes(), b.secret_bytes());
        assert_eq!(PrivateKey::from_wif(&a.to_wif()).unwrap().secret_bytes(), a.secret_bytes());
    }

    #[test]
    fn prefixes_are_validated() {
        assert!(AddressPrefix::new("TEST").is_ok());
        for bad in ["", "bts", "B1", "ABCDEFGHIJKLMNOPQ"] {
            assert!(AddressPrefix::new(bad).is_err(), "{bad:?}");
        }
    }
}
