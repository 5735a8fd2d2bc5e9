//! The devnet answers like witness_node: API ids, errors and HTTP behaviour
//! (shared/reference/witness_node_observed.md).

mod common;
use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn login_and_api_ids_follow_the_node() {
    let devnet = start(1).await;
    let c = client(&devnet, 0).await;
    assert_eq!(c.call(1u64, "login", json!(["", ""])).await.unwrap(), json!(true));
    assert_eq!(c.call(1u64, "database", json!([])).await.unwrap(), json!(0));
    assert_eq!(c.call(1u64, "network_broadcast", json!([])).await.unwrap(), json!(2));
    assert_eq!(c.call(1u64, "history", json!([])).await.unwrap(), json!(3));
    assert_eq!(c.call(1u64, "orders", json!([])).await.unwrap(), json!(4));
    assert_eq!(c.call(1u64, "network_broadcast", json!([])).await.unwrap(), json!(2), "same API, same id");
    for denied in ["crypto", "network_node", "asset", "block"] {
        let e = rpc_error(c.call(1u64, denied, json!([])).await);
        assert_eq!(
            (e.code, e.message.as_str()),
            (10, "Execution error: Assert Exception: is_allowed: Access denied"),
            "{denied}"
        );
    }
    assert_eq!(
        c.call(1u64, "get_available_api_sets", json!([])).await.unwrap(),
        json!(["custom_operations_api", "database_api", "history_api", "network_broadcast_api", "orders_api"])
    );
    assert_eq!(c.call(1u64, "get_info", json!([])).await.unwrap(), json!(""));
    let chain_id = c.call(0u64, "get_chain_id", json!([])).await.unwrap();
    assert_eq!(chain_id, json!(devnet.chain_id().to_string()));
    // Named APIs resolve through the login API.
    assert_eq!(c.call("database", "get_chain_id", json!([])).await.unwrap(), chain_id);
    let config = c.call(0u64, "get_config", json!([])).await.unwrap();
    assert_eq!(config["GRAPHENE_ADDRESS_PREFIX"], "BTS");
    // The node's get_config has 62 entries (recorded from witness_node 7.0.2).
    assert_eq!(config.as_object().unwrap().len(), 62);
}

