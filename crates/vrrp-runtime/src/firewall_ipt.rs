//! The iptables/ipset backend of the VIP firewall (`vrrp_iptables`, `vrrp_ipsets` under
//! `--compat 2.4.3`), as keepalived 2.4.3 built with iptables and libipset runs it
//! (`vrrp_iptables.c`, `vrrp_ipset.c`):
//!
//! * with sets (the default; `vrrp_ipsets NAMES`): the first VIP of a family (or the forced
//!   removal at start) creates the sets (`hash:ip` for the VIPs, `hash:net,iface` for
//!   link-local IPv6 VIPs with their interface) and appends the rules matching them to the
//!   configured chains; a master's VIPs are added to the sets and deleted when it leaves
//!   master; at stop the rules are deleted and the sets destroyed;
//! * without sets (`vrrp_ipsets` bare): one rule per VIP (per chain, plus the IPv6 neighbour
//!   discovery ACCEPTs) appended while master and deleted when leaving master.
//! * VMACs (`use_vmac`, with an OUT chain; keepalived's `iptables_add_vmac`): from the VMAC's
//!   creation until its deletion, its IGMP reports (IPv4), MLD reports (IPv6, types 143 and
//!   131) and neighbour advertisements from the base interface's link-local address (IPv6)
//!   are dropped. With sets: the first VMAC of a family creates `keepalived_igmp` (IPv4) or
//!   `keepalived_mld` and `keepalived_nd` (IPv6, all `hash:net,iface`) and appends their rules
//!   to the OUT chain; each VMAC is an entry (`0.0.0.0/0,VMAC`, `::/0,VMAC`,
//!   `BASE-LL,VMAC`); at stop the rules go and the sets are destroyed. Without sets: rules
//!   per VMAC inserted at the head of the OUT chain.
//!
//! keepalived writes the legacy x_tables rules with libiptc; we write the same rules with
//! `iptables-legacy-restore --noflush` / `ip6tables-legacy-restore --noflush` (and read them
//! back with `*-save` to delete only what is there), so `iptables-legacy-save` shows the same
//! rules. That is not the hot path: it runs at a state change. The set members, which change
//! at every state change, go over ipset netlink (`netplat::ipset`).

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::{Command, Stdio};

use conf_parse::{IpsetNames, IptablesChains};
use netplat::ipset::{Ipset, SetType};
use netplat::nft::NfFamily;

use crate::firewall::FwKey;
use crate::instance::Instance;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Init {
    Pending,
    Success,
    Failed,
}

/// One VIP's firewall entry: the address and, for a link-local IPv6 VIP, its interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IptVip {
    pub(crate) addr: IpAddr,
    pub(crate) ifname: Option<String>,
}

impl IptVip {
    fn key(&self) -> FwKey {
        let fam = NfFamily::of(&self.addr);
        let s = format!("{}%{}", self.addr, self.ifname.as_deref().unwrap_or(""));
        (fam, "ipt", s.into_bytes())
    }

    fn from_key(k: &FwKey) -> Option<IptVip> {
        if k.1 != "ipt" {
            return None;
        }
        let s = std::str::from_utf8(&k.2).ok()?;
        let (a, i) = s.split_once('%')?;
        Some(IptVip {
            addr: a.parse().ok()?,
            ifname: (!i.is_empty()).then(|| i.to_string()),
        })
    }

    fn v6(&self) -> bool {
        self.addr.is_ipv6()
    }
}

pub(crate) struct IptFw {
    input: String,
    output: Option<String>,
    sets: Option<IpsetNames>,
    /// Per family ([0] IPv4, [1] IPv6): the tables and chains are there.
    setup: [Init; 2],
    /// ... the sets and their rules are in place (or, without sets, the family is usable).
    vips_setup: [Init; 2],
    /// ... the VMAC sets and their rules (keepalived's `igmp_setup`).
    igmp_setup: [Init; 2],
    ipset: Option<Ipset>,
}

