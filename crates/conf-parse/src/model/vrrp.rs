//! VRRP instances, scripts, tracking and sync groups.

use super::*;

/// `vrrp_script`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VrrpScript {
    /// Name.
    pub name: String,
    /// `script` command line.
    pub script: String,
    /// `interval` (default 1 s).
    pub interval: Duration,
    /// `timeout` (default: the interval).
    pub timeout: Option<Duration>,
    /// `weight` (-253..253, default 0).
    pub weight: i32,
    /// `weight ... reverse`.
    pub weight_reverse: bool,
    /// `rise` (default 1).
    pub rise: u32,
    /// `fall` (default 1).
    pub fall: u32,
    /// `user USER [GROUP]`.
    pub user: Option<(String, Option<String>)>,
    /// `init_fail`.
    pub init_fail: bool,
    /// Where.
    pub loc: Loc,
}

impl VrrpScript {
    /// A script with keepalived's defaults.
    pub fn new(name: &str) -> VrrpScript {
        VrrpScript {
            name: name.to_string(),
            script: String::new(),
            interval: Duration::from_secs(1),
            timeout: None,
            weight: 0,
            weight_reverse: false,
            rise: 1,
            fall: 1,
            user: None,
            init_fail: false,
            loc: Loc::default(),
        }
    }
}

/// `track_file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackFile {
    /// Name.
    pub name: String,
    /// `file` path.
    pub file: String,
    /// `weight` (default 1).
    pub weight: i32,
    /// `weight ... reverse`.
    pub weight_reverse: bool,
    /// `init_file [VALUE] [overwrite]` words.
    pub init_file: Option<Vec<String>>,
    /// Where.
    pub loc: Loc,
}

/// `vrrp_track_process`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackProcess {
    /// Name.
    pub name: String,
    /// `process` name and parameters.
    pub process: Vec<String>,
    /// `param_match` (exact|partial|initial).
    pub param_match: Option<String>,
    /// `weight`.
    pub weight: i32,
    /// `weight ... reverse`.
    pub weight_reverse: bool,
    /// `quorum` (default 1).
    pub quorum: u32,
    /// `quorum_max`.
    pub quorum_max: Option<u32>,
    /// `delay`.
    pub delay: Option<Duration>,
    /// `terminate_delay`.
    pub terminate_delay: Option<Duration>,
    /// `fork_delay`.
    pub fork_delay: Option<Duration>,
    /// `full_command`.
    pub full_command: bool,
    /// Where.
    pub loc: Loc,
}

/// VRRP state keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VrrpState {
    /// `state MASTER`.
    Master,
    /// `state BACKUP` (default).
    #[default]
    Backup,
}

/// `auth_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthType {
    /// `PASS` (simple text password, VRRPv2 only).
    Pass,
    /// `AH` (IPsec AH, VRRPv2 only).
    Ah,
}

/// `authentication { }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authentication {
    /// `auth_type`.
    pub auth_type: AuthType,
    /// `auth_pass` (at most 8 bytes used).
    pub auth_pass: String,
}

/// `auth_hmac { }` (keepalived 2.4): HMAC-SHA256 advert authentication
/// (draft-cassen-vrrp-auth-hmac). Values as written; unset ones take keepalived's defaults
/// (`mode enforce`, `anti_replay time`, `time_window max(3 × advert_int, 5)`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthHmac {
    /// `key ID VALUE` lines, in order (ids 1..=255, distinct).
    pub keys: Vec<AuthHmacKey>,
    /// `active_key` (the id used when signing; keepalived requires it to name a key).
    pub active_key: Option<u8>,
    /// `anti_replay`.
    pub anti_replay: Option<AuthHmacAntiReplay>,
    /// `time_window` in seconds (1..=300).
    pub time_window: Option<u32>,
    /// `mode`.
    pub mode: Option<AuthHmacMode>,
}

