//! API destination delivery: a rule's event as an HTTP request to the destination's endpoint,
//! authenticated as its connection says (Basic, API key, OAuth client credentials).
//!
//! # Wire
//! ```text
//! METHOD endpoint-with-*-replaced?connection-query&target-query HTTP/1.1
//! Content-Type: application/json; charset=utf-8
//! User-Agent: Amazon/EventBridge/ApiDestinations
//! Authorization: Basic base64(user:password) | Bearer TOKEN     (or API_KEY_NAME: value)
//! connection InvocationHttpParameters headers, target HttpParameters headers
//!
//! the event (or the target's input), with the connection's body parameters added to a JSON object
//! ```
//! The OAuth token comes from the connection's `AuthorizationEndpoint`: a request with the
//! client id and secret as Basic authorization, the `OAuthHttpParameters` as headers, query and
//! (form-encoded) body, answered with JSON holding `access_token` and `expires_in`. It is kept
//! until it expires or the endpoint answers 401.
//!
//! A 2xx answer delivers; 429, 5xx, a timeout (5 s, as AWS) or a refused connection may pass and
//! are retried within the target's retry policy; other answers are final (the dead-letter
//! queue). Requests to one destination are spaced to its `InvocationRateLimitPerSecond`: a
//! request over the limit waits for its slot rather than fail.
//!
//! `https://` endpoints are reached with rustls and the system's root certificates
//! (`SSL_CERT_FILE` or `SSL_CERT_DIR` name other ones); `http://` ones in the clear, for local
//! endpoints (AWS accepts only HTTPS).

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;
use wharf_events::Events;
use wharf_store::events::{ConnectionRow, HttpParametersRow, OAuthRow, TargetRow};
use wharf_types::HandOffError;

/// How long one request may take, as AWS allows API destinations.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The most bytes of an answer wharf reads (it only needs the status, and a token).
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// A token is renewed this long before it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(10);
/// The longest a token is kept.
const MAX_TOKEN_SECONDS: u64 = 86_400;
/// How far ahead a destination's rate limit may book requests; a request that would wait
/// longer fails as unavailable and is retried (durably, within its retry policy) instead of
/// waiting in memory.
const MAX_SLOT_WAIT: Duration = Duration::from_secs(10);
/// Destinations and connections remembered at most (slots, tokens); emptied when full.
const MAX_REMEMBERED: usize = 10_000;

/// The HTTP side of API destinations: rate-limit slots and OAuth tokens.
#[derive(Default)]
pub struct ApiDestinationClient {
    /// The next free slot of each destination (by ARN).
    slots: Mutex<HashMap<String, Instant>>,
    /// OAuth tokens by connection ARN, with when they expire.
    tokens: Mutex<HashMap<String, (String, Option<Instant>)>>,
}

/// One request to send.
struct Outgoing {
    method: http::Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Bytes,
}

/// What came back.
struct Answer {
    status: u16,
    body: Bytes,
}

fn encode_query(pairs: &[(String, String)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        serializer.append_pair(key, value);
    }
    serializer.finish()
}

fn with_query(url: &str, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{}", encode_query(pairs))
}

fn pairs(list: &[wharf_store::events::HttpParameter]) -> Vec<(String, String)> {
    list.iter().map(|parameter| (parameter.key.clone(), parameter.value.clone())).collect()
}

/// The TLS client settings: the system's root certificates (`SSL_CERT_FILE` and
/// `SSL_CERT_DIR` name others), read once.
fn tls_config() -> Result<std::sync::Arc<tokio_rustls::rustls::ClientConfig>, HandOffError> {
    static CONFIG: std::sync::OnceLock<Result<std::sync::Arc<tokio_rustls::rustls::ClientConfig>, String>> =
        std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = tokio_rustls::rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            for certificate in found.certs {
                let _ = roots.add(certificate);
            }
            if roots.is_empty() {
                return Err(format!("no root certificates found ({:?})", found.errors));
            }
            // ring's provider is marked deprecated because it has no post-quantum key exchange;
            // it is kept for its small build (aws-lc needs cmake), which is fine for webhooks.
            #[allow(deprecated)]
            let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
            let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|err| err.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Ok(std::sync::Arc::new(config))
        })
        .clone()
        .map_err(|reason| HandOffError::Unavailable(format!("TLS is not available: {reason}")))
}

/// One request and its answer over an established connection.
async fn exchange<Io>(io: Io, authority: String, path: String, outgoing: Outgoing) -> Result<Answer, HandOffError>
where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
        .await
        .map_err(|err| HandOffError::Unavailable(format!("HTTP handshake with {authority}: {err}")))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut request = http::Request::builder().method(outgoing.method).uri(path).header(http::header::HOST, authority);
    for (name, value) in &outgoing.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let request = request
        .body(Full::new(outgoing.body))
        .map_err(|err| HandOffError::Refused(format!("bad request header: {err}")))?;
    let response =
        sender.send_request(request).await.map_err(|err| HandOffError::Unavailable(format!("sending: {err}")))?;
    let status = response.status().as_u16();
    let limited = http_body_util::Limited::new(response.into_body(), MAX_ANSWER_BYTES);
    let body = limited.collect().await.map(|collected| collected.to_bytes()).unwrap_or_default();
    Ok(Answer { status, body })
}

