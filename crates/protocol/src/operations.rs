//! The operations the infrastructure builds and checks, in their node JSON and binary forms.
//!
//! In JSON an operation is `[tag, {fields}]`; on the wire `varint(tag)` then the fields in
//! `FC_REFLECT` order. All 78 tags of bitshares-core 7.0.2 are handled: the four the faucet and
//! gateway build have hand-written structs, every other tag is a [`GenericOperation`] read and
//! written through its [`schema`](crate::schema) table. A tag above 77 is named in a clear error
//! rather than guessed at: a transaction we cannot serialize exactly is one we must not sign.

use crate::authority::{AccountOptions, Asset, Authority, Extensions, FlatSet};
use crate::dynamic::{self, Value};
use crate::error::{Error, Result};
use crate::id::{AccountId, AssetId, VestingBalanceId};
use crate::json;
use crate::keys::PublicKey;
use crate::pack::{Pack, Reader, Unpack, pack_varint};
use crate::schema::{FeePayer, OPERATIONS, Ty};
use serde::de::{self, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeTuple};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Names of every operation tag on the chain (0..=77, `operations.hpp`), for error messages.
pub const OPERATION_NAMES: [&str; 78] = [
    "transfer",
    "limit_order_create",
    "limit_order_cancel",
    "call_order_update",
    "fill_order",
    "account_create",
    "account_update",
    "account_whitelist",
    "account_upgrade",
    "account_transfer",
    "asset_create",
    "asset_update",
    "asset_update_bitasset",
    "asset_update_feed_producers",
    "asset_issue",
    "asset_reserve",
    "asset_fund_fee_pool",
    "asset_settle",
    "asset_global_settle",
    "asset_publish_feed",
    "witness_create",
    "witness_update",
    "proposal_create",
    "proposal_update",
    "proposal_delete",
    "withdraw_permission_create",
    "withdraw_permission_update",
    "withdraw_permission_claim",
    "withdraw_permission_delete",
    "committee_member_create",
    "committee_member_update",
    "committee_member_update_global_parameters",
    "vesting_balance_create",
    "vesting_balance_withdraw",
    "worker_create",
    "custom",
    "assert",
    "balance_claim",
    "override_transfer",
    "transfer_to_blind",
    "blind_transfer",
    "transfer_from_blind",
    "asset_settle_cancel",
    "asset_claim_fees",
    "fba_distribute",
    "bid_collateral",
    "execute_bid",
    "asset_claim_pool",
    "asset_update_issuer",
    "htlc_create",
    "htlc_redeem",
    "htlc_redeemed",
    "htlc_extend",
    "htlc_refund",
    "custom_authority_create",
    "custom_authority_update",
    "custom_authority_delete",
    "ticket_create",
    "ticket_update",
    "liquidity_pool_create",
    "liquidity_pool_delete",
    "liquidity_pool_deposit",
    "liquidity_pool_withdraw",
    "liquidity_pool_exchange",
    "samet_fund_create",
    "samet_fund_delete",
    "samet_fund_update",
    "samet_fund_borrow",
    "samet_fund_repay",
    "credit_offer_create",
    "credit_offer_delete",
    "credit_offer_update",
    "credit_offer_accept",
    "credit_deal_repay",
    "credit_deal_expired",
    "liquidity_pool_update",
    "credit_deal_update",
    "limit_order_update",
];

/// The chain's name for an operation tag, or "unknown".
pub fn operation_name(tag: u64) -> &'static str {
    usize::try_from(tag).ok().and_then(|i| OPERATION_NAMES.get(i)).copied().unwrap_or("unknown")
}

/// `memo_data`: an encrypted message attached to a transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memo {
    /// Sender's memo key.
    pub from: PublicKey,
    /// Recipient's memo key.
    pub to: PublicKey,
    /// Encryption nonce (uint64; JSON string above 0xffffffff).
    #[serde(with = "json::u64_fc")]
    pub nonce: u64,
    /// Ciphertext, hex in JSON.
    #[serde(with = "json::hex_bytes")]
    pub message: Vec<u8>,
}
crate::graphene_struct!(Memo { from, to, nonce, message });

