//! The server embedded in a test (`wharf::embedded`): started on an ephemeral port in-process,
//! driven by the official SDK, stopped on drop.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};
use wharf::embedded::{EmbeddedWharf, Options};

fn sqs(endpoint: &str) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new("x", "x", None, None, "test"))
        .endpoint_url(endpoint)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

#[tokio::test]
async fn an_embedded_server_answers_and_two_are_apart() {
    let first = EmbeddedWharf::start().expect("first server");
    let second = EmbeddedWharf::start().expect("second server");
    assert_ne!(first.endpoint(), second.endpoint());
    let client = sqs(first.endpoint());
    let url = client.create_queue().queue_name("embedded").send().await.expect("create").queue_url.expect("url");
    client.send_message().queue_url(&url).message_body("in-process").send().await.expect("send");
    let received = client.receive_message().queue_url(&url).send().await.expect("receive");
    assert_eq!(received.messages()[0].body(), Some("in-process"));
    let other = sqs(second.endpoint()).list_queues().send().await.expect("list");
    assert!(other.queue_urls().is_empty(), "each server has its own state");
}

#[test]
fn dropping_the_server_stops_it() {
    let wharf = EmbeddedWharf::start().expect("server");
    let address = wharf.endpoint().trim_start_matches("http://").to_owned();
    assert!(std::net::TcpStream::connect(&address).is_ok());
    wharf.stop().expect("a clean stop");
    assert!(std::net::TcpStream::connect(&address).is_err(), "nothing listens after the stop");
}

#[test]
fn a_bad_configuration_is_an_error_not_a_panic() {
    let options = Options { config: Some("[sqs]\nno_such_key = 1\n".into()), ..Options::default() };
    let err = EmbeddedWharf::start_with(options).expect_err("refused");
    assert!(format!("{err:#}").contains("no_such_key"), "{err:#}");
}

#[tokio::test]
async fn a_declared_function_runs_in_an_embedded_server() {
    let code = tempfile::tempdir().expect("tempdir");
    std::fs::write(code.path().join("app.py"), "def handler(event, context):\n    return {'seen': event}\n")
        .expect("write");
    // A declared directory is relative to `config_dir`.
    let name = code.path().file_name().expect("name").to_str().expect("utf-8");
    let options = Options {
        config: Some(format!(
            "[[functions.declare]]\nname = \"echo\"\nruntime = \"python3.12\"\nhandler = \"app.handler\"\ndirectory = \"{name}\"\n"
        )),
        config_dir: Some(code.path().parent().expect("parent").to_path_buf()),
        ..Options::default()
    };
    let wharf = EmbeddedWharf::start_with(options).expect("server");
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
        .region(aws_sdk_lambda::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_lambda::config::Credentials::new("x", "x", None, None, "test"))
        .endpoint_url(wharf.endpoint())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    let lambda = aws_sdk_lambda::Client::from_conf(config);
    let zip = wharf_functions::code::zip_of(&[("app.py", b"def handler(event, context):\n    return 7\n", 0o644)]);
    lambda
        .create_function()
        .function_name("seven")
        .runtime(Runtime::Python312)
        .role("arn:aws:iam::000000000000:role/any")
        .handler("app.handler")
        .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
        .send()
        .await
        .expect("create");
    for (name, payload, expected) in [("seven", "{}", "7"), ("echo", r#"{"n":1}"#, r#"{"seen": {"n": 1}}"#)] {
        let answer =
            lambda.invoke().function_name(name).payload(Blob::new(payload.as_bytes())).send().await.expect("invoke");
        let body = String::from_utf8(answer.payload().expect("payload").as_ref().to_vec()).expect("utf-8");
        assert_eq!(body, expected, "{name}");
    }
}

#[tokio::test]
async fn a_reset_empties_the_embedded_server() {
    let wharf = EmbeddedWharf::start().expect("server");
    let client = sqs(wharf.endpoint());
    let url = client.create_queue().queue_name("before").send().await.expect("create").queue_url.expect("url");
    client.send_message().queue_url(&url).message_body("gone").send().await.expect("send");
    let took = wharf.reset().expect("reset");
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    let listed = client.list_queues().send().await.expect("list");
    assert!(listed.queue_urls().is_empty(), "{:?}", listed.queue_urls());
    // The same name at once, empty.
    let url = client.create_queue().queue_name("before").send().await.expect("again").queue_url.expect("url");
    let received = client.receive_message().queue_url(&url).send().await.expect("receive");
    assert!(received.messages().is_empty());
}
