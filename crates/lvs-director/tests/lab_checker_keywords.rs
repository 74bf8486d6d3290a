//! Checker and checker-global keywords from a configuration text, in a network-namespace lab.
//! The director runs in-process on the in-memory IPVS backend (this host's kernel has no IPVS),
//! on a thread moved into a lab namespace, so its checks, its SMTP traffic and the real
//! servers stay on the lab's 10.0.0.0/24 segment; the table it programs is read back from
//! the in-memory backend.
//! Run: `cargo test -p lvs-director --test lab_checker_keywords -- --include-ignored`

#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ipvs_nl::Backend as _;
use lvs_director::{run_with, Control, DirectorEvent, DirectorOptions, SharedMemory};
use testlab::netns::{wait_until, Host, Lab, Proc};
use testlab::smtp_sink::SmtpSink;
use tokio::sync::mpsc;

fn parse(text: &str) -> conf_parse::Config {
    let p = conf_parse::parse_str(text, "test.conf", &conf_parse::ParseOptions::default());
    assert!(!p.has_errors(), "{:?}", p.diagnostics);
    p.config
}

/// (service port, destination address, weight).
type Dest = (u16, IpAddr, u32);

/// A running in-process director.
/// A director's log: (time since its start, line).
type LogLines = Arc<Mutex<Vec<(Duration, String)>>>;

static NEXT_DIRECTOR: AtomicUsize = AtomicUsize::new(0);
/// Thread name → that director's start time and log.
static ROUTES: Mutex<Vec<(String, Instant, LogLines)>> = Mutex::new(Vec::new());

/// The `log` facade's sink for these tests: records go to the log of the director whose
/// thread wrote them (tests run in parallel, each with its own director thread).
struct RoutingLog;

impl log::Log for RoutingLog {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, r: &log::Record<'_>) {
        let Some(name) = std::thread::current().name().map(str::to_string) else {
            return;
        };
        let routes = ROUTES.lock().unwrap();
        if let Some((_, started, lines)) = routes.iter().find(|(n, _, _)| *n == name) {
            let l = r.args().to_string();
            eprintln!("{name} {:?}: {l}", started.elapsed());
            lines.lock().unwrap().push((started.elapsed(), l));
        }
    }
    fn flush(&self) {}
}

struct Director {
    mem: SharedMemory,
    tx: mpsc::UnboundedSender<Control>,
    join: Option<std::thread::JoinHandle<()>>,
    started: Instant,
    /// Log lines with their time since start.
    log: Arc<Mutex<Vec<(Duration, String)>>>,
    /// Events with their time since start.
    events: Arc<Mutex<Vec<(Duration, DirectorEvent)>>>,
    /// The table right after the first reconcile (before any check result).
    first_table: Arc<Mutex<Option<Vec<Dest>>>>,
}

