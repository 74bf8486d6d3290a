//! MISC_CHECK (check_misc.c): run a script; exit 0 = up; with `misc_dynamic`, exit 2+N = up
//! with weight N (N ≤ 253); anything else = down. At `misc_timeout` the script's process group
//! gets SIGTERM, 2 s later SIGKILL, and the check fails ("timed out").
//!
//! The script runs in its own process group, with stdin/stdout/stderr on /dev/null, as `user`
//! (and `group`) when given, and — with `script_security` — only when neither it nor any
//! directory above it is writable by anyone but root (keepalived's `enable_script_security`).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use crate::checker::MiscCheck;
use crate::result::{Failure, Status, WeightAdjust};

/// Grace between SIGTERM and SIGKILL (keepalived: 2 s).
pub const KILL_GRACE: Duration = Duration::from_secs(2);

/// Map an exit code to a verdict (keepalived's rules).
pub fn judge_exit(dynamic: bool, code: i32) -> Status {
    match code {
        0 => Status::Up,
        2..=255 if dynamic => Status::Weight(WeightAdjust::Set((code - 2) as u32)),
        c => Status::Down(Failure::Exit(c)),
    }
}

/// keepalived-style script security: the file and every directory above it must not be
/// writable by group/other, nor owned by a non-root user (sticky directories excepted).
pub fn script_is_secure(path: &Path) -> Result<(), String> {
    let mut p = Some(path);
    while let Some(cur) = p {
        if cur.as_os_str().is_empty() {
            break;
        }
        let md = std::fs::metadata(cur).map_err(|e| format!("{}: {e}", cur.display()))?;
        let mode = md.permissions().mode();
        let sticky_dir = md.is_dir() && mode & 0o1000 != 0;
        if !sticky_dir && (mode & 0o022 != 0 || (md.uid() != 0 && mode & 0o200 != 0)) {
            return Err(format!("{} is writable by a non-root user", cur.display()));
        }
        p = cur.parent();
    }
    Ok(())
}

fn resolve_program(argv0: &str) -> Option<std::path::PathBuf> {
    if argv0.contains('/') {
        return Some(argv0.into());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(argv0))
        .find(|p| p.is_file())
}

pub(crate) async fn check_misc(m: &MiscCheck) -> Status {
    let Some(argv0) = m.argv.first() else {
        return Status::Down(Failure::Script("empty misc_path".into()));
    };
    if m.script_security {
        let Some(prog) = resolve_program(argv0) else {
            return Status::Down(Failure::Script(format!("{argv0}: not found")));
        };
        if let Err(e) = script_is_secure(&prog) {
            return Status::Down(Failure::Script(format!("insecure script: {e}")));
        }
    }
    let mut cmd = tokio::process::Command::new(argv0);
    cmd.args(&m.argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(user) = &m.user {
        let u = match nix::unistd::User::from_name(user) {
            Ok(Some(u)) => u,
            _ => return Status::Down(Failure::Script(format!("unknown user {user}"))),
        };
        let gid = match &m.group {
            Some(g) => match nix::unistd::Group::from_name(g) {
                Ok(Some(g)) => g.gid,
                _ => return Status::Down(Failure::Script(format!("unknown group {g}"))),
            },
            None => u.gid,
        };
        cmd.uid(u.uid.as_raw()).gid(gid.as_raw());
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Status::Down(Failure::Script(format!("{argv0}: {e}"))),
    };
    let pgid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw);
    match tokio::time::timeout(m.timeout, child.wait()).await {
        Ok(Ok(st)) => {
            use std::os::unix::process::ExitStatusExt;
            if let Some(code) = st.code() {
                judge_exit(m.dynamic, code)
            } else {
                Status::Down(Failure::Signal(st.signal().unwrap_or(0)))
            }
        }
        Ok(Err(e)) => Status::Down(Failure::Script(format!("wait: {e}"))),
        Err(_) => {
            if let Some(pg) = pgid {
                let _ = killpg(pg, Signal::SIGTERM);
            }
            if tokio::time::timeout(KILL_GRACE, child.wait())
                .await
                .is_err()
            {
                if let Some(pg) = pgid {
                    let _ = killpg(pg, Signal::SIGKILL);
                }
                let _ = child.wait().await;
            } else if let Some(pg) = pgid {
                // Make sure the script's children are gone too (keepalived does the same).
                let _ = killpg(pg, Signal::SIGKILL);
            }
            Status::Down(Failure::ScriptTimeout)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn misc(argv: &[&str], dynamic: bool, timeout_ms: u64) -> MiscCheck {
        MiscCheck {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            timeout: Duration::from_millis(timeout_ms),
            dynamic,
            user: None,
            group: None,
            script_security: false,
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
