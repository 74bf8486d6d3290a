//! docs/crates.md example: parse keepalived.conf text into the typed model, print the
//! diagnostics keepalived -t would give and walk the virtual servers.
//! `cargo run -p conf-parse --example conf-parse-readme`

use conf_parse::{parse_str, ParseOptions};

const CONF: &str = r#"
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    virtual_ipaddress {
        192.0.2.100/24
    }
}
virtual_server 192.0.2.100 80 {
    lb_algo wrr
    lb_kind DR
    protocol TCP
    real_server 10.0.0.2 80 {
        weight 2
        TCP_CHECK {
            connect_timeout 3
        }
    }
}
"#;

fn main() {
    let parsed = parse_str(CONF, "example.conf", &ParseOptions::default());
    for d in &parsed.diagnostics {
        eprintln!("{d}"); // file:line:col, severity, message, hint
    }
    assert!(!parsed.has_errors());
    for vs in &parsed.config.virtual_servers {
        println!("virtual_server with {} real servers", vs.real_servers.len());
    }
    // The canonical printer (what `keepalived -t -d` shows).
    print!("{}", conf_parse::print(&parsed.config));
}
