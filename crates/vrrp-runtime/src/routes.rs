//! conf-parse's typed routes, rules and scopes (`virtual_routes`, `static_routes`,
//! `virtual_rules`, `static_rules`, an address's `scope`) mapped to netplat's requests. Nothing
//! is parsed here: conf-parse read the lines as keepalived does and reported their errors.

use conf_parse::{Route, RouteType, Rule, RuleAction, Scope};
use netplat::{RouteKind, RouteSpec, RuleKind, RuleSpec};

use crate::located::Located;

/// One virtual route in kernel form; `dev` is resolved to an index when applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VirtualRoute {
    pub spec: RouteSpec,
    pub dev: Option<String>,
    /// `vrf NAME`: the table is that VRF device's, resolved when applied.
    pub vrf: Option<String>,
    /// `file:line` for messages.
    pub at: Located,
    /// Not `no_track` (and with a `dev`): keepalived reacts when someone deletes it.
    pub track: bool,
}

/// `file:line` of a configuration item.
pub(crate) fn at(loc: &conf_parse::Loc) -> Located {
    Located(format!("{}:{}", loc.0.file, loc.0.line))
}

/// netplat's scope for a configured one.
pub(crate) fn scope(s: Scope) -> netplat::Scope {
    match s {
        Scope::Global => netplat::Scope::Universe,
        Scope::Site => netplat::Scope::Site,
        Scope::Link => netplat::Scope::Link,
        Scope::Host => netplat::Scope::Host,
        Scope::Nowhere => netplat::Scope::Nowhere,
        Scope::Other(n) => netplat::Scope::Other(n),
    }
}

/// The request for a route (its `dev` left to resolve): keepalived's type, table, protocol
/// and scope (universe unless configured: not `ip route`'s choice).
pub(crate) fn route(r: &Route) -> VirtualRoute {
    let kind = match r.kind {
        RouteType::Unicast => RouteKind::Unicast,
        RouteType::Local => RouteKind::Local,
        RouteType::Blackhole => RouteKind::Blackhole,
        RouteType::Unreachable => RouteKind::Unreachable,
        RouteType::Prohibit => RouteKind::Prohibit,
        t => RouteKind::Other(t.number()),
    };
    let mut spec = RouteSpec::new(r.dst, r.prefix_len)
        .kind(kind)
        .protocol(r.protocol)
        .scope(scope(r.scope))
        .table(r.table);
    if let Some(s) = r.src {
        spec = spec.src(s);
    }
    if let Some(g) = r.via {
        spec = spec.via(g);
    }
    if let Some(m) = r.metric {
        spec = spec.metric(m);
    }
    VirtualRoute {
        spec,
        dev: r.dev.clone(),
        vrf: r.vrf.clone(),
        at: at(&r.loc),
        track: !r.no_track && r.dev.is_some(),
    }
}

/// The request for a rule, with its `file:line`.
pub(crate) fn rule(r: &Rule) -> (RuleSpec, Located) {
    let mut s = RuleSpec::new(r.v6)
        .tos(r.tos)
        .protocol(r.protocol)
        .priority(r.priority);
    if let Some((a, l)) = r.from {
        s = s.from(a, l);
    }
    if let Some((a, l)) = r.to {
        s = s.to(a, l);
    }
    if let Some((m, k)) = r.fwmark {
        s = s.fwmark(m, k);
    }
    if let Some(i) = &r.iif {
        s = s.iif(i.clone());
    }
    if let Some(o) = &r.oif {
        s = s.oif(o.clone());
    }
    s = match r.action {
        RuleAction::Table(t) => s.table(t),
        RuleAction::Goto(p) => s.kind(RuleKind::Goto(p)),
        RuleAction::Blackhole => s.kind(RuleKind::Blackhole),
        RuleAction::Unreachable => s.kind(RuleKind::Unreachable),
        RuleAction::Prohibit => s.kind(RuleKind::Prohibit),
    };
    (s, at(&r.loc))
}
