//! The SMTP alert client against arbitrary server replies: keepalived's dialogue run over an
//! in-memory stream whose server side sends the fuzz input and then closes. It must end with
//! success or a typed error, never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

fuzz_target!(|data: &[u8]| {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    else {
        return;
    };
    let settings = smtp_alert::Settings {
        server: ("192.0.2.25".to_string(), 25),
        helo_name: "fuzz".to_string(),
        from: "a@b".to_string(),
        recipients: vec!["c@d".to_string(), "e@f".to_string()],
        router_id: "r".to_string(),
        timeout: Duration::from_secs(1),
    };
    let alert = smtp_alert::Alert::vrrp_instance("r", "VI_1", smtp_alert::VrrpState::Master);
    rt.block_on(async {
        let (client, mut server) = tokio::io::duplex(1 << 20);
        let _ = server.write_all(data).await;
        let _ = server.shutdown().await;
        let r = tokio::time::timeout(
            Duration::from_secs(5),
            smtp_alert::dialogue(client, &settings, &alert, "[192.0.2.25]:25", "date"),
        )
        .await;
        assert!(r.is_ok(), "the dialogue must end on a closed stream");
        drop(server);
    });
});
