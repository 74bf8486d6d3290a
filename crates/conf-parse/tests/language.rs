//! Language features of keepalived.conf, one test per feature. Each test says what it proves.

use std::path::PathBuf;
use std::time::Duration;

use conf_parse::{parse_file, parse_str, print, Code, FlushOnStop, ParseOptions, Parsed, Severity};

fn opts() -> ParseOptions {
    ParseOptions {
        config_id: Some("node1".into()),
        random_seed: Some(7),
        ..ParseOptions::default()
    }
}

fn parse(text: &str) -> Parsed {
    parse_str(text, "test.conf", &opts())
}

fn problems(p: &Parsed) -> Vec<String> {
    p.problems().map(|d| d.to_string()).collect()
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("conf-parse-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

const VI: &str = "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n";

/// `!` and `#` start comments outside quotes; `\#` and `\!` are literal; quoted `#` is kept.
#[test]
fn comments_and_escapes() {
    let p = parse(
        "! comment\n# comment\nglobal_defs { # trailing\n  router_id a\\#b ! c\n  notification_email_from \"x#y!z\"\n}\n",
    );
    assert!(problems(&p).is_empty(), "{:?}", problems(&p));
    assert_eq!(p.config.global.router_id.as_deref(), Some("a#b"));
    assert_eq!(
        p.config.global.notification_email_from.as_deref(),
        Some("x#y!z")
    );
}

/// Double and single quotes group words; `\"` inside quotes is a literal quote.
#[test]
fn quotes_and_escapes_in_quotes() {
    let p = parse(
        "vrrp_script s {\n  script \"/bin/echo a  b \\\"c\\\"\"\n}\nvrrp_script t {\n  script '/bin/true x'\n}\n",
    );
    assert_eq!(p.config.vrrp_scripts[0].script, "/bin/echo a  b \"c\"");
    assert_eq!(p.config.vrrp_scripts[1].script, "/bin/true x");
}

/// An unterminated quote is a located error, not a panic.
#[test]
fn unterminated_quote_is_located() {
    let p = parse("global_defs {\n  router_id \"abc\n}\n");
    let d = p
        .diagnostics
        .iter()
        .find(|d| d.code == Code::UnterminatedQuote)
        .expect("unterminated quote reported");
    assert_eq!(d.span.line, 2);
    assert_eq!(d.severity, Severity::Error);
}

/// `{` may be on the next line, blocks may sit on one line, `}` may share a line.
#[test]
fn braces_on_next_line_and_same_line() {
    let p = parse(
        "vrrp_instance VI_1\n{\n  interface eth0\n  virtual_router_id 51\n  authentication\n  {\n    auth_type PASS\n    auth_pass 1111 }\n  virtual_ipaddress { 10.0.0.1 }\n}\n",
    );
    assert!(problems(&p).is_empty(), "{:?}", problems(&p));
    let v = &p.config.vrrp_instances[0];
    assert_eq!(v.virtual_router_id, Some(51));
    assert_eq!(
        v.authentication.as_ref().map(|a| a.auth_pass.as_str()),
        Some("1111")
    );
    assert_eq!(v.virtual_ipaddress.len(), 1);
}

/// Deeply nested blocks parse (virtual_server > real_server > HTTP_GET > url).
#[test]
fn deep_nesting() {
    let p = parse(
        "virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind DR\n protocol TCP\n real_server 10.0.0.2 80 {\n  HTTP_GET {\n   url {\n    path /health\n    status_code 200-299 301\n   }\n  }\n }\n}\n",
    );
    assert!(problems(&p).is_empty(), "{:?}", problems(&p));
    let rs = &p.config.virtual_servers[0].real_servers[0];
    match &rs.checkers[0].kind {
        conf_parse::CheckerKind::Http(h) => {
            assert_eq!(h.urls[0].path, "/health");
            assert_eq!(h.urls[0].status_codes, vec![(200, 299), (301, 301)]);
        }
        other => panic!("expected HTTP_GET, got {other:?}"),
    }
}

/// Booleans accept on/off/true/false/yes/no and a bare keyword means true.
#[test]
fn booleans() {
    for (word, want) in [
        ("on", true),
        ("off", false),
        ("true", true),
        ("false", false),
        ("yes", true),
        ("no", false),
        ("", true),
    ] {
        let p = parse(&format!(
            "vrrp_instance V {{\n virtual_router_id 1\n smtp_alert {word}\n}}\n"
        ));
        assert_eq!(
            p.config.vrrp_instances[0].smtp_alert,
            Some(want),
            "smtp_alert {word}"
        );
    }
    let p = parse("vrrp_instance V {\n virtual_router_id 1\n smtp_alert maybe\n}\n");
    assert!(p.has_errors());
}

/// Fractional seconds are read to the microsecond.
#[test]
fn fractional_seconds() {
    let p = parse("vrrp_instance V {\n interface eth0\n virtual_router_id 1\n version 3\n advert_int 0.25\n preempt_delay 1.5\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n");
    assert!(problems(&p).is_empty(), "{:?}", problems(&p));
    let v = &p.config.vrrp_instances[0];
    assert_eq!(v.advert_int, Duration::from_millis(250));
    assert_eq!(v.preempt_delay, Duration::from_millis(1500));
}

/// `@id` lines are kept only when the config id matches; `@^id` only when it doesn't.
#[test]
fn conditionals() {
    let text = "global_defs {\n@node1 router_id one\n@node2 router_id two\n@^node1 smtp_helo_name notone\n@^node2 notification_email_from x@y\n}\n";
    let p = parse(text);
    assert_eq!(p.config.global.router_id.as_deref(), Some("one"));
    assert_eq!(p.config.global.smtp_helo_name, None);
    assert_eq!(
        p.config.global.notification_email_from.as_deref(),
        Some("x@y")
    );
    let mut o = opts();
    o.config_id = Some("node2".into());
    let p = parse_str(text, "t.conf", &o);
    assert_eq!(p.config.global.router_id.as_deref(), Some("two"));
}

/// `$NAME=value` parameters, `${NAME}`, recursive substitution.
#[test]
fn parameters() {
    let p = parse("$BASE=10.0.0\n$VIP=${BASE}.100\n$RID=r1\nglobal_defs {\n router_id $RID\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  ${VIP}/24\n }\n}\n");
    assert!(problems(&p).is_empty(), "{:?}", problems(&p));
    assert_eq!(p.config.global.router_id.as_deref(), Some("r1"));
    assert_eq!(
        p.config.vrrp_instances[0].virtual_ipaddress[0]
            .addr
            .to_string(),
        "10.0.0.100"
    );
}

/// A multi-line parameter (trailing `\`) expands to several lines.
#[test]
fn multiline_parameter() {
    let p = parse("$CHK=HTTP_GET { \\\n  url { \\\n    path / \\\n  } \\\n}\nvirtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind DR\n protocol TCP\n real_server 10.0.0.2 80 {\n  $CHK\n }\n real_server 10.0.0.3 80 {\n  $CHK\n }\n}\n");
    assert!(problems(&p).is_empty(), "{:?}", problems(&p));
    let vs = &p.config.virtual_servers[0];
    assert_eq!(vs.real_servers.len(), 2);
    assert_eq!(vs.real_servers[1].checkers.len(), 1);
}

/// A self-referencing parameter stops with a located error instead of looping.
#[test]
fn recursive_parameter_is_bounded() {
    let p = parse("$A=x$A\nglobal_defs {\n router_id $A\n}\n");
    assert!(
        p.diagnostics
            .iter()
            .any(|d| d.code == Code::Preprocessor && d.span.line == 3),
        "{:?}",
        p.diagnostics
    );
}

/// Built-ins: ${_HASH}, ${_BANG}, ${_INSTANCE}, ${_RANDOM a b}, ${_ENV VAR}, ${_PWD}.
#[test]
fn builtin_parameters() {
    std::env::set_var("CONF_PARSE_TEST_ENV", "fromenv");
    let p = parse("global_defs {\n router_id ${_INSTANCE}\n smtp_helo_name ${_ENV CONF_PARSE_TEST_ENV}\n notification_email_from ${_RANDOM 5 5}\n}\n");
    assert_eq!(p.config.global.router_id.as_deref(), Some("node1"));
    assert_eq!(p.config.global.smtp_helo_name.as_deref(), Some("fromenv"));
    assert_eq!(
        p.config.global.notification_email_from.as_deref(),
        Some("5")
    );
    let p = parse("global_defs {\n router_id ${_PWD}\n}\n");
    assert!(p
        .config
        .global
        .router_id
        .as_deref()
        .is_some_and(|s| s.starts_with('/')));
}

/// ~SEQ(var, start, end), ~SEQ(var, start, step, end), ~SEQx hex, ~LST lists.
#[test]
fn seq_and_lst_loops() {
    let p = parse("virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind DR\n protocol TCP\n~SEQ(i, 1, 3) real_server 10.0.1.$i 80 { weight $i }\n~SEQ(i, 10, 5, 20) real_server 10.0.2.$i 80 { weight 1 }\n}\n");
    assert!(problems(&p).is_empty(), "{:?}", problems(&p));
    let rs: Vec<String> = p.config.virtual_servers[0]
        .real_servers
        .iter()
        .map(|r| r.addr.to_string())
        .collect();
    assert_eq!(
        rs,
        [
            "10.0.1.1",
            "10.0.1.2",
            "10.0.1.3",
            "10.0.2.10",
            "10.0.2.15",
            "10.0.2.20"
        ]
    );
    assert_eq!(p.config.virtual_servers[0].real_servers[2].weight, 3);

    let p = parse("vrrp_instance V {\n virtual_router_id 1\n virtual_ipaddress {\n~SEQx(i, 9, 11) fd00::$i\n }\n}\n");
    let a: Vec<String> = p.config.vrrp_instances[0]
        .virtual_ipaddress
        .iter()
        .map(|a| a.addr.to_string())
        .collect();
    assert_eq!(a, ["fd00::9", "fd00::a", "fd00::b"]);

    let p = parse("virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind DR\n protocol TCP\n~LST({ip,w}, {10.0.0.2,5}, {10.0.0.3,7}) real_server $ip 80 { weight $w }\n~LST(ip, 10.0.0.8, 10.0.0.9) real_server $ip 80 { weight 1 }\n}\n");
    assert!(problems(&p).is_empty(), "{:?}", problems(&p));
    let rs: Vec<(String, u32)> = p.config.virtual_servers[0]
        .real_servers
        .iter()
        .map(|r| (r.addr.to_string(), r.weight))
        .collect();
    assert_eq!(
        rs,
        [
            ("10.0.0.2".into(), 5),
            ("10.0.0.3".into(), 7),
            ("10.0.0.8".into(), 1),
            ("10.0.0.9".into(), 1)
        ]
    );
}

/// A malformed ~SEQ is a located error with a hint.
#[test]
fn bad_seq_is_located() {
    let p = parse("global_defs {\n}\n~SEQ(i, 1, 0, 5) x\n");
    let d = p
        .diagnostics
        .iter()
        .find(|d| d.code == Code::Preprocessor)
        .expect("reported");
    assert_eq!(d.span.line, 3);
    assert!(d.hint.is_some());
}

/// include: relative to the including file, globs, `{a,b}` braces, include chain in diagnostics.
#[test]
fn include_relative_glob_braces_and_chain() {
    let d = tmpdir("inc");
    std::fs::create_dir_all(d.join("conf.d")).expect("mkdir");
    std::fs::write(
        d.join("main.conf"),
        "global_defs {\n router_id main\n}\ninclude conf.d/*.conf\ninclude {a,b}.inc\n",
    )
    .expect("w");
    std::fs::write(d.join("conf.d/1.conf"), VI).expect("w");
    std::fs::write(
        d.join("conf.d/2.conf"),
        "vrrp_instance VI_2 {\n virtual_router_id 52\n bogus_kw 1\n}\n",
    )
    .expect("w");
    std::fs::write(d.join("a.inc"), "vrrp_script sa {\n script /bin/true\n}\n").expect("w");
    std::fs::write(d.join("b.inc"), "vrrp_script sb {\n script /bin/true\n}\n").expect("w");
    let p = parse_file(&d.join("main.conf"), &opts());
    assert_eq!(p.config.vrrp_instances.len(), 2);
    assert_eq!(p.config.vrrp_scripts.len(), 2);
    let bad = p
        .diagnostics
        .iter()
        .find(|x| x.code == Code::UnknownKeyword)
        .expect("unknown kw");
    assert!(bad.span.file.ends_with("2.conf"));
    assert_eq!(bad.span.line, 3);
    assert_eq!(bad.include_chain.len(), 1);
    assert!(bad.include_chain[0].file.ends_with("main.conf"));
    assert_eq!(bad.include_chain[0].line, 4);
    assert!(bad.to_string().contains("included from"), "{bad}");
    let _ = std::fs::remove_dir_all(&d);
}

/// A missing plain include is reported (with its line) but does not change the verdict,
/// as in keepalived; `includem` makes it an error, and keepalived 2.2.7 then exits 6
/// (`KEEPALIVED_EXIT_NO_CONFIG`: its parent stops after reading the files; checked side by
/// side in `lab_include_check_like_reference`).
#[test]
fn missing_include() {
    let p = parse("include /nonexistent/conf-parse-x.conf\n");
    let d = p
        .diagnostics
        .iter()
        .find(|d| d.code == Code::IncludeMissing)
        .expect("reported");
    assert_eq!(d.span.line, 1);
    assert_eq!(conf_parse::exit_code(&p, &[]), 0);
    let p = parse("includem /nonexistent/conf-parse-x.conf\n");
    assert_eq!(conf_parse::exit_code(&p, &[]), 6);
}

/// Include cycles are detected and located, never followed forever.
#[test]
fn include_cycle() {
    let d = tmpdir("cycle");
    std::fs::write(d.join("a.conf"), "include b.conf\n").expect("w");
    std::fs::write(d.join("b.conf"), "include a.conf\n").expect("w");
    let p = parse_file(&d.join("a.conf"), &opts());
    let loop_d = p
        .diagnostics
        .iter()
        .find(|x| x.code == Code::IncludeLoop)
        .expect("loop reported");
    assert!(loop_d.span.file.ends_with("b.conf"));
    assert_eq!(loop_d.span.line, 1);
    let _ = std::fs::remove_dir_all(&d);
}

/// Unknown keywords warn with "did you mean" suggestions (glued value, misspelling).
#[test]
fn did_you_mean() {
    let p = parse("vrrp_instance V {\n virtual_router_id 1\n lvs_sync_daemon_inteface eth0\n authentication {\n  auth_typePASS\n }\n}\n");
    let hints: Vec<String> = p
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::UnknownKeyword)
        .filter_map(|d| d.hint.clone())
        .collect();
    assert!(
        hints
            .iter()
            .any(|h| h.contains("`lvs_sync_daemon_interface`")),
        "{hints:?}"
    );
    assert!(
        hints.iter().any(|h| h.contains("`auth_type PASS`")),
        "{hints:?}"
    );
    assert!(p
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::UnknownKeyword)
        .all(|d| d.severity == Severity::Warning));
}

