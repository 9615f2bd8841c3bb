//! NET-001 (reference/004): the binary message protocol on port 5000.
//!
//! ```text
//! magic u32 BE 0xDEADBEEF | version u8 0x01 | type u8 | length u16 BE | payload | CRC32 u32 BE
//! ```
//!
//! The CRC is IEEE CRC32 of every byte before it (header and payload). This module
//! names the protocol's constants once; `frame` checks, parses and encodes frames,
//! `data` gives the DATA payload its request/response layout, `codec` adapts both to
//! tokio-util. Nothing here does IO.
//!
//! # Payloads
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
//! # DATA layout
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

pub mod codec;
pub mod data;
mod data_response;
pub mod frame;

pub use codec::Net001Codec;
pub use data::{DataOp, DataRequest, DataResponse, FailStatus};
pub use frame::Frame;

/// First four bytes of every frame.
pub const MAGIC: u32 = 0xDEAD_BEEF;
/// The only protocol version.
pub const VERSION: u8 = 0x01;
/// Magic, version, type and length.
pub const HEADER_LEN: usize = 8;
/// The trailing CRC32.
pub const CRC_LEN: usize = 4;
/// Bytes of a frame that are not payload.
pub const FRAME_OVERHEAD: usize = HEADER_LEN + CRC_LEN;
/// Largest payload the u16 length field can express.
pub const MAX_PAYLOAD: usize = u16::MAX as usize;
/// Largest whole frame.
pub const MAX_FRAME_LEN: usize = FRAME_OVERHEAD + MAX_PAYLOAD;
/// PING/PONG payload: one u64 BE microsecond timestamp.
pub const TIMESTAMP_LEN: usize = 8;
/// AUTH_REPLY session id.
pub const SESSION_ID_LEN: usize = 16;
/// AUTH usernames are length-prefixed by one byte.
pub const MAX_USERNAME_LEN: usize = u8::MAX as usize;

/// The type byte of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageType {
    /// Heartbeat request: u64 BE timestamp (µs).
    Ping = 0x01,
    /// Heartbeat answer: the PING's timestamp echoed.
    Pong = 0x02,
    /// Echo request: any bytes.
    Echo = 0x03,
    /// Echo answer: the same bytes.
    EchoReply = 0x04,
    /// Fan-out to every connected client: any bytes.
    Broadcast = 0x05,
    /// Authentication: username length u8, username, token (the rest).
    Auth = 0x06,
    /// Authentication answer: success u8, 16-byte session id.
    AuthReply = 0x07,
    /// The contract's operations; see `data`.
    Data = 0x08,
    /// Error: u16 BE code, UTF-8 message.
    Error = 0xFF,
}

impl MessageType {
    /// Every type, in wire order.
    pub const ALL: [MessageType; 9] = [
        MessageType::Ping,
        MessageType::Pong,
        MessageType::Echo,
        MessageType::EchoReply,
        MessageType::Broadcast,
        MessageType::Auth,
        MessageType::AuthReply,
        MessageType::Data,
        MessageType::Error,
    ];

    /// The type for a wire byte, if it names one.
    pub const fn from_u8(v: u8) -> Option<MessageType> {
        Some(match v {
            0x01 => MessageType::Ping,
            0x02 => MessageType::Pong,
            0x03 => MessageType::Echo,
            0x04 => MessageType::EchoReply,
            0x05 => MessageType::Broadcast,
            0x06 => MessageType::Auth,
            0x07 => MessageType::AuthReply,
            0x08 => MessageType::Data,
            0xFF => MessageType::Error,
            _ => return None,
        })
    }

    /// The wire byte.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }
}
