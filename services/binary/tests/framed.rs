//! The framed protocol (reference/003) on its own port: 100 pipelined requests
//! answered in order, the close frame, bad input.

mod common;

use bytes::{Bytes, BytesMut};
use common::{start, unlimited, FramedClient};
use protolab_core::Item;
use protolab_wire::framed::{EchoData, Frame, FrameKind, Request, RequestOp};
use serde_json::{json, Value};

fn op(i: u64) -> RequestOp {
    match i % 5 {
        0 => RequestOp::Ping,
        1 => RequestOp::GetItem {
            id: (i % 100 + 1) as i64,
        },
        2 => RequestOp::Echo {
            data: EchoData(Bytes::from(format!("m{i}\u{e9}"))),
        },
        3 => RequestOp::Score {
            json: format!("[{i}, {i}]"),
        },
        _ => RequestOp::ListItems {
            offset: i as i64,
            limit: Some(3),
            category: None,
        },
    }
}

fn expected(i: u64) -> Value {
    let item = |id: i64| serde_json::to_value(Item::generate(42, id)).expect("item serialises");
    match i % 5 {
        0 => Value::Null,
        1 => item((i % 100 + 1) as i64),
        2 => EchoData(Bytes::from(format!("m{i}\u{e9}"))).to_value(),
        3 => json!(i as f64),
        _ => Value::Array((1..=3).map(|k| item(i as i64 + k)).collect()),
    }
}

#[tokio::test]
async fn hundred_pipelined_requests_answered_in_order() -> anyhow::Result<()> {
    let t = start(unlimited()).await?;
    let mut c = FramedClient::connect(t.srv.framed).await?;
    let mut out = BytesMut::new();
    for i in 0..100 {
        Request { op: op(i), req: i }.encode(&mut out)?;
    }
    Frame::close().encode(&mut out)?;
    c.send_raw(&out).await?;
    for i in 0..100 {
        let r = c.response().await?;
        assert_eq!(r.req, i);
        assert_eq!(r.into_result(), Ok(expected(i)), "request {i}");
    }
    let close = c
        .frame()
        .await?
        .ok_or_else(|| anyhow::anyhow!("no close frame"))?;
    assert_eq!(close.kind, FrameKind::Close);
    assert!(c.frame().await?.is_none(), "closed after the close frame");
    t.srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn bad_json_and_unknown_type_are_answered_and_bad_magic_closes() -> anyhow::Result<()> {
    let t = start(unlimited()).await?;
    let mut c = FramedClient::connect(t.srv.framed).await?;
    let mut out = BytesMut::new();
    Frame::new(
        FrameKind::Request,
        Bytes::from_static(br#"{"op":"nope","req":3}"#),
    )
    .encode(&mut out)?;
    c.send_raw(&out).await?;
    let r = c.response().await?;
    assert_eq!((r.req, r.ok), (3, false));
    assert_eq!(r.code.as_deref(), Some("bad_request"));
    // Unknown type word 9: answered, stream continues.
    let mut raw = vec![0x12, 0x34, 0x56, 0x78, 0, 0, 0, 9, 0, 0, 0, 0];
    c.send_raw(&raw).await?;
    let r = c.response().await?;
    assert_eq!((r.ok, r.code.as_deref()), (false, Some("unknown_type")));
    let mut ok = BytesMut::new();
    Request {
        op: RequestOp::GetItem { id: 999_999 },
        req: 4,
    }
    .encode(&mut ok)?;
    c.send_raw(&ok).await?;
    let r = c.response().await?;
    assert_eq!((r.req, r.ok), (4, false), "not found is a failure response");
    assert_eq!(r.code.as_deref(), Some("not_found"));
    raw.clear();
    raw.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
    c.send_raw(&raw).await?;
    assert!(!c.response().await?.ok);
    assert!(c.frame().await?.is_none());
    t.srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn oversized_length_is_refused_before_the_payload() -> anyhow::Result<()> {
    let t = start(protolab_binary::BinaryConfig {
        framed_max_payload: 1024,
        ..unlimited()
    })
    .await?;
    let mut c = FramedClient::connect(t.srv.framed).await?;
    c.send_raw(&[0x12, 0x34, 0x56, 0x78, 0, 0, 0, 1, 0x7F, 0xFF, 0xFF, 0xFF])
        .await?;
    let r = c.response().await?;
    assert_eq!((r.ok, r.code.as_deref()), (false, Some("frame_too_large")));
    assert!(c.frame().await?.is_none());
    t.srv.stop().await;
    Ok(())
}
