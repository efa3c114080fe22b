//! The AWS Lambda API (REST-JSON, API version 2015-03-31 and its dated siblings) for wharf.
//!
//! Requests are told apart by method and path, as the botocore `lambda` model lays them out;
//! each path segment is percent-decoded before use (botocore encodes the `:` of ARNs and
//! qualifiers). Handlers decode the JSON body into its typed input ([`input`]), then into the
//! engine's domain types, call
//! `wharf_functions::Functions`, and render the output shape.
//!
//! # Wire
//! ```text
//! POST   /2015-03-31/functions                                CreateFunction (201)
//! GET    /2015-03-31/functions/                               ListFunctions
//! GET    /2015-03-31/functions/{name}                         GetFunction
//! DELETE /2015-03-31/functions/{name}?Qualifier=              DeleteFunction (204)
//! GET|PUT /2015-03-31/functions/{name}/configuration          Get/UpdateFunctionConfiguration
//! PUT    /2015-03-31/functions/{name}/code                    UpdateFunctionCode
//! POST   /2015-03-31/functions/{name}/invocations             Invoke (200, 202 Event, 204 DryRun)
//! POST|GET /2015-03-31/functions/{name}/versions              PublishVersion (201), ListVersionsByFunction
//! POST|GET /2015-03-31/functions/{name}/aliases[/{alias}]     aliases
//! POST|GET|DELETE /2015-03-31/functions/{name}/policy[/{sid}] AddPermission (201), GetPolicy, RemovePermission
//! PUT|DELETE /2017-10-31/functions/{name}/concurrency         Put/DeleteFunctionConcurrency
//! GET    /2019-09-30/functions/{name}/concurrency             GetFunctionConcurrency
//! PUT|GET|POST|DELETE /2019-09-25/functions/{name}/event-invoke-config[/list]
//! POST|GET|DELETE /2017-03-31/tags/{arn}                      TagResource, ListTags, UntagResource
//! GET    /2016-08-19/account-settings                         GetAccountSettings
//! ```
//!
//! # Layout
//! - [`LambdaApi`]: routing and handlers.
//! - [`input`]: the typed request bodies.
//! - [`error`]: the one place Lambda error codes are chosen.
//! - [`output`]: output shapes.

pub mod error;
pub mod input;
pub mod output;

use base64::Engine as _;
use bytes::Bytes;
use error::LambdaError;
use http::{HeaderName, HeaderValue, Method, StatusCode};
use input::count;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use wharf_api_common::pipeline::{self, Api, Call, Identity};
use wharf_api_common::{ApiRequest, ApiResponse, ErrorBody};
use wharf_functions::registry::CodeSource;
use wharf_functions::{AliasRow, EventInvokeConfigRow, PermissionRow};
use wharf_functions::{FunctionKey, FunctionRef, FunctionUpdate, Functions, InvokeRequest, NewFunction, Outcome};

/// The path prefixes Lambda uses; a request with one of them is Lambda's.
const PREFIXES: &[&str] =
    &["/2015-03-31/", "/2017-10-31/", "/2019-09-30/", "/2019-09-25/", "/2017-03-31/tags/", "/2016-08-19/"];

/// The Lambda API.
pub struct LambdaApi {
    functions: Arc<Functions>,
    /// Who callers are.
    identity: Identity,
    /// `http://host:port` of wharf, for `Code.Location` links.
    endpoint: String,
}

/// Who is asking, and where.
struct Caller {
    account: String,
    region: String,
}

type Answer = Result<ApiResponse, LambdaError>;

