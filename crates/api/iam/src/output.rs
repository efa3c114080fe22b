//! IAM's output shapes, with the model's member names, rendered by the query XML writer.
//!
//! Policy documents are URL-encoded in IAM's XML answers (botocore and the CLI decode them);
//! dates are ISO 8601 in UTC.

use serde::Serialize;
use wharf_iam::{entity_arn, EntityKind, ManagedPolicyView};
use wharf_store::iam::{AccessKeyRow, PrincipalRow, RoleRow, UserRow};
use wharf_types::{EpochMillis, UtcDateTime};

/// IAM's date form.
pub fn date(millis: EpochMillis) -> String {
    UtcDateTime::from_epoch_millis(millis).iso8601_seconds()
}

/// A policy document as IAM writes it in XML: URL-encoded.
pub fn encoded(document: &str) -> String {
    percent_encoding::utf8_percent_encode(document, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A tag.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

/// Tags of an entity.
pub fn tags(pairs: &[(String, String)]) -> Vec<Tag> {
    pairs.iter().map(|(key, value)| Tag { key: key.clone(), value: value.clone() }).collect()
}

/// A permissions boundary.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Boundary {
    /// `PermissionsBoundaryPolicy`.
    pub permissions_boundary_type: &'static str,
    /// The policy's ARN.
    pub permissions_boundary_arn: String,
}

fn boundary(row: &PrincipalRow) -> Option<Boundary> {
    row.permissions_boundary.as_ref().map(|arn| Boundary {
        permissions_boundary_type: "PermissionsBoundaryPolicy",
        permissions_boundary_arn: arn.clone(),
    })
}

/// The `User` shape.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct User {
    /// Path.
    pub path: String,
    /// Name.
    pub user_name: String,
    /// `AIDA…`.
    pub user_id: String,
    /// ARN.
    pub arn: String,
    /// Creation date.
    pub create_date: String,
    /// Boundary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<Boundary>,
    /// Tags (GetUser only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl User {
    /// The shape of `row`, with tags when `with_tags`.
    pub fn of(row: &PrincipalRow, with_tags: bool) -> Self {
        User {
            path: row.path.clone(),
            user_name: row.name.clone(),
            user_id: row.id.clone(),
            arn: entity_arn(EntityKind::User, row),
            create_date: date(row.created_ms),
            permissions_boundary: boundary(row),
            tags: if with_tags { tags(&row.tags) } else { Vec::new() },
        }
    }
}

/// The `Group` shape.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Group {
    /// Path.
    pub path: String,
    /// Name.
    pub group_name: String,
    /// `AGPA…`.
    pub group_id: String,
    /// ARN.
    pub arn: String,
    /// Creation date.
    pub create_date: String,
}

impl Group {
    /// The shape of `row`.
    pub fn of(row: &PrincipalRow) -> Self {
        Group {
            path: row.path.clone(),
            group_name: row.name.clone(),
            group_id: row.id.clone(),
            arn: entity_arn(EntityKind::Group, row),
            create_date: date(row.created_ms),
        }
    }
}

/// The `Role` shape.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Role {
    /// Path.
    pub path: String,
    /// Name.
    pub role_name: String,
    /// `AROA…`.
    pub role_id: String,
    /// ARN.
    pub arn: String,
    /// Creation date.
    pub create_date: String,
    /// The trust policy, URL-encoded.
    pub assume_role_policy_document: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Longest session.
    pub max_session_duration: u32,
    /// Boundary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<Boundary>,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl Role {
    /// The shape of `row`.
    pub fn of(row: &RoleRow, with_tags: bool) -> Self {
        Role {
            path: row.principal.path.clone(),
            role_name: row.principal.name.clone(),
            role_id: row.principal.id.clone(),
            arn: entity_arn(EntityKind::Role, &row.principal),
            create_date: date(row.principal.created_ms),
            assume_role_policy_document: encoded(&row.assume_role_policy),
            description: row.description.clone(),
            max_session_duration: row.max_session_duration,
            permissions_boundary: boundary(&row.principal),
            tags: if with_tags { tags(&row.principal.tags) } else { Vec::new() },
        }
    }
}

/// The `Policy` shape.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Policy {
    /// Name.
    pub policy_name: String,
    /// `ANPA…`.
    pub policy_id: String,
    /// ARN.
    pub arn: String,
    /// Path.
    pub path: String,
    /// Default version.
    pub default_version_id: String,
    /// Attachments.
    pub attachment_count: usize,
    /// Boundary uses.
    pub permissions_boundary_usage_count: usize,
    /// Always true for managed policies.
    pub is_attachable: bool,
    /// Description (GetPolicy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Creation date.
    pub create_date: String,
    /// Last update.
    pub update_date: String,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

