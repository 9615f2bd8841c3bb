//! The DATA payload: the contract's operations behind a one-byte op code, with a
//! request id so a client can keep many in flight on one connection.
//!
//! ```text
//! request  [op u8][req_id u32 BE][args]
//! response [op u8][req_id u32 BE][status u8][flags u8: bit0 = MORE][body]
//! ```
//!
//! The crate docs hold the full table. Bodies (item JSON, list JSON, download bytes) are
//! opaque here: the server fills them, the client checks them. Pure byte layout, no IO.

use bytes::{BufMut, Bytes, BytesMut};

use super::frame::{encode_with, exact};
use super::{Frame, MessageType, MAX_PAYLOAD};
use crate::error::WireError;

/// `[op][req_id]`.
pub const DATA_REQUEST_HEADER_LEN: usize = 5;
/// `[op][req_id][status][flags]`.
pub const DATA_RESPONSE_HEADER_LEN: usize = 7;
/// Largest response body one frame carries; longer bodies are split with MORE.
pub const MAX_DATA_BODY: usize = MAX_PAYLOAD - DATA_RESPONSE_HEADER_LEN;
/// Response status of a successful operation.
pub const STATUS_OK: u8 = 0x00;
/// Response flag: more frames of this response follow.
pub const FLAG_MORE: u8 = 0x01;
/// Longest `list_items` category (one length byte; 0 means none).
pub const MAX_CATEGORY_LEN: usize = u8::MAX as usize;

/// The operation a DATA payload carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DataOp {
    /// One item by id.
    GetItem = 0x01,
    /// One page of items.
    ListItems = 0x02,
    /// reference/002's score of a JSON document.
    Score = 0x03,
    /// A deterministic byte stream of a requested size.
    Download = 0x04,
}

impl DataOp {
    /// Every op, in wire order.
    pub const ALL: [DataOp; 4] = [
        DataOp::GetItem,
        DataOp::ListItems,
        DataOp::Score,
        DataOp::Download,
    ];

    /// The op for a wire byte.
    pub fn from_u8(v: u8) -> Result<DataOp, WireError> {
        match v {
            0x01 => Ok(DataOp::GetItem),
            0x02 => Ok(DataOp::ListItems),
            0x03 => Ok(DataOp::Score),
            0x04 => Ok(DataOp::Download),
            other => Err(WireError::UnknownOp(other)),
        }
    }

    /// The wire byte.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }
}

/// Why a DATA operation failed (the response's non-zero status byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FailStatus {
    /// Invalid arguments or an undecodable request.
    BadRequest = 0x01,
    /// No such item.
    NotFound = 0x02,
    /// A requested size above the server's limit.
    TooLarge = 0x03,
    /// The server failed.
    Internal = 0x04,
}

impl FailStatus {
    /// Every failure status, in wire order.
    pub const ALL: [FailStatus; 4] = [
        FailStatus::BadRequest,
        FailStatus::NotFound,
        FailStatus::TooLarge,
        FailStatus::Internal,
    ];

    /// The status's name in error counts, as `ErrorCode::name` and
    /// `protolab_core::ContractError::code` name the same failures.
    pub const fn name(self) -> &'static str {
        match self {
            FailStatus::BadRequest => "bad_request",
            FailStatus::NotFound => "not_found",
            FailStatus::TooLarge => "too_large",
            FailStatus::Internal => "internal",
        }
    }

    pub(crate) fn from_u8(v: u8) -> Result<FailStatus, WireError> {
        match v {
            0x01 => Ok(FailStatus::BadRequest),
            0x02 => Ok(FailStatus::NotFound),
            0x03 => Ok(FailStatus::TooLarge),
            0x04 => Ok(FailStatus::Internal),
            _ => Err(malformed("unknown status")),
        }
    }
}

/// A decoded DATA request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataRequest {
    /// `[0x01][req_id][id u64]`
    GetItem {
        /// Client-chosen id echoed in the response.
        req_id: u32,
        /// Item id.
        id: u64,
    },
    /// `[0x02][req_id][offset u32][limit u16][category len u8][category]`
    ListItems {
        /// Client-chosen id echoed in the response.
        req_id: u32,
        /// Rows to skip.
        offset: u32,
        /// Page size (the server enforces the contract's maximum).
        limit: u16,
        /// Category filter; `Some("")` is sent as none.
        category: Option<String>,
    },
    /// `[0x03][req_id][json bytes]`
    Score {
        /// Client-chosen id echoed in the response.
        req_id: u32,
        /// The JSON document, unparsed.
        json: Bytes,
    },
    /// `[0x04][req_id][size u64][chunk u32]`
    Download {
        /// Client-chosen id echoed in the response.
        req_id: u32,
        /// Total bytes to send.
        size: u64,
        /// Bytes per frame wanted (capped at `MAX_DATA_BODY` per frame).
        chunk: u32,
    },
}

impl DataRequest {
    /// The request's op.
    pub fn op(&self) -> DataOp {
        match self {
            DataRequest::GetItem { .. } => DataOp::GetItem,
            DataRequest::ListItems { .. } => DataOp::ListItems,
            DataRequest::Score { .. } => DataOp::Score,
            DataRequest::Download { .. } => DataOp::Download,
        }
    }

    /// The request id.
    pub fn req_id(&self) -> u32 {
        match self {
            DataRequest::GetItem { req_id, .. }
            | DataRequest::ListItems { req_id, .. }
            | DataRequest::Score { req_id, .. }
            | DataRequest::Download { req_id, .. } => *req_id,
        }
    }