/// One `auth_hmac` `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthHmacKey {
    /// Key id (1..=255).
    pub id: u8,
    /// Where the material comes from.
    pub value: AuthHmacKeyValue,
}

/// An `auth_hmac` key value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthHmacKeyValue {
    /// `hex:…`: the hex digits as written (32 to 64 bytes once decoded).
    Hex(String),
    /// An ASCII passphrase (32 to 64 bytes).
    Ascii(String),
    /// `file:PATH`: the file holds a `hex:` line or an ASCII key (read at load time; keepalived
    /// warns when it is readable by group or others). Also how systemd credentials are used
    /// (`file:${_ENV CREDENTIALS_DIRECTORY}/NAME`).
    File(String),
}

impl AuthHmacKeyValue {
    /// The value as written in the configuration.
    pub fn as_written(&self) -> String {
        match self {
            AuthHmacKeyValue::Hex(h) => format!("hex:{h}"),
            AuthHmacKeyValue::Ascii(a) => a.clone(),
            AuthHmacKeyValue::File(f) => format!("file:{f}"),
        }
    }
}

/// `auth_hmac` `anti_replay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthHmacAntiReplay {
    /// `time` (default): freshness window plus per-sender growth.
    Time,
    /// `monotonic`: per-sender growth only.
    Monotonic,
}

/// `auth_hmac` `mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthHmacMode {
    /// `enforce` (default): sign, require a valid trailer.
    Enforce,
    /// `permissive`: sign, also accept unsigned adverts.
    Permissive,
    /// `receive-only`: verify a present trailer, send none, accept unsigned adverts.
    ReceiveOnly,
}

impl AuthHmacMode {
    /// keepalived's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthHmacMode::Enforce => "enforce",
            AuthHmacMode::Permissive => "permissive",
            AuthHmacMode::ReceiveOnly => "receive-only",
        }
    }
}

/// An address in `virtual_ipaddress` / `static_ipaddress`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpAddress {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length (default 32 / 128).
    pub prefix_len: u8,
    /// `brd`.
    pub brd: Option<Ipv4Addr>,
    /// `dev`.
    pub dev: Option<String>,
    /// `label`.
    pub label: Option<String>,
    /// `scope`.
    pub scope: Option<Scope>,
    /// `peer ADDR[/LEN]`.
    pub peer: Option<(IpAddr, Option<u8>)>,
    /// `no_track`.
    pub no_track: bool,
    /// `preferred_lft SECONDS|forever` (`forever`: `u32::MAX`, keepalived's INFINITY_LIFE_TIME).
    pub preferred_lft: Option<u32>,
    /// The address flag words given.
    pub flags: AddrFlagWords,
    /// `use_vmac` (a virtual address on the instance's VMAC).
    pub use_vmac: bool,
    /// `track_group NAME` (a static address).
    pub track_group: Option<String>,
    /// Where.
    pub loc: Loc,
}

/// The flag words of an address line (keepalived's IFA_F_* words).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddrFlagWords {
    /// `home` (IFA_F_HOMEADDRESS).
    pub home: bool,
    /// `-nodad`: duplicate address detection stays on (keepalived sets IFA_F_NODAD on IPv6
    /// addresses otherwise).
    pub dad: bool,
    /// `mngtmpaddr` (IFA_F_MANAGETEMPADDR).
    pub mngtmpaddr: bool,
    /// `noprefixroute` (IFA_F_NOPREFIXROUTE).
    pub noprefixroute: bool,
    /// `autojoin` (IFA_F_MCAUTOJOIN).
    pub autojoin: bool,
}

/// `unicast_peer` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnicastPeer {
    /// Peer address.
    pub addr: IpAddr,
    /// `min_ttl`.
    pub min_ttl: Option<u8>,
    /// `max_ttl`.
    pub max_ttl: Option<u8>,
    /// Where.
    pub loc: Loc,
}

