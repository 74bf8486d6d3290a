//! The old IPVS socket-option interface, used for one number only: how many IPv4 services the
//! namespace has (`IP_VS_SO_GET_INFO`, read under the kernel's IPVS mutex, so exact). Multi-part
//! netlink service dumps are checked against it (see `Handle::services`). Kernels count only
//! IPv4 services there ("for old get/setsockopt interface"), so IPv6 ones cannot be checked.
//!
//! Any AF_INET socket reaches the IPVS sockopts (`ip_getsockopt` → `nf_getsockopt`); a UDP
//! socket needs no CAP_NET_RAW. The call itself needs CAP_NET_ADMIN, like every IPVS request.
//! nix's `sockopt_impl!` does the FFI, so this module has no `unsafe`.

use std::os::fd::OwnedFd;

/// `IP_VS_BASE_CTL` from `linux/ip_vs.h`.
const IP_VS_BASE_CTL: libc::c_int = 64 + 1024 + 64;
/// `IP_VS_SO_GET_INFO`.
const IP_VS_SO_GET_INFO: libc::c_int = IP_VS_BASE_CTL + 1;

/// `struct ip_vs_getinfo`. The kernel copies exactly this size and leaves the length as given,
/// which is what nix's struct getter expects.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IpVsGetInfo {
    pub version: libc::c_uint,
    pub size: libc::c_uint,
    pub num_services: libc::c_uint,
}

use nix::{getsockopt_impl, sockopt_impl};
sockopt_impl!(
    GetInfo,
    GetOnly,
    libc::IPPROTO_IP,
    IP_VS_SO_GET_INFO,
    IpVsGetInfo
);

/// A socket for the sockopt interface, in the caller's current network namespace; `None` when
/// one cannot be made (the count check is then skipped).
pub(crate) fn info_socket() -> Option<OwnedFd> {
    use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
    socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .ok()
}

/// Number of IPv4 services in the socket's namespace, or `None` if the kernel refused.
pub(crate) fn ipv4_services(fd: &OwnedFd) -> Option<u32> {
    nix::sys::socket::getsockopt(fd, GetInfo)
        .ok()
        .map(|i| i.num_services)
}
