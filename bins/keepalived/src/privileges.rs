//! Least privilege: the capabilities each of our processes keeps after start-up
//! (docs/privileges.md explains every one).
//!
//! | process | effective = permitted | bounding | no_new_privs |
//! |---|---|---|---|
//! | parent | NET_ADMIN (+ SETUID, SETGID, KILL with a shutdown script) | see [`parent_restriction`] | no |
//! | VRRP | NET_ADMIN, NET_RAW (+ SETUID, SETGID, KILL with scripts; + SYS_NICE, SYS_RESOURCE, IPC_LOCK for the scheduling keywords; + SYS_ADMIN with net_namespace_ipvs and lvs_sync_daemon) | the same, or all when a script may run as root | when it runs no script |
//! | checker | NET_ADMIN, NET_RAW, NET_BIND_SERVICE (+ SETUID, SETGID, KILL with scripts, + CHOWN with a FIFO owner; + SYS_ADMIN with net_namespace_ipvs) | the same, or all when a script may run as root | when it runs no script |
//! | BFD | NET_ADMIN | the same | yes |
//!
//! A script keepalived runs as root gets every capability of the bounding set (execve as
//! uid 0), so a process that may run one keeps the full bounding set: keepalived's
//! `script_user` semantics do not change. A worker whose reloaded configuration needs more
//! than it kept at start (its first script, its first root script, a FIFO owner) exits and
//! the parent starts it again with the new configuration; the parent rejects a reload that
//! needs more than its own bounding set allows (scripts as root when none could run as root
//! at start: restart keepalived).

use conf_parse::Config;
use netplat::caps::{cap, CapSet, Restriction};

use crate::worker::WorkerKind;
use crate::{info, warning};

/// What a configuration asks of one process beyond its base set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Profile {
    /// The process runs scripts.
    pub scripts: bool,
    /// A script may run as root (the default script user is root, or a script names its own
    /// user).
    pub root_scripts: bool,
    /// A notify FIFO is created with an owner (chown).
    pub chown: bool,
    /// `*_rt_priority` or a negative `*_priority` (CAP_SYS_NICE; with `*_rt_priority` also
    /// CAP_SYS_RESOURCE for its RLIMIT_RTTIME): applied to each new thread, so kept.
    pub nice: bool,
    /// `*_rt_priority` (RLIMIT_RTTIME may be raised again at a reload: CAP_SYS_RESOURCE).
    pub rlimit: bool,
    /// `*_no_swap` (mlockall: CAP_IPC_LOCK).
    pub memlock: bool,
    /// `net_namespace_ipvs` in a process that talks to IPVS (the checker; the VRRP worker with
    /// `lvs_sync_daemon`): setns into that namespace for the IPVS socket (CAP_SYS_ADMIN).
    pub ipvs_netns: bool,
    /// ... the default namespace (`net_namespace_ipvs` without a name): opening
    /// `/proc/1/ns/net` of a process with more capabilities (CAP_SYS_PTRACE).
    pub ipvs_netns_init: bool,
    /// `config_save_dir`: files written into a directory created 0700 less the umask (0600
    /// under the default umask 0177, as keepalived), where uid 0 can only create files with
    /// CAP_DAC_OVERRIDE (search permission is missing).
    pub save_dir: bool,
}

impl Profile {
    /// Whether a process started with `self` can run a configuration needing `new`.
    pub fn covers(self, new: Profile) -> bool {
        (self.scripts || !new.scripts)
            && (self.root_scripts || !new.root_scripts)
            && (self.chown || !new.chown)
            && (self.nice || !new.nice)
            && (self.rlimit || !new.rlimit)
            && (self.memlock || !new.memlock)
            && (self.ipvs_netns || !new.ipvs_netns)
            && (self.ipvs_netns_init || !new.ipvs_netns_init)
            && (self.save_dir || !new.save_dir)
    }
}

/// Whether scripts run as root by default: `script_user` (or `keepalived_script`) resolves to
/// uid 0, or nothing names a user.
fn default_user_is_root(config: &Config) -> bool {
    let policy = script_runner::Policy {
        script_user: config.global.script_user.clone(),
        security: config.global.enable_script_security,
        keep_symlinks: config.global.use_symlink_paths,
        pins: Default::default(),
    };
    match policy.user_names(None) {
        Ok(None) => nix::unistd::geteuid().is_root(),
        Ok(Some((u, _))) => match nix::unistd::User::from_name(&u) {
            Ok(Some(user)) => user.uid.is_root(),
            _ => false,
        },
        // no user to run scripts as: none runs
        Err(_) => false,
    }
}

