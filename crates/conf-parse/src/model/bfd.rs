//! BFD instances.

use super::*;

/// `bfd_instance NAME { }` (keepalived's `bfd_parser.c`), with its defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BfdInstance {
    /// Name (at most 31 characters).
    pub name: String,
    /// `neighbor_ip` / `neighbour_ip` (required).
    pub neighbor_ip: Option<IpAddr>,
    /// `source_ip` (same family as the neighbor).
    pub source_ip: Option<IpAddr>,
    /// `min_rx` (1 ms .. u32::MAX/1000 ms, default 10 ms).
    pub min_rx: Duration,
    /// `min_tx` (1 ms .. , default 10 ms).
    pub min_tx: Duration,
    /// `idle_tx` (1000 ms .. , default 1000 ms).
    pub idle_tx: Duration,
    /// `multiplier` (1..255, default 5).
    pub multiplier: u8,
    /// `passive`.
    pub passive: bool,
    /// `ttl` / `hoplimit` (1..255; None: 255 for IPv4, 64 for IPv6).
    pub ttl: Option<u8>,
    /// `max_hops` (-1..255, default 0; at most the ttl).
    pub max_hops: i16,
    /// `multihop [true|false]` (keepalived 2.4): RFC 5883, control packets to UDP 4784.
    pub multihop: bool,
    /// `weight W [reverse]` for tracking VRRP instances (-253..253, default 0).
    pub weight: i32,
    /// `weight ... reverse`.
    pub weight_reverse: bool,
    /// `vrrp`: events go to the VRRP process (with `checker`: only those named).
    pub vrrp: bool,
    /// `checker`: events go to the checker process.
    pub checker: bool,
    /// Where.
    pub loc: Loc,
}

impl BfdInstance {
    /// An instance with keepalived's defaults.
    pub fn new(name: &str) -> BfdInstance {
        BfdInstance {
            name: name.to_string(),
            neighbor_ip: None,
            source_ip: None,
            min_rx: Duration::from_millis(10),
            min_tx: Duration::from_millis(10),
            idle_tx: Duration::from_millis(1000),
            multiplier: 5,
            passive: false,
            ttl: None,
            max_hops: 0,
            multihop: false,
            weight: 0,
            weight_reverse: false,
            vrrp: false,
            checker: false,
            loc: Loc::default(),
        }
    }
}
