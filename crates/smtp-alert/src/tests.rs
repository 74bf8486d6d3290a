use super::*;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The mail part of a parsed `global_defs` (what the daemon's callers convert).
fn global(text: &str) -> MailDefs {
    let p = conf_parse::parse_str(text, "t.conf", &conf_parse::ParseOptions::default());
    assert!(!p.has_errors(), "{:?}", p.diagnostics);
    let g = p.config.global;
    MailDefs {
        router_id: g.router_id,
        notification_email: g.notification_email,
        notification_email_from: g.notification_email_from,
        smtp_server: g.smtp_server,
        smtp_helo_name: g.smtp_helo_name,
        smtp_connect_timeout: g.smtp_connect_timeout,
        smtp_alert: g.smtp_alert,
        smtp_alert_vrrp: g.smtp_alert_vrrp,
        smtp_alert_checker: g.smtp_alert_checker,
    }
}

fn settings() -> Settings {
    Settings {
        server: ("10.0.0.9".into(), 25),
        helo_name: "lb1.example".into(),
        from: "keepalived@lb1.example".into(),
        recipients: vec!["ops@example.com".into(), "noc@example.com".into()],
        router_id: "LB1".into(),
        timeout: Duration::from_secs(2),
    }
}

// Proves the enable rules of vrrp.c / check_data.c: own setting first, then the specific
// global (smtp_alert_vrrp / smtp_alert_checker), then smtp_alert; default off, except a
// real_server, which defaults on.
#[test]
fn enable_rules() {
    let none = MailDefs::default();
    assert!(!vrrp_enabled(&none, None));
    assert!(!checker_vs_enabled(&none, None));
    assert!(checker_rs_enabled(&none, None));
    assert!(vrrp_enabled(&none, Some(true)));
    assert!(!checker_rs_enabled(&none, Some(false)));

    let g = global("global_defs { smtp_alert\n smtp_alert_vrrp off }");
    assert!(!vrrp_enabled(&g, None), "smtp_alert_vrrp beats smtp_alert");
    assert!(vrrp_enabled(&g, Some(true)), "own setting beats globals");
    assert!(checker_vs_enabled(&g, None) && checker_rs_enabled(&g, None));

    let g = global("global_defs { smtp_alert off\n smtp_alert_checker on }");
    assert!(checker_vs_enabled(&g, None) && checker_rs_enabled(&g, None));
    assert!(!vrrp_enabled(&g, None));
    assert!(!checker_vs_enabled(&g, Some(false)));

    let g = global("global_defs { smtp_alert off }");
    assert!(
        !checker_rs_enabled(&g, None),
        "smtp_alert off reaches real servers"
    );
}

// Proves the settings defaults: port 25, HELO = local name, From = user@local name, router_id
// = local name, timeout 30 s (0 → 1 s), and no settings without a server or recipients.
#[test]
fn settings_defaults() {
    let g = global("global_defs { smtp_server 10.0.0.9\n notification_email { a@x b@y } }");
    let s = Settings::from_global(&g, Some("host1")).expect("settings");
    assert_eq!(s.server, ("10.0.0.9".to_string(), 25));
    assert_eq!(s.helo_name, "host1");
    assert!(s.from.ends_with("@host1"), "{}", s.from);
    assert_eq!(s.router_id, "host1");
    assert_eq!(s.recipients, vec!["a@x", "b@y"]);
    assert_eq!(s.timeout, Duration::from_secs(30));
    assert_eq!(s.server_label(), "[10.0.0.9]:25");

    let s = Settings::from_global(&g, None).expect("settings");
    assert_eq!(
        (s.helo_name.as_str(), s.router_id.as_str()),
        ("localhost", UNKNOWN_NAME)
    );
    assert_eq!(s.from, "");

    let g = global(
        "global_defs { router_id R\n smtp_server mail.example 2525\n smtp_helo_name h\n\
         notification_email_from f@x\n smtp_connect_timeout 0\n notification_email { a@x } }",
    );
    let s = Settings::from_global(&g, Some("host1")).expect("settings");
    assert_eq!(s.server, ("mail.example".to_string(), 2525));
    assert_eq!((s.helo_name.as_str(), s.from.as_str()), ("h", "f@x"));
    assert_eq!(s.router_id, "R");
    assert_eq!(s.timeout, Duration::from_secs(1));

    assert!(Settings::from_global(&global("global_defs { smtp_server 10.0.0.9 }"), None).is_none());
    assert!(
        Settings::from_global(&global("global_defs { notification_email { a@x } }"), None)
            .is_none()
    );
}

// Proves keepalived's subjects and bodies (smtp.c smtp_alert, vrrp_notify.c, ipwrapper.c).
#[test]
fn subjects_and_bodies() {
    let a = Alert::vrrp_instance("LB1", "VI_1", VrrpState::Master);
    assert_eq!(
        a.subject,
        "[LB1] VRRP Instance VI_1 - Entering MASTER state"
    );
    assert_eq!(a.body, "=> VRRP Instance is now owning VRRP VIPs <=");
    let a = Alert::vrrp_instance("LB1", "VI_1", VrrpState::Backup);
    assert_eq!(
        a.subject,
        "[LB1] VRRP Instance VI_1 - Entering BACKUP state"
    );
    assert_eq!(a.body, "=> VRRP Instance is no longer owning VRRP VIPs <=");
    let a = Alert::vrrp_instance("LB1", "VI_1", VrrpState::Fault);
    assert_eq!(a.subject, "[LB1] VRRP Instance VI_1 - Entering FAULT state");
    let a = Alert::vrrp_instance("LB1", "VI_1", VrrpState::Stop);
    assert_eq!(a.subject, "[LB1] VRRP Instance VI_1 - Stopping");
    assert_eq!(a.body, "=> VRRP Instance stopping <=");
    let a = Alert::vrrp_group("LB1", "G", VrrpState::Master);
    assert_eq!(a.subject, "[LB1] VRRP Group G - Entering MASTER state");
    assert_eq!(
        a.body,
        "=> All VRRP group instances are now in MASTER state <="
    );
    let a = Alert::real_server(
        "LB1",
        "[10.0.0.2]:tcp:80",
        "[10.0.0.1]:tcp:80",
        false,
        "=> TCP CHECK failed on service <=",
    );
    assert_eq!(
        a.subject,
        "[LB1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - DOWN"
    );
    let a = Alert::quorum("LB1", "[10.0.0.1]:tcp:80", true, 3, 1, 4);
    assert_eq!(a.subject, "[LB1] Virtualserver [10.0.0.1]:tcp:80 - UP");
    // keepalived computes the threshold before the change: Q+H when gaining (ipwrapper.c
    // update_quorum_state), so 3+1=4.
    assert_eq!(a.body, "=> Gained quorum 3+1=4 <= 4 <=");
    let a = Alert::quorum("LB1", "FWM 5", false, 1, 0, 0);
    assert_eq!(a.body, "=> Lost quorum 1+0=1 <= 0 <=");
    // keepalived's buffers: the subject is cut at 255 bytes, on a character boundary.
    let a = Alert::vrrp_instance("R", &"é".repeat(300), VrrpState::Master);
    assert!(a.subject.len() <= 255 && a.subject.starts_with("[R] VRRP Instance é"));
}

// Proves the DATA text: keepalived's header order, X-Mailer, To joined by ", ", blank line,
// body, terminating dot.
#[test]
fn message_format() {
    let a = Alert::vrrp_instance("LB1", "VI_1", VrrpState::Master);
    let m = a.message(&settings(), "Mon, 01 Mar 2021 09:44:08 +0000");
    assert_eq!(
        m,
        "Date: Mon, 01 Mar 2021 09:44:08 +0000\r\n\
         From: keepalived@lb1.example\r\n\
         Subject: [LB1] VRRP Instance VI_1 - Entering MASTER state\r\n\
         X-Mailer: Keepalived\r\n\
         To: ops@example.com, noc@example.com\r\n\
         \r\n\
         => VRRP Instance is now owning VRRP VIPs <=\r\n\
         \r\n.\r\n"
    );
    let d = rfc822_now();
    assert!(
        d.len() >= 30 && d.contains(", ") && (d.contains(" +") || d.contains(" -")),
        "{d}"
    );
}

/// A scripted server over an in-memory pipe: answers `replies` in order (one per read
/// command), returns everything the client wrote.
async fn run_against(replies: &[&str], s: &Settings) -> (Result<(), SendError>, String) {
    let (client, mut server) = tokio::io::duplex(64 * 1024);
    let replies: Vec<String> = replies.iter().map(|r| r.to_string()).collect();
    let srv = tokio::spawn(async move {
        let mut seen = String::new();
        let mut pending = String::new();
        let mut in_data;
        let mut buf = [0u8; 4096];
        let mut replies = replies.into_iter();
        let mut next = replies.next();
        while let Some(r) = next.take() {
            if server.write_all(r.as_bytes()).await.is_err() {
                break;
            }
            in_data = pending.ends_with("DATA\r\n") && r.starts_with("354");
            pending.clear();
            next = replies.next();
            if next.is_none() {
                break;
            }
            // Read one whole command (the message text counts as one).
            loop {
                let n = match server.read(&mut buf).await {
                    Ok(0) | Err(_) => return seen,
                    Ok(n) => n,
                };
                let t = String::from_utf8_lossy(&buf[..n]).to_string();
                seen.push_str(&t);
                pending.push_str(&t);
                let done = if in_data {
                    pending.ends_with("\r\n.\r\n")
                } else {
                    pending.ends_with("\r\n")
                };
                if done {
                    break;
                }
            }
        }
        // Whatever the client still sends (QUIT) before it sees the end.
        while let Ok(n) =
            tokio::time::timeout(Duration::from_millis(200), server.read(&mut buf)).await
        {
            match n {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
        seen
    });
    let a = Alert::vrrp_instance("LB1", "VI_1", VrrpState::Master);
    let r = dialogue(client, s, &a, "[10.0.0.9]:25", "DATE").await;
    let seen = srv.await.unwrap_or_default();
    (r, seen)
}

// Proves the dialogue: HELO, MAIL FROM, one RCPT TO per recipient, DATA, message, QUIT;
// multi-line replies are read to their last line.
#[tokio::test]
async fn dialogue_success() {
    let (r, seen) = run_against(
        &[
            "220-mx ready\r\n220 ESMTP\r\n",
            "250 hi\r\n",
            "250 ok\r\n",
            "250 ok\r\n",
            "250 ok\r\n",
            "354 go\r\n",
            "250 queued\r\n",
            "221 bye\r\n",
        ],
        &settings(),
    )
    .await;
    assert_eq!(r, Ok(()));
    assert!(
        seen.starts_with(
            "HELO lb1.example\r\nMAIL FROM:<keepalived@lb1.example>\r\n\
             RCPT TO:<ops@example.com>\r\nRCPT TO:<noc@example.com>\r\nDATA\r\nDate: DATE\r\n"
        ),
        "{seen}"
    );
    assert!(seen.ends_with("\r\n.\r\nQUIT\r\n"), "{seen}");
}

// Proves a wrong code stops the dialogue with keepalived's message and a QUIT, and that
// garbage, overlong or missing replies are errors, not panics.
#[tokio::test]
async fn dialogue_errors() {
    let (r, seen) = run_against(
        &["220 ok\r\n", "250 hi\r\n", "550 no\r\n", "221 bye\r\n"],
        &settings(),
    )
    .await;
    let e = r.expect_err("MAIL refused");
    assert_eq!(
        e.to_string(),
        "Error processing MAIL cmd on SMTP server [10.0.0.9]:25. SMTP status code = 550"
    );
    assert!(
        seen.ends_with("MAIL FROM:<keepalived@lb1.example>\r\nQUIT\r\n"),
        "{seen}"
    );

    let (r, _) = run_against(&["421 busy\r\n", "221 bye\r\n"], &settings()).await;
    assert!(
        matches!(
            r,
            Err(SendError::Code {
                cmd: "(E)SMTP",
                code: 421,
                ..
            })
        ),
        "{r:?}"
    );

    let (r, _) = run_against(&["hello there\r\n"], &settings()).await;
    assert!(matches!(r, Err(SendError::BadReply(..))), "{r:?}");

    let long = format!("220-{}\r\n", "x".repeat(2000));
    let (r, _) = run_against(&[long.as_str()], &settings()).await;
    assert!(matches!(r, Err(SendError::BadReply(..))), "{r:?}");

    let (r, _) = run_against(&["22"], &settings()).await;
    assert!(matches!(r, Err(SendError::Closed(_))), "{r:?}");
}

// Proves a silent server is bounded by smtp_connect_timeout for each reply.
#[tokio::test(start_paused = true)]
async fn silent_server_times_out() {
    let (client, _server) = tokio::io::duplex(1024);
    let a = Alert::vrrp_instance("LB1", "VI_1", VrrpState::Master);
    let r = dialogue(client, &settings(), &a, "[10.0.0.9]:25", "D").await;
    assert_eq!(r, Err(SendError::ReadTimeout("[10.0.0.9]:25".into())));
}