fn json_response(status: StatusCode, value: &Value) -> ApiResponse {
    ApiResponse {
        status,
        headers: vec![(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body: Bytes::from(value.to_string()),
    }
}

fn empty(status: StatusCode) -> ApiResponse {
    ApiResponse { status, headers: Vec::new(), body: Bytes::new() }
}

fn query(request: &ApiRequest) -> BTreeMap<String, String> {
    form_urlencoded::parse(request.uri.query().unwrap_or("").as_bytes()).into_owned().collect()
}

fn query_all(request: &ApiRequest, name: &str) -> Vec<String> {
    form_urlencoded::parse(request.uri.query().unwrap_or("").as_bytes())
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .collect()
}

fn decode_segment(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

fn parse_ref(text: &str) -> Result<FunctionRef, LambdaError> {
    text.parse::<FunctionRef>().map_err(|_| {
        LambdaError::validation(format!(
            "1 validation error detected: Value '{text}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
        ))
    })
}

fn code_source(code: Option<&input::FunctionCode>) -> Result<CodeSource, LambdaError> {
    let code = input::required(code, "Code")?;
    if let Some(zip) = &code.zip_file {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(zip)
            .map_err(|_| LambdaError::invalid_parameter("ZipFile must be base64"))?;
        return Ok(CodeSource::Zip(bytes));
    }
    if code.s3_bucket.is_some() || code.image_uri.is_some() {
        return Err(LambdaError::invalid_parameter(
            "wharf takes function code as ZipFile (S3 and container images are not supported)",
        ));
    }
    Err(LambdaError::invalid_parameter("Please provide a source for function code."))
}

/// Every Lambda operation wharf answers, with the path parameters it names: the routing
/// table of the REST-JSON protocol (method and path, as in the service model's `http` traits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// CreateFunction.
    CreateFunction,
    /// ListFunctions.
    ListFunctions,
    /// GetFunction.
    GetFunction(String),
    /// DeleteFunction.
    DeleteFunction(String),
    /// GetFunctionConfiguration.
    GetFunctionConfiguration(String),
    /// UpdateFunctionConfiguration.
    UpdateFunctionConfiguration(String),
    /// UpdateFunctionCode.
    UpdateFunctionCode(String),
    /// Invoke.
    Invoke(String),
    /// PublishVersion.
    PublishVersion(String),
    /// ListVersionsByFunction.
    ListVersionsByFunction(String),
    /// CreateAlias.
    CreateAlias(String),
    /// ListAliases.
    ListAliases(String),
    /// GetAlias.
    GetAlias(String, String),
    /// UpdateAlias.
    UpdateAlias(String, String),
    /// DeleteAlias.
    DeleteAlias(String, String),
    /// AddPermission.
    AddPermission(String),
    /// GetPolicy.
    GetPolicy(String),
    /// RemovePermission.
    RemovePermission(String, String),
    /// PutFunctionConcurrency.
    PutFunctionConcurrency(String),
    /// DeleteFunctionConcurrency.
    DeleteFunctionConcurrency(String),
    /// GetFunctionConcurrency.
    GetFunctionConcurrency(String),
    /// PutFunctionEventInvokeConfig.
    PutFunctionEventInvokeConfig(String),
    /// UpdateFunctionEventInvokeConfig.
    UpdateFunctionEventInvokeConfig(String),
    /// GetFunctionEventInvokeConfig.
    GetFunctionEventInvokeConfig(String),
    /// DeleteFunctionEventInvokeConfig.
    DeleteFunctionEventInvokeConfig(String),
    /// ListFunctionEventInvokeConfigs.
    ListFunctionEventInvokeConfigs(String),
    /// CreateEventSourceMapping.
    CreateEventSourceMapping,
    /// ListEventSourceMappings.
    ListEventSourceMappings,
    /// GetEventSourceMapping.
    GetEventSourceMapping(String),
    /// UpdateEventSourceMapping.
    UpdateEventSourceMapping(String),
    /// DeleteEventSourceMapping.
    DeleteEventSourceMapping(String),
    /// ListTags.
    ListTags(String),
    /// TagResource.
    TagResource(String),
    /// UntagResource.
    UntagResource(String),
    /// GetAccountSettings.
    GetAccountSettings,
}

impl Route {
    /// The function the route names (a name, partial or full ARN, maybe qualified).
    fn function(&self) -> Option<&str> {
        match self {
            Route::GetFunction(name)
            | Route::DeleteFunction(name)
            | Route::GetFunctionConfiguration(name)
            | Route::UpdateFunctionConfiguration(name)
            | Route::UpdateFunctionCode(name)
            | Route::Invoke(name)
            | Route::PublishVersion(name)
            | Route::ListVersionsByFunction(name)
            | Route::CreateAlias(name)
            | Route::ListAliases(name)
            | Route::GetAlias(name, _)
            | Route::UpdateAlias(name, _)
            | Route::DeleteAlias(name, _)
            | Route::AddPermission(name)
            | Route::GetPolicy(name)
            | Route::RemovePermission(name, _)
            | Route::PutFunctionConcurrency(name)
            | Route::DeleteFunctionConcurrency(name)
            | Route::GetFunctionConcurrency(name)
            | Route::PutFunctionEventInvokeConfig(name)
            | Route::UpdateFunctionEventInvokeConfig(name)
            | Route::GetFunctionEventInvokeConfig(name)
            | Route::DeleteFunctionEventInvokeConfig(name)
            | Route::ListFunctionEventInvokeConfigs(name)
            | Route::ListTags(name)
            | Route::TagResource(name)
            | Route::UntagResource(name) => Some(name),
            Route::CreateFunction
            | Route::ListFunctions
            | Route::CreateEventSourceMapping
            | Route::ListEventSourceMappings
            | Route::GetEventSourceMapping(_)
            | Route::UpdateEventSourceMapping(_)
            | Route::DeleteEventSourceMapping(_)
            | Route::GetAccountSettings => None,
        }
    }

    /// The operation a method and path name (path segments percent-decoded), if any.
    fn of(method: &Method, path: &str) -> Option<Route> {
        let segments: Vec<String> = path.trim_start_matches('/').split('/').map(decode_segment).collect();
        let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
        let own = |text: &str| text.to_owned();
        Some(match (parts.as_slice(), method.clone()) {
            (["2015-03-31", "functions"] | ["2015-03-31", "functions", ""], Method::POST) => Route::CreateFunction,
            (["2015-03-31", "functions"] | ["2015-03-31", "functions", ""], Method::GET) => Route::ListFunctions,
            (["2015-03-31", "functions", name], Method::GET) => Route::GetFunction(own(name)),
            (["2015-03-31", "functions", name], Method::DELETE) => Route::DeleteFunction(own(name)),
            (["2015-03-31", "functions", name, "configuration"], Method::GET) => {
                Route::GetFunctionConfiguration(own(name))
            }
            (["2015-03-31", "functions", name, "configuration"], Method::PUT) => {
                Route::UpdateFunctionConfiguration(own(name))
            }
            (["2015-03-31", "functions", name, "code"], Method::PUT) => Route::UpdateFunctionCode(own(name)),
            (["2015-03-31", "functions", name, "invocations"], Method::POST) => Route::Invoke(own(name)),
            (["2015-03-31", "functions", name, "versions"], Method::POST) => Route::PublishVersion(own(name)),
            (["2015-03-31", "functions", name, "versions"], Method::GET) => Route::ListVersionsByFunction(own(name)),
            (["2015-03-31", "functions", name, "aliases"], Method::POST) => Route::CreateAlias(own(name)),
            (["2015-03-31", "functions", name, "aliases"], Method::GET) => Route::ListAliases(own(name)),
            (["2015-03-31", "functions", name, "aliases", alias], Method::GET) => {
                Route::GetAlias(own(name), own(alias))
            }
            (["2015-03-31", "functions", name, "aliases", alias], Method::PUT) => {
                Route::UpdateAlias(own(name), own(alias))
            }
            (["2015-03-31", "functions", name, "aliases", alias], Method::DELETE) => {
                Route::DeleteAlias(own(name), own(alias))
            }
            (["2015-03-31", "functions", name, "policy"], Method::POST) => Route::AddPermission(own(name)),
            (["2015-03-31", "functions", name, "policy"], Method::GET) => Route::GetPolicy(own(name)),
            (["2015-03-31", "functions", name, "policy", statement], Method::DELETE) => {
                Route::RemovePermission(own(name), own(statement))
            }
            (["2017-10-31", "functions", name, "concurrency"], Method::PUT) => Route::PutFunctionConcurrency(own(name)),
            (["2017-10-31", "functions", name, "concurrency"], Method::DELETE) => {
                Route::DeleteFunctionConcurrency(own(name))
            }
            (["2019-09-30", "functions", name, "concurrency"], Method::GET) => Route::GetFunctionConcurrency(own(name)),
            (["2019-09-25", "functions", name, "event-invoke-config"], Method::PUT) => {
                Route::PutFunctionEventInvokeConfig(own(name))
            }
            (["2019-09-25", "functions", name, "event-invoke-config"], Method::POST) => {
                Route::UpdateFunctionEventInvokeConfig(own(name))
            }
            (["2019-09-25", "functions", name, "event-invoke-config"], Method::GET) => {
                Route::GetFunctionEventInvokeConfig(own(name))
            }
            (["2019-09-25", "functions", name, "event-invoke-config"], Method::DELETE) => {
                Route::DeleteFunctionEventInvokeConfig(own(name))
            }
            (["2019-09-25", "functions", name, "event-invoke-config", "list"], Method::GET) => {
                Route::ListFunctionEventInvokeConfigs(own(name))
            }
            (["2015-03-31", "event-source-mappings"] | ["2015-03-31", "event-source-mappings", ""], Method::POST) => {
                Route::CreateEventSourceMapping
            }
            (["2015-03-31", "event-source-mappings"] | ["2015-03-31", "event-source-mappings", ""], Method::GET) => {
                Route::ListEventSourceMappings
            }
            (["2015-03-31", "event-source-mappings", uuid], Method::GET) => Route::GetEventSourceMapping(own(uuid)),
            (["2015-03-31", "event-source-mappings", uuid], Method::PUT) => Route::UpdateEventSourceMapping(own(uuid)),
            (["2015-03-31", "event-source-mappings", uuid], Method::DELETE) => {
                Route::DeleteEventSourceMapping(own(uuid))
            }
            (["2017-03-31", "tags", arn], Method::GET) => Route::ListTags(own(arn)),
            (["2017-03-31", "tags", arn], Method::POST) => Route::TagResource(own(arn)),
            (["2017-03-31", "tags", arn], Method::DELETE) => Route::UntagResource(own(arn)),
            (["2016-08-19", "account-settings"], Method::GET) => Route::GetAccountSettings,
            _ => return None,
        })
    }

    /// The operation's AWS name.
    fn name(&self) -> &'static str {
        match self {
            Route::CreateFunction => "CreateFunction",
            Route::ListFunctions => "ListFunctions",
            Route::GetFunction(_) => "GetFunction",
            Route::DeleteFunction(_) => "DeleteFunction",
            Route::GetFunctionConfiguration(_) => "GetFunctionConfiguration",
            Route::UpdateFunctionConfiguration(_) => "UpdateFunctionConfiguration",
            Route::UpdateFunctionCode(_) => "UpdateFunctionCode",
            Route::Invoke(_) => "Invoke",
            Route::PublishVersion(_) => "PublishVersion",
            Route::ListVersionsByFunction(_) => "ListVersionsByFunction",
            Route::CreateAlias(_) => "CreateAlias",
            Route::ListAliases(_) => "ListAliases",
            Route::GetAlias(..) => "GetAlias",
            Route::UpdateAlias(..) => "UpdateAlias",
            Route::DeleteAlias(..) => "DeleteAlias",
            Route::AddPermission(_) => "AddPermission",
            Route::GetPolicy(_) => "GetPolicy",
            Route::RemovePermission(..) => "RemovePermission",
            Route::PutFunctionConcurrency(_) => "PutFunctionConcurrency",
            Route::DeleteFunctionConcurrency(_) => "DeleteFunctionConcurrency",
            Route::GetFunctionConcurrency(_) => "GetFunctionConcurrency",
            Route::PutFunctionEventInvokeConfig(_) => "PutFunctionEventInvokeConfig",
            Route::UpdateFunctionEventInvokeConfig(_) => "UpdateFunctionEventInvokeConfig",
            Route::GetFunctionEventInvokeConfig(_) => "GetFunctionEventInvokeConfig",
            Route::DeleteFunctionEventInvokeConfig(_) => "DeleteFunctionEventInvokeConfig",
            Route::ListFunctionEventInvokeConfigs(_) => "ListFunctionEventInvokeConfigs",
            Route::CreateEventSourceMapping => "CreateEventSourceMapping",
            Route::ListEventSourceMappings => "ListEventSourceMappings",
            Route::GetEventSourceMapping(_) => "GetEventSourceMapping",
            Route::UpdateEventSourceMapping(_) => "UpdateEventSourceMapping",
            Route::DeleteEventSourceMapping(_) => "DeleteEventSourceMapping",
            Route::ListTags(_) => "ListTags",
            Route::TagResource(_) => "TagResource",
            Route::UntagResource(_) => "UntagResource",
            Route::GetAccountSettings => "GetAccountSettings",
        }
    }
}

impl LambdaApi {
    /// The API over `functions`, its callers told apart by `identity`.
    pub fn new(functions: Arc<Functions>, identity: Identity, endpoint: String) -> Self {
        LambdaApi { functions, identity, endpoint }
    }

    /// Whether `request` is a Lambda request.
    pub fn claims(request: &ApiRequest) -> bool {
        let path = request.uri.path();
        PREFIXES.iter().any(|prefix| path.starts_with(prefix)) || path == "/2015-03-31/functions"
    }

    /// Answers a Lambda request.
    pub async fn handle(&self, request: ApiRequest) -> ApiResponse {
        pipeline::run(&self.identity, self, request).await
    }

    async fn dispatch(&self, caller: &Caller, request: &ApiRequest, route: Route) -> Answer {
        match route {
            Route::CreateFunction => self.create_function(caller, request).await,
            Route::ListFunctions => self.list_functions(caller, request),
            Route::GetFunction(name) => self.get_function(caller, request, &name),
            Route::DeleteFunction(name) => self.delete_function(caller, request, &name).await,
            Route::GetFunctionConfiguration(name) => self.get_configuration(caller, request, &name),
            Route::UpdateFunctionConfiguration(name) => self.update_configuration(caller, request, &name).await,
            Route::UpdateFunctionCode(name) => self.update_code(caller, request, &name).await,
            Route::Invoke(name) => self.invoke(caller, request, &name).await,
            Route::PublishVersion(name) => self.publish_version(caller, request, &name).await,
            Route::ListVersionsByFunction(name) => self.list_versions(caller, request, &name),
            Route::CreateAlias(name) => self.create_alias(caller, request, &name).await,
            Route::ListAliases(name) => self.list_aliases(caller, request, &name),
            Route::GetAlias(name, alias) => self.get_alias(caller, &name, &alias),
            Route::UpdateAlias(name, alias) => self.update_alias(caller, request, &name, &alias).await,
            Route::DeleteAlias(name, alias) => {
                let key = self.key(caller, &name)?;
                self.functions.resolve(&key, None)?;
                self.functions.delete_alias(&key, &alias).await?;
                Ok(empty(StatusCode::NO_CONTENT))
            }
            Route::AddPermission(name) => self.add_permission(caller, request, &name).await,
            Route::GetPolicy(name) => self.get_policy(caller, request, &name),
            Route::RemovePermission(name, statement) => {
                let key = self.key(caller, &name)?;
                let qualifier = query(request).get("Qualifier").cloned();
                self.functions.remove_permission(&key, &statement, qualifier.as_deref()).await?;
                Ok(empty(StatusCode::NO_CONTENT))
            }
            Route::PutFunctionConcurrency(name) => {
                let key = self.key(caller, &name)?;
                let body: input::PutFunctionConcurrency = input::parse(request)?;
                let reserved = count(body.reserved_concurrent_executions, "ReservedConcurrentExecutions")?;
                let reserved = input::required(reserved, "ReservedConcurrentExecutions")?;
                let reserved = self.functions.put_concurrency(&key, reserved).await?;
                Ok(json_response(StatusCode::OK, &json!({ "ReservedConcurrentExecutions": reserved })))
            }
            Route::DeleteFunctionConcurrency(name) => {
                let key = self.key(caller, &name)?;
                self.functions.delete_concurrency(&key).await?;
                Ok(empty(StatusCode::NO_CONTENT))
            }
            Route::GetFunctionConcurrency(name) => {
                let key = self.key(caller, &name)?;
                let row = self.functions.function(&key).ok_or_else(|| not_found(&key))?;
                let body = match row.reserved_concurrency {
                    Some(reserved) => json!({ "ReservedConcurrentExecutions": reserved }),
                    None => json!({}),
                };
                Ok(json_response(StatusCode::OK, &body))
            }
            Route::PutFunctionEventInvokeConfig(name)
            | Route::UpdateFunctionEventInvokeConfig(name)
            | Route::GetFunctionEventInvokeConfig(name)
            | Route::DeleteFunctionEventInvokeConfig(name) => {
                self.event_invoke_config(caller, request, &name, request.method.clone()).await
            }
            Route::ListFunctionEventInvokeConfigs(name) => {
                let key = self.key(caller, &name)?;
                let row = self.functions.function(&key).ok_or_else(|| not_found(&key))?;
                let configs: Vec<Value> = row
                    .event_invoke_configs
                    .iter()
                    .map(|(qualifier, config)| output::event_invoke_config(&key, qualifier, config))
                    .collect();
                Ok(json_response(StatusCode::OK, &json!({ "FunctionEventInvokeConfigs": configs })))
            }
            Route::CreateEventSourceMapping => self.create_mapping(caller, request).await,
            Route::ListEventSourceMappings => self.list_mappings(caller, request),
            Route::GetEventSourceMapping(uuid) => {
                let row = self.functions.mapping(&uuid)?;
                Ok(json_response(StatusCode::OK, &output::mapping(&row, None)))
            }
            Route::UpdateEventSourceMapping(uuid) => {
                let body: input::EventSourceMapping = input::parse(request)?;
                let change = mapping_change(&body)?;
                let row = self.functions.update_mapping(&uuid, change).await?;
                Ok(json_response(StatusCode::ACCEPTED, &output::mapping(&row, Some("Updating"))))
            }
            Route::DeleteEventSourceMapping(uuid) => {
                let row = self.functions.delete_mapping(&uuid).await?;
                Ok(json_response(StatusCode::ACCEPTED, &output::mapping(&row, Some("Deleting"))))
            }
            Route::ListTags(arn) | Route::TagResource(arn) | Route::UntagResource(arn) => {
                self.tags(request, &arn, request.method.clone()).await
            }
            Route::GetAccountSettings => {
                let limit = self.functions.config().account_concurrency;
                Ok(json_response(
                    StatusCode::OK,
                    &json!({
                        "AccountLimit": {
                            "TotalCodeSize": 80_530_636_800u64,
                            "CodeSizeUnzipped": 262_144_000u64,
                            "CodeSizeZipped": 52_428_800u64,
                            "ConcurrentExecutions": limit,
                            "UnreservedConcurrentExecutions": limit,
                        },
                        "AccountUsage": { "TotalCodeSize": 0, "FunctionCount": self.functions.list(&caller.account, &caller.region).len() },
                    }),
                ))
            }
        }
    }

    fn key(&self, caller: &Caller, name: &str) -> Result<FunctionKey, LambdaError> {
        let reference = parse_ref(name)?;
        Ok(self.functions.key_of(&caller.account, &caller.region, &reference))
    }

    /// With auth enforced, a role Lambda cannot assume is refused as Lambda refuses it.
    fn check_role(&self, role: &str) -> Result<(), LambdaError> {
        if self.identity.mode() == pipeline::AuthMode::Enforce && self.functions.lambda_may_assume(role) != Some(true) {
            return Err(LambdaError::invalid_parameter(
                "The role defined for the function cannot be assumed by Lambda.",
            ));
        }
        Ok(())
    }

    async fn create_function(&self, caller: &Caller, request: &ApiRequest) -> Answer {
        let mut body: input::CreateFunction = input::parse(request)?;
        let name_text = input::required(body.function_name, "FunctionName")?;
        let reference = parse_ref(&name_text)?;
        if reference.qualifier.is_some() {
            return Err(LambdaError::invalid_parameter("FunctionName cannot be qualified in CreateFunction"));
        }
        let publish = body.publish;
        let image = body.package_type.as_deref() == Some("Image");
        let role = input::required(body.settings.role.take(), "Role")?;
        let sizes = body.settings.sizes()?;
        let settings = body.settings;
        let logging = settings.logging_config.unwrap_or_default();
        let new = NewFunction {
            name: reference.name.clone(),
            runtime: settings.runtime.unwrap_or_default(),
            handler: settings.handler.unwrap_or_default(),
            role,
            timeout_seconds: sizes.timeout_seconds,
            memory_mb: sizes.memory_mb,
            ephemeral_storage_mb: sizes.ephemeral_storage_mb,
            environment: settings.environment.and_then(|environment| environment.variables).unwrap_or_default(),
            description: settings.description.unwrap_or_default(),
            code: code_source(body.code.as_ref())?,
            publish,
            architectures: body.architectures,
            tags: body.tags.unwrap_or_default(),
            dead_letter_target: settings.dead_letter_config.and_then(|config| config.target_arn),
            log_format: logging.log_format,
            log_group: logging.log_group,
            application_log_level: logging.application_log_level,
            system_log_level: logging.system_log_level,
            tracing_mode: settings.tracing_config.and_then(|config| config.mode),
            layers: body.layers,
        };
        self.check_role(&new.role)?;
        if image {
            return Err(LambdaError::invalid_parameter("wharf does not run container image functions"));
        }
        let row = self.functions.create(&caller.account, &caller.region, new).await?;
        let key = FunctionKey { account: row.account.clone(), region: row.region.clone(), name: row.name.clone() };
        let version = row.versions.last().filter(|_| publish).unwrap_or(&row.latest);
        Ok(json_response(StatusCode::CREATED, &output::configuration(&key, version)))
    }

    fn list_functions(&self, caller: &Caller, request: &ApiRequest) -> Answer {
        let params = query(request);
        let max_items = params
            .get("MaxItems")
            .map(|text| text.parse::<usize>())
            .transpose()
            .map_err(|_| LambdaError::invalid_parameter("MaxItems must be a number"))?;
        let max_items = max_items.unwrap_or(50).clamp(1, 10_000);
        let all_versions = params.get("FunctionVersion").map(String::as_str) == Some("ALL");
        let mut configurations = Vec::new();
        for row in self.functions.list(&caller.account, &caller.region) {
            let key = FunctionKey { account: row.account.clone(), region: row.region.clone(), name: row.name.clone() };
            configurations.push((format!("{}:$LATEST", row.name), output::configuration(&key, &row.latest)));
            if all_versions {
                for version in &row.versions {
                    configurations.push((
                        format!("{}:{:010}", row.name, version.version.parse::<u64>().unwrap_or(0)),
                        output::configuration(&key, version),
                    ));
                }
            }
        }
        page(configurations, params.get("Marker"), max_items, "Functions")
    }

    fn get_function(&self, caller: &Caller, request: &ApiRequest, name: &str) -> Answer {
        let reference = parse_ref(name)?;
        let qualifier = query(request).get("Qualifier").cloned();
        let resolved = self.functions.resolve_ref(&caller.account, &caller.region, &reference, qualifier.as_deref())?;
        let row = self.functions.function(&resolved.key).ok_or_else(|| not_found(&resolved.key))?;
        let mut out = json!({
            "Configuration": output::configuration(&resolved.key, &resolved.version),
            "Code": {
                "RepositoryType": "S3",
                "Location": format!("{}/_wharf/code/{}.zip", self.endpoint, resolved.version.code_id),
            },
        });
        if !row.tags.is_empty() {
            out["Tags"] = json!(row.tags);
        }
        if let Some(reserved) = row.reserved_concurrency {
            out["Concurrency"] = json!({ "ReservedConcurrentExecutions": reserved });
        }
        Ok(json_response(StatusCode::OK, &out))
    }

    fn get_configuration(&self, caller: &Caller, request: &ApiRequest, name: &str) -> Answer {
        let reference = parse_ref(name)?;
        let qualifier = query(request).get("Qualifier").cloned();
        let resolved = self.functions.resolve_ref(&caller.account, &caller.region, &reference, qualifier.as_deref())?;
        Ok(json_response(StatusCode::OK, &output::configuration(&resolved.key, &resolved.version)))
    }

    async fn delete_function(&self, caller: &Caller, request: &ApiRequest, name: &str) -> Answer {
        let reference = parse_ref(name)?;
        let qualifier = wharf_functions::registry::merge_qualifier(
            &reference,
            query(request).get("Qualifier").map(String::as_str),
        )?;
        let key = self.functions.key_of(&caller.account, &caller.region, &reference);
        self.functions.delete(&key, qualifier.as_deref()).await?;
        Ok(empty(StatusCode::NO_CONTENT))
    }

    async fn update_configuration(&self, caller: &Caller, request: &ApiRequest, name: &str) -> Answer {
        let key = self.key(caller, name)?;
        let body: input::UpdateFunctionConfiguration = input::parse(request)?;
        if let Some(role) = &body.settings.role {
            self.check_role(role)?;
        }
        let sizes = body.settings.sizes()?;
        let settings = body.settings;
        let logging = settings.logging_config.unwrap_or_default();
        let update = FunctionUpdate {
            runtime: settings.runtime,
            handler: settings.handler,
            role: settings.role,
            timeout_seconds: sizes.timeout_seconds,
            memory_mb: sizes.memory_mb,
            ephemeral_storage_mb: sizes.ephemeral_storage_mb,
            environment: settings.environment.map(|environment| environment.variables.unwrap_or_default()),
            description: settings.description,
            // `DeadLetterConfig: {}` or an empty `TargetArn` removes the dead-letter queue.
            dead_letter_target: settings
                .dead_letter_config
                .map(|config| config.target_arn.filter(|arn| !arn.is_empty())),
            log_format: logging.log_format,
            log_group: logging.log_group,
            application_log_level: logging.application_log_level,
            system_log_level: logging.system_log_level,
            tracing_mode: settings.tracing_config.and_then(|config| config.mode),
            layers: body.layers,
            revision_id: body.revision_id,
        };
        let row = self.functions.update_configuration(&key, update).await?;
        Ok(json_response(StatusCode::OK, &output::configuration(&key, &row.latest)))
    }

    async fn update_code(&self, caller: &Caller, request: &ApiRequest, name: &str) -> Answer {
        let key = self.key(caller, name)?;
        let body: input::UpdateFunctionCode = input::parse(request)?;
        let code = code_source(Some(&body.code))?;
        let publish = body.publish;
        if body.dry_run {
            let resolved = self.functions.resolve(&key, None)?;
            return Ok(json_response(StatusCode::OK, &output::configuration(&key, &resolved.version)));
        }
        let row = self.functions.update_code(&key, code, publish, body.revision_id).await?;
        let version = if publish { row.versions.last().unwrap_or(&row.latest) } else { &row.latest };
        Ok(json_response(StatusCode::OK, &output::configuration(&key, version)))
    }

    async fn invoke(&self, caller: &Caller, request: &ApiRequest, name: &str) -> Answer {
        let reference = parse_ref(name)?;
        let invocation_type = request.header("x-amz-invocation-type").unwrap_or("RequestResponse");
        let log_type = request.header("x-amz-log-type").unwrap_or("None");
        if !matches!(log_type, "None" | "Tail") {
            return Err(LambdaError::validation(format!(
                "1 validation error detected: Value '{log_type}' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [Tail, None]"
            )));
        }
        let client_context = match request.header("x-amz-client-context") {
            Some(encoded) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .ok_or_else(|| {
                        LambdaError::invalid_parameter("Client context must be a valid Base64-encoded JSON object.")
                    })?,
            ),
            None => None,
        };
        let payload = if request.body.is_empty() { Bytes::from_static(b"{}") } else { request.body.clone() };
        let invoke = InvokeRequest {
            account: caller.account.clone(),
            region: caller.region.clone(),
            function: reference,
            qualifier: query(request).get("Qualifier").cloned(),
            payload,
            client_context,
            want_tail: log_type == "Tail",
        };
        let limit = if invocation_type == "Event" {
            wharf_functions::invoke::ASYNC_PAYLOAD_LIMIT
        } else {
            wharf_functions::invoke::SYNC_PAYLOAD_LIMIT
        };
        if invoke.payload.len() > limit {
            return Err(LambdaError::request_too_large(format!(
                "Request must be smaller than {limit} bytes for the {} operation",
                if invocation_type == "Event" { "InvokeAsync" } else { "InvokeFunction" }
            )));
        }
        if let Err(err) = serde_json::from_slice::<serde::de::IgnoredAny>(&invoke.payload) {
            return Err(LambdaError::invalid_request_content(format!(
                "Could not parse request body into json: Could not parse payload into json: {err}"
            )));
        }
        match invocation_type {
            "RequestResponse" => {
                let result = self.functions.invoke(invoke).await?;
                let mut headers = vec![(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"))];
                if let Ok(value) = HeaderValue::from_str(&result.request_id) {
                    headers.push((HeaderName::from_static("x-amzn-requestid"), value));
                }
                if let Ok(value) = HeaderValue::from_str(&result.executed_version) {
                    headers.push((HeaderName::from_static("x-amz-executed-version"), value));
                }
                if let Some(error) = result.function_error() {
                    headers.push((HeaderName::from_static("x-amz-function-error"), HeaderValue::from_static(error)));
                }
                if let Some(tail) = &result.log_tail {
                    let encoded = base64::engine::general_purpose::STANDARD.encode(tail.as_bytes());
                    if let Ok(value) = HeaderValue::from_str(&encoded) {
                        headers.push((HeaderName::from_static("x-amz-log-result"), value));
                    }
                }
                let body = match &result.outcome {
                    Outcome::Response(payload) => payload.clone(),
                    Outcome::Error { body, .. } => body.clone(),
                };
                Ok(ApiResponse { status: StatusCode::OK, headers, body })
            }
            "Event" => {
                let (request_id, _) = self.functions.invoke_async(invoke).await?;
                let mut response = empty(StatusCode::ACCEPTED);
                if let Ok(value) = HeaderValue::from_str(&request_id) {
                    response.headers.push((HeaderName::from_static("x-amzn-requestid"), value));
                }
                Ok(response)
            }
            "DryRun" => {
                self.functions.dry_run(&invoke)?;
                Ok(empty(StatusCode::NO_CONTENT))
            }
            other => Err(LambdaError::validation(format!(
                "1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
            ))),
        }
    }

    async fn publish_version(&self, caller: &Caller, request: &ApiRequest, name: &str) -> Answer {
        let key = self.key(caller, name)?;
        let body: input::PublishVersion = input::parse(request)?;
        let version =
            self.functions.publish_version(&key, body.description, body.code_sha256, body.revision_id).await?;
        Ok(json_response(StatusCode::CREATED, &output::configuration(&key, &version)))
    }

    fn list_versions(&self, caller: &Caller, request: &ApiRequest, name: &str) -> Answer {
        let key = self.key(caller, name)?;
        let row = self.functions.function(&key).ok_or_else(|| not_found(&key))?;
        let params = query(request);
        let max_items =
            params.get("MaxItems").and_then(|text| text.parse::<usize>().ok()).unwrap_or(50).clamp(1, 10_000);
        let mut items = vec![("0000000000".to_owned(), output::configuration(&key, &row.latest))];
        for version in &row.versions {
            items.push((
                format!("{:010}", version.version.parse::<u64>().unwrap_or(0)),
                output::configuration(&key, version),
            ));
        }
        page(items, params.get("Marker"), max_items, "Versions")
    }

    async fn create_alias(&self, caller: &Caller, request: &ApiRequest, name: &str) -> Answer {
        let key = self.key(caller, name)?;
        let body: input::CreateAlias = input::parse(request)?;
        let alias = AliasRow {
            name: input::required(body.name, "Name")?,
            function_version: input::required(body.function_version, "FunctionVersion")?,
            description: body.description.unwrap_or_default(),
            additional_weights: weights(body.routing_config).unwrap_or_default(),
            revision_id: String::new(),
        };
        let alias = self.functions.create_alias(&key, alias).await?;
        Ok(json_response(StatusCode::CREATED, &output::alias(&key, &alias)))
    }

    fn list_aliases(&self, caller: &Caller, request: &ApiRequest, name: &str) -> Answer {
        let key = self.key(caller, name)?;
        let row = self.functions.function(&key).ok_or_else(|| not_found(&key))?;
        let params = query(request);
        let version = params.get("FunctionVersion");
        let max_items =
            params.get("MaxItems").and_then(|text| text.parse::<usize>().ok()).unwrap_or(50).clamp(1, 10_000);
        let items = row
            .aliases
            .values()
            .filter(|alias| version.is_none_or(|version| alias.function_version == *version))
            .map(|alias| (alias.name.clone(), output::alias(&key, alias)))
            .collect();
        page(items, params.get("Marker"), max_items, "Aliases")
    }

    fn get_alias(&self, caller: &Caller, name: &str, alias: &str) -> Answer {
        let key = self.key(caller, name)?;
        let row = self.functions.function(&key).ok_or_else(|| not_found(&key))?;
        let found = row.aliases.get(alias).ok_or_else(|| {
            LambdaError::from(wharf_functions::FunctionError::AliasNotFound(format!("{}:{alias}", key.arn())))
        })?;
        Ok(json_response(StatusCode::OK, &output::alias(&key, found)))
    }

    async fn update_alias(&self, caller: &Caller, request: &ApiRequest, name: &str, alias: &str) -> Answer {
        let key = self.key(caller, name)?;
        let body: input::UpdateAlias = input::parse(request)?;
        let weights = weights(body.routing_config);
        let updated = self
            .functions
            .update_alias(&key, alias, body.function_version, body.description, weights, body.revision_id)
            .await?;
        Ok(json_response(StatusCode::OK, &output::alias(&key, &updated)))
    }

    async fn add_permission(&self, caller: &Caller, request: &ApiRequest, name: &str) -> Answer {
        let reference = parse_ref(name)?;
        let key = self.functions.key_of(&caller.account, &caller.region, &reference);
        let body: input::AddPermission = input::parse(request)?;
        let qualifier = wharf_functions::registry::merge_qualifier(
            &reference,
            query(request).get("Qualifier").map(String::as_str),
        )?;
        let permission = PermissionRow {
            statement_id: input::required(body.statement_id, "StatementId")?,
            qualifier,
            action: input::required(body.action, "Action")?,
            principal: input::required(body.principal, "Principal")?,
            source_arn: body.source_arn,
            source_account: body.source_account,
            principal_org_id: body.principal_org_id,
            event_source_token: body.event_source_token,
            function_url_auth_type: body.function_url_auth_type,
        };
        let permission = self.functions.add_permission(&key, permission).await?;
        let statement = output::statement(&key, &permission);
        Ok(json_response(StatusCode::CREATED, &json!({ "Statement": statement.to_string() })))
    }

    fn get_policy(&self, caller: &Caller, request: &ApiRequest, name: &str) -> Answer {
        let reference = parse_ref(name)?;
        let key = self.functions.key_of(&caller.account, &caller.region, &reference);
        let qualifier = wharf_functions::registry::merge_qualifier(
            &reference,
            query(request).get("Qualifier").map(String::as_str),
        )?;
        let row = self.functions.function(&key).ok_or_else(|| not_found(&key))?;
        let policy = output::policy(&key, &row, qualifier.as_deref())
            .ok_or_else(|| LambdaError::from(wharf_functions::FunctionError::PolicyNotFound))?;
        Ok(json_response(
            StatusCode::OK,
            &json!({ "Policy": policy.to_string(), "RevisionId": row.latest.revision_id }),
        ))
    }

    async fn event_invoke_config(&self, caller: &Caller, request: &ApiRequest, name: &str, method: Method) -> Answer {
        let reference = parse_ref(name)?;
        let key = self.functions.key_of(&caller.account, &caller.region, &reference);
        let qualifier = wharf_functions::registry::merge_qualifier(
            &reference,
            query(request).get("Qualifier").map(String::as_str),
        )?;
        let qualifier_text = qualifier.clone().unwrap_or_else(|| "$LATEST".into());
        match method {
            Method::PUT | Method::POST => {
                let body: input::EventInvokeConfig = input::parse(request)?;
                let destinations = body.destination_config.unwrap_or_default();
                let config = EventInvokeConfigRow {
                    maximum_retry_attempts: count(body.maximum_retry_attempts, "MaximumRetryAttempts")?,
                    maximum_event_age_seconds: count(body.maximum_event_age_in_seconds, "MaximumEventAgeInSeconds")?,
                    on_success: destinations.on_success.and_then(|on| on.destination),
                    on_failure: destinations.on_failure.and_then(|on| on.destination),
                    last_modified: 0,
                };
                let replace = method == Method::PUT;
                if !replace {
                    let row = self.functions.function(&key).ok_or_else(|| not_found(&key))?;
                    if !row.event_invoke_configs.contains_key(&qualifier_text) {
                        return Err(wharf_functions::FunctionError::EventInvokeConfigNotFound(format!(
                            "{}:{qualifier_text}",
                            key.arn()
                        ))
                        .into());
                    }
                }
                let stored =
                    self.functions.put_event_invoke_config(&key, qualifier.as_deref(), config, replace).await?;
                Ok(json_response(StatusCode::OK, &output::event_invoke_config(&key, &qualifier_text, &stored)))
            }
            Method::GET => {
                let row = self.functions.function(&key).ok_or_else(|| not_found(&key))?;
                let config = row.event_invoke_configs.get(&qualifier_text).ok_or_else(|| {
                    LambdaError::from(wharf_functions::FunctionError::EventInvokeConfigNotFound(format!(
                        "{}:{qualifier_text}",
                        key.arn()
                    )))
                })?;
                Ok(json_response(StatusCode::OK, &output::event_invoke_config(&key, &qualifier_text, config)))
            }
            Method::DELETE => {
                self.functions.delete_event_invoke_config(&key, qualifier.as_deref()).await?;
                Ok(empty(StatusCode::NO_CONTENT))
            }
            other => Err(LambdaError::unknown_operation(format!("Unknown operation: {other} event-invoke-config"))),
        }
    }

    async fn create_mapping(&self, caller: &Caller, request: &ApiRequest) -> Answer {
        let body: input::EventSourceMapping = input::parse(request)?;
        let change = mapping_change(&body)?;
        let source = input::required(body.event_source_arn, "EventSourceArn")?;
        let reference = parse_ref(&input::required(body.function_name, "FunctionName")?)?;
        let key = self.functions.key_of(&caller.account, &caller.region, &reference);
        let row = self.functions.create_mapping(&key, reference.qualifier.clone(), source, change).await?;
        Ok(json_response(StatusCode::ACCEPTED, &output::mapping(&row, Some("Creating"))))
    }

    fn list_mappings(&self, caller: &Caller, request: &ApiRequest) -> Answer {
        let params = query(request);
        let function = match params.get("FunctionName") {
            Some(name) => Some(parse_ref(name)?.name.as_str().to_owned()),
            None => None,
        };
        let max_items =
            params.get("MaxItems").and_then(|text| text.parse::<usize>().ok()).unwrap_or(100).clamp(1, 10_000);
        let items = self
            .functions
            .list_mappings(
                &caller.account,
                &caller.region,
                params.get("EventSourceArn").map(String::as_str),
                function.as_deref(),
            )
            .into_iter()
            .map(|row| (row.uuid.clone(), output::mapping(&row, None)))
            .collect();
        page(items, params.get("Marker"), max_items, "EventSourceMappings")
    }

    async fn tags(&self, request: &ApiRequest, arn: &str, method: Method) -> Answer {
        let reference = parse_ref(arn)?;
        if reference.account.is_none() {
            return Err(LambdaError::invalid_parameter(format!("Resource must be a function ARN: {arn}")));
        }
        let account = self.identity.default_account().to_string();
        let region = self.identity.default_region().to_string();
        let key = self.functions.key_of(&account, &region, &reference);
        match method {
            Method::GET => {
                let row = self.functions.function(&key).ok_or_else(|| not_found(&key))?;
                Ok(json_response(StatusCode::OK, &json!({ "Tags": row.tags })))
            }
            Method::POST => {
                let body: input::TagResource = input::parse(request)?;
                let tags = body.tags.unwrap_or_default();
                self.functions.tag(&key, tags, Vec::new()).await?;
                Ok(empty(StatusCode::NO_CONTENT))
            }
            Method::DELETE => {
                self.functions.tag(&key, BTreeMap::new(), query_all(request, "tagKeys")).await?;
                Ok(empty(StatusCode::NO_CONTENT))
            }
            other => Err(LambdaError::unknown_operation(format!("Unknown operation: {other} tags"))),
        }
    }
}

/// The mapping settings of a Create or UpdateEventSourceMapping body.
fn mapping_change(body: &input::EventSourceMapping) -> Result<wharf_functions::mappings::MappingChange, LambdaError> {
    let filters = match &body.filter_criteria {
        None => None,
        Some(criteria) => {
            let mut patterns = Vec::new();
            for filter in &criteria.filters {
                let pattern = filter.pattern.clone().unwrap_or_default();
                // Filters use EventBridge's pattern grammar.
                if let Err(err) = wharf_pattern::Pattern::parse(&pattern) {
                    return Err(LambdaError::invalid_parameter(format!("Invalid filter pattern definition. {err}")));
                }
                patterns.push(pattern);
            }
            Some(patterns)
        }
    };
    let report = match &body.function_response_types {
        None => None,
        Some(types) => {
            if let Some(unknown) = types.iter().find(|kind| *kind != "ReportBatchItemFailures") {
                return Err(LambdaError::validation(format!(
                    "1 validation error detected: Value '[{unknown}]' at 'functionResponseTypes' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]"
                )));
            }
            Some(!types.is_empty())
        }
    };
    let concurrency = match &body.scaling_config {
        None => None,
        Some(config) => Some(count(config.maximum_concurrency, "ScalingConfig.MaximumConcurrency")?),
    };
    Ok(wharf_functions::mappings::MappingChange {
        batch_size: count(body.batch_size, "BatchSize")?,
        maximum_batching_window_seconds: count(
            body.maximum_batching_window_in_seconds,
            "MaximumBatchingWindowInSeconds",
        )?,
        report_batch_item_failures: report,
        maximum_concurrency: concurrency,
        filters,
        enabled: body.enabled,
    })
}

/// An alias's `RoutingConfig` weights: `None` when the request has none, empty when it has
/// no `AdditionalVersionWeights` (which clears them).
fn weights(routing: Option<input::RoutingConfig>) -> Option<BTreeMap<String, f64>> {
    routing.map(|routing| routing.additional_version_weights.unwrap_or_default())
}

fn not_found(key: &FunctionKey) -> LambdaError {
    wharf_functions::FunctionError::FunctionNotFound(key.arn()).into()
}

/// One page of `items` (sorted by their sort key), after the item whose key is `marker`.
fn page(mut items: Vec<(String, Value)>, marker: Option<&String>, max_items: usize, member: &str) -> Answer {
    items.sort_by(|left, right| left.0.cmp(&right.0));
    let start = match marker {
        Some(marker) => {
            let after = String::from_utf8(
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(marker)
                    .map_err(|_| LambdaError::invalid_parameter("Invalid Marker"))?,
            )
            .map_err(|_| LambdaError::invalid_parameter("Invalid Marker"))?;
            items.iter().position(|(key, _)| *key > after).unwrap_or(items.len())
        }
        None => 0,
    };
    let end = (start + max_items).min(items.len());
    let mut out = json!({ member: items[start..end].iter().map(|(_, value)| value.clone()).collect::<Vec<_>>() });
    if end < items.len() {
        out["NextMarker"] = Value::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&items[end - 1].0));
    }
    Ok(json_response(StatusCode::OK, &out))
}

