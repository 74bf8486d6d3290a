//! From conf-parse's typed model to what one running instance needs.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use conf_parse::{AuthType, Config, IpAddress, Script, VrrpInstance, VrrpState};
use vrrp_proto::{
    AdvertInterval, Auth, AuthConfig, Family, GarpConfig, InitialState, Priority, RouterConfig,
    Version, Vrid,
};

use crate::located::Located;
use crate::VrrpRuntimeError;

/// Seconds added to the rounded-up Master_Down_Interval for the VIP lease. One second (the
/// lease renewed about every second): a master frozen right after a renewal keeps its VIP at
/// most this lease (+ the kernel's ~0.4 s of expiry slack) after its last advert, so a backup
/// taking over one Master_Down_Interval after that advert shares the VIP for less than its own
/// Master_Down_Interval (issue #25; with 2 s and renewals every 3-4 s: up to 3.3 s, more than
/// the 3.1 s of a priority-254 backup).
pub const LEASE_MARGIN_SECS: u32 = 1;

/// Notify scripts of one instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NotifyScripts {
    pub master: Option<Script>,
    pub backup: Option<Script>,
    pub fault: Option<Script>,
    pub stop: Option<Script>,
    pub generic: Option<Script>,
    /// `notify_master_rx_lower_pri`: run (without arguments) when a lower-priority advert
    /// arrives while master.
    pub master_rx_lower_pri: Option<Script>,
    /// `notify_deleted SCRIPT`: run when a reload removes the instance.
    pub deleted: Option<Script>,
    /// `notify_deleted` given: a removed instance notifies DELETED, else FAULT (keepalived).
    pub notify_deleted: bool,
    /// `global_defs script_user` (who they run as unless they name their own user) and
    /// `enable_script_security`.
    pub policy: script_runner::Policy,
    /// Where to mail state changes when `smtp_alert` is in force for the instance (and
    /// `smtp_server` and `notification_email` are set).
    pub smtp: Option<Arc<smtp_alert::Settings>>,
    /// `global_defs no_email_faults`: no mail for FAULT.
    pub no_email_faults: bool,
}

impl NotifyScripts {
    /// The scripts' programs resolved now, when the configuration is read (keepalived's
    /// `check_script_secure`; kept as links with `use_symlink_paths`).
    fn pinned(mut self) -> Self {
        let commands: Vec<String> = [
            &self.master,
            &self.backup,
            &self.fault,
            &self.stop,
            &self.generic,
            &self.master_rx_lower_pri,
            &self.deleted,
        ]
        .into_iter()
        .flatten()
        .map(|s| s.command.clone())
        .collect();
        self.policy.pin(commands.iter().map(String::as_str));
        self
    }
}

/// The mail settings for an instance or sync group whose own `smtp_alert` is `own`.
pub(crate) fn smtp_settings(cfg: &Config, own: Option<bool>) -> Option<Arc<smtp_alert::Settings>> {
    let mail = crate::mail::defs(&cfg.global);
    if !smtp_alert::vrrp_enabled(&mail, own) {
        return None;
    }
    smtp_alert::Settings::from_global(&mail, smtp_alert::local_name().as_deref()).map(Arc::new)
}

/// A tracked object reference resolved to its weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tracked {
    pub name: String,
    /// 0: failure means FAULT.
    pub weight: i32,
    pub reverse: bool,
}

/// A VRRP virtual MAC interface: a private macvlan on the instance's interface with the MAC
/// 00:00:5e:00:01:VRID (IPv4) or 00:00:5e:00:02:VRID (IPv6) (RFC 5798 §7.3), named as
/// keepalived names it unless given (see [`vmac_names`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VmacSpec {
    pub name: String,
    /// `vmac_xmit_base`: adverts go out of the base interface.
    pub xmit_base: bool,
    /// `use_ipvlan`: an L2 ipvlan (the base's MAC) instead of a macvlan with the virtual MAC.
    pub ipvlan: Option<IpvlanSpec>,
}

/// `use_ipvlan [NAME] [ADDRESS[/LEN]] [bridge|private|vepa]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IpvlanSpec {
    /// `IFLA_IPVLAN_FLAGS`: 0 bridge, 1 private, 2 vepa.
    pub flags: u16,
    /// The address put on the ipvlan (prefix: /32 or /128 when not given).
    pub addr: Option<(IpAddr, u8)>,
}

