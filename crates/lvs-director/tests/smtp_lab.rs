//! smtp_alert mail from the director, in a network-namespace lab: the director runs in-process
//! on the in-memory IPVS backend, on a thread moved into a lab namespace, so its SMTP traffic
//! and its TCP_CHECK stay on the lab's 10.0.0.0/24 segment.
//! Run: `cargo test -p lvs-director --test smtp_lab -- --include-ignored`

#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::mpsc as smpsc;
use std::time::Duration;

use lvs_director::{run_with, Control, DirectorEvent, DirectorOptions, SharedMemory};
use testlab::netns::{wait_until, Lab};
use testlab::smtp_sink::SmtpSink;
use tokio::sync::mpsc;

/// The director's log lines (through the `log` facade): echoed on stderr and kept for the
/// failure messages.
static LOG: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

struct TestLog;

impl log::Log for TestLog {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, r: &log::Record<'_>) {
        eprintln!("director: {}", r.args());
        LOG.lock().unwrap().push_str(&format!("{}\n", r.args()));
    }
    fn flush(&self) {}
}

fn parse(text: &str) -> conf_parse::Config {
    let p = conf_parse::parse_str(text, "test.conf", &conf_parse::ParseOptions::default());
    assert!(!p.has_errors(), "{:?}", p.diagnostics);
    p.config
}

// Proves checker-side smtp_alert: a real server whose TCP_CHECK fails produces keepalived's
// "Realserver [ip]:tcp:port of virtual server [ip]:tcp:port - DOWN" mail (real_server
// smtp_alert is on by default), the virtual server's `smtp_alert` adds the "Virtualserver ...
// - DOWN" quorum mail with "=> Lost quorum 2+0=2 <= 1 <=", and recovery mails UP for both
// (the virtual server's after its "=> Starting with quorum up 2+0=2 <= 2 <=" at start);
// all over keepalived's dialogue to every recipient.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_checker_smtp_alert() {
    let lab = Lab::new("lvsmtp").expect("lab");
    let m = lab.host("m").expect("mail host");
    m.add_addr("10.0.0.25/24").expect("addr");
    let sink = SmtpSink::start(&m, lab.dir(), "10.0.0.25", 2525).expect("sink");
    let rs = lab.host("r").expect("real server host");
    rs.add_addr("10.0.0.11/24").expect("addr");
    rs.add_addr("10.0.0.12/24").expect("addr");
    let listen = |ip: &str| {
        let p = rs.spawn(&["python3", "-c", &format!(
            "import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('{ip}',80))\ns.listen(16)\nprint('ready',flush=True)\nwhile True:\n  c,_=s.accept(); c.close()"
        )])
        .expect("listener");
        wait_until(Duration::from_secs(5), || {
            p.stdout_so_far().contains("ready")
        })
        .expect("listening");
        p
    };
    let l11 = listen("10.0.0.11");
    let _l12 = listen("10.0.0.12");
    let d = lab.host("d").expect("director host");
    d.add_addr("10.0.0.1/24").expect("addr");
    let conf = r#"
