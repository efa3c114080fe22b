//! CloudWatch Logs operations and their inputs, with the model's member names.
//!
//! Every input lists all members of the botocore shape, including those wharf ignores
//! (`kmsKeyId`, `unmask`, `entity`, ...), and refuses unknown ones.

use serde::Deserialize;
use std::collections::BTreeMap;

/// One decoded request.
#[derive(Debug)]
pub enum Operation {
    /// CreateLogGroup.
    CreateLogGroup(CreateLogGroupInput),
    /// DeleteLogGroup.
    DeleteLogGroup(GroupNameInput),
    /// DescribeLogGroups.
    DescribeLogGroups(DescribeLogGroupsInput),
    /// CreateLogStream.
    CreateLogStream(StreamNameInput),
    /// DeleteLogStream.
    DeleteLogStream(StreamNameInput),
    /// DescribeLogStreams.
    DescribeLogStreams(DescribeLogStreamsInput),
    /// PutLogEvents.
    PutLogEvents(PutLogEventsInput),
    /// GetLogEvents.
    GetLogEvents(GetLogEventsInput),
    /// FilterLogEvents.
    FilterLogEvents(FilterLogEventsInput),
    /// PutRetentionPolicy.
    PutRetentionPolicy(PutRetentionPolicyInput),
    /// DeleteRetentionPolicy.
    DeleteRetentionPolicy(GroupNameInput),
    /// TagLogGroup.
    TagLogGroup(TagLogGroupInput),
    /// UntagLogGroup.
    UntagLogGroup(UntagLogGroupInput),
    /// ListTagsLogGroup.
    ListTagsLogGroup(GroupNameInput),
    /// TagResource.
    TagResource(TagResourceInput),
    /// UntagResource.
    UntagResource(UntagResourceInput),
    /// ListTagsForResource.
    ListTagsForResource(ResourceInput),
    /// PutResourcePolicy.
    PutResourcePolicy(PutResourcePolicyInput),
    /// DescribeResourcePolicies.
    DescribeResourcePolicies(DescribeResourcePoliciesInput),
    /// DeleteResourcePolicy.
    DeleteResourcePolicy(DeleteResourcePolicyInput),
    /// ListLogGroups.
    ListLogGroups(ListLogGroupsInput),
    /// PutSubscriptionFilter.
    PutSubscriptionFilter(PutSubscriptionFilterInput),
    /// DescribeSubscriptionFilters.
    DescribeSubscriptionFilters(DescribeSubscriptionFiltersInput),
    /// DeleteSubscriptionFilter.
    DeleteSubscriptionFilter(DeleteSubscriptionFilterInput),
}

impl Operation {
    /// The log group and stream the operation acts on, for authorization: (group, stream),
    /// or the ARN a tagging operation names.
    pub fn target(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        match self {
            Operation::CreateLogGroup(input) => (input.log_group_name.as_deref(), None, None),
            Operation::DeleteLogGroup(input)
            | Operation::DeleteRetentionPolicy(input)
            | Operation::ListTagsLogGroup(input) => (input.log_group_name.as_deref(), None, None),
            Operation::DescribeLogGroups(_) => (None, None, None),
            Operation::CreateLogStream(input) | Operation::DeleteLogStream(input) => {
                (input.log_group_name.as_deref(), input.log_stream_name.as_deref(), None)
            }
            Operation::DescribeLogStreams(input) => (input.log_group_name.as_deref(), None, None),
            Operation::PutLogEvents(input) => (input.log_group_name.as_deref(), input.log_stream_name.as_deref(), None),
            Operation::GetLogEvents(input) => (input.log_group_name.as_deref(), input.log_stream_name.as_deref(), None),
            Operation::FilterLogEvents(input) => (input.log_group_name.as_deref(), None, None),
            Operation::PutRetentionPolicy(input) => (input.log_group_name.as_deref(), None, None),
            Operation::TagLogGroup(input) => (input.log_group_name.as_deref(), None, None),
            Operation::UntagLogGroup(input) => (input.log_group_name.as_deref(), None, None),
            Operation::TagResource(input) => (None, None, input.resource_arn.as_deref()),
            Operation::UntagResource(input) => (None, None, input.resource_arn.as_deref()),
            Operation::ListTagsForResource(input) => (None, None, input.resource_arn.as_deref()),
            Operation::PutResourcePolicy(_)
            | Operation::DescribeResourcePolicies(_)
            | Operation::DeleteResourcePolicy(_)
            | Operation::ListLogGroups(_) => (None, None, None),
            Operation::PutSubscriptionFilter(input) => (input.log_group_name.as_deref(), None, None),
            Operation::DescribeSubscriptionFilters(input) => (input.log_group_name.as_deref(), None, None),
            Operation::DeleteSubscriptionFilter(input) => (input.log_group_name.as_deref(), None, None),
        }
    }

