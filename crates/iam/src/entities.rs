//! The IAM operations: users and their access keys, groups, roles, inline and managed policies
//! and their attachments, policy versions, tags; and the STS operations that mint sessions.
//!
//! Each change is a read-modify-write of one or two records under `Iam::writes`, stored before
//! it is published. Messages and limits are IAM's
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>).

use crate::policy::{Policy, Request, RequestPrincipal};
use crate::principal::Principal;
use crate::session::{SessionClaims, SessionSubject};
use crate::{ids, managed, Iam, IamError};
use std::collections::BTreeMap;
use std::sync::Arc;
use wharf_store::iam::{AccessKeyRow, IamRecord, ManagedPolicyRow, PolicyVersionRow, PrincipalRow, RoleRow, UserRow};
use wharf_types::EpochMillis;

/// Inline policies of a user: characters at most (IAM counts them without whitespace).
pub const USER_INLINE_LIMIT: usize = 2_048;
/// Inline policies of a role.
pub const ROLE_INLINE_LIMIT: usize = 10_240;
/// Inline policies of a group.
pub const GROUP_INLINE_LIMIT: usize = 5_120;
/// A managed policy version.
pub const MANAGED_POLICY_LIMIT: usize = 6_144;
/// A role's trust policy (IAM's default quota).
pub const TRUST_POLICY_LIMIT: usize = 2_048;
/// An AssumeRole session policy.
pub const SESSION_POLICY_LIMIT: usize = 2_048;
/// Managed policies attached to one user, group or role.
pub const ATTACHED_POLICIES_LIMIT: usize = 10;
/// Access keys per user.
pub const ACCESS_KEYS_PER_USER: usize = 2;
/// Versions kept per managed policy.
pub const POLICY_VERSIONS_LIMIT: usize = 5;
/// Tags per entity.
pub const TAGS_LIMIT: usize = 50;

/// Which entity an operation addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntityKind {
    /// A user.
    User,
    /// A group.
    Group,
    /// A role.
    Role,
}

impl EntityKind {
    fn word(self) -> &'static str {
        match self {
            EntityKind::User => "user",
            EntityKind::Group => "group",
            EntityKind::Role => "role",
        }
    }

    fn capitalized(self) -> &'static str {
        match self {
            EntityKind::User => "User",
            EntityKind::Group => "Group",
            EntityKind::Role => "Role",
        }
    }

    fn inline_limit(self) -> usize {
        match self {
            EntityKind::User => USER_INLINE_LIMIT,
            EntityKind::Group => GROUP_INLINE_LIMIT,
            EntityKind::Role => ROLE_INLINE_LIMIT,
        }
    }
}

/// The ARN of a user, group or role.
pub fn entity_arn(kind: EntityKind, row: &PrincipalRow) -> String {
    format!("arn:aws:iam::{}:{}{}{}", row.account, kind.word(), row.path, row.name)
}

/// The ARN of a customer managed policy.
pub fn policy_arn(row: &ManagedPolicyRow) -> String {
    format!("arn:aws:iam::{}:policy{}{}", row.account, row.path, row.name)
}

/// A managed policy as the API shows it: AWS's or an account's.
#[derive(Clone, Debug)]
pub struct ManagedPolicyView {
    /// Name.
    pub name: String,
    /// Path.
    pub path: String,
    /// ARN.
    pub arn: String,
    /// Unique id.
    pub id: String,
    /// Description.
    pub description: Option<String>,
    /// Default version id.
    pub default_version: String,
    /// Entities it is attached to.
    pub attachment_count: usize,
    /// Creation time (epoch ms), when known.
    pub created_ms: Option<EpochMillis>,
    /// Last update (epoch ms), when known.
    pub updated_ms: Option<EpochMillis>,
    /// AWS's creation and update dates as published, for AWS managed policies.
    pub published_dates: Option<(Option<String>, Option<String>)>,
    /// Whether AWS owns it.
    pub aws_managed: bool,
    /// Its versions (id, document, created epoch ms, is default).
    pub versions: Vec<(String, String, Option<EpochMillis>, bool)>,
    /// Tags.
    pub tags: Vec<(String, String)>,
}

/// Temporary credentials, as AssumeRole and GetSessionToken answer.
#[derive(Clone)]
pub struct IssuedSession {
    /// `ASIA…`.
    pub access_key_id: String,
    /// The secret.
    pub secret_access_key: String,
    /// The session token.
    pub session_token: String,
    /// When they expire (epoch ms).
    pub expires_ms: EpochMillis,
    /// The session's principal.
    pub principal: Principal,
}

impl std::fmt::Debug for IssuedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedSession").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

/// The entities of one account, for GetAccountAuthorizationDetails.
#[derive(Clone, Debug, Default)]
pub struct AuthorizationDetails {
    /// Users.
    pub users: Vec<UserRow>,
    /// Groups.
    pub groups: Vec<PrincipalRow>,
    /// Roles.
    pub roles: Vec<RoleRow>,
    /// Customer managed policies and the AWS managed policies in use.
    pub policies: Vec<ManagedPolicyView>,
}

/// Checks a name of `[\w+=,.@-]` characters, 1 to `max` long.
fn check_name(member: &str, value: &str, max: usize) -> Result<(), IamError> {
    if value.is_empty() || value.chars().count() > max {
        return Err(IamError::Validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must have length less than or equal to {max}"
        )));
    }
    if !value.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)) {
        return Err(IamError::Validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
        )));
    }
    Ok(())
}

/// Checks a path: `/`, or `/` … `/` of printable ASCII, at most 512 characters.
fn check_path(path: &str) -> Result<(), IamError> {
    let valid = path.len() <= 512
        && path.starts_with('/')
        && path.ends_with('/')
        && path.bytes().all(|byte| (0x21..=0x7e).contains(&byte));
    if valid {
        Ok(())
    } else {
        Err(IamError::Validation(format!(
            "1 validation error detected: Value '{path}' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"
        )))
    }
}

