//! One handler per SQS operation: input → engine call → output.

use crate::error::SqsError;
use crate::model::*;
use crate::output::*;
use crate::sqs_error;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use std::collections::BTreeMap;
use wharf_queue::{AttributeInput, Caller, Engine, QueueError, ReceiveInput, SendInput};
use wharf_types::{AccountId, QueueKey, QueueName, Region};

/// What every handler needs besides its input.
pub(crate) struct Context<'a> {
    pub engine: &'a std::sync::Arc<Engine>,
    pub caller: &'a Caller,
    /// `host:port` as the client addressed wharf, for queue URLs.
    pub host: &'a str,
    /// The request's `X-Amzn-Trace-Id` header: sent messages carry it as `AWSTraceHeader`
    /// unless they set that system attribute themselves.
    pub trace_header: Option<&'a str>,
    /// Parsed queue policies, for authorization.
    pub policies: &'a wharf_iam::PolicyCache,
}

impl Context<'_> {
    fn key_of(&self, name: &QueueName) -> QueueKey {
        QueueKey { account: self.caller.account.clone(), region: self.caller.region.clone(), name: name.clone() }
    }

    fn queue_url(&self, key: &QueueKey) -> String {
        queue_url(self.host, key)
    }

    /// The queue a URL names, in the region the URL carries:
    /// - wharf's form `http://HOST/queue/REGION/ACCOUNT/NAME`;
    /// - AWS's `https://sqs.REGION.amazonaws.com/ACCOUNT/NAME` (any host whose first labels are
    ///   `sqs.REGION`, or `REGION.queue`, such as LocalStack's; `queue.amazonaws.com` is
    ///   us-east-1);
    /// - `http://HOST/ACCOUNT/NAME` (wharf's URLs before they carried a region, and any host
    ///   without one) and a bare queue name: the caller's region.
    fn queue_key(&self, url: Option<&str>) -> Result<QueueKey, SqsError> {
        let url = url
            .filter(|url| !url.is_empty())
            .ok_or_else(|| sqs_error!(MissingParameter, "The request must contain the parameter QueueUrl."))?;
        if !url.contains('/') {
            // A bare queue name, which SQS resolves in the caller's account and region.
            let name: QueueName = url.parse().map_err(|_| SqsError::from(QueueError::QueueDoesNotExist))?;
            return Ok(self.key_of(&name));
        }
        let (host, path) = match url.find("://") {
            Some(idx) => {
                let rest = &url[idx + 3..];
                rest.find('/').map_or((rest, ""), |slash| (&rest[..slash], &rest[slash..]))
            }
            None => ("", url),
        };
        let path = path.split(['?', '#']).next().unwrap_or("");
        let segments: Vec<&str> = path.split('/').filter(|segment| !segment.is_empty()).collect();
        let invalid = || sqs_error!(InvalidAddress, "The address {url} is not valid for this endpoint.");
        let (region, account, name) = match segments.as_slice() {
            ["queue", region, account, name] => {
                (region.parse::<Region>().map_err(|_| SqsError::from(QueueError::QueueDoesNotExist))?, *account, *name)
            }
            [.., account, name] => {
                (region_of_host(host).unwrap_or_else(|| self.caller.region.clone()), *account, *name)
            }
            _ => return Err(invalid()),
        };
        let account: AccountId = account.parse().map_err(|_| SqsError::from(QueueError::QueueDoesNotExist))?;
        let name: QueueName = name.parse().map_err(|_| SqsError::from(QueueError::QueueDoesNotExist))?;
        Ok(QueueKey { account, region, name })
    }
}

/// A queue's URL on wharf: `http://HOST/queue/REGION/ACCOUNT/NAME`. The path carries the
/// region, so the URL resolves on every machine that reaches `HOST` (clients such as the JS v3
/// SDK send to the queue URL's host) and the same name in two regions gives two URLs.
pub(crate) fn queue_url(host: &str, key: &QueueKey) -> String {
    format!("http://{host}/queue/{}/{}/{}", key.region, key.account, key.name)
}

