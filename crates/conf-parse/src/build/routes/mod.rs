//! Route and rule lines (`virtual_routes`, `static_routes`, `virtual_rules`, `static_rules`)
//! into typed [`Route`]/[`Rule`] values, as keepalived 2.2.7's `alloc_route` and `alloc_rule`
//! read them (`vrrp/vrrp_iproute.c`, `vrrp/vrrp_iprule.c`), with the errors `keepalived -t`
//! reports located on the line. A line with an error is left out (keepalived frees it). A
//! line using an option keepalived knows but keepalived-rs does not install yet gets a located
//! note and is left out too: it is never installed without the option.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Builder;
use crate::diag::{Code, ConfigErr, Diagnostic, Severity};
use crate::model::*;

mod rule;

/// C `strtoul(s, &end, 0)` over the whole of `s` (leading blanks and `+` allowed; `0x` hex,
/// leading `0` octal): `None` unless every character is used.
pub(crate) fn strtoul_all(s: &str) -> Option<u64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let t = t.strip_prefix('+').unwrap_or(t);
    let (digits, radix) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (h, 16)
    } else if t.len() > 1 && t.starts_with('0') {
        (&t[1..], 8)
    } else {
        (t, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    // saturate as strtoul does (ULONG_MAX then compared with the maximum)
    Some(u64::from_str_radix(digits, radix).unwrap_or(u64::MAX))
}

/// keepalived's `read_unsigned` (base 10, or 0 for C syntax): the value, or the message
/// `read_unsigned_func` reports.
fn read_unsigned(s: &str, base0: bool, max: u64) -> Result<u64, String> {
    let t = s.trim_start_matches([' ', '\t']);
    if t.starts_with('-') {
        return Err(format!("negative number '{s}'"));
    }
    let v = if base0 {
        strtoul_all(t)
    } else {
        let d = t.strip_prefix('+').unwrap_or(t);
        if !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()) {
            Some(d.parse::<u64>().unwrap_or(u64::MAX))
        } else {
            None
        }
    };
    match v {
        None => Err(format!("invalid number '{s}'")),
        Some(v) if v > u64::from(u32::MAX) => {
            Err(format!("number '{s}' outside unsigned integer range"))
        }
        Some(v) if v > max => Err(format!("number '{s}' outside range [0, {max}]")),
        Some(v) => Ok(v),
    }
}

/// The iproute2 directories names are looked up in: `(etc, usr)`.
type IprouteDirs = (String, String);

fn default_iproute_dirs() -> IprouteDirs {
    ("/etc/iproute2".into(), "/usr/share/iproute2".into())
}

thread_local! {
    /// keepalived 2.4's `iproute_etc_dir` / `iproute_usr_dir` of the configuration being built:
    /// global state in keepalived too (a name is looked up in the directories set before it in
    /// the file). Reset by [`reset_iproute_dirs`] when a build starts.
    static IPROUTE_DIRS: std::cell::RefCell<IprouteDirs> =
        std::cell::RefCell::new(default_iproute_dirs());
}

/// Back to the default directories (`/etc/iproute2`, `/usr/share/iproute2`).
pub(crate) fn reset_iproute_dirs() {
    IPROUTE_DIRS.with(|d| *d.borrow_mut() = default_iproute_dirs());
}

/// `iproute_etc_dir` (`etc` true) or `iproute_usr_dir`.
pub(crate) fn set_iproute_dir(etc: bool, dir: &str) {
    IPROUTE_DIRS.with(|d| {
        let mut d = d.borrow_mut();
        if etc {
            d.0 = dir.to_string();
        } else {
            d.1 = dir.to_string();
        }
    });
}

