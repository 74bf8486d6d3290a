//! Stand-in for lvs-realserver's `config` module when `src/main.rs` is compiled into the
//! `gen-man` example (through the `main.rs` symlink next to this file): it re-exports the real
//! `src/config.rs` and, being a child of that `main.rs`, can reach its private clap `Cli`, which
//! it hands to the example through a trait impl.

#[path = "../../src/config.rs"]
mod real;
pub use real::*;

impl crate::CliSource for crate::RealserverCli {
    fn command() -> clap::Command {
        <super::Cli as clap::CommandFactory>::command()
    }
}
