//! The REST driver: the contract's operations as protolab-rest's routes
//! (`GET /ping`, `GET /items/{id}`, `GET /items?limit`, `POST /echo`, `POST /score`).

use bytes::Bytes;
use http::Method;
use protolab_core::Item;

use crate::transport::h1::decimal;
use crate::transport::http::{HttpConn, HttpTarget, HttpVersion};
use crate::verify;
use protolab_bench::driver::{
    Blob, CallError, CallOutcome, ConnectTimings, Driver, OpSpec, TransferOutcome,
};
use protolab_bench::driver::{PushStream, StreamParams};

/// REST over HTTP/1.1 or HTTP/2, plain or TLS.
pub struct RestDriver {
    target: HttpTarget,
    /// Dataset seed the target was built with: verification compares rows to it.
    seed: u64,
    echo: Bytes,
    score_doc: Bytes,
    /// The op's HTTP/1.1 request bytes, built once (`H1Template`).
    h1: H1Template,
}

/// An op's HTTP/1.1 request as bytes written as they are: the whole request, or
/// for get_item the bytes before and after the id.
enum H1Template {
    Whole(Bytes),
    Item { before: Bytes, after: Bytes },
}

impl H1Template {
    fn new(op: &OpSpec, authority: &str, echo: &Bytes, score_doc: &Bytes) -> H1Template {
        let head = |method: &str, path: &str, body: &Bytes| {
            let mut out = format!("{method} {path} HTTP/1.1\r\nhost: {authority}\r\n");
            if !body.is_empty() {
                out.push_str("content-type: application/octet-stream\r\n");
                out.push_str(&format!("content-length: {}\r\n", body.len()));
            }
            out.push_str("\r\n");
            let mut bytes = out.into_bytes();
            bytes.extend_from_slice(body);
            Bytes::from(bytes)
        };
        match op {
            OpSpec::Ping => H1Template::Whole(head("GET", "/ping", &Bytes::new())),
            OpSpec::GetItem { .. } => H1Template::Item {
                before: Bytes::from_static(b"GET /items/"),
                after: Bytes::from(format!(" HTTP/1.1\r\nhost: {authority}\r\n\r\n")),
            },
            OpSpec::ListItems { limit, category } => H1Template::Whole(head(
                "GET",
                &list_path(*limit, category.as_deref()),
                &Bytes::new(),
            )),
            OpSpec::Echo { .. } => H1Template::Whole(head("POST", "/echo", echo)),
            OpSpec::Score { .. } => H1Template::Whole(head("POST", "/score", score_doc)),
            // Not this protocol's: `verify` refuses it before any call.
            OpSpec::Call { .. } => H1Template::Whole(Bytes::new()),
        }
    }
}

/// `/items?limit=..[&category=..]`.
fn list_path(limit: u32, category: Option<&str>) -> String {
    let cat = category
        .map(|c| format!("&category={c}"))
        .unwrap_or_default();
    format!("/items?limit={limit}{cat}")
}

impl RestDriver {
    pub fn new(target: HttpTarget, seed: u64, op: &OpSpec) -> RestDriver {
        let echo = match op {
            OpSpec::Echo { size } => Bytes::from(OpSpec::echo_payload(*size)),
            _ => Bytes::new(),
        };
        let score_doc = match op {
            OpSpec::Score { dims } => Bytes::from(OpSpec::score_doc(*dims)),
            _ => Bytes::new(),
        };
        let h1 = H1Template::new(op, &target.authority, &echo, &score_doc);
        RestDriver {
            target,
            seed,
            echo,
            score_doc,
            h1,
        }
    }

    fn request(&self, op: &OpSpec, seq: u64) -> http::Request<http_body_util::Full<Bytes>> {
        let t = &self.target;
        match op {
            OpSpec::Ping => t.request(Method::GET, "/ping", Bytes::new()),
            OpSpec::GetItem { ids } => t.request(
                Method::GET,
                &format!("/items/{}", OpSpec::item_id(*ids, seq)),
                Bytes::new(),
            ),
            OpSpec::ListItems { limit, category } => t.request(
                Method::GET,
                &list_path(*limit, category.as_deref()),
                Bytes::new(),
            ),
            OpSpec::Echo { .. } => t.request(Method::POST, "/echo", self.echo.clone()),
            OpSpec::Score { .. } => t.request(Method::POST, "/score", self.score_doc.clone()),
            // Not this protocol's: `verify` refuses it before any call.
            OpSpec::Call { .. } => t.request(Method::GET, "/", Bytes::new()),
        }
    }
}

fn json(body: &[u8]) -> Result<serde_json::Value, CallError> {
    serde_json::from_slice(body).map_err(|e| CallError::Verify(format!("answer is not JSON: {e}")))
}