/// An unknown keyword with a block: as keepalived 2.2.7 does (the `-t` oracle), its `{` is
/// unexpected and its lines are read at the same level, each reported on its own line (unknown
/// keywords here, the `}`s extra at the top level); what follows is read normally.
#[test]
fn unknown_block_is_skipped() {
    let p = parse(
        "frobnicate {\n  router_id x\n  nested {\n   a\n  }\n}\nglobal_defs {\n router_id ok\n}\n",
    );
    let lines: Vec<u32> = p.problems().map(|d| d.span.line).collect();
    assert_eq!(lines, [1, 1, 2, 3, 3, 4, 5, 6], "{:?}", problems(&p));
    assert_eq!(p.config.global.router_id.as_deref(), Some("ok"));
}

/// Out-of-range values are errors naming the range; the default stays.
#[test]
fn out_of_range() {
    let p = parse("vrrp_instance V {\n virtual_router_id 256\n priority 0\n advert_int 300\n}\n");
    let lines: Vec<u32> = p
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::OutOfRange)
        .map(|d| d.span.line)
        .collect();
    assert_eq!(lines, [2, 3, 4]);
    assert_eq!(p.config.vrrp_instances[0].priority, 100);
    assert!(p.diagnostics.iter().any(|d| d.message.contains("[1, 255]")));
}