/// Operation 0: move an amount from one account to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferOperation {
    /// Fee, paid by `from`.
    pub fee: Asset,
    /// Sender; pays the fee and signs with its active authority.
    pub from: AccountId,
    /// Recipient.
    pub to: AccountId,
    /// Amount moved.
    pub amount: Asset,
    /// Optional encrypted memo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<Memo>,
    /// Reserved, empty.
    #[serde(default)]
    pub extensions: Extensions,
}
crate::graphene_struct!(TransferOperation { fee, from, to, amount, memo, extensions });

/// `special_authority`: `no_special_authority` (0) or `top_holders_special_authority` (1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecialAuthority {
    /// No special authority.
    None,
    /// Authority held by the top holders of an asset.
    TopHolders {
        /// The asset whose holders control the account.
        asset: AssetId,
        /// How many top holders.
        num_top_holders: u8,
    },
}

#[derive(Serialize, Deserialize)]
struct TopHoldersJson {
    asset: AssetId,
    #[serde(with = "json::int")]
    num_top_holders: u8,
}

#[derive(Serialize, Deserialize)]
struct Empty {}

impl Serialize for SpecialAuthority {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(2)?;
        match self {
            SpecialAuthority::None => {
                t.serialize_element(&0)?;
                t.serialize_element(&Empty {})?;
            }
            SpecialAuthority::TopHolders { asset, num_top_holders } => {
                t.serialize_element(&1)?;
                t.serialize_element(&TopHoldersJson { asset: *asset, num_top_holders: *num_top_holders })?;
            }
        }
        t.end()
    }
}

impl<'de> Deserialize<'de> for SpecialAuthority {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SpecialAuthority;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[tag, {fields}] special authority")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SpecialAuthority, A::Error> {
                let tag: Tag = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let value = match tag.0 {
                    0 => {
                        seq.next_element::<serde::de::IgnoredAny>()?;
                        SpecialAuthority::None
                    }
                    1 => {
                        let t: TopHoldersJson =
                            seq.next_element()?.ok_or_else(|| de::Error::invalid_length(1, &self))?;
                        SpecialAuthority::TopHolders { asset: t.asset, num_top_holders: t.num_top_holders }
                    }
                    n => return Err(de::Error::custom(format_args!("invalid special_authority tag {n}"))),
                };
                Ok(value)
            }
        }
        d.deserialize_seq(V)
    }
}

impl Pack for SpecialAuthority {
    fn pack(&self, out: &mut Vec<u8>) {
        match self {
            SpecialAuthority::None => pack_varint(0, out),
            SpecialAuthority::TopHolders { asset, num_top_holders } => {
                pack_varint(1, out);
                asset.pack(out);
                num_top_holders.pack(out);
            }
        }
    }
}

impl Unpack for SpecialAuthority {
    fn unpack(r: &mut Reader<'_>) -> Result<Self> {
        match r.varint()? {
            0 => Ok(SpecialAuthority::None),
            1 => Ok(SpecialAuthority::TopHolders { asset: AssetId::unpack(r)?, num_top_holders: u8::unpack(r)? }),
            tag => Err(Error::InvalidVariantTag { what: "special_authority", tag }),
        }
    }
}

/// `buyback_account_options`: makes the new account a buyback account for an asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuybackOptions {
    /// Asset the account buys back.
    pub asset_to_buy: AssetId,
    /// Issuer of that asset.
    pub asset_to_buy_issuer: AccountId,
    /// Assets it may sell for it.
    pub markets: FlatSet<AssetId>,
}
crate::graphene_struct!(BuybackOptions { asset_to_buy, asset_to_buy_issuer, markets });

