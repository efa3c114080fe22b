//! The control plane: creating, updating, publishing and deleting functions, and the records
//! hanging off them (aliases, permissions, tags, concurrency, asynchronous settings).
//!
//! Every change is a read-modify-write of one [`FunctionRow`] under the engine's change lock:
//! the new record is stored (durably) before the in-memory registry and the caller see it.
//! Limits follow the Lambda API reference: timeout 1–900 s, memory 128–10,240 MB, environment
//! variables at most 4 KB.

use crate::code::PackageInfo;
use crate::name::{valid_qualifier, FunctionName, FunctionRef};
use crate::{FunctionError, FunctionKey, Functions};
use std::collections::BTreeMap;
use wharf_store::functions::{AliasRow, EventInvokeConfigRow, FunctionRow, PermissionRow, VersionRow};

/// Lambda's default timeout in seconds.
pub const DEFAULT_TIMEOUT: u32 = 3;
/// Lambda's default memory size in MB.
pub const DEFAULT_MEMORY: u32 = 128;
/// Variables a user may not set: the runtime owns them.
const RESERVED_VARIABLES: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// Where a new function's code comes from.
#[derive(Clone, Debug)]
pub enum CodeSource {
    /// A zip archive uploaded through the API.
    Zip(Vec<u8>),
    /// A local directory (functions declared in the config file), used in place.
    Directory(std::path::PathBuf),
}

/// A CreateFunction request in domain terms.
#[derive(Clone, Debug)]
pub struct NewFunction {
    /// The name.
    pub name: FunctionName,
    /// Runtime identifier.
    pub runtime: String,
    /// Handler.
    pub handler: String,
    /// Execution role ARN.
    pub role: String,
    /// Timeout in seconds; Lambda's default 3 when absent.
    pub timeout_seconds: Option<u32>,
    /// Memory in MB; 128 when absent.
    pub memory_mb: Option<u32>,
    /// Ephemeral storage in MB; 512 when absent.
    pub ephemeral_storage_mb: Option<u32>,
    /// Environment variables.
    pub environment: BTreeMap<String, String>,
    /// Description.
    pub description: String,
    /// The code.
    pub code: CodeSource,
    /// Publish version 1 at once.
    pub publish: bool,
    /// Architectures.
    pub architectures: Vec<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Dead-letter queue ARN of asynchronous invocations.
    pub dead_letter_target: Option<String>,
    /// `Text` or `JSON`.
    pub log_format: Option<String>,
    /// A log group other than `/aws/lambda/NAME`.
    pub log_group: Option<String>,
    /// Application log level.
    pub application_log_level: Option<String>,
    /// System log level.
    pub system_log_level: Option<String>,
    /// Tracing mode.
    pub tracing_mode: Option<String>,
    /// Layer ARNs.
    pub layers: Vec<String>,
}

/// An UpdateFunctionConfiguration request: absent fields stay as they are.
#[derive(Clone, Debug, Default)]
pub struct FunctionUpdate {
    /// Runtime identifier.
    pub runtime: Option<String>,
    /// Handler.
    pub handler: Option<String>,
    /// Execution role.
    pub role: Option<String>,
    /// Timeout in seconds.
    pub timeout_seconds: Option<u32>,
    /// Memory in MB.
    pub memory_mb: Option<u32>,
    /// Ephemeral storage in MB.
    pub ephemeral_storage_mb: Option<u32>,
    /// Environment variables: replaces the whole map.
    pub environment: Option<BTreeMap<String, String>>,
    /// Description.
    pub description: Option<String>,
    /// Dead-letter target; `Some(None)` clears it.
    pub dead_letter_target: Option<Option<String>>,
    /// Log format.
    pub log_format: Option<String>,
    /// Log group.
    pub log_group: Option<String>,
    /// Application log level.
    pub application_log_level: Option<String>,
    /// System log level.
    pub system_log_level: Option<String>,
    /// Tracing mode.
    pub tracing_mode: Option<String>,
    /// Layers.
    pub layers: Option<Vec<String>>,
    /// Only if the revision is still this one.
    pub revision_id: Option<String>,
}

/// A function version chosen for an invocation or a read.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The function.
    pub key: FunctionKey,
    /// The configuration snapshot that runs.
    pub version: VersionRow,
    /// The qualifier as the caller gave it (`$LATEST` when none).
    pub qualifier: String,
    /// The ARN the function sees as invoked (`Lambda-Runtime-Invoked-Function-Arn`).
    pub invoked_arn: String,
    /// Reserved concurrency of the function.
    pub reserved_concurrency: Option<u32>,
    /// Asynchronous settings for this qualifier, if configured.
    pub event_invoke_config: Option<EventInvokeConfigRow>,
}

