//! Times the director's start and reload on an in-memory IPVS table (no kernel):
//! `cargo run --release -p lvs-director --example reload_phases -- V0.conf V1.conf [ROUNDS]`
//! (e.g. the files of `ipvs_load gen-scale 2277 37205 0|1`). Prints the parse time of each
//! file, the time from the director's start to its first reconcile, and from each reload
//! command to its reconcile (alternating V1, V0, ...).
use std::sync::mpsc as smpsc;
use std::sync::Arc;
use std::time::Instant;

use lvs_director::{Control, DirectorEvent, DirectorOptions, SharedMemory, SharedParsed};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(a), Some(b)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: reload_phases V0.conf V1.conf [ROUNDS]");
        std::process::exit(2);
    };
    let rounds: usize = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(4);
    let po = conf_parse::ParseOptions::default();
    let t = Instant::now();
    let p0 = Arc::new(conf_parse::parse_file(a.as_ref(), &po));
    println!("parse {a}: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let t = Instant::now();
    let p1 = Arc::new(conf_parse::parse_file(b.as_ref(), &po));
    println!("parse {b}: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let (ev_tx, ev_rx) = smpsc::channel::<(Instant, usize)>();
    let (ctl_tx, ctl_rx) = tokio::sync::mpsc::unbounded_channel();
    let opts = DirectorOptions {
        control: Some(ctl_rx),
        events: Some(Arc::new(move |e: &DirectorEvent| {
            if let DirectorEvent::Reconciled { applied, .. } = e {
                let _ = ev_tx.send((Instant::now(), *applied));
            }
        })),
        ..Default::default()
    };
    let mem = SharedMemory::default();
    let p = SharedParsed(p0.clone());
    let t0 = Instant::now();
    let th = std::thread::spawn(move || lvs_director::run_with(p, opts, mem));
    let (at, n) = ev_rx.recv().expect("first reconcile");
    println!("start: {:.1} ms ({n} ops)", (at - t0).as_secs_f64() * 1e3);
    for i in 0..rounds {
        let next = if i % 2 == 0 { &p1 } else { &p0 };
        let t = Instant::now();
        let _ = ctl_tx.send(Control::Reload(Box::new(SharedParsed(next.clone()))));
        let (at, n) = ev_rx.recv().expect("reconcile");
        println!(
            "reload {i}: {:.1} ms ({n} ops)",
            (at - t).as_secs_f64() * 1e3
        );
    }
    let _ = ctl_tx.send(Control::Shutdown);
    let _ = th.join();
}
