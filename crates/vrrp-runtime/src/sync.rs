//! `vrrp_sync_group`s: which instances move together, the rules by which they move (a fault
//! faults all, a master dropping to backup takes all to backup, all wanting master go master
//! together) and the group's own notifications. [`SyncGroups`] owns all of it; the runtime only
//! asks it, after an instance's input, what to force on the members ([`Reconcile`]) and tells it
//! when a state changed ([`SyncGroups::notify_changes`]).
//!
//! A member waiting for its interface (`dynamic_interfaces`, not running) still belongs to its
//! group: the group and its running members wait in FAULT until it runs again (keepalived). The
//! runtime tells which names wait (`waiting`); [`SyncGroups::refresh`] re-reads which members run
//! after one was parked or started.

use std::collections::BTreeMap;
use std::time::Instant;

use conf_parse::Config;
use tokio::sync::mpsc;
use vrrp_proto::{Actions, State, VirtualRouter};

use crate::config::{self};
use crate::instance::{InstId, Insts};
use crate::notify::{self, Fifos, Job};
use crate::state_name;

/// A running vrrp_sync_group: its members and the group state last notified.
struct Group {
    /// The running members.
    members: Vec<InstId>,
    /// Every member (running or waiting for its interface in FAULT), by name.
    names: Vec<String>,
    state: Option<State>,
    notify: Option<mpsc::UnboundedSender<Job>>,
}

/// The running sync groups, keyed by name, and the group of each member instance.
#[derive(Default)]
pub(crate) struct SyncGroups {
    groups: BTreeMap<String, Group>,
    of: BTreeMap<InstId, String>,
    /// Called with a group's name and state at each group notification
    /// ([`crate::RuntimeOptions::on_group_transition`]).
    pub(crate) on_change: Option<crate::TransitionCallback>,
}

impl SyncGroups {
    /// No group yet; `on_change` called at each group notification.
    pub(crate) fn with_callback(on_change: Option<crate::TransitionCallback>) -> Self {
        SyncGroups {
            on_change,
            ..SyncGroups::default()
        }
    }

    /// (Re)builds the groups of `config` over the running instances and those `waiting` for
    /// their interface (at start and after each reload): two or more such members move
    /// together; a group keeps the state it last notified across reloads.
    pub(crate) fn setup(
        &mut self,
        insts: &mut Insts,
        config: &Config,
        fifos: &Fifos,
        notify_handles: &mut Vec<tokio::task::JoinHandle<()>>,
        waiting: impl Fn(&str) -> bool,
    ) {
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
                .filter(|n| insts.by_name(n).is_some() || waiting(n))
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
                fifos.clone(),
            );
            notify_handles.push(h);
            self.groups.insert(
                sg.name.clone(),
                Group {
                    members: Vec::new(),
                    names,
                    state: old.get(&sg.name).copied().flatten(),
                    notify: Some(tx),
                },
            );
        }
        self.refresh(insts);
    }

    /// Re-reads which members of each group are running (after one was parked waiting for its
    /// interface, or started once it was there).
    pub(crate) fn refresh(&mut self, insts: &mut Insts) {
        for inst in insts.iter_mut() {
            inst.vr.set_in_sync_group(false);
        }
        self.of.clear();
        for (name, g) in &mut self.groups {
            let members: Vec<InstId> = g.names.iter().filter_map(|n| insts.by_name(n)).collect();
            for &k in &members {
                insts[k].vr.set_in_sync_group(true);
                self.of.insert(k, name.clone());
            }
            g.members = members;
        }
    }

    /// Is the instance named `name` a member of a group (running or waiting)?
    pub(crate) fn has_member_named(&self, name: &str) -> bool {
        self.groups
            .values()
            .any(|g| g.names.iter().any(|n| n == name))
    }

    /// Whether instance `i`'s group has a member `waiting` for its interface.
    pub(crate) fn waits(&self, i: InstId, waiting: impl Fn(&str) -> bool) -> bool {
        self.of
            .get(&i)
            .and_then(|name| self.groups.get(name))
            .is_some_and(|g| g.names.iter().any(|n| waiting(n)))
    }

    /// Is instance `i` in a running sync group?
    pub(crate) fn contains(&self, i: InstId) -> bool {
        self.of.contains_key(&i)
    }

    /// The members of instance `i`'s group (itself included), if it is in one.
    pub(crate) fn members_of(&self, i: InstId) -> Option<Vec<InstId>> {
        let name = self.of.get(&i)?;
        self.groups.get(name).map(|g| g.members.clone())
    }

    /// Notifies each sync group whose state changed: FAULT as soon as a member is FAULT or one
    /// is `waiting` for its interface, MASTER / BACKUP / STOP once every member is (keepalived's
    /// group notifications).
    pub(crate) fn notify_changes(&mut self, insts: &Insts, waiting: impl Fn(&str) -> bool) {
        for (name, grp) in &mut self.groups {
            let states: Vec<State> = grp
                .members
                .iter()
                .filter_map(|&k| insts.get(k).map(|i| i.vr.state()))
                .collect();
            let all = |s: State| !states.is_empty() && states.iter().all(|x| *x == s);
            let now = if states.contains(&State::Fault) || grp.names.iter().any(|n| waiting(n)) {
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
                if let Some(cb) = &self.on_change {
                    cb(name, st);
                }
                let st = state_name(st);
                log::info!("VRRP_Group({name}) {st}");
                if let Some(n) = &grp.notify {
                    let _ = n.send(Job {
                        state: st,
                        priority: 0,
                        fifo_only: false,
                    });
                }
            }
        }
    }

    /// `fifo_write_vrrp_states_on_reload`: each group's state, again, to the FIFOs only.
    pub(crate) fn fifo_states(&self) {
        for g in self.groups.values() {
            if let (Some(st), Some(n)) = (g.state, &g.notify) {
                let _ = n.send(Job {
                    state: state_name(st),
                    priority: 0,
                    fifo_only: true,
                });
            }
        }
    }

    /// Stops the groups' notification queues (shutdown: the queues drain and end).
    pub(crate) fn close_notifications(&mut self) {
        for g in self.groups.values_mut() {
            g.notify = None;
        }
    }
}

