//! What the runtime reports while it runs, as typed values: each instance's [`State`],
//! effective priority and receive counters per reason ([`RxCounters`]), and the worker's
//! counters. The daemon's metrics, dumps and status read these; names (`MASTER`...) and JSON
//! are made only at the edge ([`state_name`], [`Metrics::to_json`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use vrrp_proto::validate::Accepted;
use vrrp_proto::{RxCounters, RxError, State};

/// Callback receiving every state transition: instance name and new state. Called on the
/// runtime's thread: it must not block.
pub type TransitionCallback = Arc<dyn Fn(&str, State) + Send + Sync>;

/// keepalived's name of a state (`MASTER`, `BACKUP`, `FAULT`; `STOP` for a stopped instance),
/// as its notify scripts, FIFO lines and dumps show it.
pub fn state_name(s: State) -> &'static str {
    match s {
        State::Master => "MASTER",
        State::Backup => "BACKUP",
        State::Fault => "FAULT",
        State::Initialize => "STOP",
    }
}

/// Where a `vrrp_script` is in its run, as keepalived's data file shows it (`State = ...`):
/// between runs, running, timed out and sent SIGTERM, or sent SIGKILL after the grace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScriptState {
    /// Not running (between two runs).
    #[default]
    Idle,
    /// Running.
    Running,
    /// Timed out, SIGTERM sent.
    RequestingTermination,
    /// Still there after SIGTERM, SIGKILL sent.
    ForcingTermination,
}

impl ScriptState {
    /// keepalived's order (`SCRIPT_STATE_IDLE` 0 ... `SCRIPT_STATE_FORCING_TERMINATION` 3).
    pub fn code(self) -> u8 {
        match self {
            ScriptState::Idle => 0,
            ScriptState::Running => 1,
            ScriptState::RequestingTermination => 2,
            ScriptState::ForcingTermination => 3,
        }
    }

    /// The state with [`ScriptState::code`] `c` (idle for an unknown one).
    pub fn from_code(c: u8) -> Self {
        match c {
            1 => ScriptState::Running,
            2 => ScriptState::RequestingTermination,
            3 => ScriptState::ForcingTermination,
            _ => ScriptState::Idle,
        }
    }

    /// keepalived's word for it in its data file (`idle`, `running`, `requested termination`,
    /// `forcing termination`).
    pub fn name(self) -> &'static str {
        match self {
            ScriptState::Idle => "idle",
            ScriptState::Running => "running",
            ScriptState::RequestingTermination => "requested termination",
            ScriptState::ForcingTermination => "forcing termination",
        }
    }
}

/// One running instance as the runtime last reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceStatus {
    /// Current state.
    pub state: State,
    /// Effective priority (base priority plus tracking).
    pub priority: u8,
    /// Adverts this instance received, accepted and rejected per reason.
    pub rx: RxCounters,
    /// `auth_hmac` rejections (`auth_ext_*`, keepalived 2.4).
    pub auth_ext: vrrp_proto::auth_hmac::AuthExtCounters,
    /// Adverts this instance sent (each unicast peer counts one).
    pub adverts_sent: u64,
    /// Of those, adverts with priority 0 (resigning).
    pub pri_zero_sent: u64,
    /// Source address and priority of the last advert this instance accepted: while BACKUP,
    /// the master it listens to.
    pub last_advert_from: Option<(std::net::IpAddr, u8)>,
    /// The master this instance last accepted an advert from (`None` while it is master
    /// itself or has heard none).
    pub master: Option<std::net::IpAddr>,
    /// Source address of the last advert this instance rejected (RFC 2787's
    /// vrrpTrapPacketSrc of an authentication failure).
    pub last_rejected_from: Option<std::net::IpAddr>,
}

impl InstanceStatus {
    /// A status with no advert counted yet.
    pub fn new(state: State, priority: u8) -> Self {
        InstanceStatus {
            state,
            priority,
            rx: RxCounters::default(),
            auth_ext: Default::default(),
            adverts_sent: 0,
            pri_zero_sent: 0,
            last_advert_from: None,
            master: None,
            last_rejected_from: None,
        }
    }
}

