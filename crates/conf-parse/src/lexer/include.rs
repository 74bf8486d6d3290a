//! The `include` directive and the `include_check` settings.

use super::*;

impl Lexer<'_> {
    /// `include`, `includer`, `includem`, `includew`, `includeb`, `includea`.
    pub(super) fn include(&mut self, line: &str, span: &Span) -> bool {
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
    pub(super) fn include_check_set(&mut self, words: &[&str]) {
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
}
