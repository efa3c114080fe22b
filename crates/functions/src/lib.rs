//! The wharf Lambda engine: the function registry, versions and aliases, invocations and the
//! supervisor of execution environments (local processes speaking the Runtime API).
//!
//! The engine knows nothing of HTTP or JSON: `wharf-api-lambda` decodes the Lambda API into the
//! calls below, `wharf-api-runtime` serves each environment's Runtime API over a
//! [`session::RuntimeSession`], and `wharf-links` connects logs, the asynchronous-invocation
//! queue and destinations through the traits in [`ports`].
//!
//! # Layout
//! - [`name`]: function names and references (`name`, `name:qualifier`, ARNs).
//! - [`registry`]: create, update, publish, aliases, permissions, tags, concurrency and
//!   asynchronous settings; every change is stored before it is answered.
//! - [`invoke`]: synchronous and asynchronous invocation, retries and destinations.
//! - [`mappings`]: event source mappings (the pollers live in `wharf-links`).
//! - [`supervisor`]: environment pools and concurrency limits.
//! - [`environment`]: one process, its Runtime API server and its log pump.
//! - [`session`]: the Runtime API state machine of one environment.
//! - [`runtimes`]: runtime identifiers to command lines; the Python SDK for functions.
//! - [`code`]: content-addressed code packages.
//! - [`ports`]: the traits the wiring implements.
//! - [`error`]: the engine's error type, `FunctionError`.

pub mod code;
pub mod environment;
pub mod error;
pub mod invoke;
pub mod isolation;
pub mod mappings;
pub mod name;
pub mod ports;
pub mod registry;
pub mod runtimes;
pub mod session;
pub mod supervisor;

pub use error::FunctionError;
pub use invoke::{InvokeRequest, InvokeResult};
pub use name::{FunctionName, FunctionRef};
pub use registry::{FunctionUpdate, NewFunction, Resolved};
pub use session::Outcome;
/// The records of functions, versions, aliases, permissions, event-invoke settings and mappings,
/// as the engine keeps them (the protocol layer renders them without depending on the store).
pub use wharf_store::functions::{AliasRow, EventInvokeConfigRow, FunctionRow, MappingRow, PermissionRow, VersionRow};

use ports::{Destinations, InvocationQueue, LogSink, RuntimeHost};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;
use wharf_store::functions::FunctionStore;
use wharf_types::Clock;

/// Settings of the functions engine.
#[derive(Clone, Debug)]
pub struct FunctionsConfig {
    /// Environments the whole account may run at once (Lambda's account concurrency).
    pub account_concurrency: usize,
    /// How long an idle environment is kept warm.
    pub idle_timeout: Duration,
    /// How long a function's initialization may take.
    pub init_timeout: Duration,
    /// Seconds before the first retry of a failed asynchronous invocation; the second waits
    /// twice as long (Lambda: about one and two minutes).
    pub async_retry_delay_seconds: u32,
    /// Where function packages are kept.
    pub code_dir: PathBuf,
    /// Where wharf writes its runtime bootstraps.
    pub runtime_dir: PathBuf,
    /// Runtime interpreters and the Python SDK.
    pub runtimes: runtimes::RuntimeSettings,
    /// The URL functions reach wharf at (`AWS_ENDPOINT_URL`).
    pub endpoint_url: String,
    /// File-access limits of function processes; `None` leaves them unlimited.
    pub sandbox: Option<isolation::Sandbox>,
}

/// What a function's invocations came to since start-up.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FunctionCounters {
    /// Invocations that ran to an outcome.
    pub invocations: u64,
    /// Those whose outcome was an error (function, timeout, runtime).
    pub errors: u64,
    /// Invocations refused for concurrency.
    pub throttles: u64,
    /// Invocations that started a new environment.
    pub cold_starts: u64,
    /// Their total duration, in seconds.
    pub duration_seconds: f64,
}

/// Registry key of a function: account, region and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FunctionKey {
    /// Owner account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Name.
    pub name: String,
}

impl FunctionKey {
    /// The unqualified function ARN.
    pub fn arn(&self) -> String {
        format!("arn:aws:lambda:{}:{}:function:{}", self.region, self.account, self.name)
    }

