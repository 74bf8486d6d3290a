//! The checker worker: health-check transitions → desired table → reconcile.

use std::borrow::Borrow;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use healthcheck as hc;
use healthcheck::scheduler::{CheckSpec, TransitionKind};
use ipvs_nl::{Backend, MemoryBackend, Operation, Scope, ServiceKey, VirtualService};
use tokio::sync::mpsc;

use crate::fifo::Fifos;

use crate::model::{compile, DirectorConfig, NotifyScript, RsId, VsId};
use crate::table::{desired, Health};
use crate::DirectorError;

mod notify;

/// What the kernel side must offer: a reconcile backend plus the global LVS calls.
pub trait Kernel: Backend + Send {
    /// `ipvsadm --set` (`lvs_timeouts`).
    fn set_timeouts(&mut self, t: &ipvs_nl::Timeouts) -> Result<(), ipvs_nl::Error>;
    /// `ipvsadm -C` (`lvs_flush`, `lvs_flush_on_stop`).
    fn flush(&mut self) -> Result<(), ipvs_nl::Error>;
}

impl Kernel for ipvs_nl::Handle {
    fn set_timeouts(&mut self, t: &ipvs_nl::Timeouts) -> Result<(), ipvs_nl::Error> {
        ipvs_nl::Handle::set_timeouts(self, t)
    }
    fn flush(&mut self) -> Result<(), ipvs_nl::Error> {
        ipvs_nl::Handle::flush(self)
    }
}

/// An in-memory table shared with the test that inspects it (unit tests without IPVS).
#[derive(Debug, Clone, Default)]
pub struct SharedMemory {
    /// The table.
    pub table: Arc<Mutex<MemoryBackend>>,
    /// Timeouts last set.
    pub timeouts: Arc<Mutex<Option<ipvs_nl::Timeouts>>>,
    /// Number of flushes.
    pub flushes: Arc<Mutex<u32>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Backend for SharedMemory {
    fn services(&mut self) -> Result<Vec<ipvs_nl::Service>, ipvs_nl::Error> {
        lock(&self.table).services()
    }
    fn destinations(
        &mut self,
        key: &ServiceKey,
    ) -> Result<Vec<ipvs_nl::Destination>, ipvs_nl::Error> {
        lock(&self.table).destinations(key)
    }
    fn table(&mut self) -> Result<Vec<VirtualService>, ipvs_nl::Error> {
        lock(&self.table).table()
    }
    fn apply(
        &mut self,
        ops: &[Operation],
    ) -> Result<Vec<Result<(), ipvs_nl::Error>>, ipvs_nl::Error> {
        lock(&self.table).apply(ops)
    }
}

impl Kernel for SharedMemory {
    fn set_timeouts(&mut self, t: &ipvs_nl::Timeouts) -> Result<(), ipvs_nl::Error> {
        *lock(&self.timeouts) = Some(*t);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), ipvs_nl::Error> {
        lock(&self.table).services.clear();
        *lock(&self.flushes) += 1;
        Ok(())
    }
}

/// Commands from the embedding process.
pub enum Control {
    /// Stop: release our IPVS entries (unless dont_release_ipvs), flush if lvs_flush_on_stop.
    Shutdown,
    /// Diff-apply a new configuration (unchanged real servers keep their entries and state).
    /// Owned (`Box<Config>`) or shared with the caller ([`SharedParsed`]): no deep copy needed.
    Reload(Box<dyn Borrow<conf_parse::Config> + Send>),
    /// Reply with every real server's checks: counts (since the start or the last
    /// [`Control::ClearCheckTallies`], including checks of subscriptions a reload or
    /// `ha_suspend` replaced) and the last check. The checks are counted, not reported one by
    /// one ([`DirectorEvent::Checked`] comes once per check subscription, for its first check).
    CheckTallies(tokio::sync::oneshot::Sender<Vec<(RsId, hc::CheckTally)>>),
    /// Zero the check counts.
    ClearCheckTallies,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Control::Shutdown => f.write_str("Shutdown"),
            Control::CheckTallies(_) => f.write_str("CheckTallies"),
            Control::ClearCheckTallies => f.write_str("ClearCheckTallies"),
            Control::Reload(c) => {
                let c: &conf_parse::Config = (**c).borrow();
                f.debug_tuple("Reload").field(c).finish()
            }
        }
    }
}

