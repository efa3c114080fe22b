//! Settings: the embedded default file, an optional user file, then environment and flags.
//!
//! The default file (`wharf.default.toml`) documents every key. A user file is merged over it
//! table by table; unknown keys are an error, so a typo cannot be silently ignored.

use anyhow::{bail, Context as _};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The documented defaults, the base layer of every configuration.
pub const DEFAULT_CONFIG: &str = include_str!("../wharf.default.toml");

/// Keys that were renamed or removed, with what replaces them.
const RELOCATED_KEYS: &[(&str, &str)] = &[];

/// wharf's settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listen address.
    pub bind: String,
    /// Embedded store directory.
    pub data_dir: PathBuf,
    /// Keep nothing on disk.
    pub in_memory: bool,
    /// Owner of every resource.
    pub account_id: String,
    /// Region of unsigned requests.
    pub region: String,
    /// Log filter.
    pub log: String,
    /// `text` or `json` log lines.
    pub log_format: LogFormat,
    /// MiB of message content the durable store keeps in memory.
    pub message_cache_mb: u64,
    /// Connection limits and network exposure.
    pub server: ServerSection,
    /// SQS settings.
    pub sqs: SqsConfig,
    /// Lambda settings.
    pub functions: FunctionsSection,
    /// Authentication.
    pub auth: AuthSection,
    /// EventBridge rules declared at start.
    #[serde(default)]
    pub events: EventsSection,
    /// CloudWatch Logs groups declared at start.
    #[serde(default)]
    pub logs: LogsSection,
    /// IAM roles and users declared at start.
    #[serde(default)]
    pub iam: IamSection,
    /// Delete what the file declared before and no longer does (at start and when the file
    /// is applied again).
    #[serde(default)]
    pub prune: bool,
    /// The merged settings as read (for telling which changed when the file is applied again).
    #[serde(skip)]
    pub settings: toml::Table,
}

/// The `[iam]` table.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IamSection {
    /// Roles of the default account created (or updated) at start.
    #[serde(default)]
    pub roles: Vec<DeclaredRole>,
    /// Users of the default account, with their policies and access keys.
    #[serde(default)]
    pub users: Vec<DeclaredUser>,
}

/// One `[[iam.users]]` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredUser {
    /// Its name.
    pub name: String,
    /// Managed policy ARNs attached to it.
    #[serde(default)]
    pub managed_policies: Vec<String>,
    /// Inline policies by name (JSON text).
    #[serde(default)]
    pub policies: BTreeMap<String, String>,
    /// Its access keys, with the ids and secrets given here (at most two).
    #[serde(default)]
    pub access_keys: Vec<DeclaredAccessKey>,
}

/// An access key of a declared user.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredAccessKey {
    /// The key id (16 to 128 letters, digits or underscores).
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
}

impl std::fmt::Debug for DeclaredAccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("DeclaredAccessKey").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

/// A role declared in the configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredRole {
    /// Its name.
    pub name: String,
    /// The services that may assume it (`lambda.amazonaws.com`), for a trust policy wharf writes.
    #[serde(default)]
    pub trusted_services: Vec<String>,
    /// A whole trust policy document instead (JSON text).
    #[serde(default)]
    pub trust_policy: Option<String>,
    /// Managed policy ARNs attached to it.
    #[serde(default)]
    pub managed_policies: Vec<String>,
    /// Inline policies by name (JSON text).
    #[serde(default)]
    pub policies: BTreeMap<String, String>,
}

/// The `[events]` table.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsSection {
    /// Rules (on the default bus) created or updated at start.
    #[serde(default)]
    pub rules: Vec<DeclaredRule>,
}

/// A rule declared in the configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredRule {
    /// Its name.
    pub name: String,
    /// Its region; the default region when absent.
    #[serde(default)]
    pub region: Option<String>,
    /// `rate(...)`, `cron(...)`.
    #[serde(default)]
    pub schedule_expression: Option<String>,
    /// An event pattern (JSON text).
    #[serde(default)]
    pub event_pattern: Option<String>,
    /// Whether it fires (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Its targets.
    #[serde(default)]
    pub targets: Vec<DeclaredTarget>,
}

