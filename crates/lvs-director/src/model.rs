//! `conf_parse::Config` → the director's compiled model: virtual servers with their expanded
//! IPVS service keys, real servers with their destination templates and resolved checkers.
//!
//! Everything here is pure. Problems that keepalived reports and skips (an unknown group, a
//! checker kind we cannot run) become warnings; the rest of the configuration still applies.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use conf_parse as cp;
use healthcheck as hc;
use ipvs_nl::{
    AddressFamily, Destination, Forward, Protocol, Scheduler, Service, ServiceFlags, ServiceKey,
    Tunnel,
};

/// Stable identity of a `virtual_server` block across reloads (what keepalived matches on).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VsId {
    /// `virtual_server IP PORT` + protocol.
    Addr(IpAddr, u16, u16),
    /// `virtual_server fwmark N` (+ family: 2 = inet, 10 = inet6).
    Fwmark(u32, u16),
    /// `virtual_server group NAME` + protocol.
    Group(String, u16),
}

impl std::fmt::Display for VsId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VsId::Addr(ip, port, proto) => match ip {
                IpAddr::V4(a) => write!(f, "{a}:{port}/{}", proto_name(*proto)),
                IpAddr::V6(a) => write!(f, "[{a}]:{port}/{}", proto_name(*proto)),
            },
            VsId::Fwmark(m, _) => write!(f, "FWM {m}"),
            VsId::Group(g, proto) => write!(f, "[{g}]/{}", proto_name(*proto)),
        }
    }
}

impl VsId {
    /// keepalived's `FMT_VS`: `[10.0.0.1]:tcp:80`, `FWM 5`, `[group]:0`.
    pub fn keepalived_fmt(&self) -> String {
        match self {
            VsId::Addr(ip, port, proto) => format!("[{ip}]:{}:{port}", proto_lower(*proto)),
            VsId::Fwmark(m, _) => format!("FWM {m}"),
            VsId::Group(g, _) => format!("[{g}]:0"),
        }
    }

    fn proto(&self) -> u16 {
        match self {
            VsId::Addr(_, _, p) | VsId::Group(_, p) => *p,
            VsId::Fwmark(..) => 0,
        }
    }
}

impl RsId {
    /// keepalived's `FMT_RS`: `[10.0.0.2]:tcp:80` (the virtual server's protocol).
    pub fn keepalived_fmt(&self) -> String {
        format!(
            "[{}]:{}:{}",
            self.addr,
            proto_lower(self.vs.proto()),
            self.port
        )
    }
}

/// `inet_sockaddrtotrio`'s protocol names.
fn proto_lower(p: u16) -> &'static str {
    match p {
        6 => "tcp",
        17 => "udp",
        132 => "sctp",
        0 => "none",
        _ => "?",
    }
}

fn proto_name(p: u16) -> &'static str {
    match p {
        6 => "TCP",
        17 => "UDP",
        132 => "SCTP",
        _ => "?",
    }
}

/// Stable identity of a real server within its virtual server.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RsId {
    /// Its virtual server.
    pub vs: VsId,
    /// Address.
    pub addr: IpAddr,
    /// Port as configured (0 when absent).
    pub port: u16,
}

impl std::fmt::Display for RsId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.addr {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.port),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
        }
    }
}

/// A script to run on a transition (`notify_up`, `quorum_down`, ...), through the script
/// runner: split into argv with keepalived's quoting (no shell), run as its `user [group]`, else
/// `script_user`, and refused when `enable_script_security` finds it unsafe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyScript {
    /// The command line.
    pub command: String,
    /// `user` to run as.
    pub user: Option<String>,
    /// `group` to run as (with `user`).
    pub group: Option<String>,
    /// `script_user` and `enable_script_security`.
    pub policy: script_runner::Policy,
}

impl NotifyScript {
    /// The script prepared to run (its user chosen, its path checked), as keepalived does when
    /// it reads the configuration.
    pub fn prepare(&self) -> Result<script_runner::Script, script_runner::ScriptError> {
        let own = self.user.as_deref().map(|u| (u, self.group.as_deref()));
        self.policy.prepare(&self.command, own)
    }
}

/// The global script settings.
fn policy(cfg: &cp::Config) -> script_runner::Policy {
    script_runner::Policy {
        script_user: cfg.global.script_user.clone(),
        security: cfg.global.enable_script_security,
        keep_symlinks: cfg.global.use_symlink_paths,
        pins: Default::default(),
    }
}

