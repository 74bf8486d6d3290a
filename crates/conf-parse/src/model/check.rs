//! Health checkers of real servers.

use super::*;

/// Settings every checker has, resolved against the real and virtual server (keepalived's
/// inheritance: checker → real_server → virtual_server → built-in default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckerCommon {
    /// `connect_ip` (default: the real server address).
    pub connect_ip: Option<IpAddr>,
    /// `connect_port` (default: the real server port).
    pub connect_port: Option<u16>,
    /// `bindto`.
    pub bindto: Option<IpAddr>,
    /// `bind_port`.
    pub bind_port: Option<u16>,
    /// `bind_if`.
    pub bind_if: Option<String>,
    /// `fwmark` (SO_MARK).
    pub fwmark: Option<u32>,
    /// `connect_timeout` (default 5 s).
    pub connect_timeout: Duration,
    /// `retry` (default 1 for most checkers, 0 for MISC_CHECK).
    pub retry: u32,
    /// `delay_before_retry` (keepalived's per-checker default: 3 s for HTTP_GET/SSL_GET, the
    /// delay_loop for DNS_CHECK, 1 s for the others).
    pub delay_before_retry: Duration,
    /// `warmup`: the first check runs at a random point of `[0, warmup]` (default: the
    /// delay_loop; 0: at once).
    pub warmup: Duration,
    /// `delay_loop` (default: the virtual server's).
    pub delay_loop: Duration,
    /// `alpha`.
    pub alpha: bool,
    /// `log_all_failures`.
    pub log_all_failures: bool,
}

impl Default for CheckerCommon {
    fn default() -> Self {
        CheckerCommon {
            connect_ip: None,
            connect_port: None,
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            connect_timeout: Duration::from_secs(5),
            retry: 1,
            delay_before_retry: Duration::from_secs(1),
            warmup: Duration::ZERO,
            delay_loop: Duration::from_secs(60),
            alpha: false,
            log_all_failures: false,
        }
    }
}

/// A health checker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checker {
    /// Common settings.
    pub common: CheckerCommon,
    /// The kind and its own settings.
    pub kind: CheckerKind,
    /// Recognized keywords not modelled.
    pub extra: Vec<Stmt>,
    /// Where.
    pub loc: Loc,
}

/// Checker kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckerKind {
    /// `HTTP_GET`.
    Http(Box<HttpCheck>),
    /// `SSL_GET`.
    Ssl(Box<HttpCheck>),
    /// `TCP_CHECK`.
    Tcp,
    /// `MISC_CHECK`.
    Misc(Box<MiscCheck>),
    /// `SMTP_CHECK`.
    Smtp(Box<SmtpCheck>),
    /// `DNS_CHECK`.
    Dns(Box<DnsCheck>),
    /// `UDP_CHECK`.
    Udp(Box<UdpCheck>),
    /// `PING_CHECK`.
    Ping,
    /// `FILE_CHECK`.
    File(Box<FileCheck>),
    /// `BFD_CHECK`.
    Bfd(Box<BfdCheck>),
}

impl CheckerKind {
    /// The block keyword.
    pub fn keyword(&self) -> &'static str {
        match self {
            CheckerKind::Http(_) => "HTTP_GET",
            CheckerKind::Ssl(_) => "SSL_GET",
            CheckerKind::Tcp => "TCP_CHECK",
            CheckerKind::Misc(_) => "MISC_CHECK",
            CheckerKind::Smtp(_) => "SMTP_CHECK",
            CheckerKind::Dns(_) => "DNS_CHECK",
            CheckerKind::Udp(_) => "UDP_CHECK",
            CheckerKind::Ping => "PING_CHECK",
            CheckerKind::File(_) => "FILE_CHECK",
            CheckerKind::Bfd(_) => "BFD_CHECK",
        }
    }
}

/// HTTP_GET / SSL_GET settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpCheck {
    /// `url { }` blocks.
    pub urls: Vec<UrlCheck>,
    /// `virtualhost`.
    pub virtualhost: Option<String>,
    /// `http_protocol` (None: keepalived's 1.0).
    pub http_protocol: Option<HttpProtocol>,
    /// `enable_sni`.
    pub enable_sni: bool,
    /// `fast_recovery`.
    pub fast_recovery: bool,
    /// `tls_compliant [BOOL]` (SSL_GET, keepalived 2.4): the checker's default for its urls.
    pub tls_compliant: bool,
}