/// AWS's published dates are `2015-04-09T15:03:43Z`-like already; the fallback is the epoch.
fn published(date_text: &Option<String>) -> String {
    date_text.clone().unwrap_or_else(|| "2015-02-06T18:39:46Z".to_owned())
}

impl Policy {
    /// The shape of a managed policy.
    pub fn of(view: &ManagedPolicyView, with_description: bool) -> Self {
        let (created, updated) = match (&view.published_dates, view.created_ms, view.updated_ms) {
            (Some((created, updated)), _, _) => (published(created), published(updated)),
            (None, created, updated) => (date(created.unwrap_or(0)), date(updated.unwrap_or(0))),
        };
        Policy {
            policy_name: view.name.clone(),
            policy_id: view.id.clone(),
            arn: view.arn.clone(),
            path: view.path.clone(),
            default_version_id: view.default_version.clone(),
            attachment_count: view.attachment_count,
            permissions_boundary_usage_count: 0,
            is_attachable: true,
            description: if with_description { view.description.clone() } else { None },
            create_date: created,
            update_date: updated,
            tags: tags(&view.tags),
        }
    }
}

/// The `PolicyVersion` shape.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyVersion {
    /// The document, URL-encoded (absent in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    /// `v1`…
    pub version_id: String,
    /// Whether it is the default.
    pub is_default_version: bool,
    /// Creation date.
    pub create_date: String,
}

impl PolicyVersion {
    /// The versions of a view, with documents when `with_document`.
    pub fn all(view: &ManagedPolicyView, with_document: bool) -> Vec<PolicyVersion> {
        let fallback = match &view.published_dates {
            Some((created, _)) => published(created),
            None => date(view.created_ms.unwrap_or(0)),
        };
        view.versions
            .iter()
            .map(|(id, document, created, is_default)| PolicyVersion {
                document: with_document.then(|| encoded(document)),
                version_id: id.clone(),
                is_default_version: *is_default,
                create_date: created.map(date).unwrap_or_else(|| fallback.clone()),
            })
            .collect()
    }
}

/// The `AccessKey` shape (with its secret: CreateAccessKey only).
#[derive(Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessKey {
    /// Owner.
    pub user_name: String,
    /// `AKIA…`.
    pub access_key_id: String,
    /// `Active` or `Inactive`.
    pub status: &'static str,
    /// The secret.
    pub secret_access_key: String,
    /// Creation date.
    pub create_date: String,
}

/// The `AccessKeyMetadata` shape.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessKeyMetadata {
    /// Owner.
    pub user_name: String,
    /// `AKIA…`.
    pub access_key_id: String,
    /// `Active` or `Inactive`.
    pub status: &'static str,
    /// Creation date.
    pub create_date: String,
}

/// `Active` or `Inactive`.
pub fn status(key: &AccessKeyRow) -> &'static str {
    if key.active {
        "Active"
    } else {
        "Inactive"
    }
}

/// `AttachedPolicy`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachedPolicy {
    /// The policy's name.
    pub policy_name: String,
    /// Its ARN.
    pub policy_arn: String,
}

/// The attached policies of an entity.
pub fn attached(row: &PrincipalRow) -> Vec<AttachedPolicy> {
    row.attached_policies
        .iter()
        .map(|arn| AttachedPolicy {
            policy_name: arn.rsplit('/').next().unwrap_or(arn).to_owned(),
            policy_arn: arn.clone(),
        })
        .collect()
}

/// An inline policy in GetAccountAuthorizationDetails.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDetail {
    /// Name.
    pub policy_name: String,
    /// Document, URL-encoded.
    pub policy_document: String,
}

fn inline_details(row: &PrincipalRow) -> Vec<PolicyDetail> {
    row.inline_policies
        .iter()
        .map(|(name, document)| PolicyDetail { policy_name: name.clone(), policy_document: encoded(document) })
        .collect()
}

/// `UserDetail`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserDetail {
    /// Path.
    pub path: String,
    /// Name.
    pub user_name: String,
    /// Id.
    pub user_id: String,
    /// ARN.
    pub arn: String,
    /// Creation date.
    pub create_date: String,
    /// Inline policies.
    pub user_policy_list: Vec<PolicyDetail>,
    /// Groups.
    pub group_list: Vec<String>,
    /// Attached managed policies.
    pub attached_managed_policies: Vec<AttachedPolicy>,
    /// Tags.
    pub tags: Vec<Tag>,
}

