//! One function per operation: input → engine call → [`Output`]. No HTTP, no serde.

use crate::error::LogsApiError;
use crate::logs_error;
use crate::model::*;
use crate::token;
use std::collections::BTreeMap;
use wharf_logs::{
    FilterEvents, FilterPage, GetEvents, GetPage, LogGroupKey, LogGroupRecord, LogStreamRecord, Logs, NewLogEvent,
    PutOutcome, ResourcePolicyRecord, StreamOrder, StreamSelector,
};
use wharf_types::{AccountId, Region};

/// The result of an operation, before rendering.
#[derive(Debug)]
pub enum Output {
    /// `{}`.
    Empty,
    /// DescribeLogGroups.
    Groups {
        /// The page.
        groups: Vec<LogGroupRecord>,
        /// Where the next page starts.
        next_token: Option<String>,
    },
    /// DescribeLogStreams.
    Streams {
        /// The group, for stream ARNs.
        group: LogGroupKey,
        /// The page.
        streams: Vec<LogStreamRecord>,
        /// Where the next page starts.
        next_token: Option<String>,
    },
    /// PutLogEvents.
    Put(PutOutcome),
    /// GetLogEvents.
    Get(GetPage),
    /// FilterLogEvents.
    Filter(FilterPage),
    /// ListTagsLogGroup and ListTagsForResource.
    Tags(BTreeMap<String, String>),
    /// ListLogGroups.
    GroupSummaries {
        /// The page.
        groups: Vec<LogGroupRecord>,
        /// Where the next page starts.
        next_token: Option<String>,
    },
    /// DescribeSubscriptionFilters.
    SubscriptionFilters(Vec<wharf_logs::SubscriptionFilterRecord>),
    /// PutResourcePolicy.
    Policy(ResourcePolicyRecord),
    /// DescribeResourcePolicies.
    Policies(Vec<ResourcePolicyRecord>),
}

/// Who is calling and where.
pub struct Context<'a> {
    /// The engine.
    pub logs: &'a Logs,
    /// The caller's account.
    pub account: &'a AccountId,
    /// The region the request was signed for.
    pub region: &'a Region,
}

impl Context<'_> {
    fn key(&self, name: String) -> LogGroupKey {
        LogGroupKey { account: self.account.clone(), region: self.region.clone(), name }
    }

    /// The group named by `logGroupName` or `logGroupIdentifier` (a name or an ARN).
    fn group_of(&self, name: Option<String>, identifier: Option<String>) -> Result<LogGroupKey, LogsApiError> {
        match (name, identifier) {
            (Some(_), Some(_)) => Err(logs_error!(
                InvalidParameterException,
                "LogGroup name and LogGroup identifier are mutually exclusive parameters."
            )),
            (Some(name), None) => Ok(self.key(name)),
            (None, Some(identifier)) => self.group_of_identifier(&identifier),
            (None, None) => Err(missing("logGroupName")),
        }
    }

    fn group_of_identifier(&self, identifier: &str) -> Result<LogGroupKey, LogsApiError> {
        if !identifier.starts_with("arn:") {
            return Ok(self.key(identifier.to_owned()));
        }
        group_of_arn(identifier)
            .ok_or_else(|| logs_error!(InvalidParameterException, "Invalid log group identifier {identifier}"))
    }
}

/// The group a log-group ARN names: `arn:PARTITION:logs:REGION:ACCOUNT:log-group:NAME[:*]`.
pub fn group_of_arn(arn: &str) -> Option<LogGroupKey> {
    let arn: wharf_types::Arn = arn.parse().ok()?;
    let rest = arn.resource.strip_prefix("log-group:").filter(|_| arn.service == "logs")?;
    let name = rest.strip_suffix(":*").unwrap_or(rest);
    if name.is_empty() || name.contains(':') {
        return None;
    }
    Some(LogGroupKey { account: arn.account_id()?, region: arn.region()?, name: name.to_owned() })
}

/// `arn:aws:logs:REGION:ACCOUNT:log-group:NAME` (the `logGroupArn`; `arn` adds `:*`).
pub fn group_arn(key: &LogGroupKey) -> String {
    format!("arn:aws:logs:{}:{}:log-group:{}", key.region, key.account, key.name)
}

fn missing(member: &str) -> LogsApiError {
    logs_error!(
        InvalidParameterException,
        "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
    )
}

