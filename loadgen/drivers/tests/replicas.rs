//! Replicas as the lab reads them: two real binary servers standing for two replicas
//! of one service, their admin summaries read together (`replica_summaries`), each
//! one's message counter counting only the calls it answered, and no reading at all
//! when one replica does not answer.

mod common;

use std::net::SocketAddr;

use common::{binary, unlimited};
use protolab_bench::{Driver, OpSpec};
use protolab_drivers::{replica_summaries, FramedDriver, Peers};

fn addr(s: &str) -> anyhow::Result<SocketAddr> {
    Ok(s.parse()?)
}

#[tokio::test]
async fn each_replica_counts_the_calls_it_answered() -> anyhow::Result<()> {
    let (a, b) = (binary(unlimited()).await?, binary(unlimited()).await?);
    let admins = Peers::of(vec![addr(&a.admin())?, addr(&b.admin())?]).expect("two");
    let before = replica_summaries(&admins).await.expect("both answer");
    assert_eq!(before.len(), 2);
    let d = FramedDriver::new(&a.framed(), 42, &OpSpec::Ping).await?;
    let (mut conn, _) = d.connect().await?;
    for seq in 0..25 {
        d.call(&mut conn, &OpSpec::Ping, seq).await?;
    }
    let after = replica_summaries(&admins).await.expect("both answer");
    let grown: Vec<u64> = before
        .iter()
        .zip(&after)
        .map(|((_, s0), (_, s1))| s1.messages_total - s0.messages_total)
        .collect();
    assert_eq!(
        grown,
        vec![25, 0],
        "only the replica called counts the calls"
    );
    assert!(after.iter().all(|(_, s)| s.replica.is_some()));
    Ok(())
}

#[tokio::test]
async fn a_replica_that_does_not_answer_spoils_the_reading() -> anyhow::Result<()> {
    let a = binary(unlimited()).await?;
    let gone = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let admins = Peers::of(vec![addr(&a.admin())?, gone]).expect("two");
    assert!(
        replica_summaries(&admins).await.is_none(),
        "a sum over some replicas would be a wrong figure"
    );
    Ok(())
}
