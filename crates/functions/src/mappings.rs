//! Event source mappings as Lambda resources: create, read, update, delete, and a change
//! signal for whoever runs the pollers (`wharf-links`).
//!
//! Limits follow the Lambda API reference for SQS sources: BatchSize 1–10,000 (10 for FIFO
//! queues), a batch above 10 needs a batching window of at least 1 s, the window is 0–300 s,
//! and `ScalingConfig.MaximumConcurrency` is 2–1000.

use crate::{FunctionError, FunctionKey, Functions};
use wharf_store::functions::MappingRow;

/// A CreateEventSourceMapping or UpdateEventSourceMapping request in domain terms; absent
/// fields keep their current (or default) values.
#[derive(Clone, Debug, Default)]
pub struct MappingChange {
    /// Most records per invocation.
    pub batch_size: Option<u32>,
    /// Seconds to gather records.
    pub maximum_batching_window_seconds: Option<u32>,
    /// `ReportBatchItemFailures` on or off.
    pub report_batch_item_failures: Option<bool>,
    /// `Some(None)` removes the cap.
    pub maximum_concurrency: Option<Option<u32>>,
    /// Filter patterns, already checked by the caller.
    pub filters: Option<Vec<String>>,
    /// Enabled or disabled.
    pub enabled: Option<bool>,
}

fn validate(row: &MappingRow) -> Result<(), FunctionError> {
    let fifo = row.event_source_arn.ends_with(".fifo");
    let max_batch = if fifo { 10 } else { 10_000 };
    if !(1..=max_batch).contains(&row.batch_size) {
        return Err(FunctionError::InvalidParameter(format!(
            "BatchSize must be between 1 and {max_batch} for {} queues",
            if fifo { "FIFO" } else { "standard" }
        )));
    }
    if row.maximum_batching_window_seconds > 300 {
        return Err(FunctionError::Validation(format!(
            "1 validation error detected: Value '{}' at 'maximumBatchingWindowInSeconds' failed to satisfy constraint: Member must have value less than or equal to 300",
            row.maximum_batching_window_seconds
        )));
    }
    if row.batch_size > 10 && row.maximum_batching_window_seconds < 1 {
        return Err(FunctionError::InvalidParameter(
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10".into(),
        ));
    }
    if let Some(concurrency) = row.maximum_concurrency {
        if !(2..=1000).contains(&concurrency) {
            return Err(FunctionError::Validation(format!(
                "1 validation error detected: Value '{concurrency}' at 'scalingConfig.maximumConcurrency' failed to satisfy constraint: Member must have value between 2 and 1000"
            )));
        }
    }
    if !wharf_types::Arn::is_of(&row.event_source_arn, "sqs") {
        return Err(FunctionError::InvalidParameter(format!(
            "wharf maps SQS queues to functions; unsupported event source {}",
            row.event_source_arn
        )));
    }
    Ok(())
}

fn apply(row: &mut MappingRow, change: MappingChange) {
    if let Some(value) = change.batch_size {
        row.batch_size = value;
    }
    if let Some(value) = change.maximum_batching_window_seconds {
        row.maximum_batching_window_seconds = value;
    }
    if let Some(value) = change.report_batch_item_failures {
        row.report_batch_item_failures = value;
    }
    if let Some(value) = change.maximum_concurrency {
        row.maximum_concurrency = value;
    }
    if let Some(value) = change.filters {
        row.filters = value;
    }
    if let Some(value) = change.enabled {
        row.enabled = value;
    }
}