/// A tracked object reference with optional weight: `NAME [weight W [reverse]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackRef {
    /// Name (interface, script, file, process, bfd).
    pub name: String,
    /// Weight override.
    pub weight: Option<i32>,
    /// `reverse`.
    pub reverse: bool,
    /// Where.
    pub loc: Loc,
}

/// `use_vmac [NAME]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Vmac {
    /// Interface name (default `vrrp.<vrid>`).
    pub name: Option<String>,
}

/// `vrrp_instance`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VrrpInstance {
    /// Name.
    pub name: String,
    /// `state` (initial state; default BACKUP).
    pub state: VrrpState,
    /// `interface`.
    pub interface: Option<String>,
    /// `virtual_router_id` (1..255, required).
    pub virtual_router_id: Option<u8>,
    /// `priority` (1..255, default 100).
    pub priority: u8,
    /// `advert_int` (default 1 s).
    pub advert_int: Duration,
    /// `version` (None = global `vrrp_version`).
    pub version: Option<u8>,
    /// `use_vmac`.
    pub use_vmac: Option<Vmac>,
    /// `vmac_xmit_base`.
    pub vmac_xmit_base: bool,
    /// `use_vmac_addr`.
    pub use_vmac_addr: bool,
    /// `mcast_src_ip`.
    pub mcast_src_ip: Option<IpAddr>,
    /// `unicast_src_ip`.
    pub unicast_src_ip: Option<IpAddr>,
    /// `mcast_dst_ip`.
    pub mcast_dst_ip: Option<IpAddr>,
    /// `unicast_peer { }`.
    pub unicast_peer: Vec<UnicastPeer>,
    /// `unicast_ttl` (default 255).
    pub unicast_ttl: u8,
    /// `unicast_fault_no_peer`.
    pub unicast_fault_no_peer: bool,
    /// `check_unicast_src`.
    pub check_unicast_src: bool,
    /// `virtual_ipaddress { }`.
    pub virtual_ipaddress: Vec<IpAddress>,
    /// `virtual_ipaddress_excluded { }`.
    pub virtual_ipaddress_excluded: Vec<IpAddress>,
    /// `virtual_routes { }` (the lines keepalived keeps).
    pub virtual_routes: Vec<Route>,
    /// `virtual_rules { }` (the lines keepalived keeps).
    pub virtual_rules: Vec<Rule>,
    /// `authentication { }`.
    pub authentication: Option<Authentication>,
    /// `auth_hmac { }` (keepalived 2.4).
    pub auth_hmac: Option<AuthHmac>,
    /// `track_interface { }`.
    pub track_interface: Vec<TrackRef>,
    /// `track_script { }`.
    pub track_script: Vec<TrackRef>,
    /// `track_file { }`.
    pub track_file: Vec<TrackRef>,
    /// `track_process { }`.
    pub track_process: Vec<TrackRef>,
    /// `track_bfd { }`.
    pub track_bfd: Vec<TrackRef>,
    /// `dont_track_primary`.
    pub dont_track_primary: bool,
    /// `track_src_ip`.
    pub track_src_ip: bool,
    /// `accept` / `no_accept` (None = default: accept unless strict).
    pub accept: Option<bool>,
    /// `preempt` (default true; `nopreempt` clears it).
    pub preempt: bool,
    /// `preempt_delay` (0..1000 s).
    pub preempt_delay: Duration,
    /// `strict_mode` (None = global `vrrp_strict`).
    pub strict_mode: Option<bool>,
    /// `skip_check_adv_addr`.
    pub skip_check_adv_addr: Option<bool>,
    /// `v3_checksum_as_v2 [BOOL]` (keepalived 2.2.8): VRRPv3 over IPv4 sent with the v2
    /// checksum (no pseudo-header), and received checksums not checked.
    pub v3_checksum_as_v2: Option<bool>,
    /// `no_virtual_ipaddress` (keepalived 2.2.8): an instance without VIPs is intended (no
    /// "No VIP specified" warning or, for v3, error); cleared by strict mode.
    pub no_virtual_ipaddress: bool,
    /// `native_ipv6`.
    pub native_ipv6: bool,
    /// `promote_secondaries`.
    pub promote_secondaries: bool,
    /// `garp_master_delay` (None = global).
    pub garp_master_delay: Option<Duration>,
    /// `garp_master_repeat`.
    pub garp_master_repeat: Option<u32>,
    /// `garp_master_refresh`.
    pub garp_master_refresh: Option<Duration>,
    /// `garp_master_refresh_repeat`.
    pub garp_master_refresh_repeat: Option<u32>,
    /// `garp_lower_prio_delay`.
    pub garp_lower_prio_delay: Option<Duration>,
    /// `garp_lower_prio_repeat`.
    pub garp_lower_prio_repeat: Option<u32>,
    /// `lower_prio_no_advert`.
    pub lower_prio_no_advert: Option<bool>,
    /// `higher_prio_send_advert`.
    pub higher_prio_send_advert: Option<bool>,
    /// `owner_ignore_adverts [BOOL]` (keepalived 2.4): an address owner (priority 255)
    /// drops every advert it receives (None: on for a strict-mode owner, else the global).
    pub owner_ignore_adverts: Option<bool>,
    /// `down_timer_adverts`.
    pub down_timer_adverts: Option<u32>,
    /// `timer_expired_backup [PRIORITY]` (keepalived 2.4; `thread_timer_expired` is its
    /// misspelt twin): the highest priority another router may have (1-254, bare: 254).
    pub timer_expired_backup: Option<u8>,
    /// `notify_master`.
    pub notify_master: Option<Box<Script>>,
    /// `notify_backup`.
    pub notify_backup: Option<Box<Script>>,
    /// `notify_fault`.
    pub notify_fault: Option<Box<Script>>,
    /// `notify_stop`.
    pub notify_stop: Option<Box<Script>>,
    /// `notify_deleted [SCRIPT]`: its script.
    pub notify_deleted: Option<Box<Script>>,
    /// `notify_deleted` given (bare or with a script): a removed instance notifies DELETED
    /// instead of FAULT.
    pub notify_deleted_set: bool,
    /// `notify`.
    pub notify: Option<Box<Script>>,
    /// `notify_master_rx_lower_pri`.
    pub notify_master_rx_lower_pri: Option<Box<Script>>,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// `lvs_sync_daemon_interface` (deprecated).
    pub lvs_sync_daemon_interface: Option<String>,
    /// `debug` level.
    pub debug: Option<u8>,
    /// `use_ipvlan [IFNAME] [ADDRESS] [bridge|private|vepa]`.
    pub use_ipvlan: Option<Ipvlan>,
    /// `old_unicast_checksum [never]`.
    pub old_unicast_checksum: Option<OldUnicastChecksum>,
    /// `vrf IFNAME` (instead of `interface`).
    pub vrf: Option<String>,
    /// `linkbeat_use_polling` (deprecated in an instance: keepalived reports an error).
    pub linkbeat_use_polling: bool,
    /// `notify_priority_changes [BOOL]` (None: the global `vrrp_notify_priority_changes`).
    pub notify_priority_changes: Option<bool>,
    /// `garp_extra_if [all] SECS` (`vmac_garp_intvl`, deprecated).
    pub garp_extra_if: Option<GarpExtraIf>,
    /// `kernel_rx_buf_size BYTES`.
    pub kernel_rx_buf_size: Option<u32>,
    /// Recognized keywords not modelled.
    pub extra: Vec<Stmt>,
    /// Where the block starts.
    pub loc: Loc,
    /// Where `interface` was given.
    pub interface_loc: Loc,
    /// Earlier `interface` statements a later one replaced: keepalived checks each one as it
    /// reads it (`-t` reports a missing interface even if a later line names another).
    pub replaced_interfaces: Vec<(String, Loc)>,
}

