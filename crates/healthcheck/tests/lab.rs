//! Lab tests: every checker against real servers inside lab network namespaces.
//!
//! Topology: host "cli" (10.0.0.1/24, fd00::1/64) runs the checks — on a thread that entered
//! its namespace with setns before creating any socket — and host "srv" (10.0.0.2/24,
//! fd00::2/64) runs the servers (tests/lab/labsrv.py, dnsmasq, openssl-made TLS certificate).
//! 10.0.0.99 exists nowhere (for timeouts). All traffic stays inside the lab namespaces.

// Test-only file: helpers outside #[test] fns may unwrap/panic too.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::PermissionsExt as _;
use std::time::{Duration, Instant};

use healthcheck::genhash::{fetch_digest, GenhashOpts};
use healthcheck::scheduler::{CheckSpec, Scheduler, TransitionKind};
use healthcheck::{
    check, CheckContext, CheckKind, CheckParams, Checker, ConnOpts, DnsCheck, Failure, HttpCheck,
    HttpProtocol, Limits, Phase, SmtpCheck, Status, StatusRange, Target, UdpCheck, Url,
};
use md5::{Digest, Md5};
use testlab::netns::{wait_until, Host, Lab, Proc};

const SRV: &str = "10.0.0.2";

fn labsrv() -> String {
    format!("{}/tests/lab/labsrv.py", env!("CARGO_MANIFEST_DIR"))
}

struct Env {
    lab: Lab,
    cli: Host,
    srv: Host,
}

fn env(tag: &str) -> Env {
    let lab = Lab::new(tag).expect("lab");
    let cli = lab.host("cli").expect("cli");
    let srv = lab.host("srv").expect("srv");
    cli.add_addr("10.0.0.1/24").unwrap();
    cli.add_addr("fd00::1/64").unwrap();
    srv.add_addr("10.0.0.2/24").unwrap();
    srv.add_addr("fd00::2/64").unwrap();
    Env { lab, cli, srv }
}

/// Run `f` on a current-thread tokio runtime on a thread inside `host`'s network namespace.
fn in_ns<F, Fut, T>(host: &Host, f: F) -> T
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    let path = host.netns_path();
    std::thread::spawn(move || {
        let fd = std::fs::File::open(&path).expect("open netns");
        nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(f())
    })
    .join()
    .expect("checker thread")
}

/// Start a labsrv.py mode on srv.
fn serve(e: &Env, args: &[&str]) -> Proc {
    let script = labsrv();
    let mut argv = vec!["python3", script.as_str()];
    argv.extend_from_slice(args);
    let p = e.srv.spawn(&argv).expect("spawn server");
    let ready = wait_until(Duration::from_secs(10), || {
        p.stdout_so_far().contains("ready")
    });
    assert!(
        ready.is_ok(),
        "labsrv {args:?} not ready: {}",
        p.output_so_far()
    );
    p
}

/// Wait until TCP `addr` accepts connections (from cli).
fn wait_tcp(e: &Env, addr: &str) {
    let a: SocketAddr = addr.parse().unwrap();
    let ok = wait_until(Duration::from_secs(10), || {
        in_ns(&e.cli, move || async move {
            tokio::time::timeout(
                Duration::from_millis(200),
                tokio::net::TcpStream::connect(a),
            )
            .await
            .is_ok_and(|r| r.is_ok())
        })
    });
    assert!(ok.is_ok(), "server {addr} did not come up");
}

fn checker(kind: CheckKind, timeout_ms: u64) -> Checker {
    let mut c = Checker::new(kind);
    c.conn.connect_timeout = Duration::from_millis(timeout_ms);
    c
}

fn target(s: &str) -> Target {
    Target::new(s.parse().unwrap())
}

/// Run checks in cli's namespace; returns (status, elapsed) per check.
fn run_checks(e: &Env, list: Vec<(Checker, Target)>) -> Vec<(Status, Duration)> {
    in_ns(&e.cli, move || async move {
        let mut out = Vec::new();
        for (c, t) in list {
            let start = Instant::now();
            let r = check(&c, &t).await;
            out.push((r.status, start.elapsed()));
        }
        out
    })
}

fn http(urls: Vec<Url>) -> HttpCheck {
    HttpCheck {
        urls,
        ..Default::default()
    }
}

fn url_digest(path: &str, body: &[u8]) -> Url {
    let mut u = Url::new(path);
    u.digest = Some(Md5::digest(body).into());
    u
}

// Proves TCP_CHECK: up against a listener, refused on a closed port, timeout towards a silent
// address, connection options applied (bindto/bind_if/fwmark work; a foreign bindto fails;
// connect_port replaces the target's port; bind_if lo cannot reach the server; a mark that a
// policy rule prohibits fails; bind_port binds the source port: a port a listener holds fails).
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_tcp_check() {
    let e = env("tcp");
    let _p = serve(&e, &["http", SRV, "80"]);
    wait_tcp(&e, "10.0.0.2:80");
    let mut opts = checker(CheckKind::Tcp, 1000);
    opts.conn.bindto = Some("10.0.0.1".parse().unwrap());
    opts.conn.bind_if = Some("eth0".into());
    opts.conn.fwmark = Some(5);
    let mut bad_bind = checker(CheckKind::Tcp, 1000);
    bad_bind.conn.bindto = Some("10.0.0.77".parse().unwrap());
    let mut v6 = checker(CheckKind::Tcp, 1000);
    v6.conn.connect_ip = Some("fd00::2".parse().unwrap());
    // connect_port: the closed port 90 of the target is replaced by the listening 80.
    let mut port = checker(CheckKind::Tcp, 1000);
    port.conn.connect_port = Some(80);
    // bind_if: bound to lo, 10.0.0.2 is unreachable.
    let mut on_lo = checker(CheckKind::Tcp, 1000);
    on_lo.conn.bind_if = Some("lo".into());
    // fwmark: cli's policy rule prohibits packets marked 7.
    e.cli
        .ip(&["rule", "add", "fwmark", "7", "prohibit"])
        .unwrap();
    let mut marked = checker(CheckKind::Tcp, 1000);
    marked.conn.fwmark = Some(7);
    // bind_port: the source port is the one a listener on cli holds.
    let held = e
        .cli
        .spawn(&["python3", "-c", "import socket,time\ns=socket.socket()\ns.bind(('0.0.0.0',4444))\ns.listen(1)\nprint('ready',flush=True)\ntime.sleep(3600)"])
        .unwrap();
    wait_until(Duration::from_secs(10), || {
        held.stdout_so_far().contains("ready")
    })
    .unwrap();
    let mut src_port = checker(CheckKind::Tcp, 1000);
    src_port.conn.bind_port = Some(4445);
    let mut held_port = checker(CheckKind::Tcp, 1000);
    held_port.conn.bind_port = Some(4444);
    let r = run_checks(
        &e,
        vec![
            (checker(CheckKind::Tcp, 1000), target("10.0.0.2:80")),
            (checker(CheckKind::Tcp, 1000), target("10.0.0.2:90")),
            (checker(CheckKind::Tcp, 1000), target("10.0.0.99:80")),
            (opts, target("10.0.0.2:80")),
            (bad_bind, target("10.0.0.2:80")),
            (v6, target("10.0.0.2:80")),
            (port, target("10.0.0.2:90")),
            (on_lo, target("10.0.0.2:80")),
            (marked, target("10.0.0.2:80")),
            (src_port, target("10.0.0.2:80")),
            (held_port, target("10.0.0.2:80")),
        ],
    );
    assert_eq!(r[0].0, Status::Up);
    assert_eq!(r[1].0, Status::Down(Failure::Refused));
    assert_eq!(r[2].0, Status::Down(Failure::Timeout(Phase::Connect)));
    assert!(r[2].1 < Duration::from_millis(1500), "{:?}", r[2].1);
    assert_eq!(r[3].0, Status::Up, "bindto + bind_if + fwmark");
    assert!(
        matches!(
            &r[4].0,
            Status::Down(Failure::Network {
                phase: Phase::Setup,
                ..
            })
        ),
        "{:?}",
        r[4].0
    );
    assert_eq!(
        r[5].0,
        Status::Down(Failure::Refused),
        "the v4-only server does not listen on fd00::2"
    );
    assert_eq!(
        r[6].0,
        Status::Up,
        "connect_port 80 instead of the target's 90"
    );
    assert!(
        matches!(&r[7].0, Status::Down(_)),
        "bind_if lo: {:?}",
        r[7].0
    );
    assert!(
        matches!(&r[8].0, Status::Down(_)),
        "fwmark 7 prohibited: {:?}",
        r[8].0
    );
    assert_eq!(r[9].0, Status::Up, "bind_port on a free port");
    assert!(
        matches!(
            &r[10].0,
            Status::Down(Failure::Network {
                phase: Phase::Setup,
                ..
            })
        ),
        "bind_port on a port a listener holds: {:?}",
        r[10].0
    );
    drop(e.lab);
}

