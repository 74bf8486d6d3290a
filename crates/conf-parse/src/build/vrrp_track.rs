//! VRRP scripts, tracked files and processes, tracking references and addresses.

use std::net::Ipv4Addr;
use std::time::Duration;

use super::{block, values, Builder};
use crate::diag::{Code, ConfigErr, Diagnostic, Severity};
use crate::model::*;

impl Builder {
    pub(super) fn vrrp_script(&mut self, st: &Stmt) -> Option<VrrpScript> {
        let name = self.name(st)?;
        let mut s = VrrpScript::new(&name);
        s.loc = st.loc.clone();
        for b in block(st) {
            match b.keyword.as_ref() {
                "script" => {
                    if let Some(v) = self.arg(b, 0) {
                        s.script = b.args.join(" ");
                        let _ = v;
                    }
                }
                // keepalived 2.4: milliseconds ("0.5"; at most 3 decimals), under
                // `--compat 2.4.x`; otherwise a fraction is an invalid number, as in 2.2.7.
                "interval" if self.script_ms(b) => {
                    match self.script_ms_value(b) {
                        Some(0) => {
                            let msg = format!("({name}): vrrp script interval must be greater than 0, setting to 1");
                            self.fixup(b, msg);
                            s.interval = Duration::from_secs(1);
                        }
                        Some(ms) => s.interval = Duration::from_millis(ms),
                        None => {
                            let a = b.args.first().cloned().unwrap_or_default();
                            let msg = format!("({name}): vrrp script interval '{a}' must be between 0.001 and 4294 - ignoring");
                            self.invalid(b, msg, None);
                        }
                    }
                }
                "timeout" if self.script_ms(b) => match self.script_ms_value(b) {
                    Some(0) => {
                        let msg = format!(
                            "({name}): vrrp script timeout must be greater than 0, setting to 1"
                        );
                        self.invalid(b, msg, None);
                        s.timeout = Some(Duration::from_secs(1));
                    }
                    Some(ms) => s.timeout = Some(Duration::from_millis(ms)),
                    None => {
                        let a = b.args.first().cloned().unwrap_or_default();
                        let msg = format!("({name}): vrrp script timeout '{a}' invalid - ignoring");
                        self.invalid(b, msg, None);
                    }
                },
                "interval" => {
                    if let Some(v) = self.uint(b, 0, 0, u64::from(u32::MAX) / 1_000_000) {
                        if v == 0 {
                            let msg = format!("({name}): vrrp script interval must be greater than 0, setting to 1");
                            self.fixup(b, msg);
                        }
                        s.interval = Duration::from_secs(v.max(1));
                    }
                }
                "timeout" => {
                    s.timeout = self.secs(b, 0, 0, u64::from(u32::MAX) / 1_000_000);
                    if s.timeout.is_some_and(|t| t.is_zero()) {
                        let msg = format!(
                            "({name}): vrrp script timeout must be greater than 0, setting to 1"
                        );
                        self.invalid(b, msg, None);
                        s.timeout = Some(Duration::from_secs(1));
                    }
                }
                "weight" if b.args.get(1).is_some_and(|o| o != "reverse") => {
                    let o = b.args.get(1).cloned().unwrap_or_default();
                    self.invalid(
                        b,
                        format!("vrrp_script {name} unknown weight option {o}"),
                        None,
                    );
                }
                "weight" => {
                    let (w, r) = self.weight_words(b, 0, -253, 253);
                    if let Some(w) = w {
                        s.weight = w;
                        s.weight_reverse = r;
                    }
                }
                "rise" => {
                    if let Some(v) = self.uint(b, 0, 1, i32::MAX as u64) {
                        s.rise = v as u32;
                    }
                }
                "fall" => {
                    if let Some(v) = self.uint(b, 0, 1, i32::MAX as u64) {
                        s.fall = v as u32;
                    }
                }
                "user" => s.user = self.user(b),
                "init_fail" => s.init_fail = true,
                _ => self.not_supported(b, "vrrp_script"),
            }
        }
        if s.script.is_empty() {
            self.invalid_at_end(
                st,
                &format!("No script set for vrrp_script {name} - removing"),
            );
            // removed, as keepalived does: a track_script naming it is then "not found"
            return None;
        }
        Some(s)
    }

    pub(super) fn track_file(&mut self, st: &Stmt) -> Option<TrackFile> {
        let name = self.name(st)?;
        let mut t = TrackFile {
            name,
            file: String::new(),
            weight: 1,
            weight_reverse: false,
            init_file: None,
            loc: st.loc.clone(),
        };
        for b in block(st) {
            match b.keyword.as_ref() {
                "file" => {
                    if let Some(f) = self.string(b) {
                        t.file = f;
                    }
                }
                "weight" if b.args.is_empty() => self.invalid(
                    b,
                    format!("No weight specified for track file {} - ignoring", t.name),
                    None,
                ),
                "weight" => {
                    let (w, r) = self.weight_words(b, 0, -254, 254);
                    if let Some(w) = w {
                        t.weight = w;
                        t.weight_reverse = r;
                    }
                }
                "init_file" => t.init_file = Some(b.args.clone()),
                _ => self.not_supported(b, "track_file"),
            }
        }
        if t.file.is_empty() {
            let msg = format!("No file set for track_file {} - ignoring", t.name);
            self.invalid_at_end(st, &msg);
        }
        Some(t)
    }

