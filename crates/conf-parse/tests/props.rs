//! Property tests: printing a model and parsing it back gives the same model; arbitrary
//! bytes never panic the parser.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use conf_parse::*;
use proptest::prelude::*;

fn opts() -> ParseOptions {
    ParseOptions {
        config_id: Some("n1".into()),
        random_seed: Some(1),
        ..ParseOptions::default()
    }
}

/// Small expansion limits for random inputs (nested ~SEQ can expand exponentially; the
/// limit is what bounds it, and a small one keeps the test fast).
fn small_opts() -> ParseOptions {
    ParseOptions {
        max_lines: 20_000,
        ..opts()
    }
}

/// `check_str_with` ≡ `parse_str` + `system_checks_with` + `exit_code` on `text`.
fn check_matches_parse(text: &str, o: &ParseOptions) -> Result<(), TestCaseError> {
    let ifaces: std::collections::HashSet<String> =
        ["lo", "eth0"].iter().map(|s| s.to_string()).collect();
    let exec = |p: &std::path::Path| p.starts_with("/bin");
    let parsed = parse_str(text, "t.conf", o);
    let system = system_checks_with(&parsed.config, &ifaces, &exec);
    let report = check_str_with(text, "t.conf", o, &ifaces, &exec);
    prop_assert_eq!(&report.diagnostics, &parsed.diagnostics, "\n{}", text);
    prop_assert_eq!(&report.system, &system, "\n{}", text);
    prop_assert_eq!(report.exit_code, exit_code(&parsed, &system));
    Ok(())
}

fn ident() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_.:-]{0,12}"
}

/// Free text that needs quoting sometimes (spaces, #, !, quotes, braces), never `$`.
fn text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9/ #!{}\"'.@~_-]{1,24}".prop_filter("not blank", |s| !s.trim().is_empty())
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o))),
        any::<[u16; 8]>().prop_map(|s| IpAddr::V6(Ipv6Addr::from(s))),
    ]
}

/// `a` in the family of `like` (keepalived rejects mixed families in an instance or a virtual
/// server: generated models stay valid configurations).
fn same_family(a: IpAddr, like: IpAddr) -> IpAddr {
    match (a, like) {
        (IpAddr::V6(v6), IpAddr::V4(_)) => {
            let o = v6.octets();
            IpAddr::V4(Ipv4Addr::new(o[12], o[13], o[14], o[15]))
        }
        (IpAddr::V4(v4), IpAddr::V6(_)) => IpAddr::V6(v4.to_ipv6_mapped()),
        _ => a,
    }
}

fn secs(max: u64) -> impl Strategy<Value = Duration> {
    (0..=max).prop_map(Duration::from_secs)
}

fn micros(min: u64, max: u64) -> impl Strategy<Value = Duration> {
    (min..=max).prop_map(Duration::from_micros)
}

fn vip() -> impl Strategy<Value = IpAddress> {
    (
        ip(),
        any::<u8>(),
        proptest::option::of(ident()),
        proptest::option::of(ident()),
        any::<bool>(),
    )
        .prop_map(|(addr, p, dev, label, no_track)| {
            let max = if addr.is_ipv4() { 33 } else { 129 };
            IpAddress {
                addr,
                prefix_len: p % max,
                brd: None,
                dev,
                label,
                scope: None,
                peer: None,
                no_track,
                preferred_lft: None,
                flags: Default::default(),
                use_vmac: false,
                track_group: None,
                loc: Loc::default(),
            }
        })
}

fn track() -> impl Strategy<Value = TrackRef> {
    (ident(), proptest::option::of(-254i32..=254), any::<bool>()).prop_map(
        |(name, weight, reverse)| TrackRef {
            name,
            weight,
            reverse,
            loc: Loc::default(),
        },
    )
}

fn script() -> impl Strategy<Value = Option<Script>> {
    proptest::option::of(
        (text(), proptest::option::of(ident())).prop_map(|(command, user)| Script {
            command,
            user,
            group: None,
        }),
    )
}

