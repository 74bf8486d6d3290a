//! keepalived's `smtp_alert` e-mail notifications, shared by the VRRP runtime and the LVS
//! director.
//!
//! What keepalived 2.2.7 does, and this crate with it:
//!
//! The crate reads no configuration: callers fill a [`MailDefs`] from their `global_defs`.
//!
//! * **When mail is on** (`vrrp.c` / `check_data.c`): a `vrrp_instance`/`vrrp_sync_group`
//!   `smtp_alert` wins; otherwise `global_defs smtp_alert_vrrp`, then `smtp_alert`, else **off**
//!   ([`vrrp_enabled`]). A `virtual_server` likewise with `smtp_alert_checker`, then
//!   `smtp_alert`, else **off** ([`checker_vs_enabled`]); a `real_server` the same but **on**
//!   when nothing is set ([`checker_rs_enabled`], kept by keepalived "for backwards
//!   compatibility"). Nothing is sent without `smtp_server` and at least one
//!   `notification_email` (`smtp.c: smtp_alert`).
//! * **Settings** (`global_data.c`, `global_parser.c`): `smtp_server ADDR [PORT]` (port 25),
//!   `smtp_helo_name` (default: the local host name, else `localhost`),
//!   `notification_email_from` (default `<user>@<local host name>`), `smtp_connect_timeout`
//!   (default 30 s, 0 means 1 s; it bounds the connection and every reply, as keepalived's
//!   `smtp_connection_to`), `router_id` (default: the local host name) in the subject.
//! * **Dialogue** (`smtp.c`, `smtp.h`): greeting 220, `HELO name` 250, `MAIL FROM:<from>` 250,
//!   `RCPT TO:<addr>` 250 for each recipient, `DATA` 354, the message ending `\r\n.\r\n` 250,
//!   `QUIT` 221. A wrong code logs `Error processing <CMD> cmd on SMTP server [addr]:port.
//!   SMTP status code = N` and QUITs. See [`send`].
//! * **Message** ([`Alert::message`]): headers `Date`, `From`, `Subject`, `X-Mailer:
//!   Keepalived`, `To` (the recipients joined by `, `), a blank line, the body; subjects such as
//!   `[router_id] VRRP Instance VI_1 - Entering MASTER state` ([`Alert::vrrp_instance`] etc.).
//!
//! Sending is a spawned task ([`spawn`]): it never blocks the caller and logs (through the
//! `log` facade, at keepalived's `LOG_INFO`) the success or the failure with the server and the
//! reason. Replies are read with SMTP_CHECK's parser ([`healthcheck::smtp::parse_reply_line`]).

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use healthcheck::smtp::parse_reply_line;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// keepalived's `MAX_HEADERS_LENGTH` (the subject buffer, NUL included).
const MAX_SUBJECT: usize = 255;
/// keepalived's `MAX_BODY_LENGTH` (NUL included).
const MAX_BODY: usize = 511;
/// keepalived's `SMTP_BUFFER_MAX`: a reply longer than this is refused.
const MAX_REPLY: usize = 1024;
/// Whole-dialogue bound on top of the per-step `smtp_connect_timeout`.
const MIN_OVERALL: Duration = Duration::from_secs(120);

/// keepalived's name when the host name cannot be had.
pub const UNKNOWN_NAME: &str = "[unknown]";

/// The local host name (uname's node name), as keepalived's `get_local_name()`.
///
/// keepalived also asks the resolver for the canonical name (`getaddrinfo` with
/// `AI_CANONNAME`); we do not, so a host whose `/etc/hosts` maps the short name to a longer
/// one gets the short name here.
pub fn local_name() -> Option<String> {
    let n = nix::unistd::gethostname().ok()?;
    let n = n.to_str()?.trim().to_string();
    (!n.is_empty()).then_some(n)
}

