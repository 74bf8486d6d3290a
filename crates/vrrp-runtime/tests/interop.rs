//! Interop with the reference keepalived 2.2.7 (/usr/sbin/keepalived) in the same lab.
//! Run: `cargo test -p vrrp-runtime --test interop -- --include-ignored --test-threads=1`

mod common;

use std::time::Duration;

use common::*;
use nix::sys::signal::Signal;
use testlab::netns::{wait_until, Lab, Proc};

const KEEPALIVED: &str = "/usr/sbin/keepalived";

fn start_reference(lab: &Lab, d: &Director) -> Proc {
    let dir = lab.dir();
    let name = d.host.host_name().to_string();
    let p1 = dir.join(format!("{name}.ka.pid"));
    let p2 = dir.join(format!("{name}.ka.vrrp.pid"));
    d.host
        .spawn(&[
            KEEPALIVED,
            "-n",
            "-l",
            "-D",
            "-P",
            "-f",
            d.conf.to_str().unwrap_or(""),
            "-p",
            p1.to_str().unwrap_or(""),
            "-r",
            p2.to_str().unwrap_or(""),
        ])
        .expect("spawn keepalived")
}

/// Stop/continue the reference's VRRP child too (keepalived forks a VRRP worker).
fn signal_tree(p: &Proc, sig: Signal) {
    p.signal_group(sig).expect("signal group");
}

/// Check with tshark that our adverts (from `src`) decode as VRRP without malformed-packet or
/// checksum warnings; returns how many were seen.
fn tshark_clean(pcap: &std::path::Path, src_mac: &str, v6: bool) -> usize {
    let out = std::process::Command::new("tshark")
        .args([
            "-r",
            pcap.to_str().unwrap_or(""),
            "-o",
            "ip.check_checksum:TRUE",
            "-V",
            "-Y",
        ])
        .arg(format!("vrrp && eth.src == {src_mac}"))
        .output()
        .expect("tshark");
    let text = String::from_utf8_lossy(&out.stdout);
    let bad: Vec<&str> = text
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("malformed")
                || l.contains("incorrect")
                || l.contains("bad checksum")
                || l.contains("[expert info (warning")
        })
        .collect();
    assert!(bad.is_empty(), "tshark warnings on our adverts: {bad:?}");
    let n = text.matches("Virtual Router Redundancy Protocol").count();
    assert_eq!(
        text.matches("[Checksum Status: Good]").count(),
        n,
        "VRRP checksums good"
    );
    if !v6 {
        // IPv6 has no header checksum.
        assert_eq!(
            text.matches("[Header checksum status: Good]").count(),
            n,
            "IP checksums good"
        );
    }
    n
}

/// Ours (a) and the reference (b) with `extra` config lines; `ours_high`: who has priority
/// 150. Checks election, failover to the other on SIGSTOP of the master, and pre-emption back.
fn interop(tag: &str, vrid: u8, extra_a: &str, extra_b: &str, ours_high: bool, advert: &str) {
    interop_vip(tag, vrid, extra_a, extra_b, ours_high, advert, VIP, 24);
}

#[allow(clippy::too_many_arguments)]
fn interop_vip(
    tag: &str,
    vrid: u8,
    extra_a: &str,
    extra_b: &str,
    ours_high: bool,
    advert: &str,
    vip: &str,
    plen: u8,
) {
    let v6 = vip.contains(':');
    let lab = Lab::new(tag).expect("lab");
    let vips = format!("    {vip}/{plen}");
    let (pa, pb) = if ours_high { (150, 100) } else { (100, 150) };
    let mk = |p: u8, extra: &str| {
        instance("VI_1", vrid, p, extra, &vips)
            .replace("advert_int 1", &format!("advert_int {advert}"))
    };
    let mut a = director(&lab, "a", "10.0.0.1", &mk(pa, extra_a));
    let b = director(&lab, "b", "10.0.0.2", &mk(pb, extra_b));
    if v6 {
        a.host.add_addr("fd00::1/64").expect("a6");
        b.host.add_addr("fd00::2/64").expect("b6");
    }
    let cap = lab.capture("a", "eth0", "vrrp").expect("capture");
    std::thread::sleep(Duration::from_millis(500));
    a.start(&lab, &[]);
    let kb = start_reference(&lab, &b);
    let (hi, lo) = if ours_high { (0, 1) } else { (1, 0) };
    let ds = [&a, &b];
    wait_holder(&ds, hi, vip, Duration::from_secs(10));
    // Stop the master: the other takes over.
    let stop_master = |sig: Signal| {
        if ours_high {
            a.proc.as_ref().expect("proc").signal(sig).expect("signal");
        } else {
            signal_tree(&kb, sig);
        }
    };
    stop_master(Signal::SIGSTOP);
    let r = wait_until(Duration::from_secs(8), || ds[lo].has_vip(vip));
    assert!(
        r.is_ok(),
        "backup did not take over; ours:\n{}\nreference:\n{}",
        a.log(),
        kb.output_so_far()
    );
    stop_master(Signal::SIGCONT);
    // The higher priority pre-empts back and the other releases.
    let t = Duration::from_secs(10);
    let r = wait_until(t, || ds[hi].has_vip(vip) && !ds[lo].has_vip(vip));
    assert!(
        r.is_ok(),
        "VIP did not move back; ours ({}):\n{}\nreference:\n{}",
        a.stats(),
        a.log(),
        kb.output_so_far()
    );
    std::thread::sleep(Duration::from_millis(1500));
    cap.signal(Signal::SIGINT).ok();
    std::thread::sleep(Duration::from_millis(500));
    let pcap = cap.pcap_path().expect("pcap").to_path_buf();
    let mac = a.host.mac("eth0").expect("mac");
    let n = tshark_clean(&pcap, &mac, v6);
    assert!(n >= 1, "tshark decoded our adverts ({n})");
    let rej = a.stats()["adverts_rejected"].as_u64().unwrap_or(0);
    assert_eq!(
        rej,
        0,
        "we rejected none of the reference's adverts: {}",
        a.stats()
    );
}

// Proves v2 + PASS authentication interop, ours the higher priority: the reference keepalived
// is backup, takes the VIP when ours is frozen, and gives it back when ours resumes; tshark
// decodes our adverts cleanly and we reject none of the reference's.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_interop_v2_pass_ours_master() {
    let auth = "  authentication {\n    auth_type PASS\n    auth_pass s3cret\n  }";
    interop("kav2a", 71, auth, auth, true, "1");
}

// Proves v2 + PASS interop with the reference as master: ours takes over when the reference is
// frozen and yields when it returns.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_interop_v2_pass_reference_master() {
    let auth = "  authentication {\n    auth_type PASS\n    auth_pass s3cret\n  }";
    interop("kav2b", 72, auth, auth, false, "1");
}

// Proves VRRPv3 interop (checksum with the pseudo-header) in both roles.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_interop_v3_both_roles() {
    interop("kav3a", 73, "  version 3", "  version 3", true, "1");
    interop("kav3b", 74, "  version 3", "  version 3", false, "1");
}

// Proves unicast interop (unicast_src_ip / unicast_peer) in both roles.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_interop_unicast_both_roles() {
    let ua = "  unicast_src_ip 10.0.0.1\n  unicast_peer {\n    10.0.0.2\n  }";
    let ub = "  unicast_src_ip 10.0.0.2\n  unicast_peer {\n    10.0.0.1\n  }";
    interop("kauna", 75, ua, ub, true, "1");
    interop("kaunb", 76, ua, ub, false, "1");
}

// Proves v2 IPsec-AH authentication interop (HMAC-MD5-96 ICV, SPI = source address, sequence
// numbers) in both roles.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_interop_v2_ah_both_roles() {
    let auth = "  authentication {\n    auth_type AH\n    auth_pass s3cret\n  }";
    interop("kaaha", 77, auth, auth, true, "1");
    interop("kaahb", 78, auth, auth, false, "1");
}

