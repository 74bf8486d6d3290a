//! The preprocessor and tokenizer: keepalived's `lib/parser.c` `read_line()` semantics.
//!
//! Physical lines → (comments stripped, `@` conditionals, `$NAME=` definitions, `~SEQ`/`~LST`
//! loops, `$NAME`/`${NAME}` substitution, `include*`) → logical lines split at `{`/`}` →
//! tokens. Every logical line carries the span of the physical line it came from.

use std::borrow::Cow;

mod defs;
mod include;
use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diag::{Code, ConfigErr, Diagnostic, Severity, Span};
use crate::ParseOptions;

/// A logical line: a `{`, a `}`, or words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LineKind {
    Open,
    Close,
    Words(Vec<String>),
}

#[derive(Debug, Clone)]
pub(crate) struct LLine {
    pub kind: LineKind,
    pub span: Span,
}

/// Lines per batch (and bytes of words, whichever comes first).
const BATCH_LINES: usize = 512;
const BATCH_TEXT: usize = 16 * 1024;

/// Logical lines, packed: a handful of allocations per batch whatever its size, so that
/// producing them (on the lexer thread) and handing them over costs little. The consumer
/// unpacks them into [`LLine`]s with [`Unpack`].
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// The words of all lines, concatenated.
    text: String,
    /// End offset in `text` of each word.
    ends: Vec<usize>,
    lines: Vec<Packed>,
    /// The files (with include chains) the lines come from.
    files: Vec<(Arc<str>, Option<Arc<Span>>)>,
}

#[derive(Debug, Clone, Copy)]
enum PackedKind {
    Open,
    Close,
    /// Words up to this index of `ends` (from where the previous line's words ended).
    Words(usize),
}

#[derive(Debug, Clone, Copy)]
struct Packed {
    kind: PackedKind,
    line: u32,
    col: u32,
    /// Index in `files`.
    file: usize,
}

impl Batch {
    fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    fn is_full(&self) -> bool {
        self.lines.len() >= BATCH_LINES || self.text.len() >= BATCH_TEXT
    }

    fn push(&mut self, kind: PackedKind, span: &Span) {
        let same = self.files.last().is_some_and(|(f, inc)| {
            Arc::ptr_eq(f, &span.file)
                && match (inc, &span.included_from) {
                    (None, None) => true,
                    (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                    _ => false,
                }
        });
        if !same {
            self.files
                .push((span.file.clone(), span.included_from.clone()));
        }
        self.lines.push(Packed {
            kind,
            line: span.line,
            col: span.col,
            file: self.files.len() - 1,
        });
    }

    /// Tokenize `s` (see [`tokenize_into`]) as a line of words, if it has any.
    fn push_words(&mut self, s: &str, span: &Span) {
        let before = self.ends.len();
        tokenize_into(s, &mut self.text, &mut self.ends);
        if self.ends.len() > before {
            self.push(PackedKind::Words(self.ends.len()), span);
        }
    }

    /// Empty it, keeping its buffers (unless a huge line made them big).
    fn recycle(mut self) -> Option<Batch> {
        if self.text.capacity() > 4 * BATCH_TEXT || self.ends.capacity() > 16 * BATCH_LINES {
            return None;
        }
        self.text.clear();
        self.ends.clear();
        self.lines.clear();
        self.files.clear();
        Some(self)
    }

    /// Line `p` of this batch; `word` is the index of its first word (updated).
    fn unpack(&self, p: Packed, word: &mut usize) -> LLine {
        let (file, included_from) = self.files.get(p.file).cloned().unwrap_or_default();
        let kind = match p.kind {
            PackedKind::Open => LineKind::Open,
            PackedKind::Close => LineKind::Close,
            PackedKind::Words(end) => {
                let mut words = Vec::with_capacity(end.saturating_sub(*word));
                while *word < end {
                    let from = match word.checked_sub(1) {
                        Some(prev) => self.ends.get(prev).copied().unwrap_or(0),
                        None => 0,
                    };
                    let to = self.ends.get(*word).copied().unwrap_or(from);
                    words.push(self.text.get(from..to).unwrap_or_default().to_string());
                    *word += 1;
                }
                LineKind::Words(words)
            }
        };
        LLine {
            kind,
            span: Span {
                file,
                line: p.line,
                col: p.col,
                included_from,
            },
        }
    }
}

/// The lines of a sequence of batches; emptied batches go back to the producer through
/// `back` (if given) to be filled again.
pub(crate) struct Unpack<I> {
    batches: I,
    cur: Batch,
    line: usize,
    word: usize,
    back: Option<std::sync::mpsc::SyncSender<Batch>>,
}

impl<I: Iterator<Item = Batch>> Unpack<I> {
    pub fn new(batches: I, back: Option<std::sync::mpsc::SyncSender<Batch>>) -> Unpack<I> {
        Unpack {
            batches,
            cur: Batch::default(),
            line: 0,
            word: 0,
            back,
        }
    }
}

impl<I: Iterator<Item = Batch>> Iterator for Unpack<I> {
    type Item = LLine;

