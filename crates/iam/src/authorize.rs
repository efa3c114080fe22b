//! The decision for one request: every policy that applies, combined as the IAM user guide's
//! evaluation logic says
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>).
//!
//! 1. An explicit `Deny` in any applicable policy (identity, resource, session, boundary) denies.
//! 2. Within one account, an `Allow` in an identity-based policy or in the resource's policy
//!    allows; an account's root is allowed everything in its own account.
//! 3. Across accounts, both sides must allow: the resource's policy must name the caller (or its
//!    account) and the caller's identity policies must allow too (root's need not).
//! 4. A session policy and a permissions boundary can only narrow what identity policies allow:
//!    an identity-based allow counts only if they allow as well.
//! 5. Otherwise the request is implicitly denied.

use crate::policy::{Outcome, Policy, Request, RequestPrincipal};
use crate::principal::Principal;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What is asked: the action on a resource, with the resource's own policy.
#[derive(Clone, Debug)]
pub struct Access<'a> {
    /// `service:Action`.
    pub action: &'a str,
    /// The resource ARN, or `*`.
    pub resource: &'a str,
    /// The account owning the resource (`None`: the caller's, or a resource with no account).
    pub resource_account: Option<&'a str>,
    /// The resource's policy (queue policy, function policy, bus policy…).
    pub resource_policy: Option<&'a Policy>,
    /// Request-specific condition keys (lowercased), added to the principal's global keys.
    pub context: BTreeMap<String, Vec<String>>,
}

/// The policies that speak for a principal.
#[derive(Clone, Debug, Default)]
pub struct PrincipalPolicies {
    /// Inline and attached policies of the user or role, and of the user's groups.
    pub identity: Vec<Arc<Policy>>,
    /// The permissions boundary, if any.
    pub boundary: Option<Arc<Policy>>,
    /// The session policy, if any.
    pub session: Option<Arc<Policy>>,
}

/// The outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Allowed.
    Allow,
    /// Denied, and why.
    Deny(DenyReason),
}

/// Why a request is denied, as AWS's message words it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenyReason {
    /// An identity-based policy denies it.
    ExplicitInIdentityPolicy,
    /// The resource's policy denies it.
    ExplicitInResourcePolicy,
    /// The session policy denies it.
    ExplicitInSessionPolicy,
    /// The permissions boundary denies it.
    ExplicitInBoundary,
    /// Nothing allows it.
    NoIdentityPolicyAllows,
    /// Across accounts, the resource's policy does not allow it.
    NoResourcePolicyAllows,
    /// The session policy does not allow it.
    NoSessionPolicyAllows,
    /// The permissions boundary does not allow it.
    NoBoundaryAllows,
}

impl DenyReason {
    /// The end of AWS's AccessDenied message, after "because".
    pub fn explanation(self, action: &str) -> String {
        match self {
            DenyReason::ExplicitInIdentityPolicy => "with an explicit deny in an identity-based policy".to_owned(),
            DenyReason::ExplicitInResourcePolicy => "with an explicit deny in a resource-based policy".to_owned(),
            DenyReason::ExplicitInSessionPolicy => "with an explicit deny in a session policy".to_owned(),
            DenyReason::ExplicitInBoundary => "with an explicit deny in a permissions boundary".to_owned(),
            DenyReason::NoIdentityPolicyAllows => {
                format!("because no identity-based policy allows the {action} action")
            }
            DenyReason::NoResourcePolicyAllows => {
                format!("because no resource-based policy allows the {action} action")
            }
            DenyReason::NoSessionPolicyAllows => format!("because no session policy allows the {action} action"),
            DenyReason::NoBoundaryAllows => format!("because no permissions boundary allows the {action} action"),
        }
    }
}

/// AWS's message for a denied request:
/// `User: ARN is not authorized to perform: ACTION on resource: ARN because …`.
pub fn denial_message(principal: &Principal, access: &Access<'_>, reason: DenyReason) -> String {
    format!(
        "User: {} is not authorized to perform: {} on resource: {} {}",
        principal.arn(),
        access.action,
        access.resource,
        reason.explanation(access.action)
    )
}

/// The global condition keys of a principal (`aws:PrincipalArn`, `aws:userid`, …).
pub fn principal_context(principal: &Principal, now_ms: u64) -> BTreeMap<String, Vec<String>> {
    let mut context = BTreeMap::new();
    let mut put = |key: &str, value: String| {
        context.insert(key.to_owned(), vec![value]);
    };
    put("aws:principalarn", principal.principal_arn());
    put("aws:principalaccount", principal.account().to_owned());
    put("aws:principaltype", principal.principal_type().to_owned());
    put("aws:userid", principal.id());
    if let Principal::User { name, .. } = principal {
        put("aws:username", name.clone());
    }
    if let Principal::Session(claims) = principal {
        if let Some(function) = &claims.source_function_arn {
            put("lambda:sourcefunctionarn", function.clone());
        }
        for (key, value) in &claims.tags {
            put(&format!("aws:principaltag/{}", key.to_ascii_lowercase()), value.clone());
        }
    }
    put("aws:currenttime", wharf_types::UtcDateTime::from_epoch_millis(now_ms).iso8601_seconds());
    put("aws:epochtime", (now_ms / 1000).to_string());
    put("aws:securetransport", "false".to_owned());
    put("aws:viaawsservice", "false".to_owned());
    context
}