    /// The operation's AWS name.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::CreateLogGroup(_) => "CreateLogGroup",
            Operation::DeleteLogGroup(_) => "DeleteLogGroup",
            Operation::DescribeLogGroups(_) => "DescribeLogGroups",
            Operation::CreateLogStream(_) => "CreateLogStream",
            Operation::DeleteLogStream(_) => "DeleteLogStream",
            Operation::DescribeLogStreams(_) => "DescribeLogStreams",
            Operation::PutLogEvents(_) => "PutLogEvents",
            Operation::GetLogEvents(_) => "GetLogEvents",
            Operation::FilterLogEvents(_) => "FilterLogEvents",
            Operation::PutRetentionPolicy(_) => "PutRetentionPolicy",
            Operation::DeleteRetentionPolicy(_) => "DeleteRetentionPolicy",
            Operation::TagLogGroup(_) => "TagLogGroup",
            Operation::UntagLogGroup(_) => "UntagLogGroup",
            Operation::ListTagsLogGroup(_) => "ListTagsLogGroup",
            Operation::TagResource(_) => "TagResource",
            Operation::UntagResource(_) => "UntagResource",
            Operation::ListTagsForResource(_) => "ListTagsForResource",
            Operation::PutResourcePolicy(_) => "PutResourcePolicy",
            Operation::DescribeResourcePolicies(_) => "DescribeResourcePolicies",
            Operation::DeleteResourcePolicy(_) => "DeleteResourcePolicy",
            Operation::ListLogGroups(_) => "ListLogGroups",
            Operation::PutSubscriptionFilter(_) => "PutSubscriptionFilter",
            Operation::DescribeSubscriptionFilters(_) => "DescribeSubscriptionFilters",
            Operation::DeleteSubscriptionFilter(_) => "DeleteSubscriptionFilter",
        }
    }
}

/// Why a body could not be decoded.
#[derive(Debug)]
pub enum DecodeError {
    /// No operation of this name.
    UnknownOperation(String),
    /// The body does not fit the shape.
    Malformed(String),
}

fn input<'de, T: Deserialize<'de>>(body: &'de [u8]) -> Result<T, DecodeError> {
    serde_json::from_slice(body).map_err(|err| DecodeError::Malformed(err.to_string()))
}

/// Decodes the body of the operation `name`.
pub fn decode(name: &str, body: &[u8]) -> Result<Operation, DecodeError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) { &b"{}"[..] } else { body };
    Ok(match name {
        "CreateLogGroup" => Operation::CreateLogGroup(input(body)?),
        "DeleteLogGroup" => Operation::DeleteLogGroup(input(body)?),
        "DescribeLogGroups" => Operation::DescribeLogGroups(input(body)?),
        "CreateLogStream" => Operation::CreateLogStream(input(body)?),
        "DeleteLogStream" => Operation::DeleteLogStream(input(body)?),
        "DescribeLogStreams" => Operation::DescribeLogStreams(input(body)?),
        "PutLogEvents" => Operation::PutLogEvents(input(body)?),
        "GetLogEvents" => Operation::GetLogEvents(input(body)?),
        "FilterLogEvents" => Operation::FilterLogEvents(input(body)?),
        "PutRetentionPolicy" => Operation::PutRetentionPolicy(input(body)?),
        "DeleteRetentionPolicy" => Operation::DeleteRetentionPolicy(input(body)?),
        "TagLogGroup" => Operation::TagLogGroup(input(body)?),
        "UntagLogGroup" => Operation::UntagLogGroup(input(body)?),
        "ListTagsLogGroup" => Operation::ListTagsLogGroup(input(body)?),
        "TagResource" => Operation::TagResource(input(body)?),
        "PutResourcePolicy" => Operation::PutResourcePolicy(input(body)?),
        "DescribeResourcePolicies" => Operation::DescribeResourcePolicies(input(body)?),
        "DeleteResourcePolicy" => Operation::DeleteResourcePolicy(input(body)?),
        "ListLogGroups" => Operation::ListLogGroups(input(body)?),
        "PutSubscriptionFilter" => Operation::PutSubscriptionFilter(input(body)?),
        "DescribeSubscriptionFilters" => Operation::DescribeSubscriptionFilters(input(body)?),
        "DeleteSubscriptionFilter" => Operation::DeleteSubscriptionFilter(input(body)?),
        "UntagResource" => Operation::UntagResource(input(body)?),
        "ListTagsForResource" => Operation::ListTagsForResource(input(body)?),
        other => return Err(DecodeError::UnknownOperation(other.to_owned())),
    })
}

