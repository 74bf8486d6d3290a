#![doc = include_str!("../README.md")]
//!
//! ## Crate layout
//!
//! Real-server ARP sysctls and loopback VIPs, with save/restore.
//!
//! * [`keys`]: typed IPv4 per-interface keys ([`ConfKey`], [`Target`]) with the kernel's
//!   `all`-vs-interface combination rule per key ([`Combine`]) and the meanings of
//!   `arp_ignore` 0-8 ([`ArpIgnore`]) and `arp_announce` 0-2 ([`ArpAnnounce`]); correct
//!   `/proc` paths for VLAN names with dots.
//! * [`backend`]: the [`Sysctl`] trait, the real [`ProcSysctl`] and the in-memory
//!   [`MemSysctl`].
//! * [`state`]: the saved originals ([`State`]), written atomically under
//!   `/run/lvs-realserver`, including the loopback VIPs added ([`state::SavedVip`]).
//!
//! The real-server engine built on it (plan, apply with rollback, stop, status; VIPs through
//! rtnetlink) is the `lvs-realserver` binary's library.

pub mod backend;
mod error;
pub mod keys;
pub mod state;

pub use backend::{MemSysctl, ProcSysctl, Sysctl};
pub use error::Error;
pub use keys::{describe_value, ArpAnnounce, ArpIgnore, Combine, ConfKey, Target, CONF_ROOT};
pub use state::{Mode, State};
