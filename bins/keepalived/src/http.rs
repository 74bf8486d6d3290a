//! The opt-in observability endpoint (keepalived-rs extension): `GET /metrics` (Prometheus
//! text) and `GET /status` (JSON), served by hyper on the parent. Off unless
//! `--metrics-listen ADDR` or `global_defs { metrics_listen ADDR }`; a bare port binds
//! 127.0.0.1.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

use crate::metrics::{render, Status};
use crate::supervisor::SharedRef;
use crate::{cli, error, info};

/// `ADDR` as given: `IP:PORT`, `[IPv6]:PORT`, or `PORT` (loopback).
pub fn parse_listen(s: &str) -> Option<SocketAddr> {
    conf_parse::parse_metrics_listen(s)
}

async fn status(shared: &SharedRef) -> Status {
    let (parent, links) = match shared.lock() {
        Ok(sh) => (sh.parent.clone(), sh.links.clone()),
        Err(_) => Default::default(),
    };
    let mut st = Status {
        implementation: "keepalived-rs".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        parent,
        workers: Default::default(),
    };
    for (name, link) in links {
        if let Some(m) = link.metrics(Duration::from_millis(500)).await {
            st.workers.insert(name, m);
        }
    }
    st
}

async fn handle(
    shared: SharedRef,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let reply = |code: StatusCode, ctype: &str, body: String| {
        let mut r = Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = code;
        if let Ok(v) = ctype.parse() {
            r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
        }
        r
    };
    if req.method() != hyper::Method::GET {
        return Ok(reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "GET only\n".into(),
        ));
    }
    Ok(match req.uri().path() {
        "/metrics" => reply(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            render(&status(&shared).await),
        ),
        "/status" => reply(
            StatusCode::OK,
            "application/json",
            serde_json::to_string_pretty(&status(&shared).await).unwrap_or_default(),
        ),
        _ => reply(
            StatusCode::NOT_FOUND,
            "text/plain",
            format!("{}: /metrics or /status\n", cli::version_string()),
        ),
    })
}

/// Bind and serve in the background. Errors are logged (the daemon keeps running).
pub async fn spawn(addr: SocketAddr, shared: SharedRef) {
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            error!("metrics endpoint: cannot listen on {addr}: {e}");
            return;
        }
    };
    info!("metrics endpoint listening on http://{addr}/metrics");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let shared = shared.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| handle(shared.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(5))
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
}
