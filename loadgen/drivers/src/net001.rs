//! The NET-001 driver (reference/004, plain on 5000, TLS on 5443): PING with a
//! timestamp the PONG must echo, ECHO byte for byte (at most 65535 bytes: one
//! frame), and get_item / list_items / score / download as DATA operations
//! (`protolab_wire::net001::data`). AUTH, when configured, is the connection's
//! handshake. BROADCAST is the broadcast kind's publish, and every connected
//! (authenticated) client is a subscriber: the server forwards each BROADCAST to all
//! but its sender, and reports nothing for messages a lagging subscriber lost. ERROR
//! frames and DATA failure statuses become `CallError::Refused` with a short reason.
//! Frames and their layout come from `protolab_wire` only.

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use protolab_core::contract::now_micros;
use protolab_wire::net001::{data::MAX_DATA_BODY, MAX_PAYLOAD};
use protolab_wire::net001::{DataRequest, DataResponse, FailStatus, Frame, Net001Codec};
use protolab_wire::ErrorCode;

use crate::transport::binconn::{
    self, codec_error, next_frame, BinConn, Pending, Step, Target, Wire,
};
use crate::verify;
use crate::CONNECT_TIMEOUT;
use protolab_bench::driver::{
    Blob, CallError, CallOutcome, ConnectTimings, Driver, OpSpec, Refusal, TransferOutcome, Window,
};
use protolab_bench::driver::{PushEvent, PushStream, Pushed};

/// NET-001, plain or TLS, optionally authenticating every connection.
pub struct Net001Driver {
    target: Target,
    auth: Option<(String, Bytes)>,
    seed: u64,
    echo: Bytes,
    score_doc: Bytes,
    score: Option<f64>,
}

fn refused(code: ErrorCode, message: String) -> CallError {
    CallError::Refused {
        reason: Refusal::from_code(Some(code.name())),
        message,
    }
}

fn failed(status: FailStatus, message: String) -> CallError {
    CallError::Refused {
        reason: Refusal::from_code(Some(status.name())),
        message,
    }
}

impl Net001Driver {
    /// `target` is `host:port` or `https://host:port` (TLS, with `tls.ca`); `auth`
    /// is `user:token`, sent as AUTH on every new connection.
    pub async fn new(
        target: &str,
        tls: &crate::transport::http::TlsOptions,
        auth: Option<&str>,
        seed: u64,
        op: &OpSpec,
    ) -> Result<Net001Driver, CallError> {
        let auth = match auth {
            None => None,
            Some(a) => {
                let (user, token) = a
                    .split_once(':')
                    .ok_or_else(|| CallError::Connect("--auth must be user:token".into()))?;
                Some((user.to_string(), Bytes::copy_from_slice(token.as_bytes())))
            }
        };
        let echo = match op {
            OpSpec::Echo { size } if *size <= MAX_PAYLOAD => {
                Bytes::from(OpSpec::echo_payload(*size))
            }
            _ => Bytes::new(),
        };
        let doc = OpSpec::score_doc(match op {
            OpSpec::Score { dims } => *dims,
            _ => 0,
        });
        Ok(Net001Driver {
            target: Target::new(target, tls).await?,
            auth,
            seed,
            score: protolab_core::contract::score(&doc).ok(),
            score_doc: Bytes::from(doc),
            echo,
        })
    }

    async fn authenticate(&self, conn: &mut BinConn<Net001Codec>) -> Result<(), CallError> {
        let Some((username, token)) = &self.auth else {
            return Ok(());
        };
        let auth = Frame::Auth {
            username: username.clone(),
            token: token.clone(),
        };
        conn.send(auth).await.map_err(codec_error)?;
        loop {
            match next_frame(conn).await? {
                Frame::AuthReply { success: true, .. } => return Ok(()),
                Frame::AuthReply { success: false, .. } => {
                    return Err(CallError::Refused {
                        reason: Refusal::AuthFailed,
                        message: format!("AUTH as {username} refused"),
                    })
                }
                Frame::Broadcast(_) => continue,
                Frame::Error { code, message } => return Err(refused(code, message)),
                other => {
                    return Err(CallError::Protocol(format!(
                        "{:?} instead of AUTH_REPLY",
                        other.message_type()
                    )))
                }
            }
        }
    }

