//! One function per operation: input → engine call → [`Output`]. No HTTP, no serde.

use crate::error::EventsApiError;
use crate::events_error;
use crate::model::*;
use crate::token;
use std::collections::BTreeMap;
use wharf_events::connections::{ConnectionAuth, DestinationChange, OAuthChange};
use wharf_events::{Caller, EntryProblem, Events, NewEvent, NewRule, ResourceArn, TargetProblem};
use wharf_store::archives::{ArchiveRow, ReplayRow};
use wharf_store::events::{
    ApiDestinationRow, BusRow, ConnectionRow, HttpParameter, HttpParametersRow, InputTransformerRow, RuleRow,
    TargetHttpRow, TargetRow,
};

/// The most bytes of entries one PutEvents may carry (256 KiB, as AWS computes entry sizes).
const MAX_PUT_EVENTS_BYTES: usize = 256 * 1024;

/// The result of an operation, before rendering.
#[derive(Debug)]
pub enum Output {
    /// `{}`.
    Empty,
    /// PutRule.
    RuleArn(String),
    /// DescribeRule.
    Rule(RuleRow),
    /// ListRules.
    Rules {
        /// The page.
        rules: Vec<RuleRow>,
        /// Where the next page starts.
        next_token: Option<String>,
    },
    /// ListTargetsByRule.
    Targets {
        /// The page.
        targets: Vec<TargetRow>,
        /// Where the next page starts.
        next_token: Option<String>,
    },
    /// ListRuleNamesByTarget.
    RuleNames {
        /// The page.
        names: Vec<String>,
        /// Where the next page starts.
        next_token: Option<String>,
    },
    /// PutTargets and RemoveTargets.
    TargetFailures(Vec<TargetProblem>),
    /// PutEvents.
    PutEvents(Vec<Result<String, EntryProblem>>),
    /// TestEventPattern.
    TestResult(bool),
    /// ListTagsForResource.
    Tags(BTreeMap<String, String>),
    /// CreateEventBus.
    BusCreated(BusRow),
    /// DescribeEventBus.
    Bus(BusRow),
    /// CreateArchive and UpdateArchive.
    ArchiveState(ArchiveRow),
    /// DescribeArchive: the archive, its event count and size.
    Archive(ArchiveRow, u64, u64),
    /// ListArchives.
    Archives {
        /// The page.
        archives: Vec<(ArchiveRow, u64, u64)>,
        /// Where the next page starts.
        next_token: Option<String>,
    },
    /// StartReplay and CancelReplay.
    ReplayState(ReplayRow),
    /// DescribeReplay.
    Replay(ReplayRow),
    /// ListReplays.
    Replays {
        /// The page.
        replays: Vec<ReplayRow>,
        /// Where the next page starts.
        next_token: Option<String>,
    },
    /// The state answer of Create/Update/Delete/DeauthorizeConnection.
    ConnectionState(ConnectionRow),
    /// DescribeConnection.
    Connection(ConnectionRow),
    /// ListConnections.
    Connections {
        /// The page.
        connections: Vec<ConnectionRow>,
        /// Where the next page starts.
        next_token: Option<String>,
    },
    /// The state answer of Create/UpdateApiDestination.
    ApiDestinationState(ApiDestinationRow),
    /// DescribeApiDestination.
    ApiDestination(ApiDestinationRow),
    /// ListApiDestinations.
    ApiDestinations {
        /// The page.
        destinations: Vec<ApiDestinationRow>,
        /// Where the next page starts.
        next_token: Option<String>,
    },
    /// ListEventBuses.
    Buses {
        /// The page.
        buses: Vec<BusRow>,
        /// Where the next page starts.
        next_token: Option<String>,
    },
}

/// Who is calling and where.
pub struct Context<'a> {
    /// The engine.
    pub events: &'a Events,
    /// The caller's account and the region the request was signed for.
    pub caller: Caller,
}

