//! The typed configuration model, with keepalived's defaults applied.
//!
//! Every block keeps, besides its typed fields, an `extra` list of statements for keywords
//! keepalived knows but our runtime does not implement yet (they are reported as notes
//! "recognized, not supported yet", and printed back unchanged).

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use crate::diag::Loc;
pub use crate::route::{Route, RouteType, Rule, RuleAction, Scope, RTPROT_KEEPALIVED};

/// A statement kept as text: a recognized keyword we don't model (yet).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stmt {
    /// The keyword (its canonical spelling: a static string for every keyword of the
    /// language, so that building statements does not allocate for it).
    pub keyword: Cow<'static, str>,
    /// Words after the keyword.
    pub args: Vec<String>,
    /// Its `{}` body, if any.
    pub body: Body,
    /// Where it was.
    pub loc: Loc,
    /// The line of the `}` closing its block (0: no block, or not closed): keepalived reports
    /// what its end-of-block checks find on that line.
    pub end_line: EndLine,
}

/// A line number that, like [`Loc`], compares always equal (model equality is about content).
#[derive(Debug, Clone, Copy, Default)]
pub struct EndLine(pub u32);

impl PartialEq for EndLine {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}
impl Eq for EndLine {}

/// The body of a [`Stmt`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Body {
    /// No block.
    #[default]
    None,
    /// A block of keywords.
    Block(Vec<Stmt>),
    /// A block of value lines.
    Values(Vec<ValueLine>),
}

/// One line of a value block (e.g. one address of `virtual_ipaddress`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValueLine {
    /// The words.
    pub words: Vec<String>,
    /// Where.
    pub loc: Loc,
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// `global_defs` (merged if given several times) and root-level globals.
    pub global: GlobalDefs,
    /// `vrrp_script` blocks.
    pub vrrp_scripts: Vec<VrrpScript>,
    /// `track_file` / `vrrp_track_file` blocks.
    pub track_files: Vec<TrackFile>,
    /// `vrrp_track_process` blocks.
    pub track_processes: Vec<TrackProcess>,
    /// `vrrp_instance` blocks.
    pub vrrp_instances: Vec<VrrpInstance>,
    /// `vrrp_sync_group` blocks.
    pub sync_groups: Vec<SyncGroup>,
    /// `garp_group` blocks.
    pub garp_groups: Vec<GarpGroup>,
    /// `static_ipaddress` entries.
    pub static_ipaddress: Vec<IpAddress>,
    /// `static_routes` entries that keepalived keeps.
    pub static_routes: Vec<Route>,
    /// `static_rules` entries that keepalived keeps.
    pub static_rules: Vec<Rule>,
    /// The `SSL` block.
    pub ssl: Option<SslConfig>,
    /// `virtual_server_group` blocks.
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    /// `virtual_server` blocks.
    pub virtual_servers: Vec<VirtualServer>,
    /// `bfd_instance` blocks (those keepalived keeps: valid, distinct neighbors).
    pub bfd_instances: Vec<BfdInstance>,
    /// `track_group` blocks.
    pub track_groups: Vec<TrackGroup>,
    /// `linkbeat_interfaces { }` entries.
    pub linkbeat_interfaces: Vec<LinkbeatInterface>,
    /// `interface_up_down_delays { }` entries.
    pub interface_up_down_delays: Vec<IfUpDownDelay>,
    /// Other recognized top-level statements (track_group, linkbeat_interfaces, ...).
    pub extra: Vec<Stmt>,
    /// Where the braces stopped balancing: the first unexpected (ignored) `{`, when no extra
    /// `}` made up for it (line 0: balanced). A [`Loc`], so it never counts in `Config`
    /// equality (print → parse identity). keepalived's worker processes skip inactive blocks by counting raw
    /// braces, so from there on they see none of the configuration: scripts after this point
    /// do not count for the script-security check (verdict parity with the reference).
    pub unbalanced_from: Loc,
}

/// A script with its user: `"/path/x arg" [username [groupname]]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Script {
    /// The command line (first word is the program).
    pub command: String,
    /// `user [group]` to run as, if given.
    pub user: Option<String>,
    /// Group to run as.
    pub group: Option<String>,
}

