//! The rest of the stack a configuration file declares, applied at start after the engines
//! open: IAM roles, log groups, event source mappings and rules with their targets. Each is created or
//! updated to match (applying the same file again changes nothing); resources the file does not
//! name are left alone. Queues and functions are declared in `serve.rs`.

use crate::config::{Config, DeclaredTarget};
use anyhow::Context as _;
use std::collections::{BTreeMap, BTreeSet};
use wharf_types::{AccountId, Region};

fn region_of(declared: Option<&String>, default: &Region) -> anyhow::Result<Region> {
    match declared {
        Some(region) => region.parse().with_context(|| format!("region {region}")),
        None => Ok(default.clone()),
    }
}

/// `[[logs.groups]]`: created if missing, retention set as declared.
pub async fn log_groups(
    logs: &wharf_logs::Logs,
    config: &Config,
    account: &AccountId,
    region: &Region,
) -> anyhow::Result<()> {
    for declared in &config.logs.groups {
        let key = wharf_store::logs::LogGroupKey {
            account: account.clone(),
            region: region_of(declared.region.as_ref(), region)?,
            name: declared.name.clone(),
        };
        match logs.create_group(&key, BTreeMap::new()).await {
            Ok(()) | Err(wharf_logs::LogsError::GroupExists) => {}
            Err(err) => anyhow::bail!("log group {}: {err}", declared.name),
        }
        match declared.retention_days {
            Some(days) => logs.put_retention(&key, days).await,
            None => logs.delete_retention(&key).await,
        }
        .with_context(|| format!("log group {}: retention", declared.name))?;
        tracing::info!(group = %declared.name, "declared log group ready");
    }
    Ok(())
}

/// `[[functions.mappings]]`: one mapping per queue and function, created or updated.
pub async fn mappings(
    functions: &wharf_functions::Functions,
    config: &Config,
    account: &AccountId,
    region: &Region,
) -> anyhow::Result<()> {
    for declared in &config.functions.mappings {
        let region = region_of(declared.region.as_ref(), region)?;
        let queue_arn = queue_arn_of(&declared.queue, account, &region);
        let what = format!("mapping {} -> {}", declared.queue, declared.function);
        let change = wharf_functions::mappings::MappingChange {
            batch_size: declared.batch_size,
            maximum_batching_window_seconds: declared.maximum_batching_window_seconds,
            report_batch_item_failures: Some(declared.report_batch_item_failures),
            maximum_concurrency: None,
            filters: None,
            enabled: declared.enabled.or(Some(true)),
        };
        let existing = functions
            .list_mappings(account.as_str(), region.as_str(), Some(&queue_arn), Some(&declared.function))
            .into_iter()
            .find(|row| row.qualifier.is_none());
        match existing {
            Some(row) => {
                functions.update_mapping(&row.uuid, change).await.with_context(|| what.clone())?;
            }
            None => {
                let name: wharf_functions::FunctionName =
                    declared.function.parse().map_err(|err| anyhow::anyhow!("{what}: {err}"))?;
                let key = wharf_functions::FunctionKey {
                    account: account.to_string(),
                    region: region.to_string(),
                    name: name.to_string(),
                };
                functions.create_mapping(&key, None, queue_arn, change).await.with_context(|| what.clone())?;
            }
        }
        tracing::info!(mapping = %what, "declared mapping ready");
    }
    Ok(())
}

