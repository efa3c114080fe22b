//! IAM and STS for wharf: who a request comes from and what it may do.
//!
//! [`Iam`] holds every account's users, groups, roles and customer managed policies in memory,
//! with their policy documents compiled once per change, in front of an
//! [`IamStore`](wharf_store::iam::IamStore) that every change is written to before it is
//! answered. It resolves access keys (configured root keys, users' keys and STS session
//! tokens, [`session`]) to a [`Principal`], and decides requests ([`authorize`]) with the
//! policy engine ([`policy`]). AWS's managed policies ship with their documents ([`managed`]).
//!
//! IAM is global: entities belong to an account, not a region.
//!
//! # Layout
//! - [`actions`]: the IAM action and resource type of every operation of every service.
//! - [`policy`]: policy documents, parsed and evaluated for one request.
//! - `cache`: [`PolicyCache`], resource policies parsed once per document.
//! - [`authorize`]: the decision across identity, resource, session and boundary policies.
//! - [`principal`]: [`Principal`], and the ARNs and ids AWS reports for it.
//! - [`session`]: sealed session tokens (no storage per session).
//! - [`managed`]: the AWS managed policies.
//! - [`function_policy`]: a Lambda function's resource policy from its permissions.
//! - `entities`: the IAM operations on users, groups, roles and policies.
//! - [`ids`]: AWS-shaped unique ids, access key ids and secrets.

pub mod actions;
pub mod authorize;
mod cache;
mod entities;
pub mod function_policy;
pub mod ids;
pub mod managed;
pub mod policy;
pub mod principal;
pub mod session;

pub use authorize::{Access, Decision, DenyReason, PrincipalPolicies};
pub use cache::PolicyCache;
pub use entities::*;
pub use policy::{MalformedPolicy, Policy};
pub use principal::Principal;
pub use session::{SessionClaims, SessionSubject};

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use wharf_store::iam::{IamRecord, IamStore, ManagedPolicyRow, RoleRow, UserRow};
use wharf_store::StoreError;
use wharf_types::Clock;

/// An IAM failure, in IAM's words; the API picks the codes.
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    /// The entity does not exist (`NoSuchEntity`).
    #[error("{0}")]
    NoSuchEntity(String),
    /// An entity of that name exists (`EntityAlreadyExists`).
    #[error("{0}")]
    EntityAlreadyExists(String),
    /// The document is not a valid policy (`MalformedPolicyDocument`).
    #[error("{0}")]
    MalformedPolicyDocument(String),
    /// A quota is reached (`LimitExceeded`).
    #[error("{0}")]
    LimitExceeded(String),
    /// The entity still has attachments (`DeleteConflict`).
    #[error("{0}")]
    DeleteConflict(String),
    /// A parameter is out of its range (`InvalidInput`).
    #[error("{0}")]
    InvalidInput(String),
    /// A parameter breaks the model's constraints (`ValidationError`).
    #[error("{0}")]
    Validation(String),
    /// AssumeRole refused: the trust policy or the caller's policies do not allow it.
    #[error("{0}")]
    AccessDenied(String),
    /// The store failed.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl From<StoreError> for IamError {
    fn from(err: StoreError) -> Self {
        IamError::Unavailable(err.to_string())
    }
}

/// A key configured as an account's root credentials.
#[derive(Clone)]
pub struct RootKey {
    /// The secret access key.
    pub secret: String,
    /// The account.
    pub account: String,
}

impl std::fmt::Debug for RootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootKey").field("account", &self.account).finish_non_exhaustive()
    }
}

/// Why credentials are refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialError {
    /// The access key id is not one wharf knows (or is inactive).
    UnknownKey,
    /// The session token is not valid for the key.
    InvalidToken,
    /// The session token has expired.
    ExpiredToken,
}

/// A user, with its inline policies compiled.
#[derive(Clone, Debug)]
struct User {
    row: UserRow,
    inline: Vec<Arc<Policy>>,
}

/// A group or a role's compiled inline policies beside its row.
#[derive(Clone, Debug)]
struct Group {
    row: wharf_store::iam::PrincipalRow,
    inline: Vec<Arc<Policy>>,
}

#[derive(Clone, Debug)]
struct Role {
    row: RoleRow,
    trust: Arc<Policy>,
    inline: Vec<Arc<Policy>>,
}

#[derive(Clone, Debug)]
struct Managed {
    row: ManagedPolicyRow,
    default: Arc<Policy>,
}

type Key = (String, String);

/// Everything in memory.
#[derive(Debug, Default)]
struct State {
    users: BTreeMap<Key, User>,
    groups: BTreeMap<Key, Group>,
    roles: BTreeMap<Key, Role>,
    policies: BTreeMap<Key, Managed>,
    /// Users' access key ids → (account, user name).
    keys: HashMap<String, Key>,
}

