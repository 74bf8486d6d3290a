//! HTTP_GET / SSL_GET.
//!
//! The exchange is the one keepalived performs (check_http.c, lib/html.c), not a general HTTP
//! client, so digests match keepalived's and `genhash`'s byte for byte:
//!
//! * request: `GET <path> HTTP/1.<0|1>\r\nUser-Agent: KeepAliveClient\r\n[Connection: close\r\n]
//!   Host: <vhost | ip:port | [ip6]:port>\r\n\r\n`;
//! * the head ends at the first `\r\n\r\n`; the status code is the 3 digits after the first space
//!   of the status line (followed by a space); `Content-Length:` gives the body length;
//! * the digest is the MD5 of the raw bytes after the head, up to Content-Length when present,
//!   else up to EOF. Chunked bodies are digested *with* their chunk framing, as keepalived does
//!   (so a digest made by keepalived's genhash matches ours).
//!
//! Differences, all for bounded time and memory: the head is limited to
//! `Limits::max_header_bytes` (keepalived: 4 KiB buffer), the body to `Limits::max_body_bytes`
//! (only read when a digest is needed: without one the verdict is known from the status line),
//! reading stops once Content-Length bytes arrived (keepalived waits for EOF), and each read is
//! bounded by connect_timeout while the whole check is bounded by `Limits::total_timeout`
//! (slowloris servers fail).

use std::net::SocketAddr;

use md5::{Digest, Md5};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::body_regex::UrlRegex;
use crate::checker::{ConnOpts, HttpCheck, HttpProtocol};
use crate::net::{tcp_connect, timed};
use crate::result::{Failure, Phase, Status};
use crate::CheckContext;

/// How to fetch one url.
#[derive(Debug, Clone)]
pub struct FetchSpec<'a> {
    /// Request target.
    pub path: &'a str,
    /// Protocol variant.
    pub protocol: HttpProtocol,
    /// Host header value without port (None: `ip:port`).
    pub vhost: Option<&'a str>,
    /// TLS: `Some(sni)` for SSL_GET (`sni` = name to send, None = no SNI); None = plain HTTP.
    pub tls: Option<Option<&'a str>>,
    /// Read and digest the body.
    pub digest_body: bool,
    /// Search the body with the url's regex.
    pub regex: Option<&'a UrlRegex>,
    /// TLS: end the session with a close_notify alert (SSL_GET `tls_compliant`); else drop
    /// it quietly.
    pub close_notify: bool,
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code (0 when the status line is not parsable, as keepalived).
    pub status: u16,
    /// The raw head (status line + headers + blank line).
    pub head: Vec<u8>,
    /// Content-Length, if present and parsable.
    pub content_length: Option<u64>,
    /// Body bytes received (counted up to Content-Length).
    pub body_bytes: u64,
    /// MD5 of the body (when `digest_body`).
    pub digest: Option<[u8; 16]>,
    /// The url regex's verdict (when `FetchSpec::regex`): true when the url's condition holds
    /// (the body matches, or does not with `regex_no_match`).
    pub regex_ok: Option<bool>,
}

/// Build keepalived's request text.
pub fn build_request(
    path: &str,
    protocol: HttpProtocol,
    vhost: Option<&str>,
    dst: SocketAddr,
) -> String {
    let minor = if protocol == HttpProtocol::Http11 {
        1
    } else {
        0
    };
    let close = if protocol == HttpProtocol::Http10 {
        ""
    } else {
        "Connection: close\r\n"
    };
    let host = match vhost {
        Some(v) => v.to_string(),
        None => match dst {
            SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
            SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
        },
    };
    format!(
        "GET {path} HTTP/1.{minor}\r\nUser-Agent: KeepAliveClient\r\n{close}Host: {host}\r\n\r\n"
    )
}

/// Offset just past the first `\r\n\r\n`.
pub fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// keepalived's `extract_status_code`: skip to the first space of the first line, then exactly
/// three digits followed by a space. 0 when malformed.
pub fn parse_status(head: &[u8]) -> u16 {
    let Some(sp) = head.iter().position(|&b| b == b' ' || b == b'\r') else {
        return 0;
    };
    if head.get(sp) != Some(&b' ') {
        return 0;
    }
    let rest = &head[sp + 1..];
    if rest.len() < 4 || rest[3] != b' ' {
        return 0;
    }
    let d = &rest[..3];
    if !d.iter().all(u8::is_ascii_digit) {
        return 0;
    }
    d.iter().fold(0u16, |acc, b| acc * 10 + u16::from(b - b'0'))
}

/// `Content-Length:` value (header name matched case-insensitively; keepalived matches the exact
/// spelling). None when absent or not a plain number followed by end of line.
pub fn content_length(head: &[u8]) -> Option<u64> {
    for line in head.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        if !line[..colon].eq_ignore_ascii_case(b"content-length") {
            continue;
        }
        let v = std::str::from_utf8(&line[colon + 1..]).ok()?.trim();
        return v.parse::<u64>().ok();
    }
    None
}

