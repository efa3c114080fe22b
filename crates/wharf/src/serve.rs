//! `wharf serve`: wires the store, the engines and the APIs to one listener.

use crate::cli::ServeArgs;
use crate::config::Config;
use anyhow::Context as _;
use std::sync::Arc;
use std::time::Duration;
use wharf_api_common::{ApiRequest, ApiResponse};
use wharf_api_events::EventsApi;
use wharf_api_lambda::LambdaApi;
use wharf_api_logs::LogsApi;
use wharf_api_sqs::SqsApi;
use wharf_functions::Functions;
use wharf_queue::{Engine, EngineConfig};
use wharf_store::QueueStore;
use wharf_types::{AccountId, Clock, OffsetClock, Region, SystemClock};

/// Runs the server until SIGINT or SIGTERM.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = configure(&args)?;
    // Log lines that cannot be written (stderr closed, disk full) are dropped and counted:
    // logging must never fail a request.
    crate::logging::init(&config.log, config.log_format)?;
    check_exposure(&config)?;
    wharf_store_sqlite::accept_damaged_wal(args.accept_damaged_wal);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    // The file is read again (with the same flags over it) on SIGHUP and when it changes.
    // Without a file SIGHUP still re-reads the settings (and must not end the process, as its
    // default action would).
    let reread = {
        let reread_args = args.clone();
        Some(Reread { path: args.config.clone(), read: Box::new(move || configure(&reread_args)) })
    };
    let served = runtime.block_on(serve(config, args.test_clock, Announce::Stdout, shutdown_signal(), reread));
    // Everything acknowledged is on disk and every database checkpointed by now; a blocking
    // task still running (a probe, a read for a connection that was cut) holds nothing that
    // must be kept, so the process does not wait long for it.
    runtime.shutdown_timeout(Duration::from_millis(500));
    served
}

/// The configuration file with the command's flags over it.
fn configure(args: &ServeArgs) -> anyhow::Result<Config> {
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(bind) = &args.bind {
        config.bind = bind.clone();
    }
    if let Some(data_dir) = &args.data_dir {
        config.data_dir = data_dir.clone();
    }
    if args.in_memory {
        config.in_memory = true;
    }
    if let Some(account_id) = &args.account_id {
        config.account_id = account_id.clone();
    }
    if let Some(region) = &args.region {
        config.region = region.clone();
    }
    if let Some(log) = &args.log {
        config.log = log.clone();
    }
    if let Some(format) = args.log_format {
        config.log_format = format;
    }
    if args.allow_unauthenticated_remote {
        config.server.allow_unauthenticated_remote = true;
    }
    if let Some(mode) = args.auth {
        config.auth.mode = mode;
    }
    Ok(config)
}

/// How a running server reads its configuration file again.
pub(crate) struct Reread {
    /// The file, watched for changes (none: only the defaults and flags).
    pub path: Option<std::path::PathBuf>,
    /// Reads it with the command's flags over it.
    pub read: Box<dyn Fn() -> anyhow::Result<Config> + Send + Sync>,
}

/// Holds `DATA_DIR/wharf.lock` for the process's life (an advisory lock the kernel releases when
/// the process dies, even of SIGKILL), with the holder's pid written in it: a second wharf on
/// the same directory is told which process has it, instead of SQLite's "database is locked".
fn lock_data_dir(data_dir: &std::path::Path) -> anyhow::Result<std::fs::File> {
    use std::io::{Read as _, Seek as _, Write as _};
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    let path = data_dir.join("wharf.lock");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let pid = if holder.is_empty() { String::new() } else { format!(" (pid {holder})") };
            anyhow::bail!(
                "another wharf process{pid} holds the data directory {}: stop it, or give this one another --data-dir (or --in-memory)",
                data_dir.display()
            );
        }
        Err(std::fs::TryLockError::Error(err)) => {
            return Err(err).with_context(|| format!("locking {}", path.display()));
        }
    }
    file.set_len(0)?;
    file.rewind()?;
    write!(file, "{}", std::process::id())?;
    file.flush()?;
    Ok(file)
}

/// How a started server tells its address.
pub(crate) enum Announce {
    /// The `wharf: listening on http://ADDR` line on standard output (the command).
    Stdout,
    /// Sent to the embedding program.
    Channel(std::sync::mpsc::Sender<Started>),
}

/// What an embedding program gets of a server that started.
pub(crate) struct Started {
    /// The bound address.
    pub local: std::net::SocketAddr,
    /// The server, for resets.
    pub front: Arc<Front>,
    /// The runtime it runs on.
    pub runtime: tokio::runtime::Handle,
}

/// What every stack of one server is built from: the configuration and the parts that outlive
/// a reset.
struct Setup {
    config: Config,
    account: AccountId,
    region: Region,
    clock: Arc<dyn Clock>,
    offset_clock: Option<OffsetClock>,
    /// The listener's address (SQS queue URLs name it).
    local: std::net::SocketAddr,
    /// The address functions and download links use.
    endpoint_url: String,
    /// How to read the configuration file again (`None`: no file, or an embedded server).
    reread: Option<Reread>,
    /// What the last applied configuration declared (`None` before the first apply: then
    /// `DATA_DIR/declared.json` says).
    last_declared: tokio::sync::Mutex<Option<crate::declare::Declared>>,
}

