//! `krs-vm`: run a command inside the IPVS-capable test VM (see `testlab::vm` for how it works).
//!
//! ```text
//! krs-vm check                                   # prerequisites, with what to install
//! krs-vm prepare                                 # build/cache the kernel + initramfs only
//! krs-vm bench [N]                               # boot N times (default 3), print boot times
//! krs-vm run [--timeout SECS] [--share DIR] [--console] [--mem MIB] -- CMD ARGS...
//! ```
//! `run` streams the command's stdout/stderr, prints the boot time on stderr and exits with the
//! command's exit code (2 if the VM could not be prepared or booted, 124 on timeout).
use std::process::ExitCode;
use std::time::Duration;

use testlab::vm::{self, VmError, VmOpts};

const USAGE: &str = "usage: krs-vm check | prepare | bench [N] | run [--timeout SECS] [--share DIR] [--console] [--mem MIB] -- CMD ARGS...";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("check") => check(),
        Some("prepare") => prepare(),
        Some("run") => run(&args[1..]),
        Some("bench") => bench(args.get(1).map(String::as_str)),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn check() -> ExitCode {
    let mut ok = true;
    for c in vm::check() {
        println!(
            "{:<28} {:<4} {}",
            c.what,
            if c.ok { "ok" } else { "FAIL" },
            c.detail
        );
        ok &= c.ok;
    }
    println!("cache: {}", vm::vm_dir().display());
    if ok {
        ExitCode::SUCCESS
    } else {
        eprintln!("krs-vm: prerequisites missing (see FAIL lines)");
        ExitCode::from(2)
    }
}

fn prepare() -> ExitCode {
    match vm::prepare() {
        Ok(a) => {
            println!("kernel    {} {} ({})", a.package, a.version, a.kver);
            println!(
                "kernel    {} (boots; bzImage {})",
                a.kernel.display(),
                a.bzimage.display()
            );
            println!("initramfs {}", a.initramfs.display());
            println!("modules   {} ({})", a.modules.len(), a.modules.join(" "));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("krs-vm: prepare failed: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> ExitCode {
    let mut opts = VmOpts {
        stream: true,
        ..Default::default()
    };
    let mut i = 0;
    let mut cmd: Vec<String> = Vec::new();
    while i < args.len() {
        let a = args[i].as_str();
        let val = args.get(i + 1);
        match (a, val) {
            ("--", _) => {
                cmd = args[i + 1..].to_vec();
                break;
            }
            ("--timeout", Some(v)) => match v.parse::<u64>() {
                Ok(s) => opts.timeout = Duration::from_secs(s),
                Err(_) => return usage_err(&format!("bad --timeout {v}")),
            },
            ("--mem", Some(v)) => match v.parse::<u32>() {
                Ok(m) => opts.memory_mib = m,
                Err(_) => return usage_err(&format!("bad --mem {v}")),
            },
            ("--share", Some(v)) => opts.share = Some(v.into()),
            ("--console", _) => {
                opts.show_console = true;
                i += 1;
                continue;
            }
            _ if !a.starts_with('-') => {
                cmd = args[i..].to_vec();
                break;
            }
            _ => return usage_err(&format!("unknown or incomplete option {a}")),
        }
        i += 2;
    }
    if cmd.is_empty() {
        return usage_err("no command given");
    }
    match vm::run_in_vm(&opts, &cmd) {
        Ok(out) => {
            eprintln!(
                "krs-vm: exit code {} (boot {:.1} s, total {:.1} s, share {})",
                out.exit_code,
                out.boot_time.as_secs_f64(),
                out.total_time.as_secs_f64(),
                out.share.display()
            );
            ExitCode::from(u8::try_from(out.exit_code).unwrap_or(1))
        }
        Err(e @ VmError::Timeout { .. }) => {
            eprintln!("krs-vm: {e}");
            ExitCode::from(124)
        }
        Err(e) => {
            eprintln!("krs-vm: {e}");
            ExitCode::from(2)
        }
    }
}

/// Boots the VM `n` times running `true`, one after another, and prints the boot figures together
/// with the host's load average (TCG boot time scales with the CPU left over).
fn bench(n: Option<&str>) -> ExitCode {
    let n: usize = match n.map(str::parse).unwrap_or(Ok(3)) {
        Ok(n) if n > 0 => n,
        _ => return usage_err("bench takes a positive count"),
    };
    let mut boots = Vec::new();
    for i in 0..n {
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        match vm::run_in_vm(&VmOpts::default(), &["true"]) {
            Ok(out) => {
                println!(
                    "boot {}: ready after {:.2} s, qemu exited after {:.2} s (load {})",
                    i + 1,
                    out.boot_time.as_secs_f64(),
                    out.total_time.as_secs_f64(),
                    load.split_whitespace()
                        .take(3)
                        .collect::<Vec<_>>()
                        .join(" ")
                );
                boots.push(out.boot_time.as_secs_f64());
            }
            Err(e) => {
                eprintln!("krs-vm: boot {} failed: {e}", i + 1);
                return ExitCode::from(2);
            }
        }
    }
    boots.sort_by(f64::total_cmp);
    println!(
        "boot time over {n} boots: min {:.2} s, median {:.2} s, max {:.2} s",
        boots[0],
        boots[boots.len() / 2],
        boots[boots.len() - 1]
    );
    ExitCode::SUCCESS
}

fn usage_err(msg: &str) -> ExitCode {
    eprintln!("krs-vm: {msg}\n{USAGE}");
    ExitCode::from(2)
}