/// Counters and per-instance state, shared with the caller (read at any time).
#[derive(Debug, Default)]
pub struct Metrics {
    /// Adverts sent.
    pub adverts_sent: AtomicU64,
    /// Adverts accepted.
    pub adverts_rcvd: AtomicU64,
    /// Adverts rejected (any reason; per reason in [`Metrics::rx`]).
    pub adverts_rejected: AtomicU64,
    /// Packets for a VRID no instance on that interface has.
    pub unknown_vrid: AtomicU64,
    /// Transitions to MASTER.
    pub became_master: AtomicU64,
    /// Transitions to BACKUP.
    pub became_backup: AtomicU64,
    /// Transitions to FAULT.
    pub became_fault: AtomicU64,
    /// Gratuitous ARPs / NAs sent.
    pub garps_sent: AtomicU64,
    /// VIP add/remove/refresh errors.
    pub vip_errors: AtomicU64,
    /// Send errors.
    pub send_errors: AtomicU64,
    /// The worker's receive counters: accepted adverts and rejections by
    /// [`vrrp_proto::RxError::counter`] name (also those no instance could be found for).
    pub rx: Mutex<RxCounters>,
    /// Each running instance by name.
    pub instances: Mutex<BTreeMap<String, InstanceStatus>>,
    /// Each running `vrrp_script` by name: its last result (true: success).
    pub scripts: Mutex<BTreeMap<String, bool>>,
    /// Each running `vrrp_script` by name: its run state ([`ScriptState::code`]), written by
    /// the script's task (a stopped script's task keeps its own, no longer listed, copy).
    pub script_states: Mutex<BTreeMap<String, Arc<AtomicU8>>>,
    /// Each BFD instance by name as the BFD worker last reported it (true: up).
    pub bfds: Mutex<BTreeMap<String, bool>>,
}

impl Metrics {
    pub(crate) fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// A rejection counted under `counter`, for instance `inst` when it is known.
    pub(crate) fn reject(&self, inst: Option<&str>, counter: &'static str) {
        Self::bump(&self.adverts_rejected);
        if let Ok(mut rx) = self.rx.lock() {
            *rx.rejected.entry(counter).or_insert(0) += 1;
        }
        if let (Some(name), Ok(mut m)) = (inst, self.instances.lock()) {
            if let Some(s) = m.get_mut(name) {
                *s.rx.rejected.entry(counter).or_insert(0) += 1;
            }
        }
    }

    /// An `auth_hmac` rejection of instance `inst` (counted under its `auth_ext_*` name).
    pub(crate) fn auth_ext_rejected(&self, inst: &str, e: &vrrp_proto::auth_hmac::AuthExtError) {
        self.reject(Some(inst), e.counter());
        if let Ok(mut m) = self.instances.lock() {
            if let Some(s) = m.get_mut(inst) {
                s.auth_ext.count(e);
            }
        }
    }

    /// A rejection by the validation of instance `inst`.
    pub(crate) fn rejected(&self, inst: &str, e: &RxError) {
        self.reject(Some(inst), e.counter());
    }

    /// A rejection by the validation of instance `inst` of an advert from `src` (recorded as
    /// its last rejected source before the counter moves).
    pub(crate) fn rejected_from(&self, inst: &str, e: &RxError, src: std::net::IpAddr) {
        if let Ok(mut m) = self.instances.lock() {
            if let Some(s) = m.get_mut(inst) {
                s.last_rejected_from = Some(src);
            }
        }
        self.rejected(inst, e);
    }

    /// An advert instance `inst` accepted.
    pub(crate) fn accepted(&self, inst: &str, a: &Accepted) {
        Self::bump(&self.adverts_rcvd);
        if let Ok(mut rx) = self.rx.lock() {
            rx.accept(a);
        }
        if let Ok(mut m) = self.instances.lock() {
            if let Some(s) = m.get_mut(inst) {
                s.rx.accept(a);
                s.last_advert_from = Some((a.src, a.advert.priority.get()));
            }
        }
    }

