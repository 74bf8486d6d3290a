//! Instances waiting for their interface (keepalived's `dynamic_interfaces`): an instance whose
//! interface does not exist yet (only with `dynamic_interfaces`; without it the start is
//! refused, as keepalived's "Non-existent interface specified in configuration") or has no
//! address to send from is in FAULT — `notify_fault`, the FIFO line and the state metric — and
//! is built and started as soon as the interface exists and has its address. An instance whose
//! interface is deleted goes back here (it is already in FAULT) and is rebuilt on the new
//! interface when it is created again.

use std::sync::Arc;
use std::time::Instant;

use conf_parse::Config;
use tokio::sync::mpsc;
use vrrp_proto::State;

use crate::instance::InstId;
use crate::notify::{self, Job};
use crate::runtime::{Env, Rt};
use crate::{config, Metrics};

/// How often waiting instances re-check their interface (address changes are not link
/// events; link events re-check at once).
pub(crate) const PENDING_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// Why an instance cannot be built yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Wait {
    /// The interface does not exist.
    NoInterface(String),
    /// The interface has no address of the instance's family.
    NoAddress(String),
    /// `dynamic_interfaces allow_if_changes`: another instance uses the same VRID, family and
    /// multicast group on the same base interface (keepalived's VRRP_FLAG_DUPLICATE_VRID_FAULT):
    /// held in FAULT until its interface (this index) is deleted and created again without the
    /// conflict.
    DuplicateVrid { other: String, ifindex: u32 },
}

/// Two configured instances that keepalived's `check_vrrp_conflicts` finds in conflict
/// (multicast, same VRID, family and group, same base interface: a macvlan's or ipvlan's
/// lower device): (the first, the second, the base's name, whether each one's interface is
/// "changeable", i.e. has a link kind).
pub(crate) type Conflict = (String, String, String, bool, bool);

/// The conflicts among `config`'s instances whose interfaces exist (`links`).
pub(crate) fn vrid_conflicts(config: &Config, links: &[netplat::Link]) -> Vec<Conflict> {
    let mut seen: Vec<(config::InstanceSpec, u32, bool)> = Vec::new();
    let mut out = Vec::new();
    for ci in &config.vrrp_instances {
        let Ok(spec) = config::instance_spec(config, ci) else {
            continue;
        };
        if !spec.unicast_peers.is_empty() {
            continue;
        }
        let Some(l) = links.iter().find(|l| l.name == spec.ifname) else {
            continue;
        };
        let vlan = matches!(
            l.kind.as_deref(),
            Some("macvlan" | "macvtap" | "ipvlan" | "ipvtap")
        );
        let base = match l.parent.filter(|_| vlan) {
            Some(p) if links.iter().any(|b| b.index == p) => p,
            _ => l.index,
        };
        let changeable = l.kind.is_some();
        for (o, obase, ochange) in &seen {
            if *obase == base
                && o.vrid == spec.vrid
                && o.family == spec.family
                && o.mcast_group == spec.mcast_group
            {
                let bname = links
                    .iter()
                    .find(|b| b.index == base)
                    .map(|b| b.name.clone())
                    .unwrap_or_default();
                out.push((
                    o.name.clone(),
                    spec.name.clone(),
                    bname,
                    *ochange,
                    changeable,
                ));
            }
        }
        seen.push((spec, base, changeable));
    }
    out
}

/// One waiting instance: its notification queue (kept across FAULT and rebuilds).
pub(crate) struct Pending {
    pub(crate) notify: Option<mpsc::UnboundedSender<Job>>,
    /// Its configured priority (its notifications carry it).
    pub(crate) priority: u8,
    /// Held for a duplicate VRID while its interface keeps this index.
    pub(crate) dup_ifindex: Option<u32>,
}

impl Rt {
    /// Whether `ci` has to wait for its interface or its address (`None`: it can be built, or
    /// fails for another reason that `build_instance` reports).
    pub(crate) fn waits(&mut self, config: &Config, ci: &conf_parse::VrrpInstance) -> Option<Wait> {
        let spec = config::instance_spec(config, ci).ok()?;
        let link = match self.instance_link(&spec) {
            Ok(Some(l)) => l,
            Ok(None) if spec.ifname.is_empty() => {
                return Some(Wait::NoInterface(spec.vrf.unwrap_or_default()))
            }
            Ok(None) => return Some(Wait::NoInterface(spec.ifname)),
            Err(_) => return None,
        };
        if spec.src.is_some() {
            return None;
        }
        match self
            .kernel
            .primary_address(link.index, spec.family, &spec.vips)
        {
            Some(_) => None,
            None => Some(Wait::NoAddress(spec.ifname)),
        }
    }

