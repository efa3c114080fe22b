//! Typed request bodies of the Lambda operations that carry one, as botocore's `lambda` model
//! names their members (PascalCase JSON).
//!
//! A body that is not a JSON object, or a member of the wrong JSON type, is Lambda's
//! `InvalidRequestContentException` ("Could not parse request body into json: …"); members the
//! model does not name are ignored, as Lambda ignores them. Required members are `Option`s
//! checked by [`required`], so a missing one gets the model's validation message rather than a
//! parse error; integers are `i64` checked by [`count`], so a negative one gets a parameter
//! error naming the member.

use crate::error::LambdaError;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::BTreeMap;
use wharf_api_common::ApiRequest;

/// The body of `request` as `T` (an empty body is `{}`).
pub fn parse<T: DeserializeOwned>(request: &ApiRequest) -> Result<T, LambdaError> {
    let body: &[u8] = if request.body.is_empty() { b"{}" } else { &request.body };
    serde_json::from_slice::<T>(body)
        .map_err(|err| LambdaError::invalid_request_content(format!("Could not parse request body into json: {err}")))
}

/// A required member's value, or the model's "must not be null" validation error.
pub fn required<T>(value: Option<T>, member: &str) -> Result<T, LambdaError> {
    value.ok_or_else(|| {
        LambdaError::validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(member)
        ))
    })
}

/// An integer member that must fit a count (0 ..= u32::MAX).
pub fn count(value: Option<i64>, member: &str) -> Result<Option<u32>, LambdaError> {
    value
        .map(|number| {
            u32::try_from(number)
                .map_err(|_| LambdaError::invalid_parameter(format!("{member} must be a non-negative integer")))
        })
        .transpose()
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_ascii_lowercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// `FunctionCode` (CreateFunction's `Code`) and UpdateFunctionCode's body members of code.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionCode {
    pub zip_file: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_key: Option<String>,
    pub s3_object_version: Option<String>,
    pub image_uri: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EphemeralStorage {
    pub size: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Environment {
    pub variables: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadLetterConfig {
    pub target_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoggingConfig {
    pub log_format: Option<String>,
    pub log_group: Option<String>,
    pub application_log_level: Option<String>,
    pub system_log_level: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TracingConfig {
    pub mode: Option<String>,
}

/// The configuration members CreateFunction and UpdateFunctionConfiguration share.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionSettings {
    pub runtime: Option<String>,
    pub handler: Option<String>,
    pub role: Option<String>,
    pub timeout: Option<i64>,
    pub memory_size: Option<i64>,
    pub ephemeral_storage: Option<EphemeralStorage>,
    pub environment: Option<Environment>,
    pub description: Option<String>,
    pub dead_letter_config: Option<DeadLetterConfig>,
    pub logging_config: Option<LoggingConfig>,
    pub tracing_config: Option<TracingConfig>,
}

/// The sizes of [`FunctionSettings`], checked: timeout, memory and ephemeral storage.
pub struct Sizes {
    pub timeout_seconds: Option<u32>,
    pub memory_mb: Option<u32>,
    pub ephemeral_storage_mb: Option<u32>,
}

impl FunctionSettings {
    /// The timeout, memory and ephemeral storage, each a count.
    pub fn sizes(&self) -> Result<Sizes, LambdaError> {
        Ok(Sizes {
            timeout_seconds: count(self.timeout, "Timeout")?,
            memory_mb: count(self.memory_size, "MemorySize")?,
            ephemeral_storage_mb: count(
                self.ephemeral_storage.as_ref().and_then(|storage| storage.size),
                "EphemeralStorage.Size",
            )?,
        })
    }
}

/// CreateFunction.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateFunction {
    pub function_name: Option<String>,
    #[serde(flatten)]
    pub settings: FunctionSettings,
    pub code: Option<FunctionCode>,
    #[serde(default)]
    pub publish: bool,
    pub package_type: Option<String>,
    #[serde(default)]
    pub architectures: Vec<String>,
    pub tags: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub layers: Vec<String>,
}

/// UpdateFunctionConfiguration.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateFunctionConfiguration {
    #[serde(flatten)]
    pub settings: FunctionSettings,
    pub layers: Option<Vec<String>>,
    pub revision_id: Option<String>,
}

/// UpdateFunctionCode.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateFunctionCode {
    #[serde(flatten)]
    pub code: FunctionCode,
    #[serde(default)]
    pub publish: bool,
    #[serde(default)]
    pub dry_run: bool,
    pub revision_id: Option<String>,
}

/// PublishVersion.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishVersion {
    pub description: Option<String>,
    pub code_sha256: Option<String>,
    pub revision_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoutingConfig {
    pub additional_version_weights: Option<BTreeMap<String, f64>>,
}

/// CreateAlias.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateAlias {
    pub name: Option<String>,
    pub function_version: Option<String>,
    pub description: Option<String>,
    pub routing_config: Option<RoutingConfig>,
}

