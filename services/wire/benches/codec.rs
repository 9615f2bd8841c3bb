//! Codec cost per message, without sockets: NET-001 encode and decode of 64-byte ECHO
//! frames (one at a time and in pipelined batches) and the framed protocol's JSON
//! envelope. These bound what the binary server and the load generator spend in
//! `protolab-wire`, so a slow network number can be told apart from a slow codec.

use bytes::{Bytes, BytesMut};
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use protolab_wire::framed::{Request, RequestOp, Response};
use protolab_wire::net001::{DataRequest, DataResponse, Frame};
use protolab_wire::{FramedCodec, Net001Codec};
use tokio_util::codec::{Decoder, Encoder};

const BATCH: usize = 64;

fn echo64() -> Frame {
    Frame::Echo(Bytes::from(vec![0xA5u8; 64]))
}

fn encoded(frames: &[Frame]) -> BytesMut {
    let mut buf = BytesMut::new();
    for f in frames {
        f.encode(&mut buf).expect("64 bytes fit");
    }
    buf
}

fn net001(c: &mut Criterion) {
    let frame = echo64();
    let one = encoded(std::slice::from_ref(&frame));
    let batch = encoded(&vec![frame.clone(); BATCH]);
    let mut g = c.benchmark_group("net001_echo64");

    g.throughput(Throughput::Elements(1));
    g.bench_function("encode", |b| {
        let mut buf = BytesMut::with_capacity(1024);
        b.iter(|| {
            buf.clear();
            Net001Codec::new()
                .encode(black_box(&frame), &mut buf)
                .expect("fits");
        })
    });
    g.bench_function("decode", |b| {
        b.iter_batched_ref(
            || one.clone(),
            |buf| Net001Codec::new().decode(buf).expect("framed"),
            BatchSize::SmallInput,
        )
    });

    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("encode_pipelined_64", |b| {
        let mut buf = BytesMut::with_capacity(batch.len());
        b.iter(|| {
            buf.clear();
            let mut codec = Net001Codec::new();
            for _ in 0..BATCH {
                codec.encode(black_box(&frame), &mut buf).expect("fits");
            }
        })
    });
    g.bench_function("decode_pipelined_64", |b| {
        b.iter_batched_ref(
            || batch.clone(),
            |buf| {
                let mut codec = Net001Codec::new();
                let mut n = 0;
                while let Ok(Some(item)) = codec.decode(buf) {
                    n += usize::from(item.is_ok());
                }
                assert_eq!(n, BATCH);
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("net001_data");
    let req = DataRequest::GetItem { req_id: 1, id: 42 };
    let item = DataResponse::Item {
        req_id: 1,
        json: Bytes::from_static(br#"{"id":42,"name":"item-42","category":"books","price":12.5}"#),
    };
    g.bench_function("get_item_round_trip", |b| {
        let mut buf = BytesMut::with_capacity(512);
        b.iter(|| {
            buf.clear();
            req.encode_frame(&mut buf).expect("fits");
            item.encode_frame(&mut buf).expect("fits");
            let mut codec = Net001Codec::new();
            while let Ok(Some(Ok(Frame::Data(p)))) = codec.decode(&mut buf) {
                black_box(DataResponse::decode(p.clone()).ok());
                black_box(DataRequest::decode(p).ok());
            }
        })
    });
    g.finish();
}

fn framed_json(c: &mut Criterion) {
    let req = Request {
        op: RequestOp::GetItem { id: 42 },
        req: 7,
    };
    let resp = Response::success(
        7,
        serde_json::json!({"id":42,"name":"item-42","category":"books","price":12.5,
            "description":"x".repeat(100),"created_at":"2024-01-01T00:00:00Z"}),
    );
    let mut batch = BytesMut::new();
    for _ in 0..BATCH {
        req.encode(&mut batch).expect("fits");
    }
    let mut g = c.benchmark_group("framed_json");

    g.throughput(Throughput::Elements(1));
    g.bench_function("encode_request", |b| {
        let mut buf = BytesMut::with_capacity(256);
        b.iter(|| {
            buf.clear();
            black_box(&req).encode(&mut buf).expect("fits");
        })
    });
    g.bench_function("encode_response_item", |b| {
        let mut buf = BytesMut::with_capacity(512);
        b.iter(|| {
            buf.clear();
            FramedCodec::new()
                .encode(black_box(&resp), &mut buf)
                .expect("fits");
        })
    });

    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("decode_pipelined_64_requests", |b| {
        b.iter_batched_ref(
            || batch.clone(),
            |buf| {
                let mut codec = FramedCodec::new();
                while let Ok(Some(Ok(frame))) = codec.decode(buf) {
                    black_box(Request::decode(&frame.payload).ok());
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, net001, framed_json);
criterion_main!(benches);
