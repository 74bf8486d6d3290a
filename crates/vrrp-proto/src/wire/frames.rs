//! Link-layer frames a master sends for its VIPs: gratuitous ARP (IPv4) and unsolicited
//! neighbour advertisements (IPv6), byte-compatible with keepalived's (checked against
//! captures), with the VRRP virtual MAC (RFC 5798 §7.3).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::checksum::{fold, sum};
use crate::units::{Family, Vrid};

/// Ethernet broadcast.
pub const BROADCAST: [u8; 6] = [0xff; 6];

/// The virtual router MAC: 00-00-5E-00-01-{VRID} for IPv4, 00-00-5E-00-02-{VRID} for IPv6
/// (RFC 5798 §7.3).
pub fn virtual_mac(family: Family, vrid: Vrid) -> [u8; 6] {
    let kind = match family {
        Family::V4 => 0x01,
        Family::V6 => 0x02,
    };
    [0x00, 0x00, 0x5e, 0x00, kind, vrid.get()]
}

/// Length of a gratuitous ARP frame (without padding / FCS).
pub const GARP_LEN: usize = 42;

/// A gratuitous ARP request as keepalived sends it: Ethernet broadcast from `mac`, ARP
/// request with sender = target = `vip`, target hardware address ff:ff:ff:ff:ff:ff.
pub fn gratuitous_arp(mac: [u8; 6], vip: Ipv4Addr) -> [u8; GARP_LEN] {
    let mut f = [0u8; GARP_LEN];
    f[0..6].copy_from_slice(&BROADCAST);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    f[14..16].copy_from_slice(&1u16.to_be_bytes()); // Ethernet
    f[16..18].copy_from_slice(&0x0800u16.to_be_bytes()); // IPv4
    f[18] = 6;
    f[19] = 4;
    f[20..22].copy_from_slice(&1u16.to_be_bytes()); // request
    f[22..28].copy_from_slice(&mac);
    f[28..32].copy_from_slice(&vip.octets());
    f[32..38].copy_from_slice(&BROADCAST);
    f[38..42].copy_from_slice(&vip.octets());
    f
}

/// Length of an unsolicited NA frame with the target link-layer address option.
pub const UNA_LEN: usize = 86;

/// All-nodes multicast.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// An unsolicited neighbour advertisement as keepalived sends it (RFC 4861 §7.2.6): from
/// `vip` to ff02::1 (Ethernet 33:33:00:00:00:01), hop limit 255, Override flag (Router flag
/// when `router`), target `vip`, Target Link-Layer Address option `mac`.
pub fn unsolicited_na(mac: [u8; 6], vip: Ipv6Addr, router: bool) -> [u8; UNA_LEN] {
    let mut f = [0u8; UNA_LEN];
    f[0..6].copy_from_slice(&[0x33, 0x33, 0, 0, 0, 1]);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
    let ip = 14;
    f[ip] = 0x60;
    f[ip + 4..ip + 6].copy_from_slice(&32u16.to_be_bytes());
    f[ip + 6] = 58; // ICMPv6
    f[ip + 7] = 255;
    f[ip + 8..ip + 24].copy_from_slice(&vip.octets());
    f[ip + 24..ip + 40].copy_from_slice(&ALL_NODES.octets());
    let icmp = ip + 40;
    f[icmp] = 136;
    f[icmp + 4] = if router { 0xa0 } else { 0x20 };
    f[icmp + 8..icmp + 24].copy_from_slice(&vip.octets());
    f[icmp + 24] = 2; // target link-layer address
    f[icmp + 25] = 1;
    f[icmp + 26..icmp + 32].copy_from_slice(&mac);
    let mut acc = sum(&vip.octets(), 0);
    acc = sum(&ALL_NODES.octets(), acc);
    acc = acc.wrapping_add(32).wrapping_add(58);
    let c = fold(sum(&f[icmp..icmp + 32], acc));
    f[icmp + 2..icmp + 4].copy_from_slice(&c.to_be_bytes());
    f
}
