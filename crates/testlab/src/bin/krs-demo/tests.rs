use super::*;

fn ok(t: u64) -> Sample {
    Sample { t, server: Some(0) }
}

// Proves the outage is the largest gap between successful replies, starting from the last
// success before the failure (failed requests do not count as replies), with its end time.
#[test]
fn largest_gap_spans_the_failure() {
    let mut s = vec![ok(900), ok(950), ok(1000)];
    s.extend((1..10).map(|i| Sample {
        t: 1000 + i * 300,
        server: None,
    }));
    s.extend([ok(4600), ok(4650), ok(9000)]);
    assert_eq!(largest_gap(&s, 1010, 5000), Some((3600, 4600)));
    assert_eq!(largest_gap(&s, 960, 5000), Some((3600, 4600)));
    // No success before `from`: no outage can be measured.
    assert_eq!(largest_gap(&s, 10, 5000), None);
    assert_eq!(largest_gap(&s, 800, 900), None);
}

// Proves Master_Down_Interval is read from the bundled backup configuration:
// 3 x 1 s + (256 - 100) / 256 s = 3609 ms.
#[test]
fn mdi_of_the_demo_backup() {
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo/director-b.conf");
    assert_eq!(master_down_interval_ms(&conf).expect("read"), 3609);
}

// Proves the IPVS table parser keeps only the VIP service's real servers and their weights.
#[test]
fn parses_ipvsadm_ln() {
    let text = "IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.99.0.10:80 rr
  -> 10.99.0.11:80                Route   1      0          3
  -> 10.99.0.12:80                Route   2      0          4
TCP  10.99.0.99:80 rr
  -> 10.99.0.13:80                Route   1      0          0
";
    assert_eq!(
        parse_ipvs(text),
        vec![
            ("10.99.0.11:80".to_string(), "1".to_string()),
            ("10.99.0.12:80".to_string(), "2".to_string())
        ]
    );
    assert_eq!(table_text(&parse_ipvs(text)), "[rs1 w1, rs2 w2]");
}