/// The region an AWS-style queue host names: `sqs.REGION.…` or `REGION.queue.…`, and the
/// legacy `queue.amazonaws.com` (us-east-1).
fn region_of_host(host: &str) -> Option<Region> {
    let host = host.rsplit_once('@').map_or(host, |(_, host)| host);
    let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    if host == "queue.amazonaws.com" {
        return "us-east-1".parse().ok();
    }
    let labels: Vec<&str> = host.split('.').collect();
    let candidate = match labels.as_slice() {
        ["sqs", region, _, ..] => *region,
        [region, "queue", _, ..] => *region,
        _ => return None,
    };
    let looks_like_region = candidate.contains('-') && candidate.ends_with(|c: char| c.is_ascii_digit());
    looks_like_region.then(|| candidate.parse().ok()).flatten()
}

/// Whether a request path is a queue's (`/queue/REGION/ACCOUNT/NAME` or `/ACCOUNT/NAME`).
pub(crate) fn is_queue_path(path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').filter(|segment| !segment.is_empty()).collect();
    match segments.as_slice() {
        ["queue", region, account, name] => {
            region.parse::<Region>().is_ok()
                && account.parse::<AccountId>().is_ok()
                && name.parse::<QueueName>().is_ok()
        }
        [account, name] => account.parse::<AccountId>().is_ok() && name.parse::<QueueName>().is_ok(),
        _ => false,
    }
}

/// The queue URL a query request sent to a queue's path implies.
pub(crate) fn queue_url_of_path(path: &str, host: &str) -> Option<String> {
    is_queue_path(path).then(|| format!("http://{host}{path}"))
}

fn attribute_inputs(map: BTreeMap<String, MessageAttributeValue>) -> Result<Vec<AttributeInput>, QueueError> {
    map.into_iter()
        .map(|(name, value)| {
            let has_lists = value.string_list_values.as_ref().is_some_and(|list| !list.is_empty())
                || value.binary_list_values.as_ref().is_some_and(|list| !list.is_empty());
            if has_lists {
                return Err(QueueError::InvalidParameterValue(format!(
                    "Message attribute '{name}' uses list values, which SQS reserves and does not support."
                )));
            }
            let binary_value = match value.binary_value {
                None => None,
                Some(text) => Some(STANDARD.decode(text.as_bytes()).map_err(|_| {
                    QueueError::InvalidParameterValue(format!(
                        "Message attribute '{name}' has a BinaryValue that is not valid base64."
                    ))
                })?),
            };
            Ok(AttributeInput { name, data_type: value.data_type, string_value: value.string_value, binary_value })
        })
        .collect()
}

fn send_input(
    message_body: Option<String>,
    delay_seconds: Option<i64>,
    message_attributes: MessageAttributeMap,
    message_system_attributes: MessageAttributeMap,
    message_deduplication_id: Option<String>,
    message_group_id: Option<String>,
    trace_header: Option<&str>,
) -> Result<SendInput, QueueError> {
    let mut system_attributes = attribute_inputs(message_system_attributes)?;
    if let Some(trace) = trace_header {
        if !system_attributes.iter().any(|attribute| attribute.name == "AWSTraceHeader") {
            system_attributes.push(AttributeInput {
                name: "AWSTraceHeader".into(),
                data_type: Some("String".into()),
                string_value: Some(trace.to_owned()),
                binary_value: None,
            });
        }
    }
    Ok(SendInput {
        body: message_body.ok_or_else(|| QueueError::MissingParameter("MessageBody".into()))?,
        delay_seconds,
        attributes: attribute_inputs(message_attributes)?,
        system_attributes,
        message_group_id,
        message_deduplication_id,
    })
}

fn failure(id: String, err: QueueError) -> BatchResultErrorEntry {
    let err = SqsError::from(err);
    BatchResultErrorEntry {
        id,
        code: err.code.query_code(),
        sender_fault: err.code.fault() == wharf_api_common::Fault::Sender,
        message: err.message,
    }
}

fn split_batch(outcomes: Vec<(String, Result<(), QueueError>)>) -> Output {
    let mut successful = Vec::new();
    let mut failed = Vec::new();
    for (id, outcome) in outcomes {
        match outcome {
            Ok(()) => successful.push(BatchResultEntry { id }),
            Err(err) => failed.push(failure(id, err)),
        }
    }
    Output::Batch(BatchResult { successful, failed })
}

