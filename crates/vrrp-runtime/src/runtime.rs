//! The event loop: sockets, timers, tracking and the state machines' actions.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use conf_parse::{Config, IpAddress};
use netplat::{AddressSpec, PacketSocket, Rtnl, Scope};
use socket2::Socket;
use tokio::sync::mpsc;
use vrrp_proto::wire::ip::{checksum_mode, AhHeader, IpHeader, Ipv4Header, VRRP_TOS, VRRP_TTL};
use vrrp_proto::wire::{frames, AdvertRepr, IpAdvert};
use vrrp_proto::{
    validate, Action, Actions, Family, Input, Priority, ReceiveContext, RxPacket, State,
    VirtualRouter,
};

use crate::config::{self, InstanceSpec, LEASE_MARGIN_SECS};
use crate::events::{Event, Shutdown, Tx};
use crate::notify::{self, Fifos, Job};
use crate::track::{self, TrackEvent};
use crate::{procs, sock, HeldVip, Metrics, RuntimeOptions, VrrpRuntimeError};

/// How often links are polled when link events are unavailable (otherwise they are re-read
/// only when the kernel reports a link change, [`netplat::LinkWatch`]), and track files when
/// inotify is unavailable.
const LINK_POLL: Duration = Duration::from_millis(50);
/// Track files are re-read on inotify events, and this often as a safety net.
const FILE_SAFETY_POLL: Duration = Duration::from_secs(1);
/// Stats file: rewritten at most this often and only after something happened (at once after
/// a state change).
const STATS_EVERY: Duration = Duration::from_millis(100);
/// Minimum grace after seeing the new master's first advert before a resigning master drops its
/// VIPs (lets the new master install its VIPs and its gratuitous ARPs reach the clients first;
/// the grace is one advert interval, at least this, at most 1 s).
const HANDOVER_GRACE_MIN: Duration = Duration::from_millis(50);

struct Inst {
    spec: InstanceSpec,
    /// The instance's (base) interface: adverts are received there, its link state is tracked.
    ifindex: u32,
    /// Where VIPs, routes and GARPs go: the VMAC, else the base interface (name, index).
    vip_if: (String, u32),
    /// Socket adverts are sent from (the VMAC's unless `vmac_xmit_base`).
    tx_sock: usize,
    /// The VMAC this runtime created (deleted when the instance leaves).
    vmac_created: Option<u32>,
    /// VMACs of addresses (`use_vmac_addr`, a VIP's `use_vmac`).
    addr_vmacs: Vec<AddrVmac>,
    mac: [u8; 6],
    primary: IpAddr,
    vr: VirtualRouter,
    sock: usize,
    packet: Option<PacketSocket>,
    /// Gratuitous ARP/NA sockets of the other interfaces VIPs are put on with `dev`: (name,
    /// MAC, socket). keepalived sends each VIP's GARPs on the VIP's own interface.
    garp_ifs: Vec<(String, [u8; 6], PacketSocket)>,
    notify: Option<mpsc::UnboundedSender<Job>>,
    holding: bool,
    last_refresh: Option<Instant>,
    /// The lease renewals of the IPv4 VIPs, serialized once (`None`: to be built at the next
    /// renewal; cleared whenever the VIPs are added, removed or reconfigured).
    lease_msgs: Option<Vec<netplat::Prepared>>,
    link_up: bool,
    track_if_up: BTreeMap<String, bool>,
    /// Last value read from each tracked file.
    track_file_values: BTreeMap<String, i64>,
    fault: bool,
    delta: i32,
    ah_last_seq: u32,
    /// Our AH sequence number (v2 AH authentication).
    ah_tx_seq: u32,
    /// IP identification of our last advert.
    ip_ident: u16,
    /// The IPv4 adverts last emitted, one per destination, with the priority and source they
    /// were built with: a send without AH only restamps the IP ident (cleared when the
    /// configuration is reloaded).
    advert_cache: Vec<(Priority, Ipv4Addr, Ipv4Addr, Vec<u8>)>,
    /// Indexes of the instances of this instance's vrrp_sync_group (itself included).
    group: Option<Vec<usize>>,
    /// Planned handover: keep VIPs until a new master is heard or this deadline.
    handover_until: Option<Instant>,
    /// New master heard: drop VIPs at this instant.
    handover_drop_at: Option<Instant>,
}

/// What a VMAC is to be: its VRID and family (hence its MAC), name, whether IPv6 stays on, and
/// the link-local source address to put on it.
#[derive(Clone, Copy)]
struct VmacReq<'a> {
    vrid: u8,
    family: Family,
    name: &'a str,
    ipv6_on: bool,
    link_local: Option<std::net::Ipv6Addr>,
}

/// A running address VMAC: its plan, link index, whether we created it, MAC and GARP socket.
struct AddrVmac {
    spec: config::AddrVmacSpec,
    index: u32,
    created: bool,
    mac: [u8; 6],
    packet: Option<PacketSocket>,
}

struct SockEntry {
    /// Has a receive thread (false: a VMAC's send-only socket).
    receive: bool,
    ifindex: u32,
    family: Family,
    proto: i32,
    fd: Arc<Socket>,
}

struct Rt {
    insts: Vec<Inst>,
    socks: Vec<SockEntry>,
    rtnl: Rtnl,
    metrics: Arc<Metrics>,
    opts: RuntimeOptions,
    lease: bool,
    scripts_ok: BTreeMap<String, bool>,
    insecure_scripts: Vec<String>,
    held_published: Vec<HeldVip>,
    /// A state changed since the stats file was last written (written at once, not throttled).
    state_changed: bool,
    /// Installed `static_ipaddress`, `static_routes` and `static_rules`.
    statics: Statics,
    /// Quorum of each tracked `vrrp_track_process`, by name.
    procs_ok: BTreeMap<String, bool>,
    /// The running sync groups, for their own notifications.
    groups: Vec<GroupRt>,
    /// Gratuitous ARP/NA pacing per interface (`garp_group`, `vrrp_garp_interval`).
    pacers: crate::garp::Pacers,
}

fn nl(op: String) -> impl FnOnce(netplat::Error) -> VrrpRuntimeError {
    move |source| VrrpRuntimeError::Netlink { op, source }
}

fn state_name(s: State) -> &'static str {
    match s {
        State::Master => "MASTER",
        State::Backup => "BACKUP",
        State::Fault => "FAULT",
        State::Initialize => "STOP",
    }
}

fn parse_scope(s: &str) -> Scope {
    match s {
        "host" => Scope::Host,
        "link" => Scope::Link,
        "site" => Scope::Site,
        "nowhere" => Scope::Nowhere,
        "global" | "universe" => Scope::Universe,
        n => n.parse::<u8>().map(Scope::Other).unwrap_or(Scope::Universe),
    }
}

/// Handles the runtime owns besides the instances: notify FIFOs, receive/link threads, script
/// tasks, notification queues. Kept together so a reload can add to them.
struct Env {
    fifos: Fifos,
    fifo_paths: Vec<String>,
    rx_tx: Tx<(usize, Vec<u8>, Instant)>,
    tr_tx: Tx<TrackEvent>,
    stop: Arc<AtomicBool>,
    readers: Vec<std::thread::JoinHandle<()>>,
    /// How many of the runtime's sockets have their receive thread.
    reading: usize,
    notify_handles: Vec<tokio::task::JoinHandle<()>>,
    /// Running `vrrp_script` tasks by name, with their canonical definition.
    scripts: BTreeMap<String, (String, tokio::task::JoinHandle<()>)>,
}

impl Env {
    /// Receive threads for the sockets that have none yet.
    fn spawn_readers(&mut self, socks: &[SockEntry]) -> Result<(), VrrpRuntimeError> {
        while self.reading < socks.len() {
            if socks[self.reading].receive {
                self.spawn_reader(self.reading, &socks[self.reading])?;
            }
            self.reading += 1;
        }
        Ok(())
    }

    /// Receive thread for socket `i` (blocking recv with a short timeout; stamped on arrival).
    fn spawn_reader(&mut self, i: usize, s: &SockEntry) -> Result<(), VrrpRuntimeError> {
        let v6 = s.family == Family::V6;
        let fd = s.fd.clone();
        let tx = self.rx_tx.clone();
        let stop = self.stop.clone();
        let h = std::thread::Builder::new()
            .name(format!("vrrp-rx-{i}"))
            .spawn(move || {
                let mut buf = vec![0u8; 65536];
                while !stop.load(Ordering::Relaxed) {
                    let got = if v6 {
                        sock::recv_v6(&fd, &mut buf)
                    } else {
                        sock::recv(&fd, &mut buf).map(|n| buf[..n].to_vec())
                    };
                    match got {
                        Ok(pkt) => {
                            let now = Instant::now();
                            if tx.send((i, pkt, now)).is_err() {
                                return;
                            }
                        }
                        Err(e)
                            if e.kind() == std::io::ErrorKind::WouldBlock
                                || e.kind() == std::io::ErrorKind::TimedOut
                                || e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            log::warn!("VRRP receive: {e}");
                            std::thread::sleep(Duration::from_millis(50));
                        }
                    }
                }
            })
            .map_err(|source| VrrpRuntimeError::Io {
                op: "spawning a receive thread".into(),
                source,
            })?;
        self.readers.push(h);
        Ok(())
    }
}

/// Canonical text of a configuration fragment (locations, comments and spacing do not count).
fn canon(c: Config) -> String {
    conf_parse::print(&c)
}

/// What an instance's running behaviour depends on: the instance, the global settings, and the
/// scripts, track files, track processes and sync groups it refers to. Equal signatures across
/// a reload: the instance is kept untouched.
fn instance_signature(cfg: &Config, inst: &conf_parse::VrrpInstance) -> String {
    let groups: Vec<conf_parse::SyncGroup> = cfg
        .sync_groups
        .iter()
        .filter(|g| g.group.contains(&inst.name))
        .cloned()
        .collect();
    let refs = |own: &[conf_parse::TrackRef],
                pick: fn(&conf_parse::SyncGroup) -> &[conf_parse::TrackRef]| {
        own.iter()
            .chain(groups.iter().flat_map(|g| pick(g).iter()))
            .map(|t| t.name.clone())
            .collect::<Vec<_>>()
    };
    let scripts = refs(&inst.track_script, |g| &g.track_script);
    let files = refs(&inst.track_file, |g| &g.track_file);
    let procs = refs(&inst.track_process, |g| &g.track_process);
    canon(Config {
        global: cfg.global.clone(),
        vrrp_scripts: cfg
            .vrrp_scripts
            .iter()
            .filter(|s| scripts.contains(&s.name))
            .cloned()
            .collect(),
        track_files: cfg
            .track_files
            .iter()
            .filter(|f| files.contains(&f.name))
            .cloned()
            .collect(),
        track_processes: cfg
            .track_processes
            .iter()
            .filter(|p| procs.contains(&p.name))
            .cloned()
            .collect(),
        vrrp_instances: vec![inst.clone()],
        sync_groups: groups,
        ..Config::default()
    })
}

/// Canonical definition of a `vrrp_script` (to tell a changed script from an unchanged one).
fn script_signature(s: &conf_parse::VrrpScript) -> String {
    canon(Config {
        vrrp_scripts: vec![s.clone()],
        ..Config::default()
    })
}

/// Scripts refused by `enable_script_security` (logged with their location).
fn insecure_scripts(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    if !config.global.enable_script_security {
        return out;
    }
    for s in &config.vrrp_scripts {
        if let Some(why) = track::insecure_reason(&s.script) {
            log::error!(
                "{}:{}: vrrp_script {}: refused by enable_script_security: {why}; \
                 the script is not run and its tracking is ignored",
                s.loc.0.file,
                s.loc.0.line,
                s.name
            );
            out.push(s.name.clone());
        }
    }
    out
}

