//! Tracking: `vrrp_script` runners (interval, timeout, rise/fall, init_fail; users and
//! `enable_script_security` are the script runner's) and track files.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use conf_parse::VrrpScript;

use crate::status::ScriptState;

/// A tracked object changed state.
#[derive(Debug, Clone)]
pub(crate) struct TrackEvent {
    pub script: String,
    pub ok: bool,
}

/// One run of `script`, its run state kept in `state` ([`ScriptState::code`]: running, then
/// requested/forcing termination at the timeout, idle again when it is over).
async fn run_once(
    script: &script_runner::Script,
    name: &str,
    timeout: Duration,
    state: &AtomicU8,
) -> bool {
    let set = |s: ScriptState| state.store(s.code(), Ordering::Relaxed);
    let outcome = script
        .run_observed(&[], Some(timeout), |p| {
            set(match p {
                script_runner::RunPhase::Running => ScriptState::Running,
                script_runner::RunPhase::RequestingTermination => {
                    ScriptState::RequestingTermination
                }
                script_runner::RunPhase::ForcingTermination => ScriptState::ForcingTermination,
            })
        })
        .await;
    set(ScriptState::Idle);
    match outcome {
        script_runner::Outcome::Exited(c) => c == 0,
        script_runner::Outcome::TimedOut => {
            log::warn!("vrrp_script {name}: timed out after {timeout:?}; killed");
            false
        }
        script_runner::Outcome::Failed(e) => {
            log::warn!("vrrp_script {name}: cannot run: {e}");
            false
        }
        _ => false,
    }
}

/// The next run after the one due at `due` has ended: the first time `interval` apart from
/// `due` that is not over yet. Each one passed while the run was still going is logged as
/// keepalived logs it: "already running" before the run's `timeout`, "being timed out" after.
fn next_due(
    name: &str,
    due: tokio::time::Instant,
    interval: Duration,
    timeout: Duration,
) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    let mut next = due + interval;
    while next <= now {
        log::info!(
            "Track script {name} is {}, expect idle - skipping run",
            if next - due < timeout {
                "already running"
            } else {
                "being timed out"
            }
        );
        next += interval;
    }
    next
}

/// Run `s` forever, reporting status changes (after rise/fall) on `tx`, as keepalived 2.2.7
/// does for a tracked script: it starts with no result (keepalived's `SCRIPT_INIT_STATE_INIT`,
/// `result = rise - 1`: "one success is enough"), so its first run decides (one success: good,
/// one failure: failed, whatever `rise`/`fall`) and is always reported; after that `rise`
/// successes or `fall` failures in a row change it. `init_fail` does not change this: keepalived
/// sets the script's initial state back to INIT when an instance tracks it (`alloc_track_script`
/// runs after the `vrrp_script` block), so it has no effect on a tracked script there either.
/// Runs are due every `interval` from the first; one due while the previous run is still going
/// is skipped ([`next_due`]), as keepalived 2.3.3+ does.
/// `script` is `s`'s command prepared by the script runner (user, security). Its run state is
/// kept in `state`.
pub(crate) fn spawn_script(
    s: VrrpScript,
    script: script_runner::Script,
    tx: crate::inbox::Tx<TrackEvent>,
    state: Arc<AtomicU8>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let timeout = s
            .timeout
            .unwrap_or(s.interval)
            .max(Duration::from_millis(10));
        let mut ok: Option<bool> = None;
        let (mut good, mut bad) = (0u32, 0u32);
        let interval = s.interval.max(Duration::from_millis(10));
        // keepalived 2.3.3: runs are due every `interval` from the first; one due while the
        // previous run is still going (or being killed) is skipped, not delayed.
        let mut due = tokio::time::Instant::now();
        loop {
            tokio::time::sleep_until(due).await;
            let r = run_once(&script, &s.name, timeout, &state).await;
            due = next_due(&s.name, due, interval, timeout);
            if r {
                good = good.saturating_add(1);
                bad = 0;
            } else {
                bad = bad.saturating_add(1);
                good = 0;
            }
            let new = match ok {
                None => r,
                Some(true) => bad < s.fall.max(1),
                Some(false) => good >= s.rise.max(1),
            };
            if ok != Some(new) {
                ok = Some(new);
                log::info!(
                    "VRRP_Script({}) {}",
                    s.name,
                    if new { "succeeded" } else { "failed" }
                );
                if tx
                    .send(TrackEvent {
                        script: s.name.clone(),
                        ok: new,
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

/// `track_file ... init_file [VALUE] [overwrite]` at start (not at reload): the file is written
/// with VALUE (default 0) and a newline when it does not exist, or with `overwrite` when it is
/// a regular file (keepalived's `track_file_end_handler`).
pub(crate) fn init_track_files(config: &conf_parse::Config) {
    for tf in &config.track_files {
        let Some(words) = &tf.init_file else { continue };
        let mut value: i64 = 0;
        let mut overwrite = false;
        for w in words {
            if w.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
                value = w.parse().unwrap_or(0);
            } else if w == "overwrite" {
                overwrite = true;
            }
        }
        let path = std::path::Path::new(&tf.file);
        let write = match std::fs::metadata(path) {
            Err(_) => true,
            Ok(m) if overwrite && m.is_file() => true,
            Ok(_) if overwrite => {
                log::error!(
                    "Cannot initialise track file {} - it is not a regular file",
                    tf.name
                );
                false
            }
            Ok(_) => false,
        };
        if write {
            if let Err(e) = std::fs::write(path, format!("{value}\n")) {
                log::error!("Unable to initialise track file {}: {e}", tf.name);
            }
        }
    }
}