#[tokio::test]
async fn errors_have_the_node_shape_and_the_socket_stays_usable() {
    let devnet = start(1).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(devnet.endpoints()[0].ws_url()).await.unwrap();
    let mut ask = async |text: &str| -> Value {
        ws.send(Message::text(text.to_owned())).await.unwrap();
        loop {
            match ws.next().await.unwrap().unwrap() {
                Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
                _ => continue,
            }
        }
    };
    let v = ask(r#"{"id":1,"method":"call","params":[0,"no_such_method",[]]}"#).await;
    assert_eq!(v["id"], 1);
    assert_eq!(v["error"]["code"], -32601);
    assert_eq!(v["error"]["message"], "Method not found");
    assert_eq!(v["error"]["data"]["code"], 22);
    assert_eq!(v["error"]["data"]["name"], "method_not_found_exception");
    // The node lists the API's methods as [name, index] pairs, sorted by name.
    let frame = &v["error"]["data"]["stack"][0];
    assert_eq!(frame["format"], "No method with name '${name}'");
    assert_eq!(frame["data"]["name"], "no_such_method");
    let methods = frame["data"]["api"].as_array().unwrap();
    assert!(methods.iter().any(|m| m[0] == "get_chain_id" && m[1].is_u64()), "{methods:?}");
    assert!(methods.windows(2).all(|w| w[0][0].as_str() < w[1][0].as_str()), "sorted by name");

    let v = ask(r#"{"id":2,"method":"call","params":[99,"get_chain_id",[]]}"#).await;
    assert_eq!(v["error"]["code"], 10);
    assert_eq!(v["error"]["message"], "Execution error: Assert Exception: _local_apis.size() > api_id: ");
    assert_eq!(v["error"]["data"]["name"], "assert_exception");

    let v = ask(r#"{"id":3,"method":"call","params":[0,"get_objects",["x"]]}"#).await;
    assert_eq!(v["error"]["code"], 7);
    assert_eq!(v["error"]["message"], "Execution error: Bad Cast: Invalid cast from string_type to Array");
    assert_eq!(v["error"]["data"]["name"], "bad_cast_exception");

    let v = ask("{this is not json").await;
    assert_eq!(v["id"], Value::Null);
    assert_eq!(v["jsonrpc"], "2.0");
    assert_eq!(v["error"]["code"], -32700);
    assert_eq!(v["error"]["message"], "Invalid JSON message");

    // Same socket, still answering; top-level methods route to API 0; jsonrpc is echoed.
    let v = ask(r#"{"id":"s","method":"get_chain_id","params":[],"jsonrpc":"2.0"}"#).await;
    assert_eq!(v, json!({"id": "s", "jsonrpc": "2.0", "result": devnet.chain_id().to_string()}));
}

#[tokio::test]
async fn http_json_rpc_statuses_and_connection_close() {
    let devnet = start(1).await;
    let addr = node_addr(&devnet, 0);
    let (status, head, body) =
        http(addr, "POST", "/", r#"{"id":1,"method":"call","params":["database","get_chain_id",[]]}"#).await;
    assert_eq!(status, 200);
    assert!(head.contains("connection: close"), "{head}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"id":1,"result":devnet.chain_id().to_string()}),
        "jsonrpc is echoed only when the request had it"
    );

    let (status, _, body) =
        http(addr, "POST", "/rpc", r#"{"id":1,"method":"call","params":[0,"get_chain_id",[]]}"#).await;
    assert_eq!(status, 200, "the path is not checked: {body}");

    let (status, _, body) = http(addr, "POST", "/", r#"{"id":1,"method":"call","params":[0,"nope",[]]}"#).await;
    assert_eq!(status, 400);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"]["code"], -32601);

    let (status, _, body) = http(addr, "POST", "/", "{oops").await;
    assert_eq!(status, 400);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((v["id"].clone(), v["error"]["code"].clone()), (Value::Null, json!(-32700)));

    let (status, _, body) = http(addr, "POST", "/", r#"{"method":"call","params":[0,"get_chain_id",[]]}"#).await;
    assert_eq!((status, body.as_str()), (204, ""));

    let (status, _, body) = http(addr, "POST", "/", r#"[{"id":1,"method":"get_chain_id","params":[]}]"#).await;
    assert_eq!(status, 400);
    assert_eq!(body, r#"{"id":null,"jsonrpc":"2.0","error":{"code":-32600,"message":"Batch requests not supported"}}"#);

    // Execution errors are 200 over HTTP.
    let (status, _, body) =
        http(addr, "POST", "/", r#"{"id":5,"method":"call","params":[0,"get_objects",["x"]]}"#).await;
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"]["code"], 7);
}

#[tokio::test]
async fn chain_objects_look_like_the_node() {
    let devnet = start(1).await;
    let c = client(&devnet, 0).await;
    let dgp = c.call(0u64, "get_dynamic_global_properties", json!([])).await.unwrap();
    let keys: Vec<&str> = dgp.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "id",
            "head_block_number",
            "head_block_id",
            "time",
            "current_witness",
            "next_maintenance_time",
            "last_vote_tally_time",
            "last_budget_time",
            "witness_budget",
            "total_pob",
            "total_inactive",
            "accounts_registered_this_interval",
            "recently_missed_count",
            "current_aslot",
            "recent_slots_filled",
            "dynamic_flags",
            "last_irreversible_block_num"
        ]
    );
    let head = dgp["head_block_number"].as_u64().unwrap();
    let id = dgp["head_block_id"].as_str().unwrap();
    assert_eq!(u64::from_str_radix(&id[..8], 16).unwrap(), head, "block number leads the id");

    let names: Vec<String> = (0..6)
        .map(|i| c.call(0u64, "get_objects", json!([[format!("1.2.{i}")]])))
        .collect::<futures_util::future::JoinAll<_>>()
        .await
        .into_iter()
        .map(|v| v.unwrap()[0]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "committee-account",
            "witness-account",
            "relaxed-committee-account",
            "null-account",
            "temp-account",
            "proxy-to-self"
        ]
    );

    let registrar = c.call(0u64, "get_account_by_name", json!(["faucet"])).await.unwrap();
    assert_eq!(registrar["id"], "1.2.17");
    assert_eq!(registrar["membership_expiration_date"], "2106-02-07T06:28:15");
    assert_eq!(registrar["lifetime_referrer_fee_percentage"], 8000);
    assert_eq!(registrar["network_fee_percentage"], 2000);

    let asset = c.call(0u64, "lookup_asset_symbols", json!([["BTS"]])).await.unwrap();
    assert_eq!((asset[0]["id"].clone(), asset[0]["precision"].clone()), (json!("1.3.0"), json!(5)));
    let gp = c.call(0u64, "get_global_properties", json!([])).await.unwrap();
    assert_eq!(
        gp["parameters"]["current_fees"]["parameters"][5],
        json!([5, {"basic_fee": 500000, "premium_fee": 200000000, "price_per_kbyte": 100000}])
    );
    assert_eq!(gp["parameters"]["block_interval"], 1);

    let block = c.call(0u64, "get_block", json!([1])).await.unwrap();
    let keys: Vec<&str> = block.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "previous",
            "timestamp",
            "witness",
            "transaction_merkle_root",
            "extensions",
            "witness_signature",
            "transactions"
        ]
    );
    let header = c.call(0u64, "get_block_header", json!([1])).await.unwrap();
    assert!(header.get("witness_signature").is_none() && header.get("transactions").is_none());
    assert_eq!(c.call(0u64, "get_block", json!([1_000_000])).await.unwrap(), Value::Null);

    let full = c.call(0u64, "get_full_accounts", json!([["faucet"], false])).await.unwrap();
    assert_eq!(full[0][0], "faucet");
    assert_eq!(full[0][1]["balances"][0]["balance"], "100000000000");
    let refs = c
        .call(0u64, "get_key_references", json!([[registrar_key().public_key(bts_protocol::AddressPrefix::BTS)]]))
        .await
        .unwrap();
    assert_eq!(refs, json!([["1.2.17"]]));
    let accounts = c.call(0u64, "lookup_accounts", json!(["fa", 2])).await.unwrap();
    assert_eq!(accounts[0], json!(["faucet", "1.2.17"]));
}
