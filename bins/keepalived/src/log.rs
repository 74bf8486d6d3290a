//! Logging the way keepalived does: syslog (ident `Keepalived`, `Keepalived_vrrp`,
//! `Keepalived_healthcheckers`, LOG_PID, facility from `-S`, default daemon) through the
//! `/dev/log` datagram socket, `-l` console lines `"<ctime>: msg"` on stderr (with `-n`),
//! `-g` per-process files `"<date>.<ns> <year>: msg"`, `-G` no syslog.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixDatagram;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

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
}

/// The current -D level (0 when logging is not initialised).
pub fn detail() -> u8 {
    LOGGER
        .lock()
        .ok()
        .and_then(|g| g.as_ref().map(|l| l.settings.detail))
        .unwrap_or(0)
}

/// Log one message.
pub fn log(level: Level, msg: &str) {
    let Ok(mut g) = LOGGER.lock() else { return };
    let Some(l) = g.as_mut() else {
        eprintln!("{msg}");
        return;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    if l.settings.console {
        eprintln!("{}: {msg}", ctime(now.as_secs()));
    }
    if let Some(f) = l.file.as_mut() {
        let (date, year) = file_stamp(now.as_secs());
        let _ = writeln!(f, "{date}.{:09} {year}: {msg}", now.subsec_nanos());
        if l.settings.flush {
            let _ = f.flush();
        }
    }
    if let Some(sock) = l.syslog.as_ref() {
        let line = syslog_line(l.settings.facility, level, &l.settings.ident, msg);
        // No timestamp: syslogd/journald stamp the message on receipt (we avoid guessing the
        // local time zone). A missing /dev/log is not an error for the daemon.
        let _ = sock.send_to(line.as_bytes(), "/dev/log");
    }
}

/// One syslog datagram as glibc's `syslog(3)` with LOG_PID sends it, minus the timestamp:
/// `<PRI>ident[pid]: msg`, PRI = facility * 8 + severity.
pub fn syslog_line(facility: u8, level: Level, ident: &str, msg: &str) -> String {
    let pri = u32::from(facility) * 8 + level as u32;
    format!("<{pri}>{ident}[{}]: {msg}", std::process::id())
}

/// `log_message(LOG_INFO, ...)`.
#[macro_export]
macro_rules! info {
    ($($t:tt)*) => { $crate::log::log($crate::log::Level::Info, &format!($($t)*)) };
}
/// `log_message(LOG_ERR, ...)`.
#[macro_export]
macro_rules! error {
    ($($t:tt)*) => { $crate::log::log($crate::log::Level::Err, &format!($($t)*)) };
}
/// `log_message(LOG_ALERT, ...)`.
#[macro_export]
macro_rules! alert {
    ($($t:tt)*) => { $crate::log::log($crate::log::Level::Alert, &format!($($t)*)) };
}
/// `log_message(LOG_WARNING, ...)`.
#[macro_export]
macro_rules! warning {
    ($($t:tt)*) => { $crate::log::log($crate::log::Level::Warning, &format!($($t)*)) };
}
/// Detail messages (shown with -D).
#[macro_export]
macro_rules! detail {
    ($($t:tt)*) => { if $crate::log::detail() > 0 { $crate::log::log($crate::log::Level::Info, &format!($($t)*)) } };
}

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Civil date (UTC) from days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn parts(secs: u64) -> (&'static str, &'static str, u32, String, i64) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil(days);
    let wd = DAYS[days.rem_euclid(7) as usize];
    let mon = MONTHS[(m as usize).saturating_sub(1) % 12];
    let hms = format!("{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60);
    (wd, mon, d, hms, y)
}

/// strftime("%c") in the C locale (UTC): `Mon Nov 23 16:09:46 2026`.
pub fn ctime(secs: u64) -> String {
    let (wd, mon, d, hms, y) = parts(secs);
    format!("{wd} {mon} {d:2} {hms} {y}")
}

fn file_stamp(secs: u64) -> (String, i64) {
    let (wd, mon, d, hms, y) = parts(secs);
    (format!("{wd} {mon} {d:02} {hms}"), y)
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

    // Proves the console timestamp matches C's "%c" layout for a known instant.
    #[test]
    fn ctime_layout() {
        // 2026-11-23 16:09:46 UTC was a Monday.
        assert_eq!(ctime(1_795_450_186), "Mon Nov 23 16:09:46 2026");
        assert_eq!(ctime(0), "Thu Jan  1 00:00:00 1970");
    }
}
