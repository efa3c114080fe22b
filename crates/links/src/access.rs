//! Services acting for a user, checked as AWS checks them (auth `log` and `enforce`).
//!
//! - Lambda acting with a function's execution role: an event source mapping receiving and
//!   deleting messages, a destination or dead-letter queue getting a record, the function's
//!   output going to CloudWatch Logs. The role's policies decide, with the resource's policy
//!   (a queue policy) for another account's resource, as for any principal.
//! - A service principal acting through the resource's own policy: an EventBridge rule
//!   invoking a function (the function policy AddPermission writes) or sending to a queue (the
//!   queue policy), with `aws:SourceArn` the rule and `aws:SourceAccount` its account.
//!
//! With auth `log`, a denial is logged and the action goes ahead; with `enforce` it is refused;
//! with `off` nothing is checked.

use std::sync::{Arc, OnceLock, Weak};
use wharf_functions::{FunctionRef, Functions};
use wharf_iam::{Access, Decision, Iam, PolicyCache};
use wharf_queue::Engine;
use wharf_types::{Arn, QueueKey};

/// Who acts.
#[derive(Clone, Copy, Debug)]
pub enum Actor<'a> {
    /// Lambda, with a function's execution role.
    Role {
        /// The execution role.
        role_arn: &'a str,
        /// The function (the `lambda:SourceFunctionArn` key); its name is the session name.
        function_arn: &'a str,
    },
    /// An AWS service acting with a role it assumes (EventBridge Scheduler with a schedule's
    /// execution role): the role must exist and trust the service, then its policies decide.
    AssumedRole {
        /// The role.
        role_arn: &'a str,
        /// The service that assumes it (`scheduler.amazonaws.com`).
        service: &'a str,
        /// The session's name.
        session: &'a str,
    },
    /// Another account as a whole (its root), allowed only by the resource's policy: a rule of
    /// that account delivering to this account's event bus without a role.
    Account {
        /// The acting account.
        account: &'a str,
    },
    /// An AWS service principal, allowed only by the resource's policy.
    Service {
        /// `events.amazonaws.com`, …
        service: &'a str,
        /// What it acts for (`aws:SourceArn`): the rule.
        source_arn: &'a str,
        /// Whose that is (`aws:SourceAccount`).
        source_account: &'a str,
    },
}

/// How much is checked (the server's auth mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checks {
    /// Nothing.
    Off,
    /// Decisions are taken and denials logged; nothing is refused.
    Log,
    /// Denials are refused.
    Enforce,
}

/// The checks, over wharf's IAM and the engines that keep resource policies.
pub struct ServiceAccess {
    iam: Arc<Iam>,
    checks: Checks,
    sqs: Arc<Engine>,
    /// For function policies; set once the functions engine exists.
    functions: OnceLock<Weak<Functions>>,
    /// For event bus policies; set once the rules engine exists.
    events: OnceLock<Weak<wharf_events::Events>>,
    /// For CloudWatch Logs resource policies (weak: the logs engine holds this through its
    /// subscription sink).
    logs: OnceLock<Weak<wharf_logs::Logs>>,
    policies: PolicyCache,
}

impl std::fmt::Debug for ServiceAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccess").field("checks", &self.checks).finish_non_exhaustive()
    }
}

impl ServiceAccess {
    /// Checks against `iam`, reading queue policies from `sqs`.
    pub fn new(iam: Arc<Iam>, checks: Checks, sqs: Arc<Engine>) -> ServiceAccess {
        ServiceAccess {
            iam,
            checks,
            sqs,
            functions: OnceLock::new(),
            events: OnceLock::new(),
            logs: OnceLock::new(),
            policies: PolicyCache::default(),
        }
    }

    /// Where function policies come from.
    pub fn set_functions(&self, functions: &Arc<Functions>) {
        let _ = self.functions.set(Arc::downgrade(functions));
    }

    /// Where event bus policies come from.
    pub fn set_events(&self, events: &Arc<wharf_events::Events>) {
        let _ = self.events.set(Arc::downgrade(events));
    }

    /// Where CloudWatch Logs resource policies come from.
    pub fn set_logs(&self, logs: &Arc<wharf_logs::Logs>) {
        let _ = self.logs.set(Arc::downgrade(logs));
    }

    /// The IAM engine.
    pub fn iam(&self) -> &Arc<Iam> {
        &self.iam
    }

    /// How much is checked.
    pub fn checks(&self) -> Checks {
        self.checks
    }

