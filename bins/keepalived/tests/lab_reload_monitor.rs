//! keepalived's scheduled reload (`reload_time_file`, `reload_repeat`) side by side with the
//! reference keepalived 2.2.7 (issue #24): the two daemons run at once in two namespaces of one
//! lab, each with the file in its own directory; the same times are written into both files.
//!
//! Run as root: `cargo test -p keepalived --test lab_reload_monitor -- --ignored --nocapture`.

#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{Local, TimeZone};
use nix::sys::signal::Signal;
use testlab::netns::{wait_until, Host, Lab, Proc};

mod common;
use common::start_lab as start;

const BIN: &str = env!("CARGO_BIN_EXE_keepalived");
const REFERENCE: &str = "/usr/sbin/keepalived";
const VIP_A: &str = "10.0.0.100";
const VIP_B: &str = "10.0.0.101";

/// The messages of the reload monitor (and the reload itself), from their first word on.
const MARKS: &[&str] = &[
    "Scheduling reload",
    "Reload time",
    "Reload date/time",
    "Invalid reload time",
    "Cancelling reload",
    "Reloading ...",
    "Directory of reload",
    "Unable to monitor reload",
];

fn conf(file: &Path, repeat: bool, vip: &str) -> String {
    format!(
        "global_defs {{\n  router_id lab\n  reload_time_file {}\n{}}}\n\
         vrrp_instance VI_1 {{\n  state MASTER\n  interface eth0\n  virtual_router_id 51\n  \
         priority 100\n  advert_int 1\n  virtual_ipaddress {{\n    {vip}/24\n  }}\n}}\n",
        file.display(),
        if repeat { "  reload_repeat\n" } else { "" }
    )
}

fn has(host: &Host, vip: &str) -> bool {
    host.ip(&["-4", "-o", "addr", "show", "dev", "eth0"])
        .map(|s| s.contains(&format!("{vip}/24")))
        .unwrap_or(false)
}

fn wall() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn monitor_lines(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| {
            MARKS
                .iter()
                .filter_map(|m| l.find(m))
                .min()
                .map(|i| l[i..].trim_end().to_string())
        })
        .collect()
}

fn local_fmt(t: i64, fmt: &str) -> String {
    Local
        .timestamp_opt(t, 0)
        .earliest()
        .unwrap()
        .format(fmt)
        .to_string()
}

struct Side {
    name: &'static str,
    host: Host,
    dir: PathBuf,
    file: PathBuf,
    proc: Proc,
}

impl Side {
    fn lines(&self) -> Vec<String> {
        monitor_lines(&self.proc.output_so_far())
    }
}

