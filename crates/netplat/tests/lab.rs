//! Namespace tests of the rtnetlink layer: every call runs on a thread moved into a lab
//! namespace with `netplat::netns::in_netns`, and the result is cross-checked with `ip`.

// Test helpers outside #[test] fns unwrap too: a failing lab setup should fail the test.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::IpAddr;

use netplat::{errno, AddrFlags, AddressSpec, MacvlanMode, RouteSpec, Rtnl, Scope};
use testlab::netns::Lab;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

// Proves address add/list/replace/delete with label, scope, broadcast, lifetimes and
// nodad/noprefixroute flags, checked against `ip addr`, and the errno of duplicates and
// missing addresses (EEXIST / EADDRNOTAVAIL).
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_addresses_roundtrip() {
    let lab = Lab::new("npaddr").unwrap();
    let h = lab.host("a").unwrap();
    let path = h.netns_path();
    netplat::netns::in_netns(&path, || {
        let mut nl = Rtnl::new().unwrap();
        let eth0 = nl.require_link("eth0").unwrap();
        let lo = nl.require_link("lo").unwrap();
        assert!(lo.loopback && lo.up);
        assert_eq!(nl.link_by_index(eth0.index).unwrap().unwrap().name, "eth0");
        assert!(nl.link_by_name("nope0").unwrap().is_none());

        let vip = AddressSpec::new(lo.index, ip("192.0.2.10"), 32).label("lo:rs0");
        nl.add_address(&vip).unwrap();
        let e = nl.add_address(&vip).unwrap_err();
        assert_eq!(e.errno(), Some(errno::EEXIST), "{e}");

        let a = AddressSpec::new(eth0.index, ip("10.1.0.1"), 24)
            .broadcast("10.1.0.255".parse().unwrap())
            .scope(Scope::Link)
            .flags(AddrFlags::NOPREFIXROUTE)
            .lifetimes(600, 300);
        nl.add_address(&a).unwrap();
        let v6 = AddressSpec::new(eth0.index, ip("fd00::1"), 64).flags(AddrFlags::NODAD);
        nl.add_address(&v6).unwrap();

        let list = nl.addresses(None).unwrap();
        let got = list.iter().find(|x| x.addr == ip("192.0.2.10")).unwrap();
        assert_eq!(got.label.as_deref(), Some("lo:rs0"));
        assert_eq!(
            (got.index, got.prefix_len, got.scope),
            (lo.index, 32, Scope::Universe)
        );
        let got = list.iter().find(|x| x.addr == ip("10.1.0.1")).unwrap();
        assert_eq!(got.broadcast, Some("10.1.0.255".parse().unwrap()));
        assert_eq!(got.scope, Scope::Link);
        assert!(got.flags.contains(AddrFlags::NOPREFIXROUTE));
        assert!(got.valid_lft.unwrap() <= 600 && got.valid_lft.unwrap() > 500);
        let got = list.iter().find(|x| x.addr == ip("fd00::1")).unwrap();
        assert!(got.flags.contains(AddrFlags::NODAD));
        assert_eq!(nl.addresses(Some(lo.index)).unwrap().len(), 3); // 127.0.0.1, ::1, VIP

        // replace refreshes lifetimes
        nl.replace_address(&a.clone().lifetimes(6000, 6000))
            .unwrap();
        let got = nl.addresses(Some(eth0.index)).unwrap();
        let got = got.iter().find(|x| x.addr == ip("10.1.0.1")).unwrap();
        assert!(got.valid_lft.unwrap() > 5000);

        nl.del_address(&vip).unwrap();
        let e = nl.del_address(&vip).unwrap_err();
        assert_eq!(e.errno(), Some(errno::EADDRNOTAVAIL), "{e}");
    })
    .unwrap();
    let out = h.ip(&["-o", "addr"]).unwrap();
    assert!(!out.contains("192.0.2.10"), "{out}");
    assert!(
        out.contains("10.1.0.1/24 brd 10.1.0.255 scope link dynamic noprefixroute"),
        "{out}"
    );
    assert!(out.contains("fd00::1/64 scope global nodad"), "{out}");
}

