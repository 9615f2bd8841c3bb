//! One NET-001 frame: `check` (is a whole frame buffered, and how long is it?),
//! `parse` (CRC, type, typed payload) and `encode` (header, payload, CRC in one pass).
//!
//! `check` allocates nothing and rejects a stream as early as its bytes allow: a wrong
//! first magic byte fails before the rest arrives. Lengths are checked against the limit
//! before anything is reserved. Nothing here may block, read a socket or panic on input.

use bytes::{BufMut, Bytes, BytesMut};

use super::{
    MessageType, CRC_LEN, FRAME_OVERHEAD, HEADER_LEN, MAGIC, MAX_PAYLOAD, MAX_USERNAME_LEN,
    SESSION_ID_LEN, TIMESTAMP_LEN, VERSION,
};
use crate::error::{ErrorCode, WireError};

/// A NET-001 frame with its payload decoded by type.
///
/// DATA stays bytes here because a DATA payload is a request or a response depending on
/// who reads it: decode it with `DataRequest::decode` or `DataResponse::decode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Heartbeat request; the timestamp is the sender's clock in microseconds.
    Ping {
        /// Sender's timestamp (µs).
        timestamp_us: u64,
    },
    /// Heartbeat answer carrying the PING's timestamp.
    Pong {
        /// The PING's timestamp (µs).
        timestamp_us: u64,
    },
    /// Echo request.
    Echo(Bytes),
    /// Echo answer: the ECHO's bytes.
    EchoReply(Bytes),
    /// A message for every connected client.
    Broadcast(Bytes),
    /// Authentication request.
    Auth {
        /// At most 255 bytes of UTF-8.
        username: String,
        /// Opaque credential: the rest of the payload.
        token: Bytes,
    },
    /// Authentication answer.
    AuthReply {
        /// Whether AUTH succeeded.
        success: bool,
        /// The session; all zeros when `success` is false.
        session_id: [u8; SESSION_ID_LEN],
    },
    /// A contract operation; see `net001::data`.
    Data(Bytes),
    /// An error report.
    Error {
        /// What went wrong.
        code: ErrorCode,
        /// UTF-8 text for people.
        message: String,
    },
}

impl Frame {
    /// An ERROR frame; `message` is cut (at a character boundary) to fit one frame.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Frame {
        let mut message = message.into();
        let room = MAX_PAYLOAD - 2;
        if message.len() > room {
            let mut cut = room;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        Frame::Error { code, message }
    }

    /// The ERROR frame that answers a rejected frame.
    pub fn from_wire_error(err: &WireError) -> Frame {
        Frame::error(err.code(), err.to_string())
    }

    /// The frame's type byte.
    pub fn message_type(&self) -> MessageType {
        match self {
            Frame::Ping { .. } => MessageType::Ping,
            Frame::Pong { .. } => MessageType::Pong,
            Frame::Echo(_) => MessageType::Echo,
            Frame::EchoReply(_) => MessageType::EchoReply,
            Frame::Broadcast(_) => MessageType::Broadcast,
            Frame::Auth { .. } => MessageType::Auth,
            Frame::AuthReply { .. } => MessageType::AuthReply,
            Frame::Data(_) => MessageType::Data,
            Frame::Error { .. } => MessageType::Error,
        }
    }

    /// Length of the payload this frame encodes to.
    pub fn payload_len(&self) -> usize {
        match self {
            Frame::Ping { .. } | Frame::Pong { .. } => TIMESTAMP_LEN,
            Frame::Echo(b) | Frame::EchoReply(b) | Frame::Broadcast(b) | Frame::Data(b) => b.len(),
            Frame::Auth { username, token } => 1 + username.len() + token.len(),
            Frame::AuthReply { .. } => 1 + SESSION_ID_LEN,
            Frame::Error { message, .. } => 2 + message.len(),
        }
    }

    /// Length of the whole encoded frame.
    pub fn encoded_len(&self) -> usize {
        FRAME_OVERHEAD + self.payload_len()
    }

    /// Is a whole frame at the start of `src`? `Ok(Some(len))` if so, `Ok(None)` if more
    /// bytes are needed, an error (always unrecoverable) if the stream is not NET-001 or
    /// declares a payload above the protocol maximum. Allocates nothing.
    pub fn check(src: &[u8]) -> Result<Option<usize>, WireError> {
        Frame::check_with_limit(src, MAX_PAYLOAD)
    }

