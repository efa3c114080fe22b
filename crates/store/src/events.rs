//! Storage of EventBridge event buses and rules (with their targets and tags).
//!
//! Rules change at human speed and are few, so each rule is one record ([`RuleRow`]) holding
//! its targets and tags, replaced whole; each custom bus is one [`BusRow`]. The engine reads
//! everything once at start-up and keeps it in memory; every change is written through.
//! The `default` bus of an account and region exists without a row; a row for it only carries
//! its tags and its resource policy.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;
use wharf_types::EpochMillis;

use crate::StoreError;

/// An event bus.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BusRow {
    /// Owner account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Bus name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// When the bus was created.
    pub created_ms: EpochMillis,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The resource policy (PutPermission), a JSON policy document.
    #[serde(default)]
    pub policy: Option<String>,
}

/// How a target's input is built from the event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputTransformerRow {
    /// Variable name → JSON path into the event.
    #[serde(default)]
    pub input_paths_map: BTreeMap<String, String>,
    /// The template with `<variable>` placeholders.
    pub input_template: String,
}

/// One target of a rule (`Default`: empty id and ARN, every option absent).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetRow {
    /// The target's id, unique within its rule.
    pub id: String,
    /// ARN of the Lambda function or SQS queue.
    pub arn: String,
    /// Role EventBridge would assume, recorded only.
    #[serde(default)]
    pub role_arn: Option<String>,
    /// Constant JSON delivered instead of the event.
    #[serde(default)]
    pub input: Option<String>,
    /// JSON path of the part of the event delivered.
    #[serde(default)]
    pub input_path: Option<String>,
    /// Template-based input.
    #[serde(default)]
    pub input_transformer: Option<InputTransformerRow>,
    /// `SqsParameters.MessageGroupId` for FIFO queues.
    #[serde(default)]
    pub message_group_id: Option<String>,
    /// `DeadLetterConfig.Arn`: where an event goes when its deliveries fail for good.
    #[serde(default)]
    pub dead_letter_arn: Option<String>,
    /// `RetryPolicy.MaximumRetryAttempts` (185 when absent).
    #[serde(default)]
    pub maximum_retry_attempts: Option<u32>,
    /// `RetryPolicy.MaximumEventAgeInSeconds` (24 hours when absent).
    #[serde(default)]
    pub maximum_event_age_seconds: Option<u32>,
    /// `HttpParameters`, for API destination targets.
    #[serde(default)]
    pub http_parameters: Option<TargetHttpRow>,
}

/// A target's `HttpParameters`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetHttpRow {
    /// Values for the `*` of the endpoint, in order.
    #[serde(default)]
    pub path_values: Vec<String>,
    /// Headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Query string parameters.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
}

/// One key and value of a connection's HTTP parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpParameter {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
    /// Whether the value is secret (not shown by DescribeConnection).
    #[serde(default)]
    pub secret: bool,
}

/// `ConnectionHttpParameters`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpParametersRow {
    /// Headers.
    #[serde(default)]
    pub headers: Vec<HttpParameter>,
    /// Query string parameters.
    #[serde(default)]
    pub query: Vec<HttpParameter>,
    /// Body parameters.
    #[serde(default)]
    pub body: Vec<HttpParameter>,
}

/// A connection's OAuth client-credentials settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthRow {
    /// `ClientID`.
    pub client_id: String,
    /// `ClientSecret`.
    pub client_secret: String,
    /// `AuthorizationEndpoint`.
    pub endpoint: String,
    /// `HttpMethod` of the token request.
    pub method: String,
    /// `OAuthHttpParameters`.
    #[serde(default)]
    pub parameters: HttpParametersRow,
}

/// An EventBridge connection: how API destinations authenticate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionRow {
    /// Owner account.
    pub account: String,
    /// Region.
    pub region: String,
    /// `Name`.
    pub name: String,
    /// The id in its ARN.
    pub id: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// `BASIC`, `API_KEY` or `OAUTH_CLIENT_CREDENTIALS`.
    pub authorization_type: String,
    /// Username and password.
    #[serde(default)]
    pub basic: Option<(String, String)>,
    /// Header name and key.
    #[serde(default)]
    pub api_key: Option<(String, String)>,
    /// Client credentials.
    #[serde(default)]
    pub oauth: Option<OAuthRow>,
    /// `InvocationHttpParameters`: added to every request.
    #[serde(default)]
    pub invocation: HttpParametersRow,
    /// `AUTHORIZED`, `AUTHORIZING`, `DEAUTHORIZED`, …
    pub state: String,
    /// Why it is deauthorized.
    #[serde(default)]
    pub state_reason: Option<String>,
    /// When it was created.
    pub created_ms: EpochMillis,
    /// When it last changed.
    pub modified_ms: EpochMillis,
    /// When it was last authorized.
    #[serde(default)]
    pub authorized_ms: Option<EpochMillis>,
}

