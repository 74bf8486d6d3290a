//! The iptables/ipset backend of the VIP firewall (`vrrp_iptables`, `vrrp_ipsets` under
//! `--compat 2.4.3`) against keepalived 2.4.3 built with `--enable-iptables --enable-libipset`
//! (`scripts/build-reference-iptables.sh` into `target/ref-ipt/`): the same configuration
//! under both gives the same `iptables-legacy-save`, `ip6tables-legacy-save` and `ipset list`
//! (counters, hash seeds and memory sizes blanked) as master, as backup and after stop, and
//! the same reachability of the VIPs from a client; `-t` verdicts of the keyword forms equal.
//! Run: `cargo test -p keepalived --test lab_iptables -- --ignored`

use std::path::Path;
use std::time::Duration;

use testlab::netns::{wait_until, Host, Lab, Proc};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_keepalived");
/// The peer that takes VI_1 over (a plain keepalived; its firewall is not looked at).
const PEER: &str = "/usr/sbin/keepalived";

fn reference() -> String {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/ref-ipt/keepalived-2.4.3/sbin/keepalived"
    );
    assert!(
        Path::new(p).exists(),
        "{p} missing: run scripts/build-reference-iptables.sh"
    );
    p.to_string()
}

/// The firewall state of `h`: the legacy filter tables and the ipsets, with what varies
/// between runs blanked (packet/byte counters, `initval`, `Size in memory`).
fn fw_state(h: &Host) -> String {
    let mut out = String::new();
    for argv in [
        &["iptables-legacy-save", "-t", "filter"][..],
        &["ip6tables-legacy-save", "-t", "filter"][..],
        &["ipset", "list"][..],
    ] {
        let text = h.run_ok(argv).unwrap_or_default();
        for l in text.lines() {
            if l.starts_with('#') || l.starts_with("Size in memory:") {
                continue;
            }
            let l = match (l.starts_with(':'), l.rfind(" [")) {
                (true, Some(i)) => format!("{} [0:0]", &l[..i]),
                _ => l.to_string(),
            };
            let l = match l.find(" initval ") {
                Some(i) => l[..i].to_string(),
                None => l,
            };
            out.push_str(&l);
            out.push('\n');
        }
    }
    // A hash set lists its members in hash order, which its random initval decides: sorted.
    let mut sorted = String::new();
    let mut members: Vec<&str> = Vec::new();
    let mut in_members = false;
    for l in out.lines() {
        if in_members && !l.is_empty() && !l.starts_with("Name:") && !l.starts_with('*') {
            members.push(l);
            continue;
        }
        members.sort_unstable();
        for m in members.drain(..) {
            sorted.push_str(m);
            sorted.push('\n');
        }
        in_members = l == "Members:";
        sorted.push_str(l);
        sorted.push('\n');
    }
    members.sort_unstable();
    for m in members {
        sorted.push_str(m);
        sorted.push('\n');
    }
    sorted
}

fn instance(name: &str, vrid: u8, prio: u8, extra: &str, vips: &str) -> String {
    format!(
        "vrrp_instance {name} {{\n  interface eth0\n  virtual_router_id {vrid}\n  priority {prio}\n  advert_int 1\n{extra}\n  virtual_ipaddress {{\n{vips}\n  }}\n}}\n"
    )
}

/// Whether `vip` is on one of `h`'s interfaces (eth0, or the instance's VMAC with `use_vmac`).
fn has_vip(h: &Host, vip: &str) -> bool {
    h.ip(&["-o", "addr", "show"])
        .map(|s| s.contains(&format!(" {vip}/")))
        .unwrap_or(false)
}

fn start(h: &Host, dir: &Path, prog: &str) -> Proc {
    // Ours judges as 2.4.3 (the iptables backend) unless the test put `default-compat` in dir.
    let compat: &[&str] = if prog == BIN && !dir.join("default-compat").exists() {
        &["--compat", "2.4.3"]
    } else {
        &[]
    };
    common::start_lab_args(h, dir, prog, compat)
}

#[derive(Debug, PartialEq)]
struct Run {
    master: String,
    backup: String,
    stopped: String,
    /// A client's TCP SYN to 10.0.0.10 and to fd00::10 got an answer (refused) while master.
    reach4: bool,
    reach6: bool,
}

