//! Fuzzes the framed-protocol decoders: `Frame::check`/`parse`, `FramedCodec` over a
//! buffer split at a fuzzer-chosen offset, and the JSON envelope. Besides "never
//! panics", frames must re-encode to the same bytes and envelopes must survive a
//! decode, encode, decode cycle unchanged.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use protolab_wire::framed::{Frame, FramedCodec, Request, Response};
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    if let (Ok(Some(len)), Ok(frame)) = (Frame::check(data), Frame::parse(data)) {
        let mut again = BytesMut::new();
        frame.encode(&mut again).expect("a parsed frame re-encodes");
        assert_eq!(&again[..], &data[..len], "non-canonical frame accepted");
    }
    check_envelopes(data);

    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let mut codec = FramedCodec::with_max_payload(64 * 1024);
    let mut buf = BytesMut::from(&data[..split]);
    let mut fed_rest = false;
    loop {
        match codec.decode(&mut buf) {
            Ok(Some(Ok(frame))) => check_envelopes(&frame.payload),
            Ok(Some(Err(e))) => assert!(e.is_recoverable(), "fatal error as item: {e}"),
            Ok(None) if !fed_rest => {
                buf.extend_from_slice(&data[split..]);
                fed_rest = true;
            }
            Ok(None) => {
                let _ = codec.decode_eof(&mut buf);
                break;
            }
            Err(_) => break,
        }
    }
});

fn check_envelopes(payload: &[u8]) {
    if let Ok(req) = Request::decode(payload) {
        let mut buf = BytesMut::new();
        req.encode(&mut buf).expect("a decoded request re-encodes");
        let frame = Frame::parse(&buf).expect("own frame parses");
        assert_eq!(Request::decode(&frame.payload).ok(), Some(req));
    }
    if let Ok(resp) = Response::decode(payload) {
        let mut buf = BytesMut::new();
        resp.encode(&mut buf)
            .expect("a decoded response re-encodes");
        let frame = Frame::parse(&buf).expect("own frame parses");
        // serde_json may re-read a float 1 ULP off; compare only results without floats.
        if !resp.result.as_ref().is_some_and(has_float) {
            assert_eq!(Response::decode(&frame.payload).ok(), Some(resp));
        }
    }
}

fn has_float(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Number(n) => n.is_f64(),
        serde_json::Value::Array(a) => a.iter().any(has_float),
        serde_json::Value::Object(o) => o.values().any(has_float),
        _ => false,
    }
}