/// An API destination: an HTTP endpoint rules deliver to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiDestinationRow {
    /// Owner account.
    pub account: String,
    /// Region.
    pub region: String,
    /// `Name`.
    pub name: String,
    /// The id in its ARN.
    pub id: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// The connection's ARN.
    pub connection_arn: String,
    /// `InvocationEndpoint`, with `*` for path parameters.
    pub endpoint: String,
    /// `HttpMethod`.
    pub method: String,
    /// `InvocationRateLimitPerSecond`.
    pub rate_limit: u32,
    /// When it was created.
    pub created_ms: EpochMillis,
    /// When it last changed.
    pub modified_ms: EpochMillis,
}

/// `arn:aws:events:REGION:ACCOUNT:connection/NAME/ID`.
pub fn connection_arn(row: &ConnectionRow) -> String {
    format!("arn:aws:events:{}:{}:connection/{}/{}", row.region, row.account, row.name, row.id)
}

/// `arn:aws:events:REGION:ACCOUNT:api-destination/NAME/ID`.
pub fn api_destination_arn(row: &ApiDestinationRow) -> String {
    format!("arn:aws:events:{}:{}:api-destination/{}/{}", row.region, row.account, row.name, row.id)
}

/// A rule with its targets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleRow {
    /// Owner account.
    pub account: String,
    /// Region.
    pub region: String,
    /// The bus the rule belongs to.
    pub bus: String,
    /// Rule name.
    pub name: String,
    /// `rate(...)` or `cron(...)`, as given.
    #[serde(default)]
    pub schedule_expression: Option<String>,
    /// The event pattern, as given.
    #[serde(default)]
    pub event_pattern: Option<String>,
    /// Whether the rule is `ENABLED`.
    pub enabled: bool,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Role ARN, recorded only.
    #[serde(default)]
    pub role_arn: Option<String>,
    /// When the rule was created.
    pub created_ms: EpochMillis,
    /// Where rate schedules count from: creation, or the latest change that enabled the rule
    /// or changed its schedule.
    pub anchor_ms: EpochMillis,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Targets, in the order they were first put.
    #[serde(default)]
    pub targets: Vec<TargetRow>,
}

/// Storage for buses and rules. Each change returns only after it is durable.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Every stored bus, read once at start-up.
    async fn load_buses(&self) -> Result<Vec<BusRow>, StoreError>;
    /// Every stored rule with its targets, read once at start-up.
    async fn load_rules(&self) -> Result<Vec<RuleRow>, StoreError>;
    /// Creates or replaces a bus.
    async fn put_bus(&self, row: &BusRow) -> Result<(), StoreError>;
    /// Deletes a bus; deleting a missing one is not an error.
    async fn delete_bus(&self, account: &str, region: &str, name: &str) -> Result<(), StoreError>;
    /// Creates or replaces a rule with its targets and tags.
    async fn put_rule(&self, row: &RuleRow) -> Result<(), StoreError>;
    /// Deletes a rule; deleting a missing one is not an error.
    async fn delete_rule(&self, account: &str, region: &str, bus: &str, name: &str) -> Result<(), StoreError>;
    /// Every connection, read once at start-up.
    async fn load_connections(&self) -> Result<Vec<ConnectionRow>, StoreError>;
    /// Creates or replaces a connection.
    async fn put_connection(&self, row: &ConnectionRow) -> Result<(), StoreError>;
    /// Deletes a connection (by ARN).
    async fn delete_connection(&self, arn: &str) -> Result<(), StoreError>;
    /// Every API destination, read once at start-up.
    async fn load_api_destinations(&self) -> Result<Vec<ApiDestinationRow>, StoreError>;
    /// Creates or replaces an API destination.
    async fn put_api_destination(&self, row: &ApiDestinationRow) -> Result<(), StoreError>;
    /// Deletes an API destination (by ARN).
    async fn delete_api_destination(&self, arn: &str) -> Result<(), StoreError>;
    /// Deletes every bus, rule, connection and API destination (a reset).
    async fn clear(&self) -> Result<(), StoreError>;
}

