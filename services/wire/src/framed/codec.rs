//! `FramedCodec`: the reference/003 framing for tokio-util's `Framed` family.
//!
//! A thin adapter over `Frame::check_with_limit` / `Frame::parse_bytes` /
//! `Frame::encode`. An unknown type word is consumed and yielded as
//! `Ok(Some(Err(_)))` (the stream is still framed); bad magic and an over-limit length
//! end the stream with `Err(CodecError)`. No IO of its own.

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use super::{Frame, DEFAULT_MAX_PAYLOAD, HEADER_LEN};
use crate::error::{CodecError, WireError};

/// Framed-protocol codec with a receive limit on payload length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramedCodec {
    max_payload: usize,
}

impl FramedCodec {
    /// A codec accepting payloads up to 1 MiB.
    pub const fn new() -> Self {
        FramedCodec {
            max_payload: DEFAULT_MAX_PAYLOAD,
        }
    }

    /// A codec refusing (and closing on) received payloads above `max_payload`. What it
    /// sends is bounded by the u32 length field only.
    pub const fn with_max_payload(max_payload: usize) -> Self {
        FramedCodec { max_payload }
    }

    /// The receive limit in force.
    pub const fn max_payload(&self) -> usize {
        self.max_payload
    }
}

impl Default for FramedCodec {
    fn default() -> Self {
        FramedCodec::new()
    }
}

/// Whole-frame length declared by a buffered header.
fn declared_total(src: &[u8]) -> Option<usize> {
    match src.get(8..HEADER_LEN) {
        Some(&[a, b, c, d]) => {
            Some(HEADER_LEN.saturating_add(u32::from_be_bytes([a, b, c, d]) as usize))
        }
        _ => None,
    }
}

impl Decoder for FramedCodec {
    /// A frame, or why the frame just consumed was rejected (the stream is still framed).
    type Item = Result<Frame, WireError>;
    /// The stream is no longer framed, or IO failed: close.
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, CodecError> {
        match Frame::check_with_limit(src, self.max_payload)? {
            Some(len) => Ok(Some(Frame::parse_bytes(src.split_to(len).freeze()))),
            None => {
                // Room for the rest of the frame: bounded by the limit `check` enforced.
                if let Some(total) = declared_total(src) {
                    src.reserve(total.saturating_sub(src.len()));
                }
                Ok(None)
            }
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, CodecError> {
        match self.decode(src)? {
            Some(item) => Ok(Some(item)),
            None if src.is_empty() => Ok(None),
            None => Err(WireError::Truncated {
                what: "frame at end of stream",
                needed: declared_total(src).unwrap_or(HEADER_LEN),
                got: src.len(),
            }
            .into()),
        }
    }
}

impl Encoder<&Frame> for FramedCodec {
    type Error = CodecError;

    fn encode(&mut self, frame: &Frame, dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(frame.encode(dst)?)
    }
}

impl Encoder<Frame> for FramedCodec {
    type Error = CodecError;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(frame.encode(dst)?)
    }
}
