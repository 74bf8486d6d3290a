//! keepalived's scheduled reload (`reload_time_file FILE`, `reload_repeat`; 2.2.7's
//! `core/reload_monitor.c`), in the parent.
//!
//! The parent watches FILE's directory with inotify (create, delete, move in and out; the
//! directory itself going away stops the monitor) and FILE itself (close after write). Whenever
//! FILE is (re)written or appears, its first line is read as a time: `HH:MM:SS` (today, or
//! tomorrow when that time has passed), `YY-MM-DD HH:MM:SS` or `YYYY-MM-DD HH:MM:SS`, local
//! time, or UTC with a trailing `Z`. At that time the parent reloads (as on SIGHUP). FILE is
//! removed then, unless `reload_repeat` is set and only a time of day was given (then the
//! reload after it schedules the same time for the next day). Removing FILE, emptying it or an
//! invalid time cancels the scheduled reload. Every reload stops the monitor and starts it again
//! from the configuration then running, as keepalived does. The log lines are keepalived's.

use std::ffi::OsString;
use std::io::Read;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Datelike, Local, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, InotifyEvent, WatchDescriptor};
use tokio::sync::mpsc;

use crate::info;

/// A running monitor (keepalived's inotify thread and reload timer). The inotify descriptor
/// is read by a small thread (poll with a 1 s timeout) that forwards the events; it ends
/// when this is dropped.
struct Running {
    ino: Arc<Inotify>,
    events: mpsc::UnboundedReceiver<Result<Vec<InotifyEvent>, nix::errno::Errno>>,
    dir_wd: WatchDescriptor,
    file_wd: Option<WatchDescriptor>,
    /// FILE as configured.
    path: PathBuf,
    /// FILE's last component (what directory events name).
    name: OsString,
    repeat: bool,
    /// The scheduled reload: its time (seconds since the epoch) and whether a date was given.
    scheduled: Option<(i64, bool)>,
}

/// The parent's reload monitor: idle without `reload_time_file`.
#[derive(Default)]
pub struct ReloadMonitor {
    run: Option<Running>,
}

/// Why a time in FILE was refused (keepalived's `parse_datetime` result).
#[derive(Debug, PartialEq, Eq)]
pub enum TimeError {
    /// Logged, then "Invalid reload time '…' specified - ignoring".
    Invalid(String),
    /// Logged, then "Reload date/time is in the past - ignoring".
    Past(String),
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// keepalived's `format_time_t`: local `%Y-%m-%d %H:%M:%S`.
pub fn format_time(t: i64) -> String {
    match Local.timestamp_opt(t, 0).earliest() {
        Some(d) => d.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => t.to_string(),
    }
}

/// glibc strptime's numbers: leading blanks skipped, then 1..=`max_digits` digits in
/// `lo..=hi`.
fn number(s: &mut &[u8], max_digits: usize, lo: u32, hi: u32) -> Option<u32> {
    while let Some((c, rest)) = s.split_first() {
        if c.is_ascii_whitespace() {
            *s = rest;
        } else {
            break;
        }
    }
    let digits = s
        .iter()
        .take(max_digits)
        .take_while(|c| c.is_ascii_digit())
        .count();
    if digits == 0 {
        return None;
    }
    let v = s[..digits]
        .iter()
        .fold(0u32, |a, c| a * 10 + u32::from(c - b'0'));
    *s = &s[digits..];
    (lo..=hi).contains(&v).then_some(v)
}

fn literal(s: &mut &[u8], c: u8) -> Option<()> {
    if c == b' ' {
        while let Some((x, rest)) = s.split_first() {
            if x.is_ascii_whitespace() {
                *s = rest;
            } else {
                break;
            }
        }
        return Some(());
    }
    let (x, rest) = s.split_first()?;
    if *x != c {
        return None;
    }
    *s = rest;
    Some(())
}

/// Broken-down time as `struct tm` holds it here (month 1-based, full year).
#[derive(Clone, Copy)]
struct Tm {
    year: i32,
    mon: u32,
    mday: u32,
    hour: u32,
    min: u32,
    sec: u32,
}

/// strptime with `%H:%M:%S`, `%y-%m-%d %H:%M:%S` or `%Y-%m-%d %H:%M:%S` over `tm`; the rest
/// of the input after the conversion.
fn strptime<'a>(s: &'a [u8], len: usize, tm: &mut Tm) -> Option<&'a [u8]> {
    let mut s = s;
    if len != 8 {
        if len == 17 {
            let y = number(&mut s, 2, 0, 99)?;
            tm.year = if y < 69 {
                2000 + y as i32
            } else {
                1900 + y as i32
            };
        } else {
            tm.year = number(&mut s, 4, 0, 9999)? as i32;
        }
        literal(&mut s, b'-')?;
        tm.mon = number(&mut s, 2, 1, 12)?;
        literal(&mut s, b'-')?;
        tm.mday = number(&mut s, 2, 1, 31)?;
        literal(&mut s, b' ')?;
    }
    tm.hour = number(&mut s, 2, 0, 23)?;
    literal(&mut s, b':')?;
    tm.min = number(&mut s, 2, 0, 59)?;
    literal(&mut s, b':')?;
    tm.sec = number(&mut s, 2, 0, 61)?;
    Some(s)
}

