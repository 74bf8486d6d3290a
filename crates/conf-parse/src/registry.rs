//! The keyword registry: every keyword keepalived 2.2.7 knows (and keepalived-rs's own), by
//! block, with its shape, deprecation and run-time status. It is the single source of truth
//! for what a keyword does here: `keepalived -t`'s notes, the start-up log, the man page
//! `keepalived.conf(5)`, `docs/keywords.md` and the `/status` JSON are generated from it.
//!
//! The table itself is [`crate::keywords`] (each entry built with `.imp(&[tests])`,
//! `.todo(reason)` or `.noop(why)`); this module walks it and resolves inheritance.

use std::fmt::Write as _;

use crate::keywords::{self, Kind, Kw, Runtime, Status};

/// Status text of a keyword whose block is implemented but which was never classified
/// (a registry test fails on it; until then it is reported, never claimed).
pub const UNCLASSIFIED: &str = "its run-time effect is not shown by a test yet";

/// One keyword in one place.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Enclosing blocks, outermost first (empty at top level).
    pub block: Vec<&'static str>,
    /// The keyword.
    pub kw: &'static Kw,
    /// Its resolved run-time status (never [`Runtime::Inherit`]).
    pub runtime: Runtime,
    /// True when the status comes from the enclosing block (or from the keyword an alias
    /// stands for) rather than from the keyword's own entry.
    pub inherited: bool,
    /// True inside a block that is not implemented: `-t` notes the block, not each keyword.
    pub in_noted_block: bool,
}

impl Entry {
    /// `"vrrp_instance > authentication"` (empty at top level).
    pub fn block_path(&self) -> String {
        self.block.join(" > ")
    }

    /// The status as one line of text (man page, docs, notes).
    pub fn status_text(&self) -> String {
        let mut s = status_text(&self.runtime);
        match self.kw.status {
            Status::Current => {}
            Status::Deprecated(r) => {
                let _ = write!(s, "; deprecated, use {r}");
            }
            Status::Alias(r) => {
                let _ = write!(s, "; alias of {r}");
            }
        }
        s
    }

    /// The shape as text: "", "{ values }" or "{ block }".
    pub fn shape(&self) -> &'static str {
        match self.kw.kind {
            Kind::Simple => "",
            Kind::Values => "{ values }",
            Kind::Block(_) => "{ block }",
        }
    }
}

/// "implemented", "not supported yet: why", "accepted, no effect here: why".
pub fn status_text(rt: &Runtime) -> String {
    match rt {
        Runtime::Implemented(_) => "implemented".to_string(),
        Runtime::NotYet(why) => format!("not supported yet: {why}"),
        Runtime::NoEffect(why) => format!("accepted, no effect here: {why}"),
        Runtime::Inherit => format!("not supported yet: {UNCLASSIFIED}"),
    }
}

/// The status of `kw` found in `table`, when the enclosing block's status is `outer`
/// (`None` at top level or inside an implemented block).
pub fn resolve(table: &'static [Kw], kw: &'static Kw, outer: Option<&Runtime>) -> (Runtime, bool) {
    if let Some(o) = outer {
        if !o.is_implemented() {
            return (*o, true);
        }
    }
    match kw.runtime {
        Runtime::Inherit => {
            // An alias stands for its keyword.
            if let Status::Alias(target) = kw.status {
                if let Some(t) = keywords::find(table, target) {
                    if !matches!(t.runtime, Runtime::Inherit) {
                        return (t.runtime, true);
                    }
                }
            }
            (Runtime::NotYet(UNCLASSIFIED), false)
        }
        rt => (rt, false),
    }
}

