//! Logical lines → statement tree, checked against the keyword table (keepalived's
//! `process_stream()`), with unknown-keyword suggestions and brace diagnostics.

use std::borrow::Cow;

use crate::diag::{Code, ConfigErr, Diagnostic, Loc, Severity, Span};
use crate::keywords::{self, Kind, Kw, Runtime, Status};
use crate::lexer::{LLine, LineKind};
use crate::model::{Body, EndLine, Stmt, ValueLine};
use crate::registry;

pub(crate) struct TreeBuilder<I: Iterator<Item = LLine>> {
    lines: std::iter::Peekable<I>,
    pub diags: Vec<Diagnostic>,
    /// The run-time status of each enclosing block (the registry's, resolved).
    outer: Vec<Runtime>,
    /// The line of the `}` that closed the last block read (0: none).
    closed_at: u32,
    /// `--compat`: keywords introduced after this release are unknown.
    compat: Option<keywords::Release>,
}

impl<I: Iterator<Item = LLine>> TreeBuilder<I> {
    pub fn new(lines: I, compat: Option<keywords::Release>) -> TreeBuilder<I> {
        TreeBuilder {
            lines: lines.peekable(),
            diags: Vec::new(),
            outer: Vec::new(),
            closed_at: 0,
            compat,
        }
    }

    fn next_line(&mut self) -> Option<LLine> {
        self.lines.next()
    }

    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn next_is_open(&mut self) -> bool {
        matches!(self.lines.peek().map(|l| &l.kind), Some(LineKind::Open))
    }

    /// The next top-level statement (None at end of input).
    pub fn next_root(&mut self) -> Option<Stmt> {
        while let Some(line) = self.next_line() {
            match line.kind {
                LineKind::Close => self.push(
                    Diagnostic::new(
                        Severity::Error,
                        Code::ExtraBrace,
                        ConfigErr::UnexpectedEob,
                        &line.span,
                        "extra '}' found",
                    )
                    .with_hint("remove it, or look for a block closed twice above"),
                ),
                LineKind::Open => self.push(Diagnostic::new(
                    Severity::Error,
                    Code::UnexpectedOpenBrace,
                    ConfigErr::UnexpectedBob,
                    &line.span,
                    "unexpected '{' - ignoring",
                )),
                LineKind::Words(words) => {
                    if let Some(st) = self.statement(keywords::ROOT, "top level", words, line.span)
                    {
                        return Some(st);
                    }
                }
            }
        }
        None
    }

    /// Parse statements until the `}` closing this block (or EOF).
    fn block(&mut self, table: &'static [Kw], ctx: &str, open: Option<&Span>) -> Vec<Stmt> {
        let mut out = Vec::new();
        self.closed_at = 0;
        while let Some(line) = self.next_line() {
            match line.kind {
                LineKind::Close => {
                    if open.is_some() {
                        self.closed_at = line.span.line;
                        return out;
                    }
                    self.push(
                        Diagnostic::new(
                            Severity::Error,
                            Code::ExtraBrace,
                            ConfigErr::UnexpectedEob,
                            &line.span,
                            "extra '}' found",
                        )
                        .with_hint("remove it, or look for a block closed twice above"),
                    );
                }
                LineKind::Open => {
                    self.push(Diagnostic::new(
                        Severity::Error,
                        Code::UnexpectedOpenBrace,
                        ConfigErr::UnexpectedBob,
                        &line.span,
                        "unexpected '{' - ignoring",
                    ));
                }
                LineKind::Words(words) => {
                    if let Some(st) = self.statement(table, ctx, words, line.span) {
                        out.push(st);
                    }
                }
            }
        }
        if let Some(open) = open {
            self.push(
                Diagnostic::new(
                    Severity::Error,
                    Code::MissingBrace,
                    ConfigErr::MissingEob,
                    open,
                    format!("'{ctx}' block opened here is not closed before the end of the configuration"),
                )
                .with_hint("add the missing '}'"),
            );
        }
        out
    }