/// Absurd numbers are range errors, not overflows.
#[test]
fn absurd_numbers() {
    let p = parse("vrrp_instance V {\n virtual_router_id 99999999999999999999999999\n priority -5\n advert_int 1e9\n preempt_delay 18446744073709551616.5\n}\n");
    assert!(p.has_errors());
    let errors = p
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    assert!(errors >= 4, "{:?}", problems(&p));
}

/// Deprecated keywords warn and still work: nb_get_retry sets retry.
#[test]
fn deprecated_nb_get_retry_works() {
    let p = parse("virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind DR\n protocol TCP\n real_server 10.0.0.2 80 {\n  HTTP_GET {\n   url {\n    path /\n   }\n   nb_get_retry 4\n  }\n }\n}\n");
    let d = p
        .diagnostics
        .iter()
        .find(|d| d.code == Code::Deprecated)
        .expect("deprecation warned");
    assert_eq!(d.span.line, 10);
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(
        p.config.virtual_servers[0].real_servers[0].checkers[0]
            .common
            .retry,
        4
    );
}

/// Keywords keepalived knows but our runtime doesn't are notes, never "unknown".
#[test]
fn recognized_not_supported() {
    // Every keyword of global_defs not supported yet (none is left today) and one accepted
    // with no effect: whichever the registry marks so today (picked at run time, so that no
    // promotion breaks this test).
    let ex = conf_parse::registry::not_supported_global_examples();
    let noop = conf_parse::registry::no_effect_global_examples();
    eprintln!("in global_defs: not supported yet {ex:?}, no effect {noop:?}");
    assert!(!noop.is_empty(), "{noop:?}");
    let mut text = String::from("global_defs {\n");
    let mut want = Vec::new();
    for (k, l) in ex.iter().enumerate() {
        text.push_str(&format!(" {l}\n"));
        want.push((k as u32 + 2, Code::NotSupportedYet));
    }
    text.push_str(&format!(" {}\n}}\n", noop[0]));
    want.push((ex.len() as u32 + 2, Code::NoEffectHere));
    let p = parse(&text);
    assert!(p.diagnostics.iter().all(|d| d.code != Code::UnknownKeyword));
    let notes: Vec<(u32, Code)> = p
        .diagnostics
        .iter()
        .filter(|d| matches!(d.code, Code::NotSupportedYet | Code::NoEffectHere))
        .map(|d| (d.span.line, d.code))
        .collect();
    assert_eq!(notes, want);
    assert_eq!(conf_parse::exit_code(&p, &[]), 0);
}

/// The keyword table covers keepalived 2.2.7's keywords (about 340 distinct names).
#[test]
fn keyword_table_size() {
    let n = conf_parse::keywords::all_names().len();
    assert!(n >= 330, "only {n} keywords");
}

/// Unbalanced braces: extra `}` and unclosed blocks are located errors.
#[test]
fn unbalanced_braces() {
    let p = parse("global_defs {\n router_id x\n}\n}\n");
    assert!(p
        .diagnostics
        .iter()
        .any(|d| d.code == Code::ExtraBrace && d.span.line == 4));
    let p = parse("vrrp_instance V {\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.1\n");
    let d = p
        .diagnostics
        .iter()
        .find(|d| d.code == Code::MissingBrace)
        .expect("unclosed");
    assert_eq!(d.span.line, 3, "points at the innermost unclosed block");
}

/// Missing values are errors located at the keyword.
#[test]
fn missing_value() {
    let p = parse("vrrp_instance V {\n virtual_router_id\n}\n");
    let d = p
        .diagnostics
        .iter()
        .find(|d| d.code == Code::MissingValue)
        .expect("missing value");
    assert_eq!(d.span.line, 2);
}

/// Defaults are keepalived's (and the ones keepalived reports when applied).
#[test]
fn defaults() {
    let p = parse("vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1\n }\n}\nvirtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n  TCP_CHECK {\n  }\n }\n}\n");
    let v = &p.config.vrrp_instances[0];
    assert_eq!(v.priority, 100);
    assert_eq!(v.advert_int, Duration::from_secs(1));
    assert!(v.preempt);
    let vs = &p.config.virtual_servers[0];
    assert_eq!(vs.delay_loop, Duration::from_secs(60));
    assert_eq!(vs.lb_algo, conf_parse::Scheduler::Wlc);
    // keepalived reports unset scheduler/protocol/forwarding and defaults protocol to UDP
    assert_eq!(vs.protocol, conf_parse::Protocol::Udp);
    assert_eq!(vs.lb_kind, conf_parse::LbKind::Nat);
    assert_eq!(
        p.diagnostics
            .iter()
            .filter(|d| d.code == Code::Semantic)
            .count(),
        3
    );
    let c = &vs.real_servers[0].checkers[0].common;
    assert_eq!(c.connect_timeout, Duration::from_secs(5));
    assert_eq!(c.retry, 1);
    assert_eq!(c.delay_before_retry, Duration::from_secs(1));
    assert_eq!(c.delay_loop, Duration::from_secs(60));
}

/// Checkers inherit retry/connect_timeout/delay_loop from real and virtual server.
#[test]
fn checker_inheritance() {
    let p = parse("virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind DR\n protocol TCP\n delay_loop 7\n connect_timeout 2.5\n real_server 10.0.0.2 80 {\n  retry 3\n  TCP_CHECK {\n  }\n  TCP_CHECK {\n   retry 9\n  }\n }\n}\n");
    let cs = &p.config.virtual_servers[0].real_servers[0].checkers;
    assert_eq!(cs[0].common.retry, 3);
    assert_eq!(cs[1].common.retry, 9);
    assert_eq!(cs[0].common.delay_loop, Duration::from_secs(7));
    assert_eq!(cs[0].common.connect_timeout, Duration::from_millis(2500));
}

