//! Policy routing rules: add, delete (`ip rule`).

use std::net::IpAddr;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::{
    route::RouteProtocol,
    rule::{RuleAction, RuleAttribute, RuleMessage},
    AddressFamily, RouteNetlinkMessage,
};

use crate::{Error, Result, Rtnl};

/// What a rule does when it matches (`FR_ACT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RuleKind {
    /// Look the route up in the rule's table.
    #[default]
    Table,
    /// Continue at the rule with this priority.
    Goto(u32),
    /// Silently drop.
    Blackhole,
    /// Drop with ICMP unreachable.
    Unreachable,
    /// Drop with ICMP prohibited.
    Prohibit,
}

/// A rule to add or delete: `ip rule add [from A/L] [to A/L] [tos T] [fwmark M[/K]] [iif I]
/// [oif O] [priority P] (table T | goto P | blackhole | unreachable | prohibit)`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuleSpec {
    /// IPv6 rule (else IPv4).
    pub v6: bool,
    /// `from` prefix.
    pub from: Option<(IpAddr, u8)>,
    /// `to` prefix.
    pub to: Option<(IpAddr, u8)>,
    /// `tos`.
    pub tos: u8,
    /// `fwmark` value and mask.
    pub fwmark: Option<(u32, Option<u32>)>,
    /// `iif`.
    pub iif: Option<String>,
    /// `oif`.
    pub oif: Option<String>,
    /// `priority` (kernel assigns one when absent).
    pub priority: Option<u32>,
    /// Table for [`RuleKind::Table`].
    pub table: u32,
    /// Action.
    pub kind: RuleKind,
    /// `RTPROT_*` protocol (keepalived uses 18).
    pub protocol: u8,
}

impl RuleSpec {
    /// A rule of the given family looking up the main table, protocol static.
    pub fn new(v6: bool) -> Self {
        RuleSpec {
            v6,
            from: None,
            to: None,
            tos: 0,
            fwmark: None,
            iif: None,
            oif: None,
            priority: None,
            table: crate::RT_TABLE_MAIN,
            kind: RuleKind::Table,
            protocol: 4,
        }
    }
    /// Sets `from`.
    pub fn from(mut self, a: IpAddr, len: u8) -> Self {
        self.from = Some((a, len));
        self
    }
    /// Sets `to`.
    pub fn to(mut self, a: IpAddr, len: u8) -> Self {
        self.to = Some((a, len));
        self
    }
    /// Sets `tos`.
    pub fn tos(mut self, t: u8) -> Self {
        self.tos = t;
        self
    }
    /// Sets `fwmark`.
    pub fn fwmark(mut self, mark: u32, mask: Option<u32>) -> Self {
        self.fwmark = Some((mark, mask));
        self
    }
    /// Sets `iif`.
    pub fn iif(mut self, name: impl Into<String>) -> Self {
        self.iif = Some(name.into());
        self
    }
    /// Sets `oif`.
    pub fn oif(mut self, name: impl Into<String>) -> Self {
        self.oif = Some(name.into());
        self
    }
    /// Sets `priority`.
    pub fn priority(mut self, p: u32) -> Self {
        self.priority = Some(p);
        self
    }
    /// Sets the table (and the action to a table lookup).
    pub fn table(mut self, t: u32) -> Self {
        self.table = t;
        self.kind = RuleKind::Table;
        self
    }
    /// Sets the action.
    pub fn kind(mut self, k: RuleKind) -> Self {
        self.kind = k;
        self
    }
    /// Sets the protocol number.
    pub fn protocol(mut self, p: u8) -> Self {
        self.protocol = p;
        self
    }

    fn validate(&self) -> Result<()> {
        let max = if self.v6 { 128 } else { 32 };
        for (a, len) in [self.from, self.to].into_iter().flatten() {
            if a.is_ipv6() != self.v6 {
                return Err(Error::Invalid(format!(
                    "{a} is not of the rule's family ({})",
                    if self.v6 { "inet6" } else { "inet" }
                )));
            }
            if len > max {
                return Err(Error::Invalid(format!(
                    "prefix length {len} > {max} for {a}"
                )));
            }
        }
        for n in [&self.iif, &self.oif].into_iter().flatten() {
            crate::link::check_ifname(n)?;
        }
        Ok(())
    }

    fn to_message(&self) -> RuleMessage {
        let mut m = RuleMessage::default();
        m.header.family = if self.v6 {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        m.header.tos = self.tos;
        m.header.action = match self.kind {
            RuleKind::Table => RuleAction::ToTable,
            RuleKind::Goto(_) => RuleAction::Goto,
            RuleKind::Blackhole => RuleAction::Blackhole,
            RuleKind::Unreachable => RuleAction::Unreachable,
            RuleKind::Prohibit => RuleAction::Prohibit,
        };
        if let Some((a, len)) = self.from {
            m.header.src_len = len;
            m.attributes.push(RuleAttribute::Source(a));
        }
        if let Some((a, len)) = self.to {
            m.header.dst_len = len;
            m.attributes.push(RuleAttribute::Destination(a));
        }
        if let Some((mark, mask)) = self.fwmark {
            m.attributes.push(RuleAttribute::FwMark(mark));
            if let Some(k) = mask {
                m.attributes.push(RuleAttribute::FwMask(k));
            }
        }
        if let Some(i) = &self.iif {
            m.attributes.push(RuleAttribute::Iifname(i.clone()));
        }
        if let Some(o) = &self.oif {
            m.attributes.push(RuleAttribute::Oifname(o.clone()));
        }
        if let Some(p) = self.priority {
            m.attributes.push(RuleAttribute::Priority(p));
        }
        match self.kind {
            RuleKind::Table => {
                m.header.table = if self.table < 256 {
                    self.table as u8
                } else {
                    0
                };
                m.attributes.push(RuleAttribute::Table(self.table));
            }
            RuleKind::Goto(p) => m.attributes.push(RuleAttribute::Goto(p)),
            _ => {}
        }
        m.attributes
            .push(RuleAttribute::Protocol(RouteProtocol::from(self.protocol)));
        m
    }

    fn describe(&self, verb: &str) -> String {
        let mut s = format!("{verb} rule");
        if let Some((a, l)) = self.from {
            s.push_str(&format!(" from {a}/{l}"));
        }
        if let Some((a, l)) = self.to {
            s.push_str(&format!(" to {a}/{l}"));
        }
        if let Some(p) = self.priority {
            s.push_str(&format!(" priority {p}"));
        }
        match self.kind {
            RuleKind::Table => s.push_str(&format!(" table {}", self.table)),
            k => s.push_str(&format!(" {k:?}")),
        }
        s
    }
}

impl Rtnl {
    /// Adds a rule (`ip rule add`); an identical rule already there is `EEXIST`.
    pub fn add_rule(&mut self, spec: &RuleSpec) -> Result<()> {
        spec.validate()?;
        self.ack(
            RouteNetlinkMessage::NewRule(spec.to_message()),
            NLM_F_CREATE | NLM_F_EXCL,
            &spec.describe("add"),
        )
    }

    /// Deletes the first rule matching `spec`; `ENOENT` when none does.
    pub fn del_rule(&mut self, spec: &RuleSpec) -> Result<()> {
        spec.validate()?;
        self.ack(
            RouteNetlinkMessage::DelRule(spec.to_message()),
            0,
            &spec.describe("delete"),
        )
    }
}
