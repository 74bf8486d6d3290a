//! `nftables_ipvs`, `nftables_ipvs_priority`, `nftables_ipvs_start_fwmark` on real IPVS and
//! nftables, side by side with the reference keepalived 2.2.7 (`-C`, checker only), inside the
//! project VM (`scripts/vm-test.sh lvs-director vm_nftables_ipvs`).

#![allow(clippy::unwrap_used, clippy::panic)] // test helpers outside #[test] fns

use std::path::Path;
use std::time::Duration;

use testlab::netns::{wait_until, Host, Lab, Proc};

fn require_vm() {
    assert!(
        std::env::var_os("KRS_IN_VM").is_some(),
        "this test needs real IPVS: run it inside the VM with `scripts/vm-test.sh lvs-director vm_`"
    );
}

fn ipvsadm_save(h: &Host) -> String {
    h.run_ok(&["ipvsadm", "-Sn"]).unwrap()
}

fn sorted(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

fn ruleset(h: &Host) -> String {
    h.run_ok(&["nft", "list", "ruleset"]).unwrap()
}

/// Two groups of address ranges (one IPv4 group used by a TCP and a UDP virtual server, one
/// IPv6 group), NAT to real servers on the back LAN.
const CONFIG: &str = r#"global_defs {
    nftables_ipvs
    nftables_ipvs_priority -5
    nftables_ipvs_start_fwmark 2000
}
virtual_server_group G1 {
    10.0.0.100-103 80
    10.0.0.120 8080
}
virtual_server_group G6 {
    fd00:1::10-1f 443
}
virtual_server group G1 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.1.0.11 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 10.1.0.12 80 {
        weight 2
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
virtual_server group G1 {
    delay_loop 1
    lb_algo wrr
    lb_kind NAT
    protocol UDP
    real_server 10.1.0.11 53 {
        weight 1
    }
}
virtual_server group G6 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server fd00:2::11 443 {
        weight 1
    }
}
"#;

fn start_ours(h: &Host, conf: &Path) -> Proc {
    h.spawn(&[env!("CARGO_BIN_EXE_krs-lvsd"), "-f", conf.to_str().unwrap()])
        .unwrap()
}

fn start_reference(dir: &Path, h: &Host, conf: &Path) -> Proc {
    let pid = |n: &str| dir.join(n).to_str().unwrap().to_string();
    h.spawn(&[
        "/usr/sbin/keepalived",
        "-n",
        "-l",
        "-C",
        "-f",
        conf.to_str().unwrap(),
        "-p",
        &pid("ka.pid"),
        "-c",
        &pid("ka-checkers.pid"),
        "-r",
        &pid("ka-vrrp.pid"),
    ])
    .unwrap()
}

/// Start a web server on port 80 in `host` answering with `name`.
fn web(dir: &Path, host: &Host, name: &str) -> Proc {
    let d = dir.join(format!("www-{name}"));
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("index.html"), name).unwrap();
    let p = host
        .spawn(&[
            "python3",
            "-m",
            "http.server",
            "80",
            "--bind",
            "0.0.0.0",
            "--directory",
            d.to_str().unwrap(),
        ])
        .unwrap();
    wait_until(Duration::from_secs(60), || {
        host.run(&["curl", "-s", "--max-time", "2", "http://127.0.0.1/"])
            .map(|o| String::from_utf8_lossy(&o.stdout) == name)
            .unwrap_or(false)
    })
    .unwrap_or_else(|_| panic!("web server {name} did not come up: {}", p.output_so_far()));
    p
}

struct Run {
    rules: String,
    table: String,
    /// Bodies of requests to 10.0.0.102:80 and 10.0.0.120:8080 (range addresses).
    bodies: Vec<String>,
    rules_after_stop: String,
}

fn run(d: &Host, client: &Host, p: Proc) -> Run {
    wait_until(Duration::from_secs(40), || {
        let t = ipvsadm_save(d);
        t.contains("-r 10.1.0.11:80") && t.contains("-r 10.1.0.12:80")
    })
    .unwrap_or_else(|_| {
        panic!(
            "table not reached: {}\n{}",
            ipvsadm_save(d),
            p.output_so_far()
        )
    });
    std::thread::sleep(Duration::from_secs(1));
    let rules = ruleset(d);
    let table = ipvsadm_save(d);
    let script = "for a in 10.0.0.102:80 10.0.0.120:8080 10.0.0.100:80; do \
                  for i in 1 2 3; do curl -s --max-time 5 http://$a/ || true; echo; done; done";
    let bodies = client
        .sh(script)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    p.stop(Duration::from_secs(20)).unwrap();
    let rules_after_stop = ruleset(d);
    d.run_ok(&["ipvsadm", "-C"]).unwrap();
    Run {
        rules,
        table,
        bodies,
        rules_after_stop,
    }
}

