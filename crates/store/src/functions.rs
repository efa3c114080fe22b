//! Storage of Lambda functions (their configuration, versions and aliases).
