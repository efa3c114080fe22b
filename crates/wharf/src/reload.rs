//! Applying the configuration file again while wharf runs: on SIGHUP, and when the file
//! changes (inotify on its directory, so an editor's write-and-rename is seen as well as a
//! write in place). A burst of events (an editor writes, renames, sets attributes) becomes one
//! apply after 100 ms of quiet.

use crate::serve::Front;
use std::sync::Arc;
use std::time::Duration;

/// How long the file must stay quiet before it is read.
const SETTLE: Duration = Duration::from_millis(100);

/// Starts the SIGHUP handler and the watcher of `front`'s configuration file (nothing for an
/// embedded server, no watcher without a file); abort the handles to stop them.
pub(crate) fn watch(front: &Arc<Front>) -> Vec<tokio::task::JoinHandle<()>> {
    let Some(path) = front.rereads().map(|path| path.map(std::path::Path::to_path_buf)) else { return Vec::new() };
    let (changed, mut changes) = tokio::sync::mpsc::channel::<&'static str>(16);
    let mut tasks = Vec::new();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut hangups) => {
            let changed = changed.clone();
            tasks.push(tokio::spawn(async move {
                while hangups.recv().await.is_some() {
                    let _ = changed.send("SIGHUP").await;
                }
            }));
        }
        Err(err) => tracing::warn!(error = %err, "cannot handle SIGHUP: the configuration is applied only at start"),
    }
    match path.as_deref().map(FileWatch::new) {
        Some(Ok(mut watch)) => {
            tasks.push(tokio::spawn(async move {
                while watch.changed().await {
                    let _ = changed.send("file changed").await;
                }
            }));
        }
        Some(Err(err)) => {
            tracing::warn!(error = %err, "cannot watch the configuration file: apply changes with SIGHUP")
        }
        None => {}
    }
    let front = Arc::clone(front);
    tasks.push(tokio::spawn(async move {
        while let Some(why) = changes.recv().await {
            // Let the burst settle, then take everything that came meanwhile as one change.
            tokio::time::sleep(SETTLE).await;
            while changes.try_recv().is_ok() {}
            tracing::info!(why, "applying the configuration again");
            front.reload().await;
        }
    }));
    tasks
}

/// An inotify watch of one file's directory, reporting events that name the file.
///
/// Written on rustix's inotify rather than with a file-watching crate: one directory, three
/// event kinds and tokio's `AsyncFd` are all it needs.
struct FileWatch {
    fd: tokio::io::unix::AsyncFd<rustix::fd::OwnedFd>,
    name: std::ffi::OsString,
}

impl FileWatch {
    fn new(path: &std::path::Path) -> std::io::Result<FileWatch> {
        use rustix::fs::inotify;
        let absolute = std::path::absolute(path)?;
        let directory = absolute.parent().unwrap_or(std::path::Path::new("/")).to_path_buf();
        let name = absolute.file_name().map(ToOwned::to_owned).unwrap_or_default();
        let fd = inotify::init(inotify::CreateFlags::NONBLOCK | inotify::CreateFlags::CLOEXEC)?;
        let events = inotify::WatchFlags::CLOSE_WRITE | inotify::WatchFlags::MOVED_TO | inotify::WatchFlags::CREATE;
        inotify::add_watch(&fd, &directory, events)?;
        // `AsyncFd::new` is deprecated because a borrowed descriptor could be closed while
        // registered; this one is owned by the AsyncFd itself, and `register` needs unsafe.
        #[allow(deprecated)]
        let fd = tokio::io::unix::AsyncFd::new(fd)?;
        Ok(FileWatch { fd, name })
    }

    /// Waits for an event naming the file; false if the watch broke.
    async fn changed(&mut self) -> bool {
        use std::os::unix::ffi::OsStrExt as _;
        loop {
            let mut ready = match self.fd.readable().await {
                Ok(ready) => ready,
                Err(_) => return false,
            };
            let mut buffer = [std::mem::MaybeUninit::<u8>::uninit(); 4096];
            let mut reader = rustix::fs::inotify::Reader::new(self.fd.get_ref(), &mut buffer);
            let mut named = false;
            loop {
                match reader.next() {
                    Ok(event) => {
                        named |= event.file_name().is_some_and(|name| name.to_bytes() == self.name.as_bytes());
                    }
                    Err(rustix::io::Errno::AGAIN) => {
                        ready.clear_ready();
                        break;
                    }
                    Err(_) => return false,
                }
            }
            if named {
                return true;
            }
        }
    }
}

/// The settings (outside the declared stack) whose values differ between two readings of the
/// file, as dotted paths.
pub(crate) fn changed_settings(before: &toml::Table, after: &toml::Table) -> Vec<String> {
    /// Keys of the declared stack, applied live.
    const DECLARED: &[&str] =
        &["prune", "sqs.queues", "functions.declare", "functions.mappings", "events", "logs", "iam"];
    let mut changed = Vec::new();
    walk(before, after, "", &mut |path| {
        if !DECLARED.iter().any(|declared| path == *declared || path.starts_with(&format!("{declared}."))) {
            changed.push(path.to_owned());
        }
    });
    changed
}

fn walk(before: &toml::Table, after: &toml::Table, prefix: &str, report: &mut dyn FnMut(&str)) {
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for key in keys {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match (before.get(key), after.get(key)) {
            (Some(toml::Value::Table(old)), Some(toml::Value::Table(new))) => walk(old, new, &path, report),
            (old, new) if old != new => report(&path),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_settings_outside_the_declared_stack_are_reported() {
        let before: toml::Table =
            "bind = \"a\"\n[sqs]\npurge_interval_seconds = 60\nqueues = []\n".parse().expect("toml");
        let after: toml::Table =
            "bind = \"a\"\nprune = true\n[sqs]\npurge_interval_seconds = 0\nqueues = [{ name = \"q\" }]\n[server]\nx = 1\n"
                .parse()
                .expect("toml");
        assert_eq!(super::changed_settings(&before, &after), ["server", "sqs.purge_interval_seconds"]);
    }
}
