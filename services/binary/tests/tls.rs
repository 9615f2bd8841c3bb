//! NET-001 over TLS 1.3 (rustls on both ends, the lab CA), and the admin endpoints.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{start, start_with, unlimited, Client};
use protolab_core::{tls, Item};
use protolab_wire::net001::{DataRequest, DataResponse, Frame};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

#[tokio::test]
async fn net001_over_tls() -> anyhow::Result<()> {
    let t = start(unlimited()).await?;
    let config = tls::client_config(&t.dir.path().join("ca.crt"), None, &[])?;
    let tcp = TcpStream::connect(t.srv.tls).await?;
    let stream = TlsConnector::from(Arc::clone(&config))
        .connect(ServerName::try_from("localhost")?.to_owned(), tcp)
        .await?;
    let (_, session) = stream.get_ref();
    assert_eq!(
        session.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    let mut c = Client::new(stream);
    c.ping(77).await?;
    c.send(&[Frame::Echo(Bytes::from_static(b"secret"))])
        .await?;
    assert_eq!(
        c.frame().await?,
        Frame::EchoReply(Bytes::from_static(b"secret"))
    );
    c.send_data(&DataRequest::GetItem { req_id: 1, id: 42 })
        .await?;
    let json = Bytes::from(serde_json::to_vec(&Item::generate(42, 42))?);
    assert_eq!(c.data().await?, DataResponse::Item { req_id: 1, json });
    t.srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn score_delay_keeps_order_and_admin_reports_json_metrics() -> anyhow::Result<()> {
    let t = start_with(unlimited(), |a| a.delay_ms = 50).await?;
    let mut c = common::connect(t.srv.plain).await?;
    let mut out = bytes::BytesMut::new();
    for i in 0..20u32 {
        DataRequest::Score {
            req_id: i,
            json: Bytes::from(format!("[{i}]")),
        }
        .encode_frame(&mut out)?;
        Frame::Ping {
            timestamp_us: u64::from(i),
        }
        .encode(&mut out)?;
    }
    let started = std::time::Instant::now();
    c.send_raw(&out).await?;
    for i in 0..20u32 {
        assert_eq!(
            c.data().await?,
            DataResponse::Score {
                req_id: i,
                score: f64::from(i)
            }
        );
        assert_eq!(
            c.frame().await?,
            Frame::Pong {
                timestamp_us: u64::from(i)
            }
        );
    }
    // The 20 delays ran concurrently, not one after another (20 × 50 ms).
    assert!(started.elapsed() < Duration::from_millis(900));

    let base = format!("http://{}", t.srv.admin);
    let http = reqwest::Client::new();
    assert!(http
        .get(format!("{base}/readyz"))
        .send()
        .await?
        .status()
        .is_success());
    let m: serde_json::Value = http
        .get(format!("{base}/metrics?format=json"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(m["server"], "binary");
    assert_eq!(m["open_connections"], 1);
    assert!(m["messages_total"].as_u64() >= Some(40), "{m}");
    assert!(m["rss_bytes"].as_u64() > Some(0));
    // The server's own CPU clock: it has served 40 messages over TLS by now.
    assert!(m["cpu_seconds"].as_f64() > Some(0.0), "{m}");
    for key in ["messages_per_sec", "avg_latency_us", "error_rate"] {
        assert!(m[key].is_number(), "{key} in {m}");
    }
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        text.contains(r#"protolab_requests_total{op="ping",status="200"} 20"#),
        "{text}"
    );
    t.srv.stop().await;
    Ok(())
}