/// Everything one instance needs except what is learnt from the kernel.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InstanceSpec {
    pub name: String,
    /// The instance's interface; empty for an instance without one (keepalived 2.4.3).
    pub ifname: String,
    /// `vrf NAME` of an instance without interface: its socket is bound to that device.
    pub vrf: Option<String>,
    pub family: Family,
    pub version: Version,
    pub vrid: Vrid,
    pub priority: Priority,
    pub interval: AdvertInterval,
    pub vips: Vec<IpAddress>,
    pub excluded: Vec<IpAddress>,
    pub initial: InitialState,
    pub preempt: bool,
    pub preempt_delay: Option<Duration>,
    pub accept: bool,
    pub auth: AuthConfig,
    /// `auth_hmac` (keepalived 2.4): keys loaded, modes and replay protection validated.
    pub auth_hmac: Option<vrrp_proto::auth_hmac::AuthHmac>,
    pub down_timer_adverts: u8,
    pub garp: GarpConfig,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    /// `timer_expired_backup` (keepalived 2.4): the highest priority of the other routers,
    /// when configured with nopreempt in effect (keepalived resets it otherwise).
    pub timer_expired_backup: Option<u8>,
    pub src: Option<IpAddr>,
    pub mcast_group: IpAddr,
    pub unicast_peers: Vec<conf_parse::UnicastPeer>,
    /// `promote_secondaries` (ignored with `use_vmac`, whose VMAC gets it anyway).
    pub promote_secondaries: bool,
    /// `unicast_fault_no_peer` without any `unicast_peer`: a configuration fault, FAULT for
    /// good (keepalived: "Cannot use unicast without any peers - going to fault state").
    pub no_peer_fault: bool,
    /// `notify_priority_changes` (else its sync group's, else the global
    /// `vrrp_notify_priority_changes`): a change of the effective priority writes
    /// `INSTANCE "name" MASTER_PRIORITY|BACKUP_PRIORITY prio` to the notify FIFOs.
    pub notify_priority_changes: bool,
    /// `garp_extra_if [all] SECS` (else the global `vrrp_garp_extra_if`; an interval of 0:
    /// none): while master, one gratuitous ARP/NA every SECS on each address VMAC (`all`: on
    /// each other interface) that has VIPs, sent with the advert that finds it due.
    pub garp_extra_if: Option<conf_parse::GarpExtraIf>,
    /// `old_unicast_checksum [never]` (keepalived's OLD_CHKSUM_COMPAT): for unicast VRRPv3
    /// over IPv4, `Some(Config)` computes and checks the checksum with `vrrp_mcast_group4` as
    /// the pseudo-header's destination (pre-1.3.6 keepalived), `None` switches to that when a
    /// peer's advert only checks that way, `Some(Never)` never does.
    pub old_unicast_checksum: Option<conf_parse::OldUnicastChecksum>,
    /// The global `vrrp_mcast_group4` (the old checksum's pseudo-header destination).
    pub mcast_group4: std::net::Ipv4Addr,
    /// An IPv4 `use_ipvlan` without a source address: FAULT, as keepalived.
    pub ipvlan_no_src: bool,
    pub unicast_ttl: u8,
    pub check_unicast_src: bool,
    pub skip_check_adv_addr: bool,
    /// `v3_checksum_as_v2` (keepalived 2.2.8): v3 over IPv4 with the v2 checksum; received
    /// checksums not checked.
    pub v3_checksum_as_v2: bool,
    /// `owner_ignore_adverts` resolved as keepalived 2.4.3 does: only for priority 255 (then
    /// unset means on in strict mode, else the global `vrrp_owner_ignore_adverts`).
    pub owner_ignore_adverts: bool,
    pub notify: NotifyScripts,
    pub track_interfaces: Vec<Tracked>,
    pub track_scripts: Vec<Tracked>,
    pub track_files: Vec<Tracked>,
    /// `track_process` (weights from the `vrrp_track_process` definitions by default).
    pub track_processes: Vec<Tracked>,
    /// `track_bfd` (weights from the `bfd_instance` definitions by default; names of
    /// undefined BFD instances are dropped, as keepalived ignores them).
    pub track_bfds: Vec<Tracked>,
    /// Paths of the tracked files, by track_file name.
    pub track_file_paths: Vec<(String, String)>,
    pub dont_track_primary: bool,
    /// `use_vmac [NAME]` (with `vmac_xmit_base`).
    pub vmac: Option<VmacSpec>,
    /// VMACs for addresses (`use_vmac_addr`, a VIP's `use_vmac`).
    pub addr_vmacs: Vec<AddrVmacSpec>,
    /// `virtual_routes`, in kernel form.
    pub routes: Vec<crate::routes::VirtualRoute>,
    /// `virtual_rules`, in kernel form, with their `file:line`.
    pub rules: Vec<(netplat::RuleSpec, Located)>,
}

impl InstanceSpec {
    /// The router config once the primary address is known.
    pub fn router_config(&self, primary: IpAddr) -> RouterConfig {
        let mut rc = RouterConfig::new(
            self.vrid,
            self.version,
            primary,
            self.vips
                .iter()
                .map(|v| v.addr)
                .filter(|a| a.is_ipv4() == (self.family == Family::V4))
                .collect(),
        );
        rc.family = self.family;
        rc.priority = self.priority;
        rc.advert_interval = self.interval;
        rc.preempt = self.preempt;
        rc.preempt_delay = self.preempt_delay;
        rc.accept = self.accept;
        rc.down_timer_adverts = self.down_timer_adverts;
        rc.auth = self.auth;
        rc.lower_prio_no_advert = self.lower_prio_no_advert;
        rc.higher_prio_send_advert = self.higher_prio_send_advert;
        rc.garp = self.garp;
        rc.initial_state = self.initial;
        rc
    }

    /// The auth carried in our adverts.
    pub fn wire_auth(&self) -> Auth {
        match self.auth {
            AuthConfig::None => Auth::None,
            AuthConfig::Simple(p) => Auth::Simple(p),
            AuthConfig::Ah(_) => Auth::Ah,
        }
    }
}

/// Reads one `auth_hmac` key's material: inline hex/ASCII, or `file:PATH` (a systemd
/// credential is a `file:` under `$CREDENTIALS_DIRECTORY`); a key file readable by group or
/// others is used with a warning, as keepalived does.
pub(crate) fn load_hmac_key(value: &conf_parse::AuthHmacKeyValue) -> Result<Vec<u8>, String> {
    use conf_parse::AuthHmacKeyValue as V;
    use vrrp_proto::auth_hmac::Key;
    match value {
        V::Hex(h) => Ok(Key::decode_value(&format!("hex:{h}"))),
        V::Ascii(a) => Ok(Key::decode_value(a)),
        V::File(path) => {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(path).map_err(|e| format!("key file {path}: {e}"))?;
            if meta.permissions().mode() & 0o077 != 0 {
                log::warn!(
                    "auth_hmac key file {path} is accessible by group or others (mode {:o})",
                    meta.permissions().mode() & 0o777
                );
            }
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("key file {path}: {e}"))?;
            let line = text.lines().next().unwrap_or("").trim_end();
            Ok(Key::decode_value(line))
        }
    }
}

fn build_auth_hmac(
    inst: &VrrpInstance,
    a: &conf_parse::AuthHmac,
) -> Result<vrrp_proto::auth_hmac::AuthHmac, VrrpRuntimeError> {
    use conf_parse::{AuthHmacAntiReplay, AuthHmacMode};
    use vrrp_proto::auth_hmac::{AntiReplay, AuthHmac, Key, Mode};
    let mut keys = Vec::new();
    for k in &a.keys {
        let material = load_hmac_key(&k.value).map_err(|e| err(inst, format!("auth_hmac {e}")))?;
        keys.push(
            Key::new(k.id, &material)
                .map_err(|e| err(inst, format!("auth_hmac key {}: {e}", k.id)))?,
        );
    }
    let mode = match a.mode.unwrap_or(AuthHmacMode::Enforce) {
        AuthHmacMode::Enforce => Mode::Enforce,
        AuthHmacMode::Permissive => Mode::Permissive,
        AuthHmacMode::ReceiveOnly => Mode::ReceiveOnly,
    };
    let anti_replay = match a.anti_replay.unwrap_or(AuthHmacAntiReplay::Time) {
        AuthHmacAntiReplay::Monotonic => AntiReplay::Monotonic,
        AuthHmacAntiReplay::Time => AntiReplay::Time {
            window: a
                .time_window
                .unwrap_or_else(|| AntiReplay::default_window(inst.advert_int)),
        },
    };
    let active = a
        .active_key
        .or_else(|| a.keys.first().map(|k| k.id))
        .unwrap_or(0);
    AuthHmac::new(keys, active, mode, anti_replay).map_err(|e| err(inst, format!("auth_hmac: {e}")))
}

