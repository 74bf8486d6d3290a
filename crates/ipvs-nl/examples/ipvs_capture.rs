//! Capture raw kernel replies as golden fixtures (run inside the IPVS VM):
//! programs a small table covering the features, then writes each reply datagram to
//! `$KRS_VM_SHARE/ipvs-fixtures/<name>.bin` (or the directory given as first argument).

use ipvs_nl::attr::CmdAttr;
use ipvs_nl::message::{IpvsCmd, IpvsMessage};
use ipvs_nl::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var("KRS_VM_SHARE").unwrap_or_else(|_| ".".into()))
                .join("ipvs-fixtures")
        });
    std::fs::create_dir_all(&dir)?;
    let mut h = Handle::new()?;
    h.flush()?;
    let v4 = ServiceKey::tcp("192.0.2.10".parse()?, 80);
    h.new_service(&Service {
        netmask: 0xffff_ff00,
        ..Service::new(v4, Scheduler::Wrr).persistent(300)
    })?;
    h.new_destination(
        &v4,
        &Destination::new("10.0.0.2".parse()?, 8080, Forward::Masq).with_weight(3),
    )?;
    h.new_destination(
        &v4,
        &Destination::new(
            "10.0.0.3".parse()?,
            80,
            Forward::Tunnel(Tunnel {
                kind: TunnelType::Gue,
                port: 6080,
                flags: TunnelFlags::CSUM,
            }),
        ),
    )?;
    let v6 = ServiceKey::udp("fd00::10".parse()?, 53);
    h.new_service(
        &Service::new(v6, Scheduler::Sh)
            .with_flags(ServiceFlags::SH_PORT | ServiceFlags::SH_FALLBACK),
    )?;
    h.new_destination(
        &v6,
        &Destination::new("fd00::2".parse()?, 53, Forward::Route),
    )?;
    let fw = ServiceKey::fwmark(AddressFamily::Inet, 7);
    h.new_service(&Service::new(fw, Scheduler::Mh))?;
    let cap = |h: &mut Handle,
               name: &str,
               msg: IpvsMessage,
               dump: bool|
     -> Result<(), Box<dyn std::error::Error>> {
        let dgrams = h.raw_request(msg, dump)?;
        for (i, d) in dgrams.iter().enumerate() {
            std::fs::write(dir.join(format!("{name}.{i}.bin")), d)?;
        }
        println!("{name}: {} datagrams", dgrams.len());
        Ok(())
    };
    cap(
        &mut h,
        "get_info",
        IpvsMessage::new(IpvsCmd::GetInfo, vec![]),
        false,
    )?;
    cap(
        &mut h,
        "get_config",
        IpvsMessage::new(IpvsCmd::GetConfig, vec![]),
        false,
    )?;
    cap(
        &mut h,
        "dump_services",
        IpvsMessage::new(IpvsCmd::GetService, vec![]),
        true,
    )?;
    let svc_attrs = match Handle::operation_message(&Operation::DelService(v4))
        .attrs
        .into_iter()
        .next()
    {
        Some(CmdAttr::Service(s)) => s,
        _ => return Err("no service attrs".into()),
    };
    cap(
        &mut h,
        "dump_dests_v4",
        IpvsMessage::new(IpvsCmd::GetDest, vec![CmdAttr::Service(svc_attrs)]),
        true,
    )?;
    // an error reply: adding an existing service
    let add = Handle::operation_message(&Operation::AddService(Service::new(fw, Scheduler::Mh)));
    let _ = cap(&mut h, "error_eexist", add, false);
    h.start_daemon(&SyncDaemon::new(DaemonState::Master, "lo", 5))?;
    cap(
        &mut h,
        "dump_daemons",
        IpvsMessage::new(IpvsCmd::GetDaemon, vec![]),
        true,
    )?;
    h.stop_daemon(DaemonState::Master)?;
    h.flush()?;
    Ok(())
}
