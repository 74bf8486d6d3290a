//! The wired checker worker on real IPVS, inside the project VM:
//! `scripts/vm-test.sh keepalived vm_wired`.
//!
//! A namespace lab inside the VM: director `d` runs `target/debug/keepalived -n -l -G -C -f
//! CONF` (parent + checker worker running lvs-director), real servers `r1`, `r2` run python
//! listeners checked with TCP_CHECK.

#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::time::Duration;

use nix::sys::signal::Signal;
use testlab::netns::{wait_until, Host, Lab, Proc};

const BIN: &str = env!("CARGO_BIN_EXE_keepalived");

fn require_vm() {
    assert!(
        std::env::var_os("KRS_IN_VM").is_some(),
        "this test needs real IPVS (KRS_IN_VM unset): run it inside the VM with `scripts/vm-test.sh keepalived vm_wired`"
    );
}

const CONF: &str = "global_defs {
    router_id vm
}
virtual_server 10.0.0.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.11 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 10.0.0.12 80 {
        weight 2
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
";

fn listener(h: &Host, addr: &str) -> Proc {
    let p = h
        .spawn(&["python3", "-u", "-m", "http.server", "80", "--bind", addr])
        .expect("python listener");
    wait_until(Duration::from_secs(60), || {
        p.output_so_far().contains("Serving")
    })
    .unwrap_or_else(|_| panic!("listener {addr} did not start: {}", p.output_so_far()));
    p
}

/// `ipvsadm -Sn` in the director's namespace.
fn ipvs(d: &Host) -> String {
    d.run_ok(&["ipvsadm", "-Sn"]).unwrap_or_default()
}

// Proves the checker worker is wired to lvs-director on real IPVS: `keepalived -C` programs
// the virtual server with both real servers whose TCP_CHECK passes (`ipvsadm -Sn` shows
// them), removes a real server once its listener stops, and releases its IPVS entries when
// the daemon is stopped with SIGTERM (exit 0).
#[test]
#[ignore = "vm: needs the IPVS VM"]
fn vm_wired_checker_programs_ipvs() {
    require_vm();
    let lab = Lab::new("wvm").expect("lab");
    let d = lab.host("d").expect("director");
    d.add_addr("10.0.0.1/24").unwrap();
    let r1 = lab.host("r1").expect("r1");
    r1.add_addr("10.0.0.11/24").unwrap();
    let r2 = lab.host("r2").expect("r2");
    r2.add_addr("10.0.0.12/24").unwrap();
    let l1 = listener(&r1, "10.0.0.11");
    let _l2 = listener(&r2, "10.0.0.12");

    let dir = lab.dir();
    let conf = dir.join("k.conf");
    std::fs::write(&conf, CONF).unwrap();
    let (p, v, c) = (dir.join("k.pid"), dir.join("v.pid"), dir.join("c.pid"));
    let ka = d
        .spawn(&[
            BIN,
            "-n",
            "-l",
            "-G",
            "-C",
            "-f",
            conf.to_str().unwrap(),
            "-p",
            p.to_str().unwrap(),
            "-r",
            v.to_str().unwrap(),
            "-c",
            c.to_str().unwrap(),
        ])
        .expect("spawn keepalived");

    let both = wait_until(Duration::from_secs(60), || {
        let t = ipvs(&d);
        t.contains("-A -t 10.0.0.100:80 -s rr")
            && t.contains("-a -t 10.0.0.100:80 -r 10.0.0.11:80 -m -w 1")
            && t.contains("-a -t 10.0.0.100:80 -r 10.0.0.12:80 -m -w 2")
    });
    assert!(
        both.is_ok(),
        "IPVS table:\n{}\nlog:\n{}",
        ipvs(&d),
        ka.output_so_far()
    );
    eprintln!("IPVS with both real servers:\n{}", ipvs(&d));

    l1.signal(Signal::SIGKILL).expect("stop r1's listener");
    let removed = wait_until(Duration::from_secs(60), || {
        let t = ipvs(&d);
        !t.contains("10.0.0.11:80") && t.contains("-r 10.0.0.12:80")
    });
    assert!(
        removed.is_ok(),
        "r1 not removed; IPVS table:\n{}\nlog:\n{}",
        ipvs(&d),
        ka.output_so_far()
    );
    eprintln!("IPVS after r1's listener stopped:\n{}", ipvs(&d));

    ka.signal(Signal::SIGTERM).expect("TERM keepalived");
    let st = ka
        .wait_timeout(Duration::from_secs(30))
        .expect("wait")
        .expect("keepalived exits after TERM");
    assert_eq!(st.code(), Some(0), "log:\n{}", ka.output_so_far());
    assert!(
        !ipvs(&d).contains("10.0.0.100:80"),
        "IPVS entries released at stop:\n{}",
        ipvs(&d)
    );
}

// Proves `-I` (dont_release_ipvs) reaches the director: after SIGTERM the daemon exits 0 and
// the virtual server with its real server stays in IPVS.
#[test]
#[ignore = "vm: needs the IPVS VM"]
fn vm_wired_dont_release_ipvs_keeps_entries() {
    require_vm();
    let lab = Lab::new("wvmi").expect("lab");
    let d = lab.host("d").expect("director");
    d.add_addr("10.0.0.1/24").unwrap();
    let r1 = lab.host("r1").expect("r1");
    r1.add_addr("10.0.0.11/24").unwrap();
    let r2 = lab.host("r2").expect("r2");
    r2.add_addr("10.0.0.12/24").unwrap();
    let _l1 = listener(&r1, "10.0.0.11");
    let _l2 = listener(&r2, "10.0.0.12");
    let dir = lab.dir();
    let conf = dir.join("k.conf");
    std::fs::write(&conf, CONF).unwrap();
    let (p, v, c) = (dir.join("k.pid"), dir.join("v.pid"), dir.join("c.pid"));
    let ka = d
        .spawn(&[
            BIN,
            "-n",
            "-l",
            "-G",
            "-C",
            "-I",
            "-f",
            conf.to_str().unwrap(),
            "-p",
            p.to_str().unwrap(),
            "-r",
            v.to_str().unwrap(),
            "-c",
            c.to_str().unwrap(),
        ])
        .expect("spawn keepalived");
    let both = wait_until(Duration::from_secs(60), || {
        let t = ipvs(&d);
        t.contains("-r 10.0.0.11:80") && t.contains("-r 10.0.0.12:80")
    });
    assert!(
        both.is_ok(),
        "IPVS:\n{}\nlog:\n{}",
        ipvs(&d),
        ka.output_so_far()
    );
    ka.signal(Signal::SIGTERM).expect("TERM keepalived");
    let st = ka
        .wait_timeout(Duration::from_secs(30))
        .expect("wait")
        .expect("keepalived exits after TERM");
    assert_eq!(st.code(), Some(0), "log:\n{}", ka.output_so_far());
    let t = ipvs(&d);
    assert!(
        t.contains("-A -t 10.0.0.100:80") && t.contains("-r 10.0.0.11:80"),
        "-I: IPVS entries kept:\n{t}\nlog:\n{}",
        ka.output_so_far()
    );
}

// Proves both workers run together from one configuration (VRRP instance + virtual server):
// the lone director becomes MASTER and holds the VIP while the checker programs IPVS; a
// SIGHUP with a changed real-server weight (VRRP part unchanged) is diff-applied by the
// director (new weight and 300 new virtual servers in IPVS, logged before "Reload complete", as
// the start's entries before "Startup complete") while the VIP stays; SIGTERM releases both.
#[test]
#[ignore = "vm: needs the IPVS VM"]
fn vm_wired_vrrp_and_lvs_together_with_reload() {
    require_vm();
    let lab = Lab::new("wvmb").expect("lab");
    let d = lab.host("d").expect("director");
    d.add_addr("10.0.0.1/24").unwrap();
    let r1 = lab.host("r1").expect("r1");
    r1.add_addr("10.0.0.11/24").unwrap();
    let r2 = lab.host("r2").expect("r2");
    r2.add_addr("10.0.0.12/24").unwrap();
    let _l1 = listener(&r1, "10.0.0.11");
    let _l2 = listener(&r2, "10.0.0.12");
    let vrrp = "vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        10.0.0.100/24
    }
}
";
    let dir = lab.dir();
    let conf = dir.join("k.conf");
    std::fs::write(&conf, format!("{CONF}{vrrp}")).unwrap();
    let (p, v, c) = (dir.join("k.pid"), dir.join("v.pid"), dir.join("c.pid"));
    let ka = d
        .spawn(&[
            BIN,
            "-n",
            "-l",
            "-G",
            "-f",
            conf.to_str().unwrap(),
            "-p",
            p.to_str().unwrap(),
            "-r",
            v.to_str().unwrap(),
            "-c",
            c.to_str().unwrap(),
        ])
        .expect("spawn keepalived");
    let has_vip = || {
        d.run_ok(&["ip", "-o", "addr", "show", "dev", "eth0"])
            .unwrap_or_default()
            .contains(" 10.0.0.100/24 ")
    };
    let up = wait_until(Duration::from_secs(60), || {
        let t = ipvs(&d);
        has_vip() && t.contains("-r 10.0.0.11:80 -m -w 1") && t.contains("-r 10.0.0.12:80 -m -w 2")
    });
    assert!(
        up.is_ok(),
        "vip {} IPVS:\n{}\nlog:\n{}",
        has_vip(),
        ipvs(&d),
        ka.output_so_far()
    );
    // As keepalived's parent, "Startup complete" once the workers are up, the checker with
    // its IPVS table applied.
    let log = ka.output_so_far();
    let added = log.find("Adding service 10.0.0.12:80 (weight 2)");
    assert!(
        added.is_some() && added < log.find("Startup complete"),
        "the start's IPVS entries logged before \"Startup complete\":\n{log}"
    );
    // The reload also adds 300 fwmark virtual servers: an apply long enough for a "Reload
    // finished" sent before it to show up ahead of the director's summary line.
    let added: String = (1..=300)
        .map(|m| {
            format!(
                "virtual_server fwmark {m} {{\n    lb_algo rr\n    lb_kind DR\n    real_server 10.0.0.11 80 {{\n        weight 1\n    }}\n}}\n"
            )
        })
        .collect();
    std::fs::write(
        &conf,
        format!("{}{added}{vrrp}", CONF.replace("weight 2", "weight 5")),
    )
    .unwrap();
    ka.signal(Signal::SIGHUP).expect("HUP");
    let reweighted = wait_until(Duration::from_secs(60), || {
        ipvs(&d).contains("-r 10.0.0.12:80 -m -w 5")
    });
    assert!(
        reweighted.is_ok(),
        "IPVS after HUP:\n{}\nlog:\n{}",
        ipvs(&d),
        ka.output_so_far()
    );
    assert!(has_vip(), "VIP kept across the reload");
    assert!(
        ka.output_so_far().contains("VRRP configuration unchanged"),
        "{}",
        ka.output_so_far()
    );
    // The reload is reported finished once the director has applied the new table (as
    // keepalived's checker applies it within its reload), not before.
    let finished = wait_until(Duration::from_secs(10), || {
        ka.output_so_far().contains("Reload complete")
    });
    let log = ka.output_so_far();
    let applied =
        log.find("IPVS: added 300 VS and 300 real servers, changed 0 VS and 1 real servers");
    let done = log.find("Reload complete");
    assert!(
        finished.is_ok() && applied.is_some() && applied < done,
        "the reload's IPVS changes logged before \"Reload complete\":\n{log}"
    );
    ka.signal(Signal::SIGTERM).expect("TERM");
    let st = ka
        .wait_timeout(Duration::from_secs(30))
        .expect("wait")
        .expect("keepalived exits after TERM");
    assert_eq!(st.code(), Some(0), "log:\n{}", ka.output_so_far());
    assert!(!has_vip(), "VIP released at stop");
    assert!(!ipvs(&d).contains("10.0.0.100:80"), "IPVS released at stop");
}