    /// `check` with a receiver-chosen payload limit (values above 65535 act as 65535).
    pub fn check_with_limit(src: &[u8], max_payload: usize) -> Result<Option<usize>, WireError> {
        let magic = MAGIC.to_be_bytes();
        let seen = src.len().min(magic.len());
        if src[..seen] != magic[..seen] {
            return Err(WireError::BadMagic);
        }
        if let Some(&version) = src.get(4) {
            if version != VERSION {
                return Err(WireError::BadVersion(version));
            }
        }
        let Some(len) = declared_len(src) else {
            return Ok(None);
        };
        let max = max_payload.min(MAX_PAYLOAD);
        if len > max {
            return Err(WireError::TooLarge {
                len: len as u64,
                max: max as u64,
            });
        }
        let total = FRAME_OVERHEAD + len;
        Ok((src.len() >= total).then_some(total))
    }

    /// Parses the frame at the start of `src` (bytes after it are ignored), copying
    /// its payload. `Truncated` if `src` holds less than a whole frame.
    pub fn parse(src: &[u8]) -> Result<Frame, WireError> {
        let (kind, len) = delimit(src)?;
        let payload = Bytes::copy_from_slice(&src[HEADER_LEN..HEADER_LEN + len]);
        decode_payload(kind, payload)
    }

    /// `parse` without copying: the payload is a slice of `src`.
    pub fn parse_bytes(src: Bytes) -> Result<Frame, WireError> {
        let (kind, len) = delimit(&src)?;
        decode_payload(kind, src.slice(HEADER_LEN..HEADER_LEN + len))
    }

    /// Appends the encoded frame to `dst`. On error (payload over 65535 bytes, username
    /// over 255) nothing is written and nothing is reserved.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), WireError> {
        if let Frame::Auth { username, .. } = self {
            if username.len() > MAX_USERNAME_LEN {
                return Err(WireError::Malformed {
                    what: "AUTH",
                    reason: "username longer than 255 bytes",
                });
            }
        }
        encode_with(self.message_type(), self.payload_len(), dst, |dst| {
            self.put_payload(dst)
        })
    }

    fn put_payload(&self, dst: &mut BytesMut) {
        match self {
            Frame::Ping { timestamp_us } | Frame::Pong { timestamp_us } => {
                dst.put_u64(*timestamp_us)
            }
            Frame::Echo(b) | Frame::EchoReply(b) | Frame::Broadcast(b) | Frame::Data(b) => {
                dst.put_slice(b)
            }
            Frame::Auth { username, token } => {
                // Length checked by `encode`.
                dst.put_u8(username.len() as u8);
                dst.put_slice(username.as_bytes());
                dst.put_slice(token);
            }
            Frame::AuthReply {
                success,
                session_id,
            } => {
                dst.put_u8(u8::from(*success));
                dst.put_slice(session_id);
            }
            Frame::Error { code, message } => {
                dst.put_u16(code.as_u16());
                dst.put_slice(message.as_bytes());
            }
        }
    }
}

/// Writes one frame of `kind` whose payload `write` puts in exactly `payload_len`
/// bytes, then its CRC. The length is checked before anything is reserved.
pub(crate) fn encode_with(
    kind: MessageType,
    payload_len: usize,
    dst: &mut BytesMut,
    write: impl FnOnce(&mut BytesMut),
) -> Result<(), WireError> {
    let Ok(len16) = u16::try_from(payload_len) else {
        return Err(WireError::TooLarge {
            len: payload_len as u64,
            max: MAX_PAYLOAD as u64,
        });
    };
    let start = dst.len();
    dst.reserve(FRAME_OVERHEAD + payload_len);
    dst.put_u32(MAGIC);
    dst.put_u8(VERSION);
    dst.put_u8(kind.as_u8());
    dst.put_u16(len16);
    write(dst);
    debug_assert_eq!(dst.len() - start, HEADER_LEN + payload_len);
    let crc = crc32fast::hash(&dst[start..]);
    dst.put_u32(crc);
    Ok(())
}

/// The header's payload length, once the header is buffered.
fn declared_len(src: &[u8]) -> Option<usize> {
    match src.get(6..HEADER_LEN) {
        Some(&[hi, lo]) => Some(usize::from(u16::from_be_bytes([hi, lo]))),
        _ => None,
    }
}

/// Checks framing, CRC and type of the frame at the start of `src`; returns its type and
/// payload length.
fn delimit(src: &[u8]) -> Result<(MessageType, usize), WireError> {
    let Some(total) = Frame::check(src)? else {
        let needed = declared_len(src).map_or(HEADER_LEN, |len| FRAME_OVERHEAD + len);
        return Err(WireError::Truncated {
            what: "frame",
            needed,
            got: src.len(),
        });
    };
    let (body, crc) = src[..total].split_at(total - CRC_LEN);
    let expected = u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]);
    let actual = crc32fast::hash(body);
    if expected != actual {
        return Err(WireError::BadCrc { expected, actual });
    }
    let kind = MessageType::from_u8(src[5]).ok_or(WireError::UnknownType(u32::from(src[5])))?;
    Ok((kind, total - FRAME_OVERHEAD))
}