/// Runs the server of `config` until `shutdown` resolves, then stops it cleanly.
pub(crate) async fn serve(
    config: Config,
    test_clock: bool,
    announce: Announce,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    reread: Option<Reread>,
) -> anyhow::Result<()> {
    let account: AccountId = config.account_id.parse().context("account_id")?;
    let region: Region = config.region.parse().context("region")?;
    let offset_clock = test_clock.then(OffsetClock::new);
    let clock: Arc<dyn Clock> = match &offset_clock {
        Some(offset_clock) => {
            tracing::warn!("test clock on: POST /_wharf/clock moves this server's time forward (for tests only)");
            Arc::new(offset_clock.clone())
        }
        None => Arc::new(SystemClock),
    };
    // The address first: a port in use is refused before any file is created.
    let listener =
        tokio::net::TcpListener::bind(&config.bind).await.with_context(|| format!("binding {}", config.bind))?;
    let _data_dir_lock = if config.in_memory { None } else { Some(lock_data_dir(&config.data_dir)?) };
    let stores = Stores::open(&config, &clock)?;
    let local = listener.local_addr().context("reading the bound address")?;
    // The address functions and download links use: loopback when wharf listens on all interfaces.
    let endpoint_host = if local.ip().is_unspecified() {
        std::net::SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), local.port())
    } else {
        local
    };
    let endpoint_url = format!("http://{endpoint_host}");
    let limits = server_limits(&config);
    let declared = config.clone();
    let setup = Setup {
        config,
        account,
        region,
        clock,
        offset_clock,
        local,
        endpoint_url,
        reread,
        last_declared: tokio::sync::Mutex::new(None),
    };
    let stack = Stack::start(&setup, &stores, &declared).await?;
    let front = Arc::new(Front {
        current: tokio::sync::RwLock::new(Arc::clone(&stack.router)),
        live: tokio::sync::Mutex::new(Some(stack)),
        declared: tokio::sync::Mutex::new(declared),
        setup,
        stores,
        shutting_down: std::sync::atomic::AtomicBool::new(false),
    });
    // SIGHUP and changes of the file apply it again; both stop with the server.
    let watchers = crate::reload::watch(&front);
    // The line tests and scripts wait for: the server accepts requests from here on. (Not
    // `println!`, which panics when stdout is a closed pipe.)
    match announce {
        Announce::Stdout => crate::logging::write_stdout_line(&format!("wharf: listening on http://{local}")),
        Announce::Channel(sender) => {
            let _ =
                sender.send(Started { local, front: Arc::clone(&front), runtime: tokio::runtime::Handle::current() });
        }
    }
    tracing::info!(%local, "listening");
    let stopping_front = Arc::clone(&front);
    let shutdown = async move {
        shutdown.await;
        tracing::info!("shutting down");
        stopping_front.begin_shutdown().await;
    };
    wharf_api_common::server::serve(
        listener,
        Arc::clone(&front) as Arc<dyn wharf_api_common::Service>,
        limits,
        shutdown,
    )
    .await;
    for watcher in watchers {
        watcher.abort();
    }
    let stopping = std::time::Instant::now();
    if let Some(stack) = front.live.lock().await.take() {
        stack.stop().await;
    }
    tracing::debug!(elapsed_ms = stopping.elapsed().as_millis() as u64, "workers and function environments stopped");
    // A clean stop leaves every database complete by itself: no write-ahead log to replay (or
    // to be damaged) at the next start.
    front.stores.checkpoint().await;
    tracing::debug!(elapsed_ms = stopping.elapsed().as_millis() as u64, "databases checkpointed");
    Ok(())
}

/// The outcome of a store's opening thread.
fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, anyhow::Result<T>>) -> anyhow::Result<T> {
    handle.join().unwrap_or_else(|_| Err(anyhow::anyhow!("opening a store panicked")))
}

/// Every store of one server: opened once, emptied (not reopened) by a reset, so no file is
/// ever replaced under a connection that still has it open.
struct Stores {
    queues: Arc<dyn QueueStore>,
    /// Where data lives, for the health answer.
    storage: String,
    receipt_key: wharf_queue::receipt::ReceiptKey,
    functions: Arc<dyn wharf_store::functions::FunctionStore>,
    /// The private queue of asynchronous invocations.
    invocations: Arc<dyn QueueStore>,
    /// Where the functions engine keeps code, runtimes and environments.
    functions_base: std::path::PathBuf,
    /// An in-memory run's scratch directory for function files (deleted when it drops).
    _scratch: Option<tempfile::TempDir>,
    logs: Arc<dyn wharf_store::logs::LogStore>,
    events: Arc<dyn wharf_store::events::EventStore>,
    archives: Arc<dyn wharf_store::archives::ArchiveStore>,
    schedules: Arc<dyn wharf_store::schedules::ScheduleStore>,
    iam: Arc<dyn wharf_store::iam::IamStore>,
}

impl Stores {
    /// Opens every store of `config`: in memory, or in its data directory.
    fn open(config: &Config, clock: &Arc<dyn Clock>) -> anyhow::Result<Stores> {
        if config.in_memory {
            let scratch = tempfile::Builder::new()
                .prefix("wharf-functions-")
                .tempdir()
                .context("creating a scratch directory")?;
            return Ok(Stores {
                queues: Arc::new(wharf_store::memory::MemoryStore::new()),
                storage: "memory".into(),
                receipt_key: wharf_queue::receipt::ReceiptKey::random(),
                functions: Arc::new(wharf_store::functions::MemoryFunctionStore::default()),
                invocations: Arc::new(wharf_store::memory::MemoryStore::new()),
                functions_base: scratch.path().to_path_buf(),
                _scratch: Some(scratch),
                logs: Arc::new(wharf_store::logs::MemoryLogStore::new()),
                events: Arc::new(wharf_store::events::MemoryEventStore::default()),
                archives: Arc::new(wharf_store::archives::MemoryArchiveStore::default()),
                schedules: Arc::new(wharf_store::schedules::MemoryScheduleStore::default()),
                iam: Arc::new(wharf_store::iam::MemoryIamStore::default()),
            });
        }
        let dir = &config.data_dir;
        let cache_bytes = usize::try_from(config.message_cache_mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
        let functions_base = dir.join("functions");
        let now = clock.now_millis();
        // Each database opens on a thread of its own: most of an open is waiting for the disk
        // (a used data directory starts in about half the time).
        let (queues, functions, invocations, logs, events, schedules, iam) = std::thread::scope(|scope| {
            let queues = scope.spawn(|| {
                wharf_store_sqlite::SqliteStore::open(dir, now, cache_bytes)
                    .with_context(|| format!("opening the store in {}", dir.display()))
            });
            let functions = scope.spawn(|| {
                wharf_store_sqlite::functions::SqliteFunctionStore::open(dir)
                    .with_context(|| format!("opening the function store in {}", dir.display()))
            });
            let invocations = scope.spawn(|| {
                wharf_store_sqlite::SqliteStore::open(&functions_base.join("async"), now, 8 << 20)
                    .with_context(|| format!("opening the invocation queue in {}", functions_base.display()))
            });
            let logs = scope.spawn(|| {
                wharf_store_sqlite::logs::SqliteLogStore::open(dir)
                    .with_context(|| format!("opening the logs store in {}", dir.display()))
            });
            // Buses and rules, then archives, on one thread: archives are rarely large at start.
            let events = scope.spawn(|| {
                let events = wharf_store_sqlite::events::SqliteEventStore::open(dir)
                    .with_context(|| format!("opening the events store in {}", dir.display()))?;
                let archives = wharf_store_sqlite::archives::SqliteArchiveStore::open(dir)
                    .with_context(|| format!("opening the archive store in {}", dir.display()))?;
                anyhow::Ok((events, archives))
            });
            let schedules = scope.spawn(|| {
                wharf_store_sqlite::schedules::SqliteScheduleStore::open(dir)
                    .with_context(|| format!("opening the schedule store in {}", dir.display()))
            });
            let iam = scope.spawn(|| {
                wharf_store_sqlite::iam::SqliteIamStore::open(dir)
                    .with_context(|| format!("opening the IAM store in {}", dir.display()))
            });
            anyhow::Ok((
                joined(queues)?,
                joined(functions)?,
                joined(invocations)?,
                joined(logs)?,
                joined(events)?,
                joined(schedules)?,
                joined(iam)?,
            ))
        })?;
        Ok(Stores {
            queues: Arc::new(queues),
            storage: format!("sqlite:{}", dir.join(wharf_store_sqlite::DATABASE_FILE).display()),
            receipt_key: load_receipt_key(dir)?,
            functions: Arc::new(functions),
            invocations: Arc::new(invocations),
            functions_base,
            _scratch: None,
            logs: Arc::new(logs),
            events: Arc::new(events.0),
            archives: Arc::new(events.1),
            schedules: Arc::new(schedules),
            iam: Arc::new(iam),
        })
    }

    /// Empties every store, durably, and deletes the functions' code packages (a reset; the
    /// stack on top of them is stopped first).
    async fn clear(&self) -> anyhow::Result<()> {
        let cleared = [
            ("queues", self.queues.clear().await),
            ("asynchronous invocations", self.invocations.clear().await),
            ("functions", self.functions.clear().await),
            ("logs", self.logs.clear().await),
            ("events", self.events.clear().await),
            ("archives", self.archives.clear().await),
            ("schedules", self.schedules.clear_schedules().await),
            ("IAM", self.iam.clear().await),
        ];
        for (what, result) in cleared {
            result.map_err(|err| anyhow::anyhow!("emptying the {what} store: {err}"))?;
        }
        let code = self.functions_base.join("code");
        tokio::task::spawn_blocking(move || match std::fs::remove_dir_all(&code) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(anyhow::Error::from(err).context(format!("deleting {}", code.display()))),
        })
        .await
        .context("deleting the functions' code")??;
        Ok(())
    }

