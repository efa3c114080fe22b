//! The one request pipeline every AWS API of wharf plugs into:
//! `decode → authenticate → authorize → handle → render`.
//!
//! A service implements [`Api`]: how its protocol decodes a request into an operation, how it
//! handles one for a [`Caller`], and how its protocol renders an output or an error. [`run`]
//! does the rest once for all: the request id, one tracing span per request (request id,
//! service, operation, principal), who the caller is ([`Identity`]), whether they may
//! ([`Identity::authorize`]), and one log line per refused or failed request.
//!
//! Authentication follows `[auth] mode`:
//! - `off`: signatures are not checked. A key wharf knows (a configured root key, an IAM
//!   user's key, an STS session) still selects its principal; a 12-digit access key selects
//!   that account's root, as other emulators do; any other key, or none, the default account's
//!   root. Every request is allowed.
//! - `log`: each request's SigV4 signature is verified and each decision computed and logged
//!   (`wharf::auth`), nothing refused: for trying credentials and policies out.
//! - `enforce`: a request whose signature does not verify is refused with AWS's code in the
//!   service's protocol, and each operation is authorized by the policy engine of `wharf_iam`
//!   (an account's root may do everything in its account).
//!
//! The SigV4 credential scope gives the region (the default region when unsigned). Neither
//! secrets nor signatures are ever logged.

use crate::request::ApiRequest;
use crate::response::{ApiResponse, ErrorBody};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;
use tracing::Instrument;
use wharf_iam::{CredentialError, Iam, Principal};
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
    /// The principal, for authorization.
    pub principal: Principal,
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
    /// Checked, and requests that fail authentication or authorization refused.
    Enforce,
}

/// Why a request's credentials are refused, with AWS's codes
/// (<https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html>).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    /// No signature at all.
    Missing,
    /// A malformed `Authorization` header, credential scope or `X-Amz-Date`.
    Incomplete(String),
    /// An access key wharf does not know, or a session token that is not valid for it.
    UnknownKey,
    /// A session token past its expiration.
    ExpiredToken,
    /// The signature is not the one the key's secret gives.
    Mismatch,
    /// The signing time is too far from wharf's clock, or a presigned URL has expired.
    Expired(String),
}

/// A refusal of the pipeline itself (authentication or authorization), owning its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status.
    pub status: http::StatusCode,
    /// The JSON protocols' `__type`.
    pub json_type: &'static str,
    /// The query protocol's code.
    pub query_code: &'static str,
    /// The message.
    pub message: String,
}

impl Refusal {
    /// The wire-independent form, rendered by each service in its protocol.
    pub fn body(&self) -> ErrorBody<'_> {
        ErrorBody {
            status: self.status,
            json_type: self.json_type,
            query_code: Some(self.query_code),
            fault: crate::Fault::Sender,
            message: &self.message,
            reason: None,
        }
    }

    /// AccessDenied with AWS's message.
    pub fn access_denied(message: String) -> Self {
        Refusal {
            status: http::StatusCode::FORBIDDEN,
            json_type: "AccessDeniedException",
            query_code: "AccessDenied",
            message,
        }
    }
}

impl AuthFailure {
    /// The refusal AWS answers, in both protocol families' codes.
    pub fn refusal(&self) -> Refusal {
        use http::StatusCode;
        let (status, json_type, query_code, message) = match self {
            AuthFailure::Missing => (
                StatusCode::FORBIDDEN,
                "MissingAuthenticationTokenException",
                "MissingAuthenticationToken",
                "Request is missing Authentication Token".to_owned(),
            ),
            AuthFailure::Incomplete(why) => {
                (StatusCode::BAD_REQUEST, "IncompleteSignatureException", "IncompleteSignature", why.clone())
            }
            AuthFailure::UnknownKey => (
                StatusCode::FORBIDDEN,
                "UnrecognizedClientException",
                "InvalidClientTokenId",
                "The security token included in the request is invalid.".to_owned(),
            ),
            AuthFailure::ExpiredToken => (
                StatusCode::FORBIDDEN,
                "ExpiredTokenException",
                "ExpiredToken",
                "The security token included in the request is expired".to_owned(),
            ),
            AuthFailure::Mismatch => (
                StatusCode::FORBIDDEN,
                "InvalidSignatureException",
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".to_owned(),
            ),
            AuthFailure::Expired(message) => {
                (StatusCode::BAD_REQUEST, "InvalidSignatureException", "RequestExpired", message.clone())
            }
        };
        Refusal { status, json_type, query_code, message }
    }
}