    fn data_answer(&self, op: &OpSpec, payload: Bytes, pending: &mut Pending) -> Step {
        let resp = match DataResponse::decode(payload) {
            Ok(r) => r,
            Err(e) => return Step::Done(Err(CallError::Protocol(format!("DATA answer: {e}")))),
        };
        if u64::from(resp.req_id()) != pending.tag {
            return Step::Done(Err(CallError::Protocol(format!(
                "answer to request {}, expected {} (out of order)",
                resp.req_id(),
                pending.tag
            ))));
        }
        let done = match (op, resp) {
            (
                _,
                DataResponse::Failed {
                    status, message, ..
                },
            ) => Err(failed(status, message)),
            (OpSpec::GetItem { .. }, DataResponse::Item { json, .. }) => {
                pending.take(&json);
                Ok(())
            }
            (OpSpec::ListItems { .. }, DataResponse::ListPart { more, json, .. }) => {
                pending.take(&json);
                if more {
                    return Step::More;
                }
                Ok(())
            }
            (OpSpec::Score { .. }, DataResponse::Score { score, .. }) => {
                pending.take(&score.to_be_bytes());
                match self.score {
                    Some(want) if want != score => {
                        Err(CallError::Verify(format!("score {score}, expected {want}")))
                    }
                    _ => Ok(()),
                }
            }
            (_, other) => Err(CallError::Protocol(format!(
                "DATA op {:#04x} answering {}",
                other.op_byte(),
                op.name()
            ))),
        };
        Step::Done(done)
    }
}

impl Wire for Net001Driver {
    type Codec = Net001Codec;
    type Frame = Frame;

    fn request(&self, op: &OpSpec, seq: u64) -> Result<(Frame, Pending), CallError> {
        let req_id = seq as u32;
        let data = |r: DataRequest| -> Result<(Frame, Pending), CallError> {
            let frame = r
                .to_frame()
                .map_err(|e| CallError::Protocol(format!("request does not encode: {e}")))?;
            Ok((frame, Pending::new(u64::from(req_id), r.encoded_len())))
        };
        match op {
            OpSpec::Ping => {
                let timestamp_us = now_micros();
                Ok((Frame::Ping { timestamp_us }, Pending::new(timestamp_us, 8)))
            }
            OpSpec::Echo { size } if *size > MAX_PAYLOAD => {
                Err(CallError::Unsupported("echo above 65535 bytes (one frame)"))
            }
            OpSpec::Echo { size } => {
                let frame = Frame::Echo(self.echo.clone());
                Ok((frame, Pending::new(0, *size)))
            }
            OpSpec::GetItem { ids } => data(DataRequest::GetItem {
                req_id,
                id: OpSpec::item_id(*ids, seq) as u64,
            }),
            OpSpec::ListItems { limit, category } => data(DataRequest::ListItems {
                req_id,
                offset: 0,
                limit: (*limit).min(u32::from(u16::MAX)) as u16,
                category: category.clone(),
            }),
            OpSpec::Score { .. } => data(DataRequest::Score {
                req_id,
                json: self.score_doc.clone(),
            }),
            OpSpec::Call { .. } => Err(CallError::custom_call()),
        }
    }

    fn answer(&self, op: &OpSpec, frame: Frame, pending: &mut Pending) -> Step {
        match (op, frame) {
            (_, Frame::Broadcast(_)) => Step::Skip,
            (_, Frame::Error { code, message }) => Step::Done(Err(refused(code, message))),
            (OpSpec::Ping, Frame::Pong { timestamp_us }) => {
                pending.take(&timestamp_us.to_be_bytes());
                Step::Done(if timestamp_us == pending.tag {
                    Ok(())
                } else {
                    Err(CallError::Verify(format!(
                        "PONG carries {timestamp_us}, PING sent {}",
                        pending.tag
                    )))
                })
            }
            (OpSpec::Echo { .. }, Frame::EchoReply(b)) => {
                pending.take(&b);
                Step::Done(if b == self.echo {
                    Ok(())
                } else {
                    Err(CallError::Verify(format!(
                        "ECHO_REPLY of {} bytes differs from the {} sent",
                        b.len(),
                        self.echo.len()
                    )))
                })
            }
            (_, Frame::Data(payload)) => self.data_answer(op, payload, pending),
            (_, other) => Step::Done(Err(CallError::Protocol(format!(
                "{:?} answering {}",
                other.message_type(),
                op.name()
            )))),
        }
    }
}

impl Driver for Net001Driver {
    type Conn = BinConn<Net001Codec>;

    fn name(&self) -> String {
        if self.target.is_tls() {
            "net001-tls".into()
        } else {
            "net001".into()
        }
    }

    async fn connect(&self) -> Result<(Self::Conn, ConnectTimings), CallError> {
        let (mut conn, mut timings) = self.target.connect(Net001Codec::new()).await?;
        if self.auth.is_some() {
            let t = tokio::time::Instant::now();
            tokio::time::timeout(CONNECT_TIMEOUT, self.authenticate(&mut conn))
                .await
                .map_err(|_| CallError::Connect("AUTH timed out".into()))??;
            timings.handshake = Some(t.elapsed());
        }
        Ok((conn, timings))
    }

    fn share(&self, _conn: &mut Self::Conn) -> Option<Self::Conn> {
        None
    }

    async fn call(
        &self,
        conn: &mut Self::Conn,
        op: &OpSpec,
        seq: u64,
    ) -> Result<CallOutcome, CallError> {
        binconn::call(self, conn, op, seq, false)
            .await
            .map(|(o, _)| o)
    }

