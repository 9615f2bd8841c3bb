//! What can be wrong with bytes from a peer, and the number a NET-001 ERROR frame
//! carries for it.
//!
//! `WireError` is shared by both codecs. Its `is_recoverable` answers the one question a
//! server must ask after a bad frame: is the stream still framed (reply with an ERROR
//! and read on) or not (reply and close)? Nothing here does IO; `CodecError` only wraps
//! the IO error a tokio `Framed` hands its codec.
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

use std::io;

/// The `u16` code of a NET-001 ERROR frame.
///
/// Codes are grouped by who is at fault: `0x00xx` framing, `0x01xx` session,
/// `0x02xx` load, `0x03xx` the DATA operation. A code this crate does not know decodes
/// to `Other`, so a newer peer's ERROR frame is still readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The frame did not start with the protocol's magic; the stream is closed.
    BadMagic,
    /// Unsupported protocol version; the stream is closed.
    BadVersion,
    /// The CRC32 did not match the frame's bytes.
    BadCrc,
    /// The payload exceeds the receiver's limit; the stream is closed.
    TooLarge,
    /// Unknown message type.
    UnknownType,
    /// The operation needs a successful AUTH first.
    NotAuthenticated,
    /// AUTH was refused.
    AuthFailed,
    /// The client exceeded its message rate.
    RateLimited,
    /// The server is at capacity (connections or in-flight work).
    ServerBusy,
    /// A well-framed message whose payload or arguments are invalid.
    BadRequest,
    /// The requested item does not exist.
    NotFound,
    /// The server failed; details are in its log, not on the wire.
    Internal,
    /// A code this version of the crate does not name.
    Other(u16),
}

impl ErrorCode {
    /// Every named code, in wire order.
    pub const ALL: [ErrorCode; 12] = [
        ErrorCode::BadMagic,
        ErrorCode::BadVersion,
        ErrorCode::BadCrc,
        ErrorCode::TooLarge,
        ErrorCode::UnknownType,
        ErrorCode::NotAuthenticated,
        ErrorCode::AuthFailed,
        ErrorCode::RateLimited,
        ErrorCode::ServerBusy,
        ErrorCode::BadRequest,
        ErrorCode::NotFound,
        ErrorCode::Internal,
    ];

    /// The value on the wire.
    pub const fn as_u16(self) -> u16 {
        match self {
            ErrorCode::BadMagic => 0x0001,
            ErrorCode::BadVersion => 0x0002,
            ErrorCode::BadCrc => 0x0003,
            ErrorCode::TooLarge => 0x0004,
            ErrorCode::UnknownType => 0x0005,
            ErrorCode::NotAuthenticated => 0x0101,
            ErrorCode::AuthFailed => 0x0102,
            ErrorCode::RateLimited => 0x0201,
            ErrorCode::ServerBusy => 0x0202,
            ErrorCode::BadRequest => 0x0301,
            ErrorCode::NotFound => 0x0302,
            ErrorCode::Internal => 0x0303,
            ErrorCode::Other(v) => v,
        }
    }

    /// The code's name in JSON error envelopes and error counts (snake case):
    /// the one vocabulary of refusals across protolab's protocols.
    pub const fn name(self) -> &'static str {
        match self {
            ErrorCode::BadMagic => "bad_magic",
            ErrorCode::BadVersion => "bad_version",
            ErrorCode::BadCrc => "bad_crc",
            ErrorCode::TooLarge => "frame_too_large",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::NotAuthenticated => "not_authenticated",
            ErrorCode::AuthFailed => "auth_failed",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::ServerBusy => "busy",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Internal => "internal",
            ErrorCode::Other(_) => "error",
        }
    }

    /// The code for a wire value; unnamed values become `Other`.
    pub const fn from_u16(v: u16) -> ErrorCode {
        match v {
            0x0001 => ErrorCode::BadMagic,
            0x0002 => ErrorCode::BadVersion,
            0x0003 => ErrorCode::BadCrc,
            0x0004 => ErrorCode::TooLarge,
            0x0005 => ErrorCode::UnknownType,
            0x0101 => ErrorCode::NotAuthenticated,
            0x0102 => ErrorCode::AuthFailed,
            0x0201 => ErrorCode::RateLimited,
            0x0202 => ErrorCode::ServerBusy,
            0x0301 => ErrorCode::BadRequest,
            0x0302 => ErrorCode::NotFound,
            0x0303 => ErrorCode::Internal,
            other => ErrorCode::Other(other),
        }
    }
}