/// What `global_defs` says about mail, as the caller's configuration holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailDefs {
    /// `router_id` (default: the host name).
    pub router_id: Option<String>,
    /// `notification_email` addresses.
    pub notification_email: Vec<String>,
    /// `notification_email_from`.
    pub notification_email_from: Option<String>,
    /// `smtp_server ADDR [PORT]`.
    pub smtp_server: Option<(String, u16)>,
    /// `smtp_helo_name`.
    pub smtp_helo_name: Option<String>,
    /// `smtp_connect_timeout` (keepalived's default 30 s).
    pub smtp_connect_timeout: Duration,
    /// `smtp_alert` (None = not set).
    pub smtp_alert: Option<bool>,
    /// `smtp_alert_vrrp`.
    pub smtp_alert_vrrp: Option<bool>,
    /// `smtp_alert_checker`.
    pub smtp_alert_checker: Option<bool>,
}

impl Default for MailDefs {
    /// Nothing set: keepalived's defaults (30 s connect timeout).
    fn default() -> Self {
        MailDefs {
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_helo_name: None,
            smtp_connect_timeout: Duration::from_secs(30),
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
        }
    }
}

/// `vrrp_instance`/`vrrp_sync_group` `smtp_alert` in force: its own setting, else
/// `smtp_alert_vrrp`, else `smtp_alert`, else off (vrrp.c).
pub fn vrrp_enabled(g: &MailDefs, own: Option<bool>) -> bool {
    own.or(g.smtp_alert_vrrp).or(g.smtp_alert).unwrap_or(false)
}

/// `virtual_server` `smtp_alert` in force: its own, else `smtp_alert_checker`, else
/// `smtp_alert`, else off (check_data.c).
pub fn checker_vs_enabled(g: &MailDefs, own: Option<bool>) -> bool {
    own.or(g.smtp_alert_checker)
        .or(g.smtp_alert)
        .unwrap_or(false)
}

/// `real_server` `smtp_alert` in force: its own, else `smtp_alert_checker`, else `smtp_alert`,
/// else **on** (check_data.c; the virtual server's setting is not inherited).
pub fn checker_rs_enabled(g: &MailDefs, own: Option<bool>) -> bool {
    own.or(g.smtp_alert_checker)
        .or(g.smtp_alert)
        .unwrap_or(true)
}

/// Where and how to send: everything global_defs says about mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `smtp_server` host (address or name) and port.
    pub server: (String, u16),
    /// `smtp_helo_name` or its default.
    pub helo_name: String,
    /// `notification_email_from` or its default (empty when no default could be made).
    pub from: String,
    /// `notification_email`, in order.
    pub recipients: Vec<String>,
    /// `router_id` or its default.
    pub router_id: String,
    /// `smtp_connect_timeout` (at least 1 s).
    pub timeout: Duration,
}

impl Settings {
    /// The settings from `global_defs`' mail keywords, or `None` when keepalived would send nothing (no
    /// `smtp_server` or no `notification_email`). `local` is the local host name
    /// ([`local_name`]), used for the defaults.
    pub fn from_global(g: &MailDefs, local: Option<&str>) -> Option<Settings> {
        let server = g.smtp_server.clone()?;
        if g.notification_email.is_empty() {
            return None;
        }
        let local = local.filter(|l| !l.is_empty() && *l != UNKNOWN_NAME);
        let from =
            g.notification_email_from
                .clone()
                .unwrap_or_else(|| match (local, current_user()) {
                    (Some(h), Some(u)) => format!("{u}@{h}"),
                    _ => String::new(),
                });
        Some(Settings {
            server,
            helo_name: g
                .smtp_helo_name
                .clone()
                .or_else(|| local.map(str::to_string))
                .unwrap_or_else(|| "localhost".to_string()),
            from,
            recipients: g.notification_email.clone(),
            router_id: g
                .router_id
                .clone()
                .or_else(|| local.map(str::to_string))
                .unwrap_or_else(|| UNKNOWN_NAME.to_string()),
            timeout: g.smtp_connect_timeout.max(Duration::from_secs(1)),
        })
    }

