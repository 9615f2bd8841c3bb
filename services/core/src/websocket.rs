//! Buffers and caps of every WebSocket a server accepts (the websocket server's
//! `/ws`, GraphQL's subscriptions), in one place: sized for the contract's messages
//! so an idle socket holds a few KiB, growing only for a large message. Knows no
//! subprotocol.

use axum::extract::ws::WebSocketUpgrade;

/// Read buffer each socket allocates up front, and the most one read takes from the
/// socket. The contract's requests are envelopes well under 1 KiB (echo and score
/// aside); tungstenite's default, 128 KiB, made every idle socket hold ~117 KB. A
/// larger frame grows the buffer to its size (capped by the message limit) while it
/// is read.
pub const READ_BUFFER: usize = 8 * 1024;

/// Bytes gathered before a write: none. Every frame is written as it is sent (the
/// servers flush each one anyway), so the write buffer holds one frame at most.
pub const WRITE_BUFFER: usize = 0;

/// The largest answer besides echo, with room: a page of `MAX_LIST_LIMIT` items is
/// ~250 KB of JSON.
pub const MAX_ANSWER: usize = 1 << 20;

/// Applies the buffers above and caps incoming messages and frames at `max_message`
/// bytes (MAX_BODY). The write buffer may hold two of the largest frames a server
/// sends (echo replies are `max_message` plus an envelope) and no more.
pub fn limits<F>(upgrade: WebSocketUpgrade<F>, max_message: usize) -> WebSocketUpgrade<F> {
    upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(max_message.max(MAX_ANSWER).saturating_mul(2))
        .max_message_size(max_message)
        .max_frame_size(max_message)
}
