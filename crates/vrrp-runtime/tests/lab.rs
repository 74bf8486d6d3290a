//! Namespace-lab tests: krs-vrrpd directors on a bridge with a client.
//! Run: `cargo test -p vrrp-runtime --test lab -- --include-ignored --test-threads=1`

mod common;

use std::time::Duration;

use common::*;
use nix::sys::signal::Signal;
use testlab::netns::{wait_until, Lab};

// Proves: two krs-vrrpd (v2 multicast, priorities 150/100) elect the higher one, which holds
// the VIP alone and answers the client's pings; when its link goes down it goes FAULT and drops
// the VIP, and the backup takes over within Master_Down_Interval (3 s + skew) plus margin;
// when the link returns the higher priority pre-empts back.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_v2_election_and_link_down_failover() {
    let lab = Lab::new("vrrp").expect("lab");
    let vips = format!("    {VIP}/24");
    let mut a = director(&lab, "a", "10.0.0.1", &instance("VI_1", 51, 150, "", &vips));
    let mut b = director(&lab, "b", "10.0.0.2", &instance("VI_1", 51, 100, "", &vips));
    let c = lab.host("c").expect("client");
    c.add_addr("10.0.0.100/24").expect("addr");
    a.start(&lab, &[]);
    b.start(&lab, &[]);
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(8));
    let r = c.sh(&format!("busybox ping -c1 -W1 {VIP}"));
    assert!(r.is_ok(), "client reaches the VIP: {r:?}");
    wait_until(Duration::from_secs(3), || {
        a.state("VI_1") == "MASTER" && b.state("VI_1") == "BACKUP"
    })
    .expect("states MASTER/BACKUP");
    // Only the master sends: in steady state the backup's advert count does not grow (it may
    // have sent one if both timers expired together at start-up on a loaded machine).
    let b0 = b.stats()["adverts_sent"].as_u64().unwrap_or(0);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        b.stats()["adverts_sent"].as_u64().unwrap_or(0),
        b0,
        "backup sends no adverts"
    );
    assert!(a.stats()["adverts_sent"].as_u64().unwrap_or(0) >= 1);
    // The new master sent its burst of gratuitous ARPs (garp_master_repeat 5) via AF_PACKET.
    assert!(
        a.stats()["garps_sent"].as_u64().unwrap_or(0) >= 5,
        "{}",
        a.stats()
    );

    a.host.link_down("eth0").expect("link down");
    let took = wait_holder(&[&a, &b], 1, VIP, Duration::from_secs(6));
    eprintln!("link-down failover: VIP moved in {took:?}");
    wait_until(Duration::from_secs(2), || a.state("VI_1") == "FAULT").expect("a in FAULT");
    assert!(
        c.sh(&format!("ip neigh flush all; busybox ping -c1 -W1 {VIP}"))
            .is_ok(),
        "client reaches the VIP on b"
    );

    a.host.link_up("eth0").expect("link up");
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(8));
    wait_until(Duration::from_secs(2), || b.state("VI_1") == "BACKUP").expect("b back to BACKUP");
}

// Proves: a master frozen with SIGSTOP is replaced by the backup within the
// Master_Down_Interval; with the VIP lease on (default), the frozen master's VIP expires from the
// kernel by itself (no duplicate VIP), and after SIGCONT it hears the new master... and since
// it has higher priority (and `preempt`), it pre-empts back.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_v2_sigstop_failover_and_lease_expiry() {
    let lab = Lab::new("vrstop").expect("lab");
    let vips = format!("    {VIP}/24");
    // `preempt` (keepalived's default, said explicitly): shown by the pre-emption at the end.
    let mut a = director(
        &lab,
        "a",
        "10.0.0.1",
        &instance("VI_1", 52, 150, "  preempt", &vips),
    );
    let mut b = director(&lab, "b", "10.0.0.2", &instance("VI_1", 52, 100, "", &vips));
    a.start(&lab, &[]);
    b.start(&lab, &[]);
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(8));
    let line = a.addr_line(VIP);
    assert!(
        line.contains("valid_lft 6sec")
            || line.contains("valid_lft 5sec")
            || line.contains("valid_lft 4sec"),
        "VIP has a lease of Master_Down_Interval rounded up + 1 s: {line}"
    );
    a.proc
        .as_ref()
        .expect("proc")
        .signal(Signal::SIGSTOP)
        .expect("stop");
    wait_until(Duration::from_secs(6), || b.has_vip(VIP)).expect("b takes over");
    // The frozen master's VIP disappears within its lease (6 s).
    wait_until(Duration::from_secs(8), || !a.has_vip(VIP)).expect("frozen master's VIP expired");
    a.proc
        .as_ref()
        .expect("proc")
        .signal(Signal::SIGCONT)
        .expect("cont");
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(8));
}

// Proves the lease edge case of issue #25 is closed: a master frozen (SIGSTOP) right after it
// renewed its VIP lease (caught by watching the address's valid_lft jump up) loses that VIP
// within the taking-over backup's Master_Down_Interval + 100 ms of the take-over. The backup
// has priority 254 (the shortest MDI a backup can have: 3 s + 8 ms), so the frozen master's
// VIP must go within 3.108 s of it. With a 6 s lease renewed every 3 s the VIP outlived the
// take-over by 3.1-3.4 s (the kernel expires it 6.1-6.4 s after a renewal); with a lease of
// Master_Down_Interval rounded up + 1 s renewed every second it goes about 1 s earlier.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_v2_sigstop_right_after_lease_renewal() {
    let lab = Lab::new("vrlren").expect("lab");
    let vips = format!("    {VIP}/24");
    let mut a = director(&lab, "a", "10.0.0.1", &instance("VI_1", 54, 150, "", &vips));
    let mut b = director(
        &lab,
        "b",
        "10.0.0.2",
        &instance("VI_1", 54, 254, "  state BACKUP\n  nopreempt", &vips),
    );
    a.start(&lab, &[]);
    wait_holder(&[&a], 0, VIP, Duration::from_secs(8));
    b.start(&lab, &[]);
    std::thread::sleep(Duration::from_secs(2));
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(4));
    let pid = a.proc.as_ref().expect("proc").pid() as i32;
    let want: std::net::IpAddr = VIP.parse().unwrap();
    // In a's namespace: poll the VIP's valid_lft every 0.5 ms; the first upward jump is a
    // renewal: SIGSTOP the master at once.
    let seen = netplat::netns::in_netns(&a.host.netns_path(), move || {
        let mut r = netplat::Rtnl::new().expect("rtnl");
        let until = std::time::Instant::now() + Duration::from_secs(10);
        let mut last: Option<u32> = None;
        while std::time::Instant::now() < until {
            let lft = r
                .addresses(None)
                .ok()
                .and_then(|v| v.into_iter().find(|x| x.addr == want))
                .and_then(|x| x.valid_lft);
            if let (Some(l), Some(p)) = (lft, last) {
                if l > p {
                    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGSTOP)
                        .expect("SIGSTOP");
                    return Some((p, l));
                }
            }
            last = lft.or(last);
            std::thread::sleep(Duration::from_micros(500));
        }
        None
    })
    .expect("netns");
    let (before, after) = seen.expect("no lease renewal seen on a's VIP in 10 s");
    let stopped = std::time::Instant::now();
    eprintln!("a renewed its lease (valid_lft {before} -> {after}) and was frozen");
    let mut took = None;
    let mut gone = None;
    while stopped.elapsed() < Duration::from_secs(12) && (took.is_none() || gone.is_none()) {
        if took.is_none() && b.has_vip(VIP) {
            took = Some(stopped.elapsed());
        }
        if gone.is_none() && !a.has_vip(VIP) {
            gone = Some(stopped.elapsed());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = a.proc.as_ref().expect("proc").signal(Signal::SIGCONT);
    let took = took.expect("b took over").as_secs_f64();
    let gone = gone.expect("the frozen master's VIP expired").as_secs_f64();
    let mdi_b = 3.0 + (256.0 - 254.0) / 256.0;
    eprintln!(
        "b took over {took:.3} s after the freeze, a's VIP gone {gone:.3} s after it: two holders for {:.3} s (bound MDI(b) + 100 ms = {:.3} s)",
        gone - took,
        mdi_b + 0.1
    );
    assert!(
        took >= 2.9,
        "b took over {took:.3} s after the freeze: before its Master_Down_Interval"
    );
    assert!(
        gone - took <= mdi_b + 0.1,
        "frozen master kept its VIP {:.3} s after the take-over (> MDI + 100 ms = {:.3} s); valid_lft {before} -> {after}",
        gone - took,
        mdi_b + 0.1
    );
}

// Proves: kill -9 of a master leaves no duplicate VIP: its VIP expires within the lease while
// the backup holds it (keepalived leaves both holding).
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_v2_sigkill_vip_lease_expiry() {
    let lab = Lab::new("vrkill").expect("lab");
    let vips = format!("    {VIP}/24");
    let mut a = director(&lab, "a", "10.0.0.1", &instance("VI_1", 53, 150, "", &vips));
    let mut b = director(&lab, "b", "10.0.0.2", &instance("VI_1", 53, 100, "", &vips));
    a.start(&lab, &[]);
    b.start(&lab, &[]);
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(8));
    a.proc.as_ref().expect("proc").kill();
    let t0 = std::time::Instant::now();
    wait_until(Duration::from_secs(6), || b.has_vip(VIP)).expect("b takes over");
    wait_until(Duration::from_secs(9), || !a.has_vip(VIP)).expect("dead master's VIP expired");
    eprintln!("dead master's VIP gone after {:?}", t0.elapsed());
    assert!(b.has_vip(VIP));
}