/// `account_create_operation::ext`, serialized as fc `extension<ext>`: only set members are
/// written, each as `varint(member index) + value`. A faucet sets none (JSON `{}`, binary `00`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountCreateExtensions {
    /// Member 0: `null_ext` (an empty marker).
    pub null_ext: bool,
    /// Member 1.
    pub owner_special_authority: Option<SpecialAuthority>,
    /// Member 2.
    pub active_special_authority: Option<SpecialAuthority>,
    /// Member 3.
    pub buyback_options: Option<BuybackOptions>,
}

impl AccountCreateExtensions {
    fn count(&self) -> u64 {
        u64::from(self.null_ext)
            + u64::from(self.owner_special_authority.is_some())
            + u64::from(self.active_special_authority.is_some())
            + u64::from(self.buyback_options.is_some())
    }
}

impl Serialize for AccountCreateExtensions {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.count() as usize))?;
        if self.null_ext {
            m.serialize_entry("null_ext", &Empty {})?;
        }
        if let Some(a) = &self.owner_special_authority {
            m.serialize_entry("owner_special_authority", a)?;
        }
        if let Some(a) = &self.active_special_authority {
            m.serialize_entry("active_special_authority", a)?;
        }
        if let Some(b) = &self.buyback_options {
            m.serialize_entry("buyback_options", b)?;
        }
        m.end()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountCreateExtensionsJson {
    null_ext: Option<Empty>,
    owner_special_authority: Option<SpecialAuthority>,
    active_special_authority: Option<SpecialAuthority>,
    buyback_options: Option<BuybackOptions>,
}

impl<'de> Deserialize<'de> for AccountCreateExtensions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // The node also accepts `null` and `[]` for "no extensions".
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Object(AccountCreateExtensionsJson),
            Array([(); 0]),
            Null(()),
        }
        Ok(match Form::deserialize(d).map_err(|_| {
            de::Error::custom("account_create extensions must be {} (or null/[]) with members null_ext, owner_special_authority, active_special_authority, buyback_options")
        })? {
            Form::Object(o) => Self {
                null_ext: o.null_ext.is_some(),
                owner_special_authority: o.owner_special_authority,
                active_special_authority: o.active_special_authority,
                buyback_options: o.buyback_options,
            },
            Form::Array(_) | Form::Null(()) => Self::default(),
        })
    }
}

impl Pack for AccountCreateExtensions {
    fn pack(&self, out: &mut Vec<u8>) {
        pack_varint(self.count(), out);
        if self.null_ext {
            pack_varint(0, out);
        }
        if let Some(a) = &self.owner_special_authority {
            pack_varint(1, out);
            a.pack(out);
        }
        if let Some(a) = &self.active_special_authority {
            pack_varint(2, out);
            a.pack(out);
        }
        if let Some(b) = &self.buyback_options {
            pack_varint(3, out);
            b.pack(out);
        }
    }
}

impl Unpack for AccountCreateExtensions {
    fn unpack(r: &mut Reader<'_>) -> Result<Self> {
        let count = r.varint()?;
        let mut ext = Self::default();
        let mut last: Option<u64> = None;
        for _ in 0..count {
            let index = r.varint()?;
            // fc reads members in index order; a repeated or out-of-order index is malformed.
            if last.is_some_and(|l| index <= l) {
                return Err(Error::InvalidVariantTag {
                    what: "account_create extension member (out of order)",
                    tag: index,
                });
            }
            last = Some(index);
            match index {
                0 => ext.null_ext = true,
                1 => ext.owner_special_authority = Some(SpecialAuthority::unpack(r)?),
                2 => ext.active_special_authority = Some(SpecialAuthority::unpack(r)?),
                3 => ext.buyback_options = Some(BuybackOptions::unpack(r)?),
                tag => return Err(Error::InvalidVariantTag { what: "account_create extension member", tag }),
            }
        }
        Ok(ext)
    }
}

