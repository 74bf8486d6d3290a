#![doc = include_str!("../README.md")]
//!
//! ## Crate layout
//!
//! The keepalived.conf language into a typed model with file:line diagnostics.
//!
//! ```no_run
//! use conf_parse::{parse_file, system_checks, exit_code, ParseOptions};
//! let opts = ParseOptions::default();
//! let parsed = parse_file(std::path::Path::new("/etc/keepalived/keepalived.conf"), &opts);
//! let sys = system_checks(&parsed.config);
//! for d in parsed.diagnostics.iter().chain(&sys) { eprintln!("{d}"); }
//! std::process::exit(exit_code(&parsed, &sys));
//! ```

mod build;
pub mod diag;
pub mod keywords;
mod lexer;
pub mod model;
mod print;
pub mod registry;
mod route;
mod system;
mod tree;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

pub use diag::{Code, ConfigErr, Diagnostic, Loc, Severity, Span};
pub use model::*;
pub use print::{fmt_duration, print, quote};
pub use system::{exit_code, is_executable, system_checks, system_checks_with, system_interfaces};

/// Errors of this crate's fallible helpers (parsing itself never fails: it returns
/// diagnostics).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading a file failed.
    #[error("reading {path}: {source}")]
    Read {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// Parser options.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// `-i/--config-id`: `@ID` lines match it. Default: the host name's first label.
    pub config_id: Option<String>,
    /// Deepest include nesting (default 32).
    pub max_include_depth: usize,
    /// Most logical lines after expansion (default 4,000,000).
    pub max_lines: usize,
    /// Largest single file read (default 64 MiB).
    pub max_file_size: u64,
    /// Seed for `${_RANDOM}` (default: time based).
    pub random_seed: Option<u64>,
    /// `-e/--all-config`: any missing include is an error.
    pub all_config: bool,
    /// `--compat LEVEL`: judge as keepalived LEVEL would, i.e. a keyword introduced after it
    /// ([`keywords::Kw::since`]) is an unknown keyword, reported as keepalived reports one.
    /// `None` (the default): the union, every keyword of every release is known.
    pub compat: Option<keywords::Release>,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            config_id: default_config_id(),
            max_include_depth: 32,
            max_lines: 4_000_000,
            max_file_size: 64 * 1024 * 1024,
            random_seed: None,
            all_config: false,
            compat: None,
        }
    }
}

/// The host name's first label (keepalived's default config id).
pub fn default_config_id() -> Option<String> {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()?;
    let h = h.trim();
    let first = h.split('.').next().unwrap_or("");
    if first.is_empty() {
        None
    } else {
        Some(first.to_string())
    }
}

/// The result of parsing: a model (always, possibly partial) and diagnostics.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// The typed configuration with defaults applied.
    pub config: Config,
    /// Everything noticed, in order found.
    pub diagnostics: Vec<Diagnostic>,
    /// Where a recognized keyword was kept as a plain statement (an `extra` list) instead of a
    /// typed field: the registry test checks no such keyword is marked implemented.
    pub untyped: Vec<Loc>,
}

impl Parsed {
    /// Any diagnostic of severity error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// Diagnostics that count for the verdict (warnings and errors, not notes).
    pub fn problems(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.counts())
    }

    /// The registry's notes: every keyword used whose run-time status is not `implemented`.
    pub fn notes(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_registry_note())
    }
}

/// Parse a configuration file (and its includes). Never panics.
pub fn parse_file(path: &Path, opts: &ParseOptions) -> Parsed {
    parse_streaming(opts, Mode::Full, &|lx| {
        lx.file(path, None);
    })
}

/// What `keepalived -t` reports: the parse diagnostics, the system-check diagnostics
/// and the exit code. Built by [`check_file`] without keeping the whole model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Parse diagnostics, exactly as [`parse_file`] gives them (same order).
    pub diagnostics: Vec<Diagnostic>,
    /// System-check diagnostics, exactly as [`system_checks`] gives them.
    pub system: Vec<Diagnostic>,
    /// keepalived's `-t` exit code, as [`exit_code`] computes it.
    pub exit_code: i32,
}

impl CheckReport {
    /// Diagnostics that count for the verdict (warnings and errors), parse ones first.
    pub fn problems(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .chain(&self.system)
            .filter(|d| d.counts())
    }

    /// The registry's notes: every keyword used whose run-time status is not `implemented`
    /// (located, with the reason). They never change the verdict.
    pub fn notes(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_registry_note())
    }

    /// Any diagnostic of severity error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .chain(&self.system)
            .any(|d| d.severity == Severity::Error)
    }
}

/// `keepalived -t` on a file: the same diagnostics and exit code as [`parse_file`] +
/// [`system_checks`] + [`exit_code`], in bounded memory: each top-level block is built
/// and checked as it is read, and only what the end-of-parse and system checks look at
/// (global settings, vrrp instances, scripts, tracked files, static addresses) is kept.
/// Never panics.
pub fn check_file(path: &Path, opts: &ParseOptions) -> CheckReport {
    check_file_with(path, opts, &system_interfaces(), &|p| is_executable(p))
}

/// [`check_file`] with an explicit interface list and executable test (see
/// [`system_checks_with`]).
pub fn check_file_with(
    path: &Path,
    opts: &ParseOptions,
    ifaces: &HashSet<String>,
    executable: &dyn Fn(&Path) -> bool,
) -> CheckReport {
    let parsed = parse_streaming(opts, Mode::Check, &|lx| {
        lx.file(path, None);
    });
    report(parsed, ifaces, executable)
}

