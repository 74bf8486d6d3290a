//! The LVS director (keepalived's checker worker): configuration → desired IPVS table, health
//! checks adjust it, `ipvs_nl::reconcile` applies it.
//!
//! * [`model::compile`]: `conf_parse::Config` → [`DirectorConfig`] (virtual servers expanded
//!   to IPVS services: address, fwmark, groups with ranges/fwmarks; real servers with their
//!   destination templates; checkers resolved to `healthcheck` job specs). Pure.
//! * [`table`]: [`Health`] (checker states, quorum with hysteresis) and [`table::desired`], the
//!   pure function (config, health) → desired `Vec<VirtualService>` (inhibit_on_failure,
//!   sorry_server and its inhibit, quorum).
//! * [`run`] / [`run_with`]: the worker: a tokio runtime running the `healthcheck::Scheduler`,
//!   each transition batch → desired table → `reconcile` with a scope limited to our services
//!   (foreign IPVS entries survive), notify scripts, `lvs_notify_fifo`, reload as diff-apply,
//!   `lvs_flush`, `lvs_flush_on_stop`, `lvs_timeouts`, `-I` (dont_release_ipvs).
//!
//! `ha_suspend`: the checkers of such a virtual server run only while one of its addresses is
//! configured locally (polled every second); its real servers keep their last state meanwhile.
//!
//! `smtp_alert` mail (crate `smtp-alert`): a checker of a real server going up or down mails
//! `Realserver ... - UP|DOWN`, a quorum change `Virtualserver ... - UP|DOWN`, as keepalived.
//!
//! `lvs_sync_daemon` is not this crate's: it follows a VRRP instance's state, so the keepalived
//! VRRP worker drives it (bins/keepalived/src/syncd.rs), as keepalived's VRRP process does.

pub mod director;
mod fifo;
mod mail;
pub mod model;
pub mod nft_ipvs;
pub mod table;

pub use director::{
    run, run_with, BfdStates, Control, DirectorEvent, DirectorOptions, Kernel, SharedMemory,
    SharedParsed,
};
pub use model::{compile, DirectorConfig, RsId, VsId};
pub use table::{desired, Health};

/// Errors of the director.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DirectorError {
    /// Talking to IPVS failed (operation and errno inside).
    #[error("IPVS {context}: {source}")]
    Ipvs {
        /// What the director was doing.
        context: &'static str,
        /// The ipvs-nl error.
        source: ipvs_nl::Error,
    },
    /// The tokio runtime could not be built.
    #[error("runtime: {0}")]
    Runtime(std::io::Error),
    /// The health-check scheduler could not be set up.
    #[error("health checks: {0}")]
    Health(String),
    /// Installing a signal handler failed.
    #[error("signal handler {signal}: {source}")]
    Signal {
        /// Which signal.
        signal: &'static str,
        /// Cause.
        source: std::io::Error,
    },
    /// The configuration file has errors.
    #[error("configuration {path}: {message}")]
    Config {
        /// File.
        path: String,
        /// First error.
        message: String,
    },
}
