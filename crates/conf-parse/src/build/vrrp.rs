//! VRRP blocks: `vrrp_instance`, `vrrp_sync_group`, `vrrp_script`, `track_file`,
//! `vrrp_track_process`, `garp_group`, addresses, tracking references, and the end-of-parse
//! VRRP fix-ups and cross checks (the scripts, tracking and addresses are in `vrrp_track.rs`, the
//! cross checks in `vrrp_checks.rs`).

use std::time::Duration;

use super::{block, span, values, Builder};
use crate::diag::{Code, ConfigErr, Diagnostic, Severity};
use crate::keywords::Release;
use crate::model::*;

impl Builder {
    /// keepalived's vrrp end-of-instance fix-ups that change values.
    pub(super) fn finish_instances(&mut self, c: &mut Config) {
        let global_version = c.global.vrrp_version;
        let global_strict = c.global.vrrp_strict;
        for v in &mut c.vrrp_instances {
            self.finish_auth_hmac(v, global_strict);
            let version = v.effective_version(global_version);
            // keepalived's strict-mode fix-ups (vrrp_complete_instance): no authentication,
            // no accept mode on v2 (RFC 3768). keepalived reports both as configuration errors
            // (`-t` exits 5).
            if v.strict_mode.unwrap_or(global_strict) {
                let first6 = v.virtual_ipaddress.first().and_then(|a| match a.addr {
                    std::net::IpAddr::V6(x) => Some(x),
                    std::net::IpAddr::V4(_) => None,
                });
                let strict_err = |b: &mut Builder, msg: String, hint: &str| {
                    let d = Diagnostic::new(
                        Severity::Error,
                        Code::Semantic,
                        ConfigErr::GeneralError,
                        &v.loc.0,
                        msg,
                    )
                    .with_hint(hint);
                    b.emit(d);
                };
                if let Some(a) = first6 {
                    if version == 2 {
                        strict_err(
                            self,
                            format!(
                                "({}) cannot use IPv6 with VRRP version 2; setting version 3",
                                v.name
                            ),
                            "IPv6 VRRP is version 3 (RFC 5798)",
                        );
                        v.version = Some(3);
                    }
                    if a.segments()[0] & 0xffc0 != 0xfe80 {
                        strict_err(
                            self,
                            format!("({}) the first IPv6 VIP address must be link local", v.name),
                            "list a link-local (fe80::/10) VIP first (RFC 5798)",
                        );
                    }
                }
                if v.authentication.take().is_some() {
                    let d = Diagnostic::new(
                        Severity::Warning,
                        Code::Semantic,
                        ConfigErr::GeneralError,
                        &v.loc.0,
                        format!(
                            "({}) Strict mode does not support authentication. Ignoring.",
                            v.name
                        ),
                    )
                    .with_hint("remove `authentication`, or `vrrp_strict`/`strict_mode`");
                    self.emit(d);
                }
                if version == 2 && v.accept == Some(true) {
                    let d = Diagnostic::new(
                        Severity::Warning,
                        Code::Semantic,
                        ConfigErr::GeneralError,
                        &v.loc.0,
                        format!(
                            "({}) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting",
                            v.name
                        ),
                    )
                    .with_hint("use `version 3` for accept mode in strict mode");
                    self.emit(d);
                    v.accept = Some(false);
                }
            }
            if version == 2 && v.advert_int.subsec_micros() != 0 {
                let us = v.advert_int.as_micros();
                let secs = ((us + 500_000) / 1_000_000).max(1) as u64;
                let d = Diagnostic::new(
                    Severity::Error,
                    Code::Semantic,
                    ConfigErr::GeneralError,
                    &v.loc.0,
                    format!(
                        "({}) VRRPv2 advertisement interval {}s must be an integer, rounding to {secs}s",
                        v.name,
                        crate::print::fmt_duration(v.advert_int)
                    ),
                )
                .with_hint("use a whole number of seconds, or `version 3` for sub-second adverts");
                self.emit(d);
                v.advert_int = Duration::from_secs(secs);
            }
        }
    }

