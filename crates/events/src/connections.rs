//! Connections and API destinations: HTTP endpoints rules deliver to, and how they
//! authenticate (Basic, API key, OAuth client credentials).
//!
//! This module keeps the records and their rules of validity; the HTTP delivery itself (and
//! the OAuth token requests) is the wiring's, through [`crate::TargetDelivery`]. A connection
//! with Basic or API-key authorization is `AUTHORIZED` at once; an OAuth one is `AUTHORIZING`
//! until the wiring has fetched a token ([`Events::connection_authorized`]), then `AUTHORIZED`,
//! or `DEAUTHORIZED` with the reason. DeauthorizeConnection forgets the credentials: the
//! connection's destinations fail until UpdateConnection gives new ones.
//!
//! Credentials are kept in the events store (on AWS they live in a Secrets Manager secret,
//! whose ARN DescribeConnection names; wharf names one it does not create).

use std::collections::BTreeMap;
use wharf_store::events::{
    api_destination_arn, connection_arn, ApiDestinationRow, ConnectionRow, HttpParametersRow, OAuthRow,
};

use crate::error::EventsError;
use crate::rules::{Caller, Events};

/// Most connections per account and region.
pub const MAX_CONNECTIONS: usize = 100;
/// Most API destinations per account and region.
pub const MAX_API_DESTINATIONS: usize = 3000;
/// The invocation rate limit when none is given, per second.
pub const DEFAULT_RATE_LIMIT: u32 = 300;
/// The methods an API destination may use.
pub const METHODS: &[&str] = &["POST", "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"];

/// The authorization a connection is created or updated with.
#[derive(Clone, Debug, Default)]
pub struct ConnectionAuth {
    /// `BasicAuthParameters`: username, password.
    pub basic: Option<(Option<String>, Option<String>)>,
    /// `ApiKeyAuthParameters`: name, value.
    pub api_key: Option<(Option<String>, Option<String>)>,
    /// `OAuthParameters`: client id, client secret, endpoint, method, parameters.
    pub oauth: Option<OAuthChange>,
    /// `InvocationHttpParameters`.
    pub invocation: Option<HttpParametersRow>,
}

/// OAuth settings as given (UpdateConnection may give only some).
#[derive(Clone, Debug, Default)]
pub struct OAuthChange {
    /// `ClientParameters.ClientID`.
    pub client_id: Option<String>,
    /// `ClientParameters.ClientSecret`.
    pub client_secret: Option<String>,
    /// `AuthorizationEndpoint`.
    pub endpoint: Option<String>,
    /// `HttpMethod`.
    pub method: Option<String>,
    /// `OAuthHttpParameters`.
    pub parameters: Option<HttpParametersRow>,
}

/// CreateApiDestination and UpdateApiDestination input.
#[derive(Clone, Debug, Default)]
pub struct DestinationChange {
    /// `Description`.
    pub description: Option<String>,
    /// `ConnectionArn`.
    pub connection_arn: Option<String>,
    /// `InvocationEndpoint`.
    pub endpoint: Option<String>,
    /// `HttpMethod`.
    pub method: Option<String>,
    /// `InvocationRateLimitPerSecond`.
    pub rate_limit: Option<i64>,
}

fn invalid(message: impl Into<String>) -> EventsError {
    EventsError::Validation(message.into())
}

fn check_name(member: &str, name: &str) -> Result<(), EventsError> {
    if name.is_empty()
        || name.len() > 64
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(invalid(format!(
            "1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+"
        )));
    }
    Ok(())
}

/// An endpoint must be an absolute http(s) URL.
fn check_endpoint(member: &str, endpoint: &str) -> Result<(), EventsError> {
    let valid = (endpoint.starts_with("https://") || endpoint.starts_with("http://"))
        && endpoint.len() <= 2048
        && !endpoint.contains(char::is_whitespace);
    if !valid {
        return Err(invalid(format!("Parameter {member} is not valid. Reason: it must be an http or https URL.")));
    }
    Ok(())
}

