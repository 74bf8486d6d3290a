use super::*;

// Proves: a service survives to_attrs → from_attrs (incl. IPv4 netmask byte order, IPv6
// prefix length, PE name, flags) so what we send is what we read back.
#[test]
fn service_roundtrip() {
    let v4 = Service {
        netmask: 0xffff_ff00,
        pe_name: Some("sip".into()),
        ..Service::new(
            ServiceKey::udp("10.1.2.3".parse().unwrap(), 5060),
            Scheduler::Sh,
        )
        .persistent(300)
        .with_flags(ServiceFlags::SH_PORT)
    };
    let back = ServiceInfo::from_attrs(&v4.to_attrs()).unwrap().service;
    assert_eq!(back, v4);
    // IPv4 mask is sent in network order: 255.255.255.0
    assert!(v4
        .to_attrs()
        .contains(&SvcAttr::Netmask([255, 255, 255, 0])));
    let v6 = Service::new(
        ServiceKey::tcp("fd00::1".parse().unwrap(), 443),
        Scheduler::Other("custom".into()),
    );
    assert_eq!(ServiceInfo::from_attrs(&v6.to_attrs()).unwrap().service, v6);
    let fw = Service::new(ServiceKey::fwmark(AddressFamily::Inet6, 9), Scheduler::Mh);
    assert_eq!(ServiceInfo::from_attrs(&fw.to_attrs()).unwrap().service, fw);
}

// Proves: destinations incl. tunnel parameters and a mixed-family (IPv6 in IPv4 service)
// address survive the round trip.
#[test]
fn destination_roundtrip() {
    let d = Destination {
        upper_threshold: 100,
        lower_threshold: 10,
        ..Destination::new(
            "fd00::5".parse().unwrap(),
            80,
            Forward::Tunnel(Tunnel {
                kind: TunnelType::Gue,
                port: 6080,
                flags: TunnelFlags(TunnelFlags::CSUM.0 | TunnelFlags::REMCSUM.0),
            }),
        )
        .with_weight(7)
    };
    let back = DestinationInfo::from_attrs(&d.to_attrs(), AddressFamily::Inet).unwrap();
    assert_eq!(back.dest, d);
}

// Proves: replies lacking identity attributes are reported, not defaulted or panicking.
#[test]
fn missing_attributes_are_reported() {
    assert!(ServiceInfo::from_attrs(&[]).is_err());
    assert!(ServiceInfo::from_attrs(&[SvcAttr::Af(2), SvcAttr::Protocol(6)]).is_err());
    assert!(DestinationInfo::from_attrs(&[DestAttr::Port(1)], AddressFamily::Inet).is_err());
    assert!(ServiceInfo::from_attrs(&[
        SvcAttr::Af(2),
        SvcAttr::Protocol(6),
        SvcAttr::Addr(vec![1]),
        SvcAttr::Port(1)
    ])
    .is_err());
}

// Proves: every scheduler name maps both ways and unknown names are kept as text.
#[test]
fn scheduler_names() {
    for s in Scheduler::KNOWN {
        assert_eq!(Scheduler::from_name(s.name()), s);
    }
    assert_eq!(Scheduler::from_name("foo"), Scheduler::Other("foo".into()));
}
