//! Cross-engine glue: log capture, async-invoke destinations, queue-backed invocation queue
