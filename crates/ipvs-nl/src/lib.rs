#![doc = include_str!("../README.md")]
//!
//! ## Crate layout
//!
//! IPVS generic-netlink client: services, destinations, stats, timeouts, sync daemon, flush.
//!
//! Layers:
//! - [`attr`] / [`message`]: attribute enums per nest level and the `GenlFamily` payload
//!   (rust-netlink style, unknown attributes kept in `Other`), request framing, reply decoding;
//!   [`split_datagram`]: a netlink datagram into its messages (any family).
//! - [`types`]: domain types (`Service`, `Destination`, `Info`, `Timeouts`, `SyncDaemon`, ...).
//! - [`Handle`]: blocking socket client — family cache, seq/port matching, acks, errors with the
//!   operation and errno, multipart dumps with `NLM_F_DUMP_INTR` retry, ENOBUFS, timeouts,
//!   batching ([`Handle::apply`]), network namespace selection ([`Handle::in_netns`]).
//! - [`reconcile()`] ([`mod@reconcile`]): desired vs actual → minimal operations, applied in one batch, with a report.
//! - `AsyncHandle` (feature `tokio`): the handle on tokio's blocking pool.

pub mod attr;
mod client;
pub mod consts;
mod datagram;
mod error;
pub mod message;
mod netns;
pub mod reconcile;
mod sockopt;
pub mod types;

#[cfg(feature = "tokio")]
mod async_handle;

#[cfg(feature = "tokio")]
pub use async_handle::AsyncHandle;
pub use client::{keepalived_namespace_path, Handle, HandleOptions};
pub use datagram::split_datagram;
pub use error::{Error, Op, Result};
pub use reconcile::{
    plan, reconcile, reconcile_recorded, Backend, MemoryBackend, Operation, ReadStats, Record,
    Report, Scope,
};
pub use types::*;