    fn pool_name(&self) -> String {
        format!("{}/{}/{}", self.account, self.region, self.name)
    }
}

/// The functions engine.
pub struct Functions {
    store: Arc<dyn FunctionStore>,
    clock: Arc<dyn Clock>,
    config: FunctionsConfig,
    code: code::CodeStore,
    /// Every function; the store is the truth, this is its copy for reads. Changes take
    /// `changes` first, then write the store, then this map.
    registry: RwLock<HashMap<FunctionKey, FunctionRow>>,
    /// Serializes control-plane changes so read-modify-write of a record cannot interleave.
    changes: tokio::sync::Mutex<()>,
    supervisor: supervisor::Supervisor,
    python_sdk: runtimes::PythonSdk,
    host: Arc<dyn RuntimeHost>,
    logs: Arc<dyn LogSink>,
    /// Set once by the wiring; asynchronous invocations fail until then.
    queue: OnceLock<Arc<dyn InvocationQueue>>,
    /// Set once by the wiring; destination records are dropped (with a warning) until then.
    destinations: OnceLock<Arc<dyn Destinations>>,
    /// Set once by the wiring; environments get credentials of no role until then.
    roles: OnceLock<Arc<dyn ports::ExecutionRoles>>,
    /// How function processes are tied to their environment and to wharf, and the file-access
    /// limits when the machine enforces them: found by trying them, in the background from
    /// start-up (the first launch waits for it), so start-up does not wait for the probes.
    isolation: tokio::sync::OnceCell<Isolation>,
    /// The last seen stamp of each function's source directory (functions declared from a
    /// directory), to reload them when files change.
    source_stamps: std::sync::Mutex<HashMap<FunctionKey, u64>>,
    /// Event source mappings by UUID (the store is the truth).
    mappings: std::sync::Mutex<std::collections::BTreeMap<String, wharf_store::functions::MappingRow>>,
    /// Bumped on every mapping change, for the pollers' supervisor.
    mappings_changed: tokio::sync::watch::Sender<u64>,
    /// Invocations that ran to an outcome (for the health endpoint and benchmarks).
    completed: std::sync::atomic::AtomicU64,
    /// What each function's invocations came to since start-up (for `GET /metrics`).
    pub(crate) counters: std::sync::Mutex<std::collections::HashMap<FunctionKey, FunctionCounters>>,
}

/// What the probes found: how processes are contained and what they may read.
#[derive(Clone, Debug)]
struct Isolation {
    containment: isolation::Containment,
    sandbox: Option<isolation::Sandbox>,
}

/// The machine's containment, found once per process (a few milliseconds of trying: it
/// cannot change while wharf runs, and a reset need not try again).
async fn containment() -> isolation::Containment {
    static FOUND: tokio::sync::OnceCell<isolation::Containment> = tokio::sync::OnceCell::const_new();
    let found = FOUND
        .get_or_try_init(|| async {
            // A probe cut short (the runtime shutting down) is not remembered.
            let found = tokio::task::spawn_blocking(isolation::Containment::detect).await?;
            tracing::info!(containment = found.describe(), "function processes are contained by");
            Ok::<_, tokio::task::JoinError>(found)
        })
        .await;
    found.copied().unwrap_or(isolation::Containment::Plain)
}

/// The sandbox if it works on this machine, with a start-up line that says what functions can
/// reach. Private `/tmp` directories left by a previous run are removed first.
async fn check_sandbox(
    sandbox: Option<isolation::Sandbox>,
    containment: isolation::Containment,
) -> Option<isolation::Sandbox> {
    let Some(sandbox) = sandbox else {
        tracing::info!("function file access is not limited (functions.sandbox is off)");
        return None;
    };
    let checked = sandbox.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let _ = std::fs::remove_dir_all(&checked.scratch_dir);
        checked.check(containment)
    })
    .await;
    let outcome = match outcome {
        Ok(outcome) => outcome,
        // The runtime is shutting down: no function will start, nothing to say.
        Err(err) if err.is_cancelled() => return None,
        Err(err) => Err(err.to_string()),
    };
    match outcome {
        Ok(()) => {
            tracing::info!("function file access is limited by Landlock to their code, runtime, system directories and a private /tmp");
            Some(sandbox)
        }
        Err(reason) => {
            tracing::warn!(%reason, "function file access is not limited: functions can read what wharf's user can");
            None
        }
    }
}