    /// Copies every write-ahead log into its database (a clean stop).
    async fn checkpoint(&self) {
        for (what, result) in [
            ("queues", self.queues.checkpoint().await),
            ("asynchronous invocations", self.invocations.checkpoint().await),
            ("logs", self.logs.checkpoint().await),
        ] {
            if let Err(err) = result {
                tracing::warn!(error = %err, store = what, "checkpoint at shutdown failed");
            }
        }
    }
}

/// Everything a server runs on its stores: the engines, the APIs behind the router and the
/// background workers. `POST /_wharf/reset` stops it, empties the stores and starts a new one,
/// so no cache of an engine outlives the state it was built from.
struct Stack {
    router: Arc<router::Router>,
    engine: Arc<Engine>,
    functions: Arc<Functions>,
    logs: Arc<wharf_logs::Logs>,
    events: Arc<wharf_events::Events>,
    iam: Arc<wharf_iam::Iam>,
    workers: crate::workers::Workers,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Stack {
    /// Builds the engines on `stores`, applies the configuration's declared stack and starts
    /// the background workers.
    async fn start(setup: &Setup, stores: &Stores, declared: &Config) -> anyhow::Result<Stack> {
        let Setup { config, account, region, clock, .. } = setup;
        let data_key = stores.receipt_key.to_bytes();
        let engine_config = EngineConfig {
            queue_name_reuse_delay: Duration::from_secs(config.sqs.queue_name_reuse_delay_seconds),
            purge_interval: Duration::from_secs(config.sqs.purge_interval_seconds),
            receipt_key: stores.receipt_key.clone(),
        };
        let engine = Arc::new(Engine::new(Arc::clone(&stores.queues), Arc::clone(clock), engine_config));
        let logs = Arc::new(wharf_logs::Logs::new(Arc::clone(&stores.logs), Arc::clone(clock)));
        let resumed = engine.resume_move_tasks().await.map_err(|err| anyhow::anyhow!("resuming move tasks: {err}"))?;
        if resumed > 0 {
            tracing::info!(resumed, "resumed message move tasks");
        }
        // One identity for every API: who callers are is the same question everywhere.
        let identity = identity_of(config, account, region, Arc::clone(clock), &data_key, &stores.iam).await?;
        // What services acting for users may do (Lambda with execution roles, EventBridge
        // through resource policies), checked as the requests are.
        let checks = match identity.mode() {
            wharf_api_common::pipeline::AuthMode::Off => wharf_links::Checks::Off,
            wharf_api_common::pipeline::AuthMode::Log => wharf_links::Checks::Log,
            wharf_api_common::pipeline::AuthMode::Enforce => wharf_links::Checks::Enforce,
        };
        let access = Arc::new(wharf_links::ServiceAccess::new(Arc::clone(identity.iam()), checks, Arc::clone(&engine)));
        let (functions, internal_engine) =
            start_functions(setup, stores, &engine, &logs, &access, setup.endpoint_url.clone()).await?;
        access.set_functions(&functions);
        let targets = Arc::new(wharf_links::RuleTargets {
            sqs: Arc::clone(&engine),
            functions: Arc::clone(&functions),
            access: Arc::clone(&access),
            logs: Arc::clone(&logs),
            events: std::sync::OnceLock::new(),
            api_destinations: Default::default(),
        });
        let events = wharf_events::Events::open(Arc::clone(&stores.events), Arc::clone(clock), targets.clone())
            .await
            .map(Arc::new)
            .map_err(|err| anyhow::anyhow!("opening the events engine: {err}"))?;
        let _ = targets.events.set(Arc::downgrade(&events));
        events
            .open_archives(Arc::clone(&stores.archives))
            .await
            .map_err(|err| anyhow::anyhow!("opening the event archives: {err}"))?;
        access.set_events(&events);
        access.set_logs(&logs);
        logs.set_subscription_sink(Arc::new(wharf_links::subscriptions::SubscriptionInvocations {
            functions: Arc::downgrade(&functions),
            access: Arc::clone(&access),
        }));
        let schedule_targets = Arc::new(wharf_links::schedules::ScheduleTargets {
            sqs: Arc::clone(&engine),
            functions: Arc::clone(&functions),
            events: Arc::clone(&events),
            access: Arc::clone(&access),
        });
        let schedules = wharf_events::schedules::Schedules::open(
            Arc::clone(&stores.schedules),
            Arc::clone(clock),
            schedule_targets,
        )
        .await
        .map(Arc::new)
        .map_err(|err| anyhow::anyhow!("opening the scheduler: {err}"))?;
        // Failed deliveries of rules and schedules wait in an internal durable queue.
        let retries = Arc::new(
            wharf_links::retries::DeliveryRetries::open(
                Arc::clone(&internal_engine),
                account.clone(),
                region.clone(),
                &events,
                &schedules,
            )
            .await
            .map_err(|err| anyhow::anyhow!("opening the delivery retry queue: {err}"))?,
        );
        events.set_retry_queue(Arc::clone(&retries) as Arc<dyn wharf_events::retries::RetryQueue>);
        schedules.set_retry_queue(Arc::clone(&retries) as Arc<dyn wharf_events::retries::RetryQueue>);
        let iam = Arc::clone(identity.iam());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut workers = crate::workers::Workers::new(stopped);
        let router = Arc::new(router::Router {
            workers: workers.status(),
            sqs: SqsApi::new(Arc::clone(&engine), identity.clone(), setup.local.to_string()),
            logs: LogsApi::new(Arc::clone(&logs), identity.clone()),
            events: EventsApi::new(Arc::clone(&events), identity.clone()),
            scheduler: wharf_api_scheduler::SchedulerApi::new(Arc::clone(&schedules), identity.clone()),
            sts: wharf_api_sts::StsApi::new(identity.clone()),
            iam: wharf_api_iam::IamApi::new(identity.clone()),
            lambda: LambdaApi::new(Arc::clone(&functions), identity.clone(), setup.endpoint_url.clone()),
            identity,
            functions: Arc::clone(&functions),
            storage: stores.storage.clone(),
            queue_store: Arc::clone(&stores.queues),
            logs_engine: Arc::clone(&logs),
            test_clock: setup.offset_clock.clone().map(|clock| router::TestClock {
                clock,
                queues: Arc::clone(&engine),
                invocations: internal_engine,
                events: Arc::clone(&events),
                schedules: Arc::clone(&schedules),
            }),
            queues: Arc::clone(&engine),
            rules: Arc::clone(&events),
            metrics_token: Some(config.server.metrics_bearer_token.clone()).filter(|token| !token.is_empty()),
        });
        let sweep_period = Duration::from_secs(config.sqs.retention_sweep_seconds.max(1));
        let reap_period = (functions.config().idle_timeout / 4).clamp(Duration::from_secs(1), Duration::from_secs(30));
        let pollers = Arc::new(wharf_links::mappings::MappingPollers {
            sqs: Arc::clone(&engine),
            functions: Arc::clone(&functions),
            access: Arc::clone(&access),
        });
        // Every background worker, supervised (restarted with backoff if it dies, shown in
        // health); all stop on `stop` and are awaited when the stack stops.
        {
            let swept = Arc::clone(&engine);
            workers.every("message-retention", sweep_period, move || sweep_messages(Arc::clone(&swept)));
            let swept = Arc::clone(&logs);
            workers.every("log-retention", sweep_period, move || sweep_logs(Arc::clone(&swept)));
            let reaped = Arc::clone(&functions);
            workers.every("idle-environments", reap_period, move || reap_environments(Arc::clone(&reaped)));
            // Functions declared from a directory: file sizes and modification times once a
            // second, a development aid that costs nothing when no function comes from a
            // directory.
            let reloaded = Arc::clone(&functions);
            workers.every("source-reload", Duration::from_secs(1), move || reload_sources(Arc::clone(&reloaded)));
            let scheduled = Arc::clone(&events);
            workers.spawn("rule-scheduler", move |stopped| Arc::clone(&scheduled).run_scheduler(stopped));
            let invoked = Arc::clone(&schedules);
            workers.spawn("schedules", move |stopped| Arc::clone(&invoked).run(stopped));
            workers.spawn("delivery-retries", move |stopped| Arc::clone(&retries).run(stopped));
            let asynchronous = Arc::clone(&functions);
            workers.spawn("async-invocations", move |stopped| Arc::clone(&asynchronous).run_async_worker(stopped));
            workers.spawn("mapping-pollers", move |stopped| Arc::clone(&pollers).run(stopped));
        }
        let stack = Stack { router, engine, functions, logs, events, iam, workers, stop };
        // The declared stack, now that every engine it touches is open (before the workers
        // run: a declared mapping polls only once its function and queue exist).
        stack.apply(setup, declared).await?;
        Ok(stack)
    }

    /// The engines the declared stack is applied to.
    fn engines(&self) -> crate::declare::Engines<'_> {
        crate::declare::Engines {
            sqs: &self.engine,
            functions: &self.functions,
            logs: &self.logs,
            events: &self.events,
            iam: &self.iam,
        }
    }