/// A payload (or part of one) that must be exactly `N` bytes long.
pub(crate) fn exact<const N: usize>(
    what: &'static str,
    payload: &[u8],
) -> Result<[u8; N], WireError> {
    <[u8; N]>::try_from(payload).map_err(|_| {
        if payload.len() < N {
            WireError::Truncated {
                what,
                needed: N,
                got: payload.len(),
            }
        } else {
            WireError::Malformed {
                what,
                reason: "trailing bytes",
            }
        }
    })
}

fn utf8(what: &'static str, bytes: &[u8]) -> Result<String, WireError> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| WireError::Malformed {
            what,
            reason: "text is not UTF-8",
        })
}

fn decode_payload(kind: MessageType, payload: Bytes) -> Result<Frame, WireError> {
    Ok(match kind {
        MessageType::Ping => Frame::Ping {
            timestamp_us: u64::from_be_bytes(exact("PING", &payload)?),
        },
        MessageType::Pong => Frame::Pong {
            timestamp_us: u64::from_be_bytes(exact("PONG", &payload)?),
        },
        MessageType::Echo => Frame::Echo(payload),
        MessageType::EchoReply => Frame::EchoReply(payload),
        MessageType::Broadcast => Frame::Broadcast(payload),
        MessageType::Data => Frame::Data(payload),
        MessageType::Auth => decode_auth(payload)?,
        MessageType::AuthReply => {
            let raw: [u8; 1 + SESSION_ID_LEN] = exact("AUTH_REPLY", &payload)?;
            let success = match raw[0] {
                0 => false,
                1 => true,
                _ => {
                    return Err(WireError::Malformed {
                        what: "AUTH_REPLY",
                        reason: "success byte is neither 0 nor 1",
                    })
                }
            };
            let mut session_id = [0u8; SESSION_ID_LEN];
            session_id.copy_from_slice(&raw[1..]);
            Frame::AuthReply {
                success,
                session_id,
            }
        }
        MessageType::Error => match payload.get(..2) {
            Some(&[hi, lo]) => Frame::Error {
                code: ErrorCode::from_u16(u16::from_be_bytes([hi, lo])),
                message: utf8("ERROR", &payload[2..])?,
            },
            _ => {
                return Err(WireError::Truncated {
                    what: "ERROR",
                    needed: 2,
                    got: payload.len(),
                })
            }
        },
    })
}

fn decode_auth(payload: Bytes) -> Result<Frame, WireError> {
    let Some(&ulen) = payload.first() else {
        return Err(WireError::Truncated {
            what: "AUTH",
            needed: 1,
            got: 0,
        });
    };
    let end = 1 + usize::from(ulen);
    let Some(name) = payload.get(1..end) else {
        return Err(WireError::Truncated {
            what: "AUTH username",
            needed: end,
            got: payload.len(),
        });
    };
    Ok(Frame::Auth {
        username: utf8("AUTH username", name)?,
        token: payload.slice(end..),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_matches_reference_layout() {
        let mut dst = BytesMut::new();
        Frame::Ping { timestamp_us: 1 }
            .encode(&mut dst)
            .expect("ping encodes");
        assert_eq!(
            &dst[..HEADER_LEN + 8],
            &[0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x01, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 1]
        );
        let crc = crc32fast::hash(&dst[..16]).to_be_bytes();
        assert_eq!(&dst[16..], &crc);
        assert_eq!(Frame::check(&dst), Ok(Some(20)));
    }

    #[test]
    fn check_rejects_on_the_first_wrong_byte() {
        assert_eq!(Frame::check(&[]), Ok(None));
        assert_eq!(Frame::check(&[0xDE]), Ok(None));
        assert_eq!(Frame::check(&[0xDF]), Err(WireError::BadMagic));
        assert_eq!(
            Frame::check(&[0xDE, 0xAD, 0xBE, 0xEF, 0x02]),
            Err(WireError::BadVersion(2))
        );
    }

    #[test]
    fn error_frames_are_cut_to_fit() {
        let f = Frame::error(ErrorCode::Internal, "é".repeat(40_000));
        assert!(f.payload_len() <= MAX_PAYLOAD);
        f.encode(&mut BytesMut::new()).expect("fits");
    }

    #[test]
    fn oversized_payload_writes_nothing() {
        let mut dst = BytesMut::new();
        let err = Frame::Echo(Bytes::from(vec![0u8; MAX_PAYLOAD + 1])).encode(&mut dst);
        assert!(matches!(err, Err(WireError::TooLarge { .. })));
        assert!(dst.is_empty());
    }
}
