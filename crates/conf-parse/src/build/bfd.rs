//! Top-level blocks no runtime reads yet: `bfd_instance`, `track_group`,
//! `linkbeat_interfaces`, `interface_up_down_delays`, typed with keepalived's checks
//! (`bfd_parser.c`, `vrrp_parser.c`).

use std::net::IpAddr;
use std::time::Duration;

use super::values::parse_decimal_us;
use super::{block, span, values, Builder};
use crate::diag::{Code, ConfigErr, Diagnostic, Severity};
use crate::model::*;

/// keepalived's `read_decimal_unsigned_strvec(.., 3)` on milliseconds: microseconds.
fn millis_us(s: &str) -> Option<u64> {
    let frac = s.split_once('.').map_or(0, |(_, f)| f.len());
    if frac > 3 {
        return None;
    }
    parse_decimal_us(s).map(|v| v / 1000)
}

impl Builder {
    /// A BFD interval in milliseconds (up to 3 decimals) in [min_ms, u32::MAX/1000] ms.
    fn bfd_ms(&mut self, st: &Stmt, name: &str, what: &str, min_ms: u64) -> Option<Duration> {
        let max_ms = u64::from(u32::MAX) / 1000;
        let s = self.arg(st, 0)?.to_string();
        match millis_us(&s) {
            Some(us) if us >= min_ms * 1000 && us <= max_ms * 1000 => {
                Some(Duration::from_micros(us))
            }
            _ => {
                self.invalid(
                    st,
                    format!("Configuration error: BFD instance {name} {what} value {s} is not valid (must be in range [{min_ms}-{max_ms}]), ignoring"),
                    Some("milliseconds, up to 3 decimals"),
                );
                None
            }
        }
    }

    pub(super) fn bfd_instance(&mut self, st: &Stmt, seen: &[BfdInstance]) -> Option<BfdInstance> {
        let name = self.name(st)?;
        if name.len() >= 32 {
            self.invalid(st, format!("Configuration error: BFD instance {name} name too long (maximum length is 31 characters) - ignoring"), None);
            return None;
        }
        if seen.iter().any(|b| b.name == name) {
            self.invalid(
                st,
                format!("Configuration error: BFD instance {name} already configured - ignoring"),
                None,
            );
            return None;
        }
        let mut b = BfdInstance::new(&name);
        b.loc = st.loc.clone();
        let mut neighbor_word = "neighbor";
        for k in block(st) {
            match k.keyword.as_ref() {
                "neighbor_ip" | "neighbour_ip" => {
                    if k.keyword == "neighbour_ip" {
                        neighbor_word = "neighbour";
                    }
                    let s = self.arg(k, 0).unwrap_or("").to_string();
                    match s.parse::<IpAddr>() {
                        Ok(a) => b.neighbor_ip = Some(a),
                        Err(_) => {
                            self.invalid(k, format!("Configuration error: BFD instance {name} has malformed {neighbor_word} address {s}, ignoring instance"), None);
                            return None;
                        }
                    }
                }
                "source_ip" => {
                    let s = self.arg(k, 0).unwrap_or("").to_string();
                    match s.parse::<IpAddr>() {
                        Ok(a) => b.source_ip = Some(a),
                        Err(_) => self.invalid(k, format!("Configuration error: BFD instance {name} has malformed source address {s}, ignoring"), None),
                    }
                }
                "min_rx" => b.min_rx = self.bfd_ms(k, &name, "min_rx", 1).unwrap_or(b.min_rx),
                "min_tx" => b.min_tx = self.bfd_ms(k, &name, "min_tx", 1).unwrap_or(b.min_tx),
                "idle_tx" => {
                    b.idle_tx = self.bfd_ms(k, &name, "idle_tx", 1000).unwrap_or(b.idle_tx)
                }
                "multiplier" => {
                    if let Some(v) = self.uint(k, 0, 1, 255) {
                        b.multiplier = v as u8;
                    }
                }
                "passive" => b.passive = true,
                "ttl" | "hoplimit" => {
                    if let Some(v) = self.uint(k, 0, 1, 255) {
                        b.ttl = Some(v as u8);
                    }
                }
                "max_hops" => {
                    if let Some(v) = self.int(k, 0, -1, 255) {
                        b.max_hops = v as i16;
                    }
                }
                "multihop" => {
                    let arg = k.args.first().cloned().unwrap_or_default();
                    let msg = format!(
                        "Configuration error: BFD instance {name} multihop setting not valid - {arg}"
                    );
                    if let Some(v) = self.true_false(k, &msg) {
                        b.multihop = v;
                    }
                }
                "weight" => {
                    if let Some(v) = self.int(k, 0, -253, 253) {
                        b.weight = v as i32;
                    }
                    match k.args.get(1).map(String::as_str) {
                        None => {}
                        Some("reverse") => b.weight_reverse = true,
                        Some(o) => {
                            let o = o.to_string();
                            self.invalid(k, format!("Configuration error: BFD instance {name} unknown weight option {o}"), Some("`weight W [reverse]`"));
                        }
                    }
                }
                "vrrp" => b.vrrp = true,
                "checker" => b.checker = true,
                _ => {}
            }
        }
        let end_err = |bd: &mut Builder, msg: String| {
            let d = Diagnostic::new(
                Severity::Error,
                Code::Semantic,
                ConfigErr::GeneralError,
                &st.loc.0,
                msg,
            );
            bd.emit(d);
        };
        let Some(nbr) = b.neighbor_ip else {
            end_err(self, format!("Configuration error: BFD instance {name} has no {neighbor_word} address set, disabling instance"));
            return None;
        };
        if b.source_ip.is_some_and(|s| s.is_ipv4() != nbr.is_ipv4()) {
            end_err(self, format!("Configuration error: BFD instance {name} source address and {neighbor_word} address {nbr} are not of the same family, disabling instance"));
            return None;
        }
        if seen.iter().any(|o| {
            o.neighbor_ip == Some(nbr) && o.source_ip == b.source_ip && o.multihop == b.multihop
        }) {
            end_err(self, format!("Configuration error: BFD instance {name} has duplicate {neighbor_word} address {nbr}, ignoring instance"));
            return None;
        }
        let ttl = b.ttl.unwrap_or(if nbr.is_ipv4() { 255 } else { 64 });
        // keepalived stores max_hops in a u8: -1 is 255 ("no TTL check"), which exceeds any
        // ttl below 255 (IPv6's default 64 among them) and is then cut to the ttl.
        if b.max_hops < 0 {
            b.max_hops = 255;
        }
        if b.max_hops > i16::from(ttl) {
            end_err(
                self,
                format!(
                    "BFD instance {name}: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit"
                ),
            );
            b.max_hops = i16::from(ttl);
        }
        Some(b)
    }