// Proves TCP_CHECK's socket reuse (plain checks share pooled sockets, disconnected with
// connect(AF_UNSPEC) after each check) keeps every verdict right whatever came before on the
// same socket: up, refused, timeout and up again interleaved, IPv4 and IPv6; and every
// connection is reset, none left established or in TIME_WAIT on the checker's side.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_tcp_check_socket_reuse() {
    let e = env("tcpreuse");
    let _p = serve(&e, &["http", SRV, "80"]);
    wait_tcp(&e, "10.0.0.2:80");
    // wait_tcp's own probe closes with a FIN: its TIME_WAIT entry is not the checks'.
    let left = || {
        e.cli
            .run_ok(&["ss", "-Htn", "state", "established", "state", "time-wait"])
            .unwrap()
    };
    let before = left();
    let tcp = || checker(CheckKind::Tcp, 500);
    let mut v6 = tcp();
    v6.conn.connect_ip = Some("fd00::2".parse().unwrap());
    let up = || (tcp(), target("10.0.0.2:80"));
    let refused = || (tcp(), target("10.0.0.2:90"));
    let silent = || (tcp(), target("10.0.0.99:80"));
    let list = vec![
        up(),
        up(),
        refused(),
        up(),
        silent(),
        up(),
        refused(),
        refused(),
        up(),
        (v6.clone(), target("10.0.0.2:80")),
        up(),
        (v6, target("10.0.0.2:80")),
        up(),
    ];
    let want: Vec<Status> = vec![
        Status::Up,
        Status::Up,
        Status::Down(Failure::Refused),
        Status::Up,
        Status::Down(Failure::Timeout(Phase::Connect)),
        Status::Up,
        Status::Down(Failure::Refused),
        Status::Down(Failure::Refused),
        Status::Up,
        Status::Down(Failure::Refused),
        Status::Up,
        Status::Down(Failure::Refused),
        Status::Up,
    ];
    let got: Vec<Status> = run_checks(&e, list).into_iter().map(|(s, _)| s).collect();
    assert_eq!(got, want);
    assert_eq!(left(), before, "connections left on the checker side");
    drop(e.lab);
}

// Proves HTTP_GET: status defaults and ranges, digest match and mismatch, virtualhost (the
// url's and the checker's), several urls, IPv6, the request line and Connection header of each
// http_protocol as the server saw them, and each failure mode reported as such.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_http_check() {
    let e = env("http");
    let _p = serve(&e, &["http", SRV, "80"]);
    let _p6 = serve(&e, &["http", "fd00::2", "8080"]);
    wait_tcp(&e, "10.0.0.2:80");
    wait_tcp(&e, "[fd00::2]:8080");
    let hello = b"hello from the lab\n";
    let mut vhost = url_digest("/host", b"www.lab.test\n");
    vhost.virtualhost = Some("www.lab.test".into());
    let mut accept500 = Url::new("/status/500");
    accept500.status_codes = vec![StatusRange { lo: 500, hi: 503 }];
    let mut wrong = Url::new("/");
    wrong.digest = Some([0u8; 16]);
    let h = |urls| checker(CheckKind::Http(http(urls)), 1000);
    let mut h11 = http(vec![url_digest("/", hello)]);
    h11.protocol = HttpProtocol::Http11;
    // The checker's own virtualhost (url without one): the Host header the server saw.
    let mut check_vhost = http(vec![url_digest("/host", b"www.check.test\n")]);
    check_vhost.virtualhost = Some("www.check.test".into());
    // http_protocol: /proto answers the request's version and Connection header.
    let proto = |p: HttpProtocol, seen: &[u8]| {
        let mut h = http(vec![url_digest("/proto", seen)]);
        h.protocol = p;
        checker(CheckKind::Http(h), 1000)
    };
    let r = run_checks(
        &e,
        vec![
            (h(vec![Url::new("/")]), target("10.0.0.2:80")),
            (
                h(vec![url_digest("/", hello), Url::new("/page2"), vhost]),
                target("10.0.0.2:80"),
            ),
            (h(vec![Url::new("/status/500")]), target("10.0.0.2:80")),
            (h(vec![accept500]), target("10.0.0.2:80")),
            (h(vec![wrong]), target("10.0.0.2:80")),
            (
                h(vec![Url::new("/"), Url::new("/missing")]),
                target("10.0.0.2:80"),
            ),
            (h(vec![url_digest("/", hello)]), target("[fd00::2]:8080")),
            (checker(CheckKind::Http(h11), 1000), target("10.0.0.2:80")),
            (h(vec![Url::new("/")]), target("10.0.0.2:91")),
            (
                checker(CheckKind::Http(check_vhost), 1000),
                target("10.0.0.2:80"),
            ),
            (
                proto(HttpProtocol::Http10, b"HTTP/1.0 -\n"),
                target("10.0.0.2:80"),
            ),
            (
                proto(HttpProtocol::Http10Close, b"HTTP/1.0 close\n"),
                target("10.0.0.2:80"),
            ),
            (
                proto(HttpProtocol::Http11, b"HTTP/1.1 close\n"),
                target("10.0.0.2:80"),
            ),
        ],
    );
    assert_eq!(r[0].0, Status::Up);
    assert_eq!(
        r[1].0,
        Status::Up,
        "digest + second url + virtualhost Host header"
    );
    assert_eq!(
        r[2].0,
        Status::Down(Failure::HttpStatus {
            path: "/status/500".into(),
            status: 500
        })
    );
    assert_eq!(r[3].0, Status::Up);
    assert!(
        matches!(&r[4].0, Status::Down(Failure::Digest { .. })),
        "{:?}",
        r[4].0
    );
    assert_eq!(
        r[5].0,
        Status::Down(Failure::HttpStatus {
            path: "/missing".into(),
            status: 404
        })
    );
    assert_eq!(r[6].0, Status::Up, "IPv6");
    assert_eq!(r[7].0, Status::Up, "HTTP/1.1 + Connection: close");
    assert_eq!(r[8].0, Status::Down(Failure::Refused));
    assert_eq!(
        r[9].0,
        Status::Up,
        "the checker's virtualhost as Host header"
    );
    assert_eq!(r[10].0, Status::Up, "1.0: HTTP/1.0 without Connection");
    assert_eq!(r[11].0, Status::Up, "1.0C: HTTP/1.0 with Connection: close");
    assert_eq!(r[12].0, Status::Up, "1.1: HTTP/1.1 with Connection: close");
    drop(e.lab);
}

