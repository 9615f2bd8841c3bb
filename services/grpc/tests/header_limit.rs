//! Request headers are capped (core's `--max-header-bytes`): a call whose metadata
//! exceeds the cap is refused (h2 answers 431 on the stream, or GOAWAY far over it)
//! and the server goes on serving, on the same channel and on new ones.

mod common;
#[path = "../../core/tests/support/headers.rs"]
mod headers;

use common::TestServer;
use headers::{header_value, BIG_HEADER};
use protolab_core::serve::DEFAULT_MAX_HEADER_BYTES;
use protolab_grpc::pb::arena::PingRequest;
use tonic::metadata::MetadataValue;

fn ping_with_metadata(len: usize) -> anyhow::Result<tonic::Request<PingRequest>> {
    let mut req = tonic::Request::new(PingRequest { client_time_us: 1 });
    let value = MetadataValue::try_from(header_value(len))?;
    req.metadata_mut().insert("x-big", value);
    Ok(req)
}

#[tokio::test]
async fn oversized_metadata_is_refused_and_others_are_served() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut client = srv.client().await?;
    let over = client
        .ping(ping_with_metadata(DEFAULT_MAX_HEADER_BYTES + 4096)?)
        .await;
    assert!(over.is_err(), "a call over the header cap was served");
    assert_eq!(
        client
            .ping(ping_with_metadata(1024)?)
            .await?
            .into_inner()
            .client_time_us,
        1
    );

    let big = srv
        .client()
        .await?
        .ping(ping_with_metadata(BIG_HEADER)?)
        .await;
    assert!(big.is_err(), "an 80 KB header was served");
    let pong = srv
        .client()
        .await?
        .ping(PingRequest { client_time_us: 2 })
        .await?;
    assert_eq!(pong.into_inner().client_time_us, 2);
    Ok(())
}
