//! The framed protocol (reference/003): frame and envelope round trips, and each
//! header error with its recoverability.

mod common;

use bytes::{BufMut, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;
use protolab_wire::framed::{
    encode_json, Frame, FrameKind, FramedCodec, Request, RequestOp, Response, DEFAULT_MAX_PAYLOAD,
    HEADER_LEN,
};
use protolab_wire::{CodecError, ErrorCode, WireError};
use tokio_util::codec::{Decoder, Encoder};

fn decode_all(codec: &mut FramedCodec, buf: &mut BytesMut) -> Vec<Frame> {
    let mut out = Vec::new();
    while let Some(item) = codec.decode(buf).expect("stream stays framed") {
        out.push(item.expect("frame is valid"));
    }
    out
}

proptest! {
    #[test]
    fn frames_round_trip(frames in vec(common::framed_frame(), 0..16)) {
        let mut buf = BytesMut::new();
        let mut codec = FramedCodec::new();
        for f in &frames {
            codec.encode(f, &mut buf).expect("fits");
        }
        if let Some(first) = frames.first() {
            prop_assert_eq!(Frame::check(&buf), Ok(Some(HEADER_LEN + first.payload.len())));
            prop_assert_eq!(&Frame::parse(&buf).expect("parses"), first);
        }
        prop_assert_eq!(decode_all(&mut codec, &mut buf), frames);
    }

    #[test]
    fn requests_round_trip(req in common::request()) {
        let mut buf = BytesMut::new();
        FramedCodec::new().encode(&req, &mut buf).expect("fits");
        let frame = Frame::parse(&buf).expect("parses");
        prop_assert_eq!(frame.kind, FrameKind::Request);
        prop_assert_eq!(Request::decode(&frame.payload).expect("decodes"), req);
    }

    #[test]
    fn responses_round_trip(resp in common::response()) {
        let mut buf = BytesMut::new();
        FramedCodec::new().encode(&resp, &mut buf).expect("fits");
        let frame = Frame::parse(&buf).expect("parses");
        prop_assert_eq!(frame.kind, FrameKind::Response);
        prop_assert_eq!(Response::decode(&frame.payload).expect("decodes"), resp);
    }
}

#[test]
fn bad_magic_is_fatal() {
    let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\n"[..]);
    match FramedCodec::new().decode(&mut buf) {
        Err(CodecError::Wire(e)) => {
            assert_eq!(e, WireError::BadMagic);
            assert!(!e.is_recoverable());
        }
        other => panic!("expected BadMagic, got {other:?}"),
    }
}

#[test]
fn over_limit_length_is_fatal_and_configurable() {
    let mut header = BytesMut::new();
    header.put_u32(0x1234_5678);
    header.put_u32(1);
    header.put_u32(u32::try_from(DEFAULT_MAX_PAYLOAD + 1).expect("fits"));
    match FramedCodec::new().decode(&mut header.clone()) {
        Err(CodecError::Wire(e @ WireError::TooLarge { .. })) => {
            assert_eq!(e.code(), ErrorCode::TooLarge)
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let mut big = FramedCodec::with_max_payload(4 << 20);
    assert!(matches!(big.decode(&mut header), Ok(None)));
    // Room for the declared (and permitted) frame is reserved once, up front.
    let frame_len = HEADER_LEN + DEFAULT_MAX_PAYLOAD + 1;
    assert!(header.capacity() >= frame_len);
}

#[test]
fn unknown_type_is_recoverable() {
    let mut buf = BytesMut::new();
    buf.put_u32(0x1234_5678);
    buf.put_u32(3);
    buf.put_u32(2);
    buf.put_slice(b"{}");
    Frame::close().encode(&mut buf).expect("fits");
    let mut codec = FramedCodec::new();
    match codec.decode(&mut buf) {
        Ok(Some(Err(e))) => {
            assert_eq!(e, WireError::UnknownType(3));
            assert!(e.is_recoverable());
        }
        other => panic!("expected UnknownType, got {other:?}"),
    }
    assert_eq!(decode_all(&mut codec, &mut buf), vec![Frame::close()]);
}

#[test]
fn bad_envelopes_are_bad_requests() {
    for payload in [
        &b"not json"[..],
        br#"{"op":"teleport"}"#,
        br#"{"op":"get_item"}"#,
        br#"{"op":"echo","data":"\u0100"}"#,
        br#"{"op":"echo","data":5}"#,
    ] {
        let err = Request::decode(payload).expect_err("rejected");
        assert_eq!(err.code(), ErrorCode::BadRequest, "{err}");
        assert!(err.is_recoverable());
    }
    assert!(Response::decode(br#"{"req":1}"#).is_err());
}

#[test]
fn list_items_defaults_are_left_to_the_server() {
    let r = Request::decode(br#"{"op":"list_items","req":3}"#).expect("decodes");
    assert_eq!(
        r.op,
        RequestOp::ListItems {
            offset: 0,
            limit: None,
            category: None
        }
    );
    assert_eq!(r.op.name(), "list_items");
}

#[test]
fn encode_json_failure_leaves_the_buffer_alone() {
    use std::collections::HashMap;
    // Non-string map keys cannot be JSON object keys.
    let bad: HashMap<(u8, u8), u8> = [((1, 2), 3)].into_iter().collect();
    let mut buf = BytesMut::from(&b"keep"[..]);
    assert!(matches!(
        encode_json(FrameKind::Response, &bad, &mut buf),
        Err(WireError::Json(_))
    ));
    assert_eq!(&buf[..], b"keep");
}