// Proves bad HTTP servers are marked down within bounded time (3 × connect_timeout) and memory:
// accept-and-never-answer, endless body (with a digest), slowloris headers, immediate close;
// and that a good check running at the same time is not disturbed.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_http_bad_servers() {
    let e = env("httpbad");
    let _a = serve(&e, &["http", SRV, "80"]);
    let _b = serve(&e, &["blackhole", SRV, "81"]);
    let _c = serve(&e, &["endless", SRV, "82"]);
    let _d = serve(&e, &["slowloris", SRV, "83"]);
    for p in ["80", "81", "82", "83"] {
        wait_tcp(&e, &format!("10.0.0.2:{p}"));
    }
    let results = in_ns(&e.cli, || async {
        let ctx = CheckContext::new(Limits::default()).unwrap();
        let mk = |path: &str, digest: bool| {
            let mut u = Url::new(path);
            if digest {
                u.digest = Some([1u8; 16]);
            }
            checker(CheckKind::Http(http(vec![u])), 1000)
        };
        let jobs = vec![
            (mk("/", false), target("10.0.0.2:81")),
            (mk("/", true), target("10.0.0.2:82")),
            (mk("/", false), target("10.0.0.2:83")),
            (mk("/", false), target("10.0.0.2:80")),
        ];
        let mut set = tokio::task::JoinSet::new();
        for (i, (c, t)) in jobs.into_iter().enumerate() {
            let ctx = ctx.clone();
            set.spawn(async move {
                let start = Instant::now();
                let r = healthcheck::check_with(&ctx, &c, &t).await;
                (i, r.status, start.elapsed())
            });
        }
        let mut out = set.join_all().await;
        out.sort_by_key(|x| x.0);
        out
    });
    for (i, s, d) in &results {
        assert!(*d < Duration::from_millis(3600), "check {i} took {d:?}");
        eprintln!("bad server check {i}: {s:?} in {d:?}");
    }
    assert_eq!(results[0].1, Status::Down(Failure::Timeout(Phase::Receive)));
    assert!(
        matches!(
            results[1].1,
            Status::Down(Failure::BodyTooLarge) | Status::Down(Failure::Timeout(Phase::Total))
        ),
        "{:?}",
        results[1].1
    );
    assert!(
        matches!(
            results[2].1,
            Status::Down(Failure::Timeout(Phase::Total)) | Status::Down(Failure::HeaderTooLarge)
        ),
        "{:?}",
        results[2].1
    );
    assert_eq!(
        results[3].1,
        Status::Up,
        "the good server's check is not disturbed"
    );
    drop(e.lab);
}

fn make_cert(e: &Env) -> (String, String) {
    let dir = e.lab.dir().to_path_buf();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=www.lab.test",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for p in [&cert, &key] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    (
        cert.to_string_lossy().into_owned(),
        key.to_string_lossy().into_owned(),
    )
}

// Proves SSL_GET: a self-signed certificate is accepted (keepalived does not verify), digest
// and SNI work, and a garbage-speaking or plain-HTTP server fails with a TLS error in bounded
// time.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_ssl_check() {
    let e = env("ssl");
    let (cert, key) = make_cert(&e);
    let _a = serve(&e, &["https", SRV, "443", &cert, &key]);
    let _b = serve(&e, &["garbage_tls", SRV, "444"]);
    let _c = serve(&e, &["http", SRV, "80"]);
    for p in ["443", "444", "80"] {
        wait_tcp(&e, &format!("10.0.0.2:{p}"));
    }
    let hello = b"hello from the lab\n";
    let mut sni = http(vec![url_digest("/", hello)]);
    sni.enable_sni = true;
    sni.virtualhost = Some("www.lab.test".into());
    let s = |h| checker(CheckKind::Ssl(h), 1000);
    let r = run_checks(
        &e,
        vec![
            (
                s(http(vec![url_digest("/", hello), Url::new("/big")])),
                target("10.0.0.2:443"),
            ),
            (s(sni), target("10.0.0.2:443")),
            (
                s(http(vec![Url::new("/status/503")])),
                target("10.0.0.2:443"),
            ),
            (s(http(vec![Url::new("/")])), target("10.0.0.2:444")),
            (s(http(vec![Url::new("/")])), target("10.0.0.2:80")),
        ],
    );
    assert_eq!(r[0].0, Status::Up);
    assert_eq!(r[1].0, Status::Up, "SNI");
    assert_eq!(
        r[2].0,
        Status::Down(Failure::HttpStatus {
            path: "/status/503".into(),
            status: 503
        })
    );
    assert!(
        matches!(&r[3].0, Status::Down(Failure::Tls(_))),
        "{:?}",
        r[3].0
    );
    assert!(
        matches!(&r[4].0, Status::Down(Failure::Tls(_) | Failure::Timeout(_))),
        "{:?}",
        r[4].0
    );
    assert!(r.iter().all(|(_, d)| *d < Duration::from_millis(3600)));
    drop(e.lab);
}

