//! docs/crates.md example: compute the IPVS operations that turn the current table into the
//! desired one (pure, no kernel), then apply them with a netlink handle when one is available.
//! `cargo run -p ipvs-nl --example ipvs-nl-readme` (the apply step needs root and the ip_vs module).

use ipvs_nl::{
    plan, Destination, Forward, Handle, Scheduler, Scope, Service, ServiceKey, VirtualService,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = ServiceKey::tcp("192.0.2.10".parse()?, 80);
    let desired = vec![VirtualService::new(
        Service::new(key, Scheduler::Wrr),
        vec![
            Destination::new("10.0.0.2".parse()?, 80, Forward::Route),
            Destination::new("10.0.0.3".parse()?, 80, Forward::Route),
        ],
    )];
    // Against an empty table: add the service, then its two destinations.
    let ops = plan(&desired, &[], &Scope::Full);
    for op in &ops {
        println!("{op:?}");
    }
    assert_eq!(ops.len(), 3);

    // The same against the kernel (root, ip_vs loaded): minimal changes in one batch.
    match Handle::new() {
        Ok(mut h) => {
            let report = ipvs_nl::reconcile(&mut h, &desired, &Scope::Full)?;
            println!("kernel: {} services added", report.services_added());
        }
        Err(e) => println!("no IPVS here ({e}); skipped the kernel step"),
    }
    Ok(())
}
