//! Health checkers inside a `real_server` (HTTP_GET, SSL_GET, TCP_CHECK, MISC_CHECK, ...)
//! and the top-level `SSL` block.

use std::time::Duration;

use super::{block, span, Builder};
use crate::diag::{Code, ConfigErr, Diagnostic, Severity};
use crate::model::*;

impl Builder {
    pub(super) fn ssl(&mut self, st: &Stmt) -> SslConfig {
        let mut s = SslConfig::default();
        for b in block(st) {
            match b.keyword.as_ref() {
                "password" => s.password = self.string(b),
                "ca" => s.ca = self.string(b),
                "certificate" => s.certificate = self.string(b),
                "key" => s.key = self.string(b),
                _ => {}
            }
        }
        s
    }

    pub(super) fn checker(
        &mut self,
        st: &Stmt,
        rs: &RealServer,
        vs: &VirtualServer,
    ) -> Option<Checker> {
        let kw = st.keyword.as_ref();
        let mut common = CheckerCommon {
            connect_timeout: rs
                .connect_timeout
                .or(vs.connect_timeout)
                .unwrap_or(Duration::from_secs(5)),
            retry: rs
                .retry
                .or(vs.retry)
                .unwrap_or(if kw == "MISC_CHECK" { 0 } else { 1 }),
            // keepalived's per-checker default_delay_before_retry: 3 s for HTTP_GET/SSL_GET,
            // the checker's delay_loop for DNS_CHECK (set below, once delay_loop is known),
            // 1 s for the others.
            delay_before_retry: rs.delay_before_retry.or(vs.delay_before_retry).unwrap_or(
                match kw {
                    "HTTP_GET" | "SSL_GET" => Duration::from_secs(3),
                    _ => Duration::from_secs(1),
                },
            ),
            // keepalived: unset warmup is the checker's delay_loop (set below); 0 is no warmup.
            warmup: rs.warmup.or(vs.warmup).unwrap_or(Duration::MAX),
            delay_loop: rs.delay_loop.unwrap_or(vs.delay_loop),
            alpha: rs.alpha.unwrap_or(vs.alpha),
            ..CheckerCommon::default()
        };
        let mut kind = match kw {
            "HTTP_GET" => CheckerKind::Http(Box::default()),
            "SSL_GET" => CheckerKind::Ssl(Box::default()),
            "TCP_CHECK" => CheckerKind::Tcp,
            "MISC_CHECK" => CheckerKind::Misc(Box::default()),
            "SMTP_CHECK" => CheckerKind::Smtp(Box::default()),
            "DNS_CHECK" => CheckerKind::Dns(Box::default()),
            "UDP_CHECK" => CheckerKind::Udp(Box::default()),
            "PING_CHECK" => CheckerKind::Ping,
            "FILE_CHECK" => CheckerKind::File(Box::default()),
            _ => CheckerKind::Bfd(Box::default()),
        };
        let mut extra = Vec::new();
        for b in block(st) {
            match b.keyword.as_ref() {
                "connect_ip" => common.connect_ip = self.ip_arg(b, 0),
                "connect_port" => common.connect_port = self.uint(b, 0, 1, 65535).map(|x| x as u16),
                "bindto" => common.bindto = self.ip_arg(b, 0),
                "bind_port" => common.bind_port = self.uint(b, 0, 1, 65535).map(|x| x as u16),
                "bind_if" => common.bind_if = self.string(b),
                "fwmark" => {
                    common.fwmark = self.uint(b, 0, 0, u64::from(u32::MAX)).map(|x| x as u32)
                }
                "connect_timeout" => {
                    if let Some(d) = self.dur(b, 0, 1, u64::from(u32::MAX)) {
                        common.connect_timeout = d;
                    }
                }
                "retry" | "nb_get_retry" => {
                    if let Some(r) = self.uint(b, 0, 0, u64::from(u32::MAX)) {
                        common.retry = r as u32;
                    }
                }
                "delay_before_retry" => {
                    if let Some(d) = self.dur(b, 0, 0, u64::MAX / 2) {
                        common.delay_before_retry = d;
                    }
                }
                "warmup" => {
                    if let Some(d) = self.dur(b, 0, 0, u64::MAX / 2) {
                        common.warmup = d;
                    }
                }
                "delay_loop" => {
                    if let Some(d) = self.dur(b, 0, 1, u64::MAX / 2) {
                        common.delay_loop = d;
                    }
                }
                "alpha" => common.alpha = self.boolean(b).unwrap_or(true),
                "log_all_failures" => common.log_all_failures = self.boolean(b).unwrap_or(true),
                other => {
                    let handled = match &mut kind {
                        CheckerKind::Http(h) => self.http_kw(h, b, false),
                        CheckerKind::Ssl(h) => self.http_kw(h, b, true),
                        CheckerKind::Misc(m) => self.misc_kw(m, b),
                        CheckerKind::Smtp(s) => match other {
                            "helo_name" => {
                                s.helo_name = self.string(b);
                                true
                            }
                            "host" => {
                                let h = self.smtp_host(b, &mut common);
                                s.hosts.push(h);
                                true
                            }
                            _ => false,
                        },
                        CheckerKind::Dns(d) => match other {
                            "type" => {
                                if let Some(s) = self.arg(b, 0) {
                                    match DnsType::from_name(s) {
                                        Some(ty) => d.qtype = Some(ty),
                                        None => {
                                            let msg =
                                                format!("Unknown DNS check type {s} - ignoring");
                                            self.invalid(
                                                b,
                                                msg,
                                                Some("use A, NS, CNAME, SOA, MX, TXT, AAAA, RRSIG or DNSKEY"),
                                            )
                                        }
                                    }
                                }
                                true
                            }
                            "name" => {
                                d.name = self.string(b);
                                true
                            }
                            _ => false,
                        },
                        CheckerKind::Udp(u) => {
                            match other {
                                "payload" => {
                                    if b.args.is_empty() {
                                        self.invalid(
                                            b,
                                            "UDP_CHECK payload requires a payload".into(),
                                            Some("write `payload HEX`"),
                                        );
                                    } else {
                                        match HexPattern::parse(&b.args.join(" "), false) {
                                            Some(h) => u.payload = Some(h.data),
                                            None => self.invalid(
                                                b,
                                                "Invalid hex string for UDP_CHECK payload".into(),
                                                Some("hex digits, blanks between groups"),
                                            ),
                                        }
                                    }
                                    true
                                }
                                "require_reply" => {
                                    // keepalived: the reply is required even if its data is bad.
                                    let mut want = HexPattern::default();
                                    if !b.args.is_empty() {
                                        match HexPattern::parse(&b.args.join(" "), true) {
                                        Some(h) => want = h,
                                        None => self.invalid(
                                            b,
                                            "Invalid hex string for UDP_CHECK reply".into(),
                                            Some("hex digits (X: any nibble), blanks between groups"),
                                        ),
                                    }
                                    }
                                    u.require_reply = Some(want);
                                    true
                                }
                                "min_reply_length" => {
                                    u.min_reply_length =
                                        self.uint(b, 0, 0, u64::from(u32::MAX)).map(|x| x as u32);
                                    true
                                }
                                "max_reply_length" => {
                                    u.max_reply_length =
                                        self.uint(b, 0, 0, u64::from(u32::MAX)).map(|x| x as u32);
                                    true
                                }
                                _ => false,
                            }
                        }
                        CheckerKind::File(f) => match other {
                            "track_file" => {
                                let t = self.string(b).unwrap_or_default();
                                if self.track_file_names.contains(&t) {
                                    f.track_file = t;
                                } else if !t.is_empty() {
                                    self.invalid(b, format!("track_file {t} not found"), None);
                                }
                                true
                            }
                            "weight" => {
                                let (w, r) = self.weight_words(b, 0, -254, 254);
                                f.weight = w;
                                f.weight_reverse = r;
                                true
                            }
                            _ => false,
                        },
                        CheckerKind::Bfd(f) => match other {
                            "name" => {
                                f.name = self.string(b).unwrap_or_default();
                                if !f.name.is_empty() && !self.bfd_names.contains(&f.name) {
                                    let (a, p) = (rs.addr, rs.port.unwrap_or_default());
                                    let msg = format!(
                                        "([{a}]:{p}) BFD_CHECK - BFD {} not configured",
                                        f.name
                                    );
                                    self.invalid(b, msg, None);
                                }
                                true
                            }
                            _ => false,
                        },
                        CheckerKind::Tcp | CheckerKind::Ping => false,
                    };
                    if !handled {
                        self.not_supported(b, kw);
                        extra.push(b.clone());
                    }
                }
            }
        }
        let dbr_set = rs.delay_before_retry.is_some()
            || vs.delay_before_retry.is_some()
            || block(st)
                .iter()
                .any(|b| b.keyword.as_ref() == "delay_before_retry");
        if kw == "DNS_CHECK" && !dbr_set {
            common.delay_before_retry = common.delay_loop;
        }
        if common.warmup == Duration::MAX {
            common.warmup = common.delay_loop;
        }
        // keepalived's end-of-block checks, reported on the closing `}`.
        match &kind {
            CheckerKind::Http(h) | CheckerKind::Ssl(h) if h.urls.is_empty() => {
                self.invalid_at_end(st, "HTTP/SSL_GET checker has no urls specified - ignoring")
            }
            CheckerKind::Misc(m) if m.misc_path.is_empty() => self.invalid_at_end(
                st,
                "No script path has been specified for MISC_CHECKER - skipping",
            ),
            CheckerKind::File(f) if f.track_file.is_empty() => {
                self.invalid_at_end(st, "FILE_CHECK has no track_file specified - ignoring")
            }
            _ => {}
        }
        Some(Checker {
            common,
            kind,
            extra,
            loc: st.loc.clone(),
        })
    }