// Proves IPv6 VRRPv3 interop (link-local source, ff02::12, pseudo-header checksum) in both
// roles; tshark decodes our IPv6 adverts with good checksums.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_interop_ipv6_v3_both_roles() {
    interop_vip(
        "ka6a",
        79,
        "  version 3",
        "  version 3",
        true,
        "1",
        "fd00::10",
        64,
    );
    interop_vip(
        "ka6b",
        80,
        "  version 3",
        "  version 3",
        false,
        "1",
        "fd00::10",
        64,
    );
}

// Proves virtual_routes and virtual_rules match the reference: ours and keepalived 2.2.7, each a lone master in
// its own namespace with the same instance, install the same routes (`ip route show proto 18`
// in the main table and table 100, compared line by line).
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_interop_virtual_routes_same_as_reference() {
    let vips = format!("    {VIP}/24");
    let extra = "  virtual_routes {\n    192.0.2.0/24 via 10.0.0.254\n    src 10.0.0.1 203.0.113.0/24 dev eth0 metric 7\n    blackhole 198.51.100.0/24 table 100\n  }\n  virtual_rules {\n    from 10.0.0.100 table 100 priority 200\n    to 192.0.2.0/24 fwmark 0x7/0xff lookup 101 preference 201\n  }";
    let conf = instance("VI_1", 81, 150, extra, &vips);
    let mut tables = Vec::new();
    for reference in [false, true] {
        let lab = Lab::new(if reference { "karta" } else { "kartb" }).expect("lab");
        let mut d = director(&lab, "a", "10.0.0.1", &conf);
        let _ref_proc = if reference {
            Some(start_reference(&lab, &d))
        } else {
            d.start(&lab, &[]);
            None
        };
        wait_until(Duration::from_secs(10), || d.has_vip(VIP)).expect("master holds the VIP");
        let show = |d: &Director| {
            let mut s = d
                .host
                .ip(&["route", "show", "proto", "18"])
                .unwrap_or_default();
            s.push_str(
                &d.host
                    .ip(&["route", "show", "table", "100", "proto", "18"])
                    .unwrap_or_default(),
            );
            for l in d.host.ip(&["rule", "show"]).unwrap_or_default().lines() {
                if l.starts_with("200:") || l.starts_with("201:") {
                    s.push_str(l);
                    s.push('\n');
                }
            }
            s
        };
        wait_until(Duration::from_secs(3), || show(&d).lines().count() == 5).unwrap_or_else(|_| {
            panic!(
                "routes of {}: {}",
                if reference { "reference" } else { "ours" },
                show(&d)
            )
        });
        tables.push(show(&d));
    }
    eprintln!("ours:\n{}reference:\n{}", tables[0], tables[1]);
    assert_eq!(tables[0], tables[1]);
}

// Proves the typed route and rule values reach the kernel as keepalived's do: ours and
// keepalived 2.2.7, each a lone master in its own namespace with the same instance, install the
// same routes and rules (`ip -d route show table all` for the test prefixes, `ip -d rule show`)
// for route types throw/unreachable/prohibit, iproute2 names and C numbers (table `main`,
// `0x64`, `protocol static`), scope, metric, `no_track` with its own protocol, and rules
// without a preference (keepalived's count-down from 16384), with tos, fwmark, iif, goto,
// blackhole and a protocol of their own.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_interop_typed_routes_and_rules_same_as_reference() {
    let vips = format!("    {VIP}/24");
    let extra = "  virtual_routes {\n    throw 203.0.113.0/24 table 100\n    unreachable 198.51.100.0/25 scope link protocol static no_track\n    192.0.2.128/25 via 10.0.0.254 table main metric 9 dev eth0 protocol 4 no_track\n    prohibit 198.51.100.128/25 table 0x64\n  }\n  virtual_rules {\n    from 10.0.0.100 table 100\n    to 192.0.2.0/24 lookup 101\n    fwmark 9 preference 300 goto 302\n    iif eth0 tos 0x10 preference 301 blackhole\n    from 10.0.0.99 preference 302 table 102 protocol 7 no_track\n  }";
    let conf = instance("VI_1", 83, 150, extra, &vips);
    let mut seen = Vec::new();
    for reference in [false, true] {
        let lab = Lab::new(if reference { "kartyr" } else { "kartyo" }).expect("lab");
        let mut d = director(&lab, "a", "10.0.0.1", &conf);
        let _ref_proc = if reference {
            Some(start_reference(&lab, &d))
        } else {
            d.start(&lab, &[]);
            None
        };
        wait_until(Duration::from_secs(10), || d.has_vip(VIP)).expect("master holds the VIP");
        let show = |d: &Director| {
            let mut s: Vec<String> = d
                .host
                .ip(&["-d", "route", "show", "table", "all"])
                .unwrap_or_default()
                .lines()
                .filter(|l| {
                    ["203.0.113.", "198.51.100.", "192.0.2.128"]
                        .iter()
                        .any(|p| l.contains(p))
                })
                .map(String::from)
                .collect();
            s.sort();
            let mut r: Vec<String> = d
                .host
                .ip(&["-d", "rule", "show"])
                .unwrap_or_default()
                .lines()
                .filter(|l| {
                    !l.starts_with("0:") && !l.starts_with("32766:") && !l.starts_with("32767:")
                })
                .map(String::from)
                .collect();
            r.sort();
            s.extend(r);
            s.join("\n")
        };
        wait_until(Duration::from_secs(5), || show(&d).lines().count() >= 9).unwrap_or_else(|_| {
            panic!(
                "routes/rules of {}: {}\n{}",
                if reference { "reference" } else { "ours" },
                show(&d),
                d.log()
            )
        });
        std::thread::sleep(Duration::from_millis(500));
        seen.push(show(&d));
    }
    eprintln!("ours:\n{}\nreference:\n{}", seen[0], seen[1]);
    assert_eq!(seen[0], seen[1]);
    // the preferences keepalived gave the rules without one
    assert!(
        seen[0].contains("16384:") && seen[0].contains("16383:"),
        "{}",
        seen[0]
    );
}

// Proves static_ipaddress, static_routes and static_rules match the reference: ours and
// keepalived 2.2.7, each alone in its namespace with the same configuration, install the same
// static address (`ip -o addr`), route (`ip route`) and rule (`ip rule`) at start, whatever the VRRP state; ours removes both
// when it stops (as keepalived's stop_vrrp does).
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_interop_static_address_and_route_same_as_reference() {
    let vips = format!("    {VIP}/24");
    let conf = format!(
        "static_ipaddress {{\n  192.0.2.9/32 dev eth0 label eth0:st\n}}\nstatic_routes {{\n  198.51.100.0/24 via 10.0.0.254\n}}\nstatic_rules {{\n  from 192.0.2.9 table 102 priority 202\n}}\n{}",
        instance("VI_1", 82, 100, "", &vips)
    );
    let show = |d: &Director| {
        let a = d
            .host
            .ip(&["-o", "addr", "show", "dev", "eth0"])
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("192.0.2.9"))
            .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join("\n");
        let r = d
            .host
            .ip(&["route", "show", "198.51.100.0/24"])
            .unwrap_or_default();
        let rule: Vec<String> = d
            .host
            .ip(&["rule", "show"])
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with("202:"))
            .map(String::from)
            .collect();
        format!("{a}\n{r}{}", rule.join("\n"))
    };
    let mut seen = Vec::new();
    for reference in [false, true] {
        let lab = Lab::new(if reference { "kasta" } else { "kastb" }).expect("lab");
        let mut d = director(&lab, "a", "10.0.0.1", &conf);
        let ref_proc = if reference {
            Some(start_reference(&lab, &d))
        } else {
            d.start(&lab, &[]);
            None
        };
        wait_until(Duration::from_secs(5), || {
            let s = show(&d);
            s.contains("192.0.2.9/32") && s.contains("198.51.100.0/24") && s.contains("202:")
        })
        .unwrap_or_else(|_| panic!("statics missing: {}", show(&d)));
        seen.push(show(&d));
        if !reference {
            d.proc
                .as_ref()
                .expect("proc")
                .signal(Signal::SIGTERM)
                .expect("term");
            wait_until(Duration::from_secs(5), || {
                let s = show(&d);
                !s.contains("192.0.2.9") && !s.contains("198.51.100.0/24") && !s.contains("202:")
            })
            .unwrap_or_else(|_| panic!("statics left after stop: {}", show(&d)));
        }
        drop(ref_proc);
    }
    eprintln!("ours:\n{}\nreference:\n{}", seen[0], seen[1]);
    assert_eq!(seen[0], seen[1]);
}

