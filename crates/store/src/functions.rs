//! Storage of Lambda functions: their configuration, published versions, aliases, resource
//! policy, tags, concurrency and asynchronous-invocation settings.
//!
//! A function is small and changes rarely, so the store keeps each one as a single record
//! ([`FunctionRow`]) that is replaced whole. Code packages are not in these rows: they are
//! content-addressed files that the functions engine keeps beside the store (a row names its
//! package by SHA-256).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;
use wharf_types::EpochMillis;

use crate::StoreError;

/// One immutable snapshot of a function's configuration: `$LATEST` or a published version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionRow {
    /// `$LATEST` or the version number.
    pub version: String,
    /// Runtime identifier such as `python3.12`, `nodejs20.x` or `provided.al2023`.
    pub runtime: String,
    /// The handler (`module.function`); runtimes of the `provided` family may leave it empty.
    pub handler: String,
    /// Execution role ARN.
    pub role: String,
    /// Seconds an invocation may run.
    pub timeout_seconds: u32,
    /// Memory size in MB.
    pub memory_mb: u32,
    /// Ephemeral storage (`/tmp`) size in MB, recorded only.
    pub ephemeral_storage_mb: u32,
    /// The user's environment variables.
    pub environment: BTreeMap<String, String>,
    /// Free text.
    pub description: String,
    /// Hex SHA-256 of the code package; names the unpacked package directory.
    pub code_id: String,
    /// Base64 SHA-256 of the package, as Lambda reports `CodeSha256`.
    pub code_sha256: String,
    /// Package size in bytes.
    pub code_size: u64,
    /// A local source directory the code comes from (functions declared in the config file);
    /// when set, the package directory is this one and it is reloaded on change.
    pub source_dir: Option<String>,
    /// `x86_64` or `arm64`, recorded only.
    pub architectures: Vec<String>,
    /// When the configuration last changed.
    pub last_modified: EpochMillis,
    /// Changes whenever the configuration or code changes; guards updates.
    pub revision_id: String,
    /// Dead-letter target of asynchronous invocations (SQS queue ARN).
    pub dead_letter_target: Option<String>,
    /// `Text` or `JSON`.
    pub log_format: String,
    /// Log group of the function; `/aws/lambda/NAME` unless configured.
    pub log_group: String,
    /// Application log level (JSON format only), recorded and passed to the runtime.
    pub application_log_level: Option<String>,
    /// System log level (JSON format only), recorded only.
    pub system_log_level: Option<String>,
    /// `PassThrough` or `Active`, recorded only.
    pub tracing_mode: String,
    /// Layer ARNs, recorded only.
    pub layers: Vec<String>,
}

/// A named pointer to a version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AliasRow {
    /// The alias name.
    pub name: String,
    /// The version it points to.
    pub function_version: String,
    /// Free text.
    pub description: String,
    /// Extra versions and the share of invocations each receives.
    pub additional_weights: BTreeMap<String, f64>,
    /// Changes on every update.
    pub revision_id: String,
}

/// One statement of a function's resource-based policy, as AddPermission creates it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PermissionRow {
    /// Statement id (`Sid`).
    pub statement_id: String,
    /// The qualifier the statement is attached to, if any.
    pub qualifier: Option<String>,
    /// The action, e.g. `lambda:InvokeFunction`.
    pub action: String,
    /// The principal: a service (`events.amazonaws.com`), an account or an ARN.
    pub principal: String,
    /// `AWS:SourceArn` condition.
    pub source_arn: Option<String>,
    /// `AWS:SourceAccount` condition.
    pub source_account: Option<String>,
    /// `aws:PrincipalOrgID` condition.
    pub principal_org_id: Option<String>,
    /// `lambda:EventSourceToken` condition.
    pub event_source_token: Option<String>,
    /// `lambda:FunctionUrlAuthType` condition.
    pub function_url_auth_type: Option<String>,
}

/// Asynchronous invocation settings of a function or one of its qualifiers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventInvokeConfigRow {
    /// Retries after a function error (0–2); absent means the default, 2.
    pub maximum_retry_attempts: Option<u32>,
    /// Seconds an event may wait (60–21600); absent means the default, 6 hours.
    pub maximum_event_age_seconds: Option<u32>,
    /// Destination ARN of successful invocations.
    pub on_success: Option<String>,
    /// Destination ARN of invocations that failed for good.
    pub on_failure: Option<String>,
    /// When the settings last changed.
    pub last_modified: EpochMillis,
}