impl UserDetail {
    /// The detail of `user`.
    pub fn of(user: &UserRow) -> Self {
        let row = &user.principal;
        UserDetail {
            path: row.path.clone(),
            user_name: row.name.clone(),
            user_id: row.id.clone(),
            arn: entity_arn(EntityKind::User, row),
            create_date: date(row.created_ms),
            user_policy_list: inline_details(row),
            group_list: user.groups.clone(),
            attached_managed_policies: attached(row),
            tags: tags(&row.tags),
        }
    }
}

/// `GroupDetail`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupDetail {
    /// Path.
    pub path: String,
    /// Name.
    pub group_name: String,
    /// Id.
    pub group_id: String,
    /// ARN.
    pub arn: String,
    /// Creation date.
    pub create_date: String,
    /// Inline policies.
    pub group_policy_list: Vec<PolicyDetail>,
    /// Attached managed policies.
    pub attached_managed_policies: Vec<AttachedPolicy>,
}

impl GroupDetail {
    /// The detail of `row`.
    pub fn of(row: &PrincipalRow) -> Self {
        GroupDetail {
            path: row.path.clone(),
            group_name: row.name.clone(),
            group_id: row.id.clone(),
            arn: entity_arn(EntityKind::Group, row),
            create_date: date(row.created_ms),
            group_policy_list: inline_details(row),
            attached_managed_policies: attached(row),
        }
    }
}

/// `RoleDetail`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleDetail {
    /// Path.
    pub path: String,
    /// Name.
    pub role_name: String,
    /// Id.
    pub role_id: String,
    /// ARN.
    pub arn: String,
    /// Creation date.
    pub create_date: String,
    /// Trust policy, URL-encoded.
    pub assume_role_policy_document: String,
    /// Inline policies.
    pub role_policy_list: Vec<PolicyDetail>,
    /// Attached managed policies.
    pub attached_managed_policies: Vec<AttachedPolicy>,
    /// Tags.
    pub tags: Vec<Tag>,
}

impl RoleDetail {
    /// The detail of `role`.
    pub fn of(role: &RoleRow) -> Self {
        let row = &role.principal;
        RoleDetail {
            path: row.path.clone(),
            role_name: row.name.clone(),
            role_id: row.id.clone(),
            arn: entity_arn(EntityKind::Role, row),
            create_date: date(row.created_ms),
            assume_role_policy_document: encoded(&role.assume_role_policy),
            role_policy_list: inline_details(row),
            attached_managed_policies: attached(row),
            tags: tags(&row.tags),
        }
    }
}

/// `ManagedPolicyDetail`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedPolicyDetail {
    /// Name.
    pub policy_name: String,
    /// Id.
    pub policy_id: String,
    /// ARN.
    pub arn: String,
    /// Path.
    pub path: String,
    /// Default version.
    pub default_version_id: String,
    /// Attachments.
    pub attachment_count: usize,
    /// Always true.
    pub is_attachable: bool,
    /// Creation date.
    pub create_date: String,
    /// Last update.
    pub update_date: String,
    /// Versions with documents.
    pub policy_version_list: Vec<PolicyVersion>,
}

impl ManagedPolicyDetail {
    /// The detail of `view`.
    pub fn of(view: &ManagedPolicyView) -> Self {
        let policy = Policy::of(view, false);
        ManagedPolicyDetail {
            policy_name: policy.policy_name,
            policy_id: policy.policy_id,
            arn: policy.arn,
            path: policy.path,
            default_version_id: policy.default_version_id,
            attachment_count: policy.attachment_count,
            is_attachable: true,
            create_date: policy.create_date,
            update_date: policy.update_date,
            policy_version_list: PolicyVersion::all(view, true),
        }
    }
}

/// One statement that decided a simulation.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    /// The policy's name or ARN.
    pub source_policy_id: String,
    /// `IAM Policy`, `aws-managed`, `user-managed`, `none`.
    pub source_policy_type: String,
}

/// `EvaluationResult`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EvaluationResult {
    /// The action.
    pub eval_action_name: String,
    /// The resource.
    pub eval_resource_name: String,
    /// `allowed`, `explicitDeny` or `implicitDeny`.
    pub eval_decision: &'static str,
    /// The statements that matched.
    pub matched_statements: Vec<Statement>,
    /// Context keys the policies use that the request did not supply.
    pub missing_context_values: Vec<String>,
}
