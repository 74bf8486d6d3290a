//! docs/crates.md example: one TCP_CHECK against a local listener, then the same check with
//! nothing listening.
//! `cargo run -p healthcheck --example healthcheck-readme`

use healthcheck::{check, CheckKind, Checker, Target};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let checker = Checker::new(CheckKind::Tcp);

        let up = check(&checker, &Target::new(addr)).await;
        println!("{addr}: {:?} in {:?}", up.status, up.latency);
        assert!(up.status.is_up());

        drop(listener);
        let down = check(&checker, &Target::new(addr)).await;
        println!("{addr}: {:?}", down.status);
        assert!(!down.status.is_up());
        Ok(())
    })
}
