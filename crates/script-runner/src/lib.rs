//! One runner for every script keepalived runs: VRRP tracking scripts and notifies, sync-group
//! notifies, the checker's `notify_up`/`notify_down`/`quorum_up`/`quorum_down` and MISC_CHECK.
//!
//! - [`split`]: a command line into argv with keepalived's quoting and escapes;
//! - [`Policy::prepare`]: who the script runs as (`user`, `script_user`, `keepalived_script`)
//!   and whether it may run (`enable_script_security`, keepalived's `check_script_secure`); the
//!   error says which path component is unsafe and why;
//! - [`Script::run`]: in its own process group, stdio on `/dev/null`, `IFS`, `LD_PRELOAD` and
//!   `LD_LIBRARY_PATH` removed, as the chosen uid/gid (supplementary groups dropped), no
//!   descriptor but 0, 1 and 2 (keepalived 2.3.4's `close_range()` before exec); at the
//!   timeout SIGTERM to the group and SIGKILL [`KILL_GRACE`] later.
//!
//! keepalived checks scripts once when it reads the configuration; callers do the same with
//! [`Policy::prepare`] and keep the [`Script`]. Not done here: keepalived's `PR_SET_PDEATHSIG`
//! (it needs code between fork and exec; a script outlives a crashed daemon) and its libmagic
//! test for a missing `#!` line.

#![warn(missing_docs)]

mod argv;
mod secure;

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

pub use argv::{shell_line, split, SplitError};
pub use secure::{check_path, Identity, Unsafe};

/// Gives a notify FIFO the owner named after its path in the configuration (`notify_fifo PATH
/// USER [GROUP]`: user, optional group), logging keepalived's line when that fails.
pub fn chown_fifo(path: &str, owner: &(String, Option<String>)) {
    let uid = match nix::unistd::User::from_name(&owner.0) {
        Ok(Some(u)) => u.uid,
        _ => {
            log::info!("Failed to set uid:gid for fifo {path}");
            return;
        }
    };
    let gid = owner
        .1
        .as_deref()
        .and_then(|g| nix::unistd::Group::from_name(g).ok().flatten())
        .map(|g| g.gid);
    if nix::unistd::chown(path, Some(uid), gid).is_err() {
        log::info!("Failed to set uid:gid for fifo {path}");
    }
}

/// Grace between SIGTERM and SIGKILL when a script times out (keepalived: 2 s).
pub const KILL_GRACE: Duration = Duration::from_secs(2);

/// Why a script is not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScriptError {
    /// The command line does not split.
    #[error(transparent)]
    Split(#[from] SplitError),
    /// No program.
    #[error("empty command")]
    Empty,
    /// A named user does not exist.
    #[error("user {0} does not exist")]
    NoUser(String),
    /// A named group does not exist.
    #[error("group {0} does not exist")]
    NoGroup(String),
    /// The user or group database failed.
    #[error("looking up {name}: {err}")]
    Lookup {
        /// User or group name.
        name: String,
        /// The error.
        err: String,
    },
    /// Under `enable_script_security`, with no `user` and no `script_user`, keepalived runs
    /// scripts as `keepalived_script` only, never as itself.
    #[error(
        "no script_user and no keepalived_script user: enable_script_security does not let \
         scripts run as the daemon's user"
    )]
    NoDefaultUser,
    /// A bare name not found in `PATH`.
    #[error("cannot find script {0} in PATH")]
    NotInPath(String),
    /// A bare name found in `PATH` but not executable.
    #[error("permissions failure for script {0} in PATH")]
    PathPermission(String),
    /// The script or a directory on its path cannot be reached.
    #[error("script {path} cannot be accessed: {err}")]
    NotFound {
        /// The script.
        path: String,
        /// Why.
        err: String,
    },
    /// Not executable by the user it runs as.
    #[error("script {path} is not executable for uid:gid {uid}:{gid}")]
    NotExecutable {
        /// The script.
        path: String,
        /// Its uid.
        uid: u32,
        /// Its gid.
        gid: u32,
    },
    /// A component before the last is not a directory, or the last neither a file nor a link.
    #[error("wrong file type in script path {path}: {component}")]
    WrongType {
        /// The script.
        path: String,
        /// The component.
        component: String,
    },
    /// `enable_script_security`: someone other than root could replace what runs as root.
    #[error("unsafe permissions for script {path} (enable_script_security): {component} {why}")]
    Insecure {
        /// The script.
        path: String,
        /// The first unsafe component of its path.
        component: String,
        /// Why it is unsafe.
        why: Unsafe,
    },
}