/// (service port, destination address, weight) of every destination of the in-memory table.
fn dests_of(mem: &SharedMemory) -> Vec<Dest> {
    let mut out = Vec::new();
    let mut m = mem.clone();
    for vs in m.table().unwrap() {
        let port = match vs.service.key {
            ipvs_nl::ServiceKey::Addr { port, .. } => port,
            ipvs_nl::ServiceKey::Fwmark { .. } => 0,
        };
        for d in vs.destinations {
            out.push((port, d.addr, d.weight));
        }
    }
    out.sort();
    out
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

impl Director {
    fn start(host: &Host, conf: &str) -> Director {
        let cfg = parse(conf);
        let mem = SharedMemory::default();
        let (tx, rx) = mpsc::unbounded_channel();
        let started = Instant::now();
        let log = Arc::new(Mutex::new(Vec::new()));
        let events = Arc::new(Mutex::new(Vec::new()));
        let first_table = Arc::new(Mutex::new(None));
        let (l2, e2, f2, m2) = (
            log.clone(),
            events.clone(),
            first_table.clone(),
            mem.clone(),
        );
        let opts = DirectorOptions {
            control: Some(rx),
            events: Some(Arc::new(move |e: &DirectorEvent| {
                if matches!(e, DirectorEvent::Reconciled { .. }) {
                    let mut f = f2.lock().unwrap();
                    if f.is_none() {
                        *f = Some(dests_of(&m2));
                    }
                }
                e2.lock().unwrap().push((started.elapsed(), e.clone()));
            })),
            ..Default::default()
        };
        // The director logs through the `log` facade on its own (current-thread runtime)
        // thread: the test logger routes that thread's records to this director's log.
        let thread_name = format!("director-{}", NEXT_DIRECTOR.fetch_add(1, Ordering::Relaxed));
        let _ = log::set_logger(&RoutingLog);
        log::set_max_level(log::LevelFilter::Info);
        ROUTES
            .lock()
            .unwrap()
            .push((thread_name.clone(), started, l2));
        let ns = host.netns_path();
        let kernel = mem.clone();
        let join = std::thread::Builder::new()
            .name(thread_name)
            .spawn(move || {
                // This thread and the runtime it starts live in the lab namespace.
                let f = std::fs::File::open(&ns).unwrap();
                nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
                run_with(cfg, opts, kernel).unwrap();
            })
            .unwrap();
        Director {
            mem,
            tx,
            join: Some(join),
            started,
            log,
            events,
            first_table,
        }
    }

    fn dests(&self) -> Vec<Dest> {
        dests_of(&self.mem)
    }

    /// Wait until `cond` holds on the table; returns the time since start.
    fn wait(&self, what: &str, limit: Duration, cond: impl Fn(&[Dest]) -> bool) -> Duration {
        let t0 = Instant::now();
        loop {
            let d = self.dests();
            if cond(&d) {
                return self.started.elapsed();
            }
            assert!(
                t0.elapsed() < limit,
                "{what}: not within {limit:?}; table {d:?}\nlog:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_text(&self) -> String {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|(t, l)| format!("{t:?} {l}\n"))
            .collect()
    }

    /// CheckFailed events for real server `addr`.
    fn failures(&self, addr: &str) -> usize {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(
                |(_, e)| matches!(e, DirectorEvent::CheckFailed { rs, .. } if rs.addr == ip(addr)),
            )
            .count()
    }

    /// Log lines naming `needle`.
    fn log_lines(&self, needle: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, l)| l.contains(needle))
            .count()
    }

    fn stop(mut self) {
        self.tx.send(Control::Shutdown).unwrap();
        self.join.take().unwrap().join().unwrap();
    }
}

/// A TCP listener on `addr:port` in `host` that accepts and closes; returns once listening.
fn listen(host: &Host, addr: &str, port: u16) -> Proc {
    let p = host
        .spawn(&[
            "python3",
            "-c",
            &format!(
                "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('{addr}',{port}))\ns.listen(64)\nprint('ready',flush=True)\nwhile True:\n  c,_=s.accept(); c.close()"
            ),
        ])
        .unwrap();
    wait_until(Duration::from_secs(10), || {
        p.stdout_so_far().contains("ready")
    })
    .unwrap_or_else(|_| panic!("listener {addr}:{port}: {}", p.output_so_far()));
    p
}

fn has(d: &[Dest], port: u16, addr: &str) -> bool {
    d.iter().any(|(p, a, _)| *p == port && *a == ip(addr))
}

// Proves `alpha`, `warmup` and `log_all_failures` of checkers and the global
// `checker_log_all_failures`, from the configuration, against real servers in the lab:
// * alpha: a real server whose checker has `alpha` (or inherits it from its `real_server` or
//   `virtual_server`) is not in the first table programmed (it starts down), and enters once
//   its check succeeds; one without alpha is in the first table; an alpha real server whose
//   check fails never enters;
// * warmup: with delay_loop 30, four real servers with a failing check and `warmup 1` (on the
//   checker, or inherited from the real server) are all removed within 2.5 s of start (their first check runs within warmup, not within
//   delay_loop: by chance that would happen for all four with probability (2.5/30)^4);
// * log_all_failures: a down real server's later failed checks are each reported and logged
//   (3 or more in 4.5 s at delay_loop 1), while without it only the transition is;
// * checker_log_all_failures: the same for every checker, without the checker keyword.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_checker_alpha_warmup_log_all_failures() {
    let lab = Lab::new("ckkw").unwrap();
    let rs = lab.host("r").unwrap();
    for i in 11..=20 {
        rs.add_addr(&format!("10.0.0.{i}/24")).unwrap();
    }
    let d = lab.host("d").unwrap();
    d.add_addr("10.0.0.1/24").unwrap();
    let _l11 = listen(&rs, "10.0.0.11", 80);
    let _l12 = listen(&rs, "10.0.0.12", 80);
    // 10.0.0.13.. listen nowhere on port 80: connection refused at once.
    let tcp = |extra: &str| {
        format!("TCP_CHECK {{\n            connect_timeout 1\n            retry 0\n            {extra}\n        }}")
    };
    let rsb = |addr: &str, check: String| {
        format!("    real_server {addr} 80 {{\n        {check}\n    }}\n")
    };
    let mut conf = String::from(
        "virtual_server 10.0.0.100 80 {\n    delay_loop 1\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n",
    );
    conf += &rsb("10.0.0.11", tcp("alpha"));
    conf += &rsb("10.0.0.12", tcp(""));
    conf += &rsb("10.0.0.13", tcp("alpha"));
    conf += &rsb("10.0.0.14", tcp("log_all_failures"));
    conf += &rsb("10.0.0.15", tcp(""));
    conf += "}\nvirtual_server 10.0.0.100 81 {\n    delay_loop 30\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n";
    // warmup on the checker for two, on the real server (inherited) for the other two.
    for a in ["10.0.0.16", "10.0.0.17"] {
        conf += &rsb(a, tcp("warmup 1"));
    }
    for a in ["10.0.0.18", "10.0.0.19"] {
        conf += &format!(
            "    real_server {a} 81 {{\n        warmup 1\n        {}\n    }}\n",
            tcp("connect_port 80")
        );
    }
    // alpha on the real server (10.0.0.20, failing) and on the virtual server (10.0.0.12:82).
    conf += "    real_server 10.0.0.20 81 {\n        alpha\n        warmup 1\n        TCP_CHECK {\n            connect_port 80\n            retry 0\n        }\n    }\n";
    conf += "}\nvirtual_server 10.0.0.100 82 {\n    delay_loop 1\n    alpha\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n";
    conf += "    real_server 10.0.0.12 82 {\n        TCP_CHECK {\n            connect_port 80\n            retry 0\n        }\n    }\n}\n";

    let dir = Director::start(&d, &conf);
    // The first table: not the alpha ones.
    wait_until(Duration::from_secs(5), || {
        dir.first_table.lock().unwrap().is_some()
    })
    .unwrap();
    let first = dir.first_table.lock().unwrap().clone().unwrap();
    assert!(
        !has(&first, 80, "10.0.0.11"),
        "alpha starts down: {first:?}"
    );
    assert!(
        !has(&first, 80, "10.0.0.13"),
        "alpha starts down: {first:?}"
    );
    assert!(
        has(&first, 80, "10.0.0.12"),
        "no alpha starts up: {first:?}"
    );
    assert!(
        has(&first, 80, "10.0.0.15"),
        "no alpha starts up: {first:?}"
    );
    for a in ["10.0.0.16", "10.0.0.17", "10.0.0.18", "10.0.0.19"] {
        assert!(has(&first, 81, a), "{first:?}");
    }
    assert!(
        !has(&first, 81, "10.0.0.20"),
        "real_server alpha: {first:?}"
    );
    assert!(
        !has(&first, 82, "10.0.0.12"),
        "virtual_server alpha: {first:?}"
    );
    // alpha up once its check passed.
    dir.wait("alpha 10.0.0.11 in", Duration::from_secs(5), |t| {
        has(t, 80, "10.0.0.11") && has(t, 82, "10.0.0.12")
    });
    // warmup 1 with delay_loop 30: all four checked (and removed) early.
    let t = dir.wait("warmup: 16..19 removed", Duration::from_secs(10), |t| {
        !t.iter().any(|(p, a, _)| *p == 81 && *a != ip("10.0.0.20"))
    });
    assert!(
        t <= Duration::from_millis(2500),
        "warmup 1: the first checks ran only {t:?} after start\n{}",
        dir.log_text()
    );
    // log_all_failures: wait 4.5 s of failures at delay_loop 1.
    std::thread::sleep(Duration::from_millis(4500));
    assert!(
        !has(&dir.dests(), 80, "10.0.0.13"),
        "alpha, failing: never in"
    );
    let (f14, f15) = (dir.failures("10.0.0.14"), dir.failures("10.0.0.15"));
    assert!(
        f14 >= 4,
        "log_all_failures: {f14} failures reported\n{}",
        dir.log_text()
    );
    assert_eq!(f15, 1, "without it only the transition\n{}", dir.log_text());
    assert!(
        dir.log_lines("check of 10.0.0.14:80") >= 3,
        "{}",
        dir.log_text()
    );
    assert_eq!(dir.log_lines("check of 10.0.0.15:80"), 0);
    dir.stop();

    // checker_log_all_failures: the same without the checker keyword.
    let conf2 = format!(
        "global_defs {{\n    checker_log_all_failures\n}}\nvirtual_server 10.0.0.100 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n{}}}\n",
        rsb("10.0.0.15", tcp(""))
    );
    let dir = Director::start(&d, &conf2);
    dir.wait("10.0.0.15 removed", Duration::from_secs(5), |t| {
        !has(t, 80, "10.0.0.15")
    });
    std::thread::sleep(Duration::from_millis(4500));
    let f15 = dir.failures("10.0.0.15");
    assert!(
        f15 >= 4,
        "checker_log_all_failures: {f15} failures\n{}",
        dir.log_text()
    );
    assert!(dir.log_lines("check of 10.0.0.15:80") >= 3);
    dir.stop();
}

