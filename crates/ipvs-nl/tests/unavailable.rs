//! On a kernel without IPVS (this development host), opening a handle fails fast with the clear
//! `NotAvailable` error instead of hanging.

// Test code: helpers outside #[test] fns may unwrap/panic too.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

// Proves: no "IPVS" family → Error::NotAvailable within well under the reply timeout.
#[test]
fn no_ipvs_gives_not_available_quickly() {
    let has_ipvs = std::path::Path::new("/proc/net/ip_vs").exists();
    let t = Instant::now();
    let r = ipvs_nl::Handle::new();
    if has_ipvs {
        // a kernel with IPVS: nothing to prove here (covered by the VM tests)
        return;
    }
    assert!(matches!(r, Err(ipvs_nl::Error::NotAvailable)), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(2));
    let msg = ipvs_nl::Error::NotAvailable.to_string();
    assert!(msg.contains("IPVS not available"));
}
