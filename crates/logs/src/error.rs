//! The logs engine's failures, in domain words.

use wharf_store::StoreError;

/// Why a logs operation failed.
///
/// Messages of the not-found and already-exists variants are AWS's own texts, which clients
/// and tests compare.
#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    /// The log group does not exist.
    #[error("The specified log group does not exist.")]
    GroupNotFound,
    /// The log stream does not exist.
    #[error("The specified log stream does not exist.")]
    StreamNotFound,
    /// CreateLogGroup of an existing name.
    #[error("The specified log group already exists")]
    GroupExists,
    /// CreateLogStream of an existing name.
    #[error("The specified log stream already exists")]
    StreamExists,
    /// A parameter is out of its range or malformed.
    #[error("{0}")]
    InvalidParameter(String),
    /// Something else the request names does not exist; the text says what.
    #[error("{0}")]
    NotFound(String),
    /// An account limit (resource policies per region) is reached.
    #[error("Resource limit exceeded.")]
    LimitExceeded,
    /// The store failed.
    #[error("storage failure: {0}")]
    Storage(#[from] StoreError),
}