/// The configuration text of the parts a worker kind runs scripts from (model `Debug`).
fn script_sources(config: &Config, kind: WorkerKind) -> String {
    let g = &config.global;
    match kind {
        WorkerKind::Vrrp => format!(
            "{:?}{:?}{:?}{:?}{:?}{:?}",
            config.vrrp_scripts,
            config.vrrp_instances,
            config.sync_groups,
            config.track_processes,
            g.notify_fifo.script,
            g.vrrp_notify_fifo.script
        ),
        WorkerKind::Checker => {
            // The fields of the LVS model that hold scripts (quorum_up/down, notify_up/down,
            // the checkers) and the unmodelled statements, not the whole model: formatting
            // 37,000 real servers took more CPU than parsing them, at start and at each reload.
            use std::fmt::Write as _;
            let mut s = format!(
                "{:?}{:?}{:?}",
                config.virtual_server_groups, g.notify_fifo.script, g.lvs_notify_fifo.script
            );
            for vs in &config.virtual_servers {
                let _ = write!(s, "{:?}{:?}{:?}", vs.quorum_up, vs.quorum_down, vs.extra);
                for rs in &vs.real_servers {
                    if rs.notify_up.is_some()
                        || rs.notify_down.is_some()
                        || !rs.checkers.is_empty()
                        || !rs.extra.is_empty()
                    {
                        let _ = write!(
                            s,
                            "{:?}{:?}{:?}{:?}",
                            rs.notify_up, rs.notify_down, rs.checkers, rs.extra
                        );
                    }
                }
            }
            s
        }
        WorkerKind::Bfd => String::new(),
    }
}

/// What `config` asks of the worker `kind`. Conservative: anything that may be a script or a
/// per-script user counts.
pub fn profile(config: &Config, kind: WorkerKind) -> Profile {
    let src = script_sources(config, kind);
    let scripts = match kind {
        WorkerKind::Vrrp => !config.vrrp_scripts.is_empty() || src.contains("Script {"),
        WorkerKind::Checker => src.contains("Script {") || src.contains("MiscCheck {"),
        WorkerKind::Bfd => false,
    };
    let own_user = src.contains("user: Some(");
    let g = &config.global;
    let sched = crate::procsched::worker_sched(kind, config);
    let ipvs = match kind {
        WorkerKind::Checker => true,
        WorkerKind::Vrrp => crate::syncd::spec_from(config).is_some(),
        WorkerKind::Bfd => false,
    };
    let ipvs_ns = if ipvs {
        g.net_namespace_ipvs.as_deref()
    } else {
        None
    };
    Profile {
        scripts,
        root_scripts: scripts && (own_user || default_user_is_root(config)),
        chown: kind == WorkerKind::Checker
            && (g.notify_fifo.user.is_some() || g.lvs_notify_fifo.user.is_some()),
        // max_auto_priority: the worker may make itself realtime when its timers run late.
        nice: sched.rt_priority.is_some()
            || sched.priority < 0
            || crate::procsched::auto_priority(config).is_some(),
        rlimit: sched.rt_priority.is_some() || crate::procsched::auto_priority(config).is_some(),
        memlock: sched.no_swap,
        ipvs_netns: ipvs_ns.is_some(),
        ipvs_netns_init: ipvs_ns == Some(""),
        save_dir: kind != WorkerKind::Bfd && g.config_save_dir.is_some(),
    }
}

/// The parent's own needs: its startup/shutdown scripts.
pub fn parent_profile(config: &Config) -> Profile {
    let g = &config.global;
    let scripts = g.startup_script.is_some() || g.shutdown_script.is_some();
    let own_user = [&g.startup_script, &g.shutdown_script]
        .iter()
        .any(|s| s.as_ref().is_some_and(|s| s.user.is_some()));
    Profile {
        scripts,
        root_scripts: scripts && (own_user || default_user_is_root(config)),
        save_dir: g.config_save_dir.is_some(),
        ..Profile::default()
    }
}

/// Capabilities to run scripts as another user and stop them at their timeout.
fn script_caps() -> CapSet {
    CapSet::of(&[cap::SETUID, cap::SETGID, cap::KILL])
}