/// VIP options: dev, label, brd, scope, peer, no_track, preferred_lft.
#[test]
fn vip_options() {
    let p = parse("vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1/24 brd 192.0.2.255 dev eth0 label eth0:1 scope global no_track preferred_lft 0\n  192.0.2.2 peer 192.0.2.9/32\n }\n}\n");
    assert!(problems(&p).is_empty(), "{:?}", problems(&p));
    let a = &p.config.vrrp_instances[0].virtual_ipaddress;
    assert_eq!(a[0].prefix_len, 24);
    assert_eq!(a[0].dev.as_deref(), Some("eth0"));
    assert_eq!(a[0].label.as_deref(), Some("eth0:1"));
    assert!(a[0].no_track);
    assert_eq!(a[1].prefix_len, 32);
    assert!(a[1].peer.is_some());
    assert_eq!(a[0].preferred_lft, Some(0));
}

/// The address flag words and preferred_lft are typed as keepalived reads them
/// (vrrp_ipaddress.c parse_ipaddress): `forever` is INFINITY_LIFE_TIME, a bad value is a
/// general error and ignored, `nodad` (without the dash) is not a word keepalived knows.
#[test]
fn vip_flag_words_typed() {
    let p = parse("vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  fd00::1/64 home -nodad mngtmpaddr noprefixroute autojoin preferred_lft forever use_vmac\n  fd00::2/64 preferred_lft 30\n }\n}\n");
    assert!(problems(&p).is_empty(), "{:?}", problems(&p));
    let a = &p.config.vrrp_instances[0].virtual_ipaddress;
    let f = a[0].flags;
    assert!(f.home && f.dad && f.mngtmpaddr && f.noprefixroute && f.autojoin);
    assert!(a[0].use_vmac && !a[1].use_vmac);
    assert_eq!(a[0].preferred_lft, Some(u32::MAX));
    assert_eq!(a[1].preferred_lft, Some(30));
    assert_eq!(a[1].flags, Default::default());
    let bad = parse("vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  fd00::1/64 preferred_lft soon\n  fd00::2/64 nodad\n }\n}\n");
    let msgs = problems(&bad).join("\n");
    assert!(msgs.contains("preferred_lft soon is invalid"), "{msgs}");
    assert!(msgs.contains("'nodad'"), "{msgs}");
    let a = &bad.config.vrrp_instances[0].virtual_ipaddress;
    assert_eq!(a[0].preferred_lft, None);
    assert!(!a[1].flags.dad);
}

/// Unicast peers with min/max ttl, track_* weights.
#[test]
fn unicast_and_tracking() {
    // (with its interface: keepalived 2.2.7 refuses an instance without one, "Unknown interface!")
    let p = parse("vrrp_script s {\n script /bin/true\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 1\n unicast_src_ip 192.0.2.1\n unicast_peer {\n  192.0.2.2 min_ttl 250 max_ttl 255\n }\n track_script {\n  s weight -20\n }\n track_interface {\n  eth0 weight 10 reverse\n }\n virtual_ipaddress {\n  192.0.2.9\n }\n}\n");
    assert!(problems(&p).is_empty(), "{:?}", problems(&p));
    let v = &p.config.vrrp_instances[0];
    assert_eq!(v.unicast_peer[0].min_ttl, Some(250));
    assert_eq!(v.track_script[0].weight, Some(-20));
    assert!(v.track_interface[0].reverse);
}

/// Binary garbage gives diagnostics, not a panic.
#[test]
fn binary_garbage() {
    let mut bytes = Vec::new();
    let mut x: u32 = 12345;
    for _ in 0..100_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        bytes.push((x >> 16) as u8);
    }
    let text = String::from_utf8_lossy(&bytes);
    let p = parse(&text);
    assert!(!p.diagnostics.is_empty());
}

/// A huge file parses in bounded time; the line limit cuts off runaway expansion.
#[test]
fn huge_and_runaway_inputs_are_bounded() {
    let mut s = String::new();
    for i in 0..20_000 {
        s.push_str(&format!(
            "vrrp_instance V{i} {{\n virtual_router_id {}\n}}\n",
            i % 255 + 1
        ));
    }
    let t = std::time::Instant::now();
    let p = parse(&s);
    assert_eq!(p.config.vrrp_instances.len(), 20_000);
    assert!(t.elapsed() < Duration::from_secs(20));
    let mut o = opts();
    o.max_lines = 10_000;
    let p = parse_str(
        "~SEQ(i, 1, 1000000) global_defs { router_id $i }\n",
        "t.conf",
        &o,
    );
    assert!(p
        .diagnostics
        .iter()
        .any(|d| d.code == Code::LimitExceeded || d.code == Code::Preprocessor));
}

/// A virtual server with a huge pool is checked for duplicate real servers in linear
/// time (a quadratic scan would take minutes here), and duplicates are still reported.
#[test]
fn huge_real_server_pool_is_linear() {
    let n = 100_000u32;
    let mut s =
        String::from("virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind DR\n protocol TCP\n");
    for i in 0..n {
        // every 1000th real server repeats the one before it
        let a = if i % 1000 == 999 { i - 1 } else { i };
        s.push_str(&format!(
            " real_server 10.{}.{}.{} 80 {{\n }}\n",
            a >> 16,
            (a >> 8) & 255,
            a & 255
        ));
    }
    s.push_str("}\n");
    let t = std::time::Instant::now();
    let p = parse(&s);
    assert!(t.elapsed() < Duration::from_secs(20));
    let dups = p
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("is duplicated"))
        .count();
    assert_eq!(dups, (n / 1000) as usize);
    assert_eq!(
        p.config.virtual_servers[0].real_servers.len(),
        (n - n / 1000) as usize
    );
}

/// Very deep brace nesting inside unknown blocks is handled without recursion.
#[test]
fn deep_brace_nesting() {
    let s = format!(
        "x {}{}\nglobal_defs {{\n router_id ok\n}}\n",
        "{\n".repeat(100_000),
        "}\n".repeat(100_000)
    );
    let p = parse(&s);
    assert_eq!(p.config.global.router_id.as_deref(), Some("ok"));
}

// Proves keepalived-rs's own global_defs keywords (`krs_vip_lease`, `metrics_listen`) are
// accepted without any diagnostic (not "unknown", not "not supported yet") and reach the model
// as typed fields the runtimes read (no statement list holds them).
#[test]
fn own_global_keywords_reach_the_model() {
    let p = parse("global_defs {\n  krs_vip_lease off\n  metrics_listen 127.0.0.1:9650\n}\n");
    assert!(p.diagnostics.is_empty(), "{:?}", problems(&p));
    let g = &p.config.global;
    assert!(!g.krs_vip_lease);
    assert_eq!(g.metrics_listen, Some("127.0.0.1:9650".parse().unwrap()));
    assert!(g.extra.is_empty(), "{:?}", g.extra);
}