/// Parses a policy document within `limit` characters (whitespace not counted, as IAM counts).
fn parse_document(document: &str, limit: usize) -> Result<Policy, IamError> {
    let counted = document.chars().filter(|c| !c.is_whitespace()).count();
    if counted > limit {
        return Err(IamError::LimitExceeded(format!("Cannot exceed quota for PolicySize: {limit}")));
    }
    document.parse::<Policy>().map_err(|err| IamError::MalformedPolicyDocument(err.0))
}

fn check_tags(existing: &[(String, String)], added: &[(String, String)]) -> Result<Vec<(String, String)>, IamError> {
    let mut tags = existing.to_vec();
    for (key, value) in added {
        if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
            return Err(IamError::Validation(format!(
                "1 validation error detected: Value '{key}' at 'tags.member.key' failed to satisfy constraint: Member must have length less than or equal to 128"
            )));
        }
        match tags.iter_mut().find(|(existing, _)| existing == key) {
            Some(entry) => entry.1 = value.clone(),
            None => tags.push((key.clone(), value.clone())),
        }
    }
    if tags.len() > TAGS_LIMIT {
        return Err(IamError::LimitExceeded(format!("Cannot exceed quota for TagsPerEntity: {TAGS_LIMIT}")));
    }
    Ok(tags)
}

fn not_found(kind: EntityKind, name: &str) -> IamError {
    IamError::NoSuchEntity(format!("The {} with name {name} cannot be found.", kind.word()))
}

/// What a new user, group or role starts with.
#[derive(Clone, Debug, Default)]
pub struct NewEntity {
    /// Name.
    pub name: String,
    /// Path (`/` when absent).
    pub path: Option<String>,
    /// Tags.
    pub tags: Vec<(String, String)>,
    /// Permissions boundary policy ARN.
    pub permissions_boundary: Option<String>,
}

impl Iam {
    fn new_principal(&self, account: &str, kind: EntityKind, new: &NewEntity) -> Result<PrincipalRow, IamError> {
        let max = if kind == EntityKind::Group { 128 } else { 64 };
        let member = match kind {
            EntityKind::User => "userName",
            EntityKind::Group => "groupName",
            EntityKind::Role => "roleName",
        };
        check_name(member, &new.name, max)?;
        let path = new.path.clone().unwrap_or_else(|| "/".to_owned());
        check_path(&path)?;
        let tags = check_tags(&[], &new.tags)?;
        if let Some(boundary) = &new.permissions_boundary {
            if self.read().managed_policy(boundary).is_none() {
                return Err(IamError::NoSuchEntity(format!("Policy {boundary} does not exist or is not attachable.")));
            }
        }
        let prefix = match kind {
            EntityKind::User => "AIDA",
            EntityKind::Group => "AGPA",
            EntityKind::Role => "AROA",
        };
        Ok(PrincipalRow {
            account: account.to_owned(),
            name: new.name.clone(),
            path,
            id: ids::unique_id(prefix),
            created_ms: self.now(),
            inline_policies: BTreeMap::new(),
            attached_policies: Vec::new(),
            permissions_boundary: new.permissions_boundary.clone(),
            tags,
        })
    }

    fn key(account: &str, name: &str) -> (String, String) {
        (account.to_owned(), name.to_owned())
    }

    /// CreateUser.
    pub async fn create_user(&self, account: &str, new: NewEntity) -> Result<UserRow, IamError> {
        let _write = self.writes.lock().await;
        if self.read().users.contains_key(&Self::key(account, &new.name)) {
            return Err(IamError::EntityAlreadyExists(format!("User with name {} already exists.", new.name)));
        }
        let row = UserRow {
            principal: self.new_principal(account, EntityKind::User, &new)?,
            groups: Vec::new(),
            access_keys: Vec::new(),
        };
        self.save(IamRecord::User(row.clone())).await?;
        Ok(row)
    }

    /// GetUser.
    pub fn user(&self, account: &str, name: &str) -> Result<UserRow, IamError> {
        self.read()
            .users
            .get(&Self::key(account, name))
            .map(|user| user.row.clone())
            .ok_or_else(|| not_found(EntityKind::User, name))
    }

    /// ListUsers (by name), with a path prefix.
    pub fn users(&self, account: &str, path_prefix: &str) -> Vec<UserRow> {
        self.read()
            .users
            .range(Self::key(account, "")..)
            .take_while(|((owner, _), _)| owner == account)
            .filter(|(_, user)| user.row.principal.path.starts_with(path_prefix))
            .map(|(_, user)| user.row.clone())
            .collect()
    }

    /// DeleteUser: refused while it has keys, policies or groups, as IAM does.
    pub async fn delete_user(&self, account: &str, name: &str) -> Result<(), IamError> {
        let _write = self.writes.lock().await;
        let user = self.user(account, name)?;
        if !user.access_keys.is_empty() {
            return Err(IamError::DeleteConflict("Cannot delete entity, must delete access keys first.".into()));
        }
        if !user.principal.inline_policies.is_empty() {
            return Err(IamError::DeleteConflict("Cannot delete entity, must delete policies first.".into()));
        }
        if !user.principal.attached_policies.is_empty() {
            return Err(IamError::DeleteConflict("Cannot delete entity, must detach all policies first.".into()));
        }
        if !user.groups.is_empty() {
            return Err(IamError::DeleteConflict("Cannot delete entity, must remove users from group first.".into()));
        }
        self.remove("user", account, name).await
    }

    /// CreateAccessKey: at most two per user.
    pub async fn create_access_key(&self, account: &str, user: &str) -> Result<AccessKeyRow, IamError> {
        let _write = self.writes.lock().await;
        let mut row = self.user(account, user)?;
        if row.access_keys.len() >= ACCESS_KEYS_PER_USER {
            return Err(IamError::LimitExceeded(format!(
                "Cannot exceed quota for AccessKeysPerUser: {ACCESS_KEYS_PER_USER}"
            )));
        }
        let key = AccessKeyRow {
            id: ids::access_key_id(),
            secret: ids::secret_access_key(),
            active: true,
            created_ms: self.now(),
        };
        row.access_keys.push(key.clone());
        self.save(IamRecord::User(row)).await?;
        Ok(key)
    }