// Proves SMTP_CHECK: 220/HELO 250/QUIT conversation up; a 554 banner, a silent server and a
// closed port are down.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_smtp_check() {
    let e = env("smtp");
    let _a = serve(&e, &["smtp", SRV, "25"]);
    let _b = serve(&e, &["smtp", SRV, "26", "554"]);
    let _c = serve(&e, &["blackhole", SRV, "27"]);
    for p in ["25", "26", "27"] {
        wait_tcp(&e, &format!("10.0.0.2:{p}"));
    }
    let s = || checker(CheckKind::Smtp(SmtpCheck::default()), 1000);
    let r = run_checks(
        &e,
        vec![
            (s(), target("10.0.0.2:25")),
            (s(), target("10.0.0.2:26")),
            (s(), target("10.0.0.2:27")),
            (s(), target("10.0.0.2:28")),
        ],
    );
    assert_eq!(r[0].0, Status::Up);
    assert_eq!(
        r[1].0,
        Status::Down(Failure::Smtp {
            step: "banner",
            code: 554
        })
    );
    assert_eq!(r[2].0, Status::Down(Failure::Timeout(Phase::Receive)));
    assert_eq!(r[3].0, Status::Down(Failure::Refused));
    drop(e.lab);
}

fn dns_probe_ready(e: &Env) -> bool {
    let c = checker(
        CheckKind::Dns(DnsCheck {
            qtype: healthcheck::dns::TYPE_A,
            name: "example.test".into(),
            expect_addrs: vec![],
        }),
        300,
    );
    wait_until(Duration::from_secs(10), || {
        let c = c.clone();
        in_ns(&e.cli, move || async move {
            check(&c, &target("10.0.0.2:53")).await.status == Status::Up
        })
    })
    .is_ok()
}

// Proves DNS_CHECK against dnsmasq: the right A answer is up, a wrong expected address and an
// unknown name are down, a garbage-replying server and a closed port are down.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_dns_check() {
    let e = env("dns");
    let _d = e
        .srv
        .spawn(&[
            "dnsmasq",
            "--no-daemon",
            "--no-resolv",
            "--no-hosts",
            "--port=53",
            "--listen-address=10.0.0.2",
            "--bind-interfaces",
            "--address=/example.test/10.0.0.5",
            "--pid-file=",
        ])
        .unwrap();
    let _g = serve(&e, &["dns_garbage", SRV, "5353"]);
    // dnsmasq is ready once it answers; the first check below retries until then.
    let probe = dns_probe_ready(&e);
    assert!(probe, "dnsmasq did not come up");
    let dns = |name: &str, qtype: u16, expect: &[&str]| {
        checker(
            CheckKind::Dns(DnsCheck {
                qtype,
                name: name.into(),
                expect_addrs: expect
                    .iter()
                    .map(|a| a.parse::<IpAddr>().unwrap())
                    .collect(),
            }),
            1000,
        )
    };
    let a = healthcheck::dns::TYPE_A;
    let r = run_checks(
        &e,
        vec![
            (dns("example.test", a, &["10.0.0.5"]), target("10.0.0.2:53")),
            (dns("www.example.test", a, &[]), target("10.0.0.2:53")),
            (dns("example.test", a, &["10.0.0.6"]), target("10.0.0.2:53")),
            (
                dns("unknown.invalid", a, &["10.0.0.5"]),
                target("10.0.0.2:53"),
            ),
            (dns("example.test", a, &[]), target("10.0.0.2:5353")),
            (dns("example.test", a, &[]), target("10.0.0.2:5354")),
            (dns("unknown.invalid", a, &[]), target("10.0.0.2:53")),
        ],
    );
    assert_eq!(r[0].0, Status::Up);
    assert_eq!(r[1].0, Status::Up);
    assert!(
        matches!(&r[2].0, Status::Down(Failure::DnsAnswer(_))),
        "{:?}",
        r[2].0
    );
    assert!(
        matches!(
            &r[3].0,
            Status::Down(Failure::DnsRcode(_) | Failure::DnsAnswer(_))
        ),
        "{:?}",
        r[3].0
    );
    assert!(
        matches!(
            &r[4].0,
            Status::Down(Failure::Protocol(_) | Failure::DnsAnswer(_))
        ),
        "garbage reply: {:?}",
        r[4].0
    );
    assert_eq!(r[5].0, Status::Down(Failure::Refused));
    assert!(
        matches!(&r[6].0, Status::Down(Failure::DnsRcode(_))),
        "an unknown name without expected addresses (as configured checks run): {:?}",
        r[6].0
    );
    drop(e.lab);
}

// Proves UDP_CHECK: echo with require_reply and matching data up, a short reply below
// min_reply_length down, a reply longer than max_reply_length down, a closed port refused
// (ICMP), silence without require_reply up and with require_reply down.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_udp_check() {
    let e = env("udp");
    let _a = serve(&e, &["udp_echo", SRV, "7"]);
    let _b = serve(&e, &["udp_short", SRV, "8"]);
    let silent = e.srv.spawn(&["python3", "-c", "import socket,time;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('10.0.0.2',10));print('ready',flush=True);time.sleep(3600)"]).unwrap();
    wait_until(Duration::from_secs(10), || {
        silent.stdout_so_far().contains("ready")
    })
    .unwrap();
    let u = |uc: UdpCheck| checker(CheckKind::Udp(uc), 800);
    let echo = UdpCheck {
        payload: Some(b"ping-1234".to_vec()),
        require_reply: true,
        reply_data: Some(b"ping-\x00".to_vec()),
        reply_mask: Some(vec![0, 0, 0, 0, 0, 0xff]),
        min_reply_len: 4,
        max_reply_len: 64,
    };
    let short = UdpCheck {
        require_reply: true,
        min_reply_len: 4,
        ..Default::default()
    };
    // max_reply_length: the 9-byte echo is longer than 4.
    let long = UdpCheck {
        payload: Some(b"ping-1234".to_vec()),
        require_reply: true,
        max_reply_len: 4,
        ..Default::default()
    };
    let lax = UdpCheck::default();
    let strict = UdpCheck {
        require_reply: true,
        ..Default::default()
    };
    let r = run_checks(
        &e,
        vec![
            (u(echo), target("10.0.0.2:7")),
            (u(short), target("10.0.0.2:8")),
            (u(lax.clone()), target("10.0.0.2:9")),
            (u(lax), target("10.0.0.2:10")),
            (u(strict), target("10.0.0.2:10")),
            (u(long), target("10.0.0.2:7")),
        ],
    );
    assert_eq!(r[0].0, Status::Up);
    assert!(
        matches!(&r[1].0, Status::Down(Failure::UdpReply(_))),
        "{:?}",
        r[1].0
    );
    assert_eq!(r[2].0, Status::Down(Failure::Refused));
    assert_eq!(
        r[3].0,
        Status::Up,
        "silence without require_reply is success (keepalived)"
    );
    assert_eq!(r[4].0, Status::Down(Failure::Timeout(Phase::Receive)));
    assert!(
        matches!(&r[5].0, Status::Down(Failure::UdpReply(_))),
        "a reply longer than max_reply_length: {:?}",
        r[5].0
    );
    drop(e.lab);
}