    /// Applies what `declared` declares; with `prune = true`, deletes what the last applied file
    /// declared and this one does not; then remembers what it declares.
    async fn apply(&self, setup: &Setup, declared: &Config) -> anyhow::Result<()> {
        use crate::declare::Declared;
        crate::declare::apply(&self.engines(), declared, &setup.account, &setup.region).await?;
        let now = Declared::of(declared, &setup.account, &setup.region)?;
        let durable = !setup.config.in_memory;
        let before = match (durable, setup.last_declared.lock().await.take()) {
            (_, Some(before)) => before,
            (true, None) => Declared::load(&setup.config.data_dir)?,
            (false, None) => Declared::default(),
        };
        if declared.prune {
            let removed = before.minus(&now);
            if !removed.is_empty() {
                crate::declare::prune(&self.engines(), &removed, &setup.account).await;
            }
        }
        if durable && before != now {
            Declared::save(&now, &setup.config.data_dir)?;
        }
        *setup.last_declared.lock().await = Some(now);
        Ok(())
    }

    /// Tells the engine and the workers to stop (long polls answer, loops end).
    fn signal_stop(&self) {
        self.engine.shut_down();
        let _ = self.stop.send(true);
    }

    /// Stops the workers and every function environment and waits for them.
    async fn stop(self) {
        self.signal_stop();
        self.workers.join().await;
        self.functions.shut_down().await;
    }
}

/// The service behind the listener: wharf's reset, then the current stack's router.
pub(crate) struct Front {
    /// The router of the running stack. A reset holds the write lock from start to end, so a
    /// request arriving meanwhile waits and then sees the new stack.
    current: tokio::sync::RwLock<Arc<router::Router>>,
    /// The running stack; `None` once it stopped (or a reset failed to start a new one).
    live: tokio::sync::Mutex<Option<Stack>>,
    /// The configuration whose declared stack is applied (the file as last applied).
    declared: tokio::sync::Mutex<Config>,
    setup: Setup,
    stores: Stores,
    shutting_down: std::sync::atomic::AtomicBool,
}

impl Front {
    /// Tells the running stack to stop (the server is shutting down).
    async fn begin_shutdown(&self) {
        self.shutting_down.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(stack) = self.live.lock().await.as_ref() {
            stack.signal_stop();
        }
    }

    /// Empties every service's state and starts again from the configuration: the declared
    /// stack is applied again, the clock and the keys stay. Returns how long it took.
    pub(crate) async fn reset(&self) -> anyhow::Result<Duration> {
        let started = std::time::Instant::now();
        let mut current = self.current.write().await;
        let mut live = self.live.lock().await;
        if self.shutting_down.load(std::sync::atomic::Ordering::SeqCst) {
            anyhow::bail!("wharf is shutting down");
        }
        if let Some(stack) = live.take() {
            stack.stop().await;
        }
        self.stores.clear().await?;
        let declared = self.declared.lock().await.clone();
        let stack = Stack::start(&self.setup, &self.stores, &declared).await?;
        *current = Arc::clone(&stack.router);
        *live = Some(stack);
        let elapsed = started.elapsed();
        tracing::info!(
            elapsed_ms = elapsed.as_secs_f64() * 1000.0,
            "reset: every service emptied, declared stack applied"
        );
        Ok(elapsed)
    }

