//! The EventBridge Scheduler API (REST-JSON, API version 2021-06-30) for wharf.
//!
//! Requests are told apart by method and path, as the botocore `scheduler` model lays them
//! out; timestamps are epoch seconds; errors carry `x-amzn-ErrorType` and a `Message`.
//!
//! # Wire
//! ```text
//! POST|GET|PUT|DELETE /schedules/{Name}[?groupName=]     Create/Get/Update/DeleteSchedule
//! GET    /schedules?ScheduleGroup=&NamePrefix=&State=&MaxResults=&NextToken=   ListSchedules
//! POST|GET|DELETE /schedule-groups/{Name}                 Create/Get/DeleteScheduleGroup
//! GET    /schedule-groups?NamePrefix=&MaxResults=&NextToken=                   ListScheduleGroups
//! POST|GET|DELETE /tags/{ResourceArn}[?TagKeys=]          Tag/ListTagsFor/UntagResource (groups)
//! ```

use async_trait::async_trait;
use base64::Engine as _;
use bytes::Bytes;
use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use wharf_api_common::pipeline::{self, Api, Call, Identity};
use wharf_api_common::{ApiRequest, ApiResponse, ErrorBody, Fault};
use wharf_events::schedules::{group_arn, schedule_arn, Owner, Schedules, SchedulesError, DEFAULT_GROUP};
use wharf_store::schedules::{ScheduleGroupRow, ScheduleRow, ScheduleTargetRow};

/// The EventBridge Scheduler API.
pub struct SchedulerApi {
    schedules: Arc<Schedules>,
    identity: Identity,
}

/// A Scheduler error: its code (the `x-amzn-ErrorType`) and message.
#[derive(Debug)]
pub struct SchedulerError {
    code: &'static str,
    status: StatusCode,
    message: String,
}

fn validation(message: impl Into<String>) -> SchedulerError {
    SchedulerError { code: "ValidationException", status: StatusCode::BAD_REQUEST, message: message.into() }
}

impl From<SchedulesError> for SchedulerError {
    fn from(err: SchedulesError) -> Self {
        let (code, status) = match &err {
            SchedulesError::Validation(_) => ("ValidationException", StatusCode::BAD_REQUEST),
            SchedulesError::NotFound(_) => ("ResourceNotFoundException", StatusCode::NOT_FOUND),
            SchedulesError::Conflict(_) => ("ConflictException", StatusCode::CONFLICT),
            SchedulesError::Storage(_) => ("InternalServerException", StatusCode::INTERNAL_SERVER_ERROR),
        };
        SchedulerError { code, status, message: err.to_string() }
    }
}

/// A decoded request.
#[derive(Debug)]
pub enum Operation {
    /// CreateSchedule or UpdateSchedule (`create`).
    PutSchedule { name: String, body: Bytes, create: bool },
    /// GetSchedule.
    GetSchedule { name: String, group: String },
    /// DeleteSchedule.
    DeleteSchedule { name: String, group: String },
    /// ListSchedules.
    ListSchedules(BTreeMap<String, String>),
    /// CreateScheduleGroup.
    CreateGroup { name: String, body: Bytes },
    /// GetScheduleGroup.
    GetGroup(String),
    /// DeleteScheduleGroup.
    DeleteGroup(String),
    /// ListScheduleGroups.
    ListGroups(BTreeMap<String, String>),
    /// TagResource.
    Tag { arn: String, body: Bytes },
    /// UntagResource.
    Untag { arn: String, keys: Vec<String> },
    /// ListTagsForResource.
    ListTags(String),
}

impl Operation {
    fn name(&self) -> &'static str {
        match self {
            Operation::PutSchedule { create: true, .. } => "CreateSchedule",
            Operation::PutSchedule { create: false, .. } => "UpdateSchedule",
            Operation::GetSchedule { .. } => "GetSchedule",
            Operation::DeleteSchedule { .. } => "DeleteSchedule",
            Operation::ListSchedules(_) => "ListSchedules",
            Operation::CreateGroup { .. } => "CreateScheduleGroup",
            Operation::GetGroup(_) => "GetScheduleGroup",
            Operation::DeleteGroup(_) => "DeleteScheduleGroup",
            Operation::ListGroups(_) => "ListScheduleGroups",
            Operation::Tag { .. } => "TagResource",
            Operation::Untag { .. } => "UntagResource",
            Operation::ListTags(_) => "ListTagsForResource",
        }
    }
}