/// Something the director reports to the metrics sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectorEvent {
    /// A reconcile ran.
    Reconciled {
        /// Operations applied.
        applied: usize,
        /// Operations that failed.
        failed: usize,
    },
    /// A real server became alive / dead.
    RealServer {
        /// Which.
        rs: RsId,
        /// Now alive?
        alive: bool,
    },
    /// A virtual server gained / lost quorum.
    Quorum {
        /// Which.
        vs: VsId,
        /// Now held?
        up: bool,
    },
    /// A check failed (state change or `log_all_failures`).
    CheckFailed {
        /// Which real server.
        rs: RsId,
        /// Why.
        reason: String,
    },
    /// The first check of a real server's checker completed (for status and metrics: the
    /// real server's state is known; the later checks are counted, read them with
    /// [`Control::CheckTallies`]).
    Checked {
        /// Which real server.
        rs: RsId,
        /// This check passed.
        ok: bool,
        /// How long it took.
        latency: std::time::Duration,
        /// Why it failed.
        reason: Option<String>,
        /// The real server is in service now (before any change this result causes, which
        /// follows as [`DirectorEvent::RealServer`]).
        alive: bool,
    },
    /// A real server's state was notified (keepalived's `do_rs_notifies`, where it sends
    /// KEEPALIVED-MIB's realServerStateChange), or, at stop, a real server in service is
    /// removed (keepalived always sends that notification then).
    RealServerNotified {
        /// Which.
        rs: RsId,
        /// Its state notified.
        alive: bool,
        /// Real servers of its virtual server alive at that moment (sorry server excluded).
        up: u32,
        /// Real servers of its virtual server (sorry server excluded).
        total: u32,
    },
    /// A virtual server's quorum was notified (keepalived's `do_vs_notifies`, where it sends
    /// virtualServerQuorumStateChange; `stopping`: at stop, whatever the quorum).
    QuorumNotified {
        /// Which.
        vs: VsId,
        /// Quorum held.
        up: bool,
        /// Sent at stop.
        stopping: bool,
        /// Real servers alive at that moment (sorry server excluded).
        alive: u32,
        /// Real servers (sorry server excluded).
        total: u32,
    },
    /// The number of a real server's checkers that are failing changed (keepalived's
    /// `num_failed_checkers`).
    FailedCheckers {
        /// Which.
        rs: RsId,
        /// Checkers failing now.
        failed: u32,
    },
    /// A configuration was (re)loaded: virtual servers, real servers, distinct check jobs.
    Loaded {
        /// Virtual servers.
        virtual_servers: usize,
        /// Real servers.
        real_servers: usize,
        /// Distinct check jobs running.
        check_jobs: usize,
    },
}

/// Callback for events (metrics, tests).
pub type EventSink = Arc<dyn Fn(&DirectorEvent) + Send + Sync>;

/// Options of [`run`].
#[derive(Default)]
pub struct DirectorOptions {
    /// Commands (shutdown, reload). `None`: only signals (if enabled) stop the director.
    pub control: Option<mpsc::UnboundedReceiver<Control>>,
    /// Install handlers: SIGTERM/SIGINT → shutdown, SIGHUP → reload `config_path`.
    pub handle_signals: bool,
    /// Configuration file re-read on SIGHUP.
    pub config_path: Option<PathBuf>,
    /// Parse options for reloads.
    pub parse_options: Option<conf_parse::ParseOptions>,
    /// `-I` / `--dont-release-ipvs`: leave our IPVS entries in place at stop.
    pub dont_release_ipvs: bool,
    /// Metrics/event sink.
    pub events: Option<EventSink>,
    /// BFD session states from the BFD worker (by `bfd_instance` name, true: Up), for
    /// `BFD_CHECK`: a real server's BFD check follows its session's reported state (a session
    /// not reported yet leaves the check in its initial state, as keepalived does).
    pub bfd_states: Option<tokio::sync::watch::Receiver<BfdStates>>,
}

/// BFD session states by `bfd_instance` name (true: Up).
pub type BfdStates = std::collections::BTreeMap<String, bool>;

impl std::fmt::Debug for DirectorOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectorOptions")
            .field("handle_signals", &self.handle_signals)
            .field("config_path", &self.config_path)
            .field("dont_release_ipvs", &self.dont_release_ipvs)
            .finish_non_exhaustive()
    }
}

/// Run the director on the kernel's IPVS table of the current network namespace until
/// shutdown. Blocking; owns its tokio runtime.
/// A parse result shared with the caller (e.g. the worker shell's `Arc`), read by the director
/// without copying the model: a deep copy of 37,000 real servers costs the start and the reload
/// real time.
#[derive(Debug, Clone)]
pub struct SharedParsed(pub Arc<conf_parse::Parsed>);

impl Borrow<conf_parse::Config> for SharedParsed {
    fn borrow(&self) -> &conf_parse::Config {
        &self.0.config
    }
}

/// Run the director on the kernel's IPVS until it is told to stop. `config`: a
/// `conf_parse::Config` or a [`SharedParsed`].
pub fn run(
    config: impl Borrow<conf_parse::Config>,
    opts: DirectorOptions,
) -> Result<(), DirectorError> {
    // net_namespace_ipvs: the IPVS table of another namespace; the checks stay in ours.
    let ns = config.borrow().global.net_namespace_ipvs.clone();
    let h = ipvs_nl::Handle::for_keepalived_namespace(ns.as_deref()).map_err(|source| {
        DirectorError::Ipvs {
            context: if ns.is_some() {
                "opening the IPVS netlink socket in the net_namespace_ipvs namespace"
            } else {
                "opening the IPVS netlink socket"
            },
            source,
        }
    })?;
    run_with(config, opts, h)
}

/// [`run`] with any [`Kernel`] (e.g. [`SharedMemory`] in tests).
pub fn run_with<K: Kernel + 'static>(
    config: impl Borrow<conf_parse::Config>,
    opts: DirectorOptions,
    kernel: K,
) -> Result<(), DirectorError> {
    // One thread: checks are I/O bound and tiny; with a 2-worker multi-threaded runtime the
    // benchmark (scripts/bench-checkers.sh, 1,000 TCP_CHECKs in the VM) used 974 ms of CPU per
    // 1,000 checks against 802 ms on one thread. Reconciles are short netlink batches run inline.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(DirectorError::Runtime)?;
    rt.block_on(async move {
        let mut d = Director::start(config.borrow(), opts, kernel)?;
        d.main_loop().await
    })
}

