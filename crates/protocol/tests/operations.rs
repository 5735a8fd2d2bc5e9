//! Every operation tag of bitshares-core 7.0.2 reads from JSON, packs, unpacks and writes back
//! unchanged; the hand-written structs agree with the schema tables; and the bytes match what a
//! real witness_node 7.0.2 serialized for the same JSON (`vectors/operations-witness_node-7.0.2.json`,
//! recorded with `get_transaction_hex_without_sig`, see docs/protocol.md).

use bts_protocol::dynamic::example_operation;
use bts_protocol::schema::OPERATIONS;
use bts_protocol::{AddressPrefix, GenericOperation, Operation, Pack, Transaction, Unpack};
use serde_json::Value;

const SEEDS: u32 = 6;

#[test]
fn every_operation_round_trips_json_and_binary() {
    for tag in 0..78u32 {
        for seed in 0..SEEDS {
            let json = example_operation(tag, seed, 0);
            let op = Operation::from_json(&json).unwrap_or_else(|e| panic!("tag {tag} seed {seed}: {e}\n{json}"));
            assert_eq!(op.tag(), u64::from(tag));
            let bytes = op.to_bytes();
            let back = Operation::from_bytes(&bytes, AddressPrefix::BTS).unwrap_or_else(|e| panic!("tag {tag}: {e}"));
            assert_eq!(back, op, "tag {tag} seed {seed}: binary round trip");
            assert_eq!(back.to_bytes(), bytes);
            let written = serde_json::to_value(&op).unwrap();
            let reread = Operation::from_json(&written).unwrap_or_else(|e| panic!("tag {tag}: {e}\n{written}"));
            assert_eq!(reread, op, "tag {tag} seed {seed}: JSON round trip\n{written}");
            assert_eq!(serde_json::from_value::<Operation>(written.clone()).unwrap(), op, "serde path agrees");
            // Truncated input is an error, never a panic or a different operation.
            for cut in [1, bytes.len() / 2, bytes.len() - 1] {
                if cut < bytes.len() {
                    assert!(Operation::from_bytes(&bytes[..cut], AddressPrefix::BTS).is_err(), "tag {tag} cut {cut}");
                }
            }
        }
    }
}

#[test]
fn hand_written_structs_agree_with_the_schema() {
    for tag in [0u32, 5, 8, 33] {
        for seed in 0..SEEDS {
            let json = example_operation(tag, seed, 0);
            let typed = Operation::from_json(&json).unwrap();
            assert!(!matches!(typed, Operation::Generic(_)), "tag {tag} uses its struct");
            let generic = Operation::Generic(GenericOperation::from_json(u64::from(tag), &json[1]).unwrap());
            assert_eq!(typed.to_bytes(), generic.to_bytes(), "tag {tag} seed {seed}");
            assert_eq!(serde_json::to_value(&typed).unwrap(), serde_json::to_value(&generic).unwrap(), "tag {tag}");
            assert_eq!((typed.fee(), typed.fee_payer()), (generic.fee(), generic.fee_payer()), "tag {tag}");
        }
    }
}

#[test]
fn fee_payer_fee_and_virtual_flags() {
    let json = example_operation(1, 0, 0); // limit_order_create
    let mut op = Operation::from_json(&json).unwrap();
    assert_eq!(op.fee_payer().to_string(), json[1]["seller"].as_str().unwrap());
    op.set_fee(bts_protocol::Asset::core(12345));
    assert_eq!(op.fee(), bts_protocol::Asset::core(12345));
    assert_eq!(serde_json::to_value(&op).unwrap()[1]["fee"], serde_json::json!({"amount": 12345, "asset_id": "1.3.0"}));
    let virtuals: Vec<u32> =
        (0..78).filter(|t| Operation::from_json(&example_operation(*t, 0, 0)).unwrap().is_virtual()).collect();
    assert_eq!(virtuals, [4, 42, 44, 46, 51, 53, 74]);
    let blind = Operation::from_json(&example_operation(40, 0, 0)).unwrap();
    assert_eq!(blind.fee_payer().to_string(), "1.2.4", "blind_transfer is paid by the temp account");
}

#[test]
fn bad_members_are_named() {
    let mut json = example_operation(59, 0, 0); // liquidity_pool_create
    json[1]["asset_a"] = Value::from("1.2.3");
    let err = Operation::from_json(&json).unwrap_err().to_string();
    assert_eq!(err, "liquidity_pool_create.asset_a: expected a 1.3.N id, got \"1.2.3\"");
    let mut json = example_operation(1, 1, 0);
    json[1]["extensions"]["bogus"] = Value::from(1);
    let err = Operation::from_json(&json).unwrap_err().to_string();
    assert!(err.starts_with("limit_order_create.extensions.bogus: unknown extension member"), "{err}");
    let mut json = example_operation(7, 0, 0);
    json[1]["new_listing"] = Value::from(300);
    assert_eq!(
        Operation::from_json(&json).unwrap_err().to_string(),
        "account_whitelist.new_listing: 300 is out of range 0..=255"
    );
}

#[test]
fn nesting_is_bounded() {
    // proposal_create inside proposal_create, 300 deep: an error, not a stack overflow.
    let mut op = example_operation(0, 0, 0);
    for _ in 0..300 {
        let mut p = example_operation(22, 0, 0);
        p[1]["proposed_ops"] = serde_json::json!([{ "op": op }]);
        op = p;
    }
    let err = Operation::from_json(&op).unwrap_err().to_string();
    assert!(err.contains("nested deeper than 200"), "{err}");
    // The same in binary: a chain of proposal_create tags.
    let mut bytes = Vec::new();
    for _ in 0..300 {
        bytes.extend_from_slice(&[22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    }
    assert!(Operation::from_bytes(&bytes, AddressPrefix::BTS).is_err());
}

fn vector_file() -> Value {
    let text = include_str!("vectors/operations-witness_node-7.0.2.json");
    serde_json::from_str(text).expect("vector file is JSON")
}

#[test]
fn bytes_match_witness_node_for_every_operation() {
    let file = vector_file();
    let entries = file["entries"].as_array().expect("entries");
    let mut tags = std::collections::BTreeSet::new();
    for e in entries {
        let tx: Transaction =
            serde_json::from_value(e["transaction"].clone()).unwrap_or_else(|err| panic!("{}: {err}", e["name"]));
        assert_eq!(hex::encode(tx.unsigned_bytes()), e["node_hex"].as_str().unwrap(), "{}", e["name"]);
        let back = Transaction::unpack(&mut bts_protocol::Reader::new(
            &hex::decode(e["node_hex"].as_str().unwrap()).unwrap(),
            AddressPrefix::BTS,
        ))
        .unwrap();
        assert_eq!(back, tx, "{}: the node's bytes decode to the same transaction", e["name"]);
        tags.insert(tx.operations[0].tag());
    }
    assert_eq!(tags.len(), 78, "every tag is covered: {tags:?}");
    assert_eq!(OPERATIONS.len(), 78);
}
