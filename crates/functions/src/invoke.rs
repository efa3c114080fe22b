//! Invocations: synchronous (`RequestResponse`), asynchronous (`Event`) with retries and
//! destinations, and the launch of execution environments.
//!
//! A synchronous invocation takes a warm environment or starts one, hands it the event, and
//! waits for the outcome for at most the function's timeout. A timeout or a crash kills the
//! process, so the next invocation starts a fresh environment, as on Lambda. The log gets
//! Lambda's START, END and REPORT lines around the function's own output.
//!
//! An asynchronous invocation is queued durably and answered at once; a worker runs queued
//! events as concurrency allows, retries function errors (by default twice, after one and two
//! minutes), drops events older than the maximum event age, and sends records to the on-success
//! and on-failure destinations and the dead-letter queue.

use crate::environment::{error_body, Environment, LaunchSpec};
use crate::name::FunctionRef;
use crate::ports::{AsyncEvent, Condition, DestinationRecord};
use crate::runtimes::{self, Family};
use crate::session::{Delivery, Outcome, Phase};
use crate::supervisor::{PoolKey, Slot, Throttle};
use crate::{FunctionError, Functions, Resolved};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wharf_types::{AccountId, Region, UtcDateTime};

/// Largest synchronous request and response payload (6 MB).
pub const SYNC_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;
/// Largest asynchronous request payload (1 MB).
pub const ASYNC_PAYLOAD_LIMIT: usize = 1024 * 1024;
/// Lambda's default maximum event age, in seconds.
pub const DEFAULT_MAX_EVENT_AGE: u32 = 21_600;
/// Lambda's default number of retries of a failed asynchronous invocation.
pub const DEFAULT_RETRIES: u32 = 2;

/// An Invoke request in domain terms.
#[derive(Clone, Debug)]
pub struct InvokeRequest {
    /// The caller's account.
    pub account: String,
    /// The caller's region.
    pub region: String,
    /// The function as the caller named it.
    pub function: FunctionRef,
    /// The `Qualifier` parameter.
    pub qualifier: Option<String>,
    /// The event (JSON, checked by the protocol layer).
    pub payload: Bytes,
    /// `X-Amz-Client-Context`, decoded from base64.
    pub client_context: Option<String>,
    /// `LogType: Tail`.
    pub want_tail: bool,
}

/// What a synchronous invocation returns.
#[derive(Clone, Debug)]
pub struct InvokeResult {
    /// The request id.
    pub request_id: String,
    /// The version that ran.
    pub executed_version: String,
    /// The function's result or error document.
    pub outcome: Outcome,
    /// The last 4 KB of the invocation's log, when asked for.
    pub log_tail: Option<String>,
}

impl InvokeResult {
    /// `X-Amz-Function-Error`: `Unhandled` when the function failed.
    pub fn function_error(&self) -> Option<&'static str> {
        match self.outcome {
            Outcome::Response(_) => None,
            Outcome::Error { .. } => Some("Unhandled"),
        }
    }

    /// The response body: the result or the error document.
    pub fn payload(&self) -> Bytes {
        match &self.outcome {
            Outcome::Response(payload) => payload.clone(),
            Outcome::Error { body, .. } => body.clone(),
        }
    }
}

fn new_request_id() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// Why an environment could not be started.
enum LaunchError {
    /// The engine cannot run the function at all (reported as an API error).
    Api(FunctionError),
    /// The function's package cannot start (reported as a function error).
    Function(Outcome),
}

impl Functions {
    /// Invoke with `RequestResponse`.
    pub async fn invoke(&self, request: InvokeRequest) -> Result<InvokeResult, FunctionError> {
        if request.payload.len() > SYNC_PAYLOAD_LIMIT {
            return Err(FunctionError::RequestTooLarge { limit: SYNC_PAYLOAD_LIMIT, kind: "InvokeFunction" });
        }
        let resolved =
            self.resolve_ref(&request.account, &request.region, &request.function, request.qualifier.as_deref())?;
        self.run(&resolved, new_request_id(), request.payload, request.client_context, request.want_tail, false).await
    }

    /// Invoke with `DryRun`: checks the function and qualifier exist.
    pub fn dry_run(&self, request: &InvokeRequest) -> Result<Resolved, FunctionError> {
        self.resolve_ref(&request.account, &request.region, &request.function, request.qualifier.as_deref())
    }