// Proves the global settings runtimes read (FIFOs, VMAC prefixes, the root-level `instance`,
// `net_namespace`, `child_wait_time`, ...) are typed fields with keepalived's defaults, that
// `print` gives them back (print → parse → print is stable), and that none lands in a
// statement list.
#[test]
fn runtime_globals_are_typed() {
    let d = parse("global_defs {\n router_id a\n}\n");
    let g = &d.config.global;
    assert!(g.krs_vip_lease && g.metrics_listen.is_none());
    assert_eq!(g.child_wait_time, Duration::from_secs(5));
    assert!(g.notify_fifo.name.is_none() && g.vmac_prefix.is_none() && g.instance.is_none());

    let text =
        "instance i1\nnet_namespace ns1\nnet_namespace_ipvs\nuse_pid_dir\nchild_wait_time 9\n\
        global_defs {\n notify_fifo /run/f1 root\n notify_fifo_script \"/bin/r a\" nobody\n\
        vrrp_notify_fifo /run/f2\n lvs_notify_fifo /run/f3 root root\n vmac_prefix vm\n\
        vmac_addr_prefix va\n krs_vip_lease no\n metrics_listen 9650\n}\n";
    let p = parse(text);
    assert!(problems(&p).is_empty(), "{:?}", problems(&p));
    let g = &p.config.global;
    assert_eq!(g.instance.as_deref(), Some("i1"));
    assert_eq!(g.net_namespace.as_deref(), Some("ns1"));
    assert_eq!(g.net_namespace_ipvs.as_deref(), Some(""));
    assert!(g.use_pid_dir);
    assert_eq!(g.child_wait_time, Duration::from_secs(9));
    assert_eq!(g.notify_fifo.name.as_deref(), Some("/run/f1"));
    assert_eq!(g.notify_fifo.user, Some(("root".to_string(), None)));
    let s = g.notify_fifo.script.as_ref().expect("script");
    assert_eq!(
        (s.command.as_str(), s.user.as_deref()),
        ("/bin/r a", Some("nobody"))
    );
    assert_eq!(g.vrrp_notify_fifo.name.as_deref(), Some("/run/f2"));
    assert_eq!(
        g.lvs_notify_fifo.user,
        Some(("root".to_string(), Some("root".to_string())))
    );
    assert_eq!(g.vmac_prefix.as_deref(), Some("vm"));
    assert_eq!(g.vmac_addr_prefix.as_deref(), Some("va"));
    assert!(!g.krs_vip_lease);
    assert_eq!(g.metrics_listen, Some("127.0.0.1:9650".parse().unwrap()));
    assert!(g.extra.is_empty() && p.config.extra.is_empty());
    let printed = conf_parse::print(&p.config);
    let again = parse(&printed);
    assert!(problems(&again).is_empty(), "{:?}", problems(&again));
    assert_eq!(again.config.global, p.config.global);
    assert_eq!(conf_parse::print(&again.config), printed);
}

// Proves the global settings' errors are keepalived's: each of these makes the reference
// 2.2.7 `keepalived -t` exit 5 (checked by hand against /usr/sbin/keepalived), and each is a
// located error here that keeps the first value.
#[test]
fn runtime_globals_errors_match_reference() {
    for (text, first) in [
        (
            "global_defs {\n notify_fifo /a\n notify_fifo /b\n}\n",
            "notify_fifo already specified",
        ),
        (
            "global_defs {\n notify_fifo\n}\n",
            "No notify_fifo name specified",
        ),
        (
            "global_defs {\n vrrp_notify_fifo_script\n}\n",
            "No vrrp_notify_fifo_script specified",
        ),
        (
            "global_defs {\n vmac_prefix x\n vmac_prefix y\n}\n",
            "vmac prefix has already been specified",
        ),
        (
            "instance a\ninstance b\n",
            "Duplicate instance definition b",
        ),
        (
            "net_namespace_ipvs\nnet_namespace_ipvs x\n",
            "Duplicate net_namespace_ipvs",
        ),
        ("child_wait_time x\n", "Invalid child_wait_time x"),
        (
            "global_defs {\n metrics_listen 1.2.3\n}\n",
            "metrics_listen: bad address",
        ),
        (
            "global_defs {\n krs_vip_lease maybe\n}\n",
            "invalid boolean",
        ),
    ] {
        let p = parse(text);
        let errs: Vec<String> = p
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| d.to_string())
            .collect();
        assert_eq!(errs.len(), 1, "{text}: {errs:?}");
        assert!(errs[0].contains(first), "{text}: {errs:?}");
        assert!(errs[0].starts_with("test.conf:"), "{text}: {errs:?}");
    }
    let p = parse("global_defs {\n vmac_prefix x\n vmac_prefix y\n}\n");
    assert_eq!(p.config.global.vmac_prefix.as_deref(), Some("x"));
}

fn vs_with(lines: &str, checker: &str) -> String {
    format!(
        "virtual_server 10.0.0.1 80 {{\n lb_kind NAT\n protocol TCP\n{lines}\n real_server 10.0.0.2 80 {{\n weight 1\n{checker}\n }}\n}}\n"
    )
}

fn errors(p: &Parsed) -> Vec<String> {
    p.diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.to_string())
        .collect()
}

