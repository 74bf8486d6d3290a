//! The metrics registry (keepalived-rs extension) and its Prometheus text rendering.
//!
//! The parent owns [`ParentMetrics`] (processes, reloads, config errors). Each worker answers a
//! snapshot request with a [`WorkerMetrics`] value (the VRRP runtime fills `vrrp_instances`,
//! the checker fills `real_servers`, `ipvs_services`, `ipvs_destinations`), sent as JSON over the
//! worker's control channel; `/metrics` and `/status` merge them at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

mod exposition;

pub use exposition::render;

/// VRRP state as a number in `keepalived_vrrp_state` (keepalived's SNMP numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum VrrpStateMetric {
    /// INIT.
    #[default]
    Init,
    /// BACKUP.
    Backup,
    /// MASTER.
    Master,
    /// FAULT.
    Fault,
    /// STOP (leaving).
    Stop,
}

impl VrrpStateMetric {
    fn code(self) -> u8 {
        match self {
            VrrpStateMetric::Init => 0,
            VrrpStateMetric::Backup => 1,
            VrrpStateMetric::Master => 2,
            VrrpStateMetric::Fault => 3,
            VrrpStateMetric::Stop => 4,
        }
    }
}

/// One VRRP instance, as the VRRP runtime reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VrrpInstanceMetrics {
    /// Instance name.
    pub name: String,
    /// Interface.
    pub interface: String,
    /// Virtual router id.
    pub vrid: u8,
    /// Current state.
    pub state: VrrpStateMetric,
    /// Configured priority.
    pub priority: u8,
    /// Effective priority after tracking.
    pub effective_priority: u8,
    /// State transitions since start.
    pub transitions: u64,
    /// Adverts sent.
    pub adverts_sent: u64,
    /// Adverts received.
    pub adverts_received: u64,
    /// Received packets dropped, per reason (`bad_ttl`, `auth`, `vrid`, ...).
    pub drops: BTreeMap<String, u64>,
    /// Virtual addresses (`virtual_ipaddress`, `ADDR/LEN`).
    #[serde(default)]
    pub vips: Vec<String>,
    /// The master's address when known: this node's `unicast_src_ip` (or "this node") while we
    /// are master. The runtime does not report a backup's view of the master (None).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master: Option<String>,
    /// The last state change this worker saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition: Option<TransitionInfo>,
    /// What the instance tracks (`interface eth1`, `script chk_nginx`, `file f`, `process p`).
    #[serde(default)]
    pub tracking: Vec<String>,
    /// Transitions to MASTER seen for this instance.
    #[serde(default)]
    pub become_master: u64,
    /// Transitions out of MASTER seen for this instance.
    #[serde(default)]
    pub release_master: u64,
    /// Adverts with priority 0 sent (resigning mastership).
    #[serde(default)]
    pub pri_zero_sent: u64,
    /// Adverts with priority 0 received (the master resigning).
    #[serde(default)]
    pub pri_zero_received: u64,
    /// Delay of the second gratuitous ARP / NA burst after becoming master, seconds
    /// (`garp_master_delay` or the global one; keepalived's "Gratuitous ARP delay").
    #[serde(default)]
    pub garp_delay_seconds: f64,
    /// keepalived 2.4 `auth_hmac` rejections by counter (`auth_ext_invalid_hmac`,
    /// `auth_ext_malformed`, `auth_ext_missing`, `auth_ext_replay`, `auth_ext_stale`,
    /// `auth_ext_unknown_key`); all six, zeros included, for an instance with `auth_hmac`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub auth_ext: BTreeMap<String, u64>,
}

/// One VRRP state change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TransitionInfo {
    /// Previous state (`INIT` before the first).
    pub from: String,
    /// New state.
    pub to: String,
    /// Unix time, seconds.
    pub at: f64,
    /// Why, as far as the states tell (the runtime reports the new state only).
    pub reason: String,
}

impl TransitionInfo {
    /// The usual cause of a `from` → `to` change (RFC 5798's state machine).
    pub fn reason_for(from: &str, to: &str) -> &'static str {
        match (from, to) {
            ("INIT", "MASTER") => "start-up (priority 255 or state MASTER, no higher master)",
            ("INIT", "BACKUP") => "start-up",
            (_, "FAULT") => "fault: a tracked interface, script, file or process is down",
            ("FAULT", _) => "fault cleared",
            ("BACKUP", "MASTER") => {
                "master gone: no advert within the master down interval, or priority 0 from the master"
            }
            ("MASTER", "BACKUP") => "advert from a higher-priority master (or priority 0 from us)",
            (_, "STOP") => "stopping",
            _ => "state change",
        }
    }
}

/// One entry of the recent-events list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventInfo {
    /// Unix time, seconds.
    pub at: f64,
    /// `vrrp`, `real_server`, `quorum`, `reload`, `config`.
    pub kind: String,
    /// What happened.
    pub text: String,
}

