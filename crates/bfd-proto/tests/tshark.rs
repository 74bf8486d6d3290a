//! Wireshark's BFD dissector accepts what we emit: packets from a session (Down, Up with Poll,
//! Final, AdminDown) and every auth section type are written to a pcap (UDP 49152 -> 3784 via
//! `text2pcap`) and decoded with `tshark`; each decodes as BFD Control with the fields we set,
//! with no malformed-packet or expert warning. Skipped (with a note) when tshark is missing.

// Test code.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::fmt::Write as _;
use std::process::Command;
use std::time::Instant;

use bfd_proto::*;

fn have(tool: &str) -> bool {
    Command::new(tool).arg("-v").output().is_ok()
}

fn packets() -> Vec<(Repr, Vec<u8>, &'static str)> {
    let mut v = Vec::new();
    let t0 = Instant::now();
    // From a real session: the initial Down packet.
    let mut s = Session::new(SessionConfig::keepalived_defaults(0x0102_0304), t0);
    let out = s.handle(t0, Input::Timer);
    let Some(Action::Transmit(r)) = out.first() else {
        panic!()
    };
    v.push((*r, r.to_bytes().unwrap(), "session Down"));
    let base = Repr {
        state: State::Up,
        detect_mult: 5,
        my_discriminator: 0x0102_0304,
        your_discriminator: 0x0a0b_0c0d,
        desired_min_tx: 10_000,
        required_min_rx: 10_000,
        ..Repr::default()
    };
    v.push((Repr { poll: true, ..base }, Vec::new(), "Up poll"));
    v.push((
        Repr {
            final_: true,
            ..base
        },
        Vec::new(),
        "Up final",
    ));
    v.push((
        Repr {
            state: State::AdminDown,
            diag: Diag::AdministrativelyDown,
            ..base
        },
        Vec::new(),
        "AdminDown",
    ));
    for (ty, what) in [
        (AuthType::SimplePassword, "simple password"),
        (AuthType::KeyedMd5, "keyed md5"),
        (AuthType::MeticulousKeyedMd5, "meticulous md5"),
        (AuthType::KeyedSha1, "keyed sha1"),
        (AuthType::MeticulousKeyedSha1, "meticulous sha1"),
    ] {
        let key = AuthKey::new(ty, 5, b"secret").unwrap();
        let r = Repr {
            auth: Some(key.section(0x1000)),
            ..base
        };
        let mut buf = [0u8; 64];
        let n = r.emit_signed(&mut buf, key.secret()).unwrap();
        v.push((r, buf[..n].to_vec(), what));
    }
    for (r, b, _) in &mut v {
        if b.is_empty() {
            *b = r.to_bytes().unwrap();
        }
    }
    v
}

#[test]
fn tshark_decodes_our_packets_as_valid_bfd() {
    if !have("tshark") || !have("text2pcap") {
        eprintln!("SKIP: tshark/text2pcap not installed");
        return;
    }
    let pkts = packets();
    let dir = std::env::temp_dir().join(format!("bfd-proto-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut hex = String::new();
    for (_, b, _) in &pkts {
        hex.push_str("000000");
        for x in b {
            write!(hex, " {x:02x}").unwrap();
        }
        hex.push('\n');
    }
    let txt = dir.join("pkts.txt");
    let pcap = dir.join("pkts.pcap");
    std::fs::write(&txt, hex).unwrap();
    let st = Command::new("text2pcap")
        .args(["-q", "-4", "10.0.0.1,10.0.0.2", "-u", "49152,3784"])
        .arg(&txt)
        .arg(&pcap)
        .status()
        .unwrap();
    assert!(st.success());
    let out = Command::new("tshark")
        .args(["-r"])
        .arg(&pcap)
        .args([
            "-T",
            "fields",
            "-E",
            "separator=,",
            "-e",
            "bfd.version",
            "-e",
            "bfd.sta",
            "-e",
            "bfd.diag",
            "-e",
            "bfd.flags.p",
            "-e",
            "bfd.flags.f",
            "-e",
            "bfd.flags.a",
            "-e",
            "bfd.message_length",
            "-e",
            "bfd.my_discriminator",
            "-e",
            "bfd.desired_min_tx_interval",
            "-e",
            "bfd.auth.type",
            "-e",
            "bfd.auth.key",
            "-e",
            "bfd.auth.seq_num",
            "-e",
            "_ws.malformed",
            "-e",
            "_ws.expert",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), pkts.len(), "{text}");
    for ((r, b, what), line) in pkts.iter().zip(&lines) {
        let f: Vec<&str> = line.split(',').collect();
        let num = |s: &str| -> u64 {
            match s.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).unwrap(),
                None => s.parse().unwrap(),
            }
        };
        assert_eq!(num(f[0]), 1, "{what}: {line}");
        assert_eq!(num(f[1]), u64::from(r.state.bits()), "{what}: {line}");
        assert_eq!(num(f[2]), u64::from(r.diag.bits()), "{what}: {line}");
        let flag = |s: &str| s == "1" || s == "True" || s == "true";
        assert_eq!(flag(f[3]), r.poll, "{what}: {line}");
        assert_eq!(flag(f[4]), r.final_, "{what}: {line}");
        assert_eq!(flag(f[5]), r.auth.is_some(), "{what}: {line}");
        assert_eq!(num(f[6]), b.len() as u64, "{what}: {line}");
        assert_eq!(num(f[7]), u64::from(r.my_discriminator), "{what}: {line}");
        assert_eq!(num(f[8]), u64::from(r.desired_min_tx), "{what}: {line}");
        if let Some(a) = &r.auth {
            assert_eq!(
                num(f[9]),
                u64::from(a.auth_type().as_u8()),
                "{what}: {line}"
            );
            assert_eq!(num(f[10]), 5, "{what}: {line}");
            if let Some(seq) = a.seq() {
                assert_eq!(num(f[11]), u64::from(seq), "{what}: {line}");
            }
        }
        assert!(f[12].is_empty() && f[13].is_empty(), "{what}: {line}");
    }
    // And the verbose decode has no warnings at all.
    let v = Command::new("tshark")
        .arg("-V")
        .arg("-r")
        .arg(&pcap)
        .output()
        .unwrap();
    let v = String::from_utf8_lossy(&v.stdout);
    assert_eq!(v.matches("BFD Control message").count(), pkts.len());
    for bad in ["Malformed", "Expert Info (Warn", "Expert Info (Error"] {
        assert!(!v.contains(bad), "{bad}:\n{v}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
