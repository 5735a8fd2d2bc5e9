//! Transaction validation like the node: accepted when right, rejected with the node's texts.

mod common;
use bts_protocol::*;
use common::*;
use serde_json::{Value, json};

const INIT0: AccountId = AccountId::new(6);

async fn broadcast(c: &bts_rpc::WsClient, tx: &SignedTransaction) -> Result<Value, bts_rpc::ClientError> {
    c.call("network_broadcast", "broadcast_transaction_synchronous", json!([tx])).await
}

fn message(e: bts_rpc::RpcError) -> String {
    e.message
}

#[tokio::test]
async fn a_signed_transfer_is_included_and_moves_the_balance() {
    let devnet = start(1).await;
    let c = client(&devnet, 0).await;
    let chain_id = devnet.chain_id();
    let op = transfer(REGISTRAR, INIT0, 12_345, 0);
    let fee = fee_for(&c, &op).await;
    assert_eq!(fee, 2_000_000, "transfer fee from the dev fee schedule");
    let tx = signed(build_tx(&c, vec![with_fee(op, fee)]).await, &[&registrar_key()], &chain_id);
    let before = c.call(0u64, "get_account_balances", json!(["1.2.6", ["1.3.0"]])).await.unwrap();

    let result = broadcast(&c, &tx).await.unwrap();
    assert_eq!(result["id"], tx.transaction.id().to_string());
    assert!(result["block_num"].as_u64().unwrap() >= 1);
    assert_eq!(result["trx_num"], 0);
    assert_eq!(result["trx"]["operation_results"], json!([[0, {}]]));

    let after = c.call(0u64, "get_account_balances", json!(["1.2.6", ["1.3.0"]])).await.unwrap();
    assert_eq!(after[0]["amount"].as_i64().unwrap() - before[0]["amount"].as_i64().unwrap(), 12_345);
    // The block really holds it, and the node's own serialization matches ours.
    let block = c.call(0u64, "get_block", json!([result["block_num"]])).await.unwrap();
    assert_eq!(block["transactions"][0]["signatures"], json!(tx.signatures));
    let hex = c.call(0u64, "get_transaction_hex", json!([tx])).await.unwrap();
    assert_eq!(hex, json!(hex::encode(tx.signed_bytes())));
    let history = c.call("history", "get_account_history", json!(["1.2.6", "1.11.0", 10, "1.11.0"])).await.unwrap();
    assert_eq!(history[0]["op"][0], 0);

    // The very same transaction again: the node's duplicate error.
    let e = rpc_error(broadcast(&c, &tx).await);
    assert_eq!(
        message(e),
        format!(
            "Execution error: duplicate transaction: Transaction '{}' is already in the database",
            tx.transaction.id()
        )
    );
}