/// `ipvsadm -L --daemon` in a namespace.
fn daemons(h: &Host) -> String {
    h.run_ok(&["ipvsadm", "-L", "--daemon"]).unwrap_or_default()
}

// Proves `lvs_sync_daemon` on real IPVS, ours and the reference keepalived 2.2.7 side by side
// (one namespace each, the same configuration): while the followed instance is BACKUP the
// backup sync daemon runs (sync id = the instance's VRID when no `id` is given), once it is
// MASTER only the master daemon runs, and both print the same `ipvsadm -L --daemon` line. Ours
// stops the daemon at SIGTERM. The same with the deprecated `vrrp_instance {
// lvs_sync_daemon_interface IF }` form (keepalived 2.2.7 reports it as deprecated, `-t` exits
// 5, and runs the sync daemon on IF following that instance, with sync id 0).
#[test]
#[ignore = "vm: needs the IPVS VM"]
fn vm_wired_lvs_sync_daemon_follows_vrrp() {
    require_vm();
    let lab = Lab::new("wsync").expect("lab");
    let instance = |extra: &str| {
        format!(
            "vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1{extra}
    virtual_ipaddress {{
        10.0.0.100/24
    }}
}}
"
        )
    };
    let forms = [
        (
            "global",
            51,
            format!(
                "global_defs {{
    router_id vm
    lvs_sync_daemon eth0 VI_1 maxlen 1400 port 8848 ttl 2
}}
{}",
                instance("")
            ),
        ),
        (
            "instance",
            0,
            format!(
                "global_defs {{\n    router_id vm\n}}\n{}",
                instance("\n    lvs_sync_daemon_interface eth0")
            ),
        ),
    ];
    let dir = lab.dir();
    for (k, (form, syncid, conf_text)) in forms.iter().enumerate() {
        let (backup_line, master_line) = (
            format!("backup sync daemon (mcast=eth0, syncid={syncid},"),
            format!("master sync daemon (mcast=eth0, syncid={syncid},"),
        );
        let conf = dir.join(format!("k{k}.conf"));
        std::fs::write(&conf, conf_text).unwrap();
        let run = |host: &Host, tag: &str, bin: &str, extra: &[&str]| -> Proc {
            let pid = |n: &str| {
                dir.join(format!("{tag}.{n}.pid"))
                    .to_str()
                    .unwrap()
                    .to_string()
            };
            let (p, v, c) = (pid("k"), pid("v"), pid("c"));
            let mut argv = vec![
                bin,
                "-n",
                "-l",
                "-f",
                conf.to_str().unwrap(),
                "-p",
                &p,
                "-r",
                &v,
                "-c",
                &c,
            ];
            argv.extend_from_slice(extra);
            host.spawn(&argv).expect("spawn keepalived")
        };
        let mut lines = Vec::new();
        for (tag, bin, extra) in [
            ("ours", BIN, &["-G"][..]),
            ("ref", "/usr/sbin/keepalived", &["-P"][..]),
        ] {
            let tag = format!("{tag}{k}");
            let h = lab.host(&tag).expect("host");
            h.add_addr("10.0.0.1/24").unwrap();
            let ka = run(&h, &tag, bin, extra);
            let backup = wait_until(Duration::from_secs(20), || {
                daemons(&h).contains(&backup_line)
            });
            assert!(
                backup.is_ok(),
                "{tag} ({form}): no backup daemon while BACKUP:\n{}\nlog:\n{}",
                daemons(&h),
                ka.output_so_far()
            );
            let master = wait_until(Duration::from_secs(20), || {
                let d = daemons(&h);
                d.contains(&master_line) && !d.contains("backup sync")
            });
            assert!(
                master.is_ok(),
                "{tag} ({form}): not only the master daemon once MASTER:\n{}\nlog:\n{}",
                daemons(&h),
                ka.output_so_far()
            );
            lines.push(daemons(&h));
            ka.signal(Signal::SIGTERM).expect("TERM");
            let st = ka.wait_timeout(Duration::from_secs(30)).expect("wait");
            assert!(st.is_some(), "{tag} did not stop: {}", ka.output_so_far());
            if tag.starts_with("ours") {
                assert!(
                    !daemons(&h).contains("sync daemon"),
                    "ours left a sync daemon: {}",
                    daemons(&h)
                );
            }
        }
        eprintln!(
            "{form}: ipvsadm -L --daemon, ours:\n{}reference:\n{}",
            lines[0], lines[1]
        );
        assert_eq!(
            lines[0], lines[1],
            "{form}: same sync daemon as the reference"
        );
    }
}