/// The texts of the iproute2 files for `file`, as keepalived 2.4.3's `initialise_list` reads
/// them: `ETC/file`, else `USR/file`; then every `*.conf` of `USR/file.d/` that
/// `ETC/file.d/` does not override, then every `*.conf` of `ETC/file.d/`.
fn iproute_texts(file: &str) -> Vec<String> {
    let (etc, usr) = IPROUTE_DIRS.with(|d| d.borrow().clone());
    let read = |p: &std::path::Path| -> Option<String> {
        std::fs::metadata(p)
            .ok()
            .filter(|m| m.is_file())
            .and_then(|_| std::fs::read_to_string(p).ok())
    };
    let base = |d: &str| std::path::Path::new(d).join(file);
    let mut out: Vec<String> = read(&base(&etc))
        .or_else(|| (!usr.is_empty()).then(|| read(&base(&usr))).flatten())
        .into_iter()
        .collect();
    let confs = |d: &str| -> Vec<std::path::PathBuf> {
        let dir = std::path::Path::new(d).join(format!("{file}.d"));
        let mut v: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
            .map(|it| {
                it.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                            !n.starts_with('.') && n.len() > 5 && n.ends_with(".conf")
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    if !usr.is_empty() {
        let etc_d = std::path::Path::new(&etc).join(format!("{file}.d"));
        for p in confs(&usr) {
            let overridden = p
                .file_name()
                .is_some_and(|n| std::fs::symlink_metadata(etc_d.join(n)).is_ok());
            if !overridden {
                out.extend(read(&p));
            }
        }
    }
    for p in confs(&etc) {
        out.extend(read(&p));
    }
    out
}

/// keepalived's `find_entry`: a number (C syntax) up to `max`, or a name of the iproute2 file
/// `file` (`ID NAME` lines, see [`iproute_texts`]), else of `defaults`.
fn rt_lookup(name: &str, file: &str, defaults: &[(u32, &str)], max: u32) -> Option<u32> {
    if let Some(n) = strtoul_all(name) {
        return u32::try_from(n).ok().filter(|n| *n <= max);
    }
    let mut entries: Vec<(u32, String)> = Vec::new();
    for text in iproute_texts(file) {
        for l in text.lines() {
            let w: Vec<&str> = l.split_whitespace().collect();
            if w.len() != 2 || w[0].starts_with('-') {
                continue;
            }
            if let Some(id) = strtoul_all(w[0])
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n <= max)
            {
                entries.push((id, w[1].to_string()));
            }
        }
    }
    for (id, n) in defaults {
        if !entries.iter().any(|(e, _)| e == id) {
            entries.push((*id, (*n).to_string()));
        }
    }
    entries
        .into_iter()
        .find(|(_, n)| n == name)
        .map(|(id, _)| id)
}

/// `find_rttables_table`.
fn table(s: &str) -> Option<u32> {
    rt_lookup(
        s,
        "rt_tables",
        &[(253, "default"), (254, "main"), (255, "local")],
        u32::MAX,
    )
}

/// `find_rttables_dsfield`.
fn dsfield(s: &str) -> Option<u8> {
    rt_lookup(s, "rt_dsfield", &[], 255).map(|v| v as u8)
}

/// `find_rttables_proto`.
fn proto(s: &str) -> Option<u8> {
    const P: &[(u32, &str)] = &[
        (0, "none"),
        (1, "redirect"),
        (2, "kernel"),
        (3, "boot"),
        (4, "static"),
        (8, "gated"),
        (9, "ra"),
        (10, "mrt"),
        (11, "zebra"),
        (12, "bird"),
        (42, "babel"),
        (13, "dnrouted"),
        (14, "xorp"),
        (15, "ntk"),
        (16, "dhcp"),
    ];
    rt_lookup(s, "rt_protos", P, 255).map(|v| v as u8)
}

/// `find_rttables_scope`: the scope of an address or route.
pub(crate) fn scope(s: &str) -> Option<Scope> {
    const S: &[(u32, &str)] = &[
        (0, "global"),
        (255, "nowhere"),
        (254, "host"),
        (253, "link"),
        (200, "site"),
    ];
    rt_lookup(s, "rt_scopes", S, 255).map(|v| Scope::from_number(v as u8))
}

/// `get_realms`: `REALM[/REALM]`.
fn realms_ok(s: &str) -> bool {
    let r = |x: &str| rt_lookup(x, "rt_realms", &[], 255).is_some();
    match s.split_once('/') {
        Some((a, b)) => r(a) && r(b),
        None => r(s),
    }
}

/// `get_time_rtt`'s syntax: a decimal number of ms, or with `s`/`ms` (`sec`, `secs`) units.
fn rtt_ok(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    let num = ["msecs", "msec", "ms", "secs", "sec", "s"]
        .iter()
        .find_map(|u| l.strip_suffix(u))
        .unwrap_or(&l);
    !num.is_empty()
        && !num.contains(['e', 'E'])
        && num.chars().all(|c| c.is_ascii_digit() || c == '.')
        && num.chars().filter(|c| *c == '.').count() <= 1
        && num != "."
}

/// An address of a route or rule (keepalived's `parse_ipaddress`): the family from a `:`,
/// `/LEN` (if `subnet`) within the family's range, else the full length with an error.
enum Addr {
    /// `default`/`any`/`all`: no family of its own.
    Any,
    /// `default6` (deprecated): the IPv6 any-address.
    Any6,
    /// An address and prefix length.
    Ip(IpAddr, u8),
}

/// What one route or rule line is built from; `bad` once keepalived would drop it.
struct Line<'a> {
    w: &'a [String],
    i: usize,
    v6: Option<bool>,
    missing: bool,
}

impl<'a> Line<'a> {
    /// `strvec_slot(strvec, ++i)`: the next word, or `None` (keepalived's `null_strvec`: a
    /// missing parameter, keepalived exits).
    fn next(&mut self) -> Option<&'a str> {
        self.i += 1;
        let w = self.w.get(self.i).map(String::as_str);
        if w.is_none() {
            self.missing = true;
        }
        w
    }
}

