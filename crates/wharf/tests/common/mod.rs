//! Test harness: the real `wharf` binary on a free port with a fresh data directory, and SDK
//! clients pointed at it.
//!
//! With `WHARF_TEST_AUTH=enforce`, every server runs with auth enforced: the clients' key is the
//! account's root key, and the role the functions name (`role/test`) is created, trusting
//! Lambda and allowed everything, so the same tests run with every signature checked.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running wharf process, killed when dropped.
pub struct Wharf {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The data directory (kept across restarts).
    pub data_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    extra_args: Vec<String>,
}

impl Wharf {
    /// Starts wharf with a fresh data directory.
    pub fn start() -> Wharf {
        Wharf::start_with(&[])
    }

    /// Starts wharf with extra `serve` arguments.
    pub fn start_with(extra_args: &[&str]) -> Wharf {
        let temp = tempfile::tempdir().expect("tempdir");
        let data_dir = temp.path().join("data");
        let extra_args: Vec<String> = extra_args.iter().map(|arg| arg.to_string()).collect();
        let (child, endpoint) = spawn(&data_dir, &extra_args);
        let wharf = Wharf { child: Some(child), endpoint, data_dir, _temp: Some(temp), extra_args };
        if enforced() {
            let unsigned = wharf.post("Action=ListQueues", &[]);
            assert!(unsigned.contains("MissingAuthenticationToken"), "auth is not enforced: {unsigned}");
            wharf.create_test_role();
        }
        wharf
    }

    /// Creates `role/test` through IAM (a signed query request): Lambda may assume it, and it
    /// allows everything.
    fn create_test_role(&self) {
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let everything = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        self.iam(&[("Action", "CreateRole"), ("RoleName", "test"), ("AssumeRolePolicyDocument", trust)]);
        self.iam(&[
            ("Action", "PutRolePolicy"),
            ("RoleName", "test"),
            ("PolicyName", "everything"),
            ("PolicyDocument", everything),
        ]);
    }

    /// One IAM query-protocol call, signed with the root key by `aws-sigv4`; panics unless 200.
    fn iam(&self, params: &[(&str, &str)]) {
        use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
        let mut body = String::from("Version=2010-05-08");
        for (name, value) in params {
            body.push_str(&format!("&{name}={}", url_encode(value)));
        }
        let host = self.endpoint.trim_start_matches("http://").to_owned();
        let identity = aws_credential_types::Credentials::new(ROOT_KEY.0, ROOT_KEY.1, None, None, "test").into();
        let signing = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("iam")
            .time(std::time::SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .expect("signing params")
            .into();
        let headers = [("host", host.as_str()), ("content-type", "application/x-www-form-urlencoded")];
        let signable = SignableRequest::new(
            "POST",
            format!("http://{host}/"),
            headers.into_iter(),
            SignableBody::Bytes(body.as_bytes()),
        )
        .expect("signable");
        let (instructions, _) = sign(signable, &signing).expect("sign").into_parts();
        let headers: Vec<(&str, &str)> = instructions.headers().collect();
        let answer = self.post(&body, &headers);
        assert!(answer.starts_with("HTTP/1.1 200"), "IAM {params:?} failed: {answer}");
    }

    /// A form-encoded `POST /` with `headers` added; the whole answer, status line first.
    fn post(&self, body: &str, headers: &[(&str, &str)]) -> String {
        use std::io::{Read, Write};
        let host = self.endpoint.trim_start_matches("http://");
        let mut request = format!(
            "POST / HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\nconnection: close\r\n",
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        let mut stream = std::net::TcpStream::connect(host).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream.write_all(request.as_bytes()).expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read");
        answer
    }

    /// Kills the server with SIGKILL (no chance to flush anything) and starts it again on the
    /// same data directory.
    pub fn kill9_and_restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let (child, endpoint) = spawn(&self.data_dir, &self.extra_args);
        self.child = Some(child);
        self.endpoint = endpoint;
    }

    /// Stops the server with SIGTERM and waits for it to exit.
    pub fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }

    /// Kills the server with SIGKILL and does not restart it.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A Lambda client for `region`.
    pub fn lambda(&self, region: &str) -> aws_sdk_lambda::Client {
        let config = aws_sdk_lambda::Config::builder()
            .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
            .region(aws_sdk_lambda::config::Region::new(region.to_owned()))
            .credentials_provider(aws_sdk_lambda::config::Credentials::new(ROOT_KEY.0, ROOT_KEY.1, None, None, "test"))
            // Tests see every answer as wharf gave it: no retry of throttles.
            .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled())
            .endpoint_url(&self.endpoint)
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .build();
        aws_sdk_lambda::Client::from_conf(config)
    }

    /// An SQS client for `region`.
    pub fn sqs(&self, region: &str) -> aws_sdk_sqs::Client {
        let config = aws_sdk_sqs::Config::builder()
            .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
            .region(aws_sdk_sqs::config::Region::new(region.to_owned()))
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(ROOT_KEY.0, ROOT_KEY.1, None, None, "test"))
            .endpoint_url(&self.endpoint)
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .build();
        aws_sdk_sqs::Client::from_conf(config)
    }
}

impl Drop for Wharf {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The key and secret the clients sign with: the root key of the default account when auth is
/// enforced.
pub const ROOT_KEY: (&str, &str) = ("AKIDWHARFTEST", "secret");

/// Whether this run has auth enforced (`WHARF_TEST_AUTH=enforce`).
pub fn enforced() -> bool {
    std::env::var("WHARF_TEST_AUTH").is_ok_and(|mode| mode == "enforce")
}

/// `application/x-www-form-urlencoded` escaping of a value.
fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn spawn(data_dir: &Path, extra_args: &[String]) -> (Child, String) {
    let log_path = data_dir.with_extension("log");
    let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path).expect("log file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_wharf"));
    command
        .arg("serve")
        .arg("--bind")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra_args)
        .env_remove("WHARF_CONFIG")
        .env_remove("WHARF_AUTH");
    if enforced() {
        command
            .args(["--auth", "enforce"])
            .env("WHARF_ROOT_ACCESS_KEY_ID", ROOT_KEY.0)
            .env("WHARF_ROOT_SECRET_ACCESS_KEY", ROOT_KEY.1);
    }
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::from(log)).spawn().expect("spawn wharf");
    let stdout = child.stdout.take().expect("stdout");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(address) = line.strip_prefix("wharf: listening on ") {
                let _ = sender.send(address.to_owned());
            }
        }
    });
    let started = Instant::now();
    match receiver.recv_timeout(Duration::from_secs(20)) {
        Ok(endpoint) => (child, endpoint),
        Err(_) => {
            let _ = child.kill();
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("wharf did not start within {:?}; log:\n{log}", started.elapsed());
        }
    }
}