fn instance() -> impl Strategy<Value = VrrpInstance> {
    (
        ident(),
        any::<bool>(),
        proptest::option::of(ident()),
        1u8..=255,
        1u8..=255,
        1u64..=255,
        proptest::collection::vec(vip(), 0..4),
        proptest::collection::vec(track(), 0..3),
        (
            any::<bool>(),
            proptest::option::of(any::<bool>()),
            micros(0, 1_000_000_000),
        ),
        (
            proptest::option::of("[A-Za-z0-9]{0,8}"),
            script(),
            proptest::collection::vec((ip(), proptest::option::of(0u8..=255)), 0..3),
        ),
    )
        .prop_map(
            |(
                name,
                master,
                interface,
                vrid,
                prio,
                adv,
                vips,
                tracks,
                (preempt, accept, pdelay),
                (pass, notify, peers),
            )| {
                let mut v = VrrpInstance::new(&name);
                v.state = if master {
                    VrrpState::Master
                } else {
                    VrrpState::Backup
                };
                v.interface = interface;
                v.virtual_router_id = Some(vrid);
                v.priority = prio;
                v.advert_int = Duration::from_secs(adv);
                v.virtual_ipaddress = vips;
                let first = v.virtual_ipaddress.first().map(|a| a.addr);
                if let Some(f) = first {
                    for a in &mut v.virtual_ipaddress {
                        a.addr = same_family(a.addr, f);
                        let max = if a.addr.is_ipv4() { 33 } else { 129 };
                        a.prefix_len %= max;
                    }
                }
                v.track_interface = tracks;
                v.preempt = preempt;
                v.accept = accept;
                v.preempt_delay = pdelay;
                v.authentication = pass.map(|p| Authentication {
                    auth_type: AuthType::Pass,
                    auth_pass: p,
                });
                v.notify_master = notify.map(Box::new);
                let first = first.or(peers.first().map(|p| p.0));
                v.unicast_peer = peers
                    .into_iter()
                    .map(|(addr, t)| UnicastPeer {
                        addr: first.map_or(addr, |f| same_family(addr, f)),
                        min_ttl: t,
                        max_ttl: None,
                        loc: Loc::default(),
                    })
                    .collect();
                v
            },
        )
}

fn checker(vs_delay: Duration) -> impl Strategy<Value = Checker> {
    (
        0u8..3,
        proptest::option::of(1u16..=65535),
        micros(1, 100_000_000),
        0u32..10,
        micros(0, 100_000_000),
        proptest::collection::vec(
            (
                "/[a-z]{0,8}",
                proptest::option::of(any::<[u8; 16]>()),
                proptest::collection::vec((100u16..600).prop_map(|c| (c, c)), 0..3),
            ),
            1..3, // keepalived rejects an HTTP_GET without url
        ),
    )
        .prop_map(move |(k, port, ct, retry, dbr, urls)| {
            let kind = match k {
                0 => CheckerKind::Tcp,
                1 => CheckerKind::Http(Box::new(HttpCheck {
                    urls: urls
                        .into_iter()
                        .map(|(path, digest, status_codes)| UrlCheck {
                            path,
                            digest,
                            status_codes,
                            ..UrlCheck::default()
                        })
                        .collect(),
                    ..HttpCheck::default()
                })),
                _ => CheckerKind::Ping,
            };
            Checker {
                common: CheckerCommon {
                    connect_port: port,
                    connect_timeout: ct,
                    retry,
                    delay_before_retry: dbr,
                    delay_loop: vs_delay,
                    ..CheckerCommon::default()
                },
                kind,
                extra: Vec::new(),
                loc: Loc::default(),
            }
        })
}

fn virtual_server() -> impl Strategy<Value = VirtualServer> {
    (
        ip(),
        any::<u16>(),
        micros(1, 10_000_000_000),
        prop_oneof![Just(LbKind::Nat), Just(LbKind::Dr), Just(LbKind::Tun)],
        proptest::option::of(1u32..=2_678_400),
        // every scheduler keepalived accepts (other names are an error since conf-parse
        // checks them as keepalived does)
        proptest::sample::select(conf_parse::Scheduler::ALL.to_vec()),
    )
        .prop_flat_map(|(a, port, delay, kind, pt, algo)| {
            let rs = proptest::collection::vec(
                (
                    ip(),
                    proptest::option::of(any::<u16>()),
                    0u32..1000,
                    proptest::collection::vec(checker(delay), 0..3),
                ),
                1..4,
            );
            (Just((a, port, delay, kind, pt, algo)), rs)
        })
        .prop_map(|((a, port, delay, kind, pt, algo), rss)| {
            let mut vs = VirtualServer::new(VsKey::Addr(a, port));
            vs.delay_loop = delay;
            vs.lb_kind = kind;
            vs.persistence_timeout = pt;
            vs.lb_algo = algo;
            for (addr, p, w, checkers) in rss {
                if vs
                    .real_servers
                    .iter()
                    .any(|r: &RealServer| r.addr == same_family(addr, a) && r.port == p)
                {
                    continue;
                }
                let mut rs = RealServer::new(same_family(addr, a), p);
                rs.weight = w;
                rs.checkers = checkers;
                vs.real_servers.push(rs);
            }
            vs
        })
}

