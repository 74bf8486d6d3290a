//! The plan: what a configuration asks the VRRP worker to run, as data, and what a reload
//! changes. Pure: no kernel, no sockets, no clock.
//!
//! [`desired`] resolves every `vrrp_instance` into its spec (keyed by name) together with what
//! its behaviour depends on elsewhere in the configuration (global settings, the scripts, track
//! files, track processes and sync groups it refers to); [`diff`] compares two of them with the
//! specs' derived `PartialEq` (locations never count: they are carried in a type whose
//! equality ignores them) and says, per
//! instance, [`Change::Keep`], [`Change::Update`], [`Change::Restart`], [`Change::Add`] or
//! [`Change::Remove`]. The runtime applies that diff on a reload; the daemon uses it to tell an
//! unchanged VRRP configuration from a changed one.

use std::collections::BTreeMap;
use std::net::IpAddr;

use conf_parse::Config;
use vrrp_proto::{AuthConfig, Family, Vrid};

use crate::config::{self, AddrVmacSpec, InstanceSpec, VmacSpec};

/// What one configuration asks for: each `vrrp_instance` by name, and the settings shared by
/// all of them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Desired {
    /// Instance names in configuration order.
    order: Vec<String>,
    /// Each instance by name.
    instances: BTreeMap<String, Wanted>,
    /// What the runtime reads outside the instances.
    shared: Shared,
}

/// One `vrrp_instance` as the configuration wants it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Wanted {
    /// Its resolved settings, or why it cannot run (located).
    pub spec: Result<InstanceSpec, String>,
    /// What else its behaviour depends on.
    deps: Deps,
}

/// The parts of the configuration outside an instance that its behaviour depends on.
#[derive(Debug, Clone, PartialEq)]
struct Deps {
    global: conf_parse::GlobalDefs,
    scripts: Vec<conf_parse::VrrpScript>,
    files: Vec<conf_parse::TrackFile>,
    procs: Vec<conf_parse::TrackProcess>,
    groups: Vec<conf_parse::SyncGroup>,
    /// The tracked `bfd_instance`s (their weight is the default `track_bfd` weight).
    bfds: Vec<conf_parse::BfdInstance>,
}

/// What the runtime reads from a configuration besides the instances (a change here is a VRRP
/// change even when every instance is kept).
#[derive(Debug, Clone, Default, PartialEq)]
struct Shared {
    global: Option<conf_parse::GlobalDefs>,
    vrrp_scripts: Vec<conf_parse::VrrpScript>,
    track_files: Vec<conf_parse::TrackFile>,
    track_processes: Vec<conf_parse::TrackProcess>,
    sync_groups: Vec<conf_parse::SyncGroup>,
    garp_groups: Vec<conf_parse::GarpGroup>,
    static_ipaddress: Vec<conf_parse::IpAddress>,
    static_routes: Vec<conf_parse::Route>,
    static_rules: Vec<conf_parse::Rule>,
}

/// What a reload does to one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Unchanged: kept running untouched (state, VIPs, timers).
    Keep,
    /// Changed in place: state and VIPs kept, new settings applied.
    Update,
    /// Changed in what it is bound to (interface, VRID, family, source, multicast group,
    /// unicast, AH, VMACs), or its new configuration cannot run as it is: it leaves with
    /// priority 0 and starts again.
    Restart,
    /// New.
    Add,
    /// No longer configured: it leaves with priority 0.
    Remove,
}

/// What a reload changes: per instance (new configuration order, then the removed ones), and
/// whether the settings shared by all instances changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    /// Each instance of either configuration with its change.
    pub instances: Vec<(String, Change)>,
    /// Global settings, scripts, track files/processes, sync groups, GARP groups or static
    /// addresses/routes/rules changed.
    pub shared_changed: bool,
}

impl Diff {
    /// Nothing to do: every instance kept and the shared settings unchanged.
    pub fn is_noop(&self) -> bool {
        !self.shared_changed && self.instances.iter().all(|(_, c)| *c == Change::Keep)
    }

    /// The change planned for instance `name` (`None`: in neither configuration).
    pub fn change(&self, name: &str) -> Option<Change> {
        self.instances
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| *c)
    }
}

impl Desired {
    /// Instance names in configuration order.
    pub fn names(&self) -> &[String] {
        &self.order
    }

