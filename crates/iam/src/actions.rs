//! Which IAM action authorizes each operation, and on which resource type, for every operation
//! of every service wharf speaks, from AWS's Service Authorization Reference
//! (<https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html>):
//! one table per service in `actions/<service>.tsv` (operation, actions, resource ARN
//! template; sources and doubtful rows in `actions/SOURCES.md`). A test walks botocore's models
//! so that no operation is left out.

use std::collections::HashMap;
use std::sync::OnceLock;

/// One operation's row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionRow {
    /// The actions checked, the primary first (`-`: none is needed).
    pub actions: Vec<&'static str>,
    /// The resource ARN template (`arn:${Partition}:sqs:${Region}:${Account}:${QueueName}`), or `*`.
    pub resource: &'static str,
}

const TABLES: &[(&str, &str)] = &[
    ("sqs", include_str!("../actions/sqs.tsv")),
    ("lambda", include_str!("../actions/lambda.tsv")),
    ("logs", include_str!("../actions/logs.tsv")),
    ("events", include_str!("../actions/events.tsv")),
    ("iam", include_str!("../actions/iam.tsv")),
    ("sts", include_str!("../actions/sts.tsv")),
    ("scheduler", include_str!("../actions/scheduler.tsv")),
];

type Table = HashMap<&'static str, HashMap<&'static str, ActionRow>>;

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut rows: Table = HashMap::new();
        for (service, text) in TABLES {
            let service_rows = rows.entry(*service).or_default();
            for line in text.lines().skip(1) {
                let mut columns = line.split('\t');
                let (Some(operation), Some(actions), Some(resource)) = (columns.next(), columns.next(), columns.next())
                else {
                    continue;
                };
                let actions = actions.split(',').filter(|action| *action != "-").collect();
                service_rows.insert(operation, ActionRow { actions, resource });
            }
        }
        rows
    })
}

/// The row of `operation` of `service` (`sqs`, `lambda`, `logs`, `events`, `iam`, `sts`).
pub fn of(service: &str, operation: &str) -> Option<&'static ActionRow> {
    table().get(service)?.get(operation)
}

/// The operations of `service` in the table.
pub fn operations(service: &str) -> Vec<&'static str> {
    let mut operations: Vec<&'static str> =
        table().get(service).map(|rows| rows.keys().copied().collect()).unwrap_or_default();
    operations.sort_unstable();
    operations
}

#[cfg(test)]
mod tests {
    #[test]
    fn batch_operations_authorize_as_their_single_action() {
        assert_eq!(super::of("sqs", "SendMessageBatch").expect("row").actions, vec!["sqs:SendMessage"]);
        assert_eq!(super::of("lambda", "Invoke").expect("row").actions, vec!["lambda:InvokeFunction"]);
        assert!(super::of("sts", "GetCallerIdentity").expect("row").actions.is_empty());
        assert_eq!(super::of("sqs", "ListQueues").expect("row").resource, "*");
    }

    /// Every operation of botocore's models has a row (the models come with boto3; the test
    /// looks where the test suite's virtualenvs and the system Python keep them).
    #[test]
    fn every_botocore_operation_is_mapped() {
        let models = [
            ("sqs", "sqs/2012-11-05"),
            ("lambda", "lambda/2015-03-31"),
            ("logs", "logs/2014-03-28"),
            ("events", "events/2015-10-07"),
            ("iam", "iam/2010-05-08"),
            ("sts", "sts/2011-06-15"),
            ("scheduler", "scheduler/2021-06-30"),
        ];
        let Some(data) = botocore_data() else {
            eprintln!("botocore not found; the TSV files were checked by actions/validate.py");
            return;
        };
        for (service, model) in models {
            let path = data.join(model).join("service-2.json.gz");
            let Ok(bytes) = std::fs::read(&path) else { continue };
            let names = operations_in(&bytes);
            let mapped = super::operations(service);
            let missing: Vec<&String> = names.iter().filter(|name| !mapped.contains(&name.as_str())).collect();
            assert!(missing.is_empty(), "{service}: operations without an IAM action: {missing:?}");
        }
    }

    fn botocore_data() -> Option<std::path::PathBuf> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut candidates = Vec::new();
        for venv in [".venv/json", ".venv/query"] {
            if let Ok(entries) = std::fs::read_dir(root.join(venv).join("lib")) {
                candidates.extend(entries.flatten().map(|entry| entry.path().join("site-packages/botocore/data")));
            }
        }
        if let Ok(home) = std::env::var("HOME") {
            if let Ok(entries) = std::fs::read_dir(std::path::Path::new(&home).join(".pyenv/versions")) {
                for entry in entries.flatten() {
                    if let Ok(libs) = std::fs::read_dir(entry.path().join("lib")) {
                        candidates.extend(libs.flatten().map(|lib| lib.path().join("site-packages/botocore/data")));
                    }
                }
            }
        }
        candidates.into_iter().find(|path| path.join("sqs").is_dir())
    }

    /// The operation names of a gzip-compressed botocore model, read with `gzip -dc` (no gzip
    /// crate for one test).
    fn operations_in(bytes: &[u8]) -> Vec<String> {
        use std::io::Write;
        let mut child = std::process::Command::new("gzip")
            .args(["-dc"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("gzip");
        child.stdin.take().expect("stdin").write_all(bytes).expect("write");
        let output = child.wait_with_output().expect("gzip output");
        let model: serde_json::Value = serde_json::from_slice(&output.stdout).expect("model JSON");
        model["operations"].as_object().expect("operations").keys().cloned().collect()
    }
}
