//! Test harness: the real `wharf` binary on a free port with a fresh data directory, and SDK
//! clients pointed at it.

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
        Wharf { child: Some(child), endpoint, data_dir, _temp: Some(temp), extra_args }
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
            .credentials_provider(aws_sdk_lambda::config::Credentials::new(
                "AKIDWHARFTEST",
                "secret",
                None,
                None,
                "test",
            ))
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
            .credentials_provider(aws_sdk_sqs::config::Credentials::new("AKIDWHARFTEST", "secret", None, None, "test"))
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

fn spawn(data_dir: &Path, extra_args: &[String]) -> (Child, String) {
    let log_path = data_dir.with_extension("log");
    let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path).expect("log file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wharf"))
        .arg("serve")
        .arg("--bind")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra_args)
        .env_remove("WHARF_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn wharf");
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
