//! EventBridge operations and their inputs, with the botocore model's member names.
//!
//! Every input lists all members of the botocore shape, including those wharf ignores
//! (`RoleArn` of buses, `KinesisParameters`, `EndpointId`, ...), and refuses unknown ones.

use serde::Deserialize;
use std::collections::BTreeMap;

/// One decoded request.
#[derive(Debug)]
pub enum Operation {
    /// PutRule.
    PutRule(PutRuleInput),
    /// DescribeRule.
    DescribeRule(RuleNameInput),
    /// ListRules.
    ListRules(ListRulesInput),
    /// DeleteRule.
    DeleteRule(DeleteRuleInput),
    /// EnableRule.
    EnableRule(RuleNameInput),
    /// DisableRule.
    DisableRule(RuleNameInput),
    /// PutTargets.
    PutTargets(PutTargetsInput),
    /// RemoveTargets.
    RemoveTargets(RemoveTargetsInput),
    /// ListTargetsByRule.
    ListTargetsByRule(ListTargetsByRuleInput),
    /// ListRuleNamesByTarget.
    ListRuleNamesByTarget(ListRuleNamesByTargetInput),
    /// PutEvents.
    PutEvents(PutEventsInput),
    /// TestEventPattern.
    TestEventPattern(TestEventPatternInput),
    /// TagResource.
    TagResource(TagResourceInput),
    /// UntagResource.
    UntagResource(UntagResourceInput),
    /// ListTagsForResource.
    ListTagsForResource(ResourceInput),
    /// CreateEventBus.
    CreateEventBus(CreateEventBusInput),
    /// DescribeEventBus.
    DescribeEventBus(BusNameInput),
    /// ListEventBuses.
    ListEventBuses(ListEventBusesInput),
    /// DeleteEventBus.
    DeleteEventBus(BusNameInput),
    /// PutPermission.
    PutPermission(PutPermissionInput),
    /// RemovePermission.
    RemovePermission(RemovePermissionInput),
    /// CreateArchive.
    CreateArchive(CreateArchiveInput),
    /// DescribeArchive.
    DescribeArchive(ArchiveNameInput),
    /// UpdateArchive.
    UpdateArchive(UpdateArchiveInput),
    /// DeleteArchive.
    DeleteArchive(ArchiveNameInput),
    /// ListArchives.
    ListArchives(ListArchivesInput),
    /// StartReplay.
    StartReplay(StartReplayInput),
    /// DescribeReplay.
    DescribeReplay(ReplayNameInput),
    /// ListReplays.
    ListReplays(ListReplaysInput),
    /// CancelReplay.
    CancelReplay(ReplayNameInput),
    /// CreateConnection.
    CreateConnection(ConnectionInput),
    /// DescribeConnection.
    DescribeConnection(NameInput),
    /// UpdateConnection.
    UpdateConnection(ConnectionInput),
    /// DeleteConnection.
    DeleteConnection(NameInput),
    /// ListConnections.
    ListConnections(ListConnectionsInput),
    /// DeauthorizeConnection.
    DeauthorizeConnection(NameInput),
    /// CreateApiDestination.
    CreateApiDestination(ApiDestinationInput),
    /// DescribeApiDestination.
    DescribeApiDestination(NameInput),
    /// UpdateApiDestination.
    UpdateApiDestination(ApiDestinationInput),
    /// DeleteApiDestination.
    DeleteApiDestination(NameInput),
    /// ListApiDestinations.
    ListApiDestinations(ListApiDestinationsInput),
}

