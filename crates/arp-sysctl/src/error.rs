//! The crate's one error type.

use std::path::PathBuf;

/// Errors of `arp-sysctl`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request itself is wrong (bad address, missing interface, conflicting VIP...).
    #[error("{0}")]
    InvalidInput(String),
    /// A sysctl file could not be read or written.
    #[error("cannot {op} {}: {source}", path.display())]
    Sysctl {
        /// "read", "write", "open for writing".
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A sysctl file did not contain an integer.
    #[error("{} does not contain an integer: {content:?}", path.display())]
    SysctlParse {
        /// The file.
        path: PathBuf,
        /// What it contained (truncated).
        content: String,
    },
    /// An address or link operation of the caller's network backend failed (rtnetlink in
    /// `lvs-realserver`).
    #[error("{message}")]
    Net {
        /// The errno the kernel answered, if it refused.
        errno: Option<i32>,
        /// What failed, and why.
        message: String,
    },
    /// The state file could not be read, parsed or written.
    #[error("state file {}: {detail}", path.display())]
    State {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// Applying failed; every change made so far was undone (or the undo errors are listed).
    #[error("{cause}; {}", rollback_summary(.rollback_errors))]
    RolledBack {
        /// The failure that stopped the apply.
        cause: Box<Error>,
        /// Undo steps that failed themselves (empty = clean rollback).
        rollback_errors: Vec<String>,
    },
}

fn rollback_summary(errs: &[String]) -> String {
    if errs.is_empty() {
        "all changes were rolled back".to_string()
    } else {
        format!("ROLLBACK INCOMPLETE: {}", errs.join("; "))
    }
}

impl Error {
    /// True when the root cause is a missing privilege (EPERM/EACCES).
    pub fn is_permission(&self) -> bool {
        match self {
            Error::Sysctl { source, .. } => {
                source.kind() == std::io::ErrorKind::PermissionDenied
                    // EPERM (1): writing a read-only sysctl in a user namespace.
                    || source.raw_os_error() == Some(1)
            }
            // Netlink answers EPERM for a missing CAP_NET_ADMIN; its EACCES means other
            // things (e.g. IPv6 disabled on the device).
            Error::Net { errno, .. } => *errno == Some(1),
            Error::RolledBack { cause, .. } => cause.is_permission(),
            Error::State { detail, .. } => detail.contains("ermission denied"),
            _ => false,
        }
    }

    /// True when the root cause is bad input rather than a system failure.
    pub fn is_invalid_input(&self) -> bool {
        match self {
            Error::InvalidInput(_) => true,
            Error::RolledBack { cause, .. } => cause.is_invalid_input(),
            _ => false,
        }
    }
}
