//! The wharf CloudWatch Logs engine: groups, streams, events, retention
