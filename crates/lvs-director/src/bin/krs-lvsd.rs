//! krs-lvsd: the LVS director standalone (dev/test tool): `krs-lvsd -f CONF [-I]`.
//! Runs until SIGTERM/SIGINT (then releases its IPVS services, unless -I); SIGHUP reloads.

use std::path::PathBuf;
use std::process::ExitCode;

/// Log records on stderr, `krs-lvsd: LEVEL: message`.
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::Level::Info
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            eprintln!("krs-lvsd: {}: {}", r.level(), r.args());
        }
    }
    fn flush(&self) {}
}

fn usage() -> ExitCode {
    eprintln!("usage: krs-lvsd -f CONF [-I|--dont-release-ipvs]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut path: Option<PathBuf> = None;
    let mut dont_release = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-f" | "--use-file" => match args.next() {
                Some(p) => path = Some(PathBuf::from(p)),
                None => return usage(),
            },
            "-I" | "--dont-release-ipvs" => dont_release = true,
            _ => return usage(),
        }
    }
    let Some(path) = path else { return usage() };
    let _ = log::set_logger(&StderrLog);
    log::set_max_level(log::LevelFilter::Info);
    let parsed = conf_parse::parse_file(&path, &conf_parse::ParseOptions::default());
    for d in parsed.problems() {
        eprintln!("krs-lvsd: {}: {}", path.display(), d.message);
    }
    if parsed.has_errors() {
        return ExitCode::from(1);
    }
    let opts = lvs_director::DirectorOptions {
        handle_signals: true,
        config_path: Some(path),
        dont_release_ipvs: dont_release,
        ..Default::default()
    };
    match lvs_director::run(parsed.config, opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("krs-lvsd: {e}");
            ExitCode::from(1)
        }
    }
}
