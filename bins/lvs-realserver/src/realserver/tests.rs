//! In-memory tests of the real-server engine: planning, idempotence, rollback, stop,
//! drift, with a fake sysctl tree and a fake network stack.

use super::*;
use arp_sysctl::MemSysctl;

/// A fake network stack: links (name, up) and addresses.
#[derive(Debug, Default, Clone)]
struct FakeNet {
    links: Vec<LinkState>,
    addrs: Vec<HostAddr>,
    /// add_vip fails for this address (simulates a kernel refusal half-way).
    fail_add: Option<IpAddr>,
    /// create_ipip behaves like a kernel without the module.
    no_ipip: bool,
    sys_for_new_links: Vec<String>,
}

impl FakeNet {
    fn new(ifaces: &[&str]) -> Self {
        let mut n = FakeNet::default();
        n.links.push(LinkState {
            name: "lo".into(),
            up: true,
        });
        for i in ifaces {
            n.links.push(LinkState {
                name: (*i).into(),
                up: true,
            });
        }
        n
    }
    fn with_addr(mut self, dev: &str, addr: &str, plen: u8) -> Self {
        self.addrs.push(HostAddr {
            dev: dev.into(),
            addr: addr.parse().unwrap(),
            prefix_len: plen,
            label: if addr.contains(':') {
                None
            } else {
                Some(dev.into())
            },
        });
        self
    }
    fn has(&self, addr: &str) -> bool {
        let a: IpAddr = addr.parse().unwrap();
        self.addrs.iter().any(|h| h.addr == a)
    }
}

impl Net for FakeNet {
    fn link(&mut self, name: &str) -> Result<Option<LinkState>, Error> {
        Ok(self.links.iter().find(|l| l.name == name).cloned())
    }
    fn addresses(&mut self) -> Result<Vec<HostAddr>, Error> {
        Ok(self.addrs.clone())
    }
    fn add_vip(&mut self, v: &SavedVip) -> Result<(), Error> {
        if self.fail_add == Some(v.addr) {
            return Err(Error::InvalidInput(format!(
                "injected failure for {}",
                v.addr
            )));
        }
        if self
            .addrs
            .iter()
            .any(|h| h.addr == v.addr && h.dev == v.dev)
        {
            return Err(Error::InvalidInput("EEXIST".into()));
        }
        self.addrs.push(HostAddr {
            dev: v.dev.clone(),
            addr: v.addr,
            prefix_len: v.prefix_len,
            label: v.label.clone(),
        });
        Ok(())
    }
    fn del_vip(&mut self, v: &SavedVip) -> Result<(), Error> {
        self.addrs.retain(|h| !(h.addr == v.addr && h.dev == v.dev));
        Ok(())
    }
    fn set_up(&mut self, name: &str, up: bool) -> Result<(), Error> {
        match self.links.iter_mut().find(|l| l.name == name) {
            Some(l) => {
                l.up = up;
                Ok(())
            }
            None => Err(Error::InvalidInput(format!("no {name}"))),
        }
    }
    fn create_ipip(&mut self, name: &str) -> Result<bool, Error> {
        if self.no_ipip {
            return Err(Error::InvalidInput("no ipip".into()));
        }
        self.links.push(LinkState {
            name: name.into(),
            up: false,
        });
        self.sys_for_new_links.push(name.into());
        Ok(true)
    }
    fn delete_link(&mut self, name: &str) -> Result<(), Error> {
        self.links.retain(|l| l.name != name);
        Ok(())
    }
}

fn req(mode: Mode, iface: Option<&str>, vips: &[&str]) -> StartRequest {
    StartRequest {
        mode,
        iface: iface.map(String::from),
        vips: vips.iter().map(|s| s.to_string()).collect(),
        label: None,
    }
}

fn lo() -> Target {
    Target::Iface("lo".into())
}
fn eth0() -> Target {
    Target::Iface("eth0".into())
}