// Proves: a healthy master keeps renewing its VIP's lease (renewals are sent without waiting
// for the kernel's ACK): over 10 s, longer than the lease, the VIP never leaves and its
// remaining lifetime never drops below half the lease, minus a second of sampling slack.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_lease_renewed_while_master() {
    let lab = Lab::new("vrren").expect("lab");
    let vips = format!("    {VIP}/24");
    let mut a = director(&lab, "a", "10.0.0.1", &instance("VI_1", 55, 150, "", &vips));
    a.start(&lab, &[]);
    wait_holder(&[&a], 0, VIP, Duration::from_secs(8));
    let until = std::time::Instant::now() + Duration::from_secs(10);
    let mut lowest = u32::MAX;
    while std::time::Instant::now() < until {
        let line = a.addr_line(VIP);
        let left: u32 = line
            .split("valid_lft ")
            .nth(1)
            .and_then(|r| r.split("sec").next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("VIP with a lease on a's eth0: {line:?}"));
        lowest = lowest.min(left);
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(
        lowest >= 2,
        "lease renewed at half its 6 s: lowest valid_lft {lowest}"
    );
    assert_eq!(a.state("VI_1"), "MASTER");
}

// Proves: when a VIP's `dev` is deleted and created again (a new ifindex) after its lease
// renewals were prepared, the renewal that fails (ENODEV, collected and logged at the next one)
// makes them be prepared again: the VIP comes back on the new interface with its lease, and
// stays there for longer than the lease (renewed on the new interface). The VIP is `no_track`:
// a tracked one's deletion makes the master leave MASTER first, as keepalived's
// set_vrrp_backup (lab_vip_or_virtual_route_deleted_master_goes_backup_as_reference), and
// this test is about the renewal.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_lease_follows_recreated_vip_dev() {
    let lab = Lab::new("vrdev").expect("lab");
    let vips = format!("    {VIP}/24\n    192.0.2.77/32 dev d0 no_track");
    let mut a = director(&lab, "a", "10.0.0.1", &instance("VI_1", 56, 150, "", &vips));
    a.host
        .sh("ip link add d0 type veth peer name d0p && ip link set d0 up && ip link set d0p up")
        .expect("veth d0");
    a.start(&lab, &[]);
    wait_holder(&[&a], 0, VIP, Duration::from_secs(8));
    let on_d0 = |a: &Director| {
        a.host
            .run(&["ip", "-o", "addr", "show", "dev", "d0"])
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default()
    };
    wait_until(Duration::from_secs(3), || {
        on_d0(&a).contains("192.0.2.77/32")
    })
    .expect("VIP on d0");
    // Past the first renewal (3 s after taking over): the renewals are prepared for this d0.
    std::thread::sleep(Duration::from_secs(4));
    a.host
        .sh("ip link del d0 && ip link add d0 type veth peer name d0p && ip link set d0 up && ip link set d0p up")
        .expect("d0 recreated");
    assert!(
        !on_d0(&a).contains("192.0.2.77"),
        "the VIP went with the old d0"
    );
    wait_until(Duration::from_secs(12), || {
        on_d0(&a).contains("192.0.2.77/32")
    })
    .unwrap_or_else(|_| panic!("VIP back on the new d0: {:?}\n{}", on_d0(&a), a.log()));
    let line = on_d0(&a)
        .lines()
        .find(|l| l.contains("192.0.2.77/32"))
        .unwrap_or_default()
        .to_string();
    assert!(
        line.contains("valid_lft") && !line.contains("valid_lft forever"),
        "{line}"
    );
    // Longer than the 6 s lease: still there, so it was renewed on the new d0.
    let until = std::time::Instant::now() + Duration::from_secs(9);
    while std::time::Instant::now() < until {
        assert!(
            on_d0(&a).contains("192.0.2.77/32"),
            "VIP stays on the new d0: {}",
            a.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(a.log().contains("renewing a VIP lease"), "{}", a.log());
}

// Proves: with the lease switched off (`--no-lease`, i.e. RuntimeOptions::vip_lease = false)
// the VIP is permanent (keepalived's behaviour). (The configuration keyword: the next test.)
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_lease_off() {
    let lab = Lab::new("vrlo").expect("lab");
    let vips = format!("    {VIP}/24");
    let mut a = director(&lab, "a", "10.0.0.1", &instance("VI_1", 54, 150, "", &vips));
    a.start(&lab, &["--no-lease"]);
    wait_holder(&[&a], 0, VIP, Duration::from_secs(8));
    let line = a.addr_line(VIP);
    assert!(line.contains("valid_lft forever"), "{line}");
}

// Proves `global_defs { krs_vip_lease off }` switches the lease off from the configuration: the
// master's VIP is permanent (`valid_lft forever`), as with `--no-lease`; without it the VIP has
// a finite lifetime (the other lease tests).
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_lease_off_by_config() {
    let lab = Lab::new("vrloc").expect("lab");
    let vips = format!("    {VIP}/24");
    let conf = format!(
        "global_defs {{\n  krs_vip_lease off\n}}\n{}",
        instance("VI_1", 55, 150, "", &vips)
    );
    let mut a = director(&lab, "a", "10.0.0.1", &conf);
    a.start(&lab, &[]);
    wait_holder(&[&a], 0, VIP, Duration::from_secs(8));
    let line = a.addr_line(VIP);
    assert!(line.contains("valid_lft forever"), "{line}\n{}", a.log());
}

fn probe_json(out: &str) -> serde_json::Value {
    out.lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or(serde_json::Value::Null)
}

pub const PROBE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/probe.py");

// Proves the planned handover (issue item 8): SIGTERM of the master makes it send priority 0
// but keep the VIP until the backup's first advert as master; a client probing the VIP over UDP
// every 2 ms sees (almost) no gap — far below keepalived's skew-time outage (~0.6 s here). The
// old master then releases the VIP (only the new master holds it) and exits.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_sigterm_planned_handover() {
    let lab = Lab::new("vrterm").expect("lab");
    let vips = format!("    {VIP}/24");
    let mut a = director(&lab, "a", "10.0.0.1", &instance("VI_1", 55, 150, "", &vips));
    let mut b = director(&lab, "b", "10.0.0.2", &instance("VI_1", 55, 100, "", &vips));
    let c = lab.host("c").expect("client");
    c.add_addr("10.0.0.100/24").expect("addr");
    for d in [&a, &b] {
        d.host
            .spawn(&["python3", PROBE, "--echo", "9000"])
            .expect("echo");
    }
    a.start(&lab, &[]);
    b.start(&lab, &[]);
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(8));
    let probe = c
        .spawn(&["python3", PROBE, VIP, "9000", "4", "2"])
        .expect("probe");
    std::thread::sleep(Duration::from_millis(1000));
    a.proc
        .as_ref()
        .expect("proc")
        .signal(Signal::SIGTERM)
        .expect("term");
    let st = a
        .proc
        .as_ref()
        .expect("proc")
        .wait_timeout(Duration::from_secs(5))
        .expect("wait");
    assert!(
        st.is_some_and(|s| s.success()),
        "old master exits cleanly: {st:?}"
    );
    assert!(
        b.has_vip(VIP) && !a.has_vip(VIP),
        "only the new master holds the VIP"
    );
    probe
        .wait_timeout(Duration::from_secs(8))
        .expect("probe done");
    let r = probe_json(&probe.stdout_so_far());
    eprintln!("planned handover probe: {r}");
    assert!(
        r["received"].as_u64().unwrap_or(0) > 100,
        "probe worked: {r}"
    );
    let gap = r["max_gap_ms"].as_f64().unwrap_or(1e9);
    assert!(
        gap < 150.0,
        "client-visible gap {gap} ms is far below the skew-time outage: {r}"
    );
}

// Proves nopreempt: a higher-priority node configured `nopreempt` that starts after a master is
// established does not take over; it stays BACKUP and the VIP stays where it is.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_nopreempt() {
    let lab = Lab::new("vrnp").expect("lab");
    let vips = format!("    {VIP}/24");
    let mut a = director(
        &lab,
        "a",
        "10.0.0.1",
        &instance("VI_1", 56, 200, "  nopreempt", &vips),
    );
    let mut b = director(&lab, "b", "10.0.0.2", &instance("VI_1", 56, 100, "", &vips));
    b.start(&lab, &[]);
    wait_holder(&[&a, &b], 1, VIP, Duration::from_secs(8));
    a.start(&lab, &[]);
    std::thread::sleep(Duration::from_secs(6));
    assert!(
        b.has_vip(VIP) && !a.has_vip(VIP),
        "nopreempt: VIP stays on b"
    );
    assert_eq!(a.state("VI_1"), "BACKUP");
}