/// One run of `prog` as director `a`: VI_1 (IPv4, v2 unless `extra4` says) and VI_6 (v3,
/// fe80::10 and fd00::10); `setup` runs in `a`'s namespace first (chains to create).
fn run(tag: &str, prog: &str, global: &str, extra4: &str, extra6: &str, setup: &[&str]) -> Run {
    let lab = Lab::new(tag).expect("lab");
    let a = lab.host("a").expect("a");
    a.add_addr("10.0.0.1/24").expect("a4");
    a.ip(&["addr", "add", "fd00::1/64", "dev", "eth0", "nodad"])
        .expect("a6");
    // The filter tables exist from here on in both runs (a namespace's legacy tables appear
    // at their first use), and eth0's link-local address is usable (not tentative) before the
    // daemon starts.
    a.sh("iptables-legacy -S >/dev/null; ip6tables-legacy -S >/dev/null")
        .expect("tables");
    for s in setup {
        a.sh(s).expect("setup");
    }
    let ll = wait_until(Duration::from_secs(10), || {
        a.ip(&["-6", "addr", "show", "dev", "eth0", "scope", "link"])
            .map(|o| o.contains("inet6 fe80:") && !o.contains("tentative"))
            .unwrap_or(false)
    });
    assert!(ll.is_ok(), "no link-local address on eth0");
    let da = lab.dir().join("a");
    std::fs::create_dir_all(&da).expect("dir");
    let conf = format!(
        "global_defs {{\n{global}\n}}\n{}{}",
        instance(
            "VI_1",
            51,
            150,
            extra4,
            "    10.0.0.10/24\n    10.0.0.11/24"
        ),
        instance(
            "VI_6",
            52,
            150,
            &format!("  version 3\n{extra6}"),
            "    fe80::10/64\n    fd00::10/64"
        ),
    );
    std::fs::write(da.join("keepalived.conf"), &conf).expect("conf");
    let b = lab.host("b").expect("b");
    b.add_addr("10.0.0.2/24").expect("b4");
    let db = lab.dir().join("b");
    std::fs::create_dir_all(&db).expect("dir");
    let version = extra4
        .lines()
        .filter(|l| l.contains("version"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(
        db.join("keepalived.conf"),
        instance(
            "VI_1",
            51,
            200,
            &version,
            "    10.0.0.10/24\n    10.0.0.11/24",
        ),
    )
    .expect("conf b");
    let c = lab.host("c").expect("c");
    c.add_addr("10.0.0.3/24").expect("c4");
    c.ip(&["addr", "add", "fd00::3/64", "dev", "eth0", "nodad"])
        .expect("c6");

    // eth0's link-local address (a VMAC's neighbour-advertisement entry names it) differs
    // between the labs: shown as ETH0-LL.
    let eth0_ll = a
        .ip(&["-6", "-o", "addr", "show", "dev", "eth0", "scope", "link"])
        .ok()
        .and_then(|o| {
            let w = o.split_whitespace().skip_while(|w| *w != "inet6").nth(1)?;
            Some(w.split('/').next()?.to_string())
        })
        .expect("eth0 link-local");
    let fw_state = |h: &Host| fw_state(h).replace(&eth0_ll, "ETH0-LL");
    let pa = start(&a, &da, prog);
    let up = wait_until(Duration::from_secs(20), || {
        has_vip(&a, "10.0.0.10") && has_vip(&a, "fd00::10")
    });
    assert!(up.is_ok(), "{prog} not master:\n{}", pa.output_so_far());
    std::thread::sleep(Duration::from_millis(500));
    let master = fw_state(&a);
    // curl: 7 = refused (the SYN got there), 28 = time-out (dropped)
    let reach = |url: &str| {
        c.run(&["curl", "-s", "-m", "2", url])
            .map(|o| matches!(o.status.code(), Some(0 | 7)))
            .unwrap_or(false)
    };
    let reach4 = reach("http://10.0.0.10:9/");
    let reach6 = reach("http://[fd00::10]:9/");
    let pb = start(&b, &db, PEER);
    let moved = wait_until(Duration::from_secs(15), || !has_vip(&a, "10.0.0.10"));
    assert!(moved.is_ok(), "VI_1 stayed:\n{}", pa.output_so_far());
    std::thread::sleep(Duration::from_millis(500));
    let backup = fw_state(&a);
    pa.stop(Duration::from_secs(10)).ok();
    let stopped = fw_state(&a);
    pb.stop(Duration::from_secs(5)).ok();
    eprintln!("--- {prog}:\n{}", pa.output_so_far());
    Run {
        master,
        backup,
        stopped,
        reach4,
        reach6,
    }
}

fn same(tag: &str, global: &str, extra4: &str, extra6: &str, setup: &[&str]) -> Run {
    let r = reference();
    let theirs = run(&format!("{tag}r"), &r, global, extra4, extra6, setup);
    let ours = run(&format!("{tag}o"), BIN, global, extra4, extra6, setup);
    assert_eq!(
        ours, theirs,
        "ours (left) and 2.4.3-iptables (right) differ"
    );
    ours
}

// Proves `vrrp_iptables` (bare: chains INPUT/OUTPUT, with keepalived's default sets) under
// `vrrp_strict`: the same legacy tables and ipsets as 2.4.3-iptables as master (sets
// keepalived, keepalived6, keepalived_if6 holding the VIPs, fe80::10 with eth0; the set
// rules with the IPv6 neighbour-discovery ACCEPTs), as backup (VI_1's VIPs out of the set,
// rules kept) and after stop (no rules, no sets); a client reaches neither VIP.
#[test]
#[ignore = "lab: needs root, network namespaces and target/ref-ipt"]
fn lab_strict_iptables_ipsets_same_as_reference() {
    let r = same(
        "ipts",
        "  vrrp_strict\n  vrrp_iptables",
        "",
        "  no_accept",
        &[],
    );
    assert!(
        r.master
            .contains("-A INPUT -m set --match-set keepalived dst -j DROP"),
        "{}",
        r.master
    );
    assert!(r.master.contains("fe80::10,eth0"), "{}", r.master);
    assert!(r.master.contains("10.0.0.11\n"), "{}", r.master);
    assert!(!r.backup.contains("10.0.0.10\n"), "{}", r.backup);
    assert!(r.backup.contains("Name: keepalived\n"), "{}", r.backup);
    assert!(!r.stopped.contains("-A "), "{}", r.stopped);
    assert!(!r.stopped.contains("Name:"), "{}", r.stopped);
    assert!(!r.reach4 && !r.reach6, "{r:?}");
}

// Proves bare `vrrp_ipsets` (no sets: one rule per VIP, the IPv6 ones with their
// neighbour-discovery ACCEPTs and, for fe80::10, `-i/-o eth0`): same tables as 2.4.3-iptables
// as master, backup (VI_1's rules deleted) and after stop (none); no ipset.
#[test]
#[ignore = "lab: needs root, network namespaces and target/ref-ipt"]
fn lab_strict_iptables_rules_per_vip_same_as_reference() {
    let g = "  vrrp_strict\n  vrrp_iptables\n  vrrp_ipsets";
    let r = same("iptv", g, "", "  no_accept", &[]);
    assert!(
        r.master.contains("-A INPUT -d 10.0.0.10/32 -j DROP"),
        "{}",
        r.master
    );
    assert!(
        r.master.contains(
            "-A OUTPUT -s fe80::10/128 -o eth0 -p ipv6-icmp -m icmp6 --icmpv6-type 135 -j ACCEPT"
        ),
        "{}",
        r.master
    );
    assert!(!r.master.contains("Name:"), "{}", r.master);
    assert!(!r.backup.contains("10.0.0.10"), "{}", r.backup);
    assert!(r.backup.contains("fd00::10/128"), "{}", r.backup);
    assert!(!r.stopped.contains("-A "), "{}", r.stopped);
    assert!(!r.reach4 && !r.reach6, "{r:?}");
}

// Proves `vrrp_iptables IN OUT` and `vrrp_ipsets NAME4 NAME6` (the if6 set named from NAME6):
// rules in the operator's chains (which INPUT/OUTPUT jump to: keepalived neither creates nor
// hooks them), sets with the given names, as 2.4.3-iptables; and `accept`
// on VI_6 (v3): no IPv6 set or rule at all and the client reaches fd00::10, while VI_1 (no
// `accept`, not strict) is dropped.
#[test]
#[ignore = "lab: needs root, network namespaces and target/ref-ipt"]
fn lab_iptables_named_chains_sets_and_accept_same_as_reference() {
    let setup = [
        "for t in iptables-legacy ip6tables-legacy; do $t -N KA_IN && $t -N KA_OUT && \
         $t -A INPUT -j KA_IN && $t -A OUTPUT -j KA_OUT || exit 1; done",
    ];
    let g = "  vrrp_iptables KA_IN KA_OUT\n  vrrp_ipsets ka4 ka_v6";
    let r = same("iptn", g, "  no_accept", "  accept", &setup);
    assert!(
        r.master
            .contains("-A KA_OUT -m set --match-set ka4 src -j DROP"),
        "{}",
        r.master
    );
    assert!(!r.master.contains("ka_v6"), "{}", r.master);
    assert!(!r.reach4, "{r:?}");
    assert!(r.reach6, "accept: the client reaches fd00::10 {r:?}");
    assert!(!r.stopped.contains("Name:"), "{}", r.stopped);
}

/// `prog -t` exit status on `conf`.
fn verdict(h: &Host, prog: &str, conf: &Path) -> i32 {
    let c = conf.to_str().expect("utf-8");
    let mut argv = vec![prog, "-t", "-f", c];
    if prog == BIN {
        argv.extend(["--compat", "2.4.3"]);
    }
    h.run(&argv).expect("run -t").status.code().unwrap_or(-1)
}

// Proves the `-t` verdicts of the `vrrp_iptables`/`vrrp_ipsets` forms under `--compat 2.4.3`
// equal 2.4.3-iptables's (too-long names, a repeated set name, a repeated `vrrp_iptables`
// are configuration errors; equal chain names are only logged), and that without `--compat`
// `vrrp_ipsets` is still refused as Debian's 2.2.7 refuses it (unknown keyword there).
#[test]
#[ignore = "lab: needs root, network namespaces and target/ref-ipt"]
fn lab_iptables_keyword_verdicts_same_as_reference() {
    let lab = Lab::new("iptt").expect("lab");
    let h = lab.host("a").expect("host");
    h.add_addr("10.0.0.1/24").expect("addr");
    let r = reference();
    let long28 = "C".repeat(28);
    let long27 = "C".repeat(27);
    let set31 = "s".repeat(31);
    let set30 = "s".repeat(30);
    let forms = [
        "vrrp_iptables".to_string(),
        "vrrp_iptables A".into(),
        "vrrp_iptables A B".into(),
        "vrrp_iptables A A".into(),
        format!("vrrp_iptables {long28}"),
        format!("vrrp_iptables {long27} B"),
        format!("vrrp_iptables A {long28}"),
        "vrrp_iptables\n  vrrp_iptables".into(),
        "vrrp_iptables\n  vrrp_ipsets".into(),
        "vrrp_iptables\n  vrrp_ipsets a".into(),
        "vrrp_iptables\n  vrrp_ipsets a b c d e f".into(),
        "vrrp_iptables\n  vrrp_ipsets a a".into(),
        "vrrp_iptables\n  vrrp_ipsets a b b".into(),
        format!("vrrp_iptables\n  vrrp_ipsets {set31}"),
        format!("vrrp_iptables\n  vrrp_ipsets {set30}"),
        "vrrp_ipsets x".into(),
    ];
    let mut seen = Vec::new();
    for (n, f) in forms.iter().enumerate() {
        let p = lab.dir().join(format!("t{n}.conf"));
        std::fs::write(
            &p,
            format!(
                "global_defs {{\n  {f}\n}}\n{}",
                instance("VI_1", 51, 100, "", "    10.0.0.10/24")
            ),
        )
        .expect("conf");
        let ours = verdict(&h, BIN, &p);
        let theirs = verdict(&h, &r, &p);
        seen.push((f.clone(), ours, theirs));
    }
    let differ: Vec<_> = seen.iter().filter(|(_, o, t)| o != t).collect();
    assert!(
        differ.is_empty(),
        "(form, ours, 2.4.3-iptables): {differ:?}"
    );
    assert!(seen.iter().any(|s| s.2 != 0), "{seen:?}");
    assert!(seen.iter().any(|s| s.2 == 0), "{seen:?}");
    // Without --compat: Debian 2.2.7's verdict (no ipset support: unknown keyword).
    let p = lab.dir().join("t-default.conf");
    std::fs::write(
        &p,
        format!(
            "global_defs {{\n  vrrp_ipsets x\n}}\n{}",
            instance("VI_1", 51, 100, "", "    10.0.0.10/24")
        ),
    )
    .expect("conf");
    let c = p.to_str().expect("utf-8");
    let ours = h.run(&[BIN, "-t", "-f", c]).expect("-t");
    let deb = h.run(&[PEER, "-t", "-f", c]).expect("-t");
    assert_eq!(ours.status.code(), deb.status.code());
    assert_ne!(ours.status.code(), Some(0));
}

/// `prog` as a strict master of VI_1 (10.0.0.10, 10.0.0.11; `extra` in the instance) killed
/// with SIGKILL, then started again: the firewall state after the kill, as master again, and
/// after a graceful stop.
fn killed_run(tag: &str, prog: &str, global: &str, extra: &str) -> [String; 3] {
    let lab = Lab::new(tag).expect("lab");
    let a = lab.host("a").expect("a");
    a.add_addr("10.0.0.1/24").expect("a4");
    a.sh("iptables-legacy -S >/dev/null; ip6tables-legacy -S >/dev/null")
        .expect("tables");
    let da = lab.dir().join("a");
    std::fs::create_dir_all(&da).expect("dir");
    std::fs::write(
        da.join("keepalived.conf"),
        format!(
            "global_defs {{\n{global}\n}}\n{}",
            instance("VI_1", 51, 150, extra, "    10.0.0.10/24\n    10.0.0.11/24")
        ),
    )
    .expect("conf");
    let master = |p: &Proc| {
        let up = wait_until(Duration::from_secs(15), || has_vip(&a, "10.0.0.11"));
        assert!(up.is_ok(), "{prog} not master:\n{}", p.output_so_far());
        std::thread::sleep(Duration::from_millis(500));
    };
    let p = start(&a, &da, prog);
    master(&p);
    p.signal_group(nix::sys::signal::Signal::SIGKILL).ok();
    p.kill();
    // its VRRP worker too (a process of its own), and wait until it is gone
    let worker = std::fs::read_to_string(da.join("v.pid"))
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok());
    if let Some(w) = worker {
        let pid = nix::unistd::Pid::from_raw(w);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        let gone = wait_until(Duration::from_secs(5), || {
            !Path::new(&format!("/proc/{w}")).exists()
                || std::fs::read_to_string(format!("/proc/{w}/stat"))
                    .is_ok_and(|s| s.contains(") Z "))
        });
        assert!(gone.is_ok(), "worker {w} still there");
    }
    // The killed worker may stay a zombie of this test process (a subreaper) holding its
    // pid: the pidfiles of the killed run go, as after a reboot.
    for f in ["k.pid", "v.pid", "c.pid"] {
        let _ = std::fs::remove_file(da.join(f));
    }
    std::thread::sleep(Duration::from_millis(300));
    let killed = fw_state(&a);
    // keepalived leaves its VIPs when killed: out of the way, as a restart after a crash
    // would find them gone once the lease (ours) or an operator removed them.
    for v in ["10.0.0.10/24", "10.0.0.11/24"] {
        for dev in ["eth0", "vrrp.51"] {
            let _ = a.ip(&["addr", "del", v, "dev", dev]);
        }
    }
    let p = start(&a, &da, prog);
    master(&p);
    let again = fw_state(&a);
    p.stop(Duration::from_secs(10)).ok();
    let stopped = fw_state(&a);
    eprintln!("--- {prog}:\n{}", p.output_so_far());
    [killed, again, stopped]
}

// Proves a killed run's rules are dealt with as 2.4.3-iptables does at the next start: with
// rules per VIP (`vrrp_ipsets` bare) the forced removal at start deletes the leftovers, so
// the new master has one rule per VIP and chain and the stop leaves none; with sets, the sets
// are kept (created with "exist"), their rules appended once more, and the stop deletes one
// copy (the killed run's copy and the sets stay, as under keepalived). Same
// `iptables-legacy-save`/`ipset list` after the kill, as master again and after stop.
#[test]
#[ignore = "lab: needs root, network namespaces and target/ref-ipt"]
fn lab_iptables_killed_run_leftovers_same_as_reference() {
    let r = reference();
    for (n, g) in [
        "  vrrp_strict\n  vrrp_iptables\n  vrrp_ipsets",
        "  vrrp_strict\n  vrrp_iptables",
    ]
    .into_iter()
    .enumerate()
    {
        let theirs = killed_run(&format!("iptk{n}r"), &r, g, "");
        let ours = killed_run(&format!("iptk{n}o"), BIN, g, "");
        assert_eq!(
            ours, theirs,
            "case {n}: ours (left), 2.4.3-iptables (right)"
        );
        assert!(
            theirs[0].contains("10.0.0.10"),
            "case {n}: the kill left the firewall: {}",
            theirs[0]
        );
        if n == 0 {
            assert_eq!(
                theirs[1]
                    .matches("-A INPUT -d 10.0.0.10/32 -j DROP")
                    .count(),
                1,
                "{}",
                theirs[1]
            );
            assert!(!theirs[2].contains("-A "), "{}", theirs[2]);
        }
    }
}

/// The firewall `prog` sets for a strict VI_1 that owns its VIPs (priority 255): the legacy
/// tables and ipsets, and `nft list ruleset`, as master. `compat` false: ours at its default
/// level (Debian 2.2.7's nftables backend).
fn owner_run(tag: &str, prog: &str, global: &str, compat: bool) -> (String, String) {
    let lab = Lab::new(tag).expect("lab");
    let a = lab.host("a").expect("a");
    a.add_addr("10.0.0.1/24").expect("a4");
    a.sh("iptables-legacy -S >/dev/null; ip6tables-legacy -S >/dev/null")
        .expect("tables");
    let da = lab.dir().join("a");
    std::fs::create_dir_all(&da).expect("dir");
    if !compat {
        std::fs::write(da.join("default-compat"), "").expect("marker");
    }
    std::fs::write(
        da.join("keepalived.conf"),
        format!(
            "global_defs {{\n{global}\n}}\n{}",
            instance("VI_1", 51, 255, "", "    10.0.0.10/24")
        ),
    )
    .expect("conf");
    let p = start(&a, &da, prog);
    let up = wait_until(Duration::from_secs(15), || has_vip(&a, "10.0.0.10"));
    assert!(up.is_ok(), "{prog} not master:\n{}", p.output_so_far());
    std::thread::sleep(Duration::from_millis(500));
    let state = (
        fw_state(&a),
        a.run_ok(&["nft", "list", "ruleset"]).unwrap_or_default(),
    );
    p.stop(Duration::from_secs(10)).ok();
    state
}

// Proves the address owner (priority 255) gets no VIP firewall, as keepalived decides
// (`vrrp_handle_accept_mode` returns for an owner, strict or not): under `--compat 2.4.3` with
// `vrrp_iptables` (sets, and rules per VIP) the same empty legacy tables and no ipset as
// 2.4.3-iptables; by default (nftables) the same empty ruleset as Debian's 2.2.7.
#[test]
#[ignore = "lab: needs root, network namespaces and target/ref-ipt"]
fn lab_address_owner_has_no_firewall_as_reference() {
    let r = reference();
    for (n, g) in [
        "  vrrp_strict\n  vrrp_iptables",
        "  vrrp_strict\n  vrrp_iptables\n  vrrp_ipsets",
    ]
    .into_iter()
    .enumerate()
    {
        let theirs = owner_run(&format!("ipto{n}r"), &r, g, true);
        let ours = owner_run(&format!("ipto{n}o"), BIN, g, true);
        assert_eq!(
            ours, theirs,
            "case {n}: ours (left), 2.4.3-iptables (right)"
        );
        assert!(
            !theirs.0.contains("-A ") && !theirs.0.contains("Name:"),
            "{theirs:?}"
        );
    }
    let theirs = owner_run("iptodr", PEER, "  vrrp_strict", false);
    let ours = owner_run("iptodo", BIN, "  vrrp_strict", false);
    assert_eq!(ours.1, theirs.1, "nftables: ours (left), 2.2.7 (right)");
    assert!(theirs.1.trim().is_empty(), "{}", theirs.1);
}

// Proves the VMAC part of the iptables backend (keepalived 2.4.3's `iptables_add_vmac`) with
// `use_vmac` on both instances (VI_1 IPv4, VI_6 IPv6): with sets (bare `vrrp_iptables`) the
// sets keepalived_igmp (0.0.0.0/0,vrrp.51), keepalived_mld (::/0,vrrp.52) and keepalived_nd
// (eth0's link-local address,vrrp.52) with their OUTPUT rules (IGMP; MLD 143 and 131; NA 136
// from the base's link-local) appended before the VIP sets' rules; without sets (`vrrp_ipsets`
// bare) the same drops as rules per VMAC inserted at the head of OUTPUT. Same
// `iptables-legacy-save`, `ip6tables-legacy-save` and `ipset list` as 2.4.3-iptables as
// master, as backup (VI_1's VMAC stays, so do its drops) and after stop (nothing left).
#[test]
#[ignore = "lab: needs root, network namespaces and target/ref-ipt"]
fn lab_iptables_use_vmac_same_as_reference() {
    let r = same(
        "iptm",
        "  vrrp_strict\n  vrrp_iptables",
        "  use_vmac",
        "  use_vmac\n  no_accept",
        &[],
    );
    for (state, what) in [(&r.master, "master"), (&r.backup, "backup")] {
        for want in [
            "-A OUTPUT -p igmp -m set --match-set keepalived_igmp dst,dst -j DROP",
            "-A OUTPUT -p ipv6-icmp -m set --match-set keepalived_mld dst,dst -m icmp6 --icmpv6-type 143 -j DROP",
            "-A OUTPUT -p ipv6-icmp -m set --match-set keepalived_nd src,dst -m icmp6 --icmpv6-type 136 -j DROP",
            "0.0.0.0/0,vrrp.51\n",
            "::/0,vrrp.52\n",
            "ETH0-LL,vrrp.52\n",
        ] {
            assert!(state.contains(want), "{what}: {want} missing:\n{state}");
        }
    }
    assert!(r.master.contains("fe80::10,vrrp.52\n"), "{}", r.master);
    assert!(!r.stopped.contains("-A "), "{}", r.stopped);
    assert!(!r.stopped.contains("Name:"), "{}", r.stopped);
    assert!(!r.reach4 && !r.reach6, "{r:?}");

    let r = same(
        "iptmv",
        "  vrrp_strict\n  vrrp_iptables\n  vrrp_ipsets",
        "  use_vmac",
        "  use_vmac\n  no_accept",
        &[],
    );
    for (state, what) in [(&r.master, "master"), (&r.backup, "backup")] {
        for want in [
            "-A OUTPUT -o vrrp.51 -p igmp -j DROP",
            "-A OUTPUT -s ETH0-LL/128 -o vrrp.52 -p ipv6-icmp -m icmp6 --icmpv6-type 136 -j DROP\n\
             -A OUTPUT -o vrrp.52 -p ipv6-icmp -m icmp6 --icmpv6-type 131 -j DROP\n\
             -A OUTPUT -o vrrp.52 -p ipv6-icmp -m icmp6 --icmpv6-type 143 -j DROP\n",
        ] {
            assert!(state.contains(want), "{what}: {want} missing:\n{state}");
        }
    }
    assert!(!r.master.contains("Name:"), "{}", r.master);
    assert!(!r.stopped.contains("-A "), "{}", r.stopped);
    assert!(!r.reach4 && !r.reach6, "{r:?}");
}

// Proves a killed `use_vmac` run is dealt with as 2.4.3-iptables does: the VMAC it leaves is
// adopted at the next start without new IGMP entries or rules (keepalived's VMAC_UP_BIT path
// skips `firewall_add_vmac`), and at stop its removal sets the IGMP set and rule up again and
// deletes the entry (with sets: one copy of the rules and the sets stay, in use by the killed
// run's copy; without sets: the killed run's per-VMAC rule is deleted). Same tables and
// ipsets after the kill, as master again and after stop.
#[test]
#[ignore = "lab: needs root, network namespaces and target/ref-ipt"]
fn lab_iptables_use_vmac_killed_run_same_as_reference() {
    let r = reference();
    for (n, g) in [
        "  vrrp_strict\n  vrrp_iptables",
        "  vrrp_strict\n  vrrp_iptables\n  vrrp_ipsets",
    ]
    .into_iter()
    .enumerate()
    {
        let theirs = killed_run(&format!("iptkv{n}r"), &r, g, "  use_vmac");
        let ours = killed_run(&format!("iptkv{n}o"), BIN, g, "  use_vmac");
        assert_eq!(
            ours, theirs,
            "case {n}: ours (left), 2.4.3-iptables (right)"
        );
        assert!(
            theirs[0].contains("vrrp.51"),
            "case {n}: the kill left the VMAC's drop: {}",
            theirs[0]
        );
    }
}

/// `prog` alone on the link with the instances `body` (one of them holding 10.0.0.10): the
/// firewall state as master and after stop, eth0's link-local address shown as ETH0-LL.
fn vmac_run(tag: &str, prog: &str, global: &str, body: &str) -> [String; 2] {
    let lab = Lab::new(tag).expect("lab");
    let a = lab.host("a").expect("a");
    a.add_addr("10.0.0.1/24").expect("a4");
    a.ip(&["addr", "add", "fd00::1/64", "dev", "eth0", "nodad"])
        .expect("a6");
    a.sh("iptables-legacy -S >/dev/null; ip6tables-legacy -S >/dev/null")
        .expect("tables");
    let ll = wait_until(Duration::from_secs(10), || {
        a.ip(&["-6", "addr", "show", "dev", "eth0", "scope", "link"])
            .map(|o| o.contains("inet6 fe80:") && !o.contains("tentative"))
            .unwrap_or(false)
    });
    assert!(ll.is_ok(), "no link-local address on eth0");
    let da = lab.dir().join("a");
    std::fs::create_dir_all(&da).expect("dir");
    std::fs::write(
        da.join("keepalived.conf"),
        format!("global_defs {{\n{global}\n}}\n{body}"),
    )
    .expect("conf");
    let eth0_ll = a
        .ip(&["-6", "-o", "addr", "show", "dev", "eth0", "scope", "link"])
        .ok()
        .and_then(|o| {
            let w = o.split_whitespace().skip_while(|w| *w != "inet6").nth(1)?;
            Some(w.split('/').next()?.to_string())
        })
        .expect("eth0 link-local");
    let fw_state = |h: &Host| fw_state(h).replace(&eth0_ll, "ETH0-LL");
    let p = start(&a, &da, prog);
    let up = wait_until(Duration::from_secs(15), || has_vip(&a, "10.0.0.10"));
    assert!(up.is_ok(), "{prog} not master:\n{}", p.output_so_far());
    std::thread::sleep(Duration::from_millis(500));
    let master = fw_state(&a);
    p.stop(Duration::from_secs(10)).ok();
    let stopped = fw_state(&a);
    eprintln!("--- {prog}:\n{}", p.output_so_far());
    [master, stopped]
}

// Proves the two conditions of keepalived 2.4.3's VMAC drops: an IPv4 VMAC instance with an
// IPv6 excluded VIP (VRRP_FLAG_EVIP_OTHER_FAMILY) also gets the MLD entry/rules for its VMAC
// (with sets, and rules per VMAC), but no ND entry or rule (only an IPv6 instance has that); with
// `disable_local_igmp` an IPv4 VMAC gets none at all. Not strict: no VIP firewall, only the
// VMAC's. Same tables and ipsets as 2.4.3-iptables as master and after stop (nothing left).
#[test]
#[ignore = "lab: needs root, network namespaces and target/ref-ipt"]
fn lab_iptables_use_vmac_other_family_and_disable_local_igmp_same_as_reference() {
    let r = reference();
    let evip = "  use_vmac\n  virtual_ipaddress_excluded {\n    fd00::20/64\n  }";
    let body = instance("VI_1", 51, 150, evip, "    10.0.0.10/24");
    for (n, g) in [
        "  vrrp_iptables",
        "  vrrp_iptables\n  vrrp_ipsets",
        "  vrrp_iptables\n  disable_local_igmp",
    ]
    .into_iter()
    .enumerate()
    {
        let theirs = vmac_run(&format!("iptf{n}r"), &r, g, &body);
        let ours = vmac_run(&format!("iptf{n}o"), BIN, g, &body);
        assert_eq!(
            ours, theirs,
            "case {n}: ours (left), 2.4.3-iptables (right)"
        );
        let want = match n {
            0 => "::/0,vrrp.51\n",
            1 => "-A OUTPUT -o vrrp.51 -p ipv6-icmp -m icmp6 --icmpv6-type 143 -j DROP",
            _ => "",
        };
        assert!(theirs[0].contains(want), "case {n}: {}", theirs[0]);
        if n == 2 {
            assert!(!theirs[0].contains("-A "), "{}", theirs[0]);
            assert!(!theirs[0].contains("Name:"), "{}", theirs[0]);
        } else {
            // the IPv6 sets come as a whole (keepalived_nd and its rule too), but no entry
            assert!(!theirs[0].contains("fe80:"), "no ND entry: {}", theirs[0]);
        }
        assert!(!theirs[1].contains("-A "), "{}", theirs[1]);
        assert!(!theirs[1].contains("Name:"), "{}", theirs[1]);
    }
}

// Proves address VMACs (a VIP's `use_vmac`: keepalived 2.4.3 adds a VMAC per address family
// and base interface, through the same `netlink_link_add_vmac`) get the same drops as an
// instance's VMAC: IGMP for vrrp.51 (IPv4 VIP), MLD and ND (eth0's link-local) for vrrp.52
// (IPv6 VIP), with sets and as rules per VMAC. Same tables and ipsets as 2.4.3-iptables as
// master and after stop (nothing left).
#[test]
#[ignore = "lab: needs root, network namespaces and target/ref-ipt"]
fn lab_iptables_address_vmacs_same_as_reference() {
    let r = reference();
    let body = format!(
        "{}{}",
        instance("VI_1", 51, 150, "", "    10.0.0.10/24 use_vmac"),
        instance(
            "VI_6",
            52,
            150,
            "  version 3",
            "    fe80::10/64\n    fd00::30/64 use_vmac"
        )
    );
    for (n, g) in ["  vrrp_iptables", "  vrrp_iptables\n  vrrp_ipsets"]
        .into_iter()
        .enumerate()
    {
        let theirs = vmac_run(&format!("ipta{n}r"), &r, g, &body);
        let ours = vmac_run(&format!("ipta{n}o"), BIN, g, &body);
        assert_eq!(
            ours, theirs,
            "case {n}: ours (left), 2.4.3-iptables (right)"
        );
        let want: &[&str] = if n == 0 {
            &["0.0.0.0/0,vrrp.51\n", "::/0,vrrp.52\n", "ETH0-LL,vrrp.52\n"]
        } else {
            &[
                "-A OUTPUT -o vrrp.51 -p igmp -j DROP",
                "-A OUTPUT -s ETH0-LL/128 -o vrrp.52 -p ipv6-icmp -m icmp6 --icmpv6-type 136 -j DROP",
            ]
        };
        for w in want {
            assert!(theirs[0].contains(w), "case {n}: {w}: {}", theirs[0]);
        }
        assert!(!theirs[1].contains("-A "), "{}", theirs[1]);
        assert!(!theirs[1].contains("Name:"), "{}", theirs[1]);
    }
}