/// The global script settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Policy {
    /// `global_defs script_user USER [GROUP]`.
    pub script_user: Option<(String, Option<String>)>,
    /// `global_defs enable_script_security`.
    pub security: bool,
    /// `global_defs use_symlink_paths` (keepalived 2.4): execute the path as written (cleaned
    /// of `//`, `/./`, `/../`) instead of the one its symbolic links resolve to when the
    /// configuration is read, so that repointing a link changes what runs.
    pub keep_symlinks: bool,
    /// Programs resolved when the configuration was read ([`Policy::pin`]): without
    /// `use_symlink_paths` keepalived runs the file a link pointed to then, not the one it
    /// points to when the script runs.
    pub pins: Pins,
}

/// The programs of [`Policy::pin`], by the command's first word as written. A cache of what
/// the file system showed, not configuration: two `Pins` are always equal (a reload whose
/// scripts resolve elsewhere is no configuration change; the new pins are used).
#[derive(Debug, Clone, Default)]
pub struct Pins(BTreeMap<String, PathBuf>);

impl PartialEq for Pins {
    fn eq(&self, _: &Pins) -> bool {
        true
    }
}

impl Eq for Pins {}

impl std::hash::Hash for Pins {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

impl Policy {
    /// Splits `command`, chooses its user (`own`: the script's `user [group]`) and checks it as
    /// keepalived does when it reads its configuration.
    pub fn prepare(
        &self,
        command: &str,
        own: Option<(&str, Option<&str>)>,
    ) -> Result<Script, ScriptError> {
        self.prepare_argv(split(command)?, own)
    }

    /// [`Policy::prepare`] for a command already split.
    pub fn prepare_argv(
        &self,
        mut argv: Vec<String>,
        own: Option<(&str, Option<&str>)>,
    ) -> Result<Script, ScriptError> {
        if argv.is_empty() {
            return Err(ScriptError::Empty);
        }
        let default = self
            .script_user
            .as_ref()
            .map(|(u, g)| (u.as_str(), g.as_deref()));
        let who = secure::resolve_user(own, default, self.security)?;
        let written = argv[0].clone();
        let checked = secure::check(&mut argv, who, self.security, self.keep_symlinks)?;
        let program = match self.pins.0.get(&written) {
            Some(p) if !self.keep_symlinks && !checked.shell => p.clone(),
            _ => checked.program,
        };
        Ok(Script {
            argv,
            program,
            shell: checked.shell,
            who,
        })
    }

    /// Without `use_symlink_paths`, resolves the programs of `commands` (given by path) now,
    /// as keepalived does when it reads its configuration, so that later runs execute those
    /// files even if a link is repointed; with it, nothing (the link is followed when the
    /// script runs). Commands that do not resolve are left to be refused when they run.
    pub fn pin<'a>(&mut self, commands: impl IntoIterator<Item = &'a str>) {
        if self.keep_symlinks {
            return;
        }
        for c in commands {
            let Ok(argv) = split(c) else { continue };
            let Some(written) = argv
                .first()
                .filter(|a| a.contains('/') && !a.starts_with('<'))
            else {
                continue;
            };
            if let Ok(real) = std::fs::canonicalize(written) {
                self.pins.0.insert(written.clone(), real);
            }
        }
    }

