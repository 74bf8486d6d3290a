//! Independent VRRP advert recorder for `benches/vrrp_scale.sh` (issue #22).
//!
//! Runs in a namespace of its own, attached to the bridges of the master/backup pair, and
//! reads every IPv4 frame of its interfaces on one AF_PACKET socket, with the kernel's receive
//! timestamp (SO_TIMESTAMPNS: the recorder's own scheduling delays do not count). For each
//! router (interface, VRID) it keeps the time of the last advert and, over the measurement
//! window, the gaps between consecutive adverts and the sources that sent them.
//!
//! Usage: `vrrp_rec --interval-ms MS --warmup S --window S [--expect N]`
//! Prints one line of `key=value` figures (gaps as multiples of the advert interval):
//!   routers adverts gaps_over_2x gap_p50 gap_p99 gap_max src_changes missing
//! `routers`: (interface, VRID) pairs seen in the window; `src_changes`: adverts whose source
//! differs from the previous advert's of the same router (a takeover); `missing`: routers of
//! `--expect` never seen in the window.

use std::collections::HashMap;
use std::io::IoSliceMut;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use nix::sys::socket::{
    recvmsg, setsockopt, socket, sockopt, AddressFamily, ControlMessageOwned, LinkAddr, MsgFlags,
    SockFlag, SockProtocol, SockType,
};

struct Router {
    last: Option<(Duration, [u8; 4])>,
}

fn arg(args: &[String], name: &str, default: f64) -> f64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let interval = arg(&args, "--interval-ms", 1000.0) / 1000.0;
    let warmup = Duration::from_secs_f64(arg(&args, "--warmup", 10.0));
    let window = Duration::from_secs_f64(arg(&args, "--window", 30.0));
    let expect = arg(&args, "--expect", 0.0) as usize;

    let fd = match socket(
        AddressFamily::Packet,
        SockType::Datagram,
        SockFlag::empty(),
        SockProtocol::EthIp,
    ) {
        Ok(fd) => fd,
        Err(e) => {
            eprintln!("vrrp_rec: AF_PACKET socket: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = setsockopt(&fd, sockopt::ReceiveTimestampns, &true) {
        eprintln!("vrrp_rec: SO_TIMESTAMPNS: {e}");
        std::process::exit(1);
    }
    let _ = setsockopt(&fd, sockopt::RcvBuf, &(8 << 20));
    let _ = setsockopt(
        &fd,
        sockopt::ReceiveTimeout,
        &nix::sys::time::TimeVal::new(0, 200_000),
    );

    let start = Instant::now();
    let t0 = nix::time::clock_gettime(nix::time::ClockId::CLOCK_REALTIME)
        .map(|t| Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32))
        .unwrap_or_default();
    let from = t0 + warmup;
    let to = from + window;
    let mut routers: HashMap<(u32, u8), Router> = HashMap::new();
    let mut gaps: Vec<f64> = Vec::with_capacity(1 << 20);
    let mut adverts = 0u64;
    let mut src_changes = 0u64;
    let mut buf = [0u8; 2048];
    let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
    while start.elapsed() < warmup + window + Duration::from_millis(500) {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let r =
            match recvmsg::<LinkAddr>(fd.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::empty())
            {
                Ok(r) => r,
                Err(_) => continue,
            };
        let n = r.bytes;
        let ifindex = r.address.map(|a| a.ifindex() as u32).unwrap_or(0);
        let mut ts = None;
        if let Ok(it) = r.cmsgs() {
            for c in it {
                if let ControlMessageOwned::ScmTimestampns(t) = c {
                    ts = Some(Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32));
                }
            }
        }
        let Some(ts) = ts else { continue };
        let pkt = &buf[..n.min(buf.len())];
        // IPv4, protocol 112 (VRRP) or 51 (AH), to 224.0.0.18 or unicast.
        if pkt.len() < 28 || pkt[0] >> 4 != 4 {
            continue;
        }
        let ihl = usize::from(pkt[0] & 0x0f) * 4;
        let voff = match pkt[9] {
            112 => ihl,
            51 => ihl + 24,
            _ => continue,
        };
        let Some(&vrid) = pkt.get(voff + 1) else {
            continue;
        };
        let src = [pkt[12], pkt[13], pkt[14], pkt[15]];
        if ts < from || ts > to {
            // Before the window: only remember the last advert.
            if ts < from {
                routers.insert(
                    (ifindex, vrid),
                    Router {
                        last: Some((ts, src)),
                    },
                );
            }
            continue;
        }
        adverts += 1;
        let r = routers
            .entry((ifindex, vrid))
            .or_insert(Router { last: None });
        if let Some((prev, psrc)) = r.last {
            if prev >= from {
                gaps.push((ts.saturating_sub(prev)).as_secs_f64() / interval);
            }
            if psrc != src {
                src_changes += 1;
            }
        }
        r.last = Some((ts, src));
    }
    // A router that stopped advertising in the window: its last gap runs to the window's end.
    for r in routers.values() {
        if let Some((prev, _)) = r.last {
            if prev >= from && to > prev {
                let g = (to - prev).as_secs_f64() / interval;
                if g > 1.5 {
                    gaps.push(g);
                }
            }
        }
    }
    let seen = routers
        .values()
        .filter(|r| r.last.is_some_and(|(t, _)| t >= from))
        .count();
    gaps.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| -> f64 {
        if gaps.is_empty() {
            return 0.0;
        }
        let i = ((gaps.len() as f64 - 1.0) * p).round() as usize;
        gaps[i.min(gaps.len() - 1)]
    };
    let over2 = gaps.iter().filter(|g| **g > 2.0).count();
    println!(
        "routers={seen} adverts={adverts} gaps_over_2x={over2} gap_p50={:.2} gap_p99={:.2} gap_max={:.2} src_changes={src_changes} missing={}",
        pct(0.5),
        pct(0.99),
        gaps.last().copied().unwrap_or(0.0),
        expect.saturating_sub(seen)
    );
}