/// A TLS server on `0.0.0.0:443` in `host` answering every request with 200, printing
/// `SNI <name> TO <local address>` for each handshake; returns once listening.
fn tls_sni_server(lab: &Lab, host: &Host) -> Proc {
    let dir = lab.dir();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    host.run_ok(&[
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=lab",
        "-days",
        "1",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
    ])
    .unwrap();
    let script = format!(
        r#"import socket, ssl, threading
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain({cert:?}, {key:?})
def cb(sock, name, c):
    print("SNI %s TO %s" % (name, sock.getsockname()[0]), flush=True)
ctx.sni_callback = cb
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 443))
s.listen(64)
print("ready", flush=True)
def serve(c):
    try:
        t = ctx.wrap_socket(c, server_side=True)
        t.recv(4096)
        t.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
        t.close()
    except Exception:
        c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"#,
        cert = cert.to_str().unwrap(),
        key = key.to_str().unwrap()
    );
    let p = host.spawn(&["python3", "-c", &script]).unwrap();
    wait_until(Duration::from_secs(10), || {
        p.stdout_so_far().contains("ready")
    })
    .unwrap_or_else(|_| panic!("tls server: {}", p.output_so_far()));
    p
}

// Proves, from the configuration, against servers in the lab:
// * FILE_CHECK: the number in the tracked file times the weight (FILE_CHECK's `weight 1`
//   overriding the track_file's 2) is added to the real server's weight in the table
//   (3 + -1 = 2, 3 + 1 = 4);
// * hysteresis (quorum 3, hysteresis 1): a weight sum of 2 keeps the quorum (it is lost below
//   3 - 1 = 2), 1 loses it (the sorry server replaces the real server), 3 does not regain it
//   (needs 3 + 1 = 4), 4 does;
// * SMTP_CHECK `helo_name`: the check's dialogue with the SMTP server says `HELO check.lab`;
// * SSL_GET `enable_sni`: the TLS server receives the virtualhost as SNI from the checker with
//   enable_sni, and no name from the same checker without it;
// * smtp_alert_checker on with smtp_alert off: checker mails are sent; a real server's
//   `smtp_alert off` still silences its own;
// * smtp_connect_timeout: a mail server that accepts but never greets is given up after
//   smtp_connect_timeout (2 s), not keepalived's default 30 s.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_file_check_hysteresis_sni_helo_and_checker_mail() {
    let lab = Lab::new("ckml").unwrap();
    let m = lab.host("m").unwrap();
    m.add_addr("10.0.0.25/24").unwrap();
    let sink = SmtpSink::start(&m, lab.dir(), "10.0.0.25", 2525).unwrap();
    m.add_addr("10.0.0.26/24").unwrap();
    // A mail server that accepts and never says a word.
    let _mute = listen_silent(&m, "10.0.0.26", 25);
    let rs = lab.host("r").unwrap();
    for i in 11..=14 {
        rs.add_addr(&format!("10.0.0.{i}/24")).unwrap();
    }
    let _l11 = listen(&rs, "10.0.0.11", 80);
    let tls = tls_sni_server(&lab, &rs);
    let d = lab.host("d").unwrap();
    d.add_addr("10.0.0.1/24").unwrap();
    let wfile = lab.dir().join("weight");
    std::fs::write(&wfile, "0\n").unwrap();
    let conf = format!(
        r#"global_defs {{
    router_id LVS1
    smtp_server 10.0.0.25 2525
    smtp_helo_name lvs.lab
    notification_email_from lvs@lab
    notification_email {{
        ops@example.com
    }}
    smtp_alert off
    smtp_alert_checker on
}}
track_file tf {{
    file {w}
    weight 2
}}
virtual_server 10.0.0.100 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    quorum 3
    hysteresis 1
    sorry_server 10.0.0.30 80
    real_server 10.0.0.11 80 {{
        weight 3
        FILE_CHECK {{
            track_file tf
            weight 1
        }}
    }}
}}
virtual_server 10.0.0.100 25 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.25 2525 {{
        smtp_alert off
        SMTP_CHECK {{
            helo_name check.lab
            connect_timeout 2
            retry 0
        }}
    }}
    real_server 10.0.0.12 81 {{
        smtp_alert off
        TCP_CHECK {{
            connect_timeout 1
            retry 0
        }}
    }}
    real_server 10.0.0.11 81 {{
        TCP_CHECK {{
            connect_timeout 1
            retry 0
        }}
    }}
}}
virtual_server 10.0.0.100 443 {{
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.0.0.13 443 {{
        SSL_GET {{
            enable_sni
            virtualhost www.sni.test
            url {{
                path /
            }}
            connect_timeout 2
            retry 0
        }}
    }}
    real_server 10.0.0.14 443 {{
        SSL_GET {{
            virtualhost www.sni.test
            url {{
                path /
            }}
            connect_timeout 2
            retry 0
        }}
    }}
}}
"#,
        w = wfile.display()
    );
    let dir = Director::start(&d, &conf);
    let w80 = |t: &[Dest]| {
        t.iter()
            .find(|(p, a, _)| *p == 80 && *a == ip("10.0.0.11"))
            .map(|x| x.2)
    };
    let sorry = |t: &[Dest]| has(t, 80, "10.0.0.30");
    dir.wait("start: weight 3", Duration::from_secs(5), |t| {
        w80(t) == Some(3) && !sorry(t)
    });
    // 2: quorum kept thanks to hysteresis.
    std::fs::write(&wfile, "-1\n").unwrap();
    dir.wait("FILE_CHECK -1: weight 2", Duration::from_secs(5), |t| {
        w80(t) == Some(2)
    });
    std::thread::sleep(Duration::from_millis(2500));
    let t = dir.dests();
    assert!(
        w80(&t) == Some(2) && !sorry(&t),
        "sum 2 >= 3 - 1: quorum kept: {t:?}"
    );
    // 1: lost.
    std::fs::write(&wfile, "-2\n").unwrap();
    dir.wait("sum 1: quorum lost", Duration::from_secs(5), |t| {
        sorry(t) && w80(t).is_none()
    });
    // 3: not regained.
    std::fs::write(&wfile, "0\n").unwrap();
    std::thread::sleep(Duration::from_millis(3000));
    let t = dir.dests();
    assert!(sorry(&t), "sum 3 < 3 + 1: not regained: {t:?}");
    // 4: regained.
    std::fs::write(&wfile, "1\n").unwrap();
    dir.wait("sum 4: quorum regained", Duration::from_secs(5), |t| {
        !sorry(t) && w80(t) == Some(4)
    });

    // helo_name: the check's session.
    let sessions = sink.sessions();
    assert!(
        sessions
            .iter()
            .any(|s| s.first().map(String::as_str) == Some("HELO check.lab")),
        "SMTP_CHECK helo_name:\n{}",
        sink.transcript()
    );
    // enable_sni.
    let out = tls.stdout_so_far();
    assert!(out.contains("SNI www.sni.test TO 10.0.0.13"), "{out}");
    assert!(out.contains("SNI None TO 10.0.0.14"), "{out}");
    assert!(!out.contains("SNI www.sni.test TO 10.0.0.14"), "{out}");
    assert!(has(&dir.dests(), 443, "10.0.0.13") && has(&dir.dests(), 443, "10.0.0.14"));

    // smtp_alert_checker on (smtp_alert off): 10.0.0.11:81 mails; 10.0.0.12:81 does not.
    let subject = |a: &str| {
        format!(
            "Subject: [LVS1] Realserver [{a}]:tcp:81 of virtual server [10.0.0.100]:tcp:25 - DOWN"
        )
    };
    wait_until(Duration::from_secs(10), || {
        sink.sessions()
            .iter()
            .any(|s| s.iter().any(|l| *l == subject("10.0.0.11")))
    })
    .unwrap_or_else(|_| panic!("no DOWN mail:\n{}", sink.transcript()));
    std::thread::sleep(Duration::from_millis(1000));
    let all = sink.transcript();
    assert!(
        !all.contains(&subject("10.0.0.12")),
        "smtp_alert off:\n{all}"
    );
    assert!(!all.contains("Realserver [10.0.0.25]"), "{all}");
    dir.stop();

    // smtp_connect_timeout 2 against the mute server.
    let conf2 = "global_defs {\n    router_id LVS1\n    smtp_server 10.0.0.26 25\n    smtp_connect_timeout 2\n    \
                 notification_email_from lvs@lab\n    notification_email {\n        ops@example.com\n    }\n}\n\
                 virtual_server 10.0.0.100 25 {\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    \
                 real_server 10.0.0.11 81 {\n        TCP_CHECK {\n            connect_timeout 1\n            retry 0\n        }\n    }\n}\n";
    let dir = Director::start(&d, conf2);
    let down = dir.wait("10.0.0.11:81 down", Duration::from_secs(10), |t| {
        !has(t, 25, "10.0.0.11")
    });
    wait_until(Duration::from_secs(10), || {
        dir.log_lines("Timeout reading data to remote SMTP server") > 0
    })
    .unwrap_or_else(|_| panic!("no SMTP timeout logged:\n{}", dir.log_text()));
    let at = dir
        .log
        .lock()
        .unwrap()
        .iter()
        .find(|(_, l)| l.contains("Timeout reading data"))
        .map(|x| x.0)
        .unwrap();
    let waited = at.saturating_sub(down);
    assert!(
        waited >= Duration::from_millis(1500) && waited <= Duration::from_millis(4000),
        "smtp_connect_timeout 2: gave up {waited:?} after the mail started\n{}",
        dir.log_text()
    );
    dir.stop();
}

