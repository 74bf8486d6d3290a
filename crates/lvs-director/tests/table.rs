//! Config → desired IPVS table → reconcile, against ipvs-nl's MemoryBackend (no kernel needed).

#![allow(clippy::unwrap_used, clippy::panic)] // test helpers outside #[test] fns

use std::collections::BTreeSet;
use std::net::IpAddr;

use ipvs_nl::{
    reconcile, AddressFamily, Backend, Destination, Forward, MemoryBackend, Scheduler, Scope,
    Service, ServiceFlags, ServiceKey, VirtualService,
};
use lvs_director::{compile, desired, DirectorConfig, Health};

fn parse(text: &str) -> conf_parse::Config {
    let p = conf_parse::parse_str(text, "test.conf", &conf_parse::ParseOptions::default());
    let errs: Vec<_> = p.problems().map(|d| d.message.clone()).collect();
    assert!(!p.has_errors(), "config errors: {errs:?}");
    p.config
}

fn model(text: &str) -> DirectorConfig {
    let (m, warnings) = compile(&parse(text));
    assert!(warnings.is_empty(), "{warnings:?}");
    m
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn sorted(mut t: Vec<VirtualService>) -> Vec<VirtualService> {
    t.sort_by_key(|v| v.service.key);
    for v in &mut t {
        v.destinations.sort_by_key(|d| d.key());
    }
    t
}

/// The seeds' LVS-DR setup (node01-master-lvs-dr.conf) on lab addresses (its `persistence_timeout 0`
/// is out of keepalived's range and ignored by it, so it is left out here).
const DR: &str = r#"
virtual_server 10.0.0.100 80 {
    delay_loop 6
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.0.0.11 80 {
        weight 1
        HTTP_GET {
            url {
              path /
              status_code 200
            }
            connect_timeout 3
            nb_get_retry 3
            delay_before_retry 3
        }
    }
    real_server 10.0.0.12 80 {
        weight 1
        TCP_CHECK { connect_timeout 3 }
    }
}
"#;

// Proves the seed DR config becomes one rr service with two Route destinations of weight 1,
// that reconcile programs exactly that into an empty table, and that a second reconcile is a
// no-op (the desired table is stable against the readback).
#[test]
fn dr_seed_to_table_and_reconcile() {
    let m = model(DR);
    let h = Health::new(&m);
    let want = desired(&m, &h);
    let key = ServiceKey::tcp(ip("10.0.0.100"), 80);
    assert_eq!(
        sorted(want.clone()),
        vec![VirtualService::new(
            Service::new(key, Scheduler::Rr),
            vec![
                Destination::new(ip("10.0.0.11"), 80, Forward::Route).with_weight(1),
                Destination::new(ip("10.0.0.12"), 80, Forward::Route).with_weight(1),
            ]
        )]
    );
    let mut mem = MemoryBackend::new();
    let r = reconcile(&mut mem, &want, &Scope::Managed(m.service_keys())).unwrap();
    assert_eq!(r.services_added(), 1);
    assert_eq!(r.destinations_added(), 2);
    assert!(r.failed.is_empty());
    let again = reconcile(&mut mem, &want, &Scope::Managed(m.service_keys())).unwrap();
    assert!(again.is_noop(), "{again:?}");
}

// Proves a failed real server is removed, and with inhibit_on_failure kept with weight 0;
// and that it comes back with its configured weight when its checker is up again.
#[test]
fn failure_removes_or_inhibits() {
    for inhibit in [false, true] {
        let text = DR.replace(
            "    protocol TCP\n",
            if inhibit {
                "    protocol TCP\n    inhibit_on_failure\n"
            } else {
                "    protocol TCP\n"
            },
        );
        let m = model(&text);
        let mut h = Health::new(&m);
        let rs = m.virtual_servers[0].real_servers[0].id.clone();
        let ch = h.set_checker(&rs, 0, false, None).unwrap();
        assert!(!ch.alive);
        let t = desired(&m, &h);
        let d = &t[0].destinations;
        if inhibit {
            assert_eq!(d.len(), 2);
            assert_eq!(
                d.iter().find(|d| d.addr == ip("10.0.0.11")).unwrap().weight,
                0
            );
        } else {
            assert_eq!(d.len(), 1);
            assert_eq!(d[0].addr, ip("10.0.0.12"));
        }
        assert!(h.set_checker(&rs, 0, true, None).unwrap().alive);
        let t = desired(&m, &h);
        assert!(t[0].destinations.iter().all(|d| d.weight == 1));
        assert_eq!(t[0].destinations.len(), 2);
    }
}

const SORRY: &str = r#"
virtual_server 10.0.0.100 80 {
    protocol TCP
    lb_algo wrr
    lb_kind DR
    sorry_server 10.0.0.99 8080
    SORRY_INHIBIT
    real_server 10.0.0.11 80 {
        weight 3
        TCP_CHECK { }
    }
    real_server 10.0.0.12 80 {
        weight 2
        TCP_CHECK { }
    }
}
"#;

// Proves the sorry server replaces the real servers when all are down (quorum 1 lost), is
// absent while they are up, is kept with weight 0 under sorry_server_inhibit, and that the
// real servers return when one comes back.
#[test]
fn sorry_server_when_all_down() {
    for inhibit in [false, true] {
        let text = SORRY.replace(
            "SORRY_INHIBIT",
            if inhibit { "sorry_server_inhibit" } else { "" },
        );
        let m = model(&text);
        let mut h = Health::new(&m);
        let ids: Vec<_> = m.virtual_servers[0]
            .real_servers
            .iter()
            .map(|r| r.id.clone())
            .collect();
        let t = desired(&m, &h);
        let sorry_present = t[0].destinations.iter().any(|d| d.addr == ip("10.0.0.99"));
        assert_eq!(sorry_present, inhibit);
        if inhibit {
            let s = t[0]
                .destinations
                .iter()
                .find(|d| d.addr == ip("10.0.0.99"))
                .unwrap();
            assert_eq!((s.weight, s.port), (0, 80), "DR: port is the service's");
        }
        h.set_checker(&ids[0], 0, false, None);
        assert!(h.update_quorum(&m).is_empty(), "weight 2 >= quorum 1");
        h.set_checker(&ids[1], 0, false, None);
        let ch = h.update_quorum(&m);
        assert_eq!(ch, vec![(m.virtual_servers[0].id.clone(), false)]);
        let t = desired(&m, &h);
        assert_eq!(
            t[0].destinations,
            vec![Destination::new(ip("10.0.0.99"), 80, Forward::Route).with_weight(1)]
        );
        h.set_checker(&ids[1], 0, true, None);
        assert_eq!(h.update_quorum(&m).len(), 1);
        let t = desired(&m, &h);
        let addrs: BTreeSet<_> = t[0]
            .destinations
            .iter()
            .map(|d| (d.addr, d.weight))
            .collect();
        let mut expect = BTreeSet::from([(ip("10.0.0.12"), 2)]);
        if inhibit {
            expect.insert((ip("10.0.0.99"), 0));
        }
        assert_eq!(addrs, expect);
    }
}

// Proves quorum with hysteresis: with quorum 4 and hysteresis 1 (weights 2+2+1), losing to 3
// keeps quorum (3 >= 4-1), losing to 1 drops it, regaining to 4 does not restore it (needs
// >= 4+1), and 5 does.
#[test]
fn quorum_hysteresis() {
    let m = model(
        r#"
virtual_server 10.0.0.100 80 {
    protocol TCP
    lb_algo wlc
    lb_kind NAT
    quorum 4
    hysteresis 1
    quorum_up "/bin/true up"
    quorum_down "/bin/true down"
    real_server 10.0.1.1 8080 { weight 2
        TCP_CHECK { } }
    real_server 10.0.1.2 8080 { weight 2
        TCP_CHECK { } }
    real_server 10.0.1.3 8080 { weight 1
        TCP_CHECK { } }
}
"#,
    );
    let vs = &m.virtual_servers[0];
    assert_eq!(vs.quorum_up.as_ref().unwrap().command, "/bin/true up");
    let ids: Vec<_> = vs.real_servers.iter().map(|r| r.id.clone()).collect();
    let mut h = Health::new(&m);
    assert!(h.quorum_up(&vs.id));
    h.set_checker(&ids[0], 0, false, None); // 3 left
    assert!(h.update_quorum(&m).is_empty());
    h.set_checker(&ids[1], 0, false, None); // 1 left
    assert_eq!(h.update_quorum(&m), vec![(vs.id.clone(), false)]);
    // No sorry server: the alive one stays in the table.
    assert_eq!(desired(&m, &h)[0].destinations.len(), 1);
    h.set_checker(&ids[0], 0, true, None); // 3
    assert!(
        h.update_quorum(&m).is_empty(),
        "3 < 4+1: still without quorum"
    );
    h.set_checker(&ids[1], 0, true, None); // 5
    assert_eq!(h.update_quorum(&m), vec![(vs.id.clone(), true)]);
    // NAT keeps the real server's own port.
    assert!(desired(&m, &h)[0]
        .destinations
        .iter()
        .all(|d| d.port == 8080 && d.forward == Forward::Masq));
}

// Proves virtual_server_group expansion (address range, single address, fwmark) into one
// service per entry, each with the same destinations (DR ports follow each service), and
// fwmark virtual servers with port-less real servers.
#[test]
fn groups_and_fwmark() {
    let m = model(
        r#"
virtual_server_group web {
    10.0.0.100-102 80
    10.0.0.110 443
    fwmark 7
}
virtual_server group web {
    protocol TCP
    lb_algo lc
    lb_kind DR
    real_server 10.0.0.11 80 { weight 5 }
}
virtual_server fwmark 9 {
    lb_algo sh
    lb_kind TUN
    sh-port
    real_server 10.0.0.21 { }
}
"#,
    );
    let t = sorted(desired(&m, &Health::new(&m)));
    let keys: Vec<ServiceKey> = t.iter().map(|v| v.service.key).collect();
    assert_eq!(
        keys,
        vec![
            ServiceKey::tcp(ip("10.0.0.100"), 80),
            ServiceKey::tcp(ip("10.0.0.101"), 80),
            ServiceKey::tcp(ip("10.0.0.102"), 80),
            ServiceKey::tcp(ip("10.0.0.110"), 443),
            ServiceKey::fwmark(AddressFamily::Inet, 7),
            ServiceKey::fwmark(AddressFamily::Inet, 9),
        ]
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
    );
    for v in &t {
        let d = &v.destinations;
        assert_eq!(d.len(), 1);
        match v.service.key {
            ServiceKey::Addr { port, .. } => {
                assert_eq!(d[0].port, port);
                assert_eq!((d[0].weight, d[0].forward), (5, Forward::Route));
                assert_eq!(v.service.scheduler, Scheduler::Lc);
            }
            ServiceKey::Fwmark { mark: 7, .. } => assert_eq!(d[0].port, 0),
            ServiceKey::Fwmark { .. } => {
                assert_eq!(d[0].port, 0);
                assert!(matches!(d[0].forward, Forward::Tunnel(_)));
                assert_eq!(v.service.scheduler, Scheduler::Sh);
                assert!(v.service.flags.contains(ServiceFlags::SH_PORT));
            }
        }
    }
}

// Proves persistence settings: timeout, IPv4 granularity as a netmask, persistence_engine.
#[test]
fn persistence() {
    let m = model(
        r#"
virtual_server 10.0.0.100 5060 {
    lb_kind NAT
    protocol UDP
    lb_algo wlc
    persistence_timeout 600
    persistence_granularity 255.255.255.0
    persistence_engine sip
    real_server 10.0.0.11 5060 { }
}
"#,
    );
    let t = desired(&m, &Health::new(&m));
    let s = &t[0].service;
    assert_eq!(s.key, ServiceKey::udp(ip("10.0.0.100"), 5060));
    assert!(s.flags.contains(ServiceFlags::PERSISTENT));
    assert_eq!((s.timeout, s.netmask), (600, 0xffff_ff00));
    assert_eq!(s.pe_name.as_deref(), Some("sip"));
    assert_eq!(
        t[0].destinations[0].forward,
        Forward::Masq,
        "default lb_kind is NAT"
    );
}

// Proves alpha: the real server starts dead (not in the table) until its checker reports up.
#[test]
fn alpha_starts_down() {
    let m = model(
        r#"
virtual_server 10.0.0.100 80 {
    protocol TCP
    lb_algo wlc
    lb_kind NAT
    alpha
    real_server 10.0.0.11 80 { TCP_CHECK { } }
    real_server 10.0.0.12 80 { }
}
"#,
    );
    let mut h = Health::new(&m);
    let t = desired(&m, &h);
    assert_eq!(t[0].destinations.len(), 1, "only the checker-less one");
    let id = m.virtual_servers[0].real_servers[0].id.clone();
    assert!(h.set_checker(&id, 0, true, None).unwrap().alive);
    assert_eq!(desired(&m, &h)[0].destinations.len(), 2);
}

// Proves weight adjustments: misc_dynamic Set(n) replaces the weight, FILE_CHECK Delta shifts
// it, clamped at 0.
#[test]
fn dynamic_weights() {
    use healthcheck::WeightAdjust;
    let m = model(
        r#"
virtual_server 10.0.0.100 80 {
    protocol TCP
    lb_kind NAT
    lb_algo wrr
    real_server 10.0.0.11 80 { weight 10
        MISC_CHECK { misc_path "/bin/true" misc_dynamic } }
}
"#,
    );
    let mut h = Health::new(&m);
    let id = m.virtual_servers[0].real_servers[0].id.clone();
    assert!(h
        .set_checker(&id, 0, true, Some(WeightAdjust::Set(42)))
        .is_none());
    assert_eq!(desired(&m, &h)[0].destinations[0].weight, 42);
    h.set_checker(&id, 0, true, Some(WeightAdjust::Delta(-50)));
    assert_eq!(desired(&m, &h)[0].destinations[0].weight, 0);
}

// Proves reconcile scope: a foreign service in the kernel survives, a service of a previous
// configuration (in the managed set) is deleted, and an existing entry of ours with a wrong
// weight is edited, not re-created.
#[test]
fn scope_keeps_foreign_entries() {
    let m = model(DR);
    let mut mem = MemoryBackend::new();
    let foreign = ServiceKey::tcp(ip("192.0.2.1"), 22);
    let old = ServiceKey::tcp(ip("10.0.0.200"), 80);
    let mine = ServiceKey::tcp(ip("10.0.0.100"), 80);
    let pre = vec![
        VirtualService::new(Service::new(foreign, Scheduler::Wlc), vec![]),
        VirtualService::new(Service::new(old, Scheduler::Wlc), vec![]),
        VirtualService::new(
            Service::new(mine, Scheduler::Rr),
            vec![Destination::new(ip("10.0.0.11"), 80, Forward::Route).with_weight(7)],
        ),
    ];
    reconcile(&mut mem, &pre, &Scope::Full).unwrap();
    let mut scope = m.service_keys();
    scope.insert(old);
    let r = reconcile(
        &mut mem,
        &desired(&m, &Health::new(&m)),
        &Scope::Managed(scope),
    )
    .unwrap();
    assert_eq!(r.services_deleted(), 1);
    assert_eq!(r.services_added(), 0);
    assert_eq!(r.destinations_edited(), 1);
    assert_eq!(r.destinations_added(), 1);
    let keys: BTreeSet<_> = mem.table().unwrap().iter().map(|v| v.service.key).collect();
    assert_eq!(keys, BTreeSet::from([foreign, mine]));
}

// Proves reload keeps checker state for unchanged real servers and resets changed ones.
#[test]
fn reload_keeps_state_of_unchanged() {
    let m1 = model(DR);
    let mut h = Health::new(&m1);
    let rs = &m1.virtual_servers[0].real_servers;
    h.set_checker(&rs[0].id, 0, false, None);
    h.set_checker(&rs[1].id, 0, false, None);
    // New config: RS .12's checker changes (connect_timeout), .11 unchanged, .13 added.
    let text = DR
        .replace(
            "TCP_CHECK { connect_timeout 3 }",
            "TCP_CHECK { connect_timeout 4 }",
        )
        .replace(
            "    real_server 10.0.0.12 80 {",
            "    real_server 10.0.0.13 80 { }\n    real_server 10.0.0.12 80 {",
        );
    let m2 = model(&text);
    h.sync(&m2, Some(&m1));
    let t = desired(&m2, &h);
    let addrs: BTreeSet<_> = t[0].destinations.iter().map(|d| d.addr).collect();
    assert_eq!(addrs, BTreeSet::from([ip("10.0.0.12"), ip("10.0.0.13")]));
}

// Proves a virtual_server naming an unknown group is skipped with a warning while the rest of
// the configuration still compiles.
#[test]
fn warnings_for_skipped_items() {
    let (m, w) = compile(&parse(
        r#"
virtual_server group nope {
    protocol TCP
    lb_algo wlc
    lb_kind NAT
    real_server 10.0.0.11 80 { }
}
virtual_server 10.0.0.100 80 {
    protocol TCP
    lb_algo wlc
    lb_kind NAT
    real_server 10.0.0.11 80 { TCP_CHECK { } }
}
"#,
    ));
    assert_eq!(m.virtual_servers.len(), 1);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("nope"));
}

// Proves global LVS settings are carried: lvs_timeouts, lvs_flush, lvs_flush_on_stop.
#[test]
fn globals() {
    let m = model(
        r#"
global_defs {
    lvs_timeouts tcp 7200 tcpfin 120 udp 300
    lvs_flush
    lvs_flush_on_stop
}
virtual_server 10.0.0.100 80 {
    protocol TCP
    lb_algo wlc
    lb_kind NAT
    real_server 10.0.0.11 80 { } }
"#,
    );
    let t = m.globals.timeouts.unwrap();
    assert_eq!((t.tcp, t.tcp_fin, t.udp), (7200, 120, 300));
    assert!(m.globals.flush);
    assert_eq!(m.globals.flush_on_stop, conf_parse::FlushOnStop::Full);
}
