//! One running `vrrp_instance`: its [`VirtualRouter`], sockets, VIP interface, lease and
//! tracking state ([`Instance`]), how it is built from its spec and the kernel, and how its state
//! machine's actions are carried out ([`Rt::apply`]).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use conf_parse::{Config, IpAddress};
use netplat::PacketSocket;
use tokio::sync::mpsc;
use vrrp_proto::{Action, Actions, Family, Input, Priority, State, VirtualRouter};

use crate::config::{self, InstanceSpec, LEASE_MARGIN_SECS};
use crate::io::{sock_proto, Io, SockEntry};
use crate::kernel::{vmac_mac, AddrVmac, Kernel, VmacReq};
use crate::notify::{self, Job};
use crate::runtime::{Env, Rt};
use crate::sync::Reconcile;
use crate::{sock, state_name, Metrics, TransitionCallback};

/// A running instance's id: given when it is built and never reused (a restarted instance
/// gets a new one), so sync groups, pacers and reloads hold it without keeping positions in
/// step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct InstId(u32);

/// The running instances by id (iterated in the order they were started).
#[derive(Default)]
pub(crate) struct Insts {
    next: u32,
    map: BTreeMap<InstId, Instance>,
}

impl Insts {
    /// Adds a built instance; its new id.
    pub(crate) fn insert(&mut self, inst: Instance) -> InstId {
        let id = InstId(self.next);
        self.next = self.next.wrapping_add(1);
        self.map.insert(id, inst);
        id
    }

    /// Takes an instance out.
    pub(crate) fn remove(&mut self, id: InstId) -> Option<Instance> {
        self.map.remove(&id)
    }

    /// The ids, in start order (a copy: the loop over them may change the instances).
    pub(crate) fn ids(&self) -> Vec<InstId> {
        self.map.keys().copied().collect()
    }

    /// The instance named `name`.
    pub(crate) fn by_name(&self, name: &str) -> Option<InstId> {
        self.find(|i| i.spec.name == name)
    }

    /// The first instance matching `f`.
    pub(crate) fn find(&self, f: impl Fn(&Instance) -> bool) -> Option<InstId> {
        self.map.iter().find(|(_, i)| f(i)).map(|(id, _)| *id)
    }

    pub(crate) fn get(&self, id: InstId) -> Option<&Instance> {
        self.map.get(&id)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Instance> {
        self.map.values()
    }

    pub(crate) fn iter_ids(&self) -> impl Iterator<Item = (InstId, &Instance)> {
        self.map.iter().map(|(id, i)| (*id, i))
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Instance> {
        self.map.values_mut()
    }
}

impl std::ops::Index<InstId> for Insts {
    type Output = Instance;
    /// Ids come from [`Insts::insert`] and are dropped with their instance: a missing one is
    /// a bug of the runtime, not of its input.
    fn index(&self, id: InstId) -> &Instance {
        &self.map[&id]
    }
}

impl std::ops::IndexMut<InstId> for Insts {
    fn index_mut(&mut self, id: InstId) -> &mut Instance {
        self.map
            .get_mut(&id)
            .unwrap_or_else(|| unreachable!("instance {id:?} not running"))
    }
}

pub(crate) struct Instance {
    pub(crate) spec: InstanceSpec,
    /// The instance's (base) interface: adverts are received there, its link state is tracked.
    pub(crate) ifindex: u32,
    /// Where VIPs, routes and GARPs go: the VMAC, else the base interface (name, index).
    pub(crate) vip_if: (String, u32),
    /// Socket adverts are sent from (the VMAC's unless `vmac_xmit_base`).
    pub(crate) tx_sock: usize,
    /// The instance's VMAC, created here or found from an earlier run (deleted when the
    /// instance leaves, as keepalived does).
    pub(crate) vmac_created: Option<u32>,
    /// VMACs of addresses (`use_vmac_addr`, a VIP's `use_vmac`).
    pub(crate) addr_vmacs: Vec<AddrVmac>,
    /// The VMACs whose IGMP/MLD/ND reports the iptables firewall drops (`vrrp_iptables`).
    pub(crate) ipt_vmacs: Vec<crate::firewall_ipt::IptVmac>,
    /// The VMACs in the nftables firewall's `vmac_map` (keepalived 2.2.7's `nft_add_vmac`).
    pub(crate) nft_vmacs: Vec<crate::firewall::NftVmac>,
    pub(crate) mac: [u8; 6],
    pub(crate) primary: IpAddr,
    pub(crate) vr: VirtualRouter,
    pub(crate) sock: usize,
    pub(crate) packet: Option<PacketSocket>,
    /// Gratuitous ARP/NA sockets of the other interfaces VIPs are put on with `dev`: (name,
    /// MAC, socket). keepalived sends each VIP's GARPs on the VIP's own interface.
    pub(crate) garp_ifs: Vec<(String, [u8; 6], PacketSocket)>,
    pub(crate) notify: Option<mpsc::UnboundedSender<Job>>,
    pub(crate) holding: bool,
    /// The VIPs this instance put in the firewall's `vips` sets (`no_accept`/`vrrp_strict`
    /// while master).
    pub(crate) fw_vips: Vec<crate::kernel::FwKey>,
    pub(crate) last_refresh: Option<Instant>,
    /// When the next `garp_extra_if` round is due (set on becoming master).
    pub(crate) extra_garp_at: Option<Instant>,
    /// Unicast VRRPv3 adverts use the old checksum (`old_unicast_checksum`, or switched to
    /// on receipt: keepalived's CHKSUM_COMPATIBILITY_CONFIG / _AUTO).
    pub(crate) old_checksum: bool,
    /// The lease renewals of the VIPs, serialized once (`None`: to be built at the next
    /// renewal; cleared whenever the VIPs are added, removed or reconfigured).
    pub(crate) lease_msgs: Option<(u64, Vec<netplat::Prepared>)>,
    pub(crate) link_up: bool,
    pub(crate) track_if_up: BTreeMap<String, bool>,
    /// Last value read from each tracked file.
    pub(crate) track_file_values: BTreeMap<String, i64>,
    pub(crate) fault: bool,
    pub(crate) delta: i32,
    pub(crate) ah_last_seq: u32,
    /// Our AH sequence number (v2 AH authentication).
    pub(crate) ah_tx_seq: u32,
    /// IP identification of our last advert.
    pub(crate) ip_ident: u16,
    /// `auth_hmac`: our send sequence (one per advert, shared by its unicast copies).
    pub(crate) hmac_tx: vrrp_proto::auth_hmac::SendSequence,
    /// `auth_hmac` replay marks of the unicast peers, by position in `spec.unicast_peers`.
    pub(crate) hmac_peers: Vec<vrrp_proto::auth_hmac::ReplayState>,
    /// `auth_hmac` replay marks of multicast senders.
    pub(crate) hmac_mcast: vrrp_proto::auth_hmac::McastSenders,
    /// The IPv4 adverts last emitted, one per destination, with the priority and source they
    /// were built with: a send without AH only restamps the IP ident (cleared when the
    /// configuration is reloaded).
    pub(crate) advert_cache: Vec<(Priority, Ipv4Addr, Ipv4Addr, Vec<u8>)>,
    /// Planned handover: keep VIPs until a new master is heard or this deadline.
    pub(crate) handover_until: Option<Instant>,
    /// New master heard: drop VIPs at this instant.
    pub(crate) handover_drop_at: Option<Instant>,
}

/// A track_file's value: the first integer in the file; 0 if missing or unparsable.
pub(crate) fn read_track_file(path: &str) -> i64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| t.split_whitespace().next().and_then(|w| w.parse().ok()))
        .unwrap_or(0)
}

