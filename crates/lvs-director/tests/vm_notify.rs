//! The checker's notifications on real IPVS, side by side with the reference keepalived 2.2.7
//! (`-C`, checker only), inside the project VM (`scripts/vm-test.sh lvs-director vm_notify`):
//! the lines written to `notify_fifo` and `lvs_notify_fifo` (read by their `*_fifo_script`),
//! `rs_init_notifies`, `omega` at stop, and the table left by `lvs_flush_on_stop VS`.

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

const FOREIGN: &str = "10.9.9.9:9";

/// The FIFO reader: keepalived starts it with the FIFO's path as last argument.
const READER: &str = "#!/bin/sh\nexec cat \"$1\" >> \"$1.log\"\n";

/// `lvs_flush_on_stop` line (or none), in a configuration whose first virtual server has
/// `omega` and a quorum of 2 over two real servers (one checked by a MISC_CHECK on a flag
/// file), and whose second has neither.
fn config(dir: &Path, flush: &str) -> String {
    let d = dir.to_str().unwrap();
    format!(
        r#"global_defs {{
    notify_fifo {d}/nf.fifo
    lvs_notify_fifo {d}/lvs.fifo
    lvs_notify_fifo_script {d}/reader.sh
    rs_init_notifies
    {flush}
}}
virtual_server 10.0.0.100 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    quorum 2
    omega
    real_server 10.0.0.11 80 {{
        weight 1
        MISC_CHECK {{
            misc_path "/bin/test -e {d}/up11"
            retry 0
            delay_before_retry 1
        }}
    }}
    real_server 10.0.0.12 80 {{
        weight 1
    }}
}}
virtual_server 10.0.0.101 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.0.0.13 80 {{
    }}
    real_server 10.0.0.14 80 {{
        MISC_CHECK {{
            misc_path "/bin/test -e {d}/up14"
            alpha
        }}
    }}
}}
"#
    )
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// Wait until both FIFO logs have `n` lines.
fn wait_lines(dir: &Path, n: usize, what: &str, p: &Proc) {
    let nf = dir.join("nf.fifo.log");
    let lvs = dir.join("lvs.fifo.log");
    wait_until(Duration::from_secs(40), || {
        read(&nf).lines().count() >= n && read(&lvs).lines().count() >= n
    })
    .unwrap_or_else(|_| {
        panic!(
            "{what}: {n} lines not reached\nnotify_fifo:\n{}\nlvs_notify_fifo:\n{}\noutput:\n{}",
            read(&nf),
            read(&lvs),
            p.output_so_far()
        )
    });
    // Nothing more arrives for this step.
    std::thread::sleep(Duration::from_millis(1500));
}

struct Run {
    /// notify_fifo lines, lvs_notify_fifo lines.
    lines: (String, String),
    /// `ipvsadm -Sn` after the stop.
    after_stop: String,
}