fn query(request: &ApiRequest) -> BTreeMap<String, String> {
    form_urlencoded::parse(request.uri.query().unwrap_or("").as_bytes()).into_owned().collect()
}

fn decoded(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

/// A name of a schedule or group: 1-64 of `[0-9a-zA-Z-_.]`.
fn check_name(value: &str, member: &str) -> Result<(), SchedulerError> {
    let valid = (1..=64).contains(&value.len())
        && value.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$"
        )))
    }
}

fn group_of(query: &BTreeMap<String, String>, key: &str) -> Result<String, SchedulerError> {
    let group = query.get(key).cloned().unwrap_or_else(|| DEFAULT_GROUP.to_owned());
    check_name(&group, "groupName")?;
    Ok(group)
}

impl SchedulerApi {
    /// The API over `schedules`.
    pub fn new(schedules: Arc<Schedules>, identity: Identity) -> Self {
        SchedulerApi { schedules, identity }
    }

    /// Whether `request` is Scheduler's: its paths, or a signature for the `scheduler` service.
    pub fn claims(request: &ApiRequest) -> bool {
        let path = request.uri.path();
        let scoped = request.credential_scope().is_some_and(|scope| scope.service == "scheduler");
        path == "/schedules"
            || path.starts_with("/schedules/")
            || path == "/schedule-groups"
            || path.starts_with("/schedule-groups/")
            || path.starts_with("/tags/arn%3Aaws%3Ascheduler")
            || path.starts_with("/tags/arn:aws:scheduler")
            || (scoped && path.starts_with("/tags/"))
    }

    /// Answers a Scheduler request.
    pub async fn handle(&self, request: ApiRequest) -> ApiResponse {
        pipeline::run(&self.identity, self, request).await
    }

    fn owner(call: &Call<'_>) -> Owner {
        Owner { account: call.caller.account.to_string(), region: call.caller.region.to_string() }
    }
}

