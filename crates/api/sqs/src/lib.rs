//! Amazon SQS on the wire: both protocols, decoded to one [`model::Operation`], handled by the
//! queue engine, rendered back in the protocol of the request.
//!
//! Every request goes through `wharf_api_common::pipeline`: `decode → authenticate →
//! authorize → handle → render`. Handlers contain no HTTP and no serde; codecs contain no queue logic.
//!
//! # Layout
//! - [`codec`]: awsJson1_0 ([`codec::json`]) and query ([`codec::query`]).
//! - [`model`]: operations and inputs with AWS's names.
//! - [`output`]: results before rendering.
//! - [`error`]: every SQS error code, and the mapping from engine errors.
//! - `handlers`: one function per operation.

pub mod codec;
pub mod error;
pub mod model;
pub mod output;

mod handlers;

use async_trait::async_trait;
use codec::Protocol;
use error::SqsError;
use http::Method;
use std::sync::Arc;
use wharf_api_common::pipeline::{self, Api, Call, Identity};
use wharf_api_common::{ApiRequest, ApiResponse, ErrorBody};
use wharf_queue::{Caller, Engine};

/// The `Content-Type` of form-encoded query requests.
const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// The SQS API.
pub struct SqsApi {
    engine: Arc<Engine>,
    /// Who callers are.
    identity: Identity,
    /// `host:port` for queue URLs when a request has no `Host` header.
    default_host: String,
    /// Parsed queue policies, for authorization.
    policies: wharf_iam::PolicyCache,
}

impl std::fmt::Debug for SqsApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsApi").field("identity", &self.identity).finish()
    }
}

impl SqsApi {
    /// An SQS API over `engine`, its callers told apart by `identity`.
    pub fn new(engine: Arc<Engine>, identity: Identity, default_host: String) -> Self {
        SqsApi { engine, identity, default_host, policies: wharf_iam::PolicyCache::default() }
    }

    /// Which SQS protocol a request speaks, if it is an SQS request at all.
    ///
    /// JSON requests name `AmazonSQS.*` in `X-Amz-Target`. Query requests carry `Action` in a
    /// form body or query string; this API claims every query request that is not signed for
    /// another service.
    pub fn protocol_of(request: &ApiRequest) -> Option<Protocol> {
        if let Some(target) = request.header(wharf_api_common::request::X_AMZ_TARGET) {
            return target.starts_with(codec::json::TARGET_PREFIX).then_some(Protocol::Json);
        }
        if let Some(scope) = request.credential_scope() {
            if scope.service != "sqs" {
                return None;
            }
        }
        let is_form = request.header("content-type").is_some_and(|value| value.starts_with(FORM_CONTENT_TYPE));
        let query_has_action =
            request.uri.query().is_some_and(|query| query.split('&').any(|pair| pair.starts_with("Action=")));
        let body_has_action =
            is_form && request.body.split(|&byte| byte == b'&').any(|pair| pair.starts_with(b"Action="));
        // A GET on a queue's URL is SQS's too, even without an action (it gets a 404).
        let get_on_queue = request.method == Method::GET && handlers::is_queue_path(request.uri.path());
        (query_has_action || body_has_action || get_on_queue).then_some(Protocol::Query)
    }

    /// Answers one SQS request (the router has checked [`SqsApi::protocol_of`]).
    pub async fn handle(&self, request: ApiRequest) -> ApiResponse {
        pipeline::run(&self.identity, self, request).await
    }

    fn decode_operation(&self, request: &ApiRequest, protocol: Protocol) -> Result<model::Operation, SqsError> {
        match protocol {
            Protocol::Json => {
                let operation = request.target_operation(codec::json::TARGET_PREFIX).unwrap_or_default();
                codec::json::decode(operation, &request.body)
            }
            Protocol::Query => {
                let mut params = Vec::new();
                if let Some(query) = request.uri.query() {
                    params.extend(form(query.as_bytes())?);
                }
                if request.method == Method::POST {
                    params.extend(form(&request.body)?);
                }
                let on_queue = handlers::is_queue_path(request.uri.path());
                if on_queue && request.method == Method::GET && !params.iter().any(|(name, _)| name == "Action") {
                    return Err(sqs_error!(UnknownQueueOperation, "An action must be given for a queue URL."));
                }
                codec::query::decode(
                    params,
                    handlers::queue_url_of_path(request.uri.path(), request.host().unwrap_or(&self.default_host)),
                )
            }
        }
    }
}