// Proves the LVS values consumers used to re-parse are typed here with keepalived's rules
// (scheduler names, the sh-/mh- flags needing their scheduler first, persistence_granularity
// as inet_aton reads it, http_protocol, DNS type, hex payloads with X wildcards), and that each
// bad value is an error exactly where the reference 2.2.7 `keepalived -t` exits 5 (checked by
// hand against /usr/sbin/keepalived for the lb_algo, sh-port, granularity and http_protocol
// cases).
#[test]
fn lvs_values_are_typed_with_keepalived_rules() {
    use conf_parse::{CheckerKind, DnsType, Granularity, HexPattern, HttpProtocol, Scheduler};
    let ok = |lines: &str, checker: &str| {
        let p = parse(&vs_with(lines, checker));
        assert!(errors(&p).is_empty(), "{lines} {checker}: {:?}", errors(&p));
        p
    };
    let bad = |lines: &str, checker: &str, msg: &str| {
        let p = parse(&vs_with(lines, checker));
        let e = errors(&p);
        assert!(
            !e.is_empty() && e[0].contains(msg),
            "{lines} {checker}: {e:?}"
        );
    };
    // (`ops` needs a UDP service: keepalived 2.2.7 -t rejects it on TCP, exit 5)
    let p = ok(
        " protocol UDP\n lb_algo sh\n sh-port\n sh-fallback\n ops\n persistence_granularity 24",
        "",
    );
    let vs = &p.config.virtual_servers[0];
    assert_eq!(vs.lb_algo, Scheduler::Sh);
    assert!(vs.sched_flags.flag1 && vs.sched_flags.flag2 && vs.sched_flags.ops);
    // `ops` needs UDP: on this TCP service the reference exits 5 with "Virtual server
    // [10.0.0.1]:tcp:80: one packet scheduling requires UDP - resetting" and resets it.
    // (keepalived corrects the value and carries on: a warning that still makes -t exit 5)
    let p = parse(&vs_with(" lb_algo rr\n ops", ""));
    let pr = problems(&p);
    assert!(
        pr.first()
            .is_some_and(|e| e.contains("one packet scheduling requires UDP - resetting")),
        "{pr:?}"
    );
    assert_eq!(conf_parse::exit_code(&p, &[]), 5);
    assert!(!p.config.virtual_servers[0].sched_flags.ops);
    let p = parse(&vs_with(" lb_algo rr\n ops", "").replace("protocol TCP", "protocol UDP"));
    assert!(errors(&p).is_empty(), "{:?}", errors(&p));
    assert!(p.config.virtual_servers[0].sched_flags.ops, "UDP keeps ops");
    assert!(!vs.sched_flags.flag3);
    // inet_aton("24") is 0.0.0.24, as keepalived programs it
    assert_eq!(
        vs.persistence_granularity,
        Some(Granularity::V4("0.0.0.24".parse().unwrap()))
    );
    let p = ok(" lb_algo twos\n persistence_granularity 255.255.0.0", "");
    assert_eq!(
        p.config.virtual_servers[0].persistence_granularity,
        Some(Granularity::V4("255.255.0.0".parse().unwrap()))
    );
    bad(" lb_algo foo", "", "Invalid lvs_scheduler 'foo'");
    bad(
        " lb_algo rr\n sh-port",
        "",
        "sh-port only applies to sh scheduler",
    );
    bad(
        " lb_algo rr\n persistence_granularity /24",
        "",
        "Invalid IPv4 persistence_granularity",
    );

    let http = |proto: &str| {
        format!(" HTTP_GET {{\n url {{\n path /\n digest 0123456789abcdef0123456789ABCDEF\n }}\n http_protocol {proto}\n }}")
    };
    let p = ok(" lb_algo rr", &http("1.0c"));
    let CheckerKind::Http(h) = &p.config.virtual_servers[0].real_servers[0].checkers[0].kind else {
        panic!("not HTTP_GET");
    };
    assert_eq!(h.http_protocol, Some(HttpProtocol::Http10C));
    assert_eq!(
        h.urls[0].digest,
        Some([
            0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
            0xcd, 0xef
        ])
    );
    bad(" lb_algo rr", &http("1.0K"), "unknown http_protocol '1.0K'");

    let p = ok(" lb_algo rr", " DNS_CHECK {\n type aaaa\n }");
    let CheckerKind::Dns(d) = &p.config.virtual_servers[0].real_servers[0].checkers[0].kind else {
        panic!("not DNS_CHECK");
    };
    assert_eq!(d.qtype, Some(DnsType::Aaaa));
    bad(
        " lb_algo rr",
        " DNS_CHECK {\n type PTR\n }",
        "Unknown DNS check type PTR",
    );

    let p = ok(
        " lb_algo rr",
        " UDP_CHECK {\n payload 0a0B c\n require_reply 01 X2 ff\n }",
    );
    let CheckerKind::Udp(u) = &p.config.virtual_servers[0].real_servers[0].checkers[0].kind else {
        panic!("not UDP_CHECK");
    };
    assert_eq!(u.payload.as_deref(), Some(&[0x0a, 0x0b, 0x0c][..]));
    let r = u.require_reply.as_ref().expect("require_reply");
    assert_eq!(r.data, [0x01, 0x02, 0xff]);
    assert_eq!(r.mask.as_deref(), Some(&[0, 0xf0, 0][..]));
    assert_eq!(r.to_hex(), "01 X2 ff");
    bad(
        " lb_algo rr",
        " UDP_CHECK {\n payload 0g\n }",
        "Invalid hex string for UDP_CHECK payload",
    );
    bad(
        " lb_algo rr",
        " UDP_CHECK {\n payload X1\n }",
        "Invalid hex string for UDP_CHECK payload",
    );
    assert_eq!(HexPattern::parse(" \t", true), None);

    // print → parse gives the same typed values
    for text in [
        vs_with(" lb_algo mh\n mh-port\n persistence_timeout 60\n persistence_granularity 255.255.255.0", &http("1.1")),
        vs_with(" lb_algo rr", " UDP_CHECK {\n payload 0a0B c\n require_reply 01 X2 ff\n }"),
    ] {
        let p = parse(&text);
        let again = parse(&conf_parse::print(&p.config));
        assert!(errors(&again).is_empty(), "{:?}", errors(&again));
        assert_eq!(
            again.config.virtual_servers[0].lb_algo,
            p.config.virtual_servers[0].lb_algo
        );
        assert_eq!(conf_parse::print(&again.config), conf_parse::print(&p.config));
    }
}

// Proves every keyword keepalived knows lands in a typed field: no registry probe leaves a
// statement untyped (Builder::not_supported is never reached for a known keyword).
#[test]
fn every_known_keyword_is_typed() {
    let mut untyped = Vec::new();
    for e in conf_parse::registry::registry() {
        let (text, line) = conf_parse::registry::probe_text(&e);
        let p = parse(&text);
        if p.untyped.iter().any(|l| l.0.line == line) {
            untyped.push(format!("{} > {}", e.block_path(), e.kw.name));
        }
    }
    assert!(untyped.is_empty(), "{untyped:#?}");
}

// Proves the keywords no runtime reads yet are typed with keepalived's defaults and values,
// and that print → parse gives the same model back.
#[test]
fn not_yet_implemented_keywords_are_typed_and_printed_back() {
    use conf_parse::{IncludeCheck, LinkbeatType, RxBufsPolicy};
    let text = "track_group tg {\n group {\n VI\n }\n}\nlinkbeat_interfaces {\n lo MII\n}\n\
        interface_up_down_delays {\n lo 5 0.5\n}\n\
        bfd_instance b1 {\n neighbor_ip 10.0.0.1\n min_rx 1.5\n weight -3 reverse\n ttl 9\n}\n\
        global_defs {\n process_names\n process_name kp\n startup_script \"/bin/true a\"\n\
        startup_script_timeout 20\n max_auto_priority\n vrrp_garp_extra_if all 10\n\
        nftables\n nftables_counters\n vrrp_priority -5\n checker_rt_priority 50\n\
        vrrp_cpu_affinity 0\n bfd_rlimit_rttime 1\n enable_snmp_rfc\n snmp_socket udp:1.2.3.4:705\n\
        vrrp_netlink_cmd_rcv_bufs 4096\n lvs_netlink_monitor_rcv_bufs_force\n\
        vrrp_rx_bufs_policy advert\n umask IWGRP|IWOTH\n random_seed 7\n reload_file\n\
        include_check +match -read\n data_use_instance on\n}\n\
        vrrp_instance VI {\n interface lo\n virtual_router_id 5\n use_ipvlan ipv1 10.0.0.9/24 vepa\n\
        old_unicast_checksum never\n garp_extra_if 0\n kernel_rx_buf_size 100\n\
        notify_priority_changes off\n virtual_ipaddress {\n 10.0.0.10/32\n }\n}\n\
        vrrp_instance VI2 {\n interface lo\n virtual_router_id 6\n virtual_ipaddress {\n 10.0.0.11/32\n }\n}\n\
        vrrp_sync_group SG {\n group {\n VI\n VI2\n }\n sync_group_tracking_weight\n}\n";
    let p = parse(text);
    assert!(problems(&p).is_empty(), "{:?}", problems(&p));
    let c = &p.config;
    let g = &c.global;
    assert_eq!(g.process_names.vrrp.as_deref(), Some("keepalived_vrrp"));
    assert_eq!(g.process_names.parent.as_deref(), Some("kp"));
    assert_eq!(g.startup_script_timeout, Some(Duration::from_secs(20)));
    assert_eq!(g.shutdown_script_timeout, None);
    assert_eq!(g.max_auto_priority, Some(99));
    assert_eq!(g.nftables.table.as_deref(), Some("keepalived"));
    assert_eq!(g.vrrp_sched.priority, -5);
    assert_eq!(g.checker_sched.rt_priority, Some(50));
    assert_eq!(g.bfd_sched.rlimit_rttime, Some(2));
    assert!(g.snmp.rfcv2 && g.snmp.rfcv3 && !g.snmp.vrrp);
    assert_eq!(g.vrrp_netlink_cmd_rcv_bufs.size, Some(4096));
    assert_eq!(g.vrrp_rx_bufs_policy, Some(RxBufsPolicy::Advert));
    assert_eq!(g.umask, Some(0o022));
    assert_eq!(g.reload_file.as_deref(), Some(""));
    assert_eq!(
        g.include_check,
        Some(IncludeCheck {
            matches: true,
            ..IncludeCheck::default()
        })
    );
    assert_eq!(c.track_groups[0].group, ["VI"]);
    assert_eq!(c.linkbeat_interfaces[0].kind, Some(LinkbeatType::Mii));
    assert_eq!(c.interface_up_down_delays[0].up, Duration::from_millis(500));
    let b = &c.bfd_instances[0];
    assert_eq!(
        (b.min_rx, b.min_tx, b.multiplier),
        (Duration::from_micros(1500), Duration::from_millis(10), 5)
    );
    let v = &c.vrrp_instances[0];
    assert_eq!(v.kernel_rx_buf_size, Some(100));
    assert_eq!(v.notify_priority_changes, Some(false));
    assert!(c.sync_groups[0].sync_group_tracking_weight);
    let printed = conf_parse::print(c);
    let again = parse(&printed);
    assert!(
        problems(&again).is_empty(),
        "{:?}\n{printed}",
        problems(&again)
    );
    assert_eq!(&again.config, c, "{printed}");
    assert_eq!(conf_parse::print(&again.config), printed);
}