/// A TCP listener that accepts and never writes.
fn listen_silent(host: &Host, addr: &str, port: u16) -> Proc {
    let p = host
        .spawn(&[
            "python3",
            "-c",
            &format!(
                "import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('{addr}',{port}))\ns.listen(64)\nprint('ready',flush=True)\nkeep=[]\nwhile True:\n  c,_=s.accept(); keep.append(c)"
            ),
        ])
        .unwrap();
    wait_until(Duration::from_secs(10), || {
        p.stdout_so_far().contains("ready")
    })
    .unwrap_or_else(|_| panic!("listener {addr}:{port}: {}", p.output_so_far()));
    p
}

/// The healthcheck lab's HTTP server (tests/lab/labsrv.py `http`) on `addr:80` in `host`.
fn labsrv_http(host: &Host, addr: &str) -> Proc {
    let script = format!(
        "{}/../healthcheck/tests/lab/labsrv.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let p = host
        .spawn(&["python3", &script, "http", addr, "80"])
        .unwrap();
    wait_until(Duration::from_secs(10), || {
        p.stdout_so_far().contains("ready")
    })
    .unwrap_or_else(|_| panic!("labsrv: {}", p.output_so_far()));
    p
}

// Proves url `regex`, `regex_no_match`, `regex_options`, `regex_min_offset`,
// `regex_max_offset` and `regex_stack` from the configuration, against a real HTTP server in
// the lab (its /regex page: 360,000 bytes of filler, then "STATUS: all systems nominal"):
// a real server stays in the table when its url's regex matches (or, with regex_no_match, does
// not), and leaves it when the regex does not match (or does, with regex_no_match); the
// caseless option, and offsets that just include or just exclude the match start, decide
// likewise; regex_stack is accepted and changes nothing.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_url_regex_from_config() {
    let lab = Lab::new("ckrx").unwrap();
    let rs = lab.host("r").unwrap();
    for i in 11..=18 {
        rs.add_addr(&format!("10.0.0.{i}/24")).unwrap();
    }
    let d = lab.host("d").unwrap();
    d.add_addr("10.0.0.1/24").unwrap();
    let _srv = labsrv_http(&rs, "0.0.0.0");
    let at = 20000 * 18;
    let url = |body: &str| {
        format!(
            "        HTTP_GET {{\n            connect_timeout 2\n            retry 0\n            url {{\n                path /regex\n{body}            }}\n        }}\n"
        )
    };
    let cases: [(&str, String, bool); 8] = [
        ("10.0.0.11", url("                regex \"STATUS: [a-z ]+nominal\"\n                regex_stack 32768 65536\n"), true),
        ("10.0.0.12", url("                regex \"STATUS: degraded\"\n"), false),
        ("10.0.0.13", url("                regex \"STATUS: degraded\"\n                regex_no_match\n"), true),
        ("10.0.0.14", url("                regex \"nominal\"\n                regex_no_match\n"), false),
        ("10.0.0.15", url("                regex \"status: ALL\"\n                regex_options caseless\n"), true),
        ("10.0.0.16", url("                regex \"status: ALL\"\n"), false),
        ("10.0.0.17", url(&format!("                regex \"STATUS\"\n                regex_min_offset {at}\n                regex_max_offset {at}\n")), true),
        ("10.0.0.18", url(&format!("                regex \"STATUS\"\n                regex_max_offset {}\n", at - 1)), false),
    ];
    let mut conf = String::from(
        "virtual_server 10.0.0.100 80 {\n    delay_loop 1\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n",
    );
    for (a, c, _) in &cases {
        conf += &format!("    real_server {a} 80 {{\n{c}    }}\n");
    }
    conf += "}\n";
    let dir = Director::start(&d, &conf);
    let gone: Vec<&str> = cases.iter().filter(|c| !c.2).map(|c| c.0).collect();
    dir.wait("failing regexes removed", Duration::from_secs(10), |t| {
        gone.iter().all(|a| !has(t, 80, a))
    });
    // Several more rounds: the matching ones stay.
    std::thread::sleep(Duration::from_millis(2500));
    let t = dir.dests();
    for (a, _, up) in &cases {
        assert_eq!(has(&t, 80, a), *up, "{a}: {t:?}\n{}", dir.log_text());
    }
    assert!(
        dir.log_lines("Regex match failed") >= 1,
        "{}",
        dir.log_text()
    );
    dir.stop();
}

