//! The JSON envelope of the framed protocol, shared by the server and the load
//! generator so the two cannot drift apart.
//!
//! ```text
//! request  {"op":"get_item","id":42,"req":7}
//! response {"req":7,"ok":true,"result":{...}}  |  {"req":7,"ok":false,"error":"...","code":"not_found"}
//! ```
//!
//! `req` is the client's correlation id (responses may be matched out of order).
//! Echo bytes travel as a JSON string with one character per byte (U+0000..=U+00FF,
//! i.e. Latin-1), because the workspace has no base64: ASCII stays as it is, other
//! bytes cost 2 (or, for control bytes, 6) bytes of JSON. Serde types only, no IO.
//!
//! # The ops
//!
//! | op | request | `result` on success |
//! |---|---|---|
//! | ping | `{"op":"ping","req":1}` | absent or `null` |
//! | get_item | `{"op":"get_item","id":42,"req":7}` | the item object |
//! | list_items | `{"op":"list_items","offset":0,"limit":20,"category":"books","req":8}` (limit, category optional) | array of items |
//! | echo | `{"op":"echo","data":"hello","req":9}` | the same string |
//! | score | `{"op":"score","json":"{\"vector\":[1,2]}","req":10}` | number |
//!
//! Responses are `{"req":7,"ok":true,"result":...}` or
//! `{"req":7,"ok":false,"error":"...","code":"..."}`: `error` for people, `code` for
//! programs (`ErrorCode::name` of a refusal, `ContractError::code` of a failed
//! operation).
//! Echo bytes are a JSON string with one character per byte (U+0000..=U+00FF); ASCII
//! is unchanged, other bytes take 2 to 6 JSON bytes, so an echo of N arbitrary bytes
//! needs a payload limit of up to 6N plus the envelope. A close frame (type 4) may be
//! empty.

use bytes::{Bytes, BytesMut};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use tokio_util::codec::Encoder;

use super::{encode_json, FrameKind, FramedCodec};
use crate::error::{CodecError, WireError};

/// A client request: the op with its arguments, and a correlation id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The operation (serialised as `"op"` plus its argument fields).
    #[serde(flatten)]
    pub op: RequestOp,
    /// Client-chosen correlation id, echoed in the response (0 when omitted).
    #[serde(default)]
    pub req: u64,
}

/// The contract's operations and their arguments, tagged by `"op"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum RequestOp {
    /// `{"op":"ping"}`
    Ping,
    /// `{"op":"get_item","id":42}`
    GetItem {
        /// Item id.
        id: i64,
    },
    /// `{"op":"list_items","offset":0,"limit":20,"category":"books"}`
    ListItems {
        /// Rows to skip (default 0).
        #[serde(default)]
        offset: i64,
        /// Page size; the server applies the contract's default when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<i64>,
        /// Category filter.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        category: Option<String>,
    },
    /// `{"op":"echo","data":"hello"}`: the result is the same string.
    Echo {
        /// The bytes to echo, one JSON character per byte.
        data: EchoData,
    },
    /// `{"op":"score","json":"{\"vector\":[1,2]}"}`: the result is a number.
    Score {
        /// The JSON document, as a string.
        json: String,
    },
}

impl RequestOp {
    /// The contract's name for the op (also the `"op"` tag).
    pub fn name(&self) -> &'static str {
        match self {
            RequestOp::Ping => "ping",
            RequestOp::GetItem { .. } => "get_item",
            RequestOp::ListItems { .. } => "list_items",
            RequestOp::Echo { .. } => "echo",
            RequestOp::Score { .. } => "score",
        }
    }
}

impl Request {
    /// Decodes a request payload.
    pub fn decode(payload: &[u8]) -> Result<Request, WireError> {
        serde_json::from_slice(payload).map_err(|e| WireError::Json(e.to_string()))
    }

    /// Appends a whole request frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), WireError> {
        encode_json(FrameKind::Request, self, dst)
    }
}

/// A server response: `result` when `ok`, `error` otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// The request's correlation id.
    #[serde(default)]
    pub req: u64,
    /// Whether the operation succeeded.
    pub ok: bool,
    /// The result (absent or null for ping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// Why it failed, safe to show the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What kind of failure, for programs: `ErrorCode::name` of a refusal,
    /// `ContractError::code` of a failed operation (`not_found`, `bad_request`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl Response {
    /// A success carrying `result`.
    pub fn success(req: u64, result: Value) -> Response {
        Response {
            req,
            ok: true,
            result: Some(result),
            error: None,
            code: None,
        }
    }

    /// A failure of kind `code` carrying `error`.
    pub fn failure(req: u64, code: &str, error: impl Into<String>) -> Response {
        Response {
            req,
            ok: false,
            result: None,
            error: Some(error.into()),
            code: Some(code.to_owned()),
        }
    }

    /// The result (`Null` when absent), or the error text.
    pub fn into_result(self) -> Result<Value, String> {
        if self.ok {
            Ok(self.result.unwrap_or(Value::Null))
        } else {
            Err(self.error.unwrap_or_else(|| "unspecified error".to_owned()))
        }
    }

    /// Decodes a response payload.
    pub fn decode(payload: &[u8]) -> Result<Response, WireError> {
        serde_json::from_slice(payload).map_err(|e| WireError::Json(e.to_string()))
    }

    /// Appends a whole response frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), WireError> {
        encode_json(FrameKind::Response, self, dst)
    }
}