/// What an operation acts on, for authorization.
#[derive(Clone, Debug, Default)]
pub struct Resource {
    /// The resource's ARN; `None` for actions without resource-level permissions (`*`).
    pub arn: Option<String>,
    /// The account owning the resource, when it is not the caller's.
    pub account: Option<String>,
    /// The resource's own policy (queue policy, function policy…).
    pub policy: Option<Arc<wharf_iam::Policy>>,
    /// Request-specific condition keys (lowercased).
    pub context: BTreeMap<String, Vec<String>>,
}

impl Resource {
    /// An ARN owned by `account`.
    pub fn arn(arn: String, account: &AccountId) -> Self {
        Resource { arn: Some(arn), account: Some(account.to_string()), ..Resource::default() }
    }
}

/// Decides who a request comes from and what they may do.
#[derive(Clone)]
pub struct Identity {
    default_account: AccountId,
    default_region: Region,
    mode: AuthMode,
    /// Known credentials (root keys, users' keys, sessions) and every policy.
    iam: Arc<Iam>,
    /// The real time, for the signing time's skew and presigned URLs' expiry (a test clock's
    /// offset does not apply: clients sign with their own clocks).
    clock: Arc<dyn Clock>,
    /// Signing keys by access key and scope (`KEY/DATE/REGION/SERVICE`), with a digest of the
    /// secret they came from: four HMACs saved per request. Cleared when it grows large.
    signing_keys: Arc<std::sync::Mutex<SigningKeys>>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the signing keys.
        f.debug_struct("Identity")
            .field("default_account", &self.default_account)
            .field("default_region", &self.default_region)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Signing keys by scope, each with the digest of the secret it came from.
type SigningKeys = std::collections::HashMap<String, ([u8; 32], Vec<u8>)>;

/// Signing keys kept at most (one per access key, day, region and service in use).
const SIGNING_KEYS_KEPT: usize = 4096;

impl Identity {
    /// Credentials are not verified: the default account and region, unless the request says
    /// otherwise (see the module documentation).
    pub fn unverified(default_account: AccountId, default_region: Region) -> Self {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let iam = Arc::new(Iam::in_memory(Arc::clone(&clock), rand_key(), Default::default()));
        Identity { default_account, default_region, mode: AuthMode::Off, iam, clock, signing_keys: Arc::default() }
    }

    /// Signatures and permissions treated as `mode` says, against what `iam` knows.
    pub fn new(
        default_account: AccountId,
        default_region: Region,
        mode: AuthMode,
        iam: Arc<Iam>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Identity { default_account, default_region, mode, iam, clock, signing_keys: Arc::default() }
    }

    /// The IAM engine behind this identity.
    pub fn iam(&self) -> &Arc<Iam> {
        &self.iam
    }

