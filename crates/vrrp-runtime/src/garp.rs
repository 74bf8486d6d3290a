//! Gratuitous ARP / unsolicited NA pacing per interface, as keepalived does it.
//!
//! keepalived keeps one delay record per (base) interface: the minimum time between two
//! gratuitous ARPs (`garp_interval`) and between two unsolicited neighbour adverts
//! (`gna_interval`) sent on it, whatever instance they belong to. The record comes from the
//! `garp_group` naming the interface, else from the global `vrrp_garp_interval` /
//! `vrrp_gna_interval`. With no interval for a family, its packets go out at once. With one,
//! a packet goes out at once only if the interface's last one is at least the interval old;
//! otherwise its address is queued (an address already queued just has its repeat count raised,
//! up to the burst size) and the queue is served one packet per interval, round robin (an
//! address with repeats left goes back to the tail). Leaving master drops the instance's queued
//! packets (keepalived's `vrrp_remove_delayed_arp`).
//!
//! This module is pure bookkeeping (time is an input); the runtime sends what it returns.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use conf_parse::Config;

/// Minimum spacing per family on one interface (`None`: no pacing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Pacing {
    pub v4: Option<Duration>,
    pub v6: Option<Duration>,
}

#[derive(Debug)]
struct Queued {
    inst: String,
    addr: IpAddr,
    /// Packets still to send for this address.
    left: u32,
}

#[derive(Debug, Default)]
struct Lane {
    /// Earliest time the next packet of this family may leave the interface.
    next: Option<Instant>,
    queue: VecDeque<Queued>,
}

#[derive(Debug, Default)]
struct Pacer {
    pacing: Pacing,
    /// [IPv4 (ARP), IPv6 (NA)].
    lanes: [Lane; 2],
}

/// The pacing state of every interface the instances send gratuitous ARPs/NAs on.
#[derive(Debug, Default)]
pub(crate) struct Pacers {
    default: Pacing,
    groups: BTreeMap<String, Pacing>,
    by_if: BTreeMap<String, Pacer>,
}

fn nonzero(d: Duration) -> Option<Duration> {
    Some(d).filter(|d| !d.is_zero())
}

fn lane_of(addr: &IpAddr) -> usize {
    usize::from(addr.is_ipv6())
}

impl Pacers {
    /// Pacing from `global_defs` and the `garp_group` blocks. The first group naming an
    /// interface wins (keepalived: "garp_group already specified for IF - ignoring").
    pub(crate) fn from_config(cfg: &Config) -> Pacers {
        let g = &cfg.global;
        let mut groups = BTreeMap::new();
        for gg in &cfg.garp_groups {
            let p = Pacing {
                v4: gg.garp_interval.and_then(nonzero),
                v6: gg.gna_interval.and_then(nonzero),
            };
            for i in &gg.interfaces {
                groups.entry(i.name.clone()).or_insert(p);
            }
        }
        Pacers {
            default: Pacing {
                v4: nonzero(g.vrrp_garp_interval),
                v6: nonzero(g.vrrp_gna_interval),
            },
            groups,
            by_if: BTreeMap::new(),
        }
    }

    /// New settings (reload): pacing is replaced, queued packets and send times are kept.
    pub(crate) fn reconfigure(&mut self, new: Pacers) {
        let mut by_if = std::mem::take(&mut self.by_if);
        *self = new;
        for (ifname, p) in by_if.iter_mut() {
            p.pacing = self.pacing_of(ifname);
            if p.pacing.v4.is_none() {
                p.lanes[0].next = None;
            }
            if p.pacing.v6.is_none() {
                p.lanes[1].next = None;
            }
        }
        self.by_if = by_if;
    }

    /// The pacing that applies to `ifname`.
    pub(crate) fn pacing_of(&self, ifname: &str) -> Pacing {
        self.groups.get(ifname).copied().unwrap_or(self.default)
    }

    /// `rep` gratuitous ARPs/NAs for each of `addrs` (instance `inst`, sent on `ifname`), in
    /// keepalived's order (all addresses once, `rep` times). Returns the packets to send now, in
    /// order; the rest is queued for [`Pacers::due`].
    pub(crate) fn request(
        &mut self,
        ifname: &str,
        inst: &str,
        addrs: &[IpAddr],
        rep: u32,
        now: Instant,
    ) -> Vec<IpAddr> {
        let pacing = self.pacing_of(ifname);
        let p = self
            .by_if
            .entry(ifname.to_string())
            .or_insert_with(|| Pacer {
                pacing,
                ..Pacer::default()
            });
        let mut out = Vec::new();
        for _ in 0..rep {
            for a in addrs {
                let (iv, lane) = match lane_of(a) {
                    0 => (p.pacing.v4, &mut p.lanes[0]),
                    _ => (p.pacing.v6, &mut p.lanes[1]),
                };
                let Some(iv) = iv else {
                    out.push(*a);
                    continue;
                };
                if let Some(q) = lane
                    .queue
                    .iter_mut()
                    .find(|q| q.addr == *a && q.inst == inst)
                {
                    if q.left < rep {
                        q.left += 1;
                    }
                    continue;
                }
                if lane.queue.is_empty() && lane.next.is_none_or(|t| now >= t) {
                    out.push(*a);
                    lane.next = Some(now + iv);
                } else {
                    lane.queue.push_back(Queued {
                        inst: inst.to_string(),
                        addr: *a,
                        left: 1,
                    });
                }
            }
        }
        out
    }