fn required<T>(value: Option<T>, member: &str) -> Result<T, EventsApiError> {
    value.ok_or_else(|| {
        events_error!(
            ValidationException,
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        )
    })
}

fn tag_map(tags: Option<Vec<Tag>>) -> BTreeMap<String, String> {
    tags.unwrap_or_default().into_iter().map(|tag| (tag.key, tag.value)).collect()
}

fn limit(value: Option<i64>) -> Result<usize, EventsApiError> {
    match value {
        None => Ok(100),
        Some(count @ 1..=100) => Ok(count as usize),
        Some(other) => Err(events_error!(
            ValidationException,
            "1 validation error detected: Value '{other}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100"
        )),
    }
}

/// One page of `items` (sorted by `key`) after the token's position.
fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> &str,
    next_token: Option<String>,
    limit: usize,
) -> Result<(Vec<T>, Option<String>), EventsApiError> {
    let after = next_token
        .map(|text| {
            token::decode(&text).ok_or_else(|| events_error!(ValidationException, "The NextToken is not valid."))
        })
        .transpose()?;
    let mut selected: Vec<T> =
        items.into_iter().filter(|item| after.as_deref().is_none_or(|after| key(item) > after)).collect();
    let next = if selected.len() > limit {
        selected.truncate(limit);
        selected.last().map(|item| token::encode(key(item)))
    } else {
        None
    };
    Ok((selected, next))
}

/// The constraints the events model puts on each target's `Id` (1–64 characters of
/// `[.\-_A-Za-z0-9]`) and `Arn` (1–1600), checked all at once and reported as AWS reports
/// them: every violation, with its member path (`targets.1.member.id`).
fn check_targets(targets: &[Target]) -> Result<(), EventsApiError> {
    let mut problems = Vec::new();
    for (index, target) in targets.iter().enumerate() {
        let position = index + 1;
        let id = &target.id;
        if id.chars().count() > 64 {
            problems.push(format!(
                "Value '{id}' at 'targets.{position}.member.id' failed to satisfy constraint: Member must have length less than or equal to 64"
            ));
        }
        if id.is_empty() {
            problems.push(format!(
                "Value '{id}' at 'targets.{position}.member.id' failed to satisfy constraint: Member must have length greater than or equal to 1"
            ));
        } else if !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')) {
            problems.push(format!(
                "Value '{id}' at 'targets.{position}.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+"
            ));
        }
        let arn = &target.arn;
        if arn.is_empty() {
            problems.push(format!(
                "Value '{arn}' at 'targets.{position}.member.arn' failed to satisfy constraint: Member must have length greater than or equal to 1"
            ));
        } else if arn.chars().count() > 1600 {
            problems.push(format!(
                "Value '{arn}' at 'targets.{position}.member.arn' failed to satisfy constraint: Member must have length less than or equal to 1600"
            ));
        }
    }
    match problems.len() {
        0 => Ok(()),
        1 => Err(events_error!(ValidationException, "1 validation error detected: {}", problems[0])),
        count => Err(events_error!(ValidationException, "{count} validation errors detected: {}", problems.join("; "))),
    }
}

fn target_row(target: Target) -> TargetRow {
    TargetRow {
        id: target.id,
        arn: target.arn,
        role_arn: target.role_arn,
        input: target.input,
        input_path: target.input_path,
        input_transformer: target.input_transformer.map(|transformer| InputTransformerRow {
            input_paths_map: transformer.input_paths_map.unwrap_or_default(),
            input_template: transformer.input_template,
        }),
        message_group_id: target.sqs_parameters.and_then(|parameters| parameters.message_group_id),
        dead_letter_arn: target.dead_letter_config.and_then(|config| config.arn),
        maximum_retry_attempts: target
            .retry_policy
            .as_ref()
            .and_then(|policy| policy.maximum_retry_attempts)
            .map(|count| count.clamp(0, 185) as u32),
        maximum_event_age_seconds: target
            .retry_policy
            .as_ref()
            .and_then(|policy| policy.maximum_event_age_in_seconds)
            .map(|seconds| seconds.clamp(60, 86_400) as u32),
        http_parameters: target.http_parameters.map(|parameters| TargetHttpRow {
            path_values: parameters.path_parameter_values.unwrap_or_default(),
            headers: parameters.header_parameters.unwrap_or_default(),
            query: parameters.query_string_parameters.unwrap_or_default(),
        }),
    }
}