    /// Notified when IAM changes (a denied poller waits for this before trying again).
    pub fn iam_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.iam.changes()
    }

    /// How many IAM changes were published: a decision taken at one count holds until the next.
    pub fn iam_generation(&self) -> u64 {
        self.iam.generation()
    }

    /// The unique id (`AROA…`) of the role `role_arn` names, if it exists.
    pub fn role_id(&self, role_arn: &str) -> Option<String> {
        self.iam.role_by_arn(role_arn).map(|role| role.principal.id)
    }

    /// `Ok` when `actor` may perform `action` on `resource_arn` (or nothing is refused);
    /// otherwise AWS's denial message.
    pub async fn check(&self, actor: Actor<'_>, action: &str, resource_arn: &str) -> Result<(), String> {
        if self.checks == Checks::Off {
            return Ok(());
        }
        match self.decide(actor, action, resource_arn).await {
            Ok(()) => Ok(()),
            Err(message) => {
                let enforced = self.checks == Checks::Enforce;
                tracing::warn!(target: "wharf::auth", enforced, %message, "access denied");
                if enforced {
                    Err(message)
                } else {
                    Ok(())
                }
            }
        }
    }

    async fn decide(&self, actor: Actor<'_>, action: &str, resource_arn: &str) -> Result<(), String> {
        let resource_account = resource_arn.parse::<Arn>().ok().map(|arn| arn.account).filter(|a| !a.is_empty());
        let policy = self.resource_policy(resource_arn).await;
        let access = Access {
            action,
            resource: resource_arn,
            resource_account: resource_account.as_deref(),
            resource_policy: policy.as_deref(),
            context: Default::default(),
        };
        match actor {
            Actor::Role { role_arn, function_arn } => {
                let session = function_arn.parse::<FunctionRef>().map(|r| r.name.to_string()).unwrap_or_default();
                let Some(principal) = self.iam.role_principal(role_arn, &session, Some(function_arn)) else {
                    return Err(format!(
                        "The execution role {role_arn} of {function_arn} does not exist: it may not perform {action} on resource: {resource_arn}"
                    ));
                };
                match self.iam.authorize(&principal, &access) {
                    Decision::Allow => Ok(()),
                    Decision::Deny(reason) => Err(wharf_iam::authorize::denial_message(&principal, &access, reason)),
                }
            }
            Actor::AssumedRole { role_arn, service, session } => {
                let trusted =
                    self.iam.role_by_arn(role_arn).is_some_and(|role| self.iam.service_may_assume(service, &role));
                if !trusted {
                    return Err(format!(
                        "{service} cannot assume the role {role_arn} (it does not exist or does not trust {service}): it may not perform {action} on resource: {resource_arn}"
                    ));
                }
                let Some(principal) = self.iam.role_principal(role_arn, session, None) else {
                    return Err(format!("The role {role_arn} does not exist"));
                };
                match self.iam.authorize(&principal, &access) {
                    Decision::Allow => Ok(()),
                    Decision::Deny(reason) => Err(wharf_iam::authorize::denial_message(&principal, &access, reason)),
                }
            }
            Actor::Account { account } => {
                if wharf_iam::authorize::account_allowed(account, &access) {
                    Ok(())
                } else {
                    Err(format!(
                        "Account {account} is not authorized to perform: {action} on resource: {resource_arn} because no resource-based policy allows the {action} action"
                    ))
                }
            }
            Actor::Service { service, source_arn, source_account } => {
                if wharf_iam::authorize::service_allowed(service, &access, Some(source_arn), Some(source_account)) {
                    Ok(())
                } else {
                    Err(format!(
                        "{service} is not authorized to perform: {action} on resource: {resource_arn} for {source_arn} because no resource-based policy allows the {action} action"
                    ))
                }
            }
        }
    }

    /// The policy of the resource: a queue's `Policy`, a function's AddPermission statements.
    async fn resource_policy(&self, resource_arn: &str) -> Option<Arc<wharf_iam::Policy>> {
        if let Some(key) = QueueKey::from_arn(resource_arn) {
            let document = self.sqs.policy(&key).await.ok().flatten()?;
            return self.policies.parsed(&document);
        }
        if Arn::is_of(resource_arn, "logs") {
            // CloudWatch Logs keeps up to ten policies per account and region; together they
            // are the resource's policy.
            let logs = self.logs.get().and_then(Weak::upgrade)?;
            let arn: Arn = resource_arn.parse().ok()?;
            let policies = logs.resource_policies(&arn.account.parse().ok()?, &arn.region.parse().ok()?).await.ok()?;
            let mut statements = Vec::new();
            for policy in policies {
                match serde_json::from_str::<serde_json::Value>(&policy.document)
                    .ok()
                    .and_then(|d| d.get("Statement").cloned())
                {
                    Some(serde_json::Value::Array(list)) => statements.extend(list),
                    Some(single @ serde_json::Value::Object(_)) => statements.push(single),
                    _ => {}
                }
            }
            if statements.is_empty() {
                return None;
            }
            let document = serde_json::json!({ "Version": "2012-10-17", "Statement": statements });
            return self.policies.parsed(&document.to_string());
        }
        if let Some((owner, bus)) = wharf_events::rules::bus_of_arn(resource_arn) {
            let events = self.events.get().and_then(Weak::upgrade)?;
            return self.policies.parsed(&events.bus_policy(&owner, &bus)?);
        }
        if Arn::is_of(resource_arn, "lambda") {
            let functions = self.functions.get().and_then(Weak::upgrade)?;
            let reference: FunctionRef = resource_arn.parse().ok()?;
            let key = functions.key_of("", "", &reference);
            let row = functions.function(&key)?;
            let document =
                wharf_iam::function_policy::document(&key.arn(), &row.permissions, reference.qualifier.as_deref())?;
            return self.policies.parsed(&document.to_string());
        }
        None
    }
}