impl VrrpInstance {
    /// keepalived's address family of the instance: IPv6 with `native_ipv6` or when its first
    /// address (VIP, else unicast or multicast source, else the first peer) is IPv6 (the
    /// parser refuses addresses of the other family).
    pub fn is_ipv6(&self) -> bool {
        self.native_ipv6
            || self
                .virtual_ipaddress
                .first()
                .map(|a| a.addr)
                .or(self.unicast_src_ip)
                .or(self.mcast_src_ip)
                .or(self.unicast_peer.first().map(|p| p.addr))
                .is_some_and(|a| a.is_ipv6())
    }

    /// The VRRP version the instance runs, as keepalived's vrrp_complete_instance decides it:
    /// its own `version`; else 3 for an IPv6 instance (whatever `vrrp_version` says: IPv6 VRRP
    /// is version 3, RFC 5798); else the global `vrrp_version`.
    pub fn effective_version(&self, global_version: u8) -> u8 {
        match self.version {
            Some(v) => v,
            None if self.is_ipv6() => 3,
            None => global_version,
        }
    }

    /// An instance with keepalived's defaults.
    pub fn new(name: &str) -> VrrpInstance {
        VrrpInstance {
            name: name.to_string(),
            state: VrrpState::Backup,
            interface: None,
            virtual_router_id: None,
            priority: 100,
            advert_int: Duration::from_secs(1),
            version: None,
            use_vmac: None,
            vmac_xmit_base: false,
            use_vmac_addr: false,
            mcast_src_ip: None,
            unicast_src_ip: None,
            mcast_dst_ip: None,
            unicast_peer: Vec::new(),
            unicast_ttl: 255,
            unicast_fault_no_peer: false,
            check_unicast_src: false,
            virtual_ipaddress: Vec::new(),
            virtual_ipaddress_excluded: Vec::new(),
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            authentication: None,
            auth_hmac: None,
            track_interface: Vec::new(),
            track_script: Vec::new(),
            track_file: Vec::new(),
            track_process: Vec::new(),
            track_bfd: Vec::new(),
            dont_track_primary: false,
            track_src_ip: false,
            accept: None,
            preempt: true,
            preempt_delay: Duration::ZERO,
            strict_mode: None,
            skip_check_adv_addr: None,
            v3_checksum_as_v2: None,
            no_virtual_ipaddress: false,
            native_ipv6: false,
            promote_secondaries: false,
            garp_master_delay: None,
            garp_master_repeat: None,
            garp_master_refresh: None,
            garp_master_refresh_repeat: None,
            garp_lower_prio_delay: None,
            garp_lower_prio_repeat: None,
            lower_prio_no_advert: None,
            higher_prio_send_advert: None,
            owner_ignore_adverts: None,
            timer_expired_backup: None,
            down_timer_adverts: None,
            notify_master: None,
            notify_backup: None,
            notify_fault: None,
            notify_stop: None,
            notify_deleted: None,
            notify_deleted_set: false,
            notify: None,
            notify_master_rx_lower_pri: None,
            smtp_alert: None,
            lvs_sync_daemon_interface: None,
            debug: None,
            use_ipvlan: None,
            old_unicast_checksum: None,
            vrf: None,
            linkbeat_use_polling: false,
            notify_priority_changes: None,
            garp_extra_if: None,
            kernel_rx_buf_size: None,
            extra: Vec::new(),
            loc: Loc::default(),
            interface_loc: Loc::default(),
            replaced_interfaces: Vec::new(),
        }
    }
}

