//! `$NAME=value` definitions, substitution and the `~SEQ`/`~LST` expanders.

use super::*;

impl Lexer<'_> {
    pub(super) fn continue_definition(&mut self, name: &str, line: &str) {
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

    /// `$NAME=value` (returns false if the line is not a definition).
    pub(super) fn definition(&mut self, line: &str, span: &Span) -> bool {
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

    pub(super) fn random(&mut self, min: u64, max: u64) -> u64 {
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
    pub(super) fn substitute(&mut self, line: &str, span: &Span) -> Option<(String, Vec<String>)> {
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

    pub(super) fn seq(&mut self, line: &str, span: &Span, depth: usize) {
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

    pub(super) fn set_def(&mut self, name: &str, value: &str) {
        self.defs.insert(
            name.to_string(),
            Def {
                value: value.to_string(),
                multiline: false,
                builtin: None,
            },
        );
    }

    pub(super) fn lst(&mut self, line: &str, span: &Span, depth: usize) {
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
}