// Proves instance settings seen on the wire of a lone master (a capture on its eth0):
// `state MASTER` at priority 100 first listens as BACKUP for a Master_Down_Interval (advert_int
// 3: 3 × 3 s + skew 0.61 s = 9.6 s), then takes over, as the reference keepalived 2.2.7 does in
// the same lab (measured here too; ours within 1 s of it). (Corrected by issue 26 item 1: this
// asserted a take-over within 4 s, "at once", which the reference does only for the address
// owner.) Its adverts leave from `mcast_src_ip` (a second address
// of eth0) to `mcast_dst_ip` 224.0.0.99; its gratuitous ARPs follow the instance's own settings
// rather than the global defaults (5 at once, 5 more after 5 s, no refresh):
// `garp_master_repeat 2` at once, 2 again `garp_master_delay 1` s later, then
// `garp_master_refresh_repeat 1` every `garp_master_refresh 2` s.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_instance_state_mcast_and_garp_settings() {
    let lab = Lab::new("vrwire").expect("lab");
    let extra = "  state MASTER\n  mcast_src_ip 10.0.0.5\n  mcast_dst_ip 224.0.0.99\n  \
                 garp_master_repeat 2\n  garp_master_delay 1\n  garp_master_refresh 2\n  \
                 garp_master_refresh_repeat 1";
    let conf = instance("VI_1", 85, 100, extra, &format!("    {VIP}/24"))
        .replace("advert_int 1", "advert_int 3");
    // The reference first, in a lab of its own: how long until it holds the VIP.
    let reference = {
        let lab = Lab::new("vrwirr").expect("lab");
        let r = director(&lab, "a", "10.0.0.1", &conf);
        r.host.add_addr("10.0.0.5/24").expect("second address");
        let t0 = std::time::Instant::now();
        let ka = start_keepalived(&lab, &r);
        let ok = wait_until(Duration::from_secs(16), || {
            std::thread::sleep(Duration::from_millis(20));
            r.has_vip(VIP)
        });
        assert!(
            ok.is_ok(),
            "reference never held the VIP:\n{}",
            ka.output_so_far()
        );
        t0.elapsed()
    };
    let mut a = director(&lab, "a", "10.0.0.1", &conf);
    a.host.add_addr("10.0.0.5/24").expect("second address");
    let cap = lab.capture("a", "eth0", "wire").expect("capture");
    std::thread::sleep(Duration::from_millis(500));
    a.start(&lab, &[]);
    let took = wait_holder(&[&a], 0, VIP, Duration::from_secs(16));
    eprintln!("state MASTER: VIP held after {took:?}, reference {reference:?}");
    assert!(
        took > Duration::from_secs(8) && took.abs_diff(reference) < Duration::from_secs(1),
        "ours {took:?} vs reference {reference:?} (Master_Down_Interval 9.6 s)"
    );
    // GARPs at 0, 1 and 2 s; adverts every 3 s.
    std::thread::sleep(Duration::from_millis(3800));
    cap.signal(Signal::SIGINT).ok();
    std::thread::sleep(Duration::from_millis(500));
    let pcap = cap.pcap_path().expect("pcap").to_path_buf();
    let adv = tshark_fields(&pcap, "vrrp", &["ip.src", "ip.dst"]);
    assert!(
        adv.lines().count() >= 2 && adv.lines().all(|l| l.trim() == "10.0.0.5\t224.0.0.99"),
        "adverts from mcast_src_ip to mcast_dst_ip: {adv:?}"
    );
    let mac = a.host.mac("eth0").expect("mac");
    let t: Vec<f64> = tshark_fields(
        &pcap,
        &format!("arp.isgratuitous && eth.src == {mac}"),
        &["frame.time_relative"],
    )
    .lines()
    .filter_map(|l| l.trim().parse().ok())
    .collect();
    let t0 = t.first().copied().unwrap_or(0.0);
    let rel: Vec<f64> = t.iter().map(|x| x - t0).filter(|x| *x < 2.6).collect();
    let within = |lo: f64, hi: f64| rel.iter().filter(|x| (lo..hi).contains(*x)).count();
    assert_eq!(
        (
            within(0.0, 0.3),
            within(0.8, 1.4),
            within(1.8, 2.6),
            rel.len()
        ),
        (2, 2, 1, 5),
        "GARPs (s after the first): {rel:?}"
    );
}

// Proves the global VRRP defaults seen on the wire of a lone master (a capture on its eth0),
// with no instance-level setting overriding them: `vrrp_version 3` adverts to
// `vrrp_mcast_group4` 224.0.0.99, and gratuitous ARPs `vrrp_garp_master_repeat 2` at once, 2
// again `vrrp_garp_master_delay 1` s later, then `vrrp_garp_master_refresh_repeat 1` every
// `vrrp_garp_master_refresh 2` s (keepalived's defaults: v2 to 224.0.0.18, 5 + 5 after 5 s).
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_global_vrrp_defaults_on_the_wire() {
    let lab = Lab::new("vrglob").expect("lab");
    let conf = format!(
        "global_defs {{\n  vrrp_version 3\n  vrrp_mcast_group4 224.0.0.99\n  \
         vrrp_garp_master_repeat 2\n  vrrp_garp_master_delay 1\n  vrrp_garp_master_refresh 2\n  \
         vrrp_garp_master_refresh_repeat 1\n}}\n{}",
        instance("VI_1", 86, 100, "  state MASTER", &format!("    {VIP}/24"))
    );
    let mut a = director(&lab, "a", "10.0.0.1", &conf);
    let cap = lab.capture("a", "eth0", "glob").expect("capture");
    std::thread::sleep(Duration::from_millis(500));
    a.start(&lab, &[]);
    wait_holder(&[&a], 0, VIP, Duration::from_secs(4));
    std::thread::sleep(Duration::from_millis(3800));
    cap.signal(Signal::SIGINT).ok();
    std::thread::sleep(Duration::from_millis(500));
    let pcap = cap.pcap_path().expect("pcap").to_path_buf();
    let adv = tshark_fields(&pcap, "vrrp", &["vrrp.version", "ip.dst"]);
    assert!(
        adv.lines().count() >= 2 && adv.lines().all(|l| l.trim() == "3\t224.0.0.99"),
        "v3 adverts to vrrp_mcast_group4: {adv:?}\n{}",
        a.log()
    );
    let mac = a.host.mac("eth0").expect("mac");
    let t: Vec<f64> = tshark_fields(
        &pcap,
        &format!("arp.isgratuitous && eth.src == {mac}"),
        &["frame.time_relative"],
    )
    .lines()
    .filter_map(|l| l.trim().parse().ok())
    .collect();
    let t0 = t.first().copied().unwrap_or(0.0);
    let rel: Vec<f64> = t.iter().map(|x| x - t0).filter(|x| *x < 2.6).collect();
    let within = |lo: f64, hi: f64| rel.iter().filter(|x| (lo..hi).contains(*x)).count();
    assert_eq!(
        (
            within(0.0, 0.3),
            within(0.8, 1.4),
            within(1.8, 2.6),
            rel.len()
        ),
        (2, 2, 1, 5),
        "GARPs (s after the first): {rel:?}"
    );
}

// Proves the tie break: equal priorities, the higher primary address wins (RFC 5798 §6.4.3).
// The tie break only decides between two masters (a backup hearing an equal priority stays
// backup, as in keepalived), so both start cut off from each other (bridge ports detached,
// carriers up) and both become master; once they hear each other, the lower address yields.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_tie_broken_by_higher_address() {
    let lab = Lab::new("vrtie").expect("lab");
    let vips = format!("    {VIP}/24");
    let m = "  state MASTER";
    let mut a = director(&lab, "a", "10.0.0.1", &instance("VI_1", 57, 100, m, &vips));
    let mut b = director(&lab, "b", "10.0.0.2", &instance("VI_1", 57, 100, m, &vips));
    a.host.isolate("eth0").expect("isolate a");
    b.host.isolate("eth0").expect("isolate b");
    a.start(&lab, &[]);
    b.start(&lab, &[]);
    wait_until(Duration::from_secs(8), || {
        a.state("VI_1") == "MASTER" && b.state("VI_1") == "MASTER"
    })
    .expect("both MASTER while partitioned");
    a.host.rejoin("eth0").expect("rejoin a");
    b.host.rejoin("eth0").expect("rejoin b");
    wait_holder(&[&a, &b], 1, VIP, Duration::from_secs(8));
    wait_until(Duration::from_secs(3), || a.state("VI_1") == "BACKUP").expect("a BACKUP");
    assert_eq!(b.state("VI_1"), "MASTER");
}

// Proves track_script: a vrrp_script with weight -60 failing (a file disappears) lowers the
// master from 150 to 90, below the backup's 100, so the VIP moves; when the script succeeds
// again the priority returns to 150 and the VIP moves back.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_track_script_moves_vip() {
    let lab = Lab::new("vrscr").expect("lab");
    let flag = lab.dir().join("healthy");
    std::fs::write(&flag, "1").expect("flag");
    let vips = format!("    {VIP}/24");
    let script = format!(
        "vrrp_script chk {{
  script \"/usr/bin/test -e {}\"
  interval 1
  weight -60
  fall 1
  rise 1
}}
",
        flag.display()
    );
    let conf_a = format!(
        "{script}{}",
        instance("VI_1", 58, 150, "  track_script {\n    chk\n  }", &vips)
    );
    let mut a = director(&lab, "a", "10.0.0.1", &conf_a);
    let mut b = director(&lab, "b", "10.0.0.2", &instance("VI_1", 58, 100, "", &vips));
    a.start(&lab, &[]);
    b.start(&lab, &[]);
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(8));
    std::fs::remove_file(&flag).expect("rm flag");
    wait_holder(&[&a, &b], 1, VIP, Duration::from_secs(8));
    assert_eq!(a.stats()["instances"]["VI_1"]["priority"], 90);
    std::fs::write(&flag, "1").expect("flag");
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(8));
}

// Proves vrrp_script's timing keywords on a lone master (its priority read from its stats): a
// script that outlives its `timeout 1` (`sleep 2` every 5 s, which would pass without it)
// counts as failed (weight -20: 130); with `fall 3` removing the checked file lowers the
// priority (weight -60: 70) only after three failed runs, 2 s or more later (at most 1 s with the
// default fall 1), and with `rise 3` restoring it raises the priority back only after three good
// runs, again 2 s or more.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_vrrp_script_timeout_rise_fall() {
    let lab = Lab::new("vrsrf").expect("lab");
    let flag = lab.dir().join("healthy");
    std::fs::write(&flag, "1").expect("flag");
    let conf = format!(
        "vrrp_script chk {{\n  script \"/usr/bin/test -e {}\"\n  interval 1\n  weight -60\n  \
         fall 3\n  rise 3\n}}\nvrrp_script slow {{\n  script \"/bin/sleep 2\"\n  interval 5\n  \
         timeout 1\n  weight -20\n}}\n{}",
        flag.display(),
        instance(
            "VI_1",
            86,
            150,
            "  track_script {\n    chk\n    slow\n  }",
            &format!("    {VIP}/24")
        )
    );
    let mut a = director(&lab, "a", "10.0.0.1", &conf);
    a.start(&lab, &[]);
    wait_holder(&[&a], 0, VIP, Duration::from_secs(8));
    let prio = |a: &Director| {
        a.stats()["instances"]["VI_1"]["priority"]
            .as_u64()
            .unwrap_or(0)
    };
    wait_until(Duration::from_secs(5), || prio(&a) == 130)
        .unwrap_or_else(|_| panic!("slow script timed out: {}\n{}", prio(&a), a.log()));
    let t0 = std::time::Instant::now();
    std::fs::remove_file(&flag).expect("rm flag");
    wait_until(Duration::from_secs(8), || prio(&a) == 70)
        .unwrap_or_else(|_| panic!("chk failed: {}\n{}", prio(&a), a.log()));
    let fell = t0.elapsed();
    let t1 = std::time::Instant::now();
    std::fs::write(&flag, "1").expect("flag");
    wait_until(Duration::from_secs(8), || prio(&a) == 130)
        .unwrap_or_else(|_| panic!("chk back: {}\n{}", prio(&a), a.log()));
    let rose = t1.elapsed();
    eprintln!("fall 3 after {fell:?}, rise 3 after {rose:?}");
    assert!(fell >= Duration::from_millis(1900), "fall 3: {fell:?}");
    assert!(rose >= Duration::from_millis(1900), "rise 3: {rose:?}");
}

