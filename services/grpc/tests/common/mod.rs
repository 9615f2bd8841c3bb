//! Starts a real gRPC server on loopback ports chosen by the OS (plain, and TLS with
//! client-certificate verification) and connects tonic clients to it.
#![allow(dead_code)] // each test file uses a different part

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use hyper_util::rt::TokioIo;
use protolab_core::server::{ephemeral_args, run_http, Listeners};
use protolab_core::{certs, tls, ServerArgs, ServerState};
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
        certs::write_to(dir.path())?;
        let mut args = ephemeral_args(dir.path().join("items.db"), 2_000);
        args.tls_cert = Some(dir.path().join("server.crt"));
        args.tls_key = Some(dir.path().join("server.key"));
        args.tls_ca = Some(dir.path().join("ca.crt"));
        tune(&mut args);
        let state = ServerState::open(&protolab_grpc::SPEC, &args).await?;
        let listeners = Listeners::bind(&protolab_grpc::SPEC, &args).await?;
        let (plain, tls, _) = listeners.addrs();
        tokio::spawn(run_http(
            protolab_grpc::app(state.clone()),
            listeners,
            state.clone(),
            true,
        ));
        Ok(TestServer {
            plain,
            tls: tls.ok_or_else(|| anyhow::anyhow!("no TLS port"))?,
            state,
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
