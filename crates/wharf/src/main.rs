//! The `wharf` command: `serve` runs the server, `bench` measures an SQS endpoint.

mod bench;
mod bench_functions;
mod config;
mod logging;
mod sandbox;
mod serve;
mod workers;

use clap::{Parser, Subcommand};

/// mimalloc: glibc's allocator fragmented under message churn and showed up at ~13 % of CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::path::PathBuf;

/// wharf: Amazon SQS (and, in time, Lambda, EventBridge and CloudWatch Logs) as one
/// self-hosted binary.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs the server.
    Serve(ServeArgs),
    /// Measures an SQS endpoint (wharf, another implementation, or AWS).
    Bench(bench::BenchArgs),
    /// Internal: the innermost wrapper of a function's process (see sandbox.rs).
    #[command(name = "sandbox-exec", hide = true)]
    SandboxExec(sandbox::SandboxArgs),
}

/// `wharf serve` flags. Each overrides the configuration file and has an environment variable.
#[derive(clap::Args, Debug, Default)]
pub struct ServeArgs {
    /// Address and port to listen on [default: 127.0.0.1:4566].
    #[arg(long, env = "WHARF_BIND")]
    bind: Option<String>,
    /// Directory of the embedded store [default: ./wharf-data].
    #[arg(long, env = "WHARF_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Keep nothing on disk.
    #[arg(long, env = "WHARF_IN_MEMORY")]
    in_memory: bool,
    /// A TOML configuration file.
    #[arg(long, env = "WHARF_CONFIG")]
    config: Option<PathBuf>,
    /// The account id of every resource [default: 000000000000].
    #[arg(long, env = "WHARF_ACCOUNT_ID")]
    account_id: Option<String>,
    /// The region of unsigned requests [default: us-east-1].
    #[arg(long, env = "WHARF_REGION")]
    region: Option<String>,
    /// Log filter [default: info].
    #[arg(long, env = "WHARF_LOG")]
    log: Option<String>,
    /// Allow listening on a non-loopback address although requests are not authenticated:
    /// anyone who reaches the port can run code as wharf's functions and read all its data.
    #[arg(long, env = "WHARF_ALLOW_UNAUTHENTICATED_REMOTE")]
    allow_unauthenticated_remote: bool,
    /// How requests are authenticated and authorized: off (any credentials, everything
    /// allowed), log (checked and logged, nothing refused) or enforce [default: off].
    #[arg(long, env = "WHARF_AUTH")]
    auth: Option<crate::config::AuthModeSetting>,
    /// Open databases whose write-ahead log is damaged, losing the committed transactions after
    /// the damage (wharf refuses to start on them otherwise).
    #[arg(long, env = "WHARF_ACCEPT_DAMAGED_WAL")]
    accept_damaged_wal: bool,
    /// Let `POST /_wharf/clock` move this server's clock forward, so a test suite can check
    /// retention, visibility and schedules without waiting. For tests only: anyone who reaches
    /// the port can then expire every message.
    #[arg(long, env = "WHARF_TEST_CLOCK")]
    test_clock: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Bench(args) => bench::run(args),
        Command::SandboxExec(args) => sandbox::run(args),
    }
}