    /// The mode.
    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// Verifies the request's signature: the principal, or why not.
    fn verify(&self, request: &ApiRequest) -> Result<Principal, AuthFailure> {
        use crate::sigv4::SignatureError;
        let authorization = crate::sigv4::parse(request).map_err(|err| match err {
            SignatureError::Missing => AuthFailure::Missing,
            SignatureError::Incomplete(why) => AuthFailure::Incomplete(why),
            SignatureError::Mismatch => AuthFailure::Mismatch,
        })?;
        let token = request.header("x-amz-security-token").map(str::to_owned).or_else(|| {
            authorization.presigned.as_ref().and_then(|_| {
                let query = request.uri.query()?;
                crate::request::form_pairs(query.as_bytes())?
                    .into_iter()
                    .find(|(name, _)| name == "X-Amz-Security-Token")
                    .map(|(_, value)| value)
            })
        });
        let (secret, principal) =
            self.iam.resolve(&authorization.access_key, token.as_deref()).map_err(|err| match err {
                CredentialError::UnknownKey | CredentialError::InvalidToken => AuthFailure::UnknownKey,
                CredentialError::ExpiredToken => AuthFailure::ExpiredToken,
            })?;
        let amz_date = match &authorization.presigned {
            Some((date, _)) => date.clone(),
            None => request
                .header("x-amz-date")
                .ok_or_else(|| {
                    AuthFailure::Incomplete(
                        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                            .to_owned(),
                    )
                })?
                .to_owned(),
        };
        if !amz_date.starts_with(&authorization.date) {
            return Err(AuthFailure::Mismatch);
        }
        let signed_at = crate::sigv4::amz_date_seconds(&amz_date).ok_or_else(|| {
            AuthFailure::Incomplete(format!(
                "Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
            ))
        })?;
        let now = self.clock.now_millis() / 1000;
        // A signature is good for five minutes either side of its time (IAM user guide,
        // "Elements of an AWS API request signature"); a presigned URL until it expires.
        match &authorization.presigned {
            Some((_, expires)) => {
                if now + MAX_SKEW_SECONDS < signed_at || now > signed_at + expires {
                    return Err(AuthFailure::Expired("Request has expired".to_owned()));
                }
            }
            None => {
                if now + MAX_SKEW_SECONDS < signed_at || now > signed_at + MAX_SKEW_SECONDS {
                    let now_text = amz_date_of(now);
                    let message = if now > signed_at {
                        format!(
                            "Signature expired: {amz_date} is now earlier than {} ({now_text} - 5 min.)",
                            amz_date_of(now - MAX_SKEW_SECONDS)
                        )
                    } else {
                        format!(
                            "Signature not yet current: {amz_date} is still later than {} ({now_text} + 5 min.)",
                            amz_date_of(now + MAX_SKEW_SECONDS)
                        )
                    };
                    return Err(AuthFailure::Expired(message));
                }
            }
        }
        let key = self.signing_key(&authorization, &secret).ok_or(AuthFailure::Mismatch)?;
        crate::sigv4::verify_with_key(request, &authorization, &key, &amz_date).map_err(|_| AuthFailure::Mismatch)?;
        Ok(principal)
    }

    /// The signing key of `secret` for the request's scope, cached.
    fn signing_key(&self, authorization: &crate::sigv4::Authorization, secret: &str) -> Option<Vec<u8>> {
        use sha2::Digest as _;
        let scope = format!(
            "{}/{}/{}/{}",
            authorization.access_key, authorization.date, authorization.region, authorization.service
        );
        let digest: [u8; 32] = sha2::Sha256::digest(secret.as_bytes()).into();
        let mut cache = self.signing_keys.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((cached_digest, key)) = cache.get(&scope) {
            if *cached_digest == digest {
                return Some(key.clone());
            }
        }
        let key = crate::sigv4::signing_key(secret, authorization)?;
        if cache.len() >= SIGNING_KEYS_KEPT {
            cache.clear();
        }
        cache.insert(scope, (digest, key.clone()));
        Some(key)
    }

    /// The account of requests that name none.
    pub fn default_account(&self) -> &AccountId {
        &self.default_account
    }

    /// The region of unsigned requests.
    pub fn default_region(&self) -> &Region {
        &self.default_region
    }

    /// The caller of `request` without verifying anything (auth off, and log mode's answer).
    fn unverified_caller(
        &self,
        request: &ApiRequest,
        scope: Option<&crate::CredentialScope>,
        region: Region,
    ) -> Caller {
        if let Some(scope) = scope {
            if let Ok((_, principal)) = self.iam.resolve(&scope.access_key, request.header("x-amz-security-token")) {
                return Caller::of(principal, region);
            }
        }
        let account = scope
            .filter(|scope| scope.access_key.len() == 12)
            .and_then(|scope| scope.access_key.parse::<AccountId>().ok())
            .unwrap_or_else(|| self.default_account.clone());
        Caller::root(account, region)
    }

