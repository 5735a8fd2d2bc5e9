// The web wallet's own libraries (bitsharesjs-ws + bitsharesjs) against a bts-infra endpoint.
// Started by crates/devnet/tests/js_clients.rs with:
//   BTS_WS_URL          ws:// URL of the endpoint under test
//   BTS_CHAIN_ID        expected chain id
//   BTS_REGISTRAR_WIF   WIF of a funded account that signs the transfer
//   BTS_REGISTRAR_NAME  that account's name
import { test } from "node:test";
import assert from "node:assert/strict";
import bitsharesWs from "bitsharesjs-ws";
import bitshares from "bitsharesjs";

const { Apis, ChainConfig } = bitsharesWs;
const { ChainStore, TransactionBuilder, PrivateKey, FetchChain } = bitshares;

const url = process.env.BTS_WS_URL;
const chainId = process.env.BTS_CHAIN_ID;
const wif = process.env.BTS_REGISTRAR_WIF;
const registrarName = process.env.BTS_REGISTRAR_NAME;

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms); }),
  ]);
}

test("bitsharesjs connects, subscribes and broadcasts a transfer", async (t) => {
  assert.ok(url && chainId && wif && registrarName, "BTS_* environment variables are set");
  // bitsharesjs-ws keeps its "CBA" default prefix for chain ids it does not know; a wallet
  // configured for a private chain sets the prefix, as here.
  ChainConfig.setPrefix("BTS");
  const instance = Apis.instance(url, true);
  await withTimeout(instance.init_promise, 10000, "connect + login + API ids");
  t.after(() => Apis.close());
  assert.equal(instance.chain_id, chainId);
  assert.equal(typeof instance.db_api().api_id, "number");
  assert.equal(instance.network_api().api_id, 2);
  assert.equal(await instance.db_api().exec("get_chain_id", []), chainId);

  // ChainStore: subscribe and receive 2.1.0 updates.
  await withTimeout(ChainStore.init(true), 10000, "ChainStore.init");
  // getObject fetches 2.1.0 (subscribing to it) and returns undefined until it arrives; each
  // notice for it then updates the store. Two different heads prove updates are pushed.
  const heads = new Set();
  await withTimeout(new Promise((resolve) => {
    const check = () => {
      const dgp = ChainStore.getObject("2.1.0");
      if (dgp) heads.add(dgp.get("head_block_number"));
      if (heads.size >= 2) {
        ChainStore.unsubscribe(check);
        resolve();
      }
    };
    ChainStore.subscribe(check);
    check();
  }), 15000, "a 2.1.0 update through ChainStore");

  // A transfer built, fee-priced and signed by TransactionBuilder.
  const from = await withTimeout(FetchChain("getAccount", registrarName), 5000, "FetchChain getAccount");
  const to = await withTimeout(FetchChain("getAccount", "init1"), 5000, "FetchChain getAccount init1");
  const before = await instance.db_api().exec("get_account_balances", [to.get("id"), ["1.3.0"]]);
  const key = PrivateKey.fromWif(wif);
  const tr = new TransactionBuilder();
  tr.add_type_operation("transfer", {
    fee: { amount: 0, asset_id: "1.3.0" },
    from: from.get("id"),
    to: to.get("id"),
    amount: { amount: 123456, asset_id: "1.3.0" },
  });
  await tr.set_required_fees();
  tr.add_signer(key, key.toPublicKey().toPublicKeyString());
  await withTimeout(tr.broadcast(), 20000, "broadcast_transaction_with_callback");
  const after = await instance.db_api().exec("get_account_balances", [to.get("id"), ["1.3.0"]]);
  assert.equal(Number(after[0].amount) - Number(before[0].amount), 123456);
});