/// Recent events kept per process (oldest dropped first).
pub const MAX_EVENTS: usize = 50;

/// Push `e` keeping at most [`MAX_EVENTS`].
pub fn push_event(list: &mut Vec<EventInfo>, kind: &str, text: String) {
    if list.len() >= MAX_EVENTS {
        list.remove(0);
    }
    list.push(EventInfo {
        at: now(),
        kind: kind.into(),
        text,
    });
}

/// Unix time, seconds (0 if the clock is before 1970).
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// VRRP counters the runtime keeps per worker, not per instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VrrpWorkerCounters {
    /// Gratuitous ARPs / unsolicited NAs sent.
    pub garps_sent: u64,
    /// Adverts rejected, any reason.
    pub adverts_rejected: u64,
    /// Packets for a VRID no instance has.
    pub unknown_vrid: u64,
    /// VIP add/remove errors.
    pub vip_errors: u64,
    /// Send errors.
    pub send_errors: u64,
    /// Rejections by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Each running `vrrp_script`: its last result (true: success).
    #[serde(default)]
    pub scripts: BTreeMap<String, bool>,
    /// Each running `vrrp_script`: its run state in keepalived's numbering (0 idle, 1 running,
    /// 2 requested termination, 3 forcing termination).
    #[serde(default)]
    pub script_states: BTreeMap<String, u8>,
}

/// One real server of a virtual server, as the checker reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RealServerMetrics {
    /// Virtual server (`IP:PORT`, `FWM n`).
    pub virtual_server: String,
    /// Real server (`IP:PORT`).
    pub real_server: String,
    /// Considered up.
    pub up: bool,
    /// Current weight.
    pub weight: u32,
    /// Checks run.
    pub checks: u64,
    /// Checks failed.
    pub check_failures: u64,
    /// Duration of the last check, seconds (0: not reported by the director).
    pub last_check_seconds: f64,
    /// Configured weight.
    #[serde(default)]
    pub configured_weight: u32,
    /// Health known (the director has reported this real server at least once).
    #[serde(default)]
    pub checked: bool,
    /// Last check result: `ok`, `failed` or empty (not yet).
    #[serde(default)]
    pub last_check: String,
    /// Reason of the last failure.
    #[serde(default)]
    pub reason: String,
    /// Unix time of the last up/down change (0: none seen).
    #[serde(default)]
    pub since: f64,
    /// IPVS active connections (when the destination is in the table).
    #[serde(default)]
    pub active_connections: u64,
    /// IPVS inactive connections.
    #[serde(default)]
    pub inactive_connections: u64,
    /// IPVS connections per second.
    #[serde(default)]
    pub cps: u64,
    /// IPVS bytes per second in.
    #[serde(default)]
    pub in_bps: u64,
    /// IPVS bytes per second out.
    #[serde(default)]
    pub out_bps: u64,
}

/// A virtual server (checker worker).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VirtualServerInfo {
    /// `IP:PORT/PROTO`, `FWM n`, `[group]/PROTO`.
    pub name: String,
    /// Quorum held (None: not reported yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum_up: Option<bool>,
    /// Real servers configured.
    pub real_servers: usize,
}

/// IPVS counters of one service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IpvsServiceMetrics {
    /// Service (`TCP IP:PORT`, `FWM n`).
    pub service: String,
    /// Connections.
    pub connections: u64,
    /// Packets in.
    pub packets_in: u64,
    /// Packets out.
    pub packets_out: u64,
    /// Bytes in.
    pub bytes_in: u64,
    /// Bytes out.
    pub bytes_out: u64,
}

/// IPVS counters of one destination.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IpvsDestinationMetrics {
    /// Service.
    pub service: String,
    /// Destination (`IP:PORT`).
    pub destination: String,
    /// Active connections.
    pub active_connections: u64,
    /// Inactive connections.
    pub inactive_connections: u64,
    /// Total connections.
    pub connections: u64,
    /// Bytes in.
    pub bytes_in: u64,
    /// Bytes out.
    pub bytes_out: u64,
    /// Packets in.
    #[serde(default)]
    pub packets_in: u64,
    /// Packets out.
    #[serde(default)]
    pub packets_out: u64,
}

/// What a worker reports on request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerMetrics {
    /// VRRP instances (VRRP worker).
    #[serde(default)]
    pub vrrp_instances: Vec<VrrpInstanceMetrics>,
    /// Real servers (checker worker).
    #[serde(default)]
    pub real_servers: Vec<RealServerMetrics>,
    /// IPVS services (checker worker).
    #[serde(default)]
    pub ipvs_services: Vec<IpvsServiceMetrics>,
    /// IPVS destinations (checker worker).
    #[serde(default)]
    pub ipvs_destinations: Vec<IpvsDestinationMetrics>,
    /// Virtual servers (checker worker).
    #[serde(default)]
    pub virtual_servers: Vec<VirtualServerInfo>,
    /// VRRP worker-wide counters (VRRP worker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrrp_counters: Option<Box<VrrpWorkerCounters>>,
    /// Recent events of this worker.
    #[serde(default)]
    pub events: Vec<EventInfo>,
    /// BFD sessions (BFD worker).
    #[serde(default)]
    pub bfd_sessions: Vec<BfdSessionMetrics>,
}

