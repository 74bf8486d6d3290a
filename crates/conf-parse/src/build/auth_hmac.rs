//! `auth_hmac { }` inside `vrrp_instance` (keepalived 2.4.3, vrrp_parser.c
//! `vrrp_auth_hmac_*_handler` and the checks of `vrrp_complete_instance`), typed into
//! [`AuthHmac`]. Runtime integration is pending (issue 21); the keywords are recognized and
//! checked like keepalived checks them.

use super::{block, Builder};
use crate::model::*;

/// Key material bounds (bytes).
const KEY_MIN: usize = 32;
const KEY_MAX: usize = 64;
/// `time_window` bounds (seconds).
const WINDOW_MIN: u64 = 1;
const WINDOW_MAX: u64 = 300;

/// Decoded length of a `hex:` value as keepalived's `read_hex_str` reads it (spaces and tabs
/// skipped, a lone digit before a space or the end is one byte); `None` for an invalid digit.
fn hex_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let (mut i, mut n) = (0, 0);
    loop {
        while matches!(b.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        let Some(c) = b.get(i) else { break };
        if !c.is_ascii_hexdigit() {
            return None;
        }
        i += 1;
        if let Some(c2) = b.get(i) {
            if *c2 != b' ' {
                if !c2.is_ascii_hexdigit() {
                    return None;
                }
                i += 1;
            }
        }
        n += 1;
    }
    (n > 0).then_some(n)
}

impl Builder {
    /// One `auth_hmac` block; a second block in the same instance adds to the first (keepalived
    /// keeps the first allocation and its sub-keywords apply to it).
    pub(super) fn auth_hmac(&mut self, st: &Stmt, prev: Option<AuthHmac>, name: &str) -> AuthHmac {
        let mut a = prev.unwrap_or_default();
        for b in block(st) {
            match b.keyword.as_ref() {
                "key" => {
                    if b.args.len() < 2 {
                        self.invalid(
                            b,
                            format!("({name}) auth_hmac key needs an id and a value"),
                            Some("write `key ID hex:…`, `key ID PASSPHRASE` or `key ID file:PATH`"),
                        );
                        continue;
                    }
                    let id = match b.args[0].parse::<u8>() {
                        Ok(id) if id >= 1 => id,
                        _ => {
                            self.invalid(
                                b,
                                format!(
                                    "({name}) auth_hmac key id '{}' must be between 1 and 255",
                                    b.args[0]
                                ),
                                None,
                            );
                            continue;
                        }
                    };
                    let raw = b.args[1].as_str();
                    let (value, len) = if let Some(p) = raw.strip_prefix("file:") {
                        // Read (and its length and permissions checked) when loaded.
                        (AuthHmacKeyValue::File(p.to_string()), None)
                    } else if let Some(h) = raw.strip_prefix("hex:") {
                        (
                            AuthHmacKeyValue::Hex(h.to_string()),
                            Some(hex_len(h).unwrap_or(0)),
                        )
                    } else {
                        (AuthHmacKeyValue::Ascii(raw.to_string()), Some(raw.len()))
                    };
                    if let Some(len) = len.filter(|l| !(KEY_MIN..=KEY_MAX).contains(l)) {
                        self.invalid(
                            b,
                            format!(
                                "({name}) auth_hmac key {id} length {len} not in range \
                                 [{KEY_MIN}, {KEY_MAX}]"
                            ),
                            Some("generate one with `openssl rand -hex 32` and write `hex:…`"),
                        );
                        continue;
                    }
                    if a.keys.iter().any(|k| k.id == id) {
                        self.invalid(b, format!("({name}) duplicate auth_hmac key id {id}"), None);
                        continue;
                    }
                    a.keys.push(AuthHmacKey { id, value });
                }
                "active_key" => match b.args.first().map(|s| s.parse::<u8>()) {
                    Some(Ok(id)) if id >= 1 => a.active_key = Some(id),
                    _ => {
                        let w = b.args.first().cloned().unwrap_or_default();
                        self.invalid(
                            b,
                            format!(
                                "({name}) auth_hmac active_key '{w}' must be between 1 and 255"
                            ),
                            None,
                        );
                    }
                },
                "time_window" => match b.args.first().map(|s| s.parse::<u64>()) {
                    Some(Ok(w)) if (WINDOW_MIN..=WINDOW_MAX).contains(&w) => {
                        a.time_window = Some(w as u32)
                    }
                    _ => {
                        let w = b.args.first().cloned().unwrap_or_default();
                        self.invalid(
                            b,
                            format!(
                                "({name}) auth_hmac time_window '{w}' must be between \
                                     {WINDOW_MIN} and {WINDOW_MAX} seconds"
                            ),
                            None,
                        );
                    }
                },
                "anti_replay" => match b.args.first().map(String::as_str) {
                    Some("time") => a.anti_replay = Some(AuthHmacAntiReplay::Time),
                    Some("monotonic") => a.anti_replay = Some(AuthHmacAntiReplay::Monotonic),
                    w => {
                        let w = w.unwrap_or_default().to_string();
                        self.invalid(
                            b,
                            format!(
                                "({name}) auth_hmac anti_replay '{w}' must be time or monotonic"
                            ),
                            None,
                        );
                    }
                },
                "mode" => match b.args.first().map(String::as_str) {
                    Some("enforce") => a.mode = Some(AuthHmacMode::Enforce),
                    Some("permissive") => a.mode = Some(AuthHmacMode::Permissive),
                    Some("receive-only") => a.mode = Some(AuthHmacMode::ReceiveOnly),
                    w => {
                        let w = w.unwrap_or_default().to_string();
                        self.invalid(
                            b,
                            format!(
                                "({name}) auth_hmac mode '{w}' must be enforce, permissive or \
                                 receive-only"
                            ),
                            None,
                        );
                    }
                },
                _ => {}
            }
        }
        a
    }