/// Everything stored about one function.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunctionRow {
    /// Owner account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Function name.
    pub name: String,
    /// The unpublished configuration.
    pub latest: VersionRow,
    /// Published versions, oldest first.
    pub versions: Vec<VersionRow>,
    /// The number the next published version gets.
    pub next_version: u64,
    /// Aliases by name.
    pub aliases: BTreeMap<String, AliasRow>,
    /// Resource-based policy statements.
    pub permissions: Vec<PermissionRow>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Reserved concurrency, if set.
    pub reserved_concurrency: Option<u32>,
    /// Asynchronous invocation settings by qualifier (`$LATEST`, a version or an alias).
    pub event_invoke_configs: BTreeMap<String, EventInvokeConfigRow>,
}

/// An event source mapping: a queue whose messages are handed to a function in batches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MappingRow {
    /// The mapping's UUID.
    pub uuid: String,
    /// Owner account.
    pub account: String,
    /// Region.
    pub region: String,
    /// The function's name.
    pub function: String,
    /// The qualifier of the function reference, if any.
    pub qualifier: Option<String>,
    /// The source queue's ARN.
    pub event_source_arn: String,
    /// Most records per invocation.
    pub batch_size: u32,
    /// Seconds to gather records before invoking.
    pub maximum_batching_window_seconds: u32,
    /// Whether the function reports failed items (`ReportBatchItemFailures`).
    pub report_batch_item_failures: bool,
    /// Most concurrent invocations, if capped (`ScalingConfig.MaximumConcurrency`).
    pub maximum_concurrency: Option<u32>,
    /// Filter patterns (EventBridge pattern syntax), as given.
    pub filters: Vec<String>,
    /// Whether the mapping polls.
    pub enabled: bool,
    /// When the mapping last changed.
    pub last_modified: EpochMillis,
    /// The outcome of the latest batch: `OK`, `No records processed` or a problem.
    pub last_processing_result: String,
}

/// Storage for function records.
///
/// Each change returns only after it is durable.
#[async_trait]
pub trait FunctionStore: Send + Sync + 'static {
    /// Every stored function, read once at start-up.
    async fn load_all(&self) -> Result<Vec<FunctionRow>, StoreError>;
    /// Creates or replaces a function's record.
    async fn put(&self, row: &FunctionRow) -> Result<(), StoreError>;
    /// Deletes a function's record; deleting a missing one is not an error.
    async fn delete(&self, account: &str, region: &str, name: &str) -> Result<(), StoreError>;
    /// Every stored event source mapping, read once at start-up.
    async fn load_mappings(&self) -> Result<Vec<MappingRow>, StoreError>;
    /// Creates or replaces a mapping.
    async fn put_mapping(&self, row: &MappingRow) -> Result<(), StoreError>;
    /// Deletes a mapping; deleting a missing one is not an error.
    async fn delete_mapping(&self, uuid: &str) -> Result<(), StoreError>;
    /// Deletes every function and mapping (a reset).
    async fn clear(&self) -> Result<(), StoreError>;
}

/// A [`FunctionStore`] that keeps records in memory only.
#[derive(Default)]
pub struct MemoryFunctionStore {
    /// Records by (account, region, name).
    rows: Mutex<BTreeMap<(String, String, String), FunctionRow>>,
    /// Mappings by UUID.
    mappings: Mutex<BTreeMap<String, MappingRow>>,
}

#[async_trait]
impl FunctionStore for MemoryFunctionStore {
    async fn load_all(&self) -> Result<Vec<FunctionRow>, StoreError> {
        Ok(self.rows.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).values().cloned().collect())
    }

    async fn put(&self, row: &FunctionRow) -> Result<(), StoreError> {
        self.rows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert((row.account.clone(), row.region.clone(), row.name.clone()), row.clone());
        Ok(())
    }

    async fn delete(&self, account: &str, region: &str, name: &str) -> Result<(), StoreError> {
        self.rows.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&(
            account.to_owned(),
            region.to_owned(),
            name.to_owned(),
        ));
        Ok(())
    }

    async fn load_mappings(&self) -> Result<Vec<MappingRow>, StoreError> {
        Ok(self.mappings.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).values().cloned().collect())
    }

    async fn put_mapping(&self, row: &MappingRow) -> Result<(), StoreError> {
        self.mappings.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(row.uuid.clone(), row.clone());
        Ok(())
    }

    async fn delete_mapping(&self, uuid: &str) -> Result<(), StoreError> {
        self.mappings.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(uuid);
        Ok(())
    }

    async fn clear(&self) -> Result<(), StoreError> {
        self.rows.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
        self.mappings.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
        Ok(())
    }
}

