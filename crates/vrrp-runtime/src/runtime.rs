//! The runtime's state ([`Rt`]): the running instances, sockets, sync groups (owned by
//! [`SyncGroups`]), tracking results
//! and the handles it owns ([`Env`]); what spans all instances (deadlines, timers, shutdown,
//! published held VIPs and stats).

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vrrp_proto::{Action, Input, State};

use crate::inbox::Tx;

/// The planned handover's bound beyond the longest Skew_Time a backup can have.
const HANDOVER_MARGIN: Duration = Duration::from_millis(50);
use crate::instance::{InstId, Insts};
use crate::io::Io;
use crate::kernel::Kernel;
use crate::notify::Fifos;
use crate::sync::SyncGroups;
use crate::track::TrackEvent;
use crate::{HeldVip, Metrics, RuntimeOptions};

pub(crate) struct Rt {
    pub(crate) insts: Insts,
    pub(crate) io: Io,
    pub(crate) kernel: Kernel,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) opts: RuntimeOptions,
    pub(crate) scripts_ok: BTreeMap<String, bool>,
    /// Tracked `vrrp_script`s with no result yet (keepalived's SCRIPT_INIT_STATE_INIT): they
    /// neither weigh nor fault; an instance tracking one with weight 0 is not started before
    /// its first result ([`Rt::deferred`]).
    pub(crate) scripts_init: std::collections::BTreeSet<String>,
    /// Instances whose start waits for the first result of a weight-0 tracked script
    /// (keepalived's `num_script_init`: the instance stays in INIT, no notification).
    pub(crate) deferred: Vec<InstId>,
    /// `interface_up_down_delays`: the link states the instances see.
    pub(crate) if_delays: crate::ifdelay::IfDelays,
    /// `linkbeat_interfaces`/`linkbeat_use_polling`: the interfaces whose link is polled.
    pub(crate) linkbeats: crate::linkbeat::Linkbeats,
    pub(crate) insecure_scripts: Vec<String>,
    pub(crate) held_published: Vec<HeldVip>,
    /// VIPs were added or removed since the last [`Rt::publish_held`]: published once at the
    /// end of the loop's turn (a burst of state changes is one publication, not one each:
    /// each is the whole list, O(VIPs), sent to the parent).
    pub(crate) held_dirty: bool,
    /// A state changed since the stats file was last written (written at once, not throttled).
    pub(crate) state_changed: bool,
    /// Instances fed an input since the loop last looked at the deadlines (their timers may
    /// have moved); the others' have not.
    pub(crate) touched: Vec<InstId>,
    /// Every instance's deadline must be looked at again (anything but an advert happened).
    pub(crate) deadlines_stale: bool,
    /// Whether an instance has `timer_expired_backup` (worked out with the deadlines).
    pub(crate) any_timer_expired_backup: bool,
    /// Quorum of each tracked `vrrp_track_process`, by name.
    pub(crate) procs_ok: BTreeMap<String, bool>,
    /// State of each BFD session as last reported by the BFD worker (true: Up); a session
    /// not reported yet is down (keepalived's `bfd_up` starts false).
    pub(crate) bfd_up: BTreeMap<String, bool>,
    /// The running sync groups: members, how they move together, their notifications.
    pub(crate) sync: SyncGroups,
    /// Gratuitous ARP/NA pacing per interface (`garp_group`, `vrrp_garp_interval`).
    pub(crate) pacers: crate::garp::Pacers,
    /// Rate limit of the rejected-advert log lines.
    pub(crate) rxlog: crate::rxlog::RxLog,
    /// The running configuration (waiting instances are built from it).
    pub(crate) config: Arc<conf_parse::Config>,
    /// Instances waiting in FAULT for their interface or its address, by name.
    pub(crate) pending: BTreeMap<String, crate::pending::Pending>,
    /// Instances whose interface disappeared at the last link poll.
    pub(crate) gone: Vec<InstId>,
    /// `vrrp_startup_delay`: until then adverts are discarded unread and the instances'
    /// start timers count from it (keepalived's `vrrp_delayed_start_time`).
    pub(crate) start_delay: Option<Instant>,
    /// The start-up delay of the configuration in force (`vrrp_startup_delay` or what remained
    /// of `vrrp_delay_after_boot` when it was read): a reload moves `start_delay` by its change.
    pub(crate) start_delay_len: Duration,
    /// The instance an advert on (socket, VRID) goes to, as last found (checked at each use:
    /// instances come and go with reloads; a miss falls back to the search).
    pub(crate) rx_index: std::collections::HashMap<(usize, u8), crate::instance::InstId>,
}

