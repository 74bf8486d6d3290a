#![no_main]
//! Fuzz the IPVS reply decoding path: datagram splitting, netlink/genl headers, every attribute
//! level, and the conversion to domain types. Must never panic.
use ipvs_nl::attr::CmdAttr;
use ipvs_nl::message::{decode_datagram, Reply};
use ipvs_nl::{AddressFamily, DestinationInfo, Info, ServiceInfo, SyncDaemon, Timeouts};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // the family id the client resolved: take it from the input so both "ours" and "other
    // family" paths are reached
    let (fam, buf) = match data.split_first() {
        Some((f, rest)) => (0x10 + u16::from(*f % 32), rest),
        None => return,
    };
    for item in decode_datagram(buf, fam) {
        let Ok((_h, Reply::Data(m))) = item else {
            continue;
        };
        for a in &m.attrs {
            match a {
                CmdAttr::Service(s) => {
                    let _ = ServiceInfo::from_attrs(s);
                }
                CmdAttr::Dest(d) => {
                    let _ = DestinationInfo::from_attrs(d, AddressFamily::Inet);
                    let _ = DestinationInfo::from_attrs(d, AddressFamily::Inet6);
                }
                CmdAttr::Daemon(d) => {
                    let _ = SyncDaemon::from_attrs(d);
                }
                _ => {}
            }
        }
        let _ = Info::from_attrs(&m.attrs);
        let _ = Timeouts::from_attrs(&m.attrs);
    }
});
