//! REST's `stream`: `GET /stream?count&interval_ms&size` answered as NDJSON, one
//! JSON event per line, read incrementally from the body as it arrives. Only
//! splitting lines and decoding stamps; counting belongs to the push runners.

use bytes::{Buf, Bytes, BytesMut};
use futures::{Stream, StreamExt};
use http::Method;
use http_body_util::BodyExt;

use crate::transport::http::{HttpConn, HttpTarget};
use protolab_bench::driver::CallError;
use protolab_bench::driver::{PushEvent, PushStream, Pushed, StreamParams};

/// Starts the stream on `conn` and returns its events.
pub async fn stream(
    conn: &mut HttpConn,
    target: &HttpTarget,
    p: &StreamParams,
) -> Result<PushStream, CallError> {
    let path = format!(
        "/stream?count={}&interval_ms={}&size={}",
        p.count, p.interval_ms, p.size
    );
    let (resp, _) = conn
        .open(target.request(Method::GET, &path, Bytes::new()))
        .await?;
    if resp.status() != http::StatusCode::OK {
        return Err(CallError::Status(resp.status().as_u16()));
    }
    Ok(lines(resp.into_body().into_data_stream()).boxed())
}

/// Each complete line of `body` as an event; a partial last line is dropped.
pub fn lines<B, E>(body: B) -> impl Stream<Item = Result<Pushed, CallError>> + Send
where
    B: Stream<Item = Result<Bytes, E>> + Send + Unpin,
    E: std::fmt::Display,
{
    futures::stream::unfold(Some((body, BytesMut::new())), |state| async move {
        let (mut body, mut buf) = state?;
        loop {
            if let Some(i) = buf.iter().position(|b| *b == b'\n') {
                let line = buf.split_to(i + 1);
                let item = stream_event(&line[..i]);
                return Some((item, Some((body, buf))));
            }
            match body.next().await? {
                Ok(chunk) => buf.extend_from_slice(chunk.chunk()),
                Err(e) => return Some((Err(CallError::Protocol(format!("body: {e}"))), None)),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use protolab_bench::driver::PushEvent;

    #[tokio::test]
    async fn lines_split_across_chunks_decode_in_order() {
        let chunks: Vec<Result<Bytes, String>> = vec![
            Ok(Bytes::from_static(
                b"{\"seq\":0,\"sent_at_us\":5,\"payload\":\"x\"}\n{\"seq\":1,",
            )),
            Ok(Bytes::from_static(
                b"\"sent_at_us\":6,\"payload\":\"\"}\n{\"seq\":2",
            )),
        ];
        let got: Vec<_> = lines(futures::stream::iter(chunks)).collect().await;
        let seqs: Vec<u64> = got
            .iter()
            .filter_map(|r| match r {
                Ok(Pushed {
                    event: PushEvent::Event { seq, .. },
                    ..
                }) => Some(*seq),
                _ => None,
            })
            .collect();
        assert_eq!(seqs, vec![0, 1], "the partial third line is not an event");
    }
}

/// The stamp fields of a JSON stream event (`{"seq","sent_at_us",..}`; the payload
/// is skipped unparsed).
#[derive(serde::Deserialize)]
struct Stamp {
    seq: u64,
    sent_at_us: u64,
}

/// A JSON stream event (REST's NDJSON line, SSE's data) as a push arrived now.
pub fn stream_event(json: &[u8]) -> Result<Pushed, CallError> {
    let arrived_us = protolab_core::contract::now_micros();
    let s: Stamp = serde_json::from_slice(json)
        .map_err(|e| CallError::Protocol(format!("stream event: {e}")))?;
    Ok(Pushed {
        arrived_us,
        event: PushEvent::Event {
            seq: s.seq,
            sent_at_us: s.sent_at_us,
        },
    })
}