    fn statement(
        &mut self,
        table: &'static [Kw],
        ctx: &str,
        mut words: Vec<String>,
        span: Span,
    ) -> Option<Stmt> {
        let word = words.first()?;
        let Some(kw) = keywords::find(table, word) else {
            self.unknown(table, ctx, &words, &span);
            return None;
        };
        if let Some(level) = self.compat.filter(|l| !kw.known_at(*l)) {
            // `--compat LEVEL`: unknown to that release, reported as it reports one.
            self.push(
                Diagnostic::new(
                    Severity::Warning,
                    Code::UnknownKeyword,
                    ConfigErr::UnknownKeyword,
                    &span,
                    format!("unknown keyword '{}' in {ctx}", kw.name),
                )
                .with_hint(format!(
                    "'{}' came with keepalived {}; --compat {level} judges as keepalived {level}",
                    kw.name, kw.since
                )),
            );
            return None;
        }
        match kw.status {
            Status::Current => {}
            Status::Deprecated(repl) => self.push(
                Diagnostic::new(
                    Severity::Warning,
                    Code::Deprecated,
                    ConfigErr::GeneralError,
                    &span,
                    format!("'{}' is deprecated (it still works)", kw.name),
                )
                .with_hint(format!("use {repl}")),
            ),
            Status::Alias(repl) => self.push(
                Diagnostic::new(
                    Severity::Warning,
                    Code::DeprecatedSynonym,
                    ConfigErr::Ok,
                    &span,
                    format!("'{}' is a deprecated synonym of '{repl}'", kw.name),
                )
                .with_hint(format!("use '{repl}'")),
            ),
        }
        // The registry's run-time status: a located note for every keyword that does not have
        // its keepalived effect here (once per block: its children are not noted again).
        let (rt, _) = registry::resolve(table, kw, self.outer.last());
        let outer_quiet = self.outer.last().is_some_and(|o| !o.is_implemented());
        if !outer_quiet {
            match rt {
                Runtime::Implemented(_) => {}
                Runtime::NoEffect(why) => self.push(Diagnostic::new(
                    Severity::Note,
                    Code::NoEffectHere,
                    ConfigErr::Ok,
                    &span,
                    format!("'{}' in {ctx} is accepted, no effect here: {why}", kw.name),
                )),
                Runtime::NotYet(why) => self.push(Diagnostic::new(
                    Severity::Note,
                    Code::NotSupportedYet,
                    ConfigErr::Ok,
                    &span,
                    format!(
                        "'{}' in {ctx} is recognized, not supported yet: {why}",
                        kw.name
                    ),
                )),
                Runtime::Inherit => {}
            }
        }
        // the words become the statement: keyword (its canonical spelling) and arguments
        words.remove(0);
        let args = words;
        let mut end_line = 0;
        let body = match kw.kind {
            Kind::Simple => Body::None,
            // A block keyword on the last line: keepalived reads nothing more, says nothing.
            Kind::Values | Kind::Block(_) if self.lines.peek().is_none() => match kw.kind {
                Kind::Values => Body::Values(Vec::new()),
                _ => Body::Block(Vec::new()),
            },
            Kind::Values => {
                if self.next_is_open() {
                    self.next_line();
                    let v = self.values(kw.name, &span);
                    end_line = self.closed_at;
                    Body::Values(v)
                } else {
                    // at the top level keepalived's value reader then meets the next line as a
                    // word-less line and exits (null_strvec, exit 2)
                    let class = if self.outer.is_empty() {
                        ConfigErr::MissingParameter
                    } else {
                        ConfigErr::MissingBob
                    };
                    self.push(
                        Diagnostic::new(
                            Severity::Error,
                            Code::MissingOpenBrace,
                            class,
                            &span,
                            format!("'{}' needs a '{{' block of values", kw.name),
                        )
                        .with_hint(format!("write `{} {{ ... }}`", kw.name)),
                    );
                    Body::Values(Vec::new())
                }
            }
            Kind::Block(_)
                if self.outer.is_empty() && kw.name != "global_defs" && !self.next_is_open() =>
            {
                // A top-level block without its `{` (global_defs aside, which keepalived reads
                // in a pass of its own): keepalived's main pass reads the lines that follow at
                // the top level (each reported there), the block stays empty.
                let d = self.missing_open(kw.name, &span);
                self.push(d);
                Body::Block(Vec::new())
            }
            Kind::Block(sub) => {
                if self.next_is_open() {
                    self.next_line();
                } else {
                    // keepalived reports it and reads the following lines as the block anyway
                    let d = self.missing_open(kw.name, &span);
                    self.push(d);
                }
                self.outer.push(rt);
                let body = self.block(sub, kw.name, Some(&span));
                end_line = self.closed_at;
                self.outer.pop();
                Body::Block(body)
            }
        };
        Some(Stmt {
            keyword: Cow::Borrowed(kw.name),
            args,
            body,
            loc: Loc(span),
            end_line: EndLine(end_line),
        })
    }

