//! `auth_hmac { }` (keepalived 2.4.3) in conf-parse: typed values, print → parse identity, and
//! the checks keepalived 2.4.3 makes (messages and lines as `keepalived -t` of 2.4.3 reports
//! them: checked by hand against target/reference/keepalived-2.4.3, see issue 21).

use conf_parse::{
    parse_str, AuthHmacAntiReplay, AuthHmacKeyValue, AuthHmacMode, ParseOptions, Parsed, Severity,
};

fn parse(text: &str) -> Parsed {
    parse_str(text, "test.conf", &ParseOptions::default())
}

fn errors(p: &Parsed) -> Vec<(u32, String)> {
    p.problems()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.span.line, d.message.clone()))
        .collect()
}

const KEY1: &str = "hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn inst(body: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n{body}  virtual_ipaddress {{\n    10.0.0.1\n  }}\n}}\n"
    )
}

// Proves a full auth_hmac block is typed (hex, ASCII and file: keys, every sub-keyword) and
// printed back to the same model.
#[test]
fn auth_hmac_typed_and_printed_back() {
    let text = inst(&format!(
        "  auth_hmac {{\n    key 1 {KEY1}\n    key 2 correct-horse-battery-staple-2433\n    \
         key 7 file:/etc/keepalived/keys/vrrp51\n    active_key 2\n    anti_replay monotonic\n    \
         time_window 9\n    mode receive-only\n  }}\n"
    ));
    let p = parse(&text);
    assert!(errors(&p).is_empty(), "{:?}", errors(&p));
    let a = p.config.vrrp_instances[0]
        .auth_hmac
        .as_ref()
        .expect("typed");
    let ids: Vec<u8> = a.keys.iter().map(|k| k.id).collect();
    assert_eq!(ids, [1, 2, 7]);
    assert_eq!(
        a.keys[0].value,
        AuthHmacKeyValue::Hex(KEY1.trim_start_matches("hex:").into())
    );
    assert_eq!(
        a.keys[1].value,
        AuthHmacKeyValue::Ascii("correct-horse-battery-staple-2433".into())
    );
    assert_eq!(
        a.keys[2].value,
        AuthHmacKeyValue::File("/etc/keepalived/keys/vrrp51".into())
    );
    assert_eq!(a.active_key, Some(2));
    assert_eq!(a.anti_replay, Some(AuthHmacAntiReplay::Monotonic));
    assert_eq!(a.time_window, Some(9));
    assert_eq!(a.mode, Some(AuthHmacMode::ReceiveOnly));
    // Every auth_hmac keyword is implemented (lab tests against 2.4.3): no "not supported
    // yet" note for any of them.
    assert!(
        !p.diagnostics
            .iter()
            .any(|d| d.message.contains("not supported yet")),
        "{:?}",
        p.diagnostics
    );
    let printed = conf_parse::print(&p.config);
    let again = parse(&printed);
    assert!(errors(&again).is_empty(), "{:?}\n{printed}", errors(&again));
    assert_eq!(again.config, p.config, "{printed}");
    // The ASCII key ends at a '!' (a comment, as in keepalived): 32 bytes remain here.
    let p = parse(&inst(
        "  auth_hmac {\n    key 1 correct-horse-battery-staple-243!\n    active_key 1\n  }\n",
    ));
    assert!(errors(&p).is_empty(), "{:?}", errors(&p));
    let a = p.config.vrrp_instances[0]
        .auth_hmac
        .as_ref()
        .expect("typed");
    assert_eq!(
        a.keys[0].value,
        AuthHmacKeyValue::Ascii("correct-horse-battery-staple-243".into())
    );
}