    fn next(&mut self) -> Option<LLine> {
        loop {
            if let Some(p) = self.cur.lines.get(self.line).copied() {
                self.line += 1;
                return Some(self.cur.unpack(p, &mut self.word));
            }
            let next = self.batches.next()?;
            let done = std::mem::replace(&mut self.cur, next);
            self.line = 0;
            self.word = 0;
            if let (Some(back), Some(done)) = (&self.back, done.recycle()) {
                // the producer may have enough already: then it is just dropped
                let _ = back.try_send(done);
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Builtin {
    Pwd,
    Instance,
    Random,
    Env,
}

#[derive(Debug, Clone)]
struct Def {
    /// Lines of the value (one unless multiline).
    value: String,
    multiline: bool,
    builtin: Option<Builtin>,
}

/// Longest logical line after substitution.
const MAX_LINE_LEN: usize = 64 * 1024;
/// Most substitutions in one line (recursive definitions stop here).
const MAX_SUBST_PER_LINE: usize = 1000;
/// Deepest nesting of `~SEQ`/multiline expansion.
const MAX_EXPANSION_DEPTH: usize = 16;

pub(crate) struct Lexer<'a> {
    pub(crate) opts: &'a ParseOptions,
    pub diags: Vec<Diagnostic>,
    /// Batches of lines produced (when not streaming).
    pub out: Vec<Batch>,
    /// The batch being filled.
    batch: Batch,
    defs: HashMap<String, Def>,
    /// Name of a multiline definition being continued.
    multiline_def: Option<String>,
    /// Files being read (include loop detection).
    stack: Vec<PathBuf>,
    /// Directory of the file being read (for `${_PWD}` and relative includes).
    cur_dir: PathBuf,
    rng: u64,
    limit_reported: bool,
    /// Preprocessing steps done (bounds loops that expand to nothing).
    work: usize,
    /// Logical lines produced.
    emitted: usize,
    /// Where lines go when streaming (else `out`).
    sink: Option<std::sync::mpsc::SyncSender<Batch>>,
    /// Emptied batches coming back from the consumer, to be reused.
    recycled: Option<std::sync::mpsc::Receiver<Batch>>,
    /// The consumer went away: stop producing.
    stopped: bool,
    /// keepalived's `include_check` bits (`INCLUDE_*`) in force.
    include_check: u8,
    /// Open blocks: whether each is the top-level `global_defs`.
    blocks: Vec<bool>,
    /// The last line of words was `global_defs ...` (its block may open next).
    last_global_defs: bool,
}

/// keepalived's include checks (`include_t`): error if an entry is not a readable regular
/// non-executable file ...
const INCLUDE_R: u8 = 0x01;
/// ... if nothing matches a name without wildcards ...
const INCLUDE_M: u8 = 0x02;
/// ... if nothing matches even with wildcards ...
const INCLUDE_W: u8 = 0x04;
/// ... if an alternative of a brace expression matches nothing.
const INCLUDE_B: u8 = 0x08;

impl<'a> Lexer<'a> {
    pub fn new(opts: &'a ParseOptions) -> Lexer<'a> {
        let seed = opts.random_seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0x9e37_79b9)
        });
        let mut defs = HashMap::new();
        let b = |value: &str, builtin| Def {
            value: value.to_string(),
            multiline: false,
            builtin,
        };
        defs.insert("_PWD".into(), b("", Some(Builtin::Pwd)));
        defs.insert("_INSTANCE".into(), b("", Some(Builtin::Instance)));
        defs.insert("_RANDOM".into(), b("", Some(Builtin::Random)));
        defs.insert("_ENV".into(), b("", Some(Builtin::Env)));
        defs.insert("_HASH".into(), b("#", None));
        defs.insert("_BANG".into(), b("!", None));
        Lexer {
            opts,
            diags: Vec::new(),
            out: Vec::new(),
            batch: Batch::default(),
            defs,
            multiline_def: None,
            stack: Vec::new(),
            cur_dir: PathBuf::from("."),
            rng: seed | 1,
            limit_reported: false,
            work: 0,
            emitted: 0,
            sink: None,
            recycled: None,
            stopped: false,
            // `-e`: every check
            include_check: if opts.all_config {
                INCLUDE_R | INCLUDE_M | INCLUDE_W | INCLUDE_B
            } else {
                0
            },
            blocks: Vec::new(),
            last_global_defs: false,
        }
    }

    fn diag(&mut self, sev: Severity, code: Code, class: ConfigErr, span: &Span, msg: String) {
        self.diags
            .push(Diagnostic::new(sev, code, class, span, msg));
    }

    fn over_limit(&mut self, span: &Span) -> bool {
        if self.stopped {
            return true;
        }
        if self.emitted >= self.opts.max_lines || self.work >= self.opts.max_lines.saturating_mul(2)
        {
            if !self.limit_reported {
                self.limit_reported = true;
                let m = format!(
                    "configuration expands to more than {} lines; the rest is ignored",
                    self.opts.max_lines
                );
                self.diag(
                    Severity::Error,
                    Code::LimitExceeded,
                    ConfigErr::Fatal,
                    span,
                    m,
                );
            }
            return true;
        }
        false
    }

    /// Stream logical lines into `tx` instead of collecting them.
    /// Stream batches of lines into `tx` instead of collecting them; take empty batches
    /// to fill from `recycled`.
    pub fn set_sink(
        &mut self,
        tx: std::sync::mpsc::SyncSender<Batch>,
        recycled: std::sync::mpsc::Receiver<Batch>,
    ) {
        self.sink = Some(tx);
        self.recycled = Some(recycled);
    }

    /// A line was added to the batch.
    fn emitted_one(&mut self) {
        self.emitted += 1;
        if self.batch.is_full() {
            self.flush();
        }
    }

    /// Hand the batch over: to the sink when streaming, else to `out`. Call at the end.
    pub fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let next = self
            .recycled
            .as_ref()
            .and_then(|r| r.try_recv().ok())
            .unwrap_or_default();
        let chunk = std::mem::replace(&mut self.batch, next);
        match &self.sink {
            Some(tx) => {
                if tx.send(chunk).is_err() {
                    self.stopped = true;
                }
            }
            None => self.out.push(chunk),
        }
    }