/// A rule's target: a declared function or queue by name, or any ARN.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredTarget {
    /// The target id (default: the function's or queue's name).
    #[serde(default)]
    pub id: Option<String>,
    /// A function of the rule's account and region, by name.
    #[serde(default)]
    pub function: Option<String>,
    /// A queue of the rule's account and region, by name.
    #[serde(default)]
    pub queue: Option<String>,
    /// Any target ARN.
    #[serde(default)]
    pub arn: Option<String>,
    /// Constant JSON delivered instead of the event.
    #[serde(default)]
    pub input: Option<String>,
}

/// The `[logs]` table.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsSection {
    /// Log groups created at start.
    #[serde(default)]
    pub groups: Vec<DeclaredLogGroup>,
}

/// A log group declared in the configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredLogGroup {
    /// Its name.
    pub name: String,
    /// Its region; the default region when absent.
    #[serde(default)]
    pub region: Option<String>,
    /// Retention in days (one of CloudWatch Logs' values); none keeps events forever.
    #[serde(default)]
    pub retention_days: Option<i64>,
}

/// An event source mapping declared in the configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredMapping {
    /// The queue, by name (in `region`) or ARN.
    pub queue: String,
    /// The function, by name.
    pub function: String,
    /// Their region; the default region when absent.
    #[serde(default)]
    pub region: Option<String>,
    /// Records per batch (default 10).
    #[serde(default)]
    pub batch_size: Option<u32>,
    /// Seconds to gather a batch (default 0).
    #[serde(default)]
    pub maximum_batching_window_seconds: Option<u32>,
    /// `ReportBatchItemFailures`.
    #[serde(default)]
    pub report_batch_item_failures: bool,
    /// Whether it polls (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (coloured only on a terminal).
    Text,
    /// One JSON object per line.
    Json,
}

/// The `[auth]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// `off`, `log` or `enforce`.
    pub mode: AuthModeSetting,
    /// Access keys wharf knows.
    pub credentials: Vec<CredentialEntry>,
}

/// How signatures are treated.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AuthModeSetting {
    /// Not checked.
    Off,
    /// Checked and logged, nothing refused.
    Log,
    /// Checked and enforced.
    Enforce,
}

impl AuthModeSetting {
    /// The mode as the config file spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthModeSetting::Off => "off",
            AuthModeSetting::Log => "log",
            AuthModeSetting::Enforce => "enforce",
        }
    }
}

impl std::str::FromStr for AuthModeSetting {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "off" => Ok(AuthModeSetting::Off),
            "log" => Ok(AuthModeSetting::Log),
            "enforce" => Ok(AuthModeSetting::Enforce),
            other => Err(format!("auth mode must be off, log or enforce, not {other:?}")),
        }
    }
}

/// One `[[auth.credentials]]` entry.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialEntry {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The account the key belongs to (default: `account_id`).
    pub account_id: Option<String>,
}

impl std::fmt::Debug for CredentialEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialEntry")
            .field("access_key_id", &self.access_key_id)
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

/// The `[server]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// Listen on a non-loopback address although no request is authenticated.
    pub allow_unauthenticated_remote: bool,
    /// Open connections at most.
    pub max_connections: usize,
    /// Seconds a connection may wait for a request's headers (idle keep-alive included).
    pub idle_timeout_seconds: u64,
    /// Seconds a request's body may take after its headers.
    pub body_timeout_seconds: u64,
    /// The bearer token `GET /metrics` asks for when auth is on; empty: refused then.
    pub metrics_bearer_token: String,
}

/// The `[functions]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionsSection {
    /// Environments the account may run at once.
    pub account_concurrency: usize,
    /// Seconds an idle environment stays warm.
    pub idle_timeout_seconds: u64,
    /// Seconds a function's initialization may take.
    pub init_timeout_seconds: u64,
    /// Seconds before the first retry of a failed asynchronous invocation.
    pub async_retry_delay_seconds: u32,
    /// Interpreter per Python runtime identifier.
    pub python_interpreters: BTreeMap<String, String>,
    /// Refuse Python versions the machine lacks.
    pub strict_python_versions: bool,
    /// The `node` executable.
    pub node: String,
    /// A directory holding boto3 for Python functions; empty to find or install one.
    pub python_sdk_path: String,
    /// Limit function processes' file access with Landlock.
    pub sandbox: bool,
    /// More paths functions may read and execute under the sandbox.
    pub sandbox_read_paths: Vec<PathBuf>,
    /// Functions created at start-up from local directories.
    pub declare: Vec<DeclaredFunction>,
    /// Event source mappings created or updated at start.
    #[serde(default)]
    pub mappings: Vec<DeclaredMapping>,
}

