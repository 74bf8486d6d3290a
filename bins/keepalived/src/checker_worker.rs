//! The checker worker main: runs `lvs_director::run` (health checks + IPVS) on a dedicated
//! thread and maps the shell's [`WorkerEvent`]s onto its control channel.
//!
//! * **Start**: `handle_signals: false` (the shell owns signals), `-I` (`dont_release_ipvs`),
//!   the director's log lines go to this process's logging, its events feed the metrics.
//! * **Shutdown** → `Control::Shutdown` (our IPVS entries are released unless `-I` or
//!   `lvs_flush_on_stop`), then the thread is awaited.
//! * **Reload** → `Control::Reload` (the director diff-applies: unchanged real servers keep
//!   their IPVS entries and health state); answered once the director has applied it.
//! * **Errors**: a configuration error → [`exit::CONFIG`]; anything else (no IPVS in the
//!   kernel, netlink failure) → [`exit::FATAL`] ([`exit::MISSING_PERMISSION`] for EPERM);
//!   keepalived's checker stops the daemon the same way when IPVS cannot be initialised.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use lvs_director::{Control, DirectorError, DirectorEvent, DirectorOptions};
use tokio::sync::{mpsc, oneshot};

use crate::metrics::{
    EventInfo, IpvsDestinationMetrics, IpvsServiceMetrics, RealServerMetrics, VirtualServerInfo,
    WorkerMetrics,
};
use crate::worker::{WorkerContext, WorkerEvent};
use crate::{error, exit, info};
use ipvs_nl::{DestKey, DestinationInfo, ServiceInfo, ServiceKey};

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
    /// Per real server: last failure reason, unix time of the last up/down change.
    pub detail: BTreeMap<(String, String), (String, f64)>,
    /// Recent events.
    pub events: Vec<EventInfo>,
    /// Per real server: every check's tally and the last one (the director counts them; read
    /// with [`Observed::set_tallies`] when a status is asked for).
    pub checks: BTreeMap<(String, String), CheckTally>,
    /// The (virtual server, real server) names of each real server seen in a check report:
    /// a check is counted without formatting and allocating both names again.
    names: HashMap<lvs_director::RsId, (String, String)>,
}

/// The checks of one real server, as the director reported each of them.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CheckTally {
    /// Checks passed.
    pub ok: u64,
    /// Checks failed.
    pub failed: u64,
    /// The last check passed.
    pub last_ok: bool,
    /// Its duration, seconds.
    pub last_seconds: f64,
}

/// The configured virtual servers and real servers (for the status page: every real server
/// shows, checked or not): (vs name, [(rs name, weight, ipvs service key, dest key)]).
pub type Layout = Vec<(String, Vec<(String, u32, Option<ServiceKey>, DestKey)>)>;

