//! Located diagnostics: values collected while parsing, never printed by the library.

use std::fmt;
use std::sync::Arc;

/// Where something came from: file, 1-based line and column, and the include chain.
#[derive(Debug, Clone, Default)]
pub struct Span {
    /// File name as given (or as resolved for included files).
    pub file: Arc<str>,
    /// 1-based line number (0 = no line, e.g. a whole-file problem).
    pub line: u32,
    /// 1-based column of the first token (0 = unknown).
    pub col: u32,
    /// The `include` line that brought this file in (outermost last when walked).
    pub included_from: Option<Arc<Span>>,
}

impl Span {
    /// A span for a whole file (no line).
    pub fn file_only(file: &str) -> Span {
        Span {
            file: Arc::from(file),
            line: 0,
            col: 0,
            included_from: None,
        }
    }

    /// The chain of include lines, innermost first.
    pub fn include_chain(&self) -> Vec<Span> {
        let mut out = Vec::new();
        let mut cur = self.included_from.clone();
        while let Some(s) = cur {
            out.push(Span {
                file: s.file.clone(),
                line: s.line,
                col: s.col,
                included_from: None,
            });
            cur = s.included_from.clone();
        }
        out
    }
}

impl PartialEq for Span {
    fn eq(&self, other: &Self) -> bool {
        self.file == other.file && self.line == other.line && self.col == other.col
    }
}
impl Eq for Span {}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.col) {
            (0, _) => write!(f, "{}", self.file),
            (l, 0) => write!(f, "{}:{}", self.file, l),
            (l, c) => write!(f, "{}:{}:{}", self.file, l, c),
        }
    }
}

/// A source location attached to model items. It compares always equal, so that
/// `Config` equality (print → parse identity) is about content, not positions.
#[derive(Debug, Clone, Default)]
pub struct Loc(pub Span);

impl PartialEq for Loc {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}
impl Eq for Loc {}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Information (e.g. "recognized, not supported yet"); never changes the verdict.
    Note,
    /// Keepalived would still run, possibly ignoring the line.
    Warning,
    /// A structural or value error.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// keepalived's `config_err_t` classes (lib/parser.h), in its order. keepalived keeps the
/// numerically highest class reported, and `-t` maps it to an exit code (see [`crate::exit_code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ConfigErr {
    /// Reported but does not change the status (e.g. a missing plain `include`).
    Ok = 0,
    /// A configuration file is missing / unreadable.
    FileNotFound,
    /// A named interface does not exist.
    BadIf,
    /// Fatal.
    Fatal,
    /// More than one file given.
    MultipleFiles,
    /// Unknown keyword.
    UnknownKeyword,
    /// Unexpected `{`.
    UnexpectedBob,
    /// Missing `{`.
    MissingBob,
    /// Unexpected `}`.
    UnexpectedEob,
    /// Missing `}`.
    MissingEob,
    /// Unmatched quote.
    UnmatchedQuote,
    /// Missing parameter.
    MissingParameter,
    /// Invalid number.
    InvalidNumber,
    /// General error.
    GeneralError,
    /// Warning.
    Warning,
    /// Deprecated keyword.
    Deprecated,
    /// Scripts run without `enable_script_security`.
    SecurityError,
}

/// What kind of problem a diagnostic reports (machine readable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// A keyword nobody knows at this level.
    UnknownKeyword,
    /// A keyword known to keepalived that our runtime does not implement yet.
    NotSupportedYet,
    /// A keyword accepted deliberately without effect in keepalived-rs (the registry says why).
    NoEffectHere,
    /// A deprecated keyword (it still works).
    Deprecated,
    /// A deprecated synonym keepalived accepts without a located report.
    DeprecatedSynonym,
    /// `}` without a matching `{`.
    ExtraBrace,
    /// Block not closed at end of file.
    MissingBrace,
    /// `{` expected.
    MissingOpenBrace,
    /// `{` where none is expected.
    UnexpectedOpenBrace,
    /// A quote not closed on its line.
    UnterminatedQuote,
    /// A required value is missing.
    MissingValue,
    /// A number that does not parse.
    BadNumber,
    /// A value outside keepalived's range.
    OutOfRange,
    /// Some other invalid value.
    InvalidValue,
    /// An included file does not exist (plain `include`: no verdict change).
    IncludeMissing,
    /// An include that loops back to a file being read.
    IncludeLoop,
    /// An include failed a check keepalived was asked for (`include_check`, `-e`, the
    /// `includer`/`includem`/`includew`/`includeb`/`includea` variants): keepalived exits 6
    /// (`KEEPALIVED_EXIT_NO_CONFIG`), `-t` included.
    IncludeCheck,
    /// Include nesting or expansion limits exceeded.
    LimitExceeded,
    /// A preprocessor problem (`$` parameters, `~SEQ`, `~LST`).
    Preprocessor,
    /// The main configuration file can't be read.
    FileNotFound,
    /// A named interface does not exist on this system (keepalived reports its line).
    InterfaceMissing,
    /// keepalived's line-less summary "Non-existent interface specified in configuration".
    InterfaceSummary,
    /// A tracked script is not found / not executable (keepalived reports no line).
    ScriptNotFound,
    /// Scripts would run but `enable_script_security` is off and they run as root.
    ScriptSecurity,
    /// A semantic consistency problem (e.g. missing virtual_router_id).
    Semantic,
}

impl Code {
    /// Whether keepalived 2.2.7 reports this problem with a line number (used by the
    /// verdict comparison: the set of lines flagged).
    pub fn reference_has_line(self) -> bool {
        !matches!(
            self,
            Code::InterfaceSummary
                | Code::ScriptNotFound
                | Code::ScriptSecurity
                | Code::NotSupportedYet
                | Code::NoEffectHere
                | Code::DeprecatedSynonym
                | Code::Semantic
                | Code::MissingBrace
        )
    }
}

/// One located message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Note, warning or error.
    pub severity: Severity,
    /// What kind of problem.
    pub code: Code,
    /// keepalived's class for the `-t` exit code.
    pub class: ConfigErr,
    /// Where.
    pub span: Span,
    /// What.
    pub message: String,
    /// How to fix it, e.g. "did you mean `auth_type PASS`?".
    pub hint: Option<String>,
    /// Include lines that led to `span.file`, innermost first.
    pub include_chain: Vec<Span>,
}

impl Diagnostic {
    /// Build a diagnostic; the include chain is taken from the span.
    pub fn new(
        severity: Severity,
        code: Code,
        class: ConfigErr,
        span: &Span,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            severity,
            code,
            class,
            include_chain: span.include_chain(),
            span: Span {
                included_from: None,
                ..span.clone()
            },
            message: message.into(),
            hint: None,
        }
    }

    /// Attach a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// Whether this diagnostic counts for keepalived's verdict (notes don't).
    pub fn counts(&self) -> bool {
        self.severity != Severity::Note
    }

    /// A note from the keyword registry: the keyword is not supported yet, or accepted with
    /// no effect here.
    pub fn is_registry_note(&self) -> bool {
        matches!(self.code, Code::NotSupportedYet | Code::NoEffectHere)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.span, self.severity, self.message)?;
        for inc in &self.include_chain {
            write!(f, "\n  included from {}:{}", inc.file, inc.line)?;
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}