type BusKey = (String, String, String);
type RuleKey = (String, String, String, String);

/// An [`EventStore`] that keeps records in memory only.
#[derive(Default)]
pub struct MemoryEventStore {
    /// Buses by (account, region, name).
    buses: Mutex<BTreeMap<BusKey, BusRow>>,
    /// Rules by (account, region, bus, name).
    rules: Mutex<BTreeMap<RuleKey, RuleRow>>,
    /// Connections by ARN.
    connections: Mutex<BTreeMap<String, ConnectionRow>>,
    /// API destinations by ARN.
    destinations: Mutex<BTreeMap<String, ApiDestinationRow>>,
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[async_trait]
impl EventStore for MemoryEventStore {
    async fn load_buses(&self) -> Result<Vec<BusRow>, StoreError> {
        Ok(self.buses.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).values().cloned().collect())
    }

    async fn load_rules(&self) -> Result<Vec<RuleRow>, StoreError> {
        Ok(self.rules.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).values().cloned().collect())
    }

    async fn put_bus(&self, row: &BusRow) -> Result<(), StoreError> {
        self.buses
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert((row.account.clone(), row.region.clone(), row.name.clone()), row.clone());
        Ok(())
    }

    async fn delete_bus(&self, account: &str, region: &str, name: &str) -> Result<(), StoreError> {
        self.buses.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&(
            account.to_owned(),
            region.to_owned(),
            name.to_owned(),
        ));
        Ok(())
    }

    async fn put_rule(&self, row: &RuleRow) -> Result<(), StoreError> {
        self.rules
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert((row.account.clone(), row.region.clone(), row.bus.clone(), row.name.clone()), row.clone());
        Ok(())
    }

    async fn delete_rule(&self, account: &str, region: &str, bus: &str, name: &str) -> Result<(), StoreError> {
        self.rules.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&(
            account.to_owned(),
            region.to_owned(),
            bus.to_owned(),
            name.to_owned(),
        ));
        Ok(())
    }

    async fn load_connections(&self) -> Result<Vec<ConnectionRow>, StoreError> {
        Ok(locked(&self.connections).values().cloned().collect())
    }

    async fn put_connection(&self, row: &ConnectionRow) -> Result<(), StoreError> {
        locked(&self.connections).insert(connection_arn(row), row.clone());
        Ok(())
    }

    async fn delete_connection(&self, arn: &str) -> Result<(), StoreError> {
        locked(&self.connections).remove(arn);
        Ok(())
    }

    async fn load_api_destinations(&self) -> Result<Vec<ApiDestinationRow>, StoreError> {
        Ok(locked(&self.destinations).values().cloned().collect())
    }

    async fn put_api_destination(&self, row: &ApiDestinationRow) -> Result<(), StoreError> {
        locked(&self.destinations).insert(api_destination_arn(row), row.clone());
        Ok(())
    }

    async fn delete_api_destination(&self, arn: &str) -> Result<(), StoreError> {
        locked(&self.destinations).remove(arn);
        Ok(())
    }

    async fn clear(&self) -> Result<(), StoreError> {
        locked(&self.buses).clear();
        locked(&self.rules).clear();
        locked(&self.connections).clear();
        locked(&self.destinations).clear();
        Ok(())
    }
}

