//! Generates the man page `lvs-realserver(8)` from lvs-realserver's clap definition.
//!
//! ```sh
//! cargo run -p lvs-realserver --example lvs-realserver-gen-man             # writes dist/man/lvs-realserver.8
//! cargo run -p lvs-realserver --example lvs-realserver-gen-man -- --check  # exit 1 if the committed page is stale
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;

/// Where the page goes, relative to the workspace root.
pub const MAN_DIR: &str = "dist/man";

fn workspace_root() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    p.canonicalize().unwrap_or(p)
}

/// `lvs-realserver(8)`.
pub fn lvs_realserver_8() -> Result<Vec<u8>, String> {
    let cmd = lvs_realserver::cli::Cli::command().version(env!("CARGO_PKG_VERSION"));
    let man = clap_mangen::Man::new(cmd.clone())
        .section("8")
        .source(format!("keepalived-rs {}", env!("CARGO_PKG_VERSION")))
        .manual("System Administration");
    let mut out = Vec::new();
    man.render(&mut out)
        .map_err(|e| format!("rendering lvs-realserver.8: {e}"))?;
    // The subcommands are described below, not in pages of their own.
    let mut main_text = String::from_utf8_lossy(&out).into_owned();
    for sub in cmd.get_subcommands() {
        let n = sub.get_name();
        main_text = main_text.replace(
            &format!("lvs\\-realserver\\-{n}(8)"),
            &format!("lvs\\-realserver {n}"),
        );
    }
    let mut out = main_text
        .replace("lvs\\-realserver\\-help(8)", "lvs\\-realserver help")
        .into_bytes();
    // One section per subcommand with its own options (clap_mangen lists only their names).
    for sub in cmd.get_subcommands() {
        let sub_man = clap_mangen::Man::new(sub.clone());
        let mut text = Vec::new();
        sub_man
            .render_synopsis_section(&mut text)
            .and_then(|()| sub_man.render_options_section(&mut text))
            .map_err(|e| format!("rendering {}: {e}", sub.get_name()))?;
        let text = String::from_utf8_lossy(&text)
            .replace(
                ".SH SYNOPSIS",
                &format!(".SH COMMAND: {}", sub.get_name().to_uppercase()),
            )
            .replace(".SH OPTIONS", ".SS Options")
            .replacen(
                &format!("\\fB{}\\fR", sub.get_name()),
                &format!("\\fBlvs\\-realserver {}\\fR", sub.get_name()),
                1,
            );
        out.extend_from_slice(text.as_bytes());
    }
    out.extend_from_slice(
        b".SH FILES\n.TP\n/etc/lvs\\-realserver.conf\nVIPs, mode, iface and label for \\fBstart\\fR without VIPs (lines \\fIkey\\fR = \\fIvalue\\fR: mode, iface, label, vip; # comments).\n.TP\n/run/lvs\\-realserver/state.json\nThe saved original values (\\-\\-state\\-dir), guarded by a flock on \\fIlock\\fR.\n.SH SEE ALSO\n\\fBkeepalived\\fR(8), \\fBkeepalived.conf\\fR(5), \\fBipvsadm\\fR(8)\n",
    );
    Ok(out)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = args.iter().any(|a| a == "--check");
    let dir = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(MAN_DIR));
    let body = match lvs_realserver_8() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("gen-man: {e}");
            return ExitCode::FAILURE;
        }
    };
    let path = dir.join("lvs-realserver.8");
    if check {
        if std::fs::read(&path).ok().as_deref() != Some(body.as_slice()) {
            eprintln!(
                "gen-man: {} is stale; regenerate with `cargo run -p lvs-realserver --example lvs-realserver-gen-man`",
                path.display()
            );
            return ExitCode::FAILURE;
        }
        return ExitCode::SUCCESS;
    }
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &body)) {
        eprintln!("gen-man: writing {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    println!("wrote {}", path.display());
    ExitCode::SUCCESS
}
