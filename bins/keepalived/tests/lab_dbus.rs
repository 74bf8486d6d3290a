//! The D-Bus service (`global_defs { enable_dbus }`) against the reference keepalived 2.2.7 on a
//! real `dbus-daemon`: a private system bus started by the test (socket in the lab directory,
//! the policy file from `dist/dbus/`), the daemons run in a lab namespace with
//! `DBUS_SYSTEM_BUS_ADDRESS` pointing at it, and `busctl` / `dbus-send` / `dbus-monitor` as the
//! clients.
//!
//! Run: `cargo test -p keepalived --test lab_dbus -- --ignored --nocapture`

#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use testlab::netns::{read_pcap, wait_until, Host, Lab, Proc};

const BIN: &str = env!("CARGO_BIN_EXE_keepalived");
const REFERENCE: &str = "/usr/sbin/keepalived";
const SERVICE: &str = "org.keepalived.Vrrp1";
const V4_PATH: &str = "/org/keepalived/Vrrp1/Instance/eth0/51/IPv4";
const V6_PATH: &str = "/org/keepalived/Vrrp1/Instance/eth0/52/IPv6";
const VRRP_PATH: &str = "/org/keepalived/Vrrp1/Vrrp";

fn policy_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dist/dbus/org.keepalived.Vrrp1.conf")
}

/// A private bus with the system bus's default policy (no method calls, no names unless a
/// policy file allows them), root allowed to monitor, and our dist policy file.
struct Bus {
    proc: Proc,
    addr: String,
    socket: PathBuf,
    conf: PathBuf,
}

fn start_bus(host: &Host, dir: &Path) -> Bus {
    start_bus_with(host, dir, &policy_file())
}

/// [`start_bus`] with another policy file.
fn start_bus_with(host: &Host, dir: &Path, policy: &Path) -> Bus {
    let socket = dir.join("bus.sock");
    let conf = dir.join("bus.conf");
    std::fs::write(
        &conf,
        format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path={}</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <include>{}</include>
</busconfig>
"#,
            socket.display(),
            policy.display()
        ),
    )
    .unwrap();
    let _ = std::fs::remove_file(&socket);
    let proc = host
        .spawn(&[
            "dbus-daemon",
            &format!("--config-file={}", conf.display()),
            "--nofork",
            "--nopidfile",
        ])
        .expect("dbus-daemon (apt-get install dbus)");
    wait_until(Duration::from_secs(5), || socket.exists()).expect("bus socket");
    Bus {
        proc,
        addr: format!("unix:path={}", socket.display()),
        socket,
        conf,
    }
}

fn run(argv: &[&str]) -> (bool, String) {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), s)
}

fn busctl(addr: &str, args: &[&str]) -> String {
    let a = format!("--address={addr}");
    let mut argv = vec!["busctl", a.as_str()];
    argv.extend_from_slice(args);
    run(&argv).1
}

fn state_of(addr: &str, path: &str) -> String {
    busctl(
        addr,
        &[
            "get-property",
            SERVICE,
            path,
            "org.keepalived.Vrrp1.Instance",
            "State",
        ],
    )
    .trim()
    .to_string()
}

fn wait_state(addr: &str, path: &str, want: &str, timeout: Duration, log: &dyn Fn() -> String) {
    if wait_until(timeout, || state_of(addr, path) == want).is_err() {
        panic!(
            "{path}: State never became {want} (last: {}); log:\n{}",
            state_of(addr, path),
            log()
        );
    }
}