    pub(super) fn track_process(&mut self, st: &Stmt) -> Option<TrackProcess> {
        let name = self.name(st)?;
        let mut t = TrackProcess {
            name,
            process: Vec::new(),
            param_match: None,
            weight: 0,
            weight_reverse: false,
            quorum: 1,
            quorum_max: None,
            delay: None,
            terminate_delay: None,
            fork_delay: None,
            full_command: false,
            loc: st.loc.clone(),
        };
        for b in block(st) {
            match b.keyword.as_ref() {
                "process" => {
                    if self.arg(b, 0).is_some() {
                        t.process = b.args.clone();
                    }
                }
                "param_match" => t.param_match = self.string(b),
                "weight" => {
                    let (w, r) = self.weight_words(b, 0, -254, 254);
                    if let Some(w) = w {
                        t.weight = w;
                        t.weight_reverse = r;
                    }
                }
                "quorum" => {
                    if let Some(v) = self.uint(b, 0, 1, 65535) {
                        t.quorum = v as u32;
                    }
                }
                "quorum_max" => t.quorum_max = self.uint(b, 0, 0, 65535).map(|v| v as u32),
                "delay" => t.delay = self.dur(b, 0, 1, 3_600_000_000),
                "terminate_delay" => t.terminate_delay = self.dur(b, 0, 1, 3_600_000_000),
                "fork_delay" => t.fork_delay = self.dur(b, 0, 1, 3_600_000_000),
                "full_command" => t.full_command = true,
                _ => self.not_supported(b, "vrrp_track_process"),
            }
        }
        if t.process.is_empty() {
            let msg = format!("track process '{}' process name not specified", t.name);
            self.invalid_at_end(st, &msg);
        }
        Some(t)
    }

    pub(super) fn track_refs(&mut self, st: &Stmt, min: i64, max: i64) -> Vec<TrackRef> {
        let mut out = Vec::new();
        for vl in values(st) {
            let Some(name) = vl.words.first() else {
                continue;
            };
            let mut r = TrackRef {
                name: name.clone(),
                weight: None,
                reverse: false,
                loc: vl.loc.clone(),
            };
            let mut i = 1;
            while i < vl.words.len() {
                match vl.words[i].as_str() {
                    "weight" => {
                        let tmp = Stmt {
                            keyword: format!("{} {} weight", st.keyword, name).into(),
                            args: vl.words[i + 1..].to_vec(),
                            body: Body::None,
                            loc: vl.loc.clone(),
                            end_line: EndLine::default(),
                        };
                        r.weight = self.int(&tmp, 0, min, max).map(|v| v as i32);
                        i += 2;
                    }
                    "reverse" => {
                        r.reverse = true;
                        i += 1;
                    }
                    other => {
                        let d = Diagnostic::new(
                            Severity::Warning,
                            Code::InvalidValue,
                            ConfigErr::GeneralError,
                            &vl.loc.0,
                            format!("{}: unknown option '{other}' for {name}", st.keyword),
                        )
                        .with_hint("options are `weight N [reverse]`");
                        self.emit(d);
                        i += 1;
                    }
                }
            }
            out.push(r);
        }
        out
    }

