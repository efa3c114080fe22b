//! The pure core of wharf's EventBridge: event-pattern matching and schedule expressions.
//!
//! Nothing here does IO or reads a clock: the rules API and the scheduler built on top pass
//! events, patterns, expressions and instants in, and get verdicts and fire times back.
//!
//! Unlike the other engines, this crate depends on `serde_json`. That is deliberate: AWS
//! defines both an event and an event pattern as JSON documents, and a pattern's meaning
//! depends on JSON types (a number `3` and a string `"3"` differ, `null` is a value, arrays
//! match element-wise), so JSON values are this engine's domain types, not a wire format.
//!
//! # Layout
//! - [`pattern`] (the `wharf-pattern` crate): [`Pattern`], the content-filtering grammar of
//!   event patterns, and [`InvalidPattern`], worded as `InvalidEventPatternException` words it.
//! - [`schedule`]: [`Schedule`], the `rate(...)` and `cron(...)` expressions, with
//!   [`Schedule::next_after`] for the next fire time, and [`InvalidSchedule`].
//! - `civil` (private): proleptic-Gregorian day arithmetic used by the cron search.
//! - [`rules`]: [`Events`], the rules engine built on the two above (buses, rules, targets,
//!   tags, PutEvents routing), kept in memory over a `wharf_store::events::EventStore`, and
//!   [`TargetDelivery`], the port through which the wiring delivers to Lambda and SQS. Unlike
//!   the modules above, it does IO (the store, delivery tasks) and reads a `Clock`.
//! - [`scheduler`]: [`Events::run_scheduler`], the worker that fires scheduled rules, and the
//!   policy for fires missed while wharf was down (not replayed).
//! - [`schedules`]: EventBridge Scheduler: [`schedules::Schedules`] (groups, schedules in
//!   their time zones, the worker that invokes their targets through
//!   [`schedules::ScheduleDelivery`]).
//! - [`archives`]: archives of a bus's events and replays through its rules.
//! - [`connections`]: connections and API destinations (the records; delivery is the
//!   wiring's).
//! - [`bus_policy`]: a bus's resource policy (PutPermission, RemovePermission).
//! - [`target`]: [`target::TargetInput`], what a target receives (`Input`, `InputPath`,
//!   `InputTransformer`).
//! - [`error`]: [`EventsError`] and the per-entry outcomes [`EntryProblem`], [`TargetProblem`].

mod civil;
pub mod schedule;

pub use schedule::{Cron, InvalidSchedule, Schedule};
/// The event-pattern matcher, its own crate (`wharf-pattern`): rules, archives and event
/// source mapping filters all use it.
pub use wharf_pattern as pattern;
pub use wharf_pattern::{InvalidPattern, Pattern};
pub mod archives;
pub mod bus_policy;
pub mod connections;
pub mod error;
pub mod retries;
pub mod rules;
pub mod scheduler;
pub mod schedules;
pub mod target;

pub use error::{EntryProblem, EventsError, TargetProblem};
pub use rules::{Caller, Events, NewEvent, NewRule, Resource, ResourceArn, TargetDelivery};