impl Builder {
    pub(super) fn line_stmt(st: &Stmt, vl: &ValueLine) -> Stmt {
        Stmt {
            keyword: st.keyword.clone(),
            args: vl.words.clone(),
            body: Body::None,
            loc: vl.loc.clone(),
            end_line: EndLine::default(),
        }
    }

    fn missing_word(&mut self, st: &Stmt, after: &str) {
        let d = Diagnostic::new(
            Severity::Error,
            Code::MissingValue,
            ConfigErr::MissingParameter,
            &st.loc.0,
            format!("{}: '{after}' needs a value", st.keyword),
        );
        self.emit(d);
    }

    fn num_invalid(&mut self, st: &Stmt, msg: String) {
        let d = Diagnostic::new(
            Severity::Error,
            Code::BadNumber,
            ConfigErr::InvalidNumber,
            &st.loc.0,
            msg,
        );
        self.emit(d);
    }

    /// A keepalived option of a route/rule line that keepalived-rs does not install yet.
    fn line_not_supported(&mut self, st: &Stmt, what: &str, opt: &str) {
        let d = Diagnostic::new(
            Severity::Note,
            Code::NotSupportedYet,
            ConfigErr::Ok,
            &st.loc.0,
            format!(
                "{what} option '{opt}' in {} is recognized, not supported yet: this {what} is not installed",
                st.keyword
            ),
        );
        self.emit(d);
    }

