//! `krs-vrrpd -f CONF [--held-vips FILE] [--stats FILE] [--no-lease] [--no-handover] [-V]`:
//! runs the VRRP runtime standalone until SIGTERM/SIGINT (development and lab tests).

use std::path::PathBuf;
use std::process::ExitCode;

struct StderrLog {
    debug: bool,
}

impl log::Log for StderrLog {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        self.debug || m.level() <= log::Level::Info
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            eprintln!(
                "{}.{:03} krs-vrrpd {}: {}",
                t.as_secs(),
                t.subsec_millis(),
                r.level(),
                r.args()
            );
        }
    }
    fn flush(&self) {}
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: krs-vrrpd -f CONF [--held-vips FILE] [--stats FILE] [--no-lease] [--no-handover] [-V] [-d]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut conf: Option<PathBuf> = None;
    let mut opts = vrrp_runtime::RuntimeOptions {
        handle_signals: true,
        ..Default::default()
    };
    let mut debug = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-f" => conf = args.next().map(PathBuf::from),
            "--held-vips" => opts.held_vips_path = args.next().map(PathBuf::from),
            "--stats" => opts.stats_path = args.next().map(PathBuf::from),
            "--no-lease" => opts.vip_lease = Some(false),
            "--no-handover" => opts.planned_handover = Some(false),
            "-V" => opts.dont_release_vrrp = true,
            "-d" => debug = true,
            _ => return usage(),
        }
    }
    let Some(conf) = conf else { return usage() };
    let logger: &'static StderrLog = Box::leak(Box::new(StderrLog { debug }));
    let _ = log::set_logger(logger);
    log::set_max_level(if debug {
        log::LevelFilter::Debug
    } else {
        log::LevelFilter::Info
    });
    let parsed = conf_parse::parse_file(&conf, &conf_parse::ParseOptions::default());
    for d in parsed.problems() {
        eprintln!("{d}");
    }
    if parsed.has_errors() {
        eprintln!("krs-vrrpd: {}: configuration has errors", conf.display());
        return ExitCode::from(1);
    }
    match vrrp_runtime::run(parsed.config, opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("krs-vrrpd: {e}");
            ExitCode::from(1)
        }
    }
}