fn naive(tm: &Tm) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(tm.year, tm.mon, tm.mday)?.and_hms_opt(tm.hour, tm.min, tm.sec)
}

/// mktime(3) with `tm_isdst = -1` for a valid local time (none in a DST gap).
fn local_secs(n: &NaiveDateTime) -> Option<i64> {
    Local
        .from_local_datetime(n)
        .earliest()
        .map(|d| d.timestamp())
}

fn tm_of<Tz: TimeZone>(d: &DateTime<Tz>) -> Tm {
    Tm {
        year: d.year(),
        mon: d.month(),
        mday: d.day(),
        hour: d.hour(),
        min: d.minute(),
        sec: d.second(),
    }
}

/// keepalived's `parse_datetime`: the reload time (seconds since the epoch) and whether a date
/// was given, relative to `now`.
pub fn parse_time(text: &str, now: i64) -> Result<(i64, bool), TimeError> {
    let bytes = text.as_bytes();
    let mut len = bytes.len();
    let utc = len > 0 && bytes[len - 1] == b'Z';
    if utc {
        len -= 1;
    }
    if len != 8 && len != 17 && len != 19 {
        return Err(TimeError::Invalid(format!(
            "Reload time {text} format is incorrect - ignoring"
        )));
    }
    let Some(now_utc) = DateTime::<Utc>::from_timestamp(now, 0) else {
        return Err(TimeError::Invalid(format!(
            "Reload date/time {text} invalid - ignoring"
        )));
    };
    let mut tm = if utc {
        tm_of(&now_utc)
    } else {
        tm_of(&now_utc.with_timezone(&Local))
    };
    let rest = strptime(bytes, len, &mut tm);
    let complete = match rest {
        Some(r) => r.len() == usize::from(utc),
        None => false,
    };
    if !complete {
        return Err(TimeError::Invalid(format!(
            "Reload date/time {text} invalid - ignoring"
        )));
    }
    // mktime must give back the same fields (no 30 February, no time in a DST gap); keepalived
    // checks this as local time even for a UTC time.
    let not_valid = || TimeError::Invalid(format!("Reload time {text} is not valid - ignoring"));
    let n = naive(&tm).ok_or_else(not_valid)?;
    let local = local_secs(&n).ok_or_else(not_valid)?;
    let mut t = if utc { n.and_utc().timestamp() } else { local };
    if t <= now {
        if len == 8 {
            let next = n
                .date()
                .succ_opt()
                .map(|d| d.and_time(n.time()))
                .ok_or_else(not_valid)?;
            t = if utc {
                next.and_utc().timestamp()
            } else {
                local_secs(&next).ok_or_else(not_valid)?
            };
        } else {
            return Err(TimeError::Past(format!(
                "Reload time {text} is in the past - ignoring"
            )));
        }
    }
    Ok((t, len >= 17))
}

