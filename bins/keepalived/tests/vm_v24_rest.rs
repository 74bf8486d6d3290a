//! PING_CHECK `bindto` and UDP_CHECK `bind_if` (issue #21) under ours and upstream keepalived
//! 2.4.3 side by side; the checker needs IPVS, so inside the project VM:
//! `scripts/vm-test.sh keepalived vm_checker_bind -- --nocapture`.

#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use nix::sys::signal::Signal;
use testlab::netns::{read_pcap, wait_until, Lab};

const BIN: &str = env!("CARGO_BIN_EXE_keepalived");

fn reference_243() -> String {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/reference/keepalived-2.4.3/bin/keepalived"
    );
    assert!(
        Path::new(p).exists(),
        "{p} missing: run scripts/build-reference.sh"
    );
    p.to_string()
}

/// Sources of the ICMP echo requests in the Ethernet capture `pcap`.
fn echo_sources(pcap: &Path) -> Vec<IpAddr> {
    let Ok(p) = read_pcap(pcap) else {
        return Vec::new();
    };
    let mut v: Vec<IpAddr> = p
        .packets
        .iter()
        .filter_map(|k| {
            let d = &k.data;
            // IPv4, ICMP, echo request (type 8 after a 20-byte header).
            if d.get(12..14)? != [0x08, 0x00] || *d.get(23)? != 1 || *d.get(34)? != 8 {
                return None;
            }
            let a: [u8; 4] = d.get(26..30)?.try_into().ok()?;
            Some(IpAddr::from(a))
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// `prog` checks 10.0.0.2 with a PING_CHECK bound to 10.0.0.5 (`bindto`, a second address of
/// the director) and a UDP_CHECK of port 7 (`require_reply`; an echo server answers) bound to
/// `lo` (`bind_if`): (the sources of the echo requests the real server saw, the UDP
/// real server in the director's IPVS table after the checks ran).
fn checker_binds(tag: &str, prog: &str) -> (Vec<IpAddr>, bool) {
    let lab = Lab::new(tag).expect("lab");
    let a = lab.host("a").expect("director");
    let b = lab.host("b").expect("real server");
    a.add_addr("10.0.0.1/24").expect("addr");
    a.add_addr("10.0.0.5/24").expect("addr");
    b.add_addr("10.0.0.2/24").expect("addr");
    let udp = b
        .spawn(&[
            "python3",
            "-c",
            "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('10.0.0.2',7))\nprint('LISTENING',flush=True)\nwhile True:\n  d,a=s.recvfrom(2048)\n  s.sendto(d,a)",
        ])
        .expect("udp listener");
    wait_until(Duration::from_secs(10), || {
        udp.stdout_so_far().contains("LISTENING")
    })
    .unwrap_or_else(|_| panic!("listener: {}", udp.output_so_far()));
    let cap = b.capture("eth0", "ping").expect("capture");
    let dir = lab.dir().to_path_buf();
    let s = |n: &str| dir.join(n).to_str().expect("utf-8").to_string();
    std::fs::write(
        dir.join("keepalived.conf"),
        "virtual_server 10.0.0.100 80 {\n  delay_loop 1\n  protocol TCP\n  lb_algo rr\n  lb_kind DR\n  real_server 10.0.0.2 80 {\n    PING_CHECK {\n      connect_timeout 2\n      bindto 10.0.0.5\n    }\n  }\n}\nvirtual_server 10.0.0.100 7 {\n  delay_loop 1\n  protocol UDP\n  lb_algo rr\n  lb_kind DR\n  real_server 10.0.0.2 7 {\n    UDP_CHECK {\n      connect_timeout 2\n      require_reply\n      bind_if lo\n    }\n  }\n}\n",
    )
    .expect("conf");
    let (c, p, r, ch) = (s("keepalived.conf"), s("k.pid"), s("v.pid"), s("c.pid"));
    let mut argv = vec![
        prog, "-n", "-l", "-D", "-C", "-f", &c, "-p", &p, "-r", &r, "-c", &ch,
    ];
    if prog == BIN {
        argv.push("-G");
    }
    let proc = a.spawn(&argv).expect("spawn");
    // Several rounds of both checks (the VM's emulated CPU makes the start slow).
    let pcap = cap.pcap_path().unwrap().to_path_buf();
    let _ = wait_until(Duration::from_secs(30), || !echo_sources(&pcap).is_empty());
    std::thread::sleep(Duration::from_secs(8));
    let table = a.run_ok(&["cat", "/proc/net/ip_vs"]).unwrap_or_default();
    // 10.0.0.2:7 as /proc/net/ip_vs writes it.
    let udp_in = table.contains("0A000002:0007");
    proc.signal(Signal::SIGTERM).expect("term");
    let _ = proc.wait_timeout(Duration::from_secs(15));
    let seen = echo_sources(&pcap);
    eprintln!(
        "{prog}: echo requests from {seen:?}, UDP real server in IPVS {udp_in}\n{table}\n{}",
        proc.output_so_far()
    );
    (seen, udp_in)
}

// Proves how PING_CHECK `bindto` and UDP_CHECK `bind_if` differ between keepalived 2.4.3 and
// ours (the checker needs IPVS: the VM). 2.4.3 accepts both and ignores them: its echo requests
// leave from the director's primary address 10.0.0.1, and its UDP check bound to `lo` still
// goes out of eth0, gets its echo and keeps the real server. Ours applies them as upstream does since
// e5978068 (after 2.4.3) and as its man page describes them: echo requests from 10.0.0.5, and
// the UDP check on `lo` gets no reply from 10.0.0.2, so the real server leaves the table.
#[test]
#[ignore = "vm: needs IPVS (run inside the VM)"]
fn vm_checker_bind_ping_udp_vs_reference() {
    assert!(
        std::env::var_os("KRS_IN_VM").is_some(),
        "needs IPVS: run inside the VM with `scripts/vm-test.sh keepalived vm_checker_bind`"
    );
    let r = checker_binds("vcbr", &reference_243());
    let o = checker_binds("vcbo", BIN);
    let one: IpAddr = "10.0.0.1".parse().unwrap();
    let five: IpAddr = "10.0.0.5".parse().unwrap();
    assert_eq!(r, (vec![one], true), "2.4.3 ignores bindto and bind_if");
    assert_eq!(o, (vec![five], false), "ours applies them");
}
