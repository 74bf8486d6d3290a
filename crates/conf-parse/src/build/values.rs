//! Value helpers shared by every block: numbers, durations, booleans, addresses, words,
//! scripts, names; each reports keepalived's error for a bad value.

use std::net::IpAddr;
use std::time::Duration;

use super::{span, Builder};
use crate::diag::{Code, ConfigErr, Severity, Span};
use crate::model::*;

/// Parse keepalived's decimal seconds ("1", "0.5", "2.000001") into microseconds.
pub(crate) fn parse_decimal_us(s: &str) -> Option<u64> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 6 {
        return None;
    }
    let i: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut f: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    for _ in frac.len()..6 {
        f *= 10;
    }
    i.checked_mul(1_000_000)?.checked_add(f)
}

/// Where keepalived reports an end-of-block check: the closing `}` (the keyword's line when the
/// block is not closed).
pub(super) fn end_span(st: &Stmt) -> Span {
    let mut sp = span(st).clone();
    if st.end_line.0 > 0 {
        sp.line = st.end_line.0;
        sp.col = 1;
    }
    sp
}

/// Keywords whose keepalived handler reports a missing value itself (a general error) instead of
/// exiting in `null_strvec` (exit 2), as `keepalived -t` 2.2.7 shows.
const SELF_CHECKED: &[&str] = &[
    "router_id",
    "notification_email_from",
    "default_interface",
    "lvs_sync_daemon",
    "lvs_timeouts",
    "script_user",
    "instance",
    "net_namespace",
    "reload_time_file",
    "notify_fifo",
    "vrrp_notify_fifo",
    "lvs_notify_fifo",
    "notify_fifo_script",
    "vrrp_notify_fifo_script",
    "lvs_notify_fifo_script",
    "vrrp_rt_priority",
    "checker_rt_priority",
    "bfd_rt_priority",
    "vrrp_priority",
    "checker_priority",
    "bfd_priority",
    "vrrp_cpu_affinity",
    "checker_cpu_affinity",
    "bfd_cpu_affinity",
    "vrrp_rx_bufs_policy",
    "snmp_socket",
    "virtualhost",
    "misc_path",
    "helo_name",
    "script",
    "file",
];

pub(super) fn fmt_us(us: u64) -> String {
    crate::print::fmt_duration(Duration::from_micros(us))
}

