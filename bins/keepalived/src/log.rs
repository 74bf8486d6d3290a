//! Logging the way keepalived does: syslog (ident `Keepalived`, `Keepalived_vrrp`,
//! `Keepalived_healthcheckers`, LOG_PID, facility from `-S`, default daemon) through the
//! `/dev/log` datagram socket as glibc's `syslog(3)` writes it (`<PRI>Mmm dd hh:mm:ss
//! ident[pid]: msg`), `-l` console lines `"<ctime>: msg"` on stderr (with `-n`), `-g`
//! per-process files `"<date>.<ns> <year>: msg"`, `-G` no syslog. Every time stamp is local
//! time (`localtime(3)`: `TZ`, else `/etc/localtime`), as keepalived's.
//!
//! This is the one logging path of the process: every crate logs through the `log` facade,
//! and [`install`] makes this module its sink; the `info!`/`error!`/`warning!`/`alert!`/
//! `detail!` macros of this crate are `log` records too. `log`'s levels map to syslog
//! severities (error → LOG_ERR, warn → LOG_WARNING, info → LOG_INFO, debug/trace → LOG_DEBUG);
//! `alert!` is an error record with the target [`ALERT_TARGET`] (LOG_ALERT).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixDatagram;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, FixedOffset, Offset, TimeZone};

/// syslog severities used by keepalived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// LOG_ALERT.
    Alert = 1,
    /// LOG_ERR.
    Err = 3,
    /// LOG_WARNING.
    Warning = 4,
    /// LOG_INFO.
    Info = 6,
    /// LOG_DEBUG.
    Debug = 7,
}

/// Where log lines go.
#[derive(Debug, Default, Clone)]
pub struct LogSettings {
    /// syslog ident.
    pub ident: String,
    /// syslog facility code (LOG_DAEMON >> 3 = 3).
    pub facility: u8,
    /// Send to syslog.
    pub syslog: bool,
    /// Copy to stderr (keepalived: -l together with -n).
    pub console: bool,
    /// Log file path (already made per-process).
    pub file: Option<String>,
    /// Flush the file on every line.
    pub flush: bool,
    /// -D count.
    pub detail: u8,
}

struct Logger {
    settings: LogSettings,
    syslog: Option<UnixDatagram>,
    file: Option<File>,
}

static LOGGER: Mutex<Option<Logger>> = Mutex::new(None);

/// (Re)configure logging for this process.
pub fn init(settings: LogSettings) {
    let syslog = if settings.syslog {
        // Non-blocking: a stalled syslog daemon drops our lines instead of hanging us.
        UnixDatagram::unbound()
            .ok()
            .filter(|s| s.set_nonblocking(true).is_ok())
    } else {
        None
    };
    let file = settings.file.as_ref().and_then(|p| {
        OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW)
            .open(p)
            .ok()
    });
    if let Ok(mut g) = LOGGER.lock() {
        *g = Some(Logger {
            settings,
            syslog,
            file,
        });
    }
    install();
}

/// The current -D level (0 when logging is not initialised).
pub fn detail() -> u8 {
    LOGGER
        .lock()
        .ok()
        .and_then(|g| g.as_ref().map(|l| l.settings.detail))
        .unwrap_or(0)
}

/// The `log` target of `alert!` records (syslog LOG_ALERT).
pub const ALERT_TARGET: &str = "keepalived::alert";

/// Log one message.
pub fn log(level: Level, msg: &str) {
    let Ok(mut g) = LOGGER.lock() else { return };
    let Some(l) = g.as_mut() else {
        eprintln!("{msg}");
        return;
    };
    let now = local_now();
    if l.settings.console {
        // One write per line (eprintln! writes the formatted pieces one by one, unbuffered).
        let line = format!("{}: {msg}\n", ctime(&now));
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
    }
    if let Some(f) = l.file.as_mut() {
        let _ = writeln!(f, "{}: {msg}", file_stamp(&now));
        if l.settings.flush {
            let _ = f.flush();
        }
    }
    if let Some(sock) = l.syslog.as_ref() {
        let line = syslog_datagram(l.settings.facility, level, &l.settings.ident, msg, &now);
        // A missing /dev/log is not an error for the daemon.
        let _ = sock.send_to(line.as_bytes(), "/dev/log");
    }
}

