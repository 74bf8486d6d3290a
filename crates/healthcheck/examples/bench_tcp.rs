//! Benchmark: N real servers with TCP_CHECK at delay_loop 1 s against listeners in a lab
//! namespace; prints CPU seconds per 1,000 checks and the p50/p99 schedule lateness.
//!
//! ```text
//! cargo run --release -p healthcheck --example bench_tcp -- [--targets 1000,10000] [--seconds 10] [--reference]
//! ```
//! `--reference` also runs keepalived 2.2.7's checker (`keepalived -C`) on the same targets in
//! the same lab and reports its CPU per 1,000 checks (checks counted as connections accepted by
//! the listener). keepalived's checker needs IPVS, so run that inside the project VM:
//! `cargo run -p testlab --bin krs-vm -- run -- target/release/examples/bench_tcp --reference`.
//! Needs root (it builds a testlab namespace lab: "cli" runs the checks on one current-thread
//! tokio runtime, "srv" runs listeners: this same binary with `--listen`). The N targets are
//! distinct (address, port) pairs: up to 100 addresses × 100 ports on srv, so nothing is
//! deduplicated. CPU time is this process's (the listener is a separate process), read two
//! ways: utime+stime of /proc/PID/stat, which the kernel samples at its tick (with tick-based
//! accounting a process whose wake-ups line up with the tick is over- or under-charged), and
//! the scheduler's exact on-CPU time of the checking thread (first field of
//! /proc/.../schedstat, "sched"). Both count the softirq work run in the process's context.
//! All traffic stays inside the lab namespaces.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use healthcheck::scheduler::{CheckSpec, Scheduler, SchedulerStats};
use healthcheck::{CheckContext, CheckKind, CheckParams, Checker, Limits, Target};
use testlab::netns::{wait_until, Lab};

const PORT_BASE: u16 = 20000;
const PORTS: u16 = 100;

fn listen(ports: u16) {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let accepts = Arc::new(AtomicU64::new(0));
        for p in PORT_BASE..PORT_BASE + ports {
            let l = tokio::net::TcpListener::bind(SocketAddr::from(([0, 0, 0, 0], p)))
                .await
                .unwrap();
            let accepts = accepts.clone();
            tokio::spawn(async move {
                loop {
                    if let Ok((s, _)) = l.accept().await {
                        accepts.fetch_add(1, Ordering::Relaxed);
                        drop(s);
                    }
                }
            });
        }
        println!("ready");
        // The orchestrator reads the last line: connections accepted so far.
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            println!("accepts {}", accepts.load(Ordering::Relaxed));
        }
    });
}

/// Last "accepts N" line of the listener.
fn accepts(l: &testlab::netns::Proc) -> u64 {
    l.stdout_so_far()
        .lines()
        .rev()
        .find_map(|x| x.strip_prefix("accepts ").and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// On-CPU time (s) from a schedstat file (first field, ns: exact, not tick-sampled).
fn sched_cpu(path: &str) -> f64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|x| x.parse::<u64>().ok())
        })
        .unwrap_or(0) as f64
        / 1e9
}

/// utime+stime (s) of `pid` from /proc.
fn cpu_of(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some(close) = stat.rfind(')') else {
        return 0.0;
    };
    let f: Vec<&str> = stat[close + 2..].split(' ').collect();
    let ut: f64 = f.get(11).and_then(|x| x.parse().ok()).unwrap_or(0.0);
    let st: f64 = f.get(12).and_then(|x| x.parse().ok()).unwrap_or(0.0);
    (ut + st) / 100.0
}

fn target_addr(i: usize) -> SocketAddr {
    let a = 1 + i / usize::from(PORTS);
    let p = PORT_BASE + (i % usize::from(PORTS)) as u16;
    format!("10.0.1.{a}:{p}").parse().unwrap()
}

