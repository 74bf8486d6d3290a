//! Link state by polling (keepalived's linkbeat: `linkbeat_interfaces`, `linkbeat_use_polling`):
//! the MII status register (`SIOCGMIIPHY`/`SIOCGMIIREG`, BMSR link bit), ethtool's
//! `ETHTOOL_GLINK` (`SIOCETHTOOL`), and the interface flags (`SIOCGIFFLAGS`: `IFF_UP` and
//! `IFF_RUNNING`), each an `ioctl` on a datagram socket, as keepalived's `vrrp_if.c` does.
#![allow(unsafe_code)]

use std::os::fd::{AsRawFd, OwnedFd};

/// How an interface's link is read (keepalived's `LB_MII`, `LB_ETHTOOL`, `LB_IOCTL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkbeatKind {
    /// The MII transceiver's BMSR link-status bit.
    Mii,
    /// `ETHTOOL_GLINK`.
    Ethtool,
    /// The interface flags only.
    Ioctl,
}

impl LinkbeatKind {
    /// keepalived's word for it.
    pub fn name(self) -> &'static str {
        match self {
            LinkbeatKind::Mii => "MII",
            LinkbeatKind::Ethtool => "ETHTOOL",
            LinkbeatKind::Ioctl => "IOCTL",
        }
    }
}

const SIOCGMIIPHY: libc::c_ulong = 0x8947;
const SIOCGMIIREG: libc::c_ulong = 0x8948;
const SIOCETHTOOL: libc::c_ulong = 0x8946;
const ETHTOOL_GLINK: u32 = 0x0000_000a;
/// MII basic mode status register and its link-status bit.
const MII_BMSR: u16 = 0x01;
const BMSR_LSTATUS: u16 = 0x0004;

/// `struct mii_ioctl_data`, kept in the `ifr_ifru` union of an `ifreq`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct MiiData {
    phy_id: u16,
    reg_num: u16,
    val_in: u16,
    val_out: u16,
}

/// `struct ethtool_value`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

/// The polling socket (an `AF_INET` datagram socket, keepalived's `linkbeat_fd`).
#[derive(Debug)]
pub struct Linkbeat {
    fd: OwnedFd,
}

/// An `ifreq` named `ifname` (None: the name does not fit).
fn ifreq(ifname: &str) -> Option<libc::ifreq> {
    let b = ifname.as_bytes();
    if b.is_empty() || b.len() > crate::IFNAME_MAX || b.contains(&0) {
        return None;
    }
    // SAFETY: `ifreq` is plain data; all-zero is a valid value.
    let mut r: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in r.ifr_name.iter_mut().zip(b) {
        *d = *s as libc::c_char;
    }
    Some(r)
}

impl Linkbeat {
    /// Opens the polling socket.
    pub fn new() -> std::io::Result<Linkbeat> {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
        Ok(Linkbeat { fd: s.into() })
    }

    fn ioctl(&self, req: libc::c_ulong, r: &mut libc::ifreq) -> bool {
        // SAFETY: `r` is a valid, initialized `ifreq` living across the call; the requests used
        // here read/write only within it (mii_ioctl_data fits the union) or, for SIOCETHTOOL,
        // through `ifr_data` pointing at a live `EthtoolValue` set by the caller.
        unsafe { libc::ioctl(self.fd.as_raw_fd(), req as _, r as *mut libc::ifreq) >= 0 }
    }

    /// The MII link status of `ifname` (None: no MII support).
    pub fn mii(&self, ifname: &str) -> Option<bool> {
        let mut r = ifreq(ifname)?;
        if !self.ioctl(SIOCGMIIPHY, &mut r) {
            return None;
        }
        let mut d = MiiData::default();
        // SAFETY: the union is at least as large as `MiiData`; read/written as plain bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(
                std::ptr::addr_of!(r.ifr_ifru).cast::<MiiData>(),
                &mut d,
                1,
            );
        }
        d.reg_num = MII_BMSR;
        // SAFETY: as above.
        unsafe {
            std::ptr::copy_nonoverlapping(
                &d,
                std::ptr::addr_of_mut!(r.ifr_ifru).cast::<MiiData>(),
                1,
            );
        }
        if !self.ioctl(SIOCGMIIREG, &mut r) {
            return None;
        }
        // SAFETY: as above.
        unsafe {
            std::ptr::copy_nonoverlapping(
                std::ptr::addr_of!(r.ifr_ifru).cast::<MiiData>(),
                &mut d,
                1,
            );
        }
        Some(d.val_out & BMSR_LSTATUS != 0)
    }

    /// `ETHTOOL_GLINK` of `ifname` (None: not supported).
    pub fn ethtool(&self, ifname: &str) -> Option<bool> {
        let mut r = ifreq(ifname)?;
        let mut v = EthtoolValue {
            cmd: ETHTOOL_GLINK,
            data: 0,
        };
        r.ifr_ifru.ifru_data = std::ptr::addr_of_mut!(v).cast::<libc::c_char>();
        if !self.ioctl(SIOCETHTOOL, &mut r) {
            return None;
        }
        Some(v.data != 0)
    }

    /// `IFF_UP` and `IFF_RUNNING` of `ifname`; a failing call other than ENODEV counts as up
    /// (keepalived's `if_ioctl_flags`).
    pub fn flags_up(&self, ifname: &str) -> bool {
        let Some(mut r) = ifreq(ifname) else {
            return false;
        };
        if !self.ioctl(libc::SIOCGIFFLAGS, &mut r) {
            return std::io::Error::last_os_error().raw_os_error() != Some(libc::ENODEV);
        }
        // SAFETY: SIOCGIFFLAGS filled the union's flags member.
        let f = i32::from(unsafe { r.ifr_ifru.ifru_flags });
        f & libc::IFF_UP != 0 && f & libc::IFF_RUNNING != 0
    }

    /// keepalived's `init_linkbeat_status`: the method that works for `ifname` (the configured
    /// one if it does, else MII, then ETHTOOL, then IOCTL) and whether the link is up.
    pub fn probe(&self, ifname: &str, wanted: Option<LinkbeatKind>) -> (LinkbeatKind, bool) {
        let order: &[LinkbeatKind] = match wanted {
            Some(LinkbeatKind::Ethtool) => &[LinkbeatKind::Ethtool, LinkbeatKind::Mii],
            Some(LinkbeatKind::Ioctl) => &[],
            _ => &[LinkbeatKind::Mii, LinkbeatKind::Ethtool],
        };
        for k in order {
            if let Some(up) = self.read(ifname, *k) {
                return (*k, up);
            }
        }
        (LinkbeatKind::Ioctl, self.flags_up(ifname))
    }

    /// The link of `ifname` read with `kind`, then (if up) its flags (None: `kind` does not
    /// work on it).
    pub fn read(&self, ifname: &str, kind: LinkbeatKind) -> Option<bool> {
        let up = match kind {
            LinkbeatKind::Mii => self.mii(ifname)?,
            LinkbeatKind::Ethtool => self.ethtool(ifname)?,
            LinkbeatKind::Ioctl => true,
        };
        Some(up && self.flags_up(ifname))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_up_by_flags_and_names_are_checked() {
        let lb = Linkbeat::new().expect("socket");
        assert!(lb.flags_up("lo"));
        assert!(!lb.flags_up("no-such-if-krs"));
        assert!(!lb.flags_up(""));
        assert!(!lb.flags_up("a-name-much-too-long-for-linux"));
        assert_eq!(lb.mii("lo"), None);
    }
}
