//! The GraphQL output types: the `U64` scalar, items, pushed events and receipts.
//!
//! GraphQL's `Int` is 32-bit, so every value that can pass 2^31 (sequence numbers,
//! microsecond timestamps) is a `U64`: a decimal string on the wire, which any client
//! parses without loss (JavaScript included). Nothing here does IO.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, SimpleObject, Value};
use protolab_core::contract::StreamEvent;
use protolab_core::hub::Message;
use protolab_core::Item;

/// An unsigned 64-bit integer, serialised as a decimal string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct U64(pub u64);

/// An unsigned 64-bit integer (sequence numbers, microseconds since the Unix epoch),
/// serialised as a decimal string because GraphQL's Int is only 32 bits.
#[Scalar(name = "U64")]
impl ScalarType for U64 {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => s.parse().map(U64).map_err(InputValueError::custom),
            Value::Number(n) => n
                .as_u64()
                .map(U64)
                .ok_or_else(|| InputValueError::expected_type(value.clone())),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

/// One row of the dataset; the same values as every other server returns.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "Item")]
pub struct GqlItem {
    pub id: i64,
    pub name: String,
    pub category: String,
    pub price: f64,
    /// About 100 ASCII bytes.
    pub description: String,
    /// RFC 3339 timestamp.
    pub created_at: String,
}

impl From<Item> for GqlItem {
    fn from(i: Item) -> Self {
        GqlItem {
            id: i.id,
            name: i.name,
            category: i.category,
            price: i.price,
            description: i.description,
            created_at: i.created_at,
        }
    }
}

/// One event of the `ticks` stream.
#[derive(Debug, Clone, SimpleObject)]
pub struct Tick {
    /// 0 .. count-1.
    pub seq: U64,
    /// Server wall clock when the event was produced, microseconds since the epoch.
    pub sent_at_micros: U64,
    /// `size` bytes of filler.
    pub payload: String,
}

impl From<StreamEvent> for Tick {
    fn from(e: StreamEvent) -> Self {
        Tick {
            seq: U64(e.seq),
            sent_at_micros: U64(e.sent_at_us),
            payload: e.payload,
        }
    }
}

/// One event of the `broadcasts` subscription. A message has `seq`, `sentAtMicros`
/// and `body` set and `lagged` null; when this subscriber fell behind and messages
/// were skipped, an event with only `lagged` (how many were skipped) is sent instead.
#[derive(Debug, Clone, Default, SimpleObject)]
pub struct BroadcastEvent {
    /// Hub-wide sequence number of the message.
    pub seq: Option<U64>,
    /// Server wall clock at publish time, microseconds since the epoch.
    pub sent_at_micros: Option<U64>,
    pub body: Option<String>,
    /// Messages skipped because this subscriber fell behind.
    pub lagged: Option<U64>,
}

impl BroadcastEvent {
    /// The event for a delivered message.
    pub fn from_message(m: &Message) -> Self {
        BroadcastEvent {
            seq: Some(U64(m.seq)),
            sent_at_micros: Some(U64(m.sent_at_us)),
            body: Some(m.body.clone()),
            lagged: None,
        }
    }

    /// The event telling a subscriber that `n` messages were skipped.
    pub fn lag_notice(n: u64) -> Self {
        BroadcastEvent {
            lagged: Some(U64(n)),
            ..BroadcastEvent::default()
        }
    }
}

/// What `broadcast` returns.
#[derive(Debug, Clone, SimpleObject)]
pub struct BroadcastReceipt {
    /// Sequence number given to the message.
    pub seq: U64,
    /// Subscribers it was handed to.
    pub subscribers: i32,
}