    /// The user (and group) a script runs as, by name: its own, else `script_user`, else
    /// `keepalived_script` if it exists; `None`: ourselves (refused under
    /// `enable_script_security`). The names are checked to exist.
    pub fn user_names(
        &self,
        own: Option<(&str, Option<&str>)>,
    ) -> Result<Option<(String, Option<String>)>, ScriptError> {
        let default = self
            .script_user
            .as_ref()
            .map(|(u, g)| (u.as_str(), g.as_deref()));
        if let Some((u, g)) = own.or(default) {
            secure::lookup_user(u, g)?;
            return Ok(Some((u.to_string(), g.map(String::from))));
        }
        secure::resolve_user(None, None, self.security)?;
        Ok(secure::lookup_user("keepalived_script", None)
            .ok()
            .map(|_| ("keepalived_script".to_string(), None)))
    }
}

/// A script run as exactly `user [group]` (`None`: as ourselves), checked as
/// [`Policy::prepare`] does (`security`: `enable_script_security`) — for a caller that chose
/// the user itself (see [`Policy::user_names`]).
pub fn prepare_as(
    argv: Vec<String>,
    user: Option<(&str, Option<&str>)>,
    security: bool,
) -> Result<Script, ScriptError> {
    prepare_as_keeping(argv, user, security, false)
}

/// [`prepare_as`] with `use_symlink_paths` (`keep_symlinks`, see [`Policy::keep_symlinks`]).
pub fn prepare_as_keeping(
    mut argv: Vec<String>,
    user: Option<(&str, Option<&str>)>,
    security: bool,
    keep_symlinks: bool,
) -> Result<Script, ScriptError> {
    let who = match user {
        Some((u, g)) => secure::lookup_user(u, g)?,
        None => Identity::ours(),
    };
    let checked = secure::check(&mut argv, who, security, keep_symlinks)?;
    Ok(Script {
        argv,
        program: checked.program,
        shell: checked.shell,
        who,
    })
}

/// A script ready to run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Script {
    /// Its words; `argv[0]` as written (a bare name: the path it resolved to).
    pub argv: Vec<String>,
    /// What is executed: the resolved path (symbolic links followed, as keepalived does), or
    /// with `use_symlink_paths` the path as written, cleaned.
    pub program: PathBuf,
    /// Run as `/bin/sh -c` (a `</file` test).
    pub shell: bool,
    /// Who it runs as.
    pub who: Identity,
}

/// How a run ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// Exited with this code.
    Exited(i32),
    /// Killed by this signal.
    Signaled(i32),
    /// Still running at the timeout: its process group was killed.
    TimedOut,
    /// It could not be started (or waited for).
    Failed(std::io::Error),
}

/// A step of a run that [`Script::run_observed`] reports (keepalived's `SCRIPT_STATE_*` but
/// idle, which is the time between runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunPhase {
    /// Started, not timed out.
    Running,
    /// Timed out: SIGTERM sent to its process group.
    RequestingTermination,
    /// Still there [`KILL_GRACE`] after SIGTERM: SIGKILL sent.
    ForcingTermination,
}

impl Outcome {
    /// Exit code 0.
    pub fn success(&self) -> bool {
        matches!(self, Outcome::Exited(0))
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Exited(c) => write!(f, "exited with status {c}"),
            Outcome::Signaled(s) => write!(f, "killed by signal {s}"),
            Outcome::TimedOut => write!(f, "timed out; killed"),
            Outcome::Failed(e) => write!(f, "cannot run: {e}"),
        }
    }
}

/// `RLIMIT_CORE` (soft, hard) every script starts with, when the daemon changed its own.
static CHILD_CORE_LIMIT: std::sync::OnceLock<(u64, u64)> = std::sync::OnceLock::new();

/// Scripts started from now on get `RLIMIT_CORE` (soft, hard): the limit the daemon started
/// with, when `-m`/`-M` raised its own (keepalived's `set_child_rlimit`). Set once.
pub fn set_child_core_limit(soft: u64, hard: u64) {
    let _ = CHILD_CORE_LIMIT.set((soft, hard));
}