/// Sends one request over a new connection (TCP_NODELAY; TLS for `https://`), within
/// [`REQUEST_TIMEOUT`].
async fn send(outgoing: Outgoing) -> Result<Answer, HandOffError> {
    let uri: http::Uri =
        outgoing.url.parse().map_err(|err| HandOffError::Refused(format!("bad endpoint {}: {err}", outgoing.url)))?;
    let secure = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(HandOffError::Refused(format!("{} is not an http or https URL", outgoing.url))),
    };
    let host = uri.host().ok_or_else(|| HandOffError::Refused(format!("no host in {}", outgoing.url)))?.to_owned();
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let path = uri.path_and_query().map_or("/", |path| path.as_str()).to_owned();
    let authority = match uri.port_u16() {
        Some(port) => format!("{host}:{port}"),
        None => host.clone(),
    };
    let url = outgoing.url.clone();
    let work = async move {
        let stream = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|err| HandOffError::Unavailable(format!("connecting to {host}:{port}: {err}")))?;
        stream.set_nodelay(true).map_err(|err| HandOffError::Unavailable(err.to_string()))?;
        if !secure {
            return exchange(stream, authority, path, outgoing).await;
        }
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
            .map_err(|err| HandOffError::Refused(format!("bad host name {host}: {err}")))?;
        let tls = tokio_rustls::TlsConnector::from(tls_config()?)
            .connect(name, stream)
            .await
            .map_err(|err| HandOffError::Unavailable(format!("TLS with {host}: {err}")))?;
        exchange(tls, authority, path, outgoing).await
    };
    tokio::time::timeout(REQUEST_TIMEOUT, work)
        .await
        .map_err(|_| HandOffError::Unavailable(format!("no answer from {url} within 5 s")))?
}