fn oauth_of(change: OAuthChange, existing: Option<OAuthRow>) -> Result<OAuthRow, EventsError> {
    let merged = OAuthRow {
        client_id: change.client_id.or_else(|| existing.as_ref().map(|o| o.client_id.clone())).unwrap_or_default(),
        client_secret: change
            .client_secret
            .or_else(|| existing.as_ref().map(|o| o.client_secret.clone()))
            .unwrap_or_default(),
        endpoint: change.endpoint.or_else(|| existing.as_ref().map(|o| o.endpoint.clone())).unwrap_or_default(),
        method: change.method.or_else(|| existing.as_ref().map(|o| o.method.clone())).unwrap_or_default(),
        parameters: change.parameters.or_else(|| existing.as_ref().map(|o| o.parameters.clone())).unwrap_or_default(),
    };
    if merged.client_id.is_empty() || merged.client_secret.is_empty() {
        return Err(invalid("OAuthParameters.ClientParameters needs a ClientID and a ClientSecret."));
    }
    check_endpoint("AuthorizationEndpoint", &merged.endpoint)?;
    if !matches!(merged.method.as_str(), "GET" | "POST" | "PUT") {
        return Err(invalid(format!(
            "1 validation error detected: Value '{}' at 'authParameters.oAuthParameters.httpMethod' failed to satisfy constraint: Member must satisfy enum value set: [GET, POST, PUT]",
            merged.method
        )));
    }
    Ok(merged)
}

/// A credential pair (user and password, key name and value): each part as given, else as it
/// was; both must end up non-empty, or `missing` is the error.
fn merged_pair(
    given: Option<(Option<String>, Option<String>)>,
    existing: Option<(String, String)>,
    missing: &str,
) -> Result<(String, String), EventsError> {
    let (first, second) = given.unwrap_or_default();
    let (old_first, old_second) = existing.map_or((None, None), |(a, b)| (Some(a), Some(b)));
    match (first.or(old_first), second.or(old_second)) {
        (Some(first), Some(second)) if !first.is_empty() && !second.is_empty() => Ok((first, second)),
        _ => Err(invalid(missing)),
    }
}

/// Applies `auth` of `kind` to `row`: the credentials of that kind are required on create and
/// kept when an update leaves them out.
fn apply_auth(row: &mut ConnectionRow, kind: &str, auth: ConnectionAuth, creating: bool) -> Result<(), EventsError> {
    let kind_changed = row.authorization_type != kind;
    match kind {
        "BASIC" => {
            let existing = if kind_changed { None } else { row.basic.take() };
            row.basic = Some(merged_pair(auth.basic, existing, "BasicAuthParameters needs a Username and a Password.")?);
            row.api_key = None;
            row.oauth = None;
        }
        "API_KEY" => {
            let existing = if kind_changed { None } else { row.api_key.take() };
            row.api_key =
                Some(merged_pair(auth.api_key, existing, "ApiKeyAuthParameters needs an ApiKeyName and an ApiKeyValue.")?);
            row.basic = None;
            row.oauth = None;
        }
        "OAUTH_CLIENT_CREDENTIALS" => {
            let existing = if kind_changed { None } else { row.oauth.clone() };
            let change = auth.oauth.unwrap_or_default();
            row.oauth = Some(oauth_of(change, existing)?);
            row.basic = None;
            row.api_key = None;
        }
        other => {
            return Err(invalid(format!(
                "1 validation error detected: Value '{other}' at 'authorizationType' failed to satisfy constraint: Member must satisfy enum value set: [BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY]"
            )))
        }
    }
    if let Some(invocation) = auth.invocation {
        row.invocation = invocation;
    } else if creating {
        row.invocation = HttpParametersRow::default();
    }
    row.authorization_type = kind.to_owned();
    Ok(())
}

impl Events {
    fn connection_by_name(&self, caller: &Caller, name: &str) -> Result<ConnectionRow, EventsError> {
        self.lock()
            .connections
            .values()
            .find(|row| row.account == caller.account && row.region == caller.region && row.name == name)
            .cloned()
            .ok_or_else(|| {
                EventsError::NotFound(format!(
                    "Failed to describe the connection(s). Connection '{name}' does not exist."
                ))
            })
    }

    /// The connection `arn` names.
    pub fn connection_by_arn(&self, arn: &str) -> Option<ConnectionRow> {
        self.lock().connections.get(arn).cloned()
    }

    async fn save_connection(&self, row: ConnectionRow) -> Result<ConnectionRow, EventsError> {
        self.store.put_connection(&row).await?;
        self.lock().connections.insert(connection_arn(&row), row.clone());
        Ok(row)
    }

