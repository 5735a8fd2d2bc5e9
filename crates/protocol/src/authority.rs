//! Authorities, account options and the node-ordered containers they are built from.
//!
//! The node rebuilds the binary form from the JSON it receives, and its `flat_map`/`flat_set`
//! containers sort (and de-duplicate) their keys as they are filled. [`FlatMap`] and [`FlatSet`]
//! keep the same invariant from construction on, so what we pack is what the node packs and
//! signatures survive the round trip (protocol.md §4.4).

use crate::error::{Error, Result};
use crate::id::{AccountId, AssetId};
use crate::json;
use crate::keys::{Address, PublicKey};
use crate::pack::{Pack, Reader, Unpack, pack_varint};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};
use std::fmt;
use std::str::FromStr;

/// How the node orders a container key.
pub trait NodeOrder {
    /// The value the node compares.
    type Key: Ord;
    /// This key's sort value.
    fn node_key(&self) -> Self::Key;
}

impl NodeOrder for PublicKey {
    type Key = [u8; 20];
    /// `public_key_type::operator<` compares addresses, `RIPEMD160(SHA512(key33))`.
    fn node_key(&self) -> [u8; 20] {
        *self.address().as_bytes()
    }
}

impl NodeOrder for Address {
    type Key = [u8; 20];
    fn node_key(&self) -> [u8; 20] {
        *self.as_bytes()
    }
}

impl<const S: u8, const T: u8> NodeOrder for crate::id::TypedId<S, T> {
    type Key = u64;
    fn node_key(&self) -> u64 {
        self.instance()
    }
}

/// An fc `flat_map`: `[key, value]` pairs kept sorted in node order with unique keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for FlatMap<K, V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<K: NodeOrder, V> FlatMap<K, V> {
    /// Sorts pairs in node order; for a repeated key the first pair wins, as `flat_map::insert` does.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut keyed: Vec<(K::Key, usize, (K, V))> =
            pairs.into_iter().enumerate().map(|(i, (k, v))| (k.node_key(), i, (k, v))).collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        keyed.dedup_by(|later, earlier| later.0 == earlier.0);
        Self(keyed.into_iter().map(|(_, _, kv)| kv).collect())
    }
}

impl<K, V> FlatMap<K, V> {
    /// The pairs in node order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &(K, V)> {
        self.0.iter()
    }
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: Serialize, V: Serialize> Serialize for FlatMap<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de, K: NodeOrder + Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for FlatMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::from_pairs(Vec::<(K, V)>::deserialize(d)?))
    }
}

impl<K: Pack, V: Pack> Pack for FlatMap<K, V> {
    fn pack(&self, out: &mut Vec<u8>) {
        self.0.pack(out);
    }
}

impl<K: NodeOrder + Unpack, V: Unpack> Unpack for FlatMap<K, V> {
    fn unpack(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self::from_pairs(Vec::<(K, V)>::unpack(r)?))
    }
}

/// An fc `flat_set`: unique elements kept sorted in node order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatSet<T>(Vec<T>);

impl<T> Default for FlatSet<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T: NodeOrder> FlatSet<T> {
    /// Sorts in node order, keeping the first of equal elements.
    pub fn from_items(items: impl IntoIterator<Item = T>) -> Self {
        Self(FlatMap::from_pairs(items.into_iter().map(|t| (t, ()))).0.into_iter().map(|(t, ())| t).collect())
    }
}

impl<T> FlatSet<T> {
    /// The elements in node order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &T> {
        self.0.iter()
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T: Serialize> Serialize for FlatSet<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de, T: NodeOrder + Deserialize<'de>> Deserialize<'de> for FlatSet<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::from_items(Vec::<T>::deserialize(d)?))
    }
}

impl<T: Pack> Pack for FlatSet<T> {
    fn pack(&self, out: &mut Vec<u8>) {
        self.0.pack(out);
    }
}

impl<T: NodeOrder + Unpack> Unpack for FlatSet<T> {
    fn unpack(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self::from_items(Vec::<T>::unpack(r)?))
    }
}

/// `extensions_type`: the reserved future-extensions set. Always empty on today's chain:
/// JSON `[]`, binary `00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Extensions;

impl Serialize for Extensions {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_seq(Some(0)).and_then(serde::ser::SerializeSeq::end)
    }
}

impl<'de> Deserialize<'de> for Extensions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items = Option::<Vec<serde_json::Value>>::deserialize(d)?.unwrap_or_default();
        if items.is_empty() { Ok(Extensions) } else { Err(D::Error::custom("future extensions must be empty")) }
    }
}