    /// The caller of `request`, or the refusal of its credentials (enforce mode only).
    pub fn authenticate(&self, request: &ApiRequest) -> Result<Caller, Refusal> {
        let scope = request.credential_scope();
        let region = scope
            .as_ref()
            .and_then(|scope| scope.region.parse::<Region>().ok())
            .unwrap_or_else(|| self.default_region.clone());
        let access_key = scope.as_ref().map(|scope| scope.access_key.as_str()).unwrap_or_default();
        match self.mode {
            AuthMode::Off => Ok(self.unverified_caller(request, scope.as_ref(), region)),
            AuthMode::Log => match self.verify(request) {
                Ok(principal) => {
                    tracing::info!(target: "wharf::auth", %access_key, "signature verified");
                    Ok(Caller::of(principal, region))
                }
                Err(failure) => {
                    let refusal = failure.refusal();
                    tracing::warn!(target: "wharf::auth", %access_key, code = refusal.query_code, why = %refusal.message, "signature would be refused");
                    Ok(self.unverified_caller(request, scope.as_ref(), region))
                }
            },
            AuthMode::Enforce => match self.verify(request) {
                Ok(principal) => Ok(Caller::of(principal, region)),
                Err(failure) => {
                    let refusal = failure.refusal();
                    tracing::info!(target: "wharf::auth", %access_key, code = refusal.query_code, why = %refusal.message, "signature refused");
                    Err(refusal)
                }
            },
        }
    }

    /// Whether `caller` may perform `operation` of `service` on `resource`: always with auth
    /// off; logged in log mode; decided by the policy engine in enforce mode.
    pub fn authorize(
        &self,
        caller: &Caller,
        service: &str,
        operation: &str,
        resource: &Resource,
    ) -> Result<(), Refusal> {
        if self.mode == AuthMode::Off {
            return Ok(());
        }
        // An account's root may do everything in its account that no resource policy denies:
        // decided without building a request context.
        let own_account = resource.account.as_deref().is_none_or(|account| account == caller.account.as_str());
        if caller.principal.is_root() && own_account && resource.policy.is_none() {
            return Ok(());
        }
        let fallback;
        let actions: Vec<&str> = match wharf_iam::actions::of(service, operation) {
            Some(row) => {
                row.actions.iter().copied().filter(|action| action.starts_with(&format!("{service}:"))).collect()
            }
            None => {
                fallback = format!("{service}:{operation}");
                vec![fallback.as_str()]
            }
        };
        let arn = resource.arn.as_deref().unwrap_or("*");
        for action in actions {
            let access = wharf_iam::Access {
                action,
                resource: arn,
                resource_account: resource.account.as_deref(),
                resource_policy: resource.policy.as_deref(),
                context: self.request_context(caller, resource),
            };
            if let wharf_iam::Decision::Deny(reason) = self.iam.authorize(&caller.principal, &access) {
                let message = wharf_iam::authorize::denial_message(&caller.principal, &access, reason);
                if self.mode == AuthMode::Log {
                    tracing::warn!(target: "wharf::auth", principal = %caller.principal_arn, action, resource = arn, why = %message, "request would be denied");
                    return Ok(());
                }
                tracing::info!(target: "wharf::auth", principal = %caller.principal_arn, action, resource = arn, "access denied");
                return Err(Refusal::access_denied(message));
            }
        }
        if self.mode == AuthMode::Log {
            tracing::debug!(target: "wharf::auth", principal = %caller.principal_arn, operation, resource = arn, "request allowed");
        }
        Ok(())
    }

    fn request_context(&self, caller: &Caller, resource: &Resource) -> BTreeMap<String, Vec<String>> {
        let mut context = resource.context.clone();
        context.insert("aws:requestedregion".to_owned(), vec![caller.region.to_string()]);
        if let Some(account) = &resource.account {
            context.insert("aws:resourceaccount".to_owned(), vec![account.clone()]);
        }
        context
    }
}

/// `YYYYMMDD'T'HHMMSS'Z'` of epoch seconds.
fn amz_date_of(seconds: u64) -> String {
    let time = wharf_types::UtcDateTime::from_epoch_millis(seconds * 1000);
    format!("{:04}{:02}{:02}T{:02}{:02}{:02}Z", time.year, time.month, time.day, time.hour, time.minute, time.second)
}

/// A random key, for an identity whose sessions need not outlive the process.
fn rand_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    for (index, chunk) in key.chunks_mut(16).enumerate() {
        let random = uuid::Uuid::new_v4();
        chunk.copy_from_slice(&random.as_bytes()[..16]);
        chunk[0] ^= index as u8;
    }
    key
}