struct Director<K: Kernel> {
    kernel: K,
    cfg: DirectorConfig,
    health: Health,
    sched: hc::Scheduler,
    rx: mpsc::UnboundedReceiver<hc::Transition>,
    ids: HashMap<hc::CheckId, (RsId, usize)>,
    /// The subscription of each (real server, checker index); its spec is the scheduler's
    /// ([`hc::Scheduler::spec`]), not a copy (a copy per check in this map was about 0.5 kB
    /// per checker with the map's spare room).
    by_key: HashMap<(RsId, usize), hc::CheckId>,
    /// Where each real server of `cfg` is (virtual server, real server index): every check
    /// result looks its real server up (a scan was O(real servers) per check).
    /// Built at the first lookup after `cfg` changed: a start or reload of 37,000 real
    /// servers without checks need not hash every id.
    rs_index: std::cell::OnceCell<HashMap<RsId, (usize, usize)>>,
    /// Check counts of subscriptions that were removed (reload, `ha_suspend`), per real
    /// server: [`Control::CheckTallies`] reports them with the live ones.
    retired: HashMap<RsId, hc::CheckTally>,
    /// Where each virtual server of `cfg` is (the first of equal ids): the notifications of
    /// every virtual server at start, reload and stop looked each one up by a scan, O(VS²).
    vs_index: HashMap<VsId, usize>,
    next_id: hc::CheckId,
    managed: BTreeSet<ServiceKey>,
    /// What we installed in the kernel (None: unknown, the next reconcile reads the table):
    /// reconciles diff against it and dump only the services list, see [`Self::apply`].
    record: Option<ipvs_nl::Record>,
    /// Where the destinations audit continues (index into the recorded services).
    audit_next: usize,
    /// `ha_suspend` virtual servers whose address is not local: their checkers do not run.
    suspended: BTreeSet<VsId>,
    /// `notify_fifo` and `lvs_notify_fifo`, open.
    fifos: Fifos,
    /// Notify scripts and mails started and not finished (awaited, bounded, at stop).
    pending: Vec<tokio::task::JoinHandle<()>>,
    /// `nftables_ipvs` tables.
    nft_ipvs: crate::nft_ipvs::NftIpvs,
    /// Stopping: [`DirectorEvent::RealServerNotified`] and [`DirectorEvent::QuorumNotified`]
    /// are emitted by `stop` itself, with keepalived's counts at stop.
    stopping: bool,
    opts: DirectorOptions,
}

/// Addresses configured on this namespace's interfaces.
fn local_addrs() -> BTreeSet<std::net::IpAddr> {
    let mut out = BTreeSet::new();
    if let Ok(it) = nix::ifaddrs::getifaddrs() {
        for ia in it {
            if let Some(a) = ia.address {
                if let Some(v4) = a.as_sockaddr_in() {
                    out.insert(std::net::IpAddr::V4(v4.ip()));
                } else if let Some(v6) = a.as_sockaddr_in6() {
                    out.insert(std::net::IpAddr::V6(v6.ip()));
                }
            }
        }
    }
    out
}

async fn recv_control(rx: &mut Option<mpsc::UnboundedReceiver<Control>>) -> Control {
    match rx {
        Some(r) => match r.recv().await {
            Some(c) => c,
            None => {
                // Sender gone: the embedding process no longer controls us; keep running
                // until a signal (or forever).
                *rx = None;
                std::future::pending().await
            }
        },
        None => std::future::pending().await,
    }
}

impl<K: Kernel> Director<K> {
    fn start(
        config: &conf_parse::Config,
        opts: DirectorOptions,
        kernel: K,
    ) -> Result<Self, DirectorError> {
        let (cfg, warnings) = compile(config);
        for w in &warnings {
            log::warn!("{w}");
        }
        // keepalived builds the `SSL { }` context only when an SSL_GET exists, and its checker
        // process exits when the files cannot be loaded.
        let ctx = match &cfg.globals.ssl {
            Some(ssl) if cfg.ssl_required() => {
                hc::CheckContext::with_ssl(hc::Limits::default(), ssl)
            }
            _ => hc::CheckContext::new(hc::Limits::default()),
        }
        .map_err(|e| DirectorError::Health(e.to_string()))?;
        let (sched, rx) = hc::Scheduler::new(ctx);
        // Each checker's first result, for the status page and metrics; the later checks
        // are counted by the scheduler and read on demand (Control::CheckTallies): no message
        // per check.
        sched.report_first_check(true);
        let health = Health::new(&cfg);
        let mut d = Director {
            kernel,
            cfg: DirectorConfig::default(),
            health,
            sched,
            rx,
            ids: HashMap::new(),
            by_key: HashMap::new(),
            rs_index: std::cell::OnceCell::new(),
            retired: HashMap::new(),
            vs_index: HashMap::new(),
            next_id: 1,
            managed: BTreeSet::new(),
            record: None,
            audit_next: 0,
            suspended: BTreeSet::new(),
            fifos: Fifos::default(),
            pending: Vec::new(),
            nft_ipvs: crate::nft_ipvs::NftIpvs::default(),
            stopping: false,
            opts,
        };
        if cfg.globals.flush {
            d.kernel.flush().map_err(|source| DirectorError::Ipvs {
                context: "lvs_flush",
                source,
            })?;
        }
        if let Some(t) = &cfg.globals.timeouts {
            if let Err(e) = d.kernel.set_timeouts(t) {
                log::error!("lvs_timeouts: {e}");
            }
        }
        if cfg.globals.sync_daemon.is_some() {
            log::warn!(
                "lvs_sync_daemon: not implemented by this worker (needs VRRP state), ignored"
            );
        }
        d.cfg = cfg;
        d.index_real_servers();
        // check_daemon.c start_check: the FIFOs are opened before the services are set up.
        d.fifos = Fifos::open(&d.cfg.globals.fifos);
        d.update_suspension();
        // ipvswrapper.c ipvs_cmd: the group ranges are marked before their fwmark services
        // are added.
        d.nft_ipvs.apply(d.cfg.globals.nft_ipvs.as_ref());
        d.apply();
        d.init_notifies(None);
        d.subscribe()?;
        Ok(d)
    }