/// Works whether conf-parse stores scripts inline or boxed.
fn notify_script<S: std::borrow::Borrow<cp::Script>>(cfg: &cp::Config, s: &S) -> NotifyScript {
    let s = s.borrow();
    NotifyScript {
        command: s.command.clone(),
        user: s.user.clone(),
        group: s.group.clone(),
        policy: policy(cfg),
    }
}

/// A resolved real server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServer {
    /// Identity.
    pub id: RsId,
    /// Destination as programmed when up at full weight (port normalised for DR/TUN).
    pub dest: Destination,
    /// `inhibit_on_failure`: weight 0 instead of removal when down.
    pub inhibit: bool,
    /// `notify_up`.
    pub notify_up: Option<NotifyScript>,
    /// `notify_down`.
    pub notify_down: Option<NotifyScript>,
    /// `smtp_alert` in force for this real server.
    pub smtp_alert: bool,
    /// Resolved checkers (index = position among the runnable checkers).
    pub checks: Vec<hc::scheduler::CheckSpec>,
    /// `BFD_CHECK`s: the real server follows these BFD sessions (their health entries come
    /// after those of `checks`).
    pub bfd_checks: Vec<BfdCheckSpec>,
}

/// A `BFD_CHECK` (keepalived's check_bfd.c): up while the named `bfd_instance`'s session is
/// Up, driven by the BFD worker's events rather than by polling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BfdCheckSpec {
    /// The `bfd_instance` name.
    pub name: String,
    /// `alpha`: start down until the first Up.
    pub alpha: bool,
}

/// A resolved virtual server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServer {
    /// Identity.
    pub id: VsId,
    /// The IPVS services it stands for (one, or one per group entry/address).
    pub services: Vec<Service>,
    /// Real servers.
    pub real_servers: Vec<RealServer>,
    /// `sorry_server` destination (weight 1).
    pub sorry: Option<Destination>,
    /// `sorry_server_inhibit`.
    pub sorry_inhibit: bool,
    /// `quorum`.
    pub quorum: u32,
    /// `hysteresis`.
    pub hysteresis: u32,
    /// `quorum_up`.
    pub quorum_up: Option<NotifyScript>,
    /// `quorum_down`.
    pub quorum_down: Option<NotifyScript>,
    /// `ha_suspend`: checkers run only while one of the addresses is local.
    pub ha_suspend: bool,
    /// `smtp_alert` in force for this virtual server.
    pub smtp_alert: bool,
    /// `omega`: at stop, the real servers' and the virtual server's down notifications are
    /// sent (scripts, FIFO lines, mail), as keepalived's `clear_services` does.
    pub omega: bool,
}

/// A notify FIFO of the checker process (`notify_fifo` or `lvs_notify_fifo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyFifo {
    /// Its path.
    pub path: String,
    /// `""` for `notify_fifo`, `"lvs_"` for `lvs_notify_fifo` (keepalived's log wording).
    pub kind: &'static str,
    /// Owner `USER [GROUP]` given after the path (the FIFO is chowned when created).
    pub owner: Option<(String, Option<String>)>,
    /// `[lvs_]notify_fifo_script`: started with the FIFO's path as last argument.
    pub script: Option<NotifyScript>,
}

/// Global LVS settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Globals {
    /// `lvs_timeouts` (0 = leave unchanged).
    pub timeouts: Option<ipvs_nl::Timeouts>,
    /// `lvs_flush`: flush the whole IPVS table at start.
    pub flush: bool,
    /// `lvs_flush_on_stop [VS]`.
    pub flush_on_stop: cp::FlushOnStop,
    /// `lvs_sync_daemon` (recorded; its VRRP-driven start/stop is not implemented).
    pub sync_daemon: Option<cp::LvsSyncDaemon>,
    /// `notify_fifo` then `lvs_notify_fifo`: every checker line goes to both (keepalived's
    /// `notify_fifo_rs`/`notify_fifo_vs`).
    pub fifos: Vec<NotifyFifo>,
    /// `rs_init_notifies`: the real servers alive at start are notified UP.
    pub rs_init_notifies: bool,
    /// `no_checker_emails`: a checker's mail only when its real server's state changes.
    pub no_checker_emails: bool,
    /// Where to send `smtp_alert` mail (`None` without `smtp_server` or `notification_email`).
    pub smtp: Option<std::sync::Arc<smtp_alert::Settings>>,
    /// The `SSL { }` block: SSL_GET's client certificate (None: keepalived's default context).
    pub ssl: Option<hc::tls::SslFiles>,
    /// `nftables_ipvs`: the group ranges marked by nftables for fwmark services.
    pub nft_ipvs: Option<crate::nft_ipvs::Settings>,
}