/// `[[events.rules]]`: put (created or updated) with their targets. A function target also gets
/// the permission EventBridge needs to invoke it (`AddPermission` for `events.amazonaws.com`
/// from this rule), as a deployment tool would add it; a queue target's policy is the user's.
pub async fn rules(
    events: &wharf_events::Events,
    functions: &wharf_functions::Functions,
    config: &Config,
    account: &AccountId,
    region: &Region,
) -> anyhow::Result<()> {
    for declared in &config.events.rules {
        let region = region_of(declared.region.as_ref(), region)?;
        let caller = wharf_events::Caller { account: account.to_string(), region: region.to_string() };
        let rule = events
            .put_rule(
                &caller,
                wharf_events::NewRule {
                    name: declared.name.clone(),
                    bus: None,
                    schedule_expression: declared.schedule_expression.clone(),
                    event_pattern: declared.event_pattern.clone(),
                    enabled: declared.enabled,
                    description: declared.description.clone(),
                    role_arn: None,
                    tags: BTreeMap::new(),
                },
            )
            .await
            .map_err(|err| anyhow::anyhow!("rule {}: {err}", declared.name))?;
        let rule_arn = format!("arn:aws:events:{region}:{account}:rule/{}", rule.name);
        let mut targets = Vec::new();
        for target in &declared.targets {
            let (id, arn) =
                target_of(target, account, &region).with_context(|| format!("rule {}: a target", declared.name))?;
            if let Some(function) = &target.function {
                permit_rule(functions, account, &region, function, &declared.name, &rule_arn).await?;
            }
            targets.push(wharf_store::events::TargetRow {
                id,
                arn,
                input: target.input.clone(),
                ..wharf_store::events::TargetRow::default()
            });
        }
        if !targets.is_empty() {
            let problems = events
                .put_targets(&caller, None, &declared.name, targets)
                .await
                .map_err(|err| anyhow::anyhow!("rule {}: targets: {err}", declared.name))?;
            if let Some(problem) = problems.first() {
                anyhow::bail!("rule {}: {problem}", declared.name);
            }
        }
        tracing::info!(rule = %rule_arn, "declared rule ready");
    }
    Ok(())
}

/// A declared target's id and ARN.
fn target_of(target: &DeclaredTarget, account: &AccountId, region: &Region) -> anyhow::Result<(String, String)> {
    let (name, arn) = match (&target.function, &target.queue, &target.arn) {
        (Some(function), None, None) => {
            (function.clone(), format!("arn:aws:lambda:{region}:{account}:function:{function}"))
        }
        (None, Some(queue), None) => (queue.clone(), format!("arn:aws:sqs:{region}:{account}:{queue}")),
        (None, None, Some(arn)) => (arn.rsplit([':', '/']).next().unwrap_or("target").to_owned(), arn.clone()),
        _ => anyhow::bail!("name exactly one of function, queue or arn"),
    };
    Ok((target.id.clone().unwrap_or(name), arn))
}

/// Lets EventBridge invoke `function` for the rule (idempotent).
async fn permit_rule(
    functions: &wharf_functions::Functions,
    account: &AccountId,
    region: &Region,
    function: &str,
    rule: &str,
    rule_arn: &str,
) -> anyhow::Result<()> {
    let key = wharf_functions::FunctionKey {
        account: account.to_string(),
        region: region.to_string(),
        name: function.to_owned(),
    };
    let permission = wharf_functions::PermissionRow {
        statement_id: format!("wharf-declared-{rule}"),
        qualifier: None,
        action: "lambda:InvokeFunction".into(),
        principal: "events.amazonaws.com".into(),
        source_arn: Some(rule_arn.to_owned()),
        source_account: None,
        principal_org_id: None,
        event_source_token: None,
        function_url_auth_type: None,
    };
    match functions.add_permission(&key, permission).await {
        Ok(_) | Err(wharf_functions::FunctionError::Conflict(_)) => Ok(()),
        Err(err) => Err(anyhow::anyhow!("rule {rule}: letting it invoke {function}: {err}")),
    }
}