// Proves prepared requests (lease renewals): each send renews the lifetimes with no ACK to
// read, a stale failure's error is collected later and named, a blocking request in between
// keeps working and keeps that error for `take_late_errors`, and nothing is left over after.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_prepared_requests_without_ack() {
    let lab = Lab::new("npprep").unwrap();
    let h = lab.host("a").unwrap();
    let path = h.netns_path();
    netplat::netns::in_netns(&path, || {
        let mut nl = Rtnl::new().unwrap();
        let eth0 = nl.require_link("eth0").unwrap();
        let lease = AddressSpec::new(eth0.index, ip("10.1.0.7"), 24).lifetimes(30, 30);
        nl.add_address(&lease).unwrap();
        let renew = Rtnl::prepare_replace_address(&lease.clone().lifetimes(900, 900)).unwrap();
        assert!(renew.op().contains("10.1.0.7"), "{}", renew.op());
        nl.send_prepared(&renew).unwrap();
        nl.send_prepared(&renew).unwrap();
        let got = nl.addresses(Some(eth0.index)).unwrap();
        let got = got.iter().find(|x| x.addr == ip("10.1.0.7")).unwrap();
        assert!(got.valid_lft.unwrap() > 800, "{got:?}");
        assert!(nl.take_late_errors().is_empty());

        // A renewal that fails (no such interface): the error arrives later.
        let bad = Rtnl::prepare_replace_address(&AddressSpec::new(9999, ip("10.1.0.8"), 24))
            .unwrap()
            .with_context("VRRP_Instance(VI_9)");
        nl.send_prepared(&bad).unwrap();
        // A blocking request in between reads past that error and keeps it.
        nl.replace_address(&lease.clone().lifetimes(600, 600))
            .unwrap();
        nl.send_prepared(&bad).unwrap();
        let errs = nl.take_late_errors();
        assert_eq!(errs.len(), 2, "{errs:?}");
        for e in &errs {
            assert_eq!(e.errno(), Some(errno::ENODEV), "{e}");
            assert!(e.to_string().contains("10.1.0.8"), "{e}");
            assert!(e.to_string().contains("VRRP_Instance(VI_9): "), "{e}");
        }
        assert!(nl.take_late_errors().is_empty());
    })
    .unwrap();
}

