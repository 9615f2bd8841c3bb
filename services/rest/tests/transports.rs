//! Item 42 over every transport the REST server offers: HTTP/1.1, h2c (prior
//! knowledge), TLS with h2 by ALPN, TLS with http/1.1 by ALPN.

mod common;

use common::{h1, h2c, TestServer};
use protolab_core::Item;
use reqwest::Version;

fn expected() -> serde_json::Value {
    serde_json::to_value(Item::generate(42, 42)).expect("item json")
}

#[tokio::test]
async fn item_42_is_the_same_over_every_transport() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let cases = [
        ("h1", h1(), srv.url("/items/42"), Version::HTTP_11),
        ("h2c", h2c(), srv.url("/items/42"), Version::HTTP_2),
        (
            "tls-h2",
            srv.tls_client(&[b"h2", b"http/1.1"])?,
            srv.tls_url("/items/42"),
            Version::HTTP_2,
        ),
        (
            "tls-h1",
            srv.tls_client(&[b"http/1.1"])?,
            srv.tls_url("/items/42"),
            Version::HTTP_11,
        ),
    ];
    for (name, client, url, version) in cases {
        let resp = client.get(&url).send().await?;
        assert_eq!(resp.status(), 200, "{name}");
        assert_eq!(resp.version(), version, "{name}");
        let body: serde_json::Value = resp.json().await?;
        assert_eq!(body, expected(), "{name}");
    }
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn tls_refuses_an_untrusted_client_and_keeps_serving() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    // A client that trusts nothing: the handshake fails on its side.
    let other = tempfile::tempdir()?;
    protolab_core::certs::write_to(other.path())?;
    let config = protolab_core::tls::client_config(&other.path().join("ca.crt"), None, &[b"h2"])?;
    let stranger = reqwest::Client::builder()
        .use_preconfigured_tls(rustls::ClientConfig::clone(&config))
        .resolve("localhost", srv.tls)
        .build()?;
    assert!(stranger.get(srv.tls_url("/ping")).send().await.is_err());
    let ok = srv
        .tls_client(&[b"h2"])?
        .get(srv.tls_url("/ping"))
        .send()
        .await?;
    assert_eq!(ok.status(), 200);
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn admin_endpoints_report_health_and_metrics() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    h1().get(srv.url("/items/42")).send().await?;
    h1().get(srv.url("/items/999999")).send().await?;
    let admin = format!("http://{}", srv.admin);
    assert_eq!(
        h1().get(format!("{admin}/healthz")).send().await?.status(),
        200
    );
    assert_eq!(
        h1().get(format!("{admin}/readyz")).send().await?.status(),
        200
    );
    let metrics = h1()
        .get(format!("{admin}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        metrics.contains(r#"protolab_requests_total{op="/items/{id}",status="200"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"protolab_requests_total{op="/items/{id}",status="404"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("protolab_open_connections"), "{metrics}");
    // The check is blocking (it runs in distroless images with no runtime): keep it
    // off this test's only runtime thread, which also runs the server.
    let port = srv.admin.port();
    let check = tokio::task::spawn_blocking(move || {
        protolab_core::healthcheck::check(port, std::time::Duration::from_secs(2))
    });
    assert!(check.await?.is_ok());
    srv.stop().await;
    Ok(())
}