/// `[[iam.roles]]`: created if missing, their trust policy, inline policies and attachments
/// set as declared (policies the file does not name are left alone).
pub async fn roles(iam: &wharf_iam::Iam, config: &Config, account: &AccountId) -> anyhow::Result<()> {
    use wharf_iam::{EntityKind, IamError};
    for declared in &config.iam.roles {
        let what = format!("role {}", declared.name);
        let trust = match (&declared.trust_policy, declared.trusted_services.is_empty()) {
            (Some(document), true) => document.clone(),
            (None, false) => serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": { "Service": declared.trusted_services },
                    "Action": "sts:AssumeRole",
                }],
            })
            .to_string(),
            _ => anyhow::bail!("{what}: give exactly one of trusted_services and trust_policy"),
        };
        let new = wharf_iam::NewEntity {
            name: declared.name.clone(),
            path: None,
            tags: Vec::new(),
            permissions_boundary: None,
        };
        match iam.create_role(account.as_str(), new, trust.clone(), None, None).await {
            Ok(_) => {}
            Err(IamError::EntityAlreadyExists(_)) => {
                iam.update_trust_policy(account.as_str(), &declared.name, trust)
                    .await
                    .map_err(|err| anyhow::anyhow!("{what}: trust policy: {err}"))?;
            }
            Err(err) => anyhow::bail!("{what}: {err}"),
        }
        for (name, document) in &declared.policies {
            iam.put_inline_policy(account.as_str(), EntityKind::Role, &declared.name, name, document.clone())
                .await
                .map_err(|err| anyhow::anyhow!("{what}: policy {name}: {err}"))?;
        }
        for arn in &declared.managed_policies {
            iam.attach_policy(account.as_str(), EntityKind::Role, &declared.name, arn)
                .await
                .map_err(|err| anyhow::anyhow!("{what}: attaching {arn}: {err}"))?;
        }
        tracing::info!(role = %declared.name, "declared role ready");
    }
    Ok(())
}

/// `[[iam.users]]`: created if missing, their inline policies, attachments and access keys
/// set as declared (what the file does not name is left alone).
pub async fn users(iam: &wharf_iam::Iam, config: &Config, account: &AccountId) -> anyhow::Result<()> {
    use wharf_iam::{EntityKind, IamError};
    for declared in &config.iam.users {
        let what = format!("user {}", declared.name);
        let new = wharf_iam::NewEntity {
            name: declared.name.clone(),
            path: None,
            tags: Vec::new(),
            permissions_boundary: None,
        };
        match iam.create_user(account.as_str(), new).await {
            Ok(_) | Err(IamError::EntityAlreadyExists(_)) => {}
            Err(err) => anyhow::bail!("{what}: {err}"),
        }
        for (name, document) in &declared.policies {
            iam.put_inline_policy(account.as_str(), EntityKind::User, &declared.name, name, document.clone())
                .await
                .map_err(|err| anyhow::anyhow!("{what}: policy {name}: {err}"))?;
        }
        for arn in &declared.managed_policies {
            iam.attach_policy(account.as_str(), EntityKind::User, &declared.name, arn)
                .await
                .map_err(|err| anyhow::anyhow!("{what}: attaching {arn}: {err}"))?;
        }
        for key in &declared.access_keys {
            iam.import_access_key(account.as_str(), &declared.name, &key.access_key_id, &key.secret_access_key)
                .await
                .map_err(|err| anyhow::anyhow!("{what}: access key {}: {err}", key.access_key_id))?;
        }
        tracing::info!(user = %declared.name, "declared user ready");
    }
    Ok(())
}

