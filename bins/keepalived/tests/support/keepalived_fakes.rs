//! `keepalived-fakes`: the `keepalived` binary with test fakes injected through
//! [`keepalived::seams::Seams`], for the daemon tests (built only for the tests: the
//! `test-fakes` feature, which the package's own dev-dependency turns on).
//!
//! Always: the checker worker and `lvs_sync_daemon` drive an in-memory IPVS table
//! (`lvs_director::SharedMemory`; this host has no IPVS, real IPVS is the vm_ tests' job).
//! Options, taken out of the command line wherever they are and given again to every copy of
//! the program it starts (workers, the detached daemon):
//!
//! * `--fake-placeholder-workers`: the workers only read their configuration and answer the
//!   shell (dumps, metrics, reload) without running anything: no network, no kernel. For tests
//!   of the process shell outside a network namespace of their own.
//! * `--fake-held-vips=IF:ADDR/LEN,...`: each worker reports these VIPs as held at start (the
//!   parent removes them when the worker dies).
//! * `--fake-ignore-term=KIND`: that worker ignores the shell's shutdown (the parent must KILL
//!   it after child_wait_time); it still leaves when its parent is gone.
//! * `--fake-worker-exit=KIND:MS:CODE`: that worker exits with CODE MS milliseconds after start.

use std::ffi::OsString;
use std::sync::Arc;
use std::time::Duration;

use keepalived::config::Loaded;
use keepalived::control::HeldVip;
use keepalived::metrics::{VrrpInstanceMetrics, VrrpStateMetric, WorkerMetrics};
use keepalived::seams::{Ipvs, Seams};
use keepalived::worker::{WorkerContext, WorkerEvent, WorkerFuture, WorkerKind};
use keepalived::{exit, info};
use tokio::sync::mpsc;

/// The in-memory IPVS table.
#[derive(Debug, Default)]
struct MemoryIpvs {
    table: lvs_director::SharedMemory,
}

impl Ipvs for MemoryIpvs {
    fn run_director(
        &self,
        config: lvs_director::SharedParsed,
        opts: lvs_director::DirectorOptions,
    ) -> Result<(), lvs_director::DirectorError> {
        lvs_director::run_with(config, opts, self.table.clone())
    }
    fn table(&self) -> Vec<(ipvs_nl::ServiceInfo, Vec<ipvs_nl::DestinationInfo>)> {
        Vec::new()
    }
    fn start_sync_daemon(&self, _daemon: &ipvs_nl::SyncDaemon) -> Result<(), ipvs_nl::Error> {
        Ok(())
    }
    fn stop_sync_daemon(&self, _state: ipvs_nl::DaemonState) -> Result<(), ipvs_nl::Error> {
        Ok(())
    }
}

#[derive(Debug, Default)]
struct Fakes {
    /// The fake options as given (passed on to every copy of the program).
    args: Vec<OsString>,
    placeholder: bool,
    held_vips: Vec<HeldVip>,
    ignore_term: Option<WorkerKind>,
    exit_after: Option<(WorkerKind, Duration, i32)>,
    ipvs: Arc<MemoryIpvs>,
}

impl Fakes {
    /// Takes the `--fake-*` options out of `args`.
    fn take(args: &mut Vec<OsString>) -> Result<Fakes, String> {
        let mut f = Fakes::default();
        let mut rest = Vec::with_capacity(args.len());
        for (i, a) in std::mem::take(args).into_iter().enumerate() {
            let s = a.to_string_lossy().into_owned();
            if i == 0 || !s.starts_with("--fake-") {
                rest.push(a);
                continue;
            }
            let (name, value) = s.split_once('=').unwrap_or((&s, ""));
            match name {
                "--fake-placeholder-workers" => f.placeholder = true,
                "--fake-held-vips" => {
                    f.held_vips = value.split(',').map(str::parse).collect::<Result<_, _>>()?;
                }
                "--fake-ignore-term" => f.ignore_term = Some(kind(value)?),
                "--fake-worker-exit" => {
                    let mut it = value.split(':');
                    let k = kind(it.next().unwrap_or_default())?;
                    let ms: u64 = num(it.next(), &s)?;
                    let code: i32 = num(it.next(), &s)?;
                    f.exit_after = Some((k, Duration::from_millis(ms), code));
                }
                _ => return Err(format!("unknown fake option {s}")),
            }
            f.args.push(a);
        }
        *args = rest;
        Ok(f)
    }
}

fn kind(s: &str) -> Result<WorkerKind, String> {
    WorkerKind::from_name(s).ok_or_else(|| format!("unknown worker kind '{s}'"))
}

fn num<T: std::str::FromStr>(s: Option<&str>, opt: &str) -> Result<T, String> {
    s.and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("bad {opt} (want KIND:MS:CODE)"))
}

