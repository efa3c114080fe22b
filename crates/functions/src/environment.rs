//! One execution environment: a function process, its Runtime API server and its log pump.
//!
//! The process is started in the unpacked package directory with the environment Lambda sets.
//! It is wrapped as [`crate::isolation::Containment`] says, so it and everything it starts die
//! with the environment and with wharf, even when wharf is killed with SIGKILL. Its stdout and
//! stderr are read line by line by the log pump, which also writes the platform lines (START, END, REPORT) in order with the output
//! and keeps the current invocation's lines for `LogType: Tail`.
//!
//! The pump reads bytes, not UTF-8 lines: invalid sequences become U+FFFD (as Lambda shows
//! them) instead of ending the read, and a line longer than [`MAX_EVENT_BYTES`] is cut into
//! events of at most that size (on a character boundary), so one endless line costs bounded
//! memory.

use crate::ports::{LogLine, LogSink, RuntimeEndpoint, RuntimeHost};
use crate::session::{Outcome, RuntimeSession};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::{mpsc, oneshot};
use wharf_types::{AccountId, Clock, Region};

/// How many bytes of an invocation's log `LogType: Tail` returns.
pub const TAIL_BYTES: usize = 4096;

/// The largest log event the pump makes of one line of output; longer lines are split, as
/// Lambda splits output into events of at most 256 KB.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;

/// Everything needed to start an environment.
#[derive(Clone, Debug)]
pub struct LaunchSpec {
    /// The program and its arguments.
    pub command: Vec<String>,
    /// The working directory: the unpacked package.
    pub task_root: PathBuf,
    /// The complete environment of the process.
    pub env: BTreeMap<String, String>,
    /// Owner account, for the log sink.
    pub account: AccountId,
    /// Region, for the log sink.
    pub region: Region,
    /// Log group.
    pub log_group: String,
    /// Whose output it is: the function and the role Lambda writes its logs with.
    pub writer: crate::ports::FunctionRole,
    /// Lines to write to the log before the process's own (warnings about the runtime).
    pub preamble: Vec<String>,
    /// How `command` is wrapped, to find the function's own process under the wrappers.
    pub containment: crate::isolation::Containment,
    /// The environment's private `/tmp`, removed when its process is gone.
    pub scratch: Option<PathBuf>,
    /// When the environment stops being reused (epoch milliseconds on the engine's clock): a
    /// little before its role credentials expire, so no invocation runs with expired
    /// credentials (the process's environment variables cannot be renewed; a fresh environment
    /// gets fresh credentials).
    pub retire_at: Option<wharf_types::EpochMillis>,
}

/// Messages to the log pump, in order with the output it reads.
enum Control {
    /// A platform line that opens an invocation (START).
    Begin(String, oneshot::Sender<()>),
    /// Platform lines that close the invocation (END, REPORT); the pump first reads what the
    /// process already wrote. When `tail` is set, it answers with the invocation's last
    /// [`TAIL_BYTES`] of log.
    Finish { lines: Vec<String>, tail: Option<oneshot::Sender<String>> },
    /// A platform line outside an invocation.
    Line(String),
}

/// A running environment.
pub struct Environment {
    /// 32 hex digits, as in Lambda's log stream names.
    pub id: String,
    /// The log stream of this environment.
    pub log_stream: String,
    /// The Runtime API state.
    pub session: Arc<RuntimeSession>,
    /// The process id of the outermost process (a wrapper, when contained).
    pid: Option<u32>,
    /// How the process is wrapped.
    containment: crate::isolation::Containment,
    /// The function's own process under the wrappers, found at the first memory reading.
    main_pid: std::sync::OnceLock<u32>,
    /// When the process was started, for the Init Duration.
    pub started: Instant,
    /// Whether the next invocation is the first (reports the Init Duration).
    pub fresh: AtomicBool,
    /// Set when the environment must not be reused (timeout, crash, stopped).
    broken: AtomicBool,
    /// When its credentials are about to expire (epoch milliseconds): not reused after.
    retire_at: Option<wharf_types::EpochMillis>,
    /// The engine's clock, which `retire_at` is on.
    clock: Arc<dyn Clock>,
    /// To the log pump.
    control: mpsc::UnboundedSender<Control>,
    /// Kills the process when sent or dropped.
    kill: Mutex<Option<oneshot::Sender<()>>>,
    /// Keeps the Runtime API server up for the environment's life.
    _endpoint: RuntimeEndpoint,
    /// Resolves once the process is gone.
    exited: tokio::sync::watch::Receiver<bool>,
    /// When the environment last finished an invocation (milliseconds since `started`).
    pub last_used: Mutex<Instant>,
}