/// What an instance acts with: the kernel, its sockets, the GARP pacing, and whom to tell
/// about transitions.
pub(crate) struct Cx<'a> {
    pub(crate) kernel: &'a mut Kernel,
    pub(crate) io: &'a Io,
    pub(crate) pacers: &'a mut crate::garp::Pacers,
    pub(crate) on_transition: Option<&'a TransitionCallback>,
}

/// What [`Instance::apply`] changed beyond the instance.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Applied {
    /// VIPs were added or removed: the held set is to be published.
    pub(crate) vips_changed: bool,
    /// The state changed: its sync group may move.
    pub(crate) state_changed: bool,
}

impl Instance {
    /// Carries out the actions of this instance's state machine: adverts (renewing the VIP
    /// lease when due), VIPs, gratuitous ARPs, and the notifications of a transition.
    pub(crate) fn apply(&mut self, cx: &mut Cx<'_>, now: Instant, actions: Actions) -> Applied {
        let mut done = Applied::default();
        for a in actions {
            match a {
                Action::SendAdvert { priority } => {
                    cx.io.send_advert(self, priority);
                    // keepalived vrrp_master: the extra-interface GARPs go with the advert
                    // that finds their timer passed.
                    if let (Some(at), Some(x)) = (self.extra_garp_at, &self.spec.garp_extra_if) {
                        if now > at && self.holding && self.vr.state() == State::Master {
                            self.extra_garp_at = Some(now + x.interval);
                            self.send_extra_garps(cx, now);
                        }
                    }
                    // The lease is renewed about every second (with every advert at intervals
                    // of 1 s and more, every ~1 s with faster adverts): the remaining lifetime
                    // stays within a second of the full lease (a frozen master's VIP expires
                    // at most a lease after its last advert), and fast adverts do not each cost
                    // a netlink message.
                    let iv = self.vr.config().advert_interval.to_duration();
                    let every = Duration::from_secs(1).saturating_sub(iv / 2).max(iv / 2);
                    if cx.kernel.lease
                        && self.holding
                        && self.vr.state() == State::Master
                        && self
                            .last_refresh
                            .is_none_or(|t| now.duration_since(t) >= every)
                    {
                        cx.kernel.renew_lease(self);
                    }
                }
                Action::AddVips { .. } => {
                    self.extra_garp_at = self.spec.garp_extra_if.as_ref().map(|x| now + x.interval);
                    cx.kernel.add_vips(self);
                    done.vips_changed = true;
                }
                Action::RemoveVips => {
                    cx.kernel.remove_vips(self, false);
                    done.vips_changed = true;
                }
                Action::SendGarp { count, .. } => self.send_garps(cx, count, now),
                Action::Notify { from, to, reason } => {
                    log::info!(
                        "VRRP_Instance({}) {} -> {} ({reason:?}), priority {}",
                        self.spec.name,
                        state_name(from),
                        state_name(to),
                        self.vr.priority().get()
                    );
                    let metrics = &cx.kernel.metrics;
                    match to {
                        State::Master => Metrics::bump(&metrics.became_master),
                        State::Backup => Metrics::bump(&metrics.became_backup),
                        State::Fault => Metrics::bump(&metrics.became_fault),
                        State::Initialize => {}
                    }
                    if to != State::Master {
                        cx.pacers.forget(&self.spec.name);
                    }
                    metrics.set_state(&self.spec.name, to, self.vr.priority().get());
                    if let Some(cb) = cx.on_transition {
                        cb(&self.spec.name, to);
                    }
                    done.state_changed = true;
                    if let Some(n) = &self.notify {
                        let _ = n.send(Job {
                            state: state_name(to),
                            priority: self.vr.priority().get(),
                            fifo_only: false,
                        });
                    }
                }
                Action::MasterRxLowerPriority { src, priority } => {
                    log::debug!(
                        "VRRP_Instance({}) lower priority advert from {src} ({})",
                        self.spec.name,
                        priority.get()
                    );
                    // notify_master_rx_lower_pri and the FIFO line, in the instance's queue.
                    if let Some(n) = &self.notify {
                        let _ = n.send(Job {
                            state: crate::notify::MASTER_RX_LOWER_PRI,
                            priority: self.vr.priority().get(),
                            fifo_only: false,
                        });
                    }
                }
                Action::ArmTimer(_) => {}
            }
        }
        done
    }

