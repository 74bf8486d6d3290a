//! FILE_CHECK (check_file.c + trackers/track_file.c): the tracked file holds an integer
//! status, read like keepalived (first 127 bytes, `strtol(buf, NULL, 0)`; a missing or empty
//! file is 0).
//!
//! * no `weight` (0): status ≠ 0 means FAULT (down); with `reverse`, status = 0 means FAULT;
//! * with `weight`: `status × weight × (reverse ? -1 : 1)` is added to the real server's
//!   weight; a product ≤ -2^31 (IPVS_WEIGHT_FAULT) means FAULT.
//!
//! keepalived watches the file with inotify; we read it at every `delay_loop` (cheap: one
//! non-blocking open+read). keepalived ignores values outside the 32-bit range (keeps the old
//! state); being stateless, we clamp them.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;

use crate::checker::FileCheck;
use crate::result::{Failure, Status, WeightAdjust};

/// C `strtol(s, NULL, 0)`: leading whitespace, sign, `0x` hex / `0` octal / decimal, stops at
/// the first invalid character; saturates on overflow; no digits → 0.
pub fn strtol0(s: &[u8]) -> i64 {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let mut base = 10u32;
    if i + 1 < s.len()
        && s[i] == b'0'
        && (s[i + 1] == b'x' || s[i + 1] == b'X')
        && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        base = 16;
        i += 2;
    } else if i < s.len() && s[i] == b'0' {
        base = 8;
    }
    let mut v: i64 = 0;
    while i < s.len() {
        let Some(d) = (s[i] as char).to_digit(base) else {
            break;
        };
        v = v
            .saturating_mul(i64::from(base))
            .saturating_add(i64::from(d));
        i += 1;
    }
    if neg {
        -v
    } else {
        v
    }
}

/// Read the status from `path` as keepalived does (missing / unreadable / empty → 0).
pub fn read_status(path: &std::path::Path) -> i64 {
    let Ok(mut f) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    else {
        return 0;
    };
    let mut buf = [0u8; 127];
    match f.read(&mut buf) {
        Ok(n) if n > 0 => strtol0(&buf[..n]),
        _ => 0,
    }
}

/// The verdict for `status` under `f`'s weight settings.
pub fn judge(f: &FileCheck, status: i64) -> Status {
    let status = status.clamp(i64::from(i32::MIN), i64::from(i32::MAX) + 1);
    if f.weight == 0 {
        let fault = (status != 0) != f.reverse;
        return if fault {
            Status::Down(Failure::FileFault(status))
        } else {
            Status::Up
        };
    }
    let mult = if f.reverse { -1 } else { 1 };
    let v = status
        .saturating_mul(i64::from(f.weight))
        .saturating_mul(mult);
    let v = v.clamp(i64::from(i32::MIN), i64::from(i32::MAX));
    if v <= i64::from(i32::MIN) {
        Status::Down(Failure::FileFault(status))
    } else if v == 0 {
        Status::Up
    } else {
        Status::Weight(WeightAdjust::Delta(v))
    }
}

pub(crate) async fn check_file(f: &FileCheck) -> Status {
    judge(f, read_status(&f.path))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves strtol base-0 parsing as C does it.
    #[test]
    fn strtol_like_c() {
        assert_eq!(strtol0(b"0"), 0);
        assert_eq!(strtol0(b"  42\n"), 42);
        assert_eq!(strtol0(b"-7abc"), -7);
        assert_eq!(strtol0(b"0x1f"), 31);
        assert_eq!(strtol0(b"010"), 8);
        assert_eq!(strtol0(b"09"), 0);
        assert_eq!(strtol0(b"0x"), 0);
        assert_eq!(strtol0(b"abc"), 0);
        assert_eq!(strtol0(b""), 0);
        assert_eq!(strtol0(b"99999999999999999999999"), i64::MAX);
    }

    proptest::proptest! {
        // Proves strtol0 never panics and agrees with Rust's parser on plain decimals.
        #[test]
        fn strtol_total(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40), n in -1_000_000i64..1_000_000) {
            let _ = strtol0(&bytes);
            proptest::prop_assert_eq!(strtol0(n.to_string().as_bytes()), n);
        }
    }

    // Proves the weight semantics of track_file for checkers.
    #[test]
    fn weight_semantics() {
        let mut f = FileCheck {
            path: "/nonexistent".into(),
            weight: 0,
            reverse: false,
        };
        assert_eq!(judge(&f, 0), Status::Up);
        assert!(matches!(judge(&f, 1), Status::Down(_)));
        f.reverse = true;
        assert!(matches!(judge(&f, 0), Status::Down(_)));
        assert_eq!(judge(&f, 5), Status::Up);
        f = FileCheck { weight: 10, ..f };
        f.reverse = false;
        assert_eq!(judge(&f, 3), Status::Weight(WeightAdjust::Delta(30)));
        assert_eq!(judge(&f, 0), Status::Up);
        f.reverse = true;
        assert_eq!(judge(&f, 3), Status::Weight(WeightAdjust::Delta(-30)));
        f.reverse = false;
        assert!(matches!(judge(&f, -1_000_000_000), Status::Down(_)));
        assert_eq!(read_status(std::path::Path::new("/nonexistent/file")), 0);
    }
}
