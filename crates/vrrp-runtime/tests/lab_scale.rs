//! Namespace-lab test at scale (issue #22 item 2: no netlink overruns).
//! Run: `cargo test -p vrrp-runtime --test lab_scale -- --ignored --nocapture`
//! (`KRS_LAB_VMAC_N=255` for the most one link takes; the 1,000-instance, 4-link run is
//! `VMAC=1 benches/vrrp_scale.sh 1000 100 4`).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use nix::sys::signal::Signal;
use testlab::netns::{wait_until, Lab};

fn vip(v: u32) -> String {
    format!("10.1.{}.{}", v / 250, v % 250 + 1)
}

/// (VMAC name, VIP) pairs the host shows: every `10.1.x.y/32` and the device holding it.
fn vips_by_dev(d: &Director) -> BTreeSet<(String, String)> {
    d.host
        .ip(&["-o", "-4", "addr", "show"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let dev = w.get(1)?.split('@').next()?.to_string();
            let addr = w.get(3)?;
            addr.starts_with("10.1.")
                .then(|| (dev, addr.trim_end_matches("/32").to_string()))
        })
        .collect()
}

/// The host's VMACs (`vrrp.N` macvlans).
fn vmacs(d: &Director) -> BTreeSet<String> {
    d.host
        .ip(&["-o", "link", "show", "type", "macvlan"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let name = l.split_whitespace().nth(1)?.trim_end_matches(':');
            Some(name.split('@').next()?.to_string())
        })
        .filter(|n| n.starts_with("vrrp."))
        .collect()
}

// Proves that with N instances with VMACs (default 200, `KRS_LAB_VMAC_N` up to 255 on the one
// link), every VIP and VMAC operation of a mass failover is carried out, none lost to a netlink
// overrun: both directors create all N VMACs; the master holds all N VIPs, each on its own
// VMAC; its link goes down and the backup takes all N over (each on its VMAC) while the master
// holds none; the link comes back and the master pre-empts all N back, the backup keeping
// none; after SIGTERM neither host has a VMAC or a VIP left. The kernel's view (`ip addr`,
// `ip link`) is compared with the expected set each time, not counted approximately.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_vmac_mass_failover_every_netlink_operation_accounted() {
    let n: u32 = std::env::var("KRS_LAB_VMAC_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
        .clamp(1, 255);
    let lab = Lab::new("vrsc").expect("lab");
    let conf = |prio: u8| -> String {
        (1..=n)
            .map(|v| {
                format!(
                    "vrrp_instance VI_{v} {{\n  interface eth0\n  use_vmac\n  virtual_router_id {v}\n  version 3\n  priority {prio}\n  advert_int 0.5\n  virtual_ipaddress {{\n    {}/32\n  }}\n}}\n",
                    vip(v)
                )
            })
            .collect()
    };
    let mut a = director(&lab, "a", "10.0.0.1", &conf(150));
    let mut b = director(&lab, "b", "10.0.0.2", &conf(100));
    let all_vmacs: BTreeSet<String> = (1..=n).map(|v| format!("vrrp.{v}")).collect();
    let all_vips: BTreeSet<(String, String)> =
        (1..=n).map(|v| (format!("vrrp.{v}"), vip(v))).collect();
    let none = BTreeSet::new();
    a.start(&lab, &[]);
    b.start(&lab, &[]);
    let settle = Duration::from_secs(60);
    wait_until(settle, || {
        vips_by_dev(&a) == all_vips && vips_by_dev(&b) == none
    })
    .unwrap_or_else(|_| {
        panic!(
            "start: a holds {} of {n} VIPs, b {}\n{}",
            vips_by_dev(&a).len(),
            vips_by_dev(&b).len(),
            a.log()
        )
    });
    assert_eq!(vmacs(&a), all_vmacs, "a's VMACs");
    assert_eq!(vmacs(&b), all_vmacs, "b's VMACs");

    // All at once: a's link goes down.
    a.host
        .ip(&["link", "set", "eth0", "down"])
        .expect("link down");
    wait_until(settle, || {
        vips_by_dev(&b) == all_vips && vips_by_dev(&a) == none
    })
    .unwrap_or_else(|_| {
        panic!(
            "failover: b holds {} of {n} VIPs, a {}\n{}",
            vips_by_dev(&b).len(),
            vips_by_dev(&a).len(),
            b.log()
        )
    });
    // And back.
    a.host.ip(&["link", "set", "eth0", "up"]).expect("link up");
    wait_until(settle, || {
        vips_by_dev(&a) == all_vips && vips_by_dev(&b) == none
    })
    .unwrap_or_else(|_| {
        panic!(
            "back: a holds {} of {n} VIPs, b {}\n{}\n--- b:\n{}",
            vips_by_dev(&a).len(),
            vips_by_dev(&b).len(),
            a.log(),
            b.log()
        )
    });
    assert_eq!(vmacs(&a), all_vmacs, "a's VMACs after the failover");
    assert_eq!(vmacs(&b), all_vmacs, "b's VMACs after the failover");
    // A second later still so (no late or lost operation undoing it).
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(vips_by_dev(&a), all_vips, "a's VIPs, settled");
    assert_eq!(vips_by_dev(&b), none, "b's VIPs, settled");

    for d in [&a, &b] {
        if let Some(p) = d.proc.as_ref() {
            p.signal(Signal::SIGTERM).expect("term");
        }
    }
    wait_until(Duration::from_secs(30), || {
        [&a, &b]
            .iter()
            .all(|d| vmacs(d).is_empty() && vips_by_dev(d).is_empty())
    })
    .unwrap_or_else(|_| {
        panic!(
            "after stop: a {} VMACs {} VIPs, b {} VMACs {} VIPs",
            vmacs(&a).len(),
            vips_by_dev(&a).len(),
            vmacs(&b).len(),
            vips_by_dev(&b).len()
        )
    });
}