/// The reference: keepalived 2.2.7's checker process (`keepalived -C`) with the same N real
/// servers (needs IPVS, so only where the kernel has it: the project VM).
fn run_reference(
    lab: &Lab,
    cli: &testlab::netns::Host,
    l: &testlab::netns::Proc,
    n: usize,
    seconds: u64,
) {
    let mut conf = String::from(
        "global_defs {\n  router_id bench\n}\nvirtual_server 10.0.0.100 80 {\n  delay_loop 1\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n",
    );
    for i in 0..n {
        let t = target_addr(i);
        conf.push_str(&format!(
            "  real_server {} {} {{\n    TCP_CHECK {{\n      connect_timeout 2\n    }}\n  }}\n",
            t.ip(),
            t.port()
        ));
    }
    conf.push_str("}\n");
    let dir = lab.dir();
    let conf_path = dir.join("keepalived.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let ka = cli
        .spawn(&[
            "keepalived",
            "-C",
            "-n",
            "-l",
            "-f",
            conf_path.to_str().unwrap(),
            "-p",
            dir.join("ka.pid").to_str().unwrap(),
            "-c",
            dir.join("kac.pid").to_str().unwrap(),
        ])
        .unwrap();
    let child_file = format!("/proc/{0}/task/{0}/children", ka.pid());
    let mut child = 0u32;
    let _ = wait_until(Duration::from_secs(20), || {
        child = std::fs::read_to_string(&child_file)
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
            .unwrap_or(0);
        child != 0
    });
    if child == 0 {
        println!(
            "reference {n:>6}: keepalived checker did not start: {}",
            ka.output_so_far()
        );
        return;
    }
    // Let it load the configuration, program IPVS and spread its first checks (warmup).
    std::thread::sleep(Duration::from_secs(seconds.max(5)));
    let sched = format!("/proc/{child}/schedstat");
    let (c0, s0, a0, t0) = (cpu_of(child), sched_cpu(&sched), accepts(l), Instant::now());
    std::thread::sleep(Duration::from_secs(seconds));
    let (c1, s1, a1, wall) = (cpu_of(child), sched_cpu(&sched), accepts(l), t0.elapsed());
    if c1 == 0.0 {
        println!(
            "reference {n:>6}: keepalived checker exited: {}",
            ka.output_so_far()
        );
        return;
    }
    let checks = a1 - a0;
    println!(
        "reference {n:>6}: keepalived 2.2.7 checker: {checks:>7} connections in {:.1} s, CPU {:.4} s per 1,000 checks ({:.0}% of one core), sched {:.4} s per 1,000 checks",
        wall.as_secs_f64(),
        (c1 - c0) / (checks.max(1) as f64 / 1000.0),
        100.0 * (c1 - c0) / wall.as_secs_f64(),
        (s1 - s0) / (checks.max(1) as f64 / 1000.0)
    );
    ka.kill();
}

fn cpu_seconds() -> f64 {
    // utime + stime of this process, in clock ticks (USER_HZ = 100 on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    let ut: f64 = f[11].parse().unwrap();
    let st: f64 = f[12].parse().unwrap();
    (ut + st) / 100.0
}

/// Nanoseconds this thread spent runnable but waiting for a CPU (/proc/thread-self/schedstat):
/// shows how much of the lateness is the machine's load rather than the scheduler.
fn runqueue_wait_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|x| x.parse().ok()))
        .unwrap_or(0)
}

fn delta(a: &SchedulerStats, b: &SchedulerStats) -> SchedulerStats {
    SchedulerStats {
        jobs: b.jobs,
        subscriptions: b.subscriptions,
        checks_run: b.checks_run - a.checks_run,
        checks_without_descriptor: b.checks_without_descriptor - a.checks_without_descriptor,
        lateness_hist: b
            .lateness_hist
            .iter()
            .zip(&a.lateness_hist)
            .map(|(x, y)| x - y)
            .collect(),
    }
}

