//! The `wharf` command line: `serve` runs the server, `bench` measures an SQS endpoint,
//! `completions` prints a shell completion script.

use crate::{bench, logging, sandbox, serve};
use clap::builder::BoolishValueParser;
use clap::{ArgAction, Parser, Subcommand};

use std::path::PathBuf;

/// The version and the commit it was built from (`unknown` outside a git checkout).
pub(crate) const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("WHARF_COMMIT"), ")");

/// wharf: Amazon SQS, Lambda, EventBridge, CloudWatch Logs, IAM and STS as one self-hosted
/// binary.
#[derive(Parser, Debug)]
#[command(version = VERSION, about)]
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
    /// Prints a completion script for a shell (`wharf completions bash > /etc/bash_completion.d/wharf`).
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Internal: the innermost wrapper of a function's process (see sandbox.rs).
    #[command(name = "sandbox-exec", hide = true)]
    SandboxExec(sandbox::SandboxArgs),
}

/// `wharf serve` flags. Each overrides the configuration file and has an environment variable.
#[derive(clap::Args, Clone, Debug, Default)]
pub(crate) struct ServeArgs {
    /// Address and port to listen on [default: 127.0.0.1:4566].
    #[arg(long, env = "WHARF_BIND")]
    pub(crate) bind: Option<String>,
    /// Directory of the embedded store [default: ./wharf-data].
    #[arg(long, env = "WHARF_DATA_DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Keep nothing on disk.
    #[arg(long, env = "WHARF_IN_MEMORY", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub(crate) in_memory: bool,
    /// A TOML configuration file.
    #[arg(long, env = "WHARF_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// The account id of every resource [default: 000000000000].
    #[arg(long, env = "WHARF_ACCOUNT_ID")]
    pub(crate) account_id: Option<String>,
    /// The region of unsigned requests [default: us-east-1].
    #[arg(long, env = "WHARF_REGION")]
    pub(crate) region: Option<String>,
    /// Log filter [default: info].
    #[arg(long, env = "WHARF_LOG")]
    pub(crate) log: Option<String>,
    /// Log lines as `text` or `json` [default: text].
    #[arg(long, env = "WHARF_LOG_FORMAT")]
    pub(crate) log_format: Option<crate::config::LogFormat>,
    /// Allow listening on a non-loopback address although requests are not authenticated:
    /// anyone who reaches the port can run code as wharf's functions and read all its data.
    #[arg(long, env = "WHARF_ALLOW_UNAUTHENTICATED_REMOTE", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub(crate) allow_unauthenticated_remote: bool,
    /// How requests are authenticated and authorized: off (any credentials, everything
    /// allowed), log (checked and logged, nothing refused) or enforce [default: off].
    #[arg(long, env = "WHARF_AUTH")]
    pub(crate) auth: Option<crate::config::AuthModeSetting>,
    /// Open databases whose write-ahead log is damaged, losing the committed transactions after
    /// the damage (wharf refuses to start on them otherwise).
    #[arg(long, env = "WHARF_ACCEPT_DAMAGED_WAL", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub(crate) accept_damaged_wal: bool,
    /// Let `POST /_wharf/clock` move this server's clock forward, so a test suite can check
    /// retention, visibility and schedules without waiting. For tests only: anyone who reaches
    /// the port can then expire every message.
    #[arg(long, env = "WHARF_TEST_CLOCK", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub(crate) test_clock: bool,
}

/// Parses the arguments and runs the command.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Bench(args) => bench::run(args),
        Command::SandboxExec(args) => sandbox::run(args),
        Command::Completions { shell } => {
            use clap::CommandFactory as _;
            clap_complete::generate(shell, &mut Cli::command(), "wharf", &mut std::io::stdout());
            Ok(())
        }
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // A user's error (a bad flag value, a held data directory, a port in use) is its
        // message and its causes on one line, never a backtrace, whatever RUST_BACKTRACE says.
        Err(err) => {
            logging::write_stderr_line(&format!("wharf: {err:#}"));
            std::process::ExitCode::FAILURE
        }
    }
}
