//! `config_save_dir DIR` (keepalived 2.2.7, `lib/parser.c` and `core/config_notify.c`):
//! * the parent, at every reading of the configuration (start and each reload), saves the
//!   consolidated configuration it read as `DIR/keepalived.conf.PID.N` (N from 0): keepalived's
//!   copy format, each file's lines without leading blanks, trailing blanks and comments, an
//!   `include` line as an empty line, `# FILE` when a file is opened and `!` when it ends;
//! * each worker, at each reload, dumps its data (the SIGUSR1 text) before and after the
//!   reload as `DIR/keepalived_{vrrp,check,bfd}.PID.N.pre|post` (N from 1).
//!
//! `tmp_config_directory DIR` uses the same consolidated copy: the parent keeps it in an
//! unnamed file (O_TMPFILE) in DIR, rewritten at each reload, as keepalived keeps its copy there
//! instead of in a memfd (the workers here read the configuration files themselves, as they
//! always do); a reload that changes DIR is refused.
//!
//! The parent creates DIR (mode 0700 less the umask) when it does not exist; a worker needs
//! it to exist. Once set, the directory stays in use even when a reloaded configuration no
//! longer names it (keepalived keeps it in a static). Files are created 0666 less the umask
//! (the parent's as keepalived's `cp` of its memfd copy, 0777 less the umask): 0600 under the
//! default umask 0177.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::info;

/// keepalived's `set_dir`: one trailing '/' removed.
fn trimmed(dir: &str) -> PathBuf {
    PathBuf::from(dir.strip_suffix('/').unwrap_or(dir))
}

/// keepalived's `config_save_dir_handler` for the parent (`create`) or a worker: the directory
/// to use, or the configuration error keepalived reports.
pub fn check_dir(dir: &str, create: bool) -> Result<PathBuf, String> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => return Ok(trimmed(dir)),
        Ok(_) if create => {
            return Err(format!(
                "config_save_dir {dir} exists and is not a directory"
            ))
        }
        Ok(_) => return Err(format!("config_save_dir {dir} is not a directory")),
        Err(_) if !create => return Err(format!("Unable to find config_save_dir {dir}")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(format!(
                "config_save_dir {dir} error {} - {}",
                e.raw_os_error().unwrap_or(0),
                errno_text(&e)
            ))
        }
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => Ok(trimmed(dir)),
        Err(e) => Err(format!(
            "Unable to create config_save_dir {dir} (error {} - {})",
            e.raw_os_error().unwrap_or(0),
            errno_text(&e)
        )),
    }
}

/// strerror's text (`%m`) of an I/O error.
fn errno_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_string(),
        None => e.to_string(),
    }
}

/// keepalived's `decomment`: leading blanks, the comment (`!` or `#` outside quotes, not
/// escaped) and trailing blanks removed; `\#` and `\!` outside quotes lose their backslash; a
/// trailing `\` (continuation) is kept.
pub fn decomment(line: &str) -> String {
    let s = line.trim_start_matches([' ', '\t']);
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
                Some(n) if !quote && (n == '#' || n == '!') => {
                    out.push(n);
                    chars.next();
                }
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                    chars.next();
                }
                None => {
                    cont = true;
                    break;
                }
            },
            '!' | '#' if !quote => break,
            _ => out.push(c),
        }
    }
    let end = out.trim_end_matches([' ', '\t']).len();
    out.truncate(end);
    if cont {
        out.push('\\');
    }
    out
}

/// keepalived's `is_include`.
fn include_pattern(line: &str) -> Option<Option<&str>> {
    let rest = line.strip_prefix("include")?;
    let mut cs = rest.chars();
    let first = cs.next()?;
    let args = if first.is_whitespace() {
        rest
    } else if "rmwba".contains(first) && cs.next().is_some_and(char::is_whitespace) {
        &rest[1..]
    } else {
        return None;
    };
    Some(args.split_whitespace().next())
}

/// The consolidated copy of `file` and its includes, as keepalived writes it.
pub fn consolidated(file: &Path) -> String {
    let mut out = String::new();
    copy_file(file, file, &mut out, 0);
    out
}

/// `name` as keepalived names it (the glob match, relative to the including file's
/// directory when the pattern is relative), `path` where it is.
fn copy_file(name: &Path, path: &Path, out: &mut String, depth: usize) {
    let Ok(text) = std::fs::read(path) else {
        return;
    };
    out.push_str(&format!("# {}\n", name.display()));
    let text = String::from_utf8_lossy(&text);
    // The directory relative names are resolved in (keepalived chdir()s there when the name
    // has a '/').
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    for raw in text.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        if line.is_empty() {
            out.push('\n');
            continue;
        }
        let line = decomment(line);
        match include_pattern(&line) {
            Some(pattern) => {
                out.push('\n');
                if let (Some(p), true) = (pattern, depth < 32) {
                    include(p, &base, out, depth + 1);
                }
            }
            None => {
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
    out.push_str("!\n");
}

fn include(pattern: &str, base: &Path, out: &mut String, depth: usize) {
    let full = if Path::new(pattern).is_absolute() {
        pattern.to_string()
    } else {
        base.join(pattern).display().to_string()
    };
    let Ok(paths) = glob::glob(&full) else { return };
    for p in paths.flatten() {
        if p.is_dir() {
            continue;
        }
        let name = if Path::new(pattern).is_absolute() {
            p.clone()
        } else {
            p.strip_prefix(base)
                .map(Path::to_path_buf)
                .unwrap_or(p.clone())
        };
        copy_file(&name, &p, out, depth);
    }
}

fn write_file(path: &Path, mode: u32, text: &str) {
    let res = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = res {
        info!("Failed to open config_save file {} ({e})", path.display());
    }
}

/// The parent's copy `DIR/keepalived.conf.PID.N`.
pub fn save_parent(dir: &Path, n: u32, file: &Path) {
    let path = dir.join(format!("keepalived.conf.{}.{n}", std::process::id()));
    write_file(&path, 0o777, &consolidated(file));
}

/// A worker's dump `DIR/keepalived_PROCESS.PID.N.pre|post`.
pub fn save_worker(dir: &Path, process: &str, n: u32, post: bool, text: &str) {
    let path = dir.join(format!(
        "keepalived_{process}.{}.{n}.{}",
        std::process::id(),
        if post { "post" } else { "pre" }
    ));
    write_file(&path, 0o666, text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decomment_as_keepalived() {
        assert_eq!(decomment("   router_id   lab  "), "router_id   lab");
        assert_eq!(decomment("state MASTER   # trailing"), "state MASTER");
        assert_eq!(decomment("! comment"), "");
        assert_eq!(decomment("a \"x # y\" ! z"), "a \"x # y\"");
        assert_eq!(decomment("a \\# b"), "a # b");
        assert_eq!(decomment("a b \\"), "a b\\");
    }
}
