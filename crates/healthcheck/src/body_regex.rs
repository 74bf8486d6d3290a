//! `url { regex … }`: keepalived's body regex (check_http.c `check_regex`), on the `regex` crate.
//!
//! keepalived compiles the pattern with PCRE2 and matches it against the body as it streams in
//! (partial matching across reads). A `regex` url is up when the pattern matches somewhere in the
//! body (starting at or after `regex_min_offset`, at or before `regex_max_offset`), and with
//! `regex_no_match` when it does not.
//!
//! Here the body is scanned in a bounded window ([`crate::Limits::regex_window_bytes`]): bytes
//! are appended until the window is full, the window is searched, and only its second half is
//! kept for the next round. Memory per check is bounded by the window, time is linear in the
//! body (the `regex` crate has no backtracking), and reading stops as soon as the verdict is
//! known (a match, or the whole `regex_max_offset` range searched).
//!
//! Differences from PCRE2, documented in the keyword registry:
//! * the `regex` crate's syntax: no backreferences, no look-around, no possessive or atomic
//!   groups, no `\C` or callouts; such a pattern does not compile and the url fails its check
//!   with the compiler's message (keepalived 2.2.7 logs "Invalid regex" and goes on with a
//!   freed pattern);
//! * without `multiline`, `$` matches only at the very end of the body (PCRE2 also matches before
//!   a final newline, unless `dollar_endonly`);
//! * a match longer than half the window that starts in a part of the body already dropped is
//!   not found (keepalived's partial match is bounded by its receive buffer likewise);
//! * options: `caseless`, `multiline`, `dotall`, `extended`, `ungreedy`, `utf`/`ucp` (Unicode
//!   classes and UTF-8 matching; without them the match is on bytes with ASCII classes, as
//!   PCRE2's default), `firstline` (the match must start on the first line) and
//!   `dollar_endonly` (the `regex` crate's `$` always is) have PCRE2's meaning; the others
//!   (`allow_empty_class`, `alt_bsux`, `auto_callout`, `dupnames`, `match_unset_backref`,
//!   `never_ucp`, `never_utf`, `no_auto_capture`, `no_auto_possess`, `no_dotstar_anchor`,
//!   `no_start_optimize`, `never_backslash_c`, `alt_circumflex`, `alt_verbnames`,
//!   `use_offset_limit`) change nothing here;
//! * `regex_stack` sizes PCRE2's JIT stack: the `regex` crate needs none, it is accepted and has
//!   no effect.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// keepalived's `regex_options` names (check_http.c `regex_options[]`).
pub const OPTION_NAMES: &[&str] = &[
    "allow_empty_class",
    "alt_bsux",
    "auto_callout",
    "caseless",
    "dollar_endonly",
    "dotall",
    "dupnames",
    "extended",
    "firstline",
    "match_unset_backref",
    "multiline",
    "never_ucp",
    "never_utf",
    "no_auto_capture",
    "no_auto_possess",
    "no_dotstar_anchor",
    "no_start_optimize",
    "ucp",
    "ungreedy",
    "utf",
    "never_backslash_c",
    "alt_circumflex",
    "alt_verbnames",
    "use_offset_limit",
];

/// A url's regex, compiled once (equality and hashing look at the configuration only).
#[derive(Clone)]
pub struct UrlRegex {
    /// The pattern as configured.
    pub pattern: String,
    /// `regex_options` (keepalived's names; unknown names are ignored, as keepalived does).
    pub options: Vec<String>,
    /// `regex_no_match`: up when the body does *not* match.
    pub no_match: bool,
    /// `regex_min_offset`: a match must start at or after this body offset.
    pub min_offset: usize,
    /// `regex_max_offset`: a match must start at or before this body offset.
    pub max_offset: Option<usize>,
    compiled: Result<Arc<regex::bytes::Regex>, String>,
    firstline: bool,
}

impl std::fmt::Debug for UrlRegex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlRegex")
            .field("pattern", &self.pattern)
            .field("options", &self.options)
            .field("no_match", &self.no_match)
            .field("min_offset", &self.min_offset)
            .field("max_offset", &self.max_offset)
            .field("compiled", &self.compiled.as_ref().map(|_| ()))
            .finish()
    }
}