// Proves PING_CHECK over ICMP and ICMPv6: a live host is up, an absent one is down within the
// timeout.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_ping_check() {
    let e = env("ping");
    let p = || checker(CheckKind::Ping, 2000);
    // Warm the neighbour caches (ARP / NDP) with a TCP probe each way, so the single echo of
    // each check is not the packet that waits for address resolution on a loaded machine.
    let t = || checker(CheckKind::Tcp, 2000);
    run_checks(
        &e,
        vec![(t(), target("10.0.0.2:9")), (t(), target("[fd00::2]:9"))],
    );
    let r = run_checks(
        &e,
        vec![
            (p(), target("10.0.0.2:0")),
            (p(), target("[fd00::2]:0")),
            (p(), target("10.0.0.99:0")),
        ],
    );
    assert_eq!(r[0].0, Status::Up);
    assert_eq!(r[1].0, Status::Up);
    assert!(
        matches!(&r[2].0, Status::Down(Failure::Ping(_))),
        "{:?}",
        r[2].0
    );
    assert!(r[2].1 < Duration::from_millis(2500));
    drop(e.lab);
}

/// (IP protocol, source) of every IPv4/IPv6 packet in the Ethernet capture `pcap`.
fn sources(pcap: &std::path::Path) -> Vec<(u8, IpAddr)> {
    let Ok(p) = testlab::netns::read_pcap(pcap) else {
        return Vec::new();
    };
    p.packets
        .iter()
        .filter_map(|k| {
            let d = &k.data;
            match d.get(12..14)? {
                [0x08, 0x00] => {
                    let a: [u8; 4] = d.get(26..30)?.try_into().ok()?;
                    Some((*d.get(23)?, IpAddr::from(a)))
                }
                [0x86, 0xdd] => {
                    let a: [u8; 16] = d.get(22..38)?.try_into().ok()?;
                    Some((*d.get(20)?, IpAddr::from(a)))
                }
                _ => None,
            }
        })
        .collect()
}

// Proves `bindto` and `bind_if` for PING_CHECK and `bind_if` for UDP_CHECK (upstream keepalived
// after 2.4.3, commit e5978068 "IPVS: implement bindto and bind_if for PING_CHECK"; 2.4.3
// accepts the keywords and ignores them): a ping with `bindto 10.0.0.5` / `fd00::5` (a second
// address of the checker's host) reaches the server from that address (its capture shows the
// echo requests from it) and is up; `bind_if eth0` is up, `bind_if lo` cannot reach the server
// (down); a UDP_CHECK with `bind_if eth0` gets its echo (up), with `bind_if lo` it does not
// (down), and with `bindto 10.0.0.5` the server sees the datagram from 10.0.0.5.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_ping_and_udp_bindto_bind_if() {
    let e = env("pingbind");
    e.cli.add_addr("10.0.0.5/24").unwrap();
    e.cli.add_addr("fd00::5/64").unwrap();
    let _echo = serve(&e, &["udp_echo", SRV, "7"]);
    // Neighbour caches warm (see lab_ping_check).
    let t = || checker(CheckKind::Tcp, 2000);
    run_checks(
        &e,
        vec![(t(), target("10.0.0.2:9")), (t(), target("[fd00::2]:9"))],
    );
    let cap = e.srv.capture("eth0", "pingbind").unwrap();
    let ping = |bindto: Option<&str>, bind_if: Option<&str>| {
        let mut c = checker(CheckKind::Ping, 1500);
        c.conn.bindto = bindto.map(|a| a.parse().unwrap());
        c.conn.bind_if = bind_if.map(str::to_string);
        c
    };
    let udp = |bindto: Option<&str>, bind_if: Option<&str>| {
        let mut c = checker(
            CheckKind::Udp(UdpCheck {
                payload: Some(b"bind-test".to_vec()),
                require_reply: true,
                ..Default::default()
            }),
            1500,
        );
        c.conn.bindto = bindto.map(|a| a.parse().unwrap());
        c.conn.bind_if = bind_if.map(str::to_string);
        c
    };
    let r = run_checks(
        &e,
        vec![
            (ping(Some("10.0.0.5"), None), target("10.0.0.2:0")),
            (ping(Some("fd00::5"), None), target("[fd00::2]:0")),
            (ping(None, Some("eth0")), target("10.0.0.2:0")),
            (ping(None, Some("lo")), target("10.0.0.2:0")),
            (udp(None, Some("eth0")), target("10.0.0.2:7")),
            (udp(None, Some("lo")), target("10.0.0.2:7")),
            (udp(Some("10.0.0.5"), None), target("10.0.0.2:7")),
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    // Stopped before reading: dumpcap (when there is no tcpdump) writes its buffer out at exit,
    // so the last check's packets are only in the file then.
    let _ = cap.stop(Duration::from_secs(3));
    let seen = sources(cap.pcap_path().unwrap());
    let from = |proto: u8, a: &str| seen.contains(&(proto, a.parse().unwrap()));
    assert_eq!(r[0].0, Status::Up, "ping bindto 10.0.0.5");
    assert_eq!(r[1].0, Status::Up, "ping bindto fd00::5");
    assert!(from(1, "10.0.0.5"), "no ICMP from 10.0.0.5: {seen:?}");
    assert!(from(58, "fd00::5"), "no ICMPv6 from fd00::5: {seen:?}");
    assert_eq!(r[2].0, Status::Up, "ping bind_if eth0");
    assert!(
        matches!(&r[3].0, Status::Down(_)),
        "ping bind_if lo: {:?}",
        r[3].0
    );
    assert_eq!(r[4].0, Status::Up, "udp bind_if eth0");
    assert!(
        matches!(&r[5].0, Status::Down(_)),
        "udp bind_if lo: {:?}",
        r[5].0
    );
    assert_eq!(r[6].0, Status::Up, "udp bindto 10.0.0.5");
    assert!(from(17, "10.0.0.5"), "no UDP from 10.0.0.5: {seen:?}");
    drop(e.lab);
}

// Proves genhash: our digest equals `curl -s URL | md5sum` and keepalived's own `genhash` on
// several pages (including an empty body and a 404 page), equals keepalived's genhash over
// TLS too, and matches keepalived (not curl) on a chunked body.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_genhash_matches_curl_and_keepalived() {
    let e = env("genhash");
    let (cert, key) = make_cert(&e);
    let _a = serve(&e, &["http", SRV, "80"]);
    let _b = serve(&e, &["https", SRV, "443", &cert, &key]);
    wait_tcp(&e, "10.0.0.2:80");
    wait_tcp(&e, "10.0.0.2:443");
    for (path, ssl) in [
        ("/", false),
        ("/page2", false),
        ("/big", false),
        ("/empty", false),
        ("/nothere", false),
        ("/", true),
        ("/big", true),
    ] {
        let opts = GenhashOpts {
            server: SRV.parse().unwrap(),
            port: if ssl { 443 } else { 80 },
            url: path.into(),
            ssl,
            sni: false,
            virtualhost: None,
            protocol: HttpProtocol::Http10,
            fwmark: None,
            timeout: Duration::from_secs(3),
            verbose: false,
        };
        let ours = in_ns(&e.cli, move || async move {
            fetch_digest(&opts).await.map(|o| o.hex())
        })
        .unwrap();
        let scheme = if ssl { "https" } else { "http" };
        let curl = e
            .cli
            .sh(&format!(
                "curl -sk {scheme}://{SRV}{path} | md5sum | cut -d' ' -f1"
            ))
            .unwrap();
        assert_eq!(ours, curl.trim(), "curl {scheme} {path}");
        let ka = e
            .cli
            .sh(&format!(
                "genhash {} -s {SRV} -p {} -u {path}",
                if ssl { "-S" } else { "" },
                if ssl { 443 } else { 80 }
            ))
            .unwrap();
        assert_eq!(ours, ka.trim(), "keepalived genhash {scheme} {path}");
    }
    // A chunked body: keepalived digests the raw chunk framing (it does not decode chunks), and
    // so do we, so digests made with keepalived's genhash keep working; curl decodes, so it
    // differs there.
    let opts = GenhashOpts {
        server: SRV.parse().unwrap(),
        port: 80,
        url: "/chunked".into(),
        ssl: false,
        sni: false,
        virtualhost: None,
        protocol: HttpProtocol::Http11,
        fwmark: None,
        timeout: Duration::from_secs(3),
        verbose: false,
    };
    let ours = in_ns(&e.cli, move || async move {
        fetch_digest(&opts).await.map(|o| o.hex())
    })
    .unwrap();
    let ka = e
        .cli
        .sh(&format!("genhash -P 1.1 -s {SRV} -p 80 -u /chunked"))
        .unwrap();
    assert_eq!(ours, ka.trim(), "keepalived genhash on a chunked body");
    let decoded = e
        .cli
        .sh(&format!(
            "curl -s http://{SRV}/chunked | md5sum | cut -d' ' -f1"
        ))
        .unwrap();
    assert_ne!(ours, decoded.trim());
    drop(e.lab);
}

