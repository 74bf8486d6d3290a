//! Checker definitions: plain data, `Hash + Eq` so identical checks can be deduplicated.
//!
//! These are the *resolved* values of keepalived's checker blocks: conf-parse (or the director)
//! fills in keepalived's defaults (see [`CheckParams::keepalived_defaults`] and
//! [`ConnOpts::DEFAULT_CONNECT_TIMEOUT`]) before handing them to this crate.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// The real server a check is about. The checker connects to `addr` unless
/// `connect_ip`/`connect_port` override it (keepalived: `co->dst = rs->addr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target {
    /// Real server address and port (the port is the real server's port; 0 for fwmark services).
    pub addr: SocketAddr,
}

impl Target {
    /// Target for a real server at `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr }
    }
}

/// Connection options common to the network checkers (keepalived's `conn_opts_t`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnOpts {
    /// `connect_ip`: destination address instead of the real server's.
    pub connect_ip: Option<IpAddr>,
    /// `connect_port`: destination port instead of the real server's.
    pub connect_port: Option<u16>,
    /// `bindto`: local source address.
    pub bindto: Option<IpAddr>,
    /// `bind_port`: local source port.
    pub bind_port: Option<u16>,
    /// `bind_if`: SO_BINDTODEVICE interface (required for IPv6 link-local destinations).
    pub bind_if: Option<String>,
    /// `fwmark`: SO_MARK on the checker's socket.
    pub fwmark: Option<u32>,
    /// `connect_timeout`: bound of every single network step (connect, each read, each write),
    /// as in keepalived. The whole check is additionally bounded by [`Limits::total_timeout`].
    pub connect_timeout: Duration,
}

impl ConnOpts {
    /// keepalived's default `connect_timeout` (virtual server `connection_to` = 5 s).
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

    /// The socket address the checker talks to for `target`.
    pub fn destination(&self, target: &Target) -> SocketAddr {
        let ip = self.connect_ip.unwrap_or(target.addr.ip());
        let port = self.connect_port.unwrap_or(target.addr.port());
        SocketAddr::new(ip, port)
    }
}

impl Default for ConnOpts {
    fn default() -> Self {
        Self {
            connect_ip: None,
            connect_port: None,
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

/// `http_protocol`: what the GET request line and headers look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HttpProtocol {
    /// `GET path HTTP/1.0` without `Connection: close` (keepalived's default).
    #[default]
    Http10,
    /// `1.0C`: HTTP/1.0 with `Connection: close`.
    Http10Close,
    /// `1.1`: HTTP/1.1 with `Connection: close`.
    Http11,
}

/// An inclusive range of accepted HTTP status codes (`status_code 200-299 302`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusRange {
    /// First accepted code.
    pub lo: u16,
    /// Last accepted code (inclusive).
    pub hi: u16,
}

impl StatusRange {
    /// A single code.
    pub fn single(code: u16) -> Self {
        Self { lo: code, hi: code }
    }
}

/// One `url { }` block of HTTP_GET / SSL_GET.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Url {
    /// `path` (request target, sent verbatim).
    pub path: String,
    /// `digest`: expected MD5 of the body (as keepalived computes it, see [`crate::http`]).
    pub digest: Option<[u8; 16]>,
    /// `status_code` ranges; empty means keepalived's default 200-299.
    pub status_codes: Vec<StatusRange>,
    /// `virtualhost` of this url (overrides the checker's).
    pub virtualhost: Option<String>,
    /// `regex` (with `regex_no_match`, `regex_options`, `regex_min_offset`,
    /// `regex_max_offset`): the body must (or must not) match. See [`crate::body_regex`].
    pub regex: Option<crate::body_regex::UrlRegex>,
    /// SSL_GET `tls_compliant` (keepalived 2.4; the url's or its checker's): end the TLS
    /// session with a close_notify alert. Without it the session is dropped quietly, as
    /// keepalived 2.4 does (`SSL_set_quiet_shutdown`).
    pub tls_compliant: bool,
}

