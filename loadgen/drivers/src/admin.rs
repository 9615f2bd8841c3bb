//! A server's own view of itself, from its admin endpoint (`/metrics?format=json`,
//! core's `AdminSummary`): what the hold kind reads for memory per connection.

use std::net::SocketAddr;
use std::time::Duration;

use protolab_bench::usage::{AdminReading, AdminView};
use protolab_bench::Kind;
use protolab_core::admin::AdminSummary;

/// The hold kind's view of the server: its admin `/metrics?format=json`.
pub fn admin_view(kind: &Kind) -> Option<AdminView> {
    let Kind::Hold {
        admin: Some(addr), ..
    } = kind
    else {
        return None;
    };
    let addr = addr.clone();
    Some(std::sync::Arc::new(move || {
        let addr = addr.clone();
        Box::pin(async move { admin_reading(&addr).await })
    }))
}

/// The server's admin JSON summary at `admin` (`host:port`); `None` when it does not
/// answer within 5 s.
pub async fn admin_summary(admin: &str) -> Option<AdminSummary> {
    let (status, body) =
        crate::get_once(admin, "/metrics?format=json", Duration::from_secs(5)).await?;
    if status != 200 {
        return None;
    }
    serde_json::from_slice(&body).ok()
}

/// The admin JSON summary of every replica behind `admin` (`host:port`; a name with
/// several addresses, such as a swarm service in `dnsrr` mode, has one replica at
/// each), with each one's address, read at once; `None` when the name does not
/// resolve or any replica does not answer within 5 s (a sum over some of them
/// would be a wrong figure, not a smaller one).
pub async fn admin_summaries(admin: &str) -> Option<Vec<(SocketAddr, AdminSummary)>> {
    replica_summaries(&crate::Peers::resolve(admin).await.ok()?).await
}

/// The admin JSON summary at each of `peers`, read at once; `None` when any does not
/// answer within 5 s.
pub async fn replica_summaries(peers: &crate::Peers) -> Option<Vec<(SocketAddr, AdminSummary)>> {
    let reads = peers.addrs().iter().map(|addr| async move {
        let summary = admin_summary(&addr.to_string()).await?;
        Some((*addr, summary))
    });
    futures::future::join_all(reads).await.into_iter().collect()
}

/// The server's own RSS and open connections from its admin JSON.
pub async fn admin_reading(admin: &str) -> Option<AdminReading> {
    let summary = admin_summary(admin).await?;
    Some(AdminReading {
        rss_bytes: summary.rss_bytes,
        open_connections: Some(summary.open_connections),
    })
}
