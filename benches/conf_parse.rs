//! Parser throughput: a generated configuration of 2,000 virtual_server x 10 real_server
//! with TCP_CHECK plus 200 vrrp_instance (the issue #3 benchmark shape), and the seed
//! configurations.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn opts() -> conf_parse::ParseOptions {
    conf_parse::ParseOptions {
        config_id: Some("bench".into()),
        ..conf_parse::ParseOptions::default()
    }
}

fn big(n_vs: usize, n_rs: usize, n_vi: usize) -> String {
    let mut s = String::with_capacity(n_vs * n_rs * 200);
    s.push_str("global_defs {\n    router_id bench\n}\n");
    for i in 0..n_vi {
        s.push_str(&format!(
            "vrrp_instance VI_{i} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {}\n    priority 100\n    advert_int 1\n    authentication {{\n        auth_type PASS\n        auth_pass 1111\n    }}\n    virtual_ipaddress {{\n        10.{}.{}.1/24\n    }}\n}}\n",
            i % 255 + 1,
            i / 250,
            i % 250
        ));
    }
    for v in 0..n_vs {
        s.push_str(&format!(
            "virtual_server 10.100.{}.{} 80 {{\n    delay_loop 6\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n",
            v / 250,
            v % 250 + 1
        ));
        for r in 0..n_rs {
            s.push_str(&format!(
                "    real_server 10.200.{}.{} 80 {{\n        weight 1\n        TCP_CHECK {{\n            connect_port 80\n            connect_timeout 3\n            retry 3\n            delay_before_retry 3\n        }}\n    }}\n",
                (v * n_rs + r) / 250 % 256,
                (v * n_rs + r) % 250 + 1
            ));
        }
        s.push_str("}\n");
    }
    s
}

fn bench(c: &mut Criterion) {
    let o = opts();
    let text = big(2000, 10, 200);
    let mut g = c.benchmark_group("conf_parse");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("2000vs_x10rs_200vi", |b| {
        b.iter(|| {
            let p = conf_parse::parse_str(&text, "big.conf", &o);
            assert_eq!(p.config.virtual_servers.len(), 2000);
            p
        })
    });
    let printed_model = conf_parse::parse_str(&text, "big.conf", &o).config;
    g.bench_function("print_2000vs_x10rs_200vi", |b| {
        b.iter(|| conf_parse::print(&printed_model))
    });
    g.finish();

    let seed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/seed-configs/node01-master-lvs-dr.conf"
    );
    let seed_text = std::fs::read_to_string(seed).unwrap_or_default();
    c.bench_function("conf_parse/seed_node01", |b| {
        b.iter(|| conf_parse::parse_str(&seed_text, "node01.conf", &o))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