    /// The VIP lease in seconds: the worst-case Master_Down_Interval of any backup, rounded
    /// up, plus [`LEASE_MARGIN_SECS`].
    pub(crate) fn lease_secs(&self) -> u32 {
        let inst = self;
        // Worst-case Master_Down_Interval of any backup: down_timer_adverts intervals plus a
        // skew of at most one interval.
        let iv = inst.vr.config().advert_interval.to_duration();
        let mdi = iv * (u32::from(inst.spec.down_timer_adverts) + 1);
        let secs = u32::try_from(mdi.as_millis().div_ceil(1000)).unwrap_or(u32::MAX / 2);
        secs.saturating_add(LEASE_MARGIN_SECS)
    }

    pub(crate) fn all_vips(&self) -> Vec<IpAddress> {
        let inst = self;
        inst.spec
            .vips
            .iter()
            .chain(inst.spec.excluded.iter())
            .cloned()
            .collect()
    }
}

impl Rt {
    /// What an instance needs from the configuration and the kernel before anything is opened:
    /// its spec, its interface and its source address. The error is located.
    pub(crate) fn resolve(
        &mut self,
        config: &Config,
        ci: &conf_parse::VrrpInstance,
    ) -> Result<(InstanceSpec, netplat::Link, IpAddr), String> {
        let spec = config::instance_spec(config, ci).map_err(|e| e.to_string())?;
        let link = match self.instance_link(&spec) {
            Ok(Some(l)) => l,
            Ok(None) if spec.ifname.is_empty() => {
                return Err(format!(
                    "vrrp_instance {}: VRF {} does not exist",
                    spec.name,
                    spec.vrf.as_deref().unwrap_or("")
                ))
            }
            Ok(None) => {
                return Err(format!(
                    "{}:{}: vrrp_instance {}: interface {} does not exist",
                    ci.interface_loc.0.file, ci.interface_loc.0.line, spec.name, spec.ifname
                ))
            }
            Err(e) => {
                return Err(format!(
                    "vrrp_instance {}: looking up {}: {e}",
                    spec.name, spec.ifname
                ))
            }
        };
        let primary = match spec.src {
            Some(a) => Some(a),
            None => self
                .kernel
                .primary_address(link.index, spec.family, &spec.vips),
        };
        let Some(primary) = primary else {
            return Err(format!(
                "vrrp_instance {}: interface {} has no {:?} address to send from",
                spec.name, spec.ifname, spec.family
            ));
        };
        Ok((spec, link, primary))
    }

    /// The link an instance runs on: its interface; for an instance without one (keepalived
    /// 2.4.3: unicast from unicast_src_ip), a stand-in that is always up, index 0, named
    /// after its `vrf` device (which must exist) or empty.
    pub(crate) fn instance_link(
        &mut self,
        spec: &InstanceSpec,
    ) -> Result<Option<netplat::Link>, netplat::Error> {
        if !spec.ifname.is_empty() {
            return self.kernel.link_by_name(&spec.ifname);
        }
        if let Some(v) = &spec.vrf {
            if self.kernel.link_by_name(v)?.is_none() {
                return Ok(None);
            }
        }
        let mut l = netplat::Link::default();
        l.name = spec.vrf.clone().unwrap_or_default();
        l.up = true;
        l.lower_up = true;
        Ok(Some(l))
    }

