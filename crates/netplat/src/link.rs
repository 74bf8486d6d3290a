//! Links: lookup, up/down, ipip and macvlan creation, deletion.

use std::net::Ipv4Addr;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::{
    link::{
        InfoData, InfoIpTunnel, InfoKind, InfoMacVlan, InfoVrf, LinkAttribute, LinkFlags, LinkInfo,
        LinkMessage, MacVlanMode,
    },
    RouteNetlinkMessage,
};

use crate::{error::LinkRef, Error, Result, Rtnl, IFNAME_MAX};

/// A network interface as reported by `RTM_GETLINK`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Link {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
    /// Lower layer up (`IFF_LOWER_UP`, carrier).
    pub lower_up: bool,
    /// Loopback device (`IFF_LOOPBACK`).
    pub loopback: bool,
    /// Does not use ARP (`IFF_NOARP`).
    pub noarp: bool,
    /// MTU.
    pub mtu: Option<u32>,
    /// Link-layer address (6 bytes for Ethernet, 4 for ipip, empty for none).
    pub mac: Vec<u8>,
    /// `IFLA_INFO_KIND` ("veth", "ipip", "macvlan", "bridge", ...), absent for plain devices.
    pub kind: Option<String>,
    /// `IFLA_LINK`: the lower device index (macvlan parent, veth peer...), if any.
    pub parent: Option<u32>,
    /// `IFLA_GROUP`: the interface group (0: default).
    pub group: u32,
    /// `IFLA_MASTER`: the device this one is enslaved to (bridge, bond, VRF), if any.
    pub master: Option<u32>,
    /// `IFLA_VRF_TABLE`: the routing table of a VRF device.
    pub vrf_table: Option<u32>,
}

/// macvlan modes (`MACVLAN_MODE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MacvlanMode {
    /// No traffic between macvlans on the same parent.
    Private,
    /// Traffic to other macvlans goes through the external switch.
    Vepa,
    /// Macvlans on the same parent can talk directly (the usual choice for VRRP VMACs).
    Bridge,
    /// One macvlan takes over the parent.
    Passthru,
}

impl MacvlanMode {
    fn to_nl(self) -> MacVlanMode {
        match self {
            MacvlanMode::Private => MacVlanMode::Private,
            MacvlanMode::Vepa => MacVlanMode::Vepa,
            MacvlanMode::Bridge => MacVlanMode::Bridge,
            MacvlanMode::Passthru => MacVlanMode::Passthrough,
        }
    }
}

pub(crate) fn check_ifname(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > IFNAME_MAX
        || name.contains('/')
        || name.chars().any(|c| c.is_whitespace() || c == '\0')
        || name == "."
        || name == ".."
    {
        return Err(Error::Invalid(format!(
            "{name:?} is not a valid interface name (1-{IFNAME_MAX} bytes, no '/', no spaces)"
        )));
    }
    Ok(())
}

