//! The VRRP worker main: runs `vrrp_runtime::run` on a dedicated thread and maps the shell's
//! [`WorkerEvent`]s onto it.
//!
//! * **Start**: the runtime gets the configuration, `handle_signals: false` (the shell owns
//!   signals), a shutdown watch channel, `-V` (`dont_release_vrrp`), a shared
//!   [`vrrp_runtime::Metrics`] and an `on_held_vips` callback that forwards every change of
//!   the held VIP set to the parent ([`crate::worker::ParentLink::held_vips`]), so the parent
//!   removes them at once if this process dies.
//! * **Shutdown**: the watch is set, the runtime does its planned handover and releases the
//!   VIPs (unless `-V`), and the thread is awaited.
//! * **Reload**: the VRRP part of the old and new configuration is compared with the runtime's
//!   plan ([`vrrp_runtime::plan`]: desired state per instance, compared as data): unchanged →
//!   nothing happens (the LVS sync daemon settings are passed on); changed →
//!   the new configuration goes to the running runtime ([`vrrp_runtime::Reload`]), which
//!   applies it as a diff: unchanged instances are not touched, changed ones keep their state
//!   and VIPs with the new settings, rebound ones restart, removed ones leave with priority 0.
//! * **Errors**: a configuration the runtime refuses → [`exit::CONFIG`]; a socket/netlink
//!   failure → [`exit::FATAL`] ([`exit::MISSING_PERMISSION`] when it was EPERM/EACCES); both
//!   stop the daemon, as keepalived does.
//! * The runtime logs through the `log` crate, whose sink is [`crate::log`].

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot, watch};
use vrrp_runtime::{InstanceStatus, Metrics, RuntimeOptions, State, VrrpRuntimeError};

use crate::config::Loaded;
use crate::control::HeldVip;
use crate::metrics::{
    EventInfo, TransitionInfo, VrrpInstanceMetrics, VrrpStateMetric, VrrpWorkerCounters,
    WorkerMetrics,
};
use crate::worker::{ParentLink, WorkerContext, WorkerEvent, WorkerOptions};
use crate::{error, exit, info};

/// Whether the VRRP part of the configuration differs: the runtime's own plan
/// ([`vrrp_runtime::plan::diff`] of the two desired states), so comments, spacing, locations
/// and the LVS sections do not count.
pub fn vrrp_changed(old: &conf_parse::Config, new: &conf_parse::Config) -> bool {
    use vrrp_runtime::plan;
    !plan::diff(&plan::desired(old), &plan::desired(new)).is_noop()
}

/// Exit status for a runtime error.
pub fn exit_code_for(e: &VrrpRuntimeError) -> i32 {
    match e {
        VrrpRuntimeError::Config { .. } => exit::CONFIG,
        VrrpRuntimeError::Io { source, .. }
            if matches!(source.kind(), std::io::ErrorKind::PermissionDenied) =>
        {
            exit::MISSING_PERMISSION
        }
        VrrpRuntimeError::Netlink { source, .. }
            if matches!(
                source.errno(),
                Some(netplat::errno::EPERM) | Some(netplat::errno::EACCES)
            ) =>
        {
            exit::MISSING_PERMISSION
        }
        _ => exit::FATAL,
    }
}

/// A runtime running on its own thread.
struct Running {
    shutdown: watch::Sender<bool>,
    reload: mpsc::UnboundedSender<vrrp_runtime::Reload>,
    commands: mpsc::UnboundedSender<vrrp_runtime::Command>,
    done: oneshot::Receiver<Result<(), VrrpRuntimeError>>,
}