    /// Sets up one configured instance: interface, source address, the (shared) socket, the
    /// GARP socket, the state machine (in Initialize) and its notification queue. `None` (logged
    /// with the location) when it cannot run; the others are unaffected.
    pub(crate) fn build_instance(
        &mut self,
        config: &Config,
        ci: &conf_parse::VrrpInstance,
        env: &mut Env,
    ) -> Option<Instance> {
        let (spec, link, primary) = match self.resolve(config, ci) {
            Ok(r) => r,
            Err(e) => {
                log::error!("{e}; instance skipped");
                return None;
            }
        };
        if spec.promote_secondaries && !spec.ifname.is_empty() {
            self.kernel.promote_secondaries(&spec.ifname);
        }
        if spec.ipvlan_no_src {
            log::info!(
                "({}) IPv4 ipvlan requires a source ip address to be configured. setting instance to fault state",
                spec.name
            );
        }
        if spec.no_peer_fault {
            log::info!(
                "({}) Cannot use unicast without any peers - going to fault state",
                spec.name
            );
        }
        let proto = sock_proto(&spec);
        let no_if = spec.ifname.is_empty();
        // A multicast instance with its own macvlan VMAC (adverts from the VMAC) receives on
        // its VMAC, as keepalived's socket is bound to it: a peer's adverts come from the same
        // virtual MAC, which the kernel's macvlan (private mode) hands to the local VMAC only,
        // never to the base interface.
        let vmac_rx = spec
            .vmac
            .as_ref()
            .is_some_and(|v| !v.xmit_base && v.ipvlan.is_none())
            && spec.unicast_peers.is_empty();
        // Without interface: a socket of its own, bound to unicast_src_ip (and to the VRF
        // device), shared only with the instances bound alike (keepalived's sockpool).
        let shared = if no_if {
            self.insts
                .iter()
                .find(|x| {
                    x.spec.ifname.is_empty()
                        && x.spec.vrf == spec.vrf
                        && x.spec.src == spec.src
                        && x.spec.family == spec.family
                        && sock_proto(&x.spec) == proto
                })
                .map(|x| x.sock)
        } else {
            self.io.socks.iter().position(|s| {
                s.receive && s.ifindex == link.index && s.family == spec.family && s.proto == proto
            })
        };
        let mut sidx = match shared {
            Some(i) => i,
            None if no_if => {
                let dev = spec.vrf.as_deref().unwrap_or("");
                let opened = match primary {
                    IpAddr::V6(src6) => sock::open_v6(dev, 0, src6, &[], true),
                    IpAddr::V4(src4) => sock::open_v4(dev, 0, proto, &[]).and_then(|s| {
                        sock::bind_src(&s, IpAddr::V4(src4))?;
                        Ok(s)
                    }),
                };
                let s = match opened {
                    Ok(s) => s,
                    Err(e) => {
                        log::error!("vrrp_instance {}: {e}; instance skipped", spec.name);
                        return None;
                    }
                };
                self.io.socks.push(SockEntry {
                    receive: true,
                    ifindex: 0,
                    family: spec.family,
                    proto,
                    fd: Arc::new(s),
                });
                self.io.socks.len() - 1
            }
            None if vmac_rx => usize::MAX,
            None => {
                // Multicast groups of every instance of the configuration on this interface.
                let groups: Vec<IpAddr> = config
                    .vrrp_instances
                    .iter()
                    .filter(|o| o.interface.as_deref() == Some(spec.ifname.as_str()))
                    .filter_map(|o| config::instance_spec(config, o).ok())
                    .filter(|o| o.unicast_peers.is_empty())
                    .map(|o| o.mcast_group)
                    .fold(Vec::new(), |mut v, g| {
                        if !v.contains(&g) {
                            v.push(g);
                        }
                        v
                    });
                let (mut g4, mut g6) = (Vec::new(), Vec::new());
                for g in groups {
                    match g {
                        IpAddr::V4(g) => g4.push(g),
                        IpAddr::V6(g) => g6.push(g),
                    }
                }
                let opened = match (spec.family, primary) {
                    (Family::V6, IpAddr::V6(src6)) => sock::open_v6(
                        &spec.ifname,
                        link.index,
                        src6,
                        &g6,
                        !spec.unicast_peers.is_empty(),
                    ),
                    (Family::V6, IpAddr::V4(_)) => {
                        log::error!(
                            "vrrp_instance {}: IPv6 instance needs an IPv6 source; skipped",
                            spec.name
                        );
                        return None;
                    }
                    (Family::V4, _) => sock::open_v4(&spec.ifname, link.index, proto, &g4),
                };
                let s = match opened {
                    Ok(s) => s,
                    Err(e) => {
                        log::error!("vrrp_instance {}: {e}; instance skipped", spec.name);
                        return None;
                    }
                };
                let rx = rx_buf_size(config, &spec, proto, link.mtu.unwrap_or(1500), false);
                if rx > 0 {
                    if let Err(e) = s.set_recv_buffer_size(rx) {
                        log::info!("vrrp set receive socket buffer size error {e}");
                    }
                }
                self.io.socks.push(SockEntry {
                    receive: true,
                    ifindex: link.index,
                    family: spec.family,
                    proto,
                    fd: Arc::new(s),
                });
                self.io.socks.len() - 1
            }
        };
        let mut mac = [0u8; 6];
        if link.mac.len() == 6 {
            mac.copy_from_slice(&link.mac);
        }
        let (mut vip_if, mut tx_sock, mut vmac_created) =
            ((spec.ifname.clone(), link.index), sidx, None);
        let mut ipt_vmacs = Vec::new();
        let mut nft_vmacs = Vec::new();
        if let Some(v) = spec.vmac.clone() {
            let other_family_evip = spec
                .excluded
                .iter()
                .any(|a| a.addr.is_ipv6() != (spec.family == Family::V6));
            let ll = match (spec.family, primary, v.xmit_base) {
                (Family::V6, IpAddr::V6(ll), false) => Some(ll),
                _ => None,
            };
            let made = self.kernel.setup_vmac(
                &spec.name,
                &link,
                &VmacReq {
                    vrid: spec.vrid.get(),
                    family: spec.family,
                    name: &v.name,
                    ipv6_on: spec.family == Family::V6 || other_family_evip,
                    link_local: ll,
                    ipvlan: v.ipvlan.as_ref(),
                },
            );
            let (vlink, created) = match made {
                Ok(x) => x,
                Err(e) => {
                    log::error!("vrrp_instance {}: {e}; instance skipped", spec.name);
                    return None;
                }
            };
            // keepalived 2.4.3 (netlink_link_add_vmac): an IPv6 VMAC, or an IPv4 one unless
            // disable_local_igmp, has its reports dropped by the iptables firewall.
            if v.ipvlan.is_none()
                && (spec.family == Family::V6 || !config.global.disable_local_igmp)
            {
                let (ipt, nft) = self.kernel.add_vmac_drops(
                    &vlink.name,
                    vlink.index,
                    link.index,
                    spec.family == Family::V6,
                    other_family_evip,
                    created,
                );
                ipt_vmacs.extend(ipt);
                nft_vmacs.extend(nft);
            }
            // use_ipvlan: keepalived 2.2.7 keeps the VIPs (and their GARPs) on the base
            // interface; only the adverts leave from the ipvlan.
            if v.ipvlan.is_none() {
                mac = vmac_mac(spec.vrid.get(), spec.family);
                vip_if = (vlink.name.clone(), vlink.index);
            }
            // keepalived (netlink_link_add_vmac: is_ours) deletes at stop a VMAC it found
            // from an earlier (killed) run as well as one it created.
            vmac_created = Some(vlink.index);
            if !v.xmit_base {
                // Joined to the instance's group when it receives there (vmac_rx): the VMAC
                // only accepts multicast it has joined.
                let (g4, g6) = match spec.mcast_group {
                    IpAddr::V4(g) if vmac_rx => (vec![g], vec![]),
                    IpAddr::V6(g) if vmac_rx => (vec![], vec![g]),
                    _ => (vec![], vec![]),
                };
                let tx = match (spec.family, primary) {
                    (Family::V6, IpAddr::V6(src6)) => sock::open_v6(
                        &vlink.name,
                        vlink.index,
                        src6,
                        &g6,
                        !spec.unicast_peers.is_empty(),
                    ),
                    _ => sock::open_v4(&vlink.name, vlink.index, proto, &g4),
                };
                match tx {
                    Ok(s) => {
                        if vmac_rx {
                            let rx =
                                rx_buf_size(config, &spec, proto, vlink.mtu.unwrap_or(1500), true);
                            if rx > 0 {
                                if let Err(e) = s.set_recv_buffer_size(rx) {
                                    log::info!("vrrp set receive socket buffer size error {e}");
                                }
                            }
                        }
                        self.io.socks.push(SockEntry {
                            receive: vmac_rx,
                            ifindex: vlink.index,
                            family: spec.family,
                            proto,
                            fd: Arc::new(s),
                        });
                        tx_sock = self.io.socks.len() - 1;
                        if vmac_rx {
                            sidx = tx_sock;
                        }
                    }
                    Err(e) => {
                        log::error!("vrrp_instance {}: {e}; instance skipped", spec.name);
                        return None;
                    }
                }
            }
        }
        if sidx == usize::MAX {
            log::error!(
                "vrrp_instance {}: no receive socket; instance skipped",
                spec.name
            );
            return None;
        }
        let packet = match crate::io::garp_socket(vip_if.1) {
            // no interface: gratuitous ARPs only on the VIPs' `dev`s
            _ if no_if => None,
            Ok(p) => Some(p),
            Err(e) => {
                log::error!("vrrp_instance {}: no GARP socket: {e}", spec.name);
                None
            }
        };
        let mut addr_vmacs = Vec::new();
        for av in spec.addr_vmacs.clone() {
            let base = match self.kernel.link_by_name(&av.base) {
                Ok(Some(l)) => l,
                _ => {
                    log::error!(
                        "vrrp_instance {}: VMAC {} for {:?}: interface {} does not exist",
                        spec.name,
                        av.name,
                        av.addrs,
                        av.base
                    );
                    continue;
                }
            };
            let ll = match av.family {
                Family::V6 => self
                    .kernel
                    .primary_address(base.index, Family::V6, &[])
                    .and_then(|a| match a {
                        IpAddr::V6(a) => Some(a),
                        IpAddr::V4(_) => None,
                    }),
                Family::V4 => None,
            };
            let made = self.kernel.setup_vmac(
                &spec.name,
                &base,
                &VmacReq {
                    vrid: spec.vrid.get(),
                    family: av.family,
                    name: &av.name,
                    ipv6_on: av.family == Family::V6,
                    link_local: ll,
                    ipvlan: None,
                },
            );
            match made {
                Ok((l, created)) => {
                    if av.family == Family::V6 || !config.global.disable_local_igmp {
                        // keepalived 2.2.7 creates address VMACs with netlink_link_add_vmac
                        // too (a dummy instance of the address's family).
                        let (ipt, nft) = self.kernel.add_vmac_drops(
                            &l.name,
                            l.index,
                            base.index,
                            av.family == Family::V6,
                            false,
                            created,
                        );
                        ipt_vmacs.extend(ipt);
                        nft_vmacs.extend(nft);
                    }
                    let packet = crate::io::garp_socket(l.index)
                        .map_err(|e| {
                            log::error!(
                                "vrrp_instance {}: no GARP socket on {}: {e}",
                                spec.name,
                                av.name
                            )
                        })
                        .ok();
                    addr_vmacs.push(AddrVmac {
                        mac: vmac_mac(spec.vrid.get(), av.family),
                        index: l.index,
                        created,
                        packet,
                        spec: av,
                    });
                }
                Err(e) => log::error!("vrrp_instance {}: {e}", spec.name),
            }
        }
        let mut garp_ifs: Vec<(String, [u8; 6], PacketSocket)> = Vec::new();
        // Addresses on an address VMAC send from its own socket.
        let on_addr_vmac = |a: &IpAddr| spec.addr_vmacs.iter().any(|v| v.addrs.contains(a));
        for d in spec
            .vips
            .iter()
            .chain(&spec.excluded)
            .filter(|v| !on_addr_vmac(&v.addr))
            .filter_map(|v| v.dev.as_ref())
        {
            if *d == spec.ifname || *d == vip_if.0 || garp_ifs.iter().any(|g| g.0 == *d) {
                continue;
            }
            // A missing interface is reported (located) when the VIP is added.
            let Ok(Some(l)) = self.kernel.link_by_name(d) else {
                continue;
            };
            let mut m = [0u8; 6];
            if l.mac.len() == 6 {
                m.copy_from_slice(&l.mac);
            }
            match crate::io::garp_socket(l.index) {
                Ok(p) => garp_ifs.push((d.clone(), m, p)),
                Err(e) => log::error!("vrrp_instance {}: no GARP socket on {d}: {e}", spec.name),
            }
        }
        let vr = VirtualRouter::new(spec.router_config(primary));
        let (ntx, handle) =
            notify::spawn_queue(spec.name.clone(), spec.notify.clone(), env.fifos.clone());
        env.notify_handles.push(handle);
        let track_if_up = spec
            .track_interfaces
            .iter()
            .map(|t| (t.name.clone(), true))
            .collect();
        Some(Instance {
            ifindex: link.index,
            vip_if,
            tx_sock,
            vmac_created,
            mac,
            primary,
            vr,
            sock: sidx,
            packet,
            garp_ifs,
            addr_vmacs,
            ipt_vmacs,
            nft_vmacs,
            notify: Some(ntx),
            holding: false,
            fw_vips: Vec::new(),
            last_refresh: None,
            extra_garp_at: None,
            old_checksum: spec.old_unicast_checksum == Some(conf_parse::OldUnicastChecksum::Config),
            lease_msgs: None,
            link_up: link.up && link.lower_up,
            track_if_up,
            // Read now, so a file holding the instance in FAULT does so from the start
            // (keepalived reads its track files before the instances start).
            track_file_values: spec
                .track_file_paths
                .iter()
                .map(|(n, p)| (n.clone(), read_track_file(p)))
                .collect(),
            fault: false,
            delta: 0,
            ah_last_seq: 0,
            ah_tx_seq: 0,
            ip_ident: (std::process::id() & 0xffff) as u16,
            hmac_tx: Default::default(),
            hmac_peers: Vec::new(),
            hmac_mcast: Default::default(),
            advert_cache: Vec::new(),
            handover_until: None,
            handover_drop_at: None,
            spec,
        })
    }

