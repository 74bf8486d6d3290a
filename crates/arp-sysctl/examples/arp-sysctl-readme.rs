//! docs/crates.md example: the LVS-DR real-server ARP settings on an in-memory sysctl backend
//! (swap in `ProcSysctl::default()` for the real /proc/sys/net/ipv4/conf).
//! `cargo run -p arp-sysctl --example arp-sysctl-readme`

use arp_sysctl::{describe_value, ConfKey, MemSysctl, Sysctl, Target};

fn main() -> Result<(), arp_sysctl::Error> {
    let mut sys = MemSysctl::with_ifaces(&["eth0"]);
    let eth0 = Target::Iface("eth0".into());
    // Don't answer ARP for the VIP on lo, don't announce it as a source.
    for t in [Target::All, Target::Iface("lo".into()), eth0.clone()] {
        sys.write(&t, ConfKey::ArpIgnore, 1)?;
        sys.write(&t, ConfKey::ArpAnnounce, 2)?;
    }
    // The kernel combines `all` and the interface value (max for these two keys).
    let all = sys.read(&Target::All, ConfKey::ArpIgnore)?;
    let own = sys.read(&eth0, ConfKey::ArpIgnore)?;
    let effective = ConfKey::ArpIgnore.combine().effective(all, own);
    println!(
        "eth0 arp_ignore = {}",
        describe_value(ConfKey::ArpIgnore, effective)
    );
    assert_eq!(effective, 1);
    Ok(())
}
