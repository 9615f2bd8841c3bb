//! NET-001 rejections: each bad header field, CRC, type and payload gives its own error
//! and code, fatal ones end the codec's stream, recoverable ones leave it framed.

mod common;

use bytes::{BufMut, Bytes, BytesMut};
use protolab_wire::net001::data::FLAG_MORE;
use protolab_wire::net001::{
    DataRequest, DataResponse, FailStatus, Frame, Net001Codec, HEADER_LEN, MAX_PAYLOAD,
};
use protolab_wire::{CodecError, ErrorCode, WireError};
use tokio_util::codec::Decoder;

/// A well-framed frame with any type byte and payload (correct CRC).
fn raw_frame(kind: u8, payload: &[u8]) -> BytesMut {
    let mut buf = BytesMut::new();
    buf.put_u32(0xDEAD_BEEF);
    buf.put_u8(1);
    buf.put_u8(kind);
    buf.put_u16(u16::try_from(payload.len()).expect("test payload fits"));
    buf.put_slice(payload);
    let crc = crc32fast::hash(&buf);
    buf.put_u32(crc);
    buf
}

fn ping() -> BytesMut {
    common::encode_net001(&[Frame::Ping { timestamp_us: 42 }])
}

fn fatal(buf: &mut BytesMut) -> WireError {
    match Net001Codec::new().decode(buf) {
        Err(CodecError::Wire(e)) => e,
        other => panic!("expected a fatal wire error, got {other:?}"),
    }
}

#[test]
fn bad_magic_is_fatal() {
    let mut buf = ping();
    buf[3] = 0xEE;
    assert_eq!(Frame::check(&buf), Err(WireError::BadMagic));
    let err = fatal(&mut buf);
    assert_eq!(err, WireError::BadMagic);
    assert_eq!(err.code(), ErrorCode::BadMagic);
    assert!(!err.is_recoverable());
}

#[test]
fn bad_version_is_fatal() {
    let mut buf = ping();
    buf[4] = 0x02;
    let err = fatal(&mut buf);
    assert_eq!(err, WireError::BadVersion(2));
    assert_eq!(err.code(), ErrorCode::BadVersion);
}

