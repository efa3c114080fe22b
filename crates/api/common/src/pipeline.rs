//! The one request pipeline every AWS API of wharf plugs into:
//! `decode → authenticate → authorize → handle → render`.
//!
//! A service implements [`Api`]: how its protocol decodes a request into an operation, how it
//! handles one for a [`Caller`], and how its protocol renders an output or an error. [`run`]
//! does the rest once for all: the request id, one tracing span per request (request id,
//! service, operation, principal), who the caller is ([`Identity`]), whether they may
//! ([`Identity::authorize`]), and one log line per refused or failed request.
//!
//! Authentication today is `auth.mode = "off"` (credentials not verified) or `"log"` (each
//! request's SigV4 signature is checked against the known access keys and the outcome logged,
//! nothing refused). The access
//! key decides the account (a 12-digit access key selects that account, as other emulators
//! do; any other key, or none, the default account) and the SigV4 credential scope the region
//! (the default region when unsigned). Every caller is then its account's root. SigV4
//! verification, IAM principals and policy evaluation plug in here.

use crate::request::ApiRequest;
use crate::response::{ApiResponse, ErrorBody};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Arc;
use tracing::Instrument;
use wharf_types::{AccountId, Clock, Region, SystemClock};

/// How far a signature's time may be from wharf's clock.
pub const MAX_SKEW_SECONDS: u64 = 300;

/// Who made a request, as the services see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The account the request acts in.
    pub account: AccountId,
    /// The region the request was signed for.
    pub region: Region,
    /// The principal's id, as AWS reports it (`SenderId`, `aws:userid`): the account id for an
    /// account's root.
    pub principal_id: Arc<str>,
    /// The principal's ARN (`arn:aws:iam::ACCOUNT:root` for an account's root).
    pub principal_arn: Arc<str>,
}

/// How signatures are treated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthMode {
    /// Not checked: any credentials work.
    #[default]
    Off,
    /// Checked against the known credentials and the outcome logged, nothing refused: for
    /// trying credentials out before they are enforced.
    Log,
}

/// An access key wharf knows.
#[derive(Clone)]
pub struct Credential {
    /// The secret access key.
    pub secret: String,
    /// The account the key belongs to.
    pub account: AccountId,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("Credential").field("account", &self.account).finish_non_exhaustive()
    }
}

/// Decides who a request comes from and what they may do.
#[derive(Clone, Debug)]
pub struct Identity {
    default_account: AccountId,
    default_region: Region,
    mode: AuthMode,
    /// Known access keys, by access key id.
    credentials: Arc<HashMap<String, Credential>>,
    /// wharf's clock, for the signing time's skew and presigned URLs' expiry.
    clock: Arc<dyn Clock>,
}