impl Url {
    /// A url with keepalived's defaults (no digest, status 200-299).
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            digest: None,
            status_codes: Vec::new(),
            virtualhost: None,
            regex: None,
            tls_compliant: false,
        }
    }

    /// Is `code` accepted? keepalived: codes outside 100..=599 never are; no ranges = 200..=299.
    pub fn accepts(&self, code: u16) -> bool {
        if !(100..=599).contains(&code) {
            return false;
        }
        if self.status_codes.is_empty() {
            return (200..=299).contains(&code);
        }
        self.status_codes
            .iter()
            .any(|r| r.lo <= code && code <= r.hi)
    }
}

/// HTTP_GET / SSL_GET.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct HttpCheck {
    /// `url` blocks. The scheduler fetches one url per check, walking them as keepalived
    /// (see [`crate::state`]); [`crate::check`] alone fetches all of them in order.
    pub urls: Vec<Url>,
    /// `fast_recovery`: no delay between checks while the checker never ran or is down with
    /// no failed url pending (keepalived's `epilog`).
    pub fast_recovery: bool,
    /// `http_protocol`.
    pub protocol: HttpProtocol,
    /// `virtualhost` of the checker (Host header; url's wins; else the real/virtual server's,
    /// which the director passes here).
    pub virtualhost: Option<String>,
    /// `enable_sni` (SSL_GET only).
    pub enable_sni: bool,
    /// `sni_name` (SSL_GET only; implies enable_sni in keepalived).
    pub sni_name: Option<String>,
}

/// MISC_CHECK.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MiscCheck {
    /// `misc_path` split into argv (conf-parse splits the quoted string; `argv[0]` is the program).
    pub argv: Vec<String>,
    /// `misc_timeout`, resolved: keepalived uses the virtual server's delay_loop when unset.
    /// The script gets SIGTERM at the timeout and SIGKILL 2 s later (whole process group).
    pub timeout: Duration,
    /// `misc_dynamic`: exit 0 = up with configured weight, exit 2+N = up with weight N, else down.
    pub dynamic: bool,
    /// `user` / `group` to run the script as (names; resolved at run time).
    pub user: Option<String>,
    /// Group name (`user USER GROUP`).
    pub group: Option<String>,
    /// `enable_script_security`: refuse scripts (and their directories) writable by non-root.
    pub script_security: bool,
    /// `use_symlink_paths`: run the path as written, not its symbolic links resolved.
    pub keep_symlinks: bool,
}

/// SMTP_CHECK.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SmtpCheck {
    /// `helo_name` (keepalived default "smtpchecker.keepalived.org").
    pub helo_name: String,
}

impl SmtpCheck {
    /// keepalived's default HELO name.
    pub const DEFAULT_HELO: &'static str = "smtpchecker.keepalived.org";
}

impl Default for SmtpCheck {
    fn default() -> Self {
        Self {
            helo_name: Self::DEFAULT_HELO.to_string(),
        }
    }
}

/// DNS_CHECK (over UDP, like keepalived).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DnsCheck {
    /// `type`: query type number (A=1, NS=2, CNAME=5, SOA=6, MX=15, TXT=16, AAAA=28, RRSIG=46,
    /// DNSKEY=48); keepalived's default is SOA. See [`crate::dns::qtype_from_name`].
    pub qtype: u16,
    /// `name` to query; keepalived's default is "" (the root).
    pub name: String,
    /// Extension (not a keepalived keyword): the answer section must contain one of these
    /// addresses (A/AAAA). Empty = keepalived's semantics (any NOERROR reply is up).
    pub expect_addrs: Vec<IpAddr>,
}

impl Default for DnsCheck {
    fn default() -> Self {
        Self {
            qtype: crate::dns::TYPE_SOA,
            name: String::new(),
            expect_addrs: Vec::new(),
        }
    }
}

/// UDP_CHECK.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UdpCheck {
    /// `payload` (decoded hex); `None` = keepalived's 32-byte "keepalived check - " filler.
    pub payload: Option<Vec<u8>>,
    /// `require_reply`: a reply must arrive (without it, silence until the timeout is success and
    /// only an ICMP error is a failure).
    pub require_reply: bool,
    /// Expected reply prefix (`require_reply HEX`), compared on min(len(reply), len(pattern)).
    pub reply_data: Option<Vec<u8>>,
    /// Mask of don't-care bits for `reply_data` (1 bits are ignored; from `?` wildcards).
    pub reply_mask: Option<Vec<u8>>,
    /// `min_reply_length` (default 0).
    pub min_reply_len: u16,
    /// `max_reply_length` (default 255).
    pub max_reply_len: u16,
}

