//! IPVS programming benchmark driver (runs inside the IPVS VM, driven by benches/ipvs_load.sh).
//!
//!   ipvs_load gen-ipvsadm N D           rules for `ipvsadm -R` on stdout
//!   ipvs_load gen-keepalived N D        keepalived.conf (virtual/real servers, no checkers)
//!   ipvs_load load N D [mode]           from empty: reconcile N services x D dests; prints ms
//!                                       mode: batch (default) | batch-ackall | single
//!   ipvs_load latency N                 single add+delete of one destination, N times, with the
//!                                       current table present; prints median/p99 in µs
//!   ipvs_load remove                    reconcile to empty (batched deletes); prints ms
//!   ipvs_load flush                     FLUSH; prints ms
//!   ipvs_load wait SVCS DESTS TIMEOUT_S poll /proc/net/ip_vs until it holds SVCS services and
//!                                       DESTS destinations (or both 0 = empty); prints ms waited
//!   ipvs_load count                     prints "services dests" from /proc/net/ip_vs
//!   ipvs_load gen-scale VS RS VARIANT   keepalived.conf with VS virtual servers and RS real
//!                                       servers in total (spread evenly), no checkers; VARIANT 1
//!                                       moves 1% of the real servers (one each in RS/100 virtual
//!                                       servers i = 1, 7, 13, ...: new address) — the reload
//!   ipvs_load waitfor VS RS VARIANT TIMEOUT_S START_NS
//!                                       poll /proc/net/ip_vs until it holds exactly the table of
//!                                       gen-scale VS RS VARIANT (every 20 ms); prints the ms from START_NS
//!                                       (CLOCK_REALTIME ns, `date +%s%N`) to that moment
#![allow(clippy::unwrap_used)] // a benchmark driver: failing loudly is the right behaviour

use ipvs_nl::*;
use std::net::IpAddr;
use std::time::{Duration, Instant};

fn table(n: usize, d: usize) -> Vec<VirtualService> {
    (0..n)
        .map(|i| {
            let vip: IpAddr = format!("10.10.{}.{}", i / 250, i % 250 + 1)
                .parse()
                .unwrap();
            VirtualService::new(
                Service::new(ServiceKey::tcp(vip, 80), Scheduler::Wlc),
                (0..d)
                    .map(|j| {
                        let rip: IpAddr = format!("10.20.{}.{}", j, i % 250 + 1).parse().unwrap();
                        Destination::new(rip, 8080 + (i / 250) as u16, Forward::Masq)
                    })
                    .collect(),
            )
        })
        .collect()
}

/// The gen-scale table: VS i = 10.10.(i/250).(i%250+1):80, its real server j =
/// 10.20.j.(i%250+1):(8080+i/250) (10.21.j... for the 1% moved by VARIANT 1).
fn scale_table(n: usize, total: usize, variant: usize) -> Vec<(IpAddr, Vec<(IpAddr, u16)>)> {
    let (base, extra) = (total / n.max(1), total % n.max(1));
    let mut moved = 0;
    (0..n)
        .map(|i| {
            let vip: IpAddr = format!("10.10.{}.{}", i / 250, i % 250 + 1)
                .parse()
                .unwrap();
            let count = base + usize::from(i < extra);
            let mv = variant == 1 && i % 6 == 1 && moved < total / 100;
            if mv {
                moved += 1;
            }
            let rs = (0..count)
                .map(|j| {
                    let net = if mv && j == 0 { 21 } else { 20 };
                    let rip: IpAddr = format!("10.{net}.{j}.{}", i % 250 + 1).parse().unwrap();
                    (rip, 8080 + (i / 250) as u16)
                })
                .collect();
            (vip, rs)
        })
        .collect()
}

fn hex(a: &IpAddr, port: u16) -> String {
    match a {
        IpAddr::V4(v) => format!("{:08X}:{port:04X}", u32::from(*v)),
        IpAddr::V6(v) => format!("[{v}]:{port:04X}"),
    }
}