impl Identity {
    /// Credentials are not verified: the default account and region, unless the request says
    /// otherwise (see the module documentation).
    pub fn unverified(default_account: AccountId, default_region: Region) -> Self {
        Identity {
            default_account,
            default_region,
            mode: AuthMode::Off,
            credentials: Arc::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Signatures treated as `mode` says, against `credentials` (by access key id). A known key
    /// selects its account in every mode.
    pub fn new(
        default_account: AccountId,
        default_region: Region,
        mode: AuthMode,
        credentials: HashMap<String, Credential>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Identity { default_account, default_region, mode, credentials: Arc::new(credentials), clock }
    }

    /// Checks the request's signature and logs the outcome (`AuthMode::Log`). Neither the
    /// secret nor the signature is logged.
    fn log_signature_check(&self, request: &ApiRequest) {
        let outcome = self.check_signature(request);
        let access_key = request.credential_scope().map(|scope| scope.access_key).unwrap_or_default();
        match outcome {
            Ok(()) => tracing::info!(target: "wharf::auth", %access_key, "signature verified"),
            Err((code, why)) => {
                tracing::warn!(target: "wharf::auth", %access_key, code, why, "signature would be refused")
            }
        }
    }

    fn check_signature(&self, request: &ApiRequest) -> Result<(), (&'static str, String)> {
        let refuse = |err: crate::sigv4::SignatureError| {
            let why = match &err {
                crate::sigv4::SignatureError::Incomplete(why) => why.clone(),
                crate::sigv4::SignatureError::Missing => "the request is not signed".to_owned(),
                crate::sigv4::SignatureError::Mismatch => {
                    "the signature is not the one the secret access key gives".to_owned()
                }
            };
            (err.code(), why)
        };
        let authorization = crate::sigv4::parse(request).map_err(refuse)?;
        let credential = self
            .credentials
            .get(&authorization.access_key)
            .ok_or(("InvalidClientTokenId", "the access key is not one wharf knows".to_owned()))?;
        let amz_date = match &authorization.presigned {
            Some((date, _)) => date.as_str(),
            None => request
                .header("x-amz-date")
                .ok_or(("IncompleteSignature", "the request has no X-Amz-Date".to_owned()))?,
        };
        if !amz_date.starts_with(&authorization.date) {
            return Err(("SignatureDoesNotMatch", "the credential scope's date is not the request's".to_owned()));
        }
        let signed_at = crate::sigv4::amz_date_seconds(amz_date)
            .ok_or(("IncompleteSignature", format!("X-Amz-Date {amz_date} is not YYYYMMDD'T'HHMMSS'Z'")))?;
        let now = self.clock.now_millis() / 1000;
        // A signature is good for five minutes either side of its time (IAM user guide,
        // "Elements of an AWS API request signature"); a presigned URL until it expires.
        let (earliest, latest) = match &authorization.presigned {
            Some((_, expires)) => (signed_at.saturating_sub(MAX_SKEW_SECONDS), signed_at + expires),
            None => (signed_at.saturating_sub(MAX_SKEW_SECONDS), signed_at + MAX_SKEW_SECONDS),
        };
        if now < earliest || now > latest {
            return Err((
                "RequestExpired",
                format!("the request was signed at {amz_date}, too far from wharf's clock"),
            ));
        }
        crate::sigv4::verify(request, &authorization, &credential.secret, amz_date).map_err(refuse)
    }

    /// The account of requests that name none.
    pub fn default_account(&self) -> &AccountId {
        &self.default_account
    }

    /// The region of unsigned requests.
    pub fn default_region(&self) -> &Region {
        &self.default_region
    }

    /// The caller of `request`.
    pub fn authenticate(&self, request: &ApiRequest) -> Result<Caller, ErrorBody<'static>> {
        if self.mode == AuthMode::Log {
            self.log_signature_check(request);
        }
        let scope = request.credential_scope();
        if let Some(credential) = scope.as_ref().and_then(|scope| self.credentials.get(&scope.access_key)) {
            let region = scope
                .as_ref()
                .and_then(|scope| scope.region.parse::<Region>().ok())
                .unwrap_or_else(|| self.default_region.clone());
            return Ok(Caller::root(credential.account.clone(), region));
        }
        let region = scope
            .as_ref()
            .and_then(|scope| scope.region.parse::<Region>().ok())
            .unwrap_or_else(|| self.default_region.clone());
        let account = scope
            .as_ref()
            .filter(|scope| scope.access_key.len() == 12)
            .and_then(|scope| scope.access_key.parse::<AccountId>().ok())
            .unwrap_or_else(|| self.default_account.clone());
        Ok(Caller::root(account, region))
    }

    /// Whether `caller` may perform `operation` of `service`. With credentials unverified every
    /// caller is its account's root, which may do everything.
    pub fn authorize(&self, _caller: &Caller, _service: &str, _operation: &str) -> Result<(), ErrorBody<'static>> {
        Ok(())
    }
}

impl Caller {
    /// The root of `account`, in `region`.
    pub fn root(account: AccountId, region: Region) -> Self {
        let principal_arn: Arc<str> = Arc::from(format!("arn:aws:iam::{account}:root"));
        Caller { principal_id: Arc::from(account.to_string()), principal_arn, account, region }
    }
}

/// What a handler sees of its request besides the operation.
#[derive(Debug)]
pub struct Call<'a> {
    /// The request as it came.
    pub request: &'a ApiRequest,
    /// Its id, in `x-amzn-RequestId` and in the answer's metadata.
    pub request_id: &'a str,
    /// Who sent it.
    pub caller: &'a Caller,
}