    /// Whether `ci` cannot be built now but may wait in FAULT: its interface has no address
    /// yet, or (`dynamic_interfaces`) does not exist yet.
    pub(crate) fn can_wait(&mut self, config: &Config, ci: &conf_parse::VrrpInstance) -> bool {
        match self.waits(config, ci) {
            Some(Wait::NoInterface(_)) => config.global.dynamic_interfaces,
            Some(Wait::NoAddress(_)) => true,
            Some(Wait::DuplicateVrid { .. }) => true,
            None => false,
        }
    }

    /// Puts `ci` in FAULT, waiting for its interface (`notify`: its queue when it was running).
    pub(crate) fn park(
        &mut self,
        config: &Config,
        ci: &conf_parse::VrrpInstance,
        why: &Wait,
        env: &mut Env,
        notify: Option<mpsc::UnboundedSender<Job>>,
    ) {
        let Ok(spec) = config::instance_spec(config, ci) else {
            return;
        };
        match why {
            Wait::NoInterface(i) => log::info!(
                "Configuration specifies interface {i} which doesn't currently exist - will use if created"
            ),
            Wait::DuplicateVrid { other, .. } => log::info!(
                "({}) - warning, VRID {} for {} is currently duplicated on {other}",
                spec.name,
                spec.vrid.get(),
                match spec.family {
                    vrrp_proto::Family::V4 => "IPv4",
                    vrrp_proto::Family::V6 => "IPv6",
                }
            ),
            Wait::NoAddress(i) => log::info!(
                "({}) entering FAULT state (no {} address for interface {i})",
                spec.name,
                match spec.family {
                    vrrp_proto::Family::V4 => "IPv4",
                    vrrp_proto::Family::V6 => "IPv6",
                }
            ),
        }
        let prio = spec.priority.get();
        let notify = match notify {
            Some(n) => Some(n),
            None => {
                // Never ran: it enters FAULT now.
                let (tx, h) =
                    notify::spawn_queue(spec.name.clone(), spec.notify.clone(), env.fifos.clone());
                env.notify_handles.push(h);
                log::info!(
                    "VRRP_Instance({}) STOP -> FAULT, priority {prio}",
                    spec.name
                );
                // keepalived notifies no FAULT for an instance held by a configuration fault
                // (a duplicate VRID): vrrp_init_state only for script/interface faults.
                if !matches!(why, Wait::DuplicateVrid { .. }) {
                    let _ = tx.send(Job {
                        state: "FAULT",
                        priority: prio,
                        fifo_only: false,
                    });
                }
                Metrics::bump(&self.metrics.became_fault);
                self.metrics.set_state(&spec.name, State::Fault, prio);
                if let Some(cb) = &self.opts.on_transition {
                    cb(&spec.name, State::Fault);
                }
                self.state_changed = true;
                Some(tx)
            }
        };
        self.pending.insert(
            spec.name,
            Pending {
                notify,
                priority: prio,
                dup_ifindex: match why {
                    Wait::DuplicateVrid { ifindex, .. } => Some(*ifindex),
                    _ => None,
                },
            },
        );
    }

    /// At stop: the waiting instances stop too (keepalived notifies STOP for an instance in
    /// FAULT).
    pub(crate) fn stop_pending(&mut self) {
        for (name, p) in std::mem::take(&mut self.pending) {
            log::info!(
                "VRRP_Instance({name}) FAULT -> STOP, priority {}",
                p.priority
            );
            if let Some(n) = p.notify {
                let _ = n.send(Job {
                    state: "STOP",
                    priority: p.priority,
                    fifo_only: false,
                });
            }
            self.metrics.set_state(&name, State::Initialize, p.priority);
            if let Some(cb) = &self.opts.on_transition {
                cb(&name, State::Initialize);
            }
        }
    }

