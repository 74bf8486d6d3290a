//! `virtual_rules` and `static_rules`: policy rules in keepalived's syntax (`ip rule`-like words):
//! `[from A[/L]] [to A[/L]] [table|lookup N] [priority|preference N] [tos|dsfield N]
//! [fwmark N[/M]] [iif IF] [oif IF] [goto N] [blackhole|prohibit|unreachable] [protocol N]
//! [no_track]`; protocol 18 (keepalived) by default. The family comes from the addresses (IPv4
//! without any). Like keepalived 2.2.7, `ip rule`'s other spellings (`pref`, `iifname`,
//! `oifname`) are refused.

use std::net::IpAddr;

use netplat::{RuleKind, RuleSpec};

use crate::routes::RTPROT_KEEPALIVED;

fn num<T: std::str::FromStr>(what: &str, w: Option<&String>) -> Result<T, String> {
    crate::routes::parse_num(what, w)
}

fn prefix(w: &str) -> Result<(IpAddr, u8), String> {
    crate::routes::parse_prefix(w, "all")
}

/// Parses the words of one rule line.
pub(crate) fn parse(words: &[String]) -> Result<RuleSpec, String> {
    let mut it = words.iter();
    let (mut from, mut to) = (None, None);
    let mut tos = 0u8;
    let mut fwmark = None;
    let (mut iif, mut oif) = (None, None);
    let mut priority = None;
    let mut table = None;
    let mut kind = None;
    let mut proto = RTPROT_KEEPALIVED;
    while let Some(w) = it.next() {
        match w.as_str() {
            "from" => from = Some(prefix(it.next().ok_or("'from' needs an address")?)?),
            "to" => to = Some(prefix(it.next().ok_or("'to' needs an address")?)?),
            "table" | "lookup" => table = Some(num::<u32>(w, it.next())?),
            "priority" | "preference" => priority = Some(num::<u32>(w, it.next())?),
            "tos" | "dsfield" => tos = num::<u8>(w, it.next())?,
            "fwmark" => {
                let v = it.next().ok_or("'fwmark' needs a value")?;
                let (m, k) = match v.split_once('/') {
                    Some((m, k)) => (m.to_string(), Some(k.to_string())),
                    None => (v.clone(), None),
                };
                let mark = num::<u32>("fwmark", Some(&m))?;
                let mask = k.map(|k| num::<u32>("fwmark mask", Some(&k))).transpose()?;
                fwmark = Some((mark, mask));
            }
            "iif" => iif = Some(it.next().ok_or("'iif' needs an interface")?.clone()),
            "oif" => oif = Some(it.next().ok_or("'oif' needs an interface")?.clone()),
            "goto" => kind = Some(RuleKind::Goto(num::<u32>("goto", it.next())?)),
            "blackhole" => kind = Some(RuleKind::Blackhole),
            "prohibit" => kind = Some(RuleKind::Prohibit),
            "unreachable" => kind = Some(RuleKind::Unreachable),
            "protocol" | "proto" => proto = num::<u8>(w, it.next())?,
            "no_track" => {}
            other => return Err(format!("unknown or unsupported rule keyword '{other}'")),
        }
    }
    let v6 = match (from, to) {
        (Some((a, _)), Some((b, _))) if a.is_ipv6() != b.is_ipv6() => {
            return Err(format!("from {a} and to {b} are not of the same family"))
        }
        (Some((a, _)), _) | (_, Some((a, _))) => a.is_ipv6(),
        _ => false,
    };
    if table.is_some() && kind.is_some() {
        return Err("a rule has either a table or another action, not both".into());
    }
    let mut r = RuleSpec::new(v6).tos(tos).protocol(proto);
    if let Some((a, l)) = from {
        r = r.from(a, l);
    }
    if let Some((a, l)) = to {
        r = r.to(a, l);
    }
    if let Some((m, k)) = fwmark {
        r = r.fwmark(m, k);
    }
    if let Some(i) = iif {
        r = r.iif(i);
    }
    if let Some(o) = oif {
        r = r.oif(o);
    }
    if let Some(p) = priority {
        r = r.priority(p);
    }
    match (table, kind) {
        (Some(t), _) => r = r.table(t),
        (None, Some(k)) => r = r.kind(k),
        (None, None) => return Err("a rule needs a table (or goto/blackhole/...)".into()),
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    // Proves keepalived's rule words: prefixes, table/lookup, priority aliases, fwmark/mask in
    // decimal and hex, interfaces, actions, protocol 18 by default, the family from the
    // addresses, and errors for what does not make a rule.
    #[test]
    fn rule_words() {
        let r = parse(&w("from 10.0.0.100 table 100 priority 200")).unwrap();
        assert_eq!(r.from, Some(("10.0.0.100".parse().unwrap(), 32)));
        assert_eq!(
            (r.table, r.priority, r.protocol, r.v6),
            (100, Some(200), 18, false)
        );
        let r = parse(&w(
            "to 192.0.2.0/24 lookup 7 preference 9 fwmark 0x10/0xff iif eth0 oif eth1",
        ))
        .unwrap();
        assert_eq!(r.fwmark, Some((16, Some(255))));
        assert_eq!(
            (r.iif.as_deref(), r.oif.as_deref()),
            (Some("eth0"), Some("eth1"))
        );
        let r = parse(&w("from 2001:db8::/64 blackhole")).unwrap();
        assert!(r.v6);
        assert_eq!(r.kind, RuleKind::Blackhole);
        assert_eq!(
            parse(&w("fwmark 3 goto 500")).unwrap().kind,
            RuleKind::Goto(500)
        );
        assert!(parse(&w("from 10.0.0.1")).is_err());
        assert!(parse(&w("from 10.0.0.1 to 2001:db8::1 table 5")).is_err());
        assert!(parse(&w("from 10.0.0.1 table 5 realms 3"))
            .unwrap_err()
            .contains("realms"));
        assert!(parse(&w("from 10.0.0.1/33 table 5")).is_err());
        for refused in ["pref 9", "iifname eth0", "oifname eth0"] {
            assert!(parse(&w(&format!("from 10.0.0.1 table 5 {refused}"))).is_err());
        }
    }
}