/// What an operation acts on, for authorization.
#[derive(Debug, PartialEq, Eq)]
pub enum Acted<'a> {
    /// A rule on a bus (name or ARN; `None`: the default bus).
    Rule(&'a str, Option<&'a str>),
    /// A bus (name or ARN; `None`: the default bus).
    Bus(Option<&'a str>),
    /// An archive, by name.
    Archive(&'a str),
    /// A replay, by name.
    Replay(&'a str),
    /// A connection, by name.
    Connection(&'a str),
    /// An API destination, by name.
    ApiDestination(&'a str),
    /// An ARN given as is (tagging).
    Arn(&'a str),
    /// Nothing in particular.
    None,
}

impl Operation {
    /// The rule, bus or ARN the operation acts on.
    pub fn target(&self) -> Acted<'_> {
        match self {
            Operation::PutRule(input) => {
                input.name.as_deref().map_or(Acted::None, |name| Acted::Rule(name, input.event_bus_name.as_deref()))
            }
            Operation::DescribeRule(input) | Operation::EnableRule(input) | Operation::DisableRule(input) => {
                input.name.as_deref().map_or(Acted::None, |name| Acted::Rule(name, input.event_bus_name.as_deref()))
            }
            Operation::DeleteRule(input) => {
                input.name.as_deref().map_or(Acted::None, |name| Acted::Rule(name, input.event_bus_name.as_deref()))
            }
            Operation::PutTargets(input) => {
                input.rule.as_deref().map_or(Acted::None, |name| Acted::Rule(name, input.event_bus_name.as_deref()))
            }
            Operation::RemoveTargets(input) => {
                input.rule.as_deref().map_or(Acted::None, |name| Acted::Rule(name, input.event_bus_name.as_deref()))
            }
            Operation::ListTargetsByRule(input) => {
                input.rule.as_deref().map_or(Acted::None, |name| Acted::Rule(name, input.event_bus_name.as_deref()))
            }
            Operation::PutEvents(input) => Acted::Bus(
                input
                    .entries
                    .as_ref()
                    .and_then(|entries| entries.first())
                    .and_then(|entry| entry.event_bus_name.as_deref()),
            ),
            Operation::TagResource(input) => input.resource_arn.as_deref().map_or(Acted::None, Acted::Arn),
            Operation::UntagResource(input) => input.resource_arn.as_deref().map_or(Acted::None, Acted::Arn),
            Operation::ListTagsForResource(input) => input.resource_arn.as_deref().map_or(Acted::None, Acted::Arn),
            Operation::CreateEventBus(input) => Acted::Bus(input.name.as_deref()),
            Operation::DescribeEventBus(input) | Operation::DeleteEventBus(input) => Acted::Bus(input.name.as_deref()),
            Operation::PutPermission(input) => Acted::Bus(input.event_bus_name.as_deref()),
            Operation::RemovePermission(input) => Acted::Bus(input.event_bus_name.as_deref()),
            Operation::CreateArchive(input) => input.archive_name.as_deref().map_or(Acted::None, Acted::Archive),
            Operation::DescribeArchive(input) | Operation::DeleteArchive(input) => {
                input.archive_name.as_deref().map_or(Acted::None, Acted::Archive)
            }
            Operation::UpdateArchive(input) => input.archive_name.as_deref().map_or(Acted::None, Acted::Archive),
            Operation::StartReplay(input) => input.replay_name.as_deref().map_or(Acted::None, Acted::Replay),
            Operation::DescribeReplay(input) | Operation::CancelReplay(input) => {
                input.replay_name.as_deref().map_or(Acted::None, Acted::Replay)
            }
            Operation::ListArchives(_) | Operation::ListReplays(_) => Acted::None,
            Operation::CreateConnection(input) => input.name.as_deref().map_or(Acted::None, Acted::Connection),
            Operation::UpdateConnection(input) => input.name.as_deref().map_or(Acted::None, Acted::Connection),
            Operation::DescribeConnection(input)
            | Operation::DeleteConnection(input)
            | Operation::DeauthorizeConnection(input) => input.name.as_deref().map_or(Acted::None, Acted::Connection),
            Operation::CreateApiDestination(input) | Operation::UpdateApiDestination(input) => {
                input.name.as_deref().map_or(Acted::None, Acted::ApiDestination)
            }
            Operation::DescribeApiDestination(input) | Operation::DeleteApiDestination(input) => {
                input.name.as_deref().map_or(Acted::None, Acted::ApiDestination)
            }
            Operation::ListConnections(_) | Operation::ListApiDestinations(_) => Acted::None,
            Operation::ListRules(_)
            | Operation::ListRuleNamesByTarget(_)
            | Operation::TestEventPattern(_)
            | Operation::ListEventBuses(_) => Acted::None,
        }
    }

    /// The operation's AWS name.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::PutRule(_) => "PutRule",
            Operation::DescribeRule(_) => "DescribeRule",
            Operation::ListRules(_) => "ListRules",
            Operation::DeleteRule(_) => "DeleteRule",
            Operation::EnableRule(_) => "EnableRule",
            Operation::DisableRule(_) => "DisableRule",
            Operation::PutTargets(_) => "PutTargets",
            Operation::RemoveTargets(_) => "RemoveTargets",
            Operation::ListTargetsByRule(_) => "ListTargetsByRule",
            Operation::ListRuleNamesByTarget(_) => "ListRuleNamesByTarget",
            Operation::PutEvents(_) => "PutEvents",
            Operation::TestEventPattern(_) => "TestEventPattern",
            Operation::TagResource(_) => "TagResource",
            Operation::UntagResource(_) => "UntagResource",
            Operation::ListTagsForResource(_) => "ListTagsForResource",
            Operation::CreateEventBus(_) => "CreateEventBus",
            Operation::DescribeEventBus(_) => "DescribeEventBus",
            Operation::ListEventBuses(_) => "ListEventBuses",
            Operation::DeleteEventBus(_) => "DeleteEventBus",
            Operation::PutPermission(_) => "PutPermission",
            Operation::RemovePermission(_) => "RemovePermission",
            Operation::CreateArchive(_) => "CreateArchive",
            Operation::DescribeArchive(_) => "DescribeArchive",
            Operation::UpdateArchive(_) => "UpdateArchive",
            Operation::DeleteArchive(_) => "DeleteArchive",
            Operation::ListArchives(_) => "ListArchives",
            Operation::StartReplay(_) => "StartReplay",
            Operation::DescribeReplay(_) => "DescribeReplay",
            Operation::ListReplays(_) => "ListReplays",
            Operation::CancelReplay(_) => "CancelReplay",
            Operation::CreateConnection(_) => "CreateConnection",
            Operation::DescribeConnection(_) => "DescribeConnection",
            Operation::UpdateConnection(_) => "UpdateConnection",
            Operation::DeleteConnection(_) => "DeleteConnection",
            Operation::ListConnections(_) => "ListConnections",
            Operation::DeauthorizeConnection(_) => "DeauthorizeConnection",
            Operation::CreateApiDestination(_) => "CreateApiDestination",
            Operation::DescribeApiDestination(_) => "DescribeApiDestination",
            Operation::UpdateApiDestination(_) => "UpdateApiDestination",
            Operation::DeleteApiDestination(_) => "DeleteApiDestination",
            Operation::ListApiDestinations(_) => "ListApiDestinations",
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
        "PutRule" => Operation::PutRule(input(body)?),
        "DescribeRule" => Operation::DescribeRule(input(body)?),
        "ListRules" => Operation::ListRules(input(body)?),
        "DeleteRule" => Operation::DeleteRule(input(body)?),
        "EnableRule" => Operation::EnableRule(input(body)?),
        "DisableRule" => Operation::DisableRule(input(body)?),
        "PutTargets" => Operation::PutTargets(input(body)?),
        "RemoveTargets" => Operation::RemoveTargets(input(body)?),
        "ListTargetsByRule" => Operation::ListTargetsByRule(input(body)?),
        "ListRuleNamesByTarget" => Operation::ListRuleNamesByTarget(input(body)?),
        "PutEvents" => Operation::PutEvents(input(body)?),
        "TestEventPattern" => Operation::TestEventPattern(input(body)?),
        "TagResource" => Operation::TagResource(input(body)?),
        "UntagResource" => Operation::UntagResource(input(body)?),
        "ListTagsForResource" => Operation::ListTagsForResource(input(body)?),
        "CreateEventBus" => Operation::CreateEventBus(input(body)?),
        "DescribeEventBus" => Operation::DescribeEventBus(input(body)?),
        "ListEventBuses" => Operation::ListEventBuses(input(body)?),
        "DeleteEventBus" => Operation::DeleteEventBus(input(body)?),
        "PutPermission" => Operation::PutPermission(input(body)?),
        "RemovePermission" => Operation::RemovePermission(input(body)?),
        "CreateArchive" => Operation::CreateArchive(input(body)?),
        "DescribeArchive" => Operation::DescribeArchive(input(body)?),
        "UpdateArchive" => Operation::UpdateArchive(input(body)?),
        "DeleteArchive" => Operation::DeleteArchive(input(body)?),
        "ListArchives" => Operation::ListArchives(input(body)?),
        "StartReplay" => Operation::StartReplay(input(body)?),
        "DescribeReplay" => Operation::DescribeReplay(input(body)?),
        "ListReplays" => Operation::ListReplays(input(body)?),
        "CancelReplay" => Operation::CancelReplay(input(body)?),
        "CreateConnection" => Operation::CreateConnection(input(body)?),
        "DescribeConnection" => Operation::DescribeConnection(input(body)?),
        "UpdateConnection" => Operation::UpdateConnection(input(body)?),
        "DeleteConnection" => Operation::DeleteConnection(input(body)?),
        "ListConnections" => Operation::ListConnections(input(body)?),
        "DeauthorizeConnection" => Operation::DeauthorizeConnection(input(body)?),
        "CreateApiDestination" => Operation::CreateApiDestination(input(body)?),
        "DescribeApiDestination" => Operation::DescribeApiDestination(input(body)?),
        "UpdateApiDestination" => Operation::UpdateApiDestination(input(body)?),
        "DeleteApiDestination" => Operation::DeleteApiDestination(input(body)?),
        "ListApiDestinations" => Operation::ListApiDestinations(input(body)?),
        other => return Err(DecodeError::UnknownOperation(other.to_owned())),
    })
}

/// Members wharf accepts and ignores.
type Ignored = Option<serde_json::Value>;

/// A `Tag`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Tag {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

/// PutRule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct PutRuleInput {
    /// Required.
    pub name: Option<String>,
    /// `rate(...)` or `cron(...)`.
    pub schedule_expression: Option<String>,
    /// Event pattern JSON.
    pub event_pattern: Option<String>,
    /// `ENABLED` or `DISABLED`.
    pub state: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Recorded.
    pub role_arn: Option<String>,
    /// Tags.
    pub tags: Option<Vec<Tag>>,
    /// Bus name or ARN.
    pub event_bus_name: Option<String>,
}

/// DescribeRule, EnableRule, DisableRule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct RuleNameInput {
    /// Required.
    pub name: Option<String>,
    /// Bus name or ARN.
    pub event_bus_name: Option<String>,
}

