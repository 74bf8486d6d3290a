//! `auth_hmac` (keepalived 2.4) interop with upstream keepalived 2.4.3 as the peer, built by
//! `scripts/build-reference.sh` (run it first; it caches under `target/reference/`).
//! Run: `cargo test -p vrrp-runtime --test interop_hmac -- --ignored --test-threads=1`

mod common;

use std::time::Duration;

use common::*;
use nix::sys::signal::Signal;
use testlab::netns::{wait_until, Lab, Proc};

/// The reference 2.4.3 binary built by `scripts/build-reference.sh`.
fn reference() -> String {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/reference/keepalived-2.4.3/bin/keepalived"
    );
    assert!(
        std::path::Path::new(p).exists(),
        "{p} missing: run scripts/build-reference.sh"
    );
    p.to_string()
}

fn start_reference(lab: &Lab, d: &Director) -> Proc {
    let dir = lab.dir();
    let name = d.host.host_name().to_string();
    let p1 = dir.join(format!("{name}.ka.pid"));
    let p2 = dir.join(format!("{name}.ka.vrrp.pid"));
    let bin = reference();
    d.host
        .spawn(&[
            bin.as_str(),
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
        .expect("spawn keepalived 2.4.3")
}

const KEY1: &str = "hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const KEY_OTHER: &str = "an-entirely-different-key-of-32-bytes!!";

fn hmac(key: &str) -> String {
    format!("  auth_hmac {{\n    key 1 {key}\n    active_key 1\n  }}")
}

fn auth_ext(d: &Director, counter: &str) -> u64 {
    d.stats()["instances"]["VI_1"]["auth_ext"][counter]
        .as_u64()
        .unwrap_or(0)
}

fn auth_ext_total(d: &Director) -> u64 {
    d.stats()["instances"]["VI_1"]["auth_ext"]
        .as_object()
        .map(|m| m.values().filter_map(|v| v.as_u64()).sum())
        .unwrap_or(0)
}

/// Ours (a) and the reference 2.4.3 (b), both with `auth_hmac` and the same key: election,
/// failover when the master is frozen, pre-emption back; no advert rejected on our side.
fn hmac_interop(tag: &str, vrid: u8, extra_a: &str, extra_b: &str, ours_high: bool) {
    hmac_interop_vip(tag, vrid, extra_a, extra_b, ours_high, VIP, 24)
}

/// [`hmac_interop`] with the VIP `vip/plen` (an IPv6 VIP adds fd00::1/64 to a and fd00::2/64
/// to b).
fn hmac_interop_vip(
    tag: &str,
    vrid: u8,
    extra_a: &str,
    extra_b: &str,
    ours_high: bool,
    vip: &str,
    plen: u8,
) {
    let lab = Lab::new(tag).expect("lab");
    let vips = format!("    {vip}/{plen}");
    let (pa, pb) = if ours_high { (150, 100) } else { (100, 150) };
    let mut a = director(
        &lab,
        "a",
        "10.0.0.1",
        &instance("VI_1", vrid, pa, extra_a, &vips),
    );
    let b = director(
        &lab,
        "b",
        "10.0.0.2",
        &instance("VI_1", vrid, pb, extra_b, &vips),
    );
    if vip.contains(':') {
        a.host.add_addr("fd00::1/64").expect("a6");
        b.host.add_addr("fd00::2/64").expect("b6");
    }
    a.start(&lab, &[]);
    let kb = start_reference(&lab, &b);
    let (hi, lo) = if ours_high { (0, 1) } else { (1, 0) };
    let ds = [&a, &b];
    wait_holder(&ds, hi, vip, Duration::from_secs(10));
    // Both stay put for a few adverts: the backup accepts the master's signed adverts.
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        ds[hi].has_vip(vip) && !ds[lo].has_vip(vip),
        "backup took the VIP while the master advertised; ours:\n{}\nreference:\n{}",
        a.log(),
        kb.output_so_far()
    );
    let stop_master = |sig: Signal| {
        if ours_high {
            a.proc.as_ref().expect("proc").signal(sig).expect("signal");
        } else {
            kb.signal_group(sig).expect("signal group");
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
    let r = wait_until(Duration::from_secs(10), || {
        ds[hi].has_vip(vip) && !ds[lo].has_vip(vip)
    });
    assert!(
        r.is_ok(),
        "VIP did not move back; ours ({}):\n{}\nreference:\n{}",
        a.stats(),
        a.log(),
        kb.output_so_far()
    );
    std::thread::sleep(Duration::from_millis(1500));
    let out = kb.output_so_far();
    assert_eq!(
        a.stats()["adverts_rejected"].as_u64().unwrap_or(u64::MAX),
        0,
        "we rejected none of the reference's adverts: {}",
        a.stats()
    );
    assert_eq!(auth_ext_total(&a), 0, "{}", a.stats());
    for bad in [
        "invalid authentication HMAC",
        "missing authentication trailer",
        "replayed",
        "stale authentication",
    ] {
        assert!(
            !out.contains(bad),
            "reference rejected ours ({bad}):\n{out}"
        );
    }
}

// Proves auth_hmac interop over VRRPv2 IPv4 multicast with upstream 2.4.3, both roles: the
// backup (ours or the reference) accepts the master's signed adverts, takes over when the
// master is frozen, and yields when it returns; nothing rejected.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_hmac_interop_v2_multicast_both_roles() {
    let h = hmac(KEY1);
    hmac_interop("kahm2a", 91, &h, &h, true);
    hmac_interop("kahm2b", 92, &h, &h, false);
}

// Proves auth_hmac interop over VRRPv3 IPv4 unicast with upstream 2.4.3, both roles (one
// trailer per advert on every unicast copy, the peer's replay state).
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_hmac_interop_v3_unicast_both_roles() {
    let h = hmac(KEY1);
    let ua = format!(
        "  version 3\n  unicast_src_ip 10.0.0.1\n  unicast_peer {{\n    10.0.0.2\n  }}\n{h}"
    );
    let ub = format!(
        "  version 3\n  unicast_src_ip 10.0.0.2\n  unicast_peer {{\n    10.0.0.1\n  }}\n{h}"
    );
    hmac_interop("kahu3a", 93, &ua, &ub, true);
    hmac_interop("kahu3b", 94, &ua, &ub, false);
}

// Proves auth_hmac interop over VRRPv2 IPv4 unicast with upstream 2.4.3, both roles.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_hmac_interop_v2_unicast_both_roles() {
    let h = hmac(KEY1);
    let ua = format!("  unicast_src_ip 10.0.0.1\n  unicast_peer {{\n    10.0.0.2\n  }}\n{h}");
    let ub = format!("  unicast_src_ip 10.0.0.2\n  unicast_peer {{\n    10.0.0.1\n  }}\n{h}");
    hmac_interop("kahu2a", 96, &ua, &ub, true);
    hmac_interop("kahu2b", 97, &ua, &ub, false);
}

// Proves auth_hmac interop over VRRPv3 IPv6 multicast (link-local source, ff02::12; the
// pseudo-header carries the IPv6 source) with upstream 2.4.3, both roles.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_hmac_interop_v3_ipv6_multicast_both_roles() {
    let h = format!("  version 3\n{}", hmac(KEY1));
    hmac_interop_vip("kah6ma", 98, &h, &h, true, "fd00::10", 64);
    hmac_interop_vip("kah6mb", 99, &h, &h, false, "fd00::10", 64);
}

