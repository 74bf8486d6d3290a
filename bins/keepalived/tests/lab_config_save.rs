//! `config_save_dir` side by side with the reference keepalived 2.2.7 (issue #24): the files
//! the parent and the VRRP worker save at the start and at each reload, their names, modes and
//! (for the parent's consolidated copy) contents.
//!
//! Run as root: `cargo test -p keepalived --test lab_config_save -- --ignored --nocapture`.

#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use nix::sys::signal::Signal;
use testlab::netns::{wait_until, Host, Lab};

mod common;
use common::start_lab as start;

const BIN: &str = env!("CARGO_BIN_EXE_keepalived");
const REFERENCE: &str = "/usr/sbin/keepalived";
const VIP: &str = "10.0.0.100";

fn has_vip(host: &Host) -> bool {
    host.ip(&["-4", "-o", "addr", "show", "dev", "eth0"])
        .map(|s| s.contains(&format!("{VIP}/24")))
        .unwrap_or(false)
}

fn pid(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// What one daemon left in its save directory after the start and two reloads: the directory's
/// mode, and per file (the pids replaced by PARENT / VRRP) its mode and, for the parent's copies,
/// its contents (the lab directory replaced by DIR); the workers' dumps by their size > 0.
fn run(lab: &Lab, name: &str, prog: &str) -> (u32, BTreeMap<String, (u32, String)>) {
    let host = lab.host(name).expect("host");
    host.add_addr("10.0.0.1/24").expect("addr");
    let dir = lab.dir().join(name);
    std::fs::create_dir_all(dir.join("inc")).expect("dir");
    let save = dir.join("save");
    std::fs::write(
        dir.join("keepalived.conf"),
        format!(
            "! a comment\n# another\nglobal_defs {{\n   router_id   lab   # trailing\n   \
             config_save_dir {}/\n\n   script_user root\n}}\n\ninclude inc/*.conf\n\
             include {}/abs.conf\n",
            save.display(),
            dir.display()
        ),
    )
    .expect("conf");
    std::fs::write(
        dir.join("inc/1.conf"),
        format!(
            "vrrp_instance VI_1 {{\n\tstate MASTER\n    interface eth0 ! bang comment\n    \
             virtual_router_id 51\n    priority 100\n    advert_int 1\n    \
             virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n"
        ),
    )
    .expect("inc");
    std::fs::write(dir.join("inc/2.conf"), "\n   \n# only comments\r\n").expect("inc");
    std::fs::write(
        dir.join("abs.conf"),
        "vrrp_script chk {\n  script \"/bin/echo a # b\"\n  interval 5\n}\n",
    )
    .expect("abs");
    let proc = start(&host, &dir, prog);
    if wait_until(Duration::from_secs(15), || has_vip(&host)).is_err() {
        panic!("{prog}: no VIP\n{}", proc.output_so_far());
    }
    let parent = pid(&dir.join("k.pid"));
    let vrrp = pid(&dir.join("v.pid"));
    for n in 1..=2 {
        proc.signal(Signal::SIGHUP).expect("hup");
        let post = save.join(format!("keepalived_vrrp.{vrrp}.{n}.post"));
        if wait_until(Duration::from_secs(10), || post.exists()).is_err() {
            panic!(
                "{prog}: no {}\n{:?}\n{}",
                post.display(),
                std::fs::read_dir(&save)
                    .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>()),
                proc.output_so_far()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    proc.signal(Signal::SIGTERM).expect("term");
    let _ = proc.wait_timeout(Duration::from_secs(15));
    let dir_mode = std::fs::metadata(&save)
        .expect("save dir")
        .permissions()
        .mode()
        & 0o7777;
    let mut files = BTreeMap::new();
    for e in std::fs::read_dir(&save).expect("read save dir").flatten() {
        let fname = e.file_name().to_string_lossy().to_string();
        let key = fname
            .replace(&format!(".{parent}."), ".PARENT.")
            .replace(&format!(".{vrrp}."), ".VRRP.");
        let mode = e.metadata().expect("meta").permissions().mode() & 0o7777;
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        let shown = if key.starts_with("keepalived.conf.") {
            text.replace(&dir.display().to_string(), "DIR")
        } else {
            format!("non-empty: {}", !text.is_empty())
        };
        files.insert(key, (mode, shown));
    }
    eprintln!("{prog}: save dir mode {dir_mode:o}");
    for (k, (m, t)) in &files {
        eprintln!("  {k} {m:o}\n{t}");
    }
    (dir_mode, files)
}

// Proves config_save_dir as in keepalived 2.2.7: the parent creates the missing directory
// (0700 less the default umask 0177: 0600) and saves the consolidated configuration it read at
// the start and at each of two reloads as keepalived.conf.PID.0/1/2 (same contents as the
// reference: blank and comment lines empty, leading/trailing blanks and comments stripped
// outside quotes, include lines empty, `# FILE` / `!` around each file, relative glob matches
// named as written); the VRRP worker dumps its data before and after each reload as
// keepalived_vrrp.PID.N.pre/.post (N = 1, 2); every file 0600.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_config_save_dir_as_reference() {
    let lab = Lab::new("cfsave").expect("lab");
    let theirs = run(&lab, "ref", REFERENCE);
    let ours = run(&lab, "ours", BIN);
    assert_eq!(theirs.0, 0o600, "reference directory mode");
    assert_eq!(ours.0, theirs.0, "directory mode");
    let names: Vec<&String> = theirs.1.keys().collect();
    assert_eq!(
        names,
        [
            "keepalived.conf.PARENT.0",
            "keepalived.conf.PARENT.1",
            "keepalived.conf.PARENT.2",
            "keepalived_vrrp.VRRP.1.post",
            "keepalived_vrrp.VRRP.1.pre",
            "keepalived_vrrp.VRRP.2.post",
            "keepalived_vrrp.VRRP.2.pre",
        ]
    );
    assert_eq!(ours.1, theirs.1);
}

/// The parent's open unnamed file in `tmp` (`/proc/PID/fd` link `TMP/#INODE (deleted)`) and its
/// contents.
fn tmp_copy(parent: &str, tmp: &Path) -> Option<String> {
    let fds = std::fs::read_dir(format!("/proc/{parent}/fd")).ok()?;
    for fd in fds.flatten() {
        let Ok(target) = std::fs::read_link(fd.path()) else {
            continue;
        };
        let t = target.display().to_string();
        if t.starts_with(&format!("{}/#", tmp.display())) && t.ends_with(" (deleted)") {
            return std::fs::read_to_string(fd.path()).ok();
        }
    }
    None
}

fn vips(host: &Host) -> String {
    host.ip(&["-4", "-o", "addr", "show", "dev", "eth0"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(3).map(str::to_string))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One daemon with `tmp_config_directory`: the copy in it after the start (DIR for the lab
/// directory), then a reload that changes the directory and the VIP: the log line and the
/// addresses after it; then a daemon whose directory does not exist: its log line.
fn tmp_run(lab: &Lab, name: &str, prog: &str) -> (Option<String>, bool, String, bool) {
    let host = lab.host(name).expect("host");
    host.add_addr("10.0.0.1/24").expect("addr");
    let dir = lab.dir().join(name);
    let tmp = dir.join("tmpcfg");
    std::fs::create_dir_all(&tmp).expect("dir");
    let conf = |tmpdir: &Path, vip: &str| {
        format!(
            "global_defs {{\n   router_id lab   ! here\n   tmp_config_directory {}\n}}\n\
             include {}/vrrp.conf\n\
             vrrp_instance VI_1 {{\n  state MASTER\n  interface eth0\n  virtual_router_id 51\n  \
             priority 100\n  advert_int 1\n  virtual_ipaddress {{\n    {vip}/24\n  }}\n}}\n",
            tmpdir.display(),
            dir.display()
        )
    };
    std::fs::write(
        dir.join("vrrp.conf"),
        "  # nothing but\n\tvrrp_garp_master_delay 2\n",
    )
    .expect("inc");
    std::fs::write(dir.join("keepalived.conf"), conf(&tmp, VIP)).expect("conf");
    let proc = start(&host, &dir, prog);
    if wait_until(Duration::from_secs(15), || has_vip(&host)).is_err() {
        panic!("{prog}: no VIP\n{}", proc.output_so_far());
    }
    let parent = pid(&dir.join("k.pid"));
    let copy = tmp_copy(&parent, &tmp).map(|t| t.replace(&dir.display().to_string(), "DIR"));
    std::fs::write(
        dir.join("keepalived.conf"),
        conf(&dir.join("other"), "10.0.0.101"),
    )
    .expect("conf");
    proc.signal(Signal::SIGHUP).expect("hup");
    let line = "Cannot change config_directory at a reload - please restart keepalived";
    let refused = wait_until(Duration::from_secs(5), || {
        proc.output_so_far().contains(line)
    })
    .is_ok();
    std::thread::sleep(Duration::from_secs(2));
    let after = vips(&host);
    proc.signal(Signal::SIGTERM).expect("term");
    let _ = proc.wait_timeout(Duration::from_secs(15));
    // A directory that does not exist.
    let missing = dir.join("missing");
    std::fs::write(dir.join("keepalived.conf"), conf(&missing, VIP)).expect("conf");
    let proc = start(&host, &dir, prog);
    let err = format!(
        "Cannot open config directory {} for writing, errno 2 - No such file or directory",
        missing.display()
    );
    let logged = wait_until(Duration::from_secs(10), || {
        proc.output_so_far().contains(&err)
    })
    .is_ok();
    proc.signal(Signal::SIGTERM).expect("term");
    let _ = proc.wait_timeout(Duration::from_secs(15));
    eprintln!("{prog}: copy {copy:?}\nrefused {refused}, addresses after {after}, missing dir logged {logged}");
    (copy, refused, after, logged)
}

// Proves tmp_config_directory as in keepalived 2.2.7: the parent keeps the consolidated copy
// of the configuration as an unnamed file in that directory (/proc/PID/fd: DIR/#INODE
// (deleted)), with the same contents as the reference's; a reload that changes the directory
// is refused ("Cannot change config_directory at a reload - please restart keepalived", the
// VIP edited with it is not applied); a directory that does not exist is logged as keepalived
// does ("Cannot open config directory … errno 2 - …").
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_tmp_config_directory_as_reference() {
    let lab = Lab::new("tmpcfg").expect("lab");
    let theirs = tmp_run(&lab, "ref", REFERENCE);
    let ours = tmp_run(&lab, "ours", BIN);
    assert!(
        theirs
            .0
            .as_deref()
            .is_some_and(|t| t.starts_with("# DIR/keepalived.conf\n")),
        "{theirs:?}"
    );
    assert!(theirs.1 && theirs.3, "{theirs:?}");
    assert_eq!(theirs.2, "10.0.0.1/24 10.0.0.100/24");
    assert_eq!(ours, theirs);
}
