#![doc = include_str!("../README.md")]
//!
//! ## Crate layout
//!
//! Health checkers (TCP/HTTP/SSL/MISC/SMTP/DNS/UDP/PING/FILE) and their up/down logic.
//!
//! * [`Checker`] / [`CheckKind`] / [`ConnOpts`] / [`CheckParams`]: plain data (`Hash + Eq`).
//! * [`check`]: run one check → [`CheckResult`] (`Up` / `Weight(..)` / `Down(reason)` + latency).
//! * [`state::CheckerState`]: the pure up/down machine (retry, delay_before_retry, alpha).
//! * [`scheduler`]: runs all checks concurrently on the current tokio runtime with jittered
//!   starts, dedupes identical (checker, target, params), reports transitions only.
//! * [`genhash`]: keepalived's `genhash` (MD5 of a URL's body).
//!
//! # For the checker worker (director)
//!
//! Resolve each `real_server`'s checkers into [`scheduler::CheckSpec`]s (kind,
//! [`ConnOpts`] with `connect_timeout` inherited as keepalived does, [`CheckParams`] from
//! [`CheckParams::keepalived_defaults`] overridden by the configured keywords), give each a
//! [`CheckId`] of your own, and consume [`Transition`]s:
//!
//! ```no_run
//! use std::time::Duration;
//! use healthcheck::scheduler::{CheckSpec, Scheduler, TransitionKind};
//! use healthcheck::{CheckContext, CheckKind, CheckParams, Checker, Limits, Target};
//! # async fn director() -> Result<(), healthcheck::Error> {
//! let (sched, mut transitions) = Scheduler::new(CheckContext::new(Limits::default())?);
//! let checker = Checker::new(CheckKind::Tcp);
//! let params = CheckParams::keepalived_defaults(&checker.kind, Duration::from_secs(6));
//! let initial_up = params.initial_up(); // alpha → starts down
//! let target = Target::new("10.0.0.2:80".parse().expect("addr"));
//! sched.add(1, CheckSpec { checker, target, params })?; // same spec under id 2 → one job
//! while let Some(t) = transitions.recv().await {
//!     match t.kind {
//!         TransitionKind::Changed | TransitionKind::Confirmed => {
//!             // t.id's checker is now t.up with weight adjustment t.weight (reason t.reason):
//!             // recompute the real server (all its checkers up → in IPVS with
//!             // configured weight adjusted by Set/Delta; any down → removed or weight 0).
//!         }
//!         TransitionKind::FailureLogged => { /* log_all_failures */ }
//!         TransitionKind::Checked => { /* every check (report_every_check): status */ }
//!     }
//! }
//! # let _ = initial_up; Ok(()) }
//! ```
//! `Scheduler::remove(id)` on reload, `Scheduler::set_enabled(id, bool)` for `ha_suspend`,
//! `Scheduler::shutdown()` on stop. `genhash::parse_args` + `genhash::fetch_digest` +
//! `GenhashOutput::render` implement `keepalived -T` / `genhash`.

pub mod body_regex;
pub mod checker;
pub mod dns;
pub mod file;
pub mod genhash;
pub mod http;
pub mod misc;
mod net;
pub mod ping;
pub mod result;
pub mod scheduler;
pub mod smtp;
mod sock;
pub mod state;
mod tcp;
mod tcp_engine;
pub mod tls;
pub mod udp;

use std::sync::Arc;
use std::time::Instant;

pub use body_regex::UrlRegex;
pub use checker::{
    CheckKind, CheckParams, Checker, ConnOpts, DnsCheck, FileCheck, HttpCheck, HttpProtocol,
    Limits, MiscCheck, SmtpCheck, StatusRange, Target, UdpCheck, Url,
};
pub use result::{CheckResult, Failure, Phase, Status, WeightAdjust};
pub use scheduler::{
    CheckId, CheckSpec, CheckTally, LastCheck, Scheduler, SchedulerStats, Transition,
    TransitionKind,
};
pub use state::{CheckerState, Event, Step};

/// Errors of this crate's fallible setup APIs (checks themselves never error: they fail).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// TLS client configuration could not be built.
    #[error("TLS setup: {0}")]
    Tls(String),
    /// genhash: the fetch failed.
    #[error("genhash {url}: {failure}")]
    Genhash {
        /// The url (server:port path).
        url: String,
        /// What failed.
        failure: Failure,
    },
    /// Invalid argument (with the offending value).
    #[error("invalid {what}: {value}")]
    Invalid {
        /// Which argument.
        what: &'static str,
        /// Its value.
        value: String,
    },
}

/// Shared, immutable state for running checks: limits and the TLS client configuration
/// (built once, shared by every SSL_GET check).
#[derive(Clone)]
pub struct CheckContext {
    /// Resource bounds.
    pub limits: Limits,
    /// TLS client configuration (certificates not verified, as keepalived).
    pub tls: Arc<rustls::ClientConfig>,
    /// Idle sockets reused by TCP_CHECK (shared by the clones of this context).
    tcp_pool: Arc<net::TcpPool>,
}

