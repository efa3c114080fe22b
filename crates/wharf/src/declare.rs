//! The rest of the stack a configuration file declares, applied at start after the engines
//! open: IAM roles, log groups, event source mappings and rules with their targets. Each is created or
//! updated to match (applying the same file again changes nothing); resources the file does not
//! name are left alone. Queues and functions are declared in `serve.rs`.

use crate::config::{Config, DeclaredTarget};
use anyhow::Context as _;
use std::collections::BTreeMap;
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
        let queue_arn = if declared.queue.starts_with("arn:") {
            declared.queue.clone()
        } else {
            format!("arn:aws:sqs:{region}:{account}:{}", declared.queue)
        };
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
