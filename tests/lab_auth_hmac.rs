//! `auth_hmac` adverts captured live from upstream keepalived 2.4.3 (built by
//! scripts/build-reference.sh) in a namespace lab and verified with our codec
//! (`vrrp_proto::auth_hmac`) at the wall-clock time they arrive: v2 and v3, IPv4 and IPv6,
//! multicast and unicast, each instance with its own key id and key. Needs root:
//! `cargo test -p system-tests --test lab_auth_hmac -- --ignored lab_`.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use testlab::netns::{read_pcap, Lab};
use vrrp_proto::auth_hmac::*;
use vrrp_proto::wire::auth_ext::{announced_message_len, split_trailer, PseudoHeader};
use vrrp_proto::{Family, Version, Vrid};

/// The reference binary: built (or found cached) by scripts/build-reference.sh.
fn reference() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(root.join("scripts/build-reference.sh"))
        .output()
        .expect("run scripts/build-reference.sh");
    assert!(
        out.status.success(),
        "build-reference.sh failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    PathBuf::from(text.lines().last().expect("binary path").trim())
}

struct Inst {
    vrid: u8,
    version: Version,
    family: Family,
    unicast: bool,
    key_id: u8,
    key: String,
}

fn key_hex(seed: u8) -> String {
    let b: String = (0..32u8)
        .map(|i| format!("{:02x}", i.wrapping_mul(7) ^ seed))
        .collect();
    format!("hex:{b}")
}

fn conf(insts: &[Inst]) -> String {
    let mut s = String::from("global_defs {\n  router_id krs_hmac_lab\n}\n");
    for i in insts {
        let (vip, src, peer) = match i.family {
            Family::V4 => (
                format!("10.0.0.{}/24", 100 + i.vrid),
                "10.0.0.1",
                "10.0.0.2",
            ),
            Family::V6 => (format!("fd00::{}/64", 100 + i.vrid), "fd00::1", "fd00::2"),
        };
        let uc = if i.unicast {
            format!("  unicast_src_ip {src}\n  unicast_peer {{\n    {peer}\n  }}\n")
        } else {
            String::new()
        };
        s.push_str(&format!(
            "vrrp_instance VI_{vrid} {{\n  version {ver}\n  state MASTER\n  interface eth0\n  \
             virtual_router_id {vrid}\n  priority 150\n  advert_int 1\n{uc}  auth_hmac {{\n    \
             key {kid} {key}\n    active_key {kid}\n    time_window 5\n  }}\n  \
             virtual_ipaddress {{\n    {vip}\n  }}\n}}\n",
            vrid = i.vrid,
            ver = i.version.number(),
            kid = i.key_id,
            key = i.key,
        ));
    }
    s
}

/// Ethernet frame → (source, VRRP payload) of a VRRP packet.
fn vrrp_of(frame: &[u8]) -> Option<(IpAddr, &[u8])> {
    let et = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
    let ip = frame.get(14..)?;
    match et {
        0x0800 if *ip.get(9)? == 112 => {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let tot = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
            let src = IpAddr::from(<[u8; 4]>::try_from(ip.get(12..16)?).ok()?);
            Some((src, ip.get(ihl..tot)?))
        }
        0x86dd if *ip.get(6)? == 112 => {
            let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
            let src = IpAddr::from(<[u8; 16]>::try_from(ip.get(8..24)?).ok()?);
            Some((src, ip.get(40..40 + plen)?))
        }
        _ => None,
    }
}

