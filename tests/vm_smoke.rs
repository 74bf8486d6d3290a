//! Smoke test of the IPVS VM runner (`testlab::vm`): ONE boot runs a batch of checks and prints
//! markers; the host asserts on them.
//!
//! These tests boot a VM from the host, so they are named `vmhost_*` (the project's VM stage runs
//! `vmhost_*` on the host and `vm_*` tests inside one shared VM boot). Run them with
//! `cargo test -p system-tests --test vm_smoke -- --include-ignored`.
use std::time::Duration;

use testlab::vm::{run_in_vm, VmError, VmOpts};

/// The in-VM batch. Every check prints `MARK <name> ok|FAIL`; the script then exits 3 on purpose so
/// the host can prove that a failing exit code comes back.
const SCRIPT: &str = r#"
mark() { if [ "$2" = 0 ]; then echo "MARK $1 ok"; else echo "MARK $1 FAIL"; fi; }
echo "uname $(uname -r)"
[ "$KRS_IN_VM" = 1 ]; mark env $?
[ "$(pwd)" = "$EXPECT_CWD" ]; mark cwd $?

# Real IPVS: add a service and a direct-routing real server, list them back.
ipvsadm -A -t 10.1.1.1:80 -s rr; mark ipvs_add_service $?
ipvsadm -a -t 10.1.1.1:80 -r 10.1.2.2:80 -g; mark ipvs_add_dest $?
ipvsadm -Ln | tee /tmp/ipvs.txt
grep -q '^TCP  10.1.1.1:80 rr' /tmp/ipvs.txt; mark ipvs_list_service $?
grep -q -- '-> 10.1.2.2:80 *Route' /tmp/ipvs.txt; mark ipvs_list_dest $?

# Every scheduler module is there.
port=1000
for s in rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh; do
    port=$((port + 1))
    ipvsadm -A -t 10.1.1.2:$port -s $s; mark sched_$s $?
done
ipvsadm -C; mark ipvs_clear $?

# The reference keepalived runs.
keepalived -v 2>&1 | head -n 1 | tee /tmp/kv.txt
grep -q '^Keepalived v' /tmp/kv.txt; mark keepalived_v $?

# A namespace lab works inside the VM (tmpfs /run, veth module).
ip netns add krs-vmt-a && ip netns add krs-vmt-b; mark netns_add $?
ip link add veth0 netns krs-vmt-a type veth peer name veth1 netns krs-vmt-b; mark veth $?
ip -n krs-vmt-a addr add 10.200.0.1/24 dev veth0 && ip -n krs-vmt-a link set veth0 up \
    && ip -n krs-vmt-b addr add 10.200.0.2/24 dev veth1 && ip -n krs-vmt-b link set veth1 up; mark addrs $?
ip netns exec krs-vmt-a busybox ping -c 1 -W 3 10.200.0.2; mark netns_ping $?
ip link add krs-br0 type bridge; mark bridge $?
# A module that is not preloaded (vrf) is loaded on demand from the Debian module tree.
ip link add krs-vrf type vrf table 10; mark module_autoload $?
ip netns del krs-vmt-a; ip netns del krs-vmt-b

# The host root is read-only, the share and /tmp are writable.
if touch /usr/krs-vm-should-fail 2>/dev/null; then mark root_readonly 1; else mark root_readonly 0; fi
echo from-vm >"$KRS_VM_SHARE/written-in-vm"; mark share_write $?
echo x >/tmp/x; mark tmp_write $?
echo "to stderr" >&2
exit 3
"#;