fn required<T>(value: Option<T>, member: &str) -> Result<T, LogsApiError> {
    value.ok_or_else(|| missing(member))
}

fn limit(value: Option<i64>, max: i64, member: &str) -> Result<usize, LogsApiError> {
    match value {
        None => Ok(max as usize),
        Some(value) if (1..=max).contains(&value) => Ok(value as usize),
        // One message per bound, worded as AWS words each.
        Some(value) if value > max => Err(logs_error!(
            InvalidParameterException,
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must have value less than or equal to {max}"
        )),
        Some(value) => Err(logs_error!(
            InvalidParameterException,
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must have value greater than or equal to 1"
        )),
    }
}

fn millis(value: Option<i64>) -> Option<u64> {
    value.map(|ms| u64::try_from(ms).unwrap_or(0))
}

fn bad_token() -> LogsApiError {
    logs_error!(InvalidParameterException, "The specified nextToken is invalid.")
}

/// Runs one operation.
pub async fn handle(context: &Context<'_>, operation: Operation) -> Result<Output, LogsApiError> {
    let logs = context.logs;
    match operation {
        Operation::CreateLogGroup(input) => {
            let key = context.key(required(input.log_group_name, "logGroupName")?);
            logs.create_group(&key, input.tags.unwrap_or_default()).await?;
            Ok(Output::Empty)
        }
        Operation::DeleteLogGroup(input) => {
            logs.delete_group(&context.key(required(input.log_group_name, "logGroupName")?)).await?;
            Ok(Output::Empty)
        }
        Operation::DescribeLogGroups(input) => handle_describe_log_groups(context, input).await,
        Operation::CreateLogStream(input) => {
            let key = context.key(required(input.log_group_name, "logGroupName")?);
            logs.create_stream(&key, &required(input.log_stream_name, "logStreamName")?).await?;
            Ok(Output::Empty)
        }
        Operation::DeleteLogStream(input) => {
            let key = context.key(required(input.log_group_name, "logGroupName")?);
            logs.delete_stream(&key, &required(input.log_stream_name, "logStreamName")?).await?;
            Ok(Output::Empty)
        }
        Operation::DescribeLogStreams(input) => handle_describe_log_streams(context, input).await,
        Operation::PutLogEvents(input) => {
            let key = context.key(required(input.log_group_name, "logGroupName")?);
            let stream = required(input.log_stream_name, "logStreamName")?;
            let events = required(input.log_events, "logEvents")?
                .into_iter()
                .map(|event| NewLogEvent {
                    timestamp: u64::try_from(event.timestamp).unwrap_or(0),
                    message: event.message,
                })
                .collect();
            Ok(Output::Put(logs.put_events(&key, &stream, events).await?))
        }
        Operation::GetLogEvents(input) => {
            let group = context.group_of(input.log_group_name, input.log_group_identifier)?;
            let cursor = match input.next_token.as_deref() {
                Some(text) => Some(token::parse_get_token(text).ok_or_else(bad_token)?),
                None => None,
            };
            let request = GetEvents {
                group,
                stream: required(input.log_stream_name, "logStreamName")?,
                start: millis(input.start_time),
                end: millis(input.end_time),
                cursor,
                start_from_head: input.start_from_head.unwrap_or(false),
                limit: limit(input.limit, 10_000, "limit")?,
            };
            Ok(Output::Get(logs.get_events(request).await?))
        }
        Operation::FilterLogEvents(input) => {
            let group = context.group_of(input.log_group_name, input.log_group_identifier)?;
            let streams = match (input.log_stream_names, input.log_stream_name_prefix) {
                (Some(_), Some(_)) => {
                    return Err(logs_error!(
                        InvalidParameterException,
                        "logStreamNames and logStreamNamePrefix are mutually exclusive"
                    ))
                }
                (Some(names), None) => StreamSelector::Names(names),
                (None, Some(prefix)) => StreamSelector::Prefix(prefix),
                (None, None) => StreamSelector::All,
            };
            let cursor = match input.next_token.as_deref() {
                Some(text) => Some(token::parse_filter_token(text).ok_or_else(bad_token)?),
                None => None,
            };
            let request = FilterEvents {
                group,
                streams,
                start: millis(input.start_time),
                end: millis(input.end_time),
                pattern: input.filter_pattern.unwrap_or_default(),
                cursor,
                limit: limit(input.limit, 10_000, "limit")?,
            };
            Ok(Output::Filter(logs.filter_events(request).await?))
        }
        Operation::ListLogGroups(input) => {
            let limit = limit(input.limit, 1000, "limit")?.min(if input.limit.is_none() { 50 } else { 1000 });
            let alternatives: Vec<String> = match &input.log_group_name_pattern {
                Some(pattern) => {
                    let parts: Vec<String> = pattern.split('|').map(str::to_owned).collect();
                    let valid = parts.len() <= 5
                        && parts.iter().all(|part| {
                            let name = part.strip_prefix('^').unwrap_or(part);
                            (3..=24).contains(&name.len())
                                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_/#".contains(&b))
                        });
                    if !valid {
                        return Err(logs_error!(
                            InvalidParameterException,
                            "1 validation error detected: Value '{pattern}' at 'logGroupNamePattern' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\^?[\\.\\-_\\/#A-Za-z0-9]{{3,24}})(\\|\\^?[\\.\\-_\\/#A-Za-z0-9]{{3,24}}){{0,4}}"
                        ));
                    }
                    parts
                }
                None => Vec::new(),
            };
            if input.log_group_class.as_deref().is_some_and(|class| class != "STANDARD") {
                return Ok(Output::GroupSummaries { groups: Vec::new(), next_token: None });
            }
            let after = match input.next_token.as_deref() {
                Some(text) => Some(token::parse_groups_token(text).ok_or_else(bad_token)?),
                None => None,
            };
            let (groups, more) =
                logs.list_groups(context.account, context.region, &alternatives, after.as_deref(), limit).await?;
            let next_token = more.then(|| groups.last().map(|record| token::groups_token(&record.key.name))).flatten();
            Ok(Output::GroupSummaries { groups, next_token })
        }
        Operation::PutSubscriptionFilter(input) => {
            let group = required(input.log_group_name, "logGroupName")?;
            let record = wharf_logs::SubscriptionFilterRecord {
                group,
                name: required(input.filter_name, "filterName")?,
                pattern: required(input.filter_pattern, "filterPattern")?,
                destination_arn: required(input.destination_arn, "destinationArn")?,
                role_arn: input.role_arn,
                distribution: input.distribution,
                created_ms: logs.now_millis(),
            };
            logs.put_subscription_filter(context.account, context.region, record).await?;
            Ok(Output::Empty)
        }
        Operation::DescribeSubscriptionFilters(input) => {
            limit(input.limit, 50, "limit")?;
            let key = context.key(required(input.log_group_name, "logGroupName")?);
            let prefix = input.filter_name_prefix.unwrap_or_default();
            Ok(Output::SubscriptionFilters(logs.subscription_filters(&key, &prefix).await?))
        }
        Operation::DeleteSubscriptionFilter(input) => {
            let key = context.key(required(input.log_group_name, "logGroupName")?);
            logs.delete_subscription_filter(&key, &required(input.filter_name, "filterName")?).await?;
            Ok(Output::Empty)
        }
        Operation::PutResourcePolicy(input) => {
            let name = required(input.policy_name, "policyName")?;
            let document = required(input.policy_document, "policyDocument")?;
            let policy =
                logs.put_resource_policy(context.account, context.region, &name, &document, input.resource_arn).await?;
            Ok(Output::Policy(policy))
        }
        Operation::DescribeResourcePolicies(input) => {
            limit(input.limit, 50, "limit")?;
            let mut policies = logs.resource_policies(context.account, context.region).await?;
            match input.policy_scope.as_deref() {
                Some("ACCOUNT") => policies.retain(|policy| policy.resource_arn.is_none()),
                Some("RESOURCE") => policies.retain(|policy| policy.resource_arn.is_some()),
                _ => {}
            }
            if let Some(arn) = input.resource_arn {
                policies.retain(|policy| policy.resource_arn.as_deref() == Some(arn.as_str()));
            }
            Ok(Output::Policies(policies))
        }
        Operation::DeleteResourcePolicy(input) => {
            let name = required(input.policy_name, "policyName")?;
            logs.delete_resource_policy(context.account, context.region, &name).await?;
            Ok(Output::Empty)
        }
        Operation::PutRetentionPolicy(input) => {
            let key = context.key(required(input.log_group_name, "logGroupName")?);
            logs.put_retention(&key, required(input.retention_in_days, "retentionInDays")?).await?;
            Ok(Output::Empty)
        }
        Operation::DeleteRetentionPolicy(input) => {
            logs.delete_retention(&context.key(required(input.log_group_name, "logGroupName")?)).await?;
            Ok(Output::Empty)
        }
        Operation::TagLogGroup(input) => {
            let key = context.key(required(input.log_group_name, "logGroupName")?);
            logs.tag(&key, required(input.tags, "tags")?).await?;
            Ok(Output::Empty)
        }
        Operation::UntagLogGroup(input) => {
            let key = context.key(required(input.log_group_name, "logGroupName")?);
            logs.untag(&key, &required(input.tags, "tags")?).await?;
            Ok(Output::Empty)
        }
        Operation::ListTagsLogGroup(input) => {
            let key = context.key(required(input.log_group_name, "logGroupName")?);
            Ok(Output::Tags(logs.group(&key).await?.tags))
        }
        Operation::TagResource(input) => {
            let key = resource_group(&required(input.resource_arn, "resourceArn")?)?;
            logs.tag(&key, required(input.tags, "tags")?).await?;
            Ok(Output::Empty)
        }
        Operation::UntagResource(input) => {
            let key = resource_group(&required(input.resource_arn, "resourceArn")?)?;
            logs.untag(&key, &required(input.tag_keys, "tagKeys")?).await?;
            Ok(Output::Empty)
        }
        Operation::ListTagsForResource(input) => {
            let key = resource_group(&required(input.resource_arn, "resourceArn")?)?;
            Ok(Output::Tags(logs.group(&key).await?.tags))
        }
    }
}

