//! The policy language held to the IAM user guide: each case is a statement from the guide's
//! element and condition-operator pages and the decision the guide gives for it.

use super::*;
use crate::authorize::{decide, Access, Decision, DenyReason, PrincipalPolicies};
use crate::principal::Principal;
use std::sync::Arc;

fn policy(text: &str) -> Policy {
    text.parse().unwrap_or_else(|err| panic!("{text}: {err:?}"))
}

fn context(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(key, values)| (key.to_ascii_lowercase(), values.iter().map(|value| (*value).to_owned()).collect()))
        .collect()
}

fn outcome(document: &str, action: &str, resource: &str, keys: &[(&str, &[&str])]) -> Outcome {
    let context = context(keys);
    policy(document).evaluate(&Request { action, resource, principal: None, context: &context })
}

const QUEUE: &str = "arn:aws:sqs:us-east-1:111122223333:orders";

#[test]
fn actions_match_case_insensitively_with_wildcards() {
    let document = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["sqs:Receive*","SQS:deletemessage","logs:?utLogEvents"],"Resource":"*"}}"#;
    assert_eq!(outcome(document, "sqs:ReceiveMessage", QUEUE, &[]), Outcome::Allow);
    assert_eq!(outcome(document, "sqs:DeleteMessage", QUEUE, &[]), Outcome::Allow);
    assert_eq!(outcome(document, "logs:PutLogEvents", "*", &[]), Outcome::Allow);
    assert_eq!(outcome(document, "sqs:SendMessage", QUEUE, &[]), Outcome::NotApplicable);
}

#[test]
fn not_action_allows_everything_else() {
    let document = r#"{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#;
    assert_eq!(outcome(document, "sqs:SendMessage", QUEUE, &[]), Outcome::Allow);
    assert_eq!(outcome(document, "iam:CreateUser", "*", &[]), Outcome::NotApplicable);
}

#[test]
fn resources_match_case_sensitively_and_stars_span_colons() {
    let document =
        r#"{"Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"arn:aws:sqs:*:111122223333:ord?rs"}]}"#;
    assert_eq!(outcome(document, "sqs:SendMessage", QUEUE, &[]), Outcome::Allow);
    assert_eq!(
        outcome(document, "sqs:SendMessage", "arn:aws:sqs:us-east-1:111122223333:Orders", &[]),
        Outcome::NotApplicable
    );
    let spanning = r#"{"Statement":[{"Effect":"Allow","Action":"logs:*","Resource":"arn:aws:logs:*:*:*"}]}"#;
    assert_eq!(
        outcome(spanning, "logs:PutLogEvents", "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/f:log-stream:x", &[]),
        Outcome::Allow
    );
}

#[test]
fn not_resource_and_deny_statements() {
    let document = r#"{"Statement":[
        {"Effect":"Allow","Action":"sqs:*","Resource":"*"},
        {"Effect":"Deny","Action":"sqs:DeleteQueue","NotResource":"arn:aws:sqs:*:*:scratch-*"}]}"#;
    assert_eq!(outcome(document, "sqs:DeleteQueue", QUEUE, &[]), Outcome::Deny);
    assert_eq!(outcome(document, "sqs:DeleteQueue", "arn:aws:sqs:us-east-1:1:scratch-1", &[]), Outcome::Allow);
}