fn start(
    cfg: &Loaded,
    options: &WorkerOptions,
    link: &ParentLink,
    metrics: &Arc<Metrics>,
    on_transition: vrrp_runtime::TransitionCallback,
    on_group_transition: vrrp_runtime::TransitionCallback,
) -> Result<Running, i32> {
    let (sd_tx, sd_rx) = watch::channel(false);
    let (reload_tx, reload_rx) = mpsc::unbounded_channel();
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (done_tx, done_rx) = oneshot::channel();
    let link = link.clone();
    let on_held: vrrp_runtime::HeldVipsCallback = Arc::new(move |held| {
        link.held_vips(
            held.iter()
                .map(|h| HeldVip {
                    ifname: h.ifname.clone(),
                    addr: h.addr,
                    prefix_len: h.prefix_len,
                })
                .collect(),
        );
    });
    if let Ok(mut m) = metrics.instances.lock() {
        m.clear();
    }
    let opts = RuntimeOptions {
        shutdown: Some(sd_rx),
        handle_signals: false,
        on_held_vips: Some(on_held),
        on_transition: Some(on_transition),
        on_group_transition: Some(on_group_transition),
        metrics: metrics.clone(),
        dont_release_vrrp: options.dont_release_vrrp,
        bfd_states: options.bfd_states.clone(),
        ..Default::default()
    };
    let config = cfg.config().clone();
    let spawned = std::thread::Builder::new()
        .name("vrrp-runtime".into())
        .spawn(move || {
            let r = vrrp_runtime::run_with_control(config, opts, reload_rx, cmd_rx);
            let _ = done_tx.send(r);
        });
    match spawned {
        Ok(_) => Ok(Running {
            shutdown: sd_tx,
            reload: reload_tx,
            commands: cmd_tx,
            done: done_rx,
        }),
        Err(e) => {
            error!("VRRP runtime: cannot start its thread: {e}");
            Err(exit::FATAL)
        }
    }
}

/// Outcome of a runtime thread, logged, as an exit status.
fn finished(r: Result<Result<(), VrrpRuntimeError>, oneshot::error::RecvError>) -> i32 {
    match r {
        Ok(Ok(())) => exit::OK,
        Ok(Err(e)) => {
            let code = exit_code_for(&e);
            error!(
                "VRRP runtime stopped: {e} (exiting with {})",
                if code == exit::CONFIG {
                    "CONFIG"
                } else {
                    exit::permanent_name(code)
                }
            );
            code
        }
        Err(_) => {
            error!("VRRP runtime thread panicked");
            exit::PROGRAM_ERROR
        }
    }
}

impl Running {
    async fn stop(self) -> i32 {
        let _ = self.shutdown.send(true);
        finished(self.done.await)
    }
}

fn state_metric(s: State) -> VrrpStateMetric {
    match s {
        State::Master => VrrpStateMetric::Master,
        State::Backup => VrrpStateMetric::Backup,
        State::Fault => VrrpStateMetric::Fault,
        State::Initialize => VrrpStateMetric::Stop,
    }
}

/// An instance's state and effective priority as the runtime reports them; `INIT` and the
/// configured priority before it has reported one.
fn state_of(
    st: &BTreeMap<String, InstanceStatus>,
    v: &conf_parse::VrrpInstance,
) -> (&'static str, u8) {
    st.get(&v.name)
        .map(|s| (vrrp_runtime::state_name(s.state), s.priority))
        .unwrap_or(("INIT", v.priority))
}

/// Where the runtime's transitions reach the D-Bus service while it runs.
pub(crate) type DbusCallback = Box<dyn Fn(&str, State) + Send + Sync>;

/// The runtime's transition callback: `inner`, then the D-Bus service if one runs.
fn with_dbus(
    inner: vrrp_runtime::TransitionCallback,
    slots: Vec<Arc<Mutex<Option<DbusCallback>>>>,
) -> vrrp_runtime::TransitionCallback {
    Arc::new(move |name: &str, state: State| {
        inner(name, state);
        for slot in &slots {
            if let Some(cb) = slot.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                cb(name, state);
            }
        }
    })
}

/// Starts, updates (`VrrpReloaded`) or stops the D-Bus service as `enable_dbus` of the
/// (new) configuration says (keepalived's `dbus_start` / `dbus_reload` / `dbus_stop`).
async fn set_dbus(
    dbus: &mut Option<crate::dbus::Service>,
    cfg: &Loaded,
    metrics: &Arc<Metrics>,
    requests: &mpsc::UnboundedSender<crate::dbus::Request>,
    slot: &Arc<Mutex<Option<DbusCallback>>>,
) {
    let lock = |s: &Mutex<Option<DbusCallback>>| {
        let mut g = s.lock().unwrap_or_else(|p| p.into_inner());
        g.take();
    };
    let config = cfg.config();
    if !config.global.enable_dbus {
        if let Some(d) = dbus.take() {
            lock(slot);
            d.stop().await;
        }
        return;
    }
    let objects = crate::dbus::Objects::of(config);
    match dbus {
        Some(d) => d.reloaded(objects),
        None => {
            let d = crate::dbus::Service::start(objects, metrics.clone(), requests.clone());
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(d.transition_sender()));
            *dbus = Some(d);
        }
    }
}

