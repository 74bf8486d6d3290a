//! The metrics registry (keepalived-rs extension) and its Prometheus text rendering.
//!
//! The parent owns [`ParentMetrics`] (processes, reloads, config errors). Each worker answers a
//! snapshot request with a [`WorkerMetrics`] value (the VRRP runtime fills `vrrp_instances`,
//! the checker fills `real_servers`, `ipvs_services`, `ipvs_destinations`), sent as JSON over the
//! worker's control channel; `/metrics` and `/status` merge them at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

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

fn render_bfd(o: &mut Out, status: &Status) {
    let bfd: Vec<&BfdSessionMetrics> = status
        .workers
        .values()
        .flat_map(|w| w.bfd_sessions.iter())
        .collect();
    type BF = fn(&BfdSessionMetrics) -> f64;
    let series: [(&str, &str, &str, BF); 7] = [
        (
            "keepalived_bfd_state",
            "gauge",
            "BFD session state: 0 admindown, 1 down, 2 init, 3 up.",
            |b| f64::from(b.state_code()),
        ),
        (
            "keepalived_bfd_remote_discriminator",
            "gauge",
            "Remote discriminator (0: none).",
            |b| f64::from(b.remote_discriminator),
        ),
        (
            "keepalived_bfd_tx_interval_seconds",
            "gauge",
            "Agreed transmit interval.",
            |b| b.tx_interval_us as f64 / 1e6,
        ),
        (
            "keepalived_bfd_detection_time_seconds",
            "gauge",
            "Detection time (remote multiplier x agreed receive interval).",
            |b| b.detection_time_us as f64 / 1e6,
        ),
        (
            "keepalived_bfd_state_changes_total",
            "counter",
            "BFD session state changes.",
            |b| b.state_changes as f64,
        ),
        (
            "keepalived_bfd_detection_timeouts_total",
            "counter",
            "Downs because the detection time expired.",
            |b| b.detection_timeouts as f64,
        ),
        (
            "keepalived_bfd_rx_refused_total",
            "counter",
            "Control packets refused by the session.",
            |b| b.rx_refused as f64,
        ),
    ];
    for (name, kind, help, f) in series {
        o.head(name, kind, help);
        for b in &bfd {
            o.val(
                name,
                &[("instance", &b.name), ("neighbor", &b.neighbor)],
                f(b),
            );
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

fn esc(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

struct Out(String);

impl Out {
    fn head(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }
    fn val(&mut self, name: &str, labels: &[(&str, &str)], v: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, lv)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", esc(lv));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {v}");
    }
}

fn render_http(o: &mut Out, h: &HttpMetrics) {
    let gauges: [(&str, &str, u64); 2] = [
        (
            "keepalived_http_connections",
            "Metrics endpoint connections being served.",
            h.connections,
        ),
        (
            "keepalived_http_connections_max",
            "Metrics endpoint cap on connections served at once.",
            h.max_connections,
        ),
    ];
    for (name, help, v) in gauges {
        o.head(name, "gauge", help);
        o.val(name, &[], v as f64);
    }
    let counters: [(&str, &str, u64); 3] = [
        (
            "keepalived_http_connections_accepted_total",
            "Metrics endpoint connections accepted and served.",
            h.accepted,
        ),
        (
            "keepalived_http_connections_evicted_total",
            "Metrics endpoint connections closed to make room (no complete request yet).",
            h.evicted,
        ),
        (
            "keepalived_http_connections_expired_total",
            "Metrics endpoint connections closed at the per-connection time limit.",
            h.expired,
        ),
    ];
    for (name, help, v) in counters {
        o.head(name, "counter", help);
        o.val(name, &[], v as f64);
    }
    let name = "keepalived_http_connections_refused_total";
    o.head(
        name,
        "counter",
        "Metrics endpoint connections closed unserved, per reason (acl, limit, fd).",
    );
    for (reason, n) in &h.refused {
        o.val(name, &[("reason", reason)], *n as f64);
    }
}

/// Render the Prometheus text exposition format (version 0.0.4).
pub fn render(status: &Status) -> String {
    let mut o = Out(String::new());
    let p = &status.parent;
    o.head(
        "keepalived_up",
        "gauge",
        "The daemon answers (1); the third-party exporters' keepalived_up.",
    );
    o.val("keepalived_up", &[], 1.0);
    o.head(
        "keepalived_info",
        "gauge",
        "keepalived-rs build information.",
    );
    o.val(
        "keepalived_info",
        &[
            ("implementation", &status.implementation),
            ("version", &status.version),
        ],
        1.0,
    );
    o.head(
        "keepalived_start_time_seconds",
        "gauge",
        "Unix time the parent process started.",
    );
    o.val("keepalived_start_time_seconds", &[], p.start_time as f64);
    o.head("keepalived_reloads_total", "counter", "Accepted reloads.");
    o.val("keepalived_reloads_total", &[], p.reloads as f64);
    o.head(
        "keepalived_reload_failures_total",
        "counter",
        "Reloads rejected because the new configuration had errors.",
    );
    o.val(
        "keepalived_reload_failures_total",
        &[],
        p.reload_failures as f64,
    );
    o.head(
        "keepalived_last_reload_success_timestamp_seconds",
        "gauge",
        "Unix time of the last accepted (re)load.",
    );
    o.val(
        "keepalived_last_reload_success_timestamp_seconds",
        &[],
        p.last_reload_success as f64,
    );
    o.head(
        "keepalived_config_errors",
        "gauge",
        "Errors found in the last configuration read.",
    );
    o.val("keepalived_config_errors", &[], p.config_errors as f64);
    o.head(
        "keepalived_config_warnings",
        "gauge",
        "Warnings in the running configuration.",
    );
    o.val("keepalived_config_warnings", &[], p.config_warnings as f64);
    o.head("keepalived_worker_up", "gauge", "Worker process running.");
    for w in &p.workers {
        o.val(
            "keepalived_worker_up",
            &[("worker", &w.worker)],
            if w.up { 1.0 } else { 0.0 },
        );
    }
    o.head(
        "keepalived_worker_restarts_total",
        "counter",
        "Worker respawns.",
    );
    for w in &p.workers {
        o.val(
            "keepalived_worker_restarts_total",
            &[("worker", &w.worker)],
            w.restarts as f64,
        );
    }

    if let Some(h) = &status.http {
        render_http(&mut o, h);
    }

    let vrrp: Vec<&VrrpInstanceMetrics> = status
        .workers
        .values()
        .flat_map(|w| w.vrrp_instances.iter())
        .collect();
    let rs: Vec<&RealServerMetrics> = status
        .workers
        .values()
        .flat_map(|w| w.real_servers.iter())
        .collect();
    let svc: Vec<&IpvsServiceMetrics> = status
        .workers
        .values()
        .flat_map(|w| w.ipvs_services.iter())
        .collect();
    let dst: Vec<&IpvsDestinationMetrics> = status
        .workers
        .values()
        .flat_map(|w| w.ipvs_destinations.iter())
        .collect();

    type VF = fn(&VrrpInstanceMetrics) -> f64;
    let vrrp_series: [(&str, &str, &str, VF); 10] = [
        (
            "keepalived_vrrp_state",
            "gauge",
            "VRRP state: 0 init, 1 backup, 2 master, 3 fault, 4 stop.",
            |v| f64::from(v.state.code()),
        ),
        (
            "keepalived_vrrp_priority",
            "gauge",
            "Configured priority.",
            |v| f64::from(v.priority),
        ),
        (
            "keepalived_vrrp_effective_priority",
            "gauge",
            "Priority after tracking.",
            |v| f64::from(v.effective_priority),
        ),
        (
            "keepalived_vrrp_transitions_total",
            "counter",
            "State transitions.",
            |v| v.transitions as f64,
        ),
        (
            "keepalived_vrrp_adverts_sent_total",
            "counter",
            "Adverts sent.",
            |v| v.adverts_sent as f64,
        ),
        (
            "keepalived_vrrp_adverts_received_total",
            "counter",
            "Adverts received.",
            |v| v.adverts_received as f64,
        ),
        (
            "keepalived_vrrp_become_master_total",
            "counter",
            "Transitions to MASTER seen by this VRRP worker.",
            |v| v.become_master as f64,
        ),
        (
            "keepalived_vrrp_release_master_total",
            "counter",
            "Transitions out of MASTER seen by this VRRP worker.",
            |v| v.release_master as f64,
        ),
        (
            "keepalived_vrrp_priority_zero_sent_total",
            "counter",
            "Adverts with priority 0 sent (mastership resigned).",
            |v| v.pri_zero_sent as f64,
        ),
        (
            "keepalived_vrrp_priority_zero_received_total",
            "counter",
            "Adverts with priority 0 received (the master resigned).",
            |v| v.pri_zero_received as f64,
        ),
    ];
    for (name, kind, help, f) in vrrp_series {
        o.head(name, kind, help);
        for v in &vrrp {
            let vrid = v.vrid.to_string();
            o.val(
                name,
                &[
                    ("instance", &v.name),
                    ("interface", &v.interface),
                    ("vrid", &vrid),
                ],
                f(v),
            );
        }
    }
    o.head(
        "keepalived_vrrp_drops_total",
        "counter",
        "Received VRRP packets dropped, per reason.",
    );
    for v in &vrrp {
        for (reason, n) in &v.drops {
            o.val(
                "keepalived_vrrp_drops_total",
                &[("instance", &v.name), ("reason", reason)],
                *n as f64,
            );
        }
    }

    // Worker-wide VRRP counters (the runtime does not split them per instance).
    let counters: Vec<&VrrpWorkerCounters> = status
        .workers
        .values()
        .filter_map(|w| w.vrrp_counters.as_deref())
        .collect();
    type CF = fn(&VrrpWorkerCounters) -> f64;
    let c_series: [(&str, &str, CF); 5] = [
        (
            "keepalived_vrrp_garp_sent_total",
            "Gratuitous ARPs and unsolicited neighbour adverts sent (all instances).",
            |c| c.garps_sent as f64,
        ),
        (
            "keepalived_vrrp_adverts_rejected_total",
            "Received adverts rejected, any reason (all instances).",
            |c| c.adverts_rejected as f64,
        ),
        (
            "keepalived_vrrp_unknown_vrid_total",
            "Received adverts for a VRID no instance has.",
            |c| c.unknown_vrid as f64,
        ),
        (
            "keepalived_vrrp_vip_errors_total",
            "Virtual address add/remove errors.",
            |c| c.vip_errors as f64,
        ),
        (
            "keepalived_vrrp_send_errors_total",
            "Advert send errors.",
            |c| c.send_errors as f64,
        ),
    ];
    for (name, help, f) in c_series {
        o.head(name, "counter", help);
        for c in &counters {
            o.val(name, &[], f(c));
        }
    }
    let name = "keepalived_vrrp_rx_errors_total";
    o.head(
        name,
        "counter",
        "Received adverts rejected, per keepalived reason (packet_len_err, ip_ttl_err, \
         adver_int_err, invalid_type_rcvd, addr_list_err, invalid_authtype, authtype_mismatch, \
         auth_failure, ...), all instances.",
    );
    for c in &counters {
        for (reason, n) in &c.rejected {
            o.val(name, &[("reason", reason)], *n as f64);
        }
    }

    let name = "keepalived_vrrp_script_status";
    o.head(
        name,
        "gauge",
        "Last result of each running vrrp_script: 1 success, 0 failure.",
    );
    for c in &counters {
        for (script, ok) in &c.scripts {
            o.val(name, &[("name", script)], if *ok { 1.0 } else { 0.0 });
        }
    }

    type RF = fn(&RealServerMetrics) -> f64;
    let rs_series: [(&str, &str, &str, RF); 9] = [
        (
            "keepalived_real_server_up",
            "gauge",
            "Real server up.",
            |r| {
                if r.up {
                    1.0
                } else {
                    0.0
                }
            },
        ),
        (
            "keepalived_real_server_weight",
            "gauge",
            "Current weight.",
            |r| f64::from(r.weight),
        ),
        (
            "keepalived_checks_total",
            "counter",
            "Health checks run.",
            |r| r.checks as f64,
        ),
        (
            "keepalived_check_failures_total",
            "counter",
            "Health checks failed.",
            |r| r.check_failures as f64,
        ),
        (
            "keepalived_check_last_duration_seconds",
            "gauge",
            "Duration of the last health check.",
            |r| r.last_check_seconds,
        ),
        (
            "keepalived_real_server_configured_weight",
            "gauge",
            "Configured weight.",
            |r| f64::from(r.configured_weight),
        ),
        (
            "keepalived_real_server_active_connections",
            "gauge",
            "IPVS active connections of the real server.",
            |r| r.active_connections as f64,
        ),
        (
            "keepalived_real_server_inactive_connections",
            "gauge",
            "IPVS inactive connections of the real server.",
            |r| r.inactive_connections as f64,
        ),
        (
            "keepalived_real_server_connections_per_second",
            "gauge",
            "IPVS connection rate of the real server.",
            |r| r.cps as f64,
        ),
    ];
    for (name, kind, help, f) in rs_series {
        o.head(name, kind, help);
        for r in &rs {
            o.val(
                name,
                &[
                    ("virtual_server", &r.virtual_server),
                    ("real_server", &r.real_server),
                ],
                f(r),
            );
        }
    }

    type SF = fn(&IpvsServiceMetrics) -> f64;
    let svc_series: [(&str, &str, SF); 5] = [
        (
            "keepalived_ipvs_service_connections_total",
            "Connections.",
            |s| s.connections as f64,
        ),
        (
            "keepalived_ipvs_service_packets_in_total",
            "Packets in.",
            |s| s.packets_in as f64,
        ),
        (
            "keepalived_ipvs_service_packets_out_total",
            "Packets out.",
            |s| s.packets_out as f64,
        ),
        ("keepalived_ipvs_service_bytes_in_total", "Bytes in.", |s| {
            s.bytes_in as f64
        }),
        (
            "keepalived_ipvs_service_bytes_out_total",
            "Bytes out.",
            |s| s.bytes_out as f64,
        ),
    ];
    for (name, help, f) in svc_series {
        o.head(name, "counter", help);
        for s in &svc {
            o.val(name, &[("service", &s.service)], f(s));
        }
    }
    type DF = fn(&IpvsDestinationMetrics) -> f64;
    let dst_series: [(&str, &str, &str, DF); 7] = [
        (
            "keepalived_ipvs_destination_active_connections",
            "gauge",
            "Active connections.",
            |d| d.active_connections as f64,
        ),
        (
            "keepalived_ipvs_destination_inactive_connections",
            "gauge",
            "Inactive connections.",
            |d| d.inactive_connections as f64,
        ),
        (
            "keepalived_ipvs_destination_connections_total",
            "counter",
            "Connections.",
            |d| d.connections as f64,
        ),
        (
            "keepalived_ipvs_destination_bytes_in_total",
            "counter",
            "Bytes in.",
            |d| d.bytes_in as f64,
        ),
        (
            "keepalived_ipvs_destination_bytes_out_total",
            "counter",
            "Bytes out.",
            |d| d.bytes_out as f64,
        ),
        (
            "keepalived_ipvs_destination_packets_in_total",
            "counter",
            "Packets in.",
            |d| d.packets_in as f64,
        ),
        (
            "keepalived_ipvs_destination_packets_out_total",
            "counter",
            "Packets out.",
            |d| d.packets_out as f64,
        ),
    ];
    for (name, kind, help, f) in dst_series {
        o.head(name, kind, help);
        for d in &dst {
            o.val(
                name,
                &[("service", &d.service), ("destination", &d.destination)],
                f(d),
            );
        }
    }
    render_bfd(&mut o, status);
    o.0
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves label values are escaped and every sample line has a declared TYPE.
    #[test]
    fn render_escapes_and_types() {
        let mut st = Status {
            implementation: "keepalived-rs".into(),
            version: "0.1.0".into(),
            ..Default::default()
        };
        st.workers.insert(
            "vrrp".into(),
            WorkerMetrics {
                vrrp_instances: vec![VrrpInstanceMetrics {
                    name: "VI \"1\"\n".into(),
                    state: VrrpStateMetric::Master,
                    drops: [("auth".to_string(), 3u64)].into_iter().collect(),
                    ..Default::default()
                }],
                ..Default::default()
            },
        );
        let text = render(&st);
        assert!(text.contains(r#"instance="VI \"1\"\n""#), "{text}");
        assert!(text.contains("keepalived_vrrp_state{"));
        let typed: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .collect();
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            let name = l.split(['{', ' ']).next().unwrap();
            assert!(typed.contains(&name), "untyped sample {l}");
        }
    }
}