/// Clone a script whether the model stores it inline or boxed.
fn own<S: std::borrow::Borrow<Script>>(s: &Option<S>) -> Option<Script> {
    s.as_ref().map(|x| x.borrow().clone())
}

fn err(inst: &VrrpInstance, msg: impl Into<String>) -> VrrpRuntimeError {
    VrrpRuntimeError::Config {
        instance: inst.name.clone(),
        file: inst.loc.0.file.to_string(),
        line: inst.loc.0.line,
        msg: msg.into(),
    }
}

/// Whether the VIP lease is on (`global_defs krs_vip_lease`, default on).
pub(crate) fn lease_from_config(cfg: &Config) -> bool {
    cfg.global.krs_vip_lease
}

/// A VMAC for addresses (`use_vmac_addr`, or `use_vmac` on a VIP): a private macvlan on `base`
/// with the instance's virtual MAC for `family`, carrying `addrs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AddrVmacSpec {
    pub name: String,
    pub base: String,
    pub family: Family,
    pub addrs: Vec<IpAddr>,
}

/// The VMAC names keepalived would pick: per `use_vmac` instance its VMAC, and per instance its
/// address VMACs.
#[derive(Debug, Default)]
pub(crate) struct VmacPlan {
    pub instance: BTreeMap<String, String>,
    pub addrs: BTreeMap<String, Vec<AddrVmacSpec>>,
}

/// VMAC names as keepalived picks them, instance by instance in configuration order: the
/// name given, else `PREFIX.VRID` (`vmac_prefix`, default `vrrp`) unless already used, then
/// `PREFIX6.VRID` first for IPv6, then `PREFIX1.VRID`, `PREFIX2.VRID`, ... (`create_vmac_name`).
/// Address VMACs (prefix `vmac_addr_prefix`, else `vmac_prefix`) follow their instance's: one
/// per (interface, family) for each VIP/eVIP that keepalived puts on a VMAC of its own — on
/// another interface (`dev`) with `use_vmac_addr` or the VIP's `use_vmac`, or on the instance's
/// interface with the other address family (`use_vmac_addr`) or without an instance VMAC
/// (the VIP's `use_vmac`).
pub(crate) fn vmac_plan(cfg: &Config) -> VmacPlan {
    let prefix = cfg.global.vmac_prefix.as_deref().unwrap_or("vrrp");
    let addr_prefix = cfg.global.vmac_addr_prefix.as_deref().unwrap_or(prefix);
    let mut used: Vec<String> = cfg
        .vrrp_instances
        .iter()
        .filter_map(|v| {
            v.use_vmac
                .as_ref()
                .and_then(|u| u.name.clone())
                .or_else(|| v.use_ipvlan.as_ref()?.name.clone())
        })
        .collect();
    let pick = |prefix: &str, vrid: u8, v6: bool, used: &mut Vec<String>| {
        let fit = |p: &str| {
            // IFNAMSIZ - 1: the prefix is shortened, never the VRID.
            let tail = format!(".{vrid}");
            let keep = 15usize.saturating_sub(tail.len()).min(p.len());
            format!("{}{tail}", p.get(..keep).unwrap_or(p))
        };
        let mut name = fit(prefix);
        let mut num = 0u32;
        while used.contains(&name) {
            num = match (v6, num) {
                (true, 0) => 6,
                (true, 6) => 1,
                (true, 5) => 7,
                (_, n) => n + 1,
            };
            name = fit(&format!("{prefix}{num}"));
        }
        used.push(name.clone());
        name
    };
    let mut plan = VmacPlan::default();
    for v in &cfg.vrrp_instances {
        let Some(vrid) = v.virtual_router_id else {
            continue;
        };
        let v6 = v
            .virtual_ipaddress
            .first()
            .map(|a| a.addr)
            .or(v.unicast_src_ip)
            .or(v.mcast_src_ip)
            .is_some_and(|a| a.is_ipv6());
        let given = match (&v.use_vmac, &v.use_ipvlan) {
            (Some(u), _) => Some(u.name.clone()),
            (None, Some(i)) => Some(i.name.clone()),
            (None, None) => None,
        };
        if let Some(given) = given {
            let name = match given {
                Some(n) => n,
                None => pick(prefix, vrid, v6, &mut used),
            };
            plan.instance.insert(v.name.clone(), name);
        }
        let own_if = v.interface.as_deref();
        let mut addr_vmacs: Vec<AddrVmacSpec> = Vec::new();
        for a in v
            .virtual_ipaddress
            .iter()
            .chain(&v.virtual_ipaddress_excluded)
        {
            let per_vip = a.use_vmac;
            let on_own = a.dev.is_none() || a.dev.as_deref() == own_if;
            let same_family = a.addr.is_ipv6() == v6;
            let wants = if on_own {
                !(v.use_vmac.is_some() && same_family)
                    && (per_vip || (v.use_vmac_addr && !same_family))
            } else {
                per_vip || v.use_vmac_addr
            };
            let Some(base) = a.dev.as_deref().or(own_if) else {
                continue;
            };
            if !wants {
                continue;
            }
            let family = if a.addr.is_ipv6() {
                Family::V6
            } else {
                Family::V4
            };
            match addr_vmacs
                .iter_mut()
                .find(|x| x.base == base && x.family == family)
            {
                Some(x) => x.addrs.push(a.addr),
                None => addr_vmacs.push(AddrVmacSpec {
                    name: pick(addr_prefix, vrid, a.addr.is_ipv6(), &mut used),
                    base: base.to_string(),
                    family,
                    addrs: vec![a.addr],
                }),
            }
        }
        if !addr_vmacs.is_empty() {
            plan.addrs.insert(v.name.clone(), addr_vmacs);
        }
    }
    plan
}

