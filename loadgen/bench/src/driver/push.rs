//! What drivers hand the push kinds (`crate::kind::stream`, `crate::kind::broadcast`): server-pushed events, decoded
//! and stamped with their arrival time, as one stream per subscription. A driver only
//! decodes its wire format into `Pushed`; counting, sequence checks and latency
//! belong to the runners, never to a driver.

use bytes::Bytes;
use futures::stream::BoxStream;

use super::CallError;

pub use protolab_core::contract::StreamParams;

/// One decoded push, stamped with the generator's wall clock on arrival (the send
/// stamps it is compared with are wall clock too: same host, same clock).
#[derive(Debug, Clone, PartialEq)]
pub struct Pushed {
    /// Microseconds since the Unix epoch when the driver decoded it.
    pub arrived_us: u64,
    pub event: PushEvent,
}

/// What arrived.
#[derive(Debug, Clone, PartialEq)]
pub enum PushEvent {
    /// A `stream` event: its sequence number and the server's send stamp.
    Event { seq: u64, sent_at_us: u64 },
    /// A broadcast message body, as the publisher sent it.
    Message(Bytes),
    /// The server skipped this many messages because this subscriber fell behind.
    Lagged(u64),
    /// The connection dropped and the driver resumed the stream (SSE Last-Event-ID).
    Resumed,
}

impl Pushed {
    /// `event`, arrived now.
    pub fn now(event: PushEvent) -> Pushed {
        Pushed {
            arrived_us: protolab_core::contract::now_micros(),
            event,
        }
    }
}

/// A subscription: pushes until the server ends it (a finished `stream`) or the
/// stream is dropped (a broadcast subscriber). An error ends it.
pub type PushStream = BoxStream<'static, Result<Pushed, CallError>>;