fn run(n: usize, seconds: u64, reference: bool) {
    let lab = Lab::new("bench").unwrap();
    let cli = lab.host("cli").unwrap();
    let srv = lab.host("srv").unwrap();
    cli.add_addr("10.0.0.1/16").unwrap();
    srv.add_addr("10.0.0.2/16").unwrap();
    let addrs = n.div_ceil(usize::from(PORTS)).max(1);
    let batch: String = (1..=addrs)
        .map(|i| format!("addr add 10.0.1.{i}/16 dev eth0\n"))
        .collect();
    let batch_file = lab.dir().join("addrs.batch");
    std::fs::write(&batch_file, batch).unwrap();
    srv.run_ok(&["ip", "-batch", batch_file.to_str().unwrap()])
        .unwrap();
    let exe = std::env::current_exe().unwrap();
    let l = srv.spawn(&[exe.to_str().unwrap(), "--listen"]).unwrap();
    wait_until(Duration::from_secs(10), || {
        l.stdout_so_far().contains("ready")
    })
    .unwrap();

    let cli_ns = cli.netns_path();
    let (late_p50, late_p99, cpu_per_k, sched_per_k, checks, downs) = std::thread::spawn(move || {
        let fd = std::fs::File::open(&cli_ns).unwrap();
        nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let (s, mut rx) = Scheduler::new(CheckContext::new(Limits::default()).unwrap());
            for i in 0..n {
                let addr = target_addr(i);
                let c = Checker::new(CheckKind::Tcp);
                let params = CheckParams::keepalived_defaults(&c.kind, Duration::from_secs(1));
                s.add(
                    i as u64,
                    CheckSpec {
                        checker: c,
                        target: Target::new(addr),
                        params,
                    },
                )
                .unwrap();
            }
            // Warm-up: jittered starts over the first second, then steady state.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let mut downs = 0u64;
            while let Ok(t) = rx.try_recv() {
                downs += u64::from(!t.up);
            }
            let st0 = s.stats();
            let cpu0 = cpu_seconds();
            let sched0 = sched_cpu("/proc/thread-self/schedstat");
            let rq0 = runqueue_wait_ns();
            let t0 = Instant::now();
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            let cpu1 = cpu_seconds();
            let sched1 = sched_cpu("/proc/thread-self/schedstat");
            let rq = runqueue_wait_ns() - rq0;
            let wall = t0.elapsed();
            let d = delta(&st0, &s.stats());
            while let Ok(t) = rx.try_recv() {
                downs += u64::from(!t.up);
            }
            s.shutdown();
            let per_k = (cpu1 - cpu0) / (d.checks_run as f64 / 1000.0);
            let sched_per_k = (sched1 - sched0) / (d.checks_run as f64 / 1000.0);
            eprintln!(
                "  window {:.2}s, checks {}, cpu {:.2}s ({:.0}% of one core), runnable-but-waiting {:.2}s, load {}",
                wall.as_secs_f64(),
                d.checks_run,
                cpu1 - cpu0,
                100.0 * (cpu1 - cpu0) / wall.as_secs_f64(),
                rq as f64 / 1e9,
                std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
            );
            (
                d.lateness_quantile_us(0.5),
                d.lateness_quantile_us(0.99),
                per_k,
                sched_per_k,
                d.checks_run,
                downs,
            )
        })
    })
    .join()
    .unwrap();
    println!(
        "targets {n:>6}: {checks:>7} checks in {seconds} s, CPU {cpu_per_k:.4} s per 1,000 checks, \
         lateness p50 <= {late_p50} us, p99 <= {late_p99} us, down transitions {downs}, \
         sched {sched_per_k:.4} s per 1,000 checks"
    );
    if reference {
        run_reference(&lab, &cli, &l, n, seconds);
    }
    drop(l);
    drop(lab);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--listen") {
        listen(PORTS);
        return;
    }
    let mut targets = vec![1000usize, 10000];
    let mut seconds = 10u64;
    let mut reference = false;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--targets" => {
                targets = args[i + 1].split(',').map(|s| s.parse().unwrap()).collect();
                i += 1;
            }
            "--seconds" => {
                seconds = args[i + 1].parse().unwrap();
                i += 1;
            }
            "--reference" => reference = true,
            other => panic!("unknown argument {other}"),
        }
        i += 1;
    }
    for n in targets {
        run(n, seconds, reference);
    }
}