/// Whether a query request asks for a JSON answer.
fn accepts_json(request: &ApiRequest) -> bool {
    request.header("accept").is_some_and(|accept| accept.contains("application/json"))
}

#[async_trait]
impl Api for SqsApi {
    type Operation = model::Operation;
    type Output = output::Output;
    type Error = SqsError;

    fn service(&self) -> &'static str {
        "sqs"
    }

    fn decode(&self, request: &ApiRequest) -> Result<model::Operation, SqsError> {
        self.decode_operation(request, Self::protocol_of(request).unwrap_or(Protocol::Query))
    }

    fn operation_name(&self, operation: &model::Operation) -> &'static str {
        operation.name()
    }

    async fn handle(&self, call: &Call<'_>, operation: model::Operation) -> Result<output::Output, SqsError> {
        // SenderId is the caller's principal id, never an access key id.
        let caller = Caller {
            account: call.caller.account.clone(),
            region: call.caller.region.clone(),
            sender_id: Arc::clone(&call.caller.principal_id),
        };
        let host = call.request.host().unwrap_or(&self.default_host).to_owned();
        let context = handlers::Context {
            engine: &self.engine,
            caller: &caller,
            host: &host,
            trace_header: call.request.header("x-amzn-trace-id"),
            policies: &self.policies,
        };
        handlers::handle(&context, operation).await
    }

    fn render(&self, call: &Call<'_>, action: &'static str, output: output::Output) -> ApiResponse {
        let request_id = call.request_id;
        match Self::protocol_of(call.request).unwrap_or(Protocol::Query) {
            Protocol::Json => ApiResponse::ok(codec::json::CONTENT_TYPE, request_id, codec::json::encode(&output)),
            Protocol::Query if accepts_json(call.request) => {
                ApiResponse::ok("application/json", request_id, codec::query::encode_json(action, &output, request_id))
            }
            Protocol::Query => {
                ApiResponse::ok("text/xml", request_id, codec::query::encode(action, &output, request_id))
            }
        }
    }

    fn error_body<'e>(&self, error: &'e SqsError) -> ErrorBody<'e> {
        error.body()
    }

    async fn resource(
        &self,
        _request: &ApiRequest,
        caller: &pipeline::Caller,
        operation: &model::Operation,
    ) -> pipeline::Resource {
        let queue_caller = Caller {
            account: caller.account.clone(),
            region: caller.region.clone(),
            sender_id: Arc::clone(&caller.principal_id),
        };
        let context = handlers::Context {
            engine: &self.engine,
            caller: &queue_caller,
            host: &self.default_host,
            trace_header: None,
            policies: &self.policies,
        };
        handlers::resource(&context, operation).await
    }

    fn render_error(&self, request: &ApiRequest, request_id: &str, error: &ErrorBody<'_>) -> ApiResponse {
        match Self::protocol_of(request).unwrap_or(Protocol::Query) {
            Protocol::Json => ApiResponse::json_error(codec::json::CONTENT_TYPE, request_id, error),
            Protocol::Query => {
                let mut body = error.clone();
                if body.query_code == Some(error::SqsErrorCode::QueueDoesNotExist.query_code()) {
                    // The query protocol's wording, as recorded on SQS.
                    body.message = "The specified queue does not exist for this wsdl version.";
                }
                if accepts_json(request) {
                    let mut response = ApiResponse::ok(
                        "application/json",
                        request_id,
                        codec::query::encode_json_error(&body, request_id),
                    );
                    response.status = body.status;
                    response
                } else {
                    ApiResponse::xml_error(request_id, &body)
                }
            }
        }
    }
}

fn form(bytes: &[u8]) -> Result<Vec<(String, String)>, SqsError> {
    wharf_api_common::request::form_pairs(bytes).ok_or_else(|| {
        sqs_error!(MalformedQueryString, "The request parameters are not valid UTF-8 after percent-decoding")
    })
}