impl Functions {
    /// Loads every stored function and writes the runtime bootstraps.
    pub async fn open(
        store: Arc<dyn FunctionStore>,
        clock: Arc<dyn Clock>,
        config: FunctionsConfig,
        host: Arc<dyn RuntimeHost>,
        logs: Arc<dyn LogSink>,
    ) -> Result<Arc<Functions>, FunctionError> {
        // Finding the installed Pythons runs each one once; do it off the request path.
        tokio::task::spawn_blocking(runtimes::warm_up_search);
        let rows = store.load_all().await?;
        let mapping_rows = store.load_mappings().await?;
        let code =
            code::CodeStore::open(config.code_dir.clone()).map_err(|err| FunctionError::Host(err.to_string()))?;
        write_bootstraps(&config.runtime_dir).map_err(|err| FunctionError::Host(err.to_string()))?;
        let registry = rows
            .into_iter()
            .map(|row| {
                (FunctionKey { account: row.account.clone(), region: row.region.clone(), name: row.name.clone() }, row)
            })
            .collect();
        let functions = Arc::new(Functions {
            store,
            clock,
            supervisor: supervisor::Supervisor::new(config.account_concurrency),
            config,
            code,
            registry: RwLock::new(registry),
            changes: tokio::sync::Mutex::new(()),
            python_sdk: runtimes::PythonSdk::default(),
            host,
            logs,
            queue: OnceLock::new(),
            destinations: OnceLock::new(),
            roles: OnceLock::new(),
            isolation: tokio::sync::OnceCell::new(),
            completed: std::sync::atomic::AtomicU64::new(0),
            counters: std::sync::Mutex::new(std::collections::HashMap::new()),
            source_stamps: std::sync::Mutex::new(HashMap::new()),
            mappings: std::sync::Mutex::new(mapping_rows.into_iter().map(|row| (row.uuid.clone(), row)).collect()),
            mappings_changed: tokio::sync::watch::Sender::new(0),
        });
        // Packages left behind by deletes before a crash, or by versions before this cleanup.
        functions.collect_packages();
        let probing = Arc::downgrade(&functions);
        tokio::spawn(async move {
            if let Some(functions) = probing.upgrade() {
                functions.isolation().await;
            }
        });
        Ok(functions)
    }

    /// The containment and sandbox of function processes, probed on first use.
    async fn isolation(&self) -> &Isolation {
        self.isolation
            .get_or_init(|| async {
                let containment = containment().await;
                let sandbox = check_sandbox(self.config.sandbox.clone(), containment).await;
                Isolation { containment, sandbox }
            })
            .await
    }

    /// Connects the asynchronous-invocation queue.
    pub fn set_queue(&self, queue: Arc<dyn InvocationQueue>) {
        let _ = self.queue.set(queue);
    }

    /// Connects STS, for the execution roles' credentials.
    pub fn set_execution_roles(&self, roles: Arc<dyn ports::ExecutionRoles>) {
        let _ = self.roles.set(roles);
    }

    /// Whether Lambda may assume `role_arn` (`None`: no such role, or no IAM connected).
    pub fn lambda_may_assume(&self, role_arn: &str) -> Option<bool> {
        self.roles.get()?.lambda_may_assume(role_arn)
    }

    /// Whether `role` may perform `action` on `resource_arn`, as the connected IAM decides
    /// (`Ok` with auth off or only logged, or no IAM connected).
    pub async fn role_permits(
        &self,
        role: &ports::FunctionRole,
        action: &str,
        resource_arn: &str,
    ) -> Result<(), String> {
        match self.roles.get() {
            Some(roles) => roles.permits(role, action, resource_arn).await,
            None => Ok(()),
        }
    }