/// Every keyword by block (a block's own keywords first, then its sub-blocks; a shared table
/// such as HTTP_GET is listed under each parent).
pub fn registry() -> Vec<Entry> {
    fn walk(
        table: &'static [Kw],
        path: &mut Vec<&'static str>,
        outer: Option<Runtime>,
        out: &mut Vec<Entry>,
    ) {
        let mut subs: Vec<(&'static Kw, Runtime)> = Vec::new();
        for kw in table {
            let (runtime, inherited) = resolve(table, kw, outer.as_ref());
            out.push(Entry {
                block: path.clone(),
                kw,
                runtime,
                inherited,
                in_noted_block: outer.is_some_and(|o| !o.is_implemented()),
            });
            if matches!(kw.kind, Kind::Block(_)) {
                subs.push((kw, runtime));
            }
        }
        for (kw, rt) in subs {
            if let Kind::Block(sub) = kw.kind {
                if path.len() < 8 {
                    path.push(kw.name);
                    walk(sub, path, Some(rt), out);
                    path.pop();
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(keywords::ROOT, &mut Vec::new(), None, &mut out);
    out
}

/// Counts per status: (implemented, not supported yet, accepted with no effect).
pub fn counts(entries: &[Entry]) -> (usize, usize, usize) {
    let mut c = (0, 0, 0);
    for e in entries {
        match e.runtime {
            Runtime::Implemented(_) => c.0 += 1,
            Runtime::NotYet(_) | Runtime::Inherit => c.1 += 1,
            Runtime::NoEffect(_) => c.2 += 1,
        }
    }
    c
}

/// `docs/keywords.md`: every keyword's status and the tests that show its effect.
pub fn keywords_md() -> String {
    let entries = registry();
    let (imp, todo, noop) = counts(&entries);
    let mut s = String::new();
    let _ = write!(
        s,
        "# keepalived.conf keywords in keepalived-rs\n\n\
         Generated from conf-parse's keyword registry (`crates/conf-parse/src/keywords/`) by\n\
         `cargo run -p conf-parse --example gen-keywords`; a test checks it is current.\n\n\
         {} entries: **{imp} implemented** (each with a test that shows its effect on the real\n\
         system: network namespaces, the IPVS VM, or the reference keepalived as peer or oracle),\n\
         **{todo} not supported yet** (`keepalived -t` and the start-up log print a located note\n\
         for each use), **{noop} accepted, no effect here** (with why; also noted).\n\n\
         A keyword inside a block that is not supported has the block's status.\n\n\
         The baseline is Debian's keepalived 2.2.7; a keyword introduced later says since which\n\
         release. By default every keyword of every release is known; `keepalived -t --compat 2.2.7`\n\
         (or `--compat 2.4.3`) judges as that release would: newer keywords are unknown.\n",
        entries.len()
    );
    let mut current: Option<String> = None;
    for e in &entries {
        let block = e.block_path();
        if current.as_deref() != Some(block.as_str()) {
            let title = if block.is_empty() {
                "top level".to_string()
            } else {
                block.clone()
            };
            let _ = write!(
                s,
                "\n## {title}\n\n| keyword | status | shown by |\n|---|---|---|\n"
            );
            current = Some(block);
        }
        let shape = e.shape();
        let name = if shape.is_empty() {
            format!("`{}`", e.kw.name)
        } else {
            format!(
                "`{}` {}",
                e.kw.name,
                shape.replace('{', "\\{").replace('}', "\\}")
            )
        };
        let name = if e.kw.since > crate::keywords::Release::V2_2_7 {
            format!("{name} (since keepalived {})", e.kw.since)
        } else {
            name
        };
        let tests = match e.runtime {
            Runtime::Implemented(t) => t
                .iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(", "),
            _ => String::new(),
        };
        let status = e.status_text().replace('|', "\\|");
        let _ = writeln!(s, "| {name} | {status} | {tests} |");
    }
    s
}

/// The header words that open a block in a probe configuration.
fn block_header(name: &str) -> &'static str {
    match name {
        "vrrp_instance" => "VI_PROBE",
        "vrrp_sync_group" => "SG_PROBE",
        "vrrp_script" => "chk_probe",
        "vrrp_track_process" => "tp_probe",
        "track_file" | "vrrp_track_file" => "tf_probe",
        "track_group" => "tg_probe",
        "bfd_instance" => "bfd_probe",
        "virtual_server" => "192.0.2.1 80",
        "real_server" => "192.0.2.2 80",
        "virtual_server_group" => "vsg_probe",
        _ => "",
    }
}

/// A small configuration with `e`'s keyword alone inside its enclosing blocks, and the line
/// the keyword is on (used to ask the parser what it does with the keyword).
pub fn probe_text(e: &Entry) -> (String, u32) {
    fn open(name: &str, text: &mut String) {
        let h = block_header(name);
        if h.is_empty() {
            let _ = writeln!(text, "{name} {{");
        } else {
            let _ = writeln!(text, "{name} {h} {{");
        }
    }
    let mut text = String::new();
    for b in &e.block {
        open(b, &mut text);
    }
    let line = e.block.len() as u32 + 1;
    match e.kw.kind {
        Kind::Simple => {
            let _ = writeln!(text, "{} 1", e.kw.name);
        }
        Kind::Values => {
            let _ = writeln!(text, "{} {{\n}}", e.kw.name);
        }
        Kind::Block(_) => {
            open(e.kw.name, &mut text);
            text.push_str("}\n");
        }
    }
    for _ in &e.block {
        text.push_str("}\n");
    }
    (text, line)
}

/// Lines `KEYWORD ARG` of `global_defs` keywords that are "not supported yet" right now, each
/// of which, alone in `global_defs`, parses without a problem and with exactly one note (the
/// registry's). For tests that need an example of such a keyword: picked at run time, they
/// survive every keyword's promotion to implemented.
pub fn not_supported_global_examples() -> Vec<String> {
    global_examples(|r| matches!(r, Runtime::NotYet(_)))
}

/// [`not_supported_global_examples`] for the `global_defs` keywords accepted with no effect
/// here (each also a located note).
pub fn no_effect_global_examples() -> Vec<String> {
    global_examples(|r| matches!(r, Runtime::NoEffect(_)))
}

fn global_examples(want: impl Fn(&Runtime) -> bool) -> Vec<String> {
    const ARGS: [&str; 5] = ["1", "2", "lo", "/tmp/krs-example", ""];
    let opts = crate::ParseOptions::default();
    registry()
        .iter()
        .filter(|e| {
            e.block == ["global_defs"]
                && !e.inherited
                && want(&e.runtime)
                && matches!(e.kw.kind, Kind::Simple)
                && e.kw.status == Status::Current
        })
        .filter_map(|e| {
            ARGS.iter().find_map(|a| {
                let line = format!("{} {a}", e.kw.name).trim_end().to_string();
                let p = crate::parse_str(&format!("global_defs {{\n {line}\n}}\n"), "x", &opts);
                let notes = p.notes().count();
                (notes == 1 && p.problems().next().is_none()).then_some(line)
            })
        })
        .collect()
}
