//! `keepalived -t` checks that need the running system, and the `-t` exit code.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::diag::{Code, ConfigErr, Diagnostic, Loc, Severity, Span};
use crate::model::{CheckerKind, Config};
use crate::Parsed;

/// Interfaces present on this system (`/sys/class/net`).
pub fn system_interfaces() -> HashSet<String> {
    let mut out = HashSet::new();
    if let Ok(rd) = std::fs::read_dir("/sys/class/net") {
        for e in rd.flatten() {
            out.insert(e.file_name().to_string_lossy().into_owned());
        }
    }
    out
}

/// The interface a macvlan/ipvlan `name` sits on (its single `lower_*` device in sysfs, for a
/// device without a DEVTYPE: not a vlan, bridge or bond), else `name` itself.
fn base_interface(name: &str) -> String {
    let dir = Path::new("/sys/class/net").join(name);
    let typed = std::fs::read_to_string(dir.join("uevent"))
        .map(|u| u.lines().any(|l| l.starts_with("DEVTYPE=")))
        .unwrap_or(true);
    let lowers: Vec<String> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_prefix("lower_"))
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    match lowers.as_slice() {
        [one] if !typed => one.clone(),
        _ => name.to_string(),
    }
}

/// keepalived `check_vrrp_conflicts`: two multicast instances with one VRID and family on
/// interfaces over one base interface (macvlans of it) are an error, unless
/// `dynamic_interfaces allow_if_changes` (a macvlan's type can change: keepalived then holds
/// one of them in FAULT at run time). Instances on the same interface are checked with the
/// configuration (`vrrp_checks`).
fn vrid_on_one_base(config: &Config, ifaces: &HashSet<String>, out: &mut Vec<Diagnostic>) {
    if config.global.allow_if_changes {
        return;
    }
    let fam = |v: &crate::model::VrrpInstance| {
        v.virtual_ipaddress
            .first()
            .is_some_and(|x| x.addr.is_ipv6())
    };
    let insts: Vec<(&crate::model::VrrpInstance, String)> = config
        .vrrp_instances
        .iter()
        .filter(|v| v.unicast_peer.is_empty() && v.virtual_router_id.is_some())
        .filter_map(|v| {
            let i = v.interface.as_ref()?;
            ifaces.contains(i).then(|| (v, base_interface(i)))
        })
        .collect();
    for (n, (a, ba)) in insts.iter().enumerate() {
        for (b, bb) in &insts[n + 1..] {
            if a.interface != b.interface
                && ba == bb
                && a.virtual_router_id == b.virtual_router_id
                && fam(a) == fam(b)
            {
                out.push(Diagnostic::new(
                    Severity::Error,
                    Code::Semantic,
                    ConfigErr::GeneralError,
                    &b.loc.0,
                    format!(
                        "{} and {} both use VRID {} with {} on interface {ba}",
                        a.name,
                        b.name,
                        a.virtual_router_id.unwrap_or_default(),
                        if fam(a) { "IPv6" } else { "IPv4" },
                    ),
                ));
            }
        }
    }
}

/// Checks `keepalived -t` makes against the system: named interfaces exist, tracked
/// scripts exist and are executable, script security. Mirrors keepalived 2.2.7: if an
/// interface is missing it stops there (the VRRP process exits before checking scripts).
pub fn system_checks(config: &Config) -> Vec<Diagnostic> {
    system_checks_with(config, &system_interfaces(), &|p| is_executable(p))
}

