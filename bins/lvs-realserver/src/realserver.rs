//! The LVS real-server engine behind `lvs-realserver`: plan, apply with rollback, stop,
//! status. All kernel access goes through two traits ([`Sysctl`] and [`Net`]) so the whole
//! logic — including rollback after a failure half-way — is unit-tested in memory.
//!
//! What `start` does:
//! * **DR**: every VIP as /32 (IPv6 /128 `nodad`) on `lo` with a label (IPv4), after
//!   `arp_ignore=1` and `arp_announce=2` on `all`, `lo` and `--iface`. The kernel uses
//!   max(all, iface) for both, so `all` makes it hold for every interface; the explicit
//!   per-interface values document intent and survive someone lowering `all`.
//!   No extra host route is added (the old script's `route add -host VIP dev lo:0` is
//!   redundant: the kernel puts a local route for every address in table `local`).
//! * **TUN**: `tunl0` (created as a wildcard ipip device when missing, then brought up)
//!   carries the VIPs as /32; `rp_filter=0` on `tunl0` and on `all` (the kernel uses
//!   max(all, iface), so `all` must be relaxed too, otherwise decapsulated packets whose
//!   source is routed via another interface are dropped); the ARP settings of DR as well,
//!   because the VIP is still a local address that `eth0` would otherwise answer ARP for.
//!
//! Every value found before the change is saved in the [`State`]; `stop` writes exactly
//! those back, removes the VIPs and undoes link changes. Re-running `start` with the same
//! input changes nothing (and repairs drift); re-running `stop` is harmless.

use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;

use arp_sysctl::state::{Mode, SavedLink, SavedSysctl, SavedVip, State};
use arp_sysctl::{ConfKey, Error, Sysctl, Target};

/// The tunnel device used in TUN mode.
pub const TUN_DEV: &str = "tunl0";
/// Default IPv4 label suffix: VIPs get `lo:rs0` / `tunl0:rs0`.
pub const LABEL_SUFFIX: &str = "rs0";

/// A link as the engine needs to see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkState {
    /// Name.
    pub name: String,
    /// Administratively up.
    pub up: bool,
}

/// An address configured on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAddr {
    /// Device name.
    pub dev: String,
    /// Address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// IPv4 label.
    pub label: Option<String>,
}

/// Link and address operations the engine needs (implemented over rtnetlink by
/// [`KernelNet`], in memory by tests).
pub trait Net {
    /// Looks a link up by name.
    fn link(&mut self, name: &str) -> Result<Option<LinkState>, Error>;
    /// Every address of the host (namespace).
    fn addresses(&mut self) -> Result<Vec<HostAddr>, Error>;
    /// Adds a VIP (fails if it already exists).
    fn add_vip(&mut self, vip: &SavedVip) -> Result<(), Error>;
    /// Removes a VIP; absent is not an error.
    fn del_vip(&mut self, vip: &SavedVip) -> Result<(), Error>;
    /// Sets a link up or down.
    fn set_up(&mut self, name: &str, up: bool) -> Result<(), Error>;
    /// Creates a wildcard ipip device; returns false when it turned out to exist already
    /// (the ipip module creates `tunl0` itself when it loads).
    fn create_ipip(&mut self, name: &str) -> Result<bool, Error>;
    /// Deletes a link.
    fn delete_link(&mut self, name: &str) -> Result<(), Error>;
}

/// An rtnetlink failure as `arp-sysctl`'s error (its errno kept for
/// [`Error::is_permission`]).
fn net(e: netplat::Error) -> Error {
    Error::Net {
        errno: e.errno(),
        message: e.to_string(),
    }
}

/// [`Net`] over a real rtnetlink socket ([`netplat::Rtnl`]).
#[derive(Debug)]
pub struct KernelNet {
    rtnl: netplat::Rtnl,
}

impl KernelNet {
    /// Opens the netlink socket in the current network namespace.
    pub fn new() -> Result<Self, Error> {
        Ok(KernelNet {
            rtnl: netplat::Rtnl::new().map_err(net)?,
        })
    }

    fn index(&mut self, name: &str) -> Result<u32, Error> {
        self.rtnl
            .link_by_name(name)
            .map_err(net)?
            .map(|l| l.index)
            .ok_or_else(|| Error::InvalidInput(format!("interface {name} does not exist")))
    }

