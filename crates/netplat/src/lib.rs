//! Platform layer shared by the binaries: rtnetlink addresses/links/routes and
//! network-namespace switching.
//!
//! Everything here is synchronous and talks to the kernel through one blocking
//! `NETLINK_ROUTE` socket ([`Rtnl`]). The API is deliberately small and typed:
//!
//! * links: [`Rtnl::links`], [`Rtnl::link_by_name`], [`Rtnl::link_by_index`],
//!   [`Rtnl::set_link_up`], [`Rtnl::add_ipip`], [`Rtnl::add_macvlan`], [`Rtnl::del_link`];
//! * addresses: [`Rtnl::addresses`], [`Rtnl::add_address`], [`Rtnl::replace_address`],
//!   [`Rtnl::del_address`] with an [`AddressSpec`] (label, scope, broadcast, prefix,
//!   lifetimes, `nodad`/`noprefixroute`/... flags);
//! * routes: [`Rtnl::add_route`], [`Rtnl::del_route`], [`Rtnl::routes`] with a [`RouteSpec`];
//! * rules: [`Rtnl::add_rule`], [`Rtnl::del_rule`] with a [`RuleSpec`];
//! * link events: [`LinkWatch`] (a socket in the link multicast group, for event-driven
//!   link tracking instead of polling);
//! * nftables: [`nft::Nft`] commits [`nft::Batch`]es of tables, chains, sets, elements and
//!   rules over `NETLINK_NETFILTER` (the VIP firewall of `vrrp_strict`/`no_accept`);
//! * ipset: [`ipset::Ipset`] creates/destroys sets and adds/deletes addresses over
//!   `NFNL_SUBSYS_IPSET` (the iptables backend of that firewall, `vrrp_iptables`/`vrrp_ipsets`);
//! * namespaces: [`netns::in_netns`] runs a closure on a helper thread that has joined
//!   another network namespace (the calling thread is never moved).
//!
//! Kernel refusals come back as [`Error::Kernel`] carrying the operation and the errno
//! ([`Error::errno`] lets callers test for `EEXIST`, `EADDRNOTAVAIL`, `EPERM`, ...).
//!
//! `netlink-sys` and `nix` wrap most system calls; the only `unsafe` is in `packet` (a
//! `sockaddr_ll` bind), `mem` (idle memory housekeeping: `mallopt`, `malloc_trim`,
//! `madvise` of the executable's read-only pages, see [`mem::release_startup_memory`]) and
//! `caps` (capget/capset and the `prctl`s that narrow a thread's capabilities, see
//! [`caps::restrict`]) and `linkbeat` (the MII/ethtool/flags `ioctl`s of link polling, see
//! [`linkbeat::Linkbeat`]) and `poll` (epoll, eventfd and `recvmmsg`: one thread waiting on
//! many sockets, see [`poll::Poller`] and [`poll::RecvBatch`]).

mod addr;
pub mod caps;
mod datagram;
mod error;
pub mod ipset;
mod link;
pub mod linkbeat;
pub mod mem;
pub mod netns;
pub mod nft;
mod packet;
pub mod poll;
pub mod process;
mod route;
mod rtnl;
mod rule;
mod watch;

pub use addr::{own_route_ports, AddrEvent, AddrFlags, AddrWatch, Address, AddressSpec, Scope};
pub use error::{Error, LinkRef};
pub use link::{Link, MacvlanMode};
pub use packet::PacketSocket;
pub use route::{Route, RouteKind, RouteSpec, RT_TABLE_LOCAL, RT_TABLE_MAIN};
pub use rtnl::{Prepared, Rtnl};
pub use rule::{RuleKind, RuleSpec};
pub use watch::LinkWatch;

/// Sets a socket's receive buffer as keepalived's `*_rcv_bufs` keywords do: `SO_RCVBUF` (capped
/// by `net.core.rmem_max`) or, with `force`, `SO_RCVBUFFORCE` (needs CAP_NET_ADMIN). The kernel
/// doubles the value for its bookkeeping, as `ss -m` shows (`rb`).
pub fn set_receive_buffer(fd: &impl std::os::fd::AsFd, size: u32, force: bool) -> Result<()> {
    let size = size as usize;
    let r = if force {
        nix::sys::socket::setsockopt(fd, nix::sys::socket::sockopt::RcvBufForce, &size)
    } else {
        nix::sys::socket::setsockopt(fd, nix::sys::socket::sockopt::RcvBuf, &size)
    };
    r.map_err(|e| {
        Error::io(
            if force {
                "set SO_RCVBUFFORCE"
            } else {
                "set SO_RCVBUF"
            },
            e.into(),
        )
    })
}

/// Convenience alias for this crate's results.
pub type Result<T> = std::result::Result<T, Error>;

/// Maximum length of a Linux interface name or IPv4 address label (IFNAMSIZ - 1).
pub const IFNAME_MAX: usize = 15;

/// Errno values callers commonly test for (re-exported from libc for convenience).
pub mod errno {
    /// The object already exists (address, route, link).
    pub const EEXIST: i32 = libc::EEXIST;
    /// No such address (deleting an address that is not there).
    pub const EADDRNOTAVAIL: i32 = libc::EADDRNOTAVAIL;
    /// No such device / route.
    pub const ENODEV: i32 = libc::ENODEV;
    /// No such object (route delete).
    pub const ESRCH: i32 = libc::ESRCH;
    /// No such entry (rule delete).
    pub const ENOENT: i32 = libc::ENOENT;
    /// Operation not permitted (missing CAP_NET_ADMIN).
    pub const EPERM: i32 = libc::EPERM;
    /// Permission denied.
    pub const EACCES: i32 = libc::EACCES;
    /// Invalid argument.
    pub const EINVAL: i32 = libc::EINVAL;
    /// Operation not supported (e.g. link kind whose module is missing).
    pub const EOPNOTSUPP: i32 = libc::EOPNOTSUPP;
}