/// One daemon through the sequence: start (all alive), the checked real server fails, comes
/// back, stop. `full` also fails and restores it (the quorum is lost and regained).
fn run(h: &Host, dir: &Path, start: impl Fn() -> Proc, full: bool) -> Run {
    let _ = std::fs::remove_file(dir.join("nf.fifo.log"));
    let _ = std::fs::remove_file(dir.join("lvs.fifo.log"));
    std::fs::write(dir.join("up11"), "").unwrap();
    h.run_ok(&["ipvsadm", "-A", "-t", FOREIGN, "-s", "rr"])
        .unwrap();
    // notify_fifo exists already and is read by a reader of ours (it sees the lines written
    // at stop); lvs_notify_fifo is created by the daemon and read by its script.
    let _ = std::fs::remove_file(dir.join("nf.fifo"));
    nix::unistd::mkfifo(
        &dir.join("nf.fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    let nf = dir.join("nf.fifo").to_str().unwrap().to_string();
    let _reader = h
        .spawn(&["/bin/sh", "-c", &format!("exec cat {nf} >> {nf}.log")])
        .unwrap();
    let p = start();
    // rs_init_notifies: the three real servers, UP, and each virtual server's quorum; then the
    // alpha checker's first failure.
    wait_lines(
        dir,
        6,
        "rs_init_notifies, quorum at start, alpha's first failure",
        &p,
    );
    for f in ["nf.fifo", "lvs.fifo"] {
        let t = std::fs::symlink_metadata(dir.join(f)).unwrap().file_type();
        assert!(
            std::os::unix::fs::FileTypeExt::is_fifo(&t),
            "{f} created as a FIFO"
        );
    }
    if full {
        std::fs::remove_file(dir.join("up11")).unwrap();
        wait_lines(dir, 8, "10.0.0.11 down, quorum lost", &p);
        std::fs::write(dir.join("up11"), "").unwrap();
        wait_lines(dir, 10, "10.0.0.11 up, quorum gained", &p);
    }
    let before = read(&dir.join("nf.fifo.log")).lines().count();
    p.stop(Duration::from_secs(20)).unwrap();
    // Our reader sees the end of its FIFO and has appended what was written at stop.
    wait_until(Duration::from_secs(10), || {
        read(&dir.join("nf.fifo.log")).lines().count() > before
    })
    .ok();
    std::thread::sleep(Duration::from_millis(1000));
    assert!(
        !dir.join("lvs.fifo").exists(),
        "lvs.fifo: a FIFO the daemon created is removed at stop"
    );
    assert!(
        dir.join("nf.fifo").exists(),
        "nf.fifo: a FIFO that existed before is left"
    );
    let after_stop = ipvsadm_save(h);
    h.run_ok(&["ipvsadm", "-C"]).unwrap();
    Run {
        lines: (
            read(&dir.join("nf.fifo.log")),
            read(&dir.join("lvs.fifo.log")),
        ),
        after_stop,
    }
}

fn start_ours(h: &Host, conf: &Path) -> Proc {
    h.spawn(&[env!("CARGO_BIN_EXE_krs-lvsd"), "-f", conf.to_str().unwrap()])
        .unwrap()
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

// Proves, against keepalived 2.2.7 running the same configuration in the same namespace:
// `notify_fifo` and `lvs_notify_fifo` are both written with keepalived's lines
// (`RS [10.0.0.11]:tcp:80 [10.0.0.100]:tcp:80 DOWN`, `VS [10.0.0.100]:tcp:80 UP`);
// `lvs_notify_fifo` is created when missing and removed at stop, an existing `notify_fifo` is
// used and left; `lvs_notify_fifo_script` reads its FIFO (started with the FIFO's path,
// terminated before the stop notifications as keepalived's script_killall); `rs_init_notifies`
// (the real servers alive at start notified UP) and the quorum every virtual server gains at
// start; an `alpha` checker's first failure (notified DOWN though its state did not change);
// a real server's and its virtual server's quorum transitions; `omega` (at stop the
// alive real servers and the virtual server of an omega virtual server are notified DOWN,
// nothing for the other); `lvs_flush_on_stop VS` (at stop our virtual servers go at once,
// without real server notifications, and a foreign service stays), and without it the
// foreign service stays too.
#[test]
#[ignore = "vm: needs the IPVS VM"]
fn vm_notify_fifo_lines_omega_rs_init_flush_vs_same_as_reference() {
    require_vm();
    let lab = Lab::new("lvsnf").unwrap();
    let d = lab.host("d").unwrap();
    d.add_addr("10.0.0.1/24").unwrap();
    let dir = lab.dir().to_path_buf();
    let reader = dir.join("reader.sh");
    std::fs::write(&reader, READER).unwrap();
    std::fs::set_permissions(&reader, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    for (flush, full) in [("", true), ("lvs_flush_on_stop VS", false)] {
        let conf = dir.join("nf.conf");
        std::fs::write(&conf, config(&dir, flush)).unwrap();
        let ours = run(&d, &dir, || start_ours(&d, &conf), full);
        let reference = run(&d, &dir, || start_reference(&lab, &d, &conf), full);
        eprintln!(
            "[{flush}] ours:\n{}{}\nreference:\n{}{}",
            ours.lines.0, ours.after_stop, reference.lines.0, reference.after_stop
        );
        assert_eq!(
            ours.lines.0, reference.lines.0,
            "[{flush}] notify_fifo lines: ours vs keepalived 2.2.7"
        );
        assert_eq!(
            ours.lines.1, reference.lines.1,
            "[{flush}] lvs_notify_fifo lines: ours vs keepalived 2.2.7"
        );
        assert!(
            !ours.lines.1.is_empty() && ours.lines.0.starts_with(&ours.lines.1),
            "[{flush}] the same lines go to both FIFOs (the script reader ends before the stop)"
        );
        assert_eq!(
            sorted(&ours.after_stop),
            sorted(&reference.after_stop),
            "[{flush}] ipvsadm -Sn after stop: ours vs keepalived 2.2.7"
        );
        // Not two empty tables or two empty logs.
        assert!(
            ours.after_stop.contains(FOREIGN) && !ours.after_stop.contains("10.0.0.100"),
            "[{flush}] after stop only the foreign service: {}",
            ours.after_stop
        );
        let l = &ours.lines.0;
        assert!(
            l.starts_with(
                "RS [10.0.0.11]:tcp:80 [10.0.0.100]:tcp:80 UP\n\
                 RS [10.0.0.12]:tcp:80 [10.0.0.100]:tcp:80 UP\n\
                 VS [10.0.0.100]:tcp:80 UP\n\
                 RS [10.0.0.13]:tcp:80 [10.0.0.101]:tcp:80 UP\n\
                 VS [10.0.0.101]:tcp:80 UP\n\
                 RS [10.0.0.14]:tcp:80 [10.0.0.101]:tcp:80 DOWN\n"
            ),
            "[{flush}] {l}"
        );
        assert!(
            l.ends_with("VS [10.0.0.100]:tcp:80 DOWN\n"),
            "[{flush}] omega at stop: {l}"
        );
        if full {
            assert!(
                l.contains(
                    "RS [10.0.0.11]:tcp:80 [10.0.0.100]:tcp:80 DOWN\nVS [10.0.0.100]:tcp:80 DOWN\n"
                ),
                "{l}"
            );
            assert!(
                l.contains("RS [10.0.0.12]:tcp:80 [10.0.0.100]:tcp:80 DOWN\n"),
                "omega: {l}"
            );
        } else {
            assert!(
                !l.contains("RS [10.0.0.12]:tcp:80 [10.0.0.100]:tcp:80 DOWN"),
                "VS flush: {l}"
            );
        }
        assert!(
            !l.contains("VS [10.0.0.101]:tcp:80 DOWN")
                && !l.contains("RS [10.0.0.13]:tcp:80 [10.0.0.101]:tcp:80 DOWN"),
            "no omega: {l}"
        );
    }
}

/// Two virtual servers' worth of configuration for the reload test: `second` adds a real
/// server to the first virtual server and a second virtual server.
fn reload_config(dir: &Path, second: bool) -> String {
    let d = dir.to_str().unwrap();
    let (more_rs, more_vs) = if second {
        (
            "    real_server 10.0.0.13 80 {\n    }\n",
            "virtual_server 10.0.0.101 80 {\n    delay_loop 1\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n    real_server 10.0.0.12 80 {\n    }\n}\n",
        )
    } else {
        ("", "")
    };
    format!(
        "global_defs {{\n    lvs_notify_fifo {d}/rl.fifo\n    rs_init_notifies\n}}\n\
         virtual_server 10.0.0.100 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n\
         \x20   real_server 10.0.0.11 80 {{\n    }}\n{more_rs}}}\n{more_vs}"
    )
}

/// Start on the first configuration, reload (SIGHUP) to the second, stop; the FIFO's lines.
fn reload_lines(h: &Host, dir: &Path, start: impl Fn(&Path) -> Proc) -> String {
    let conf = dir.join("rl.conf");
    std::fs::write(&conf, reload_config(dir, false)).unwrap();
    let fifo = dir.join("rl.fifo");
    let log = dir.join("rl.fifo.log");
    let _ = std::fs::remove_file(&fifo);
    let _ = std::fs::remove_file(&log);
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let f = fifo.to_str().unwrap();
    // A reader that opens the FIFO again when its writer closes it (the reference closes and
    // reopens its FIFOs at a reload).
    let reader = h
        .spawn(&[
            "/bin/sh",
            "-c",
            &format!("while true; do cat {f} >> {f}.log; done"),
        ])
        .unwrap();
    let p = start(&conf);
    wait_until(Duration::from_secs(30), || read(&log).lines().count() >= 2)
        .unwrap_or_else(|_| panic!("start lines: {}\n{}", read(&log), p.output_so_far()));
    std::thread::sleep(Duration::from_millis(1500));
    std::fs::write(&conf, reload_config(dir, true)).unwrap();
    p.signal(nix::sys::signal::Signal::SIGHUP).unwrap();
    wait_until(Duration::from_secs(30), || {
        ipvsadm_save(h).contains("10.0.0.101:80")
    })
    .unwrap_or_else(|_| panic!("reload: {}\n{}", ipvsadm_save(h), p.output_so_far()));
    std::thread::sleep(Duration::from_millis(3000));
    p.stop(Duration::from_secs(20)).unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    reader.kill();
    h.run_ok(&["ipvsadm", "-C"]).unwrap();
    read(&log)
}

// Proves the checker's notifications at a reload (SIGHUP) are the reference keepalived's: with
// `rs_init_notifies`, a real server added to a kept virtual server and a new virtual server's
// real server are notified UP, the new virtual server's quorum too, nothing for what was kept;
// the FIFO is closed and opened again (a reader that reopens it sees every line).
#[test]
#[ignore = "vm: needs the IPVS VM"]
fn vm_notify_fifo_at_reload_same_as_reference() {
    require_vm();
    let lab = Lab::new("lvsrl").unwrap();
    let d = lab.host("d").unwrap();
    d.add_addr("10.0.0.1/24").unwrap();
    let dir = lab.dir().to_path_buf();
    let ours = reload_lines(&d, &dir, |c| start_ours(&d, c));
    let reference = reload_lines(&d, &dir, |c| start_reference(&lab, &d, c));
    eprintln!("ours:\n{ours}\nreference:\n{reference}");
    assert_eq!(ours, reference, "FIFO lines: ours vs keepalived 2.2.7");
    assert_eq!(
        ours,
        "RS [10.0.0.11]:tcp:80 [10.0.0.100]:tcp:80 UP\n\
         VS [10.0.0.100]:tcp:80 UP\n\
         RS [10.0.0.13]:tcp:80 [10.0.0.100]:tcp:80 UP\n\
         RS [10.0.0.12]:tcp:80 [10.0.0.101]:tcp:80 UP\n\
         VS [10.0.0.101]:tcp:80 UP\n"
    );
}