/// The effective/permitted set of a worker (see the module table).
pub fn worker_keep(kind: WorkerKind, p: Profile) -> CapSet {
    let base = match kind {
        WorkerKind::Vrrp => CapSet::of(&[cap::NET_ADMIN, cap::NET_RAW]),
        WorkerKind::Checker => CapSet::of(&[cap::NET_ADMIN, cap::NET_RAW, cap::NET_BIND_SERVICE]),
        WorkerKind::Bfd => CapSet::of(&[cap::NET_ADMIN]),
    };
    let mut keep = base;
    if p.scripts {
        keep = keep.union(script_caps());
    }
    if p.chown {
        keep = keep.union(CapSet::of(&[cap::CHOWN]));
    }
    if p.nice {
        keep = keep.union(CapSet::of(&[cap::SYS_NICE]));
    }
    if p.rlimit {
        keep = keep.union(CapSet::of(&[cap::SYS_RESOURCE]));
    }
    if p.memlock {
        keep = keep.union(CapSet::of(&[cap::IPC_LOCK]));
    }
    if p.ipvs_netns {
        keep = keep.union(CapSet::of(&[cap::SYS_ADMIN]));
    }
    if p.ipvs_netns_init {
        keep = keep.union(CapSet::of(&[cap::SYS_PTRACE]));
    }
    if p.save_dir {
        keep = keep.union(CapSet::of(&[cap::DAC_OVERRIDE]));
    }
    keep
}

/// What the worker `kind` keeps for a configuration with profile `p`.
pub fn worker_restriction(kind: WorkerKind, p: Profile) -> Restriction {
    let keep = worker_keep(kind, p);
    Restriction {
        keep,
        bounding: if p.root_scripts { CapSet::all() } else { keep },
        no_new_privs: !p.scripts,
    }
}

/// The most any worker can keep (without root scripts), plus CAP_SETPCAP for the worker to
/// narrow its own bounding set: the parent's bounding set when no script may run as root.
fn workers_max() -> CapSet {
    let all = Profile {
        scripts: true,
        root_scripts: false,
        chown: true,
        nice: true,
        rlimit: true,
        memlock: true,
        ipvs_netns: false,
        ipvs_netns_init: false,
        save_dir: false,
    };
    [WorkerKind::Vrrp, WorkerKind::Checker, WorkerKind::Bfd]
        .iter()
        .fold(CapSet::of(&[8]), |a, &k| a.union(worker_keep(k, all)))
}

/// Whether any process of this configuration may run a script as root.
pub fn any_root_scripts(config: &Config) -> bool {
    parent_profile(config).root_scripts
        || [WorkerKind::Vrrp, WorkerKind::Checker]
            .iter()
            .any(|&k| profile(config, k).root_scripts)
}

/// What the parent keeps: CAP_NET_ADMIN (it removes a dead VRRP worker's VIPs), the script
/// capabilities when it runs a shutdown script as another user; its bounding set is what its
/// workers may need (they are started again at respawns and reloads, and get the parent's
/// bounding set), all of it when a script may run as root.
pub fn parent_restriction(config: &Config) -> Restriction {
    let p = parent_profile(config);
    let mut keep = CapSet::of(&[cap::NET_ADMIN]);
    if p.scripts {
        keep = keep.union(script_caps());
    }
    if p.save_dir {
        keep = keep.union(CapSet::of(&[cap::DAC_OVERRIDE]));
    }
    // net_namespace_ipvs (it cannot change at a reload): what the workers keep for it.
    let ipvs_ns = [WorkerKind::Vrrp, WorkerKind::Checker]
        .iter()
        .map(|&k| {
            let p = profile(config, k);
            worker_keep(
                k,
                Profile {
                    ipvs_netns: p.ipvs_netns,
                    ipvs_netns_init: p.ipvs_netns_init,
                    ..Profile::default()
                },
            )
        })
        .fold(CapSet::EMPTY, CapSet::union);
    Restriction {
        keep,
        bounding: if any_root_scripts(config) {
            CapSet::all()
        } else {
            workers_max().union(keep).union(ipvs_ns)
        },
        no_new_privs: false,
    }
}

/// Set once this process narrowed its capabilities (it had CAP_SETPCAP: it ran privileged).
static NARROWED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The bounding set this process started with ("all" can only mean all of these).
static START_BOUNDING: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(u64::MAX);