/// [`vmac_plan`] of `cfg`, computed once for a configuration and reused while its inputs are
/// the same (every instance's spec needs it: without the cache a pass over N instances cost
/// N plans of N instances, the worker's start with 250 VMAC instances took a minute).
fn cached_vmac_plan(cfg: &Config) -> std::rc::Rc<VmacPlan> {
    use std::hash::{Hash, Hasher};
    thread_local! {
        static PLAN: std::cell::RefCell<Option<(u64, std::rc::Rc<VmacPlan>)>> =
            const { std::cell::RefCell::new(None) };
    }
    // Everything vmac_plan reads.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    cfg.global.vmac_prefix.hash(&mut h);
    cfg.global.vmac_addr_prefix.hash(&mut h);
    cfg.vrrp_instances.len().hash(&mut h);
    for v in &cfg.vrrp_instances {
        v.name.hash(&mut h);
        v.virtual_router_id.hash(&mut h);
        v.interface.hash(&mut h);
        v.use_vmac.as_ref().map(|u| &u.name).hash(&mut h);
        v.use_ipvlan.as_ref().map(|u| &u.name).hash(&mut h);
        v.use_vmac_addr.hash(&mut h);
        v.unicast_src_ip.hash(&mut h);
        v.mcast_src_ip.hash(&mut h);
        for a in v
            .virtual_ipaddress
            .iter()
            .chain(&v.virtual_ipaddress_excluded)
        {
            a.addr.hash(&mut h);
            a.dev.hash(&mut h);
            a.use_vmac.hash(&mut h);
        }
        // The boundary between the two lists.
        v.virtual_ipaddress.len().hash(&mut h);
    }
    let key = h.finish();
    PLAN.with(|c| {
        let mut c = c.borrow_mut();
        if let Some((k, p)) = c.as_ref() {
            if *k == key {
                return p.clone();
            }
        }
        let p = std::rc::Rc::new(vmac_plan(cfg));
        *c = Some((key, p.clone()));
        p
    })
}

/// The system uptime (`/proc/uptime`'s first field, seconds; as seen in this process's time
/// namespace), None when unreadable.
pub fn system_uptime() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/uptime").ok()?;
    let secs: f64 = text.split_whitespace().next()?.parse().ok()?;
    Duration::try_from_secs_f64(secs).ok()
}

/// The start-up delay of VRRP as keepalived 2.4.3 computes it when it reads the
/// configuration: `vrrp_startup_delay`, or, when longer, what remains of
/// `vrrp_delay_after_boot` at system uptime `uptime` (none once the uptime passed it, or when
/// the uptime is unknown: keepalived then warns and ignores the keyword).
pub fn startup_delay(g: &conf_parse::GlobalDefs, uptime: Option<Duration>) -> Duration {
    let base = g.vrrp_startup_delay.unwrap_or_default();
    let after_boot = match (g.vrrp_delay_after_boot, uptime) {
        (Some(d), Some(up)) => d.saturating_sub(up),
        (Some(_), None) => {
            log::warn!("Unable to read /proc/uptime for vrrp_delay_after_boot - ignoring");
            Duration::ZERO
        }
        _ => Duration::ZERO,
    };
    base.max(after_boot)
}

/// The global script settings (`script_user`, `enable_script_security`).
/// The delay before the second burst of gratuitous ARPs / NAs after becoming master
/// (`garp_master_delay`, else the global `vrrp_garp_master_delay`; 0: none): keepalived's
/// per-instance `garp_delay`, its data file's "Gratuitous ARP delay".
pub fn garp_master_delay(g: &conf_parse::GlobalDefs, inst: &VrrpInstance) -> Duration {
    inst.garp_master_delay.unwrap_or(g.vrrp_garp_master_delay)
}

pub(crate) fn script_policy(g: &conf_parse::GlobalDefs) -> script_runner::Policy {
    script_runner::Policy {
        script_user: g.script_user.clone(),
        security: g.enable_script_security,
        keep_symlinks: g.use_symlink_paths,
        pins: Default::default(),
    }
}

/// A sync group's notification settings (its own notify scripts, the global script user and
/// mail settings).
pub(crate) fn group_notify(cfg: &Config, g: &conf_parse::SyncGroup) -> NotifyScripts {
    NotifyScripts {
        master: own(&g.notify_master),
        backup: own(&g.notify_backup),
        fault: own(&g.notify_fault),
        stop: own(&g.notify_stop),
        generic: own(&g.notify),
        master_rx_lower_pri: None,
        deleted: None,
        notify_deleted: false,
        policy: script_policy(&cfg.global),
        smtp: smtp_settings(cfg, g.smtp_alert),
        no_email_faults: cfg.global.no_email_faults,
    }
    .pinned()
}

/// The FIFOs the VRRP process writes to: `notify_fifo` and `vrrp_notify_fifo`, with their
/// reader scripts (`notify_fifo_script`, `vrrp_notify_fifo_script`).
pub(crate) fn notify_fifos(cfg: &Config) -> Vec<crate::notify::FifoSpec> {
    let policy = script_policy(&cfg.global);
    [
        (&cfg.global.notify_fifo, ""),
        (&cfg.global.vrrp_notify_fifo, "vrrp_"),
    ]
    .into_iter()
    .filter_map(|(f, kind)| {
        Some(crate::notify::FifoSpec {
            path: f.name.clone()?,
            kind,
            owner: f.user.clone(),
            script: f.script.as_deref().cloned(),
            policy: policy.clone(),
        })
    })
    .collect()
}

/// `own` plus the tracked objects of the sync groups (unless already tracked), as keepalived
/// 2.2.7 adds them to each member: with the group's weight (`resolve`: the reference's weight,
/// else the object's), cleared to 0 when a member of the group is an address owner.
fn with_group(
    cfg: &Config,
    mut own: Vec<Tracked>,
    groups: &[&conf_parse::SyncGroup],
    pick: fn(&conf_parse::SyncGroup) -> &Vec<conf_parse::TrackRef>,
    resolve: impl Fn(&conf_parse::TrackRef) -> Tracked,
) -> Vec<Tracked> {
    for g in groups {
        let has_owner = g.group.iter().any(|m| {
            cfg.vrrp_instances
                .iter()
                .any(|v| v.name == *m && v.priority == 255)
        });
        for r in pick(g) {
            if !own.iter().any(|t| t.name == r.name) {
                let mut t = resolve(r);
                if has_owner {
                    t.weight = 0;
                }
                own.push(t);
            }
        }
    }
    own
}

/// `track_bfd` references: the weight defaults to the `bfd_instance`'s `weight` (and its
/// `reverse`), like keepalived's `vrrp_tracked_bfd`.
fn track_bfds(cfg: &Config, refs: &[conf_parse::TrackRef]) -> Vec<Tracked> {
    refs.iter()
        .map(|r| {
            let def = cfg.bfd_instances.iter().find(|b| b.name == r.name);
            match r.weight {
                Some(w) => Tracked {
                    name: r.name.clone(),
                    weight: w,
                    reverse: r.reverse,
                },
                None => Tracked {
                    name: r.name.clone(),
                    weight: def.map_or(0, |b| b.weight),
                    reverse: r.reverse || def.is_some_and(|b| b.weight_reverse),
                },
            }
        })
        .collect()
}

/// One tracked object: its reference's weight, else `default_weight` of its name.
fn one(r: &conf_parse::TrackRef, default_weight: &dyn Fn(&str) -> i32) -> Tracked {
    Tracked {
        name: r.name.clone(),
        weight: r.weight.unwrap_or_else(|| default_weight(&r.name)),
        reverse: r.reverse,
    }
}

