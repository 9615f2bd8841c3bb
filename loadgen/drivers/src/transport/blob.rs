//! Large transfers over REST (`GET /download?size&chunk`, `POST /upload`) and gRPC
//! (`Arena.Download`, `Arena.Upload` streams), for the `transfer` kind. Uploads are
//! produced a piece at a time as the connection takes them and downloads CRC'd a
//! piece at a time as they arrive: the generator never holds a whole blob. The
//! driver reports what moved; the runner decides whether it matches.

use std::time::Instant;

use bytes::Bytes;
use http::Method;
use http_body_util::{BodyExt, Either, StreamBody};
use protolab_core::contract::{UploadSummary, MAX_CHUNK};
use protolab_proto::arena::{self as pb, arena_client::ArenaClient};

use crate::transport::grpcconn::GrpcConn;
use crate::transport::http::{HttpConn, HttpTarget};
use protolab_bench::driver::{Blob, CallError, TransferOutcome};

/// Largest whole-message gRPC transfer: the server's 4 MiB decoding limit, less the
/// message's own framing.
const GRPC_WHOLE_MAX: u64 = (4 << 20) - 64;

/// The download's `chunk`: the blob's, or for a whole body the server's largest.
fn download_chunk(blob: &Blob) -> u64 {
    blob.chunk.unwrap_or(u64::from(MAX_CHUNK))
}

/// Feeds one received piece into the running totals.
fn count(out: &mut TransferOutcome, crc: &mut crc32fast::Hasher, piece: &[u8]) {
    crc.update(piece);
    out.bytes += piece.len() as u64;
    out.largest_piece = out.largest_piece.max(piece.len() as u64);
}

/// REST download: the body's frames CRC'd as they arrive.
pub async fn rest_download(
    target: &HttpTarget,
    conn: &mut HttpConn,
    blob: Blob,
) -> Result<TransferOutcome, CallError> {
    let path = format!(
        "/download?size={}&chunk={}",
        blob.size,
        download_chunk(&blob)
    );
    let req = target.request(Method::GET, &path, Bytes::new());
    let (resp, ttfb) = conn.open(req).await?;
    if resp.status() != http::StatusCode::OK {
        return Err(CallError::Status(resp.status().as_u16()));
    }
    let mut out = TransferOutcome {
        ttfb: Some(ttfb),
        ..Default::default()
    };
    let mut crc = crc32fast::Hasher::new();
    let mut body = resp.into_body();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| CallError::Protocol(format!("download body: {e}")))?;
        if let Some(data) = frame.data_ref() {
            count(&mut out, &mut crc, data);
        }
    }
    out.crc32 = crc.finalize();
    Ok(out)
}

/// REST upload: the body streamed in pieces (chunked transfer coding on HTTP/1.1),
/// or for a whole body with its Content-Length; the answer is the server's summary.
pub async fn rest_upload(
    target: &HttpTarget,
    conn: &mut HttpConn,
    blob: Blob,
) -> Result<TransferOutcome, CallError> {
    let largest = blob.piece().min(blob.size as usize) as u64;
    let pieces = futures::stream::iter(
        blob.pieces()
            .map(|p| Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(p))),
    );
    let mut req = target
        .request(Method::POST, "/upload", Bytes::new())
        .map(|_| Either::Right(StreamBody::new(pieces).boxed_unsync()));
    let headers = req.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/octet-stream"),
    );
    if blob.chunk.is_none() {
        headers.insert(
            http::header::CONTENT_LENGTH,
            http::HeaderValue::from(blob.size),
        );
    }
    let start = Instant::now();
    let (resp, _) = conn.exchange(req).await?;
    if resp.status() != http::StatusCode::OK {
        return Err(CallError::Status(resp.status().as_u16()));
    }
    let ttfb = start.elapsed();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| CallError::Protocol(format!("upload answer: {e}")))?
        .to_bytes();
    let summary: UploadSummary = serde_json::from_slice(&body)
        .map_err(|e| CallError::Verify(format!("upload answer is not a summary: {e}")))?;
    Ok(TransferOutcome {
        bytes: summary.bytes,
        crc32: summary.crc32,
        largest_piece: largest,
        ttfb: Some(ttfb),
    })
}

fn status(s: tonic::Status) -> CallError {
    match s.code() {
        tonic::Code::Unavailable | tonic::Code::Cancelled => CallError::Closed,
        tonic::Code::DeadlineExceeded => CallError::Timeout,
        code => CallError::Protocol(format!("{code:?}: {}", s.message())),
    }
}

/// gRPC pieces: the chunk, or one message for a whole blob within the message limit.
fn grpc_blob(blob: Blob) -> Result<Blob, CallError> {
    match blob.chunk {
        Some(_) => Ok(blob),
        None if blob.size <= GRPC_WHOLE_MAX => Ok(Blob {
            size: blob.size,
            chunk: Some(blob.size.max(1)),
        }),
        None => Err(CallError::Unsupported(
            "whole-message gRPC transfer above 4 MiB",
        )),
    }
}

/// gRPC download: `Arena.Download`'s messages CRC'd as they arrive.
pub async fn grpc_download(channel: &GrpcConn, blob: Blob) -> Result<TransferOutcome, CallError> {
    let blob = grpc_blob(blob)?;
    let mut client = ArenaClient::with_origin(channel.clone(), GrpcConn::origin())
        .max_decoding_message_size(64 << 20);
    let start = Instant::now();
    let req = pb::DownloadRequest {
        size: blob.size,
        chunk: download_chunk(&blob).min(u64::from(MAX_CHUNK)) as u32,
    };
    let mut stream = client.download(req).await.map_err(status)?.into_inner();
    let mut out = TransferOutcome {
        ttfb: Some(start.elapsed()),
        ..Default::default()
    };
    let mut crc = crc32fast::Hasher::new();
    while let Some(chunk) = stream.message().await.map_err(status)? {
        count(&mut out, &mut crc, &chunk.data);
    }
    out.crc32 = crc.finalize();
    Ok(out)
}

/// gRPC upload: `Arena.Upload` fed one message per piece as tonic takes them.
pub async fn grpc_upload(channel: &GrpcConn, blob: Blob) -> Result<TransferOutcome, CallError> {
    let blob = grpc_blob(blob)?;
    let largest = blob.piece().min(blob.size as usize) as u64;
    let mut client = ArenaClient::with_origin(channel.clone(), GrpcConn::origin());
    let messages = futures::stream::iter(blob.pieces().map(|p| pb::Chunk { data: p.to_vec() }));
    let start = Instant::now();
    let reply = client.upload(messages).await.map_err(status)?.into_inner();
    Ok(TransferOutcome {
        bytes: reply.bytes,
        crc32: reply.crc32,
        largest_piece: largest,
        ttfb: Some(start.elapsed()),
    })
}
