//! lvs-realserver: prepares an LVS-DR/TUN real server (loopback VIPs, ARP sysctls) and
//! undoes exactly what it did.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = lvs_realserver::cli::Cli::parse();
    ExitCode::from(lvs_realserver::cli::run(&cli))
}