    /// Reads the configuration file again and applies its declared stack to the running
    /// stack; a file that does not load, or does not apply, is logged and changes nothing
    /// more (what applied before the failing entry stays).
    pub(crate) async fn reload(&self) {
        let Some(reread) = &self.setup.reread else { return };
        let config = match (reread.read)() {
            Ok(config) => config,
            Err(err) => {
                tracing::error!("configuration not applied: {err:#}");
                return;
            }
        };
        let live = self.live.lock().await;
        let Some(stack) = live.as_ref() else { return };
        let mut declared = self.declared.lock().await;
        let changed = crate::reload::changed_settings(&declared.settings, &config.settings);
        if !changed.is_empty() {
            tracing::warn!(settings = %changed.join(", "), "these settings change only at a restart; the running server keeps the old values");
        }
        match stack.apply(&self.setup, &config).await {
            Ok(()) => {
                tracing::info!("configuration applied again");
                *declared = config;
            }
            Err(err) => tracing::error!("configuration not applied: {err:#}"),
        }
    }

    /// Whether this server re-reads its configuration (`wharf serve`, not an embedded one),
    /// and its file if it has one.
    pub(crate) fn rereads(&self) -> Option<Option<&std::path::Path>> {
        self.setup.reread.as_ref().map(|reread| reread.path.as_deref())
    }

    /// `POST /_wharf/reset`: allowed with auth off, to a root key otherwise (in log mode
    /// anyone, with the refusal logged).
    async fn reset_request(&self, request: &ApiRequest) -> ApiResponse {
        use http::StatusCode;
        let request_id = wharf_api_common::request_id();
        if request.method != http::Method::POST {
            return ApiResponse::json(StatusCode::METHOD_NOT_ALLOWED, &serde_json::json!({ "message": "POST" }));
        }
        let identity = self.current.read().await.identity.clone();
        let refusal = match identity.authenticate(request) {
            Err(refusal) => Some(refusal),
            Ok(caller)
                if identity.mode() != wharf_api_common::pipeline::AuthMode::Off && !caller.principal.is_root() =>
            {
                let message = format!(
                    "User: {} is not authorized to perform: wharf:Reset (only an account's root credentials may reset wharf)",
                    caller.principal_arn
                );
                if identity.mode() == wharf_api_common::pipeline::AuthMode::Log {
                    tracing::warn!(target: "wharf::auth", principal = %caller.principal_arn, "reset would be denied");
                    None
                } else {
                    Some(wharf_api_common::pipeline::Refusal::access_denied(message))
                }
            }
            Ok(_) => None,
        };
        if let Some(refusal) = refusal {
            return ApiResponse::json_error("application/json", &request_id, &refusal.body());
        }
        match self.reset().await {
            Ok(elapsed) => ApiResponse::json(
                StatusCode::OK,
                &serde_json::json!({ "reset": true, "elapsed_ms": elapsed.as_secs_f64() * 1000.0 }),
            ),
            Err(err) => {
                tracing::error!(error = %format!("{err:#}"), "reset failed");
                ApiResponse::json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &serde_json::json!({ "message": format!("reset failed: {err:#}") }),
                )
            }
        }
    }
}

#[async_trait::async_trait]
impl wharf_api_common::Service for Front {
    async fn handle(&self, request: ApiRequest) -> ApiResponse {
        if request.uri.path() == "/_wharf/reset" {
            return self.reset_request(&request).await;
        }
        let router = Arc::clone(&*self.current.read().await);
        router.handle(request).await
    }
}

/// The file that keeps the receipt-handle secret of a data directory.
const RECEIPT_KEY_FILE: &str = "receipt-key";

/// Reads the data directory's receipt-handle secret, creating it (mode 0600, synced) on first
/// start, so handles minted before a restart stay valid after it.
fn load_receipt_key(data_dir: &std::path::Path) -> anyhow::Result<wharf_queue::receipt::ReceiptKey> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let path = data_dir.join(RECEIPT_KEY_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let bytes: [u8; 32] = bytes
                .try_into()
                .map_err(|_| anyhow::anyhow!("{} is damaged (not 32 bytes); delete it to mint a new one (receipt handles in flight become invalid)", path.display()))?;
            return Ok(wharf_queue::receipt::ReceiptKey::from_bytes(bytes));
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    }
    let key = wharf_queue::receipt::ReceiptKey::random();
    let partial = data_dir.join(format!("{RECEIPT_KEY_FILE}.partial"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&partial)
        .with_context(|| format!("creating {}", partial.display()))?;
    file.write_all(&key.to_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, &path).with_context(|| format!("renaming {}", partial.display()))?;
    std::fs::File::open(data_dir)
        .and_then(|dir| dir.sync_all())
        .with_context(|| format!("syncing {}", data_dir.display()))?;
    Ok(key)
}

/// Refuses a non-loopback listen address unless the user allowed it, and warns when they did.
fn check_exposure(config: &Config) -> anyhow::Result<()> {
    let addresses: Vec<std::net::SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(config.bind.as_str())
        .with_context(|| format!("resolving the listen address {}", config.bind))?
        .collect();
    let remote = addresses.iter().any(|address| !address.ip().is_loopback());
    if !remote {
        return Ok(());
    }
    if config.auth.mode == crate::config::AuthModeSetting::Enforce {
        return Ok(());
    }
    if !config.server.allow_unauthenticated_remote {
        anyhow::bail!(
            "refusing to listen on {}: it is reachable from other machines, and with auth.mode = \"{}\" \
             wharf refuses no request, so anyone who can reach it could run code on this machine \
             (create and invoke functions) and read every queue, log and function environment. \
             Enforce authentication (--auth enforce with [[auth.credentials]] or {}/{}), \
             listen on 127.0.0.1 (the default), or pass --allow-unauthenticated-remote \
             (server.allow_unauthenticated_remote = true) if every host on that network is trusted",
            config.bind,
            config.auth.mode.as_str(),
            ROOT_KEY_VARIABLES.0,
            ROOT_KEY_VARIABLES.1
        );
    }
    let warning = format!(
        "wharf listens on {} WITHOUT AUTHENTICATION (--allow-unauthenticated-remote): anyone who \
         reaches this port can run code on this machine and read all of wharf's data",
        config.bind
    );
    tracing::warn!("{warning}");
    crate::logging::write_stderr_line(&format!("WARNING: {warning}"));
    Ok(())
}