/// `vrrp_sync_group`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncGroup {
    /// Name.
    pub name: String,
    /// `group { }` instance names.
    pub group: Vec<String>,
    /// `track_interface`.
    pub track_interface: Vec<TrackRef>,
    /// `track_script`.
    pub track_script: Vec<TrackRef>,
    /// `track_file`.
    pub track_file: Vec<TrackRef>,
    /// `track_process`.
    pub track_process: Vec<TrackRef>,
    /// `notify_master`.
    pub notify_master: Option<Box<Script>>,
    /// `notify_backup`.
    pub notify_backup: Option<Box<Script>>,
    /// `notify_fault`.
    pub notify_fault: Option<Box<Script>>,
    /// `notify_stop`.
    pub notify_stop: Option<Box<Script>>,
    /// `notify`.
    pub notify: Option<Box<Script>>,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// `track_bfd { NAME [weight W [reverse|noreverse]] }`.
    pub track_bfd: Vec<TrackRef>,
    /// `sync_group_tracking_weight` (or the deprecated `global_tracking`).
    pub sync_group_tracking_weight: bool,
    /// `notify_priority_changes [BOOL]`.
    pub notify_priority_changes: Option<bool>,
    /// Recognized keywords not modelled.
    pub extra: Vec<Stmt>,
    /// Where.
    pub loc: Loc,
}