    /// Carries out actions of instance `i`'s state machine ([`Instance::apply`]), then publishes
    /// the held VIPs and moves its sync group's notifications if needed.
    pub(crate) fn apply(&mut self, i: InstId, now: Instant, actions: Actions) {
        let Rt {
            insts,
            kernel,
            io,
            pacers,
            opts,
            ..
        } = self;
        let mut cx = Cx {
            kernel,
            io,
            pacers,
            on_transition: opts.on_transition.as_ref(),
        };
        let done = insts[i].apply(&mut cx, now, actions);
        if done.vips_changed {
            self.held_dirty = true;
        }
        if done.state_changed {
            self.state_changed = true;
            self.sync
                .notify_changes(&self.insts, |n| self.pending.contains_key(n));
        }
    }

    /// Feed one input to instance `i`, perform its actions, then move its sync group together
    /// as [`crate::sync::Reconcile`] says.
    pub(crate) fn feed(&mut self, i: InstId, now: Instant, input: Input) {
        let waits = self.sync.waits(i, |n| self.pending.contains_key(n));
        let mut group = self
            .sync
            .members_of(i)
            .map(|m| Reconcile::before(m, &self.insts, waits));
        if group.is_some() {
            // The group may move its other members' timers too.
            self.deadlines_stale = true;
        } else {
            self.touched.push(i);
        }
        // A member's own fault clearing while the group stays in fault (another member still
        // in fault or waiting for its interface) does not take it out of FAULT, to be forced
        // back at once: it waits for the group's release (keepalived's num_member_fault).
        let held = matches!(input, Input::Fault(false))
            && self.insts[i].vr.state() == State::Fault
            && group.as_ref().is_some_and(|g| {
                waits
                    || g.members()
                        .iter()
                        .any(|&k| k != i && self.insts.get(k).is_some_and(|o| o.vr.is_fault()))
            });
        if held {
            self.insts[i].vr.clear_fault_held();
            return;
        }
        let a = self.insts[i].vr.handle(now, input);
        self.apply(i, now, a);
        let Some(group) = group.as_mut() else {
            return;
        };
        while let Some(force) = group.next(&self.insts) {
            for &k in group.members() {
                let a = force.on(&mut self.insts[k].vr, now);
                self.apply(k, now, a);
            }
        }
    }