/// `openssl ARGS...` in `dir`, asserting success.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A private CA `NAME-ca.pem` and a certificate `NAME-LEAF.pem`/`NAME-LEAF.key` it signs.
fn ca_and_leaves(dir: &std::path::Path, name: &str, leaves: &[&str]) {
    let (ca, cakey) = (format!("{name}-ca.pem"), format!("{name}-ca.key"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            &format!("/CN={name} lab CA"),
            "-keyout",
            &cakey,
            "-out",
            &ca,
        ],
    );
    for leaf in leaves {
        let (csr, key, crt) = (
            format!("{name}-{leaf}.csr"),
            format!("{name}-{leaf}.key"),
            format!("{name}-{leaf}.pem"),
        );
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={leaf}"),
                "-keyout",
                &key,
                "-out",
                &csr,
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &ca,
                "-CAkey",
                &cakey,
                "-CAcreateserial",
                "-days",
                "1",
                "-out",
                &crt,
            ],
        );
    }
}

// Proves the global `SSL { certificate key ca password }` block with SSL_GET against
// `openssl s_server -Verify 1 -verify_return_error` (a private CA; a client certificate
// required and verified) in the lab: with the block naming a client certificate the CA signed,
// the real server passes its check and stays in the table; without the block, or with a client
// certificate of another CA, the server refuses the handshake and the real server leaves the
// table; a block whose key file is missing stops the director at start (keepalived's checker
// process exits: "Error Initialize SSL, ctx Instance"). `password`: a client key encrypted as
// PKCS#8 (`openssl pkey -aes256`) is decrypted and the check passes; a wrong or missing password
// stops the director at start; the PBES2 schemes OpenSSL writes (PBKDF2-SHA1/SHA512 with
// AES-128/192, 3DES, scrypt) are decrypted, OpenSSL's traditional encrypted PEM and PKCS#12
// PBE are refused with a message (keepalived 2.2.7, through OpenSSL, takes those two too).
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_ssl_block_client_certificate() {
    let lab = Lab::new("cksl").unwrap();
    let rs = lab.host("r").unwrap();
    rs.add_addr("10.0.0.11/24").unwrap();
    let d = lab.host("d").unwrap();
    d.add_addr("10.0.0.1/24").unwrap();
    let dir = lab.dir().to_path_buf();
    ca_and_leaves(&dir, "lab", &["server", "client"]);
    ca_and_leaves(&dir, "rogue", &["client"]);
    for f in std::fs::read_dir(&dir).unwrap() {
        let p = f.unwrap().path();
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    }
    let path = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let srv = rs
        .spawn(&[
            "openssl",
            "s_server",
            "-accept",
            "10.0.0.11:443",
            "-www",
            "-Verify",
            "1",
            "-verify_return_error",
            "-CAfile",
            &path("lab-ca.pem"),
            "-cert",
            &path("lab-server.pem"),
            "-key",
            &path("lab-server.key"),
        ])
        .unwrap();
    wait_until(Duration::from_secs(10), || {
        srv.stdout_so_far().contains("ACCEPT")
    })
    .unwrap_or_else(|_| panic!("s_server: {}", srv.output_so_far()));
    let vs = "virtual_server 10.0.0.100 443 {\n    delay_loop 1\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n    real_server 10.0.0.11 443 {\n        SSL_GET {\n            connect_timeout 2\n            retry 0\n            url {\n                path /\n            }\n        }\n    }\n}\n";
    let ssl = |cert: &str, key: &str| {
        format!(
            "SSL {{\n    ca {}\n    certificate {}\n    key {}\n}}\n",
            path("lab-ca.pem"),
            path(cert),
            path(key)
        )
    };
    // With the CA-signed client certificate: up, and stays up.
    let good = Director::start(&d, &(ssl("lab-client.pem", "lab-client.key") + vs));
    std::thread::sleep(Duration::from_millis(3500));
    assert!(
        has(&good.dests(), 443, "10.0.0.11"),
        "client certificate presented: {:?}\n{}",
        good.dests(),
        good.log_text()
    );
    assert_eq!(good.failures("10.0.0.11"), 0, "{}", good.log_text());
    good.stop();
    // Without the block, and with another CA's certificate: the handshake is refused.
    for conf in [
        vs.to_string(),
        ssl("rogue-client.pem", "rogue-client.key") + vs,
    ] {
        let bad = Director::start(&d, &conf);
        bad.wait("refused client removed", Duration::from_secs(6), |t| {
            !has(t, 443, "10.0.0.11")
        });
        bad.stop();
    }
    // A missing key file: the director does not start.
    let cfg = parse(&(ssl("lab-client.pem", "no-such.key") + vs));
    let r = lvs_director::run_with(cfg, DirectorOptions::default(), SharedMemory::default());
    let e = r.expect_err("missing key: start fails").to_string();
    assert!(e.contains("no-such.key"), "{e}");
    // An encrypted PKCS#8 key (`openssl pkey -aes256`) with `password`: decrypted, the client
    // certificate presented, the real server up and staying up.
    openssl(
        &dir,
        &[
            "pkey",
            "-in",
            "lab-client.key",
            "-aes256",
            "-passout",
            "pass:secret",
            "-out",
            "lab-client-enc.key",
        ],
    );
    let with_password = |key: &str, pw: &str| {
        ssl("lab-client.pem", key).replace("}\n", &format!("    password {pw}\n}}\n")) + vs
    };
    let enc = Director::start(&d, &with_password("lab-client-enc.key", "secret"));
    std::thread::sleep(Duration::from_millis(3500));
    assert!(
        has(&enc.dests(), 443, "10.0.0.11"),
        "encrypted key decrypted with the password: {:?}\n{}",
        enc.dests(),
        enc.log_text()
    );
    assert_eq!(enc.failures("10.0.0.11"), 0, "{}", enc.log_text());
    enc.stop();
    // A wrong password, or none: the director does not start (keepalived's checker exits).
    for pw in ["wrong", ""] {
        let text = if pw.is_empty() {
            ssl("lab-client.pem", "lab-client-enc.key") + vs
        } else {
            with_password("lab-client-enc.key", pw)
        };
        let e = lvs_director::run_with(
            parse(&text),
            DirectorOptions::default(),
            SharedMemory::default(),
        )
        .expect_err("encrypted key without the right password")
        .to_string();
        assert!(e.contains("lab-client-enc.key"), "[{pw}] {e}");
    }
    // The other encrypted PKCS#8 schemes OpenSSL writes are decrypted; OpenSSL's traditional
    // encrypted PEM and PKCS#12 PBE (PBES1) are refused with a message.
    let schemes: &[(&str, &[&str], bool)] = &[
        (
            "v2-aes128-sha1",
            &[
                "pkcs8",
                "-topk8",
                "-v2",
                "aes-128-cbc",
                "-v2prf",
                "hmacWithSHA1",
            ],
            true,
        ),
        (
            "v2-aes192-sha512",
            &[
                "pkcs8",
                "-topk8",
                "-v2",
                "aes-192-cbc",
                "-v2prf",
                "hmacWithSHA512",
            ],
            true,
        ),
        ("v2-des3", &["pkcs8", "-topk8", "-v2", "des3"], true),
        ("scrypt", &["pkcs8", "-topk8", "-scrypt"], true),
        (
            "v1-sha1-3des",
            &["pkcs8", "-topk8", "-v1", "PBE-SHA1-3DES"],
            false,
        ),
        ("traditional", &["rsa", "-aes256", "-traditional"], false),
    ];
    for (name, args, ok) in schemes {
        let out = format!("lab-client-{name}.key");
        let mut a: Vec<&str> = args.to_vec();
        a.extend([
            "-in",
            "lab-client.key",
            "-passout",
            "pass:secret",
            "-out",
            &out,
        ]);
        openssl(&dir, &a);
        let r = healthcheck::tls::client_config(&healthcheck::tls::SslFiles {
            certificate: Some(dir.join("lab-client.pem")),
            key: Some(dir.join(&out)),
            ca: None,
            password: Some("secret".into()),
        });
        assert_eq!(r.is_ok(), *ok, "{name}: {:?}", r.err());
    }
}

