#![doc = include_str!("../README.md")]
//!
//! ## Crate layout
//!
//! VRRPv2/v3 packet codec and sans-IO state machine (no sockets, no tokio; time is an input).
//!
//! - [`wire`]: smoltcp-style `Packet` views and `Repr`s for the VRRP message, the IPv4/IPv6
//!   header and keepalived's IPsec AH, checksums (incl. pseudo-header and
//!   `v3_checksum_as_v2`), gratuitous ARP / unsolicited NA frames.
//! - [`auth_hmac`]: keepalived 2.4's HMAC-SHA256 trailer (draft-cassen-vrrp-auth-hmac): keys,
//!   modes, send sequence, replay window, verification; the trailer view is
//!   [`wire::auth_ext`].
//! - [`units`]: `Centisecs`, `Priority`, `Vrid`, `AdvertInterval` (typed per version).
//! - [`validate()`]: receive checks in RFC order, one [`RxError`] per reason.
//! - [`fsm`]: [`VirtualRouter::handle`]`(now, Input) -> Actions`, [`SyncGroup`].

pub mod auth_hmac;
pub mod error;
pub mod fsm;
pub mod units;
pub mod validate;
pub mod wire;

pub use error::{RxCounters, RxError, WireError};
pub use fsm::{
    Action, Actions, AhSequence, GarpConfig, GarpKind, InitialState, Input, Reason, RouterConfig,
    State, SyncGroup, VirtualRouter,
};
pub use units::{AdvertInterval, Centisecs, Family, Priority, Version, Vrid};
pub use validate::{
    validate, validate_basic, Accepted, AcceptedView, AuthConfig, ReceiveContext, RxPacket,
};
pub use wire::{AdvertRepr, Auth, ChecksumMode, IpAdvert};