impl Script {
    /// The command line, for logs.
    pub fn line(&self) -> String {
        shell_line(&self.argv)
    }

    /// The command with `extra` arguments appended, set up as described in the crate
    /// documentation (not started). The child is killed if the handle is dropped.
    pub fn command(&self, extra: &[String]) -> tokio::process::Command {
        let mut cmd = if self.shell {
            let mut all = self.argv.clone();
            all.extend(extra.iter().cloned());
            let mut c = tokio::process::Command::new("/bin/sh");
            c.arg("-c").arg(shell_line(&all));
            c
        } else {
            let mut c = tokio::process::Command::new(&self.program);
            if let Some((argv0, _)) = self.argv.split_first() {
                c.arg0(argv0);
            }
            c.args(self.argv.iter().skip(1)).args(extra);
            c
        };
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .env_remove("IFS")
            .env_remove("LD_PRELOAD")
            .env_remove("LD_LIBRARY_PATH")
            .kill_on_drop(true);
        // keepalived 2.3.4: a script starts with a closed descriptor table (0, 1, 2 only).
        netplat::process::child_close_fds(cmd.as_std_mut());
        if let Some(&(soft, hard)) = CHILD_CORE_LIMIT.get() {
            netplat::process::child_rlimit_core(cmd.as_std_mut(), soft, hard);
        }
        let ours = Identity::ours();
        // std sets the gid first, drops supplementary groups when it changes the uid as root.
        if self.who != ours {
            cmd.uid(self.who.uid).gid(self.who.gid);
        }
        cmd
    }

    /// Runs the script with `extra` arguments and waits for it, at most `timeout` (`None`: no
    /// limit). At the timeout its process group gets SIGTERM, and SIGKILL [`KILL_GRACE`] later
    /// if it is still there.
    pub async fn run(&self, extra: &[String], timeout: Option<Duration>) -> Outcome {
        self.run_observed(extra, timeout, |_| {}).await
    }

