//! The parent <-> worker control channel: a unix stream socketpair whose worker end is the
//! worker's stdin, carrying one JSON message per line. Signals stay the primary interface
//! (HUP/USR1/USR2 are forwarded as signals, as keepalived does, so `kill -USR1 <vrrp pid>`
//! keeps working); the channel carries what signals cannot: readiness, reload results, the
//! VIPs the VRRP worker holds, metrics snapshots, and the real-time-signal requests.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::metrics::WorkerMetrics;

/// A virtual address a VRRP worker has configured (reported so the parent can remove it at
/// once if the worker dies).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HeldVip {
    /// Interface name.
    pub ifname: String,
    /// Address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
}

impl std::fmt::Display for HeldVip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} dev {}", self.addr, self.prefix_len, self.ifname)
    }
}

impl std::str::FromStr for HeldVip {
    type Err = String;
    /// `IFNAME:ADDR/PLEN` (the syntax of the test fakes' `--fake-held-vips`).
    fn from_str(s: &str) -> Result<Self, String> {
        let (ifname, rest) = s.split_once(':').ok_or_else(|| format!("bad vip {s}"))?;
        let (a, p) = rest.split_once('/').ok_or_else(|| format!("bad vip {s}"))?;
        Ok(HeldVip {
            ifname: ifname.to_string(),
            addr: a.parse().map_err(|_| format!("bad address in {s}"))?,
            prefix_len: p.parse().map_err(|_| format!("bad prefix in {s}"))?,
        })
    }
}

/// Parent -> worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToWorker {
    /// Send a metrics snapshot tagged `id`.
    MetricsRequest {
        /// Request id.
        id: u64,
    },
    /// Write the JSON dump (keepalived's SIGJSON).
    DumpJson,
    /// Clear statistics (keepalived's SIGSTATS_CLEAR).
    ClearStats,
    /// The BFD sessions' states for this worker (by `bfd_instance` name, true: Up), relayed
    /// from the BFD worker (keepalived's BFD event pipes).
    BfdStates {
        /// Every session reported so far.
        states: std::collections::BTreeMap<String, bool>,
    },
    /// A reload is starting (the parent got SIGHUP and now reads the file): read the file now,
    /// while the parent reads and checks it, and keep the result for the SIGHUP that follows
    /// if the parent accepts it. Without this message (or when the file changed since) the
    /// worker reads the file at the SIGHUP.
    PrepareReload,
}

/// Worker -> parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToParent {
    /// Configuration read, running (keepalived's config-read eventfd).
    Ready,
    /// A reload finished.
    Reloaded {
        /// Applied.
        ok: bool,
        /// Why not.
        #[serde(default)]
        error: Option<String>,
    },
    /// The complete set of VIPs the worker holds now (replaces the previous set).
    HeldVips {
        /// Addresses.
        vips: Vec<HeldVip>,
    },
    /// BFD worker: a session entered Up or left it (keepalived's `bfd_event_send`).
    Bfd {
        /// `bfd_instance` name.
        name: String,
        /// Up?
        up: bool,
        /// For the VRRP worker.
        vrrp: bool,
        /// For the checker worker.
        checker: bool,
    },
    /// Answer to `MetricsRequest`.
    Metrics {
        /// Request id.
        id: u64,
        /// Snapshot.
        metrics: WorkerMetrics,
    },
}

/// Encode one message as a line.
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    let mut v = serde_json::to_vec(msg).unwrap_or_default();
    v.push(b'\n');
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves messages survive the line encoding and the test-hook VIP syntax parses.
    #[test]
    fn roundtrip() {
        let m = ToParent::HeldVips {
            vips: vec!["eth0:10.0.0.100/24".parse().unwrap()],
        };
        let line = encode(&m);
        assert_eq!(line.last(), Some(&b'\n'));
        let back: ToParent = serde_json::from_slice(&line[..line.len() - 1]).unwrap();
        assert_eq!(back, m);
        assert!("eth0-10.0.0.1/24".parse::<HeldVip>().is_err());
    }
}