    async fn verify(&self, conn: &mut Self::Conn, op: &OpSpec) -> Result<(), CallError> {
        match op {
            OpSpec::GetItem { .. } => {
                let req = DataRequest::GetItem { req_id: 42, id: 42 };
                let frame = req
                    .to_frame()
                    .map_err(|e| CallError::Protocol(e.to_string()))?;
                let mut pending = Pending::new(42, req.encoded_len());
                pending.keep = true;
                let (_, json) = binconn::exchange(self, conn, op, frame, pending).await?;
                verify::answer(self.seed, op, &verify::json(&json)?)
            }
            OpSpec::ListItems { .. } => {
                let (_, json) = binconn::call(self, conn, op, 0, true).await?;
                verify::answer(self.seed, op, &verify::json(&json)?)
            }
            // Ping's timestamp, echo's bytes and score's value are checked on every call.
            _ => binconn::call(self, conn, op, 0, false).await.map(|_| ()),
        }
    }

    async fn pipeline<F>(
        &self,
        conn: &mut Self::Conn,
        op: &OpSpec,
        window: Window,
        on_answer: F,
    ) -> Result<(), CallError>
    where
        F: FnMut(std::time::Duration, Result<CallOutcome, CallError>) + Send,
    {
        binconn::pipeline(self, conn, op, window, on_answer).await
    }

    async fn download(
        &self,
        conn: &mut Self::Conn,
        blob: Blob,
    ) -> Result<TransferOutcome, CallError> {
        download(conn, blob).await
    }

    /// A connection of its own (authenticated when configured): from then on the
    /// server forwards every other client's BROADCAST to it.
    async fn subscribe(&self) -> Result<PushStream, CallError> {
        let (conn, _) = self.connect().await?;
        Ok(futures::stream::unfold(conn, |mut conn| async move {
            let item = next_broadcast(&mut conn).await?;
            Some((item, conn))
        })
        .boxed())
    }

    /// One BROADCAST frame; the server answers nothing to its sender.
    async fn publish(&self, conn: &mut Self::Conn, body: Bytes) -> Result<CallOutcome, CallError> {
        if body.len() > MAX_PAYLOAD {
            return Err(CallError::Unsupported(
                "broadcast above 65535 bytes (one frame)",
            ));
        }
        let sent = body.len() as u64;
        conn.send(Frame::Broadcast(body))
            .await
            .map_err(codec_error)?;
        Ok(CallOutcome {
            ttfb: None,
            sent,
            received: 0,
        })
    }
}

/// The next BROADCAST on a subscriber connection; `None` once the server closed it.
async fn next_broadcast(conn: &mut BinConn<Net001Codec>) -> Option<Result<Pushed, CallError>> {
    loop {
        match next_frame(conn).await {
            Ok(Frame::Broadcast(body)) => return Some(Ok(Pushed::now(PushEvent::Message(body)))),
            Ok(Frame::Error { code, message }) => return Some(Err(refused(code, message))),
            Ok(_) => continue,
            Err(CallError::Closed) => return None,
            Err(e) => return Some(Err(e)),
        }
    }
}

/// DATA download: the body arrives in frames of at most `MAX_DATA_BODY` bytes, each
/// CRC'd and dropped as it comes.
async fn download(
    conn: &mut BinConn<Net001Codec>,
    blob: Blob,
) -> Result<TransferOutcome, CallError> {
    let Some(chunk) = blob.chunk else {
        return Err(CallError::Unsupported(
            "whole-body transfer over NET-001 (65528 bytes per frame)",
        ));
    };
    let req = DataRequest::Download {
        req_id: 1,
        size: blob.size,
        chunk: chunk.min(u64::from(u32::MAX)) as u32,
    };
    let frame = req
        .to_frame()
        .map_err(|e| CallError::Protocol(e.to_string()))?;
    let start = tokio::time::Instant::now();
    conn.send(frame).await.map_err(codec_error)?;
    let mut out = TransferOutcome::default();
    let mut crc = crc32fast::Hasher::new();
    loop {
        let data = match next_frame(conn).await? {
            Frame::Data(payload) => payload,
            Frame::Broadcast(_) => continue,
            Frame::Error { code, message } => return Err(refused(code, message)),
            other => {
                return Err(CallError::Protocol(format!(
                    "{:?} during a download",
                    other.message_type()
                )))
            }
        };
        out.ttfb.get_or_insert_with(|| start.elapsed());
        match DataResponse::decode(data).map_err(|e| CallError::Protocol(e.to_string()))? {
            DataResponse::DownloadChunk { more, data, .. } => {
                debug_assert!(data.len() <= MAX_DATA_BODY);
                crc.update(&data);
                out.bytes += data.len() as u64;
                out.largest_piece = out.largest_piece.max(data.len() as u64);
                if !more {
                    out.crc32 = crc.finalize();
                    return Ok(out);
                }
            }
            DataResponse::Failed {
                status, message, ..
            } => return Err(failed(status, message)),
            other => {
                return Err(CallError::Protocol(format!(
                    "DATA op {:#04x} during a download",
                    other.op_byte()
                )))
            }
        }
    }
}
