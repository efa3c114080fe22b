//! One arm per IAM operation: parameters → `wharf_iam` → a typed result.

use crate::error::IamApiError;
use crate::output::{self, encoded};
use crate::results::*;
use crate::{Operation, Output};
use std::collections::BTreeMap;
use wharf_api_common::pipeline::{Caller, Resource};
use wharf_iam::policy::{Outcome, Request, RequestPrincipal};
use wharf_iam::{EntityKind, Iam, NewEntity, Policy, Principal};

/// The operations wharf answers; the model's others are `InvalidAction` with a clear message.
pub const IMPLEMENTED: &[&str] = &[
    "AddUserToGroup",
    "AttachGroupPolicy",
    "AttachRolePolicy",
    "AttachUserPolicy",
    "CreateAccessKey",
    "CreateGroup",
    "CreatePolicy",
    "CreatePolicyVersion",
    "CreateRole",
    "CreateUser",
    "DeleteAccessKey",
    "DeleteGroup",
    "DeleteGroupPolicy",
    "DeletePolicy",
    "DeletePolicyVersion",
    "DeleteRole",
    "DeleteRolePermissionsBoundary",
    "DeleteRolePolicy",
    "DeleteUser",
    "DeleteUserPermissionsBoundary",
    "DeleteUserPolicy",
    "DetachGroupPolicy",
    "DetachRolePolicy",
    "DetachUserPolicy",
    "GetAccessKeyLastUsed",
    "GetAccountAuthorizationDetails",
    "GetGroup",
    "GetGroupPolicy",
    "GetPolicy",
    "GetPolicyVersion",
    "GetRole",
    "GetRolePolicy",
    "GetUser",
    "GetUserPolicy",
    "ListAccessKeys",
    "ListAttachedGroupPolicies",
    "ListAttachedRolePolicies",
    "ListAttachedUserPolicies",
    "ListEntitiesForPolicy",
    "ListGroupPolicies",
    "ListGroups",
    "ListGroupsForUser",
    "ListPolicies",
    "ListPolicyTags",
    "ListPolicyVersions",
    "ListRolePolicies",
    "ListRoleTags",
    "ListRoles",
    "ListUserPolicies",
    "ListUserTags",
    "ListUsers",
    "PutGroupPolicy",
    "PutRolePermissionsBoundary",
    "PutRolePolicy",
    "PutUserPermissionsBoundary",
    "PutUserPolicy",
    "RemoveUserFromGroup",
    "SetDefaultPolicyVersion",
    "SimulateCustomPolicy",
    "SimulatePrincipalPolicy",
    "TagPolicy",
    "TagRole",
    "TagUser",
    "UntagPolicy",
    "UntagRole",
    "UntagUser",
    "UpdateAccessKey",
    "UpdateAssumeRolePolicy",
    "UpdateRole",
    "UpdateRoleDescription",
];

fn result<T: serde::Serialize + Send + 'static>(value: T) -> Result<Output, IamApiError> {
    Ok(Output::Result(Box::new(value)))
}

/// One page of `items` (sorted by `key`), from `marker`.
fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    most: usize,
    marker: Option<String>,
) -> (Vec<T>, bool, Option<String>) {
    let mut items: Vec<T> = match marker {
        Some(marker) => items.into_iter().skip_while(|item| key(item) < marker).collect(),
        None => items,
    };
    if items.len() > most {
        let rest = items.split_off(most);
        let next = rest.first().map(&key);
        (items, true, next)
    } else {
        (items, false, None)
    }
}

/// The entity kind and name parameter of an operation on users, groups or roles.
fn kind_of(name: &str) -> Option<(EntityKind, &'static str)> {
    if name.contains("User") && !name.contains("Users") {
        Some((EntityKind::User, "UserName"))
    } else if name.contains("Group") && !name.contains("Groups") {
        Some((EntityKind::Group, "GroupName"))
    } else if name.contains("Role") && !name.contains("Roles") {
        Some((EntityKind::Role, "RoleName"))
    } else {
        None
    }
}

