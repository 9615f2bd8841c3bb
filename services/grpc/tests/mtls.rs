//! The TLS port requires a client certificate signed by TLS_CA: with one, the same
//! item 42 as over plain text; without one, or with one from another CA, the handshake
//! is refused; and the server keeps serving certified clients afterwards.

mod common;

use common::{tls_channel, TestServer};
use protolab_core::Item;
use protolab_grpc::pb::arena::{arena_client::ArenaClient, GetItemRequest};
use tonic::transport::Channel;

/// True when the connection or the first call over it fails. Under TLS 1.3 the
/// client may finish its side of the handshake before the server checks the
/// certificate, so a refusal can surface at either point.
async fn refused(channel: anyhow::Result<Channel>) -> bool {
    match channel {
        Err(_) => true,
        Ok(ch) => ArenaClient::new(ch)
            .get_item(GetItemRequest { id: 42 })
            .await
            .is_err(),
    }
}

#[tokio::test]
async fn a_certified_client_gets_item_42() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = ArenaClient::new(srv.tls_channel(true).await?);
    let item = c.get_item(GetItemRequest { id: 42 }).await?.into_inner();
    let want = Item::generate(42, 42);
    assert_eq!(
        (item.id, item.name, item.price),
        (want.id, want.name, want.price)
    );
    Ok(())
}

#[tokio::test]
async fn clients_without_a_valid_certificate_are_refused() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    assert!(
        refused(srv.tls_channel(false).await).await,
        "a client without a certificate was served"
    );

    let other = tempfile::tempdir()?;
    protolab_core::certs::write_to(other.path())?;
    let stranger = tls_channel(
        srv.tls,
        &srv.dir.path().join("ca.crt"),
        Some((
            &other.path().join("client.crt"),
            &other.path().join("client.key"),
        )),
    )
    .await;
    assert!(
        refused(stranger).await,
        "a client with a foreign certificate was served"
    );

    // A new certified connection after the refusals is served.
    let mut c = ArenaClient::new(srv.tls_channel(true).await?);
    let again = c.get_item(GetItemRequest { id: 7 }).await?.into_inner();
    assert_eq!(again.id, 7);
    Ok(())
}
