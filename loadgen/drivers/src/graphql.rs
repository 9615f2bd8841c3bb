//! The GraphQL driver: protolab-graphql's queries and mutations as `POST /graphql`
//! over `http.rs` (HTTP/1.1, h2c or TLS h2): ping, `item(id)`, `items(offset, limit,
//! category)`, `echo(data)` in base64 and `score(json)`; `ticks` and `broadcasts`
//! subscriptions over graphql-transport-ws at `/graphql/ws`; `broadcast` mutations
//! as the publisher. A 200 that carries `errors` is a failed call.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use bytes::Bytes;
use http::Method;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::transport::gqlws::{self, u64_of};
use crate::transport::http::{HttpConn, HttpTarget, HttpVersion, TlsOptions};
use crate::transport::ws::{read_buffer_for, WsTarget, MIN_READ_BUFFER};
use crate::verify;
use protolab_bench::driver::{CallError, CallOutcome, ConnectTimings, Driver, OpSpec, Refusal};
use protolab_bench::driver::{PushEvent, PushStream, StreamParams};

/// Where queries go, and where subscriptions live.
pub const PATH: &str = "/graphql";
pub const WS_PATH: &str = "/graphql/ws";

const ITEM_FIELDS: &str = "id name category price description createdAt";
const PING: &str = "{ ping }";
const ECHO: &str = "mutation($data: String!) { echo(data: $data) }";
const SCORE: &str = "mutation($json: String!) { score(json: $json) }";
const BROADCAST: &str =
    "mutation($message: String!) { broadcast(message: $message) { seq subscribers } }";
const TICKS: &str = "subscription($count: Int!, $intervalMs: Int!, $size: Int!) { \
    ticks(count: $count, intervalMs: $intervalMs, size: $size) { seq sentAtMicros payload } }";
const BROADCASTS: &str = "subscription { broadcasts { seq sentAtMicros body lagged } }";

fn item_query() -> String {
    format!("query($id: Int!) {{ item(id: $id) {{ {ITEM_FIELDS} }} }}")
}

fn items_query() -> String {
    format!(
        "query($offset: Int!, $limit: Int!, $category: String) {{ \
         items(offset: $offset, limit: $limit, category: $category) {{ {ITEM_FIELDS} }} }}"
    )
}

/// GraphQL over HTTP, plain or TLS.
pub struct GraphqlDriver {
    http: HttpTarget,
    ws: WsTarget,
    seed: u64,
    /// The echo payload, and the request bodies built once per case.
    echo: Vec<u8>,
    echo_body: Bytes,
    score_doc: String,
    score_body: Bytes,
    item_query: String,
}

/// The refusal a GraphQL error's `extensions.code` names (the server's codes, as
/// Apollo spells them).
fn refusal(code: Option<&str>) -> Refusal {
    match code {
        Some("NOT_FOUND") => Refusal::NotFound,
        Some("BAD_USER_INPUT") => Refusal::BadRequest,
        Some("PAYLOAD_TOO_LARGE") => Refusal::TooLarge,
        Some("INTERNAL_SERVER_ERROR") => Refusal::Internal,
        _ => Refusal::Other,
    }
}

/// A GraphQL response; under load only whether it carries `errors` is read.
#[derive(Deserialize)]
struct Response {
    data: Option<Value>,
    errors: Option<Vec<Value>>,
}

impl GraphqlDriver {
    /// `target`: `http://host:port` or `https://host:port` (paths are the server's).
    pub async fn new(
        target: &str,
        version: HttpVersion,
        tls: &TlsOptions,
        seed: u64,
        op: &OpSpec,
    ) -> Result<GraphqlDriver, CallError> {
        let http = HttpTarget::new(target, version, tls).await?;
        let base = target.split('/').take(3).collect::<Vec<_>>().join("/");
        let ws = WsTarget::new(&base, WS_PATH, tls)
            .await?
            .with_subprotocol(gqlws::SUBPROTOCOL);
        let echo = match op {
            OpSpec::Echo { size } => OpSpec::echo_payload(*size),
            _ => Vec::new(),
        };
        let score_doc = match op {
            OpSpec::Score { dims } => OpSpec::score_doc(*dims),
            _ => String::new(),
        };
        Ok(GraphqlDriver {
            echo_body: body(ECHO, json!({ "data": BASE64.encode(&echo) })),
            score_body: body(SCORE, json!({ "json": score_doc })),
            http,
            ws,
            seed,
            echo,
            score_doc,
            item_query: item_query(),
        })
    }

    fn post(&self, body: Bytes) -> http::Request<http_body_util::Full<Bytes>> {
        let mut req = self.http.request(Method::POST, PATH, body);
        req.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        req
    }

    fn request_body(&self, op: &OpSpec, seq: u64) -> Result<Bytes, CallError> {
        Ok(match op {
            OpSpec::Ping => body(PING, json!({})),
            OpSpec::GetItem { ids } => body(
                &self.item_query,
                json!({ "id": OpSpec::item_id(*ids, seq) }),
            ),
            OpSpec::ListItems { limit, category } => body(
                &items_query(),
                json!({ "offset": 0, "limit": limit, "category": category }),
            ),
            OpSpec::Echo { .. } => self.echo_body.clone(),
            OpSpec::Score { .. } => self.score_body.clone(),
            OpSpec::Call { .. } => return Err(CallError::custom_call()),
        })
    }