/// The user an operation without `UserName` means: the caller's.
fn own_user(caller: &Caller, params: &crate::params::Params) -> Result<String, IamApiError> {
    match (params.optional("UserName"), &caller.principal) {
        (Some(name), _) => Ok(name),
        (None, Principal::User { name, .. }) => Ok(name.clone()),
        (None, _) => Err(IamApiError::missing("userName")),
    }
}

/// Handles one operation.
pub async fn handle(iam: &Iam, caller: &Caller, operation: Operation) -> Result<Output, IamApiError> {
    let account = caller.account.as_str();
    let params = &operation.params;
    let name = operation.name;
    match name {
        "CreateUser" | "CreateGroup" => {
            let new = NewEntity {
                name: params.required(if name == "CreateUser" { "UserName" } else { "GroupName" })?,
                path: params.optional("Path"),
                tags: params.tags("Tags"),
                permissions_boundary: params.optional("PermissionsBoundary"),
            };
            if name == "CreateUser" {
                let user = iam.create_user(account, new).await?;
                result(UserResult { item: output::User::of(&user.principal, true) })
            } else {
                let group = iam.create_group(account, new).await?;
                result(GroupResult { item: output::Group::of(&group) })
            }
        }
        "GetUser" => {
            let named = params.optional("UserName").or_else(|| match &caller.principal {
                Principal::User { name, .. } => Some(name.clone()),
                _ => None,
            });
            match named {
                Some(user) => {
                    let user = iam.user(account, &user)?;
                    result(UserResult { item: output::User::of(&user.principal, true) })
                }
                None => result(UserResult {
                    item: output::User {
                        path: "/".into(),
                        user_name: String::new(),
                        user_id: caller.principal.account().to_owned(),
                        arn: format!("arn:aws:iam::{}:root", caller.principal.account()),
                        create_date: output::date(0),
                        permissions_boundary: None,
                        tags: Vec::new(),
                    },
                }),
            }
        }
        "ListUsers" => {
            let (most, marker) = params.paging()?;
            let prefix = params.optional("PathPrefix").unwrap_or_else(|| "/".into());
            let users = iam.users(account, &prefix);
            let (users, is_truncated, marker) = page(users, |user| user.principal.name.clone(), most, marker);
            result(UsersPage {
                items: users.iter().map(|user| output::User::of(&user.principal, false)).collect(),
                is_truncated,
                marker,
            })
        }
        "DeleteUser" => {
            iam.delete_user(account, &params.required("UserName")?).await?;
            Ok(Output::Empty)
        }
        "CreateAccessKey" => {
            let user = own_user(caller, params)?;
            let key = iam.create_access_key(account, &user).await?;
            result(AccessKeyResult {
                item: output::AccessKey {
                    user_name: user,
                    access_key_id: key.id.clone(),
                    status: output::status(&key),
                    secret_access_key: key.secret.clone(),
                    create_date: output::date(key.created_ms),
                },
            })
        }
        "ListAccessKeys" => {
            let user = own_user(caller, params)?;
            let row = iam.user(account, &user)?;
            let keys = row
                .access_keys
                .iter()
                .map(|key| output::AccessKeyMetadata {
                    user_name: user.clone(),
                    access_key_id: key.id.clone(),
                    status: output::status(key),
                    create_date: output::date(key.created_ms),
                })
                .collect();
            result(AccessKeysPage { items: keys, is_truncated: false, marker: None })
        }
        "DeleteAccessKey" | "UpdateAccessKey" => {
            let key = params.required("AccessKeyId")?;
            let user = match params.optional("UserName") {
                Some(user) => user,
                None => iam.access_key_owner(account, &key).ok_or_else(|| {
                    wharf_iam::IamError::NoSuchEntity(format!("The Access Key with id {key} cannot be found."))
                })?,
            };
            if name == "DeleteAccessKey" {
                iam.delete_access_key(account, &user, &key).await?;
            } else {
                let active = match params.required("Status")?.as_str() {
                    "Active" => true,
                    "Inactive" => false,
                    other => {
                        return Err(IamApiError::invalid(format!(
                            "1 validation error detected: Value '{other}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"
                        )))
                    }
                };
                iam.set_access_key_active(account, &user, &key, active).await?;
            }
            Ok(Output::Empty)
        }
        "GetAccessKeyLastUsed" => {
            let key = params.required("AccessKeyId")?;
            let user = iam.access_key_owner(account, &key).ok_or_else(|| {
                IamApiError::new(
                    http::StatusCode::FORBIDDEN,
                    "AccessDenied",
                    "The access key does not belong to this account",
                )
            })?;
            result(AccessKeyLastUsedResult {
                user_name: user,
                access_key_last_used: LastUsed { service_name: "N/A", region: "N/A" },
            })
        }
        "GetGroup" => {
            let (group, users) = iam.group(account, &params.required("GroupName")?)?;
            result(GetGroupResult {
                group: output::Group::of(&group),
                users: users.iter().map(|user| output::User::of(&user.principal, false)).collect(),
                is_truncated: false,
            })
        }
        "ListGroups" => {
            let (most, marker) = params.paging()?;
            let groups = iam.groups(account, &params.optional("PathPrefix").unwrap_or_else(|| "/".into()));
            let (groups, is_truncated, marker) = page(groups, |group| group.name.clone(), most, marker);
            result(GroupsPage { items: groups.iter().map(output::Group::of).collect(), is_truncated, marker })
        }
        "ListGroupsForUser" => {
            let user = iam.user(account, &params.required("UserName")?)?;
            let groups = user
                .groups
                .iter()
                .filter_map(|group| iam.group(account, group).ok())
                .map(|(group, _)| output::Group::of(&group))
                .collect();
            result(GroupsPage { items: groups, is_truncated: false, marker: None })
        }
        "DeleteGroup" => {
            iam.delete_group(account, &params.required("GroupName")?).await?;
            Ok(Output::Empty)
        }
        "AddUserToGroup" | "RemoveUserFromGroup" => {
            let group = params.required("GroupName")?;
            let user = params.required("UserName")?;
            iam.set_group_membership(account, &group, &user, name == "AddUserToGroup").await?;
            Ok(Output::Empty)
        }
        "CreateRole" => {
            let new = NewEntity {
                name: params.required("RoleName")?,
                path: params.optional("Path"),
                tags: params.tags("Tags"),
                permissions_boundary: params.optional("PermissionsBoundary"),
            };
            let role = iam
                .create_role(
                    account,
                    new,
                    params.required("AssumeRolePolicyDocument")?,
                    params.optional("Description"),
                    params.number("MaxSessionDuration", 0, u32::MAX)?,
                )
                .await?;
            result(RoleResult { item: output::Role::of(&role, true) })
        }
        "GetRole" => {
            let role = iam.role(account, &params.required("RoleName")?)?;
            result(RoleResult { item: output::Role::of(&role, true) })
        }
        "ListRoles" => {
            let (most, marker) = params.paging()?;
            let roles = iam.roles(account, &params.optional("PathPrefix").unwrap_or_else(|| "/".into()));
            let (roles, is_truncated, marker) = page(roles, |role| role.principal.name.clone(), most, marker);
            result(RolesPage {
                items: roles.iter().map(|role| output::Role::of(role, false)).collect(),
                is_truncated,
                marker,
            })
        }
        "DeleteRole" => {
            iam.delete_role(account, &params.required("RoleName")?).await?;
            Ok(Output::Empty)
        }
        "UpdateRole" | "UpdateRoleDescription" => {
            let role = iam
                .update_role(
                    account,
                    &params.required("RoleName")?,
                    params.optional("Description"),
                    params.number("MaxSessionDuration", 0, u32::MAX)?,
                )
                .await?;
            if name == "UpdateRoleDescription" {
                result(RoleResult { item: output::Role::of(&role, true) })
            } else {
                Ok(Output::Empty)
            }
        }
        "UpdateAssumeRolePolicy" => {
            iam.update_trust_policy(account, &params.required("RoleName")?, params.required("PolicyDocument")?).await?;
            Ok(Output::Empty)
        }
        "PutUserPolicy" | "PutGroupPolicy" | "PutRolePolicy" => {
            let (kind, member) = kind_of(name).unwrap_or((EntityKind::User, "UserName"));
            iam.put_inline_policy(
                account,
                kind,
                &params.required(member)?,
                &params.required("PolicyName")?,
                params.required("PolicyDocument")?,
            )
            .await?;
            Ok(Output::Empty)
        }
        "GetUserPolicy" | "GetGroupPolicy" | "GetRolePolicy" => {
            let (kind, member) = kind_of(name).unwrap_or((EntityKind::User, "UserName"));
            let entity = params.required(member)?;
            let policy_name = params.required("PolicyName")?;
            let document = encoded(&iam.inline_policy(account, kind, &entity, &policy_name)?);
            match kind {
                EntityKind::User => {
                    result(UserPolicyResult { user_name: entity, policy_name, policy_document: document })
                }
                EntityKind::Group => {
                    result(GroupPolicyResult { group_name: entity, policy_name, policy_document: document })
                }
                EntityKind::Role => {
                    result(RolePolicyResult { role_name: entity, policy_name, policy_document: document })
                }
            }
        }
        "DeleteUserPolicy" | "DeleteGroupPolicy" | "DeleteRolePolicy" => {
            let (kind, member) = kind_of(name).unwrap_or((EntityKind::User, "UserName"));
            iam.delete_inline_policy(account, kind, &params.required(member)?, &params.required("PolicyName")?).await?;
            Ok(Output::Empty)
        }
        "ListUserPolicies" | "ListGroupPolicies" | "ListRolePolicies" => {
            let (kind, member) = kind_of(name).unwrap_or((EntityKind::User, "UserName"));
            let (most, marker) = params.paging()?;
            let row = iam.principal_row(account, kind, &params.required(member)?)?;
            let names: Vec<String> = row.inline_policies.keys().cloned().collect();
            let (names, is_truncated, marker) = page(names, Clone::clone, most, marker);
            result(PolicyNamesPage { items: names, is_truncated, marker })
        }
        "AttachUserPolicy" | "AttachGroupPolicy" | "AttachRolePolicy" | "DetachUserPolicy" | "DetachGroupPolicy"
        | "DetachRolePolicy" => {
            let (kind, member) = kind_of(name).unwrap_or((EntityKind::User, "UserName"));
            let entity = params.required(member)?;
            let arn = params.required("PolicyArn")?;
            if name.starts_with("Attach") {
                iam.attach_policy(account, kind, &entity, &arn).await?;
            } else {
                iam.detach_policy(account, kind, &entity, &arn).await?;
            }
            Ok(Output::Empty)
        }
        "ListAttachedUserPolicies" | "ListAttachedGroupPolicies" | "ListAttachedRolePolicies" => {
            let (kind, member) = kind_of(name).unwrap_or((EntityKind::User, "UserName"));
            let row = iam.principal_row(account, kind, &params.required(member)?)?;
            let prefix = params.optional("PathPrefix").unwrap_or_else(|| "/".into());
            let attached: Vec<_> = output::attached(&row)
                .into_iter()
                .filter(|policy| {
                    iam.policy(account, &policy.policy_arn).is_ok_and(|view| view.path.starts_with(&prefix))
                })
                .collect();
            result(AttachedPoliciesPage { items: attached, is_truncated: false, marker: None })
        }
        "PutUserPermissionsBoundary"
        | "PutRolePermissionsBoundary"
        | "DeleteUserPermissionsBoundary"
        | "DeleteRolePermissionsBoundary" => {
            let (kind, member) = kind_of(name).unwrap_or((EntityKind::User, "UserName"));
            let arn = if name.starts_with("Put") { Some(params.required("PermissionsBoundary")?) } else { None };
            iam.set_permissions_boundary(account, kind, &params.required(member)?, arn).await?;
            Ok(Output::Empty)
        }
        "TagUser" | "TagRole" => {
            let (kind, member) = kind_of(name).unwrap_or((EntityKind::User, "UserName"));
            iam.tag(account, kind, &params.required(member)?, &params.tags("Tags")).await?;
            Ok(Output::Empty)
        }
        "UntagUser" | "UntagRole" => {
            let (kind, member) = kind_of(name).unwrap_or((EntityKind::User, "UserName"));
            iam.untag(account, kind, &params.required(member)?, &params.list("TagKeys")).await?;
            Ok(Output::Empty)
        }
        "ListUserTags" | "ListRoleTags" => {
            let (kind, member) = kind_of(name).unwrap_or((EntityKind::User, "UserName"));
            let row = iam.principal_row(account, kind, &params.required(member)?)?;
            result(TagsPage { items: output::tags(&row.tags), is_truncated: false, marker: None })
        }
        "CreatePolicy" => {
            let view = iam
                .create_policy(
                    account,
                    &params.required("PolicyName")?,
                    params.optional("Path"),
                    params.optional("Description"),
                    params.required("PolicyDocument")?,
                    params.tags("Tags"),
                )
                .await?;
            result(PolicyResult { item: output::Policy::of(&view, false) })
        }
        "GetPolicy" => {
            let view = iam.policy(account, &params.required("PolicyArn")?)?;
            result(PolicyResult { item: output::Policy::of(&view, true) })
        }
        "DeletePolicy" => {
            iam.delete_policy(account, &params.required("PolicyArn")?).await?;
            Ok(Output::Empty)
        }
        "ListPolicies" => {
            let (most, marker) = params.paging()?;
            let scope = params.optional("Scope").unwrap_or_else(|| "All".into());
            if !matches!(scope.as_str(), "All" | "AWS" | "Local") {
                return Err(IamApiError::invalid(format!(
                    "1 validation error detected: Value '{scope}' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]"
                )));
            }
            let prefix = params.optional("PathPrefix").unwrap_or_else(|| "/".into());
            let views = iam.policies(account, &scope, params.flag("OnlyAttached"), &prefix);
            let (views, is_truncated, marker) = page(views, |view| view.name.clone(), most, marker);
            result(PoliciesPage {
                items: views.iter().map(|view| output::Policy::of(view, false)).collect(),
                is_truncated,
                marker,
            })
        }
        "CreatePolicyVersion" => {
            let arn = params.required("PolicyArn")?;
            let version = iam
                .create_policy_version(account, &arn, params.required("PolicyDocument")?, params.flag("SetAsDefault"))
                .await?;
            let view = iam.policy(account, &arn)?;
            let created = output::PolicyVersion::all(&view, false)
                .into_iter()
                .find(|existing| existing.version_id == version)
                .ok_or_else(|| {
                    IamApiError::new(
                        http::StatusCode::INTERNAL_SERVER_ERROR,
                        "ServiceFailure",
                        "the new version vanished",
                    )
                })?;
            result(CreatedVersionResult { policy_version: created })
        }
        "GetPolicyVersion" => {
            let arn = params.required("PolicyArn")?;
            let version = params.required("VersionId")?;
            let view = iam.policy(account, &arn)?;
            let found = output::PolicyVersion::all(&view, true)
                .into_iter()
                .find(|existing| existing.version_id == version)
                .ok_or_else(|| {
                    wharf_iam::IamError::NoSuchEntity(format!(
                        "Policy {arn} version {version} does not exist or is not attachable."
                    ))
                })?;
            result(PolicyVersionResult { item: found })
        }
        "ListPolicyVersions" => {
            let view = iam.policy(account, &params.required("PolicyArn")?)?;
            result(VersionsPage { items: output::PolicyVersion::all(&view, false), is_truncated: false, marker: None })
        }
        "DeletePolicyVersion" => {
            iam.delete_policy_version(account, &params.required("PolicyArn")?, &params.required("VersionId")?).await?;
            Ok(Output::Empty)
        }
        "SetDefaultPolicyVersion" => {
            iam.set_default_policy_version(account, &params.required("PolicyArn")?, &params.required("VersionId")?)
                .await?;
            Ok(Output::Empty)
        }
        "TagPolicy" => {
            iam.tag_policy(account, &params.required("PolicyArn")?, &params.tags("Tags"), &[]).await?;
            Ok(Output::Empty)
        }
        "UntagPolicy" => {
            iam.tag_policy(account, &params.required("PolicyArn")?, &[], &params.list("TagKeys")).await?;
            Ok(Output::Empty)
        }
        "ListPolicyTags" => {
            let view = iam.policy(account, &params.required("PolicyArn")?)?;
            result(TagsPage { items: output::tags(&view.tags), is_truncated: false, marker: None })
        }
        "ListEntitiesForPolicy" => {
            let arn = params.required("PolicyArn")?;
            iam.policy(account, &arn)?;
            let mut answer = EntitiesForPolicyResult {
                policy_groups: Vec::new(),
                policy_users: Vec::new(),
                policy_roles: Vec::new(),
                is_truncated: false,
            };
            for (kind, row) in iam.entities_for_policy(account, &arn) {
                match kind {
                    EntityKind::User => answer.policy_users.push(PolicyUser { user_name: row.name, user_id: row.id }),
                    EntityKind::Group => {
                        answer.policy_groups.push(PolicyGroup { group_name: row.name, group_id: row.id })
                    }
                    EntityKind::Role => answer.policy_roles.push(PolicyRole { role_name: row.name, role_id: row.id }),
                }
            }
            result(answer)
        }
        "GetAccountAuthorizationDetails" => {
            let details = iam.authorization_details(account);
            let filter = params.list("Filter");
            let wants = |kind: &str| filter.is_empty() || filter.iter().any(|wanted| wanted == kind);
            result(AuthorizationDetailsResult {
                user_detail_list: if wants("User") {
                    details.users.iter().map(output::UserDetail::of).collect()
                } else {
                    Vec::new()
                },
                group_detail_list: if wants("Group") {
                    details.groups.iter().map(output::GroupDetail::of).collect()
                } else {
                    Vec::new()
                },
                role_detail_list: if wants("Role") {
                    details.roles.iter().map(output::RoleDetail::of).collect()
                } else {
                    Vec::new()
                },
                policies: if wants("LocalManagedPolicy") || wants("AWSManagedPolicy") {
                    details
                        .policies
                        .iter()
                        .filter(|view| wants(if view.aws_managed { "AWSManagedPolicy" } else { "LocalManagedPolicy" }))
                        .map(output::ManagedPolicyDetail::of)
                        .collect()
                } else {
                    Vec::new()
                },
                is_truncated: false,
            })
        }
        "SimulatePrincipalPolicy" => {
            let source = params.required("PolicySourceArn")?;
            let (kind, entity) = entity_of_arn(&source).ok_or_else(|| {
                IamApiError::new(
                    http::StatusCode::BAD_REQUEST,
                    "InvalidInput",
                    format!("Invalid PolicySourceArn: {source}"),
                )
            })?;
            let mut policies: Vec<wharf_iam::NamedPolicy> = iam.entity_policies(account, kind, &entity)?;
            policies.extend(extra_policies(params)?);
            simulate(params, &policies, caller)
        }
        "SimulateCustomPolicy" => {
            let policies = extra_policies(params)?;
            if policies.is_empty() {
                return Err(IamApiError::missing("policyInputList"));
            }
            simulate(params, &policies, caller)
        }
        other => Err(IamApiError::new(
            http::StatusCode::BAD_REQUEST,
            "InvalidAction",
            format!("wharf does not implement the IAM action {other} yet"),
        )),
    }
}

