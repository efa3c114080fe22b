//! Black-box tests of the Lambda API through the official Rust SDK, and of the life of
//! function processes: warm reuse, errors, and no process outliving wharf.

mod common;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, InvocationType, Runtime};
use common::Wharf;
use std::time::{Duration, Instant};

const HANDLER: &str = r#"
import os
import time

def handler(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("fail"):
        raise RuntimeError("asked to fail")
    return {"pid": os.getpid(), "stream": context.log_stream_name, "echo": event, "arn": context.invoked_function_arn}
"#;

async fn create(lambda: &aws_sdk_lambda::Client, name: &str) {
    let zip = wharf_functions::code::zip_of(&[("app.py", HANDLER.as_bytes(), 0o644)]);
    let created = lambda
        .create_function()
        .function_name(name)
        .runtime(Runtime::Python312)
        .role("arn:aws:iam::000000000000:role/test")
        .handler("app.handler")
        .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
        .send()
        .await
        .expect("create function");
    assert_eq!(created.state().map(|state| state.as_str()), Some("Active"));
    assert_eq!(created.timeout(), Some(3), "Lambda's default timeout");
}

async fn invoke_json(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
    payload: &str,
) -> (Option<String>, serde_json::Value) {
    let answer = lambda
        .invoke()
        .function_name(name)
        .payload(Blob::new(payload.as_bytes().to_vec()))
        .send()
        .await
        .expect("invoke");
    assert_eq!(answer.status_code(), 200);
    let body = answer.payload().map(|blob| blob.as_ref().to_vec()).unwrap_or_default();
    (answer.function_error().map(str::to_owned), serde_json::from_slice(&body).expect("json payload"))
}

/// The host's process id of the function process that answered: the one whose environment
/// names the log stream it reported (a function in its own PID namespace sees itself as 1).
fn host_pid(answer: &serde_json::Value) -> u64 {
    let stream = answer["stream"].as_str().expect("stream");
    let wanted = format!("AWS_LAMBDA_LOG_STREAM_NAME={stream}\0");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u64>() else { continue };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else { continue };
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        let wrapper = matches!(comm.trim(), "setpriv" | "unshare");
        if !wrapper && String::from_utf8_lossy(&environ).contains(&wanted) {
            found.push(pid);
        }
    }
    found.sort();
    *found.first().unwrap_or_else(|| panic!("no process of log stream {stream}"))
}

fn alive(pid: u64) -> bool {
    // A zombie still has a /proc entry; its state is Z.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| !stat.split(") ").nth(1).is_some_and(|rest| rest.starts_with('Z')))
        .unwrap_or(false)
}