impl Builder {
    pub(super) fn arg<'s>(&mut self, st: &'s Stmt, i: usize) -> Option<&'s str> {
        match st.args.get(i) {
            Some(a) => Some(a.as_str()),
            None => {
                // Most keepalived handlers read the missing word and exit (`null_strvec`,
                // exit 2); these check the count themselves: a general error, parsing goes on.
                let class = if i == 0 && SELF_CHECKED.contains(&st.keyword.as_ref()) {
                    ConfigErr::GeneralError
                } else {
                    ConfigErr::MissingParameter
                };
                let d = self
                    .err(
                        Code::MissingValue,
                        class,
                        span(st),
                        format!("'{}' needs a value", st.keyword),
                    )
                    .with_hint(format!("write `{} VALUE`", st.keyword));
                self.emit(d);
                None
            }
        }
    }

    pub(super) fn num_err(&mut self, st: &Stmt, s: &str, range: String) {
        let d = self
            .err(
                Code::OutOfRange,
                ConfigErr::InvalidNumber,
                span(st),
                format!("{} '{s}' outside range {range}", st.keyword),
            )
            .with_hint(format!("use a value in {range}"));
        self.emit(d);
    }

    pub(super) fn bad_num(&mut self, st: &Stmt, s: &str) {
        let d = self.err(
            Code::BadNumber,
            ConfigErr::InvalidNumber,
            span(st),
            format!("{}: '{s}' is not a valid number", st.keyword),
        );
        self.emit(d);
    }

    /// Unsigned integer argument `i` in [min, max].
    pub(super) fn uint(&mut self, st: &Stmt, i: usize, min: u64, max: u64) -> Option<u64> {
        let s = self.arg(st, i)?;
        match s.parse::<u64>() {
            Ok(v) if v >= min && v <= max => Some(v),
            Ok(_) => {
                self.num_err(st, s, format!("[{min}, {max}]"));
                None
            }
            Err(_) => {
                let digits = s.strip_prefix('-').unwrap_or(s);
                if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
                    self.num_err(st, s, format!("[{min}, {max}]"));
                } else {
                    self.bad_num(st, s);
                }
                None
            }
        }
    }

    pub(super) fn int(&mut self, st: &Stmt, i: usize, min: i64, max: i64) -> Option<i64> {
        let s = self.arg(st, i)?;
        match s.parse::<i64>() {
            Ok(v) if v >= min && v <= max => Some(v),
            Ok(_) => {
                self.num_err(st, s, format!("[{min}, {max}]"));
                None
            }
            Err(_) => {
                let digits = s.trim_start_matches(['-', '+']);
                if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
                    self.num_err(st, s, format!("[{min}, {max}]"));
                } else {
                    self.bad_num(st, s);
                }
                None
            }
        }
    }

    /// Decimal seconds argument in [min_us, max_us] microseconds.
    pub(super) fn dur(
        &mut self,
        st: &Stmt,
        i: usize,
        min_us: u64,
        max_us: u64,
    ) -> Option<Duration> {
        let s = self.arg(st, i)?;
        match parse_decimal_us(s) {
            Some(us) if us >= min_us && us <= max_us => Some(Duration::from_micros(us)),
            Some(_) => {
                self.num_err(
                    st,
                    s,
                    format!("[{}, {}] seconds", fmt_us(min_us), fmt_us(max_us)),
                );
                None
            }
            None => {
                self.bad_num(st, s);
                None
            }
        }
    }

    /// Whole seconds in [min, max].
    pub(super) fn secs(&mut self, st: &Stmt, i: usize, min: u64, max: u64) -> Option<Duration> {
        self.uint(st, i, min, max).map(Duration::from_secs)
    }

    /// A boolean keyword: bare = true, or on/off/true/false/yes/no.
    pub(super) fn boolean(&mut self, st: &Stmt) -> Option<bool> {
        let Some(s) = st.args.first() else {
            return Some(true);
        };
        match s.to_ascii_lowercase().as_str() {
            "on" | "true" | "yes" => Some(true),
            "off" | "false" | "no" => Some(false),
            _ => {
                let d = self
                    .err(
                        Code::InvalidValue,
                        ConfigErr::GeneralError,
                        span(st),
                        format!("{}: invalid boolean '{s}'", st.keyword),
                    )
                    .with_hint("use on/off, true/false or yes/no (or the keyword alone for true)");
                self.emit(d);
                None
            }
        }
    }

    pub(super) fn string(&mut self, st: &Stmt) -> Option<String> {
        self.arg(st, 0).map(str::to_string)
    }

    pub(super) fn ip(&mut self, st: &Stmt, s: &str) -> Option<IpAddr> {
        match s.parse::<IpAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                let d = self.err(
                    Code::InvalidValue,
                    ConfigErr::GeneralError,
                    span(st),
                    format!("{}: '{s}' is not a valid IP address", st.keyword),
                );
                self.emit(d);
                None
            }
        }
    }

    pub(super) fn ip_arg(&mut self, st: &Stmt, i: usize) -> Option<IpAddr> {
        let s = self.arg(st, i)?.to_string();
        self.ip(st, &s)
    }

    /// A general error found by an end-of-block check: keepalived reports it on the `}`
    /// closing `st`'s block (on `st`'s own line when the block is not closed).
    pub(super) fn invalid_at_end(&mut self, st: &Stmt, msg: &str) {
        let d = self.err(
            Code::InvalidValue,
            ConfigErr::GeneralError,
            &end_span(st),
            msg.to_string(),
        );
        self.emit(d);
    }

    /// [`Builder::fixup`] reported on the `}` closing `st`'s block.
    pub(super) fn fixup_at_end(&mut self, st: &Stmt, msg: &str) {
        let mut d = self.err(
            Code::InvalidValue,
            ConfigErr::GeneralError,
            &end_span(st),
            msg.to_string(),
        );
        d.severity = Severity::Warning;
        self.emit(d);
    }

    /// Something keepalived reports as a configuration error but corrects and runs with (a value
    /// reset, a setting cleared, an item ignored): a warning here, so that the daemon starts as
    /// keepalived does, while `-t` exits 5 as keepalived's does.
    pub(super) fn fixup(&mut self, st: &Stmt, msg: String) {
        let mut d = self.err(Code::InvalidValue, ConfigErr::GeneralError, span(st), msg);
        d.severity = Severity::Warning;
        self.emit(d);
    }

    /// [`Builder::fixup`] with a hint.
    pub(super) fn fixup_hint(&mut self, st: &Stmt, msg: String, hint: &str) {
        let mut d = self
            .err(Code::InvalidValue, ConfigErr::GeneralError, span(st), msg)
            .with_hint(hint);
        d.severity = Severity::Warning;
        self.emit(d);
    }

    pub(super) fn invalid(&mut self, st: &Stmt, msg: String, hint: Option<&str>) {
        let mut d = self.err(Code::InvalidValue, ConfigErr::GeneralError, span(st), msg);
        if let Some(h) = hint {
            d = d.with_hint(h);
        }
        self.emit(d);
    }

    pub(super) fn script(&mut self, st: &Stmt) -> Option<Box<Script>> {
        let cmd = self.arg(st, 0)?.to_string();
        Some(Box::new(Script {
            command: cmd,
            user: st.args.get(1).cloned(),
            group: st.args.get(2).cloned(),
        }))
    }

    pub(super) fn user(&mut self, st: &Stmt) -> Option<(String, Option<String>)> {
        let u = self.arg(st, 0)?.to_string();
        Some((u, st.args.get(1).cloned()))
    }

    pub(super) fn name(&mut self, st: &Stmt) -> Option<String> {
        match st.args.first() {
            Some(n) => Some(n.clone()),
            None => {
                // keepalived checks the name of these itself (a general error, parsing goes
                // on); the others read the missing word and exit (`null_strvec`).
                let class = match st.keyword.as_ref() {
                    "vrrp_instance" | "vrrp_sync_group" => ConfigErr::GeneralError,
                    _ => ConfigErr::MissingParameter,
                };
                let d = self
                    .err(
                        Code::MissingValue,
                        class,
                        span(st),
                        format!("'{}' needs a name", st.keyword),
                    )
                    .with_hint(format!("write `{} NAME {{`", st.keyword));
                self.emit(d);
                None
            }
        }
    }

    pub(super) fn weight_words(
        &mut self,
        st: &Stmt,
        i: usize,
        min: i64,
        max: i64,
    ) -> (Option<i32>, bool) {
        let w = self.int(st, i, min, max).map(|v| v as i32);
        let rev = st.args.get(i + 1).map(String::as_str) == Some("reverse");
        (w, rev)
    }
}