fn parse_link(msg: LinkMessage) -> Link {
    let flags = msg.header.flags;
    let mut link = Link {
        index: msg.header.index,
        name: String::new(),
        up: flags.contains(LinkFlags::Up),
        lower_up: flags.contains(LinkFlags::LowerUp),
        loopback: flags.contains(LinkFlags::Loopback),
        noarp: flags.contains(LinkFlags::Noarp),
        mtu: None,
        mac: Vec::new(),
        kind: None,
        parent: None,
        group: 0,
        master: None,
        vrf_table: None,
    };
    for attr in msg.attributes {
        match attr {
            LinkAttribute::IfName(n) => link.name = n,
            LinkAttribute::Mtu(m) => link.mtu = Some(m),
            LinkAttribute::Address(a) => link.mac = a,
            LinkAttribute::Link(p) => link.parent = Some(p),
            LinkAttribute::Group(g) => link.group = g,
            LinkAttribute::Controller(m) => link.master = Some(m),
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    match info {
                        LinkInfo::Kind(k) => link.kind = Some(k.to_string()),
                        LinkInfo::Data(InfoData::Vrf(d)) => {
                            for a in d {
                                if let InfoVrf::TableId(t) = a {
                                    link.vrf_table = Some(t);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    link
}

impl Rtnl {
    /// All links of the namespace.
    pub fn links(&mut self) -> Result<Vec<Link>> {
        let msgs = self.dump(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            "dump links",
        )?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(parse_link(l)),
                _ => None,
            })
            .collect())
    }

    /// Looks a link up by name; `Ok(None)` when it does not exist.
    pub fn link_by_name(&mut self, name: &str) -> Result<Option<Link>> {
        check_ifname(name)?;
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        self.get_one_link(msg, &format!("get link {name}"))
    }

    /// Looks a link up by index; `Ok(None)` when it does not exist.
    pub fn link_by_index(&mut self, index: u32) -> Result<Option<Link>> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        self.get_one_link(msg, &format!("get link ifindex {index}"))
    }

    /// Like [`Rtnl::link_by_name`] but a missing link is an [`Error::NoSuchLink`].
    pub fn require_link(&mut self, name: &str) -> Result<Link> {
        self.link_by_name(name)?
            .ok_or_else(|| Error::NoSuchLink(LinkRef::Name(name.to_string())))
    }

    fn get_one_link(&mut self, msg: LinkMessage, op: &str) -> Result<Option<Link>> {
        // A non-dump RTM_GETLINK answers with one RTM_NEWLINK and no ACK.
        match self.ack_or_reply(RouteNetlinkMessage::GetLink(msg), op) {
            Ok(Some(RouteNetlinkMessage::NewLink(l))) => Ok(Some(parse_link(l))),
            Ok(_) => Ok(None),
            Err(e) if e.errno() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Enslaves a link to `master` (`ip link set dev X master M`), e.g. a VRF device.
    pub fn set_link_master(&mut self, index: u32, master: u32) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.attributes.push(LinkAttribute::Controller(master));
        self.ack(
            RouteNetlinkMessage::SetLink(msg),
            0,
            &format!("set link ifindex {index} master ifindex {master}"),
        )
    }

    /// Sets a link administratively up or down (`ip link set dev X up|down`).
    pub fn set_link_up(&mut self, index: u32, up: bool) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.change_mask = LinkFlags::Up;
        msg.header.flags = if up {
            LinkFlags::Up
        } else {
            LinkFlags::empty()
        };
        self.ack(
            RouteNetlinkMessage::SetLink(msg),
            0,
            &format!(
                "set link ifindex {index} {}",
                if up { "up" } else { "down" }
            ),
        )
    }

    /// Creates an ipip tunnel device (`ip link add NAME type ipip [local L] [remote R]`).
    /// With neither endpoint it is a wildcard tunnel that accepts ipip from anybody, like
    /// the `tunl0` fallback device. Needs the `ipip` module (the kernel autoloads it if it
    /// can); when it is missing the kernel answers `EOPNOTSUPP`. Returns the new link.
    pub fn add_ipip(
        &mut self,
        name: &str,
        local: Option<Ipv4Addr>,
        remote: Option<Ipv4Addr>,
    ) -> Result<Link> {
        check_ifname(name)?;
        let mut data = Vec::new();
        if let Some(l) = local {
            data.push(InfoIpTunnel::Local(l.into()));
        }
        if let Some(r) = remote {
            data.push(InfoIpTunnel::Remote(r.into()));
        }
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::IpIp),
            LinkInfo::Data(InfoData::IpTunnel(data)),
        ]));
        self.ack(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &format!("add ipip link {name}"),
        )?;
        self.require_link(name)
    }

    /// Creates a macvlan on `parent` (`ip link add link PARENT NAME type macvlan mode M`),
    /// optionally with a fixed MAC (e.g. a VRRP virtual MAC 00:00:5e:00:01:VRID).
    pub fn add_macvlan(
        &mut self,
        name: &str,
        parent: u32,
        mode: MacvlanMode,
        mac: Option<[u8; 6]>,
    ) -> Result<Link> {
        check_ifname(name)?;
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes.push(LinkAttribute::Link(parent));
        if let Some(m) = mac {
            msg.attributes.push(LinkAttribute::Address(m.to_vec()));
        }
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::MacVlan),
            LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(mode.to_nl())])),
        ]));
        self.ack(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &format!("add macvlan link {name} on ifindex {parent}"),
        )?;
        self.require_link(name)
    }

    /// Creates an ipvlan in L2 mode on `parent` (`ip link add link PARENT NAME type ipvlan
    /// mode l2 [private|vepa]`, `flags`: `IPVLAN_F_PRIVATE` 1, `IPVLAN_F_VEPA` 2) in interface
    /// group `group`, as keepalived's `netlink_link_add_ipvlan` does. Returns the new link.
    pub fn add_ipvlan(&mut self, name: &str, parent: u32, flags: u16, group: u32) -> Result<Link> {
        use netlink_packet_route::link::{InfoIpVlan, IpVlanFlags, IpVlanMode};
        check_ifname(name)?;
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::Link(parent));
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes.push(LinkAttribute::Group(group));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::IpVlan),
            LinkInfo::Data(InfoData::IpVlan(vec![
                InfoIpVlan::Mode(IpVlanMode::L2),
                InfoIpVlan::Flags(IpVlanFlags::from_bits_retain(flags)),
            ])),
        ]));
        self.ack(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &format!("add ipvlan link {name} on ifindex {parent}"),
        )?;
        self.require_link(name)
    }

    /// Deletes a link (`ip link del`).
    pub fn del_link(&mut self, index: u32) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        self.ack(
            RouteNetlinkMessage::DelLink(msg),
            0,
            &format!("delete link ifindex {index}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves interface names are checked like the kernel's dev_valid_name().
    #[test]
    fn ifname_rules() {
        for bad in ["", ".", "..", "a/b", "a b", "0123456789abcdef"] {
            assert!(check_ifname(bad).is_err(), "{bad:?}");
        }
        for good in ["eth0", "eth0.100", "tunl0", "0123456789abcde"] {
            assert!(check_ifname(good).is_ok(), "{good:?}");
        }
    }
}