impl Resolved {
    /// The function and the execution role Lambda acts with for it.
    pub fn writer(&self) -> crate::ports::FunctionRole {
        crate::ports::FunctionRole { function_arn: self.key.arn(), role_arn: self.version.role.clone() }
    }
}

fn revision() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

fn validate_settings(version: &VersionRow) -> Result<(), FunctionError> {
    if !(1..=900).contains(&version.timeout_seconds) {
        return Err(FunctionError::Validation(format!(
            "1 validation error detected: Value '{}' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900",
            version.timeout_seconds
        )));
    }
    if !(128..=10_240).contains(&version.memory_mb) {
        return Err(FunctionError::Validation(format!(
            "1 validation error detected: Value '{}' at 'memorySize' failed to satisfy constraint: Member must have value {} 10240",
            version.memory_mb,
            if version.memory_mb < 128 { "greater than or equal to 128, less than or equal to" } else { "less than or equal to" }
        )));
    }
    if !(512..=10_240).contains(&version.ephemeral_storage_mb) {
        return Err(FunctionError::Validation(format!(
            "1 validation error detected: Value '{}' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value between 512 and 10240",
            version.ephemeral_storage_mb
        )));
    }
    // The model's pattern: an IAM role ARN of a 12-digit account, no region.
    let role_ok = version.role.parse::<wharf_types::Arn>().is_ok_and(|arn| {
        arn.service == "iam"
            && arn.region.is_empty()
            && arn.account.len() == 12
            && arn.resource.strip_prefix("role/").is_some_and(|path| !path.is_empty())
    });
    if !role_ok {
        return Err(FunctionError::Validation(format!(
            "1 validation error detected: Value '{}' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{{12}}:role/?[a-zA-Z_0-9+=,.@\\-_/]+",
            version.role
        )));
    }
    if crate::runtimes::family(&version.runtime).is_none() && !KNOWN_RUNTIMES.contains(&version.runtime.as_str()) {
        return Err(FunctionError::InvalidParameter(format!(
            "Value {} at 'runtime' failed to satisfy constraint: Member must satisfy enum value set",
            version.runtime
        )));
    }
    if version.handler.is_empty()
        && !matches!(crate::runtimes::family(&version.runtime), Some(crate::runtimes::Family::Provided))
    {
        return Err(FunctionError::InvalidParameter("Handler is required for runtime ".to_owned() + &version.runtime));
    }
    let mut size = 0usize;
    for (key, value) in &version.environment {
        let valid_key = key.chars().next().is_some_and(|first| first.is_ascii_alphabetic())
            && key.chars().all(|character| character.is_ascii_alphanumeric() || character == '_');
        if !valid_key {
            return Err(FunctionError::Validation(format!(
                "1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+] ({key})"
            )));
        }
        if RESERVED_VARIABLES.contains(&key.as_str()) {
            return Err(FunctionError::InvalidParameter(format!(
                "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: {key}"
            )));
        }
        size += key.len() + value.len();
    }
    if size > 4096 {
        return Err(FunctionError::InvalidParameter(
            "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit.".into(),
        ));
    }
    if !matches!(version.log_format.as_str(), "Text" | "JSON") {
        return Err(FunctionError::Validation(format!(
            "1 validation error detected: Value '{}' at 'loggingConfig.logFormat' failed to satisfy constraint: Member must satisfy enum value set: [JSON, Text]",
            version.log_format
        )));
    }
    Ok(())
}

/// Runtimes Lambda accepts that wharf records but cannot run.
const KNOWN_RUNTIMES: &[&str] = &[
    "java8",
    "java8.al2",
    "java11",
    "java17",
    "java21",
    "java25",
    "dotnet6",
    "dotnet8",
    "dotnet10",
    "ruby3.2",
    "ruby3.3",
    "ruby3.4",
    "go1.x",
];

impl Functions {
    /// The function of `key`, if any.
    pub fn function(&self, key: &FunctionKey) -> Option<FunctionRow> {
        self.read_registry().get(key).cloned()
    }

    /// The key a reference names, in the caller's account and region unless the reference is
    /// an ARN naming them.
    pub fn key_of(&self, account: &str, region: &str, reference: &FunctionRef) -> FunctionKey {
        FunctionKey {
            account: reference.account.clone().unwrap_or_else(|| account.to_owned()),
            region: reference.region.clone().unwrap_or_else(|| region.to_owned()),
            name: reference.name.as_str().to_owned(),
        }
    }

    /// Whether `version` of a function still has configuration revision `revision` (environments
    /// of an older revision are not reused). Reads without copying the record.
    pub(crate) fn is_current(&self, key: &FunctionKey, version: &str, revision: &str) -> bool {
        let registry = self.read_registry();
        let Some(row) = registry.get(key) else { return false };
        if version == "$LATEST" {
            row.latest.revision_id == revision
        } else {
            row.versions.iter().any(|stored| stored.version == version && stored.revision_id == revision)
        }
    }