    /// [`Script::run`], telling `phase` each step of the run as keepalived's script state
    /// follows it: [`RunPhase::Running`] once started, [`RunPhase::RequestingTermination`] when
    /// the timeout sends SIGTERM, [`RunPhase::ForcingTermination`] when [`KILL_GRACE`] later
    /// SIGKILL follows. The run is over (idle) when this returns.
    pub async fn run_observed(
        &self,
        extra: &[String],
        timeout: Option<Duration>,
        mut phase: impl FnMut(RunPhase),
    ) -> Outcome {
        let mut child = match self.command(extra).spawn() {
            Ok(c) => c,
            Err(e) => return Outcome::Failed(e),
        };
        phase(RunPhase::Running);
        let pgid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(Pid::from_raw);
        let waited = match timeout {
            Some(t) => tokio::time::timeout(t, child.wait()).await.ok(),
            None => Some(child.wait().await),
        };
        match waited {
            Some(Ok(st)) => match (st.code(), st.signal()) {
                (Some(c), _) => Outcome::Exited(c),
                (None, s) => Outcome::Signaled(s.unwrap_or(0)),
            },
            Some(Err(e)) => Outcome::Failed(e),
            None => {
                phase(RunPhase::RequestingTermination);
                if let Some(pg) = pgid {
                    let _ = killpg(pg, Signal::SIGTERM);
                }
                let gone = tokio::time::timeout(KILL_GRACE, child.wait()).await.is_ok();
                if !gone {
                    phase(RunPhase::ForcingTermination);
                }
                // The script's own children go too (keepalived kills the whole group).
                if let Some(pg) = pgid {
                    let _ = killpg(pg, Signal::SIGKILL);
                }
                if !gone {
                    let _ = child.wait().await;
                }
                Outcome::TimedOut
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours() -> Policy {
        Policy::default()
    }

    // Proves a run reports exit codes and extra arguments reach the script.
    #[tokio::test]
    async fn runs_with_extra_args() {
        let s = ours()
            .prepare("/bin/sh -c 'exit \"$0\"'", None)
            .expect("prepare");
        assert!(matches!(
            s.run(&["7".into()], None).await,
            Outcome::Exited(7)
        ));
        let s = ours().prepare("/bin/true", None).expect("prepare");
        assert!(s.run(&[], Some(Duration::from_secs(5))).await.success());
    }

    // Proves a timeout kills the whole process group, the script's children included.
    #[tokio::test]
    async fn timeout_kills_the_group() {
        let dir = std::env::temp_dir().join(format!("krs-sr-to-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let pidf = dir.join("pid");
        let s = ours()
            .prepare(
                &format!("/bin/sh -c 'sleep 30 & echo $! > {}; wait'", pidf.display()),
                None,
            )
            .expect("prepare");
        let t0 = std::time::Instant::now();
        let o = s.run(&[], Some(Duration::from_millis(300))).await;
        assert!(matches!(o, Outcome::TimedOut), "{o}");
        assert!(t0.elapsed() < Duration::from_secs(4));
        let pid: i32 = std::fs::read_to_string(&pidf)
            .unwrap_or_default()
            .trim()
            .parse()
            .unwrap_or(0);
        assert!(pid > 0);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z"))
            .unwrap_or(false);
        assert!(!alive, "the grandchild sleep survived");
        let _ = std::fs::remove_dir_all(&dir);
    }

    // Proves the phases reported: a quick run is Running only; a run past its timeout is
    // RequestingTermination (SIGTERM), and one ignoring SIGTERM ForcingTermination after the
    // grace, as keepalived's script state goes.
    #[tokio::test]
    async fn run_observed_reports_phases() {
        let quick = ours().prepare("/bin/true", None).expect("prepare");
        let mut seen = Vec::new();
        let o = quick
            .run_observed(&[], Some(Duration::from_secs(5)), |p| seen.push(p))
            .await;
        assert!(o.success(), "{o}");
        assert_eq!(seen, [RunPhase::Running]);
        let slow = ours().prepare("/bin/sleep 30", None).expect("prepare");
        let mut seen = Vec::new();
        let o = slow
            .run_observed(&[], Some(Duration::from_millis(200)), |p| seen.push(p))
            .await;
        assert!(matches!(o, Outcome::TimedOut), "{o}");
        assert_eq!(seen, [RunPhase::Running, RunPhase::RequestingTermination]);
        let stuck = ours()
            .prepare("/bin/sh -c 'trap \"\" TERM; sleep 30'", None)
            .expect("prepare");
        let mut seen = Vec::new();
        let o = stuck
            .run_observed(&[], Some(Duration::from_millis(200)), |p| seen.push(p))
            .await;
        assert!(matches!(o, Outcome::TimedOut), "{o}");
        assert_eq!(
            seen,
            [
                RunPhase::Running,
                RunPhase::RequestingTermination,
                RunPhase::ForcingTermination
            ]
        );
    }

    // Proves the script's user: a named user that does not exist is refused; under
    // enable_script_security a named user is used, and without script_user (and no
    // keepalived_script user) nothing runs as the daemon.
    #[test]
    fn users() {
        let e = ours().prepare("/bin/true", Some(("no_such_user_krs", None)));
        assert_eq!(
            e.map(|_| ()).map_err(|e| e.to_string()),
            Err("user no_such_user_krs does not exist".to_string())
        );
        let strict = Policy {
            script_user: None,
            security: true,
            keep_symlinks: false,
            pins: Pins::default(),
        };
        if nix::unistd::User::from_name("keepalived_script")
            .ok()
            .flatten()
            .is_none()
        {
            assert_eq!(
                strict.prepare("/bin/true", None),
                Err(ScriptError::NoDefaultUser)
            );
        }
        let s = strict
            .prepare("/bin/true", Some(("nobody", None)))
            .expect("nobody");
        assert_eq!(s.who.uid, 65534);
    }
}