impl Functions {
    /// CreateEventSourceMapping.
    pub async fn create_mapping(
        &self,
        function: &FunctionKey,
        qualifier: Option<String>,
        event_source_arn: String,
        change: MappingChange,
    ) -> Result<MappingRow, FunctionError> {
        let resolved = self.resolve(function, qualifier.as_deref())?;
        let mut row = MappingRow {
            uuid: uuid::Uuid::new_v4().hyphenated().to_string(),
            account: function.account.clone(),
            region: function.region.clone(),
            function: function.name.clone(),
            qualifier,
            event_source_arn,
            batch_size: 10,
            maximum_batching_window_seconds: 0,
            report_batch_item_failures: false,
            maximum_concurrency: None,
            filters: Vec::new(),
            enabled: true,
            last_modified: self.clock.now_millis(),
            last_processing_result: "No records processed".into(),
        };
        apply(&mut row, change);
        validate(&row)?;
        // Lambda reads the queue with the function's execution role: it must allow what the
        // pollers do (with auth enforced), as Lambda checks at creation.
        for action in ["ReceiveMessage", "DeleteMessage", "GetQueueAttributes"] {
            if self.role_permits(&resolved.writer(), &format!("sqs:{action}"), &row.event_source_arn).await.is_err() {
                return Err(FunctionError::InvalidParameter(format!(
                    "The provided execution role does not have permissions to call {action} on SQS"
                )));
            }
        }
        let _changes = self.changes.lock().await;
        let duplicate = self.mapping_list().into_iter().any(|existing| {
            existing.event_source_arn == row.event_source_arn
                && existing.function == row.function
                && existing.account == row.account
                && existing.region == row.region
                && existing.qualifier == row.qualifier
        });
        if duplicate {
            return Err(FunctionError::Conflict(format!(
                "An event source mapping with SQS arn (\" {} \") and function (\" {} \") already exists. Please update or delete the existing mapping with UUID {}",
                row.event_source_arn,
                row.function,
                self.mapping_list()
                    .into_iter()
                    .find(|existing| existing.event_source_arn == row.event_source_arn && existing.function == row.function)
                    .map(|existing| existing.uuid)
                    .unwrap_or_default()
            )));
        }
        self.store.put_mapping(&row).await?;
        self.mappings_table().insert(row.uuid.clone(), row.clone());
        self.mappings_changed.send_modify(|version| *version += 1);
        Ok(row)
    }

    fn mappings_table(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<String, MappingRow>> {
        self.mappings.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn mapping_list(&self) -> Vec<MappingRow> {
        self.mappings_table().values().cloned().collect()
    }

    /// Every mapping of every account, for the pollers.
    pub fn all_mappings(&self) -> Vec<MappingRow> {
        self.mapping_list()
    }

    /// One mapping.
    pub fn mapping(&self, uuid: &str) -> Result<MappingRow, FunctionError> {
        self.mappings_table().get(uuid).cloned().ok_or_else(|| mapping_not_found(uuid))
    }

    /// The mappings of an account and region, optionally of one source or function.
    pub fn list_mappings(
        &self,
        account: &str,
        region: &str,
        source: Option<&str>,
        function: Option<&str>,
    ) -> Vec<MappingRow> {
        self.mapping_list()
            .into_iter()
            .filter(|row| row.account == account && row.region == region)
            .filter(|row| source.is_none_or(|source| row.event_source_arn == source))
            .filter(|row| function.is_none_or(|function| row.function == function))
            .collect()
    }

    /// UpdateEventSourceMapping.
    pub async fn update_mapping(&self, uuid: &str, change: MappingChange) -> Result<MappingRow, FunctionError> {
        let _changes = self.changes.lock().await;
        let mut row = self.mapping(uuid)?;
        apply(&mut row, change);
        validate(&row)?;
        row.last_modified = self.clock.now_millis();
        self.store.put_mapping(&row).await?;
        self.mappings_table().insert(row.uuid.clone(), row.clone());
        self.mappings_changed.send_modify(|version| *version += 1);
        Ok(row)
    }

    /// DeleteEventSourceMapping: returns the mapping as it was.
    pub async fn delete_mapping(&self, uuid: &str) -> Result<MappingRow, FunctionError> {
        let _changes = self.changes.lock().await;
        let row = self.mapping(uuid)?;
        self.store.delete_mapping(uuid).await?;
        self.mappings_table().remove(uuid);
        self.mappings_changed.send_modify(|version| *version += 1);
        Ok(row)
    }

    /// Records the outcome of a mapping's latest batch (in memory only: it is a status line).
    pub fn note_mapping_result(&self, uuid: &str, result: &str) {
        if let Some(row) = self.mappings_table().get_mut(uuid) {
            if row.last_processing_result != result {
                row.last_processing_result = result.to_owned();
            }
        }
    }

    /// Changes whenever a mapping is created, updated or deleted.
    pub fn watch_mappings(&self) -> tokio::sync::watch::Receiver<u64> {
        self.mappings_changed.subscribe()
    }
}

fn mapping_not_found(uuid: &str) -> FunctionError {
    FunctionError::MappingNotFound(uuid.to_owned())
}