// Proves default_interface as keepalived 2.2.7 has it: ours and keepalived 2.2.7, each alone in
// its namespace with the same configuration, put a static_ipaddress without `dev` on
// default_interface (lo here), or on eth0 when default_interface is not set, and one with `dev`
// where it says (`ip -o addr`, every 192.0.2.x address with its device); the VRRP instance
// keeps its own interface. Ours removes them when it stops.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_static_ipaddress_default_interface_same_as_reference() {
    let vips = format!("    {VIP}/24");
    let statics =
        "static_ipaddress {\n  192.0.2.19/32\n  192.0.2.29/32 dev eth0\n  192.0.2.39/32 dev lo\n}\n";
    let show = |d: &Director| {
        d.host
            .ip(&["-o", "addr", "show"])
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(" 192.0.2."))
            .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    for (n, global) in [
        "global_defs {\n  default_interface lo\n}\n",
        "global_defs {\n  router_id r1\n}\n",
    ]
    .into_iter()
    .enumerate()
    {
        let conf = format!("{global}{statics}{}", instance("VI_1", 84, 100, "", &vips));
        let mut seen = Vec::new();
        for reference in [false, true] {
            let lab =
                Lab::new(&format!("kadf{n}{}", if reference { "r" } else { "o" })).expect("lab");
            let mut d = director(&lab, "a", "10.0.0.1", &conf);
            let ref_proc = if reference {
                Some(start_reference(&lab, &d))
            } else {
                d.start(&lab, &[]);
                None
            };
            wait_until(Duration::from_secs(5), || show(&d).lines().count() >= 3)
                .unwrap_or_else(|_| panic!("statics missing: {}\n{}", show(&d), d.log()));
            std::thread::sleep(Duration::from_millis(300));
            seen.push(show(&d));
            if !reference {
                d.proc
                    .as_ref()
                    .expect("proc")
                    .signal(Signal::SIGTERM)
                    .expect("term");
                wait_until(Duration::from_secs(5), || show(&d).is_empty())
                    .unwrap_or_else(|_| panic!("statics left after stop: {}", show(&d)));
            }
            drop(ref_proc);
        }
        eprintln!("ours:\n{}\nreference:\n{}", seen[0], seen[1]);
        assert_eq!(seen[0], seen[1]);
        let on = if n == 0 { "lo" } else { "eth0" };
        assert!(
            seen[0]
                .lines()
                .any(|l| l.starts_with(on) && l.contains("192.0.2.19/32")),
            "{}",
            seen[0]
        );
    }
}

/// Gratuitous ARPs from `mac` in `pcap`: (seconds since the first, sender address).
fn garps(pcap: &std::path::Path, mac: &str) -> Vec<(f64, String)> {
    let out = tshark_fields(
        pcap,
        &format!("arp.isgratuitous && eth.src == {mac}"),
        &["frame.time_relative", "arp.src.proto_ipv4"],
    );
    let v: Vec<(f64, String)> = out
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?.parse().ok()?, f.next()?.to_string()))
        })
        .collect();
    let t0 = v.first().map(|x| x.0).unwrap_or(0.0);
    v.into_iter().map(|(t, a)| (t - t0, a)).collect()
}

// Proves garp_group paces gratuitous ARPs as the reference does: ours and keepalived 2.2.7, each a
// lone master in its own namespace with two VIPs, `vrrp_garp_master_repeat 3` and a garp_group
// giving eth0 `garp_interval 0.2`, send one GARP per 200 ms on the interface, starting with the
// first VIP, and announce every VIP (a capture on eth0, decoded by tshark). Without the group
// all of them would leave at once. One deliberate difference: keepalived 2.2.7 keeps one
// "pending" flag per address, so once a GARP is delayed the configured repeats collapse into
// one (A, A, B here); keepalived 2.3.2 fixed that (commit b1d9e375: "only one more GARP/GNA would
// be sent, rather than the number configured") and sends all six round robin, as we do.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_interop_garp_group_pacing_same_as_reference() {
    let vips = format!("    {VIP}/24\n    10.0.0.11/24");
    let conf = format!(
        "global_defs {{\n  vrrp_garp_master_delay 0\n  vrrp_garp_master_repeat 3\n}}\ngarp_group {{\n  garp_interval 0.2\n  interface eth0\n}}\n{}",
        instance("VI_1", 83, 150, "", &vips)
    );
    let mut seen = Vec::new();
    for reference in [false, true] {
        let lab = Lab::new(if reference { "kagpa" } else { "kagpb" }).expect("lab");
        let mut d = director(&lab, "a", "10.0.0.1", &conf);
        let cap = lab.capture("a", "eth0", "garp").expect("capture");
        std::thread::sleep(Duration::from_millis(500));
        let ref_proc = if reference {
            Some(start_reference(&lab, &d))
        } else {
            d.start(&lab, &[]);
            None
        };
        wait_until(Duration::from_secs(10), || d.has_vip(VIP)).expect("master holds the VIP");
        std::thread::sleep(Duration::from_millis(2500));
        cap.signal(Signal::SIGINT).ok();
        std::thread::sleep(Duration::from_millis(500));
        let pcap = cap.pcap_path().expect("pcap").to_path_buf();
        let mac = d.host.mac("eth0").expect("mac");
        let g = garps(&pcap, &mac);
        let who = if reference { "reference" } else { "ours" };
        eprintln!("{who}: {g:?}");
        assert!(g.len() >= 2, "{who}: GARPs: {g:?}");
        for w in g.windows(2) {
            let gap = w[1].0 - w[0].0;
            assert!(
                (0.18..0.35).contains(&gap),
                "{who}: GARPs on eth0 spaced by the group's 200 ms: {g:?}"
            );
        }
        seen.push(g.into_iter().map(|x| x.1).collect::<Vec<_>>());
        drop(ref_proc);
    }
    let (a, b) = (VIP.to_string(), "10.0.0.11".to_string());
    assert_eq!(
        seen[0],
        [&a, &b, &a, &b, &a, &b].map(String::clone),
        "ours: 3 each, round robin"
    );
    assert_eq!(
        seen[1],
        [&a, &a, &b].map(String::clone),
        "keepalived 2.2.7: repeats collapse once delayed"
    );
}

