//! A VRRP sync group: member routers that change state together.

use super::*;

/// A keepalived `vrrp_sync_group`: members move together. A member whose Master_Down_Timer
/// fires only becomes master when every member wants to; one member going Backup takes the
/// others to Backup; one member's fault faults the group.
#[derive(Debug, Clone)]
pub struct SyncGroup {
    members: Vec<VirtualRouter>,
}

impl SyncGroup {
    /// Build from member routers.
    pub fn new(mut members: Vec<VirtualRouter>) -> Self {
        for m in &mut members {
            m.set_in_sync_group(true);
        }
        SyncGroup { members }
    }
    /// Members.
    pub fn members(&self) -> &[VirtualRouter] {
        &self.members
    }
    /// Earliest deadline of all members.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.members.iter().filter_map(|m| m.next_deadline()).min()
    }
    /// The group state (all members agree outside transients).
    pub fn states(&self) -> Vec<State> {
        self.members.iter().map(|m| m.state()).collect()
    }

    /// Feed `input` to member `idx` (Timer goes to every member); returns (member, action)
    /// pairs in order. Out-of-range `idx` is ignored.
    pub fn handle(&mut self, now: Instant, idx: usize, input: Input) -> Vec<(usize, Action)> {
        let mut out = Vec::new();
        let before: Vec<State> = self.states();
        if input == Input::Timer {
            for (i, m) in self.members.iter_mut().enumerate() {
                if m.next_deadline().is_some_and(|d| d <= now) {
                    out.extend(m.handle(now, Input::Timer).into_iter().map(|a| (i, a)));
                }
            }
        } else if let Some(m) = self.members.get_mut(idx) {
            out.extend(m.handle(now, input).into_iter().map(|a| (idx, a)));
        } else {
            return out;
        }
        self.reconcile(now, &before, &mut out);
        out
    }

    fn reconcile(&mut self, now: Instant, before: &[State], out: &mut Vec<(usize, Action)>) {
        // Fault: any member with its own fault faults all; when none has, release.
        let any_fault = self.members.iter().any(|m| m.is_fault());
        if any_fault {
            for (i, m) in self.members.iter_mut().enumerate() {
                out.extend(m.force_fault().into_iter().map(|a| (i, a)));
            }
            return;
        }
        if self.members.iter().any(|m| m.state() == State::Fault) {
            for (i, m) in self.members.iter_mut().enumerate() {
                out.extend(m.release_fault(now).into_iter().map(|a| (i, a)));
            }
        }
        // A member left Master for Backup: everyone goes Backup.
        let dropped = self
            .members
            .iter()
            .zip(before)
            .any(|(m, b)| *b == State::Master && m.state() == State::Backup);
        if dropped {
            for (i, m) in self.members.iter_mut().enumerate() {
                out.extend(m.force_backup(now).into_iter().map(|a| (i, a)));
            }
            return;
        }
        // Everyone wants (or is) Master: move together.
        let all_want = self
            .members
            .iter()
            .all(|m| m.wants_master() || m.state() == State::Master);
        if all_want && self.members.iter().any(|m| m.wants_master()) {
            for (i, m) in self.members.iter_mut().enumerate() {
                out.extend(m.force_master(now).into_iter().map(|a| (i, a)));
            }
        }
    }
}