/// What a reload did, by instance name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadReport {
    /// Unchanged: kept running untouched (state, VIPs, timers).
    pub kept: Vec<String>,
    /// Changed in place: state and VIPs kept, new settings applied, VIPs added/removed.
    pub updated: Vec<String>,
    /// Changed in what the instance is bound to (interface, VRID, family, source, multicast
    /// group, unicast, AH): left with priority 0 and started again.
    pub restarted: Vec<String>,
    /// New instances started.
    pub added: Vec<String>,
    /// Instances no longer configured: left with priority 0, VIPs removed.
    pub removed: Vec<String>,
    /// Instances of the new configuration that could not be started (logged, located).
    pub skipped: Vec<String>,
}

/// A reload request for [`crate::run_with_reload`]: the new configuration (already parsed and
/// checked) and where to answer.
#[derive(Debug)]
pub struct Reload {
    /// The new configuration.
    pub config: Config,
    /// Receives the report once applied, or why nothing was applied (an instance to start
    /// cannot run: missing interface, no source address...; located).
    pub done: tokio::sync::oneshot::Sender<Result<ReloadReport, String>>,
}

pub(crate) async fn run_async(
    config: Config,
    opts: RuntimeOptions,
    mut reloads: mpsc::UnboundedReceiver<Reload>,
) -> Result<(), VrrpRuntimeError> {
    let (ev_tx, ev_rx) = crate::events::inbox();
    // Reload requests come on a tokio channel: forwarded into the loop's inbox.
    let fwd = Tx::<Reload>::new(ev_tx.clone());
    let forward = tokio::spawn(async move {
        while let Some(r) = reloads.recv().await {
            if fwd.send(r).is_err() {
                return;
            }
        }
    });
    // The loop runs on a thread of its own (tokio's blocking pool, with this runtime's context:
    // scripts and notifications it starts are tokio tasks here).
    let handle = tokio::runtime::Handle::current();
    let joined = tokio::task::spawn_blocking(move || {
        let _ctx = handle.enter();
        run_loop(config, opts, ev_tx, ev_rx)
    })
    .await;
    forward.abort();
    let notify_handles = match joined {
        Ok(r) => r?,
        Err(e) => {
            return Err(VrrpRuntimeError::Io {
                op: "VRRP loop thread".into(),
                source: std::io::Error::other(e.to_string()),
            })
        }
    };
    // Flush notifications (bounded).
    for h in notify_handles {
        let _ = tokio::time::timeout(Duration::from_secs(5), h).await;
    }
    Ok(())
}

/// The VRRP runtime proper: sets everything up, runs the loop until shutdown, releases.
/// Returns the notification queues to be drained.
fn run_loop(
    config: Config,
    opts: RuntimeOptions,
    ev_tx: crate::events::Sender,
    ev_rx: crate::events::Inbox,
) -> Result<Vec<tokio::task::JoinHandle<()>>, VrrpRuntimeError> {
    let lease = opts
        .vip_lease
        .unwrap_or_else(|| config::lease_from_config(&config));
    let rtnl = Rtnl::new().map_err(nl("opening rtnetlink".into()))?;
    let fifo_paths = config::notify_fifos(&config);

    // Shutdown: external watch and/or signals, forwarded into the inbox.
    if let Some(mut ext) = opts.shutdown.clone() {
        let tx = Tx::<Shutdown>::new(ev_tx.clone());
        tokio::spawn(async move {
            loop {
                if *ext.borrow_and_update() {
                    let _ = tx.send(Shutdown);
                    return;
                }
                if ext.changed().await.is_err() {
                    return;
                }
            }
        });
    }
    if opts.handle_signals {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).map_err(|source| VrrpRuntimeError::Io {
            op: "installing SIGTERM handler".into(),
            source,
        })?;
        let mut int = signal(SignalKind::interrupt()).map_err(|source| VrrpRuntimeError::Io {
            op: "installing SIGINT handler".into(),
            source,
        })?;
        let tx = Tx::<Shutdown>::new(ev_tx.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
            let _ = tx.send(Shutdown);
        });
    }

    let rx_tx = Tx::new(ev_tx.clone());
    let tr_tx = Tx::new(ev_tx.clone());
    let mut env = Env {
        fifos: Fifos::open(&fifo_paths),
        fifo_paths,
        rx_tx,
        tr_tx,
        stop: Arc::new(AtomicBool::new(false)),
        readers: Vec::new(),
        reading: 0,
        notify_handles: Vec::new(),
        scripts: BTreeMap::new(),
    };
    let mut rt = Rt {
        insts: Vec::new(),
        socks: Vec::new(),
        rtnl,
        metrics: opts.metrics.clone(),
        opts,
        lease,
        scripts_ok: BTreeMap::new(),
        insecure_scripts: insecure_scripts(&config),
        held_published: Vec::new(),
        state_changed: false,
        statics: Statics::default(),
        procs_ok: BTreeMap::new(),
        groups: Vec::new(),
        pacers: crate::garp::Pacers::from_config(&config),
    };
    for ci in &config.vrrp_instances {
        if let Some(inst) = rt.build_instance(&config, ci, &mut env) {
            rt.insts.push(inst);
        }
    }
    if rt.insts.is_empty() {
        return Err(VrrpRuntimeError::Config {
            instance: "*".into(),
            file: String::new(),
            line: 0,
            msg: "no runnable vrrp_instance".into(),
        });
    }
    env.spawn_readers(&rt.socks)?;
    rt.sync_scripts(&config, &mut env);
    rt.setup_sync_groups(&config, &mut env);

    rt.apply_statics(&config);
    // Tracked processes: the state at start from one scan, then a scanning thread.
    let proc_tx = Tx::<procs::ProcEvent>::new(ev_tx.clone());
    let mut proc_watch: Option<(BTreeMap<String, String>, Arc<AtomicBool>)> = None;
    let mut watch_procs = |rt: &mut Rt, config: &Config| {
        let ms = procs::matchers_for(config, |n| {
            rt.insts
                .iter()
                .any(|i| i.spec.track_processes.iter().any(|t| t.name == n))
        });
        let sig = procs::signature(&ms);
        if proc_watch.as_ref().is_some_and(|(old, _)| *old == sig) {
            return;
        }
        if let Some((_, stop)) = proc_watch.take() {
            stop.store(true, Ordering::Relaxed);
        }
        rt.procs_ok.clear();
        if ms.is_empty() {
            return;
        }
        let start = procs::initial(&ms);
        for (m, up) in ms.iter().zip(&start) {
            rt.procs_ok.insert(m.name.clone(), *up);
        }
        let stop = Arc::new(AtomicBool::new(false));
        match procs::spawn(ms, start, proc_tx.clone(), stop.clone()) {
            Ok(_) => proc_watch = Some((sig, stop)),
            Err(e) => log::error!("track_process: cannot start the scanning thread: {e}"),
        }
    };
    watch_procs(&mut rt, &config);
    // Leftover VIPs from an earlier run.
    for i in 0..rt.insts.len() {
        rt.remove_vips(i, true);
    }
    rt.publish_held();

    // Initial tracking state, then startup.
    let now = Instant::now();
    for i in 0..rt.insts.len() {
        rt.recompute_tracking(i, now, true);
        rt.feed(i, now, Input::Startup);
    }
    rt.write_stats();

    // Link events, read on a thread like the adverts; without them links are polled like track
    // files.
    let link_tx = Tx::<Result<(), String>>::new(ev_tx.clone());
    let mut link_events = match netplat::LinkWatch::new(Duration::ZERO) {
        Ok(w) => {
            let stop = env.stop.clone();
            let spawned = std::thread::Builder::new()
                .name("vrrp-links".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let ev = match w.wait() {
                            Ok(false) => continue,
                            Ok(true) => Ok(()),
                            Err(e) => Err(e.to_string()),
                        };
                        let failed = ev.is_err();
                        if link_tx.send(ev).is_err() || failed {
                            return;
                        }
                    }
                });
            match spawned {
                Ok(h) => {
                    env.readers.push(h);
                    // Changes between the instances' setup and the subscription.
                    rt.poll_links(Instant::now(), true, false);
                    true
                }
                Err(e) => {
                    log::warn!("link events unavailable ({e}); polling links every {LINK_POLL:?}");
                    false
                }
            }
        }
        Err(e) => {
            log::warn!("link events unavailable ({e}); polling links every {LINK_POLL:?}");
            false
        }
    };
    // Track files: inotify on their directories, read on a thread too (started when the
    // configuration has track files).
    let file_tx = Tx::<()>::new(ev_tx.clone());
    let mut file_watch: Option<std::sync::mpsc::Sender<Vec<std::path::PathBuf>>> = None;
    let mut inotify_ok = true;
    let mut watch_files = |env: &mut Env, paths: Vec<std::path::PathBuf>| -> bool {
        if file_watch.is_none() && !paths.is_empty() && inotify_ok {
            match track::spawn_file_watch(file_tx.clone(), env.stop.clone()) {
                Ok((tx, h)) => {
                    env.readers.push(h);
                    file_watch = Some(tx);
                }
                Err(e) => {
                    log::warn!(
                        "track files: no inotify ({e}); re-reading them every {LINK_POLL:?}"
                    );
                    inotify_ok = false;
                }
            }
        }
        if let Some(w) = &file_watch {
            let _ = w.send(paths);
        }
        inotify_ok
    };
    let inotify = watch_files(&mut env, rt.track_file_paths());
    let mut file_poll = if inotify { FILE_SAFETY_POLL } else { LINK_POLL };
    let mut has_track_files = !rt.track_file_paths().is_empty();
    let mut current = config;

    let mut shutting_down = false;
    let mut next_link_poll = Instant::now() + LINK_POLL;
    let mut next_file_poll = Instant::now() + file_poll;
    let mut stats_dirty = false;
    let mut next_stats = Instant::now() + STATS_EVERY;
    loop {
        let now = Instant::now();
        let deadline = [
            rt.next_deadline(),
            (!link_events).then_some(next_link_poll),
            has_track_files.then_some(next_file_poll),
            stats_dirty.then_some(next_stats),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(now + Duration::from_secs(3600));
        if shutting_down
            && rt
                .insts
                .iter()
                .all(|i| i.handover_until.is_none() && i.handover_drop_at.is_none())
        {
            break;
        }
        // One blocking wait for the next event or the deadline (a futex wait: the only
        // system call of an idle loop besides the adverts themselves).
        let ev = ev_rx.recv_until(deadline);
        match ev {
            None => {}
            Some(Event::Shutdown(_)) if !shutting_down => {
                shutting_down = true;
                rt.begin_shutdown(Instant::now());
            }
            Some(Event::Shutdown(_)) => {}
            // Dropped while stopping: the requester sees its answer channel closed.
            Some(Event::Reload(_)) if shutting_down => {}
            Some(Event::Reload(req)) => {
                let report = rt.reload(&current, &req.config, &mut env, Instant::now());
                if let Err(e) = env.spawn_readers(&rt.socks) {
                    log::error!("reload: {e}");
                }
                match &report {
                    Ok(_) => {
                        rt.apply_statics(&req.config);
                        watch_procs(&mut rt, &req.config);
                        let now = Instant::now();
                        for i in 0..rt.insts.len() {
                            rt.recompute_tracking(i, now, false);
                        }
                        current = req.config;
                        rt.poll_links(Instant::now(), false, true);
                    }
                    Err(e) => log::error!("Reload refused, running configuration kept: {e}"),
                }
                let paths = rt.track_file_paths();
                has_track_files = !paths.is_empty();
                if !watch_files(&mut env, paths) {
                    file_poll = LINK_POLL;
                }
                if link_events {
                    rt.poll_links(Instant::now(), true, false);
                }
                let _ = req.done.send(report);
            }
            Some(Event::Packet(sidx, pkt, at)) => rt.on_packet(sidx, &pkt, at),
            Some(Event::Track(ev)) => {
                rt.scripts_ok.insert(ev.script.clone(), ev.ok);
                rt.recompute_tracking_of(|s| s.track_scripts.iter().any(|t| t.name == ev.script));
            }
            Some(Event::Proc(_)) if shutting_down => {}
            Some(Event::Proc(ev)) => {
                rt.procs_ok.insert(ev.name.clone(), ev.up);
                rt.recompute_tracking_of(|s| s.track_processes.iter().any(|t| t.name == ev.name));
            }
            Some(Event::File) if !shutting_down => rt.poll_links(Instant::now(), false, true),
            Some(Event::File) => {}
            Some(Event::Link(ev)) => match ev {
                Ok(()) if !shutting_down => rt.poll_links(Instant::now(), true, false),
                Ok(()) => {}
                Err(e) => {
                    log::warn!("link events: {e}; polling links every {LINK_POLL:?} instead");
                    link_events = false;
                }
            },
        }
        // Timers run when due, whatever woke the loop (a stream of events cannot starve them).
        let now = Instant::now();
        if now >= deadline {
            rt.on_timers(now, shutting_down);
            let links_due = !link_events && now >= next_link_poll;
            let files_due = has_track_files && now >= next_file_poll;
            if links_due {
                next_link_poll = now + LINK_POLL;
            }
            if files_due {
                next_file_poll = now + file_poll;
            }
            if (links_due || files_due) && !shutting_down {
                rt.poll_links(now, links_due, files_due);
            }
        }
        // Anything above may have moved a counter or a state; states are written at once. No
        // stats file, no timer for it.
        stats_dirty = rt.opts.stats_path.is_some();
        let now = Instant::now();
        if now >= next_stats || std::mem::take(&mut rt.state_changed) {
            rt.write_stats();
            stats_dirty = false;
            next_stats = now + STATS_EVERY;
        }
    }

    // Final: release (unless -V) and flush notifications.
    if !rt.opts.dont_release_vrrp {
        for i in 0..rt.insts.len() {
            if rt.insts[i].holding {
                rt.remove_vips(i, false);
            }
        }
    }
    rt.clear_statics();
    if !rt.opts.dont_release_vrrp {
        for i in 0..rt.insts.len() {
            rt.drop_vmac(i);
        }
    }
    rt.publish_held();
    rt.write_stats();
    for inst in &mut rt.insts {
        inst.notify = None;
    }
    for g in &mut rt.groups {
        g.notify = None;
    }
    for (_, (_, h)) in std::mem::take(&mut env.scripts) {
        h.abort();
    }
    let notify_handles = std::mem::take(&mut env.notify_handles);
    // The reader threads block without timeouts (no idle wake-ups): they end on their next
    // event, finding `stop` set or the runtime gone; they are not waited for.
    env.stop.store(true, Ordering::Relaxed);
    if let Some((_, stop)) = proc_watch.take() {
        stop.store(true, Ordering::Relaxed);
    }
    env.readers.clear();
    Ok(notify_handles)
}

