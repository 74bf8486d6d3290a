//! Health state (per checker, per real server, quorum per virtual server) and the pure
//! function from (configuration, health) to the desired IPVS table.
//!
//! keepalived's rules, as implemented here:
//! * a real server is alive when all its checkers are up (no checker = always alive); checkers
//!   start up, or down with `alpha`;
//! * its weight is the configured one, replaced by a `misc_dynamic` weight or shifted by
//!   FILE_CHECK deltas (clamped to 0..=65535 like keepalived's weight range);
//! * an alive real server is in the table with its weight; a dead one is removed, or kept with
//!   weight 0 under `inhibit_on_failure`;
//! * quorum: the sum of alive weights is compared with `quorum ± hysteresis` (gain at
//!   `>= quorum + hysteresis` when down, lose at `< quorum - hysteresis` or sum 0 when up);
//! * without quorum and with a `sorry_server`, the sorry server (weight 1) replaces the real
//!   servers (alive ones are taken out as if failed: removed, or weight 0 when inhibited); with
//!   quorum, the sorry server is absent, or present with weight 0 under `sorry_server_inhibit`.

use std::collections::BTreeMap;

use healthcheck::WeightAdjust;
use ipvs_nl::{Destination, VirtualService};

use crate::model::{DirectorConfig, RealServer, RsId, VirtualServer, VsId};

/// State of one checker as last reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckerHealth {
    /// Up?
    pub up: bool,
    /// Weight adjustment in force.
    pub weight: Option<WeightAdjust>,
}

/// Health of everything the director tracks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// Per real server with checkers, per checker index (a real server without any has no
    /// entry: it is alive with its configured weight).
    pub checkers: BTreeMap<RsId, Vec<CheckerHealth>>,
    /// Quorum state per virtual server (true = quorum held).
    pub quorum: BTreeMap<VsId, bool>,
}

/// A real server's aliveness change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsChange {
    /// Which.
    pub rs: RsId,
    /// Now alive?
    pub alive: bool,
}

/// Maximum IPVS weight keepalived accepts.
const MAX_WEIGHT: i64 = 65_535;

impl Health {
    /// Health for a configuration, everything in its initial state.
    pub fn new(cfg: &DirectorConfig) -> Health {
        let mut h = Health::default();
        h.sync(cfg, None);
        h
    }

    /// Align with a (new) configuration. A real server whose checker at index i has the same
    /// spec in `prev` keeps that checker's state (reload keeps checker state); others start in
    /// their initial state. Quorum states of kept virtual servers are kept.
    pub fn sync(&mut self, cfg: &DirectorConfig, prev: Option<&DirectorConfig>) {
        let mut old_specs = BTreeMap::new();
        if let Some(p) = prev {
            for vs in &p.virtual_servers {
                // A real server without checkers had no entry and none is kept.
                for rs in vs
                    .real_servers
                    .iter()
                    .filter(|rs| !rs.checks.is_empty() || !rs.bfd_checks.is_empty())
                {
                    old_specs.insert(rs.id.clone(), (&rs.checks, &rs.bfd_checks));
                }
            }
        }
        let mut checkers = BTreeMap::new();
        for vs in &cfg.virtual_servers {
            // A real server without checkers is always alive with its configured weight, as
            // with no entry: none is made (37,000 unchecked real servers made every reload
            // and every quorum pass look each of them up by its id).
            for rs in vs
                .real_servers
                .iter()
                .filter(|rs| !rs.checks.is_empty() || !rs.bfd_checks.is_empty())
            {
                let old = self.checkers.get(&rs.id);
                let prev = old_specs.get(&rs.id);
                let prev_specs = prev.map(|p| p.0);
                let mut v: Vec<CheckerHealth> = rs
                    .checks
                    .iter()
                    .enumerate()
                    .map(|(i, spec)| {
                        let same = prev_specs.and_then(|s| s.get(i)) == Some(spec);
                        match (same, old.and_then(|o| o.get(i))) {
                            (true, Some(h)) => *h,
                            _ => CheckerHealth {
                                up: spec.params.initial_up(),
                                weight: None,
                            },
                        }
                    })
                    .collect();
                // BFD_CHECKs after the polled checkers: a kept one (same name and alpha at the
                // same position) keeps its state; a new one starts up, or down with alpha.
                let prev_len = prev_specs.map_or(0, |s| s.len());
                v.extend(rs.bfd_checks.iter().enumerate().map(|(j, b)| {
                    let same = prev.and_then(|p| p.1.get(j)) == Some(b);
                    match (same, old.and_then(|o| o.get(prev_len + j))) {
                        (true, Some(h)) => *h,
                        _ => CheckerHealth {
                            up: !b.alpha,
                            weight: None,
                        },
                    }
                }));
                checkers.insert(rs.id.clone(), v);
            }
        }
        self.checkers = checkers;
        let mut quorum = BTreeMap::new();
        for vs in &cfg.virtual_servers {
            let q = match self.quorum.get(&vs.id) {
                Some(q) => *q,
                None => self.weight_sum(vs) >= i64::from(vs.quorum),
            };
            quorum.insert(vs.id.clone(), q);
        }
        self.quorum = quorum;
    }

