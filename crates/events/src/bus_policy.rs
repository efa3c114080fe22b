//! An event bus's resource policy: PutPermission, RemovePermission, and the policy other
//! accounts' events are checked against.
//!
//! PutPermission writes one statement per `StatementId` (replacing a statement of the same id),
//! or a whole policy document; RemovePermission removes one statement or all of them, and the
//! policy goes once no statement is left. The default bus keeps its policy in a row of its own,
//! as it keeps its tags.
//!
//! # Wire
//! ```text
//! PutPermission {Action: "events:PutEvents", Principal: "111122223333" | "*", StatementId,
//!                Condition: {Type: "StringEquals", Key: "aws:PrincipalOrgID", Value}}
//!   → {"Sid": ID, "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"} | "*",
//!      "Action": "events:PutEvents", "Resource": BUS_ARN,
//!      "Condition": {"StringEquals": {"aws:PrincipalOrgID": VALUE}}}
//! ```

use serde_json::{json, Value};

use crate::error::EventsError;
use crate::rules::{bus_arn, bus_name, Caller, Events};

/// The longest bus policy AWS stores, in characters.
pub const MAX_POLICY_CHARS: usize = 10_240;

/// PutPermission's input.
#[derive(Clone, Debug, Default)]
pub struct PermissionGrant {
    /// `Action`: only `events:PutEvents`.
    pub action: Option<String>,
    /// `Principal`: an account id or `*`.
    pub principal: Option<String>,
    /// `StatementId`.
    pub statement_id: Option<String>,
    /// `Condition`: `(Type, Key, Value)`.
    pub condition: Option<(String, String, String)>,
    /// `Policy`: a whole policy document instead of the four above.
    pub policy: Option<String>,
}

fn invalid(message: impl Into<String>) -> EventsError {
    EventsError::Validation(message.into())
}

/// The statements of a stored policy document.
fn statements(policy: Option<&str>) -> Vec<Value> {
    let Some(document) = policy.and_then(|text| serde_json::from_str::<Value>(text).ok()) else {
        return Vec::new();
    };
    match document.get("Statement") {
        Some(Value::Array(list)) => list.clone(),
        Some(single @ Value::Object(_)) => vec![single.clone()],
        _ => Vec::new(),
    }
}

fn document(statements: Vec<Value>) -> Option<String> {
    (!statements.is_empty()).then(|| json!({ "Version": "2012-10-17", "Statement": statements }).to_string())
}

impl Events {
    /// PutPermission on the caller's bus `bus` (`default` when absent).
    pub async fn put_permission(
        &self,
        caller: &Caller,
        bus: Option<&str>,
        grant: PermissionGrant,
    ) -> Result<(), EventsError> {
        let name = bus_name(bus);
        let resource = bus_arn(&caller.account, &caller.region, &name);
        let statement = match (&grant.policy, &grant.action, &grant.principal, &grant.statement_id) {
            (Some(_), None, None, None) if grant.condition.is_none() => None,
            (Some(_), ..) => {
                return Err(invalid(
                    "Policy cannot be given together with Action, Principal, StatementId or Condition.",
                ))
            }
            (None, Some(action), Some(principal), Some(statement_id)) => {
                if action != "events:PutEvents" {
                    return Err(invalid(format!("Provided value in parameter 'action' is not supported: {action}.")));
                }
                let principal_value = if principal == "*" {
                    Value::from("*")
                } else if principal.len() == 12 && principal.bytes().all(|b| b.is_ascii_digit()) {
                    json!({ "AWS": format!("arn:aws:iam::{principal}:root") })
                } else {
                    return Err(invalid(format!(
                        "1 validation error detected: Value '{principal}' at 'principal' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\d{{12}}|\\*)"
                    )));
                };
                if statement_id.is_empty()
                    || statement_id.len() > 64
                    || !statement_id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
                {
                    return Err(invalid(format!(
                        "1 validation error detected: Value '{statement_id}' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+"
                    )));
                }
                let mut statement = json!({
                    "Sid": statement_id,
                    "Effect": "Allow",
                    "Principal": principal_value,
                    "Action": "events:PutEvents",
                    "Resource": resource,
                });
                if let Some((kind, key, value)) = &grant.condition {
                    statement["Condition"] = json!({ kind.as_str(): { key.as_str(): value } });
                }
                Some(statement)
            }
            (None, ..) => {
                return Err(invalid(
                    "Parameters Action, Principal and StatementId are required when Policy is not given.",
                ))
            }
        };
        if let Some(text) = &grant.policy {
            let parsed: Value =
                serde_json::from_str(text).map_err(|_| invalid("Parameter Policy is not a valid JSON policy."))?;
            if !parsed.get("Statement").is_some_and(|list| list.is_array() || list.is_object()) {
                return Err(invalid("Parameter Policy is not a valid JSON policy."));
            }
        }
        let _write = self.write_lock.lock().await;
        let mut row = self.bus(caller, Some(&name))?;
        let next = match statement {
            None => grant.policy.clone(),
            Some(statement) => {
                let mut list = statements(row.policy.as_deref());
                let sid = statement["Sid"].clone();
                match list.iter_mut().find(|existing| existing.get("Sid") == Some(&sid)) {
                    Some(existing) => *existing = statement,
                    None => list.push(statement),
                }
                document(list)
            }
        };
        if next.as_deref().is_some_and(|text| text.chars().count() > MAX_POLICY_CHARS) {
            return Err(EventsError::PolicyTooLong);
        }
        row.policy = next;
        self.store.put_bus(&row).await?;
        self.lock().buses.insert((row.account.clone(), row.region.clone(), row.name.clone()), row);
        Ok(())
    }

