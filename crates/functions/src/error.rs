//! What can go wrong in the functions engine, in domain words.
//!
//! Function errors (a handler that raised, timed out or crashed) are not here: they are
//! outcomes of an invocation ([`crate::InvokeResult`]), reported to the caller as a payload.

use wharf_store::StoreError;

/// A failed functions-engine operation.
#[derive(Debug, thiserror::Error)]
pub enum FunctionError {
    /// No function of this name exists.
    #[error("Function not found: {0}")]
    FunctionNotFound(String),
    /// The function exists but not the version or alias asked for.
    #[error("Function not found: {0}")]
    QualifierNotFound(String),
    /// No alias of this name exists.
    #[error("Cannot find alias arn: {0}")]
    AliasNotFound(String),
    /// A function or alias of this name already exists.
    #[error("{0}")]
    AlreadyExists(String),
    /// The request names a resource or state that conflicts (stale revision id, statement id in
    /// use).
    #[error("{0}")]
    Conflict(String),
    /// The revision id given does not match the current one.
    #[error("The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")]
    PreconditionFailed,
    /// A parameter breaks a constraint of the API model (range, pattern, enum).
    #[error("{0}")]
    Validation(String),
    /// A parameter is out of range or malformed.
    #[error("{0}")]
    InvalidParameter(String),
    /// The code package cannot be read as a zip archive.
    #[error("Could not unzip uploaded file. Please check your file, then try to upload again.")]
    InvalidZipFile(String),
    /// The payload is above the invocation type's limit.
    #[error("Request must be smaller than {limit} bytes for the {kind} operation")]
    RequestTooLarge {
        /// The limit in bytes.
        limit: usize,
        /// `InvokeFunction` or `InvokeAsync`-style wording.
        kind: &'static str,
    },
    /// The payload is not JSON.
    #[error("Could not parse request body into json: {0}")]
    InvalidRequestContent(String),
    /// No execution environment can be started: the function or the account is at its
    /// concurrency limit.
    #[error("Rate Exceeded.")]
    TooManyRequests {
        /// `ReservedFunctionConcurrentInvocationLimitExceeded` or
        /// `ConcurrentInvocationLimitExceeded`.
        reason: &'static str,
    },
    /// The function's runtime is one wharf cannot run on this machine.
    #[error("{0}")]
    InvalidRuntime(String),
    /// The resource policy has no statement of this id.
    #[error("No policy is associated with the given resource.")]
    PolicyNotFound,
    /// The statement id is not in the policy.
    #[error("Statement {0} is not found in resource policy.")]
    StatementNotFound(String),
    /// No event source mapping has this UUID.
    #[error("The resource you requested does not exist. (Service: Lambda, Status Code: 404, Request ID: {0})")]
    MappingNotFound(String),
    /// No asynchronous-invocation configuration exists for the function or qualifier.
    #[error("The function {0} doesn't have an EventInvokeConfig")]
    EventInvokeConfigNotFound(String),
    /// Starting a process or reading code failed on this machine.
    #[error("{0}")]
    Host(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
