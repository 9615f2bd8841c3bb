//! Starts a real binary server on loopback ports chosen by the OS and talks to it
//! with raw bytes and the `protolab_wire` codecs, over TCP and TLS.
#![allow(dead_code)] // each test file uses a different part

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use protolab_binary::{start_in_process, BinaryConfig, InProcess};
use protolab_core::ServerArgs;
use protolab_wire::net001::{DataRequest, DataResponse, Frame, Net001Codec};
use protolab_wire::{ErrorCode, WireError};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Decoder;

/// Longest any single read in a test waits.
pub const STEP: Duration = Duration::from_secs(10);
/// Rows in the test dataset.
pub const ITEMS: u32 = 2_000;

pub struct TestServer {
    pub srv: InProcess,
    pub dir: tempfile::TempDir,
}

/// A config with no rate limits (tests that are not about them).
pub fn unlimited() -> BinaryConfig {
    BinaryConfig {
        rate_limit: 0,
        global_rate_limit: 0,
        ..BinaryConfig::default()
    }
}

pub async fn start(config: BinaryConfig) -> anyhow::Result<TestServer> {
    start_with(config, |_| {}).await
}

pub async fn start_with(
    config: BinaryConfig,
    tune: impl FnOnce(&mut ServerArgs),
) -> anyhow::Result<TestServer> {
    let dir = tempfile::tempdir()?;
    let srv = start_in_process(dir.path(), ITEMS, tune, config).await?;
    Ok(TestServer { srv, dir })
}

/// A NET-001 client over any stream: frames out, frames (or rejections) in.
pub struct Client<S> {
    pub io: S,
    buf: BytesMut,
    codec: Net001Codec,
}

pub async fn connect(addr: SocketAddr) -> anyhow::Result<Client<TcpStream>> {
    Ok(Client::new(TcpStream::connect(addr).await?))
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    pub fn new(io: S) -> Self {
        Client {
            io,
            buf: BytesMut::new(),
            codec: Net001Codec::new(),
        }
    }

    pub async fn send(&mut self, frames: &[Frame]) -> anyhow::Result<()> {
        let mut out = BytesMut::new();
        for f in frames {
            f.encode(&mut out)?;
        }
        self.send_raw(&out).await
    }

    pub async fn send_data(&mut self, req: &DataRequest) -> anyhow::Result<()> {
        let mut out = BytesMut::new();
        req.encode_frame(&mut out)?;
        self.send_raw(&out).await
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.io.write_all(bytes).await?;
        self.io.flush().await?;
        Ok(())
    }

    /// The next item; `None` at EOF (or a reset). Fails after `STEP`.
    pub async fn recv(&mut self) -> anyhow::Result<Option<Result<Frame, WireError>>> {
        tokio::time::timeout(STEP, self.recv_inner()).await?
    }

    async fn recv_inner(&mut self) -> anyhow::Result<Option<Result<Frame, WireError>>> {
        loop {
            if let Some(item) = self.codec.decode(&mut self.buf)? {
                return Ok(Some(item));
            }
            match self.io.read_buf(&mut self.buf).await {
                Ok(0) | Err(_) => return Ok(self.codec.decode_eof(&mut self.buf).ok().flatten()),
                Ok(_) => {}
            }
        }
    }

    /// The next frame, which must be a valid one.
    pub async fn frame(&mut self) -> anyhow::Result<Frame> {
        match self.recv().await? {
            Some(Ok(f)) => Ok(f),
            Some(Err(e)) => anyhow::bail!("invalid frame from server: {e}"),
            None => anyhow::bail!("server closed the connection"),
        }
    }

    /// The next frame, which must be a DATA response.
    pub async fn data(&mut self) -> anyhow::Result<DataResponse> {
        match self.frame().await? {
            Frame::Data(p) => Ok(DataResponse::decode(p)?),
            other => anyhow::bail!("expected DATA, got {other:?}"),
        }
    }

    /// The code of the next frame, which must be an ERROR.
    pub async fn error_code(&mut self) -> anyhow::Result<ErrorCode> {
        match self.frame().await? {
            Frame::Error { code, .. } => Ok(code),
            other => anyhow::bail!("expected ERROR, got {other:?}"),
        }
    }

    /// Reads frames until EOF (at most `STEP`); the frames read on the way.
    pub async fn until_eof(&mut self) -> anyhow::Result<Vec<Frame>> {
        let mut seen = Vec::new();
        while let Some(item) = self.recv().await? {
            if let Ok(f) = item {
                seen.push(f);
            }
        }
        Ok(seen)
    }

    /// PING with `ts`, expecting the PONG.
    pub async fn ping(&mut self, ts: u64) -> anyhow::Result<()> {
        self.send(&[Frame::Ping { timestamp_us: ts }]).await?;
        match self.frame().await? {
            Frame::Pong { timestamp_us } if timestamp_us == ts => Ok(()),
            other => anyhow::bail!("expected PONG {ts}, got {other:?}"),
        }
    }
}

/// Bytes of one encoded frame.
pub fn encode(frame: &Frame) -> Bytes {
    let mut out = BytesMut::new();
    frame.encode(&mut out).expect("test frame encodes");
    out.freeze()
}

/// A framed-protocol (0x12345678) client.
pub struct FramedClient {
    pub io: TcpStream,
    buf: BytesMut,
    codec: protolab_wire::FramedCodec,
}

impl FramedClient {
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<FramedClient> {
        Ok(FramedClient {
            io: TcpStream::connect(addr).await?,
            buf: BytesMut::new(),
            codec: protolab_wire::FramedCodec::with_max_payload(8 << 20),
        })
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.io.write_all(bytes).await?;
        Ok(())
    }

    /// The next frame; `None` at EOF. Fails after `STEP`.
    pub async fn frame(&mut self) -> anyhow::Result<Option<protolab_wire::framed::Frame>> {
        tokio::time::timeout(STEP, async {
            loop {
                if let Some(item) = self.codec.decode(&mut self.buf)? {
                    return Ok(Some(item?));
                }
                match self.io.read_buf(&mut self.buf).await {
                    Ok(0) | Err(_) => return Ok(None),
                    Ok(_) => {}
                }
            }
        })
        .await?
    }

    /// The next frame, which must be a response.
    pub async fn response(&mut self) -> anyhow::Result<protolab_wire::framed::Response> {
        match self.frame().await? {
            Some(f) if f.kind == protolab_wire::framed::FrameKind::Response => {
                Ok(protolab_wire::framed::Response::decode(&f.payload)?)
            }
            other => anyhow::bail!("expected a response, got {other:?}"),
        }
    }
}