fn wait_gone(pid: u64) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[tokio::test]
async fn invoke_reuses_the_warm_environment_and_reports_errors() {
    let wharf = Wharf::start();
    let lambda = wharf.lambda("eu-west-1");
    create(&lambda, "echo").await;
    let (error, first) = invoke_json(&lambda, "echo", r#"{"n": 1}"#).await;
    assert_eq!(error, None);
    assert_eq!(first["echo"]["n"], 1);
    assert_eq!(first["arn"], "arn:aws:lambda:eu-west-1:000000000000:function:echo");
    let (_, second) = invoke_json(&lambda, "arn:aws:lambda:eu-west-1:000000000000:function:echo", "{}").await;
    assert_eq!(host_pid(&first), host_pid(&second), "the second invoke runs in the same (warm) process");

    let (error, failure) = invoke_json(&lambda, "echo", r#"{"fail": true}"#).await;
    assert_eq!(error.as_deref(), Some("Unhandled"));
    assert_eq!(failure["errorType"], "RuntimeError");
    assert_eq!(failure["errorMessage"], "asked to fail");

    let queued = lambda
        .invoke()
        .function_name("echo")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(b"{}".to_vec()))
        .send()
        .await
        .expect("event invoke");
    assert_eq!(queued.status_code(), 202);

    let missing = lambda.invoke().function_name("nope").send().await.expect_err("unknown function");
    assert!(missing.into_service_error().is_resource_not_found_exception());
}

#[tokio::test]
async fn function_processes_do_not_outlive_wharf() {
    let mut wharf = Wharf::start();
    let lambda = wharf.lambda("us-east-1");
    create(&lambda, "survivor").await;
    let (_, answer) = invoke_json(&lambda, "survivor", "{}").await;
    let pid = host_pid(&answer);
    assert!(alive(pid), "the environment is kept warm");
    // Keep the process busy in its handler, so only the parent-death signal can end it.
    lambda
        .invoke()
        .function_name("survivor")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(br#"{"sleep": 10}"#.to_vec()))
        .send()
        .await
        .expect("event invoke");
    tokio::time::sleep(Duration::from_millis(500)).await;
    wharf.kill9();
    assert!(wait_gone(pid), "the function process {pid} outlived a SIGKILLed wharf");

    let mut wharf = Wharf::start();
    let lambda = wharf.lambda("us-east-1");
    create(&lambda, "graceful").await;
    let (_, answer) = invoke_json(&lambda, "graceful", "{}").await;
    let pid = host_pid(&answer);
    lambda
        .invoke()
        .function_name("graceful")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(br#"{"sleep": 10}"#.to_vec()))
        .send()
        .await
        .expect("event invoke");
    tokio::time::sleep(Duration::from_millis(500)).await;
    wharf.terminate();
    assert!(wait_gone(pid), "the function process {pid} outlived wharf's shutdown");
}

/// A function declared in the config file from a directory runs that directory's code, and
/// picks up edits without a restart.
#[tokio::test]
async fn declared_functions_reload_when_their_files_change() {
    let code = tempfile::tempdir().expect("tempdir");
    std::fs::write(code.path().join("app.py"), "def handler(event, context):\n    return 'first'\n").expect("write");
    let config = code.path().join("wharf.toml");
    std::fs::write(
        &config,
        format!(
            "[[functions.declare]]\nname = \"dev\"\nruntime = \"python3.12\"\nhandler = \"app.handler\"\ndirectory = \"{}\"\n",
            code.path().display()
        ),
    )
    .expect("config");
    let wharf = Wharf::start_with(&["--config", config.to_str().expect("utf-8 path")]);
    let lambda = wharf.lambda("us-east-1");
    let (_, first) = invoke_json(&lambda, "dev", "{}").await;
    assert_eq!(first, "first");
    // A different size, so the change shows even where modification times are coarse.
    std::fs::write(code.path().join("app.py"), "def handler(event, context):\n    return 'second one'\n")
        .expect("edit");
    let started = Instant::now();
    loop {
        let (_, answer) = invoke_json(&lambda, "dev", "{}").await;
        if answer == "second one" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the edit was not picked up: {answer}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn config_file(dir: &std::path::Path, text: &str) -> String {
    let path = dir.join("wharf.toml");
    std::fs::write(&path, text).expect("config");
    path.to_str().expect("utf-8 path").to_owned()
}

/// Idle environments are stopped after `idle_timeout_seconds`.
#[tokio::test]
async fn idle_environments_are_stopped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_file(dir.path(), "[functions]\nidle_timeout_seconds = 1\n");
    let wharf = Wharf::start_with(&["--config", &config]);
    let lambda = wharf.lambda("us-east-1");
    create(&lambda, "brief").await;
    let (_, answer) = invoke_json(&lambda, "brief", "{}").await;
    let pid = host_pid(&answer);
    let started = Instant::now();
    while alive(pid) {
        assert!(started.elapsed() < Duration::from_secs(5), "the idle environment {pid} was not stopped");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// At the account's concurrency limit, an idle environment of another function makes room, and
/// a synchronous invoke that finds every environment busy is throttled.
#[tokio::test]
async fn the_account_limit_evicts_idle_environments_and_throttles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_file(dir.path(), "[functions]\naccount_concurrency = 1\n");
    let wharf = Wharf::start_with(&["--config", &config]);
    let lambda = wharf.lambda("us-east-1");
    create(&lambda, "first").await;
    create(&lambda, "second").await;
    let (_, first) = invoke_json(&lambda, "first", "{}").await;
    let first_pid = host_pid(&first);
    let (error, _) = invoke_json(&lambda, "second", "{}").await;
    assert_eq!(error, None);
    assert!(wait_gone(first_pid), "the idle environment of `first` made room for `second`");

    let busy = tokio::spawn({
        let lambda = lambda.clone();
        async move { invoke_json(&lambda, "second", r#"{"sleep": 1.5}"#).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let throttled = lambda.invoke().function_name("first").send().await.expect_err("no room");
    let error = throttled.into_service_error();
    assert!(error.is_too_many_requests_exception(), "{error:?}");
    busy.await.expect("join");
}