    pub(super) fn ip_address(&mut self, vl: &ValueLine, st: &Stmt) -> Option<IpAddress> {
        let first = vl.words.first()?;
        let tmp = Stmt {
            keyword: st.keyword.clone(),
            args: vl.words.clone(),
            body: Body::None,
            loc: vl.loc.clone(),
            end_line: EndLine::default(),
        };
        let (a, p) = match first.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (first.as_str(), None),
        };
        let addr = self.ip(&tmp, a)?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix_len = match p {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(v) if v <= max => v,
                _ => {
                    self.invalid(
                        &tmp,
                        format!("{}: invalid prefix length '/{p}'", st.keyword),
                        None,
                    );
                    return None;
                }
            },
        };
        let mut ip = IpAddress {
            addr,
            prefix_len,
            brd: None,
            dev: None,
            label: None,
            scope: None,
            peer: None,
            no_track: false,
            preferred_lft: None,
            flags: Default::default(),
            use_vmac: false,
            track_group: None,
            loc: vl.loc.clone(),
        };
        let w = &vl.words;
        let mut i = 1;
        while i < w.len() {
            let key = w[i].as_str();
            let val = w.get(i + 1).cloned();
            let need = |b: &mut Builder| {
                // keepalived checks `label`'s word itself; the others exit (null_strvec)
                let class = if key == "label" {
                    ConfigErr::GeneralError
                } else {
                    ConfigErr::MissingParameter
                };
                let d = Diagnostic::new(
                    Severity::Error,
                    Code::MissingValue,
                    class,
                    &vl.loc.0,
                    format!("{}: '{key}' needs a value", st.keyword),
                );
                b.emit(d);
            };
            match key {
                "dev" | "label" | "scope" | "brd" | "broadcast" | "peer" | "preferred_lft" => {
                    let Some(v) = val else {
                        need(self);
                        break;
                    };
                    match key {
                        "dev" => ip.dev = Some(v),
                        "label" => ip.label = Some(v),
                        "scope" => match super::routes::scope(&v) {
                            Some(sc) => ip.scope = Some(sc),
                            None => {
                                let a = w.first().cloned().unwrap_or_default();
                                let a = a.split('/').next().unwrap_or_default().to_string();
                                self.invalid(
                                    &tmp,
                                    format!("Invalid scope '{v}' specified for {a} - ignoring"),
                                    Some("global, site, link, host, nowhere or a number"),
                                )
                            }
                        },
                        "preferred_lft" => {
                            if v == "forever" {
                                ip.preferred_lft = Some(u32::MAX);
                            } else {
                                match v.parse::<u32>() {
                                    Ok(n) => ip.preferred_lft = Some(n),
                                    Err(_) => self.invalid(
                                        &tmp,
                                        format!("preferred_lft {v} is invalid"),
                                        Some("a number of seconds (0 to 4294967295) or forever"),
                                    ),
                                }
                            }
                        }
                        "brd" | "broadcast" => match v.parse::<Ipv4Addr>() {
                            Ok(b) => ip.brd = Some(b),
                            Err(_) => {
                                self.invalid(&tmp, format!("invalid broadcast address '{v}'"), None)
                            }
                        },
                        _ => {
                            let (pa, pl) = match v.split_once('/') {
                                Some((a, l)) => (a.to_string(), l.parse::<u8>().ok()),
                                None => (v.clone(), None),
                            };
                            if let Some(a) = self.ip(&tmp, &pa) {
                                ip.peer = Some((a, pl));
                            }
                        }
                    }
                    i += 2;
                }
                "no_track" => {
                    ip.no_track = true;
                    i += 1;
                }
                "home" | "-nodad" | "noprefixroute" | "autojoin" | "mngtmpaddr" | "use_vmac" => {
                    match key {
                        "home" => ip.flags.home = true,
                        "-nodad" => ip.flags.dad = true,
                        "noprefixroute" => ip.flags.noprefixroute = true,
                        "autojoin" => ip.flags.autojoin = true,
                        "mngtmpaddr" => ip.flags.mngtmpaddr = true,
                        _ => ip.use_vmac = true,
                    }
                    i += 1;
                }
                "track_group" => {
                    ip.track_group = val;
                    i += 2;
                }
                _ => {
                    let d = Diagnostic::new(
                        Severity::Warning,
                        Code::InvalidValue,
                        ConfigErr::GeneralError,
                        &vl.loc.0,
                        format!("{}: unknown address option '{key}'", st.keyword),
                    )
                    .with_hint("options are dev, label, brd, scope, peer, no_track, preferred_lft, home, -nodad, noprefixroute, mngtmpaddr, autojoin, use_vmac, track_group");
                    self.emit(d);
                    i += 1;
                }
            }
        }
        Some(ip)
    }

    /// keepalived's instance family rule: the first address sets it, later ones must match
    /// (else a general error `msg`, and the caller ignores the address).
    pub(super) fn same_family(
        &mut self,
        family: &mut Option<bool>,
        v6: bool,
        st: &Stmt,
        msg: impl FnOnce() -> String,
    ) -> bool {
        match *family {
            None => {
                *family = Some(v6);
                true
            }
            Some(f) if f == v6 => true,
            Some(_) => {
                self.invalid(st, msg(), Some("an instance is IPv4 or IPv6, not both"));
                false
            }
        }
    }
}

impl Builder {
    /// A vrrp_script `interval`/`timeout` written with a decimal point, read as keepalived 2.4
    /// reads it (milliseconds) under `--compat 2.4.x`. By default (and at 2.2.7) a fraction
    /// stays the invalid number 2.2.7 reports: a 2.2.7 configuration keeps its verdict.
    fn script_ms(&self, b: &Stmt) -> bool {
        b.args.first().is_some_and(|a| a.contains('.'))
            && self
                .compat
                .is_some_and(|c| c >= crate::keywords::Release::V2_4_0)
    }

    /// keepalived 2.4's `read_decimal_unsigned_strvec(.., 3 decimals)` in milliseconds, up to
    /// 4294 s: None when invalid.
    fn script_ms_value(&self, b: &Stmt) -> Option<u64> {
        let a = b.args.first()?;
        let (int, frac) = a.split_once('.').unwrap_or((a.as_str(), ""));
        let digits = |x: &str| x.chars().all(|c| c.is_ascii_digit());
        if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) || frac.len() > 3 {
            return None;
        }
        let whole: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let f: u64 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<3}").parse().ok()?
        };
        let ms = whole.checked_mul(1000)?.checked_add(f)?;
        (ms <= 4294 * 1000).then_some(ms)
    }
}
