use super::*;

// Proves label values are escaped and every sample line has a declared TYPE.
#[test]
fn render_escapes_and_types() {
    let mut st = Status {
        implementation: "keepalived-rs".into(),
        version: "0.1.0".into(),
        ..Default::default()
    };
    st.workers.insert(
        "vrrp".into(),
        WorkerMetrics {
            vrrp_instances: vec![VrrpInstanceMetrics {
                name: "VI \"1\"\n".into(),
                state: VrrpStateMetric::Master,
                drops: [("auth".to_string(), 3u64)].into_iter().collect(),
                ..Default::default()
            }],
            ..Default::default()
        },
    );
    let text = render(&st);
    assert!(text.contains(r#"instance="VI \"1\"\n""#), "{text}");
    assert!(text.contains("keepalived_vrrp_state{"));
    let typed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let name = l.split(['{', ' ']).next().unwrap();
        assert!(typed.contains(&name), "untyped sample {l}");
    }
}