    fn spec(&mut self, vip: &SavedVip) -> Result<netplat::AddressSpec, Error> {
        let idx = self.index(&vip.dev)?;
        let mut spec = netplat::AddressSpec::new(idx, vip.addr, vip.prefix_len);
        if let Some(l) = &vip.label {
            spec = spec.label(l.clone());
        }
        if vip.addr.is_ipv6() {
            spec = spec.flags(netplat::AddrFlags::NODAD);
        }
        Ok(spec)
    }
}

impl Net for KernelNet {
    fn link(&mut self, name: &str) -> Result<Option<LinkState>, Error> {
        Ok(self
            .rtnl
            .link_by_name(name)
            .map_err(net)?
            .map(|l| LinkState {
                name: l.name,
                up: l.up,
            }))
    }

    fn addresses(&mut self) -> Result<Vec<HostAddr>, Error> {
        let links = self.rtnl.links().map_err(net)?;
        let addrs = self.rtnl.addresses(None).map_err(net)?;
        Ok(addrs
            .into_iter()
            .map(|a| HostAddr {
                dev: links
                    .iter()
                    .find(|l| l.index == a.index)
                    .map(|l| l.name.clone())
                    .unwrap_or_else(|| format!("ifindex {}", a.index)),
                addr: a.addr,
                prefix_len: a.prefix_len,
                label: a.label,
            })
            .collect())
    }

    fn add_vip(&mut self, vip: &SavedVip) -> Result<(), Error> {
        let spec = self.spec(vip)?;
        self.rtnl.add_address(&spec).map_err(net)
    }

    fn del_vip(&mut self, vip: &SavedVip) -> Result<(), Error> {
        let idx = match self.rtnl.link_by_name(&vip.dev).map_err(net)? {
            Some(l) => l.index,
            None => return Ok(()), // the device is gone, so is the address
        };
        // Delete by address and prefix only: a label changed behind our back must not
        // leave the VIP in place.
        let spec = netplat::AddressSpec::new(idx, vip.addr, vip.prefix_len);
        match self.rtnl.del_address(&spec) {
            Err(e) if e.errno() == Some(netplat::errno::EADDRNOTAVAIL) => Ok(()),
            other => other.map_err(net),
        }
    }

    fn set_up(&mut self, name: &str, up: bool) -> Result<(), Error> {
        let idx = self.index(name)?;
        self.rtnl.set_link_up(idx, up).map_err(net)
    }

    fn create_ipip(&mut self, name: &str) -> Result<bool, Error> {
        match self.rtnl.add_ipip(name, None, None) {
            Ok(_) => Ok(true),
            Err(e) if e.errno() == Some(netplat::errno::EEXIST) => Ok(false),
            Err(e)
                if matches!(
                    e.errno(),
                    Some(netplat::errno::EOPNOTSUPP) | Some(netplat::errno::EINVAL)
                ) =>
            {
                Err(Error::InvalidInput(format!(
                    "TUN mode needs the ipip kernel module, which this kernel cannot provide ({e})"
                )))
            }
            Err(e) => Err(net(e)),
        }
    }

    fn delete_link(&mut self, name: &str) -> Result<(), Error> {
        match self.rtnl.link_by_name(name).map_err(net)? {
            Some(l) => self.rtnl.del_link(l.index).map_err(net),
            None => Ok(()),
        }
    }
}

/// One change, in the order it is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Create a wildcard ipip device.
    CreateIpip {
        /// Device name.
        name: String,
    },
    /// Write a sysctl. `from` is the value expected before (None: not known yet).
    SetSysctl {
        /// Where.
        target: Target,
        /// Which key.
        key: ConfKey,
        /// Previous value, if known at plan time.
        from: Option<i32>,
        /// New value.
        to: i32,
    },
    /// Add a VIP.
    AddVip(SavedVip),
    /// Remove a VIP.
    DelVip(SavedVip),
    /// Set a link up.
    LinkUp {
        /// Device name.
        name: String,
    },
    /// Set a link down.
    LinkDown {
        /// Device name.
        name: String,
    },
    /// Delete a link.
    DeleteLink {
        /// Device name.
        name: String,
    },
}