impl Encoder<&Request> for FramedCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &Request, dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(item.encode(dst)?)
    }
}

impl Encoder<&Response> for FramedCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &Response, dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(item.encode(dst)?)
    }
}

/// Echo bytes, carried in JSON as a string of one character (U+0000..=U+00FF) per byte.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EchoData(pub Bytes);

impl EchoData {
    /// The bytes as the JSON string value a server returns as an echo `result`.
    pub fn to_value(&self) -> Value {
        Value::String(bytes_to_json_string(&self.0))
    }

    /// The bytes of an echo `result`.
    pub fn from_value(value: &Value) -> Result<EchoData, WireError> {
        match value {
            Value::String(s) => Ok(EchoData(Bytes::from(json_string_to_bytes(s)?))),
            _ => Err(WireError::Malformed {
                what: "echo data",
                reason: "not a JSON string",
            }),
        }
    }
}

/// Bytes as a string of one character per byte (Latin-1): the echo mapping.
pub fn bytes_to_json_string(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// The inverse of `bytes_to_json_string`; characters above U+00FF are refused.
pub fn json_string_to_bytes(s: &str) -> Result<Vec<u8>, WireError> {
    if s.is_ascii() {
        return Ok(s.as_bytes().to_vec());
    }
    s.chars()
        .map(|c| {
            u8::try_from(c).map_err(|_| WireError::Malformed {
                what: "echo data",
                reason: "character above U+00FF (one character per byte)",
            })
        })
        .collect()
}

impl Serialize for EchoData {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            // ASCII maps to itself: no copy.
            Ok(text) if text.is_ascii() => s.serialize_str(text),
            _ => s.serialize_str(&bytes_to_json_string(&self.0)),
        }
    }
}

impl<'de> Deserialize<'de> for EchoData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<EchoData, D::Error> {
        d.deserialize_str(EchoVisitor)
    }
}

struct EchoVisitor;

impl Visitor<'_> for EchoVisitor {
    type Value = EchoData;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string of characters U+0000..=U+00FF, one per byte")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<EchoData, E> {
        json_string_to_bytes(v)
            .map(|b| EchoData(Bytes::from(b)))
            .map_err(E::custom)
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<EchoData, E> {
        if v.is_ascii() {
            return Ok(EchoData(Bytes::from(v.into_bytes())));
        }
        self.visit_str(&v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_matches_the_documented_json() {
        let r = Request {
            op: RequestOp::GetItem { id: 42 },
            req: 7,
        };
        let text = serde_json::to_string(&r).expect("serialises");
        assert_eq!(text, r#"{"op":"get_item","id":42,"req":7}"#);
        assert_eq!(Request::decode(text.as_bytes()), Ok(r));
        let ping = Request::decode(br#"{"op":"ping"}"#).expect("req defaults to 0");
        assert_eq!(ping.req, 0);
    }

    #[test]
    fn responses_match_the_documented_json() {
        let ok = Response::success(7, serde_json::json!(1.5));
        assert_eq!(
            serde_json::to_string(&ok).expect("serialises"),
            r#"{"req":7,"ok":true,"result":1.5}"#
        );
        let err = Response::failure(7, "not_found", "item 9 not found");
        assert_eq!(
            serde_json::to_string(&err).expect("serialises"),
            r#"{"req":7,"ok":false,"error":"item 9 not found","code":"not_found"}"#
        );
        assert_eq!(err.into_result(), Err("item 9 not found".to_owned()));
    }

    #[test]
    fn echo_bytes_survive_json() {
        let all: Vec<u8> = (0..=255).collect();
        let data = EchoData(Bytes::from(all));
        let op = RequestOp::Echo { data: data.clone() };
        let text = serde_json::to_string(&op).expect("serialises");
        let back: RequestOp = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, op);
        assert_eq!(EchoData::from_value(&data.to_value()), Ok(data));
        assert!(json_string_to_bytes("\u{100}").is_err());
    }
}
