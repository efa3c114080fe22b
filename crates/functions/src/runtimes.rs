//! How each Lambda runtime becomes a command line on this machine.
//!
//! - `python3.x`: the interpreter of that version if it is on `PATH` (or configured), else the
//!   nearest installed `python3.y`, with a warning in the function's log; wharf's own
//!   `bootstrap.py` loads the handler. Python runtimes on AWS include boto3, so wharf puts an
//!   SDK directory on the function's `sys.path` ([`PythonSdk`]).
//! - `nodejs*`: the machine's `node` with wharf's own `bootstrap.js`.
//! - `provided`, `provided.al2`, `provided.al2023`: the package's own `bootstrap` executable.
//!
//! The bootstraps are compiled into the binary and written to the work directory at start-up.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::sync::OnceCell;

/// wharf's Python bootstrap.
pub const PYTHON_BOOTSTRAP: &str = include_str!("../runtimes/python/bootstrap.py");
/// wharf's Node.js bootstrap.
pub const NODE_BOOTSTRAP: &str = include_str!("../runtimes/node/bootstrap.js");

/// The family of a runtime identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `python3.N`.
    Python {
        /// The minor version asked for.
        minor: u32,
    },
    /// `nodejsN.x`.
    Node,
    /// `provided*`: the package's own `bootstrap`.
    Provided,
}

/// Which family a runtime identifier belongs to; `None` for runtimes wharf cannot run
/// (Java, .NET, Ruby).
pub fn family(runtime: &str) -> Option<Family> {
    if let Some(minor) = runtime.strip_prefix("python3.") {
        return minor.parse().ok().map(|minor| Family::Python { minor });
    }
    if runtime.starts_with("nodejs") {
        return Some(Family::Node);
    }
    if runtime == "provided" || runtime.starts_with("provided.") {
        return Some(Family::Provided);
    }
    None
}

/// Machine settings for runtimes.
#[derive(Clone, Debug, Default)]
pub struct RuntimeSettings {
    /// Interpreter per runtime identifier (`python3.12` → `/opt/py312/bin/python3`), overriding
    /// the search on `PATH`.
    pub interpreters: BTreeMap<String, String>,
    /// Refuse a Python version the machine lacks instead of using the nearest one.
    pub strict_python_versions: bool,
    /// The `node` executable.
    pub node: String,
    /// A directory holding boto3 for Python functions; found or installed when absent.
    pub python_sdk_path: Option<PathBuf>,
    /// Where wharf may install the Python SDK when the interpreter lacks boto3.
    pub cache_dir: PathBuf,
}

/// A resolved Python interpreter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interpreter {
    /// The executable.
    pub program: String,
    /// Its minor version.
    pub minor: u32,
}

/// Finds the interpreter for `python3.<minor>`: the configured one, the exact version on
/// `PATH`, or the nearest installed version. The second value is a warning for the log when the
/// version differs.
pub fn python_for(
    settings: &RuntimeSettings,
    runtime: &str,
    minor: u32,
) -> Result<(Interpreter, Option<String>), String> {
    if let Some(program) = settings.interpreters.get(runtime) {
        return Ok((Interpreter { program: program.clone(), minor }, None));
    }
    let installed = installed_pythons();
    if let Some(found) = installed.iter().find(|found| found.minor == minor) {
        return Ok((found.clone(), None));
    }
    let nearest = installed.iter().min_by_key(|found| (found.minor.abs_diff(minor), std::cmp::Reverse(found.minor)));
    match nearest {
        Some(found) if !settings.strict_python_versions => {
            let warning = format!(
                "wharf: {runtime} is not installed on this machine; running on python3.{} instead",
                found.minor
            );
            Ok((found.clone(), Some(warning)))
        }
        Some(_) => {
            Err(format!("{runtime} is not installed on this machine and functions.strict_python_versions is set"))
        }
        None => Err(format!("no python3 interpreter is installed on this machine to run {runtime}")),
    }
}

/// Starts the search for installed Pythons (blocking; call it from a blocking thread).
pub fn warm_up_search() {
    let _ = installed_pythons();
}

/// Set at shutdown: a search still running stops before its next probe, so the process does
/// not wait for (or leave behind) interpreters it no longer needs. A version manager's shims
/// take ~150 ms each to run, and a machine with pyenv has a dozen.
static SEARCH_CANCELLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Stops a running search for installed Pythons at its next probe (see [`SEARCH_CANCELLED`]).
pub fn cancel_search() {
    SEARCH_CANCELLED.store(true, std::sync::atomic::Ordering::Release);
}