// Proves, from the configuration, against servers in the lab, keepalived's defaults:
// * virtual_server `weight 5` is the weight of its real servers that set none (a real server's
//   own `weight 2` wins);
// * `warmup 0` checks at once: with delay_loop 30, a refused real server with `warmup 0` is
//   removed within 1 s of start;
// * HTTP_GET's delay_before_retry defaults to 3 s (keepalived's default_delay_before_retry),
//   not 1 s: with delay_loop 1 and retry 1, once the server stops, an HTTP_GET real server is
//   removed 3 s after its first failed check (1 to 2 s after the stop), while a TCP_CHECK
//   (default 1 s) is removed 1 s after it.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_vs_weight_warmup_zero_and_delay_before_retry_defaults() {
    let lab = Lab::new("ckdf").unwrap();
    let rs = lab.host("r").unwrap();
    for i in 11..=15 {
        rs.add_addr(&format!("10.0.0.{i}/24")).unwrap();
    }
    let d = lab.host("d").unwrap();
    d.add_addr("10.0.0.1/24").unwrap();
    let _l11 = listen(&rs, "10.0.0.11", 80);
    let _l12 = listen(&rs, "10.0.0.12", 80);
    // 10.0.0.13 refuses port 80; 10.0.0.14 serves HTTP (and .15's check, by connect_ip) until
    // the server stops.
    let web = labsrv_http(&rs, "10.0.0.14");
    let conf = "virtual_server 10.0.0.100 80 {\n    delay_loop 30\n    weight 5\n    lb_algo wrr\n    lb_kind DR\n    protocol TCP\n\
        real_server 10.0.0.11 80 {\n        TCP_CHECK {\n            connect_timeout 1\n        }\n    }\n\
        real_server 10.0.0.12 80 {\n        weight 2\n        TCP_CHECK {\n            connect_timeout 1\n        }\n    }\n\
        real_server 10.0.0.13 80 {\n        TCP_CHECK {\n            warmup 0\n            retry 0\n        }\n    }\n}\n\
        virtual_server 10.0.0.100 81 {\n    delay_loop 1\n    lb_algo wrr\n    lb_kind DR\n    protocol TCP\n\
        real_server 10.0.0.14 81 {\n        HTTP_GET {\n            connect_port 80\n            retry 1\n            url {\n                path /\n            }\n        }\n    }\n\
        real_server 10.0.0.15 81 {\n        TCP_CHECK {\n            connect_ip 10.0.0.14\n            connect_port 80\n            retry 1\n        }\n    }\n}\n";
    let dir = Director::start(&d, conf);
    wait_until(Duration::from_secs(5), || {
        dir.first_table.lock().unwrap().is_some()
    })
    .unwrap();
    let first = dir.first_table.lock().unwrap().clone().unwrap();
    assert!(
        first.contains(&(80, ip("10.0.0.11"), 5)),
        "vs weight: {first:?}"
    );
    assert!(
        first.contains(&(80, ip("10.0.0.12"), 2)),
        "rs weight: {first:?}"
    );
    let t13 = dir.wait("warmup 0", Duration::from_secs(5), |t| {
        !has(t, 80, "10.0.0.13")
    });
    assert!(
        t13 < Duration::from_millis(1000),
        "warmup 0: removed at {t13:?}"
    );
    // Let both checkers pass a few times, then stop the server.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(has(&dir.dests(), 81, "10.0.0.14") && has(&dir.dests(), 81, "10.0.0.15"));
    let stop = dir.started.elapsed();
    web.kill();
    let t15 = dir.wait("TCP retry after 1 s", Duration::from_secs(5), |t| {
        !has(t, 81, "10.0.0.15")
    }) - stop;
    let t14 = dir.wait("HTTP retry after 3 s", Duration::from_secs(8), |t| {
        !has(t, 81, "10.0.0.14")
    }) - stop;
    assert!(
        t15 >= Duration::from_millis(900) && t15 < Duration::from_millis(2600),
        "TCP_CHECK delay_before_retry 1 s: removed {t15:?} after the stop"
    );
    assert!(
        t14 >= Duration::from_millis(2900) && t14 < Duration::from_millis(4600),
        "HTTP_GET delay_before_retry 3 s: removed {t14:?} after the stop\n{}",
        dir.log_text()
    );
    assert!(has(&dir.dests(), 80, "10.0.0.11"));
    dir.stop();
}

