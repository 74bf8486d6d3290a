//! Statement tree → typed [`Config`], with keepalived's value checks and defaults.

use crate::diag::{Code, ConfigErr, Diagnostic, Loc, Severity, Span};
use crate::model::*;

mod auth_hmac;
mod bfd;
mod check;
mod global;
mod global_checks;
mod global_typed;
mod lvs;
mod routes;
pub(crate) use routes::strtoul_all;
mod values;
mod vrrp;
mod vrrp_checks;
mod vrrp_track;

pub(crate) struct Builder {
    pub diags: Vec<Diagnostic>,
    /// Recognized keywords kept as plain statements (see `Parsed::untyped`).
    pub untyped: Vec<Loc>,
    /// Diagnostics about `virtual_server group NAME` that keepalived gives only when the group
    /// exists: emitted by [`Builder::finish`].
    pending_group_vs: Vec<(String, Diagnostic)>,
    /// Names of the track files and BFD instances defined so far (keepalived resolves a
    /// FILE_CHECK's `track_file` and a BFD_CHECK's `name` while parsing).
    track_file_names: std::collections::HashSet<String>,
    bfd_names: std::collections::HashSet<String>,
    /// The `track_group` blocks read so far (a static route or rule names one defined above).
    track_group_names: std::collections::HashSet<String>,
    /// keepalived's preferences for rules given none (IPv4, IPv6): counted down from 16384.
    next_rule_priority: (u32, u32),
    /// `--compat LEVEL` (None: the union of 2.2.7 and 2.4.3, with 2.2.7's verdicts).
    pub compat: Option<crate::keywords::Release>,
}

fn values(st: &Stmt) -> &[ValueLine] {
    match &st.body {
        Body::Values(v) => v,
        _ => &[],
    }
}

fn block(st: &Stmt) -> &[Stmt] {
    match &st.body {
        Body::Block(v) => v,
        _ => &[],
    }
}

fn is_checker(st: &Stmt) -> bool {
    matches!(
        st.keyword.as_ref(),
        "HTTP_GET"
            | "SSL_GET"
            | "TCP_CHECK"
            | "MISC_CHECK"
            | "SMTP_CHECK"
            | "DNS_CHECK"
            | "UDP_CHECK"
            | "PING_CHECK"
            | "FILE_CHECK"
            | "BFD_CHECK"
    )
}

fn span(st: &Stmt) -> &Span {
    &st.loc.0
}

/// Check mode (`keepalived -t`): drop, after each top-level statement, every part of the
/// model that neither [`Builder::finish`] nor [`crate::system_checks`] reads, so memory
/// stays bounded by what those checks need. The pattern is exhaustive on purpose: a new
/// `Config` field must be classed here as kept (read by a check) or dropped.
pub(crate) fn keep_checked(c: &mut Config) {
    let Config {
        // read: finish_instances (vrrp_version), system checks (enable_script_security)
        global,
        // read: validate (track_script), system checks (scripts exist, security)
        vrrp_scripts: _,
        // read: validate (track_file)
        track_files: _,
        track_processes,
        // read: finish_instances, validate, system checks
        vrrp_instances: _,
        sync_groups,
        garp_groups,
        // read: system checks (dev)
        static_ipaddress: _,
        static_routes,
        static_rules,
        ssl,
        virtual_server_groups,
        virtual_servers,
        // read: duplicate names and neighbors of later blocks (small, fixed-size entries)
        bfd_instances: _,
        track_groups: _,
        linkbeat_interfaces,
        interface_up_down_delays,
        extra,
        // read: system checks (script security)
        unbalanced_from: _,
    } = c;
    *interface_up_down_delays = Vec::new();
    // linkbeat_interfaces: read by system checks (interfaces exist)
    let _ = linkbeat_interfaces;
    // track processes and sync groups: read by validate (names only; small)
    let _ = (track_processes, sync_groups);
    // garp groups: their interfaces are read by system checks (interfaces exist)
    for g in garp_groups.iter_mut() {
        g.garp_interval = None;
        g.gna_interval = None;
    }
    // static_routes: read by system checks (dev)
    let _ = static_routes;
    *static_rules = Vec::new();
    *ssl = None;
    // group names only: read by finish (`virtual_server group NAME` checks)
    for g in virtual_server_groups.iter_mut() {
        g.entries = Vec::new();
    }
    // Only the scripts of virtual servers are read (checker script security): keep the
    // servers that have one, with nothing else.
    virtual_servers.retain_mut(|vs| {
        for rs in &mut vs.real_servers {
            rs.checkers
                .retain(|c| matches!(c.kind, CheckerKind::Misc(_)));
            rs.checkers.shrink_to_fit();
        }
        vs.real_servers.retain(|rs| {
            !rs.checkers.is_empty() || rs.notify_up.is_some() || rs.notify_down.is_some()
        });
        vs.real_servers.shrink_to_fit();
        !vs.real_servers.is_empty() || vs.quorum_up.is_some() || vs.quorum_down.is_some()
    });
    virtual_servers.shrink_to_fit();
    *extra = Vec::new();
    global.extra = Vec::new();
    global.notification_email = Vec::new();
}