    /// The wanted state of instance `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&Wanted> {
        self.instances.get(name)
    }

    /// Who each instance that can run is on the wire (interface, VRID, address family), in
    /// configuration order: how keepalived names its D-Bus objects and SNMP rows.
    pub fn identities(&self) -> Vec<Identity> {
        self.order
            .iter()
            .filter_map(|n| match self.instances.get(n).map(|w| &w.spec) {
                Some(Ok(s)) => Some(Identity {
                    name: s.name.clone(),
                    ifname: s.ifname.clone(),
                    vrid: s.vrid.get(),
                    ipv6: s.family == Family::V6,
                }),
                _ => None,
            })
            .collect()
    }
}

/// An instance's name and what identifies it on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `vrrp_instance` name.
    pub name: String,
    /// The configured interface (not a VMAC).
    pub ifname: String,
    /// Virtual router id.
    pub vrid: u8,
    /// IPv6 instance.
    pub ipv6: bool,
}

/// The desired state of `config`: each `vrrp_instance` resolved (keyed by name) with what it
/// depends on, and the shared settings. The LVS sections do not count.
pub fn desired(config: &Config) -> Desired {
    let mut order = Vec::new();
    let mut instances = BTreeMap::new();
    for ci in &config.vrrp_instances {
        if instances.contains_key(&ci.name) {
            continue;
        }
        let spec = config::instance_spec(config, ci).map_err(|e| e.to_string());
        order.push(ci.name.clone());
        instances.insert(
            ci.name.clone(),
            Wanted {
                spec,
                deps: deps(config, ci),
            },
        );
    }
    Desired {
        order,
        instances,
        shared: Shared {
            global: Some(config.global.clone()),
            vrrp_scripts: config.vrrp_scripts.clone(),
            track_files: config.track_files.clone(),
            track_processes: config.track_processes.clone(),
            sync_groups: config.sync_groups.clone(),
            garp_groups: config.garp_groups.clone(),
            static_ipaddress: config.static_ipaddress.clone(),
            static_routes: config.static_routes.clone(),
            static_rules: config.static_rules.clone(),
        },
    }
}

/// The global settings, and the scripts, track files, track processes and sync groups `inst`
/// refers to (its own and its sync groups').
fn deps(cfg: &Config, inst: &conf_parse::VrrpInstance) -> Deps {
    let groups: Vec<conf_parse::SyncGroup> = cfg
        .sync_groups
        .iter()
        .filter(|g| g.group.contains(&inst.name))
        .cloned()
        .collect();
    let refs = |own: &[conf_parse::TrackRef],
                pick: fn(&conf_parse::SyncGroup) -> &[conf_parse::TrackRef]| {
        own.iter()
            .chain(groups.iter().flat_map(|g| pick(g).iter()))
            .map(|t| t.name.clone())
            .collect::<Vec<_>>()
    };
    let scripts = refs(&inst.track_script, |g| &g.track_script);
    let files = refs(&inst.track_file, |g| &g.track_file);
    let procs = refs(&inst.track_process, |g| &g.track_process);
    let bfds = refs(&inst.track_bfd, |g| &g.track_bfd);
    Deps {
        bfds: cfg
            .bfd_instances
            .iter()
            .filter(|b| bfds.contains(&b.name))
            .cloned()
            .collect(),
        global: cfg.global.clone(),
        scripts: cfg
            .vrrp_scripts
            .iter()
            .filter(|s| scripts.contains(&s.name))
            .cloned()
            .collect(),
        files: cfg
            .track_files
            .iter()
            .filter(|f| files.contains(&f.name))
            .cloned()
            .collect(),
        procs: cfg
            .track_processes
            .iter()
            .filter(|p| procs.contains(&p.name))
            .cloned()
            .collect(),
        groups,
    }
}

/// What an instance is bound to: a change here restarts it.
#[derive(PartialEq)]
struct Binding<'a> {
    ifname: &'a str,
    vrid: Vrid,
    family: Family,
    src: Option<IpAddr>,
    mcast_group: IpAddr,
    unicast: bool,
    ah: bool,
    vmac: &'a Option<VmacSpec>,
    addr_vmacs: &'a [AddrVmacSpec],
}

impl<'a> Binding<'a> {
    fn of(s: &'a InstanceSpec) -> Self {
        Binding {
            ifname: &s.ifname,
            vrid: s.vrid,
            family: s.family,
            src: s.src,
            mcast_group: s.mcast_group,
            unicast: !s.unicast_peers.is_empty(),
            ah: matches!(s.auth, AuthConfig::Ah(_)),
            vmac: &s.vmac,
            addr_vmacs: &s.addr_vmacs,
        }
    }
}