impl std::fmt::Debug for CheckContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckContext")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl CheckContext {
    /// Default limits and keepalived-like TLS (no certificate verification).
    pub fn new(limits: Limits) -> Result<Self, Error> {
        Ok(Self {
            limits,
            tls: tls::insecure_client_config()?,
            tcp_pool: Arc::default(),
        })
    }

    /// Default limits and the TLS context of keepalived's `SSL { }` block (client
    /// certificate; server certificates still not verified, as keepalived).
    pub fn with_ssl(limits: Limits, ssl: &tls::SslFiles) -> Result<Self, Error> {
        Ok(Self {
            limits,
            tls: tls::client_config(ssl)?,
            tcp_pool: Arc::default(),
        })
    }

    /// A default context per thread (built on first use). Per thread, not per process: its
    /// TCP socket pool holds sockets of the network namespace they were made in, and threads
    /// of one process may live in different namespaces (a check run in another namespace
    /// must never reuse them).
    pub fn shared() -> Result<Self, Error> {
        thread_local! {
            static CTX: std::cell::OnceCell<Result<CheckContext, String>> =
                const { std::cell::OnceCell::new() };
        }
        CTX.with(|c| {
            match c.get_or_init(|| CheckContext::new(Limits::default()).map_err(|e| e.to_string()))
            {
                Ok(c) => Ok(c.clone()),
                Err(e) => Err(Error::Tls(e.clone())),
            }
        })
    }
}

/// Run one check of `checker` against `target` with the shared default context.
pub async fn check(checker: &Checker, target: &Target) -> CheckResult {
    match CheckContext::shared() {
        Ok(ctx) => check_with(&ctx, checker, target).await,
        Err(e) => CheckResult {
            status: Status::Down(Failure::Tls(e.to_string())),
            latency: std::time::Duration::ZERO,
        },
    }
}

/// Run one check with an explicit context. Never takes longer than the checker's bound:
/// `Limits::total_timeout(connect_timeout)` for network checks, `misc_timeout` (+ kill grace)
/// for MISC_CHECK.
pub async fn check_with(ctx: &CheckContext, checker: &Checker, target: &Target) -> CheckResult {
    check_url_with(ctx, checker, target, None).await
}

/// [`check_with`], where an HTTP_GET/SSL_GET check fetches only its url number `url` (the
/// scheduler walks the urls one per check as keepalived; see [`state`]). `None`: every url in
/// order; a number past the last url: no request, the check passes (keepalived with no url).
pub async fn check_url_with(
    ctx: &CheckContext,
    checker: &Checker,
    target: &Target,
    url: Option<usize>,
) -> CheckResult {
    fn urls(h: &HttpCheck, url: Option<usize>) -> &[Url] {
        match url {
            None => &h.urls,
            Some(i) => h.urls.get(i..=i).unwrap_or(&[]),
        }
    }
    let start = Instant::now();
    let co = &checker.conn;
    let dst = co.destination(target);
    let total = ctx.limits.total_timeout(co.connect_timeout);
    let status = match &checker.kind {
        // A TCP check is one connect, already bounded by connect_timeout.
        CheckKind::Tcp => tcp::check_tcp(&ctx.tcp_pool, co, dst).await,
        // The other kinds' state machines are boxed each on its own: this function's future
        // is then as small as a TCP check's, instead of as large as the largest kind's (an
        // HTTP/TLS check's, about 15 kB) for every check in flight.
        CheckKind::Http(h) => {
            Box::pin(bounded(
                total,
                http::check_http(ctx, co, dst, h, false, urls(h, url)),
            ))
            .await
        }
        CheckKind::Ssl(h) => {
            Box::pin(bounded(
                total,
                http::check_http(ctx, co, dst, h, true, urls(h, url)),
            ))
            .await
        }
        CheckKind::Smtp(s) => Box::pin(bounded(total, smtp::check_smtp(ctx, co, dst, s))).await,
        CheckKind::Dns(d) => Box::pin(bounded(total, dns::check_dns(co, dst, d))).await,
        CheckKind::Udp(u) => Box::pin(bounded(total, udp::check_udp(co, dst, u))).await,
        CheckKind::Ping => Box::pin(bounded(total, ping::check_ping(co, dst.ip()))).await,
        CheckKind::Misc(m) => Box::pin(misc::check_misc(m)).await,
        CheckKind::File(f) => Box::pin(file::check_file(f)).await,
    };
    CheckResult {
        status,
        latency: start.elapsed(),
    }
}

async fn bounded(
    total: std::time::Duration,
    fut: impl std::future::Future<Output = Status>,
) -> Status {
    match tokio::time::timeout(total, fut).await {
        Ok(s) => s,
        Err(_) => Status::Down(Failure::Timeout(Phase::Total)),
    }
}