/// One AWS service's protocol and handlers.
#[async_trait]
pub trait Api: Send + Sync {
    /// A decoded request.
    type Operation: Send;
    /// A handled request's result, before rendering.
    type Output: Send;
    /// The service's error.
    type Error: Send + Sync;

    /// The service's name in logs and in IAM actions (`sqs`, `lambda`, `logs`, `events`).
    fn service(&self) -> &'static str;

    /// Decodes the request.
    fn decode(&self, request: &ApiRequest) -> Result<Self::Operation, Self::Error>;

    /// The operation's name as AWS names it.
    fn operation_name(&self, operation: &Self::Operation) -> &'static str;

    /// Handles the operation.
    async fn handle(&self, call: &Call<'_>, operation: Self::Operation) -> Result<Self::Output, Self::Error>;

    /// Renders a result.
    fn render(&self, call: &Call<'_>, operation: &'static str, output: Self::Output) -> ApiResponse;

    /// The wire-independent form of an error.
    fn error_body<'e>(&self, error: &'e Self::Error) -> ErrorBody<'e>;

    /// Renders an error in the protocol of `request`.
    fn render_error(&self, request: &ApiRequest, request_id: &str, error: &ErrorBody<'_>) -> ApiResponse;
}

/// Answers one request through the pipeline.
pub async fn run<A: Api + ?Sized>(identity: &Identity, api: &A, request: ApiRequest) -> ApiResponse {
    let request_id = crate::request_id();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        service = api.service(),
        operation = tracing::field::Empty,
        principal = tracing::field::Empty,
    );
    answer(identity, api, &request, &request_id).instrument(span).await
}

async fn answer<A: Api + ?Sized>(identity: &Identity, api: &A, request: &ApiRequest, request_id: &str) -> ApiResponse {
    let span = tracing::Span::current();
    let refuse = |operation: &str, error: &ErrorBody<'_>| {
        error.log(api.service(), operation);
        api.render_error(request, request_id, error)
    };
    let operation = match api.decode(request) {
        Ok(operation) => operation,
        Err(err) => return refuse("Unknown", &api.error_body(&err)),
    };
    let name = api.operation_name(&operation);
    span.record("operation", name);
    let caller = match identity.authenticate(request) {
        Ok(caller) => caller,
        Err(error) => return refuse(name, &error),
    };
    span.record("principal", &*caller.principal_arn);
    if let Err(error) = identity.authorize(&caller, api.service(), name) {
        return refuse(name, &error);
    }
    let call = Call { request, request_id, caller: &caller };
    match api.handle(&call, operation).await {
        Ok(output) => api.render(&call, name, output),
        Err(err) => refuse(name, &api.error_body(&err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(authorization: Option<&str>) -> ApiRequest {
        let mut headers = http::HeaderMap::new();
        if let Some(value) = authorization {
            headers.insert("authorization", value.parse().expect("header"));
        }
        ApiRequest {
            method: http::Method::POST,
            uri: "/".parse().expect("uri"),
            headers,
            body: Default::default(),
            peer: None,
        }
    }

    #[test]
    fn the_access_key_and_scope_decide_account_and_region() {
        let identity =
            Identity::unverified("000000000000".parse().expect("account"), "us-east-1".parse().expect("region"));
        let unsigned = identity.authenticate(&request(None)).expect("caller");
        assert_eq!(
            unsigned,
            Caller::root("000000000000".parse().expect("account"), "us-east-1".parse().expect("region"))
        );
        assert_eq!(&*unsigned.principal_arn, "arn:aws:iam::000000000000:root");
        let numbered = identity
            .authenticate(&request(Some(
                "AWS4-HMAC-SHA256 Credential=111122223333/20240101/eu-west-1/sqs/aws4_request, SignedHeaders=host, Signature=x",
            )))
            .expect("caller");
        assert_eq!(
            (numbered.account.to_string(), numbered.region.to_string()),
            ("111122223333".into(), "eu-west-1".into())
        );
        assert_eq!(&*numbered.principal_id, "111122223333");
        let named = identity
            .authenticate(&request(Some(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/ap-south-1/sqs/aws4_request, SignedHeaders=host, Signature=x",
            )))
            .expect("caller");
        assert_eq!((named.account.to_string(), named.region.to_string()), ("000000000000".into(), "ap-south-1".into()));
    }
}