    /// Re-reads links (the instance's interface and track_interface) and/or track files, and
    /// feeds what changed to the state machines.
    pub(crate) fn poll_links(&mut self, now: Instant, links: bool, files: bool) {
        let links = if links {
            match self.kernel.links() {
                Ok(l) => Some(l),
                Err(e) => {
                    log::warn!("link poll: {e}");
                    None
                }
            }
        } else {
            None
        };
        // Every address, read once for all instances (not a dump per instance).
        let mut addrs: Option<Vec<netplat::Address>> = None;
        for i in self.insts.ids() {
            let mut changed = false;
            let inst = &mut self.insts[i];
            if let Some(links) = &links {
                // (an instance without interface has none to track)
                if !inst.spec.ifname.is_empty() {
                    let up = links
                        .iter()
                        .find(|l| l.index == inst.ifindex)
                        .is_some_and(|l| l.up && l.lower_up);
                    let up = self.linkbeats.state(&inst.spec.ifname).unwrap_or(up);
                    let up = self.if_delays.effective(&inst.spec.ifname, up, now);
                    if !links.iter().any(|l| l.index == inst.ifindex) {
                        self.gone.push(i);
                    } else if up
                        && !self.sync.contains(i)
                        && !inst.spec.dont_track_primary
                        && inst.spec.src.is_none()
                        && inst.spec.family == Family::V4
                        && crate::kernel::primary_in(
                            addrs.get_or_insert_with(|| {
                                self.kernel.rtnl.addresses(None).unwrap_or_default()
                            }),
                            inst.ifindex,
                            Family::V4,
                            &inst.spec.vips,
                        )
                        .is_none()
                    {
                        // Its source address was deleted: FAULT, waiting for an address.
                        log::info!(
                            "({}) entering FAULT state (no IPv4 address for interface {})",
                            inst.spec.name,
                            inst.spec.ifname
                        );
                        self.gone.push(i);
                    }
                    if up != inst.link_up {
                        log::info!(
                            "VRRP_Instance({}) interface {} is {}",
                            inst.spec.name,
                            inst.spec.ifname,
                            if up { "UP" } else { "DOWN" }
                        );
                        inst.link_up = up;
                        changed = true;
                    }
                }
                for t in &inst.spec.track_interfaces {
                    let up = links
                        .iter()
                        .find(|l| l.name == t.name)
                        .is_some_and(|l| l.up && l.lower_up);
                    let up = self.linkbeats.state(&t.name).unwrap_or(up);
                    let up = self.if_delays.effective(&t.name, up, now);
                    if inst.track_if_up.get(&t.name) != Some(&up) {
                        inst.track_if_up.insert(t.name.clone(), up);
                        changed = true;
                    }
                }
            }
            for (name, path) in inst.spec.track_file_paths.iter().filter(|_| files) {
                let v = read_track_file(path);
                if inst.track_file_values.get(name) != Some(&v) {
                    inst.track_file_values.insert(name.clone(), v);
                    changed = true;
                }
            }
            if changed {
                self.recompute_tracking(i, now, false);
            }
        }
        if let Some(links) = &links {
            self.kernel.restore_statics(links);
            self.check_deleted(now, addrs);
        }
    }

