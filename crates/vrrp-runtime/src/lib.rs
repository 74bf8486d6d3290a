//! The VRRP worker runtime: drives vrrp-proto state machines with real sockets, timers and
//! netlink.
//!
//! [`run`] is blocking: it builds its own single-threaded tokio runtime (for notify and track
//! scripts), runs the event loop on a thread of its own that blocks on one inbox (a queue and a
//! condition variable) until the next event or deadline (an idle master wakes once per advert,
//! one futex wait; see `inbox.rs`), opens one raw
//! IP-protocol-112 socket per (interface, family), demultiplexes received adverts by interface
//! and VRID into the instances' [`vrrp_proto::VirtualRouter`]s after
//! [`vrrp_proto::validate()`], and performs the state machines' actions: adverts, VIPs through
//! rtnetlink (`netplat`), gratuitous ARPs (AF_PACKET), notify scripts and the notify FIFO.
//!
//! Where things live (seesaw's config → keyed desired state → diff → apply; holo's one owned
//! instance per virtual router):
//!
//! | module | what it does |
//! |---|---|
//! | [`plan`] | pure: a configuration's desired state per instance ([`plan::desired`]) and what a reload changes ([`plan::diff`]: keep, update, restart, add, remove) |
//! | `instance` | one owned `Instance` per `vrrp_instance` (its `VirtualRouter`, sockets, VIP interface, lease, tracking), built from its spec; `Instance::apply` carries out its state machine's actions |
//! | `kernel` | `Kernel`: VIPs and their lease, virtual routes and rules, static addresses/routes/rules, VMACs (rtnetlink) |
//! | `io` | `Io`: the raw sockets and reading them (`recvmmsg` in the loop's thread, woken by its epoll set), adverts (advert cache), gratuitous ARPs, link watch, demultiplexing received adverts |
//! | `pending` | instances waiting in FAULT for their interface or its address (`dynamic_interfaces`), started when it is there, back to waiting when it is deleted |
//! | `events` | the loop: one blocking wait on the `inbox` for the next event or deadline, then dispatch |
//! | `runtime` | `Rt`: the instances keyed by `InstId`, the sync groups, tracking results; what spans all instances |
//! | `sync` | `SyncGroups`: the `vrrp_sync_group`s by name, their members, how they move together (`Reconcile`: fault, backup, master together) and their notifications |
//! | `reload`, `scripts` | applying a diff; `vrrp_script` tasks |
//! | `status` | typed state and per-reason receive counters ([`Metrics`], [`InstanceStatus`]) |
//! | `rxlog` | rate-limited logging of rejected adverts, per instance and reason, with a summary of what was not logged |
//! | `config` | from conf-parse's model to an instance's spec |
//!
//! Only `kernel` and `io` call `netplat`.
//!
//! Beyond keepalived (on by default):
//! - **VIP lease**: VIPs are installed with `valid_lft`/`preferred_lft` = Master_Down_Interval
//!   rounded up + [`LEASE_MARGIN_SECS`], renewed while master about every second (one `RTM_NEWADDR` send, no ACK awaited), so a SIGKILLed or frozen
//!   master's VIP expires by itself. Switch off with the `global_defs` keyword
//!   `krs_vip_lease off` (read from conf-parse's unmodelled keywords) or
//!   [`RuntimeOptions::vip_lease`].
//! - **Planned handover**: on shutdown a master sends priority 0 but keeps its VIPs until it
//!   sees the new master's advert (bounded by the longest Skew_Time a backup can wait after a
//!   priority 0 + 50 ms: 1.05 s in v2, the advert interval + 50 ms in v3), then removes them.

mod config;
mod events;
mod firewall;
mod firewall_ipt;
mod garp;
mod ifdelay;
mod inbox;
mod instance;
mod io;
pub mod json;
mod kernel;
mod linkbeat;
mod located;
mod mail;
mod notify;
mod pending;
pub mod plan;
mod procs;
mod reload;
mod routes;
mod runtime;
mod rxlog;
mod scripts;
mod sock;
mod status;
mod sync;
mod track;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use config::garp_master_delay;
pub use config::LEASE_MARGIN_SECS;
pub use reload::{Reload, ReloadReport};
pub use status::{state_name, InstanceStatus, Metrics, ScriptState, TransitionCallback};
pub use vrrp_proto::{RxCounters, State};

/// Errors of the VRRP runtime.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VrrpRuntimeError {
    /// The configuration cannot be run (located).
    #[error("{file}:{line}: vrrp_instance {instance}: {msg}")]
    Config {
        /// Instance name.
        instance: String,
        /// File.
        file: String,
        /// Line.
        line: u32,
        /// What is wrong.
        msg: String,
    },
    /// A socket / file operation failed.
    #[error("{op}: {source}")]
    Io {
        /// Operation with context.
        op: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// An rtnetlink operation failed.
    #[error("{op}: {source}")]
    Netlink {
        /// Operation with context.
        op: String,
        /// Cause.
        #[source]
        source: netplat::Error,
    },
}

/// A VIP the runtime currently holds (so a supervisor can remove it if the worker dies).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HeldVip {
    /// Interface name.
    pub ifname: String,
    /// Address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
}

/// Callback receiving the complete set of held VIPs after every change.
pub type HeldVipsCallback = Arc<dyn Fn(&[HeldVip]) + Send + Sync>;

