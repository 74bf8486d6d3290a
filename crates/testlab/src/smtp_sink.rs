//! A tiny SMTP sink for lab tests: a Python 3 script (standard library only) run inside a lab
//! namespace that answers 220/250/354/221 and records the client's lines to a file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::netns::{wait_until, Host, LabError, Proc};

/// The script (see `smtp_sink.py`).
pub const SCRIPT: &str = include_str!("smtp_sink.py");

/// A running sink.
pub struct SmtpSink {
    /// The python process.
    pub proc: Proc,
    /// Where the dialogue is recorded.
    pub log: PathBuf,
}

impl SmtpSink {
    /// Start the sink on `host`, listening on `addr:port` (an address of that namespace),
    /// with its script and log in `dir`; returns once it listens.
    pub fn start(host: &Host, dir: &Path, addr: &str, port: u16) -> Result<SmtpSink, LabError> {
        let script = dir.join("smtp_sink.py");
        std::fs::write(&script, SCRIPT).map_err(|source| LabError::Io {
            op: "write",
            path: script.clone(),
            source,
        })?;
        let log = dir.join(format!("smtp-{}-{port}.log", host.name()));
        let port_s = port.to_string();
        let proc = host.spawn(&[
            "python3",
            script.to_str().unwrap_or(""),
            addr,
            &port_s,
            log.to_str().unwrap_or(""),
        ])?;
        wait_until(Duration::from_secs(5), || {
            std::fs::read_to_string(&log).is_ok_and(|s| s.contains("--- listening ---"))
        })?;
        Ok(SmtpSink { proc, log })
    }

    /// Everything recorded so far.
    pub fn transcript(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The completed sessions: the client lines of each connection that ended.
    pub fn sessions(&self) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        let mut cur = Vec::new();
        for l in self.transcript().lines() {
            match l {
                "--- listening ---" => {}
                "--- closed ---" => out.push(std::mem::take(&mut cur)),
                _ => cur.push(l.to_string()),
            }
        }
        out
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.proc.kill();
    }
}