    /// A block keyword at `span` not followed by its `{`: located where keepalived finds out,
    /// the line after the keyword (the keyword's own line when nothing follows).
    fn missing_open(&mut self, name: &str, span: &Span) -> Diagnostic {
        let at = self
            .lines
            .peek()
            .map(|l| l.span.clone())
            .unwrap_or_else(|| span.clone());
        Diagnostic::new(
            Severity::Error,
            Code::MissingOpenBrace,
            ConfigErr::MissingBob,
            &at,
            format!(
                "missing '{{' at beginning of '{name}' block (opened on line {})",
                span.line
            ),
        )
        .with_hint(format!("write `{name} ... {{` on line {}", span.line))
    }

    fn values(&mut self, ctx: &str, open: &Span) -> Vec<ValueLine> {
        let mut out = Vec::new();
        self.closed_at = 0;
        while let Some(line) = self.next_line() {
            match line.kind {
                LineKind::Close => {
                    self.closed_at = line.span.line;
                    return out;
                }
                LineKind::Open => self.push(Diagnostic::new(
                    Severity::Error,
                    Code::UnexpectedOpenBrace,
                    ConfigErr::UnexpectedBob,
                    &line.span,
                    format!("unexpected '{{' inside the values of '{ctx}'"),
                )),
                LineKind::Words(w) => out.push(ValueLine {
                    words: w,
                    loc: Loc(line.span),
                }),
            }
        }
        self.push(
            Diagnostic::new(
                Severity::Error,
                Code::MissingBrace,
                ConfigErr::MissingEob,
                open,
                format!(
                    "'{ctx}' block opened here is not closed before the end of the configuration"
                ),
            )
            .with_hint("add the missing '}'"),
        );
        out
    }

    fn unknown(&mut self, table: &'static [Kw], ctx: &str, words: &[String], span: &Span) {
        let word = &words[0];
        let mut shown: String = word.chars().take(80).collect();
        if shown.len() < word.len() {
            shown.push_str("...");
        }
        let mut d = Diagnostic::new(
            Severity::Warning,
            Code::UnknownKeyword,
            ConfigErr::UnknownKeyword,
            span,
            format!("unknown keyword '{shown}' in {ctx}"),
        );
        if let Some(h) = keywords::suggest(table, word) {
            d = d.with_hint(h);
        } else if let Some(other) = where_valid(word) {
            d = d.with_hint(format!("'{word}' is only valid in {other}"));
        }
        self.push(d);
        // An unknown keyword with a block: like keepalived, the `{` is reported as unexpected
        // (by the caller, on the next line) and the block's lines are read at this level, so its
        // `}` closes the enclosing block.
    }
}

/// Which block a keyword belongs to (for "only valid in" hints).
fn where_valid(word: &str) -> Option<String> {
    fn walk(t: &'static [Kw], path: &str, word: &str, depth: usize) -> Option<String> {
        for k in t {
            if k.name == word {
                return Some(if path.is_empty() {
                    "the top level".into()
                } else {
                    path.to_string()
                });
            }
        }
        if depth > 6 {
            return None;
        }
        for k in t {
            if let Kind::Block(sub) = k.kind {
                if let Some(p) = walk(sub, k.name, word, depth + 1) {
                    return Some(p);
                }
            }
        }
        None
    }
    walk(keywords::ROOT, "", word, 0)
}
