//! SMTP_CHECK: banner 220, `HELO <helo_name>` → 250, `QUIT` → any reply line (check_smtp.c).
//!
//! keepalived reads one line per step and requires "NNN " exactly; we additionally accept
//! RFC 5321 multi-line replies ("220-..." continuation lines, up to 32 lines), each line bounded
//! by `Limits::max_line_bytes`.

use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::checker::{ConnOpts, SmtpCheck};
use crate::net::{tcp_connect, timed};
use crate::result::{Failure, Phase, Status};
use crate::CheckContext;

/// Parse an SMTP reply line (RFC 5321 §4.2): `(code, is_last)`. `None` when the line does not
/// start with three digits followed by ' ', '-' (a continuation line), '\r', '\n' or the end.
/// The line may keep its line ending. Shared by SMTP_CHECK and the `smtp_alert` mailer.
///
/// ```
/// use healthcheck::smtp::parse_reply_line;
/// assert_eq!(parse_reply_line(b"220-mail.example ESMTP"), Some((220, false)));
/// assert_eq!(parse_reply_line(b"250 ok\r\n"), Some((250, true)));
/// assert_eq!(parse_reply_line(b"hello"), None);
/// ```
pub fn parse_reply_line(line: &[u8]) -> Option<(u16, bool)> {
    let d = line.get(..3)?;
    if !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = d.iter().fold(0u16, |a, b| a * 10 + u16::from(b - b'0'));
    match line.get(3) {
        None | Some(b' ') | Some(b'\r') | Some(b'\n') => Some((code, true)),
        Some(b'-') => Some((code, false)),
        _ => None,
    }
}

struct LineReader {
    buf: Vec<u8>,
    max: usize,
}

impl LineReader {
    async fn line<S: AsyncRead + Unpin>(
        &mut self,
        s: &mut S,
        step: std::time::Duration,
    ) -> Result<Vec<u8>, Failure> {
        loop {
            if let Some(nl) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=nl).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            if self.buf.len() >= self.max {
                return Err(Failure::Protocol("SMTP reply line too long".into()));
            }
            let mut chunk = [0u8; 512];
            let n = timed(step, Phase::Receive, async {
                s.read(&mut chunk)
                    .await
                    .map_err(|e| Failure::from_io(Phase::Receive, &e))
            })
            .await?;
            if n == 0 {
                return Err(Failure::NoData);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Read a (possibly multi-line) reply; returns its code (0 if malformed).
    async fn reply<S: AsyncRead + Unpin>(
        &mut self,
        s: &mut S,
        step: std::time::Duration,
    ) -> Result<u16, Failure> {
        for _ in 0..32 {
            let line = self.line(s, step).await?;
            match parse_reply_line(&line) {
                Some((code, true)) => return Ok(code),
                Some((_, false)) => continue,
                None => return Ok(0),
            }
        }
        Err(Failure::Protocol("too many SMTP continuation lines".into()))
    }
}

async fn send<S: AsyncWrite + Unpin>(
    s: &mut S,
    data: &[u8],
    step: std::time::Duration,
) -> Result<(), Failure> {
    timed(step, Phase::Send, async {
        s.write_all(data)
            .await
            .map_err(|e| Failure::from_io(Phase::Send, &e))
    })
    .await
}

pub(crate) async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    ctx: &CheckContext,
    co: &ConnOpts,
    s: &mut S,
    smtp: &SmtpCheck,
) -> Result<(), Failure> {
    let step = co.connect_timeout;
    let mut r = LineReader {
        buf: Vec::new(),
        max: ctx.limits.max_line_bytes.max(16),
    };
    let code = r.reply(s, step).await?;
    if code != 220 {
        return Err(Failure::Smtp {
            step: "banner",
            code,
        });
    }
    send(s, format!("HELO {}\r\n", smtp.helo_name).as_bytes(), step).await?;
    let code = r.reply(s, step).await?;
    if code != 250 {
        return Err(Failure::Smtp { step: "HELO", code });
    }
    send(s, b"QUIT\r\n", step).await?;
    r.line(s, step).await?;
    Ok(())
}

pub(crate) async fn check_smtp(
    ctx: &CheckContext,
    co: &ConnOpts,
    dst: SocketAddr,
    smtp: &SmtpCheck,
) -> Status {
    let mut stream = match tcp_connect(co, dst).await {
        Ok(s) => s,
        Err(f) => return Status::Down(f),
    };
    match converse(ctx, co, &mut stream, smtp).await {
        Ok(()) => Status::Up,
        Err(f) => Status::Down(f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves reply-line parsing: final vs continuation lines, malformed codes rejected.
    #[test]
    fn reply_lines() {
        assert_eq!(
            parse_reply_line(b"220 mail.example ESMTP"),
            Some((220, true))
        );
        assert_eq!(parse_reply_line(b"220-hello"), Some((220, false)));
        assert_eq!(parse_reply_line(b"250"), Some((250, true)));
        assert_eq!(parse_reply_line(b"250\r"), Some((250, true)));
        assert_eq!(parse_reply_line(b"25 ok"), None);
        assert_eq!(parse_reply_line(b"2500 ok"), None);
        assert_eq!(parse_reply_line(b""), None);
    }

    proptest::proptest! {
        // Proves reply-line parsing never panics and only returns codes below 1000.
        #[test]
        fn reply_parser_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            if let Some((code, _)) = parse_reply_line(&bytes) {
                proptest::prop_assert!(code < 1000);
            }
        }
    }

    // Proves the conversation against an in-memory server: multi-line banner accepted, the
    // HELO name is sent, a wrong HELO reply code fails with the step named.
    #[tokio::test]
    async fn conversation() {
        let ctx = CheckContext::new(crate::Limits::default()).unwrap();
        let co = ConnOpts::default();
        let smtp = SmtpCheck {
            helo_name: "checker.test".into(),
        };
        let (mut c, mut s) = tokio::io::duplex(4096);
        let srv = tokio::spawn(async move {
            s.write_all(b"220-first\r\n220 ready\r\n").await.unwrap();
            let mut b = [0u8; 100];
            let n = s.read(&mut b).await.unwrap();
            assert_eq!(&b[..n], b"HELO checker.test\r\n");
            s.write_all(b"250 hi\r\n").await.unwrap();
            let n = s.read(&mut b).await.unwrap();
            assert_eq!(&b[..n], b"QUIT\r\n");
            s.write_all(b"221 bye\r\n").await.unwrap();
        });
        converse(&ctx, &co, &mut c, &smtp).await.unwrap();
        srv.await.unwrap();

        let (mut c, mut s) = tokio::io::duplex(4096);
        tokio::spawn(async move {
            s.write_all(b"220 ready\r\n").await.unwrap();
            let mut b = [0u8; 100];
            let _ = s.read(&mut b).await;
            s.write_all(b"554 no\r\n").await.unwrap();
        });
        let e = converse(&ctx, &co, &mut c, &smtp).await.unwrap_err();
        assert_eq!(
            e,
            Failure::Smtp {
                step: "HELO",
                code: 554
            }
        );
    }
}
