//! DATA responses: `[op][req_id][status][flags][body]`, and the helpers that split a
//! long body (a list page, a download chunk) over frames with the MORE flag.
//!
//! A response sequence for one request is zero or more frames with MORE set, then
//! exactly one without it; a failure always ends the sequence. Pure layout, no IO.

use bytes::{BufMut, Bytes, BytesMut};

use super::data::{
    check_payload_len, malformed, DataOp, FailStatus, DATA_RESPONSE_HEADER_LEN, FLAG_MORE,
    MAX_DATA_BODY, STATUS_OK,
};
use super::frame::{encode_with, exact};
use super::{Frame, MessageType};
use crate::error::WireError;

/// A decoded DATA response.
#[derive(Debug, Clone, PartialEq)]
pub enum DataResponse {
    /// `get_item`: the item as JSON. Never MORE.
    Item {
        /// The request's id.
        req_id: u32,
        /// One JSON object.
        json: Bytes,
    },
    /// `list_items`: a piece of the page's JSON array; the pieces concatenated in order
    /// are the array.
    ListPart {
        /// The request's id.
        req_id: u32,
        /// More pieces follow.
        more: bool,
        /// The next bytes of the JSON array.
        json: Bytes,
    },
    /// `score`: the result as f64 BE. Never MORE.
    Score {
        /// The request's id.
        req_id: u32,
        /// The score.
        score: f64,
    },
    /// `download`: the next bytes of the body; the last frame has `more == false`.
    DownloadChunk {
        /// The request's id.
        req_id: u32,
        /// More chunks follow.
        more: bool,
        /// The next bytes of the body.
        data: Bytes,
    },
    /// Any op failed: non-zero status, UTF-8 message. Never MORE.
    Failed {
        /// The request's op byte, echoed even when it names no op.
        op: u8,
        /// The request's id (0 if the request was too short to carry one).
        req_id: u32,
        /// Why it failed.
        status: FailStatus,
        /// Text for people.
        message: String,
    },
}

impl DataResponse {
    /// A failure response; `message` is cut (at a character boundary) to fit one frame.
    pub fn failed(op: u8, req_id: u32, status: FailStatus, message: impl Into<String>) -> Self {
        let mut message = message.into();
        if message.len() > MAX_DATA_BODY {
            let mut cut = MAX_DATA_BODY;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        DataResponse::Failed {
            op,
            req_id,
            status,
            message,
        }
    }

    /// `list_items` pieces of `json`, each fitting one frame, MORE on all but the last.
    pub fn list_parts(req_id: u32, json: Bytes) -> impl Iterator<Item = DataResponse> {
        body_pieces(json).map(move |(json, more)| DataResponse::ListPart { req_id, more, json })
    }

    /// Download frames for one chunk of the body; `last_chunk` says whether the body
    /// ends with it. A chunk larger than a frame is split; a zero-byte download is one
    /// empty chunk with `last_chunk`.
    pub fn download_parts(
        req_id: u32,
        chunk: Bytes,
        last_chunk: bool,
    ) -> impl Iterator<Item = DataResponse> {
        body_pieces(chunk).map(move |(data, more)| DataResponse::DownloadChunk {
            req_id,
            more: more || !last_chunk,
            data,
        })
    }

    /// The op byte on the wire.
    pub fn op_byte(&self) -> u8 {
        match self {
            DataResponse::Item { .. } => DataOp::GetItem.as_u8(),
            DataResponse::ListPart { .. } => DataOp::ListItems.as_u8(),
            DataResponse::Score { .. } => DataOp::Score.as_u8(),
            DataResponse::DownloadChunk { .. } => DataOp::Download.as_u8(),
            DataResponse::Failed { op, .. } => *op,
        }
    }

    /// The request id this answers.
    pub fn req_id(&self) -> u32 {
        match self {
            DataResponse::Item { req_id, .. }
            | DataResponse::ListPart { req_id, .. }
            | DataResponse::Score { req_id, .. }
            | DataResponse::DownloadChunk { req_id, .. }
            | DataResponse::Failed { req_id, .. } => *req_id,
        }
    }

    /// Whether more frames of this response follow.
    pub fn more(&self) -> bool {
        match self {
            DataResponse::ListPart { more, .. } | DataResponse::DownloadChunk { more, .. } => *more,
            _ => false,
        }
    }

    /// Length of the encoded payload.
    pub fn encoded_len(&self) -> usize {
        DATA_RESPONSE_HEADER_LEN
            + match self {
                DataResponse::Item { json, .. } | DataResponse::ListPart { json, .. } => json.len(),
                DataResponse::Score { .. } => 8,
                DataResponse::DownloadChunk { data, .. } => data.len(),
                DataResponse::Failed { message, .. } => message.len(),
            }
    }

    /// Appends the DATA payload (not a frame) to `dst`; errors if it cannot fit a frame.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), WireError> {
        check_payload_len(self.encoded_len())?;
        dst.reserve(self.encoded_len());
        self.put(dst);
        Ok(())
    }

