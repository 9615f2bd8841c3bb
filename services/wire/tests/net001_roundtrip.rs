//! NET-001 round trips: every frame type and every DATA op, encoded then decoded by
//! `check` + `parse`, by `parse_bytes` and by `Net001Codec`, singly and pipelined.

mod common;

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;
use protolab_wire::net001::data::{MAX_DATA_BODY, STATUS_OK};
use protolab_wire::net001::{
    DataOp, DataRequest, DataResponse, Frame, MessageType, Net001Codec, MAX_PAYLOAD,
};
use tokio_util::codec::{Decoder, Encoder};

fn decode_all(codec: &mut Net001Codec, buf: &mut BytesMut) -> Vec<Frame> {
    let mut out = Vec::new();
    while let Some(item) = codec.decode(buf).expect("stream stays framed") {
        out.push(item.expect("frame is valid"));
    }
    out
}

proptest! {
    #[test]
    fn every_frame_type_round_trips(frame in common::net001_frame()) {
        let mut buf = BytesMut::new();
        frame.encode(&mut buf).expect("fits");
        prop_assert_eq!(buf.len(), frame.encoded_len());
        prop_assert_eq!(Frame::check(&buf), Ok(Some(buf.len())));
        prop_assert_eq!(&Frame::parse(&buf).expect("parses"), &frame);
        prop_assert_eq!(&Frame::parse_bytes(buf.clone().freeze()).expect("parses"), &frame);
        let mut codec = Net001Codec::new();
        prop_assert_eq!(decode_all(&mut codec, &mut buf), vec![frame]);
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn pipelined_batches_round_trip(frames in vec(common::net001_frame(), 0..20)) {
        let mut buf = BytesMut::new();
        let mut codec = Net001Codec::new();
        for f in &frames {
            codec.encode(f, &mut buf).expect("fits");
        }
        prop_assert_eq!(decode_all(&mut codec, &mut buf), frames);
    }

    #[test]
    fn every_data_request_round_trips(req in common::data_request()) {
        let mut payload = BytesMut::new();
        req.encode(&mut payload).expect("fits");
        prop_assert_eq!(payload.len(), req.encoded_len());
        prop_assert_eq!(DataRequest::peek(&payload), Some((req.op().as_u8(), req.req_id())));
        prop_assert_eq!(&DataRequest::decode(payload.clone().freeze()).expect("decodes"), &req);

        // The direct frame encoder writes the same bytes as payload-then-frame.
        let mut direct = BytesMut::new();
        req.encode_frame(&mut direct).expect("fits");
        let mut via = BytesMut::new();
        req.to_frame().expect("fits").encode(&mut via).expect("fits");
        prop_assert_eq!(&direct, &via);
        match Frame::parse(&direct).expect("parses") {
            Frame::Data(p) => prop_assert_eq!(DataRequest::decode(p).expect("decodes"), req),
            other => prop_assert!(false, "not DATA: {other:?}"),
        }
    }

    #[test]
    fn every_data_response_round_trips(resp in common::data_response()) {
        let mut payload = BytesMut::new();
        resp.encode(&mut payload).expect("fits");
        prop_assert_eq!(payload.len(), resp.encoded_len());
        prop_assert_eq!(payload[0], resp.op_byte());
        let back = DataResponse::decode(payload.freeze()).expect("decodes");
        prop_assert_eq!(&back, &resp);
        prop_assert_eq!(back.more(), resp.more());

        let mut direct = BytesMut::new();
        resp.encode_frame(&mut direct).expect("fits");
        let mut via = BytesMut::new();
        resp.to_frame().expect("fits").encode(&mut via).expect("fits");
        prop_assert_eq!(direct, via);
    }

    #[test]
    fn list_parts_reassemble(len in 0usize..200_000, req_id in any::<u32>()) {
        let body: Bytes = (0..len).map(|i| (i % 251) as u8).collect::<Vec<_>>().into();
        let parts: Vec<_> = DataResponse::list_parts(req_id, body.clone()).collect();
        prop_assert_eq!(parts.len(), len.div_ceil(MAX_DATA_BODY).max(1));
        let mut joined = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            prop_assert_eq!(p.more(), i + 1 < parts.len());
            let mut buf = BytesMut::new();
            p.encode_frame(&mut buf).expect("every part fits a frame");
            if let DataResponse::ListPart { json, .. } = p {
                joined.extend_from_slice(json);
            }
        }
        prop_assert_eq!(Bytes::from(joined), body);
    }
}

#[test]
fn largest_payload_round_trips_and_one_more_is_refused() {
    let frame = Frame::Echo(Bytes::from(vec![7u8; MAX_PAYLOAD]));
    let mut buf = BytesMut::new();
    frame.encode(&mut buf).expect("65535 bytes fit");
    assert_eq!(Frame::parse(&buf), Ok(frame));
    let too_big = Frame::Data(Bytes::from(vec![0u8; MAX_PAYLOAD + 1]));
    assert!(too_big.encode(&mut BytesMut::new()).is_err());
}

#[test]
fn documented_data_layouts() {
    let req = DataRequest::ListItems {
        req_id: 7,
        offset: 10,
        limit: 20,
        category: Some("books".into()),
    };
    let mut buf = BytesMut::new();
    req.encode(&mut buf).expect("fits");
    assert_eq!(
        &buf[..],
        b"\x02\x00\x00\x00\x07\x00\x00\x00\x0a\x00\x14\x05books"
    );

    let resp = DataResponse::Score {
        req_id: 7,
        score: 1.5,
    };
    let mut buf = BytesMut::new();
    resp.encode(&mut buf).expect("fits");
    let mut expected = vec![DataOp::Score.as_u8(), 0, 0, 0, 7, STATUS_OK, 0];
    expected.extend_from_slice(&1.5f64.to_be_bytes());
    assert_eq!(&buf[..], &expected[..]);
}

#[test]
fn every_type_byte_is_named_once() {
    for t in MessageType::ALL {
        assert_eq!(MessageType::from_u8(t.as_u8()), Some(t));
    }
    let named = (0..=255u8)
        .filter(|b| MessageType::from_u8(*b).is_some())
        .count();
    assert_eq!(named, MessageType::ALL.len());
    for op in DataOp::ALL {
        assert_eq!(DataOp::from_u8(op.as_u8()), Ok(op));
    }
}