// Proves link up/down, macvlan creation with a fixed MAC (a VRRP VMAC) and deletion, and
// route add/list/delete with gateway, metric and table, checked against `ip`.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_links_and_routes() {
    let lab = Lab::new("nplink").unwrap();
    let h = lab.host("a").unwrap();
    h.add_addr("10.2.0.1/24").unwrap();
    let path = h.netns_path();
    netplat::netns::in_netns(&path, || {
        let mut nl = Rtnl::new().unwrap();
        let eth0 = nl.require_link("eth0").unwrap();
        assert_eq!(eth0.kind.as_deref(), Some("veth"));
        assert_eq!(eth0.mac.len(), 6);
        nl.set_link_up(eth0.index, false).unwrap();
        assert!(!nl.require_link("eth0").unwrap().up);
        nl.set_link_up(eth0.index, true).unwrap();
        assert!(nl.require_link("eth0").unwrap().up);

        let vmac = [0x00, 0x00, 0x5e, 0x00, 0x01, 0x33];
        let mv = nl
            .add_macvlan("vrrp.51", eth0.index, MacvlanMode::Bridge, Some(vmac))
            .unwrap();
        assert_eq!(mv.kind.as_deref(), Some("macvlan"));
        assert_eq!(mv.mac, vmac.to_vec());
        assert_eq!(mv.parent, Some(eth0.index));
        let e = nl
            .add_macvlan("vrrp.51", eth0.index, MacvlanMode::Bridge, None)
            .unwrap_err();
        assert_eq!(e.errno(), Some(errno::EEXIST));

        let r = RouteSpec::new(ip("198.51.100.0"), 24)
            .via(ip("10.2.0.254"))
            .metric(42);
        nl.add_route(&r).unwrap();
        let r2 = RouteSpec::new(ip("203.0.113.0"), 24)
            .dev(eth0.index)
            .table(100);
        nl.add_route(&r2).unwrap();
        let routes = nl.routes(true).unwrap();
        let got = routes.iter().find(|x| x.dst == ip("198.51.100.0")).unwrap();
        assert_eq!(
            (got.prefix_len, got.gateway, got.metric, got.table),
            (24, Some(ip("10.2.0.254")), Some(42), 254)
        );
        assert!(routes
            .iter()
            .any(|x| x.dst == ip("203.0.113.0") && x.table == 100 && x.oif == Some(eth0.index)));
        assert!(routes.iter().any(|x| x.dst == ip("10.2.0.1")
            && x.table == netplat::RT_TABLE_LOCAL
            && x.kind == netplat::RouteKind::Local));
        nl.del_route(&r).unwrap();
        assert_eq!(nl.del_route(&r).unwrap_err().errno(), Some(errno::ESRCH));

        nl.del_link(mv.index).unwrap();
        assert!(nl.link_by_name("vrrp.51").unwrap().is_none());
    })
    .unwrap();
    let routes = h.ip(&["route", "show", "table", "100"]).unwrap();
    assert!(routes.contains("203.0.113.0/24 dev eth0"), "{routes}");
    assert!(!h.ip(&["route"]).unwrap().contains("198.51.100.0"));
}

// Proves in_netns leaves the calling thread in its own namespace (the host's links are not
// the lab's) and that an ipip device can be created where the kernel has the module
// (EOPNOTSUPP otherwise: this host kernel has no ipip, the VM has).
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_in_netns_isolated_and_ipip() {
    let lab = Lab::new("npns").unwrap();
    let h = lab.host("a").unwrap();
    let mine = std::fs::read_link("/proc/thread-self/ns/net").unwrap();
    let inside = netplat::netns::in_netns(&h.netns_path(), || {
        let theirs = std::fs::read_link("/proc/thread-self/ns/net").unwrap();
        let mut nl = Rtnl::new().unwrap();
        let names: Vec<String> = nl.links().unwrap().into_iter().map(|l| l.name).collect();
        let ipip = nl.add_ipip("tunx", None, Some("10.9.9.9".parse().unwrap()));
        (theirs, names, ipip.map(|l| l.kind).map_err(|e| e.errno()))
    })
    .unwrap();
    assert_ne!(inside.0, mine);
    assert_eq!(
        std::fs::read_link("/proc/thread-self/ns/net").unwrap(),
        mine
    );
    let mut names = inside.1;
    names.sort();
    // Exactly what `ip` sees in the lab namespace (the VM kernel adds fallback tunnel
    // devices such as tunl0/gre0 to every namespace, so the list is not just eth0+lo).
    let mut expected: Vec<String> = h
        .ip(&["-o", "link"])
        .unwrap()
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap().to_string())
        .filter(|n| n != "tunx")
        .collect();
    expected.sort();
    assert_eq!(names, expected);
    assert!(names.contains(&"eth0".to_string()) && names.contains(&"lo".to_string()));
    match inside.2 {
        Ok(kind) => assert_eq!(kind.as_deref(), Some("ipip")),
        Err(e) => {
            assert!(
                !testlab::vm::in_vm(),
                "the VM kernel has ipip: creation must work there"
            );
            assert_eq!(e, Some(errno::EOPNOTSUPP), "unexpected errno");
            eprintln!("NOTE: no ipip on this kernel (EOPNOTSUPP), creation checked in the VM");
        }
    }
}
