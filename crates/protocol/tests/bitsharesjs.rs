//! Cross-check with the web wallet's serializer: `tests/js/serializer.test.mjs` packs every
//! node-recorded operation with bitsharesjs and compares bytes (the library stays I/O-free; only
//! this test starts `node`).

use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn bitsharesjs_packs_the_same_bytes() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let js_dir = root.join("../../tests/js");
    assert!(js_dir.join("node_modules/bitsharesjs").exists(), "run `npm ci` in {} (.ci/run does)", js_dir.display());
    let vectors = root.join("tests/vectors/operations-witness_node-7.0.2.json");
    let mut child = Command::new("node")
        .args(["--test", "serializer.test.mjs"])
        .current_dir(&js_dir)
        .env("BTS_OPERATION_VECTORS", &vectors)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node runs (apt install nodejs)");
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("wait for node").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("node --test serializer.test.mjs did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("node output");
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.contains("# pass 1"), "{text}");
}