    /// Connects destinations and dead-letter queues.
    pub fn set_destinations(&self, destinations: Arc<dyn Destinations>) {
        let _ = self.destinations.set(destinations);
    }

    /// The zip of a stored code package (`code_id` as in `VersionRow::code_id`), for
    /// `Code.Location` downloads; `None` for unknown ids and for directory sources.
    pub fn package_zip(&self, code_id: &str) -> Option<Vec<u8>> {
        if code_id.is_empty() || !code_id.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return None;
        }
        self.code.zip(code_id).ok()
    }

    /// Each function's invocation counters since start-up, by function.
    pub fn counters(&self) -> Vec<(FunctionKey, FunctionCounters)> {
        let counters = self.counters.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut listed: Vec<_> = counters.iter().map(|(key, counters)| (key.clone(), *counters)).collect();
        listed.sort_by(|a, b| a.0.cmp(&b.0));
        listed
    }

    /// How many execution environments (function processes) exist now.
    pub fn environments_running(&self) -> usize {
        self.supervisor.counts("").1
    }

    /// Counts one invocation's outcome for `key`.
    pub(crate) fn count(&self, key: &FunctionKey, change: impl FnOnce(&mut FunctionCounters)) {
        let mut counters = self.counters.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match counters.get_mut(key) {
            Some(entry) => change(entry),
            None => change(counters.entry(key.clone()).or_default()),
        }
    }

    /// How many invocations ran to an outcome since start-up.
    pub fn invocations_completed(&self) -> u64 {
        self.completed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The engine's settings.
    pub fn config(&self) -> &FunctionsConfig {
        &self.config
    }

    /// Reloads functions whose source directory changed since the last call: they get the new
    /// code as a new revision, so the next invocation starts a fresh environment. Returns the
    /// names reloaded.
    pub async fn reload_changed_sources(&self) -> Vec<String> {
        let sourced: Vec<(FunctionKey, String)> = self
            .read_registry()
            .iter()
            .filter_map(|(key, row)| row.latest.source_dir.clone().map(|dir| (key.clone(), dir)))
            .collect();
        let mut reloaded = Vec::new();
        for (key, dir) in sourced {
            let Ok(stamp) = code::directory_stamp(std::path::Path::new(&dir)) else { continue };
            let previous =
                self.source_stamps.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(key.clone(), stamp);
            if previous.is_some_and(|previous| previous != stamp) {
                let source = registry::CodeSource::Directory(PathBuf::from(&dir));
                match self.update_code(&key, source, false, None).await {
                    Ok(_) => reloaded.push(key.name.clone()),
                    Err(err) => {
                        tracing::warn!(function = %key.name, error = %err, "reloading the function's code failed")
                    }
                }
            }
        }
        reloaded
    }

    /// Stops idle environments past the idle timeout; returns how many.
    pub fn reap_idle(&self) -> usize {
        self.supervisor.reap(self.config.idle_timeout)
    }

    /// Stops every idle environment and waits (briefly) for their processes to exit.
    pub async fn shut_down(&self) {
        runtimes::cancel_search();
        let stopped = self.supervisor.stop_all();
        for environment in stopped {
            let _ = tokio::time::timeout(Duration::from_secs(2), environment.wait_exit()).await;
        }
    }

    fn read_registry(&self) -> std::sync::RwLockReadGuard<'_, HashMap<FunctionKey, FunctionRow>> {
        self.registry.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_registry(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<FunctionKey, FunctionRow>> {
        self.registry.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Writes wharf's bootstraps for Python and Node.js under `dir`.
fn write_bootstraps(dir: &std::path::Path) -> std::io::Result<()> {
    for (sub, file, text) in
        [("python", "bootstrap.py", runtimes::PYTHON_BOOTSTRAP), ("node", "bootstrap.js", runtimes::NODE_BOOTSTRAP)]
    {
        let target = dir.join(sub);
        std::fs::create_dir_all(&target)?;
        let path = target.join(file);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
            let temporary = target.join(format!(".{file}.tmp"));
            std::fs::write(&temporary, text)?;
            std::fs::rename(&temporary, &path)?;
        }
    }
    Ok(())
}
