//! The framed protocol of reference/003 on port 5100: a 12-byte header and a JSON
//! payload, built for pipelining (send many, then read many).
//!
//! ```text
//! magic u32 BE 0x12345678 | type u32 BE (1 request, 2 response, 4 close) | length u32 BE | JSON
//! ```
//!
//! This module names the constants once and checks, parses and encodes frames; the
//! payload stays `Bytes` here. `envelope` is the JSON both ends agree on; `codec`
//! adapts to tokio-util. The length is checked against the receive limit (1 MiB by
//! default) before a byte is reserved. Nothing here does IO.

pub mod codec;
pub mod envelope;

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;

pub use codec::FramedCodec;
pub use envelope::{EchoData, Request, RequestOp, Response};

use crate::error::WireError;

/// First four bytes of every frame.
pub const MAGIC: u32 = 0x1234_5678;
/// Magic, type and length.
pub const HEADER_LEN: usize = 12;
/// Default receive limit on a payload: 1 MiB, the top of the echo sweep.
pub const DEFAULT_MAX_PAYLOAD: usize = 1 << 20;
/// Largest payload the u32 length field can express.
pub const MAX_PAYLOAD: usize = u32::MAX as usize;

/// The type word of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum FrameKind {
    /// Client request (`MSG_CLIENT_REQUEST`).
    Request = 1,
    /// Server response (`MSG_SERVER_RESPONSE`).
    Response = 2,
    /// Either side is closing (`MSG_CLOSE_CONNECTION`).
    Close = 4,
}

impl FrameKind {
    /// The kind for a wire value, if it names one.
    pub const fn from_u32(v: u32) -> Option<FrameKind> {
        match v {
            1 => Some(FrameKind::Request),
            2 => Some(FrameKind::Response),
            4 => Some(FrameKind::Close),
            _ => None,
        }
    }

    /// The wire value.
    pub const fn as_u32(self) -> u32 {
        self as u32
    }
}

/// One frame: its kind and its (JSON) payload, undecoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Request, response or close.
    pub kind: FrameKind,
    /// The payload bytes (JSON for requests and responses; may be empty for close).
    pub payload: Bytes,
}

impl Frame {
    /// A frame of `kind` carrying `payload`.
    pub fn new(kind: FrameKind, payload: impl Into<Bytes>) -> Frame {
        Frame {
            kind,
            payload: payload.into(),
        }
    }

    /// A close frame with an empty payload.
    pub fn close() -> Frame {
        Frame::new(FrameKind::Close, Bytes::new())
    }

    /// Is a whole frame at the start of `src`, under the default 1 MiB limit?
    /// `Ok(Some(len))`, `Ok(None)` if more bytes are needed, or an (unrecoverable) error.
    pub fn check(src: &[u8]) -> Result<Option<usize>, WireError> {
        Frame::check_with_limit(src, DEFAULT_MAX_PAYLOAD)
    }

    /// `check` with a receiver-chosen payload limit. Allocates nothing.
    pub fn check_with_limit(src: &[u8], max_payload: usize) -> Result<Option<usize>, WireError> {
        let magic = MAGIC.to_be_bytes();
        let seen = src.len().min(magic.len());
        if src[..seen] != magic[..seen] {
            return Err(WireError::BadMagic);
        }
        let Some(len) = declared_len(src) else {
            return Ok(None);
        };
        if u64::from(len) > max_payload as u64 {
            return Err(WireError::TooLarge {
                len: u64::from(len),
                max: max_payload as u64,
            });
        }
        // `len <= max_payload`, a usize, so this cannot overflow past the check above.
        let total = HEADER_LEN.saturating_add(len as usize);
        Ok((src.len() >= total).then_some(total))
    }

    /// Parses the frame at the start of `src` (bytes after it are ignored), copying its
    /// payload. No length limit beyond the protocol's; use `check_with_limit` first.
    pub fn parse(src: &[u8]) -> Result<Frame, WireError> {
        let (kind, total) = delimit(src)?;
        Ok(Frame::new(
            kind,
            Bytes::copy_from_slice(&src[HEADER_LEN..total]),
        ))
    }