/// What a group forces on all its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Force {
    /// A member is in fault: all go to FAULT.
    Fault,
    /// No member is in fault any more: all leave FAULT.
    ReleaseFault,
    /// A master dropped to backup: all go to BACKUP.
    Backup,
    /// All want master: all go MASTER together.
    Master,
}

impl Force {
    /// The member's state machine forced; the actions to carry out.
    pub(crate) fn on(self, vr: &mut VirtualRouter, now: Instant) -> Actions {
        match self {
            Force::Fault => vr.force_fault(),
            Force::ReleaseFault => vr.release_fault(now),
            Force::Backup => vr.force_backup(now),
            Force::Master => vr.force_master(now),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Start,
    Released,
    Done,
}

/// Moving a group together after one member's input (the rules of vrrp-proto's `SyncGroup`).
/// Each [`Reconcile::next`] looks at the members' states as they are now; the caller forces
/// the answer on every member, in order, before asking again.
pub(crate) struct Reconcile {
    members: Vec<InstId>,
    /// A member waits for its interface: the group stays in FAULT.
    waits: bool,
    before: Vec<(InstId, State)>,
    stage: Stage,
}

impl Reconcile {
    /// Before feeding an input to a member of `members`: their states now; `waits`: a member of
    /// the group waits for its interface ([`SyncGroups::waits`]).
    pub(crate) fn before(members: Vec<InstId>, insts: &Insts, waits: bool) -> Reconcile {
        let before = members
            .iter()
            .filter_map(|&k| insts.get(k).map(|i| (k, i.vr.state())))
            .collect();
        Reconcile {
            members,
            waits,
            before,
            stage: Stage::Start,
        }
    }

    /// The members, in the order forces are applied.
    pub(crate) fn members(&self) -> &[InstId] {
        &self.members
    }

    /// What to force on all members next; `None`: the group is settled.
    pub(crate) fn next(&mut self, insts: &Insts) -> Option<Force> {
        let vrs: Vec<&VirtualRouter> = self
            .members
            .iter()
            .filter_map(|&k| insts.get(k).map(|i| &i.vr))
            .collect();
        if self.stage == Stage::Start {
            if self.waits || vrs.iter().any(|vr| vr.is_fault()) {
                self.stage = Stage::Done;
                return Some(Force::Fault);
            }
            self.stage = Stage::Released;
            if vrs.iter().any(|vr| vr.state() == State::Fault) {
                return Some(Force::ReleaseFault);
            }
        }
        if self.stage != Stage::Released {
            return None;
        }
        self.stage = Stage::Done;
        let dropped = self.before.iter().any(|&(k, b)| {
            b == State::Master && insts.get(k).is_some_and(|i| i.vr.state() == State::Backup)
        });
        if dropped {
            return Some(Force::Backup);
        }
        let all_want = vrs
            .iter()
            .all(|vr| vr.wants_master() || vr.state() == State::Master);
        if all_want && vrs.iter().any(|vr| vr.wants_master()) {
            return Some(Force::Master);
        }
        None
    }
}