// Proves bad values of the newly typed keywords are errors exactly where the reference 2.2.7
// `keepalived -t` exits 5 (each case checked against /usr/sbin/keepalived), and accepted where
// it exits 0.
#[test]
fn not_yet_implemented_keywords_verdicts_match_reference() {
    let g = |l: &str| format!("global_defs {{\n {l}\n}}\n");
    let bad = [
        g("process_name abcdefghijklmnopqrs"),
        g("startup_script_timeout 0"),
        g("max_auto_priority 100"),
        g("min_auto_priority_delay 0"),
        g("vrrp_min_garp ON"),
        g("vrrp_garp_extra_if all"),
        g("vrrp_vmac_garp_intvl 86401"),
        g("vrrp_iptables"),
        g("nftables_ipvs_start_fwmark 0"),
        g("vrrp_priority -21"),
        g("vrrp_rt_priority 0"),
        g("vrrp_cpu_affinity 4096"),
        g("vrrp_rlimit_rttime 0"),
        g("snmp_socket a b"),
        g("vrrp_netlink_monitor_rcv_bufs_force x"),
        g("vrrp_rx_bufs_policy 1000 MTU"),
        g("vrrp_rx_bufs_multiplier 3 4"),
        g("umask 0999"),
        g("umask IWGRP|"),
        g("reload_time_file a b"),
        g("include_check read match"),
        g("data_use_instance TRUE"),
        "bfd_instance b1 {\n}\n".to_string(),
        // keepalived's u8 max_hops: -1 is 255, above IPv6's default hop limit 64 (exit 5 as
        // the reference; with IPv4's ttl 255 it is accepted: see `good`).
        "bfd_instance b1 {\n neighbor_ip fd00::1\n max_hops -1\n}\n".to_string(),
        "bfd_instance b1 {\n neighbor_ip 10.0.0.1\n ttl 200\n max_hops -1\n}\n".to_string(),
        "bfd_instance b1 {\n neighbor_ip 10.0.0.1\n}\nbfd_instance b2 {\n neighbor_ip 10.0.0.1\n}\n".to_string(),
        "track_group g1 {\n}\ntrack_group g1 {\n}\n".to_string(),
        "interface_up_down_delays {\n lo 300\n}\n".to_string(),
        "vrrp_instance VI {\n interface lo\n virtual_router_id 5\n garp_extra_if 86401\n}\n".to_string(),
        "vrrp_instance VI {\n interface lo\n virtual_router_id 5\n linkbeat_use_polling\n}\n".to_string(),
        "vrrp_instance VI {\n interface lo\n virtual_router_id 5\n kernel_rx_buf_size 1 2\n}\n".to_string(),
    ];
    for text in &bad {
        let p = parse(text);
        assert_eq!(
            conf_parse::exit_code(&p, &[]),
            5,
            "{text}: {:?}",
            problems(&p)
        );
    }
    let good = [
        // The reference's `-t` exits 0: -1 is 255 in its u8, not above ttl 255.
        "bfd_instance b1 {\n neighbor_ip 10.0.0.1\n max_hops -1\n}\n".to_string(),
        g("vrrp_min_garp off"),
        g("vrrp_netlink_cmd_rcv_bufs 0"),
        g("umask 0x12"),
        g("include_check"),
        "linkbeat_interfaces {\n lo ETHTOOL\n}\n".to_string(),
        vs_with(
            " lb_algo rr",
            " HTTP_GET {\n url {\n path /\n regex_options caseless bogus\n regex_stack 9 1\n }\n }",
        ),
    ];
    for text in &good {
        let p = parse(text);
        assert_eq!(
            conf_parse::exit_code(&p, &[]),
            0,
            "{text}: {:?}",
            problems(&p)
        );
    }
}

// Proves `metrics_allow` (keepalived-rs) is parsed into typed networks, repeatable, IPv4 and
// IPv6, a bare address as a host network, host bits cleared; a bad word is an error naming it
// while the good words on the line are kept.
#[test]
fn metrics_allow_is_typed() {
    use std::net::IpAddr;
    let p = parse(
        "global_defs {\n  metrics_allow 10.1.2.3/8 192.0.2.7\n  metrics_allow fd00::1/8 ::1\n}\n",
    );
    assert!(p.diagnostics.is_empty(), "{:?}", problems(&p));
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(
        p.config.global.metrics_allow,
        [
            (ip("10.0.0.0"), 8),
            (ip("192.0.2.7"), 32),
            (ip("fd00::"), 8),
            (ip("::1"), 128)
        ]
    );
    assert!(p.config.global.extra.is_empty());
    let p = parse("global_defs {\n  metrics_allow 10.0.0.0/33 nonsense 127.0.0.0/8\n}\n");
    let msgs = problems(&p);
    assert!(msgs.iter().any(|m| m.contains("'10.0.0.0/33'")), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.contains("'nonsense'")), "{msgs:?}");
    assert_eq!(
        p.config.global.metrics_allow,
        [("127.0.0.0".parse::<IpAddr>().unwrap(), 8)]
    );
}