/// Runs `conf` under ours, then under the reference, each a lone master in a fresh lab (`setup`
/// prepares host "a" after its eth0 got 10.0.0.1/24 and fd00::1/64), waits until every string
/// of `placed` shows in the output of the shell `script`, records that output (eth0's
/// link-local written as ETH0-LL; lifetimes and the expiry of an IPv6 VIP's prefix route left
/// out: our VIP lease differs by design), stops
/// the daemon and waits until no VMAC and no nftables table is left. Returns [ours, reference].
fn vmac_state_ours_and_reference(
    tags: [&str; 2],
    conf: &str,
    script: &str,
    placed: &[&str],
    setup: impl Fn(&Lab, &Director),
) -> Vec<String> {
    let show = |d: &Director| {
        let out = d.host.sh(script).unwrap_or_default();
        let ll = Some(d.eth0_link_local())
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| "none".into());
        out.lines()
            .filter(|l| !l.contains("valid_lft"))
            .map(|l| {
                // The IPv6 VIP's prefix route expires with the VIP's lease ("expires 4sec").
                let l = match l.find(" expires ") {
                    Some(i) => {
                        let rest = &l[i + " expires ".len()..];
                        match rest.find("sec") {
                            Some(j) if rest[..j].bytes().all(|b| b.is_ascii_digit()) => {
                                format!("{}{}", &l[..i], &rest[j + "sec".len()..])
                            }
                            _ => l.to_string(),
                        }
                    }
                    None => l.to_string(),
                };
                l.replace(" dynamic", "").replace(&ll, "ETH0-LL")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut seen = Vec::new();
    for (tag, reference) in tags.into_iter().zip([false, true]) {
        let who = if reference { "reference" } else { "ours" };
        let lab = Lab::new(tag).expect("lab");
        let mut d = director(&lab, "a", "10.0.0.1", conf);
        d.host.add_addr("fd00::1/64").expect("a6");
        setup(&lab, &d);
        std::thread::sleep(Duration::from_millis(300));
        let ref_proc = if reference {
            Some(start_reference(&lab, &d))
        } else {
            d.start(&lab, &[]);
            None
        };
        let r = wait_until(Duration::from_secs(10), || {
            let s = show(&d);
            placed.iter().all(|p| s.contains(p))
        });
        assert!(
            r.is_ok(),
            "{who}: VIPs not placed:\n{}\n{}",
            show(&d),
            d.log()
        );
        std::thread::sleep(Duration::from_millis(500));
        seen.push(show(&d));
        match &ref_proc {
            Some(p) => signal_tree(p, Signal::SIGTERM),
            None => {
                d.proc
                    .as_ref()
                    .expect("proc")
                    .signal(Signal::SIGTERM)
                    .expect("term");
            }
        }
        let gone = |d: &Director| {
            d.host
                .ip(&["-o", "link", "show"])
                .unwrap_or_default()
                .lines()
                .all(|l| !l.contains("vrrp"))
        };
        let r = wait_until(Duration::from_secs(5), || gone(&d));
        assert!(r.is_ok(), "{who} left VMACs");
        // Nor the nftables tables its VMACs made (keepalived 2.2.7's nft_end).
        let r = wait_until(Duration::from_secs(5), || {
            nft_ruleset(&d.host).trim().is_empty()
        });
        assert!(
            r.is_ok(),
            "{who} left nftables tables:\n{}",
            nft_ruleset(&d.host)
        );
        drop(ref_proc);
    }
    eprintln!("ours:\n{}\nreference:\n{}", seen[0], seen[1]);
    seen
}

// Proves use_vmac (IPv4 and IPv6) sets up the same interfaces as the reference: ours and
// keepalived 2.2.7, each a lone master in its own namespace with an IPv4 and an
// IPv6 `use_vmac` instance, leave the same VMAC links (`ip -d link`: macvlan private, virtual
// MACs 00:00:5e:00:01:43 / 00:00:5e:00:02:44, addrgenmode none), the same addresses on them
// (the IPv6 VMAC carries eth0's link-local, nodad, deprecated; the IPv6 VIP nodad), the same
// routes and the same IPv4/IPv6 sysctls on the VMACs and eth0. Only our VIP lease differs
// (`valid_lft`, and the expiry of the IPv6 VIP's prefix route, by design), so lifetimes are
// left out of the comparison; the same `nft list ruleset` (each VMAC in its family's
// `vmac_map`, the IPv6 one in `vmac_set`, with their IGMP/MLD/ND drop rules). At stop both
// delete the VMACs and the tables.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_interop_use_vmac_same_as_reference() {
    let conf = format!(
        "{}{}",
        instance("V6", 68, 150, "  version 3\n  use_vmac", "    fd00::10/64"),
        instance("V4", 67, 150, "  use_vmac", &format!("    {VIP}/24"))
    );
    let script = "ip -d link show | grep -A2 vrrp | sed 's/^[0-9]*: //'; \
        for i in vrrp.68 vrrp.67; do ip addr show dev $i | sed 's/^[0-9]*: //'; done; \
        ip -6 route; ip route; \
        for i in vrrp.68 vrrp.67 eth0; do for k in addr_gen_mode disable_ipv6 accept_dad; do \
          echo $i $k $(cat /proc/sys/net/ipv6/conf/$i/$k); done; done; \
        for i in vrrp.68 vrrp.67 eth0; do for k in arp_ignore arp_filter accept_local rp_filter promote_secondaries; do \
          echo $i $k $(cat /proc/sys/net/ipv4/conf/$i/$k); done; done; nft list ruleset";
    let seen = vmac_state_ours_and_reference(
        ["kavmb", "kavma"],
        &conf,
        script,
        &["inet 10.0.0.10/24", "inet6 fd00::10/64"],
        |_, _| {},
    );
    assert_eq!(seen[0], seen[1]);
}

// Proves IPv6 use_vmac interop: ours (priority 150) and the reference (100), both VRRPv3 IPv6
// with use_vmac, elect ours — its VIP on its VMAC, none on the reference's; when ours is
// frozen the reference takes the VIP on its own VMAC, and gives it back when ours resumes.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_interop_use_vmac_ipv6_failover() {
    let lab = Lab::new("kav6").expect("lab");
    let mk = |p: u8| {
        instance("VI_6", 69, p, "  version 3\n  use_vmac", "    fd00::10/64")
            .replace("advert_int 1", "advert_int 0.5")
    };
    let mut a = director(&lab, "a", "10.0.0.1", &mk(150));
    let b = director(&lab, "b", "10.0.0.2", &mk(100));
    a.host.add_addr("fd00::1/64").expect("a6");
    b.host.add_addr("fd00::2/64").expect("b6");
    std::thread::sleep(Duration::from_millis(300));
    a.start(&lab, &[]);
    let kb = start_reference(&lab, &b);
    let on_vmac = |d: &Director| {
        d.host
            .ip(&["-o", "-6", "addr", "show", "dev", "vrrp.69"])
            .unwrap_or_default()
            .contains(" fd00::10/64 ")
    };
    let r = wait_until(Duration::from_secs(10), || on_vmac(&a) && !on_vmac(&b));
    assert!(
        r.is_ok(),
        "ours not the only holder; ours:\n{}\nreference:\n{}",
        a.log(),
        kb.output_so_far()
    );
    // Let the reference hear a few adverts, then freeze ours.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(on_vmac(&a) && !on_vmac(&b), "reference stayed backup");
    a.proc
        .as_ref()
        .expect("proc")
        .signal(Signal::SIGSTOP)
        .expect("stop");
    let r = wait_until(Duration::from_secs(5), || on_vmac(&b));
    assert!(r.is_ok(), "reference took over:\n{}", kb.output_so_far());
    a.proc
        .as_ref()
        .expect("proc")
        .signal(Signal::SIGCONT)
        .expect("cont");
    let r = wait_until(Duration::from_secs(8), || on_vmac(&a) && !on_vmac(&b));
    assert!(
        r.is_ok(),
        "VIP back on ours; ours:\n{}\nreference:\n{}",
        a.log(),
        kb.output_so_far()
    );
    let rej = a.stats()["adverts_rejected"].as_u64().unwrap_or(0);
    assert_eq!(
        rej,
        0,
        "we rejected none of the reference's adverts: {}",
        a.stats()
    );
}