    /// keepalived's `FMT_SMTP_HOST()` before resolution: `[host]:port`.
    pub fn server_label(&self) -> String {
        format!("[{}]:{}", self.server.0, self.server.1)
    }
}

fn current_user() -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
}

/// VRRP states that have a mail (vrrp_notify.c).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VrrpState {
    /// MASTER.
    Master,
    /// BACKUP.
    Backup,
    /// FAULT.
    Fault,
    /// Stopping.
    Stop,
}

impl VrrpState {
    /// From the notify state name (`MASTER`, `BACKUP`, `FAULT`, `STOP`).
    pub fn from_name(s: &str) -> Option<VrrpState> {
        match s {
            "MASTER" => Some(VrrpState::Master),
            "BACKUP" => Some(VrrpState::Backup),
            "FAULT" => Some(VrrpState::Fault),
            "STOP" => Some(VrrpState::Stop),
            _ => None,
        }
    }
}

/// One alert: subject (with the `[router_id]` prefix) and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Subject line.
    pub subject: String,
    /// Body text.
    pub body: String,
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut n = max;
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s.truncate(n);
    }
    s
}

/// No line breaks in a header value (names come from the configuration; be safe anyway).
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect()
}

impl Alert {
    fn new(subject: String, body: &str) -> Alert {
        Alert {
            subject: truncate(one_line(&subject), MAX_SUBJECT),
            body: truncate(body.to_string(), MAX_BODY),
        }
    }

    /// `[router_id] VRRP Instance NAME - Entering MASTER state` and its body.
    pub fn vrrp_instance(router_id: &str, name: &str, state: VrrpState) -> Alert {
        let (what, body) = match state {
            VrrpState::Master => (
                "Entering MASTER state",
                "=> VRRP Instance is now owning VRRP VIPs <=",
            ),
            VrrpState::Backup => (
                "Entering BACKUP state",
                "=> VRRP Instance is no longer owning VRRP VIPs <=",
            ),
            VrrpState::Fault => (
                "Entering FAULT state",
                "=> VRRP Instance is no longer owning VRRP VIPs <=",
            ),
            VrrpState::Stop => ("Stopping", "=> VRRP Instance stopping <="),
        };
        Alert::new(format!("[{router_id}] VRRP Instance {name} - {what}"), body)
    }

    /// `[router_id] VRRP Group NAME - Entering MASTER state` and its body.
    pub fn vrrp_group(router_id: &str, name: &str, state: VrrpState) -> Alert {
        let (what, body) = match state {
            VrrpState::Master => (
                "Entering MASTER state",
                "=> All VRRP group instances are now in MASTER state <=",
            ),
            VrrpState::Backup => (
                "Entering BACKUP state",
                "=> All VRRP group instances are now in BACKUP state <=",
            ),
            VrrpState::Fault => (
                "Entering FAULT state",
                "=> All VRRP group instances are now in FAULT state <=",
            ),
            VrrpState::Stop => (
                "Stopping",
                "=> All VRRP group instances are now stopping <=",
            ),
        };
        Alert::new(format!("[{router_id}] VRRP Group {name} - {what}"), body)
    }

    /// `[router_id] Realserver RS of virtual server VS - UP|DOWN` (keepalived's `FMT_RS` /
    /// `FMT_VS` texts are the caller's: `[10.0.0.2]:tcp:80`, `FWM 5`).
    pub fn real_server(router_id: &str, rs: &str, vs: &str, alive: bool, body: &str) -> Alert {
        Alert::new(
            format!(
                "[{router_id}] Realserver {rs} of virtual server {vs} - {}",
                if alive { "UP" } else { "DOWN" }
            ),
            body,
        )
    }