/// DeleteRule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct DeleteRuleInput {
    /// Required.
    pub name: Option<String>,
    /// Bus name or ARN.
    pub event_bus_name: Option<String>,
    /// For managed rules; ignored.
    pub force: Ignored,
}

/// ListRules.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ListRulesInput {
    /// Name prefix.
    pub name_prefix: Option<String>,
    /// Bus name or ARN.
    pub event_bus_name: Option<String>,
    /// Paging.
    pub next_token: Option<String>,
    /// 1 to 100.
    pub limit: Option<i64>,
}

/// `InputTransformer`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct InputTransformer {
    /// Variables.
    pub input_paths_map: Option<BTreeMap<String, String>>,
    /// Required.
    pub input_template: String,
}

/// `SqsParameters`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct SqsParameters {
    /// FIFO message group.
    pub message_group_id: Option<String>,
}

/// `DeadLetterConfig`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct DeadLetterConfig {
    /// Queue ARN.
    pub arn: Option<String>,
}

/// `RetryPolicy`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct RetryPolicy {
    /// 0 to 185.
    pub maximum_retry_attempts: Option<i64>,
    /// 60 to 86400.
    pub maximum_event_age_in_seconds: Option<i64>,
}

/// A `Target`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Target {
    /// Required.
    pub id: String,
    /// Required.
    pub arn: String,
    /// Recorded.
    pub role_arn: Option<String>,
    /// Constant input.
    pub input: Option<String>,
    /// Path input.
    pub input_path: Option<String>,
    /// Template input.
    pub input_transformer: Option<InputTransformer>,
    /// Ignored.
    pub kinesis_parameters: Ignored,
    /// Ignored.
    pub run_command_parameters: Ignored,
    /// Ignored.
    pub ecs_parameters: Ignored,
    /// Ignored.
    pub batch_parameters: Ignored,
    /// FIFO queues.
    pub sqs_parameters: Option<SqsParameters>,
    /// For API destinations.
    pub http_parameters: Option<HttpParameters>,
    /// Ignored.
    pub redshift_data_parameters: Ignored,
    /// Ignored.
    pub sage_maker_pipeline_parameters: Ignored,
    /// Recorded.
    pub dead_letter_config: Option<DeadLetterConfig>,
    /// Recorded.
    pub retry_policy: Option<RetryPolicy>,
    /// Ignored.
    pub app_sync_parameters: Ignored,
}

