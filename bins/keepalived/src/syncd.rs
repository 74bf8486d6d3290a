//! `lvs_sync_daemon`: the IPVS connection-synchronisation daemon follows one VRRP instance, as
//! keepalived's VRRP process drives it (`ipvs_syncd_master`/`ipvs_syncd_backup`): a backup
//! daemon from the start, the master daemon while that instance is MASTER (backup stopped), the
//! backup daemon again when it leaves MASTER (master stopped), both stopped at exit. Also the
//! deprecated `vrrp_instance { lvs_sync_daemon_interface IF }` form. The sync id defaults to the
//! instance's VRID with `lvs_sync_daemon`, and is 0 with the deprecated form, as in keepalived
//! (its vrrp_complete_init only takes the VRID for a named instance; the IPVS table of
//! keepalived 2.2.7 shows `syncid=0`: vm_wired_lvs_sync_daemon_follows_vrrp).
//!
//! The kernel is driven through the process's [`Ipvs`] (ipvs-nl; a test's fake) on a thread of
//! its own, so the VRRP loop only posts the transitions.

use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use ipvs_nl::{DaemonState, SyncDaemon};

use crate::seams::Ipvs;

use crate::{error, info};

/// What the sync daemon is configured to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSpec {
    /// Interface the sync messages go out of / come in on.
    pub interface: String,
    /// The VRRP instance whose state decides master or backup.
    pub instance: String,
    /// Sync id.
    pub syncid: u32,
    /// `maxlen`.
    pub maxlen: Option<u16>,
    /// `port`.
    pub port: Option<u16>,
    /// `ttl`.
    pub ttl: Option<u8>,
    /// `group`.
    pub group: Option<std::net::IpAddr>,
}

impl SyncSpec {
    fn daemon(&self, state: DaemonState) -> SyncDaemon {
        let mut d = SyncDaemon::new(state, &self.interface, self.syncid);
        d.maxlen = self.maxlen;
        d.mcast_port = self.port;
        d.mcast_ttl = self.ttl;
        d.mcast_group = self.group;
        d
    }
}

/// The sync daemon settings of a configuration, if any.
pub fn spec_from(cfg: &conf_parse::Config) -> Option<SyncSpec> {
    let vrid = |name: &str| {
        cfg.vrrp_instances
            .iter()
            .find(|v| v.name == name)
            .and_then(|v| v.virtual_router_id)
            .map(u32::from)
    };
    if let Some(g) = &cfg.global.lvs_sync_daemon {
        return Some(SyncSpec {
            interface: g.interface.clone(),
            instance: g.vrrp_instance.clone(),
            syncid: g
                .id
                .map(u32::from)
                .or_else(|| vrid(&g.vrrp_instance))
                .unwrap_or(0),
            maxlen: g.maxlen,
            port: g.port,
            ttl: g.ttl,
            group: g.group,
        });
    }
    cfg.vrrp_instances.iter().find_map(|v| {
        v.lvs_sync_daemon_interface.as_ref().map(|ifname| SyncSpec {
            interface: ifname.clone(),
            instance: v.name.clone(),
            syncid: 0,
            maxlen: None,
            port: None,
            ttl: None,
            group: None,
        })
    })
}

enum Cmd {
    Spec(Option<SyncSpec>),
    State(String, vrrp_runtime::State),
    Stop,
}

/// Handle on the controller thread.
pub struct SyncCtl {
    tx: mpsc::Sender<Cmd>,
    thread: Option<JoinHandle<()>>,
}

impl SyncCtl {
    /// Starts the controller with the configuration's settings (backup daemon at once).
    pub fn start(spec: Option<SyncSpec>, ipvs: Arc<dyn Ipvs>) -> SyncCtl {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("lvs-syncd".into())
            .spawn(move || Controller::new(ipvs).run(rx))
            .map_err(|e| error!("lvs_sync_daemon: cannot start its thread: {e}"))
            .ok();
        let ctl = SyncCtl { tx, thread };
        ctl.set_spec(spec);
        ctl
    }

    /// New settings (reload); the daemons are restarted only if they changed.
    pub fn set_spec(&self, spec: Option<SyncSpec>) {
        let _ = self.tx.send(Cmd::Spec(spec));
    }

    /// A callback for the VRRP runtime's transitions.
    pub fn transition_callback(&self) -> vrrp_runtime::TransitionCallback {
        let tx = std::sync::Mutex::new(self.tx.clone());
        std::sync::Arc::new(move |name: &str, state: vrrp_runtime::State| {
            if let Ok(tx) = tx.lock() {
                let _ = tx.send(Cmd::State(name.to_string(), state));
            }
        })
    }