// Proves use_vmac interop in both roles, with two IPv4 instances (VRIDs 1, 2, /32 VIPs outside
// the subnet) and an IPv6 one: the reference 2.2.7 as master (started first, holding all three
// VIPs on its VMACs) and ours as backup: ours counts the reference's adverts for every instance
// (received on its VMACs), never becomes master, holds nothing; then ours stops, the roles swap
// (ours at 150 started, the reference restarted at 100): ours holds all three, the reference's
// host none, and ours rejected none of the reference's adverts.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_interop_use_vmac_backup_hears_reference() {
    let lab = Lab::new("kavh").expect("lab");
    let mut a = director(&lab, "a", "10.0.0.1", &vmac_trio(100));
    let b = director(&lab, "b", "10.0.0.2", &vmac_trio(150));
    a.host.add_addr("fd00::1/64").expect("a6");
    b.host.add_addr("fd00::2/64").expect("b6");
    std::thread::sleep(Duration::from_millis(300));
    let kb = start_reference(&lab, &b);
    wait_until(Duration::from_secs(15), || {
        vmac_trio_held(&b) == vmac_trio_all()
    })
    .unwrap_or_else(|_| {
        panic!(
            "reference holds {:?}\n{}",
            vmac_trio_held(&b),
            kb.output_so_far()
        )
    });
    a.start(&lab, &[]);
    let insts = ["VI_1", "VI_2", "VI_6"];
    let heard = wait_until(Duration::from_secs(20), || {
        adverts_rcvd(&a, &insts).iter().all(|n| *n >= 10)
    });
    assert!(
        heard.is_ok(),
        "ours received per instance {:?}; ours holds {:?}\n{}",
        adverts_rcvd(&a, &insts),
        vmac_trio_held(&a),
        a.log()
    );
    assert_eq!(vmac_trio_held(&b), vmac_trio_all(), "reference holds all");
    assert_eq!(vmac_trio_held(&a), Vec::new(), "ours holds none");
    assert_eq!(
        a.stats()["became_master"],
        0,
        "ours never master: {}",
        a.stats()
    );
    assert_eq!(a.stats()["adverts_rejected"], 0, "{}", a.stats());
    // Roles swapped: ours the master, the reference the backup.
    a.proc
        .as_ref()
        .expect("proc")
        .stop(Duration::from_secs(10))
        .expect("stop ours");
    kb.stop(Duration::from_secs(10)).expect("stop reference");
    std::fs::write(&a.conf, vmac_trio(150)).expect("conf a");
    std::fs::write(&b.conf, vmac_trio(100)).expect("conf b");
    a.start(&lab, &[]);
    wait_until(Duration::from_secs(15), || {
        vmac_trio_held(&a) == vmac_trio_all()
    })
    .unwrap_or_else(|_| panic!("ours holds {:?}\n{}", vmac_trio_held(&a), a.log()));
    let kb = start_reference(&lab, &b);
    // The reference logs its BACKUP entries, then would log MASTER ones if it heard nothing.
    wait_until(Duration::from_secs(10), || {
        kb.output_so_far().matches("Entering BACKUP STATE").count() >= 3
    })
    .unwrap_or_else(|_| panic!("reference:\n{}", kb.output_so_far()));
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        vmac_trio_held(&b),
        Vec::new(),
        "the reference holds nothing:\n{}",
        kb.output_so_far()
    );
    assert!(
        !kb.output_so_far().contains("Entering MASTER STATE"),
        "{}",
        kb.output_so_far()
    );
    assert_eq!(vmac_trio_held(&a), vmac_trio_all(), "ours holds all");
}

// Proves gratuitous ARPs go out on each VIP's own interface, as the reference sends them: ours
// and keepalived 2.2.7, each a lone master on eth0 with a second VIP `dev eth1` (eth1 on another
// segment), send the GARPs for 10.0.0.10 on eth0 with eth0's MAC and those for 10.9.0.10 on
// eth1 with eth1's MAC — none of either on the other interface (captures on both).
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_interop_garp_on_the_vips_interface() {
    let vips = format!("    {VIP}/24\n    10.9.0.10/24 dev eth1");
    let conf = format!(
        "global_defs {{\n  vrrp_garp_master_delay 0\n  vrrp_garp_master_repeat 2\n}}\n{}",
        instance("VI_1", 84, 150, "", &vips)
    );
    let mut seen = Vec::new();
    for reference in [false, true] {
        let lab = Lab::new(if reference { "kagia" } else { "kagib" }).expect("lab");
        lab.segment("br1").expect("segment");
        let mut d = director(&lab, "a", "10.0.0.1", &conf);
        d.host.attach("eth1", "br1").expect("eth1");
        d.host
            .add_addr_dev("10.9.0.1/24", "eth1")
            .expect("eth1 addr");
        let cap0 = lab.capture("a", "eth0", "g0").expect("capture eth0");
        let cap1 = lab.capture("a", "eth1", "g1").expect("capture eth1");
        std::thread::sleep(Duration::from_millis(500));
        let ref_proc = if reference {
            Some(start_reference(&lab, &d))
        } else {
            d.start(&lab, &[]);
            None
        };
        wait_until(Duration::from_secs(10), || d.has_vip(VIP)).expect("master holds the VIP");
        std::thread::sleep(Duration::from_millis(1500));
        let mut per_if = Vec::new();
        for (cap, dev) in [(&cap0, "eth0"), (&cap1, "eth1")] {
            cap.signal(Signal::SIGINT).ok();
            std::thread::sleep(Duration::from_millis(300));
            let pcap = cap.pcap_path().expect("pcap").to_path_buf();
            let mac = d.host.mac(dev).expect("mac");
            let lines = tshark_fields(
                &pcap,
                "arp.isgratuitous",
                &["eth.src", "arp.src.hw_mac", "arp.src.proto_ipv4"],
            );
            let mut got: Vec<String> = lines
                .lines()
                .map(|l| l.replace(&mac, &format!("{dev}-MAC")))
                .collect();
            got.sort();
            got.dedup();
            per_if.push(format!("{dev}: {got:?}"));
        }
        let who = if reference { "reference" } else { "ours" };
        eprintln!("{who}: {per_if:?}");
        assert_eq!(
            per_if,
            [
                "eth0: [\"eth0-MAC\\teth0-MAC\\t10.0.0.10\"]",
                "eth1: [\"eth1-MAC\\teth1-MAC\\t10.9.0.10\"]"
            ],
            "{who}"
        );
        seen.push(per_if);
        drop(ref_proc);
    }
    assert_eq!(seen[0], seen[1]);
}