/// Why bytes from a peer were rejected. Messages are safe to show that peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The first bytes are not the protocol's magic number.
    #[error("bad magic: not a frame of this protocol")]
    BadMagic,
    /// NET-001 version byte other than `0x01`.
    #[error("unsupported protocol version {0:#04x}")]
    BadVersion(u8),
    /// The frame's CRC32 does not match its bytes.
    #[error("CRC mismatch: frame carries {expected:#010x}, its bytes give {actual:#010x}")]
    BadCrc {
        /// CRC carried by the frame.
        expected: u32,
        /// CRC computed over the frame's bytes.
        actual: u32,
    },
    /// A length field above the configured (or protocol) limit.
    #[error("payload of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Length the frame declares (or the encoder was given).
        len: u64,
        /// The limit in force.
        max: u64,
    },
    /// A message type this protocol does not define.
    #[error("unknown message type {0:#x}")]
    UnknownType(u32),
    /// A DATA op code this crate does not define.
    #[error("unknown DATA op {0:#04x}")]
    UnknownOp(u8),
    /// Fewer bytes than the structure needs.
    #[error("truncated {what}: needs {needed} bytes, has {got}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes it needs.
        needed: usize,
        /// Bytes there were.
        got: usize,
    },
    /// Bytes of the right length that do not mean anything valid.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// A framed-protocol payload that is not the JSON envelope.
    #[error("invalid JSON envelope: {0}")]
    Json(String),
}

impl WireError {
    /// The ERROR-frame code to answer this with.
    pub fn code(&self) -> ErrorCode {
        match self {
            WireError::BadMagic => ErrorCode::BadMagic,
            WireError::BadVersion(_) => ErrorCode::BadVersion,
            WireError::BadCrc { .. } => ErrorCode::BadCrc,
            WireError::TooLarge { .. } => ErrorCode::TooLarge,
            WireError::UnknownType(_) => ErrorCode::UnknownType,
            WireError::UnknownOp(_)
            | WireError::Truncated { .. }
            | WireError::Malformed { .. }
            | WireError::Json(_) => ErrorCode::BadRequest,
        }
    }

    /// Whether the stream is still framed after this error.
    ///
    /// `false` for bad magic, bad version and an over-limit length: the receiver can no
    /// longer tell where the next frame starts (or refuses to read that far), so it
    /// must answer and close. Everything else is found after the frame was delimited
    /// and consumed; the next frame starts right after it. (A CRC error caused by a
    /// damaged length field shows up as bad magic on the following frame.)
    pub fn is_recoverable(&self) -> bool {
        !matches!(
            self,
            WireError::BadMagic | WireError::BadVersion(_) | WireError::TooLarge { .. }
        )
    }
}

/// The error type of `Net001Codec` and `FramedCodec`: either the stream is no longer
/// framed (`Wire`, always unrecoverable here) or the transport failed (`Io`).
///
/// Recoverable frame errors are not `CodecError`s: the decoders yield them as items
/// (`Ok(Some(Err(_)))`), because a tokio `FramedRead` ends its stream after an error.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// A framing error after which the stream must be closed, or an unencodable frame.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The underlying transport failed.
    #[error("io error: {0}")]
    Io(#[from] io::Error),
}

impl CodecError {
    /// The ERROR-frame code to answer with before closing, if the peer can be answered.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            CodecError::Wire(e) => Some(e.code()),
            CodecError::Io(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_is_other() {
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_u16(c.as_u16()), c);
        }
        assert_eq!(ErrorCode::from_u16(0x7777), ErrorCode::Other(0x7777));
        assert_eq!(ErrorCode::Other(0x7777).as_u16(), 0x7777);
    }

    #[test]
    fn only_framing_losses_are_fatal() {
        assert!(!WireError::BadMagic.is_recoverable());
        assert!(!WireError::BadVersion(2).is_recoverable());
        assert!(!WireError::TooLarge { len: 9, max: 1 }.is_recoverable());
        assert!(WireError::BadCrc {
            expected: 1,
            actual: 2
        }
        .is_recoverable());
        assert!(WireError::UnknownType(9).is_recoverable());
        assert_eq!(WireError::UnknownOp(9).code(), ErrorCode::BadRequest);
    }
}