/// A function declared in the configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredFunction {
    /// Its name.
    pub name: String,
    /// Runtime identifier.
    pub runtime: String,
    /// Handler.
    #[serde(default)]
    pub handler: String,
    /// The code directory, used in place (and reloaded when its files change).
    #[serde(default)]
    pub directory: Option<PathBuf>,
    /// A zip archive of the code, read at each apply (instead of `directory`).
    #[serde(default)]
    pub zip: Option<PathBuf>,
    /// Its region; the default region when absent.
    #[serde(default)]
    pub region: Option<String>,
    /// Timeout in seconds.
    #[serde(default)]
    pub timeout: Option<u32>,
    /// Memory in MB.
    #[serde(default)]
    pub memory: Option<u32>,
    /// Environment variables.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Execution role ARN; a placeholder role when absent.
    #[serde(default)]
    pub role: Option<String>,
}

/// The `[sqs]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqsConfig {
    /// Seconds before a deleted queue's name can be reused.
    pub queue_name_reuse_delay_seconds: u64,
    /// Seconds between purges of one queue.
    pub purge_interval_seconds: u64,
    /// Seconds between retention sweeps.
    pub retention_sweep_seconds: u64,
    /// Queues created at start-up.
    pub queues: Vec<DeclaredQueue>,
}

/// A queue declared in the configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredQueue {
    /// Its name.
    pub name: String,
    /// Its region; the default region when absent.
    #[serde(default)]
    pub region: Option<String>,
    /// SQS attributes by name.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

fn merge(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(base_table)), toml::Value::Table(overlay_table)) => {
                merge(base_table, overlay_table)
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn check_relocated(table: &toml::Table, prefix: &str) -> anyhow::Result<()> {
    for (key, value) in table {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        if let Some((_, replacement)) = RELOCATED_KEYS.iter().find(|(old, _)| *old == path) {
            bail!("configuration key `{path}` was replaced by `{replacement}`");
        }
        if let toml::Value::Table(inner) = value {
            check_relocated(inner, &path)?;
        }
    }
    Ok(())
}

impl Config {
    /// Loads the defaults and, if given, a user file over them.
    /// The defaults with `text` (TOML) on top, function directories relative to `base`.
    pub fn from_toml(text: &str, base: Option<&Path>) -> anyhow::Result<Config> {
        let mut table: toml::Table = DEFAULT_CONFIG.parse().context("the built-in default configuration is invalid")?;
        let overlay: toml::Table = text.parse().context("parsing the configuration")?;
        check_relocated(&overlay, "")?;
        merge(&mut table, overlay);
        let settings = table.clone();
        let mut config: Config = match toml::Value::Table(table).try_into() {
            Ok(config) => config,
            Err(err) => bail!("{}", located(text, &err.to_string())),
        };
        config.settings = settings;
        if let Some(base) = base {
            for function in &mut config.functions.declare {
                for path in [&mut function.directory, &mut function.zip].into_iter().flatten() {
                    if path.is_relative() {
                        *path = base.join(&*path);
                    }
                }
            }
        }
        Ok(config)
    }

    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let Some(path) = file else { return Config::from_toml("", None) };
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Config::from_toml(&text, path.parent()).with_context(|| format!("in {}", path.display()))
    }
}

/// A deserialization error (`MESSAGE\nin `KEY.PATH``) as `line N, key KEY.PATH: MESSAGE`, the
/// line found in the user's `text` (the defaults under it are valid, so the bad key is the
/// user's). An unknown key is named with its table's path.
fn located(text: &str, error: &str) -> String {
    let (message, path) = match error.trim_end().rsplit_once("\nin `") {
        Some((message, path)) => (message.trim(), path.trim_end_matches('`')),
        None => (error.trim(), ""),
    };
    let mut keys: Vec<&str> = path.split('.').filter(|key| !key.is_empty()).collect();
    if let Some(unknown) = message.strip_prefix("unknown field `").and_then(|rest| rest.split('`').next()) {
        keys.push(unknown);
    }
    let key = keys.join(".");
    let line = toml_edit::ImDocument::parse(text)
        .ok()
        .and_then(|document| offset_of(document.as_item(), &keys))
        .map(|offset| text[..offset.min(text.len())].matches('\n').count() + 1);
    match (line, key.is_empty()) {
        (Some(line), false) => format!("line {line}, key {key}: {message}"),
        (None, false) => format!("key {key}: {message}"),
        _ => message.to_owned(),
    }
}

