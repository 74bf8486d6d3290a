//! MISC_CHECK (check_misc.c): run a script; exit 0 = up; with `misc_dynamic`, exit 2+N = up
//! with weight N (N ≤ 253); anything else = down. At `misc_timeout` the script's process group
//! gets SIGTERM, 2 s later SIGKILL, and the check fails ("timed out").
//!
//! The script runs through the `script-runner` crate: in its own process group, with
//! stdin/stdout/stderr on /dev/null, as `user` (and `group`) when given (else as ourselves), and
//! — with `script_security`, when it runs as root — only when neither it nor any directory above
//! it can be replaced by anyone but root (keepalived's `enable_script_security`).

use std::path::Path;
use std::time::Duration;

use crate::checker::MiscCheck;
use crate::result::{Failure, Status, WeightAdjust};

/// Grace between SIGTERM and SIGKILL (keepalived: 2 s).
pub const KILL_GRACE: Duration = script_runner::KILL_GRACE;

/// Map an exit code to a verdict (keepalived's rules).
pub fn judge_exit(dynamic: bool, code: i32) -> Status {
    match code {
        0 => Status::Up,
        2..=255 if dynamic => Status::Weight(WeightAdjust::Set((code - 2) as u32)),
        c => Status::Down(Failure::Exit(c)),
    }
}

/// keepalived's `enable_script_security` test of the path that runs (symbolic links
/// resolved): neither the file nor a directory above it may be owned by anyone but root, nor be
/// writable by a non-root group or everyone (sticky directories excepted). The error names the
/// component and why.
pub fn script_is_secure(path: &Path) -> Result<(), String> {
    let real = std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))?;
    script_runner::check_path(&real.to_string_lossy()).map_err(|e| e.to_string())
}

pub(crate) async fn check_misc(m: &MiscCheck) -> Status {
    let Some(argv0) = m.argv.first() else {
        return Status::Down(Failure::Script("empty misc_path".into()));
    };
    let user = m.user.as_deref().map(|u| (u, m.group.as_deref()));
    let script = match script_runner::prepare_as_keeping(
        m.argv.clone(),
        user,
        m.script_security,
        m.keep_symlinks,
    ) {
        Ok(s) => s,
        Err(e @ script_runner::ScriptError::Insecure { .. }) => {
            return Status::Down(Failure::Script(format!("insecure script: {e}")))
        }
        Err(e) => return Status::Down(Failure::Script(format!("{argv0}: {e}"))),
    };
    match script.run(&[], Some(m.timeout)).await {
        script_runner::Outcome::Exited(code) => judge_exit(m.dynamic, code),
        script_runner::Outcome::Signaled(s) => Status::Down(Failure::Signal(s)),
        script_runner::Outcome::TimedOut => Status::Down(Failure::ScriptTimeout),
        script_runner::Outcome::Failed(e) => Status::Down(Failure::Script(format!("{argv0}: {e}"))),
        _ => Status::Down(Failure::Script(format!("{argv0}: did not run"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn misc(argv: &[&str], dynamic: bool, timeout_ms: u64) -> MiscCheck {
        MiscCheck {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            timeout: Duration::from_millis(timeout_ms),
            dynamic,
            user: None,
            group: None,
            script_security: false,
            keep_symlinks: false,
        }
    }

    // Proves keepalived's exit-code rules (misc_dynamic: 2+N → weight N; 1 always down).
    #[test]
    fn exit_codes() {
        assert_eq!(judge_exit(false, 0), Status::Up);
        assert_eq!(judge_exit(false, 3), Status::Down(Failure::Exit(3)));
        assert_eq!(judge_exit(true, 1), Status::Down(Failure::Exit(1)));
        assert_eq!(judge_exit(true, 2), Status::Weight(WeightAdjust::Set(0)));
        assert_eq!(
            judge_exit(true, 255),
            Status::Weight(WeightAdjust::Set(253))
        );
    }

    // Proves real scripts: success, dynamic weight, failure, timeout (killed, bounded time).
    #[tokio::test]
    async fn runs_scripts() {
        assert_eq!(
            check_misc(&misc(&["/bin/sh", "-c", "exit 0"], false, 5000)).await,
            Status::Up
        );
        assert_eq!(
            check_misc(&misc(&["/bin/sh", "-c", "exit 12"], true, 5000)).await,
            Status::Weight(WeightAdjust::Set(10))
        );
        assert_eq!(
            check_misc(&misc(&["/bin/sh", "-c", "exit 1"], true, 5000)).await,
            Status::Down(Failure::Exit(1))
        );
        let t = std::time::Instant::now();
        let s = check_misc(&misc(&["/bin/sh", "-c", "sleep 30"], false, 200)).await;
        assert_eq!(s, Status::Down(Failure::ScriptTimeout));
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
        assert!(matches!(
            check_misc(&misc(&["/nonexistent/script"], false, 1000)).await,
            Status::Down(Failure::Script(_))
        ));
    }

    // Proves script security rejects a world-writable script and accepts /bin/sh.
    #[test]
    fn security() {
        assert!(script_is_secure(Path::new("/bin/sh")).is_ok());
        let dir = std::env::temp_dir().join(format!("hc-sec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("s.sh");
        std::fs::write(&f, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(script_is_secure(&f).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
