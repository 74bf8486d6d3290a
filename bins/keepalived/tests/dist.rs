#![allow(clippy::unwrap_used, clippy::panic)] // test code
//! The shipped unit file and flags file (dist/) fit the binary.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_keepalived");
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

// Proves the unit is Type=notify, reloads with HUP, reads both flag files and runs in the
// foreground (the daemon's sd_notify needs the main pid to stay).
#[test]
fn unit_file_shape() {
    let unit = std::fs::read_to_string(format!("{ROOT}/dist/systemd/keepalived.service")).unwrap();
    for needle in [
        "Type=notify",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "EnvironmentFile=-/etc/default/keepalived",
        "EnvironmentFile=-/etc/sysconfig/keepalived",
        "ExecStart=/usr/sbin/keepalived --dont-fork $DAEMON_ARGS $KEEPALIVED_OPTIONS",
    ] {
        assert!(unit.contains(needle), "{needle} missing");
    }
}

// Proves the example flags file's DAEMON_ARGS are accepted by our command line.
#[test]
fn default_flags_accepted() {
    let script =
        format!(". {ROOT}/dist/default/keepalived; exec {BIN} $DAEMON_ARGS --signum=RELOAD");
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n");
}
