//! AWS Security Token Service on the wire (the query protocol, version 2011-06-15):
//! GetCallerIdentity (the call scripts and SDK set-ups make to learn who they are), AssumeRole
//! (honouring the role's trust policy, `DurationSeconds`, session policies and tags) and
//! GetSessionToken, which mint temporary credentials (`ASIA…` with a session token) through
//! `wharf_iam`, and GetAccessKeyInfo. The model's other actions are refused with a clear
//! `InvalidAction`.
//!
//! Every request goes through `wharf_api_common::pipeline`; the answer is rendered by the
//! query XML writer of `wharf_api_common::xml`.

use async_trait::async_trait;
use http::{Method, StatusCode};
use serde::Serialize;
use std::sync::Arc;
use wharf_api_common::pipeline::{self, Api, Call, Caller, Identity, Resource};
use wharf_api_common::request::form_pairs;
use wharf_api_common::xml::{ListStyle, MapStyle, XmlNames};
use wharf_api_common::{ApiRequest, ApiResponse, ErrorBody, Fault};
use wharf_iam::{Iam, IamError, IssuedSession};

/// The XML namespace of STS answers.
pub const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The STS API.
#[derive(Debug)]
pub struct StsApi {
    identity: Identity,
    iam: Arc<Iam>,
}

/// A decoded STS request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// GetCallerIdentity.
    GetCallerIdentity,
    /// AssumeRole.
    AssumeRole {
        /// `RoleArn`.
        role_arn: String,
        /// `RoleSessionName`.
        session_name: String,
        /// `DurationSeconds`.
        duration_seconds: Option<u32>,
        /// `Policy`: the session policy.
        policy: Option<String>,
        /// `Tags`.
        tags: Vec<(String, String)>,
    },
    /// GetSessionToken.
    GetSessionToken {
        /// `DurationSeconds`.
        duration_seconds: Option<u32>,
    },
    /// GetAccessKeyInfo.
    GetAccessKeyInfo {
        /// `AccessKeyId`.
        access_key_id: String,
    },
}

/// What an STS operation answers; written as the variant's result itself.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Output {
    /// GetCallerIdentity.
    CallerIdentity(GetCallerIdentityResult),
    /// AssumeRole.
    AssumedRole(AssumeRoleResult),
    /// GetSessionToken.
    SessionToken(GetSessionTokenResult),
    /// GetAccessKeyInfo.
    AccessKeyInfo(GetAccessKeyInfoResult),
}

/// The `Credentials` shape.
#[derive(Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Credentials {
    /// `ASIA…`.
    pub access_key_id: String,
    /// The secret.
    pub secret_access_key: String,
    /// The session token.
    pub session_token: String,
    /// ISO 8601, UTC.
    pub expiration: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

impl From<&IssuedSession> for Credentials {
    fn from(session: &IssuedSession) -> Self {
        Credentials {
            access_key_id: session.access_key_id.clone(),
            secret_access_key: session.secret_access_key.clone(),
            session_token: session.session_token.clone(),
            expiration: wharf_types::UtcDateTime::from_epoch_millis(session.expires_ms).iso8601_seconds(),
        }
    }
}

/// The `AssumedRoleUser` shape.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssumedRoleUser {
    /// `AROA…:session`.
    pub assumed_role_id: String,
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    pub arn: String,
}

/// AssumeRole's result.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssumeRoleResult {
    /// The credentials.
    pub credentials: Credentials,
    /// Who they are.
    pub assumed_role_user: AssumedRoleUser,
    /// The session policy's and tags' share of the packed limit, in percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packed_policy_size: Option<u32>,
}

/// GetSessionToken's result.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetSessionTokenResult {
    /// The credentials.
    pub credentials: Credentials,
}

/// GetAccessKeyInfo's result.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetAccessKeyInfoResult {
    /// The key's account.
    pub account: String,
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

impl From<IamError> for StsError {
    fn from(err: IamError) -> Self {
        let (status, code) = match &err {
            IamError::AccessDenied(_) => (StatusCode::FORBIDDEN, "AccessDenied"),
            IamError::MalformedPolicyDocument(_) => (StatusCode::BAD_REQUEST, "MalformedPolicyDocument"),
            IamError::Validation(_) | IamError::InvalidInput(_) => (StatusCode::BAD_REQUEST, "ValidationError"),
            IamError::LimitExceeded(_) => (StatusCode::BAD_REQUEST, "PackedPolicyTooLarge"),
            IamError::NoSuchEntity(_) | IamError::EntityAlreadyExists(_) | IamError::DeleteConflict(_) => {
                (StatusCode::BAD_REQUEST, "InvalidParameterValue")
            }
            IamError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
        };
        StsError { status, code, message: err.to_string() }
    }
}

fn missing(member: &str) -> StsError {
    StsError::new(
        StatusCode::BAD_REQUEST,
        "ValidationError",
        format!("1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"),
    )
}

fn duration(params: &[(String, String)]) -> Result<Option<u32>, StsError> {
    match param(params, "DurationSeconds") {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| {
            StsError::new(
                StatusCode::BAD_REQUEST,
                "ValidationError",
                format!("1 validation error detected: Value '{text}' at 'durationSeconds' failed to satisfy constraint: Member must be a number"),
            )
        }),
    }
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
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
        StsApi { iam: Arc::clone(identity.iam()), identity }
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

/// The request's parameters, from the query string and a form body.
fn params(request: &ApiRequest) -> Vec<(String, String)> {
    let mut params = request.uri.query().and_then(|query| form_pairs(query.as_bytes())).unwrap_or_default();
    if request.method == Method::POST {
        params.extend(form_pairs(&request.body).unwrap_or_default());
    }
    params
}