/// `global_defs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalDefs {
    /// `router_id` (default: the host name).
    pub router_id: Option<String>,
    /// `notification_email` addresses.
    pub notification_email: Vec<String>,
    /// `notification_email_from`.
    pub notification_email_from: Option<String>,
    /// `smtp_server ADDR [PORT]`.
    pub smtp_server: Option<(String, u16)>,
    /// `smtp_helo_name`.
    pub smtp_helo_name: Option<String>,
    /// `smtp_connect_timeout` (default 30 s).
    pub smtp_connect_timeout: Duration,
    /// `smtp_alert` (None = not set).
    pub smtp_alert: Option<bool>,
    /// `smtp_alert_vrrp`.
    pub smtp_alert_vrrp: Option<bool>,
    /// `smtp_alert_checker`.
    pub smtp_alert_checker: Option<bool>,
    /// `enable_script_security`.
    pub enable_script_security: bool,
    /// `script_user USER [GROUP]`.
    pub script_user: Option<(String, Option<String>)>,
    /// `vrrp_strict`.
    pub vrrp_strict: bool,
    /// `vrrp_skip_check_adv_addr`.
    pub vrrp_skip_check_adv_addr: bool,
    /// `vrrp_check_unicast_src`.
    pub vrrp_check_unicast_src: bool,
    /// `vrrp_version` (default 2).
    pub vrrp_version: u8,
    /// `vrrp_mcast_group4` (default 224.0.0.18).
    pub vrrp_mcast_group4: Ipv4Addr,
    /// `vrrp_mcast_group6` (default ff02::12).
    pub vrrp_mcast_group6: Ipv6Addr,
    /// `vrrp_garp_master_delay` (default 5 s).
    pub vrrp_garp_master_delay: Duration,
    /// `vrrp_garp_master_repeat` (default 5).
    pub vrrp_garp_master_repeat: u32,
    /// `vrrp_garp_master_refresh` (None = no refresh).
    pub vrrp_garp_master_refresh: Option<Duration>,
    /// `vrrp_garp_master_refresh_repeat` (default 1).
    pub vrrp_garp_master_refresh_repeat: u32,
    /// `vrrp_garp_lower_prio_delay` (None = same as master delay).
    pub vrrp_garp_lower_prio_delay: Option<Duration>,
    /// `vrrp_garp_lower_prio_repeat` (None = same as master repeat).
    pub vrrp_garp_lower_prio_repeat: Option<u32>,
    /// `vrrp_garp_interval` between gratuitous ARPs (default 0 = none).
    pub vrrp_garp_interval: Duration,
    /// `vrrp_gna_interval` between unsolicited NAs (default 0 = none).
    pub vrrp_gna_interval: Duration,
    /// `vrrp_lower_prio_no_advert`.
    pub vrrp_lower_prio_no_advert: bool,
    /// `vrrp_higher_prio_send_advert`.
    pub vrrp_higher_prio_send_advert: bool,
    /// `vrrp_owner_ignore_adverts [BOOL]` (keepalived 2.4): the default of the instances'
    /// `owner_ignore_adverts`.
    pub vrrp_owner_ignore_adverts: bool,
    /// `vrrp_down_timer_adverts` (default 3).
    pub vrrp_down_timer_adverts: u32,
    /// `vrrp_startup_delay`.
    pub vrrp_startup_delay: Option<Duration>,
    /// `lvs_sync_daemon INTERFACE VRRP_INSTANCE [id N] [maxlen N] [port N] [ttl N] [group IP]`.
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    /// `lvs_flush`.
    pub lvs_flush: bool,
    /// `lvs_flush_on_stop [VS]`.
    pub lvs_flush_on_stop: FlushOnStop,
    /// `lvs_timeouts tcp N tcpfin N udp N`.
    pub lvs_timeouts: Option<LvsTimeouts>,
    /// `default_interface`.
    pub default_interface: Option<String>,
    /// `dynamic_interfaces`.
    pub dynamic_interfaces: bool,
    /// `checker_log_all_failures`.
    pub checker_log_all_failures: bool,
    /// `no_email_faults`.
    pub no_email_faults: bool,
    /// `notify_fifo` / `notify_fifo_script`: the FIFO both processes write to.
    pub notify_fifo: NotifyFifo,
    /// `vrrp_notify_fifo` / `vrrp_notify_fifo_script`: the VRRP process's FIFO.
    pub vrrp_notify_fifo: NotifyFifo,
    /// `lvs_notify_fifo` / `lvs_notify_fifo_script`: the checker process's FIFO.
    pub lvs_notify_fifo: NotifyFifo,
    /// `vmac_prefix` (None: keepalived's `vrrp`).
    pub vmac_prefix: Option<String>,
    /// `vmac_addr_prefix` (None: the `vmac_prefix`).
    pub vmac_addr_prefix: Option<String>,
    /// keepalived-rs's `krs_vip_lease on|off` (default on): a master's VIPs carry a lease.
    pub krs_vip_lease: bool,
    /// keepalived-rs's `metrics_listen IP:PORT|PORT` (a bare port is on 127.0.0.1).
    pub metrics_listen: Option<SocketAddr>,
    /// keepalived-rs extension `metrics_allow NET...` (repeatable): the source networks
    /// (address, prefix length) the metrics endpoint serves. Empty = loopback clients only.
    pub metrics_allow: Vec<(IpAddr, u8)>,
    /// Root-level `instance NAME`.
    pub instance: Option<String>,
    /// Root-level `net_namespace NAME`.
    pub net_namespace: Option<String>,
    /// Root-level `net_namespace_ipvs [NAME]` (`Some("")`: the default namespace).
    pub net_namespace_ipvs: Option<String>,
    /// Root-level `namespace_with_ipsets`.
    pub namespace_with_ipsets: bool,
    /// Root-level `use_pid_dir`.
    pub use_pid_dir: bool,
    /// Root-level `linkbeat_use_polling`.
    pub linkbeat_use_polling: bool,
    /// Root-level `child_wait_time SECS` (default 5 s).
    pub child_wait_time: Duration,
    /// Process names.
    pub process_names: ProcessNames,
    /// `startup_script CMD [USER [GROUP]]`.
    pub startup_script: Option<Box<Script>>,
    /// `startup_script_timeout` (1..1000 s; None: 10 s).
    pub startup_script_timeout: Option<Duration>,
    /// `shutdown_script CMD [USER [GROUP]]`.
    pub shutdown_script: Option<Box<Script>>,
    /// `shutdown_script_timeout` (1..1000 s; None: 10 s).
    pub shutdown_script_timeout: Option<Duration>,
    /// `max_auto_priority [N]` (-1 disables; 0..99; bare: 99).
    pub max_auto_priority: Option<i32>,
    /// `min_auto_priority_delay USECS` (1..10000000 µs).
    pub min_auto_priority_delay: Option<Duration>,
    /// `disable_local_igmp`.
    pub disable_local_igmp: bool,
    /// `vrrp_min_garp [BOOL]`: one gratuitous ARP, no repeat, no refresh, no delay (for each
    /// of those still at keepalived's default).
    pub vrrp_min_garp: bool,
    /// `vrrp_garp_extra_if [all] SECS` (`vrrp_vmac_garp_intvl`, deprecated).
    pub vrrp_garp_extra_if: Option<GarpExtraIf>,
    /// `vrrp_ipsets [NAME ...]` (keepalived 2.2.7's Debian build has no ipset support).
    pub vrrp_ipsets: Option<Vec<String>>,
    /// nftables settings (and `vrrp_iptables`, which 2.2.7 maps onto them).
    pub nftables: NftablesSettings,
    /// `vrrp_priority`, `vrrp_no_swap`, `vrrp_rt_priority`, `vrrp_cpu_affinity`,
    /// `vrrp_rlimit_rttime`.
    pub vrrp_sched: ProcessSched,
    /// The `checker_*` scheduling keywords.
    pub checker_sched: ProcessSched,
    /// The `bfd_*` scheduling keywords.
    pub bfd_sched: ProcessSched,
    /// `vrrp_notify_priority_changes [BOOL]`.
    pub vrrp_notify_priority_changes: bool,
    /// `fifo_write_vrrp_states_on_reload`.
    pub fifo_write_vrrp_states_on_reload: bool,
    /// SNMP settings.
    pub snmp: SnmpSettings,
    /// `enable_dbus`.
    pub enable_dbus: bool,
    /// `dbus_service_name NAME`.
    pub dbus_service_name: Option<String>,
    /// `vrrp_netlink_cmd_rcv_bufs` (+ `_force`).
    pub vrrp_netlink_cmd_rcv_bufs: RcvBufs,
    /// `vrrp_netlink_monitor_rcv_bufs` (+ `_force`).
    pub vrrp_netlink_monitor_rcv_bufs: RcvBufs,
    /// `process_monitor_rcv_bufs` (+ `_force`).
    pub process_monitor_rcv_bufs: RcvBufs,
    /// `lvs_netlink_cmd_rcv_bufs` (+ `_force`).
    pub lvs_netlink_cmd_rcv_bufs: RcvBufs,
    /// `lvs_netlink_monitor_rcv_bufs` (+ `_force`).
    pub lvs_netlink_monitor_rcv_bufs: RcvBufs,
    /// `rs_init_notifies [BOOL]`.
    pub rs_init_notifies: bool,
    /// `no_checker_emails [BOOL]`.
    pub no_checker_emails: bool,
    /// `vrrp_rx_bufs_policy MTU|ADVERT|SIZE`.
    pub vrrp_rx_bufs_policy: Option<RxBufsPolicy>,
    /// `vrrp_rx_bufs_multiplier N` (1..=u32::MAX).
    pub vrrp_rx_bufs_multiplier: Option<u32>,
    /// `log_unknown_vrids`.
    pub log_unknown_vrids: bool,
    /// `umask MODE` (octal/hex/decimal number or `IRUSR|IWUSR|...`).
    pub umask: Option<u32>,
    /// `random_seed N`.
    pub random_seed: Option<u32>,
    /// `reload_check_config [FILE]` (bare: `/dev/null`).
    pub reload_check_config: Option<String>,
    /// `reload_time_file FILE`.
    pub reload_time_file: Option<String>,
    /// `reload_repeat`.
    pub reload_repeat: bool,
    /// `reload_file [FILE]` (`Some("")`: keepalived's default file).
    pub reload_file: Option<String>,
    /// `include_check [...]` (bare: all four checks).
    pub include_check: Option<IncludeCheck>,
    /// `config_save_dir DIR`.
    pub config_save_dir: Option<String>,
    /// `tmp_config_directory DIR`.
    pub tmp_config_directory: Option<String>,
    /// `data_use_instance [BOOL]`.
    pub data_use_instance: bool,
    /// Recognized global keywords not modelled.
    pub extra: Vec<Stmt>,
}

