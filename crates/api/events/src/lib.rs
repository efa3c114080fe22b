//! EventBridge (CloudWatch Events) on the wire (awsJson1_1): decoded to one
//! [`model::Operation`], handled by the rules engine, rendered back as JSON.
//!
//! Every request goes through `wharf_api_common::pipeline`: `decode → authenticate →
//! authorize → handle → render`.
//! Handlers contain no HTTP and no serde; the codec contains no rules logic.
//!
//! # Layout
//! - [`codec`]: the awsJson1_1 decoder and encoder.
//! - [`model`]: operations and inputs with AWS's names.
//! - [`handlers`]: one function per operation, producing [`handlers::Output`].
//! - [`token`]: the paging tokens wharf mints.
//! - [`error`]: every EventBridge error code, and the mapping from engine errors and per-entry
//!   outcomes.

pub mod codec;
pub mod error;
pub mod handlers;
pub mod model;
pub mod token;

use async_trait::async_trait;
use std::sync::Arc;
use wharf_api_common::pipeline::{self, Api, Call, Identity};
use wharf_api_common::{ApiRequest, ApiResponse, ErrorBody};
use wharf_events::{Caller, Events};

/// The EventBridge API.
pub struct EventsApi {
    events: Arc<Events>,
    /// Bus policies, parsed once.
    policies: wharf_iam::PolicyCache,
    /// Who callers are.
    identity: Identity,
}

impl std::fmt::Debug for EventsApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventsApi").field("identity", &self.identity).finish()
    }
}

impl EventsApi {
    /// The pipeline authorized PutEvents for the bus of its first entry; the other entries may
    /// name other buses (another account's among them): each distinct one is authorized here
    /// too, its policy deciding for another account's, and one refusal refuses the request.
    fn authorize_other_buses(
        &self,
        call: &Call<'_>,
        caller: &Caller,
        input: &model::PutEventsInput,
    ) -> Result<(), error::EventsApiError> {
        let entries = input.entries.as_deref().unwrap_or_default();
        let mut buses: Vec<(Caller, String)> = entries
            .iter()
            .map(|entry| wharf_events::rules::bus_owner(caller, entry.event_bus_name.as_deref()))
            .collect();
        let first = buses.first().cloned();
        buses.sort_by(|a, b| (&a.0.account, &a.0.region, &a.1).cmp(&(&b.0.account, &b.0.region, &b.1)));
        buses.dedup();
        for (owner, name) in buses {
            if Some((owner.clone(), name.clone())) == first {
                continue;
            }
            let arn = wharf_events::rules::bus_arn(&owner.account, &owner.region, &name);
            let policy = if owner.account == caller.account {
                None
            } else {
                self.events.bus_policy(&owner, &name).and_then(|text| self.policies.parsed(&text))
            };
            let mut resource = pipeline::Resource {
                arn: Some(arn),
                account: Some(owner.account.clone()),
                policy,
                ..pipeline::Resource::default()
            };
            // The same request context the pipeline gave the first bus.
            if let Some(peer) = call.request.peer {
                resource.context.insert("aws:sourceip".to_owned(), vec![peer.ip().to_string()]);
            }
            self.identity.authorize(call.caller, "events", "PutEvents", &resource).map_err(|refusal| {
                error::EventsApiError { code: error::EventsErrorCode::AccessDeniedException, message: refusal.message }
            })?;
        }
        Ok(())
    }

    /// An EventBridge API over `events`, its callers told apart by `identity`.
    pub fn new(events: Arc<Events>, identity: Identity) -> Self {
        EventsApi { events, identity, policies: wharf_iam::PolicyCache::default() }
    }

    /// Whether a request is an EventBridge request (`X-Amz-Target: AWSEvents.*`).
    pub fn claims(request: &ApiRequest) -> bool {
        request.target_operation(codec::TARGET_PREFIX).is_some()
    }

    /// Answers one EventBridge request.
    pub async fn handle(&self, request: ApiRequest) -> ApiResponse {
        pipeline::run(&self.identity, self, request).await
    }
}

#[async_trait]
impl Api for EventsApi {
    type Operation = model::Operation;
    type Output = handlers::Output;
    type Error = error::EventsApiError;

