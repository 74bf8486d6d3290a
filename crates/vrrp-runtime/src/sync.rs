//! `vrrp_sync_group`s: members move together, and the group's own notifications.

use std::collections::BTreeMap;
use std::time::Instant;

use conf_parse::Config;
use tokio::sync::mpsc;
use vrrp_proto::State;

use crate::config::{self};
use crate::instance::InstId;
use crate::notify::{self, Job};
use crate::runtime::{Env, Rt};
use crate::state_name;

/// A running vrrp_sync_group (keyed by name in [`Rt::groups`]): its members and the group
/// state last notified.
pub(crate) struct GroupRt {
    /// The running members.
    pub(crate) members: Vec<InstId>,
    /// Every member (running or waiting for its interface in FAULT), by name.
    pub(crate) names: Vec<String>,
    pub(crate) state: Option<State>,
    pub(crate) notify: Option<mpsc::UnboundedSender<Job>>,
}

impl Rt {
    /// Sync groups: two or more running members move together.
    pub(crate) fn setup_sync_groups(&mut self, config: &Config, env: &mut Env) {
        for inst in self.insts.iter_mut() {
            inst.group = None;
            inst.vr.set_in_sync_group(false);
        }
        let old: BTreeMap<String, Option<State>> = std::mem::take(&mut self.groups)
            .into_iter()
            .map(|(name, g)| (name, g.state))
            .collect();
        for sg in &config.sync_groups {
            // Members waiting for their interface (dynamic_interfaces) count: the group waits
            // in FAULT with them (keepalived).
            let names: Vec<String> = sg
                .group
                .iter()
                .filter(|n| self.insts.by_name(n).is_some() || self.pending.contains_key(*n))
                .cloned()
                .collect();
            if names.len() < 2 {
                log::warn!(
                    "{}:{}: vrrp_sync_group {} has fewer than two running instances; ignored",
                    sg.loc.0.file,
                    sg.loc.0.line,
                    sg.name
                );
                continue;
            }
            let (tx, h) = notify::spawn_queue_of(
                notify::Kind::Group,
                sg.name.clone(),
                config::group_notify(config, sg),
                env.fifos.clone(),
            );
            env.notify_handles.push(h);
            self.groups.insert(
                sg.name.clone(),
                GroupRt {
                    members: Vec::new(),
                    names,
                    state: old.get(&sg.name).copied().flatten(),
                    notify: Some(tx),
                },
            );
        }
        self.refresh_groups();
    }

    /// Re-reads which members of each group are running (after one was parked waiting for its
    /// interface, or started once it was there).
    pub(crate) fn refresh_groups(&mut self) {
        for inst in self.insts.iter_mut() {
            inst.group = None;
            inst.vr.set_in_sync_group(false);
        }
        for g in self.groups.values_mut() {
            let idx: Vec<InstId> = g
                .names
                .iter()
                .filter_map(|n| self.insts.by_name(n))
                .collect();
            for &k in &idx {
                self.insts[k].vr.set_in_sync_group(true);
                self.insts[k].group = Some(idx.clone());
            }
            g.members = idx;
        }
    }

    /// Whether instance `k`'s sync group has a member waiting for its interface.
    pub(crate) fn group_waits(&self, k: InstId) -> bool {
        self.groups
            .values()
            .any(|g| g.members.contains(&k) && g.names.iter().any(|n| self.pending.contains_key(n)))
    }

    /// Notifies each sync group whose state changed: FAULT as soon as a member is FAULT, MASTER /
    /// BACKUP / STOP once every member is (keepalived's group notifications).
    pub(crate) fn check_groups(&mut self) {
        for (name, grp) in &mut self.groups {
            let states: Vec<State> = grp
                .members
                .iter()
                .filter_map(|&k| self.insts.get(k).map(|i| i.vr.state()))
                .collect();
            let all = |s: State| !states.is_empty() && states.iter().all(|x| *x == s);
            let now = if states.contains(&State::Fault)
                || grp.names.iter().any(|n| self.pending.contains_key(n))
            {
                Some(State::Fault)
            } else if all(State::Master) {
                Some(State::Master)
            } else if all(State::Backup) {
                Some(State::Backup)
            } else if all(State::Initialize) {
                Some(State::Initialize)
            } else {
                None
            };
            if let Some(st) = now.filter(|s| grp.state != Some(*s)) {
                grp.state = now;
                let st = state_name(st);
                log::info!("VRRP_Group({name}) {st}");
                if let Some(n) = &grp.notify {
                    let _ = n.send(Job {
                        state: st,
                        priority: 0,
                    });
                }
            }
        }
    }

    pub(crate) fn reconcile_group(
        &mut self,
        g: &[InstId],
        now: Instant,
        before: &[(InstId, State)],
    ) {
        let waits = g.first().is_some_and(|&k| self.group_waits(k));
        if waits || g.iter().any(|&k| self.insts[k].vr.is_fault()) {
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
}
