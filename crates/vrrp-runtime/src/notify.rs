//! Notifications: `notify_master/backup/fault/stop`, `notify` (arguments as keepalived:
//! `INSTANCE "name" STATE priority`, quotes not passed to the script), run in order per
//! instance (one queue per instance), and `notify_fifo` lines `INSTANCE "name" STATE prio`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use conf_parse::Script;
use tokio::sync::mpsc;

use crate::config::NotifyScripts;

/// Upper bound for one notify script (keepalived has no timeout by default; we do not let a
/// hanging script block the instance's later notifications forever).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(30);

/// One notify FIFO of the VRRP process as configured: `notify_fifo` or `vrrp_notify_fifo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FifoSpec {
    pub path: String,
    /// `""` for `notify_fifo`, `"vrrp_"` for `vrrp_notify_fifo` (keepalived's log wording).
    pub kind: &'static str,
    /// `USER [GROUP]` after the path: the owner of a FIFO we create.
    pub owner: Option<(String, Option<String>)>,
    /// `[vrrp_]notify_fifo_script`: started with the FIFO's path as last argument.
    pub script: Option<conf_parse::Script>,
    /// The global script settings the reader script runs under.
    pub policy: script_runner::Policy,
}

struct OpenFifo {
    path: String,
    file: File,
    /// Created by us: removed again when closed (keepalived `fifo_close`).
    created: bool,
    reader: Option<tokio::process::Child>,
}

/// The notify FIFOs, as keepalived's `notify_fifo_open`/`notify_fifo_close` (lib/notify.c):
/// a missing FIFO is created (mode 0644, chowned to its `USER [GROUP]`) and removed again when
/// closed, an existing one is used and left; its reader script is started (FIFO path as last
/// argument) before the FIFO is opened; the FIFO is opened read-write and non-blocking, so
/// writes never block on a missing reader. Shared by the notification queues: a reload
/// reopens it in place.
#[derive(Default, Clone)]
pub(crate) struct Fifos(Arc<Mutex<Vec<OpenFifo>>>);

impl std::fmt::Debug for Fifos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fifos")
    }
}

fn open_one(spec: &FifoSpec) -> Option<OpenFifo> {
    let path = Path::new(&spec.path);
    let created = match nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o644)) {
        Ok(()) => {
            if let Some(o) = &spec.owner {
                script_runner::chown_fifo(&spec.path, o);
            }
            true
        }
        Err(nix::errno::Errno::EEXIST) => false,
        Err(_) => {
            log::info!("Unable to create {}notify fifo {}", spec.kind, spec.path);
            return None;
        }
    };
    let reader = spec.script.as_ref().and_then(|s| {
        let own = s.user.as_deref().map(|u| (u, s.group.as_deref()));
        match spec.policy.prepare(&s.command, own) {
            Ok(p) => match p.command(std::slice::from_ref(&spec.path)).spawn() {
                Ok(c) => Some(c),
                Err(e) => {
                    log::error!("{}notify_fifo_script `{}`: {e}", spec.kind, s.command);
                    None
                }
            },
            Err(e) => {
                log::error!(
                    "{}notify_fifo_script `{}` not run: {e}",
                    spec.kind,
                    s.command
                );
                None
            }
        }
    });
    let file = match OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(f) => f,
        Err(e) => {
            log::info!(
                "Unable to open {}notify fifo {} - errno {}",
                spec.kind,
                spec.path,
                e.raw_os_error().unwrap_or(0)
            );
            if created {
                let _ = std::fs::remove_file(path);
            }
            return None;
        }
    };
    if !file.metadata().is_ok_and(|m| m.file_type().is_fifo()) {
        log::info!(
            "{}notify fifo {} is not a fifo we own - not using",
            spec.kind,
            spec.path
        );
        return None;
    }
    Some(OpenFifo {
        path: spec.path.clone(),
        file,
        created,
        reader,
    })
}

/// SIGTERM a reader script's process group (keepalived's `script_killall`).
fn terminate(reader: &Option<tokio::process::Child>) {
    if let Some(pg) = reader
        .as_ref()
        .and_then(|r| r.id())
        .and_then(|id| i32::try_from(id).ok())
    {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pg),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
}

