//! The `…Result` shapes of IAM's operations, one struct each (lists are pages: `IsTruncated`
//! and `Marker`).

use crate::output::*;
use serde::Serialize;

macro_rules! page {
    ($name:ident, $member:literal, $item:ty) => {
        #[doc = concat!("A page of `", $member, "`.")]
        #[derive(Clone, Debug, Serialize)]
        pub struct $name {
            #[doc = "The items."]
            #[serde(rename = $member)]
            pub items: Vec<$item>,
            #[doc = "Whether more follow."]
            #[serde(rename = "IsTruncated")]
            pub is_truncated: bool,
            #[doc = "Where the next page starts."]
            #[serde(rename = "Marker", skip_serializing_if = "Option::is_none")]
            pub marker: Option<String>,
        }
    };
}

macro_rules! single {
    ($name:ident, $member:literal, $item:ty) => {
        #[doc = concat!("An answer holding `", $member, "`.")]
        #[derive(Clone, Serialize)]
        pub struct $name {
            #[doc = "The item."]
            #[serde(rename = $member)]
            pub item: $item,
        }
    };
}

page!(UsersPage, "Users", User);
page!(GroupsPage, "Groups", Group);
page!(RolesPage, "Roles", Role);
page!(PoliciesPage, "Policies", Policy);
page!(PolicyNamesPage, "PolicyNames", String);
page!(AttachedPoliciesPage, "AttachedPolicies", AttachedPolicy);
page!(AccessKeysPage, "AccessKeyMetadata", AccessKeyMetadata);
page!(TagsPage, "Tags", Tag);
page!(VersionsPage, "Versions", PolicyVersion);
page!(EvaluationPage, "EvaluationResults", EvaluationResult);

single!(UserResult, "User", User);
single!(GroupResult, "Group", Group);
single!(RoleResult, "Role", Role);
single!(PolicyResult, "Policy", Policy);
single!(AccessKeyResult, "AccessKey", AccessKey);
single!(PolicyVersionResult, "PolicyVersion", PolicyVersion);

/// GetGroup.
#[derive(Clone, Debug, Serialize)]
pub struct GetGroupResult {
    /// The group.
    #[serde(rename = "Group")]
    pub group: Group,
    /// Its users.
    #[serde(rename = "Users")]
    pub users: Vec<User>,
    /// Never truncated.
    #[serde(rename = "IsTruncated")]
    pub is_truncated: bool,
}

/// GetUserPolicy's answer.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserPolicyResult {
    /// User.
    pub user_name: String,
    /// Policy name.
    pub policy_name: String,
    /// Document, URL-encoded.
    pub policy_document: String,
}

/// GetGroupPolicy's answer.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupPolicyResult {
    /// Group.
    pub group_name: String,
    /// Policy name.
    pub policy_name: String,
    /// Document, URL-encoded.
    pub policy_document: String,
}

/// GetRolePolicy's answer.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RolePolicyResult {
    /// Role.
    pub role_name: String,
    /// Policy name.
    pub policy_name: String,
    /// Document, URL-encoded.
    pub policy_document: String,
}

/// ListEntitiesForPolicy.
#[derive(Clone, Debug, Serialize)]
pub struct EntitiesForPolicyResult {
    /// Groups.
    #[serde(rename = "PolicyGroups")]
    pub policy_groups: Vec<PolicyGroup>,
    /// Users.
    #[serde(rename = "PolicyUsers")]
    pub policy_users: Vec<PolicyUser>,
    /// Roles.
    #[serde(rename = "PolicyRoles")]
    pub policy_roles: Vec<PolicyRole>,
    /// Never truncated.
    #[serde(rename = "IsTruncated")]
    pub is_truncated: bool,
}

/// `PolicyGroup`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyGroup {
    /// Name.
    pub group_name: String,
    /// Id.
    pub group_id: String,
}

/// `PolicyUser`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyUser {
    /// Name.
    pub user_name: String,
    /// Id.
    pub user_id: String,
}

/// `PolicyRole`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyRole {
    /// Name.
    pub role_name: String,
    /// Id.
    pub role_id: String,
}

/// CreatePolicyVersion.
#[derive(Clone, Debug, Serialize)]
pub struct CreatedVersionResult {
    /// The new version.
    #[serde(rename = "PolicyVersion")]
    pub policy_version: PolicyVersion,
}

/// GetAccountAuthorizationDetails.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthorizationDetailsResult {
    /// Users.
    pub user_detail_list: Vec<UserDetail>,
    /// Groups.
    pub group_detail_list: Vec<GroupDetail>,
    /// Roles.
    pub role_detail_list: Vec<RoleDetail>,
    /// Managed policies.
    pub policies: Vec<ManagedPolicyDetail>,
    /// Never truncated.
    pub is_truncated: bool,
}

/// GetAccessKeyLastUsed.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessKeyLastUsedResult {
    /// The owner.
    pub user_name: String,
    /// Last use (wharf does not track it: `N/A`, as for a key never used).
    pub access_key_last_used: LastUsed,
}

/// `AccessKeyLastUsed`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LastUsed {
    /// `N/A`.
    pub service_name: &'static str,
    /// `N/A`.
    pub region: &'static str,
}
