//! The crate's one error type.

use std::fmt;

/// Errors from the platform layer. Every variant names the operation that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The kernel answered a netlink request with a negative errno.
    #[error("{op}: kernel refused: {}", std::io::Error::from_raw_os_error(*errno))]
    Kernel {
        /// What was asked, e.g. `"add address 192.0.2.1/32 dev lo"`.
        op: String,
        /// Positive errno value.
        errno: i32,
    },
    /// A system call on the netlink socket or a namespace file failed.
    #[error("{op}: {source}")]
    Io {
        /// Operation, e.g. `"netlink recv"`.
        op: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The kernel sent something we could not decode.
    #[error("{op}: cannot decode netlink reply: {detail}")]
    Decode {
        /// Operation during which it happened.
        op: String,
        /// Decoder message.
        detail: String,
    },
    /// Bad argument detected before talking to the kernel.
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// A named link does not exist.
    #[error("no such interface: {0}")]
    NoSuchLink(LinkRef),
    /// The helper thread used by [`crate::netns::in_netns`] panicked.
    #[error("namespace helper thread panicked")]
    ThreadPanicked,
}

/// How a link was referred to, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkRef {
    /// By name.
    Name(String),
    /// By ifindex.
    Index(u32),
}

impl fmt::Display for LinkRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkRef::Name(n) => write!(f, "{n}"),
            LinkRef::Index(i) => write!(f, "ifindex {i}"),
        }
    }
}

impl Error {
    /// The errno carried by a kernel refusal or an OS error, if any.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Kernel { errno, .. } => Some(*errno),
            Error::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    /// True when the failure is a missing privilege (EPERM/EACCES).
    pub fn is_permission(&self) -> bool {
        matches!(self.errno(), Some(e) if e == libc::EPERM || e == libc::EACCES)
    }

    pub(crate) fn io(op: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            op: op.into(),
            source,
        }
    }
}
