//! Starts a real gRPC server on loopback ports chosen by the OS (plain, and TLS with
//! client-certificate verification) and connects tonic clients to it.
#![allow(dead_code)] // each test file uses a different part

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use hyper_util::rt::TokioIo;
use protolab_core::server::start_in_process;
use protolab_core::{tls, ServerArgs, ServerState};
use protolab_grpc::pb::arena::arena_client::ArenaClient;
use rustls_pki_types::ServerName;
use tonic::transport::{Channel, Endpoint};

/// Largest reply a test client accepts: a download chunk of the contract's maximum
/// (4 MiB) plus protobuf framing.
pub const MAX_REPLY: usize = 8 << 20;

pub struct TestServer {
    pub plain: SocketAddr,
    pub tls: SocketAddr,
    pub state: ServerState,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> anyhow::Result<TestServer> {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tune: impl FnOnce(&mut ServerArgs)) -> anyhow::Result<TestServer> {
        let dir = tempfile::tempdir()?;
        let ca = dir.path().join("ca.crt");
        let mtls = |a: &mut ServerArgs| {
            a.tls_ca = Some(ca);
            tune(a);
        };
        let s = start_in_process(
            &protolab_grpc::SPEC,
            dir.path(),
            2_000,
            mtls,
            protolab_grpc::app,
        )
        .await?;
        Ok(TestServer {
            plain: s.plain,
            tls: s.tls,
            state: s.state,
            dir,
        })
    }

    pub async fn channel(&self) -> anyhow::Result<Channel> {
        Ok(Endpoint::from_shared(format!("http://{}", self.plain))?
            .connect()
            .await?)
    }

    pub async fn client(&self) -> anyhow::Result<ArenaClient<Channel>> {
        Ok(ArenaClient::new(self.channel().await?).max_decoding_message_size(MAX_REPLY))
    }

    /// A channel over TLS 1.3 to the mTLS port, presenting `client` (cert, key) if given.
    pub async fn tls_channel(&self, with_client_cert: bool) -> anyhow::Result<Channel> {
        let dir = self.dir.path();
        let client = with_client_cert.then(|| (dir.join("client.crt"), dir.join("client.key")));
        tls_channel(
            self.tls,
            &dir.join("ca.crt"),
            client.as_ref().map(|(c, k)| (c.as_path(), k.as_path())),
        )
        .await
    }
}

pub async fn tls_channel(
    addr: SocketAddr,
    ca: &Path,
    client: Option<(&Path, &Path)>,
) -> anyhow::Result<Channel> {
    let config = tls::client_config(ca, client, tls::ALPN_H2)?;
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(&config));
    let channel = Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_| {
            let connector = connector.clone();
            async move {
                let tcp = tokio::net::TcpStream::connect(addr).await?;
                let name = ServerName::try_from("localhost").map_err(std::io::Error::other)?;
                let tls = connector.connect(name, tcp).await?;
                Ok::<_, std::io::Error>(TokioIo::new(tls))
            }
        }))
        .await?;
    Ok(channel)
}
