//! The cross-block VRRP checks done at the end of parsing.

use super::Builder;
use crate::diag::{Code, ConfigErr, Diagnostic, Severity};
use crate::model::*;

impl Builder {
    /// Cross-block checks keepalived does at the end of parsing.
    pub(super) fn validate(&mut self, c: &Config) {
        let mut seen = std::collections::HashSet::new();
        for v in &c.vrrp_instances {
            if !seen.insert(v.name.as_str()) {
                self.emit(Diagnostic::new(
                    Severity::Warning,
                    Code::InvalidValue,
                    ConfigErr::GeneralError,
                    &v.loc.0,
                    format!("vrrp instance {} already defined", v.name),
                ));
            }
            // keepalived corrects these and runs: warnings here (the daemon starts), exit 5 at -t
            let general = |msg: String| {
                Diagnostic::new(
                    Severity::Warning,
                    Code::Semantic,
                    ConfigErr::GeneralError,
                    &v.loc.0,
                    msg,
                )
            };
            // keepalived's chk_min_cfg: an instance needs an interface unless it is unicast
            if v.virtual_router_id.is_some()
                && v.interface.is_none()
                && v.unicast_src_ip.is_none()
                && v.unicast_peer.is_empty()
            {
                self.emit(general(format!("({}) Unknown interface!", v.name)));
            }
            let version = v.effective_version(c.global.vrrp_version);
            let strict = v.strict_mode.unwrap_or(c.global.vrrp_strict);
            if v.authentication.is_some() && (strict || version == 3) {
                let why = if strict {
                    "Strict mode"
                } else {
                    "VRRP version 3"
                };
                self.emit(general(format!(
                    "({}) {why} does not support authentication. Ignoring.",
                    v.name
                )));
            }
            // keepalived 2.4.3 (vrrp_complete_instance): nopreempt is cleared for an owner and
            // for initial state MASTER, and timer_expired_backup needs it.
            let nopreempt = !v.preempt && v.priority != 255 && v.state != VrrpState::Master;
            if v.timer_expired_backup.is_some() && !nopreempt {
                self.emit(general(format!(
                    "({}) expired_timer_backup requires nopreempt - resetting",
                    v.name
                )));
            }
            if v.owner_ignore_adverts == Some(true) && v.priority != 255 {
                self.emit(general(format!(
                    "({}) ignoring owner_ignore_adverts since priority is not 255",
                    v.name
                )));
            }
            // keepalived 2.4.3 (vrrp_complete_instance) forces it on for an owner whatever
            // the mode, with this message.
            if v.owner_ignore_adverts == Some(false) && v.priority == 255 {
                self.emit(general(format!(
                    "({}) strict_mode with priority 255 requires owner_ignore_adverts",
                    v.name
                )));
            }
            if v.no_virtual_ipaddress && strict {
                let mut d = general(format!(
                    "({}) no_virtual_ipaddress and strict mode incompatible, clearing no_virtual_ipaddress",
                    v.name
                ));
                d.severity = Severity::Warning;
                d.class = ConfigErr::Warning;
                self.emit(d);
            }
            if v.virtual_ipaddress.is_empty() && (strict || !v.no_virtual_ipaddress) {
                let d = if version == 3 || strict {
                    // keepalived's vrrp_complete_instance fails: the VRRP process exits with
                    // CONFIG and keepalived stops (an error here: the daemon does not start).
                    let mut d = general(format!(
                        "({}) No VIP specified; at least one is required",
                        v.name
                    ));
                    d.severity = Severity::Error;
                    d
                } else {
                    let mut d = general(format!(
                        "({}) No VIP specified; at least one is sensible",
                        v.name
                    ));
                    d.severity = Severity::Warning;
                    d.class = ConfigErr::Warning;
                    d
                };
                self.emit(d);
            }
            if v.state == VrrpState::Master && !v.preempt {
                self.emit(general(format!(
                    "({}) Warning - nopreempt will not work with initial state MASTER - clearing",
                    v.name
                )));
            }
            if v.authentication
                .as_ref()
                .is_some_and(|a| a.auth_pass.is_empty())
            {
                self.emit(general(format!(
                    "({}) Authentication specified but no password given. Ignoring",
                    v.name
                )));
            }
            if v.use_vmac.is_some()
                && !v.unicast_peer.is_empty()
                && !v.vmac_xmit_base
                && v.interface.is_some()
            {
                self.emit(general(format!(
                    "({}) unicast with use_vmac requires vmac_xmit_base - setting",
                    v.name
                )));
            }
            for t in &v.track_bfd {
                if !self.bfd_names.contains(&t.name) {
                    self.emit(general(format!(
                        "({}) track bfd {} not found, ignoring...",
                        v.name, t.name
                    )));
                }
            }
            if v.unicast_src_ip.is_some() && v.unicast_peer.is_empty() {
                self.emit(general(format!(
                    "({}) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration.",
                    v.name
                )));
            }
            if strict && v.state == VrrpState::Master && v.priority != 255 {
                self.emit(general(format!(
                    "({}) State MASTER must match being address owner",
                    v.name
                )));
            }
            if !v.preempt && !v.preempt_delay.is_zero() {
                self.emit(general(format!(
                    "({}) preempt_delay is incompatible with nopreempt mode - resetting",
                    v.name
                )));
            }
            if v.state == VrrpState::Master && !v.preempt_delay.is_zero() {
                self.emit(general(format!(
                    "({}) Warning - preempt delay will not work with initial state MASTER - clearing",
                    v.name
                )));
            }
            for t in &v.track_process {
                if !c.track_processes.iter().any(|s| s.name == t.name) {
                    let d = Diagnostic::new(
                        Severity::Warning,
                        Code::InvalidValue,
                        ConfigErr::GeneralError,
                        &t.loc.0,
                        format!(
                            "({}) track process {} not found, ignoring...",
                            v.name, t.name
                        ),
                    );
                    self.emit(d);
                }
            }
        }
        // keepalived: two instances with one VRID, family and interface
        for (i, a) in c.vrrp_instances.iter().enumerate() {
            for b in &c.vrrp_instances[i + 1..] {
                let fam = |v: &VrrpInstance| {
                    v.virtual_ipaddress
                        .first()
                        .is_some_and(|x| x.addr.is_ipv6())
                };
                if a.virtual_router_id.is_some()
                    && a.virtual_router_id == b.virtual_router_id
                    && a.interface.is_some()
                    && a.interface == b.interface
                    && fam(a) == fam(b)
                    && a.name != b.name
                {
                    self.emit(Diagnostic::new(
                        Severity::Warning,
                        Code::Semantic,
                        ConfigErr::GeneralError,
                        &b.loc.0,
                        format!(
                            "{} and {} both use VRID {} with {} on interface {}",
                            a.name,
                            b.name,
                            a.virtual_router_id.unwrap_or_default(),
                            if fam(a) { "IPv6" } else { "IPv4" },
                            a.interface.as_deref().unwrap_or_default()
                        ),
                    ));
                }
            }
        }
        let mut in_group = std::collections::HashSet::new();
        for g in &c.sync_groups {
            // keepalived corrects these and runs: warnings here (the daemon starts), exit 5 at -t
            let general = |msg: String| {
                Diagnostic::new(
                    Severity::Warning,
                    Code::Semantic,
                    ConfigErr::GeneralError,
                    &g.loc.0,
                    msg,
                )
            };
            if g.group.is_empty() {
                self.emit(general(format!(
                    "Sync group {} has no virtual router(s). removing",
                    g.name
                )));
                continue;
            }
            let mut found = 0;
            for m in &g.group {
                if !in_group.insert(m.as_str()) {
                    self.emit(general(format!(
                        "Virtual router {m} cannot exist in more than one sync group; ignoring {}",
                        g.name
                    )));
                } else if c.vrrp_instances.iter().any(|v| &v.name == m) {
                    found += 1;
                } else {
                    self.emit(general(format!(
                        "Virtual router {m} specified in sync group {} doesn't exist - ignoring",
                        g.name
                    )));
                }
            }
            if found == 0 {
                self.emit(general(format!(
                    "Sync group {}, no matching virtual router found in group declaration - removing",
                    g.name
                )));
            } else if found == 1 {
                self.emit(general(format!(
                    "Sync group {} has only 1 virtual router(s) - this probably isn't what you want",
                    g.name
                )));
            }
        }
        for v in &c.vrrp_instances {
            if v.virtual_router_id.is_none() {
                let d = Diagnostic::new(
                    Severity::Error,
                    Code::Semantic,
                    ConfigErr::GeneralError,
                    &v.loc.0,
                    format!("({}) the virtual router id must be set", v.name),
                )
                .with_hint("add `virtual_router_id N` (1-255), the same on all peers");
                self.emit(d);
            } else if v.interface.is_none() {
                self.no_interface(v);
            } else if v.vrf.is_some() {
                // keepalived vrrp_complete_instance: `vrf` given before `interface`
                self.emit(Diagnostic::new(
                    Severity::Warning,
                    Code::Semantic,
                    ConfigErr::GeneralError,
                    &v.loc.0,
                    format!(
                        "({}) vrf can only be specified without interface - clearing",
                        v.name
                    ),
                ));
            }
            for t in &v.track_script {
                if !c.vrrp_scripts.iter().any(|s| s.name == t.name) {
                    let d = Diagnostic::new(
                        Severity::Warning,
                        Code::Semantic,
                        ConfigErr::GeneralError,
                        &t.loc.0,
                        format!("({}) track_script {} not found, ignoring", v.name, t.name),
                    );
                    self.emit(d);
                }
            }
            for t in &v.track_file {
                if !c.track_files.iter().any(|s| s.name == t.name) {
                    let d = Diagnostic::new(
                        Severity::Warning,
                        Code::Semantic,
                        ConfigErr::GeneralError,
                        &t.loc.0,
                        format!("({}) track_file {} not found, ignoring", v.name, t.name),
                    );
                    self.emit(d);
                }
            }
        }
    }
}

