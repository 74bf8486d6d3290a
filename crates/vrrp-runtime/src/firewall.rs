//! The VIP firewall of `no_accept`/`vrrp_strict` through nftables netlink (`netplat::nft`):
//! keepalived's tables, chains, sets and rules, the VIPs in the sets while master.

use std::net::IpAddr;

use crate::instance::Instance;

/// The VIP firewall keepalived builds with nftables when an instance does not accept traffic
/// to its VIPs (`no_accept`, or `vrrp_strict` without `accept` on v3): while an instance is
/// master its VIPs are in the set `vips` of `table ip|ip6 NAME`, whose `in`/`out` base chains
/// drop what is addressed to or sent from them. The table of a family is created (after
/// deleting a leftover of an earlier run) when the first VIP of that family goes in, stays
/// (with its set emptied) when instances leave master, and is deleted at stop, as keepalived
/// 2.2.7 does.
pub(crate) struct Firewall {
    nft: Option<netplat::nft::Nft>,
    table: String,
    priority: i32,
    counters: bool,
    v4: bool,
    v6: bool,
    /// Whether the table of each family (with its `out` chain) exists: keepalived's
    /// `ipv4_table_setup`/`ipv6_table_setup` (a VMAC's rules need it before any VIP does).
    t4: bool,
    t6: bool,
    /// Whether each family has the VMAC sets and rules (keepalived's `ipv4_igmp_setup`).
    igmp4: bool,
    igmp6: bool,
    /// Whether the ip6 table has its `vips_link_local` / `vips_link_local_name` set.
    ll_index: bool,
    ll_name: bool,
    /// How many instances hold each entry of the sets.
    refs: std::collections::HashMap<FwKey, u32>,
    /// `nftables_ifindex`.
    pub(crate) ifindex: bool,
    /// The iptables/ipset backend instead (`vrrp_iptables` under `--compat 2.4.3`).
    pub(crate) ipt: Option<crate::firewall_ipt::IptFw>,
}

/// A VMAC in the nftables firewall (keepalived's `nft_add_vmac` arguments).
#[derive(Debug, Clone)]
pub(crate) struct NftVmac {
    pub(crate) ifname: String,
    pub(crate) index: u32,
    pub(crate) base_index: u32,
    /// The instance is IPv6.
    pub(crate) v6: bool,
    /// The instance has excluded VIPs of the other family.
    pub(crate) other_family: bool,
}

