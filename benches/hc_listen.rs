//! Server side of `benches/hc_scale.sh`: the health-check targets, and the independent
//! observer of when each one is checked.
//!
//! ```text
//! hc_listen [--ports 100] [--port-base 20000] [--http] [--delay-ms 1000]
//!           [--warmup 10] [--window 30] [--counts FILE]
//! ```
//! Listens on `0.0.0.0:{port-base .. port-base+ports}` (every address of the namespace, so
//! A addresses × P ports are A·P distinct targets); the target of a connection is its local
//! address (`getsockname`). For every accepted connection it takes a timestamp (CLOCK_MONOTONIC,
//! right after `accept` returns), and for every target the interval since its previous
//! connection. A check's lateness is `interval − delay`: both daemons schedule the next check
//! `delay_loop` after the previous one completed, so this includes the check's own duration
//! (a local handshake and close, ~0.1 ms) and the listener's own accept delay.
//! `--http`: reads the request (up to the blank line) and answers
//! `HTTP/1.0 200 OK` with a 2-byte body, then closes; otherwise closes at once.
//!
//! Prints `ready` once bound, `window-start` after `--warmup` seconds (statistics reset, the
//! per-target last timestamps kept), then after `--window` seconds one line
//! `report key=value ...` and exits:
//! conns, targets (distinct targets connected in the window), per_target_per_s,
//! on_time_5ms_pct / on_time_50ms_pct (intervals with lateness ≤ 5 / 50 ms), late_p50_us,
//! late_p99_us, late_p999_us, late_max_us, early (intervals shorter than delay − 1 ms),
//! gaps (intervals > 2 × delay), max_per_target (most connections to one target).
//! `--counts FILE` also writes `ip:port count` per target for the window.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Default)]
struct Slot {
    last: Option<Instant>,
    count: u32,
}

#[derive(Default)]
struct Stats {
    slots: HashMap<(u32, u16), Slot>,
    lateness_us: Vec<u32>,
    conns: u64,
    early: u64,
    gaps: u64,
}

struct Args {
    ports: u16,
    port_base: u16,
    http: bool,
    delay: Duration,
    warmup: u64,
    window: u64,
    counts: Option<String>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        ports: 100,
        port_base: 20000,
        http: false,
        delay: Duration::from_millis(1000),
        warmup: 10,
        window: 30,
        counts: None,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < v.len() {
        let val = |i: usize| {
            v.get(i + 1)
                .cloned()
                .ok_or(format!("{} needs a value", v[i]))
        };
        let num = |i: usize| -> Result<u64, String> {
            val(i)?.parse().map_err(|e| format!("{}: {e}", v[i]))
        };
        match v[i].as_str() {
            "--ports" => a.ports = num(i)? as u16,
            "--port-base" => a.port_base = num(i)? as u16,
            "--delay-ms" => a.delay = Duration::from_millis(num(i)?),
            "--warmup" => a.warmup = num(i)?,
            "--window" => a.window = num(i)?,
            "--counts" => a.counts = Some(val(i)?),
            "--http" => {
                a.http = true;
                i += 1;
                continue;
            }
            o => return Err(format!("unknown argument {o}")),
        }
        i += 2;
    }
    Ok(a)
}

fn listener(port: u16) -> std::io::Result<tokio::net::TcpListener> {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    s.set_reuse_address(true)?;
    s.bind(&SocketAddr::from(([0, 0, 0, 0], port)).into())?;
    s.listen(65535)?;
    s.set_nonblocking(true)?;
    tokio::net::TcpListener::from_std(s.into())
}

async fn answer_http(mut s: tokio::net::TcpStream) {
    let mut buf = [0u8; 2048];
    let mut got = 0;
    let read = async {
        while got < buf.len() {
            match s.read(&mut buf[got..]).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => got += n,
            }
            if buf[..got].windows(4).any(|w| w == b"\r\n\r\n") {
                return true;
            }
        }
        false
    };
    if let Ok(true) = tokio::time::timeout(Duration::from_secs(5), read).await {
        let _ = s
            .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            .await;
        let _ = s.shutdown().await;
    }
}

fn quantile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64) * q).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

fn main() -> Result<(), String> {
    let a = args()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let stats = Rc::new(RefCell::new(Stats::default()));
        for p in a.port_base..a.port_base + a.ports {
            let l = listener(p).map_err(|e| format!("bind port {p}: {e}"))?;
            let stats = stats.clone();
            let delay = a.delay;
            let http = a.http;
            tokio::task::spawn_local(async move {
                loop {
                    let Ok((s, _)) = l.accept().await else {
                        // EMFILE and the like: back off briefly.
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        continue;
                    };
                    let now = Instant::now();
                    if let Ok(SocketAddr::V4(la)) = s.local_addr() {
                        let mut st = stats.borrow_mut();
                        st.conns += 1;
                        let slot = st.slots.entry((u32::from(*la.ip()), la.port())).or_default();
                        slot.count += 1;
                        let prev = slot.last.replace(now);
                        if let Some(prev) = prev {
                            let iv = now - prev;
                            if iv + Duration::from_millis(1) < delay {
                                st.early += 1;
                            } else {
                                if iv > 2 * delay {
                                    st.gaps += 1;
                                }
                                let late = iv.saturating_sub(delay).as_micros();
                                st.lateness_us.push(u32::try_from(late).unwrap_or(u32::MAX));
                            }
                        }
                    }
                    if http {
                        tokio::task::spawn_local(answer_http(s));
                    }
                }
            });
        }
        println!("ready");
        let _ = std::io::stdout().flush();
        tokio::time::sleep(Duration::from_secs(a.warmup)).await;
        {
            let mut st = stats.borrow_mut();
            st.lateness_us.clear();
            st.conns = 0;
            st.early = 0;
            st.gaps = 0;
            for s in st.slots.values_mut() {
                s.count = 0;
            }
        }
        println!("window-start");
        let _ = std::io::stdout().flush();
        let t0 = Instant::now();
        tokio::time::sleep(Duration::from_secs(a.window)).await;
        let secs = t0.elapsed().as_secs_f64();
        let mut st = stats.borrow_mut();
        let mut late = std::mem::take(&mut st.lateness_us);
        late.sort_unstable();
        let n = late.len().max(1) as f64;
        let within = |us: u32| late.iter().take_while(|x| **x <= us).count() as f64 * 100.0 / n;
        let targets = st.slots.values().filter(|s| s.count > 0).count();
        let max_per = st.slots.values().map(|s| s.count).max().unwrap_or(0);
        println!(
            "report conns={} targets={} per_target_per_s={:.3} on_time_5ms_pct={:.2} on_time_50ms_pct={:.2} late_p50_us={} late_p99_us={} late_p999_us={} late_max_us={} early={} gaps={} max_per_target={} window_s={:.1}",
            st.conns,
            targets,
            st.conns as f64 / targets.max(1) as f64 / secs,
            within(5_000),
            within(50_000),
            quantile(&late, 0.5),
            quantile(&late, 0.99),
            quantile(&late, 0.999),
            late.last().copied().unwrap_or(0),
            st.early,
            st.gaps,
            max_per,
            secs
        );
        if let Some(path) = &a.counts {
            let mut out = String::new();
            for ((ip, port), s) in &st.slots {
                out.push_str(&format!("{} {}\n", SocketAddrV4::new(Ipv4Addr::from(*ip), *port), s.count));
            }
            std::fs::write(path, out).map_err(|e| format!("{path}: {e}"))?;
        }
        let _ = std::io::stdout().flush();
        Ok(())
    })
}