/// `lvs_flush_on_stop [VS]` (keepalived's `LVS_NO_FLUSH`, `LVS_FLUSH_VS`, `LVS_FLUSH_FULL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlushOnStop {
    /// Not set: at stop each real server, then each virtual server, is removed.
    #[default]
    No,
    /// `lvs_flush_on_stop VS`: each of our virtual servers is removed at once (with its real
    /// servers), no real server one by one; other services stay.
    Vs,
    /// `lvs_flush_on_stop`: the whole IPVS table is flushed, other services included.
    Full,
}

/// A notify FIFO: `*notify_fifo PATH [USER [GROUP]]` and `*notify_fifo_script CMD [USER [GROUP]]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NotifyFifo {
    /// The FIFO's path.
    pub name: Option<String>,
    /// Owner `USER [GROUP]` of the FIFO, if given.
    pub user: Option<(String, Option<String>)>,
    /// The script that reads it.
    pub script: Option<Box<Script>>,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_helo_name: None,
            smtp_connect_timeout: Duration::from_secs(30),
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
            enable_script_security: false,
            script_user: None,
            vrrp_strict: false,
            vrrp_skip_check_adv_addr: false,
            vrrp_check_unicast_src: false,
            vrrp_version: 2,
            vrrp_mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            vrrp_mcast_group6: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
            vrrp_garp_master_delay: Duration::from_secs(5),
            vrrp_garp_master_repeat: 5,
            vrrp_garp_master_refresh: None,
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_lower_prio_delay: None,
            vrrp_garp_lower_prio_repeat: None,
            vrrp_garp_interval: Duration::ZERO,
            vrrp_gna_interval: Duration::ZERO,
            vrrp_lower_prio_no_advert: false,
            vrrp_higher_prio_send_advert: false,
            vrrp_owner_ignore_adverts: false,
            vrrp_down_timer_adverts: 3,
            vrrp_startup_delay: None,
            lvs_sync_daemon: None,
            lvs_flush: false,
            lvs_flush_on_stop: FlushOnStop::No,
            lvs_timeouts: None,
            default_interface: None,
            dynamic_interfaces: false,
            checker_log_all_failures: false,
            no_email_faults: false,
            notify_fifo: NotifyFifo::default(),
            vrrp_notify_fifo: NotifyFifo::default(),
            lvs_notify_fifo: NotifyFifo::default(),
            vmac_prefix: None,
            vmac_addr_prefix: None,
            krs_vip_lease: true,
            metrics_listen: None,
            metrics_allow: Vec::new(),
            instance: None,
            net_namespace: None,
            net_namespace_ipvs: None,
            namespace_with_ipsets: false,
            use_pid_dir: false,
            linkbeat_use_polling: false,
            child_wait_time: DEFAULT_CHILD_WAIT_TIME,
            process_names: ProcessNames::default(),
            startup_script: None,
            startup_script_timeout: None,
            shutdown_script: None,
            shutdown_script_timeout: None,
            max_auto_priority: None,
            min_auto_priority_delay: None,
            disable_local_igmp: false,
            vrrp_min_garp: false,
            vrrp_garp_extra_if: None,
            vrrp_ipsets: None,
            nftables: NftablesSettings::default(),
            vrrp_sched: ProcessSched::default(),
            checker_sched: ProcessSched::default(),
            bfd_sched: ProcessSched::default(),
            vrrp_notify_priority_changes: false,
            fifo_write_vrrp_states_on_reload: false,
            snmp: SnmpSettings::default(),
            enable_dbus: false,
            dbus_service_name: None,
            vrrp_netlink_cmd_rcv_bufs: RcvBufs::default(),
            vrrp_netlink_monitor_rcv_bufs: RcvBufs::default(),
            process_monitor_rcv_bufs: RcvBufs::default(),
            lvs_netlink_cmd_rcv_bufs: RcvBufs::default(),
            lvs_netlink_monitor_rcv_bufs: RcvBufs::default(),
            rs_init_notifies: false,
            no_checker_emails: false,
            vrrp_rx_bufs_policy: None,
            vrrp_rx_bufs_multiplier: None,
            log_unknown_vrids: false,
            umask: None,
            random_seed: None,
            reload_check_config: None,
            reload_time_file: None,
            reload_repeat: false,
            reload_file: None,
            include_check: None,
            config_save_dir: None,
            tmp_config_directory: None,
            data_use_instance: false,
            extra: Vec::new(),
        }
    }
}

/// `metrics_listen`'s value: `IP:PORT`, `[IPv6]:PORT`, or a bare `PORT` on 127.0.0.1.
pub fn parse_metrics_listen(s: &str) -> Option<SocketAddr> {
    if let Ok(port) = s.parse::<u16>() {
        return Some(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    s.parse().ok()
}

/// keepalived's default `child_wait_time`.
pub const DEFAULT_CHILD_WAIT_TIME: Duration = Duration::from_secs(5);

/// `lvs_sync_daemon`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LvsSyncDaemon {
    /// Interface.
    pub interface: String,
    /// VRRP instance whose state drives master/backup.
    pub vrrp_instance: String,
    /// `id` (sync id, default 0..255).
    pub id: Option<u8>,
    /// `maxlen`.
    pub maxlen: Option<u16>,
    /// `port`.
    pub port: Option<u16>,
    /// `ttl`.
    pub ttl: Option<u8>,
    /// `group`.
    pub group: Option<IpAddr>,
}

/// `lvs_timeouts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LvsTimeouts {
    /// tcp (seconds).
    pub tcp: Option<u32>,
    /// tcpfin (seconds).
    pub tcpfin: Option<u32>,
    /// udp (seconds).
    pub udp: Option<u32>,
}

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
    /// `preferred_lft`.
    pub preferred_lft: Option<String>,
    /// Other flags given (home, -nodad, noprefixroute, autojoin, track_group ...): words.
    pub other: Vec<String>,
    /// Where.
    pub loc: Loc,
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