/// PutTargets.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct PutTargetsInput {
    /// Required.
    pub rule: Option<String>,
    /// Bus name or ARN.
    pub event_bus_name: Option<String>,
    /// Required, 1 to 10.
    pub targets: Option<Vec<Target>>,
}

/// RemoveTargets.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct RemoveTargetsInput {
    /// Required.
    pub rule: Option<String>,
    /// Bus name or ARN.
    pub event_bus_name: Option<String>,
    /// Required, 1 to 100.
    pub ids: Option<Vec<String>>,
    /// For managed rules; ignored.
    pub force: Ignored,
}

/// ListTargetsByRule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ListTargetsByRuleInput {
    /// Required.
    pub rule: Option<String>,
    /// Bus name or ARN.
    pub event_bus_name: Option<String>,
    /// Paging.
    pub next_token: Option<String>,
    /// 1 to 100.
    pub limit: Option<i64>,
}

/// ListRuleNamesByTarget.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ListRuleNamesByTargetInput {
    /// Required.
    pub target_arn: Option<String>,
    /// Bus name or ARN.
    pub event_bus_name: Option<String>,
    /// Paging.
    pub next_token: Option<String>,
    /// 1 to 100.
    pub limit: Option<i64>,
}

/// One PutEvents entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct PutEventsRequestEntry {
    /// Epoch seconds.
    pub time: Option<f64>,
    /// Required per entry.
    pub source: Option<String>,
    /// ARNs.
    pub resources: Option<Vec<String>>,
    /// Required per entry.
    pub detail_type: Option<String>,
    /// JSON object text, required per entry.
    pub detail: Option<String>,
    /// Bus name or ARN.
    pub event_bus_name: Option<String>,
    /// Ignored.
    pub trace_header: Ignored,
}