    fn emit(&self, e: DirectorEvent) {
        if let Some(s) = &self.opts.events {
            s(&e);
        }
    }

    /// `ha_suspend`: recompute which virtual servers have none of their addresses local
    /// (their checkers are suspended; the real servers keep their last state). Returns whether
    /// the set changed.
    fn update_suspension(&mut self) -> bool {
        if !self.cfg.virtual_servers.iter().any(|v| v.ha_suspend) {
            let changed = !self.suspended.is_empty();
            self.suspended.clear();
            return changed;
        }
        let local = local_addrs();
        let mut now = BTreeSet::new();
        for vs in self.cfg.virtual_servers.iter().filter(|v| v.ha_suspend) {
            let addrs: Vec<std::net::IpAddr> = vs
                .services
                .iter()
                .filter_map(|s| match s.key {
                    ServiceKey::Addr { addr, .. } => Some(addr),
                    ServiceKey::Fwmark { .. } => None,
                })
                .collect();
            // fwmark-only services have no address to watch: never suspended.
            if !addrs.is_empty() && !addrs.iter().any(|a| local.contains(a)) {
                now.insert(vs.id.clone());
            }
        }
        if now == self.suspended {
            return false;
        }
        for vs in now.difference(&self.suspended) {
            log::info!("ha_suspend: VS {vs} address not local, checkers suspended");
        }
        for vs in self.suspended.difference(&now) {
            log::info!("ha_suspend: VS {vs} address local, checkers resumed");
        }
        self.suspended = now;
        true
    }

    /// Bring scheduler subscriptions in line with `self.cfg`: unchanged (rs, index, spec)
    /// keep their id and job; others are replaced. Suspended virtual servers get none.
    fn subscribe(&mut self) -> Result<(), DirectorError> {
        let mut want: HashMap<(RsId, usize), CheckSpec> = HashMap::new();
        for vs in &self.cfg.virtual_servers {
            if self.suspended.contains(&vs.id) {
                continue;
            }
            for rs in &vs.real_servers {
                for (i, spec) in rs.checks.iter().enumerate() {
                    want.insert((rs.id.clone(), i), spec.clone());
                }
            }
        }
        let stale: Vec<(RsId, usize)> = self
            .by_key
            .iter()
            .filter(|(k, id)| want.get(*k) != self.sched.spec(**id).as_deref())
            .map(|(k, _)| k.clone())
            .collect();
        for k in stale {
            if let Some(id) = self.by_key.remove(&k) {
                if let Some(t) = self.sched.tally(id) {
                    self.retired.entry(k.0.clone()).or_default().merge(&t);
                }
                self.sched.remove(id);
                self.ids.remove(&id);
            }
        }
        for (k, spec) in want {
            if self.by_key.contains_key(&k) {
                continue;
            }
            let id = self.next_id;
            self.next_id += 1;
            self.sched
                .add(id, spec)
                .map_err(|e| DirectorError::Health(e.to_string()))?;
            self.ids.insert(id, k.clone());
            self.by_key.insert(k, id);
        }
        let stats = self.sched.stats();
        self.emit(DirectorEvent::Loaded {
            virtual_servers: self.cfg.virtual_servers.len(),
            real_servers: self
                .cfg
                .virtual_servers
                .iter()
                .map(|v| v.real_servers.len())
                .sum(),
            check_jobs: stats.jobs,
        });
        Ok(())
    }

    /// Program the desired table. Deletion is limited to services we manage(d).
    ///
    /// What is read from the kernel: at start (and after any failed operation or netlink
    /// overrun) the whole table of our services, as before; otherwise only the services list
    /// (one dump), and the destinations of a service whose kernel entry differs from what we
    /// installed (removed, edited or re-created behind our back). The destinations of the
    /// other services are taken from our record of what we installed, so a reload or a
    /// health change costs netlink work in proportion to what changed. A destination changed
    /// behind our back in a service we did not touch is found by [`Self::audit`] (every
    /// recorded service's destinations compared once a minute, a slice per second).
    fn apply(&mut self) {
        let want = desired(&self.cfg, &self.health);
        let mut scope = self.managed.clone();
        scope.extend(self.cfg.service_keys());
        let mut reads = ipvs_nl::ReadStats::default();
        match ipvs_nl::reconcile_recorded(
            &mut self.kernel,
            &want,
            &Scope::Managed(scope),
            &mut self.record,
            &mut reads,
        ) {
            Ok(r) => {
                // One line per change as a health transition makes it; a start or reload of
                // thousands of entries gets one summary line (per-entry lines at debug): 37,000
                // formatted lines written to the console and syslog cost more CPU than
                // programming the entries.
                if r.applied.len() <= LOG_EACH_OP_MAX {
                    for op in &r.applied {
                        log::info!("{}", describe(op));
                    }
                } else {
                    log::info!(
                        "IPVS: added {} VS and {} real servers, changed {} VS and {} real servers, removed {} VS and {} real servers",
                        r.services_added(),
                        r.destinations_added(),
                        r.services_edited(),
                        r.destinations_edited(),
                        r.services_deleted(),
                        r.destinations_deleted()
                    );
                    if log::log_enabled!(log::Level::Debug) {
                        for op in &r.applied {
                            log::debug!("{}", describe(op));
                        }
                    }
                }
                for (op, e) in &r.failed {
                    log::error!("FAILED {}: {e}", describe(op));
                }
                log::debug!(
                    "IPVS reconcile: {} services dump(s), {} destinations dump(s)",
                    reads.service_dumps,
                    reads.destination_dumps
                );
                self.emit(DirectorEvent::Reconciled {
                    applied: r.applied.len(),
                    failed: r.failed.len(),
                });
            }
            Err(e) => log::error!("reconcile: {e}"),
        }
        self.managed = self.cfg.service_keys();
    }