impl Default for UdpCheck {
    fn default() -> Self {
        Self {
            payload: None,
            require_reply: false,
            reply_data: None,
            reply_mask: None,
            min_reply_len: 0,
            max_reply_len: 255,
        }
    }
}

/// FILE_CHECK: the file holds an integer status (strtol base 0); see [`crate::file`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileCheck {
    /// The tracked file's path (`track_file` → its `file`).
    pub path: PathBuf,
    /// `weight` (0 = no weight: non-zero status means down).
    pub weight: i32,
    /// `weight ... reverse`.
    pub reverse: bool,
}

/// The kind-specific part of a checker.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CheckKind {
    /// TCP_CHECK: connect succeeds.
    Tcp,
    /// HTTP_GET.
    Http(HttpCheck),
    /// SSL_GET (HTTP over TLS; certificates are not verified, as in keepalived).
    Ssl(HttpCheck),
    /// MISC_CHECK.
    Misc(MiscCheck),
    /// SMTP_CHECK.
    Smtp(SmtpCheck),
    /// DNS_CHECK.
    Dns(DnsCheck),
    /// UDP_CHECK.
    Udp(UdpCheck),
    /// PING_CHECK (ICMP / ICMPv6 echo).
    Ping,
    /// FILE_CHECK.
    File(FileCheck),
}

impl CheckKind {
    /// keepalived's name of the checker block.
    pub fn name(&self) -> &'static str {
        match self {
            CheckKind::Tcp => "TCP_CHECK",
            CheckKind::Http(_) => "HTTP_GET",
            CheckKind::Ssl(_) => "SSL_GET",
            CheckKind::Misc(_) => "MISC_CHECK",
            CheckKind::Smtp(_) => "SMTP_CHECK",
            CheckKind::Dns(_) => "DNS_CHECK",
            CheckKind::Udp(_) => "UDP_CHECK",
            CheckKind::Ping => "PING_CHECK",
            CheckKind::File(_) => "FILE_CHECK",
        }
    }
}

/// A checker: what to do for one check, independent of scheduling and of the up/down logic.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Checker {
    /// Kind-specific settings.
    pub kind: CheckKind,
    /// Connection options (ignored by MISC_CHECK and FILE_CHECK).
    pub conn: ConnOpts,
}

impl Checker {
    /// A checker of `kind` with default connection options.
    pub fn new(kind: CheckKind) -> Self {
        Self {
            kind,
            conn: ConnOpts::default(),
        }
    }
}

/// Scheduling and up/down parameters of one checker (resolved: keepalived's inheritance
/// checker → real_server → virtual_server → per-kind default already applied).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CheckParams {
    /// `delay_loop`: interval between checks.
    pub delay_loop: Duration,
    /// `retry` (or the deprecated `nb_get_retry`): failures tolerated while up before going
    /// down; the checker goes down on failure number `retry + 1`.
    pub retry: u32,
    /// `delay_before_retry`: interval after a tolerated failure.
    pub delay_before_retry: Duration,
    /// `warmup`: the first check starts at a random point in `[0, warmup]` (default delay_loop).
    pub warmup: Duration,
    /// `alpha`: start down; one success brings it up.
    pub alpha: bool,
    /// `log_all_failures`: log every failure, not only state changes (advice for the caller;
    /// the scheduler reports it in [`crate::scheduler::Transition`]-less `Failure` events).
    pub log_all_failures: bool,
}

impl CheckParams {
    /// keepalived's defaults for a checker of `kind` whose (inherited) delay_loop is `delay_loop`
    /// and which sets nothing itself: retry 1 (MISC 0, DNS 3, FILE 0), delay_before_retry 1 s
    /// (HTTP/SSL 3 s, DNS = delay_loop), warmup = delay_loop, alpha off.
    pub fn keepalived_defaults(kind: &CheckKind, delay_loop: Duration) -> Self {
        let (retry, dbr) = match kind {
            CheckKind::Misc(_) => (0, Duration::from_secs(1)),
            CheckKind::Dns(_) => (3, delay_loop),
            CheckKind::Http(_) | CheckKind::Ssl(_) => (1, Duration::from_secs(3)),
            CheckKind::File(_) => (0, Duration::ZERO),
            _ => (1, Duration::from_secs(1)),
        };
        Self {
            delay_loop,
            retry,
            delay_before_retry: dbr,
            warmup: delay_loop,
            alpha: false,
            log_all_failures: false,
        }
    }

