//! Fuzzes the NET-001 decoders: `Frame::check`/`parse`, `Net001Codec` over a buffer
//! split at a fuzzer-chosen offset, and the DATA payload decoders. Besides "never
//! panics", it checks that decoding is canonical: whatever decodes re-encodes to the
//! very same bytes.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use protolab_wire::net001::{DataRequest, DataResponse, Frame, Net001Codec};
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    if let (Ok(Some(len)), Ok(frame)) = (Frame::check(data), Frame::parse(data)) {
        let mut again = BytesMut::new();
        frame.encode(&mut again).expect("a parsed frame re-encodes");
        assert_eq!(&again[..], &data[..len], "non-canonical frame accepted");
    }

    // Payload decoders on the raw bytes too, so they see inputs without valid CRCs.
    check_data(Bytes::copy_from_slice(data));

    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let mut codec = Net001Codec::with_max_payload(4096);
    let mut buf = BytesMut::from(&data[..split]);
    let mut fed_rest = false;
    loop {
        match codec.decode(&mut buf) {
            Ok(Some(Ok(Frame::Data(payload)))) => check_data(payload),
            Ok(Some(Ok(_))) => {}
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

fn check_data(payload: Bytes) {
    if let Ok(req) = DataRequest::decode(payload.clone()) {
        let mut again = BytesMut::new();
        req.encode(&mut again)
            .expect("a decoded request re-encodes");
        assert_eq!(
            again.freeze(),
            payload,
            "non-canonical DATA request accepted"
        );
    }
    if let Ok(resp) = DataResponse::decode(payload.clone()) {
        let mut again = BytesMut::new();
        resp.encode(&mut again)
            .expect("a decoded response re-encodes");
        assert_eq!(
            again.freeze(),
            payload,
            "non-canonical DATA response accepted"
        );
    }
}