    pub(super) fn http_kw(&mut self, h: &mut HttpCheck, b: &Stmt, ssl: bool) -> bool {
        match b.keyword.as_ref() {
            "virtualhost" => h.virtualhost = self.string(b),
            "http_protocol" => match self.arg(b, 0) {
                Some("1.0") => h.http_protocol = Some(HttpProtocol::Http10),
                Some("1.0C" | "1.0c") => h.http_protocol = Some(HttpProtocol::Http10C),
                Some("1.1") => h.http_protocol = Some(HttpProtocol::Http11),
                Some(o) => {
                    let o = o.to_string();
                    self.invalid(
                        b,
                        format!("unknown http_protocol '{o}'"),
                        Some("use 1.0, 1.0C or 1.1"),
                    )
                }
                None => {}
            },
            "enable_sni" => h.enable_sni = self.boolean(b).unwrap_or(true),
            "fast_recovery" => h.fast_recovery = self.boolean(b).unwrap_or(true),
            "tls_compliant" if ssl => {
                let msg = format!(
                    "Invalid tls_compliant option {}",
                    b.args.first().map_or("", String::as_str)
                );
                if let Some(x) = self.true_false(b, &msg) {
                    h.tls_compliant = x;
                }
            }
            "url" => {
                let mut u = UrlCheck::default();
                for ub in block(b) {
                    match ub.keyword.as_ref() {
                        "path" => u.path = self.string(ub).unwrap_or_default(),
                        "digest" => {
                            if let Some(d) = self.string(ub) {
                                let bytes = (d.len() == 32)
                                    .then(|| HexPattern::parse(&d, false))
                                    .flatten()
                                    .and_then(|h| <[u8; 16]>::try_from(h.data).ok());
                                if let Some(md5) = bytes {
                                    u.digest = Some(md5);
                                } else {
                                    self.invalid(
                                        ub,
                                        format!("digest '{d}' is not an MD5 hex string"),
                                        Some("32 hex digits, as genhash prints"),
                                    );
                                }
                            }
                        }
                        "status_code" => {
                            for a in ub.args.clone() {
                                let parsed = match a.split_once('-') {
                                    Some((x, y)) => {
                                        x.parse::<u16>().ok().zip(y.parse::<u16>().ok())
                                    }
                                    None => a.parse::<u16>().ok().map(|x| (x, x)),
                                };
                                match parsed {
                                    Some((x, y))
                                        if (100..=599).contains(&x) && (x..=599).contains(&y) =>
                                    {
                                        u.status_codes.push((x, y))
                                    }
                                    _ => self.invalid(
                                        ub,
                                        format!("invalid status_code '{a}'"),
                                        Some("use codes or ranges in 100-599, e.g. 200 301-302"),
                                    ),
                                }
                            }
                            // (no value: keepalived accepts it silently)
                        }
                        "virtualhost" => u.virtualhost = self.string(ub),
                        "tls_compliant" if ssl => {
                            let msg = format!(
                                "Invalid tls_compliant option {}",
                                ub.args.first().map_or("", String::as_str)
                            );
                            if let Some(x) = self.true_false(ub, &msg) {
                                u.tls_compliant = Some(x);
                            }
                        }
                        // (no value: keepalived accepts it silently)
                        "regex" => u.regex = ub.args.first().cloned(),
                        "regex_no_match" => u.regex_no_match = true,
                        "regex_options" => {
                            for a in &ub.args {
                                if RegexOption::ALL.iter().any(|o| o.name() == a.as_str())
                                    && !u.regex_options.contains(a)
                                {
                                    u.regex_options.push(a.clone());
                                }
                            }
                        }
                        "regex_min_offset" => u.regex_min_offset = self.regex_offset(ub, "min"),
                        "regex_max_offset" => {
                            u.regex_max_offset = Some(self.regex_offset(ub, "max"))
                        }
                        "regex_stack" => u.regex_stack = self.regex_stack(ub),
                        _ => {
                            self.not_supported(ub, "url");
                            u.extra.push(ub.clone());
                        }
                    }
                }
                self.url_end(b, &mut u);
                if u.path.is_empty() {
                    self.invalid_at_end(b, "HTTP/SSL_GET checker url has no path - ignoring");
                } else {
                    h.urls.push(u);
                }
            }
            _ => return false,
        }
        true
    }

