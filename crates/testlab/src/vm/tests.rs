use super::*;

// Proves shell quoting survives quotes, spaces and metacharacters (the job script relies on it).
#[test]
fn sh_quote_roundtrip() {
    for s in ["plain", "with space", "it's", "$(rm -rf /)", "a'b'c", ""] {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", sh_quote(s)))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), s);
    }
}

// Proves the cpio writer produces a newc archive that GNU cpio lists with the right names.
#[test]
fn cpio_newc_is_readable() {
    let mut w = CpioWriter::default();
    w.dir("bin");
    w.file("bin/hello", 0o755, b"hello world");
    w.symlink("bin/sh", "busybox");
    w.chardev("dev/console", 0o600, 5, 1);
    let bytes = w.finish();
    assert_eq!(bytes.len() % 4, 0);
    let Ok(mut child) = Command::new("cpio")
        .args(["-t", "-H", "newc", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    else {
        eprintln!("cpio not installed; skipping the cross-check");
        return;
    };
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let names: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(names, ["bin", "bin/hello", "bin/sh", "dev/console"]);
}

// Proves the static-ELF detection: /bin/sh (dash) is dynamic; busybox-static, when installed, is static.
#[test]
fn static_elf_detection() {
    assert!(!is_static_elf(Path::new("/bin/sh")));
    if Path::new("/bin/busybox").exists() {
        assert!(is_static_elf(Path::new("/bin/busybox")));
    }
}

// Proves compressed module names map to the plain .ko name stored in the initramfs.
#[test]
fn module_names() {
    assert_eq!(module_file_name(Path::new("/x/ip_vs.ko.xz")), "ip_vs.ko");
    assert_eq!(module_file_name(Path::new("/x/ip_vs.ko.zst")), "ip_vs.ko");
    assert_eq!(module_file_name(Path::new("/x/ip_vs.ko")), "ip_vs.ko");
}
