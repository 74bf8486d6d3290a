//! Namespace tests of `lvs-realserver`: the binary runs INSIDE a lab namespace (`ip netns
//! exec`), where /proc/sys/net is that namespace's own, so nothing touches the host.
//!
//! Layout (one bridge, 10.0.0.0/24): real server `rs` 10.0.0.2, director `dir` 10.0.0.1
//! holding the VIP 10.0.0.100 on its eth0, client `cl` 10.0.0.3.
//!
//! `vm_*` tests need the ipip module, absent from this host kernel: run them in the VM with
//! `scripts/vm-test.sh lvs-realserver vm_`.

// Test helpers outside #[test] fns unwrap too: a failing lab setup should fail the test.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use testlab::netns::{wait_until, Host, Lab};

const BIN: &str = env!("CARGO_BIN_EXE_lvs-realserver");
const VIP: &str = "10.0.0.100";

fn rs_cmd(rs: &Host, state: &Path, args: &[&str]) -> Output {
    let sd = state.to_string_lossy().into_owned();
    let mut argv = vec![BIN, "--state-dir", sd.as_str()];
    argv.extend_from_slice(args);
    rs.run(&argv).expect("run lvs-realserver")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Reads the ARP-related sysctls of all/lo/eth0 plus rp_filter: the snapshot compared
/// before start and after stop.
fn sysctls(h: &Host) -> String {
    h.sh("for t in all default lo eth0; do for k in arp_ignore arp_announce arp_filter rp_filter accept_local; do \
          printf '%s.%s=%s\\n' $t $k $(cat /proc/sys/net/ipv4/conf/$t/$k); done; done")
        .unwrap()
}

/// Addresses of the namespace (without lifetimes, which tick).
fn addrs(h: &Host) -> String {
    h.sh("ip -o addr show | awk '{print $2, $3, $4, $NF}'")
        .unwrap()
}

/// Sets originals a blind "echo 0" stop would destroy.
fn unusual_originals(rs: &Host) {
    rs.sh("echo 3 > /proc/sys/net/ipv4/conf/all/arp_ignore; \
           echo 1 > /proc/sys/net/ipv4/conf/all/arp_announce; \
           echo 2 > /proc/sys/net/ipv4/conf/lo/arp_ignore; \
           echo 1 > /proc/sys/net/ipv4/conf/eth0/arp_announce; \
           echo 1 > /proc/sys/net/ipv4/conf/all/rp_filter")
        .unwrap();
}

/// The distinct MAC addresses that answered `arping` for the VIP from the client.
fn arp_responders(cl: &Host) -> Vec<String> {
    cl.sh("ip neigh flush dev eth0 || true").unwrap();
    let out = cl
        .run(&["arping", "-c", "3", "-w", "3", "-i", "eth0", VIP])
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout).to_lowercase();
    let mut macs: Vec<String> = s
        .split(|c: char| c.is_whitespace() || c == '[' || c == ']' || c == '(' || c == ')')
        .map(|w| w.trim_end_matches(':'))
        .filter(|w| w.len() == 17 && w.split(':').count() == 6)
        .map(String::from)
        .collect();
    macs.sort();
    macs.dedup();
    macs
}

struct Dr {
    lab: Lab,
    rs: Host,
    dir: Host,
    cl: Host,
    state: PathBuf,
}

fn dr_lab(tag: &str) -> Dr {
    let lab = Lab::new(tag).unwrap();
    let rs = lab.host("rs").unwrap();
    let dir = lab.host("dir").unwrap();
    let cl = lab.host("cl").unwrap();
    rs.add_addr("10.0.0.2/24").unwrap();
    dir.add_addr("10.0.0.1/24").unwrap();
    dir.add_addr(&format!("{VIP}/24")).unwrap();
    cl.add_addr("10.0.0.3/24").unwrap();
    let state = lab.dir().join("rs-state");
    Dr {
        lab,
        rs,
        dir,
        cl,
        state,
    }
}