#[test]
fn condition_operators() {
    type Keys<'a> = &'a [(&'a str, &'a [&'a str])];
    let cases: &[(&str, Keys<'_>, Outcome)] = &[
        (r#"{"StringEquals":{"aws:username":"bob"}}"#, &[("aws:username", &["bob"])], Outcome::Allow),
        (r#"{"StringEquals":{"aws:username":"bob"}}"#, &[("aws:username", &["Bob"])], Outcome::NotApplicable),
        (r#"{"StringEqualsIgnoreCase":{"aws:username":"bob"}}"#, &[("aws:username", &["Bob"])], Outcome::Allow),
        (r#"{"StringLike":{"aws:username":"b*"}}"#, &[("aws:username", &["bob"])], Outcome::Allow),
        // A negated operator is true when no value matches, and when the key is absent.
        (r#"{"StringNotEquals":{"aws:username":["alice","carol"]}}"#, &[("aws:username", &["bob"])], Outcome::Allow),
        (
            r#"{"StringNotEquals":{"aws:username":["alice","bob"]}}"#,
            &[("aws:username", &["bob"])],
            Outcome::NotApplicable,
        ),
        (r#"{"StringNotEquals":{"aws:username":"alice"}}"#, &[], Outcome::Allow),
        // A positive operator is false when the key is absent, unless …IfExists.
        (r#"{"StringEquals":{"aws:username":"alice"}}"#, &[], Outcome::NotApplicable),
        (r#"{"StringEqualsIfExists":{"aws:username":"alice"}}"#, &[], Outcome::Allow),
        (r#"{"NumericLessThan":{"s3:max-keys":"10"}}"#, &[("s3:max-keys", &["9"])], Outcome::Allow),
        (r#"{"NumericLessThan":{"s3:max-keys":10}}"#, &[("s3:max-keys", &["10"])], Outcome::NotApplicable),
        (r#"{"NumericGreaterThanEquals":{"s3:max-keys":"10"}}"#, &[("s3:max-keys", &["10"])], Outcome::Allow),
        (
            r#"{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}"#,
            &[("aws:CurrentTime", &["2026-12-03T10:00:00Z"])],
            Outcome::Allow,
        ),
        (
            r#"{"DateGreaterThan":{"aws:CurrentTime":"2030-01-01"}}"#,
            &[("aws:CurrentTime", &["2026-12-03T10:00:00Z"])],
            Outcome::NotApplicable,
        ),
        (
            r#"{"DateGreaterThan":{"aws:EpochTime":"1700000000"}}"#,
            &[("aws:EpochTime", &["1800000000"])],
            Outcome::Allow,
        ),
        (r#"{"Bool":{"aws:SecureTransport":"false"}}"#, &[("aws:SecureTransport", &["false"])], Outcome::Allow),
        (r#"{"Bool":{"aws:SecureTransport":true}}"#, &[("aws:SecureTransport", &["false"])], Outcome::NotApplicable),
        (r#"{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#, &[("aws:SourceIp", &["203.0.113.9"])], Outcome::Allow),
        (
            r#"{"NotIpAddress":{"aws:SourceIp":["203.0.113.0/24","10.0.0.0/8"]}}"#,
            &[("aws:SourceIp", &["10.1.2.3"])],
            Outcome::NotApplicable,
        ),
        (r#"{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}"#, &[("aws:SourceIp", &["2001:db8::1"])], Outcome::Allow),
        (
            r#"{"ArnLike":{"aws:SourceArn":"arn:aws:events:*:111122223333:rule/*"}}"#,
            &[("aws:SourceArn", &["arn:aws:events:us-east-1:111122223333:rule/nightly"])],
            Outcome::Allow,
        ),
        (
            r#"{"ArnEquals":{"aws:SourceArn":"arn:aws:events:us-east-1:111122223333:rule/nightly"}}"#,
            &[("aws:SourceArn", &["arn:aws:events:us-east-1:111122223333:rule/other"])],
            Outcome::NotApplicable,
        ),
        (r#"{"ArnNotLike":{"aws:SourceArn":"arn:aws:events:*:*:rule/x"}}"#, &[], Outcome::Allow),
        (r#"{"Null":{"aws:TokenIssueTime":"true"}}"#, &[], Outcome::Allow),
        (r#"{"Null":{"aws:TokenIssueTime":"false"}}"#, &[], Outcome::NotApplicable),
        (r#"{"Null":{"aws:TokenIssueTime":"false"}}"#, &[("aws:TokenIssueTime", &["x"])], Outcome::Allow),
        // Condition keys are case-insensitive.
        (r#"{"StringEquals":{"AWS:UserName":"bob"}}"#, &[("aws:username", &["bob"])], Outcome::Allow),
        // Several keys are ANDed.
        (
            r#"{"StringEquals":{"aws:username":"bob","aws:PrincipalAccount":"1"}}"#,
            &[("aws:username", &["bob"])],
            Outcome::NotApplicable,
        ),
        // Multivalued keys.
        (r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}}"#, &[("aws:TagKeys", &["b", "z"])], Outcome::Allow),
        (
            r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}"#,
            &[("aws:TagKeys", &["b", "z"])],
            Outcome::NotApplicable,
        ),
        (r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}"#, &[("aws:TagKeys", &["b", "a"])], Outcome::Allow),
        (r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]}}"#, &[], Outcome::Allow),
        (r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["a"]}}"#, &[], Outcome::NotApplicable),
    ];
    for (condition, keys, expected) in cases {
        let document =
            format!(r#"{{"Statement":{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{condition}}}}}"#);
        assert_eq!(outcome(&document, "sqs:SendMessage", QUEUE, keys), *expected, "{condition} with {keys:?}");
    }
}

#[test]
fn policy_variables() {
    let document =
        r#"{"Statement":{"Effect":"Allow","Action":"sqs:*","Resource":"arn:aws:sqs:*:*:${aws:username}-*"}}"#;
    assert_eq!(
        outcome(document, "sqs:SendMessage", "arn:aws:sqs:us-east-1:1:bob-jobs", &[("aws:username", &["bob"])]),
        Outcome::Allow
    );
    assert_eq!(
        outcome(document, "sqs:SendMessage", "arn:aws:sqs:us-east-1:1:eve-jobs", &[("aws:username", &["bob"])]),
        Outcome::NotApplicable
    );
    // An unknown variable matches nothing.
    assert_eq!(outcome(document, "sqs:SendMessage", "arn:aws:sqs:us-east-1:1:bob-jobs", &[]), Outcome::NotApplicable);
    let literal = r#"{"Statement":{"Effect":"Allow","Action":"sqs:*","Resource":"arn:aws:sqs:*:*:a${*}b"}}"#;
    assert_eq!(outcome(literal, "sqs:SendMessage", "arn:aws:sqs:us-east-1:1:a*b", &[]), Outcome::Allow);
    let defaulted =
        r#"{"Statement":{"Effect":"Allow","Action":"sqs:*","Resource":"arn:aws:sqs:*:*:${aws:username, 'shared'}"}}"#;
    assert_eq!(outcome(defaulted, "sqs:SendMessage", "arn:aws:sqs:us-east-1:1:shared", &[]), Outcome::Allow);
}

#[test]
fn malformed_documents_are_refused_with_iam_messages() {
    for (document, message) in [
        ("not json", "Syntax errors in policy."),
        (r#"{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}"#, "Invalid effect"),
        (r#"{"Statement":[{"Action":"*","Resource":"*"}]}"#, "Missing required field Effect"),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"SendMessage","Resource":"*"}]}"#,
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"queue"}]}"#,
            "Resource queue must be in ARN format or \"*\".",
        ),
        (r#"{"Version":"2020-01-01","Statement":[]}"#, "The policy failed legacy parsing"),
    ] {
        assert_eq!(document.parse::<Policy>().expect_err(document).0, message, "{document}");
    }
    let identity = policy(r#"{"Statement":[{"Effect":"Allow","Action":"*"}]}"#);
    assert_eq!(
        identity.check_identity_policy().expect_err("no resource").0,
        "Policy statement must contain resources."
    );
}

fn user() -> Principal {
    Principal::User { account: "111122223333".into(), name: "bob".into(), path: "/".into(), id: "AIDAEXAMPLE".into() }
}

fn access<'a>(
    action: &'a str,
    resource: &'a str,
    resource_account: Option<&'a str>,
    resource_policy: Option<&'a Policy>,
) -> Access<'a> {
    Access { action, resource, resource_account, resource_policy, context: BTreeMap::new() }
}

fn with(identity: &[&str]) -> PrincipalPolicies {
    PrincipalPolicies { identity: identity.iter().map(|text| Arc::new(policy(text))).collect(), ..Default::default() }
}

const ALLOW_SQS: &str = r#"{"Statement":{"Effect":"Allow","Action":"sqs:*","Resource":"*"}}"#;
const DENY_DELETE: &str = r#"{"Statement":{"Effect":"Deny","Action":"sqs:DeleteMessage","Resource":"*"}}"#;

/// The evaluation logic's table: explicit deny beats allow beats implicit deny, within one
/// account and across two.
#[test]
fn evaluation_logic_decisions() {
    let bob = user();
    let same = Some("111122223333");
    let other = Some("444455556666");
    assert_eq!(
        decide(&bob, &with(&[]), &access("sqs:SendMessage", QUEUE, same, None), 0),
        Decision::Deny(DenyReason::NoIdentityPolicyAllows)
    );
    assert_eq!(decide(&bob, &with(&[ALLOW_SQS]), &access("sqs:SendMessage", QUEUE, same, None), 0), Decision::Allow);
    assert_eq!(
        decide(&bob, &with(&[ALLOW_SQS, DENY_DELETE]), &access("sqs:DeleteMessage", QUEUE, same, None), 0),
        Decision::Deny(DenyReason::ExplicitInIdentityPolicy)
    );
    // Within an account a resource policy naming the user is enough on its own.
    let queue_policy = policy(
        r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"sqs:SendMessage","Resource":"*"}}"#,
    );
    assert_eq!(
        decide(&bob, &with(&[]), &access("sqs:SendMessage", QUEUE, same, Some(&queue_policy)), 0),
        Decision::Allow
    );
    let deny_all = policy(r#"{"Statement":{"Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":"*"}}"#);
    assert_eq!(
        decide(&bob, &with(&[ALLOW_SQS]), &access("sqs:SendMessage", QUEUE, same, Some(&deny_all)), 0),
        Decision::Deny(DenyReason::ExplicitInResourcePolicy)
    );
    // Across accounts both sides must allow.
    let foreign_queue = "arn:aws:sqs:us-east-1:444455556666:shared";
    let grant_account = policy(
        r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sqs:SendMessage","Resource":"*"}}"#,
    );
    assert_eq!(
        decide(&bob, &with(&[ALLOW_SQS]), &access("sqs:SendMessage", foreign_queue, other, None), 0),
        Decision::Deny(DenyReason::NoResourcePolicyAllows)
    );
    assert_eq!(
        decide(&bob, &with(&[]), &access("sqs:SendMessage", foreign_queue, other, Some(&grant_account)), 0),
        Decision::Deny(DenyReason::NoIdentityPolicyAllows)
    );
    assert_eq!(
        decide(&bob, &with(&[ALLOW_SQS]), &access("sqs:SendMessage", foreign_queue, other, Some(&grant_account)), 0),
        Decision::Allow
    );
    // Root: everything in its account, but a resource policy's deny still applies, and across
    // accounts the resource policy must allow.
    let root = Principal::Root { account: "111122223333".into() };
    assert_eq!(decide(&root, &with(&[]), &access("sqs:DeleteQueue", QUEUE, same, None), 0), Decision::Allow);
    assert_eq!(
        decide(&root, &with(&[]), &access("sqs:SendMessage", QUEUE, same, Some(&deny_all)), 0),
        Decision::Deny(DenyReason::ExplicitInResourcePolicy)
    );
    assert_eq!(
        decide(&root, &with(&[]), &access("sqs:SendMessage", foreign_queue, other, None), 0),
        Decision::Deny(DenyReason::NoResourcePolicyAllows)
    );
    assert_eq!(
        decide(&root, &with(&[]), &access("sqs:SendMessage", foreign_queue, other, Some(&grant_account)), 0),
        Decision::Allow
    );
    // A session policy and a boundary only narrow.
    let mut narrowed = with(&[ALLOW_SQS]);
    narrowed.session =
        Some(Arc::new(policy(r#"{"Statement":{"Effect":"Allow","Action":"sqs:ReceiveMessage","Resource":"*"}}"#)));
    assert_eq!(decide(&bob, &narrowed, &access("sqs:ReceiveMessage", QUEUE, same, None), 0), Decision::Allow);
    assert_eq!(
        decide(&bob, &narrowed, &access("sqs:SendMessage", QUEUE, same, None), 0),
        Decision::Deny(DenyReason::NoSessionPolicyAllows)
    );
    let mut bounded = with(&[ALLOW_SQS]);
    bounded.boundary = Some(Arc::new(policy(r#"{"Statement":{"Effect":"Allow","Action":"sqs:Get*","Resource":"*"}}"#)));
    assert_eq!(
        decide(&bob, &bounded, &access("sqs:SendMessage", QUEUE, same, None), 0),
        Decision::Deny(DenyReason::NoBoundaryAllows)
    );
    assert_eq!(decide(&bob, &bounded, &access("sqs:GetQueueUrl", QUEUE, same, None), 0), Decision::Allow);
}

#[test]
fn the_denial_message_is_aws_s() {
    let message = crate::authorize::denial_message(
        &user(),
        &access("sqs:ReceiveMessage", QUEUE, None, None),
        DenyReason::NoIdentityPolicyAllows,
    );
    assert_eq!(
        message,
        "User: arn:aws:iam::111122223333:user/bob is not authorized to perform: sqs:ReceiveMessage on resource: arn:aws:sqs:us-east-1:111122223333:orders because no identity-based policy allows the sqs:ReceiveMessage action"
    );
}

#[test]
fn service_principals_and_source_arns() {
    let function_policy = policy(
        r#"{"Statement":{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:1:function:f","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:events:us-east-1:1:rule/nightly"}}}}"#,
    );
    let invoke = access("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:1:function:f", None, Some(&function_policy));
    assert!(crate::authorize::service_allowed(
        "events.amazonaws.com",
        &invoke,
        Some("arn:aws:events:us-east-1:1:rule/nightly"),
        None
    ));
    assert!(!crate::authorize::service_allowed(
        "events.amazonaws.com",
        &invoke,
        Some("arn:aws:events:us-east-1:1:rule/other"),
        None
    ));
    assert!(!crate::authorize::service_allowed(
        "sqs.amazonaws.com",
        &invoke,
        Some("arn:aws:events:us-east-1:1:rule/nightly"),
        None
    ));
}

proptest::proptest! {
    /// Matching never panics and `*` matches everything.
    #[test]
    fn wildcard_matching_is_total(pattern in ".{0,20}", text in ".{0,40}") {
        let _ = wildcard_match(&pattern, &text, true);
        proptest::prop_assert!(wildcard_match("*", &text, false));
        proptest::prop_assert!(wildcard_match(&text.replace(['*', '?'], ""), &text.replace(['*', '?'], ""), false));
    }

    /// Parsing arbitrary JSON never panics.
    #[test]
    fn parsing_is_total(text in "\\PC{0,200}") {
        let _ = text.parse::<Policy>();
    }
}