global_defs {
    router_id LVS1
    smtp_server 10.0.0.25 2525
    smtp_helo_name lvs.lab
    smtp_connect_timeout 3
    notification_email_from lvs@lab
    notification_email {
        ops@example.com
    }
}
virtual_server 10.0.0.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    quorum 2
    smtp_alert
    real_server 10.0.0.11 80 {
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server 10.0.0.12 80 {
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
"#;
    let cfg = parse(conf);
    let (tx, rx) = mpsc::unbounded_channel();
    let (etx, erx) = smpsc::channel();
    let etx = std::sync::Mutex::new(etx);
    let _ = log::set_logger(&TestLog);
    log::set_max_level(log::LevelFilter::Info);
    let log = &LOG;
    let opts = DirectorOptions {
        control: Some(rx),
        events: Some(std::sync::Arc::new(move |e: &DirectorEvent| {
            let _ = etx.lock().unwrap().send(e.clone());
        })),
        ..Default::default()
    };
    let ns = d.netns_path();
    let join = std::thread::spawn(move || {
        // This thread and the runtime threads it starts live in the lab namespace.
        let f = std::fs::File::open(&ns).unwrap();
        nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        run_with(cfg, opts, SharedMemory::default())
    });
    // Let both checkers pass once, then take 10.0.0.11 down.
    std::thread::sleep(Duration::from_millis(2500));
    l11.kill();
    let subject_rs_down =
        "Subject: [LVS1] Realserver [10.0.0.11]:tcp:80 of virtual server [10.0.0.100]:tcp:80 - DOWN";
    let subject_vs_down = "Subject: [LVS1] Virtualserver [10.0.0.100]:tcp:80 - DOWN";
    let has = |subject: &str| {
        sink.sessions()
            .iter()
            .filter(|s| s.iter().any(|l| l == subject))
            .count()
    };
    wait_until(Duration::from_secs(10), || {
        has(subject_rs_down) == 1 && has(subject_vs_down) == 1
    })
    .unwrap_or_else(|_| {
        panic!(
            "DOWN mails; sink:\n{}\nlog:\n{}",
            sink.transcript(),
            log.lock().unwrap()
        )
    });
    let sessions = sink.sessions();
    let rs_mail = sessions
        .iter()
        .find(|s| s.iter().any(|l| l == subject_rs_down))
        .unwrap();
    assert_eq!(
        &rs_mail[..4],
        &[
            "HELO lvs.lab",
            "MAIL FROM:<lvs@lab>",
            "RCPT TO:<ops@example.com>",
            "DATA"
        ]
    );
    assert_eq!(
        &rs_mail[5..],
        &[
            "From: lvs@lab",
            subject_rs_down,
            "X-Mailer: Keepalived",
            "To: ops@example.com",
            "",
            "=> TCP CHECK failed on service <=",
            "",
            ".",
            "QUIT",
        ]
    );
    let vs_mail = sessions
        .iter()
        .find(|s| s.iter().any(|l| l == subject_vs_down))
        .unwrap();
    assert!(
        vs_mail.iter().any(|l| l == "=> Lost quorum 2+0=2 <= 1 <="),
        "{vs_mail:?}"
    );

    // Recovery: UP for the real server and the quorum.
    let _l11 = listen("10.0.0.11");
    // Two quorum UP mails: keepalived's at start (every virtual server starts without quorum
    // and gains it when its real servers are added) and the one of the recovery.
    wait_until(Duration::from_secs(10), || {
        has("Subject: [LVS1] Realserver [10.0.0.11]:tcp:80 of virtual server [10.0.0.100]:tcp:80 - UP") == 1
            && has("Subject: [LVS1] Virtualserver [10.0.0.100]:tcp:80 - UP") == 2
    })
    .unwrap_or_else(|_| panic!("UP mails; sink:\n{}", sink.transcript()));
    let sessions = sink.sessions();
    for body in [
        "=> Starting with quorum up 2+0=2 <= 2 <=",
        "=> Gained quorum 2+0=2 <= 2 <=",
    ] {
        assert_eq!(
            sessions
                .iter()
                .filter(|s| s.iter().any(|l| l == body))
                .count(),
            1,
            "{body}: {}",
            sink.transcript()
        );
    }
    assert!(
        !log.lock().unwrap().contains("SMTP connection ERROR"),
        "{}",
        log.lock().unwrap()
    );
    assert!(erx
        .try_iter()
        .any(|e| matches!(e, DirectorEvent::Quorum { up: false, .. })));
    tx.send(Control::Shutdown).unwrap();
    join.join().unwrap().unwrap();
}

/// One run of the two-checker scenario: the real server 10.0.0.11 has a TCP_CHECK on port 80
/// and one on port 81; port 80 fails, then 81 (the real server is already down), then 80
/// comes back (still down: 81 fails), then 81 (up). Returns the number of the real server's
/// DOWN and UP mails.
fn two_checker_mails(tag: &str, global_extra: &str) -> (usize, usize) {
    let lab = Lab::new(tag).expect("lab");
    let m = lab.host("m").expect("mail host");
    m.add_addr("10.0.0.25/24").expect("addr");
    let sink = SmtpSink::start(&m, lab.dir(), "10.0.0.25", 2525).expect("sink");
    let rs = lab.host("r").expect("real server host");
    rs.add_addr("10.0.0.11/24").expect("addr");
    let listen = |port: u16| {
        let p = rs.spawn(&["python3", "-c", &format!(
            "import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('10.0.0.11',{port}))\ns.listen(16)\nprint('ready',flush=True)\nwhile True:\n  c,_=s.accept(); c.close()"
        )])
        .expect("listener");
        wait_until(Duration::from_secs(5), || {
            p.stdout_so_far().contains("ready")
        })
        .expect("listening");
        p
    };
    let l80 = listen(80);
    let l81 = listen(81);
    let d = lab.host("d").expect("director host");
    d.add_addr("10.0.0.1/24").expect("addr");
    let conf = format!(
        r#"
global_defs {{
    router_id LVS1
    smtp_server 10.0.0.25 2525
    smtp_connect_timeout 3
    notification_email_from lvs@lab
    notification_email {{
        ops@example.com
    }}
    {global_extra}
}}
virtual_server 10.0.0.100 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.0.0.11 80 {{
        TCP_CHECK {{
            connect_timeout 1
            retry 0
        }}
        TCP_CHECK {{
            connect_port 81
            connect_timeout 1
            retry 0
        }}
    }}
}}
"#
    );
    let cfg = parse(&conf);
    let (tx, rx) = mpsc::unbounded_channel();
    let _ = log::set_logger(&TestLog);
    log::set_max_level(log::LevelFilter::Info);
    let (etx, erx) = smpsc::channel();
    let etx = std::sync::Mutex::new(etx);
    let opts = DirectorOptions {
        control: Some(rx),
        events: Some(std::sync::Arc::new(move |e: &DirectorEvent| {
            let _ = etx.lock().unwrap().send(e.clone());
        })),
        ..Default::default()
    };
    let ns = d.netns_path();
    let join = std::thread::spawn(move || {
        let f = std::fs::File::open(&ns).unwrap();
        nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        run_with(cfg, opts, SharedMemory::default())
    });
    let subject = |s: &str| {
        format!("Subject: [LVS1] Realserver [10.0.0.11]:tcp:80 of virtual server [10.0.0.100]:tcp:80 - {s}")
    };
    let count = |s: &str| {
        let subj = subject(s);
        sink.sessions().iter().filter(|x| x.contains(&subj)).count()
    };
    // A checker's transition: wait for its CheckFailed / the next pass, then let its mail go.
    let failed = |port: &str| {
        wait_until(Duration::from_secs(10), || {
            erx.try_iter()
                .any(|e| matches!(e, DirectorEvent::CheckFailed { .. }))
        })
        .unwrap_or_else(|_| panic!("{port}: no check failure; log:\n{}", LOG.lock().unwrap()));
        std::thread::sleep(Duration::from_millis(2500));
    };
    std::thread::sleep(Duration::from_millis(2500));
    l80.kill();
    failed("80");
    l81.kill();
    failed("81");
    let l80 = listen(80);
    std::thread::sleep(Duration::from_millis(3000));
    let _l81 = listen(81);
    wait_until(Duration::from_secs(10), || count("UP") >= 1)
        .unwrap_or_else(|_| panic!("no UP mail; sink:\n{}", sink.transcript()));
    std::thread::sleep(Duration::from_millis(2500));
    let out = (count("DOWN"), count("UP"));
    tx.send(Control::Shutdown).unwrap();
    join.join().unwrap().unwrap();
    drop(l80);
    out
}

