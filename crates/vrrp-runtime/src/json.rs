//! keepalived's JSON dump (`keepalived.json`, written on SIGJSON): the per-instance `data` and
//! `stats` objects of keepalived 2.4.3's `vrrp_json.c`, and the two layouts `json_version`
//! chooses (1: a bare array of instances; 2: `{"vrrp": [...], "track_process": [...]}`).
//!
//! The configuration side is resolved here as the runtime resolves it (keepalived's defaults
//! and global fallbacks, [`crate::config`]); what only the running instance knows comes from
//! [`InstanceStatus`] and the caller ([`Runtime`]).

use std::collections::BTreeMap;

use conf_parse::{Config, IpAddress, Scope};
use serde_json::{json, Map, Value};

use crate::config::{instance_spec, script_policy, InstanceSpec};
use crate::status::InstanceStatus;
use crate::State;

/// What the caller knows of one running instance beyond [`InstanceStatus`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Runtime {
    /// Seconds since the epoch of its last state change (0: none yet).
    pub last_transition: f64,
    /// Times it became master.
    pub become_master: u64,
    /// Times it left the master state.
    pub release_master: u64,
}

/// A float as keepalived's `jsonw_float_field` (`%g`) prints it: integral values without a
/// fraction.
pub(crate) fn float(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        json!(f as i64)
    } else {
        json!(f)
    }
}

/// keepalived's state numbers (`VRRP_STATE_*`).
fn state_number(s: State) -> u32 {
    match s {
        State::Initialize => 0,
        State::Backup => 1,
        State::Master => 2,
        State::Fault => 3,
    }
}