    /// The state a checker starts in: down in alpha mode, up otherwise (keepalived).
    pub fn initial_up(&self) -> bool {
        !self.alpha
    }
}

/// Resource bounds applied to every check (not keepalived keywords).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Maximum size of an HTTP response head (status line + headers). keepalived's buffer is 4 KiB.
    pub max_header_bytes: usize,
    /// Maximum body bytes read for a digest; larger bodies fail the check.
    pub max_body_bytes: u64,
    /// Whole-check deadline as a multiple of `connect_timeout` (slowloris bound): a server that
    /// trickles one byte per `connect_timeout - ε` is still cut off.
    pub total_timeout_factor: u32,
    /// Maximum bytes of one SMTP reply line (keepalived: 512).
    pub max_line_bytes: usize,
    /// The window a url `regex` is searched in while the body streams (see
    /// [`crate::body_regex`]): memory per check; matches up to half of it are always found.
    pub regex_window_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_header_bytes: 16 * 1024,
            max_body_bytes: 16 * 1024 * 1024,
            total_timeout_factor: 3,
            max_line_bytes: 512,
            regex_window_bytes: 256 * 1024,
        }
    }
}

impl Limits {
    /// The whole-check deadline for a checker with `connect_timeout`.
    pub fn total_timeout(&self, connect_timeout: Duration) -> Duration {
        connect_timeout.saturating_mul(self.total_timeout_factor.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves keepalived's status-code defaults: no ranges = 200..=299; ranges replace the default;
    // codes outside 100..=599 are never accepted.
    #[test]
    fn url_status_defaults_and_ranges() {
        let mut u = Url::new("/");
        assert!(u.accepts(200) && u.accepts(299));
        assert!(!u.accepts(302) && !u.accepts(199));
        u.status_codes = vec![StatusRange { lo: 300, hi: 302 }, StatusRange::single(404)];
        assert!(u.accepts(301) && u.accepts(404));
        assert!(!u.accepts(200));
        u.status_codes = vec![StatusRange { lo: 0, hi: 1000 }];
        assert!(!u.accepts(99) && !u.accepts(600) && u.accepts(100));
    }

    // Proves connect_ip / connect_port override the real server address independently.
    #[test]
    fn destination_overrides() {
        let t = Target::new("10.0.0.2:80".parse().unwrap());
        let mut c = ConnOpts::default();
        assert_eq!(c.destination(&t), "10.0.0.2:80".parse().unwrap());
        c.connect_port = Some(8080);
        assert_eq!(c.destination(&t), "10.0.0.2:8080".parse().unwrap());
        c.connect_ip = Some("10.0.0.9".parse().unwrap());
        assert_eq!(c.destination(&t), "10.0.0.9:8080".parse().unwrap());
    }

    // Proves the per-kind keepalived defaults (check_api.c queue_checker / check_http.c /
    // check_misc.c / check_dns.c).
    #[test]
    fn per_kind_defaults() {
        let dl = Duration::from_secs(6);
        let tcp = CheckParams::keepalived_defaults(&CheckKind::Tcp, dl);
        assert_eq!(
            (tcp.retry, tcp.delay_before_retry, tcp.warmup),
            (1, Duration::from_secs(1), dl)
        );
        let http = CheckParams::keepalived_defaults(&CheckKind::Http(HttpCheck::default()), dl);
        assert_eq!(http.delay_before_retry, Duration::from_secs(3));
        let dns = CheckParams::keepalived_defaults(&CheckKind::Dns(DnsCheck::default()), dl);
        assert_eq!((dns.retry, dns.delay_before_retry), (3, dl));
        let misc = CheckParams::keepalived_defaults(
            &CheckKind::Misc(MiscCheck {
                argv: vec!["/bin/true".into()],
                timeout: Duration::from_secs(5),
                dynamic: false,
                user: None,
                group: None,
                script_security: false,
                keep_symlinks: false,
            }),
            dl,
        );
        assert_eq!(misc.retry, 0);
        assert!(tcp.initial_up());
    }
}
