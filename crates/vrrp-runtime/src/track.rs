//! Tracking: `vrrp_script` runners (interval, timeout, rise/fall, init_fail) and the
//! `enable_script_security` check.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use conf_parse::VrrpScript;

use crate::notify::split_command;

/// Uid and gid a script runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RunAs {
    pub uid: u32,
    pub gid: u32,
}

/// keepalived's choice of user for a script: the script's own `user [group]`, else
/// `global_defs script_user`, else the `keepalived_script` user if it exists, else as ourselves
/// (root). `None`: do not change identity. A named user or group that does not exist is an
/// error (the script must not run as someone else).
pub(crate) fn run_as(
    own: Option<(&str, Option<&str>)>,
    default: Option<(&str, Option<&str>)>,
) -> Result<Option<RunAs>, String> {
    use nix::unistd::{Group, User};
    let (user, group, named) = match own.or(default) {
        Some((u, g)) => (u, g, true),
        None => ("keepalived_script", None, false),
    };
    let u = match User::from_name(user) {
        Ok(Some(u)) => u,
        Ok(None) if !named => return Ok(None),
        Ok(None) => return Err(format!("user {user} does not exist")),
        Err(e) => return Err(format!("looking up user {user}: {e}")),
    };
    let gid = match group {
        Some(g) => match Group::from_name(g) {
            Ok(Some(g)) => g.gid,
            Ok(None) => return Err(format!("group {g} does not exist")),
            Err(e) => return Err(format!("looking up group {g}: {e}")),
        },
        None => u.gid,
    };
    Ok(Some(RunAs {
        uid: u.uid.as_raw(),
        gid: gid.as_raw(),
    }))
}

/// Makes `cmd` run as `who` (std drops supplementary groups when root changes uid).
pub(crate) fn apply_run_as(cmd: &mut tokio::process::Command, who: Option<RunAs>) {
    if let Some(w) = who {
        cmd.uid(w.uid).gid(w.gid);
    }
}

/// A tracked object changed state.
#[derive(Debug, Clone)]
pub(crate) struct TrackEvent {
    pub script: String,
    pub ok: bool,
}

/// Why a script is refused under `enable_script_security`: the program or a directory on its
/// path is writable by a non-root user (keepalived's rule). `None` if safe.
pub(crate) fn insecure_reason(command: &str) -> Option<String> {
    let argv = split_command(command);
    let prog = argv.first()?;
    let p = Path::new(prog);
    if !p.is_absolute() {
        return Some(format!("{prog}: not an absolute path"));
    }
    let mut cur = Some(p);
    while let Some(x) = cur {
        match std::fs::metadata(x) {
            Ok(m) => {
                let mode = m.mode();
                let sticky_dir = m.is_dir() && mode & 0o1000 != 0;
                if m.uid() != 0 {
                    return Some(format!("{} is owned by uid {}", x.display(), m.uid()));
                }
                if mode & 0o002 != 0 && !sticky_dir {
                    return Some(format!("{} is world-writable", x.display()));
                }
                if mode & 0o020 != 0 && m.gid() != 0 && !sticky_dir {
                    return Some(format!(
                        "{} is group-writable (gid {})",
                        x.display(),
                        m.gid()
                    ));
                }
            }
            Err(e) => return Some(format!("{}: {e}", x.display())),
        }
        cur = x.parent();
    }
    None
}

async fn run_once(argv: &[String], timeout: Duration, who: Option<RunAs>) -> bool {
    let Some((prog, args)) = argv.split_first() else {
        return false;
    };
    let mut cmd = tokio::process::Command::new(prog);
    cmd.args(args)
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    apply_run_as(&mut cmd, who);
    match cmd.spawn() {
        Ok(mut child) => match tokio::time::timeout(timeout, child.wait()).await {
            Ok(Ok(st)) => st.success(),
            Ok(Err(_)) => false,
            Err(_) => {
                log::warn!("vrrp_script {prog}: timed out after {timeout:?}; killed");
                let _ = child.kill().await;
                false
            }
        },
        Err(e) => {
            log::warn!("vrrp_script {prog}: cannot run: {e}");
            false
        }
    }
}