// Proves use_vmac_addr as the reference does it: ours and keepalived 2.2.7, each a lone master
// with an IPv4 `use_vmac` + `use_vmac_addr` instance on eth0 whose VIPs include one on eth1
// (another segment) and an IPv6 excluded VIP, leave the same interfaces: the instance's VMAC
// vrrp.70 (IPv6 on because of the IPv6 eVIP), vrrp1.70 on eth1 carrying the eth1 VIP, vrrp6.70
// on eth0 (IPv6 virtual MAC, eth0's link-local) carrying the eVIP — same links, addresses,
// routes and sysctls (lifetimes left out: our VIP lease), and the same `nft list ruleset`:
// every VMAC, address VMACs included, in the `vmac_map` of its family (`vrrp1.70 : eth1`),
// the IPv6 ones in `vmac_set`. Both delete all three VMACs and the tables at stop.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_interop_use_vmac_addr_same_as_reference() {
    let conf = instance(
        "V4",
        70,
        150,
        "  use_vmac\n  use_vmac_addr\n  virtual_ipaddress_excluded {\n    fd00::70/64\n  }",
        &format!("    {VIP}/24\n    10.9.0.10/24 dev eth1"),
    );
    let script = "ip -d link show | grep -A2 vrrp | sed 's/^[0-9]*: //'; \
        for i in vrrp.70 vrrp1.70 vrrp6.70; do ip addr show dev $i | sed 's/^[0-9]*: //'; done; \
        ip -6 route | grep -v '^fe80::/64 dev eth'; ip route; \
        for i in vrrp.70 vrrp1.70 vrrp6.70 eth0 eth1; do for k in addr_gen_mode disable_ipv6; do \
          echo $i $k $(cat /proc/sys/net/ipv6/conf/$i/$k); done; \
          for k in arp_ignore arp_filter accept_local rp_filter promote_secondaries; do \
          echo $i $k $(cat /proc/sys/net/ipv4/conf/$i/$k); done; done; nft list ruleset";
    let seen = vmac_state_ours_and_reference(
        ["kavab", "kavaa"],
        &conf,
        script,
        &[
            "inet 10.0.0.10/24",
            "inet 10.9.0.10/24",
            "inet6 fd00::70/64",
        ],
        |lab, d| {
            lab.segment("br1").expect("segment");
            d.host.attach("eth1", "br1").expect("eth1");
            d.host
                .add_addr_dev("10.9.0.1/24", "eth1")
                .expect("eth1 addr");
        },
    );
    assert_eq!(seen[0], seen[1]);
}

/// `nft list ruleset` in `host`'s namespace, with rule counters' values blanked (they count
/// whatever traffic passed).
fn nft_ruleset(host: &testlab::netns::Host) -> String {
    let out = host.run_ok(&["nft", "list", "ruleset"]).unwrap_or_default();
    out.lines()
        .map(|l| match l.find("counter packets ") {
            Some(i) => {
                let rest = &l[i + "counter packets ".len()..];
                // "N bytes M VERDICT..."
                let tail = rest.splitn(4, ' ').nth(3).unwrap_or("");
                format!("{}counter {tail}", &l[..i])
            }
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `vip` is on any interface of `d`'s host (its VMAC with `use_vmac`).
fn holds_vip(d: &Director, vip: &str) -> bool {
    let Ok(want) = vip.parse::<std::net::IpAddr>() else {
        return false;
    };
    netplat::netns::in_netns(&d.host.netns_path(), move || {
        let mut r = netplat::Rtnl::new()?;
        Ok(r.addresses(None)?.iter().any(|a| a.addr == want))
    })
    .and_then(|x| x)
    .unwrap_or(false)
}

/// What one implementation did with a firewall configuration: the ruleset as master, as backup
/// (a higher-priority reference peer took VI_1 over), after a graceful stop, and whether a
/// client's TCP SYN reached the IPv4 VIP while the director was master.
#[derive(Debug, PartialEq)]
struct FwRun {
    master: String,
    backup: String,
    stopped: String,
    client_reaches_vip: bool,
    /// Whether a client's ping reached the first IPv6 VIP when it is link-local (`None`
    /// otherwise).
    client_reaches_ll: Option<bool>,
}

const FW_VIP6: &str = "fd00::10";

fn firewall_run(tag: &str, ours: bool, global: &str, extra4: &str, extra6: &str) -> FwRun {
    // Strict mode wants a link-local first IPv6 VIP (a configuration error otherwise): VI_6 is
    // not strict here, `extra6` says whether it accepts.
    let extra6 = format!("  version 3\n  strict_mode false\n{extra6}");
    firewall_run_v6(
        tag,
        ours,
        global,
        extra4,
        &extra6,
        &format!("    {FW_VIP6}/64"),
    )
}

/// [`firewall_run`] with VI_6's extra lines and VIPs as given (`vips6` lists `FW_VIP6`).
fn firewall_run_v6(
    tag: &str,
    ours: bool,
    global: &str,
    extra4: &str,
    extra6: &str,
    vips6: &str,
) -> FwRun {
    let lab = Lab::new(tag).expect("lab");
    let conf = format!(
        "global_defs {{\n{global}\n}}\n{}{}",
        instance(
            "VI_1",
            51,
            150,
            extra4,
            &format!("    {VIP}/24\n    10.0.0.11/24")
        ),
        instance("VI_6", 52, 150, extra6, vips6),
    );
    let mut a = director(&lab, "a", "10.0.0.1", &conf);
    a.host.add_addr("fd00::1/64").expect("a6");
    let b = director(
        &lab,
        "b",
        "10.0.0.2",
        &instance(
            "VI_1",
            51,
            200,
            // The same VRRP version as VI_1 of `a`.
            &extra4
                .lines()
                .filter(|l| l.contains("version"))
                .collect::<Vec<_>>()
                .join("\n"),
            &format!("    {VIP}/24\n    10.0.0.11/24"),
        ),
    );
    let c = lab.host("c").expect("client");
    c.add_addr("10.0.0.3/24").expect("c addr");
    let ka;
    let who = if ours {
        a.start(&lab, &[]);
        "ours"
    } else {
        ka = start_reference(&lab, &a);
        a.proc = Some(ka);
        "reference"
    };
    let r = wait_until(Duration::from_secs(10), || {
        holds_vip(&a, VIP) && holds_vip(&a, FW_VIP6)
    });
    assert!(r.is_ok(), "{who} did not become master:\n{}", a.log());
    // Both instances are master once their VIPs are there; the firewall went in first.
    std::thread::sleep(Duration::from_millis(300));
    let master = nft_ruleset(&a.host);
    // A TCP connection to a closed port of the VIP: refused (curl's 7) when the packet got
    // there, a time-out (28) when it was dropped.
    let url = format!("http://{VIP}:9/");
    let client_reaches_vip = c
        .run(&["curl", "-s", "-m", "2", &url])
        .map(|o| matches!(o.status.code(), Some(0 | 7)))
        .unwrap_or(false);
    let ll = vips6
        .split_whitespace()
        .next()
        .and_then(|v| v.split('/').next())
        .filter(|v| v.starts_with("fe80:"));
    let client_reaches_ll = ll.map(|v| {
        c.run(&["ping", "-6", "-c", "1", "-W", "1", &format!("{v}%eth0")])
            .map(|o| o.status.success())
            .unwrap_or(false)
    });
    // A higher-priority peer (the reference, in both runs) takes VI_1 over.
    let kb = start_reference(&lab, &b);
    let ds = [&a, &b];
    wait_holder(&ds, 1, VIP, Duration::from_secs(12));
    // With use_vmac the VIP is on a's VMAC, which `wait_holder` does not look at.
    let r = wait_until(Duration::from_secs(5), || !holds_vip(&a, VIP));
    assert!(r.is_ok(), "{who} kept the VIP:\n{}", a.log());
    std::thread::sleep(Duration::from_millis(300));
    let backup = nft_ruleset(&a.host);
    let st = a.proc.as_ref().expect("proc").stop(Duration::from_secs(10));
    assert!(st.is_ok(), "{who} stopped");
    let stopped = nft_ruleset(&a.host);
    kb.stop(Duration::from_secs(5)).ok();
    FwRun {
        master,
        backup,
        stopped,
        client_reaches_vip,
        client_reaches_ll,
    }
}

fn firewall_same_as_reference(tag: &str, global: &str, extra4: &str, extra6: &str) -> FwRun {
    let reference = firewall_run(&format!("{tag}r"), false, global, extra4, extra6);
    let ours = firewall_run(&format!("{tag}o"), true, global, extra4, extra6);
    same_firewall(ours, reference)
}

fn same_firewall(ours: FwRun, reference: FwRun) -> FwRun {
    assert_eq!(
        ours, reference,
        "ours (left) and the reference (right) differ"
    );
    assert!(reference.stopped.trim().is_empty(), "{reference:?}");
    ours
}

// Proves the `vrrp_strict` VIP firewall (nftables backend): the same configuration under ours
// and under the reference 2.2.7 gives the same `nft list ruleset` as master (ip and ip6 tables
// `keepalived`, set `vips`, in/out drop chains at priority filter - 1, the ip6 neighbour
// discovery and link-local chains; the IPv6 instance by `no_accept`), as backup (VI_1's addresses out of the set, tables kept)
// and after stop (no tables); a client cannot reach the VIP under either.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_interop_strict_nftables_same_as_reference() {
    let r = firewall_same_as_reference("fwst", "  vrrp_strict", "", "  no_accept");
    assert!(r.master.contains("table ip keepalived"), "{}", r.master);
    assert!(r.master.contains("elements = { 10.0.0.10, 10.0.0.11 }"));
    assert!(r.master.contains("table ip6 keepalived"));
    assert!(!r.backup.contains("10.0.0.10"), "{}", r.backup);
    assert!(!r.client_reaches_vip, "the strict master's VIP answered");
}

// Proves `no_accept` without strict mode, `nftables TABLE`, `nftables_priority`,
// `nftables_counters` and `nftables_ifindex`, and `accept` on a v3 instance: same rulesets
// as the reference (table `kad`, chains at priority filter - 5, counters on every rule, no ip6
// table as VI_6 accepts), and the client reaches nothing on VI_1's VIP.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_interop_nftables_settings_same_as_reference() {
    let g = "  nftables kad\n  nftables_priority -5\n  nftables_counters\n  nftables_ifindex";
    let r = firewall_same_as_reference("fwse", g, "  no_accept", "  accept");
    assert!(r.master.contains("table ip kad"), "{}", r.master);
    assert!(r.master.contains("priority filter - 5"));
    assert!(r.master.contains("counter drop"));
    assert!(!r.master.contains("ip6"), "{}", r.master);
    assert!(!r.client_reaches_vip);
}

// Proves `accept` under `vrrp_strict` on a v3 instance: no firewall for it under ours or the
// reference (same rulesets), and a client reaches the VIP.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_interop_strict_accept_v3_reaches_vip() {
    let r =
        firewall_same_as_reference("fwac", "  vrrp_strict", "  version 3\n  accept", "  accept");
    assert!(r.master.trim().is_empty(), "{}", r.master);
    assert!(r.client_reaches_vip, "the VIP did not answer with accept");
}