/// PutEvents.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct PutEventsInput {
    /// Required, 1 to 10.
    pub entries: Option<Vec<PutEventsRequestEntry>>,
    /// Ignored (global endpoints).
    pub endpoint_id: Ignored,
}

/// TestEventPattern.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct TestEventPatternInput {
    /// Required.
    pub event_pattern: Option<String>,
    /// Required.
    pub event: Option<String>,
}

/// TagResource.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagResourceInput {
    /// Required.
    #[serde(rename = "ResourceARN")]
    pub resource_arn: Option<String>,
    /// Required.
    #[serde(rename = "Tags")]
    pub tags: Option<Vec<Tag>>,
}

/// UntagResource.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UntagResourceInput {
    /// Required.
    #[serde(rename = "ResourceARN")]
    pub resource_arn: Option<String>,
    /// Required.
    #[serde(rename = "TagKeys")]
    pub tag_keys: Option<Vec<String>>,
}

/// ListTagsForResource.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceInput {
    /// Required.
    #[serde(rename = "ResourceARN")]
    pub resource_arn: Option<String>,
}

/// CreateEventBus.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct CreateEventBusInput {
    /// Required.
    pub name: Option<String>,
    /// Partner buses; refused.
    pub event_source_name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Ignored.
    pub kms_key_identifier: Ignored,
    /// Ignored.
    pub dead_letter_config: Ignored,
    /// Ignored.
    pub log_config: Ignored,
    /// Tags.
    pub tags: Option<Vec<Tag>>,
}