// Proves who scripts run as (keepalived's rule): with `global_defs script_user nobody`, a
// vrrp_script and a notify_master script without their own user run as nobody (uid 65534),
// while a notify script naming its own user (`root`) runs as root; a vrrp_script naming a user
// that does not exist is not run (refused with its location) and its tracking is ignored, so
// the instance still becomes MASTER.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_script_user() {
    let lab = Lab::new("vrusr").expect("lab");
    let out = lab.dir().join("out");
    std::fs::create_dir(&out).expect("out dir");
    let sh = lab.dir().join("who.sh");
    std::fs::write(
        &sh,
        format!(
            "#!/bin/sh
id -u > {}/$1
",
            out.display()
        ),
    )
    .expect("sh");
    for (p, mode) in [
        (lab.dir().to_path_buf(), 0o755),
        (out.clone(), 0o777),
        (sh.clone(), 0o755),
    ] {
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(mode))
            .expect("chmod");
    }
    let s = sh.display();
    let vips = format!("    {VIP}/24");
    let extra = format!(
        "  track_script {{\n    chk\n    ghost\n  }}\n  notify_master \"{s} master\"\n  notify \"{s} generic\" root"
    );
    let conf = format!(
        "global_defs {{\n  script_user nobody\n}}\nvrrp_script chk {{\n  script \"{s} track\"\n  interval 1\n}}\nvrrp_script ghost {{\n  script \"{s} ghost\"\n  interval 1\n  user no_such_user_krs\n}}\n{}",
        instance("VI_1", 64, 150, &extra, &vips)
    );
    let mut a = director(&lab, "a", "10.0.0.1", &conf);
    a.start(&lab, &[]);
    wait_holder(&[&a], 0, VIP, Duration::from_secs(8));
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap_or_default();
    wait_until(Duration::from_secs(5), || {
        !read("track").is_empty() && !read("master").is_empty() && !read("generic").is_empty()
    })
    .unwrap_or_else(|_| panic!("scripts did not all run; log:\n{}", a.log()));
    assert_eq!(
        read("track").trim(),
        "65534",
        "vrrp_script runs as script_user"
    );
    assert_eq!(
        read("master").trim(),
        "65534",
        "notify_master runs as script_user"
    );
    assert_eq!(read("generic").trim(), "0", "a script's own user wins");
    assert!(
        read("ghost").is_empty(),
        "a script with an unknown user must not run"
    );
    let log = a.log();
    assert!(
        log.contains("vrrp_script ghost: user no_such_user_krs does not exist"),
        "{log}"
    );
}

// Proves virtual_routes and virtual_rules: the master installs its routes (a gateway route in
// the main table and a blackhole in table 100, protocol 18 = keepalived) and its rule with its
// VIP, the backup has none; when the master stops (SIGTERM) they go with its VIP and the new
// master installs them.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_virtual_routes_follow_master() {
    let lab = Lab::new("vrrt").expect("lab");
    let vips = format!("    {VIP}/24");
    let extra = "  virtual_routes {\n    192.0.2.0/24 via 10.0.0.254\n    blackhole 198.51.100.0/24 table 100\n  }\n  virtual_rules {\n    from 10.0.0.100 table 100 priority 300\n  }";
    let mut a = director(
        &lab,
        "a",
        "10.0.0.1",
        &instance("VI_1", 65, 150, extra, &vips),
    );
    let mut b = director(
        &lab,
        "b",
        "10.0.0.2",
        &instance("VI_1", 65, 100, extra, &vips),
    );
    let routes = |d: &Director| {
        let main = d
            .host
            .ip(&["route", "show", "proto", "18"])
            .unwrap_or_default();
        let t100 = d
            .host
            .ip(&["route", "show", "table", "100", "proto", "18"])
            .unwrap_or_default();
        let rules = d.host.ip(&["rule", "show"]).unwrap_or_default();
        (
            main.contains("192.0.2.0/24 via 10.0.0.254 dev eth0"),
            t100.contains("blackhole 198.51.100.0/24"),
            rules.contains("300:\tfrom 10.0.0.100 lookup 100"),
        )
    };
    a.start(&lab, &[]);
    b.start(&lab, &[]);
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(8));
    wait_until(Duration::from_secs(2), || routes(&a) == (true, true, true))
        .unwrap_or_else(|_| panic!("master lacks its routes: {:?}\n{}", routes(&a), a.log()));
    assert_eq!(
        routes(&b),
        (false, false, false),
        "backup has no virtual routes/rules"
    );
    a.proc
        .as_ref()
        .expect("proc")
        .signal(Signal::SIGTERM)
        .expect("term");
    wait_holder(&[&a, &b], 1, VIP, Duration::from_secs(8));
    wait_until(Duration::from_secs(2), || routes(&b) == (true, true, true))
        .unwrap_or_else(|_| panic!("new master lacks the routes: {:?}\n{}", routes(&b), b.log()));
    wait_until(Duration::from_secs(3), || {
        routes(&a) == (false, false, false)
    })
    .unwrap_or_else(|_| panic!("stopped master kept routes: {:?}", routes(&a)));
}

// Proves `vmac_prefix` and `vmac_addr_prefix` name the VMACs keepalived's way: a master with
// `use_vmac` + `use_vmac_addr` and an IPv6 excluded VIP gets its instance VMAC `kvm.73` (not
// `vrrp.73`) carrying the VIP, and the address VMAC for the IPv6 eVIP named with `kva`; no
// `vrrp*` link is made.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_vmac_prefix_names_the_vmacs() {
    let lab = Lab::new("vrvmp").expect("lab");
    let conf = format!(
        "global_defs {{\n  vmac_prefix kvm\n  vmac_addr_prefix kva\n}}\n{}",
        instance(
            "VI_1",
            73,
            150,
            "  use_vmac\n  use_vmac_addr\n  virtual_ipaddress_excluded {\n    fd00::73/64\n  }",
            &format!("    {VIP}/24"),
        )
    );
    let mut a = director(&lab, "a", "10.0.0.1", &conf);
    a.host.add_addr("fd00::1/64").expect("a6");
    a.start(&lab, &[]);
    let links = |d: &Director| -> Vec<String> {
        d.host
            .ip(&["-o", "link", "show"])
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(": ").nth(1).map(String::from))
            .collect()
    };
    let on = |dev: &str, addr: &str| {
        a.host
            .ip(&["-o", "addr", "show", "dev", dev])
            .unwrap_or_default()
            .contains(addr)
    };
    wait_until(Duration::from_secs(8), || {
        on("kvm.73", &format!(" {VIP}/24 ")) && links(&a).iter().any(|l| l.starts_with("kva"))
    })
    .unwrap_or_else(|_| panic!("VMACs: {:?}\n{}", links(&a), a.log()));
    let l = links(&a);
    let kva: Vec<&String> = l.iter().filter(|n| n.starts_with("kva")).collect();
    assert_eq!(kva.len(), 1, "{l:?}");
    let kva_name = kva[0].split('@').next().unwrap_or("").to_string();
    assert!(kva_name.ends_with(".73"), "{l:?}");
    wait_until(Duration::from_secs(5), || on(&kva_name, "fd00::73/64"))
        .unwrap_or_else(|_| panic!("eVIP not on {kva_name}: {l:?}\n{}", a.log()));
    assert!(!l.iter().any(|n| n.starts_with("vrrp")), "{l:?}");
}

// Proves vrrp_track_process: the master tracks a process (weight 0: its absence is a fault) by
// its name; when the last such process exits the master goes FAULT and the backup takes the VIP
// (within the 1 s /proc scan plus the failover); when the process runs again the master
// pre-empts back. The process is a copy of `sleep` under a name unique to this test.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_track_process_fault() {
    let lab = Lab::new("vrtp").expect("lab");
    let name = format!("krsp{}", std::process::id() % 100_000);
    let exe = lab.dir().join(&name);
    std::fs::copy("/bin/sleep", &exe).expect("copy sleep");
    let vips = format!("    {VIP}/24");
    let conf_a = format!(
        "vrrp_track_process tp {{\n  process {name}\n  weight 0\n}}\n{}",
        instance("VI_1", 66, 150, "  track_process {\n    tp\n  }", &vips)
    );
    let mut a = director(&lab, "a", "10.0.0.1", &conf_a);
    let mut b = director(&lab, "b", "10.0.0.2", &instance("VI_1", 66, 100, "", &vips));
    let exe_s = exe.to_str().expect("path");
    let p1 = a.host.spawn(&[exe_s, "600"]).expect("tracked process");
    a.start(&lab, &[]);
    b.start(&lab, &[]);
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(8));
    p1.signal(Signal::SIGKILL).expect("kill tracked process");
    wait_until(Duration::from_secs(3), || a.state("VI_1") == "FAULT")
        .unwrap_or_else(|_| panic!("a not FAULT without its process:\n{}", a.log()));
    wait_holder(&[&a, &b], 1, VIP, Duration::from_secs(6));
    let _p2 = a
        .host
        .spawn(&[exe_s, "600"])
        .expect("tracked process again");
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(8));
    assert!(
        a.log().contains("Track process tp lost quorum"),
        "{}",
        a.log()
    );
}

