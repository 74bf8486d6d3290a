//! The outcome of one check, kept apart from the up/down state logic.

use std::fmt;
use std::time::Duration;

/// A weight change requested by a successful check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WeightAdjust {
    /// MISC_CHECK with `misc_dynamic`: exit status 2+N sets the real server's weight to N
    /// (keepalived: `cur_weight = status - 2 - iweight`, so effective weight = N).
    Set(u32),
    /// FILE_CHECK with `weight`: status × weight (× -1 if reverse) is added to the configured
    /// weight (keepalived: `cur_weight = new_status`).
    Delta(i64),
}

/// Which step of a check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Socket creation / bind / SO_MARK / SO_BINDTODEVICE.
    Setup,
    /// TCP connect (or UDP connect).
    Connect,
    /// TLS handshake.
    Tls,
    /// Sending the request.
    Send,
    /// Waiting for / reading the reply.
    Receive,
    /// The whole-check deadline ([`crate::Limits::total_timeout`]) expired.
    Total,
    /// Running a script or reading a file.
    Local,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Phase::Setup => "setup",
            Phase::Connect => "connect",
            Phase::Tls => "TLS handshake",
            Phase::Send => "send",
            Phase::Receive => "receive",
            Phase::Total => "whole check",
            Phase::Local => "local",
        };
        f.write_str(s)
    }
}

/// Why a check failed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Failure {
    /// Connection refused (TCP RST, or ICMP port unreachable for UDP).
    Refused,
    /// A step did not complete in time.
    Timeout(Phase),
    /// Other network/OS error in a step.
    Network {
        /// Step.
        phase: Phase,
        /// errno, when there is one.
        errno: Option<i32>,
        /// Human-readable detail.
        message: String,
    },
    /// TLS handshake or record error.
    Tls(String),
    /// The peer closed or sent nothing usable (e.g. no complete HTTP head).
    NoData,
    /// The reply violates the protocol (bad status line, bad SMTP reply, ...).
    Protocol(String),
    /// The HTTP head exceeded [`crate::Limits::max_header_bytes`].
    HeaderTooLarge,
    /// The body exceeded [`crate::Limits::max_body_bytes`] while a digest was needed.
    BodyTooLarge,
    /// HTTP status not in the accepted ranges (url path given for context).
    HttpStatus {
        /// url path.
        path: String,
        /// Received code (0 if unparsable).
        status: u16,
    },
    /// Body digest mismatch.
    Digest {
        /// url path.
        path: String,
        /// Expected MD5.
        expected: [u8; 16],
        /// Computed MD5.
        got: [u8; 16],
    },
    /// The url's `regex` did not match the body (or matched it, with `regex_no_match`);
    /// keepalived's "Regex match failed".
    Regex {
        /// url path.
        path: String,
        /// `regex_no_match` was set (the body matched).
        no_match: bool,
    },
    /// The url's `regex` does not compile (the `regex` crate's message).
    RegexInvalid(String),
    /// SMTP reply code other than the expected one.
    Smtp {
        /// The step ("banner", "HELO", "QUIT").
        step: &'static str,
        /// Received code (0 if unparsable).
        code: u16,
    },
    /// DNS reply with a non-zero RCODE.
    DnsRcode(u8),
    /// DNS reply without the expected answer.
    DnsAnswer(String),
    /// UDP reply too short/long or not matching `require_reply` data.
    UdpReply(String),
    /// ICMP reply missing or wrong.
    Ping(String),
    /// Script exited with a failing status.
    Exit(i32),
    /// Script killed by a signal (not by our timeout).
    Signal(i32),
    /// Script did not finish within `misc_timeout`.
    ScriptTimeout,
    /// Script could not be run (not found, insecure, user unknown...).
    Script(String),
    /// FILE_CHECK status puts the server in FAULT.
    FileFault(i64),
}

fn hex(d: &[u8; 16]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Refused => write!(f, "connection refused"),
            Failure::Timeout(p) => write!(f, "timeout ({p})"),
            Failure::Network {
                phase,
                errno,
                message,
            } => match errno {
                Some(e) => write!(f, "{phase} error: {message} (errno {e})"),
                None => write!(f, "{phase} error: {message}"),
            },
            Failure::Tls(m) => write!(f, "TLS error: {m}"),
            Failure::NoData => write!(f, "no data received"),
            Failure::Protocol(m) => write!(f, "protocol error: {m}"),
            Failure::HeaderTooLarge => write!(f, "HTTP header too large"),
            Failure::BodyTooLarge => write!(f, "HTTP body too large"),
            Failure::HttpStatus { path, status } => {
                write!(f, "HTTP status code error ({status}) on url {path}")
            }
            Failure::Digest {
                path,
                expected,
                got,
            } => write!(
                f,
                "MD5 digest error on url {path}: expected {} got {}",
                hex(expected),
                hex(got)
            ),
            Failure::Smtp { step, code } => write!(f, "bad SMTP {step} reply ({code})"),
            Failure::DnsRcode(r) => write!(f, "DNS rcode {r}"),
            Failure::DnsAnswer(m) => write!(f, "DNS answer: {m}"),
            Failure::UdpReply(m) => write!(f, "UDP reply: {m}"),
            Failure::Regex { path, no_match } => {
                if *no_match {
                    write!(
                        f,
                        "Regex match failed on {path}: the body matches (regex_no_match)"
                    )
                } else {
                    write!(f, "Regex match failed on {path}: no match in the body")
                }
            }
            Failure::RegexInvalid(m) => write!(f, "invalid regex: {m}"),
            Failure::Ping(m) => write!(f, "ping: {m}"),
            Failure::Exit(c) => write!(f, "exited with status {c}"),
            Failure::Signal(s) => write!(f, "killed by signal {s}"),
            Failure::ScriptTimeout => write!(f, "timed out"),
            Failure::Script(m) => write!(f, "script error: {m}"),
            Failure::FileFault(s) => write!(f, "tracked file status {s} is FAULT"),
        }
    }
}

impl Failure {
    /// Map an I/O error of `phase` to a failure (refused / timeout / other).
    /// The check could not even create its socket: this process (EMFILE) or the system
    /// (ENFILE) is out of file descriptors. Says nothing about the real server: keepalived
    /// then reschedules the check (`delay_loop` later) without a state change ("TCP connect
    /// fail to create socket. Rescheduling."), and so does the [`crate::Scheduler`].
    pub fn is_out_of_descriptors(&self) -> bool {
        matches!(
            self,
            Failure::Network {
                phase: Phase::Setup,
                errno: Some(libc::EMFILE | libc::ENFILE),
                ..
            }
        )
    }

    pub fn from_io(phase: Phase, e: &std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::ConnectionRefused => Failure::Refused,
            std::io::ErrorKind::TimedOut => Failure::Timeout(phase),
            _ => Failure::Network {
                phase,
                errno: e.raw_os_error(),
                message: e.to_string(),
            },
        }
    }
}

/// Verdict of one check.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Status {
    /// Success, configured weight.
    Up,
    /// Success with a weight adjustment (MISC dynamic, FILE with weight).
    Weight(WeightAdjust),
    /// Failure.
    Down(Failure),
}

impl Status {
    /// Is this a success?
    pub fn is_up(&self) -> bool {
        !matches!(self, Status::Down(_))
    }
}

/// One check's verdict and how long it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// Verdict.
    pub status: Status,
    /// Wall time of the check.
    pub latency: Duration,
}
