//! The engine's failures, in domain words. The SQS protocol crate picks each one's AWS code.

use wharf_store::StoreError;

/// Why a queue operation failed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum QueueError {
    /// The addressed queue does not exist (never created, or deleted).
    #[error("The specified queue does not exist.")]
    QueueDoesNotExist,
    /// CreateQueue named an existing queue with other attribute values.
    #[error("A queue already exists with the same name and a different value for attribute {0}")]
    QueueNameExists(String),
    /// CreateQueue named a queue deleted less than the reuse delay ago.
    #[error("You must wait {0} seconds after deleting a queue before you can create another with the same name.")]
    QueueDeletedRecently(u64),
    /// An attribute name that does not exist or does not apply.
    #[error("Unknown Attribute {0}.")]
    InvalidAttributeName(String),
    /// A FIFO-only attribute given for a standard queue (`InvalidAttributeName` on the wire).
    #[error("You can specify the {0} only when FifoQueue is set to true.")]
    FifoOnlyAttribute(String),
    /// An attribute value out of range or malformed; the text says which.
    #[error("{0}")]
    InvalidAttributeValue(String),
    /// A request parameter out of range or malformed; the text says which.
    #[error("{0}")]
    InvalidParameterValue(String),
    /// A required parameter is missing.
    #[error("The request must contain the parameter {0}.")]
    MissingParameter(String),
    /// The body or a string attribute holds a character SQS does not allow.
    #[error("{0}")]
    InvalidMessageContents(String),
    /// The receipt handle is malformed or belongs to another queue.
    #[error("The input receipt handle \"{0}\" is not a valid receipt handle.")]
    ReceiptHandleIsInvalid(String),
    /// ChangeMessageVisibility on a message that is not in flight under this receipt.
    #[error("Message does not exist or is not available for visibility timeout change.")]
    MessageNotInflight,
    /// A second PurgeQueue within the purge interval.
    #[error("Only one PurgeQueue operation on {0} is allowed every 60 seconds.")]
    PurgeQueueInProgress(String),
    /// A limit of the queue or account is reached.
    #[error("{0}")]
    OverLimit(String),
    /// A batch request without entries.
    #[error("There should be at least one {0} in the request.")]
    EmptyBatchRequest(String),
    /// A batch request with more than ten entries.
    #[error("Maximum number of entries per request are 10. You have sent {0}.")]
    TooManyEntriesInBatchRequest(usize),
    /// Two batch entries share an id.
    #[error("Id {0} repeated.")]
    BatchEntryIdsNotDistinct(String),
    /// A batch entry id that is too long or has other characters.
    #[error("A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")]
    InvalidBatchEntryId,
    /// The entries of a batch add up to more than the size limit.
    #[error("Batch requests cannot be longer than {limit} bytes. You have sent {size} bytes.")]
    BatchRequestTooLong {
        /// The limit in bytes.
        limit: usize,
        /// What was sent.
        size: usize,
    },
    /// A move task or its source does not exist.
    #[error("{0}")]
    ResourceNotFound(String),
    /// A feature this wharf version does not provide yet.
    #[error("{0}")]
    UnsupportedOperation(String),
    /// The store failed; the request may be retried after the cause is fixed.
    #[error("internal storage error: {0}")]
    Storage(String),
}

impl From<StoreError> for QueueError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::QueueGone(_) => QueueError::QueueDoesNotExist,
            StoreError::Conflict => QueueError::Storage("concurrent update did not settle".into()),
            StoreError::Unavailable(message) => QueueError::Storage(message),
        }
    }
}
