//! CloudWatch Logs wire protocol (awsJson1_1) for wharf
