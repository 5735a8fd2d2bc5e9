//! Property tests: serialization round trips, node ordering, and signatures checked by
//! libsecp256k1 (the library bitshares-core's fc uses).

use bts_protocol::operations::{BuybackOptions, SpecialAuthority};
use bts_protocol::*;
use proptest::prelude::*;

fn public_key() -> impl Strategy<Value = PublicKey> {
    any::<[u8; 32]>().prop_map(|x| {
        let mut data = [2u8; 33];
        data[1..].copy_from_slice(&x);
        PublicKey::from_bytes(data, AddressPrefix::BTS)
    })
}

fn instance() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..200, 0u64..=bts_protocol::id::MAX_INSTANCE]
}

fn asset() -> impl Strategy<Value = Asset> {
    (any::<i64>(), instance()).prop_map(|(amount, id)| Asset { amount, asset_id: AssetId::new(id) })
}

fn authority() -> impl Strategy<Value = Authority> {
    (
        any::<u32>(),
        prop::collection::vec((instance(), any::<u16>()), 0..3),
        prop::collection::vec((public_key(), any::<u16>()), 0..4),
        prop::collection::vec((public_key(), any::<u16>()), 0..2),
    )
        .prop_map(|(weight_threshold, accounts, keys, addrs)| Authority {
            weight_threshold,
            account_auths: FlatMap::from_pairs(accounts.into_iter().map(|(i, w)| (AccountId::new(i), w))),
            key_auths: FlatMap::from_pairs(keys),
            address_auths: FlatMap::from_pairs(addrs.into_iter().map(|(k, w)| (k.address(), w))),
        })
}

fn special_authority() -> impl Strategy<Value = SpecialAuthority> {
    prop_oneof![
        Just(SpecialAuthority::None),
        (instance(), any::<u8>())
            .prop_map(|(a, n)| SpecialAuthority::TopHolders { asset: AssetId::new(a), num_top_holders: n }),
    ]
}

fn account_create() -> impl Strategy<Value = Operation> {
    (
        (asset(), instance(), instance(), any::<u16>(), "[a-z][a-z0-9.-]{0,30}"),
        (authority(), authority(), public_key(), instance(), any::<u16>(), any::<u16>()),
        prop::collection::vec((0u32..3, 0u32..(1 << 24)), 0..4),
        (
            any::<bool>(),
            prop::option::of(special_authority()),
            prop::option::of(special_authority()),
            prop::option::of((instance(), instance(), prop::collection::vec(instance(), 0..3))),
        ),
    )
        .prop_map(|(head, auths, votes, ext)| {
            let (fee, registrar, referrer, referrer_percent, name) = head;
            let (owner, active, memo_key, voting, num_witness, num_committee) = auths;
            let votes = votes.into_iter().map(|(t, i)| format!("{t}:{i}").parse::<VoteId>().unwrap());
            Operation::AccountCreate(AccountCreateOperation {
                fee,
                registrar: AccountId::new(registrar),
                referrer: AccountId::new(referrer),
                referrer_percent,
                name,
                owner,
                active,
                options: AccountOptions {
                    memo_key,
                    voting_account: AccountId::new(voting),
                    num_witness,
                    num_committee,
                    votes: FlatSet::from_items(votes),
                    extensions: Extensions,
                },
                extensions: AccountCreateExtensions {
                    null_ext: ext.0,
                    owner_special_authority: ext.1,
                    active_special_authority: ext.2,
                    buyback_options: ext.3.map(|(a, i, m)| BuybackOptions {
                        asset_to_buy: AssetId::new(a),
                        asset_to_buy_issuer: AccountId::new(i),
                        markets: FlatSet::from_items(m.into_iter().map(AssetId::new)),
                    }),
                },
            })
        })
}

fn operation() -> impl Strategy<Value = Operation> {
    prop_oneof![
        (
            asset(),
            instance(),
            instance(),
            asset(),
            prop::option::of((public_key(), public_key(), any::<u64>(), prop::collection::vec(any::<u8>(), 0..40)))
        )
            .prop_map(|(fee, from, to, amount, memo)| Operation::Transfer(TransferOperation {
                fee,
                from: AccountId::new(from),
                to: AccountId::new(to),
                amount,
                memo: memo.map(|(from, to, nonce, message)| Memo { from, to, nonce, message }),
                extensions: Extensions,
            })),
        account_create(),
        (asset(), instance()).prop_map(|(fee, a)| Operation::AccountUpgrade(AccountUpgradeOperation {
            fee,
            account_to_upgrade: AccountId::new(a),
            upgrade_to_lifetime_member: true,
            extensions: Extensions,
        })),
        (asset(), instance(), instance(), asset()).prop_map(|(fee, vb, owner, amount)| {
            Operation::VestingBalanceWithdraw(VestingBalanceWithdrawOperation {
                fee,
                vesting_balance: VestingBalanceId::new(vb),
                owner: AccountId::new(owner),
                amount,
            })
        }),
    ]
}

