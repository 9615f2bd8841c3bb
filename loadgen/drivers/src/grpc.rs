//! The gRPC driver: `arena.Arena` unary calls and reference/002's
//! `score.ScoreService/GetScore`, over one HTTP/2 connection (multiplexed: every
//! in-flight caller shares it), plain or TLS 1.3 with an optional client certificate
//! (the lab's TLS port requires one). `connect` times TCP, TLS and the HTTP/2
//! handshake; calls go over hyper's connection directly (`GrpcConn`).

use prost::Message;
use protolab_core::Item;
use protolab_proto::arena::{self as pb, arena_client::ArenaClient};
use protolab_proto::score::{score_service_client::ScoreServiceClient, JsonVector};
use rustls_pki_types::ServerName;
use tokio_rustls::TlsConnector;

use crate::transport::grpcconn::GrpcConn;
use crate::transport::http::TlsOptions;
use crate::transport::{dial, h2_handshake, Peers, TlsTo};
use crate::verify;
use protolab_bench::driver::{
    Blob, CallError, CallOutcome, ConnectTimings, Driver, OpSpec, TransferOutcome,
};
use protolab_bench::driver::{PushEvent, PushStream, Pushed, StreamParams};

/// gRPC, plain or TLS.
pub struct GrpcDriver {
    peers: Peers,
    tls: Option<TlsTo>,
    /// A client certificate is presented (mutual TLS).
    mutual: bool,
    seed: u64,
    echo: Vec<u8>,
    score_doc: String,
}

/// A protobuf item as the dataset's row type, to compare with it.
fn item_of(i: pb::Item) -> Item {
    Item {
        id: i.id,
        name: i.name,
        category: i.category,
        price: i.price,
        description: i.description,
        created_at: i.created_at,
    }
}

fn status(s: tonic::Status) -> CallError {
    match s.code() {
        tonic::Code::Unavailable | tonic::Code::Cancelled => CallError::Closed,
        tonic::Code::DeadlineExceeded => CallError::Timeout,
        code => CallError::Protocol(format!("{code:?}: {}", s.message())),
    }
}

impl GrpcDriver {
    /// `target` is `host:port` (optionally `http://` or `https://`; https means TLS).
    pub async fn new(
        target: &str,
        tls: Option<&TlsOptions>,
        seed: u64,
        op: &OpSpec,
    ) -> Result<GrpcDriver, CallError> {
        let https = target.starts_with("https://");
        let hostport = target
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/');
        let host = hostport
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(hostport)
            .to_string();
        let peers = Peers::resolve(hostport).await?;
        let mutual = https && tls.is_some_and(|t| t.cert.is_some() && t.key.is_some());
        let tls = match tls.filter(|_| https) {
            Some(t) => {
                let ca =
                    t.ca.as_deref()
                        .ok_or_else(|| CallError::Connect("TLS needs --ca".into()))?;
                let client = t.cert.as_deref().zip(t.key.as_deref());
                let config =
                    protolab_core::tls::client_config(ca, client, protolab_core::tls::ALPN_H2)
                        .map_err(|e| CallError::Connect(e.to_string()))?;
                let name =
                    ServerName::try_from(host).map_err(|e| CallError::Connect(e.to_string()))?;
                Some((TlsConnector::from(config), name))
            }
            None if https => {
                return Err(CallError::Connect("https target needs TLS options".into()))
            }
            None => None,
        };
        let echo = match op {
            OpSpec::Echo { size } => OpSpec::echo_payload(*size),
            _ => Vec::new(),
        };
        let score_doc = match op {
            OpSpec::Score { dims } => OpSpec::score_doc(*dims),
            _ => String::new(),
        };
        Ok(GrpcDriver {
            peers,
            tls,
            mutual,
            seed,
            echo,
            score_doc,
        })
    }
}

impl Driver for GrpcDriver {
    type Conn = GrpcConn;

    fn name(&self) -> String {
        match (&self.tls, self.mutual) {
            (Some(_), true) => "grpc-mtls".into(),
            (Some(_), false) => "grpc-tls".into(),
            (None, _) => "grpc".into(),
        }
    }

    async fn connect(&self) -> Result<(GrpcConn, ConnectTimings), CallError> {
        let (io, mut timings) = dial(&self.peers, self.tls.as_ref()).await?;
        let send = h2_handshake(io, &mut timings).await?;
        Ok((GrpcConn::new(send), timings))
    }

    fn share(&self, conn: &mut GrpcConn) -> Option<GrpcConn> {
        Some(conn.clone())
    }