    /// Read a file from disk and process it.
    pub fn file(&mut self, path: &Path, included_from: Option<Arc<Span>>) -> bool {
        let name: Arc<str> = Arc::from(path.to_string_lossy().as_ref());
        let meta = std::fs::metadata(path);
        if let Ok(m) = &meta {
            if m.len() > self.opts.max_file_size {
                let span = Span {
                    file: name.clone(),
                    line: 0,
                    col: 0,
                    included_from,
                };
                let m = format!(
                    "file is {} bytes, more than the limit of {} bytes; not read",
                    m.len(),
                    self.opts.max_file_size
                );
                self.diag(
                    Severity::Error,
                    Code::LimitExceeded,
                    ConfigErr::Fatal,
                    &span,
                    m,
                );
                return false;
            }
        }
        match std::fs::File::open(path) {
            Ok(fh) => {
                let canon = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
                let saved_dir = std::mem::replace(
                    &mut self.cur_dir,
                    path.parent()
                        .map(|p| {
                            if p.as_os_str().is_empty() {
                                PathBuf::from(".")
                            } else {
                                p.to_path_buf()
                            }
                        })
                        .unwrap_or_else(|| PathBuf::from(".")),
                );
                self.stack.push(canon);
                let res = self.read_lines(fh, &name, &included_from);
                self.stack.pop();
                self.cur_dir = saved_dir;
                match res {
                    Ok(()) => true,
                    Err(e) => {
                        let span = Span {
                            file: name,
                            line: 0,
                            col: 0,
                            included_from,
                        };
                        let m = format!("can't read configuration file: {e}");
                        self.diag(
                            Severity::Error,
                            Code::FileNotFound,
                            ConfigErr::FileNotFound,
                            &span,
                            m,
                        );
                        false
                    }
                }
            }
            Err(e) => {
                let span = Span {
                    file: name,
                    line: 0,
                    col: 0,
                    included_from: included_from.clone(),
                };
                let m = format!("can't read configuration file: {e}");
                let class = if included_from.is_some() {
                    ConfigErr::Ok
                } else {
                    ConfigErr::FileNotFound
                };
                let sev = if included_from.is_some() {
                    Severity::Warning
                } else {
                    Severity::Error
                };
                self.diag(sev, Code::FileNotFound, class, &span, m);
                false
            }
        }
    }