/// Carries out what a D-Bus method call asks of the worker.
fn dbus_request(
    req: crate::dbus::Request,
    cfg: &Loaded,
    metrics: &Arc<Metrics>,
    running: &Running,
) {
    use crate::dbus::Request;
    match req {
        Request::PrintData(done) => {
            crate::dump::write_data("", &dump_data(cfg, metrics));
            let _ = done.send(());
        }
        Request::PrintStats { clear, done } => {
            crate::dump::write(crate::dump::STATS_FILE, &dump_stats(metrics));
            if clear {
                clear_stats(metrics);
            }
            let _ = done.send(());
        }
        Request::SendGarp { instance, done } => {
            if let Err(e) = running
                .commands
                .send(vrrp_runtime::Command::SendGarp { instance, done })
            {
                if let vrrp_runtime::Command::SendGarp { done, .. } = e.0 {
                    let _ = done.send(false);
                }
            }
        }
    }
}

/// What this worker saw through the runtime's transition callback: per instance the last
/// change and master counts, and the recent events.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// Per instance: last transition.
    pub last: BTreeMap<String, TransitionInfo>,
    /// Per instance: (became master, released master).
    pub master_counts: BTreeMap<String, (u64, u64)>,
    /// Per instance: state changes seen.
    pub transitions: BTreeMap<String, u64>,
    /// Recent events.
    pub events: Vec<EventInfo>,
}

impl Seen {
    /// Record `name` entering `to`.
    pub fn transition(&mut self, name: &str, to: &str) {
        let from = self
            .last
            .get(name)
            .map(|t| t.to.clone())
            .unwrap_or_else(|| "INIT".into());
        if from == to {
            return;
        }
        let reason = TransitionInfo::reason_for(&from, to).to_string();
        *self.transitions.entry(name.to_string()).or_default() += 1;
        let c = self.master_counts.entry(name.to_string()).or_default();
        if to == "MASTER" {
            c.0 += 1;
        } else if from == "MASTER" {
            c.1 += 1;
        }
        crate::metrics::push_event(
            &mut self.events,
            "vrrp",
            format!("{name}: {from} -> {to} ({reason})"),
        );
        self.last.insert(
            name.to_string(),
            TransitionInfo {
                from,
                to: to.to_string(),
                at: crate::metrics::now(),
                reason,
            },
        );
    }
}

pub(crate) fn lock_seen(m: &Mutex<Seen>) -> std::sync::MutexGuard<'_, Seen> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The runtime's transition callback: records into `seen`, then calls `inner`.
fn recording(
    seen: Arc<Mutex<Seen>>,
    inner: vrrp_runtime::TransitionCallback,
) -> vrrp_runtime::TransitionCallback {
    // A transition runs one-shot code (addresses, GARP bursts, notify scripts): drop its
    // pages again once it is over, 6 s later (past the default garp_master_delay of 5 s and
    // its second burst; `netplat::mem`).
    let rt = tokio::runtime::Handle::try_current().ok();
    Arc::new(move |name: &str, state: vrrp_runtime::State| {
        lock_seen(&seen).transition(name, vrrp_runtime::state_name(state));
        inner(name, state);
        if let Some(rt) = &rt {
            crate::release_startup_memory_after(rt, std::time::Duration::from_secs(6));
        }
    })
}

fn tracking(v: &conf_parse::model::VrrpInstance) -> Vec<String> {
    let mut t = Vec::new();
    for (kind, list) in [
        ("interface", &v.track_interface),
        ("script", &v.track_script),
        ("file", &v.track_file),
        ("process", &v.track_process),
        ("bfd", &v.track_bfd),
    ] {
        for r in list {
            t.push(format!("{kind} {}", r.name));
        }
    }
    t
}

/// Metrics snapshot: per instance state, priorities, adverts sent and received, receive
/// errors by reason and the last advert's sender from the runtime; transitions as the
/// transition callback saw them (the runtime's worker-wide counts when it runs one instance).
pub fn worker_metrics(cfg: &Loaded, m: &Metrics) -> WorkerMetrics {
    worker_metrics_seen(cfg, m, &Seen::default())
}