    /// The destinations audit: compares the kernel's destinations of the next slice of the
    /// recorded services (1/60 of them, at least one, per call: every service once a minute
    /// with the 1 s tick) with the record; a service that differs is forgotten and the table
    /// reconciled again (its destinations dumped and corrected). Returns whether it did.
    fn audit(&mut self) -> bool {
        let Some(rec) = self.record.as_ref() else {
            return false;
        };
        let n = rec.len();
        if n == 0 {
            return false;
        }
        let per_tick = n.div_ceil(AUDIT_PERIOD_TICKS);
        let start = self.audit_next % n;
        let keys: Vec<ServiceKey> = rec.keys().skip(start).take(per_tick).copied().collect();
        self.audit_next = start + keys.len();
        let mut changed = Vec::new();
        for k in keys {
            match self.kernel.destinations(&k) {
                Ok(d) if rec.destinations_match(&k, &d) => {}
                Ok(_) | Err(_) => changed.push(k),
            }
        }
        if changed.is_empty() {
            return false;
        }
        if let Some(rec) = self.record.as_mut() {
            for k in &changed {
                log::warn!(
                    "IPVS: VS {} changed behind our back, resyncing it",
                    fmt_key(k)
                );
                rec.forget(k);
            }
        }
        self.apply();
        true
    }

    fn on_transition(&mut self, t: hc::Transition) -> bool {
        let Some((rs, idx)) = self.ids.get(&t.id).cloned() else {
            return false;
        };
        if t.kind == TransitionKind::Checked {
            let alive = self.find_rs(&rs).is_none_or(|r| self.health.alive(r));
            self.emit(DirectorEvent::Checked {
                rs,
                ok: t.up,
                latency: t.latency,
                reason: t.reason.as_ref().map(ToString::to_string),
                alive,
            });
            return false;
        }
        if let Some(r) = &t.reason {
            if t.kind == TransitionKind::FailureLogged || !t.up {
                self.emit(DirectorEvent::CheckFailed {
                    rs: rs.clone(),
                    reason: r.to_string(),
                });
            }
        }
        if t.kind == TransitionKind::FailureLogged {
            if let Some(r) = &t.reason {
                log::info!("check of {rs} in VS {} failed: {r}", rs.vs);
            }
            return false;
        }
        if t.kind == TransitionKind::Confirmed {
            // check_api.c update_svr_checker_state: a first result that leaves the checker as
            // it started is notified when the checker has `alpha` or is down (an alpha
            // checker's first failure: notify_down and the FIFO line, no mail).
            let alpha = self
                .by_key
                .get(&(rs.clone(), idx))
                .and_then(|id| self.sched.spec(*id))
                .is_some_and(|spec| spec.params.alpha);
            let still = self
                .health
                .checkers
                .get(&rs)
                .and_then(|v| v.get(idx))
                .is_some_and(|c| c.up == t.up);
            if still && (alpha || !t.up) {
                let alive = self.find_rs(&rs).is_some_and(|r| self.health.alive(r));
                self.notify_rs(&rs, alive);
            }
        }
        let before_w = self
            .health
            .checkers
            .get(&rs)
            .and_then(|v| v.get(idx))
            .map(|c| c.weight);
        let before_up = self
            .health
            .checkers
            .get(&rs)
            .and_then(|v| v.get(idx))
            .map(|c| c.up);
        let change = self.health.set_checker(&rs, idx, t.up, t.weight);
        if before_up.is_some_and(|b| b != t.up) {
            self.emit_failed_checkers(&rs);
        }
        // check_*.c: `rs_was_alive != rs->alive || !no_checker_emails`.
        if before_up.is_some_and(|b| b != t.up)
            && (change.is_some() || !self.cfg.globals.no_checker_emails)
        {
            self.mail_rs(&rs, idx, t.up);
        }
        let weight_changed = before_w != Some(t.weight) && t.up;
        if let Some(ch) = change {
            let why = t
                .reason
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            log::info!(
                "{} {rs} in VS {}{why}",
                if ch.alive {
                    "Enabling service"
                } else {
                    "Disabling service"
                },
                rs.vs
            );
            self.emit(DirectorEvent::RealServer {
                rs: rs.clone(),
                alive: ch.alive,
            });
            self.notify_rs(&rs, ch.alive);
            return true;
        }
        weight_changed
    }