/// `[[sqs.queues]]`: created, or their attributes and tags set as declared.
pub async fn queues(
    engine: &wharf_queue::Engine,
    config: &Config,
    account: &AccountId,
    region: &Region,
) -> anyhow::Result<()> {
    // Two passes, so a dead-letter queue may be declared after the queues that name it: every
    // queue first without its RedrivePolicy, then the redrive policies.
    let mut redrives = Vec::new();
    for declared in &config.sqs.queues {
        let key = wharf_types::QueueKey {
            account: account.clone(),
            region: match &declared.region {
                Some(region) => region.parse().with_context(|| format!("queue {}: region", declared.name))?,
                None => region.clone(),
            },
            name: declared.name.parse().with_context(|| format!("queue {}: name", declared.name))?,
        };
        let mut attributes = declared.attributes.clone();
        if let Some(redrive) = attributes.remove("RedrivePolicy") {
            redrives.push((key.clone(), declared.name.clone(), redrive));
        }
        match engine.create_queue(key.clone(), attributes.clone(), declared.tags.clone()).await {
            Ok(_) => {}
            Err(wharf_queue::QueueError::QueueNameExists(_)) => {
                engine
                    .set_attributes(&key, attributes)
                    .await
                    .with_context(|| format!("queue {}: updating attributes", declared.name))?;
            }
            Err(err) => return Err(anyhow::anyhow!("queue {}: {err}", declared.name)),
        }
        if !declared.tags.is_empty() {
            engine.tag(&key, declared.tags.clone()).await.with_context(|| format!("queue {}: tags", declared.name))?;
        }
        tracing::info!(queue = %key.name, region = %key.region, "declared queue ready");
    }
    for (key, name, redrive) in redrives {
        let attributes = std::collections::BTreeMap::from([("RedrivePolicy".to_owned(), redrive)]);
        engine.set_attributes(&key, attributes).await.with_context(|| format!("queue {name}: RedrivePolicy"))?;
    }
    Ok(())
}

/// `[[functions.declare]]`: created, or their code and configuration updated.
pub async fn functions(
    functions: &wharf_functions::Functions,
    config: &Config,
    account: &AccountId,
    region: &Region,
) -> anyhow::Result<()> {
    for declared in &config.functions.declare {
        let (code, origin) = code_of(declared)?;
        let region = declared.region.clone().unwrap_or_else(|| region.to_string());
        let name: wharf_functions::FunctionName =
            declared.name.parse().map_err(|err| anyhow::anyhow!("function {}: {err}", declared.name))?;
        let key = wharf_functions::FunctionKey {
            account: account.to_string(),
            region: region.clone(),
            name: declared.name.clone(),
        };
        let role =
            declared.role.clone().unwrap_or_else(|| format!("arn:aws:iam::{account}:role/wharf-declared-function"));
        if functions.function(&key).is_some() {
            functions
                .update_code(&key, code, false, None)
                .await
                .map_err(|err| anyhow::anyhow!("function {}: {err}", declared.name))?;
            let update = wharf_functions::FunctionUpdate {
                runtime: Some(declared.runtime.clone()),
                handler: Some(declared.handler.clone()),
                role: Some(role),
                timeout_seconds: Some(declared.timeout.unwrap_or(wharf_functions::registry::DEFAULT_TIMEOUT)),
                memory_mb: Some(declared.memory.unwrap_or(wharf_functions::registry::DEFAULT_MEMORY)),
                environment: Some(declared.environment.clone()),
                ..wharf_functions::FunctionUpdate::default()
            };
            functions
                .update_configuration(&key, update)
                .await
                .map_err(|err| anyhow::anyhow!("function {}: {err}", declared.name))?;
        } else {
            let new = wharf_functions::NewFunction {
                name,
                runtime: declared.runtime.clone(),
                handler: declared.handler.clone(),
                role,
                timeout_seconds: declared.timeout,
                memory_mb: declared.memory,
                ephemeral_storage_mb: None,
                environment: declared.environment.clone(),
                description: format!("declared in the configuration file from {origin}"),
                code,
                publish: false,
                architectures: Vec::new(),
                tags: std::collections::BTreeMap::new(),
                dead_letter_target: None,
                log_format: None,
                log_group: None,
                application_log_level: None,
                system_log_level: None,
                tracing_mode: None,
                layers: Vec::new(),
            };
            functions
                .create(account.as_str(), &region, new)
                .await
                .map_err(|err| anyhow::anyhow!("function {}: {err}", declared.name))?;
        }
        tracing::info!(function = %declared.name, "declared function ready");
    }
    Ok(())
}

