//! `ip rule` lines of `static_rules` and `virtual_rules` blocks.

use super::*;

impl Builder {
    /// One rule line (`alloc_rule`).
    pub(in crate::build) fn rule(
        &mut self,
        st: &Stmt,
        vl: &ValueLine,
        statics: bool,
    ) -> Option<Rule> {
        let tmp = Self::line_stmt(st, vl);
        let st = &tmp;
        let mut l = Line {
            w: &vl.words,
            i: 0,
            v6: None,
            missing: false,
        };
        let (mut from, mut to) = (None, None);
        let mut tos = 0u8;
        let mut fwmark = None;
        let (mut iif, mut oif) = (None, None);
        let mut priority: Option<u32> = None;
        let mut action: Option<RuleAction> = None;
        let mut other_action = false;
        let mut table_option = false;
        let mut l3mdev = false;
        let mut protocol: Option<u8> = None;
        let mut no_track = false;
        let mut track_group: Option<String> = None;
        let mut unsupported: Option<String> = None;
        macro_rules! next {
            () => {
                match l.next() {
                    Some(w) => w,
                    None => {
                        let after = l.w[l.i - 1].clone();
                        self.missing_word(st, &after);
                        return None;
                    }
                }
            };
        }
        macro_rules! bad {
            ($($m:tt)*) => {{
                self.invalid(st, format!($($m)*), None);
                return None;
            }};
        }
        macro_rules! unsup {
            ($o:expr) => {
                if unsupported.is_none() {
                    unsupported = Some($o.to_string());
                }
            };
        }
        const MORE: &str =
            "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable";
        while l.i < l.w.len() {
            let s = l.w[l.i].as_str();
            match s {
                "inet6" | "inet" => {
                    let v6 = s == "inet6";
                    match l.v6 {
                        None => l.v6 = Some(v6),
                        Some(f) if f == v6 => {}
                        Some(_) => bad!(
                            "{s} specified for {} rule",
                            if v6 { "IPv4" } else { "IPv6" }
                        ),
                    }
                }
                "from" | "to" => {
                    let a = next!();
                    let p = match self.rt_addr(st, a, true) {
                        None => bad!("Invalid rule {s} address {a}"),
                        Some(Addr::Any) => None,
                        Some(Addr::Any6) => Some((IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0, true)),
                        Some(Addr::Ip(ip, len)) => Some((ip, len, ip.is_ipv6())),
                    };
                    let p = match p {
                        Some((ip, len, v6)) => {
                            match l.v6 {
                                None => l.v6 = Some(v6),
                                Some(f) if f == v6 => {}
                                Some(_) => bad!("rule specification has mixed IPv4 and IPv6"),
                            }
                            Some((ip, len))
                        }
                        None => None,
                    };
                    if s == "from" {
                        from = p;
                    } else {
                        to = p;
                    }
                }
                "table" | "lookup" => {
                    let v = next!();
                    let Some(t) = table(v) else {
                        bad!("Routing table {v} not found for rule");
                    };
                    if t == 0 {
                        bad!("Table 0 is not valid");
                    }
                    if action.is_some() || other_action {
                        bad!("{MORE} for rule");
                    }
                    action = Some(RuleAction::Table(t));
                }
                "not" => unsup!(s),
                "preference" | "order" | "priority" => {
                    let v = next!();
                    match read_unsigned(v, true, u64::from(u32::MAX)) {
                        Ok(p) => priority = Some(p as u32),
                        Err(m) => {
                            self.num_invalid(st, m);
                            bad!("Invalid rule preference {s} specified");
                        }
                    }
                }
                "tos" | "dsfield" => {
                    let v = next!();
                    match dsfield(v) {
                        Some(t) => tos = t,
                        None => bad!("TOS value {v} is invalid"),
                    }
                }
                "fwmark" => {
                    let v = next!();
                    let t = v.trim_start_matches([' ', '\t']);
                    let (m, k) = match t.split_once('/') {
                        Some((m, k)) => (m, Some(k)),
                        None => (t, None),
                    };
                    let num = |x: &str| {
                        if x.starts_with(['-', ' ', '\t']) {
                            None
                        } else {
                            strtoul_all(x).and_then(|n| u32::try_from(n).ok())
                        }
                    };
                    match (num(m), k.map(num)) {
                        (Some(m), None) => fwmark = Some((m, None)),
                        (Some(m), Some(Some(k))) => fwmark = Some((m, Some(k))),
                        _ => bad!("Invalid rule fwmark {v} specified"),
                    }
                }
                "realms" => {
                    let v = next!();
                    if !realms_ok(v) {
                        bad!("invalid realms {v} for rule");
                    }
                    table_option = true;
                    match l.v6 {
                        None => l.v6 = Some(false),
                        Some(false) => {}
                        Some(true) => bad!("realms is only valid for IPv4"),
                    }
                    unsup!(s);
                }
                "suppress_prefixlength" | "sup_pl" => {
                    let v = next!();
                    if let Err(m) = read_unsigned(v, false, i32::MAX as u64) {
                        self.num_invalid(st, m);
                        bad!("Invalid suppress_prefixlength {s} specified");
                    }
                    table_option = true;
                    unsup!(s);
                }
                "suppress_ifgroup" | "sup_group" => {
                    let v = next!();
                    if rt_lookup(v, "group", &[], i32::MAX as u32).is_none() {
                        bad!("suppress_group {v} is invalid");
                    }
                    table_option = true;
                    unsup!(s);
                }
                "dev" | "iif" => iif = Some(next!().to_string()),
                "oif" => oif = Some(next!().to_string()),
                "tunnel-id" => {
                    let v = next!();
                    if strtoul_all(v).is_none() || v.starts_with('-') {
                        bad!("Invalid tunnel-id {s} specified");
                    }
                    unsup!(s);
                }
                "uidrange" => {
                    let v = next!();
                    let ok = v.split_once('-').is_some_and(|(a, b)| {
                        a.parse::<u32>().is_ok()
                            && b.chars()
                                .take_while(char::is_ascii_digit)
                                .collect::<String>()
                                .parse::<u32>()
                                .is_ok()
                    });
                    if !ok {
                        bad!("Invalid uidrange {s} specified");
                    }
                    unsup!(s);
                }
                "l3mdev" => {
                    if action.is_some() || other_action {
                        bad!("Cannot specify l3mdev with other action");
                    }
                    l3mdev = true;
                    other_action = true;
                    unsup!(s);
                }
                "protocol" => {
                    let v = next!();
                    match read_unsigned(v, false, 255) {
                        Ok(p) => protocol = Some(p as u8),
                        Err(m) => {
                            self.num_invalid(st, m);
                            self.fixup(st, format!("Invalid protocol {v}"));
                        }
                    }
                }
                "ipproto" => {
                    let v = next!();
                    let known = matches!(
                        v,
                        "ip" | "icmp"
                            | "igmp"
                            | "tcp"
                            | "udp"
                            | "ipv6"
                            | "gre"
                            | "esp"
                            | "ah"
                            | "ipv6-icmp"
                            | "icmpv6"
                            | "sctp"
                            | "udplite"
                            | "raw"
                            | "mptcp"
                    ) || v.parse::<u8>().is_ok();
                    if !known {
                        self.fixup(st, format!("Invalid ipproto {v}"));
                    }
                    unsup!(s);
                }
                "sport" | "dport" => {
                    let v = next!();
                    let ok = v
                        .split_once('-')
                        .is_some_and(|(a, b)| a.parse::<u16>().is_ok() && b.parse::<u16>().is_ok());
                    if !ok {
                        self.fixup(st, format!("invalid {s} range {v}"));
                    }
                    unsup!(s);
                }
                "no_track" => no_track = true,
                "track_group" if statics => {
                    let g = next!();
                    if !self.static_track_group(st, g, &mut track_group) {
                        // keepalived stops reading the rule at the duplicate
                        break;
                    }
                }
                _ => {
                    let a = if s == "type" { next!() } else { s };
                    let act = match a {
                        "goto" => {
                            let v = next!();
                            match read_unsigned(v, false, u64::from(u32::MAX)) {
                                Ok(t) => Some(RuleAction::Goto(t as u32)),
                                Err(m) => {
                                    self.num_invalid(st, m);
                                    bad!("Invalid target {a} specified");
                                }
                            }
                        }
                        "nop" => {
                            unsup!(a);
                            None
                        }
                        _ => match RouteType::parse(a) {
                            Some(RouteType::Blackhole) => Some(RuleAction::Blackhole),
                            Some(RouteType::Unreachable) => Some(RuleAction::Unreachable),
                            Some(RouteType::Prohibit) => Some(RuleAction::Prohibit),
                            Some(_) => bad!("Invalid rule action {a}"),
                            None => bad!("Unknown rule option {a}"),
                        },
                    };
                    if action.is_some() || other_action {
                        bad!("{MORE}/l3mdev for rule");
                    }
                    match act {
                        Some(x) => action = Some(x),
                        None => other_action = true,
                    }
                }
            }
            l.i += 1;
        }
        if let Some(RuleAction::Goto(t)) = action {
            match priority {
                Some(p) if p >= t => bad!("Invalid rule - preference {p} >= goto target {t}"),
                Some(_) => {}
                None => bad!("Invalid rule - goto target {t} specified without preference"),
            }
        }
        if action.is_none() && !other_action {
            bad!("No action specified for rule - ignoring");
        }
        let to_table = matches!(action, Some(RuleAction::Table(_))) || l3mdev;
        if !to_table && table_option {
            bad!("suppressor/realm specified for non table action - skipping");
        }
        if !no_track && protocol.is_some_and(|p| p != RTPROT_KEEPALIVED) {
            self.fixup(
                st,
                format!("Rule cannot be tracked if protocol is not RTPROT_KEEPALIVED({RTPROT_KEEPALIVED}), resetting protocol"),
            );
        }
        if track_group.is_some() && iif.is_none() {
            self.fixup(
                st,
                "Static rule cannot have track_group if dev/iif not specified".into(),
            );
            track_group = None;
        }
        let v6 = l.v6.unwrap_or(false);
        let priority = match priority {
            Some(p) => p,
            None => {
                let next = if v6 {
                    &mut self.next_rule_priority.1
                } else {
                    &mut self.next_rule_priority.0
                };
                let p = *next;
                *next = next.wrapping_sub(1);
                self.fixup(
                    st,
                    format!("Rule has no preference specified - setting to {p}. This is probably not what you want."),
                );
                p
            }
        };
        if let Some(o) = unsupported {
            self.line_not_supported(st, "rule", &o);
            return None;
        }
        let action = action?;
        Some(Rule {
            v6,
            from,
            to,
            tos,
            fwmark,
            iif,
            oif,
            priority,
            action,
            protocol: if no_track {
                protocol.unwrap_or(0)
            } else {
                RTPROT_KEEPALIVED
            },
            no_track,
            track_group,
            loc: vl.loc.clone(),
        })
    }
}