fn io_fail(phase: Phase, e: &std::io::Error, tls: bool) -> Failure {
    if tls && e.kind() == std::io::ErrorKind::InvalidData {
        return Failure::Tls(e.to_string());
    }
    Failure::from_io(phase, e)
}

#[cfg(test)]
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    ctx: &CheckContext,
    co: &ConnOpts,
    s: &mut S,
    request: &[u8],
    digest_body: bool,
    tls: bool,
) -> Result<Response, Failure> {
    exchange_with(ctx, co, s, request, digest_body, None, tls).await
}

/// The exchange; the body is read when a digest is needed or `regex` is given (then
/// `Response::regex_ok` holds the url's regex verdict), streamed through both within the limits.
async fn exchange_with<S: AsyncRead + AsyncWrite + Unpin>(
    ctx: &CheckContext,
    co: &ConnOpts,
    s: &mut S,
    request: &[u8],
    digest_body: bool,
    regex: Option<&UrlRegex>,
    tls: bool,
) -> Result<Response, Failure> {
    let step = co.connect_timeout;
    timed(step, Phase::Send, async {
        s.write_all(request)
            .await
            .map_err(|e| io_fail(Phase::Send, &e, tls))?;
        s.flush().await.map_err(|e| io_fail(Phase::Send, &e, tls))
    })
    .await?;

    let max_head = ctx.limits.max_header_bytes;
    let mut buf: Vec<u8> = Vec::with_capacity(2048);
    let mut chunk = vec![0u8; 8192];
    // Head.
    let head_end = loop {
        if let Some(end) = find_head_end(&buf) {
            break end;
        }
        if buf.len() > max_head {
            return Err(Failure::HeaderTooLarge);
        }
        let n = read_some(s, &mut chunk, step, tls).await?;
        if n == 0 {
            return Err(Failure::NoData);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    if head_end > max_head {
        return Err(Failure::HeaderTooLarge);
    }
    let head = buf[..head_end].to_vec();
    let status = parse_status(&head);
    let clen = content_length(&head);
    let mut resp = Response {
        status,
        head,
        content_length: clen,
        body_bytes: 0,
        digest: None,
        regex_ok: None,
    };
    let mut scan = match regex {
        Some(rx) => match rx.scanner(ctx.limits.regex_window_bytes) {
            Some(sc) => Some(sc),
            None => {
                return Err(Failure::RegexInvalid(
                    rx.error().unwrap_or_default().to_string(),
                ))
            }
        },
        None => None,
    };
    if !digest_body && scan.is_none() {
        return Ok(resp);
    }
    let mut md5 = Md5::new();
    let max_body = ctx.limits.max_body_bytes;
    let mut feed = |data: &[u8],
                    resp: &mut Response,
                    scan: &mut Option<crate::body_regex::Scan<'_>>|
     -> Result<bool, Failure> {
        let take = match clen {
            Some(cl) => usize::try_from(cl.saturating_sub(resp.body_bytes))
                .unwrap_or(usize::MAX)
                .min(data.len()),
            None => data.len(),
        };
        if digest_body {
            md5.update(&data[..take]);
        }
        if let Some(sc) = scan.as_mut() {
            sc.feed(&data[..take]);
        }
        resp.body_bytes += take as u64;
        // Without a digest, a decided regex needs no more of the body.
        let regex_done = !digest_body && scan.as_ref().is_some_and(|sc| sc.decided());
        if resp.body_bytes > max_body && !regex_done {
            return Err(Failure::BodyTooLarge);
        }
        Ok(regex_done || clen.is_some_and(|cl| resp.body_bytes >= cl))
    };
    let mut done = feed(&buf[head_end..], &mut resp, &mut scan)?;
    if !done && clen.is_some_and(|cl| cl > max_body) {
        return Err(Failure::BodyTooLarge);
    }
    while !done {
        let n = match read_some(s, &mut chunk, step, tls).await {
            Ok(n) => n,
            // A TLS peer closing without close_notify ends the body (keepalived sets quiet
            // shutdown and treats it as the end of the stream).
            Err(Failure::Network { .. }) if tls => 0,
            Err(f) => return Err(f),
        };
        if n == 0 {
            break;
        }
        done = feed(&chunk[..n], &mut resp, &mut scan)?;
    }
    if digest_body {
        resp.digest = Some(md5.finalize().into());
    }
    resp.regex_ok = scan.as_mut().map(|sc| sc.finish());
    Ok(resp)
}

async fn read_some<S: AsyncRead + Unpin>(
    s: &mut S,
    chunk: &mut [u8],
    step: std::time::Duration,
    tls: bool,
) -> Result<usize, Failure> {
    timed(step, Phase::Receive, async {
        match s.read(chunk).await {
            Ok(n) => Ok(n),
            Err(e) if tls && e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(0),
            Err(e) => Err(io_fail(Phase::Receive, &e, tls)),
        }
    })
    .await
}

/// Connect (TLS if asked), send keepalived's GET, read the response within the limits.
pub async fn fetch(
    ctx: &CheckContext,
    co: &ConnOpts,
    dst: SocketAddr,
    spec: &FetchSpec<'_>,
) -> Result<Response, Failure> {
    let request = build_request(spec.path, spec.protocol, spec.vhost, dst);
    let mut tcp = tcp_connect(co, dst).await?;
    match spec.tls {
        None => {
            exchange_with(
                ctx,
                co,
                &mut tcp,
                request.as_bytes(),
                spec.digest_body,
                spec.regex,
                false,
            )
            .await
        }
        Some(sni) => {
            let connector = tokio_rustls::TlsConnector::from(ctx.tls.clone());
            let name = crate::tls::server_name(sni, dst.ip());
            let mut tls = timed(co.connect_timeout, Phase::Tls, async {
                connector
                    .connect(name, tcp)
                    .await
                    .map_err(|e| Failure::Tls(e.to_string()))
            })
            .await?;
            let r = exchange_with(
                ctx,
                co,
                &mut tls,
                request.as_bytes(),
                spec.digest_body,
                spec.regex,
                true,
            )
            .await;
            // tls_compliant: a best-effort close_notify, never waited for long; else the
            // connection is closed without one (keepalived 2.4's quiet shutdown).
            if spec.close_notify {
                let _ = tokio::time::timeout(std::time::Duration::from_millis(50), tls.shutdown())
                    .await;
            }
            r
        }
    }
}

/// The Host header value keepalived would use for `url` of checker `h`.
fn vhost_for<'a>(h: &'a HttpCheck, url: &'a crate::checker::Url) -> Option<&'a str> {
    url.virtualhost.as_deref().or(h.virtualhost.as_deref())
}

/// The SNI keepalived would send: only with enable_sni (or sni_name): sni_name, else the url's
/// virtualhost, else the checker's.
fn sni_for<'a>(h: &'a HttpCheck, url: &'a crate::checker::Url) -> Option<&'a str> {
    if !h.enable_sni && h.sni_name.is_none() {
        return None;
    }
    h.sni_name
        .as_deref()
        .or(url.virtualhost.as_deref())
        .or(h.virtualhost.as_deref())
}

pub(crate) async fn check_http(
    ctx: &CheckContext,
    co: &ConnOpts,
    dst: SocketAddr,
    h: &HttpCheck,
    ssl: bool,
    urls: &[crate::checker::Url],
) -> Status {
    for url in urls {
        let spec = FetchSpec {
            path: &url.path,
            protocol: h.protocol,
            vhost: vhost_for(h, url),
            tls: if ssl { Some(sni_for(h, url)) } else { None },
            digest_body: url.digest.is_some(),
            regex: url.regex.as_ref(),
            close_notify: url.tls_compliant,
        };
        let resp = match fetch(ctx, co, dst, &spec).await {
            Ok(r) => r,
            Err(f) => return Status::Down(f),
        };
        if !url.accepts(resp.status) {
            return Status::Down(Failure::HttpStatus {
                path: url.path.clone(),
                status: resp.status,
            });
        }
        if let (Some(expected), Some(got)) = (url.digest, resp.digest) {
            if expected != got {
                return Status::Down(Failure::Digest {
                    path: url.path.clone(),
                    expected,
                    got,
                });
            }
        }
        if let (Some(rx), Some(false)) = (&url.regex, resp.regex_ok) {
            return Status::Down(Failure::Regex {
                path: url.path.clone(),
                no_match: rx.no_match,
            });
        }
    }
    Status::Up
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the request text is keepalived's template for each protocol / host variant.
    #[test]
    fn request_templates() {
        let v4: SocketAddr = "10.0.0.2:8080".parse().unwrap();
        assert_eq!(
            build_request("/x", HttpProtocol::Http10, None, v4),
            "GET /x HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 10.0.0.2:8080\r\n\r\n"
        );
        assert_eq!(
            build_request("/", HttpProtocol::Http11, Some("www.example.test"), v4),
            "GET / HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example.test\r\n\r\n"
        );
        let v6: SocketAddr = "[fd00::2]:80".parse().unwrap();
        assert_eq!(
            build_request("/", HttpProtocol::Http10Close, None, v6),
            "GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: [fd00::2]:80\r\n\r\n"
        );
    }

    // Proves status extraction follows keepalived's extract_status_code (3 digits between
    // spaces, else 0).
    #[test]
    fn status_line_parsing() {
        assert_eq!(parse_status(b"HTTP/1.0 200 OK\r\n\r\n"), 200);
        assert_eq!(parse_status(b"HTTP/1.1 404 \r\n"), 404);
        assert_eq!(parse_status(b"HTTP/1.1 200\r\n"), 0);
        assert_eq!(parse_status(b"HTTP/1.1 20x OK\r\n"), 0);
        assert_eq!(parse_status(b"HTTP/1.1\r\n 200 OK"), 0);
        assert_eq!(parse_status(b"garbage"), 0);
        assert_eq!(parse_status(b""), 0);
        assert_eq!(parse_status(b"HTTP/1.1  200 OK"), 0);
    }

    // Proves Content-Length parsing (case-insensitive name, plain number only) and head end.
    #[test]
    fn content_length_and_head_end() {
        let h = b"HTTP/1.0 200 OK\r\ncontent-length: 12\r\nX: y\r\n\r\nbody";
        assert_eq!(content_length(h), Some(12));
        assert_eq!(find_head_end(h), Some(h.len() - 4));
        assert_eq!(
            content_length(b"HTTP/1.0 200 OK\r\nContent-Length: 1x\r\n\r\n"),
            None
        );
        assert_eq!(content_length(b"HTTP/1.0 200 OK\r\n\r\n"), None);
        assert_eq!(find_head_end(b"HTTP/1.0 200 OK\r\n"), None);
    }

    proptest::proptest! {
        // Proves the head parsers never panic on arbitrary bytes, a parsed status has at most
        // three digits and the head end lies within the input.
        #[test]
        fn head_parsers_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let st = parse_status(&bytes);
            proptest::prop_assert!(st <= 999);
            let _ = content_length(&bytes);
            if let Some(end) = find_head_end(&bytes) {
                proptest::prop_assert!(end <= bytes.len());
            }
        }
    }

    // Proves the exchange over an in-memory stream: digest of the body truncated at
    // Content-Length, head limits, and "no data" when the head never completes.
    #[tokio::test]
    async fn exchange_in_memory() {
        let ctx = CheckContext::new(crate::Limits::default()).unwrap();
        let co = ConnOpts::default();
        let (mut client, mut server) = tokio::io::duplex(1 << 16);
        let srv = tokio::spawn(async move {
            let mut req = vec![0u8; 1024];
            let _ = server.read(&mut req).await.unwrap();
            server
                .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA")
                .await
                .unwrap();
        });
        let r = exchange(
            &ctx,
            &co,
            &mut client,
            b"GET / HTTP/1.0\r\n\r\n",
            true,
            false,
        )
        .await
        .unwrap();
        srv.await.unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body_bytes, 5);
        let want: [u8; 16] = Md5::digest(b"hello").into();
        assert_eq!(r.digest, Some(want));

        // Head larger than the limit.
        let small = CheckContext {
            limits: crate::Limits {
                max_header_bytes: 64,
                ..Default::default()
            },
            ..ctx.clone()
        };
        let (mut client, mut server) = tokio::io::duplex(1 << 16);
        tokio::spawn(async move {
            let mut req = vec![0u8; 1024];
            let _ = server.read(&mut req).await;
            let _ = server.write_all(&[b'a'; 4096]).await;
        });
        let e = exchange(&small, &co, &mut client, b"GET /\r\n\r\n", false, false)
            .await
            .unwrap_err();
        assert_eq!(e, Failure::HeaderTooLarge);

        // EOF before the head completes.
        let (mut client, mut server) = tokio::io::duplex(1 << 16);
        tokio::spawn(async move {
            let mut req = vec![0u8; 1024];
            let _ = server.read(&mut req).await;
            let _ = server.write_all(b"HTTP/1.0 200 OK\r\n").await;
        });
        let e = exchange(&ctx, &co, &mut client, b"GET /\r\n\r\n", false, false)
            .await
            .unwrap_err();
        assert_eq!(e, Failure::NoData);

        // Body larger than the limit while digesting.
        let tiny = CheckContext {
            limits: crate::Limits {
                max_body_bytes: 10,
                ..Default::default()
            },
            ..ctx.clone()
        };
        let (mut client, mut server) = tokio::io::duplex(1 << 16);
        tokio::spawn(async move {
            let mut req = vec![0u8; 1024];
            let _ = server.read(&mut req).await;
            let _ = server.write_all(b"HTTP/1.0 200 OK\r\n\r\n").await;
            let _ = server.write_all(&[b'x'; 100]).await;
        });
        let e = exchange(&tiny, &co, &mut client, b"GET /\r\n\r\n", true, false)
            .await
            .unwrap_err();
        assert_eq!(e, Failure::BodyTooLarge);
    }
}