    /// Recompute fault and priority delta from links and scripts; feed changes to the FSM.
    /// Recomputes the tracking of the instances whose spec matches `tracks` (they track what
    /// just changed).
    pub(crate) fn recompute_tracking_of(&mut self, tracks: impl Fn(&InstanceSpec) -> bool) {
        let now = Instant::now();
        for i in self.insts.ids() {
            if tracks(&self.insts[i].spec) {
                self.recompute_tracking(i, now, false);
            }
        }
    }

    pub(crate) fn recompute_tracking(&mut self, i: InstId, now: Instant, initial: bool) {
        let inst = &self.insts[i];
        let mut fault = (!inst.spec.dont_track_primary && !inst.link_up)
            || inst.spec.no_peer_fault
            || inst.spec.ipvlan_no_src;
        let mut delta = 0i32;
        let mut weigh = |ok: bool, w: i32, reverse: bool, fault: &mut bool| {
            // keepalived: unweighted, down is a fault (up, reversed); weighted, a positive
            // weight counts while up and a negative one while down, negated when reversed.
            if w == 0 {
                if ok == reverse {
                    *fault = true;
                }
                return;
            }
            if (w > 0) == ok {
                delta += if reverse { -w } else { w };
            }
        };
        for t in &inst.spec.track_interfaces {
            let ok = inst.track_if_up.get(&t.name).copied().unwrap_or(false);
            weigh(ok, t.weight, t.reverse, &mut fault);
        }
        for t in &inst.spec.track_scripts {
            if self.insecure_scripts.contains(&t.name) {
                continue;
            }
            if self.scripts_init.contains(&t.name) {
                // No result yet: neither its weight nor a fault (keepalived's INIT state).
                continue;
            }
            let ok = self.scripts_ok.get(&t.name).copied().unwrap_or(true);
            weigh(ok, t.weight, t.reverse, &mut fault);
        }
        for t in &inst.spec.track_processes {
            let ok = self.procs_ok.get(&t.name).copied().unwrap_or(true);
            weigh(ok, t.weight, t.reverse, &mut fault);
        }
        for t in &inst.spec.track_bfds {
            let ok = self.bfd_up.get(&t.name).copied().unwrap_or(false);
            weigh(ok, t.weight, t.reverse, &mut fault);
        }
        for t in &inst.spec.track_files {
            // keepalived: weight 0 -> a non-zero value is a fault; else value × weight.
            let v = inst.track_file_values.get(&t.name).copied().unwrap_or(0);
            if t.weight == 0 {
                // Reversed: zero is the fault.
                if (v != 0) != t.reverse {
                    fault = true;
                }
            } else {
                let w = if t.reverse { -t.weight } else { t.weight };
                let add = v.saturating_mul(i64::from(w)).clamp(-254, 254);
                delta += i32::try_from(add).unwrap_or(0);
            }
        }
        if delta != inst.delta || initial {
            let before = inst.vr.priority().get();
            self.insts[i].delta = delta;
            self.feed(i, now, Input::PriorityChange(delta));
            let inst = &self.insts[i];
            let after = inst.vr.priority().get();
            // keepalived vrrp_set_effective_priority: "Changing effective priority", and with
            // notify_priority_changes the FIFO line (an owner's priority never changes).
            if after != before {
                log::info!(
                    "({}) Changing effective priority from {before} to {after}",
                    inst.spec.name
                );
                if let Some(n) = inst
                    .notify
                    .as_ref()
                    .filter(|_| inst.spec.notify_priority_changes)
                {
                    let _ = n.send(crate::notify::Job {
                        state: if inst.vr.state() == State::Master {
                            crate::notify::MASTER_PRIORITY
                        } else {
                            crate::notify::BACKUP_PRIORITY
                        },
                        priority: after,
                        fifo_only: true,
                    });
                }
            }
        }
        if fault != self.insts[i].fault || (initial && fault) {
            self.insts[i].fault = fault;
            self.feed(i, now, Input::Fault(fault));
        }
        let inst = &self.insts[i];
        self.metrics
            .set_priority(&inst.spec.name, inst.vr.priority().get());
    }
}

