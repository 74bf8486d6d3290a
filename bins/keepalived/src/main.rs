//! keepalived-rs director daemon, CLI-compatible with keepalived 2.x.

fn main() {
    let code = keepalived::real_main(std::env::args_os().collect());
    let _ = std::io::Write::flush(&mut std::io::stdout());
    std::process::exit(code);
}
