//! Hostile input: arbitrary bytes never panic either decoder, well-framed frames with
//! random payloads decode or fail recoverably, and a stream split at any offset (down
//! to one byte at a time) decodes exactly as the whole.

mod common;

use bytes::{BufMut, Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;
use protolab_wire::framed::{self, Request, Response};
use protolab_wire::net001::{DataRequest, DataResponse, Frame, MessageType, Net001Codec};
use protolab_wire::FramedCodec;
use tokio_util::codec::Decoder;

/// Decodes until the codec wants more or gives up; never more items than bytes.
fn drain<D: Decoder>(codec: &mut D, buf: &mut BytesMut) -> usize {
    let mut items = 0;
    while let Ok(Some(_)) = codec.decode(buf) {
        items += 1;
        assert!(items <= 1 + buf.len() + 100_000, "decoder is not consuming");
    }
    let _ = codec.decode_eof(buf);
    items
}

fn feed_bytewise<D: Decoder>(codec: &mut D, stream: &[u8]) -> Vec<D::Item>
where
    D::Error: std::fmt::Debug,
{
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for &b in stream {
        buf.put_u8(b);
        while let Some(item) = codec.decode(&mut buf).expect("valid stream") {
            out.push(item);
        }
    }
    assert!(buf.is_empty());
    out
}

fn feed_split<D: Decoder>(codec: &mut D, stream: &[u8], at: usize) -> Vec<D::Item>
where
    D::Error: std::fmt::Debug,
{
    let mut buf = BytesMut::from(&stream[..at]);
    let mut out = Vec::new();
    while let Some(item) = codec.decode(&mut buf).expect("valid stream") {
        out.push(item);
    }
    buf.extend_from_slice(&stream[at..]);
    while let Some(item) = codec.decode(&mut buf).expect("valid stream") {
        out.push(item);
    }
    out
}

/// NET-001 magic + version, so random input gets past the first checks.
fn net001_prefixed() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..300).prop_map(|tail| [&[0xDE, 0xAD, 0xBE, 0xEF, 0x01][..], &tail].concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn net001_never_panics(raw in prop_oneof![vec(any::<u8>(), 0..300), net001_prefixed()]) {
        let _ = Frame::check(&raw);
        let _ = Frame::parse(&raw);
        let _ = DataRequest::decode(Bytes::from(raw.clone()));
        let _ = DataResponse::decode(Bytes::from(raw.clone()));
        drain(&mut Net001Codec::new(), &mut BytesMut::from(&raw[..]));
        drain(&mut Net001Codec::with_max_payload(16), &mut BytesMut::from(&raw[..]));
    }

    #[test]
    fn framed_never_panics(raw in prop_oneof![
        vec(any::<u8>(), 0..300),
        vec(any::<u8>(), 0..300).prop_map(|t| [&[0x12, 0x34, 0x56, 0x78][..], &t].concat()),
    ]) {
        let _ = framed::Frame::check(&raw);
        let _ = framed::Frame::parse(&raw);
        let _ = Request::decode(&raw);
        let _ = Response::decode(&raw);
        drain(&mut FramedCodec::new(), &mut BytesMut::from(&raw[..]));
    }

    #[test]
    fn random_payloads_in_valid_frames_fail_recoverably(
        kind in prop_oneof![
            proptest::sample::select(MessageType::ALL.iter().map(|t| t.as_u8()).collect::<Vec<_>>()),
            any::<u8>(),
        ],
        payload in vec(any::<u8>(), 0..64),
    ) {
        let mut buf = BytesMut::new();
        buf.put_u32(0xDEAD_BEEF);
        buf.put_u8(1);
        buf.put_u8(kind);
        buf.put_u16(u16::try_from(payload.len()).expect("short"));
        buf.put_slice(&payload);
        let crc = crc32fast::hash(&buf);
        buf.put_u32(crc);
        match Net001Codec::new().decode(&mut buf) {
            Ok(Some(Ok(frame))) => {
                // Whatever decoded re-encodes to the same bytes.
                let mut again = BytesMut::new();
                frame.encode(&mut again).expect("fits");
                prop_assert_eq!(Frame::parse(&again).expect("parses"), frame);
            }
            Ok(Some(Err(e))) => prop_assert!(e.is_recoverable(), "{e}"),
            other => prop_assert!(false, "unexpected {other:?}"),
        }
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn random_data_payloads_fail_cleanly(op in 0u8..6, rest in vec(any::<u8>(), 0..40)) {
        let payload = Bytes::from([&[op][..], &rest].concat());
        if let Ok(req) = DataRequest::decode(payload.clone()) {
            let mut again = BytesMut::new();
            req.encode(&mut again).expect("fits");
            prop_assert_eq!(again.freeze(), payload.clone());
        }
        if let Err(e) = DataResponse::decode(payload) {
            prop_assert!(e.is_recoverable());
        }
    }

    #[test]
    fn net001_bytewise_equals_whole(frames in vec(common::net001_frame(), 1..6)) {
        let stream = common::encode_net001(&frames);
        let got: Vec<_> = feed_bytewise(&mut Net001Codec::new(), &stream)
            .into_iter()
            .map(|r| r.expect("valid frame"))
            .collect();
        prop_assert_eq!(got, frames);
    }

    #[test]
    fn framed_bytewise_equals_whole(frames in vec(common::framed_frame(), 1..6)) {
        let stream = common::encode_framed(&frames);
        let got: Vec<_> = feed_bytewise(&mut FramedCodec::new(), &stream)
            .into_iter()
            .map(|r| r.expect("valid frame"))
            .collect();
        prop_assert_eq!(got, frames);
    }
}

fn sample_net001() -> Vec<Frame> {
    vec![
        Frame::Ping { timestamp_us: 1 },
        Frame::Auth {
            username: "ada".into(),
            token: Bytes::from_static(b"secret"),
        },
        Frame::Echo(Bytes::from(vec![9u8; 300])),
        Frame::Error {
            code: protolab_wire::ErrorCode::RateLimited,
            message: "slow down".into(),
        },
    ]
}

#[test]
fn net001_split_at_every_offset_decodes_identically() {
    let frames = sample_net001();
    let stream = common::encode_net001(&frames);
    for at in 0..=stream.len() {
        let got: Vec<_> = feed_split(&mut Net001Codec::new(), &stream, at)
            .into_iter()
            .map(|r| r.expect("valid frame"))
            .collect();
        assert_eq!(got, frames, "split at {at}");
    }
}

#[test]
fn framed_split_at_every_offset_decodes_identically() {
    let frames = vec![
        framed::Frame::new(framed::FrameKind::Request, &b"{\"op\":\"ping\"}"[..]),
        framed::Frame::new(framed::FrameKind::Response, vec![b'x'; 200]),
        framed::Frame::close(),
    ];
    let stream = common::encode_framed(&frames);
    for at in 0..=stream.len() {
        let got: Vec<_> = feed_split(&mut FramedCodec::new(), &stream, at)
            .into_iter()
            .map(|r| r.expect("valid frame"))
            .collect();
        assert_eq!(got, frames, "split at {at}");
    }
}
