//! The library behind the `lvs-realserver` command: the LVS-DR/TUN real-server engine
//! ([`realserver`]: plan, apply with rollback, stop, status), built on `arp-sysctl`'s typed
//! sysctls and saved state, with VIPs through rtnetlink (`netplat`); the command line
//! ([`cli`]) and the configuration file ([`config`]).

pub mod cli;
pub mod config;
pub mod realserver;