impl Environment {
    /// Starts the process of `spec`, serving its Runtime API through `host`.
    pub async fn launch(
        spec: &LaunchSpec,
        host: &dyn RuntimeHost,
        logs: Arc<dyn LogSink>,
        clock: Arc<dyn Clock>,
        log_stream: String,
        id: String,
        extra_env: impl FnOnce(&str) -> BTreeMap<String, String>,
    ) -> std::io::Result<Arc<Environment>> {
        let session = Arc::new(RuntimeSession::default());
        let endpoint = host.serve(Arc::clone(&session)).await?;
        let mut command = tokio::process::Command::new(&spec.command[0]);
        command
            .args(&spec.command[1..])
            .current_dir(&spec.task_root)
            .env_clear()
            .envs(&spec.env)
            .envs(extra_env(&endpoint.address))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(err) => {
                remove_scratch(spec.scratch.clone()).await;
                return Err(err);
            }
        };
        let scratch = spec.scratch.clone();
        let pid = child.id();
        if let Some(pid) = pid {
            session.set_owner(pid);
        }
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let (control, control_rx) = mpsc::unbounded_channel();
        for line in &spec.preamble {
            let _ = control.send(Control::Line(line.clone()));
        }
        let (writer, mut written) = mpsc::unbounded_channel::<Vec<LogLine>>();
        let (account, region, group, stream, acting) = (
            spec.account.clone(),
            spec.region.clone(),
            spec.log_group.clone(),
            log_stream.clone(),
            spec.writer.clone(),
        );
        // The group and the stream exist as soon as the environment does (one commit per cold
        // start); the lines follow within milliseconds, written by the task below.
        logs.append(&account, &region, &group, &stream, &acting, Vec::new()).await;
        tokio::spawn(async move {
            while let Some(mut lines) = written.recv().await {
                // Take whatever else queued up meanwhile: one append for all of it.
                while let Ok(more) = written.try_recv() {
                    lines.extend(more);
                }
                logs.append(&account, &region, &group, &stream, &acting, lines).await;
            }
        });
        let pump = LogPump { writer, clock: Arc::clone(&clock) };
        tokio::spawn(pump.run(stdout, stderr, control_rx));
        let (kill, killed) = oneshot::channel::<()>();
        let (exited_tx, exited) = tokio::sync::watch::channel(false);
        let watched_session = Arc::clone(&session);
        tokio::spawn(async move {
            let status = tokio::select! {
                status = child.wait() => status,
                _ = killed => {
                    let _ = child.start_kill();
                    child.wait().await
                }
            };
            let reason = match status {
                Ok(status) => match (status.code(), std::os::unix::process::ExitStatusExt::signal(&status)) {
                    (Some(code), _) => format!("exit status {code}"),
                    (None, Some(signal)) => format!("signal: {}", signal_name(signal)),
                    (None, None) => "exited".to_owned(),
                },
                Err(err) => format!("wait failed: {err}"),
            };
            watched_session.close_with(exit_error(&reason));
            // Marked gone at once, so no invocation picks the environment while its private
            // /tmp is being removed.
            let _ = exited_tx.send(true);
            remove_scratch(scratch).await;
        });
        Ok(Arc::new(Environment {
            id,
            log_stream,
            session,
            pid,
            containment: spec.containment,
            main_pid: std::sync::OnceLock::new(),
            started: Instant::now(),
            fresh: AtomicBool::new(true),
            broken: AtomicBool::new(false),
            retire_at: spec.retire_at,
            clock,
            control,
            kill: Mutex::new(Some(kill)),
            _endpoint: endpoint,
            exited,
            last_used: Mutex::new(Instant::now()),
        }))
    }

    /// Writes the START line of an invocation.
    ///
    /// Returns once the line is in place, so the event can be delivered: output the process
    /// writes from then on comes after it.
    pub async fn begin(&self, line: String) {
        let (ack, placed) = oneshot::channel();
        if self.control.send(Control::Begin(line, ack)).is_ok() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), placed).await;
        }
    }

    /// Writes the closing lines of an invocation after the output read so far; returns the
    /// tail of its log when asked.
    pub fn finish(&self, lines: Vec<String>, want_tail: bool) -> Option<oneshot::Receiver<String>> {
        let (tail, answer) = if want_tail {
            let (sender, receiver) = oneshot::channel();
            (Some(sender), Some(receiver))
        } else {
            (None, None)
        };
        let _ = self.control.send(Control::Finish { lines, tail });
        answer
    }

    /// Writes a platform line.
    pub fn line(&self, line: String) {
        let _ = self.control.send(Control::Line(line));
    }

    /// Marks the environment unusable and kills its process.
    pub fn stop(&self) {
        self.broken.store(true, Ordering::Release);
        if let Some(kill) = self.kill.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take() {
            let _ = kill.send(());
        }
    }

    /// Whether the environment can take another invocation.
    pub fn healthy(&self) -> bool {
        !self.broken.load(Ordering::Acquire)
            && !*self.exited.borrow()
            && self.retire_at.is_none_or(|retire_at| self.clock.now_millis() < retire_at)
    }

    /// Waits until the process is gone.
    pub async fn wait_exit(&self) {
        let mut exited = self.exited.clone();
        let _ = exited.wait_for(|gone| *gone).await;
    }

    /// The process's peak resident memory in MB, where the OS tells.
    pub fn peak_memory_mb(&self) -> Option<u64> {
        let outer = self.pid?;
        let pid = *self.main_pid.get_or_init(|| crate::isolation::main_process(outer, self.containment));
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
        let kilobytes: u64 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kilobytes.div_ceil(1024))
    }
}