    /// Every function of an account and region, sorted by name.
    pub fn list(&self, account: &str, region: &str) -> Vec<FunctionRow> {
        let mut rows: Vec<FunctionRow> = self
            .read_registry()
            .iter()
            .filter(|(key, _)| key.account == account && key.region == region)
            .map(|(_, row)| row.clone())
            .collect();
        rows.sort_by(|left, right| left.name.cmp(&right.name));
        rows
    }

    /// Every function of every account, for start-up work.
    pub fn all(&self) -> Vec<FunctionRow> {
        self.read_registry().values().cloned().collect()
    }

    /// Stores a package; the pin keeps it from [`Self::collect_packages`] until the record
    /// naming it is written.
    fn store_package(
        &self,
        code: &CodeSource,
    ) -> Result<(PackageInfo, Option<String>, Option<crate::code::PackagePin>), FunctionError> {
        match code {
            CodeSource::Zip(bytes) => {
                let (info, pin) = self.code.put_pinned(bytes).map_err(|err| match err {
                    crate::code::PackageError::InvalidZip(reason) => FunctionError::InvalidZipFile(reason),
                    crate::code::PackageError::TooLarge => {
                        FunctionError::InvalidParameter(crate::code::PackageError::TooLarge.to_string())
                    }
                    crate::code::PackageError::Io(err) => FunctionError::Host(err.to_string()),
                })?;
                Ok((info, None, Some(pin)))
            }
            CodeSource::Directory(dir) => {
                let fingerprint = crate::code::directory_fingerprint(dir).map_err(|err| {
                    FunctionError::InvalidParameter(format!("cannot read code directory {}: {err}", dir.display()))
                })?;
                Ok((fingerprint, Some(dir.to_string_lossy().into_owned()), None))
            }
        }
    }