#[tokio::test]
async fn bad_transactions_get_the_node_errors() {
    let devnet = start(1).await;
    let c = client(&devnet, 0).await;
    let chain_id = devnet.chain_id();
    let key = registrar_key();
    let stranger = PrivateKey::from_seed("stranger").unwrap();
    let good_op = transfer(REGISTRAR, INIT0, 1, 2_000_000);

    let unsigned = signed(build_tx(&c, vec![good_op.clone()]).await, &[], &chain_id);
    assert_eq!(
        message(rpc_error(broadcast(&c, &unsigned).await)),
        "Execution error: missing required active authority: Missing Active Authority 1.2.17"
    );

    let wrong = signed(build_tx(&c, vec![good_op.clone()]).await, &[&stranger], &chain_id);
    assert_eq!(
        message(rpc_error(broadcast(&c, &wrong).await)),
        "Execution error: missing required active authority: Missing Active Authority 1.2.17"
    );

    let extra = signed(build_tx(&c, vec![good_op.clone()]).await, &[&key, &stranger], &chain_id);
    let e = rpc_error(broadcast(&c, &extra).await);
    assert_eq!(e.name(), Some("tx_irrelevant_sig"), "{}", e.message);

    // Tampered after signing: the signature now recovers some other key.
    let mut tampered = signed(build_tx(&c, vec![good_op.clone()]).await, &[&key], &chain_id);
    tampered.transaction.operations = vec![transfer(REGISTRAR, INIT0, 999_999, 2_000_000)];
    assert_eq!(
        message(rpc_error(broadcast(&c, &tampered).await)),
        "Execution error: missing required active authority: Missing Active Authority 1.2.17"
    );

    // A non-canonical signature (r with its top bit set).
    let mut noncanon = signed(build_tx(&c, vec![good_op.clone()]).await, &[&key], &chain_id);
    noncanon.signatures[0].0[1] |= 0x80;
    assert!(message(rpc_error(broadcast(&c, &noncanon).await)).contains("signature is not canonical"));

    let mut expired = build_tx(&c, vec![good_op.clone()]).await;
    expired.expiration = TimePointSec(expired.expiration.secs() - 3600);
    let expired = signed(expired, &[&key], &chain_id);
    assert_eq!(
        message(rpc_error(broadcast(&c, &expired).await)),
        "Execution error: Assert Exception: now <= trx.expiration: "
    );

    let mut far = build_tx(&c, vec![good_op.clone()]).await;
    far.expiration = TimePointSec(far.expiration.secs() + 2 * 86_400);
    let far = signed(far, &[&key], &chain_id);
    assert_eq!(
        message(rpc_error(broadcast(&c, &far).await)),
        "Execution error: Assert Exception: trx.expiration <= now + chain_parameters.maximum_time_until_expiration: "
    );

    let mut tapos = build_tx(&c, vec![good_op.clone()]).await;
    tapos.ref_block_prefix ^= 1;
    let tapos = signed(tapos, &[&key], &chain_id);
    assert_eq!(
        message(rpc_error(broadcast(&c, &tapos).await)),
        "Execution error: Assert Exception: trx.ref_block_prefix == tapos_block_summary.block_id._hash[1].value(): "
    );

    let cheap = signed(build_tx(&c, vec![transfer(REGISTRAR, INIT0, 1, 1_999_999)]).await, &[&key], &chain_id);
    assert_eq!(
        message(rpc_error(broadcast(&c, &cheap).await)),
        "Execution error: insufficient fee: Insufficient Fee Paid"
    );

    let too_much = signed(
        build_tx(&c, vec![transfer(INIT0, AccountId::new(0), 100_000, 2_000_000)]).await,
        &[&PrivateKey::from_seed("nathan").unwrap()],
        &chain_id,
    );
    assert_eq!(
        message(rpc_error(broadcast(&c, &too_much).await)),
        "Execution error: Assert Exception: insufficient_balance: Insufficient Balance: 0 BTS, unable to transfer '1 BTS' from account 'init0' to 'committee-account' Unable to transfer 1 BTS from init0 to committee-account"
    );
    // Nothing above changed the chain: the registrar's balance is untouched.
    let bal = c.call(0u64, "get_account_balances", json!(["faucet", ["1.3.0"]])).await.unwrap();
    assert_eq!(bal[0]["amount"], "100000000000");
}