/// The connection limits of the main listener: the configured ones, with the connection cap
/// kept below the process's open-file limit (descriptors are also needed for files, pipes and
/// function environments).
fn server_limits(config: &Config) -> wharf_api_common::server::Limits {
    let mut max_connections = config.server.max_connections.max(1);
    if let Some(open_files) = crate::logging::open_file_limit() {
        max_connections = max_connections.min((open_files / 4 * 3).max(16) as usize);
    }
    wharf_api_common::server::Limits {
        max_connections,
        idle_timeout: Duration::from_secs(config.server.idle_timeout_seconds.max(1)),
        body_timeout: Duration::from_secs(config.server.body_timeout_seconds.max(1)),
    }
}

/// Opens the functions engine with its stores, the private queue of asynchronous invocations
/// and its links to the other engines. The second value keeps scratch directories of an
/// in-memory run alive (they are deleted when it drops).
async fn start_functions(
    setup: &Setup,
    stores: &Stores,
    sqs: &Arc<Engine>,
    logs: &Arc<wharf_logs::Logs>,
    access: &Arc<wharf_links::ServiceAccess>,
    endpoint_url: String,
) -> anyhow::Result<(Arc<Functions>, Arc<Engine>)> {
    let Setup { config, account, region, clock, .. } = setup;
    let base = stores.functions_base.clone();
    let cache_dir = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| std::path::PathBuf::from(home).join(".cache")))
        .map(|cache| cache.join("wharf"))
        .unwrap_or_else(|| base.join("cache"));
    let section = &config.functions;
    let functions_config = wharf_functions::FunctionsConfig {
        account_concurrency: section.account_concurrency.max(1),
        idle_timeout: Duration::from_secs(section.idle_timeout_seconds),
        init_timeout: Duration::from_secs(section.init_timeout_seconds.max(1)),
        async_retry_delay_seconds: section.async_retry_delay_seconds,
        code_dir: base.join("code"),
        runtime_dir: base.join("runtime"),
        runtimes: wharf_functions::runtimes::RuntimeSettings {
            interpreters: section.python_interpreters.clone(),
            strict_python_versions: section.strict_python_versions,
            node: section.node.clone(),
            python_sdk_path: (!section.python_sdk_path.is_empty())
                .then(|| std::path::PathBuf::from(&section.python_sdk_path)),
            cache_dir,
        },
        endpoint_url,
        sandbox: section.sandbox.then(|| sandbox_of(section, &base)).flatten(),
    };
    let capture = Arc::new(wharf_links::LogCapture::new(Arc::clone(logs), Arc::clone(access)));
    let functions = Functions::open(
        Arc::clone(&stores.functions),
        Arc::clone(clock),
        functions_config,
        Arc::new(wharf_api_runtime::RuntimeApiHost),
        capture,
    )
    .await
    .map_err(|err| anyhow::anyhow!("opening the functions engine: {err}"))?;
    let internal_engine = Arc::new(Engine::new(
        Arc::clone(&stores.invocations),
        Arc::clone(clock),
        EngineConfig {
            queue_name_reuse_delay: Duration::ZERO,
            purge_interval: Duration::ZERO,
            receipt_key: stores.receipt_key.clone(),
        },
    ));
    let queue = wharf_links::QueuedInvocations::open(Arc::clone(&internal_engine), account.clone(), region.clone())
        .await
        .map_err(|err| anyhow::anyhow!("opening the invocation queue: {err}"))?;
    functions.set_queue(Arc::new(queue));
    let destinations = wharf_links::QueueDestinations {
        sqs: Arc::clone(sqs),
        functions: std::sync::OnceLock::new(),
        access: Arc::clone(access),
    };
    let _ = destinations.functions.set(Arc::downgrade(&functions));
    functions.set_destinations(Arc::new(destinations));
    functions.set_execution_roles(Arc::new(wharf_links::roles::IamExecutionRoles {
        iam: Arc::clone(access.iam()),
        access: Arc::clone(access),
    }));
    Ok((functions, internal_engine))
}

/// The file-access limits of function processes: the system's directories, the configured
/// runtimes' installations and the user's extra paths; `None` when wharf cannot find its own
/// executable (which applies them).
fn sandbox_of(
    section: &crate::config::FunctionsSection,
    base: &std::path::Path,
) -> Option<wharf_functions::isolation::Sandbox> {
    use wharf_functions::isolation::{installation_of, system_read_paths, Sandbox};
    let helper = match std::env::current_exe() {
        Ok(helper) => helper,
        Err(err) => {
            tracing::warn!(%err, "cannot find wharf's own executable: function file access is not limited");
            return None;
        }
    };
    let mut read = system_read_paths();
    for program in section.python_interpreters.values().chain(std::iter::once(&section.node)) {
        read.extend(installation_of(program));
    }
    read.extend(section.sandbox_read_paths.iter().cloned());
    read.dedup();
    Some(Sandbox { helper, read, scratch_dir: base.join("environments") })
}

/// Drops messages past their queue's retention.
async fn sweep_messages(engine: Arc<Engine>) {
    match engine.expire().await {
        Ok(0) => {}
        Ok(count) => tracing::debug!(count, "expired messages past retention"),
        Err(err) => tracing::warn!(error = %err, "retention sweep failed"),
    }
}

/// Drops log events past their group's retention.
async fn sweep_logs(logs: Arc<wharf_logs::Logs>) {
    match logs.expire().await {
        Ok(0) => {}
        Ok(count) => tracing::debug!(count, "expired log events past retention"),
        Err(err) => tracing::warn!(error = %err, "log retention sweep failed"),
    }
}

/// Stops execution environments idle past the idle timeout.
async fn reap_environments(functions: Arc<Functions>) {
    let stopped_count = functions.reap_idle();
    if stopped_count > 0 {
        tracing::debug!(stopped_count, "stopped idle execution environments");
    }
}