    /// keepalived's end-of-instance checks (`vrrp_complete_instance`): `auth_hmac` replaces
    /// `authentication`; an undefined `active_key` disables the extension; `strict_mode`
    /// forces `mode enforce`.
    pub(super) fn finish_auth_hmac(&mut self, v: &mut VrrpInstance, global_strict: bool) {
        let Some(a) = v.auth_hmac.as_mut() else {
            return;
        };
        let loc = v.loc.0.clone();
        let name = v.name.clone();
        let report = |b: &mut Builder, msg: String| {
            let d = crate::diag::Diagnostic::new(
                crate::diag::Severity::Error,
                crate::diag::Code::Semantic,
                crate::diag::ConfigErr::GeneralError,
                &loc,
                msg,
            );
            b.emit(d);
        };
        if v.authentication.is_some() {
            report(
                self,
                format!(
                    "({name}) auth_hmac cannot be combined with authentication, dropping legacy auth"
                ),
            );
            v.authentication = None;
        }
        let active = a.active_key.unwrap_or(0);
        if !a.keys.iter().any(|k| k.id == active) {
            report(
                self,
                format!(
                    "({name}) auth_hmac active_key {active} is not defined, disabling extension"
                ),
            );
            v.auth_hmac = None;
            return;
        }
        if v.strict_mode.unwrap_or(global_strict)
            && a.mode.is_some_and(|m| m != AuthHmacMode::Enforce)
        {
            report(
                self,
                format!("({name}) strict mode requires auth_hmac mode enforce"),
            );
            a.mode = Some(AuthHmacMode::Enforce);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::hex_len;

    // Proves the hex length follows keepalived's read_hex_str (spaces skipped, lone digits).
    #[test]
    fn hex_lengths() {
        assert_eq!(hex_len("00010203"), Some(4));
        assert_eq!(hex_len("00 01 2"), Some(3));
        assert_eq!(hex_len("0g"), None);
        assert_eq!(hex_len(""), None);
        assert_eq!(hex_len(&"ab".repeat(32)), Some(32));
    }
}
