use super::*;

// Proves base 36 encoding is the inverse of u32::from_str_radix(_, 36).
#[test]
fn base36_roundtrip() {
    for n in [0u32, 1, 35, 36, 12345, 4_194_304, u32::MAX] {
        let s = base36(u64::from(n));
        assert_eq!(u32::from_str_radix(&s, 36).unwrap(), n, "{s}");
    }
    assert_eq!(base36(35), "z");
    assert_eq!(base36(36), "10");
}

// Proves lab names fit an interface name (<= 15 chars) for the largest pids and counters,
// start with the prefix, and parse back to the same lab and creator pid.
#[test]
fn lab_names_fit_and_parse_back() {
    for (tag, pid, n) in [
        ("vrrp", 1, 0),
        ("a-very-long-tag-indeed", 4_194_304, 0),
        ("VRRP_v3!", 99_999, 1_000_000),
        ("", 7, 3),
        ("x", 4_194_304, u32::MAX),
    ] {
        let name = lab_name(tag, pid, n);
        assert!(name.len() <= MAX_LAB_NAME, "{name} too long");
        assert!(name.starts_with(PREFIX));
        let (lab, p, host) = parse_ns_name(&name).unwrap();
        assert!(name.ends_with(&base36(u64::from(n % COUNTER_WRAP))));
        assert_eq!(lab, name);
        assert_eq!(p, pid);
        assert_eq!(host, None);
        let (lab2, p2, host2) = parse_ns_name(&format!("{name}-web-1")).unwrap();
        assert_eq!((lab2.as_str(), p2), (name.as_str(), pid));
        assert_eq!(host2.as_deref(), Some("web-1"));
    }
    assert_eq!(lab_name("vrrp", 36, 1), "krs-vrrp-10-1");
}

// Proves names differ per counter value and per pid (no collisions between labs of one
// process or of two processes).
#[test]
fn lab_names_unique() {
    let mut seen = std::collections::HashSet::new();
    for pid in [100u32, 101, 4_194_303] {
        for n in 0..500 {
            assert!(seen.insert(lab_name("t", pid, n)));
        }
    }
}

// Proves the sweep's name parser rejects namespaces that are not lab-shaped.
#[test]
fn foreign_names_not_parsed() {
    for ns in [
        "krs-vmt-a",
        "krs-",
        "other-a-1-2",
        "krs-a--1",
        "krs-a-b c-1",
        "krs-a-1-",
    ] {
        assert_eq!(parse_ns_name(ns), None, "{ns}");
    }
}

// Proves wait_until returns at once when true, and times out (not earlier than asked,
// not much later) when never true.
#[test]
fn wait_until_times_out() {
    assert!(wait_until(Duration::from_secs(5), || true).is_ok());
    let t = Instant::now();
    let r = wait_until(Duration::from_millis(150), || false);
    let el = t.elapsed();
    assert!(matches!(r, Err(LabError::Timeout(d)) if d == Duration::from_millis(150)));
    assert!(el >= Duration::from_millis(150), "{el:?}");
    assert!(el < Duration::from_secs(2), "{el:?}");
    let mut n = 0;
    wait_until(Duration::from_secs(5), || {
        n += 1;
        n == 5
    })
    .unwrap();
    assert_eq!(n, 5);
}

// Proves the pcap parser reads both byte orders and stops at a truncated record.
#[test]
fn pcap_parse() {
    let mut b = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&65535u32.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    for (s, data) in [(10u32, &b"abc"[..]), (11, &b"hello"[..])] {
        b.extend_from_slice(&s.to_le_bytes());
        b.extend_from_slice(&500u32.to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(data);
    }
    let mut truncated = b.clone();
    truncated.extend_from_slice(&[1, 2, 3]);
    for bytes in [&b, &truncated] {
        let p = parse_pcap(bytes).unwrap();
        assert_eq!(p.linktype, 1);
        assert_eq!(p.packets.len(), 2);
        assert_eq!(p.packets[1].data, b"hello");
        assert_eq!(
            p.packets[0].ts,
            Duration::from_secs(10) + Duration::from_micros(500)
        );
    }
    assert!(parse_pcap(&[
        0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    ])
    .unwrap_err()
    .contains("pcapng"));
    assert!(parse_pcap(&[1, 2]).is_err());
}

// Proves the marker liveness check: our own pid with our start time is alive, a wrong start
// time (pid reused) or a dead pid is not.
#[test]
fn marker_liveness() {
    let me = std::process::id();
    let st = start_time(me).unwrap();
    assert!(marker_creator_alive(&format!("{me} {st}"), 0));
    assert!(!marker_creator_alive(&format!("{me} {}", st + 1), 0));
    assert!(marker_creator_alive(&format!("{me}"), 0));
    // A child that has exited and been reaped: its pid is dead.
    let mut c = Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    assert!(!marker_creator_alive(&format!("{pid} 1"), 0));
}