// Proves the scheduler end to end: a TCP check of a real server goes down within
// delay_loop + retry × delay_before_retry + 1 s after the server stops, and back up after it
// restarts; the same check shared by two virtual servers runs once and reports to both.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_scheduler_detects_failure_and_recovery() {
    let e = env("sched");
    let p = serve(&e, &["http", SRV, "80"]);
    wait_tcp(&e, "10.0.0.2:80");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let cli = e.cli.netns_path();
    let (ctl_tx, ctl_rx) = std::sync::mpsc::channel::<()>();
    let handle = std::thread::spawn(move || {
        let fd = std::fs::File::open(&cli).unwrap();
        nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let (s, mut trx) = Scheduler::new(CheckContext::new(Limits::default()).unwrap());
            let mut c = Checker::new(CheckKind::Tcp);
            c.conn = ConnOpts { connect_timeout: Duration::from_millis(500), ..Default::default() };
            let mut params = CheckParams::keepalived_defaults(&c.kind, Duration::from_secs(1));
            params.retry = 1;
            params.delay_before_retry = Duration::from_millis(500);
            let spec = CheckSpec { checker: c, target: target("10.0.0.2:80"), params };
            s.add(1, spec.clone()).unwrap();
            s.add(2, spec).unwrap();
            assert_eq!(s.stats().jobs, 1);
            let start = Instant::now();
            loop {
                tokio::select! {
                    t = trx.recv() => {
                        let Some(t) = t else { break };
                        if t.kind != TransitionKind::FailureLogged {
                            let _ = tx.send(format!("{} {} {:?} {:.3}", t.id, t.up, t.kind, start.elapsed().as_secs_f64()));
                        }
                    }
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {
                        if ctl_rx.try_recv().is_ok() { break; }
                    }
                }
            }
            s.shutdown();
        });
    });
    let recv = |what: &str| -> (u64, bool, String, f64) {
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("no {what}"));
        let f: Vec<&str> = line.split(' ').collect();
        (
            f[0].parse().unwrap(),
            f[1] == "true",
            f[2].to_string(),
            f[3].parse().unwrap(),
        )
    };
    let mut first = [recv("confirm"), recv("confirm")];
    first.sort_by_key(|x| x.0);
    assert!(first.iter().all(|x| x.1 && x.2 == "Confirmed"), "{first:?}");
    // Stop the server.
    std::thread::sleep(Duration::from_millis(1500));
    p.kill();
    let killed = Instant::now();
    let mut down = [recv("down"), recv("down")];
    down.sort_by_key(|x| x.0);
    let detect = killed.elapsed();
    assert!(down.iter().all(|x| !x.1 && x.2 == "Changed"), "{down:?}");
    // delay_loop (1 s) + retry (1) × delay_before_retry (0.5 s) + 1 s.
    assert!(
        detect <= Duration::from_millis(2500),
        "detected after {detect:?}"
    );
    // Restart it.
    let _p2 = serve(&e, &["http", SRV, "80"]);
    let restarted = Instant::now();
    let mut up = [recv("up"), recv("up")];
    up.sort_by_key(|x| x.0);
    assert!(up.iter().all(|x| x.1 && x.2 == "Changed"), "{up:?}");
    assert!(
        restarted.elapsed() <= Duration::from_secs(3),
        "back after {:?}",
        restarted.elapsed()
    );
    ctl_tx.send(()).unwrap();
    handle.join().unwrap();
    drop(e.lab);
}

