//! Applying a new configuration as a diff ([`crate::plan`]): unchanged instances are not
//! touched, changed ones are updated in place, rebound ones restarted, removed ones retired.

use std::collections::BTreeMap;
use std::time::Instant;

use conf_parse::{Config, IpAddress};
use vrrp_proto::{Input, State};

use crate::config::{self, InstanceSpec};
use crate::instance::InstId;
use crate::located::Located;
use crate::notify;
use crate::plan::{self, Change, Desired};
use crate::runtime::{Env, Rt};
use crate::scripts::insecure_scripts;
use crate::state_name;

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
    /// Instances of the new configuration waiting in FAULT for their interface or its address
    /// (started when it is there).
    pub waiting: Vec<String>,
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

impl Rt {
    /// An instance leaves (removed or restarted by a reload): a master sends priority 0, the
    /// VIPs are removed, the STOP notification is queued and the queue closed.
    pub(crate) fn retire(&mut self, i: InstId, now: Instant) {
        let a = self.insts[i].vr.handle(now, Input::Shutdown);
        self.apply(i, now, a);
        if self.insts[i].holding {
            self.remove_vips(i, false);
        }
        self.insts[i].notify = None;
        self.pacers.forget(&self.insts[i].spec.name);
        self.kernel.drop_vmacs(&mut self.insts[i]);
        self.metrics.forget(&self.insts[i].spec.name);
    }