/// keepalived's `cmd_str`: each word in single quotes (a `'` as `'\''`), but a leading `<`/`>`
/// word (a file test) as it is.
pub fn cmd_str(argv: &[String]) -> String {
    argv.iter()
        .enumerate()
        .map(|(i, a)| {
            if i == 0 && (a.starts_with('<') || a.starts_with('>')) {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn scope_name(s: Scope) -> String {
    match s {
        Scope::Global => "global".into(),
        Scope::Site => "site".into(),
        Scope::Link => "link".into(),
        Scope::Host => "host".into(),
        Scope::Nowhere => "nowhere".into(),
        Scope::Other(n) => n.to_string(),
    }
}

/// keepalived's `format_ipaddress` for a VIP of an instance whose interface is `ifp` (with a
/// VMAC: `base` is the interface under it); `set`: installed.
fn format_ipaddress(a: &IpAddress, ifp: &str, base: Option<&str>, set: bool) -> String {
    let full = if a.addr.is_ipv6() { 128 } else { 32 };
    let mut s = a.addr.to_string();
    if a.prefix_len != full {
        s.push_str(&format!("/{}", a.prefix_len));
    }
    if let Some(b) = a.brd.filter(|_| a.addr.is_ipv4()) {
        if !b.is_unspecified() {
            s.push_str(&format!(" brd {b}"));
        }
    }
    match &a.dev {
        Some(d) => s.push_str(&format!(" dev {d}")),
        None => {
            s.push_str(&format!(" dev {ifp}"));
            if let Some(b) = base {
                s.push_str(&format!("@{b}"));
            }
        }
    }
    if a.use_vmac {
        s.push_str(" use_vmac");
    }
    s.push_str(&format!(
        " scope {}",
        scope_name(a.scope.unwrap_or_default())
    ));
    if let Some(l) = &a.label {
        s.push_str(&format!(" label {l}"));
    }
    if let Some((p, len)) = &a.peer {
        s.push_str(&format!(" peer {p}/{}", len.unwrap_or(a.prefix_len)));
    }
    if a.flags.home {
        s.push_str(" home");
    }
    if a.addr.is_ipv6() && !a.flags.dad {
        s.push_str(" -nodad");
    }
    if a.flags.mngtmpaddr {
        s.push_str(" mngtmpaddr");
    }
    if a.flags.noprefixroute {
        s.push_str(" noprefixroute");
    }
    if a.flags.autojoin {
        s.push_str(" autojoin");
    }
    if a.no_track {
        s.push_str(" no_track");
    }
    if let Some(g) = &a.track_group {
        s.push_str(&format!(" track_group {g}"));
    }
    if a.addr.is_ipv6() {
        match a.preferred_lft {
            Some(0) => s.push_str(" deprecated"),
            None | Some(u32::MAX) => s.push_str(" preferred_lft forever"),
            Some(n) => s.push_str(&format!(" preferred_lft {n}")),
        }
    }
    if set {
        s.push_str(" set");
    }
    s
}

/// keepalived's `ipaddresstos`: the address, with `/LEN` unless a host prefix.
fn addr_len(a: &std::net::IpAddr, len: u8) -> String {
    let full = if a.is_ipv6() { 128 } else { 32 };
    if len == full {
        a.to_string()
    } else {
        format!("{a}/{len}")
    }
}

/// keepalived 2.4.3's `format_iproute` for what a `virtual_routes` line can hold here (the
/// options not supported yet leave the line out of the model). keepalived puts a route
/// without `add`/`append` first ("prepend"), shows `scope` and (for a `no_track` route)
/// `proto` only when given, and a tracked route's protocol always. A `vrf` route shows the
/// table given, not the VRF's (resolved only when the route is installed).
pub(crate) fn format_iproute(r: &conf_parse::Route) -> String {
    let mut s = String::from("prepend ");
    if r.kind != conf_parse::RouteType::Unicast {
        s.push_str(&format!("{} ", r.kind));
    }
    s.push_str(&addr_len(&r.dst, r.prefix_len));
    if let Some(p) = r.src {
        s.push_str(&format!(" src {p}"));
    }
    if let Some(v) = r.via {
        let fam = if v.is_ipv6() { "inet6" } else { "inet" };
        s.push_str(&format!(" via {fam} {v}"));
    }
    if let Some(d) = &r.dev {
        s.push_str(&format!(" dev {d}"));
    }
    if r.table != 254 {
        s.push_str(&format!(" table {}", r.table));
    }
    if !r.no_track || r.protocol_given {
        s.push_str(&format!(" proto {}", r.protocol));
    }
    if r.scope_given {
        s.push_str(&format!(" scope {}", r.scope.number()));
    }
    if let Some(m) = r.metric {
        s.push_str(&format!(" metric {m}"));
    }
    if r.no_track {
        s.push_str(" no_track");
    }
    if let Some(g) = &r.track_group {
        s.push_str(&format!(" track_group {g}"));
    }
    s
}

/// keepalived 2.4.3's `format_iprule`: a rule's preference always shows (keepalived gives
/// one when none is configured), its `tos` always, its protocol when tracked or given.
pub(crate) fn format_iprule(r: &conf_parse::Rule) -> String {
    let mut s = String::new();
    if r.from.is_none() && r.to.is_none() && r.v6 {
        s.push_str("inet6 ");
    }
    match &r.from {
        Some((a, l)) => s.push_str(&format!("from {}", addr_len(a, *l))),
        None => s.push_str("from all"),
    }
    if let Some((a, l)) = &r.to {
        s.push_str(&format!(" to {}", addr_len(a, *l)));
    }
    s.push_str(&format!(" priority {}", r.priority));
    s.push_str(&format!(" tos 0x{:x}", r.tos));
    if let Some((m, k)) = r.fwmark {
        s.push_str(&format!(" fwmark 0x{m:x}"));
        if let Some(k) = k.filter(|k| *k != u32::MAX) {
            s.push_str(&format!("/0x{k:x}"));
        }
    }
    if let Some(i) = &r.iif {
        s.push_str(&format!(" iif {i}"));
    }
    if let Some(o) = &r.oif {
        s.push_str(&format!(" oif {o}"));
    }
    if !r.no_track || r.protocol != 0 {
        s.push_str(&format!(" protocol {}", r.protocol));
    }
    match r.action {
        conf_parse::RuleAction::Table(t) => s.push_str(&format!(" lookup {t}")),
        conf_parse::RuleAction::Goto(g) => s.push_str(&format!(" goto {g}")),
        conf_parse::RuleAction::Blackhole => s.push_str(" type blackhole"),
        conf_parse::RuleAction::Unreachable => s.push_str(" type unreachable"),
        conf_parse::RuleAction::Prohibit => s.push_str(" type prohibit"),
    }
    if r.no_track {
        s.push_str(" no_track");
    }
    if let Some(g) = &r.track_group {
        s.push_str(&format!(" track_group {g}"));
    }
    s
}

fn data(
    cfg: &Config,
    spec: &InstanceSpec,
    inst: &conf_parse::VrrpInstance,
    st: Option<&InstanceStatus>,
    rt: Runtime,
) -> Value {
    let g = &cfg.global;
    let policy = script_policy(g);
    let state = st.map(|s| s.state).unwrap_or(State::Initialize);
    let master = state == State::Master;
    let vmac = spec.vmac.as_ref().map(|v| v.name.clone());
    let ifp = vmac.clone().unwrap_or_else(|| spec.ifname.clone());
    let base = vmac.as_ref().map(|_| spec.ifname.as_str());
    let strict = inst.strict_mode.unwrap_or(g.vrrp_strict);
    let secs = |d: Option<std::time::Duration>| d.map(|d| d.as_secs_f64()).unwrap_or(0.0);
    let adver_int = spec.interval.to_duration().as_secs_f64();
    let mut m = Map::new();
    m.insert("iname".into(), json!(spec.name));
    m.insert(
        "dont_track_primary".into(),
        json!(u32::from(spec.dont_track_primary)),
    );
    m.insert(
        "skip_check_adv_addr".into(),
        json!(u32::from(spec.skip_check_adv_addr)),
    );
    m.insert("strict_mode".into(), json!(u32::from(strict)));
    m.insert(
        "vmac_ifname".into(),
        json!(vmac.clone().unwrap_or_default()),
    );
    m.insert("ifp_ifname".into(), json!(ifp));
    m.insert(
        "master_priority".into(),
        json!(st
            .and_then(|s| s.last_advert_from)
            .map(|(_, p)| p)
            .unwrap_or(0)),
    );
    // keepalived prints it with "%f" (microseconds).
    m.insert(
        "last_transition".into(),
        json!((rt.last_transition * 1e6).round() / 1e6),
    );
    m.insert("garp_delay".into(), float(secs(spec.garp.master_delay)));
    m.insert(
        "garp_refresh".into(),
        json!(spec.garp.master_refresh.map(|d| d.as_secs()).unwrap_or(0)),
    );
    m.insert("garp_rep".into(), json!(spec.garp.master_repeat));
    m.insert(
        "garp_refresh_rep".into(),
        json!(spec.garp.master_refresh_repeat),
    );
    m.insert(
        "garp_lower_prio_delay".into(),
        json!(spec.garp.lower_prio_delay.map(|d| d.as_secs()).unwrap_or(0)),
    );
    m.insert(
        "garp_lower_prio_rep".into(),
        json!(spec.garp.lower_prio_repeat),
    );
    m.insert(
        "lower_prio_no_advert".into(),
        json!(u32::from(spec.lower_prio_no_advert)),
    );
    m.insert(
        "higher_prio_send_advert".into(),
        json!(u32::from(spec.higher_prio_send_advert)),
    );
    m.insert("vrid".into(), json!(spec.vrid.get()));
    m.insert("base_priority".into(), json!(spec.priority.get()));
    m.insert(
        "effective_priority".into(),
        json!(st.map(|s| s.priority).unwrap_or(spec.priority.get())),
    );
    m.insert("vipset".into(), json!(master));
    m.insert(
        "promote_secondaries".into(),
        json!(inst.promote_secondaries),
    );
    m.insert("adver_int".into(), float(adver_int));
    m.insert("master_adver_int".into(), float(adver_int));
    m.insert("accept".into(), json!(u32::from(spec.accept)));
    m.insert("nopreempt".into(), json!(!spec.preempt));
    m.insert(
        "preempt_delay".into(),
        json!(spec.preempt_delay.map(|d| d.as_secs()).unwrap_or(0)),
    );
    m.insert("state".into(), json!(state_number(state)));
    m.insert("wantstate".into(), json!(state_number(state)));
    m.insert(
        "version".into(),
        json!(match spec.version {
            vrrp_proto::Version::V2 => 2,
            vrrp_proto::Version::V3 => 3,
        }),
    );
    let smtp = inst
        .smtp_alert
        .or(g.smtp_alert_vrrp)
        .or(g.smtp_alert)
        .unwrap_or(false);
    m.insert("smtp_alert".into(), json!(smtp));
    m.insert("notify_deleted".into(), json!(spec.notify.notify_deleted));
    // Scripts keepalived kept (those it disabled are gone), as its cmd_str prints them.
    let script = |s: &Option<conf_parse::Script>| -> Option<String> {
        let s = s.as_ref()?;
        let own = s.user.as_deref().map(|u| (u, s.group.as_deref()));
        policy
            .prepare(&s.command, own)
            .ok()
            .map(|p| cmd_str(&p.argv))
    };
    let n = &spec.notify;
    for (k, s) in [
        ("script_backup", &n.backup),
        ("script_master", &n.master),
        ("script_fault", &n.fault),
        ("script_stop", &n.stop),
        ("script_deleted", &n.deleted),
        ("script", &n.generic),
        ("script_master_rx_lower_pri", &n.master_rx_lower_pri),
    ] {
        if let Some(c) = script(s) {
            m.insert(k.into(), json!(c));
        }
    }
    let arr = |m: &mut Map<String, Value>, k: &str, v: Vec<String>| {
        if !v.is_empty() {
            m.insert(k.into(), json!(v));
        }
    };
    arr(
        &mut m,
        "vips",
        spec.vips
            .iter()
            .map(|a| format_ipaddress(a, &ifp, base, master))
            .collect(),
    );
    arr(
        &mut m,
        "evips",
        spec.excluded
            .iter()
            .map(|a| format_ipaddress(a, &ifp, base, master))
            .collect(),
    );
    arr(
        &mut m,
        "vroutes",
        inst.virtual_routes.iter().map(format_iproute).collect(),
    );
    arr(
        &mut m,
        "vrules",
        inst.virtual_rules.iter().map(format_iprule).collect(),
    );
    arr(
        &mut m,
        "track_ifp",
        spec.track_interfaces
            .iter()
            .map(|t| t.name.clone())
            .collect(),
    );
    arr(
        &mut m,
        "track_script",
        spec.track_scripts
            .iter()
            .filter_map(|t| {
                let vs = cfg.vrrp_scripts.iter().find(|s| s.name == t.name)?;
                let own = vs.user.as_ref().map(|(u, g)| (u.as_str(), g.as_deref()));
                policy
                    .prepare(&vs.script, own)
                    .ok()
                    .map(|p| cmd_str(&p.argv))
            })
            .collect(),
    );
    arr(
        &mut m,
        "track_process",
        spec.track_processes
            .iter()
            .map(|t| t.name.clone())
            .collect(),
    );
    let auth_type = match inst.authentication.as_ref().map(|a| a.auth_type) {
        Some(conf_parse::AuthType::Pass) => 1,
        Some(conf_parse::AuthType::Ah) => 2,
        _ => 0,
    };
    m.insert("auth_type".into(), json!(auth_type));
    if auth_type != 0 {
        m.insert("auth_data".into(), json!("********"));
    }
    Value::Object(m)
}

fn stats(st: Option<&InstanceStatus>, rt: Runtime) -> Value {
    let d = InstanceStatus::new(State::Initialize, 0);
    let s = st.unwrap_or(&d);
    let r = |k: &str| s.rx.rejected.get(k).copied().unwrap_or(0);
    let a = &s.auth_ext;
    json!({
        "advert_rcvd": s.rx.advert_rcvd,
        "advert_sent": s.adverts_sent,
        "become_master": rt.become_master,
        "release_master": rt.release_master,
        "packet_len_err": r("packet_len_err"),
        "advert_interval_err": r("adver_int_err"),
        "ip_ttl_err": r("ip_ttl_err"),
        "invalid_type_rcvd": r("invalid_type_rcvd"),
        "addr_list_err": r("addr_list_err") + s.rx.addr_list_err,
        "invalid_authtype": r("invalid_authtype"),
        "authtype_mismatch": r("authtype_mismatch"),
        "auth_failure": r("auth_failure"),
        "auth_ext_missing": a.missing,
        "auth_ext_malformed": a.malformed,
        "auth_ext_unknown_key": a.unknown_key,
        "auth_ext_invalid_hmac": a.invalid_hmac,
        "auth_ext_stale": a.stale,
        "auth_ext_replay": a.replay,
        "pri_zero_rcvd": s.rx.pri_zero_rcvd,
        "pri_zero_sent": s.pri_zero_sent,
    })
}

/// keepalived's `vrrp_json_vprocess_dump` for the `vrrp_track_process` definitions, with
/// the processes counted now.
fn track_processes(cfg: &Config) -> Vec<Value> {
    let matchers: Vec<crate::procs::Matcher> = cfg
        .track_processes
        .iter()
        .map(crate::procs::Matcher::new)
        .collect();
    let counts = crate::procs::scan(&matchers);
    cfg.track_processes
        .iter()
        .zip(&matchers)
        .zip(counts)
        .map(|((t, m), n)| {
            let w = if t.weight_reverse {
                -t.weight
            } else {
                t.weight
            };
            m.json(w, n)
        })
        .collect()
}

/// The value keepalived writes to `keepalived.json` for `cfg` (`None`: no instance, no file):
/// `json_version 2` wraps the instances in `{"vrrp": [...]}` and adds `track_process` (the
/// `vrrp_track_process` definitions) when there are any; otherwise the bare array.
/// `runtime` gives what the caller knows per instance name.
pub fn keepalived_json(
    cfg: &Config,
    statuses: &BTreeMap<String, InstanceStatus>,
    runtime: &BTreeMap<String, Runtime>,
) -> Option<Value> {
    let mut list = Vec::new();
    for inst in &cfg.vrrp_instances {
        let Ok(spec) = instance_spec(cfg, inst) else {
            continue;
        };
        let st = statuses.get(&inst.name);
        let rt = runtime.get(&inst.name).copied().unwrap_or_default();
        list.push(json!({
            "data": data(cfg, &spec, inst, st, rt),
            "stats": stats(st, rt),
        }));
    }
    if list.is_empty() {
        return None;
    }
    if cfg.global.json_version == Some(2) {
        let mut m = Map::new();
        m.insert("vrrp".into(), Value::Array(list));
        let tp = track_processes(cfg);
        if !tp.is_empty() {
            m.insert("track_process".into(), Value::Array(tp));
        }
        Some(Value::Object(m))
    } else {
        Some(Value::Array(list))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves keepalived's quoting of script words.
    #[test]
    fn cmd_str_quotes_as_keepalived() {
        let v = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(cmd_str(&v(&["/a/b", "x y"])), "'/a/b' 'x y'");
        assert_eq!(cmd_str(&v(&["/a", "it's"])), "'/a' 'it'\\''s'");
        assert_eq!(cmd_str(&v(&["</etc/x"])), "</etc/x");
    }
}
