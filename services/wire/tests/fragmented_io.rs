//! The codecs behind tokio-util's `FramedRead`/`FramedWrite` over a scripted socket
//! (`tokio_test::io::Builder`): reads arrive in awkward fragments, a recoverable error
//! does not end the stream, a fatal one does.

mod common;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use protolab_wire::framed::{self, FrameKind, Request, RequestOp, Response};
use protolab_wire::net001::{DataRequest, Frame, Net001Codec};
use protolab_wire::{CodecError, FramedCodec, WireError};
use tokio_util::codec::{FramedRead, FramedWrite};

/// `stream` delivered in reads of 1, 2, 3, ... bytes.
fn fragmented(stream: &[u8]) -> tokio_test::io::Mock {
    fragments(stream).build()
}

fn fragments(stream: &[u8]) -> tokio_test::io::Builder {
    let mut b = tokio_test::io::Builder::new();
    let (mut at, mut n) = (0, 1);
    while at < stream.len() {
        let end = (at + n).min(stream.len());
        b.read(&stream[at..end]);
        at = end;
        n += 1;
    }
    b
}

#[tokio::test]
async fn net001_frames_survive_fragmented_reads() {
    let frames = vec![
        Frame::Ping { timestamp_us: 7 },
        DataRequest::GetItem { req_id: 1, id: 42 }
            .to_frame()
            .expect("fits"),
        Frame::Echo(Bytes::from(vec![5u8; 1000])),
        Frame::Broadcast(Bytes::from_static(b"hello all")),
    ];
    let stream = common::encode_net001(&frames);
    let mut read = FramedRead::new(fragmented(&stream), Net001Codec::new());
    let mut got = Vec::new();
    while let Some(item) = read.next().await {
        got.push(item.expect("framed").expect("valid"));
    }
    assert_eq!(got, frames);
}

#[tokio::test]
async fn recoverable_error_keeps_the_stream_and_fatal_ends_it() {
    let mut stream = common::encode_net001(&[Frame::Ping { timestamp_us: 1 }]);
    let last = stream.len() - 1;
    stream[last] ^= 1; // CRC damaged
    stream.extend_from_slice(&common::encode_net001(&[Frame::Pong { timestamp_us: 2 }]));
    // One read of garbage: the codec must give up on its first byte.
    let mock = fragments(&stream).read(b"garbage").build();
    let mut read = FramedRead::new(mock, Net001Codec::new());

    assert!(matches!(
        read.next().await,
        Some(Ok(Err(WireError::BadCrc { .. })))
    ));
    assert!(matches!(
        read.next().await,
        Some(Ok(Ok(Frame::Pong { timestamp_us: 2 })))
    ));
    assert!(matches!(
        read.next().await,
        Some(Err(CodecError::Wire(WireError::BadMagic)))
    ));
    assert!(read.next().await.is_none());
}

#[tokio::test]
async fn eof_inside_a_frame_is_an_error() {
    let stream = common::encode_net001(&[Frame::Ping { timestamp_us: 1 }]);
    let mut read = FramedRead::new(fragmented(&stream[..10]), Net001Codec::new());
    assert!(matches!(
        read.next().await,
        Some(Err(CodecError::Wire(WireError::Truncated { .. })))
    ));
}

#[tokio::test]
async fn net001_writes_exact_bytes() {
    let frame = Frame::Pong { timestamp_us: 99 };
    let expected = common::encode_net001(std::slice::from_ref(&frame));
    let mock = tokio_test::io::Builder::new().write(&expected).build();
    let mut write = FramedWrite::new(mock, Net001Codec::new());
    write.send(frame).await.expect("written");
}

#[tokio::test]
async fn framed_pipeline_over_fragmented_reads() {
    let mut stream = bytes::BytesMut::new();
    let requests: Vec<Request> = (0..10)
        .map(|i| Request {
            op: RequestOp::GetItem { id: i },
            req: i as u64,
        })
        .collect();
    for r in &requests {
        r.encode(&mut stream).expect("fits");
    }
    framed::Frame::close().encode(&mut stream).expect("fits");
    let mut read = FramedRead::new(fragmented(&stream), FramedCodec::new());
    let mut got = Vec::new();
    while let Some(item) = read.next().await {
        let frame = item.expect("framed").expect("valid");
        if frame.kind == FrameKind::Close {
            break;
        }
        got.push(Request::decode(&frame.payload).expect("envelope"));
    }
    assert_eq!(got, requests);
}

#[tokio::test]
async fn framed_writes_responses() {
    let resp = Response::success(3, serde_json::json!({"id": 3}));
    let mut expected = bytes::BytesMut::new();
    resp.encode(&mut expected).expect("fits");
    let mock = tokio_test::io::Builder::new().write(&expected).build();
    let mut write = FramedWrite::new(mock, FramedCodec::new());
    write.send(&resp).await.expect("written");
}
