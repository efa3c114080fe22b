//! A Lambda function's resource policy, built from its AddPermission statements: what GetPolicy
//! shows and what decides who may invoke the function (EventBridge rules, other accounts).

use serde_json::{json, Map, Value};
use wharf_store::functions::PermissionRow;

/// One statement of the resource policy, as GetPolicy returns it inside its JSON string.
pub fn statement(function_arn: &str, permission: &PermissionRow) -> Value {
    let principal = if permission.principal.ends_with(".amazonaws.com") {
        json!({ "Service": permission.principal })
    } else if permission.principal == "*" {
        Value::from("*")
    } else if permission.principal.bytes().all(|byte| byte.is_ascii_digit()) {
        json!({ "AWS": format!("arn:aws:iam::{}:root", permission.principal) })
    } else {
        json!({ "AWS": permission.principal })
    };
    let resource = match &permission.qualifier {
        Some(qualifier) => format!("{function_arn}:{qualifier}"),
        None => function_arn.to_owned(),
    };
    let mut condition = Map::new();
    if let Some(arn) = &permission.source_arn {
        condition.insert("ArnLike".into(), json!({ "AWS:SourceArn": arn }));
    }
    let mut equals = Map::new();
    if let Some(account) = &permission.source_account {
        equals.insert("AWS:SourceAccount".into(), Value::from(account.clone()));
    }
    if let Some(org) = &permission.principal_org_id {
        equals.insert("aws:PrincipalOrgID".into(), Value::from(org.clone()));
    }
    if let Some(token) = &permission.event_source_token {
        equals.insert("lambda:EventSourceToken".into(), Value::from(token.clone()));
    }
    if let Some(auth) = &permission.function_url_auth_type {
        equals.insert("lambda:FunctionUrlAuthType".into(), Value::from(auth.clone()));
    }
    if !equals.is_empty() {
        condition.insert("StringEquals".into(), Value::Object(equals));
    }
    let mut out = json!({
        "Sid": permission.statement_id,
        "Effect": "Allow",
        "Principal": principal,
        "Action": permission.action,
        "Resource": resource,
    });
    if !condition.is_empty() {
        out["Condition"] = Value::Object(condition);
    }
    out
}

/// The policy document of a function (or of one qualifier): `None` without statements.
pub fn document(function_arn: &str, permissions: &[PermissionRow], qualifier: Option<&str>) -> Option<Value> {
    let statements: Vec<Value> = permissions
        .iter()
        .filter(|permission| permission.qualifier.as_deref() == qualifier)
        .map(|permission| statement(function_arn, permission))
        .collect();
    if statements.is_empty() {
        return None;
    }
    Some(json!({ "Version": "2012-10-17", "Id": "default", "Statement": statements }))
}