/// Where `keys` (a path through tables, arrays of tables and inline tables) starts in the
/// parsed text: the first element of an array of tables that has the rest of the path.
fn offset_of(item: &toml_edit::Item, keys: &[&str]) -> Option<usize> {
    let Some((first, rest)) = keys.split_first() else {
        return item.span().map(|span| span.start);
    };
    match item {
        toml_edit::Item::Table(table) => {
            let inner = table.get(first)?;
            offset_of(inner, rest).or_else(|| table.key(first).and_then(toml_edit::Key::span).map(|span| span.start))
        }
        toml_edit::Item::ArrayOfTables(array) => {
            let found = array.iter().find_map(|table| offset_of(&toml_edit::Item::Table(table.clone()), keys));
            found.or_else(|| array.iter().next().and_then(|table| table.span()).map(|span| span.start))
        }
        toml_edit::Item::Value(toml_edit::Value::InlineTable(table)) => {
            let inner = table.get(first)?;
            offset_of(&toml_edit::Item::Value(inner.clone()), rest)
                .or_else(|| table.key(first).and_then(toml_edit::Key::span).map(|span| span.start))
        }
        _ => item.span().map(|span| span.start),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_directories_are_relative_to_the_config_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("wharf.toml");
        std::fs::write(
            &path,
            "[[functions.declare]]\nname = \"f\"\nruntime = \"python3.12\"\nhandler = \"app.handler\"\ndirectory = \"code/f\"\n",
        )
        .expect("write");
        let config = Config::load(Some(&path)).expect("loads");
        assert_eq!(config.functions.declare[0].directory, Some(dir.path().join("code/f")));
    }

    #[test]
    fn defaults_parse() {
        let config = Config::load(None).expect("defaults");
        assert_eq!(config.bind, "127.0.0.1:4566");
        assert_eq!(config.account_id, "000000000000");
        assert!(config.sqs.queues.is_empty());
    }

    #[test]
    fn file_overrides_and_declares_queues() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("wharf.toml");
        std::fs::write(
            &path,
            "region = \"eu-west-1\"\n[sqs]\npurge_interval_seconds = 0\n[[sqs.queues]]\nname = \"jobs\"\nattributes = { VisibilityTimeout = \"5\" }\n",
        )
        .expect("write");
        let config = Config::load(Some(&path)).expect("loads");
        assert_eq!(config.region, "eu-west-1");
        assert_eq!(config.sqs.purge_interval_seconds, 0);
        assert_eq!(config.sqs.queue_name_reuse_delay_seconds, 60, "untouched keys keep defaults");
        assert_eq!(config.sqs.queues[0].attributes["VisibilityTimeout"], "5");
    }

    #[test]
    fn bad_values_are_located_by_line_and_key() {
        let cases = [
            ("[sqs]\npurge_interval_seconds = \"soon\"\n", "line 2, key sqs.purge_interval_seconds: invalid type"),
            ("region = \"x\"\n[sqs]\n\nbogus = 1\n", "line 4, key sqs.bogus: unknown field `bogus`"),
            (
                "[[sqs.queues]]\nname = \"a\"\n[[sqs.queues]]\nname = \"b\"\nattributes = { VisibilityTimeout = 5 }\n",
                "line 5, key sqs.queues.attributes.VisibilityTimeout: invalid type: integer `5`",
            ),
            ("[[sqs.queues]]\nattributes = {}\n", "line 1, key sqs.queues: missing field `name`"),
        ];
        for (text, expected) in cases {
            let err = Config::from_toml(text, None).expect_err(text);
            assert!(format!("{err:#}").contains(expected), "{text:?}: {err:#}");
        }
    }

    #[test]
    fn unknown_keys_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("wharf.toml");
        std::fs::write(&path, "bnid = \"0.0.0.0:1\"\n").expect("write");
        let err = Config::load(Some(&path)).unwrap_err();
        assert!(format!("{err:#}").contains("bnid"), "{err:#}");
    }
}
