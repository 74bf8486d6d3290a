//! FRR's `bfdd` as a BFD peer on a lab host (Debian package `frr`), for the BFD lab tests.

use crate::netns::{Host, Lab, LabError, Proc};

/// Where Debian installs bfdd.
pub const BFDD: &str = "/usr/lib/frr/bfdd";

/// Start bfdd on `host` with one single-hop session to `peer` from `local` (receive 100 ms,
/// transmit `tx_ms`, multiplier 3), its state under the lab's directory. Returns the process
/// and that directory (also bfdd's vty socket directory, for `vtysh --vty_socket`).
pub fn start_bfdd(
    lab: &Lab,
    host: &Host,
    peer: &str,
    local: &str,
    tx_ms: u32,
) -> Result<(Proc, String), LabError> {
    let dir = lab.dir().join("frr");
    let io = |op, source| LabError::Io {
        op,
        path: dir.clone(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(|e| io("create", e))?;
    let d = dir.to_string_lossy().into_owned();
    std::fs::write(
        dir.join("bfdd.conf"),
        format!(
            "bfd\n peer {peer} local-address {local}\n  receive-interval 100\n  \
             transmit-interval {tx_ms}\n  detect-multiplier 3\n !\n!\n"
        ),
    )
    .map_err(|e| io("write", e))?;
    host.run_ok(&["chown", "-R", "frr:frr", &d])?;
    host.run_ok(&["chmod", "755", &lab.dir().to_string_lossy()])?;
    let p = host.spawn(&[
        BFDD,
        "-u",
        "frr",
        "-g",
        "frr",
        "-f",
        &format!("{d}/bfdd.conf"),
        "-i",
        &format!("{d}/bfdd.pid"),
        "-z",
        &format!("{d}/zserv.api"),
        "--bfdctl",
        &format!("{d}/bfdd.sock"),
        "--vty_socket",
        &d,
    ])?;
    Ok((p, d))
}