fn vip_text(v: &SavedVip) -> String {
    let mut s = format!("{}/{} dev {}", v.addr, v.prefix_len, v.dev);
    if let Some(l) = &v.label {
        s.push_str(&format!(" label {l}"));
    }
    if v.addr.is_ipv6() {
        s.push_str(" nodad");
    }
    s
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::CreateIpip { name } => write!(f, "create ipip device {name}"),
            Step::SetSysctl {
                target,
                key,
                from,
                to,
            } => match from {
                Some(v) => write!(f, "sysctl {}: {v} -> {to}", target.sysctl_name(*key)),
                None => write!(f, "sysctl {} -> {to}", target.sysctl_name(*key)),
            },
            Step::AddVip(v) => write!(f, "add address {}", vip_text(v)),
            Step::DelVip(v) => write!(f, "remove address {}", vip_text(v)),
            Step::LinkUp { name } => write!(f, "set link {name} up"),
            Step::LinkDown { name } => write!(f, "set link {name} down"),
            Step::DeleteLink { name } => write!(f, "delete link {name}"),
        }
    }
}

/// What `start` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartRequest {
    /// Forwarding method.
    pub mode: Mode,
    /// The interface facing the director (gets the ARP settings too).
    pub iface: Option<String>,
    /// VIPs as typed by the user (`192.0.2.10`, `192.0.2.10/32`, `2001:db8::10`).
    pub vips: Vec<String>,
    /// IPv4 label override (default `lo:rs0` / `tunl0:rs0`).
    pub label: Option<String>,
}

/// The result of planning: the steps and the state to save once they succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Changes, in order.
    pub steps: Vec<Step>,
    /// The state after success.
    pub state: State,
    /// Remarks for the operator (already configured VIPs, adopted addresses...).
    pub notes: Vec<String>,
}

/// Parses one VIP: an address with an optional `/32` (`/128`). Rejects addresses that
/// can never be a service VIP.
pub fn parse_vip(text: &str) -> Result<IpAddr, Error> {
    let (addr_text, plen) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let addr: IpAddr = addr_text
        .trim()
        .parse()
        .map_err(|_| Error::InvalidInput(format!("{text:?} is not an IP address")))?;
    if let Some(p) = plen {
        let full = if addr.is_ipv4() { "32" } else { "128" };
        if p != full {
            return Err(Error::InvalidInput(format!(
                "VIP {text}: only /{full} is meaningful for a real-server VIP"
            )));
        }
    }
    let why = match addr {
        IpAddr::V4(a) => {
            if a.is_unspecified() {
                Some("the unspecified address")
            } else if a.is_broadcast() {
                Some("the limited broadcast address")
            } else if a.is_multicast() {
                Some("a multicast address")
            } else if a.is_loopback() {
                Some("a loopback address")
            } else if a.octets()[0] == 0 {
                Some("in 0.0.0.0/8 (\"this network\")")
            } else if a.octets()[0] >= 240 {
                Some("a reserved (class E) address")
            } else {
                None
            }
        }
        IpAddr::V6(a) => {
            if a.is_unspecified() {
                Some("the unspecified address")
            } else if a.is_multicast() {
                Some("a multicast address")
            } else if a.is_loopback() {
                Some("the loopback address")
            } else if (a.segments()[0] & 0xffc0) == 0xfe80 {
                Some("link-local (a VIP must be routable)")
            } else if a.to_ipv4_mapped().is_some() {
                Some("an IPv4-mapped address")
            } else {
                None
            }
        }
    };
    match why {
        Some(w) => Err(Error::InvalidInput(format!(
            "VIP {addr} is {w}, not usable as a VIP"
        ))),
        None => Ok(addr),
    }
}

/// If `vip` is the network or broadcast address of an IPv4 subnet configured on this
/// host, says which.
fn subnet_conflict(vip: IpAddr, addrs: &[HostAddr]) -> Option<String> {
    let IpAddr::V4(v) = vip else { return None };
    let v = u32::from(v);
    for a in addrs {
        let IpAddr::V4(h) = a.addr else { continue };
        if a.prefix_len == 0 || a.prefix_len > 30 {
            continue; // /31 and /32 have no network/broadcast address
        }
        let mask = u32::MAX << (32 - u32::from(a.prefix_len));
        let net = u32::from(h) & mask;
        let bcast = net | !mask;
        if v == net {
            return Some(format!(
                "VIP {vip} is the network address of {h}/{} on {}",
                a.prefix_len, a.dev
            ));
        }
        if v == bcast {
            return Some(format!(
                "VIP {vip} is the broadcast address of {}/{} on {}",
                Ipv4Addr::from(u32::from(h)),
                a.prefix_len,
                a.dev
            ));
        }
    }
    None
}