    /// Builds and starts the waiting instances whose interface is there now.
    pub(crate) fn retry_pending(&mut self, env: &mut Env, now: Instant) {
        if self.pending.is_empty() {
            return;
        }
        let config = Arc::clone(&self.config);
        let names: Vec<String> = self.pending.keys().cloned().collect();
        for name in names {
            let Some(ci) = config.vrrp_instances.iter().find(|c| c.name == name) else {
                self.pending.remove(&name);
                continue;
            };
            if self.waits(&config, ci).is_some() {
                continue;
            }
            if let Some(held) = self.pending.get(&name).and_then(|p| p.dup_ifindex) {
                // Held for a duplicate VRID: only a new interface lifts it, and only if the
                // conflict is gone there (keepalived clears the flag when the interface is
                // deleted and checks again when it comes back).
                let links = self.kernel.links().unwrap_or_default();
                let now_index = links
                    .iter()
                    .find(|l| Some(l.name.as_str()) == ci.interface.as_deref())
                    .map(|l| l.index);
                if now_index == Some(held) {
                    continue;
                }
                let still = vrid_conflicts(&config, &links)
                    .into_iter()
                    .find(|c| (c.0 == name && c.3) || (c.1 == name && c.4 && !c.3));
                if let (Some(c), Some(ix)) = (still, now_index) {
                    let other = if c.0 == name { c.1 } else { c.0 };
                    log::info!(
                        "({name}) - warning, VRID is still duplicated on {other} on interface {}",
                        c.2
                    );
                    if let Some(p) = self.pending.get_mut(&name) {
                        p.dup_ifindex = Some(ix);
                    }
                    continue;
                }
            }
            let waited = self.pending.remove(&name);
            let Some(mut inst) = self.build_instance(&config, ci, env) else {
                continue;
            };
            // Its notifications stay in one queue, in order (FAULT, then BACKUP...).
            if let Some(n) = waited.and_then(|p| p.notify) {
                inst.notify = Some(n);
            }
            log::info!(
                "VRRP_Instance({name}) interface {} is there; starting",
                inst.spec.ifname
            );
            let i = self.insts.insert(inst);
            if let Err(e) = env.watch_sockets(&self.io.socks) {
                log::error!("VRRP_Instance({name}): {e}");
            }
            if self.sync.has_member_named(&name) {
                self.sync.refresh(&mut self.insts);
            }
            self.recompute_tracking(i, now, true);
            self.start(i, now);
        }
    }

    /// After a link poll: the instances whose interface disappeared wait for it again, and the
    /// waiting ones whose interface is there start.
    pub(crate) fn settle_links(&mut self, env: &mut Env, now: Instant) {
        for i in std::mem::take(&mut self.gone) {
            if self.insts.get(i).is_some() {
                self.demote(i, env);
            }
        }
        self.retry_pending(env, now);
    }

    /// Instance `i`'s interface is gone (it is in FAULT already) or lost its address; it waits for the interface
    /// to be created again (a new interface index: new sockets). The other members of its sync
    /// group wait in FAULT with it.
    pub(crate) fn demote(&mut self, i: InstId, env: &mut Env) {
        let config = Arc::clone(&self.config);
        let name = self.insts[i].spec.name.clone();
        let Some(ci) = config.vrrp_instances.iter().find(|c| c.name == name) else {
            return;
        };
        if self.insts[i].vr.state() != State::Fault {
            // Lost its address with the link up: its FAULT (notified) first.
            self.insts[i].link_up = false;
            self.recompute_tracking(i, Instant::now(), false);
        }
        if self.insts[i].holding {
            self.remove_vips(i, false);
        }
        let notify = self.insts[i].notify.take();
        self.pacers.forget(&name);
        self.kernel.drop_vmacs(&mut self.insts[i]);
        let group = self.sync.members_of(i);
        self.insts.remove(i);
        let why = self
            .waits(&config, ci)
            .unwrap_or_else(|| Wait::NoInterface(ci.interface.clone().unwrap_or_default()));
        self.park(&config, ci, &why, env, notify);
        if let Some(group) = group {
            self.sync.refresh(&mut self.insts);
            let now = Instant::now();
            for k in group.into_iter().filter(|&k| k != i) {
                if self.insts.get(k).is_some() {
                    let a = self.insts[k].vr.force_fault();
                    self.apply(k, now, a);
                }
            }
            self.sync
                .notify_changes(&self.insts, |n| self.pending.contains_key(n));
        }
    }
}