// Proves, against keepalived 2.2.7 running the same configuration in the same namespaces:
// with `nftables_ipvs` the ranges of a virtual_server_group become elements of
// `tcp_map`/`udp_map` (`10.0.0.100/30 . 80 : 0x000007d0`) in `table ip|ip6 keepalived_ipvs`,
// whose chain `in` (hook input, `nftables_ipvs_priority -5`) sets the mark from the map; the
// virtual servers are fwmark services numbered from `nftables_ipvs_start_fwmark 2000` (TCP
// group 2000, the same group in UDP 2001, the IPv6 group 2002); `nft list ruleset` and
// `ipvsadm -Sn` are identical to the reference's; a client reaches both real servers through
// range addresses (10.0.0.102:80, 10.0.0.120:8080) on the director; the tables are removed at
// stop.
#[test]
#[ignore = "vm: needs the IPVS VM"]
fn vm_nftables_ipvs_ranges_same_as_reference() {
    require_vm();
    let lab = Lab::new("lvsnft").unwrap();
    lab.segment("back").unwrap();
    let d = lab.host("d").unwrap();
    d.add_addr("10.0.0.1/24").unwrap();
    for a in [
        "10.0.0.100",
        "10.0.0.101",
        "10.0.0.102",
        "10.0.0.103",
        "10.0.0.120",
    ] {
        d.add_addr(&format!("{a}/32")).unwrap();
    }
    d.attach("eth1", "back").unwrap();
    d.add_addr_dev("10.1.0.1/24", "eth1").unwrap();
    d.sysctl("net.ipv4.ip_forward", "1").unwrap();
    let client = lab.host("c").unwrap();
    client.add_addr("10.0.0.50/24").unwrap();
    let dir = lab.dir().to_path_buf();
    let mut webs = Vec::new();
    for i in 1..=2 {
        let h = lab.host_unplugged(&format!("r{i}")).unwrap();
        h.attach("eth0", "back").unwrap();
        h.add_addr(&format!("10.1.0.{}/24", 10 + i)).unwrap();
        h.ip(&["route", "add", "default", "via", "10.1.0.1"])
            .unwrap();
        webs.push(web(&dir, &h, &format!("r{i}")));
    }
    let conf = dir.join("nft.conf");
    std::fs::write(&conf, CONFIG).unwrap();
    assert_eq!(ruleset(&d), "", "no ruleset before");
    let ours = run(&d, &client, start_ours(&d, &conf));
    let reference = run(&d, &client, start_reference(&dir, &d, &conf));
    eprintln!(
        "ours:\n{}{}\nkeepalived 2.2.7:\n{}{}",
        ours.rules, ours.table, reference.rules, reference.table
    );
    eprintln!(
        "bodies ours {:?}, keepalived 2.2.7 {:?}",
        ours.bodies, reference.bodies
    );
    assert_eq!(ours.rules, reference.rules, "nft list ruleset");
    assert_eq!(sorted(&ours.table), sorted(&reference.table), "ipvsadm -Sn");
    for (who, r) in [("ours", &ours), ("keepalived 2.2.7", &reference)] {
        assert!(
            r.rules.contains("10.0.0.100/30 . 80 : 0x000007d0")
                && r.rules.contains("10.0.0.120 . 8080 : 0x000007d0")
                && r.rules.contains("10.0.0.100/30 . 80 : 0x000007d1")
                && r.rules.contains("fd00:1::10/124 . 443 : 0x000007d2")
                && r.rules.contains("priority filter - 5")
                && r.rules
                    .contains("meta mark set ip daddr . tcp dport map @tcp_map return"),
            "{who}: {}",
            r.rules
        );
        assert!(
            r.table.contains("-A -f 2000 -s rr")
                && r.table.contains("-a -f 2000 -r 10.1.0.12:80 -m -w 2")
                && r.table.contains("-A -f 2001 -s wrr")
                && r.table.contains("-A -f 2002 -6 -s rr"),
            "{who}: {}",
            r.table
        );
        assert_eq!(r.rules_after_stop, "", "{who}: tables removed at stop");
        // Both real servers answer through the range addresses.
        let r1 = r.bodies.iter().filter(|b| *b == "r1").count();
        let r2 = r.bodies.iter().filter(|b| *b == "r2").count();
        assert!(
            r1 >= 2 && r2 >= 2 && r1 + r2 == 9,
            "{who}: bodies {:?}",
            r.bodies
        );
    }
    drop(webs);
}