fn config() -> impl Strategy<Value = Config> {
    (
        proptest::option::of(ident()),
        proptest::collection::vec("[a-z]{1,8}@[a-z]{1,8}\\.org", 0..3),
        secs(1000).prop_map(|d| d.max(Duration::from_secs(1))), // 0: keepalived says no
        any::<bool>(),
        micros(1, 4_294_967_295),
        proptest::collection::vec(instance(), 0..3),
        proptest::collection::vec(virtual_server(), 0..3),
        proptest::collection::vec((ident(), text(), 1u64..100, -253i32..=253, 1u32..10), 0..3),
    )
        .prop_map(
            |(rid, emails, smtp_to, strict, garp, instances, vss, scripts)| {
                let mut c = Config::default();
                c.global.router_id = rid;
                c.global.notification_email = emails;
                c.global.smtp_connect_timeout = smtp_to;
                c.global.vrrp_strict = strict;
                c.global.vrrp_garp_interval = garp;
                c.vrrp_instances = instances;
                // instance names are unique in a keepalived configuration
                for (i, v) in c.vrrp_instances.iter_mut().enumerate() {
                    v.name = format!("{}_{i}", v.name);
                }
                if strict {
                    // Strict mode's fix-ups (keepalived's): no authentication, no v2 accept
                    // mode, IPv6 is v3.
                    for v in &mut c.vrrp_instances {
                        v.authentication = None;
                        if v.accept == Some(true) {
                            v.accept = Some(false);
                        }
                        if v.virtual_ipaddress
                            .first()
                            .is_some_and(|a| a.addr.is_ipv6())
                        {
                            v.version = Some(3);
                        }
                    }
                }
                c.virtual_servers = vss;
                c.vrrp_scripts = scripts
                    .into_iter()
                    .map(|(name, script, interval, weight, rise)| {
                        let mut s = VrrpScript::new(&name);
                        s.script = script;
                        s.interval = Duration::from_secs(interval);
                        s.weight = weight;
                        s.rise = rise;
                        s
                    })
                    .collect();
                c
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// print → parse is the identity on generated models, and the printed text parses
    /// without unknown keywords or value errors.
    #[test]
    fn print_parse_identity(c in config()) {
        let text = print(&c);
        let p = parse_str(&text, "printed.conf", &opts());
        let bad: Vec<String> = p
            .diagnostics
            .iter()
            .filter(|d| matches!(d.code, Code::UnknownKeyword | Code::OutOfRange | Code::BadNumber | Code::InvalidValue | Code::MissingValue | Code::ExtraBrace | Code::MissingBrace | Code::UnterminatedQuote))
            .map(|d| d.to_string())
            .collect();
        prop_assert!(bad.is_empty(), "{:?}\n{}", bad, text);
        prop_assert_eq!(&p.config, &c, "\n{}", text);
        // and printing again is stable
        prop_assert_eq!(print(&p.config), text);
    }

    /// The bounded-memory check (`check_str_with`) reports exactly what the full parse +
    /// system checks report, on generated models.
    #[test]
    fn check_matches_parse_on_generated(c in config()) {
        let text = print(&c);
        check_matches_parse(&text, &opts())?;
    }

    /// Arbitrary bytes never panic the parser.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse_str(&text, "fuzz.conf", &small_opts());
    }

    /// Arbitrary keyword soup (tokens of the language) never panics.
    #[test]
    fn token_soup_never_panics(toks in proptest::collection::vec(prop_oneof![
        Just("{".to_string()), Just("}".to_string()), Just("\n".to_string()), Just("\"".to_string()),
        Just("$A=".to_string()), Just("$A".to_string()), Just("${A}".to_string()), Just("~SEQ(i,1,3)".to_string()),
        Just("~LST(a,b,c)".to_string()), Just("@n1".to_string()), Just("@^n1".to_string()), Just("\\".to_string()),
        Just("vrrp_instance".to_string()), Just("virtual_server".to_string()), Just("real_server".to_string()),
        Just("HTTP_GET".to_string()), Just("url".to_string()), Just("include".to_string()), Just("10.0.0.1".to_string()),
        Just("80".to_string()), Just("#".to_string()), Just("virtual_ipaddress".to_string()), "[a-z0-9_]{1,6}",
    ], 0..200)) {
        let text = toks.join(" ");
        let _ = parse_str(&text, "soup.conf", &small_opts());
        check_matches_parse(&text, &small_opts())?;
    }
}
