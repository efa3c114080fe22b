//! Containment of function processes: every process an environment starts dies with it, and
//! only the environment's own processes can talk to its Runtime API.
//!
//! # Containment modes (chosen once, at start, by [`Containment::detect`])
//! - `PidNamespace`: each environment runs as process 1 of its own PID namespace, with its own
//!   `/proc` (`unshare --pid --fork --kill-child --mount-proc`, wrapped in `setpriv --pdeathsig
//!   KILL`). When the environment is stopped — a timeout, an idle stop, DeleteFunction, wharf's
//!   shutdown — or when wharf dies of SIGKILL, the chain `setpriv`/`unshare` → process 1 dies,
//!   and the kernel kills every process left in the namespace: background children, daemons
//!   in a new session, processes that ignore SIGTERM. A function sees only its own processes
//!   in `/proc`, so it cannot read another environment's environment variables. Needs root or
//!   unprivileged user namespaces (then `--user --map-root-user` is added).
//! - `DeathSignal`: only `setpriv --pdeathsig KILL`; the direct child dies with wharf, but
//!   processes it starts in the background can outlive it. Used where namespaces are refused.
//! - `Plain`: neither tool exists; processes are killed when their environment stops.
//!
//! # File access (the sandbox)
//! When [`Sandbox`] is set and the kernel has Landlock, the innermost wrapper is
//! `wharf sandbox-exec`: inside the environment's namespaces it mounts a private directory on
//! `/tmp` (removed with the environment), then limits the process and everything it starts to
//! reading and executing its code, the runtime's installation, wharf's bootstraps and the
//! system's directories, and to writing its `/tmp` and a few device files. wharf's data
//! directory, the other functions' code and home directories are out of reach. Signals and
//! abstract UNIX sockets are scoped to the environment too (Landlock ABI 6).
//!
//! # Runtime API ownership
//! A Runtime API port is only a loopback port, which any local process can connect to.
//! [`connection_from_tree`] asks the kernel who opened a connection: it finds the socket of
//! the client end in `/proc/net/tcp` and looks for it among the file descriptors of the
//! environment's processes. A connection from anywhere else is closed unanswered, so a function
//! cannot take another function's events or answer for it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How function processes are tied to their environment and to wharf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Containment {
    /// A PID namespace per environment; `user_namespace` when an unprivileged user namespace
    /// was needed to create it.
    PidNamespace {
        /// Whether the namespace needs `--user --map-root-user` (wharf is not root).
        user_namespace: bool,
    },
    /// `setpriv --pdeathsig KILL` only.
    DeathSignal,
    /// No wrapper available.
    Plain,
}

const UNSHARE: [&str; 5] = ["unshare", "--pid", "--fork", "--kill-child=SIGKILL", "--mount-proc"];
const USER_NAMESPACE: [&str; 2] = ["--user", "--map-root-user"];
const SETPRIV: [&str; 4] = ["setpriv", "--pdeathsig", "KILL", "--"];