/// The decision for `principal` asking `access`, given the principal's policies.
pub fn decide(principal: &Principal, policies: &PrincipalPolicies, access: &Access<'_>, now_ms: u64) -> Decision {
    let mut context = principal_context(principal, now_ms);
    context.extend(access.context.iter().map(|(key, values)| (key.clone(), values.clone())));
    let principal_arn = principal.arn();
    let role_arn = principal.role_arn();
    let request = Request {
        action: access.action,
        resource: access.resource,
        principal: Some(RequestPrincipal::Aws {
            account: principal.account(),
            arn: &principal_arn,
            role_arn: role_arn.as_deref(),
        }),
        context: &context,
    };
    let combine = |policies: &[Arc<Policy>]| {
        let mut outcome = Outcome::NotApplicable;
        for policy in policies {
            match policy.evaluate(&request) {
                Outcome::Deny => return Outcome::Deny,
                Outcome::Allow => outcome = Outcome::Allow,
                Outcome::NotApplicable => {}
            }
        }
        outcome
    };
    let identity = if principal.is_root() { Outcome::NotApplicable } else { combine(&policies.identity) };
    let resource = access.resource_policy.map_or(Outcome::NotApplicable, |policy| policy.evaluate(&request));
    let session = policies.session.as_ref().map(|policy| policy.evaluate(&request));
    let boundary = policies.boundary.as_ref().map(|policy| policy.evaluate(&request));
    if identity == Outcome::Deny {
        return Decision::Deny(DenyReason::ExplicitInIdentityPolicy);
    }
    if resource == Outcome::Deny {
        return Decision::Deny(DenyReason::ExplicitInResourcePolicy);
    }
    if session == Some(Outcome::Deny) {
        return Decision::Deny(DenyReason::ExplicitInSessionPolicy);
    }
    if boundary == Some(Outcome::Deny) {
        return Decision::Deny(DenyReason::ExplicitInBoundary);
    }
    let same_account = access.resource_account.is_none_or(|account| account == principal.account());
    // What the caller's own side grants: root everything, others their identity policies,
    // narrowed by the session policy and the boundary.
    let own_side = if principal.is_root() {
        Ok(())
    } else if identity != Outcome::Allow {
        Err(DenyReason::NoIdentityPolicyAllows)
    } else if session.is_some_and(|outcome| outcome != Outcome::Allow) {
        Err(DenyReason::NoSessionPolicyAllows)
    } else if boundary.is_some_and(|outcome| outcome != Outcome::Allow) {
        Err(DenyReason::NoBoundaryAllows)
    } else {
        Ok(())
    };
    if same_account {
        match own_side {
            Ok(()) => Decision::Allow,
            // A resource policy naming the principal allows on its own within the account
            // (still narrowed by a session policy).
            Err(_) if resource == Outcome::Allow && session.is_some_and(|outcome| outcome != Outcome::Allow) => {
                Decision::Deny(DenyReason::NoSessionPolicyAllows)
            }
            Err(_) if resource == Outcome::Allow => Decision::Allow,
            Err(reason) => Decision::Deny(reason),
        }
    } else if resource != Outcome::Allow {
        Decision::Deny(DenyReason::NoResourcePolicyAllows)
    } else {
        match own_side {
            Ok(()) => Decision::Allow,
            Err(reason) => Decision::Deny(reason),
        }
    }
}

/// Whether the resource's policy allows another account, as a whole (its root principal), to
/// perform the access: how EventBridge delivers a rule's event to another account's bus when
/// the target has no role.
pub fn account_allowed(account: &str, access: &Access<'_>) -> bool {
    let arn = format!("arn:aws:iam::{account}:root");
    let request = Request {
        action: access.action,
        resource: access.resource,
        principal: Some(RequestPrincipal::Aws { account, arn: &arn, role_arn: None }),
        context: &access.context,
    };
    access.resource_policy.is_some_and(|policy| policy.evaluate(&request) == Outcome::Allow)
}

/// Whether an AWS service principal (`events.amazonaws.com`) may perform `access` on a
/// resource through its resource policy; `source_arn` and `source_account` fill
/// `aws:SourceArn` and `aws:SourceAccount`.
pub fn service_allowed(
    service: &str,
    access: &Access<'_>,
    source_arn: Option<&str>,
    source_account: Option<&str>,
) -> bool {
    let mut context = access.context.clone();
    if let Some(source_arn) = source_arn {
        context.insert("aws:sourcearn".to_owned(), vec![source_arn.to_owned()]);
    }
    if let Some(source_account) = source_account {
        context.insert("aws:sourceaccount".to_owned(), vec![source_account.to_owned()]);
    }
    let request = Request {
        action: access.action,
        resource: access.resource,
        principal: Some(RequestPrincipal::Service(service)),
        context: &context,
    };
    access.resource_policy.is_some_and(|policy| policy.evaluate(&request) == Outcome::Allow)
}
