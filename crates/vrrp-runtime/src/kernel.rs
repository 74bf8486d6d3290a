//! Everything the VRRP runtime puts in the kernel through rtnetlink (`netplat`): VIPs and their
//! lease, virtual routes and rules, `static_ipaddress`/`static_routes`/`static_rules`, and VMACs
//! (macvlans and their sysctls); the VIP firewall of `no_accept`/`vrrp_strict` is in
//! [`crate::firewall`].

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use conf_parse::{Config, IpAddress};
use netplat::{AddressSpec, PacketSocket, Rtnl, Scope};
use vrrp_proto::Family;

use crate::config::{self};
pub(crate) use crate::firewall::{Firewall, FwIf, FwKey};
use crate::instance::Instance;
use crate::located::Located;
use crate::{Metrics, VrrpRuntimeError};

/// What a VMAC is to be: its VRID and family (hence its MAC), name, whether IPv6 stays on, and
/// the link-local source address to put on it.
#[derive(Clone, Copy)]
pub(crate) struct VmacReq<'a> {
    pub(crate) vrid: u8,
    pub(crate) family: Family,
    pub(crate) name: &'a str,
    pub(crate) ipv6_on: bool,
    pub(crate) link_local: Option<std::net::Ipv6Addr>,
    /// `use_ipvlan`: an L2 ipvlan instead of a macvlan.
    pub(crate) ipvlan: Option<&'a config::IpvlanSpec>,
}

/// A running address VMAC: its plan, link index, whether we created it, MAC and GARP socket.
pub(crate) struct AddrVmac {
    pub(crate) spec: config::AddrVmacSpec,
    pub(crate) index: u32,
    pub(crate) created: bool,
    pub(crate) mac: [u8; 6],
    pub(crate) packet: Option<PacketSocket>,
}

pub(crate) fn nl(op: String) -> impl FnOnce(netplat::Error) -> VrrpRuntimeError {
    move |source| VrrpRuntimeError::Netlink { op, source }
}

/// What `static_ipaddress`, `static_routes` and `static_rules` installed.
#[derive(Default)]
pub(crate) struct Statics {
    pub(crate) addrs: Vec<AddressSpec>,
    pub(crate) routes: Vec<netplat::RouteSpec>,
    pub(crate) rules: Vec<(netplat::RuleSpec, Located)>,
    /// What is restored when deleted (keepalived `reinstate_static_*`).
    pub(crate) restore: Restore,
}

/// keepalived restores a deleted static address (unless `no_track`), and a deleted static
/// route or rule (unless `no_track`; a route only with a `dev`) when it watches route or rule
/// deletions of that family: when a static route/rule of it has a `track_group` or an
/// instance has a tracked virtual route/rule of it. An interface coming up gets its static
/// addresses and routes back whatever the family (`static_track_group_reinstate_config`).
#[derive(Default)]
pub(crate) struct Restore {
    /// Per entry of [`Statics::addrs`]: restored when deleted.
    pub(crate) addrs: Vec<bool>,
    /// Per entry of [`Statics::routes`].
    pub(crate) routes: Vec<bool>,
    /// Per entry of [`Statics::rules`].
    pub(crate) rules: Vec<bool>,
    /// Route deletions watched: IPv4, IPv6.
    pub(crate) monitor_routes: [bool; 2],
    /// Rule deletions watched: IPv4, IPv6.
    pub(crate) monitor_rules: [bool; 2],
    /// Interfaces last seen up (index → up).
    pub(crate) up: HashMap<u32, bool>,
    /// Restores that failed, logged once until they work again.
    pub(crate) failed: HashSet<String>,
}

impl Restore {
    /// The watch flags of `config` (keepalived `process_static_entries` and the instances'
    /// tracked `virtual_routes`/`virtual_rules`).
    fn monitors(config: &Config) -> ([bool; 2], [bool; 2]) {
        let mut routes = [false; 2];
        let mut rules = [false; 2];
        for r in &config.static_routes {
            if r.track_group.is_some() {
                routes[usize::from(r.is_v6())] = true;
            }
        }
        for r in &config.static_rules {
            if r.track_group.is_some() {
                rules[usize::from(r.v6)] = true;
            }
        }
        for i in &config.vrrp_instances {
            for r in i.virtual_routes.iter().filter(|r| !r.no_track) {
                routes[usize::from(r.is_v6())] = true;
            }
            for r in i.virtual_rules.iter().filter(|r| !r.no_track) {
                rules[usize::from(r.v6)] = true;
            }
        }
        (routes, rules)
    }
}

/// The VRRP virtual MAC of a VRID (RFC 5798 §7.3): 00:00:5e:00:01:VRID for IPv4,
/// 00:00:5e:00:02:VRID for IPv6.
pub(crate) fn vmac_mac(vrid: u8, family: Family) -> [u8; 6] {
    let f = match family {
        Family::V4 => 0x01,
        Family::V6 => 0x02,
    };
    [0x00, 0x00, 0x5e, 0x00, f, vrid]
}