/// Checks a [`FunctionStore`] backend: records round-trip, replace and delete.
pub async fn conformance(store: &dyn FunctionStore) {
    let mut row = sample_row("alpha");
    store.put(&row).await.expect("put");
    store.put(&sample_row("beta")).await.expect("put");
    row.latest.timeout_seconds = 9;
    row.aliases.insert(
        "live".into(),
        AliasRow {
            name: "live".into(),
            function_version: "1".into(),
            description: String::new(),
            additional_weights: BTreeMap::new(),
            revision_id: "r".into(),
        },
    );
    store.put(&row).await.expect("replace");
    let mut all = store.load_all().await.expect("load");
    all.sort_by(|left, right| left.name.cmp(&right.name));
    assert_eq!(all.len(), 2);
    assert_eq!(all[0], row);
    store.delete("000000000000", "us-east-1", "beta").await.expect("delete");
    store.delete("000000000000", "us-east-1", "missing").await.expect("delete missing");
    let all = store.load_all().await.expect("load");
    assert_eq!(all.len(), 1);

    let mut mapping = MappingRow {
        uuid: "a1".into(),
        account: "000000000000".into(),
        region: "us-east-1".into(),
        function: "alpha".into(),
        qualifier: None,
        event_source_arn: "arn:aws:sqs:us-east-1:000000000000:q".into(),
        batch_size: 10,
        maximum_batching_window_seconds: 0,
        report_batch_item_failures: false,
        maximum_concurrency: None,
        filters: vec![r#"{"body": {"kind": ["a"]}}"#.into()],
        enabled: true,
        last_modified: 1,
        last_processing_result: "No records processed".into(),
    };
    store.put_mapping(&mapping).await.expect("put mapping");
    mapping.enabled = false;
    store.put_mapping(&mapping).await.expect("replace mapping");
    assert_eq!(store.load_mappings().await.expect("load"), vec![mapping]);
    store.delete_mapping("a1").await.expect("delete mapping");
    store.delete_mapping("a1").await.expect("delete missing mapping");
    assert!(store.load_mappings().await.expect("load").is_empty());
}

/// A function record for tests.
pub fn sample_row(name: &str) -> FunctionRow {
    FunctionRow {
        account: "000000000000".into(),
        region: "us-east-1".into(),
        name: name.into(),
        latest: VersionRow {
            version: "$LATEST".into(),
            runtime: "python3.12".into(),
            handler: "app.handler".into(),
            role: "arn:aws:iam::000000000000:role/r".into(),
            timeout_seconds: 3,
            memory_mb: 128,
            ephemeral_storage_mb: 512,
            environment: BTreeMap::from([("K".into(), "v".into())]),
            description: String::new(),
            code_id: "00".into(),
            code_sha256: "AA==".into(),
            code_size: 1,
            source_dir: None,
            architectures: vec!["x86_64".into()],
            last_modified: 1,
            revision_id: "rev".into(),
            dead_letter_target: None,
            log_format: "Text".into(),
            log_group: format!("/aws/lambda/{name}"),
            application_log_level: None,
            system_log_level: None,
            tracing_mode: "PassThrough".into(),
            layers: Vec::new(),
        },
        versions: Vec::new(),
        next_version: 1,
        aliases: BTreeMap::new(),
        permissions: Vec::new(),
        tags: BTreeMap::new(),
        reserved_concurrency: None,
        event_invoke_configs: BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn memory_store_conforms() {
        let store = super::MemoryFunctionStore::default();
        super::conformance(&store).await;
        super::FunctionStore::clear(&store).await.expect("clear");
        assert!(super::FunctionStore::load_all(&store).await.expect("load").is_empty());
        assert!(super::FunctionStore::load_mappings(&store).await.expect("load").is_empty());
    }
}
