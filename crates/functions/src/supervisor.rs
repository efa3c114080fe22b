//! The pools of execution environments and the concurrency limits over them.
//!
//! Environments are pooled per function version and code revision. An invocation takes an
//! idle environment of its pool (warm), or starts a new one if the function and the account are
//! under their concurrency limits; at the account limit, an idle environment of another
//! function is stopped to make room. Environments go back to their pool after a successful
//! invocation and are stopped after a timeout, a crash or an idle period.
//!
//! Invariant: `running` counts every environment that exists (idle, busy or starting); it is
//! what the concurrency limits compare against.

use crate::environment::Environment;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Identifies a pool: one function, one version, one code and configuration revision.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PoolKey {
    /// `account/region/name` of the function.
    pub function: String,
    /// `$LATEST` or a version number.
    pub version: String,
    /// The configuration revision the environments were started with.
    pub revision: String,
}

#[derive(Default)]
struct State {
    /// Idle environments per pool, most recently used last.
    idle: HashMap<PoolKey, Vec<Arc<Environment>>>,
    /// Environments (idle, busy or starting) per function.
    per_function: HashMap<String, usize>,
    /// Environments of the whole account set.
    running: usize,
}

/// A reserved slot for one invocation: an environment to reuse, or the right to start one.
pub enum Slot {
    /// A warm environment.
    Warm(Arc<Environment>),
    /// Start a new environment (the slot is already counted).
    Cold,
}

/// Why no slot is available now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Throttle {
    /// The function's reserved concurrency is used up.
    Function,
    /// The account's concurrency is used up.
    Account,
}

/// The environment pools.
pub struct Supervisor {
    /// Pools and counters; held for microseconds, never across an await.
    state: Mutex<State>,
    /// Signalled whenever a slot is freed, for asynchronous invocations waiting for capacity.
    freed: Notify,
    /// The account-wide limit on environments.
    account_limit: usize,
}

impl Supervisor {
    /// A supervisor allowing `account_limit` environments in all.
    pub fn new(account_limit: usize) -> Self {
        Supervisor { state: Mutex::default(), freed: Notify::new(), account_limit: account_limit.max(1) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reserves a slot in `pool`, where the function may have at most `function_limit`
    /// environments.
    pub fn acquire(&self, pool: &PoolKey, function_limit: usize) -> Result<Slot, Throttle> {
        let mut evicted = Vec::new();
        let result = {
            let mut state = self.lock();
            let mut warm = None;
            if let Some(idle) = state.idle.get_mut(pool) {
                while let Some(environment) = idle.pop() {
                    if environment.healthy() {
                        warm = Some(environment);
                        break;
                    }
                    evicted.push(environment);
                }
            }
            for _ in &evicted {
                Self::forget(&mut state, &pool.function);
            }
            if let Some(environment) = warm {
                Ok(Slot::Warm(environment))
            } else if state.per_function.get(&pool.function).copied().unwrap_or(0) >= function_limit {
                Err(Throttle::Function)
            } else {
                if state.running >= self.account_limit {
                    // Make room by stopping the least recently used idle environment elsewhere.
                    let victim = state
                        .idle
                        .iter()
                        .filter(|(_, idle)| !idle.is_empty())
                        .min_by_key(|(_, idle)| *idle[0].last_used.lock().unwrap_or_else(|p| p.into_inner()))
                        .map(|(key, _)| key.clone());
                    if let Some(key) = victim {
                        if let Some(idle) = state.idle.get_mut(&key) {
                            let environment = idle.remove(0);
                            evicted.push(environment);
                            Self::forget(&mut state, &key.function);
                        }
                    }
                }
                if state.running >= self.account_limit {
                    Err(Throttle::Account)
                } else {
                    state.running += 1;
                    *state.per_function.entry(pool.function.clone()).or_default() += 1;
                    Ok(Slot::Cold)
                }
            }
        };
        for environment in evicted {
            environment.stop();
        }
        result
    }

    fn forget(state: &mut State, function: &str) {
        state.running = state.running.saturating_sub(1);
        if let Some(count) = state.per_function.get_mut(function) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                state.per_function.remove(function);
            }
        }
    }