/// The receive buffer of the socket `spec`'s instance opens (keepalived `vrrp_create_sockpool`):
/// the sum, over the instances of the configuration on that interface, family and protocol, of
/// their `kernel_rx_buf_size`, else per `vrrp_rx_bufs_policy` a size, `vrrp_rx_bufs_multiplier`
/// (default 3) times the advert's length (ADVERT) or the interface's MTU (MTU); 0: the kernel's
/// default is kept.
/// The receive buffer of the socket `spec` receives on: for the instances sharing it (all of
/// its interface's, or `spec` alone on its own VMAC's socket).
fn rx_buf_size(
    config: &Config,
    spec: &crate::config::InstanceSpec,
    proto: i32,
    mtu: u32,
    alone: bool,
) -> usize {
    use conf_parse::RxBufsPolicy;
    let g = &config.global;
    let mult = g.vrrp_rx_bufs_multiplier.unwrap_or(3) as usize;
    config
        .vrrp_instances
        .iter()
        .filter(|o| o.interface.as_deref() == Some(spec.ifname.as_str()))
        .filter(|o| !alone || o.name == spec.name)
        .filter_map(|o| {
            crate::config::instance_spec(config, o)
                .ok()
                .map(|sp| (o, sp))
        })
        .filter(|(_, sp)| sp.family == spec.family && sock_proto(sp) == proto)
        .map(
            |(o, sp)| match (o.kernel_rx_buf_size, g.vrrp_rx_bufs_policy) {
                (Some(k), _) => k as usize,
                (None, Some(RxBufsPolicy::Size(n))) => n as usize,
                (None, Some(RxBufsPolicy::Advert)) => {
                    // vrrp_adv_len: VRRP header, v2 authentication data, the addresses, the IPv4
                    // header (and AH).
                    let n = sp.vips.len();
                    let len = match sp.family {
                        Family::V4 => {
                            let auth = if sp.version == vrrp_proto::Version::V2 {
                                8
                            } else {
                                0
                            };
                            let ah = if proto == crate::sock::IPPROTO_AH {
                                24
                            } else {
                                0
                            };
                            8 + auth + 4 * n + 20 + ah
                        }
                        Family::V6 => 8 + 16 * n,
                    };
                    mult * len
                }
                (None, Some(RxBufsPolicy::Mtu)) => mult * mtu as usize,
                (None, None) => 0,
            },
        )
        .sum()
}