impl ApiDestinationClient {
    /// Waits for the destination's next slot under its rate limit; a slot more than
    /// [`MAX_SLOT_WAIT`] ahead is not booked: the request is to be retried later.
    async fn wait_for_slot(&self, arn: &str, per_second: u32) -> Result<(), HandOffError> {
        let interval = Duration::from_secs(1) / per_second.max(1);
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let now = Instant::now();
            let next = slots.get(arn).copied().filter(|next| *next > now).unwrap_or(now);
            if next > now + MAX_SLOT_WAIT {
                return Err(HandOffError::Unavailable(format!(
                    "{per_second} invocations per second reached (InvocationRateLimitPerSecond)"
                )));
            }
            if slots.len() >= MAX_REMEMBERED {
                slots.clear();
            }
            slots.insert(arn.to_owned(), next + interval);
            next
        };
        tokio::time::sleep_until(slot).await;
        Ok(())
    }

    /// The connection's OAuth token: the kept one, or a new one from its endpoint.
    async fn token(&self, connection_arn: &str, oauth: &OAuthRow) -> Result<String, HandOffError> {
        {
            let tokens = self.tokens.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some((token, expires)) = tokens.get(connection_arn) {
                if expires.is_none_or(|expires| Instant::now() + TOKEN_MARGIN < expires) {
                    return Ok(token.clone());
                }
            }
        }
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", oauth.client_id, oauth.client_secret));
        let mut headers = vec![("authorization".to_owned(), format!("Basic {basic}"))];
        headers.extend(pairs(&oauth.parameters.headers));
        let body_pairs = pairs(&oauth.parameters.body);
        let (url, body) = if oauth.method == "GET" {
            let mut query = pairs(&oauth.parameters.query);
            query.extend(body_pairs);
            (with_query(&oauth.endpoint, &query), Bytes::new())
        } else {
            headers.push(("content-type".to_owned(), "application/x-www-form-urlencoded".to_owned()));
            (with_query(&oauth.endpoint, &pairs(&oauth.parameters.query)), Bytes::from(encode_query(&body_pairs)))
        };
        let method = http::Method::from_bytes(oauth.method.as_bytes()).unwrap_or(http::Method::POST);
        let answer = send(Outgoing { method, url, headers, body }).await?;
        // The answer's body is not repeated: the connection's state reason is readable by
        // whoever may describe it, and the endpoint may be anything the creator named.
        if !(200..300).contains(&answer.status) {
            return Err(HandOffError::Refused(format!("the authorization endpoint answered {}", answer.status)));
        }
        let parsed: serde_json::Value = serde_json::from_slice(&answer.body)
            .map_err(|_| HandOffError::Refused("the authorization endpoint's answer is not JSON".into()))?;
        let token = parsed
            .get("access_token")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| HandOffError::Refused("the authorization endpoint's answer has no access_token".into()))?
            .to_owned();
        // Kept a day at most, whatever the endpoint says (and no overflow for a huge number).
        let expires = parsed
            .get("expires_in")
            .and_then(serde_json::Value::as_u64)
            .map(|seconds| Instant::now() + Duration::from_secs(seconds.min(MAX_TOKEN_SECONDS)));
        let mut tokens = self.tokens.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if tokens.len() >= MAX_REMEMBERED {
            tokens.clear();
        }
        tokens.insert(connection_arn.to_owned(), (token.clone(), expires));
        drop(tokens);
        Ok(token)
    }

    fn forget_token(&self, connection_arn: &str) {
        self.tokens.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(connection_arn);
    }

    /// Fetches an OAuth connection's token and records whether that worked (for the
    /// connection as it was when the fetch began: a later change makes the outcome moot).
    pub async fn authorize(&self, events: &Events, connection_arn: &str) {
        let Some(connection) = events.connection_by_arn(connection_arn) else { return };
        let Some(oauth) = &connection.oauth else { return };
        self.forget_token(connection_arn);
        let outcome = self.token(connection_arn, oauth).await.map(|_| ()).map_err(|err| err.to_string());
        events.connection_authorized(connection_arn, connection.modified_ms, outcome).await;
    }

    /// The authorization header (name, value) of `connection`.
    async fn authorization(&self, arn: &str, connection: &ConnectionRow) -> Result<(String, String), HandOffError> {
        if let Some((username, password)) = &connection.basic {
            let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
            return Ok(("authorization".into(), format!("Basic {encoded}")));
        }
        if let Some((name, value)) = &connection.api_key {
            return Ok((name.clone(), value.clone()));
        }
        if let Some(oauth) = &connection.oauth {
            return Ok(("authorization".into(), format!("Bearer {}", self.token(arn, oauth).await?)));
        }
        Err(HandOffError::Refused(format!(
            "the connection {} is deauthorized: {}",
            connection.name,
            connection.state_reason.as_deref().unwrap_or("it has no credentials")
        )))
    }

    /// Delivers `payload` to the API destination `target` names.
    pub async fn deliver(&self, events: &Events, target: &TargetRow, payload: String) -> Result<(), HandOffError> {
        let (destination, connection) = events
            .api_destination_by_arn(&target.arn)
            .ok_or_else(|| HandOffError::NotFound(format!("The API destination {} does not exist.", target.arn)))?;
        let connection = connection.ok_or_else(|| {
            HandOffError::NotFound(format!("The connection {} does not exist.", destination.connection_arn))
        })?;
        if connection.state == "DEAUTHORIZED" {
            return Err(HandOffError::Refused(format!(
                "the connection {} is deauthorized: {}",
                connection.name,
                connection.state_reason.as_deref().unwrap_or("")
            )));
        }
        let http = target.http_parameters.clone().unwrap_or_default();
        let mut values = http.path_values.iter();
        let mut url = String::with_capacity(destination.endpoint.len());
        for character in destination.endpoint.chars() {
            match character {
                '*' => url.push_str(
                    &percent_encoding::utf8_percent_encode(
                        values.next().map_or("", String::as_str),
                        percent_encoding::NON_ALPHANUMERIC,
                    )
                    .to_string(),
                ),
                other => url.push(other),
            }
        }
        let mut query = pairs(&connection.invocation.query);
        query.extend(http.query.iter().map(|(key, value)| (key.clone(), value.clone())));
        let url = with_query(&url, &query);
        let mut headers = vec![
            ("content-type".to_owned(), "application/json; charset=utf-8".to_owned()),
            ("user-agent".to_owned(), "Amazon/EventBridge/ApiDestinations".to_owned()),
        ];
        headers.extend(pairs(&connection.invocation.headers));
        headers.extend(http.headers.iter().map(|(key, value)| (key.clone(), value.clone())));
        let connection_arn = destination.connection_arn.clone();
        headers.push(self.authorization(&connection_arn, &connection).await?);
        let body = with_body_parameters(payload, &connection.invocation);
        let method = http::Method::from_bytes(destination.method.as_bytes()).unwrap_or(http::Method::POST);
        self.wait_for_slot(&target.arn, destination.rate_limit).await?;
        let answer = send(Outgoing { method, url: url.clone(), headers, body: Bytes::from(body) }).await?;
        match answer.status {
            200..=299 => Ok(()),
            401 | 407 if connection.oauth.is_some() => {
                self.forget_token(&connection_arn);
                Err(HandOffError::Unavailable(format!("{url} answered {}: the token is renewed", answer.status)))
            }
            429 | 500..=599 => Err(HandOffError::Unavailable(format!("{url} answered {}", answer.status))),
            status => Err(HandOffError::Refused(format!("{url} answered {status}"))),
        }
    }
}

/// The connection's body parameters added to a JSON object payload (other payloads as they
/// are).
fn with_body_parameters(payload: String, invocation: &HttpParametersRow) -> String {
    if invocation.body.is_empty() {
        return payload;
    }
    match serde_json::from_str::<serde_json::Value>(&payload) {
        Ok(serde_json::Value::Object(mut object)) => {
            for parameter in &invocation.body {
                object.insert(parameter.key.clone(), serde_json::Value::from(parameter.value.clone()));
            }
            serde_json::Value::Object(object).to_string()
        }
        _ => payload,
    }
}