fn check_label(label: &str, dev: &str) -> Result<(), Error> {
    let ok = label.len() <= netplat::IFNAME_MAX
        && (label == dev || label.starts_with(&format!("{dev}:")))
        && label.len() > dev.len() + 1
        && !label.chars().any(|c| c.is_whitespace() || c == '/');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "label {label:?} must be \"{dev}:NAME\" and at most {} bytes",
            netplat::IFNAME_MAX
        )))
    }
}

/// The sysctls `mode` needs, in the order they are written.
pub fn desired_sysctls(mode: Mode, iface: Option<&Target>) -> Vec<(Target, ConfKey, i32)> {
    let lo = Target::Iface("lo".into());
    let mut targets = vec![Target::All, lo];
    if let Some(i) = iface {
        if !targets.contains(i) {
            targets.push(i.clone());
        }
    }
    let mut out = Vec::new();
    for t in &targets {
        out.push((t.clone(), ConfKey::ArpIgnore, 1));
        out.push((t.clone(), ConfKey::ArpAnnounce, 2));
    }
    if mode == Mode::Tun {
        out.push((Target::Iface(TUN_DEV.into()), ConfKey::RpFilter, 0));
        out.push((Target::All, ConfKey::RpFilter, 0));
    }
    out
}

/// Plans `start`: validates everything first (nothing is changed here) and returns the
/// steps plus the state to save. `existing` is the state of a previous `start`.
pub fn plan_start(
    sys: &dyn Sysctl,
    net: &mut dyn Net,
    req: &StartRequest,
    existing: Option<&State>,
) -> Result<Plan, Error> {
    if req.vips.is_empty() {
        return Err(Error::InvalidInput("no VIP given".into()));
    }
    let iface_target = match &req.iface {
        Some(i) => {
            let t = Target::iface(i)?;
            if net.link(i)?.is_none() {
                return Err(Error::InvalidInput(format!("interface {i} does not exist")));
            }
            Some(t)
        }
        None => None,
    };
    if let Some(st) = existing {
        if st.mode != req.mode {
            return Err(Error::InvalidInput(format!(
                "already started in {} mode; run stop first to switch to {}",
                st.mode, req.mode
            )));
        }
        if req.iface.is_some() && st.iface.is_some() && st.iface != req.iface {
            return Err(Error::InvalidInput(format!(
                "already started with --iface {}; run stop first to change it",
                st.iface.as_deref().unwrap_or("")
            )));
        }
    }
    let dev = match req.mode {
        Mode::Dr => "lo",
        Mode::Tun => TUN_DEV,
    };
    let label = match &req.label {
        Some(l) => {
            check_label(l, dev)?;
            l.clone()
        }
        None => format!("{dev}:{LABEL_SUFFIX}"),
    };

    // Parse and validate every VIP before touching anything.
    let mut vips: Vec<IpAddr> = Vec::new();
    for text in &req.vips {
        let v = parse_vip(text)?;
        if req.mode == Mode::Tun && v.is_ipv6() {
            return Err(Error::InvalidInput(format!(
                "VIP {v}: TUN mode supports IPv4 VIPs only (tunl0 is IPv4-in-IPv4)"
            )));
        }
        if !vips.contains(&v) {
            vips.push(v);
        }
    }
    let host = net.addresses()?;
    let mut state = existing
        .cloned()
        .unwrap_or_else(|| State::new(req.mode, req.iface.clone()));
    if state.iface.is_none() {
        state.iface = req.iface.clone();
    }
    let mut steps = Vec::new();
    let mut notes = Vec::new();
    let mut vip_steps = Vec::new();
    for v in &vips {
        if let Some(c) = subnet_conflict(*v, &host) {
            return Err(Error::InvalidInput(c));
        }
        let present: Vec<&HostAddr> = host.iter().filter(|h| h.addr == *v).collect();
        let saved = SavedVip {
            addr: *v,
            prefix_len: if v.is_ipv4() { 32 } else { 128 },
            dev: dev.to_string(),
            label: if v.is_ipv4() {
                Some(label.clone())
            } else {
                None
            },
        };
        let ours = state.vip(*v).cloned();
        // An address we did not put there (other device, other label, or an IPv6
        // address we have no record of: IPv6 has no label to recognise ours by).
        let foreign = |h: &HostAddr| {
            h.dev != dev || h.label != saved.label || (v.is_ipv6() && ours.is_none())
        };
        match (&ours, present.first()) {
            (Some(s), Some(h)) if h.dev == s.dev => {
                notes.push(format!("VIP {v} already configured"));
            }
            (_, Some(h)) if foreign(h) => {
                return Err(Error::InvalidInput(format!(
                    "VIP {v} is already a real address of this host (on {}); refusing to take it over",
                    h.dev
                )));
            }
            (None, Some(_)) => {
                // Same device and exactly our label: left by an earlier run whose state
                // was lost. Adopt it so stop removes it.
                notes.push(format!("VIP {v} found with our label {label}, adopted"));
                state.vips.push(saved);
            }
            (Some(s), _) => {
                notes.push(format!("VIP {v} was removed behind our back, re-adding"));
                vip_steps.push(Step::AddVip(s.clone()));
            }
            (None, None) => {
                vip_steps.push(Step::AddVip(saved.clone()));
                state.vips.push(saved);
            }
        }
    }

    // TUN device.
    if req.mode == Mode::Tun {
        match net.link(TUN_DEV)? {
            Some(l) => {
                if !state.links.iter().any(|s| s.name == TUN_DEV) {
                    state.links.push(SavedLink {
                        name: TUN_DEV.into(),
                        created: false,
                        was_up: l.up,
                    });
                }
                if !l.up {
                    steps.push(Step::LinkUp {
                        name: TUN_DEV.into(),
                    });
                }
            }
            None => {
                steps.push(Step::CreateIpip {
                    name: TUN_DEV.into(),
                });
                steps.push(Step::LinkUp {
                    name: TUN_DEV.into(),
                });
                if !state.links.iter().any(|s| s.name == TUN_DEV) {
                    state.links.push(SavedLink {
                        name: TUN_DEV.into(),
                        created: true,
                        was_up: false,
                    });
                }
            }
        }
    }

    // Sysctls: save originals of keys not managed yet, write what differs.
    for (t, k, want) in desired_sysctls(req.mode, iface_target.as_ref()) {
        let exists = sys.exists(&t);
        let current = if exists { Some(sys.read(&t, k)?) } else { None };
        match state.sysctl(t.dir_name(), k.name()) {
            Some(_) => {}
            None => state.sysctls.push(SavedSysctl {
                target: t.dir_name().to_string(),
                key: k.name().to_string(),
                // Filled in at apply time when the directory appears with the device.
                original: current.unwrap_or(want),
                applied: want,
            }),
        }
        if current != Some(want) {
            steps.push(Step::SetSysctl {
                target: t,
                key: k,
                from: current,
                to: want,
            });
        }
    }
    // ARP suppression must be in force before the VIPs appear.
    steps.extend(vip_steps);
    Ok(Plan {
        steps,
        state,
        notes,
    })
}

