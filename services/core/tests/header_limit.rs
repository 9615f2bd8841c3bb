//! The request header cap of the shared HTTP serving path (`serve::serve_http`):
//! HTTP/1.1 answers 431 and closes, HTTP/2 answers 431 on the stream and keeps the
//! connection; the cap follows `--max-header-bytes`; others are served meanwhile.

#[path = "support/headers.rs"]
mod headers;

use std::time::Duration;

use axum::routing::get;
use axum::Router;
use headers::{h1_get, BIG_HEADER};
use protolab_core::serve::DEFAULT_MAX_HEADER_BYTES;
use protolab_core::server::{start_in_process, InProcess};
use protolab_core::{Ports, ServerArgs, ServerSpec};

/// Longest an h2c request waits.
const STEP: Duration = Duration::from_secs(10);

const SPEC: ServerSpec = ServerSpec {
    name: "headers",
    ports: Ports {
        plain: 0,
        tls: 0,
        admin: 0,
    },
    alpn: protolab_core::tls::ALPN_H2_H1,
    http2_only: false,
    constants: &[],
};

async fn start(
    dir: &tempfile::TempDir,
    tune: impl FnOnce(&mut ServerArgs),
) -> anyhow::Result<InProcess> {
    let app = |_| Router::new().route("/ping", get(|| async { "pong" }));
    Ok(start_in_process(&SPEC, dir.path(), 10, tune, app).await?)
}

#[tokio::test]
async fn h1_oversized_headers_get_431_and_a_closed_connection() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let srv = start(&dir, |_| {}).await?;
    let big = h1_get(srv.plain, "/ping", BIG_HEADER, false).await?;
    assert_eq!(big.status, 431);
    assert!(big.closed().await, "connection left open after 431");
    // Just over the cap is refused too; well under it is served, on new connections.
    let over = h1_get(srv.plain, "/ping", DEFAULT_MAX_HEADER_BYTES, false).await?;
    assert_eq!(over.status, 431);
    let ok = h1_get(srv.plain, "/ping", DEFAULT_MAX_HEADER_BYTES / 2, false).await?;
    assert_eq!(ok.status, 200);
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn h2_oversized_headers_are_refused_and_the_connection_serves_on() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let srv = start(&dir, |_| {}).await?;
    let url = format!("http://{}/ping", srv.plain);
    // Over the cap: a 431 on that stream; the connection serves the next request
    // (still the one connection the server ever accepted).
    let client = reqwest::Client::builder().http2_prior_knowledge().build()?;
    let over = headers::header_value(DEFAULT_MAX_HEADER_BYTES + 4096);
    let refused = client.get(&url).header("x-big", over).send().await?;
    assert_eq!(refused.status(), 431);
    assert_eq!(client.get(&url).send().await?.status(), 200);
    let accepted = srv.state.metrics.encode();
    assert!(
        accepted.lines().any(|l| l.ends_with("connections_total 1")),
        "{accepted}"
    );
    // Far over it (h2 treats 4x as abuse): the connection is refused with GOAWAY;
    // a new one is served.
    let big = h2c_get(&url, BIG_HEADER).await?;
    assert!(big.is_err(), "80 KB header answered: {big:?}");
    assert_eq!(h2c_get(&url, 1024).await?.ok(), Some(200));
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn the_cap_follows_max_header_bytes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let srv = start(&dir, |a| a.max_header_bytes = 64 * 1024).await?;
    let url = format!("http://{}/ping", srv.plain);
    let h1 = h1_get(srv.plain, "/ping", 32 * 1024, false).await?;
    assert_eq!(h1.status, 200);
    assert_eq!(h2c_get(&url, 32 * 1024).await?.ok(), Some(200));
    assert_eq!(
        h1_get(srv.plain, "/ping", BIG_HEADER, false).await?.status,
        431
    );
    srv.stop().await;
    Ok(())
}

/// An h2c (prior knowledge) request with an `x-big` header of `len` bytes on a
/// fresh connection: the status, or the error that refused it.
pub async fn h2c_get(url: &str, len: usize) -> anyhow::Result<Result<u16, reqwest::Error>> {
    let client = reqwest::Client::builder().http2_prior_knowledge().build()?;
    let sent = tokio::time::timeout(
        STEP,
        client
            .get(url)
            .header("x-big", headers::header_value(len))
            .send(),
    )
    .await?;
    Ok(sent.map(|r| r.status().as_u16()))
}