/// What going from `old` to `new` does to each instance (see [`Change`]).
pub fn diff(old: &Desired, new: &Desired) -> Diff {
    let mut instances = Vec::new();
    for name in &new.order {
        let Some(w) = new.instances.get(name) else {
            continue;
        };
        let change = match old.instances.get(name) {
            None => Change::Add,
            Some(o) if o == w => Change::Keep,
            Some(o) => match (&o.spec, &w.spec) {
                (Ok(a), Ok(b)) if Binding::of(a) == Binding::of(b) => Change::Update,
                _ => Change::Restart,
            },
        };
        instances.push((name.clone(), change));
    }
    for name in &old.order {
        if !new.instances.contains_key(name) {
            instances.push((name.clone(), Change::Remove));
        }
    }
    Diff {
        instances,
        shared_changed: old.shared != new.shared,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        let p = conf_parse::parse_str(text, "t.conf", &conf_parse::ParseOptions::default());
        assert!(!p.has_errors(), "{:?}", p.diagnostics);
        p.config
    }

    fn inst(name: &str, vrid: u8, extra: &str) -> String {
        format!(
            "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    \
             virtual_router_id {vrid}\n    priority 100\n{extra}    virtual_ipaddress {{\n        \
             10.0.0.{vrid}/24\n    }}\n}}\n"
        )
    }

    fn changes(a: &str, b: &str) -> Diff {
        diff(&desired(&parse(a)), &desired(&parse(b)))
    }

    // Proves comments, blank lines, moved lines and the LVS sections change nothing.
    #[test]
    fn same_configuration_is_a_noop() {
        let a = inst("VI_1", 1, "");
        let b = format!(
            "# comment\n\n{a}\nvirtual_server 10.0.0.100 80 {{\n    lb_algo rr\n    \
             lb_kind DR\n    protocol TCP\n    real_server 10.0.0.5 80 {{\n        weight 1\n    \
             }}\n}}\n"
        );
        let d = changes(&a, &b);
        assert!(d.is_noop(), "{d:?}");
        assert_eq!(d.change("VI_1"), Some(Change::Keep));
    }

    // Proves each kind of change: a new priority updates in place, a new VRID restarts, a new
    // name adds, a missing one removes, an untouched one is kept.
    #[test]
    fn each_change() {
        let a = format!(
            "{}{}{}",
            inst("KEEP", 1, ""),
            inst("UPD", 2, ""),
            inst("RST", 3, "")
        );
        let b = format!(
            "{}{}{}{}",
            inst("KEEP", 1, ""),
            inst("UPD", 2, "    advert_int 2\n"),
            inst("RST", 4, ""),
            inst("NEW", 5, "")
        );
        let d = changes(&format!("{a}{}", inst("GONE", 6, "")), &b);
        assert_eq!(
            d.instances,
            vec![
                ("KEEP".to_string(), Change::Keep),
                ("UPD".to_string(), Change::Update),
                ("RST".to_string(), Change::Restart),
                ("NEW".to_string(), Change::Add),
                ("GONE".to_string(), Change::Remove),
            ]
        );
        assert!(!d.shared_changed);
        assert!(!d.is_noop());
    }

    // Proves a changed script an instance tracks updates that instance only, and counts as a
    // shared change.
    #[test]
    fn tracked_script_change_updates_its_instance() {
        let script = |i: u32| {
            format!("vrrp_script chk {{\n    script \"/bin/true\"\n    interval {i}\n}}\n")
        };
        let a = format!(
            "{}{}{}",
            script(1),
            inst("T", 1, "    track_script {\n        chk\n    }\n"),
            inst("U", 2, "")
        );
        let b = a.replace("interval 1", "interval 2");
        let d = changes(&a, &b);
        assert_eq!(d.change("T"), Some(Change::Update));
        assert_eq!(d.change("U"), Some(Change::Keep));
        assert!(d.shared_changed);
    }

    // Proves a static route change alone is a VRRP change with every instance kept.
    #[test]
    fn static_change_is_shared() {
        let a = inst("VI_1", 1, "");
        let b = format!("static_routes {{\n    10.9.0.0/16 dev lo\n}}\n{a}");
        let d = changes(&a, &b);
        assert_eq!(d.change("VI_1"), Some(Change::Keep));
        assert!(d.shared_changed);
        assert!(!d.is_noop());
    }
}