// Proves use_vmac: each director gets a private macvlan `vrrp.67` with the virtual MAC
// 00:00:5e:00:01:43 on its eth0 (and keepalived's sysctls); the master holds the VIP on it
// without a prefix route through it (as the reference keepalived does), and its adverts leave
// with the virtual MAC as Ethernet source (tshark on the client); the client reaches the VIP;
// after a failover (SIGTERM) the VIP is on the other director's VMAC, the client still reaches
// it, and the stopped director deletes the VMAC it created.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_use_vmac() {
    let lab = Lab::new("vrvm").expect("lab");
    let vips = format!("    {VIP}/24");
    let mut a = director(
        &lab,
        "a",
        "10.0.0.1",
        &instance("VI_1", 67, 150, "  use_vmac", &vips),
    );
    let mut b = director(
        &lab,
        "b",
        "10.0.0.2",
        &instance("VI_1", 67, 100, "  use_vmac", &vips),
    );
    let c = lab.host("c").expect("client");
    c.add_addr("10.0.0.100/24").expect("client addr");
    let cap = lab.capture("c", "eth0", "vmac").expect("capture");
    std::thread::sleep(Duration::from_millis(500));
    a.start(&lab, &[]);
    b.start(&lab, &[]);
    let on_vmac = |d: &Director| {
        d.host
            .ip(&["-o", "addr", "show", "dev", "vrrp.67"])
            .unwrap_or_default()
            .contains(&format!(" {VIP}/24 "))
    };
    let vmac = |d: &Director| {
        d.host
            .ip(&["-o", "link", "show", "dev", "vrrp.67"])
            .unwrap_or_default()
    };
    wait_until(Duration::from_secs(8), || on_vmac(&a) && !on_vmac(&b))
        .unwrap_or_else(|_| panic!("VIP not on a's VMAC:\n{}\n{}", vmac(&a), a.log()));
    assert!(
        vmac(&a).contains("link/ether 00:00:5e:00:01:43"),
        "{}",
        vmac(&a)
    );
    assert!(
        vmac(&b).contains("link/ether 00:00:5e:00:01:43"),
        "{}",
        vmac(&b)
    );
    // As the reference (lab_interop_use_vmac_same_as_reference): the VIP's prefix route via the
    // VMAC exists, after the base interface's.
    let routes = a.host.ip(&["route"]).unwrap_or_default();
    assert!(
        routes.contains("10.0.0.0/24 dev vrrp.67 proto kernel scope link src 10.0.0.10"),
        "prefix route via the VMAC: {routes}"
    );
    let sysctl = |f: &str| {
        a.host
            .sh(&format!("cat /proc/sys/net/ipv4/conf/{f}"))
            .unwrap_or_default()
    };
    assert_eq!(sysctl("vrrp.67/arp_ignore").trim(), "1");
    assert_eq!(sysctl("eth0/arp_filter").trim(), "1");
    let ping = || c.sh(&format!("busybox ping -c1 -W1 {VIP}")).is_ok();
    assert!(ping(), "client reaches the VIP on a");
    std::thread::sleep(Duration::from_millis(1500));
    cap.signal(Signal::SIGINT).ok();
    std::thread::sleep(Duration::from_millis(500));
    let pcap = cap.pcap_path().expect("pcap").to_path_buf();
    let srcs = tshark_fields(&pcap, "vrrp && ip.src == 10.0.0.1", &["eth.src"]);
    assert!(!srcs.trim().is_empty(), "no advert from a captured");
    assert!(
        srcs.lines().all(|l| l.trim() == "00:00:5e:00:01:43"),
        "adverts from a not from the virtual MAC: {srcs}"
    );
    a.proc
        .as_ref()
        .expect("proc")
        .signal(Signal::SIGTERM)
        .expect("term");
    wait_until(Duration::from_secs(8), || on_vmac(&b)).expect("VIP on b's VMAC");
    assert!(
        wait_until(Duration::from_secs(3), ping).is_ok(),
        "client reaches the VIP on b"
    );
    wait_until(Duration::from_secs(5), || vmac(&a).is_empty())
        .unwrap_or_else(|_| panic!("a kept its VMAC: {}", vmac(&a)));
}

// Proves a backup hears its master's adverts through its own VMAC: with use_vmac both hosts'
// VMACs have the same virtual MAC, and the kernel's macvlan (private mode) hands a frame whose
// source MAC is a local VMAC's to that VMAC only, never to the base interface — so the backup
// must receive on its VMAC, joined to the VRRP group there, as keepalived does. Two IPv4
// instances (VRIDs 1, 2, /32 VIPs outside the subnet) and an IPv6 one: the master holds all
// three VIPs on its VMACs, the backup counts the master's adverts for each instance, never
// becomes master and holds none. (Before: the backup heard nothing and took all three.)
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_use_vmac_backup_hears_master() {
    let lab = Lab::new("vrvh").expect("lab");
    let mut a = director(&lab, "a", "10.0.0.1", &vmac_trio(150));
    let mut b = director(&lab, "b", "10.0.0.2", &vmac_trio(100));
    a.host.add_addr("fd00::1/64").expect("a6");
    b.host.add_addr("fd00::2/64").expect("b6");
    std::thread::sleep(Duration::from_millis(300));
    a.start(&lab, &[]);
    wait_until(Duration::from_secs(15), || {
        vmac_trio_held(&a) == vmac_trio_all()
    })
    .unwrap_or_else(|_| panic!("a holds {:?}\n{}", vmac_trio_held(&a), a.log()));
    b.start(&lab, &[]);
    let insts = ["VI_1", "VI_2", "VI_6"];
    let heard = wait_until(Duration::from_secs(20), || {
        adverts_rcvd(&b, &insts).iter().all(|n| *n >= 10)
    });
    assert!(
        heard.is_ok(),
        "b's adverts received per instance {:?}; b holds {:?}\n{}",
        adverts_rcvd(&b, &insts),
        vmac_trio_held(&b),
        b.log()
    );
    assert_eq!(vmac_trio_held(&a), vmac_trio_all(), "a holds all three");
    assert_eq!(vmac_trio_held(&b), Vec::new(), "b holds none");
    assert_eq!(
        b.stats()["became_master"],
        0,
        "b never master: {}",
        b.stats()
    );
    for i in insts {
        assert_eq!(b.state(i), "BACKUP", "{i} on b");
    }
}

// Proves use_vmac for IPv6 (VRRPv3): each director creates the private macvlan `vrrp.68` with the
// IPv6 virtual MAC 00:00:5e:00:02:44, without an automatic link-local address but with its own
// eth0 link-local (no DAD), and the master's VIP fd00::10 sits on it; adverts leave with the
// virtual MAC and the link-local source (tshark on the client); the client's neighbour entry for
// the VIP is the virtual MAC and it reaches the VIP; after SIGTERM the VIP is on b's VMAC, the
// client still reaches it, and a deleted its VMAC.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_use_vmac_ipv6() {
    let lab = Lab::new("vrv6").expect("lab");
    let vip6 = "fd00::10";
    let mk = |p: u8| {
        instance(
            "VI_6",
            68,
            p,
            "  version 3\n  use_vmac",
            &format!("    {vip6}/64"),
        )
        .replace("advert_int 1", "advert_int 0.5")
    };
    let mut a = director(&lab, "a", "10.0.0.1", &mk(150));
    let mut b = director(&lab, "b", "10.0.0.2", &mk(100));
    a.host.add_addr("fd00::1/64").expect("a6");
    b.host.add_addr("fd00::2/64").expect("b6");
    let c = lab.host("c").expect("client");
    c.add_addr("fd00::100/64").expect("client addr");
    let cap = lab.capture("c", "eth0", "vmac6").expect("capture");
    std::thread::sleep(Duration::from_millis(500));
    a.start(&lab, &[]);
    b.start(&lab, &[]);
    let on_vmac = |d: &Director| {
        d.host
            .ip(&["-o", "-6", "addr", "show", "dev", "vrrp.68"])
            .unwrap_or_default()
            .contains(&format!(" {vip6}/64 "))
    };
    let show = |d: &Director, what: &str| {
        d.host
            .ip(&["-o", what, "show", "dev", "vrrp.68"])
            .unwrap_or_default()
    };
    wait_until(Duration::from_secs(8), || on_vmac(&a) && !on_vmac(&b))
        .unwrap_or_else(|_| panic!("VIP not on a's VMAC:\n{}\n{}", show(&a, "addr"), a.log()));
    for d in [&a, &b] {
        assert!(
            show(d, "link").contains("link/ether 00:00:5e:00:02:44"),
            "{}",
            show(d, "link")
        );
    }
    // The VMAC carries the director's eth0 link-local address (no DAD) and no other one.
    let a_ll = a.eth0_link_local();
    assert!(a_ll.starts_with("fe80::"), "a's link-local: {a_ll}");
    let vm_ll: Vec<String> = show(&a, "addr")
        .lines()
        .filter(|l| l.contains("scope link"))
        .map(String::from)
        .collect();
    assert_eq!(vm_ll.len(), 1, "one link-local on the VMAC: {vm_ll:?}");
    assert!(
        vm_ll[0].contains(&format!(" {a_ll}/64 ")) && vm_ll[0].contains("nodad"),
        "{vm_ll:?} vs {a_ll}"
    );
    assert_eq!(
        a.host
            .sh("cat /proc/sys/net/ipv6/conf/vrrp.68/addr_gen_mode")
            .unwrap_or_default()
            .trim(),
        "1"
    );
    let ping = || c.sh(&format!("busybox ping -6 -c1 -W1 {vip6}")).is_ok();
    assert!(
        wait_until(Duration::from_secs(3), ping).is_ok(),
        "client reaches the VIP on a"
    );
    let neigh = c.ip(&["-6", "neigh", "show", vip6]).unwrap_or_default();
    assert!(
        neigh.contains("00:00:5e:00:02:44"),
        "client resolves the VIP to the virtual MAC: {neigh}"
    );
    std::thread::sleep(Duration::from_millis(1000));
    cap.signal(Signal::SIGINT).ok();
    std::thread::sleep(Duration::from_millis(500));
    let pcap = cap.pcap_path().expect("pcap").to_path_buf();
    let srcs = tshark_fields(&pcap, "vrrp && vrrp.prio == 150", &["eth.src", "ipv6.src"]);
    assert!(!srcs.trim().is_empty(), "no advert from a captured");
    let want = format!("00:00:5e:00:02:44\t{a_ll}");
    assert!(
        srcs.lines().all(|l| l.trim() == want),
        "adverts from a not from the virtual MAC and its link-local ({want}): {srcs}"
    );
    a.proc
        .as_ref()
        .expect("proc")
        .signal(Signal::SIGTERM)
        .expect("term");
    wait_until(Duration::from_secs(8), || on_vmac(&b)).expect("VIP on b's VMAC");
    assert!(
        wait_until(Duration::from_secs(3), ping).is_ok(),
        "client reaches the VIP on b"
    );
    wait_until(Duration::from_secs(5), || show(&a, "link").is_empty())
        .unwrap_or_else(|_| panic!("a kept its VMAC: {}", show(&a, "link")));
}

