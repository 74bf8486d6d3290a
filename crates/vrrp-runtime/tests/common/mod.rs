//! Shared helpers for the namespace-lab tests of krs-vrrpd.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use testlab::netns::{wait_until, Host, Lab, Proc};

pub const BIN: &str = env!("CARGO_BIN_EXE_krs-vrrpd");
pub const VIP: &str = "10.0.0.10";
/// The reference keepalived 2.2.7.
pub const KEEPALIVED_REF: &str = "/usr/sbin/keepalived";

/// Starts the reference keepalived on `d`'s configuration (foreground, log to stderr, detail).
pub fn start_keepalived(lab: &Lab, d: &Director) -> Proc {
    let dir = lab.dir();
    let name = d.host.host_name().to_string();
    let p1 = dir.join(format!("{name}.ka.pid"));
    let p2 = dir.join(format!("{name}.ka.vrrp.pid"));
    d.host
        .spawn(&[
            KEEPALIVED_REF,
            "-n",
            "-l",
            "-D",
            "-P",
            "-f",
            d.conf.to_str().unwrap_or(""),
            "-p",
            p1.to_str().unwrap_or(""),
            "-r",
            p2.to_str().unwrap_or(""),
        ])
        .expect("spawn keepalived")
}

/// A director: its host, daemon process and file paths.
pub struct Director {
    pub host: Host,
    pub proc: Option<Proc>,
    pub conf: PathBuf,
    pub stats: PathBuf,
    pub held: PathBuf,
}