/// A running vrrp_sync_group: its members and the group state last notified.
struct GroupRt {
    name: String,
    members: Vec<usize>,
    state: Option<&'static str>,
    notify: Option<mpsc::UnboundedSender<Job>>,
}

/// What `static_ipaddress`, `static_routes` and `static_rules` installed.
#[derive(Default)]
struct Statics {
    addrs: Vec<AddressSpec>,
    routes: Vec<netplat::RouteSpec>,
    rules: Vec<(netplat::RuleSpec, String)>,
}

/// The VRRP virtual MAC of a VRID (RFC 5798 §7.3): 00:00:5e:00:01:VRID for IPv4,
/// 00:00:5e:00:02:VRID for IPv6.
fn vmac_mac(vrid: u8, family: Family) -> [u8; 6] {
    let f = match family {
        Family::V4 => 0x01,
        Family::V6 => 0x02,
    };
    [0x00, 0x00, 0x5e, 0x00, f, vrid]
}

fn fmt_mac(m: &[u8]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// IP protocol of an instance's socket: AH or VRRP.
fn sock_proto(spec: &InstanceSpec) -> i32 {
    if matches!(spec.auth, vrrp_proto::AuthConfig::Ah(_)) {
        sock::IPPROTO_AH
    } else {
        sock::IPPROTO_VRRP
    }
}

/// Same notify scripts (the queue can stay).
fn same_notify(a: &InstanceSpec, b: &InstanceSpec) -> bool {
    format!("{:?}", a.notify) == format!("{:?}", b.notify)
}

fn primary_address(
    rtnl: &mut Rtnl,
    ifindex: u32,
    family: Family,
    vips: &[IpAddress],
) -> Option<IpAddr> {
    let addrs = rtnl.addresses(Some(ifindex)).ok()?;
    addrs
        .iter()
        .filter(|a| match family {
            Family::V4 => a.addr.is_ipv4(),
            Family::V6 => matches!(a.addr, IpAddr::V6(v) if v.segments()[0] & 0xffc0 == 0xfe80),
        })
        .find(|a| !vips.iter().any(|v| v.addr == a.addr))
        .map(|a| a.addr)
}

impl Rt {
    /// What an instance needs from the configuration and the kernel before anything is opened:
    /// its spec, its interface and its source address. The error is located.
    fn resolve(
        &mut self,
        config: &Config,
        ci: &conf_parse::VrrpInstance,
    ) -> Result<(InstanceSpec, netplat::Link, IpAddr), String> {
        let spec = config::instance_spec(config, ci).map_err(|e| e.to_string())?;
        let link = match self.rtnl.link_by_name(&spec.ifname) {
            Ok(Some(l)) => l,
            Ok(None) => {
                return Err(format!(
                    "{}:{}: vrrp_instance {}: interface {} does not exist",
                    ci.interface_loc.0.file, ci.interface_loc.0.line, spec.name, spec.ifname
                ))
            }
            Err(e) => {
                return Err(format!(
                    "vrrp_instance {}: looking up {}: {e}",
                    spec.name, spec.ifname
                ))
            }
        };
        let primary = match spec.src {
            Some(a) => Some(a),
            None => primary_address(&mut self.rtnl, link.index, spec.family, &spec.vips),
        };
        let Some(primary) = primary else {
            return Err(format!(
                "vrrp_instance {}: interface {} has no {:?} address to send from",
                spec.name, spec.ifname, spec.family
            ));
        };
        Ok((spec, link, primary))
    }

    /// The instance's VMAC: reused if a macvlan of that name with the virtual MAC already sits
    /// on the base interface (an earlier run), else created; up, with keepalived's settings:
    /// no automatic IPv6 link-local address (`addr_gen_mode` none, RFC 5798 §7.4); IPv4:
    /// IPv6 off on the VMAC (unless excluded VIPs are IPv6), VMAC arp_ignore 1, accept_local
    /// 1, rp_filter 0, promote_secondaries 1, base arp_ignore 1, arp_filter 1; IPv6: the
    /// instance's link-local source address added to the VMAC (no DAD, deprecated so it is never
    /// picked for other traffic), so adverts leave from it with the virtual MAC. Returns the
    /// link and whether it was created here.
    fn setup_vmac(
        &mut self,
        inst: &str,
        base: &netplat::Link,
        v: &VmacReq<'_>,
    ) -> Result<(netplat::Link, bool), String> {
        let VmacReq {
            vrid,
            family,
            name,
            ipv6_on,
            link_local,
        } = *v;
        let mac = vmac_mac(vrid, family);
        let (link, created) = match self.rtnl.link_by_name(name) {
            Ok(Some(l)) if l.parent == Some(base.index) && l.mac == mac => (l, false),
            Ok(Some(_)) => {
                return Err(format!(
                    "interface {name} exists and is not this instance's VMAC (macvlan on {} with MAC {})",
                    base.name,
                    fmt_mac(&mac)
                ))
            }
            Ok(None) => {
                let l = self
                    .rtnl
                    .add_macvlan(name, base.index, netplat::MacvlanMode::Private, Some(mac))
                    .map_err(|e| format!("creating VMAC {name}: {e}"))?;
                (l, true)
            }
            Err(e) => return Err(format!("looking up {name}: {e}")),
        };
        let mut settings: Vec<(&str, &str, &str, &str)> = vec![
            ("ipv6", name, "addr_gen_mode", "1"),
            (
                "ipv6",
                name,
                "disable_ipv6",
                if ipv6_on { "0" } else { "1" },
            ),
        ];
        if family == Family::V4 {
            settings.extend([
                ("ipv4", name, "arp_ignore", "1"),
                ("ipv4", name, "accept_local", "1"),
                ("ipv4", name, "rp_filter", "0"),
                ("ipv4", name, "promote_secondaries", "1"),
                ("ipv4", base.name.as_str(), "arp_ignore", "1"),
                ("ipv4", base.name.as_str(), "arp_filter", "1"),
            ]);
        }
        for (fam, ifname, key, value) in settings {
            let path = format!("/proc/sys/net/{fam}/conf/{ifname}/{key}");
            if let Err(e) = std::fs::write(&path, value) {
                log::warn!("VMAC {name}: setting {path} = {value}: {e}");
            }
        }
        self.rtnl
            .set_link_up(link.index, true)
            .map_err(|e| format!("bringing VMAC {name} up: {e}"))?;
        if let Some(ll) = link_local {
            let a = AddressSpec::new(link.index, IpAddr::V6(ll), 64)
                .scope(if ll.segments()[0] & 0xffc0 == 0xfe80 {
                    Scope::Link
                } else {
                    Scope::Universe
                })
                .flags(netplat::AddrFlags::NODAD)
                .lifetimes(u32::MAX, 0);
            if let Err(e) = self.rtnl.replace_address(&a) {
                return Err(format!("adding source address {ll} to VMAC {name}: {e}"));
            }
        }
        if created {
            log::info!(
                "VRRP_Instance({inst}) created VMAC {name} ({}) on {}",
                fmt_mac(&mac),
                base.name
            );
        }
        Ok((link, created))
    }

    /// Deletes the VMAC instance `i` created, if any.
    fn drop_vmac(&mut self, i: usize) {
        for av in std::mem::take(&mut self.insts[i].addr_vmacs) {
            if av.created {
                if let Err(e) = self.rtnl.del_link(av.index) {
                    log::warn!(
                        "VRRP_Instance({}) deleting VMAC {}: {e}",
                        self.insts[i].spec.name,
                        av.spec.name
                    );
                }
            }
        }
        if let Some(ix) = self.insts[i].vmac_created.take() {
            if let Err(e) = self.rtnl.del_link(ix) {
                log::warn!(
                    "VRRP_Instance({}) deleting VMAC {}: {e}",
                    self.insts[i].spec.name,
                    self.insts[i].vip_if.0
                );
            }
        }
    }

    /// Sets up one configured instance: interface, source address, the (shared) socket, the
    /// GARP socket, the state machine (in Initialize) and its notification queue. `None` (logged
    /// with the location) when it cannot run; the others are unaffected.
    fn build_instance(
        &mut self,
        config: &Config,
        ci: &conf_parse::VrrpInstance,
        env: &mut Env,
    ) -> Option<Inst> {
        let (spec, link, primary) = match self.resolve(config, ci) {
            Ok(r) => r,
            Err(e) => {
                log::error!("{e}; instance skipped");
                return None;
            }
        };
        for e in &spec.route_errors {
            log::error!("{e}");
        }
        let proto = sock_proto(&spec);
        let sidx = match self.socks.iter().position(|s| {
            s.receive && s.ifindex == link.index && s.family == spec.family && s.proto == proto
        }) {
            Some(i) => i,
            None => {
                // Multicast groups of every instance of the configuration on this interface.
                let groups: Vec<IpAddr> = config
                    .vrrp_instances
                    .iter()
                    .filter(|o| o.interface.as_deref() == Some(spec.ifname.as_str()))
                    .filter_map(|o| config::instance_spec(config, o).ok())
                    .filter(|o| o.unicast_peers.is_empty())
                    .map(|o| o.mcast_group)
                    .fold(Vec::new(), |mut v, g| {
                        if !v.contains(&g) {
                            v.push(g);
                        }
                        v
                    });
                let (mut g4, mut g6) = (Vec::new(), Vec::new());
                for g in groups {
                    match g {
                        IpAddr::V4(g) => g4.push(g),
                        IpAddr::V6(g) => g6.push(g),
                    }
                }
                let opened = match (spec.family, primary) {
                    (Family::V6, IpAddr::V6(src6)) => {
                        sock::open_v6(&spec.ifname, link.index, src6, &g6)
                    }
                    (Family::V6, IpAddr::V4(_)) => {
                        log::error!(
                            "vrrp_instance {}: IPv6 instance needs an IPv6 source; skipped",
                            spec.name
                        );
                        return None;
                    }
                    (Family::V4, _) => sock::open_v4(&spec.ifname, link.index, proto, &g4),
                };
                let s = match opened {
                    Ok(s) => s,
                    Err(e) => {
                        log::error!("vrrp_instance {}: {e}; instance skipped", spec.name);
                        return None;
                    }
                };
                self.socks.push(SockEntry {
                    receive: true,
                    ifindex: link.index,
                    family: spec.family,
                    proto,
                    fd: Arc::new(s),
                });
                self.socks.len() - 1
            }
        };
        let mut mac = [0u8; 6];
        if link.mac.len() == 6 {
            mac.copy_from_slice(&link.mac);
        }
        let (mut vip_if, mut tx_sock, mut vmac_created) =
            ((spec.ifname.clone(), link.index), sidx, None);
        if let Some(v) = spec.vmac.clone() {
            let other_family_evip = spec
                .excluded
                .iter()
                .any(|a| a.addr.is_ipv6() != (spec.family == Family::V6));
            let ll = match (spec.family, primary, v.xmit_base) {
                (Family::V6, IpAddr::V6(ll), false) => Some(ll),
                _ => None,
            };
            let made = self.setup_vmac(
                &spec.name,
                &link,
                &VmacReq {
                    vrid: spec.vrid.get(),
                    family: spec.family,
                    name: &v.name,
                    ipv6_on: spec.family == Family::V6 || other_family_evip,
                    link_local: ll,
                },
            );
            let (vlink, created) = match made {
                Ok(x) => x,
                Err(e) => {
                    log::error!("vrrp_instance {}: {e}; instance skipped", spec.name);
                    return None;
                }
            };
            mac = vmac_mac(spec.vrid.get(), spec.family);
            vip_if = (vlink.name.clone(), vlink.index);
            vmac_created = created.then_some(vlink.index);
            if !v.xmit_base {
                let tx = match (spec.family, primary) {
                    (Family::V6, IpAddr::V6(src6)) => {
                        sock::open_v6(&vlink.name, vlink.index, src6, &[])
                    }
                    _ => sock::open_v4(&vlink.name, vlink.index, proto, &[]),
                };
                match tx {
                    Ok(s) => {
                        self.socks.push(SockEntry {
                            receive: false,
                            ifindex: vlink.index,
                            family: spec.family,
                            proto,
                            fd: Arc::new(s),
                        });
                        tx_sock = self.socks.len() - 1;
                    }
                    Err(e) => {
                        log::error!("vrrp_instance {}: {e}; instance skipped", spec.name);
                        return None;
                    }
                }
            }
        }
        let packet = match PacketSocket::open(vip_if.1) {
            Ok(p) => Some(p),
            Err(e) => {
                log::error!("vrrp_instance {}: no GARP socket: {e}", spec.name);
                None
            }
        };
        let mut addr_vmacs = Vec::new();
        for av in spec.addr_vmacs.clone() {
            let base = match self.rtnl.link_by_name(&av.base) {
                Ok(Some(l)) => l,
                _ => {
                    log::error!(
                        "vrrp_instance {}: VMAC {} for {:?}: interface {} does not exist",
                        spec.name,
                        av.name,
                        av.addrs,
                        av.base
                    );
                    continue;
                }
            };
            let ll = match av.family {
                Family::V6 => primary_address(&mut self.rtnl, base.index, Family::V6, &[])
                    .and_then(|a| match a {
                        IpAddr::V6(a) => Some(a),
                        IpAddr::V4(_) => None,
                    }),
                Family::V4 => None,
            };
            let made = self.setup_vmac(
                &spec.name,
                &base,
                &VmacReq {
                    vrid: spec.vrid.get(),
                    family: av.family,
                    name: &av.name,
                    ipv6_on: av.family == Family::V6,
                    link_local: ll,
                },
            );
            match made {
                Ok((l, created)) => {
                    let packet = PacketSocket::open(l.index)
                        .map_err(|e| {
                            log::error!(
                                "vrrp_instance {}: no GARP socket on {}: {e}",
                                spec.name,
                                av.name
                            )
                        })
                        .ok();
                    addr_vmacs.push(AddrVmac {
                        mac: vmac_mac(spec.vrid.get(), av.family),
                        index: l.index,
                        created,
                        packet,
                        spec: av,
                    });
                }
                Err(e) => log::error!("vrrp_instance {}: {e}", spec.name),
            }
        }
        let mut garp_ifs: Vec<(String, [u8; 6], PacketSocket)> = Vec::new();
        // Addresses on an address VMAC send from its own socket.
        let on_addr_vmac = |a: &IpAddr| spec.addr_vmacs.iter().any(|v| v.addrs.contains(a));
        for d in spec
            .vips
            .iter()
            .chain(&spec.excluded)
            .filter(|v| !on_addr_vmac(&v.addr))
            .filter_map(|v| v.dev.as_ref())
        {
            if *d == spec.ifname || *d == vip_if.0 || garp_ifs.iter().any(|g| g.0 == *d) {
                continue;
            }
            // A missing interface is reported (located) when the VIP is added.
            let Ok(Some(l)) = self.rtnl.link_by_name(d) else {
                continue;
            };
            let mut m = [0u8; 6];
            if l.mac.len() == 6 {
                m.copy_from_slice(&l.mac);
            }
            match PacketSocket::open(l.index) {
                Ok(p) => garp_ifs.push((d.clone(), m, p)),
                Err(e) => log::error!("vrrp_instance {}: no GARP socket on {d}: {e}", spec.name),
            }
        }
        let vr = VirtualRouter::new(spec.router_config(primary));
        let (ntx, handle) =
            notify::spawn_queue(spec.name.clone(), spec.notify.clone(), env.fifos.clone());
        env.notify_handles.push(handle);
        let track_if_up = spec
            .track_interfaces
            .iter()
            .map(|t| (t.name.clone(), true))
            .collect();
        Some(Inst {
            ifindex: link.index,
            vip_if,
            tx_sock,
            vmac_created,
            mac,
            primary,
            vr,
            sock: sidx,
            packet,
            garp_ifs,
            addr_vmacs,
            notify: Some(ntx),
            holding: false,
            last_refresh: None,
            lease_msgs: None,
            link_up: link.up && link.lower_up,
            track_if_up,
            track_file_values: BTreeMap::new(),
            fault: false,
            delta: 0,
            ah_last_seq: 0,
            ah_tx_seq: 0,
            ip_ident: (std::process::id() & 0xffff) as u16,
            advert_cache: Vec::new(),
            handover_until: None,
            handover_drop_at: None,
            group: None,
            spec,
        })
    }

    /// Runs the `vrrp_script`s the instances track (not refused by script security): an
    /// unchanged running script keeps running (and its up/down state), a changed one is
    /// restarted from its `init_fail` state, one no longer tracked is stopped.
    fn sync_scripts(&mut self, config: &Config, env: &mut Env) {
        let default_user = config
            .global
            .script_user
            .as_ref()
            .map(|(u, g)| (u.as_str(), g.as_deref()));
        let mut wanted = BTreeMap::new();
        for s in &config.vrrp_scripts {
            let used = self
                .insts
                .iter()
                .any(|i| i.spec.track_scripts.iter().any(|t| t.name == s.name));
            if !used || self.insecure_scripts.contains(&s.name) {
                continue;
            }
            let own = s.user.as_ref().map(|(u, g)| (u.as_str(), g.as_deref()));
            match track::run_as(own, default_user) {
                Ok(who) => {
                    let sig = format!("{}{who:?}", script_signature(s));
                    wanted.insert(s.name.clone(), (s, who, sig));
                }
                Err(e) => {
                    log::error!(
                        "{}:{}: vrrp_script {}: {e}; the script is not run and its tracking is ignored",
                        s.loc.0.file,
                        s.loc.0.line,
                        s.name
                    );
                    self.insecure_scripts.push(s.name.clone());
                }
            }
        }
        let running: Vec<String> = env.scripts.keys().cloned().collect();
        for name in running {
            let keep = wanted
                .get(&name)
                .is_some_and(|w| env.scripts.get(&name).is_some_and(|r| r.0 == w.2));
            if !keep {
                if let Some((_, h)) = env.scripts.remove(&name) {
                    h.abort();
                }
                self.scripts_ok.remove(&name);
            }
        }
        for (name, (s, who, sig)) in wanted {
            if env.scripts.contains_key(&name) {
                continue;
            }
            self.scripts_ok.insert(name.clone(), !s.init_fail);
            let h = track::spawn_script(s.clone(), who, env.tr_tx.clone());
            env.scripts.insert(name, (sig, h));
        }
    }

    /// Sync groups: two or more running members move together.
    fn setup_sync_groups(&mut self, config: &Config, env: &mut Env) {
        for inst in &mut self.insts {
            inst.group = None;
            inst.vr.set_in_sync_group(false);
        }
        let old: BTreeMap<String, Option<&'static str>> = std::mem::take(&mut self.groups)
            .into_iter()
            .map(|g| (g.name, g.state))
            .collect();
        for sg in &config.sync_groups {
            let idx: Vec<usize> = sg
                .group
                .iter()
                .filter_map(|n| self.insts.iter().position(|i| &i.spec.name == n))
                .collect();
            if idx.len() < 2 {
                log::warn!(
                    "{}:{}: vrrp_sync_group {} has fewer than two running instances; ignored",
                    sg.loc.0.file,
                    sg.loc.0.line,
                    sg.name
                );
                continue;
            }
            for &k in &idx {
                self.insts[k].vr.set_in_sync_group(true);
                self.insts[k].group = Some(idx.clone());
            }
            let (tx, h) = notify::spawn_queue_of(
                notify::Kind::Group,
                sg.name.clone(),
                config::group_notify(config, sg),
                env.fifos.clone(),
            );
            env.notify_handles.push(h);
            self.groups.push(GroupRt {
                name: sg.name.clone(),
                members: idx,
                state: old.get(&sg.name).copied().flatten(),
                notify: Some(tx),
            });
        }
    }

    /// An instance leaves (removed or restarted by a reload): a master sends priority 0, the
    /// VIPs are removed, the STOP notification is queued and the queue closed.
    fn retire(&mut self, i: usize, now: Instant) {
        let a = self.insts[i].vr.handle(now, Input::Shutdown);
        self.apply(i, now, a);
        if self.insts[i].holding {
            self.remove_vips(i, false);
        }
        self.insts[i].notify = None;
        self.pacers.forget(&self.insts[i].spec.name);
        self.drop_vmac(i);
        if let Ok(mut m) = self.metrics.instances.lock() {
            m.remove(&self.insts[i].spec.name);
        }
    }

    /// Applies a new configuration as a diff (see [`ReloadReport`]). Unchanged instances are
    /// not touched at all; changed ones keep their state through
    /// [`VirtualRouter::reconfigure`] unless what they are bound to changed.
    fn reload(
        &mut self,
        old: &Config,
        new: &Config,
        env: &mut Env,
        now: Instant,
    ) -> Result<ReloadReport, String> {
        let mut report = ReloadReport::default();
        let old_sig: BTreeMap<&str, String> = old
            .vrrp_instances
            .iter()
            .map(|c| (c.name.as_str(), instance_signature(old, c)))
            .collect();

        // Plan per running instance, without touching anything yet.
        enum Plan {
            Keep,
            Update(Box<InstanceSpec>),
            Rebuild,
        }
        let mut plans: BTreeMap<String, Plan> = BTreeMap::new();
        let mut removed = Vec::new();
        for (i, inst) in self.insts.iter().enumerate() {
            let name = inst.spec.name.clone();
            let Some(ci) = new.vrrp_instances.iter().find(|c| c.name == name) else {
                removed.push(i);
                continue;
            };
            if old_sig.get(name.as_str()) == Some(&instance_signature(new, ci)) {
                plans.insert(name, Plan::Keep);
                continue;
            }
            let cur = &inst.spec;
            let plan = match config::instance_spec(new, ci) {
                Ok(spec)
                    if spec.ifname == cur.ifname
                        && spec.vrid == cur.vrid
                        && spec.family == cur.family
                        && spec.src == cur.src
                        && spec.mcast_group == cur.mcast_group
                        && spec.unicast_peers.is_empty() == cur.unicast_peers.is_empty()
                        && sock_proto(&spec) == sock_proto(cur)
                        && spec.vmac == cur.vmac
                        && spec.addr_vmacs == cur.addr_vmacs =>
                {
                    Plan::Update(Box::new(spec))
                }
                _ => Plan::Rebuild,
            };
            plans.insert(name, plan);
        }
        // Everything that must be (re)built has to be able to run, or nothing is applied.
        let mut problems = Vec::new();
        for ci in &new.vrrp_instances {
            if matches!(plans.get(&ci.name), None | Some(Plan::Rebuild)) {
                if let Err(e) = self.resolve(new, ci) {
                    problems.push(e);
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }

        self.insecure_scripts = insecure_scripts(new);
        self.pacers
            .reconfigure(crate::garp::Pacers::from_config(new));
        self.lease = self
            .opts
            .vip_lease
            .unwrap_or_else(|| config::lease_from_config(new));
        // Renewals and adverts are rebuilt from the new configuration.
        for inst in &mut self.insts {
            inst.lease_msgs = None;
            inst.advert_cache.clear();
        }
        let fifo_paths = config::notify_fifos(new);
        let fifos_changed = fifo_paths != env.fifo_paths;
        if fifos_changed {
            env.fifos = Fifos::open(&fifo_paths);
            env.fifo_paths = fifo_paths;
        }
        // The leaving ones go first (their VIPs may be taken by a restarted or new instance).
        for i in removed {
            log::info!(
                "VRRP_Instance({}) removed by reload",
                self.insts[i].spec.name
            );
            self.retire(i, now);
            report.removed.push(self.insts[i].spec.name.clone());
        }
        for i in 0..self.insts.len() {
            if matches!(plans.get(&self.insts[i].spec.name), Some(Plan::Rebuild)) {
                log::info!(
                    "VRRP_Instance({}) rebound by reload; restarting it",
                    self.insts[i].spec.name
                );
                self.retire(i, now);
            }
        }

        let mut old_insts: BTreeMap<String, Inst> = std::mem::take(&mut self.insts)
            .into_iter()
            .map(|i| (i.spec.name.clone(), i))
            .collect();
        let mut fresh = Vec::new();
        let mut updated = Vec::new();
        for ci in &new.vrrp_instances {
            match (plans.remove(&ci.name), old_insts.remove(&ci.name)) {
                (Some(Plan::Keep), Some(inst)) => {
                    report.kept.push(ci.name.clone());
                    self.insts.push(inst);
                }
                (Some(Plan::Update(spec)), Some(mut inst)) => {
                    let old_routes = inst.spec.routes.clone();
                    let old_rules = inst.spec.rules.clone();
                    let old_vips: Vec<IpAddress> = inst
                        .spec
                        .vips
                        .iter()
                        .chain(&inst.spec.excluded)
                        .cloned()
                        .collect();
                    if fifos_changed || !same_notify(&inst.spec, &spec) {
                        let (ntx, h) = notify::spawn_queue(
                            spec.name.clone(),
                            spec.notify.clone(),
                            env.fifos.clone(),
                        );
                        env.notify_handles.push(h);
                        inst.notify = Some(ntx);
                    }
                    inst.track_if_up = spec
                        .track_interfaces
                        .iter()
                        .map(|t| {
                            let up = inst.track_if_up.get(&t.name).copied().unwrap_or(true);
                            (t.name.clone(), up)
                        })
                        .collect();
                    inst.spec = *spec;
                    updated.push((self.insts.len(), old_vips, old_routes, old_rules));
                    report.updated.push(ci.name.clone());
                    self.insts.push(inst);
                }
                (plan, _) => {
                    let rebuilt = matches!(plan, Some(Plan::Rebuild));
                    match self.build_instance(new, ci, env) {
                        Some(inst) => {
                            if rebuilt {
                                report.restarted.push(ci.name.clone());
                            } else {
                                log::info!("VRRP_Instance({}) added by reload", ci.name);
                                report.added.push(ci.name.clone());
                            }
                            fresh.push(self.insts.len());
                            self.insts.push(inst);
                        }
                        None => report.skipped.push(ci.name.clone()),
                    }
                }
            }
        }
        self.sync_scripts(new, env);
        self.setup_sync_groups(new, env);

        // Updated instances: new settings into the state machine, VIPs adjusted if held.
        for (i, old_vips, old_routes, old_rules) in updated {
            let cfg = self.insts[i].spec.router_config(self.insts[i].primary);
            if self.insts[i].holding {
                let now_vips = self.all_vips(i);
                let gone: Vec<IpAddress> = old_vips
                    .into_iter()
                    .filter(|v| {
                        !now_vips
                            .iter()
                            .any(|n| n.addr == v.addr && n.prefix_len == v.prefix_len)
                    })
                    .collect();
                self.del_vips(i, &gone, false);
                let new_routes = self.insts[i].spec.routes.clone();
                let gone_routes: Vec<crate::routes::VirtualRoute> = old_routes
                    .into_iter()
                    .filter(|r| {
                        !new_routes
                            .iter()
                            .any(|n| n.spec == r.spec && n.dev == r.dev)
                    })
                    .collect();
                self.remove_routes(i, &gone_routes, false);
                let new_rules = &self.insts[i].spec.rules;
                let gone_rules: Vec<(netplat::RuleSpec, String)> = old_rules
                    .into_iter()
                    .filter(|r| !new_rules.iter().any(|n| n.0 == r.0))
                    .collect();
                self.remove_rules(&gone_rules, false);
                self.add_vips(i);
                self.publish_held();
            }
            let a = self.insts[i].vr.reconfigure(now, cfg);
            self.apply(i, now, a);
            self.recompute_tracking(i, now, false);
            let inst = &self.insts[i];
            if let Ok(mut m) = self.metrics.instances.lock() {
                m.insert(
                    inst.spec.name.clone(),
                    (
                        state_name(inst.vr.state()).to_string(),
                        inst.vr.priority().get(),
                    ),
                );
            }
            log::info!(
                "VRRP_Instance({}) updated by reload, staying {}",
                inst.spec.name,
                state_name(inst.vr.state())
            );
        }
        // New and restarted instances start as at start-up.
        for &i in &fresh {
            self.remove_vips(i, true);
        }
        self.publish_held();
        for i in fresh {
            self.recompute_tracking(i, now, true);
            self.feed(i, now, Input::Startup);
        }
        log::info!(
            "Reload applied: kept {:?}, updated {:?}, restarted {:?}, added {:?}, removed {:?}",
            report.kept,
            report.updated,
            report.restarted,
            report.added,
            report.removed
        );
        Ok(report)
    }

    /// Every tracked file of the running instances.
    fn track_file_paths(&self) -> Vec<std::path::PathBuf> {
        self.insts
            .iter()
            .flat_map(|i| i.spec.track_file_paths.iter())
            .map(|(_, p)| std::path::PathBuf::from(p))
            .collect()
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.insts
            .iter()
            .flat_map(|i| [i.vr.next_deadline(), i.handover_until, i.handover_drop_at])
            .flatten()
            .chain(self.pacers.next_deadline())
            .min()
    }

    fn lease_secs(&self, i: usize) -> u32 {
        let inst = &self.insts[i];
        // Worst-case Master_Down_Interval of any backup: down_timer_adverts intervals plus a
        // skew of at most one interval.
        let iv = inst.vr.config().advert_interval.to_duration();
        let mdi = iv * (u32::from(inst.spec.down_timer_adverts) + 1);
        let secs = u32::try_from(mdi.as_millis().div_ceil(1000)).unwrap_or(u32::MAX / 2);
        secs.saturating_add(LEASE_MARGIN_SECS)
    }

    fn vip_spec(&mut self, i: usize, v: &IpAddress, with_lease: bool) -> Option<AddressSpec> {
        let what = format!("VRRP_Instance({}) VIP", self.insts[i].spec.name);
        let default = self.insts[i].vip_if.clone();
        let mut s = self.address_spec(v, Some(default), &what)?;
        if let Some(av) = self.insts[i]
            .addr_vmacs
            .iter()
            .find(|a| a.spec.addrs.contains(&v.addr))
        {
            s.index = av.index;
        }
        if with_lease && v.addr.is_ipv4() {
            let lease = self.lease_secs(i);
            s = s.lifetimes(lease, lease);
        }
        Some(s)
    }

    /// The kernel form of a configured address: its `dev` (else `default`, an interface name
    /// and index) resolved, label, scope, broadcast. `None` (logged, located) if it has no
    /// usable interface.
    fn address_spec(
        &mut self,
        v: &IpAddress,
        default: Option<(String, u32)>,
        what: &str,
    ) -> Option<AddressSpec> {
        let index = match (&v.dev, default) {
            (Some(d), Some((name, index))) if *d == name => index,
            (Some(d), _) => match self.rtnl.link_by_name(d) {
                Ok(Some(l)) => l.index,
                _ => {
                    log::error!(
                        "{}:{}: {what} {}: dev {d} does not exist",
                        v.loc.0.file,
                        v.loc.0.line,
                        v.addr
                    );
                    return None;
                }
            },
            (None, Some((_, index))) => index,
            (None, None) => {
                log::error!(
                    "{}:{}: {what} {}: no dev given",
                    v.loc.0.file,
                    v.loc.0.line,
                    v.addr
                );
                return None;
            }
        };
        let mut s = AddressSpec::new(index, v.addr, v.prefix_len);
        if let Some(l) = &v.label {
            s = s.label(l.clone());
        }
        if let Some(sc) = &v.scope {
            s = s.scope(parse_scope(sc));
        }
        if let Some(b) = v.brd {
            s = s.broadcast(b);
        }
        if let Some((p, plen)) = v.peer {
            s = s.peer(p);
            if let Some(plen) = plen {
                s.prefix_len = plen;
            }
        }
        // As keepalived's netlink_ipaddress: IPv6 addresses without DAD unless `-nodad` (VRRP
        // is the duplicate detection; a VIP must not end up "dadfailed" after a split brain),
        // `preferred_lft` for IPv6 only, and the flag words.
        let has = |w: &str| v.other.iter().any(|o| o == w);
        if v.addr.is_ipv6() && !has("-nodad") {
            s = s.flags(netplat::AddrFlags::NODAD);
        }
        for (w, f) in [
            ("home", netplat::AddrFlags(0x10)),
            ("mngtmpaddr", netplat::AddrFlags(0x100)),
            ("noprefixroute", netplat::AddrFlags::NOPREFIXROUTE),
            ("autojoin", netplat::AddrFlags::MCAUTOJOIN),
        ] {
            if has(w) {
                s = s.flags(f);
            }
        }
        if let (true, Some(p)) = (v.addr.is_ipv6(), &v.preferred_lft) {
            let p = if p == "forever" {
                u32::MAX
            } else {
                p.parse().unwrap_or(u32::MAX)
            };
            s = s.lifetimes(u32::MAX, p);
        }
        Some(s)
    }

    /// `static_ipaddress`, `static_routes` and `static_rules` of `config`, in kernel form (what
    /// cannot be resolved is logged with its location and left out).
    fn static_specs(&mut self, config: &Config) -> Statics {
        let addrs = config
            .static_ipaddress
            .iter()
            .filter_map(|v| self.address_spec(v, None, "static_ipaddress"))
            .collect();
        let mut routes = Vec::new();
        for l in &config.static_routes {
            let at = format!("{}:{}", l.loc.0.file, l.loc.0.line);
            let (mut spec, dev) = match crate::routes::parse(&l.words) {
                Ok(r) => r,
                Err(e) => {
                    log::error!("{at}: static_routes: {e}; route ignored");
                    continue;
                }
            };
            if let Some(d) = dev {
                match self.rtnl.link_by_name(&d) {
                    Ok(Some(link)) => spec = spec.dev(link.index),
                    _ => {
                        log::error!("{at}: static_routes: dev {d} does not exist; route ignored");
                        continue;
                    }
                }
            }
            routes.push(spec);
        }
        let mut rules = Vec::new();
        for l in &config.static_rules {
            let at = format!("{}:{}", l.loc.0.file, l.loc.0.line);
            match crate::rules::parse(&l.words) {
                Ok(r) => rules.push((r, at)),
                Err(e) => log::error!("{at}: static_rules: {e}; rule ignored"),
            }
        }
        Statics {
            addrs,
            routes,
            rules,
        }
    }

    /// Installs the static addresses, routes and rules of `config`, removing the ones a
    /// previous configuration had and this one has not (keepalived installs them at start and
    /// removes them at stop).
    fn apply_statics(&mut self, config: &Config) {
        let new = self.static_specs(config);
        let old = std::mem::take(&mut self.statics);
        let gone_rules: Vec<(netplat::RuleSpec, String)> = old
            .rules
            .into_iter()
            .filter(|r| !new.rules.iter().any(|n| n.0 == r.0))
            .collect();
        self.remove_rules(&gone_rules, false);
        for r in old.routes.iter().filter(|r| !new.routes.contains(r)) {
            self.del_static_route(r);
        }
        for a in old.addrs.iter().filter(|a| !new.addrs.contains(a)) {
            self.del_static_address(a);
        }
        for a in &new.addrs {
            if let Err(e) = self.rtnl.replace_address(a) {
                log::error!("static_ipaddress: {e}");
            }
        }
        for r in &new.routes {
            if let Err(e) = self.rtnl.replace_route(r) {
                log::error!("static_routes: {e}");
            }
        }
        self.add_rules(&new.rules);
        self.statics = new;
    }

    /// Removes the static addresses, routes and rules (at stop).
    fn clear_statics(&mut self) {
        let old = std::mem::take(&mut self.statics);
        self.remove_rules(&old.rules, false);
        for r in &old.routes {
            self.del_static_route(r);
        }
        for a in &old.addrs {
            self.del_static_address(a);
        }
    }

    fn del_static_route(&mut self, r: &netplat::RouteSpec) {
        match self.rtnl.del_route(r) {
            Ok(()) => {}
            Err(e) if e.errno() == Some(netplat::errno::ESRCH) => {}
            Err(e) => log::error!("static_routes: {e}"),
        }
    }

    fn del_static_address(&mut self, a: &AddressSpec) {
        match self.rtnl.del_address(a) {
            Ok(()) => {}
            Err(e) if e.errno() == Some(netplat::errno::EADDRNOTAVAIL) => {}
            Err(e) => log::error!("static_ipaddress: {e}"),
        }
    }

    fn all_vips(&self, i: usize) -> Vec<IpAddress> {
        let inst = &self.insts[i];
        inst.spec
            .vips
            .iter()
            .chain(inst.spec.excluded.iter())
            .cloned()
            .collect()
    }

    fn add_vips(&mut self, i: usize) {
        let routes = self.insts[i].spec.routes.clone();
        self.add_routes(i, &routes);
        let rules = self.insts[i].spec.rules.clone();
        self.add_rules(&rules);
        let lease = self.lease;
        for v in self.all_vips(i) {
            let Some(spec) = self.vip_spec(i, &v, lease) else {
                continue;
            };
            if let Err(e) = self.rtnl.replace_address(&spec) {
                self.vip_error(i, &v, "adding", &e);
            }
        }
        self.insts[i].holding = true;
        self.insts[i].last_refresh = Some(Instant::now());
        self.insts[i].lease_msgs = None;
        self.publish_held();
    }

    /// Renews the lease of instance `i`'s IPv4 VIPs: one prepared `RTM_NEWADDR` replace each,
    /// sent without waiting for the ACK (a renewal is one system call). Errors the kernel
    /// returned for earlier renewals are logged here.
    fn renew_lease(&mut self, i: usize) {
        let late = self.rtnl.take_late_errors();
        if !late.is_empty() {
            for e in &late {
                Metrics::bump(&self.metrics.vip_errors);
                log::error!("renewing a VIP lease: {e}");
            }
            // Rebuilt from the configuration at their next renewal: a VIP's `dev` that was
            // deleted and created again is found by name again (and the VIP put back on it).
            for inst in &mut self.insts {
                inst.lease_msgs = None;
            }
        }
        if self.insts[i].lease_msgs.is_none() {
            let mut msgs = Vec::new();
            for v in self.all_vips(i).iter().filter(|v| v.addr.is_ipv4()) {
                let Some(spec) = self.vip_spec(i, v, true) else {
                    continue;
                };
                match Rtnl::prepare_replace_address(&spec) {
                    Ok(p) => msgs.push(
                        p.with_context(&format!("VRRP_Instance({})", self.insts[i].spec.name)),
                    ),
                    Err(e) => self.vip_error(i, v, "renewing", &e),
                }
            }
            self.insts[i].lease_msgs = Some(msgs);
        }
        for p in self.insts[i].lease_msgs.iter().flatten() {
            if let Err(e) = self.rtnl.send_prepared(p) {
                Metrics::bump(&self.metrics.vip_errors);
                log::error!(
                    "VRRP_Instance({}) renewing VIP lease: {e}",
                    self.insts[i].spec.name
                );
            }
        }
        self.insts[i].last_refresh = Some(Instant::now());
    }

    /// Counts and logs (located at the VIP's configuration line) a failure to `what` a VIP of
    /// instance `i`.
    fn vip_error(&self, i: usize, v: &IpAddress, what: &str, e: &netplat::Error) {
        Metrics::bump(&self.metrics.vip_errors);
        log::error!(
            "{}:{}: VRRP_Instance({}) {what} VIP {}/{}: {e}",
            v.loc.0.file,
            v.loc.0.line,
            self.insts[i].spec.name,
            v.addr,
            v.prefix_len
        );
    }

    fn remove_vips(&mut self, i: usize, quiet: bool) {
        let vips = self.all_vips(i);
        self.del_vips(i, &vips, quiet);
        let routes = self.insts[i].spec.routes.clone();
        self.remove_routes(i, &routes, quiet);
        let rules = self.insts[i].spec.rules.clone();
        self.remove_rules(&rules, quiet);
        self.insts[i].holding = false;
        self.insts[i].lease_msgs = None;
        self.publish_held();
    }

    /// Deletes these addresses of instance `i`; `quiet`: leftovers from an earlier run (their
    /// removal is logged, failures are not).
    fn del_vips(&mut self, i: usize, vips: &[IpAddress], quiet: bool) {
        self.insts[i].lease_msgs = None;
        for v in vips {
            let Some(spec) = self.vip_spec(i, v, false) else {
                continue;
            };
            match self.rtnl.del_address(&spec) {
                Ok(()) => {
                    if quiet {
                        log::info!(
                            "VRRP_Instance({}) removed leftover VIP {}/{}",
                            self.insts[i].spec.name,
                            v.addr,
                            v.prefix_len
                        );
                    }
                }
                Err(e) if e.errno() == Some(netplat::errno::EADDRNOTAVAIL) => {}
                Err(e) => {
                    if !quiet {
                        Metrics::bump(&self.metrics.vip_errors);
                        log::error!(
                            "VRRP_Instance({}) removing VIP {}/{}: {e}",
                            self.insts[i].spec.name,
                            v.addr,
                            v.prefix_len
                        );
                    }
                }
            }
        }
    }

    /// The kernel form of a virtual route of instance `i`: its `dev` resolved, or the
    /// instance's interface when it has neither `dev` nor `via`.
    fn route_spec(
        &mut self,
        i: usize,
        r: &crate::routes::VirtualRoute,
    ) -> Option<netplat::RouteSpec> {
        let mut spec = r.spec.clone();
        match &r.dev {
            Some(d) => match self.rtnl.link_by_name(d) {
                Ok(Some(l)) => spec = spec.dev(l.index),
                _ => {
                    log::error!(
                        "{}: VRRP_Instance({}) virtual route dev {d} does not exist",
                        r.at,
                        self.insts[i].spec.name
                    );
                    return None;
                }
            },
            None if spec.gateway.is_none() && spec.kind == netplat::RouteKind::Unicast => {
                spec = spec.dev(self.insts[i].vip_if.1);
            }
            None => {}
        }
        Some(spec)
    }

    /// Installs rules (an identical rule already there counts as installed).
    fn add_rules(&mut self, rules: &[(netplat::RuleSpec, String)]) {
        for (r, at) in rules {
            match self.rtnl.add_rule(r) {
                Ok(()) => {}
                Err(e) if e.errno() == Some(netplat::errno::EEXIST) => {}
                Err(e) => {
                    Metrics::bump(&self.metrics.vip_errors);
                    log::error!("{at}: {e}");
                }
            }
        }
    }

    fn remove_rules(&mut self, rules: &[(netplat::RuleSpec, String)], quiet: bool) {
        for (r, at) in rules {
            match self.rtnl.del_rule(r) {
                Ok(()) => {}
                Err(e) if e.errno() == Some(netplat::errno::ENOENT) => {}
                Err(e) => {
                    if !quiet {
                        Metrics::bump(&self.metrics.vip_errors);
                        log::error!("{at}: {e}");
                    }
                }
            }
        }
    }

    fn add_routes(&mut self, i: usize, routes: &[crate::routes::VirtualRoute]) {
        for r in routes {
            let Some(spec) = self.route_spec(i, r) else {
                continue;
            };
            if let Err(e) = self.rtnl.replace_route(&spec) {
                Metrics::bump(&self.metrics.vip_errors);
                log::error!("{}: VRRP_Instance({}) {e}", r.at, self.insts[i].spec.name);
            }
        }
    }

    fn remove_routes(&mut self, i: usize, routes: &[crate::routes::VirtualRoute], quiet: bool) {
        for r in routes {
            let Some(spec) = self.route_spec(i, r) else {
                continue;
            };
            match self.rtnl.del_route(&spec) {
                Ok(()) => {}
                Err(e) if e.errno() == Some(netplat::errno::ESRCH) => {}
                Err(e) => {
                    if !quiet {
                        Metrics::bump(&self.metrics.vip_errors);
                        log::error!("{}: VRRP_Instance({}) {e}", r.at, self.insts[i].spec.name);
                    }
                }
            }
        }
    }

    fn publish_held(&mut self) {
        let mut held = Vec::new();
        for inst in &self.insts {
            if !inst.holding {
                continue;
            }
            for v in inst.spec.vips.iter().chain(inst.spec.excluded.iter()) {
                held.push(HeldVip {
                    ifname: v.dev.clone().unwrap_or_else(|| inst.spec.ifname.clone()),
                    addr: v.addr,
                    prefix_len: v.prefix_len,
                });
            }
        }
        held.sort();
        if held == self.held_published {
            return;
        }
        if let Some(p) = &self.opts.held_vips_path {
            let text: String = held
                .iter()
                .map(|h| format!("{} {}/{}\n", h.ifname, h.addr, h.prefix_len))
                .collect();
            let tmp = p.with_extension("tmp");
            if let Err(e) = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, p)) {
                log::error!("writing held VIPs to {}: {e}", p.display());
            }
        }
        if let Some(cb) = &self.opts.on_held_vips {
            cb(&held);
        }
        self.held_published = held;
    }

    fn write_stats(&self) {
        if let Some(p) = &self.opts.stats_path {
            let tmp = p.with_extension("tmp");
            let text = self.metrics.to_json().to_string();
            if let Err(e) = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, p)) {
                log::warn!("writing stats to {}: {e}", p.display());
            }
        }
    }

    fn send_advert_v6(&mut self, i: usize, priority: Priority) {
        let inst = &self.insts[i];
        let src = inst.primary;
        let dsts: Vec<IpAddr> = if inst.spec.unicast_peers.is_empty() {
            vec![inst.spec.mcast_group]
        } else {
            inst.spec.unicast_peers.iter().map(|p| p.addr).collect()
        };
        let repr = AdvertRepr {
            vrid: inst.spec.vrid,
            priority,
            interval: inst.spec.interval,
            auth: vrrp_proto::Auth::None,
            addrs: inst.vr.config().vips.clone(),
        };
        for dst in dsts {
            let IpAddr::V6(d6) = dst else { continue };
            let mode = checksum_mode(inst.spec.version, src, dst, false);
            let bytes = match repr.to_bytes(mode) {
                Ok(b) => b,
                Err(e) => {
                    log::error!("VRRP_Instance({}) building advert: {e}", inst.spec.name);
                    continue;
                }
            };
            let tx = &self.socks[inst.tx_sock];
            let scope =
                if d6.segments()[0] & 0xff0f == 0xff02 || d6.segments()[0] & 0xffc0 == 0xfe80 {
                    tx.ifindex
                } else {
                    0
                };
            let sa: socket2::SockAddr =
                std::net::SocketAddr::V6(std::net::SocketAddrV6::new(d6, 0, 0, scope)).into();
            match tx.fd.send_to(&bytes, &sa) {
                Ok(_) => Metrics::bump(&self.metrics.adverts_sent),
                Err(e) => {
                    Metrics::bump(&self.metrics.send_errors);
                    log::debug!("VRRP_Instance({}) send to {dst}: {e}", inst.spec.name);
                }
            }
        }
    }

    fn send_advert(&mut self, i: usize, priority: Priority) {
        let inst = &self.insts[i];
        let IpAddr::V4(src) = inst.primary else {
            self.send_advert_v6(i, priority);
            return;
        };
        let unicast = !inst.spec.unicast_peers.is_empty();
        let ah_key = match inst.spec.auth {
            vrrp_proto::AuthConfig::Ah(k) => Some(k),
            _ => None,
        };
        for k in 0..inst.spec.unicast_peers.len().max(1) {
            let inst = &mut self.insts[i];
            let dst = match inst.spec.unicast_peers.get(k) {
                Some(p) => p.addr,
                None => inst.spec.mcast_group,
            };
            let IpAddr::V4(d4) = dst else { continue };
            // Our own IP ident (the kernel would fill a zero one in after we computed the AH
            // ICV, which covers it).
            inst.ip_ident = inst.ip_ident.wrapping_add(1).max(1);
            let ident = inst.ip_ident;
            // The cached advert restamped; an AH advert (its ICV covers the ident and its
            // sequence number moves) is refused by the restamp and emitted again.
            let hit = inst
                .advert_cache
                .iter()
                .position(|c| (c.0, c.1, c.2) == (priority, src, d4))
                .filter(|&x| {
                    vrrp_proto::wire::ip::restamp_ipv4_ident(&mut inst.advert_cache[x].3, ident)
                        .is_ok()
                });
            let slot = match hit {
                Some(x) => x,
                None => {
                    let ah = ah_key.map(|_| {
                        inst.ah_tx_seq = inst.ah_tx_seq.wrapping_add(1);
                        AhHeader {
                            next_header: 112,
                            spi: u32::from(src),
                            seq: inst.ah_tx_seq,
                            icv: [0; 12],
                        }
                    });
                    let pkt = IpAdvert {
                        ip: IpHeader::V4(Ipv4Header {
                            tos: VRRP_TOS,
                            ident,
                            flags_frag: 0,
                            ttl: if unicast {
                                inst.spec.unicast_ttl
                            } else {
                                VRRP_TTL
                            },
                            protocol: 112,
                            src,
                            dst: d4,
                        }),
                        ah,
                        advert: AdvertRepr {
                            vrid: inst.spec.vrid,
                            priority,
                            interval: inst.spec.interval,
                            auth: inst.spec.wire_auth(),
                            addrs: inst.vr.config().vips.clone(),
                        },
                    };
                    let mode = checksum_mode(inst.spec.version, IpAddr::V4(src), dst, false);
                    match pkt.emit(mode, ah_key.as_ref(), unicast) {
                        Ok(b) => {
                            inst.advert_cache.retain(|c| c.2 != d4);
                            inst.advert_cache.push((priority, src, d4, b));
                            inst.advert_cache.len() - 1
                        }
                        Err(e) => {
                            log::error!("VRRP_Instance({}) building advert: {e}", inst.spec.name);
                            continue;
                        }
                    }
                }
            };
            let inst = &self.insts[i];
            let bytes = &inst.advert_cache[slot].3;
            let fd = &self.socks[inst.tx_sock].fd;
            match sock::send_to(fd, bytes, dst) {
                Ok(()) => Metrics::bump(&self.metrics.adverts_sent),
                Err(e) => {
                    Metrics::bump(&self.metrics.send_errors);
                    log::debug!("VRRP_Instance({}) send to {dst}: {e}", inst.spec.name);
                }
            }
        }
    }

    /// `rep` gratuitous ARPs/NAs for each VIP and excluded VIP of instance `i`, now or paced
    /// (see [`crate::garp`]).
    fn send_garps(&mut self, i: usize, rep: u32, now: Instant) {
        let inst = &self.insts[i];
        if inst.packet.is_none() {
            return;
        }
        // Per interface (a VIP's `dev`, else the instance's), in configuration order.
        let mut by_if: Vec<(&str, Vec<IpAddr>)> = Vec::new();
        for v in inst.spec.vips.iter().chain(&inst.spec.excluded) {
            let ifname = v.dev.as_deref().unwrap_or(&inst.spec.ifname);
            match by_if.iter_mut().find(|x| x.0 == ifname) {
                Some(x) => x.1.push(v.addr),
                None => by_if.push((ifname, vec![v.addr])),
            }
        }
        let mut now_out = Vec::new();
        for (ifname, addrs) in by_if {
            now_out.extend(
                self.pacers
                    .request(ifname, &inst.spec.name, &addrs, rep, now),
            );
        }
        for a in now_out {
            self.send_garp(i, a);
        }
    }

    /// One gratuitous ARP/NA for VIP `addr` of instance `i`, on the VIP's interface with its MAC
    /// (the VMAC's for VIPs on the instance's interface).
    fn send_garp(&self, i: usize, addr: IpAddr) {
        let inst = &self.insts[i];
        let dev = inst
            .spec
            .vips
            .iter()
            .chain(&inst.spec.excluded)
            .find(|v| v.addr == addr)
            .and_then(|v| v.dev.as_deref());
        let on_vmac = inst
            .addr_vmacs
            .iter()
            .find(|a| a.spec.addrs.contains(&addr))
            .and_then(|a| Some((a.mac, a.packet.as_ref()?)));
        let (mac, ps) = match on_vmac {
            Some(x) => x,
            None => match dev.and_then(|d| inst.garp_ifs.iter().find(|g| g.0 == d)) {
                Some((_, m, p)) => (*m, p),
                None => match &inst.packet {
                    Some(p) => (inst.mac, p),
                    None => return,
                },
            },
        };
        let frame: Vec<u8> = match addr {
            IpAddr::V4(a) => frames::gratuitous_arp(mac, a).to_vec(),
            IpAddr::V6(a) => frames::unsolicited_na(mac, a, false).to_vec(),
        };
        match ps.send(&frame) {
            Ok(()) => Metrics::bump(&self.metrics.garps_sent),
            Err(e) => log::debug!("VRRP_Instance({}) GARP: {e}", inst.spec.name),
        }
    }

    fn apply(&mut self, i: usize, now: Instant, actions: Actions) {
        let mut group_check = false;
        for a in actions {
            match a {
                Action::SendAdvert { priority } => {
                    self.send_advert(i, priority);
                    // The lease is renewed with the advert that finds half of it used (at
                    // least a second apart): a dead master's VIP still expires within one
                    // lease, and an idle master renews every few adverts, not every one.
                    let every = Duration::from_secs(u64::from(self.lease_secs(i) / 2).max(1));
                    let inst = &self.insts[i];
                    if self.lease
                        && inst.holding
                        && inst.vr.state() == State::Master
                        && inst
                            .last_refresh
                            .is_none_or(|t| now.duration_since(t) >= every)
                    {
                        self.renew_lease(i);
                    }
                }
                Action::AddVips { .. } => self.add_vips(i),
                Action::RemoveVips => self.remove_vips(i, false),
                Action::SendGarp { count, .. } => self.send_garps(i, count, now),
                Action::Notify { from, to, reason } => {
                    let inst = &self.insts[i];
                    log::info!(
                        "VRRP_Instance({}) {} -> {} ({reason:?}), priority {}",
                        inst.spec.name,
                        state_name(from),
                        state_name(to),
                        inst.vr.priority().get()
                    );
                    match to {
                        State::Master => Metrics::bump(&self.metrics.became_master),
                        State::Backup => Metrics::bump(&self.metrics.became_backup),
                        State::Fault => Metrics::bump(&self.metrics.became_fault),
                        State::Initialize => {}
                    }
                    if to != State::Master {
                        self.pacers.forget(&self.insts[i].spec.name);
                    }
                    self.state_changed = true;
                    let inst = &self.insts[i];
                    if let Ok(mut m) = self.metrics.instances.lock() {
                        m.insert(
                            inst.spec.name.clone(),
                            (state_name(to).to_string(), inst.vr.priority().get()),
                        );
                    }
                    if let Some(cb) = &self.opts.on_transition {
                        cb(&inst.spec.name, state_name(to));
                    }
                    group_check = true;
                    if let Some(n) = &inst.notify {
                        let _ = n.send(Job {
                            state: state_name(to),
                            priority: inst.vr.priority().get(),
                        });
                    }
                }
                Action::MasterRxLowerPriority { src, priority } => {
                    log::debug!(
                        "VRRP_Instance({}) lower priority advert from {src} ({})",
                        self.insts[i].spec.name,
                        priority.get()
                    );
                }
                Action::ArmTimer(_) => {}
            }
        }
        if group_check {
            self.check_groups();
        }
    }

    /// Notifies each sync group whose state changed: FAULT as soon as a member is FAULT, MASTER /
    /// BACKUP / STOP once every member is (keepalived's group notifications).
    fn check_groups(&mut self) {
        for g in 0..self.groups.len() {
            let states: Vec<State> = self.groups[g]
                .members
                .iter()
                .filter_map(|&k| self.insts.get(k).map(|i| i.vr.state()))
                .collect();
            let all = |s: State| !states.is_empty() && states.iter().all(|x| *x == s);
            let now = if states.contains(&State::Fault) {
                Some("FAULT")
            } else if all(State::Master) {
                Some("MASTER")
            } else if all(State::Backup) {
                Some("BACKUP")
            } else if all(State::Initialize) {
                Some("STOP")
            } else {
                None
            };
            let grp = &mut self.groups[g];
            if now.is_some() && now != grp.state {
                grp.state = now;
                let st = now.unwrap_or("STOP");
                log::info!("VRRP_Group({}) {st}", grp.name);
                if let Some(n) = &grp.notify {
                    let _ = n.send(Job {
                        state: st,
                        priority: 0,
                    });
                }
            }
        }
    }

    /// Feed one input to instance `i`, perform its actions, then move its sync group together
    /// (the rules of vrrp-proto's `SyncGroup`: a fault faults all, a master dropping to backup
    /// takes all to backup, all wanting master go master together).
    fn feed(&mut self, i: usize, now: Instant, input: Input) {
        let group = self.insts[i].group.clone();
        let before: Vec<(usize, State)> = group
            .iter()
            .flatten()
            .map(|&k| (k, self.insts[k].vr.state()))
            .collect();
        let a = self.insts[i].vr.handle(now, input);
        self.apply(i, now, a);
        if let Some(g) = group {
            self.reconcile_group(&g, now, &before);
        }
    }

    fn reconcile_group(&mut self, g: &[usize], now: Instant, before: &[(usize, State)]) {
        if g.iter().any(|&k| self.insts[k].vr.is_fault()) {
            for &k in g {
                let a = self.insts[k].vr.force_fault();
                self.apply(k, now, a);
            }
            return;
        }
        if g.iter().any(|&k| self.insts[k].vr.state() == State::Fault) {
            for &k in g {
                let a = self.insts[k].vr.release_fault(now);
                self.apply(k, now, a);
            }
        }
        let dropped = before
            .iter()
            .any(|&(k, b)| b == State::Master && self.insts[k].vr.state() == State::Backup);
        if dropped {
            for &k in g {
                let a = self.insts[k].vr.force_backup(now);
                self.apply(k, now, a);
            }
            return;
        }
        let all_want = g
            .iter()
            .all(|&k| self.insts[k].vr.wants_master() || self.insts[k].vr.state() == State::Master);
        if all_want && g.iter().any(|&k| self.insts[k].vr.wants_master()) {
            for &k in g {
                let a = self.insts[k].vr.force_master(now);
                self.apply(k, now, a);
            }
        }
    }

    fn on_timers(&mut self, now: Instant, shutting_down: bool) {
        // Paced gratuitous ARPs/NAs.
        for (_, name, addr) in self.pacers.due(now) {
            if let Some(i) = self.insts.iter().position(|x| x.spec.name == name) {
                self.send_garp(i, addr);
            }
        }
        for i in 0..self.insts.len() {
            if !shutting_down && self.insts[i].vr.next_deadline().is_some_and(|d| d <= now) {
                if let Some(d) = self.insts[i].vr.next_deadline() {
                    let late = now.duration_since(d);
                    if late > Duration::from_millis(5) {
                        log::debug!(
                            "VRRP_Instance({}) timer late by {late:?}",
                            self.insts[i].spec.name
                        );
                    }
                }
                self.feed(i, now, Input::Timer);
            }
            // Planned handover.
            let inst = &self.insts[i];
            let drop_now = inst.handover_drop_at.is_some_and(|t| t <= now)
                || inst.handover_until.is_some_and(|t| t <= now);
            if drop_now {
                if inst.handover_drop_at.is_none() {
                    log::info!(
                        "VRRP_Instance({}) no new master heard within the handover bound; releasing VIPs",
                        inst.spec.name
                    );
                }
                self.insts[i].handover_until = None;
                self.insts[i].handover_drop_at = None;
                if self.insts[i].holding && !self.opts.dont_release_vrrp {
                    self.remove_vips(i, false);
                }
            }
        }
    }

    fn begin_shutdown(&mut self, now: Instant) {
        let handover = self.opts.planned_handover.unwrap_or(true);
        for i in 0..self.insts.len() {
            let was_master = self.insts[i].vr.state() == State::Master && self.insts[i].holding;
            let mut a = self.insts[i].vr.handle(now, Input::Shutdown);
            if was_master && (handover || self.opts.dont_release_vrrp) {
                a.retain(|x| *x != Action::RemoveVips);
                if !self.opts.dont_release_vrrp {
                    let iv = self.insts[i].vr.config().advert_interval.to_duration();
                    self.insts[i].handover_until = Some(now + iv * 2 + Duration::from_millis(100));
                }
            }
            self.apply(i, now, a);
        }
    }

    fn on_packet(&mut self, sidx: usize, pkt: &[u8], at: Instant) {
        // Find the VRID (IPv4: after the IP header and an optional AH header; IPv6: the
        // rebuilt 40-byte header).
        let Some(&vihl) = pkt.first() else { return };
        let v6 = vihl >> 4 == 6;
        let voff = if v6 {
            40
        } else {
            let ihl = usize::from(vihl & 0x0f) * 4;
            let proto = pkt.get(9).copied().unwrap_or(0);
            if proto == 51 {
                ihl + 24
            } else {
                ihl
            }
        };
        let Some(&vrid) = pkt.get(voff + 1) else {
            self.metrics.reject("packet_len_err");
            return;
        };
        let src = if v6 {
            match pkt.get(8..24).and_then(|b| <[u8; 16]>::try_from(b).ok()) {
                Some(b) => IpAddr::V6(std::net::Ipv6Addr::from(b)),
                None => return,
            }
        } else {
            match pkt.get(12..16) {
                Some(b) => IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])),
                None => return,
            }
        };
        let Some(i) = self
            .insts
            .iter()
            .position(|x| x.sock == sidx && x.spec.vrid.get() == vrid)
        else {
            Metrics::bump(&self.metrics.unknown_vrid);
            return;
        };
        if src == self.insts[i].primary {
            return;
        }
        let inst = &self.insts[i];
        let peers: Vec<IpAddr> = inst.spec.unicast_peers.iter().map(|p| p.addr).collect();
        let rc = inst.vr.config();
        let known_master = inst.vr.master_addr() == Some(src);
        let ctx = ReceiveContext {
            version: inst.spec.version,
            family: inst.spec.family,
            vrid: inst.spec.vrid,
            auth: inst.spec.auth,
            advert_interval: inst.spec.interval,
            vips: &rc.vips,
            check_addresses: !(inst.spec.skip_check_adv_addr && known_master),
            unicast: !peers.is_empty(),
            unicast_peers: &peers,
            check_unicast_src: inst.spec.check_unicast_src,
            v3_checksum_as_v2: false,
            ah_last_seq: inst.ah_last_seq,
        };
        let rx = if v6 {
            let dst = pkt
                .get(24..40)
                .and_then(|b| <[u8; 16]>::try_from(b).ok())
                .map(std::net::Ipv6Addr::from)
                .unwrap_or(std::net::Ipv6Addr::UNSPECIFIED);
            let IpAddr::V6(src6) = src else { return };
            RxPacket::Ipv6 {
                payload: pkt.get(40..).unwrap_or(&[]),
                src: src6,
                dst,
                hop_limit: pkt.get(7).copied().unwrap_or(0),
            }
        } else {
            RxPacket::Ipv4(pkt)
        };
        match validate(rx, &ctx).and_then(|v| v.to_accepted()) {
            Err(e) => {
                self.metrics.reject(e.counter());
                log::debug!(
                    "VRRP_Instance({}) advert from {src} rejected: {e}",
                    inst.spec.name
                );
            }
            Ok(acc) => {
                // unicast_peer min_ttl / max_ttl.
                if let Some(p) = inst.spec.unicast_peers.iter().find(|p| p.addr == acc.src) {
                    let lo = p.min_ttl.unwrap_or(0);
                    let hi = p.max_ttl.unwrap_or(255);
                    if acc.ttl < lo || acc.ttl > hi {
                        self.metrics.reject("ttl_out_of_range");
                        return;
                    }
                }
                Metrics::bump(&self.metrics.adverts_rcvd);
                if let Some(s) = acc.ah_seq {
                    self.insts[i].ah_last_seq = s;
                }
                if self.insts[i].handover_until.is_some()
                    && acc.advert.priority.get() > 0
                    && self.insts[i].handover_drop_at.is_none()
                {
                    let iv = self.insts[i].vr.config().advert_interval.to_duration();
                    let grace = iv.clamp(HANDOVER_GRACE_MIN, Duration::from_secs(1));
                    self.insts[i].handover_drop_at = Some(at + grace);
                    // The bound no longer applies: the new master is there.
                    self.insts[i].handover_until = None;
                }
                self.feed(
                    i,
                    at,
                    Input::Advert {
                        src: acc.src,
                        ttl: acc.ttl,
                        repr: acc.advert,
                    },
                );
            }
        }
    }

    /// Re-reads links (the instance's interface and track_interface) and/or track files, and
    /// feeds what changed to the state machines.
    fn poll_links(&mut self, now: Instant, links: bool, files: bool) {
        let links = if links {
            match self.rtnl.links() {
                Ok(l) => Some(l),
                Err(e) => {
                    log::warn!("link poll: {e}");
                    None
                }
            }
        } else {
            None
        };
        for i in 0..self.insts.len() {
            let mut changed = false;
            let inst = &mut self.insts[i];
            if let Some(links) = &links {
                let up = links
                    .iter()
                    .find(|l| l.index == inst.ifindex)
                    .is_some_and(|l| l.up && l.lower_up);
                if up != inst.link_up {
                    log::info!(
                        "VRRP_Instance({}) interface {} is {}",
                        inst.spec.name,
                        inst.spec.ifname,
                        if up { "UP" } else { "DOWN" }
                    );
                    inst.link_up = up;
                    changed = true;
                }
                for t in &inst.spec.track_interfaces {
                    let up = links
                        .iter()
                        .find(|l| l.name == t.name)
                        .is_some_and(|l| l.up && l.lower_up);
                    if inst.track_if_up.get(&t.name) != Some(&up) {
                        inst.track_if_up.insert(t.name.clone(), up);
                        changed = true;
                    }
                }
            }
            for (name, path) in inst.spec.track_file_paths.iter().filter(|_| files) {
                let v = read_track_file(path);
                if inst.track_file_values.get(name) != Some(&v) {
                    inst.track_file_values.insert(name.clone(), v);
                    changed = true;
                }
            }
            if changed {
                self.recompute_tracking(i, now, false);
            }
        }
    }

    /// Recompute fault and priority delta from links and scripts; feed changes to the FSM.
    /// Recomputes the tracking of the instances whose spec matches `tracks` (they track what
    /// just changed).
    fn recompute_tracking_of(&mut self, tracks: impl Fn(&InstanceSpec) -> bool) {
        let now = Instant::now();
        for i in 0..self.insts.len() {
            if tracks(&self.insts[i].spec) {
                self.recompute_tracking(i, now, false);
            }
        }
    }

    fn recompute_tracking(&mut self, i: usize, now: Instant, initial: bool) {
        let inst = &self.insts[i];
        let mut fault = !inst.spec.dont_track_primary && !inst.link_up;
        let mut delta = 0i32;
        let mut weigh = |ok: bool, w: i32, reverse: bool, fault: &mut bool| {
            if w == 0 {
                if !ok {
                    *fault = true;
                }
                return;
            }
            let w = if reverse { -w } else { w };
            // Positive weights count while up, negative ones while down (keepalived).
            if (w > 0) == ok {
                delta += w;
            }
        };
        for t in &inst.spec.track_interfaces {
            let ok = inst.track_if_up.get(&t.name).copied().unwrap_or(false);
            weigh(ok, t.weight, t.reverse, &mut fault);
        }
        for t in &inst.spec.track_scripts {
            if self.insecure_scripts.contains(&t.name) {
                continue;
            }
            let ok = self.scripts_ok.get(&t.name).copied().unwrap_or(true);
            weigh(ok, t.weight, t.reverse, &mut fault);
        }
        for t in &inst.spec.track_processes {
            let ok = self.procs_ok.get(&t.name).copied().unwrap_or(true);
            weigh(ok, t.weight, t.reverse, &mut fault);
        }
        for t in &inst.spec.track_files {
            // keepalived: weight 0 -> a non-zero value is a fault; else value × weight.
            let v = inst.track_file_values.get(&t.name).copied().unwrap_or(0);
            if t.weight == 0 {
                if v != 0 {
                    fault = true;
                }
            } else {
                let w = if t.reverse { -t.weight } else { t.weight };
                let add = v.saturating_mul(i64::from(w)).clamp(-254, 254);
                delta += i32::try_from(add).unwrap_or(0);
            }
        }
        if delta != inst.delta || initial {
            self.insts[i].delta = delta;
            self.feed(i, now, Input::PriorityChange(delta));
        }
        if fault != self.insts[i].fault || (initial && fault) {
            self.insts[i].fault = fault;
            self.feed(i, now, Input::Fault(fault));
        }
        let inst = &self.insts[i];
        if let Ok(mut m) = self.metrics.instances.lock() {
            if let Some(e) = m.get_mut(&inst.spec.name) {
                e.1 = inst.vr.priority().get();
            }
        }
    }
}

/// A track_file's value: the first integer in the file; 0 if missing or unparsable.
fn read_track_file(path: &str) -> i64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| t.split_whitespace().next().and_then(|w| w.parse().ok()))
        .unwrap_or(0)
}