/// One case: both daemons started with VIP_A, the configuration edited to VIP_B, `steps`
/// written into the file (each followed by a short pause), then `time` (`fmt` of now + 3 s).
/// Returns per side: the wall time VIP_B appeared minus the scheduled time, whether the file
/// is left afterwards, and the monitor's log lines.
fn case(
    lab: &Lab,
    tag: &str,
    repeat: bool,
    fmt: &str,
    steps: &[Option<&str>],
) -> Vec<(f64, bool, Vec<String>)> {
    let mut sides = Vec::new();
    for (name, prog) in [("ref", REFERENCE), ("ours", BIN)] {
        let hname = format!("{tag}{name}");
        let host = lab.host(&hname).expect("host");
        host.add_addr("10.0.0.1/24").expect("addr");
        let dir = lab.dir().join(&hname);
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("reload_time");
        std::fs::write(dir.join("keepalived.conf"), conf(&file, repeat, VIP_A)).expect("conf");
        let proc = start(&host, &dir, prog);
        sides.push(Side {
            name,
            host,
            dir,
            file,
            proc,
        });
    }
    for s in &sides {
        if wait_until(Duration::from_secs(15), || has(&s.host, VIP_A)).is_err() {
            panic!("{}: no VIP\n{}", s.name, s.proc.output_so_far());
        }
        std::fs::write(s.dir.join("keepalived.conf"), conf(&s.file, repeat, VIP_B)).expect("conf");
    }
    for step in steps {
        for s in &sides {
            match step {
                Some(text) => std::fs::write(&s.file, text).expect("write"),
                None => std::fs::remove_file(&s.file).expect("rm"),
            }
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    // A time 3 s ahead (whole seconds), written into both files at once.
    let at = (wall() as i64) + 3;
    let text = format!("{}\n", local_fmt(at, fmt));
    for s in &sides {
        std::fs::write(&s.file, &text).expect("write");
    }
    let mut seen = vec![None; sides.len()];
    let _ = wait_until(Duration::from_secs(8), || {
        for (i, s) in sides.iter().enumerate() {
            if seen[i].is_none() && has(&s.host, VIP_B) {
                seen[i] = Some(wall());
            }
        }
        seen.iter().all(Option::is_some)
    });
    // The lines after the reload (the next day's schedule with reload_repeat).
    std::thread::sleep(Duration::from_millis(1500));
    let mut out = Vec::new();
    for (i, s) in sides.iter().enumerate() {
        let lines = s.lines();
        let left = s.file.exists();
        eprintln!(
            "{tag} {}: VIP_B at {:?} s after the scheduled time, file left {left}\n  {}",
            s.name,
            seen[i].map(|t| t - at as f64),
            lines.join("\n  ")
        );
        let Some(t) = seen[i] else {
            panic!("{tag} {}: no reload\n{}", s.name, s.proc.output_so_far());
        };
        out.push((t - at as f64, left, lines));
    }
    for s in &sides {
        s.proc.signal(Signal::SIGTERM).expect("term");
        let _ = s.proc.wait_timeout(Duration::from_secs(15));
    }
    // The scheduled time and the next day's, as both daemons log them.
    let sched = local_fmt(at, "%Y-%m-%d %H:%M:%S");
    for (_, _, lines) in &out {
        assert!(
            lines.contains(&format!("Scheduling reload for {sched}")),
            "{tag}: {lines:?}"
        );
        assert!(
            lines.contains(&"Reloading ...".to_string()),
            "{tag}: {lines:?}"
        );
    }
    out
}

fn compare(tag: &str, r: &[(f64, bool, Vec<String>)]) {
    let (theirs, ours) = (&r[0], &r[1]);
    // Both reload at the scheduled second (no earlier; within a second after it), within a
    // second of each other.
    for (who, (d, _, _)) in [("ref", theirs), ("ours", ours)] {
        assert!(
            (-0.05..1.0).contains(d),
            "{tag} {who}: reload {d} s after the time"
        );
    }
    assert!(
        (theirs.0 - ours.0).abs() <= 1.0,
        "{tag}: {} vs {}",
        theirs.0,
        ours.0
    );
    assert_eq!(ours.1, theirs.1, "{tag}: file left afterwards");
    assert_eq!(ours.2, theirs.2, "{tag}: log lines");
}

// Proves reload_time_file as in keepalived 2.2.7: invalid contents (bad format, impossible
// time, a date in the past) are logged with keepalived's lines and schedule nothing; a
// scheduled reload is cancelled when the file is removed ("Cancelling reload scheduled for …");
// a time of day written ~3 s ahead reloads the daemon at that second (the edited VIP appears
// within the second after it, within 1 s of the reference), and the file is removed.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_reload_time_file_as_reference() {
    let lab = Lab::new("rtime").expect("lab");
    let later = local_fmt(wall() as i64 + 600, "%H:%M:%S");
    let steps = [
        Some("1:2:3\n".to_string()),
        Some("25:00:00\n".to_string()),
        Some("2026-02-30 10:00:00\n".to_string()),
        Some("2020-01-01 10:00:00\n".to_string()),
        Some(format!("{later}\n")),
        None,
    ];
    let steps: Vec<Option<&str>> = steps.iter().map(|s| s.as_deref()).collect();
    let r = case(&lab, "a", false, "%H:%M:%S", &steps);
    compare("time", &r);
    let theirs = &r[0];
    assert!(!theirs.1, "the reference removes the file");
    for l in [
        "Reload time 1:2:3 format is incorrect - ignoring",
        "Invalid reload time '1:2:3' specified - ignoring",
        "Reload date/time 25:00:00 invalid - ignoring",
        "Reload time 2026-02-30 10:00:00 is not valid - ignoring",
        "Reload time 2020-01-01 10:00:00 is in the past - ignoring",
        "Reload date/time is in the past - ignoring",
    ] {
        assert!(theirs.2.iter().any(|x| x == l), "{l}: {:?}", theirs.2);
    }
    assert!(
        theirs
            .2
            .iter()
            .any(|x| x.starts_with("Cancelling reload scheduled for ")),
        "{:?}",
        theirs.2
    );
}

// Proves reload_repeat as in keepalived 2.2.7: with a time of day the file stays after the
// reload and the reload after it schedules the same time the next day; with a full date the
// file is removed. Reload at the written second, same lines, same file left, as the reference.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_reload_repeat_as_reference() {
    let lab = Lab::new("rrept").expect("lab");
    let r = case(&lab, "t", true, "%H:%M:%S", &[]);
    compare("repeat time", &r);
    assert!(r[0].1, "the reference keeps the file with reload_repeat");
    assert!(
        r[0].2
            .iter()
            .filter(|l| l.starts_with("Scheduling reload for "))
            .count()
            == 2,
        "{:?}",
        r[0].2
    );
    let r = case(&lab, "d", true, "%Y-%m-%d %H:%M:%S", &[]);
    compare("repeat date", &r);
    assert!(
        !r[0].1,
        "the reference removes a dated file even with reload_repeat"
    );
    let r = case(&lab, "y", true, "%y-%m-%d %H:%M:%S", &[]);
    compare("repeat short date", &r);
}