fn runs(args: &[String]) -> bool {
    Command::new(&args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

impl Containment {
    /// The strongest mode this machine allows, found by trying it once (a few milliseconds).
    pub fn detect() -> Containment {
        let strongest_first = [
            Containment::PidNamespace { user_namespace: false },
            Containment::PidNamespace { user_namespace: true },
            Containment::DeathSignal,
        ];
        strongest_first.into_iter().find(|mode| runs(&mode.wrap(vec!["true".into()]))).unwrap_or(Containment::Plain)
    }

    /// `command` wrapped so that it runs contained.
    pub fn wrap(&self, command: Vec<String>) -> Vec<String> {
        let mut wrapped: Vec<String> = Vec::new();
        match self {
            Containment::PidNamespace { user_namespace } => {
                wrapped.extend(SETPRIV.map(String::from));
                wrapped.push(UNSHARE[0].into());
                if *user_namespace {
                    wrapped.extend(USER_NAMESPACE.map(String::from));
                }
                wrapped.extend(UNSHARE[1..].iter().map(|arg| (*arg).to_owned()));
                wrapped.push("--".into());
            }
            Containment::DeathSignal => wrapped.extend(SETPRIV.map(String::from)),
            Containment::Plain => {}
        }
        wrapped.extend(command);
        wrapped
    }

    /// Words for the start-up log and the docs.
    pub fn describe(&self) -> &'static str {
        match self {
            Containment::PidNamespace { user_namespace: false } => "a PID namespace per environment",
            Containment::PidNamespace { user_namespace: true } => {
                "a PID namespace per environment (in a user namespace)"
            }
            Containment::DeathSignal => "parent-death signal only: background processes of a function can outlive it",
            Containment::Plain => "none: background processes of a function can outlive it",
        }
    }
}

/// What every sandboxed function may read and execute: the system's programs and libraries,
/// its own (namespaced) `/proc`, and the parts of `/etc` that programs read to run (the loader's
/// cache, name resolution, users and groups, time zone, TLS roots, interpreters' settings),
/// not `/etc` as a whole, which holds secrets root can read (`shadow`, SSH host keys). Paths
/// missing on a machine are skipped. [`system_read_paths`] adds the interpreters' `/etc`
/// directories found on the machine.
pub const SYSTEM_READ_PATHS: [&str; 45] = [
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/opt",
    "/nix/store",
    "/proc",
    "/sys/fs/cgroup",
    "/sys/devices/system/cpu",
    "/dev/urandom",
    "/dev/random",
    "/dev/fd",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/hosts",
    "/etc/hostname",
    "/etc/resolv.conf",
    "/etc/gai.conf",
    "/etc/services",
    "/etc/protocols",
    "/etc/networks",
    "/etc/passwd",
    "/etc/group",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/os-release",
    "/etc/debian_version",
    "/etc/mime.types",
    "/etc/locale.alias",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/pki",
    "/etc/crypto-policies",
    "/etc/pip.conf",
    "/etc/npmrc",
    "/etc/gitconfig",
    "/etc/magic",
    "/etc/inputrc",
];

/// [`SYSTEM_READ_PATHS`] and the interpreters' settings in `/etc` (`/etc/python3`, and
/// Debian's `/etc/python3.N`, which its interpreters' `sitecustomize` reads).
pub fn system_read_paths() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = SYSTEM_READ_PATHS.iter().map(PathBuf::from).collect();
    if let Ok(entries) = std::fs::read_dir("/etc") {
        paths.extend(
            entries
                .flatten()
                .filter(|entry| entry.file_name().to_string_lossy().starts_with("python"))
                .map(|entry| entry.path()),
        );
    }
    paths
}

/// Device files every sandboxed function may write. There is no `/dev/shm`, as on Lambda.
pub const DEVICE_WRITE_PATHS: [&str; 3] = ["/dev/null", "/dev/zero", "/dev/full"];

/// File-access limits of function processes, applied by `wharf sandbox-exec`.
#[derive(Clone, Debug)]
pub struct Sandbox {
    /// The wharf executable (it has the `sandbox-exec` subcommand).
    pub helper: PathBuf,
    /// What every function may read and execute, beyond its own code and runtime: the
    /// system's directories, the configured runtimes' installations, the user's extra paths.
    pub read: Vec<PathBuf>,
    /// Where each environment's private `/tmp` is made (emptied at start).
    pub scratch_dir: PathBuf,
}

impl Sandbox {
    /// The wrapper arguments for one environment: `function_read` on top of [`Sandbox::read`],
    /// and `tmp` as its `/tmp` when the containment gives it a mount namespace (else the
    /// machine's `/tmp` stays writable, shared).
    pub fn wrapper(&self, function_read: &[PathBuf], tmp: &Path, containment: Containment) -> Vec<String> {
        let mut args = vec![self.helper.to_string_lossy().into_owned(), "sandbox-exec".to_owned()];
        for path in self.read.iter().chain(function_read) {
            args.push("--read".into());
            args.push(path.to_string_lossy().into_owned());
        }
        for path in DEVICE_WRITE_PATHS {
            args.push("--write".into());
            args.push(path.into());
        }
        if matches!(containment, Containment::PidNamespace { .. }) {
            args.push("--tmp".into());
            args.push(tmp.to_string_lossy().into_owned());
        } else {
            args.push("--write".into());
            args.push("/tmp".into());
        }
        args.push("--".into());
        args
    }