    /// CreateConnection.
    pub async fn create_connection(
        &self,
        caller: &Caller,
        name: &str,
        description: Option<String>,
        kind: &str,
        auth: ConnectionAuth,
    ) -> Result<ConnectionRow, EventsError> {
        check_name("name", name)?;
        let _write = self.write_lock.lock().await;
        {
            let state = self.lock();
            let mine =
                state.connections.values().filter(|row| row.account == caller.account && row.region == caller.region);
            let mut count = 0;
            for row in mine {
                if row.name == name {
                    return Err(EventsError::AlreadyExists(format!("Connection {name} already exists.")));
                }
                count += 1;
            }
            if count >= MAX_CONNECTIONS {
                return Err(EventsError::LimitExceeded);
            }
        }
        let now = self.clock.now_millis();
        let mut row = ConnectionRow {
            account: caller.account.clone(),
            region: caller.region.clone(),
            name: name.to_owned(),
            id: uuid::Uuid::new_v4().to_string(),
            description,
            authorization_type: kind.to_owned(),
            basic: None,
            api_key: None,
            oauth: None,
            invocation: HttpParametersRow::default(),
            state: String::new(),
            state_reason: None,
            created_ms: now,
            modified_ms: now,
            authorized_ms: None,
        };
        apply_auth(&mut row, kind, auth, true)?;
        self.mark_authorizing(&mut row, now);
        let row = self.save_connection(row).await?;
        self.kick_authorization(&row);
        Ok(row)
    }

    /// Basic and API-key connections are authorized at once; OAuth ones wait for a token.
    fn mark_authorizing(&self, row: &mut ConnectionRow, now: u64) {
        if row.oauth.is_some() {
            row.state = "AUTHORIZING".into();
            row.state_reason = None;
        } else {
            row.state = "AUTHORIZED".into();
            row.state_reason = None;
            row.authorized_ms = Some(now);
        }
    }

    /// Asks the wiring to fetch an OAuth connection's token.
    fn kick_authorization(&self, row: &ConnectionRow) {
        if row.oauth.is_some() {
            let delivery = std::sync::Arc::clone(&self.delivery);
            let arn = connection_arn(row);
            tokio::spawn(async move { delivery.authorize_connection(&arn).await });
        }
    }

    /// Records the outcome of fetching a connection's OAuth token: `Ok` authorizes it, an
    /// error deauthorizes it with the reason. An outcome for an older version of the connection
    /// (`modified_ms` differs: it was updated meanwhile) is ignored.
    pub async fn connection_authorized(&self, arn: &str, modified_ms: u64, outcome: Result<(), String>) {
        let _write = self.write_lock.lock().await;
        let Some(mut row) = self.connection_by_arn(arn) else { return };
        if row.modified_ms != modified_ms {
            return;
        }
        if row.state == "DEAUTHORIZED" && row.oauth.is_none() {
            return;
        }
        let now = self.clock.now_millis();
        match outcome {
            Ok(()) => {
                if row.state == "AUTHORIZED" {
                    return;
                }
                row.state = "AUTHORIZED".into();
                row.state_reason = None;
                row.authorized_ms = Some(now);
            }
            Err(reason) => {
                row.state = "DEAUTHORIZED".into();
                row.state_reason = Some(reason.chars().take(512).collect());
            }
        }
        if let Err(err) = self.save_connection(row).await {
            tracing::warn!(connection = %arn, error = %err, "could not record a connection's authorization");
        }
    }

    /// DescribeConnection.
    pub fn connection(&self, caller: &Caller, name: &str) -> Result<ConnectionRow, EventsError> {
        self.connection_by_name(caller, name)
    }

    /// ListConnections, by name.
    pub fn connections(&self, caller: &Caller, prefix: &str, state: Option<&str>) -> Vec<ConnectionRow> {
        let mut rows: Vec<ConnectionRow> = self
            .lock()
            .connections
            .values()
            .filter(|row| row.account == caller.account && row.region == caller.region && row.name.starts_with(prefix))
            .filter(|row| state.is_none_or(|state| row.state == state))
            .cloned()
            .collect();
        rows.sort_by(|a, b| a.name.cmp(&b.name));
        rows
    }

    /// UpdateConnection.
    pub async fn update_connection(
        &self,
        caller: &Caller,
        name: &str,
        description: Option<String>,
        kind: Option<&str>,
        auth: Option<ConnectionAuth>,
    ) -> Result<ConnectionRow, EventsError> {
        let _write = self.write_lock.lock().await;
        let mut row = self.connection_by_name(caller, name)?;
        if let Some(description) = description {
            row.description = Some(description);
        }
        let now = self.clock.now_millis();
        let reauthorize = kind.is_some() || auth.is_some();
        if reauthorize {
            let kind = kind.map_or_else(|| row.authorization_type.clone(), str::to_owned);
            apply_auth(&mut row, &kind, auth.unwrap_or_default(), false)?;
            self.mark_authorizing(&mut row, now);
        }
        // Strictly later than the version an authorization in flight was fetched for.
        row.modified_ms = now.max(row.modified_ms + 1);
        let row = self.save_connection(row).await?;
        if reauthorize {
            self.kick_authorization(&row);
        }
        Ok(row)
    }