/// The layout of a configuration, as the director compiles it.
pub fn layout(cfg: &conf_parse::Config) -> Layout {
    let (dc, _) = lvs_director::compile(cfg);
    dc.virtual_servers
        .iter()
        .map(|vs| {
            let key = vs.services.first().map(|s| s.key);
            (
                vs.id.to_string(),
                vs.real_servers
                    .iter()
                    .map(|rs| {
                        (
                            rs.id.to_string(),
                            rs.dest.weight,
                            key,
                            DestKey {
                                addr: rs.dest.addr,
                                port: rs.dest.port,
                            },
                        )
                    })
                    .collect(),
            )
        })
        .collect()
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
                let key = (rs.vs.to_string(), rs.to_string());
                let before = self.real_servers.insert(key.clone(), *alive);
                if before != Some(*alive) {
                    let d = self.detail.entry(key).or_default();
                    d.1 = crate::metrics::now();
                    if *alive {
                        d.0.clear();
                    }
                    let why = if *alive {
                        String::new()
                    } else {
                        format!(" ({})", d.0)
                    };
                    crate::metrics::push_event(
                        &mut self.events,
                        "real_server",
                        format!(
                            "{rs} in {}: {}{why}",
                            rs.vs,
                            if *alive { "up, in" } else { "down, out" }
                        ),
                    );
                }
            }
            DirectorEvent::Quorum { vs, up }
                if self.quorum.insert(vs.to_string(), *up) != Some(*up) =>
            {
                crate::metrics::push_event(
                    &mut self.events,
                    "quorum",
                    format!("{vs}: quorum {}", if *up { "up" } else { "lost" }),
                );
            }
            DirectorEvent::Quorum { .. } => {}
            DirectorEvent::CheckFailed { rs, reason } => {
                let key = (rs.vs.to_string(), rs.to_string());
                *self.failures.entry(key.clone()).or_insert(0) += 1;
                self.detail.entry(key).or_default().0 = reason.clone();
            }
            DirectorEvent::Checked {
                rs,
                ok,
                latency,
                reason,
                alive,
            } => {
                let key = self
                    .names
                    .entry(rs.clone())
                    .or_insert_with(|| (rs.vs.to_string(), rs.to_string()));
                // The first result of a real server whose state never changed: its state is
                // the director's initial one.
                if !self.real_servers.contains_key(key) {
                    self.real_servers.insert(key.clone(), *alive);
                }
                let t = match self.checks.get_mut(key) {
                    Some(t) => t,
                    None => self.checks.entry(key.clone()).or_default(),
                };
                if *ok {
                    t.ok += 1;
                } else {
                    t.failed += 1;
                }
                t.last_ok = *ok;
                t.last_seconds = latency.as_secs_f64();
                if let Some(r) = reason {
                    self.detail.entry(key.clone()).or_default().0 = r.clone();
                }
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

    /// Take the director's check counts ([`Control::CheckTallies`]): each real server's tally
    /// and last check; a last check that failed gives the real server's failure reason (as
    /// each failed check did when they were reported one by one).
    pub fn set_tallies(&mut self, tallies: Vec<(lvs_director::RsId, healthcheck::CheckTally)>) {
        for (rs, t) in tallies {
            let key = self
                .names
                .entry(rs)
                .or_insert_with_key(|rs| (rs.vs.to_string(), rs.to_string()))
                .clone();
            let Some(last) = t.last else { continue };
            if let Some(r) = &last.reason {
                self.detail.entry(key.clone()).or_default().0 = r.to_string();
            }
            self.checks.insert(
                key,
                CheckTally {
                    ok: t.ok,
                    failed: t.failed,
                    last_ok: last.ok,
                    last_seconds: last.latency.as_secs_f64(),
                },
            );
        }
    }

    /// Status snapshot: every configured real server (health, weights, last check, reason,
    /// IPVS connections and rates from `table`), the virtual servers, the events.
    pub fn status(
        &self,
        layout: &Layout,
        table: &[(ServiceInfo, Vec<DestinationInfo>)],
    ) -> WorkerMetrics {
        let mut w = self.metrics();
        let mut by_key: BTreeMap<(String, String), RealServerMetrics> = w
            .real_servers
            .drain(..)
            .map(|r| ((r.virtual_server.clone(), r.real_server.clone()), r))
            .collect();
        let mut out = Vec::new();
        for (vs, rss) in layout {
            w.virtual_servers.push(VirtualServerInfo {
                name: vs.clone(),
                quorum_up: self.quorum.get(vs).copied(),
                real_servers: rss.len(),
            });
            for (rs, weight, skey, dkey) in rss {
                let k = (vs.clone(), rs.clone());
                let mut m = by_key.remove(&k).unwrap_or_else(|| RealServerMetrics {
                    virtual_server: vs.clone(),
                    real_server: rs.clone(),
                    ..Default::default()
                });
                m.configured_weight = *weight;
                let dest = skey.and_then(|sk| {
                    table
                        .iter()
                        .find(|(s, _)| s.service.key == sk)
                        .and_then(|(_, ds)| {
                            ds.iter()
                                .find(|d| d.dest.addr == dkey.addr && d.dest.port == dkey.port)
                        })
                });
                if let Some(d) = dest {
                    m.weight = d.dest.weight;
                    m.active_connections = u64::from(d.active_conns);
                    m.inactive_connections = u64::from(d.inactive_conns);
                    m.cps = d.stats.cps;
                    m.in_bps = d.stats.inbps;
                    m.out_bps = d.stats.outbps;
                } else if m.checked && m.up {
                    m.weight = *weight;
                }
                out.push(m);
            }
        }
        out.extend(by_key.into_values());
        w.real_servers = out;
        for (s, ds) in table {
            let name = s.service.key.to_string();
            w.ipvs_services.push(IpvsServiceMetrics {
                service: name.clone(),
                connections: s.stats.conns,
                packets_in: s.stats.inpkts,
                packets_out: s.stats.outpkts,
                bytes_in: s.stats.inbytes,
                bytes_out: s.stats.outbytes,
            });
            for d in ds {
                w.ipvs_destinations.push(IpvsDestinationMetrics {
                    service: name.clone(),
                    destination: std::net::SocketAddr::new(d.dest.addr, d.dest.port).to_string(),
                    active_connections: u64::from(d.active_conns),
                    inactive_connections: u64::from(d.inactive_conns),
                    connections: d.stats.conns,
                    bytes_in: d.stats.inbytes,
                    bytes_out: d.stats.outbytes,
                    packets_in: d.stats.inpkts,
                    packets_out: d.stats.outpkts,
                });
            }
        }
        w.events = self.events.clone();
        w
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
                    checked: true,
                    last_check: match (
                        self.checks.get(&(vs.clone(), rs.clone())),
                        self.detail.get(&(vs.clone(), rs.clone())),
                    ) {
                        (Some(t), _) if t.last_ok => "ok".into(),
                        (Some(_), _) => "failed".into(),
                        (None, Some((r, _))) if !r.is_empty() => "failed".into(),
                        _ if *up => "ok".into(),
                        _ => "failed".into(),
                    },
                    checks: self
                        .checks
                        .get(&(vs.clone(), rs.clone()))
                        .map_or(0, |t| t.ok + t.failed),
                    last_check_seconds: self
                        .checks
                        .get(&(vs.clone(), rs.clone()))
                        .map_or(0.0, |t| t.last_seconds),
                    reason: self
                        .detail
                        .get(&(vs.clone(), rs.clone()))
                        .map(|d| d.0.clone())
                        .unwrap_or_default(),
                    since: self
                        .detail
                        .get(&(vs.clone(), rs.clone()))
                        .map(|d| d.1)
                        .unwrap_or_default(),
                    check_failures: self
                        .checks
                        .get(&(vs.clone(), rs.clone()))
                        .map(|t| t.failed)
                        .or_else(|| self.failures.get(&(vs.clone(), rs.clone())).copied())
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

/// Ends the SNMP session once the notifications of the stop are sent (at most 1 s, as
/// keepalived sends them before it closes its session).
async fn stop_snmp(running: crate::snmp_checker::Running, sctx: &crate::snmp_checker::Ctx) {
    let Some((agent, _)) = running else { return };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(1);
    while sctx.pending() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The last batch is written by the session task after it is drained.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    agent.stop();
}

/// The checker worker main (see the module doc).
pub async fn main(mut ctx: WorkerContext) -> i32 {
    crate::log::install();
    let observed = Arc::new(Mutex::new(Observed::default()));
    let (ctl_tx, ctl_rx) = mpsc::unbounded_channel::<Control>();
    let (done_tx, mut done_rx) = oneshot::channel();
    let obs = observed.clone();
    // Ready once the director has programmed the table (its first `Loaded`): the parent's
    // READY=1 then means "configured", and the startup-memory release that follows Ready does
    // not drop code pages the first reconcile of a large table is still running.
    let loaded = Arc::new(tokio::sync::Notify::new());
    let loaded_tx = loaded.clone();
    let mut ready_sent = false;
    // KEEPALIVED-MIB's checker part (enable_snmp_checker): the session opens before the
    // director starts, as keepalived's checker opens it before its services.
    let sctx = crate::snmp_checker::Ctx::new(&ctx.config, ctx.ipvs.clone());
    let mut snmp = None;
    crate::snmp_checker::set_snmp(&mut snmp, &ctx.config, &sctx);
    let sc = sctx.clone();
    let opts = DirectorOptions {
        control: Some(ctl_rx),
        handle_signals: false,
        config_path: Some(ctx.config.file.clone()),
        dont_release_ipvs: ctx.options.dont_release_ipvs,
        events: Some(Arc::new(move |e: &DirectorEvent| {
            if matches!(e, DirectorEvent::Loaded { .. }) {
                loaded_tx.notify_one();
            }
            sc.on_event(e);
            lock(&obs).apply(e)
        })),
        bfd_states: ctx.options.bfd_states.clone(),
        ..Default::default()
    };
    // A descriptor per check in flight (all of them, when the real servers stop answering and
    // every check waits for its connect_timeout), plus the worker's own and some spare, as
    // keepalived's set_checker_max_fds.
    let checks: usize = ctx
        .config
        .config()
        .virtual_servers
        .iter()
        .flat_map(|v| v.real_servers.iter())
        .map(|r| r.checkers.len())
        .sum();
    let limit = netplat::mem::raise_nofile_limit(checks as u64 + 256);
    if limit < checks as u64 + 256 {
        crate::warning!(
            "{checks} checkers but the descriptor limit is {limit}: checks beyond it fail while that many are in flight"
        );
    }
    let names = ctx.config.virtual_server_names();
    // The director reads the shell's parse result in place (no deep copy on the way to the
    // first reconcile); the status layout is computed when a metrics request needs it.
    let parsed = lvs_director::SharedParsed(ctx.config.parsed.clone());
    let mut current = ctx.config.parsed.clone();
    let mut lay: Option<Layout> = None;
    let ipvs = ctx.ipvs.clone();
    let spawned = std::thread::Builder::new()
        .name("lvs-director".into())
        .spawn(move || {
            let r = ipvs.run_director(parsed, opts);
            let _ = done_tx.send(r);
        });
    if let Err(e) = spawned {
        error!("LVS director: cannot start its thread: {e}");
        return exit::FATAL;
    }
    info!(
        "LVS director started: {} virtual_server(s) ({})",
        names.len(),
        names.join(", ")
    );
    loop {
        tokio::select! {
            _ = loaded.notified(), if !ready_sent => {
                ready_sent = true;
                ctx.link.ready();
            }
            r = &mut done_rx => {
                let code = finished(r);
                stop_snmp(snmp.take(), &sctx).await;
                if code == exit::OK {
                    info!("LVS director ended");
                }
                return code;
            }
            ev = ctx.events.recv() => match ev {
                None | Some(WorkerEvent::Shutdown) => {
                    info!("Stopping LVS director");
                    let _ = ctl_tx.send(Control::Shutdown);
                    let code = finished(done_rx.await);
                    stop_snmp(snmp.take(), &sctx).await;
                    return code;
                }
                Some(WorkerEvent::Reload { config, done }) => {
                    lay = None;
                    crate::snmp_checker::set_snmp(&mut snmp, &config, &sctx);
                    current = config.parsed.clone();
                    let r = ctl_tx
                        .send(Control::Reload(Box::new(lvs_director::SharedParsed(
                            config.parsed.clone(),
                        ))))
                        .map_err(|_| "LVS director is gone".to_string());
                    // The director takes its controls in order and applies the new table
                    // before it reads the next: its answer to the one sent after says the
                    // reload is applied, so the parent's "Reload complete" comes after it.
                    let r = match r {
                        Ok(()) => {
                            let (tx, rx) = oneshot::channel();
                            match ctl_tx.send(Control::CheckTallies(tx)) {
                                Ok(()) => rx.await.map(drop).map_err(|_| {
                                    "LVS director stopped during the reload".to_string()
                                }),
                                Err(_) => Err("LVS director is gone".to_string()),
                            }
                        }
                        Err(e) => Err(e),
                    };
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
                    let _ = ctl_tx.send(Control::ClearCheckTallies);
                    let mut o = lock(&observed);
                    o.failures.clear();
                    for t in o.checks.values_mut() {
                        t.ok = 0;
                        t.failed = 0;
                    }
                    o.reconciles = 0;
                    o.ops_applied = 0;
                    o.ops_failed = 0;
                }
                Some(WorkerEvent::Metrics { reply }) => {
                    // The checks are counted by the director, not reported one by one.
                    let (tx, rx) = oneshot::channel();
                    if ctl_tx.send(Control::CheckTallies(tx)).is_ok() {
                        let wait = std::time::Duration::from_secs(2);
                        if let Ok(Ok(t)) = tokio::time::timeout(wait, rx).await {
                            lock(&observed).set_tallies(t);
                        }
                    }
                    let ipvs = ctx.ipvs.clone();
                    let table = tokio::task::spawn_blocking(move || ipvs.table()).await.unwrap_or_default();
                    let lay = lay.get_or_insert_with(|| layout(&current.config));
                    let _ = reply.send(lock(&observed).status(lay, &table));
                }
            }
        }
    }
}