/// [`system_checks`] with an explicit interface list and executable test (for tests).
pub fn system_checks_with(
    config: &Config,
    ifaces: &HashSet<String>,
    executable: &dyn Fn(&Path) -> bool,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let missing = |name: &str| !ifaces.contains(name);
    let mut any_missing = false;
    let report = |out: &mut Vec<Diagnostic>, span: &Span, msg: String, hint: String| {
        out.push(
            Diagnostic::new(
                Severity::Error,
                Code::InterfaceMissing,
                ConfigErr::GeneralError,
                span,
                msg,
            )
            .with_hint(hint),
        );
    };
    let known: Vec<&String> = {
        let mut v: Vec<&String> = ifaces.iter().collect();
        v.sort();
        v
    };
    let hint = |name: &str| {
        let best = known
            .iter()
            .map(|k| (crate::keywords::distance(name, k), *k))
            .min();
        match best {
            Some((d, k)) if d <= 2 => {
                format!("did you mean `{k}`? interfaces here: {}", join(&known))
            }
            _ => format!("interfaces here: {}", join(&known)),
        }
    };
    for v in &config.vrrp_instances {
        if let Some(i) = &v.interface {
            if !missing(i) && is_loopback(i) {
                out.push(
                    Diagnostic::new(
                        Severity::Error,
                        Code::InvalidValue,
                        ConfigErr::GeneralError,
                        &v.interface_loc.0,
                        format!(
                            "({}) cannot use a loopback interface ({i}) for vrrp - ignoring",
                            v.name
                        ),
                    )
                    .with_hint("VRRP adverts need a real interface"),
                );
            }
            // dynamic_interfaces: keepalived only logs "will use if created" (the instance
            // starts in FAULT), not an error
            if missing(i) && !config.global.dynamic_interfaces {
                any_missing = true;
                report(
                    &mut out,
                    &v.interface_loc.0,
                    format!("interface {i} for vrrp_instance {} doesn't exist", v.name),
                    hint(i),
                );
            }
        }
        for a in v
            .virtual_ipaddress
            .iter()
            .chain(&v.virtual_ipaddress_excluded)
        {
            if let Some(d) = &a.dev {
                if missing(d) {
                    any_missing = true;
                    report(
                        &mut out,
                        &a.loc.0,
                        format!(
                            "interface {d} for ip address {}/{} doesn't exist",
                            a.addr, a.prefix_len
                        ),
                        hint(d),
                    );
                }
            }
        }
        for t in &v.track_interface {
            if missing(&t.name) {
                any_missing = true;
                report(
                    &mut out,
                    &t.loc.0,
                    format!("({}) tracked interface {} doesn't exist", v.name, t.name),
                    hint(&t.name),
                );
            }
        }
        if let Some(f) = &v.vrf {
            // keepalived's vrrp_vrf_handler: a general error, not a missing interface
            let msg = if missing(f) {
                Some(format!(
                    "({}) WARNING - VRF interface {f} doesn't exist",
                    v.name
                ))
            } else if is_loopback(f) {
                Some(format!(
                    "({}) cannot use a loopback interface ({f}) for VRF - ignoring",
                    v.name
                ))
            } else {
                None
            };
            if let Some(m) = msg {
                out.push(
                    Diagnostic::new(
                        Severity::Error,
                        Code::InvalidValue,
                        ConfigErr::GeneralError,
                        &v.loc.0,
                        m,
                    )
                    .with_hint(hint(f)),
                );
            }
        }
    }
    for v in &config.vrrp_instances {
        for (i, loc) in &v.replaced_interfaces {
            if missing(i) {
                any_missing = true;
                report(
                    &mut out,
                    &loc.0,
                    format!("interface {i} for vrrp_instance {} doesn't exist", v.name),
                    hint(i),
                );
            }
        }
    }
    // linkbeat_interfaces: keepalived's "unknown interface" is a bad-interface error (exit 4)
    for l in &config.linkbeat_interfaces {
        if missing(&l.name) {
            out.push(
                Diagnostic::new(
                    Severity::Error,
                    Code::InterfaceMissing,
                    ConfigErr::BadIf,
                    &l.loc.0,
                    format!(
                        "unknown interface {} specified for linkbeat interface",
                        l.name
                    ),
                )
                .with_hint(hint(&l.name)),
            );
        }
    }
    // interface_up_down_delays: keepalived's "unknown interface" (exit 4; none with
    // dynamic_interfaces, whose interfaces may come later)
    for d in &config.interface_up_down_delays {
        if missing(&d.name) && !config.global.dynamic_interfaces {
            out.push(
                Diagnostic::new(
                    Severity::Error,
                    Code::InterfaceMissing,
                    ConfigErr::BadIf,
                    &d.loc.0,
                    format!("unknown interface {} specified for up/down delay", d.name),
                )
                .with_hint(hint(&d.name)),
            );
        }
    }
    // a route's `dev` (keepalived: "interface X for VROUTE nexthop doesn't exist")
    for l in config
        .vrrp_instances
        .iter()
        .flat_map(|v| &v.virtual_routes)
        .chain(&config.static_routes)
    {
        if let Some(d) = l.dev.as_ref().filter(|d| missing(d)) {
            any_missing = true;
            report(
                &mut out,
                &l.loc.0,
                format!("WARNING - interface {d} for VROUTE nexthop doesn't exist"),
                hint(d),
            );
        }
        // keepalived looks the VRF up when it reads the route (a general error)
        if let Some(v) = l.vrf.as_ref().filter(|v| missing(v)) {
            out.push(
                Diagnostic::new(
                    Severity::Error,
                    Code::InvalidValue,
                    ConfigErr::GeneralError,
                    &l.loc.0,
                    format!("VRF {v} not found for route"),
                )
                .with_hint(hint(v)),
            );
        }
    }
    // a garp_group's interfaces (keepalived creates missing ones with dynamic_interfaces)
    if !config.global.dynamic_interfaces {
        for i in config.garp_groups.iter().flat_map(|g| &g.interfaces) {
            if missing(&i.name) {
                any_missing = true;
                report(
                    &mut out,
                    &i.loc.0,
                    format!(
                        "WARNING - interface {} specified for garp_group doesn't exist",
                        i.name
                    ),
                    hint(&i.name),
                );
            }
        }
    }
    for a in &config.static_ipaddress {
        if let Some(d) = &a.dev {
            if missing(d) {
                any_missing = true;
                report(
                    &mut out,
                    &a.loc.0,
                    format!(
                        "interface {d} for static ip address {} doesn't exist",
                        a.addr
                    ),
                    hint(d),
                );
            }
        } else {
            // keepalived 2.2.7 alloc_ipaddress: without `dev`, the default interface
            // (`default_interface`, else eth0); missing (and not created later under
            // dynamic_interfaces), a fatal error for the address.
            let d = config.static_default_interface();
            if missing(d) && !config.global.dynamic_interfaces {
                any_missing = true;
                // CONFIG_FATAL in keepalived (-t exits 4)
                out.push(
                    Diagnostic::new(
                        Severity::Error,
                        Code::InterfaceMissing,
                        ConfigErr::Fatal,
                        &a.loc.0,
                        format!(
                            "Static address {}/{} requires either an interface or default interface must exist",
                            a.addr, a.prefix_len
                        ),
                    )
                    .with_hint(format!(
                        "add `dev IFNAME` or set default_interface; {}",
                        hint(d)
                    )),
                );
            }
        }
    }
    if !any_missing {
        vrid_on_one_base(config, ifaces, &mut out);
    }
    if any_missing {
        let first = out.first().map(|d| d.span.clone()).unwrap_or_default();
        out.push(Diagnostic::new(
            Severity::Error,
            Code::InterfaceSummary,
            ConfigErr::BadIf,
            &Span {
                line: 0,
                col: 0,
                ..first
            },
            "non-existent interface specified in configuration",
        ));
        return out;
    }
    checker_script_security(config, executable, &mut out);
    if config.vrrp_instances.is_empty() {
        return out;
    }
    let mut any_script = false;
    let seen = |l: &Loc| seen_by_workers(config, l);
    for s in &config.vrrp_scripts {
        let prog = s.script.split_whitespace().next().unwrap_or("");
        match resolve(prog) {
            Some(p) if executable(&p) => any_script |= seen(&s.loc),
            _ => out.push(
                Diagnostic::new(
                    Severity::Error,
                    Code::ScriptNotFound,
                    ConfigErr::GeneralError,
                    &s.loc.0,
                    format!(
                        "disabling track script {} since '{prog}' is not found/accessible",
                        s.name
                    ),
                )
                .with_hint("create the script and make it executable (chmod 755)"),
            ),
        }
    }
    for v in &config.vrrp_instances {
        for n in [
            &v.notify_master,
            &v.notify_backup,
            &v.notify_fault,
            &v.notify_stop,
            &v.notify_deleted,
            &v.notify,
            &v.notify_master_rx_lower_pri,
        ]
        .into_iter()
        .flatten()
        {
            let prog = n.command.split_whitespace().next().unwrap_or("");
            if resolve(prog).is_some_and(|p| executable(&p)) && seen(&v.loc) {
                any_script = true;
            }
        }
    }
    if any_script && !config.global.enable_script_security {
        let span = config
            .vrrp_scripts
            .first()
            .map(|s| s.loc.0.clone())
            .unwrap_or_default();
        out.push(
            Diagnostic::new(
                Severity::Error,
                Code::ScriptSecurity,
                ConfigErr::SecurityError,
                &span,
                "SECURITY VIOLATION - scripts are being executed but script_security not enabled",
            )
            .with_hint("add `enable_script_security` (and `script_user`) to global_defs"),
        );
    }
    out
}

