//! The event loop: sets the runtime up, then waits for the next event or deadline (one
//! blocking wait on the [`crate::inbox`]) and dispatches it to the runtime ([`crate::runtime`]);
//! at shutdown, the planned handover and the release.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use conf_parse::Config;
use tokio::sync::mpsc;

use crate::config::{self};
use crate::inbox::{Event, Shutdown, Tx};
use crate::instance::{InstId, Insts};
use crate::io::Io;
use crate::kernel::Kernel;
use crate::notify::Fifos;
use crate::plan::{self};
use crate::reload::Reload;
use crate::runtime::{Env, Rt};
use crate::scripts::insecure_scripts;
use crate::sync::SyncGroups;
use crate::track::{self};
use crate::{procs, RuntimeOptions, VrrpRuntimeError};

/// How often links are polled when link events are unavailable (otherwise they are re-read
/// only when the kernel reports a link change, [`netplat::LinkWatch`]), and track files when
/// inotify is unavailable.
pub(crate) const LINK_POLL: Duration = Duration::from_millis(50);

/// Track files are re-read on inotify events, and this often as a safety net.
pub(crate) const FILE_SAFETY_POLL: Duration = Duration::from_secs(1);

/// At most this many queued events are handled between two looks at the timers.
const MAX_EVENTS_PER_WAKE: usize = 64;

/// Stats file: rewritten at most this often and only after something happened (at once after
/// a state change).
pub(crate) const STATS_EVERY: Duration = Duration::from_millis(100);

/// The network namespace's switch for IGMP reports of link-local groups.
const IGMP_LLM_REPORTS: &str = "/proc/sys/net/ipv4/igmp_link_local_mcast_reports";

/// `disable_local_igmp`: sets [`IGMP_LLM_REPORTS`] to 0 if it was 1; whether it did.
fn disable_local_igmp() -> bool {
    match std::fs::read_to_string(IGMP_LLM_REPORTS) {
        Ok(v) if v.starts_with('1') => match std::fs::write(IGMP_LLM_REPORTS, "0") {
            Ok(()) => true,
            Err(e) => {
                log::info!("Unable to write {IGMP_LLM_REPORTS} - {e}");
                false
            }
        },
        Ok(_) => false,
        Err(e) => {
            log::info!("Unable to read {IGMP_LLM_REPORTS} - {e}");
            false
        }
    }
}