    /// Invoke with `Event`: queues the event durably and returns its request id.
    pub async fn invoke_async(&self, request: InvokeRequest) -> Result<(String, Resolved), FunctionError> {
        if request.payload.len() > ASYNC_PAYLOAD_LIMIT {
            return Err(FunctionError::RequestTooLarge { limit: ASYNC_PAYLOAD_LIMIT, kind: "InvokeAsync" });
        }
        let resolved =
            self.resolve_ref(&request.account, &request.region, &request.function, request.qualifier.as_deref())?;
        let queue =
            self.queue.get().ok_or_else(|| FunctionError::Host("asynchronous invocation is not available".into()))?;
        let request_id = new_request_id();
        let qualifier = crate::registry::merge_qualifier(&request.function, request.qualifier.as_deref())?;
        let event = AsyncEvent {
            account: resolved.key.account.clone(),
            region: resolved.key.region.clone(),
            function: resolved.key.name.clone(),
            qualifier,
            request_id: request_id.clone(),
            payload: request.payload,
            attempts: 0,
            enqueued_at: self.clock.now_millis(),
        };
        queue.push(event, 0).await.map_err(|err| FunctionError::Host(err.to_string()))?;
        Ok((request_id, resolved))
    }

    /// Runs one invocation of `resolved` and waits for its outcome. With `wait_for_capacity`,
    /// waits for a free environment instead of failing with TooManyRequests.
    pub async fn run(
        &self,
        resolved: &Resolved,
        request_id: String,
        payload: Bytes,
        client_context: Option<String>,
        want_tail: bool,
        wait_for_capacity: bool,
    ) -> Result<InvokeResult, FunctionError> {
        let version = &resolved.version;
        let pool = PoolKey {
            function: resolved.key.pool_name(),
            version: version.version.clone(),
            revision: version.revision_id.clone(),
        };
        let function_limit = match resolved.reserved_concurrency {
            Some(0) => {
                self.count(&resolved.key, |counters| counters.throttles += 1);
                return Err(FunctionError::TooManyRequests {
                    reason: "ReservedFunctionConcurrentInvocationLimitExceeded",
                });
            }
            Some(reserved) => reserved as usize,
            None => usize::MAX,
        };
        let slot = loop {
            match self.supervisor.acquire(&pool, function_limit) {
                Ok(slot) => break slot,
                Err(_) if wait_for_capacity => self.supervisor.wait_for_capacity().await,
                Err(Throttle::Function) => {
                    self.count(&resolved.key, |counters| counters.throttles += 1);
                    return Err(FunctionError::TooManyRequests {
                        reason: "ReservedFunctionConcurrentInvocationLimitExceeded",
                    });
                }
                Err(Throttle::Account) => {
                    self.count(&resolved.key, |counters| counters.throttles += 1);
                    return Err(FunctionError::TooManyRequests { reason: "ConcurrentInvocationLimitExceeded" });
                }
            }
        };
        let environment = match slot {
            Slot::Warm(environment) => environment,
            Slot::Cold => match self.launch(resolved).await {
                Ok(environment) => environment,
                Err(LaunchError::Api(err)) => {
                    self.supervisor.abandon(&pool);
                    return Err(err);
                }
                Err(LaunchError::Function(outcome)) => {
                    self.supervisor.abandon(&pool);
                    return Ok(InvokeResult {
                        request_id,
                        executed_version: version.version.clone(),
                        outcome,
                        log_tail: None,
                    });
                }
            },
        };

        // On Lambda, what a function prints while it initializes comes before START: a fresh
        // environment first finishes its initialization (asks for its first event), then the
        // invocation begins.
        let mut init_duration = None;
        let mut init_timed_out = false;
        if environment.fresh.swap(false, Ordering::AcqRel) {
            let mut phase = environment.session.phase();
            let ready =
                tokio::time::timeout(self.config.init_timeout, phase.wait_for(|phase| *phase != Phase::Starting)).await;
            init_duration = Some(environment.started.elapsed());
            if ready.is_err() {
                init_timed_out = true;
            }
        }
        environment.begin(format!("START RequestId: {request_id} Version: {}", version.version)).await;
        let timeout = Duration::from_secs(u64::from(version.timeout_seconds));
        let outcome_rx = environment.session.deliver(Delivery {
            request_id: request_id.clone(),
            payload,
            deadline_ms: 0,
            timeout_ms: timeout.as_millis() as u64,
            function_arn: resolved.invoked_arn.clone(),
            trace_id: format!(
                "Root=1-{:08x}-{};Parent={};Sampled=0",
                self.clock.now_millis() / 1000,
                &uuid::Uuid::new_v4().simple().to_string()[..24],
                &uuid::Uuid::new_v4().simple().to_string()[..16]
            ),
            client_context,
        });
        let invoke_started = Instant::now();
        let mut timed_out = false;
        let mut outcome = if init_timed_out {
            timed_out = true;
            environment.stop();
            timeout_outcome(&request_id, self.config.init_timeout)
        } else {
            match tokio::time::timeout(timeout, outcome_rx).await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(_)) => crate::environment::exit_error("exited"),
                Err(_) => {
                    timed_out = true;
                    environment.stop();
                    timeout_outcome(&request_id, timeout)
                }
            }
        };
        let duration = invoke_started.elapsed();
        let mut status = None;
        if let Outcome::Error { error_type, body } = &mut outcome {
            if error_type == "Runtime.ExitError" {
                // Give the exit error the request id, as Lambda words it.
                let reason = String::from_utf8_lossy(body).into_owned();
                let reason = reason
                    .split("\"errorMessage\":\"")
                    .nth(1)
                    .and_then(|rest| rest.strip_suffix("\"}"))
                    .unwrap_or("Runtime exited")
                    .to_owned();
                *body = error_body("Runtime.ExitError", &format!("RequestId: {request_id} Error: {reason}"));
                status = Some("error\tError Type: Runtime.ExitError".to_owned());
            }
        }
        if let Outcome::Response(result) = &outcome {
            if result.len() > SYNC_PAYLOAD_LIMIT {
                outcome = Outcome::Error {
                    error_type: "Function.ResponseSizeTooLarge".into(),
                    body: error_body(
                        "Function.ResponseSizeTooLarge",
                        &format!(
                            "Response payload size exceeded maximum allowed payload size ({SYNC_PAYLOAD_LIMIT} bytes)."
                        ),
                    ),
                };
            }
        }
        let peak_memory = environment.peak_memory_mb();
        let out_of_memory = peak_memory.is_some_and(|peak| peak > u64::from(version.memory_mb));
        if out_of_memory && !timed_out {
            environment.stop();
            outcome = Outcome::Error {
                error_type: "Runtime.OutOfMemory".into(),
                body: error_body(
                    "Runtime.OutOfMemory",
                    &format!("RequestId: {request_id} Error: Runtime exited with error: signal: killed"),
                ),
            };
            status = Some("error\tError Type: Runtime.OutOfMemory".to_owned());
        }
        if timed_out {
            status = Some("timeout".to_owned());
        }

        let mut lines = Vec::new();
        if timed_out {
            lines.push(format!(
                "{} {request_id} Task timed out after {:.2} seconds",
                UtcDateTime::from_epoch_millis(self.clock.now_millis()).iso8601_millis(),
                if init_timed_out { self.config.init_timeout } else { timeout }.as_secs_f64()
            ));
        }
        lines.push(format!("END RequestId: {request_id}"));
        let millis = duration.as_secs_f64() * 1000.0;
        let mut report = format!(
            "REPORT RequestId: {request_id}\tDuration: {millis:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB",
            (millis.ceil() as u64).max(1),
            version.memory_mb,
            peak_memory.unwrap_or(0)
        );
        if let Some(init) = init_duration {
            report.push_str(&format!("\tInit Duration: {:.2} ms", init.as_secs_f64() * 1000.0));
        }
        if let Some(status) = &status {
            report.push_str(&format!("\tStatus: {status}"));
        }
        report.push('\t');
        lines.push(report);
        tracing::info!(
            function = %resolved.key.name,
            version = %version.version,
            request_id = %request_id,
            millis = format_args!("{millis:.2}"),
            outcome = status.as_deref().unwrap_or("ok"),
            "invoked"
        );
        let tail = environment.finish(lines, want_tail);
        let still_current = self.is_current(&resolved.key, &version.version, &version.revision_id);
        // An environment whose process exited is never handed out again, even in the instant
        // before its exit is recorded.
        let exited = matches!(&outcome, Outcome::Error { error_type, .. } if error_type == "Runtime.ExitError");
        let reusable = !timed_out && !out_of_memory && !exited && still_current;
        self.supervisor.release(&pool, environment, reusable);
        self.completed.fetch_add(1, Ordering::Relaxed);
        let failed = matches!(outcome, Outcome::Error { .. });
        let cold = init_duration.is_some();
        self.count(&resolved.key, |counters| {
            counters.invocations += 1;
            counters.errors += u64::from(failed);
            counters.cold_starts += u64::from(cold);
            counters.duration_seconds += duration.as_secs_f64();
        });
        let log_tail = match tail {
            Some(tail) => tokio::time::timeout(Duration::from_secs(1), tail).await.ok().and_then(Result::ok),
            None => None,
        };
        Ok(InvokeResult { request_id, executed_version: version.version.clone(), outcome, log_tail })
    }

    /// Starts an environment for `resolved`.
    /// How long an environment's role credentials last, and how long before their expiry the
    /// environment stops being reused.
    const CREDENTIALS_SECONDS: u32 = 12 * 3600;
    const RETIRE_MARGIN: Duration = Duration::from_secs(15 * 60);

    /// The credentials of the execution role for a new environment, and when that environment
    /// must retire. A role that cannot be assumed gives credentials no request accepts (and a
    /// line in the function's log saying why), as an environment on Lambda would fail.
    fn role_credentials(
        &self,
        key: &crate::FunctionKey,
        role_arn: &str,
        preamble: &mut Vec<String>,
    ) -> (crate::ports::RoleCredentials, Option<wharf_types::EpochMillis>) {
        let unusable = || crate::ports::RoleCredentials {
            access_key_id: format!("ASIA{}", &uuid::Uuid::new_v4().simple().to_string()[..16].to_uppercase()),
            secret_access_key: uuid::Uuid::new_v4().simple().to_string(),
            session_token: format!("wharf-no-role-{}", key.name),
            expires_ms: 0,
        };
        let Some(roles) = self.roles.get() else { return (unusable(), None) };
        match roles.assume(role_arn, &key.arn(), &key.name, Self::CREDENTIALS_SECONDS) {
            Ok(credentials) => {
                let retire_at = credentials.expires_ms.saturating_sub(Self::RETIRE_MARGIN.as_millis() as u64);
                (credentials, Some(retire_at))
            }
            Err(None) => (unusable(), None),
            Err(Some(why)) => {
                preamble.push(format!("wharf: the execution role {role_arn} cannot be assumed ({why}); AWS calls from this function will be refused"));
                (unusable(), None)
            }
        }
    }

    async fn launch(&self, resolved: &Resolved) -> Result<Arc<Environment>, LaunchError> {
        let version = &resolved.version;
        let key = &resolved.key;
        let family = runtimes::family(&version.runtime).ok_or_else(|| {
            LaunchError::Api(FunctionError::InvalidRuntime(format!(
                "The runtime parameter of {} is not supported by wharf (it runs python3.x, nodejs*.x and provided.* functions)",
                version.runtime
            )))
        })?;
        let task_root = match &version.source_dir {
            Some(dir) => PathBuf::from(dir),
            None => self
                .code
                .ensure_unpacked(&version.code_id)
                .map_err(|err| LaunchError::Api(FunctionError::Host(format!("code package: {err}"))))?,
        };
        let runtime_dir = &self.config.runtime_dir;
        let mut preamble = Vec::new();
        let mut env: BTreeMap<String, String> = version.environment.clone();
        // The runtime's own files the sandbox lets the function read: the Python interpreter
        // found for this runtime and the SDK directory (the configured interpreters and `node`
        // are in `Sandbox::read` already).
        let mut runtime_read: Vec<PathBuf> = Vec::new();
        let (command, execution_env) = match family {
            Family::Python { minor } => {
                let settings = self.config.runtimes.clone();
                let runtime = version.runtime.clone();
                // The first search runs interpreters: keep it off the async threads.
                let (interpreter, warning) =
                    tokio::task::spawn_blocking(move || runtimes::python_for(&settings, &runtime, minor))
                        .await
                        .map_err(|err| LaunchError::Api(FunctionError::Host(err.to_string())))?
                        .map_err(|reason| LaunchError::Api(FunctionError::InvalidRuntime(reason)))?;
                preamble.extend(warning);
                match self.python_sdk.path_for(&self.config.runtimes, &interpreter).await {
                    Ok(Some(path)) => {
                        env.insert("WHARF_PYTHON_SDK_PATH".into(), path.to_string_lossy().into_owned());
                        runtime_read.push(path);
                    }
                    Ok(None) => {}
                    Err(reason) => preamble.push(format!("wharf: boto3 is not available to this function: {reason}")),
                }
                let bootstrap = runtime_dir.join("python").join("bootstrap.py");
                runtime_read.extend(crate::isolation::installation_of(&interpreter.program));
                (
                    vec![interpreter.program, "-u".into(), bootstrap.to_string_lossy().into_owned()],
                    Some(format!("AWS_Lambda_{}", version.runtime)),
                )
            }
            Family::Node => {
                let bootstrap = runtime_dir.join("node").join("bootstrap.js");
                let heap = (u64::from(version.memory_mb) * 85 / 100).max(64);
                (
                    vec![
                        self.config.runtimes.node.clone(),
                        format!("--max-old-space-size={heap}"),
                        bootstrap.to_string_lossy().into_owned(),
                    ],
                    Some(format!("AWS_Lambda_{}", version.runtime)),
                )
            }
            Family::Provided => {
                let bootstrap = task_root.join("bootstrap");
                if !bootstrap.is_file() {
                    return Err(LaunchError::Function(Outcome::Error {
                        error_type: "Runtime.InvalidEntrypoint".into(),
                        body: error_body(
                            "Runtime.InvalidEntrypoint",
                            "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]",
                        ),
                    }));
                }
                (vec![bootstrap.to_string_lossy().into_owned()], None)
            }
        };
        let environment_id = uuid::Uuid::new_v4().simple().to_string();
        let isolation = self.isolation().await;
        let (command, scratch) = match &isolation.sandbox {
            Some(sandbox) => {
                let tmp = sandbox.scratch_dir.join(&environment_id);
                std::fs::create_dir_all(&tmp).map_err(|err| {
                    LaunchError::Api(FunctionError::Host(format!("creating {}: {err}", tmp.display())))
                })?;
                runtime_read.push(task_root.clone());
                runtime_read.push(runtime_dir.clone());
                let mut wrapped = sandbox.wrapper(&runtime_read, &tmp, isolation.containment);
                wrapped.extend(command);
                (wrapped, Some(tmp))
            }
            None => (command, None),
        };
        let command = isolation.containment.wrap(command);
        let date = UtcDateTime::from_epoch_millis(self.clock.now_millis());
        let log_stream =
            format!("{:04}/{:02}/{:02}/[{}]{environment_id}", date.year, date.month, date.day, version.version);
        let host_path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
        let (credentials, retire_at) = self.role_credentials(key, &version.role, &mut preamble);
        let reserved: [(&str, String); 20] = [
            ("PATH", host_path),
            ("LANG", "en_US.UTF-8".into()),
            ("TZ", ":UTC".into()),
            ("LAMBDA_TASK_ROOT", task_root.to_string_lossy().into_owned()),
            ("LAMBDA_RUNTIME_DIR", runtime_dir.to_string_lossy().into_owned()),
            ("_HANDLER", version.handler.clone()),
            ("AWS_REGION", key.region.clone()),
            ("AWS_DEFAULT_REGION", key.region.clone()),
            ("AWS_LAMBDA_FUNCTION_NAME", key.name.clone()),
            ("AWS_LAMBDA_FUNCTION_VERSION", version.version.clone()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", version.memory_mb.to_string()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", version.log_group.clone()),
            ("AWS_LAMBDA_LOG_STREAM_NAME", log_stream.clone()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
            ("AWS_LAMBDA_LOG_FORMAT", version.log_format.clone()),
            // Temporary credentials of the execution role.
            ("AWS_ACCESS_KEY_ID", credentials.access_key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key.clone()),
            ("AWS_SESSION_TOKEN", credentials.session_token.clone()),
            ("AWS_ENDPOINT_URL", self.config.endpoint_url.clone()),
            ("PYTHONDONTWRITEBYTECODE", "1".into()),
        ];
        for (name, value) in reserved {
            env.insert(name.into(), value);
        }
        if let Some(execution_env) = execution_env {
            env.insert("AWS_EXECUTION_ENV".into(), execution_env);
        }
        if let Some(level) = &version.application_log_level {
            env.insert("AWS_LAMBDA_LOG_LEVEL".into(), level.clone());
        }
        let spec = LaunchSpec {
            command,
            task_root,
            env,
            account: key
                .account
                .parse::<AccountId>()
                .map_err(|err| LaunchError::Api(FunctionError::Host(err.to_string())))?,
            region: key
                .region
                .parse::<Region>()
                .map_err(|err| LaunchError::Api(FunctionError::Host(err.to_string())))?,
            log_group: version.log_group.clone(),
            writer: resolved.writer(),
            preamble,
            containment: isolation.containment,
            scratch,
            retire_at,
        };
        Environment::launch(
            &spec,
            self.host.as_ref(),
            Arc::clone(&self.logs),
            Arc::clone(&self.clock),
            log_stream,
            environment_id,
            |address| BTreeMap::from([("AWS_LAMBDA_RUNTIME_API".to_owned(), address.to_owned())]),
        )
        .await
        .map_err(|err| {
            LaunchError::Function(Outcome::Error {
                error_type: "Runtime.InvalidEntrypoint".into(),
                body: error_body(
                    "Runtime.InvalidEntrypoint",
                    &format!("RequestId: Error: could not start the runtime: {err}"),
                ),
            })
        })
    }

    /// Runs queued asynchronous invocations until `stop` turns true.
    pub async fn run_async_worker(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let Some(queue) = self.queue.get().cloned() else { return };
        let permits = Arc::new(tokio::sync::Semaphore::new(self.config.account_concurrency.max(1)));
        loop {
            if *stop.borrow() {
                return;
            }
            let pulled = tokio::select! {
                pulled = queue.pull(10) => pulled,
                _ = stop.changed() => return,
            };
            match pulled {
                Ok(events) => {
                    for (ticket, event) in events {
                        let permit = tokio::select! {
                            permit = Arc::clone(&permits).acquire_owned() => permit,
                            _ = stop.changed() => return,
                        };
                        let Ok(permit) = permit else { return };
                        let engine = Arc::clone(&self);
                        tokio::spawn(async move {
                            engine.handle_async(ticket, event).await;
                            drop(permit);
                        });
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "reading the asynchronous invocation queue failed");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.changed() => return,
                    }
                }
            }
        }
    }

    /// Runs one queued event: invoke, then retry, or send it to destinations.
    async fn handle_async(&self, ticket: String, mut event: AsyncEvent) {
        let Some(queue) = self.queue.get() else { return };
        let key = crate::FunctionKey {
            account: event.account.clone(),
            region: event.region.clone(),
            name: event.function.clone(),
        };
        let resolved = match self.resolve(&key, event.qualifier.as_deref()) {
            Ok(resolved) => resolved,
            Err(_) => {
                tracing::info!(function = %event.function, request_id = %event.request_id, "dropping an event of a deleted function");
                let _ = queue.done(ticket).await;
                return;
            }
        };
        let config = resolved.event_invoke_config.clone();
        let max_retries = config.as_ref().and_then(|config| config.maximum_retry_attempts).unwrap_or(DEFAULT_RETRIES);
        let max_age =
            config.as_ref().and_then(|config| config.maximum_event_age_seconds).unwrap_or(DEFAULT_MAX_EVENT_AGE);
        let age_ms = self.clock.now_millis().saturating_sub(event.enqueued_at);
        if age_ms > u64::from(max_age) * 1000 {
            self.fail_async(&resolved, &event, Condition::EventAgeExceeded, None).await;
            let _ = queue.done(ticket).await;
            return;
        }
        // Keep the event hidden while it waits for capacity and runs; if wharf stops, the hold
        // lapses and the event runs again after the restart.
        let run = self.run(&resolved, event.request_id.clone(), event.payload.clone(), None, false, true);
        tokio::pin!(run);
        let mut extend = tokio::time::interval(crate::ports::PULL_EXTEND_EVERY);
        extend.tick().await;
        let result = loop {
            tokio::select! {
                result = &mut run => break result,
                _ = extend.tick() => {
                    if let Err(err) = queue.extend(&ticket, crate::ports::PULL_HOLD_SECONDS).await {
                        tracing::debug!(error = %err, "extending an event's hold failed");
                    }
                }
            }
        };
        event.attempts += 1;
        match result {
            Ok(result) if result.function_error().is_none() => {
                if let Some(destination) = config.as_ref().and_then(|config| config.on_success.clone()) {
                    let record = self.record(&resolved, &event, Condition::Success, Some(&result));
                    self.deliver(&destination, &resolved.writer(), record).await;
                }
            }
            Ok(result) => {
                if event.attempts <= max_retries {
                    let delay = self.config.async_retry_delay_seconds.saturating_mul(event.attempts);
                    if let Err(err) = queue.push(event.clone(), delay.min(900)).await {
                        tracing::warn!(error = %err, "could not queue a retry; the event will be retried after its visibility timeout");
                        return;
                    }
                } else {
                    self.fail_async(&resolved, &event, Condition::RetriesExhausted, Some(&result)).await;
                }
            }
            Err(err) => {
                tracing::warn!(function = %event.function, error = %err, "asynchronous invocation could not run");
                self.fail_async(&resolved, &event, Condition::RetriesExhausted, None).await;
            }
        }
        let _ = queue.done(ticket).await;
    }

    fn record(
        &self,
        resolved: &Resolved,
        event: &AsyncEvent,
        condition: Condition,
        result: Option<&InvokeResult>,
    ) -> DestinationRecord {
        DestinationRecord {
            timestamp: self.clock.now_millis(),
            request_id: event.request_id.clone(),
            function_arn: format!("{}:{}", resolved.key.arn(), event.qualifier.as_deref().unwrap_or("$LATEST")),
            condition,
            approximate_invoke_count: event.attempts,
            request_payload: event.payload.clone(),
            executed_version: result.map(|result| result.executed_version.clone()),
            function_error: result.and_then(|result| result.function_error().map(str::to_owned)),
            response_payload: result.map(InvokeResult::payload),
        }
    }

    async fn fail_async(
        &self,
        resolved: &Resolved,
        event: &AsyncEvent,
        condition: Condition,
        result: Option<&InvokeResult>,
    ) {
        tracing::info!(function = %event.function, request_id = %event.request_id, condition = condition.as_str(), "asynchronous invocation failed for good");
        if let Some(destination) = resolved.event_invoke_config.as_ref().and_then(|config| config.on_failure.clone()) {
            let record = self.record(resolved, event, condition, result);
            self.deliver(&destination, &resolved.writer(), record).await;
        }
        if let Some(target) = &resolved.version.dead_letter_target {
            let (code, message) = match result.map(|result| &result.outcome) {
                Some(Outcome::Error { body, .. }) => (200, String::from_utf8_lossy(body).chars().take(1024).collect()),
                _ => (429, condition.as_str().to_owned()),
            };
            if let Some(destinations) = self.destinations.get() {
                if let Err(err) = destinations
                    .dead_letter(target, &resolved.writer(), event.payload.clone(), &event.request_id, code, &message)
                    .await
                {
                    tracing::warn!(error = %err, target = %target, "dead-letter delivery failed");
                }
            }
        }
    }

    async fn deliver(&self, destination: &str, from: &crate::ports::FunctionRole, record: DestinationRecord) {
        match self.destinations.get() {
            Some(destinations) => {
                if let Err(err) = destinations.deliver(destination, from, record).await {
                    tracing::warn!(error = %err, destination = %destination, "destination delivery failed");
                }
            }
            None => tracing::warn!(destination = %destination, "no destination delivery is configured"),
        }
    }
}

fn timeout_outcome(request_id: &str, timeout: Duration) -> Outcome {
    Outcome::Error {
        error_type: "Sandbox.Timedout".into(),
        body: error_body(
            "Sandbox.Timedout",
            &format!("RequestId: {request_id} Error: Task timed out after {:.2} seconds", timeout.as_secs_f64()),
        ),
    }
}