/// [`worker_metrics`] with what the transition callback recorded (last transition, master
/// counts per instance, events) and the configuration's VIPs and tracking.
pub fn worker_metrics_seen(cfg: &Loaded, m: &Metrics, seen: &Seen) -> WorkerMetrics {
    let st = m.statuses();
    let insts = &cfg.config().vrrp_instances;
    let single = insts.len() == 1;
    let l = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    WorkerMetrics {
        vrrp_instances: insts
            .iter()
            .map(|v| {
                let status = st.get(&v.name);
                let (state, eff) = status
                    .map(|s| (state_metric(s.state), s.priority))
                    .unwrap_or((VrrpStateMetric::Init, v.priority));
                let mut im = VrrpInstanceMetrics {
                    name: v.name.clone(),
                    interface: v.interface.clone().unwrap_or_default(),
                    vrid: v.virtual_router_id.unwrap_or(0),
                    state,
                    priority: v.priority,
                    effective_priority: eff,
                    garp_delay_seconds: vrrp_runtime::garp_master_delay(&cfg.config().global, v)
                        .as_secs_f64(),
                    ..Default::default()
                };
                if let Some(s) = status {
                    im.adverts_received = s.rx.advert_rcvd;
                    im.adverts_sent = s.adverts_sent;
                    im.pri_zero_sent = s.pri_zero_sent;
                    im.pri_zero_received = s.rx.pri_zero_rcvd;
                    if v.auth_hmac.is_some() {
                        im.auth_ext = s
                            .auth_ext
                            .by_name()
                            .iter()
                            .map(|(k, n)| ((*k).to_string(), *n))
                            .collect();
                    }
                    im.drops =
                        s.rx.rejected
                            .iter()
                            .map(|(k, n)| ((*k).to_string(), *n))
                            .collect();
                }
                im.vips = v
                    .virtual_ipaddress
                    .iter()
                    .map(|a| format!("{}/{}", a.addr, a.prefix_len))
                    .collect();
                im.tracking = tracking(v);
                if state == VrrpStateMetric::Master {
                    im.master = Some(match v.unicast_src_ip {
                        Some(a) => format!("{a} (this node)"),
                        None => "this node".into(),
                    });
                } else if state == VrrpStateMetric::Backup {
                    // The sender of the last advert this instance accepted: the master it
                    // listens to.
                    if let Some((src, prio)) = status.and_then(|s| s.last_advert_from) {
                        im.master = Some(format!("{src} (priority {prio})"));
                    }
                }
                im.last_transition = seen.last.get(&v.name).cloned();
                if let Some((b, r)) = seen.master_counts.get(&v.name) {
                    im.become_master = *b;
                    im.release_master = *r;
                }
                im.transitions = seen.transitions.get(&v.name).copied().unwrap_or(0);
                if single {
                    im.transitions = l(&m.became_master) + l(&m.became_backup) + l(&m.became_fault);
                }
                im
            })
            .collect(),
        vrrp_counters: Some(Box::new(VrrpWorkerCounters {
            scripts: m.script_results(),
            script_states: m
                .script_states()
                .into_iter()
                .map(|(k, st)| (k, st.code()))
                .collect(),
            garps_sent: l(&m.garps_sent),
            adverts_rejected: l(&m.adverts_rejected),
            unknown_vrid: l(&m.unknown_vrid),
            vip_errors: l(&m.vip_errors),
            send_errors: l(&m.send_errors),
            rejected: m
                .rx
                .lock()
                .map(|g| {
                    g.rejected
                        .iter()
                        .map(|(k, n)| ((*k).to_string(), *n))
                        .collect()
                })
                .unwrap_or_default(),
        })),
        events: seen.events.clone(),
        ..Default::default()
    }
}