#[test]
fn over_limit_length_is_fatal_before_the_payload_arrives() {
    let mut header = BytesMut::from(&raw_frame(0x03, &[0u8; 100])[..HEADER_LEN]);
    let mut small = Net001Codec::with_max_payload(99);
    match small.decode(&mut header) {
        Err(CodecError::Wire(e)) => {
            assert_eq!(e, WireError::TooLarge { len: 100, max: 99 });
            assert_eq!(e.code(), ErrorCode::TooLarge);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(
        Net001Codec::with_max_payload(1 << 20).max_payload(),
        MAX_PAYLOAD
    );
}

#[test]
fn bad_crc_is_recoverable_and_the_stream_reads_on() {
    let mut buf = ping();
    let last = buf.len() - 1;
    buf[last] ^= 0xFF;
    buf.extend_from_slice(&ping());
    let mut codec = Net001Codec::new();
    match codec.decode(&mut buf) {
        Ok(Some(Err(e @ WireError::BadCrc { .. }))) => {
            assert_eq!(e.code(), ErrorCode::BadCrc);
            assert!(e.is_recoverable());
        }
        other => panic!("expected BadCrc, got {other:?}"),
    }
    assert_eq!(
        codec.decode(&mut buf).expect("framed"),
        Some(Ok(Frame::Ping { timestamp_us: 42 }))
    );
}

#[test]
fn unknown_type_is_recoverable() {
    let mut buf = raw_frame(0x42, b"?");
    buf.extend_from_slice(&ping());
    let mut codec = Net001Codec::new();
    let err = codec
        .decode(&mut buf)
        .expect("framed")
        .expect("whole frame")
        .expect_err("unknown type");
    assert_eq!(err, WireError::UnknownType(0x42));
    assert_eq!(err.code(), ErrorCode::UnknownType);
    assert!(matches!(
        codec.decode(&mut buf),
        Ok(Some(Ok(Frame::Ping { .. })))
    ));
}

#[test]
fn payload_errors_are_bad_requests() {
    let cases: [(u8, &[u8]); 8] = [
        (0x01, &[0; 7]),             // PING too short
        (0x02, &[0; 9]),             // PONG too long
        (0x06, &[]),                 // AUTH without length
        (0x06, &[5, b'a']),          // AUTH username cut short
        (0x06, &[1, 0xFF]),          // AUTH username not UTF-8
        (0x07, &[2; 17]),            // AUTH_REPLY success byte 2
        (0xFF, &[0]),                // ERROR without a code
        (0xFF, &[0, 1, 0xC3, 0x28]), // ERROR message not UTF-8
    ];
    for (kind, payload) in cases {
        let err = Frame::parse(&raw_frame(kind, payload)).expect_err("rejected");
        assert!(err.is_recoverable(), "{kind:#x}: {err}");
        assert_eq!(err.code(), ErrorCode::BadRequest, "{kind:#x}: {err}");
    }
}

#[test]
fn truncated_input_to_parse_and_at_eof() {
    let buf = ping();
    for cut in 0..buf.len() {
        assert!(matches!(
            Frame::parse(&buf[..cut]),
            Err(WireError::Truncated { .. })
        ));
        let mut part = BytesMut::from(&buf[..cut]);
        let res = Net001Codec::new().decode_eof(&mut part);
        if cut == 0 {
            assert!(matches!(res, Ok(None)));
        } else {
            assert!(matches!(
                res,
                Err(CodecError::Wire(WireError::Truncated { .. }))
            ));
        }
    }
}

#[test]
fn data_payload_errors() {
    let bad = |b: &'static [u8]| DataRequest::decode(Bytes::from_static(b)).expect_err("bad");
    assert!(matches!(bad(b"\x01\0\0"), WireError::Truncated { .. }));
    assert_eq!(bad(b"\x09\0\0\0\x01"), WireError::UnknownOp(9));
    assert!(matches!(
        bad(b"\x01\0\0\0\x01\0"),
        WireError::Truncated { .. }
    ));
    assert!(matches!(
        bad(b"\x04\0\0\0\x01\0\0\0\0\0\0\0\0\0\0\0\0\0"),
        WireError::Malformed { .. }
    ));
    assert!(matches!(
        bad(b"\x02\0\0\0\x01\0\0\0\0\0\x01\x02a"),
        WireError::Truncated { .. }
    ));
    assert!(matches!(
        bad(b"\x02\0\0\0\x01\0\0\0\0\0\x01\x01ab"),
        WireError::Malformed { .. }
    ));
    assert_eq!(DataRequest::peek(b"\x09\0\0\0\x05junk"), Some((9, 5)));

    let resp = |b: &'static [u8]| DataResponse::decode(Bytes::from_static(b));
    assert!(matches!(
        resp(b"\x01\0\0\0\x01\x00\x02{}"),
        Err(WireError::Malformed { .. })
    ));
    assert!(matches!(
        resp(b"\x01\0\0\0\x01\x00\x01{}"),
        Err(WireError::Malformed { .. })
    ));
    assert!(matches!(
        resp(b"\x03\0\0\0\x01\x00\x00\0"),
        Err(WireError::Truncated { .. })
    ));
    assert!(matches!(
        resp(b"\x01\0\0\0\x01\x09\x00"),
        Err(WireError::Malformed { .. })
    ));
    assert!(matches!(
        resp(b"\x02\0\0\0\x01\x01\x01no"),
        Err(WireError::Malformed { .. })
    ));
    assert_eq!(
        resp(b"\x09\0\0\0\x01\x01\x00bad op"),
        Ok(DataResponse::Failed {
            op: 9,
            req_id: 1,
            status: FailStatus::BadRequest,
            message: "bad op".into()
        })
    );
    assert_eq!(FLAG_MORE, 1);
}

#[test]
fn error_frame_answers_a_wire_error() {
    let err = WireError::UnknownType(0x42);
    let frame = Frame::from_wire_error(&err);
    let mut buf = BytesMut::new();
    frame.encode(&mut buf).expect("fits");
    match Frame::parse(&buf).expect("parses") {
        Frame::Error { code, message } => {
            assert_eq!(code, ErrorCode::UnknownType);
            assert_eq!(message, err.to_string());
        }
        other => panic!("not an ERROR frame: {other:?}"),
    }
}

#[test]
fn over_long_username_is_refused_without_writing() {
    let mut buf = BytesMut::new();
    let frame = Frame::Auth {
        username: "u".repeat(256),
        token: Bytes::new(),
    };
    assert!(matches!(
        frame.encode(&mut buf),
        Err(WireError::Malformed { .. })
    ));
    assert!(buf.is_empty());
}
