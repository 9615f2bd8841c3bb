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
//! `Err(CodecError)` always means "close". The ERROR codes are listed in [`error`],
//! NET-001's payloads and DATA layout in [`net001`], the framed envelope in
//! [`framed::envelope`].
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

pub mod error;
pub mod framed;
pub mod net001;

pub use error::{CodecError, ErrorCode, WireError};
pub use framed::FramedCodec;
pub use net001::Net001Codec;
