//! The BFD worker main (keepalived's BFD child process): runs [`crate::bfd_runtime`] on a
//! thread of its own and maps the shell's [`WorkerEvent`]s onto it.
//!
//! * **Start**: the `bfd_instance`s become sessions (Down, idle TX 1 s); sockets on UDP
//!   3784/4784 per family in use. A socket that cannot be opened is fatal (as keepalived's BFD
//!   process exits when it cannot bind).
//! * **Events**: a session entering Up or leaving Up goes to the parent
//!   ([`crate::worker::ParentLink::bfd_event`]), which relays the states to the VRRP worker
//!   (`track_bfd`) and the checker worker (`BFD_CHECK`) per the instance's `vrrp`/`checker`.
//! * **Reload**: sessions kept by name (intervals changed by a Poll Sequence).
//! * **Shutdown**: AdminDown to every peer, then exit.
//! * **Dumps/metrics**: per session state, discriminators, agreed intervals, counters.

use std::time::Duration;

use tokio::sync::oneshot;

use crate::bfd_runtime::{self, diag_name, state_name, Command, GlobalRx, SessionStatus};
use crate::metrics::{BfdSessionMetrics, WorkerMetrics};
use crate::worker::{WorkerContext, WorkerEvent};
use crate::{error, exit, info};

/// Metrics for one session.
pub fn session_metrics(s: &SessionStatus) -> BfdSessionMetrics {
    BfdSessionMetrics {
        name: s.name.clone(),
        neighbor: s.neighbor.to_string(),
        state: state_name(s.state).to_ascii_lowercase(),
        remote_state: state_name(s.remote_state).to_ascii_lowercase(),
        diag: s.diag.bits(),
        local_discriminator: s.local_discriminator,
        remote_discriminator: s.remote_discriminator,
        tx_interval_us: s.tx_interval.map_or(0, |d| d.as_micros() as u64),
        detection_time_us: s.detection_time.map_or(0, |d| d.as_micros() as u64),
        state_changes: s.counters.state_changes,
        ups: s.counters.up,
        detection_timeouts: s.counters.detect_timeouts,
        neighbor_downs: s.counters.neighbor_down,
        tx_packets: s.counters.tx_packets,
        rx_packets: s.counters.rx.accepted,
        rx_refused: s.counters.rx.rejected_total(),
    }
}

/// keepalived-style text dump (`keepalived_bfd.data`).
pub fn dump(sessions: &[SessionStatus], g: &GlobalRx) -> String {
    let mut s = String::from("------< BFD Topology >------\n");
    for x in sessions {
        s.push_str(&format!(" BFD Instance = {}\n", x.name));
        s.push_str(&format!("   Neighbor IP = {}\n", x.neighbor));
        s.push_str(&format!(
            "   State = {}, remote state = {}\n",
            state_name(x.state),
            state_name(x.remote_state)
        ));
        s.push_str(&format!("   Local diagnostic = {}\n", diag_name(x.diag)));
        s.push_str(&format!(
            "   Local discriminator = 0x{:08x}, remote discriminator = 0x{:08x}\n",
            x.local_discriminator, x.remote_discriminator
        ));
        let ms = |d: Option<Duration>| {
            d.map_or_else(
                || "-".to_string(),
                |d| format!("{} ms", d.as_micros() as f64 / 1000.0),
            )
        };
        s.push_str(&format!(
            "   TX interval = {}, detection time = {}\n",
            ms(x.tx_interval),
            ms(x.detection_time)
        ));
        let c = &x.counters;
        s.push_str(&format!(
            "   State changes = {}, Ups = {}, detection timeouts = {}, neighbor downs = {}\n",
            c.state_changes, c.up, c.detect_timeouts, c.neighbor_down
        ));
        s.push_str(&format!(
            "   TX packets = {}, RX accepted = {}, RX refused = {}\n",
            c.tx_packets,
            c.rx.accepted,
            c.rx.rejected_total()
        ));
        for (k, v) in &c.rx.rejected {
            s.push_str(&format!("     refused {k} = {v}\n"));
        }
    }
    s.push_str(&format!(
        " Refused before a session: no session {}, wrong source {}\n",
        g.no_session, g.wrong_source
    ));
    for (k, v) in &g.invalid {
        s.push_str(&format!("   invalid {k} = {v}\n"));
    }
    s
}