/// Executes one step, returning the steps that undo it.
fn exec(sys: &mut dyn Sysctl, net: &mut dyn Net, step: &Step) -> Result<Vec<Step>, Error> {
    Ok(match step {
        Step::CreateIpip { name } => {
            if net.create_ipip(name)? {
                vec![Step::DeleteLink { name: name.clone() }]
            } else {
                vec![]
            }
        }
        Step::SetSysctl {
            target, key, to, ..
        } => {
            let before = sys.read(target, *key)?;
            sys.write(target, *key, *to)?;
            vec![Step::SetSysctl {
                target: target.clone(),
                key: *key,
                from: Some(*to),
                to: before,
            }]
        }
        Step::AddVip(v) => {
            net.add_vip(v)?;
            vec![Step::DelVip(v.clone())]
        }
        Step::DelVip(v) => {
            net.del_vip(v)?;
            vec![]
        }
        Step::LinkUp { name } => {
            net.set_up(name, true)?;
            vec![Step::LinkDown { name: name.clone() }]
        }
        Step::LinkDown { name } => {
            net.set_up(name, false)?;
            vec![Step::LinkUp { name: name.clone() }]
        }
        Step::DeleteLink { name } => {
            net.delete_link(name)?;
            vec![]
        }
    })
}

/// Applies a start plan. On the first failure every step already done is undone in
/// reverse order and [`Error::RolledBack`] is returned. On success the plan's state has
/// the originals of sysctls that only appeared during apply (a created `tunl0`).
pub fn apply_start(sys: &mut dyn Sysctl, net: &mut dyn Net, plan: &mut Plan) -> Result<(), Error> {
    let mut undo: Vec<Step> = Vec::new();
    for step in &plan.steps {
        if let Step::SetSysctl {
            target,
            key,
            from: None,
            ..
        } = step
        {
            match sys.read(target, *key) {
                Ok(cur) => {
                    if let Some(s) = plan
                        .state
                        .sysctls
                        .iter_mut()
                        .find(|s| s.target == target.dir_name() && s.key == key.name())
                    {
                        s.original = cur;
                    }
                }
                Err(e) => return Err(rollback(sys, net, undo, e)),
            }
        }
        match exec(sys, net, step) {
            Ok(u) => undo.extend(u),
            Err(e) => return Err(rollback(sys, net, undo, e)),
        }
    }
    Ok(())
}