const LIST_TOKEN_PREFIX: &str = "v1:";

/// One page of sorted names after the token's name: up to `max_results` with a token for the
/// rest, or without `max_results` up to 1,000 and no token (as ListQueues behaves).
fn paginate(
    names: Vec<QueueName>,
    max_results: Option<i64>,
    next_token: Option<&str>,
) -> Result<(Vec<QueueName>, Option<String>), SqsError> {
    let size = page_size(max_results)?;
    let after = match next_token.filter(|token| !token.is_empty()) {
        None => None,
        Some(token) => {
            let decoded = URL_SAFE_NO_PAD.decode(token).ok().and_then(|bytes| String::from_utf8(bytes).ok());
            let name = decoded.and_then(|text| text.strip_prefix(LIST_TOKEN_PREFIX).map(str::to_owned));
            Some(name.ok_or_else(|| sqs_error!(InvalidParameterValue, "Invalid NextToken value."))?)
        }
    };
    let mut remaining: Vec<QueueName> =
        names.into_iter().filter(|name| after.as_deref().is_none_or(|after| name.as_str() > after)).collect();
    match size {
        Some(size) if remaining.len() > size => {
            let token = URL_SAFE_NO_PAD.encode(format!("{LIST_TOKEN_PREFIX}{}", remaining[size - 1]));
            remaining.truncate(size);
            Ok((remaining, Some(token)))
        }
        Some(_) => Ok((remaining, None)),
        None => {
            remaining.truncate(1000);
            Ok((remaining, None))
        }
    }
}

fn page_size(max_results: Option<i64>) -> Result<Option<usize>, SqsError> {
    match max_results {
        None => Ok(None),
        Some(size @ 1..=1000) => Ok(Some(size as usize)),
        Some(other) => Err(sqs_error!(
            InvalidParameterValue,
            "Value {other} for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000."
        )),
    }
}