// Proves notifications: the notify_master/notify_backup scripts and the generic `notify` script
// run in order with keepalived's arguments (INSTANCE name STATE priority), and the notify FIFO
// gets keepalived's lines `INSTANCE "VI_1" STATE prio`, including STOP at shutdown.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_notify_scripts_and_fifo() {
    let lab = Lab::new("vrnot").expect("lab");
    let log = lab.dir().join("notify.log");
    let fifo = lab.dir().join("notify.fifo");
    let sh = lab.dir().join("n.sh");
    std::fs::write(
        &sh,
        format!("#!/bin/sh\necho \"$*\" >> {}\n", log.display()),
    )
    .expect("sh");
    std::process::Command::new("chmod")
        .args(["755", sh.to_str().unwrap_or("")])
        .status()
        .expect("chmod");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    let fifo_log = lab.dir().join("fifo.log");
    let vips = format!("    {VIP}/24");
    let extra = format!(
        "  notify_master \"{s} master-specific\"\n  notify_backup \"{s} backup-specific\"\n  notify_stop \"{s} stop-specific\"\n  notify {s}",
        s = sh.display()
    );
    let conf = format!(
        "global_defs {{\n  notify_fifo {}\n}}\n{}",
        fifo.display(),
        instance("VI_1", 59, 150, &extra, &vips)
    );
    let mut a = director(&lab, "a", "10.0.0.1", &conf);
    let reader = a
        .host
        .spawn_sh(&format!("cat {} > {}", fifo.display(), fifo_log.display()))
        .expect("fifo reader");
    a.start(&lab, &[]);
    wait_holder(&[&a], 0, VIP, Duration::from_secs(8));
    a.proc
        .as_ref()
        .expect("proc")
        .signal(Signal::SIGTERM)
        .expect("term");
    a.proc
        .as_ref()
        .expect("proc")
        .wait_timeout(Duration::from_secs(5))
        .expect("exit");
    wait_until(Duration::from_secs(3), || {
        std::fs::read_to_string(&log)
            .map(|s| s.lines().count() >= 6)
            .unwrap_or(false)
    })
    .expect("notify log");
    let got = std::fs::read_to_string(&log).expect("log");
    assert_eq!(
        got.lines().collect::<Vec<_>>(),
        vec![
            "backup-specific",
            "INSTANCE VI_1 BACKUP 150",
            "master-specific",
            "INSTANCE VI_1 MASTER 150",
            "stop-specific",
            "INSTANCE VI_1 STOP 150",
        ]
    );
    wait_until(Duration::from_secs(3), || {
        std::fs::read_to_string(&fifo_log)
            .map(|s| s.lines().count() >= 3)
            .unwrap_or(false)
    })
    .expect("fifo lines");
    let f = std::fs::read_to_string(&fifo_log).expect("fifo log");
    assert_eq!(
        f.lines().collect::<Vec<_>>(),
        vec![
            "INSTANCE \"VI_1\" BACKUP 150",
            "INSTANCE \"VI_1\" MASTER 150",
            "INSTANCE \"VI_1\" STOP 150",
        ]
    );
    reader.kill();
}

// Proves smtp_alert mail: a director with smtp_alert becoming MASTER sends one mail to the SMTP
// server (a sink in another namespace of the lab) in keepalived's dialogue (HELO, MAIL FROM,
// one RCPT TO per recipient, DATA, QUIT) with keepalived's headers, subject and body; a
// second director whose smtp_server is unreachable logs the failure with the server and still
// works (takes over the VIP when the first stops).
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_smtp_alert_mail() {
    let lab = Lab::new("vrsmtp").expect("lab");
    let m = lab.host("m").expect("mail host");
    m.add_addr("10.0.0.25/24").expect("addr");
    let sink = testlab::smtp_sink::SmtpSink::start(&m, lab.dir(), "10.0.0.25", 2525).expect("sink");
    let vips = format!("    {VIP}/24");
    let globals = |rid: &str, server: &str| {
        format!(
            "global_defs {{\n  router_id {rid}\n  smtp_server {server}\n  smtp_helo_name lb.lab\n  \
             smtp_connect_timeout 2\n  notification_email_from keepalived@lb.lab\n  \
             notification_email {{\n    ops@example.com\n    noc@example.com\n  }}\n}}\n"
        )
    };
    let conf_a = format!(
        "{}{}",
        globals("LB1", "10.0.0.25 2525"),
        instance("VI_1", 62, 150, "  smtp_alert", &vips)
    );
    // 10.0.0.26 is on the segment but nobody has it: the connection cannot succeed.
    let conf_b = format!(
        "{}{}",
        globals("LB2", "10.0.0.26 25"),
        instance("VI_1", 62, 100, "  smtp_alert", &vips)
    );
    let mut a = director(&lab, "a", "10.0.0.1", &conf_a);
    let mut b = director(&lab, "b", "10.0.0.2", &conf_b);
    a.start(&lab, &[]);
    b.start(&lab, &[]);
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(8));
    // a: BACKUP then MASTER, one mail each.
    wait_until(Duration::from_secs(5), || sink.sessions().len() >= 2).unwrap_or_else(|_| {
        panic!(
            "two mails expected; sink saw:\n{}\nlog a:\n{}",
            sink.transcript(),
            a.log()
        )
    });
    let sessions = sink.sessions();
    let master = sessions
        .iter()
        .find(|s| s.iter().any(|l| l.contains("Entering MASTER state")))
        .unwrap_or_else(|| panic!("no MASTER mail: {sessions:?}"));
    assert_eq!(
        &master[..5],
        &[
            "HELO lb.lab",
            "MAIL FROM:<keepalived@lb.lab>",
            "RCPT TO:<ops@example.com>",
            "RCPT TO:<noc@example.com>",
            "DATA",
        ]
    );
    assert!(master[5].starts_with("Date: "), "{master:?}");
    assert_eq!(
        &master[6..],
        &[
            "From: keepalived@lb.lab",
            "Subject: [LB1] VRRP Instance VI_1 - Entering MASTER state",
            "X-Mailer: Keepalived",
            "To: ops@example.com, noc@example.com",
            "",
            "=> VRRP Instance is now owning VRRP VIPs <=",
            "",
            ".",
            "QUIT",
        ]
    );
    assert_eq!(
        sessions
            .iter()
            .filter(|s| s.iter().any(|l| l.contains("Entering MASTER state")))
            .count(),
        1,
        "one MASTER mail"
    );
    assert!(sessions.iter().any(|s| s
        .iter()
        .any(|l| l == "Subject: [LB1] VRRP Instance VI_1 - Entering BACKUP state")));
    wait_until(Duration::from_secs(2), || {
        a.log().contains("SMTP alert successfully sent")
    })
    .expect("success logged");

    // b (BACKUP) could not mail: logged with the server, and b is otherwise unaffected.
    wait_until(Duration::from_secs(6), || {
        let l = b.log();
        l.contains("[10.0.0.26]:25")
            && (l.contains("Timeout connecting SMTP server") || l.contains("SMTP connection ERROR"))
    })
    .unwrap_or_else(|_| panic!("b logs the SMTP failure:\n{}", b.log()));
    assert_eq!(b.state("VI_1"), "BACKUP");
    a.proc
        .as_ref()
        .expect("proc")
        .signal(Signal::SIGTERM)
        .expect("term");
    wait_holder(&[&a, &b], 1, VIP, Duration::from_secs(8));
    // a's STOP mail was sent before it exited.
    wait_until(Duration::from_secs(3), || {
        sink.sessions().iter().any(|s| {
            s.iter()
                .any(|l| l.ends_with("VRRP Instance VI_1 - Stopping"))
        })
    })
    .unwrap_or_else(|_| panic!("STOP mail: {}", sink.transcript()));
}

// Proves unicast: with unicast_src_ip/unicast_peer (no multicast) the two nodes elect a master
// and fail over on SIGSTOP; adverts go to the peer's unicast address.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_unicast_failover() {
    let lab = Lab::new("vruni").expect("lab");
    let vips = format!("    {VIP}/24");
    let ua = "  unicast_src_ip 10.0.0.1\n  unicast_peer {\n    10.0.0.2\n  }";
    let ub = "  unicast_src_ip 10.0.0.2\n  unicast_peer {\n    10.0.0.1\n  }";
    let mut a = director(&lab, "a", "10.0.0.1", &instance("VI_1", 60, 150, ua, &vips));
    let mut b = director(&lab, "b", "10.0.0.2", &instance("VI_1", 60, 100, ub, &vips));
    a.start(&lab, &[]);
    b.start(&lab, &[]);
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(8));
    wait_until(Duration::from_secs(3), || {
        b.stats()["adverts_rcvd"].as_u64().unwrap_or(0) >= 2
    })
    .expect("backup receives unicast adverts");
    a.proc
        .as_ref()
        .expect("proc")
        .signal(Signal::SIGSTOP)
        .expect("stop");
    wait_until(Duration::from_secs(6), || b.has_vip(VIP)).expect("b takes over");
    a.proc
        .as_ref()
        .expect("proc")
        .signal(Signal::SIGCONT)
        .expect("cont");
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(8));
}

// Proves VRRPv3 at 100 ms: election and SIGSTOP failover within Master_Down_Interval
// (3 × 100 ms + skew) plus scheduling margin.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_v3_fast_failover() {
    let lab = Lab::new("vrv3").expect("lab");
    let vips = format!("    {VIP}/24");
    let mk = |p: u8| {
        instance("VI_1", 61, p, "  version 3", &vips).replace("advert_int 1", "advert_int 0.1")
    };
    let mut a = director(&lab, "a", "10.0.0.1", &mk(150));
    let mut b = director(&lab, "b", "10.0.0.2", &mk(100));
    a.start(&lab, &[]);
    b.start(&lab, &[]);
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(5));
    a.proc
        .as_ref()
        .expect("proc")
        .signal(Signal::SIGSTOP)
        .expect("stop");
    let t0 = std::time::Instant::now();
    wait_until(Duration::from_secs(3), || b.has_vip(VIP)).expect("b takes over");
    eprintln!("v3/100ms SIGSTOP takeover seen after {:?}", t0.elapsed());
    a.proc
        .as_ref()
        .expect("proc")
        .signal(Signal::SIGCONT)
        .expect("cont");
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(5));
}