pub(crate) fn fmt_mac(m: &[u8]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

pub(crate) fn primary_address(
    rtnl: &mut Rtnl,
    ifindex: u32,
    family: Family,
    vips: &[IpAddress],
) -> Option<IpAddr> {
    let addrs = rtnl.addresses(Some(ifindex)).ok()?;
    primary_in(&addrs, ifindex, family, vips)
}

/// [`primary_address`] among `addrs` (one dump read for many instances).
pub(crate) fn primary_in(
    addrs: &[netplat::Address],
    ifindex: u32,
    family: Family,
    vips: &[IpAddress],
) -> Option<IpAddr> {
    addrs
        .iter()
        .filter(|a| a.index == ifindex)
        // keepalived 2.3.3: a tentative address (IPv6 DAD still running) cannot be used yet;
        // the instance waits for it (pending::Wait::NoAddress) as for a missing one.
        .filter(|a| !a.flags.contains(netplat::AddrFlags::TENTATIVE))
        .filter(|a| match family {
            Family::V4 => a.addr.is_ipv4(),
            Family::V6 => matches!(a.addr, IpAddr::V6(v) if v.segments()[0] & 0xffc0 == 0xfe80),
        })
        .find(|a| !vips.iter().any(|v| v.addr == a.addr))
        .map(|a| a.addr)
}

/// The runtime's side of the kernel: the rtnetlink socket and what was installed through it
/// besides the instances' own (static addresses, routes and rules). Instance-level operations
/// take the instance they act for.
pub(crate) struct Kernel {
    pub(crate) rtnl: Rtnl,
    pub(crate) metrics: Arc<Metrics>,
    /// VIPs carry a lease (see the crate documentation).
    pub(crate) lease: bool,
    /// Moves when the kernel refused a lease renewal: every instance then prepares its renewals
    /// again from its configuration (a recreated VIP `dev` is found by name again).
    pub(crate) lease_epoch: u64,
    /// Interfaces whose `promote_secondaries` sysctl we set to 1 (it was 0), with how many
    /// instances asked (keepalived's `reset_promote_secondaries` counter): set back to 0 at
    /// stop.
    promoted: std::collections::BTreeMap<String, u32>,
    /// Installed `static_ipaddress`, `static_routes` and `static_rules`.
    pub(crate) statics: Statics,
    /// The nftables VIP firewall.
    pub(crate) firewall: Firewall,
}

impl Kernel {
    /// The link named `name`.
    pub(crate) fn link_by_name(
        &mut self,
        name: &str,
    ) -> Result<Option<netplat::Link>, netplat::Error> {
        self.rtnl.link_by_name(name)
    }

    /// Every link.
    pub(crate) fn links(&mut self) -> Result<Vec<netplat::Link>, netplat::Error> {
        self.rtnl.links()
    }

    /// The address adverts leave from on `ifindex` (see [`primary_address`]).
    pub(crate) fn primary_address(
        &mut self,
        ifindex: u32,
        family: Family,
        vips: &[IpAddress],
    ) -> Option<IpAddr> {
        primary_address(&mut self.rtnl, ifindex, family, vips)
    }

    /// `vrrp_netlink_cmd_rcv_bufs[_force]` on the command socket (see [`crate::io::set_rcv_bufs`]).
    pub(crate) fn set_cmd_rcv_bufs(
        &self,
        now: &conf_parse::RcvBufs,
        before: Option<&conf_parse::RcvBufs>,
    ) {
        crate::io::set_rcv_bufs("vrrp_netlink_cmd_rcv_bufs", now, before, |size, force| {
            self.rtnl.set_receive_buffer(size, force)
        });
    }

    pub(crate) fn new(
        metrics: Arc<Metrics>,
        lease: bool,
        nft: &conf_parse::NftablesSettings,
    ) -> Result<Kernel, VrrpRuntimeError> {
        Ok(Kernel {
            rtnl: Rtnl::new().map_err(nl("opening rtnetlink".into()))?,
            metrics,
            lease,
            lease_epoch: 0,
            promoted: Default::default(),
            statics: Statics::default(),
            firewall: Firewall::new(nft),
        })
    }
}

impl Kernel {
    /// The instance's VMAC: reused if a macvlan of that name with the virtual MAC already sits
    /// on the base interface (an earlier run), else created; up, with keepalived's settings:
    /// no automatic IPv6 link-local address (`addr_gen_mode` none, RFC 5798 §7.4); IPv4:
    /// IPv6 off on the VMAC (unless excluded VIPs are IPv6), VMAC arp_ignore 1, accept_local
    /// 1, rp_filter 0, promote_secondaries 1, base arp_ignore 1, arp_filter 1; IPv6: the
    /// instance's link-local source address added to the VMAC (no DAD, deprecated so it is never
    /// picked for other traffic), so adverts leave from it with the virtual MAC. Returns the
    /// link and whether it was created here.
    pub(crate) fn setup_vmac(
        &mut self,
        inst: &str,
        base: &netplat::Link,
        v: &VmacReq<'_>,
    ) -> Result<(netplat::Link, bool), String> {
        let VmacReq {
            vrid,
            family,
            name,
            ipv6_on,
            link_local,
            ipvlan,
        } = *v;
        if let Some(ipv) = ipvlan {
            return self.setup_ipvlan(inst, base, name, ipv6_on, ipv);
        }
        let mac = vmac_mac(vrid, family);
        let (link, created) = match self.rtnl.link_by_name(name) {
            Ok(Some(l)) if l.parent == Some(base.index) && l.mac == mac => (l, false),
            Ok(Some(_)) => {
                return Err(format!(
                    "interface {name} exists and is not this instance's VMAC (macvlan on {} with MAC {})",
                    base.name,
                    fmt_mac(&mac)
                ))
            }
            Ok(None) => {
                let l = self
                    .rtnl
                    .add_macvlan(name, base.index, netplat::MacvlanMode::Private, Some(mac))
                    .map_err(|e| format!("creating VMAC {name}: {e}"))?;
                self.follow_vrf(base, &l);
                (l, true)
            }
            Err(e) => return Err(format!("looking up {name}: {e}")),
        };
        let mut settings: Vec<(&str, &str, &str, &str)> = vec![
            ("ipv6", name, "addr_gen_mode", "1"),
            (
                "ipv6",
                name,
                "disable_ipv6",
                if ipv6_on { "0" } else { "1" },
            ),
        ];
        if family == Family::V4 {
            settings.extend([
                ("ipv4", name, "arp_ignore", "1"),
                ("ipv4", name, "accept_local", "1"),
                ("ipv4", name, "rp_filter", "0"),
                ("ipv4", name, "promote_secondaries", "1"),
                ("ipv4", base.name.as_str(), "arp_ignore", "1"),
                ("ipv4", base.name.as_str(), "arp_filter", "1"),
            ]);
        }
        for (fam, ifname, key, value) in settings {
            let path = format!("/proc/sys/net/{fam}/conf/{ifname}/{key}");
            if let Err(e) = std::fs::write(&path, value) {
                log::warn!("VMAC {name}: setting {path} = {value}: {e}");
            }
        }
        self.rtnl
            .set_link_up(link.index, true)
            .map_err(|e| format!("bringing VMAC {name} up: {e}"))?;
        if let Some(ll) = link_local {
            let a = AddressSpec::new(link.index, IpAddr::V6(ll), 64)
                .scope(if ll.segments()[0] & 0xffc0 == 0xfe80 {
                    Scope::Link
                } else {
                    Scope::Universe
                })
                .flags(netplat::AddrFlags::NODAD)
                .lifetimes(u32::MAX, 0);
            if let Err(e) = self.rtnl.replace_address(&a) {
                return Err(format!("adding source address {ll} to VMAC {name}: {e}"));
            }
        }
        if created {
            log::info!(
                "VRRP_Instance({inst}) created VMAC {name} ({}) on {}",
                fmt_mac(&mac),
                base.name
            );
        }
        Ok((link, created))
    }

    /// keepalived: "If the underlying interface is enslaved to a VRF master, then this
    /// interface should be as well" (so its addresses and routes are in the VRF's table).
    fn follow_vrf(&mut self, base: &netplat::Link, link: &netplat::Link) {
        let Some(m) = base.master else { return };
        if let Ok(Some(master)) = self.rtnl.link_by_index(m) {
            if master.kind.as_deref() == Some("vrf") {
                if let Err(e) = self.rtnl.set_link_master(link.index, m) {
                    log::warn!("{}: enslaving to VRF {}: {e}", link.name, master.name);
                }
            }
        }
    }

    /// The instance's ipvlan (`use_ipvlan`), as keepalived 2.2.7's `netlink_link_add_ipvlan`:
    /// reused if an ipvlan of that name sits on the base interface, else created (L2 mode,
    /// bridge/private/vepa, in the base interface's group as keepalived since 2.3.0 puts it),
    /// up; IPv6 off unless needed; its address added. No other sysctl is changed.
    fn setup_ipvlan(
        &mut self,
        inst: &str,
        base: &netplat::Link,
        name: &str,
        ipv6_on: bool,
        ipv: &config::IpvlanSpec,
    ) -> Result<(netplat::Link, bool), String> {
        let (link, created) = match self.rtnl.link_by_name(name) {
            Ok(Some(l)) if l.parent == Some(base.index) && l.kind.as_deref() == Some("ipvlan") => {
                (l, false)
            }
            Ok(Some(_)) => {
                return Err(format!(
                    "interface {name} exists and is not this instance's ipvlan (on {})",
                    base.name
                ))
            }
            Ok(None) => match self
                .rtnl
                .add_ipvlan(name, base.index, ipv.flags, base.group)
            {
                Ok(l) => {
                    self.follow_vrf(base, &l);
                    (l, true)
                }
                Err(e) => {
                    log::info!("({inst}): Unable to create ipvlan interface {name} ({e})");
                    return Err(format!("creating ipvlan {name}: {e}"));
                }
            },
            Err(e) => return Err(format!("looking up {name}: {e}")),
        };
        self.rtnl
            .set_link_up(link.index, true)
            .map_err(|e| format!("bringing ipvlan {name} up: {e}"))?;
        let path = format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6");
        if let Err(e) = std::fs::write(&path, if ipv6_on { "0" } else { "1" }) {
            log::warn!("ipvlan {name}: setting {path}: {e}");
        }
        if let Some((a, len)) = ipv.addr {
            let spec = AddressSpec::new(link.index, a, len);
            if let Err(e) = self.rtnl.replace_address(&spec) {
                log::info!("{inst}: Failed to add interface address to {name} ({e})");
            }
        }
        if created {
            log::info!("({inst}): Success creating ipvlan interface {name}");
        }
        Ok((link, created))
    }

    /// Deletes the VMACs `inst` created, if any.
    /// `promote_secondaries`: sets the interface's sysctl to 1 unless it already was
    /// (keepalived's `set_promote_secondaries`).
    pub(crate) fn promote_secondaries(&mut self, ifname: &str) {
        if let Some(n) = self.promoted.get_mut(ifname) {
            *n += 1;
            return;
        }
        let path = format!("/proc/sys/net/ipv4/conf/{ifname}/promote_secondaries");
        if std::fs::read_to_string(&path).is_ok_and(|v| v.trim() == "1") {
            return;
        }
        match std::fs::write(&path, "1") {
            Ok(()) => {
                self.promoted.insert(ifname.to_string(), 1);
            }
            Err(e) => log::warn!("setting {path} = 1: {e}"),
        }
    }

    /// At stop: the `promote_secondaries` sysctls we set go back to 0.
    pub(crate) fn reset_promoted(&mut self) {
        for ifname in std::mem::take(&mut self.promoted).into_keys() {
            let path = format!("/proc/sys/net/ipv4/conf/{ifname}/promote_secondaries");
            if let Err(e) = std::fs::write(&path, "0") {
                log::warn!("resetting {path} = 0: {e}");
            }
        }
    }

    /// The base interface's link-local address (keepalived's `base_ifp->sin6_addr`), whose
    /// neighbour advertisements from a VMAC the iptables firewall drops.
    pub(crate) fn base_link_local(&mut self, ifindex: u32) -> Option<std::net::Ipv6Addr> {
        match self.primary_address(ifindex, Family::V6, &[]) {
            Some(IpAddr::V6(a)) => Some(a),
            _ => None,
        }
    }

    /// The firewall drops of VMAC `ifname` (index `index` on base `base_index`), as keepalived's
    /// netlink_link_add_vmac sets them up: the iptables backend's (2.4.3) or the nftables
    /// backend's (2.2.7 nft_add_vmac) IGMP/MLD/ND rules. `add`: for a VMAC created here (one
    /// found from an earlier run is adopted without them: VMAC_UP_BIT). What was set up, to be
    /// removed with the VMAC.
    pub(crate) fn add_vmac_drops(
        &mut self,
        ifname: &str,
        index: u32,
        base_index: u32,
        v6: bool,
        other_family: bool,
        add: bool,
    ) -> (
        Option<crate::firewall_ipt::IptVmac>,
        Option<crate::firewall::NftVmac>,
    ) {
        let ipt = crate::firewall_ipt::IptVmac {
            ifname: ifname.to_string(),
            v6,
            other_family,
            base_ll: self.base_link_local(base_index),
        };
        let ipt = self.ipt_add_vmac(&ipt, add).then_some(ipt);
        let nft = crate::firewall::NftVmac {
            ifname: ifname.to_string(),
            index,
            base_index,
            v6,
            other_family,
        };
        let nft = self.nft_add_vmac(&nft, add).then_some(nft);
        (ipt, nft)
    }

    /// keepalived's `firewall_add_vmac` for the iptables backend (with an OUT chain), for a
    /// VMAC created here (`add`); a VMAC found from an earlier run is adopted without it, as
    /// keepalived (VMAC_UP_BIT) does. Whether the VMAC is to have `firewall_remove_vmac` before
    /// it is deleted (keepalived does it for both).
    pub(crate) fn ipt_add_vmac(&mut self, m: &crate::firewall_ipt::IptVmac, add: bool) -> bool {
        match self.firewall.ipt.as_mut() {
            Some(ipt) if ipt.has_output() => {
                if add {
                    ipt.add_vmac(m);
                }
                true
            }
            _ => false,
        }
    }

    /// keepalived 2.2.7's `firewall_add_vmac` for the nftables backend (the default: any
    /// `use_vmac` enables it), for a VMAC created here (`add`). Whether the VMAC is to have
    /// `nft_remove_vmac` before it is deleted (keepalived does it for both).
    pub(crate) fn nft_add_vmac(&mut self, m: &crate::firewall::NftVmac, add: bool) -> bool {
        if self.firewall.ipt.is_some() {
            return false;
        }
        if add {
            self.firewall.update_vmac(m, true);
        }
        true
    }

    pub(crate) fn drop_vmacs(&mut self, inst: &mut Instance) {
        // keepalived removes the firewall rules before deleting the link
        for m in std::mem::take(&mut inst.nft_vmacs) {
            self.firewall.update_vmac(&m, false);
        }
        for m in std::mem::take(&mut inst.ipt_vmacs) {
            if let Some(ipt) = self.firewall.ipt.as_mut() {
                ipt.remove_vmac(&m);
            }
        }
        for av in std::mem::take(&mut inst.addr_vmacs) {
            if av.created {
                if let Err(e) = self.rtnl.del_link(av.index) {
                    log::warn!(
                        "VRRP_Instance({}) deleting VMAC {}: {e}",
                        inst.spec.name,
                        av.spec.name
                    );
                }
            }
        }
        if let Some(ix) = inst.vmac_created.take() {
            if let Err(e) = self.rtnl.del_link(ix) {
                log::warn!(
                    "VRRP_Instance({}) deleting VMAC {}: {e}",
                    inst.spec.name,
                    inst.vip_if.0
                );
            }
        }
    }

    pub(crate) fn vip_spec(
        &mut self,
        inst: &Instance,
        v: &IpAddress,
        with_lease: bool,
    ) -> Option<AddressSpec> {
        let what = format!("VRRP_Instance({}) VIP", inst.spec.name);
        let default = inst.vip_if.clone();
        let mut s = self.address_spec(v, Some(default), &what)?;
        if let Some(av) = inst
            .addr_vmacs
            .iter()
            .find(|a| a.spec.addrs.contains(&v.addr))
        {
            s.index = av.index;
        }
        if with_lease {
            let lease = inst.lease_secs();
            s = s.lifetimes(lease, lease);
        }
        Some(s)
    }

    /// The kernel form of a configured address: its `dev` (else `default`, an interface name
    /// and index) resolved, label, scope, broadcast. `None` (logged, located) if it has no
    /// usable interface.
    pub(crate) fn address_spec(
        &mut self,
        v: &IpAddress,
        default: Option<(String, u32)>,
        what: &str,
    ) -> Option<AddressSpec> {
        let index = match (&v.dev, default) {
            (Some(d), Some((name, index))) if *d == name => index,
            (Some(d), _) => match self.rtnl.link_by_name(d) {
                Ok(Some(l)) => l.index,
                _ => {
                    log::error!(
                        "{}:{}: {what} {}: dev {d} does not exist",
                        v.loc.0.file,
                        v.loc.0.line,
                        v.addr
                    );
                    return None;
                }
            },
            (None, Some((_, index))) => index,
            (None, None) => {
                log::error!(
                    "{}:{}: {what} {}: no dev given",
                    v.loc.0.file,
                    v.loc.0.line,
                    v.addr
                );
                return None;
            }
        };
        let mut s = AddressSpec::new(index, v.addr, v.prefix_len);
        if let Some(l) = &v.label {
            s = s.label(l.clone());
        }
        if let Some(sc) = &v.scope {
            s = s.scope(crate::routes::scope(*sc));
        }
        if let Some(b) = v.brd {
            s = s.broadcast(b);
        }
        if let Some((p, plen)) = v.peer {
            s = s.peer(p);
            if let Some(plen) = plen {
                s.prefix_len = plen;
            }
        }
        // As keepalived's netlink_ipaddress: IPv6 addresses without DAD unless `-nodad` (VRRP
        // is the duplicate detection; a VIP must not end up "dadfailed" after a split brain),
        // `preferred_lft` for IPv6 only, and the flag words.
        if v.addr.is_ipv6() && !v.flags.dad {
            s = s.flags(netplat::AddrFlags::NODAD);
        }
        for (on, f) in [
            (v.flags.home, netplat::AddrFlags(0x10)),
            (v.flags.mngtmpaddr, netplat::AddrFlags(0x100)),
            (v.flags.noprefixroute, netplat::AddrFlags::NOPREFIXROUTE),
            (v.flags.autojoin, netplat::AddrFlags::MCAUTOJOIN),
        ] {
            if on {
                s = s.flags(f);
            }
        }
        if let (true, Some(p)) = (v.addr.is_ipv6(), v.preferred_lft) {
            s = s.lifetimes(u32::MAX, p);
        }
        Some(s)
    }

    /// `static_ipaddress`, `static_routes` and `static_rules` of `config`, in kernel form (what
    /// cannot be resolved is logged with its location and left out).
    pub(crate) fn static_specs(&mut self, config: &Config) -> Statics {
        let mut restore = Restore::default();
        // keepalived 2.2.7: a static address without `dev` goes on `default_interface`, else
        // eth0 (`get_default_if`).
        let dflt = config.static_default_interface().to_string();
        let dflt_link = match self.rtnl.link_by_name(&dflt) {
            Ok(Some(l)) => Some((dflt.clone(), l.index)),
            _ => None,
        };
        let mut addrs = Vec::new();
        for v in &config.static_ipaddress {
            if v.dev.is_none() && dflt_link.is_none() {
                log::error!(
                    "{}:{}: Static address {}/{} requires either an interface or default interface must exist",
                    v.loc.0.file,
                    v.loc.0.line,
                    v.addr,
                    v.prefix_len
                );
                continue;
            }
            if let Some(s) = self.address_spec(v, dflt_link.clone(), "static_ipaddress") {
                addrs.push(s);
                restore.addrs.push(!v.no_track);
            }
        }
        let mut routes = Vec::new();
        for r in &config.static_routes {
            let keep = !r.no_track && r.dev.is_some();
            let crate::routes::VirtualRoute {
                mut spec,
                dev,
                vrf,
                at,
                ..
            } = crate::routes::route(r);
            if let Some(v) = vrf {
                match self.vrf_table(&v) {
                    Ok(t) => spec = spec.table(t),
                    Err(e) => {
                        log::error!("{at}: static_routes: {e}; route ignored");
                        continue;
                    }
                }
            }
            if let Some(d) = dev {
                match self.rtnl.link_by_name(&d) {
                    Ok(Some(link)) => spec = spec.dev(link.index),
                    _ => {
                        log::error!("{at}: static_routes: dev {d} does not exist; route ignored");
                        continue;
                    }
                }
            }
            routes.push(spec);
            restore.routes.push(keep);
        }
        let rules = config
            .static_rules
            .iter()
            .map(crate::routes::rule)
            .collect();
        restore.rules = config.static_rules.iter().map(|r| !r.no_track).collect();
        (restore.monitor_routes, restore.monitor_rules) = Restore::monitors(config);
        Statics {
            addrs,
            routes,
            rules,
            restore,
        }
    }

    /// Restores the static addresses, routes and rules someone deleted, as keepalived does
    /// on `RTM_DELADDR`/`RTM_DELROUTE`/`RTM_DELRULE` and when an interface comes up
    /// (`reinstate_static_*`, logged "Restoring deleted static ..."). Called with the links
    /// each time the kernel reports a link change or a deletion: an entry still there is
    /// `EEXIST`, nothing to do.
    pub(crate) fn restore_statics(&mut self, links: &[netplat::Link]) {
        let s = &mut self.statics;
        if s.addrs.is_empty() && s.routes.is_empty() && s.rules.is_empty() {
            return;
        }
        let is_up = |i: u32| {
            links
                .iter()
                .find(|l| l.index == i)
                .is_some_and(|l| l.up && l.lower_up)
        };
        let name = |i: u32| {
            links
                .iter()
                .find(|l| l.index == i)
                .map_or_else(|| i.to_string(), |l| l.name.clone())
        };
        let mut came_up = HashSet::new();
        for l in links {
            let up = l.up && l.lower_up;
            if s.restore.up.insert(l.index, up) == Some(false) && up {
                came_up.insert(l.index);
            }
        }
        let mut todo: Vec<(String, Result<(), netplat::Error>)> = Vec::new();
        for (a, keep) in s.addrs.iter().zip(&s.restore.addrs) {
            if *keep {
                let what = format!("address {}/{} dev {}", a.addr, a.prefix_len, name(a.index));
                todo.push((what, self.rtnl.add_address(a)));
            }
        }
        for (r, keep) in s.routes.iter().zip(&s.restore.routes) {
            let Some(oif) = r.oif else { continue };
            let watched = s.restore.monitor_routes[usize::from(r.dst.is_ipv6())];
            if *keep && is_up(oif) && (watched || came_up.contains(&oif)) {
                let what = format!(
                    "route {}/{} dev {} table {}",
                    r.dst,
                    r.prefix_len,
                    name(oif),
                    r.table
                );
                todo.push((what, self.rtnl.add_route(r)));
            }
        }
        for ((r, at), keep) in s.rules.iter().zip(&s.restore.rules) {
            if *keep && s.restore.monitor_rules[usize::from(r.v6)] {
                todo.push((format!("rule {at}"), self.rtnl.add_rule(r)));
            }
        }
        for (what, res) in todo {
            match res {
                Ok(()) => {
                    s.restore.failed.remove(&what);
                    log::info!("Restoring deleted static {what}");
                }
                Err(e) if e.errno() == Some(netplat::errno::EEXIST) => {
                    s.restore.failed.remove(&what);
                }
                Err(e) => {
                    if s.restore.failed.insert(what.clone()) {
                        log::error!("Restoring deleted static {what}: {e}");
                    }
                }
            }
        }
    }

    /// Installs the static addresses, routes and rules of `config`, removing the ones a
    /// previous configuration had and this one has not (keepalived installs them at start and
    /// removes them at stop).
    pub(crate) fn apply_statics(&mut self, config: &Config) {
        let new = self.static_specs(config);
        let old = std::mem::take(&mut self.statics);
        let gone_rules: Vec<(netplat::RuleSpec, Located)> = old
            .rules
            .into_iter()
            .filter(|r| !new.rules.iter().any(|n| n.0 == r.0))
            .collect();
        self.remove_rules(&gone_rules, false);
        for r in old.routes.iter().filter(|r| !new.routes.contains(r)) {
            self.del_static_route(r);
        }
        for a in old.addrs.iter().filter(|a| !new.addrs.contains(a)) {
            self.del_static_address(a);
        }
        for a in &new.addrs {
            if let Err(e) = self.rtnl.replace_address(a) {
                log::error!("static_ipaddress: {e}");
            }
        }
        for r in &new.routes {
            if let Err(e) = self.rtnl.replace_route(r) {
                log::error!("static_routes: {e}");
            }
        }
        self.add_rules(&new.rules);
        self.statics = new;
    }

    /// Removes the static addresses, routes and rules (at stop).
    pub(crate) fn clear_statics(&mut self) {
        let old = std::mem::take(&mut self.statics);
        self.remove_rules(&old.rules, false);
        for r in &old.routes {
            self.del_static_route(r);
        }
        for a in &old.addrs {
            self.del_static_address(a);
        }
    }

    pub(crate) fn del_static_route(&mut self, r: &netplat::RouteSpec) {
        match self.rtnl.del_route(r) {
            Ok(()) => {}
            Err(e) if e.errno() == Some(netplat::errno::ESRCH) => {}
            Err(e) => log::error!("static_routes: {e}"),
        }
    }

    pub(crate) fn del_static_address(&mut self, a: &AddressSpec) {
        match self.rtnl.del_address(a) {
            Ok(()) => {}
            Err(e) if e.errno() == Some(netplat::errno::EADDRNOTAVAIL) => {}
            Err(e) => log::error!("static_ipaddress: {e}"),
        }
    }

    pub(crate) fn add_vips(&mut self, inst: &mut Instance) {
        if !fw_exempt(inst) {
            if let Some(ipt) = self.firewall.ipt.as_mut() {
                ipt.add(inst, &ipt_vips(inst));
            } else {
                let ll = self.link_local_fw(inst);
                self.firewall.add(inst, &ll);
            }
        }
        let routes = inst.spec.routes.clone();
        self.add_routes(inst, &routes);
        let rules = inst.spec.rules.clone();
        self.add_rules(&rules);
        let lease = self.lease;
        for v in inst.all_vips() {
            let Some(spec) = self.vip_spec(inst, &v, lease) else {
                continue;
            };
            if let Err(e) = self.rtnl.replace_address(&spec) {
                self.vip_error(inst, &v, "adding", &e);
            }
        }
        inst.holding = true;
        inst.last_refresh = Some(Instant::now());
        inst.lease_msgs = None;
    }

    /// The firewall entries of instance `inst`'s link-local IPv6 VIPs (keepalived's
    /// `nft_update_ipv6_address`).
    fn link_local_fw(&mut self, inst: &Instance) -> Vec<(IpAddr, FwIf)> {
        let mut out = Vec::new();
        for v in inst.all_vips() {
            let IpAddr::V6(x) = v.addr else { continue };
            if x.segments()[0] & 0xffc0 != 0xfe80 {
                continue;
            }
            let name = v.dev.clone().unwrap_or_else(|| inst.vip_if.0.clone());
            let by_name = !self.firewall.ifindex
                && inst.spec.dont_track_primary
                && (name == inst.vip_if.0 || v.no_track);
            if by_name {
                out.push((v.addr, FwIf::Name(name)));
                continue;
            }
            let index = if name == inst.vip_if.0 {
                Some(inst.vip_if.1)
            } else {
                self.rtnl
                    .link_by_name(&name)
                    .ok()
                    .flatten()
                    .map(|l| l.index)
            };
            if let Some(i) = index {
                out.push((v.addr, FwIf::Index(i)));
            }
        }
        out
    }

    /// Renews the lease of instance `i`'s VIPs (IPv4 and IPv6): one prepared `RTM_NEWADDR` replace each,
    /// sent without waiting for the ACK (a renewal is one system call). Errors the kernel
    /// returned for earlier renewals are logged here.
    pub(crate) fn renew_lease(&mut self, inst: &mut Instance) {
        let late = self.rtnl.take_late_errors();
        if !late.is_empty() {
            for e in &late {
                Metrics::bump(&self.metrics.vip_errors);
                log::error!("renewing a VIP lease: {e}");
            }
            // Rebuilt from the configuration at their next renewal: a VIP's `dev` that was
            // deleted and created again is found by name again (and the VIP put back on it).
            self.lease_epoch = self.lease_epoch.wrapping_add(1);
        }
        if inst
            .lease_msgs
            .as_ref()
            .is_none_or(|m| m.0 != self.lease_epoch)
        {
            let mut msgs = Vec::new();
            for v in &inst.all_vips() {
                let Some(spec) = self.vip_spec(inst, v, true) else {
                    continue;
                };
                match Rtnl::prepare_replace_address(&spec) {
                    Ok(p) => {
                        msgs.push(p.with_context(&format!("VRRP_Instance({})", inst.spec.name)))
                    }
                    Err(e) => self.vip_error(inst, v, "renewing", &e),
                }
            }
            inst.lease_msgs = Some((self.lease_epoch, msgs));
        }
        for p in inst.lease_msgs.iter().flat_map(|m| &m.1) {
            if let Err(e) = self.rtnl.send_prepared(p) {
                Metrics::bump(&self.metrics.vip_errors);
                log::error!("VRRP_Instance({}) renewing VIP lease: {e}", inst.spec.name);
            }
        }
        inst.last_refresh = Some(Instant::now());
    }

    /// Counts and logs (located at the VIP's configuration line) a failure to `what` a VIP of
    /// instance `i`.
    pub(crate) fn vip_error(&self, inst: &Instance, v: &IpAddress, what: &str, e: &netplat::Error) {
        Metrics::bump(&self.metrics.vip_errors);
        log::error!(
            "{}:{}: VRRP_Instance({}) {what} VIP {}/{}: {e}",
            v.loc.0.file,
            v.loc.0.line,
            inst.spec.name,
            v.addr,
            v.prefix_len
        );
    }

    pub(crate) fn remove_vips(&mut self, inst: &mut Instance, quiet: bool) {
        let vips = inst.all_vips();
        self.del_vips(inst, &vips, quiet);
        let routes = inst.spec.routes.clone();
        self.remove_routes(inst, &routes, quiet);
        let rules = inst.spec.rules.clone();
        self.remove_rules(&rules, quiet);
        if let Some(ipt) = self.firewall.ipt.as_mut() {
            // quiet: at start (and for a new instance at a reload), keepalived's forced
            // removal of what a killed run may have left
            if !fw_exempt(inst) || !inst.fw_vips.is_empty() {
                ipt.remove(inst, &ipt_vips(inst), quiet && !fw_exempt(inst));
            }
        } else {
            self.firewall.remove(inst);
        }
        inst.holding = false;
        inst.lease_msgs = None;
    }

    /// Deletes these addresses of instance `i`; `quiet`: leftovers from an earlier run (their
    /// removal is logged, failures are not).
    pub(crate) fn del_vips(&mut self, inst: &mut Instance, vips: &[IpAddress], quiet: bool) {
        inst.lease_msgs = None;
        for v in vips {
            let Some(spec) = self.vip_spec(inst, v, false) else {
                continue;
            };
            match self.rtnl.del_address(&spec) {
                Ok(()) => {
                    if quiet {
                        log::info!(
                            "VRRP_Instance({}) removed leftover VIP {}/{}",
                            inst.spec.name,
                            v.addr,
                            v.prefix_len
                        );
                    }
                }
                // Not there, or its interface was deleted (with its addresses).
                Err(e)
                    if e.errno() == Some(netplat::errno::EADDRNOTAVAIL)
                        || e.errno() == Some(netplat::errno::ENODEV) => {}
                Err(e) => {
                    if !quiet {
                        Metrics::bump(&self.metrics.vip_errors);
                        log::error!(
                            "VRRP_Instance({}) removing VIP {}/{}: {e}",
                            inst.spec.name,
                            v.addr,
                            v.prefix_len
                        );
                    }
                }
            }
        }
    }

    /// The table of the VRF device `name` (a route's `vrf NAME`), or keepalived's message.
    fn vrf_table(&mut self, name: &str) -> Result<u32, String> {
        match self.rtnl.link_by_name(name) {
            Ok(Some(l)) => match (l.kind.as_deref(), l.vrf_table) {
                (Some("vrf"), Some(t)) => Ok(t),
                _ => Err(format!("Route specified VRF {name} is not a VRF")),
            },
            _ => Err(format!("VRF {name} not found for route")),
        }
    }

    /// The kernel form of a virtual route of instance `i`: its `dev` resolved, or the
    /// instance's interface when it has neither `dev` nor `via`.
    pub(crate) fn route_spec(
        &mut self,
        inst: &Instance,
        r: &crate::routes::VirtualRoute,
    ) -> Option<netplat::RouteSpec> {
        let mut spec = r.spec.clone();
        if let Some(v) = &r.vrf {
            match self.vrf_table(v) {
                Ok(t) => spec = spec.table(t),
                Err(e) => {
                    log::error!(
                        "{}: VRRP_Instance({}) virtual route: {e}",
                        r.at,
                        inst.spec.name
                    );
                    return None;
                }
            }
        }
        match &r.dev {
            Some(d) => match self.rtnl.link_by_name(d) {
                Ok(Some(l)) => spec = spec.dev(l.index),
                _ => {
                    log::error!(
                        "{}: VRRP_Instance({}) virtual route dev {d} does not exist",
                        r.at,
                        inst.spec.name
                    );
                    return None;
                }
            },
            None if spec.gateway.is_none() && spec.kind == netplat::RouteKind::Unicast => {
                spec = spec.dev(inst.vip_if.1);
            }
            None => {}
        }
        Some(spec)
    }

    /// Installs rules (an identical rule already there counts as installed).
    pub(crate) fn add_rules(&mut self, rules: &[(netplat::RuleSpec, Located)]) {
        for (r, at) in rules {
            match self.rtnl.add_rule(r) {
                Ok(()) => {}
                Err(e) if e.errno() == Some(netplat::errno::EEXIST) => {}
                Err(e) => {
                    Metrics::bump(&self.metrics.vip_errors);
                    log::error!("{at}: {e}");
                }
            }
        }
    }

    pub(crate) fn remove_rules(&mut self, rules: &[(netplat::RuleSpec, Located)], quiet: bool) {
        for (r, at) in rules {
            match self.rtnl.del_rule(r) {
                Ok(()) => {}
                Err(e) if e.errno() == Some(netplat::errno::ENOENT) => {}
                Err(e) => {
                    if !quiet {
                        Metrics::bump(&self.metrics.vip_errors);
                        log::error!("{at}: {e}");
                    }
                }
            }
        }
    }

    pub(crate) fn add_routes(
        &mut self,
        inst: &mut Instance,
        routes: &[crate::routes::VirtualRoute],
    ) {
        for r in routes {
            let Some(spec) = self.route_spec(inst, r) else {
                continue;
            };
            if let Err(e) = self.rtnl.replace_route(&spec) {
                Metrics::bump(&self.metrics.vip_errors);
                log::error!("{}: VRRP_Instance({}) {e}", r.at, inst.spec.name);
            }
        }
    }

    pub(crate) fn remove_routes(
        &mut self,
        inst: &mut Instance,
        routes: &[crate::routes::VirtualRoute],
        quiet: bool,
    ) {
        for r in routes {
            let Some(spec) = self.route_spec(inst, r) else {
                continue;
            };
            match self.rtnl.del_route(&spec) {
                Ok(()) => {}
                Err(e) if e.errno() == Some(netplat::errno::ESRCH) => {}
                Err(e) => {
                    if !quiet {
                        Metrics::bump(&self.metrics.vip_errors);
                        log::error!("{}: VRRP_Instance({}) {e}", r.at, inst.spec.name);
                    }
                }
            }
        }
    }
}

/// Instance `inst`'s VIPs for the iptables firewall, in keepalived's order (VIPs, then
/// excluded VIPs), a link-local IPv6 VIP with its interface's name.
fn ipt_vips(inst: &Instance) -> Vec<crate::firewall_ipt::IptVip> {
    inst.all_vips()
        .into_iter()
        .map(|v| {
            let ll = matches!(v.addr, IpAddr::V6(x) if x.segments()[0] & 0xffc0 == 0xfe80);
            crate::firewall_ipt::IptVip {
                addr: v.addr,
                ifname: ll.then(|| v.dev.clone().unwrap_or_else(|| inst.vip_if.0.clone())),
            }
        })
        .collect()
}

/// Whether instance `inst` has no VIP firewall: it accepts traffic to its VIPs, or it is the
/// address owner (priority 255), as keepalived's `vrrp_handle_accept_mode` decides.
fn fw_exempt(inst: &Instance) -> bool {
    inst.spec.accept || inst.spec.priority.get() == 255
}
