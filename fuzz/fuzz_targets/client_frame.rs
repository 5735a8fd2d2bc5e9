//! A client's WebSocket/HTTP frame: fc's parser, the envelope rules, the call decoding and the
//! gateway's fast path. The fast path must never accept a frame the slow path reads differently.
#![no_main]
use bts_rpc::wire::{BorrowedCall, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = bts_rpc::fc::parse(text);
    let slow = Request::parse(text);
    if let Ok(Some(r)) = &slow {
        let _ = r.call();
    }
    if let Some(fast) = BorrowedCall::parse(text) {
        let Ok(Some(r)) = slow else { panic!("fast path accepted a frame the node refuses: {text}") };
        let call = r.call().unwrap_or_else(|e| panic!("fast path accepted a call the node refuses ({e:?}): {text}"));
        assert_eq!(fast.method, call.method, "{text}");
    }
});