/// The compiled director configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DirectorConfig {
    /// Virtual servers in configuration order.
    pub virtual_servers: Vec<VirtualServer>,
    /// Global settings.
    pub globals: Globals,
}

impl DirectorConfig {
    /// Does any real server have an SSL_GET checker (keepalived's `ssl_required`)?
    pub fn ssl_required(&self) -> bool {
        self.virtual_servers.iter().any(|v| {
            v.real_servers.iter().any(|r| {
                r.checks
                    .iter()
                    .any(|c| matches!(c.checker.kind, hc::CheckKind::Ssl(_)))
            })
        })
    }

    /// Every IPVS service key this configuration manages.
    pub fn service_keys(&self) -> BTreeSet<ServiceKey> {
        self.virtual_servers
            .iter()
            .flat_map(|v| v.services.iter().map(|s| s.key))
            .collect()
    }
}

fn proto_raw(p: cp::Protocol) -> u16 {
    match p {
        cp::Protocol::Tcp => 6,
        cp::Protocol::Udp => 17,
        cp::Protocol::Sctp => 132,
    }
}

fn proto_nl(p: cp::Protocol) -> Protocol {
    Protocol::from_raw(proto_raw(p))
}

fn forward(kind: cp::LbKind) -> Forward {
    match kind {
        cp::LbKind::Nat => Forward::Masq,
        cp::LbKind::Dr => Forward::Route,
        cp::LbKind::Tun => Forward::Tunnel(Tunnel::IPIP),
    }
}

fn family(vs: &cp::VirtualServer, first_addr: Option<IpAddr>) -> AddressFamily {
    match vs.ip_family {
        Some(cp::IpFamily::Inet6) => AddressFamily::Inet6,
        Some(cp::IpFamily::Inet) => AddressFamily::Inet,
        None => match first_addr.or_else(|| vs.real_servers.first().map(|r| r.addr)) {
            Some(a) => AddressFamily::of(&a),
            None => AddressFamily::Inet,
        },
    }
}

/// Every address of an inclusive range `first..=last` (same family; at most 65,536).
fn expand_range(first: IpAddr, last: IpAddr) -> Vec<IpAddr> {
    match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let (a, b) = (u32::from(a), u32::from(b));
            if b < a || b - a > 65_535 {
                return vec![first];
            }
            (a..=b)
                .map(|x| IpAddr::V4(std::net::Ipv4Addr::from(x)))
                .collect()
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let (a, b) = (u128::from(a), u128::from(b));
            if b < a || b - a > 65_535 {
                return vec![first];
            }
            (a..=b)
                .map(|x| IpAddr::V6(std::net::Ipv6Addr::from(x)))
                .collect()
        }
        _ => vec![first],
    }
}

/// The service's netmask field for a typed `persistence_granularity` (None: its family is
/// not the service's).
fn netmask(gran: cp::Granularity, af: AddressFamily) -> Option<u32> {
    match (gran, af) {
        (cp::Granularity::V4(m), AddressFamily::Inet) => Some(u32::from(m)),
        (cp::Granularity::V6(bits), AddressFamily::Inet6) => Some(u32::from(bits)),
        _ => None,
    }
}

fn sched_flags(f: cp::SchedFlags) -> ServiceFlags {
    let mut out = ServiceFlags::empty();
    for (on, flag) in [
        (f.flag1, ServiceFlags::SCHED1),
        (f.flag2, ServiceFlags::SCHED2),
        (f.flag3, ServiceFlags::SCHED3),
        (f.ops, ServiceFlags::ONEPACKET),
    ] {
        if on {
            out = out | flag;
        }
    }
    out
}

fn scheduler(s: cp::Scheduler) -> Scheduler {
    match s {
        cp::Scheduler::Rr => Scheduler::Rr,
        cp::Scheduler::Wrr => Scheduler::Wrr,
        cp::Scheduler::Lc => Scheduler::Lc,
        cp::Scheduler::Wlc => Scheduler::Wlc,
        cp::Scheduler::Lblc => Scheduler::Lblc,
        cp::Scheduler::Sh => Scheduler::Sh,
        cp::Scheduler::Mh => Scheduler::Mh,
        cp::Scheduler::Dh => Scheduler::Dh,
        cp::Scheduler::Fo => Scheduler::Fo,
        cp::Scheduler::Ovf => Scheduler::Ovf,
        cp::Scheduler::Lblcr => Scheduler::Lblcr,
        cp::Scheduler::Sed => Scheduler::Sed,
        cp::Scheduler::Nq => Scheduler::Nq,
        cp::Scheduler::Twos => Scheduler::Twos,
    }
}

