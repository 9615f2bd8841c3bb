//! The unary Arena rpcs and reference/002's ScoreService against a real server, good
//! input and bad: the same item 42 as the dataset, proper status codes for every
//! refusal, payloads at and above the body limit, DELAY_MS honoured.

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use protolab_core::contract::score;
use protolab_core::Item;
use protolab_grpc::pb::arena as pb;
use protolab_grpc::pb::score::{score_service_client::ScoreServiceClient, JsonVector};
use tonic::{Code, Response, Status};

fn code<T>(r: Result<Response<T>, Status>) -> Option<Code> {
    r.err().map(|s| s.code())
}

fn list(offset: i64, limit: i64, category: Option<&str>) -> pb::ListItemsRequest {
    pb::ListItemsRequest {
        offset,
        limit,
        category: category.map(str::to_string),
    }
}

#[tokio::test]
async fn ping_echoes_the_client_time() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let pong = srv
        .client()
        .await?
        .ping(pb::PingRequest { client_time_us: 7 })
        .await?
        .into_inner();
    assert_eq!(pong.client_time_us, 7);
    assert!(pong.server_time_us > 0);
    Ok(())
}

#[tokio::test]
async fn item_42_matches_the_dataset_field_by_field() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let got = c
        .get_item(pb::GetItemRequest { id: 42 })
        .await?
        .into_inner();
    let want = Item::generate(42, 42);
    assert_eq!(got.id, want.id);
    assert_eq!(got.name, want.name);
    assert_eq!(got.category, want.category);
    assert_eq!(got.price, want.price);
    assert_eq!(got.description, want.description);
    assert_eq!(got.created_at, want.created_at);

    let missing = c.get_item(pb::GetItemRequest { id: 999_999 }).await;
    let status = missing.err().map(|s| (s.code(), s.message().to_string()));
    assert_eq!(
        status,
        Some((Code::NotFound, "item 999999 not found".to_string()))
    );
    Ok(())
}

#[tokio::test]
async fn list_items_pages_filters_and_refuses_bad_bounds() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let page = c.list_items(list(0, 1000, None)).await?.into_inner();
    assert_eq!(page.items.len(), 1000);
    assert_eq!((page.items[0].id, page.items[999].id), (1, 1000));
    let toys = c.list_items(list(0, 100, Some("toys"))).await?.into_inner();
    assert!(!toys.items.is_empty());
    assert!(toys.items.iter().all(|i| i.category == "toys"));

    assert_eq!(
        code(c.list_items(list(0, 1001, None)).await),
        Some(Code::InvalidArgument)
    );
    assert_eq!(
        code(c.list_items(list(-1, 10, None)).await),
        Some(Code::InvalidArgument)
    );
    assert_eq!(
        code(c.list_items(list(0, 0, None)).await),
        Some(Code::InvalidArgument)
    );
    assert!(c.get_item(pb::GetItemRequest { id: 1 }).await.is_ok());
    Ok(())
}

#[tokio::test]
async fn echo_round_trips_up_to_the_limit_and_refuses_above() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = srv.client().await?;
    let max = srv.state.max_body;
    for size in [0usize, 1024, 1 << 20, max] {
        let data: Vec<u8> = (0..size).map(|i| (i % 253) as u8).collect();
        let back = c
            .echo(pb::EchoMessage { data: data.clone() })
            .await?
            .into_inner();
        assert!(back.data == data, "echo of {size} bytes");
    }
    // Just above: the handler's check; far above: tonic's decoding limit. Both are
    // RESOURCE_EXHAUSTED, and the connection stays usable.
    for size in [max + 1, max + 100_000] {
        let r = c
            .echo(pb::EchoMessage {
                data: vec![0u8; size],
            })
            .await;
        assert_eq!(code(r), Some(Code::ResourceExhausted), "{size} bytes");
    }
    assert!(c.ping(pb::PingRequest::default()).await.is_ok());
    Ok(())
}

#[tokio::test]
async fn score_is_the_contract_value_after_the_delay() -> anyhow::Result<()> {
    let srv = TestServer::start_with(|a| a.delay_ms = 50).await?;
    let mut c = srv.client().await?;
    let doc = r#"{"vector":[1.0,2.0,4.5]}"#;
    let start = Instant::now();
    let s = c
        .score(pb::ScoreRequest { json: doc.into() })
        .await?
        .into_inner();
    assert!(start.elapsed() >= Duration::from_millis(50));
    assert_eq!(s.score, score(doc)?);
    let bad = c
        .score(pb::ScoreRequest {
            json: "{oops".into(),
        })
        .await;
    assert_eq!(code(bad), Some(Code::InvalidArgument));
    Ok(())
}

#[tokio::test]
async fn score_service_get_score_as_in_reference_002() -> anyhow::Result<()> {
    let srv = TestServer::start_with(|a| a.delay_ms = 50).await?;
    let mut scorer = ScoreServiceClient::new(srv.channel().await?);
    let doc = r#"[3, 4, {"x": 5}]"#;
    let start = Instant::now();
    let r = scorer
        .get_score(JsonVector { json: doc.into() })
        .await?
        .into_inner();
    assert!(start.elapsed() >= Duration::from_millis(50));
    assert_eq!(r.score, score(doc)?);
    let bad = scorer
        .get_score(JsonVector {
            json: "not json".into(),
        })
        .await;
    assert_eq!(code(bad), Some(Code::InvalidArgument));
    let huge = format!("[{}1]", "1,".repeat(srv.state.max_body / 2));
    let r = scorer.get_score(JsonVector { json: huge }).await;
    assert_eq!(code(r), Some(Code::ResourceExhausted));
    Ok(())
}