    /// CreateFunction.
    pub async fn create(&self, account: &str, region: &str, new: NewFunction) -> Result<FunctionRow, FunctionError> {
        let key = FunctionKey { account: account.into(), region: region.into(), name: new.name.as_str().into() };
        if let Some(target) = &new.dead_letter_target {
            self.check_dead_letter_access(&key, &new.role, target).await?;
        }
        let (package, source_dir, _pin) = self.store_package(&new.code)?;
        let now = self.clock.now_millis();
        let latest = VersionRow {
            version: "$LATEST".into(),
            runtime: new.runtime,
            handler: new.handler,
            role: new.role,
            timeout_seconds: new.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT),
            memory_mb: new.memory_mb.unwrap_or(DEFAULT_MEMORY),
            ephemeral_storage_mb: new.ephemeral_storage_mb.unwrap_or(512),
            environment: new.environment,
            description: new.description,
            code_id: package.code_id,
            code_sha256: package.sha256_base64,
            code_size: package.size,
            source_dir,
            architectures: if new.architectures.is_empty() { vec!["x86_64".into()] } else { new.architectures },
            last_modified: now,
            revision_id: revision(),
            dead_letter_target: new.dead_letter_target,
            log_format: new.log_format.unwrap_or_else(|| "Text".into()),
            log_group: new.log_group.unwrap_or_else(|| format!("/aws/lambda/{}", key.name)),
            application_log_level: new.application_log_level,
            system_log_level: new.system_log_level,
            tracing_mode: new.tracing_mode.unwrap_or_else(|| "PassThrough".into()),
            layers: new.layers,
        };
        validate_settings(&latest)?;
        self.check_runtime_installed(&latest.runtime)?;
        let mut row = FunctionRow {
            account: key.account.clone(),
            region: key.region.clone(),
            name: key.name.clone(),
            latest,
            versions: Vec::new(),
            next_version: 1,
            aliases: BTreeMap::new(),
            permissions: Vec::new(),
            tags: new.tags,
            reserved_concurrency: None,
            event_invoke_configs: BTreeMap::new(),
        };
        if new.publish {
            publish(&mut row, now, None);
        }
        let _changes = self.changes.lock().await;
        if self.read_registry().contains_key(&key) {
            return Err(FunctionError::AlreadyExists(format!("Function already exist: {}", key.name)));
        }
        self.store.put(&row).await?;
        self.write_registry().insert(key, row.clone());
        drop(_changes);
        if let (Ok(account), Ok(region)) =
            (account.parse::<wharf_types::AccountId>(), region.parse::<wharf_types::Region>())
        {
            self.logs.prepare_group(&account, &region, &row.latest.log_group).await;
        }
        Ok(row)
    }

    /// Removes the code packages no function or version refers to any more (see
    /// [`crate::code::CodeStore::retain`]); a failure only costs disk space, so it is logged.
    pub fn collect_packages(&self) {
        let keep: std::collections::BTreeSet<String> = self
            .read_registry()
            .values()
            .flat_map(|row| std::iter::once(&row.latest).chain(row.versions.iter()))
            .map(|version| version.code_id.clone())
            .collect();
        match self.code.retain(&keep) {
            Ok(0) => {}
            Ok(removed) => tracing::debug!(removed, "removed unreferenced code packages"),
            Err(err) => tracing::warn!(error = %err, "removing unreferenced code packages failed"),
        }
    }

    fn check_runtime_installed(&self, runtime: &str) -> Result<(), FunctionError> {
        // A runtime Lambda has but wharf cannot run (Java, .NET, Ruby) is refused here, not at
        // the first invocation.
        if crate::runtimes::family(runtime).is_none() {
            let shown = if runtime.is_empty() { "null" } else { runtime };
            return Err(FunctionError::InvalidParameter(format!(
                "The runtime parameter of {shown} is not supported by wharf: it runs python3.x, nodejs*.x, provided, provided.al2 and provided.al2023 functions"
            )));
        }
        if let Some(crate::runtimes::Family::Python { minor }) = crate::runtimes::family(runtime) {
            if self.config.runtimes.strict_python_versions {
                crate::runtimes::python_for(&self.config.runtimes, runtime, minor)
                    .map_err(FunctionError::InvalidParameter)?;
            }
        }
        Ok(())
    }

    /// Applies `change` to the stored record of `key` and stores the result.
    async fn modify<T>(
        &self,
        key: &FunctionKey,
        change: impl FnOnce(&mut FunctionRow) -> Result<T, FunctionError>,
    ) -> Result<(T, FunctionRow), FunctionError> {
        let _changes = self.changes.lock().await;
        let mut row = self.function(key).ok_or_else(|| FunctionError::FunctionNotFound(key.arn()))?;
        let output = change(&mut row)?;
        self.store.put(&row).await?;
        self.write_registry().insert(key.clone(), row.clone());
        Ok((output, row))
    }

    /// UpdateFunctionCode.
    pub async fn update_code(
        &self,
        key: &FunctionKey,
        code: CodeSource,
        publish_now: bool,
        revision_id: Option<String>,
    ) -> Result<FunctionRow, FunctionError> {
        let (package, source_dir, _pin) = self.store_package(&code)?;
        let now = self.clock.now_millis();
        let (_, row) = self
            .modify(key, |row| {
                check_revision(&row.latest.revision_id, revision_id.as_deref())?;
                row.latest.code_id = package.code_id;
                row.latest.code_sha256 = package.sha256_base64;
                row.latest.code_size = package.size;
                row.latest.source_dir = source_dir;
                row.latest.last_modified = now;
                row.latest.revision_id = revision();
                if publish_now {
                    publish(row, now, None);
                }
                Ok(())
            })
            .await?;
        self.supervisor.retire(&key.pool_name(), None);
        self.collect_packages();
        Ok(row)
    }

    /// Lambda sends dead letters with the function's execution role: with auth enforced, the
    /// role must allow `sqs:SendMessage` on the queue, as Lambda checks when it is configured.
    async fn check_dead_letter_access(&self, key: &FunctionKey, role: &str, target: &str) -> Result<(), FunctionError> {
        if !wharf_types::Arn::is_of(target, "sqs") {
            return Ok(());
        }
        let writer = crate::ports::FunctionRole { function_arn: key.arn(), role_arn: role.to_owned() };
        self.role_permits(&writer, "sqs:SendMessage", target).await.map_err(|_| {
            FunctionError::InvalidParameter(
                "The provided execution role does not have permissions to call SendMessage on SQS".into(),
            )
        })
    }

    /// UpdateFunctionConfiguration.
    pub async fn update_configuration(
        &self,
        key: &FunctionKey,
        update: FunctionUpdate,
    ) -> Result<FunctionRow, FunctionError> {
        let now = self.clock.now_millis();
        if let Some(runtime) = &update.runtime {
            self.check_runtime_installed(runtime)?;
        }
        if update.role.is_some() || matches!(update.dead_letter_target, Some(Some(_))) {
            let current = self.function(key).map(|row| row.latest);
            let role = update.role.clone().or_else(|| current.as_ref().map(|latest| latest.role.clone()));
            let target = match &update.dead_letter_target {
                Some(target) => target.clone(),
                None => current.and_then(|latest| latest.dead_letter_target),
            };
            if let (Some(role), Some(target)) = (role, target) {
                self.check_dead_letter_access(key, &role, &target).await?;
            }
        }
        let (_, row) = self
            .modify(key, |row| {
                check_revision(&row.latest.revision_id, update.revision_id.as_deref())?;
                let latest = &mut row.latest;
                let mut next = latest.clone();
                if let Some(value) = update.runtime {
                    next.runtime = value;
                }
                if let Some(value) = update.handler {
                    next.handler = value;
                }
                if let Some(value) = update.role {
                    next.role = value;
                }
                if let Some(value) = update.timeout_seconds {
                    next.timeout_seconds = value;
                }
                if let Some(value) = update.memory_mb {
                    next.memory_mb = value;
                }
                if let Some(value) = update.ephemeral_storage_mb {
                    next.ephemeral_storage_mb = value;
                }
                if let Some(value) = update.environment {
                    next.environment = value;
                }
                if let Some(value) = update.description {
                    next.description = value;
                }
                if let Some(value) = update.dead_letter_target {
                    next.dead_letter_target = value;
                }
                if let Some(value) = update.log_format {
                    next.log_format = value;
                }
                if let Some(value) = update.log_group {
                    next.log_group = value;
                }
                if let Some(value) = update.application_log_level {
                    next.application_log_level = Some(value);
                }
                if let Some(value) = update.system_log_level {
                    next.system_log_level = Some(value);
                }
                if let Some(value) = update.tracing_mode {
                    next.tracing_mode = value;
                }
                if let Some(value) = update.layers {
                    next.layers = value;
                }
                validate_settings(&next)?;
                next.last_modified = now;
                next.revision_id = revision();
                *latest = next;
                Ok(())
            })
            .await?;
        self.supervisor.retire(&key.pool_name(), None);
        Ok(row)
    }

    /// DeleteFunction: the whole function, or one published version.
    pub async fn delete(&self, key: &FunctionKey, qualifier: Option<&str>) -> Result<(), FunctionError> {
        match qualifier {
            None => {
                let _changes = self.changes.lock().await;
                if !self.read_registry().contains_key(key) {
                    return Err(FunctionError::FunctionNotFound(key.arn()));
                }
                self.store.delete(&key.account, &key.region, &key.name).await?;
                self.write_registry().remove(key);
                self.counters.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(key);
                self.supervisor.retire(&key.pool_name(), None);
                self.collect_packages();
                Ok(())
            }
            Some("$LATEST") => Err(FunctionError::InvalidParameter(
                "$LATEST version cannot be deleted without deleting the function.".into(),
            )),
            Some(version) => {
                let version = version.to_owned();
                self.modify(key, |row| {
                    if row.aliases.values().any(|alias| alias.function_version == version) {
                        return Err(FunctionError::Conflict(format!(
                            "Unable to delete version because the following aliases reference it: {:?}",
                            row.aliases
                                .values()
                                .filter(|alias| alias.function_version == version)
                                .map(|alias| alias.name.clone())
                                .collect::<Vec<_>>()
                        )));
                    }
                    let before = row.versions.len();
                    row.versions.retain(|stored| stored.version != version);
                    if row.versions.len() == before {
                        return Err(FunctionError::QualifierNotFound(format!("{}:{version}", key.arn())));
                    }
                    Ok(())
                })
                .await?;
                self.collect_packages();
                Ok(())
            }
        }
    }

    /// PublishVersion: snapshots `$LATEST` unless it equals the newest version.
    pub async fn publish_version(
        &self,
        key: &FunctionKey,
        description: Option<String>,
        code_sha256: Option<String>,
        revision_id: Option<String>,
    ) -> Result<VersionRow, FunctionError> {
        let now = self.clock.now_millis();
        let (version, _) = self
            .modify(key, |row| {
                check_revision(&row.latest.revision_id, revision_id.as_deref())?;
                if let Some(expected) = &code_sha256 {
                    if *expected != row.latest.code_sha256 {
                        return Err(FunctionError::InvalidParameter(format!(
                            "CodeSHA256 ({expected}) is different from current CodeSHA256 in $LATEST ({}). Please try again with the CodeSHA256 in $LATEST.",
                            row.latest.code_sha256
                        )));
                    }
                }
                Ok(publish(row, now, description))
            })
            .await?;
        Ok(version)
    }

    /// The configuration of one qualifier (`$LATEST`, a version or an alias).
    pub fn resolve(&self, key: &FunctionKey, qualifier: Option<&str>) -> Result<Resolved, FunctionError> {
        let registry = self.read_registry();
        let row = registry.get(key).ok_or_else(|| FunctionError::FunctionNotFound(key.arn()))?;
        resolve_in(row, key, qualifier)
    }

    /// Resolves a caller's reference and explicit qualifier.
    pub fn resolve_ref(
        &self,
        account: &str,
        region: &str,
        reference: &FunctionRef,
        qualifier: Option<&str>,
    ) -> Result<Resolved, FunctionError> {
        let qualifier = merge_qualifier(reference, qualifier)?;
        let key = self.key_of(account, region, reference);
        self.resolve(&key, qualifier.as_deref())
    }

    /// CreateAlias.
    pub async fn create_alias(&self, key: &FunctionKey, alias: AliasRow) -> Result<AliasRow, FunctionError> {
        validate_alias(&alias)?;
        let (alias, _) = self
            .modify(key, |row| {
                if row.aliases.contains_key(&alias.name) {
                    return Err(FunctionError::AlreadyExists(format!(
                        "Alias already exists: {}:{}",
                        key.arn(),
                        alias.name
                    )));
                }
                check_version_exists(row, key, &alias.function_version)?;
                for version in alias.additional_weights.keys() {
                    check_version_exists(row, key, version)?;
                }
                let mut alias = alias;
                alias.revision_id = revision();
                row.aliases.insert(alias.name.clone(), alias.clone());
                Ok(alias)
            })
            .await?;
        Ok(alias)
    }

    /// UpdateAlias: absent fields stay.
    pub async fn update_alias(
        &self,
        key: &FunctionKey,
        name: &str,
        function_version: Option<String>,
        description: Option<String>,
        additional_weights: Option<BTreeMap<String, f64>>,
        revision_id: Option<String>,
    ) -> Result<AliasRow, FunctionError> {
        let (alias, _) = self
            .modify(key, |row| {
                let mut alias = row
                    .aliases
                    .get(name)
                    .cloned()
                    .ok_or_else(|| FunctionError::AliasNotFound(format!("{}:{name}", key.arn())))?;
                check_revision(&alias.revision_id, revision_id.as_deref())?;
                if let Some(version) = function_version {
                    check_version_exists(row, key, &version)?;
                    alias.function_version = version;
                }
                if let Some(description) = description {
                    alias.description = description;
                }
                if let Some(weights) = additional_weights {
                    for version in weights.keys() {
                        check_version_exists(row, key, version)?;
                    }
                    alias.additional_weights = weights;
                }
                validate_alias(&alias)?;
                alias.revision_id = revision();
                row.aliases.insert(alias.name.clone(), alias.clone());
                Ok(alias)
            })
            .await?;
        Ok(alias)
    }

    /// DeleteAlias.
    pub async fn delete_alias(&self, key: &FunctionKey, name: &str) -> Result<(), FunctionError> {
        self.modify(key, |row| {
            row.aliases.remove(name);
            row.event_invoke_configs.remove(name);
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// PutFunctionConcurrency.
    pub async fn put_concurrency(&self, key: &FunctionKey, reserved: u32) -> Result<u32, FunctionError> {
        let account_limit = self.config.account_concurrency as u64;
        let others: u64 = self
            .read_registry()
            .iter()
            .filter(|(other, _)| *other != key && other.account == key.account)
            .filter_map(|(_, row)| row.reserved_concurrency)
            .map(u64::from)
            .sum();
        // Lambda keeps at least 100 of the account's concurrency unreserved; on a small
        // configured limit wharf keeps a tenth.
        let unreserved_minimum = (account_limit / 10).min(100);
        if others + u64::from(reserved) + unreserved_minimum > account_limit {
            return Err(FunctionError::InvalidParameter(format!(
                "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{unreserved_minimum}]."
            )));
        }
        self.modify(key, |row| {
            row.reserved_concurrency = Some(reserved);
            Ok(())
        })
        .await?;
        Ok(reserved)
    }

    /// DeleteFunctionConcurrency.
    pub async fn delete_concurrency(&self, key: &FunctionKey) -> Result<(), FunctionError> {
        self.modify(key, |row| {
            row.reserved_concurrency = None;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// PutFunctionEventInvokeConfig (`replace`) or UpdateFunctionEventInvokeConfig (merge).
    pub async fn put_event_invoke_config(
        &self,
        key: &FunctionKey,
        qualifier: Option<&str>,
        config: EventInvokeConfigRow,
        replace: bool,
    ) -> Result<EventInvokeConfigRow, FunctionError> {
        let qualifier = qualifier.unwrap_or("$LATEST").to_owned();
        if let Some(attempts) = config.maximum_retry_attempts {
            if attempts > 2 {
                return Err(FunctionError::Validation(format!("1 validation error detected: Value '{attempts}' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2")));
            }
        }
        if let Some(age) = config.maximum_event_age_seconds {
            if !(60..=21_600).contains(&age) {
                return Err(FunctionError::Validation(format!("1 validation error detected: Value '{age}' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value between 60 and 21600")));
            }
        }
        for destination in [&config.on_success, &config.on_failure].into_iter().flatten() {
            let supported =
                wharf_types::Arn::is_of(destination, "sqs") || wharf_types::Arn::is_of(destination, "lambda");
            if !supported {
                return Err(FunctionError::InvalidParameter(format!(
                    "The destination ARN {destination} is invalid or not supported by wharf (SQS queues and Lambda functions are)"
                )));
            }
        }
        let now = self.clock.now_millis();
        let (stored, _) = self
            .modify(key, |row| {
                if qualifier != "$LATEST" {
                    resolve_in(row, key, Some(&qualifier))?;
                }
                let mut next = config;
                if !replace {
                    if let Some(existing) = row.event_invoke_configs.get(&qualifier) {
                        next.maximum_retry_attempts = next.maximum_retry_attempts.or(existing.maximum_retry_attempts);
                        next.maximum_event_age_seconds =
                            next.maximum_event_age_seconds.or(existing.maximum_event_age_seconds);
                        next.on_success = next.on_success.or_else(|| existing.on_success.clone());
                        next.on_failure = next.on_failure.or_else(|| existing.on_failure.clone());
                    }
                }
                next.last_modified = now;
                row.event_invoke_configs.insert(qualifier.clone(), next.clone());
                Ok(next)
            })
            .await?;
        Ok(stored)
    }

    /// DeleteFunctionEventInvokeConfig.
    pub async fn delete_event_invoke_config(
        &self,
        key: &FunctionKey,
        qualifier: Option<&str>,
    ) -> Result<(), FunctionError> {
        let qualifier = qualifier.unwrap_or("$LATEST").to_owned();
        self.modify(key, |row| {
            row.event_invoke_configs
                .remove(&qualifier)
                .map(|_| ())
                .ok_or_else(|| FunctionError::EventInvokeConfigNotFound(format!("{}:{qualifier}", key.arn())))
        })
        .await?;
        Ok(())
    }

    /// AddPermission.
    pub async fn add_permission(
        &self,
        key: &FunctionKey,
        permission: PermissionRow,
    ) -> Result<PermissionRow, FunctionError> {
        let (permission, _) = self
            .modify(key, |row| {
                if let Some(qualifier) = &permission.qualifier {
                    resolve_in(row, key, Some(qualifier))?;
                }
                if row.permissions.iter().any(|existing| existing.statement_id == permission.statement_id) {
                    return Err(FunctionError::Conflict(format!(
                        "The statement id ({}) provided already exists. Please provide a new statement id, or remove the existing statement.",
                        permission.statement_id
                    )));
                }
                row.permissions.push(permission.clone());
                Ok(permission)
            })
            .await?;
        Ok(permission)
    }

    /// RemovePermission.
    pub async fn remove_permission(
        &self,
        key: &FunctionKey,
        statement_id: &str,
        qualifier: Option<&str>,
    ) -> Result<(), FunctionError> {
        self.modify(key, |row| {
            let before = row.permissions.len();
            row.permissions.retain(|existing| {
                !(existing.statement_id == statement_id && existing.qualifier.as_deref() == qualifier)
            });
            if row.permissions.len() == before {
                return Err(FunctionError::StatementNotFound(statement_id.to_owned()));
            }
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// TagResource / UntagResource.
    pub async fn tag(
        &self,
        key: &FunctionKey,
        add: BTreeMap<String, String>,
        remove: Vec<String>,
    ) -> Result<(), FunctionError> {
        self.modify(key, |row| {
            row.tags.extend(add);
            for tag in remove {
                row.tags.remove(&tag);
            }
            if row.tags.len() > 50 {
                return Err(FunctionError::InvalidParameter("A function can have at most 50 tags".into()));
            }
            Ok(())
        })
        .await?;
        Ok(())
    }
}

fn check_revision(current: &str, expected: Option<&str>) -> Result<(), FunctionError> {
    match expected {
        Some(expected) if expected != current => Err(FunctionError::PreconditionFailed),
        _ => Ok(()),
    }
}

fn check_version_exists(row: &FunctionRow, key: &FunctionKey, version: &str) -> Result<(), FunctionError> {
    if version == "$LATEST" || row.versions.iter().any(|stored| stored.version == version) {
        Ok(())
    } else {
        Err(FunctionError::QualifierNotFound(format!("{}:{version}", key.arn())))
    }
}

fn validate_alias(alias: &AliasRow) -> Result<(), FunctionError> {
    let name_ok = !alias.name.is_empty()
        && alias.name.len() <= 128
        && !alias.name.bytes().all(|byte| byte.is_ascii_digit())
        && alias.name.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if !name_ok {
        return Err(FunctionError::Validation(format!(
            "1 validation error detected: Value '{}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)",
            alias.name
        )));
    }
    if alias.additional_weights.len() > 1
        || alias.additional_weights.values().any(|weight| !(0.0..=1.0).contains(weight))
        || alias.additional_weights.contains_key(&alias.function_version)
    {
        return Err(FunctionError::InvalidParameter(
            "RoutingConfig may name one version other than the alias's, with a weight between 0.0 and 1.0".into(),
        ));
    }
    Ok(())
}

/// Snapshots `$LATEST` as the next version (or returns the newest one when nothing changed).
fn publish(row: &mut FunctionRow, now: u64, description: Option<String>) -> VersionRow {
    if let Some(newest) = row.versions.last() {
        let unchanged = newest.code_id == row.latest.code_id && {
            let mut compare = row.latest.clone();
            compare.version = newest.version.clone();
            compare.description = newest.description.clone();
            compare.last_modified = newest.last_modified;
            compare.revision_id = newest.revision_id.clone();
            compare == *newest
        };
        if unchanged {
            return newest.clone();
        }
    }
    let mut version = row.latest.clone();
    version.version = row.next_version.to_string();
    version.last_modified = now;
    version.revision_id = revision();
    if let Some(description) = description {
        version.description = description;
    }
    row.next_version += 1;
    row.versions.push(version.clone());
    version
}

/// The version a qualifier names in `row`; aliases with a routing config pick by weight.
fn resolve_in(row: &FunctionRow, key: &FunctionKey, qualifier: Option<&str>) -> Result<Resolved, FunctionError> {
    let qualifier_text = qualifier.unwrap_or("$LATEST");
    let not_found = || FunctionError::QualifierNotFound(format!("{}:{qualifier_text}", key.arn()));
    let version = match qualifier_text {
        "$LATEST" => row.latest.clone(),
        text if text.bytes().all(|byte| byte.is_ascii_digit()) => {
            row.versions.iter().find(|stored| stored.version == text).cloned().ok_or_else(not_found)?
        }
        alias_name => {
            let alias = row.aliases.get(alias_name).ok_or_else(not_found)?;
            let mut chosen = alias.function_version.clone();
            if let Some((other, weight)) = alias.additional_weights.iter().next() {
                if rand::random::<f64>() < *weight {
                    chosen = other.clone();
                }
            }
            if chosen == "$LATEST" {
                row.latest.clone()
            } else {
                row.versions.iter().find(|stored| stored.version == chosen).cloned().ok_or_else(not_found)?
            }
        }
    };
    let event_invoke_config = row.event_invoke_configs.get(qualifier_text).cloned().or_else(|| {
        if qualifier.is_none() {
            row.event_invoke_configs.get("$LATEST").cloned()
        } else {
            None
        }
    });
    Ok(Resolved {
        key: key.clone(),
        invoked_arn: match qualifier {
            Some(qualifier) => format!("{}:{qualifier}", key.arn()),
            None => key.arn(),
        },
        qualifier: qualifier_text.to_owned(),
        version,
        reserved_concurrency: row.reserved_concurrency,
        event_invoke_config,
    })
}

/// The qualifier of a reference and of an explicit `Qualifier` parameter; they must agree.
pub fn merge_qualifier(reference: &FunctionRef, qualifier: Option<&str>) -> Result<Option<String>, FunctionError> {
    if let Some(qualifier) = qualifier {
        if !valid_qualifier(qualifier) {
            return Err(FunctionError::Validation(format!(
                "1 validation error detected: Value '{qualifier}' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)"
            )));
        }
    }
    match (&reference.qualifier, qualifier) {
        (Some(from_name), Some(given)) if from_name != given => Err(FunctionError::InvalidParameter(
            "The derived qualifier from the function name does not match the specified qualifier.".into(),
        )),
        (Some(from_name), _) => Ok(Some(from_name.clone())),
        (None, given) => Ok(given.map(str::to_owned)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishing_twice_without_changes_returns_the_same_version() {
        let mut row = wharf_store::functions::sample_row("f");
        let first = publish(&mut row, 10, None);
        assert_eq!(first.version, "1");
        let again = publish(&mut row, 20, Some("other text".into()));
        assert_eq!(again.version, "1");
        row.latest.timeout_seconds = 30;
        assert_eq!(publish(&mut row, 30, None).version, "2");
    }

    #[test]
    fn qualifiers_resolve_to_versions_and_aliases() {
        let mut row = wharf_store::functions::sample_row("f");
        publish(&mut row, 1, None);
        row.latest.timeout_seconds = 9;
        row.aliases.insert(
            "live".into(),
            AliasRow {
                name: "live".into(),
                function_version: "1".into(),
                description: String::new(),
                additional_weights: BTreeMap::new(),
                revision_id: "r".into(),
            },
        );
        let key = FunctionKey { account: "000000000000".into(), region: "us-east-1".into(), name: "f".into() };
        assert_eq!(resolve_in(&row, &key, None).expect("latest").version.timeout_seconds, 9);
        let live = resolve_in(&row, &key, Some("live")).expect("alias");
        assert_eq!(live.version.version, "1");
        assert_eq!(live.invoked_arn, "arn:aws:lambda:us-east-1:000000000000:function:f:live");
        assert!(matches!(resolve_in(&row, &key, Some("7")), Err(FunctionError::QualifierNotFound(_))));
        assert!(matches!(resolve_in(&row, &key, Some("nope")), Err(FunctionError::QualifierNotFound(_))));
    }
}
