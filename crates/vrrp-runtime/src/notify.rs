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

/// The notify FIFOs, opened read-write so writes never block on a missing reader.
#[derive(Debug, Default, Clone)]
pub(crate) struct Fifos(Arc<Mutex<Vec<File>>>);

impl Fifos {
    pub fn open(paths: &[String]) -> Fifos {
        let mut files = Vec::new();
        for p in paths {
            let path = Path::new(p);
            let is_fifo = std::fs::metadata(path).map(|m| m.file_type().is_fifo());
            match is_fifo {
                Ok(true) => {}
                Ok(false) => {
                    log::error!("notify_fifo {p}: exists and is not a FIFO; ignored");
                    continue;
                }
                Err(_) => {
                    if let Err(e) =
                        nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o644))
                    {
                        log::error!("notify_fifo {p}: mkfifo: {e}");
                        continue;
                    }
                }
            }
            match OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(nix::libc::O_NONBLOCK)
                .open(path)
            {
                Ok(f) => files.push(f),
                Err(e) => log::error!("notify_fifo {p}: open: {e}"),
            }
        }
        Fifos(Arc::new(Mutex::new(files)))
    }

    pub fn write_line(&self, line: &str) {
        if let Ok(mut files) = self.0.lock() {
            for f in files.iter_mut() {
                if let Err(e) = f.write_all(format!("{line}\n").as_bytes()) {
                    log::warn!("notify_fifo write: {e}");
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
}

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