fn dump_data(cfg: &Loaded, m: &Metrics) -> String {
    let st = m.statuses();
    let mut s = String::from("------< VRRP Topology >------\n");
    for v in &cfg.config().vrrp_instances {
        let (state, eff) = state_of(&st, v);
        s.push_str(&format!(" VRRP Instance = {}\n", v.name));
        s.push_str(&format!("   State = {state}\n"));
        s.push_str(&format!(
            "   Interface = {}\n",
            v.interface.as_deref().unwrap_or("")
        ));
        s.push_str(&format!(
            "   Virtual Router ID = {}\n",
            v.virtual_router_id.unwrap_or(0)
        ));
        s.push_str(&format!("   Priority = {}\n", v.priority));
        s.push_str(&format!("   Effective priority = {eff}\n"));
        s.push_str(&format!(
            "   Gratuitous ARP delay = {}\n",
            vrrp_runtime::garp_master_delay(&cfg.config().global, v).as_secs()
        ));
        // keepalived's only use of an instance's `debug`: this line of the data file.
        if let Some(d) = v.debug.filter(|d| *d > 0) {
            s.push_str(&format!("   Debug level = {d}\n"));
        }
    }
    // The running vrrp_scripts with their result and run state, in keepalived's words (what
    // the third-party exporters read from this file).
    let results = m.script_results();
    s.push_str("------< VRRP Scripts >------\n");
    for (name, state) in m.script_states() {
        s.push_str(&format!(" VRRP Script = {name}\n"));
        let good = results.get(&name).copied().unwrap_or(false);
        s.push_str(&format!(
            "   Status = {}\n",
            if good { "GOOD" } else { "BAD" }
        ));
        s.push_str(&format!("   State = {}\n", state.name()));
    }
    s
}

fn dump_stats(m: &Metrics) -> String {
    let v = m.to_json();
    let mut s = String::from("VRRP worker statistics\n");
    if let Some(o) = v.as_object() {
        for (k, val) in o {
            if k == "instances" || k == "rejected" {
                continue;
            }
            s.push_str(&format!("  {k}: {val}\n"));
        }
        if let Some(r) = o.get("rejected").and_then(|r| r.as_object()) {
            s.push_str("  Rejected adverts by reason:\n");
            for (k, val) in r {
                s.push_str(&format!("    {k}: {val}\n"));
            }
        }
    }
    for (name, st) in m.statuses() {
        s.push_str(&format!(
            "VRRP Instance: {name}\n  State: {}\n  Priority: {}\n",
            vrrp_runtime::state_name(st.state),
            st.priority
        ));
        s.push_str(&format!("  Adverts received: {}\n", st.rx.advert_rcvd));
        for (reason, n) in &st.rx.rejected {
            s.push_str(&format!("  Rejected ({reason}): {n}\n"));
        }
        // keepalived 2.4's block and names (vrrp_print.c).
        let a = &st.auth_ext;
        s.push_str(&format!(
            "  Authentication Extension Errors:\n    Missing: {}\n    Malformed: {}\n    \
             Unknown Key: {}\n    Invalid HMAC: {}\n    Stale: {}\n    Replay: {}\n",
            a.missing, a.malformed, a.unknown_key, a.invalid_hmac, a.stale, a.replay
        ));
    }
    s
}

/// keepalived's `keepalived.json` (`vrrp_json.c`; the layout `json_version` chooses): `Null`
/// when there is no instance (keepalived then writes no file).
fn dump_json(cfg: &Loaded, m: &Metrics, seen: &Seen) -> serde_json::Value {
    let runtime = cfg
        .config()
        .vrrp_instances
        .iter()
        .map(|v| {
            let (b, r) = seen.master_counts.get(&v.name).copied().unwrap_or((0, 0));
            let rt = vrrp_runtime::json::Runtime {
                last_transition: seen.last.get(&v.name).map(|t| t.at).unwrap_or(0.0),
                become_master: b,
                release_master: r,
            };
            (v.name.clone(), rt)
        })
        .collect();
    vrrp_runtime::json::keepalived_json(cfg.config(), &m.statuses(), &runtime)
        .unwrap_or(serde_json::Value::Null)
}

fn clear_stats(m: &Metrics) {
    m.clear_counters();
}

/// The VRRP worker main (see the module doc).
pub async fn main(mut ctx: WorkerContext) -> i32 {
    crate::log::install();
    let metrics = Arc::new(Metrics::default());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut cfg = ctx.config.clone();
    let syncd =
        crate::syncd::SyncCtl::start(crate::syncd::spec_from(cfg.config()), ctx.ipvs.clone());
    let code = run(&mut ctx, &mut cfg, &metrics, &seen, &syncd).await;
    syncd.stop();
    code
}