    /// Apply the BFD sessions' states to the `BFD_CHECK`s (check_bfd.c
    /// `bfd_check_handle_event`). Returns whether a real server changed.
    fn on_bfd(&mut self, states: &BfdStates) -> bool {
        let mut todo = Vec::new();
        for vs in &self.cfg.virtual_servers {
            for rs in &vs.real_servers {
                for (j, b) in rs.bfd_checks.iter().enumerate() {
                    let Some(&up) = states.get(&b.name) else {
                        continue;
                    };
                    let idx = rs.checks.len() + j;
                    let cur = self
                        .health
                        .checkers
                        .get(&rs.id)
                        .and_then(|v| v.get(idx))
                        .map(|c| c.up);
                    if cur.is_some_and(|c| c != up) {
                        todo.push((rs.id.clone(), idx, b.name.clone(), up));
                    }
                }
            }
        }
        let mut changed = false;
        for (rs, idx, name, up) in todo {
            log::info!(
                "BFD check of [{name}] RS({rs}) is {}",
                if up { "UP" } else { "DOWN" }
            );
            let ch = self.health.set_checker(&rs, idx, up, None);
            self.emit_failed_checkers(&rs);
            if let Some(ch) = ch {
                log::info!(
                    "{} {rs} in VS {}",
                    if ch.alive {
                        "Enabling service"
                    } else {
                        "Disabling service"
                    },
                    rs.vs
                );
                self.emit(DirectorEvent::RealServer {
                    rs: rs.clone(),
                    alive: ch.alive,
                });
                self.notify_rs(&rs, ch.alive);
                changed = true;
            }
        }
        changed
    }

    fn emit_failed_checkers(&self, rs: &RsId) {
        let failed = self
            .health
            .checkers
            .get(rs)
            .map_or(0, |v| v.iter().filter(|c| !c.up).count());
        self.emit(DirectorEvent::FailedCheckers {
            rs: rs.clone(),
            failed: u32::try_from(failed).unwrap_or(u32::MAX),
        });
    }

    /// Every real server's check counts and last check ([`Control::CheckTallies`]).
    fn check_tallies(&self) -> Vec<(RsId, hc::CheckTally)> {
        let mut by_rs = self.retired.clone();
        for (id, t) in self.sched.tallies() {
            if let Some((rs, _)) = self.ids.get(&id) {
                match by_rs.get_mut(rs) {
                    Some(a) => a.merge(&t),
                    None => {
                        by_rs.insert(rs.clone(), t);
                    }
                }
            }
        }
        by_rs.into_iter().collect()
    }

    fn clear_check_tallies(&mut self) {
        self.sched.clear_tallies();
        for t in self.retired.values_mut() {
            t.ok = 0;
            t.failed = 0;
        }
    }

    fn find_vs(&self, id: &VsId) -> Option<&crate::model::VirtualServer> {
        self.cfg.virtual_servers.get(*self.vs_index.get(id)?)
    }

    fn find_rs(&self, id: &RsId) -> Option<&crate::model::RealServer> {
        let index = self.rs_index.get_or_init(|| {
            let mut index = HashMap::new();
            for (v, vs) in self.cfg.virtual_servers.iter().enumerate() {
                for (r, rs) in vs.real_servers.iter().enumerate() {
                    index.entry(rs.id.clone()).or_insert((v, r));
                }
            }
            index
        });
        let (v, r) = *index.get(id)?;
        self.cfg.virtual_servers.get(v)?.real_servers.get(r)
    }

    /// Rebuild [`Self::vs_index`] after `cfg` changed, and drop [`Self::rs_index`] (built
    /// again at its next use). The first of equal ids wins, as the scan it replaces found.
    fn index_real_servers(&mut self) {
        self.rs_index = std::cell::OnceCell::new();
        self.vs_index.clear();
        for (v, vs) in self.cfg.virtual_servers.iter().enumerate() {
            self.vs_index.entry(vs.id.clone()).or_insert(v);
        }
    }

    fn after_change(&mut self) {
        for (vs, up) in self.health.update_quorum(&self.cfg) {
            log::info!("{} quorum for VS {vs}", if up { "Gained" } else { "Lost" });
            self.emit(DirectorEvent::Quorum { vs: vs.clone(), up });
            self.notify_vs(&vs, up);
            if let Some(v) = self.find_vs(&vs) {
                if let (true, Some(settings)) = (v.smtp_alert, self.cfg.globals.smtp.clone()) {
                    // ipwrapper.c do_vs_notifies: "=> Gained quorum Q+H=T <= W <=".
                    let alert = smtp_alert::Alert::quorum(
                        &settings.router_id,
                        &vs.keepalived_fmt(),
                        up,
                        v.quorum,
                        v.hysteresis,
                        self.health.weight_sum(v),
                    );
                    smtp_alert::spawn(settings, alert);
                }
            }
        }
        self.apply();
    }

    async fn reload(&mut self, config: &conf_parse::Config) -> Result<(), DirectorError> {
        let (cfg, warnings) = compile(config);
        for w in &warnings {
            log::warn!("{w}");
        }
        log::info!("Reloading configuration");
        let old = std::mem::replace(&mut self.cfg, cfg);
        self.index_real_servers();
        // check_daemon.c reload_check_thread: every script is terminated (the FIFO readers
        // too), the FIFOs are closed (the ones it created removed), then opened again with
        // their scripts started anew, as at start.
        self.fifos.terminate_readers();
        self.fifos.close().await;
        self.fifos = Fifos::open(&self.cfg.globals.fifos);
        self.health.sync(&self.cfg, Some(&old));
        // ipwrapper.c init_services at a reload: new real servers and virtual servers are
        // notified as at start.
        self.init_notifies(Some(&old));
        self.update_suspension();
        if let Some(t) = &self.cfg.globals.timeouts {
            if old.globals.timeouts.as_ref() != Some(t) {
                if let Err(e) = self.kernel.set_timeouts(t) {
                    log::error!("lvs_timeouts: {e}");
                }
            }
        }
        self.nft_ipvs.apply(self.cfg.globals.nft_ipvs.as_ref());
        self.subscribe()?;
        self.after_change();
        Ok(())
    }