/// A declared function's code: its directory (used in place) or its zip archive (read now),
/// and where it comes from, for the description.
fn code_of(
    declared: &crate::config::DeclaredFunction,
) -> anyhow::Result<(wharf_functions::registry::CodeSource, String)> {
    use wharf_functions::registry::CodeSource;
    match (&declared.directory, &declared.zip) {
        (Some(directory), None) => {
            let directory = directory
                .canonicalize()
                .with_context(|| format!("function {}: directory {}", declared.name, directory.display()))?;
            let origin = directory.display().to_string();
            Ok((CodeSource::Directory(directory), origin))
        }
        (None, Some(zip)) => {
            let bytes =
                std::fs::read(zip).with_context(|| format!("function {}: zip {}", declared.name, zip.display()))?;
            Ok((CodeSource::Zip(bytes), zip.display().to_string()))
        }
        _ => anyhow::bail!("function {}: give exactly one of directory and zip", declared.name),
    }
}

/// The engines a declared stack is applied to.
pub struct Engines<'a> {
    /// SQS.
    pub sqs: &'a wharf_queue::Engine,
    /// Lambda.
    pub functions: &'a wharf_functions::Functions,
    /// CloudWatch Logs.
    pub logs: &'a wharf_logs::Logs,
    /// EventBridge.
    pub events: &'a wharf_events::Events,
    /// IAM.
    pub iam: &'a wharf_iam::Iam,
}

/// Applies everything `config` declares, in the order each part needs the others: roles and
/// users, queues, functions (with their roles), log groups, mappings (functions and queues),
/// rules (their targets).
pub async fn apply(engines: &Engines<'_>, config: &Config, account: &AccountId, region: &Region) -> anyhow::Result<()> {
    roles(engines.iam, config, account).await?;
    users(engines.iam, config, account).await?;
    queues(engines.sqs, config, account, region).await?;
    functions(engines.functions, config, account, region).await?;
    log_groups(engines.logs, config, account, region).await?;
    mappings(engines.functions, config, account, region).await?;
    rules(engines.events, engines.functions, config, account, region).await?;
    Ok(())
}

/// What a configuration declares, by name: what `prune = true` compares to find what the file
/// no longer declares. Kept in `DATA_DIR/declared.json` so a restart with a shorter file prunes
/// too.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Declared {
    /// (region, name).
    pub queues: BTreeSet<(String, String)>,
    /// (region, name).
    pub functions: BTreeSet<(String, String)>,
    /// Names.
    pub roles: BTreeSet<String>,
    /// Names.
    pub users: BTreeSet<String>,
    /// (region, name).
    pub log_groups: BTreeSet<(String, String)>,
    /// (region, queue ARN, function).
    pub mappings: BTreeSet<(String, String, String)>,
    /// (region, name, functions it invokes).
    pub rules: BTreeSet<(String, String, Vec<String>)>,
}

impl Declared {
    /// The names `config` declares.
    pub fn of(config: &Config, account: &AccountId, region: &Region) -> anyhow::Result<Declared> {
        let region_name = |declared: Option<&String>| region_of(declared, region).map(|region| region.to_string());
        let mut names = Declared::default();
        for queue in &config.sqs.queues {
            names.queues.insert((region_name(queue.region.as_ref())?, queue.name.clone()));
        }
        for function in &config.functions.declare {
            names.functions.insert((region_name(function.region.as_ref())?, function.name.clone()));
        }
        names.roles.extend(config.iam.roles.iter().map(|role| role.name.clone()));
        names.users.extend(config.iam.users.iter().map(|user| user.name.clone()));
        for group in &config.logs.groups {
            names.log_groups.insert((region_name(group.region.as_ref())?, group.name.clone()));
        }
        for mapping in &config.functions.mappings {
            let region = region_of(mapping.region.as_ref(), region)?;
            names.mappings.insert((
                region.to_string(),
                queue_arn_of(&mapping.queue, account, &region),
                mapping.function.clone(),
            ));
        }
        for rule in &config.events.rules {
            let invoked = rule.targets.iter().filter_map(|target| target.function.clone()).collect();
            names.rules.insert((region_name(rule.region.as_ref())?, rule.name.clone(), invoked));
        }
        Ok(names)
    }