    /// Applies a new configuration as a diff (see [`ReloadReport`]). Unchanged instances are
    /// not touched at all; changed ones keep their state through
    /// [`VirtualRouter::reconfigure`] unless what they are bound to changed.
    pub(crate) fn reload(
        &mut self,
        old: &Desired,
        new: &Config,
        new_plan: &Desired,
        env: &mut Env,
        now: Instant,
    ) -> Result<ReloadReport, String> {
        let mut report = ReloadReport::default();
        let diff = plan::diff(old, new_plan);

        // Plan per running instance, without touching anything yet.
        enum Plan {
            Keep,
            Update(Box<InstanceSpec>),
            Rebuild,
        }
        let mut plans: BTreeMap<String, Plan> = BTreeMap::new();
        let mut removed = Vec::new();
        for (i, inst) in self.insts.iter_ids() {
            let name = inst.spec.name.clone();
            let plan = match diff.change(&name) {
                None | Some(Change::Remove) => {
                    removed.push(i);
                    continue;
                }
                Some(Change::Keep) => Plan::Keep,
                Some(Change::Update) => match new_plan.get(&name).map(|w| &w.spec) {
                    Some(Ok(spec)) => Plan::Update(Box::new(spec.clone())),
                    _ => Plan::Rebuild,
                },
                Some(Change::Restart | Change::Add) => Plan::Rebuild,
            };
            plans.insert(name, plan);
        }
        // Everything that must be (re)built has to be able to run, or nothing is applied.
        let mut problems = Vec::new();
        for ci in &new.vrrp_instances {
            if matches!(plans.get(&ci.name), None | Some(Plan::Rebuild)) {
                // It will wait in FAULT for its interface or address.
                if self.can_wait(new, ci) {
                    continue;
                }
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
        self.kernel.lease = self
            .opts
            .vip_lease
            .unwrap_or_else(|| config::lease_from_config(new));
        // Renewals and adverts are rebuilt from the new configuration.
        for inst in self.insts.iter_mut() {
            inst.lease_msgs = None;
            inst.advert_cache.clear();
        }
        // keepalived closes the notify FIFOs (their reader scripts terminated) and opens them
        // again at each reload; the queues share them, so they write to the new ones.
        env.fifos.reopen(&config::notify_fifos(new));
        // The leaving ones go first (their VIPs may be taken by a restarted or new instance).
        for i in removed {
            log::info!(
                "VRRP_Instance({}) removed by reload",
                self.insts[i].spec.name
            );
            // keepalived clear_diff_vrrp: a removed instance notifies DELETED with
            // `notify_deleted`, else FAULT (its old way), and nothing if it was in FAULT
            // without it; not STOP.
            let notify = self.insts[i].notify.take();
            let was_fault = self.insts[i].vr.state() == State::Fault;
            let prio = self.insts[i].vr.priority().get();
            self.retire(i, now);
            let deleted = self.insts[i].spec.notify.notify_deleted;
            if let Some(n) = notify.filter(|_| deleted || !was_fault) {
                let _ = n.send(crate::notify::Job {
                    state: if deleted { "DELETED" } else { "FAULT" },
                    priority: prio,
                    fifo_only: false,
                });
            }
            if let Some(gone) = self.insts.remove(i) {
                report.removed.push(gone.spec.name);
            }
        }
        for (name, plan) in &plans {
            if let (Plan::Rebuild, Some(i)) = (plan, self.insts.by_name(name)) {
                log::info!("VRRP_Instance({name}) rebound by reload; restarting it");
                self.retire(i, now);
                self.insts.remove(i);
            }
        }

        let mut fresh = Vec::new();
        let mut updated = Vec::new();
        for ci in &new.vrrp_instances {
            let running = self.insts.by_name(&ci.name);
            match (plans.remove(&ci.name), running) {
                (Some(Plan::Keep), Some(_)) => report.kept.push(ci.name.clone()),
                (Some(Plan::Update(spec)), Some(i)) => {
                    let inst = &mut self.insts[i];
                    let old_routes = inst.spec.routes.clone();
                    let old_rules = inst.spec.rules.clone();
                    let old_vips: Vec<IpAddress> = inst
                        .spec
                        .vips
                        .iter()
                        .chain(&inst.spec.excluded)
                        .cloned()
                        .collect();
                    if inst.spec.notify != spec.notify {
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
                    updated.push((i, old_vips, old_routes, old_rules));
                    report.updated.push(ci.name.clone());
                }
                (plan, _) => {
                    let rebuilt = matches!(plan, Some(Plan::Rebuild));
                    let waited = self.pending.remove(&ci.name).and_then(|p| p.notify);
                    if let Some(w) = self.waits(new, ci) {
                        if self.can_wait(new, ci) {
                            self.park(new, ci, &w, env, waited);
                            report.waiting.push(ci.name.clone());
                            continue;
                        }
                    }
                    match self.build_instance(new, ci, env) {
                        Some(mut inst) => {
                            if let Some(n) = waited {
                                inst.notify = Some(n);
                            }
                            if rebuilt {
                                report.restarted.push(ci.name.clone());
                            } else {
                                log::info!("VRRP_Instance({}) added by reload", ci.name);
                                report.added.push(ci.name.clone());
                            }
                            fresh.push(self.insts.insert(inst));
                        }
                        None => report.skipped.push(ci.name.clone()),
                    }
                }
            }
        }
        self.sync_scripts(new, env);
        self.sync.setup(
            &mut self.insts,
            new,
            &env.fifos,
            &mut env.notify_handles,
            |n| self.pending.contains_key(n),
        );

        // Updated instances: new settings into the state machine, VIPs adjusted if held.
        for (i, old_vips, old_routes, old_rules) in updated {
            let cfg = self.insts[i].spec.router_config(self.insts[i].primary);
            if self.insts[i].holding {
                let now_vips = self.insts[i].all_vips();
                let gone: Vec<IpAddress> = old_vips
                    .into_iter()
                    .filter(|v| {
                        !now_vips
                            .iter()
                            .any(|n| n.addr == v.addr && n.prefix_len == v.prefix_len)
                    })
                    .collect();
                self.kernel.del_vips(&mut self.insts[i], &gone, false);
                let new_routes = self.insts[i].spec.routes.clone();
                let gone_routes: Vec<crate::routes::VirtualRoute> = old_routes
                    .into_iter()
                    .filter(|r| {
                        !new_routes
                            .iter()
                            .any(|n| n.spec == r.spec && n.dev == r.dev)
                    })
                    .collect();
                self.kernel
                    .remove_routes(&mut self.insts[i], &gone_routes, false);
                let new_rules = &self.insts[i].spec.rules;
                let gone_rules: Vec<(netplat::RuleSpec, Located)> = old_rules
                    .into_iter()
                    .filter(|r| !new_rules.iter().any(|n| n.0 == r.0))
                    .collect();
                self.kernel.remove_rules(&gone_rules, false);
                self.add_vips(i);
                self.publish_held();
            }
            let a = self.insts[i].vr.reconfigure(now, cfg);
            self.apply(i, now, a);
            self.recompute_tracking(i, now, false);
            let inst = &self.insts[i];
            self.metrics
                .set_state(&inst.spec.name, inst.vr.state(), inst.vr.priority().get());
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
            self.start(i, now);
        }
        log::info!(
            "Reload applied: kept {:?}, updated {:?}, restarted {:?}, added {:?}, removed {:?}, waiting for their interface {:?}",
            report.kept,
            report.updated,
            report.restarted,
            report.added,
            report.removed,
            report.waiting
        );
        Ok(report)
    }

    /// The notify FIFO lines keepalived 2.2.7 writes at a reload for the instances that went
    /// through it: with `notify_priority_changes`, `BACKUP_PRIORITY prio` for each whose
    /// effective priority is not its base one (2.2.7 sets it again from the tracking, in no
    /// state yet: `vrrp_complete_init`), then with `fifo_write_vrrp_states_on_reload`
    /// (`vrrp_init_state`) each sync group's state and each such instance's state, an
    /// instance staying MASTER writing nothing.
    pub(crate) fn fifo_lines_on_reload(&self, report: &ReloadReport, write_states: bool) {
        let went_through = |inst: &crate::instance::Instance| {
            report.kept.contains(&inst.spec.name) || report.updated.contains(&inst.spec.name)
        };
        let send = |inst: &crate::instance::Instance, state: &'static str| {
            if let Some(n) = &inst.notify {
                let _ = n.send(crate::notify::Job {
                    state,
                    priority: inst.vr.priority().get(),
                    fifo_only: true,
                });
            }
        };
        for i in self.insts.ids() {
            let inst = &self.insts[i];
            if went_through(inst)
                && inst.spec.notify_priority_changes
                && inst.vr.priority() != inst.spec.priority
            {
                send(inst, crate::notify::BACKUP_PRIORITY);
            }
        }
        if !write_states {
            return;
        }
        self.sync.fifo_states();
        for i in self.insts.ids() {
            let inst = &self.insts[i];
            if went_through(inst) && inst.vr.state() != State::Master {
                send(inst, state_name(inst.vr.state()));
            }
        }
    }
}
