// The web wallet's ChainStore through the gateway while the nodes behind it fail: the socket
// must stay open (no "closed"/"reconnect" status), 2.1.0 updates must keep coming, and the
// registrar's balance object must show each transfer made after a failover.
// Started by crates/gateway/tests/failover.rs with:
//   BTS_WS_URL          ws:// URL of the gateway
//   BTS_GATEWAY_HTTP    http:// URL of the gateway (for /stats.json)
//   BTS_DEVNET_ADMIN    http:// URL of the devnet admin API (fault injection)
//   BTS_NODES           number of devnet nodes
//   BTS_FAILOVERS       how many failovers to run
//   BTS_REGISTRAR_WIF / BTS_REGISTRAR_NAME  the funded account that signs transfers
import { test } from "node:test";
import assert from "node:assert/strict";
import bitsharesWs from "bitsharesjs-ws";
import bitshares from "bitsharesjs";

const { Apis, ChainConfig } = bitsharesWs;
const { ChainStore, TransactionBuilder, PrivateKey, FetchChain } = bitshares;

const env = (k) => {
  const v = process.env[k];
  assert.ok(v, `${k} is set`);
  return v;
};

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms); }),
  ]);
}

/// Resolves when `check()` is true, re-checked on every ChainStore update and every 200 ms.
function until(check, ms, what) {
  return withTimeout(new Promise((resolve) => {
    const poll = () => {
      if (check()) {
        ChainStore.unsubscribe(poll);
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(poll, 200);
    ChainStore.subscribe(poll);
    poll();
  }), ms, what);
}

async function sessionNode(gatewayHttp, nodes) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const stats = await (await fetch(`${gatewayHttp}/stats.json`)).json();
    const on = stats.upstreams.filter((u) => u.connections > 0).map((u) => u.name);
    if (on.length === 1) return Number(on[0].replace("node", ""));
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the session is on no single upstream");
}

async function upstreamState(gatewayHttp, name) {
  const stats = await (await fetch(`${gatewayHttp}/stats.json`)).json();
  return stats.upstreams.find((u) => u.name === name).state;
}

async function setFaults(admin, node, faults) {
  const r = await fetch(`${admin}/nodes/${node}/faults`, {
    method: "PATCH",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(faults),
  });
  assert.equal(r.status, 200, await r.text());
}

test("ChainStore keeps its socket and its subscriptions across node failures", async (t) => {
  const url = env("BTS_WS_URL");
  const gatewayHttp = env("BTS_GATEWAY_HTTP");
  const admin = env("BTS_DEVNET_ADMIN");
  const nodes = Number(env("BTS_NODES"));
  const failovers = Number(env("BTS_FAILOVERS"));
  const key = PrivateKey.fromWif(env("BTS_REGISTRAR_WIF"));
  const statuses = [];
  Apis.setRpcConnectionStatusCallback((s) => statuses.push(s));
  ChainConfig.setPrefix("BTS");
  const instance = Apis.instance(url, true);
  await withTimeout(instance.init_promise, 10000, "connect + login");
  t.after(() => Apis.close());
  await withTimeout(ChainStore.init(true), 10000, "ChainStore.init");

  const head = () => ChainStore.getObject("2.1.0")?.get("head_block_number") ?? 0;
  await until(() => head() > 0, 15000, "2.1.0 in ChainStore");
  // The registrar's full account (ChainStore subscribes with get_full_accounts(…, true)).
  const from = await withTimeout(FetchChain("getAccount", env("BTS_REGISTRAR_NAME")), 5000, "getAccount");
  const to = await withTimeout(FetchChain("getAccount", "init1"), 5000, "getAccount init1");
  const balanceId = from.getIn(["balances", "1.3.0"]);
  assert.ok(balanceId, "the registrar has a core balance object");
  const balance = () => Number(ChainStore.getObject(balanceId)?.get("balance") ?? -1);
  await until(() => balance() >= 0, 10000, "the balance object");

  for (let i = 0; i < failovers; i++) {
    const node = await sessionNode(gatewayHttp, nodes);
    const before = head();
    await setFaults(admin, node, i % 2 === 1 ? { stall: true } : { refuse: true });
    // The session moves; 2.1.0 notices resume from another node on the same socket.
    await until(() => head() > before + 1, 20000, `failover ${i}: 2.1.0 updates after the move`);
    const moved = await sessionNode(gatewayHttp, nodes);
    assert.notEqual(moved, node, `failover ${i}: the session moved`);
    // A transfer through the moved session; its balance change arrives as a notice.
    const was = balance();
    const tr = new TransactionBuilder();
    tr.add_type_operation("transfer", {
      fee: { amount: 0, asset_id: "1.3.0" },
      from: from.get("id"),
      to: to.get("id"),
      amount: { amount: 1000 + i, asset_id: "1.3.0" },
    });
    await tr.set_required_fees();
    tr.add_signer(key, key.toPublicKey().toPublicKeyString());
    await withTimeout(tr.broadcast(), 20000, `failover ${i}: broadcast_transaction_with_callback`);
    await until(() => balance() < was - (1000 + i) + 1, 15000, `failover ${i}: the balance notice`);
    await setFaults(admin, node, { stall: false, refuse: false });
    await withTimeout((async () => {
      while ((await upstreamState(gatewayHttp, `node${node}`)) !== "up") await new Promise((r) => setTimeout(r, 200));
    })(), 20000, `node${node} back up`);
  }
  assert.deepEqual(statuses.filter((s) => s !== "open"), [], "the socket never closed or reconnected");
});