/// CreateSchedule's and UpdateSchedule's body (members as the model names them).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ScheduleInput {
    action_after_completion: Option<String>,
    #[allow(dead_code)] // idempotency token: accepted, not needed by a single store
    client_token: Option<String>,
    description: Option<String>,
    end_date: Option<f64>,
    flexible_time_window: Option<FlexibleTimeWindow>,
    group_name: Option<String>,
    kms_key_arn: Option<String>,
    schedule_expression: Option<String>,
    schedule_expression_timezone: Option<String>,
    start_date: Option<f64>,
    state: Option<String>,
    target: Option<TargetInput>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FlexibleTimeWindow {
    maximum_window_in_minutes: Option<i64>,
    mode: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TargetInput {
    arn: Option<String>,
    role_arn: Option<String>,
    input: Option<String>,
    dead_letter_config: Option<DeadLetterConfig>,
    retry_policy: Option<RetryPolicy>,
    sqs_parameters: Option<SqsParameters>,
    event_bridge_parameters: Option<EventBridgeParameters>,
    #[serde(flatten)]
    other: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeadLetterConfig {
    arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RetryPolicy {
    maximum_event_age_in_seconds: Option<i64>,
    maximum_retry_attempts: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SqsParameters {
    message_group_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EventBridgeParameters {
    detail_type: Option<String>,
    source: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagsInput {
    tags: Option<Vec<Tag>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    value: String,
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, SchedulerError> {
    let body = if body.is_empty() { b"{}".as_slice() } else { body };
    serde_json::from_slice(body).map_err(|err| validation(format!("The request body is not valid: {err}")))
}

fn missing(member: &str) -> SchedulerError {
    validation(format!(
        "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
    ))
}

/// The prefixes of the read-only actions Scheduler refuses as universal targets (Scheduler user
/// guide, "Using universal targets").
const READ_ONLY_PREFIXES: &[&str] = &[
    "get",
    "describe",
    "list",
    "poll",
    "receive",
    "search",
    "scan",
    "query",
    "select",
    "read",
    "lookup",
    "discover",
    "validate",
    "batchGet",
    "batchDescribe",
    "batchRead",
    "transactGet",
    "adminGet",
    "adminList",
    "testMigration",
    "retrieve",
    "testConnection",
    "translateDocument",
    "isAuthorized",
    "invokeModel",
];

/// `SERVICE:ACTION` of a universal target: both present, and the action not read-only.
fn check_universal(rest: &str) -> Result<(), SchedulerError> {
    let (service, action) = rest.split_once(':').unwrap_or((rest, ""));
    if service.is_empty() || action.is_empty() || action.contains(':') {
        return Err(validation(format!(
            "Invalid target: arn:aws:scheduler:::aws-sdk:{rest} must name a service and an API action (aws-sdk:SERVICE:ACTION)."
        )));
    }
    if let Some(prefix) = READ_ONLY_PREFIXES.iter().find(|prefix| action.starts_with(**prefix)) {
        return Err(validation(format!(
            "Invalid target: the action {action} of {service} is read-only ({prefix}…): EventBridge Scheduler universal targets may only call actions that change something."
        )));
    }
    Ok(())
}

fn range(value: i64, member: &str, low: i64, high: i64) -> Result<u32, SchedulerError> {
    if (low..=high).contains(&value) {
        Ok(value as u32)
    } else {
        Err(validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must have value between {low} and {high}"
        )))
    }
}

fn millis_of(seconds: f64) -> u64 {
    (seconds.max(0.0) * 1000.0) as u64
}

fn seconds_of(millis: u64) -> f64 {
    millis as f64 / 1000.0
}

/// The schedule a Create/UpdateSchedule body describes (created and modified times are set by
/// the engine).
fn schedule_row(owner: &Owner, name: &str, body: &[u8]) -> Result<ScheduleRow, SchedulerError> {
    check_name(name, "name")?;
    let input: ScheduleInput = parse_body(body)?;
    let group = input.group_name.unwrap_or_else(|| DEFAULT_GROUP.to_owned());
    check_name(&group, "groupName")?;
    let expression = input.schedule_expression.ok_or_else(|| missing("scheduleExpression"))?;
    if expression.is_empty() || expression.len() > 256 {
        return Err(validation("Invalid Schedule Expression."));
    }
    let window = input.flexible_time_window.ok_or_else(|| missing("flexibleTimeWindow"))?;
    let flexible_window_minutes = match (window.mode.as_deref(), window.maximum_window_in_minutes) {
        (Some("OFF"), None) => None,
        (Some("OFF"), Some(_)) => {
            return Err(validation("MaximumWindowInMinutes must not be provided when Mode is OFF."))
        }
        (Some("FLEXIBLE"), Some(minutes)) => Some(range(minutes, "flexibleTimeWindow.maximumWindowInMinutes", 1, 1440)?),
        (Some("FLEXIBLE"), None) => {
            return Err(validation("MaximumWindowInMinutes must be provided when Mode is FLEXIBLE."))
        }
        (None, _) => return Err(missing("flexibleTimeWindow.mode")),
        (Some(other), _) => {
            return Err(validation(format!(
                "1 validation error detected: Value '{other}' at 'flexibleTimeWindow.mode' failed to satisfy constraint: Member must satisfy enum value set: [OFF, FLEXIBLE]"
            )))
        }
    };
    let enabled = match input.state.as_deref() {
        None | Some("ENABLED") => true,
        Some("DISABLED") => false,
        Some(other) => {
            return Err(validation(format!(
                "1 validation error detected: Value '{other}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]"
            )))
        }
    };
    let delete_after_completion = match input.action_after_completion.as_deref() {
        None | Some("NONE") => false,
        Some("DELETE") => true,
        Some(other) => {
            return Err(validation(format!(
                "1 validation error detected: Value '{other}' at 'actionAfterCompletion' failed to satisfy constraint: Member must satisfy enum value set: [NONE, DELETE]"
            )))
        }
    };
    if input.description.as_ref().is_some_and(|text| text.chars().count() > 512) {
        return Err(validation(
            "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 512",
        ));
    }
    let target = input.target.ok_or_else(|| missing("target"))?;
    let arn = target.arn.ok_or_else(|| missing("target.arn"))?;
    let role_arn = target.role_arn.ok_or_else(|| missing("target.roleArn"))?;
    let role_ok = role_arn.strip_prefix("arn:aws:iam::").and_then(|rest| rest.split_once(":role/")).is_some_and(
        |(account, role)| account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !role.is_empty(),
    );
    let role_account = role_arn.strip_prefix("arn:aws:iam::").and_then(|rest| rest.split(':').next()).unwrap_or("");
    if role_ok && role_account != owner.account {
        // A schedule acts for its own account only: there is no iam:PassRole across accounts.
        return Err(validation(format!("The execution role {role_arn} is not a role of the schedule's account.")));
    }
    if !role_ok {
        return Err(validation(format!(
            "1 validation error detected: Value '{role_arn}' at 'target.roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws(-[a-z]+)?:iam::\\d{{12}}:role\\/[\\w+=,.@\\/-]+$"
        )));
    }
    if let Some(rest) = arn.strip_prefix("arn:aws:scheduler:::aws-sdk:") {
        check_universal(rest)?;
    }
    if target.input.as_deref() == Some("") {
        return Err(validation(
            "1 validation error detected: Value '' at 'target.input' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    let dead_letter_arn = target.dead_letter_config.and_then(|config| config.arn);
    if let Some(queue) = &dead_letter_arn {
        if !queue.starts_with("arn:aws:sqs:") || queue.ends_with(".fifo") {
            return Err(validation("The dead-letter queue must be a standard Amazon SQS queue ARN."));
        }
    }
    let (maximum_retry_attempts, maximum_event_age_seconds) = match target.retry_policy {
        Some(policy) => (
            policy
                .maximum_retry_attempts
                .map(|n| range(n, "target.retryPolicy.maximumRetryAttempts", 0, 185))
                .transpose()?,
            policy
                .maximum_event_age_in_seconds
                .map(|n| range(n, "target.retryPolicy.maximumEventAgeInSeconds", 60, 86_400))
                .transpose()?,
        ),
        None => (None, None),
    };
    let eventbridge = match target.event_bridge_parameters {
        Some(parameters) => {
            let detail_type =
                parameters.detail_type.ok_or_else(|| missing("target.eventBridgeParameters.detailType"))?;
            let source = parameters.source.ok_or_else(|| missing("target.eventBridgeParameters.source"))?;
            if source.starts_with("aws.") {
                return Err(validation("The Source of EventBridgeParameters must not start with aws."));
            }
            Some((detail_type, source))
        }
        None => None,
    };
    Ok(ScheduleRow {
        account: owner.account.clone(),
        region: owner.region.clone(),
        group,
        name: name.to_owned(),
        expression,
        timezone: input.schedule_expression_timezone,
        start_ms: input.start_date.map(millis_of),
        end_ms: input.end_date.map(millis_of),
        flexible_window_minutes,
        enabled,
        description: input.description,
        delete_after_completion,
        kms_key_arn: input.kms_key_arn,
        target: ScheduleTargetRow {
            arn,
            role_arn,
            input: target.input,
            dead_letter_arn,
            maximum_retry_attempts,
            maximum_event_age_seconds,
            message_group_id: target.sqs_parameters.and_then(|parameters| parameters.message_group_id),
            eventbridge,
            other_parameters: target.other.into_iter().map(|(name, value)| (name, value.to_string())).collect(),
        },
        created_ms: 0,
        modified_ms: 0,
        completed: false,
    })
}

/// GetSchedule's output.
fn schedule_json(row: &ScheduleRow) -> Value {
    let mut target = json!({ "Arn": row.target.arn, "RoleArn": row.target.role_arn });
    if let Some(input) = &row.target.input {
        target["Input"] = json!(input);
    }
    if let Some(queue) = &row.target.dead_letter_arn {
        target["DeadLetterConfig"] = json!({ "Arn": queue });
    }
    target["RetryPolicy"] = json!({
        "MaximumRetryAttempts": row.target.maximum_retry_attempts.unwrap_or(185),
        "MaximumEventAgeInSeconds": row.target.maximum_event_age_seconds.unwrap_or(86_400),
    });
    if let Some(group) = &row.target.message_group_id {
        target["SqsParameters"] = json!({ "MessageGroupId": group });
    }
    if let Some((detail_type, source)) = &row.target.eventbridge {
        target["EventBridgeParameters"] = json!({ "DetailType": detail_type, "Source": source });
    }
    for (name, text) in &row.target.other_parameters {
        if let Ok(value) = serde_json::from_str::<Value>(text) {
            target[name] = value;
        }
    }
    let mut out = json!({
        "Arn": schedule_arn(row),
        "Name": row.name,
        "GroupName": row.group,
        "ScheduleExpression": row.expression,
        "State": if row.enabled { "ENABLED" } else { "DISABLED" },
        "FlexibleTimeWindow": match row.flexible_window_minutes {
            Some(minutes) => json!({ "Mode": "FLEXIBLE", "MaximumWindowInMinutes": minutes }),
            None => json!({ "Mode": "OFF" }),
        },
        "ActionAfterCompletion": if row.delete_after_completion { "DELETE" } else { "NONE" },
        "CreationDate": seconds_of(row.created_ms),
        "LastModificationDate": seconds_of(row.modified_ms),
        "Target": target,
    });
    let optional = [
        ("ScheduleExpressionTimezone", row.timezone.clone().map(Value::from)),
        ("Description", row.description.clone().map(Value::from)),
        ("KmsKeyArn", row.kms_key_arn.clone().map(Value::from)),
        ("StartDate", row.start_ms.map(|ms| json!(seconds_of(ms)))),
        ("EndDate", row.end_ms.map(|ms| json!(seconds_of(ms)))),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            out[name] = value;
        }
    }
    out
}

fn group_json(owner: &Owner, row: &ScheduleGroupRow) -> Value {
    json!({
        "Arn": group_arn(owner, &row.name),
        "Name": row.name,
        "State": "ACTIVE",
        "CreationDate": seconds_of(row.created_ms),
        "LastModificationDate": seconds_of(row.modified_ms),
    })
}

/// A page of `items` after `NextToken` (a name, base64), at most `MaxResults` (1-100).
fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    query: &BTreeMap<String, String>,
) -> Result<(Vec<T>, Option<String>), SchedulerError> {
    let limit = match query.get("MaxResults") {
        Some(text) => {
            range(text.parse().map_err(|_| validation("MaxResults must be a number"))?, "maxResults", 1, 100)?
        }
        None => 100,
    } as usize;
    let after = match query.get("NextToken") {
        Some(token) => Some(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| validation("The NextToken is not valid."))?,
        ),
        None => None,
    };
    let mut selected: Vec<T> =
        items.into_iter().filter(|item| after.as_ref().is_none_or(|after| key(item) > *after)).collect();
    let next = if selected.len() > limit {
        selected.truncate(limit);
        selected.last().map(|item| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key(item)))
    } else {
        None
    };
    Ok((selected, next))
}

/// The group a tagging call's ARN names (`…:schedule-group/NAME`), checked against the caller.
fn tagged_group(owner: &Owner, arn: &str) -> Result<String, SchedulerError> {
    let prefix = format!("arn:aws:scheduler:{}:{}:schedule-group/", owner.region, owner.account);
    match arn.strip_prefix(&prefix) {
        Some(name) if check_name(name, "resourceArn").is_ok() => Ok(name.to_owned()),
        _ => Err(validation(format!(
            "1 validation error detected: Value '{arn}' at 'resourceArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws(-[a-z]+)?:scheduler:[a-z0-9\\-]+:\\d{{12}}:schedule-group\\/[0-9a-zA-Z-_.]+$"
        ))),
    }
}

fn tags_json(tags: &BTreeMap<String, String>) -> Value {
    Value::Array(tags.iter().map(|(key, value)| json!({ "Key": key, "Value": value })).collect())
}

fn tag_map(body: &[u8]) -> Result<BTreeMap<String, String>, SchedulerError> {
    let input: TagsInput = parse_body(body)?;
    let tags = input.tags.unwrap_or_default();
    if tags.len() > 200 {
        return Err(validation("Tags can have at most 200 entries."));
    }
    Ok(tags.into_iter().map(|tag| (tag.key, tag.value)).collect())
}

#[async_trait]
impl Api for SchedulerApi {
    type Operation = Operation;
    type Output = Value;
    type Error = SchedulerError;

    fn service(&self) -> &'static str {
        "scheduler"
    }

    fn decode(&self, request: &ApiRequest) -> Result<Operation, SchedulerError> {
        let path = request.uri.path().to_owned();
        let query = query(request);
        let body = request.body.clone();
        let unknown = || SchedulerError {
            code: "UnknownOperationException",
            status: StatusCode::NOT_FOUND,
            message: format!("No operation at {} {path}", request.method),
        };
        if path == "/schedules" && request.method == Method::GET {
            return Ok(Operation::ListSchedules(query));
        }
        if path == "/schedule-groups" && request.method == Method::GET {
            return Ok(Operation::ListGroups(query));
        }
        if let Some(name) = path.strip_prefix("/schedules/").map(decoded) {
            return Ok(match request.method {
                Method::POST => Operation::PutSchedule { name, body, create: true },
                Method::PUT => Operation::PutSchedule { name, body, create: false },
                Method::GET => Operation::GetSchedule { name, group: group_of(&query, "groupName")? },
                Method::DELETE => Operation::DeleteSchedule { name, group: group_of(&query, "groupName")? },
                _ => return Err(unknown()),
            });
        }
        if let Some(name) = path.strip_prefix("/schedule-groups/").map(decoded) {
            check_name(&name, "name")?;
            return Ok(match request.method {
                Method::POST => Operation::CreateGroup { name, body },
                Method::GET => Operation::GetGroup(name),
                Method::DELETE => Operation::DeleteGroup(name),
                _ => return Err(unknown()),
            });
        }
        if let Some(arn) = path.strip_prefix("/tags/").map(decoded) {
            let keys = form_urlencoded::parse(request.uri.query().unwrap_or("").as_bytes())
                .filter(|(key, _)| key == "TagKeys")
                .map(|(_, value)| value.into_owned())
                .collect();
            return Ok(match request.method {
                Method::POST => Operation::Tag { arn, body },
                Method::DELETE => Operation::Untag { arn, keys },
                Method::GET => Operation::ListTags(arn),
                _ => return Err(unknown()),
            });
        }
        Err(unknown())
    }

    fn operation_name(&self, operation: &Operation) -> &'static str {
        operation.name()
    }

    async fn handle(&self, call: &Call<'_>, operation: Operation) -> Result<Value, SchedulerError> {
        let owner = Self::owner(call);
        let schedules = &self.schedules;
        Ok(match operation {
            Operation::PutSchedule { name, body, create } => {
                let row = schedule_row(&owner, &name, &body)?;
                json!({ "ScheduleArn": schedules.put_schedule(row, create).await? })
            }
            Operation::GetSchedule { name, group } => schedule_json(&schedules.schedule(&owner, &group, &name)?),
            Operation::DeleteSchedule { name, group } => {
                schedules.delete_schedule(&owner, &group, &name).await?;
                json!({})
            }
            Operation::ListSchedules(query) => {
                if let Some(group) = query.get("ScheduleGroup") {
                    check_name(group, "groupName")?;
                }
                let state = match query.get("State").map(String::as_str) {
                    None => None,
                    Some("ENABLED") => Some(true),
                    Some("DISABLED") => Some(false),
                    Some(other) => {
                        return Err(validation(format!(
                            "1 validation error detected: Value '{other}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]"
                        )))
                    }
                };
                let rows = schedules.schedules(
                    &owner,
                    query.get("ScheduleGroup").map(String::as_str),
                    query.get("NamePrefix").map(String::as_str),
                    state,
                )?;
                let (rows, next) = page(rows, |row| format!("{}/{}", row.group, row.name), &query)?;
                let summaries: Vec<Value> = rows
                    .iter()
                    .map(|row| {
                        json!({
                            "Arn": schedule_arn(row),
                            "Name": row.name,
                            "GroupName": row.group,
                            "State": if row.enabled { "ENABLED" } else { "DISABLED" },
                            "CreationDate": seconds_of(row.created_ms),
                            "LastModificationDate": seconds_of(row.modified_ms),
                            "Target": { "Arn": row.target.arn },
                        })
                    })
                    .collect();
                let mut out = json!({ "Schedules": summaries });
                if let Some(next) = next {
                    out["NextToken"] = json!(next);
                }
                out
            }
            Operation::CreateGroup { name, body } => {
                let tags = tag_map(&body)?;
                json!({ "ScheduleGroupArn": schedules.create_group(&owner, &name, tags).await? })
            }
            Operation::GetGroup(name) => group_json(&owner, &schedules.group(&owner, &name)?),
            Operation::DeleteGroup(name) => {
                schedules.delete_group(&owner, &name).await?;
                json!({})
            }
            Operation::ListGroups(query) => {
                let rows = schedules.groups(&owner, query.get("NamePrefix").map(String::as_str));
                let (rows, next) = page(rows, |row| row.name.clone(), &query)?;
                let mut out =
                    json!({ "ScheduleGroups": rows.iter().map(|row| group_json(&owner, row)).collect::<Vec<_>>() });
                if let Some(next) = next {
                    out["NextToken"] = json!(next);
                }
                out
            }
            Operation::Tag { arn, body } => {
                let group = tagged_group(&owner, &arn)?;
                let tags = tag_map(&body)?;
                schedules.change_tags(&owner, &group, |existing| existing.extend(tags)).await?;
                json!({})
            }
            Operation::Untag { arn, keys } => {
                let group = tagged_group(&owner, &arn)?;
                schedules.change_tags(&owner, &group, |existing| existing.retain(|key, _| !keys.contains(key))).await?;
                json!({})
            }
            Operation::ListTags(arn) => {
                let group = tagged_group(&owner, &arn)?;
                json!({ "Tags": tags_json(&schedules.group(&owner, &group)?.tags) })
            }
        })
    }

    fn render(&self, call: &Call<'_>, _operation: &'static str, output: Value) -> ApiResponse {
        ApiResponse::ok("application/json", call.request_id, Bytes::from(output.to_string()))
    }

    fn error_body<'e>(&self, error: &'e SchedulerError) -> ErrorBody<'e> {
        ErrorBody {
            status: error.status,
            json_type: error.code,
            query_code: None,
            fault: if error.status.is_server_error() { Fault::Receiver } else { Fault::Sender },
            message: &error.message,
            reason: None,
        }
    }

    fn render_error(&self, _request: &ApiRequest, request_id: &str, error: &ErrorBody<'_>) -> ApiResponse {
        ApiResponse::rest_json_error(request_id, error, &json!({ "Message": error.message }))
    }

    async fn resource(
        &self,
        _request: &ApiRequest,
        caller: &pipeline::Caller,
        operation: &Operation,
    ) -> pipeline::Resource {
        let owner = Owner { account: caller.account.to_string(), region: caller.region.to_string() };
        let schedule = |group: &str, name: &str| {
            format!("arn:aws:scheduler:{}:{}:schedule/{group}/{name}", owner.region, owner.account)
        };
        let arn = match operation {
            Operation::PutSchedule { name, body, .. } => {
                let group = parse_body::<ScheduleInput>(body)
                    .ok()
                    .and_then(|input| input.group_name)
                    .unwrap_or_else(|| DEFAULT_GROUP.to_owned());
                schedule(&group, name)
            }
            Operation::GetSchedule { name, group } | Operation::DeleteSchedule { name, group } => schedule(group, name),
            Operation::CreateGroup { name, .. } | Operation::GetGroup(name) | Operation::DeleteGroup(name) => {
                group_arn(&owner, name)
            }
            Operation::Tag { arn, .. } | Operation::Untag { arn, .. } | Operation::ListTags(arn) => arn.clone(),
            Operation::ListSchedules(_) | Operation::ListGroups(_) => return pipeline::Resource::default(),
        };
        pipeline::Resource::arn(arn, &caller.account)
    }
}
