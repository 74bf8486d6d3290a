//! Test infrastructure (dev-only): network-namespace labs and the IPVS-capable VM runner.
pub mod cdp;
pub mod frr;
pub mod netns;
pub mod smtp_sink;
pub mod vm;