/// Drops what differs from one run to the next: timestamps, serials, unique names, the
/// generator comment of the introspection data.
fn normalize(s: &str) -> String {
    s.lines()
        .map(|l| {
            if l.starts_with("method return") {
                "method return".to_string()
            } else if let Some(i) = l.find("Rejected send message") {
                // The bus's refusal names the peers (unique names, pids, command lines).
                let member = l
                    .split_whitespace()
                    .filter(|w| w.starts_with("interface=") || w.starts_with("member="))
                    .collect::<Vec<_>>()
                    .join(" ");
                format!("{} {member}", &l[..i + "Rejected send message".len()])
            } else if let (Some(a), Some(b)) = (l.find("<!--"), l.find("-->")) {
                format!("{}{}", &l[..a], &l[b + 3..])
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What clients see: the object tree, each node's introspection (busctl's table and the raw
/// data), properties, and the answers to calls with wrong interfaces, members, signatures and
/// paths, and the methods.
fn probe(addr: &str) -> String {
    let mut out = String::new();
    out.push_str(&busctl(addr, &["tree", SERVICE]));
    for p in [
        "/",
        "/org",
        "/org/keepalived/Vrrp1",
        "/org/keepalived/Vrrp1/Instance/eth0",
        VRRP_PATH,
        V4_PATH,
        V6_PATH,
        "/nonexistent",
    ] {
        out.push_str(&format!("== {p}\n"));
        out.push_str(&busctl(addr, &["introspect", SERVICE, p]));
        out.push_str(&busctl(
            addr,
            &[
                "call",
                SERVICE,
                p,
                "org.freedesktop.DBus.Introspectable",
                "Introspect",
            ],
        ));
    }
    for p in [V4_PATH, V6_PATH] {
        out.push_str(&busctl(
            addr,
            &[
                "get-property",
                SERVICE,
                p,
                "org.keepalived.Vrrp1.Instance",
                "State",
                "Name",
            ],
        ));
        out.push_str(&busctl(
            addr,
            &[
                "call",
                SERVICE,
                p,
                "org.freedesktop.DBus.Properties",
                "GetAll",
                "s",
                "org.keepalived.Vrrp1.Instance",
            ],
        ));
    }
    let props = "org.freedesktop.DBus.Properties";
    let calls: &[(&str, String, &[&str])] = &[
        (
            V4_PATH,
            format!("{props}.Get"),
            &["string:org.keepalived.Vrrp1.Instance", "string:Foo"],
        ),
        (
            V4_PATH,
            format!("{props}.Get"),
            &["string:org.keepalived.Vrrp1.Foo", "string:Name"],
        ),
        (
            V4_PATH,
            format!("{props}.Set"),
            &[
                "string:org.keepalived.Vrrp1.Instance",
                "string:Name",
                "variant:string:x",
            ],
        ),
        (
            V4_PATH,
            format!("{props}.Set"),
            &[
                "string:org.keepalived.Vrrp1.Instance",
                "string:Foo",
                "variant:string:x",
            ],
        ),
        (
            V4_PATH,
            format!("{props}.GetAll"),
            &["string:org.keepalived.Vrrp1.Foo"],
        ),
        (
            V4_PATH,
            format!("{props}.Get"),
            &["string:org.keepalived.Vrrp1.Instance"],
        ),
        (
            VRRP_PATH,
            format!("{props}.GetAll"),
            &["string:org.keepalived.Vrrp1.Vrrp"],
        ),
        (
            VRRP_PATH,
            format!("{props}.Get"),
            &["string:org.keepalived.Vrrp1.Vrrp", "string:X"],
        ),
        (
            VRRP_PATH,
            format!("{props}.Get"),
            &["string:org.keepalived.Vrrp1.Instance", "string:Name"],
        ),
        (V4_PATH, "org.keepalived.Vrrp1.Instance.Foo".into(), &[]),
        (V4_PATH, "org.keepalived.Vrrp1.Foo.Foo".into(), &[]),
        (
            VRRP_PATH,
            "org.keepalived.Vrrp1.Instance.SendGarp".into(),
            &[],
        ),
        (V4_PATH, "org.keepalived.Vrrp1.Vrrp.PrintData".into(), &[]),
        (
            "/nonexistent",
            "org.keepalived.Vrrp1.Instance.SendGarp".into(),
            &[],
        ),
        (
            V4_PATH,
            "org.keepalived.Vrrp1.Instance.SendGarp".into(),
            &["string:x"],
        ),
        (
            VRRP_PATH,
            "org.keepalived.Vrrp1.Vrrp.PrintData".into(),
            &["int32:1"],
        ),
        (
            "/org/keepalived",
            format!("{props}.Get"),
            &["string:org.keepalived.Vrrp1.Instance", "string:Name"],
        ),
        (
            "/org/keepalived",
            "org.freedesktop.DBus.Introspectable.Introspect".into(),
            &["int32:1"],
        ),
        (
            "/org/keepalived",
            "org.freedesktop.DBus.Peer.Foo".into(),
            &[],
        ),
        (
            "/org/keepalived",
            "org.freedesktop.DBus.Peer.Ping".into(),
            &[],
        ),
        (
            "/org/keepalived",
            "org.freedesktop.DBus.Peer.Ping".into(),
            &["int32:1"],
        ),
        (
            V4_PATH,
            "org.freedesktop.DBus.Peer.Ping".into(),
            &["int32:1"],
        ),
        (
            V4_PATH,
            "org.freedesktop.DBus.Peer.GetMachineId".into(),
            &[],
        ),
        (
            V4_PATH,
            "org.freedesktop.DBus.Introspectable.Foo".into(),
            &[],
        ),
        (V4_PATH, format!("{props}.Foo"), &[]),
        (VRRP_PATH, "org.keepalived.Vrrp1.Vrrp.PrintData".into(), &[]),
        (
            VRRP_PATH,
            "org.keepalived.Vrrp1.Vrrp.PrintStats".into(),
            &[],
        ),
        (
            VRRP_PATH,
            "org.keepalived.Vrrp1.Vrrp.PrintStatsClear".into(),
            &[],
        ),
    ];
    let bus = format!("--bus={addr}");
    let dest = format!("--dest={SERVICE}");
    for (path, member, args) in calls {
        out.push_str(&format!("-- {path} {member} {args:?}\n"));
        let mut argv = vec![
            "dbus-send",
            bus.as_str(),
            "--print-reply",
            dest.as_str(),
            path,
            member,
        ];
        argv.extend_from_slice(args);
        out.push_str(&run(&argv).1);
    }
    // The policy: another user may read, not call methods.
    let nobody = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ];
    for (member, args) in [
        ("org.keepalived.Vrrp1.Vrrp.PrintData", vec![]),
        (
            "org.freedesktop.DBus.Properties.Get",
            vec!["string:org.keepalived.Vrrp1.Instance", "string:Name"],
        ),
    ] {
        let path = if member.ends_with("PrintData") {
            VRRP_PATH
        } else {
            V4_PATH
        };
        out.push_str(&format!("-- as nobody: {path} {member}\n"));
        let mut argv: Vec<&str> = nobody.to_vec();
        argv.extend([
            "dbus-send",
            bus.as_str(),
            "--print-reply",
            dest.as_str(),
            path,
            member,
        ]);
        argv.extend(args);
        out.push_str(&run(&argv).1);
    }
    normalize(&out)
}

/// One signal as dbus-monitor printed it: path, member, the `uint32` argument if any.
type Signal_ = (String, String, Option<u32>);

fn signals(monitor: &str) -> Vec<Signal_> {
    let mut v: Vec<Signal_> = Vec::new();
    for l in monitor.lines() {
        if l.starts_with("signal ") && l.contains("interface=org.keepalived.Vrrp1") {
            let field = |k: &str| {
                l.split(&format!("{k}="))
                    .nth(1)
                    .map(|r| r.split(';').next().unwrap_or("").trim().to_string())
                    .unwrap_or_default()
            };
            v.push((field("path"), field("member"), None));
        } else if let (Some(last), Some(n)) = (v.last_mut(), l.trim().strip_prefix("uint32 ")) {
            last.2 = n.parse().ok();
        }
    }
    v
}

/// Per object path, the signals in order with consecutive repeats collapsed (keepalived
/// repeats the current state when it connects).
fn per_path(sigs: &[Signal_]) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut m: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (p, member, arg) in sigs {
        let s = match arg {
            Some(n) => format!("{member}({n})"),
            None => member.clone(),
        };
        let e = m.entry(p.clone()).or_default();
        if e.last() != Some(&s) {
            e.push(s);
        }
    }
    m
}

fn conf(extra_global: &str) -> String {
    format!(
        "global_defs {{\n    router_id lab\n    enable_dbus\n{extra_global}}}\n\
vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    advert_int 1\n    garp_master_delay 0\n    garp_master_repeat 1\n    virtual_ipaddress {{\n        10.0.0.100/24\n    }}\n}}\n\
vrrp_instance VI_6 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 52\n    priority 100\n    advert_int 1\n    virtual_ipaddress {{\n        fd00::100/64\n    }}\n}}\n"
    )
}

const PEER_CONF: &str = "global_defs {\n    router_id peer\n}\nvrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 200\n    advert_int 1\n    virtual_ipaddress {\n        10.0.0.100/24\n    }\n}\n";

/// Starts `prog` on `host` with the bus address and its own TMPDIR (where PrintData and
/// PrintStats write).
fn start_daemon(
    host: &Host,
    dir: &Path,
    tag: &str,
    prog: &str,
    conf_text: &str,
    bus: &str,
) -> Proc {
    start_daemon_args(host, dir, tag, prog, conf_text, bus, &[])
}

/// [`start_daemon`] with more arguments.
fn start_daemon_args(
    host: &Host,
    dir: &Path,
    tag: &str,
    prog: &str,
    conf_text: &str,
    bus: &str,
    extra: &[&str],
) -> Proc {
    let d = dir.join(tag);
    std::fs::create_dir_all(&d).unwrap();
    let conf = d.join("keepalived.conf");
    std::fs::write(&conf, conf_text).unwrap();
    let p = |n: &str| d.join(n).display().to_string();
    let mut argv = vec![
        prog.to_string(),
        "-n".into(),
        "-l".into(),
        "-D".into(),
        "-P".into(),
        "-f".into(),
        conf.display().to_string(),
        "-p".into(),
        p("main.pid"),
        "-r".into(),
        p("vrrp.pid"),
        "-c".into(),
        p("check.pid"),
    ];
    if prog == BIN {
        argv.push("-G".into());
    }
    argv.extend(extra.iter().map(|s| s.to_string()));
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let mut cmd = host.command(&argv).unwrap();
    cmd.env("DBUS_SYSTEM_BUS_ADDRESS", bus).env("TMPDIR", &d);
    host.spawn_command(cmd, tag).expect("spawn keepalived")
}

/// Gratuitous ARPs for 10.0.0.100 in a capture.
fn garps_for_vip(pcap: &Path) -> usize {
    let p = read_pcap(pcap).expect("pcap");
    p.packets
        .iter()
        .filter(|f| {
            let d = &f.data;
            d.len() >= 42 && d[12..14] == [0x08, 0x06] && d[28..32] == [10, 0, 0, 100]
        })
        .count()
}

#[derive(Debug)]
struct Run {
    probe: String,
    /// Signals per object up to the failover back to master.
    failover: std::collections::BTreeMap<String, Vec<String>>,
    signals: std::collections::BTreeMap<String, Vec<String>>,
    garps: usize,
    files: (bool, bool),
}

/// The scenario for one daemon: both instances master alone; the client view; SendGarp on the
/// wire; a peer with a higher priority takes VI_1 and leaves again; ReloadConfig; stop.
fn scenario(lab: &Lab, a: &Host, p: &Host, bus: &Bus, prog: &str, tag: &str) -> Run {
    let dir = lab.dir();
    let monitor = a
        .spawn(&[
            "dbus-monitor",
            "--address",
            &bus.addr,
            "type='signal',interface='org.keepalived.Vrrp1.Instance'",
            "type='signal',interface='org.keepalived.Vrrp1.Vrrp'",
        ])
        .expect("dbus-monitor");
    std::thread::sleep(Duration::from_millis(300));
    let d = start_daemon(a, dir, tag, prog, &conf(""), &bus.addr);
    let log = || d.output_so_far();
    let master = "(us) 2 \"Master\"";
    wait_state(&bus.addr, V4_PATH, master, Duration::from_secs(15), &log);
    wait_state(&bus.addr, V6_PATH, master, Duration::from_secs(15), &log);
    // The initial gratuitous ARP (garp_master_repeat 1, no delayed burst) is out.
    std::thread::sleep(Duration::from_millis(1500));
    let probe = probe(&bus.addr);
    let tmp = dir.join(tag);
    let files = (
        tmp.join("keepalived.data").exists(),
        tmp.join("keepalived.stats").exists(),
    );

    let cap = lab
        .capture(a.host_name(), "eth0", &format!("garp-{tag}"))
        .expect("capture");
    std::thread::sleep(Duration::from_millis(300));
    let r = busctl(
        &bus.addr,
        &[
            "call",
            SERVICE,
            V4_PATH,
            "org.keepalived.Vrrp1.Instance",
            "SendGarp",
        ],
    );
    assert!(r.trim().is_empty(), "SendGarp: {r}");
    std::thread::sleep(Duration::from_millis(700));
    cap.stop(Duration::from_secs(2)).expect("stop capture");
    let garps = garps_for_vip(cap.pcap_path().expect("pcap path"));

    // Failover: the peer (reference, priority 200) takes VI_1, then leaves.
    let peer = start_daemon(
        p,
        dir,
        &format!("peer-{tag}"),
        REFERENCE,
        PEER_CONF,
        "unix:path=/nonexistent",
    );
    wait_state(
        &bus.addr,
        V4_PATH,
        "(us) 1 \"Backup\"",
        Duration::from_secs(15),
        &log,
    );
    peer.signal(Signal::SIGTERM).unwrap();
    peer.wait_timeout(Duration::from_secs(10)).unwrap();
    wait_state(&bus.addr, V4_PATH, master, Duration::from_secs(15), &log);

    // What the failover showed (a reload may re-announce states: compared apart).
    std::thread::sleep(Duration::from_millis(300));
    let failover = per_path(&signals(&monitor.output_so_far()));
    // ReloadConfig: the daemon reloads and says so.
    let r = busctl(
        &bus.addr,
        &[
            "call",
            SERVICE,
            VRRP_PATH,
            "org.keepalived.Vrrp1.Vrrp",
            "ReloadConfig",
        ],
    );
    assert!(r.trim().is_empty(), "ReloadConfig: {r}");
    if wait_until(Duration::from_secs(10), || {
        monitor.output_so_far().contains("member=VrrpReloaded")
    })
    .is_err()
    {
        panic!("{tag}: no VrrpReloaded after ReloadConfig; log:\n{}", log());
    }

    d.signal(Signal::SIGTERM).unwrap();
    let st = d.wait_timeout(Duration::from_secs(15)).unwrap();
    assert!(st.is_some(), "{tag} did not stop");
    std::thread::sleep(Duration::from_millis(300));
    monitor.stop(Duration::from_secs(2)).ok();
    let sigs = signals(&monitor.output_so_far());
    Run {
        probe,
        failover,
        signals: per_path(&sigs),
        garps,
        files,
    }
}

// Proves the D-Bus service is keepalived's, side by side with the reference 2.2.7 on the same
// configuration and bus: the same object tree, the same introspection data of every node, the
// same property values (`State` (us), `Name` as keepalived sends it), the same answers (error
// names and texts) to wrong interfaces, members, signatures and paths, the same refusals by
// the policy file for another user; PrintData/PrintStats write their files, SendGarp puts
// gratuitous ARPs for the VIP on the wire, and the same VrrpStatusChange sequence per
// instance through a failover to a higher-priority peer and back, VrrpReloaded after
// ReloadConfig, and STOP (98) then VrrpStopped at shutdown.
#[test]
#[ignore = "lab: needs root, network namespaces, dbus-daemon and the reference keepalived"]
fn lab_dbus_service_as_reference() {
    assert!(
        Path::new(REFERENCE).exists(),
        "reference keepalived missing"
    );
    let lab = Lab::new("dbus").expect("lab");
    let a = lab.host("a").unwrap();
    a.add_addr("10.0.0.1/24").unwrap();
    let p = lab.host("p").unwrap();
    p.add_addr("10.0.0.2/24").unwrap();
    let bus = start_bus(&a, lab.dir());

    let t0 = Instant::now();
    let reference = scenario(&lab, &a, &p, &bus, REFERENCE, "ref");
    eprintln!("reference scenario: {:?}", t0.elapsed());
    let ours = scenario(&lab, &a, &p, &bus, BIN, "ours");
    eprintln!(
        "reference: signals {:?} garps {}",
        reference.signals, reference.garps
    );
    eprintln!("ours:      signals {:?} garps {}", ours.signals, ours.garps);

    assert!(
        reference.probe.contains("org.keepalived.Vrrp1.Instance"),
        "{}",
        reference.probe
    );
    assert!(
        reference.probe.contains("AccessDenied"),
        "policy refuses nobody's PrintData"
    );
    if reference.probe != ours.probe {
        let dir = lab.dir();
        std::fs::write(dir.join("probe-ref.txt"), &reference.probe).unwrap();
        std::fs::write(dir.join("probe-ours.txt"), &ours.probe).unwrap();
        let (_, diff) = run(&[
            "diff",
            dir.join("probe-ref.txt").to_str().unwrap(),
            dir.join("probe-ours.txt").to_str().unwrap(),
        ]);
        panic!("client view differs from the reference:\n{diff}");
    }
    assert_eq!(
        reference.files,
        (true, true),
        "reference PrintData/PrintStats files"
    );
    assert_eq!(ours.files, (true, true), "PrintData/PrintStats files");
    assert!(reference.garps >= 1, "reference SendGarp on the wire");
    assert_eq!(
        ours.garps, reference.garps,
        "gratuitous ARPs after SendGarp"
    );
    let want_v4 = [
        "VrrpStatusChange(1)",
        "VrrpStatusChange(2)",
        "VrrpStatusChange(1)",
        "VrrpStatusChange(2)",
    ];
    assert_eq!(
        reference.failover.get(V4_PATH).cloned().unwrap_or_default(),
        want_v4,
        "reference signals of VI_1 through the failover: {:?}",
        reference.failover
    );
    assert_eq!(
        ours.failover, reference.failover,
        "signals per object through the failover"
    );
    // Then ReloadConfig and the stop: VrrpReloaded, each instance STOP (98), VrrpStopped last.
    for run in [&reference, &ours] {
        for p in [V4_PATH, V6_PATH] {
            let s = run.signals.get(p).cloned().unwrap_or_default();
            assert_eq!(
                s.last().map(String::as_str),
                Some("VrrpStatusChange(98)"),
                "{p}: {s:?}"
            );
        }
        let vrrp = run.signals.get(VRRP_PATH).cloned().unwrap_or_default();
        assert_eq!(vrrp, ["VrrpStarted", "VrrpReloaded", "VrrpStopped"]);
    }
    let _ = (&bus.proc, &bus.socket, &bus.conf);
}

/// The dist policy with its name replaced by `name`.
fn policy_for(dir: &Path, name: &str) -> PathBuf {
    let text = std::fs::read_to_string(policy_file())
        .unwrap()
        .replace("\"org.keepalived.Vrrp1\"", &format!("\"{name}\""));
    let p = dir.join("policy.conf");
    std::fs::write(&p, text).unwrap();
    p
}

// Proves `dbus_service_name`: with it, the reference and ours own that name instead of
// org.keepalived.Vrrp1 (which stays unowned) and export the same objects and values under it;
// and that our service outlives the bus: the bus is stopped, a higher-priority peer takes the
// VIP meanwhile (our instance goes BACKUP and releases it, VRRP never waits for the bus), the
// bus is started again, and the service connects again by itself and reports the current
// state (not compared: only ours is run through the bus restart).
#[test]
#[ignore = "lab: needs root, network namespaces, dbus-daemon and the reference keepalived"]
fn lab_dbus_service_name_and_bus_restart() {
    const NAME: &str = "org.keepalived.Vrrp1.lab";
    let lab = Lab::new("dbusn").expect("lab");
    let a = lab.host("a").unwrap();
    a.add_addr("10.0.0.1/24").unwrap();
    let p = lab.host("p").unwrap();
    p.add_addr("10.0.0.2/24").unwrap();
    let policy = policy_for(lab.dir(), NAME);
    let mut bus = start_bus_with(&a, lab.dir(), &policy);
    let text = conf(&format!("    dbus_service_name {NAME}\n"));
    let view = |addr: &str| -> String {
        let mut s = busctl(addr, &["tree", NAME]);
        s.push_str(&busctl(addr, &["introspect", NAME, V4_PATH]));
        s.push_str(&busctl(
            addr,
            &[
                "get-property",
                NAME,
                V4_PATH,
                "org.keepalived.Vrrp1.Instance",
                "Name",
                "State",
            ],
        ));
        let a = format!("--address={addr}");
        let owned = run(&["busctl", a.as_str(), "status", SERVICE]).0;
        s.push_str(&format!("default name owned: {owned}\n"));
        normalize(&s)
    };
    let wait_named = |addr: &str, want: &str, log: &dyn Fn() -> String| {
        let get = || {
            busctl(
                addr,
                &[
                    "get-property",
                    NAME,
                    V4_PATH,
                    "org.keepalived.Vrrp1.Instance",
                    "State",
                ],
            )
            .trim()
            .to_string()
        };
        if wait_until(Duration::from_secs(15), || get() == want).is_err() {
            panic!(
                "State under {NAME} never became {want} (last: {}); log:\n{}",
                get(),
                log()
            );
        }
    };
    let master = "(us) 2 \"Master\"";
    let mut views = Vec::new();
    for (prog, tag) in [(REFERENCE, "ref"), (BIN, "ours")] {
        let d = start_daemon(&a, lab.dir(), tag, prog, &text, &bus.addr);
        let log = || d.output_so_far();
        wait_named(&bus.addr, master, &log);
        views.push(view(&bus.addr));
        if prog == REFERENCE {
            d.signal(Signal::SIGTERM).unwrap();
            assert!(d.wait_timeout(Duration::from_secs(15)).unwrap().is_some());
            continue;
        }
        // Ours: the bus goes away during a failover and comes back.
        bus.proc.signal(Signal::SIGTERM).unwrap();
        bus.proc.wait_timeout(Duration::from_secs(5)).unwrap();
        let peer = start_daemon(
            &p,
            lab.dir(),
            "peer",
            REFERENCE,
            PEER_CONF,
            "unix:path=/nonexistent",
        );
        let holds = || {
            a.ip(&["-4", "addr", "show", "dev", "eth0"])
                .unwrap_or_default()
                .contains("10.0.0.100/")
        };
        if wait_until(Duration::from_secs(15), || !holds()).is_err() {
            panic!("VI_1 kept the VIP without the bus; log:\n{}", log());
        }
        assert!(d.is_running(), "daemon runs without the bus");
        bus = start_bus_with(&a, lab.dir(), &policy);
        let t0 = Instant::now();
        wait_named(&bus.addr, "(us) 1 \"Backup\"", &log);
        eprintln!("service back on the new bus after {:?}", t0.elapsed());
        peer.signal(Signal::SIGTERM).unwrap();
        peer.wait_timeout(Duration::from_secs(10)).unwrap();
        wait_named(&bus.addr, master, &log);
        d.signal(Signal::SIGTERM).unwrap();
        assert!(d.wait_timeout(Duration::from_secs(15)).unwrap().is_some());
    }
    assert!(
        views[0].contains("/org/keepalived/Vrrp1/Vrrp"),
        "{}",
        views[0]
    );
    assert!(
        views[0].contains("default name owned: false"),
        "{}",
        views[0]
    );
    assert_eq!(views[1], views[0], "ours under dbus_service_name");
}

/// Upstream keepalived 2.4.3 built with D-Bus (scripts/build-reference-dbus.sh).
const REF_DBUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../target/ref-dbus/keepalived-2.4.3/sbin/keepalived"
);

// Proves `dbus_no_interface_name` (keepalived 2.4.0) as upstream 2.4.3 built with D-Bus: a
// unicast vrrp_instance without `interface` (which ours runs under `--compat 2.4.3`, as 2.4.3
// does) is exported as Instance/none/VRID/IPv4, or Instance/NAME/VRID/IPv4 with
// `dbus_no_interface_name NAME`: the same object tree under both daemons, with and without it.
#[test]
#[ignore = "lab: needs root, network namespaces, dbus-daemon and keepalived 2.4.3 built with D-Bus"]
fn lab_dbus_no_interface_name_as_reference_2_4_3() {
    assert!(
        Path::new(REF_DBUS).exists(),
        "2.4.3 with D-Bus missing: run scripts/build-reference-dbus.sh"
    );
    let lab = Lab::new("dbusni").expect("lab");
    let a = lab.host("a").unwrap();
    a.add_addr("10.0.0.1/24").unwrap();
    let bus = start_bus(&a, lab.dir());
    let mut trees = Vec::new();
    for (n, extra) in ["", "    dbus_no_interface_name NOIF\n"]
        .into_iter()
        .enumerate()
    {
        let text = format!(
            "global_defs {{\n    router_id lab\n    enable_dbus\n{extra}}}\n\
vrrp_instance VI_U {{\n    state BACKUP\n    virtual_router_id 71\n    priority 100\n    advert_int 1\n    unicast_src_ip 10.0.0.1\n    unicast_peer {{\n        10.0.0.2\n    }}\n    virtual_ipaddress {{\n        10.0.0.171/24 dev eth0\n    }}\n}}\n"
        );
        let want = format!(
            "/org/keepalived/Vrrp1/Instance/{}/71/IPv4",
            if extra.is_empty() { "none" } else { "NOIF" }
        );
        for (prog, tag) in [(REF_DBUS, "ref"), (BIN, "ours")] {
            let tag = format!("{tag}{n}");
            let args: &[&str] = if prog == BIN {
                &["--compat", "2.4.3"]
            } else {
                &[]
            };
            let d = start_daemon_args(&a, lab.dir(), &tag, prog, &text, &bus.addr, args);
            let tree = || busctl(&bus.addr, &["tree", SERVICE]);
            if wait_until(Duration::from_secs(15), || tree().contains(&want)).is_err() {
                panic!("{tag}: {want} not in\n{}\n{}", tree(), d.output_so_far());
            }
            trees.push(normalize(&tree()));
            d.signal(Signal::SIGTERM).unwrap();
            assert!(d.wait_timeout(Duration::from_secs(15)).unwrap().is_some());
            // The name is released before the next daemon takes it.
            let _ = wait_until(Duration::from_secs(5), || !tree().contains("Instance"));
        }
    }
    eprintln!("{trees:#?}");
    assert_eq!(trees[1], trees[0], "without dbus_no_interface_name");
    assert_eq!(trees[3], trees[2], "with dbus_no_interface_name NOIF");
}
