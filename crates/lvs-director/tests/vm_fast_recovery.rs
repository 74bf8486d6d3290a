//! HTTP_GET's url walk and `fast_recovery` on real IPVS, side by side with the reference
//! keepalived 2.2.7 (`-C`, checker only), inside the project VM
//! (`scripts/vm-test.sh lvs-director vm_fast_recovery`).
//!
//! A web server logs every request with its time and answers 500 for `/b` while a flag file
//! exists. The same configuration (three urls, delay_loop 2, delay_before_retry 1, retry 0)
//! runs under ours and under the reference, without and with `fast_recovery`; the requests per
//! url with their times are printed side by side and compared.

#![allow(clippy::unwrap_used, clippy::panic)] // test helpers outside #[test] fns

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use testlab::netns::{wait_until, Host, Lab, Proc};

fn require_vm() {
    assert!(
        std::env::var_os("KRS_IN_VM").is_some(),
        "this test needs real IPVS: run it inside the VM with `scripts/vm-test.sh lvs-director vm_`"
    );
}

const RS: &str = "10.0.0.11";

/// The web server: logs `time path status` per request to argv[2]; `/b` answers 500 while
/// the file argv[3] exists.
const SERVER: &str = r#"
import http.server, os, sys, time
log, flag = sys.argv[2], sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = 500 if (self.path == "/b" and os.path.exists(flag)) else 200
        with open(log, "a") as f:
            f.write("%.3f %s %d\n" % (time.time(), self.path, code))
        body = b"ok"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer((sys.argv[1], 80), H).serve_forever()
"#;

fn config(fast: bool) -> String {
    let fr = if fast { "fast_recovery" } else { "" };
    format!(
        r#"virtual_server 10.0.0.100 80 {{
    delay_loop 2
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server {RS} 80 {{
        weight 1
        HTTP_GET {{
            url {{
                path /a
            }}
            url {{
                path /b
            }}
            url {{
                path /c
            }}
            connect_timeout 1
            retry 0
            delay_before_retry 1
            warmup 0
            {fr}
        }}
    }}
}}
"#
    )
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Whether the real server is in the IPVS table of the namespace `pid` runs in: its
/// `/proc/PID/net/ip_vs` (RS = 10.0.0.11:80 in hex). A file read, polled every 10 ms: spawning
/// `ipvsadm` took 0.3-0.5 s per poll in the VM (TCG), which made the time the real server came
/// back look up to that much later than it was, by chance more for one daemon than the other.
fn rs_in_table(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/net/ip_vs"))
        .map(|t| t.contains("-> 0A00000B:0050 "))
        .unwrap_or(false)
}

/// One request: (time, path, status).
type Req = (f64, String, u16);

fn requests(log: &Path) -> Vec<Req> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((
                w.next()?.parse().ok()?,
                w.next()?.to_string(),
                w.next()?.parse().ok()?,
            ))
        })
        .collect()
}

/// What one daemon did: the requests of each phase (times relative to the phase's start) and
/// how long the real server took to come back after `/b` answered again.
#[derive(Debug)]
struct Run {
    /// From the first request, 7 s.
    start: Vec<Req>,
    /// After the real server left the table, 5 s (only the failed url).
    down: Vec<Req>,
    /// From the flag's removal to the real server's return, and 1 s more.
    recovery: Vec<Req>,
    /// Seconds from the first `/b` answering 200 to the real server back in the table.
    back_after: f64,
}

fn since(reqs: &[Req], from: f64, to: f64) -> Vec<Req> {
    reqs.iter()
        .filter(|r| r.0 >= from && r.0 < to)
        .map(|r| (r.0 - from, r.1.clone(), r.2))
        .collect()
}

/// `netns_pid`: a process in `h`'s namespace (the web server), for [`rs_in_table`].
fn run(h: &Host, netns_pid: u32, dir: &Path, start: impl Fn() -> Proc) -> Run {
    let log = dir.join("requests.log");
    let flag = dir.join("fail-b");
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_file(&flag);
    let p = start();
    // The start phase: 7 s from the first request (the daemons take different times to
    // start).
    wait_until(Duration::from_secs(30), || !requests(&log).is_empty())
        .unwrap_or_else(|_| panic!("no request: {}", p.output_so_far()));
    let t0 = requests(&log)[0].0 - 0.001;
    std::thread::sleep(Duration::from_secs_f64((t0 + 7.0 - now()).max(0.0)));
    let t_fail = now();
    std::fs::write(&flag, "").unwrap();
    wait_until(Duration::from_secs(15), || !rs_in_table(netns_pid)).unwrap_or_else(|_| {
        panic!(
            "the real server did not leave the table: {}",
            p.output_so_far()
        )
    });
    let t_down = now();
    std::thread::sleep(Duration::from_secs(5));
    let t_restore = now();
    std::fs::remove_file(&flag).unwrap();
    wait_until(Duration::from_secs(20), || rs_in_table(netns_pid))
        .unwrap_or_else(|_| panic!("the real server did not come back: {}", p.output_so_far()));
    let t_back = now();
    std::thread::sleep(Duration::from_secs(1));
    p.stop(Duration::from_secs(20)).unwrap();
    h.run_ok(&["ipvsadm", "-C"]).unwrap();
    let all = requests(&log);
    let first_ok_b = all
        .iter()
        .find(|r| r.0 >= t_restore && r.1 == "/b" && r.2 == 200)
        .map(|r| r.0)
        .unwrap_or(t_restore);
    assert!(t_fail > t0);
    Run {
        start: since(&all, t0, t_fail),
        down: since(&all, t_down, t_restore),
        recovery: since(&all, t_restore, t_back + 1.0),
        back_after: t_back - first_ok_b,
    }
}