    /// An access key with a given id and secret for `user` (keys declared in wharf's
    /// configuration, so a test suite's credentials stay the same across runs). Idempotent: a key
    /// the user already has is made active with that secret. An id another user or a root key
    /// has is refused.
    pub async fn import_access_key(
        &self,
        account: &str,
        user: &str,
        access_key_id: &str,
        secret: &str,
    ) -> Result<(), IamError> {
        let _write = self.writes.lock().await;
        let valid = (16..=128).contains(&access_key_id.len())
            && access_key_id.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_');
        if !valid || secret.is_empty() {
            return Err(IamError::InvalidInput(format!(
                "access key id {access_key_id:?}: 16 to 128 letters, digits or underscores, with a secret"
            )));
        }
        let owner = (account.to_owned(), user.to_owned());
        if self.root_keys.contains_key(access_key_id)
            || self.read().keys.get(access_key_id).is_some_and(|holder| *holder != owner)
        {
            return Err(IamError::EntityAlreadyExists(format!(
                "The access key {access_key_id} belongs to another principal."
            )));
        }
        let mut row = self.user(account, user)?;
        match row.access_keys.iter_mut().find(|key| key.id == access_key_id) {
            Some(key) if key.secret == secret && key.active => return Ok(()),
            Some(key) => {
                key.secret = secret.to_owned();
                key.active = true;
            }
            None => {
                if row.access_keys.len() >= ACCESS_KEYS_PER_USER {
                    return Err(IamError::LimitExceeded(format!(
                        "Cannot exceed quota for AccessKeysPerUser: {ACCESS_KEYS_PER_USER}"
                    )));
                }
                row.access_keys.push(AccessKeyRow {
                    id: access_key_id.to_owned(),
                    secret: secret.to_owned(),
                    active: true,
                    created_ms: self.now(),
                });
            }
        }
        self.save(IamRecord::User(row)).await
    }

    /// The user owning an access key (for ListAccessKeys and friends without a user name).
    pub fn access_key_owner(&self, account: &str, access_key_id: &str) -> Option<String> {
        let state = self.read();
        state.keys.get(access_key_id).filter(|(owner, _)| owner == account).map(|(_, name)| name.clone())
    }

    /// DeleteAccessKey.
    pub async fn delete_access_key(&self, account: &str, user: &str, access_key_id: &str) -> Result<(), IamError> {
        self.change_access_key(account, user, access_key_id, |keys, index| {
            keys.remove(index);
        })
        .await
    }

    /// UpdateAccessKey (Active or Inactive).
    pub async fn set_access_key_active(
        &self,
        account: &str,
        user: &str,
        access_key_id: &str,
        active: bool,
    ) -> Result<(), IamError> {
        self.change_access_key(account, user, access_key_id, |keys, index| keys[index].active = active).await
    }

    async fn change_access_key(
        &self,
        account: &str,
        user: &str,
        access_key_id: &str,
        change: impl FnOnce(&mut Vec<AccessKeyRow>, usize),
    ) -> Result<(), IamError> {
        let _write = self.writes.lock().await;
        let mut row = self.user(account, user)?;
        let index = row.access_keys.iter().position(|key| key.id == access_key_id).ok_or_else(|| {
            IamError::NoSuchEntity(format!("The Access Key with id {access_key_id} cannot be found."))
        })?;
        change(&mut row.access_keys, index);
        self.save(IamRecord::User(row)).await
    }

    /// CreateGroup.
    pub async fn create_group(&self, account: &str, new: NewEntity) -> Result<PrincipalRow, IamError> {
        let _write = self.writes.lock().await;
        if self.read().groups.contains_key(&Self::key(account, &new.name)) {
            return Err(IamError::EntityAlreadyExists(format!("Group with name {} already exists.", new.name)));
        }
        let row = self.new_principal(account, EntityKind::Group, &new)?;
        self.save(IamRecord::Group(row.clone())).await?;
        Ok(row)
    }

    /// GetGroup: the group and its users.
    pub fn group(&self, account: &str, name: &str) -> Result<(PrincipalRow, Vec<UserRow>), IamError> {
        let state = self.read();
        let group = state.groups.get(&Self::key(account, name)).ok_or_else(|| not_found(EntityKind::Group, name))?;
        let members = state
            .users
            .range(Self::key(account, "")..)
            .take_while(|((owner, _), _)| owner == account)
            .filter(|(_, user)| user.row.groups.iter().any(|group| group == name))
            .map(|(_, user)| user.row.clone())
            .collect();
        Ok((group.row.clone(), members))
    }

    /// ListGroups.
    pub fn groups(&self, account: &str, path_prefix: &str) -> Vec<PrincipalRow> {
        self.read()
            .groups
            .range(Self::key(account, "")..)
            .take_while(|((owner, _), _)| owner == account)
            .filter(|(_, group)| group.row.path.starts_with(path_prefix))
            .map(|(_, group)| group.row.clone())
            .collect()
    }

    /// DeleteGroup: refused while it has members or policies.
    pub async fn delete_group(&self, account: &str, name: &str) -> Result<(), IamError> {
        let _write = self.writes.lock().await;
        let (group, members) = self.group(account, name)?;
        if !members.is_empty() {
            return Err(IamError::DeleteConflict("Cannot delete entity, must remove users from group first.".into()));
        }
        if !group.inline_policies.is_empty() {
            return Err(IamError::DeleteConflict("Cannot delete entity, must delete policies first.".into()));
        }
        if !group.attached_policies.is_empty() {
            return Err(IamError::DeleteConflict("Cannot delete entity, must detach all policies first.".into()));
        }
        self.remove("group", account, name).await
    }

    /// AddUserToGroup / RemoveUserFromGroup.
    pub async fn set_group_membership(
        &self,
        account: &str,
        group: &str,
        user: &str,
        member: bool,
    ) -> Result<(), IamError> {
        let _write = self.writes.lock().await;
        self.group(account, group)?;
        let mut row = self.user(account, user)?;
        let present = row.groups.iter().any(|name| name == group);
        match (member, present) {
            (true, false) => row.groups.push(group.to_owned()),
            (false, true) => row.groups.retain(|name| name != group),
            (true, true) => return Ok(()),
            (false, false) => return Err(not_found(EntityKind::User, user)),
        }
        self.save(IamRecord::User(row)).await
    }

