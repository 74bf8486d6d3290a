//! `krs-lab`: housekeeping for the namespace lab (see `testlab::netns`).
//!
//! ```text
//! krs-lab check          # prerequisites (root, ip, netns/veth/bridge support, capture tool)
//! krs-lab list           # labs on this machine, their creator and whether it still runs
//! krs-lab sweep [--all]  # remove labs whose creator is dead (--all: also unmarked ones)
//! krs-lab demo [HOSTS]   # build a lab with HOSTS hosts (default 2), ping, tear down: timings
//! ```
use std::process::ExitCode;
use std::time::Instant;

use testlab::netns;

fn usage() -> ExitCode {
    eprintln!("usage: krs-lab check | list | sweep [--all] | demo [HOSTS]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["check"] => match netns::check_prerequisites(true) {
            Ok(found) => {
                for f in found {
                    println!("ok: {f}");
                }
                match netns::capture_tool() {
                    Some(t) => println!("ok: packet capture with {t}"),
                    None => println!(
                        "warning: no tcpdump/dumpcap/tshark: Lab::capture will fail \
                         (apt-get install tcpdump or tshark)"
                    ),
                }
                println!("the namespace lab can run here");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("krs-lab check: {e}");
                ExitCode::FAILURE
            }
        },
        ["list"] => {
            let labs = netns::list_labs();
            if labs.is_empty() {
                println!("no labs");
            }
            for l in labs {
                println!(
                    "{} creator {} {}{} namespaces: {}",
                    l.name,
                    l.pid,
                    if l.alive { "running" } else { "dead (stale)" },
                    if l.has_marker { "" } else { ", no marker" },
                    l.namespaces.join(" ")
                );
            }
            ExitCode::SUCCESS
        }
        ["sweep", rest @ ..] => {
            let all = match rest {
                [] => false,
                ["--all"] => true,
                _ => return usage(),
            };
            if let Err(e) = netns::check_prerequisites(false) {
                eprintln!("krs-lab sweep: {e}");
                return ExitCode::FAILURE;
            }
            match netns::sweep(all) {
                Ok(removed) => {
                    for ns in &removed {
                        println!("removed {ns}");
                    }
                    println!("{} stale namespace(s) removed", removed.len());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("krs-lab sweep: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        ["demo", rest @ ..] => {
            let hosts = match rest {
                [] => 2,
                [n] => match n.parse::<u8>() {
                    Ok(n) if (2..=200).contains(&n) => n,
                    _ => return usage(),
                },
                _ => return usage(),
            };
            match demo(hosts) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("krs-lab demo: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => usage(),
    }
}

/// Builds a lab, pings from the first host to every other one, tears it down; prints timings.
fn demo(hosts: u8) -> Result<(), netns::LabError> {
    let t = Instant::now();
    let lab = netns::Lab::new("demo")?;
    let t_lab = t.elapsed();
    let t = Instant::now();
    let mut hs = Vec::new();
    for i in 1..=hosts {
        let h = lab.host(&format!("h{i}"))?;
        h.add_addr(&format!("10.0.0.{i}/24"))?;
        h.add_addr(&format!("fd00::{i}/64"))?;
        hs.push(h);
    }
    let t_hosts = t.elapsed();
    let t = Instant::now();
    let mut script = String::from("set -e");
    for i in 2..=hosts {
        script.push_str(&format!(
            "; busybox ping -q -c 1 -W 3 10.0.0.{i} >/dev/null; busybox ping6 -q -c 1 -W 3 fd00::{i} >/dev/null"
        ));
    }
    if let Some(first) = hs.first() {
        first.sh(&script)?;
    }
    let t_ping = t.elapsed();
    let name = lab.name().to_string();
    let t = Instant::now();
    drop(hs);
    drop(lab);
    let t_drop = t.elapsed();
    println!("lab {name}: Lab::new {t_lab:.2?}; {hosts} hosts with v4+v6 addresses {t_hosts:.2?} ({:.2?}/host); v4+v6 ping to {} hosts {t_ping:.2?}; teardown {t_drop:.2?}",
        t_hosts / u32::from(hosts), hosts - 1);
    Ok(())
}
