//! The signal set the parent and the workers both listen to (TERM, INT, HUP, USR1, USR2, and
//! keepalived's JSON-dump and stats-clear real-time signals).

use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::cli;

/// Handlers for every signal the daemon acts on; a handler that could not be installed is
/// `None` and never fires.
pub struct DaemonSignals {
    pub term: Option<Signal>,
    pub int: Option<Signal>,
    pub hup: Option<Signal>,
    pub usr1: Option<Signal>,
    pub usr2: Option<Signal>,
    pub json: Option<Signal>,
    pub clear: Option<Signal>,
}

impl DaemonSignals {
    /// Installs the handlers (inside a tokio runtime).
    pub fn install() -> Self {
        let sig = |k: SignalKind| signal(k).ok();
        DaemonSignals {
            term: sig(SignalKind::terminate()),
            int: sig(SignalKind::interrupt()),
            hup: sig(SignalKind::hangup()),
            usr1: sig(SignalKind::user_defined1()),
            usr2: sig(SignalKind::user_defined2()),
            json: sig(SignalKind::from_raw(cli::sig_json())),
            clear: sig(SignalKind::from_raw(cli::sig_stats_clear())),
        }
    }
}

/// Waits for the next delivery of `s`; pending forever when it has no handler.
pub async fn recv(s: &mut Option<Signal>) {
    match s {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}