fn signed_transaction() -> impl Strategy<Value = SignedTransaction> {
    (
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
        prop::collection::vec(operation(), 1..4),
        prop::collection::vec(any::<[u8; 32]>(), 0..3),
    )
        .prop_map(|(num, prefix, exp, ops, sigs)| SignedTransaction {
            transaction: Transaction::new(
                TaposRef { ref_block_num: num, ref_block_prefix: prefix },
                TimePointSec(exp),
                ops,
            ),
            signatures: sigs
                .into_iter()
                .map(|b| {
                    let mut s = [0x1fu8; 65];
                    s[1..33].copy_from_slice(&b);
                    CompactSignature(s)
                })
                .collect(),
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn binary_round_trip(tx in signed_transaction()) {
        let bytes = tx.signed_bytes();
        let back = SignedTransaction::from_signed_bytes(&bytes, AddressPrefix::BTS).unwrap();
        prop_assert_eq!(&back, &tx);
        prop_assert_eq!(back.signed_bytes(), bytes);
    }

    #[test]
    fn json_round_trip_preserves_bytes(tx in signed_transaction()) {
        let json = serde_json::to_string(&tx).unwrap();
        let back: SignedTransaction = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &tx);
        prop_assert_eq!(back.signed_bytes(), tx.signed_bytes());
        prop_assert_eq!(back.transaction.id(), tx.transaction.id());
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic(tx in signed_transaction(), cut in any::<prop::sample::Index>()) {
        let bytes = tx.signed_bytes();
        let cut = cut.index(bytes.len());
        prop_assert!(SignedTransaction::from_signed_bytes(&bytes[..cut], AddressPrefix::BTS).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = SignedTransaction::from_signed_bytes(&bytes, AddressPrefix::BTS);
    }

    #[test]
    fn key_auths_pack_in_node_order_whatever_the_input_order(keys in prop::collection::vec(public_key(), 1..6), seed in any::<u64>()) {
        let sorted = FlatMap::from_pairs(keys.iter().map(|k| (*k, 1u16)));
        let mut shuffled = keys.clone();
        let n = shuffled.len();
        shuffled.rotate_left((seed as usize) % n);
        shuffled.reverse();
        let other = FlatMap::from_pairs(shuffled.into_iter().map(|k| (k, 1u16)));
        prop_assert_eq!(sorted.to_bytes(), other.to_bytes());
        let addrs: Vec<_> = sorted.iter().map(|(k, _)| *k.address().as_bytes()).collect();
        prop_assert!(addrs.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn public_key_text_round_trips(key in public_key()) {
        let text = key.to_string();
        prop_assert_eq!(PublicKey::parse_with_prefix(&text, AddressPrefix::BTS).unwrap(), key);
        let test = key.with_prefix(AddressPrefix::TEST).to_string();
        prop_assert_eq!(PublicKey::parse_with_prefix(&test, AddressPrefix::TEST).unwrap(), key);
        let is_wrong_prefix = matches!(PublicKey::parse_with_prefix(&test, AddressPrefix::BTS), Err(Error::WrongKeyPrefix { .. }));
        prop_assert!(is_wrong_prefix);
    }

    #[test]
    fn signatures_are_canonical_recoverable_and_verified_by_libsecp256k1(secret in any::<[u8; 32]>(), digest in any::<[u8; 32]>()) {
        let Ok(key) = PrivateKey::from_secret(&secret) else { return Ok(()) };
        let public = key.public_key(AddressPrefix::BTS);
        let digest = Digest(digest);
        let sig = key.sign_digest(&digest).unwrap();
        prop_assert!(sig.is_canonical());
        prop_assert!((31..=34).contains(&sig.0[0]));
        prop_assert_eq!(sig.recover_canonical(&digest, AddressPrefix::BTS).unwrap(), public);
        prop_assert!(sig.verify(&digest, &public));

        let recid = secp256k1::ecdsa::RecoveryId::try_from(i32::from(sig.0[0] - 31)).unwrap();
        let theirs = secp256k1::ecdsa::RecoverableSignature::from_compact(&sig.0[1..], recid).unwrap();
        let msg = secp256k1::Message::from_digest(digest.0);
        let their_pk = secp256k1::PublicKey::from_slice(public.as_bytes()).unwrap();
        prop_assert_eq!(theirs.recover(msg).unwrap(), their_pk);
        prop_assert!(theirs.to_standard().verify(msg, &their_pk).is_ok());

        // libsecp256k1 signs with plain RFC6979 and low-S: whenever that first candidate is
        // canonical, our signer must have produced exactly the same bytes.
        let sk = secp256k1::SecretKey::from_secret_bytes(secret).unwrap();
        let (lib_recid, lib_sig) = secp256k1::ecdsa::RecoverableSignature::sign_ecdsa_recoverable(msg, &sk).serialize_compact();
        let mut lib = [0u8; 65];
        lib[0] = 31 + u8::from(lib_recid);
        lib[1..].copy_from_slice(&lib_sig);
        if is_canonical(&lib) {
            prop_assert_eq!(sig.0, lib);
        }
    }
}