/// Operation 5: register a new account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountCreateOperation {
    /// Fee, paid by the registrar.
    pub fee: Asset,
    /// Pays the fee; must be a lifetime member. Its active authority signs.
    pub registrar: AccountId,
    /// Receives `referrer_percent` of the new account's future fee rewards.
    pub referrer: AccountId,
    /// Basis points of 10000 (5000 = 50 %).
    #[serde(with = "json::int")]
    pub referrer_percent: u16,
    /// The new account's name.
    pub name: String,
    /// Owner authority.
    pub owner: Authority,
    /// Active authority.
    pub active: Authority,
    /// Memo key and voting options.
    pub options: AccountOptions,
    /// Extension members (a faucet sets none).
    #[serde(default)]
    pub extensions: AccountCreateExtensions,
}
crate::graphene_struct!(AccountCreateOperation {
    fee,
    registrar,
    referrer,
    referrer_percent,
    name,
    owner,
    active,
    options,
    extensions
});

/// Operation 8: upgrade an account to lifetime membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountUpgradeOperation {
    /// Fee, paid by the account.
    pub fee: Asset,
    /// The account to upgrade; signs with its active authority.
    pub account_to_upgrade: AccountId,
    /// Must be true (annual membership is deprecated).
    pub upgrade_to_lifetime_member: bool,
    /// Reserved, empty.
    #[serde(default)]
    pub extensions: Extensions,
}
crate::graphene_struct!(AccountUpgradeOperation { fee, account_to_upgrade, upgrade_to_lifetime_member, extensions });

/// Operation 33: withdraw from a vesting balance (how the faucet claims its cashback).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VestingBalanceWithdrawOperation {
    /// Fee, paid by the owner.
    pub fee: Asset,
    /// The vesting balance `1.13.N`.
    pub vesting_balance: VestingBalanceId,
    /// Must be the balance's owner; signs with its active authority.
    pub owner: AccountId,
    /// Amount to withdraw, > 0.
    pub amount: Asset,
}
crate::graphene_struct!(VestingBalanceWithdrawOperation { fee, vesting_balance, owner, amount });

/// One operation of a transaction.
// account_create is much larger than the others; transactions hold a handful of operations, so
// keeping them inline beats an allocation per operation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// Tag 0.
    Transfer(TransferOperation),
    /// Tag 5.
    AccountCreate(AccountCreateOperation),
    /// Tag 8.
    AccountUpgrade(AccountUpgradeOperation),
    /// Tag 33.
    VestingBalanceWithdraw(VestingBalanceWithdrawOperation),
    /// Any other tag of 0..=77, typed through its schema.
    Generic(GenericOperation),
}

/// An operation without a hand-written struct: its tag and its schema-typed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenericOperation {
    tag: u8,
    body: Value,
}

impl GenericOperation {
    /// Reads the body of operation `tag` from its JSON object.
    pub fn from_json(tag: u64, body: &serde_json::Value) -> Result<Self> {
        Self::from_json_at(tag, body, "", 0)
    }

    fn from_json_at(tag: u64, body: &serde_json::Value, path: &str, depth: u32) -> Result<Self> {
        let schema = schema_of(tag)?;
        let path =
            if path.is_empty() { operation_name(tag).to_owned() } else { format!("{path}.{}", operation_name(tag)) };
        Ok(Self { tag: tag as u8, body: dynamic::struct_from_json(&schema.body, body, &path, depth)? })
    }

    /// The operation tag.
    pub fn tag(&self) -> u64 {
        u64::from(self.tag)
    }

    /// The body in the node's JSON form.
    pub fn body_json(&self) -> serde_json::Value {
        dynamic::to_json(&self.ty(), &self.body)
    }

    /// One member in the node's JSON form (`None` when absent or unknown).
    pub fn member_json(&self, name: &str) -> Option<serde_json::Value> {
        let schema = &self.schema().body;
        let ty = schema.fields.iter().find(|(n, _)| *n == name).map(|(_, t)| t)?;
        match self.body.member(schema, name)? {
            Value::Opt(None) => None,
            v => Some(dynamic::to_json(ty, v)),
        }
    }