// Proves auth_hmac interop over VRRPv3 IPv6 unicast (fd00::1 <-> fd00::2) with upstream
// 2.4.3, both roles.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_hmac_interop_v3_ipv6_unicast_both_roles() {
    let h = hmac(KEY1);
    let ua =
        format!("  version 3\n  unicast_src_ip fd00::1\n  unicast_peer {{\n    fd00::2\n  }}\n{h}");
    let ub =
        format!("  version 3\n  unicast_src_ip fd00::2\n  unicast_peer {{\n    fd00::1\n  }}\n{h}");
    hmac_interop_vip("kah6ua", 100, &ua, &ub, true, "fd00::10", 64);
    hmac_interop_vip("kah6ub", 101, &ua, &ub, false, "fd00::10", 64);
}

// Proves a wrong key is rejected and counted without a state change: ours is master alone,
// then the reference with a higher priority but another key starts; ours counts
// auth_ext_invalid_hmac and stays master (its adverts would otherwise make ours back off),
// and the reference logs ours as invalid.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_hmac_wrong_key_rejected_no_state_change() {
    let lab = Lab::new("kahwk").expect("lab");
    let vips = format!("    {VIP}/24");
    let mut a = director(
        &lab,
        "a",
        "10.0.0.1",
        &instance("VI_1", 95, 100, &hmac(KEY1), &vips),
    );
    let b = director(
        &lab,
        "b",
        "10.0.0.2",
        &instance("VI_1", 95, 150, &hmac(KEY_OTHER), &vips),
    );
    let cap = lab.capture("a", "eth0", "vrrp").expect("capture");
    std::thread::sleep(Duration::from_millis(500));
    a.start(&lab, &[]);
    let r = wait_until(Duration::from_secs(10), || a.has_vip(VIP));
    assert!(r.is_ok(), "ours did not become master:\n{}", a.log());
    let kb = start_reference(&lab, &b);
    // The reference, master too (it rejects ours), advertises; each advert is counted.
    let r = wait_until(Duration::from_secs(15), || {
        auth_ext(&a, "auth_ext_invalid_hmac") >= 2
    });
    if r.is_err() {
        cap.signal(Signal::SIGINT).ok();
        std::thread::sleep(Duration::from_millis(500));
        let pcap = cap.pcap_path().expect("pcap").to_path_buf();
        eprintln!(
            "capture:\n{}",
            tshark_fields(
                &pcap,
                "vrrp",
                &["frame.time_relative", "ip.src", "ip.len", "vrrp.prio"]
            )
        );
    }
    assert!(
        r.is_ok(),
        "no invalid HMAC counted: {}\nours:\n{}\nreference:\n{}",
        a.stats(),
        a.log(),
        kb.output_so_far()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(a.has_vip(VIP), "ours lost the VIP to a wrongly keyed peer");
    assert_eq!(a.state("VI_1"), "MASTER", "{}", a.stats());
    assert_eq!(
        a.stats()["instances"]["VI_1"]["adverts_rcvd"]
            .as_u64()
            .unwrap_or(0),
        0,
        "no advert of the wrongly keyed peer accepted: {}",
        a.stats()
    );
    let out = kb.output_so_far();
    assert!(
        out.contains("invalid authentication HMAC"),
        "reference did not reject ours:\n{out}"
    );
}