    async fn reload_from_file(&mut self) -> Result<(), DirectorError> {
        let Some(path) = self.opts.config_path.clone() else {
            log::warn!("reload requested but no configuration file known");
            return Ok(());
        };
        let po = self.opts.parse_options.clone().unwrap_or_default();
        let parsed = conf_parse::parse_file(&path, &po);
        if let Some(e) = parsed
            .diagnostics
            .iter()
            .find(|d| d.severity == conf_parse::Severity::Error)
        {
            log::error!(
                "reload of {} refused, configuration has errors: {}",
                path.display(),
                e.message
            );
            return Ok(());
        }
        self.reload(&parsed.config).await
    }

    /// keepalived's `clear_services` (ipwrapper.c), unless `-I`: with `lvs_flush_on_stop` the
    /// whole table is flushed, with `lvs_flush_on_stop VS` each of our virtual servers is
    /// removed at once, else each real server then each virtual server. Under `omega` the
    /// real servers removed one by one that were alive are notified down (script, FIFO,
    /// "=> Shutting down <=" mail) and every virtual server too (quorum_down, FIFO, mail).
    async fn stop(&mut self) {
        self.sched.shutdown();
        self.stopping = true;
        // check_daemon.c checker_terminate_phase1: every script process is terminated
        // (SIGTERM) first, the FIFO readers included, then the services are cleared.
        self.fifos.terminate_readers();
        if self.opts.dont_release_ipvs {
            log::info!("dont_release_ipvs: leaving IPVS entries in place");
            self.fifos.close().await;
            return;
        }
        let flush = self.cfg.globals.flush_on_stop;
        if flush == conf_parse::FlushOnStop::Full {
            if let Err(e) = self.kernel.flush() {
                log::error!("lvs_flush_on_stop: {e}");
            }
        }
        let vss: Vec<(VsId, bool, bool)> = self
            .cfg
            .virtual_servers
            .iter()
            .map(|v| (v.id.clone(), v.omega, v.smtp_alert))
            .collect();
        for (vs, omega, vs_mail) in vss {
            self.stop_notified(&vs, flush);
            if !omega {
                continue;
            }
            if flush == conf_parse::FlushOnStop::No {
                let alive: Vec<(RsId, bool)> = self
                    .cfg
                    .virtual_servers
                    .iter()
                    .filter(|v| v.id == vs)
                    .flat_map(|v| v.real_servers.iter())
                    .filter(|rs| self.health.alive(rs))
                    .map(|rs| (rs.id.clone(), rs.smtp_alert))
                    .collect();
                for (rs, rs_mail) in alive {
                    log::info!(
                        "Shutting down service {} from VS {}",
                        rs.keepalived_fmt(),
                        vs.keepalived_fmt()
                    );
                    self.notify_rs(&rs, false);
                    if let (true, Some(settings)) = (rs_mail, self.cfg.globals.smtp.clone()) {
                        let alert = smtp_alert::Alert::real_server(
                            &settings.router_id,
                            &rs.keepalived_fmt(),
                            &vs.keepalived_fmt(),
                            false,
                            "=> Shutting down <=",
                        );
                        let h = smtp_alert::spawn(settings, alert);
                        self.track(h);
                    }
                }
            }
            self.notify_vs(&vs, false);
            if let (true, Some(settings)) = (vs_mail, self.cfg.globals.smtp.clone()) {
                let alert =
                    smtp_alert::Alert::vs_shutdown(&settings.router_id, &vs.keepalived_fmt());
                let h = smtp_alert::spawn(settings, alert);
                self.track(h);
            }
        }
        if flush != conf_parse::FlushOnStop::Full {
            let mut scope = self.managed.clone();
            scope.extend(self.cfg.service_keys());
            if let Err(e) = ipvs_nl::reconcile(&mut self.kernel, &[], &Scope::Managed(scope)) {
                log::error!("releasing IPVS services: {e}");
            }
        }
        // keepalived runs the stop notify scripts with a 1 s limit (TIMER_HZ) and sends its
        // mails before exiting: let ours finish, bounded.
        // check_nftables.c nft_ipvs_end: the tables go at the checker's exit.
        self.nft_ipvs.clear();
        let deadline = tokio::time::Instant::now() + STOP_GRACE;
        for h in std::mem::take(&mut self.pending) {
            let _ = tokio::time::timeout_at(deadline, h).await;
        }
        self.fifos.close().await;
    }

    /// keepalived's notifications of `vs` at stop (clear_service_vs, clear_service_rs): with
    /// `lvs_flush_on_stop` off, each real server in service (alive, in the pool) removed, the
    /// count of those alive going down, then the quorum (status 3, "stopping"); with it on, only the quorum
    /// (real servers counted as they were).
    fn stop_notified(&self, vs: &VsId, flush: conf_parse::FlushOnStop) {
        let Some(v) = self.find_vs(vs) else {
            return;
        };
        let total = u32::try_from(v.real_servers.len()).unwrap_or(u32::MAX);
        let alive: Vec<&RsId> = v
            .real_servers
            .iter()
            .filter(|rs| self.health.alive(rs))
            .map(|rs| &rs.id)
            .collect();
        let mut up = u32::try_from(alive.len()).unwrap_or(u32::MAX);
        // Only those in the pool: with the quorum lost, a sorry server has replaced them.
        let in_pool = self.health.quorum_up(vs) || v.sorry.is_none();
        if flush == conf_parse::FlushOnStop::No && in_pool {
            for rs in alive {
                up = up.saturating_sub(1);
                self.emit(DirectorEvent::RealServerNotified {
                    rs: rs.clone(),
                    alive: false,
                    up,
                    total,
                });
            }
        }
        self.emit(DirectorEvent::QuorumNotified {
            vs: vs.clone(),
            up: false,
            stopping: true,
            alive: up,
            total,
        });
    }

