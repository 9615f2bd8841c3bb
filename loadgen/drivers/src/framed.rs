//! The framed-protocol driver (reference/003's 0x12345678 framing on port 5100): the
//! contract's request/response ops as JSON envelopes (`protolab_wire::framed::envelope`),
//! answered in request order, so it pipelines. Every answer's `req` must be the
//! request's; `"ok":false` becomes `CallError::Refused`. Plain TCP only (the port has
//! no TLS and no AUTH). Frames and envelopes come from `protolab_wire` only.

use bytes::Bytes;
use protolab_wire::framed::{
    EchoData, Frame, FrameKind, FramedCodec, Request, RequestOp, Response,
};

use crate::transport::binconn::{self, BinConn, Pending, Step, Target, Wire};
use crate::verify;
use protolab_bench::driver::{
    CallError, CallOutcome, ConnectTimings, Driver, OpSpec, Refusal, Window,
};

/// Largest answer the driver accepts: a 1 MiB echo is up to ~2.6 MB of JSON.
const MAX_ANSWER: usize = 8 << 20;

/// The framed protocol over plain TCP.
pub struct FramedDriver {
    target: Target,
    seed: u64,
    echo: Bytes,
    score_doc: String,
    score: Option<f64>,
}

impl FramedDriver {
    /// `target` is `host:port`.
    pub async fn new(target: &str, seed: u64, op: &OpSpec) -> Result<FramedDriver, CallError> {
        let echo = match op {
            OpSpec::Echo { size } => Bytes::from(OpSpec::echo_payload(*size)),
            _ => Bytes::new(),
        };
        let score_doc = OpSpec::score_doc(match op {
            OpSpec::Score { dims } => *dims,
            _ => 0,
        });
        let tls = crate::transport::http::TlsOptions::default();
        Ok(FramedDriver {
            target: Target::new(target, &tls).await?,
            seed,
            echo,
            score: protolab_core::contract::score(&score_doc).ok(),
            score_doc,
        })
    }

    fn check(&self, op: &OpSpec, result: &serde_json::Value) -> Result<(), CallError> {
        match op {
            OpSpec::Echo { .. } => {
                let back = EchoData::from_value(result)
                    .map_err(|e| CallError::Verify(format!("echo result: {e}")))?;
                if back.0 != self.echo {
                    return Err(CallError::Verify(format!(
                        "echo returned {} different bytes",
                        back.0.len()
                    )));
                }
            }
            OpSpec::Score { .. } => {
                let got = result.as_f64();
                if got != self.score {
                    return Err(CallError::Verify(format!(
                        "score {got:?}, expected {:?}",
                        self.score
                    )));
                }
            }
            OpSpec::GetItem { .. } if !result.is_object() => {
                return Err(CallError::Verify("get_item result is not an object".into()))
            }
            OpSpec::ListItems { .. } if !result.is_array() => {
                return Err(CallError::Verify(
                    "list_items result is not an array".into(),
                ))
            }
            _ => {}
        }
        Ok(())
    }
}

impl Wire for FramedDriver {
    type Codec = FramedCodec;
    type Frame = Frame;

    fn request(&self, op: &OpSpec, seq: u64) -> Result<(Frame, Pending), CallError> {
        let op = match op {
            OpSpec::Ping => RequestOp::Ping,
            OpSpec::GetItem { ids } => RequestOp::GetItem {
                id: OpSpec::item_id(*ids, seq),
            },
            OpSpec::ListItems { limit, category } => RequestOp::ListItems {
                offset: 0,
                limit: Some(i64::from(*limit)),
                category: category.clone(),
            },
            OpSpec::Echo { .. } => RequestOp::Echo {
                data: EchoData(self.echo.clone()),
            },
            OpSpec::Score { .. } => RequestOp::Score {
                json: self.score_doc.clone(),
            },
            OpSpec::Call { .. } => return Err(CallError::custom_call()),
        };
        let payload = serde_json::to_vec(&Request { op, req: seq })
            .map_err(|e| CallError::Protocol(format!("request does not encode: {e}")))?;
        let pending = Pending::new(seq, payload.len());
        Ok((Frame::new(FrameKind::Request, payload), pending))
    }

    fn answer(&self, op: &OpSpec, frame: Frame, pending: &mut Pending) -> Step {
        if frame.kind != FrameKind::Response {
            return Step::Done(Err(match frame.kind {
                FrameKind::Close => CallError::Closed,
                _ => CallError::Protocol(format!("{:?} frame from the server", frame.kind)),
            }));
        }
        pending.take(&frame.payload);
        let resp = match Response::decode(&frame.payload) {
            Ok(r) => r,
            Err(e) => return Step::Done(Err(CallError::Protocol(format!("answer: {e}")))),
        };
        // Refusals the server could not tie to a request carry req 0.
        if resp.ok && resp.req != pending.tag {
            return Step::Done(Err(CallError::Protocol(format!(
                "answer to req {}, expected {} (out of order)",
                resp.req, pending.tag
            ))));
        }
        if !resp.ok {
            return Step::Done(Err(CallError::Refused {
                reason: Refusal::from_code(resp.code.as_deref()),
                message: resp.error.unwrap_or_default(),
            }));
        }
        Step::Done(self.check(op, &resp.result.unwrap_or_default()))
    }
}

impl Driver for FramedDriver {
    type Conn = BinConn<FramedCodec>;

    fn name(&self) -> String {
        "framed".into()
    }

    async fn connect(&self) -> Result<(Self::Conn, ConnectTimings), CallError> {
        self.target
            .connect(FramedCodec::with_max_payload(MAX_ANSWER))
            .await
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
        let (frame, mut pending) = match op {
            OpSpec::GetItem { .. } => {
                let payload = serde_json::to_vec(&Request {
                    op: RequestOp::GetItem { id: 42 },
                    req: 42,
                })
                .map_err(|e| CallError::Protocol(e.to_string()))?;
                let n = payload.len();
                (Frame::new(FrameKind::Request, payload), Pending::new(42, n))
            }
            _ => self.request(op, 0)?,
        };
        pending.keep = true;
        let (_, body) = binconn::exchange(self, conn, op, frame, pending).await?;
        let result = Response::decode(&body)
            .map_err(|e| CallError::Verify(e.to_string()))?
            .result
            .unwrap_or_default();
        verify::answer(self.seed, op, &result)
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
}
