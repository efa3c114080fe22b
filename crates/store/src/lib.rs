//! The storage interface of the wharf queue engine, written in the engine's language.
//!
//! The trait [`QueueStore`] works at the level of queue operations (send, receive, delete,
//! change visibility, purge), not keys and values: a PostgreSQL backend can claim messages with
//! `FOR UPDATE SKIP LOCKED`, and the embedded backend can keep an in-memory index in front of
//! its journal. Validation, defaults, digests and long-poll waiting live in the engine above
//! this trait; visibility, delay and retention bookkeeping live below it.
//!
//! # Layout
//! - [`model`]: the row types every backend stores.
//! - [`memory`]: the in-memory state machine, used by `--in-memory` and by the embedded
//!   durable store, which replays its journal into it.
//! - [`conformance`]: the suite every backend runs.
//! - [`model_check`]: the model-based test every backend runs: random operations checked
//!   step by step against a reference model.

pub mod archives;
pub mod conformance;
pub mod events;
pub mod functions;
pub mod iam;
pub mod logs;
pub mod memory;
pub mod model;
pub mod model_check;
pub mod schedules;

use async_trait::async_trait;
use wharf_types::{AccountId, EpochMillis, QueueKey, Region};

pub use model::*;

/// A failure of the storage layer itself, never a domain outcome.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The queue addressed by id no longer exists (deleted concurrently).
    #[error("queue {0} does not exist")]
    QueueGone(QueueId),
    /// The record changed since it was read; the caller re-reads and retries.
    #[error("queue record changed concurrently")]
    Conflict,
    /// The backend cannot guarantee durability any more (an IO error on commit); every later
    /// call fails the same way until restart.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// Storage for queues and their messages.
///
/// Every method that changes state returns only after the change is durable (for a durable
/// backend): an answered call survives a crash.
#[async_trait]
pub trait QueueStore: Send + Sync + 'static {
    /// Creates a queue, or reports the existing one of the same key.
    ///
    /// `reuse_after_ms` is how long a deleted queue's name stays blocked.
    async fn create_queue(&self, new_queue: NewQueue, reuse_after_ms: u64) -> Result<CreateOutcome, StoreError>;

    /// The queue of `key`, if it exists.
    async fn queue(&self, key: &QueueKey) -> Result<Option<QueueRecord>, StoreError>;

    /// Every queue of an account and region whose name starts with `prefix`, sorted by name.
    async fn list_queues(
        &self,
        account: &AccountId,
        region: &Region,
        prefix: &str,
    ) -> Result<Vec<QueueRecord>, StoreError>;

    /// Every queue of every account and region, for start-up work such as resuming tasks.
    async fn all_queues(&self) -> Result<Vec<QueueRecord>, StoreError>;

    /// Replaces a queue's settings and tags if its `version` is still `record.version`;
    /// returns the stored record with the next version.
    async fn update_queue(&self, record: QueueRecord) -> Result<QueueRecord, StoreError>;

    /// Deletes a queue and its messages; false if it did not exist.
    async fn delete_queue(&self, key: &QueueKey, now: EpochMillis) -> Result<bool, StoreError>;

    /// Appends messages in order; on FIFO queues a message whose deduplication id was seen
    /// within the window is not appended. One outcome per message.
    async fn send(
        &self,
        queue: QueueId,
        messages: Vec<NewMessage>,
        now: EpochMillis,
    ) -> Result<Vec<SendOutcome>, StoreError>;

    /// Claims up to `request.max` visible messages, hiding each until
    /// `request.now + request.visibility_ms` and counting the receive.
    async fn receive(&self, queue: QueueId, request: ReceiveRequest) -> Result<ReceiveOutcome, StoreError>;

    /// Deletes messages by receipt; one outcome per receipt, in order.
    async fn delete(
        &self,
        queue: QueueId,
        receipts: Vec<Receipt>,
        now: EpochMillis,
    ) -> Result<Vec<DeleteOutcome>, StoreError>;

    /// Changes the visibility of in-flight messages; one outcome per entry, in order.
    async fn change_visibility(
        &self,
        queue: QueueId,
        changes: Vec<(Receipt, u64)>,
        now: EpochMillis,
    ) -> Result<Vec<ChangeOutcome>, StoreError>;

    /// Deletes every message of the queue, in flight or not.
    async fn purge(&self, queue: QueueId, now: EpochMillis) -> Result<(), StoreError>;

    /// The approximate message counts of a queue.
    async fn stats(&self, queue: QueueId, now: EpochMillis) -> Result<QueueStats, StoreError>;

    /// Drops every message past its queue's retention period; returns how many.
    async fn expire(&self, now: EpochMillis) -> Result<u64, StoreError>;

    /// Deletes every queue and message of every account (`POST /_wharf/reset`), durably.
    async fn clear(&self) -> Result<(), StoreError>;

    /// Whether the store can write now; why not otherwise (for the health answer).
    fn health(&self) -> Result<(), String> {
        Ok(())
    }

    /// Makes the on-disk files complete by themselves (a clean stop): a durable store copies
    /// its write-ahead log into the database.
    async fn checkpoint(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