/// Unusual originals so a blind "write 0 back" would be caught.
fn unusual_sys() -> MemSysctl {
    let mut s = MemSysctl::with_ifaces(&["eth0"]);
    s.set(&Target::All, ConfKey::ArpIgnore, 3);
    s.set(&Target::All, ConfKey::ArpAnnounce, 1);
    s.set(&lo(), ConfKey::ArpIgnore, 2);
    s.set(&eth0(), ConfKey::ArpAnnounce, 1);
    s.set(&Target::All, ConfKey::RpFilter, 1);
    s
}

fn start(sys: &mut MemSysctl, net: &mut FakeNet, r: &StartRequest, st: Option<&State>) -> Plan {
    let mut plan = plan_start(sys, net, r, st).unwrap();
    apply_start(sys, net, &mut plan).unwrap();
    plan
}

// Proves DR start sets arp_ignore=1/arp_announce=2 on all, lo and the interface, adds the
// VIPs (IPv4 with the lo:rs0 label, IPv6 /128), saves the originals, and that stop
// restores exactly those originals (not zeros) and removes the VIPs.
#[test]
fn dr_start_then_stop_restores_originals() {
    let mut sys = unusual_sys();
    let before = sys.values.clone();
    let mut net = FakeNet::new(&["eth0"]).with_addr("eth0", "10.0.0.2", 24);
    let plan = start(
        &mut sys,
        &mut net,
        &req(Mode::Dr, Some("eth0"), &["192.0.2.10", "fd00::10"]),
        None,
    );
    for t in [Target::All, lo(), eth0()] {
        assert_eq!(sys.get(&t, ConfKey::ArpIgnore), Some(1), "{t}");
        assert_eq!(sys.get(&t, ConfKey::ArpAnnounce), Some(2), "{t}");
    }
    assert!(net.has("192.0.2.10") && net.has("fd00::10"));
    let v4 = net
        .addrs
        .iter()
        .find(|h| h.addr.to_string() == "192.0.2.10")
        .unwrap();
    assert_eq!(
        (v4.dev.as_str(), v4.label.as_deref(), v4.prefix_len),
        ("lo", Some("lo:rs0"), 32)
    );
    let st = plan.state;
    assert_eq!(st.sysctl("all", "arp_ignore").unwrap().original, 3);
    assert_eq!(st.sysctl("all", "arp_announce").unwrap().original, 1);
    assert_eq!(st.sysctl("lo", "arp_ignore").unwrap().original, 2);
    // rp_filter is not touched in DR mode.
    assert_eq!(sys.get(&Target::All, ConfKey::RpFilter), Some(1));

    let (steps, keep, _) = plan_stop(&sys, &st, None);
    assert!(keep.is_none());
    assert!(apply_stop(&mut sys, &mut net, &steps).is_empty());
    assert_eq!(sys.values, before, "every sysctl back to its original");
    assert!(!net.has("192.0.2.10") && !net.has("fd00::10"));
    assert!(net.has("10.0.0.2"));
}

// Proves a second start with the same input plans nothing, and a second stop is a no-op.
#[test]
fn start_and_stop_are_idempotent() {
    let mut sys = unusual_sys();
    let mut net = FakeNet::new(&["eth0"]);
    let r = req(Mode::Dr, Some("eth0"), &["192.0.2.10"]);
    let plan = start(&mut sys, &mut net, &r, None);
    let again = plan_start(&sys, &mut net, &r, Some(&plan.state)).unwrap();
    assert!(again.steps.is_empty(), "{:?}", again.steps);
    assert_eq!(again.state, plan.state, "originals not overwritten");
    let writes = sys.log.len();
    let (steps, _, _) = plan_stop(&sys, &plan.state, None);
    apply_stop(&mut sys, &mut net, &steps);
    // Stopping again from the same (stale) state writes nothing new.
    let (steps2, _, _) = plan_stop(&sys, &plan.state, None);
    let errors = apply_stop(&mut sys, &mut net, &steps2);
    assert!(errors.is_empty());
    assert!(steps2.iter().all(|s| matches!(s, Step::DelVip(_))));
    assert!(sys.log.len() > writes);
}

