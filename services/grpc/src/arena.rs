//! The service implementations: each rpc validates through the contract, calls the
//! shared dataset or pattern generators, and maps errors with `status::to_status`.
//! Server streams are generated lazily (never buffered whole), are dropped when the
//! client goes away, and end with UNAVAILABLE when the server shuts down, so a
//! ten-million-event stream cannot hold the drain for the whole grace period.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use protolab_core::contract::{self, DownloadParams, ListQuery, StreamParams, UploadHasher};
use protolab_core::{Item, ServerState};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

use crate::pb::arena::{self as pb, arena_server::Arena};
use crate::pb::score::{self as score_pb, score_service_server::ScoreService as ScoreApi};
use crate::status::to_status;

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// `stream` until `shutdown`, then one UNAVAILABLE and the end.
fn until_shutdown<T, S>(stream: S, shutdown: CancellationToken) -> BoxStream<T>
where
    T: Send + 'static,
    S: Stream<Item = Result<T, Status>> + Send + 'static,
{
    let state = (Box::pin(stream), shutdown, false);
    Box::pin(futures::stream::unfold(
        state,
        |(mut stream, shutdown, stopped)| async move {
            if stopped {
                return None;
            }
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => {
                    let status = Status::unavailable("server shutting down");
                    Some((Err(status), (stream, shutdown, true)))
                }
                item = stream.next() => item.map(|i| (i, (stream, shutdown, false))),
            }
        },
    ))
}

/// `arena.Arena`.
#[derive(Clone)]
pub struct ArenaService {
    state: ServerState,
}

impl ArenaService {
    /// The service over a server's shared state.
    pub fn new(state: ServerState) -> Self {
        ArenaService { state }
    }
}

fn to_pb(i: Item) -> pb::Item {
    pb::Item {
        id: i.id,
        name: i.name,
        category: i.category,
        price: i.price,
        description: i.description,
        created_at: i.created_at,
    }
}

async fn score_of(state: &ServerState, json: &str) -> Result<f64, Status> {
    contract::check_size(json.len(), state.max_body).map_err(to_status)?;
    let score = contract::score(json).map_err(to_status)?;
    contract::service_delay(state.delay).await;
    Ok(score)
}

#[tonic::async_trait]
impl Arena for ArenaService {
    async fn ping(&self, req: Request<pb::PingRequest>) -> Result<Response<pb::PingReply>, Status> {
        Ok(Response::new(pb::PingReply {
            client_time_us: req.into_inner().client_time_us,
            server_time_us: contract::now_micros(),
        }))
    }

    async fn get_item(
        &self,
        req: Request<pb::GetItemRequest>,
    ) -> Result<Response<pb::Item>, Status> {
        let item = self
            .state
            .dataset
            .get_item(req.into_inner().id)
            .await
            .map_err(to_status)?;
        Ok(Response::new(to_pb(item)))
    }

    async fn list_items(
        &self,
        req: Request<pb::ListItemsRequest>,
    ) -> Result<Response<pb::ItemList>, Status> {
        let r = req.into_inner();
        let q = ListQuery {
            offset: r.offset,
            limit: r.limit,
            category: r.category,
        };
        let items = self.state.dataset.list_items(&q).await.map_err(to_status)?;
        Ok(Response::new(pb::ItemList {
            items: items.into_iter().map(to_pb).collect(),
        }))
    }

    async fn echo(
        &self,
        req: Request<pb::EchoMessage>,
    ) -> Result<Response<pb::EchoMessage>, Status> {
        let msg = req.into_inner();
        contract::check_size(msg.data.len(), self.state.max_body).map_err(to_status)?;
        Ok(Response::new(msg))
    }

    async fn score(
        &self,
        req: Request<pb::ScoreRequest>,
    ) -> Result<Response<pb::ScoreReply>, Status> {
        let score = score_of(&self.state, &req.into_inner().json).await?;
        Ok(Response::new(pb::ScoreReply { score }))
    }

    type DownloadStream = BoxStream<pb::Chunk>;

    async fn download(
        &self,
        req: Request<pb::DownloadRequest>,
    ) -> Result<Response<Self::DownloadStream>, Status> {
        let r = req.into_inner();
        let chunk = if r.chunk == 0 {
            contract::DEFAULT_CHUNK
        } else {
            r.chunk
        };
        let p = DownloadParams {
            size: r.size,
            chunk,
        };
        p.validate().map_err(to_status)?;
        let stream = futures::stream::iter(p.chunks()).map(|data| {
            Ok(pb::Chunk {
                data: data.to_vec(),
            })
        });
        Ok(Response::new(until_shutdown(
            stream,
            self.state.shutdown.clone(),
        )))
    }

    type StreamStream = BoxStream<pb::StreamEvent>;

    async fn stream(
        &self,
        req: Request<pb::StreamRequest>,
    ) -> Result<Response<Self::StreamStream>, Status> {
        let r = req.into_inner();
        let p = StreamParams {
            count: r.count,
            interval_ms: r.interval_ms,
            size: r.size as usize,
        };
        p.validate().map_err(to_status)?;
        let stream = p.events().map(|e| {
            Ok(pb::StreamEvent {
                seq: e.seq,
                sent_at_us: e.sent_at_us,
                payload: e.payload.into_bytes(),
            })
        });
        Ok(Response::new(until_shutdown(
            stream,
            self.state.shutdown.clone(),
        )))
    }

    async fn upload(
        &self,
        req: Request<Streaming<pb::Chunk>>,
    ) -> Result<Response<pb::UploadReply>, Status> {
        let mut stream = req.into_inner();
        let mut hasher = UploadHasher::default();
        let mut total = 0u64;
        while let Some(chunk) = stream.message().await? {
            total += chunk.data.len() as u64;
            if total > contract::MAX_DOWNLOAD {
                return Err(to_status(protolab_core::ContractError::TooLarge {
                    size: total,
                    limit: contract::MAX_DOWNLOAD,
                }));
            }
            hasher.update(&chunk.data);
        }
        let s = hasher.finish();
        Ok(Response::new(pb::UploadReply {
            bytes: s.bytes,
            crc32: s.crc32,
        }))
    }
}

/// reference/002's `score.ScoreService`.
#[derive(Clone)]
pub struct ScoreService {
    state: ServerState,
}

impl ScoreService {
    /// The service over a server's shared state.
    pub fn new(state: ServerState) -> Self {
        ScoreService { state }
    }
}

#[tonic::async_trait]
impl ScoreApi for ScoreService {
    async fn get_score(
        &self,
        req: Request<score_pb::JsonVector>,
    ) -> Result<Response<score_pb::ScoreResponse>, Status> {
        let score = score_of(&self.state, &req.into_inner().json).await?;
        Ok(Response::new(score_pb::ScoreResponse { score }))
    }
}