    /// CreateRole.
    pub async fn create_role(
        &self,
        account: &str,
        new: NewEntity,
        assume_role_policy: String,
        description: Option<String>,
        max_session_duration: Option<u32>,
    ) -> Result<RoleRow, IamError> {
        let _write = self.writes.lock().await;
        if self.read().roles.contains_key(&Self::key(account, &new.name)) {
            return Err(IamError::EntityAlreadyExists(format!("Role with name {} already exists.", new.name)));
        }
        check_trust_policy(&assume_role_policy)?;
        let max_session_duration = check_max_session(max_session_duration.unwrap_or(3600))?;
        if description.as_ref().is_some_and(|text| text.chars().count() > 1000) {
            return Err(IamError::Validation(
                "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 1000".into(),
            ));
        }
        let row = RoleRow {
            principal: self.new_principal(account, EntityKind::Role, &new)?,
            assume_role_policy,
            description,
            max_session_duration,
        };
        self.save(IamRecord::Role(row.clone())).await?;
        Ok(row)
    }

    /// GetRole.
    pub fn role(&self, account: &str, name: &str) -> Result<RoleRow, IamError> {
        self.read()
            .roles
            .get(&Self::key(account, name))
            .map(|role| role.row.clone())
            .ok_or_else(|| not_found(EntityKind::Role, name))
    }

    /// The role an ARN names (`arn:aws:iam::ACCOUNT:role/PATH/NAME`).
    pub fn role_by_arn(&self, arn: &str) -> Option<RoleRow> {
        let rest = arn.strip_prefix("arn:aws:iam::")?;
        let (account, resource) = rest.split_once(':')?;
        let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
        let role = self.role(account, name).ok()?;
        (entity_arn(EntityKind::Role, &role.principal) == arn).then_some(role)
    }

    /// The principal a service acting with `role_arn` is (a function's execution role, as
    /// Lambda assumes it for the function `session_name`), for checking what the service does
    /// with it; `None` when the role does not exist. No credentials are issued.
    pub fn role_principal(
        &self,
        role_arn: &str,
        session_name: &str,
        source_function_arn: Option<&str>,
    ) -> Option<Principal> {
        let role = self.role_by_arn(role_arn)?;
        Some(Principal::Session(Arc::new(SessionClaims {
            access_key_id: String::new(),
            account: role.principal.account.clone(),
            expires_ms: u64::MAX,
            subject: SessionSubject::Role {
                name: role.principal.name.clone(),
                path: role.principal.path.clone(),
                id: role.principal.id.clone(),
                session_name: session_name.to_owned(),
            },
            policy: None,
            tags: Vec::new(),
            source_function_arn: source_function_arn.map(str::to_owned),
        })))
    }

    /// ListRoles.
    pub fn roles(&self, account: &str, path_prefix: &str) -> Vec<RoleRow> {
        self.read()
            .roles
            .range(Self::key(account, "")..)
            .take_while(|((owner, _), _)| owner == account)
            .filter(|(_, role)| role.row.principal.path.starts_with(path_prefix))
            .map(|(_, role)| role.row.clone())
            .collect()
    }

    /// DeleteRole: refused while it has policies.
    pub async fn delete_role(&self, account: &str, name: &str) -> Result<(), IamError> {
        let _write = self.writes.lock().await;
        let role = self.role(account, name)?;
        if !role.principal.inline_policies.is_empty() {
            return Err(IamError::DeleteConflict("Cannot delete entity, must delete policies first.".into()));
        }
        if !role.principal.attached_policies.is_empty() {
            return Err(IamError::DeleteConflict("Cannot delete entity, must detach all policies first.".into()));
        }
        self.remove("role", account, name).await
    }

    /// UpdateAssumeRolePolicy.
    pub async fn update_trust_policy(&self, account: &str, name: &str, document: String) -> Result<(), IamError> {
        let _write = self.writes.lock().await;
        let mut role = self.role(account, name)?;
        check_trust_policy(&document)?;
        role.assume_role_policy = document;
        self.save(IamRecord::Role(role)).await
    }

    /// UpdateRole / UpdateRoleDescription.
    pub async fn update_role(
        &self,
        account: &str,
        name: &str,
        description: Option<String>,
        max_session_duration: Option<u32>,
    ) -> Result<RoleRow, IamError> {
        let _write = self.writes.lock().await;
        let mut role = self.role(account, name)?;
        if let Some(description) = description {
            role.description = Some(description);
        }
        if let Some(duration) = max_session_duration {
            role.max_session_duration = check_max_session(duration)?;
        }
        self.save(IamRecord::Role(role.clone())).await?;
        Ok(role)
    }

    /// Reads the principal part of a user, group or role.
    pub fn principal_row(&self, account: &str, kind: EntityKind, name: &str) -> Result<PrincipalRow, IamError> {
        match kind {
            EntityKind::User => self.user(account, name).map(|user| user.principal),
            EntityKind::Group => self.group(account, name).map(|(group, _)| group),
            EntityKind::Role => self.role(account, name).map(|role| role.principal),
        }
    }

    /// Changes the principal part of a user, group or role and stores it.
    async fn change_principal(
        &self,
        account: &str,
        kind: EntityKind,
        name: &str,
        change: impl FnOnce(&mut PrincipalRow) -> Result<(), IamError>,
    ) -> Result<(), IamError> {
        let _write = self.writes.lock().await;
        let record = match kind {
            EntityKind::User => {
                let mut user = self.user(account, name)?;
                change(&mut user.principal)?;
                IamRecord::User(user)
            }
            EntityKind::Group => {
                let (mut group, _) = self.group(account, name)?;
                change(&mut group)?;
                IamRecord::Group(group)
            }
            EntityKind::Role => {
                let mut role = self.role(account, name)?;
                change(&mut role.principal)?;
                IamRecord::Role(role)
            }
        };
        self.save(record).await
    }

