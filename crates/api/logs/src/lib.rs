//! CloudWatch Logs on the wire (awsJson1_1): decoded to one [`model::Operation`], handled by
//! the logs engine, rendered back as JSON.
//!
//! Every request goes through `wharf_api_common::pipeline`: `decode → authenticate →
//! authorize → handle → render`.
//! Handlers contain no HTTP and no serde; the codec contains no logs logic.
//!
//! # Layout
//! - [`codec`]: the awsJson1_1 decoder and encoder.
//! - [`model`]: operations and inputs with AWS's names.
//! - [`handlers`]: one function per operation, producing [`handlers::Output`].
//! - [`token`]: the paging tokens wharf mints.
//! - [`error`]: every CloudWatch Logs error code, and the mapping from engine errors.

pub mod codec;
pub mod error;
pub mod handlers;
pub mod model;
pub mod token;

use async_trait::async_trait;
use std::sync::Arc;
use wharf_api_common::pipeline::{self, Api, Call, Identity};
use wharf_api_common::{ApiRequest, ApiResponse, ErrorBody};
use wharf_logs::Logs;

/// The CloudWatch Logs API.
pub struct LogsApi {
    logs: Arc<Logs>,
    /// Who callers are.
    identity: Identity,
}

impl std::fmt::Debug for LogsApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogsApi").field("identity", &self.identity).finish()
    }
}

impl LogsApi {
    /// A CloudWatch Logs API over `logs`, its callers told apart by `identity`.
    pub fn new(logs: Arc<Logs>, identity: Identity) -> Self {
        LogsApi { logs, identity }
    }

    /// Whether a request is a CloudWatch Logs request (`X-Amz-Target: Logs_20140328.*`).
    pub fn claims(request: &ApiRequest) -> bool {
        request.target_operation(codec::TARGET_PREFIX).is_some()
    }

    /// Answers one CloudWatch Logs request.
    pub async fn handle(&self, request: ApiRequest) -> ApiResponse {
        pipeline::run(&self.identity, self, request).await
    }
}

#[async_trait]
impl Api for LogsApi {
    type Operation = model::Operation;
    type Output = handlers::Output;
    type Error = error::LogsApiError;

    fn service(&self) -> &'static str {
        "logs"
    }

    fn decode(&self, request: &ApiRequest) -> Result<model::Operation, error::LogsApiError> {
        codec::decode(request.target_operation(codec::TARGET_PREFIX).unwrap_or_default(), &request.body)
    }

    fn operation_name(&self, operation: &model::Operation) -> &'static str {
        operation.name()
    }

    async fn handle(
        &self,
        call: &Call<'_>,
        operation: model::Operation,
    ) -> Result<handlers::Output, error::LogsApiError> {
        let context =
            handlers::Context { logs: &self.logs, account: &call.caller.account, region: &call.caller.region };
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
        // Log groups as the Service Authorization Reference names them; a group-level action
        // is checked on `log-group:NAME:*`, so policies written either way match.
        let (group, stream, arn) = operation.target();
        let prefix = format!("arn:aws:logs:{}:{}", caller.region, caller.account);
        let arn = match (group, stream, arn) {
            (_, _, Some(arn)) => arn.to_owned(),
            (Some(group), Some(stream), None) => format!("{prefix}:log-group:{group}:log-stream:{stream}"),
            (Some(group), None, None) => format!("{prefix}:log-group:{group}:*"),
            (None, _, None) => return pipeline::Resource::default(),
        };
        pipeline::Resource::arn(arn, &caller.account)
    }

    fn error_body<'e>(&self, error: &'e error::LogsApiError) -> ErrorBody<'e> {
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
    use wharf_store::logs::MemoryLogStore;
    use wharf_types::SystemClock;

    fn api() -> LogsApi {
        let logs = Arc::new(Logs::new(Arc::new(MemoryLogStore::new()), Arc::new(SystemClock)));
        let identity =
            Identity::unverified("123456789012".parse().expect("account"), "us-east-1".parse().expect("region"));
        LogsApi::new(logs, identity)
    }

    async fn call(api: &LogsApi, operation: &str, body: Value) -> (u16, Value) {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-amz-target", format!("Logs_20140328.{operation}").parse().expect("header"));
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/logs/aws4_request, SignedHeaders=host, Signature=x"
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
    async fn lifecycle_and_errors() {
        let api = api();
        let (status, _) = call(&api, "CreateLogGroup", json!({"logGroupName": "/app"})).await;
        assert_eq!(status, 200);
        let (status, body) = call(&api, "CreateLogGroup", json!({"logGroupName": "/app"})).await;
        assert_eq!((status, body["__type"].as_str()), (400, Some("ResourceAlreadyExistsException")));
        let (_, body) = call(&api, "DescribeLogGroups", json!({})).await;
        assert_eq!(body["logGroups"][0]["arn"], "arn:aws:logs:eu-west-1:123456789012:log-group:/app:*");
        assert_eq!(body["logGroups"][0]["logGroupArn"], "arn:aws:logs:eu-west-1:123456789012:log-group:/app");
        let (_, body) = call(&api, "DeleteLogGroup", json!({"logGroupName": "/nope"})).await;
        assert_eq!(body["__type"], "ResourceNotFoundException");
        assert_eq!(body["message"], "The specified log group does not exist.");
        let (_, body) = call(&api, "PutRetentionPolicy", json!({"logGroupName": "/app", "retentionInDays": 2})).await;
        assert_eq!(body["__type"], "InvalidParameterException");
        let (_, body) = call(&api, "Frobnicate", json!({})).await;
        assert_eq!(body["__type"], "UnknownOperationException");
        let (_, body) = call(&api, "CreateLogGroup", json!({"logGroupName": "/x", "bogus": 1})).await;
        assert_eq!(body["__type"], "SerializationException");
        let (_, body) = call(&api, "CreateLogGroup", json!({"logGroupName": "bad name"})).await;
        assert_eq!(body["__type"], "InvalidParameterException");
    }

    #[tokio::test]
    async fn put_get_filter() {
        let api = api();
        call(&api, "CreateLogGroup", json!({"logGroupName": "/app"})).await;
        call(&api, "CreateLogStream", json!({"logGroupName": "/app", "logStreamName": "s"})).await;
        let now = wharf_types::Clock::now_millis(&SystemClock) as i64;
        let events: Vec<Value> =
            (0..5).map(|idx| json!({"timestamp": now + idx, "message": format!("line {idx}")})).collect();
        let (status, _) =
            call(&api, "PutLogEvents", json!({"logGroupName": "/app", "logStreamName": "s", "logEvents": events}))
                .await;
        assert_eq!(status, 200);
        let (_, body) = call(&api, "GetLogEvents", json!({"logGroupName": "/app", "logStreamName": "s"})).await;
        assert_eq!(body["events"].as_array().map(Vec::len), Some(5));
        let forward = body["nextForwardToken"].clone();
        let (_, again) =
            call(&api, "GetLogEvents", json!({"logGroupName": "/app", "logStreamName": "s", "nextToken": forward}))
                .await;
        assert_eq!(again["nextForwardToken"], forward, "the same token back at the end");
        let (_, body) = call(
            &api,
            "FilterLogEvents",
            json!({"logGroupIdentifier": "arn:aws:logs:eu-west-1:123456789012:log-group:/app:*", "filterPattern": "\"line 3\""}),
        )
        .await;
        assert_eq!(body["events"][0]["message"], "line 3");
        assert!(body.get("nextToken").is_none());
        assert_eq!(body["searchedLogStreams"][0]["logStreamName"], "s");
    }
}