// Proves the LVS-DR real-server contract end to end: before `start` the real server
// answers ARP for the VIP (control: the test can see the flux); after `start 10.0.0.100`
// only the director's MAC answers; a TCP SYN to the VIP sent to the real server's MAC is
// accepted by a listener there; after `stop` every sysctl equals its (unusual) original
// and the VIP is gone.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_dr_arp_suppressed_traffic_accepted_and_restored() {
    let Dr {
        lab: _lab,
        rs,
        dir,
        cl,
        state,
    } = dr_lab("rsdr");
    unusual_originals(&rs);
    let before_sys = sysctls(&rs);
    let before_addr = addrs(&rs);
    let rs_mac = rs.mac("eth0").unwrap();
    let dir_mac = dir.mac("eth0").unwrap();

    // Control: the VIP on lo with the unusual originals (arp_ignore=3 only hides
    // scope-host addresses) makes the real server answer ARP too.
    rs.add_addr_dev(&format!("{VIP}/32"), "lo").unwrap();
    let flux = arp_responders(&cl);
    assert!(
        flux.contains(&rs_mac) && flux.contains(&dir_mac),
        "control: expected both to answer, got {flux:?}"
    );
    rs.del_addr_dev(&format!("{VIP}/32"), "lo").unwrap();

    let o = rs_cmd(&rs, &state, &["start", VIP, "--iface", "eth0"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let lo = rs.ip(&["-o", "addr", "show", "dev", "lo"]).unwrap();
    assert!(
        lo.contains(&format!("{VIP}/32")) && lo.contains("lo:rs0"),
        "{lo}"
    );

    let replies = arp_responders(&cl);
    assert_eq!(
        replies,
        vec![dir_mac.clone()],
        "only the director may answer"
    );

    // A listener on the real server; the client sends to the VIP via the RS's MAC.
    let srv = rs
        .spawn(&[
            "python3",
            "-c",
            "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
             s.bind(('10.0.0.100',8080))\ns.listen()\nprint('listening',flush=True)\n\
             c,a=s.accept()\nprint('accepted',a[0],flush=True)\nc.sendall(b'rs')\nc.close()",
        ])
        .unwrap();
    wait_until(Duration::from_secs(30), || {
        srv.output_so_far().contains("listening")
    })
    .unwrap();
    cl.ip(&[
        "neigh",
        "replace",
        VIP,
        "lladdr",
        &rs_mac,
        "dev",
        "eth0",
        "nud",
        "permanent",
    ])
    .unwrap();
    cl.ip(&["route", "replace", &format!("{VIP}/32"), "dev", "eth0"])
        .unwrap();
    let got = cl
        .sh("python3 -c \"import socket; s=socket.create_connection(('10.0.0.100',8080),timeout=20); print(s.recv(10).decode())\"")
        .unwrap();
    assert_eq!(got.trim(), "rs", "the real server answered");
    wait_until(Duration::from_secs(30), || {
        srv.output_so_far().contains("accepted 10.0.0.3")
    })
    .unwrap();

    let o = rs_cmd(&rs, &state, &["stop"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        sysctls(&rs),
        before_sys,
        "every sysctl back to its original"
    );
    assert_eq!(
        addrs(&rs),
        before_addr,
        "the VIP is gone, nothing else changed"
    );
    assert!(!state.join("state.json").exists());
}

// Proves start/stop idempotence and drift detection against the real kernel: a second
// start changes nothing; `status` exits 0, then 3 after a sysctl and the VIP are changed
// behind its back (JSON names the drift); `start` repairs it; a second `stop` is a no-op.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_idempotence_and_drift() {
    let Dr {
        lab: _lab,
        rs,
        state,
        ..
    } = dr_lab("rsidem");
    unusual_originals(&rs);
    let before_sys = sysctls(&rs);
    let before_addr = addrs(&rs);

    let o = rs_cmd(&rs, &state, &["start", VIP, "fd00::100", "--iface", "eth0"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let after_first = (sysctls(&rs), addrs(&rs));
    let o = rs_cmd(&rs, &state, &["start", VIP, "fd00::100", "--iface", "eth0"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("nothing to change"));
    assert_eq!((sysctls(&rs), addrs(&rs)), after_first);
    let lo6 = rs.ip(&["-6", "-o", "addr", "show", "dev", "lo"]).unwrap();
    assert!(
        lo6.contains("fd00::100/128") && lo6.contains("nodad"),
        "{lo6}"
    );

    let o = rs_cmd(&rs, &state, &["status"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    rs.sh("echo 0 > /proc/sys/net/ipv4/conf/lo/arp_ignore")
        .unwrap();
    rs.del_addr_dev(&format!("{VIP}/32"), "lo").unwrap();
    let o = rs_cmd(&rs, &state, &["status", "--json"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let drift = v["drift"].as_array().unwrap();
    assert_eq!(drift.len(), 2, "{v}");
    assert!(drift
        .iter()
        .any(|d| d.as_str().unwrap().contains("lo.arp_ignore is 0")));

    let o = rs_cmd(&rs, &state, &["start", VIP, "fd00::100", "--iface", "eth0"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = rs_cmd(&rs, &state, &["status"]);
    assert_eq!(o.status.code(), Some(0), "repaired: {}", text(&o));

    let o = rs_cmd(&rs, &state, &["stop"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sysctls(&rs), before_sys);
    assert_eq!(addrs(&rs), before_addr);
    let o = rs_cmd(&rs, &state, &["stop"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sysctls(&rs), before_sys);
    let o = rs_cmd(&rs, &state, &["status"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
}

// Proves bad input is refused with a clear message, the documented exit code and no change
// at all (sysctls and addresses identical, no state file) — including a kernel refusal in
// the middle of applying (IPv6 disabled on lo) which must roll back the sysctls and the
// IPv4 VIP already added, and a run without privileges.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_bad_input_changes_nothing() {
    let Dr {
        lab: _lab,
        rs,
        state,
        ..
    } = dr_lab("rsbad");
    unusual_originals(&rs);
    let before = (sysctls(&rs), addrs(&rs));
    let cases: &[(&[&str], i32, &str)] = &[
        (&["start", "banana"], 2, "not an IP address"),
        (&["start", "10.0.0.0"], 2, "network address"),
        (&["start", "10.0.0.255"], 2, "broadcast address"),
        (&["start", "10.0.0.2"], 2, "already a real address"),
        (&["start", VIP, "--iface", "eth9"], 2, "eth9 does not exist"),
        (&["start", VIP, "--mode", "nat"], 2, "invalid value"),
    ];
    for (args, code, msg) in cases {
        let o = rs_cmd(&rs, &state, args);
        assert_eq!(o.status.code(), Some(*code), "{args:?}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(msg),
            "{args:?}: {}",
            text(&o)
        );
        assert_eq!(
            (sysctls(&rs), addrs(&rs)),
            before,
            "{args:?} changed something"
        );
        assert!(!state.join("state.json").exists());
    }

    // Kernel refusal half-way: sysctls and the IPv4 VIP are applied, then the IPv6 VIP
    // is refused (IPv6 disabled on lo) -> everything rolled back.
    rs.sysctl("net.ipv6.conf.lo.disable_ipv6", "1").unwrap();
    let before = (sysctls(&rs), addrs(&rs));
    let o = rs_cmd(&rs, &state, &["start", VIP, "fd00::100", "--iface", "eth0"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("rolled back"),
        "{}",
        text(&o)
    );
    assert_eq!((sysctls(&rs), addrs(&rs)), before, "rollback incomplete");
    assert!(!state.join("state.json").exists());
    rs.sysctl("net.ipv6.conf.lo.disable_ipv6", "0").unwrap();

    // No permission: an unprivileged user in the namespace.
    let before = (sysctls(&rs), addrs(&rs));
    let sd = state.to_string_lossy().into_owned();
    let o = rs
        .run(&[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            BIN,
            "--state-dir",
            &sd,
            "start",
            VIP,
        ])
        .unwrap();
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("ermission denied"),
        "{}",
        text(&o)
    );
    assert_eq!((sysctls(&rs), addrs(&rs)), before);
}

// Proves --dry-run prints the plan and changes nothing, and that a config file can stand in
// for the arguments (VIPs, mode, iface).
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_dry_run_and_config_file() {
    let Dr { lab, rs, state, .. } = dr_lab("rsconf");
    let before = (sysctls(&rs), addrs(&rs));
    let o = rs_cmd(&rs, &state, &["--dry-run", "start", VIP, "--iface", "eth0"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("would sysctl net.ipv4.conf.all.arp_ignore"),
        "{out}"
    );
    assert!(
        out.contains("would add address 10.0.0.100/32 dev lo label lo:rs0"),
        "{out}"
    );
    assert_eq!((sysctls(&rs), addrs(&rs)), before);

    let conf = lab.dir().join("rs.conf");
    std::fs::write(
        &conf,
        "mode = dr\niface = eth0\nvip = 10.0.0.100 10.0.0.101\n",
    )
    .unwrap();
    let c = conf.to_string_lossy().into_owned();
    let o = rs_cmd(&rs, &state, &["--config", &c, "start"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let lo = rs.ip(&["-o", "addr", "show", "dev", "lo"]).unwrap();
    assert!(
        lo.contains("10.0.0.100/32") && lo.contains("10.0.0.101/32"),
        "{lo}"
    );
    // stop of one VIP keeps the sysctls; stop of the last restores them.
    let o = rs_cmd(&rs, &state, &["stop", "10.0.0.100"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_ne!(sysctls(&rs), before.0);
    let o = rs_cmd(&rs, &state, &["stop", "10.0.0.101"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!((sysctls(&rs), addrs(&rs)), before);
}

// Proves the /proc path of a VLAN interface keeps its dot: `--iface eth0.100` gets
// arp_ignore/arp_announce in /proc/sys/net/ipv4/conf/eth0.100/ (needs the 8021q module;
// the test says so and stops when the kernel cannot create VLANs).
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_vlan_interface_with_dot() {
    let Dr {
        lab: _lab,
        rs,
        state,
        ..
    } = dr_lab("rsvlan");
    if rs
        .ip(&[
            "link", "add", "link", "eth0", "name", "eth0.100", "type", "vlan", "id", "100",
        ])
        .is_err()
    {
        assert!(!testlab::vm::in_vm(), "the VM kernel must support VLANs");
        eprintln!("SKIPPED: this kernel cannot create VLAN devices (8021q); covered by vm_ run");
        return;
    }
    let o = rs_cmd(&rs, &state, &["start", VIP, "--iface", "eth0.100"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        rs.sh("cat /proc/sys/net/ipv4/conf/eth0.100/arp_ignore /proc/sys/net/ipv4/conf/eth0.100/arp_announce")
            .unwrap(),
        "1\n2\n"
    );
    let o = rs_cmd(&rs, &state, &["stop"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        rs.sh("cat /proc/sys/net/ipv4/conf/eth0.100/arp_ignore")
            .unwrap(),
        "0\n"
    );
}

// Proves LVS-TUN: after `start --mode tun VIP`, an ipip-encapsulated packet to the VIP
// (the director routes the VIP into an ipip tunnel to the real server) reaches a listener
// on the real server, even though the real server's original rp_filter was strict; and
// `stop` removes tunl0's VIP and restores rp_filter. Needs the ipip module: runs in the VM
// (`scripts/vm-test.sh lvs-realserver vm_`), skips elsewhere.
#[test]
#[ignore = "vm: needs the IPVS VM"]
fn vm_tun_ipip_packet_reaches_listener() {
    if !testlab::vm::in_vm() {
        eprintln!("SKIPPED: not inside the VM (run scripts/vm-test.sh lvs-realserver vm_)");
        return;
    }
    let lab = Lab::new("rstun").unwrap();
    let rs = lab.host("rs").unwrap();
    let dir = lab.host("dir").unwrap();
    rs.add_addr("10.0.0.2/24").unwrap();
    dir.add_addr("10.0.0.1/24").unwrap();
    let state = lab.dir().join("rs-state");
    rs.sh("echo 1 > /proc/sys/net/ipv4/conf/all/rp_filter; echo 1 > /proc/sys/net/ipv4/conf/eth0/rp_filter")
        .unwrap();
    let before = sysctls(&rs);

    let o = rs_cmd(
        &rs,
        &state,
        &["start", "--mode", "tun", "192.0.2.50", "--iface", "eth0"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = rs.ip(&["-o", "addr", "show", "dev", "tunl0"]).unwrap();
    assert!(t.contains("192.0.2.50/32"), "{t}");
    assert_eq!(
        rs.sh("cat /proc/sys/net/ipv4/conf/tunl0/rp_filter /proc/sys/net/ipv4/conf/all/rp_filter")
            .unwrap(),
        "0\n0\n"
    );

    let srv = rs
        .spawn(&[
            "python3",
            "-c",
            "import socket\ns=socket.socket()\ns.bind(('192.0.2.50',8080))\ns.listen()\n\
             print('listening',flush=True)\nc,a=s.accept()\nprint('accepted',a[0],flush=True)\n\
             c.sendall(b'tun')\nc.close()",
        ])
        .unwrap();
    wait_until(Duration::from_secs(30), || {
        srv.output_so_far().contains("listening")
    })
    .unwrap();
    // The director encapsulates traffic for the VIP to the real server.
    dir.sh(
        "ip link add tun1 type ipip local 10.0.0.1 remote 10.0.0.2 && ip link set tun1 up && \
            ip route add 192.0.2.50/32 dev tun1",
    )
    .unwrap();
    let got = dir
        .sh("python3 -c \"import socket; s=socket.create_connection(('192.0.2.50',8080),timeout=20); print(s.recv(10).decode())\"")
        .unwrap();
    assert_eq!(got.trim(), "tun");
    wait_until(Duration::from_secs(30), || {
        srv.output_so_far().contains("accepted 10.0.0.1")
    })
    .unwrap();

    let o = rs_cmd(&rs, &state, &["stop"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sysctls(&rs), before);
    let t = rs
        .ip(&["-o", "addr", "show", "dev", "tunl0"])
        .unwrap_or_default();
    assert!(!t.contains("192.0.2.50"), "{t}");
}
