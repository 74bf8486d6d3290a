//! Print the IPVS table like `ipvsadm -Ln [--stats | --rate | --thresholds]`.
//! Usage: cargo run -p ipvs-nl --example ipvsadm_ln -- [--stats|--rate|--thresholds] [--netns PATH]

use ipvs_nl::{AddressFamily, Handle, Scheduler, ServiceFlags, ServiceKey, Stats};
use std::net::IpAddr;

#[derive(PartialEq)]
enum Mode {
    Plain,
    Stats,
    Rate,
    Thresholds,
}

fn addr_port(a: &IpAddr, port: u16) -> String {
    match a {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

/// ipvsadm's `print_largenum`: 9 columns, K/M/G/T suffixes for large values.
fn largenum(i: u64) -> String {
    if i < 100_000_000 {
        format!("{i:>9}")
    } else if i < 1_000_000_000 {
        format!("{:>8}K", i / 1000)
    } else if i < 100_000_000_000 {
        format!("{:>8}M", i / 1_000_000)
    } else if i < 100_000_000_000_000 {
        format!("{:>8}G", i / 1_000_000_000)
    } else {
        format!("{:>8}T", i / 1_000_000_000_000)
    }
}

fn numbers(mode: &Mode, st: &Stats) -> String {
    let v = if *mode == Mode::Rate {
        [st.cps, st.inpps, st.outpps, st.inbps, st.outbps]
    } else {
        [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes]
    };
    v.iter().map(|x| largenum(*x)).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = if args.iter().any(|a| a == "--stats") {
        Mode::Stats
    } else if args.iter().any(|a| a == "--rate") {
        Mode::Rate
    } else if args.iter().any(|a| a == "--thresholds") {
        Mode::Thresholds
    } else {
        Mode::Plain
    };
    let netns = args
        .iter()
        .position(|a| a == "--netns")
        .and_then(|i| args.get(i + 1));
    let mut h = match netns {
        Some(p) => Handle::in_netns(p)?,
        None => Handle::new()?,
    };
    let info = h.info()?;
    println!(
        "IP Virtual Server version {} (size={})",
        info.version_string(),
        info.conn_tab_size
    );
    match mode {
        Mode::Stats => println!(
            "{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port",
            "Prot LocalAddress:Port", "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"
        ),
        Mode::Rate => println!(
            "{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port",
            "Prot LocalAddress:Port", "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"
        ),
        Mode::Thresholds => println!(
            "{:<33} {:<10} {:<10} {:<10} {:<10}\n  -> RemoteAddress:Port",
            "Prot LocalAddress:Port", "Uthreshold", "Lthreshold", "ActiveConn", "InActConn"
        ),
        Mode::Plain => println!(
            "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn"
        ),
    }
    let mut table = h.table()?;
    // ipvsadm's order: fwmark, family, protocol, address, port
    table.sort_by_key(|(s, _)| match s.service.key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => (0u32, AddressFamily::of(&addr), protocol.raw(), addr, port),
        ServiceKey::Fwmark { af, mark } => (mark, af, 0, IpAddr::from([0u8; 4]), 0),
    });
    for (s, mut dests) in table {
        let svc = &s.service;
        let name = match svc.key {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => {
                format!("{protocol}  {}", addr_port(&addr, port))
            }
            ServiceKey::Fwmark { af, mark } => match af {
                AddressFamily::Inet => format!("FWM  {mark}"),
                AddressFamily::Inet6 => format!("FWM  {mark} IPv6"),
            },
        };
        if matches!(mode, Mode::Stats | Mode::Rate) {
            println!("{name:<33}{}", numbers(&mode, &s.stats));
        } else {
            let mut line = format!("{name} {}", svc.scheduler);
            let f = svc.flags;
            let names = match svc.scheduler {
                Scheduler::Sh => ["sh-fallback", "sh-port", "flag-3"],
                Scheduler::Mh => ["mh-fallback", "mh-port", "flag-3"],
                _ => ["flag-1", "flag-2", "flag-3"],
            };
            let sf: Vec<&str> = [
                ServiceFlags::SCHED1,
                ServiceFlags::SCHED2,
                ServiceFlags::SCHED3,
            ]
            .iter()
            .zip(names)
            .filter(|(fl, _)| f.contains(**fl))
            .map(|(_, n)| n)
            .collect();
            if !sf.is_empty() {
                line.push_str(&format!(" ({})", sf.join(",")));
            }
            if f.contains(ServiceFlags::PERSISTENT) {
                line.push_str(&format!(" persistent {}", svc.timeout));
                match svc.key.af() {
                    AddressFamily::Inet if svc.netmask != u32::MAX => {
                        line.push_str(&format!(" mask {}", std::net::Ipv4Addr::from(svc.netmask)))
                    }
                    AddressFamily::Inet6 if svc.netmask != 128 => {
                        line.push_str(&format!(" mask {}", svc.netmask))
                    }
                    _ => {}
                }
                if let Some(pe) = &svc.pe_name {
                    line.push_str(&format!(" pe {pe}"));
                }
            }
            if f.contains(ServiceFlags::ONEPACKET) {
                line.push_str(" ops");
            }
            println!("{line}");
        }
        dests.sort_by_key(|d| (d.dest.addr, d.dest.port));
        for d in dests {
            let dn = addr_port(&d.dest.addr, d.dest.port);
            match mode {
                Mode::Stats | Mode::Rate => println!("  -> {dn:<28}{}", numbers(&mode, &d.stats)),
                Mode::Thresholds => println!(
                    "  -> {dn:<28} {:<10} {:<10} {:<10} {:<10}",
                    d.dest.upper_threshold,
                    d.dest.lower_threshold,
                    d.active_conns,
                    d.inactive_conns
                ),
                Mode::Plain => println!(
                    "  -> {dn:<28} {:<7} {:<6} {:<10} {:<10}",
                    d.dest.forward.name(),
                    d.dest.weight,
                    d.active_conns,
                    d.inactive_conns
                ),
            }
        }
    }
    Ok(())
}