/// `url { }`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UrlCheck {
    /// `path`.
    pub path: String,
    /// `digest`: the MD5 of the page.
    pub digest: Option<[u8; 16]>,
    /// `status_code` ranges (inclusive); empty = 200-299.
    pub status_codes: Vec<(u16, u16)>,
    /// `virtualhost`.
    pub virtualhost: Option<String>,
    /// `regex`.
    pub regex: Option<String>,
    /// `regex_no_match`.
    pub regex_no_match: bool,
    /// `regex_options`: keepalived's PCRE2 option names (unknown names are dropped, as
    /// keepalived ignores them).
    pub regex_options: Vec<String>,
    /// `regex_min_offset` (0 = from the start of the body).
    pub regex_min_offset: usize,
    /// `regex_max_offset`: the last body offset a match may start at.
    pub regex_max_offset: Option<usize>,
    /// `regex_stack START MAX` (PCRE2 JIT stack sizes).
    pub regex_stack: Option<(u64, u64)>,
    /// `tls_compliant [BOOL]` (SSL_GET urls, keepalived 2.4).
    pub tls_compliant: Option<bool>,
    /// Unknown keywords of the block, kept as statements.
    pub extra: Vec<Stmt>,
}

/// MISC_CHECK settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MiscCheck {
    /// `misc_path`.
    pub misc_path: String,
    /// `misc_timeout`.
    pub misc_timeout: Option<Duration>,
    /// `misc_dynamic`.
    pub misc_dynamic: bool,
    /// `user USER [GROUP]`.
    pub user: Option<(String, Option<String>)>,
}

/// SMTP_CHECK settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SmtpCheck {
    /// `helo_name`.
    pub helo_name: Option<String>,
    /// `host { }` blocks: more servers to check.
    pub hosts: Vec<SmtpHost>,
}

/// DNS_CHECK settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DnsCheck {
    /// `type` (None: keepalived's SOA).
    pub qtype: Option<DnsType>,
    /// `name` (default ".").
    pub name: Option<String>,
}

/// UDP_CHECK settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UdpCheck {
    /// `payload HEX`: the datagram sent.
    pub payload: Option<Vec<u8>>,
    /// `require_reply [HEX]`: None when not given; `Some` with the expected bytes, if any.
    pub require_reply: Option<HexPattern>,
    /// `min_reply_length`.
    pub min_reply_length: Option<u32>,
    /// `max_reply_length`.
    pub max_reply_length: Option<u32>,
}

/// FILE_CHECK settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileCheck {
    /// `track_file` name.
    pub track_file: String,
    /// `weight`.
    pub weight: Option<i32>,
    /// `weight ... reverse`.
    pub weight_reverse: bool,
}

/// BFD_CHECK settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BfdCheck {
    /// `name` of the bfd_instance.
    pub name: String,
}

/// `ip_family`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpFamily {
    /// `inet`.
    Inet,
    /// `inet6`.
    Inet6,
}

impl IpFamily {
    /// keepalived's word.
    pub fn name(self) -> &'static str {
        match self {
            IpFamily::Inet => "inet",
            IpFamily::Inet6 => "inet6",
        }
    }
}

/// `persistence_granularity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Granularity {
    /// An IPv4 netmask (any value `inet_aton` reads; keepalived does not require it solid).
    V4(Ipv4Addr),
    /// An IPv6 prefix length, 1-128.
    V6(u8),
}

/// `http_protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpProtocol {
    /// `1.0`.
    Http10,
    /// `1.0C` (or `1.0c`): 1.0 with `Connection: close`.
    Http10C,
    /// `1.1`.
    Http11,
}

impl HttpProtocol {
    /// keepalived's word.
    pub fn name(self) -> &'static str {
        match self {
            HttpProtocol::Http10 => "1.0",
            HttpProtocol::Http10C => "1.0C",
            HttpProtocol::Http11 => "1.1",
        }
    }
}

/// A DNS_CHECK `type` (`DNS_TYPE[]` in `check_dns.c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DnsType {
    /// A.
    A,
    /// NS.
    Ns,
    /// CNAME.
    Cname,
    /// SOA (keepalived's default).
    Soa,
    /// MX.
    Mx,
    /// TXT.
    Txt,
    /// AAAA.
    Aaaa,
    /// RRSIG.
    Rrsig,
    /// DNSKEY.
    Dnskey,
}

