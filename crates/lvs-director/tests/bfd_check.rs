//! `BFD_CHECK` against an in-memory IPVS table: a real server leaves the table when its BFD
//! session is reported Down and comes back when it is reported Up (the states the BFD worker
//! relays through the parent); a real server without a BFD check is untouched; alpha starts
//! down.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use ipvs_nl::Backend;
use lvs_director::{run_with, Control, DirectorOptions, SharedMemory};
use tokio::sync::{mpsc, watch};

const CONF: &str = r#"
bfd_instance nh1 {
    neighbor_ip 10.0.0.11
}
bfd_instance nh3 {
    neighbor_ip 10.0.0.13
}
virtual_server 10.0.0.100 80 {
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.0.0.11 80 {
        BFD_CHECK {
            name nh1
        }
    }
    real_server 10.0.0.12 80 {
    }
    real_server 10.0.0.13 80 {
        BFD_CHECK {
            name nh3
            alpha
        }
    }
}
"#;

fn addrs(mem: &SharedMemory) -> Vec<IpAddr> {
    let mut m = mem.clone();
    let mut v: Vec<IpAddr> = m
        .table()
        .unwrap()
        .iter()
        .flat_map(|s| s.destinations.iter().map(|d| d.addr))
        .collect();
    v.sort();
    v
}

fn wait(mem: &SharedMemory, want: &[&str]) {
    let want: Vec<IpAddr> = want.iter().map(|a| a.parse().unwrap()).collect();
    for _ in 0..500 {
        if addrs(mem) == want {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("table {:?}, wanted {want:?}", addrs(mem));
}

#[test]
fn bfd_check_follows_bfd_states() {
    let p = conf_parse::parse_str(CONF, "t.conf", &conf_parse::ParseOptions::default());
    assert!(!p.has_errors(), "{:?}", p.diagnostics);
    let mem = SharedMemory::default();
    let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
    let (bfd_tx, bfd_rx) = watch::channel(BTreeMap::<String, bool>::new());
    let m2 = mem.clone();
    let opts = DirectorOptions {
        control: Some(ctl_rx),
        bfd_states: Some(bfd_rx),
        ..Default::default()
    };
    let cfg = p.config;
    let h = std::thread::spawn(move || run_with(cfg, opts, m2));
    // Nothing reported yet: the BFD_CHECK starts up, the alpha one down.
    wait(&mem, &["10.0.0.11", "10.0.0.12"]);
    // nh3 Up: .13 joins; nh1 Down: .11 leaves.
    bfd_tx.send_replace(BTreeMap::from([("nh3".to_string(), true)]));
    wait(&mem, &["10.0.0.11", "10.0.0.12", "10.0.0.13"]);
    bfd_tx.send_replace(BTreeMap::from([
        ("nh1".to_string(), false),
        ("nh3".to_string(), true),
    ]));
    wait(&mem, &["10.0.0.12", "10.0.0.13"]);
    // nh1 Up again: back.
    bfd_tx.send_replace(BTreeMap::from([
        ("nh1".to_string(), true),
        ("nh3".to_string(), true),
    ]));
    wait(&mem, &["10.0.0.11", "10.0.0.12", "10.0.0.13"]);
    ctl_tx.send(Control::Shutdown).unwrap();
    h.join().unwrap().unwrap();
}