    /// Put{User,Group,Role}Policy.
    pub async fn put_inline_policy(
        &self,
        account: &str,
        kind: EntityKind,
        name: &str,
        policy_name: &str,
        document: String,
    ) -> Result<(), IamError> {
        check_name("policyName", policy_name, 128)?;
        parse_document(&document, kind.inline_limit())?
            .check_identity_policy()
            .map_err(|err| IamError::MalformedPolicyDocument(err.0))?;
        self.change_principal(account, kind, name, |row| {
            row.inline_policies.insert(policy_name.to_owned(), document);
            let total: usize =
                row.inline_policies.values().map(|text| text.chars().filter(|c| !c.is_whitespace()).count()).sum();
            if total > kind.inline_limit() {
                return Err(IamError::LimitExceeded(format!(
                    "Maximum policy size of {} bytes exceeded for {} {name}",
                    kind.inline_limit(),
                    kind.word()
                )));
            }
            Ok(())
        })
        .await
    }

    /// Get{User,Group,Role}Policy.
    pub fn inline_policy(
        &self,
        account: &str,
        kind: EntityKind,
        name: &str,
        policy_name: &str,
    ) -> Result<String, IamError> {
        let row = self.principal_row(account, kind, name)?;
        row.inline_policies.get(policy_name).cloned().ok_or_else(|| {
            IamError::NoSuchEntity(format!("The {} policy with name {policy_name} cannot be found.", kind.word()))
        })
    }

    /// Delete{User,Group,Role}Policy.
    pub async fn delete_inline_policy(
        &self,
        account: &str,
        kind: EntityKind,
        name: &str,
        policy_name: &str,
    ) -> Result<(), IamError> {
        self.change_principal(account, kind, name, |row| {
            row.inline_policies.remove(policy_name).map(|_| ()).ok_or_else(|| {
                IamError::NoSuchEntity(format!("The {} policy with name {policy_name} cannot be found.", kind.word()))
            })
        })
        .await
    }

    /// Attach{User,Group,Role}Policy.
    pub async fn attach_policy(&self, account: &str, kind: EntityKind, name: &str, arn: &str) -> Result<(), IamError> {
        if self.read().managed_policy(arn).is_none() || !arn_in_reach(arn, account) {
            return Err(IamError::NoSuchEntity(format!("Policy {arn} does not exist or is not attachable.")));
        }
        self.change_principal(account, kind, name, |row| {
            if row.attached_policies.iter().any(|attached| attached == arn) {
                return Ok(());
            }
            if row.attached_policies.len() >= ATTACHED_POLICIES_LIMIT {
                return Err(IamError::LimitExceeded(format!(
                    "Cannot exceed quota for PoliciesPer{}: {ATTACHED_POLICIES_LIMIT}",
                    kind.capitalized()
                )));
            }
            row.attached_policies.push(arn.to_owned());
            Ok(())
        })
        .await
    }

    /// Detach{User,Group,Role}Policy.
    pub async fn detach_policy(&self, account: &str, kind: EntityKind, name: &str, arn: &str) -> Result<(), IamError> {
        self.change_principal(account, kind, name, |row| {
            let before = row.attached_policies.len();
            row.attached_policies.retain(|attached| attached != arn);
            if row.attached_policies.len() == before {
                return Err(IamError::NoSuchEntity(format!("Policy {arn} was not found.")));
            }
            Ok(())
        })
        .await
    }

    /// Tag{User,Role}… / Untag….
    pub async fn tag(
        &self,
        account: &str,
        kind: EntityKind,
        name: &str,
        tags: &[(String, String)],
    ) -> Result<(), IamError> {
        self.change_principal(account, kind, name, |row| {
            row.tags = check_tags(&row.tags, tags)?;
            Ok(())
        })
        .await
    }

    /// Untag….
    pub async fn untag(&self, account: &str, kind: EntityKind, name: &str, keys: &[String]) -> Result<(), IamError> {
        self.change_principal(account, kind, name, |row| {
            row.tags.retain(|(key, _)| !keys.contains(key));
            Ok(())
        })
        .await
    }

    /// Put/DeleteUserPermissionsBoundary and the role's.
    pub async fn set_permissions_boundary(
        &self,
        account: &str,
        kind: EntityKind,
        name: &str,
        arn: Option<String>,
    ) -> Result<(), IamError> {
        if let Some(arn) = &arn {
            if self.read().managed_policy(arn).is_none() {
                return Err(IamError::NoSuchEntity(format!("Policy {arn} does not exist or is not attachable.")));
            }
        }
        self.change_principal(account, kind, name, |row| {
            row.permissions_boundary = arn;
            Ok(())
        })
        .await
    }

    /// CreatePolicy.
    pub async fn create_policy(
        &self,
        account: &str,
        name: &str,
        path: Option<String>,
        description: Option<String>,
        document: String,
        tags: Vec<(String, String)>,
    ) -> Result<ManagedPolicyView, IamError> {
        check_name("policyName", name, 128)?;
        let path = path.unwrap_or_else(|| "/".to_owned());
        check_path(&path)?;
        parse_document(&document, MANAGED_POLICY_LIMIT)?
            .check_identity_policy()
            .map_err(|err| IamError::MalformedPolicyDocument(err.0))?;
        let tags = check_tags(&[], &tags)?;
        let _write = self.writes.lock().await;
        if self.read().policies.contains_key(&Self::key(account, name)) {
            return Err(IamError::EntityAlreadyExists(format!(
                "A policy called {name} already exists. Duplicate names are not allowed."
            )));
        }
        let now = self.now();
        let row = ManagedPolicyRow {
            account: account.to_owned(),
            name: name.to_owned(),
            path,
            id: ids::unique_id("ANPA"),
            description,
            created_ms: now,
            updated_ms: now,
            default_version: "v1".to_owned(),
            versions: vec![PolicyVersionRow { id: "v1".to_owned(), document, created_ms: now }],
            next_version: 2,
            tags,
        };
        self.save(IamRecord::Policy(row.clone())).await?;
        Ok(self.customer_view(&row))
    }

    fn attachments(&self, arn: &str) -> usize {
        let state = self.read();
        let users =
            state.users.values().filter(|user| user.row.principal.attached_policies.iter().any(|a| a == arn)).count();
        let groups = state.groups.values().filter(|group| group.row.attached_policies.iter().any(|a| a == arn)).count();
        let roles =
            state.roles.values().filter(|role| role.row.principal.attached_policies.iter().any(|a| a == arn)).count();
        users + groups + roles
    }