async fn status(h: &bfd_runtime::Handle) -> Option<(Vec<SessionStatus>, GlobalRx)> {
    let (tx, rx) = std::sync::mpsc::channel();
    if !h.send(Command::Status(tx)) {
        return None;
    }
    tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(2)).ok())
        .await
        .ok()
        .flatten()
}

/// The BFD worker main (see the module doc).
pub async fn main(mut ctx: WorkerContext) -> i32 {
    crate::log::install();
    let specs = bfd_runtime::specs(ctx.config.config());
    let link = ctx.link.clone();
    let (h, thread) = match bfd_runtime::spawn(
        specs.clone(),
        Box::new(move |e| link.bfd_event(e.name, e.up, e.to_vrrp, e.to_checker)),
    ) {
        Ok(x) => x,
        Err(e) => {
            error!("{e}");
            return exit::FATAL;
        }
    };
    info!(
        "BFD runtime started: {} bfd_instance(s) ({})",
        specs.len(),
        specs
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    ctx.link.ready();
    let (done_tx, mut done_rx) = oneshot::channel();
    std::thread::spawn(move || {
        let r = thread.join();
        let _ = done_tx.send(r);
    });
    let finished = |r: Result<std::thread::Result<Result<(), bfd_runtime::BfdError>>, _>| match r {
        Ok(Ok(Ok(()))) => exit::OK,
        Ok(Ok(Err(e))) => {
            error!("{e}");
            exit::FATAL
        }
        _ => exit::PROGRAM_ERROR,
    };
    loop {
        tokio::select! {
            r = &mut done_rx => return finished(r),
            ev = ctx.events.recv() => match ev {
                None | Some(WorkerEvent::Shutdown) => {
                    info!("Stopping BFD runtime");
                    h.send(Command::Shutdown);
                    return finished(done_rx.await);
                }
                Some(WorkerEvent::Reload { config, done }) => {
                    let specs = bfd_runtime::specs(config.config());
                    let (tx, rx) = std::sync::mpsc::channel();
                    let r = if h.send(Command::Reload(specs, tx)) {
                        tokio::task::spawn_blocking(move || {
                            rx.recv_timeout(Duration::from_secs(5))
                                .unwrap_or_else(|_| Err("BFD runtime did not answer".into()))
                        })
                        .await
                        .unwrap_or_else(|e| Err(e.to_string()))
                    } else {
                        Err("BFD runtime is gone".into())
                    };
                    let _ = done.send(r);
                }
                Some(WorkerEvent::DumpData { reply }) | Some(WorkerEvent::DumpStats { reply }) => {
                    let text = status(&h).await.map(|(s, g)| dump(&s, &g)).unwrap_or_default();
                    let _ = reply.send(text);
                }
                Some(WorkerEvent::DumpJson { reply }) => {
                    let v: Vec<serde_json::Value> = status(&h)
                        .await
                        .map(|(s, _)| s)
                        .unwrap_or_default()
                        .iter()
                        .map(|s| serde_json::to_value(session_metrics(s)).unwrap_or_default())
                        .collect();
                    let _ = reply.send(serde_json::Value::Array(v));
                }
                Some(WorkerEvent::ClearStats) => {}
                Some(WorkerEvent::Metrics { reply }) => {
                    let m = WorkerMetrics {
                        bfd_sessions: status(&h)
                            .await
                            .map(|(s, _)| s.iter().map(session_metrics).collect())
                            .unwrap_or_default(),
                        ..Default::default()
                    };
                    let _ = reply.send(m);
                }
            }
        }
    }
}
