//! Which calls clients may make: the API allowlist and the method denylist, shared by the
//! WebSocket and HTTP paths so both refuse the same calls with the same errors.

use crate::config::LimitsConfig;
use bts_rpc::FcException;
use bts_rpc::wire::{self, RpcError};

/// Names of API sets a client can ask the login API for.
pub const API_SETS: &[&str] = &[
    "database",
    "network_broadcast",
    "history",
    "orders",
    "custom_operations",
    "crypto",
    "network_node",
    "asset",
    "block",
    "debug",
];

/// Checks one call; the error is what the client gets (the node's "Access denied" for APIs).
pub fn check_call(limits: &LimitsConfig, api: &str, method: &str) -> Result<(), RpcError> {
    let allowed = |name: &str| limits.allowed_apis.iter().any(|a| a == name);
    // A name that is no API set at all goes to the node, which answers it as its login API
    // does (method not found, listing the login API's methods).
    let denied_api = if api == "login" {
        API_SETS.contains(&method) && !allowed(method)
    } else {
        API_SETS.contains(&api) && !allowed(api)
    };
    if denied_api {
        crate::metrics::limit_hit("api_denied");
        return Err(FcException::assert("is_allowed", "Access denied").into_error());
    }
    if limits.denied_methods.iter().any(|m| m == method) {
        crate::metrics::limit_hit("method_denied");
        return Err(RpcError::plain(wire::METHOD_NOT_FOUND, format!("method {method} is disabled on this gateway")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_limits_refuse_node_admin_apis() {
        let l = LimitsConfig::default();
        assert!(check_call(&l, "database", "get_chain_id").is_ok());
        assert!(check_call(&l, "login", "history").is_ok());
        assert_eq!(check_call(&l, "login", "network_node").unwrap_err().code, 10);
        assert_eq!(check_call(&l, "debug", "anything").unwrap_err().code, 10);
        assert!(check_call(&l, "no_such_api", "anything").is_ok(), "the node answers unknown API names");
        let l = LimitsConfig { denied_methods: vec!["get_full_accounts".into()], ..l };
        assert_eq!(check_call(&l, "database", "get_full_accounts").unwrap_err().code, -32601);
    }
}