// Proves the invalid forms are errors on the lines and with the messages keepalived 2.4.3
// reports, and its end-of-instance fix-ups (undefined active_key disables the extension,
// authentication is dropped, strict mode forces enforce).
#[test]
fn auth_hmac_invalid_forms() {
    let text = inst(&format!(
        "  auth_hmac {{\n    key 0 {KEY1}\n    key 1 short\n    key 2 hex:0g\n    key 3 {KEY1}\n    \
         key 3 {KEY1}\n    active_key 9\n    time_window 301\n    anti_replay foo\n    mode bar\n    \
         key 4\n  }}\n"
    ));
    let p = parse(&text);
    let e = errors(&p);
    let want: Vec<(u32, &str)> = vec![
        (5, "(VI_1) auth_hmac key id '0' must be between 1 and 255"),
        (6, "(VI_1) auth_hmac key 1 length 5 not in range [32, 64]"),
        (7, "(VI_1) auth_hmac key 2 length 0 not in range [32, 64]"),
        (9, "(VI_1) duplicate auth_hmac key id 3"),
        (
            11,
            "(VI_1) auth_hmac time_window '301' must be between 1 and 300 seconds",
        ),
        (
            12,
            "(VI_1) auth_hmac anti_replay 'foo' must be time or monotonic",
        ),
        (
            13,
            "(VI_1) auth_hmac mode 'bar' must be enforce, permissive or receive-only",
        ),
        (14, "(VI_1) auth_hmac key needs an id and a value"),
        (
            1,
            "(VI_1) auth_hmac active_key 9 is not defined, disabling extension",
        ),
    ];
    for (line, msg) in &want {
        assert!(
            e.iter().any(|(l, m)| l == line && m == msg),
            "missing {line}: {msg} in {e:#?}"
        );
    }
    assert_eq!(e.len(), want.len(), "{e:#?}");
    assert!(p.config.vrrp_instances[0].auth_hmac.is_none());

    let p = parse(&inst(&format!(
        "  strict_mode\n  authentication {{\n    auth_type PASS\n    auth_pass x\n  }}\n  \
         auth_hmac {{\n    key 1 {KEY1}\n    active_key 1\n    mode permissive\n  }}\n"
    )));
    let e: Vec<String> = errors(&p).into_iter().map(|(_, m)| m).collect();
    assert!(e.contains(
        &"(VI_1) auth_hmac cannot be combined with authentication, dropping legacy auth".into()
    ));
    assert!(e.contains(&"(VI_1) strict mode requires auth_hmac mode enforce".into()));
    let v = &p.config.vrrp_instances[0];
    assert!(v.authentication.is_none());
    assert_eq!(
        v.auth_hmac.as_ref().and_then(|a| a.mode),
        Some(AuthHmacMode::Enforce)
    );
}

// Proves the compatibility level: by default (the union) and at 2.4.3 auth_hmac is known and
// typed; at 2.2.7 it is an unknown keyword (as Debian's 2.2.7 reports it), its block's
// keywords too, and nothing is typed.
#[test]
fn compat_level_makes_2_4_keywords_unknown_at_2_2_7() {
    use conf_parse::keywords::Release;
    use conf_parse::Code;
    let text = inst(&format!(
        "  auth_hmac {{\n    key 1 {KEY1}\n    active_key 1\n  }}\n"
    ));
    let unknown = |compat: Option<Release>| {
        let opts = ParseOptions {
            compat,
            ..ParseOptions::default()
        };
        let p = parse_str(&text, "test.conf", &opts);
        let u: Vec<u32> = p
            .diagnostics
            .iter()
            .filter(|d| d.code == Code::UnknownKeyword)
            .map(|d| d.span.line)
            .collect();
        (u, p.config.vrrp_instances[0].auth_hmac.is_some())
    };
    assert_eq!(unknown(None), (vec![], true));
    assert_eq!(unknown(Some(Release::V2_4_3)), (vec![], true));
    let (u, typed) = unknown(Some(Release::V2_2_7));
    assert!(!typed);
    // auth_hmac (line 4), then key and active_key read at the instance level, then the
    // instance's own keywords after the stray `}` (as 2.2.7 reads them).
    assert_eq!(&u[..3], &[4, 5, 6], "{u:?}");
    assert_eq!(Release::parse_level("2.2.7"), Some(Release::V2_2_7));
    assert_eq!(Release::parse_level("2.4.3"), Some(Release::V2_4_3));
    assert_eq!(Release::parse_level("2.3"), None);
}