/// Members wharf accepts and ignores.
type Ignored = Option<serde_json::Value>;

/// CreateLogGroup.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateLogGroupInput {
    /// Required.
    pub log_group_name: Option<String>,
    /// Tags.
    pub tags: Option<BTreeMap<String, String>>,
    /// Ignored.
    pub kms_key_id: Ignored,
    /// Ignored.
    pub log_group_class: Ignored,
    /// Ignored.
    pub deletion_protection_enabled: Ignored,
}

/// Operations that name only a group.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GroupNameInput {
    /// Required.
    pub log_group_name: Option<String>,
}

/// DescribeLogGroups.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DescribeLogGroupsInput {
    /// Name prefix.
    pub log_group_name_prefix: Option<String>,
    /// Case-insensitive substring.
    pub log_group_name_pattern: Option<String>,
    /// Paging.
    pub next_token: Option<String>,
    /// 1 to 50.
    pub limit: Option<i64>,
    /// Ignored.
    pub account_identifiers: Ignored,
    /// Ignored.
    pub include_linked_accounts: Ignored,
    /// Ignored.
    pub log_group_class: Ignored,
    /// Exact names or ARNs to describe.
    pub log_group_identifiers: Option<Vec<String>>,
}

/// CreateLogStream and DeleteLogStream.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StreamNameInput {
    /// Required.
    pub log_group_name: Option<String>,
    /// Required.
    pub log_stream_name: Option<String>,
}

/// DescribeLogStreams.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DescribeLogStreamsInput {
    /// The group by name.
    pub log_group_name: Option<String>,
    /// The group by name or ARN.
    pub log_group_identifier: Option<String>,
    /// Name prefix.
    pub log_stream_name_prefix: Option<String>,
    /// `LogStreamName` or `LastEventTime`.
    pub order_by: Option<String>,
    /// Reverse order.
    pub descending: Option<bool>,
    /// Paging.
    pub next_token: Option<String>,
    /// 1 to 50.
    pub limit: Option<i64>,
}

/// One event of PutLogEvents.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InputLogEvent {
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// The text.
    pub message: String,
}

/// PutLogEvents.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PutLogEventsInput {
    /// Required.
    pub log_group_name: Option<String>,
    /// Required.
    pub log_stream_name: Option<String>,
    /// Required.
    pub log_events: Option<Vec<InputLogEvent>>,
    /// Ignored, as AWS now does.
    pub sequence_token: Ignored,
    /// Ignored.
    pub entity: Ignored,
}

/// GetLogEvents.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GetLogEventsInput {
    /// The group by name.
    pub log_group_name: Option<String>,
    /// The group by name or ARN.
    pub log_group_identifier: Option<String>,
    /// Required.
    pub log_stream_name: Option<String>,
    /// Inclusive.
    pub start_time: Option<i64>,
    /// Exclusive.
    pub end_time: Option<i64>,
    /// `f/...` or `b/...`.
    pub next_token: Option<String>,
    /// 1 to 10,000.
    pub limit: Option<i64>,
    /// Oldest first when no token.
    pub start_from_head: Option<bool>,
    /// Ignored.
    pub unmask: Ignored,
}

/// FilterLogEvents.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FilterLogEventsInput {
    /// The group by name.
    pub log_group_name: Option<String>,
    /// The group by name or ARN.
    pub log_group_identifier: Option<String>,
    /// Exactly these streams.
    pub log_stream_names: Option<Vec<String>>,
    /// Streams with this prefix.
    pub log_stream_name_prefix: Option<String>,
    /// Inclusive.
    pub start_time: Option<i64>,
    /// Inclusive.
    pub end_time: Option<i64>,
    /// The pattern.
    pub filter_pattern: Option<String>,
    /// Paging.
    pub next_token: Option<String>,
    /// 1 to 10,000.
    pub limit: Option<i64>,
    /// Ignored: results are always interleaved.
    pub interleaved: Ignored,
    /// Ignored.
    pub unmask: Ignored,
}