// Proves that a failure half-way (the second VIP refused by the kernel) rolls back
// every sysctl and the first VIP, leaving the system exactly as before.
#[test]
fn failure_half_way_rolls_back_everything() {
    let mut sys = unusual_sys();
    let before = sys.values.clone();
    let mut net = FakeNet::new(&["eth0"]);
    net.fail_add = Some("192.0.2.11".parse().unwrap());
    let r = req(Mode::Dr, Some("eth0"), &["192.0.2.10", "192.0.2.11"]);
    let mut plan = plan_start(&sys, &mut net, &r, None).unwrap();
    let err = apply_start(&mut sys, &mut net, &mut plan).unwrap_err();
    match &err {
        Error::RolledBack {
            rollback_errors, ..
        } => assert!(rollback_errors.is_empty()),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(sys.values, before);
    assert!(!net.has("192.0.2.10"));
}

// Proves that a sysctl write refused (no permission) on the third key undoes the first two.
#[test]
fn permission_failure_rolls_back() {
    let mut sys = unusual_sys();
    sys.fail_writes.push((lo(), ConfKey::ArpIgnore));
    let before = sys.values.clone();
    let mut net = FakeNet::new(&["eth0"]);
    let r = req(Mode::Dr, None, &["192.0.2.10"]);
    let mut plan = plan_start(&sys, &mut net, &r, None).unwrap();
    let err = apply_start(&mut sys, &mut net, &mut plan).unwrap_err();
    assert!(err.is_permission(), "{err}");
    assert_eq!(sys.values, before);
    assert!(net.addrs.is_empty());
}

// Proves bad input is refused at plan time with a clear message and no change.
#[test]
fn bad_input_is_refused_before_any_change() {
    let sys = unusual_sys();
    let mut net = FakeNet::new(&["eth0"])
        .with_addr("eth0", "10.0.0.2", 24)
        .with_addr("eth0", "fd00::2", 64);
    let cases: &[(&[&str], Option<&str>, &str)] = &[
        (&["banana"], None, "not an IP address"),
        (&["10.0.0.0"], None, "network address"),
        (&["10.0.0.255"], None, "broadcast address"),
        (&["10.0.0.2"], None, "already a real address"),
        (&["fd00::2"], None, "already a real address"),
        (&["224.0.0.18"], None, "multicast"),
        (&["0.0.0.0"], None, "unspecified"),
        (&["127.0.0.5"], None, "loopback"),
        (&["255.255.255.255"], None, "broadcast"),
        (&["fe80::1"], None, "link-local"),
        (&["192.0.2.10/24"], None, "only /32"),
        (&["192.0.2.10"], Some("eth9"), "does not exist"),
        (&["192.0.2.10"], Some("a/b"), "not a valid interface name"),
        (&[], None, "no VIP"),
    ];
    for (vips, iface, want) in cases {
        let r = req(Mode::Dr, *iface, vips);
        let err = plan_start(&sys, &mut net, &r, None).unwrap_err();
        assert!(err.is_invalid_input(), "{vips:?}: {err}");
        assert!(err.to_string().contains(want), "{vips:?}: {err}");
    }
    // TUN with IPv6 VIP.
    let err = plan_start(&sys, &mut net, &req(Mode::Tun, None, &["fd00::9"]), None).unwrap_err();
    assert!(err.to_string().contains("IPv4 VIPs only"), "{err}");
}

// Proves status finds no drift right after start, and reports a sysctl changed and a VIP
// removed behind our back; a new start repairs both without touching the saved originals.
#[test]
fn drift_detected_and_repaired() {
    let mut sys = unusual_sys();
    let mut net = FakeNet::new(&["eth0"]);
    let r = req(Mode::Dr, Some("eth0"), &["192.0.2.10"]);
    let plan = start(&mut sys, &mut net, &r, None);
    let rep = status(&sys, &mut net, &plan.state).unwrap();
    assert!(rep.drift.is_empty(), "{:?}", rep.drift);
    sys.set(&Target::All, ConfKey::ArpIgnore, 0);
    net.addrs.clear();
    let rep = status(&sys, &mut net, &plan.state).unwrap();
    assert_eq!(rep.drift.len(), 2, "{:?}", rep.drift);
    assert!(rep.drift.iter().any(|d| d.contains("arp_ignore is 0")));
    let mut again = plan_start(&sys, &mut net, &r, Some(&plan.state)).unwrap();
    assert_eq!(again.steps.len(), 2, "{:?}", again.steps);
    apply_start(&mut sys, &mut net, &mut again).unwrap();
    assert!(status(&sys, &mut net, &again.state)
        .unwrap()
        .drift
        .is_empty());
    assert_eq!(again.state.sysctl("all", "arp_ignore").unwrap().original, 3);
}

// Proves `stop VIP` removes only that VIP and keeps the sysctls while others remain, and
// that removing the last one restores everything.
#[test]
fn partial_stop() {
    let mut sys = unusual_sys();
    let before = sys.values.clone();
    let mut net = FakeNet::new(&["eth0"]);
    let plan = start(
        &mut sys,
        &mut net,
        &req(Mode::Dr, None, &["192.0.2.10", "192.0.2.11"]),
        None,
    );
    let a: IpAddr = "192.0.2.10".parse().unwrap();
    let (steps, keep, _) = plan_stop(&sys, &plan.state, Some(&[a]));
    assert_eq!(steps.len(), 1);
    apply_stop(&mut sys, &mut net, &steps);
    let keep = keep.unwrap();
    assert_eq!(keep.vips.len(), 1);
    assert!(net.has("192.0.2.11") && !net.has("192.0.2.10"));
    assert_eq!(sys.get(&Target::All, ConfKey::ArpIgnore), Some(1));
    let b: IpAddr = "192.0.2.11".parse().unwrap();
    let (steps, keep, _) = plan_stop(&sys, &keep, Some(&[b]));
    assert!(keep.is_none());
    apply_stop(&mut sys, &mut net, &steps);
    assert_eq!(sys.values, before);
}

// Proves TUN mode creates tunl0 when missing, brings it up, relaxes rp_filter on tunl0
// and all, and that stop deletes the device it created and restores all.rp_filter.
#[test]
fn tun_mode_creates_and_removes_tunl0() {
    let mut sys = unusual_sys();
    let before = sys.values.clone();
    let mut net = FakeNet::new(&["eth0"]);
    let r = req(Mode::Tun, Some("eth0"), &["192.0.2.20"]);
    let mut plan = plan_start(&sys, &mut net, &r, None).unwrap();
    assert!(matches!(plan.steps[0], Step::CreateIpip { .. }));
    // The fake kernel creates /proc/sys/.../tunl0 when the device appears: emulate by
    // pre-populating rp_filter=1 there (read as the original at apply time).
    let tun = Target::Iface("tunl0".into());
    for k in ConfKey::ALL {
        sys.set(&tun, *k, 0);
    }
    sys.set(&tun, ConfKey::RpFilter, 1);
    apply_start(&mut sys, &mut net, &mut plan).unwrap();
    assert_eq!(sys.get(&tun, ConfKey::RpFilter), Some(0));
    assert_eq!(sys.get(&Target::All, ConfKey::RpFilter), Some(0));
    assert!(net.links.iter().any(|l| l.name == "tunl0" && l.up));
    let v = net.addrs.iter().find(|h| h.dev == "tunl0").unwrap();
    assert_eq!(v.label.as_deref(), Some("tunl0:rs0"));
    let (steps, _, _) = plan_stop(&sys, &plan.state, None);
    assert!(apply_stop(&mut sys, &mut net, &steps).is_empty());
    assert!(!net.links.iter().any(|l| l.name == "tunl0"));
    for t in [Target::All, lo(), eth0()] {
        for k in ConfKey::ALL {
            assert_eq!(sys.get(&t, *k), before.get(&(t.clone(), *k)).copied());
        }
    }
}

// Proves an existing, down tunl0 (module loaded, not created by us) is brought up and
// only set down again at stop, never deleted.
#[test]
fn tun_mode_existing_tunl0_is_left_in_place() {
    let mut sys = unusual_sys();
    let tun = Target::Iface("tunl0".into());
    for k in ConfKey::ALL {
        sys.set(&tun, *k, 0);
    }
    let mut net = FakeNet::new(&["eth0"]);
    net.links.push(LinkState {
        name: "tunl0".into(),
        up: false,
    });
    let plan = start(
        &mut sys,
        &mut net,
        &req(Mode::Tun, None, &["192.0.2.20"]),
        None,
    );
    assert!(!plan
        .steps
        .iter()
        .any(|s| matches!(s, Step::CreateIpip { .. })));
    let (steps, _, _) = plan_stop(&sys, &plan.state, None);
    assert!(steps.contains(&Step::LinkDown {
        name: "tunl0".into()
    }));
    assert!(!steps.iter().any(|s| matches!(s, Step::DeleteLink { .. })));
    apply_stop(&mut sys, &mut net, &steps);
    assert!(net.links.iter().any(|l| l.name == "tunl0" && !l.up));
}

// Proves that a VIP carrying our label but missing from the state (state lost) is adopted,
// while a mode switch on an active state is refused.
#[test]
fn adoption_and_mode_switch() {
    let mut sys = unusual_sys();
    let mut net = FakeNet::new(&["eth0"]);
    net.addrs.push(HostAddr {
        dev: "lo".into(),
        addr: "192.0.2.10".parse().unwrap(),
        prefix_len: 32,
        label: Some("lo:rs0".into()),
    });
    let plan = start(
        &mut sys,
        &mut net,
        &req(Mode::Dr, None, &["192.0.2.10"]),
        None,
    );
    assert_eq!(plan.state.vips.len(), 1);
    assert!(plan.notes.iter().any(|n| n.contains("adopted")));
    let err = plan_start(
        &sys,
        &mut net,
        &req(Mode::Tun, None, &["192.0.2.10"]),
        Some(&plan.state),
    )
    .unwrap_err();
    assert!(err.to_string().contains("stop first"), "{err}");
}

// Proves that ipip being unavailable makes TUN start fail cleanly (nothing applied).
#[test]
fn tun_without_ipip_rolls_back() {
    let mut sys = unusual_sys();
    let before = sys.values.clone();
    let mut net = FakeNet::new(&["eth0"]);
    net.no_ipip = true;
    let mut plan =
        plan_start(&sys, &mut net, &req(Mode::Tun, None, &["192.0.2.20"]), None).unwrap();
    assert!(apply_start(&mut sys, &mut net, &mut plan).is_err());
    assert_eq!(sys.values, before);
    assert!(net.addrs.is_empty());
}

// Proves custom labels are validated (device prefix, 15-byte limit).
#[test]
fn label_validation() {
    let sys = unusual_sys();
    let mut net = FakeNet::new(&[]);
    for (l, ok) in [
        ("lo:web", true),
        ("lo:0123456789abc", false),
        ("lo:0123456789ab", true),
        ("eth0:x", false),
        ("lo:", false),
    ] {
        let mut r = req(Mode::Dr, None, &["192.0.2.10"]);
        r.label = Some(l.into());
        assert_eq!(plan_start(&sys, &mut net, &r, None).is_ok(), ok, "{l}");
    }
}