    /// Process the text of one file.
    pub fn text(&mut self, text: &str, name: Arc<str>, included_from: Option<Arc<Span>>) {
        let mut lineno: u32 = 0;
        let mut span = Span {
            file: name,
            line: 0,
            col: 0,
            included_from,
        };
        for raw in text.split('\n') {
            lineno = lineno.saturating_add(1);
            if !self.physical(raw, lineno, &mut span) {
                return;
            }
        }
        self.multiline_def = None;
    }

    /// Read a file line by line (never holding the whole file).
    fn read_lines(
        &mut self,
        file: std::fs::File,
        name: &Arc<str>,
        included_from: &Option<Arc<Span>>,
    ) -> std::io::Result<()> {
        use std::io::BufRead;
        let mut r = std::io::BufReader::with_capacity(64 * 1024, file);
        let mut buf = Vec::with_capacity(256);
        let mut lineno: u32 = 0;
        // one span for the file, its line and column updated: no reference counting per line
        let mut span = Span {
            file: name.clone(),
            line: 0,
            col: 0,
            included_from: included_from.clone(),
        };
        loop {
            buf.clear();
            let n = r.read_until(b'\n', &mut buf)?;
            if n == 0 {
                break;
            }
            lineno = lineno.saturating_add(1);
            let line = String::from_utf8_lossy(&buf);
            if !self.physical(&line, lineno, &mut span) {
                break;
            }
        }
        self.multiline_def = None;
        Ok(())
    }

    /// One physical line. Returns false when the expansion limit stops reading.
    fn physical(&mut self, raw: &str, lineno: u32, span: &mut Span) -> bool {
        let raw = raw.trim_end_matches(['\r', '\n']);
        if raw.is_empty() {
            // A blank line ends a multiline definition.
            self.multiline_def = None;
            return true;
        }
        let lead = raw.len() - raw.trim_start_matches([' ', '\t']).len();
        span.line = lineno;
        span.col = u32::try_from(lead + 1).unwrap_or(u32::MAX);
        let span = &*span;
        if self.over_limit(span) {
            return false;
        }
        let line = self.decomment(raw, span);
        if let Some(name) = self.multiline_def.clone() {
            self.continue_definition(&name, &line);
            return true;
        }
        if !line.is_empty() {
            self.logical(line, span, 0);
        }
        true
    }