/// PutRetentionPolicy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PutRetentionPolicyInput {
    /// Required.
    pub log_group_name: Option<String>,
    /// Required; one of the allowed values.
    pub retention_in_days: Option<i64>,
}

/// TagLogGroup.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TagLogGroupInput {
    /// Required.
    pub log_group_name: Option<String>,
    /// Required.
    pub tags: Option<BTreeMap<String, String>>,
}

/// UntagLogGroup.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UntagLogGroupInput {
    /// Required.
    pub log_group_name: Option<String>,
    /// Required: tag keys.
    pub tags: Option<Vec<String>>,
}

/// TagResource.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TagResourceInput {
    /// Required.
    pub resource_arn: Option<String>,
    /// Required.
    pub tags: Option<BTreeMap<String, String>>,
}

/// UntagResource.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UntagResourceInput {
    /// Required.
    pub resource_arn: Option<String>,
    /// Required.
    pub tag_keys: Option<Vec<String>>,
}

/// ListTagsForResource.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourceInput {
    /// Required.
    pub resource_arn: Option<String>,
}

/// PutResourcePolicy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PutResourcePolicyInput {
    /// The policy's name.
    pub policy_name: Option<String>,
    /// The document.
    pub policy_document: Option<String>,
    /// A log group, for a policy of that group only.
    pub resource_arn: Option<String>,
    /// Ignored (no concurrent writers to guard against).
    pub expected_revision_id: Option<String>,
}

/// DescribeResourcePolicies.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DescribeResourcePoliciesInput {
    /// Paging (all ten fit on one page).
    pub next_token: Option<String>,
    /// 1 to 50.
    pub limit: Option<i64>,
    /// Only this group's policies.
    pub resource_arn: Option<String>,
    /// `ACCOUNT` or `RESOURCE`.
    pub policy_scope: Option<String>,
}

/// DeleteResourcePolicy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DeleteResourcePolicyInput {
    /// The policy's name.
    pub policy_name: Option<String>,
    /// A log group's policy.
    pub resource_arn: Option<String>,
    /// Ignored.
    pub expected_revision_id: Option<String>,
}

/// ListLogGroups.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ListLogGroupsInput {
    /// Up to five `|`-separated names, each a substring or, after `^`, a prefix.
    pub log_group_name_pattern: Option<String>,
    /// Only `STANDARD` groups exist in wharf.
    pub log_group_class: Option<String>,
    /// Ignored (no monitoring accounts).
    pub include_linked_accounts: Option<bool>,
    /// Ignored.
    pub account_identifiers: Option<serde_json::Value>,
    /// Paging.
    pub next_token: Option<String>,
    /// 1 to 1000; 50 when absent.
    pub limit: Option<i64>,
    /// Ignored.
    pub data_sources: Option<serde_json::Value>,
    /// Ignored.
    pub field_index_names: Option<serde_json::Value>,
    /// Ignored.
    pub log_group_tags: Option<serde_json::Value>,
}

/// PutSubscriptionFilter.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PutSubscriptionFilterInput {
    /// Required.
    pub log_group_name: Option<String>,
    /// Required.
    pub filter_name: Option<String>,
    /// Required (may be empty: every event).
    pub filter_pattern: Option<String>,
    /// Required: a Lambda function.
    pub destination_arn: Option<String>,
    /// Recorded.
    pub role_arn: Option<String>,
    /// Recorded.
    pub distribution: Option<String>,
    /// Ignored.
    pub apply_on_transformed_logs: Option<bool>,
    /// Ignored.
    pub field_selection_criteria: Option<String>,
    /// Ignored.
    pub emit_system_fields: Option<serde_json::Value>,
}

/// DescribeSubscriptionFilters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DescribeSubscriptionFiltersInput {
    /// Required.
    pub log_group_name: Option<String>,
    /// Name prefix.
    pub filter_name_prefix: Option<String>,
    /// Paging (two filters at most: one page).
    pub next_token: Option<String>,
    /// 1 to 50.
    pub limit: Option<i64>,
}

/// DeleteSubscriptionFilter.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DeleteSubscriptionFilterInput {
    /// Required.
    pub log_group_name: Option<String>,
    /// Required.
    pub filter_name: Option<String>,
}