impl Fifos {
    /// Create (if missing), start the reader script of, and open each FIFO. Must run inside
    /// the tokio runtime (the reader scripts are tokio children).
    pub fn open(specs: &[FifoSpec]) -> Fifos {
        Fifos(Arc::new(Mutex::new(
            specs.iter().filter_map(open_one).collect(),
        )))
    }

    /// Close the FIFOs (terminating their readers, removing those we created) and open
    /// `specs` in their place, as keepalived does at each reload; the queues holding this
    /// handle write to the new ones.
    pub fn reopen(&self, specs: &[FifoSpec]) {
        self.close();
        let new: Vec<OpenFifo> = specs.iter().filter_map(open_one).collect();
        if let Ok(mut open) = self.0.lock() {
            *open = new;
        }
    }

    /// SIGTERM every reader script (keepalived's `script_killall` at the start of the stop,
    /// before the STOP notifications: those reach only other readers).
    pub fn terminate_readers(&self) {
        if let Ok(open) = self.0.lock() {
            for o in open.iter() {
                terminate(&o.reader);
            }
        }
    }

    /// Remove the FIFOs we created (first, so a reader that reopens in a loop cannot), close
    /// them and terminate their readers (the child handles kill on drop if still there).
    pub fn close(&self) {
        let old = match self.0.lock() {
            Ok(mut open) => std::mem::take(&mut *open),
            Err(_) => return,
        };
        for o in old {
            if o.created {
                let _ = std::fs::remove_file(&o.path);
            }
            terminate(&o.reader);
            drop(o.file);
        }
    }

    pub fn write_line(&self, line: &str) {
        if let Ok(mut files) = self.0.lock() {
            for f in files.iter_mut() {
                if let Err(e) = f.file.write_all(format!("{line}\n").as_bytes()) {
                    if e.kind() != std::io::ErrorKind::WouldBlock {
                        log::info!("notify fifo write error: {e}");
                    }
                }
            }
        }
    }
}

/// The `notify_master_rx_lower_pri` event (keepalived's `VRRP_EVENT_MASTER_RX_LOWER_PRI`).
pub(crate) const MASTER_RX_LOWER_PRI: &str = "MASTER_RX_LOWER_PRI";

/// One notification.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    /// `MASTER`, `BACKUP`, `FAULT`, `STOP`, or the event [`MASTER_RX_LOWER_PRI`].
    pub state: &'static str,
    pub priority: u8,
    /// Only the FIFO line (priority changes, `fifo_write_vrrp_states_on_reload`): no script,
    /// no mail.
    pub fifo_only: bool,
}

/// `notify_priority_changes`: the FIFO events of keepalived's `send_instance_priority_notifies`.
pub(crate) const MASTER_PRIORITY: &str = "MASTER_PRIORITY";
/// See [`MASTER_PRIORITY`]: any state but MASTER.
pub(crate) const BACKUP_PRIORITY: &str = "BACKUP_PRIORITY";

/// Run a notify script with extra arguments through the script runner (its own `user`, else
/// `script_user`, under `enable_script_security` only if safe — keepalived disables an unsafe
/// notify script, so it is not run and the reason is logged), waiting at most
/// [`SCRIPT_TIMEOUT`].
pub(crate) async fn run_script(
    script: &Script,
    extra: &[String],
    what: &str,
    policy: &script_runner::Policy,
) {
    let own = script.user.as_deref().map(|u| (u, script.group.as_deref()));
    let prepared = match policy.prepare(&script.command, own) {
        Ok(p) => p,
        Err(e) => {
            log::error!("{what}: {} not run: {e}", script.command);
            return;
        }
    };
    match prepared.run(extra, Some(SCRIPT_TIMEOUT)).await {
        script_runner::Outcome::Exited(0) => {}
        script_runner::Outcome::TimedOut => {
            log::error!("{what}: {} timed out; killed", script.command)
        }
        o => log::warn!("{what}: {} {o}", script.command),
    }
}

/// Start the per-instance notification queue; returns its sender.
/// Whose notifications a queue carries: keepalived words them differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A vrrp_instance: `INSTANCE "name" STATE prio` and scripts get `INSTANCE name STATE prio`.
    Instance,
    /// A vrrp_sync_group: `GROUP "name" STATE` and scripts get `GROUP name STATE`.
    Group,
}