/// /proc/net/ip_vs as a set of "service" and "service dest" lines.
fn proc_set() -> std::collections::BTreeSet<String> {
    let s = std::fs::read_to_string("/proc/net/ip_vs").unwrap_or_default();
    let mut out = std::collections::BTreeSet::new();
    let mut svc = String::new();
    for l in s.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if (l.starts_with("TCP") || l.starts_with("UDP")) && f.len() > 1 {
            svc = f[1].to_string();
            out.insert(svc.clone());
        } else if l.starts_with("  ->") && !l.contains("RemoteAddress") && f.len() > 1 {
            out.insert(format!("{svc} {}", f[1]));
        }
    }
    out
}

fn count() -> (usize, usize) {
    let s = std::fs::read_to_string("/proc/net/ip_vs").unwrap_or_default();
    let mut svcs = 0;
    let mut dests = 0;
    for l in s.lines() {
        if l.starts_with("TCP") || l.starts_with("UDP") || l.starts_with("FWM") {
            svcs += 1;
        } else if l.starts_with("  ->") && !l.contains("RemoteAddress") {
            dests += 1;
        }
    }
    (svcs, dests)
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| a.get(i).map(|s| s.parse::<usize>().unwrap()).unwrap_or(0);
    match a.first().map(String::as_str) {
        Some("gen-ipvsadm") => {
            for v in table(arg(1), arg(2)) {
                let ServiceKey::Addr { addr, port, .. } = v.service.key else {
                    continue;
                };
                println!("-A -t {addr}:{port} -s wlc");
                for d in v.destinations {
                    println!("-a -t {addr}:{port} -r {}:{} -m -w 1", d.addr, d.port);
                }
            }
        }
        Some("gen-keepalived") => {
            println!("global_defs {{\n  router_id ipvs_bench\n}}");
            for v in table(arg(1), arg(2)) {
                let ServiceKey::Addr { addr, port, .. } = v.service.key else {
                    continue;
                };
                println!(
                    "virtual_server {addr} {port} {{\n  lb_algo wlc\n  lb_kind NAT\n  protocol TCP"
                );
                for d in v.destinations {
                    println!("  real_server {} {} {{\n    weight 1\n  }}", d.addr, d.port);
                }
                println!("}}");
            }
        }
        Some("load") => {
            let mode = a.get(3).map(String::as_str).unwrap_or("batch");
            let desired = table(arg(1), arg(2));
            let opts = HandleOptions {
                ack_every_request: mode == "batch-ackall",
                ..Default::default()
            };
            let mut h = Handle::with_options(opts).unwrap();
            let t = Instant::now();
            if mode == "single" {
                for v in &desired {
                    h.new_service(&v.service).unwrap();
                    for d in &v.destinations {
                        h.new_destination(&v.service.key, d).unwrap();
                    }
                }
            } else {
                let r = reconcile(&mut h, &desired, &Scope::Full).unwrap();
                assert!(r.failed.is_empty(), "{:?}", r.failed.first());
            }
            let el = t.elapsed();
            let tab = Backend::table(&mut h).unwrap();
            let d: usize = tab.iter().map(|v| v.destinations.len()).sum();
            println!(
                "load mode={mode} services={} dests={d} ms={}",
                tab.len(),
                ms(el)
            );
        }
        Some("latency") => {
            let n = arg(1).max(1);
            let mut h = Handle::new().unwrap();
            let key = ServiceKey::tcp("10.10.0.1".parse().unwrap(), 80);
            let d = Destination::new("10.30.0.1".parse().unwrap(), 9999, Forward::Masq);
            let mut add = Vec::with_capacity(n);
            let mut del = Vec::with_capacity(n);
            for _ in 0..n {
                let t = Instant::now();
                h.new_destination(&key, &d).unwrap();
                add.push(t.elapsed());
                let t = Instant::now();
                h.del_destination(&key, &d.key()).unwrap();
                del.push(t.elapsed());
            }
            add.sort();
            del.sort();
            let us = |v: &Vec<Duration>, q: f64| {
                v[((v.len() as f64 - 1.0) * q) as usize].as_secs_f64() * 1e6
            };
            let tab = Backend::table(&mut h).unwrap();
            let (s, dd) = (
                tab.len(),
                tab.iter().map(|v| v.destinations.len()).sum::<usize>(),
            );
            println!(
                "latency present_services={s} present_dests={dd} n={n} add_median_us={:.0} add_p99_us={:.0} del_median_us={:.0} del_p99_us={:.0}",
                us(&add, 0.5),
                us(&add, 0.99),
                us(&del, 0.5),
                us(&del, 0.99)
            );
        }
        Some("remove") => {
            let mut h = Handle::new().unwrap();
            let t = Instant::now();
            let r = reconcile(&mut h, &[], &Scope::Full).unwrap();
            let el = t.elapsed();
            let (s, d) = count();
            println!(
                "remove deleted_services={} left_services={s} left_dests={d} ms={}",
                r.services_deleted(),
                ms(el)
            );
        }
        Some("flush") => {
            let mut h = Handle::new().unwrap();
            let t = Instant::now();
            h.flush().unwrap();
            let el = t.elapsed();
            let (s, d) = count();
            println!("flush left_services={s} left_dests={d} ms={}", ms(el));
        }
        Some("wait") => {
            let (ws, wd, to) = (arg(1), arg(2), arg(3));
            let t = Instant::now();
            loop {
                let (s, d) = count();
                let done = if ws == 0 && wd == 0 {
                    s == 0 && d == 0
                } else {
                    s >= ws && d >= wd
                };
                if done {
                    println!("wait reached services={s} dests={d} ms={}", ms(t.elapsed()));
                    return;
                }
                if t.elapsed() > Duration::from_secs(to as u64) {
                    println!("wait TIMEOUT services={s} dests={d} ms={}", ms(t.elapsed()));
                    std::process::exit(3);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        Some("gen-scale") => {
            println!("global_defs {{\n  router_id ipvs_scale\n}}");
            for (vip, rs) in scale_table(arg(1), arg(2), arg(3)) {
                println!(
                    "virtual_server {vip} 80 {{\n  lb_algo wlc\n  lb_kind NAT\n  protocol TCP"
                );
                for (a, p) in rs {
                    println!("  real_server {a} {p} {{\n    weight 1\n  }}");
                }
                println!("}}");
            }
        }
        Some("waitfor") => {
            let mut want = std::collections::BTreeSet::new();
            for (vip, rs) in scale_table(arg(1), arg(2), arg(3)) {
                let s = hex(&vip, 80);
                for (a, p) in rs {
                    want.insert(format!("{s} {}", hex(&a, p)));
                }
                want.insert(s);
            }
            let to = Duration::from_secs(arg(4) as u64);
            let start_ns: u128 = a.get(5).and_then(|s| s.parse().ok()).unwrap_or(0);
            let now_ns = || {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos()
            };
            let t = Instant::now();
            loop {
                let got = proc_set();
                if got == want {
                    println!("{}", (now_ns().saturating_sub(start_ns)) / 1_000_000);
                    return;
                }
                if t.elapsed() > to {
                    let missing = want.difference(&got).count();
                    let extra = got.difference(&want).count();
                    println!("TIMEOUT(missing={missing},extra={extra})");
                    std::process::exit(3);
                }
                // Reading 40,000 entries costs the VM real CPU: poll every 20 ms.
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Some("count") => {
            let (s, d) = count();
            println!("{s} {d}");
        }
        _ => {
            eprintln!("see the module documentation for usage");
            std::process::exit(2);
        }
    }
}
