//! NET-001 DATA: the contract's operations behind `protolab_wire`'s DATA layout.
//!
//! Ops that touch the dataset or sleep (score with DELAY_MS) are queued as pending
//! replies so they keep request order; downloads are a stream of frames generated a
//! chunk at a time (`contract::fill_pattern`), never a whole body in memory.
//! Contract errors become the response's failure status; the connection stays.

use bytes::{Bytes, BytesMut};
use protolab_core::contract::{self, ContractError, DownloadParams, ListQuery};
use protolab_wire::net001::{DataOp, DataRequest, DataResponse, FailStatus};
use protolab_wire::WireError;

use crate::conn::{Replies, Reply};
use crate::Shared;

/// The failure status for a contract error.
pub(crate) fn fail_status(e: &ContractError) -> FailStatus {
    match e {
        ContractError::NotFound(_) => FailStatus::NotFound,
        ContractError::InvalidArgument(_) => FailStatus::BadRequest,
        ContractError::TooLarge { .. } => FailStatus::TooLarge,
        ContractError::Internal => FailStatus::Internal,
    }
}

fn failed(op: DataOp, req_id: u32, e: &ContractError) -> DataResponse {
    DataResponse::failed(op.as_u8(), req_id, fail_status(e), e.to_string())
}

/// Encodes responses into a fresh buffer (for a pending reply).
fn encoded(responses: impl IntoIterator<Item = DataResponse>) -> Reply {
    let mut out = BytesMut::new();
    for r in responses {
        if let Err(e) = r.encode_frame(&mut out) {
            tracing::error!(error = %e, "DATA response does not encode");
        }
    }
    Reply::Bytes(out)
}

fn json<T: serde::Serialize>(v: &T) -> Result<Bytes, ContractError> {
    serde_json::to_vec(v)
        .map(Bytes::from)
        .map_err(|_| ContractError::Internal)
}

/// Answers one DATA payload.
pub(crate) fn handle(shared: &Shared, payload: Bytes, replies: &mut Replies) {
    let req = match DataRequest::decode(payload.clone()) {
        Ok(r) => r,
        Err(e) => return bad_request(&payload, &e, replies),
    };
    let dataset = shared.state.dataset.clone();
    match req {
        DataRequest::GetItem { req_id, id } => replies.later(async move {
            let op = DataOp::GetItem;
            let r = match i64::try_from(id) {
                Ok(id) => dataset.get_item(id).await.and_then(|item| json(&item)),
                Err(_) => Err(ContractError::NotFound(i64::MAX)),
            };
            encoded([match r {
                Ok(json) => DataResponse::Item { req_id, json },
                Err(e) => failed(op, req_id, &e),
            }])
        }),
        DataRequest::ListItems {
            req_id,
            offset,
            limit,
            category,
        } => {
            let q = ListQuery {
                offset: i64::from(offset),
                limit: i64::from(limit),
                category,
            };
            if let Err(e) = q.validate() {
                return replies.now(|o| failed(DataOp::ListItems, req_id, &e).encode_frame(o));
            }
            replies.later(async move {
                match dataset.list_items(&q).await.and_then(|items| json(&items)) {
                    Ok(body) => encoded(DataResponse::list_parts(req_id, body)),
                    Err(e) => encoded([failed(DataOp::ListItems, req_id, &e)]),
                }
            })
        }
        DataRequest::Score { req_id, json } => score(shared, req_id, json, replies),
        DataRequest::Download {
            req_id,
            size,
            chunk,
        } => download(req_id, DownloadParams { size, chunk }, replies),
    }
}

fn bad_request(payload: &[u8], e: &WireError, replies: &mut Replies) {
    let (op, req_id) =
        DataRequest::peek(payload).unwrap_or((payload.first().copied().unwrap_or(0), 0));
    replies.now(|o| {
        DataResponse::failed(op, req_id, FailStatus::BadRequest, e.to_string()).encode_frame(o)
    });
}

fn score_of(req_id: u32, json: &[u8]) -> DataResponse {
    let r = std::str::from_utf8(json)
        .map_err(|_| ContractError::InvalidArgument("score input is not UTF-8".into()))
        .and_then(contract::score);
    match r {
        Ok(score) => DataResponse::Score { req_id, score },
        Err(e) => failed(DataOp::Score, req_id, &e),
    }
}

fn score(shared: &Shared, req_id: u32, json: Bytes, replies: &mut Replies) {
    let delay = shared.state.delay;
    if delay.is_zero() {
        return replies.now(|o| score_of(req_id, &json).encode_frame(o));
    }
    replies.later(async move {
        contract::service_delay(delay).await;
        encoded([score_of(req_id, &json)])
    });
}

fn download(req_id: u32, params: DownloadParams, replies: &mut Replies) {
    if let Err(e) = params.validate() {
        return replies.now(|o| failed(DataOp::Download, req_id, &e).encode_frame(o));
    }
    let chunk = u64::from(params.chunk);
    let chunks = params.size.div_ceil(chunk).max(1);
    let frames = futures::stream::iter((0..chunks).map(move |i| {
        let start = i * chunk;
        let len = chunk.min(params.size - start) as usize;
        let mut body = vec![0u8; len];
        contract::fill_pattern(start, &mut body);
        let mut out = BytesMut::new();
        for part in DataResponse::download_parts(req_id, Bytes::from(body), i + 1 == chunks) {
            if let Err(e) = part.encode_frame(&mut out) {
                tracing::error!(error = %e, "download frame does not encode");
            }
        }
        out.freeze()
    }));
    replies.later(futures::future::ready(Reply::Stream(Box::pin(frames))));
}