impl Builder {
    /// A `vrrp_instance` without `interface` (keepalived `chk_min_cfg`, run before the
    /// instance is completed). keepalived 2.2.7 refuses every one ("Unknown interface!": the
    /// VRRP process stops with a configuration error and the daemon terminates), since it
    /// looks for unicast peers only later; 2.4.3 (`--compat 2.4.3`) refuses one without a
    /// unicast keyword or without `unicast_src_ip`, and runs the others from `unicast_src_ip`
    /// (its sockets bound to the `vrf` device, if given), dropping the VIPs without `dev`.
    fn no_interface(&mut self, v: &VrrpInstance) {
        use crate::keywords::Release;
        let err = |msg: String, hint: &str| {
            Diagnostic::new(
                Severity::Error,
                Code::Semantic,
                ConfigErr::GeneralError,
                &v.loc.0,
                msg,
            )
            .with_hint(hint)
        };
        let hint =
            "give the instance an `interface` (with `vrf`: an interface enslaved to the VRF)";
        let unicast = !v.unicast_peer.is_empty()
            || v.unicast_fault_no_peer
            || v.check_unicast_src
            || v.old_unicast_checksum.is_some();
        // keepalived vrrp_end_handler (2.2.7 and 2.4.3), at the end of the block
        if unicast && (v.use_vmac.is_some() || v.use_ipvlan.is_some()) {
            self.emit(err(
                format!(
                    "({}): Cannot use VMAC/ipvlan with unicast and no interface - clearing use_vmac",
                    v.name
                ),
                hint,
            ));
        }
        if !unicast || self.compat.is_none_or(|c| c < Release::V2_4_0) {
            self.emit(err(format!("({}) Unknown interface!", v.name), hint));
        } else if v.unicast_src_ip.is_none() {
            self.emit(err(
                format!(
                    "({}): Unicast instances must have unicast_src_ip or interface",
                    v.name
                ),
                hint,
            ));
        } else {
            for a in v
                .virtual_ipaddress
                .iter()
                .chain(&v.virtual_ipaddress_excluded)
                .filter(|a| a.dev.is_none())
            {
                self.emit(
                    Diagnostic::new(
                        Severity::Warning,
                        Code::Semantic,
                        ConfigErr::GeneralError,
                        &a.loc.0,
                        format!(
                            "({}): no interface for {}vip {}/{} - removing",
                            v.name,
                            if v.virtual_ipaddress_excluded.contains(a) {
                                "e"
                            } else {
                                ""
                            },
                            a.addr,
                            a.prefix_len
                        ),
                    )
                    .with_hint("without `interface`, each address needs its `dev`"),
                );
            }
        }
    }
}
