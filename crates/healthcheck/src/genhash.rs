//! genhash (`keepalived -T` / `genhash`): fetch a URL the way HTTP_GET/SSL_GET does and print the
//! MD5 of its body as lower-case hex plus a newline (check_genhash.c / `http_handle_response`).
//!
//! The digest is computed exactly like the checker's (see [`crate::http`]): raw body bytes after
//! the head, up to Content-Length. The status code is not checked (keepalived prints the digest
//! whatever the status). keepalived's default timeout is unbounded; ours defaults to 5 s.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::checker::{ConnOpts, HttpProtocol};
use crate::http::{fetch, FetchSpec};
use crate::result::Failure;
use crate::{CheckContext, Error};

/// What to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenhashOpts {
    /// `-s`: server address.
    pub server: IpAddr,
    /// `-p`: port.
    pub port: u16,
    /// `-u`: url path.
    pub url: String,
    /// `-S`: TLS.
    pub ssl: bool,
    /// `-I`: send SNI (the virtualhost).
    pub sni: bool,
    /// `-V`: virtualhost (Host header).
    pub virtualhost: Option<String>,
    /// `-P`: 1.0 / 1.0c / 1.1.
    pub protocol: HttpProtocol,
    /// `-m`: SO_MARK.
    pub fwmark: Option<u32>,
    /// `-t`: timeout (per step, like connect_timeout).
    pub timeout: Duration,
    /// `-v`: verbose output.
    pub verbose: bool,
}

/// The fetched digest and details for verbose output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenhashOutput {
    /// MD5 of the body.
    pub digest: [u8; 16],
    /// Status code (not checked).
    pub status: u16,
    /// Raw head.
    pub head: Vec<u8>,
    /// Body bytes digested.
    pub body_bytes: u64,
    /// Time taken.
    pub elapsed: Duration,
}