    /// The typed body (members in reflect order).
    pub fn body(&self) -> &Value {
        &self.body
    }

    fn schema(&self) -> &'static crate::schema::OperationSchema {
        &OPERATIONS[usize::from(self.tag)]
    }

    fn ty(&self) -> Ty {
        Ty::Struct(&self.schema().body)
    }

    fn fee(&self) -> Asset {
        let fee = self.body.member(&self.schema().body, "fee");
        let (amount, asset) = match fee {
            Some(Value::Struct(xs)) => (xs.first(), xs.get(1)),
            _ => (None, None),
        };
        match (amount, asset) {
            (Some(Value::Int(amount)), Some(Value::Id(id))) => {
                Asset { amount: *amount, asset_id: AssetId::new(id.instance) }
            }
            _ => Asset::core(0),
        }
    }

    fn set_fee(&mut self, fee: Asset) {
        // `fee` is member 0 of every operation (checked by the schema's tests).
        if let Value::Struct(xs) = &mut self.body
            && let Some(slot) = xs.first_mut()
        {
            *slot = Value::Struct(vec![Value::Int(fee.amount), Value::Id(fee.asset_id.object_id())]);
        }
    }

    fn fee_payer(&self) -> AccountId {
        match self.schema().fee_payer {
            FeePayer::Account(n) => AccountId::new(n),
            FeePayer::Field(name) => match self.body.member(&self.schema().body, name) {
                Some(Value::Id(id)) => AccountId::new(id.instance),
                _ => AccountId::new(0),
            },
        }
    }

    /// Whether the chain produces this operation itself (it never appears in a transaction).
    pub fn is_virtual(&self) -> bool {
        self.schema().is_virtual
    }
}

fn schema_of(tag: u64) -> Result<&'static crate::schema::OperationSchema> {
    usize::try_from(tag)
        .ok()
        .and_then(|t| OPERATIONS.get(t))
        .ok_or(Error::UnsupportedOperation { tag, name: operation_name(tag) })
}

impl Operation {
    /// The operation's tag in the `operation` static_variant.
    pub fn tag(&self) -> u64 {
        match self {
            Operation::Transfer(_) => 0,
            Operation::AccountCreate(_) => 5,
            Operation::AccountUpgrade(_) => 8,
            Operation::VestingBalanceWithdraw(_) => 33,
            Operation::Generic(op) => op.tag(),
        }
    }

