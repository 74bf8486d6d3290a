//! `check_file` (the bounded-memory `keepalived -t`) gives exactly the diagnostics and exit
//! code of `parse_file` + `system_checks` + `exit_code`: on every configuration shipped in
//! the repository, and on a set of configurations with errors of every kind.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use conf_parse::{
    check_file, check_file_with, check_str_with, exit_code, parse_file, parse_str, system_checks,
    system_checks_with, CheckReport, Code, ParseOptions,
};

fn opts() -> ParseOptions {
    ParseOptions {
        config_id: Some("node1".into()),
        random_seed: Some(7),
        ..ParseOptions::default()
    }
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("conf-parse-check-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

/// A fixed system: these interfaces exist, and only /bin/true and /bin/sh are executable.
fn ifaces() -> HashSet<String> {
    ["lo", "eth0", "eth1"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn executable(p: &Path) -> bool {
    p == Path::new("/bin/true") || p == Path::new("/bin/sh")
}

/// The full parse, as `keepalived -t` used to be answered.
fn full_with(path: &Path, o: &ParseOptions) -> CheckReport {
    let parsed = parse_file(path, o);
    let system = system_checks_with(&parsed.config, &ifaces(), &executable);
    let exit_code = exit_code(&parsed, &system);
    CheckReport {
        diagnostics: parsed.diagnostics,
        system,
        exit_code,
    }
}

/// Both ways on one file, with the fixed system and with the real one.
fn assert_same(path: &Path, o: &ParseOptions) -> CheckReport {
    let full = full_with(path, o);
    let check = check_file_with(path, o, &ifaces(), &executable);
    assert_eq!(check, full, "{}", path.display());
    // the real system (interfaces of this machine, real executables)
    let parsed = parse_file(path, o);
    let sys = system_checks(&parsed.config);
    let real = check_file(path, o);
    assert_eq!(real.diagnostics, parsed.diagnostics, "{}", path.display());
    assert_eq!(real.system, sys, "{}", path.display());
    assert_eq!(
        real.exit_code,
        exit_code(&parsed, &sys),
        "{}",
        path.display()
    );
    full
}

fn confs_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut v: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    v.sort();
    for p in v {
        if p.is_dir() {
            confs_under(&p, out);
        } else if p.extension().is_some_and(|e| e == "conf") {
            out.push(p);
        }
    }
}

/// Every configuration shipped in the repository (seed configs, examples, demo).
#[test]
fn repository_configs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for d in ["tests/fixtures", "examples", "dist", "docs"] {
        confs_under(&root.join(d), &mut files);
    }
    assert!(files.len() >= 15, "fixtures not found: {files:?}");
    let mut with_problems = 0;
    for f in &files {
        let r = assert_same(f, &opts());
        if r.problems().next().is_some() {
            with_problems += 1;
        }
    }
    // the fixed system has no `ens3` etc.: some configs must have been flagged
    assert!(with_problems > 0);
}

/// Configurations with errors: each is checked both ways, and must give a non-zero code
/// (so that the comparison is about real diagnostics).
const BAD: &[&str] = &[
    // unknown keywords at every level, with and without blocks
    "bogus 1\nbogus_block {\n a 1\n}\nglobal_defs {\n router_idd x\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 1\n nope 1\n}\n",
    // braces
    "global_defs {\n router_id a\n}\n}\n{\nvrrp_instance V {\n virtual_router_id 2\n",
    "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n TCP_CHECK {\n connect_timeout 3\n",
    "vrrp_instance V\n virtual_router_id 3\n}\nvirtual_ipaddress\n",
    // unterminated quote, deprecated keywords and synonyms
    "global_defs {\n router_id \"abc\n}\nvrrp_instance V {\n virtual_router_id 4\n nopreempt\n garp_master_delay 1\n}\n",
    // values out of range / not numbers, in vrrp and in LVS blocks
    "vrrp_instance V {\n virtual_router_id 300\n priority x\n advert_int -1\n interface eth0\n}\n",
    "virtual_server 10.0.0.1 99999 {\n}\nvirtual_server 10.0.0.300 80 {\n}\nvirtual_server 10.0.0.1 80 {\n delay_loop x\n lb_algo rr\n lb_kind XX\n protocol FOO\n quorum -1\n sorry_server 1.2.3 80\n real_server 10.0.0.2 80 {\n weight -5\n uthreshold x\n TCP_CHECK {\n connect_port 0\n connect_timeout abc\n retry x\n }\n HTTP_GET {\n url {\n path /\n digest zz\n status_code 700\n }\n http_protocol 9\n }\n MISC_CHECK {\n misc_timeout x\n }\n unknown_rs 1\n }\n real_server 10.0.0.3\n}\n",
    // semantic: missing vrid, unknown track_script / track_file, v2 fractional advert
    "vrrp_script chk {\n script /bin/true\n}\nvrrp_instance V {\n interface eth0\n advert_int 1.5\n track_script {\n chk\n nope\n }\n track_file {\n nofile\n }\n}\n",
    // missing interfaces (vrrp, vip dev, track_interface, static address)
    "static_ipaddress {\n 10.9.9.9/24 dev nosuch0\n}\nvrrp_instance V {\n interface eth9\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1/24 dev eht0\n }\n track_interface {\n wlan7\n }\n}\n",
    // loopback interface and script security
    "vrrp_script s {\n script \"/bin/true arg\"\n}\nvrrp_script gone {\n script /nonexistent/x\n}\nvrrp_instance V {\n interface lo\n virtual_router_id 6\n notify_master /bin/sh\n track_script {\n s\n }\n}\n",
    // script security with enable_script_security: no violation
    "global_defs {\n enable_script_security\n}\nvrrp_script s {\n script /bin/true\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 7\n}\n",
    // things check mode drops: groups, sync groups, SSL, bfd, extra, static routes
    "virtual_server_group G {\n 10.0.0.1-300 80\n fwmark x\n 10.0.0.5 80\n}\nvirtual_server group G {\n real_server 10.0.0.2 80 {\n }\n}\nvirtual_server group NOPE {\n}\nvrrp_sync_group SG {\n group {\n V\n NOT_THERE\n }\n bogus 1\n}\ngarp_group {\n garp_interval x\n}\nSSL {\n password p\n bad 1\n}\nbfd_instance b {\n neighbor_ip 10.0.0.1\n}\ntrack_group t {\n}\nstatic_routes {\n 10.0.0.0/8 via 1.2.3.4\n}\nstatic_rules {\n from 1.2.3.4 table 5\n}\nvrrp_track_process p {\n process x\n quorum x\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 8\n}\nglobal_defs {\n notification_email {\n a@b\n }\n smtp_server 1.2.3.4 x\n lvs_sync_daemon eth0 V id 300\n krs_vip_lease 1\n}\n",
    // preprocessor: parameters, ~SEQ, ~LST, conditionals, bad specs
    "$IF=eth0\n$VR=9\n@node1 global_defs {\n@node1 router_id n1\n@node1 }\n@^node1 bogus\n~SEQ(i, 1, 3) virtual_server 10.0.0.$i 80 {\n~SEQ(i, 1, 3) }\nvrrp_instance V {\n interface $IF\n virtual_router_id $VR\n}\n~SEQ(i, x) a\n~LST(a) b\n~LST(v, 1, 2) virtual_server 10.1.0.$v 8$v {\n~LST(v, 1, 2) }\n$UNDEF_USE $NOPE\n",
    // missing includes of each flavour
    "include /nonexistent/conf-parse-x.conf\nincludem /nonexistent/conf-parse-y.conf\nincludew /nonexistent/*.conf\n",
];

#[test]
fn configs_with_errors() {
    let d = tmpdir("bad");
    for (i, text) in BAD.iter().enumerate() {
        let f = d.join(format!("bad{i}.conf"));
        std::fs::write(&f, text).expect("write");
        let full = assert_same(&f, &opts());
        if i != 10 {
            assert_ne!(full.exit_code, 0, "case {i} should fail:\n{text}");
        }
        // and the text entry point agrees with parse_str
        let name = f.to_string_lossy();
        let parsed = parse_str(text, &name, &opts());
        let system = system_checks_with(&parsed.config, &ifaces(), &executable);
        let code = exit_code(&parsed, &system);
        let check = check_str_with(text, &name, &opts(), &ifaces(), &executable);
        assert_eq!(check.diagnostics, parsed.diagnostics, "case {i}");
        assert_eq!(check.system, system, "case {i}");
        assert_eq!(check.exit_code, code, "case {i}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// Includes (with errors inside included files, a loop, a glob), a missing main file,
/// and the line limit.
#[test]
fn includes_missing_files_and_limits() {
    let d = tmpdir("inc");
    std::fs::create_dir_all(d.join("conf.d")).expect("mkdir");
    std::fs::write(
        d.join("main.conf"),
        "global_defs {\n router_id main\n}\ninclude conf.d/*.conf\ninclude {a,b}.inc\ninclude loop.conf\n",
    )
    .expect("w");
    std::fs::write(
        d.join("conf.d/1.conf"),
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n}\n",
    )
    .expect("w");
    std::fs::write(
        d.join("conf.d/2.conf"),
        "vrrp_instance VI_2 {\n virtual_router_id 52\n bogus_kw 1\n track_script {\n sb\n sc\n }\n}\nvirtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 x {\n }\n",
    )
    .expect("w");
    std::fs::write(d.join("a.inc"), "vrrp_script sa {\n script /bin/true\n}\n").expect("w");
    std::fs::write(d.join("b.inc"), "vrrp_script sb {\n script /bin/false\n}\n").expect("w");
    std::fs::write(d.join("loop.conf"), "include main.conf\n").expect("w");
    let r = assert_same(&d.join("main.conf"), &opts());
    assert!(r.diagnostics.iter().any(|x| !x.include_chain.is_empty()));
    let r = assert_same(&d.join("no-such-file.conf"), &opts());
    assert_eq!(r.exit_code, 4);
    let small = ParseOptions {
        max_lines: 7,
        ..opts()
    };
    let r = assert_same(&d.join("main.conf"), &small);
    assert!(r.diagnostics.iter().any(|x| x.code == Code::LimitExceeded));
    let _ = std::fs::remove_dir_all(&d);
}

/// A large configuration of the issue #3 shape (virtual servers with TCP_CHECKs and vrrp
/// instances), with a few errors sprinkled in.
#[test]
fn large_config() {
    let d = tmpdir("large");
    let mut s = String::from("global_defs {\n router_id bench\n}\n");
    for i in 0..20 {
        s.push_str(&format!(
            "vrrp_instance VI_{i} {{\n interface eth{}\n virtual_router_id {}\n priority 100\n virtual_ipaddress {{\n 10.{i}.0.1/24\n }}\n}}\n",
            i % 3,
            i + 1
        ));
    }
    for v in 0..200 {
        s.push_str(&format!(
            "virtual_server 10.100.0.{} 80 {{\n delay_loop 6\n lb_algo rr\n lb_kind DR\n",
            v % 250 + 1
        ));
        for r in 0..10 {
            let w = if (v + r) % 97 == 0 { "x" } else { "1" };
            s.push_str(&format!(
                " real_server 10.200.0.{} 80 {{\n weight {w}\n TCP_CHECK {{\n connect_port 80\n connect_timeout 3\n }}\n }}\n",
                r + 1
            ));
        }
        s.push_str("}\n");
    }
    let f = d.join("large.conf");
    std::fs::write(&f, &s).expect("w");
    let r = assert_same(&f, &opts());
    assert_eq!(r.exit_code, 5, "bad weights and eth2: {:?}", r.system);
    assert!(!r.system.is_empty());
    assert!(r.diagnostics.len() >= 20);
    let _ = std::fs::remove_dir_all(&d);
}

// Proves the script-security verdict follows keepalived's worker processes when a `{` was
// ignored (an unclosed block swallowed the next block's opening): the workers count raw
// braces and see nothing after that point, so a MISC_CHECK there is no security violation
// (the reference 2.2.7 exits 5); before that point, or with balanced braces, it is (exit 6).
#[test]
fn script_security_after_an_ignored_open_brace() {
    let ifaces: std::collections::HashSet<String> = std::collections::HashSet::new();
    let vs = "virtual_server 192.0.2.80 53 {\n    lb_algo rr\n    lb_kind NAT\n    protocol UDP\n    real_server 198.51.100.22 53 {\n        weight 1\n        MISC_CHECK {\n            misc_path \"/bin/true\"\n        }\n    }\n}\n";
    let code = |text: &str| {
        conf_parse::check_str_with(
            text,
            "k.conf",
            &conf_parse::ParseOptions::default(),
            &ifaces,
            &|_| true,
        )
        .exit_code
    };
    // balanced: the check script is a security violation
    assert_eq!(
        code(&format!("global_defs {{\n    router_id a\n}}\n{vs}")),
        6
    );
    // vrrp_script left open: `global_defs {` inside it is ignored, the workers see no more
    assert_eq!(
        code(&format!(
            "vrrp_script x {{\n    script \"/bin/true\"\nglobal_defs {{\n    router_id a\n}}\n{vs}"
        )),
        5
    );
    // the MISC_CHECK before the ignored `{` is still seen
    assert_eq!(
        code(&format!(
            "{vs}vrrp_script x {{\n    script \"/bin/true\"\nglobal_defs {{\n    router_id a\n}}\n"
        )),
        6
    );
}
