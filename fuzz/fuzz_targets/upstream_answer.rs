//! A node's frame as the gateway session and the RPC client read it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Some(frame) = bts_gateway::session::UpstreamFrame::parse(text) {
        let _ = frame.notice();
    }
    let _ = bts_rpc::wire::parse_incoming(text);
});
