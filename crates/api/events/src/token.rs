//! The paging tokens wharf mints for ListRules, ListTargetsByRule, ListRuleNamesByTarget and
//! ListEventBuses.
//!
//! # Wire
//! ```text
//! base64url("v1:" + sort key of the last item of the page)   (no padding)
//! ```
//! The sort key is the rule name, target id or bus name. The version prefix is a contract:
//! a later format takes `v2:` and `v1:` tokens stay readable.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// The token that resumes after `last_key`.
pub fn encode(last_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{last_key}"))
}

/// The last key of the previous page, if `token` is one wharf minted.
pub fn decode(token: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    String::from_utf8(bytes).ok()?.strip_prefix("v1:").map(str::to_owned)
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        assert_eq!(super::decode(&super::encode("rule-a")).as_deref(), Some("rule-a"));
        assert_eq!(super::decode("bm9wZQ"), None);
        assert_eq!(super::decode("!!"), None);
    }
}