/// Runs one operation.
pub(crate) async fn handle(context: &Context<'_>, operation: Operation) -> Result<Output, SqsError> {
    let engine = context.engine;
    match operation {
        Operation::CreateQueue(input) => {
            let name = input
                .queue_name
                .ok_or_else(|| sqs_error!(MissingParameter, "The request must contain the parameter QueueName."))?;
            let name: QueueName = name
                .parse()
                .map_err(|err: wharf_types::InvalidQueueName| sqs_error!(InvalidParameterValue, "{err}"))?;
            let key = QueueKey { account: context.caller.account.clone(), region: context.caller.region.clone(), name };
            let record = engine.create_queue(key, input.attributes, input.tags).await?;
            Ok(Output::QueueUrl(QueueUrlResult { queue_url: context.queue_url(&record.key) }))
        }
        Operation::GetQueueUrl(input) => {
            let name = input
                .queue_name
                .ok_or_else(|| sqs_error!(MissingParameter, "The request must contain the parameter QueueName."))?;
            let name: QueueName = name.parse().map_err(|_| SqsError::from(QueueError::QueueDoesNotExist))?;
            let account = match input.queue_owner_aws_account_id {
                Some(owner) => owner.parse().map_err(|_| SqsError::from(QueueError::QueueDoesNotExist))?,
                None => context.caller.account.clone(),
            };
            let key = QueueKey { account, region: context.caller.region.clone(), name };
            let record = engine.get_queue(&key).await?;
            Ok(Output::QueueUrl(QueueUrlResult { queue_url: context.queue_url(&record.key) }))
        }
        Operation::ListQueues(input) => {
            let prefix = input.queue_name_prefix.unwrap_or_default();
            let names = engine.list_queues(&context.caller.account, &context.caller.region, &prefix).await?;
            let (page, next_token) = paginate(names, input.max_results, input.next_token.as_deref())?;
            let queue_urls = page.iter().map(|name| context.queue_url(&context.key_of(name))).collect();
            Ok(Output::ListQueues(ListQueuesResult { queue_urls, next_token }))
        }
        Operation::DeleteQueue(input) => {
            engine.delete_queue(&context.queue_key(input.queue_url.as_deref())?).await?;
            Ok(Output::EMPTY)
        }
        Operation::GetQueueAttributes(input) => {
            let key = context.queue_key(input.queue_url.as_deref())?;
            Ok(Output::GetQueueAttributes(GetQueueAttributesResult {
                attributes: Pairs(engine.get_attributes(&key, &input.attribute_names).await?),
            }))
        }
        Operation::SetQueueAttributes(input) => {
            let key = context.queue_key(input.queue_url.as_deref())?;
            engine.set_attributes(&key, input.attributes).await?;
            Ok(Output::EMPTY)
        }
        Operation::SendMessage(input) => {
            let key = context.queue_key(input.queue_url.as_deref())?;
            let send = send_input(
                input.message_body,
                input.delay_seconds,
                input.message_attributes,
                input.message_system_attributes,
                input.message_deduplication_id,
                input.message_group_id,
                context.trace_header,
            )?;
            Ok(Output::SendMessage(engine.send(&key, context.caller, send).await?.into()))
        }
        Operation::SendMessageBatch(input) => {
            let key = context.queue_key(input.queue_url.as_deref())?;
            let entries = input
                .entries
                .into_iter()
                .map(|entry| {
                    let send = send_input(
                        entry.message_body,
                        entry.delay_seconds,
                        entry.message_attributes,
                        entry.message_system_attributes,
                        entry.message_deduplication_id,
                        entry.message_group_id,
                        context.trace_header,
                    );
                    (entry.id.unwrap_or_default(), send)
                })
                .collect();
            let mut successful = Vec::new();
            let mut failures = Vec::new();
            for (id, outcome) in engine.send_batch(&key, context.caller, entries).await? {
                match outcome {
                    Ok(sent) => successful.push(SendMessageBatchResultEntry::new(id, sent)),
                    Err(err) => failures.push(failure(id, err)),
                }
            }
            Ok(Output::SendMessageBatch(SendMessageBatchResult { successful, failed: failures }))
        }
        Operation::ReceiveMessage(input) => {
            let key = context.queue_key(input.queue_url.as_deref())?;
            let mut system_attribute_names = input.attribute_names;
            system_attribute_names.extend(input.message_system_attribute_names);
            let receive = ReceiveInput {
                max_number_of_messages: input.max_number_of_messages,
                visibility_timeout: input.visibility_timeout,
                wait_time_seconds: input.wait_time_seconds,
                system_attribute_names,
                message_attribute_names: input.message_attribute_names,
                receive_request_attempt_id: input.receive_request_attempt_id,
            };
            let messages = engine.receive(&key, receive).await?.into_iter().map(Message).collect();
            Ok(Output::ReceiveMessage(ReceiveMessageResult { messages }))
        }
        Operation::DeleteMessage(input) => {
            let key = context.queue_key(input.queue_url.as_deref())?;
            let handle = input
                .receipt_handle
                .ok_or_else(|| sqs_error!(MissingParameter, "The request must contain the parameter ReceiptHandle."))?;
            engine.delete(&key, &handle).await?;
            Ok(Output::EMPTY)
        }
        Operation::DeleteMessageBatch(input) => {
            let key = context.queue_key(input.queue_url.as_deref())?;
            let entries = input
                .entries
                .into_iter()
                .map(|entry| (entry.id.unwrap_or_default(), entry.receipt_handle.unwrap_or_default()))
                .collect();
            Ok(split_batch(engine.delete_batch(&key, entries).await?))
        }
        Operation::ChangeMessageVisibility(input) => {
            let key = context.queue_key(input.queue_url.as_deref())?;
            let handle = input
                .receipt_handle
                .ok_or_else(|| sqs_error!(MissingParameter, "The request must contain the parameter ReceiptHandle."))?;
            let seconds = input.visibility_timeout.ok_or_else(|| {
                sqs_error!(MissingParameter, "The request must contain the parameter VisibilityTimeout.")
            })?;
            engine.change_visibility(&key, &handle, seconds).await?;
            Ok(Output::EMPTY)
        }
        Operation::ChangeMessageVisibilityBatch(input) => {
            let key = context.queue_key(input.queue_url.as_deref())?;
            let mut entries = Vec::new();
            let mut missing = Vec::new();
            for entry in input.entries {
                let id = entry.id.unwrap_or_default();
                match entry.visibility_timeout {
                    Some(seconds) => entries.push((id, (entry.receipt_handle.unwrap_or_default(), seconds))),
                    None => missing.push(id),
                }
            }
            let mut outcomes = if entries.is_empty() && !missing.is_empty() {
                Vec::new()
            } else {
                engine.change_visibility_batch(&key, entries, true).await?
            };
            outcomes.extend(
                missing.into_iter().map(|id| (id, Err(QueueError::MissingParameter("VisibilityTimeout".into())))),
            );
            Ok(split_batch(outcomes))
        }
        Operation::PurgeQueue(input) => {
            engine.purge(&context.queue_key(input.queue_url.as_deref())?).await?;
            Ok(Output::EMPTY)
        }
        Operation::TagQueue(input) => {
            let key = context.queue_key(input.queue_url.as_deref())?;
            if input.tags.is_empty() {
                return Err(sqs_error!(MissingParameter, "The request must contain the parameter Tags."));
            }
            engine.tag(&key, input.tags).await?;
            Ok(Output::EMPTY)
        }
        Operation::UntagQueue(input) => {
            let key = context.queue_key(input.queue_url.as_deref())?;
            engine.untag(&key, &input.tag_keys).await?;
            Ok(Output::EMPTY)
        }
        Operation::ListQueueTags(input) => {
            let key = context.queue_key(input.queue_url.as_deref())?;
            Ok(Output::ListQueueTags(ListQueueTagsResult { tags: engine.tags(&key).await? }))
        }
        Operation::AddPermission(input) => {
            let key = context.queue_key(input.queue_url.as_deref())?;
            let label = input
                .label
                .ok_or_else(|| sqs_error!(MissingParameter, "The request must contain the parameter Label."))?;
            engine.add_permission(&key, &label, &input.aws_account_ids, &input.actions).await?;
            Ok(Output::EMPTY)
        }
        Operation::RemovePermission(input) => {
            let key = context.queue_key(input.queue_url.as_deref())?;
            let label = input
                .label
                .ok_or_else(|| sqs_error!(MissingParameter, "The request must contain the parameter Label."))?;
            engine.remove_permission(&key, &label).await?;
            Ok(Output::EMPTY)
        }
        Operation::ListDeadLetterSourceQueues(input) => {
            let key = context.queue_key(input.queue_url.as_deref())?;
            let names = engine.dead_letter_sources(&key).await?;
            let (page, next_token) = paginate(names, input.max_results, input.next_token.as_deref())?;
            let queue_urls = page.iter().map(|name| context.queue_url(&context.key_of(name))).collect();
            Ok(Output::ListDeadLetterSourceQueues(ListDeadLetterSourceQueuesResult { queue_urls, next_token }))
        }
        Operation::StartMessageMoveTask(input) => {
            let source = input
                .source_arn
                .ok_or_else(|| sqs_error!(MissingParameter, "The request must contain the parameter SourceArn."))?;
            let handle =
                engine.start_move_task(&source, input.destination_arn, input.max_number_of_messages_per_second).await?;
            Ok(Output::StartMessageMoveTask(StartMessageMoveTaskResult { task_handle: handle }))
        }
        Operation::CancelMessageMoveTask(input) => {
            let handle = input
                .task_handle
                .ok_or_else(|| sqs_error!(MissingParameter, "The request must contain the parameter TaskHandle."))?;
            let moved = engine.cancel_move_task(&handle).await? as i64;
            Ok(Output::CancelMessageMoveTask(CancelMessageMoveTaskResult {
                approximate_number_of_messages_moved: moved,
            }))
        }
        Operation::ListMessageMoveTasks(input) => {
            let source = input
                .source_arn
                .ok_or_else(|| sqs_error!(MissingParameter, "The request must contain the parameter SourceArn."))?;
            let tasks = engine.list_move_tasks(&source, input.max_results).await?;
            let summaries = tasks
                .into_iter()
                .map(|task| ListMessageMoveTasksResultEntry {
                    task_handle: (task.status == wharf_queue::move_task::RUNNING).then_some(task.handle),
                    status: task.status,
                    source_arn: task.source_arn,
                    destination_arn: task.destination_arn,
                    max_number_of_messages_per_second: task.max_per_second.map(i64::from),
                    approximate_number_of_messages_moved: task.moved as i64,
                    approximate_number_of_messages_to_move: Some(task.to_move as i64),
                    failure_reason: task.failure_reason,
                    started_timestamp: task.started_ms as i64,
                })
                .collect();
            Ok(Output::ListMessageMoveTasks(ListMessageMoveTasksResult { results: summaries }))
        }
    }
}

