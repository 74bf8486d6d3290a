//! The keyword registry tells the truth: every keyword is classified, every `implemented`
//! keyword names real-system tests that exist and is typed by the parser, `-t` notes every
//! keyword that is not implemented, and `docs/keywords.md` is what the registry generates.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use conf_parse::keywords::Runtime;
use conf_parse::registry::{self, Entry, UNCLASSIFIED};
use conf_parse::{parse_str, Code, ParseOptions};

fn workspace_root() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    p.canonicalize().unwrap_or(p)
}

fn opts() -> ParseOptions {
    ParseOptions {
        config_id: Some("probe".into()),
        random_seed: Some(1),
        ..ParseOptions::default()
    }
}

fn where_(e: &Entry) -> String {
    let b = e.block_path();
    if b.is_empty() {
        e.kw.name.to_string()
    } else {
        format!("{b} > {}", e.kw.name)
    }
}

/// Every `.rs` file of the workspace's crates, binaries and tests.
fn rust_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if n != "target" && !n.starts_with('.') {
                    walk(&p, out);
                }
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let root = workspace_root();
    let mut out = Vec::new();
    for d in ["crates", "bins", "tests"] {
        walk(&root.join(d), &mut out);
    }
    out
}

/// Names of the test functions in the workspace (`fn NAME` within a few lines after a
/// `#[test]`-like attribute).
fn test_names() -> HashSet<String> {
    let mut names = HashSet::new();
    for f in rust_files() {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim_start();
            if !(t.starts_with("#[test]") || t.starts_with("#[tokio::test")) {
                continue;
            }
            for l2 in lines.iter().skip(i + 1).take(6) {
                let t2 = l2.trim_start();
                let rest = t2
                    .strip_prefix("fn ")
                    .or_else(|| t2.strip_prefix("async fn "))
                    .or_else(|| t2.strip_prefix("pub fn "));
                if let Some(r) = rest {
                    let name: String = r
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    names.insert(name);
                    break;
                }
            }
        }
    }
    names
}

// Proves every keyword has a run-time status of its own, or sits in a block that is not
// implemented as a whole (and so has the block's status).
#[test]
fn every_keyword_is_classified() {
    let missing: Vec<String> = registry::registry()
        .iter()
        .filter(|e| e.runtime == Runtime::NotYet(UNCLASSIFIED))
        .map(where_)
        .collect();
    assert!(
        missing.is_empty(),
        "{} keywords have no run-time status in the registry: {missing:#?}",
        missing.len()
    );
}

// Proves each keyword marked `implemented` names at least one test, that each named test
// exists in the workspace, and that it is a real-system test (namespace lab `lab_*`, in the
// IPVS VM `vm_*`, or booting it `vmhost_*`).
#[test]
fn implemented_keywords_name_existing_real_system_tests() {
    let names = test_names();
    assert!(
        names.len() > 100,
        "test scan found only {} tests",
        names.len()
    );
    let mut bad = Vec::new();
    for e in registry::registry() {
        if let Runtime::Implemented(tests) = e.runtime {
            if tests.is_empty() {
                bad.push(format!("{}: no test named", where_(&e)));
            }
            for t in tests {
                if !names.contains(*t) {
                    bad.push(format!("{}: test {t} does not exist", where_(&e)));
                } else if !(t.starts_with("lab_")
                    || t.starts_with("vm_")
                    || t.starts_with("vmhost_"))
                {
                    bad.push(format!("{}: {t} is not a real-system test", where_(&e)));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

// Proves no keyword claims more than the parser does: a keyword marked `implemented` is
// parsed into a typed field (never kept as a plain statement), and a keyword that is not
// implemented gets a located `-t` note on its own line (unless its block already got one).
#[test]
fn implemented_means_typed_and_the_rest_is_noted() {
    let mut bad = Vec::new();
    for e in registry::registry() {
        let (text, line) = registry::probe_text(&e);
        let p = parse_str(&text, "probe.conf", &opts());
        let untyped = p.untyped.iter().any(|l| l.0.line == line);
        let noted = p.diagnostics.iter().any(|d| {
            matches!(d.code, Code::NotSupportedYet | Code::NoEffectHere) && d.span.line == line
        });
        match e.runtime {
            Runtime::Implemented(_) => {
                if untyped {
                    bad.push(format!("{}: implemented but kept untyped", where_(&e)));
                }
                if noted {
                    bad.push(format!("{}: implemented but noted", where_(&e)));
                }
            }
            _ if e.in_noted_block => {
                if noted {
                    bad.push(format!("{}: noted again inside a noted block", where_(&e)));
                }
            }
            _ => {
                if !noted {
                    bad.push(format!("{}: not implemented but no -t note", where_(&e)));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{} problems: {bad:#?}", bad.len());
}

// Proves docs/keywords.md is what the registry generates (regenerate with
// `cargo run -p conf-parse --example gen-keywords`).
#[test]
fn keywords_md_is_current() {
    let path = workspace_root().join("docs/keywords.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == registry::keywords_md(),
        "{} is stale: run `cargo run -p conf-parse --example gen-keywords` and commit it",
        path.display()
    );
}

// Proves every keyword keepalived knows (the names its sources install with
// install_keyword*(), 2.2.7 and the 2.4.3 reference: tests/fixtures/reference-keywords.txt)
// is either in the registry or knowingly unknown (keywords keepalived added after 2.2.7,
// which 2.2.7 and we both reject as unknown until issue #21 adds them).
#[test]
fn every_reference_keyword_is_in_the_registry_or_knowingly_unknown() {
    let list = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference-keywords.txt"),
    )
    .expect("reference keyword list");
    let ours: BTreeSet<&str> = conf_parse::keywords::all_names().into_iter().collect();
    let mut missing = Vec::new();
    for l in list.lines() {
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let (name, tag) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
        let known_unknown = tag.trim().starts_with("unknown:");
        if !ours.contains(name) && !known_unknown {
            missing.push(name.to_string());
        }
        if ours.contains(name) && known_unknown {
            missing.push(format!(
                "{name} is in the registry: drop its 'unknown:' tag"
            ));
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}
