//! Headless Chromium driven over the Chrome DevTools Protocol, for tests of web pages served
//! inside a lab namespace.
//!
//! Chromium (Debian `chromium`) runs inside a [`Host`]'s namespace (so its traffic stays there),
//! as root with `--no-sandbox`, a fresh profile in the lab directory, and
//! `--remote-debugging-pipe`: commands go to its fd 3 and answers/events come from its fd 4,
//! one JSON message per NUL-terminated record. The two descriptors are named pipes the shell
//! that execs chromium redirects (`3<IN 4>OUT`), so no WebSocket and no `unsafe` are needed.
//! Everything the page logs is kept: [`Page::errors`] lists console errors, uncaught
//! exceptions and browser-reported problems (Content-Security-Policy violations among them).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::netns::{Host, Proc};

/// Errors of the browser session.
#[derive(Debug, thiserror::Error)]
pub enum CdpError {
    /// Setting up the pipes or starting chromium failed.
    #[error("starting chromium: {0}")]
    Start(String),
    /// No answer in time.
    #[error("chromium did not answer {method} within {timeout:?} (its stderr: {stderr})")]
    Timeout {
        /// Command.
        method: String,
        /// Limit.
        timeout: Duration,
        /// What chromium printed.
        stderr: String,
    },
    /// An error answer.
    #[error("{method}: {error}")]
    Protocol {
        /// Command.
        method: String,
        /// The error object.
        error: String,
    },
}

type Result<T> = std::result::Result<T, CdpError>;

/// Flags for a quiet, self-contained headless browser (no first-run, sync, component updates,
/// background networking or extensions: nothing but the page's own requests).
pub const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--metrics-recording-only",
    "--password-store=basic",
    "--remote-debugging-pipe",
];

/// A running headless chromium.
pub struct Browser {
    proc: Proc,
    tx: File,
    rx: Receiver<Value>,
    next_id: u64,
    /// Events received so far and not yet consumed (method, params, session).
    events: Vec<Value>,
    /// Time allowed for one command.
    pub timeout: Duration,
}

impl Browser {
    /// Starts chromium in `host`'s namespace with its profile and pipes under `dir`.
    pub fn start(host: &Host, dir: &Path) -> Result<Browser> {
        let start = |e: String| CdpError::Start(e);
        std::fs::create_dir_all(dir).map_err(|e| start(format!("{}: {e}", dir.display())))?;
        let to_chrome = dir.join("cdp-in");
        let from_chrome = dir.join("cdp-out");
        for p in [&to_chrome, &from_chrome] {
            let _ = std::fs::remove_file(p);
            nix::unistd::mkfifo(p, nix::sys::stat::Mode::from_bits_truncate(0o600))
                .map_err(|e| start(format!("mkfifo {}: {e}", p.display())))?;
        }
        // Read-write opens of a FIFO never block: ours are ready before chromium's shell
        // opens its ends.
        let open = |p: &PathBuf| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .open(p)
                .map_err(|e| start(format!("open {}: {e}", p.display())))
        };
        let tx = open(&to_chrome)?;
        let out = open(&from_chrome)?;
        let profile = dir.join("profile");
        // HOME and the XDG directories in `dir` too: nothing is written outside it (the VM's
        // root is read-only).
        let mut script = format!(
            "HOME='{d}' XDG_CONFIG_HOME='{d}/config' XDG_CACHE_HOME='{d}/cache' exec chromium",
            d = dir.display()
        );
        for f in FLAGS {
            script.push(' ');
            script.push_str(f);
        }
        script.push_str(&format!(
            " --user-data-dir='{}' about:blank 3<'{}' 4>'{}'",
            profile.display(),
            to_chrome.display(),
            from_chrome.display()
        ));
        let proc = host
            .spawn_sh(&script)
            .map_err(|e| start(format!("{script}: {e}")))?;
        let (send, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(out);
            loop {
                let mut buf = Vec::new();
                match r.read_until(0, &mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if buf.last() == Some(&0) {
                            buf.pop();
                        }
                        if let Ok(v) = serde_json::from_slice::<Value>(&buf) {
                            if send.send(v).is_err() {
                                return;
                            }
                        }
                    }
                }
            }
        });
        Ok(Browser {
            proc,
            tx,
            rx,
            next_id: 0,
            events: Vec::new(),
            timeout: Duration::from_secs(60),
        })
    }

    /// What chromium printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.proc.stderr_so_far()
    }

    /// Sends `method` (to `session` if given) and waits for its answer's `result`.
    pub fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap_or_default();
        bytes.push(0);
        self.tx
            .write_all(&bytes)
            .map_err(|e| CdpError::Start(format!("write to chromium: {e}")))?;
        let deadline = Instant::now() + self.timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(v) if v.get("id").and_then(Value::as_u64) == Some(id) => {
                    if let Some(e) = v.get("error") {
                        return Err(CdpError::Protocol {
                            method: method.into(),
                            error: e.to_string(),
                        });
                    }
                    return Ok(v.get("result").cloned().unwrap_or(Value::Null));
                }
                Ok(v) => {
                    if v.get("method").is_some() {
                        self.events.push(v);
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    return Err(CdpError::Timeout {
                        method: method.into(),
                        timeout: self.timeout,
                        stderr: self.stderr(),
                    })
                }
            }
        }
    }

    /// Collects the events that arrived without waiting.
    fn drain(&mut self) {
        while let Ok(v) = self.rx.try_recv() {
            if v.get("method").is_some() {
                self.events.push(v);
            }
        }
    }

    /// Opens a new tab on `about:blank` with the runtime, log and page domains on (so nothing
    /// the page logs from its first request on is missed), `width` × `height` CSS pixels.
    pub fn new_page(&mut self, width: u32, height: u32) -> Result<Page<'_>> {
        let t = self.call(None, "Target.createTarget", json!({"url": "about:blank"}))?;
        let target = t["targetId"].as_str().unwrap_or_default().to_string();
        let a = self.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
        )?;
        let session = a["sessionId"].as_str().unwrap_or_default().to_string();
        for m in ["Runtime.enable", "Log.enable", "Page.enable"] {
            self.call(Some(&session), m, json!({}))?;
        }
        self.call(
            Some(&session),
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        )?;
        Ok(Page {
            browser: self,
            session,
        })
    }
}