fn parameters(given: Option<ConnectionHttpParameters>) -> Option<HttpParametersRow> {
    let list = |items: Option<Vec<ConnectionParameter>>| {
        items
            .unwrap_or_default()
            .into_iter()
            .map(|item| HttpParameter {
                key: item.key.unwrap_or_default(),
                value: item.value.unwrap_or_default(),
                secret: item.is_value_secret.unwrap_or(false),
            })
            .collect()
    };
    given.map(|given| HttpParametersRow {
        headers: list(given.header_parameters),
        query: list(given.query_string_parameters),
        body: list(given.body_parameters),
    })
}

fn connection_auth(given: ConnectionAuthParameters) -> ConnectionAuth {
    ConnectionAuth {
        basic: given.basic_auth_parameters.map(|basic| (basic.username, basic.password)),
        api_key: given.api_key_auth_parameters.map(|key| (key.api_key_name, key.api_key_value)),
        oauth: given.oauth_parameters.map(|oauth| OAuthChange {
            client_id: oauth.client_parameters.as_ref().and_then(|client| client.client_id.clone()),
            client_secret: oauth.client_parameters.and_then(|client| client.client_secret),
            endpoint: oauth.authorization_endpoint,
            method: oauth.http_method,
            parameters: parameters(oauth.oauth_http_parameters),
        }),
        invocation: parameters(given.invocation_http_parameters),
    }
}

fn destination_change(input: ApiDestinationInput) -> DestinationChange {
    DestinationChange {
        description: input.description,
        connection_arn: input.connection_arn,
        endpoint: input.invocation_endpoint,
        method: input.http_method,
        rate_limit: input.invocation_rate_limit_per_second,
    }
}

/// Epoch seconds (a JSON timestamp) as epoch milliseconds; negative is 0.
fn epoch_ms(seconds: f64) -> u64 {
    (seconds.max(0.0) * 1000.0) as u64
}

fn resource(arn: Option<String>) -> Result<ResourceArn, EventsApiError> {
    Ok(required(arn, "resourceARN")?.parse()?)
}

