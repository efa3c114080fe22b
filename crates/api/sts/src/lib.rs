//! AWS Security Token Service on the wire (the query protocol, version 2011-06-15): today
//! GetCallerIdentity, the call scripts and SDK set-ups make to learn which account and
//! principal their credentials are. The other actions (AssumeRole, GetSessionToken, …) come
//! with IAM and are refused with a clear `InvalidAction` until then.
//!
//! Every request goes through `wharf_api_common::pipeline`; the answer is rendered by the
//! query XML writer of `wharf_api_common::xml`.

use async_trait::async_trait;
use http::{Method, StatusCode};
use serde::Serialize;
use wharf_api_common::pipeline::{self, Api, Call, Identity};
use wharf_api_common::request::form_pairs;
use wharf_api_common::xml::{ListStyle, MapStyle, XmlNames};
use wharf_api_common::{ApiRequest, ApiResponse, ErrorBody, Fault};

/// The XML namespace of STS answers.
pub const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The STS API.
#[derive(Debug)]
pub struct StsApi {
    identity: Identity,
}

/// A decoded STS request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// GetCallerIdentity.
    GetCallerIdentity,
}

/// GetCallerIdentity's result, with the model's member names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetCallerIdentityResult {
    /// The principal's id (the account id for an account's root).
    pub user_id: String,
    /// The account.
    pub account: String,
    /// The principal's ARN.
    pub arn: String,
}

/// An STS error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StsError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl StsError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        StsError { status, code, message: message.into() }
    }
}

/// STS's answers have no lists or maps yet.
struct StsNames;

impl XmlNames for StsNames {
    fn list(&self, member: &str) -> Option<ListStyle> {
        // The query protocol's default for IAM and STS: `<Member><member>…</member></Member>`.
        Some(ListStyle { wrapper: Some(member.to_owned()), item: "member".to_owned() })
    }

    fn map(&self, _member: &str) -> Option<MapStyle> {
        None
    }
}

/// The actions of the STS model, so one wharf does not implement yet is told apart from a typo.
const KNOWN_ACTIONS: &[&str] = &[
    "AssumeRole",
    "AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity",
    "AssumeRoot",
    "DecodeAuthorizationMessage",
    "GetAccessKeyInfo",
    "GetCallerIdentity",
    "GetDelegatedAccessToken",
    "GetFederationToken",
    "GetSessionToken",
];

impl StsApi {
    /// The STS API, its callers told apart by `identity`.
    pub fn new(identity: Identity) -> Self {
        StsApi { identity }
    }

    /// Whether a request is for STS: signed for `sts`, or an unsigned query request naming an
    /// STS action.
    pub fn claims(request: &ApiRequest) -> bool {
        if let Some(scope) = request.credential_scope() {
            return scope.service == "sts";
        }
        action(request).is_some_and(|action| KNOWN_ACTIONS.contains(&action.as_str()))
    }

    /// Answers one STS request.
    pub async fn handle(&self, request: ApiRequest) -> ApiResponse {
        pipeline::run(&self.identity, self, request).await
    }
}

/// The request's `Action`, from the query string or a form body.
fn action(request: &ApiRequest) -> Option<String> {
    let mut params = request.uri.query().and_then(|query| form_pairs(query.as_bytes())).unwrap_or_default();
    if request.method == Method::POST {
        params.extend(form_pairs(&request.body).unwrap_or_default());
    }
    params.into_iter().find(|(name, _)| name == "Action").map(|(_, value)| value)
}

#[async_trait]
impl Api for StsApi {
    type Operation = Operation;
    type Output = GetCallerIdentityResult;
    type Error = StsError;

    fn service(&self) -> &'static str {
        "sts"
    }

    fn decode(&self, request: &ApiRequest) -> Result<Operation, StsError> {
        match action(request).as_deref() {
            Some("GetCallerIdentity") => Ok(Operation::GetCallerIdentity),
            Some(known) if KNOWN_ACTIONS.contains(&known) => Err(StsError::new(
                StatusCode::BAD_REQUEST,
                "InvalidAction",
                format!("wharf does not implement the STS action {known} yet (only GetCallerIdentity)."),
            )),
            Some(other) => Err(StsError::new(
                StatusCode::BAD_REQUEST,
                "InvalidAction",
                format!("Could not find operation {other} for version 2011-06-15"),
            )),
            None => Err(StsError::new(
                StatusCode::BAD_REQUEST,
                "MissingAction",
                "The request must contain the parameter Action.",
            )),
        }
    }

    fn operation_name(&self, operation: &Operation) -> &'static str {
        match operation {
            Operation::GetCallerIdentity => "GetCallerIdentity",
        }
    }

    async fn handle(&self, call: &Call<'_>, operation: Operation) -> Result<GetCallerIdentityResult, StsError> {
        match operation {
            Operation::GetCallerIdentity => Ok(GetCallerIdentityResult {
                user_id: call.caller.principal_id.to_string(),
                account: call.caller.account.to_string(),
                arn: call.caller.principal_arn.to_string(),
            }),
        }
    }

    fn render(&self, call: &Call<'_>, operation: &'static str, output: GetCallerIdentityResult) -> ApiResponse {
        match wharf_api_common::xml::query_response(operation, NAMESPACE, Some(&output), call.request_id, &StsNames) {
            Ok(body) => ApiResponse::ok("text/xml", call.request_id, body),
            Err(err) => {
                let message = err.to_string();
                let error = ErrorBody {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    json_type: "InternalFailure",
                    query_code: None,
                    fault: Fault::Receiver,
                    message: &message,
                    reason: None,
                };
                ApiResponse::xml_error_in(NAMESPACE, call.request_id, &error)
            }
        }
    }

    fn error_body<'e>(&self, error: &'e StsError) -> ErrorBody<'e> {
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
        ApiResponse::xml_error_in(NAMESPACE, request_id, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: &str, access_key: &str) -> ApiRequest {
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", "application/x-www-form-urlencoded; charset=utf-8".parse().expect("header"));
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={access_key}/20240101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=x"
        );
        headers.insert("authorization", authorization.parse().expect("header"));
        ApiRequest {
            method: Method::POST,
            uri: "/".parse().expect("uri"),
            headers,
            body: bytes::Bytes::from(body.to_owned()),
            peer: None,
        }
    }

    #[tokio::test]
    async fn get_caller_identity_names_the_account_root() {
        let api = StsApi::new(Identity::unverified(
            "000000000000".parse().expect("account"),
            "us-east-1".parse().expect("region"),
        ));
        let answer = api.handle(request("Action=GetCallerIdentity&Version=2011-06-15", "123456789012")).await;
        assert_eq!(answer.status, StatusCode::OK);
        let body = String::from_utf8(answer.body.to_vec()).expect("utf-8");
        assert!(body.starts_with(
            "<?xml version=\"1.0\"?><GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
             <GetCallerIdentityResult><UserId>123456789012</UserId><Account>123456789012</Account>\
             <Arn>arn:aws:iam::123456789012:root</Arn></GetCallerIdentityResult><ResponseMetadata><RequestId>"
        ), "{body}");
        let refused = api.handle(request("Action=AssumeRole&RoleArn=x", "AKID")).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(String::from_utf8_lossy(&refused.body).contains("<Code>InvalidAction</Code>"));
        assert!(StsApi::claims(&request("Action=GetCallerIdentity", "AKID")));
    }
}