impl Drop for Environment {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Removes an environment's private `/tmp`, off the async threads.
async fn remove_scratch(dir: Option<PathBuf>) {
    if let Some(dir) = dir {
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await;
    }
}

/// The error document of an environment whose process exited.
pub fn exit_error(reason: &str) -> Outcome {
    Outcome::Error {
        error_type: "Runtime.ExitError".into(),
        body: error_body("Runtime.ExitError", &format!("Runtime exited with error: {reason}")),
    }
}

/// A Lambda error document `{"errorType": …, "errorMessage": …}`, written without serde (the
/// engine stays free of JSON libraries; only these two strings are ever written).
pub fn error_body(error_type: &str, message: &str) -> bytes::Bytes {
    bytes::Bytes::from(format!(
        "{{\"errorType\":\"{}\",\"errorMessage\":\"{}\"}}",
        json_escape(error_type),
        json_escape(message)
    ))
}

/// Escapes a string for a JSON string literal.
pub fn json_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            control if (control as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", control as u32)),
            other => out.push(other),
        }
    }
    out
}

fn signal_name(signal: i32) -> String {
    match signal {
        9 => "killed".into(),
        15 => "terminated".into(),
        11 => "segmentation fault".into(),
        6 => "aborted".into(),
        other => format!("signal {other}"),
    }
}

/// Reads a process's output and writes it, with the platform lines, to the log sink.
struct LogPump {
    /// To the writer task.
    writer: mpsc::UnboundedSender<Vec<LogLine>>,
    clock: Arc<dyn Clock>,
}

/// The most lines the pump holds before writing them to the sink.
const PUMP_BATCH: usize = 256;

