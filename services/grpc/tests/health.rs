//! grpc.health.v1 reports Arena, ScoreService and the server as a whole SERVING, and
//! NOT_FOUND for a service it does not have.

mod common;

use common::TestServer;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

#[tokio::test]
async fn health_reports_our_services_serving() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let mut health = HealthClient::new(srv.channel().await?);
    for service in ["", "arena.Arena", "score.ScoreService"] {
        let r = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await?
            .into_inner();
        assert_eq!(r.status, ServingStatus::Serving as i32, "{service:?}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "no.Such".into(),
        })
        .await;
    assert_eq!(unknown.err().map(|s| s.code()), Some(Code::NotFound));
    Ok(())
}