/// `garp_group`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GarpGroup {
    /// `garp_interval`.
    pub garp_interval: Option<Duration>,
    /// `gna_interval`.
    pub gna_interval: Option<Duration>,
    /// `interface` / `interfaces { }`.
    pub interfaces: Vec<GarpInterface>,
    /// Where.
    pub loc: Loc,
}

/// An interface of a `garp_group`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GarpInterface {
    /// Its name.
    pub name: String,
    /// Where keepalived reports it (the `interface` line, or the `}` closing `interfaces`).
    pub loc: Loc,
}

/// `track_group NAME { group { INSTANCE ... } }`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrackGroup {
    /// Name.
    pub name: String,
    /// `group { }`: the vrrp instances' names.
    pub group: Vec<String>,
    /// Where.
    pub loc: Loc,
}

/// How a `linkbeat_interfaces` entry polls its link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkbeatType {
    /// `MII`.
    Mii,
    /// `ETHTOOL`.
    Ethtool,
    /// `IOCTL`.
    Ioctl,
}

impl LinkbeatType {
    /// keepalived's word.
    pub fn name(self) -> &'static str {
        match self {
            LinkbeatType::Mii => "MII",
            LinkbeatType::Ethtool => "ETHTOOL",
            LinkbeatType::Ioctl => "IOCTL",
        }
    }
}

/// One line of `linkbeat_interfaces { IFNAME [MII|ETHTOOL|IOCTL] }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkbeatInterface {
    /// The interface.
    pub name: String,
    /// The polling method (None: keepalived's choice).
    pub kind: Option<LinkbeatType>,
    /// Where.
    pub loc: Loc,
}

/// One line of `interface_up_down_delays { IFNAME DOWN_DELAY [UP_DELAY] }` (0..255 s each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfUpDownDelay {
    /// The interface.
    pub name: String,
    /// Delay before a link down is acted on.
    pub down: Duration,
    /// Delay before a link up is acted on (default 0).
    pub up: Duration,
    /// Where.
    pub loc: Loc,
}

/// `use_ipvlan [IFNAME] [ADDRESS[/LEN]] [bridge|private|vepa]` of a vrrp_instance.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ipvlan {
    /// The ipvlan interface's name (default: keepalived's `vrrp.VRID`).
    pub name: Option<String>,
    /// Its address (also the instance's source address).
    pub addr: Option<(IpAddr, Option<u8>)>,
    /// The mode.
    pub mode: Option<IpvlanMode>,
}

/// An ipvlan mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpvlanMode {
    /// `bridge` (keepalived's default).
    Bridge,
    /// `private`.
    Private,
    /// `vepa`.
    Vepa,
}

impl IpvlanMode {
    /// keepalived's word.
    pub fn name(self) -> &'static str {
        match self {
            IpvlanMode::Bridge => "bridge",
            IpvlanMode::Private => "private",
            IpvlanMode::Vepa => "vepa",
        }
    }
}

/// `old_unicast_checksum [never]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OldUnicastChecksum {
    /// Bare: use the pre-1.3.6 unicast checksum.
    Config,
    /// `never`.
    Never,
}