impl LogPump {
    async fn run(
        self,
        stdout: Option<tokio::process::ChildStdout>,
        stderr: Option<tokio::process::ChildStderr>,
        mut control: mpsc::UnboundedReceiver<Control>,
    ) {
        let mut stdout = stdout.map(LineReader::new);
        let mut stderr = stderr.map(LineReader::new);
        let mut buffer = Buffer { clock: Some(Arc::clone(&self.clock)), ..Buffer::default() };
        loop {
            // Control messages first: a START is sent before its event is delivered, so output
            // that reached the pipes after it must not be read before it.
            tokio::select! {
                biased;
                message = control.recv() => match message {
                    Some(Control::Begin(line, ack)) => {
                        // Output written before the invocation began (initialization) goes
                        // first; the event is delivered only after the acknowledgement.
                        drain(&mut stdout, &mut buffer).await;
                        drain(&mut stderr, &mut buffer).await;
                        buffer.current.clear();
                        buffer.current_bytes = 0;
                        buffer.in_invocation = true;
                        buffer.keep(line);
                        let _ = ack.send(());
                    }
                    Some(Control::Line(line)) => buffer.keep(line),
                    Some(Control::Finish { lines, tail }) => {
                        // What the process wrote before it answered is already in the pipes.
                        drain(&mut stdout, &mut buffer).await;
                        drain(&mut stderr, &mut buffer).await;
                        for line in lines {
                            buffer.keep(line);
                        }
                        buffer.in_invocation = false;
                        if let Some(tail) = tail {
                            let _ = tail.send(tail_of(&buffer.current));
                        }
                    }
                    None => {
                        // The environment is gone; write what is left of the output.
                        drain(&mut stdout, &mut buffer).await;
                        drain(&mut stderr, &mut buffer).await;
                        self.flush(&mut buffer.pending);
                        return;
                    }
                },
                line = next_line(&mut stdout) => match line {
                    Some(line) => buffer.keep(line),
                    None => stdout = None,
                },
                line = next_line(&mut stderr) => match line {
                    Some(line) => buffer.keep(line),
                    None => stderr = None,
                },
            }
            if !buffer.pending.is_empty() {
                // Output goes out as soon as the pipes are quiet, so `aws logs tail --follow`
                // sees long invocations progress; a busy process's lines go out in batches.
                if buffer.pending.len() < PUMP_BATCH {
                    drain(&mut stdout, &mut buffer).await;
                    drain(&mut stderr, &mut buffer).await;
                }
                self.flush(&mut buffer.pending);
            }
        }
    }

    /// Hands lines to the writer task, which appends them to the sink in order; the pump
    /// itself never waits for the sink (a commit), so it answers control messages at once.
    fn flush(&self, pending: &mut Vec<LogLine>) {
        if pending.is_empty() {
            return;
        }
        let _ = self.writer.send(std::mem::take(pending));
    }
}

type Lines<R> = Option<LineReader<R>>;

/// Reads a pipe as lines of at most [`MAX_EVENT_BYTES`], whatever its bytes.
///
/// Cancel-safe (the pump reads it inside `select!`): every byte taken from the buffer is
/// already in `partial` when a read is abandoned.
struct LineReader<R> {
    reader: BufReader<R>,
    /// The start of a line whose end has not arrived yet.
    partial: Vec<u8>,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    fn new(pipe: R) -> LineReader<R> {
        LineReader { reader: BufReader::with_capacity(64 * 1024, pipe), partial: Vec::new() }
    }

    /// The next line without its `\n` (or `\r\n`), or the next [`MAX_EVENT_BYTES`] of a longer
    /// one; `None` at the end of the pipe.
    async fn next_line(&mut self) -> std::io::Result<Option<String>> {
        loop {
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                if self.partial.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(text_of(std::mem::take(&mut self.partial))));
            }
            let room = MAX_EVENT_BYTES.saturating_sub(self.partial.len());
            let window = &available[..available.len().min(room)];
            if let Some(end) = window.iter().position(|&byte| byte == b'\n') {
                self.partial.extend_from_slice(&window[..end]);
                self.reader.consume(end + 1);
                if self.partial.last() == Some(&b'\r') {
                    self.partial.pop();
                }
                return Ok(Some(text_of(std::mem::take(&mut self.partial))));
            }
            let taken = window.len();
            self.partial.extend_from_slice(window);
            self.reader.consume(taken);
            if self.partial.len() >= MAX_EVENT_BYTES {
                let cut = char_boundary(&self.partial);
                let rest = self.partial.split_off(cut);
                return Ok(Some(text_of(std::mem::replace(&mut self.partial, rest))));
            }
        }
    }
}

/// Bytes as text, invalid sequences replaced by U+FFFD.
fn text_of(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
}

/// Where to cut `bytes` so that a multi-byte character at its end is not split: before the
/// last character when that one is incomplete.
fn char_boundary(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for back in 1..=3.min(len) {
        let byte = bytes[len - back];
        if byte & 0b1100_0000 != 0b1000_0000 {
            // A lead byte (or ASCII): how long its sequence is.
            let needed = match byte {
                0x00..=0x7F => 1,
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF7 => 4,
                _ => 1,
            };
            return if needed > back { len - back } else { len };
        }
    }
    len
}