/// A rule record for tests.
pub fn sample_rule(bus: &str, name: &str) -> RuleRow {
    RuleRow {
        account: "000000000000".into(),
        region: "us-east-1".into(),
        bus: bus.into(),
        name: name.into(),
        schedule_expression: None,
        event_pattern: Some(r#"{"source": ["app"]}"#.into()),
        enabled: true,
        description: Some("d".into()),
        role_arn: None,
        created_ms: 1,
        anchor_ms: 1,
        tags: BTreeMap::new(),
        targets: Vec::new(),
    }
}

/// Checks an [`EventStore`] backend: buses and rules round-trip, replace and delete.
pub async fn conformance(store: &dyn EventStore) {
    let connection = ConnectionRow {
        account: "000000000000".into(),
        region: "us-east-1".into(),
        name: "hook".into(),
        id: "1234".into(),
        description: None,
        authorization_type: "API_KEY".into(),
        basic: None,
        api_key: Some(("x-api-key".into(), "secret".into())),
        oauth: None,
        invocation: HttpParametersRow::default(),
        state: "AUTHORIZED".into(),
        state_reason: None,
        created_ms: 1,
        modified_ms: 1,
        authorized_ms: Some(1),
    };
    store.put_connection(&connection).await.expect("put connection");
    let destination = ApiDestinationRow {
        account: "000000000000".into(),
        region: "us-east-1".into(),
        name: "hook".into(),
        id: "5678".into(),
        description: None,
        connection_arn: connection_arn(&connection),
        endpoint: "http://127.0.0.1:1/*".into(),
        method: "POST".into(),
        rate_limit: 300,
        created_ms: 1,
        modified_ms: 1,
    };
    store.put_api_destination(&destination).await.expect("put destination");
    assert_eq!(store.load_connections().await.expect("load"), vec![connection.clone()]);
    assert_eq!(store.load_api_destinations().await.expect("load"), vec![destination.clone()]);
    store.delete_api_destination(&api_destination_arn(&destination)).await.expect("delete");
    store.delete_connection(&connection_arn(&connection)).await.expect("delete");
    assert!(store.load_connections().await.expect("load").is_empty());
    assert!(store.load_api_destinations().await.expect("load").is_empty());

    let bus = BusRow {
        account: "000000000000".into(),
        region: "us-east-1".into(),
        name: "orders".into(),
        description: Some("the orders".into()),
        created_ms: 5,
        tags: BTreeMap::from([("team".into(), "core".into())]),
        policy: Some(r#"{"Version":"2012-10-17","Statement":[]}"#.into()),
    };
    store.put_bus(&bus).await.expect("put bus");
    let mut other = bus.clone();
    other.name = "other".into();
    store.put_bus(&other).await.expect("put bus");
    store.delete_bus("000000000000", "us-east-1", "other").await.expect("delete bus");
    store.delete_bus("000000000000", "us-east-1", "missing").await.expect("delete missing bus");
    assert_eq!(store.load_buses().await.expect("load"), vec![bus]);

    let mut rule = sample_rule("default", "alpha");
    store.put_rule(&rule).await.expect("put rule");
    store.put_rule(&sample_rule("orders", "alpha")).await.expect("put rule on another bus");
    rule.enabled = false;
    rule.schedule_expression = Some("rate(5 minutes)".into());
    rule.targets.push(TargetRow {
        id: "t1".into(),
        arn: "arn:aws:sqs:us-east-1:000000000000:q".into(),
        role_arn: None,
        input: None,
        input_path: None,
        input_transformer: Some(InputTransformerRow {
            input_paths_map: BTreeMap::from([("src".into(), "$.source".into())]),
            input_template: "\"<src>\"".into(),
        }),
        message_group_id: Some("g".into()),
        dead_letter_arn: None,
        maximum_retry_attempts: Some(3),
        maximum_event_age_seconds: None,
        http_parameters: Some(TargetHttpRow {
            path_values: vec!["orders".into()],
            headers: BTreeMap::from([("x-team".into(), "core".into())]),
            query: BTreeMap::new(),
        }),
    });
    rule.tags.insert("k".into(), "v".into());
    store.put_rule(&rule).await.expect("replace rule");
    let mut rules = store.load_rules().await.expect("load");
    rules.sort_by(|left, right| left.bus.cmp(&right.bus));
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0], rule);
    store.delete_rule("000000000000", "us-east-1", "orders", "alpha").await.expect("delete rule");
    store.delete_rule("000000000000", "us-east-1", "orders", "alpha").await.expect("delete missing rule");
    assert_eq!(store.load_rules().await.expect("load"), vec![rule]);
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn memory_store_conforms() {
        let store = super::MemoryEventStore::default();
        super::conformance(&store).await;
        super::EventStore::clear(&store).await.expect("clear");
        assert!(super::EventStore::load_rules(&store).await.expect("load").is_empty());
        assert!(super::EventStore::load_buses(&store).await.expect("load").is_empty());
    }
}
