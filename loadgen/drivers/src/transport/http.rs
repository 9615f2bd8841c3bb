//! An HTTP client connection for drivers that speak HTTP (REST, GraphQL, SSE, and
//! the transport under a WebSocket upgrade): HTTP/1.1 or HTTP/2, plain (h2 by prior
//! knowledge) or TLS (h2 or http/1.1 by ALPN), built directly on hyper so that the
//! engine, not a pool, decides how many connections exist, and every stage of a
//! connection set-up can be timed.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio_rustls::TlsConnector;

use crate::transport::h1::{self, RawH1};
use crate::transport::{dial, h2_handshake, Io, Peers, TlsTo};
use protolab_bench::driver::{CallError, CallOutcome, ConnectTimings};

/// Which HTTP version to speak. Over TLS this is the preference offered by ALPN;
/// the server's choice wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HttpVersion {
    H1,
    H2,
}

impl std::str::FromStr for HttpVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<HttpVersion, String> {
        match s {
            "h1" | "1.1" | "http1" => Ok(HttpVersion::H1),
            "h2" | "2" | "http2" => Ok(HttpVersion::H2),
            other => Err(format!("HTTP version {other:?} is not h1 or h2")),
        }
    }
}

/// TLS material for a client.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// A resolved HTTP target.
#[derive(Clone)]
pub struct HttpTarget {
    /// Where connections go: every address the host resolved to, in turn.
    pub peers: Peers,
    pub authority: String,
    pub scheme: &'static str,
    pub version: HttpVersion,
    tls: Option<TlsTo>,
}

/// One plain HTTP/1.1 GET of `path` on `host:port` (a server's admin endpoint):
/// (status, body), or `None` when it does not answer within `within`.
pub async fn get_once(addr: &str, path: &str, within: Duration) -> Option<(u16, Bytes)> {
    let fetch = async {
        let target = HttpTarget::new(addr, HttpVersion::H1, &TlsOptions::default())
            .await
            .ok()?;
        let (mut conn, _) = target.connect().await.ok()?;
        let req = target.request(http::Method::GET, path, Bytes::new());
        let answer = conn.send(req, true).await.ok()?;
        Some((answer.status.as_u16(), answer.body))
    };
    tokio::time::timeout(within, fetch).await.ok().flatten()
}

impl HttpTarget {
    /// Parses `http://host:port` / `https://host:port` (or `host:port`, plain) and
    /// resolves it once, so connect timings never include DNS.
    pub async fn new(
        target: &str,
        version: HttpVersion,
        tls: &TlsOptions,
    ) -> Result<HttpTarget, CallError> {
        let target = if target.contains("://") {
            target.to_string()
        } else {
            format!("http://{target}")
        };
        let uri: Uri = target
            .parse()
            .map_err(|e| CallError::Connect(format!("bad target {target}: {e}")))?;
        let https = uri.scheme_str() == Some("https");
        let host = uri
            .host()
            .ok_or_else(|| CallError::Connect(format!("no host in {target}")))?
            .to_string();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let peers = Peers::resolve(&format!("{host}:{port}")).await?;
        let tls = if https {
            let ca = tls
                .ca
                .as_deref()
                .ok_or_else(|| CallError::Connect("https needs --ca".into()))?;
            let alpn: &[&[u8]] = match version {
                HttpVersion::H2 => &[b"h2", b"http/1.1"],
                HttpVersion::H1 => &[b"http/1.1"],
            };
            let client = tls.cert.as_deref().zip(tls.key.as_deref());
            let config = protolab_core::tls::client_config(ca, client, alpn)
                .map_err(|e| CallError::Connect(e.to_string()))?;
            let name = ServerName::try_from(host.clone())
                .map_err(|e| CallError::Connect(e.to_string()))?;
            Some((TlsConnector::from(config), name))
        } else {
            None
        };
        Ok(HttpTarget {
            peers,
            authority: format!("{host}:{port}"),
            scheme: if https { "https" } else { "http" },
            version,
            tls,
        })
    }