/// keepalived's `check_check_script_security()`: a MISC_CHECK script, a quorum or real server
/// notify script that exists and is executable, without `enable_script_security`, is a security
/// error (`-t` exits 6).
fn checker_script_security(
    config: &Config,
    executable: &dyn Fn(&Path) -> bool,
    out: &mut Vec<Diagnostic>,
) {
    if config.global.enable_script_security {
        return;
    }
    let runs = |cmd: &str| {
        let prog = cmd.split_whitespace().next().unwrap_or("");
        resolve(prog).is_some_and(|p| executable(&p))
    };
    // keepalived removes a script it cannot give a user: an unknown `script_user` takes out
    // the MISC_CHECK scripts that have no `user` of their own
    let default_user_ok = config.global.script_user.as_ref().is_none_or(|(u, g)| {
        name_in_db("/etc/passwd", u) && g.as_deref().is_none_or(|g| name_in_db("/etc/group", g))
    });
    let mut first: Option<&Span> = None;
    for vs in config
        .virtual_servers
        .iter()
        .filter(|vs| seen_by_workers(config, &vs.loc))
    {
        let vs_scripts = [&vs.quorum_up, &vs.quorum_down]
            .into_iter()
            .flatten()
            .any(|s| runs(&s.command));
        if vs_scripts && first.is_none() {
            first = Some(&vs.loc.0);
        }
        for rs in &vs.real_servers {
            if [&rs.notify_up, &rs.notify_down]
                .into_iter()
                .flatten()
                .any(|s| runs(&s.command))
                && first.is_none()
            {
                first = Some(&rs.loc.0);
            }
            for c in &rs.checkers {
                if let CheckerKind::Misc(m) = &c.kind {
                    if runs(&m.misc_path)
                        && (m.user.is_some() || default_user_ok)
                        && first.is_none()
                    {
                        first = Some(&c.loc.0);
                    }
                }
            }
        }
    }
    if let Some(span) = first {
        out.push(
            Diagnostic::new(
                Severity::Error,
                Code::ScriptSecurity,
                ConfigErr::SecurityError,
                span,
                "SECURITY VIOLATION - check scripts are being executed but script_security not enabled",
            )
            .with_hint("add `enable_script_security` (and `script_user`) to global_defs"),
        );
    }
}

