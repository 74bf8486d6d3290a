//! `default_interface` and instances without `interface`: our `keepalived -t` verdicts (the
//! same `check_file` the binary runs) next to the reference's on the same files.
//! Run: `cargo test -p conf-parse --test lab_default_interface -- --ignored`

use std::path::{Path, PathBuf};

use conf_parse::{check_file, keywords::Release, ParseOptions};

const REF_227: &str = "/usr/sbin/keepalived";

fn ref_243() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/reference/keepalived-2.4.3/bin/keepalived")
}

/// The reference's `-t`: its exit code and what it printed.
fn reference(bin: &Path, conf: &Path) -> (i32, String) {
    let out = std::process::Command::new(bin)
        .args(["-t", "-f"])
        .arg(conf)
        .output()
        .expect("run the reference keepalived");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

const INSTANCE_NO_IF: &str = "vrrp_instance VI_1 {\n  state BACKUP\n  virtual_router_id 51\n  priority 100\n  advert_int 1\n  unicast_src_ip 10.77.0.1\n  unicast_peer {\n    10.77.0.2\n  }\n  virtual_ipaddress {\n    10.77.0.100/24 dev lo\nVIP2  }\n}\n";

// Proves default_interface and instances without `interface` get keepalived's verdicts: each
// file is checked by the reference `keepalived -t` (2.2.7; with `--compat 2.4.3`, upstream
// 2.4.3 when built) and by ours (the `check_file` our `-t` runs): the same exit code, and each
// message of ours that counts is in the reference's output. Covered: a static_ipaddress
// without `dev` goes on default_interface (else eth0) and needs it to exist (exit 4,
// "Static address ... requires either an interface or default interface must exist"), unless
// dynamic_interfaces; default_interface is no interface for a vrrp_instance (2.2.7: "Unknown
// interface!", exit 5, for every instance without one); 2.4.3 refuses one without
// unicast_src_ip and drops a VIP without `dev`; `vrf` before `interface` is cleared with 2.2.7's
// "vrf can only be specified without interface".
#[test]
#[ignore = "lab: needs the reference keepalived"]
fn lab_default_interface_and_no_interface_verdicts_as_reference() {
    let dir = std::env::temp_dir().join(format!("krs-dflt-if-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let stat = "static_ipaddress {\n  192.0.2.10/24\n  192.0.2.11/24 dev lo\n}\n";
    let glob = |extra: &str| format!("global_defs {{\n  router_id r1\n{extra}}}\n");
    let cases: Vec<(&str, Option<Release>, String, i32)> = vec![
        (
            "default-lo",
            None,
            glob("  default_interface lo\n") + stat,
            0,
        ),
        (
            "default-missing",
            None,
            glob("  default_interface nosuch0\n") + stat,
            4,
        ),
        (
            "default-missing-dynamic",
            None,
            glob("  default_interface nosuch0\n  dynamic_interfaces\n") + stat,
            0,
        ),
        (
            "no-interface",
            None,
            glob("") + &INSTANCE_NO_IF.replace("VIP2", "    10.77.0.101/24 dev lo\n"),
            5,
        ),
        (
            "no-interface-default-lo",
            None,
            glob("  default_interface lo\n") + &INSTANCE_NO_IF.replace("VIP2", ""),
            5,
        ),
        (
            "no-interface-vmac",
            None,
            glob("")
                + &INSTANCE_NO_IF
                    .replace("VIP2", "")
                    .replace("advert_int 1\n", "advert_int 1\n  use_vmac\n"),
            5,
        ),
        (
            "vrf-before-interface",
            None,
            glob("")
                + &INSTANCE_NO_IF.replace("VIP2", "").replace(
                    "advert_int 1\n",
                    "advert_int 1\n  vrf VRFDEV\n  interface IFDEV\n",
                ),
            5,
        ),
        (
            "243-no-interface",
            Some(Release::V2_4_3),
            glob("") + &INSTANCE_NO_IF.replace("VIP2", "    10.77.0.101/24 dev lo\n"),
            0,
        ),
        (
            "243-vip-without-dev",
            Some(Release::V2_4_3),
            glob("") + &INSTANCE_NO_IF.replace("VIP2", "    10.77.0.101/24\n"),
            5,
        ),
        (
            "243-no-src",
            Some(Release::V2_4_3),
            glob("")
                + &INSTANCE_NO_IF
                    .replace("VIP2", "")
                    .replace("  unicast_src_ip 10.77.0.1\n", ""),
            5,
        ),
    ];
    let r243 = ref_243();
    let mut compared = 0;
    for (tag, compat, text, want) in cases {
        let bin = match compat {
            None => Path::new(REF_227).to_path_buf(),
            Some(_) if r243.exists() => r243.clone(),
            Some(_) => {
                eprintln!("{tag}: no 2.4.3 reference built; skipped");
                continue;
            }
        };
        // two interfaces of this system that are not loopbacks (VRFDEV: any such device)
        let mut devs: Vec<String> = conf_parse::system_interfaces()
            .into_iter()
            .filter(|d| d != "lo")
            .collect();
        devs.sort();
        if text.contains("VRFDEV") && devs.len() < 2 {
            eprintln!("{tag}: needs two non-loopback interfaces here; skipped");
            continue;
        }
        let text = text
            .replace("VRFDEV", devs.first().map_or("", String::as_str))
            .replace("IFDEV", devs.get(1).map_or("", String::as_str));
        let conf = dir.join(format!("{tag}.conf"));
        std::fs::write(&conf, &text).expect("write");
        let (rc, out) = reference(&bin, &conf);
        let ours = check_file(
            &conf,
            &ParseOptions {
                compat,
                ..ParseOptions::default()
            },
        );
        let msgs: Vec<String> = ours
            .diagnostics
            .iter()
            .chain(&ours.system)
            .filter(|d| d.counts())
            .map(|d| d.message.clone())
            .collect();
        eprintln!(
            "{tag}: reference {rc} {out:?}; ours {} {msgs:?}",
            ours.exit_code
        );
        assert_eq!(rc, want, "{tag}: the reference's verdict: {out}");
        assert_eq!(ours.exit_code, rc, "{tag}: ours {msgs:?}, reference {out}");
        for m in &msgs {
            // ours also sums up a missing interface in lower case
            if m.starts_with("non-existent interface") {
                assert!(out.contains("Non-existent interface specified in configuration"));
                continue;
            }
            assert!(out.contains(m.as_str()), "{tag}: {m:?} not in {out:?}");
        }
        compared += 1;
    }
    assert!(compared >= 6);
    let _ = std::fs::remove_dir_all(&dir);
}