/// Resolve one conf-parse checker into a healthcheck job spec. `Err` names why it cannot run.
fn check_spec(
    cfg: &cp::Config,
    vs: &cp::VirtualServer,
    rs: &cp::RealServer,
    target: SocketAddr,
    c: &cp::Checker,
) -> Result<hc::scheduler::CheckSpec, String> {
    let co = &c.common;
    let conn = hc::ConnOpts {
        connect_ip: co.connect_ip,
        connect_port: co.connect_port,
        bindto: co.bindto,
        bind_port: co.bind_port,
        bind_if: co.bind_if.clone(),
        fwmark: co.fwmark,
        connect_timeout: co.connect_timeout,
    };
    let vhost = rs.virtualhost.clone().or_else(|| vs.virtualhost.clone());
    let http = |h: &cp::HttpCheck| -> Result<hc::HttpCheck, String> {
        let mut urls = Vec::new();
        for u in &h.urls {
            urls.push(hc::Url {
                path: u.path.clone(),
                digest: u.digest,
                status_codes: u
                    .status_codes
                    .iter()
                    .map(|(lo, hi)| hc::StatusRange { lo: *lo, hi: *hi })
                    .collect(),
                virtualhost: u.virtualhost.clone(),
                regex: u.regex.as_ref().map(|p| {
                    hc::UrlRegex::new(
                        p,
                        &u.regex_options,
                        u.regex_no_match,
                        u.regex_min_offset,
                        u.regex_max_offset,
                    )
                }),
                // keepalived 2.4.3: quiet shutdown unless the url or the checker says
                // tls_compliant (a url's `tls_compliant false` does not override the checker).
                tls_compliant: u.tls_compliant == Some(true) || h.tls_compliant,
            });
        }
        Ok(hc::HttpCheck {
            urls,
            protocol: match h.http_protocol {
                Some(cp::HttpProtocol::Http10C) => hc::HttpProtocol::Http10Close,
                Some(cp::HttpProtocol::Http11) => hc::HttpProtocol::Http11,
                Some(cp::HttpProtocol::Http10) | None => hc::HttpProtocol::Http10,
            },
            virtualhost: h.virtualhost.clone().or_else(|| vhost.clone()),
            enable_sni: h.enable_sni,
            sni_name: None,
            fast_recovery: h.fast_recovery,
        })
    };
    let kind = match &c.kind {
        cp::CheckerKind::Tcp => hc::CheckKind::Tcp,
        cp::CheckerKind::Ping => hc::CheckKind::Ping,
        cp::CheckerKind::Http(h) => hc::CheckKind::Http(http(h)?),
        cp::CheckerKind::Ssl(h) => hc::CheckKind::Ssl(http(h)?),
        cp::CheckerKind::Misc(m) => {
            // keepalived (check_misc.c): the user is the checker's, else script_user, else
            // keepalived_script; an unsafe or missing script disables the checker.
            let policy = policy(cfg);
            let own = m.user.as_ref().map(|(u, g)| (u.as_str(), g.as_deref()));
            let argv = script_runner::split(&m.misc_path).map_err(|e| e.to_string())?;
            let user = policy.user_names(own).map_err(|e| e.to_string())?;
            let as_user = user.as_ref().map(|(u, g)| (u.as_str(), g.as_deref()));
            script_runner::prepare_as_keeping(
                argv.clone(),
                as_user,
                policy.security,
                policy.keep_symlinks,
            )
            .map_err(|e| format!("misc script {}: {e}", m.misc_path))?;
            hc::CheckKind::Misc(hc::MiscCheck {
                argv,
                timeout: m.misc_timeout.unwrap_or(co.delay_loop),
                dynamic: m.misc_dynamic,
                user: user.as_ref().map(|u| u.0.clone()),
                group: user.and_then(|u| u.1),
                script_security: policy.security,
                keep_symlinks: policy.keep_symlinks,
            })
        }
        cp::CheckerKind::Smtp(s) => hc::CheckKind::Smtp(hc::SmtpCheck {
            helo_name: s
                .helo_name
                .clone()
                .unwrap_or_else(|| hc::SmtpCheck::DEFAULT_HELO.to_string()),
        }),
        cp::CheckerKind::Dns(d) => hc::CheckKind::Dns(hc::DnsCheck {
            qtype: d.qtype.map_or(hc::dns::TYPE_SOA, cp::DnsType::code),
            name: d.name.clone().unwrap_or_default(),
            expect_addrs: Vec::new(),
        }),
        cp::CheckerKind::Udp(u) => {
            let reply = u.require_reply.as_ref().filter(|r| !r.data.is_empty());
            hc::CheckKind::Udp(hc::UdpCheck {
                payload: u.payload.clone(),
                require_reply: u.require_reply.is_some(),
                reply_data: reply.map(|r| r.data.clone()),
                reply_mask: reply.and_then(|r| r.mask.clone()),
                min_reply_len: u.min_reply_length.map_or(0, |v| v.min(65_535) as u16),
                max_reply_len: u.max_reply_length.map_or(255, |v| v.min(65_535) as u16),
            })
        }
        cp::CheckerKind::File(f) => {
            let tf = cfg
                .track_files
                .iter()
                .find(|t| t.name == f.track_file)
                .ok_or_else(|| format!("track_file {} not defined", f.track_file))?;
            hc::CheckKind::File(hc::FileCheck {
                path: tf.file.clone().into(),
                weight: f.weight.unwrap_or(tf.weight),
                reverse: f.weight_reverse || tf.weight_reverse,
            })
        }
        cp::CheckerKind::Bfd(_) => return Err("BFD_CHECK is not supported".to_string()),
    };
    let mut params = hc::CheckParams::keepalived_defaults(&kind, co.delay_loop);
    params.retry = co.retry;
    params.delay_before_retry = co.delay_before_retry;
    // conf-parse resolved keepalived's default (the delay_loop); 0 means check at once.
    params.warmup = co.warmup;
    params.alpha = co.alpha;
    params.log_all_failures = co.log_all_failures || cfg.global.checker_log_all_failures;
    Ok(hc::scheduler::CheckSpec {
        checker: hc::Checker { kind, conn },
        target: hc::Target::new(target),
        params,
    })
}

