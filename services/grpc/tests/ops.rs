//! Every Arena rpc and reference/002's ScoreService against a real server, good input
//! and bad: the same item 42 as the dataset, proper status codes, streams both ways.

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use protolab_core::contract::{pattern_crc32, score};
use protolab_core::Item;
use protolab_grpc::pb::arena as pb;
use protolab_grpc::pb::score::{score_service_client::ScoreServiceClient, JsonVector};
use tonic::Code;

#[tokio::test]
async fn item_42_and_pages_match_the_dataset() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let got = c
        .get_item(pb::GetItemRequest { id: 42 })
        .await?
        .into_inner();
    let want = Item::generate(42, 42);
    assert_eq!(
        (
            got.id,
            &got.name,
            &got.category,
            got.price,
            &got.description,
            &got.created_at
        ),
        (
            want.id,
            &want.name,
            &want.category,
            want.price,
            &want.description,
            &want.created_at
        )
    );
    let page = c
        .list_items(pb::ListItemsRequest {
            offset: 0,
            limit: 1000,
            category: None,
        })
        .await?
        .into_inner();
    assert_eq!(page.items.len(), 1000);
    assert_eq!(page.items[999].id, 1000);
    let toys = c
        .list_items(pb::ListItemsRequest {
            offset: 0,
            limit: 100,
            category: Some("toys".into()),
        })
        .await?
        .into_inner();
    assert!(!toys.items.is_empty() && toys.items.iter().all(|i| i.category == "toys"));
    let pong = c
        .ping(pb::PingRequest { client_time_us: 7 })
        .await?
        .into_inner();
    assert_eq!(pong.client_time_us, 7);
    Ok(())
}

#[tokio::test]
async fn bad_arguments_get_status_codes_and_the_server_keeps_serving() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let code = |r: Result<tonic::Response<pb::ItemList>, tonic::Status>| r.err().map(|s| s.code());
    assert_eq!(
        code(
            c.list_items(pb::ListItemsRequest {
                offset: 0,
                limit: 1001,
                category: None
            })
            .await
        ),
        Some(Code::InvalidArgument)
    );
    assert_eq!(
        code(
            c.list_items(pb::ListItemsRequest {
                offset: -1,
                limit: 10,
                category: None
            })
            .await
        ),
        Some(Code::InvalidArgument)
    );
    assert_eq!(
        code(
            c.list_items(pb::ListItemsRequest {
                offset: 0,
                limit: -5,
                category: None
            })
            .await
        ),
        Some(Code::InvalidArgument)
    );
    let missing = c.get_item(pb::GetItemRequest { id: 999_999 }).await;
    assert_eq!(
        missing.as_ref().err().map(|s| s.code()),
        Some(Code::NotFound)
    );
    assert_eq!(
        missing.err().map(|s| s.message().to_string()).as_deref(),
        Some("item 999999 not found")
    );
    let bad = c
        .score(pb::ScoreRequest {
            json: "{oops".into(),
        })
        .await;
    assert_eq!(bad.err().map(|s| s.code()), Some(Code::InvalidArgument));
    let huge = c
        .echo(pb::EchoMessage {
            data: vec![0u8; srv.state.max_body + 16],
        })
        .await;
    assert_eq!(huge.err().map(|s| s.code()), Some(Code::ResourceExhausted));
    let bad_dl = c
        .download(pb::DownloadRequest {
            size: 10,
            chunk: 5 << 20,
        })
        .await;
    assert_eq!(bad_dl.err().map(|s| s.code()), Some(Code::InvalidArgument));
    assert!(c.get_item(pb::GetItemRequest { id: 1 }).await.is_ok());
    Ok(())
}

#[tokio::test]
async fn echo_and_score_both_services_with_delay() -> anyhow::Result<()> {
    let srv = TestServer::start_with(|a| a.delay_ms = 50).await?;
    let mut c = srv.client().await?;
    for size in [1024usize, 1 << 20] {
        let data: Vec<u8> = (0..size).map(|i| (i % 253) as u8).collect();
        let back = c
            .echo(pb::EchoMessage { data: data.clone() })
            .await?
            .into_inner();
        assert!(back.data == data, "echo of {size} bytes");
    }
    let doc = r#"{"vector":[1.0,2.0,4.5]}"#;
    let start = Instant::now();
    let s = c
        .score(pb::ScoreRequest { json: doc.into() })
        .await?
        .into_inner();
    assert!(start.elapsed() >= Duration::from_millis(50));
    assert_eq!(s.score, score(doc)?);
    let mut scorer = ScoreServiceClient::new(srv.channel().await?);
    let r = scorer
        .get_score(JsonVector { json: doc.into() })
        .await?
        .into_inner();
    assert_eq!(r.score, score(doc)?);
    Ok(())
}

#[tokio::test]
async fn streams_down_and_up() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let size = 3 * 1024 * 1024 + 7;
    let mut dl = c
        .download(pb::DownloadRequest { size, chunk: 65536 })
        .await?
        .into_inner();
    let mut h = crc32fast::Hasher::new();
    let mut got = 0u64;
    while let Some(chunk) = dl.message().await? {
        assert!(chunk.data.len() <= 65536);
        got += chunk.data.len() as u64;
        h.update(&chunk.data);
    }
    assert_eq!((got, h.finalize()), (size, pattern_crc32(size)));

    let mut events = c
        .stream(pb::StreamRequest {
            count: 5,
            interval_ms: 5,
            size: 8,
        })
        .await?
        .into_inner();
    let mut seqs = Vec::new();
    let mut last = 0;
    while let Some(e) = events.message().await? {
        assert!(e.sent_at_us >= last && e.payload.len() == 8);
        last = e.sent_at_us;
        seqs.push(e.seq);
    }
    assert_eq!(seqs, vec![0, 1, 2, 3, 4]);

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
    Ok(())
}

#[tokio::test]
async fn a_client_leaving_mid_stream_does_not_hurt_the_next() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    {
        let mut c = srv.client().await?;
        let mut s = c
            .stream(pb::StreamRequest {
                count: 1_000_000,
                interval_ms: 0,
                size: 1024,
            })
            .await?
            .into_inner();
        let _ = s.message().await?;
        let mut dl = c
            .download(pb::DownloadRequest {
                size: 500_000_000,
                chunk: 65536,
            })
            .await?
            .into_inner();
        let _ = dl.message().await?;
    } // dropped: the channel closes under both streams
    let mut c = srv.client().await?;
    assert_eq!(
        c.get_item(pb::GetItemRequest { id: 3 })
            .await?
            .into_inner()
            .id,
        3
    );
    Ok(())
}