    pub(super) fn vrrp_instance(&mut self, st: &Stmt) -> Option<VrrpInstance> {
        let name = self.name(st)?;
        let mut v = VrrpInstance::new(&name);
        v.loc = st.loc.clone();
        let ctx = "vrrp_instance";
        // keepalived's `current_vrrp->family`: set by the first address-bearing keyword (source
        // address, peer, VIP, native_ipv6); a later address of the other family is an error and
        // is ignored.
        let mut family: Option<bool> = None;
        let mut state_master = false;
        let mut vmac_named = false;
        let mut ttl_set = false;
        for b in block(st) {
            match b.keyword.as_ref() {
                "state" => match self.arg(b, 0) {
                    Some("MASTER") => {
                        v.state = VrrpState::Master;
                        state_master = true;
                    }
                    Some("BACKUP") if state_master => self.fixup(
                        b,
                        format!("({name}) state previously set as MASTER - ignoring BACKUP"),
                    ),
                    Some("BACKUP") => v.state = VrrpState::Backup,
                    Some(o) => {
                        let o = o.to_string();
                        self.invalid(
                            b,
                            format!("unknown state '{o}'"),
                            Some("use MASTER or BACKUP"),
                        )
                    }
                    None => {}
                },
                "interface" => {
                    if let Some(old) = v.interface.take() {
                        v.replaced_interfaces.push((old, v.interface_loc.clone()));
                    }
                    v.interface = self.string(b);
                    v.interface_loc = b.loc.clone();
                }
                "virtual_router_id" => {
                    v.virtual_router_id = self.uint(b, 0, 1, 255).map(|x| x as u8)
                }
                "priority" => {
                    if let Some(p) = self.uint(b, 0, 1, 255) {
                        v.priority = p as u8;
                    }
                }
                "advert_int" => {
                    if let Some(d) = self.dur(b, 0, 10_000, 255_000_000) {
                        v.advert_int = d;
                    }
                }
                "version" => v.version = self.int(b, 0, 2, 3).map(|x| x as u8),
                "use_vmac" => {
                    // keepalived: one name, at most 15 characters of [A-Za-z0-9._-]
                    for (i, a) in b.args.iter().enumerate() {
                        if vmac_named || i > 0 {
                            self.invalid(b, "VMAC interface name already specified".into(), None);
                            break;
                        }
                        if a.len() > 15
                            || !a
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
                        {
                            self.invalid(
                                b,
                                format!("VMAC interface name '{a}' too long or invalid characters - ignoring"),
                                None,
                            );
                        } else {
                            vmac_named = true;
                        }
                    }
                    v.use_vmac = Some(Vmac {
                        name: b.args.first().cloned(),
                    })
                }
                "vmac_xmit_base" => v.vmac_xmit_base = true,
                "use_vmac_addr" => v.use_vmac_addr = true,
                "mcast_src_ip" | "unicast_src_ip" => {
                    let a = self.ip_arg(b, 0).filter(|a| {
                        self.same_family(&mut family, a.is_ipv6(), b, || {
                            format!(
                                "Configuration error: VRRP instance[{name}] and src address[{a}] MUST be of the same family !!! Skipping..."
                            )
                        })
                    });
                    if b.keyword == "mcast_src_ip" {
                        v.mcast_src_ip = a;
                    } else {
                        v.unicast_src_ip = a;
                    }
                }
                "mcast_dst_ip" => v.mcast_dst_ip = self.ip_arg(b, 0),
                "unicast_peer" => {
                    for vl in values(b) {
                        let tmp = Stmt {
                            keyword: "unicast_peer".into(),
                            args: vl.words.clone(),
                            body: Body::None,
                            loc: vl.loc.clone(),
                            end_line: EndLine::default(),
                        };
                        let Some(addr) = self.ip_arg(&tmp, 0) else {
                            continue;
                        };
                        if !self.same_family(&mut family, addr.is_ipv6(), &tmp, || {
                            format!(
                                "Configuration error: VRRP instance[{name}] and unicast peer address[{addr}] MUST be of the same family !!! Skipping..."
                            )
                        }) {
                            continue;
                        }
                        // keepalived 2.4 (vrrp_data.c alloc_unicast_peer): a peer already
                        // listed is a configuration error and is not added again. 2.2.7 sent
                        // the advert to it twice: by default the verdict stays 2.2.7's (a
                        // warning) and the duplicate is dropped as 2.4 does.
                        if v.unicast_peer.iter().any(|q| q.addr == addr) {
                            let msg = format!("({name}) {} - duplicate unicast_peer", vl.words[0]);
                            if self.compat.is_some_and(|c| c >= Release::V2_4_0) {
                                self.invalid(&tmp, msg, None);
                            } else {
                                let d = Diagnostic::new(
                                    Severity::Warning,
                                    Code::InvalidValue,
                                    ConfigErr::Ok,
                                    span(&tmp),
                                    format!("{msg} (ignored; keepalived 2.4 reports a configuration error)"),
                                );
                                self.emit(d);
                            }
                            continue;
                        }
                        let mut p = UnicastPeer {
                            addr,
                            min_ttl: None,
                            max_ttl: None,
                            loc: vl.loc.clone(),
                        };
                        let mut i = 1;
                        while i < vl.words.len() {
                            match vl.words[i].as_str() {
                                "min_ttl" => {
                                    p.min_ttl = self.uint(&tmp, i + 1, 0, 255).map(|x| x as u8)
                                }
                                "max_ttl" => {
                                    p.max_ttl = self.uint(&tmp, i + 1, 0, 255).map(|x| x as u8)
                                }
                                o => {
                                    let o = o.to_string();
                                    self.invalid(
                                        &tmp,
                                        format!("unicast_peer: unknown option '{o}'"),
                                        Some("options are min_ttl N, max_ttl N"),
                                    );
                                    i += 1;
                                    continue;
                                }
                            }
                            i += 2;
                        }
                        v.unicast_peer.push(p);
                    }
                }
                "unicast_ttl" => {
                    if let Some(t) = self.uint(b, 0, 0, 255) {
                        v.unicast_ttl = t as u8;
                        ttl_set = true;
                    }
                }
                "unicast_fault_no_peer" => v.unicast_fault_no_peer = true,
                "check_unicast_src" => v.check_unicast_src = true,
                "virtual_ipaddress" | "virtual_ipaddress_excluded" => {
                    let mut list = Vec::new();
                    for vl in values(b) {
                        if let Some(a) = self.ip_address(vl, b) {
                            if b.keyword == "virtual_ipaddress" {
                                let tmp = Stmt {
                                    keyword: "virtual_ipaddress".into(),
                                    args: vl.words.clone(),
                                    body: Body::None,
                                    loc: vl.loc.clone(),
                                    end_line: EndLine::default(),
                                };
                                let word = vl.words.first().cloned().unwrap_or_default();
                                if !self.same_family(&mut family, a.addr.is_ipv6(), &tmp, || {
                                    format!(
                                        "({name}): address family must match VRRP instance [{word}] - ignoring"
                                    )
                                }) {
                                    continue;
                                }
                            }
                            list.push(a);
                        }
                    }
                    if b.keyword == "virtual_ipaddress" {
                        v.virtual_ipaddress.extend(list);
                    } else {
                        v.virtual_ipaddress_excluded.extend(list);
                    }
                }
                "virtual_routes" => {
                    for vl in values(b) {
                        if let Some(r) = self.route(b, vl, false) {
                            v.virtual_routes.push(r);
                        }
                    }
                }
                "virtual_rules" => {
                    for vl in values(b) {
                        if let Some(r) = self.rule(b, vl, false) {
                            v.virtual_rules.push(r);
                        }
                    }
                }
                "authentication" => v.authentication = self.authentication(b),
                "auth_hmac" => {
                    let prev = v.auth_hmac.take();
                    let name = v.name.clone();
                    v.auth_hmac = Some(self.auth_hmac(b, prev, &name));
                }
                "track_interface" => v.track_interface.extend(self.track_refs(b, -254, 254)),
                "track_script" => {
                    for t in self.track_refs(b, -254, 254) {
                        if v.track_script.iter().any(|o| o.name == t.name) {
                            let tmp = Stmt {
                                keyword: b.keyword.clone(),
                                loc: t.loc.clone(),
                                ..Stmt::default()
                            };
                            let msg =
                                format!("({name}) duplicate track_script {} - ignoring", t.name);
                            self.fixup(&tmp, msg);
                        } else {
                            v.track_script.push(t);
                        }
                    }
                }
                "track_file" => v.track_file.extend(self.track_refs(b, -254, 254)),
                "track_process" => v.track_process.extend(self.track_refs(b, -254, 254)),
                "track_bfd" => v.track_bfd.extend(self.track_refs(b, -254, 254)),
                "dont_track_primary" => v.dont_track_primary = true,
                "track_src_ip" => v.track_src_ip = true,
                "accept" => v.accept = Some(true),
                "no_accept" => v.accept = Some(false),
                "preempt" => v.preempt = true,
                "nopreempt" => v.preempt = false,
                "preempt_delay" => {
                    if let Some(d) = self.dur(b, 0, 0, 1_000_000_000) {
                        v.preempt_delay = d;
                    }
                }
                "strict_mode" => v.strict_mode = self.boolean(b),
                "skip_check_adv_addr" => v.skip_check_adv_addr = self.boolean(b),
                "no_virtual_ipaddress" => v.no_virtual_ipaddress = true,
                "v3_checksum_as_v2" => {
                    if let Some(x) = self.boolean(b) {
                        v.v3_checksum_as_v2 = Some(x);
                    }
                }
                "native_ipv6" => {
                    if family == Some(false) {
                        self.invalid(
                            b,
                            format!("({name}) Cannot specify native_ipv6 with IPv4 addresses"),
                            None,
                        );
                    } else {
                        family = Some(true);
                        v.native_ipv6 = true;
                    }
                }
                "promote_secondaries" => v.promote_secondaries = true,
                "garp_master_delay" => {
                    v.garp_master_delay = self.secs(b, 0, 0, u64::from(u32::MAX) / 1_000_000)
                }
                "garp_master_repeat" => {
                    v.garp_master_repeat =
                        self.uint(b, 0, 0, u64::from(u32::MAX)).map(|x| x as u32);
                    if v.garp_master_repeat == Some(0) {
                        let msg = format!(
                            "({name}): garp_master_repeat must be greater than 0, setting to 1"
                        );
                        self.fixup(b, msg);
                        v.garp_master_repeat = Some(1);
                    }
                }
                "garp_extra_if"
                    if b.args
                        .first()
                        .is_some_and(|a| a != "all" && a.parse::<u32>().is_err()) =>
                {
                    let a = b.args.first().cloned().unwrap_or_default();
                    self.invalid(
                        b,
                        format!("({name}): garp_extra_if '{a}' invalid - ignoring"),
                        None,
                    );
                }
                "garp_master_refresh" => {
                    v.garp_master_refresh = self.secs(b, 0, 0, u64::from(u32::MAX))
                }
                "garp_master_refresh_repeat" => {
                    v.garp_master_refresh_repeat =
                        self.uint(b, 0, 0, u64::from(u32::MAX)).map(|x| x as u32)
                }
                "garp_lower_prio_delay" => {
                    v.garp_lower_prio_delay = self.secs(b, 0, 0, u64::from(u32::MAX) / 1_000_000)
                }
                "garp_lower_prio_repeat" => {
                    v.garp_lower_prio_repeat = self.uint(b, 0, 0, i32::MAX as u64).map(|x| x as u32)
                }
                "lower_prio_no_advert" => v.lower_prio_no_advert = self.boolean(b),
                "higher_prio_send_advert" => v.higher_prio_send_advert = self.boolean(b),
                "owner_ignore_adverts" => {
                    if let Some(x) = self.boolean(b) {
                        v.owner_ignore_adverts = Some(x);
                    }
                }
                "down_timer_adverts" => {
                    v.down_timer_adverts = self.uint(b, 0, 1, 100).map(|x| x as u32)
                }
                "notify_master" => v.notify_master = self.script(b),
                "notify_backup" => v.notify_backup = self.script(b),
                "notify_fault" => v.notify_fault = self.script(b),
                "notify_stop" => v.notify_stop = self.script(b),
                "notify_deleted" => {
                    // keepalived: bare or with a script; a second one is ignored.
                    if v.notify_deleted_set {
                        self.fixup(
                            b,
                            format!(
                                "({}) notify_deleted already specified - ignoring {}",
                                v.name,
                                b.args.first().map(String::as_str).unwrap_or("")
                            ),
                        );
                    } else {
                        v.notify_deleted_set = true;
                        if !b.args.is_empty() {
                            v.notify_deleted = self.script(b);
                        }
                    }
                }
                "notify" => v.notify = self.script(b),
                "notify_master_rx_lower_pri" => v.notify_master_rx_lower_pri = self.script(b),
                "smtp_alert" => v.smtp_alert = self.boolean(b),
                "lvs_sync_daemon_interface" => v.lvs_sync_daemon_interface = self.string(b),
                "debug" => v.debug = self.uint(b, 0, 0, 4).map(|x| x as u8),
                _ if self.instance_typed(&mut v, b) => {}
                _ => {
                    self.not_supported(b, ctx);
                    v.extra.push(b.clone());
                }
            }
        }
        // keepalived's end-of-instance checks (reported on the closing `}`)
        if ttl_set && v.unicast_peer.is_empty() {
            let msg = format!("({name}): Cannot use unicast_ttl without unicast peers - resetting");
            self.fixup_at_end(st, &msg);
        }
        Some(v)
    }

