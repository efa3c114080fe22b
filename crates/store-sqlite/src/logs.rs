//! The CloudWatch Logs store on SQLite.
