//! The two wire protocols, each decoding to [`crate::model::Operation`] and rendering
//! [`crate::output::Output`].

pub mod json;
pub mod query;

/// Which protocol a request speaks; the answer uses the same one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// awsJson1_0: `X-Amz-Target: AmazonSQS.<Op>`, JSON bodies.
    Json,
    /// The query protocol: form parameters with `Action=<Op>`, XML answers.
    Query,
}

#[cfg(test)]
mod tests;