    /// Keep a started script or mail (finished ones are dropped).
    fn track(&mut self, h: tokio::task::JoinHandle<()>) {
        self.pending.retain(|h| !h.is_finished());
        self.pending.push(h);
    }

    async fn main_loop(&mut self) -> Result<(), DirectorError> {
        use tokio::signal::unix::{signal, Signal, SignalKind};
        let mk = |k: SignalKind, name: &'static str| -> Result<Option<Signal>, DirectorError> {
            signal(k).map(Some).map_err(|source| DirectorError::Signal {
                signal: name,
                source,
            })
        };
        let (mut term, mut int, mut hup) = if self.opts.handle_signals {
            (
                mk(SignalKind::terminate(), "SIGTERM")?,
                mk(SignalKind::interrupt(), "SIGINT")?,
                mk(SignalKind::hangup(), "SIGHUP")?,
            )
        } else {
            (None, None, None)
        };
        async fn sig(s: &mut Option<Signal>) {
            match s {
                Some(s) => {
                    if s.recv().await.is_none() {
                        std::future::pending::<()>().await
                    }
                }
                None => std::future::pending().await,
            }
        }
        let mut control = self.opts.control.take();
        let mut bfd = self.opts.bfd_states.take();
        async fn bfd_changed(
            b: &mut Option<tokio::sync::watch::Receiver<BfdStates>>,
        ) -> Option<BfdStates> {
            match b {
                Some(r) => {
                    if r.changed().await.is_err() {
                        *b = None;
                        return None;
                    }
                    Some(r.borrow_and_update().clone())
                }
                None => std::future::pending().await,
            }
        }
        if let Some(b) = bfd.as_mut() {
            let now = b.borrow_and_update().clone();
            if self.on_bfd(&now) {
                self.after_change();
            }
        }
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if self.update_suspension() {
                        self.subscribe()?;
                    }
                    self.audit();
                }
                t = self.rx.recv() => {
                    let Some(t) = t else { break };
                    let mut changed = self.on_transition(t);
                    while let Ok(t) = self.rx.try_recv() {
                        changed |= self.on_transition(t);
                    }
                    if changed {
                        self.after_change();
                    }
                }
                c = recv_control(&mut control) => match c {
                    Control::Shutdown => break,
                    Control::CheckTallies(reply) => {
                        let _ = reply.send(self.check_tallies());
                    }
                    Control::ClearCheckTallies => self.clear_check_tallies(),
                    Control::Reload(cfg) => {
                        self.reload((*cfg).borrow()).await?;
                        if let Some(b) = bfd.as_ref() {
                            let now = b.borrow().clone();
                            if self.on_bfd(&now) {
                                self.after_change();
                            }
                        }
                    }
                },
                s = bfd_changed(&mut bfd) => {
                    if let Some(s) = s {
                        if self.on_bfd(&s) {
                            self.after_change();
                        }
                    }
                }
                _ = sig(&mut term) => break,
                _ = sig(&mut int) => break,
                _ = sig(&mut hup) => self.reload_from_file().await?,
            }
        }
        log::info!("Stopping");
        self.stop().await;
        Ok(())
    }
}

/// How long the stop waits for the notify scripts and mails it started (omega).
/// Up to this many applied operations are logged one line each (else a summary line).
const LOG_EACH_OP_MAX: usize = 64;

/// The destinations audit covers every recorded service in this many 1 s ticks.
const AUDIT_PERIOD_TICKS: usize = 60;

const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

fn fmt_key(k: &ServiceKey) -> String {
    match k {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let p = match protocol.raw() {
                6 => "tcp",
                17 => "udp",
                132 => "sctp",
                _ => "?",
            };
            match addr {
                std::net::IpAddr::V4(a) => format!("{a}:{p}:{port}"),
                std::net::IpAddr::V6(a) => format!("[{a}]:{p}:{port}"),
            }
        }
        ServiceKey::Fwmark { mark, .. } => format!("FWM {mark}"),
    }
}

fn describe(op: &Operation) -> String {
    match op {
        Operation::AddService(s) => format!("Adding VS {}", fmt_key(&s.key)),
        Operation::EditService(s) => format!("Editing VS {}", fmt_key(&s.key)),
        Operation::DelService(k) => format!("Removing VS {}", fmt_key(k)),
        Operation::AddDestination(k, d) => format!(
            "Adding service {}:{} (weight {}) to VS {}",
            d.addr,
            d.port,
            d.weight,
            fmt_key(k)
        ),
        Operation::EditDestination(k, d) => format!(
            "Setting service {}:{} weight {} in VS {}",
            d.addr,
            d.port,
            d.weight,
            fmt_key(k)
        ),
        Operation::DelDestination(k, d) => {
            format!(
                "Removing service {}:{} from VS {}",
                d.addr,
                d.port,
                fmt_key(k)
            )
        }
    }
}