/// UpdateAlias.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateAlias {
    pub function_version: Option<String>,
    pub description: Option<String>,
    pub routing_config: Option<RoutingConfig>,
    pub revision_id: Option<String>,
}

/// AddPermission.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddPermission {
    pub statement_id: Option<String>,
    pub action: Option<String>,
    pub principal: Option<String>,
    pub source_arn: Option<String>,
    pub source_account: Option<String>,
    #[serde(rename = "PrincipalOrgID")]
    pub principal_org_id: Option<String>,
    pub event_source_token: Option<String>,
    pub function_url_auth_type: Option<String>,
}

/// PutFunctionConcurrency.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutFunctionConcurrency {
    pub reserved_concurrent_executions: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OnDestination {
    pub destination: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DestinationConfig {
    pub on_success: Option<OnDestination>,
    pub on_failure: Option<OnDestination>,
}

/// Put/UpdateFunctionEventInvokeConfig.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventInvokeConfig {
    pub maximum_retry_attempts: Option<i64>,
    pub maximum_event_age_in_seconds: Option<i64>,
    pub destination_config: Option<DestinationConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Filter {
    pub pattern: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FilterCriteria {
    #[serde(default)]
    pub filters: Vec<Filter>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScalingConfig {
    pub maximum_concurrency: Option<i64>,
}

/// Create/UpdateEventSourceMapping (the members wharf's SQS mappings use).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventSourceMapping {
    pub event_source_arn: Option<String>,
    pub function_name: Option<String>,
    pub batch_size: Option<i64>,
    pub maximum_batching_window_in_seconds: Option<i64>,
    pub function_response_types: Option<Vec<String>>,
    pub scaling_config: Option<ScalingConfig>,
    pub filter_criteria: Option<FilterCriteria>,
    pub enabled: Option<bool>,
}

/// TagResource.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResource {
    pub tags: Option<BTreeMap<String, String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: &str) -> ApiRequest {
        ApiRequest {
            method: http::Method::POST,
            uri: http::Uri::from_static("/2015-03-31/functions"),
            headers: http::HeaderMap::new(),
            body: bytes::Bytes::from(body.to_owned()),
            peer: None,
        }
    }

    #[test]
    fn members_of_the_wrong_type_are_invalid_request_content() {
        let parsed =
            parse::<CreateFunction>(&request(r#"{"FunctionName": "f", "Timeout": 3, "Unknown": 1}"#)).expect("parses");
        assert_eq!((parsed.function_name.as_deref(), parsed.settings.timeout), (Some("f"), Some(3)));
        let wrong = parse::<CreateFunction>(&request(r#"{"FunctionName": 7}"#)).expect_err("a number name");
        assert_eq!(wrong.code, "InvalidRequestContentException");
        let list = parse::<CreateFunction>(&request("[1]")).expect_err("not an object");
        assert_eq!(list.code, "InvalidRequestContentException");
        let org = parse::<AddPermission>(&request(r#"{"PrincipalOrgID": "o-1"}"#)).expect("parses");
        assert_eq!(org.principal_org_id.as_deref(), Some("o-1"));
    }

    #[test]
    fn required_and_counts_give_the_model_messages() {
        let missing = required::<String>(None, "FunctionName").expect_err("missing");
        assert!(missing.message.contains("Value null at 'functionName'"), "{}", missing.message);
        assert_eq!(count(Some(-1), "Timeout").expect_err("negative").code, "InvalidParameterValueException");
        assert_eq!(count(Some(5), "Timeout").expect("five"), Some(5));
    }
}
