//! protolab-wire: pure codecs for protolab's two custom TCP protocols, shared by the
//! binary server and the load generator.
//!
//! - [`net001`]: NET-001 (reference/004), port 5000: `0xDEADBEEF`, version, type,
//!   u16 length, payload, CRC32.
//! - [`framed`]: the framing of reference/003, port 5100: `0x12345678`, u32 type,
//!   u32 length, JSON payload.
//!
//! Bytes in, frames out: no sockets, no tasks, no clocks. Each protocol has a `Frame`
//! with `check` (is a whole frame buffered, and how long is it? allocates nothing;
//! incomplete is `Ok(None)`), `parse` and `encode(&self, &mut BytesMut)`, plus a
//! tokio-util codec ([`Net001Codec`], [`FramedCodec`]). Length fields are checked
//! against the receive limit before any memory is reserved, and no input can panic.
//!
//! # Errors and resynchronisation
//!
//! Every rejection is a [`WireError`] with an [`ErrorCode`] for the ERROR frame. After
//! bad magic, a bad version or an over-limit length the stream is no longer framed
//! (`is_recoverable() == false`): answer, then close. Anything found after a frame was
//! delimited (CRC, type, payload) is recoverable: the codecs consume that frame and
//! yield `Ok(Some(Err(e)))`, so the connection answers and reads on. The codecs' own
//! `Err(CodecError)` always means "close".
//!
//! ```
//! use bytes::BytesMut;
//! use protolab_wire::net001::{DataRequest, DataResponse, Frame};
//! use protolab_wire::Net001Codec;
//! use tokio_util::codec::Decoder;
//!
//! // Client: a PING and a get_item pipelined into one write.
//! let mut wire = BytesMut::new();
//! Frame::Ping { timestamp_us: 1 }.encode(&mut wire)?;
//! DataRequest::GetItem { req_id: 7, id: 42 }.encode_frame(&mut wire)?;
//!
//! // Server: answer what it can, close on `Err`.
//! let (mut codec, mut out) = (Net001Codec::new(), BytesMut::new());
//! while let Some(item) = codec.decode(&mut wire)? {
//!     match item {
//!         Ok(Frame::Ping { timestamp_us }) => Frame::Pong { timestamp_us }.encode(&mut out)?,
//!         Ok(Frame::Data(payload)) => {
//!             let req = DataRequest::decode(payload)?;
//!             let item = bytes::Bytes::from_static(br#"{"id":42}"#);
//!             DataResponse::Item { req_id: req.req_id(), json: item }.encode_frame(&mut out)?;
//!         }
//!         Ok(_) => {}
//!         Err(rejected) => Frame::from_wire_error(&rejected).encode(&mut out)?,
//!     }
//! }
//! assert_eq!(codec.decode(&mut out)?, Some(Ok(Frame::Pong { timestamp_us: 1 })));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! | NET-001 ERROR code | `ErrorCode` | closes? |
//! |---|---|---|
//! | `0x0001` | `BadMagic` | yes |
//! | `0x0002` | `BadVersion` | yes |
//! | `0x0003` | `BadCrc` | no |
//! | `0x0004` | `TooLarge` | yes |
//! | `0x0005` | `UnknownType` | no |
//! | `0x0101` / `0x0102` | `NotAuthenticated` / `AuthFailed` | server's choice |
//! | `0x0201` / `0x0202` | `RateLimited` / `ServerBusy` | server's choice |
//! | `0x0301` / `0x0302` / `0x0303` | `BadRequest` / `NotFound` / `Internal` | no |
//!
//! # NET-001 payloads
//!
//! | type | value | payload |
//! |---|---|---|
//! | PING / PONG | `0x01` / `0x02` | u64 BE timestamp (µs); PONG echoes PING's |
//! | ECHO / ECHO_REPLY | `0x03` / `0x04` | any bytes; the reply carries the same |
//! | BROADCAST | `0x05` | any bytes, fanned out to every client |
//! | AUTH | `0x06` | username len u8, username (UTF-8), token (the rest) |
//! | AUTH_REPLY | `0x07` | success u8 (0/1), 16-byte session id (zeros on failure) |
//! | DATA | `0x08` | a contract op, below |
//! | ERROR | `0xFF` | u16 BE code, UTF-8 message |
//!
//! # NET-001 DATA layout
//!
//! Every DATA payload starts with an op byte and a client-chosen request id, so many
//! requests can be in flight on one connection and answered in any order. All integers
//! are big-endian.
//!
//! ```text
//! request  [op u8][req_id u32][args]
//! response [op u8][req_id u32][status u8][flags u8: bit0 = MORE, others 0][body]
//! ```
//!
//! | op | code | request args | response body (status 0) | MORE |
//! |---|---|---|---|---|
//! | get_item | `0x01` | id u64 | the item, one JSON object | never |
//! | list_items | `0x02` | offset u32, limit u16, category len u8 + UTF-8 bytes (0 = none) | the page as a JSON array; the bodies of all its frames concatenated | on every frame but the last |
//! | score | `0x03` | the JSON document (rest of payload) | f64 BE | never |
//! | download | `0x04` | size u64, chunk u32 | the next `min(chunk, 65528)` bytes of the deterministic body (`protolab_core::contract::fill_pattern`) | on every frame but the last; size 0 = one empty final frame |
//!
//! | status | `FailStatus` | body |
//! |---|---|---|
//! | `0x00` | (success) | as above |
//! | `0x01` | `BadRequest` | UTF-8 message |
//! | `0x02` | `NotFound` | UTF-8 message |
//! | `0x03` | `TooLarge` | UTF-8 message |
//! | `0x04` | `Internal` | UTF-8 message |
//!
//! A failure never has MORE and ends that request's responses, even mid-stream. A
//! response body is at most 65528 bytes (65535 minus the 7-byte response header);
//! `DataResponse::list_parts` and `DataResponse::download_parts` do the splitting. A
//! request that does not decode is answered with `Failed { status: BadRequest }` using
//! the op byte and req_id from `DataRequest::peek` (req_id 0 if even those are missing).
//! Connection-level refusals (not authenticated, rate limited, busy) are ERROR frames.
//!
//! # Framed protocol envelope
//!
//! | op | request | `result` on success |
//! |---|---|---|
//! | ping | `{"op":"ping","req":1}` | absent or `null` |
//! | get_item | `{"op":"get_item","id":42,"req":7}` | the item object |
//! | list_items | `{"op":"list_items","offset":0,"limit":20,"category":"books","req":8}` (limit, category optional) | array of items |
//! | echo | `{"op":"echo","data":"hello","req":9}` | the same string |
//! | score | `{"op":"score","json":"{\"vector\":[1,2]}","req":10}` | number |
//!
//! Responses are `{"req":7,"ok":true,"result":...}` or `{"req":7,"ok":false,"error":"..."}`.
//! Echo bytes are a JSON string with one character per byte (U+0000..=U+00FF); ASCII
//! is unchanged, other bytes take 2 to 6 JSON bytes, so an echo of N arbitrary bytes
//! needs a payload limit of up to 6N plus the envelope. A close frame (type 4) may be
//! empty.

pub mod error;
pub mod framed;
pub mod net001;

pub use error::{CodecError, ErrorCode, WireError};
pub use framed::FramedCodec;
pub use net001::Net001Codec;
