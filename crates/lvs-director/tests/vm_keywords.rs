//! Virtual-server and real-server keywords on real IPVS, compared with the reference keepalived,
//! inside the project VM (`scripts/vm-test.sh lvs-director vm_keywords`).
//!
//! One configuration uses many keywords at once (one VM boot is slow); our `krs-lvsd` and the
//! reference keepalived 2.2.7 run it in turn in the same lab namespace and their `ipvsadm -Sn`
//! must be equal; the test also asserts each keyword's line in our table, so the equality is
//! not between two tables that both lack the setting.

#![allow(clippy::unwrap_used, clippy::panic)] // test helpers outside #[test] fns

use std::path::Path;
use std::time::{Duration, Instant};

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

/// `ipvsadm -Sn` sorted line by line (services and destinations come back in hash order).
fn sorted(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

/// `ipvsadm -Ln --thresholds` (`-Sn` does not show the thresholds), sorted.
fn thresholds(h: &Host) -> Vec<String> {
    sorted(&h.run_ok(&["ipvsadm", "-Ln", "--thresholds"]).unwrap())
}

fn wait_save(h: &Host, what: &str, limit: Duration, p: &Proc, done: impl Fn(&str) -> bool) {
    let t0 = Instant::now();
    loop {
        let s = ipvsadm_save(h);
        if done(&s) {
            return;
        }
        assert!(
            t0.elapsed() < limit,
            "{what}: not reached within {limit:?}; table:\n{s}\noutput:\n{}",
            p.output_so_far()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn start_reference(lab: &Lab, h: &Host, conf: &Path) -> Proc {
    let pid = |n: &str| lab.dir().join(n).to_str().unwrap().to_string();
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

const FOREIGN: &str = "10.9.9.9:9";

/// Every keyword under test, on services that need no live real server (a real server
/// without a checker is alive), plus two whose checker always fails (TCP to a closed port on
/// the director's loopback): one engages its sorry server, one is under `ha_suspend` with its
/// address not local, so its checker never runs and its real server stays.
fn config() -> String {
    let fail = "TCP_CHECK {\n            connect_ip 127.0.0.1\n            connect_port 9\n            connect_timeout 1\n            retry 0\n        }";
    format!(
        r#"global_defs {{
    lvs_flush
    lvs_flush_on_stop
}}
virtual_server 10.0.0.100 80 {{
    delay_loop 1
    lb_algo sh
    sh-port
    sh-fallback
    lb_kind DR
    protocol TCP
    persistence_timeout 600
    persistence_granularity 255.255.255.0
    real_server 10.0.0.11 80 {{
        weight 2
        uthreshold 100
        lthreshold 10
    }}
    real_server 10.0.0.12 8080 {{
        lvs_method NAT
    }}
}}
virtual_server 10.0.0.100 53 {{
    delay_loop 1
    lb_algo mh
    mh-port
    mh-fallback
    ops
    lb_kind NAT
    protocol UDP
    real_server 10.0.0.11 53 {{
    }}
}}
virtual_server 10.0.0.100 5060 {{
    delay_loop 1
    lb_algo rr
    flag-1
    flag-2
    flag-3
    lb_kind DR
    protocol UDP
    persistence_engine sip
    persistence_timeout 30
    real_server 10.0.0.11 5060 {{
    }}
}}
virtual_server fwmark 7 {{
    delay_loop 1
    ip_family inet6
    lb_algo wrr
    lb_kind DR
    real_server fd00::11 80 {{
    }}
}}
virtual_server_group G1 {{
    10.0.0.200-201 8080
    fwmark 9
}}
virtual_server group G1 {{
    delay_loop 1
    lb_algo lc
    lb_kind TUN
    protocol TCP
    real_server 10.0.0.13 8080 {{
    }}
}}
virtual_server 10.0.0.100 443 {{
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    sorry_server 10.0.0.20 443
    sorry_server_inhibit
    real_server 10.0.0.11 443 {{
    }}
}}
virtual_server 10.0.0.100 444 {{
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    sorry_server 10.0.0.21 4444
    sorry_server_lvs_method NAT
    real_server 10.0.0.11 444 {{
        {fail}
    }}
}}
virtual_server 10.0.0.150 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    ha_suspend
    real_server 10.0.0.31 80 {{
        {fail}
    }}
}}
"#
    )
}

/// The table is complete: the sorry server of :444 is in (its real server failed), all
/// services and their destinations are there.
fn complete(s: &str) -> bool {
    s.contains("-a -t 10.0.0.100:444 -r 10.0.0.21:4444 -m")
        && !s.contains("-r 10.0.0.11:444")
        && s.lines().filter(|l| l.starts_with("-A ")).count() == 10
        && s.lines().filter(|l| l.starts_with("-a ")).count() == 12
}

// Proves, on real IPVS and equal to keepalived 2.2.7's table for the same configuration:
// `persistence_timeout` and `persistence_granularity` (-p 600 -M 255.255.255.0),
// `persistence_engine sip` (--pe sip), `sh-port`/`sh-fallback` under `lb_algo sh` and
// `mh-port`/`mh-fallback` under `lb_algo mh` (-b sh-fallback,sh-port / mh-fallback,mh-port),
// `ops` on a UDP service (-o), `flag-1`/`flag-2`/`flag-3` (-b flag-1,flag-2,flag-3),
// `ip_family inet6` on a fwmark service (-f 7 -6 with an IPv6 destination), a
// `virtual_server_group` (an address range and a fwmark become three services with the
// group's real server), the real server's `lvs_method` (NAT in a DR service: -m),
// `uthreshold`/`lthreshold` (100 and 10 in `ipvsadm -Ln --thresholds`), `sorry_server_inhibit` (the sorry server present
// with weight 0 while the real servers are up), `sorry_server_lvs_method` (the engaged sorry
// server forwarded by NAT: -m), `ha_suspend` (the failing checker of a virtual server whose
// address is not local does not run, so its real server stays; once the address is added
// locally the checker runs and removes it); and the global `lvs_flush` (a foreign service
// present at start is removed) and `lvs_flush_on_stop` (at stop the whole table is flushed,
// a foreign service added meanwhile included).
#[test]
#[ignore = "vm: needs the IPVS VM"]
fn vm_keywords_flags_persistence_groups_sorry_same_as_reference() {
    require_vm();
    let lab = Lab::new("lvskw").unwrap();
    let d = lab.host("d").unwrap();
    d.add_addr("10.0.0.1/24").unwrap();
    d.add_addr("fd00::1/64").unwrap();
    let conf = lab.dir().join("kw.conf");
    std::fs::write(&conf, config()).unwrap();
    let foreign = || {
        d.run_ok(&["ipvsadm", "-A", "-t", FOREIGN, "-s", "rr"])
            .unwrap();
    };

    // Ours.
    foreign();
    let p = d
        .spawn(&[env!("CARGO_BIN_EXE_krs-lvsd"), "-f", conf.to_str().unwrap()])
        .unwrap();
    wait_save(&d, "our table", Duration::from_secs(60), &p, complete);
    std::thread::sleep(Duration::from_millis(1500));
    let ours = ipvsadm_save(&d);
    let ours_thresholds = thresholds(&d);
    eprintln!("ours:\n{ours}\n{ours_thresholds:#?}");
    // uthreshold / lthreshold: "-> RIP:PORT Uthreshold Lthreshold ActiveConn InActConn".
    let th: Vec<&str> = ours_thresholds
        .iter()
        .find(|l| l.contains("10.0.0.11:80 "))
        .unwrap_or_else(|| panic!("{ours_thresholds:#?}"))
        .split_whitespace()
        .collect();
    assert_eq!(th.get(2..4), Some(&["100", "10"][..]), "{th:?}");
    assert!(complete(&ours), "settled: {ours}");
    assert!(!ours.contains(FOREIGN), "lvs_flush at start: {ours}");
    for (prefix, tokens) in [
        (
            "-A -t 10.0.0.100:80 ",
            &[
                "-s sh",
                "sh-fallback",
                "sh-port",
                "-p 600",
                "-M 255.255.255.0",
            ][..],
        ),
        ("-a -t 10.0.0.100:80 -r 10.0.0.11:80 ", &["-g", "-w 2"]),
        ("-a -t 10.0.0.100:80 -r 10.0.0.12:8080 ", &["-m"]),
        (
            "-A -u 10.0.0.100:53 ",
            &["-s mh", "mh-fallback", "mh-port", "-o"],
        ),
        (
            "-A -u 10.0.0.100:5060 ",
            &["-s rr", "flag-1", "flag-2", "flag-3", "-p 30", "--pe sip"],
        ),
        ("-A -f 7 -6 ", &["-s wrr"]),
        ("-a -f 7 -6 -r [fd00::11]", &["-g"]),
        ("-A -t 10.0.0.200:8080 ", &["-s lc"]),
        ("-A -t 10.0.0.201:8080 ", &["-s lc"]),
        ("-A -f 9 ", &["-s lc"]),
        ("-a -f 9 -r 10.0.0.13", &["-i"]),
        ("-a -t 10.0.0.200:8080 -r 10.0.0.13", &["-i"]),
        ("-a -t 10.0.0.100:443 -r 10.0.0.20:443 ", &["-g", "-w 0"]),
        ("-a -t 10.0.0.100:443 -r 10.0.0.11:443 ", &["-g", "-w 1"]),
        ("-a -t 10.0.0.100:444 -r 10.0.0.21:4444 ", &["-m", "-w 1"]),
        ("-a -t 10.0.0.150:80 -r 10.0.0.31:80 ", &["-g"]),
    ] {
        let line = ours
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}...` in ours:\n{ours}"));
        let words = format!("{line} ");
        for t in tokens {
            assert!(
                words.contains(&format!(" {t} "))
                    || words.contains(&format!(",{t} "))
                    || words.contains(&format!(" {t},"))
                    || words.contains(&format!(",{t},")),
                "`{t}` missing in `{line}`"
            );
        }
    }

    // ha_suspend: the address becomes local, the checker runs, the real server goes.
    d.add_addr("10.0.0.150/32").unwrap();
    wait_save(
        &d,
        "ha_suspend resumed: 10.0.0.31 removed",
        Duration::from_secs(15),
        &p,
        |s| !s.contains("-r 10.0.0.31:80"),
    );
    d.ip(&["addr", "del", "10.0.0.150/32", "dev", "eth0"])
        .unwrap();

    // lvs_flush_on_stop: everything goes, the foreign service too.
    foreign();
    p.signal(nix::sys::signal::Signal::SIGTERM).unwrap();
    wait_until(Duration::from_secs(30), || {
        !ipvsadm_save(&d).contains("-A ")
    })
    .unwrap_or_else(|_| {
        panic!(
            "lvs_flush_on_stop: table not flushed: {}\n{}",
            ipvsadm_save(&d),
            p.output_so_far()
        )
    });

    // The reference, same namespace, same configuration, a foreign service present again.
    foreign();
    let k = start_reference(&lab, &d, &conf);
    wait_save(&d, "reference table", Duration::from_secs(90), &k, complete);
    std::thread::sleep(Duration::from_millis(1500));
    let reference = ipvsadm_save(&d);
    let reference_thresholds = thresholds(&d);
    eprintln!("reference:\n{reference}\n{reference_thresholds:#?}");
    k.stop(Duration::from_secs(20)).ok();
    assert_eq!(
        sorted(&ours),
        sorted(&reference),
        "ipvsadm -Sn: ours vs keepalived 2.2.7"
    );
    assert_eq!(
        ours_thresholds, reference_thresholds,
        "ipvsadm -Ln --thresholds: ours vs keepalived 2.2.7"
    );
}