/// One BFD session (`bfd_instance`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BfdSessionMetrics {
    /// `bfd_instance` name.
    pub name: String,
    /// Neighbor address.
    pub neighbor: String,
    /// Local state: admindown, down, init, up.
    pub state: String,
    /// Remote state.
    pub remote_state: String,
    /// Local diagnostic (RFC 5880 code).
    pub diag: u8,
    /// Local discriminator.
    pub local_discriminator: u32,
    /// Remote discriminator (0: none heard).
    pub remote_discriminator: u32,
    /// Agreed transmit interval (µs; 0: not sending periodically).
    pub tx_interval_us: u64,
    /// Detection time (µs; 0: nothing heard).
    pub detection_time_us: u64,
    /// State changes.
    pub state_changes: u64,
    /// Entries to Up.
    pub ups: u64,
    /// Downs by detection timeout.
    pub detection_timeouts: u64,
    /// Downs signalled by the neighbor.
    pub neighbor_downs: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Packets accepted.
    pub rx_packets: u64,
    /// Packets refused by the session (TTL, discriminator, auth, ...).
    pub rx_refused: u64,
}

impl BfdSessionMetrics {
    /// State as a number: 0 admindown, 1 down, 2 init, 3 up (RFC 5880 codes).
    pub fn state_code(&self) -> u8 {
        match self.state.as_str() {
            "admindown" => 0,
            "down" => 1,
            "init" => 2,
            _ => 3,
        }
    }
}

/// One worker as the parent sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerInfo {
    /// `vrrp` or `checker`.
    pub worker: String,
    /// Running now.
    pub up: bool,
    /// Its pid (0 if not running).
    pub pid: u32,
    /// Times it was respawned.
    pub restarts: u64,
    /// Unix time of its last start.
    pub started_at: u64,
}

/// One registry note on the running configuration (see `conf_parse::registry`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfigNote {
    /// `FILE:LINE:COL`.
    pub location: String,
    /// "not supported yet" or "accepted, no effect here".
    pub status: String,
    /// The note as `keepalived -t` prints it (keyword, block, reason).
    pub message: String,
}

impl ConfigNote {
    /// The notes of a loaded configuration.
    pub fn from_diagnostics<'a>(
        notes: impl Iterator<Item = &'a conf_parse::Diagnostic>,
    ) -> Vec<ConfigNote> {
        notes
            .map(|d| ConfigNote {
                location: d.span.to_string(),
                status: if d.code == conf_parse::Code::NoEffectHere {
                    "accepted, no effect here".into()
                } else {
                    "not supported yet".into()
                },
                message: d.message.clone(),
            })
            .collect()
    }
}

/// What the parent knows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParentMetrics {
    /// Parent pid.
    pub pid: u32,
    /// Unix start time.
    pub start_time: u64,
    /// Configuration file.
    pub config_file: String,
    /// Successful reloads.
    pub reloads: u64,
    /// Rejected reloads (bad configuration).
    pub reload_failures: u64,
    /// Unix time of the last successful (re)load.
    pub last_reload_success: u64,
    /// Errors in the last configuration read.
    pub config_errors: u64,
    /// Warnings in the running configuration.
    pub config_warnings: u64,
    /// The keyword registry's notes on the running configuration: each use of a keyword that
    /// is not implemented (or accepted with no effect here), located.
    #[serde(default)]
    pub config_notes: Vec<ConfigNote>,
    /// Workers.
    pub workers: Vec<WorkerInfo>,
    /// Recent parent events (reloads, rejected reloads, configuration notes).
    #[serde(default)]
    pub events: Vec<EventInfo>,
}

/// Everything `/status` shows.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Status {
    /// Implementation name.
    pub implementation: String,
    /// Version.
    pub version: String,
    /// Parent view.
    pub parent: ParentMetrics,
    /// Worker snapshots by worker name (absent if it did not answer).
    pub workers: BTreeMap<String, WorkerMetrics>,
    /// The metrics endpoint's own connection counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpMetrics>,
}

/// The metrics endpoint's connections ([`crate::http`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpMetrics {
    /// The cap on connections served at once.
    pub max_connections: u64,
    /// Connections being served now.
    pub connections: u64,
    /// Connections accepted and served.
    pub accepted: u64,
    /// Connections closed at once without being served, per reason (`acl`: source not in
    /// `metrics_allow`; `limit`: all slots busy serving requests; `fd`: too near the
    /// descriptor limit).
    pub refused: BTreeMap<String, u64>,
    /// Connections closed to make room (oldest that had sent no complete request yet).
    pub evicted: u64,
    /// Connections closed because they outlived the per-connection time limit.
    pub expired: u64,
}

#[cfg(test)]
mod tests;
