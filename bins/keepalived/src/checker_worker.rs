//! The checker worker main: runs `lvs_director::run` (health checks + IPVS) on a dedicated
//! thread and maps the shell's [`WorkerEvent`]s onto its control channel.
//!
//! * **Start**: `handle_signals: false` (the shell owns signals), `-I` (`dont_release_ipvs`),
//!   the director's log lines go to this process's logging, its events feed the metrics.
//! * **Shutdown** → `Control::Shutdown` (our IPVS entries are released unless `-I` or
//!   `lvs_flush_on_stop`), then the thread is awaited.
//! * **Reload** → `Control::Reload` (the director diff-applies: unchanged real servers keep
//!   their IPVS entries and health state).
//! * **Errors**: a configuration error → [`exit::CONFIG`]; anything else (no IPVS in the
//!   kernel, netlink failure) → [`exit::FATAL`] ([`exit::MISSING_PERMISSION`] for EPERM);
//!   keepalived's checker stops the daemon the same way when IPVS cannot be initialised.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use lvs_director::{Control, DirectorError, DirectorEvent, DirectorOptions};
use tokio::sync::{mpsc, oneshot};

use crate::metrics::{RealServerMetrics, WorkerMetrics};
use crate::worker::{WorkerContext, WorkerEvent};
use crate::{error, exit, info};

/// What the director told us through its events.
#[derive(Debug, Default, Clone)]
pub struct Observed {
    /// Real servers by (virtual server, real server): alive?
    pub real_servers: BTreeMap<(String, String), bool>,
    /// Check failures per real server.
    pub failures: BTreeMap<(String, String), u64>,
    /// Virtual servers: quorum held?
    pub quorum: BTreeMap<String, bool>,
    /// Reconciles run, operations applied, operations failed.
    pub reconciles: u64,
    /// Operations applied.
    pub ops_applied: u64,
    /// Operations failed.
    pub ops_failed: u64,
    /// Last load: virtual servers, real servers, check jobs.
    pub loaded: (usize, usize, usize),
}