    async fn call(
        &self,
        conn: &mut GrpcConn,
        op: &OpSpec,
        seq: u64,
    ) -> Result<CallOutcome, CallError> {
        let mut arena = ArenaClient::with_origin(conn.clone(), GrpcConn::origin())
            .max_decoding_message_size(64 << 20);
        let (sent, received) = match op {
            OpSpec::Ping => {
                let req = pb::PingRequest {
                    client_time_us: seq,
                };
                let r = arena.ping(req).await.map_err(status)?.into_inner();
                (req.encoded_len(), r.encoded_len())
            }
            OpSpec::GetItem { ids } => {
                let req = pb::GetItemRequest {
                    id: OpSpec::item_id(*ids, seq),
                };
                (
                    req.encoded_len(),
                    arena
                        .get_item(req)
                        .await
                        .map_err(status)?
                        .into_inner()
                        .encoded_len(),
                )
            }
            OpSpec::ListItems { limit, category } => {
                let req = pb::ListItemsRequest {
                    offset: 0,
                    limit: i64::from(*limit),
                    category: category.clone(),
                };
                (
                    req.encoded_len(),
                    arena
                        .list_items(req)
                        .await
                        .map_err(status)?
                        .into_inner()
                        .encoded_len(),
                )
            }
            OpSpec::Echo { size } => {
                let req = pb::EchoMessage {
                    data: self.echo.clone(),
                };
                let back = arena.echo(req).await.map_err(status)?.into_inner();
                if back.data.len() != *size {
                    return Err(CallError::Verify(format!(
                        "echo returned {} of {size} bytes",
                        back.data.len()
                    )));
                }
                (*size, back.data.len())
            }
            OpSpec::Score { .. } => {
                let req = JsonVector {
                    json: self.score_doc.clone(),
                };
                let len = req.encoded_len();
                let r = ScoreServiceClient::with_origin(conn.clone(), GrpcConn::origin())
                    .get_score(req)
                    .await
                    .map_err(status)?
                    .into_inner();
                (len, r.encoded_len())
            }
            OpSpec::Call { .. } => return Err(CallError::custom_call()),
        };
        Ok(CallOutcome {
            ttfb: None,
            sent: sent as u64,
            received: received as u64,
        })
    }

    async fn verify(&self, conn: &mut GrpcConn, op: &OpSpec) -> Result<(), CallError> {
        let mut arena = ArenaClient::with_origin(conn.clone(), GrpcConn::origin())
            .max_decoding_message_size(64 << 20);
        match op {
            OpSpec::Ping => {
                let r = arena
                    .ping(pb::PingRequest { client_time_us: 42 })
                    .await
                    .map_err(status)?
                    .into_inner();
                if r.client_time_us != 42 {
                    return Err(CallError::Verify(
                        "ping did not echo the client time".into(),
                    ));
                }
            }
            OpSpec::GetItem { .. } => {
                let got = arena
                    .get_item(pb::GetItemRequest { id: 42 })
                    .await
                    .map_err(status)?
                    .into_inner();
                let (got, w) = (item_of(got), Item::generate(self.seed, 42));
                if got != w {
                    return Err(CallError::Verify(format!(
                        "item 42 is {got:?}, expected {w:?}"
                    )));
                }
            }
            OpSpec::ListItems { limit, category } => {
                let req = pb::ListItemsRequest {
                    offset: 0,
                    limit: i64::from(*limit),
                    category: category.clone(),
                };
                let items = arena
                    .list_items(req)
                    .await
                    .map_err(status)?
                    .into_inner()
                    .items;
                let items: Vec<Item> = items.into_iter().map(item_of).collect();
                verify::page(self.seed, &items, *limit, category.as_deref())?;
            }
            OpSpec::Echo { .. } => {
                let back = arena
                    .echo(pb::EchoMessage {
                        data: self.echo.clone(),
                    })
                    .await
                    .map_err(status)?
                    .into_inner();
                if back.data != self.echo {
                    return Err(CallError::Verify("echo returned different bytes".into()));
                }
            }
            OpSpec::Score { .. } => {
                let want = protolab_core::contract::score(&self.score_doc)
                    .map_err(|e| CallError::Verify(e.to_string()))?;
                let r = ScoreServiceClient::with_origin(conn.clone(), GrpcConn::origin())
                    .get_score(JsonVector {
                        json: self.score_doc.clone(),
                    })
                    .await
                    .map_err(status)?
                    .into_inner();
                if r.score != want {
                    return Err(CallError::Verify(format!(
                        "score {}, expected {want}",
                        r.score
                    )));
                }
            }
            OpSpec::Call { .. } => return Err(CallError::custom_call()),
        }
        Ok(())
    }

    async fn upload(&self, conn: &mut GrpcConn, blob: Blob) -> Result<TransferOutcome, CallError> {
        crate::transport::blob::grpc_upload(conn, blob).await
    }

    async fn download(
        &self,
        conn: &mut GrpcConn,
        blob: Blob,
    ) -> Result<TransferOutcome, CallError> {
        crate::transport::blob::grpc_download(conn, blob).await
    }

    async fn stream(&self, conn: &mut GrpcConn, p: &StreamParams) -> Result<PushStream, CallError> {
        use futures::StreamExt;
        let req = pb::StreamRequest {
            count: p.count,
            interval_ms: p.interval_ms,
            size: u32::try_from(p.size).unwrap_or(u32::MAX),
        };
        let mut arena = ArenaClient::with_origin(conn.clone(), GrpcConn::origin())
            .max_decoding_message_size(64 << 20);
        let events = arena.stream(req).await.map_err(status)?.into_inner();
        Ok(events
            .map(|e| {
                e.map(|e| {
                    Pushed::now(PushEvent::Event {
                        seq: e.seq,
                        sent_at_us: e.sent_at_us,
                    })
                })
                .map_err(status)
            })
            .boxed())
    }
}