// Proves upstream keepalived 2.4.3's auth_hmac adverts, captured live (v2/IPv4 multicast,
// v3/IPv4 multicast, v3/IPv6 multicast, v2/IPv4 unicast, v3/IPv4 unicast, v3/IPv6 unicast),
// verify with our codec at their arrival time under `anti_replay time` (window 5 s) with a
// replay mark carried per sender, that our signer reproduces every trailer byte for byte, and
// that a replayed or tampered copy is rejected with the right counter.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_auth_hmac_upstream_2_4_3_verified_live() {
    let bin = reference();
    let insts = [
        (81, Version::V2, Family::V4, false, 1),
        (82, Version::V3, Family::V4, false, 2),
        (83, Version::V3, Family::V6, false, 3),
        (84, Version::V2, Family::V4, true, 4),
        (85, Version::V3, Family::V4, true, 5),
        (86, Version::V3, Family::V6, true, 6),
    ]
    .map(|(vrid, version, family, unicast, key_id)| Inst {
        vrid,
        version,
        family,
        unicast,
        key_id,
        key: key_hex(vrid),
    });
    let lab = Lab::new("hmac").unwrap();
    let a = lab.host("a").unwrap();
    let b = lab.host("b").unwrap();
    a.add_addr("10.0.0.1/24").unwrap();
    b.add_addr("10.0.0.2/24").unwrap();
    a.add_addr("fd00::1/64").unwrap();
    b.add_addr("fd00::2/64").unwrap();
    let cfile = lab.dir().join("a.conf");
    std::fs::write(&cfile, conf(&insts)).unwrap();
    let cap = lab.capture("b", "eth0", "hmac").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let p1 = lab.dir().join("a.pid");
    let p2 = lab.dir().join("a.vrrp.pid");
    let ka = a
        .spawn(&[
            bin.to_str().unwrap(),
            "-n",
            "-l",
            "-D",
            "-P",
            "-f",
            cfile.to_str().unwrap(),
            "-p",
            p1.to_str().unwrap(),
            "-r",
            p2.to_str().unwrap(),
        ])
        .unwrap();
    // BACKUP for 3 × advert_int + skew, then MASTER: a few signed adverts each.
    std::thread::sleep(Duration::from_secs(7));
    ka.stop(Duration::from_secs(5)).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    cap.stop(Duration::from_secs(5)).unwrap();
    let pcap = read_pcap(cap.pcap_path().unwrap()).unwrap();

    let by_vrid: BTreeMap<u8, &Inst> = insts.iter().map(|i| (i.vrid, i)).collect();
    let mut verified: BTreeMap<u8, usize> = BTreeMap::new();
    let mut states: BTreeMap<u8, (ReplayState, McastSenders)> = BTreeMap::new();
    for p in &pcap.packets {
        let Some((src, payload)) = vrrp_of(&p.data) else {
            continue;
        };
        let Some(inst) = payload.get(1).and_then(|v| by_vrid.get(v)) else {
            continue;
        };
        let cfg = AuthHmac::new(
            vec![Key::new(inst.key_id, &Key::decode_value(&inst.key)).unwrap()],
            inst.key_id,
            Mode::Enforce,
            AntiReplay::Time { window: 5 },
        )
        .unwrap();
        let pseudo = PseudoHeader {
            version: inst.version,
            vrid: Vrid::new(inst.vrid).unwrap(),
            src,
        };
        let mlen = announced_message_len(payload, inst.family).unwrap();
        let (msg, tr) = split_trailer(payload, mlen);
        let t = tr.as_ref().unwrap_or_else(|| {
            panic!("VRID {}: advert without trailer", inst.vrid);
        });
        // Verified at its capture time (the lab's clock is the sender's clock).
        let now = p.ts;
        let (uni, mc) = states.entry(inst.vrid).or_default();
        let slot = if inst.unicast {
            ReplaySlot::Unicast(uni)
        } else {
            ReplaySlot::Multicast(mc)
        };
        let v = cfg.verify(now, &pseudo, msg, tr.as_ref(), slot);
        assert!(
            matches!(v, Ok(Verdict::Verified { key_id, skew: Some(s), .. }) if key_id == inst.key_id && s.abs() <= 1),
            "VRID {}: {v:?}\nreference:\n{}",
            inst.vrid,
            ka.output_so_far()
        );
        *verified.entry(inst.vrid).or_default() += 1;
        // Our signer writes the same trailer for the same message, source and sequence.
        let ours = cfg.sign(t.seq(), &pseudo, msg).unwrap();
        assert_eq!(&ours.to_bytes()[..], &payload[mlen..], "VRID {}", inst.vrid);
        // Replayed to the same receiver: refused; tampered priority: invalid HMAC.
        let mut st = *uni;
        if inst.unicast {
            let r = cfg.verify(now, &pseudo, msg, tr.as_ref(), ReplaySlot::Unicast(&mut st));
            assert_eq!(r.unwrap_err().counter(), "auth_ext_replay");
        }
        let mut bad = payload.to_vec();
        bad[2] ^= 0x01;
        let (m, tb) = split_trailer(&bad, mlen);
        let r = cfg.verify(
            now,
            &pseudo,
            m,
            tb.as_ref(),
            ReplaySlot::Unicast(&mut ReplayState::default()),
        );
        assert_eq!(r.unwrap_err().counter(), "auth_ext_invalid_hmac");
    }
    for i in &insts {
        let n = verified.get(&i.vrid).copied().unwrap_or(0);
        assert!(
            n >= 2,
            "VRID {} ({:?} {:?} unicast={}): {n} verified adverts\nreference:\n{}",
            i.vrid,
            i.version,
            i.family,
            i.unicast,
            ka.output_so_far()
        );
    }
    // The captures are recent: the wall clock agrees with the trailers' seconds.
    let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    assert!(pcap
        .packets
        .iter()
        .all(|p| wall.saturating_sub(p.ts) < Duration::from_secs(120)));
}
