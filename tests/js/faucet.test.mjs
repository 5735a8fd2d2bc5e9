// The web wallet's account creation against the bts-infra faucet, done as bitshares-ui does it:
// keys derived from name + role + password (WalletDb.generateKeyFromPassword), the POST of
// WalletActions.createAccountWithPassword to <faucet_address>/api/v1/accounts, then
// FetchChain("getAccount") through the gateway. Started by crates/faucet/tests/js_wallet.rs with:
//   BTS_FAUCET_ADDRESS  the wallet's faucet_address setting (e.g. http://127.0.0.1:8070/onboarding)
//   BTS_WS_URL          ws:// URL of the gateway
//   BTS_CHAIN_ID        expected chain id
//   BTS_REGISTRAR_NAME  the faucet's registrar
import { test } from "node:test";
import assert from "node:assert/strict";
import bitsharesWs from "bitsharesjs-ws";
import bitshares from "bitsharesjs";

const { Apis, ChainConfig } = bitsharesWs;
const { ChainStore, PrivateKey, FetchChain } = bitshares;

const faucetAddress = process.env.BTS_FAUCET_ADDRESS;
const url = process.env.BTS_WS_URL;
const chainId = process.env.BTS_CHAIN_ID;
const registrarName = process.env.BTS_REGISTRAR_NAME;

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms); }),
  ]);
}

// bitshares-ui WalletDb.generateKeyFromPassword.
function generateKeyFromPassword(accountName, role, password) {
  const seed = accountName + role + password;
  const privKey = PrivateKey.fromSeed(seed);
  const pubKey = privKey.toPublicKey().toString();
  return { privKey, pubKey };
}

// bitshares-ui WalletActions.createAccountWithPassword (the faucet branch).
async function createAccountWithPassword(account_name, password, referrer) {
  const { pubKey: owner_key } = generateKeyFromPassword(account_name, "owner", password);
  const { pubKey: active_key } = generateKeyFromPassword(account_name, "active", password);
  const { pubKey: memo_key } = generateKeyFromPassword(account_name, "memo", password);
  const res = await fetch(faucetAddress + "/api/v1/accounts", {
    method: "post",
    mode: "cors",
    headers: { Accept: "application/json", "Content-type": "application/json" },
    body: JSON.stringify({
      account: { name: account_name, owner_key, active_key, memo_key, refcode: null, referrer },
    }),
  });
  const body = await res.json();
  return { body, owner_key, active_key, memo_key, res };
}

// How the wallet turns a faucet answer into the message it shows.
function walletErrorMessage(body) {
  let msg = "unknown error";
  if (body.error) {
    if (body.error.base && body.error.base.length) msg = body.error.base[0];
    if (body.error.remote_ip) msg = body.error.remote_ip[0];
  }
  return msg;
}

test("the wallet registers a password account through the faucet and finds it on chain", async (t) => {
  assert.ok(faucetAddress && url && chainId && registrarName, "BTS_* environment variables are set");
  ChainConfig.setPrefix("BTS");
  const instance = Apis.instance(url, true);
  await withTimeout(instance.init_promise, 10000, "connect + login + API ids");
  t.after(() => Apis.close());
  assert.equal(instance.chain_id, chainId);
  await withTimeout(ChainStore.init(true), 10000, "ChainStore.init");

  const name = "wallet-user-" + Date.now().toString(36);
  const { body, owner_key, active_key, memo_key, res } = await createAccountWithPassword(name, "P5K-a-long-generated-password", "init4");
  assert.equal(res.headers.get("access-control-allow-origin"), "*");
  assert.equal(body.error, undefined, `faucet answered ${JSON.stringify(body)}`);
  assert.equal(body.account.name, name);
  assert.notEqual(owner_key, active_key);
  assert.notEqual(active_key, memo_key);

  // The wallet looks the account up right after the faucet answers.
  const account = await withTimeout(FetchChain("getAccount", name), 3000, "FetchChain getAccount");
  assert.ok(account, "the account exists when the faucet has answered");
  assert.equal(account.getIn(["owner", "key_auths", 0, 0]), owner_key);
  assert.equal(account.getIn(["active", "key_auths", 0, 0]), active_key);
  assert.equal(account.getIn(["options", "memo_key"]), memo_key);
  const registrar = await withTimeout(FetchChain("getAccount", registrarName), 3000, "registrar lookup");
  const referrer = await withTimeout(FetchChain("getAccount", "init4"), 3000, "referrer lookup");
  assert.equal(account.get("registrar"), registrar.get("id"));
  assert.equal(account.get("referrer"), referrer.get("id"));
  assert.equal(account.get("referrer_rewards_percentage"), 5000);

  // The unlock step: the password keys derived again match the chain's authorities.
  const again = generateKeyFromPassword(name, "active", "P5K-a-long-generated-password");
  assert.equal(again.pubKey, account.getIn(["active", "key_auths", 0, 0]));

  // Refusals reach the user as the wallet shows them.
  const taken = await createAccountWithPassword(name, "another-password", null);
  assert.equal(walletErrorMessage(taken.body), "Account exists");
  const premium = await createAccountWithPassword("premiumname", "p", null);
  assert.equal(walletErrorMessage(premium.body), "Premium names registration is not supported by this faucet");
});
