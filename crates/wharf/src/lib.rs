//! wharf: Amazon SQS, AWS Lambda, EventBridge, CloudWatch Logs, IAM and STS as one
//! self-hosted server. The `wharf` binary is [`cli`]; [`embedded`] runs the same server inside
//! a Rust program (a test), on an ephemeral port, stopped when dropped.
//!
//! # Layout
//! - [`cli`]: the command line (`serve`, `bench`, `completions`).
//! - `serve`: the server's start-up, wiring, reset and shutdown; `declare`: the declared stack;
//!   `reload`: applying the configuration file again on SIGHUP and when it changes.
//! - [`embedded`]: the server in-process.
//! - `config`: the configuration file; `logging`, `workers`, `sandbox`, `bench`.

mod bench;
mod bench_functions;
mod bench_schedules;
pub mod cli;
mod config;
mod declare;
pub mod embedded;
mod logging;
mod prometheus;
mod reload;
mod sandbox;
mod serve;
mod workers;
