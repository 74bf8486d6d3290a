//! The crate's error type: every kernel error carries the operation and the errno.

use std::fmt;

/// The IPVS operation a request performed (carried by every error).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    Open,
    ResolveFamily,
    GetInfo,
    GetServices,
    GetService,
    NewService,
    SetService,
    DelService,
    GetDestinations,
    NewDestination,
    SetDestination,
    DelDestination,
    StartDaemon,
    StopDaemon,
    GetDaemons,
    SetTimeouts,
    GetTimeouts,
    Zero,
    Flush,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Op::Open => "open netlink socket",
            Op::ResolveFamily => "resolve IPVS family",
            Op::GetInfo => "get info",
            Op::GetServices => "list services",
            Op::GetService => "get service",
            Op::NewService => "add service",
            Op::SetService => "edit service",
            Op::DelService => "delete service",
            Op::GetDestinations => "list destinations",
            Op::NewDestination => "add destination",
            Op::SetDestination => "edit destination",
            Op::DelDestination => "delete destination",
            Op::StartDaemon => "start sync daemon",
            Op::StopDaemon => "stop sync daemon",
            Op::GetDaemons => "list sync daemons",
            Op::SetTimeouts => "set timeouts",
            Op::GetTimeouts => "get timeouts",
            Op::Zero => "zero counters",
            Op::Flush => "flush",
        };
        f.write_str(s)
    }
}

/// Errors of the IPVS client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The generic netlink family "IPVS" is not registered: the `ip_vs` module is not loaded
    /// (or the kernel has no IPVS).
    #[error("IPVS not available: the kernel has no \"IPVS\" generic netlink family (is the ip_vs module loaded?)")]
    NotAvailable,
    /// EEXIST: the service/destination already exists, or the sync daemon already runs.
    #[error("{op}: already exists (EEXIST)")]
    Exists { op: Op },
    /// ESRCH on a service or destination command: the virtual service does not exist.
    #[error("{op}: no such service (ESRCH)")]
    NoSuchService { op: Op },
    /// ENOENT on a destination edit/delete: the destination does not exist.
    #[error("{op}: no such destination (ENOENT)")]
    NoSuchDestination { op: Op },
    /// ENOENT on a service add/edit: the scheduler or persistence engine module is missing.
    #[error("{op}: scheduler or persistence engine not found (ENOENT)")]
    SchedulerNotFound { op: Op },
    /// ESRCH on stopping a sync daemon that does not run.
    #[error("{op}: sync daemon not running (ESRCH)")]
    DaemonNotRunning { op: Op },
    /// EINVAL: the kernel rejected the arguments.
    #[error("{op}: invalid argument (EINVAL)")]
    InvalidArgument { op: Op },
    /// ERANGE: weight or thresholds out of range.
    #[error("{op}: value out of range (ERANGE)")]
    OutOfRange { op: Op },
    /// EAFNOSUPPORT: address family not supported (e.g. IPv6 without IPVS IPv6 support).
    #[error("{op}: address family not supported (EAFNOSUPPORT)")]
    AfNotSupported { op: Op },
    /// EPERM: missing CAP_NET_ADMIN.
    #[error("{op}: operation not permitted (EPERM, needs CAP_NET_ADMIN)")]
    PermissionDenied { op: Op },
    /// Any other errno returned by the kernel.
    #[error("{op}: kernel error errno {errno} ({})", std::io::Error::from_raw_os_error(*errno))]
    Other { op: Op, errno: i32 },
    /// The socket receive buffer overflowed (ENOBUFS): replies were lost, the outcome of the
    /// requests in flight is unknown (re-read the table).
    #[error("{op}: netlink receive buffer overrun (ENOBUFS), replies lost")]
    Overrun { op: Op },
    /// No reply within the handle's timeout.
    #[error("{op}: no reply from the kernel within {timeout_ms} ms")]
    Timeout { op: Op, timeout_ms: u64 },
    /// A dump stayed inconsistent (NLM_F_DUMP_INTR) after all retries.
    #[error("{op}: dump interrupted {attempts} times (NLM_F_DUMP_INTR)")]
    DumpInterrupted { op: Op, attempts: u32 },
    /// Repeated multi-datagram dumps kept finding entries the earlier ones had skipped (another
    /// network namespace churning the kernel's shared table): no trustworthy listing.
    #[error("{op}: listing did not settle within {dumps} dumps (IPVS table churning elsewhere)")]
    DumpUnsettled { op: Op, dumps: u32 },
    /// A reply could not be decoded.
    #[error("{op}: malformed reply: {msg}")]
    Decode { op: Op, msg: String },
    /// The reply decoded but lacks a required attribute.
    #[error("{op}: reply lacks {what}")]
    MissingAttribute { op: Op, what: &'static str },
    /// A socket-level failure.
    #[error("{op}: {source}")]
    Io {
        op: Op,
        #[source]
        source: std::io::Error,
    },
    /// The request cannot be encoded (e.g. a name longer than the kernel accepts).
    #[error("{op}: invalid request: {msg}")]
    InvalidRequest { op: Op, msg: String },
    /// The async wrapper's blocking task failed.
    #[error("IPVS blocking task failed: {0}")]
    Task(String),
}

impl Error {
    /// Map a kernel errno (positive) to the typed error for `op`.
    pub fn from_errno(op: Op, errno: i32) -> Error {
        use Op::*;
        match errno {
            libc::EEXIST => Error::Exists { op },
            libc::ESRCH if matches!(op, StopDaemon) => Error::DaemonNotRunning { op },
            libc::ESRCH => Error::NoSuchService { op },
            libc::ENOENT if matches!(op, NewService | SetService) => {
                Error::SchedulerNotFound { op }
            }
            libc::ENOENT if matches!(op, SetDestination | DelDestination) => {
                Error::NoSuchDestination { op }
            }
            libc::ENOENT if matches!(op, ResolveFamily) => Error::NotAvailable,
            libc::EINVAL => Error::InvalidArgument { op },
            libc::ERANGE => Error::OutOfRange { op },
            libc::EAFNOSUPPORT => Error::AfNotSupported { op },
            libc::EPERM => Error::PermissionDenied { op },
            libc::ENOBUFS => Error::Overrun { op },
            errno => Error::Other { op, errno },
        }
    }

    /// The kernel errno behind this error, if it came from the kernel.
    pub fn errno(&self) -> Option<i32> {
        Some(match self {
            Error::Exists { .. } => libc::EEXIST,
            Error::NoSuchService { .. } | Error::DaemonNotRunning { .. } => libc::ESRCH,
            Error::NoSuchDestination { .. } | Error::SchedulerNotFound { .. } => libc::ENOENT,
            Error::NotAvailable => libc::ENOENT,
            Error::InvalidArgument { .. } => libc::EINVAL,
            Error::OutOfRange { .. } => libc::ERANGE,
            Error::AfNotSupported { .. } => libc::EAFNOSUPPORT,
            Error::PermissionDenied { .. } => libc::EPERM,
            Error::Overrun { .. } => libc::ENOBUFS,
            Error::Other { errno, .. } => *errno,
            Error::Io { source, .. } => return source.raw_os_error(),
            _ => return None,
        })
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
