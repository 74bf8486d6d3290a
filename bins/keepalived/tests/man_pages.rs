//! The committed man pages in dist/man/ are what the generators produce from the current CLI
//! definitions and keyword table (regenerate: `cargo run -p keepalived --example gen-man` and
//! `cargo run -p lvs-realserver --example lvs-realserver-gen-man`). Unprivileged; needs no `man`.

#[allow(dead_code)]
#[path = "../examples/gen-man.rs"]
mod gen_man;

use std::path::PathBuf;

fn man_dir() -> PathBuf {
    gen_man::workspace_root().join(gen_man::MAN_DIR)
}

// Proves dist/man/keepalived.8 and keepalived.conf.5 equal a fresh rendering (not stale).
#[test]
fn keepalived_pages_are_current() {
    let pages = gen_man::pages().expect("render");
    assert_eq!(pages.len(), 2);
    for (name, body) in pages {
        let path = man_dir().join(name);
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == body,
            "{} is stale: run `cargo run -p keepalived --example gen-man` and commit it",
            path.display()
        );
    }
}

// Proves dist/man/lvs-realserver.8 equals a fresh rendering of lvs-realserver's clap
// definition (the generator lives in that package, so it is run through cargo).
#[test]
fn lvs_realserver_page_is_current() {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "run",
            "-q",
            "-p",
            "lvs-realserver",
            "--example",
            "lvs-realserver-gen-man",
            "--",
            "--check",
        ])
        .current_dir(gen_man::workspace_root())
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "lvs-realserver.8 check failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// Proves keepalived.8 documents every visible option of the clap definition, with the
// description from keepalived's usage text.
#[test]
fn keepalived_8_lists_every_option() {
    use clap::CommandFactory;
    let page = String::from_utf8(gen_man::keepalived_8().expect("render")).expect("utf8");
    for a in keepalived::cli::Cli::command().get_arguments() {
        if a.is_hide_set() {
            continue;
        }
        if let Some(l) = a.get_long() {
            let roff = format!("\\fB\\-\\-{}\\fR", l.replace('-', "\\-"));
            assert!(page.contains(&roff), "--{l} missing from keepalived.8");
        }
    }
    assert!(page.contains("Use the specified configuration file"));
    assert!(page.contains("Check the configuration for obvious errors"));
    assert!(!page.contains("\\-\\-worker"), "hidden internal flag shown");
}

// Proves keepalived.conf.5 lists every keyword of conf-parse's table with the keyword
// registry's status, on known cases and row by row.
#[test]
fn keepalived_conf_5_lists_every_keyword_with_status() {
    let page = gen_man::keepalived_conf_5();
    for name in conf_parse::keywords::all_names() {
        let roff = format!("\\fB{}\\fR", name.replace('\\', "\\\\").replace('-', "\\-"));
        assert!(
            page.contains(&roff),
            "keyword {name} missing from keepalived.conf.5"
        );
    }
    let rows = gen_man::rows();
    let status = |block: &str, name: &str| {
        rows.iter()
            .find(|r| r.block == block && r.name == name)
            .map(|r| r.status.clone())
            .unwrap_or_else(|| panic!("no row {block} > {name}"))
    };
    // The status is the keyword registry's (issue 15): "implemented" (with the tests that show
    // it), "not supported yet: why", "accepted, no effect here: why".
    assert_eq!(status("", "bfd_instance"), "implemented");
    assert_eq!(status("bfd_instance", "idle_tx"), "implemented");
    assert_eq!(status("virtual_server", "lb_algo"), "implemented");
    assert_eq!(
        status("virtual_server > real_server", "weight"),
        "implemented"
    );
    assert_eq!(status("vrrp_instance", "virtual_router_id"), "implemented");
    // The keywords not supported yet (none is left today), whichever the registry marks so
    // (so that no promotion breaks this test).
    for l in conf_parse::registry::not_supported_global_examples() {
        let todo = l.split_whitespace().next().unwrap_or_default();
        assert!(status("global_defs", todo).starts_with("not supported yet"));
    }
    assert!(
        status("global_defs", "process_monitor_rcv_bufs").starts_with("accepted, no effect here")
    );
    assert!(status("", "vrrp_track_file").contains("alias of track_file"));
    // BFD_CHECK and its keywords: shown on real IPVS in the VM (issue 19).
    assert_eq!(
        status("virtual_server > real_server", "BFD_CHECK"),
        "implemented"
    );
    assert_eq!(
        status("virtual_server > real_server > BFD_CHECK", "name"),
        "implemented"
    );
    assert_eq!(status("global_defs", "smtp_server"), "implemented");
    assert_eq!(status("vrrp_instance", "smtp_alert"), "implemented");
    assert_eq!(status("vrrp_instance", "use_vmac_addr"), "implemented");
    assert_eq!(status("global_defs", "vmac_addr_prefix"), "implemented");
    assert_eq!(status("", "garp_group"), "implemented");
    assert_eq!(status("global_defs", "vmac_prefix"), "implemented");
    // Every row is the registry's entry, word for word.
    for (r, e) in rows.iter().zip(conf_parse::registry::registry()) {
        assert_eq!(
            (r.block.as_str(), r.name),
            (e.block_path().as_str(), e.kw.name)
        );
        assert_eq!(r.status, e.status_text());
    }
    // "implemented" and the statuses with a reason are both in use (today "accepted, no
    // effect here" only: no keyword is "not supported yet" any more).
    let other = rows
        .iter()
        .filter(|r| !r.status.starts_with("implemented"))
        .count();
    assert!(other > 0 && other < rows.len(), "{other}");
    assert!(rows
        .iter()
        .filter(|r| !r.status.starts_with("implemented"))
        .all(|r| r.status.starts_with("not supported yet: ")
            || r.status.starts_with("accepted, no effect here: ")));
}

// Proves docs/crates.md shows exactly the code of each crate's `examples/<crate>-readme.rs` (which
// cargo compiles), so the documented examples cannot drift from compiling code.
#[test]
fn crates_md_matches_compiled_examples() {
    let root = gen_man::workspace_root();
    let doc = std::fs::read_to_string(root.join("docs/crates.md")).expect("docs/crates.md");
    for c in [
        "vrrp-proto",
        "bfd-proto",
        "ipvs-nl",
        "arp-sysctl",
        "healthcheck",
        "conf-parse",
    ] {
        let path = root
            .join("crates")
            .join(c)
            .join("examples")
            .join(format!("{c}-readme.rs"));
        let src = std::fs::read_to_string(&path).expect("readme example");
        let body: Vec<&str> = src.lines().filter(|l| !l.starts_with("//!")).collect();
        let body = body.join("\n");
        let body = body.trim_matches('\n');
        assert!(
            doc.contains(&format!("## {c}\n")) && doc.contains(body),
            "docs/crates.md is out of date with {}",
            path.display()
        );
    }
}