    /// Record a checker report. Returns the real server's aliveness change, if any.
    pub fn set_checker(
        &mut self,
        rs: &RsId,
        index: usize,
        up: bool,
        weight: Option<WeightAdjust>,
    ) -> Option<RsChange> {
        let v = self.checkers.get_mut(rs)?;
        let before = v.iter().all(|c| c.up);
        let c = v.get_mut(index)?;
        c.up = up;
        c.weight = if up { weight } else { None };
        let after = v.iter().all(|c| c.up);
        (before != after).then(|| RsChange {
            rs: rs.clone(),
            alive: after,
        })
    }

    /// Is this real server alive?
    pub fn alive(&self, rs: &RealServer) -> bool {
        self.checkers
            .get(&rs.id)
            .is_none_or(|v| v.iter().all(|c| c.up))
    }

    /// Effective weight when alive.
    pub fn weight(&self, rs: &RealServer) -> u32 {
        let mut w = i64::from(rs.dest.weight);
        if let Some(v) = self.checkers.get(&rs.id) {
            for c in v {
                match c.weight {
                    Some(WeightAdjust::Set(n)) => w = i64::from(n),
                    Some(WeightAdjust::Delta(d)) => w = w.saturating_add(d),
                    None => {}
                }
            }
        }
        u32::try_from(w.clamp(0, MAX_WEIGHT)).unwrap_or(0)
    }

    /// Sum of the live real servers' weights (keepalived's `weigh_live_realservers`).
    pub fn weight_sum(&self, vs: &VirtualServer) -> i64 {
        vs.real_servers
            .iter()
            .filter(|rs| self.alive(rs))
            .map(|rs| i64::from(self.weight(rs)))
            .sum()
    }

    /// Re-evaluate quorum with hysteresis; returns the virtual servers whose state changed.
    pub fn update_quorum(&mut self, cfg: &DirectorConfig) -> Vec<(VsId, bool)> {
        let mut changes = Vec::new();
        for vs in &cfg.virtual_servers {
            let sum = self.weight_sum(vs);
            let up = self.quorum.get(&vs.id).copied().unwrap_or(true);
            let q = i64::from(vs.quorum);
            let h = i64::from(vs.hysteresis);
            let new = if up {
                !(sum == 0 || sum < q - h)
            } else {
                sum >= q + h
            };
            if new != up {
                self.quorum.insert(vs.id.clone(), new);
                changes.push((vs.id.clone(), new));
            }
        }
        changes
    }

    /// Quorum state of a virtual server.
    pub fn quorum_up(&self, vs: &VsId) -> bool {
        self.quorum.get(vs).copied().unwrap_or(true)
    }
}

/// The destinations one virtual server should have now.
pub fn destinations(vs: &VirtualServer, health: &Health) -> Vec<Destination> {
    let quorum = health.quorum_up(&vs.id);
    let use_sorry = !quorum && vs.sorry.is_some();
    let mut out = Vec::new();
    for rs in &vs.real_servers {
        let alive = health.alive(rs) && !use_sorry;
        if alive {
            let mut d = rs.dest.clone();
            d.weight = health.weight(rs);
            out.push(d);
        } else if rs.inhibit {
            let mut d = rs.dest.clone();
            d.weight = 0;
            out.push(d);
        }
    }
    if let Some(s) = &vs.sorry {
        if use_sorry {
            out.push(s.clone());
        } else if vs.sorry_inhibit {
            let mut d = s.clone();
            d.weight = 0;
            out.push(d);
        }
    }
    // A sorry server equal to a real server: the later entry wins (as in `plan`); keep order.
    out
}

/// The whole desired IPVS table for `cfg` given `health`.
pub fn desired(cfg: &DirectorConfig, health: &Health) -> Vec<VirtualService> {
    let mut out = Vec::new();
    for vs in &cfg.virtual_servers {
        let dests = destinations(vs, health);
        for s in &vs.services {
            // IPVS keeps the service's port for DR/TUN destinations (0 for fwmark services).
            let port = match s.key {
                ipvs_nl::ServiceKey::Addr { port, .. } => port,
                ipvs_nl::ServiceKey::Fwmark { .. } => 0,
            };
            let d: Vec<Destination> = dests
                .iter()
                .map(|d| {
                    let mut d = d.clone();
                    if !matches!(d.forward, ipvs_nl::Forward::Masq) {
                        d.port = port;
                    }
                    d
                })
                .collect();
            out.push(VirtualService::new(s.clone(), d));
        }
    }
    out
}