/// Now in the local time zone (`localtime(3)`'s: `TZ`, else `/etc/localtime`).
pub fn local_now() -> DateTime<FixedOffset> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let utc = DateTime::from_timestamp(
        i64::try_from(now.as_secs()).unwrap_or(i64::MAX),
        now.subsec_nanos(),
    )
    .unwrap_or_default();
    let offset = chrono::Local
        .offset_from_utc_datetime(&utc.naive_utc())
        .fix();
    utc.with_timezone(&offset)
}

/// One syslog datagram as glibc's `syslog(3)` with LOG_PID sends it, minus the time stamp:
/// `<PRI>ident[pid]: msg`, PRI = facility * 8 + severity.
pub fn syslog_line(facility: u8, level: Level, ident: &str, msg: &str) -> String {
    let pri = u32::from(facility) * 8 + level as u32;
    format!("<{pri}>{ident}[{}]: {msg}", std::process::id())
}

/// The datagram glibc's `syslog(3)` sends to `/dev/log`: [`syslog_line`] with the local time
/// stamp `strftime("%h %e %T ")` after the priority, `<30>Nov 23 17:09:46
/// Keepalived_vrrp[pid]: msg`.
pub fn syslog_datagram<Tz: TimeZone>(
    facility: u8,
    level: Level,
    ident: &str,
    msg: &str,
    at: &DateTime<Tz>,
) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let pri = u32::from(facility) * 8 + level as u32;
    format!(
        "<{pri}>{} {ident}[{}]: {msg}",
        at.format("%b %e %H:%M:%S"),
        std::process::id()
    )
}

/// Routes `log` records to [`log()`] with their syslog severity.
struct Sink;

impl ::log::Log for Sink {
    fn enabled(&self, m: &::log::Metadata<'_>) -> bool {
        m.level() <= ::log::Level::Info || detail() > 0
    }
    fn log(&self, r: &::log::Record<'_>) {
        if !self.enabled(r.metadata()) {
            return;
        }
        log(severity(r.level(), r.target()), &r.args().to_string());
    }
    fn flush(&self) {}
}

/// The syslog severity of a `log` record.
fn severity(level: ::log::Level, target: &str) -> Level {
    match level {
        ::log::Level::Error if target == ALERT_TARGET => Level::Alert,
        ::log::Level::Error => Level::Err,
        ::log::Level::Warn => Level::Warning,
        ::log::Level::Info => Level::Info,
        ::log::Level::Debug | ::log::Level::Trace => Level::Debug,
    }
}

static SINK: Sink = Sink;

/// Make this module the `log` facade's sink (idempotent) and set its level from `-D`.
pub fn install() {
    let _ = ::log::set_logger(&SINK);
    ::log::set_max_level(if detail() > 0 {
        ::log::LevelFilter::Debug
    } else {
        ::log::LevelFilter::Info
    });
}

/// `log_message(LOG_INFO, ...)`.
#[macro_export]
macro_rules! info {
    ($($t:tt)*) => { ::log::info!($($t)*) };
}
/// `log_message(LOG_ERR, ...)`.
#[macro_export]
macro_rules! error {
    ($($t:tt)*) => { ::log::error!($($t)*) };
}
/// `log_message(LOG_ALERT, ...)`.
#[macro_export]
macro_rules! alert {
    ($($t:tt)*) => { ::log::error!(target: $crate::log::ALERT_TARGET, $($t)*) };
}
/// `log_message(LOG_WARNING, ...)`.
#[macro_export]
macro_rules! warning {
    ($($t:tt)*) => { ::log::warn!($($t)*) };
}
/// Detail messages (shown with -D, at LOG_INFO).
#[macro_export]
macro_rules! detail {
    ($($t:tt)*) => { if $crate::log::detail() > 0 { ::log::info!($($t)*) } };
}