pub const HOSTILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/hostile.py");

// Proves hostile adverts change nothing and are counted: a master (priority 150, PASS auth)
// receives priority-254 adverts that are each wrong in one way (TTL 64, bad checksum, wrong
// password, version 3 to a v2 instance, truncated, other VRID, auth type mismatch, interval mismatch) plus a
// correct one from a spoofed unicast source not in `unicast_peer` (check_unicast_src): it stays
// MASTER with its VIP, accepts none, and each reason has its counter.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_hostile_adverts_counted_and_ignored() {
    let lab = Lab::new("vrhost").expect("lab");
    let auth = "  authentication {\n    auth_type PASS\n    auth_pass s3cret\n  }";
    let uni = "  unicast_src_ip 10.0.0.1\n  check_unicast_src\n  unicast_peer {\n    10.0.0.2\n  }";
    let conf = format!(
        "{}{}",
        instance("VI_M", 80, 150, auth, &format!("    {VIP}/24")),
        instance("VI_U", 90, 150, uni, "    10.0.0.20/24")
    );
    let mut a = director(&lab, "a", "10.0.0.1", &conf);
    let x = lab.host("x").expect("attacker");
    x.add_addr("10.0.0.66/24").expect("addr");
    a.start(&lab, &[]);
    wait_holder(&[&a], 0, VIP, Duration::from_secs(8));
    wait_holder(&[&a], 0, "10.0.0.20", Duration::from_secs(8));
    let kinds = "ttl checksum password version truncated vrid authtype interval";
    x.sh(&format!(
        "python3 {HOSTILE} 10.0.0.66 224.0.0.18 80 {VIP} s3cret {kinds}"
    ))
    .expect("send hostile multicast");
    x.sh(&format!(
        "python3 {HOSTILE} 10.0.0.66 10.0.0.1 90 10.0.0.20 - valid"
    ))
    .expect("send spoofed unicast");
    std::thread::sleep(Duration::from_millis(1500));
    let s = a.stats();
    eprintln!("stats after hostile adverts: {s}");
    assert_eq!(s["adverts_rcvd"], 0, "nothing accepted: {s}");
    assert!(a.has_vip(VIP) && a.has_vip("10.0.0.20"), "VIPs still held");
    assert_eq!(a.state("VI_M"), "MASTER");
    assert_eq!(a.state("VI_U"), "MASTER");
    for c in [
        "ip_ttl_err",
        "chk_err",
        "auth_failure",
        "authtype_mismatch",
        "adver_int_err",
        "unknown_unicast_src",
    ] {
        assert!(
            s["rejected"][c].as_u64().unwrap_or(0) >= 1,
            "counter {c}: {s}"
        );
    }
    // The version nibble is checked first (issue 26 item 3; this asserted packet_len_err >= 6,
    // truncated + version, while a v3 header counted as a length error): the truncated ones
    // are length errors, the v3 header a version error.
    assert!(
        s["rejected"]["packet_len_err"].as_u64().unwrap_or(0) >= 3,
        "truncated: {s}"
    );
    assert!(
        s["rejected"]["version_err"].as_u64().unwrap_or(0) >= 3,
        "version: {s}"
    );
    assert!(
        s["unknown_vrid"].as_u64().unwrap_or(0) >= 3,
        "other VRID counted: {s}"
    );
}

// Proves track_file with keepalived's semantics, followed through inotify: weight 0 and a
// non-zero value puts the master in FAULT at once (VIP moves to the backup) and runs its
// notify_fault script; writing 0 clears the fault and the master pre-empts back.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_track_file_fault() {
    let lab = Lab::new("vrtf").expect("lab");
    let f = lab.dir().join("state");
    std::fs::write(&f, "0\n").expect("file");
    let flog = lab.dir().join("fault.log");
    let sh = lab.dir().join("nf.sh");
    std::fs::write(
        &sh,
        format!("#!/bin/sh\necho \"$*\" >> {}\n", flog.display()),
    )
    .expect("sh");
    std::fs::set_permissions(&sh, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let vips = format!("    {VIP}/24");
    let extra = format!(
        "  track_file {{\n    tf\n  }}\n  notify_fault \"{} fault-specific\"",
        sh.display()
    );
    let conf_a = format!(
        "track_file tf {{\n  file {}\n  weight 0\n}}\n{}",
        f.display(),
        instance("VI_1", 62, 150, &extra, &vips)
    );
    let mut a = director(&lab, "a", "10.0.0.1", &conf_a);
    let mut b = director(&lab, "b", "10.0.0.2", &instance("VI_1", 62, 100, "", &vips));
    a.start(&lab, &[]);
    b.start(&lab, &[]);
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(8));
    wait_until(Duration::from_secs(2), || a.state("VI_1") == "MASTER").expect("a MASTER");
    let t0 = std::time::Instant::now();
    std::fs::write(&f, "1\n").expect("file");
    // inotify: at once, not at the 1 s safety re-read.
    wait_until(Duration::from_millis(600), || a.state("VI_1") == "FAULT")
        .expect("a in FAULT right after the file changed");
    eprintln!("track_file change -> FAULT in {:?}", t0.elapsed());
    wait_holder(&[&a, &b], 1, VIP, Duration::from_secs(8));
    wait_until(Duration::from_secs(3), || {
        std::fs::read_to_string(&flog).is_ok_and(|s| s == "fault-specific\n")
    })
    .unwrap_or_else(|_| {
        panic!(
            "notify_fault ran once: {:?}",
            std::fs::read_to_string(&flog)
        )
    });
    std::fs::write(&f, "0\n").expect("file");
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(8));
}

// Proves track_interface is followed through kernel link events: when the tracked interface
// (a veth in the master's namespace) goes down the master goes FAULT at once (well inside one
// advert interval, no polling delay) and the backup takes the VIP; when it comes back up the
// master pre-empts back.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_track_interface_fault() {
    let lab = Lab::new("vrti").expect("lab");
    let vips = format!("    {VIP}/24");
    let conf_a = instance("VI_1", 63, 150, "  track_interface {\n    trk0\n  }", &vips);
    let mut a = director(&lab, "a", "10.0.0.1", &conf_a);
    let mut b = director(&lab, "b", "10.0.0.2", &instance("VI_1", 63, 100, "", &vips));
    a.host
        .sh("ip link add trk0 type veth peer name trk1 && ip link set trk1 up && ip link set trk0 up")
        .expect("tracked veth");
    a.start(&lab, &[]);
    b.start(&lab, &[]);
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(8));
    wait_until(Duration::from_secs(3), || a.state("VI_1") == "MASTER").expect("a MASTER");
    let t0 = std::time::Instant::now();
    a.host.link_down("trk0").expect("trk0 down");
    wait_until(Duration::from_millis(900), || a.state("VI_1") == "FAULT")
        .expect("a in FAULT within one advert interval of trk0 going down");
    eprintln!("track_interface down -> FAULT in {:?}", t0.elapsed());
    wait_holder(&[&a, &b], 1, VIP, Duration::from_secs(6));
    a.host.link_up("trk0").expect("trk0 up");
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(8));
    wait_until(Duration::from_secs(2), || b.state("VI_1") == "BACKUP").expect("b back to BACKUP");
}

// Proves IPv6 VRRPv3: adverts from the link-local address to ff02::12 (hop limit 255) elect the
// higher priority, which holds the IPv6 VIP alone; on SIGSTOP the backup takes it over, and
// on SIGCONT the master pre-empts back.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_ipv6_v3_failover() {
    let lab = Lab::new("vr6").expect("lab");
    let vip6 = "fd00::10";
    let mk = |p: u8| {
        instance("VI_6", 63, p, "  version 3", &format!("    {vip6}/64"))
            .replace("advert_int 1", "advert_int 0.5")
    };
    let mut a = director(&lab, "a", "10.0.0.1", &mk(150));
    let mut b = director(&lab, "b", "10.0.0.2", &mk(100));
    a.host.add_addr("fd00::1/64").expect("a6");
    b.host.add_addr("fd00::2/64").expect("b6");
    std::thread::sleep(Duration::from_millis(300));
    a.start(&lab, &[]);
    b.start(&lab, &[]);
    wait_holder(&[&a, &b], 0, vip6, Duration::from_secs(8));
    wait_until(Duration::from_secs(3), || {
        b.stats()["adverts_rcvd"].as_u64().unwrap_or(0) >= 2
    })
    .expect("backup accepts IPv6 adverts");
    a.proc
        .as_ref()
        .expect("proc")
        .signal(Signal::SIGSTOP)
        .expect("stop");
    wait_until(Duration::from_secs(5), || b.has_vip(vip6)).expect("b takes over");
    a.proc
        .as_ref()
        .expect("proc")
        .signal(Signal::SIGCONT)
        .expect("cont");
    wait_holder(&[&a, &b], 0, vip6, Duration::from_secs(8));
    // The VIP is removed just before the stats file shows the new state.
    wait_until(Duration::from_secs(1), || b.state("VI_6") == "BACKUP").expect("b BACKUP");
}

// Proves vrrp_sync_group: two instances in a group move together — a fault of one instance
// only (track_file on VI_2) takes both of the master's VIPs to the backup; clearing it brings
// both back.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_sync_group_moves_together() {
    let lab = Lab::new("vrsg").expect("lab");
    let f = lab.dir().join("state");
    std::fs::write(&f, "0\n").expect("file");
    let vip2 = "10.0.0.11";
    let group = "vrrp_sync_group G {\n  group {\n    VI_1\n    VI_2\n  }\n}\n";
    let mk = |p: u8, tf: bool| {
        let track = if tf {
            "  track_file {\n    tf\n  }"
        } else {
            ""
        };
        let tfdef = if tf {
            format!("track_file tf {{\n  file {}\n  weight 0\n}}\n", f.display())
        } else {
            String::new()
        };
        format!(
            "{tfdef}{group}{}{}",
            instance("VI_1", 64, p, "", &format!("    {VIP}/24")),
            instance("VI_2", 65, p, track, &format!("    {vip2}/24"))
        )
    };
    let mut a = director(&lab, "a", "10.0.0.1", &mk(150, true));
    let mut b = director(&lab, "b", "10.0.0.2", &mk(100, false));
    a.start(&lab, &[]);
    b.start(&lab, &[]);
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(8));
    wait_holder(&[&a, &b], 0, vip2, Duration::from_secs(8));
    std::fs::write(&f, "1\n").expect("file");
    wait_holder(&[&a, &b], 1, VIP, Duration::from_secs(8));
    wait_holder(&[&a, &b], 1, vip2, Duration::from_secs(8));
    assert_eq!(
        a.state("VI_1"),
        "FAULT",
        "the healthy member follows the group"
    );
    std::fs::write(&f, "0\n").expect("file");
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(8));
    wait_holder(&[&a, &b], 0, vip2, Duration::from_secs(8));
}