/// Whether keepalived's worker processes see the configuration at `l`: not after the point
/// where the braces stopped balancing ([`Config::unbalanced_from`]).
fn seen_by_workers(config: &Config, l: &Loc) -> bool {
    let c = &config.unbalanced_from.0;
    c.line == 0 || !(l.0.file == c.file && l.0.line > c.line)
}

/// A name (or numeric id) in /etc/passwd or /etc/group; true when the file can't be read (no
/// invented errors).
fn name_in_db(db: &str, name: &str) -> bool {
    let Ok(text) = std::fs::read_to_string(db) else {
        return true;
    };
    text.lines().any(|l| {
        let mut f = l.split(':');
        let n = f.next();
        let id = f.nth(1);
        n == Some(name) || (name.parse::<u32>().is_ok() && id == Some(name))
    })
}

fn is_loopback(name: &str) -> bool {
    // IFF_LOOPBACK = 0x8
    std::fs::read_to_string(format!("/sys/class/net/{name}/flags"))
        .ok()
        .and_then(|f| u32::from_str_radix(f.trim().trim_start_matches("0x"), 16).ok())
        .is_some_and(|f| f & 0x8 != 0)
}

fn join(v: &[&String]) -> String {
    v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

fn resolve(prog: &str) -> Option<PathBuf> {
    if prog.is_empty() {
        return None;
    }
    if prog.contains('/') {
        return Some(PathBuf::from(prog));
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    path.split(':')
        .map(|d| Path::new(d).join(prog))
        .find(|p| p.is_file())
}

/// A regular file with an execute bit (the default executable test of [`system_checks`]).
pub fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// keepalived's `config_test_exit()`: the highest class reported decides.
/// 0 = OK, 4 = file not found / bad interface / fatal, 6 = script security, 5 = other; 2 when a
/// keyword lacks its parameter: keepalived's `null_strvec()` exits at once with
/// `KEEPALIVED_EXIT_CONFIG`, whatever else was reported; else 6 when an include failed a check
/// asked for (`include_check`, `-e`, `includer`...): keepalived's parent stops after reading
/// the files (`KEEPALIVED_EXIT_NO_CONFIG`).
pub fn exit_code(parsed: &Parsed, system: &[Diagnostic]) -> i32 {
    if parsed
        .diagnostics
        .iter()
        .any(|d| d.counts() && d.class == ConfigErr::MissingParameter)
    {
        return 2;
    }
    if parsed
        .diagnostics
        .iter()
        .any(|d| d.counts() && d.code == Code::IncludeCheck)
    {
        return 6;
    }
    let worst = parsed
        .diagnostics
        .iter()
        .chain(system)
        .filter(|d| d.counts())
        .map(|d| d.class)
        .max()
        .unwrap_or(ConfigErr::Ok);
    match worst {
        ConfigErr::Ok => 0,
        ConfigErr::FileNotFound | ConfigErr::BadIf | ConfigErr::Fatal => 4,
        ConfigErr::SecurityError => 6,
        _ => 5,
    }
}