fn tracked(refs: &[conf_parse::TrackRef], default_weight: impl Fn(&str) -> i32) -> Vec<Tracked> {
    refs.iter()
        .map(|r| Tracked {
            name: r.name.clone(),
            weight: r.weight.unwrap_or_else(|| default_weight(&r.name)),
            reverse: r.reverse,
        })
        .collect()
}

/// The interfaces instance `name` tracks through static track groups (keepalived
/// `static_track_group_init`): the `dev` of each `static_ipaddress` and `static_routes` entry
/// and the `iif` of each `static_rules` entry whose `track_group` lists the instance (not
/// `no_track`), with weight 0: the instance is in FAULT while one is down.
fn static_track_group_interfaces(cfg: &Config, name: &str) -> Vec<Tracked> {
    let mut out: Vec<Tracked> = Vec::new();
    // keepalived: an address's interface is its `dev` or the default interface.
    let addrs = cfg.static_ipaddress.iter().map(|a| {
        (
            &a.track_group,
            Some(cfg.static_address_dev(a).to_string()),
            a.no_track,
        )
    });
    let routes = cfg
        .static_routes
        .iter()
        .map(|r| (&r.track_group, r.dev.clone(), r.no_track));
    let rules = cfg
        .static_rules
        .iter()
        .map(|r| (&r.track_group, r.iif.clone(), r.no_track));
    for (g, dev, no_track) in addrs.chain(routes).chain(rules) {
        let (Some(g), Some(dev)) = (g, dev.as_ref()) else {
            continue;
        };
        if no_track {
            continue;
        }
        let member = cfg
            .track_groups
            .iter()
            .any(|t| t.name == *g && t.group.iter().any(|i| i == name));
        if member && !out.iter().any(|t| t.name == *dev) {
            out.push(Tracked {
                name: dev.clone(),
                weight: 0,
                reverse: false,
            });
        }
    }
    out
}

