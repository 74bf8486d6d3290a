//! What a test may replace in a keepalived process, as traits (the way `lvs-director`'s
//! `Kernel` trait takes an in-memory IPVS table): how the program runs itself again for a worker
//! or the detached daemon ([`Seams::command`]), which main a worker runs
//! ([`Seams::worker_main`]) and the IPVS the checker worker and `lvs_sync_daemon` drive
//! ([`Ipvs`]).
//!
//! The `keepalived` binary runs [`real_main`](crate::real_main) with [`Real`]: itself, the
//! runtimes, the kernel's IPVS. The test binary `keepalived-fakes`
//! (`tests/support/keepalived_fakes.rs`, built only for the tests) passes its own [`Seams`]
//! to [`real_main_with`](crate::real_main_with): an in-memory IPVS table, and on request
//! configuration-only workers (tests of the process shell outside a network namespace),
//! workers that ignore TERM, exit early or report VIPs. Nothing in the production binary reads
//! a test switch.

use std::sync::{Arc, Mutex};

use ipvs_nl::{DaemonState, DestinationInfo, ServiceInfo, SyncDaemon};
use lvs_director::{DirectorError, DirectorOptions};

use crate::worker::{WorkerContext, WorkerFuture};

/// The IPVS side of the checker worker and of `lvs_sync_daemon`.
pub trait Ipvs: Send + Sync + std::fmt::Debug {
    /// Runs the LVS director on this IPVS until it stops (blocking: the checker worker calls
    /// it on a thread of its own).
    fn run_director(
        &self,
        config: lvs_director::SharedParsed,
        opts: DirectorOptions,
    ) -> Result<(), DirectorError>;
    /// The table with its counters (metrics, status page); empty when there is none.
    fn table(&self) -> Vec<(ServiceInfo, Vec<DestinationInfo>)>;
    /// Starts a connection-synchronisation daemon.
    fn start_sync_daemon(&self, daemon: &SyncDaemon) -> Result<(), ipvs_nl::Error>;
    /// Stops the synchronisation daemon of `state`.
    fn stop_sync_daemon(&self, state: DaemonState) -> Result<(), ipvs_nl::Error>;
    /// `net_namespace_ipvs`: the namespace whose IPVS [`Ipvs::table`] and the sync-daemon
    /// commands use (`Some("")`: the default namespace); set once at the worker's start (it
    /// cannot change at a reload). The director reads it from its configuration.
    fn set_namespace(&self, _ns: Option<String>) {}
}

/// The kernel's IPVS of the current network namespace (through ipvs-nl).
#[derive(Debug, Default)]
pub struct KernelIpvs {
    /// The socket the sync-daemon commands use, opened at the first one.
    sync: Mutex<Option<ipvs_nl::Handle>>,
    /// `net_namespace_ipvs`, if configured.
    ns: Mutex<Option<String>>,
}

impl KernelIpvs {
    fn with_sync<T>(
        &self,
        f: impl FnOnce(&mut ipvs_nl::Handle) -> Result<T, ipvs_nl::Error>,
    ) -> Result<T, ipvs_nl::Error> {
        let mut guard = self.sync.lock().unwrap_or_else(|p| p.into_inner());
        let mut h = match guard.take() {
            Some(h) => h,
            None => ipvs_nl::Handle::for_keepalived_namespace(self.namespace().as_deref())?,
        };
        let r = f(&mut h);
        *guard = Some(h);
        r
    }

    fn namespace(&self) -> Option<String> {
        self.ns.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Ipvs for KernelIpvs {
    fn run_director(
        &self,
        config: lvs_director::SharedParsed,
        opts: DirectorOptions,
    ) -> Result<(), DirectorError> {
        lvs_director::run(config, opts)
    }
    fn table(&self) -> Vec<(ServiceInfo, Vec<DestinationInfo>)> {
        ipvs_nl::Handle::for_keepalived_namespace(self.namespace().as_deref())
            .and_then(|mut h| h.table())
            .unwrap_or_default()
    }
    fn start_sync_daemon(&self, daemon: &SyncDaemon) -> Result<(), ipvs_nl::Error> {
        self.with_sync(|h| h.start_daemon(daemon))
    }
    fn stop_sync_daemon(&self, state: DaemonState) -> Result<(), ipvs_nl::Error> {
        self.with_sync(|h| h.stop_daemon(state))
    }
    fn set_namespace(&self, ns: Option<String>) {
        *self.ns.lock().unwrap_or_else(|p| p.into_inner()) = ns;
    }
}

/// The parts of a keepalived process a test may replace. Every method has the production
/// behaviour as its default ([`Real`] overrides nothing).
pub trait Seams: Send + Sync {
    /// The command that runs this program again (a worker, the detached daemon); the caller
    /// adds `argv[0]` and the arguments.
    fn command(&self) -> std::process::Command {
        std::process::Command::new(crate::supervisor::self_exe())
    }
    /// The main a worker of `ctx.kind` runs.
    fn worker_main(&self, ctx: WorkerContext) -> WorkerFuture {
        crate::worker::worker_main_for(ctx.kind)(ctx)
    }
    /// The IPVS the checker worker and `lvs_sync_daemon` drive.
    fn ipvs(&self) -> Arc<dyn Ipvs> {
        Arc::new(KernelIpvs::default())
    }
}

/// The production process: this binary, the runtimes, the kernel's IPVS.
#[derive(Debug, Default, Clone, Copy)]
pub struct Real;

impl Seams for Real {}