/// The user, group or role an ARN names.
fn entity_of_arn(arn: &str) -> Option<(EntityKind, String)> {
    let resource = arn.strip_prefix("arn:aws:iam::")?.split_once(':')?.1;
    let (kind, rest) = resource.split_once('/')?;
    let name = rest.rsplit('/').next()?.to_owned();
    match kind {
        "user" => Some((EntityKind::User, name)),
        "group" => Some((EntityKind::Group, name)),
        "role" => Some((EntityKind::Role, name)),
        _ => None,
    }
}

/// `PolicyInputList.member.N`, as policies named `PolicyInputList.N`.
fn extra_policies(params: &crate::params::Params) -> Result<Vec<wharf_iam::NamedPolicy>, IamApiError> {
    params
        .list("PolicyInputList")
        .iter()
        .enumerate()
        .map(|(index, document)| {
            let policy = document
                .parse::<Policy>()
                .map_err(|err| IamApiError::new(http::StatusCode::BAD_REQUEST, "MalformedPolicyDocument", err.0))?;
            Ok(wharf_iam::NamedPolicy {
                id: format!("PolicyInputList.{}", index + 1),
                source_type: "IAM Policy",
                policy: std::sync::Arc::new(policy),
            })
        })
        .collect()
}

/// Evaluates every action on every resource against `policies`, as the simulator does for
/// identity policies (no resource policy, the context entries given).
fn simulate(
    params: &crate::params::Params,
    policies: &[wharf_iam::NamedPolicy],
    caller: &Caller,
) -> Result<Output, IamApiError> {
    let actions = params.list("ActionNames");
    if actions.is_empty() {
        return Err(IamApiError::missing("actionNames"));
    }
    let mut resources = params.list("ResourceArns");
    if resources.is_empty() {
        resources.push("*".to_owned());
    }
    let mut context: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for index in 1..=100 {
        let Some(key) = params.optional(&format!("ContextEntries.member.{index}.ContextKeyName")) else { break };
        let values = params.list(&format!("ContextEntries.member.{index}.ContextKeyValues"));
        context.insert(key.to_ascii_lowercase(), values);
    }
    let arn = caller.principal_arn.to_string();
    let mut results = Vec::new();
    for action in &actions {
        for resource in &resources {
            let request = Request {
                action,
                resource,
                principal: Some(RequestPrincipal::Aws { account: caller.account.as_str(), arn: &arn, role_arn: None }),
                context: &context,
            };
            let mut decision = "implicitDeny";
            let mut matched = Vec::new();
            for named in policies {
                match named.policy.evaluate(&request) {
                    Outcome::Deny => {
                        decision = "explicitDeny";
                        matched.push(output::Statement {
                            source_policy_id: named.id.clone(),
                            source_policy_type: named.source_type.to_owned(),
                        });
                    }
                    Outcome::Allow => {
                        if decision == "implicitDeny" {
                            decision = "allowed";
                        }
                        matched.push(output::Statement {
                            source_policy_id: named.id.clone(),
                            source_policy_type: named.source_type.to_owned(),
                        });
                    }
                    Outcome::NotApplicable => {}
                }
            }
            results.push(output::EvaluationResult {
                eval_action_name: action.clone(),
                eval_resource_name: resource.clone(),
                eval_decision: decision,
                matched_statements: matched,
                missing_context_values: Vec::new(),
            });
        }
    }
    result(EvaluationPage { items: results, is_truncated: false, marker: None })
}

/// The resource an IAM operation acts on: the named user, group, role or policy.
pub fn resource(iam: &Iam, caller: &Caller, operation: &Operation) -> Resource {
    let account = caller.account.as_str();
    let params = &operation.params;
    let arn = if let Some(policy) = params.get("PolicyArn") {
        Some(policy.to_owned())
    } else if operation.name == "CreatePolicy" {
        params
            .get("PolicyName")
            .map(|name| format!("arn:aws:iam::{account}:policy{}{name}", params.get("Path").unwrap_or("/")))
    } else if operation.name == "SimulatePrincipalPolicy" {
        params.optional("PolicySourceArn")
    } else {
        kind_of(operation.name).and_then(|(kind, member)| {
            let name = params.get(member)?;
            let path = iam
                .principal_row(account, kind, name)
                .map(|row| row.path)
                .unwrap_or_else(|_| params.optional("Path").unwrap_or_else(|| "/".into()));
            let word = match kind {
                EntityKind::User => "user",
                EntityKind::Group => "group",
                EntityKind::Role => "role",
            };
            Some(format!("arn:aws:iam::{account}:{word}{path}{name}"))
        })
    };
    Resource { arn, account: Some(account.to_owned()), ..Resource::default() }
}