    /// Instance `inst` sent an advert (`zero`: with priority 0).
    pub(crate) fn sent(&self, inst: &str, zero: bool) {
        Self::bump(&self.adverts_sent);
        if let Ok(mut m) = self.instances.lock() {
            if let Some(s) = m.get_mut(inst) {
                s.adverts_sent += 1;
                s.pri_zero_sent += u64::from(zero);
            }
        }
    }

    /// Instance `inst` is now in `state` with `priority` (its counters are kept).
    pub(crate) fn set_state(&self, inst: &str, state: State, priority: u8) {
        if let Ok(mut m) = self.instances.lock() {
            m.entry(inst.to_string())
                .and_modify(|s| {
                    s.state = state;
                    s.priority = priority;
                })
                .or_insert_with(|| InstanceStatus::new(state, priority));
        }
    }

    /// The master instance `inst` follows (its state machine's view).
    pub(crate) fn set_master(&self, inst: &str, master: Option<std::net::IpAddr>) {
        if let Ok(mut m) = self.instances.lock() {
            if let Some(s) = m.get_mut(inst) {
                s.master = master;
            }
        }
    }

    /// Instance `inst`'s effective priority is now `priority` (if it has reported a state).
    pub(crate) fn set_priority(&self, inst: &str, priority: u8) {
        if let Ok(mut m) = self.instances.lock() {
            if let Some(s) = m.get_mut(inst) {
                s.priority = priority;
            }
        }
    }

    /// Instance `inst` is gone.
    pub(crate) fn forget(&self, inst: &str) {
        if let Ok(mut m) = self.instances.lock() {
            m.remove(inst);
        }
    }

    /// The running `vrrp_script`s are now `scripts` (name, last result).
    pub(crate) fn set_scripts(&self, scripts: &BTreeMap<String, bool>) {
        if let Ok(mut m) = self.scripts.lock() {
            m.clone_from(scripts);
        }
    }

