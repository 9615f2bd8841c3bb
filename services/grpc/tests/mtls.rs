//! The TLS port requires a client certificate signed by TLS_CA: with one, the same
//! item 42; without one, the handshake is refused and the server keeps serving.

mod common;

use common::{tls_channel, TestServer};
use protolab_grpc::pb::arena::{arena_client::ArenaClient, GetItemRequest};

#[tokio::test]
async fn mutual_tls_serves_certified_clients_only() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut c = ArenaClient::new(srv.tls_channel(true).await?);
    let item = c.get_item(GetItemRequest { id: 42 }).await?.into_inner();
    assert_eq!(item.name, protolab_core::Item::generate(42, 42).name);

    // No client certificate: either connect or the first call fails.
    let refused = match srv.tls_channel(false).await {
        Err(_) => true,
        Ok(ch) => ArenaClient::new(ch)
            .get_item(GetItemRequest { id: 42 })
            .await
            .is_err(),
    };
    assert!(refused, "a client without a certificate was served");

    // A certificate from another CA is refused too.
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
    let refused = match stranger {
        Err(_) => true,
        Ok(ch) => ArenaClient::new(ch)
            .get_item(GetItemRequest { id: 42 })
            .await
            .is_err(),
    };
    assert!(refused, "a client with a foreign certificate was served");

    let again = c.get_item(GetItemRequest { id: 7 }).await?.into_inner();
    assert_eq!(again.id, 7);
    Ok(())
}