    /// What `self` declares that `now` does not.
    pub fn minus(&self, now: &Declared) -> Declared {
        let rule_names: BTreeSet<(String, String)> =
            now.rules.iter().map(|(region, name, _)| (region.clone(), name.clone())).collect();
        Declared {
            queues: self.queues.difference(&now.queues).cloned().collect(),
            functions: self.functions.difference(&now.functions).cloned().collect(),
            roles: self.roles.difference(&now.roles).cloned().collect(),
            users: self.users.difference(&now.users).cloned().collect(),
            log_groups: self.log_groups.difference(&now.log_groups).cloned().collect(),
            mappings: self.mappings.difference(&now.mappings).cloned().collect(),
            rules: self
                .rules
                .iter()
                .filter(|(region, name, _)| !rule_names.contains(&(region.clone(), name.clone())))
                .cloned()
                .collect(),
        }
    }

    /// Whether it names nothing.
    pub fn is_empty(&self) -> bool {
        *self == Declared::default()
    }

    /// The record of the last apply in `data_dir` (empty when there is none).
    pub fn load(data_dir: &std::path::Path) -> anyhow::Result<Declared> {
        let path = data_dir.join(DECLARED_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| format!("reading {}", path.display())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Declared::default()),
            Err(err) => Err(err).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes the record durably (a new file synced, renamed over the old, the directory synced).
    pub fn save(&self, data_dir: &std::path::Path) -> anyhow::Result<()> {
        use std::io::Write as _;
        let path = data_dir.join(DECLARED_FILE);
        let partial = data_dir.join(format!("{DECLARED_FILE}.partial"));
        let mut file = std::fs::File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
        file.write_all(&serde_json::to_vec_pretty(self)?)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("writing {}", partial.display()))?;
        std::fs::rename(&partial, &path).with_context(|| format!("renaming {}", partial.display()))?;
        std::fs::File::open(data_dir)
            .and_then(|dir| dir.sync_all())
            .with_context(|| format!("syncing {}", data_dir.display()))
    }
}

/// The record of what the configuration declared at the last apply.
const DECLARED_FILE: &str = "declared.json";

fn queue_arn_of(queue: &str, account: &AccountId, region: &Region) -> String {
    if queue.starts_with("arn:") {
        queue.to_owned()
    } else {
        format!("arn:aws:sqs:{region}:{account}:{queue}")
    }
}