    /// A request for `path` on this target.
    pub fn request(&self, method: http::Method, path: &str, body: Bytes) -> Request<Full<Bytes>> {
        let mut b = Request::builder()
            .method(method)
            .uri(format!("{}://{}{path}", self.scheme, self.authority));
        if !body.is_empty() {
            b = b.header(http::header::CONTENT_TYPE, "application/octet-stream");
        }
        b.body(Full::new(body))
            .unwrap_or_else(|_| Request::new(Full::new(Bytes::new())))
    }

    /// Opens one connection: TCP, then TLS, then the HTTP handshake.
    /// HTTP/1.1 is spoken directly (`RawH1`) until a call needs hyper.
    pub async fn connect(&self) -> Result<(HttpConn, ConnectTimings), CallError> {
        let (io, negotiated, mut timings) = self.connect_io().await?;
        let conn = match negotiated {
            HttpVersion::H1 => HttpConn::Raw1(Box::new(RawH1::new(io)), self.authority.clone()),
            HttpVersion::H2 => HttpConn::H2(h2_handshake(io, &mut timings).await?),
        };
        Ok((conn, timings))
    }

    /// The transport under an HTTP connection (or a WebSocket upgrade): TCP, then
    /// TLS when the target is https, each timed; with the HTTP version to speak on it
    /// (over TLS, what ALPN chose).
    pub async fn connect_io(&self) -> Result<(Io, HttpVersion, ConnectTimings), CallError> {
        let (io, timings) = dial(&self.peers, self.tls.as_ref()).await?;
        let negotiated = match &io {
            Io::Right(tls) => match tls.get_ref().1.alpn_protocol() {
                Some(b"h2") => HttpVersion::H2,
                _ => HttpVersion::H1,
            },
            Io::Left(_) => self.version,
        };
        Ok((io, negotiated, timings))
    }
}

/// A request body: one buffer, or pieces produced as the connection takes them
/// (uploads, never held whole).
pub type ReqBody = Either<Full<Bytes>, UnsyncBoxBody<Bytes, std::convert::Infallible>>;

/// One HTTP connection; HTTP/2 handles are cheap clones multiplexed on one socket.
pub enum HttpConn {
    /// HTTP/1.1 through hyper (after a call that streams a body).
    H1(http1::SendRequest<ReqBody>),
    H2(http2::SendRequest<ReqBody>),
    /// HTTP/1.1 spoken directly, with the `Host` its requests carry.
    Raw1(Box<RawH1>, String),
    /// A connection lost while it was handed to hyper.
    Gone,
}

impl HttpConn {
    /// A second handle for a concurrent caller (HTTP/2 only).
    pub fn share(&self) -> Option<HttpConn> {
        match self {
            HttpConn::H2(s) => Some(HttpConn::H2(s.clone())),
            _ => None,
        }
    }

    /// Sends a request and reads the whole answer, keeping the body only when
    /// `keep`. On a directly spoken HTTP/1.1 connection the request is `h1`'s pieces
    /// written as they are (a template: no request is built), with `sent` payload
    /// bytes; otherwise it is the one `req` builds.
    pub async fn send_with(
        &mut self,
        h1: &[&[u8]],
        sent: u64,
        keep: bool,
        req: impl FnOnce() -> Request<Full<Bytes>>,
    ) -> Result<Answer, CallError> {
        match self {
            HttpConn::Raw1(raw, _) => raw.call(h1, sent, keep).await,
            _ => self.send(req(), keep).await,
        }
    }