impl Director {
    /// Whether the host's eth0 has `vip` (rtnetlink dump from inside the namespace; no
    /// process spawned, so polling stays cheap).
    pub fn has_vip(&self, vip: &str) -> bool {
        let Ok(want) = vip.parse::<std::net::IpAddr>() else {
            return false;
        };
        netplat::netns::in_netns(&self.host.netns_path(), move || {
            let mut r = netplat::Rtnl::new()?;
            let l = r.require_link("eth0")?;
            Ok(r.addresses(Some(l.index))?.iter().any(|a| a.addr == want))
        })
        .and_then(|x| x)
        .unwrap_or(false)
    }
    pub fn addr_line(&self, vip: &str) -> String {
        self.host
            .run(&["ip", "-o", "addr", "show", "dev", "eth0"])
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .filter(|l| l.contains(&format!(" {vip}/")))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }
    pub fn stats(&self) -> serde_json::Value {
        std::fs::read_to_string(&self.stats)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(serde_json::Value::Null)
    }
    pub fn state(&self, inst: &str) -> String {
        self.stats()["instances"][inst]["state"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
    pub fn start(&mut self, lab: &Lab, extra: &[&str]) {
        let mut argv = vec![
            BIN,
            "-d",
            "-f",
            self.conf.to_str().unwrap_or(""),
            "--stats",
            self.stats.to_str().unwrap_or(""),
            "--held-vips",
            self.held.to_str().unwrap_or(""),
        ];
        argv.extend_from_slice(extra);
        let _ = lab;
        self.proc = Some(self.host.spawn(&argv).expect("spawn krs-vrrpd"));
    }
    /// The host's eth0 IPv6 link-local address, without prefix length ("" if none).
    pub fn eth0_link_local(&self) -> String {
        self.host
            .ip(&["-o", "-6", "addr", "show", "dev", "eth0", "scope", "link"])
            .unwrap_or_default()
            .split_whitespace()
            .skip_while(|w| *w != "inet6")
            .nth(1)
            .and_then(|a| a.split('/').next())
            .unwrap_or("")
            .to_string()
    }
    pub fn log(&self) -> String {
        self.proc
            .as_ref()
            .map(|p| p.output_so_far())
            .unwrap_or_default()
    }
}

/// Plain v2 multicast instance text.
pub fn instance(name: &str, vrid: u8, prio: u8, extra: &str, vips: &str) -> String {
    format!(
        "vrrp_instance {name} {{\n  interface eth0\n  virtual_router_id {vrid}\n  priority {prio}\n  advert_int 1\n{extra}\n  virtual_ipaddress {{\n{vips}\n  }}\n}}\n"
    )
}

/// Create host `name` with `addr/24` and write `conf` for it.
pub fn director(lab: &Lab, name: &str, addr: &str, conf: &str) -> Director {
    let host = lab.host(name).expect("host");
    host.add_addr(&format!("{addr}/24")).expect("addr");
    let dir = lab.dir();
    let c = dir.join(format!("{name}.conf"));
    std::fs::write(&c, conf).expect("write conf");
    Director {
        host,
        proc: None,
        conf: c,
        stats: dir.join(format!("{name}.stats.json")),
        held: dir.join(format!("{name}.held")),
    }
}

/// Wait until exactly `who` (index) of `ds` holds `vip`; returns the time it took.
pub fn wait_holder(ds: &[&Director], who: usize, vip: &str, timeout: Duration) -> Duration {
    let t0 = Instant::now();
    let r = wait_until(timeout, || {
        std::thread::sleep(Duration::from_millis(20));
        ds.iter()
            .enumerate()
            .all(|(i, d)| d.has_vip(vip) == (i == who))
    });
    if r.is_err() {
        for (i, d) in ds.iter().enumerate() {
            eprintln!(
                "--- director {i} has_vip={} log:\n{}",
                d.has_vip(vip),
                d.log()
            );
        }
    }
    assert!(
        r.is_ok(),
        "director {who} did not become the only holder of {vip} within {timeout:?}"
    );
    {}
    t0.elapsed()
}

/// Fields of the packets of `pcap` matching the display `filter`, one line per packet, tab
/// separated (`tshark -T fields`).
pub fn tshark_fields(pcap: &std::path::Path, filter: &str, fields: &[&str]) -> String {
    let mut cmd = std::process::Command::new("tshark");
    cmd.args([
        "-r",
        pcap.to_str().unwrap_or(""),
        "-Y",
        filter,
        "-T",
        "fields",
    ]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("tshark");
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Three `use_vmac` VRRPv3 instances at 0.5 s adverts, as a scale configuration has them: two
/// IPv4 ones (VRIDs 1 and 2, /32 VIPs outside the hosts' subnet) and an IPv6 one (VRID 3).
pub fn vmac_trio(prio: u8) -> String {
    let mut c = String::new();
    for (name, vrid, vip) in [
        ("VI_1", 1, "10.1.0.1/32"),
        ("VI_2", 2, "10.1.0.2/32"),
        ("VI_6", 3, "fd00::33/64"),
    ] {
        c.push_str(&format!(
            "vrrp_instance {name} {{\n  interface eth0\n  use_vmac\n  virtual_router_id {vrid}\n  version 3\n  priority {prio}\n  advert_int 0.5\n  virtual_ipaddress {{\n    {vip}\n  }}\n}}\n"
        ));
    }
    c
}

/// The (VMAC, VIP) pairs of [`vmac_trio`] a host shows (`ip -o addr`).
pub fn vmac_trio_held(d: &Director) -> Vec<(String, String)> {
    let out = d.host.ip(&["-o", "addr", "show"]).unwrap_or_default();
    let mut v: Vec<(String, String)> = out
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let dev = w.get(1)?.split('@').next()?.to_string();
            let addr = *w.get(3)?;
            ["10.1.0.1/32", "10.1.0.2/32", "fd00::33/64"]
                .contains(&addr)
                .then(|| (dev, addr.to_string()))
        })
        .collect();
    v.sort();
    v
}

/// All three VIPs of [`vmac_trio`], each on its instance's VMAC.
pub fn vmac_trio_all() -> Vec<(String, String)> {
    vec![
        ("vrrp.1".into(), "10.1.0.1/32".into()),
        ("vrrp.2".into(), "10.1.0.2/32".into()),
        ("vrrp.3".into(), "fd00::33/64".into()),
    ]
}

/// Adverts our daemon counted as received for each of `insts` (its stats file).
pub fn adverts_rcvd(d: &Director, insts: &[&str]) -> Vec<u64> {
    let s = d.stats();
    insts
        .iter()
        .map(|i| s["instances"][*i]["adverts_rcvd"].as_u64().unwrap_or(0))
        .collect()
}
