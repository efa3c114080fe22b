//! The Lambda function registry on SQLite.
