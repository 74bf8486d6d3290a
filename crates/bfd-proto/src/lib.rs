//! BFD (RFC 5880, single hop RFC 5881, multihop RFC 5883): control packet codec and a sans-IO
//! session state machine, with keepalived 2.2.7's behaviour where the RFC leaves a choice.
//! No sockets, no async runtime: time is an input.
//!
//! - [`wire`]: smoltcp-style [`wire::Packet`] view and [`Repr`], the auth section
//!   ([`wire::Auth`]) with keyed MD5/SHA1 signing and verification.
//! - [`validate()`]: the session-independent reception checks of RFC 5880 §6.8.6 (plus
//!   keepalived's, per [`RxPolicy`]), one [`RxError`] variant per reason.
//! - [`fsm`]: [`Session::handle`]`(now, Input) -> Actions` and [`Session::next_deadline`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod fsm;
pub mod validate;
pub mod wire;

pub use error::{RxCounters, RxError, WireError};
pub use fsm::{Action, Actions, Counters, Input, Session, SessionConfig, StateChange, Timers};
pub use validate::{min_rx_ttl, validate, RxPolicy, Valid};
pub use wire::auth::{AuthKey, RxAuthState};
pub use wire::{Auth, AuthType, Diag, Packet, Repr, State};

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