/// The IAM engine.
pub struct Iam {
    store: Arc<dyn IamStore>,
    clock: Arc<dyn Clock>,
    seal: session::SessionSeal,
    root_keys: HashMap<String, RootKey>,
    /// Readers (every authenticated request) take it shortly; writers hold `writes` across the
    /// store call and take this only to publish the new state.
    state: RwLock<State>,
    /// Serializes changes: one read-modify-write at a time, stored before it is published.
    writes: tokio::sync::Mutex<()>,
    /// Counts published changes, for those waiting for a permission to be granted.
    changed: tokio::sync::watch::Sender<u64>,
}

impl std::fmt::Debug for Iam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iam").field("root_keys", &self.root_keys.len()).finish_non_exhaustive()
    }
}

fn compile_all(documents: &BTreeMap<String, String>) -> Vec<Arc<Policy>> {
    // Stored documents were validated when put; one that no longer parses (a newer wharf's
    // grammar) grants nothing rather than failing start-up.
    documents.values().filter_map(|document| document.parse::<Policy>().ok().map(Arc::new)).collect()
}

impl Iam {
    /// Loads every stored entity. `seal_key` keys session tokens; `root_keys` are the
    /// configured root credentials by access key id.
    pub async fn open(
        store: Arc<dyn IamStore>,
        clock: Arc<dyn Clock>,
        seal_key: [u8; 32],
        root_keys: HashMap<String, RootKey>,
    ) -> Result<Iam, IamError> {
        let mut state = State::default();
        for record in store.load().await? {
            state.insert(record);
        }
        Ok(Iam {
            store,
            clock,
            seal: session::SessionSeal::new(seal_key),
            root_keys,
            state: RwLock::new(state),
            writes: tokio::sync::Mutex::new(()),
            changed: tokio::sync::watch::Sender::new(0),
        })
    }

    /// An IAM with no stored entities, over a memory store (unit tests, and callers that only
    /// need root keys and sessions).
    pub fn in_memory(clock: Arc<dyn Clock>, seal_key: [u8; 32], root_keys: HashMap<String, RootKey>) -> Iam {
        Iam {
            store: Arc::new(wharf_store::iam::MemoryIamStore::default()),
            clock,
            seal: session::SessionSeal::new(seal_key),
            root_keys,
            state: RwLock::new(State::default()),
            writes: tokio::sync::Mutex::new(()),
            changed: tokio::sync::watch::Sender::new(0),
        }
    }