    pub(super) fn authentication(&mut self, st: &Stmt) -> Option<Authentication> {
        let mut t = None;
        let mut pass = None;
        for b in block(st) {
            match b.keyword.as_ref() {
                "auth_type" => match self.arg(b, 0) {
                    Some("PASS") => t = Some(AuthType::Pass),
                    Some("AH") => t = Some(AuthType::Ah),
                    Some(o) => {
                        let o = o.to_string();
                        self.invalid(
                            b,
                            format!("unknown auth_type '{o}'"),
                            Some("use PASS or AH"),
                        )
                    }
                    None => {}
                },
                "auth_pass" => {
                    if let Some(p) = self.string(b) {
                        if p.len() > 8 {
                            let d = Diagnostic::new(
                                Severity::Warning,
                                Code::InvalidValue,
                                ConfigErr::GeneralError,
                                span(b),
                                format!(
                                    "auth_pass '{p}' is longer than 8 characters; it is truncated"
                                ),
                            );
                            self.emit(d);
                        }
                        pass = Some(p.chars().take(8).collect::<String>());
                    }
                }
                _ => {}
            }
        }
        t.map(|auth_type| Authentication {
            auth_type,
            auth_pass: pass.unwrap_or_default(),
        })
    }

    pub(super) fn sync_group(&mut self, st: &Stmt) -> Option<SyncGroup> {
        let name = self.name(st)?;
        let mut g = SyncGroup {
            name,
            loc: st.loc.clone(),
            ..SyncGroup::default()
        };
        for b in block(st) {
            match b.keyword.as_ref() {
                "group" => {
                    for vl in values(b) {
                        g.group.extend(vl.words.iter().cloned());
                    }
                }
                "track_interface" => g.track_interface.extend(self.track_refs(b, -254, 254)),
                "track_script" => g.track_script.extend(self.track_refs(b, -254, 254)),
                "track_file" => g.track_file.extend(self.track_refs(b, -254, 254)),
                "track_process" => g.track_process.extend(self.track_refs(b, -254, 254)),
                "notify_master" => g.notify_master = self.script(b),
                "notify_backup" => g.notify_backup = self.script(b),
                "notify_fault" => g.notify_fault = self.script(b),
                "notify_stop" => g.notify_stop = self.script(b),
                "notify" => g.notify = self.script(b),
                "smtp_alert" => g.smtp_alert = self.boolean(b),
                _ if self.sync_group_typed(&mut g, b) => {}
                _ => {
                    self.not_supported(b, "vrrp_sync_group");
                    g.extra.push(b.clone());
                }
            }
        }
        Some(g)
    }

