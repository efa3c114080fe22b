//! The server inside a Rust program: a test starts wharf on an ephemeral loopback port, points
//! an SDK at [`EmbeddedWharf::endpoint`], and the server stops when the value is dropped.
//!
//! ```no_run
//! let wharf = wharf::embedded::EmbeddedWharf::start().expect("wharf starts");
//! let endpoint = wharf.endpoint(); // http://127.0.0.1:PORT
//! ```
//!
//! The server runs on its own thread with its own tokio runtime, so it works from plain tests
//! and from `#[tokio::test]` alike. It is the same server as `wharf serve` (every service, the
//! same configuration file format) with three differences: it keeps nothing on disk unless
//! told to, it logs only if the program has set up `tracing`, and function processes are not
//! sandboxed by Landlock (the sandbox's helper is the `wharf` executable, which a test binary
//! is not; processes are still contained in their PID namespace where the machine allows).

use crate::config::Config;
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;

/// How an embedded server starts.
#[derive(Clone, Debug)]
pub struct Options {
    /// Configuration (TOML, as `--config` takes it) on top of the defaults.
    pub config: Option<String>,
    /// Where relative paths of `config` (function directories) start.
    pub config_dir: Option<PathBuf>,
    /// Keep the stores in this directory instead of in memory.
    pub data_dir: Option<PathBuf>,
    /// Let `POST /_wharf/clock` move the server's time (default true).
    pub test_clock: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { config: None, config_dir: None, data_dir: None, test_clock: true }
    }
}

/// A running embedded server; dropping it stops the server and waits until it has stopped.
pub struct EmbeddedWharf {
    endpoint: String,
    front: std::sync::Arc<crate::serve::Front>,
    runtime: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<anyhow::Result<()>>>,
}

impl std::fmt::Debug for EmbeddedWharf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedWharf").field("endpoint", &self.endpoint).finish_non_exhaustive()
    }
}

impl EmbeddedWharf {
    /// An in-memory server with the default configuration and its test clock on.
    pub fn start() -> anyhow::Result<EmbeddedWharf> {
        EmbeddedWharf::start_with(Options::default())
    }

    /// A server as `options` say; returns once it accepts requests.
    pub fn start_with(options: Options) -> anyhow::Result<EmbeddedWharf> {
        let mut config = match &options.config {
            Some(text) => Config::from_toml(text, options.config_dir.as_deref())?,
            None => Config::load(None)?,
        };
        config.bind = "127.0.0.1:0".into();
        match options.data_dir {
            Some(dir) => {
                config.data_dir = dir;
                config.in_memory = false;
            }
            None => config.in_memory = true,
        }
        config.functions.sandbox = false;
        let (address_sender, address) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let test_clock = options.test_clock;
        let thread = std::thread::Builder::new().name("wharf-embedded".into()).spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            let shutdown = async move {
                let _ = stopped.await;
            };
            let announce = crate::serve::Announce::Channel(address_sender);
            let served = runtime.block_on(crate::serve::serve(config, test_clock, announce, shutdown, None));
            runtime.shutdown_timeout(std::time::Duration::from_millis(500));
            served
        })?;
        match address.recv() {
            Ok(started) => Ok(EmbeddedWharf {
                endpoint: format!("http://{}", started.local),
                front: started.front,
                runtime: started.runtime,
                stop: Some(stop),
                thread: Some(thread),
            }),
            // The server ended before it listened: its error says why.
            Err(_) => match thread.join() {
                Ok(Err(err)) => Err(err.context("starting the embedded wharf")),
                Ok(Ok(())) => Err(anyhow::anyhow!("the embedded wharf stopped before it listened")),
                Err(_) => Err(anyhow::anyhow!("the embedded wharf's thread panicked while starting")),
            },
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Empties every service's state, as `POST /_wharf/reset` does (the configuration's
    /// declared stack is applied again; the clock stays where it is). Callable from plain
    /// tests and from async ones: the reset runs on the server's own runtime.
    pub fn reset(&self) -> anyhow::Result<std::time::Duration> {
        let front = std::sync::Arc::clone(&self.front);
        let runtime = self.runtime.clone();
        std::thread::scope(|scope| {
            scope
                .spawn(move || runtime.block_on(front.reset()))
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the reset panicked")))
        })
    }

    /// Stops the server and waits for it; the error of a stop that did not go cleanly.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(anyhow::anyhow!("the embedded wharf's thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for EmbeddedWharf {
    fn drop(&mut self) {
        let _ = self.shut_down();
    }
}
