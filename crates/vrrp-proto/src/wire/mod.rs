//! Wire formats: VRRP message ([`vrrp`]), IP/AH around it ([`ip`]), checksums
//! ([`checksum`]) and the GARP/NA frames a master sends ([`frames`]).

pub mod checksum;
pub mod frames;
pub mod ip;
pub mod vrrp;

pub use checksum::ChecksumMode;
pub use ip::{AhHeader, IpAdvert, IpHeader, Ipv4Header, Ipv6Header};
pub use vrrp::{AdvertRepr, Auth, Packet};