    pub(super) fn garp_group(&mut self, st: &Stmt) -> GarpGroup {
        let mut g = GarpGroup {
            loc: st.loc.clone(),
            ..GarpGroup::default()
        };
        for b in block(st) {
            match b.keyword.as_ref() {
                "garp_interval" => g.garp_interval = self.dur(b, 0, 1, u64::from(u32::MAX)),
                "gna_interval" => g.gna_interval = self.dur(b, 0, 1, u64::from(u32::MAX)),
                "interface" => {
                    if let Some(i) = self.string(b) {
                        g.interfaces.push(GarpInterface {
                            name: i,
                            loc: b.loc.clone(),
                        });
                    }
                }
                "interfaces" => {
                    // keepalived reads the whole block first: its reports carry the `}` line
                    let at = crate::diag::Loc(super::values::end_span(b));
                    for vl in values(b) {
                        g.interfaces.extend(vl.words.iter().map(|w| GarpInterface {
                            name: w.clone(),
                            loc: at.clone(),
                        }));
                    }
                }
                _ => {}
            }
        }
        if g.garp_interval.is_none() && g.gna_interval.is_none() {
            // keepalived numbers its garp groups from 1; ours are reported by position
            self.fixup_at_end(st, "garp group does not have any delay set - removing");
        }
        g
    }
}