/// The `SSL` block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SslConfig {
    /// `password`.
    pub password: Option<String>,
    /// `ca`.
    pub ca: Option<String>,
    /// `certificate`.
    pub certificate: Option<String>,
    /// `key`.
    pub key: Option<String>,
}

/// An entry of a `virtual_server_group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VsgEntry {
    /// `IP[-LAST_OCTET_OR_GROUP] PORT`: an address range (first..=last) and a port.
    Range {
        /// First address.
        first: IpAddr,
        /// Last address (== first for a single address).
        last: IpAddr,
        /// Port (0 = any).
        port: u16,
    },
    /// `fwmark N`.
    Fwmark(u32),
}

/// `virtual_server_group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServerGroup {
    /// Name.
    pub name: String,
    /// Entries.
    pub entries: Vec<VsgEntry>,
    /// Where.
    pub loc: Loc,
}

/// What a `virtual_server` is keyed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VsKey {
    /// `virtual_server IP PORT`.
    Addr(IpAddr, u16),
    /// `virtual_server fwmark N`.
    Fwmark(u32),
    /// `virtual_server group NAME`.
    Group(String),
}

/// IPVS forwarding method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LbKind {
    /// NAT / masquerading (keepalived's default).
    #[default]
    Nat,
    /// Direct routing.
    Dr,
    /// IP-in-IP tunnelling.
    Tun,
}

/// Service protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// TCP (default).
    #[default]
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

/// `virtual_server`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServer {
    /// Address / fwmark / group.
    pub key: VsKey,
    /// `ip_family inet|inet6`.
    pub ip_family: Option<IpFamily>,
    /// `delay_loop` (default 60 s).
    pub delay_loop: Duration,
    /// `lb_algo` / `lvs_sched` (default wlc).
    pub lb_algo: Scheduler,
    /// Scheduler flags: `hashed`, `ops`, `flag-1`.., `sh-port`, `sh-fallback`, `mh-port`, `mh-fallback`.
    pub sched_flags: SchedFlags,
    /// `lb_kind` / `lvs_method` (default NAT).
    pub lb_kind: LbKind,
    /// `persistence_timeout` (seconds; bare keyword = 360).
    pub persistence_timeout: Option<u32>,
    /// `persistence_granularity`: an IPv4 netmask or an IPv6 prefix length.
    pub persistence_granularity: Option<Granularity>,
    /// `persistence_engine`.
    pub persistence_engine: Option<String>,
    /// `protocol`.
    pub protocol: Protocol,
    /// `ha_suspend`.
    pub ha_suspend: bool,
    /// `virtualhost` (for HTTP checkers).
    pub virtualhost: Option<String>,
    /// `alpha`.
    pub alpha: bool,
    /// `omega`.
    pub omega: bool,
    /// `quorum` (default 1).
    pub quorum: u32,
    /// `hysteresis` (default 0).
    pub hysteresis: u32,
    /// `quorum_up` script.
    pub quorum_up: Option<Box<Script>>,
    /// `quorum_down` script.
    pub quorum_down: Option<Box<Script>>,
    /// `weight` of the service (used with fwmark groups; default 1).
    pub weight: u32,
    /// `inhibit_on_failure` default for real servers.
    pub inhibit_on_failure: bool,
    /// `retry` default for checkers.
    pub retry: Option<u32>,
    /// `delay_before_retry` default for checkers.
    pub delay_before_retry: Option<Duration>,
    /// `warmup` default for checkers.
    pub warmup: Option<Duration>,
    /// `connect_timeout` default for checkers.
    pub connect_timeout: Option<Duration>,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// `sorry_server IP PORT`.
    pub sorry_server: Option<(IpAddr, u16)>,
    /// `sorry_server_inhibit`.
    pub sorry_server_inhibit: bool,
    /// `sorry_server_lvs_method`.
    pub sorry_server_lvs_method: Option<LbKind>,
    /// `snmp_name`.
    pub snmp_name: Option<String>,
    /// `real_server` blocks.
    pub real_servers: Vec<RealServer>,
    /// Recognized keywords not modelled.
    pub extra: Vec<Stmt>,
    /// Where.
    pub loc: Loc,
}

impl VirtualServer {
    /// A virtual server with keepalived's defaults.
    pub fn new(key: VsKey) -> VirtualServer {
        VirtualServer {
            key,
            ip_family: None,
            delay_loop: Duration::from_secs(60),
            lb_algo: Scheduler::Wlc,
            sched_flags: SchedFlags::default(),
            lb_kind: LbKind::Nat,
            persistence_timeout: None,
            persistence_granularity: None,
            persistence_engine: None,
            protocol: Protocol::Tcp,
            ha_suspend: false,
            virtualhost: None,
            alpha: false,
            omega: false,
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            weight: 1,
            inhibit_on_failure: false,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            connect_timeout: None,
            smtp_alert: None,
            sorry_server: None,
            sorry_server_inhibit: false,
            sorry_server_lvs_method: None,
            snmp_name: None,
            real_servers: Vec::new(),
            extra: Vec::new(),
            loc: Loc::default(),
        }
    }
}

/// `real_server`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServer {
    /// Address.
    pub addr: IpAddr,
    /// Port (None for fwmark services without port).
    pub port: Option<u16>,
    /// `weight` (default 1).
    pub weight: u32,
    /// `lvs_method` override.
    pub lvs_method: Option<LbKind>,
    /// `uthreshold`.
    pub uthreshold: Option<u32>,
    /// `lthreshold`.
    pub lthreshold: Option<u32>,
    /// `inhibit_on_failure` (None = virtual server's).
    pub inhibit_on_failure: Option<bool>,
    /// `notify_up`.
    pub notify_up: Option<Box<Script>>,
    /// `notify_down`.
    pub notify_down: Option<Box<Script>>,
    /// `alpha`.
    pub alpha: Option<bool>,
    /// `retry` default for its checkers.
    pub retry: Option<u32>,
    /// `delay_before_retry` default.
    pub delay_before_retry: Option<Duration>,
    /// `warmup` default.
    pub warmup: Option<Duration>,
    /// `connect_timeout` default.
    pub connect_timeout: Option<Duration>,
    /// `delay_loop` default.
    pub delay_loop: Option<Duration>,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// `virtualhost`.
    pub virtualhost: Option<String>,
    /// `snmp_name`.
    pub snmp_name: Option<String>,
    /// Health checkers.
    pub checkers: Vec<Checker>,
    /// Recognized keywords not modelled.
    pub extra: Vec<Stmt>,
    /// Where.
    pub loc: Loc,
}