    /// `parse_ipaddress` (`subnet`: `parse_route`'s prefix allowed).
    fn rt_addr(&mut self, st: &Stmt, s: &str, subnet: bool) -> Option<Addr> {
        if subnet {
            match s {
                "default" | "any" | "all" => return Some(Addr::Any),
                "default6" => return Some(Addr::Any6),
                _ => {}
            }
        }
        let v6 = s.contains(':');
        let max: u8 = if v6 { 128 } else { 32 };
        let (a, len) = match s.split_once('/').filter(|_| subnet) {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let mut plen = max;
        if let Some(l) = len {
            match read_unsigned(l, false, u64::from(max)) {
                Ok(n) => plen = n as u8,
                Err(m) => {
                    self.num_invalid(st, m);
                    self.invalid(
                        st,
                        format!("Invalid address prefix len {l} for address {s} - using {max}"),
                        None,
                    );
                }
            }
        }
        let ip = if v6 {
            a.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
        } else {
            a.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
        };
        match ip {
            Some(ip) => Some(Addr::Ip(ip, plen)),
            None => {
                self.invalid(
                    st,
                    format!("VRRP parsed invalid IP {s}. skipping IP..."),
                    None,
                );
                None
            }
        }
    }

    /// One route line (`alloc_route`; `statics`: `static_routes`, where `track_group` is
    /// allowed).
    pub(super) fn route(&mut self, st: &Stmt, vl: &ValueLine, statics: bool) -> Option<Route> {
        let tmp = Self::line_stmt(st, vl);
        let st = &tmp;
        let mut l = Line {
            w: &vl.words,
            i: 0,
            v6: None,
            missing: false,
        };
        let mut kind = RouteType::Unicast;
        let mut dst: Option<Addr> = None;
        let mut dest_word = String::new();
        let (mut src, mut via, mut dev) = (None, None, None);
        let mut table_id = 254u32;
        let mut vrf: Option<String> = None;
        let mut metric = None;
        let mut protocol: Option<u8> = None;
        let mut scope_v = Scope::Global;
        let mut scope_given = false;
        let mut no_track = false;
        let mut track_group: Option<String> = None;
        let mut unsupported: Option<String> = None;
        macro_rules! next {
            () => {
                match l.next() {
                    Some(w) => w,
                    None => {
                        let after = l.w[l.i - 1].clone();
                        self.missing_word(st, &after);
                        return None;
                    }
                }
            };
        }
        macro_rules! bad {
            ($($m:tt)*) => {{
                self.invalid(st, format!($($m)*), None);
                return None;
            }};
        }
        macro_rules! family {
            ($v6:expr, $m:expr) => {{
                let v6: bool = $v6;
                match l.v6 {
                    None => l.v6 = Some(v6),
                    Some(f) if f == v6 => {}
                    Some(_) => bad!("{}", $m),
                }
            }};
        }
        macro_rules! unsup {
            ($o:expr) => {
                if unsupported.is_none() {
                    unsupported = Some($o.to_string());
                }
            };
        }
        macro_rules! u32_opt {
            ($what:expr, $max:expr, $lock:expr) => {{
                let mut v = next!();
                if $lock && v == "lock" {
                    v = next!();
                }
                if let Err(m) = read_unsigned(v, false, $max) {
                    self.num_invalid(st, m);
                    bad!("Invalid {} {v} specified for route", $what);
                }
            }};
        }
        const MIX: &str = "Cannot mix IPv4 and IPv6 addresses for route";
        while l.i < l.w.len() {
            let s = l.w[l.i].as_str();
            match s {
                "inet6" => family!(true, "inet6 specified for IPv4 route"),
                "inet" => family!(false, "inet specified for IPv6 route"),
                "src" => {
                    let a = next!();
                    match self.rt_addr(st, a, false) {
                        Some(Addr::Ip(ip, _)) => {
                            family!(ip.is_ipv6(), MIX);
                            src = Some(ip);
                        }
                        _ => bad!("invalid route src address {a}"),
                    }
                }
                "as" => {
                    if next!() == "to" {
                        next!();
                    }
                    self.fixup(st, "\"as to\" for MPLS only - ignoring".into());
                }
                "via" | "gw" => {
                    if s == "gw" {
                        self.fixup(
                            st,
                            "\"gw\" for routes is deprecated. Please use \"via\"".into(),
                        );
                    }
                    let mut a = next!();
                    let fam = match a {
                        "inet" => {
                            a = next!();
                            Some(false)
                        }
                        "inet6" => {
                            a = next!();
                            Some(true)
                        }
                        _ => l.v6,
                    };
                    if l.v6.is_none() {
                        l.v6 = fam;
                    } else if l.v6 != fam {
                        bad!("{MIX}");
                    }
                    match self.rt_addr(st, a, false) {
                        Some(Addr::Ip(ip, _)) => {
                            family!(ip.is_ipv6(), MIX);
                            via = Some(ip);
                        }
                        _ => bad!("invalid route via address {a}"),
                    }
                }
                "from" => {
                    let a = next!();
                    match self.rt_addr(st, a, true) {
                        None => bad!("invalid route from address {a}"),
                        Some(Addr::Ip(ip, _)) if ip.is_ipv6() => family!(true, MIX),
                        Some(Addr::Any6) => family!(true, MIX),
                        Some(_) => bad!("route from address only supported with IPv6 ({a})"),
                    }
                    unsup!("from");
                }
                "tos" | "dsfield" => {
                    let v = next!();
                    if dsfield(v).is_none() {
                        bad!("TOS value {v} is invalid");
                    }
                    unsup!(s);
                }
                "table" => {
                    let v = next!();
                    match table(v) {
                        Some(t) => {
                            table_id = t;
                            vrf = None;
                        }
                        None => bad!("Routing table {v} not found for route"),
                    }
                }
                "protocol" => {
                    let v = next!();
                    match proto(v) {
                        Some(p) => protocol = Some(p),
                        None => bad!("Protocol {v} not found or invalid for route"),
                    }
                }
                "scope" => {
                    let v = next!();
                    match scope(v) {
                        Some(sc) => {
                            scope_v = sc;
                            scope_given = true;
                        }
                        None => bad!("Scope {v} not found or invalid for route"),
                    }
                }
                "metric" | "priority" | "preference" => {
                    let v = next!();
                    match read_unsigned(v, false, u64::from(u32::MAX)) {
                        Ok(m) => metric = Some(m as u32),
                        Err(m) => {
                            self.num_invalid(st, m);
                            bad!("Invalid metric {v} specified for route");
                        }
                    }
                }
                "dev" | "oif" => dev = Some(next!().to_string()),
                "onlink" => unsup!(s),
                "encap" | "nexthop" => {
                    // encapsulation and multipath syntax: not read here
                    unsup!(s);
                    break;
                }
                "expires" => {
                    let v = next!();
                    if l.v6 == Some(false) {
                        bad!("expires is only valid for IPv6");
                    }
                    l.v6 = Some(true);
                    if let Err(m) = read_unsigned(v, false, u64::from(u32::MAX)) {
                        self.num_invalid(st, m);
                        bad!("Invalid expires time {v} specified for route");
                    }
                    unsup!(s);
                }
                "mtu" => {
                    u32_opt!("MTU", u64::from(u32::MAX), true);
                    unsup!(s);
                }
                "advmss" | "reordering" | "cwnd" | "ssthresh" => {
                    let what = match s {
                        "reordering" => "reordering value",
                        "cwnd" => "cwnd value",
                        "ssthresh" => "ssthresh value",
                        _ => "advmss",
                    };
                    u32_opt!(what, u64::from(u32::MAX), true);
                    unsup!(s);
                }
                "window" | "initcwnd" | "initrwnd" => {
                    u32_opt!(format!("{s} value"), u64::from(u32::MAX), false);
                    unsup!(s);
                }
                "hoplimit" => {
                    u32_opt!("hoplimit", 255, false);
                    unsup!(s);
                }
                "quickack" | "fastopen_no_cookie" => {
                    u32_opt!(format!("{s} value"), 1, false);
                    unsup!(s);
                }
                "rtt" | "rttvar" | "rto_min" => {
                    let mut v = next!();
                    if v == "lock" {
                        v = next!();
                    }
                    if !rtt_ok(v) {
                        if s == "rto_min" {
                            bad!("Invalid rto_min value {v} specified for route");
                        }
                        bad!("Invalid {s} {v} for route");
                    }
                    unsup!(s);
                }
                "realms" => {
                    let v = next!();
                    if !realms_ok(v) {
                        bad!("Invalid realms {v} for route");
                    }
                    if l.v6 == Some(true) {
                        bad!("realms are only valid for IPv4");
                    }
                    l.v6 = Some(false);
                    unsup!(s);
                }
                "features" => {
                    let v = next!();
                    if v != "ecn" {
                        self.fixup(st, format!("feature {v} not supported"));
                    }
                    unsup!(s);
                }
                "congctl" => {
                    if next!() == "lock" {
                        next!();
                    }
                    unsup!(s);
                }
                "pref" => {
                    let v = next!();
                    if l.v6 == Some(false) {
                        bad!("pref is only valid for IPv6");
                    }
                    l.v6 = Some(true);
                    if !matches!(v, "low" | "medium" | "high") {
                        if let Err(m) = read_unsigned(v, false, 255) {
                            self.num_invalid(st, m);
                            bad!("Invalid pref value {v} specified for route");
                        }
                    }
                    unsup!(s);
                }
                "ttl-propagate" => {
                    let v = next!();
                    if !matches!(v, "enabled" | "disabled") {
                        self.fixup(st, format!("ttl-propagate value {v} not recognised"));
                    }
                    unsup!(s);
                }
                "add" | "prepend" | "append" => unsup!(s),
                "or" => {
                    self.fixup(
                        st,
                        "\"or\" for routes is deprecated. Please use \"nexthop\"".into(),
                    );
                    let a = next!();
                    if !matches!(self.rt_addr(st, a, false), Some(Addr::Ip(..))) {
                        bad!("Invalid \"or\" address {a}");
                    }
                    unsup!(s);
                }
                "no_track" => no_track = true,
                "track_group" if statics => {
                    let g = next!();
                    if !self.static_track_group(st, g, &mut track_group) {
                        // keepalived stops at the duplicate, which is then trailing nonsense
                        bad!("Route has trailing nonsense - {g}");
                    }
                }
                // keepalived: the VRF's table, as `table` (the last of the two counts)
                "vrf" => vrf = Some(next!().to_string()),
                _ => {
                    let mut d = s;
                    if s == "to" {
                        d = next!();
                    } else if let Some(t) = RouteType::parse(s) {
                        kind = t;
                        d = next!();
                    }
                    dest_word = d.to_string();
                    match self.rt_addr(st, d, true) {
                        None => bad!("unknown route keyword {d}"),
                        Some(a) => {
                            match a {
                                Addr::Ip(ip, _) => family!(
                                    ip.is_ipv6(),
                                    format!("Cannot mix IPv4 and IPv6 addresses for route ({d})")
                                ),
                                Addr::Any6 => family!(
                                    true,
                                    format!("Cannot mix IPv4 and IPv6 addresses for route ({d})")
                                ),
                                Addr::Any => {}
                            }
                            dst = Some(a);
                        }
                    }
                }
            }
            l.i += 1;
        }
        debug_assert!(!l.missing);
        let Some(dst) = dst else {
            bad!("Route must have a destination");
        };
        if !no_track {
            if protocol.is_some_and(|p| p != RTPROT_KEEPALIVED) {
                self.fixup(
                    st,
                    format!("Route cannot be tracked if protocol is not RTPROT_KEEPALIVED({RTPROT_KEEPALIVED}), resetting protocol"),
                );
            }
            // keepalived 2.2.7 tracks a route through its interface
            if dev.is_none() {
                self.fixup(
                    st,
                    format!("Warning - cannot track route {dest_word} with no interface specified, not tracking"),
                );
            }
        }
        if let Some(o) = unsupported {
            self.line_not_supported(st, "route", &o);
            return None;
        }
        if track_group.is_some() && dev.is_none() {
            self.fixup(
                st,
                "Static route cannot have track group if no oif specified".into(),
            );
            track_group = None;
        }
        let v6 = l.v6.unwrap_or(false);
        let (dst, prefix_len) = match dst {
            Addr::Ip(ip, len) => (ip, len),
            Addr::Any6 => (IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
            Addr::Any if v6 => (IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
            Addr::Any => (IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        };
        Some(Route {
            kind,
            dst,
            prefix_len,
            src,
            via,
            dev,
            table: table_id,
            vrf,
            metric,
            protocol: if no_track {
                protocol.unwrap_or(RTPROT_KEEPALIVED)
            } else {
                RTPROT_KEEPALIVED
            },
            scope: scope_v,
            scope_given,
            protocol_given: protocol.is_some(),
            no_track,
            track_group,
            loc: vl.loc.clone(),
        })
    }
}

#[cfg(test)]
mod tests;