pub(crate) fn spawn_queue(
    instance: String,
    scripts: NotifyScripts,
    fifos: Fifos,
) -> (mpsc::UnboundedSender<Job>, tokio::task::JoinHandle<()>) {
    spawn_queue_of(Kind::Instance, instance, scripts, fifos)
}

/// [`spawn_queue`] for an instance or a sync group.
pub(crate) fn spawn_queue_of(
    kind: Kind,
    instance: String,
    scripts: NotifyScripts,
    fifos: Fifos,
) -> (mpsc::UnboundedSender<Job>, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
    let h = tokio::spawn(async move {
        // vrrp_notify.c: a mail only when the state differs from the last one mailed.
        let mut last_mailed: Option<&'static str> = None;
        let mut mails: Vec<tokio::task::JoinHandle<()>> = Vec::new();
        while let Some(job) = rx.recv().await {
            if job.fifo_only {
                fifos.write_line(&match kind {
                    Kind::Instance => {
                        format!("INSTANCE \"{}\" {} {}", instance, job.state, job.priority)
                    }
                    Kind::Group => format!("GROUP \"{}\" {} 0", instance, job.state),
                });
                continue;
            }
            if let Some(settings) = &scripts.smtp {
                mails.retain(|h| !h.is_finished());
                mails.extend(mail(
                    kind,
                    settings,
                    &instance,
                    job.state,
                    scripts.no_email_faults,
                    &mut last_mailed,
                ));
            }
            fifos.write_line(&match kind {
                Kind::Instance => {
                    format!("INSTANCE \"{}\" {} {}", instance, job.state, job.priority)
                }
                // vrrp_notify.c notify_fifo: a group's priority is written as 0.
                Kind::Group => format!("GROUP \"{}\" {} 0", instance, job.state),
            });
            let specific = match job.state {
                "MASTER" => scripts.master.as_ref(),
                "BACKUP" => scripts.backup.as_ref(),
                "FAULT" => scripts.fault.as_ref(),
                "STOP" => scripts.stop.as_ref(),
                MASTER_RX_LOWER_PRI => scripts.master_rx_lower_pri.as_ref(),
                "DELETED" => scripts.deleted.as_ref(),
                _ => None,
            };
            let what = match kind {
                Kind::Instance => format!("VRRP_Instance({instance}) notify"),
                Kind::Group => format!("VRRP_Group({instance}) notify"),
            };
            if let Some(s) = specific {
                run_script(s, &[], &what, &scripts.policy).await;
            }
            // keepalived send_event_notify: the event's own script and the FIFO line only.
            if let Some(s) = scripts
                .generic
                .as_ref()
                .filter(|_| job.state != MASTER_RX_LOWER_PRI)
            {
                let args = match kind {
                    Kind::Instance => vec![
                        "INSTANCE".to_string(),
                        instance.clone(),
                        job.state.to_string(),
                        job.priority.to_string(),
                    ],
                    // notify_script_exec: "the prio will be indicated as zero for a group".
                    Kind::Group => vec![
                        "GROUP".to_string(),
                        instance.clone(),
                        job.state.to_string(),
                        "0".to_string(),
                    ],
                };
                run_script(s, &args, &what, &scripts.policy).await;
            }
        }
        // Queue closed (instance gone or shutting down): let the last mails (STOP) finish;
        // the runtime bounds how long it waits for this task.
        for h in mails {
            let _ = h.await;
        }
    });
    (tx, h)
}

/// Mail a state change (`smtp_alert`) in its own task, unless it is the state last mailed or
/// a FAULT under `no_email_faults` (vrrp_notify.c `vrrp_smtp_notifier`).
fn mail(
    kind: Kind,
    settings: &Arc<smtp_alert::Settings>,
    instance: &str,
    state: &'static str,
    no_email_faults: bool,
    last_mailed: &mut Option<&'static str>,
) -> Option<tokio::task::JoinHandle<()>> {
    let st = smtp_alert::VrrpState::from_name(state)?;
    if *last_mailed == Some(state) || (no_email_faults && st == smtp_alert::VrrpState::Fault) {
        return None;
    }
    *last_mailed = Some(state);
    let alert = match kind {
        Kind::Instance => smtp_alert::Alert::vrrp_instance(&settings.router_id, instance, st),
        Kind::Group => smtp_alert::Alert::vrrp_group(&settings.router_id, instance, st),
    };
    Some(smtp_alert::spawn(settings.clone(), alert))
}