impl RealServer {
    /// A real server with keepalived's defaults.
    pub fn new(addr: IpAddr, port: Option<u16>) -> RealServer {
        RealServer {
            addr,
            port,
            weight: 1,
            lvs_method: None,
            uthreshold: None,
            lthreshold: None,
            inhibit_on_failure: None,
            notify_up: None,
            notify_down: None,
            alpha: None,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            connect_timeout: None,
            delay_loop: None,
            smtp_alert: None,
            virtualhost: None,
            snmp_name: None,
            checkers: Vec::new(),
            extra: Vec::new(),
            loc: Loc::default(),
        }
    }
}

/// Settings every checker has, resolved against the real and virtual server (keepalived's
/// inheritance: checker → real_server → virtual_server → built-in default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckerCommon {
    /// `connect_ip` (default: the real server address).
    pub connect_ip: Option<IpAddr>,
    /// `connect_port` (default: the real server port).
    pub connect_port: Option<u16>,
    /// `bindto`.
    pub bindto: Option<IpAddr>,
    /// `bind_port`.
    pub bind_port: Option<u16>,
    /// `bind_if`.
    pub bind_if: Option<String>,
    /// `fwmark` (SO_MARK).
    pub fwmark: Option<u32>,
    /// `connect_timeout` (default 5 s).
    pub connect_timeout: Duration,
    /// `retry` (default 1 for most checkers, 0 for MISC_CHECK).
    pub retry: u32,
    /// `delay_before_retry` (keepalived's per-checker default: 3 s for HTTP_GET/SSL_GET, the
    /// delay_loop for DNS_CHECK, 1 s for the others).
    pub delay_before_retry: Duration,
    /// `warmup`: the first check runs at a random point of `[0, warmup]` (default: the
    /// delay_loop; 0: at once).
    pub warmup: Duration,
    /// `delay_loop` (default: the virtual server's).
    pub delay_loop: Duration,
    /// `alpha`.
    pub alpha: bool,
    /// `log_all_failures`.
    pub log_all_failures: bool,
}

impl Default for CheckerCommon {
    fn default() -> Self {
        CheckerCommon {
            connect_ip: None,
            connect_port: None,
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            connect_timeout: Duration::from_secs(5),
            retry: 1,
            delay_before_retry: Duration::from_secs(1),
            warmup: Duration::ZERO,
            delay_loop: Duration::from_secs(60),
            alpha: false,
            log_all_failures: false,
        }
    }
}

/// A health checker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checker {
    /// Common settings.
    pub common: CheckerCommon,
    /// The kind and its own settings.
    pub kind: CheckerKind,
    /// Recognized keywords not modelled.
    pub extra: Vec<Stmt>,
    /// Where.
    pub loc: Loc,
}

/// Checker kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckerKind {
    /// `HTTP_GET`.
    Http(Box<HttpCheck>),
    /// `SSL_GET`.
    Ssl(Box<HttpCheck>),
    /// `TCP_CHECK`.
    Tcp,
    /// `MISC_CHECK`.
    Misc(Box<MiscCheck>),
    /// `SMTP_CHECK`.
    Smtp(Box<SmtpCheck>),
    /// `DNS_CHECK`.
    Dns(Box<DnsCheck>),
    /// `UDP_CHECK`.
    Udp(Box<UdpCheck>),
    /// `PING_CHECK`.
    Ping,
    /// `FILE_CHECK`.
    File(Box<FileCheck>),
    /// `BFD_CHECK`.
    Bfd(Box<BfdCheck>),
}

impl CheckerKind {
    /// The block keyword.
    pub fn keyword(&self) -> &'static str {
        match self {
            CheckerKind::Http(_) => "HTTP_GET",
            CheckerKind::Ssl(_) => "SSL_GET",
            CheckerKind::Tcp => "TCP_CHECK",
            CheckerKind::Misc(_) => "MISC_CHECK",
            CheckerKind::Smtp(_) => "SMTP_CHECK",
            CheckerKind::Dns(_) => "DNS_CHECK",
            CheckerKind::Udp(_) => "UDP_CHECK",
            CheckerKind::Ping => "PING_CHECK",
            CheckerKind::File(_) => "FILE_CHECK",
            CheckerKind::Bfd(_) => "BFD_CHECK",
        }
    }
}

/// HTTP_GET / SSL_GET settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpCheck {
    /// `url { }` blocks.
    pub urls: Vec<UrlCheck>,
    /// `virtualhost`.
    pub virtualhost: Option<String>,
    /// `http_protocol` (None: keepalived's 1.0).
    pub http_protocol: Option<HttpProtocol>,
    /// `enable_sni`.
    pub enable_sni: bool,
    /// `fast_recovery`.
    pub fast_recovery: bool,
}

/// `url { }`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UrlCheck {
    /// `path`.
    pub path: String,
    /// `digest`: the MD5 of the page.
    pub digest: Option<[u8; 16]>,
    /// `status_code` ranges (inclusive); empty = 200-299.
    pub status_codes: Vec<(u16, u16)>,
    /// `virtualhost`.
    pub virtualhost: Option<String>,
    /// `regex`.
    pub regex: Option<String>,
    /// `regex_no_match`.
    pub regex_no_match: bool,
    /// `regex_options`: keepalived's PCRE2 option names (unknown names are dropped, as
    /// keepalived ignores them).
    pub regex_options: Vec<String>,
    /// `regex_min_offset` (0 = from the start of the body).
    pub regex_min_offset: usize,
    /// `regex_max_offset`: the last body offset a match may start at.
    pub regex_max_offset: Option<usize>,
    /// `regex_stack START MAX` (PCRE2 JIT stack sizes).
    pub regex_stack: Option<(u64, u64)>,
    /// Unknown keywords of the block, kept as statements.
    pub extra: Vec<Stmt>,
}

/// MISC_CHECK settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MiscCheck {
    /// `misc_path`.
    pub misc_path: String,
    /// `misc_timeout`.
    pub misc_timeout: Option<Duration>,
    /// `misc_dynamic`.
    pub misc_dynamic: bool,
    /// `user USER [GROUP]`.
    pub user: Option<(String, Option<String>)>,
}

/// SMTP_CHECK settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SmtpCheck {
    /// `helo_name`.
    pub helo_name: Option<String>,
    /// `host { }` blocks: more servers to check.
    pub hosts: Vec<SmtpHost>,
}

