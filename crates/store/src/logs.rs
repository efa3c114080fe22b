//! Storage of CloudWatch Logs groups, streams and events.
