//! AUTH on and off, and BROADCAST fan-out through the hub (sender excluded).

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{connect, start, unlimited, Client};
use protolab_binary::auth::AuthTokens;
use protolab_binary::BinaryConfig;
use protolab_wire::net001::{DataRequest, DataResponse, Frame};
use protolab_wire::ErrorCode;
use tokio::net::TcpStream;

fn with_auth() -> BinaryConfig {
    BinaryConfig {
        auth: AuthTokens::from_pairs([("alice", "s3cret")]),
        ..unlimited()
    }
}

fn auth(user: &str, token: &'static [u8]) -> Frame {
    Frame::Auth {
        username: user.into(),
        token: Bytes::from_static(token),
    }
}

#[tokio::test]
async fn data_needs_auth_wrong_token_is_refused_right_token_works() -> anyhow::Result<()> {
    let t = start(with_auth()).await?;
    let mut c = connect(t.srv.plain).await?;
    c.send_data(&DataRequest::GetItem { req_id: 1, id: 1 })
        .await?;
    assert_eq!(c.error_code().await?, ErrorCode::NotAuthenticated);
    c.send(&[Frame::Broadcast(Bytes::from_static(b"hi"))])
        .await?;
    assert_eq!(c.error_code().await?, ErrorCode::NotAuthenticated);
    c.ping(1).await?; // PING and ECHO need no AUTH; the connection stayed open

    c.send(&[auth("alice", b"wrong")]).await?;
    assert_eq!(
        c.frame().await?,
        Frame::AuthReply {
            success: false,
            session_id: [0; 16]
        }
    );
    c.send(&[auth("alice", b"s3cret")]).await?;
    match c.frame().await? {
        Frame::AuthReply {
            success: true,
            session_id,
        } => assert_ne!(session_id, [0; 16]),
        other => anyhow::bail!("expected AUTH_REPLY, got {other:?}"),
    }
    c.send_data(&DataRequest::GetItem { req_id: 2, id: 1 })
        .await?;
    assert!(matches!(
        c.data().await?,
        DataResponse::Item { req_id: 2, .. }
    ));
    t.srv.stop().await;
    Ok(())
}

/// Waits until the hub has `n` subscribers (connections subscribe when accepted).
async fn subscribers(t: &common::TestServer, n: usize) -> anyhow::Result<()> {
    for _ in 0..200 {
        if t.srv
            .state
            .metrics
            .encode()
            .contains(&format!("protolab_hub_subscribers {n}"))
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    anyhow::bail!("hub never reached {n} subscribers")
}

#[tokio::test]
async fn broadcast_reaches_every_other_client() -> anyhow::Result<()> {
    let t = start(unlimited()).await?;
    let mut clients: Vec<Client<TcpStream>> = Vec::new();
    for _ in 0..6 {
        clients.push(connect(t.srv.plain).await?);
    }
    subscribers(&t, 6).await?;
    let body = Bytes::from((0..=255u8).collect::<Vec<_>>()); // every byte value survives
    clients[0].send(&[Frame::Broadcast(body.clone())]).await?;
    for c in &mut clients[1..] {
        assert_eq!(c.frame().await?, Frame::Broadcast(body.clone()));
    }
    // The sender got nothing: its next reply is its own PONG.
    clients[0].ping(9).await?;
    t.srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn with_auth_only_authenticated_clients_receive_broadcasts() -> anyhow::Result<()> {
    let t = start(with_auth()).await?;
    let mut sender = connect(t.srv.plain).await?;
    let mut reader = connect(t.srv.plain).await?;
    let mut anonymous = connect(t.srv.plain).await?;
    for c in [&mut sender, &mut reader] {
        c.send(&[auth("alice", b"s3cret")]).await?;
        assert!(matches!(
            c.frame().await?,
            Frame::AuthReply { success: true, .. }
        ));
    }
    sender
        .send(&[Frame::Broadcast(Bytes::from_static(b"news"))])
        .await?;
    assert_eq!(
        reader.frame().await?,
        Frame::Broadcast(Bytes::from_static(b"news"))
    );
    anonymous.ping(4).await?; // nothing queued before its PONG
    t.srv.stop().await;
    Ok(())
}