impl Caller {
    /// The root of `account`, in `region`.
    pub fn root(account: AccountId, region: Region) -> Self {
        Caller::of(Principal::Root { account: account.to_string() }, region)
    }

    /// The caller `principal`, in `region`.
    pub fn of(principal: Principal, region: Region) -> Self {
        let account = principal.account().parse::<AccountId>().unwrap_or_else(|_| {
            // Accounts in principals come from wharf's own records and tokens, always valid.
            "000000000000".parse().unwrap_or_else(|_| unreachable!("a valid account id"))
        });
        Caller {
            principal_id: Arc::from(principal.id()),
            principal_arn: Arc::from(principal.arn()),
            principal,
            account,
            region,
        }
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

    /// What `operation` acts on, for authorization: its resource ARN (as the Service
    /// Authorization Reference names it), owner and resource policy. Called only when auth is
    /// not off; the default is an action without resource-level permissions.
    async fn resource(&self, _request: &ApiRequest, _caller: &Caller, _operation: &Self::Operation) -> Resource {
        Resource::default()
    }
}

/// Answers one request through the pipeline.
pub async fn run<A: Api + ?Sized>(identity: &Identity, api: &A, request: ApiRequest) -> ApiResponse {
    let request_id = crate::request_id();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        service = %api.service(),
        operation = tracing::field::Empty,
        principal = tracing::field::Empty,
    );
    let started = std::time::Instant::now();
    let (response, operation) = answer(identity, api, &request, &request_id).instrument(span.clone()).await;
    crate::telemetry::record_request(
        api.service(),
        operation,
        response.status.as_u16(),
        started.elapsed().as_secs_f64(),
    );
    // One line per request (target `wharf::request`, turned down with `--log wharf::request=warn`),
    // inside the span, which carries the request id, service, operation and caller.
    span.in_scope(|| {
        tracing::info!(
            target: "wharf::request",
            status = response.status.as_u16(),
            millis = format_args!("{:.2}", started.elapsed().as_secs_f64() * 1000.0),
            "answered"
        )
    });
    response
}

/// Answers one request; with the operation's name (`Unknown` when it did not decode).
async fn answer<A: Api + ?Sized>(
    identity: &Identity,
    api: &A,
    request: &ApiRequest,
    request_id: &str,
) -> (ApiResponse, &'static str) {
    let span = tracing::Span::current();
    let refuse = |operation: &str, error: &ErrorBody<'_>| {
        error.log(api.service(), operation);
        api.render_error(request, request_id, error)
    };
    let operation = match api.decode(request) {
        Ok(operation) => operation,
        Err(err) => return (refuse("Unknown", &api.error_body(&err)), "Unknown"),
    };
    let name = api.operation_name(&operation);
    span.record("operation", tracing::field::display(name));
    let caller = match identity.authenticate(request) {
        Ok(caller) => caller,
        Err(refusal) => return (refuse(name, &refusal.body()), name),
    };
    span.record("principal", tracing::field::display(&*caller.principal_arn));
    if identity.mode() != AuthMode::Off {
        let mut resource = api.resource(request, &caller, &operation).await;
        if let Some(peer) = request.peer {
            resource.context.insert("aws:sourceip".to_owned(), vec![peer.ip().to_string()]);
        }
        if let Err(refusal) = identity.authorize(&caller, api.service(), name, &resource) {
            return (refuse(name, &refusal.body()), name);
        }
    }
    let call = Call { request, request_id, caller: &caller };
    let response = match api.handle(&call, operation).await {
        Ok(output) => api.render(&call, name, output),
        Err(err) => refuse(name, &api.error_body(&err)),
    };
    (response, name)
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