impl Observed {
    /// Fold one event in.
    pub fn apply(&mut self, e: &DirectorEvent) {
        match e {
            DirectorEvent::Reconciled { applied, failed } => {
                self.reconciles += 1;
                self.ops_applied += *applied as u64;
                self.ops_failed += *failed as u64;
            }
            DirectorEvent::RealServer { rs, alive } => {
                self.real_servers
                    .insert((rs.vs.to_string(), rs.to_string()), *alive);
            }
            DirectorEvent::Quorum { vs, up } => {
                self.quorum.insert(vs.to_string(), *up);
            }
            DirectorEvent::CheckFailed { rs, .. } => {
                *self
                    .failures
                    .entry((rs.vs.to_string(), rs.to_string()))
                    .or_insert(0) += 1;
            }
            DirectorEvent::Loaded {
                virtual_servers,
                real_servers,
                check_jobs,
            } => self.loaded = (*virtual_servers, *real_servers, *check_jobs),
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }

    /// Metrics snapshot (real servers whose state the director reported).
    pub fn metrics(&self) -> WorkerMetrics {
        WorkerMetrics {
            real_servers: self
                .real_servers
                .iter()
                .map(|((vs, rs), up)| RealServerMetrics {
                    virtual_server: vs.clone(),
                    real_server: rs.clone(),
                    up: *up,
                    check_failures: self
                        .failures
                        .get(&(vs.clone(), rs.clone()))
                        .copied()
                        .unwrap_or(0),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn dump(&self) -> String {
        let (v, r, j) = self.loaded;
        let mut s = format!(
            "------< Health checkers >------\n {v} virtual server(s), {r} real server(s), {j} check job(s)\n reconciles {} (operations applied {}, failed {})\n",
            self.reconciles, self.ops_applied, self.ops_failed
        );
        for (vs, up) in &self.quorum {
            s.push_str(&format!(
                " Virtual Server = {vs}: quorum {}\n",
                if *up { "UP" } else { "DOWN" }
            ));
        }
        for ((vs, rs), up) in &self.real_servers {
            s.push_str(&format!(
                "   Real Server = {rs} in {vs}: {}\n",
                if *up { "UP" } else { "DOWN" }
            ));
        }
        s
    }
}

fn lock(m: &Mutex<Observed>) -> std::sync::MutexGuard<'_, Observed> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Exit status for a director error.
pub fn exit_code_for(e: &DirectorError) -> i32 {
    match e {
        DirectorError::Config { .. } => exit::CONFIG,
        DirectorError::Ipvs { source, .. }
            if matches!(source.errno(), Some(libc::EPERM) | Some(libc::EACCES)) =>
        {
            exit::MISSING_PERMISSION
        }
        _ => exit::FATAL,
    }
}

fn finished(r: Result<Result<(), DirectorError>, oneshot::error::RecvError>) -> i32 {
    match r {
        Ok(Ok(())) => exit::OK,
        Ok(Err(e)) => {
            let code = exit_code_for(&e);
            error!("LVS director stopped: {e}");
            code
        }
        Err(_) => {
            error!("LVS director thread panicked");
            exit::PROGRAM_ERROR
        }
    }
}

/// The checker worker main (see the module doc).
pub async fn main(mut ctx: WorkerContext) -> i32 {
    crate::log::install();
    let observed = Arc::new(Mutex::new(Observed::default()));
    let (ctl_tx, ctl_rx) = mpsc::unbounded_channel::<Control>();
    let (done_tx, mut done_rx) = oneshot::channel();
    let obs = observed.clone();
    let opts = DirectorOptions {
        control: Some(ctl_rx),
        handle_signals: false,
        config_path: Some(ctx.config.file.clone()),
        dont_release_ipvs: ctx.options.dont_release_ipvs,
        events: Some(Arc::new(move |e: &DirectorEvent| lock(&obs).apply(e))),
        ..Default::default()
    };
    let config = ctx.config.config().clone();
    let spawned = std::thread::Builder::new()
        .name("lvs-director".into())
        .spawn(move || {
            // Test hook (the daemon-shell tests on hosts without IPVS): an in-memory IPVS table.
            let r = if std::env::var_os("KEEPALIVED_RS_TEST_IPVS").is_some_and(|v| v == "memory") {
                lvs_director::run_with(config, opts, lvs_director::SharedMemory::default())
            } else {
                lvs_director::run(config, opts)
            };
            let _ = done_tx.send(r);
        });
    if let Err(e) = spawned {
        error!("LVS director: cannot start its thread: {e}");
        return exit::FATAL;
    }
    info!(
        "LVS director started: {} virtual_server(s) ({})",
        ctx.config.virtual_server_names().len(),
        ctx.config.virtual_server_names().join(", ")
    );
    ctx.link.ready();
    loop {
        tokio::select! {
            r = &mut done_rx => {
                let code = finished(r);
                if code == exit::OK {
                    info!("LVS director ended");
                }
                return code;
            }
            ev = ctx.events.recv() => match ev {
                None | Some(WorkerEvent::Shutdown) => {
                    info!("Stopping LVS director");
                    let _ = ctl_tx.send(Control::Shutdown);
                    return finished(done_rx.await);
                }
                Some(WorkerEvent::Reload { config, done }) => {
                    let r = ctl_tx
                        .send(Control::Reload(Box::new(config.config().clone())))
                        .map_err(|_| "LVS director is gone".to_string());
                    let _ = done.send(r);
                }
                Some(WorkerEvent::DumpData { reply }) => {
                    let _ = reply.send(lock(&observed).dump());
                }
                Some(WorkerEvent::DumpStats { reply }) => {
                    let _ = reply.send(lock(&observed).dump());
                }
                Some(WorkerEvent::DumpJson { reply }) => {
                    let o = lock(&observed).clone();
                    let rs: Vec<serde_json::Value> = o
                        .real_servers
                        .iter()
                        .map(|((vs, rs), up)| serde_json::json!({"vs": vs, "rs": rs, "up": up}))
                        .collect();
                    let _ = reply.send(serde_json::json!({"real_servers": rs, "reconciles": o.reconciles}));
                }
                Some(WorkerEvent::ClearStats) => {
                    let mut o = lock(&observed);
                    o.failures.clear();
                    o.reconciles = 0;
                    o.ops_applied = 0;
                    o.ops_failed = 0;
                }
                Some(WorkerEvent::Metrics { reply }) => {
                    let _ = reply.send(lock(&observed).metrics());
                }
            }
        }
    }
}
