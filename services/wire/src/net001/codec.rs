//! `Net001Codec`: NET-001 for tokio-util's `Framed`, `FramedRead` and `FramedWrite`.
//!
//! A thin adapter over `Frame::check_with_limit` / `Frame::parse_bytes` /
//! `Frame::encode`. A frame that is delimited but bad (CRC, type, payload) is consumed
//! and yielded as `Ok(Some(Err(_)))` so the connection can answer it and read on; only
//! a stream that is no longer framed ends with `Err(CodecError)`. No IO of its own.

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use super::{Frame, FRAME_OVERHEAD, HEADER_LEN, MAX_PAYLOAD};
use crate::error::{CodecError, WireError};

/// NET-001 codec with a receive limit on payload length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net001Codec {
    max_payload: usize,
}

impl Net001Codec {
    /// A codec accepting payloads up to the protocol's 65535 bytes.
    pub const fn new() -> Self {
        Net001Codec {
            max_payload: MAX_PAYLOAD,
        }
    }

    /// A codec refusing (and closing on) received payloads above `max_payload`; values
    /// above 65535 act as 65535. What it sends is bounded by the protocol only.
    pub const fn with_max_payload(max_payload: usize) -> Self {
        Net001Codec {
            max_payload: if max_payload < MAX_PAYLOAD {
                max_payload
            } else {
                MAX_PAYLOAD
            },
        }
    }

    /// The receive limit in force.
    pub const fn max_payload(&self) -> usize {
        self.max_payload
    }
}

impl Default for Net001Codec {
    fn default() -> Self {
        Net001Codec::new()
    }
}

impl Decoder for Net001Codec {
    /// A frame, or why the frame just consumed was rejected (the stream is still framed).
    type Item = Result<Frame, WireError>;
    /// The stream is no longer framed, or IO failed: answer if possible, then close.
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

/// Whole-frame length declared by a buffered header.
fn declared_total(src: &[u8]) -> Option<usize> {
    match src.get(6..HEADER_LEN) {
        Some(&[hi, lo]) => Some(FRAME_OVERHEAD + usize::from(u16::from_be_bytes([hi, lo]))),
        _ => None,
    }
}

impl Encoder<&Frame> for Net001Codec {
    type Error = CodecError;

    fn encode(&mut self, frame: &Frame, dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(frame.encode(dst)?)
    }
}

impl Encoder<Frame> for Net001Codec {
    type Error = CodecError;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(frame.encode(dst)?)
    }
}
