//! Storage of IAM: users (with their access keys, inline policies and attachments), groups,
//! roles and customer managed policies (with their versions).
//!
//! IAM changes at human speed and its entities are few, so each entity is one record
//! ([`IamRecord`]) replaced whole; the engine reads everything once at start-up and keeps it
//! in memory, compiled. Every change is written through before it is answered.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;
use wharf_types::EpochMillis;

use crate::StoreError;

/// An access key of a user.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessKeyRow {
    /// `AKIA…`.
    pub id: String,
    /// The secret access key.
    pub secret: String,
    /// `Active` or `Inactive`.
    pub active: bool,
    /// When it was created.
    pub created_ms: EpochMillis,
}

impl std::fmt::Debug for AccessKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("AccessKeyRow").field("id", &self.id).field("active", &self.active).finish_non_exhaustive()
    }
}

/// What users, groups and roles share: identity, policies and tags.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrincipalRow {
    /// Owner account.
    pub account: String,
    /// The entity's name.
    pub name: String,
    /// Its path (`/` by default).
    pub path: String,
    /// AWS's unique id (`AIDA…`, `AGPA…`, `AROA…`).
    pub id: String,
    /// When it was created.
    pub created_ms: EpochMillis,
    /// Inline policies: name → document (as given).
    #[serde(default)]
    pub inline_policies: BTreeMap<String, String>,
    /// Attached managed policies' ARNs, in attachment order.
    #[serde(default)]
    pub attached_policies: Vec<String>,
    /// The permissions boundary's policy ARN.
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    /// Tags, in the order they were added.
    #[serde(default)]
    pub tags: Vec<(String, String)>,
}

/// A role's own parts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoleRow {
    /// Identity, policies, tags.
    pub principal: PrincipalRow,
    /// The trust policy, as given.
    pub assume_role_policy: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Longest session AssumeRole grants, in seconds (3600 by default).
    pub max_session_duration: u32,
}

/// A user's own parts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserRow {
    /// Identity, policies, tags.
    pub principal: PrincipalRow,
    /// The groups the user is in.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Access keys (at most two).
    #[serde(default)]
    pub access_keys: Vec<AccessKeyRow>,
}

/// One version of a managed policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyVersionRow {
    /// `v1`, `v2`, …
    pub id: String,
    /// The document, as given.
    pub document: String,
    /// When it was created.
    pub created_ms: EpochMillis,
}

/// A customer managed policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManagedPolicyRow {
    /// Owner account.
    pub account: String,
    /// Name.
    pub name: String,
    /// Path.
    pub path: String,
    /// `ANPA…`.
    pub id: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// When it was created.
    pub created_ms: EpochMillis,
    /// When its default version last changed.
    pub updated_ms: EpochMillis,
    /// The default version's id.
    pub default_version: String,
    /// Versions, at most five.
    pub versions: Vec<PolicyVersionRow>,
    /// The number the next version gets.
    pub next_version: u32,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<(String, String)>,
}

/// One stored IAM entity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IamRecord {
    /// A user.
    User(UserRow),
    /// A group.
    Group(PrincipalRow),
    /// A role.
    Role(RoleRow),
    /// A customer managed policy.
    Policy(ManagedPolicyRow),
}

impl IamRecord {
    /// The record's key: kind, account, name.
    pub fn key(&self) -> (&'static str, &str, &str) {
        match self {
            IamRecord::User(user) => ("user", &user.principal.account, &user.principal.name),
            IamRecord::Group(group) => ("group", &group.account, &group.name),
            IamRecord::Role(role) => ("role", &role.principal.account, &role.principal.name),
            IamRecord::Policy(policy) => ("policy", &policy.account, &policy.name),
        }
    }
}

/// Storage for IAM entities. Each change returns only after it is durable.
#[async_trait]
pub trait IamStore: Send + Sync + 'static {
    /// Every stored entity, read once at start-up.
    async fn load(&self) -> Result<Vec<IamRecord>, StoreError>;
    /// Creates or replaces one entity.
    async fn put(&self, record: &IamRecord) -> Result<(), StoreError>;
    /// Removes the entity of `kind` (`user`, `group`, `role`, `policy`); absent is no error.
    async fn delete(&self, kind: &str, account: &str, name: &str) -> Result<(), StoreError>;
    /// Deletes every entity (a reset).
    async fn clear(&self) -> Result<(), StoreError>;
}

/// IAM in memory, for `--in-memory` and tests.
#[derive(Debug, Default)]
pub struct MemoryIamStore {
    records: Mutex<BTreeMap<(String, String, String), IamRecord>>,
}

#[async_trait]
impl IamStore for MemoryIamStore {
    async fn load(&self) -> Result<Vec<IamRecord>, StoreError> {
        Ok(self.records.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).values().cloned().collect())
    }

    async fn put(&self, record: &IamRecord) -> Result<(), StoreError> {
        let (kind, account, name) = record.key();
        let key = (kind.to_owned(), account.to_owned(), name.to_owned());
        self.records.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(key, record.clone());
        Ok(())
    }

    async fn delete(&self, kind: &str, account: &str, name: &str) -> Result<(), StoreError> {
        let key = (kind.to_owned(), account.to_owned(), name.to_owned());
        self.records.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&key);
        Ok(())
    }

    async fn clear(&self) -> Result<(), StoreError> {
        self.records.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
        Ok(())
    }
}

/// Checks an [`IamStore`] backend: records round-trip, replace and delete by kind.
pub async fn conformance(store: &dyn IamStore) {
    let principal = PrincipalRow {
        account: "000000000000".into(),
        name: "alice".into(),
        path: "/".into(),
        id: "AIDAEXAMPLE".into(),
        created_ms: 7,
        inline_policies: BTreeMap::from([("p".into(), "{}".into())]),
        attached_policies: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
        permissions_boundary: None,
        tags: vec![("team".into(), "core".into())],
    };
    let mut user = UserRow {
        principal: principal.clone(),
        groups: vec!["admins".into()],
        access_keys: vec![AccessKeyRow { id: "AKIAX".into(), secret: "s".into(), active: true, created_ms: 8 }],
    };
    store.put(&IamRecord::User(user.clone())).await.expect("put user");
    let group = IamRecord::Group(PrincipalRow { name: "alice".into(), id: "AGPAX".into(), ..principal.clone() });
    store.put(&group).await.expect("put group of the same name");
    user.access_keys[0].active = false;
    store.put(&IamRecord::User(user.clone())).await.expect("replace user");
    let mut records = store.load().await.expect("load");
    records.sort_by(|left, right| left.key().cmp(&right.key()));
    assert_eq!(records, vec![group.clone(), IamRecord::User(user)]);
    store.delete("user", "000000000000", "alice").await.expect("delete");
    store.delete("user", "000000000000", "alice").await.expect("delete missing");
    assert_eq!(store.load().await.expect("load"), vec![group]);
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn memory_store_conforms() {
        let store = super::MemoryIamStore::default();
        super::conformance(&store).await;
        super::IamStore::clear(&store).await.expect("clear");
        assert!(super::IamStore::load(&store).await.expect("load").is_empty());
    }
}
