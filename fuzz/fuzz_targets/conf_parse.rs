#![no_main]
//! Fuzz the keepalived.conf parser: any bytes must give diagnostics, never a panic, and
//! the canonical printer's output must parse back to the same model.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = conf_parse::ParseOptions {
        config_id: Some("fuzz".into()),
        random_seed: Some(1),
        max_lines: 100_000,
        ..conf_parse::ParseOptions::default()
    };
    let text = String::from_utf8_lossy(data);
    let parsed = conf_parse::parse_str(&text, "fuzz.conf", &opts);
    // Printing never panics; re-parsing the printed text yields the same model unless the
    // input used `$` parameters (substitution can't be escaped, see conf_parse::print).
    let printed = conf_parse::print(&parsed.config);
    if !printed.contains('$') {
        let again = conf_parse::parse_str(&printed, "printed.conf", &opts);
        assert_eq!(
            again.config, parsed.config,
            "print/parse mismatch:\n{printed}"
        );
    }
});