#[async_trait::async_trait]
impl Api for LambdaApi {
    type Operation = Route;
    type Output = ApiResponse;
    type Error = LambdaError;

    fn service(&self) -> &'static str {
        "lambda"
    }

    fn decode(&self, request: &ApiRequest) -> Result<Route, LambdaError> {
        Route::of(&request.method, request.uri.path()).ok_or_else(|| {
            LambdaError::unknown_operation(format!("Unknown operation: {} {}", request.method, request.uri.path()))
        })
    }

    fn operation_name(&self, route: &Route) -> &'static str {
        route.name()
    }

    async fn handle(&self, call: &Call<'_>, route: Route) -> Result<ApiResponse, LambdaError> {
        let caller = Caller { account: call.caller.account.to_string(), region: call.caller.region.to_string() };
        self.dispatch(&caller, call.request, route).await
    }

    fn render(&self, call: &Call<'_>, _operation: &'static str, mut response: ApiResponse) -> ApiResponse {
        // Invoke answers carry the invocation's own request id; everything else gets this one.
        let has_id = response.headers.iter().any(|(name, _)| name.as_str() == "x-amzn-requestid");
        if !has_id {
            if let Ok(value) = HeaderValue::from_str(call.request_id) {
                response.headers.push((HeaderName::from_static("x-amzn-requestid"), value));
            }
        }
        response
    }

    fn error_body<'e>(&self, error: &'e LambdaError) -> ErrorBody<'e> {
        error.body()
    }

    fn render_error(&self, _request: &ApiRequest, request_id: &str, error: &ErrorBody<'_>) -> ApiResponse {
        error::render(error, request_id)
    }

    async fn resource(&self, request: &ApiRequest, caller: &pipeline::Caller, route: &Route) -> pipeline::Resource {
        // The function ARN (qualified when the call is), with the function's resource policy
        // (AddPermission's statements) for that qualifier.
        let name = match route {
            Route::CreateFunction => {
                input::parse::<input::CreateFunction>(request).ok().and_then(|body| body.function_name)
            }
            other => other.function().map(str::to_owned),
        };
        let Some(reference) = name.as_deref().and_then(|name| parse_ref(name).ok()) else {
            return pipeline::Resource::default();
        };
        let key = self.functions.key_of(caller.account.as_str(), caller.region.as_str(), &reference);
        let qualifier =
            wharf_functions::registry::merge_qualifier(&reference, query(request).get("Qualifier").map(String::as_str))
                .ok()
                .flatten();
        let arn = match &qualifier {
            Some(qualifier) => format!("{}:{qualifier}", key.arn()),
            None => key.arn(),
        };
        let policy = self
            .functions
            .function(&key)
            .and_then(|row| output::policy(&key, &row, qualifier.as_deref()))
            .and_then(|document| document.to_string().parse::<wharf_iam::Policy>().ok())
            .map(Arc::new);
        let mut resource =
            pipeline::Resource { arn: Some(arn), account: Some(key.account.clone()), policy, ..Default::default() };
        resource.context.insert("lambda:functionarn".into(), vec![key.arn()]);
        resource
    }
}
