//! Command lines into argv, as keepalived's `alloc_strvec_quoted_escaped` (lib/parser.c) does
//! to a script's command string.

/// Why a command line cannot be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SplitError {
    /// A quote is not closed.
    #[error("String '{line}': missing terminating {quote}")]
    UnmatchedQuote {
        /// The command line.
        line: String,
        /// The quote left open.
        quote: char,
    },
    /// The line ends in a lone backslash.
    #[error("Missing escape char at end: '{0}'")]
    TrailingBackslash(String),
}

/// Splits `line` into words: blanks (space, tab, CR, LF, VT, FF) separate words, `'...'` and
/// `"..."` group (the quotes go), a quote may start or end mid-word (`a"b c"d` is one word
/// `ab cd`), and `\` escapes everywhere: `\a \b \E \f \n \r \t \v`, `\xHH`, octal `\NNN`,
/// `\cX` (control character), any other character stands for itself. An empty line gives no
/// words.
pub fn split(line: &str) -> Result<Vec<String>, SplitError> {
    let is_blank = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n' | '\x0b' | '\x0c');
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|&c| is_blank(c)).is_some() {}
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut word: Vec<u8> = Vec::new();
        let mut quote: Option<char> = None;
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    let Some(e) = chars.next() else {
                        return Err(SplitError::TrailingBackslash(line.to_string()));
                    };
                    escape(e, &mut chars, &mut word);
                }
                q if Some(q) == quote => quote = None,
                '\'' | '"' if quote.is_none() => quote = Some(c),
                c if quote.is_none() && is_blank(c) => break,
                c => {
                    let mut b = [0u8; 4];
                    word.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                }
            }
        }
        if let Some(q) = quote {
            return Err(SplitError::UnmatchedQuote {
                line: line.to_string(),
                quote: q,
            });
        }
        out.push(String::from_utf8_lossy(&word).into_owned());
    }
}

/// One escape sequence after the backslash (`e` is the character after it).
fn escape(e: char, chars: &mut std::iter::Peekable<std::str::Chars<'_>>, word: &mut Vec<u8>) {
    let byte = match e {
        'x' if chars.peek().is_some_and(char::is_ascii_hexdigit) => {
            let mut v: u8 = 0;
            for _ in 0..2 {
                match chars.next_if(char::is_ascii_hexdigit) {
                    Some(d) => v = (v << 4) | d.to_digit(16).unwrap_or(0) as u8,
                    None => break,
                }
            }
            v
        }
        'c' if chars.peek().is_some() => match chars.next() {
            Some(x) => (x as u32 & 0x1f) as u8,
            None => 0,
        },
        '0'..='7' => {
            let mut v: u8 = e as u8 - b'0';
            for _ in 0..2 {
                match chars.next_if(|c| ('0'..='7').contains(c)) {
                    Some(d) => v = v.wrapping_shl(3).wrapping_add(d as u8 - b'0'),
                    None => break,
                }
            }
            v
        }
        'a' => 0x07,
        'b' => 0x08,
        'E' => 0x1b,
        'f' => 0x0c,
        'n' => b'\n',
        'r' => b'\r',
        't' => b'\t',
        'v' => 0x0b,
        other => {
            let mut b = [0u8; 4];
            word.extend_from_slice(other.encode_utf8(&mut b).as_bytes());
            return;
        }
    };
    word.push(byte);
}

/// A command line for `/bin/sh -c` from argv, as keepalived's `cmd_str`: every word in single
/// quotes (`'` as `'\''`), except a first word starting with `<` or `>` (a redirection-only
/// file test, `</path/file`).
pub fn shell_line(argv: &[String]) -> String {
    let mut s = String::new();
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        if i == 0 && (a.starts_with('<') || a.starts_with('>')) {
            s.push_str(a);
            continue;
        }
        s.push('\'');
        s.push_str(&a.replace('\'', r"'\''"));
        s.push('\'');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Vec<String> {
        split(s).unwrap_or_else(|e| vec![format!("ERR {e}")])
    }

    // Proves keepalived's splitting: blanks, both quotes (also mid-word), escapes in and out of
    // quotes, and its errors for an open quote and a trailing backslash.
    #[test]
    fn splits_like_keepalived() {
        assert_eq!(
            ok(r#"/bin/echo "a b" c 'd e'"#),
            ["/bin/echo", "a b", "c", "d e"]
        );
        assert_eq!(ok("  /x  "), ["/x"]);
        assert!(ok("").is_empty());
        assert!(ok(" \t ").is_empty());
        assert_eq!(ok(r#"a"b c"d"#), ["ab cd"]);
        assert_eq!(ok(r"a\ b"), ["a b"]);
        assert_eq!(ok(r#""it's" 'say "hi"'"#), ["it's", r#"say "hi""#]);
        assert_eq!(ok(r"\x41\102\n\t\cA\E\q"), ["AB\n\t\x01\x1bq"]);
        assert_eq!(ok(r"'\x41'"), ["A"]);
        assert_eq!(ok(r"\xZ"), ["xZ"]);
        assert_eq!(ok("''"), [""]);
        assert_eq!(
            ok("/bin/sh -c 'echo up >> /tmp/x'"),
            ["/bin/sh", "-c", "echo up >> /tmp/x"]
        );
        assert!(matches!(
            split("a 'b"),
            Err(SplitError::UnmatchedQuote { quote: '\'', .. })
        ));
        assert!(matches!(
            split(r"a\"),
            Err(SplitError::TrailingBackslash(_))
        ));
    }

    // Proves the shell line quotes every word but a leading redirection.
    #[test]
    fn shell_line_quotes() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(shell_line(&v(&["/x", "it's"])), r"'/x' 'it'\''s'");
        assert_eq!(shell_line(&v(&["</etc/passwd"])), "</etc/passwd");
    }
}