/// One tab.
pub struct Page<'a> {
    browser: &'a mut Browser,
    session: String,
}

impl Page<'_> {
    /// Sends `method` to this tab.
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        let s = self.session.clone();
        self.browser.call(Some(&s), method, params)
    }

    /// Loads `url` and waits for its load event.
    pub fn navigate(&mut self, url: &str) -> Result<()> {
        self.call("Page.navigate", json!({"url": url}))?;
        let deadline = Instant::now() + self.browser.timeout;
        loop {
            self.browser.drain();
            if self.browser.events.iter().any(|e| {
                e["method"] == "Page.loadEventFired" && e["sessionId"] == self.session.as_str()
            }) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(CdpError::Timeout {
                    method: "Page.loadEventFired".into(),
                    timeout: self.browser.timeout,
                    stderr: self.browser.stderr(),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Evaluates `expr` in the page and returns its value (JSON). An exception is an error.
    pub fn eval(&mut self, expr: &str) -> Result<Value> {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        )?;
        if let Some(ex) = r.get("exceptionDetails") {
            return Err(CdpError::Protocol {
                method: format!("Runtime.evaluate({expr})"),
                error: ex.to_string(),
            });
        }
        Ok(r["result"]["value"].clone())
    }

    /// Every error the page or the browser reported for it so far: console errors and
    /// warnings' errors (`console.error`), uncaught exceptions, and `Log` entries of level
    /// error (network failures, Content-Security-Policy violations...).
    pub fn errors(&mut self) -> Vec<String> {
        self.browser.drain();
        let mut out = Vec::new();
        for e in &self.browser.events {
            if e["sessionId"] != self.session.as_str() {
                continue;
            }
            let p = &e["params"];
            match e["method"].as_str().unwrap_or("") {
                "Runtime.exceptionThrown" => out.push(format!(
                    "exception: {}",
                    p["exceptionDetails"]["exception"]["description"]
                        .as_str()
                        .or(p["exceptionDetails"]["text"].as_str())
                        .unwrap_or("?")
                )),
                "Runtime.consoleAPICalled" if p["type"] == "error" || p["type"] == "assert" => {
                    out.push(format!("console.{}: {}", p["type"], p["args"]))
                }
                "Log.entryAdded" if p["entry"]["level"] == "error" => out.push(format!(
                    "{}: {}",
                    p["entry"]["source"].as_str().unwrap_or("log"),
                    p["entry"]["text"].as_str().unwrap_or("")
                )),
                _ => {}
            }
        }
        out
    }

    /// A PNG screenshot of the viewport, written to `path`.
    pub fn screenshot(&mut self, path: &Path) -> Result<()> {
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}))?;
        let png = base64_decode(r["data"].as_str().unwrap_or(""));
        if let Some(d) = path.parent() {
            let _ = std::fs::create_dir_all(d);
        }
        std::fs::write(path, png).map_err(|e| CdpError::Start(format!("{}: {e}", path.display())))
    }
}

/// Standard base64 (padding and unknown characters skipped).
pub fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    // Proves the base64 decoder on RFC 4648's test vectors.
    #[test]
    fn base64_vectors() {
        for (enc, dec) in [
            ("", ""),
            ("Zg==", "f"),
            ("Zm8=", "fo"),
            ("Zm9v", "foo"),
            ("Zm9vYg==", "foob"),
            ("Zm9vYmE=", "fooba"),
            ("Zm9vYmFy", "foobar"),
        ] {
            assert_eq!(super::base64_decode(enc), dec.as_bytes());
        }
    }
}