/// DNS_CHECK settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DnsCheck {
    /// `type` (None: keepalived's SOA).
    pub qtype: Option<DnsType>,
    /// `name` (default ".").
    pub name: Option<String>,
}

/// UDP_CHECK settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UdpCheck {
    /// `payload HEX`: the datagram sent.
    pub payload: Option<Vec<u8>>,
    /// `require_reply [HEX]`: None when not given; `Some` with the expected bytes, if any.
    pub require_reply: Option<HexPattern>,
    /// `min_reply_length`.
    pub min_reply_length: Option<u32>,
    /// `max_reply_length`.
    pub max_reply_length: Option<u32>,
}

/// FILE_CHECK settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileCheck {
    /// `track_file` name.
    pub track_file: String,
    /// `weight`.
    pub weight: Option<i32>,
    /// `weight ... reverse`.
    pub weight_reverse: bool,
}

/// BFD_CHECK settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BfdCheck {
    /// `name` of the bfd_instance.
    pub name: String,
}

/// An IPVS scheduler keepalived accepts (`lvs_schedulers[]` in `check_parser.c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scheduler {
    /// Round robin.
    Rr,
    /// Weighted round robin.
    Wrr,
    /// Least connection.
    Lc,
    /// Weighted least connection (keepalived's default).
    #[default]
    Wlc,
    /// Locality-based least connection.
    Lblc,
    /// Source hashing.
    Sh,
    /// Maglev hashing.
    Mh,
    /// Destination hashing.
    Dh,
    /// Weighted failover.
    Fo,
    /// Weighted overflow.
    Ovf,
    /// Locality-based least connection with replication.
    Lblcr,
    /// Shortest expected delay.
    Sed,
    /// Never queue.
    Nq,
    /// Weighted random twos choice.
    Twos,
}

impl Scheduler {
    /// Every scheduler, in keepalived's order.
    pub const ALL: [Scheduler; 14] = [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Lblc,
        Scheduler::Sh,
        Scheduler::Mh,
        Scheduler::Dh,
        Scheduler::Fo,
        Scheduler::Ovf,
        Scheduler::Lblcr,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Twos,
    ];

    /// The kernel's (and keepalived's) name.
    pub fn name(self) -> &'static str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Lblc => "lblc",
            Scheduler::Sh => "sh",
            Scheduler::Mh => "mh",
            Scheduler::Dh => "dh",
            Scheduler::Fo => "fo",
            Scheduler::Ovf => "ovf",
            Scheduler::Lblcr => "lblcr",
            Scheduler::Sed => "sed",
            Scheduler::Nq => "nq",
            Scheduler::Twos => "twos",
        }
    }

    /// The scheduler of that exact (case-sensitive) name.
    pub fn from_name(s: &str) -> Option<Scheduler> {
        Scheduler::ALL.into_iter().find(|x| x.name() == s)
    }
}

impl std::fmt::Display for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A virtual server's scheduler flags (`ops`, `flag-1..3`, and the `sh-`/`mh-` aliases of
/// flag-1 (fallback) and flag-2 (port)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SchedFlags {
    /// `ops`: one-packet scheduling.
    pub ops: bool,
    /// `flag-1` (`sh-fallback`, `mh-fallback`).
    pub flag1: bool,
    /// `flag-2` (`sh-port`, `mh-port`).
    pub flag2: bool,
    /// `flag-3`.
    pub flag3: bool,
}

/// `ip_family`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpFamily {
    /// `inet`.
    Inet,
    /// `inet6`.
    Inet6,
}

impl IpFamily {
    /// keepalived's word.
    pub fn name(self) -> &'static str {
        match self {
            IpFamily::Inet => "inet",
            IpFamily::Inet6 => "inet6",
        }
    }
}

/// `persistence_granularity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Granularity {
    /// An IPv4 netmask (any value `inet_aton` reads; keepalived does not require it solid).
    V4(Ipv4Addr),
    /// An IPv6 prefix length, 1-128.
    V6(u8),
}

/// `http_protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpProtocol {
    /// `1.0`.
    Http10,
    /// `1.0C` (or `1.0c`): 1.0 with `Connection: close`.
    Http10C,
    /// `1.1`.
    Http11,
}

impl HttpProtocol {
    /// keepalived's word.
    pub fn name(self) -> &'static str {
        match self {
            HttpProtocol::Http10 => "1.0",
            HttpProtocol::Http10C => "1.0C",
            HttpProtocol::Http11 => "1.1",
        }
    }
}

/// A DNS_CHECK `type` (`DNS_TYPE[]` in `check_dns.c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DnsType {
    /// A.
    A,
    /// NS.
    Ns,
    /// CNAME.
    Cname,
    /// SOA (keepalived's default).
    Soa,
    /// MX.
    Mx,
    /// TXT.
    Txt,
    /// AAAA.
    Aaaa,
    /// RRSIG.
    Rrsig,
    /// DNSKEY.
    Dnskey,
}

impl DnsType {
    /// Every type, in keepalived's order.
    pub const ALL: [DnsType; 9] = [
        DnsType::A,
        DnsType::Ns,
        DnsType::Cname,
        DnsType::Soa,
        DnsType::Mx,
        DnsType::Txt,
        DnsType::Aaaa,
        DnsType::Rrsig,
        DnsType::Dnskey,
    ];

    /// keepalived's label.
    pub fn name(self) -> &'static str {
        match self {
            DnsType::A => "A",
            DnsType::Ns => "NS",
            DnsType::Cname => "CNAME",
            DnsType::Soa => "SOA",
            DnsType::Mx => "MX",
            DnsType::Txt => "TXT",
            DnsType::Aaaa => "AAAA",
            DnsType::Rrsig => "RRSIG",
            DnsType::Dnskey => "DNSKEY",
        }
    }

    /// The query type number (RFC 1035, 3596, 4034).
    pub fn code(self) -> u16 {
        match self {
            DnsType::A => 1,
            DnsType::Ns => 2,
            DnsType::Cname => 5,
            DnsType::Soa => 6,
            DnsType::Mx => 15,
            DnsType::Txt => 16,
            DnsType::Aaaa => 28,
            DnsType::Rrsig => 46,
            DnsType::Dnskey => 48,
        }
    }

    /// The type of that label, case-insensitively (keepalived's `strcasecmp`).
    pub fn from_name(s: &str) -> Option<DnsType> {
        DnsType::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
    }
}

/// Hex bytes as keepalived's `read_hex_str` reads them, with an optional mask: an `X`
/// nibble (only where wildcards are allowed) matches anything and sets the mask's nibble.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct HexPattern {
    /// The bytes (0 where wildcarded); empty when none were given.
    pub data: Vec<u8>,
    /// Per byte, the bits that are wildcards (None: no wildcard).
    pub mask: Option<Vec<u8>>,
}

