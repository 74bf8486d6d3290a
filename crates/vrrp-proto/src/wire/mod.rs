//! Wire formats: VRRP message ([`vrrp`]), IP/AH around it ([`ip`]), the `auth_hmac`
//! trailer after it ([`auth_ext`]), checksums ([`checksum`]) and the GARP/NA frames a master
//! sends ([`frames`]).

pub mod auth_ext;
pub mod checksum;
pub mod frames;
pub mod ip;
pub mod vrrp;

pub use checksum::ChecksumMode;
pub use ip::{AhHeader, IpAdvert, IpHeader, Ipv4Header, Ipv6Header};
pub use vrrp::{AdvertRepr, Auth, Packet};