/// Reloads functions declared from a directory whose files changed.
async fn reload_sources(functions: Arc<Functions>) {
    for name in functions.reload_changed_sources().await {
        tracing::info!(function = %name, "reloaded the function's code from its directory");
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// The variables that declare the default account's root key without a config file (never a
/// flag: a secret on the command line shows in `ps`).
const ROOT_KEY_VARIABLES: (&str, &str) = ("WHARF_ROOT_ACCESS_KEY_ID", "WHARF_ROOT_SECRET_ACCESS_KEY");

/// The root keys: `[[auth.credentials]]` and the `WHARF_ROOT_*` variables.
fn root_keys_of(
    config: &crate::config::Config,
    account: &AccountId,
) -> anyhow::Result<std::collections::HashMap<String, wharf_iam::RootKey>> {
    let mut keys = std::collections::HashMap::new();
    for entry in &config.auth.credentials {
        let owner: AccountId = match &entry.account_id {
            Some(id) => {
                id.parse().with_context(|| format!("auth.credentials: account_id of {}", entry.access_key_id))?
            }
            None => account.clone(),
        };
        keys.insert(
            entry.access_key_id.clone(),
            wharf_iam::RootKey { secret: entry.secret_access_key.clone(), account: owner.to_string() },
        );
    }
    let (id_variable, secret_variable) = ROOT_KEY_VARIABLES;
    match (std::env::var(id_variable), std::env::var(secret_variable)) {
        (Ok(id), Ok(secret)) if !id.is_empty() && !secret.is_empty() => {
            keys.insert(id, wharf_iam::RootKey { secret, account: account.to_string() });
        }
        (Ok(_), Err(_)) | (Err(_), Ok(_)) => {
            anyhow::bail!("{id_variable} and {secret_variable} go together: set both or neither")
        }
        _ => {}
    }
    Ok(keys)
}

/// The request pipeline's identity: the `[auth]` mode, the root keys and IAM (users, roles,
/// policies; sessions sealed with a key derived from the data directory's key, so they
/// survive a restart).
async fn identity_of(
    config: &crate::config::Config,
    account: &AccountId,
    region: &Region,
    clock: Arc<dyn Clock>,
    data_key: &[u8; 32],
    store: &Arc<dyn wharf_store::iam::IamStore>,
) -> anyhow::Result<wharf_api_common::pipeline::Identity> {
    use sha2::Digest as _;
    use wharf_api_common::pipeline::{AuthMode, Identity};
    let mode = match config.auth.mode {
        crate::config::AuthModeSetting::Off => AuthMode::Off,
        crate::config::AuthModeSetting::Log => AuthMode::Log,
        crate::config::AuthModeSetting::Enforce => AuthMode::Enforce,
    };
    let root_keys = root_keys_of(config, account)?;
    if mode == AuthMode::Enforce && root_keys.is_empty() {
        anyhow::bail!(
            "auth.mode = \"enforce\" needs at least one root key, or nobody could ever sign in: declare \
             [[auth.credentials]] in the config file, or set {} and {}",
            ROOT_KEY_VARIABLES.0,
            ROOT_KEY_VARIABLES.1
        );
    }
    let mut hasher = sha2::Sha256::new();
    hasher.update(b"wharf sts session seal v1\n");
    hasher.update(data_key);
    let seal_key: [u8; 32] = hasher.finalize().into();
    let keys = root_keys.len();
    let iam = wharf_iam::Iam::open(Arc::clone(store), Arc::clone(&clock), seal_key, root_keys)
        .await
        .map_err(|err| anyhow::anyhow!("loading IAM: {err}"))?;
    match mode {
        AuthMode::Off => {}
        AuthMode::Log => {
            tracing::info!(keys, "auth: signatures and permissions are checked and logged, nothing is refused")
        }
        AuthMode::Enforce => tracing::info!(keys, "auth: signatures and permissions are enforced"),
    }
    // Signing times are the clients' real time: the test clock moves stored state (retention,
    // visibility, session expiry), never the clocks of the clients signing requests.
    let real_time: Arc<dyn Clock> = Arc::new(SystemClock);
    Ok(Identity::new(account.clone(), region.clone(), mode, Arc::new(iam), real_time))
}

mod router {
    //! The router in front of the APIs: wharf's own endpoints, then each AWS service.

    use async_trait::async_trait;
    use http::{Method, StatusCode};
    use serde_json::json;
    use wharf_api_common::{ApiRequest, ApiResponse, ErrorBody, Fault, Service};
    use wharf_api_events::EventsApi;
    use wharf_api_lambda::LambdaApi;
    use wharf_api_logs::LogsApi;
    use wharf_api_sqs::SqsApi;

    /// Routes a request to the API that speaks its protocol.
    pub struct Router {
        /// The background workers' states, for the health answer.
        pub workers:
            std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<&'static str, crate::workers::WorkerStatus>>>,
        /// Amazon SQS.
        pub sqs: SqsApi,
        /// CloudWatch Logs.
        pub logs: LogsApi,
        /// EventBridge (CloudWatch Events).
        pub events: EventsApi,
        /// EventBridge Scheduler.
        pub scheduler: wharf_api_scheduler::SchedulerApi,
        /// AWS STS (GetCallerIdentity).
        pub sts: wharf_api_sts::StsApi,
        /// IAM.
        pub iam: wharf_api_iam::IamApi,
        /// AWS Lambda.
        pub lambda: LambdaApi,
        /// Who callers are (for wharf's own endpoints).
        pub identity: wharf_api_common::pipeline::Identity,
        /// The functions engine, for its counters in the health answer.
        pub functions: std::sync::Arc<wharf_functions::Functions>,
        /// Where data lives, for the health answer.
        pub storage: String,
        /// The queue store, whose health the health answer reports.
        pub queue_store: std::sync::Arc<dyn wharf_store::QueueStore>,
        /// The logs engine, likewise.
        pub logs_engine: std::sync::Arc<wharf_logs::Logs>,
        /// With `--test-clock`: the clock `/_wharf/clock` moves.
        pub test_clock: Option<TestClock>,
        /// The SQS engine, for the queues' counts in `/metrics`.
        pub queues: std::sync::Arc<wharf_queue::Engine>,
        /// The rules engine, for the rules' counters in `/metrics`.
        pub rules: std::sync::Arc<wharf_events::Events>,
        /// The bearer token `/metrics` asks for when auth is on (none: refused then).
        pub metrics_token: Option<String>,
    }

    /// The movable clock of `wharf serve --test-clock` and what must look at it again when it
    /// moves.
    pub struct TestClock {
        /// The clock every engine reads.
        pub clock: wharf_types::OffsetClock,
        /// The queues: long polls look again (messages may be visible now), retention runs.
        pub queues: std::sync::Arc<wharf_queue::Engine>,
        /// The queue of asynchronous invocations: its worker looks again (a retry or an event
        /// a stopped process held may be due).
        pub invocations: std::sync::Arc<wharf_queue::Engine>,
        /// The rules: the scheduler fires what is due now.
        pub events: std::sync::Arc<wharf_events::Events>,
        /// The schedules: they invoke what is due now.
        pub schedules: std::sync::Arc<wharf_events::schedules::Schedules>,
    }

    /// The longest single move of the test clock: ten years.
    const MAX_ADVANCE_SECONDS: u64 = 10 * 366 * 24 * 3600;

    impl Router {
        /// `GET /metrics`: open with auth off; with auth on, for the configured bearer token
        /// only (scrapers do not sign requests).
        async fn metrics(&self, request: &ApiRequest) -> ApiResponse {
            if self.identity.mode() != wharf_api_common::pipeline::AuthMode::Off {
                let given = request
                    .headers
                    .get(http::header::AUTHORIZATION)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| value.strip_prefix("Bearer "));
                let allowed = match (&self.metrics_token, given) {
                    (Some(expected), Some(given)) => {
                        use sha2::Digest as _;
                        // Compared by digest, so the comparison's time says nothing of the token.
                        sha2::Sha256::digest(expected.as_bytes()) == sha2::Sha256::digest(given.as_bytes())
                    }
                    _ => false,
                };
                if !allowed {
                    let message = if self.metrics_token.is_some() {
                        "GET /metrics needs Authorization: Bearer <server.metrics_bearer_token>"
                    } else {
                        "GET /metrics is refused while auth is on and server.metrics_bearer_token is not set"
                    };
                    return ApiResponse::json(StatusCode::UNAUTHORIZED, &json!({ "message": message }));
                }
            }
            let text = crate::prometheus::render(&self.queues, &self.functions, &self.rules).await;
            ApiResponse {
                status: StatusCode::OK,
                headers: vec![(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static(crate::prometheus::CONTENT_TYPE),
                )],
                body: text.into_bytes().into(),
            }
        }

        /// `GET /_wharf/clock` reads the clock; `POST /_wharf/clock` with
        /// `{"advance_seconds": N}` moves it forward (N a whole number of seconds, at most ten
        /// years) and answers the new reading. Without `--test-clock` the path does not exist.
        async fn clock(&self, test_clock: &TestClock, request: &ApiRequest) -> ApiResponse {
            use wharf_types::Clock as _;
            if request.method == Method::POST {
                let advance = serde_json::from_slice::<serde_json::Value>(&request.body)
                    .ok()
                    .and_then(|body| body.get("advance_seconds").and_then(serde_json::Value::as_u64))
                    .filter(|seconds| *seconds <= MAX_ADVANCE_SECONDS);
                let Some(seconds) = advance else {
                    return ApiResponse::json(
                        StatusCode::BAD_REQUEST,
                        &json!({ "message": format!("the body must be {{\"advance_seconds\": N}} with N a whole number from 0 to {MAX_ADVANCE_SECONDS}") }),
                    );
                };
                test_clock.clock.advance(seconds * 1000);
                tracing::info!(seconds, offset_ms = test_clock.clock.offset_millis(), "test clock moved forward");
                // What the periodic sweep would do at the next tick, done now, so the caller
                // sees its effect when this answer arrives.
                if let Err(err) = test_clock.queues.expire().await {
                    tracing::warn!(error = %err, "retention sweep after a clock move failed");
                }
                if let Err(err) = self.logs_engine.expire().await {
                    tracing::warn!(error = %err, "log retention sweep after a clock move failed");
                }
                test_clock.queues.wake_all();
                test_clock.invocations.wake_all();
                test_clock.events.clock_moved();
                test_clock.schedules.clock_moved();
            } else if request.method != Method::GET {
                return ApiResponse::json(StatusCode::METHOD_NOT_ALLOWED, &json!({ "message": "GET or POST" }));
            }
            ApiResponse::json(
                StatusCode::OK,
                &json!({ "now_millis": test_clock.clock.now_millis(), "offset_millis": test_clock.clock.offset_millis() }),
            )
        }
    }

    #[async_trait]
    impl Service for Router {
        async fn handle(&self, request: ApiRequest) -> ApiResponse {
            if request.uri.path() == "/_wharf/health" && request.method == Method::GET {
                let workers = self.workers.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
                let mut problems: Vec<String> = [self.queue_store.health(), self.logs_engine.store_health()]
                    .into_iter()
                    .filter_map(Result::err)
                    .collect();
                problems.extend(workers.iter().filter(|(_, status)| status.state == "restarting").map(
                    |(name, status)| {
                        format!("worker {name} is restarting: {}", status.last_failure.clone().unwrap_or_default())
                    },
                ));
                let (status, word) = if problems.is_empty() {
                    (StatusCode::OK, "ok")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "failing")
                };
                return ApiResponse::json(
                    status,
                    &json!({
                        "status": word,
                        "problems": problems,
                        "version": env!("CARGO_PKG_VERSION"),
                        "storage": self.storage,
                        "services": { "sqs": "running", "logs": "running", "lambda": "running", "events": "running", "scheduler": "running" },
                        "functions": { "invocations_completed": self.functions.invocations_completed() },
                        "requests": { "panicked": wharf_api_common::server::panics() },
                        "workers": workers,
                        "log": { "dropped_lines": crate::logging::dropped_lines() },
                    }),
                );
            }
            if request.uri.path() == "/metrics" && request.method == Method::GET {
                return self.metrics(&request).await;
            }
            if request.uri.path() == "/_wharf/clock" {
                if let Some(test_clock) = &self.test_clock {
                    return self.clock(test_clock, &request).await;
                }
            }
            if request.method == Method::GET {
                if let Some(code_id) =
                    request.uri.path().strip_prefix("/_wharf/code/").and_then(|rest| rest.strip_suffix(".zip"))
                {
                    return match self.functions.package_zip(code_id) {
                        Some(zip) => ApiResponse {
                            status: StatusCode::OK,
                            headers: vec![(
                                http::header::CONTENT_TYPE,
                                http::HeaderValue::from_static("application/zip"),
                            )],
                            body: zip.into(),
                        },
                        None => ApiResponse::json(StatusCode::NOT_FOUND, &json!({ "message": "no such code package" })),
                    };
                }
            }
            if LogsApi::claims(&request) {
                return self.logs.handle(request).await;
            }
            if wharf_api_sts::StsApi::claims(&request) {
                return self.sts.handle(request).await;
            }
            if wharf_api_iam::IamApi::claims(&request) {
                return self.iam.handle(request).await;
            }
            if EventsApi::claims(&request) {
                return self.events.handle(request).await;
            }
            if wharf_api_scheduler::SchedulerApi::claims(&request) {
                return self.scheduler.handle(request).await;
            }
            if LambdaApi::claims(&request) {
                return self.lambda.handle(request).await;
            }
            if SqsApi::protocol_of(&request).is_some() {
                return self.sqs.handle(request).await;
            }
            // No service claimed it: a form request without `Action` gets the query protocol's
            // MissingAction, anything else a JSON UnknownOperationException.
            let request_id = wharf_api_common::request_id();
            let is_form = request
                .header("content-type")
                .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
            let (json_type, query_code, message) = if is_form || request.method == Method::GET {
                ("MissingAction", "MissingAction", "The request must contain the parameter Action.")
            } else {
                (
                    "UnknownOperationException",
                    "UnknownOperationException",
                    "wharf cannot tell which AWS service this request is for (no X-Amz-Target, no Action)",
                )
            };
            let error = ErrorBody {
                status: StatusCode::BAD_REQUEST,
                json_type,
                query_code: Some(query_code),
                fault: Fault::Sender,
                message,
                reason: None,
            };
            if is_form || request.method == Method::GET {
                ApiResponse::xml_error(&request_id, &error)
            } else {
                ApiResponse::json_error("application/x-amz-json-1.0", &request_id, &error)
            }
        }
    }
}