/// SMTP_CHECK `host { }` blocks (check_smtp.c, WITH_HOST_ENTRIES, deprecated but read by
/// keepalived 2.2.7): each host is a checker of its own with the SMTP_CHECK's settings and the
/// host's connection (`connect_ip` default the real server's address, `connect_port` its port,
/// `connect_timeout` the real/virtual server's). The SMTP_CHECK's own connection is checked
/// too when it has any connection setting of its own or no host; otherwise the first host
/// takes its place. (A checker-level `connect_timeout` equal to the inherited one cannot be
/// told from none here; keepalived would then keep the SMTP_CHECK's own check too.)
fn smtp_hosts(
    vs: &cp::VirtualServer,
    rs: &cp::RealServer,
    c: &cp::Checker,
    main: hc::scheduler::CheckSpec,
) -> Vec<hc::scheduler::CheckSpec> {
    let cp::CheckerKind::Smtp(s) = &c.kind else {
        return vec![main];
    };
    if s.hosts.is_empty() {
        return vec![main];
    }
    let inherited = rs
        .connect_timeout
        .or(vs.connect_timeout)
        .unwrap_or(std::time::Duration::from_secs(5));
    let co = &c.common;
    let own = co.connect_ip.is_some()
        || co.connect_port.is_some()
        || co.bindto.is_some()
        || co.bind_port.is_some()
        || co.bind_if.is_some()
        || co.fwmark.is_some()
        || co.connect_timeout != inherited;
    let mut out = Vec::new();
    if own {
        out.push(main.clone());
    }
    for h in &s.hosts {
        let mut spec = main.clone();
        spec.checker.conn = hc::ConnOpts {
            connect_ip: h.connect_ip,
            connect_port: h.connect_port,
            bindto: h.bindto,
            bind_port: h.bind_port,
            bind_if: h.bind_if.clone(),
            fwmark: h.fwmark,
            connect_timeout: h.connect_timeout.unwrap_or(inherited),
        };
        out.push(spec);
    }
    out
}

