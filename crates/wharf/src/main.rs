//! The `wharf` command (crates/wharf/src/cli.rs has its arguments).

/// mimalloc: glibc's allocator fragmented under message churn and showed up at ~13 % of CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    wharf::cli::main()
}