/// DescribeEventBus and DeleteEventBus.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct BusNameInput {
    /// Bus name or ARN; DescribeEventBus defaults to `default`.
    pub name: Option<String>,
}

/// ListEventBuses.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ListEventBusesInput {
    /// Name prefix.
    pub name_prefix: Option<String>,
    /// Paging.
    pub next_token: Option<String>,
    /// 1 to 100.
    pub limit: Option<i64>,
}

/// PutPermission's `Condition`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Condition {
    /// `StringEquals`.
    pub r#type: String,
    /// `aws:PrincipalOrgID`.
    pub key: String,
    /// The organization id.
    pub value: String,
}

/// PutPermission.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct PutPermissionInput {
    /// Bus name; `default` when absent.
    pub event_bus_name: Option<String>,
    /// `events:PutEvents`.
    pub action: Option<String>,
    /// An account id or `*`.
    pub principal: Option<String>,
    /// The statement's id.
    pub statement_id: Option<String>,
    /// An organization condition.
    pub condition: Option<Condition>,
    /// A whole policy document instead.
    pub policy: Option<String>,
}

/// RemovePermission.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct RemovePermissionInput {
    /// The statement to remove.
    pub statement_id: Option<String>,
    /// Every statement.
    pub remove_all_permissions: Option<bool>,
    /// Bus name; `default` when absent.
    pub event_bus_name: Option<String>,
}

/// CreateArchive.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct CreateArchiveInput {
    /// Required.
    pub archive_name: Option<String>,
    /// Required: the bus.
    pub event_source_arn: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Which events are kept.
    pub event_pattern: Option<String>,
    /// 0 keeps them for ever.
    pub retention_days: Option<i64>,
    /// Ignored.
    pub kms_key_identifier: Ignored,
}

/// DescribeArchive and DeleteArchive.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ArchiveNameInput {
    /// Required.
    pub archive_name: Option<String>,
}

/// UpdateArchive.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct UpdateArchiveInput {
    /// Required.
    pub archive_name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Which events are kept.
    pub event_pattern: Option<String>,
    /// 0 keeps them for ever.
    pub retention_days: Option<i64>,
    /// Ignored.
    pub kms_key_identifier: Ignored,
}

/// ListArchives.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ListArchivesInput {
    /// Name prefix.
    pub name_prefix: Option<String>,
    /// Only this bus's archives.
    pub event_source_arn: Option<String>,
    /// Only archives in this state.
    pub state: Option<String>,
    /// Paging.
    pub next_token: Option<String>,
    /// 1 to 100.
    pub limit: Option<i64>,
}

/// `ReplayDestination`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ReplayDestination {
    /// The bus.
    pub arn: Option<String>,
    /// Only these rules.
    pub filter_arns: Option<Vec<String>>,
}

/// StartReplay.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct StartReplayInput {
    /// Required.
    pub replay_name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Required: the archive.
    pub event_source_arn: Option<String>,
    /// Required, epoch seconds.
    pub event_start_time: Option<f64>,
    /// Required, epoch seconds.
    pub event_end_time: Option<f64>,
    /// Required.
    pub destination: Option<ReplayDestination>,
}

/// DescribeReplay and CancelReplay.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ReplayNameInput {
    /// Required.
    pub replay_name: Option<String>,
}

/// ListReplays.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ListReplaysInput {
    /// Name prefix.
    pub name_prefix: Option<String>,
    /// Only replays in this state.
    pub state: Option<String>,
    /// Only replays of this archive.
    pub event_source_arn: Option<String>,
    /// Paging.
    pub next_token: Option<String>,
    /// 1 to 100.
    pub limit: Option<i64>,
}

/// A target's `HttpParameters`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct HttpParameters {
    /// Values for the endpoint's `*`s.
    pub path_parameter_values: Option<Vec<String>>,
    /// Headers.
    pub header_parameters: Option<BTreeMap<String, String>>,
    /// Query string parameters.
    pub query_string_parameters: Option<BTreeMap<String, String>>,
}