fn paths(v: &[Req]) -> Vec<&str> {
    v.iter().map(|r| r.1.as_str()).collect()
}

fn show(v: &[Req]) -> String {
    v.iter()
        .map(|r| format!("{:6.3} {} {}", r.0, r.1, r.2))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Largest gap between consecutive requests.
fn max_gap(v: &[Req]) -> f64 {
    v.windows(2).map(|w| w[1].0 - w[0].0).fold(0.0, f64::max)
}

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

// Proves, against keepalived 2.2.7 running the same configuration in the same namespace
// against the same server: HTTP_GET fetches one url per delay_loop (`/a`, `/b`, `/c`, 2 s
// apart); a url failing (retry 0) takes the real server out of IPVS and is then fetched alone
// every 2 s; when it answers again the walk restarts at `/a` and the real server is back after
// `/c`, 6 s later (three more delay_loops). With `fast_recovery` the first walk and the walk
// after the failed url answered go without delay (the three urls within a fraction of a
// second, the real server back at once), while an up server is still walked one url per
// delay_loop and the failed url still fetched every 2 s. Each assertion holds for ours and for
// the reference.
#[test]
#[ignore = "vm: needs the IPVS VM"]
fn vm_http_url_walk_and_fast_recovery_same_as_reference() {
    require_vm();
    let lab = Lab::new("lvsfr").unwrap();
    let d = lab.host("d").unwrap();
    d.add_addr("10.0.0.1/24").unwrap();
    d.add_addr(&format!("{RS}/24")).unwrap();
    let dir: PathBuf = lab.dir().to_path_buf();
    let server = dir.join("server.py");
    std::fs::write(&server, SERVER).unwrap();
    let log = dir.join("requests.log");
    let flag = dir.join("fail-b");
    let srv = d
        .spawn(&[
            "python3",
            server.to_str().unwrap(),
            RS,
            log.to_str().unwrap(),
            flag.to_str().unwrap(),
        ])
        .unwrap();
    wait_until(Duration::from_secs(30), || {
        d.run(&["curl", "-s", "--max-time", "2", &format!("http://{RS}/x")])
            .map(|o| o.stdout == b"ok")
            .unwrap_or(false)
    })
    .unwrap();

    for fast in [false, true] {
        let conf = dir.join("fr.conf");
        std::fs::write(&conf, config(fast)).unwrap();
        let ours = run(&d, srv.pid(), &dir, || start_ours(&d, &conf));
        let reference = run(&d, srv.pid(), &dir, || start_reference(&dir, &d, &conf));
        for (phase, o, r) in [
            ("start (7 s)", &ours.start, &reference.start),
            ("down (5 s)", &ours.down, &reference.down),
            ("recovery", &ours.recovery, &reference.recovery),
        ] {
            eprintln!(
                "fast_recovery={fast} {phase}\n-- ours:\n{}\n-- keepalived 2.2.7:\n{}",
                show(o),
                show(r)
            );
        }
        eprintln!(
            "fast_recovery={fast} back after the failed url answered: ours {:.3} s, \
             keepalived 2.2.7 {:.3} s",
            ours.back_after, reference.back_after
        );
        for (who, x) in [("ours", &ours), ("keepalived 2.2.7", &reference)] {
            // The walk at start.
            let p = paths(&x.start);
            assert!(
                p.len() >= 3 && p[..3] == ["/a", "/b", "/c"] && p.get(3).is_none_or(|u| *u == "/a"),
                "{who} fast_recovery={fast} start: {p:?}"
            );
            if fast {
                assert!(
                    x.start[2].0 - x.start[0].0 < 0.5,
                    "{who}: the first walk without delay: {}",
                    show(&x.start)
                );
            } else {
                let gaps: Vec<f64> = x.start.windows(2).map(|w| w[1].0 - w[0].0).collect();
                assert!(
                    gaps.iter().all(|g| (1.7..3.0).contains(g)),
                    "{who}: one url per delay_loop at start: {}",
                    show(&x.start)
                );
            }
            // Down: the failed url alone, every 2 s.
            let p = paths(&x.down);
            assert!(
                p.len() >= 2 && p.iter().all(|u| *u == "/b"),
                "{who} fast_recovery={fast} down: {}",
                show(&x.down)
            );
            assert!(
                max_gap(&x.down) < 3.0 && max_gap(&x.down) > 1.7,
                "{who} down: {}",
                show(&x.down)
            );
            // Recovery: /b answers, then /a /b /c.
            let p = paths(&x.recovery);
            let ok = p.iter().position(|u| *u == "/b").unwrap();
            assert_eq!(
                &p[ok..ok + 4],
                &["/b", "/a", "/b", "/c"],
                "{who} fast_recovery={fast} recovery: {}",
                show(&x.recovery)
            );
            // Without fast_recovery /a, /b, /c one delay_loop (2 s, a little longer on a
            // loaded machine) apart after the failed url answered; with it at once.
            if fast {
                assert!(x.back_after < 1.0, "{who}: back at once: {}", x.back_after);
            } else {
                assert!(
                    (5.5..10.0).contains(&x.back_after),
                    "{who}: back after three more delay_loops: {}",
                    x.back_after
                );
            }
        }
    }
}