impl Operation {
    /// The `QueueUrl` the operation names, if it takes one.
    fn queue_url(&self) -> Option<&str> {
        match self {
            Operation::DeleteQueue(input) | Operation::PurgeQueue(input) | Operation::ListQueueTags(input) => {
                input.queue_url.as_deref()
            }
            Operation::GetQueueAttributes(input) => input.queue_url.as_deref(),
            Operation::SetQueueAttributes(input) => input.queue_url.as_deref(),
            Operation::SendMessage(input) => input.queue_url.as_deref(),
            Operation::SendMessageBatch(input) => input.queue_url.as_deref(),
            Operation::ReceiveMessage(input) => input.queue_url.as_deref(),
            Operation::DeleteMessage(input) => input.queue_url.as_deref(),
            Operation::DeleteMessageBatch(input) => input.queue_url.as_deref(),
            Operation::ChangeMessageVisibility(input) => input.queue_url.as_deref(),
            Operation::ChangeMessageVisibilityBatch(input) => input.queue_url.as_deref(),
            Operation::TagQueue(input) => input.queue_url.as_deref(),
            Operation::UntagQueue(input) => input.queue_url.as_deref(),
            Operation::AddPermission(input) => input.queue_url.as_deref(),
            Operation::RemovePermission(input) => input.queue_url.as_deref(),
            Operation::ListDeadLetterSourceQueues(input) => input.queue_url.as_deref(),
            Operation::CreateQueue(_)
            | Operation::GetQueueUrl(_)
            | Operation::ListQueues(_)
            | Operation::StartMessageMoveTask(_)
            | Operation::CancelMessageMoveTask(_)
            | Operation::ListMessageMoveTasks(_) => None,
        }
    }
}