impl Driver for RestDriver {
    type Conn = HttpConn;

    fn name(&self) -> String {
        let v = match self.target.version {
            HttpVersion::H1 => "h1",
            HttpVersion::H2 if self.target.scheme == "https" => "h2",
            HttpVersion::H2 => "h2c",
        };
        let tls = if self.target.scheme == "https" {
            "-tls"
        } else {
            ""
        };
        format!("rest{tls}-{v}")
    }

    async fn connect(&self) -> Result<(HttpConn, ConnectTimings), CallError> {
        self.target.connect().await
    }

    fn share(&self, conn: &mut HttpConn) -> Option<HttpConn> {
        conn.share()
    }

    async fn call(
        &self,
        conn: &mut HttpConn,
        op: &OpSpec,
        seq: u64,
    ) -> Result<CallOutcome, CallError> {
        let sent = match op {
            OpSpec::Echo { .. } => self.echo.len(),
            OpSpec::Score { .. } => self.score_doc.len(),
            _ => 0,
        } as u64;
        let mut digits = [0u8; 20];
        let (pieces, n): ([&[u8]; 3], usize) = match (&self.h1, op) {
            (H1Template::Whole(bytes), _) => ([bytes, b"", b""], 1),
            (H1Template::Item { before, after }, OpSpec::GetItem { ids }) => {
                let id = decimal(OpSpec::item_id(*ids, seq).unsigned_abs(), &mut digits);
                ([before, id, after], 3)
            }
            (H1Template::Item { .. }, _) => return Err(CallError::Unsupported("this op")),
        };
        let answer = conn
            .send_with(&pieces[..n], sent, false, || self.request(op, seq))
            .await?
            .ok()?;
        if let OpSpec::Echo { size } = op {
            if answer.outcome.received != *size as u64 {
                return Err(CallError::Verify(format!(
                    "echo returned {} of {size} bytes",
                    answer.outcome.received
                )));
            }
        }
        Ok(answer.outcome)
    }

    async fn verify(&self, conn: &mut HttpConn, op: &OpSpec) -> Result<(), CallError> {
        match op {
            OpSpec::Ping => {
                conn.send(self.request(op, 0), true).await?.ok()?;
            }
            OpSpec::GetItem { .. } => {
                let req = self.target.request(Method::GET, "/items/42", Bytes::new());
                let body = conn.send(req, true).await?.ok()?.body;
                let got: Item = serde_json::from_slice(&body)
                    .map_err(|e| CallError::Verify(format!("item 42 is not an item: {e}")))?;
                let want = Item::generate(self.seed, 42);
                if got != want {
                    return Err(CallError::Verify(format!(
                        "item 42 is {got:?}, expected {want:?}"
                    )));
                }
            }
            OpSpec::ListItems { limit, category } => {
                let body = conn.send(self.request(op, 0), true).await?.ok()?.body;
                let items: Vec<Item> = serde_json::from_slice(&body)
                    .map_err(|e| CallError::Verify(format!("list is not a list of items: {e}")))?;
                verify::page(self.seed, &items, *limit, category.as_deref())?;
            }
            OpSpec::Echo { .. } => {
                let body = conn.send(self.request(op, 0), true).await?.ok()?.body;
                if body != self.echo {
                    return Err(CallError::Verify(format!(
                        "echo returned {} different bytes",
                        body.len()
                    )));
                }
            }
            OpSpec::Score { .. } => {
                let body = conn.send(self.request(op, 0), true).await?.ok()?.body;
                let want = protolab_core::contract::score(
                    std::str::from_utf8(&self.score_doc).unwrap_or("{}"),
                )
                .map_err(|e| CallError::Verify(e.to_string()))?;
                let got = json(&body)?["score"].as_f64();
                if got != Some(want) {
                    return Err(CallError::Verify(format!("score {got:?}, expected {want}")));
                }
            }
            OpSpec::Call { .. } => return Err(CallError::custom_call()),
        }
        Ok(())
    }

    async fn upload(&self, conn: &mut HttpConn, blob: Blob) -> Result<TransferOutcome, CallError> {
        crate::transport::blob::rest_upload(&self.target, conn, blob).await
    }

    async fn download(
        &self,
        conn: &mut HttpConn,
        blob: Blob,
    ) -> Result<TransferOutcome, CallError> {
        crate::transport::blob::rest_download(&self.target, conn, blob).await
    }

    async fn stream(&self, conn: &mut HttpConn, p: &StreamParams) -> Result<PushStream, CallError> {
        crate::transport::ndjson::stream(conn, &self.target, p).await
    }
}