    /// Stops both daemons and the thread.
    pub fn stop(mut self) {
        let _ = self.tx.send(Cmd::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Controller {
    spec: Option<SyncSpec>,
    /// The daemon we run now.
    mode: Option<DaemonState>,
    /// Last state seen per instance.
    states: std::collections::BTreeMap<String, vrrp_runtime::State>,
    ipvs: Arc<dyn Ipvs>,
}

impl Controller {
    fn new(ipvs: Arc<dyn Ipvs>) -> Controller {
        Controller {
            spec: None,
            mode: None,
            states: Default::default(),
            ipvs,
        }
    }

    fn run(mut self, rx: mpsc::Receiver<Cmd>) {
        while let Ok(cmd) = rx.recv() {
            match cmd {
                Cmd::Spec(s) => {
                    if s != self.spec {
                        self.stop_all();
                        self.spec = s;
                        let want = self.wanted();
                        self.go(want);
                    }
                }
                Cmd::State(name, state) => {
                    self.states.insert(name, state);
                    let want = self.wanted();
                    if want != self.mode {
                        self.go(want);
                    }
                }
                Cmd::Stop => break,
            }
        }
        self.stop_all();
    }

    /// Master while the followed instance is MASTER, else backup; nothing without settings.
    fn wanted(&self) -> Option<DaemonState> {
        let spec = self.spec.as_ref()?;
        match self.states.get(&spec.instance) {
            Some(vrrp_runtime::State::Master) => Some(DaemonState::Master),
            _ => Some(DaemonState::Backup),
        }
    }

    fn go(&mut self, want: Option<DaemonState>) {
        let Some(want) = want else { return };
        let Some(spec) = self.spec.clone() else {
            return;
        };
        let other = match want {
            DaemonState::Master => DaemonState::Backup,
            DaemonState::Backup => DaemonState::Master,
        };
        self.command(&spec, other, false);
        if self.command(&spec, want, true) {
            self.mode = Some(want);
        }
    }

    fn stop_all(&mut self) {
        if let Some(spec) = self.spec.clone() {
            if self.mode.is_some() {
                self.command(&spec, DaemonState::Master, false);
                self.command(&spec, DaemonState::Backup, false);
            }
        }
        self.mode = None;
    }

    /// Starts (`start`) or stops the daemon of `state`; true on success.
    fn command(&mut self, spec: &SyncSpec, state: DaemonState, start: bool) -> bool {
        let what = format!(
            "{} {} sync daemon (mcast_ifn {}, syncid {})",
            if start { "start" } else { "stop" },
            if state == DaemonState::Master {
                "master"
            } else {
                "backup"
            },
            spec.interface,
            spec.syncid
        );
        let r = if start {
            self.ipvs.start_sync_daemon(&spec.daemon(state))
        } else {
            self.ipvs.stop_sync_daemon(state)
        };
        match r {
            Ok(()) => {
                info!("lvs_sync_daemon: {what}");
                true
            }
            // Stopping a daemon that does not run is what we wanted anyway.
            Err(ipvs_nl::Error::DaemonNotRunning { .. }) if !start => true,
            Err(e) => {
                error!("lvs_sync_daemon: cannot {what}: {e}");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> conf_parse::Config {
        let p = conf_parse::parse_str(text, "t.conf", &conf_parse::ParseOptions::default());
        assert!(!p.has_errors(), "{:?}", p.diagnostics);
        p.config
    }

    const VI: &str = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.0.0.100/24\n    }\n}\n";

    // Proves the settings: the global form with its options, the sync id defaulting to the
    // followed instance's VRID, and the deprecated per-instance interface form.
    #[test]
    fn spec_forms() {
        let c = parse(&format!(
            "global_defs {{\n    lvs_sync_daemon eth1 VI_1 id 7 maxlen 1400 port 8848 ttl 2 group 224.0.0.81\n}}\n{VI}"
        ));
        let s = spec_from(&c).unwrap();
        assert_eq!(s.interface, "eth1");
        assert_eq!(s.instance, "VI_1");
        assert_eq!(s.syncid, 7);
        assert_eq!(s.maxlen, Some(1400));
        assert_eq!(s.port, Some(8848));
        assert_eq!(s.ttl, Some(2));
        assert_eq!(s.group, Some("224.0.0.81".parse().unwrap()));
        let c = parse(&format!(
            "global_defs {{\n    lvs_sync_daemon eth1 VI_1\n}}\n{VI}"
        ));
        assert_eq!(spec_from(&c).unwrap().syncid, 51);
        let c = parse(&VI.replace(
            "priority 100",
            "priority 100\n    lvs_sync_daemon_interface eth2",
        ));
        let s = spec_from(&c).unwrap();
        assert_eq!(
            (s.interface.as_str(), s.instance.as_str(), s.syncid),
            ("eth2", "VI_1", 0)
        );
        assert!(spec_from(&parse(VI)).is_none());
    }

    // Proves the decision: backup unless the followed instance is MASTER; other instances and
    // STOP do not make it master.
    #[test]
    fn wanted_mode() {
        let mut c = Controller::new(Arc::new(crate::seams::KernelIpvs::default()));
        c.spec = spec_from(&parse(&format!(
            "global_defs {{\n    lvs_sync_daemon eth1 VI_1\n}}\n{VI}"
        )));
        assert_eq!(c.wanted(), Some(DaemonState::Backup));
        c.states.insert("VI_2".into(), vrrp_runtime::State::Master);
        assert_eq!(c.wanted(), Some(DaemonState::Backup));
        c.states.insert("VI_1".into(), vrrp_runtime::State::Master);
        assert_eq!(c.wanted(), Some(DaemonState::Master));
        c.states.insert("VI_1".into(), vrrp_runtime::State::Fault);
        assert_eq!(c.wanted(), Some(DaemonState::Backup));
        c.spec = None;
        assert_eq!(c.wanted(), None);
    }
}