    /// keepalived's `regex_offset_handler`: a decimal number; otherwise logged and 0.
    fn regex_offset(&mut self, st: &Stmt, which: &str) -> usize {
        let msg = match st.args.as_slice() {
            [v] => match v.parse::<usize>() {
                Ok(n) => return n,
                Err(_) => format!("Invalid regex_{which}_offset {v} specified"),
            },
            _ => format!("Missing or too may options for regex_{which}_offset"),
        };
        self.warn(st, msg);
        0
    }

    /// keepalived's `regex_stack_handler`: `START MAX`, START <= MAX.
    fn regex_stack(&mut self, st: &Stmt) -> Option<(u64, u64)> {
        let msg = match st.args.as_slice() {
            [a, b] => match (a.parse::<u64>(), b.parse::<u64>()) {
                (Ok(x), Ok(y)) if x <= y => return Some((x, y)),
                (Ok(_), Ok(_)) => "regex stack start cannot exceed max value",
                (Err(_), _) => "regex_stack invalid start value",
                (_, Err(_)) => "regex_stack invalid max value",
            },
            _ => "regex_stack requires start and max values",
        };
        self.warn(st, msg.to_string());
        None
    }

    /// keepalived's end of a `url` block: regex settings without a regex are dropped, and
    /// `regex_min_offset` beyond `regex_max_offset` drops both (logged, not a config error).
    fn url_end(&mut self, st: &Stmt, u: &mut UrlCheck) {
        if u.regex.is_none()
            && (!u.regex_options.is_empty()
                || u.regex_no_match
                || u.regex_min_offset != 0
                || u.regex_max_offset.is_some()
                || u.regex_stack.is_some())
        {
            self.warn(st, "regex parameters specified without regex".into());
            u.regex_options.clear();
            u.regex_no_match = false;
            u.regex_min_offset = 0;
            u.regex_max_offset = None;
            u.regex_stack = None;
        }
        if let Some(max) = u.regex_max_offset {
            if u.regex_min_offset > max {
                let msg = format!(
                    "regex min offset {} > regex_max_offset {max} - ignoring",
                    u.regex_min_offset
                );
                self.warn(st, msg);
                u.regex_min_offset = 0;
                u.regex_max_offset = None;
            }
        }
    }

