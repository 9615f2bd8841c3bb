//! Proptest strategies and helpers shared by the integration tests: every NET-001
//! frame type, every DATA op in both directions, framed frames and JSON envelopes.
//! Each test binary uses a different subset, hence the `dead_code` allowance.
#![allow(dead_code)]

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use protolab_wire::framed::{self, EchoData, FrameKind, Request, RequestOp, Response};
use protolab_wire::net001::{DataRequest, DataResponse, FailStatus, Frame};
use protolab_wire::ErrorCode;
use serde_json::Value;

/// Up to `max` arbitrary bytes.
pub fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

/// Named codes and arbitrary (normalised) ones.
pub fn error_code() -> impl Strategy<Value = ErrorCode> {
    prop_oneof![
        select(ErrorCode::ALL.to_vec()),
        any::<u16>().prop_map(ErrorCode::from_u16),
    ]
}

/// Any NET-001 frame of any type.
pub fn net001_frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        any::<u64>().prop_map(|timestamp_us| Frame::Ping { timestamp_us }),
        any::<u64>().prop_map(|timestamp_us| Frame::Pong { timestamp_us }),
        bytes(2048).prop_map(Frame::Echo),
        bytes(2048).prop_map(Frame::EchoReply),
        bytes(512).prop_map(Frame::Broadcast),
        ("\\PC{0,60}", bytes(256)).prop_map(|(username, token)| Frame::Auth { username, token }),
        (any::<bool>(), any::<[u8; 16]>()).prop_map(|(success, session_id)| Frame::AuthReply {
            success,
            session_id
        }),
        bytes(1024).prop_map(Frame::Data),
        (error_code(), "\\PC{0,100}").prop_map(|(code, message)| Frame::Error { code, message }),
    ]
}

/// Any DATA request.
pub fn data_request() -> impl Strategy<Value = DataRequest> {
    prop_oneof![
        (any::<u32>(), any::<u64>()).prop_map(|(req_id, id)| DataRequest::GetItem { req_id, id }),
        (
            any::<u32>(),
            any::<u32>(),
            any::<u16>(),
            option::of("\\PC{1,60}")
        )
            .prop_map(|(req_id, offset, limit, category)| DataRequest::ListItems {
                req_id,
                offset,
                limit,
                category
            }),
        (any::<u32>(), bytes(1024)).prop_map(|(req_id, json)| DataRequest::Score { req_id, json }),
        (any::<u32>(), any::<u64>(), any::<u32>()).prop_map(|(req_id, size, chunk)| {
            DataRequest::Download {
                req_id,
                size,
                chunk,
            }
        }),
    ]
}

/// Any DATA response.
pub fn data_response() -> impl Strategy<Value = DataResponse> {
    prop_oneof![
        (any::<u32>(), bytes(1024)).prop_map(|(req_id, json)| DataResponse::Item { req_id, json }),
        (any::<u32>(), any::<bool>(), bytes(1024))
            .prop_map(|(req_id, more, json)| DataResponse::ListPart { req_id, more, json }),
        (
            any::<u32>(),
            any::<f64>().prop_filter("NaN != NaN", |f| !f.is_nan())
        )
            .prop_map(|(req_id, score)| DataResponse::Score { req_id, score }),
        (any::<u32>(), any::<bool>(), bytes(1024))
            .prop_map(|(req_id, more, data)| DataResponse::DownloadChunk { req_id, more, data }),
        (
            any::<u8>(),
            any::<u32>(),
            select(FailStatus::ALL.to_vec()),
            "\\PC{0,80}"
        )
            .prop_map(|(op, req_id, status, message)| DataResponse::Failed {
                op,
                req_id,
                status,
                message
            }),
    ]
}

/// Any framed-protocol frame.
pub fn framed_frame() -> impl Strategy<Value = framed::Frame> {
    (
        select(vec![
            FrameKind::Request,
            FrameKind::Response,
            FrameKind::Close,
        ]),
        bytes(2048),
    )
        .prop_map(|(kind, payload)| framed::Frame::new(kind, payload))
}

/// Any envelope request.
pub fn request() -> impl Strategy<Value = Request> {
    let op = prop_oneof![
        Just(RequestOp::Ping),
        any::<i64>().prop_map(|id| RequestOp::GetItem { id }),
        (
            any::<i64>(),
            option::of(any::<i64>()),
            option::of("\\PC{0,30}")
        )
            .prop_map(|(offset, limit, category)| RequestOp::ListItems {
                offset,
                limit,
                category
            }),
        bytes(1024).prop_map(|b| RequestOp::Echo { data: EchoData(b) }),
        "\\PC{0,100}".prop_map(|json| RequestOp::Score { json }),
    ];
    (op, any::<u64>()).prop_map(|(op, req)| Request { op, req })
}

/// JSON values that survive a serde_json round trip exactly (no floats).
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec(("[a-z]{1,8}", inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Any envelope response (a top-level `null` result reads back as absent, so none).
pub fn response() -> impl Strategy<Value = Response> {
    prop_oneof![
        (
            any::<u64>(),
            json_value().prop_filter("null is absent", |v| !v.is_null())
        )
            .prop_map(|(req, v)| Response::success(req, v)),
        (any::<u64>(), "[a-z_]{1,20}", "\\PC{0,60}")
            .prop_map(|(req, code, e)| Response::failure(req, &code, e)),
    ]
}

/// NET-001 frames encoded back to back.
pub fn encode_net001(frames: &[Frame]) -> BytesMut {
    let mut buf = BytesMut::new();
    for f in frames {
        f.encode(&mut buf).expect("test frames fit");
    }
    buf
}

/// Framed frames encoded back to back.
pub fn encode_framed(frames: &[framed::Frame]) -> BytesMut {
    let mut buf = BytesMut::new();
    for f in frames {
        f.encode(&mut buf).expect("test frames fit");
    }
    buf
}