impl DnsType {
    /// Every type, in keepalived's order.
    pub const ALL: [DnsType; 9] = [
        DnsType::A,
        DnsType::Ns,
        DnsType::Cname,
        DnsType::Soa,
        DnsType::Mx,
        DnsType::Txt,
        DnsType::Aaaa,
        DnsType::Rrsig,
        DnsType::Dnskey,
    ];

    /// keepalived's label.
    pub fn name(self) -> &'static str {
        match self {
            DnsType::A => "A",
            DnsType::Ns => "NS",
            DnsType::Cname => "CNAME",
            DnsType::Soa => "SOA",
            DnsType::Mx => "MX",
            DnsType::Txt => "TXT",
            DnsType::Aaaa => "AAAA",
            DnsType::Rrsig => "RRSIG",
            DnsType::Dnskey => "DNSKEY",
        }
    }

    /// The query type number (RFC 1035, 3596, 4034).
    pub fn code(self) -> u16 {
        match self {
            DnsType::A => 1,
            DnsType::Ns => 2,
            DnsType::Cname => 5,
            DnsType::Soa => 6,
            DnsType::Mx => 15,
            DnsType::Txt => 16,
            DnsType::Aaaa => 28,
            DnsType::Rrsig => 46,
            DnsType::Dnskey => 48,
        }
    }

    /// The type of that label, case-insensitively (keepalived's `strcasecmp`).
    pub fn from_name(s: &str) -> Option<DnsType> {
        DnsType::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
    }
}

/// Hex bytes as keepalived's `read_hex_str` reads them, with an optional mask: an `X`
/// nibble (only where wildcards are allowed) matches anything and sets the mask's nibble.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct HexPattern {
    /// The bytes (0 where wildcarded); empty when none were given.
    pub data: Vec<u8>,
    /// Per byte, the bits that are wildcards (None: no wildcard).
    pub mask: Option<Vec<u8>>,
}

impl HexPattern {
    /// keepalived's `read_hex_str`: blanks separate groups; each group's hex digits pair up
    /// into bytes, an odd last digit is a byte of its own. None if a character is not a hex
    /// digit (or `X` with `wildcard`) or there is no byte at all.
    pub fn parse(s: &str, wildcard: bool) -> Option<HexPattern> {
        let nibble = |c: u8| -> Option<(u8, u8)> {
            match c {
                b'0'..=b'9' => Some((c - b'0', 0)),
                b'a'..=b'f' => Some((c - b'a' + 10, 0)),
                b'A'..=b'F' => Some((c - b'A' + 10, 0)),
                b'X' | b'x' if wildcard => Some((0, 0x0f)),
                _ => None,
            }
        };
        let b = s.as_bytes();
        let (mut data, mut mask) = (Vec::new(), Vec::new());
        let mut i = 0;
        loop {
            while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
                i += 1;
            }
            let Some(&c) = b.get(i) else { break };
            i += 1;
            let (mut v, mut m) = nibble(c)?;
            if let Some(&c2) = b.get(i).filter(|c| **c != b' ') {
                i += 1;
                let (v2, m2) = nibble(c2)?;
                v = (v << 4) | v2;
                m = (m << 4) | m2;
            }
            data.push(v);
            mask.push(m);
        }
        if data.is_empty() {
            return None;
        }
        let mask = mask.iter().any(|m| *m != 0).then_some(mask);
        Some(HexPattern { data, mask })
    }

    /// The canonical text: two digits per byte (`X` for a wildcard nibble), space separated.
    pub fn to_hex(&self) -> String {
        let mut out = String::new();
        for (i, d) in self.data.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            let m = self
                .mask
                .as_ref()
                .and_then(|m| m.get(i))
                .copied()
                .unwrap_or(0);
            for (shift, mbit) in [(4, 0xf0), (0, 0x0f)] {
                if m & mbit != 0 {
                    out.push('X');
                } else {
                    out.push(char::from(
                        b"0123456789abcdef"[usize::from((d >> shift) & 0xf)],
                    ));
                }
            }
        }
        out
    }
}

