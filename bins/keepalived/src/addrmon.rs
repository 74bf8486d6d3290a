//! `-a`/`--address-monitoring`: keepalived's `LOG_ADDRESS_CHANGES`. The VRRP and checker
//! workers log every address the kernel reports, the ones present at their start first:
//!
//! * VRRP: `Netlink reflector reports IP ADDR added to IF` / `removed from IF`, except the
//!   changes its own requests caused (keepalived skips messages from its command socket);
//! * checker: `Netlink reflector reports IP ADDR added` / `removed`.

use netplat::{AddrWatch, Address, Rtnl};

use crate::info;
use crate::worker::WorkerKind;

fn line(kind: WorkerKind, added: bool, a: &Address, rtnl: &mut Rtnl) -> Option<String> {
    match kind {
        WorkerKind::Vrrp => {
            let ifname = rtnl.link_by_index(a.index).ok().flatten()?.name;
            let what = if added { "added to" } else { "removed from" };
            Some(format!(
                "Netlink reflector reports IP {} {what} {ifname}",
                a.addr
            ))
        }
        WorkerKind::Checker => Some(format!(
            "Netlink reflector reports IP {} {}",
            a.addr,
            if added { "added" } else { "removed" }
        )),
        WorkerKind::Bfd => None,
    }
}

/// Starts reporting (VRRP and checker workers only): the addresses present now, then a thread
/// logging each change.
pub fn start(kind: WorkerKind) {
    if kind == WorkerKind::Bfd {
        return;
    }
    let watch = match AddrWatch::new() {
        Ok(w) => w,
        Err(e) => {
            info!("address monitoring: {e}");
            return;
        }
    };
    let mut rtnl = match Rtnl::new() {
        Ok(r) => r,
        Err(e) => {
            info!("address monitoring: {e}");
            return;
        }
    };
    for a in rtnl.addresses(None).unwrap_or_default() {
        if let Some(l) = line(kind, true, &a, &mut rtnl) {
            info!("{l}");
        }
    }
    let spawned = std::thread::Builder::new()
        .name("addrmon".into())
        .spawn(move || loop {
            let events = match watch.recv() {
                Ok(e) => e,
                Err(e) => {
                    info!("address monitoring stopped: {e}");
                    return;
                }
            };
            let own = if kind == WorkerKind::Vrrp && events.iter().any(|e| e.sender != 0) {
                netplat::own_route_ports()
            } else {
                Vec::new()
            };
            for e in events {
                if e.sender != 0 && own.contains(&e.sender) {
                    continue;
                }
                if let Some(l) = line(kind, e.added, &e.address, &mut rtnl) {
                    info!("{l}");
                }
            }
        });
    if let Err(e) = spawned {
        info!("address monitoring: {e}");
    }
}