    /// Queued packets whose time has come: (interface, instance, address), at most one per
    /// interface and family per call while an interval applies.
    pub(crate) fn due(&mut self, now: Instant) -> Vec<(String, String, IpAddr)> {
        let mut out = Vec::new();
        for (ifname, p) in self.by_if.iter_mut() {
            for (k, lane) in p.lanes.iter_mut().enumerate() {
                let iv = if k == 0 { p.pacing.v4 } else { p.pacing.v6 };
                while lane.next.is_none_or(|t| now >= t) {
                    let Some(mut q) = lane.queue.pop_front() else {
                        break;
                    };
                    out.push((ifname.clone(), q.inst.clone(), q.addr));
                    q.left = q.left.saturating_sub(1);
                    if q.left > 0 {
                        lane.queue.push_back(q);
                    }
                    match iv {
                        Some(iv) => lane.next = Some(now + iv),
                        // Pacing switched off by a reload: drain at once.
                        None => lane.next = None,
                    }
                }
            }
        }
        out
    }

    /// When [`Pacers::due`] has something to send next.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.by_if
            .values()
            .flat_map(|p| p.lanes.iter())
            .filter(|l| !l.queue.is_empty())
            .map(|l| l.next.unwrap_or_else(Instant::now))
            .min()
    }

    /// Drops the queued packets of instance `inst` (it left master or is gone).
    pub(crate) fn forget(&mut self, inst: &str) {
        for p in self.by_if.values_mut() {
            for l in p.lanes.iter_mut() {
                l.queue.retain(|q| q.inst != inst);
            }
        }
    }

    /// Packets queued for instance `inst` (tests, diagnostics).
    #[cfg(test)]
    fn queued(&self, inst: &str) -> u32 {
        self.by_if
            .values()
            .flat_map(|p| p.lanes.iter())
            .flat_map(|l| l.queue.iter())
            .filter(|q| q.inst == inst)
            .map(|q| q.left)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Config {
        let p = conf_parse::parse_str(text, "t.conf", &conf_parse::ParseOptions::default());
        assert!(!p.has_errors(), "{:?}", p.diagnostics);
        p.config
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn no_interval_sends_everything_at_once() {
        let mut p = Pacers::from_config(&cfg(""));
        let now = Instant::now();
        let a = [ip("10.0.0.1"), ip("10.0.0.2")];
        let out = p.request("eth0", "V", &a, 3, now);
        assert_eq!(out, [a[0], a[1], a[0], a[1], a[0], a[1]]);
        assert!(p.next_deadline().is_none());
    }

    #[test]
    fn garp_group_paces_one_packet_per_interval_round_robin() {
        let c = cfg("garp_group {\n garp_interval 0.1\n interfaces {\n  eth0\n  eth1\n }\n}\n");
        let mut p = Pacers::from_config(&c);
        assert_eq!(p.pacing_of("eth2"), Pacing::default());
        let t0 = Instant::now();
        let a = [ip("10.0.0.1"), ip("10.0.0.2")];
        // First packet at once, the rest queued: A then B, each with its repeats.
        assert_eq!(p.request("eth0", "V", &a, 3, t0), [a[0]]);
        assert_eq!(p.queued("V"), 5);
        let mut sent = vec![a[0]];
        let mut t = t0;
        for _ in 0..5 {
            assert!(p.due(t + Duration::from_millis(99)).is_empty());
            let d = p.next_deadline().expect("queued");
            assert_eq!(d, t + Duration::from_millis(100));
            t = d;
            let out = p.due(t);
            assert_eq!(out.len(), 1, "one packet per interval");
            assert_eq!(out[0].0, "eth0");
            sent.push(out[0].2);
        }
        assert_eq!(sent, [a[0], a[1], a[0], a[1], a[0], a[1]]);
        assert!(p.next_deadline().is_none());
        // Another interface of the group has its own clock; IPv6 is not paced by this group.
        assert_eq!(
            p.request("eth1", "W", &[ip("10.0.1.1")], 1, t0),
            [ip("10.0.1.1")]
        );
        let v6 = [ip("fd00::1"), ip("fd00::2")];
        assert_eq!(p.request("eth0", "X", &v6, 2, t0).len(), 4);
    }

    #[test]
    fn global_intervals_apply_outside_groups_and_leaving_master_forgets() {
        let c = cfg("global_defs {\n vrrp_gna_interval 0.2\n}\ngarp_group {\n garp_interval 0.05\n interface eth1\n}\n");
        let mut p = Pacers::from_config(&c);
        assert_eq!(
            p.pacing_of("eth0"),
            Pacing {
                v4: None,
                v6: Some(Duration::from_millis(200))
            }
        );
        assert_eq!(
            p.pacing_of("eth1"),
            Pacing {
                v4: Some(Duration::from_millis(50)),
                v6: None
            }
        );
        let now = Instant::now();
        let v6 = [ip("fd00::1")];
        assert_eq!(p.request("eth0", "V", &v6, 5, now), v6);
        assert_eq!(p.queued("V"), 4);
        // A second request for a queued address raises its count up to the burst size only.
        assert!(p.request("eth0", "V", &v6, 5, now).is_empty());
        assert_eq!(p.queued("V"), 5);
        p.forget("V");
        assert_eq!(p.queued("V"), 0);
        assert!(p.next_deadline().is_none());
    }

    #[test]
    fn reload_changes_pacing_keeps_queue() {
        let mut p = Pacers::from_config(&cfg("global_defs {\n vrrp_garp_interval 1\n}\n"));
        let now = Instant::now();
        let a = [ip("10.0.0.1")];
        assert_eq!(p.request("eth0", "V", &a, 3, now).len(), 1);
        p.reconfigure(Pacers::from_config(&cfg("")));
        // No pacing any more: the queue drains at the next call.
        assert_eq!(p.due(now).len(), 2);
        assert!(p.next_deadline().is_none());
    }
}