/// keepalived's `fgets(buf, 21, fp)` of FILE without its newline; `None` when FILE cannot be
/// read or is empty.
fn first_line(path: &Path) -> Option<String> {
    let mut f = std::fs::File::open(path).ok()?;
    let mut buf = [0u8; 20];
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => {
                let nl = buf[n..n + k].iter().position(|c| *c == b'\n');
                if let Some(p) = nl {
                    n += p + 1;
                    break;
                }
                n += k;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    if n == 0 {
        return None;
    }
    let mut line = &buf[..n];
    if let Some(p) = line.iter().position(|c| *c == b'\n') {
        line = &line[..p];
    }
    Some(String::from_utf8_lossy(line).into_owned())
}

impl Running {
    fn cancel(&mut self, log: bool) {
        if let Some((t, _)) = self.scheduled.take() {
            if log {
                info!("Cancelling reload scheduled for {}", format_time(t));
            }
        }
    }

    /// keepalived's `read_file`.
    fn read_file(&mut self) {
        let Some(line) = first_line(&self.path) else {
            self.cancel(true);
            return;
        };
        let (t, date) = match parse_time(&line, now_secs()) {
            Ok(v) => v,
            Err(TimeError::Invalid(why)) => {
                info!("{why}");
                info!("Invalid reload time '{line}' specified - ignoring");
                self.cancel(true);
                return;
            }
            Err(TimeError::Past(why)) => {
                info!("{why}");
                info!("Reload date/time is in the past - ignoring");
                self.cancel(true);
                return;
            }
        };
        match self.scheduled {
            Some((old, _)) if old == t => {
                self.scheduled = Some((t, date));
            }
            Some((old, _)) => {
                info!(
                    "Reload time updated from {} to {}",
                    format_time(old),
                    format_time(t)
                );
                self.scheduled = Some((t, date));
            }
            None => {
                info!("Scheduling reload for {}", format_time(t));
                self.scheduled = Some((t, date));
            }
        }
    }

    /// keepalived's `watch_file`: watch FILE (if it exists) and read it.
    fn watch_file(&mut self) {
        self.file_wd = self
            .ino
            .add_watch(&self.path, AddWatchFlags::IN_CLOSE_WRITE)
            .ok();
        if self.file_wd.is_some() {
            self.read_file();
        }
    }

    /// Handles inotify events; `false` when the monitor stopped (directory gone).
    fn events(&mut self, events: Result<Vec<InotifyEvent>, nix::errno::Errno>) -> bool {
        {
            let events = match events {
                Ok(ev) => ev,
                Err(e) => {
                    info!("inotify read() returned error {} - {e}", e as i32);
                    return false;
                }
            };
            for ev in events {
                if self.file_wd == Some(ev.wd) && ev.mask.contains(AddWatchFlags::IN_CLOSE_WRITE) {
                    self.read_file();
                }
                if ev.wd != self.dir_wd {
                    continue;
                }
                if ev
                    .mask
                    .intersects(AddWatchFlags::IN_DELETE_SELF | AddWatchFlags::IN_MOVE_SELF)
                {
                    self.cancel(true);
                    info!("Directory of reload timer file has disappeared. Monitoring stopped.");
                    return false;
                }
                if ev.name.as_deref() != Some(self.name.as_os_str()) {
                    continue;
                }
                if ev
                    .mask
                    .intersects(AddWatchFlags::IN_CREATE | AddWatchFlags::IN_MOVED_TO)
                {
                    self.watch_file();
                } else if ev
                    .mask
                    .intersects(AddWatchFlags::IN_DELETE | AddWatchFlags::IN_MOVED_FROM)
                {
                    if let Some(wd) = self.file_wd.take() {
                        let _ = self.ino.rm_watch(wd);
                    }
                    self.cancel(true);
                }
            }
        }
        true
    }
}

/// Reads `ino` until `tx` is closed.
fn spawn_reader(
    ino: Arc<Inotify>,
    tx: mpsc::UnboundedSender<Result<Vec<InotifyEvent>, nix::errno::Errno>>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("reload-monitor".into())
        .spawn(move || {
            while !tx.is_closed() {
                let mut fds = [nix::poll::PollFd::new(
                    ino.as_fd(),
                    nix::poll::PollFlags::POLLIN,
                )];
                match nix::poll::poll(&mut fds, 1000u16) {
                    Ok(n) if n > 0 => {}
                    Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
                match ino.read_events() {
                    Ok(ev) => {
                        if tx.send(Ok(ev)).is_err() {
                            return;
                        }
                    }
                    Err(nix::errno::Errno::EAGAIN) => {}
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
        })
        .map(|_| ())
}

/// What the monitor asks of the parent.
#[derive(Debug, PartialEq, Eq)]
pub enum Due {
    /// The scheduled time has come: reload (FILE is already handled).
    Reload,
    /// Nothing (events handled).
    Nothing,
}

impl ReloadMonitor {
    /// keepalived's `start_reload_monitor` for `file` (nothing without one).
    pub fn start(&mut self, file: Option<&str>, repeat: bool) {
        self.stop();
        let Some(file) = file else { return };
        // keepalived: the directory is everything before the last '/', "/" without one.
        let (dir, name) = match file.rfind('/') {
            Some(i) => (file[..i].to_string(), file[i + 1..].to_string()),
            None => ("/".to_string(), file.to_string()),
        };
        let ino = match Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK) {
            Ok(i) => i,
            Err(_) => {
                info!("Unable to monitor reload timer file directory {dir}- ignoring");
                return;
            }
        };
        let dir_wd = match ino.add_watch(
            dir.as_str(),
            AddWatchFlags::IN_CREATE
                | AddWatchFlags::IN_DELETE
                | AddWatchFlags::IN_MOVED_TO
                | AddWatchFlags::IN_MOVED_FROM
                | AddWatchFlags::IN_DELETE_SELF
                | AddWatchFlags::IN_MOVE_SELF,
        ) {
            Ok(wd) => wd,
            Err(_) => {
                info!("Unable to monitor reload timer file directory {dir}- ignoring");
                return;
            }
        };
        let ino = Arc::new(ino);
        let (tx, events) = mpsc::unbounded_channel();
        if let Err(e) = spawn_reader(ino.clone(), tx) {
            info!("Unable to monitor reload timer file: {e}");
            return;
        }
        let mut run = Running {
            ino,
            events,
            dir_wd,
            file_wd: None,
            path: PathBuf::from(file),
            name: OsString::from(name),
            repeat,
            scheduled: None,
        };
        run.watch_file();
        self.run = Some(run);
    }

    /// keepalived's `stop_reload_monitor`: a scheduled reload is dropped silently.
    pub fn stop(&mut self) {
        self.run = None;
    }

    /// The reload scheduled now, as seconds since the epoch.
    pub fn scheduled(&self) -> Option<i64> {
        self.run.as_ref().and_then(|r| r.scheduled.map(|(t, _)| t))
    }

    /// Waits for the next inotify event (handled here) or the scheduled time. At that time the
    /// monitor stops and FILE is removed unless `reload_repeat` applies (keepalived's
    /// `reload_timer_thread`); the caller reloads. Never ready while idle.
    pub async fn next(&mut self) -> Due {
        let Some(run) = self.run.as_mut() else {
            return std::future::pending().await;
        };
        let sleep = async {
            match run.scheduled {
                Some((t, _)) => {
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .unwrap_or_default();
                    let at = Duration::from_secs(u64::try_from(t).unwrap_or(0));
                    tokio::time::sleep(at.saturating_sub(now)).await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            ev = run.events.recv() => {
                let alive = match ev {
                    Some(ev) => run.events(ev),
                    None => false,
                };
                if !alive {
                    self.run = None;
                }
                Due::Nothing
            }
            _ = sleep => {
                let date = run.scheduled.is_some_and(|(_, d)| d);
                if !run.repeat || date {
                    let _ = std::fs::remove_file(&run.path);
                }
                self.run = None;
                Due::Reload
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
        Local
            .with_ymd_and_hms(y, mo, d, h, mi, s)
            .earliest()
            .map(|d| d.timestamp())
            .unwrap_or(0)
    }

    #[test]
    fn times_as_keepalived_reads_them() {
        let now = local(2026, 6, 10, 12, 0, 0);
        assert_eq!(
            parse_time("12:00:03", now),
            Ok((local(2026, 6, 10, 12, 0, 3), false))
        );
        // Passed today: tomorrow.
        assert_eq!(
            parse_time("11:00:00", now),
            Ok((local(2026, 6, 11, 11, 0, 0), false))
        );
        assert_eq!(
            parse_time("12:00:00", now),
            Ok((local(2026, 6, 11, 12, 0, 0), false))
        );
        assert_eq!(
            parse_time("26-06-10 13:00:00", now),
            Ok((local(2026, 6, 10, 13, 0, 0), true))
        );
        assert_eq!(
            parse_time("2026-06-10 13:00:00", now),
            Ok((local(2026, 6, 10, 13, 0, 0), true))
        );
        let utc = Utc
            .with_ymd_and_hms(2026, 6, 10, 13, 0, 0)
            .earliest()
            .map(|d| d.timestamp());
        let u = parse_time("2026-06-10 13:00:00Z", now);
        if utc.is_some_and(|t| t > now) {
            assert_eq!(u, Ok((utc.unwrap_or(0), true)));
        }
        assert_eq!(
            parse_time("2026-06-10 11:00:00", now),
            Err(TimeError::Past(
                "Reload time 2026-06-10 11:00:00 is in the past - ignoring".into()
            ))
        );
        assert_eq!(
            parse_time("1:2:3", now),
            Err(TimeError::Invalid(
                "Reload time 1:2:3 format is incorrect - ignoring".into()
            ))
        );
        assert_eq!(
            parse_time("25:00:00", now),
            Err(TimeError::Invalid(
                "Reload date/time 25:00:00 invalid - ignoring".into()
            ))
        );
        assert_eq!(
            parse_time("2026-02-30 10:00:00", now),
            Err(TimeError::Invalid(
                "Reload time 2026-02-30 10:00:00 is not valid - ignoring".into()
            ))
        );
        // strptime skips blanks before a number.
        assert_eq!(
            parse_time(" 9:00:00", now),
            Ok((local(2026, 6, 11, 9, 0, 0), false))
        );
    }
}