impl HexPattern {
    /// keepalived's `read_hex_str`: blanks separate groups; each group's hex digits pair up
    /// into bytes, an odd last digit is a byte of its own. None if a character is not a hex
    /// digit (or `X` with `wildcard`) or there is no byte at all.
    pub fn parse(s: &str, wildcard: bool) -> Option<HexPattern> {
        let nibble = |c: u8| -> Option<(u8, u8)> {
            match c {
                b'0'..=b'9' => Some((c - b'0', 0)),
                b'a'..=b'f' => Some((c - b'a' + 10, 0)),
                b'A'..=b'F' => Some((c - b'A' + 10, 0)),
                b'X' | b'x' if wildcard => Some((0, 0x0f)),
                _ => None,
            }
        };
        let b = s.as_bytes();
        let (mut data, mut mask) = (Vec::new(), Vec::new());
        let mut i = 0;
        loop {
            while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
                i += 1;
            }
            let Some(&c) = b.get(i) else { break };
            i += 1;
            let (mut v, mut m) = nibble(c)?;
            if let Some(&c2) = b.get(i).filter(|c| **c != b' ') {
                i += 1;
                let (v2, m2) = nibble(c2)?;
                v = (v << 4) | v2;
                m = (m << 4) | m2;
            }
            data.push(v);
            mask.push(m);
        }
        if data.is_empty() {
            return None;
        }
        let mask = mask.iter().any(|m| *m != 0).then_some(mask);
        Some(HexPattern { data, mask })
    }

    /// The canonical text: two digits per byte (`X` for a wildcard nibble), space separated.
    pub fn to_hex(&self) -> String {
        let mut out = String::new();
        for (i, d) in self.data.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            let m = self
                .mask
                .as_ref()
                .and_then(|m| m.get(i))
                .copied()
                .unwrap_or(0);
            for (shift, mbit) in [(4, 0xf0), (0, 0x0f)] {
                if m & mbit != 0 {
                    out.push('X');
                } else {
                    out.push(char::from(
                        b"0123456789abcdef"[usize::from((d >> shift) & 0xf)],
                    ));
                }
            }
        }
        out
    }
}

/// A process's name settings (`process_name`, `vrrp_process_name`, `checker_process_name`,
/// `bfd_process_name`; `process_names` sets the three children's to keepalived's
/// `keepalived_vrrp`, `keepalived_lvs`, `keepalived_bfd`). At most 15 characters (longer
/// names are truncated, with keepalived's error).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProcessNames {
    /// `process_name` (the parent).
    pub parent: Option<String>,
    /// `vrrp_process_name`.
    pub vrrp: Option<String>,
    /// `checker_process_name` (`lvs_process_name`).
    pub checker: Option<String>,
    /// `bfd_process_name`.
    pub bfd: Option<String>,
}

/// keepalived's `TASK_COMM_LEN - 1`: the longest process name.
pub const PROCESS_NAME_MAX: usize = 15;

/// Scheduling of one child process (`vrrp_*`, `checker_*`, `bfd_*` keywords).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProcessSched {
    /// `*_priority`: the nice value, -20..19 (default 0).
    pub priority: i8,
    /// `*_no_swap`: mlockall.
    pub no_swap: bool,
    /// `*_rt_priority`: SCHED_RR priority 1..99 (out-of-range values are clamped, with
    /// keepalived's error).
    pub rt_priority: Option<u8>,
    /// `*_cpu_affinity`: CPU ids (sorted, distinct), each below the number of online CPUs.
    pub cpu_affinity: Option<Vec<u16>>,
    /// `*_rlimit_rttime`: RLIMIT_RTTIME in microseconds, 2..=u32::MAX (1 is raised to 2).
    pub rlimit_rttime: Option<u32>,
}

/// `vrrp_garp_extra_if` / vrrp_instance `garp_extra_if`: periodic gratuitous ARPs on the
/// VMAC's base interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GarpExtraIf {
    /// The interval (global: 1..86400 s; instance: 0..86400 s).
    pub interval: Duration,
    /// `all`: on every interface, not only the base interface.
    pub all: bool,
}

/// The SNMP settings of `global_defs`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SnmpSettings {
    /// `snmp_socket PATH` (AgentX socket).
    pub socket: Option<String>,
    /// `enable_traps`.
    pub traps: bool,
    /// `enable_snmp_vrrp` (`enable_snmp_keepalived`).
    pub vrrp: bool,
    /// `enable_snmp_rfcv2` (or `enable_snmp_rfc`).
    pub rfcv2: bool,
    /// `enable_snmp_rfcv3` (or `enable_snmp_rfc`).
    pub rfcv3: bool,
    /// `enable_snmp_checker`.
    pub checker: bool,
}

/// A netlink socket's receive buffer: `*_rcv_bufs SIZE` and `*_rcv_bufs_force [BOOL]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RcvBufs {
    /// The size in bytes (None: the kernel's default; 0 given means None).
    pub size: Option<u32>,
    /// `_force`: SO_RCVBUFFORCE.
    pub force: bool,
}

/// `vrrp_rx_bufs_policy`: how the VRRP socket's receive buffer is sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxBufsPolicy {
    /// `MTU`: from the interfaces' MTUs.
    Mtu,
    /// `ADVERT`: from the advert sizes.
    Advert,
    /// A size in bytes.
    Size(u32),
}

/// `include_check [[+|-]read|match|wildcard_match|brace_match ...]`: which include problems
/// are errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IncludeCheck {
    /// `read`: an include that can't be read.
    pub read: bool,
    /// `match`: an include pattern that matches nothing.
    pub matches: bool,
    /// `wildcard_match`: a wildcard that matches nothing.
    pub wildcard_match: bool,
    /// `brace_match`: a brace alternative that matches nothing.
    pub brace_match: bool,
}

/// The nftables settings of `global_defs`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NftablesSettings {
    /// `nftables [TABLE]` (bare: `keepalived`; `vrrp_iptables` also sets it, with
    /// keepalived 2.2.7's error, as its Debian build has no iptables support).
    pub table: Option<String>,
    /// `nftables_priority N` (None: keepalived's -1, i.e. its default).
    pub priority: Option<i32>,
    /// `nftables_ifindex`.
    pub ifindex: bool,
    /// `nftables_ipvs [TABLE]` (bare: `keepalived_ipvs`).
    pub ipvs_table: Option<String>,
    /// `nftables_ipvs_priority N`.
    pub ipvs_priority: Option<i32>,
    /// `nftables_ipvs_start_fwmark N` (1..=u32::MAX; keepalived's default 1000).
    pub ipvs_start_fwmark: Option<u32>,
    /// `nftables_counters`.
    pub counters: bool,
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