    /// The entities a policy is attached to: (kind, row).
    pub fn entities_for_policy(&self, account: &str, arn: &str) -> Vec<(EntityKind, PrincipalRow)> {
        let state = self.read();
        let attached = |row: &PrincipalRow| row.account == account && row.attached_policies.iter().any(|a| a == arn);
        let mut entities = Vec::new();
        entities.extend(
            state
                .users
                .values()
                .filter(|u| attached(&u.row.principal))
                .map(|u| (EntityKind::User, u.row.principal.clone())),
        );
        entities.extend(state.groups.values().filter(|g| attached(&g.row)).map(|g| (EntityKind::Group, g.row.clone())));
        entities.extend(
            state
                .roles
                .values()
                .filter(|r| attached(&r.row.principal))
                .map(|r| (EntityKind::Role, r.row.principal.clone())),
        );
        entities
    }

    fn customer_view(&self, row: &ManagedPolicyRow) -> ManagedPolicyView {
        let arn = policy_arn(row);
        ManagedPolicyView {
            name: row.name.clone(),
            path: row.path.clone(),
            attachment_count: self.attachments(&arn),
            arn,
            id: row.id.clone(),
            description: row.description.clone(),
            default_version: row.default_version.clone(),
            created_ms: Some(row.created_ms),
            updated_ms: Some(row.updated_ms),
            published_dates: None,
            aws_managed: false,
            versions: row
                .versions
                .iter()
                .map(|version| {
                    (
                        version.id.clone(),
                        version.document.clone(),
                        Some(version.created_ms),
                        version.id == row.default_version,
                    )
                })
                .collect(),
            tags: row.tags.clone(),
        }
    }

    fn aws_view(&self, policy: &managed::AwsManagedPolicy) -> ManagedPolicyView {
        ManagedPolicyView {
            name: policy.name.clone(),
            path: policy.path.clone(),
            arn: policy.arn.clone(),
            id: policy.id.clone(),
            description: policy.description.clone(),
            default_version: policy.version.clone(),
            attachment_count: self.attachments(&policy.arn),
            created_ms: None,
            updated_ms: None,
            published_dates: Some((policy.created.clone(), policy.updated.clone())),
            aws_managed: true,
            versions: vec![(policy.version.clone(), policy.document.clone(), None, true)],
            tags: Vec::new(),
        }
    }

    /// GetPolicy (AWS's or the account's).
    pub fn policy(&self, account: &str, arn: &str) -> Result<ManagedPolicyView, IamError> {
        if let Some(aws) = managed::by_arn(arn) {
            return Ok(self.aws_view(aws));
        }
        let missing = || IamError::NoSuchEntity(format!("Policy {arn} was not found."));
        let (owner, name) = crate::customer_policy_key(arn).ok_or_else(missing)?;
        if owner != account {
            return Err(missing());
        }
        let row = self.read().policies.get(&(owner, name)).map(|managed| managed.row.clone()).ok_or_else(missing)?;
        if policy_arn(&row) != arn {
            return Err(missing());
        }
        Ok(self.customer_view(&row))
    }

    /// ListPolicies: `scope` is `All`, `AWS` or `Local`; `only_attached` keeps attached ones.
    pub fn policies(
        &self,
        account: &str,
        scope: &str,
        only_attached: bool,
        path_prefix: &str,
    ) -> Vec<ManagedPolicyView> {
        let mut views = Vec::new();
        if scope != "Local" {
            views.extend(managed::list().map(|policy| self.aws_view(policy)));
        }
        if scope != "AWS" {
            let rows: Vec<ManagedPolicyRow> = self
                .read()
                .policies
                .range(Self::key(account, "")..)
                .take_while(|((owner, _), _)| owner == account)
                .map(|(_, managed)| managed.row.clone())
                .collect();
            views.extend(rows.iter().map(|row| self.customer_view(row)));
        }
        views.retain(|view| view.path.starts_with(path_prefix) && (!only_attached || view.attachment_count > 0));
        views.sort_by(|left, right| left.name.cmp(&right.name));
        views
    }

    async fn change_policy(
        &self,
        account: &str,
        arn: &str,
        change: impl FnOnce(&mut ManagedPolicyRow) -> Result<(), IamError>,
    ) -> Result<ManagedPolicyRow, IamError> {
        if managed::by_arn(arn).is_some() {
            return Err(IamError::InvalidInput(format!(
                "Policy {arn} is an AWS managed policy and cannot be changed."
            )));
        }
        let _write = self.writes.lock().await;
        self.policy(account, arn)?;
        let (owner, name) = crate::customer_policy_key(arn)
            .ok_or_else(|| IamError::NoSuchEntity(format!("Policy {arn} was not found.")))?;
        let mut row = self
            .read()
            .policies
            .get(&(owner, name))
            .map(|managed| managed.row.clone())
            .ok_or_else(|| IamError::NoSuchEntity(format!("Policy {arn} was not found.")))?;
        change(&mut row)?;
        self.save(IamRecord::Policy(row.clone())).await?;
        Ok(row)
    }