pub(crate) async fn run_async(
    config: Config,
    opts: RuntimeOptions,
    mut reloads: mpsc::UnboundedReceiver<Reload>,
    mut commands: mpsc::UnboundedReceiver<crate::Command>,
) -> Result<(), VrrpRuntimeError> {
    let (ev_tx, ev_rx) = crate::inbox::inbox().map_err(|e| VrrpRuntimeError::Io {
        op: "the VRRP loop's epoll set".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let cmd = Tx::<crate::Command>::new(ev_tx.clone());
    let commands_fwd = tokio::spawn(async move {
        while let Some(c) = commands.recv().await {
            if cmd.send(c).is_err() {
                return;
            }
        }
    });
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
    commands_fwd.abort();
    let (notify_handles, fifos) = match joined {
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
    fifos.close();
    Ok(())
}

/// The VRRP runtime proper: sets everything up, runs the loop until shutdown, releases.
/// Returns the notification queues to be drained and the FIFOs to close after them.
pub(crate) fn run_loop(
    config: Config,
    opts: RuntimeOptions,
    ev_tx: crate::inbox::Sender,
    mut ev_rx: crate::inbox::Inbox,
) -> Result<(Vec<tokio::task::JoinHandle<()>>, Fifos), VrrpRuntimeError> {
    let lease = opts
        .vip_lease
        .unwrap_or_else(|| config::lease_from_config(&config));
    let kernel = Kernel::new(opts.metrics.clone(), lease, &config.global.nftables)?;
    kernel.set_cmd_rcv_bufs(&config.global.vrrp_netlink_cmd_rcv_bufs, None);
    let fifo_specs = config::notify_fifos(&config);

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
    if let Some(mut bfd) = opts.bfd_states.clone() {
        let tx = Tx::<crate::BfdStates>::new(ev_tx.clone());
        tokio::spawn(async move {
            loop {
                let now = bfd.borrow_and_update().clone();
                if tx.send(now).is_err() || bfd.changed().await.is_err() {
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

    let tr_tx = Tx::new(ev_tx.clone());
    let mut env = Env {
        fifos: Fifos::open(&fifo_specs),
        rx_watch: ev_tx.clone(),
        rx_bufs: crate::io::RxBufs::default(),
        tr_tx,
        stop: Arc::new(AtomicBool::new(false)),
        readers: Vec::new(),
        reading: 0,
        notify_handles: Vec::new(),
        scripts: BTreeMap::new(),
    };
    let on_group = opts.on_group_transition.clone();
    let mut rt = Rt {
        touched: Vec::new(),
        deadlines_stale: true,
        any_timer_expired_backup: true,
        insts: Insts::default(),
        io: Io {
            socks: Vec::new(),
            metrics: opts.metrics.clone(),
        },
        kernel,
        metrics: opts.metrics.clone(),
        opts,
        scripts_ok: BTreeMap::new(),
        scripts_init: Default::default(),
        deferred: Vec::new(),
        if_delays: crate::ifdelay::IfDelays::from_config(&config, None),
        linkbeats: Default::default(),
        insecure_scripts: insecure_scripts(&config),
        held_published: Vec::new(),
        held_dirty: false,
        state_changed: false,
        procs_ok: BTreeMap::new(),
        bfd_up: BTreeMap::new(),
        sync: SyncGroups::with_callback(on_group),
        pacers: crate::garp::Pacers::from_config(&config),
        rxlog: crate::rxlog::RxLog::default(),
        config: Arc::new(config.clone()),
        pending: BTreeMap::new(),
        gone: Vec::new(),
        start_delay: None,
        start_delay_len: Duration::ZERO,
        rx_index: std::collections::HashMap::new(),
    };
    track::init_track_files(&config);
    // keepalived set_disable_local_igmp: no IGMP reports for link-local groups (224.0.0.18)
    // while we run, when the kernel sent them; set back at stop.
    let igmp_cleared = config.global.disable_local_igmp && disable_local_igmp();
    // keepalived: without dynamic_interfaces a missing interface stops the start ("Non-existent
    // interface specified in configuration"); with it the instance waits in FAULT, as does one
    // whose interface has no address yet.
    let mut waiting = Vec::new();
    // keepalived check_vrrp_conflicts: two instances with one VRID, family and multicast group
    // on one base interface stop the start ("A and B both use VRID N ..."), unless
    // `dynamic_interfaces allow_if_changes` and one of the interfaces can change (has a link
    // kind): then the first such instance is held in FAULT.
    let links = rt.kernel.links().unwrap_or_default();
    for (a, b, base, ca, cb) in crate::pending::vrid_conflicts(&config, &links) {
        let held = if !config.global.allow_if_changes {
            None
        } else if ca {
            Some((a.clone(), b.clone()))
        } else if cb {
            Some((b.clone(), a.clone()))
        } else {
            None
        };
        let Some((held, other)) = held else {
            let ci = config.vrrp_instances.iter().find(|c| c.name == a);
            let (file, line) = ci
                .map(|c| (c.loc.0.file.to_string(), c.loc.0.line))
                .unwrap_or_default();
            let fam = ci
                .and_then(|c| config::instance_spec(&config, c).ok())
                .map_or("IPv4", |s| match s.family {
                    vrrp_proto::Family::V4 => "IPv4",
                    vrrp_proto::Family::V6 => "IPv6",
                });
            let vrid = ci.and_then(|c| c.virtual_router_id).unwrap_or_default();
            let msg = format!("{a} and {b} both use VRID {vrid} with {fam} on interface {base}");
            log::error!("{msg}");
            return Err(VrrpRuntimeError::Config {
                instance: b,
                file,
                line,
                msg,
            });
        };
        if waiting
            .iter()
            .any(|(c, _): &(&conf_parse::VrrpInstance, _)| c.name == held)
        {
            continue;
        }
        let Some(ci) = config.vrrp_instances.iter().find(|c| c.name == held) else {
            continue;
        };
        let ifindex = links
            .iter()
            .find(|l| Some(l.name.as_str()) == ci.interface.as_deref())
            .map_or(0, |l| l.index);
        waiting.push((ci, crate::pending::Wait::DuplicateVrid { other, ifindex }));
    }
    for ci in &config.vrrp_instances {
        if waiting.iter().any(|(c, _)| c.name == ci.name) {
            continue;
        }
        match rt.waits(&config, ci) {
            Some(crate::pending::Wait::NoInterface(i)) if !config.global.dynamic_interfaces => {
                let (file, line) = (ci.interface_loc.0.file.to_string(), ci.interface_loc.0.line);
                log::error!("({file}: Line {line}) WARNING - interface {i} for vrrp_instance {} doesn't exist", ci.name);
                return Err(VrrpRuntimeError::Config {
                    instance: ci.name.clone(),
                    file,
                    line,
                    msg: format!(
                        "interface {i} doesn't exist: Non-existent interface specified in configuration"
                    ),
                });
            }
            Some(w) => waiting.push((ci, w)),
            None => {}
        }
    }
    for ci in &config.vrrp_instances {
        if let Some((_, w)) = waiting.iter().find(|(c, _)| c.name == ci.name) {
            rt.park(&config, ci, w, &mut env, None);
        } else if let Some(inst) = rt.build_instance(&config, ci, &mut env) {
            rt.insts.insert(inst);
        }
    }
    if rt.insts.is_empty() && rt.pending.is_empty() {
        return Err(VrrpRuntimeError::Config {
            instance: "*".into(),
            file: String::new(),
            line: 0,
            msg: "no runnable vrrp_instance".into(),
        });
    }
    env.watch_sockets(&rt.io.socks)?;
    rt.sync_scripts(&config, &mut env);
    rt.sync.setup(
        &mut rt.insts,
        &config,
        &env.fifos,
        &mut env.notify_handles,
        |n| rt.pending.contains_key(n),
    );

    rt.kernel.apply_statics(&config);
    rt.setup_linkbeats(&config);
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
    for i in rt.insts.ids() {
        rt.remove_vips(i, true);
    }
    rt.publish_held();

    // Initial tracking state, then startup (keepalived: "Delaying startup for N seconds").
    let now = Instant::now();
    // keepalived 2.4: vrrp_delay_after_boot counts from the system's boot (/proc/uptime).
    rt.start_delay_len =
        crate::config::startup_delay(&config.global, crate::config::system_uptime());
    let d = rt.start_delay_len;
    if !d.is_zero() {
        log::info!("Delaying startup for {} seconds", d.as_secs_f64());
        rt.start_delay = Some(now + d);
    }
    for i in rt.insts.ids() {
        rt.recompute_tracking(i, now, true);
        rt.start(i, now);
    }
    rt.write_stats();

    // Link events, read on a thread like the adverts; without them links are polled like track
    // files.
    let link_tx = Tx::<Result<(), String>>::new(ev_tx.clone());
    let mut link_watch = None;
    let link_queued = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut link_events = match crate::io::spawn_link_watch(
        link_tx,
        env.stop.clone(),
        link_queued.clone(),
        &rt.config.global.vrrp_netlink_monitor_rcv_bufs,
    ) {
        Ok((h, w)) => {
            env.readers.push(h);
            link_watch = Some(w);
            // Changes between the instances' setup and the subscription.
            rt.poll_links(Instant::now(), true, false);
            rt.settle_links(&mut env, Instant::now());
            true
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
    let mut current = plan::desired(&config);

    let mut shutting_down = false;
    let mut next_link_poll = Instant::now() + LINK_POLL;
    let mut next_pending_poll = Instant::now() + crate::pending::PENDING_POLL;
    let mut next_file_poll = Instant::now() + file_poll;
    let mut stats_dirty = false;
    let mut next_stats = Instant::now() + STATS_EVERY;
    // One timer structure for all instances: a heap of (deadline, instance). An instance fed
    // an input (an advert, its timer) is pushed again with its new deadline; an entry whose
    // instance's deadline is no longer that one is dropped when it reaches the top. Anything
    // but adverts and timers (reload, links, tracking, commands) rebuilds it from every
    // instance. No scan of every instance per advert or per timer.
    let mut timers: BinaryHeap<Reverse<(Instant, InstId)>> = BinaryHeap::new();
    let mut due: Vec<InstId> = Vec::new();
    loop {
        let now = Instant::now();
        let rebuild = timers.len() > 4 * rt.insts.len() + 1024;
        if std::mem::take(&mut rt.deadlines_stale) || rebuild {
            timers.clear();
            for i in rt.insts.ids() {
                if let Some(t) = rt.inst_deadline(i) {
                    timers.push(Reverse((t, i)));
                }
            }
            rt.any_timer_expired_backup = rt
                .insts
                .iter()
                .any(|i| i.spec.timer_expired_backup.is_some());
            rt.touched.clear();
        } else {
            let mut touched = std::mem::take(&mut rt.touched);
            for &i in &touched {
                if let Some(t) = rt.inst_deadline(i) {
                    timers.push(Reverse((t, i)));
                }
            }
            touched.clear();
            rt.touched = touched;
        }
        while let Some(&Reverse((t, i))) = timers.peek() {
            if rt.inst_deadline(i) == Some(t) {
                break;
            }
            timers.pop();
        }
        let insts_deadline = timers.peek().map(|r| r.0 .0);
        let deadline = [
            insts_deadline,
            rt.aux_deadline(),
            (!link_events).then_some(next_link_poll),
            (!rt.pending.is_empty() && !shutting_down).then_some(next_pending_poll),
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
        let mut ev = ev_rx.recv_until(deadline);
        if !shutting_down {
            rt.check_timer_expired(Instant::now());
        }
        // Then whatever else is already queued (bursts of adverts on several sockets), before
        // the timers and the next deadline are looked at again.
        let mut handled = 0;
        // Whether this turn read the readable sockets (or the wait timed out with none).
        let mut read_sockets = ev.is_none();
        loop {
            if !matches!(ev, None | Some(Event::Readable)) {
                rt.deadlines_stale = true;
            }
            match ev {
                None => {}
                Some(Event::Shutdown(_)) if !shutting_down => {
                    shutting_down = true;
                    // keepalived's script_killall first: the FIFO readers do not see STOP.
                    env.fifos.terminate_readers();
                    rt.begin_shutdown(Instant::now());
                }
                Some(Event::Shutdown(_)) => {}
                // Dropped while stopping: the requester sees its answer channel closed.
                Some(Event::Reload(_)) if shutting_down => {}
                Some(Event::Reload(req)) => {
                    let wanted = plan::desired(&req.config);
                    let report =
                        rt.reload(&current, &req.config, &wanted, &mut env, Instant::now());
                    if let Err(e) = env.watch_sockets(&rt.io.socks) {
                        log::error!("reload: {e}");
                    }
                    match &report {
                        Ok(r) => {
                            rt.fifo_lines_on_reload(
                                r,
                                req.config.global.fifo_write_vrrp_states_on_reload,
                            );
                            rt.kernel.apply_statics(&req.config);
                            let (g, was) = (&req.config.global, &rt.config.global);
                            rt.kernel.set_cmd_rcv_bufs(
                                &g.vrrp_netlink_cmd_rcv_bufs,
                                Some(&was.vrrp_netlink_cmd_rcv_bufs),
                            );
                            if let Some(w) = &link_watch {
                                crate::io::set_rcv_bufs(
                                    "vrrp_netlink_monitor_rcv_bufs",
                                    &g.vrrp_netlink_monitor_rcv_bufs,
                                    Some(&was.vrrp_netlink_monitor_rcv_bufs),
                                    |size, force| w.set_receive_buffer(size, force),
                                );
                            }
                            watch_procs(&mut rt, &req.config);
                            let now = Instant::now();
                            for i in rt.insts.ids() {
                                rt.recompute_tracking(i, now, false);
                            }
                            current = wanted;
                            // keepalived: a reload during the start-up delay moves its end by the
                            // change of vrrp_startup_delay.
                            let old = rt.start_delay_len;
                            let new = crate::config::startup_delay(
                                &req.config.global,
                                crate::config::system_uptime(),
                            );
                            rt.start_delay_len = new;
                            if let Some(until) = rt.start_delay.filter(|t| *t > Instant::now()) {
                                let until = (until + new).checked_sub(old).unwrap_or(until);
                                rt.start_delay = Some(until);
                                if until <= Instant::now() {
                                    log::info!("Reduced delayed start passed");
                                } else {
                                    log::info!(
                                        "Delaying startup for a further {} seconds",
                                        (until - Instant::now()).as_secs_f64()
                                    );
                                }
                            }
                            rt.setup_linkbeats(&req.config);
                            rt.if_delays = crate::ifdelay::IfDelays::from_config(
                                &req.config,
                                Some(&rt.if_delays),
                            );
                            rt.config = Arc::new(req.config.clone());
                            rt.pending.retain(|n, _| {
                                req.config.vrrp_instances.iter().any(|c| c.name == *n)
                            });
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
                    rt.settle_links(&mut env, Instant::now());
                    let _ = req.done.send(report);
                }
                Some(Event::Readable) => {
                    read_ready(&mut rt, &mut env, &mut ev_rx);
                    read_sockets = true;
                }
                Some(Event::Track(ev)) => {
                    rt.scripts_ok.insert(ev.script.clone(), ev.ok);
                    rt.scripts_init.remove(&ev.script);
                    rt.metrics.set_scripts(&rt.scripts_ok);
                    rt.recompute_tracking_of(|s| {
                        s.track_scripts.iter().any(|t| t.name == ev.script)
                    });
                    if !shutting_down {
                        rt.start_deferred(Instant::now());
                    }
                }
                Some(Event::Proc(_)) if shutting_down => {}
                Some(Event::Proc(ev)) => {
                    rt.procs_ok.insert(ev.name.clone(), ev.up);
                    rt.recompute_tracking_of(|s| {
                        s.track_processes.iter().any(|t| t.name == ev.name)
                    });
                }
                Some(Event::Bfd(_)) if shutting_down => {}
                Some(Event::Bfd(states)) => {
                    let changed: Vec<String> = states
                        .iter()
                        .filter(|(n, up)| rt.bfd_up.get(*n).copied().unwrap_or(false) != **up)
                        .map(|(n, _)| n.clone())
                        .collect();
                    for n in &changed {
                        let up = states.get(n).copied().unwrap_or(false);
                        log::info!(
                            "Received BFD event: instance {n} is in state {}",
                            if up { "Up" } else { "Down" }
                        );
                    }
                    rt.bfd_up = states;
                    rt.metrics.set_bfds(&rt.bfd_up);
                    if !changed.is_empty() {
                        rt.recompute_tracking_of(|s| {
                            s.track_bfds.iter().any(|t| changed.contains(&t.name))
                        });
                    }
                }
                Some(Event::Command(crate::Command::SendGarp { instance, done })) => {
                    let found = rt.send_garp_now(&instance, Instant::now());
                    let _ = done.send(found);
                }
                Some(Event::File) if !shutting_down => rt.poll_links(Instant::now(), false, true),
                Some(Event::File) => {}
                Some(Event::Link(ev)) => match ev {
                    Ok(()) if !shutting_down => {
                        // Changes from here on send a new event.
                        link_queued.store(false, Ordering::Release);
                        rt.poll_links(Instant::now(), true, false);
                        rt.settle_links(&mut env, Instant::now());
                    }
                    Ok(()) => {}
                    Err(e) => {
                        log::warn!("link events: {e}; polling links every {LINK_POLL:?} instead");
                        link_events = false;
                    }
                },
            }
            handled += 1;
            if handled >= MAX_EVENTS_PER_WAKE {
                break;
            }
            match ev_rx.try_recv() {
                Some(e) => ev = Some(e),
                None => break,
            }
        }
        // Timers run when due, whatever woke the loop (a stream of events cannot starve them);
        // adverts already in the sockets first, when this turn read none.
        let mut now = Instant::now();
        if now >= deadline && !read_sockets && ev_rx.poll_readable() {
            read_ready(&mut rt, &mut env, &mut ev_rx);
            now = Instant::now();
        }
        if now >= deadline {
            due.clear();
            while let Some(&Reverse((t, i))) = timers.peek() {
                if t > now {
                    break;
                }
                timers.pop();
                if rt.inst_deadline(i) == Some(t) && !due.contains(&i) {
                    due.push(i);
                }
            }
            rt.on_timers(now, shutting_down, &due);
            // Looked at again with what the timers did (fed or not).
            rt.touched.extend_from_slice(&due);
            let polled = rt.poll_linkbeats(now);
            if (rt.if_delays.fire(now) || polled) && !shutting_down {
                rt.poll_links(now, true, false);
            }
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
            let pending_due = now >= next_pending_poll;
            if pending_due {
                next_pending_poll = now + crate::pending::PENDING_POLL;
            }
            if (links_due || pending_due) && !shutting_down {
                rt.settle_links(&mut env, now);
            }
        }
        if rt.held_dirty {
            rt.publish_held();
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
        for i in rt.insts.ids() {
            if rt.insts[i].holding {
                rt.remove_vips(i, false);
            }
        }
    }
    rt.kernel.clear_statics();
    rt.kernel.reset_promoted();
    if igmp_cleared && rt.config.global.disable_local_igmp {
        // Leave the groups first (the sockets live until the runtime is dropped): a
        // leave with reports back on would be reported, keepalived's closed sockets are not.
        for inst in rt.insts.iter() {
            if let (std::net::IpAddr::V4(g), Some(s)) =
                (inst.spec.mcast_group, rt.io.socks.get(inst.sock))
            {
                let _ = s
                    .fd
                    .leave_multicast_v4_n(&g, &socket2::InterfaceIndexOrAddress::Index(s.ifindex));
            }
        }
        if let Err(e) = std::fs::write(IGMP_LLM_REPORTS, "1") {
            log::info!("Unable to write {IGMP_LLM_REPORTS} - {e}");
        }
    }
    if !rt.opts.dont_release_vrrp {
        // keepalived: the instances' VMACs (and their firewall entries) go first, then
        // firewall_fini
        for i in rt.insts.ids() {
            rt.kernel.drop_vmacs(&mut rt.insts[i]);
        }
        rt.kernel.firewall.cleanup();
    }
    rt.publish_held();
    rt.write_stats();
    rt.stop_pending();
    for inst in rt.insts.iter_mut() {
        inst.notify = None;
    }
    rt.sync.close_notifications();
    for (_, (_, h)) in std::mem::take(&mut env.scripts) {
        h.abort();
    }
    let notify_handles = std::mem::take(&mut env.notify_handles);
    // The watcher threads (links, files) block without timeouts (no idle wake-ups): they end on their next
    // event, finding `stop` set or the runtime gone; they are not waited for.
    env.stop.store(true, Ordering::Relaxed);
    if let Some((_, stop)) = proc_watch.take() {
        stop.store(true, Ordering::Relaxed);
    }
    env.readers.clear();
    Ok((notify_handles, env.fifos.clone()))
}

/// Reads every socket the inbox found readable and handles their adverts.
fn read_ready(rt: &mut Rt, env: &mut Env, ev_rx: &mut crate::inbox::Inbox) {
    let mut ready = std::mem::take(&mut ev_rx.ready);
    for &sidx in &ready {
        rt.read_socket(sidx, &mut env.rx_bufs);
    }
    ready.clear();
    ev_rx.ready = ready;
}