    /// DeauthorizeConnection: the credentials are forgotten.
    pub async fn deauthorize_connection(&self, caller: &Caller, name: &str) -> Result<ConnectionRow, EventsError> {
        let _write = self.write_lock.lock().await;
        let mut row = self.connection_by_name(caller, name)?;
        row.basic = None;
        row.api_key = None;
        row.oauth = None;
        row.state = "DEAUTHORIZED".into();
        row.state_reason = Some("Deauthorized by DeauthorizeConnection.".into());
        row.modified_ms = self.clock.now_millis().max(row.modified_ms + 1);
        self.save_connection(row).await
    }

    /// DeleteConnection: refused while an API destination uses it.
    pub async fn delete_connection(&self, caller: &Caller, name: &str) -> Result<ConnectionRow, EventsError> {
        let _write = self.write_lock.lock().await;
        let row = self.connection_by_name(caller, name)?;
        let arn = connection_arn(&row);
        if self.lock().destinations.values().any(|destination| destination.connection_arn == arn) {
            return Err(EventsError::ConcurrentModification(format!(
                "Connection {name} is used by an API destination and cannot be deleted."
            )));
        }
        self.store.delete_connection(&arn).await?;
        self.lock().connections.remove(&arn);
        let mut gone = row;
        gone.state = "DELETING".into();
        Ok(gone)
    }

    // ---- API destinations ----

    fn destination_by_name(&self, caller: &Caller, name: &str) -> Result<ApiDestinationRow, EventsError> {
        self.lock()
            .destinations
            .values()
            .find(|row| row.account == caller.account && row.region == caller.region && row.name == name)
            .cloned()
            .ok_or_else(|| {
                EventsError::NotFound(format!(
                    "Failed to describe the api-destination(s). An api-destination '{name}' does not exist."
                ))
            })
    }

    /// The API destination `arn` names, with its connection.
    pub fn api_destination_by_arn(&self, arn: &str) -> Option<(ApiDestinationRow, Option<ConnectionRow>)> {
        let state = self.lock();
        let destination = state.destinations.get(arn)?.clone();
        let connection = state.connections.get(&destination.connection_arn).cloned();
        Some((destination, connection))
    }

    fn checked_destination(&self, caller: &Caller, row: &ApiDestinationRow) -> Result<(), EventsError> {
        check_endpoint("InvocationEndpoint", &row.endpoint)?;
        if !METHODS.contains(&row.method.as_str()) {
            return Err(invalid(format!(
                "1 validation error detected: Value '{}' at 'httpMethod' failed to satisfy constraint: Member must satisfy enum value set: [POST, GET, HEAD, OPTIONS, PUT, PATCH, DELETE]",
                row.method
            )));
        }
        let connection = self
            .connection_by_arn(&row.connection_arn)
            .filter(|connection| connection.account == caller.account && connection.region == caller.region);
        if connection.is_none() {
            return Err(EventsError::NotFound(format!("Connection '{}' does not exist.", row.connection_arn)));
        }
        Ok(())
    }

    fn rate_limit(value: Option<i64>) -> Result<Option<u32>, EventsError> {
        value
            .map(|limit| {
                u32::try_from(limit).ok().filter(|limit| *limit >= 1).ok_or_else(|| {
                    invalid(format!(
                        "1 validation error detected: Value '{limit}' at 'invocationRateLimitPerSecond' failed to satisfy constraint: Member must have value greater than or equal to 1"
                    ))
                })
            })
            .transpose()
    }