    fn service(&self) -> &'static str {
        "events"
    }

    fn decode(&self, request: &ApiRequest) -> Result<model::Operation, error::EventsApiError> {
        codec::decode(request.target_operation(codec::TARGET_PREFIX).unwrap_or_default(), &request.body)
    }

    fn operation_name(&self, operation: &model::Operation) -> &'static str {
        operation.name()
    }

    async fn handle(
        &self,
        call: &Call<'_>,
        operation: model::Operation,
    ) -> Result<handlers::Output, error::EventsApiError> {
        let caller = Caller { account: call.caller.account.to_string(), region: call.caller.region.to_string() };
        if let model::Operation::PutEvents(input) = &operation {
            self.authorize_other_buses(call, &caller, input)?;
        } else if let model::Acted::Bus(Some(bus)) | model::Acted::Rule(_, Some(bus)) = operation.target() {
            // Only PutEvents reaches another account's (or region's) bus; everything else acts
            // on the caller's own buses, so an ARN naming another's is refused rather than
            // authorized against one bus and applied to another.
            let (owner, _) = wharf_events::rules::bus_owner(&caller, Some(bus));
            if owner != caller {
                return Err(error::EventsApiError {
                    code: error::EventsErrorCode::ValidationException,
                    message: format!("Parameter EventBusName is not valid. Reason: {bus} is not a bus of the caller's account and region."),
                });
            }
        }
        let context = handlers::Context { events: &self.events, caller };
        handlers::handle(&context, operation).await
    }

    fn render(&self, call: &Call<'_>, _operation: &'static str, output: handlers::Output) -> ApiResponse {
        ApiResponse::ok(codec::CONTENT_TYPE, call.request_id, codec::encode(&output))
    }

    async fn resource(
        &self,
        _request: &ApiRequest,
        caller: &pipeline::Caller,
        operation: &model::Operation,
    ) -> pipeline::Resource {
        // Rules are `rule/NAME` on the default bus and `rule/BUS/NAME` on others; buses
        // `event-bus/NAME` (Service Authorization Reference).
        let prefix = format!("arn:aws:events:{}:{}", caller.region, caller.account);
        let bus_name = |bus: Option<&str>| -> String {
            let bus = bus.unwrap_or("default");
            bus.rsplit_once("event-bus/").map_or(bus, |(_, name)| name).to_owned()
        };
        let arn = match operation.target() {
            model::Acted::Rule(rule, bus) => match bus_name(bus).as_str() {
                "default" => format!("{prefix}:rule/{rule}"),
                bus => format!("{prefix}:rule/{bus}/{rule}"),
            },
            model::Acted::Bus(Some(bus))
                if wharf_events::rules::is_bus_arn(bus) && matches!(operation, model::Operation::PutEvents(_)) =>
            {
                // Another account's bus: its policy (PutPermission) decides, with the caller's.
                let me = Caller { account: caller.account.to_string(), region: caller.region.to_string() };
                let (owner, name) = wharf_events::rules::bus_owner(&me, Some(bus));
                let policy = self.events.bus_policy(&owner, &name).and_then(|text| self.policies.parsed(&text));
                return pipeline::Resource {
                    arn: Some(bus.to_owned()),
                    account: Some(owner.account),
                    policy,
                    ..pipeline::Resource::default()
                };
            }
            model::Acted::Bus(bus) => format!("{prefix}:event-bus/{}", bus_name(bus)),
            model::Acted::Archive(name) => format!("{prefix}:archive/{name}"),
            model::Acted::Replay(name) => format!("{prefix}:replay/{name}"),
            model::Acted::Connection(name) => format!("{prefix}:connection/{name}"),
            model::Acted::ApiDestination(name) => format!("{prefix}:api-destination/{name}"),
            model::Acted::Arn(arn) => arn.to_owned(),
            model::Acted::None => return pipeline::Resource::default(),
        };
        pipeline::Resource::arn(arn, &caller.account)
    }

    fn error_body<'e>(&self, error: &'e error::EventsApiError) -> ErrorBody<'e> {
        error.body()
    }

    fn render_error(&self, _request: &ApiRequest, request_id: &str, error: &ErrorBody<'_>) -> ApiResponse {
        // Not a query-compatible service: no `x-amzn-query-error` (SDKs would prefer its code
        // to `__type`, and the pipeline's refusals carry one for the query protocol).
        let mut error = error.clone();
        error.query_code = None;
        ApiResponse::json_error(codec::CONTENT_TYPE, request_id, &error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use wharf_store::events::MemoryEventStore;
    use wharf_types::SystemClock;

    struct Nowhere;

    #[async_trait::async_trait]
    impl wharf_events::TargetDelivery for Nowhere {
        async fn deliver(
            &self,
            _arn: &str,
            _rule_arn: &str,
            _payload: String,
            _group: Option<String>,
        ) -> Result<(), wharf_types::HandOffError> {
            Ok(())
        }
    }

    async fn api() -> EventsApi {
        let events = Events::open(Arc::new(MemoryEventStore::default()), Arc::new(SystemClock), Arc::new(Nowhere))
            .await
            .expect("open");
        let identity =
            Identity::unverified("123456789012".parse().expect("account"), "us-east-1".parse().expect("region"));
        EventsApi::new(Arc::new(events), identity)
    }

    async fn call(api: &EventsApi, operation: &str, body: Value) -> (u16, Value) {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-amz-target", format!("AWSEvents.{operation}").parse().expect("header"));
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/events/aws4_request, SignedHeaders=host, Signature=x"
                .parse()
                .expect("header"),
        );
        let request = ApiRequest {
            method: http::Method::POST,
            uri: "/".parse().expect("uri"),
            headers,
            body: bytes::Bytes::from(body.to_string()),
            peer: None,
        };
        let response = api.handle(request).await;
        (response.status.as_u16(), serde_json::from_slice(&response.body).expect("json body"))
    }

    #[tokio::test]
    async fn rules_targets_and_errors() {
        let api = api().await;
        let (status, body) = call(&api, "PutRule", json!({"Name": "r", "ScheduleExpression": "rate(5 minutes)"})).await;
        assert_eq!(status, 200);
        assert_eq!(body["RuleArn"], "arn:aws:events:eu-west-1:123456789012:rule/r");
        let (_, body) = call(&api, "DescribeRule", json!({"Name": "nope"})).await;
        assert_eq!(body["__type"], "ResourceNotFoundException");
        assert_eq!(body["message"], "Rule nope does not exist on EventBus default.");
        let (_, body) = call(&api, "PutRule", json!({"Name": "s", "ScheduleExpression": "rate(5 minute)"})).await;
        assert_eq!(
            (body["__type"].as_str(), body["message"].as_str()),
            (Some("ValidationException"), Some("Parameter ScheduleExpression is not valid."))
        );
        let (_, body) = call(&api, "PutRule", json!({"Name": "p", "EventPattern": "{\"source\": \"x\"}"})).await;
        assert_eq!(body["__type"], "InvalidEventPatternException");
        let (_, body) = call(
            &api,
            "PutTargets",
            json!({"Rule": "r", "Targets": [{"Id": "q", "Arn": "arn:aws:sqs:eu-west-1:123456789012:q"},
                                           {"Id": "t", "Arn": "arn:aws:sns:eu-west-1:123456789012:t"}]}),
        )
        .await;
        assert_eq!(body["FailedEntryCount"], 1);
        assert_eq!(body["FailedEntries"][0]["TargetId"], "t");
        let (_, body) = call(&api, "DeleteRule", json!({"Name": "r"})).await;
        assert_eq!(body["message"], "Rule can't be deleted since it has targets.");
        for idx in 0..3 {
            call(&api, "PutRule", json!({"Name": format!("x{idx}"), "EventPattern": "{\"source\": [\"a\"]}"})).await;
        }
        let (_, first) = call(&api, "ListRules", json!({"NamePrefix": "x", "Limit": 2})).await;
        assert_eq!(first["Rules"].as_array().map(Vec::len), Some(2));
        let (_, second) =
            call(&api, "ListRules", json!({"NamePrefix": "x", "Limit": 2, "NextToken": first["NextToken"]})).await;
        assert_eq!(second["Rules"][0]["Name"], "x2");
        assert!(second.get("NextToken").is_none());
        let (_, body) = call(&api, "Frobnicate", json!({})).await;
        assert_eq!(body["__type"], "UnknownOperationException");
        let (_, body) = call(&api, "PutRule", json!({"Name": "x", "Bogus": 1})).await;
        assert_eq!(body["__type"], "SerializationException");
        let (_, body) = call(
            &api,
            "PutEvents",
            json!({"Entries": [{"Source": "a", "DetailType": "t", "Detail": "{}"}, {"DetailType": "t", "Detail": "{}"}]}),
        )
        .await;
        assert_eq!(body["FailedEntryCount"], 1);
        assert_eq!(body["Entries"][1]["ErrorCode"], "InvalidArgument");
    }
}