    /// Sends `req` and reads the whole answer, keeping the body only when `keep`.
    pub async fn send(
        &mut self,
        req: Request<Full<Bytes>>,
        keep: bool,
    ) -> Result<Answer, CallError> {
        let sent = http_body::Body::size_hint(req.body()).exact().unwrap_or(0);
        if let HttpConn::Raw1(raw, authority) = self {
            let (parts, body) = req.into_parts();
            let body = full_bytes(body);
            let mut bytes = BytesMut::new();
            h1::encode_request(
                &parts.method,
                &parts.uri,
                &parts.headers,
                &body,
                authority,
                &mut bytes,
            );
            return raw.call(&[&bytes], sent, keep).await;
        }
        let (resp, ttfb) = self.open(req).await?;
        let status = resp.status();
        let mut body = resp.into_body();
        let mut received = 0u64;
        let mut kept = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| CallError::Protocol(format!("body: {e}")))?;
            if let Some(data) = frame.data_ref() {
                received += data.len() as u64;
                if keep {
                    kept.extend_from_slice(data);
                }
            }
        }
        Ok(Answer {
            status,
            body: Bytes::from(kept),
            outcome: CallOutcome {
                ttfb: Some(ttfb),
                sent,
                received,
            },
        })
    }

    /// Sends `req` (a buffered body) and returns the answer's head with its body
    /// still unread, and the time to that head.
    pub async fn open(
        &mut self,
        req: Request<Full<Bytes>>,
    ) -> Result<(Response<Incoming>, Duration), CallError> {
        self.exchange(req.map(Either::Left)).await
    }

    /// Sends `req` and returns the answer's head as soon as it arrives, with the time
    /// it took; the body is the caller's to read (streams, streamed transfers). On
    /// HTTP/1.1 the connection is busy until the body has been read or dropped.
    pub async fn exchange(
        &mut self,
        req: Request<ReqBody>,
    ) -> Result<(Response<Incoming>, Duration), CallError> {
        let start = Instant::now();
        self.hand_to_hyper().await?;
        let resp: Response<Incoming> = match self {
            HttpConn::H1(s) => {
                s.ready().await.map_err(|_| CallError::Closed)?;
                s.send_request(origin_form(req)).await
            }
            HttpConn::H2(s) => {
                s.ready().await.map_err(|_| CallError::Closed)?;
                s.send_request(req).await
            }
            HttpConn::Raw1(..) | HttpConn::Gone => return Err(CallError::Closed),
        }
        .map_err(|e| {
            if e.is_closed() || e.is_canceled() {
                CallError::Closed
            } else {
                CallError::Protocol(e.to_string())
            }
        })?;
        Ok((resp, start.elapsed()))
    }
}

impl HttpConn {
    /// Hands a directly spoken HTTP/1.1 connection to hyper (for a body read or
    /// written as a stream); it stays with hyper from then on.
    async fn hand_to_hyper(&mut self) -> Result<(), CallError> {
        if !matches!(self, HttpConn::Raw1(..)) {
            return Ok(());
        }
        let HttpConn::Raw1(raw, _) = std::mem::replace(self, HttpConn::Gone) else {
            return Ok(());
        };
        let io = raw.into_io().ok_or(CallError::Closed)?;
        let (send, conn) = http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| CallError::Connect(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        *self = HttpConn::H1(send);
        Ok(())
    }
}

/// The bytes of a buffered body (`Full` yields its one frame at once).
fn full_bytes(body: Full<Bytes>) -> Bytes {
    use futures::FutureExt;
    let mut body = body;
    match body.frame().now_or_never() {
        Some(Some(Ok(frame))) => frame.into_data().unwrap_or_default(),
        _ => Bytes::new(),
    }
}

/// HTTP/1.1 wants the path in the request line and the authority in `Host`
/// (HTTP/2 carries both in pseudo-headers, taken from the absolute URI).
fn origin_form<B>(mut req: Request<B>) -> Request<B> {
    if let Some(authority) = req.uri().authority().cloned() {
        if let Ok(v) = http::HeaderValue::from_str(authority.as_str()) {
            req.headers_mut().insert(http::header::HOST, v);
        }
        let path = req.uri().path_and_query().cloned();
        if let Some(p) = path {
            *req.uri_mut() = Uri::from(p);
        }
    }
    req
}

/// A read answer.
pub struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
    pub outcome: CallOutcome,
}

impl Answer {
    /// Fails unless the status is 200.
    pub fn ok(self) -> Result<Answer, CallError> {
        if self.status == StatusCode::OK {
            Ok(self)
        } else {
            Err(CallError::Status(self.status.as_u16()))
        }
    }
}
