//! Starts a real REST server on loopback ports chosen by the OS, with TLS certs
//! generated for the test, and builds clients for each transport.
#![allow(dead_code)] // each test file uses a different part

use std::net::SocketAddr;
use std::path::PathBuf;

use protolab_core::server::{start_in_process, InProcess};
use protolab_core::{tls, ServerArgs, ServerState};

pub struct TestServer {
    pub plain: SocketAddr,
    pub tls: SocketAddr,
    pub admin: SocketAddr,
    pub state: ServerState,
    pub dir: tempfile::TempDir,
    server: InProcess,
}

impl TestServer {
    pub async fn start() -> anyhow::Result<TestServer> {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tune: impl FnOnce(&mut ServerArgs)) -> anyhow::Result<TestServer> {
        let dir = tempfile::tempdir()?;
        let server = start_in_process(
            &protolab_rest::SPEC,
            dir.path(),
            2_000,
            tune,
            protolab_rest::app,
        )
        .await?;
        Ok(TestServer {
            plain: server.plain,
            tls: server.tls,
            admin: server.admin,
            state: server.state.clone(),
            dir,
            server,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.plain)
    }

    pub fn tls_url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.tls.port())
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    /// HTTPS client trusting the test CA, offering `alpn`.
    pub fn tls_client(&self, alpn: &[&[u8]]) -> anyhow::Result<reqwest::Client> {
        let config = tls::client_config(&self.ca(), None, alpn)?;
        Ok(reqwest::Client::builder()
            .use_preconfigured_tls(rustls::ClientConfig::clone(&config))
            .resolve("localhost", self.tls)
            .build()?)
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }

    pub fn task(self) -> tokio::task::JoinHandle<()> {
        self.server.task
    }
}

pub fn h1() -> reqwest::Client {
    reqwest::Client::builder()
        .http1_only()
        .build()
        .expect("reqwest client")
}

pub fn h2c() -> reqwest::Client {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .expect("reqwest client")
}