    /// The chain's name for this operation.
    pub fn name(&self) -> &'static str {
        operation_name(self.tag())
    }

    /// The fee this operation pays.
    pub fn fee(&self) -> Asset {
        match self {
            Operation::Transfer(op) => op.fee,
            Operation::AccountCreate(op) => op.fee,
            Operation::AccountUpgrade(op) => op.fee,
            Operation::VestingBalanceWithdraw(op) => op.fee,
            Operation::Generic(op) => op.fee(),
        }
    }

    /// Sets the fee (after asking the node with `get_required_fees` for the operation at fee 0).
    pub fn set_fee(&mut self, fee: Asset) {
        match self {
            Operation::Transfer(op) => op.fee = fee,
            Operation::AccountCreate(op) => op.fee = fee,
            Operation::AccountUpgrade(op) => op.fee = fee,
            Operation::VestingBalanceWithdraw(op) => op.fee = fee,
            Operation::Generic(op) => op.set_fee(fee),
        }
    }

    /// The account that pays the fee (`fee_payer()`); for the four typed operations also the
    /// only account whose active authority must sign.
    pub fn fee_payer(&self) -> AccountId {
        match self {
            Operation::Transfer(op) => op.from,
            Operation::AccountCreate(op) => op.registrar,
            Operation::AccountUpgrade(op) => op.account_to_upgrade,
            Operation::VestingBalanceWithdraw(op) => op.owner,
            Operation::Generic(op) => op.fee_payer(),
        }
    }

    /// Size of the operation body without its tag (`fc::raw::pack_size(op)`), which the fee
    /// schedule's `price_per_kbyte` charges for.
    pub fn pack_size(&self) -> usize {
        let mut out = Vec::new();
        self.pack_body(&mut out);
        out.len()
    }

    fn pack_body(&self, out: &mut Vec<u8>) {
        match self {
            Operation::Transfer(op) => op.pack(out),
            Operation::AccountCreate(op) => op.pack(out),
            Operation::AccountUpgrade(op) => op.pack(out),
            Operation::VestingBalanceWithdraw(op) => op.pack(out),
            Operation::Generic(op) => dynamic::pack(&op.ty(), &op.body, out),
        }
    }

    /// Every public key the operation carries (to check them against the chain's prefix).
    pub fn public_keys(&self) -> Vec<PublicKey> {
        match self {
            Operation::Transfer(op) => op.memo.iter().flat_map(|m| [m.from, m.to]).collect(),
            Operation::AccountCreate(op) => op
                .owner
                .key_auths
                .iter()
                .chain(op.active.key_auths.iter())
                .map(|(k, _)| *k)
                .chain([op.options.memo_key])
                .collect(),
            Operation::AccountUpgrade(_) | Operation::VestingBalanceWithdraw(_) => Vec::new(),
            Operation::Generic(op) => {
                let mut out = Vec::new();
                op.body.public_keys(&mut out);
                out
            }
        }
    }

    /// Reads an operation `[tag, {fields}]` from JSON.
    pub fn from_json(v: &serde_json::Value) -> Result<Self> {
        Self::from_json_at(v, "", 0)
    }

    pub(crate) fn from_json_at(v: &serde_json::Value, path: &str, depth: u32) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidField { path: path.to_owned(), reason };
        let Some([tag, body]) = v.as_array().map(Vec::as_slice) else {
            return Err(invalid("expected an operation [tag, {fields}]".into()));
        };
        let Some(tag) = tag.as_u64().or_else(|| tag.as_str().and_then(|s| s.trim().parse().ok())) else {
            return Err(invalid(format!("invalid operation tag {tag}")));
        };
        match tag {
            0 | 5 | 8 | 33 => serde_json::from_value(v.clone()).map_err(|e| invalid(e.to_string())),
            _ => Ok(Operation::Generic(GenericOperation::from_json_at(tag, body, path, depth)?)),
        }
    }

    pub(crate) fn unpack_at(r: &mut Reader<'_>, depth: u32) -> Result<Self> {
        Ok(match r.varint()? {
            0 => Operation::Transfer(Unpack::unpack(r)?),
            5 => Operation::AccountCreate(Unpack::unpack(r)?),
            8 => Operation::AccountUpgrade(Unpack::unpack(r)?),
            33 => Operation::VestingBalanceWithdraw(Unpack::unpack(r)?),
            tag => {
                let schema = schema_of(tag)?;
                Operation::Generic(GenericOperation {
                    tag: tag as u8,
                    body: dynamic::unpack(&Ty::Struct(&schema.body), r, depth)?,
                })
            }
        })
    }

    /// Whether the chain produces this operation itself (fill_order, htlc_redeemed, …).
    pub fn is_virtual(&self) -> bool {
        matches!(self, Operation::Generic(op) if op.is_virtual())
    }
}

impl Pack for Operation {
    fn pack(&self, out: &mut Vec<u8>) {
        pack_varint(self.tag(), out);
        self.pack_body(out);
    }
}

impl Unpack for Operation {
    fn unpack(r: &mut Reader<'_>) -> Result<Self> {
        Self::unpack_at(r, 0)
    }
}

impl Serialize for Operation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&self.tag())?;
        match self {
            Operation::Transfer(op) => t.serialize_element(op)?,
            Operation::AccountCreate(op) => t.serialize_element(op)?,
            Operation::AccountUpgrade(op) => t.serialize_element(op)?,
            Operation::VestingBalanceWithdraw(op) => t.serialize_element(op)?,
            Operation::Generic(op) => t.serialize_element(&op.body_json())?,
        }
        t.end()
    }
}

