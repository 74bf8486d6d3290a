//! keepalived's exit codes (lib/scheduler.h `enum exit_code`), shared by the parent and the
//! workers: a worker exiting with FATAL, CONFIG or MISSING_PERMISSION stops the parent.

/// Normal termination.
pub const OK: i32 = 0;
/// `KEEPALIVED_EXIT_FATAL` (EXIT_FAILURE): also bad command line options.
pub const FATAL: i32 = 1;
/// `KEEPALIVED_EXIT_CONFIG` (systemd EXIT_INVALIDARGUMENT).
pub const CONFIG: i32 = 2;
/// `KEEPALIVED_EXIT_MISSING_PERMISSION` (systemd EXIT_NOPERMISSION).
pub const MISSING_PERMISSION: i32 = 4;
/// `KEEPALIVED_EXIT_NO_CONFIG` (systemd EXIT_NOTCONFIGURED): configuration file unreadable.
pub const NO_CONFIG: i32 = 6;
/// `KEEPALIVED_EXIT_PROGRAM_ERROR` (EX_SOFTWARE).
pub const PROGRAM_ERROR: i32 = 70;

/// Exit statuses of a worker that mean "do not respawn, stop the whole daemon"
/// (keepalived's `report_child_status`).
pub fn is_permanent(code: i32) -> bool {
    matches!(code, FATAL | CONFIG | MISSING_PERMISSION)
}

/// keepalived's name for a permanent exit status, as logged.
pub fn permanent_name(code: i32) -> &'static str {
    match code {
        CONFIG => "CONFIG",
        MISSING_PERMISSION => "missing permission",
        _ => "FATAL",
    }
}