// Proves `no_checker_emails`: with it, a real server with two checkers gets one mail when it
// goes down (its first checker fails) and one when it comes back (its last checker passes),
// none for the checker transitions that leave the real server's state as it is
// (check_tcp.c: `rs_was_alive != rs->alive || !no_checker_emails`); without it, every
// checker transition mails: four mails, three with a "- DOWN" subject (the subject carries
// the real server's state, down while one checker still fails, as keepalived's smtp.c) and
// one "- UP"; over a real SMTP dialogue.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_no_checker_emails() {
    assert_eq!(
        two_checker_mails("nce1", ""),
        (3, 1),
        "without no_checker_emails every checker transition mails"
    );
    assert_eq!(
        two_checker_mails("nce2", "no_checker_emails"),
        (1, 1),
        "with no_checker_emails only the real server's transitions mail"
    );
}

/// A virtual server without `smtp_alert` of its own and a real server whose TCP_CHECK fails
/// once its listener goes, with `global` in global_defs; the subjects mailed, sorted.
fn global_alert_subjects(tag: &str, global: &str) -> Vec<String> {
    let lab = Lab::new(tag).expect("lab");
    let m = lab.host("m").expect("mail host");
    m.add_addr("10.0.0.25/24").expect("addr");
    let sink = SmtpSink::start(&m, lab.dir(), "10.0.0.25", 2525).expect("sink");
    let rs = lab.host("r").expect("real server host");
    rs.add_addr("10.0.0.11/24").expect("addr");
    let l = rs
        .spawn(&["python3", "-c", "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('10.0.0.11',80))\ns.listen(16)\nprint('ready',flush=True)\nwhile True:\n  c,_=s.accept(); c.close()"])
        .expect("listener");
    wait_until(Duration::from_secs(5), || {
        l.stdout_so_far().contains("ready")
    })
    .expect("listening");
    let d = lab.host("d").expect("director host");
    d.add_addr("10.0.0.1/24").expect("addr");
    let conf = format!(
        "global_defs {{\n    router_id LVS1\n    smtp_server 10.0.0.25 2525\n    smtp_connect_timeout 3\n    \
         notification_email_from lvs@lab\n    notification_email {{\n        ops@example.com\n    }}\n    {global}\n}}\n\
         virtual_server 10.0.0.100 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n    \
         real_server 10.0.0.11 80 {{\n        TCP_CHECK {{\n            connect_timeout 1\n            retry 0\n        }}\n    }}\n}}\n"
    );
    let cfg = parse(&conf);
    let (tx, rx) = mpsc::unbounded_channel();
    let _ = log::set_logger(&TestLog);
    log::set_max_level(log::LevelFilter::Info);
    let (etx, erx) = smpsc::channel();
    let etx = std::sync::Mutex::new(etx);
    let opts = DirectorOptions {
        control: Some(rx),
        events: Some(std::sync::Arc::new(move |e: &DirectorEvent| {
            let _ = etx.lock().unwrap().send(e.clone());
        })),
        ..Default::default()
    };
    let ns = d.netns_path();
    let join = std::thread::spawn(move || {
        let f = std::fs::File::open(&ns).unwrap();
        nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        run_with(cfg, opts, SharedMemory::default())
    });
    std::thread::sleep(Duration::from_millis(2500));
    l.kill();
    wait_until(Duration::from_secs(10), || {
        erx.try_iter()
            .any(|e| matches!(e, DirectorEvent::CheckFailed { .. }))
    })
    .unwrap_or_else(|_| panic!("no check failure; log:\n{}", LOG.lock().unwrap()));
    std::thread::sleep(Duration::from_millis(2500));
    let mut subjects: Vec<String> = sink
        .sessions()
        .iter()
        .flat_map(|s| s.iter().filter(|l| l.starts_with("Subject: ")).cloned())
        .collect();
    subjects.sort();
    tx.send(Control::Shutdown).unwrap();
    join.join().unwrap().unwrap();
    subjects
}

// Proves the global `smtp_alert` on the checker side (check_data.c: a virtual or real server
// without its own `smtp_alert` takes `smtp_alert_checker`, else the global `smtp_alert`):
// with it on, a virtual server without `smtp_alert` mails its quorum (at start and when lost)
// beside the real server's mail; with it off, the real server (on by default) mails nothing.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_global_smtp_alert_checker() {
    let rs_down = "Subject: [LVS1] Realserver [10.0.0.11]:tcp:80 of virtual server [10.0.0.100]:tcp:80 - DOWN";
    assert_eq!(
        global_alert_subjects("gsa1", "smtp_alert"),
        vec![
            rs_down.to_string(),
            "Subject: [LVS1] Virtualserver [10.0.0.100]:tcp:80 - DOWN".to_string(),
            "Subject: [LVS1] Virtualserver [10.0.0.100]:tcp:80 - UP".to_string(),
        ]
    );
    assert_eq!(
        global_alert_subjects("gsa2", ""),
        vec![rs_down.to_string()],
        "without it: the real server's mail only (its default is on, the virtual server's off)"
    );
    assert!(global_alert_subjects("gsa3", "smtp_alert off").is_empty());
}