    /// The op byte and request id of a DATA payload that may not decode, so a server
    /// can answer a bad request with a `Failed` response the client can match.
    pub fn peek(payload: &[u8]) -> Option<(u8, u32)> {
        match payload.get(..DATA_REQUEST_HEADER_LEN) {
            Some(&[op, a, b, c, d]) => Some((op, u32::from_be_bytes([a, b, c, d]))),
            _ => None,
        }
    }

    /// Length of the encoded payload.
    pub fn encoded_len(&self) -> usize {
        DATA_REQUEST_HEADER_LEN
            + match self {
                DataRequest::GetItem { .. } => 8,
                DataRequest::ListItems { category, .. } => {
                    7 + category.as_ref().map_or(0, String::len)
                }
                DataRequest::Score { json, .. } => json.len(),
                DataRequest::Download { .. } => 12,
            }
    }

    /// Appends the DATA payload (not a frame) to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), WireError> {
        self.validate()?;
        dst.reserve(self.encoded_len());
        self.put(dst);
        Ok(())
    }

    /// Appends a whole DATA frame carrying this request to `dst`.
    pub fn encode_frame(&self, dst: &mut BytesMut) -> Result<(), WireError> {
        self.validate()?;
        encode_with(MessageType::Data, self.encoded_len(), dst, |d| self.put(d))
    }

    /// This request as a DATA frame.
    pub fn to_frame(&self) -> Result<Frame, WireError> {
        let mut buf = BytesMut::new();
        self.encode(&mut buf)?;
        Ok(Frame::Data(buf.freeze()))
    }

    /// Decodes a DATA payload sent by a client.
    pub fn decode(payload: Bytes) -> Result<DataRequest, WireError> {
        let (op, req_id) = DataRequest::peek(&payload).ok_or(WireError::Truncated {
            what: "DATA request header",
            needed: DATA_REQUEST_HEADER_LEN,
            got: payload.len(),
        })?;
        let args = payload.slice(DATA_REQUEST_HEADER_LEN..);
        Ok(match DataOp::from_u8(op)? {
            DataOp::GetItem => DataRequest::GetItem {
                req_id,
                id: u64::from_be_bytes(exact("get_item args", &args)?),
            },
            DataOp::ListItems => decode_list(req_id, &args)?,
            DataOp::Score => DataRequest::Score { req_id, json: args },
            DataOp::Download => {
                let [s0, s1, s2, s3, s4, s5, s6, s7, c0, c1, c2, c3] =
                    exact::<12>("download args", &args)?;
                DataRequest::Download {
                    req_id,
                    size: u64::from_be_bytes([s0, s1, s2, s3, s4, s5, s6, s7]),
                    chunk: u32::from_be_bytes([c0, c1, c2, c3]),
                }
            }
        })
    }

    fn validate(&self) -> Result<(), WireError> {
        if let DataRequest::ListItems {
            category: Some(c), ..
        } = self
        {
            if c.len() > MAX_CATEGORY_LEN {
                return Err(malformed("category longer than 255 bytes"));
            }
        }
        check_payload_len(self.encoded_len())
    }

    fn put(&self, dst: &mut BytesMut) {
        dst.put_u8(self.op().as_u8());
        dst.put_u32(self.req_id());
        match self {
            DataRequest::GetItem { id, .. } => dst.put_u64(*id),
            DataRequest::ListItems {
                offset,
                limit,
                category,
                ..
            } => {
                dst.put_u32(*offset);
                dst.put_u16(*limit);
                let cat = category.as_deref().unwrap_or("");
                // Length checked by `validate`.
                dst.put_u8(cat.len() as u8);
                dst.put_slice(cat.as_bytes());
            }
            DataRequest::Score { json, .. } => dst.put_slice(json),
            DataRequest::Download { size, chunk, .. } => {
                dst.put_u64(*size);
                dst.put_u32(*chunk);
            }
        }
    }
}

fn decode_list(req_id: u32, args: &[u8]) -> Result<DataRequest, WireError> {
    let Some(&[o1, o2, o3, o4, l1, l2, cat_len]) = args.get(..7) else {
        return Err(WireError::Truncated {
            what: "list_items args",
            needed: 7,
            got: args.len(),
        });
    };
    let cat = &args[7..];
    if cat.len() < usize::from(cat_len) {
        return Err(WireError::Truncated {
            what: "list_items category",
            needed: 7 + usize::from(cat_len),
            got: args.len(),
        });
    }
    if cat.len() > usize::from(cat_len) {
        return Err(malformed("trailing bytes after the category"));
    }
    let category = match cat_len {
        0 => None,
        _ => Some(
            std::str::from_utf8(cat)
                .map_err(|_| malformed("category is not UTF-8"))?
                .to_owned(),
        ),
    };
    Ok(DataRequest::ListItems {
        req_id,
        offset: u32::from_be_bytes([o1, o2, o3, o4]),
        limit: u16::from_be_bytes([l1, l2]),
        category,
    })
}

pub(crate) fn malformed(reason: &'static str) -> WireError {
    WireError::Malformed {
        what: "DATA payload",
        reason,
    }
}

pub(crate) fn check_payload_len(len: usize) -> Result<(), WireError> {
    if len > MAX_PAYLOAD {
        return Err(WireError::TooLarge {
            len: len as u64,
            max: MAX_PAYLOAD as u64,
        });
    }
    Ok(())
}

pub use super::data_response::{body_pieces, BodyPieces, DataResponse};