/// Why the parent, as narrowed at start, cannot run the configuration `new` (a reload then
/// needs a restart), if it cannot.
pub fn reload_blocker(new: &Config) -> Option<String> {
    if !NARROWED.load(std::sync::atomic::Ordering::SeqCst) {
        return None;
    }
    let need = parent_restriction(new);
    let now = netplat::caps::get().ok()?;
    let bounding = netplat::caps::Status::of_this_thread().ok()?.bounding;
    if !need.keep.is_subset(now.effective) {
        return Some(format!(
            "the new configuration needs {} in the parent (startup/shutdown scripts), dropped at start",
            CapSet(need.keep.0 & !now.effective.0)
        ));
    }
    let start = CapSet(START_BOUNDING.load(std::sync::atomic::Ordering::SeqCst));
    if !need.bounding.intersect(start).is_subset(bounding) {
        return Some(
            "the new configuration may run scripts as root, and no script could at start (the bounding set was narrowed)"
                .to_string(),
        );
    }
    None
}

/// Apply `r` to the calling thread (call before starting other threads), logging what is kept.
pub fn apply(who: &str, r: Restriction) {
    let before = netplat::caps::get().unwrap_or_default();
    if let Ok(st) = netplat::caps::Status::of_this_thread() {
        START_BOUNDING.store(st.bounding.0, std::sync::atomic::Ordering::SeqCst);
    }
    match netplat::caps::restrict(r) {
        Ok(()) => {
            if before.effective.has(8) {
                NARROWED.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            let now = netplat::caps::get().unwrap_or_default();
            info!(
                "{who}: capabilities kept {}; bounding set {}{}",
                now.effective,
                if r.bounding.union(r.keep) == CapSet::all() {
                    "(all: scripts may run as root)".to_string()
                } else {
                    r.bounding.union(r.keep).to_string()
                },
                if r.no_new_privs { "; no_new_privs" } else { "" }
            );
        }
        Err(e) => warning!("{who}: cannot drop capabilities: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the checker's script scan over the script-bearing fields finds what the scan of
    // the whole LVS model (`Debug` of every virtual server) found: scripts in quorum_up,
    // notify_down (with a user), MISC_CHECK (with a user), and none in a plain table.
    #[test]
    fn checker_script_scan_matches_the_whole_model_scan() {
        let whole = |c: &Config| {
            let g = &c.global;
            let src = format!(
                "{:?}{:?}{:?}{:?}",
                c.virtual_servers,
                c.virtual_server_groups,
                g.notify_fifo.script,
                g.lvs_notify_fifo.script
            );
            (
                src.contains("Script {") || src.contains("MiscCheck {"),
                src.contains("user: Some("),
            )
        };
        let parts = |c: &Config| {
            let src = script_sources(c, WorkerKind::Checker);
            (
                src.contains("Script {") || src.contains("MiscCheck {"),
                src.contains("user: Some("),
            )
        };
        let rs = |body: &str| {
            format!(
                "virtual_server 10.0.0.1 80 {{\n real_server 10.0.0.2 80 {{\n weight 1\n }}\n real_server 10.0.0.3 80 {{\n {body}\n }}\n}}\n"
            )
        };
        let cases = [
            (rs("weight 2"), (false, false)),
            (
                "virtual_server 10.0.0.1 80 {\n quorum_up /bin/true\n real_server 10.0.0.2 80 {\n }\n}\n".to_string(),
                (true, false),
            ),
            (rs("notify_down \"/bin/true\" nobody"), (true, true)),
            (rs("MISC_CHECK {\n misc_path /bin/true\n user nobody\n }"), (true, true)),
            (rs("MISC_CHECK {\n misc_path /bin/true\n }"), (true, false)),
            (rs("TCP_CHECK {\n connect_timeout 2\n }"), (false, false)),
        ];
        for (text, want) in cases {
            let p = conf_parse::parse_str(&text, "t.conf", &conf_parse::ParseOptions::default());
            assert_eq!(whole(&p.config), want, "{text}");
            assert_eq!(parts(&p.config), want, "{text}");
        }
    }

    #[test]
    fn bfd_keeps_net_admin_only_and_no_new_privs() {
        let r = worker_restriction(WorkerKind::Bfd, Profile::default());
        assert_eq!(r.keep, CapSet::of(&[cap::NET_ADMIN]));
        assert_eq!(r.bounding, r.keep);
        assert!(r.no_new_privs);
    }

    #[test]
    fn scripts_widen_and_root_scripts_keep_the_bounding_set() {
        let p = Profile {
            scripts: true,
            ..Profile::default()
        };
        let r = worker_restriction(WorkerKind::Vrrp, p);
        assert!(r.keep.has(cap::SETUID) && r.keep.has(cap::KILL) && !r.no_new_privs);
        assert_eq!(r.bounding, r.keep);
        let r = worker_restriction(
            WorkerKind::Vrrp,
            Profile {
                root_scripts: true,
                ..p
            },
        );
        assert_eq!(r.bounding, CapSet::all());
        assert!(!Profile::default().covers(p));
        assert!(p.covers(Profile::default()));
    }

    #[test]
    fn parent_bounding_covers_every_worker() {
        let max = workers_max();
        for k in [WorkerKind::Vrrp, WorkerKind::Checker, WorkerKind::Bfd] {
            let r = worker_restriction(
                k,
                Profile {
                    scripts: true,
                    root_scripts: false,
                    chown: true,
                    nice: true,
                    rlimit: true,
                    memlock: true,
                    ipvs_netns: false,
                    ipvs_netns_init: false,
                    save_dir: false,
                },
            );
            assert!(r.bounding.is_subset(max), "{k:?}");
        }
        // The scheduling keywords (process_names & co, *_rt_priority, *_no_swap).
        let r = worker_restriction(
            WorkerKind::Bfd,
            Profile {
                nice: true,
                rlimit: true,
                memlock: true,
                ..Profile::default()
            },
        );
        for c in [cap::SYS_NICE, cap::SYS_RESOURCE, cap::IPC_LOCK] {
            assert!(r.keep.has(c), "{c}");
        }
        assert!(!Profile::default().covers(Profile {
            nice: true,
            ..Profile::default()
        }));
        assert!(
            max.has(8),
            "workers need CAP_SETPCAP to narrow their bounding set"
        );
    }

    // net_namespace_ipvs: CAP_SYS_ADMIN (setns) in the checker, and in the VRRP worker only
    // with lvs_sync_daemon; CAP_SYS_PTRACE too for the default namespace (/proc/1/ns/net);
    // nothing without the keyword; the parent's bounding set allows what the workers keep.
    #[test]
    fn net_namespace_ipvs_keeps_sys_admin_only_where_ipvs_is_used() {
        let cfg = |top: &str, sync: &str| {
            let text = format!(
                "{top}\nglobal_defs {{\n{sync}}}\nvrrp_instance V {{\n interface eth0\n virtual_router_id 1\n \
                 virtual_ipaddress {{\n  10.0.0.1\n }}\n}}\nvirtual_server 10.0.0.1 80 {{\n real_server 10.0.0.2 80 {{\n }}\n}}\n"
            );
            conf_parse::parse_str(&text, "t.conf", &conf_parse::ParseOptions::default()).config
        };
        let keep = |c: &Config, k| worker_restriction(k, profile(c, k)).keep;
        let plain = cfg("", "");
        for k in [WorkerKind::Vrrp, WorkerKind::Checker, WorkerKind::Bfd] {
            assert!(!keep(&plain, k).has(cap::SYS_ADMIN), "{k:?}");
        }
        assert!(!parent_restriction(&plain).bounding.has(cap::SYS_ADMIN));
        let named = cfg("net_namespace_ipvs lvs", "");
        assert!(keep(&named, WorkerKind::Checker).has(cap::SYS_ADMIN));
        assert!(!keep(&named, WorkerKind::Checker).has(cap::SYS_PTRACE));
        assert!(!keep(&named, WorkerKind::Vrrp).has(cap::SYS_ADMIN));
        assert!(!keep(&named, WorkerKind::Bfd).has(cap::SYS_ADMIN));
        assert!(parent_restriction(&named).bounding.has(cap::SYS_ADMIN));
        assert!(!parent_restriction(&named).keep.has(cap::SYS_ADMIN));
        let synced = cfg("net_namespace_ipvs", " lvs_sync_daemon eth0 V\n");
        for k in [WorkerKind::Vrrp, WorkerKind::Checker] {
            assert!(keep(&synced, k).has(cap::SYS_ADMIN), "{k:?}");
            assert!(keep(&synced, k).has(cap::SYS_PTRACE), "{k:?}");
        }
        assert!(parent_restriction(&synced).bounding.has(cap::SYS_PTRACE));
    }
}
