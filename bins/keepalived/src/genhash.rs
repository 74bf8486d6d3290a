//! `keepalived -T ...` and `genhash ...` (`argv[0]`): keepalived's genhash utility, on top of
//! healthcheck's HTTP fetch (same digest as HTTP_GET/SSL_GET).

use crate::exit;

/// Run genhash with `args` (the words after `-T`/`--genhash`, or after the program name).
pub fn run(prog: &str, am_genhash: bool, args: &[String]) -> i32 {
    if args.is_empty() {
        eprint!("{}", healthcheck::genhash::usage(prog, am_genhash));
        return exit::FATAL;
    }
    let opts = match healthcheck::genhash::parse_args(args) {
        Ok(o) => o,
        Err(e) => {
            if !matches!(&e, healthcheck::Error::Invalid { what, .. } if *what == "help") {
                eprintln!("{e}");
            }
            eprint!("{}", healthcheck::genhash::usage(prog, am_genhash));
            return exit::FATAL;
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("genhash: {e}");
            return exit::FATAL;
        }
    };
    match rt.block_on(healthcheck::genhash::fetch_digest(&opts)) {
        Ok(out) => {
            print!("{}", out.render(&opts));
            exit::OK
        }
        Err(e) => {
            // keepalived's genhash reports a failed fetch on stdout and still exits 0
            // (`check_genhash` always ends with exit(0) once the options were valid); scripts
            // written for it test the output, so we keep the status and add the reason.
            println!("Connection failed");
            eprintln!("{e}");
            exit::OK
        }
    }
}
