//! `nftables_ipvs`: keepalived's check_nftables.c. A virtual server on a
//! `virtual_server_group` whose entries are address ranges (no fwmark entry) and whose protocol
//! is TCP, UDP or SCTP becomes one fwmark IPVS service per family; the group's ranges go into
//! the map `tcp_map`/`udp_map`/`sctp_map` of `table ip|ip6 TABLE` as
//! `first . port - last . port : MARK` elements, and the base chain `in` (hook input, priority
//! `nftables_ipvs_priority`, default -1) has one rule per map:
//! `meta mark set ip daddr . tcp dport map @tcp_map [counter] return`. The marks are given from
//! `nftables_ipvs_start_fwmark` (default 1000) on, one per (group, protocol), in configuration
//! order. The tables are deleted at stop.

use std::net::IpAddr;

use netplat::nft::{self, Batch, CmpOp, Expr, MetaKey, NfFamily, PayloadBase, Verdict};

/// One map element: a group range of one protocol and its mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// IP protocol number (6, 17, 132).
    pub proto: u16,
    /// First address of the range.
    pub first: IpAddr,
    /// Last address (same family).
    pub last: IpAddr,
    /// Port.
    pub port: u16,
    /// The fwmark of the group's service.
    pub mark: u32,
}

/// What the `nftables_ipvs` tables hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    /// Table name.
    pub table: String,
    /// Base chain priority.
    pub priority: i32,
    /// `nftables_counters`.
    pub counters: bool,
    /// Elements in the order keepalived adds them.
    pub entries: Vec<Entry>,
}

fn map_name(proto: u16) -> &'static str {
    match proto {
        6 => "tcp_map",
        17 => "udp_map",
        _ => "sctp_map",
    }
}

fn key(a: IpAddr, port: u16) -> Vec<u8> {
    let mut k = match a {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    };
    k.extend_from_slice(&port.to_be_bytes());
    // NLMSG_ALIGN, as keepalived pads the port to the 32-bit register.
    k.extend_from_slice(&[0, 0]);
    k
}

/// The batch that builds `s` (the families' tables created in first-use order).
pub fn build(s: &Settings) -> Batch {
    let mut b = Batch::new();
    let mut tables: Vec<NfFamily> = Vec::new();
    let mut maps: Vec<(NfFamily, u16)> = Vec::new();
    let mut id = 0u32;
    for e in &s.entries {
        let fam = NfFamily::of(&e.first);
        if !tables.contains(&fam) {
            b.add_table(fam, &s.table);
            b.add_chain(fam, &s.table, "in", Some((nft::Hook::Input, s.priority)));
            tables.push(fam);
        }
        let name = map_name(e.proto);
        if !maps.contains(&(fam, e.proto)) {
            id += 1;
            let (addr_type, addr_len, daddr_off) = match fam {
                NfFamily::Ipv4 => (nft::datatype::IPV4_ADDR, 4u32, 16u32),
                NfFamily::Ipv6 => (nft::datatype::IPV6_ADDR, 16, 24),
            };
            // nft's udata: key byte order host (a concatenation), data byte order host.
            let udata = [0u8, 4, 1, 0, 0, 0, 1, 4, 1, 0, 0, 0];
            b.add_map(
                fam,
                &s.table,
                name,
                (
                    (addr_type << nft::datatype::CONCAT_BITS) | nft::datatype::INET_SERVICE,
                    addr_len + 4,
                ),
                (nft::datatype::MARK, 4),
                nft::SET_CONCAT | nft::SET_INTERVAL,
                &[addr_len, 2],
                &udata,
                id,
            );
            let mut r = vec![
                Expr::Meta {
                    key: MetaKey::L4Proto,
                    dreg: 1,
                },
                Expr::Cmp {
                    sreg: 1,
                    op: CmpOp::Eq,
                    data: vec![u8::try_from(e.proto).unwrap_or(0)],
                },
                Expr::Payload {
                    base: PayloadBase::Network,
                    offset: daddr_off,
                    len: addr_len,
                    dreg: 1,
                },
                Expr::Payload {
                    base: PayloadBase::Transport,
                    offset: 2,
                    len: 2,
                    // NFT_REG32_01 after a 4-byte address, NFT_REG_2 after a 16-byte one.
                    dreg: if fam == NfFamily::Ipv4 { 9 } else { 2 },
                },
                Expr::MapLookup {
                    sreg: 1,
                    dreg: 1,
                    set: name.to_string(),
                },
                Expr::MetaSet {
                    key: MetaKey::Mark,
                    sreg: 1,
                },
            ];
            if s.counters {
                r.push(Expr::Counter);
            }
            r.push(Expr::Verdict(Verdict::Return));
            b.add_rule(fam, &s.table, "in", &r);
            maps.push((fam, e.proto));
        }
        b.map_elems(
            fam,
            &s.table,
            name,
            true,
            &[(
                key(e.first, e.port),
                Some(key(e.last, e.port)),
                e.mark.to_ne_bytes().to_vec(),
            )],
        );
    }
    b
}

/// The families that have a table in `s`.
fn families(s: &Settings) -> Vec<NfFamily> {
    let mut v = Vec::new();
    for e in &s.entries {
        let f = NfFamily::of(&e.first);
        if !v.contains(&f) {
            v.push(f);
        }
    }
    v
}

/// The `nftables_ipvs` tables of this process.
#[derive(Debug, Default)]
pub struct NftIpvs {
    nft: Option<nft::Nft>,
    applied: Option<Settings>,
}

impl NftIpvs {
    fn nft(&mut self) -> Option<&mut nft::Nft> {
        if self.nft.is_none() {
            match nft::Nft::new() {
                Ok(n) => self.nft = Some(n),
                Err(e) => log::error!("nftables_ipvs: {e}"),
            }
        }
        self.nft.as_mut()
    }

    /// Make the tables hold `want` (None or no entry: no tables). A change rebuilds them in
    /// one atomic batch.
    pub fn apply(&mut self, want: Option<&Settings>) {
        let want = want.filter(|s| !s.entries.is_empty());
        if self.applied.as_ref() == want {
            return;
        }
        let first = self.nft.is_none();
        let old = self.applied.take();
        let Some(nft) = self.nft() else {
            return;
        };
        if first {
            // A leftover of an earlier run would get a second rule per map.
            if let Some(w) = want {
                for f in families(w) {
                    let mut del = Batch::new();
                    del.del_table(f, &w.table);
                    let _ = nft.commit(&del);
                }
            }
        }
        let mut b = Batch::new();
        if let Some(o) = &old {
            for f in families(o) {
                b.del_table(f, &o.table);
            }
        }
        if let Some(w) = want {
            let built = build(w);
            b.extend(built);
        }
        match nft.commit(&b) {
            Ok(()) => self.applied = want.cloned(),
            Err(e) => {
                log::error!("nftables_ipvs: {e}");
                self.applied = old;
            }
        }
    }

    /// Delete the tables (at stop).
    pub fn clear(&mut self) {
        self.apply(None);
    }
}