    /// `[router_id] Virtualserver VS - UP|DOWN` with keepalived's quorum body
    /// `=> Gained quorum Q+H=T <= W <=` (ipwrapper.c do_vs_notifies: the threshold is
    /// `Q+H` when gaining, `Q-H` when losing).
    pub fn quorum(
        router_id: &str,
        vs: &str,
        up: bool,
        quorum: u32,
        hysteresis: u32,
        weight_sum: i64,
    ) -> Alert {
        let what = if up { "Gained quorum" } else { "Lost quorum" };
        Alert::quorum_text(router_id, vs, up, what, quorum, hysteresis, weight_sum)
    }

    /// The quorum mail of a virtual server at start: `=> Starting with quorum up Q+H=T <= W <=`
    /// (or `down`, with a sorry server), threshold `Q+H` (every virtual server starts without
    /// quorum in keepalived, and gains it at start if its live weight reaches it).
    pub fn quorum_at_start(
        router_id: &str,
        vs: &str,
        up: bool,
        quorum: u32,
        hysteresis: u32,
        weight_sum: i64,
    ) -> Alert {
        let what = if up {
            "Starting with quorum up"
        } else {
            "Starting with quorum down"
        };
        let mut a = Alert::quorum_text(router_id, vs, true, what, quorum, hysteresis, weight_sum);
        if !up {
            a.subject = format!("[{router_id}] Virtualserver {vs} - DOWN");
            a.subject = truncate(one_line(&a.subject), MAX_SUBJECT);
        }
        a
    }

    fn quorum_text(
        router_id: &str,
        vs: &str,
        up: bool,
        what: &str,
        quorum: u32,
        hysteresis: u32,
        weight_sum: i64,
    ) -> Alert {
        let threshold = if up {
            i64::from(quorum) + i64::from(hysteresis)
        } else {
            i64::from(quorum) - i64::from(hysteresis)
        };
        Alert::new(
            format!(
                "[{router_id}] Virtualserver {vs} - {}",
                if up { "UP" } else { "DOWN" }
            ),
            &format!("=> {what} {quorum}+{hysteresis}={threshold} <= {weight_sum} <="),
        )
    }

    /// `[router_id] Virtualserver VS - DOWN` with `=> Shutting down <=`: the mail of an
    /// `omega` virtual server at stop (ipwrapper.c do_vs_notifies, stopping).
    pub fn vs_shutdown(router_id: &str, vs: &str) -> Alert {
        Alert::new(
            format!("[{router_id}] Virtualserver {vs} - DOWN"),
            "=> Shutting down <=",
        )
    }

    /// What follows `DATA`: headers, blank line, body, `\r\n.\r\n` (smtp.h
    /// `SMTP_HEADERS_CMD SMTP_BODY_CMD SMTP_SEND_CMD`). `date` is RFC 5322
    /// (`%a, %d %b %Y %H:%M:%S %z`). Body lines starting with `.` are dot-stuffed.
    pub fn message(&self, settings: &Settings, date: &str) -> String {
        let mut body = String::new();
        for (i, line) in self.body.split('\n').enumerate() {
            if i > 0 {
                body.push('\n');
            }
            if line.starts_with('.') {
                body.push('.');
            }
            body.push_str(line);
        }
        format!(
            "Date: {date}\r\nFrom: {}\r\nSubject: {}\r\nX-Mailer: Keepalived\r\nTo: {}\r\n\r\n{body}\r\n\r\n.\r\n",
            one_line(&settings.from),
            self.subject,
            one_line(&settings.recipients.join(", ")),
        )
    }
}

/// Now in local time, as keepalived's `strftime("%a, %d %b %Y %H:%M:%S %z", localtime())`.
pub fn rfc822_now() -> String {
    chrono::Local::now()
        .format("%a, %d %b %Y %H:%M:%S %z")
        .to_string()
}