    /// keepalived's `decomment()`: strip leading/trailing blanks and comments outside
    /// quotes, unescape `\#` and `\!`, keep a trailing `\` (continuation marker).
    fn decomment<'s>(&mut self, s: &'s str, span: &Span) -> Cow<'s, str> {
        let s = s.trim_start_matches([' ', '\t']);
        if !s.contains(['"', '\\', '!', '#']) {
            return Cow::Borrowed(s.trim_end_matches([' ', '\t']));
        }
        let mut out = String::with_capacity(s.len());
        let mut quote = false;
        let mut cont = false;
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    quote = !quote;
                    out.push(c);
                }
                '\\' => match chars.peek().copied() {
                    None => {
                        cont = true;
                        break;
                    }
                    Some(n) if !quote && (n == '#' || n == '!') => {
                        out.push(n);
                        chars.next();
                    }
                    Some(n) => {
                        out.push('\\');
                        out.push(n);
                        chars.next();
                    }
                },
                '!' | '#' if !quote => break,
                _ => out.push(c),
            }
        }
        if quote {
            let m = format!("unterminated quote in '{}'", s.trim_end());
            self.diags.push(
                Diagnostic::new(
                    Severity::Error,
                    Code::UnterminatedQuote,
                    ConfigErr::GeneralError,
                    span,
                    m,
                )
                .with_hint("add the closing '\"' (quotes don't span lines)"),
            );
        }
        let trimmed = out.trim_end_matches([' ', '\t']).len();
        out.truncate(trimmed);
        if cont {
            out.push('\\');
        }
        Cow::Owned(out)
    }

    /// One line after decommenting: conditionals, definitions, loops, substitution,
    /// includes; then split at braces and emit.
    fn logical(&mut self, mut line: Cow<'_, str>, span: &Span, depth: usize) {
        self.work += 1;
        if self.over_limit(span) {
            return;
        }
        if depth > MAX_EXPANSION_DEPTH {
            let m = "expansion nested too deeply (recursive ~SEQ or parameter?)".to_string();
            self.diag(
                Severity::Error,
                Code::Preprocessor,
                ConfigErr::GeneralError,
                span,
                m,
            );
            return;
        }
        let mut rounds = 0;
        loop {
            rounds += 1;
            if rounds > 64 {
                let m = "parameter substitution does not settle (recursive definition?)";
                self.diag(
                    Severity::Error,
                    Code::Preprocessor,
                    ConfigErr::GeneralError,
                    span,
                    m.to_string(),
                );
                return;
            }
            // @id / @^id conditional lines
            if let Some(rest) = line.strip_prefix('@') {
                let (rev, rest) = match rest.strip_prefix('^') {
                    Some(r) => (true, r),
                    None => (false, rest),
                };
                let Some(ws) = rest.find([' ', '\t']) else {
                    return;
                };
                let id = &rest[..ws];
                let matches = self.opts.config_id.as_deref() == Some(id);
                if matches == rev {
                    return;
                }
                line = Cow::Owned(rest[ws..].trim_start_matches([' ', '\t']).to_string());
                if line.is_empty() {
                    return;
                }
            }
            if line.starts_with('$') && self.definition(&line, span) {
                return;
            }
            if line.starts_with("~SEQ") {
                self.seq(&line, span, depth);
                return;
            }
            if line.starts_with("~LST") {
                self.lst(&line, span, depth);
                return;
            }
            if line.starts_with('~') {
                break;
            }
            if line.contains('$') {
                match self.substitute(&line, span) {
                    Some((new, extra)) => {
                        if !extra.is_empty() {
                            // A multiline parameter: its first line replaced $NAME, the
                            // others follow as lines of their own.
                            let first = self.decomment_plain(&new);
                            if !first.is_empty() {
                                self.logical(Cow::Owned(first), span, depth + 1);
                            }
                            for l in extra {
                                let l = self.decomment_plain(&l);
                                if !l.is_empty() {
                                    self.logical(Cow::Owned(l), span, depth + 1);
                                }
                            }
                            return;
                        }
                        line = Cow::Owned(self.decomment_plain(&new));
                        if line.is_empty() {
                            return;
                        }
                        if line.starts_with('@') || line.contains('$') {
                            continue;
                        }
                    }
                    None => break,
                }
            }
            break;
        }
        if self.include(&line, span) {
            return;
        }
        self.split_emit(&line, span);
    }

    fn decomment_plain(&mut self, s: &str) -> String {
        // decomment without diagnostics for quotes (reported on the original line)
        let mut tmp = Lexer::new(self.opts);
        tmp.rng = self.rng;
        tmp.decomment(s, &Span::default()).into_owned()
    }

    /// Split at `{`/`}` outside double quotes and emit logical lines.
    fn split_emit(&mut self, line: &str, span: &Span) {
        let mut start = 0;
        let mut quote = false;
        let mut prev_bs = false;
        for (i, c) in line.char_indices() {
            match c {
                '"' if !prev_bs => quote = !quote,
                '{' | '}' if !quote => {
                    self.emit_words(&line[start..i], span);
                    start = i + 1;
                    let kind = if c == '{' {
                        let gd = self.last_global_defs && self.blocks.is_empty();
                        self.blocks.push(gd);
                        self.last_global_defs = false;
                        PackedKind::Open
                    } else {
                        self.blocks.pop();
                        PackedKind::Close
                    };
                    self.batch.push(kind, span);
                    self.emitted_one();
                }
                _ => {}
            }
            prev_bs = c == '\\' && !prev_bs;
        }
        self.emit_words(&line[start..], span);
    }

    fn emit_words(&mut self, s: &str, span: &Span) {
        let before = self.batch.lines.len();
        let w0 = self.batch.ends.len();
        self.batch.push_words(s, span);
        if self.batch.lines.len() > before {
            let ends = &self.batch.ends;
            let word = |i: usize| {
                let start = if i == 0 { 0 } else { ends[i - 1] };
                &self.batch.text[start..ends[i]]
            };
            let first = word(w0);
            self.last_global_defs = first == "global_defs";
            if first == "include_check" && self.blocks == [true] {
                let words: Vec<String> =
                    (w0 + 1..ends.len()).map(|i| word(i).to_string()).collect();
                let words: Vec<&str> = words.iter().map(String::as_str).collect();
                self.include_check_set(&words);
            }
            self.emitted_one();
        }
    }
}

