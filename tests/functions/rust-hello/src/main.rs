//! Echo function for the `provided.al2023` runtime: answers
//! `{"echo": event, "function": name, "request_id": id}` through the `lambda_runtime` crate.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, context) = event.into_parts();
    if payload.get("fail").and_then(Value::as_bool) == Some(true) {
        return Err("asked to fail".into());
    }
    Ok(json!({
        "echo": payload,
        "function": context.env_config.function_name,
        "request_id": context.request_id,
    }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    println!("rust-hello cold start");
    lambda_runtime::run(service_fn(handler)).await
}