impl Builder {
    /// vrrp_instance keywords no runtime reads yet, typed with keepalived's checks. False
    /// when `b` is not one of them.
    pub(super) fn instance_typed(&mut self, v: &mut VrrpInstance, b: &Stmt) -> bool {
        let kw = b.keyword.as_ref();
        let name = v.name.clone();
        match kw {
            "use_ipvlan" => {
                if v.use_ipvlan.is_some() {
                    self.invalid(b, format!("({name}) use_ipvlan already specified"), None);
                    return true;
                }
                let mut x = Ipvlan::default();
                let mut i = 0;
                while i < b.args.len() {
                    let w = b.args[i].as_str();
                    let mode = match w {
                        "bridge" => Some(IpvlanMode::Bridge),
                        "private" => Some(IpvlanMode::Private),
                        "vepa" => Some(IpvlanMode::Vepa),
                        _ => None,
                    };
                    if let Some(m) = mode {
                        if x.mode.is_some() {
                            self.invalid(
                                b,
                                format!("({name}) ipvlan type already specified - ignoring '{w}'"),
                                None,
                            );
                        } else {
                            x.mode = Some(m);
                        }
                        i += 1;
                        continue;
                    }
                    if w == "name" {
                        i += 1;
                    } else {
                        let (a, l) = w.split_once('/').unwrap_or((w, ""));
                        if let Ok(addr) = a.parse::<std::net::IpAddr>() {
                            let max = if addr.is_ipv4() { 32 } else { 128 };
                            let len = if l.is_empty() {
                                None
                            } else {
                                l.parse::<u8>().ok().filter(|n| *n <= max)
                            };
                            if l.is_empty() || len.is_some() {
                                if x.addr.is_some() {
                                    self.invalid(b, format!("({name}) ipvlan address already specified - ignoring '{w}'"), None);
                                } else {
                                    x.addr = Some((addr, len));
                                }
                                i += 1;
                                continue;
                            }
                        }
                    }
                    let Some(ifname) = b.args.get(i) else { break };
                    if x.name.is_some() {
                        self.invalid(
                            b,
                            format!(
                                "({name}) IPVLAN interface already specified - ignoring '{ifname}'"
                            ),
                            None,
                        );
                    } else if ifname.len() >= 16 {
                        self.invalid(
                            b,
                            format!(
                                "({name}) IPVLAN interface name '{ifname}' too long - ignoring"
                            ),
                            None,
                        );
                    } else {
                        x.name = Some(ifname.clone());
                    }
                    i += 1;
                }
                v.use_ipvlan = Some(x);
            }
            "old_unicast_checksum" => match b.args.first().map(String::as_str) {
                None => v.old_unicast_checksum = Some(OldUnicastChecksum::Config),
                Some("never") => v.old_unicast_checksum = Some(OldUnicastChecksum::Never),
                Some(o) => {
                    let o = o.to_string();
                    self.invalid(
                        b,
                        format!("({name}) Unknown old_unicast_chksum mode {o} - ignoring"),
                        Some("bare, or `never`"),
                    );
                }
            },
            "vrf" => {
                let Some(n) = self.arg(b, 0) else {
                    return true;
                };
                let n = n.to_string();
                if n.len() >= 16 {
                    self.invalid(
                        b,
                        format!("({name}) VRF interface name '{n}' too long - ignoring"),
                        None,
                    );
                } else if v.interface.is_some() {
                    self.invalid(
                        b,
                        format!("({name}) Cannot specify VRF interface and interface - ignoring"),
                        None,
                    );
                } else if let Some(o) = &v.vrf {
                    let o = o.clone();
                    self.invalid(
                        b,
                        format!("({name}) VRF interface already specified as '{o}' - ignoring"),
                        None,
                    );
                } else {
                    v.vrf = Some(n);
                }
            }
            "linkbeat_use_polling" => {
                // keepalived reports it as a configuration error and polls the interface.
                self.fixup(
                    b,
                    format!("({name}) 'linkbeat_use_polling' in vrrp instance deprecated - use linkbeat_interfaces block"),
                );
                v.linkbeat_use_polling = true;
            }
            "notify_priority_changes" => {
                let msg = format!(
                    "({name}) Invalid value '{}' for notify_priority_changes specified",
                    b.args.first().map_or("", String::as_str)
                );
                if let Some(x) = self.true_false(b, &msg) {
                    v.notify_priority_changes = Some(x);
                }
            }
            "timer_expired_backup" | "thread_timer_expired" => {
                if kw == "thread_timer_expired" {
                    // keepalived 2.4.3 reports it (`-t` exits 5) and applies it as
                    // timer_expired_backup: a warning here, so the daemon runs the same.
                    self.fixup_hint(
                        b,
                        format!(
                            "({name}) thread_timer_expired - please replace with keyword 'timer_expired_backup'"
                        ),
                        "write timer_expired_backup",
                    );
                }
                if b.args.is_empty() {
                    v.timer_expired_backup = Some(254);
                } else if let Some(p) = self.uint(b, 0, 1, 254) {
                    v.timer_expired_backup = Some(p as u8);
                } else {
                    self.invalid(
                        b,
                        format!(
                            "({name}) timer_expired_backup highest_other_priority not valid! must be between 1 & 254"
                        ),
                        None,
                    );
                }
            }
            "garp_extra_if" | "vmac_garp_intvl" => {
                if kw == "vmac_garp_intvl" {
                    let d = self.err(
                        Code::Deprecated,
                        ConfigErr::Deprecated,
                        span(b),
                        "Keyword \"vmac_garp_intvl\" is deprecated - please use \"garp_extra_if\""
                            .into(),
                    );
                    self.emit(d);
                }
                let mut x = GarpExtraIf::default();
                let mut secs = None;
                for i in 0..b.args.len() {
                    if b.args[i] == "all" {
                        x.all = true;
                    } else {
                        match self.uint(b, i, 0, 86400) {
                            Some(s) => secs = Some(s),
                            None => return true,
                        }
                    }
                }
                match secs {
                    Some(s) => {
                        x.interval = Duration::from_secs(s);
                        v.garp_extra_if = Some(x);
                    }
                    None => self.invalid(
                        b,
                        format!("({name}): {kw} specified without time - ignoring"),
                        Some("write `KW [all] SECONDS`"),
                    ),
                }
            }
            "kernel_rx_buf_size" => {
                let ok = (b.args.len() == 1)
                    .then(|| b.args[0].parse::<u32>().ok())
                    .flatten();
                match ok {
                    Some(n) => v.kernel_rx_buf_size = Some(n),
                    None => self.invalid(
                        b,
                        format!("({name}) invalid kernel_rx_buf_size specified"),
                        Some("one size in bytes"),
                    ),
                }
            }
            _ => return false,
        }
        true
    }

    /// vrrp_sync_group keywords no runtime reads yet. False when `b` is not one of them.
    pub(super) fn sync_group_typed(&mut self, g: &mut SyncGroup, b: &Stmt) -> bool {
        let name = g.name.clone();
        match b.keyword.as_ref() {
            "track_bfd" => g.track_bfd.extend(self.track_refs(b, -253, 253)),
            "global_tracking" => {
                // keepalived reports it as a configuration error (`-t` exits 5) and runs with
                // sync_group_tracking_weight set: a warning here, so the daemon starts the same.
                self.fixup_hint(
                    b,
                    format!("({name}) global_tracking is deprecated. Use track_interface/script/file on the sync group"),
                    "use `sync_group_tracking_weight`",
                );
                g.sync_group_tracking_weight = true;
            }
            "sync_group_tracking_weight" => g.sync_group_tracking_weight = true,
            "notify_priority_changes" => {
                let msg = format!(
                    "({name}) Invalid value '{}' for sync group notify_priority_changes specified",
                    b.args.first().map_or("", String::as_str)
                );
                if let Some(x) = self.true_false(b, &msg) {
                    g.notify_priority_changes = Some(x);
                }
            }
            _ => return false,
        }
        true
    }
}