    /// CreateApiDestination.
    pub async fn create_api_destination(
        &self,
        caller: &Caller,
        name: &str,
        change: DestinationChange,
    ) -> Result<ApiDestinationRow, EventsError> {
        check_name("name", name)?;
        let rate_limit = Self::rate_limit(change.rate_limit)?.unwrap_or(DEFAULT_RATE_LIMIT);
        let now = self.clock.now_millis();
        let row = ApiDestinationRow {
            account: caller.account.clone(),
            region: caller.region.clone(),
            name: name.to_owned(),
            id: uuid::Uuid::new_v4().to_string(),
            description: change.description,
            connection_arn: change.connection_arn.unwrap_or_default(),
            endpoint: change.endpoint.unwrap_or_default(),
            method: change.method.unwrap_or_default(),
            rate_limit,
            created_ms: now,
            modified_ms: now,
        };
        let _write = self.write_lock.lock().await;
        {
            let state = self.lock();
            let mut count = 0;
            for existing in
                state.destinations.values().filter(|d| d.account == caller.account && d.region == caller.region)
            {
                if existing.name == name {
                    return Err(EventsError::AlreadyExists(format!("An api-destination {name} already exists.")));
                }
                count += 1;
            }
            if count >= MAX_API_DESTINATIONS {
                return Err(EventsError::LimitExceeded);
            }
        }
        self.checked_destination(caller, &row)?;
        self.store.put_api_destination(&row).await?;
        self.lock().destinations.insert(api_destination_arn(&row), row.clone());
        Ok(row)
    }

    /// DescribeApiDestination.
    pub fn api_destination(&self, caller: &Caller, name: &str) -> Result<ApiDestinationRow, EventsError> {
        self.destination_by_name(caller, name)
    }

    /// ListApiDestinations, by name.
    pub fn api_destinations(
        &self,
        caller: &Caller,
        prefix: &str,
        connection_arn: Option<&str>,
    ) -> Vec<ApiDestinationRow> {
        let mut rows: Vec<ApiDestinationRow> = self
            .lock()
            .destinations
            .values()
            .filter(|row| row.account == caller.account && row.region == caller.region && row.name.starts_with(prefix))
            .filter(|row| connection_arn.is_none_or(|arn| row.connection_arn == arn))
            .cloned()
            .collect();
        rows.sort_by(|a, b| a.name.cmp(&b.name));
        rows
    }

    /// UpdateApiDestination.
    pub async fn update_api_destination(
        &self,
        caller: &Caller,
        name: &str,
        change: DestinationChange,
    ) -> Result<ApiDestinationRow, EventsError> {
        let rate_limit = Self::rate_limit(change.rate_limit)?;
        let _write = self.write_lock.lock().await;
        let mut row = self.destination_by_name(caller, name)?;
        if let Some(description) = change.description {
            row.description = Some(description);
        }
        if let Some(arn) = change.connection_arn {
            row.connection_arn = arn;
        }
        if let Some(endpoint) = change.endpoint {
            row.endpoint = endpoint;
        }
        if let Some(method) = change.method {
            row.method = method;
        }
        if let Some(limit) = rate_limit {
            row.rate_limit = limit;
        }
        row.modified_ms = self.clock.now_millis();
        self.checked_destination(caller, &row)?;
        self.store.put_api_destination(&row).await?;
        self.lock().destinations.insert(api_destination_arn(&row), row.clone());
        Ok(row)
    }

    /// DeleteApiDestination.
    pub async fn delete_api_destination(&self, caller: &Caller, name: &str) -> Result<(), EventsError> {
        let _write = self.write_lock.lock().await;
        let row = self.destination_by_name(caller, name)?;
        let arn = api_destination_arn(&row);
        self.store.delete_api_destination(&arn).await?;
        self.lock().destinations.remove(&arn);
        Ok(())
    }
}

/// The `SecretArn` DescribeConnection shows (AWS keeps the credentials in such a secret).
pub fn secret_arn(row: &ConnectionRow) -> String {
    format!("arn:aws:secretsmanager:{}:{}:secret:events!connection/{}/{}", row.region, row.account, row.name, row.id)
}

/// One parameter as DescribeConnection shows it: key, value (none when secret), secret.
pub type ShownParameter = (String, Option<String>, bool);

/// Parameters as AWS shows them: secret values left out.
pub fn shown_parameters(parameters: &HttpParametersRow) -> BTreeMap<&'static str, Vec<ShownParameter>> {
    let show = |list: &[wharf_store::events::HttpParameter]| {
        list.iter()
            .map(|parameter| {
                (parameter.key.clone(), (!parameter.secret).then(|| parameter.value.clone()), parameter.secret)
            })
            .collect::<Vec<_>>()
    };
    BTreeMap::from([
        ("HeaderParameters", show(&parameters.headers)),
        ("QueryStringParameters", show(&parameters.query)),
        ("BodyParameters", show(&parameters.body)),
    ])
}