/// How the caller controls [`run`].
#[derive(Clone, Default)]
pub struct RuntimeOptions {
    /// Stop when this becomes `true` (planned handover, then VIPs released unless
    /// `dont_release_vrrp`). `None` and `handle_signals` false: runs until an error.
    pub shutdown: Option<tokio::sync::watch::Receiver<bool>>,
    /// Install SIGTERM/SIGINT handlers that trigger shutdown (standalone use).
    pub handle_signals: bool,
    /// File rewritten with the held VIPs (`IFNAME ADDR/PLEN` per line) after every change.
    pub held_vips_path: Option<PathBuf>,
    /// Called with the held VIPs after every change.
    pub on_held_vips: Option<HeldVipsCallback>,
    /// Called on every state transition.
    pub on_transition: Option<TransitionCallback>,
    /// Called with a sync group's name and state each time the group's state is notified
    /// (its notify scripts and FIFO line).
    pub on_group_transition: Option<TransitionCallback>,
    /// Shared counters.
    pub metrics: Arc<Metrics>,
    /// File rewritten with [`Metrics::to_json`] (at most every 100 ms, and at exit).
    pub stats_path: Option<PathBuf>,
    /// `-V`: do not remove VIPs at exit.
    pub dont_release_vrrp: bool,
    /// Override the VIP lease (None: `global_defs krs_vip_lease`, default on).
    pub vip_lease: Option<bool>,
    /// Override the planned handover on shutdown (None: on).
    pub planned_handover: Option<bool>,
    /// BFD session states from the BFD worker (`track_bfd`): every change of the map is
    /// applied to the instances tracking a session whose state changed, as a tracked
    /// interface's would be. `None`: every tracked BFD stays down.
    pub bfd_states: Option<tokio::sync::watch::Receiver<BfdStates>>,
}

/// BFD session states by `bfd_instance` name (true: Up).
pub type BfdStates = std::collections::BTreeMap<String, bool>;

impl std::fmt::Debug for RuntimeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeOptions")
            .field("handle_signals", &self.handle_signals)
            .field("held_vips_path", &self.held_vips_path)
            .field("stats_path", &self.stats_path)
            .field("dont_release_vrrp", &self.dont_release_vrrp)
            .field("vip_lease", &self.vip_lease)
            .field("planned_handover", &self.planned_handover)
            .finish_non_exhaustive()
    }
}

/// Run every `vrrp_instance` of `config` until shutdown. Blocking (owns a current-thread
/// tokio runtime). Errors that stop the whole worker: no usable instance, runtime/socket
/// setup, an instance's interface missing without `dynamic_interfaces` (keepalived's
/// "Non-existent interface specified in configuration"). An instance whose interface is missing
/// (`dynamic_interfaces`) or has no address yet waits in FAULT and starts when it is there.
/// Other per-instance problems (VIP add refused...) are logged with the instance name and the
/// instance keeps its other duties or is skipped.
pub fn run(config: conf_parse::Config, opts: RuntimeOptions) -> Result<(), VrrpRuntimeError> {
    let (_never, reloads) = tokio::sync::mpsc::unbounded_channel();
    run_with_reload(config, opts, reloads)
}

/// [`run`], taking reloads: each [`Reload`] is applied as a diff against the running
/// configuration — unchanged instances keep running untouched (state, VIPs, timers), changed
/// ones keep their state with the new settings (VIPs added/removed), those bound to another
/// interface/VRID/family/source are restarted, removed ones leave with priority 0 — and
/// answered with a [`ReloadReport`]. The configuration must already be checked (conf-parse).
/// If an instance to start cannot run (missing interface without `dynamic_interfaces`) nothing
/// is applied and the answer is the located reason; the running instances are untouched. One
/// that can wait (missing interface with `dynamic_interfaces`, no address yet) waits in FAULT
/// ([`ReloadReport::waiting`]).
pub fn run_with_reload(
    config: conf_parse::Config,
    opts: RuntimeOptions,
    reloads: tokio::sync::mpsc::UnboundedReceiver<Reload>,
) -> Result<(), VrrpRuntimeError> {
    let (_never, commands) = tokio::sync::mpsc::unbounded_channel();
    run_with_control(config, opts, reloads, commands)
}

/// A request to the running runtime besides a reload.
#[derive(Debug)]
#[non_exhaustive]
pub enum Command {
    /// One round of gratuitous ARPs / unsolicited NAs for the VIPs of instance `instance` if
    /// it has them set (keepalived's D-Bus `SendGarp`, `vrrp_send_link_update(vrrp, 1)`).
    /// Answered with whether the instance runs.
    SendGarp {
        /// Instance name.
        instance: String,
        /// Whether the instance was found.
        done: tokio::sync::oneshot::Sender<bool>,
    },
}

/// [`run_with_reload`], also taking [`Command`]s.
pub fn run_with_control(
    config: conf_parse::Config,
    opts: RuntimeOptions,
    reloads: tokio::sync::mpsc::UnboundedReceiver<Reload>,
    commands: tokio::sync::mpsc::UnboundedReceiver<Command>,
) -> Result<(), VrrpRuntimeError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| VrrpRuntimeError::Io {
            op: "building the tokio runtime".into(),
            source,
        })?;
    rt.block_on(events::run_async(config, opts, reloads, commands))
}
