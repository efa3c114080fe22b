//! The AWS managed policies wharf ships, with the documents AWS publishes for them
//! (`managed/policies.json`, sources in `managed/SOURCES.md`), compiled once on first use.
//!
//! They exist in every account under `arn:aws:iam::aws:policy/…`; they cannot be changed or
//! deleted, only attached.

use crate::policy::Policy;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// One AWS managed policy.
#[derive(Debug)]
pub struct AwsManagedPolicy {
    /// Its name.
    pub name: String,
    /// Its path.
    pub path: String,
    /// Its ARN.
    pub arn: String,
    /// The default version id.
    pub version: String,
    /// When AWS created it (ISO 8601).
    pub created: Option<String>,
    /// When AWS last changed it (ISO 8601).
    pub updated: Option<String>,
    /// AWS's description.
    pub description: Option<String>,
    /// The document, as JSON text.
    pub document: String,
    /// The document, compiled.
    pub policy: Arc<Policy>,
    /// A stable unique id (`ANPA…`), derived from the name.
    pub id: String,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    path: String,
    arn: String,
    version: String,
    created: Option<String>,
    updated: Option<String>,
    description: Option<String>,
    document: serde_json::Value,
}

const POLICIES_JSON: &str = include_str!("../managed/policies.json");

fn all() -> &'static BTreeMap<String, AwsManagedPolicy> {
    static POLICIES: OnceLock<BTreeMap<String, AwsManagedPolicy>> = OnceLock::new();
    POLICIES.get_or_init(|| {
        let entries: Vec<Entry> = serde_json::from_str(POLICIES_JSON).unwrap_or_default();
        entries
            .into_iter()
            .filter_map(|entry| {
                let policy = Policy::from_value(&entry.document).ok()?;
                let id = stable_id(&entry.name);
                Some((
                    entry.arn.clone(),
                    AwsManagedPolicy {
                        document: entry.document.to_string(),
                        policy: Arc::new(policy),
                        name: entry.name,
                        path: entry.path,
                        arn: entry.arn,
                        version: entry.version,
                        created: entry.created,
                        updated: entry.updated,
                        description: entry.description,
                        id,
                    },
                ))
            })
            .collect()
    })
}

/// `ANPA` and 17 characters derived from the name, so the id is the same on every start.
fn stable_id(name: &str) -> String {
    use sha2::Digest;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let digest = sha2::Sha256::digest(name.as_bytes());
    let tail: String = digest.iter().take(17).map(|byte| char::from(ALPHABET[usize::from(*byte) % 32])).collect();
    format!("ANPA{tail}")
}

/// The AWS managed policy of `arn`.
pub fn by_arn(arn: &str) -> Option<&'static AwsManagedPolicy> {
    all().get(arn)
}

/// Every AWS managed policy, by ARN.
pub fn list() -> impl Iterator<Item = &'static AwsManagedPolicy> {
    all().values()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_shipped_policy_parses() {
        let entries: Vec<serde_json::Value> = serde_json::from_str(super::POLICIES_JSON).expect("policies.json");
        assert_eq!(super::list().count(), entries.len(), "every shipped document is a valid policy");
        let basic = super::by_arn("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
            .expect("AWSLambdaBasicExecutionRole ships");
        assert!(basic.document.contains("logs:PutLogEvents"));
    }
}