/// `bfd_instance NAME { }` (keepalived's `bfd_parser.c`), with its defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BfdInstance {
    /// Name (at most 31 characters).
    pub name: String,
    /// `neighbor_ip` / `neighbour_ip` (required).
    pub neighbor_ip: Option<IpAddr>,
    /// `source_ip` (same family as the neighbor).
    pub source_ip: Option<IpAddr>,
    /// `min_rx` (1 ms .. u32::MAX/1000 ms, default 10 ms).
    pub min_rx: Duration,
    /// `min_tx` (1 ms .. , default 10 ms).
    pub min_tx: Duration,
    /// `idle_tx` (1000 ms .. , default 1000 ms).
    pub idle_tx: Duration,
    /// `multiplier` (1..255, default 5).
    pub multiplier: u8,
    /// `passive`.
    pub passive: bool,
    /// `ttl` / `hoplimit` (1..255; None: 255 for IPv4, 64 for IPv6).
    pub ttl: Option<u8>,
    /// `max_hops` (-1..255, default 0; at most the ttl).
    pub max_hops: i16,
    /// `multihop [true|false]` (keepalived 2.4): RFC 5883, control packets to UDP 4784.
    pub multihop: bool,
    /// `weight W [reverse]` for tracking VRRP instances (-253..253, default 0).
    pub weight: i32,
    /// `weight ... reverse`.
    pub weight_reverse: bool,
    /// `vrrp`: events go to the VRRP process (with `checker`: only those named).
    pub vrrp: bool,
    /// `checker`: events go to the checker process.
    pub checker: bool,
    /// Where.
    pub loc: Loc,
}

impl BfdInstance {
    /// An instance with keepalived's defaults.
    pub fn new(name: &str) -> BfdInstance {
        BfdInstance {
            name: name.to_string(),
            neighbor_ip: None,
            source_ip: None,
            min_rx: Duration::from_millis(10),
            min_tx: Duration::from_millis(10),
            idle_tx: Duration::from_millis(1000),
            multiplier: 5,
            passive: false,
            ttl: None,
            max_hops: 0,
            multihop: false,
            weight: 0,
            weight_reverse: false,
            vrrp: false,
            checker: false,
            loc: Loc::default(),
        }
    }
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

/// A url's `regex_options` (PCRE2 flags keepalived accepts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegexOption {
    /// `allow_empty_class`.
    AllowEmptyClass,
    /// `alt_bsux`.
    AltBsux,
    /// `auto_callout`.
    AutoCallout,
    /// `caseless`.
    Caseless,
    /// `dollar_endonly`.
    DollarEndonly,
    /// `dotall`.
    Dotall,
    /// `dupnames`.
    Dupnames,
    /// `extended`.
    Extended,
    /// `firstline`.
    Firstline,
    /// `match_unset_backref`.
    MatchUnsetBackref,
    /// `multiline`.
    Multiline,
    /// `never_ucp`.
    NeverUcp,
    /// `never_utf`.
    NeverUtf,
    /// `no_auto_capture`.
    NoAutoCapture,
    /// `no_auto_possess`.
    NoAutoPossess,
    /// `no_dotstar_anchor`.
    NoDotstarAnchor,
    /// `no_start_optimize`.
    NoStartOptimize,
    /// `ucp`.
    Ucp,
    /// `ungreedy`.
    Ungreedy,
    /// `utf`.
    Utf,
    /// `never_backslash_c`.
    NeverBackslashC,
    /// `alt_circumflex`.
    AltCircumflex,
    /// `alt_verbnames`.
    AltVerbnames,
    /// `use_offset_limit`.
    UseOffsetLimit,
}

impl RegexOption {
    /// Every option, in keepalived's order.
    pub const ALL: [RegexOption; 24] = [
        RegexOption::AllowEmptyClass,
        RegexOption::AltBsux,
        RegexOption::AutoCallout,
        RegexOption::Caseless,
        RegexOption::DollarEndonly,
        RegexOption::Dotall,
        RegexOption::Dupnames,
        RegexOption::Extended,
        RegexOption::Firstline,
        RegexOption::MatchUnsetBackref,
        RegexOption::Multiline,
        RegexOption::NeverUcp,
        RegexOption::NeverUtf,
        RegexOption::NoAutoCapture,
        RegexOption::NoAutoPossess,
        RegexOption::NoDotstarAnchor,
        RegexOption::NoStartOptimize,
        RegexOption::Ucp,
        RegexOption::Ungreedy,
        RegexOption::Utf,
        RegexOption::NeverBackslashC,
        RegexOption::AltCircumflex,
        RegexOption::AltVerbnames,
        RegexOption::UseOffsetLimit,
    ];

    /// keepalived's word.
    pub fn name(self) -> &'static str {
        match self {
            RegexOption::AllowEmptyClass => "allow_empty_class",
            RegexOption::AltBsux => "alt_bsux",
            RegexOption::AutoCallout => "auto_callout",
            RegexOption::Caseless => "caseless",
            RegexOption::DollarEndonly => "dollar_endonly",
            RegexOption::Dotall => "dotall",
            RegexOption::Dupnames => "dupnames",
            RegexOption::Extended => "extended",
            RegexOption::Firstline => "firstline",
            RegexOption::MatchUnsetBackref => "match_unset_backref",
            RegexOption::Multiline => "multiline",
            RegexOption::NeverUcp => "never_ucp",
            RegexOption::NeverUtf => "never_utf",
            RegexOption::NoAutoCapture => "no_auto_capture",
            RegexOption::NoAutoPossess => "no_auto_possess",
            RegexOption::NoDotstarAnchor => "no_dotstar_anchor",
            RegexOption::NoStartOptimize => "no_start_optimize",
            RegexOption::Ucp => "ucp",
            RegexOption::Ungreedy => "ungreedy",
            RegexOption::Utf => "utf",
            RegexOption::NeverBackslashC => "never_backslash_c",
            RegexOption::AltCircumflex => "alt_circumflex",
            RegexOption::AltVerbnames => "alt_verbnames",
            RegexOption::UseOffsetLimit => "use_offset_limit",
        }
    }

    /// The option of that exact name.
    pub fn from_name(s: &str) -> Option<RegexOption> {
        RegexOption::ALL.into_iter().find(|o| o.name() == s)
    }
}

/// An SMTP_CHECK `host { }` block: another server to check, with the connection settings
/// every checker has.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SmtpHost {
    /// `connect_ip`.
    pub connect_ip: Option<IpAddr>,
    /// `connect_port`.
    pub connect_port: Option<u16>,
    /// `bindto`.
    pub bindto: Option<IpAddr>,
    /// `bind_port`.
    pub bind_port: Option<u16>,
    /// `bind_if`.
    pub bind_if: Option<String>,
    /// `fwmark`.
    pub fwmark: Option<u32>,
    /// `connect_timeout`.
    pub connect_timeout: Option<Duration>,
    /// Where.
    pub loc: Loc,
}