/// Translate one instance (keepalived's defaults and global fallbacks).
pub(crate) fn instance_spec(
    cfg: &Config,
    inst: &VrrpInstance,
) -> Result<InstanceSpec, VrrpRuntimeError> {
    let g = &cfg.global;
    // VMAC names depend on the whole configuration: worked out only for instances that use one.
    let uses_vmac = inst.use_vmac.is_some()
        || inst.use_ipvlan.is_some()
        || inst.use_vmac_addr
        || inst
            .virtual_ipaddress
            .iter()
            .chain(&inst.virtual_ipaddress_excluded)
            .any(|a| a.use_vmac);
    let plan = if uses_vmac {
        cached_vmac_plan(cfg)
    } else {
        std::rc::Rc::new(VmacPlan::default())
    };
    // Without `interface` (the global default_interface is only for static addresses):
    // keepalived 2.2.7 refuses every such instance ("Unknown interface!", which conf-parse
    // reports by default); 2.4.3 (`--compat 2.4.3`) runs a unicast one from unicast_src_ip,
    // its socket bound to that address and to the `vrf` device if given, without VMAC, with
    // no interface to track, its VIPs each on their `dev` (the others dropped).
    let no_interface = inst.interface.is_none();
    let unicast_configured = !inst.unicast_peer.is_empty()
        || inst.unicast_fault_no_peer
        || inst.check_unicast_src
        || inst.old_unicast_checksum.is_some();
    if no_interface && (!unicast_configured || inst.unicast_src_ip.is_none()) {
        return Err(err(inst, "Unknown interface!"));
    }
    let ifname = inst.interface.clone().unwrap_or_default();
    // ("(NAME): no interface for vip ... - removing": reported by conf-parse)
    let keep_vip = |a: &&IpAddress| !no_interface || a.dev.is_some();
    let vrid = inst
        .virtual_router_id
        .and_then(Vrid::new)
        .ok_or_else(|| err(inst, "virtual_router_id missing or out of 1..255"))?;
    let version = match inst.effective_version(g.vrrp_version) {
        3 => Version::V3,
        _ => Version::V2,
    };
    let family = if inst.is_ipv6() {
        Family::V6
    } else {
        Family::V4
    };
    let interval = AdvertInterval::from_duration(version, inst.advert_int).ok_or_else(|| {
        err(
            inst,
            format!("advert_int {:?} not representable", inst.advert_int),
        )
    })?;
    let auth = match (&inst.authentication, version) {
        (Some(a), Version::V2) => {
            let key = Auth::pad_password(a.auth_pass.as_bytes());
            match a.auth_type {
                AuthType::Pass => AuthConfig::Simple(key),
                AuthType::Ah => AuthConfig::Ah(key),
            }
        }
        _ => AuthConfig::None,
    };
    let auth_hmac = match &inst.auth_hmac {
        Some(a) => Some(build_auth_hmac(inst, a)?),
        None => None,
    };
    // keepalived: auth_hmac cannot be combined with the legacy authentication (dropped).
    let auth = if auth_hmac.is_some() {
        AuthConfig::None
    } else {
        auth
    };
    let strict = inst.strict_mode.unwrap_or(g.vrrp_strict);
    let master_repeat = inst.garp_master_repeat.unwrap_or(g.vrrp_garp_master_repeat);
    let master_delay = garp_master_delay(g, inst);
    let garp = GarpConfig {
        master_delay: Some(master_delay).filter(|d| !d.is_zero()),
        master_repeat,
        master_refresh: inst
            .garp_master_refresh
            .or(g.vrrp_garp_master_refresh)
            .filter(|d| !d.is_zero()),
        master_refresh_repeat: inst
            .garp_master_refresh_repeat
            .unwrap_or(g.vrrp_garp_master_refresh_repeat),
        // keepalived: unset, these are the global GARP delay and repeat (not the instance's
        // garp_master_*), 0 in strict mode.
        lower_prio_delay: inst
            .garp_lower_prio_delay
            .or(g.vrrp_garp_lower_prio_delay)
            .or((!strict).then_some(g.vrrp_garp_master_delay))
            .filter(|d| !d.is_zero()),
        lower_prio_repeat: inst
            .garp_lower_prio_repeat
            .or(g.vrrp_garp_lower_prio_repeat)
            .unwrap_or(if strict { 0 } else { g.vrrp_garp_master_repeat }),
    };
    let mcast_group = match (inst.mcast_dst_ip, family) {
        (Some(a), _) => a,
        (None, Family::V4) => IpAddr::V4(g.vrrp_mcast_group4),
        (None, Family::V6) => IpAddr::V6(g.vrrp_mcast_group6),
    };
    // A sync group's tracked objects apply to each member with the group's weights (0: any
    // failure is a fault of the member, and a member's fault takes the whole group to FAULT),
    // as keepalived 2.2.7's `vrrp_complete_init` adds them.
    let groups: Vec<&conf_parse::SyncGroup> = cfg
        .sync_groups
        .iter()
        .filter(|g| g.group.contains(&inst.name))
        .collect();
    // keepalived's alloc_track_script: without a weight, the script's weight and reverse.
    let script_ref = |r: &conf_parse::TrackRef| {
        let def = cfg.vrrp_scripts.iter().find(|s| s.name == r.name);
        match r.weight {
            Some(w) => Tracked {
                name: r.name.clone(),
                weight: w,
                reverse: r.reverse,
            },
            None => Tracked {
                name: r.name.clone(),
                weight: def.map_or(0, |s| s.weight),
                reverse: r.reverse || def.is_some_and(|s| s.weight_reverse),
            },
        }
    };
    let weight_of_process = |name: &str| {
        cfg.track_processes
            .iter()
            .find(|p| p.name == name)
            .map(|p| {
                if p.weight_reverse {
                    -p.weight
                } else {
                    p.weight
                }
            })
            .unwrap_or(0)
    };
    let weight_of_file = |name: &str| {
        cfg.track_files
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.weight)
            .unwrap_or(1)
    };
    for s in &inst.track_script {
        if !cfg.vrrp_scripts.iter().any(|v| v.name == s.name) {
            return Err(err(
                inst,
                format!("track_script {}: no such vrrp_script", s.name),
            ));
        }
    }
    let routes = inst
        .virtual_routes
        .iter()
        .map(crate::routes::route)
        .collect();
    let rules = inst.virtual_rules.iter().map(crate::routes::rule).collect();
    // keepalived vrrp_complete_instance: a sync group member runs no floating priority unless
    // its group has `sync_group_tracking_weight` (`global_tracking`): a weighted tracked
    // interface becomes unweighted (its failure a fault), a file at the default weight 1
    // too, and weighted scripts, files and BFDs are dropped.
    let no_weights = !groups.is_empty() && !groups.iter().any(|g| g.sync_group_tracking_weight);
    // keepalived: an instance never tracks its own interface ("Ignoring track_interface ...
    // since own interface").
    let own_interfaces = tracked(&inst.track_interface, |_| 0)
        .into_iter()
        .filter(|t| {
            let own = inst.interface.as_deref() == Some(t.name.as_str());
            if own {
                log::warn!(
                    "({}) Ignoring track_interface {} since own interface",
                    inst.name,
                    t.name
                );
            }
            !own
        })
        .map(|mut t| {
            if no_weights && t.weight != 0 {
                log::warn!(
                    "({}) ignoring {} tracked interface weight due to SYNC group",
                    inst.name,
                    t.name
                );
                t.weight = 0;
            }
            t
        })
        .collect();
    let dropped = |kind: &str, t: &Tracked| {
        log::warn!(
            "({}) ignoring tracked {kind} {} with weight {} due to SYNC group",
            inst.name,
            t.name,
            t.weight
        );
        false
    };
    let own_scripts = inst
        .track_script
        .iter()
        .map(script_ref)
        .filter(|t| !no_weights || t.weight == 0 || dropped("script", t))
        .collect();
    let own_files = tracked(&inst.track_file, weight_of_file)
        .into_iter()
        .filter_map(|mut t| {
            if no_weights && t.weight == 1 {
                t.weight = 0;
            }
            (!no_weights || t.weight == 0 || dropped("file", &t)).then_some(t)
        })
        .collect();
    let own_bfds = track_bfds(cfg, &inst.track_bfd)
        .into_iter()
        .filter(|t| !no_weights || t.weight == 0 || dropped("bfd", t))
        .collect();
    Ok(InstanceSpec {
        name: inst.name.clone(),
        ifname,
        family,
        version,
        vrid,
        priority: Priority(inst.priority),
        interval,
        vips: inst
            .virtual_ipaddress
            .iter()
            .filter(keep_vip)
            .cloned()
            .collect(),
        excluded: inst
            .virtual_ipaddress_excluded
            .iter()
            .filter(keep_vip)
            .cloned()
            .collect(),
        vrf: inst.vrf.clone().filter(|_| no_interface),
        initial: match inst.state {
            VrrpState::Master => InitialState::Master,
            VrrpState::Backup => InitialState::Backup,
        },
        preempt: inst.preempt,
        preempt_delay: Some(inst.preempt_delay).filter(|d| !d.is_zero()),
        // keepalived: strict mode has no accept mode on v2 (RFC 3768), whatever is configured.
        accept: inst.accept.unwrap_or(!strict) && !(strict && version == Version::V2),
        auth,
        auth_hmac,
        down_timer_adverts: u8::try_from(
            inst.down_timer_adverts
                .unwrap_or(g.vrrp_down_timer_adverts)
                .clamp(1, 100),
        )
        .unwrap_or(3),
        garp,
        lower_prio_no_advert: inst
            .lower_prio_no_advert
            .unwrap_or(g.vrrp_lower_prio_no_advert),
        higher_prio_send_advert: inst
            .higher_prio_send_advert
            .unwrap_or(g.vrrp_higher_prio_send_advert),
        // keepalived 2.4.3 (vrrp_complete_instance): nopreempt is cleared for an owner and for
        // initial state MASTER, and "expired_timer_backup requires nopreempt - resetting".
        timer_expired_backup: inst
            .timer_expired_backup
            .filter(|_| !inst.preempt && inst.priority != 255 && inst.state != VrrpState::Master),
        // keepalived: the use_ipvlan address is the source unless one is configured.
        src: inst.unicast_src_ip.or(inst.mcast_src_ip).or_else(|| {
            if inst.use_vmac.is_some() {
                return None;
            }
            inst.use_ipvlan.as_ref()?.addr.map(|(a, _)| a)
        }),
        mcast_group,
        unicast_peers: inst.unicast_peer.clone(),
        no_peer_fault: inst.unicast_fault_no_peer && inst.unicast_peer.is_empty(),
        old_unicast_checksum: inst.old_unicast_checksum,
        mcast_group4: g.vrrp_mcast_group4,
        garp_extra_if: inst
            .garp_extra_if
            .or(g.vrrp_garp_extra_if)
            .filter(|x| !x.interval.is_zero()),
        notify_priority_changes: inst
            .notify_priority_changes
            .or_else(|| groups.iter().find_map(|g| g.notify_priority_changes))
            .unwrap_or(g.vrrp_notify_priority_changes),
        ipvlan_no_src: inst.use_vmac.is_none()
            && inst.use_ipvlan.as_ref().is_some_and(|i| i.addr.is_none())
            && inst.unicast_src_ip.or(inst.mcast_src_ip).is_none()
            && family == Family::V4,
        promote_secondaries: inst.promote_secondaries && inst.use_vmac.is_none(),
        unicast_ttl: inst.unicast_ttl,
        check_unicast_src: inst.check_unicast_src || g.vrrp_check_unicast_src,
        skip_check_adv_addr: inst
            .skip_check_adv_addr
            .unwrap_or(g.vrrp_skip_check_adv_addr),
        v3_checksum_as_v2: inst.v3_checksum_as_v2.unwrap_or(false),
        // Set either way on an owner it is on (2.4.3 forces an explicit "false" back on).
        owner_ignore_adverts: inst.priority == 255
            && inst
                .owner_ignore_adverts
                .map_or(strict || g.vrrp_owner_ignore_adverts, |_| true),
        notify: NotifyScripts {
            master: own(&inst.notify_master),
            backup: own(&inst.notify_backup),
            fault: own(&inst.notify_fault),
            stop: own(&inst.notify_stop),
            generic: own(&inst.notify),
            master_rx_lower_pri: own(&inst.notify_master_rx_lower_pri),
            deleted: own(&inst.notify_deleted),
            notify_deleted: inst.notify_deleted_set,
            policy: script_policy(g),
            smtp: smtp_settings(cfg, inst.smtp_alert),
            no_email_faults: g.no_email_faults,
        }
        .pinned(),
        track_interfaces: with_group(
            cfg,
            own_interfaces,
            &groups,
            |g| &g.track_interface,
            |r| one(r, &|_| 0),
        )
        .into_iter()
        .chain(static_track_group_interfaces(cfg, &inst.name))
        .collect(),
        track_scripts: with_group(cfg, own_scripts, &groups, |g| &g.track_script, script_ref),
        track_processes: with_group(
            cfg,
            tracked(&inst.track_process, weight_of_process),
            &groups,
            |g| &g.track_process,
            |r| one(r, &weight_of_process),
        ),
        track_files: with_group(
            cfg,
            own_files,
            &groups,
            |g| &g.track_file,
            |r| one(r, &weight_of_file),
        ),
        track_bfds: with_group(
            cfg,
            own_bfds,
            &groups,
            |g| &g.track_bfd,
            |r| {
                track_bfds(cfg, std::slice::from_ref(r))
                    .pop()
                    .unwrap_or_else(|| one(r, &|_| 0))
            },
        )
        .into_iter()
        // keepalived's VRRP process keeps only the bfd_instances whose events it gets
        // (`vrrp`, or neither `vrrp` nor `checker`): tracking another is ignored.
        .filter(|t| {
            cfg.bfd_instances
                .iter()
                .any(|b| b.name == t.name && (b.vrrp || !b.checker))
        })
        .collect(),
        track_file_paths: cfg
            .track_files
            .iter()
            .filter(|f| {
                inst.track_file.iter().any(|t| t.name == f.name)
                    || groups
                        .iter()
                        .any(|g| g.track_file.iter().any(|t| t.name == f.name))
            })
            .map(|f| (f.name.clone(), f.file.clone()))
            .collect(),
        dont_track_primary: inst.dont_track_primary,
        vmac: (!no_interface && (inst.use_vmac.is_some() || inst.use_ipvlan.is_some())).then(
            || VmacSpec {
                name: plan
                    .instance
                    .get(&inst.name)
                    .cloned()
                    .unwrap_or_else(|| format!("vrrp.{}", vrid.get())),
                xmit_base: inst.vmac_xmit_base && inst.use_vmac.is_some(),
                ipvlan: if inst.use_vmac.is_some() {
                    None
                } else {
                    inst.use_ipvlan.as_ref().map(|i| IpvlanSpec {
                        flags: match i.mode {
                            Some(conf_parse::IpvlanMode::Private) => 1,
                            Some(conf_parse::IpvlanMode::Vepa) => 2,
                            _ => 0,
                        },
                        addr: i
                            .addr
                            .map(|(a, len)| (a, len.unwrap_or(if a.is_ipv4() { 32 } else { 128 }))),
                    })
                },
            },
        ),
        addr_vmacs: plan.addrs.get(&inst.name).cloned().unwrap_or_default(),
        routes,
        rules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        let p = conf_parse::parse_str(text, "t.conf", &conf_parse::ParseOptions::default());
        assert!(!p.has_errors(), "{:?}", p.diagnostics);
        p.config
    }

    // Proves typed-but-unimplemented settings are named with their location, never ignored
    // silently.
    #[test]
    fn vmac_names_as_keepalived() {
        let c = parse(
            "vrrp_instance A {\n interface eth0\n virtual_router_id 7\n use_vmac\n virtual_ipaddress { 10.1.1.1/24 }\n}\n\
             vrrp_instance B {\n interface eth0\n virtual_router_id 7\n use_vmac\n virtual_ipaddress { fd00::1/64 }\n}\n\
             vrrp_instance C {\n interface eth1\n virtual_router_id 7\n use_vmac\n virtual_ipaddress { 10.1.2.1/24 }\n}\n\
             vrrp_instance D {\n interface eth1\n virtual_router_id 8\n use_vmac vm8\n virtual_ipaddress { 10.1.3.1/24 }\n}\n\
             vrrp_instance E {\n interface eth1\n virtual_router_id 9\n virtual_ipaddress { 10.1.4.1/24 }\n}",
        );
        let n = vmac_plan(&c).instance;
        assert_eq!(n.get("A").map(String::as_str), Some("vrrp.7"));
        assert_eq!(n.get("B").map(String::as_str), Some("vrrp6.7"));
        assert_eq!(n.get("C").map(String::as_str), Some("vrrp1.7"));
        assert_eq!(n.get("D").map(String::as_str), Some("vm8"));
        assert_eq!(n.get("E"), None);
        let p = parse("global_defs {\n vmac_prefix averyverylongprefix\n}\nvrrp_instance A {\n interface eth0\n virtual_router_id 200\n use_vmac\n virtual_ipaddress { 10.1.1.1/24 }\n}");
        assert_eq!(
            vmac_plan(&p).instance.get("A").map(String::as_str),
            Some("averyverylo.200")
        );
        // Address VMACs, as the reference names them (lab_interop_use_vmac_addr_same_as_reference).
        let a = parse("vrrp_instance V4 {\n interface eth0\n virtual_router_id 70\n use_vmac\n use_vmac_addr\n virtual_ipaddress {\n 10.0.0.10/24\n 10.9.0.10/24 dev eth1\n 10.9.0.11/24 dev eth1\n }\n virtual_ipaddress_excluded {\n fd00::70/64\n }\n}\nvrrp_instance W {\n interface eth0\n virtual_router_id 71\n virtual_ipaddress {\n 10.0.0.11/24\n 10.8.0.1/24 dev eth2 use_vmac\n 10.8.0.2/24 dev eth3\n }\n}");
        let p = vmac_plan(&a);
        assert_eq!(p.instance.get("V4").map(String::as_str), Some("vrrp.70"));
        let v4 = p.addrs.get("V4").expect("V4 address VMACs");
        assert_eq!(v4.len(), 2, "{v4:?}");
        assert_eq!(
            (v4[0].name.as_str(), v4[0].base.as_str()),
            ("vrrp1.70", "eth1")
        );
        assert_eq!(v4[0].addrs.len(), 2);
        assert_eq!(
            (v4[1].name.as_str(), v4[1].base.as_str(), v4[1].family),
            ("vrrp6.70", "eth0", Family::V6)
        );
        let w = p.addrs.get("W").expect("W address VMACs");
        assert_eq!(w.len(), 1, "only the VIP with use_vmac: {w:?}");
        assert_eq!(
            (w[0].name.as_str(), w[0].base.as_str()),
            ("vrrp.71", "eth2")
        );
    }

    // Proves the translation applies keepalived's defaults and global fallbacks: v2, 1 s,
    // priority 100, preempt, accept (not strict), GARP 5 + 5 s delay, multicast 224.0.0.18,
    // the family from the first VIP, and the instance's own interface tracked.
    #[test]
    fn defaults_and_globals() {
        let c = parse(
            "vrrp_instance V { interface eth0\n virtual_router_id 7\n virtual_ipaddress { 10.1.1.1/24 } }",
        );
        let s = instance_spec(&c, &c.vrrp_instances[0]).expect("spec");
        assert_eq!(s.version, Version::V2);
        assert_eq!(s.interval, AdvertInterval::V2Secs(1));
        assert_eq!(s.priority, Priority(100));
        assert!(s.preempt && s.accept && !s.dont_track_primary);
        assert_eq!(s.garp.master_repeat, 5);
        assert_eq!(s.garp.master_delay, Some(Duration::from_secs(5)));
        assert_eq!(s.mcast_group, "224.0.0.18".parse::<IpAddr>().expect("ip"));
        assert_eq!(s.family, Family::V4);
        assert_eq!(s.down_timer_adverts, 3);
        assert!(lease_from_config(&c), "lease on by default");
    }

    // Proves v3 / IPv6 / PASS / AH translation: v3 intervals in centiseconds, IPv6 family and
    // ff02::12, PASS and AH keys zero-padded to 8 bytes and ignored for v3.
    #[test]
    fn versions_families_auth() {
        let c = parse(
            "vrrp_instance A { interface eth0\n virtual_router_id 1\n version 3\n advert_int 0.05\n virtual_ipaddress { fd00::1/64 } }\n\
             vrrp_instance B { interface eth0\n virtual_router_id 2\n authentication { auth_type PASS\n auth_pass abc }\n virtual_ipaddress { 10.0.0.1 } }\n\
             vrrp_instance C { interface eth0\n virtual_router_id 3\n authentication { auth_type AH\n auth_pass 123456789 }\n virtual_ipaddress { 10.0.0.2 } }",
        );
        let a = instance_spec(&c, &c.vrrp_instances[0]).expect("a");
        assert_eq!(a.interval, AdvertInterval::V3(vrrp_proto::Centisecs(5)));
        assert_eq!(a.family, Family::V6);
        assert_eq!(a.mcast_group, "ff02::12".parse::<IpAddr>().expect("ip"));
        assert_eq!(a.auth, AuthConfig::None);
        let b = instance_spec(&c, &c.vrrp_instances[1]).expect("b");
        assert_eq!(b.auth, AuthConfig::Simple(*b"abc\0\0\0\0\0"));
        assert_eq!(b.wire_auth(), Auth::Simple(*b"abc\0\0\0\0\0"));
        let cc = instance_spec(&c, &c.vrrp_instances[2]).expect("c");
        assert_eq!(cc.auth, AuthConfig::Ah(*b"12345678"));
    }

    // Proves smtp_alert for an instance follows vrrp.c: its own setting, else smtp_alert_vrrp,
    // else smtp_alert, else off; and nothing without smtp_server and notification_email.
    #[test]
    fn smtp_alert_rules() {
        let inst = |own: &str| {
            format!("vrrp_instance V {{ interface eth0\n virtual_router_id 7\n {own}\n virtual_ipaddress {{ 10.1.1.1 }} }}")
        };
        let mail = "smtp_server 10.0.0.9\n notification_email { a@x }\n router_id R";
        let on = |globals: &str, own: &str| {
            let c = parse(&format!(
                "global_defs {{ {mail}\n {globals} }}\n{}",
                inst(own)
            ));
            let s = instance_spec(&c, &c.vrrp_instances[0]).expect("spec");
            s.notify.smtp.is_some()
        };
        assert!(!on("", ""), "off by default");
        assert!(on("smtp_alert", ""));
        assert!(!on("smtp_alert\n smtp_alert_vrrp off", ""));
        assert!(on("smtp_alert off\n smtp_alert_vrrp", ""));
        assert!(on("", "smtp_alert"));
        assert!(!on("smtp_alert", "smtp_alert off"));
        let c = parse(&format!(
            "global_defs {{ smtp_alert\n router_id R }}\n{}",
            inst("")
        ));
        let s = instance_spec(&c, &c.vrrp_instances[0]).expect("spec");
        assert!(s.notify.smtp.is_none(), "no smtp_server: no mail");
        let c = parse(&format!(
            "global_defs {{ {mail}\n smtp_alert }}\n{}",
            inst("")
        ));
        let s = instance_spec(&c, &c.vrrp_instances[0]).expect("spec");
        let m = s.notify.smtp.expect("mail on");
        assert_eq!((m.router_id.as_str(), m.server.1), ("R", 25));
    }

    // Proves a track_script naming no vrrp_script is a located configuration error.
    #[test]
    fn unknown_track_script_is_located_error() {
        let p = conf_parse::parse_str(
            "vrrp_instance V { interface eth0\n virtual_router_id 7\n track_script { nope }\n virtual_ipaddress { 10.1.1.1 } }",
            "t.conf",
            &conf_parse::ParseOptions::default(),
        );
        let inst = p.config.vrrp_instances.first().expect("instance parsed");
        let e = instance_spec(&p.config, inst).expect_err("must fail");
        let msg = e.to_string();
        assert!(msg.contains("t.conf:1") && msg.contains("nope"), "{msg}");
    }
}