#[tokio::test]
async fn account_create_rules_and_cashback() {
    let devnet = start(1).await;
    let c = client(&devnet, 0).await;
    let chain_id = devnet.chain_id();
    let key = registrar_key();
    let user = PrivateKey::from_seed("user").unwrap().public_key(AddressPrefix::BTS);

    let op = account_create("new-user-1", user, 0);
    let fee = fee_for(&c, &op).await;
    assert_eq!(fee, 500_000 + op.pack_size() as i64 * 100_000 / 1024, "basic fee + data fee");
    let tx = signed(build_tx(&c, vec![with_fee(op, fee)]).await, &[&key], &chain_id);
    let r = broadcast(&c, &tx).await.unwrap();
    assert_eq!(r["trx"]["operation_results"], json!([[1, "1.2.18"]]));
    let acct = c.call(0u64, "get_account_by_name", json!(["new-user-1"])).await.unwrap();
    assert_eq!(acct["membership_expiration_date"], "1970-01-01T00:00:00");
    assert_eq!(acct["referrer_rewards_percentage"], 5000);
    assert_eq!(acct["lifetime_referrer_fee_percentage"], 3000);
    assert_eq!(acct["registrar"], "1.2.17");

    // The registrar earns 80 % of the fee back as cashback, claimable with op 33.
    let vbs = c.call(0u64, "get_vesting_balances", json!(["faucet"])).await.unwrap();
    let cashback = vbs[0]["balance"]["amount"].as_i64().unwrap();
    assert_eq!(cashback, fee * 8000 / 10_000);

    // Name taken, premium name at the basic fee, invalid name.
    let dup =
        signed(build_tx(&c, vec![with_fee(account_create("new-user-1", user, 0), fee)]).await, &[&key], &chain_id);
    assert_eq!(
        message(rpc_error(broadcast(&c, &dup).await)),
        "Execution error: Assert Exception: current_account_itr == acnt_indx.indices().get<by_name>().end(): Account 'new-user-1' already exists."
    );
    let premium = signed(build_tx(&c, vec![account_create("premium", user, fee)]).await, &[&key], &chain_id);
    assert_eq!(
        message(rpc_error(broadcast(&c, &premium).await)),
        "Execution error: insufficient fee: Insufficient Fee Paid"
    );
    let bad = signed(build_tx(&c, vec![account_create("Bad-Name1", user, fee)]).await, &[&key], &chain_id);
    assert_eq!(
        message(rpc_error(broadcast(&c, &bad).await)),
        "Execution error: Assert Exception: is_valid_name( name ): "
    );

    // A non-member registrar cannot register.
    let user_key = PrivateKey::from_seed("user").unwrap();
    let mut by_user = account_create("another-1", user, fee);
    if let Operation::AccountCreate(c) = &mut by_user {
        c.registrar = AccountId::new(18);
        c.referrer = AccountId::new(18);
    }
    let send = signed(
        build_tx(&c, vec![transfer(REGISTRAR, AccountId::new(18), 100_000_000, 2_000_000)]).await,
        &[&key],
        &chain_id,
    );
    broadcast(&c, &send).await.unwrap();
    let by_user = signed(build_tx(&c, vec![by_user]).await, &[&user_key], &chain_id);
    assert!(
        message(rpc_error(broadcast(&c, &by_user).await)).ends_with("Only Lifetime members may register an account.")
    );

    // Claim the cashback.
    let vb: VestingBalanceId = vbs[0]["id"].as_str().unwrap().parse().unwrap();
    let claim = Operation::VestingBalanceWithdraw(VestingBalanceWithdrawOperation {
        fee: Asset::core(0),
        vesting_balance: vb,
        owner: REGISTRAR,
        amount: Asset::core(cashback),
    });
    let claim_fee = fee_for(&c, &claim).await;
    let claim = signed(build_tx(&c, vec![with_fee(claim, claim_fee)]).await, &[&key], &chain_id);
    broadcast(&c, &claim).await.unwrap();
    let vbs = c.call(0u64, "get_vesting_balances", json!(["faucet"])).await.unwrap();
    // What is left is the cashback earned after the balance was read: the transfer's fee and
    // the claim's own fee.
    assert_eq!(vbs[0]["balance"]["amount"].as_i64().unwrap(), (2_000_000 + claim_fee) * 8000 / 10_000);

    // Upgrading the new account makes it a lifetime member.
    let upgrade = Operation::AccountUpgrade(AccountUpgradeOperation {
        fee: Asset::core(0),
        account_to_upgrade: AccountId::new(18),
        upgrade_to_lifetime_member: true,
        extensions: Extensions,
    });
    let up_fee = fee_for(&c, &upgrade).await;
    assert_eq!(up_fee, 1_000_000_000);
    let send = signed(
        build_tx(&c, vec![transfer(REGISTRAR, AccountId::new(18), up_fee, 2_000_000)]).await,
        &[&key],
        &chain_id,
    );
    broadcast(&c, &send).await.unwrap();
    let upgrade = signed(build_tx(&c, vec![with_fee(upgrade, up_fee)]).await, &[&user_key], &chain_id);
    broadcast(&c, &upgrade).await.unwrap();
    let acct = c.call(0u64, "get_account_by_name", json!(["new-user-1"])).await.unwrap();
    assert_eq!(acct["membership_expiration_date"], "2106-02-07T06:28:15");
    assert_eq!(acct["referrer"], "1.2.18");
}

#[tokio::test]
async fn validate_transaction_is_a_dry_run() {
    let devnet = start(1).await;
    let c = client(&devnet, 0).await;
    let tx = signed(
        build_tx(&c, vec![transfer(REGISTRAR, INIT0, 1, 2_000_000)]).await,
        &[&registrar_key()],
        &devnet.chain_id(),
    );
    let r = c.call(0u64, "validate_transaction", json!([tx])).await.unwrap();
    assert_eq!(r["operation_results"], json!([[0, {}]]));
    // Not applied: broadcasting it afterwards works (no duplicate error).
    broadcast(&c, &tx).await.unwrap();
}
