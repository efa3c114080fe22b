//! Output that can never fail a request: log lines and the start-up line are written with
//! errors ignored and counted, because stderr may be a closed pipe (`wharf serve 2>&1 | head`)
//! or a file on a full disk, and `eprintln!`/`println!` panic there.

use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Log lines that could not be written since start.
static DROPPED_LINES: AtomicU64 = AtomicU64::new(0);

/// How many log lines could not be written since the process started.
pub fn dropped_lines() -> u64 {
    DROPPED_LINES.load(Ordering::Relaxed)
}

/// A `tracing` writer to stderr that drops what it cannot write.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stderr;

impl<'writer> tracing_subscriber::fmt::MakeWriter<'writer> for Stderr {
    type Writer = Stderr;

    fn make_writer(&'writer self) -> Stderr {
        Stderr
    }
}

impl std::io::Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The formatter hands over one whole line per event.
        if std::io::stderr().write_all(buf).is_err() {
            DROPPED_LINES.fetch_add(1, Ordering::Relaxed);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// Starts the log: `filter` in EnvFilter syntax, lines as text (coloured only when stderr is a
/// terminal, so log files hold no escape codes) or JSON objects.
pub fn init(filter: &str, format: crate::config::LogFormat) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_new(filter).context("invalid log filter")?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(Stderr).log_internal_errors(false);
    match format {
        crate::config::LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        crate::config::LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).init(),
    }
    Ok(())
}

/// Writes one line to stdout, ignoring a closed or full stdout.
pub fn write_stdout_line(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// Writes one line to stderr, ignoring a closed or full stderr.
pub fn write_stderr_line(line: &str) {
    if writeln!(std::io::stderr().lock(), "{line}").is_err() {
        DROPPED_LINES.fetch_add(1, Ordering::Relaxed);
    }
}

/// The soft limit on open files of this process, from `/proc/self/limits` (Linux).
pub fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|line| line.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files").split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_open_file_limit_is_read() {
        assert!(super::open_file_limit().is_some_and(|limit| limit > 0));
    }
}