    /// Whether the sandbox works here: `wharf sandbox-exec --require` runs `true` under
    /// `containment` (Landlock enforced, the `/tmp` mount allowed). The reason when not.
    pub fn check(&self, containment: Containment) -> Result<(), String> {
        std::fs::create_dir_all(&self.scratch_dir).map_err(|err| format!("{}: {err}", self.scratch_dir.display()))?;
        let probe = self.scratch_dir.join("probe");
        std::fs::create_dir_all(&probe).map_err(|err| format!("{}: {err}", probe.display()))?;
        let mut command = self.wrapper(&[], &probe, containment);
        command.insert(2, "--require".into());
        command.push("true".into());
        let command = containment.wrap(command);
        let output = Command::new(&command[0])
            .args(&command[1..])
            .stdin(Stdio::null())
            .output()
            .map_err(|err| format!("{}: {err}", command[0]))?;
        let _ = std::fs::remove_dir_all(&probe);
        if output.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
        }
    }
}

/// The installation a program belongs to, for the sandbox: the directory above the one that
/// holds it (`/usr` for `/usr/bin/python3`, the root of a virtualenv, of a pyenv or of an nvm
/// version), for the program as named and for the file it links to. A bare name is looked up
/// on `PATH`.
pub fn installation_of(program: &str) -> Vec<PathBuf> {
    let named = if program.contains('/') {
        Some(PathBuf::from(program))
    } else {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| candidate.is_file())
        })
    };
    let Some(named) = named else { return Vec::new() };
    let mut found = Vec::new();
    for path in [Some(named.clone()), named.canonicalize().ok()].into_iter().flatten() {
        if let Some(root) = path.parent().and_then(Path::parent) {
            if root != Path::new("/") && !found.iter().any(|known: &PathBuf| known == root) {
                found.push(root.to_path_buf());
            }
        }
    }
    found
}

/// The direct children of a process (Linux `/proc/PID/task/*/children`).
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
    let mut found = Vec::new();
    for task in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            found.extend(text.split_whitespace().filter_map(|word| word.parse::<u32>().ok()));
        }
    }
    found
}

/// `root` and all its descendants, at most `limit` of them.
pub fn process_tree(root: u32, limit: usize) -> Vec<u32> {
    let mut tree = vec![root];
    let mut next = 0;
    while next < tree.len() && tree.len() < limit {
        let parent = tree[next];
        next += 1;
        for child in children(parent) {
            if !tree.contains(&child) {
                tree.push(child);
            }
        }
    }
    tree.truncate(limit);
    tree
}

/// The process that runs the function itself: the first process under the wrappers (whose
/// memory the REPORT line shows), or `pid` when it has no child.
pub fn main_process(pid: u32, containment: Containment) -> u32 {
    match containment {
        Containment::PidNamespace { .. } => children(pid).into_iter().min().unwrap_or(pid),
        Containment::DeathSignal | Containment::Plain => pid,
    }
}

/// The inode of the socket whose local end is `client` and remote end `server`, from
/// `/proc/net/tcp` (IPv4 loopback: the Runtime API listens on 127.0.0.1).
fn socket_inode(client: SocketAddr, server: SocketAddr) -> Option<u64> {
    let (SocketAddr::V4(client), SocketAddr::V4(server)) = (client, server) else { return None };
    // The kernel prints addresses as the 32-bit value in host byte order, then the port.
    let hex = |address: &std::net::SocketAddrV4| {
        format!("{:08X}:{:04X}", u32::from_ne_bytes(address.ip().octets()), address.port())
    };
    let (local, remote) = (hex(&client), hex(&server));
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.len() > 9 && fields[1] == local && fields[2] == remote).then(|| fields[9].parse().ok()).flatten()
    })
}