/// Compile a parsed configuration. Returns the model and warnings (skipped items).
pub fn compile(cfg: &cp::Config) -> (DirectorConfig, Vec<String>) {
    let mut warnings = Vec::new();
    let g = &cfg.global;
    let mail = crate::mail::defs(g);
    let globals = Globals {
        timeouts: g.lvs_timeouts.map(|t| ipvs_nl::Timeouts {
            tcp: t.tcp.unwrap_or(0),
            tcp_fin: t.tcpfin.unwrap_or(0),
            udp: t.udp.unwrap_or(0),
        }),
        flush: g.lvs_flush,
        flush_on_stop: g.lvs_flush_on_stop,
        sync_daemon: g.lvs_sync_daemon.clone(),
        fifos: [(&g.notify_fifo, ""), (&g.lvs_notify_fifo, "lvs_")]
            .into_iter()
            .filter_map(|(f, kind)| {
                Some(NotifyFifo {
                    path: f.name.clone()?,
                    kind,
                    owner: f.user.clone(),
                    script: f.script.as_ref().map(|s| notify_script(cfg, s)),
                })
            })
            .collect(),
        rs_init_notifies: g.rs_init_notifies,
        no_checker_emails: g.no_checker_emails,
        smtp: smtp_alert::Settings::from_global(&mail, smtp_alert::local_name().as_deref())
            .map(std::sync::Arc::new),
        ssl: cfg.ssl.as_ref().map(|s| hc::tls::SslFiles {
            certificate: s.certificate.clone().map(Into::into),
            key: s.key.clone().map(Into::into),
            ca: s.ca.clone().map(Into::into),
            password: s.password.clone(),
        }),
        nft_ipvs: None,
    };
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    // nftables_ipvs: (group, protocol) → mark, given in configuration order.
    let mut nft_ipvs = g
        .nftables
        .ipvs_table
        .as_ref()
        .map(|t| crate::nft_ipvs::Settings {
            table: t.clone(),
            priority: g.nftables.ipvs_priority.unwrap_or(-1),
            counters: g.nftables.counters,
            entries: Vec::new(),
        });
    let mut next_mark = g.nftables.ipvs_start_fwmark.unwrap_or(1000);
    let mut auto_marks: Vec<(String, u16, u32)> = Vec::new();
    for vs in &cfg.virtual_servers {
        let proto = proto_raw(vs.protocol);
        let sched = scheduler(vs.lb_algo);
        let flags = sched_flags(vs.sched_flags);
        let (id, keys): (VsId, Vec<(ServiceKey, u16)>) = match &vs.key {
            cp::VsKey::Addr(ip, port) => (
                VsId::Addr(*ip, *port, proto),
                vec![(
                    ServiceKey::Addr {
                        protocol: proto_nl(vs.protocol),
                        addr: *ip,
                        port: *port,
                    },
                    *port,
                )],
            ),
            cp::VsKey::Fwmark(m) => {
                let af = family(vs, None);
                (
                    VsId::Fwmark(*m, af.raw()),
                    vec![(ServiceKey::fwmark(af, *m), 0)],
                )
            }
            cp::VsKey::Group(name) => {
                let Some(grp) = cfg.virtual_server_groups.iter().find(|g| &g.name == name) else {
                    warnings.push(format!(
                        "virtual_server group {name}: no virtual_server_group {name}, skipped"
                    ));
                    continue;
                };
                let first = grp.entries.iter().find_map(|e| match e {
                    cp::VsgEntry::Range { first, .. } => Some(*first),
                    cp::VsgEntry::Fwmark(_) => None,
                });
                let af = family(vs, first);
                let mut keys = Vec::new();
                let no_fwmark = !grp
                    .entries
                    .iter()
                    .any(|e| matches!(e, cp::VsgEntry::Fwmark(_)));
                if let (Some(nft), true) = (nft_ipvs.as_mut(), no_fwmark && first.is_some()) {
                    // ipvswrapper.c ipvs_cmd: the group's ranges are marked by nftables and
                    // the service is a fwmark service, per family of the group (or the
                    // virtual server's ip_family).
                    let mark = match auto_marks.iter().find(|m| &m.0 == name && m.1 == proto) {
                        Some(m) => m.2,
                        None => {
                            let m = next_mark;
                            next_mark = next_mark.wrapping_add(1);
                            auto_marks.push((name.clone(), proto, m));
                            for e in &grp.entries {
                                if let cp::VsgEntry::Range { first, last, port } = e {
                                    nft.entries.push(crate::nft_ipvs::Entry {
                                        proto,
                                        first: *first,
                                        last: *last,
                                        port: *port,
                                        mark: m,
                                    });
                                }
                            }
                            m
                        }
                    };
                    let mut afs = vec![af];
                    if vs.ip_family.is_none() {
                        for e in &grp.entries {
                            if let cp::VsgEntry::Range { first, .. } = e {
                                let f = AddressFamily::of(first);
                                if !afs.contains(&f) {
                                    afs.push(f);
                                }
                            }
                        }
                    }
                    for f in afs {
                        keys.push((ServiceKey::fwmark(f, mark), 0));
                    }
                    (VsId::Group(name.clone(), proto), keys)
                } else {
                    for e in &grp.entries {
                        match e {
                            cp::VsgEntry::Range { first, last, port } => {
                                for a in expand_range(*first, *last) {
                                    keys.push((
                                        ServiceKey::Addr {
                                            protocol: proto_nl(vs.protocol),
                                            addr: a,
                                            port: *port,
                                        },
                                        *port,
                                    ));
                                }
                            }
                            cp::VsgEntry::Fwmark(m) => keys.push((ServiceKey::fwmark(af, *m), 0)),
                        }
                    }
                    (VsId::Group(name.clone(), proto), keys)
                }
            }
        };
        if !seen.insert(id.clone()) {
            warnings.push(format!(
                "virtual_server {id}: defined twice, second skipped"
            ));
            continue;
        }
        let mut services = Vec::new();
        for (key, _) in &keys {
            let mut s = Service::new(*key, sched.clone()).with_flags(flags);
            if let Some(t) = vs.persistence_timeout {
                s = s.persistent(t);
                if let Some(gr) = vs.persistence_granularity {
                    match netmask(gr, key.af()) {
                        Some(m) => s.netmask = m,
                        None => warnings.push(format!(
                            "virtual_server {id}: persistence_granularity {gr:?} is not of the \
                             service's family, ignored"
                        )),
                    }
                }
            }
            s.pe_name = vs.persistence_engine.clone();
            services.push(s);
        }
        // The port IPVS keeps for DR/TUN destinations is the service's (0 for fwmark and
        // groups with several ports); we program that so the readback matches.
        let svc_port = match keys.as_slice() {
            [(_, p)] => Some(*p),
            _ => None,
        };
        let vs_smtp = smtp_alert::checker_vs_enabled(&mail, vs.smtp_alert);
        let mut rss = Vec::new();
        let mut seen_rs = BTreeSet::new();
        for rs in &vs.real_servers {
            let port = rs.port.unwrap_or(0);
            let rid = RsId {
                vs: id.clone(),
                addr: rs.addr,
                port,
            };
            if !seen_rs.insert(rid.clone()) {
                warnings.push(format!(
                    "virtual_server {id}: real_server {rid} twice, skipped"
                ));
                continue;
            }
            let fwd = forward(rs.lvs_method.unwrap_or(vs.lb_kind));
            let dport = match fwd {
                Forward::Masq => {
                    if rs.port.is_some() {
                        port
                    } else {
                        svc_port.unwrap_or(0)
                    }
                }
                _ => svc_port.unwrap_or(port),
            };
            let mut dest = Destination::new(rs.addr, dport, fwd).with_weight(rs.weight);
            dest.upper_threshold = rs.uthreshold.unwrap_or(0);
            dest.lower_threshold = rs.lthreshold.unwrap_or(0);
            let target = SocketAddr::new(rs.addr, if rs.port.is_some() { port } else { dport });
            // Sized for one spec per checker (SMTP_CHECK hosts add more): a Vec grown from
            // empty keeps room for 4 specs (over 1 kB) per real server.
            let mut checks = Vec::with_capacity(rs.checkers.len());
            let mut bfd_checks: Vec<BfdCheckSpec> = Vec::new();
            for c in &rs.checkers {
                if let cp::CheckerKind::Bfd(b) = &c.kind {
                    // check_bfd.c: the BFD must exist and send its events to the checker; a
                    // real server monitors a session once.
                    let known = cfg
                        .bfd_instances
                        .iter()
                        .any(|i| i.name == b.name && (i.checker || !i.vrrp));
                    if !known {
                        warnings.push(format!("({rid}) BFD_CHECK - BFD {} not configured", b.name));
                    } else if bfd_checks.iter().any(|x| x.name == b.name) {
                        warnings.push(format!(
                            "({rid}) BFD_CHECK - RS already monitoring {}",
                            b.name
                        ));
                    } else {
                        bfd_checks.push(BfdCheckSpec {
                            name: b.name.clone(),
                            alpha: c.common.alpha,
                        });
                    }
                    continue;
                }
                match check_spec(cfg, vs, rs, target, c) {
                    Ok(s) => checks.extend(smtp_hosts(vs, rs, c, s)),
                    Err(e) => warnings.push(format!(
                        "virtual_server {id} real_server {rid} {}: {e}; checker ignored",
                        c.kind.keyword()
                    )),
                }
            }
            rss.push(RealServer {
                id: rid,
                dest,
                inhibit: rs.inhibit_on_failure.unwrap_or(vs.inhibit_on_failure),
                notify_up: rs.notify_up.as_ref().map(|s| notify_script(cfg, s)),
                notify_down: rs.notify_down.as_ref().map(|s| notify_script(cfg, s)),
                // check_data.c: not inherited from the virtual server; on by default.
                smtp_alert: smtp_alert::checker_rs_enabled(&mail, rs.smtp_alert),
                checks,
                bfd_checks,
            });
        }
        let sorry = vs.sorry_server.map(|(addr, port)| {
            let fwd = forward(vs.sorry_server_lvs_method.unwrap_or(vs.lb_kind));
            let p = match fwd {
                Forward::Masq => port,
                _ => svc_port.unwrap_or(port),
            };
            Destination::new(addr, p, fwd).with_weight(1)
        });
        out.push(VirtualServer {
            id,
            services,
            real_servers: rss,
            sorry,
            sorry_inhibit: vs.sorry_server_inhibit,
            quorum: vs.quorum,
            hysteresis: vs.hysteresis,
            quorum_up: vs.quorum_up.as_ref().map(|s| notify_script(cfg, s)),
            quorum_down: vs.quorum_down.as_ref().map(|s| notify_script(cfg, s)),
            ha_suspend: vs.ha_suspend,
            smtp_alert: vs_smtp,
            omega: vs.omega,
        });
    }
    let mut globals = globals;
    globals.nft_ipvs = nft_ipvs;
    (
        DirectorConfig {
            virtual_servers: out,
            globals,
        },
        warnings,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiled(text: &str) -> DirectorConfig {
        let p = cp::parse_str(text, "t.conf", &cp::ParseOptions::default());
        assert!(!p.has_errors(), "{:?}", p.diagnostics);
        compile(&p.config).0
    }

    // Proves check_data.c's smtp_alert rules: virtual servers off by default, real servers on
    // by default and not inheriting the virtual server; smtp_alert_checker before smtp_alert;
    // and keepalived's FMT_VS / FMT_RS texts used in the subjects.
    #[test]
    fn smtp_alert_rules_and_names() {
        let vs = |globals: &str, vs_own: &str, rs_own: &str| {
            let c = compiled(&format!(
                "global_defs {{ {globals} }}\nvirtual_server 10.0.0.1 80 {{ lb_algo rr\n lb_kind NAT\n protocol TCP\n {vs_own}\n \
                 real_server 10.0.0.2 8080 {{ {rs_own}\n TCP_CHECK {{ }} }} }}"
            ));
            let v = &c.virtual_servers[0];
            (v.smtp_alert, v.real_servers[0].smtp_alert)
        };
        assert_eq!(vs("", "", ""), (false, true));
        assert_eq!(
            vs("", "smtp_alert off", ""),
            (false, true),
            "rs does not inherit"
        );
        assert_eq!(vs("smtp_alert", "", ""), (true, true));
        assert_eq!(vs("smtp_alert off", "", ""), (false, false));
        assert_eq!(
            vs("smtp_alert off\n smtp_alert_checker on", "", ""),
            (true, true)
        );
        assert_eq!(vs("smtp_alert", "", "smtp_alert off"), (true, false));
        let c = compiled(
            "virtual_server 10.0.0.1 80 { lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server 10.0.0.2 8080 { TCP_CHECK { } } }\n\
             virtual_server fwmark 5 { lb_algo rr\n lb_kind DR\n real_server 10.0.0.3 80 { TCP_CHECK { } } }",
        );
        let rs = &c.virtual_servers[0].real_servers[0].id;
        assert_eq!(rs.vs.keepalived_fmt(), "[10.0.0.1]:tcp:80");
        assert_eq!(rs.keepalived_fmt(), "[10.0.0.2]:tcp:8080");
        assert_eq!(c.virtual_servers[1].id.keepalived_fmt(), "FWM 5");
        assert!(c.globals.smtp.is_none(), "no smtp_server: no mail");
    }
}