impl Pack for Extensions {
    fn pack(&self, out: &mut Vec<u8>) {
        pack_varint(0, out);
    }
}

impl Unpack for Extensions {
    fn unpack(r: &mut Reader<'_>) -> Result<Self> {
        match r.varint()? {
            0 => Ok(Extensions),
            n => Err(Error::InvalidVariantTag { what: "future extensions count (must be 0)", tag: n }),
        }
    }
}

/// An authority: a weight threshold met by keys and accounts (`authority.hpp`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Authority {
    /// Sum of weights needed to satisfy this authority.
    #[serde(with = "json::int")]
    pub weight_threshold: u32,
    /// Accounts whose authority counts, with their weight; sorted by account instance.
    pub account_auths: FlatMap<AccountId, u16>,
    /// Keys with their weight; sorted by address.
    pub key_auths: FlatMap<PublicKey, u16>,
    /// Legacy address authorities (must be empty in new accounts).
    pub address_auths: FlatMap<Address, u16>,
}
crate::graphene_struct!(Authority { weight_threshold, account_auths, key_auths, address_auths });

impl Authority {
    /// The usual single-key authority: threshold 1, one key of weight 1 (what wallets and faucets build).
    pub fn single_key(key: PublicKey) -> Self {
        Self { weight_threshold: 1, key_auths: FlatMap::from_pairs([(key, 1)]), ..Self::default() }
    }

    /// True when the weights of all entries can reach the threshold (node: "thresholds are reachable").
    pub fn is_reachable(&self) -> bool {
        let total: u64 = self.account_auths.iter().map(|(_, w)| u64::from(*w)).sum::<u64>()
            + self.key_auths.iter().map(|(_, w)| u64::from(*w)).sum::<u64>()
            + self.address_auths.iter().map(|(_, w)| u64::from(*w)).sum::<u64>();
        total >= u64::from(self.weight_threshold)
    }

    /// Number of entries of every kind (compared with `maximum_authority_membership`).
    pub fn num_auths(&self) -> usize {
        self.account_auths.len() + self.key_auths.len() + self.address_auths.len()
    }
}

/// Which kind of vote a [`VoteId`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VoteType {
    /// 0: committee member.
    Committee,
    /// 1: witness.
    Witness,
    /// 2: worker.
    Worker,
}

/// `vote_id_type`: type in the low 8 bits, instance in the high 24; JSON `"type:instance"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VoteId {
    /// Which kind of candidate this votes for.
    pub vote_type: VoteType,
    /// The vote instance (unique across types), < 2^24.
    pub instance: u32,
}

impl VoteId {
    /// The packed `content` word.
    pub fn content(self) -> u32 {
        (self.instance << 8) | self.vote_type as u32
    }

    fn from_content(content: u32) -> Result<Self> {
        let vote_type = match content & 0xff {
            0 => VoteType::Committee,
            1 => VoteType::Witness,
            2 => VoteType::Worker,
            _ => return Err(Error::InvalidVoteId(format!("{}:{}", content & 0xff, content >> 8))),
        };
        Ok(Self { vote_type, instance: content >> 8 })
    }
}

impl NodeOrder for VoteId {
    type Key = u32;
    /// `vote_id_type` converts implicitly to its instance, which is what `<` compares.
    fn node_key(&self) -> u32 {
        self.instance
    }
}

impl fmt::Display for VoteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.vote_type as u32, self.instance)
    }
}

impl FromStr for VoteId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::InvalidVoteId(s.to_owned());
        let (t, i) = s.split_once(':').ok_or_else(bad)?;
        let t: u32 = t.parse().map_err(|_| bad())?;
        let i: u32 = i.parse().ok().filter(|i| *i < 1 << 24).ok_or_else(bad)?;
        if t > 2 {
            return Err(bad());
        }
        Self::from_content(i << 8 | t)
    }
}

crate::serde_via_str!(VoteId);

impl Pack for VoteId {
    fn pack(&self, out: &mut Vec<u8>) {
        self.content().pack(out);
    }
}

impl Unpack for VoteId {
    fn unpack(r: &mut Reader<'_>) -> Result<Self> {
        Self::from_content(u32::unpack(r)?)
    }
}