impl Builder {
    pub fn new() -> Builder {
        // A new configuration: its iproute_*_dir keywords apply from where they stand.
        routes::reset_iproute_dirs();
        Builder {
            diags: Vec::new(),
            untyped: Vec::new(),
            pending_group_vs: Vec::new(),
            track_file_names: Default::default(),
            bfd_names: Default::default(),
            track_group_names: Default::default(),
            next_rule_priority: (16384, 16384),
            compat: None,
        }
    }

    fn err(&mut self, code: Code, class: ConfigErr, sp: &Span, msg: String) -> Diagnostic {
        Diagnostic::new(Severity::Error, code, class, sp, msg)
    }

    fn emit(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// A recognized keyword kept as a plain statement, not typed: recorded for the registry's
    /// consistency test (the note the operator sees comes from the registry, in the tree).
    fn not_supported(&mut self, st: &Stmt, _ctx: &str) {
        self.untyped.push(st.loc.clone());
    }

    /// Add one top-level statement to the model.
    pub fn add_root(&mut self, c: &mut Config, st: &Stmt) {
        match st.keyword.as_ref() {
            "global_defs" => {
                let body = block(st);
                self.global_defs(&mut c.global, body);
            }
            "vrrp_script" => {
                if let Some(s) = self.vrrp_script(st) {
                    c.vrrp_scripts.push(s);
                }
            }
            "track_file" | "vrrp_track_file" => {
                if let Some(s) = self.track_file(st) {
                    self.track_file_names.insert(s.name.clone());
                    c.track_files.push(s);
                }
            }
            "vrrp_track_process" => {
                if let Some(s) = self.track_process(st) {
                    c.track_processes.push(s);
                }
            }
            "vrrp_instance" => {
                if let Some(v) = self.vrrp_instance(st) {
                    c.vrrp_instances.push(v);
                }
            }
            "vrrp_sync_group" => {
                if let Some(g) = self.sync_group(st) {
                    c.sync_groups.push(g);
                }
            }
            "garp_group" => c.garp_groups.push(self.garp_group(st)),
            "static_ipaddress" => {
                for vl in values(st) {
                    if let Some(mut a) = self.ip_address(vl, st) {
                        // keepalived alloc_ipaddress: the group must be defined above.
                        if let Some(g) = a.track_group.clone() {
                            if !c.track_groups.iter().any(|t| t.name == g) {
                                let tmp = Self::line_stmt(st, vl);
                                // keepalived reports it and runs without the tracking.
                                self.fixup(&tmp, format!("track_group {g} not found"));
                                a.track_group = None;
                            }
                        }
                        c.static_ipaddress.push(a);
                    }
                }
            }
            "static_routes" => {
                for vl in values(st) {
                    if let Some(r) = self.route(st, vl, true) {
                        c.static_routes.push(r);
                    }
                }
            }
            "static_rules" => {
                for vl in values(st) {
                    if let Some(r) = self.rule(st, vl, true) {
                        c.static_rules.push(r);
                    }
                }
            }
            "SSL" => c.ssl = Some(self.ssl(st)),
            "virtual_server_group" => {
                if let Some(g) = self.vsg(st) {
                    c.virtual_server_groups.push(g);
                }
            }
            "virtual_server" => {
                if let Some(v) = self.virtual_server(st) {
                    c.virtual_servers.push(v);
                }
            }
            "bfd_instance" => {
                if let Some(b) = self.bfd_instance(st, &c.bfd_instances) {
                    self.bfd_names.insert(b.name.clone());
                    c.bfd_instances.push(b);
                }
            }
            "track_group" => {
                if let Some(g) = self.track_group(st, &c.track_groups) {
                    self.track_group_names.insert(g.name.clone());
                    c.track_groups.push(g);
                }
            }
            "linkbeat_interfaces" => self.linkbeat_interfaces(st, &mut c.linkbeat_interfaces),
            "interface_up_down_delays" => {
                self.interface_up_down_delays(st, &mut c.interface_up_down_delays)
            }
            _ => {
                if !self.root_global(&mut c.global, st) {
                    self.not_supported(st, "the configuration");
                    c.extra.push(st.clone());
                }
            }
        }
    }

    /// End-of-parse fix-ups and cross checks.
    pub fn finish(&mut self, c: &mut Config) {
        c.virtual_servers.shrink_to_fit();
        c.vrrp_instances.shrink_to_fit();
        self.finish_instances(c);
        self.validate(c);
        for (g, d) in std::mem::take(&mut self.pending_group_vs) {
            if c.virtual_server_groups.iter().any(|x| x.name == g) {
                self.emit(d);
            }
        }
    }
}