    /// The running `vrrp_script`s and their last results (a copy).
    pub fn script_results(&self) -> BTreeMap<String, bool> {
        self.scripts.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// The BFD instances' states are now `bfds` (name, up).
    pub(crate) fn set_bfds(&self, bfds: &BTreeMap<String, bool>) {
        if let Ok(mut m) = self.bfds.lock() {
            m.clone_from(bfds);
        }
    }

    /// The BFD instances' states as last reported (a copy; one not reported is down).
    pub fn bfd_states(&self) -> BTreeMap<String, bool> {
        self.bfds.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// A cell for the run state of `vrrp_script` `name`, started now (idle), listed until
    /// [`Metrics::forget_script`].
    pub(crate) fn new_script_state(&self, name: &str) -> Arc<AtomicU8> {
        let cell = Arc::new(AtomicU8::new(ScriptState::Idle.code()));
        if let Ok(mut m) = self.script_states.lock() {
            m.insert(name.to_string(), cell.clone());
        }
        cell
    }

    /// `vrrp_script` `name` is stopped: its run state is no longer listed.
    pub(crate) fn forget_script(&self, name: &str) {
        if let Ok(mut m) = self.script_states.lock() {
            m.remove(name);
        }
    }

    /// The run state of each running `vrrp_script` (a copy).
    pub fn script_states(&self) -> BTreeMap<String, ScriptState> {
        self.script_states
            .lock()
            .map(|m| {
                m.iter()
                    .map(|(k, c)| (k.clone(), ScriptState::from_code(c.load(Ordering::Relaxed))))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The states of the running instances (a copy).
    pub fn statuses(&self) -> BTreeMap<String, InstanceStatus> {
        self.instances.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Sets every counter to zero (states and priorities are kept).
    pub fn clear_counters(&self) {
        for c in [
            &self.adverts_sent,
            &self.adverts_rcvd,
            &self.adverts_rejected,
            &self.unknown_vrid,
            &self.became_master,
            &self.became_backup,
            &self.became_fault,
            &self.garps_sent,
            &self.vip_errors,
            &self.send_errors,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        if let Ok(mut rx) = self.rx.lock() {
            *rx = RxCounters::default();
        }
        if let Ok(mut m) = self.instances.lock() {
            for s in m.values_mut() {
                s.rx = RxCounters::default();
                s.auth_ext = Default::default();
                s.adverts_sent = 0;
                s.pri_zero_sent = 0;
            }
        }
    }

    /// A JSON snapshot (counters, rejections by reason, instance states).
    pub fn to_json(&self) -> serde_json::Value {
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let rx_json = |rx: &RxCounters| -> serde_json::Map<String, serde_json::Value> {
            rx.rejected
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).into()))
                .collect()
        };
        let (rejected, pri_zero) = self
            .rx
            .lock()
            .map(|rx| (rx_json(&rx), rx.pri_zero_rcvd))
            .unwrap_or_default();
        let instances: serde_json::Map<String, serde_json::Value> = self
            .instances
            .lock()
            .map(|m| {
                m.iter()
                    .map(|(k, s)| {
                        (
                            k.clone(),
                            serde_json::json!({
                                "state": state_name(s.state),
                                "priority": s.priority,
                                "adverts_rcvd": s.rx.advert_rcvd,
                                "rejected": rx_json(&s.rx),
                                "auth_ext": s
                                    .auth_ext
                                    .by_name()
                                    .iter()
                                    .map(|(k, v)| ((*k).to_string(), (*v).into()))
                                    .collect::<serde_json::Map<String, serde_json::Value>>(),
                            }),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        serde_json::json!({
            "adverts_sent": l(&self.adverts_sent),
            "adverts_rcvd": l(&self.adverts_rcvd),
            "adverts_rejected": l(&self.adverts_rejected),
            "pri_zero_rcvd": pri_zero,
            "unknown_vrid": l(&self.unknown_vrid),
            "became_master": l(&self.became_master),
            "became_backup": l(&self.became_backup),
            "became_fault": l(&self.became_fault),
            "garps_sent": l(&self.garps_sent),
            "vip_errors": l(&self.vip_errors),
            "send_errors": l(&self.send_errors),
            "rejected": rejected,
            "instances": instances,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves per-instance and worker counters move together, a state change keeps the counters,
    // clearing keeps states, and the JSON shows keepalived's state names.
    #[test]
    fn typed_status_and_json() {
        let m = Metrics::default();
        m.set_state("VI_1", State::Backup, 100);
        m.reject(Some("VI_1"), "auth_failure");
        m.reject(None, "packet_len_err");
        m.set_state("VI_1", State::Master, 100);
        let s = m.statuses();
        assert_eq!(s["VI_1"].state, State::Master);
        assert_eq!(s["VI_1"].rx.get("auth_failure"), 1);
        assert_eq!(s["VI_1"].rx.get("packet_len_err"), 0);
        let j = m.to_json();
        assert_eq!(j["instances"]["VI_1"]["state"], "MASTER");
        assert_eq!(j["rejected"]["packet_len_err"], 1);
        assert_eq!(j["adverts_rejected"], 2);
        m.clear_counters();
        assert_eq!(m.statuses()["VI_1"].rx, RxCounters::default());
        assert_eq!(m.statuses()["VI_1"].state, State::Master);
        assert_eq!(state_name(State::Initialize), "STOP");
    }

    // Proves a script's run state is read through its cell with keepalived's numbering and
    // words, and a forgotten script is no longer listed while its task's cell stays writable.
    #[test]
    fn script_states_follow_their_cells() {
        let m = Metrics::default();
        let cell = m.new_script_state("chk");
        assert_eq!(m.script_states()["chk"], ScriptState::Idle);
        cell.store(ScriptState::RequestingTermination.code(), Ordering::Relaxed);
        assert_eq!(m.script_states()["chk"], ScriptState::RequestingTermination);
        assert_eq!(ScriptState::RequestingTermination.code(), 2);
        assert_eq!(
            ScriptState::ForcingTermination.name(),
            "forcing termination"
        );
        for c in 0..4 {
            assert_eq!(ScriptState::from_code(c).code(), c);
        }
        m.forget_script("chk");
        cell.store(ScriptState::Running.code(), Ordering::Relaxed);
        assert!(m.script_states().is_empty());
    }
}
