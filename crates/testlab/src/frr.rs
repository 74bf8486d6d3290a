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
    start_bfdd_peers(lab, host, &[(peer, local)], 100, tx_ms)
}

/// Start bfdd on `host` with one single-hop session per `(peer, local)` pair (IPv4 or IPv6),
/// receive `rx_ms`, transmit `tx_ms`, multiplier 3. Returns as [`start_bfdd`].
pub fn start_bfdd_peers(
    lab: &Lab,
    host: &Host,
    peers: &[(&str, &str)],
    rx_ms: u32,
    tx_ms: u32,
) -> Result<(Proc, String), LabError> {
    let mut conf = String::from("bfd\n");
    for (peer, local) in peers {
        conf.push_str(&format!(
            " peer {peer} local-address {local}\n  receive-interval {rx_ms}\n  \
             transmit-interval {tx_ms}\n  detect-multiplier 3\n !\n"
        ));
    }
    conf.push_str("!\n");
    start_bfdd_conf(lab, host, "frr", &conf)
}

/// Start bfdd on `host` with the configuration `conf` (bfdd.conf syntax), its state in the
/// lab directory's subdirectory `sub` (one per bfdd of a lab). Returns as [`start_bfdd`].
pub fn start_bfdd_conf(
    lab: &Lab,
    host: &Host,
    sub: &str,
    conf: &str,
) -> Result<(Proc, String), LabError> {
    let dir = lab.dir().join(sub);
    let io = |op, source| LabError::Io {
        op,
        path: dir.clone(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(|e| io("create", e))?;
    let d = dir.to_string_lossy().into_owned();
    std::fs::write(dir.join("bfdd.conf"), conf).map_err(|e| io("write", e))?;
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