    /// `parse` without copying: the payload is a slice of `src`.
    pub fn parse_bytes(src: Bytes) -> Result<Frame, WireError> {
        let (kind, total) = delimit(&src)?;
        Ok(Frame::new(kind, src.slice(HEADER_LEN..total)))
    }

    /// Appends the encoded frame to `dst`; on error nothing is written.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), WireError> {
        let len = payload_len_u32(self.payload.len())?;
        dst.reserve(HEADER_LEN + self.payload.len());
        dst.put_u32(MAGIC);
        dst.put_u32(self.kind.as_u32());
        dst.put_u32(len);
        dst.put_slice(&self.payload);
        Ok(())
    }
}

/// Serialises `value` as the JSON payload of a `kind` frame straight into `dst`, with no
/// intermediate buffer; on error `dst` is left as it was.
pub fn encode_json<T: Serialize + ?Sized>(
    kind: FrameKind,
    value: &T,
    dst: &mut BytesMut,
) -> Result<(), WireError> {
    let start = dst.len();
    dst.reserve(HEADER_LEN + 64);
    dst.put_u32(MAGIC);
    dst.put_u32(kind.as_u32());
    dst.put_u32(0); // patched below, once the length is known
    if let Err(e) = serde_json::to_writer((&mut *dst).writer(), value) {
        dst.truncate(start);
        return Err(WireError::Json(e.to_string()));
    }
    let len = match payload_len_u32(dst.len() - start - HEADER_LEN) {
        Ok(len) => len,
        Err(e) => {
            dst.truncate(start);
            return Err(e);
        }
    };
    dst[start + 8..start + HEADER_LEN].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

fn payload_len_u32(len: usize) -> Result<u32, WireError> {
    u32::try_from(len).map_err(|_| WireError::TooLarge {
        len: len as u64,
        max: MAX_PAYLOAD as u64,
    })
}

/// The header's payload length, once the header is buffered.
fn declared_len(src: &[u8]) -> Option<u32> {
    match src.get(8..HEADER_LEN) {
        Some(&[a, b, c, d]) => Some(u32::from_be_bytes([a, b, c, d])),
        _ => None,
    }
}

/// Checks magic and completeness (protocol limit only) and the type; returns the kind
/// and the frame's total length.
fn delimit(src: &[u8]) -> Result<(FrameKind, usize), WireError> {
    let Some(total) = Frame::check_with_limit(src, MAX_PAYLOAD)? else {
        let needed =
            declared_len(src).map_or(HEADER_LEN, |len| HEADER_LEN.saturating_add(len as usize));
        return Err(WireError::Truncated {
            what: "frame",
            needed,
            got: src.len(),
        });
    };
    let kind = match src.get(4..8) {
        Some(&[a, b, c, d]) => {
            let raw = u32::from_be_bytes([a, b, c, d]);
            FrameKind::from_u32(raw).ok_or(WireError::UnknownType(raw))?
        }
        _ => return Err(WireError::BadMagic), // unreachable: `check` saw a whole header
    };
    Ok((kind, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout() {
        let mut dst = BytesMut::new();
        Frame::new(FrameKind::Request, Bytes::from_static(b"{}"))
            .encode(&mut dst)
            .expect("encodes");
        assert_eq!(
            &dst[..],
            &[0x12, 0x34, 0x56, 0x78, 0, 0, 0, 1, 0, 0, 0, 2, b'{', b'}']
        );
        assert_eq!(Frame::check(&dst), Ok(Some(14)));
    }

    #[test]
    fn length_is_refused_before_the_payload_arrives() {
        let header = [0x12, 0x34, 0x56, 0x78, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF];
        assert_eq!(
            Frame::check(&header),
            Err(WireError::TooLarge {
                len: u64::from(u32::MAX),
                max: DEFAULT_MAX_PAYLOAD as u64
            })
        );
    }

    #[test]
    fn encode_json_patches_the_length() {
        let mut dst = BytesMut::from(&b"prefix"[..]);
        encode_json(FrameKind::Response, &serde_json::json!({"a": 1}), &mut dst).expect("encodes");
        let frame = Frame::parse(&dst[6..]).expect("parses");
        assert_eq!(frame.payload, Bytes::from_static(br#"{"a":1}"#));
    }
}
