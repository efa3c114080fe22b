//! `wharf sandbox-exec`: the innermost wrapper of a function's process (internal; wharf starts
//! it, people do not). It runs inside the environment's PID and mount namespaces, gives the
//! environment a private `/tmp`, limits file access with Landlock to what the function needs,
//! then becomes the function's own process (`exec`), so the limits hold for it and every
//! process it starts.
//!
//! It is a subcommand of the wharf binary rather than a `pre_exec` hook because the mounts must
//! happen after `unshare` made the namespaces (Landlock forbids mounting once enforced), and a
//! freshly started single-threaded process may allocate freely, which a `pre_exec` hook in a
//! multi-threaded server may not.

use std::os::fd::AsRawFd as _;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;

use landlock::{
    path_beneath_rules, Access, AccessFs, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};

/// The newest Landlock ABI whose rights wharf asks for: file access (V1–V5) and the scoping of
/// signals and abstract UNIX sockets (V6). Older kernels enforce what they know.
const TARGET_ABI: ABI = ABI::V6;

/// Exit status when the sandbox cannot be set up (as a shell's "cannot execute").
const SETUP_FAILED: i32 = 126;

/// `wharf sandbox-exec` arguments.
#[derive(clap::Args, Debug)]
pub struct SandboxArgs {
    /// A directory or file the function may read and execute (repeatable).
    #[arg(long)]
    read: Vec<PathBuf>,
    /// A directory or file the function may read and change (repeatable).
    #[arg(long)]
    write: Vec<PathBuf>,
    /// A directory mounted on `/tmp` (needs a private mount namespace), which the function
    /// may change.
    #[arg(long)]
    tmp: Option<PathBuf>,
    /// Fail unless Landlock is enforced (wharf's start-up check uses it).
    #[arg(long)]
    require: bool,
    /// The program and its arguments.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

/// Sets the sandbox up and runs the command in it; returns only on failure.
pub fn run(args: SandboxArgs) -> ! {
    match set_up(&args) {
        Ok(status) if args.require && status == RulesetStatus::NotEnforced => {
            eprintln!("wharf sandbox: Landlock is not enforced on this kernel");
            std::process::exit(SETUP_FAILED);
        }
        Ok(_) => {
            let err = std::process::Command::new(&args.command[0]).args(&args.command[1..]).exec();
            eprintln!("wharf sandbox: cannot run {}: {err}", args.command[0]);
            std::process::exit(SETUP_FAILED);
        }
        Err(reason) => {
            eprintln!("wharf sandbox: {reason}");
            std::process::exit(SETUP_FAILED);
        }
    }
}

fn set_up(args: &SandboxArgs) -> Result<RulesetStatus, String> {
    let mut write = args.write.clone();
    if let Some(tmp) = &args.tmp {
        // What the function may read under /tmp (a data directory there, as test suites keep
        // it) is opened first and mounted back into the private /tmp at the same path.
        let kept: Vec<(&PathBuf, std::fs::File)> = args
            .read
            .iter()
            .filter(|path| path.starts_with("/tmp") && path.as_path() != std::path::Path::new("/tmp"))
            .filter_map(|path| std::fs::File::open(path).ok().map(|handle| (path, handle)))
            .collect();
        rustix::mount::mount_bind_recursive(tmp, "/tmp")
            .map_err(|err| format!("mounting {} on /tmp: {err}", tmp.display()))?;
        for (path, handle) in &kept {
            let is_dir = handle.metadata().is_ok_and(|meta| meta.is_dir());
            let made = if is_dir {
                std::fs::create_dir_all(path)
            } else {
                path.parent()
                    .map_or(Ok(()), std::fs::create_dir_all)
                    .and_then(|()| std::fs::File::create(path).map(drop))
            };
            made.map_err(|err| format!("making {} in the private /tmp: {err}", path.display()))?;
            let source = format!("/proc/self/fd/{}", handle.as_raw_fd());
            rustix::mount::mount_bind_recursive(source.as_str(), path.as_path())
                .map_err(|err| format!("mounting {} back under the private /tmp: {err}", path.display()))?;
        }
        write.push("/tmp".into());
    }
    if rustix::process::geteuid().is_root() {
        drop_capabilities()?;
    }
    let read_rights = AccessFs::from_read(TARGET_ABI);
    let all_rights = AccessFs::from_all(TARGET_ABI);
    // Best effort (the crate's default): an older kernel enforces the rights it knows.
    let status = Ruleset::default()
        .handle_access(all_rights)
        .and_then(|ruleset| ruleset.scope(Scope::from_all(TARGET_ABI)))
        .and_then(|ruleset| ruleset.create())
        // Paths that do not exist on this machine are left out.
        .and_then(|ruleset| ruleset.add_rules(path_beneath_rules(&args.read, read_rights)))
        .and_then(|ruleset| ruleset.add_rules(path_beneath_rules(&write, all_rights)))
        .and_then(|ruleset| ruleset.restrict_self())
        .map_err(|err| format!("Landlock: {err}"))?;
    Ok(status.ruleset)
}

/// Root's powers go: every capability leaves the bounding, ambient, effective, permitted and
/// inheritable sets, so the function keeps uid 0 (and the files root owns, such as an
/// interpreter under `/root`) but cannot mount, load modules, trace, override file modes or
/// regain a capability by executing anything.
fn drop_capabilities() -> Result<(), String> {
    use rustix::thread::{CapabilitySet, CapabilitySets};
    for capability in CapabilitySet::all().iter() {
        match rustix::thread::remove_capability_from_bounding_set(capability) {
            // A capability this kernel does not know.
            Ok(()) | Err(rustix::io::Errno::INVAL) => {}
            Err(err) => return Err(format!("dropping capabilities: {err}")),
        }
    }
    let _ = rustix::thread::clear_ambient_capability_set();
    let none = CapabilitySet::empty();
    rustix::thread::set_capabilities(None, CapabilitySets { effective: none, permitted: none, inheritable: none })
        .map_err(|err| format!("dropping capabilities: {err}"))
}