/// A VMAC in the firewall (keepalived's `iptables_add_vmac` arguments): its name, the
/// instance's family, whether it also has eVIPs of the other family, and for IPv6 the base
/// interface's link-local address (its neighbour advertisements from the VMAC are dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IptVmac {
    pub(crate) ifname: String,
    pub(crate) v6: bool,
    pub(crate) other_family: bool,
    pub(crate) base_ll: Option<Ipv6Addr>,
}

fn idx(v6: bool) -> usize {
    usize::from(v6)
}

/// The legacy iptables tools (keepalived's libiptc writes the legacy tables).
fn tool(v6: bool, save: bool) -> String {
    let name = match (v6, save) {
        (false, false) => "iptables-legacy-restore",
        (false, true) => "iptables-legacy-save",
        (true, false) => "ip6tables-legacy-restore",
        (true, true) => "ip6tables-legacy-save",
    };
    for d in ["/usr/sbin", "/sbin", "/usr/local/sbin"] {
        let p = format!("{d}/{name}");
        if std::path::Path::new(&p).exists() {
            return p;
        }
    }
    name.to_string()
}

/// The `filter` table as `*-save` prints it (its `-A` lines and `:CHAIN` lines).
fn save(v6: bool) -> Option<String> {
    let out = Command::new(tool(v6, true))
        .args(["-t", "filter"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Applies `lines` (`-A`/`-D` rule lines of the filter table) in one commit.
fn restore(v6: bool, lines: &[String]) -> Result<(), String> {
    if lines.is_empty() {
        return Ok(());
    }
    let mut input = String::from("*filter\n");
    for l in lines {
        input.push_str(l);
        input.push('\n');
    }
    input.push_str("COMMIT\n");
    let mut child = Command::new(tool(v6, false))
        .args(["-w", "--noflush"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", tool(v6, false)))?;
    if let Some(mut i) = child.stdin.take() {
        let _ = i.write_all(input.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{}: {e}", tool(v6, false)))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}",
            tool(v6, false),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// `-D` lines for those of `rules` (`-A` lines) the table has, each as often as it is there:
/// a missing rule is no error (keepalived ignores ENOENT on a forced deletion).
fn deletions(v6: bool, rules: &[String]) -> Vec<String> {
    let Some(table) = save(v6) else {
        return Vec::new();
    };
    let mut have: Vec<&str> = table.lines().collect();
    let mut out = Vec::new();
    for r in rules {
        if let Some(p) = have.iter().position(|l| *l == r.as_str()) {
            have.remove(p);
            out.push(format!("-D{}", &r[2..]));
        }
    }
    out
}

impl IptFw {
    pub(crate) fn new(chains: &IptablesChains, sets: Option<IpsetNames>) -> IptFw {
        IptFw {
            input: chains.input.clone(),
            output: chains.output.clone(),
            sets,
            setup: [Init::Pending; 2],
            vips_setup: [Init::Pending; 2],
            igmp_setup: [Init::Pending; 2],
            ipset: None,
        }
    }

    fn ipset(&mut self) -> Option<&mut Ipset> {
        if self.ipset.is_none() {
            match Ipset::new() {
                Ok(s) => self.ipset = Some(s),
                Err(e) => log::error!("ipset: {e}"),
            }
        }
        self.ipset.as_mut()
    }

    /// keepalived's `iptables_init` + `check_chains_exist`.
    fn init(&mut self, v6: bool) {
        let names = if v6 {
            "/proc/net/ip6_tables_names"
        } else {
            "/proc/net/ip_tables_names"
        };
        if !std::path::Path::new(names).is_file() {
            log::info!(
                "{} chain not setup",
                if v6 { "ip6tables" } else { "iptables" }
            );
            self.setup[idx(v6)] = Init::Failed;
            return;
        }
        let Some(table) = save(v6) else {
            log::info!(
                "WARNING, {} module not installed - can't filter IPv{} addresses",
                if v6 { "ip6_tables" } else { "ip_tables" },
                if v6 { 6 } else { 4 }
            );
            self.setup[idx(v6)] = Init::Failed;
            return;
        };
        let mut ok = true;
        for c in std::iter::once(&self.input).chain(self.output.as_ref()) {
            if !table.lines().any(|l| l.starts_with(&format!(":{c} "))) {
                log::info!(
                    "{} chain {c} doesn't exist",
                    if v6 { "ip6tables" } else { "iptables" }
                );
                ok = false;
            }
        }
        self.setup[idx(v6)] = if ok { Init::Success } else { Init::Failed };
    }

    /// The rules matching the sets of a family (keepalived's `add_del_vip_rules`), as `-A` lines.
    fn set_rules(&self, v6: bool) -> Vec<String> {
        let Some(s) = &self.sets else {
            return Vec::new();
        };
        let mut r = Vec::new();
        if !v6 {
            r.push(format!(
                "-A {} -m set --match-set {} dst -j DROP",
                self.input, s.addr4
            ));
            if let Some(o) = &self.output {
                r.push(format!("-A {o} -m set --match-set {} src -j DROP", s.addr4));
            }
            return r;
        }
        let chains = std::iter::once((&self.input, "dst,src", "dst"))
            .chain(self.output.as_ref().map(|o| (o, "src,dst", "src")));
        for (c, dim2, dim1) in chains {
            for (set, dims) in [(&s.if6, dim2), (&s.addr6, dim1)] {
                for t in [135, 136] {
                    r.push(format!(
                        "-A {c} -p ipv6-icmp -m set --match-set {set} {dims} -m icmp6 --icmpv6-type {t} -j ACCEPT"
                    ));
                }
                r.push(format!("-A {c} -m set --match-set {set} {dims} -j DROP"));
            }
        }
        r
    }

    /// The rules of one VIP without sets (keepalived's `handle_iptable_rule_to_vip`).
    fn vip_rules(&self, v: &IptVip) -> Vec<String> {
        let mut r = Vec::new();
        let (oif, iif) = match &v.ifname {
            Some(n) => (format!(" -o {n}"), format!(" -i {n}")),
            None => (String::new(), String::new()),
        };
        let plen = if v.v6() { 128 } else { 32 };
        let a = v.addr;
        if v.v6() {
            if let Some(o) = &self.output {
                for t in [135, 136] {
                    r.push(format!(
                        "-A {o} -s {a}/{plen}{oif} -p ipv6-icmp -m icmp6 --icmpv6-type {t} -j ACCEPT"
                    ));
                }
            }
            for t in [135, 136] {
                r.push(format!(
                    "-A {} -d {a}/{plen}{iif} -p ipv6-icmp -m icmp6 --icmpv6-type {t} -j ACCEPT",
                    self.input
                ));
            }
        }
        if let Some(o) = &self.output {
            r.push(format!("-A {o} -s {a}/{plen}{oif} -j DROP"));
        }
        r.push(format!("-A {} -d {a}/{plen}{iif} -j DROP", self.input));
        r
    }

    /// Makes a family usable (keepalived's first pass of `handle_iptable_vip_list`): tables
    /// and chains checked, sets created and their rules appended. Returns whether it is.
    fn family(&mut self, v6: bool) -> bool {
        let i = idx(v6);
        if self.vips_setup[i] == Init::Pending {
            if self.setup[i] == Init::Pending {
                self.init(v6);
            }
            if self.setup[i] == Init::Failed {
                self.vips_setup[i] = Init::Failed;
                return false;
            }
            if let Some(s) = self.sets.clone() {
                let mk: Vec<(String, SetType)> = if v6 {
                    vec![(s.addr6, SetType::HashIp), (s.if6, SetType::HashNetIface)]
                } else {
                    vec![(s.addr4, SetType::HashIp)]
                };
                if let Some(ips) = self.ipset() {
                    for (name, ty) in mk {
                        if let Err(e) = ips.create(&name, ty, v6) {
                            log::info!("ipset create {name}: {e}");
                        }
                    }
                }
                let rules = self.set_rules(v6);
                if let Err(e) = restore(v6, &rules) {
                    log::error!("adding the iptables rules of the VIP sets: {e}");
                }
            }
            self.vips_setup[i] = Init::Success;
        }
        self.vips_setup[i] == Init::Success
    }

    fn set_of(&self, v: &IptVip) -> Option<(String, Option<String>)> {
        let s = self.sets.as_ref()?;
        Some(match (&v.addr, &v.ifname) {
            (IpAddr::V4(_), _) => (s.addr4.clone(), None),
            (IpAddr::V6(_), Some(n)) => (s.if6.clone(), Some(n.clone())),
            (IpAddr::V6(_), None) => (s.addr6.clone(), None),
        })
    }

    /// Instance `inst` became master: its VIPs (`vips`, in keepalived's order) in the sets, or
    /// their rules appended.
    pub(crate) fn add(&mut self, inst: &mut Instance, vips: &[IptVip]) {
        let want: Vec<&IptVip> = vips
            .iter()
            .filter(|v| !inst.fw_vips.contains(&v.key()))
            .collect();
        if want.is_empty() {
            return;
        }
        log::info!("({}) setting firewall drop rule", inst.spec.name);
        let mut lines: [Vec<String>; 2] = Default::default();
        for v in want {
            if !self.family(v.v6()) {
                continue;
            }
            if let Some((set, ifname)) = self.set_of(v) {
                if let Some(ips) = self.ipset() {
                    if let Err(e) = ips.add(&set, v.addr, ifname.as_deref()) {
                        log::info!("({}) {e}", inst.spec.name);
                    }
                }
            } else {
                let r = self.vip_rules(v);
                lines[idx(v.v6())].extend(r);
            }
            inst.fw_vips.push(v.key());
        }
        for v6 in [false, true] {
            if let Err(e) = restore(v6, &lines[idx(v6)]) {
                log::error!("({}) setting the firewall drop rule: {e}", inst.spec.name);
            }
        }
    }

    /// Instance `inst` left master: its VIPs out of the sets, or their rules deleted. With
    /// `force` (at start, keepalived's forced removal of a killed run's leftovers) every VIP
    /// of `vips` is removed whether or not this run set it.
    pub(crate) fn remove(&mut self, inst: &mut Instance, vips: &[IptVip], force: bool) {
        let gone: Vec<IptVip> = if force {
            vips.to_vec()
        } else {
            std::mem::take(&mut inst.fw_vips)
                .iter()
                .filter_map(IptVip::from_key)
                .collect()
        };
        if force {
            inst.fw_vips.clear();
        }
        if gone.is_empty() {
            return;
        }
        log::info!("({}) removing firewall drop rule", inst.spec.name);
        let mut rules: [Vec<String>; 2] = Default::default();
        for v in &gone {
            if !self.family(v.v6()) {
                continue;
            }
            if let Some((set, ifname)) = self.set_of(v) {
                if let Some(ips) = self.ipset() {
                    if let Err(e) = ips.del(&set, v.addr, ifname.as_deref()) {
                        if !force {
                            log::info!("({}) {e}", inst.spec.name);
                        }
                    }
                }
            } else {
                let r = self.vip_rules(v);
                rules[idx(v.v6())].extend(r);
            }
        }
        for v6 in [false, true] {
            let rules = &rules[idx(v6)];
            if rules.is_empty() {
                continue;
            }
            if let Err(e) = restore(v6, &deletions(v6, rules)) {
                log::error!("({}) removing the firewall drop rule: {e}", inst.spec.name);
            }
        }
    }

    /// The OUT-chain rules matching the VMAC sets of a family (keepalived's
    /// `add_del_igmp_rules`), as `-A` lines.
    fn igmp_set_rules(&self, v6: bool) -> Vec<String> {
        let (Some(s), Some(o)) = (&self.sets, &self.output) else {
            return Vec::new();
        };
        if !v6 {
            return vec![format!(
                "-A {o} -p igmp -m set --match-set {} dst,dst -j DROP",
                s.igmp
            )];
        }
        vec![
            format!(
                "-A {o} -p ipv6-icmp -m set --match-set {} dst,dst -m icmp6 --icmpv6-type 143 -j DROP",
                s.mld
            ),
            format!(
                "-A {o} -p ipv6-icmp -m set --match-set {} dst,dst -m icmp6 --icmpv6-type 131 -j DROP",
                s.mld
            ),
            format!(
                "-A {o} -p ipv6-icmp -m set --match-set {} src,dst -m icmp6 --icmpv6-type 136 -j DROP",
                s.nd
            ),
        ]
    }

    /// Makes the VMAC part of a family usable (keepalived's first pass of
    /// `handle_iptable_rule_for_igmp`/`_nd`): tables and chains checked, with sets the sets
    /// created and their rules appended. Returns whether it is.
    fn igmp_family(&mut self, v6: bool) -> bool {
        let i = idx(v6);
        if self.output.is_none() || self.igmp_setup[i] == Init::Failed {
            return false;
        }
        if self.igmp_setup[i] == Init::Pending {
            if self.setup[i] == Init::Pending {
                self.init(v6);
            }
            if self.setup[i] == Init::Failed {
                self.igmp_setup[i] = Init::Failed;
                return false;
            }
            if let Some(s) = self.sets.clone() {
                let mk = if v6 { vec![s.mld, s.nd] } else { vec![s.igmp] };
                if let Some(ips) = self.ipset() {
                    for name in mk {
                        if let Err(e) = ips.create(&name, SetType::HashNetIface, v6) {
                            log::info!("ipset create {name}: {e}");
                        }
                    }
                }
                let rules = self.igmp_set_rules(v6);
                if let Err(e) = restore(v6, &rules) {
                    log::error!("adding the iptables rules of the VMAC sets: {e}");
                }
            }
            self.igmp_setup[i] = Init::Success;
        }
        true
    }

    /// One VMAC's IGMP (IPv4) or MLD (IPv6) drop: its set entry, or (without sets) its rules
    /// as `-A` lines in `rules` (keepalived's `handle_iptable_rule_for_igmp`).
    fn vmac_igmp(&mut self, ifname: &str, v6: bool, add: bool, rules: &mut [Vec<String>; 2]) {
        if !self.igmp_family(v6) {
            return;
        }
        if let Some(s) = self.sets.clone() {
            let (set, any) = if v6 {
                (s.mld, IpAddr::V6(Ipv6Addr::UNSPECIFIED))
            } else {
                (s.igmp, IpAddr::V4(Ipv4Addr::UNSPECIFIED))
            };
            if let Some(ips) = self.ipset() {
                let r = if add {
                    ips.add_net(&set, any, 0, ifname)
                } else {
                    ips.del_net(&set, any, 0, ifname)
                };
                if let Err(e) = r {
                    log::info!("{e}");
                }
            }
            return;
        }
        let Some(o) = self.output.clone() else { return };
        let r = &mut rules[idx(v6)];
        if v6 {
            for t in [143, 131] {
                r.push(format!(
                    "-A {o} -o {ifname} -p ipv6-icmp -m icmp6 --icmpv6-type {t} -j DROP"
                ));
            }
        } else {
            r.push(format!("-A {o} -o {ifname} -p igmp -j DROP"));
        }
    }

    /// One VMAC's neighbour-advertisement drop (keepalived's `handle_iptable_rule_for_nd`).
    fn vmac_nd(&mut self, m: &IptVmac, add: bool, rules: &mut [Vec<String>; 2]) {
        if !self.igmp_family(true) {
            return;
        }
        let ll = m.base_ll.unwrap_or(Ipv6Addr::UNSPECIFIED);
        if let Some(s) = self.sets.clone() {
            if let Some(ips) = self.ipset() {
                let r = if add {
                    ips.add(&s.nd, IpAddr::V6(ll), Some(&m.ifname))
                } else {
                    ips.del(&s.nd, IpAddr::V6(ll), Some(&m.ifname))
                };
                if let Err(e) = r {
                    log::info!("{e}");
                }
            }
            return;
        }
        let Some(o) = self.output.clone() else { return };
        rules[1].push(format!(
            "-A {o} -s {ll}/128 -o {} -p ipv6-icmp -m icmp6 --icmpv6-type 136 -j DROP",
            m.ifname
        ));
    }

    /// keepalived's `iptables_update_vmac`: the VMAC's entries (or rules, each inserted at the
    /// head of the OUT chain, in keepalived's order) added or removed.
    fn update_vmac(&mut self, m: &IptVmac, add: bool) {
        if self.output.is_none() {
            return;
        }
        let mut rules: [Vec<String>; 2] = Default::default();
        self.vmac_igmp(&m.ifname, m.v6, add, &mut rules);
        if m.other_family {
            self.vmac_igmp(&m.ifname, !m.v6, add, &mut rules);
        }
        if m.v6 {
            self.vmac_nd(m, add, &mut rules);
        }
        for v6 in [false, true] {
            let r = &rules[idx(v6)];
            if r.is_empty() {
                continue;
            }
            let lines = if add {
                r.iter()
                    .filter_map(|l| {
                        let rest = l.strip_prefix("-A ")?;
                        let (chain, spec) = rest.split_once(' ')?;
                        Some(format!("-I {chain} 1 {spec}"))
                    })
                    .collect()
            } else {
                deletions(v6, r)
            };
            if let Err(e) = restore(v6, &lines) {
                log::error!("VMAC {}: the IGMP/MLD/ND drop rules: {e}", m.ifname);
            }
        }
    }

    /// Whether there is an OUT chain (keepalived adds VMAC rules only then).
    pub(crate) fn has_output(&self) -> bool {
        self.output.is_some()
    }

    /// A VMAC was created (or found): its IGMP/MLD/ND reports are dropped.
    pub(crate) fn add_vmac(&mut self, m: &IptVmac) {
        self.update_vmac(m, true);
    }

    /// A VMAC is about to be deleted: its entries (or rules) go.
    pub(crate) fn remove_vmac(&mut self, m: &IptVmac) {
        self.update_vmac(m, false);
    }

    /// At stop (keepalived's `iptables_fini`): the set rules deleted, then the sets destroyed.
    pub(crate) fn cleanup(&mut self) {
        let Some(s) = self.sets.clone() else {
            return;
        };
        for v6 in [false, true] {
            let mut rules = Vec::new();
            if self.vips_setup[idx(v6)] == Init::Success {
                rules.extend(self.set_rules(v6));
            }
            if self.igmp_setup[idx(v6)] == Init::Success {
                rules.extend(self.igmp_set_rules(v6));
            }
            if rules.is_empty() {
                continue;
            }
            if let Err(e) = restore(v6, &deletions(v6, &rules)) {
                log::error!("deleting the iptables rules of the VIP sets: {e}");
            }
        }
        for v6 in [false, true] {
            let mut names = Vec::new();
            if self.vips_setup[idx(v6)] == Init::Success {
                self.vips_setup[idx(v6)] = Init::Pending;
                if v6 {
                    names.extend([s.addr6.clone(), s.if6.clone()]);
                } else {
                    names.push(s.addr4.clone());
                }
            }
            if self.igmp_setup[idx(v6)] == Init::Success {
                if v6 {
                    names.extend([s.mld.clone(), s.nd.clone()]);
                } else {
                    names.push(s.igmp.clone());
                }
            }
            self.igmp_setup[idx(v6)] = Init::Pending;
            if names.is_empty() {
                continue;
            }
            if let Some(ips) = self.ipset() {
                for n in names {
                    if let Err(e) = ips.destroy(&n) {
                        log::info!("{e}");
                    }
                }
            }
        }
    }
}
