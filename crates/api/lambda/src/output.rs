//! Rendering of Lambda's output shapes (FunctionConfiguration, AliasConfiguration, …) as the
//! botocore `lambda` model names their members.

use serde_json::{json, Map, Value};
use wharf_functions::FunctionKey;
use wharf_functions::{AliasRow, EventInvokeConfigRow, FunctionRow, MappingRow, PermissionRow, VersionRow};
use wharf_types::{EpochMillis, UtcDateTime};

/// Lambda's `LastModified` format: `2019-09-25T22:40:04.000+0000`.
pub fn last_modified(millis: EpochMillis) -> String {
    let date = UtcDateTime::from_epoch_millis(millis);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        date.year, date.month, date.day, date.hour, date.minute, date.second, date.millis
    )
}

/// A FunctionConfiguration.
pub fn configuration(key: &FunctionKey, version: &VersionRow) -> Value {
    let function_arn =
        if version.version == "$LATEST" { key.arn() } else { format!("{}:{}", key.arn(), version.version) };
    let mut logging = Map::new();
    logging.insert("LogFormat".into(), Value::from(version.log_format.clone()));
    logging.insert("LogGroup".into(), Value::from(version.log_group.clone()));
    if let Some(level) = &version.application_log_level {
        logging.insert("ApplicationLogLevel".into(), Value::from(level.clone()));
    }
    if let Some(level) = &version.system_log_level {
        logging.insert("SystemLogLevel".into(), Value::from(level.clone()));
    }
    let mut out = json!({
        "FunctionName": key.name,
        "FunctionArn": function_arn,
        "Runtime": version.runtime,
        "Role": version.role,
        "Handler": version.handler,
        "CodeSize": version.code_size,
        "Description": version.description,
        "Timeout": version.timeout_seconds,
        "MemorySize": version.memory_mb,
        "LastModified": last_modified(version.last_modified),
        "CodeSha256": version.code_sha256,
        "Version": version.version,
        "TracingConfig": { "Mode": version.tracing_mode },
        "RevisionId": version.revision_id,
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": version.architectures,
        "EphemeralStorage": { "Size": version.ephemeral_storage_mb },
        "LoggingConfig": Value::Object(logging),
        "SnapStart": { "ApplyOn": "None", "OptimizationStatus": "Off" },
    });
    if !version.environment.is_empty() {
        out["Environment"] = json!({ "Variables": version.environment });
    }
    if let Some(target) = &version.dead_letter_target {
        out["DeadLetterConfig"] = json!({ "TargetArn": target });
    }
    if !version.layers.is_empty() {
        out["Layers"] = Value::Array(version.layers.iter().map(|arn| json!({ "Arn": arn, "CodeSize": 0 })).collect());
    }
    if version.runtime.is_empty() {
        if let Some(object) = out.as_object_mut() {
            object.remove("Runtime");
        }
    }
    out
}

/// An AliasConfiguration.
pub fn alias(key: &FunctionKey, alias: &AliasRow) -> Value {
    let mut out = json!({
        "AliasArn": format!("{}:{}", key.arn(), alias.name),
        "Name": alias.name,
        "FunctionVersion": alias.function_version,
        "Description": alias.description,
        "RevisionId": alias.revision_id,
    });
    if !alias.additional_weights.is_empty() {
        out["RoutingConfig"] = json!({ "AdditionalVersionWeights": alias.additional_weights });
    }
    out
}

/// A FunctionEventInvokeConfig.
pub fn event_invoke_config(key: &FunctionKey, qualifier: &str, config: &EventInvokeConfigRow) -> Value {
    let mut destinations = Map::new();
    if let Some(arn) = &config.on_success {
        destinations.insert("OnSuccess".into(), json!({ "Destination": arn }));
    }
    if let Some(arn) = &config.on_failure {
        destinations.insert("OnFailure".into(), json!({ "Destination": arn }));
    }
    let mut out = json!({
        "FunctionArn": format!("{}:{qualifier}", key.arn()),
        "LastModified": config.last_modified as f64 / 1000.0,
        "DestinationConfig": Value::Object(destinations),
    });
    if let Some(attempts) = config.maximum_retry_attempts {
        out["MaximumRetryAttempts"] = Value::from(attempts);
    }
    if let Some(age) = config.maximum_event_age_seconds {
        out["MaximumEventAgeInSeconds"] = Value::from(age);
    }
    out
}

/// One statement of the resource policy, as GetPolicy returns it inside its JSON string.
pub fn statement(key: &FunctionKey, permission: &PermissionRow) -> Value {
    wharf_iam::function_policy::statement(&key.arn(), permission)
}

/// The policy document of a function (or of one qualifier).
pub fn policy(key: &FunctionKey, row: &FunctionRow, qualifier: Option<&str>) -> Option<Value> {
    wharf_iam::function_policy::document(&key.arn(), &row.permissions, qualifier)
}

/// An EventSourceMappingConfiguration; `state` overrides the steady state (Creating, Updating,
/// Deleting in the answers to those calls).
pub fn mapping(row: &MappingRow, state: Option<&str>) -> Value {
    let function = FunctionKey { account: row.account.clone(), region: row.region.clone(), name: row.function.clone() };
    let function_arn = match &row.qualifier {
        Some(qualifier) => format!("{}:{qualifier}", function.arn()),
        None => function.arn(),
    };
    let steady = if row.enabled { "Enabled" } else { "Disabled" };
    let mut out = json!({
        "UUID": row.uuid,
        "EventSourceMappingArn": format!("arn:aws:lambda:{}:{}:event-source-mapping:{}", row.region, row.account, row.uuid),
        "BatchSize": row.batch_size,
        "MaximumBatchingWindowInSeconds": row.maximum_batching_window_seconds,
        "EventSourceArn": row.event_source_arn,
        "FunctionArn": function_arn,
        "LastModified": row.last_modified as f64 / 1000.0,
        "LastProcessingResult": row.last_processing_result,
        "State": state.unwrap_or(steady),
        "StateTransitionReason": "USER_INITIATED",
        "FunctionResponseTypes": if row.report_batch_item_failures { vec!["ReportBatchItemFailures"] } else { Vec::new() },
    });
    if let Some(concurrency) = row.maximum_concurrency {
        out["ScalingConfig"] = json!({ "MaximumConcurrency": concurrency });
    }
    if !row.filters.is_empty() {
        out["FilterCriteria"] =
            json!({ "Filters": row.filters.iter().map(|pattern| json!({ "Pattern": pattern })).collect::<Vec<_>>() });
    }
    out
}