/// Runs one operation.
pub async fn handle(context: &Context<'_>, operation: Operation) -> Result<Output, EventsApiError> {
    let events = context.events;
    let caller = &context.caller;
    Ok(match operation {
        Operation::PutRule(input) => {
            let enabled = match input.state.as_deref() {
                None | Some("ENABLED") | Some("ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS") => true,
                Some("DISABLED") => false,
                Some(other) => {
                    return Err(events_error!(
                        ValidationException,
                        "1 validation error detected: Value '{other}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]"
                    ))
                }
            };
            let new = NewRule {
                name: required(input.name, "name")?,
                bus: input.event_bus_name,
                schedule_expression: input.schedule_expression,
                event_pattern: input.event_pattern,
                enabled: Some(enabled),
                description: input.description,
                role_arn: input.role_arn,
                tags: tag_map(input.tags),
            };
            Output::RuleArn(wharf_events::rules::rule_arn(&events.put_rule(caller, new).await?))
        }
        Operation::DescribeRule(input) => {
            Output::Rule(events.rule(caller, input.event_bus_name.as_deref(), &required(input.name, "name")?)?)
        }
        Operation::ListRules(input) => {
            let rules =
                events.rules(caller, input.event_bus_name.as_deref(), input.name_prefix.as_deref().unwrap_or(""))?;
            let (rules, next_token) = page(rules, |row| &row.name, input.next_token, limit(input.limit)?)?;
            Output::Rules { rules, next_token }
        }
        Operation::DeleteRule(input) => {
            events.delete_rule(caller, input.event_bus_name.as_deref(), &required(input.name, "name")?).await?;
            Output::Empty
        }
        Operation::EnableRule(input) => {
            events.set_enabled(caller, input.event_bus_name.as_deref(), &required(input.name, "name")?, true).await?;
            Output::Empty
        }
        Operation::DisableRule(input) => {
            events.set_enabled(caller, input.event_bus_name.as_deref(), &required(input.name, "name")?, false).await?;
            Output::Empty
        }
        Operation::PutTargets(input) => {
            let rule = required(input.rule, "rule")?;
            let targets = required(input.targets, "targets")?;
            if targets.is_empty() || targets.len() > 10 {
                return Err(events_error!(
                    ValidationException,
                    "1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length between 1 and 10"
                ));
            }
            check_targets(&targets)?;
            let targets = targets.into_iter().map(target_row).collect();
            Output::TargetFailures(events.put_targets(caller, input.event_bus_name.as_deref(), &rule, targets).await?)
        }
        Operation::RemoveTargets(input) => {
            let rule = required(input.rule, "rule")?;
            let ids = required(input.ids, "ids")?;
            if ids.is_empty() || ids.len() > 100 {
                return Err(events_error!(
                    ValidationException,
                    "1 validation error detected: Value at 'ids' failed to satisfy constraint: Member must have length between 1 and 100"
                ));
            }
            Output::TargetFailures(events.remove_targets(caller, input.event_bus_name.as_deref(), &rule, &ids).await?)
        }
        Operation::ListTargetsByRule(input) => {
            let targets = events.targets(caller, input.event_bus_name.as_deref(), &required(input.rule, "rule")?)?;
            let (targets, next_token) = page(targets, |row| &row.id, input.next_token, limit(input.limit)?)?;
            Output::Targets { targets, next_token }
        }
        Operation::ListRuleNamesByTarget(input) => {
            let names = events.rule_names_by_target(
                caller,
                input.event_bus_name.as_deref(),
                &required(input.target_arn, "targetArn")?,
            )?;
            let (names, next_token) = page(names, |name| name, input.next_token, limit(input.limit)?)?;
            Output::RuleNames { names, next_token }
        }
        Operation::PutEvents(input) => {
            let entries = required(input.entries, "entries")?;
            if entries.is_empty() || entries.len() > 10 {
                return Err(events_error!(
                    ValidationException,
                    "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and 10"
                ));
            }
            // AWS's entry size: 14 bytes for a Time, then the UTF-8 bytes of Source,
            // DetailType, Detail and each resource; 256 KiB for the whole request.
            let size: usize = entries
                .iter()
                .map(|entry| {
                    usize::from(entry.time.is_some()) * 14
                        + [&entry.source, &entry.detail_type, &entry.detail]
                            .iter()
                            .map(|text| text.as_deref().map_or(0, str::len))
                            .sum::<usize>()
                        + entry.resources.iter().flatten().map(String::len).sum::<usize>()
                })
                .sum();
            if size > MAX_PUT_EVENTS_BYTES {
                return Err(events_error!(
                    ValidationException,
                    "Total size of the entries in the request is over the limit."
                ));
            }
            let entries = entries
                .into_iter()
                .map(|entry| NewEvent {
                    source: entry.source,
                    detail_type: entry.detail_type,
                    detail: entry.detail,
                    resources: entry.resources.unwrap_or_default(),
                    bus: entry.event_bus_name,
                    time_ms: entry.time.filter(|seconds| *seconds >= 0.0).map(|seconds| (seconds * 1000.0) as u64),
                })
                .collect();
            Output::PutEvents(events.put_events(caller, entries))
        }
        Operation::TestEventPattern(input) => Output::TestResult(Events::test_pattern(
            &required(input.event_pattern, "eventPattern")?,
            &required(input.event, "event")?,
        )?),
        Operation::TagResource(input) => {
            let arn = resource(input.resource_arn)?;
            events.tag(&arn, tag_map(Some(required(input.tags, "tags")?))).await?;
            Output::Empty
        }
        Operation::UntagResource(input) => {
            let arn = resource(input.resource_arn)?;
            events.untag(&arn, &required(input.tag_keys, "tagKeys")?).await?;
            Output::Empty
        }
        Operation::ListTagsForResource(input) => Output::Tags(events.tags(&resource(input.resource_arn)?)?),
        Operation::CreateEventBus(input) => {
            let name = required(input.name, "name")?;
            if let Some(source) = input.event_source_name {
                return Err(events_error!(ResourceNotFoundException, "Event source {source} does not exist."));
            }
            Output::BusCreated(events.create_bus(caller, &name, input.description, tag_map(input.tags)).await?)
        }
        Operation::DescribeEventBus(input) => Output::Bus(events.bus(caller, input.name.as_deref())?),
        Operation::ListEventBuses(input) => {
            let buses = events.buses(caller, input.name_prefix.as_deref().unwrap_or(""));
            let (buses, next_token) = page(buses, |row| &row.name, input.next_token, limit(input.limit)?)?;
            Output::Buses { buses, next_token }
        }
        Operation::DeleteEventBus(input) => {
            events.delete_bus(caller, &required(input.name, "name")?).await?;
            Output::Empty
        }
        Operation::PutPermission(input) => {
            let grant = wharf_events::bus_policy::PermissionGrant {
                action: input.action,
                principal: input.principal,
                statement_id: input.statement_id,
                condition: input.condition.map(|condition| (condition.r#type, condition.key, condition.value)),
                policy: input.policy,
            };
            events.put_permission(caller, input.event_bus_name.as_deref(), grant).await?;
            Output::Empty
        }
        Operation::CreateArchive(input) => {
            let new = wharf_events::archives::NewArchive {
                name: required(input.archive_name, "archiveName")?,
                source_arn: required(input.event_source_arn, "eventSourceArn")?,
                description: input.description,
                event_pattern: input.event_pattern,
                retention_days: input.retention_days,
            };
            Output::ArchiveState(events.create_archive(caller, new).await?)
        }
        Operation::DescribeArchive(input) => {
            let (row, count, bytes) = events.archive(caller, &required(input.archive_name, "archiveName")?).await?;
            Output::Archive(row, count, bytes)
        }
        Operation::UpdateArchive(input) => {
            let change = wharf_events::archives::ArchiveChange {
                description: input.description,
                event_pattern: input.event_pattern,
                retention_days: input.retention_days,
            };
            Output::ArchiveState(
                events.update_archive(caller, &required(input.archive_name, "archiveName")?, change).await?,
            )
        }
        Operation::DeleteArchive(input) => {
            events.delete_archive(caller, &required(input.archive_name, "archiveName")?).await?;
            Output::Empty
        }
        Operation::ListArchives(input) => {
            let mut archives = events
                .archives(caller, input.name_prefix.as_deref().unwrap_or(""), input.event_source_arn.as_deref())
                .await?;
            if input.state.as_deref().is_some_and(|state| state != "ENABLED") {
                archives.clear();
            }
            let (archives, next_token) = page(archives, |entry| &entry.0.name, input.next_token, limit(input.limit)?)?;
            Output::Archives { archives, next_token }
        }
        Operation::StartReplay(input) => {
            let destination = required(input.destination, "destination")?;
            let new = wharf_events::archives::NewReplay {
                name: required(input.replay_name, "replayName")?,
                description: input.description,
                archive_arn: required(input.event_source_arn, "eventSourceArn")?,
                event_start_ms: epoch_ms(required(input.event_start_time, "eventStartTime")?),
                event_end_ms: epoch_ms(required(input.event_end_time, "eventEndTime")?),
                destination_arn: required(destination.arn, "destination.arn")?,
                filter_arns: destination.filter_arns.unwrap_or_default(),
            };
            Output::ReplayState(events.start_replay(caller, new).await?)
        }
        Operation::DescribeReplay(input) => {
            Output::Replay(events.replay(caller, &required(input.replay_name, "replayName")?)?)
        }
        Operation::ListReplays(input) => {
            let mut replays = events.replays(caller, input.name_prefix.as_deref().unwrap_or(""))?;
            if let Some(state) = &input.state {
                replays.retain(|row| &row.state == state);
            }
            if let Some(arn) = &input.event_source_arn {
                replays.retain(|row| &row.archive_arn == arn);
            }
            let (replays, next_token) = page(replays, |row| &row.name, input.next_token, limit(input.limit)?)?;
            Output::Replays { replays, next_token }
        }
        Operation::CancelReplay(input) => {
            Output::ReplayState(events.cancel_replay(caller, &required(input.replay_name, "replayName")?).await?)
        }
        Operation::CreateConnection(input) => {
            let name = required(input.name, "name")?;
            let kind = required(input.authorization_type, "authorizationType")?;
            let auth = connection_auth(required(input.auth_parameters, "authParameters")?);
            Output::ConnectionState(events.create_connection(caller, &name, input.description, &kind, auth).await?)
        }
        Operation::DescribeConnection(input) => {
            Output::Connection(events.connection(caller, &required(input.name, "name")?)?)
        }
        Operation::UpdateConnection(input) => {
            let name = required(input.name, "name")?;
            let auth = input.auth_parameters.map(connection_auth);
            Output::ConnectionState(
                events
                    .update_connection(caller, &name, input.description, input.authorization_type.as_deref(), auth)
                    .await?,
            )
        }
        Operation::DeleteConnection(input) => {
            Output::ConnectionState(events.delete_connection(caller, &required(input.name, "name")?).await?)
        }
        Operation::DeauthorizeConnection(input) => {
            Output::ConnectionState(events.deauthorize_connection(caller, &required(input.name, "name")?).await?)
        }
        Operation::ListConnections(input) => {
            let connections = events.connections(
                caller,
                input.name_prefix.as_deref().unwrap_or(""),
                input.connection_state.as_deref(),
            );
            let (connections, next_token) = page(connections, |row| &row.name, input.next_token, limit(input.limit)?)?;
            Output::Connections { connections, next_token }
        }
        Operation::CreateApiDestination(input) => {
            let name = required(input.name.clone(), "name")?;
            required(input.connection_arn.as_ref(), "connectionArn")?;
            required(input.invocation_endpoint.as_ref(), "invocationEndpoint")?;
            required(input.http_method.as_ref(), "httpMethod")?;
            Output::ApiDestinationState(events.create_api_destination(caller, &name, destination_change(input)).await?)
        }
        Operation::DescribeApiDestination(input) => {
            Output::ApiDestination(events.api_destination(caller, &required(input.name, "name")?)?)
        }
        Operation::UpdateApiDestination(input) => {
            let name = required(input.name.clone(), "name")?;
            Output::ApiDestinationState(events.update_api_destination(caller, &name, destination_change(input)).await?)
        }
        Operation::DeleteApiDestination(input) => {
            events.delete_api_destination(caller, &required(input.name, "name")?).await?;
            Output::Empty
        }
        Operation::ListApiDestinations(input) => {
            let destinations = events.api_destinations(
                caller,
                input.name_prefix.as_deref().unwrap_or(""),
                input.connection_arn.as_deref(),
            );
            let (destinations, next_token) =
                page(destinations, |row| &row.name, input.next_token, limit(input.limit)?)?;
            Output::ApiDestinations { destinations, next_token }
        }
        Operation::RemovePermission(input) => {
            let all = input.remove_all_permissions.unwrap_or(false);
            events
                .remove_permission(caller, input.event_bus_name.as_deref(), input.statement_id.as_deref(), all)
                .await?;
            Output::Empty
        }
    })
}
