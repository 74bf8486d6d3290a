//! "The VRRP worker died: remove its VIPs now." The VRRP runtime reports the VIPs it holds
//! through [`crate::worker::ParentLink::held_vips`]; when the worker exits without releasing
//! them (crash, kill -9, KILL after child_wait_time), the parent calls [`remove_vips`] before
//! respawning, so no address stays configured while a backup takes over.

use crate::control::HeldVip;

/// Remove addresses through rtnetlink; returns one line per failure. An address already gone
/// (EADDRNOTAVAIL) or an interface gone (ENODEV) is not a failure.
pub fn remove_vips(vips: &[HeldVip]) -> Vec<String> {
    let mut failures = Vec::new();
    if vips.is_empty() {
        return failures;
    }
    let mut rt = match netplat::Rtnl::new() {
        Ok(r) => r,
        Err(e) => {
            failures.push(format!("rtnetlink socket: {e}"));
            return failures;
        }
    };
    for v in vips {
        let link = match rt.link_by_name(&v.ifname) {
            Ok(Some(l)) => l,
            Ok(None) => continue,
            Err(e) => {
                failures.push(format!("{v}: {e}"));
                continue;
            }
        };
        let spec = netplat::AddressSpec::new(link.index, v.addr, v.prefix_len);
        match rt.del_address(&spec) {
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.errno(),
                    Some(netplat::errno::EADDRNOTAVAIL) | Some(netplat::errno::ENODEV)
                ) => {}
            Err(e) => failures.push(format!("{v}: {e}")),
        }
    }
    failures
}