// Proves SMTP_CHECK `host { }` (keepalived 2.2.7's deprecated but working host list): each
// host is checked as a checker of its own, on its `connect_ip`/`connect_port`, with the
// SMTP_CHECK's `helo_name`; the SMTP_CHECK without a connection of its own is not checked on
// the real server itself (nothing listens on 10.0.0.11:25, yet the real server is up); a
// host that stops answering takes the real server out, and back in when it answers again.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_smtp_check_host_blocks() {
    let lab = Lab::new("smhost").unwrap();
    let m = lab.host("m").unwrap();
    m.add_addr("10.0.0.25/24").unwrap();
    m.add_addr("10.0.0.26/24").unwrap();
    let s1 = SmtpSink::start(&m, lab.dir(), "10.0.0.25", 2525).unwrap();
    let s2dir = lab.dir().join("s2");
    std::fs::create_dir_all(&s2dir).unwrap();
    let s2 = SmtpSink::start(&m, &s2dir, "10.0.0.26", 2526).unwrap();
    let r = lab.host("r").unwrap();
    r.add_addr("10.0.0.11/24").unwrap();
    let d = lab.host("d").unwrap();
    d.add_addr("10.0.0.1/24").unwrap();
    let conf = r#"
virtual_server 10.0.0.100 25 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.0.0.11 25 {
        SMTP_CHECK {
            helo_name hosts.lab
            retry 0
            host {
                connect_ip 10.0.0.25
                connect_port 2525
                connect_timeout 1
            }
            host {
                connect_ip 10.0.0.26
                connect_port 2526
                connect_timeout 1
            }
        }
    }
}
"#;
    let dir = Director::start(&d, conf);
    let helo = |s: &SmtpSink| {
        s.sessions()
            .iter()
            .filter(|x| x.first().map(String::as_str) == Some("HELO hosts.lab"))
            .count()
    };
    wait_until(Duration::from_secs(10), || helo(&s1) >= 2 && helo(&s2) >= 2).unwrap_or_else(|_| {
        panic!(
            "both hosts checked with helo_name:\n{}\n{}\nlog:\n{}",
            s1.transcript(),
            s2.transcript(),
            dir.log_text()
        )
    });
    assert!(has(&dir.dests(), 25, "10.0.0.11"), "{:?}", dir.dests());
    assert_eq!(
        dir.failures("10.0.0.11"),
        0,
        "no check on the real server itself:\n{}",
        dir.log_text()
    );
    s2.proc.kill();
    dir.wait(
        "host 2 down: real server out",
        Duration::from_secs(10),
        |t| !has(t, 25, "10.0.0.11"),
    );
    let s2 = SmtpSink::start(&m, &s2dir, "10.0.0.26", 2526).unwrap();
    dir.wait(
        "host 2 back: real server in",
        Duration::from_secs(10),
        |t| has(t, 25, "10.0.0.11"),
    );
    assert!(helo(&s2) >= 1, "{}", s2.transcript());
    dir.stop();
}

