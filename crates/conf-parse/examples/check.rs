//! `check [-i ID] [-d] FILE`: what `keepalived -t` / `-d` will do with our parser.
//! Prints diagnostics to stderr (and the canonical config with -d), exits with keepalived's
//! `-t` exit code. Used by benches/conf_vs_reference.sh to time the library.

use std::path::PathBuf;

fn main() {
    let mut opts = conf_parse::ParseOptions::default();
    let mut dump = false;
    let mut notes = false;
    let mut file = PathBuf::from("/etc/keepalived/keepalived.conf");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-i" => opts.config_id = args.next(),
            "-d" => dump = true,
            "-n" => notes = true,
            "-f" => {
                if let Some(f) = args.next() {
                    file = PathBuf::from(f);
                }
            }
            _ => file = PathBuf::from(a),
        }
    }
    if dump {
        let parsed = conf_parse::parse_file(&file, &opts);
        let sys = conf_parse::system_checks(&parsed.config);
        for d in parsed.diagnostics.iter().chain(&sys) {
            if notes || d.counts() {
                eprintln!("{d}");
            }
        }
        print!("{}", conf_parse::print(&parsed.config));
        std::process::exit(conf_parse::exit_code(&parsed, &sys));
    }
    // -t without -d: the bounded-memory check (same diagnostics and exit code)
    let report = conf_parse::check_file(&file, &opts);
    for d in report.diagnostics.iter().chain(&report.system) {
        if notes || d.counts() {
            eprintln!("{d}");
        }
    }
    std::process::exit(report.exit_code);
}
