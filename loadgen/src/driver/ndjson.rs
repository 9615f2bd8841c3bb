//! REST's `stream`: `GET /stream?count&interval_ms&size` answered as NDJSON, one
//! JSON event per line, read incrementally from the body as it arrives. Only
//! splitting lines and decoding stamps; counting belongs to the push runners.

use bytes::{Buf, Bytes, BytesMut};
use futures::{Stream, StreamExt};
use http::Method;
use http_body_util::BodyExt;

use super::http::{HttpConn, HttpTarget};
use super::push::{stream_event, PushStream, Pushed, StreamParams};
use super::CallError;

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
    use crate::driver::push::PushEvent;

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