fn rollback(sys: &mut dyn Sysctl, net: &mut dyn Net, undo: Vec<Step>, cause: Error) -> Error {
    let mut errors = Vec::new();
    for step in undo.iter().rev() {
        if let Err(e) = exec(sys, net, step) {
            errors.push(format!("{step}: {e}"));
        }
    }
    Error::RolledBack {
        cause: Box::new(cause),
        rollback_errors: errors,
    }
}

/// Undoes a plan that was applied successfully but could not be recorded (e.g. the
/// state file could not be written).
pub fn undo_start(sys: &mut dyn Sysctl, net: &mut dyn Net, plan: &Plan, cause: Error) -> Error {
    let mut undo = Vec::new();
    for step in &plan.steps {
        match step {
            Step::SetSysctl {
                target, key, to, ..
            } => {
                if let Some(s) = plan.state.sysctl(target.dir_name(), key.name()) {
                    undo.push(Step::SetSysctl {
                        target: target.clone(),
                        key: *key,
                        from: Some(*to),
                        to: s.original,
                    });
                }
            }
            Step::AddVip(v) => undo.push(Step::DelVip(v.clone())),
            Step::LinkUp { name } => undo.push(Step::LinkDown { name: name.clone() }),
            Step::CreateIpip { name }
                if plan
                    .state
                    .links
                    .iter()
                    .any(|l| &l.name == name && l.created) =>
            {
                undo.push(Step::DeleteLink { name: name.clone() })
            }
            _ => {}
        }
    }
    rollback(sys, net, undo, cause)
}

/// Plans `stop`. With `only`, just those VIPs are removed, unless no VIP would remain,
/// in which case everything is restored. Returns the steps and the state to keep
/// (`None`: delete the state file).
pub fn plan_stop(
    sys: &dyn Sysctl,
    state: &State,
    only: Option<&[IpAddr]>,
) -> (Vec<Step>, Option<State>, Vec<String>) {
    let mut notes = Vec::new();
    let mut remaining = state.clone();
    let mut steps = Vec::new();
    if let Some(list) = only {
        for v in list {
            match remaining.vips.iter().position(|s| s.addr == *v) {
                Some(i) => {
                    steps.push(Step::DelVip(remaining.vips.remove(i)));
                }
                None => notes.push(format!("VIP {v} is not managed, nothing to remove")),
            }
        }
        if !remaining.vips.is_empty() {
            return (steps, Some(remaining), notes);
        }
    } else {
        steps.extend(state.vips.iter().cloned().map(Step::DelVip));
    }
    let created: Vec<&str> = state
        .links
        .iter()
        .filter(|l| l.created)
        .map(|l| l.name.as_str())
        .collect();
    for s in &state.sysctls {
        let (Ok(t), Some(k)) = (Target::parse(&s.target), ConfKey::from_name(&s.key)) else {
            notes.push(format!(
                "state entry {}/{} not understood, skipped",
                s.target, s.key
            ));
            continue;
        };
        if created.contains(&s.target.as_str()) {
            continue; // the device goes away with its settings
        }
        if !sys.exists(&t) {
            notes.push(format!(
                "interface {} no longer exists, {} not restored",
                s.target, s.key
            ));
            continue;
        }
        let current = sys.read(&t, k).ok();
        if current.is_some() && current != Some(s.applied) {
            notes.push(format!(
                "{} was changed to {} behind our back; restoring the original {}",
                t.sysctl_name(k),
                current.unwrap_or_default(),
                s.original
            ));
        }
        if current != Some(s.original) {
            steps.push(Step::SetSysctl {
                target: t,
                key: k,
                from: current,
                to: s.original,
            });
        }
    }
    for l in &state.links {
        if l.created {
            steps.push(Step::DeleteLink {
                name: l.name.clone(),
            });
        } else if !l.was_up {
            steps.push(Step::LinkDown {
                name: l.name.clone(),
            });
        }
    }
    (steps, None, notes)
}