/// Whether the TCP connection from `peer` to `server` was opened by `root` or one of its
/// descendants. Reads `/proc`, so call it off the async threads.
pub fn connection_from_tree(root: u32, peer: SocketAddr, server: SocketAddr) -> bool {
    let Some(inode) = socket_inode(peer, server) else { return false };
    let wanted = format!("socket:[{inode}]");
    process_tree(root, 4096).into_iter().any(|pid| {
        let Ok(descriptors) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return false };
        descriptors.flatten().any(|descriptor| {
            std::fs::read_link(descriptor.path()).is_ok_and(|target| target.as_os_str() == wanted.as_str())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_puts_the_tools_first() {
        let command = vec!["python3".to_owned(), "bootstrap.py".to_owned()];
        let wrapped = Containment::PidNamespace { user_namespace: false }.wrap(command.clone());
        assert_eq!(wrapped[..4], ["setpriv", "--pdeathsig", "KILL", "--"]);
        assert!(wrapped.contains(&"--kill-child=SIGKILL".to_owned()));
        assert_eq!(wrapped[wrapped.len() - 2..], command[..]);
        assert_eq!(Containment::Plain.wrap(command.clone()), command);
    }

    #[test]
    fn an_installation_is_the_directory_above_the_programs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("versions").join("3.12").join("bin");
        std::fs::create_dir_all(&bin).expect("bin");
        std::fs::write(bin.join("python3.12"), b"").expect("python");
        let shims = dir.path().join("shims");
        std::fs::create_dir_all(&shims).expect("shims");
        std::os::unix::fs::symlink(bin.join("python3.12"), shims.join("python3")).expect("link");
        let found = installation_of(&shims.join("python3").to_string_lossy());
        let real = dir.path().canonicalize().expect("canonical");
        assert_eq!(found[0], dir.path());
        assert_eq!(found[1], real.join("versions").join("3.12"));
        assert!(installation_of("/no/such/bin/python").iter().all(|path| path == Path::new("/no/such")));
        assert!(installation_of("/python").is_empty(), "the root is never an installation");
    }

    #[test]
    fn the_sandbox_wrapper_gives_a_private_tmp_only_with_a_mount_namespace() {
        let sandbox = Sandbox { helper: "/bin/wharf".into(), read: vec!["/usr".into()], scratch_dir: "/s".into() };
        let namespaced =
            sandbox.wrapper(&["/code".into()], Path::new("/s/e1"), Containment::PidNamespace { user_namespace: false });
        assert_eq!(namespaced[..2], ["/bin/wharf", "sandbox-exec"]);
        assert!(namespaced.windows(2).any(|pair| pair == ["--read", "/code"]));
        assert!(namespaced.windows(2).any(|pair| pair == ["--tmp", "/s/e1"]));
        assert_eq!(namespaced.last().map(String::as_str), Some("--"));
        let plain = sandbox.wrapper(&[], Path::new("/s/e1"), Containment::DeathSignal);
        assert!(plain.windows(2).any(|pair| pair == ["--write", "/tmp"]));
        assert!(!plain.contains(&"--tmp".to_owned()));
    }

    #[test]
    fn a_connection_is_traced_to_the_process_that_opened_it() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let server = listener.local_addr().expect("addr");
        let client = std::net::TcpStream::connect(server).expect("connect");
        let (_accepted, peer) = listener.accept().expect("accept");
        assert_eq!(peer, client.local_addr().expect("local"));
        assert!(connection_from_tree(std::process::id(), peer, server));
        // A process that is not an ancestor of the client's owner does not own it.
        let mut other = Command::new("sleep").arg("5").spawn().expect("sleep");
        assert!(!connection_from_tree(other.id(), peer, server));
        let _ = other.kill();
        let _ = other.wait();
    }
}