/// [`check_file_with`] on configuration text (as [`parse_str`] reads it).
pub fn check_str_with(
    text: &str,
    name: &str,
    opts: &ParseOptions,
    ifaces: &HashSet<String>,
    executable: &dyn Fn(&Path) -> bool,
) -> CheckReport {
    report(
        parse_text(text, name, opts, Mode::Check),
        ifaces,
        executable,
    )
}

fn report(
    parsed: Parsed,
    ifaces: &HashSet<String>,
    executable: &dyn Fn(&Path) -> bool,
) -> CheckReport {
    let system = system_checks_with(&parsed.config, ifaces, executable);
    let exit_code = exit_code(&parsed, &system);
    CheckReport {
        diagnostics: parsed.diagnostics,
        system,
        exit_code,
    }
}

/// Parse configuration text; `name` is used in diagnostics and relative includes are
/// resolved from the current directory. Never panics.
pub fn parse_str(text: &str, name: &str, opts: &ParseOptions) -> Parsed {
    parse_text(text, name, opts, Mode::Full)
}

fn parse_text(text: &str, name: &str, opts: &ParseOptions, mode: Mode) -> Parsed {
    let mut lx = lexer::Lexer::new(opts);
    lx.text(text, Arc::from(name), None);
    let lex_diags = std::mem::take(&mut lx.diags);
    let mut p = finish(lx, mode);
    let mut d = lex_diags;
    d.append(&mut p.diagnostics);
    p.diagnostics = d;
    p
}

fn finish(mut lx: lexer::Lexer<'_>, mode: Mode) -> Parsed {
    let compat = lx.opts.compat;
    lx.flush();
    let batches = std::mem::take(&mut lx.out);
    drop(lx);
    let (config, diags, untyped) =
        build_model(lexer::Unpack::new(batches.into_iter(), None), mode, compat);
    Parsed {
        config,
        diagnostics: diags,
        untyped,
    }
}

/// How much of the model to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Everything.
    Full,
    /// Only what [`build::Builder::finish`] and [`system_checks`] read (`-t`).
    Check,
}

/// Statement tree → model, streaming one top-level block at a time.
fn build_model<I: Iterator<Item = lexer::LLine>>(
    lines: I,
    mode: Mode,
    compat: Option<keywords::Release>,
) -> (Config, Vec<Diagnostic>, Vec<Loc>) {
    let mut diagnostics = Vec::new();
    let mut b = build::Builder::new();
    b.compat = compat;
    let mut config = Config::default();
    let mut tb = tree::TreeBuilder::new(lines, compat);
    let mut first_unexpected_open: Option<Span> = None;
    let note_braces = |d: &[Diagnostic], first: &mut Option<Span>| {
        if first.is_none() {
            *first = d
                .iter()
                .find(|d| d.code == Code::UnexpectedOpenBrace)
                .map(|d| d.span.clone());
        }
    };
    while let Some(st) = tb.next_root() {
        note_braces(&tb.diags, &mut first_unexpected_open);
        diagnostics.append(&mut tb.diags);
        b.add_root(&mut config, &st);
        drop(st);
        if mode == Mode::Check {
            build::keep_checked(&mut config);
        }
        diagnostics.append(&mut b.diags);
    }
    note_braces(&tb.diags, &mut first_unexpected_open);
    diagnostics.append(&mut tb.diags);
    drop(tb);
    // Each ignored `{` leaves keepalived's raw brace count one short at the end, unless an
    // extra `}` made up for it.
    let count = |c: Code| diagnostics.iter().filter(|d| d.code == c).count();
    if count(Code::UnexpectedOpenBrace) > count(Code::ExtraBrace) {
        if let Some(sp) = first_unexpected_open {
            config.unbalanced_from = Loc(sp);
        }
    }
    b.finish(&mut config);
    diagnostics.append(&mut b.diags);
    (config, diagnostics, b.untyped)
}

/// Run the lexer on another thread, feeding logical lines through a bounded channel to
/// the tree/model builder: the whole token stream never sits in memory at once.
/// Falls back to collecting the lines if a thread can't be started.
fn parse_streaming(
    opts: &ParseOptions,
    mode: Mode,
    run: &(dyn Fn(&mut lexer::Lexer<'_>) + Sync),
) -> Parsed {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<lexer::Batch>(4);
        let (back_tx, back_rx) = std::sync::mpsc::sync_channel::<lexer::Batch>(4);
        let handle = std::thread::Builder::new()
            .name("conf-lexer".into())
            .spawn_scoped(scope, move || {
                let mut lx = lexer::Lexer::new(opts);
                lx.set_sink(tx, back_rx);
                run(&mut lx);
                lx.flush();
                lx.diags
            });
        match handle {
            Ok(h) => {
                let (config, diags, untyped) = build_model(
                    lexer::Unpack::new(rx.into_iter(), Some(back_tx)),
                    mode,
                    opts.compat,
                );
                let mut diagnostics = h.join().unwrap_or_default();
                diagnostics.extend(diags);
                Parsed {
                    config,
                    diagnostics,
                    untyped,
                }
            }
            Err(_) => {
                let mut lx = lexer::Lexer::new(opts);
                run(&mut lx);
                let lex_diags = std::mem::take(&mut lx.diags);
                let mut p = finish(lx, mode);
                let mut d = lex_diags;
                d.append(&mut p.diagnostics);
                p.diagnostics = d;
                p
            }
        }
    })
}
