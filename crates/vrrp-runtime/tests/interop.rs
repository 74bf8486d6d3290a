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