    /// `track_group NAME` on a `static_routes`/`static_rules` line (keepalived `alloc_route`,
    /// `alloc_rule`): a second one is a duplicate (`false`: keepalived stops reading the line
    /// there), an unknown one is reported and not kept.
    pub(super) fn static_track_group(
        &mut self,
        st: &Stmt,
        g: &str,
        slot: &mut Option<String>,
    ) -> bool {
        if slot.is_some() {
            self.fixup(st, format!("track_group {g} is a duplicate"));
            return false;
        }
        if self.track_group_names.contains(g) {
            *slot = Some(g.to_string());
        } else {
            self.fixup(st, format!("track_group {g} not found"));
        }
        true
    }

    pub(super) fn track_group(&mut self, st: &Stmt, seen: &[TrackGroup]) -> Option<TrackGroup> {
        if st.args.len() != 1 {
            self.invalid(
                st,
                "track_group must have a name - skipping".into(),
                Some("write `track_group NAME {`"),
            );
            return None;
        }
        let name = st.args[0].clone();
        if seen.iter().any(|g| g.name == name) {
            self.invalid(st, format!("track_group {name} already defined"), None);
            return None;
        }
        let mut g = TrackGroup {
            name,
            group: Vec::new(),
            loc: st.loc.clone(),
        };
        let mut had_group = false;
        for b in block(st) {
            if b.keyword == "group" {
                if had_group {
                    self.invalid(
                        b,
                        format!("Group list already specified for sync group {}", g.name),
                        None,
                    );
                    break;
                }
                had_group = true;
                for vl in values(b) {
                    g.group.extend(vl.words.iter().cloned());
                }
                if g.group.is_empty() {
                    self.invalid(
                        b,
                        format!("Warning - track group {} has empty group block", g.name),
                        None,
                    );
                }
            }
        }
        Some(g)
    }

    pub(super) fn linkbeat_interfaces(&mut self, st: &Stmt, out: &mut Vec<LinkbeatInterface>) {
        for vl in values(st) {
            let Some(name) = vl.words.first() else {
                continue;
            };
            let kind = match vl.words.get(1).map(String::as_str) {
                None => None,
                Some("MII") => Some(LinkbeatType::Mii),
                Some("ETHTOOL") => Some(LinkbeatType::Ethtool),
                Some("IOCTL") => Some(LinkbeatType::Ioctl),
                Some(_) => None,
            };
            if vl.words.len() > 2 || (vl.words.len() == 2 && kind.is_none()) {
                let d = Diagnostic::new(
                    Severity::Error,
                    Code::InvalidValue,
                    ConfigErr::GeneralError,
                    &vl.loc.0,
                    format!("extra characters {} in linkbeat interface", vl.words[1]),
                )
                .with_hint("IFNAME [MII|ETHTOOL|IOCTL]");
                self.emit(d);
            }
            out.push(LinkbeatInterface {
                name: name.clone(),
                kind,
                loc: vl.loc.clone(),
            });
        }
        let _ = span(st);
    }

    /// keepalived's `alloc_if_up_down_delay`: bad numbers are errors (read_timer's), and
    /// the entry is skipped.
    pub(super) fn interface_up_down_delays(&mut self, st: &Stmt, out: &mut Vec<IfUpDownDelay>) {
        for vl in values(st) {
            let Some(name) = vl.words.first() else {
                continue;
            };
            if vl.words.len() < 2 {
                continue;
            }
            let tmp = Stmt {
                keyword: "interface_up_down_delays".into(),
                args: vl.words[1..].to_vec(),
                body: Body::None,
                loc: vl.loc.clone(),
                end_line: Default::default(),
            };
            let Some(down) = self.dur(&tmp, 0, 0, 255_000_000) else {
                continue;
            };
            let up = if vl.words.len() == 2 {
                Duration::ZERO
            } else {
                match self.dur(&tmp, 1, 0, 255_000_000) {
                    Some(u) => u,
                    None => continue,
                }
            };
            out.push(IfUpDownDelay {
                name: name.clone(),
                down,
                up,
                loc: vl.loc.clone(),
            });
        }
    }
}