    /// Sends `body`; the answer's `data`, or the failure.
    async fn execute(
        &self,
        conn: &mut HttpConn,
        body: Bytes,
    ) -> Result<(Value, CallOutcome), CallError> {
        let answer = conn.send(self.post(body), true).await?.ok()?;
        let r: Response = serde_json::from_slice(&answer.body)
            .map_err(|e| CallError::Verify(format!("answer is not a GraphQL response: {e}")))?;
        if let Some(errors) = r.errors.filter(|e| !e.is_empty()) {
            let reason = refusal(
                errors[0]
                    .pointer("/extensions/code")
                    .and_then(Value::as_str),
            );
            return Err(CallError::Refused {
                reason,
                message: Value::from(errors).to_string(),
            });
        }
        Ok((r.data.unwrap_or(Value::Null), answer.outcome))
    }
}

/// A JSON GraphQL request body.
fn body(query: &str, variables: Value) -> Bytes {
    Bytes::from(json!({ "query": query, "variables": variables }).to_string())
}

/// A `ticks` result as a stream event.
fn tick(data: &Value) -> Result<PushEvent, CallError> {
    let t = &data["ticks"];
    match (u64_of(&t["seq"]), u64_of(&t["sentAtMicros"])) {
        (Some(seq), Some(sent_at_us)) => Ok(PushEvent::Event { seq, sent_at_us }),
        _ => Err(CallError::Protocol(format!("tick without seq: {data}"))),
    }
}

/// A `broadcasts` result: a message, or a lag notice.
fn broadcast_event(data: &Value) -> Result<PushEvent, CallError> {
    let b = &data["broadcasts"];
    if let Some(n) = u64_of(&b["lagged"]) {
        return Ok(PushEvent::Lagged(n));
    }
    match b["body"].as_str() {
        Some(body) => Ok(PushEvent::Message(Bytes::copy_from_slice(body.as_bytes()))),
        None => Err(CallError::Protocol(format!(
            "broadcast without body: {data}"
        ))),
    }
}

impl Driver for GraphqlDriver {
    type Conn = HttpConn;

    fn name(&self) -> String {
        let tls = self.http.scheme == "https";
        match (self.http.version, tls) {
            (HttpVersion::H1, false) => "graphql".into(),
            (HttpVersion::H1, true) => "graphql-tls-h1".into(),
            (HttpVersion::H2, false) => "graphql-h2c".into(),
            (HttpVersion::H2, true) => "graphql-tls-h2".into(),
        }
    }

    async fn connect(&self) -> Result<(HttpConn, ConnectTimings), CallError> {
        self.http.connect().await
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
        let (data, outcome) = self.execute(conn, self.request_body(op, seq)?).await?;
        if let OpSpec::Echo { size } = op {
            let back = data["echo"].as_str().map(str::len).unwrap_or(0);
            if back != size.div_ceil(3) * 4 {
                return Err(CallError::Verify(format!(
                    "echo returned {back} base64 characters for {size} bytes"
                )));
            }
        }
        Ok(outcome)
    }

    async fn verify(&self, conn: &mut HttpConn, op: &OpSpec) -> Result<(), CallError> {
        match op {
            OpSpec::Ping => {
                let (data, _) = self.execute(conn, self.request_body(op, 0)?).await?;
                match data["ping"].as_str() {
                    Some("pong") => Ok(()),
                    _ => Err(CallError::Verify(format!("ping answered {data}"))),
                }
            }
            OpSpec::GetItem { .. } => {
                let (data, _) = self
                    .execute(conn, body(&self.item_query, json!({ "id": 42 })))
                    .await?;
                verify::item_42(self.seed, &data["item"])
            }
            OpSpec::ListItems { limit, category } => {
                let (data, _) = self.execute(conn, self.request_body(op, 0)?).await?;
                verify::item_page(self.seed, &data["items"], *limit, category.as_deref())
            }
            OpSpec::Echo { .. } => {
                let (data, _) = self.execute(conn, self.echo_body.clone()).await?;
                let back = BASE64
                    .decode(data["echo"].as_str().unwrap_or_default())
                    .map_err(|e| CallError::Verify(format!("echo is not base64: {e}")))?;
                verify::echo(&self.echo, &back)
            }
            OpSpec::Score { .. } => {
                let (data, _) = self.execute(conn, self.score_body.clone()).await?;
                verify::score(&self.score_doc, data["score"].as_f64())
            }
            OpSpec::Call { .. } => Err(CallError::custom_call()),
        }
    }

    async fn stream(
        &self,
        _conn: &mut HttpConn,
        p: &StreamParams,
    ) -> Result<PushStream, CallError> {
        let vars = json!({ "count": p.count, "intervalMs": p.interval_ms, "size": p.size });
        // An event's payload travels as JSON text: room for twice its size.
        let read_buffer = read_buffer_for(p.size.saturating_mul(2));
        gqlws::subscribe(&self.ws, TICKS, vars, read_buffer, tick).await
    }

    async fn subscribe(&self) -> Result<PushStream, CallError> {
        let small = MIN_READ_BUFFER;
        gqlws::subscribe(&self.ws, BROADCASTS, json!({}), small, broadcast_event).await
    }

    async fn publish(&self, conn: &mut HttpConn, msg: Bytes) -> Result<CallOutcome, CallError> {
        let message = String::from_utf8_lossy(&msg).into_owned();
        let (data, outcome) = self
            .execute(conn, body(BROADCAST, json!({ "message": message })))
            .await?;
        if data["broadcast"]["seq"].is_null() {
            return Err(CallError::Verify(format!("broadcast answered {data}")));
        }
        Ok(outcome)
    }
}