/// The queue an operation acts on, with its owner and its `Policy`, for authorization. A
/// queue that does not exist yet (CreateQueue) or any more still has its ARN.
pub(crate) async fn resource(context: &Context<'_>, operation: &Operation) -> wharf_api_common::pipeline::Resource {
    let key = match operation {
        Operation::CreateQueue(input) => input
            .queue_name
            .as_deref()
            .and_then(|name| name.parse::<QueueName>().ok())
            .map(|name| context.key_of(&name)),
        Operation::GetQueueUrl(input) => {
            input.queue_name.as_deref().and_then(|name| name.parse::<QueueName>().ok()).map(|name| {
                let mut key = context.key_of(&name);
                if let Some(owner) = input.queue_owner_aws_account_id.as_deref().and_then(|owner| owner.parse().ok()) {
                    key.account = owner;
                }
                key
            })
        }
        Operation::StartMessageMoveTask(input) => input.source_arn.as_deref().and_then(QueueKey::from_arn),
        Operation::ListMessageMoveTasks(input) => input.source_arn.as_deref().and_then(QueueKey::from_arn),
        other => other.queue_url().and_then(|url| context.queue_key(Some(url)).ok()),
    };
    let Some(key) = key else {
        return wharf_api_common::pipeline::Resource::default();
    };
    let mut resource = wharf_api_common::pipeline::Resource::arn(key.arn(), &key.account);
    match context.engine.policy(&key).await {
        Ok(Some(document)) => resource.policy = context.policies.parsed(&document),
        Ok(None) => {}
        // Another account's queue that does not exist has no owner to grant anything: the
        // caller's own policies decide, and the operation answers NonExistentQueue, as SQS
        // does ("does not exist or you do not have access to it").
        Err(QueueError::QueueDoesNotExist) if key.account != context.caller.account => {
            resource.account = Some(context.caller.account.to_string());
        }
        Err(_) => {}
    }
    resource
}