/// A running `vrrp_script`'s definition and user (a change restarts it).
pub(crate) type RunningScript = (conf_parse::VrrpScript, script_runner::Script);

/// Handles the runtime owns besides the instances: notify FIFOs, receive/link threads, script
/// tasks, notification queues. Kept together so a reload can add to them.
pub(crate) struct Env {
    pub(crate) fifos: Fifos,
    /// Registers receive sockets with the loop's wait.
    pub(crate) rx_watch: crate::inbox::Sender,
    pub(crate) rx_bufs: crate::io::RxBufs,
    pub(crate) tr_tx: Tx<TrackEvent>,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) readers: Vec<std::thread::JoinHandle<()>>,
    /// How many of the runtime's sockets the loop's wait has looked at ([`Env::watch_sockets`]).
    pub(crate) reading: usize,
    pub(crate) notify_handles: Vec<tokio::task::JoinHandle<()>>,
    /// Running `vrrp_script` tasks by name, with the definition and user they run with.
    pub(crate) scripts: BTreeMap<String, (RunningScript, tokio::task::JoinHandle<()>)>,
}

impl Rt {
    /// Starts instance `i` (its Startup event), its timers counted from the end of
    /// `vrrp_startup_delay` while that runs.
    pub(crate) fn start(&mut self, i: InstId, now: Instant) {
        if self.waits_for_scripts(i) {
            log::info!(
                "({}) Entering FAULT STATE (init): waiting for the first result of its track scripts",
                self.insts[i].spec.name
            );
            if !self.deferred.contains(&i) {
                self.deferred.push(i);
            }
            return;
        }
        if let Some(until) = self.start_delay.filter(|t| *t > now) {
            self.insts[i].vr.delay_start(until);
        }
        if self.sync.waits(i, |n| self.pending.contains_key(n)) {
            // A sync-group member waits for its interface: the group is in FAULT.
            let a = self.insts[i].vr.start_in_fault();
            self.apply(i, now, a);
            return;
        }
        self.feed(i, now, Input::Startup);
    }

    /// Sets the polled interfaces up from `config` (start, reload).
    pub(crate) fn setup_linkbeats(&mut self, config: &conf_parse::Config) {
        let links = self.kernel.links().unwrap_or_default();
        let old = std::mem::take(&mut self.linkbeats);
        self.linkbeats = crate::linkbeat::Linkbeats::from_config(config, &links, Some(old));
    }

    /// Polls the linkbeat interfaces when due; whether a link state changed.
    pub(crate) fn poll_linkbeats(&mut self, now: Instant) -> bool {
        if self.linkbeats.next_deadline().is_none_or(|t| t > now) {
            return false;
        }
        let links = self.kernel.links().unwrap_or_default();
        self.linkbeats.poll(&links)
    }

    /// Whether instance `i` tracks a weight-0 script that has no result yet.
    pub(crate) fn waits_for_scripts(&self, i: InstId) -> bool {
        self.insts[i].spec.track_scripts.iter().any(|t| {
            t.weight == 0
                && self.scripts_init.contains(&t.name)
                && !self.insecure_scripts.contains(&t.name)
        })
    }

    /// Starts the deferred instances whose weight-0 scripts all have a result now.
    pub(crate) fn start_deferred(&mut self, now: Instant) {
        let ready: Vec<InstId> = self
            .deferred
            .iter()
            .copied()
            .filter(|&i| self.insts.get(i).is_some() && !self.waits_for_scripts(i))
            .collect();
        self.deferred
            .retain(|i| self.insts.get(*i).is_some() && !ready.contains(i));
        for i in ready {
            self.start(i, now);
        }
    }

    /// Whether adverts are still discarded by `vrrp_startup_delay`.
    pub(crate) fn start_delayed(&self, at: Instant) -> bool {
        self.start_delay.is_some_and(|t| at < t)
    }

    /// Puts instance `i`'s VIPs, routes and rules in place (the held VIPs are published at
    /// the end of the loop's turn).
    pub(crate) fn add_vips(&mut self, i: InstId) {
        self.kernel.add_vips(&mut self.insts[i]);
        self.held_dirty = true;
    }