    /// A warning: keepalived logs the line and goes on (the `-t` verdict is unchanged).
    /// keepalived logs these (`log_message`), it does not report a configuration error:
    /// shown, but the `-t` verdict stays 0.
    fn warn(&mut self, st: &Stmt, msg: String) {
        let d = Diagnostic::new(
            Severity::Warning,
            Code::InvalidValue,
            ConfigErr::Ok,
            span(st),
            msg,
        );
        self.emit(d);
    }

    pub(super) fn misc_kw(&mut self, m: &mut MiscCheck, b: &Stmt) -> bool {
        match b.keyword.as_ref() {
            "misc_path" => m.misc_path = self.string(b).unwrap_or_default(),
            "misc_timeout" => m.misc_timeout = self.secs(b, 0, 0, u64::from(u32::MAX) / 1_000_000),
            "misc_dynamic" => m.misc_dynamic = true,
            "user" => m.user = self.user(b),
            _ => return false,
        }
        true
    }
}

impl Builder {
    /// SMTP_CHECK `host { }`: connection settings of its own; the other checker settings
    /// in it (retry, delay_loop, ...) are the SMTP_CHECK's, as in keepalived.
    pub(super) fn smtp_host(&mut self, st: &Stmt, common: &mut CheckerCommon) -> SmtpHost {
        let mut h = SmtpHost {
            loc: st.loc.clone(),
            ..SmtpHost::default()
        };
        for b in block(st) {
            match b.keyword.as_ref() {
                "connect_ip" => h.connect_ip = self.ip_arg(b, 0),
                "connect_port" => h.connect_port = self.uint(b, 0, 1, 65535).map(|x| x as u16),
                "bindto" => h.bindto = self.ip_arg(b, 0),
                "bind_port" => h.bind_port = self.uint(b, 0, 1, 65535).map(|x| x as u16),
                "bind_if" => h.bind_if = self.string(b),
                "fwmark" => h.fwmark = self.uint(b, 0, 0, u64::from(u32::MAX)).map(|x| x as u32),
                "connect_timeout" => {
                    if let Some(d) = self.dur(b, 0, 1, u64::from(u32::MAX)) {
                        h.connect_timeout = Some(d);
                    }
                }
                "retry" | "nb_get_retry" => {
                    if let Some(r) = self.uint(b, 0, 0, u64::from(u32::MAX)) {
                        common.retry = r as u32;
                    }
                }
                "delay_before_retry" => {
                    if let Some(d) = self.dur(b, 0, 0, u64::MAX / 2) {
                        common.delay_before_retry = d;
                    }
                }
                "warmup" => {
                    if let Some(d) = self.dur(b, 0, 0, u64::MAX / 2) {
                        common.warmup = d;
                    }
                }
                "delay_loop" => {
                    if let Some(d) = self.dur(b, 0, 1, u64::MAX / 2) {
                        common.delay_loop = d;
                    }
                }
                "alpha" => common.alpha = self.boolean(b).unwrap_or(true),
                "log_all_failures" => common.log_all_failures = self.boolean(b).unwrap_or(true),
                _ => {}
            }
        }
        h
    }
}