/// Run `s` forever, reporting status changes (after rise/fall) on `tx`. The initial status is
/// reported first (failed with `init_fail`, else ok). It runs as `who` (see [`run_as`]).
pub(crate) fn spawn_script(
    s: VrrpScript,
    who: Option<RunAs>,
    tx: crate::inbox::Tx<TrackEvent>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let argv = split_command(&s.script);
        let timeout = s
            .timeout
            .unwrap_or(s.interval)
            .max(Duration::from_millis(10));
        let mut ok = !s.init_fail;
        let _ = tx.send(TrackEvent {
            script: s.name.clone(),
            ok,
        });
        let (mut good, mut bad) = (0u32, 0u32);
        let mut tick = tokio::time::interval(s.interval.max(Duration::from_millis(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let r = run_once(&argv, timeout, who).await;
            if r {
                good = good.saturating_add(1);
                bad = 0;
            } else {
                bad = bad.saturating_add(1);
                good = 0;
            }
            let new = if ok {
                bad < s.fall.max(1)
            } else {
                good >= s.rise.max(1)
            };
            if new != ok {
                ok = new;
                log::info!(
                    "VRRP_Script({}) {}",
                    s.name,
                    if ok { "succeeded" } else { "failed" }
                );
                if tx
                    .send(TrackEvent {
                        script: s.name.clone(),
                        ok,
                    })
                    .is_err()
                {
                    return;
                }
            }
        }
    })
}

/// Watches the directories of the track files with inotify (keepalived does too) and sends a
/// notice on `tx` whenever one of the files is written, created, replaced or removed. The set of
/// files is replaced by sending a new list on the returned sender (reload). Runs on its own
/// thread, waking every second to notice `stop` and a new list.
pub(crate) fn spawn_file_watch(
    tx: crate::inbox::Tx<()>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::io::Result<(
    std::sync::mpsc::Sender<Vec<std::path::PathBuf>>,
    std::thread::JoinHandle<()>,
)> {
    use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
    use std::collections::BTreeMap;
    use std::ffi::OsString;
    use std::os::fd::AsFd;
    use std::path::PathBuf;
    use std::sync::atomic::Ordering;

    let ino = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
    let (paths_tx, paths_rx) = std::sync::mpsc::channel::<Vec<PathBuf>>();
    let h = std::thread::Builder::new()
        .name("vrrp-track-files".into())
        .spawn(move || {
            // Watched directory → (watch, names of the tracked files in it).
            let mut dirs: BTreeMap<PathBuf, (nix::sys::inotify::WatchDescriptor, Vec<OsString>)> =
                BTreeMap::new();
            let mask = AddWatchFlags::IN_CLOSE_WRITE
                | AddWatchFlags::IN_MODIFY
                | AddWatchFlags::IN_CREATE
                | AddWatchFlags::IN_DELETE
                | AddWatchFlags::IN_MOVED_TO
                | AddWatchFlags::IN_MOVED_FROM;
            while !stop.load(Ordering::Relaxed) {
                if let Some(paths) = paths_rx.try_iter().last() {
                    for (_, (wd, _)) in std::mem::take(&mut dirs) {
                        let _ = ino.rm_watch(wd);
                    }
                    for p in paths {
                        let (Some(dir), Some(name)) = (p.parent(), p.file_name()) else {
                            continue;
                        };
                        let dir = if dir.as_os_str().is_empty() {
                            PathBuf::from(".")
                        } else {
                            dir.to_path_buf()
                        };
                        if let Some(e) = dirs.get_mut(&dir) {
                            e.1.push(name.to_os_string());
                            continue;
                        }
                        match ino.add_watch(&dir, mask) {
                            Ok(wd) => {
                                dirs.insert(dir, (wd, vec![name.to_os_string()]));
                            }
                            Err(e) => log::warn!(
                                "track_file {}: cannot watch {}: {e}; re-read every second only",
                                p.display(),
                                dir.display()
                            ),
                        }
                    }
                }
                let mut fds = [nix::poll::PollFd::new(
                    ino.as_fd(),
                    nix::poll::PollFlags::POLLIN,
                )];
                match nix::poll::poll(&mut fds, 1000u16) {
                    Ok(n) if n > 0 => {}
                    Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
                    Err(e) => {
                        log::warn!("track_file watch: {e}");
                        return;
                    }
                }
                let events = match ino.read_events() {
                    Ok(ev) => ev,
                    Err(nix::errno::Errno::EAGAIN) => continue,
                    Err(e) => {
                        log::warn!("track_file watch: {e}");
                        return;
                    }
                };
                let hit = events.iter().any(|ev| {
                    dirs.values().any(|(wd, names)| {
                        *wd == ev.wd
                            && ev
                                .name
                                .as_ref()
                                .is_none_or(|n| names.iter().any(|x| x == n))
                    })
                });
                if hit && tx.send(()).is_err() {
                    return;
                }
            }
        })?;
    Ok((paths_tx, h))
}
