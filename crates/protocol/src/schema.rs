//! The shape of every operation of bitshares-core 7.0.2, as data.
//!
//! Each [`Struct`] lists its members in `FC_REFLECT` order with their types; [`OPERATIONS`] holds
//! all 78 operation tags (virtual ones included) and [`FEE_PARAMETERS`] their `fee_params_t`. The
//! codec in [`crate::dynamic`] walks these tables to read and write JSON and the binary form, so a
//! field's type and position are stated exactly once, next to the header it comes from
//! (`libraries/protocol/include/graphene/protocol/*.hpp`).
//!
//! Rules the tables keep: member order is the reflect order (not the declaration order, which
//! differs for e.g. `fill_order`, `proposal_update`, `chain_parameters`); `extension<T>` members
//! are all optional; `extensions_type` is `flat_set<static_variant<void_t>>`.

/// The type of one member, as fc serializes it.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// `bool`: one byte 0/1.
    Bool,
    /// `uint8_t`.
    U8,
    /// `uint16_t`.
    U16,
    /// `uint32_t`.
    U32,
    /// `uint64_t`: JSON string above 0xffffffff.
    U64,
    /// `int64_t` / `share_type`: JSON string outside the int32 range.
    I64,
    /// `unsigned_int`: a varint (at most 32 bits), JSON number.
    VarU32,
    /// `string`: varint length + UTF-8.
    Str,
    /// `vector<char>`: varint length + bytes, JSON hex.
    Bytes,
    /// A fixed-size hash or array (`sha256`, `ripemd160`, `commitment_type`…), JSON hex.
    Fixed(usize),
    /// `public_key_type`: 33 bytes, JSON `PREFIX…`.
    PublicKey,
    /// `address`: 20 bytes, JSON `PREFIX…`.
    Address,
    /// `time_point_sec`: uint32 seconds, JSON `YYYY-MM-DDTHH:MM:SS`.
    Time,
    /// `object_id<space, type>`: varint instance, JSON `"space.type.N"`.
    Id(u8, u8),
    /// `object_id_type`: 8 bytes `space<<56 | type<<48 | instance`, JSON `"a.b.c"`.
    AnyId,
    /// `vote_id_type`: uint32, JSON `"type:instance"`.
    VoteId,
    /// `void_t` (or an empty struct): nothing on the wire, JSON `{}`.
    Void,
    /// `optional<T>`: flag byte; omitted from JSON objects when absent.
    Opt(&'static Ty),
    /// `vector<T>`.
    Vec(&'static Ty),
    /// `flat_set<T>`: sorted and de-duplicated in node order.
    Set(&'static Ty),
    /// `flat_map<K, V>`: `[k, v]` pairs sorted by key, keys unique.
    Map(&'static Ty, &'static Ty),
    /// `pair<A, B>`: JSON `[a, b]`.
    Pair(&'static Ty, &'static Ty),
    /// A reflected struct: members in order, JSON object.
    Struct(&'static Struct),
    /// `extension<T>`: varint count of present members, each `varint(index) + value`; JSON an
    /// object of the present members.
    Ext(&'static Struct),
    /// `static_variant<…>`: varint tag + value, JSON `[tag, value]`.
    Variant(&'static Variant),
    /// `operation` (inside `op_wrapper`): an operation in its own tagged form.
    Op,
}

/// A reflected struct.
#[derive(Debug)]
pub struct Struct {
    /// The C++ name, for error messages.
    pub name: &'static str,
    /// Members in `FC_REFLECT` order.
    pub fields: &'static [(&'static str, Ty)],
}

/// A `static_variant`.
#[derive(Debug)]
pub struct Variant {
    /// The C++ name, for error messages.
    pub name: &'static str,
    /// Alternatives in tag order.
    pub alternatives: &'static [Ty],
}

/// One operation tag.
#[derive(Debug)]
pub struct OperationSchema {
    /// The operation's fields.
    pub body: Struct,
    /// The member whose account pays the fee (`fee_payer()`), or a fixed account instance for the
    /// three operations whose payer is a constant.
    pub fee_payer: FeePayer,
    /// Virtual operations are produced by the chain and never appear in a transaction.
    pub is_virtual: bool,
}

/// Where `fee_payer()` comes from.
#[derive(Debug, Clone, Copy)]
pub enum FeePayer {
    /// An `account_id_type` member of the operation.
    Field(&'static str),
    /// A fixed account `1.2.N` (`GRAPHENE_TEMP_ACCOUNT` = 4, `account_id_type()` = 0).
    Account(u64),
}

const ACCOUNT: Ty = Ty::Id(1, 2);
const ASSET_ID: Ty = Ty::Id(1, 3);
const FUTURE: Ty = Ty::Set(&Ty::Variant(&FUTURE_EXTENSIONS));
const U16: Ty = Ty::U16;

static FUTURE_EXTENSIONS: Variant = Variant { name: "future_extensions", alternatives: &[Ty::Void] };

/// `asset`.
pub static ASSET: Struct = Struct { name: "asset", fields: &[("amount", Ty::I64), ("asset_id", ASSET_ID)] };
const A: Ty = Ty::Struct(&ASSET);
static PRICE: Struct = Struct { name: "price", fields: &[("base", A), ("quote", A)] };
static PRICE_FEED: Struct = Struct {
    name: "price_feed",
    fields: &[
        ("settlement_price", Ty::Struct(&PRICE)),
        ("maintenance_collateral_ratio", U16),
        ("maximum_short_squeeze_ratio", U16),
        ("core_exchange_rate", Ty::Struct(&PRICE)),
    ],
};
static MEMO: Struct = Struct {
    name: "memo_data",
    fields: &[("from", Ty::PublicKey), ("to", Ty::PublicKey), ("nonce", Ty::U64), ("message", Ty::Bytes)],
};
const OPT_MEMO: Ty = Ty::Opt(&Ty::Struct(&MEMO));
static AUTHORITY: Struct = Struct {
    name: "authority",
    fields: &[
        ("weight_threshold", Ty::U32),
        ("account_auths", Ty::Map(&ACCOUNT, &U16)),
        ("key_auths", Ty::Map(&Ty::PublicKey, &U16)),
        ("address_auths", Ty::Map(&Ty::Address, &U16)),
    ],
};
const AUTH: Ty = Ty::Struct(&AUTHORITY);
static ACCOUNT_OPTIONS: Struct = Struct {
    name: "account_options",
    fields: &[
        ("memo_key", Ty::PublicKey),
        ("voting_account", ACCOUNT),
        ("num_witness", U16),
        ("num_committee", U16),
        ("votes", Ty::Set(&Ty::VoteId)),
        ("extensions", FUTURE),
    ],
};
static EMPTY: Struct = Struct { name: "empty", fields: &[] };
static TOP_HOLDERS: Struct =
    Struct { name: "top_holders_special_authority", fields: &[("asset", ASSET_ID), ("num_top_holders", Ty::U8)] };
static SPECIAL_AUTHORITY: Variant =
    Variant { name: "special_authority", alternatives: &[Ty::Struct(&EMPTY), Ty::Struct(&TOP_HOLDERS)] };
static BUYBACK: Struct = Struct {
    name: "buyback_account_options",
    fields: &[("asset_to_buy", ASSET_ID), ("asset_to_buy_issuer", ACCOUNT), ("markets", Ty::Set(&ASSET_ID))],
};
static ACCOUNT_CREATE_EXT: Struct = Struct {
    name: "account_create_operation::ext",
    fields: &[
        ("null_ext", Ty::Void),
        ("owner_special_authority", Ty::Variant(&SPECIAL_AUTHORITY)),
        ("active_special_authority", Ty::Variant(&SPECIAL_AUTHORITY)),
        ("buyback_options", Ty::Struct(&BUYBACK)),
    ],
};
static ACCOUNT_UPDATE_EXT: Struct = Struct {
    name: "account_update_operation::ext",
    fields: &[
        ("null_ext", Ty::Void),
        ("owner_special_authority", Ty::Variant(&SPECIAL_AUTHORITY)),
        ("active_special_authority", Ty::Variant(&SPECIAL_AUTHORITY)),
    ],
};
static ADDITIONAL_ASSET_OPTIONS: Struct = Struct {
    name: "additional_asset_options",
    fields: &[("reward_percent", U16), ("whitelist_market_fee_sharing", Ty::Set(&ACCOUNT)), ("taker_fee_percent", U16)],
};
static ASSET_OPTIONS: Struct = Struct {
    name: "asset_options",
    fields: &[
        ("max_supply", Ty::I64),
        ("market_fee_percent", U16),
        ("max_market_fee", Ty::I64),
        ("issuer_permissions", U16),
        ("flags", U16),
        ("core_exchange_rate", Ty::Struct(&PRICE)),
        ("whitelist_authorities", Ty::Set(&ACCOUNT)),
        ("blacklist_authorities", Ty::Set(&ACCOUNT)),
        ("whitelist_markets", Ty::Set(&ASSET_ID)),
        ("blacklist_markets", Ty::Set(&ASSET_ID)),
        ("description", Ty::Str),
        ("extensions", Ty::Ext(&ADDITIONAL_ASSET_OPTIONS)),
    ],
};
static BITASSET_EXT: Struct = Struct {
    name: "bitasset_options::ext",
    fields: &[
        ("initial_collateral_ratio", U16),
        ("maintenance_collateral_ratio", U16),
        ("maximum_short_squeeze_ratio", U16),
        ("margin_call_fee_ratio", U16),
        ("force_settle_fee_percent", U16),
        ("black_swan_response_method", Ty::U8),
    ],
};
static BITASSET_OPTIONS: Struct = Struct {
    name: "bitasset_options",
    fields: &[
        ("feed_lifetime_sec", Ty::U32),
        ("minimum_feeds", Ty::U8),
        ("force_settlement_delay_sec", Ty::U32),
        ("force_settlement_offset_percent", U16),
        ("maximum_force_settlement_volume", U16),
        ("short_backing_asset", ASSET_ID),
        ("extensions", Ty::Ext(&BITASSET_EXT)),
    ],
};
static ASSET_UPDATE_EXT: Struct = Struct {
    name: "asset_update_operation::ext",
    fields: &[("new_precision", Ty::U8), ("skip_core_exchange_rate", Ty::Bool)],
};
static PUBLISH_FEED_EXT: Struct =
    Struct { name: "asset_publish_feed_operation::ext", fields: &[("initial_collateral_ratio", U16)] };
static CLAIM_FEES_EXT: Struct = Struct {
    name: "asset_claim_fees_operation::additional_options_type",
    fields: &[("claim_from_asset_id", ASSET_ID)],
};
static TAKE_PROFIT: Struct = Struct {
    name: "create_take_profit_order_action",
    fields: &[
        ("fee_asset_id", ASSET_ID),
        ("spread_percent", U16),
        ("size_percent", U16),
        ("expiration_seconds", Ty::U32),
        ("repeat", Ty::Bool),
        ("extensions", FUTURE),
    ],
};
static AUTO_ACTION: Variant = Variant { name: "limit_order_auto_action", alternatives: &[Ty::Struct(&TAKE_PROFIT)] };
const AUTO_ACTIONS: Ty = Ty::Vec(&Ty::Variant(&AUTO_ACTION));
static LIMIT_ORDER_OPTIONS: Struct =
    Struct { name: "limit_order_create_operation::options_type", fields: &[("on_fill", AUTO_ACTIONS)] };
static CALL_ORDER_OPTIONS: Struct =
    Struct { name: "call_order_update_operation::options_type", fields: &[("target_collateral_ratio", U16)] };
static HTLC_EXT: Struct =
    Struct { name: "htlc_create_operation::additional_options_type", fields: &[("memo", Ty::Struct(&MEMO))] };
static CREDIT_ACCEPT_EXT: Struct =
    Struct { name: "credit_offer_accept_operation::ext", fields: &[("auto_repay", Ty::U8)] };
static HTLC_HASH: Variant =
    Variant { name: "htlc_hash", alternatives: &[Ty::Fixed(20), Ty::Fixed(20), Ty::Fixed(32), Ty::Fixed(20)] };
static LINEAR_VESTING: Struct = Struct {
    name: "linear_vesting_policy_initializer",
    fields: &[("begin_timestamp", Ty::Time), ("vesting_cliff_seconds", Ty::U32), ("vesting_duration_seconds", Ty::U32)],
};
static CDD_VESTING: Struct = Struct {
    name: "cdd_vesting_policy_initializer",
    fields: &[("start_claim", Ty::Time), ("vesting_seconds", Ty::U32)],
};
static VESTING_POLICY: Variant = Variant {
    name: "vesting_policy_initializer",
    alternatives: &[Ty::Struct(&LINEAR_VESTING), Ty::Struct(&CDD_VESTING), Ty::Struct(&EMPTY)],
};
static VESTING_WORKER: Struct =
    Struct { name: "vesting_balance_worker_initializer", fields: &[("pay_vesting_period_days", U16)] };
static WORKER_INITIALIZER: Variant = Variant {
    name: "worker_initializer",
    alternatives: &[Ty::Struct(&EMPTY), Ty::Struct(&VESTING_WORKER), Ty::Struct(&EMPTY)],
};
static ACCOUNT_NAME_EQ: Struct =
    Struct { name: "account_name_eq_lit_predicate", fields: &[("account_id", ACCOUNT), ("name", Ty::Str)] };
static ASSET_SYMBOL_EQ: Struct =
    Struct { name: "asset_symbol_eq_lit_predicate", fields: &[("asset_id", ASSET_ID), ("symbol", Ty::Str)] };
static BLOCK_ID_PREDICATE: Struct = Struct { name: "block_id_predicate", fields: &[("id", Ty::Fixed(20))] };
static PREDICATE: Variant = Variant {
    name: "predicate",
    alternatives: &[Ty::Struct(&ACCOUNT_NAME_EQ), Ty::Struct(&ASSET_SYMBOL_EQ), Ty::Struct(&BLOCK_ID_PREDICATE)],
};
static STEALTH_CONFIRMATION: Struct = Struct {
    name: "stealth_confirmation",
    fields: &[("one_time_key", Ty::PublicKey), ("to", Ty::Opt(&Ty::PublicKey)), ("encrypted_memo", Ty::Bytes)],
};
static BLIND_INPUT: Struct = Struct { name: "blind_input", fields: &[("commitment", Ty::Fixed(33)), ("owner", AUTH)] };
static BLIND_OUTPUT: Struct = Struct {
    name: "blind_output",
    fields: &[
        ("commitment", Ty::Fixed(33)),
        ("range_proof", Ty::Bytes),
        ("owner", AUTH),
        ("stealth_memo", Ty::Opt(&Ty::Struct(&STEALTH_CONFIRMATION))),
    ],
};
static OP_WRAPPER: Struct = Struct { name: "op_wrapper", fields: &[("op", Ty::Op)] };

static RESTRICTION: Struct = Struct {
    name: "restriction",
    fields: &[
        ("member_index", Ty::VarU32),
        ("restriction_type", Ty::VarU32),
        ("argument", Ty::Variant(&RESTRICTION_ARGUMENT)),
        ("extensions", FUTURE),
    ],
};
// Statics, not consts: `restriction` contains itself (through its argument variant), and only
// statics may refer to each other in a cycle.
static RESTRICTION_TY: Ty = Ty::Struct(&RESTRICTION);
static RESTRICTIONS_TY: Ty = Ty::Vec(&RESTRICTION_TY);
/// `restriction::argument_type` (`GRAPHENE_OP_RESTRICTION_ARGUMENTS_VARIADIC`).
static RESTRICTION_ARGUMENT: Variant = Variant {
    name: "restriction::argument_type",
    alternatives: &[
        Ty::Void,
        Ty::Bool,
        Ty::I64,
        Ty::Str,
        Ty::Time,
        Ty::PublicKey,
        Ty::Fixed(32),
        ACCOUNT,
        ASSET_ID,
        Ty::Id(1, 4),
        Ty::Id(1, 5),
        Ty::Id(1, 6),
        Ty::Id(1, 7),
        Ty::Id(1, 8),
        Ty::Id(1, 9),
        Ty::Id(1, 10),
        Ty::Id(1, 12),
        Ty::Id(1, 13),
        Ty::Id(1, 14),
        Ty::Id(1, 15),
        Ty::Set(&Ty::Bool),
        Ty::Set(&Ty::I64),
        Ty::Set(&Ty::Str),
        Ty::Set(&Ty::Time),
        Ty::Set(&Ty::PublicKey),
        Ty::Set(&Ty::Fixed(32)),
        Ty::Set(&ACCOUNT),
        Ty::Set(&ASSET_ID),
        Ty::Set(&Ty::Id(1, 4)),
        Ty::Set(&Ty::Id(1, 5)),
        Ty::Set(&Ty::Id(1, 6)),
        Ty::Set(&Ty::Id(1, 7)),
        Ty::Set(&Ty::Id(1, 8)),
        Ty::Set(&Ty::Id(1, 9)),
        Ty::Set(&Ty::Id(1, 10)),
        Ty::Set(&Ty::Id(1, 12)),
        Ty::Set(&Ty::Id(1, 13)),
        Ty::Set(&Ty::Id(1, 14)),
        Ty::Set(&Ty::Id(1, 15)),
        Ty::Vec(&RESTRICTION_TY),
        Ty::Vec(&RESTRICTIONS_TY),
        Ty::Pair(&Ty::I64, &RESTRICTIONS_TY),
    ],
};

static HTLC_OPTIONS: Struct =
    Struct { name: "htlc_options", fields: &[("max_timeout_secs", Ty::U32), ("max_preimage_size", Ty::U32)] };
static CUSTOM_AUTHORITY_OPTIONS: Struct = Struct {
    name: "custom_authority_options_type",
    fields: &[
        ("max_custom_authority_lifetime_seconds", Ty::U32),
        ("max_custom_authorities_per_account", Ty::U32),
        ("max_custom_authorities_per_account_op", Ty::U32),
        ("max_custom_authority_restrictions", Ty::U32),
    ],
};
static CHAIN_PARAMETERS_EXT: Struct = Struct {
    name: "chain_parameters::ext",
    fields: &[
        ("updatable_htlc_options", Ty::Struct(&HTLC_OPTIONS)),
        ("custom_authority_options", Ty::Struct(&CUSTOM_AUTHORITY_OPTIONS)),
        ("market_fee_network_percent", U16),
        ("maker_fee_discount_percent", U16),
    ],
};
/// `fee_parameters`: one `fee_params_t` per operation tag.
static FEE_PARAMETERS_VARIANT: Variant = Variant { name: "fee_parameters", alternatives: &FEE_PARAMETER_TYPES };
static FEE_SCHEDULE: Struct = Struct {
    name: "fee_schedule",
    fields: &[("parameters", Ty::Set(&Ty::Variant(&FEE_PARAMETERS_VARIANT))), ("scale", Ty::U32)],
};
/// `chain_parameters` (note: `witness_pay_vesting_seconds` is not reflected, so not serialized).
static CHAIN_PARAMETERS: Struct = Struct {
    name: "chain_parameters",
    fields: &[
        ("current_fees", Ty::Struct(&FEE_SCHEDULE)),
        ("block_interval", Ty::U8),
        ("maintenance_interval", Ty::U32),
        ("maintenance_skip_slots", Ty::U8),
        ("committee_proposal_review_period", Ty::U32),
        ("maximum_transaction_size", Ty::U32),
        ("maximum_block_size", Ty::U32),
        ("maximum_time_until_expiration", Ty::U32),
        ("maximum_proposal_lifetime", Ty::U32),
        ("maximum_asset_whitelist_authorities", Ty::U8),
        ("maximum_asset_feed_publishers", Ty::U8),
        ("maximum_witness_count", U16),
        ("maximum_committee_count", U16),
        ("maximum_authority_membership", U16),
        ("reserve_percent_of_fee", U16),
        ("network_percent_of_fee", U16),
        ("lifetime_referrer_percent_of_fee", U16),
        ("cashback_vesting_period_seconds", Ty::U32),
        ("cashback_vesting_threshold", Ty::I64),
        ("count_non_member_votes", Ty::Bool),
        ("allow_non_member_whitelists", Ty::Bool),
        ("witness_pay_per_block", Ty::I64),
        ("worker_budget_per_day", Ty::I64),
        ("max_predicate_opcode", U16),
        ("fee_liquidation_threshold", Ty::I64),
        ("accounts_per_fee_scale", U16),
        ("account_fee_scale_bitshifts", Ty::U8),
        ("max_authority_depth", Ty::U8),
        ("extensions", Ty::Ext(&CHAIN_PARAMETERS_EXT)),
    ],
};

macro_rules! fee_params {
    ($($name:ident: [$($field:literal $ty:ident),*]),* $(,)?) => {
        $(static $name: Struct = Struct { name: "fee_params_t", fields: &[$(($field, Ty::$ty)),*] };)*
    };
}
fee_params! {
    FP_FEE: ["fee" U64],
    FP_FEE_KB: ["fee" U64, "price_per_kbyte" U32],
    FP_NONE: [],
    FP_ACCOUNT_CREATE: ["basic_fee" U64, "premium_fee" U64, "price_per_kbyte" U32],
    FP_ACCOUNT_UPDATE: ["fee" I64, "price_per_kbyte" U32],
    FP_SHARE_FEE: ["fee" I64],
    FP_ACCOUNT_UPGRADE: ["membership_annual_fee" U64, "membership_lifetime_fee" U64],
    FP_ASSET_CREATE: ["symbol3" U64, "symbol4" U64, "long_symbol" U64, "price_per_kbyte" U32],
    FP_BLIND: ["fee" U64, "price_per_output" U32],
    FP_HTLC_DAY: ["fee" U64, "fee_per_day" U64],
    FP_HTLC_KB: ["fee" U64, "fee_per_kb" U64],
    FP_CUSTOM_AUTHORITY: ["basic_fee" U64, "price_per_byte" U32],
}

/// The `fee_params_t` of each operation tag (the alternatives of `fee_parameters`).
pub static FEE_PARAMETERS: [&Struct; 78] = [
    &FP_FEE_KB,           // 0 transfer
    &FP_FEE,              // 1 limit_order_create
    &FP_FEE,              // 2 limit_order_cancel
    &FP_FEE,              // 3 call_order_update
    &FP_NONE,             // 4 fill_order (virtual)
    &FP_ACCOUNT_CREATE,   // 5 account_create
    &FP_ACCOUNT_UPDATE,   // 6 account_update
    &FP_SHARE_FEE,        // 7 account_whitelist
    &FP_ACCOUNT_UPGRADE,  // 8 account_upgrade
    &FP_FEE,              // 9 account_transfer
    &FP_ASSET_CREATE,     // 10 asset_create
    &FP_FEE_KB,           // 11 asset_update
    &FP_FEE,              // 12 asset_update_bitasset
    &FP_FEE,              // 13 asset_update_feed_producers
    &FP_FEE_KB,           // 14 asset_issue
    &FP_FEE,              // 15 asset_reserve
    &FP_FEE,              // 16 asset_fund_fee_pool
    &FP_FEE,              // 17 asset_settle
    &FP_FEE,              // 18 asset_global_settle
    &FP_FEE,              // 19 asset_publish_feed
    &FP_FEE,              // 20 witness_create
    &FP_SHARE_FEE,        // 21 witness_update
    &FP_FEE_KB,           // 22 proposal_create
    &FP_FEE_KB,           // 23 proposal_update
    &FP_FEE,              // 24 proposal_delete
    &FP_FEE,              // 25 withdraw_permission_create
    &FP_FEE,              // 26 withdraw_permission_update
    &FP_FEE_KB,           // 27 withdraw_permission_claim
    &FP_FEE,              // 28 withdraw_permission_delete
    &FP_FEE,              // 29 committee_member_create
    &FP_FEE,              // 30 committee_member_update
    &FP_FEE,              // 31 committee_member_update_global_parameters
    &FP_FEE,              // 32 vesting_balance_create
    &FP_FEE,              // 33 vesting_balance_withdraw
    &FP_FEE,              // 34 worker_create
    &FP_FEE_KB,           // 35 custom
    &FP_FEE,              // 36 assert
    &FP_NONE,             // 37 balance_claim
    &FP_FEE_KB,           // 38 override_transfer
    &FP_BLIND,            // 39 transfer_to_blind
    &FP_BLIND,            // 40 blind_transfer
    &FP_FEE,              // 41 transfer_from_blind
    &FP_NONE,             // 42 asset_settle_cancel (virtual)
    &FP_FEE,              // 43 asset_claim_fees
    &FP_NONE,             // 44 fba_distribute (virtual)
    &FP_FEE,              // 45 bid_collateral
    &FP_NONE,             // 46 execute_bid (virtual)
    &FP_FEE,              // 47 asset_claim_pool
    &FP_FEE,              // 48 asset_update_issuer
    &FP_HTLC_DAY,         // 49 htlc_create
    &FP_HTLC_KB,          // 50 htlc_redeem
    &FP_NONE,             // 51 htlc_redeemed (virtual)
    &FP_HTLC_DAY,         // 52 htlc_extend
    &FP_NONE,             // 53 htlc_refund (virtual)
    &FP_CUSTOM_AUTHORITY, // 54 custom_authority_create
    &FP_CUSTOM_AUTHORITY, // 55 custom_authority_update
    &FP_FEE,              // 56 custom_authority_delete
    &FP_FEE,              // 57 ticket_create
    &FP_FEE,              // 58 ticket_update
    &FP_FEE,              // 59 liquidity_pool_create
    &FP_FEE,              // 60 liquidity_pool_delete
    &FP_FEE,              // 61 liquidity_pool_deposit
    &FP_FEE,              // 62 liquidity_pool_withdraw
    &FP_FEE,              // 63 liquidity_pool_exchange
    &FP_FEE,              // 64 samet_fund_create
    &FP_FEE,              // 65 samet_fund_delete
    &FP_FEE,              // 66 samet_fund_update
    &FP_FEE,              // 67 samet_fund_borrow
    &FP_FEE,              // 68 samet_fund_repay
    &FP_FEE_KB,           // 69 credit_offer_create
    &FP_FEE,              // 70 credit_offer_delete
    &FP_FEE_KB,           // 71 credit_offer_update
    &FP_FEE,              // 72 credit_offer_accept
    &FP_FEE,              // 73 credit_deal_repay
    &FP_NONE,             // 74 credit_deal_expired (virtual)
    &FP_FEE,              // 75 liquidity_pool_update
    &FP_FEE,              // 76 credit_deal_update
    &FP_FEE,              // 77 limit_order_update
];

static FEE_PARAMETER_TYPES: [Ty; 78] = {
    let mut out = [Ty::Void; 78];
    let mut i = 0;
    while i < 78 {
        out[i] = Ty::Struct(FEE_PARAMETERS[i]);
        i += 1;
    }
    out
};

macro_rules! op {
    ($name:literal, $payer:expr, $virtual:expr, [$($field:literal: $ty:expr),* $(,)?]) => {
        OperationSchema {
            body: Struct { name: $name, fields: &[("fee", A), $(($field, $ty)),*] },
            fee_payer: $payer,
            is_virtual: $virtual,
        }
    };
}
use FeePayer::{Account as Fixed, Field as F};
const LIMIT_ORDER: Ty = Ty::Id(1, 7);
const PROPOSAL: Ty = Ty::Id(1, 10);
const WITHDRAW_PERMISSION: Ty = Ty::Id(1, 12);
const HTLC: Ty = Ty::Id(1, 16);
const CUSTOM_AUTHORITY: Ty = Ty::Id(1, 17);
const POOL: Ty = Ty::Id(1, 19);
const SAMET_FUND: Ty = Ty::Id(1, 20);
const CREDIT_OFFER: Ty = Ty::Id(1, 21);
const CREDIT_DEAL: Ty = Ty::Id(1, 22);
const PRICE_T: Ty = Ty::Struct(&PRICE);
const HASH: Ty = Ty::Variant(&HTLC_HASH);
const ACCOUNTS: Ty = Ty::Set(&ACCOUNT);
const KEYS: Ty = Ty::Set(&Ty::PublicKey);

/// Every operation of bitshares-core 7.0.2, indexed by tag (`operations.hpp`).
pub static OPERATIONS: [OperationSchema; 78] = [
    op!("transfer_operation", F("from"), false, ["from": ACCOUNT, "to": ACCOUNT, "amount": A, "memo": OPT_MEMO, "extensions": FUTURE]),
    op!("limit_order_create_operation", F("seller"), false, ["seller": ACCOUNT, "amount_to_sell": A, "min_to_receive": A, "expiration": Ty::Time, "fill_or_kill": Ty::Bool, "extensions": Ty::Ext(&LIMIT_ORDER_OPTIONS)]),
    op!("limit_order_cancel_operation", F("fee_paying_account"), false, ["fee_paying_account": ACCOUNT, "order": LIMIT_ORDER, "extensions": FUTURE]),
    op!("call_order_update_operation", F("funding_account"), false, ["funding_account": ACCOUNT, "delta_collateral": A, "delta_debt": A, "extensions": Ty::Ext(&CALL_ORDER_OPTIONS)]),
    op!("fill_order_operation", F("account_id"), true, ["order_id": Ty::AnyId, "account_id": ACCOUNT, "pays": A, "receives": A, "fill_price": PRICE_T, "is_maker": Ty::Bool]),
    op!("account_create_operation", F("registrar"), false, ["registrar": ACCOUNT, "referrer": ACCOUNT, "referrer_percent": U16, "name": Ty::Str, "owner": AUTH, "active": AUTH, "options": Ty::Struct(&ACCOUNT_OPTIONS), "extensions": Ty::Ext(&ACCOUNT_CREATE_EXT)]),
    op!("account_update_operation", F("account"), false, ["account": ACCOUNT, "owner": Ty::Opt(&AUTH), "active": Ty::Opt(&AUTH), "new_options": Ty::Opt(&Ty::Struct(&ACCOUNT_OPTIONS)), "extensions": Ty::Ext(&ACCOUNT_UPDATE_EXT)]),
    op!("account_whitelist_operation", F("authorizing_account"), false, ["authorizing_account": ACCOUNT, "account_to_list": ACCOUNT, "new_listing": Ty::U8, "extensions": FUTURE]),
    op!("account_upgrade_operation", F("account_to_upgrade"), false, ["account_to_upgrade": ACCOUNT, "upgrade_to_lifetime_member": Ty::Bool, "extensions": FUTURE]),
    op!("account_transfer_operation", F("account_id"), false, ["account_id": ACCOUNT, "new_owner": ACCOUNT, "extensions": FUTURE]),
    op!("asset_create_operation", F("issuer"), false, ["issuer": ACCOUNT, "symbol": Ty::Str, "precision": Ty::U8, "common_options": Ty::Struct(&ASSET_OPTIONS), "bitasset_opts": Ty::Opt(&Ty::Struct(&BITASSET_OPTIONS)), "is_prediction_market": Ty::Bool, "extensions": FUTURE]),
    op!("asset_update_operation", F("issuer"), false, ["issuer": ACCOUNT, "asset_to_update": ASSET_ID, "new_issuer": Ty::Opt(&ACCOUNT), "new_options": Ty::Struct(&ASSET_OPTIONS), "extensions": Ty::Ext(&ASSET_UPDATE_EXT)]),
    op!("asset_update_bitasset_operation", F("issuer"), false, ["issuer": ACCOUNT, "asset_to_update": ASSET_ID, "new_options": Ty::Struct(&BITASSET_OPTIONS), "extensions": FUTURE]),
    op!("asset_update_feed_producers_operation", F("issuer"), false, ["issuer": ACCOUNT, "asset_to_update": ASSET_ID, "new_feed_producers": ACCOUNTS, "extensions": FUTURE]),
    op!("asset_issue_operation", F("issuer"), false, ["issuer": ACCOUNT, "asset_to_issue": A, "issue_to_account": ACCOUNT, "memo": OPT_MEMO, "extensions": FUTURE]),
    op!("asset_reserve_operation", F("payer"), false, ["payer": ACCOUNT, "amount_to_reserve": A, "extensions": FUTURE]),
    op!("asset_fund_fee_pool_operation", F("from_account"), false, ["from_account": ACCOUNT, "asset_id": ASSET_ID, "amount": Ty::I64, "extensions": FUTURE]),
    op!("asset_settle_operation", F("account"), false, ["account": ACCOUNT, "amount": A, "extensions": FUTURE]),
    op!("asset_global_settle_operation", F("issuer"), false, ["issuer": ACCOUNT, "asset_to_settle": ASSET_ID, "settle_price": PRICE_T, "extensions": FUTURE]),
    op!("asset_publish_feed_operation", F("publisher"), false, ["publisher": ACCOUNT, "asset_id": ASSET_ID, "feed": Ty::Struct(&PRICE_FEED), "extensions": Ty::Ext(&PUBLISH_FEED_EXT)]),
    op!("witness_create_operation", F("witness_account"), false, ["witness_account": ACCOUNT, "url": Ty::Str, "block_signing_key": Ty::PublicKey]),
    op!("witness_update_operation", F("witness_account"), false, ["witness": Ty::Id(1, 6), "witness_account": ACCOUNT, "new_url": Ty::Opt(&Ty::Str), "new_signing_key": Ty::Opt(&Ty::PublicKey)]),
    op!("proposal_create_operation", F("fee_paying_account"), false, ["fee_paying_account": ACCOUNT, "expiration_time": Ty::Time, "proposed_ops": Ty::Vec(&Ty::Struct(&OP_WRAPPER)), "review_period_seconds": Ty::Opt(&Ty::U32), "extensions": FUTURE]),
    op!("proposal_update_operation", F("fee_paying_account"), false, ["fee_paying_account": ACCOUNT, "proposal": PROPOSAL, "active_approvals_to_add": ACCOUNTS, "active_approvals_to_remove": ACCOUNTS, "owner_approvals_to_add": ACCOUNTS, "owner_approvals_to_remove": ACCOUNTS, "key_approvals_to_add": KEYS, "key_approvals_to_remove": KEYS, "extensions": FUTURE]),
    op!("proposal_delete_operation", F("fee_paying_account"), false, ["fee_paying_account": ACCOUNT, "using_owner_authority": Ty::Bool, "proposal": PROPOSAL, "extensions": FUTURE]),
    op!("withdraw_permission_create_operation", F("withdraw_from_account"), false, ["withdraw_from_account": ACCOUNT, "authorized_account": ACCOUNT, "withdrawal_limit": A, "withdrawal_period_sec": Ty::U32, "periods_until_expiration": Ty::U32, "period_start_time": Ty::Time]),
    op!("withdraw_permission_update_operation", F("withdraw_from_account"), false, ["withdraw_from_account": ACCOUNT, "authorized_account": ACCOUNT, "permission_to_update": WITHDRAW_PERMISSION, "withdrawal_limit": A, "withdrawal_period_sec": Ty::U32, "period_start_time": Ty::Time, "periods_until_expiration": Ty::U32]),
    op!("withdraw_permission_claim_operation", F("withdraw_to_account"), false, ["withdraw_permission": WITHDRAW_PERMISSION, "withdraw_from_account": ACCOUNT, "withdraw_to_account": ACCOUNT, "amount_to_withdraw": A, "memo": OPT_MEMO]),
    op!("withdraw_permission_delete_operation", F("withdraw_from_account"), false, ["withdraw_from_account": ACCOUNT, "authorized_account": ACCOUNT, "withdrawal_permission": WITHDRAW_PERMISSION]),
    op!("committee_member_create_operation", F("committee_member_account"), false, ["committee_member_account": ACCOUNT, "url": Ty::Str]),
    op!("committee_member_update_operation", F("committee_member_account"), false, ["committee_member": Ty::Id(1, 5), "committee_member_account": ACCOUNT, "new_url": Ty::Opt(&Ty::Str)]),
    op!("committee_member_update_global_parameters_operation", Fixed(0), false, ["new_parameters": Ty::Struct(&CHAIN_PARAMETERS)]),
    op!("vesting_balance_create_operation", F("creator"), false, ["creator": ACCOUNT, "owner": ACCOUNT, "amount": A, "policy": Ty::Variant(&VESTING_POLICY)]),
    op!("vesting_balance_withdraw_operation", F("owner"), false, ["vesting_balance": Ty::Id(1, 13), "owner": ACCOUNT, "amount": A]),
    op!("worker_create_operation", F("owner"), false, ["owner": ACCOUNT, "work_begin_date": Ty::Time, "work_end_date": Ty::Time, "daily_pay": Ty::I64, "name": Ty::Str, "url": Ty::Str, "initializer": Ty::Variant(&WORKER_INITIALIZER)]),
    op!("custom_operation", F("payer"), false, ["payer": ACCOUNT, "required_auths": ACCOUNTS, "id": U16, "data": Ty::Bytes]),
    op!("assert_operation", F("fee_paying_account"), false, ["fee_paying_account": ACCOUNT, "predicates": Ty::Vec(&Ty::Variant(&PREDICATE)), "required_auths": ACCOUNTS, "extensions": FUTURE]),
    op!("balance_claim_operation", F("deposit_to_account"), false, ["deposit_to_account": ACCOUNT, "balance_to_claim": Ty::Id(1, 15), "balance_owner_key": Ty::PublicKey, "total_claimed": A]),
    op!("override_transfer_operation", F("issuer"), false, ["issuer": ACCOUNT, "from": ACCOUNT, "to": ACCOUNT, "amount": A, "memo": OPT_MEMO, "extensions": FUTURE]),
    op!("transfer_to_blind_operation", F("from"), false, ["amount": A, "from": ACCOUNT, "blinding_factor": Ty::Fixed(32), "outputs": Ty::Vec(&Ty::Struct(&BLIND_OUTPUT))]),
    op!("blind_transfer_operation", Fixed(4), false, ["inputs": Ty::Vec(&Ty::Struct(&BLIND_INPUT)), "outputs": Ty::Vec(&Ty::Struct(&BLIND_OUTPUT))]),
    op!("transfer_from_blind_operation", Fixed(4), false, ["amount": A, "to": ACCOUNT, "blinding_factor": Ty::Fixed(32), "inputs": Ty::Vec(&Ty::Struct(&BLIND_INPUT))]),
    op!("asset_settle_cancel_operation", F("account"), true, ["settlement": Ty::Id(1, 4), "account": ACCOUNT, "amount": A]),
    op!("asset_claim_fees_operation", F("issuer"), false, ["issuer": ACCOUNT, "amount_to_claim": A, "extensions": Ty::Ext(&CLAIM_FEES_EXT)]),
    op!("fba_distribute_operation", F("account_id"), true, ["account_id": ACCOUNT, "fba_id": Ty::AnyId, "amount": Ty::I64]),
    op!("bid_collateral_operation", F("bidder"), false, ["bidder": ACCOUNT, "additional_collateral": A, "debt_covered": A, "extensions": FUTURE]),
    op!("execute_bid_operation", F("bidder"), true, ["bidder": ACCOUNT, "debt": A, "collateral": A]),
    op!("asset_claim_pool_operation", F("issuer"), false, ["issuer": ACCOUNT, "asset_id": ASSET_ID, "amount_to_claim": A, "extensions": FUTURE]),
    op!("asset_update_issuer_operation", F("issuer"), false, ["issuer": ACCOUNT, "asset_to_update": ASSET_ID, "new_issuer": ACCOUNT, "extensions": FUTURE]),
    op!("htlc_create_operation", F("from"), false, ["from": ACCOUNT, "to": ACCOUNT, "amount": A, "preimage_hash": HASH, "preimage_size": U16, "claim_period_seconds": Ty::U32, "extensions": Ty::Ext(&HTLC_EXT)]),
    op!("htlc_redeem_operation", F("redeemer"), false, ["htlc_id": HTLC, "redeemer": ACCOUNT, "preimage": Ty::Bytes, "extensions": FUTURE]),
    op!("htlc_redeemed_operation", F("to"), true, ["htlc_id": HTLC, "from": ACCOUNT, "to": ACCOUNT, "redeemer": ACCOUNT, "amount": A, "htlc_preimage_hash": HASH, "htlc_preimage_size": U16, "preimage": Ty::Bytes]),
    op!("htlc_extend_operation", F("update_issuer"), false, ["htlc_id": HTLC, "update_issuer": ACCOUNT, "seconds_to_add": Ty::U32, "extensions": FUTURE]),
    op!("htlc_refund_operation", F("to"), true, ["htlc_id": HTLC, "to": ACCOUNT, "original_htlc_recipient": ACCOUNT, "htlc_amount": A, "htlc_preimage_hash": HASH, "htlc_preimage_size": U16]),
    op!("custom_authority_create_operation", F("account"), false, ["account": ACCOUNT, "enabled": Ty::Bool, "valid_from": Ty::Time, "valid_to": Ty::Time, "operation_type": Ty::VarU32, "auth": AUTH, "restrictions": Ty::Vec(&RESTRICTION_TY), "extensions": FUTURE]),
    op!("custom_authority_update_operation", F("account"), false, ["account": ACCOUNT, "authority_to_update": CUSTOM_AUTHORITY, "new_enabled": Ty::Opt(&Ty::Bool), "new_valid_from": Ty::Opt(&Ty::Time), "new_valid_to": Ty::Opt(&Ty::Time), "new_auth": Ty::Opt(&AUTH), "restrictions_to_remove": Ty::Set(&U16), "restrictions_to_add": Ty::Vec(&RESTRICTION_TY), "extensions": FUTURE]),
    op!("custom_authority_delete_operation", F("account"), false, ["account": ACCOUNT, "authority_to_delete": CUSTOM_AUTHORITY, "extensions": FUTURE]),
    op!("ticket_create_operation", F("account"), false, ["account": ACCOUNT, "target_type": Ty::VarU32, "amount": A, "extensions": FUTURE]),
    op!("ticket_update_operation", F("account"), false, ["ticket": Ty::Id(1, 18), "account": ACCOUNT, "target_type": Ty::VarU32, "amount_for_new_target": Ty::Opt(&A), "extensions": FUTURE]),
    op!("liquidity_pool_create_operation", F("account"), false, ["account": ACCOUNT, "asset_a": ASSET_ID, "asset_b": ASSET_ID, "share_asset": ASSET_ID, "taker_fee_percent": U16, "withdrawal_fee_percent": U16, "extensions": FUTURE]),
    op!("liquidity_pool_delete_operation", F("account"), false, ["account": ACCOUNT, "pool": POOL, "extensions": FUTURE]),
    op!("liquidity_pool_deposit_operation", F("account"), false, ["account": ACCOUNT, "pool": POOL, "amount_a": A, "amount_b": A, "extensions": FUTURE]),
    op!("liquidity_pool_withdraw_operation", F("account"), false, ["account": ACCOUNT, "pool": POOL, "share_amount": A, "extensions": FUTURE]),
    op!("liquidity_pool_exchange_operation", F("account"), false, ["account": ACCOUNT, "pool": POOL, "amount_to_sell": A, "min_to_receive": A, "extensions": FUTURE]),
    op!("samet_fund_create_operation", F("owner_account"), false, ["owner_account": ACCOUNT, "asset_type": ASSET_ID, "balance": Ty::I64, "fee_rate": Ty::U32, "extensions": FUTURE]),
    op!("samet_fund_delete_operation", F("owner_account"), false, ["owner_account": ACCOUNT, "fund_id": SAMET_FUND, "extensions": FUTURE]),
    op!("samet_fund_update_operation", F("owner_account"), false, ["owner_account": ACCOUNT, "fund_id": SAMET_FUND, "delta_amount": Ty::Opt(&A), "new_fee_rate": Ty::Opt(&Ty::U32), "extensions": FUTURE]),
    op!("samet_fund_borrow_operation", F("borrower"), false, ["borrower": ACCOUNT, "fund_id": SAMET_FUND, "borrow_amount": A, "extensions": FUTURE]),
    op!("samet_fund_repay_operation", F("account"), false, ["account": ACCOUNT, "fund_id": SAMET_FUND, "repay_amount": A, "fund_fee": A, "extensions": FUTURE]),
    op!("credit_offer_create_operation", F("owner_account"), false, ["owner_account": ACCOUNT, "asset_type": ASSET_ID, "balance": Ty::I64, "fee_rate": Ty::U32, "max_duration_seconds": Ty::U32, "min_deal_amount": Ty::I64, "enabled": Ty::Bool, "auto_disable_time": Ty::Time, "acceptable_collateral": Ty::Map(&ASSET_ID, &PRICE_T), "acceptable_borrowers": Ty::Map(&ACCOUNT, &Ty::I64), "extensions": FUTURE]),
    op!("credit_offer_delete_operation", F("owner_account"), false, ["owner_account": ACCOUNT, "offer_id": CREDIT_OFFER, "extensions": FUTURE]),
    op!("credit_offer_update_operation", F("owner_account"), false, ["owner_account": ACCOUNT, "offer_id": CREDIT_OFFER, "delta_amount": Ty::Opt(&A), "fee_rate": Ty::Opt(&Ty::U32), "max_duration_seconds": Ty::Opt(&Ty::U32), "min_deal_amount": Ty::Opt(&Ty::I64), "enabled": Ty::Opt(&Ty::Bool), "auto_disable_time": Ty::Opt(&Ty::Time), "acceptable_collateral": Ty::Opt(&Ty::Map(&ASSET_ID, &PRICE_T)), "acceptable_borrowers": Ty::Opt(&Ty::Map(&ACCOUNT, &Ty::I64)), "extensions": FUTURE]),
    op!("credit_offer_accept_operation", F("borrower"), false, ["borrower": ACCOUNT, "offer_id": CREDIT_OFFER, "borrow_amount": A, "collateral": A, "max_fee_rate": Ty::U32, "min_duration_seconds": Ty::U32, "extensions": Ty::Ext(&CREDIT_ACCEPT_EXT)]),
    op!("credit_deal_repay_operation", F("account"), false, ["account": ACCOUNT, "deal_id": CREDIT_DEAL, "repay_amount": A, "credit_fee": A, "extensions": FUTURE]),
    op!("credit_deal_expired_operation", F("borrower"), true, ["deal_id": CREDIT_DEAL, "offer_id": CREDIT_OFFER, "offer_owner": ACCOUNT, "borrower": ACCOUNT, "unpaid_amount": A, "collateral": A, "fee_rate": Ty::U32]),
    op!("liquidity_pool_update_operation", F("account"), false, ["account": ACCOUNT, "pool": POOL, "taker_fee_percent": Ty::Opt(&U16), "withdrawal_fee_percent": Ty::Opt(&U16), "extensions": FUTURE]),
    op!("credit_deal_update_operation", F("account"), false, ["account": ACCOUNT, "deal_id": CREDIT_DEAL, "auto_repay": Ty::U8, "extensions": FUTURE]),
    op!("limit_order_update_operation", F("seller"), false, ["seller": ACCOUNT, "order": LIMIT_ORDER, "new_price": Ty::Opt(&PRICE_T), "delta_amount_to_sell": Ty::Opt(&A), "new_expiration": Ty::Opt(&Ty::Time), "on_fill": Ty::Opt(&AUTO_ACTIONS), "extensions": FUTURE]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tag_is_described_and_named_like_the_chain() {
        for (tag, op) in OPERATIONS.iter().enumerate() {
            let name = crate::operations::OPERATION_NAMES[tag];
            assert_eq!(op.body.name, format!("{name}_operation"), "tag {tag}");
            assert_eq!(op.body.fields[0].0, "fee", "tag {tag}: fee comes first");
            if let FeePayer::Field(f) = op.fee_payer {
                assert!(op.body.fields.iter().any(|(n, t)| *n == f && matches!(t, Ty::Id(1, 2))), "tag {tag}: {f}");
            }
        }
        let virtuals: Vec<usize> = (0..78).filter(|t| OPERATIONS[*t].is_virtual).collect();
        assert_eq!(virtuals, [4, 42, 44, 46, 51, 53, 74]);
        for t in virtuals {
            assert!(FEE_PARAMETERS[t].fields.is_empty(), "virtual {t} has no fee parameters");
        }
    }
}