async fn run(
    ctx: &mut WorkerContext,
    cfg: &mut Loaded,
    metrics: &Arc<Metrics>,
    seen: &Arc<Mutex<Seen>>,
    syncd: &crate::syncd::SyncCtl,
) -> i32 {
    // D-Bus (enable_dbus): the service runs beside the runtime; transitions reach it through
    // a slot the reloads may fill or empty.
    let (dbus_req_tx, mut dbus_req) = mpsc::unbounded_channel::<crate::dbus::Request>();
    let dbus_slot: Arc<Mutex<Option<DbusCallback>>> = Arc::new(Mutex::new(None));
    let mut dbus = None;
    set_dbus(&mut dbus, cfg, metrics, &dbus_req_tx, &dbus_slot).await;
    // SNMP (enable_snmp_rfcv2): the sub-agent reads the configuration in force through this.
    let shared_cfg = Arc::new(Mutex::new(cfg.clone()));
    let snmp_slot: Arc<Mutex<Option<DbusCallback>>> = Arc::new(Mutex::new(None));
    let snmp_state = Arc::new(Mutex::new(crate::snmp_vrrp::SnmpState::default()));
    let snmp_group_slot: Arc<Mutex<Option<DbusCallback>>> = Arc::new(Mutex::new(None));
    let mut snmp = None;
    let snmp_ctx = crate::snmp_vrrp::Ctx {
        shared: shared_cfg.clone(),
        metrics: metrics.clone(),
        seen: seen.clone(),
        slot: snmp_slot.clone(),
        group_slot: snmp_group_slot.clone(),
        state: snmp_state,
    };
    crate::snmp_vrrp::set_snmp(&mut snmp, cfg, &snmp_ctx);
    let mut running = match start(
        cfg,
        &ctx.options,
        &ctx.link,
        metrics,
        with_dbus(
            recording(seen.clone(), syncd.transition_callback()),
            vec![dbus_slot.clone(), snmp_slot.clone()],
        ),
        {
            let slot = snmp_group_slot.clone();
            Arc::new(move |name: &str, s: State| {
                if let Some(cb) = slot.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                    cb(name, s);
                }
            })
        },
    ) {
        Ok(r) => r,
        Err(code) => return code,
    };
    info!(
        "VRRP runtime started: {} vrrp_instance(s) ({})",
        cfg.vrrp_names().len(),
        cfg.vrrp_names().join(", ")
    );
    ctx.link.ready();
    loop {
        tokio::select! {
            Some(req) = dbus_req.recv() => dbus_request(req, cfg, metrics, &running),
            r = &mut running.done => {
                if let Some(d) = dbus.take() {
                    d.stop().await;
                }
                let code = finished(r);
                if code == exit::OK {
                    info!("VRRP runtime ended");
                }
                return code;
            }
            ev = ctx.events.recv() => match ev {
                None | Some(WorkerEvent::Shutdown) => {
                    info!("Stopping VRRP runtime");
                    if let Some((a, _)) = snmp.take() {
                        a.stop();
                    }
                    let code = running.stop().await;
                    if let Some(d) = dbus.take() {
                        d.stop().await;
                    }
                    if ctx.options.dont_release_vrrp {
                        // -V: the VIPs stay on purpose; tell the parent they are not ours to
                        // clean up any more (it removes a dead worker's held VIPs), and give
                        // the shell's writer a moment to send it before the process exits.
                        ctx.link.held_vips(Vec::new());
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                    return code;
                }
                Some(WorkerEvent::Reload { config, done }) => {
                    // keepalived reopens the notify FIFOs (restarting their reader scripts)
                    // and writes their reload lines at every reload: the runtime reloads then.
                    let g = &config.config().global;
                    let fifos = g.notify_fifo.name.is_some() || g.vrrp_notify_fifo.name.is_some();
                    if !fifos && !vrrp_changed(cfg.config(), config.config()) {
                        info!("Reload: VRRP configuration unchanged, instances keep running");
                        syncd.set_spec(crate::syncd::spec_from(config.config()));
                        *cfg = config;
                        set_dbus(&mut dbus, cfg, metrics, &dbus_req_tx, &dbus_slot).await;
                        crate::snmp_vrrp::set_snmp(&mut snmp, cfg, &snmp_ctx);
                        let _ = done.send(Ok(()));
                        continue;
                    }
                    info!("Reload: VRRP configuration changed, applying the difference");
                    let (tx, rx) = oneshot::channel();
                    let req = vrrp_runtime::Reload {
                        config: config.config().clone(),
                        done: tx,
                    };
                    if running.reload.send(req).is_err() {
                        let _ = done.send(Err("the VRRP runtime is not running".into()));
                        continue;
                    }
                    match rx.await {
                        Ok(Ok(report)) => {
                            syncd.set_spec(crate::syncd::spec_from(config.config()));
                            *cfg = config;
                            set_dbus(&mut dbus, cfg, metrics, &dbus_req_tx, &dbus_slot).await;
                        crate::snmp_vrrp::set_snmp(&mut snmp, cfg, &snmp_ctx);
                            if report.skipped.is_empty() {
                                let _ = done.send(Ok(()));
                            } else {
                                let _ = done.send(Err(format!(
                                    "vrrp_instance(s) {} could not start (see above)",
                                    report.skipped.join(", ")
                                )));
                            }
                        }
                        Ok(Err(e)) => {
                            error!("Reload: the new VRRP configuration cannot run ({e}); keeping the previous one");
                            let _ = done.send(Err(e));
                        }
                        Err(_) => {
                            let _ = done.send(Err("the VRRP runtime stopped during the reload".into()));
                        }
                    }
                }
                Some(WorkerEvent::DumpData { reply }) => {
                    let _ = reply.send(dump_data(cfg, metrics));
                }
                Some(WorkerEvent::DumpStats { reply }) => {
                    let _ = reply.send(dump_stats(metrics));
                }
                Some(WorkerEvent::DumpJson { reply }) => {
                    let snap = lock_seen(seen).clone();
                    let _ = reply.send(dump_json(cfg, metrics, &snap));
                }
                Some(WorkerEvent::ClearStats) => clear_stats(metrics),
                Some(WorkerEvent::Metrics { reply }) => {
                    let snap = lock_seen(seen).clone();
                    let _ = reply.send(worker_metrics_seen(cfg, metrics, &snap));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> conf_parse::Config {
        let p = conf_parse::parse_str(text, "t.conf", &conf_parse::ParseOptions::default());
        assert!(!p.has_errors(), "{:?}", p.diagnostics);
        p.config
    }

    const VRRP: &str = "vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        10.0.0.100/24
    }
}
";

    // Proves the reload decision: comments/blank lines and LVS sections do not count as a VRRP
    // change (no restart, no VIP gap), a changed priority does.
    #[test]
    fn vrrp_change_detection() {
        let a = parse(VRRP);
        let b = parse(&format!("# a comment\n\n{VRRP}\nvirtual_server 10.0.0.100 80 {{\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n    real_server 10.0.0.5 80 {{\n        weight 1\n    }}\n}}\n"));
        assert!(!vrrp_changed(&a, &b));
        let c = parse(&VRRP.replace("priority 100", "priority 90"));
        assert!(vrrp_changed(&a, &c));
    }

    // Proves runtime errors map to keepalived's exit statuses (config → CONFIG, EPERM →
    // MISSING_PERMISSION, other IO → FATAL).
    #[test]
    fn error_codes() {
        let c = VrrpRuntimeError::Config {
            instance: "*".into(),
            file: String::new(),
            line: 0,
            msg: "x".into(),
        };
        assert_eq!(exit_code_for(&c), exit::CONFIG);
        let p = VrrpRuntimeError::Io {
            op: "socket".into(),
            source: std::io::Error::from_raw_os_error(libc::EPERM),
        };
        assert_eq!(exit_code_for(&p), exit::MISSING_PERMISSION);
        let f = VrrpRuntimeError::Io {
            op: "socket".into(),
            source: std::io::Error::from_raw_os_error(libc::EMFILE),
        };
        assert_eq!(exit_code_for(&f), exit::FATAL);
    }

    // Proves the metrics mapping takes state and effective priority from the runtime.
    #[test]
    fn metrics_mapping() {
        let p = conf_parse::parse_str(VRRP, "t.conf", &conf_parse::ParseOptions::default());
        let loaded = Loaded {
            file: "t.conf".into(),
            parsed: Arc::new(p),
        };
        let m = Metrics::default();
        let mut st = InstanceStatus::new(State::Master, 110);
        st.adverts_sent = 7;
        m.instances.lock().unwrap().insert("VI_1".into(), st);
        let w = worker_metrics(&loaded, &m);
        assert_eq!(w.vrrp_instances.len(), 1);
        let i = &w.vrrp_instances[0];
        assert_eq!(i.state, VrrpStateMetric::Master);
        assert_eq!(i.priority, 100);
        assert_eq!(i.effective_priority, 110);
        assert_eq!(i.adverts_sent, 7);
        clear_stats(&m);
        assert_eq!(
            worker_metrics(&loaded, &m).vrrp_instances[0].adverts_sent,
            0
        );
    }
}