impl GenhashOutput {
    /// Lower-case hex digest (what genhash prints, without the newline).
    pub fn hex(&self) -> String {
        self.digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// genhash's output: the hex digest and a newline; in verbose mode preceded by the head and
    /// followed by the response time, as keepalived prints them (without its hex dumps).
    pub fn render(&self, opts: &GenhashOpts) -> String {
        if !opts.verbose {
            return format!("{}\n", self.hex());
        }
        format!(
            "-----------------------[    HTTP Header Ascii    ]-----------------------\n{}\n\
             -----------------------[ HTML MD5 final resulting ]-----------------------\n{}\n\n\
             Global response time for [{}] = {} usecs\n",
            String::from_utf8_lossy(&self.head),
            self.hex(),
            opts.url,
            self.elapsed.as_micros()
        )
    }
}

/// Fetch `opts.url` and digest its body. Errors when nothing usable came back (keepalived
/// prints "no data received from remote webserver" then).
pub async fn fetch_digest(opts: &GenhashOpts) -> Result<GenhashOutput, Error> {
    let ctx = CheckContext::shared()?;
    fetch_digest_with(&ctx, opts).await
}

/// [`fetch_digest`] with an explicit context (limits, TLS config).
pub async fn fetch_digest_with(
    ctx: &CheckContext,
    opts: &GenhashOpts,
) -> Result<GenhashOutput, Error> {
    let start = Instant::now();
    let co = ConnOpts {
        fwmark: opts.fwmark,
        connect_timeout: opts.timeout,
        ..ConnOpts::default()
    };
    let dst = SocketAddr::new(opts.server, opts.port);
    let sni = if opts.sni {
        opts.virtualhost.as_deref()
    } else {
        None
    };
    let spec = FetchSpec {
        path: &opts.url,
        protocol: opts.protocol,
        vhost: opts.virtualhost.as_deref(),
        tls: if opts.ssl { Some(sni) } else { None },
        digest_body: true,
        regex: None,
        // genhash ends its TLS session properly, as before.
        close_notify: true,
    };
    let total = ctx.limits.total_timeout(opts.timeout);
    let res = match tokio::time::timeout(total, fetch(ctx, &co, dst, &spec)).await {
        Ok(r) => r,
        Err(_) => Err(Failure::Timeout(crate::Phase::Total)),
    };
    let url = format!("{dst}{}", opts.url);
    let resp = res.map_err(|failure| Error::Genhash {
        url: url.clone(),
        failure,
    })?;
    let digest = resp.digest.ok_or(Error::Genhash {
        url,
        failure: Failure::NoData,
    })?;
    Ok(GenhashOutput {
        digest,
        status: resp.status,
        head: resp.head,
        body_bytes: resp.body_bytes,
        elapsed: start.elapsed(),
    })
}

/// keepalived's usage text (`am_genhash`: invoked as `genhash` rather than `keepalived`).
pub fn usage(prog: &str, am_genhash: bool) -> String {
    format!(
        "Usage: {prog}{} COMMAND [OPTIONS]\n\
         Commands:\n   -s server-address -p port -u url\n   -S -s server-address -p port -u url\n   -h\n\n\
         Options:\n\
         Either long or short options are allowed.\n\
         \x20  --use-ssl         -S       Use SSL connection to remote server.\n\
         \x20  --use-sni         -I       Use SNI during SSL handshake (uses virtualhost setting; see -V).\n\
         \x20  --server          -s       Use the specified remote server address.\n\
         \x20  --port            -p       Use the specified remote server port.\n\
         \x20  --url             -u       Use the specified remote server url.\n\
         \x20  --use-virtualhost -V       Use the specified virtualhost in GET query.\n\
         \x20  --verbose         -v       Use verbose mode output.\n\
         \x20  --help            -h       Display this short inlined help screen.\n\
         \x20  --fwmark          -m       Use the specified FW mark.\n\
         \x20  --protocol        -P       Use the specified HTTP protocol - '1.0', 1.0c', '1.1'.\n\
         \x20                               1.0c means 1.0 with 'Connection: close'\n\
         \x20  --timeout         -t       Timeout in seconds\n",
        if am_genhash { "" } else { " --genhash" }
    )
}

fn bad(what: &'static str, value: &str) -> Error {
    Error::Invalid {
        what,
        value: value.to_string(),
    }
}

/// Parse genhash's options (getopt_long style: `-s ADDR`, `-sADDR`, `-Sv`, `--server ADDR`,
/// `--server=ADDR`). `args` excludes the program name (and `-T`/`--genhash` for keepalived).
/// `-h` is reported as `Error::Invalid { what: "help", .. }`; server, port and url are required.
pub fn parse_args<S: AsRef<str>>(args: &[S]) -> Result<GenhashOpts, Error> {
    let mut server = None;
    let mut port = None;
    let mut url = None;
    let mut o = GenhashOpts {
        server: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        port: 0,
        url: String::new(),
        ssl: false,
        sni: false,
        virtualhost: None,
        protocol: HttpProtocol::Http10,
        fwmark: None,
        timeout: Duration::from_secs(5),
        verbose: false,
    };
    let long = |name: &str| -> Option<(char, bool)> {
        Some(match name {
            "help" => ('h', false),
            "verbose" => ('v', false),
            "use-ssl" => ('S', false),
            "use-sni" => ('I', false),
            "server" => ('s', true),
            "use-virtualhost" => ('V', true),
            "port" => ('p', true),
            "url" => ('u', true),
            "fwmark" => ('m', true),
            "protocol" => ('P', true),
            "timeout" => ('t', true),
            _ => return None,
        })
    };
    let takes_arg = |c: char| matches!(c, 's' | 'V' | 'p' | 'u' | 'm' | 'P' | 't');
    let mut opts: Vec<(char, Option<String>)> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_ref();
        i += 1;
        if let Some(rest) = a.strip_prefix("--") {
            let (name, inline) = match rest.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (rest, None),
            };
            let (c, needs) = long(name).ok_or_else(|| bad("option", a))?;
            let val = if needs {
                match inline {
                    Some(v) => Some(v),
                    None => {
                        let v = args
                            .get(i)
                            .ok_or_else(|| bad("missing parameter for option", a))?;
                        i += 1;
                        Some(v.as_ref().to_string())
                    }
                }
            } else {
                None
            };
            opts.push((c, val));
        } else if let Some(flags) = a.strip_prefix('-').filter(|f| !f.is_empty()) {
            let chars: Vec<char> = flags.chars().collect();
            let mut j = 0;
            while j < chars.len() {
                let c = chars[j];
                j += 1;
                if !"hvSIsVpumPt".contains(c) {
                    return Err(bad("option", &format!("-{c}")));
                }
                if takes_arg(c) {
                    let val = if j < chars.len() {
                        let v: String = chars[j..].iter().collect();
                        j = chars.len();
                        v
                    } else {
                        let v = args
                            .get(i)
                            .ok_or_else(|| bad("missing parameter for option", &format!("-{c}")))?;
                        i += 1;
                        v.as_ref().to_string()
                    };
                    opts.push((c, Some(val)));
                } else {
                    opts.push((c, None));
                }
            }
        } else {
            return Err(bad("unexpected argument", a));
        }
    }
    for (c, v) in opts {
        let v = v.unwrap_or_default();
        match c {
            'h' => return Err(bad("help", "-h")),
            'v' => o.verbose = true,
            'S' => o.ssl = true,
            'I' => o.sni = true,
            's' => {
                server = Some(
                    v.trim()
                        .parse::<IpAddr>()
                        .map_err(|_| bad("server (must be an IP)", &v))?,
                )
            }
            'V' => o.virtualhost = Some(v),
            'p' => {
                let p: u16 = v.parse().map_err(|_| bad("port number", &v))?;
                if p == 0 {
                    return Err(bad("port number", &v));
                }
                port = Some(p);
            }
            'u' => url = Some(v),
            'm' => o.fwmark = Some(v.trim_start().parse().map_err(|_| bad("fwmark", &v))?),
            'P' => {
                o.protocol = match v.as_str() {
                    "1.0" => HttpProtocol::Http10,
                    "1.0c" | "1.0C" => HttpProtocol::Http10Close,
                    "1.1" => HttpProtocol::Http11,
                    _ => return Err(bad("HTTP protocol version", &v)),
                }
            }
            't' => {
                let secs: u64 = v.trim_start().parse().map_err(|_| bad("timeout", &v))?;
                o.timeout = Duration::from_secs(secs);
            }
            _ => return Err(bad("option", &format!("-{c}"))),
        }
    }
    o.server = server.ok_or_else(|| bad("arguments", "-s server is required"))?;
    o.port = port.ok_or_else(|| bad("arguments", "-p port is required"))?;
    o.url = url.ok_or_else(|| bad("arguments", "-u url is required"))?;
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves getopt-style parsing of every genhash option, short, bundled, attached and long.
    #[test]
    fn parse_options() {
        let o = parse_args(&["-s", "10.0.0.2", "-p", "80", "-u", "/index.html"]).unwrap();
        assert_eq!(o.server, "10.0.0.2".parse::<IpAddr>().unwrap());
        assert_eq!(
            (o.port, o.url.as_str(), o.ssl, o.protocol),
            (80, "/index.html", false, HttpProtocol::Http10)
        );
        let o = parse_args(&[
            "-SIv",
            "-s10.0.0.3",
            "--port=443",
            "--url",
            "/",
            "-V",
            "www.test",
            "-P",
            "1.0c",
            "-t",
            "3",
            "-m",
            "7",
        ])
        .unwrap();
        assert!(o.ssl && o.sni && o.verbose);
        assert_eq!(o.port, 443);
        assert_eq!(o.virtualhost.as_deref(), Some("www.test"));
        assert_eq!(o.protocol, HttpProtocol::Http10Close);
        assert_eq!(o.timeout, Duration::from_secs(3));
        assert_eq!(o.fwmark, Some(7));
        assert!(parse_args(&["-s", "10.0.0.2", "-p", "80"]).is_err());
        assert!(parse_args(&["-s", "host.name", "-p", "80", "-u", "/"]).is_err());
        assert!(parse_args(&["-s", "10.0.0.2", "-p", "0", "-u", "/"]).is_err());
        assert!(parse_args(&["-s", "10.0.0.2", "-p", "80", "-u", "/", "-P", "2"]).is_err());
        assert!(parse_args(&["-x"]).is_err());
        assert!(parse_args(&["-s"]).is_err());
        assert!(parse_args(&["-s", "10.0.0.2", "-p", "80", "-u", "/", "extra"]).is_err());
        assert!(matches!(
            parse_args(&["-h"]),
            Err(Error::Invalid { what: "help", .. })
        ));
    }
}