/// `account_options`: memo key, voting proxy and votes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountOptions {
    /// Key memos to this account are encrypted to.
    pub memo_key: PublicKey,
    /// Proxy for votes; `1.2.5` (proxy-to-self) means "vote myself".
    pub voting_account: AccountId,
    /// Number of witnesses this account wants active.
    #[serde(with = "json::int")]
    pub num_witness: u16,
    /// Number of committee members this account wants active.
    #[serde(with = "json::int")]
    pub num_committee: u16,
    /// Votes, sorted by instance.
    pub votes: FlatSet<VoteId>,
    /// Reserved, empty.
    #[serde(default)]
    pub extensions: Extensions,
}
crate::graphene_struct!(AccountOptions { memo_key, voting_account, num_witness, num_committee, votes, extensions });

impl AccountOptions {
    /// Options a wallet or faucet sends for a new account: the memo key, voting via
    /// proxy-to-self, no votes.
    pub fn new_account(memo_key: PublicKey) -> Self {
        Self {
            memo_key,
            voting_account: crate::id::well_known::PROXY_TO_SELF_ACCOUNT,
            num_witness: 0,
            num_committee: 0,
            votes: FlatSet::default(),
            extensions: Extensions,
        }
    }
}

/// `asset`: an amount in the smallest unit of an asset (`1 BTS = 100000` with precision 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Asset {
    /// Amount in the asset's smallest unit (`share_type`, int64; JSON number or string).
    #[serde(with = "json::i64_fc")]
    pub amount: i64,
    /// Which asset.
    pub asset_id: AssetId,
}
crate::graphene_struct!(Asset { amount, asset_id });

impl Asset {
    /// An amount of the core asset (1.3.0).
    pub const fn core(amount: i64) -> Self {
        Self { amount, asset_id: crate::id::well_known::CORE_ASSET }
    }
}

impl NodeOrder for () {
    type Key = ();
    fn node_key(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AddressPrefix;

    fn key(s: &str) -> PublicKey {
        s.parse().unwrap()
    }

    #[test]
    fn key_auths_sort_by_address_like_the_node() {
        let a = key("BTS6pbVDAjRFiw6fkiKYCrkz7PFeL7XNAfefrsREwg8MKpJ9VYV9x");
        let b = key("BTS6zLNtyFVToBsBZDsgMhgjpwysYVbsQD6YhP3kRkQhANUB4w7Qp");
        let c = key("BTS8CemMDjdUWSV5wKotEimhK6c4dY7p2PdzC2qM1HpAP8aLtZfE7");
        let m = FlatMap::from_pairs([(a, 1u16), (b, 1), (c, 1)]);
        let order: Vec<_> = m.iter().map(|(k, _)| *k).collect();
        assert_eq!(order, [c, a, b]);
        assert_eq!(hex::encode(c.address().as_bytes()), "16b3423c5cf27750b9a9b898f3b6f249a16bc251");
    }

    #[test]
    fn duplicate_keys_keep_the_first_like_flat_map_insert() {
        let m = FlatMap::from_pairs([(AccountId::new(7), 1u16), (AccountId::new(3), 2), (AccountId::new(7), 9)]);
        assert_eq!(m.iter().cloned().collect::<Vec<_>>(), [(AccountId::new(3), 2), (AccountId::new(7), 1)]);
    }

    #[test]
    fn vote_ids_parse_pack_and_sort_by_instance() {
        let v: VoteId = "1:5".parse().unwrap();
        assert_eq!(v.content(), 5 << 8 | 1);
        assert_eq!(v.to_bytes(), (5u32 << 8 | 1).to_le_bytes());
        for bad in ["3:1", "1", "x:1", "1:16777216"] {
            assert!(bad.parse::<VoteId>().is_err(), "{bad}");
        }
        let set = FlatSet::from_items(["0:9".parse::<VoteId>().unwrap(), "1:2".parse().unwrap()]);
        assert_eq!(set.iter().map(|v| v.instance).collect::<Vec<_>>(), [2, 9]);
    }

    #[test]
    fn extensions_accept_empty_forms_only() {
        assert_eq!(serde_json::from_str::<Extensions>("[]").unwrap(), Extensions);
        assert_eq!(serde_json::from_str::<Extensions>("null").unwrap(), Extensions);
        assert!(serde_json::from_str::<Extensions>("[[0,{}]]").is_err());
        assert_eq!(Extensions.to_bytes(), [0]);
    }

    #[test]
    fn reachability() {
        let k = PublicKey::null(AddressPrefix::BTS);
        let mut a = Authority::single_key(k);
        assert!(a.is_reachable());
        a.weight_threshold = 2;
        assert!(!a.is_reachable());
    }
}