/// Split words at blanks; `"..."` and `'...'` group (quotes removed, `\"`, `\'` and `\\`
/// unescaped inside quotes). The words are appended to `text`, their end offsets to `ends`.
fn tokenize_into(s: &str, text: &mut String, ends: &mut Vec<usize>) {
    let mut chars = s.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(' ' | '\t' | '\r' | '\x0b' | '\x0c')) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            break;
        };
        if first == '"' || first == '\'' {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    match chars.peek().copied() {
                        Some(n) if n == first || n == '\\' => {
                            text.push(n);
                            chars.next();
                        }
                        _ => text.push('\\'),
                    }
                } else if c == first {
                    break;
                } else {
                    text.push(c);
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if matches!(c, ' ' | '\t' | '\r' | '\x0b' | '\x0c' | '"') {
                    break;
                }
                text.push(c);
                chars.next();
            }
        }
        ends.push(text.len());
    }
}

/// `strtol(s, 0)`-style: decimal, `0x` hex, leading-0 octal.
pub(crate) fn parse_c_long(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        i64::from_str_radix(&body[1..], 8).ok()?
    } else {
        body.parse::<i64>().ok()?
    };
    Some(if neg { -v } else { v })
}

/// Shell-style `{a,b}` brace expansion (nested allowed), as glob(GLOB_BRACE) does.
pub(crate) fn expand_braces(p: &str) -> Vec<String> {
    let b: Vec<char> = p.chars().collect();
    let Some(open) = b.iter().position(|&c| c == '{') else {
        return vec![p.to_string()];
    };
    let mut depth = 0;
    let mut close = None;
    let mut commas = Vec::new();
    for (i, &c) in b.iter().enumerate().skip(open) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            ',' if depth == 1 => commas.push(i),
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![p.to_string()];
    };
    let pre: String = b[..open].iter().collect();
    let post: String = b[close + 1..].iter().collect();
    let mut alts = Vec::new();
    let mut start = open + 1;
    for &c in commas.iter().chain(std::iter::once(&close)) {
        alts.push(b[start..c].iter().collect::<String>());
        start = c + 1;
    }
    let mut out = Vec::new();
    for a in alts {
        for e in expand_braces(&format!("{pre}{a}{post}")) {
            if out.len() < 1024 {
                out.push(e);
            }
        }
    }
    out
}