/// The request's `Action`.
fn action(request: &ApiRequest) -> Option<String> {
    params(request).into_iter().find(|(name, _)| name == "Action").map(|(_, value)| value)
}

#[async_trait]
impl Api for StsApi {
    type Operation = Operation;
    type Output = Output;
    type Error = StsError;

    fn service(&self) -> &'static str {
        "sts"
    }

    fn decode(&self, request: &ApiRequest) -> Result<Operation, StsError> {
        let params = params(request);
        match action(request).as_deref() {
            Some("GetCallerIdentity") => Ok(Operation::GetCallerIdentity),
            Some("AssumeRole") => {
                let tags = (1..=50)
                    .map_while(|index| {
                        let key = param(&params, &format!("Tags.member.{index}.Key"))?;
                        let value = param(&params, &format!("Tags.member.{index}.Value")).unwrap_or_default();
                        Some((key.to_owned(), value.to_owned()))
                    })
                    .collect();
                Ok(Operation::AssumeRole {
                    role_arn: param(&params, "RoleArn").ok_or_else(|| missing("roleArn"))?.to_owned(),
                    session_name: param(&params, "RoleSessionName").ok_or_else(|| missing("roleSessionName"))?.to_owned(),
                    duration_seconds: duration(&params)?,
                    policy: param(&params, "Policy").map(str::to_owned),
                    tags,
                })
            }
            Some("GetSessionToken") => Ok(Operation::GetSessionToken { duration_seconds: duration(&params)? }),
            Some("GetAccessKeyInfo") => Ok(Operation::GetAccessKeyInfo {
                access_key_id: param(&params, "AccessKeyId").ok_or_else(|| missing("accessKeyId"))?.to_owned(),
            }),
            Some(known) if KNOWN_ACTIONS.contains(&known) => Err(StsError::new(
                StatusCode::BAD_REQUEST,
                "InvalidAction",
                format!("wharf does not implement the STS action {known} yet (GetCallerIdentity, AssumeRole, GetSessionToken and GetAccessKeyInfo)."),
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
            Operation::AssumeRole { .. } => "AssumeRole",
            Operation::GetSessionToken { .. } => "GetSessionToken",
            Operation::GetAccessKeyInfo { .. } => "GetAccessKeyInfo",
        }
    }

    async fn resource(&self, _request: &ApiRequest, _caller: &Caller, operation: &Operation) -> Resource {
        match operation {
            // The trust policy is the role's resource policy (the engine then applies the
            // rest of AssumeRole's rules).
            Operation::AssumeRole { role_arn, .. } => Resource {
                arn: Some(role_arn.clone()),
                account: role_arn.parse::<wharf_types::Arn>().ok().map(|arn| arn.account),
                policy: self.iam.trust_policy(role_arn),
                ..Resource::default()
            },
            _ => Resource::default(),
        }
    }

    async fn handle(&self, call: &Call<'_>, operation: Operation) -> Result<Output, StsError> {
        let caller = &call.caller.principal;
        match operation {
            Operation::GetCallerIdentity => Ok(Output::CallerIdentity(GetCallerIdentityResult {
                user_id: call.caller.principal_id.to_string(),
                account: call.caller.account.to_string(),
                arn: call.caller.principal_arn.to_string(),
            })),
            Operation::AssumeRole { role_arn, session_name, duration_seconds, policy, tags } => {
                let packed = policy.as_ref().map(|document| {
                    let size = document.chars().filter(|c| !c.is_whitespace()).count();
                    u32::try_from(size * 100 / wharf_iam::SESSION_POLICY_LIMIT).unwrap_or(100)
                });
                let session = self.iam.assume_role(caller, &role_arn, &session_name, duration_seconds, policy, tags)?;
                Ok(Output::AssumedRole(AssumeRoleResult {
                    credentials: Credentials::from(&session),
                    assumed_role_user: AssumedRoleUser {
                        assumed_role_id: session.principal.id(),
                        arn: session.principal.arn(),
                    },
                    packed_policy_size: packed,
                }))
            }
            Operation::GetSessionToken { duration_seconds } => {
                let session = self.iam.session_token(caller, duration_seconds)?;
                Ok(Output::SessionToken(GetSessionTokenResult { credentials: Credentials::from(&session) }))
            }
            Operation::GetAccessKeyInfo { access_key_id } => {
                // Root keys, users' keys and sessions resolve; a key wharf does not know carries no
                // account it could tell, so it answers the caller's.
                let account = match self.iam.resolve(&access_key_id, None) {
                    Ok((_, principal)) => principal.account().to_owned(),
                    Err(_) => call.caller.account.to_string(),
                };
                Ok(Output::AccessKeyInfo(GetAccessKeyInfoResult { account }))
            }
        }
    }

    fn render(&self, call: &Call<'_>, operation: &'static str, output: Output) -> ApiResponse {
        let written =
            wharf_api_common::xml::query_response(operation, NAMESPACE, Some(&output), call.request_id, &StsNames);
        wharf_api_common::xml::answer(NAMESPACE, call.request_id, written, "InternalFailure")
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
        let refused = api.handle(request("Action=GetFederationToken&Name=x", "AKID")).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(String::from_utf8_lossy(&refused.body).contains("<Code>InvalidAction</Code>"));
        let denied = api
            .handle(request("Action=AssumeRole&RoleArn=arn:aws:iam::000000000000:role/none&RoleSessionName=s1", "AKID"))
            .await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN);
        assert!(String::from_utf8_lossy(&denied.body).contains("<Code>AccessDenied</Code>"));
        assert!(StsApi::claims(&request("Action=GetCallerIdentity", "AKID")));
    }
}
