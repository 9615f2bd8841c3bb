//! Server reflection lists every service, so grpcurl and friends need no protos:
//! v1 (current grpcurl) and v1alpha (Python's grpcio-reflection, older grpcurl,
//! Evans), each asked by a real client of that version.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::TestServer;

/// Services every reflection answer must name.
const SERVICES: [&str; 3] = ["arena.Arena", "score.ScoreService", "grpc.health.v1.Health"];

/// The Python v1alpha client (grpcio-reflection), beside this file.
const PYTHON_CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reflection_v1alpha.py");

/// Longest the Python client may take.
const PYTHON_TIMEOUT: Duration = Duration::from_secs(60);

fn assert_lists_services(names: &[String]) {
    for want in SERVICES {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
}

/// Asks the server's reflection service of version `$v` (tonic-reflection's own
/// client for it) to list the services, and checks the answer names every one.
macro_rules! lists_the_services {
    ($name:ident, $v:ident) => {
        #[tokio::test]
        async fn $name() -> anyhow::Result<()> {
            use tonic_reflection::pb::$v::server_reflection_client::ServerReflectionClient;
            use tonic_reflection::pb::$v::server_reflection_request::MessageRequest;
            use tonic_reflection::pb::$v::server_reflection_response::MessageResponse;
            use tonic_reflection::pb::$v::ServerReflectionRequest;

            let srv = TestServer::start().await?;
            let mut reflection = ServerReflectionClient::new(srv.channel().await?);
            let req = ServerReflectionRequest {
                host: String::new(),
                message_request: Some(MessageRequest::ListServices(String::new())),
            };
            let mut answers = reflection
                .server_reflection_info(futures::stream::iter([req]))
                .await?
                .into_inner();
            let answer = answers
                .message()
                .await?
                .ok_or_else(|| anyhow::anyhow!("no reflection answer"))?;
            let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
                anyhow::bail!("unexpected reflection answer");
            };
            let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
            assert_lists_services(&names);
            Ok(())
        }
    };
}

lists_the_services!(reflection_v1_lists_the_services, v1);
lists_the_services!(reflection_v1alpha_lists_the_services, v1alpha);

/// Whether Python's grpcio-reflection can be imported. Without it the Python test
/// is skipped on a developer's machine, and fails under CI (`CI` set), where
/// `.ci/run` installs it.
async fn python_reflection_available() -> anyhow::Result<bool> {
    let probe = tokio::process::Command::new("python3")
        .args(["-c", "import grpc_reflection"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
    let available = probe.is_ok_and(|s| s.success());
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    anyhow::ensure!(
        available || !ci,
        "CI is set but python3 cannot import grpc_reflection \
         (python3 -m pip install grpcio grpcio-reflection)"
    );
    Ok(available)
}

#[tokio::test]
async fn python_grpcio_reflection_v1alpha_finds_and_calls_ping() -> anyhow::Result<()> {
    if !python_reflection_available().await? {
        println!(
            "SKIPPED: python3 cannot import grpc_reflection \
             (python3 -m pip install grpcio grpcio-reflection)"
        );
        return Ok(());
    }
    anyhow::ensure!(Path::new(PYTHON_CLIENT).exists(), "{PYTHON_CLIENT} missing");
    let srv = TestServer::start().await?;
    let run = tokio::process::Command::new("python3")
        .arg(PYTHON_CLIENT)
        .arg(srv.plain.to_string())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(PYTHON_TIMEOUT, run).await??;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python client failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    for want in SERVICES {
        assert!(stdout.contains(want), "{want} not listed:\n{stdout}");
    }
    Ok(())
}
