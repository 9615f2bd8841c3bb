//! Starts a real REST server on loopback ports chosen by the OS, with TLS certs
//! generated for the test, and builds clients for each transport.
#![allow(dead_code)] // each test file uses a different part

use std::net::SocketAddr;
use std::path::PathBuf;

use protolab_core::server::{ephemeral_args, run_http, Listeners};
use protolab_core::{certs, tls, ServerArgs, ServerState};

pub struct TestServer {
    pub plain: SocketAddr,
    pub tls: SocketAddr,
    pub admin: SocketAddr,
    pub state: ServerState,
    pub dir: tempfile::TempDir,
    pub task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    pub async fn start() -> anyhow::Result<TestServer> {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tune: impl FnOnce(&mut ServerArgs)) -> anyhow::Result<TestServer> {
        let dir = tempfile::tempdir()?;
        certs::write_to(dir.path())?;
        let mut args = ephemeral_args(dir.path().join("items.db"), 2_000);
        args.tls_cert = Some(dir.path().join("server.crt"));
        args.tls_key = Some(dir.path().join("server.key"));
        tune(&mut args);
        let state = ServerState::open(&protolab_rest::SPEC, &args).await?;
        let listeners = Listeners::bind(&protolab_rest::SPEC, &args).await?;
        let (plain, tls, admin) = listeners.addrs();
        let task = tokio::spawn(run_http(
            protolab_rest::app(state.clone()),
            listeners,
            state.clone(),
            false,
        ));
        Ok(TestServer {
            plain,
            tls: tls.ok_or_else(|| anyhow::anyhow!("no TLS port"))?,
            admin,
            state,
            dir,
            task,
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
        self.state.shutdown.cancel();
        let _ = self.task.await;
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
