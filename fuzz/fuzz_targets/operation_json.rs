//! Operations and transactions in JSON: reading never panics; what reads writes back to JSON
//! that reads to the same operation, and packs to bytes that unpack to it.
#![no_main]
use bts_protocol::{AddressPrefix, Operation, Pack, SignedTransaction, Unpack};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    if let Ok(op) = Operation::from_json(&json) {
        let written = serde_json::to_value(&op).expect("operations serialize");
        assert_eq!(Operation::from_json(&written).expect("written JSON reads"), op);
        let bytes = op.to_bytes();
        assert_eq!(Operation::from_bytes(&bytes, AddressPrefix::BTS).expect("packed op unpacks"), op);
    }
    let _ = serde_json::from_value::<SignedTransaction>(json);
});
