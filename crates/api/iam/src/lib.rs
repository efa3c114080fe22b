//! AWS Identity and Access Management on the wire: the query protocol (form-encoded
//! `Action=CreateRole&Version=2010-05-08`, XML answers in IAM's namespace), global (any
//! region's scope reaches the same IAM).
//!
//! Every request goes through `wharf_api_common::pipeline`; the entities and the policy engine
//! are `wharf_iam`'s. The answers are typed structs (`output`, `results`) rendered by the query
//! XML writer; every code is chosen in `error`.
//!
//! # Layout
//! - `params`: the form's parameters, with the model's validation messages.
//! - `handlers`: one arm per operation.
//! - `output`, `results`: the answer shapes.
//! - `error`: the codes.

mod error;
mod handlers;
mod output;
mod params;
mod results;

pub use error::IamApiError;

use async_trait::async_trait;
use http::{Method, StatusCode};
use std::sync::Arc;
use wharf_api_common::pipeline::{self, Api, Call, Caller, Identity, Resource};
use wharf_api_common::xml::{ListStyle, MapStyle, XmlError, XmlNames};
use wharf_api_common::{ApiRequest, ApiResponse, ErrorBody};
use wharf_iam::Iam;

/// The XML namespace of IAM answers.
pub const NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

/// The API version IAM requests carry.
pub const VERSION: &str = "2010-05-08";

/// The IAM API.
pub struct IamApi {
    iam: Arc<Iam>,
    identity: Identity,
}

impl std::fmt::Debug for IamApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IamApi").finish_non_exhaustive()
    }
}

/// A decoded IAM request: the action and its parameters.
#[derive(Debug)]
pub struct Operation {
    /// The action, as the model names it.
    pub name: &'static str,
    /// The form's parameters.
    pub params: params::Params,
}

/// A handled request's answer: an empty result, or a typed `…Result`.
pub enum Output {
    /// Operations whose output shape is empty.
    Empty,
    /// A result to write as XML.
    Result(Box<dyn XmlResult>),
}

/// A result the query XML writer can write.
pub trait XmlResult: Send {
    /// The whole answer of `action`.
    fn xml(&self, action: &str, request_id: &str) -> Result<Vec<u8>, XmlError>;
}

impl<T: serde::Serialize + Send> XmlResult for T {
    fn xml(&self, action: &str, request_id: &str) -> Result<Vec<u8>, XmlError> {
        wharf_api_common::xml::query_response(action, NAMESPACE, Some(self), request_id, &IamNames)
    }
}

/// IAM wraps every list in `<member>` items.
struct IamNames;

impl XmlNames for IamNames {
    fn list(&self, member: &str) -> Option<ListStyle> {
        Some(ListStyle { wrapper: Some(member.to_owned()), item: "member".to_owned() })
    }

    fn map(&self, member: &str) -> Option<MapStyle> {
        Some(MapStyle {
            wrapper: Some(member.to_owned()),
            entry: "entry".to_owned(),
            key: "key".to_owned(),
            value: "value".to_owned(),
        })
    }
}

impl IamApi {
    /// The IAM API over `identity`'s IAM.
    pub fn new(identity: Identity) -> Self {
        IamApi { iam: Arc::clone(identity.iam()), identity }
    }

    /// Whether a request is for IAM: signed for `iam`, or an unsigned query request of IAM's
    /// version.
    pub fn claims(request: &ApiRequest) -> bool {
        if let Some(scope) = request.credential_scope() {
            return scope.service == "iam";
        }
        params::Params::of(request).is_some_and(|params| params.get("Version") == Some(VERSION))
    }

    /// Answers one IAM request.
    pub async fn handle(&self, request: ApiRequest) -> ApiResponse {
        pipeline::run(&self.identity, self, request).await
    }
}

#[async_trait]
impl Api for IamApi {
    type Operation = Operation;
    type Output = Output;
    type Error = IamApiError;

    fn service(&self) -> &'static str {
        "iam"
    }

    fn decode(&self, request: &ApiRequest) -> Result<Operation, IamApiError> {
        if request.method != Method::POST && request.method != Method::GET {
            return Err(IamApiError::new(StatusCode::BAD_REQUEST, "InvalidAction", "IAM takes POST and GET requests"));
        }
        let params = params::Params::of(request).ok_or_else(|| {
            IamApiError::new(StatusCode::BAD_REQUEST, "MalformedQueryString", "The form is not URL-encoded")
        })?;
        let Some(action) = params.get("Action") else {
            return Err(IamApiError::new(
                StatusCode::BAD_REQUEST,
                "MissingAction",
                "The request must contain the parameter Action.",
            ));
        };
        let name =
            wharf_iam::actions::operations("iam").into_iter().find(|known| *known == action).ok_or_else(|| {
                IamApiError::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidAction",
                    format!("Could not find operation {action} for version {VERSION}"),
                )
            })?;
        if !handlers::IMPLEMENTED.contains(&name) {
            return Err(IamApiError::new(
                StatusCode::BAD_REQUEST,
                "InvalidAction",
                format!("wharf does not implement the IAM action {name} yet"),
            ));
        }
        Ok(Operation { name, params })
    }

    fn operation_name(&self, operation: &Operation) -> &'static str {
        operation.name
    }

    async fn handle(&self, call: &Call<'_>, operation: Operation) -> Result<Output, IamApiError> {
        handlers::handle(&self.iam, call.caller, operation).await
    }

    fn render(&self, call: &Call<'_>, operation: &'static str, output: Output) -> ApiResponse {
        let written = match output {
            Output::Empty => {
                wharf_api_common::xml::query_response::<()>(operation, NAMESPACE, None, call.request_id, &IamNames)
            }
            Output::Result(result) => result.xml(operation, call.request_id),
        };
        wharf_api_common::xml::answer(NAMESPACE, call.request_id, written, "ServiceFailure")
    }

    fn error_body<'e>(&self, error: &'e IamApiError) -> ErrorBody<'e> {
        error.body()
    }

    fn render_error(&self, _request: &ApiRequest, request_id: &str, error: &ErrorBody<'_>) -> ApiResponse {
        ApiResponse::xml_error_in(NAMESPACE, request_id, error)
    }

    async fn resource(&self, _request: &ApiRequest, caller: &Caller, operation: &Operation) -> Resource {
        handlers::resource(&self.iam, caller, operation)
    }
}