// Proves the scheduler's TCP engine (one task, one epoll set, reused sockets for all TCP_CHECK
// jobs) gives each job its own verdict on every check: up, refused (IPv4 and IPv6), connect
// timeout towards a silent address, up with a bindto socket (not pooled); a job shared by two
// subscriptions runs once; a suspended job (ha_suspend) makes no check; after shutdown no check runs; and every connection was reset: none
// left established or in TIME_WAIT on the checker's side.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_scheduler_tcp_engine_verdicts() {
    let e = env("tcpeng");
    let _p = serve(&e, &["http", SRV, "80"]);
    wait_tcp(&e, "10.0.0.2:80");
    let left = || {
        e.cli
            .run_ok(&["ss", "-Htn", "state", "established", "state", "time-wait"])
            .unwrap()
    };
    let before = left();
    let got = in_ns(&e.cli, || async {
        let (s, mut rx) = Scheduler::new(CheckContext::new(Limits::default()).unwrap());
        s.report_every_check(true);
        let spec = |c: Checker, t: &str| {
            let mut params = CheckParams::keepalived_defaults(&c.kind, Duration::from_secs(1));
            params.warmup = Duration::ZERO;
            CheckSpec {
                checker: c,
                target: target(t),
                params,
            }
        };
        let tcp = || checker(CheckKind::Tcp, 500);
        let mut v6 = tcp();
        v6.conn.connect_ip = Some("fd00::2".parse().unwrap());
        let mut bound = tcp();
        bound.conn.bindto = Some("10.0.0.1".parse().unwrap());
        s.add(1, spec(tcp(), "10.0.0.2:80")).unwrap();
        s.add(2, spec(tcp(), "10.0.0.2:90")).unwrap();
        s.add(3, spec(tcp(), "10.0.0.99:80")).unwrap();
        s.add(4, spec(v6, "10.0.0.2:80")).unwrap();
        s.add(5, spec(bound, "10.0.0.2:80")).unwrap();
        s.add(6, spec(tcp(), "10.0.0.2:80")).unwrap();
        s.add(7, spec(checker(CheckKind::Tcp, 600), "10.0.0.2:80"))
            .unwrap();
        s.set_enabled(7, false);
        assert_eq!(s.stats().jobs, 6, "ids 1 and 6 share a job");
        let mut got: std::collections::BTreeMap<u64, Vec<(bool, Option<Failure>)>> =
            Default::default();
        let end = tokio::time::Instant::now() + Duration::from_millis(3300);
        while let Ok(Some(t)) = tokio::time::timeout_at(end, rx.recv()).await {
            if t.kind == TransitionKind::Checked {
                got.entry(t.id).or_default().push((t.up, t.reason));
            }
        }
        let runs = s.stats().checks_run;
        s.shutdown();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(s.stats().checks_run, runs, "no check after shutdown");
        got
    });
    let n = |id: u64| got.get(&id).map_or(0, Vec::len);
    assert_eq!(n(7), 0, "a suspended job makes no check: {got:?}");
    for id in 1..=6 {
        // One check per second; the silent address's take connect_timeout (0.5 s) + 1 s each.
        let want = if id == 3 { 2..=4 } else { 3..=5 };
        assert!(
            want.contains(&n(id)),
            "id {id}: {} checks in 3.3 s: {got:?}",
            n(id)
        );
    }
    let all = |id: u64, want: (bool, Option<Failure>)| {
        assert!(
            got[&id].iter().all(|g| *g == want),
            "id {id}: {:?}",
            got[&id]
        );
    };
    all(1, (true, None));
    all(2, (false, Some(Failure::Refused)));
    // No neighbour answers for 10.0.0.99: connect timeouts, and once the kernel gave up on its
    // address resolution (about 3 s) EHOSTUNREACH, as for any TCP_CHECK.
    assert!(
        got[&3].iter().all(|(up, r)| !up
            && matches!(
                r,
                Some(Failure::Timeout(Phase::Connect))
                    | Some(Failure::Network {
                        errno: Some(libc::EHOSTUNREACH),
                        ..
                    })
            )),
        "id 3: {:?}",
        got[&3]
    );
    assert_eq!(got[&3][0], (false, Some(Failure::Timeout(Phase::Connect))));
    all(4, (false, Some(Failure::Refused)));
    all(5, (true, None));
    all(6, (true, None));
    assert_eq!(n(1), n(6), "one job for ids 1 and 6");
    assert_eq!(left(), before, "connections left on the checker side");
    drop(e.lab);
}

// Proves MISC_CHECK runs the script as the configured user (setuid to nobody) with
// script security on, and that misc_dynamic weights and timeouts work for real processes.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_misc_runs_as_user() {
    let uid = std::process::Command::new("id")
        .args(["-u", "nobody"])
        .output()
        .unwrap();
    let uid = String::from_utf8_lossy(&uid.stdout).trim().to_string();
    let misc = |script: String, user: Option<&str>, dynamic: bool| {
        Checker::new(CheckKind::Misc(healthcheck::MiscCheck {
            argv: vec!["/bin/sh".into(), "-c".into(), script],
            timeout: Duration::from_millis(500),
            dynamic,
            user: user.map(String::from),
            group: None,
            script_security: true,
            keep_symlinks: false,
        }))
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t = target("10.0.0.2:80");
    let as_nobody = rt.block_on(check(
        &misc(format!("test \"$(id -u)\" = {uid}"), Some("nobody"), false),
        &t,
    ));
    assert_eq!(as_nobody.status, Status::Up);
    let as_root = rt.block_on(check(
        &misc(format!("test \"$(id -u)\" = {uid}"), None, false),
        &t,
    ));
    assert_eq!(as_root.status, Status::Down(Failure::Exit(1)));
    let weight = rt.block_on(check(&misc("exit 7".into(), Some("nobody"), true), &t));
    assert_eq!(
        weight.status,
        Status::Weight(healthcheck::WeightAdjust::Set(5))
    );
    let slow = rt.block_on(check(&misc("sleep 20".into(), Some("nobody"), false), &t));
    assert_eq!(slow.status, Status::Down(Failure::ScriptTimeout));
    assert!(slow.latency < Duration::from_secs(3));
}

fn url_regex(path: &str, pattern: &str, opts: &[&str], no_match: bool) -> Url {
    let mut u = Url::new(path);
    let o: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
    u.regex = Some(healthcheck::UrlRegex::new(pattern, &o, no_match, 0, None));
    u
}

