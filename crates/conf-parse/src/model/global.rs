//! The `global_defs` block and process-wide settings.

use super::*;

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
    /// `dynamic_interfaces allow_if_changes`.
    pub allow_if_changes: bool,
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
    /// `dbus_no_interface_name NAME` (keepalived 2.4): the D-Bus object name for instances
    /// without an interface.
    pub dbus_no_interface_name: Option<String>,
    /// `use_symlink_paths [BOOL]` (keepalived 2.4): keep symbolic links in script and file paths.
    pub use_symlink_paths: bool,
    /// `snmp_vs_stats_update_interval` (keepalived 2.4, 1 ms to 30 s).
    pub snmp_vs_stats_update_interval: Option<Duration>,
    /// `snmp_rs_stats_update_interval` (keepalived 2.4, 1 ms to 30 s).
    pub snmp_rs_stats_update_interval: Option<Duration>,
    /// `vrrp_delay_after_boot` (keepalived 2.4): delay VRRP until this system uptime.
    pub vrrp_delay_after_boot: Option<Duration>,
    /// `json_version 1|2` (keepalived 2.4).
    pub json_version: Option<u32>,
    /// `iproute_usr_dir PATH` (keepalived 2.4): iproute2's distribution table-name directory.
    pub iproute_usr_dir: Option<String>,
    /// `iproute_etc_dir PATH` (keepalived 2.4): iproute2's local table-name directory.
    pub iproute_etc_dir: Option<String>,
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
    /// `state_dump_file PATH` (keepalived 2.4): where SIGUSR1 writes its `.data` files (a
    /// directory if it ends in `/`, else a template name the process suffix goes into).
    pub state_dump_file: Option<String>,
    /// `stats_dump_file PATH` (keepalived 2.4; 2.4.3 stores and prints it only).
    pub stats_dump_file: Option<String>,
    /// `json_dump_file PATH` (keepalived 2.4; 2.4.3 stores and prints it only).
    pub json_dump_file: Option<String>,
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
            allow_if_changes: false,
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
            dbus_no_interface_name: None,
            use_symlink_paths: false,
            snmp_vs_stats_update_interval: None,
            snmp_rs_stats_update_interval: None,
            vrrp_delay_after_boot: None,
            json_version: None,
            iproute_usr_dir: None,
            iproute_etc_dir: None,
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
            state_dump_file: None,
            stats_dump_file: None,
            json_dump_file: None,
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
    /// `vrrp_iptables [IN [OUT]]` read as keepalived 2.4.3 built with iptables/libipset reads
    /// it (`--compat 2.4.3`; 2.2.7's Debian build maps it onto nftables instead).
    pub iptables: Option<IptablesChains>,
    /// `vrrp_ipsets [...]` read as 2.4.3 built with libipset (`--compat 2.4.3`).
    pub ipsets: IpsetsSetting,
}

/// The chains of `vrrp_iptables` (bare: `INPUT` and `OUTPUT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IptablesChains {
    /// The chain of the rules on what comes in for a VIP.
    pub input: String,
    /// The chain of the rules on what a VIP sends (none when only one chain is named).
    pub output: Option<String>,
}

/// `vrrp_ipsets`: not given (sets with keepalived's default names when `vrrp_iptables` is
/// used), given bare (no sets: one rule per VIP), or with set names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum IpsetsSetting {
    /// Not given.
    #[default]
    Unset,
    /// `vrrp_ipsets` without names: no sets.
    Disabled,
    /// The set names.
    Names(IpsetNames),
}

/// keepalived's ipset names (`vrrp_ipsets [name4 [name6 [if6 [igmp [mld [nd]]]]]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpsetNames {
    /// `hash:ip` set of the IPv4 VIPs (default `keepalived`).
    pub addr4: String,
    /// `hash:ip` set of the IPv6 VIPs (`keepalived6`).
    pub addr6: String,
    /// `hash:net,iface` set of the link-local IPv6 VIPs (`keepalived_if6`).
    pub if6: String,
    /// IGMP of VMACs (`keepalived_igmp`).
    pub igmp: String,
    /// MLD of VMACs (`keepalived_mld`).
    pub mld: String,
    /// ND of VMACs (`keepalived_nd`).
    pub nd: String,
}

impl IpsetNames {
    /// keepalived's names derived from the first ones given (its `vrrp_ipsets_handler`).
    pub fn derive(given: &[String]) -> IpsetNames {
        // IPSET_MAXNAMELEN 32: keepalived truncates before appending.
        let cut = |s: &str, n: usize| s.chars().take(n).collect::<String>();
        let a4 = given
            .first()
            .cloned()
            .unwrap_or_else(|| "keepalived".into());
        let a6 = given
            .get(1)
            .cloned()
            .unwrap_or_else(|| format!("{}6", cut(&a4, 30)));
        let if6 = given.get(2).cloned().unwrap_or_else(|| {
            let base = a6.strip_suffix('6').unwrap_or(&a6);
            format!("{}_if6", cut(base, 27))
        });
        let igmp = given
            .get(3)
            .cloned()
            .unwrap_or_else(|| format!("{}_igmp", cut(&a4, 26)));
        let mld = given
            .get(4)
            .cloned()
            .unwrap_or_else(|| format!("{}_mld", cut(&a4, 27)));
        let nd = given
            .get(5)
            .cloned()
            .unwrap_or_else(|| format!("{}_nd", cut(&a4, 27)));
        IpsetNames {
            addr4: a4,
            addr6: a6,
            if6,
            igmp,
            mld,
            nd,
        }
    }
}

impl NftablesSettings {
    /// The iptables backend this configuration runs with, as keepalived 2.4.3 resolves it
    /// (`vrrp_complete_init`): `vrrp_iptables` given and no `nftables` table (keepalived built
    /// with both prefers nftables), with its sets (`None`: one rule per VIP).
    pub fn iptables_backend(&self) -> Option<(&IptablesChains, Option<IpsetNames>)> {
        if self.table.is_some() {
            return None;
        }
        let chains = self.iptables.as_ref()?;
        let sets = match &self.ipsets {
            IpsetsSetting::Unset => Some(IpsetNames::derive(&[])),
            IpsetsSetting::Disabled => None,
            IpsetsSetting::Names(n) => Some(n.clone()),
        };
        Some((chains, sets))
    }
}
