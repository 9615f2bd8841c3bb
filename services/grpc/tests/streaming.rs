//! Server streaming (Download, Stream) and client streaming (Upload): sizes and
//! checksums match the contract, events arrive in order with rising send times, bad
//! parameters are refused up front, and a shutdown ends a long stream with UNAVAILABLE.

mod common;

use std::time::Duration;

use common::TestServer;
use protolab_core::contract::{pattern_crc32, MAX_CHUNK};
use protolab_grpc::pb::arena as pb;
use tonic::Code;

#[tokio::test]
async fn download_sends_the_pattern_in_chunks() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let size = 3 * 1024 * 1024 + 7;
    let mut dl = c
        .download(pb::DownloadRequest { size, chunk: 65536 })
        .await?
        .into_inner();
    let (mut h, mut got, mut chunks) = (crc32fast::Hasher::new(), 0u64, 0);
    while let Some(chunk) = dl.message().await? {
        assert!(chunk.data.len() <= 65536);
        got += chunk.data.len() as u64;
        chunks += 1;
        h.update(&chunk.data);
    }
    assert_eq!((got, h.finalize()), (size, pattern_crc32(size)));
    assert_eq!(chunks, 49);

    // The largest chunk the contract allows is not capped by the body limit.
    let mut dl = c
        .download(pb::DownloadRequest {
            size: u64::from(MAX_CHUNK) + 1,
            chunk: MAX_CHUNK,
        })
        .await?
        .into_inner();
    let mut sizes = Vec::new();
    while let Some(chunk) = dl.message().await? {
        sizes.push(chunk.data.len());
    }
    assert_eq!(sizes, vec![MAX_CHUNK as usize, 1]);

    let bad = c
        .download(pb::DownloadRequest {
            size: 10,
            chunk: 5 << 20,
        })
        .await;
    assert_eq!(bad.err().map(|s| s.code()), Some(Code::InvalidArgument));
    let huge = c
        .download(pb::DownloadRequest {
            size: 2 << 30,
            chunk: 0,
        })
        .await;
    assert_eq!(huge.err().map(|s| s.code()), Some(Code::ResourceExhausted));
    Ok(())
}

#[tokio::test]
async fn stream_sends_count_events_in_order() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let mut events = c
        .stream(pb::StreamRequest {
            count: 5,
            interval_ms: 5,
            size: 8,
        })
        .await?
        .into_inner();
    let (mut seqs, mut last) = (Vec::new(), 0);
    while let Some(e) = events.message().await? {
        assert!(e.sent_at_us > last, "send times must rise");
        assert_eq!(e.payload.len(), 8);
        last = e.sent_at_us;
        seqs.push(e.seq);
    }
    assert_eq!(seqs, vec![0, 1, 2, 3, 4]);
    let bad = c
        .stream(pb::StreamRequest {
            count: 0,
            interval_ms: 0,
            size: 0,
        })
        .await;
    assert_eq!(bad.err().map(|s| s.code()), Some(Code::InvalidArgument));
    Ok(())
}

#[tokio::test]
async fn upload_returns_bytes_and_crc() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let chunks: Vec<Vec<u8>> = (0..50u32).map(|i| vec![(i % 251) as u8; 100_000]).collect();
    let mut want = crc32fast::Hasher::new();
    chunks.iter().for_each(|c| want.update(c));
    let up = c
        .upload(futures::stream::iter(
            chunks.into_iter().map(|data| pb::Chunk { data }),
        ))
        .await?
        .into_inner();
    assert_eq!((up.bytes, up.crc32), (5_000_000, want.finalize()));

    let empty = c.upload(futures::stream::iter(Vec::new())).await?;
    assert_eq!(empty.into_inner().bytes, 0);
    let oversized = pb::Chunk {
        data: vec![1u8; srv.state.max_body + 100_000],
    };
    let r = c.upload(futures::stream::iter([oversized])).await;
    assert_eq!(r.err().map(|s| s.code()), Some(Code::ResourceExhausted));
    Ok(())
}

#[tokio::test]
async fn shutdown_ends_a_long_stream_with_unavailable() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let mut events = c
        .stream(pb::StreamRequest {
            count: 1_000_000,
            interval_ms: 10,
            size: 0,
        })
        .await?
        .into_inner();
    assert!(events.message().await?.is_some());
    srv.state.shutdown.cancel();
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        // Bounded: at 10 ms apart, far fewer than this arrive within the timeout.
        for _ in 0..1_000 {
            match events.message().await {
                Ok(Some(_)) => continue,
                Ok(None) => return None,
                Err(s) => return Some(s.code()),
            }
        }
        None
    })
    .await?;
    assert_eq!(end, Some(Code::Unavailable));
    Ok(())
}