/// Every working `python3.N` on `PATH`, found once per process (a version manager's shim that
/// exists but cannot run, as pyenv leaves for versions not selected, is skipped).
fn installed_pythons() -> Vec<Interpreter> {
    // Kept once complete; a search cut short by a shutdown is not kept, so another server in the
    // same process (an embedded one, in a test) searches again.
    static FOUND: std::sync::Mutex<Option<Vec<Interpreter>>> = std::sync::Mutex::new(None);
    let mut found = FOUND.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(list) = found.as_ref() {
        return list.clone();
    }
    SEARCH_CANCELLED.store(false, std::sync::atomic::Ordering::Release);
    let list = search_pythons();
    if !SEARCH_CANCELLED.load(std::sync::atomic::Ordering::Acquire) {
        *found = Some(list.clone());
    }
    list
}

fn search_pythons() -> Vec<Interpreter> {
    let mut found: Vec<Interpreter> = Vec::new();
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(minor) = name.strip_prefix("python3.").and_then(|minor| minor.parse::<u32>().ok()) else {
                continue;
            };
            if SEARCH_CANCELLED.load(std::sync::atomic::Ordering::Acquire) {
                return found;
            }
            if !found.iter().any(|known| known.minor == minor) && is_executable(&entry.path()) && runs(&entry.path()) {
                found.push(Interpreter { program: entry.path().to_string_lossy().into_owned(), minor });
            }
        }
    }
    found.sort_by_key(|interpreter| interpreter.minor);
    found
}

fn runs(path: &Path) -> bool {
    std::process::Command::new(path)
        .args(["-c", "pass"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|status| status.success())
        .unwrap_or(false)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

/// The SDK directory of one interpreter, found once.
type SdkCell = OnceCell<Result<Option<PathBuf>, String>>;

/// The boto3 that Python functions import when their package does not ship one.
///
/// Found once per interpreter: nothing to do if the interpreter already imports boto3; else a
/// virtualenv in the cache directory, created with the interpreter's own `venv` and `pip` the
/// first time and reused by every later start of wharf.
#[derive(Default)]
pub struct PythonSdk {
    /// Per interpreter program: the directory to put on `sys.path`, or `None` when the
    /// interpreter has boto3 itself. Errors are kept so every start reports them.
    resolved: std::sync::Mutex<BTreeMap<String, std::sync::Arc<SdkCell>>>,
}

impl PythonSdk {
    /// The SDK directory for `interpreter`, installing it on first use.
    pub async fn path_for(
        &self,
        settings: &RuntimeSettings,
        interpreter: &Interpreter,
    ) -> Result<Option<PathBuf>, String> {
        if let Some(path) = &settings.python_sdk_path {
            return Ok(Some(path.clone()));
        }
        let cell = {
            let mut resolved = self.resolved.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            std::sync::Arc::clone(resolved.entry(interpreter.program.clone()).or_default())
        };
        cell.get_or_init(|| provision(settings.cache_dir.clone(), interpreter.clone())).await.clone()
    }
}

async fn provision(cache_dir: PathBuf, interpreter: Interpreter) -> Result<Option<PathBuf>, String> {
    let has_boto3 = tokio::process::Command::new(&interpreter.program)
        .args(["-c", "import boto3"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .map(|status| status.success())
        .unwrap_or(false);
    if has_boto3 {
        return Ok(None);
    }
    let venv = cache_dir.join(format!("python3.{}-sdk", interpreter.minor));
    let marker = venv.join("wharf-sdk-ready");
    let site = venv.join("lib").join(format!("python3.{}", interpreter.minor)).join("site-packages");
    if marker.exists() {
        return Ok(Some(site));
    }
    tracing::info!(venv = %venv.display(), "installing boto3 for Python functions (once per machine)");
    let _ = std::fs::remove_dir_all(&venv);
    std::fs::create_dir_all(&cache_dir).map_err(|err| format!("creating {}: {err}", cache_dir.display()))?;
    run(&interpreter.program, &["-m", "venv", &venv.to_string_lossy()]).await?;
    let pip = venv.join("bin").join("python");
    run(&pip.to_string_lossy(), &["-m", "pip", "install", "-q", "--disable-pip-version-check", "boto3"]).await?;
    std::fs::write(&marker, b"boto3\n").map_err(|err| format!("writing {}: {err}", marker.display()))?;
    Ok(Some(site))
}

async fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let output = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|err| format!("running {program}: {err}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("{program} {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_families() {
        assert_eq!(family("python3.12"), Some(Family::Python { minor: 12 }));
        assert_eq!(family("nodejs20.x"), Some(Family::Node));
        assert_eq!(family("provided.al2023"), Some(Family::Provided));
        assert_eq!(family("provided"), Some(Family::Provided));
        assert_eq!(family("java21"), None);
        assert_eq!(family("python2.7"), None);
    }
}