/// One `ConnectionHeaderParameter` (and query string and body parameter).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ConnectionParameter {
    /// The key.
    pub key: Option<String>,
    /// The value.
    pub value: Option<String>,
    /// Whether DescribeConnection hides the value.
    pub is_value_secret: Option<bool>,
}

/// `ConnectionHttpParameters`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ConnectionHttpParameters {
    /// Headers.
    pub header_parameters: Option<Vec<ConnectionParameter>>,
    /// Query string.
    pub query_string_parameters: Option<Vec<ConnectionParameter>>,
    /// Body.
    pub body_parameters: Option<Vec<ConnectionParameter>>,
}

/// `BasicAuthParameters`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct BasicAuthParameters {
    /// User name.
    pub username: Option<String>,
    /// Password.
    pub password: Option<String>,
}

/// `ApiKeyAuthParameters`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ApiKeyAuthParameters {
    /// The header's name.
    pub api_key_name: Option<String>,
    /// Its value.
    pub api_key_value: Option<String>,
}

/// `ClientParameters`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthClientParameters {
    /// The client id.
    #[serde(rename = "ClientID")]
    pub client_id: Option<String>,
    /// The client secret.
    #[serde(rename = "ClientSecret")]
    pub client_secret: Option<String>,
}

/// `OAuthParameters`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct OAuthParameters {
    /// Client id and secret.
    pub client_parameters: Option<OAuthClientParameters>,
    /// The token endpoint.
    pub authorization_endpoint: Option<String>,
    /// GET, POST or PUT.
    pub http_method: Option<String>,
    /// Extra parameters of the token request.
    #[serde(rename = "OAuthHttpParameters")]
    pub oauth_http_parameters: Option<ConnectionHttpParameters>,
}

/// `AuthParameters` of CreateConnection and UpdateConnection.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ConnectionAuthParameters {
    /// Basic.
    pub basic_auth_parameters: Option<BasicAuthParameters>,
    /// OAuth client credentials.
    #[serde(rename = "OAuthParameters")]
    pub oauth_parameters: Option<OAuthParameters>,
    /// API key.
    pub api_key_auth_parameters: Option<ApiKeyAuthParameters>,
    /// Added to every request.
    pub invocation_http_parameters: Option<ConnectionHttpParameters>,
    /// Private endpoints; ignored.
    pub connectivity_parameters: Ignored,
}

/// CreateConnection and UpdateConnection (every member but the name optional on update).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ConnectionInput {
    /// Required.
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Required on create.
    pub authorization_type: Option<String>,
    /// Required on create.
    pub auth_parameters: Option<ConnectionAuthParameters>,
    /// Ignored.
    pub invocation_connectivity_parameters: Ignored,
    /// Ignored.
    pub kms_key_identifier: Ignored,
}

/// Operations that name a connection or an API destination.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct NameInput {
    /// Required.
    pub name: Option<String>,
}

/// ListConnections.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ListConnectionsInput {
    /// Name prefix.
    pub name_prefix: Option<String>,
    /// Only in this state.
    pub connection_state: Option<String>,
    /// Paging.
    pub next_token: Option<String>,
    /// 1 to 100.
    pub limit: Option<i64>,
}

/// CreateApiDestination and UpdateApiDestination.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ApiDestinationInput {
    /// Required.
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Required on create.
    pub connection_arn: Option<String>,
    /// Required on create.
    pub invocation_endpoint: Option<String>,
    /// Required on create.
    pub http_method: Option<String>,
    /// 1 or more; 300 when absent.
    pub invocation_rate_limit_per_second: Option<i64>,
}

/// ListApiDestinations.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ListApiDestinationsInput {
    /// Name prefix.
    pub name_prefix: Option<String>,
    /// Only those of this connection.
    pub connection_arn: Option<String>,
    /// Paging.
    pub next_token: Option<String>,
    /// 1 to 100.
    pub limit: Option<i64>,
}