    /// DeletePolicy: refused while attached or with versions besides the default.
    pub async fn delete_policy(&self, account: &str, arn: &str) -> Result<(), IamError> {
        if managed::by_arn(arn).is_some() {
            return Err(IamError::InvalidInput(format!(
                "Policy {arn} is an AWS managed policy and cannot be deleted."
            )));
        }
        let view = self.policy(account, arn)?;
        if view.attachment_count > 0 {
            return Err(IamError::DeleteConflict("Cannot delete a policy attached to entities.".into()));
        }
        if view.versions.len() > 1 {
            return Err(IamError::DeleteConflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.".into()));
        }
        let _write = self.writes.lock().await;
        self.remove("policy", account, &view.name).await
    }

    /// CreatePolicyVersion.
    pub async fn create_policy_version(
        &self,
        account: &str,
        arn: &str,
        document: String,
        set_as_default: bool,
    ) -> Result<String, IamError> {
        parse_document(&document, MANAGED_POLICY_LIMIT)?
            .check_identity_policy()
            .map_err(|err| IamError::MalformedPolicyDocument(err.0))?;
        let now = self.now();
        let row = self
            .change_policy(account, arn, |row| {
                if row.versions.len() >= POLICY_VERSIONS_LIMIT {
                    return Err(IamError::LimitExceeded(
                        "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.".into(),
                    ));
                }
                let id = format!("v{}", row.next_version);
                row.next_version += 1;
                row.versions.push(PolicyVersionRow { id: id.clone(), document, created_ms: now });
                if set_as_default {
                    row.default_version = id;
                    row.updated_ms = now;
                }
                Ok(())
            })
            .await?;
        Ok(row.versions.last().map(|version| version.id.clone()).unwrap_or_default())
    }

    /// DeletePolicyVersion.
    pub async fn delete_policy_version(&self, account: &str, arn: &str, version: &str) -> Result<(), IamError> {
        self.change_policy(account, arn, |row| {
            if row.default_version == version {
                return Err(IamError::DeleteConflict("Cannot delete the default version of a policy.".into()));
            }
            let before = row.versions.len();
            row.versions.retain(|existing| existing.id != version);
            if row.versions.len() == before {
                return Err(IamError::NoSuchEntity(format!(
                    "Policy {arn} version {version} does not exist or is not attachable."
                )));
            }
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// SetDefaultPolicyVersion.
    pub async fn set_default_policy_version(&self, account: &str, arn: &str, version: &str) -> Result<(), IamError> {
        let now = self.now();
        self.change_policy(account, arn, |row| {
            if !row.versions.iter().any(|existing| existing.id == version) {
                return Err(IamError::NoSuchEntity(format!(
                    "Policy {arn} version {version} does not exist or is not attachable."
                )));
            }
            row.default_version = version.to_owned();
            row.updated_ms = now;
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// Tag/UntagPolicy.
    pub async fn tag_policy(
        &self,
        account: &str,
        arn: &str,
        add: &[(String, String)],
        remove: &[String],
    ) -> Result<(), IamError> {
        self.change_policy(account, arn, |row| {
            row.tags = check_tags(&row.tags, add)?;
            row.tags.retain(|(key, _)| !remove.contains(key));
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// GetAccountAuthorizationDetails.
    pub fn authorization_details(&self, account: &str) -> AuthorizationDetails {
        let mut details = AuthorizationDetails {
            users: self.users(account, "/"),
            groups: self.groups(account, "/"),
            roles: self.roles(account, "/"),
            policies: Vec::new(),
        };
        details.policies = self.policies(account, "Local", false, "/");
        details.policies.extend(self.policies(account, "AWS", true, "/"));
        details
    }

    /// AssumeRole for `caller`: the trust policy must allow the caller, and within one account
    /// either the trust policy names the caller itself or the caller's policies allow
    /// `sts:AssumeRole` on the role; across accounts both.
    pub fn assume_role(
        &self,
        caller: &Principal,
        role_arn: &str,
        session_name: &str,
        duration_seconds: Option<u32>,
        policy: Option<String>,
        tags: Vec<(String, String)>,
    ) -> Result<IssuedSession, IamError> {
        check_session_name(session_name)?;
        let denied = || {
            IamError::AccessDenied(format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                caller.arn()
            ))
        };
        let role = self.role_by_arn(role_arn).ok_or_else(denied)?;
        let trust = self.trust_of(&role.principal.account, &role.principal.name).ok_or_else(denied)?;
        let context = crate::authorize::principal_context(caller, self.now());
        let principal_arn = caller.arn();
        let role_of_caller = caller.role_arn();
        let trusts = |account: &str| {
            let request = Request {
                action: "sts:AssumeRole",
                resource: role_arn,
                principal: Some(RequestPrincipal::Aws {
                    account,
                    arn: &principal_arn,
                    role_arn: role_of_caller.as_deref(),
                }),
                context: &context,
            };
            trust.evaluate(&request) == crate::policy::Outcome::Allow
        };
        if !trusts(caller.account()) {
            return Err(denied());
        }
        // Evaluated with no account, only entries naming the caller itself (or its role) match.
        let named_directly = trusts("");
        let same_account = caller.account() == role.principal.account;
        if !(caller.is_root() || same_account && named_directly) {
            let access = crate::Access {
                action: "sts:AssumeRole",
                resource: role_arn,
                resource_account: None,
                resource_policy: None,
                context: BTreeMap::new(),
            };
            if self.authorize(caller, &access) != crate::Decision::Allow {
                return Err(denied());
            }
        }
        // A role session assuming a role (role chaining) gets one hour at most.
        let chained =
            matches!(caller, Principal::Session(claims) if matches!(claims.subject, SessionSubject::Role { .. }));
        let most = if chained { 3600 } else { role.max_session_duration };
        self.issue_role_session(&role, session_name, duration_seconds, most, policy, tags, None)
    }

    /// The credentials a service (Lambda, for a function's execution role) gets by assuming
    /// `role_arn`: the trust policy must allow `service`.
    pub fn assume_role_for_service(
        &self,
        service: &str,
        role_arn: &str,
        session_name: &str,
        duration_seconds: u32,
        source_function_arn: Option<String>,
    ) -> Result<IssuedSession, IamError> {
        let denied = || {
            IamError::AccessDenied(format!(
                "{service} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
            ))
        };
        let role = self.role_by_arn(role_arn).ok_or_else(denied)?;
        if !self.service_may_assume(service, &role) {
            return Err(denied());
        }
        self.issue_role_session(
            &role,
            session_name,
            Some(duration_seconds),
            duration_seconds.max(900),
            None,
            Vec::new(),
            source_function_arn,
        )
    }

    /// Whether `role`'s trust policy lets `service` assume it.
    pub fn service_may_assume(&self, service: &str, role: &RoleRow) -> bool {
        let Some(trust) = self.trust_of(&role.principal.account, &role.principal.name) else { return false };
        let context = BTreeMap::new();
        let arn = entity_arn(EntityKind::Role, &role.principal);
        let request = Request {
            action: "sts:AssumeRole",
            resource: &arn,
            principal: Some(RequestPrincipal::Service(service)),
            context: &context,
        };
        trust.evaluate(&request) == crate::policy::Outcome::Allow
    }

    #[allow(clippy::too_many_arguments)]
    fn issue_role_session(
        &self,
        role: &RoleRow,
        session_name: &str,
        duration_seconds: Option<u32>,
        most: u32,
        policy: Option<String>,
        tags: Vec<(String, String)>,
        source_function_arn: Option<String>,
    ) -> Result<IssuedSession, IamError> {
        let duration = duration_seconds.unwrap_or(3600);
        if duration < 900 {
            return Err(IamError::Validation(format!(
                "1 validation error detected: Value '{duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
            )));
        }
        if duration > most {
            return Err(IamError::Validation(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.".into(),
            ));
        }
        if let Some(document) = &policy {
            if document.chars().filter(|c| !c.is_whitespace()).count() > SESSION_POLICY_LIMIT {
                return Err(IamError::Validation("The policy exceeds the maximum allowed size.".into()));
            }
            document.parse::<Policy>().map_err(|err| IamError::MalformedPolicyDocument(err.0))?;
        }
        if tags.len() > 50 {
            return Err(IamError::Validation("The number of session tags exceeds 50.".into()));
        }
        let claims = SessionClaims {
            access_key_id: ids::session_key_id(),
            account: role.principal.account.clone(),
            expires_ms: self.now() + u64::from(duration) * 1000,
            subject: SessionSubject::Role {
                name: role.principal.name.clone(),
                path: role.principal.path.clone(),
                id: role.principal.id.clone(),
                session_name: session_name.to_owned(),
            },
            policy,
            tags,
            source_function_arn,
        };
        Ok(self.issue(claims))
    }

    fn issue(&self, claims: SessionClaims) -> IssuedSession {
        let (session_token, secret_access_key) = self.seal.issue(&claims);
        IssuedSession {
            access_key_id: claims.access_key_id.clone(),
            secret_access_key,
            session_token,
            expires_ms: claims.expires_ms,
            principal: Principal::Session(Arc::new(claims)),
        }
    }

    /// GetSessionToken: temporary credentials with the caller's own permissions.
    pub fn session_token(&self, caller: &Principal, duration_seconds: Option<u32>) -> Result<IssuedSession, IamError> {
        let (subject, most, default) = match caller {
            Principal::Root { .. } => (SessionSubject::Root, 3600, 3600),
            Principal::User { name, .. } => (SessionSubject::User { name: name.clone() }, 129_600, 43_200),
            Principal::Session(_) => {
                return Err(IamError::AccessDenied("Cannot call GetSessionToken with session credentials".into()));
            }
        };
        let duration = duration_seconds.unwrap_or(default);
        if !(900..=129_600).contains(&duration) {
            return Err(IamError::Validation(format!(
                "1 validation error detected: Value '{duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value {}",
                if duration < 900 { "greater than or equal to 900" } else { "less than or equal to 129600" }
            )));
        }
        let claims = SessionClaims {
            access_key_id: ids::session_key_id(),
            account: caller.account().to_owned(),
            expires_ms: self.now() + u64::from(duration.min(most)) * 1000,
            subject,
            policy: None,
            tags: Vec::new(),
            source_function_arn: None,
        };
        Ok(self.issue(claims))
    }
}

fn check_trust_policy(document: &str) -> Result<(), IamError> {
    let policy = parse_document(document, TRUST_POLICY_LIMIT)?;
    policy.check_trust_policy().map_err(|err| IamError::MalformedPolicyDocument(err.0))
}

fn check_max_session(duration: u32) -> Result<u32, IamError> {
    if !(3600..=43_200).contains(&duration) {
        let bound = if duration < 3600 { "greater than or equal to 3600" } else { "less than or equal to 43200" };
        return Err(IamError::Validation(format!(
            "1 validation error detected: Value '{duration}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value {bound}"
        )));
    }
    Ok(duration)
}

fn check_session_name(name: &str) -> Result<(), IamError> {
    let length = name.chars().count();
    if !(2..=64).contains(&length) || !name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)) {
        return Err(IamError::Validation(format!(
            "1 validation error detected: Value '{name}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
        )));
    }
    Ok(())
}

/// Whether an account may attach the policy: AWS's, or its own.
fn arn_in_reach(arn: &str, account: &str) -> bool {
    arn.starts_with("arn:aws:iam::aws:policy/") || arn.starts_with(&format!("arn:aws:iam::{account}:policy/"))
}

/// One policy that speaks for an entity, named as SimulatePrincipalPolicy reports it.
#[derive(Clone, Debug)]
pub struct NamedPolicy {
    /// The inline policy's name or the managed policy's ARN.
    pub id: String,
    /// `IAM Policy` (inline) or `aws-managed`/`user`-managed, as the simulator words it.
    pub source_type: &'static str,
    /// The compiled policy.
    pub policy: Arc<Policy>,
}

impl Iam {
    /// Every identity policy of a user (with its groups'), group or role, named.
    pub fn entity_policies(&self, account: &str, kind: EntityKind, name: &str) -> Result<Vec<NamedPolicy>, IamError> {
        let row = self.principal_row(account, kind, name)?;
        let mut named = Vec::new();
        let mut add = |row: &PrincipalRow| {
            for (policy_name, document) in &row.inline_policies {
                if let Ok(policy) = document.parse::<Policy>() {
                    named.push(NamedPolicy {
                        id: policy_name.clone(),
                        source_type: "IAM Policy",
                        policy: Arc::new(policy),
                    });
                }
            }
            for arn in &row.attached_policies {
                if let Some(policy) = self.read().managed_policy(arn) {
                    let source_type = if managed::by_arn(arn).is_some() { "aws-managed" } else { "user-managed" };
                    named.push(NamedPolicy { id: arn.clone(), source_type, policy });
                }
            }
        };
        add(&row);
        if kind == EntityKind::User {
            for group in self.user(account, name)?.groups {
                if let Ok((group, _)) = self.group(account, &group) {
                    add(&group);
                }
            }
        }
        Ok(named)
    }
}
