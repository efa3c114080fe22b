//! What can go wrong in the rules engine, in domain words.
//!
//! [`EventsError`] fails a whole request; [`EntryProblem`] and [`TargetProblem`] are expected
//! outcomes for one entry of a batch (PutEvents, PutTargets), reported beside the successes.
//! The AWS code of each is chosen in `api/events/src/error.rs`.

/// A failure of a whole rules-engine call.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// No rule of this name on this bus.
    #[error("Rule {rule} does not exist on EventBus {bus}.")]
    RuleNotFound {
        /// The rule's name.
        rule: String,
        /// The bus's name.
        bus: String,
    },
    /// No event bus of this name.
    #[error("Event bus {0} does not exist.")]
    BusNotFound(String),
    /// CreateEventBus of a name that exists.
    #[error("Event bus {0} already exists.")]
    BusExists(String),
    /// The event pattern does not parse; the text is AWS's.
    #[error("{0}")]
    InvalidPattern(String),
    /// A parameter is invalid; the text says which and why.
    #[error("{0}")]
    Validation(String),
    /// DeleteRule of a rule that still has targets.
    #[error("Rule can't be deleted since it has targets.")]
    RuleHasTargets,
    /// Too many rules, targets or buses.
    #[error("The requested resource exceeds the maximum number allowed.")]
    LimitExceeded,
    /// Something else the request names does not exist; the text says what.
    #[error("{0}")]
    NotFound(String),
    /// The resource exists already; the text says which.
    #[error("{0}")]
    AlreadyExists(String),
    /// Another resource depends on this one; the text says how.
    #[error("{0}")]
    ConcurrentModification(String),
    /// The resource is not in a state that allows the operation.
    #[error("{0}")]
    IllegalStatus(String),
    /// PutPermission would make the bus's policy longer than AWS allows.
    #[error("The policy length exceeds the limit of 10240 characters.")]
    PolicyTooLong,
    /// The store failed.
    #[error("storage failure: {0}")]
    Storage(String),
}

impl From<wharf_store::StoreError> for EventsError {
    fn from(err: wharf_store::StoreError) -> Self {
        EventsError::Storage(err.to_string())
    }
}

/// Why one PutEvents entry was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EntryProblem {
    /// `Source` is missing or empty.
    #[error("Parameter Source is not valid. Reason: Source is a required argument.")]
    MissingSource,
    /// `DetailType` is missing or empty.
    #[error("Parameter DetailType is not valid. Reason: DetailType is a required argument.")]
    MissingDetailType,
    /// `Detail` is missing or empty.
    #[error("Parameter Detail is not valid. Reason: Detail is a required argument.")]
    MissingDetail,
    /// `Detail` is not a JSON object.
    #[error("Detail is malformed.")]
    MalformedDetail,
}

/// Why one target of PutTargets or RemoveTargets was not applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetProblem {
    /// The ARN names none of the targets wharf delivers to.
    #[error(
        "Target {id}: wharf delivers only to Lambda functions, SQS queues, event buses and log groups, not to {arn}"
    )]
    UnsupportedTarget {
        /// The target id.
        id: String,
        /// Its ARN.
        arn: String,
    },
}