/// The next line of a pipe; pending forever once the pipe is closed (`None` reported once).
async fn next_line<R: tokio::io::AsyncRead + Unpin>(pipe: &mut Lines<R>) -> Option<String> {
    match pipe {
        Some(lines) => lines.next_line().await.ok().flatten(),
        None => std::future::pending().await,
    }
}

/// Lines read but not yet written, and the current invocation's lines for the tail.
#[derive(Default)]
struct Buffer {
    clock: Option<Arc<dyn Clock>>,
    pending: Vec<LogLine>,
    current: Vec<String>,
    current_bytes: usize,
    in_invocation: bool,
}

impl Buffer {
    fn keep(&mut self, line: String) {
        if self.in_invocation {
            self.current_bytes += line.len() + 1;
            self.current.push(line.clone());
            // Twice the tail is enough to cut the last 4 KB from.
            while self.current_bytes > 2 * TAIL_BYTES && self.current.len() > 1 {
                self.current_bytes -= self.current[0].len() + 1;
                self.current.remove(0);
            }
        }
        let timestamp = self.clock.as_ref().map_or(0, |clock| clock.now_millis());
        self.pending.push(LogLine { timestamp, message: line });
    }
}

/// Reads the lines already waiting in a pipe without waiting for more.
async fn drain<R: tokio::io::AsyncRead + Unpin>(pipe: &mut Lines<R>, buffer: &mut Buffer) {
    let Some(lines) = pipe else { return };
    loop {
        tokio::select! {
            biased;
            line = lines.next_line() => match line {
                Ok(Some(line)) => buffer.keep(line),
                _ => {
                    *pipe = None;
                    return;
                }
            },
            _ = std::future::ready(()) => return,
        }
    }
}

/// The last [`TAIL_BYTES`] of an invocation's lines.
fn tail_of(lines: &[String]) -> String {
    let mut text = String::new();
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    if text.len() <= TAIL_BYTES {
        return text;
    }
    let mut start = text.len() - TAIL_BYTES;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_4_kb_on_a_character_boundary() {
        let lines = vec!["é".repeat(3000), "END".into()];
        let tail = tail_of(&lines);
        assert!(tail.len() <= TAIL_BYTES);
        assert!(tail.ends_with("END\n"));
        assert_eq!(tail_of(&["a".into()]), "a\n");
    }

    async fn lines_of(input: &[u8]) -> Vec<String> {
        let mut reader = LineReader::new(input);
        let mut lines = Vec::new();
        while let Some(line) = reader.next_line().await.expect("read") {
            lines.push(line);
        }
        lines
    }

    #[tokio::test]
    async fn invalid_utf8_is_replaced_and_reading_goes_on() {
        let lines = lines_of(b"ok\n\xff\xfe bad\r\nafter\nlast").await;
        assert_eq!(lines, ["ok", "\u{fffd}\u{fffd} bad", "after", "last"]);
    }

    #[tokio::test]
    async fn long_lines_are_split_on_character_boundaries() {
        let mut input = vec![b'a'; MAX_EVENT_BYTES - 1];
        input.extend("é".repeat(MAX_EVENT_BYTES).as_bytes());
        input.push(b'\n');
        input.extend(b"next\n");
        let lines = lines_of(&input).await;
        assert!(lines.iter().all(|line| line.len() <= MAX_EVENT_BYTES));
        assert_eq!(lines[0].len(), MAX_EVENT_BYTES - 1, "the é that would not fit moves to the next event");
        assert!(!lines.iter().any(|line| line.contains('\u{fffd}')));
        assert_eq!(lines.concat().len(), input.len() - 2, "every byte but the two newlines");
        assert_eq!(lines.last().map(String::as_str), Some("next"));
    }

    #[test]
    fn error_bodies_are_json() {
        assert_eq!(
            error_body("T", "a \"b\"\n"),
            bytes::Bytes::from_static(b"{\"errorType\":\"T\",\"errorMessage\":\"a \\\"b\\\"\\n\"}")
        );
    }
}