/// Why a mail was not sent. The texts follow keepalived's log lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The server name did not resolve.
    Resolve(String, String),
    /// Connection refused / unreachable.
    Connect(String, String),
    /// No connection within `smtp_connect_timeout`.
    ConnectTimeout(String),
    /// No (complete) reply within `smtp_connect_timeout`.
    ReadTimeout(String),
    /// The server closed the connection.
    Closed(String),
    /// Read or write failure.
    Io(String, String),
    /// A reply we cannot read (not `NNN`, too long).
    BadReply(String, String),
    /// A reply with the wrong code.
    Code {
        /// Server label.
        server: String,
        /// Stage: `(E)SMTP`, `HELO`, `MAIL`, `RCPT`, `DATA`, `BODY`.
        cmd: &'static str,
        /// The code received.
        code: u16,
    },
    /// The whole dialogue took too long.
    Overall(String),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Resolve(s, e) => write!(f, "Cannot resolve SMTP server {s}: {e}."),
            SendError::Connect(s, e) => write!(f, "SMTP connection ERROR to {s}: {e}."),
            SendError::ConnectTimeout(s) => write!(f, "Timeout connecting SMTP server {s}."),
            SendError::ReadTimeout(s) => {
                write!(f, "Timeout reading data to remote SMTP server {s}.")
            }
            SendError::Closed(s) => {
                write!(f, "Remote SMTP server {s} has closed the connection.")
            }
            SendError::Io(s, e) => write!(f, "Error talking to remote SMTP server {s}: {e}."),
            SendError::BadReply(s, e) => {
                write!(f, "Bad reply from remote SMTP server {s}: {e}.")
            }
            SendError::Code { server, cmd, code } => write!(
                f,
                "Error processing {cmd} cmd on SMTP server {server}. SMTP status code = {code}"
            ),
            SendError::Overall(s) => {
                write!(f, "SMTP alert to {s} not finished in time; abandoned.")
            }
        }
    }
}

impl std::error::Error for SendError {}

/// keepalived's `FMT_SMTP_HOST()`: `[addr]:port`.
fn label(a: &SocketAddr) -> String {
    format!("[{}]:{}", a.ip(), a.port())
}

/// Send one alert: resolve, connect (bounded by `smtp_connect_timeout`), speak keepalived's
/// dialogue (every reply bounded by it too), all within an overall bound.
pub async fn send(settings: &Settings, alert: &Alert) -> Result<(), SendError> {
    let overall = MIN_OVERALL.max(settings.timeout * 4);
    let fallback = settings.server_label();
    match tokio::time::timeout(overall, send_inner(settings, alert)).await {
        Ok(r) => r,
        Err(_) => Err(SendError::Overall(fallback)),
    }
}

async fn send_inner(settings: &Settings, alert: &Alert) -> Result<(), SendError> {
    let step = settings.timeout;
    let (host, port) = (&settings.server.0, settings.server.1);
    let fallback = settings.server_label();
    let addr = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, port),
        Err(_) => {
            let mut it = tokio::time::timeout(step, tokio::net::lookup_host((host.as_str(), port)))
                .await
                .map_err(|_| SendError::ConnectTimeout(fallback.clone()))?
                .map_err(|e| SendError::Resolve(fallback.clone(), e.to_string()))?;
            it.next()
                .ok_or_else(|| SendError::Resolve(fallback.clone(), "no address".to_string()))?
        }
    };
    let server = label(&addr);
    let stream = tokio::time::timeout(step, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| SendError::ConnectTimeout(server.clone()))?
        .map_err(|e| SendError::Connect(server.clone(), e.to_string()))?;
    dialogue(stream, settings, alert, &server, &rfc822_now()).await
}