impl Seams for Fakes {
    fn command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(keepalived::supervisor::self_exe());
        cmd.args(&self.args);
        cmd
    }

    fn worker_main(&self, mut ctx: WorkerContext) -> WorkerFuture {
        let kind = ctx.kind;
        if !self.held_vips.is_empty() {
            ctx.link.held_vips(self.held_vips.clone());
        }
        let ignore_term = self.ignore_term == Some(kind);
        let exit_after = self
            .exit_after
            .filter(|(k, _, _)| *k == kind)
            .map(|(_, d, c)| (d, c));
        if !ignore_term && exit_after.is_none() {
            return self.inner_main(ctx);
        }
        // Between the shell and the main: drop its shutdown, or exit early.
        let (tx, rx) = mpsc::channel(16);
        let mut outer = std::mem::replace(&mut ctx.events, rx);
        let inner = self.inner_main(ctx);
        Box::pin(async move {
            let mut inner = tokio::spawn(inner);
            let parent = nix::unistd::getppid();
            let exit_sleep = async {
                match exit_after {
                    Some((d, _)) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::pin!(exit_sleep);
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            let mut tx = Some(tx);
            loop {
                tokio::select! {
                    r = &mut inner => return r.unwrap_or(exit::PROGRAM_ERROR),
                    _ = &mut exit_sleep => {
                        let code = exit_after.map(|e| e.1).unwrap_or(0);
                        info!("fake: {} worker exiting with status {code}", kind.name());
                        std::process::exit(code);
                    }
                    _ = tick.tick() => if nix::unistd::getppid() != parent {
                        std::process::exit(exit::OK);
                    },
                    ev = outer.recv() => match ev {
                        Some(WorkerEvent::Shutdown) if ignore_term => {
                            info!("fake: {} worker ignoring SIGTERM", kind.name());
                        }
                        Some(ev) => {
                            if let Some(t) = &tx {
                                let _ = t.send(ev).await;
                            }
                        }
                        None => tx = None,
                    },
                }
            }
        })
    }

    fn ipvs(&self) -> Arc<dyn Ipvs> {
        self.ipvs.clone()
    }
}

impl Fakes {
    fn inner_main(&self, ctx: WorkerContext) -> WorkerFuture {
        if self.placeholder {
            Box::pin(placeholder_main(ctx))
        } else {
            keepalived::worker::worker_main_for(ctx.kind)(ctx)
        }
    }
}

fn placeholder_metrics(kind: WorkerKind, cfg: &Loaded) -> WorkerMetrics {
    if kind != WorkerKind::Vrrp {
        return WorkerMetrics::default();
    }
    WorkerMetrics {
        vrrp_instances: cfg
            .config()
            .vrrp_instances
            .iter()
            .map(|v| VrrpInstanceMetrics {
                name: v.name.clone(),
                interface: v.interface.clone().unwrap_or_default(),
                vrid: v.virtual_router_id.unwrap_or(0),
                state: VrrpStateMetric::Init,
                priority: v.priority,
                effective_priority: v.priority,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// A worker that only holds its configuration and answers the shell.
async fn placeholder_main(mut ctx: WorkerContext) -> i32 {
    let what = match ctx.kind {
        WorkerKind::Vrrp => format!(
            "fake VRRP worker (no VRRP runtime): {} vrrp_instance(s) configured ({}), none run; idling until TERM",
            ctx.config.vrrp_names().len(),
            ctx.config.vrrp_names().join(", ")
        ),
        WorkerKind::Checker => format!(
            "fake checker worker (no checker runtime): {} virtual_server(s) configured ({}), none checked; idling until TERM",
            ctx.config.virtual_server_names().len(),
            ctx.config.virtual_server_names().join(", ")
        ),
        WorkerKind::Bfd => format!(
            "fake BFD worker (no BFD runtime): {} bfd_instance(s) configured, none run; idling until TERM",
            ctx.config.config().bfd_instances.len()
        ),
    };
    info!("{what}");
    ctx.link.ready();
    let mut cfg = ctx.config.clone();
    while let Some(ev) = ctx.events.recv().await {
        match ev {
            WorkerEvent::Reload { config, done } => {
                info!("Reload: configuration re-read (fake worker: nothing to apply)");
                cfg = config;
                let _ = done.send(Ok(()));
            }
            WorkerEvent::DumpData { reply } => {
                let mut s = format!(
                    "------< {} worker (fake: configuration only) >------\n",
                    ctx.kind.title()
                );
                for n in cfg.vrrp_names() {
                    s.push_str(&format!(" VRRP Instance = {n} (not running)\n"));
                }
                for n in cfg.virtual_server_names() {
                    s.push_str(&format!(" Virtual Server = {n} (not checked)\n"));
                }
                let _ = reply.send(s);
            }
            WorkerEvent::DumpStats { reply } => {
                let mut s = String::new();
                for n in cfg.vrrp_names() {
                    s.push_str(&format!(
                        "VRRP Instance: {n}\n  (not running: no statistics)\n"
                    ));
                }
                let _ = reply.send(s);
            }
            WorkerEvent::DumpJson { reply } => {
                let v: Vec<serde_json::Value> = cfg
                    .vrrp_names()
                    .into_iter()
                    .map(|n| serde_json::json!({"data": {"iname": n}, "stats": {}, "running": false}))
                    .collect();
                let _ = reply.send(serde_json::Value::Array(v));
            }
            WorkerEvent::ClearStats => {}
            WorkerEvent::Metrics { reply } => {
                let _ = reply.send(placeholder_metrics(ctx.kind, &cfg));
            }
            WorkerEvent::Shutdown => break,
            _ => {}
        }
    }
    exit::OK
}

fn main() {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    let fakes = match Fakes::take(&mut args) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("keepalived-fakes: {e}");
            std::process::exit(exit::FATAL);
        }
    };
    let code = keepalived::real_main_with(args, Arc::new(fakes));
    let _ = std::io::Write::flush(&mut std::io::stdout());
    std::process::exit(code);
}