// Proves a killed run's firewall is cleaned: ours, SIGKILLed as a strict master, leaves its
// tables; started again, it replaces them with one fresh set of tables (the same ruleset as
// the first run's), and removes them at stop.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_strict_nftables_leftover_of_killed_run_cleaned() {
    let lab = Lab::new("fwkill").expect("lab");
    let conf = format!(
        "global_defs {{\n  vrrp_strict\n}}\n{}",
        instance("VI_1", 51, 150, "", &format!("    {VIP}/24"))
    );
    let mut a = director(&lab, "a", "10.0.0.1", &conf);
    a.start(&lab, &[]);
    let r = wait_until(Duration::from_secs(10), || a.has_vip(VIP));
    assert!(r.is_ok(), "not master:\n{}", a.log());
    std::thread::sleep(Duration::from_millis(300));
    let first = nft_ruleset(&a.host);
    assert!(first.contains("elements = { 10.0.0.10 }"), "{first}");
    a.proc.as_ref().expect("proc").kill();
    assert_eq!(
        nft_ruleset(&a.host),
        first,
        "a killed run leaves its tables"
    );
    a.start(&lab, &[]);
    std::thread::sleep(Duration::from_millis(500));
    let r = wait_until(Duration::from_secs(10), || {
        a.log().contains("setting firewall drop rule")
    });
    assert!(r.is_ok(), "no firewall:\n{}", a.log());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(nft_ruleset(&a.host), first, "{}", a.log());
    a.proc
        .as_ref()
        .expect("proc")
        .stop(Duration::from_secs(10))
        .ok();
    assert_eq!(nft_ruleset(&a.host), "");
}

// Proves the link-local IPv6 VIP firewall of `vrrp_strict` and `nftables_ifindex`, as the
// reference 2.2.7: a strict v3 instance whose first VIP is fe80::10 gets the set
// `vips_link_local` (`type ipv6_addr . iface_index`, element `fe80::10 . "eth0"`) and the
// rules `ip6 daddr . iif @vips_link_local drop` / `ip6 saddr . oif ...` in in_link_local and
// out_link_local; with `dont_track_primary` the set is `vips_link_local_name` (`ipv6_addr .
// ifname`, matched on iifname/oifname), unless `nftables_ifindex` keeps the index set. Same
// `nft list ruleset` as the reference as master, backup and after stop; a client's ping to
// fe80::10 gets no answer under either.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_interop_strict_link_local_vips_same_as_reference() {
    let vips6 = format!("    fe80::10/64\n    {FW_VIP6}/64");
    let cases = [
        (
            "",
            "",
            "vips_link_local {",
            "ip6 daddr . iif @vips_link_local drop",
        ),
        (
            "",
            "  dont_track_primary\n",
            "vips_link_local_name {",
            "ip6 daddr . iifname @vips_link_local_name drop",
        ),
        (
            "  nftables_ifindex\n",
            "  dont_track_primary\n",
            "vips_link_local {",
            "ip6 saddr . oif @vips_link_local drop",
        ),
    ];
    for (n, (g, extra, set, rule)) in cases.into_iter().enumerate() {
        let global = format!("  vrrp_strict\n{g}");
        let extra6 = format!("  version 3\n{extra}");
        let run =
            |tag: String, ours: bool| firewall_run_v6(&tag, ours, &global, "", &extra6, &vips6);
        let reference = run(format!("fwll{n}r"), false);
        let ours = run(format!("fwll{n}o"), true);
        let r = same_firewall(ours, reference);
        assert!(r.master.contains(set), "case {n}: {}", r.master);
        assert!(r.master.contains(rule), "case {n}: {}", r.master);
        assert!(
            r.master.contains("fe80::10 . \"eth0\""),
            "case {n}: {}",
            r.master
        );
        assert!(
            r.master.contains("elements = { fd00::10 }"),
            "case {n}: {}",
            r.master
        );
        assert_eq!(r.client_reaches_ll, Some(false), "case {n}");
    }
}

// Proves `vrrp_iptables` as the reference 2.2.7 (Debian build: NFTABLES, no IPTABLES): it
// reports "iptables not supported, using nftables instead" and selects the nftables table
// `keepalived` at the default priority, overriding an earlier `nftables kad` and
// `nftables_priority -5`; same rulesets as the reference, and the client reaches nothing.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_interop_vrrp_iptables_is_nftables_same_as_reference() {
    let g = "  vrrp_strict\n  nftables kad\n  nftables_priority -5\n  vrrp_iptables";
    let r = firewall_same_as_reference("fwip", g, "", "  no_accept");
    assert!(r.master.contains("table ip keepalived"), "{}", r.master);
    assert!(r.master.contains("priority filter - 1;"), "{}", r.master);
    assert!(!r.master.contains("kad"), "{}", r.master);
    assert!(!r.client_reaches_vip);
}