/// Reads replies: a multi-line reply's `NNN-` lines are skipped, the last line's code counts
/// (smtp.c `smtp_read_thread`).
struct Replies<S> {
    inner: BufReader<S>,
    server: String,
    step: Duration,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Replies<S> {
    async fn code(&mut self) -> Result<u16, SendError> {
        let mut total = 0usize;
        loop {
            let mut line = Vec::new();
            let mut limited = (&mut self.inner).take((MAX_REPLY + 1) as u64);
            let read = limited.read_until(b'\n', &mut line);
            let n = tokio::time::timeout(self.step, read)
                .await
                .map_err(|_| SendError::ReadTimeout(self.server.clone()))?
                .map_err(|e| SendError::Io(self.server.clone(), e.to_string()))?;
            if n == 0 {
                return Err(SendError::Closed(self.server.clone()));
            }
            total += n;
            if total > MAX_REPLY {
                return Err(SendError::BadReply(
                    self.server.clone(),
                    "reply overflows our read buffer".to_string(),
                ));
            }
            if line.last() != Some(&b'\n') {
                // End of stream in the middle of a line.
                return Err(SendError::Closed(self.server.clone()));
            }
            let Some((code, last)) = parse_reply_line(&line) else {
                return Err(SendError::BadReply(
                    self.server.clone(),
                    format!(
                        "not an SMTP reply: {:?}",
                        String::from_utf8_lossy(&line).trim_end()
                    ),
                ));
            };
            if last {
                return Ok(code);
            }
        }
    }

    async fn write(&mut self, data: &str) -> Result<(), SendError> {
        let w = self.inner.get_mut().write_all(data.as_bytes());
        tokio::time::timeout(self.step, w)
            .await
            .map_err(|_| SendError::Io(self.server.clone(), "timeout sending data".to_string()))?
            .map_err(|e| SendError::Io(self.server.clone(), e.to_string()))
    }

    /// Send `data`, expect `want`; on another code QUIT and fail.
    async fn step(&mut self, data: &str, want: u16, cmd: &'static str) -> Result<(), SendError> {
        if !data.is_empty() {
            self.write(data).await?;
        }
        let code = self.code().await?;
        if code == want {
            return Ok(());
        }
        self.quit().await;
        Err(SendError::Code {
            server: self.server.clone(),
            cmd,
            code,
        })
    }

    async fn quit(&mut self) {
        if self.write("QUIT\r\n").await.is_ok() {
            let _ = self.code().await;
        }
    }
}

/// keepalived's dialogue over an established stream (public for tests with in-memory pipes).
pub async fn dialogue<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    settings: &Settings,
    alert: &Alert,
    server: &str,
    date: &str,
) -> Result<(), SendError> {
    let mut r = Replies {
        inner: BufReader::new(stream),
        server: server.to_string(),
        step: settings.timeout,
    };
    r.step("", 220, "(E)SMTP").await?;
    r.step(
        &format!("HELO {}\r\n", one_line(&settings.helo_name)),
        250,
        "HELO",
    )
    .await?;
    r.step(
        &format!("MAIL FROM:<{}>\r\n", one_line(&settings.from)),
        250,
        "MAIL",
    )
    .await?;
    for to in &settings.recipients {
        r.step(&format!("RCPT TO:<{}>\r\n", one_line(to)), 250, "RCPT")
            .await?;
    }
    r.step("DATA\r\n", 354, "DATA").await?;
    r.step(&alert.message(settings, date), 250, "BODY").await?;
    // keepalived waits for 221 but has nothing more to do either way.
    r.quit().await;
    Ok(())
}

/// Send in a spawned task and log keepalived's lines ("SMTP alert successfully sent." or the
/// failure with the server and reason; keepalived's smtp.c logs both at `LOG_INFO`). Never
/// blocks the caller.
pub fn spawn(settings: Arc<Settings>, alert: Alert) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        match send(&settings, &alert).await {
            Ok(()) => log::info!(
                "SMTP alert successfully sent to {}: {}",
                settings.server_label(),
                alert.subject
            ),
            Err(e) => log::info!("{e} (alert: {})", alert.subject),
        }
    })
}

#[cfg(test)]
mod tests;