    /// Removes instance `i`'s VIPs, routes and rules (`quiet`: leftovers of an earlier run;
    /// the held VIPs are published at the end of the loop's turn).
    pub(crate) fn remove_vips(&mut self, i: InstId, quiet: bool) {
        self.kernel.remove_vips(&mut self.insts[i], quiet);
        self.held_dirty = true;
    }

    /// Every tracked file of the running instances.
    pub(crate) fn track_file_paths(&self) -> Vec<std::path::PathBuf> {
        self.insts
            .iter()
            .flat_map(|i| i.spec.track_file_paths.iter())
            .map(|(_, p)| std::path::PathBuf::from(p))
            .collect()
    }

    /// Instance `i`'s own deadlines (none if it is gone).
    pub(crate) fn inst_deadline(&self, i: InstId) -> Option<Instant> {
        let inst = self.insts.get(i)?;
        [
            inst.vr.next_deadline(),
            inst.handover_until,
            inst.handover_drop_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The deadlines that are not the instances' (GARP pacing, receive log, interface delays,
    /// linkbeat).
    pub(crate) fn aux_deadline(&self) -> Option<Instant> {
        self.pacers
            .next_deadline()
            .into_iter()
            .chain(self.rxlog.next_deadline())
            .chain(self.if_delays.next_deadline())
            .chain(self.linkbeats.next_deadline())
            .min()
    }

    pub(crate) fn publish_held(&mut self) {
        self.held_dirty = false;
        let mut held = Vec::new();
        for inst in self.insts.iter() {
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

    pub(crate) fn write_stats(&self) {
        if let Some(p) = &self.opts.stats_path {
            let tmp = p.with_extension("tmp");
            let text = self.metrics.to_json().to_string();
            if let Err(e) = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, p)) {
                log::warn!("writing stats to {}: {e}", p.display());
            }
        }
    }

    /// keepalived 2.4 `timer_expired_backup`, checked as soon as the loop wakes and before
    /// the adverts queued meanwhile are read (keepalived's scheduler calls its
    /// `vrrp_thread_timeout_handler` before handling the epoll events): a master of an
    /// instance with it whose advert timer is overdue enough for another router to have
    /// taken over goes Backup without an advert.
    pub(crate) fn check_timer_expired(&mut self, now: Instant) {
        if !self.any_timer_expired_backup {
            return;
        }
        for i in self.insts.ids() {
            let Some(hop) = self.insts[i].spec.timer_expired_backup else {
                continue;
            };
            if self.insts[i].vr.state() != State::Master {
                continue;
            }
            let late = self.insts[i]
                .vr
                .next_deadline()
                .and_then(|d| now.checked_duration_since(d))
                .unwrap_or_default();
            let a = self.insts[i].vr.timer_expired_backup(now, hop);
            if !a.is_empty() {
                log::info!(
                    "VRRP thread timer expired {}.{:06} seconds ago",
                    late.as_secs(),
                    late.subsec_micros()
                );
                self.deadlines_stale = true;
                self.apply(i, now, a);
            }
        }
    }

    /// keepalived's `netlink_if_address_filter` / `netlink_route_filter`: when someone deletes
    /// a VIP (or eVIP) or a tracked virtual route of a master, the instance leaves MASTER for
    /// BACKUP with a Skew_Time down timer (`set_vrrp_backup`), taking over again if no other
    /// master speaks. Checked when the kernel reports a deletion (and on each link poll), with
    /// the poll's address dump when it made one.
    pub(crate) fn check_deleted(&mut self, now: Instant, addrs: Option<Vec<netplat::Address>>) {
        let masters: Vec<InstId> = self
            .insts
            .ids()
            .into_iter()
            .filter(|&i| self.insts[i].vr.state() == State::Master && self.insts[i].holding)
            .collect();
        if masters.is_empty() {
            return;
        }
        let addrs = match addrs.map_or_else(|| self.kernel.rtnl.addresses(None), Ok) {
            Ok(a) => a,
            Err(e) => {
                log::warn!("address dump: {e}");
                return;
            }
        };
        let mut routes: [Option<Vec<netplat::Route>>; 2] = [None, None];
        for i in masters {
            let mut gone: Option<String> = None;
            // A VIP whose lease ran out while this master was frozen (SIGSTOP, a stalled host)
            // was removed by the kernel, not by an operator: the next advert's renewal puts it
            // back, and the master stays master as the reference (which has no lease) does.
            let lease_ran_out = self.kernel.lease
                && self.insts[i].last_refresh.is_some_and(|t| {
                    now.saturating_duration_since(t) + Duration::from_secs(1)
                        >= Duration::from_secs(u64::from(self.insts[i].lease_secs()))
                });
            for v in self.insts[i].all_vips() {
                if v.no_track || lease_ran_out {
                    continue;
                }
                let Some(spec) = self.kernel.vip_spec(&self.insts[i], &v, false) else {
                    continue;
                };
                if !addrs
                    .iter()
                    .any(|a| a.index == spec.index && a.addr == spec.addr)
                {
                    gone = Some(format!("VIP {}", v.addr));
                    break;
                }
            }
            if gone.is_none() {
                let rs = self.insts[i].spec.routes.clone();
                for r in rs.iter().filter(|r| r.track) {
                    let Some(spec) = self.kernel.route_spec(&self.insts[i], r) else {
                        continue;
                    };
                    let fam = usize::from(spec.dst.is_ipv6());
                    if routes[fam].is_none() {
                        routes[fam] = self.kernel.rtnl.routes(fam == 0).ok();
                    }
                    let Some(list) = &routes[fam] else { continue };
                    let there = list.iter().any(|k| {
                        k.dst == spec.dst
                            && k.prefix_len == spec.prefix_len
                            && k.table == spec.table
                            && (spec.oif.is_none() || k.oif == spec.oif)
                            && (spec.metric.is_none() || k.metric == spec.metric)
                    });
                    if !there {
                        gone = Some(format!("route {}/{}", spec.dst, spec.prefix_len));
                        break;
                    }
                }
            }
            if let Some(what) = gone {
                log::info!(
                    "({}) {what} was deleted: leaving MASTER",
                    self.insts[i].spec.name
                );
                let a = self.insts[i].vr.relinquish(now);
                self.apply(i, now, a);
            }
        }
    }

    /// Timers due at `now`: the global ones, and those of the instances `due` (the loop's
    /// timer heap says which: no scan of every instance per timer).
    pub(crate) fn on_timers(&mut self, now: Instant, shutting_down: bool, due: &[InstId]) {
        for line in self.rxlog.flush(now) {
            log::info!("{line}");
        }
        // Paced gratuitous ARPs/NAs.
        for (_, name, addr) in self.pacers.due(now) {
            if let Some(i) = self.insts.by_name(&name) {
                self.io.send_garp(&self.insts[i], addr);
            }
        }
        for &i in due {
            if self.insts.get(i).is_none() {
                continue;
            }
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

    /// One round of gratuitous ARPs / NAs for instance `name` if its VIPs are set (D-Bus
    /// `SendGarp`). Whether the instance runs.
    pub(crate) fn send_garp_now(&mut self, name: &str, now: Instant) -> bool {
        let Some(i) = self.insts.by_name(name) else {
            return false;
        };
        if self.insts[i].holding && self.insts[i].vr.state() == State::Master {
            log::info!("Sending garps on {name} on DBus request");
            let a = vec![vrrp_proto::Action::SendGarp {
                count: 1,
                kind: vrrp_proto::GarpKind::Refresh,
            }];
            self.apply(i, now, a);
        }
        true
    }

    pub(crate) fn begin_shutdown(&mut self, now: Instant) {
        let handover = self.opts.planned_handover.unwrap_or(true);
        for i in self.insts.ids() {
            let was_master = self.insts[i].vr.state() == State::Master && self.insts[i].holding;
            let mut a = self.insts[i].vr.handle(now, Input::Shutdown);
            if was_master && (handover || self.opts.dont_release_vrrp) {
                a.retain(|x| *x != Action::RemoveVips);
                if !self.opts.dont_release_vrrp {
                    // A backup takes over a Skew_Time after our priority 0 (keepalived's
                    // VRRP_TIMER_SKEW): under 1 s in v2, under the advert interval in v3,
                    // longest for priority 1. Past that (and a margin for the way there and
                    // back) no backup is coming: the VIPs go, as keepalived's go at once.
                    let c = self.insts[i].vr.config();
                    let skew = vrrp_proto::units::skew_time(
                        c.version,
                        vrrp_proto::Priority(1),
                        c.advert_interval,
                    );
                    self.insts[i].handover_until = Some(now + skew + HANDOVER_MARGIN);
                }
            }
            self.apply(i, now, a);
        }
    }
}
