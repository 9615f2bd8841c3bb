//! Every NET-001 message type and DATA op against a real server on loopback, with
//! auth off: replies, order, MORE reassembly, download checksum, bad input.

mod common;

use bytes::{Bytes, BytesMut};
use common::{connect, encode, start, unlimited};
use protolab_core::contract::{pattern_crc32, UploadHasher};
use protolab_core::Item;
use protolab_wire::net001::{DataRequest, DataResponse, FailStatus, Frame};
use protolab_wire::ErrorCode;
use tokio::io::AsyncWriteExt;

fn item_json(id: i64) -> Bytes {
    Bytes::from(serde_json::to_vec(&Item::generate(42, id)).expect("item serialises"))
}

#[tokio::test]
async fn ping_echo_auth_and_pipelined_order() -> anyhow::Result<()> {
    let t = start(unlimited()).await?;
    let mut c = connect(t.srv.plain).await?;
    c.ping(1234).await?;
    let payload = Bytes::from(vec![7u8; 64]);
    c.send(&[Frame::Echo(payload.clone())]).await?;
    assert_eq!(c.frame().await?, Frame::EchoReply(payload));
    c.send(&[Frame::Auth {
        username: "anyone".into(),
        token: Bytes::from_static(b"x"),
    }])
    .await?;
    assert!(matches!(
        c.frame().await?,
        Frame::AuthReply { success: true, .. }
    ));

    // A slow op (dataset) between fast ones: answers still come back in order.
    let mut out = BytesMut::new();
    Frame::Ping { timestamp_us: 1 }.encode(&mut out)?;
    DataRequest::GetItem { req_id: 9, id: 42 }.encode_frame(&mut out)?;
    Frame::Echo(Bytes::from_static(b"after")).encode(&mut out)?;
    for i in 0..200u64 {
        Frame::Ping {
            timestamp_us: 100 + i,
        }
        .encode(&mut out)?;
    }
    c.send_raw(&out).await?;
    assert_eq!(c.frame().await?, Frame::Pong { timestamp_us: 1 });
    assert_eq!(
        c.data().await?,
        DataResponse::Item {
            req_id: 9,
            json: item_json(42)
        }
    );
    assert_eq!(
        c.frame().await?,
        Frame::EchoReply(Bytes::from_static(b"after"))
    );
    for i in 0..200u64 {
        assert_eq!(
            c.frame().await?,
            Frame::Pong {
                timestamp_us: 100 + i
            }
        );
    }
    t.srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn data_ops() -> anyhow::Result<()> {
    let t = start(unlimited()).await?;
    let mut c = connect(t.srv.plain).await?;
    c.send_data(&DataRequest::GetItem {
        req_id: 1,
        id: 999_999,
    })
    .await?;
    assert!(matches!(
        c.data().await?,
        DataResponse::Failed {
            req_id: 1,
            status: FailStatus::NotFound,
            ..
        }
    ));
    c.send_data(&DataRequest::Score {
        req_id: 2,
        json: Bytes::from_static(br#"{"v":[1,2,3]}"#),
    })
    .await?;
    assert_eq!(
        c.data().await?,
        DataResponse::Score {
            req_id: 2,
            score: 2.0
        }
    );
    c.send_data(&DataRequest::ListItems {
        req_id: 3,
        offset: 0,
        limit: 5000,
        category: None,
    })
    .await?;
    assert!(matches!(
        c.data().await?,
        DataResponse::Failed {
            req_id: 3,
            status: FailStatus::BadRequest,
            ..
        }
    ));
    // An undecodable DATA payload: BadRequest with the op and req_id it carried.
    c.send(&[Frame::Data(Bytes::from_static(&[0x01, 0, 0, 0, 4, 1]))])
        .await?;
    assert!(matches!(
        c.data().await?,
        DataResponse::Failed {
            op: 1,
            req_id: 4,
            status: FailStatus::BadRequest,
            ..
        }
    ));
    t.srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn list_items_1000_rows_reassembled_from_more_frames() -> anyhow::Result<()> {
    let t = start(unlimited()).await?;
    let mut c = connect(t.srv.plain).await?;
    c.send_data(&DataRequest::ListItems {
        req_id: 5,
        offset: 0,
        limit: 1000,
        category: None,
    })
    .await?;
    let (mut body, mut frames) = (Vec::new(), 0);
    loop {
        match c.data().await? {
            DataResponse::ListPart {
                req_id: 5,
                more,
                json,
            } => {
                body.extend_from_slice(&json);
                frames += 1;
                if !more {
                    break;
                }
            }
            other => anyhow::bail!("unexpected {other:?}"),
        }
    }
    assert!(frames > 1, "a 1000-row page spans several frames");
    let items: Vec<Item> = serde_json::from_slice(&body)?;
    let expected: Vec<Item> = (1..=1000).map(|id| Item::generate(42, id)).collect();
    assert_eq!(items, expected);
    t.srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn download_matches_pattern_crc() -> anyhow::Result<()> {
    let t = start(unlimited()).await?;
    let mut c = connect(t.srv.plain).await?;
    let size = 1_500_000u64;
    c.send_data(&DataRequest::Download {
        req_id: 6,
        size,
        chunk: 100_000,
    })
    .await?;
    let mut h = UploadHasher::default();
    loop {
        match c.data().await? {
            DataResponse::DownloadChunk {
                req_id: 6,
                more,
                data,
            } => {
                h.update(&data);
                if !more {
                    break;
                }
            }
            other => anyhow::bail!("unexpected {other:?}"),
        }
    }
    let sum = h.finish();
    assert_eq!((sum.bytes, sum.crc32), (size, pattern_crc32(size)));
    // Zero bytes: one empty final frame.
    c.send_data(&DataRequest::Download {
        req_id: 7,
        size: 0,
        chunk: 10,
    })
    .await?;
    assert_eq!(
        c.data().await?,
        DataResponse::DownloadChunk {
            req_id: 7,
            more: false,
            data: Bytes::new()
        }
    );
    t.srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn recoverable_errors_keep_the_connection() -> anyhow::Result<()> {
    let t = start(unlimited()).await?;
    let mut c = connect(t.srv.plain).await?;
    let mut bad_crc = BytesMut::from(&encode(&Frame::Ping { timestamp_us: 5 })[..]);
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 0xFF;
    c.send_raw(&bad_crc).await?;
    assert_eq!(c.error_code().await?, ErrorCode::BadCrc);
    // Unknown type 0x42 with a valid CRC.
    let mut unknown = BytesMut::from(&[0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x42, 0x00, 0x00][..]);
    let crc = crc32(&unknown);
    unknown.extend_from_slice(&crc.to_be_bytes());
    c.send_raw(&unknown).await?;
    assert_eq!(c.error_code().await?, ErrorCode::UnknownType);
    // A server-to-client type from a client.
    c.send(&[Frame::Pong { timestamp_us: 1 }]).await?;
    assert_eq!(c.error_code().await?, ErrorCode::BadRequest);
    c.ping(6).await?;
    t.srv.stop().await;
    Ok(())
}

fn crc32(b: &[u8]) -> u32 {
    let mut h = protolab_core::contract::UploadHasher::default();
    h.update(b);
    h.finish().crc32
}

#[tokio::test]
async fn bad_magic_and_version_get_an_error_then_close() -> anyhow::Result<()> {
    let t = start(unlimited()).await?;
    for (bytes, code) in [
        (&b"GET / HTTP/1.1\r\n\r\n"[..], ErrorCode::BadMagic),
        (
            &[0xDE, 0xAD, 0xBE, 0xEF, 0x02, 0x01, 0, 8][..],
            ErrorCode::BadVersion,
        ),
    ] {
        let mut c = connect(t.srv.plain).await?;
        c.send_raw(bytes).await?;
        assert_eq!(c.error_code().await?, code);
        assert!(c.until_eof().await?.is_empty());
    }
    // A truncated frame at EOF: the frames before it are answered, then close.
    let mut c = connect(t.srv.plain).await?;
    let mut raw = BytesMut::from(&encode(&Frame::Ping { timestamp_us: 3 })[..]);
    raw.extend_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF, 0x01]);
    c.send_raw(&raw).await?;
    c.io.shutdown().await?;
    assert_eq!(c.until_eof().await?, vec![Frame::Pong { timestamp_us: 3 }]);
    t.srv.stop().await;
    Ok(())
}