/// An entry of the firewall's sets: family, set, key.
pub(crate) type FwKey = (netplat::nft::NfFamily, &'static str, Vec<u8>);

/// How a link-local VIP's interface is matched: by index (`vips_link_local`) or by name
/// (`vips_link_local_name`).
pub(crate) enum FwIf {
    Index(u32),
    Name(String),
}

/// `NFT_REG_1`.
const REG1: u32 = 1;

impl Firewall {
    pub(crate) fn new(s: &conf_parse::NftablesSettings) -> Firewall {
        Firewall {
            nft: None,
            table: s.table.clone().unwrap_or_else(|| "keepalived".into()),
            priority: s.priority.unwrap_or(-1),
            counters: s.counters,
            v4: false,
            v6: false,
            t4: false,
            t6: false,
            igmp4: false,
            igmp6: false,
            ll_index: false,
            ll_name: false,
            refs: Default::default(),
            ifindex: s.ifindex,
            ipt: s
                .iptables_backend()
                .map(|(c, sets)| crate::firewall_ipt::IptFw::new(c, sets)),
        }
    }

    fn nft(&mut self) -> Option<&mut netplat::nft::Nft> {
        if self.nft.is_none() {
            match netplat::nft::Nft::new() {
                Ok(n) => self.nft = Some(n),
                Err(e) => log::error!("nftables: {e}"),
            }
        }
        self.nft.as_mut()
    }

    /// `[counter] VERDICT`.
    fn tail(&self, v: netplat::nft::Verdict) -> Vec<netplat::nft::Expr> {
        use netplat::nft::Expr;
        let mut e = Vec::new();
        if self.counters {
            e.push(Expr::Counter);
        }
        e.push(Expr::Verdict(v));
        e
    }

    /// `ip[6] saddr|daddr @vips drop`.
    fn vips_rule(&self, fam: netplat::nft::NfFamily, saddr: bool) -> Vec<netplat::nft::Expr> {
        use netplat::nft::{Expr, NfFamily, PayloadBase, Verdict};
        let (offset, len) = match (fam, saddr) {
            (NfFamily::Ipv4, true) => (12, 4),
            (NfFamily::Ipv4, false) => (16, 4),
            (NfFamily::Ipv6, true) => (8, 16),
            (NfFamily::Ipv6, false) => (24, 16),
        };
        let mut e = vec![
            Expr::Payload {
                base: PayloadBase::Network,
                offset,
                len,
                dreg: REG1,
            },
            Expr::Lookup {
                sreg: REG1,
                set: "vips".into(),
            },
        ];
        e.extend(self.tail(Verdict::Drop));
        e
    }

    /// The table of `fam` with its `out` chain unless `tables` (ip, ip6) says it exists
    /// (keepalived's `nft_setup_ipv4`/`nft_setup_ipv6`): when neither table exists yet, the
    /// leftovers of a killed run are deleted first (`check_and_delete_tables`).
    fn setup_table(
        &mut self,
        b: &mut netplat::nft::Batch,
        fam: netplat::nft::NfFamily,
        tables: &mut [bool; 2],
    ) {
        use netplat::nft::{Batch, Hook, NfFamily};
        let ix = usize::from(fam == NfFamily::Ipv6);
        if tables[ix] {
            return;
        }
        if !tables[0] && !tables[1] {
            for f in [NfFamily::Ipv4, NfFamily::Ipv6] {
                let mut del = Batch::new();
                del.del_table(f, &self.table);
                if let Some(nft) = self.nft() {
                    let _ = nft.commit(&del);
                }
            }
        }
        b.add_table(fam, &self.table);
        b.add_chain(fam, &self.table, "out", Some((Hook::Output, self.priority)));
        tables[ix] = true;
    }

    /// The VIP chains, sets and rules of `fam`'s table (keepalived's `nft_setup_ipv4_vips` /
    /// `nft_setup_ipv6_vips`, in its order, hence its handles).
    fn setup(&self, b: &mut netplat::nft::Batch, fam: netplat::nft::NfFamily) {
        use netplat::nft::{datatype, CmpOp, Expr, Hook, NfFamily, PayloadBase, Verdict};
        let t = self.table.as_str();
        b.add_chain(fam, t, "in", Some((Hook::Input, self.priority)));
        match fam {
            NfFamily::Ipv4 => {
                b.add_set(fam, t, "vips", datatype::IPV4_ADDR, 4, 0, 1);
            }
            NfFamily::Ipv6 => {
                b.add_chain(fam, t, "in_link_local", None);
                b.add_chain(fam, t, "out_link_local", None);
                b.add_set(fam, t, "vips", datatype::IPV6_ADDR, 16, 0, 1);
                b.add_set(
                    fam,
                    t,
                    "neighbor-discovery",
                    datatype::ICMPV6_TYPE,
                    1,
                    netplat::nft::SET_CONSTANT,
                    2,
                );
                // nd-neighbor-solicit, nd-neighbor-advert.
                b.set_elems(fam, t, "neighbor-discovery", true, &[vec![135], vec![136]]);
                let icmp = |fw: &Firewall| {
                    let mut e = vec![
                        Expr::Payload {
                            base: PayloadBase::Network,
                            offset: 6,
                            len: 1,
                            dreg: REG1,
                        },
                        Expr::Cmp {
                            sreg: REG1,
                            op: CmpOp::Eq,
                            data: vec![58],
                        },
                        Expr::Payload {
                            base: PayloadBase::Transport,
                            offset: 0,
                            len: 1,
                            dreg: REG1,
                        },
                        Expr::Lookup {
                            sreg: REG1,
                            set: "neighbor-discovery".into(),
                        },
                    ];
                    e.extend(fw.tail(Verdict::Accept));
                    e
                };
                // ip6 saddr|daddr fe80::/10 goto (in|out)_link_local.
                let ll = |fw: &Firewall, saddr: bool| {
                    let mut mask = vec![0u8; 16];
                    mask[0] = 0xff;
                    mask[1] = 0xc0;
                    let mut net = vec![0u8; 16];
                    net[0] = 0xfe;
                    net[1] = 0x80;
                    let mut e = vec![
                        Expr::Payload {
                            base: PayloadBase::Network,
                            offset: if saddr { 8 } else { 24 },
                            len: 16,
                            dreg: REG1,
                        },
                        Expr::Bitwise {
                            sreg: REG1,
                            dreg: REG1,
                            mask,
                            xor: vec![0u8; 16],
                        },
                        Expr::Cmp {
                            sreg: REG1,
                            op: CmpOp::Eq,
                            data: net,
                        },
                    ];
                    let chain = if saddr {
                        "out_link_local"
                    } else {
                        "in_link_local"
                    };
                    e.extend(fw.tail(Verdict::Goto(chain.into())));
                    e
                };
                b.add_rule(fam, t, "in", &icmp(self));
                b.add_rule(fam, t, "in", &ll(self, false));
                b.add_rule(fam, t, "out", &icmp(self));
                b.add_rule(fam, t, "out", &ll(self, true));
            }
        }
        b.add_rule(fam, t, "in", &self.vips_rule(fam, false));
        b.add_rule(fam, t, "out", &self.vips_rule(fam, true));
    }

    /// The `vips_link_local[_name]` set, with its rules in `in_link_local`/`out_link_local`
    /// (keepalived's `setup_link_local_checks`): `ip6 daddr . iif @vips_link_local drop`, or
    /// `. iifname` for the `_name` set.
    fn setup_link_local(&self, b: &mut netplat::nft::Batch, by_name: bool) {
        use netplat::nft::{datatype, Expr, MetaKey, NfFamily, PayloadBase, Verdict};
        let fam = NfFamily::Ipv6;
        let t = self.table.as_str();
        let (set, ty, len, id) = if by_name {
            ("vips_link_local_name", datatype::IFNAME, 32, 4)
        } else {
            ("vips_link_local", datatype::IFINDEX, 20, 3)
        };
        let key = (datatype::IPV6_ADDR << datatype::CONCAT_BITS) | ty;
        b.add_set(fam, t, set, key, len, 0, id);
        for (chain, saddr) in [("in_link_local", false), ("out_link_local", true)] {
            let meta = match (saddr, by_name) {
                (false, false) => MetaKey::Iif,
                (false, true) => MetaKey::IifName,
                (true, false) => MetaKey::Oif,
                (true, true) => MetaKey::OifName,
            };
            let mut e = vec![
                Expr::Payload {
                    base: PayloadBase::Network,
                    offset: if saddr { 8 } else { 24 },
                    len: 16,
                    dreg: REG1,
                },
                Expr::Meta {
                    key: meta,
                    dreg: REG1 + 1,
                },
                Expr::Lookup {
                    sreg: REG1,
                    set: set.into(),
                },
            ];
            e.extend(self.tail(Verdict::Drop));
            b.add_rule(fam, t, chain, &e);
        }
    }

    /// Puts instance `inst`'s VIPs in the sets (creating the tables first if needed). `ll`
    /// gives each link-local IPv6 VIP its set entry: the interface's index, or its name
    /// (keepalived: `dont_track_primary` without `nftables_ifindex`, for a VIP on the
    /// instance's interface or `no_track`).
    pub(crate) fn add(&mut self, inst: &mut Instance, ll: &[(IpAddr, FwIf)]) {
        use netplat::nft::{Batch, NfFamily};
        let mut want: Vec<FwKey> = Vec::new();
        for v in inst.all_vips() {
            let a = v.addr;
            let k = match (a, ll.iter().find(|(x, _)| *x == a)) {
                (IpAddr::V6(x), Some((_, fi))) if x.segments()[0] & 0xffc0 == 0xfe80 => {
                    let mut key = x.octets().to_vec();
                    match fi {
                        FwIf::Index(i) => {
                            key.extend_from_slice(&i.to_ne_bytes());
                            (NfFamily::Ipv6, "vips_link_local", key)
                        }
                        FwIf::Name(n) => {
                            let mut name = [0u8; 16];
                            let nb = n.as_bytes();
                            let l = nb.len().min(15);
                            name[..l].copy_from_slice(&nb[..l]);
                            key.extend_from_slice(&name);
                            (NfFamily::Ipv6, "vips_link_local_name", key)
                        }
                    }
                }
                (IpAddr::V6(x), None) if x.segments()[0] & 0xffc0 == 0xfe80 => {
                    log::warn!(
                        "({}) link-local VIP {a}: no interface, not in the firewall",
                        inst.spec.name
                    );
                    continue;
                }
                (IpAddr::V4(x), _) => (NfFamily::Ipv4, "vips", x.octets().to_vec()),
                (IpAddr::V6(x), _) => (NfFamily::Ipv6, "vips", x.octets().to_vec()),
            };
            if inst.fw_vips.contains(&k) || want.contains(&k) {
                continue;
            }
            want.push(k);
        }
        if want.is_empty() {
            return;
        }
        log::info!("({}) setting firewall drop rule", inst.spec.name);
        let mut b = Batch::new();
        let (mut v4, mut v6, mut ll_index, mut ll_name) =
            (self.v4, self.v6, self.ll_index, self.ll_name);
        let mut tables = [self.t4, self.t6];
        for fam in [NfFamily::Ipv4, NfFamily::Ipv6] {
            let new: Vec<&FwKey> = want
                .iter()
                .filter(|k| k.0 == fam && !self.refs.contains_key(*k))
                .collect();
            if new.is_empty() {
                continue;
            }
            let done = match fam {
                NfFamily::Ipv4 => &mut v4,
                NfFamily::Ipv6 => &mut v6,
            };
            if !*done {
                self.setup_table(&mut b, fam, &mut tables);
                self.setup(&mut b, fam);
                *done = true;
                if fam == NfFamily::Ipv6 {
                    ll_index = false;
                    ll_name = false;
                }
            }
            for set in ["vips", "vips_link_local", "vips_link_local_name"] {
                let keys: Vec<Vec<u8>> = new
                    .iter()
                    .filter(|k| k.1 == set)
                    .map(|k| k.2.clone())
                    .collect();
                if keys.is_empty() {
                    continue;
                }
                match set {
                    "vips_link_local" if !ll_index => {
                        self.setup_link_local(&mut b, false);
                        ll_index = true;
                    }
                    "vips_link_local_name" if !ll_name => {
                        self.setup_link_local(&mut b, true);
                        ll_name = true;
                    }
                    _ => {}
                }
                b.set_elems(fam, &self.table, set, true, &keys);
            }
        }
        let table = self.table.clone();
        let Some(nft) = self.nft() else { return };
        match nft.commit(&b) {
            Ok(()) => {
                (self.v4, self.v6, self.ll_index, self.ll_name) = (v4, v6, ll_index, ll_name);
                [self.t4, self.t6] = tables;
                for k in &want {
                    *self.refs.entry(k.clone()).or_insert(0) += 1;
                }
                inst.fw_vips.extend(want);
            }
            Err(e) => log::error!(
                "({}) setting the firewall drop rule (nftables table {table}): {e}",
                inst.spec.name
            ),
        }
    }

    /// Takes instance `inst`'s VIPs out of the sets.
    pub(crate) fn remove(&mut self, inst: &mut Instance) {
        use netplat::nft::{Batch, NfFamily};
        if inst.fw_vips.is_empty() {
            return;
        }
        log::info!("({}) removing firewall drop rule", inst.spec.name);
        let gone = std::mem::take(&mut inst.fw_vips);
        let mut last = Vec::new();
        for k in gone {
            if let Some(n) = self.refs.get_mut(&k) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.refs.remove(&k);
                    last.push(k);
                }
            }
        }
        let mut b = Batch::new();
        for fam in [NfFamily::Ipv4, NfFamily::Ipv6] {
            for set in ["vips", "vips_link_local", "vips_link_local_name"] {
                let keys: Vec<Vec<u8>> = last
                    .iter()
                    .filter(|k| k.0 == fam && k.1 == set)
                    .map(|k| k.2.clone())
                    .collect();
                b.set_elems(fam, &self.table, set, false, &keys);
            }
        }
        let table = self.table.clone();
        if let Some(nft) = self.nft() {
            if let Err(e) = nft.commit(&b) {
                log::error!(
                    "({}) removing the firewall drop rule (nftables table {table}): {e}",
                    inst.spec.name
                );
            }
        }
    }

    /// The VMAC sets and rules of `fam` (keepalived 2.2.7's `nft_setup_igmp`, built with
    /// `dup` and `oifkind`): the map `vmac_map` (`iface_index : iface_index`, VMAC to its
    /// base interface), for ip6 also the set `vmac_set`, and in chain `out`
    /// `ip protocol igmp` / `icmpv6 type mld2-listener-report` `meta oifkind "macvlan"
    /// dup to ip[6] daddr device oif map @vmac_map drop`, for ip6 also `icmpv6 type
    /// nd-router-solicit meta oifkind "macvlan" oif @vmac_set drop`.
    fn setup_igmp(&self, b: &mut netplat::nft::Batch, fam: netplat::nft::NfFamily) {
        use netplat::nft::{datatype, CmpOp, Expr, MetaKey, NfFamily, PayloadBase, Verdict};
        let t = self.table.as_str();
        let reg2 = REG1 + 1;
        // nft's udata: key and data byte order host.
        let udata = [0u8, 4, 1, 0, 0, 0, 1, 4, 1, 0, 0, 0];
        b.add_map(
            fam,
            t,
            "vmac_map",
            (datatype::IFINDEX, 4),
            (datatype::IFINDEX, 4),
            0,
            &[],
            &udata,
            5,
        );
        let mut macvlan = vec![0u8; 16];
        macvlan[..7].copy_from_slice(b"macvlan");
        let kind = |e: &mut Vec<Expr>| {
            e.push(Expr::Meta {
                key: MetaKey::OifKind,
                dreg: reg2,
            });
            e.push(Expr::Cmp {
                sreg: reg2,
                op: CmpOp::Eq,
                data: macvlan.clone(),
            });
            e.push(Expr::Meta {
                key: MetaKey::Oif,
                dreg: reg2,
            });
        };
        let icmp6 = |e: &mut Vec<Expr>, ty: u8| {
            e.push(Expr::Meta {
                key: MetaKey::L4Proto,
                dreg: REG1,
            });
            e.push(Expr::Cmp {
                sreg: REG1,
                op: CmpOp::Eq,
                data: vec![58],
            });
            e.push(Expr::Payload {
                base: PayloadBase::Transport,
                offset: 0,
                len: 1,
                dreg: REG1,
            });
            e.push(Expr::Cmp {
                sreg: REG1,
                op: CmpOp::Eq,
                data: vec![ty],
            });
        };
        let mut e = Vec::new();
        match fam {
            NfFamily::Ipv4 => {
                e.push(Expr::Payload {
                    base: PayloadBase::Network,
                    offset: 9,
                    len: 1,
                    dreg: REG1,
                });
                // IGMP.
                e.push(Expr::Cmp {
                    sreg: REG1,
                    op: CmpOp::Eq,
                    data: vec![2],
                });
                e.push(Expr::Payload {
                    base: PayloadBase::Network,
                    offset: 16,
                    len: 4,
                    dreg: REG1,
                });
            }
            NfFamily::Ipv6 => {
                // nft's udata: key byte order host.
                b.add_set_udata(fam, t, "vmac_set", datatype::IFINDEX, 4, 0, 6, &udata[..6]);
                // mld2-listener-report.
                icmp6(&mut e, 143);
                e.push(Expr::Payload {
                    base: PayloadBase::Network,
                    offset: 24,
                    len: 16,
                    dreg: REG1,
                });
            }
        }
        kind(&mut e);
        e.push(Expr::MapLookup {
            sreg: reg2,
            dreg: reg2,
            set: "vmac_map".into(),
        });
        e.push(Expr::Dup {
            sreg_addr: REG1,
            sreg_dev: reg2,
        });
        e.extend(self.tail(Verdict::Drop));
        b.add_rule(fam, t, "out", &e);
        if fam == NfFamily::Ipv6 {
            let mut e = Vec::new();
            // nd-router-solicit.
            icmp6(&mut e, 133);
            kind(&mut e);
            e.push(Expr::Lookup {
                sreg: reg2,
                set: "vmac_set".into(),
            });
            e.extend(self.tail(Verdict::Drop));
            b.add_rule(fam, t, "out", &e);
        }
    }

    /// keepalived's `nft_add_vmac` / `nft_remove_vmac`: VMAC `m` in (`add`) or out of the
    /// VMAC map and set of its family (and of the other family with `other_family`), the
    /// table and the VMAC rules created first when needed.
    pub(crate) fn update_vmac(&mut self, m: &NftVmac, add: bool) {
        use netplat::nft::{Batch, NfFamily};
        let mut b = Batch::new();
        let mut tables = [self.t4, self.t6];
        let mut igmp = [self.igmp4, self.igmp6];
        let first = if m.v6 { NfFamily::Ipv6 } else { NfFamily::Ipv4 };
        let other = if m.v6 { NfFamily::Ipv4 } else { NfFamily::Ipv6 };
        let fams = if m.other_family {
            vec![first, other]
        } else {
            vec![first]
        };
        for fam in fams {
            let ix = usize::from(fam == NfFamily::Ipv6);
            if !igmp[ix] {
                if !add {
                    continue;
                }
                self.setup_table(&mut b, fam, &mut tables);
                self.setup_igmp(&mut b, fam);
                igmp[ix] = true;
            }
            let key = m.index.to_ne_bytes().to_vec();
            let elem = (key.clone(), None, m.base_index.to_ne_bytes().to_vec());
            b.map_elems(fam, &self.table, "vmac_map", add, &[elem]);
            if fam == NfFamily::Ipv6 {
                b.set_elems(fam, &self.table, "vmac_set", add, &[key]);
            }
        }
        if b.is_empty() {
            return;
        }
        let table = self.table.clone();
        let Some(nft) = self.nft() else { return };
        match nft.commit(&b) {
            Ok(()) => {
                [self.t4, self.t6] = tables;
                [self.igmp4, self.igmp6] = igmp;
            }
            Err(e) => log::error!(
                "VMAC {}: {} the firewall's VMAC rules (nftables table {table}): {e}",
                m.ifname,
                if add { "setting" } else { "removing" }
            ),
        }
    }

    /// At stop: deletes the tables this run created.
    pub(crate) fn cleanup(&mut self) {
        use netplat::nft::{Batch, NfFamily};
        if let Some(ipt) = self.ipt.as_mut() {
            ipt.cleanup();
            return;
        }
        let mut b = Batch::new();
        if self.t4 {
            b.del_table(NfFamily::Ipv4, &self.table);
        }
        if self.t6 {
            b.del_table(NfFamily::Ipv6, &self.table);
        }
        if b.is_empty() {
            return;
        }
        let table = self.table.clone();
        if let Some(nft) = self.nft() {
            if let Err(e) = nft.commit(&b) {
                log::error!("deleting nftables table {table}: {e}");
            }
        }
        self.v4 = false;
        self.v6 = false;
        self.t4 = false;
        self.t6 = false;
        self.igmp4 = false;
        self.igmp6 = false;
        self.ll_index = false;
        self.ll_name = false;
        self.refs.clear();
    }
}