impl PartialEq for UrlRegex {
    fn eq(&self, o: &Self) -> bool {
        (
            &self.pattern,
            &self.options,
            self.no_match,
            self.min_offset,
            self.max_offset,
        ) == (
            &o.pattern,
            &o.options,
            o.no_match,
            o.min_offset,
            o.max_offset,
        )
    }
}
impl Eq for UrlRegex {}

impl Hash for UrlRegex {
    fn hash<H: Hasher>(&self, h: &mut H) {
        (
            &self.pattern,
            &self.options,
            self.no_match,
            self.min_offset,
            self.max_offset,
        )
            .hash(h);
    }
}

/// The compile size limit (the `regex` crate's default is 10 MiB of program; a checker pattern
/// needs far less).
const SIZE_LIMIT: usize = 1 << 20;

impl UrlRegex {
    /// Compile `pattern` with keepalived's option names. Never fails: a pattern that does not
    /// compile is kept with its error, and every check of its url fails with it.
    pub fn new(
        pattern: &str,
        options: &[String],
        no_match: bool,
        min_offset: usize,
        max_offset: Option<usize>,
    ) -> Self {
        let mut opts: Vec<String> = options
            .iter()
            .filter(|o| OPTION_NAMES.contains(&o.as_str()))
            .cloned()
            .collect();
        opts.sort();
        opts.dedup();
        let has = |n: &str| opts.iter().any(|o| o == n);
        let compiled = regex::bytes::RegexBuilder::new(pattern)
            .unicode(has("utf") || has("ucp"))
            .case_insensitive(has("caseless"))
            .multi_line(has("multiline"))
            .dot_matches_new_line(has("dotall"))
            .ignore_whitespace(has("extended"))
            .swap_greed(has("ungreedy"))
            .size_limit(SIZE_LIMIT)
            .dfa_size_limit(SIZE_LIMIT)
            .build()
            .map(Arc::new)
            .map_err(|e| e.to_string());
        let firstline = has("firstline");
        Self {
            pattern: pattern.to_string(),
            options: opts,
            no_match,
            min_offset,
            max_offset,
            compiled,
            firstline,
        }
    }

    /// The compiler's message when the pattern does not compile.
    pub fn error(&self) -> Option<&str> {
        self.compiled.as_ref().err().map(String::as_str)
    }

    /// A scanner for one response body (None when the pattern did not compile).
    pub fn scanner(&self, window: usize) -> Option<Scan<'_>> {
        let re = self.compiled.as_ref().ok()?;
        Some(Scan {
            re,
            rx: self,
            window: window.max(64),
            buf: Vec::new(),
            buf_start: 0,
            total: 0,
            searched_to: self.min_offset,
            first_nl: None,
            verdict: None,
        })
    }
}

/// Streaming search of one body: [`Scan::feed`] the bytes as they arrive, then
/// [`Scan::finish`].
pub struct Scan<'a> {
    re: &'a regex::bytes::Regex,
    rx: &'a UrlRegex,
    window: usize,
    /// Kept body bytes; `buf[0]` is at body offset `buf_start`.
    buf: Vec<u8>,
    buf_start: usize,
    /// Body bytes seen so far.
    total: usize,
    /// No match starts before this body offset (searched already, or below min_offset).
    searched_to: usize,
    /// Body offset of the first `\n` (for `firstline`).
    first_nl: Option<usize>,
    verdict: Option<bool>,
}