    /// Notified after every published change of users, groups, roles or policies.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// How many changes were published: a decision taken at one count holds until the next.
    pub fn generation(&self) -> u64 {
        *self.changed.borrow()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn now(&self) -> u64 {
        self.clock.now_millis()
    }

    /// Stores `record`, then publishes it.
    async fn save(&self, record: IamRecord) -> Result<(), IamError> {
        self.store.put(&record).await?;
        self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(record);
        self.changed.send_modify(|count| *count += 1);
        Ok(())
    }

    /// Deletes the entity, then unpublishes it.
    async fn remove(&self, kind: &str, account: &str, name: &str) -> Result<(), IamError> {
        self.store.delete(kind, account, name).await?;
        self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(kind, account, name);
        self.changed.send_modify(|count| *count += 1);
        Ok(())
    }

    /// The secret and principal of an access key (and session token).
    pub fn resolve(
        &self,
        access_key_id: &str,
        session_token: Option<&str>,
    ) -> Result<(String, Principal), CredentialError> {
        if let Some(token) = session_token {
            if !access_key_id.starts_with("ASIA") {
                return Err(CredentialError::InvalidToken);
            }
            let (claims, secret) = self.seal.open(token, access_key_id, self.now()).map_err(|err| match err {
                session::TokenError::Invalid => CredentialError::InvalidToken,
                session::TokenError::Expired => CredentialError::ExpiredToken,
            })?;
            return Ok((secret, Principal::Session(Arc::new(claims))));
        }
        if let Some(root) = self.root_keys.get(access_key_id) {
            return Ok((root.secret.clone(), Principal::Root { account: root.account.clone() }));
        }
        let state = self.read();
        let owner = state.keys.get(access_key_id).ok_or(CredentialError::UnknownKey)?;
        let user = state.users.get(owner).ok_or(CredentialError::UnknownKey)?;
        let key = user
            .row
            .access_keys
            .iter()
            .find(|key| key.id == access_key_id && key.active)
            .ok_or(CredentialError::UnknownKey)?;
        Ok((
            key.secret.clone(),
            Principal::User {
                account: user.row.principal.account.clone(),
                name: user.row.principal.name.clone(),
                path: user.row.principal.path.clone(),
                id: user.row.principal.id.clone(),
            },
        ))
    }

    /// The policies that speak for `principal` now.
    pub fn policies_of(&self, principal: &Principal) -> PrincipalPolicies {
        let state = self.read();
        let mut policies = PrincipalPolicies::default();
        let managed = |arns: &[String], into: &mut Vec<Arc<Policy>>| {
            for arn in arns {
                if let Some(policy) = state.managed_policy(arn) {
                    into.push(policy);
                }
            }
        };
        let user_policies = |account: &str, name: &str, policies: &mut PrincipalPolicies| {
            if let Some(user) = state.users.get(&(account.to_owned(), name.to_owned())) {
                policies.identity.extend(user.inline.iter().cloned());
                managed(&user.row.principal.attached_policies, &mut policies.identity);
                for group in &user.row.groups {
                    if let Some(group) = state.groups.get(&(account.to_owned(), group.clone())) {
                        policies.identity.extend(group.inline.iter().cloned());
                        managed(&group.row.attached_policies, &mut policies.identity);
                    }
                }
                policies.boundary =
                    user.row.principal.permissions_boundary.as_deref().and_then(|arn| state.managed_policy(arn));
            }
        };
        match principal {
            Principal::Root { .. } => {}
            Principal::User { account, name, .. } => user_policies(account, name, &mut policies),
            Principal::Session(claims) => match &claims.subject {
                SessionSubject::Role { name, .. } => {
                    if let Some(role) = state.roles.get(&(claims.account.clone(), name.clone())) {
                        policies.identity.extend(role.inline.iter().cloned());
                        managed(&role.row.principal.attached_policies, &mut policies.identity);
                        policies.boundary = role
                            .row
                            .principal
                            .permissions_boundary
                            .as_deref()
                            .and_then(|arn| state.managed_policy(arn));
                    }
                    policies.session =
                        claims.policy.as_deref().and_then(|document| document.parse::<Policy>().ok()).map(Arc::new);
                }
                SessionSubject::User { name } => user_policies(&claims.account, name, &mut policies),
                SessionSubject::Root => {}
            },
        }
        policies
    }

    /// The compiled trust policy of the role `arn` names.
    pub fn trust_policy(&self, arn: &str) -> Option<Arc<Policy>> {
        let role = self.role_by_arn(arn)?;
        self.trust_of(&role.principal.account, &role.principal.name)
    }

    /// A role's compiled trust policy.
    fn trust_of(&self, account: &str, name: &str) -> Option<Arc<Policy>> {
        self.read().roles.get(&(account.to_owned(), name.to_owned())).map(|role| Arc::clone(&role.trust))
    }

    /// The decision for `principal` asking `access`.
    pub fn authorize(&self, principal: &Principal, access: &Access<'_>) -> Decision {
        let policies = self.policies_of(principal);
        authorize::decide(principal, &policies, access, self.now())
    }
}

impl State {
    fn insert(&mut self, record: IamRecord) {
        match record {
            IamRecord::User(row) => {
                let key = (row.principal.account.clone(), row.principal.name.clone());
                self.keys.retain(|_, owner| *owner != key);
                for access_key in &row.access_keys {
                    self.keys.insert(access_key.id.clone(), key.clone());
                }
                let inline = compile_all(&row.principal.inline_policies);
                self.users.insert(key, User { row, inline });
            }
            IamRecord::Group(row) => {
                let inline = compile_all(&row.inline_policies);
                self.groups.insert((row.account.clone(), row.name.clone()), Group { row, inline });
            }
            IamRecord::Role(row) => {
                let trust = Arc::new(row.assume_role_policy.parse::<Policy>().unwrap_or_else(|_| Policy::empty()));
                let inline = compile_all(&row.principal.inline_policies);
                self.roles
                    .insert((row.principal.account.clone(), row.principal.name.clone()), Role { row, trust, inline });
            }
            IamRecord::Policy(row) => {
                let document = row
                    .versions
                    .iter()
                    .find(|version| version.id == row.default_version)
                    .map(|version| version.document.as_str())
                    .unwrap_or("{}");
                let default = Arc::new(document.parse::<Policy>().unwrap_or_else(|_| Policy::empty()));
                self.policies.insert((row.account.clone(), row.name.clone()), Managed { row, default });
            }
        }
    }

    fn remove(&mut self, kind: &str, account: &str, name: &str) {
        let key = (account.to_owned(), name.to_owned());
        match kind {
            "user" => {
                self.users.remove(&key);
                self.keys.retain(|_, owner| *owner != key);
            }
            "group" => {
                self.groups.remove(&key);
            }
            "role" => {
                self.roles.remove(&key);
            }
            _ => {
                self.policies.remove(&key);
            }
        }
    }

    /// The default version of a managed policy (AWS's or an account's), by ARN.
    fn managed_policy(&self, arn: &str) -> Option<Arc<Policy>> {
        if let Some(aws) = managed::by_arn(arn) {
            return Some(Arc::clone(&aws.policy));
        }
        let (account, name) = customer_policy_key(arn)?;
        self.policies.get(&(account, name)).map(|managed| Arc::clone(&managed.default))
    }
}

/// The (account, name) of a customer managed policy's ARN
/// (`arn:aws:iam::ACCOUNT:policy/PATH/NAME`).
fn customer_policy_key(arn: &str) -> Option<(String, String)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path_and_name = resource.strip_prefix("policy/")?;
    let name = path_and_name.rsplit('/').next()?;
    Some((account.to_owned(), name.to_owned()))
}