/// Executes stop steps best-effort (each failure is collected, the rest still runs).
pub fn apply_stop(sys: &mut dyn Sysctl, net: &mut dyn Net, steps: &[Step]) -> Vec<String> {
    let mut errors = Vec::new();
    for s in steps {
        if let Err(e) = exec(sys, net, s) {
            errors.push(format!("{s}: {e}"));
        }
    }
    errors
}

/// One VIP in a status report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VipStatus {
    /// The VIP as saved.
    #[serde(flatten)]
    pub vip: SavedVip,
    /// Present on its device now.
    pub present: bool,
}

/// One sysctl in a status report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SysctlStatus {
    /// `net.ipv4.conf....` name.
    pub name: String,
    /// Saved original.
    pub original: i32,
    /// Value we set.
    pub applied: i32,
    /// Value now (None: unreadable / interface gone).
    pub current: Option<i32>,
}

/// One link in a status report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkStatus {
    /// Name.
    pub name: String,
    /// Exists now.
    pub exists: bool,
    /// Up now.
    pub up: bool,
}

/// What `status` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Mode.
    pub mode: Mode,
    /// `--iface`.
    pub iface: Option<String>,
    /// VIPs.
    pub vips: Vec<VipStatus>,
    /// Sysctls.
    pub sysctls: Vec<SysctlStatus>,
    /// Links.
    pub links: Vec<LinkStatus>,
    /// Human-readable drift findings (empty = all as applied).
    pub drift: Vec<String>,
}

/// Compares the live system with the saved state.
pub fn status(sys: &dyn Sysctl, net: &mut dyn Net, state: &State) -> Result<Report, Error> {
    let host = net.addresses()?;
    let mut drift = Vec::new();
    let mut vips = Vec::new();
    for v in &state.vips {
        let present = host.iter().any(|h| h.addr == v.addr && h.dev == v.dev);
        if !present {
            drift.push(format!("VIP {} missing from {}", v.addr, v.dev));
        }
        vips.push(VipStatus {
            vip: v.clone(),
            present,
        });
    }
    let mut sysctls = Vec::new();
    for s in &state.sysctls {
        let parsed = (Target::parse(&s.target), ConfKey::from_name(&s.key));
        let (name, current) = match parsed {
            (Ok(t), Some(k)) => (t.sysctl_name(k), sys.read(&t, k).ok()),
            _ => (format!("{}/{}", s.target, s.key), None),
        };
        if current != Some(s.applied) {
            drift.push(match current {
                Some(c) => format!("{name} is {c}, expected {}", s.applied),
                None => format!("{name} cannot be read"),
            });
        }
        sysctls.push(SysctlStatus {
            name,
            original: s.original,
            applied: s.applied,
            current,
        });
    }
    let mut links = Vec::new();
    for l in &state.links {
        let now = net.link(&l.name)?;
        let (exists, up) = match &now {
            Some(s) => (true, s.up),
            None => (false, false),
        };
        if !exists {
            drift.push(format!("link {} is gone", l.name));
        } else if !up {
            drift.push(format!("link {} is down", l.name));
        }
        links.push(LinkStatus {
            name: l.name.clone(),
            exists,
            up,
        });
    }
    Ok(Report {
        mode: state.mode,
        iface: state.iface.clone(),
        vips,
        sysctls,
        links,
        drift,
    })
}

#[cfg(test)]
mod tests;
