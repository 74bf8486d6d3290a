#![allow(clippy::unwrap_used, clippy::panic)] // test code
//! genhash through the keepalived binary (`-T`, and argv[0] == "genhash") against a web server
//! in a private network namespace, compared with `curl | md5sum` and the reference keepalived.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

fn in_ns(ns: &Netns, argv: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .args(argv)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// Proves `keepalived -T`, a `genhash` symlink and the reference `keepalived -T` print the same
// digest, equal to `curl -s URL | md5sum`, for several pages.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_genhash_matches_curl_md5sum_and_reference() {
    let ns = Netns::new("g");
    let dir = Dir::new("genhash");
    std::fs::write(dir.path("index.html"), "<html>hello</html>\n").unwrap();
    std::fs::write(dir.path("big.txt"), "x".repeat(200_000)).unwrap();
    std::fs::write(dir.path("empty.txt"), "").unwrap();
    let link = dir.path("genhash");
    std::os::unix::fs::symlink(BIN, &link).unwrap();
    let mut server = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.0,
            "python3",
            "-m",
            "http.server",
            "8080",
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(&dir.0)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let up = wait_until(Duration::from_secs(10), || {
        in_ns(
            &ns,
            &["curl", "-s", "-o", "/dev/null", "http://127.0.0.1:8080/"],
        )
        .0 == Some(0)
    });
    assert!(up, "web server did not start");
    for page in ["/index.html", "/big.txt", "/empty.txt"] {
        let url = format!("http://127.0.0.1:8080{page}");
        let (_, curl, _) = in_ns(&ns, &["sh", "-c", &format!("curl -s {url} | md5sum")]);
        let want = curl.split_whitespace().next().unwrap().to_string();
        let (code, ours, err) = in_ns(
            &ns,
            &[BIN, "-T", "-s", "127.0.0.1", "-p", "8080", "-u", page],
        );
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(ours.trim(), want, "ours for {page}");
        let (_, via_link, _) = in_ns(
            &ns,
            &[
                link.to_str().unwrap(),
                "-s",
                "127.0.0.1",
                "-p",
                "8080",
                "-u",
                page,
            ],
        );
        assert_eq!(via_link.trim(), want, "genhash symlink for {page}");
        let (_, reference, _) = in_ns(
            &ns,
            &[
                "/usr/sbin/keepalived",
                "-T",
                "-s",
                "127.0.0.1",
                "-p",
                "8080",
                "-u",
                page,
            ],
        );
        assert_eq!(reference.trim(), want, "reference for {page}");
    }
    let _ = server.kill();
    let _ = server.wait();
}

// Proves genhash argument errors exit with the reference's status and print the usage.
#[test]
#[ignore = "lab: needs the reference keepalived installed (scripts/test-all.sh installs it)"]
fn lab_genhash_usage_errors_like_reference() {
    for args in [
        vec!["-T"],
        vec!["-T", "-x"],
        vec!["-T", "-s", "127.0.0.1"],
        vec!["-T", "-h"],
    ] {
        let r = Command::new("/usr/sbin/keepalived")
            .args(&args)
            .output()
            .unwrap();
        let o = Command::new(BIN).args(&args).output().unwrap();
        assert_eq!(o.status.code(), r.status.code(), "{args:?}");
        let o_err = String::from_utf8_lossy(&o.stderr);
        assert!(
            o_err.contains("--genhash COMMAND [OPTIONS]"),
            "{args:?}: {o_err}"
        );
    }
}