// Proves, in one boot: real IPVS (ipvsadm adds and lists a service and a DR real server; all
// schedulers load), the reference `keepalived -v` runs, a netns+veth lab passes a ping inside the
// VM, a module that is not preloaded loads on demand, the host root is read-only while the share
// and /tmp are writable, stdout and stderr come back separately, and the command's non-zero exit
// code (3) is returned.
#[test]
#[ignore = "vm: needs qemu and the Debian kernel"]
fn vmhost_smoke_ipvs_keepalived_netns_exitcode() {
    if std::env::var_os("KRS_IN_VM").is_some() {
        eprintln!("already inside the VM: not nesting a VM");
        return;
    }
    let cwd = std::env::current_dir().unwrap();
    let opts = VmOpts {
        timeout: Duration::from_secs(300),
        env: vec![("EXPECT_CWD".into(), cwd.display().to_string())],
        ..Default::default()
    };
    let out = run_in_vm(&opts, &["sh", "-c", SCRIPT]).expect("VM run");
    eprintln!(
        "boot time: {:.1} s, total {:.1} s",
        out.boot_time.as_secs_f64(),
        out.total_time.as_secs_f64()
    );
    eprintln!("--- stdout\n{}--- stderr\n{}", out.stdout, out.stderr);
    let failed: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("MARK ") && l.ends_with(" FAIL"))
        .collect();
    assert!(
        failed.is_empty(),
        "failed checks: {failed:?}\nconsole:\n{}",
        out.console
    );
    let expected = [
        "env",
        "cwd",
        "ipvs_add_service",
        "ipvs_add_dest",
        "ipvs_list_service",
        "ipvs_list_dest",
        "sched_rr",
        "sched_wrr",
        "sched_lc",
        "sched_wlc",
        "sched_lblc",
        "sched_lblcr",
        "sched_dh",
        "sched_sh",
        "sched_sed",
        "sched_nq",
        "sched_fo",
        "sched_ovf",
        "sched_mh",
        "ipvs_clear",
        "keepalived_v",
        "netns_add",
        "veth",
        "addrs",
        "netns_ping",
        "bridge",
        "module_autoload",
        "root_readonly",
        "share_write",
        "tmp_write",
    ];
    for m in expected {
        assert!(
            out.stdout.contains(&format!("MARK {m} ok\n")),
            "missing marker {m}:\n{}",
            out.stdout
        );
    }
    assert!(out.stdout.contains("TCP  10.1.1.1:80 rr"), "{}", out.stdout);
    assert!(out.stdout.contains("Keepalived v2."), "{}", out.stdout);
    assert_eq!(out.stderr.trim(), "to stderr");
    assert_eq!(out.exit_code, 3, "exit code of the command must come back");
    assert_eq!(
        std::fs::read_to_string(out.share.join("written-in-vm")).unwrap(),
        "from-vm\n"
    );
    assert!(!std::path::Path::new("/usr/krs-vm-should-fail").exists());
}

// Proves that two VMs booted at the same time from one process do not collide: each gets its own
// share directory (seen as $KRS_VM_SHARE inside) and its own exit code back.
#[test]
#[ignore = "vm: needs qemu and the Debian kernel"]
fn vmhost_concurrent_vms_do_not_collide() {
    if std::env::var_os("KRS_IN_VM").is_some() {
        return;
    }
    let handles: Vec<_> = (0..2)
        .map(|i| {
            std::thread::spawn(move || {
                let opts = VmOpts {
                    memory_mib: 512,
                    cpus: 1,
                    ..Default::default()
                };
                let script = format!(
                    "echo \"$KRS_VM_SHARE\"; echo {i} >\"$KRS_VM_SHARE/id\"; exit {}",
                    10 + i
                );
                run_in_vm(&opts, &["sh", "-c", &script]).expect("VM run")
            })
        })
        .collect();
    let outs: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_ne!(outs[0].share, outs[1].share);
    for (i, out) in outs.iter().enumerate() {
        assert_eq!(out.exit_code, 10 + i as i32);
        assert_eq!(out.stdout.trim(), out.share.display().to_string());
        assert_eq!(
            std::fs::read_to_string(out.share.join("id")).unwrap(),
            format!("{i}\n")
        );
    }
}

// Proves that a VM which does not reach init's ready marker within the boot timeout is killed and
// reported as BootTimeout naming the console log (here: a boot timeout far below any real boot).
#[test]
#[ignore = "vm: needs qemu and the Debian kernel"]
fn vmhost_boot_timeout_is_reported() {
    if std::env::var_os("KRS_IN_VM").is_some() {
        return;
    }
    let opts = VmOpts {
        boot_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let start = std::time::Instant::now();
    match run_in_vm(&opts, &["true"]) {
        Err(VmError::BootTimeout { console_log, .. }) => {
            assert!(
                console_log.exists(),
                "console log {} must exist",
                console_log.display()
            );
        }
        other => panic!("expected BootTimeout, got {other:?}"),
    }
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "qemu must be killed promptly"
    );
}