fn resource_group(arn: &str) -> Result<LogGroupKey, LogsApiError> {
    group_of_arn(arn).ok_or_else(|| logs_error!(ResourceNotFoundException, "The specified resource does not exist."))
}

async fn handle_describe_log_groups(
    context: &Context<'_>,
    input: DescribeLogGroupsInput,
) -> Result<Output, LogsApiError> {
    let page_size = limit(input.limit, 50, "limit")?;
    if let Some(identifiers) = input.log_group_identifiers {
        let mut groups = Vec::new();
        for identifier in identifiers {
            let key = context.group_of_identifier(&identifier)?;
            match context.logs.group(&key).await {
                Ok(record) => groups.push(record),
                Err(wharf_logs::LogsError::GroupNotFound) => {}
                Err(err) => return Err(err.into()),
            }
        }
        return Ok(Output::Groups { groups, next_token: None });
    }
    if input.log_group_name_prefix.is_some() && input.log_group_name_pattern.is_some() {
        return Err(logs_error!(
            InvalidParameterException,
            "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters."
        ));
    }
    let after = match input.next_token.as_deref() {
        Some(text) => Some(token::parse_groups_token(text).ok_or_else(bad_token)?),
        None => None,
    };
    let (groups, more) = context
        .logs
        .groups(
            context.account,
            context.region,
            input.log_group_name_prefix.as_deref().unwrap_or(""),
            input.log_group_name_pattern.as_deref(),
            after.as_deref(),
            page_size,
        )
        .await?;
    let next_token = if more { groups.last().map(|record| token::groups_token(&record.key.name)) } else { None };
    Ok(Output::Groups { groups, next_token })
}

async fn handle_describe_log_streams(
    context: &Context<'_>,
    input: DescribeLogStreamsInput,
) -> Result<Output, LogsApiError> {
    let group = context.group_of(input.log_group_name, input.log_group_identifier)?;
    let order = match input.order_by.as_deref() {
        None | Some("LogStreamName") => StreamOrder::Name,
        Some("LastEventTime") => StreamOrder::LastEventTime,
        Some(other) => {
            return Err(logs_error!(
                InvalidParameterException,
                "1 validation error detected: Value '{other}' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]"
            ))
        }
    };
    let page_size = limit(input.limit, 50, "limit")?;
    let offset = match input.next_token.as_deref() {
        Some(text) => token::parse_streams_token(text).ok_or_else(bad_token)?,
        None => 0,
    };
    let all = context
        .logs
        .streams(
            &group,
            input.log_stream_name_prefix.as_deref().unwrap_or(""),
            order,
            input.descending.unwrap_or(false),
        )
        .await?;
    let end = offset.saturating_add(page_size).min(all.len());
    let streams = all.get(offset..end).map(<[_]>::to_vec).unwrap_or_default();
    let next_token = (end < all.len()).then(|| token::streams_token(end));
    Ok(Output::Streams { group, streams, next_token })
}