// Proves the nftables firewall of `use_vmac` as the reference 2.2.7 (nft_add_vmac /
// nft_remove_vmac): with `vrrp_strict` and an IPv4 VMAC instance, the ip table gets, when
// the VMAC is created, the map `vmac_map` (`iface_index : iface_index`, element
// `"vrrp.51" : "eth0"`) and the rule `ip protocol igmp meta oifkind "macvlan" dup to ip daddr
// device oif map @vmac_map drop` in chain `out`, before the VIP chains and sets; without
// strict mode (`accept`) a VMAC alone makes the tables (IPv4 and IPv6 VMACs: the ip6 table
// has `vmac_map`, `vmac_set`, the MLDv2 report rule and `icmpv6 type nd-router-solicit meta
// oifkind "macvlan" oif @vmac_set drop`) and the client reaches the VIP; with
// `disable_local_igmp` the IPv4 VMAC gets nothing (no ip table), the IPv6 one keeps its rules;
// an IPv6 excluded VIP puts the IPv4 VMAC in the ip6 map and set too. Same `nft list
// ruleset` under ours and the reference as master, as backup (VMAC entries kept) and after
// stop (nothing left).
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_interop_use_vmac_nftables_same_as_reference() {
    let v4_vmac = [
        "map vmac_map {",
        "type iface_index : iface_index",
        "\"vrrp.51\" : \"eth0\"",
        "ip protocol igmp meta oifkind \"macvlan\" dup to ip daddr device oif map @vmac_map drop",
    ];
    let v6_vmac = [
        "set vmac_set {",
        "icmpv6 type mld2-listener-report meta oifkind \"macvlan\" dup to ip6 daddr device oif map @vmac_map drop",
        "icmpv6 type nd-router-solicit meta oifkind \"macvlan\" oif @vmac_set drop",
    ];
    let excluded6 = "  use_vmac\n  virtual_ipaddress_excluded {\n    fd00::51/64\n  }";
    // (global, VI_1, VI_6, client reaches VI_1's VIP, in the ruleset, not in it)
    type Case<'a> = (&'a str, &'a str, &'a str, bool, Vec<&'a str>, Vec<&'a str>);
    let cases: [Case<'_>; 4] = [
        (
            "  vrrp_strict",
            "  use_vmac",
            "  no_accept",
            false,
            [&v4_vmac[..], &["ip saddr @vips drop"]].concat(),
            vec!["vmac_set"],
        ),
        (
            "",
            "  use_vmac",
            "  use_vmac\n  accept",
            true,
            [&v4_vmac[..], &v6_vmac[..], &["\"vrrp.52\" : \"eth0\""]].concat(),
            vec!["@vips"],
        ),
        // disable_local_igmp: nothing for the IPv4 VMAC, the IPv6 one keeps its rules.
        (
            "  disable_local_igmp",
            "  use_vmac",
            "  use_vmac\n  accept",
            true,
            [&v6_vmac[..], &["\"vrrp.52\" : \"eth0\""]].concat(),
            vec!["table ip keepalived", "vrrp.51"],
        ),
        // An IPv6 excluded VIP on the IPv4 VMAC instance: its VMAC in the ip6 map and set too.
        (
            "",
            excluded6,
            "  accept",
            true,
            [&v4_vmac[..], &v6_vmac[..], &["elements = { \"vrrp.51\" }"]].concat(),
            vec!["@vips", "vrrp.52"],
        ),
    ];
    for (n, (global, extra4, extra6, reaches, has, hasnt)) in cases.into_iter().enumerate() {
        let r = firewall_same_as_reference(&format!("fwvm{n}"), global, extra4, extra6);
        for state in [&r.master, &r.backup] {
            for h in &has {
                assert!(state.contains(h), "case {n}: no {h} in\n{state}");
            }
            for h in &hasnt {
                assert!(!state.contains(h), "case {n}: {h} in\n{state}");
            }
        }
        assert_eq!(r.client_reaches_vip, reaches, "case {n}");
    }
}

/// One implementation's run of a strict `use_vmac` master that is killed and started again:
/// the ruleset as master, after the kill, as master again, after stop, and whether the VMAC
/// is left after the kill and after the stop.
#[derive(Debug, PartialEq)]
struct VmacKillRun {
    first: String,
    killed: String,
    again: String,
    stopped: String,
    vmac_after_kill: bool,
    vmac_after_stop: bool,
}

fn vmac_kill_run(tag: &str, ours: bool) -> VmacKillRun {
    let lab = Lab::new(tag).expect("lab");
    let conf = format!(
        "global_defs {{\n  vrrp_strict\n}}\n{}",
        instance("VI_1", 51, 150, "  use_vmac", &format!("    {VIP}/24"))
    );
    let mut a = director(&lab, "a", "10.0.0.1", &conf);
    let start = |a: &mut Director| {
        if ours {
            a.start(&lab, &[]);
        } else {
            a.proc = Some(start_reference(&lab, a));
        }
        let r = wait_until(Duration::from_secs(10), || holds_vip(a, VIP));
        assert!(r.is_ok(), "not master:\n{}", a.log());
        std::thread::sleep(Duration::from_millis(500));
    };
    let vmac = |a: &Director| a.host.run_ok(&["ip", "link", "show", "vrrp.51"]).is_ok();
    start(&mut a);
    let first = nft_ruleset(&a.host);
    a.proc.as_ref().expect("proc").kill();
    // The reference's VRRP worker too (a process of its own), then its pidfiles, as after a
    // reboot (a killed worker may stay a zombie of this test process holding its pid).
    let pidf = lab.dir().join("a.ka.vrrp.pid");
    if let Some(w) = std::fs::read_to_string(&pidf)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
    {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(w), Signal::SIGKILL);
        let gone = wait_until(Duration::from_secs(5), || {
            std::fs::read_to_string(format!("/proc/{w}/stat"))
                .map(|s| s.contains(") Z "))
                .unwrap_or(true)
        });
        assert!(gone.is_ok(), "worker {w} still there");
    }
    for f in ["a.ka.pid", "a.ka.vrrp.pid"] {
        let _ = std::fs::remove_file(lab.dir().join(f));
    }
    std::thread::sleep(Duration::from_millis(300));
    let killed = nft_ruleset(&a.host);
    let vmac_after_kill = vmac(&a);
    // The killed run's VIP goes (as an operator or our lease would remove it), so that
    // holding it again means master again.
    let _ = a
        .host
        .ip(&["addr", "del", &format!("{VIP}/24"), "dev", "vrrp.51"]);
    start(&mut a);
    let again = nft_ruleset(&a.host);
    a.proc
        .as_ref()
        .expect("proc")
        .stop(Duration::from_secs(10))
        .ok();
    let stopped = nft_ruleset(&a.host);
    let vmac_after_stop = vmac(&a);
    eprintln!("--- {tag} second run:\n{}", a.log());
    VmacKillRun {
        first,
        killed,
        again,
        stopped,
        vmac_after_kill,
        vmac_after_stop,
    }
}

// Proves a killed `use_vmac` run as the reference 2.2.7: the killed run leaves its tables and
// its VMAC; started again, the daemon adopts the VMAC without its VMAC map entry and rules
// (VMAC_UP_BIT skips netlink_link_add_vmac), replaces the leftover tables with fresh VIP
// ones as master, and at stop deletes the tables and the adopted VMAC (is_ours). Same
// rulesets and VMAC presence under ours and the reference.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_use_vmac_nftables_killed_run_same_as_reference() {
    let reference = vmac_kill_run("fwvkr", false);
    let ours = vmac_kill_run("fwvko", true);
    assert_eq!(
        ours, reference,
        "ours (left) and the reference (right) differ"
    );
    assert!(
        ours.first.contains("\"vrrp.51\" : \"eth0\""),
        "{}",
        ours.first
    );
    assert!(!ours.again.contains("vmac_map"), "{}", ours.again);
    assert!(ours.again.contains("ip saddr @vips drop"), "{}", ours.again);
    assert!(ours.vmac_after_kill);
    assert!(!ours.vmac_after_stop);
    assert!(ours.stopped.trim().is_empty(), "{}", ours.stopped);
}