// Proves url `regex` on HTTP_GET and SSL_GET against a real server: the body (340 KiB, the
// marker near its end, so it streams through several windows) matches or not, `regex_no_match`
// inverts, `caseless` applies, `regex_min_offset`/`regex_max_offset` bound the match start,
// and a pattern the regex crate rejects fails the check with its message.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_http_regex() {
    let e = env("regex");
    let (cert, key) = make_cert(&e);
    let _a = serve(&e, &["http", SRV, "80"]);
    let _b = serve(&e, &["https", SRV, "443", &cert, &key]);
    wait_tcp(&e, "10.0.0.2:80");
    wait_tcp(&e, "10.0.0.2:443");
    let marker_at = 20000 * 18;
    let off = |min: usize, max: Option<usize>| {
        let mut u = Url::new("/regex");
        u.regex = Some(healthcheck::UrlRegex::new(
            "STATUS: [a-z ]+nominal",
            &[],
            false,
            min,
            max,
        ));
        u
    };
    let h = |u: Url| checker(CheckKind::Http(http(vec![u])), 2000);
    let s = |u: Url| checker(CheckKind::Ssl(http(vec![u])), 2000);
    let t = || target("10.0.0.2:80");
    let r = run_checks(
        &e,
        vec![
            (
                h(url_regex("/regex", "STATUS: [a-z ]+nominal", &[], false)),
                t(),
            ),
            (h(url_regex("/regex", "STATUS: degraded", &[], false)), t()),
            (
                h(url_regex("/regex", "STATUS: [a-z ]+nominal", &[], true)),
                t(),
            ),
            (h(url_regex("/regex", "STATUS: degraded", &[], true)), t()),
            (
                h(url_regex("/regex", "status: ALL", &["caseless"], false)),
                t(),
            ),
            (h(url_regex("/regex", "status: ALL", &[], false)), t()),
            (h(off(marker_at, None)), t()),
            (h(off(marker_at + 1, None)), t()),
            (h(off(0, Some(marker_at))), t()),
            (h(off(0, Some(marker_at - 1))), t()),
            (h(url_regex("/regex", r"(a)\1", &[], false)), t()),
            (
                s(url_regex("/regex", "STATUS: [a-z ]+nominal", &[], false)),
                target("10.0.0.2:443"),
            ),
            (
                s(url_regex("/regex", "STATUS: degraded", &[], false)),
                target("10.0.0.2:443"),
            ),
        ],
    );
    let down_regex = |i: usize, no_match: bool| {
        assert_eq!(
            r[i].0,
            Status::Down(Failure::Regex {
                path: "/regex".into(),
                no_match
            }),
            "check {i}"
        );
    };
    assert_eq!(r[0].0, Status::Up, "match");
    down_regex(1, false);
    down_regex(2, true);
    assert_eq!(r[3].0, Status::Up, "regex_no_match, no match");
    assert_eq!(r[4].0, Status::Up, "caseless");
    down_regex(5, false);
    assert_eq!(r[6].0, Status::Up, "min_offset at the match");
    down_regex(7, false);
    assert_eq!(r[8].0, Status::Up, "max_offset at the match");
    down_regex(9, false);
    assert!(
        matches!(&r[10].0, Status::Down(Failure::RegexInvalid(m)) if m.contains("backreferences")),
        "{:?}",
        r[10].0
    );
    assert_eq!(r[11].0, Status::Up, "SSL_GET match");
    assert_eq!(
        r[12].0,
        Status::Down(Failure::Regex {
            path: "/regex".into(),
            no_match: false
        })
    );
    drop(e.lab);
}

// Proves hostile HTTP servers never make the checker grow without bound, block other checks or
// panic, and each is reported down with a reason, all checks running at once next to a good one:
// a 1 MiB header line (header too large), a garbage status line (status 0), truncated chunking
// (the regex needs the end of the body: no match), an invalid UTF-8 body (matched as bytes: a
// byte regex matches, regex_no_match of it is down), an endless body with a regex that never
// matches (cut at the body limit or the whole-check deadline) and with one that matches (up at
// once: reading stops), slowloris headers (whole-check deadline).
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_http_hostile_servers() {
    let e = env("hostile");
    let _good = serve(&e, &["http", SRV, "80"]);
    let kinds = [
        "bigheader",
        "garbage_status",
        "truncated_chunked",
        "invalid_utf8",
        "endless_utf8",
    ];
    let mut procs = Vec::new();
    for (i, k) in kinds.iter().enumerate() {
        let port = (90 + i).to_string();
        procs.push(serve(&e, &["hostile", SRV, &port, k]));
    }
    procs.push(serve(&e, &["slowloris", SRV, "99"]));
    for p in ["80", "90", "91", "92", "93", "94", "99"] {
        wait_tcp(&e, &format!("10.0.0.2:{p}"));
    }
    let results = in_ns(&e.cli, || async {
        let ctx = CheckContext::new(Limits::default()).unwrap();
        let h = |u: Url| checker(CheckKind::Http(http(vec![u])), 1000);
        let jobs = vec![
            (h(url_regex("/", "ok", &[], false)), target("10.0.0.2:90")),
            (h(Url::new("/")), target("10.0.0.2:91")),
            (
                h(url_regex("/", "complete", &[], false)),
                target("10.0.0.2:92"),
            ),
            (
                h(url_regex("/", r"\xff\xfeMARK", &[], false)),
                target("10.0.0.2:93"),
            ),
            (
                h(url_regex("/", r"\xff\xfeMARK", &[], true)),
                target("10.0.0.2:93"),
            ),
            (
                h(url_regex("/", "never", &[], false)),
                target("10.0.0.2:94"),
            ),
            (
                h(url_regex("/", r"\xfe\xc3\xff", &[], false)),
                target("10.0.0.2:94"),
            ),
            (h(Url::new("/")), target("10.0.0.2:99")),
            (
                h(url_regex("/regex", "nominal", &[], false)),
                target("10.0.0.2:80"),
            ),
        ];
        let mut set = tokio::task::JoinSet::new();
        for (i, (c, t)) in jobs.into_iter().enumerate() {
            let ctx = ctx.clone();
            set.spawn(async move {
                let start = Instant::now();
                let r = healthcheck::check_with(&ctx, &c, &t).await;
                (i, r.status, start.elapsed())
            });
        }
        let mut out = set.join_all().await;
        out.sort_by_key(|x| x.0);
        out
    });
    for (i, s, d) in &results {
        eprintln!("hostile check {i}: {s:?} in {d:?}");
        assert!(*d < Duration::from_millis(3600), "check {i} took {d:?}");
        if let Status::Down(f) = s {
            assert!(!f.to_string().is_empty());
        }
    }
    let st = |i: usize| results[i].1.clone();
    assert_eq!(st(0), Status::Down(Failure::HeaderTooLarge));
    assert_eq!(
        st(1),
        Status::Down(Failure::HttpStatus {
            path: "/".into(),
            status: 0
        })
    );
    assert_eq!(
        st(2),
        Status::Down(Failure::Regex {
            path: "/".into(),
            no_match: false
        })
    );
    assert_eq!(st(3), Status::Up, "invalid UTF-8 is matched as bytes");
    assert_eq!(
        st(4),
        Status::Down(Failure::Regex {
            path: "/".into(),
            no_match: true
        })
    );
    assert!(
        matches!(
            st(5),
            Status::Down(Failure::BodyTooLarge) | Status::Down(Failure::Timeout(Phase::Total))
        ),
        "{:?}",
        st(5)
    );
    assert_eq!(st(6), Status::Up, "a match ends reading an endless body");
    assert!(
        results[6].2 < Duration::from_millis(500),
        "{:?}",
        results[6].2
    );
    assert!(
        matches!(
            st(7),
            Status::Down(Failure::Timeout(Phase::Total)) | Status::Down(Failure::HeaderTooLarge)
        ),
        "{:?}",
        st(7)
    );
    assert_eq!(
        st(8),
        Status::Up,
        "the good server's check is not disturbed"
    );
    drop(e.lab);
}