/// A static_variant tag: a JSON number or numeric string, as fc's `as_int64` reads it.
struct Tag(u64);

impl<'de> Deserialize<'de> for Tag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        json::int_from_number_or_string(d).map(Tag)
    }
}

impl<'de> Deserialize<'de> for Operation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Operation;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an operation [tag, {fields}]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Operation, A::Error> {
                let Tag(tag) = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let missing = || de::Error::invalid_length(1, &"an operation [tag, {fields}]");
                let op = match tag {
                    0 => Operation::Transfer(seq.next_element()?.ok_or_else(missing)?),
                    5 => Operation::AccountCreate(seq.next_element()?.ok_or_else(missing)?),
                    8 => Operation::AccountUpgrade(seq.next_element()?.ok_or_else(missing)?),
                    33 => Operation::VestingBalanceWithdraw(seq.next_element()?.ok_or_else(missing)?),
                    tag => {
                        schema_of(tag).map_err(de::Error::custom)?;
                        let body: serde_json::Value = seq.next_element()?.ok_or_else(missing)?;
                        Operation::Generic(GenericOperation::from_json(tag, &body).map_err(de::Error::custom)?)
                    }
                };
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(3, &self));
                }
                Ok(op)
            }
        }
        d.deserialize_seq(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_operation_tags_give_a_clear_error() {
        let err = serde_json::from_str::<Operation>(r#"[1,{"fee":{"amount":0,"asset_id":"1.3.0"}}]"#).unwrap_err();
        assert!(err.to_string().contains("limit_order_create.seller: missing member"), "{err}");
        let err = serde_json::from_str::<Operation>(r#"[999,{}]"#).unwrap_err();
        assert!(err.to_string().contains("unsupported operation 999 (unknown)"), "{err}");
        let err = Operation::from_bytes(&[78], crate::AddressPrefix::BTS).unwrap_err();
        assert_eq!(err, Error::UnsupportedOperation { tag: 78, name: "unknown" });
        let err = Operation::from_bytes(&[77], crate::AddressPrefix::BTS).unwrap_err();
        assert!(matches!(err, Error::UnexpectedEnd { .. }), "{err}");
    }

    #[test]
    fn vesting_balance_withdraw_body_is_20_bytes() {
        let op = Operation::VestingBalanceWithdraw(VestingBalanceWithdrawOperation {
            fee: Asset::core(0),
            vesting_balance: VestingBalanceId::new(0),
            owner: AccountId::new(0),
            amount: Asset::core(0),
        });
        assert_eq!(op.pack_size(), 20);
    }

    #[test]
    fn transfer_memo_is_optional_on_the_wire_and_in_json() {
        let json = r#"[0,{"fee":{"amount":"2000000","asset_id":"1.3.0"},"from":"1.2.17","to":"1.2.18","amount":{"amount":100000,"asset_id":"1.3.0"},"extensions":[]}]"#;
        let op: Operation = serde_json::from_str(json).unwrap();
        let bytes = op.to_bytes();
        assert_eq!(hex::encode(&bytes), "0080841e0000000000001112a086010000000000000000");
    }

    #[test]
    fn account_create_extensions_forms() {
        for empty in ["{}", "null", "[]"] {
            let e: AccountCreateExtensions = serde_json::from_str(empty).unwrap();
            assert_eq!(e.to_bytes(), [0]);
        }
        let e: AccountCreateExtensions = serde_json::from_str(
            r#"{"null_ext":{},"owner_special_authority":[1,{"asset":"1.3.0","num_top_holders":3}]}"#,
        )
        .unwrap();
        assert_eq!(e.to_bytes(), [2, 0, 1, 1, 0, 3]);
        assert_eq!(AccountCreateExtensions::from_bytes(&e.to_bytes(), crate::AddressPrefix::BTS).unwrap(), e);
        assert!(serde_json::from_str::<AccountCreateExtensions>(r#"{"bogus":1}"#).is_err());
    }
}