    /// Appends a whole DATA frame carrying this response to `dst`.
    pub fn encode_frame(&self, dst: &mut BytesMut) -> Result<(), WireError> {
        encode_with(MessageType::Data, self.encoded_len(), dst, |d| self.put(d))
    }

    /// This response as a DATA frame.
    pub fn to_frame(&self) -> Result<Frame, WireError> {
        let mut buf = BytesMut::new();
        self.encode(&mut buf)?;
        Ok(Frame::Data(buf.freeze()))
    }

    /// Decodes a DATA payload sent by a server.
    pub fn decode(payload: Bytes) -> Result<DataResponse, WireError> {
        let Some(&[op, a, b, c, d, status, flags]) = payload.get(..DATA_RESPONSE_HEADER_LEN) else {
            return Err(WireError::Truncated {
                what: "DATA response header",
                needed: DATA_RESPONSE_HEADER_LEN,
                got: payload.len(),
            });
        };
        let req_id = u32::from_be_bytes([a, b, c, d]);
        if flags & !FLAG_MORE != 0 {
            return Err(malformed("reserved flag bits set"));
        }
        let more = flags & FLAG_MORE != 0;
        let body = payload.slice(DATA_RESPONSE_HEADER_LEN..);
        if status != STATUS_OK {
            let status = FailStatus::from_u8(status)?;
            if more {
                return Err(malformed("MORE on a failure"));
            }
            let message = std::str::from_utf8(&body)
                .map_err(|_| malformed("failure message is not UTF-8"))?
                .to_owned();
            return Ok(DataResponse::Failed {
                op,
                req_id,
                status,
                message,
            });
        }
        let op = DataOp::from_u8(op)?;
        if more && matches!(op, DataOp::GetItem | DataOp::Score) {
            return Err(malformed("MORE on a single-frame op"));
        }
        Ok(match op {
            DataOp::GetItem => DataResponse::Item { req_id, json: body },
            DataOp::ListItems => DataResponse::ListPart {
                req_id,
                more,
                json: body,
            },
            DataOp::Score => DataResponse::Score {
                req_id,
                score: f64::from_be_bytes(exact("score result", &body)?),
            },
            DataOp::Download => DataResponse::DownloadChunk {
                req_id,
                more,
                data: body,
            },
        })
    }

    fn put(&self, dst: &mut BytesMut) {
        dst.put_u8(self.op_byte());
        dst.put_u32(self.req_id());
        let status = match self {
            DataResponse::Failed { status, .. } => *status as u8,
            _ => STATUS_OK,
        };
        dst.put_u8(status);
        dst.put_u8(if self.more() { FLAG_MORE } else { 0 });
        match self {
            DataResponse::Item { json, .. } | DataResponse::ListPart { json, .. } => {
                dst.put_slice(json)
            }
            DataResponse::Score { score, .. } => dst.put_f64(*score),
            DataResponse::DownloadChunk { data, .. } => dst.put_slice(data),
            DataResponse::Failed { message, .. } => dst.put_slice(message.as_bytes()),
        }
    }
}

/// Splits `body` into pieces of at most `MAX_DATA_BODY` bytes, each with whether more
/// follow. An empty body is one empty piece. Zero-copy: pieces share `body`'s memory.
pub fn body_pieces(body: Bytes) -> BodyPieces {
    BodyPieces {
        rest: body,
        done: false,
    }
}

/// Iterator of `body_pieces`.
#[derive(Debug, Clone)]
pub struct BodyPieces {
    rest: Bytes,
    done: bool,
}

impl Iterator for BodyPieces {
    type Item = (Bytes, bool);

    fn next(&mut self) -> Option<(Bytes, bool)> {
        if self.done {
            return None;
        }
        let piece = self.rest.split_to(self.rest.len().min(MAX_DATA_BODY));
        let more = !self.rest.is_empty();
        self.done = !more;
        Some((piece, more))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_list_is_split_with_more() {
        let json = Bytes::from(vec![b'x'; MAX_DATA_BODY * 2 + 5]);
        let parts: Vec<_> = DataResponse::list_parts(9, json.clone()).collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            parts.iter().map(DataResponse::more).collect::<Vec<_>>(),
            [true, true, false]
        );
        let mut joined = Vec::new();
        for p in &parts {
            let mut buf = BytesMut::new();
            p.encode_frame(&mut buf).expect("each part fits a frame");
            if let DataResponse::ListPart { json, .. } = p {
                joined.extend_from_slice(json);
            }
        }
        assert_eq!(joined, json);
    }

    #[test]
    fn empty_download_is_one_final_frame() {
        let parts: Vec<_> = DataResponse::download_parts(1, Bytes::new(), true).collect();
        assert_eq!(
            parts,
            [DataResponse::DownloadChunk {
                req_id: 1,
                more: false,
                data: Bytes::new()
            }]
        );
        let mid: Vec<_> = DataResponse::download_parts(1, Bytes::from_static(b"ab"), false)
            .map(|p| p.more())
            .collect();
        assert_eq!(mid, [true]);
    }
}