/// strftime("%c") in the C locale: `Mon Nov 23 16:09:46 2026` (keepalived's console stamp).
pub fn ctime<Tz: TimeZone>(t: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    t.format("%a %b %e %H:%M:%S %Y").to_string()
}

/// keepalived's log-file stamp: `Mon Nov 23 16:09:46.123456789 2026`.
fn file_stamp<Tz: TimeZone>(t: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    t.format("%a %b %d %H:%M:%S.%f %Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the syslog priority (facility*8+severity) and ident[pid] prefix glibc would send.
    #[test]
    fn syslog_format() {
        let l = syslog_line(
            3,
            Level::Info,
            "Keepalived_vrrp",
            "VI_1 Entering MASTER STATE",
        );
        let want = format!(
            "<30>Keepalived_vrrp[{}]: VI_1 Entering MASTER STATE",
            std::process::id()
        );
        assert_eq!(l, want);
        assert!(syslog_line(19, Level::Alert, "Keepalived", "x").starts_with("<153>"));
    }

    fn at(secs: i64, nanos: u32, offset_secs: i32) -> DateTime<FixedOffset> {
        let off = FixedOffset::east_opt(offset_secs).unwrap();
        DateTime::from_timestamp(secs, nanos)
            .unwrap()
            .with_timezone(&off)
    }

    // Proves the console timestamp matches C's "%c" layout for a known instant.
    #[test]
    fn ctime_layout() {
        // 2026-11-23 16:09:46 UTC was a Monday.
        assert_eq!(ctime(&at(1_795_450_186, 0, 0)), "Mon Nov 23 16:09:46 2026");
        assert_eq!(ctime(&at(0, 0, 0)), "Thu Jan  1 00:00:00 1970");
    }

    // Proves every stamp is the local wall-clock time (here a fixed offset), not UTC: the
    // console "%c", the log file's "%a %b %d %T.<ns> %Y" and glibc's syslog "%h %e %T",
    // including a date change against UTC.
    #[test]
    fn local_time_stamps() {
        // 2026-11-23 16:09:46.000000042 UTC is 17:09:46 at +01:00, 11:09:46 at -05:00.
        let cet = at(1_795_450_186, 42, 3600);
        assert_eq!(ctime(&cet), "Mon Nov 23 17:09:46 2026");
        assert_eq!(file_stamp(&cet), "Mon Nov 23 17:09:46.000000042 2026");
        let est = at(1_795_450_186, 0, -5 * 3600);
        assert_eq!(ctime(&est), "Mon Nov 23 11:09:46 2026");
        // 1970-01-01 00:30 UTC is still Dec 31 1969 at -01:00.
        assert_eq!(ctime(&at(1800, 0, -3600)), "Wed Dec 31 23:30:00 1969");
        assert_eq!(
            syslog_datagram(
                3,
                Level::Info,
                "Keepalived_vrrp",
                "VI_1 Entering MASTER STATE",
                &cet
            ),
            format!(
                "<30>Nov 23 17:09:46 Keepalived_vrrp[{}]: VI_1 Entering MASTER STATE",
                std::process::id()
            )
        );
        // glibc's %e pads the day with a space.
        assert!(syslog_datagram(3, Level::Err, "K", "x", &at(0, 0, 3600))
            .starts_with("<27>Jan  1 01:00:00 K["));
    }

    // Proves log records map to keepalived's syslog severities (alert! via its target).
    #[test]
    fn record_severities() {
        assert_eq!(severity(::log::Level::Error, ALERT_TARGET), Level::Alert);
        assert_eq!(severity(::log::Level::Error, "vrrp_runtime"), Level::Err);
        assert_eq!(severity(::log::Level::Warn, "x"), Level::Warning);
        assert_eq!(severity(::log::Level::Info, "x"), Level::Info);
        assert_eq!(severity(::log::Level::Debug, "x"), Level::Debug);
    }
}
