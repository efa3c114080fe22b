//! Resource policies (queue policies, function policies) parsed once per document: they are
//! stored as text by the engines that own them and read on every request that touches them.

use crate::Policy;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Parsed policies by document text.
#[derive(Debug, Default)]
pub struct PolicyCache {
    parsed: Mutex<HashMap<String, Option<Arc<Policy>>>>,
}

/// Policies kept at most; the cache is emptied when it is full (policies change rarely).
const POLICIES_KEPT: usize = 1024;

impl PolicyCache {
    /// The policy of `document`, parsed once (`None` if it is not a valid policy).
    pub fn parsed(&self, document: &str) -> Option<Arc<Policy>> {
        let mut parsed = self.parsed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(policy) = parsed.get(document) {
            return policy.clone();
        }
        let policy = document.parse::<Policy>().ok().map(Arc::new);
        if parsed.len() >= POLICIES_KEPT {
            parsed.clear();
        }
        parsed.insert(document.to_owned(), policy.clone());
        policy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_parsed_once_and_a_bad_one_is_none() {
        let cache = PolicyCache::default();
        let document = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"}]}"#;
        let first = cache.parsed(document).expect("valid");
        let second = cache.parsed(document).expect("valid");
        assert!(Arc::ptr_eq(&first, &second), "the same parse");
        assert!(cache.parsed("not a policy").is_none());
    }
}