/// A url's `regex_options` (PCRE2 flags keepalived accepts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegexOption {
    /// `allow_empty_class`.
    AllowEmptyClass,
    /// `alt_bsux`.
    AltBsux,
    /// `auto_callout`.
    AutoCallout,
    /// `caseless`.
    Caseless,
    /// `dollar_endonly`.
    DollarEndonly,
    /// `dotall`.
    Dotall,
    /// `dupnames`.
    Dupnames,
    /// `extended`.
    Extended,
    /// `firstline`.
    Firstline,
    /// `match_unset_backref`.
    MatchUnsetBackref,
    /// `multiline`.
    Multiline,
    /// `never_ucp`.
    NeverUcp,
    /// `never_utf`.
    NeverUtf,
    /// `no_auto_capture`.
    NoAutoCapture,
    /// `no_auto_possess`.
    NoAutoPossess,
    /// `no_dotstar_anchor`.
    NoDotstarAnchor,
    /// `no_start_optimize`.
    NoStartOptimize,
    /// `ucp`.
    Ucp,
    /// `ungreedy`.
    Ungreedy,
    /// `utf`.
    Utf,
    /// `never_backslash_c`.
    NeverBackslashC,
    /// `alt_circumflex`.
    AltCircumflex,
    /// `alt_verbnames`.
    AltVerbnames,
    /// `use_offset_limit`.
    UseOffsetLimit,
}

impl RegexOption {
    /// Every option, in keepalived's order.
    pub const ALL: [RegexOption; 24] = [
        RegexOption::AllowEmptyClass,
        RegexOption::AltBsux,
        RegexOption::AutoCallout,
        RegexOption::Caseless,
        RegexOption::DollarEndonly,
        RegexOption::Dotall,
        RegexOption::Dupnames,
        RegexOption::Extended,
        RegexOption::Firstline,
        RegexOption::MatchUnsetBackref,
        RegexOption::Multiline,
        RegexOption::NeverUcp,
        RegexOption::NeverUtf,
        RegexOption::NoAutoCapture,
        RegexOption::NoAutoPossess,
        RegexOption::NoDotstarAnchor,
        RegexOption::NoStartOptimize,
        RegexOption::Ucp,
        RegexOption::Ungreedy,
        RegexOption::Utf,
        RegexOption::NeverBackslashC,
        RegexOption::AltCircumflex,
        RegexOption::AltVerbnames,
        RegexOption::UseOffsetLimit,
    ];

    /// keepalived's word.
    pub fn name(self) -> &'static str {
        match self {
            RegexOption::AllowEmptyClass => "allow_empty_class",
            RegexOption::AltBsux => "alt_bsux",
            RegexOption::AutoCallout => "auto_callout",
            RegexOption::Caseless => "caseless",
            RegexOption::DollarEndonly => "dollar_endonly",
            RegexOption::Dotall => "dotall",
            RegexOption::Dupnames => "dupnames",
            RegexOption::Extended => "extended",
            RegexOption::Firstline => "firstline",
            RegexOption::MatchUnsetBackref => "match_unset_backref",
            RegexOption::Multiline => "multiline",
            RegexOption::NeverUcp => "never_ucp",
            RegexOption::NeverUtf => "never_utf",
            RegexOption::NoAutoCapture => "no_auto_capture",
            RegexOption::NoAutoPossess => "no_auto_possess",
            RegexOption::NoDotstarAnchor => "no_dotstar_anchor",
            RegexOption::NoStartOptimize => "no_start_optimize",
            RegexOption::Ucp => "ucp",
            RegexOption::Ungreedy => "ungreedy",
            RegexOption::Utf => "utf",
            RegexOption::NeverBackslashC => "never_backslash_c",
            RegexOption::AltCircumflex => "alt_circumflex",
            RegexOption::AltVerbnames => "alt_verbnames",
            RegexOption::UseOffsetLimit => "use_offset_limit",
        }
    }

    /// The option of that exact name.
    pub fn from_name(s: &str) -> Option<RegexOption> {
        RegexOption::ALL.into_iter().find(|o| o.name() == s)
    }
}

/// An SMTP_CHECK `host { }` block: another server to check, with the connection settings
/// every checker has.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SmtpHost {
    /// `connect_ip`.
    pub connect_ip: Option<IpAddr>,
    /// `connect_port`.
    pub connect_port: Option<u16>,
    /// `bindto`.
    pub bindto: Option<IpAddr>,
    /// `bind_port`.
    pub bind_port: Option<u16>,
    /// `bind_if`.
    pub bind_if: Option<String>,
    /// `fwmark`.
    pub fwmark: Option<u32>,
    /// `connect_timeout`.
    pub connect_timeout: Option<Duration>,
    /// Where.
    pub loc: Loc,
}