    /// RemovePermission: the statement `statement_id`, or every statement when `all`.
    pub async fn remove_permission(
        &self,
        caller: &Caller,
        bus: Option<&str>,
        statement_id: Option<&str>,
        all: bool,
    ) -> Result<(), EventsError> {
        let name = bus_name(bus);
        let _write = self.write_lock.lock().await;
        let mut row = self.bus(caller, Some(&name))?;
        if all {
            if statement_id.is_some() {
                return Err(invalid("StatementId cannot be given when RemoveAllPermissions is true."));
            }
            row.policy = None;
        } else {
            let Some(statement_id) = statement_id else {
                return Err(invalid("Parameter StatementId is required when RemoveAllPermissions is not true."));
            };
            if row.policy.is_none() {
                return Err(EventsError::NotFound("EventBus does not have a policy.".into()));
            }
            let mut list = statements(row.policy.as_deref());
            let before = list.len();
            list.retain(|statement| statement.get("Sid").and_then(Value::as_str) != Some(statement_id));
            if list.len() == before {
                return Err(EventsError::NotFound("Statement with the provided id does not exist.".into()));
            }
            row.policy = document(list);
        }
        self.store.put_bus(&row).await?;
        self.lock().buses.insert((row.account.clone(), row.region.clone(), row.name.clone()), row);
        Ok(())
    }

    /// The resource policy of the bus `name` of `owner`, if it has one.
    pub fn bus_policy(&self, owner: &Caller, name: &str) -> Option<String> {
        self.lock().buses.get(&(owner.account.clone(), owner.region.clone(), name.to_owned()))?.policy.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use wharf_store::events::MemoryEventStore;

    struct Nowhere;

    #[async_trait::async_trait]
    impl crate::TargetDelivery for Nowhere {
        async fn deliver(
            &self,
            _arn: &str,
            _rule: &str,
            _payload: String,
            _group: Option<String>,
        ) -> Result<(), wharf_types::HandOffError> {
            Ok(())
        }
    }

    fn caller() -> Caller {
        Caller { account: "111111111111".into(), region: "us-east-1".into() }
    }

    fn grant(principal: &str, sid: &str) -> PermissionGrant {
        PermissionGrant {
            action: Some("events:PutEvents".into()),
            principal: Some(principal.into()),
            statement_id: Some(sid.into()),
            ..PermissionGrant::default()
        }
    }

    #[tokio::test]
    async fn statements_are_added_replaced_and_removed() {
        let store = Arc::new(MemoryEventStore::default());
        let events =
            Events::open(store.clone(), Arc::new(wharf_types::SystemClock), Arc::new(Nowhere)).await.expect("open");
        events.put_permission(&caller(), None, grant("222222222222", "one")).await.expect("put");
        events.put_permission(&caller(), None, grant("*", "two")).await.expect("put");
        events.put_permission(&caller(), None, grant("333333333333", "one")).await.expect("replace");
        let policy: Value =
            serde_json::from_str(&events.bus_policy(&caller(), "default").expect("policy")).expect("json");
        let list = policy["Statement"].as_array().expect("statements");
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["Principal"]["AWS"], "arn:aws:iam::333333333333:root");
        assert_eq!(list[0]["Resource"], "arn:aws:events:us-east-1:111111111111:event-bus/default");
        assert_eq!(list[1]["Principal"], "*");
        let err = events.remove_permission(&caller(), None, Some("nope"), false).await.expect_err("unknown id");
        assert_eq!(err.to_string(), "Statement with the provided id does not exist.");
        events.remove_permission(&caller(), None, Some("one"), false).await.expect("remove");
        events.remove_permission(&caller(), None, Some("two"), false).await.expect("remove");
        assert!(events.bus_policy(&caller(), "default").is_none(), "no statement left: no policy");
        let reopened = Events::open(store, Arc::new(wharf_types::SystemClock), Arc::new(Nowhere)).await.expect("open");
        assert!(reopened.bus_policy(&caller(), "default").is_none());
        let err = events.put_permission(&caller(), Some("missing"), grant("*", "x")).await.expect_err("no bus");
        assert_eq!(err.to_string(), "Event bus missing does not exist.");
        let mut bad = grant("*", "x");
        bad.action = Some("events:PutRule".into());
        assert!(events.put_permission(&caller(), None, bad).await.is_err());
    }
}