/// Deletes what `removed` names (`prune = true`): rules, mappings, functions, log groups,
/// queues, users and roles, in that order. One that is already gone is no error; one that
/// cannot be deleted is logged and the rest still go.
pub async fn prune(engines: &Engines<'_>, removed: &Declared, account: &AccountId) {
    let failed = |what: String, err: String| tracing::warn!(%what, error = %err, "prune: could not delete");
    for (region, name, invoked) in &removed.rules {
        let caller = wharf_events::Caller { account: account.to_string(), region: region.clone() };
        if let Ok(targets) = engines.events.targets(&caller, None, name) {
            let ids: Vec<String> = targets.into_iter().map(|target| target.id).collect();
            if let Err(err) = engines.events.remove_targets(&caller, None, name, &ids).await {
                failed(format!("rule {name}: its targets"), err.to_string());
            }
        }
        match engines.events.delete_rule(&caller, None, name).await {
            Ok(()) => tracing::info!(rule = %name, "prune: deleted the rule the file no longer declares"),
            Err(wharf_events::EventsError::RuleNotFound { .. }) => {}
            Err(err) => failed(format!("rule {name}"), err.to_string()),
        }
        for function in invoked {
            let key = wharf_functions::FunctionKey {
                account: account.to_string(),
                region: region.clone(),
                name: function.clone(),
            };
            let _ = engines.functions.remove_permission(&key, &format!("wharf-declared-{name}"), None).await;
        }
    }
    for (region, queue_arn, function) in &removed.mappings {
        for row in engines.functions.list_mappings(account.as_str(), region, Some(queue_arn), Some(function)) {
            match engines.functions.delete_mapping(&row.uuid).await {
                Ok(_) => tracing::info!(mapping = %row.uuid, "prune: deleted the mapping the file no longer declares"),
                Err(err) => failed(format!("mapping {queue_arn} -> {function}"), err.to_string()),
            }
        }
    }
    for (region, name) in &removed.functions {
        let key =
            wharf_functions::FunctionKey { account: account.to_string(), region: region.clone(), name: name.clone() };
        if engines.functions.function(&key).is_none() {
            continue;
        }
        match engines.functions.delete(&key, None).await {
            Ok(()) => tracing::info!(function = %name, "prune: deleted the function the file no longer declares"),
            Err(err) => failed(format!("function {name}"), err.to_string()),
        }
    }
    for (region, name) in &removed.log_groups {
        let Ok(region) = region.parse::<Region>() else { continue };
        let key = wharf_store::logs::LogGroupKey { account: account.clone(), region, name: name.clone() };
        match engines.logs.delete_group(&key).await {
            Ok(()) => tracing::info!(group = %name, "prune: deleted the log group the file no longer declares"),
            Err(wharf_logs::LogsError::GroupNotFound) => {}
            Err(err) => failed(format!("log group {name}"), err.to_string()),
        }
    }
    for (region, name) in &removed.queues {
        let (Ok(region), Ok(queue)) = (region.parse::<Region>(), name.parse()) else { continue };
        let key = wharf_types::QueueKey { account: account.clone(), region, name: queue };
        match engines.sqs.delete_queue(&key).await {
            Ok(()) => tracing::info!(queue = %name, "prune: deleted the queue the file no longer declares"),
            Err(wharf_queue::QueueError::QueueDoesNotExist) => {}
            Err(err) => failed(format!("queue {name}"), err.to_string()),
        }
    }
    for name in &removed.users {
        prune_principal(engines.iam, account, wharf_iam::EntityKind::User, name).await;
    }
    for name in &removed.roles {
        prune_principal(engines.iam, account, wharf_iam::EntityKind::Role, name).await;
    }
}

/// Deletes a user or role with its inline policies, attachments (and a user's keys).
async fn prune_principal(iam: &wharf_iam::Iam, account: &AccountId, kind: wharf_iam::EntityKind, name: &str) {
    use wharf_iam::EntityKind;
    let account = account.as_str();
    let principal = match kind {
        EntityKind::Role => iam.role(account, name).map(|row| (row.principal, Vec::new())),
        _ => iam.user(account, name).map(|row| {
            let keys = row.access_keys.iter().map(|key| key.id.clone()).collect::<Vec<_>>();
            (row.principal, keys)
        }),
    };
    let Ok((principal, keys)) = principal else { return };
    for policy in principal.inline_policies.keys() {
        let _ = iam.delete_inline_policy(account, kind, name, policy).await;
    }
    for arn in &principal.attached_policies {
        let _ = iam.detach_policy(account, kind, name, arn).await;
    }
    for key in keys {
        let _ = iam.delete_access_key(account, name, &key).await;
    }
    let deleted = match kind {
        EntityKind::Role => iam.delete_role(account, name).await,
        _ => iam.delete_user(account, name).await,
    };
    match deleted {
        Ok(()) => tracing::info!(%name, "prune: deleted the IAM principal the file no longer declares"),
        Err(err) => tracing::warn!(%name, error = %err, "prune: could not delete"),
    }
}