    /// Returns an environment to its pool, or stops it if it cannot be reused or its pool is
    /// retired.
    pub fn release(&self, pool: &PoolKey, environment: Arc<Environment>, reusable: bool) {
        *environment.last_used.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Instant::now();
        if reusable && environment.healthy() {
            self.lock().idle.entry(pool.clone()).or_default().push(environment);
        } else {
            environment.stop();
            Self::forget(&mut self.lock(), &pool.function);
        }
        self.freed.notify_waiters();
    }

    /// Gives back a cold slot whose environment never started.
    pub fn abandon(&self, pool: &PoolKey) {
        Self::forget(&mut self.lock(), &pool.function);
        self.freed.notify_waiters();
    }

    /// Waits until some slot is freed (or a short while passes: a release between the failed
    /// acquire and this wait would otherwise be missed).
    pub async fn wait_for_capacity(&self) {
        let _ = tokio::time::timeout(Duration::from_millis(250), self.freed.notified()).await;
    }

    /// Stops the idle environments of `function` that are not of `keep` (after an update); busy
    /// ones are stopped when they come back.
    pub fn retire(&self, function: &str, keep: Option<&PoolKey>) {
        let mut stopped = Vec::new();
        {
            let mut state = self.lock();
            let keys: Vec<PoolKey> =
                state.idle.keys().filter(|key| key.function == function && Some(*key) != keep).cloned().collect();
            for key in keys {
                if let Some(idle) = state.idle.remove(&key) {
                    for environment in idle {
                        Self::forget(&mut state, &key.function);
                        stopped.push(environment);
                    }
                }
            }
        }
        for environment in stopped {
            environment.stop();
        }
        self.freed.notify_waiters();
    }

    /// Whether environments of `pool` may go back to it.
    pub fn is_retired(&self, pool: &PoolKey, current_revision: Option<&str>) -> bool {
        current_revision != Some(pool.revision.as_str())
    }

    /// Stops environments idle for longer than `idle_for`; returns how many.
    pub fn reap(&self, idle_for: Duration) -> usize {
        let now = Instant::now();
        let mut stopped = Vec::new();
        {
            let mut state = self.lock();
            let mut forgotten = Vec::new();
            for (key, idle) in state.idle.iter_mut() {
                idle.retain(|environment| {
                    let last = *environment.last_used.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    if now.duration_since(last) >= idle_for || !environment.healthy() {
                        stopped.push(Arc::clone(environment));
                        forgotten.push(key.function.clone());
                        false
                    } else {
                        true
                    }
                });
            }
            for function in forgotten {
                Self::forget(&mut state, &function);
            }
            state.idle.retain(|_, idle| !idle.is_empty());
        }
        let count = stopped.len();
        for environment in stopped {
            environment.stop();
        }
        if count > 0 {
            self.freed.notify_waiters();
        }
        count
    }

    /// Stops every idle environment and returns them, so the caller can wait for their exit.
    pub fn stop_all(&self) -> Vec<Arc<Environment>> {
        let mut stopped = Vec::new();
        {
            let mut state = self.lock();
            for (key, idle) in state.idle.drain() {
                for environment in idle {
                    stopped.push((key.function.clone(), environment));
                }
            }
            for (function, _) in &stopped {
                Self::forget(&mut state, function);
            }
        }
        stopped
            .into_iter()
            .map(|(_, environment)| {
                environment.stop();
                environment
            })
            .collect()
    }

    /// How many environments exist, per function and in all.
    pub fn counts(&self, function: &str) -> (usize, usize) {
        let state = self.lock();
        (state.per_function.get(function).copied().unwrap_or(0), state.running)
    }
}