// Proves tracking declared on the vrrp_sync_group itself (keepalived: it applies to every
// member, any failure faults the group): a group-level track_script failing on the master puts
// both its instances in FAULT and both VIPs move to the backup; when it passes again both come
// back.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_sync_group_level_tracking() {
    let lab = Lab::new("vrsgt").expect("lab");
    let flag = lab.dir().join("ok");
    std::fs::write(&flag, "1").expect("flag");
    let vip2 = "10.0.0.11";
    let mk = |p: u8, tracked: bool| {
        let (script, track) = if tracked {
            (
                format!(
                    "vrrp_script chk {{\n  script \"/bin/test -f {}\"\n  interval 1\n}}\n",
                    flag.display()
                ),
                "  track_script {\n    chk\n  }\n",
            )
        } else {
            (String::new(), "")
        };
        format!(
            "{script}vrrp_sync_group G {{\n  group {{\n    VI_1\n    VI_2\n  }}\n{track}}}\n{}{}",
            instance("VI_1", 68, p, "", &format!("    {VIP}/24")),
            instance("VI_2", 69, p, "", &format!("    {vip2}/24"))
        )
    };
    let mut a = director(&lab, "a", "10.0.0.1", &mk(150, true));
    let mut b = director(&lab, "b", "10.0.0.2", &mk(100, false));
    a.start(&lab, &[]);
    b.start(&lab, &[]);
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(8));
    wait_holder(&[&a, &b], 0, vip2, Duration::from_secs(8));
    std::fs::remove_file(&flag).expect("rm flag");
    wait_holder(&[&a, &b], 1, VIP, Duration::from_secs(8));
    wait_holder(&[&a, &b], 1, vip2, Duration::from_secs(8));
    wait_until(Duration::from_secs(2), || {
        a.state("VI_1") == "FAULT" && a.state("VI_2") == "FAULT"
    })
    .unwrap_or_else(|_| panic!("a's members not FAULT:\n{}", a.log()));
    std::fs::write(&flag, "1").expect("flag");
    wait_holder(&[&a, &b], 0, VIP, Duration::from_secs(8));
    wait_holder(&[&a, &b], 0, vip2, Duration::from_secs(8));
}

// Proves vrrp_sync_group notifications: a lone director with a group of two instances runs the
// group's notify_master and its generic notify with keepalived's arguments (`GROUP name STATE 0`: a group's priority is 0)
// once all members are BACKUP, then MASTER, and STOP at shutdown, and writes
// `GROUP "G" STATE 0` lines to the notify FIFO next to the instances' lines.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_sync_group_notify() {
    let lab = Lab::new("vrsgn").expect("lab");
    let log = lab.dir().join("gnotify.log");
    let fifo = lab.dir().join("g.fifo");
    let fifo_log = lab.dir().join("gfifo.log");
    let sh = lab.dir().join("g.sh");
    std::fs::write(
        &sh,
        format!("#!/bin/sh\necho \"$*\" >> {}\n", log.display()),
    )
    .expect("sh");
    std::fs::set_permissions(&sh, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    // notify_backup and notify_stop write to a log of their own.
    let log2 = lab.dir().join("gnotify2.log");
    let sh2 = lab.dir().join("g2.sh");
    std::fs::write(
        &sh2,
        format!("#!/bin/sh\necho \"$*\" >> {}\n", log2.display()),
    )
    .expect("sh2");
    std::fs::set_permissions(&sh2, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let s = sh.display();
    let s2 = sh2.display();
    let conf = format!(
        "global_defs {{\n  notify_fifo {}\n}}\nvrrp_sync_group G {{\n  group {{\n    VI_1\n    VI_2\n  }}\n  notify_master \"{s} group-master\"\n  notify_backup \"{s2} group-backup\"\n  notify_stop \"{s2} group-stop\"\n  notify {s}\n}}\n{}{}",
        fifo.display(),
        instance("VI_1", 70, 150, "", &format!("    {VIP}/24")),
        instance("VI_2", 71, 150, "", "    10.0.0.11/24")
    );
    let mut a = director(&lab, "a", "10.0.0.1", &conf);
    let _reader = a
        .host
        .spawn_sh(&format!("cat {} > {}", fifo.display(), fifo_log.display()))
        .expect("fifo reader");
    a.start(&lab, &[]);
    wait_holder(&[&a], 0, VIP, Duration::from_secs(8));
    wait_holder(&[&a], 0, "10.0.0.11", Duration::from_secs(8));
    a.proc
        .as_ref()
        .expect("proc")
        .signal(Signal::SIGTERM)
        .expect("term");
    a.proc
        .as_ref()
        .expect("proc")
        .wait_timeout(Duration::from_secs(5))
        .expect("exit");
    wait_until(Duration::from_secs(3), || {
        std::fs::read_to_string(&log)
            .map(|s| s.lines().count() >= 4)
            .unwrap_or(false)
    })
    .unwrap_or_else(|_| panic!("group notify log: {:?}", std::fs::read_to_string(&log)));
    let got = std::fs::read_to_string(&log).expect("log");
    assert_eq!(
        got.lines().collect::<Vec<_>>(),
        vec![
            "GROUP G BACKUP 0",
            "group-master",
            "GROUP G MASTER 0",
            "GROUP G STOP 0"
        ]
    );
    wait_until(Duration::from_secs(3), || {
        std::fs::read_to_string(&log2)
            .map(|s| s.lines().count() >= 2)
            .unwrap_or(false)
    })
    .unwrap_or_else(|_| {
        panic!(
            "group notify_backup/stop: {:?}",
            std::fs::read_to_string(&log2)
        )
    });
    assert_eq!(
        std::fs::read_to_string(&log2)
            .expect("log2")
            .lines()
            .collect::<Vec<_>>(),
        vec!["group-backup", "group-stop"]
    );
    wait_until(Duration::from_secs(3), || {
        std::fs::read_to_string(&fifo_log)
            .map(|s| s.contains("GROUP \"G\" STOP"))
            .unwrap_or(false)
    })
    .unwrap_or_else(|_| panic!("fifo: {:?}", std::fs::read_to_string(&fifo_log)));
    let f = std::fs::read_to_string(&fifo_log).expect("fifo log");
    let groups: Vec<&str> = f.lines().filter(|l| l.starts_with("GROUP")).collect();
    assert_eq!(
        groups,
        vec![
            "GROUP \"G\" BACKUP 0",
            "GROUP \"G\" MASTER 0",
            "GROUP \"G\" STOP 0"
        ]
    );
}

/// `valid_lft` (seconds) of `vip` on `d`'s eth0 (`None`: absent or `forever`).
fn valid_lft6(d: &Director, vip: &str) -> Option<u32> {
    let out = d
        .host
        .ip(&["-6", "-o", "addr", "show", "dev", "eth0"])
        .unwrap_or_default();
    let line = out.lines().find(|l| l.contains(&format!(" {vip}/")))?;
    line.split("valid_lft ")
        .nth(1)?
        .split("sec")
        .next()?
        .parse()
        .ok()
}

// Proves the VIP lease on IPv6 VIPs: a v3 IPv6 master's VIP fd00::10 has a finite lifetime
// (valid_lft at most Master_Down_Interval rounded up + 1 s = 5 s), renewed while master (over
// 10 s, longer than the lease, it never drops below 2 s); once the master is SIGKILLed the
// backup takes over and the dead master's VIP expires from its kernel by itself.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_lease_ipv6_vip() {
    let lab = Lab::new("vrl6").expect("lab");
    let vip6 = "fd00::10";
    let vips = format!("    {vip6}/64");
    let mut a = director(
        &lab,
        "a",
        "10.0.0.1",
        &instance("VI_6", 57, 150, "  version 3", &vips),
    );
    let mut b = director(
        &lab,
        "b",
        "10.0.0.2",
        &instance("VI_6", 57, 100, "  version 3", &vips),
    );
    a.host.add_addr("fd00::1/64").expect("a6");
    b.host.add_addr("fd00::2/64").expect("b6");
    a.start(&lab, &[]);
    b.start(&lab, &[]);
    wait_holder(&[&a, &b], 0, vip6, Duration::from_secs(10));
    let until = std::time::Instant::now() + Duration::from_secs(10);
    let (mut lowest, mut highest) = (u32::MAX, 0);
    while std::time::Instant::now() < until {
        let left = valid_lft6(&a, vip6).unwrap_or_else(|| {
            panic!(
                "IPv6 VIP with a lease on a's eth0: {:?}\n{}",
                a.host.ip(&["-6", "-o", "addr", "show", "dev", "eth0"]),
                a.log()
            )
        });
        lowest = lowest.min(left);
        highest = highest.max(left);
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(
        highest <= 6,
        "lease of at most 6 s: highest valid_lft {highest}"
    );
    assert!(
        lowest >= 2,
        "renewed at half its lease: lowest valid_lft {lowest}"
    );
    assert_eq!(a.state("VI_6"), "MASTER");
    a.proc.as_ref().expect("proc").kill();
    let t0 = std::time::Instant::now();
    wait_until(Duration::from_secs(6), || b.has_vip(vip6)).expect("b takes over");
    wait_until(Duration::from_secs(9), || !a.has_vip(vip6)).expect("dead master's VIP expired");
    eprintln!("dead master's IPv6 VIP gone after {:?}", t0.elapsed());
    assert!(b.has_vip(vip6));
}