/// A listener on ports `base..base+ports` of every address of `host` that accepts and closes,
/// counting connections per target (its local address:port). Every 0.5 s it prints
/// `counts {"ip:port": n, ...}` (totals since start).
fn counting_listener(host: &Host, base: u16, ports: u16) -> Proc {
    // (A raw string: the indentation is Python's.)
    let script = r#"import socket, selectors, time, json
sel = selectors.DefaultSelector()
for p in range(BASE, BASE + PORTS):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', p))
    s.listen(4096)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
counts = {}
print('ready', flush=True)
last = time.monotonic()
while True:
    for key, _ in sel.select(0.1):
        while True:
            try:
                c, _ = key.fileobj.accept()
            except BlockingIOError:
                break
            a, p = c.getsockname()
            k = '%s:%d' % (a, p)
            counts[k] = counts.get(k, 0) + 1
            c.close()
    if time.monotonic() - last >= 0.5:
        last = time.monotonic()
        print('counts ' + json.dumps(counts), flush=True)
"#
    .replace("BASE", &base.to_string())
    .replace("PORTS", &ports.to_string());
    let p = host.spawn(&["python3", "-c", &script]).unwrap();
    wait_until(Duration::from_secs(10), || {
        p.stdout_so_far().contains("ready")
    })
    .unwrap_or_else(|_| panic!("counting listener: {}", p.output_so_far()));
    p
}

/// The listener's latest per-target totals.
fn latest_counts(p: &Proc) -> std::collections::HashMap<String, u64> {
    p.stdout_so_far()
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("counts "))
        .map(|j| {
            j.trim_matches(|c| c == '{' || c == '}')
                .split(", ")
                .filter(|kv| !kv.is_empty())
                .map(|kv| {
                    let (k, v) = kv.split_once(": ").unwrap();
                    (k.trim_matches('"').to_string(), v.parse().unwrap())
                })
                .collect()
        })
        .unwrap_or_default()
}

// Proves that identical checks configured under several virtual servers run once, at scale:
// 10 virtual servers each list the same 500 real servers (5 addresses × 100 ports, one
// TCP_CHECK each with the same parameters: 5,000 configured checks, 500 distinct), plus one
// real server nobody listens for. Over a 6 s window at delay_loop 1 the server sees each
// target about 6 times (one connection per check interval: at most 8, where one connection per
// virtual server would be about 60), every one of the 500 targets is checked, and the total is
// about 500 per second, not 5,000. The shared results reach every virtual server: all 10 × 500
// real servers are in the table, and the refused one is out of all 10.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_identical_checks_under_many_virtual_servers_run_once() {
    let lab = Lab::new("ckdup").unwrap();
    let rs = lab.host("r").unwrap();
    for i in 11..=15 {
        rs.add_addr(&format!("10.0.0.{i}/24")).unwrap();
    }
    rs.add_addr("10.0.0.16/24").unwrap();
    let d = lab.host("d").unwrap();
    d.add_addr("10.0.0.1/24").unwrap();
    let l = counting_listener(&rs, 30000, 100);
    let mut conf = String::new();
    for v in 0..10 {
        conf.push_str(&format!(
            "virtual_server 10.0.1.{} 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n",
            v + 1
        ));
        for a in 11..=15 {
            for p in 30000..30100 {
                conf.push_str(&format!(
                    "    real_server 10.0.0.{a} {p} {{\n        TCP_CHECK {{\n            connect_timeout 2\n        }}\n    }}\n"
                ));
            }
        }
        conf.push_str(
            "    real_server 10.0.0.16 30100 {\n        TCP_CHECK {\n            connect_timeout 2\n            retry 0\n        }\n    }\n}\n",
        );
    }
    let dir = Director::start(&d, &conf);
    // Every virtual server keeps its 500 served real servers and drops the refused one.
    dir.wait("table settled", Duration::from_secs(15), |t| {
        t.len() == 10 * 500 && !t.iter().any(|(_, a, _)| *a == ip("10.0.0.16"))
    });
    std::thread::sleep(Duration::from_secs(1));
    let c0 = latest_counts(&l);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(6));
    let c1 = latest_counts(&l);
    let secs = t0.elapsed().as_secs_f64();
    let per: Vec<u64> = c1
        .iter()
        .map(|(k, n)| n - c0.get(k).copied().unwrap_or(0))
        .collect();
    let total: u64 = per.iter().sum();
    let max = per.iter().copied().max().unwrap_or(0);
    let min = per.iter().copied().min().unwrap_or(0);
    eprintln!(
        "targets {}, connections {total} in {secs:.1} s ({:.0}/s), per target min {min} max {max}",
        per.len(),
        total as f64 / secs
    );
    assert_eq!(per.len(), 500, "every distinct target is checked");
    assert!(
        min >= 4 && max <= 8,
        "one connection per target per second (6 s window): min {min}, max {max}"
    );
    assert!(
        (total as f64) < 500.0 * (secs + 1.5),
        "about 500 connections a second, not 5,000: {total} in {secs:.1} s"
    );
    assert_eq!(dir.dests().len(), 10 * 500);
    dir.stop();
}