impl Scan<'_> {
    /// Is the verdict known already (matched, or nothing can match any more)? Reading can stop.
    pub fn decided(&self) -> bool {
        self.verdict.is_some()
    }

    /// The last body offset a match may start at.
    fn last_start(&self) -> Option<usize> {
        let fl = if self.rx.firstline {
            self.first_nl
        } else {
            None
        };
        match (self.rx.max_offset, fl) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Feed the next body bytes.
    pub fn feed(&mut self, mut data: &[u8]) {
        if self.verdict.is_some() {
            return;
        }
        if self.first_nl.is_none() {
            if let Some(p) = data.iter().position(|&b| b == b'\n') {
                self.first_nl = Some(self.total + p);
            }
        }
        // Bytes more than one before min_offset are never needed (one is kept as context for
        // `\b` and `^` in multiline mode).
        let keep_from = self.rx.min_offset.saturating_sub(1);
        if self.buf.is_empty() && self.total + data.len() <= keep_from {
            self.total += data.len();
            self.buf_start = self.total;
            return;
        }
        if self.buf.is_empty() && self.total < keep_from {
            let skip = keep_from - self.total;
            data = &data[skip..];
            self.total += skip;
            self.buf_start = self.total;
        }
        while !data.is_empty() && self.verdict.is_none() {
            let room = self.window.saturating_sub(self.buf.len()).max(1);
            let take = room.min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            self.total += take;
            data = &data[take..];
            if self.buf.len() >= self.window {
                self.search(false);
                if self.verdict.is_none() {
                    self.slide();
                }
            }
        }
    }

    /// The body ended: the verdict (true = the url's regex condition holds: a match, or no
    /// match with `regex_no_match`).
    pub fn finish(&mut self) -> bool {
        if self.verdict.is_none() {
            self.search(true);
        }
        self.verdict.unwrap_or(false) != self.rx.no_match
    }

    /// Search the window for a match starting at or after `searched_to`.
    fn search(&mut self, last: bool) {
        let from = self.searched_to.max(self.buf_start);
        if let Some(ls) = self.last_start() {
            if from > ls {
                self.verdict = Some(false);
                return;
            }
        }
        let rel = from - self.buf_start;
        if rel > self.buf.len() {
            if last {
                self.verdict = Some(false);
            }
            return;
        }
        match self.re.find_at(&self.buf, rel) {
            Some(m) => {
                let start = self.buf_start + m.start();
                let in_range = self.last_start().is_none_or(|ls| start <= ls);
                if !in_range {
                    // The leftmost match starts too late: no match in range can follow.
                    self.verdict = Some(false);
                } else if last || m.end() < self.buf.len() {
                    self.verdict = Some(true);
                } else if m.start() > rel {
                    // Ends at the window's edge: it may differ once more bytes arrive; nothing
                    // starts before it, though.
                    self.searched_to = start;
                }
            }
            None if last => self.verdict = Some(false),
            None => {}
        }
    }

    /// Keep the second half of the window (plus the byte before it as context).
    fn slide(&mut self) {
        let keep = self.window / 2;
        let cut = self.buf.len().saturating_sub(keep + 1);
        if cut == 0 {
            return;
        }
        self.buf.drain(..cut);
        self.buf_start += cut;
        // Matches starting before the kept part (and no longer than `keep`) were found above.
        self.searched_to = self.searched_to.max(self.buf_start + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rx(p: &str, opts: &[&str]) -> UrlRegex {
        let o: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
        UrlRegex::new(p, &o, false, 0, None)
    }

    fn scan_chunks(r: &UrlRegex, window: usize, chunks: &[&[u8]]) -> bool {
        let mut s = r.scanner(window).unwrap();
        for c in chunks {
            s.feed(c);
        }
        s.finish()
    }

    // Proves a match is found whether it lies in one read or straddles reads and window slides,
    // and regex_no_match inverts the verdict.
    #[test]
    fn streaming_matches_across_reads_and_windows() {
        let r = rx("needle [0-9]+ end", &[]);
        let body = [
            vec![b'x'; 1000],
            b"needle 42 end".to_vec(),
            vec![b'y'; 1000],
        ]
        .concat();
        for w in [64, 100, 256, 4096] {
            for step in [1, 7, 64, 5000] {
                let chunks: Vec<&[u8]> = body.chunks(step).collect();
                assert!(scan_chunks(&r, w, &chunks), "window {w} step {step}");
            }
        }
        assert!(!scan_chunks(&r, 64, &[&[b'x'; 5000]]));
        let mut nm = r.clone();
        nm.no_match = true;
        assert!(!scan_chunks(&nm, 64, &[&body]));
        assert!(scan_chunks(&nm, 64, &[b"nothing here"]));
    }

    // Proves regex_min_offset / regex_max_offset bound where a match may start (keepalived:
    // start >= min, start <= max), including across window slides.
    #[test]
    fn offsets_bound_the_match_start() {
        let body = b"0123456789abc0123456789";
        let mk = |min, max| UrlRegex::new("abc", &[], false, min, max);
        assert!(scan_chunks(&mk(10, None), 64, &[body]));
        assert!(!scan_chunks(&mk(11, None), 64, &[body]));
        assert!(scan_chunks(&mk(0, Some(10)), 64, &[body]));
        assert!(!scan_chunks(&mk(0, Some(9)), 64, &[body]));
        let long = [vec![b'-'; 3000], b"abc".to_vec()].concat();
        assert!(scan_chunks(&mk(2990, None), 64, &[&long]));
        assert!(!scan_chunks(&mk(0, Some(2000)), 64, &[&long]));
        // `^` in multiline mode sees the byte before min_offset.
        let ml = UrlRegex::new("^b", &["multiline".to_string()], false, 3, None);
        assert!(scan_chunks(&ml, 64, &[b"aa\nb"]));
        assert!(!scan_chunks(&ml, 64, &[b"aaab"]));
    }

    // Proves the option mapping: caseless, multiline, dotall, extended, ungreedy, firstline,
    // bytes without utf; unknown names ignored; a pattern the regex crate rejects reports it.
    #[test]
    fn options_map_to_pcre2_meaning() {
        assert!(!scan_chunks(&rx("HELLO", &[]), 64, &[b"hello"]));
        assert!(scan_chunks(&rx("HELLO", &["caseless"]), 64, &[b"hello"]));
        assert!(!scan_chunks(&rx("^b$", &[]), 64, &[b"a\nb\nc"]));
        assert!(scan_chunks(&rx("^b$", &["multiline"]), 64, &[b"a\nb\nc"]));
        assert!(!scan_chunks(&rx("a.b", &[]), 64, &[b"a\nb"]));
        assert!(scan_chunks(&rx("a.b", &["dotall"]), 64, &[b"a\nb"]));
        assert!(scan_chunks(&rx("a b # c", &["extended"]), 64, &[b"ab"]));
        assert!(scan_chunks(&rx("zz", &["firstline"]), 64, &[b"azz\nb"]));
        assert!(!scan_chunks(&rx("b", &["firstline"]), 64, &[b"a\nb"]));
        // Bytes: invalid UTF-8 in the body is matched byte-wise.
        assert!(scan_chunks(
            &rx(r"\xff\xfe.", &[]),
            64,
            &[b"ab\xff\xfe\x80"]
        ));
        assert!(scan_chunks(&rx("x", &["no_such_option"]), 64, &[b"x"]));
        let bad = rx(r"(a)\1", &[]);
        assert!(bad.error().is_some() && bad.scanner(64).is_none());
        assert_eq!(rx("a", &["utf", "caseless"]), rx("a", &["caseless", "utf"]));
    }

    proptest::proptest! {
        // Proves streaming agrees with one search of the whole body for short patterns, for any
        // chunking, and never panics.
        #[test]
        fn streaming_equals_whole_body(
            body in proptest::collection::vec(proptest::sample::select(b"ab\nc".to_vec()), 0..600),
            step in 1usize..50,
            min in 0usize..40,
        ) {
            for pat in ["ab+c", "^c", "(?m)^ba$", "b\nc", "cc"] {
                let r = UrlRegex::new(pat, &[], false, min, None);
                let re = regex::bytes::Regex::new(pat).unwrap();
                let whole = body.len() >= min && re.find_at(&body, min).is_some();
                let chunks: Vec<&[u8]> = body.chunks(step).collect();
                proptest::prop_assert_eq!(scan_chunks(&r, 64, &chunks), whole, "{}", pat);
            }
        }
    }
}
