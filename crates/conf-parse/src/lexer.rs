//! The preprocessor and tokenizer: keepalived's `lib/parser.c` `read_line()` semantics.
//!
//! Physical lines → (comments stripped, `@` conditionals, `$NAME=` definitions, `~SEQ`/`~LST`
//! loops, `$NAME`/`${NAME}` substitution, `include*`) → logical lines split at `{`/`}` →
//! tokens. Every logical line carries the span of the physical line it came from.

use std::borrow::Cow;
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

    fn continue_definition(&mut self, name: &str, line: &str) {
        let (text, more) = match line.strip_suffix('\\') {
            Some(t) => (t.trim_end_matches([' ', '\t']), true),
            None => (line, false),
        };
        if let Some(def) = self.defs.get_mut(name) {
            if !text.is_empty() {
                if !def.value.is_empty() {
                    def.value.push('\n');
                }
                def.value.push_str(text);
            }
            if !more {
                def.multiline = def.value.contains('\n');
            }
        }
        if !more {
            self.multiline_def = None;
        }
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

    /// `$NAME=value` (returns false if the line is not a definition).
    fn definition(&mut self, line: &str, span: &Span) -> bool {
        let b = line.as_bytes();
        if b.len() < 2 || !(b[1].is_ascii_alphabetic() || b[1] == b'_') {
            return false;
        }
        let mut i = 2;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            i += 1;
        }
        let name = &line[1..i];
        let rest = line[i..].trim_start_matches([' ', '\t']);
        let Some(value) = rest.strip_prefix('=') else {
            return false;
        };
        let value = value.trim_start_matches([' ', '\t']);
        let (value, multiline) = match value.strip_suffix('\\') {
            Some(v) => (v.trim_end_matches([' ', '\t']), true),
            None => (value, false),
        };
        if name.len() > 256 {
            let m = "parameter name too long".to_string();
            self.diag(
                Severity::Error,
                Code::Preprocessor,
                ConfigErr::GeneralError,
                span,
                m,
            );
            return true;
        }
        self.defs.insert(
            name.to_string(),
            Def {
                value: value.to_string(),
                multiline: false,
                builtin: None,
            },
        );
        if multiline {
            self.multiline_def = Some(name.to_string());
        }
        true
    }

    fn random(&mut self, min: u64, max: u64) -> u64 {
        // xorshift64
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        if max <= min {
            return min;
        }
        min + x % (max - min + 1)
    }

    /// Replace `$NAME`, `${NAME}` and `${NAME params}`. Returns None if nothing was
    /// replaced; otherwise the new line and, for a multiline parameter, its other lines.
    fn substitute(&mut self, line: &str, span: &Span) -> Option<(String, Vec<String>)> {
        let mut buf: Vec<char> = line.chars().collect();
        let mut pos = 0;
        let mut found = false;
        let mut count = 0;
        let mut extra: Vec<String> = Vec::new();
        while pos < buf.len() {
            if buf[pos] != '$' || pos + 1 >= buf.len() {
                pos += 1;
                continue;
            }
            let braces = buf[pos + 1] == '{';
            let start = pos + 1 + usize::from(braces);
            if start >= buf.len() || !(buf[start].is_ascii_alphabetic() || buf[start] == '_') {
                pos += 1;
                continue;
            }
            let mut end = start + 1;
            while end < buf.len() && (buf[end].is_ascii_alphanumeric() || buf[end] == '_') {
                end += 1;
            }
            let name: String = buf[start..end].iter().collect();
            let mut params = String::new();
            let repl_end; // one past the replaced text
            if braces {
                let mut p = end;
                while p < buf.len() && buf[p] != '}' {
                    p += 1;
                }
                if p >= buf.len() {
                    pos += 1;
                    continue;
                }
                params = buf[end..p].iter().collect::<String>().trim().to_string();
                repl_end = p + 1;
            } else {
                if end < buf.len() && !matches!(buf[end], ' ' | '\t' | ',' | ')') {
                    pos += 1;
                    continue;
                }
                repl_end = end;
            }
            let at_end = repl_end == buf.len();
            let Some(def) = self.defs.get(&name).cloned() else {
                pos += 1;
                continue;
            };
            if def.multiline && !at_end {
                pos += 1;
                continue;
            }
            let value = match def.builtin {
                Some(Builtin::Pwd) => std::fs::canonicalize(&self.cur_dir)
                    .unwrap_or_else(|_| self.cur_dir.clone())
                    .to_string_lossy()
                    .into_owned(),
                Some(Builtin::Instance) => self.opts.config_id.clone().unwrap_or_default(),
                Some(Builtin::Random) => {
                    let nums: Vec<u64> = params
                        .split_whitespace()
                        .filter_map(|s| s.parse().ok())
                        .collect();
                    let (min, max) = match nums.as_slice() {
                        [] => (0, 32767),
                        [a] => (*a, 32767),
                        [a, b, ..] => (*a, *b),
                    };
                    self.random(min, max).to_string()
                }
                Some(Builtin::Env) => {
                    let var = params.trim();
                    if var.is_empty() {
                        String::new()
                    } else {
                        std::env::var(var).unwrap_or_default()
                    }
                }
                None => {
                    if !params.is_empty() {
                        pos += 1;
                        continue;
                    }
                    def.value.clone()
                }
            };
            found = true;
            count += 1;
            if count > MAX_SUBST_PER_LINE {
                let m = format!("too many substitutions of ${name} (recursive definition?)");
                self.diag(
                    Severity::Error,
                    Code::Preprocessor,
                    ConfigErr::GeneralError,
                    span,
                    m,
                );
                return Some((String::new(), Vec::new()));
            }
            let (first, rest) = if def.multiline {
                let mut it = value.split('\n');
                let first = it.next().unwrap_or("").to_string();
                (first, it.map(str::to_string).collect::<Vec<_>>())
            } else {
                (value, Vec::new())
            };
            let repl: Vec<char> = first.chars().collect();
            buf.splice(pos..repl_end, repl);
            if buf.len() > MAX_LINE_LEN {
                let m = format!(
                    "substituting ${name} makes the line longer than {MAX_LINE_LEN} characters"
                );
                self.diag(
                    Severity::Error,
                    Code::Preprocessor,
                    ConfigErr::GeneralError,
                    span,
                    m,
                );
                return Some((String::new(), Vec::new()));
            }
            if !rest.is_empty() {
                extra = rest;
                break;
            }
            if first.trim_start().starts_with('~') {
                break;
            }
            // rescan from the replaced text (keepalived rescans: recursive substitution)
        }
        if found {
            Some((buf.into_iter().collect(), extra))
        } else {
            None
        }
    }

    fn seq(&mut self, line: &str, span: &Span, depth: usize) {
        let bad = |lx: &mut Lexer<'_>, why: &str| {
            let m = format!("invalid ~SEQ specification '{line}': {why}");
            lx.diags.push(
                Diagnostic::new(Severity::Error, Code::Preprocessor, ConfigErr::GeneralError, span, m)
                    .with_hint("use ~SEQ(VAR, [START, [STEP,]] END) TEXT, e.g. ~SEQ(i, 1, 3) real_server 10.0.0.$i 80"),
            );
        };
        let mut p = &line[4..];
        let hex = if let Some(r) = p.strip_prefix('x') {
            p = r;
            true
        } else {
            false
        };
        let p = p.trim_start_matches([' ', '\t']);
        let Some(p) = p.strip_prefix('(') else {
            return bad(self, "missing '('");
        };
        let Some(close) = p.find(')') else {
            return bad(self, "missing ')'");
        };
        let inner = &p[..close];
        let text = p[close + 1..].trim_start_matches([' ', '\t']).to_string();
        let mut parts = inner.split(',').map(str::trim);
        let var = parts.next().unwrap_or("").to_string();
        if var.is_empty() || var.contains([' ', '\t']) {
            return bad(self, "missing variable name");
        }
        let mut nums = Vec::new();
        for s in parts {
            let s = match self.substitute(s, span) {
                Some((n, _)) => n,
                None => s.to_string(),
            };
            match parse_c_long(s.trim()) {
                Some(n) => nums.push(n),
                None => return bad(self, &format!("'{s}' is not a number")),
            }
        }
        let (start, step, end) = match nums.as_slice() {
            [end] => (
                if *end < 0 { -1 } else { 1 },
                if *end < 1 { -1 } else { 1 },
                *end,
            ),
            [s, e] => (*s, if s <= e { 1 } else { -1 }, *e),
            [s, st, e] => {
                if *st == 0 || (s < e && *st < 0) || (s > e && *st > 0) {
                    return bad(self, "the step does not lead from start to end");
                }
                (*s, *st, *e)
            }
            _ => return bad(self, "expected 1 to 3 numbers"),
        };
        if hex && (start < 0 || end < 0) {
            return bad(self, "~SEQx is only valid for positive numbers");
        }
        let count = (end.saturating_sub(start) / step)
            .unsigned_abs()
            .saturating_add(1);
        if count > self.opts.max_lines as u64 {
            return bad(
                self,
                &format!("{count} iterations is more than the line limit"),
            );
        }
        let mut i = start;
        loop {
            if self.over_limit(span) {
                return;
            }
            let val = if hex { format!("{i:x}") } else { i.to_string() };
            self.set_def(&var, &val);
            self.logical(Cow::Borrowed(&text), span, depth + 1);
            let Some(next) = i.checked_add(step) else {
                break;
            };
            i = next;
            if (step > 0 && i > end) || (step < 0 && i < end) {
                break;
            }
        }
    }

    fn set_def(&mut self, name: &str, value: &str) {
        self.defs.insert(
            name.to_string(),
            Def {
                value: value.to_string(),
                multiline: false,
                builtin: None,
            },
        );
    }

    fn lst(&mut self, line: &str, span: &Span, depth: usize) {
        let bad = |lx: &mut Lexer<'_>, why: &str| {
            let m = format!("invalid ~LST specification '{line}': {why}");
            lx.diags.push(
                Diagnostic::new(
                    Severity::Error,
                    Code::Preprocessor,
                    ConfigErr::GeneralError,
                    span,
                    m,
                )
                .with_hint("use ~LST(VAR, V1, V2, ...) TEXT or ~LST({A,B}, {a1,b1}, {a2,b2}) TEXT"),
            );
        };
        let p = line[4..].trim_start_matches([' ', '\t']);
        let Some(p) = p.strip_prefix('(') else {
            return bad(self, "missing '('");
        };
        // find the closing ')' at brace depth 0
        let mut d = 0i32;
        let mut close = None;
        for (i, c) in p.char_indices() {
            match c {
                '{' => d += 1,
                '}' => d -= 1,
                ')' if d == 0 => {
                    close = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let Some(close) = close else {
            return bad(self, "missing ')'");
        };
        let inner = &p[..close];
        let text = p[close + 1..].trim_start_matches([' ', '\t']).to_string();
        // split top-level items by ',' (items may be {a,b} groups)
        let mut items: Vec<Vec<String>> = Vec::new();
        let mut cur = String::new();
        let mut group: Option<Vec<String>> = None;
        for c in inner.chars() {
            match c {
                '{' if group.is_none() => group = Some(Vec::new()),
                '}' => {
                    if let Some(mut g) = group.take() {
                        g.push(cur.trim().to_string());
                        cur.clear();
                        items.push(g);
                    }
                }
                ',' => {
                    if let Some(g) = group.as_mut() {
                        g.push(cur.trim().to_string());
                        cur.clear();
                    } else {
                        if !cur.trim().is_empty() {
                            items.push(vec![cur.trim().to_string()]);
                        }
                        cur.clear();
                    }
                }
                _ => cur.push(c),
            }
        }
        if group.is_some() {
            return bad(self, "unclosed '{'");
        }
        if !cur.trim().is_empty() {
            items.push(vec![cur.trim().to_string()]);
        }
        if items.len() < 2 {
            return bad(self, "needs variables and at least one value");
        }
        let vars = items.remove(0);
        if vars.iter().any(|v| v.is_empty()) {
            return bad(self, "empty variable name");
        }
        for set in &items {
            if set.len() > vars.len() {
                return bad(self, "too many values in a set");
            }
        }
        for set in items {
            if self.over_limit(span) {
                return;
            }
            for (i, v) in vars.iter().enumerate() {
                let val = set.get(i).cloned().unwrap_or_default();
                self.set_def(v, &val);
            }
            self.logical(Cow::Borrowed(&text), span, depth + 1);
        }
    }

    /// `include`, `includer`, `includem`, `includew`, `includeb`, `includea`.
    fn include(&mut self, line: &str, span: &Span) -> bool {
        let Some(rest) = line.strip_prefix("include") else {
            return false;
        };
        let mut chars = rest.chars();
        let (kind, pat) = match chars.next() {
            Some(' ') | Some('\t') => (' ', rest),
            Some(k @ ('r' | 'm' | 'w' | 'b' | 'a')) => match chars.next() {
                Some(' ') | Some('\t') => (k, &rest[1..]),
                _ => return false,
            },
            _ => return false,
        };
        let pat = pat.trim_matches([' ', '\t']);
        let pat = pat.trim_matches('"');
        // keepalived's include checks: those of the directive's variant, plus the current
        // `include_check` (or `-e`); a failed one is an error, else a plain report
        let kind_bits = match kind {
            'r' => INCLUDE_R,
            'a' => INCLUDE_R | INCLUDE_M | INCLUDE_W | INCLUDE_B,
            'w' => INCLUDE_R | INCLUDE_M | INCLUDE_W,
            'm' => INCLUDE_R | INCLUDE_M,
            'b' => INCLUDE_R | INCLUDE_B,
            _ => 0,
        };
        let mask = self.include_check | kind_bits;
        let report = |lx: &mut Lexer<'_>, bit: u8, code: Code, msg: String| {
            if mask & bit != 0 {
                lx.diag(
                    Severity::Error,
                    Code::IncludeCheck,
                    ConfigErr::FileNotFound,
                    span,
                    msg,
                );
            } else {
                lx.diag(Severity::Warning, code, ConfigErr::Ok, span, msg);
            }
        };
        if self.stack.len() >= self.opts.max_include_depth {
            let m = format!(
                "includes nested deeper than {} levels; '{pat}' not read",
                self.opts.max_include_depth
            );
            self.diag(
                Severity::Error,
                Code::LimitExceeded,
                ConfigErr::Fatal,
                span,
                m,
            );
            return true;
        }
        let mut files = Vec::new();
        let mut any_glob = false;
        // keepalived counts the paths glob() could not stat or open (GLOB_ALTDIRFUNC)
        let mut missing = 0usize;
        for p in expand_braces(pat) {
            let full = if Path::new(&p).is_absolute() {
                PathBuf::from(&p)
            } else {
                self.cur_dir.join(&p)
            };
            let full_s = full.to_string_lossy().into_owned();
            if let Some(w) = full_s.find(['*', '?', '[']) {
                any_glob = true;
                // the directory glob() has to open first
                let dir = full_s[..w].rfind('/').map_or("/", |i| &full_s[..=i]);
                if !Path::new(dir).is_dir() {
                    missing += 1;
                    continue;
                }
                match glob::glob(&full_s) {
                    Ok(paths) => {
                        let mut v: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
                        v.sort();
                        files.extend(v);
                    }
                    Err(e) => {
                        let m = format!("bad include pattern '{p}': {e}");
                        self.diag(
                            Severity::Error,
                            Code::InvalidValue,
                            ConfigErr::FileNotFound,
                            span,
                            m,
                        );
                    }
                }
            } else if std::fs::symlink_metadata(&full).is_ok() {
                files.push(full);
            } else {
                missing += 1;
            }
        }
        if files.is_empty() {
            if missing > 0 {
                let bit = if pat.contains('{') {
                    INCLUDE_B
                } else {
                    INCLUDE_M
                };
                report(
                    self,
                    bit,
                    Code::IncludeMissing,
                    format!("config files missing '{pat}'"),
                );
            } else if any_glob {
                report(
                    self,
                    INCLUDE_W,
                    Code::IncludeMissing,
                    format!("no config files matched '{pat}'"),
                );
            }
            return true;
        }
        if missing > 0 {
            report(
                self,
                INCLUDE_B,
                Code::IncludeMissing,
                format!("some config files missing: '{pat}'"),
            );
            if mask & INCLUDE_B != 0 {
                return true;
            }
        }
        let from = Arc::new(span.clone());
        for f in files {
            let canon = std::fs::canonicalize(&f).unwrap_or_else(|_| f.clone());
            if self.stack.contains(&canon) {
                let m = format!("include loop: '{}' is already being read", f.display());
                self.diags.push(
                    Diagnostic::new(
                        Severity::Error,
                        Code::IncludeLoop,
                        ConfigErr::Fatal,
                        span,
                        m,
                    )
                    .with_hint("remove the include that points back to an including file"),
                );
                continue;
            }
            match std::fs::metadata(&f) {
                Ok(m) if m.is_dir() => {
                    let m = format!(
                        "configuration file '{}' is a directory - skipping",
                        f.display()
                    );
                    report(self, INCLUDE_R, Code::FileNotFound, m);
                    continue;
                }
                Ok(m) if m.is_file() && m.permissions().mode() & 0o111 == 0 => {}
                _ => {
                    let m = format!(
                        "configuration file '{}' is not a regular non-executable file - skipping",
                        f.display()
                    );
                    report(self, INCLUDE_R, Code::FileNotFound, m);
                    continue;
                }
            }
            let before = self.diags.len();
            // keepalived saves include_check when it opens a file and restores it at its end
            let saved = self.include_check;
            self.file(&f, Some(from.clone()));
            self.include_check = saved;
            // an included file that cannot be read: an error under the `read` check
            if mask & INCLUDE_R != 0 {
                for d in &mut self.diags[before..] {
                    if d.code == Code::FileNotFound && d.class == ConfigErr::Ok {
                        d.severity = Severity::Error;
                        d.class = ConfigErr::FileNotFound;
                        d.code = Code::IncludeCheck;
                    }
                }
            }
        }
        true
    }

    /// keepalived's `include_check_set` (a `global_defs` keyword acted on as it is read):
    /// `[[+|-]read|match|wildcard_match|brace_match ...]`, bare: all four. Its errors are the
    /// model builder's to report.
    fn include_check_set(&mut self, words: &[&str]) {
        if words.is_empty() {
            self.include_check = INCLUDE_R | INCLUDE_M | INCLUDE_W | INCLUDE_B;
            return;
        }
        for (i, w) in words.iter().enumerate() {
            let (op, name) = match w.as_bytes().first() {
                Some(b'-') => (-1, &w[1..]),
                Some(b'+') => (1, &w[1..]),
                _ if i == 0 => {
                    self.include_check = 0;
                    (0, *w)
                }
                _ => continue,
            };
            let bit = match name {
                "read" => INCLUDE_R,
                "match" => INCLUDE_M,
                "wildcard_match" => INCLUDE_W,
                "brace_match" => INCLUDE_B,
                _ => 0,
            };
            if bit != 0 {
                match op {
                    0 => self.include_check = INCLUDE_R | bit,
                    1 => self.include_check |= bit,
                    _ => self.include_check &= !bit,
                }
            }
        }
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
