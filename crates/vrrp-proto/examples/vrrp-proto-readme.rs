//! docs/crates.md example: build a VRRPv3 advertisement, put it on the wire, parse it back.
//! `cargo run -p vrrp-proto --example vrrp-proto-readme`

use std::net::IpAddr;

use vrrp_proto::wire::Packet;
use vrrp_proto::{
    AdvertInterval, AdvertRepr, Auth, Centisecs, ChecksumMode, Family, Priority, Vrid,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let src: IpAddr = "192.0.2.1".parse()?;
    let group: IpAddr = "224.0.0.18".parse()?;
    let advert = AdvertRepr {
        vrid: Vrid::new(51).ok_or("VRID 0 is invalid")?,
        priority: Priority(150),
        interval: AdvertInterval::V3(Centisecs(100)), // 1 s, VRRPv3
        auth: Auth::None,
        addrs: vec!["192.0.2.100".parse()?],
    };
    // VRRPv3 checksums cover the IP pseudo-header.
    let mode = ChecksumMode::PseudoHeader { src, dst: group };
    let mut buf = vec![0u8; advert.buffer_len()];
    let len = advert.emit(&mut buf, mode)?;

    let packet = Packet::new_checked(&buf[..len], Family::V4)?;
    assert!(packet.verify_checksum(mode));
    let parsed = AdvertRepr::parse(&packet)?;
    assert_eq!(parsed, advert);
    println!("{len} bytes: {parsed:?}");
    Ok(())
}