/// `lvs_flush_on_stop` as keepalived 2.2.7's global_parser.c: bare = the whole table, `VS` =
/// our virtual servers only, anything else "Unknown lvs_flush_on_stop type X" (the reference's
/// `-t` exits non-zero for it); the old spelling `lvs_flush_onstop` is the same keyword; the
/// printed form reads back the same.
#[test]
fn lvs_flush_on_stop_types() {
    for (text, want) in [
        ("lvs_flush_on_stop", FlushOnStop::Full),
        ("lvs_flush_on_stop VS", FlushOnStop::Vs),
        ("lvs_flush_onstop VS", FlushOnStop::Vs),
        ("lvs_flush", FlushOnStop::No),
    ] {
        let p = parse(&format!("global_defs {{\n {text}\n}}\n"));
        assert!(!p.has_errors(), "{text}: {:?}", problems(&p));
        assert_eq!(p.config.global.lvs_flush_on_stop, want, "{text}");
        let again = parse(&print(&p.config));
        assert_eq!(
            again.config.global.lvs_flush_on_stop, want,
            "{text} printed"
        );
    }
    let p = parse("global_defs {\n lvs_flush_on_stop foo\n}\n");
    assert!(p.has_errors());
    assert!(
        problems(&p)
            .iter()
            .any(|m| m.contains("Unknown lvs_flush_on_stop type foo")),
        "{:?}",
        problems(&p)
    );
}

/// An `interface` given twice in an instance prints back both (keepalived checks each one):
/// print → parse stays an identity (a fuzz finding).
#[test]
fn replaced_interface_prints_back() {
    let p = parse("vrrp_instance V {\n interface eth0\n virtual_router_id 1\n interface eth1\n}\n");
    let v = &p.config.vrrp_instances[0];
    assert_eq!(v.interface.as_deref(), Some("eth1"));
    assert_eq!(v.replaced_interfaces.len(), 1);
    let printed = conf_parse::print(&p.config);
    let again = parse(&printed);
    assert_eq!(again.config, p.config, "{printed}");
}

// Proves `vrrp_iptables`/`vrrp_ipsets` under `--compat 2.4.3` as keepalived 2.4.3 built with
// iptables and libipset reads them (global_parser.c): bare chains INPUT/OUTPUT, default sets,
// names derived from the first ones given (NAME6 without its trailing 6 + `_if6`), a bare
// `vrrp_ipsets` meaning rules per VIP, an `nftables` table winning; and by default (2.2.7's
// Debian build) `vrrp_iptables` still means the nftables table `keepalived`.
#[test]
fn vrrp_iptables_and_ipsets_at_compat_2_4_3() {
    use conf_parse::keywords::Release;
    use conf_parse::{IpsetNames, IpsetsSetting};
    let at = |g: &str, compat: Option<Release>| {
        let opts = ParseOptions {
            compat,
            ..ParseOptions::default()
        };
        parse_str(&format!("global_defs {{\n{g}\n}}\n"), "t.conf", &opts)
            .config
            .global
            .nftables
    };
    let c = Some(Release::V2_4_3);
    let n = at("  vrrp_iptables", c);
    let (chains, sets) = n.iptables_backend().expect("iptables backend");
    assert_eq!(
        (chains.input.as_str(), chains.output.as_deref()),
        ("INPUT", Some("OUTPUT"))
    );
    let sets = sets.expect("default sets");
    assert_eq!(
        [
            &sets.addr4,
            &sets.addr6,
            &sets.if6,
            &sets.igmp,
            &sets.mld,
            &sets.nd
        ],
        [
            "keepalived",
            "keepalived6",
            "keepalived_if6",
            "keepalived_igmp",
            "keepalived_mld",
            "keepalived_nd"
        ]
    );
    let n = at("  vrrp_iptables KA_IN\n  vrrp_ipsets ka4 ka_v6", c);
    let (chains, sets) = n.iptables_backend().expect("iptables backend");
    assert_eq!(
        (chains.input.as_str(), chains.output.as_deref()),
        ("KA_IN", None)
    );
    let sets = sets.expect("sets");
    assert_eq!(
        (sets.addr6.as_str(), sets.if6.as_str()),
        ("ka_v6", "ka_v_if6")
    );
    assert_eq!(
        IpsetNames::derive(&["x".into()]).if6,
        "x_if6",
        "NAME6 defaults to x6"
    );
    let n = at("  vrrp_iptables\n  vrrp_ipsets", c);
    assert_eq!(n.ipsets, IpsetsSetting::Disabled);
    assert!(n.iptables_backend().expect("backend").1.is_none());
    // equal chain names: logged, no iptables at all; a repeated set name: the default sets
    assert!(at("  vrrp_iptables A A", c).iptables.is_none());
    assert_eq!(at("  vrrp_ipsets a a", c).ipsets, IpsetsSetting::Unset);
    assert!(at("  vrrp_iptables\n  nftables", c)
        .iptables_backend()
        .is_none());
    let d = at("  vrrp_iptables", None);
    assert!(d.iptables.is_none());
    assert_eq!(d.table.as_deref(), Some("keepalived"));
}

// Proves `vrrp_iptables` with `use_vmac` under `--compat 2.4.3` is no longer flagged as not
// supported yet (the VMAC IGMP/MLD/ND drops exist: lab_iptables_use_vmac_same_as_reference),
// with or without an OUT chain.
#[test]
fn vrrp_iptables_with_use_vmac_is_not_flagged() {
    use conf_parse::keywords::Release;
    use conf_parse::Code;
    let notes = |g: &str| {
        let opts = ParseOptions {
            compat: Some(Release::V2_4_3),
            ..ParseOptions::default()
        };
        let text = format!(
            "global_defs {{\n{g}\n}}\nvrrp_instance V {{\n  interface eth0\n  use_vmac\n  virtual_router_id 1\n  priority 100\n  virtual_ipaddress {{\n    10.0.0.10/24\n  }}\n}}\n"
        );
        parse_str(&text, "t.conf", &opts)
            .diagnostics
            .iter()
            .filter(|d| d.code == Code::NotSupportedYet)
            .count()
    };
    assert_eq!(notes("  vrrp_iptables"), 0);
    assert_eq!(notes("  vrrp_iptables IN"), 0);
    assert_eq!(notes("  vrrp_iptables\n  vrrp_ipsets"), 0);
}

// Proves the printed configuration (`--print`, config write-back) keeps `vrrp_iptables` under
// `--compat 2.4.3`: bare (INPUT OUTPUT), one chain, two chains, with `vrrp_ipsets` forms; the
// printed text parses back to the same firewall settings and prints the same again.
#[test]
fn vrrp_iptables_is_printed_at_compat_2_4_3() {
    use conf_parse::keywords::Release;
    let opts = ParseOptions {
        compat: Some(Release::V2_4_3),
        ..ParseOptions::default()
    };
    for g in [
        "  vrrp_iptables",
        "  vrrp_iptables KA_IN",
        "  vrrp_iptables KA_IN KA_OUT\n  vrrp_ipsets ka4 ka_v6",
        "  vrrp_iptables\n  vrrp_ipsets",
    ] {
        let p = parse_str(&format!("global_defs {{\n{g}\n}}\n"), "t.conf", &opts);
        assert!(p.config.global.nftables.iptables.is_some(), "{g}");
        let printed = print(&p.config);
        assert!(printed.contains("vrrp_iptables "), "{g}:\n{printed}");
        let again = parse_str(&printed, "printed.conf", &opts);
        assert_eq!(
            again.config.global.nftables, p.config.global.nftables,
            "{g}"
        );
        assert_eq!(print(&again.config), printed, "{g}");
    }
    let bare = parse_str("global_defs {\n  vrrp_iptables\n}\n", "t.conf", &opts);
    assert!(print(&bare.config).contains("vrrp_iptables INPUT OUTPUT\n"));
}
