//! The WebSocket transport shared by the WebSocket and GraphQL drivers: a target
//! (`ws://`, `wss://`, `http(s)://` or `host:port`) and a connection opened in timed
//! stages — TCP and TLS through `HttpTarget::connect_io` (no second HTTP client),
//! then the HTTP/1.1 upgrade, which is the connection's handshake. It speaks nothing
//! over the socket; the drivers own their protocols.

use std::time::Instant;

use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::WebSocketStream;

use crate::transport::http::{HttpTarget, HttpVersion, TlsOptions};
use crate::transport::Io;
use crate::CONNECT_TIMEOUT;
use protolab_bench::driver::{CallError, ConnectTimings};

/// An open WebSocket over plain TCP or TLS.
pub type Ws = WebSocketStream<Io>;

/// The smallest read buffer a socket gets: every small message in one read.
/// tungstenite's default is 128 KiB, and it zero-fills its read buffer before every
/// read (tungstenite-rs#547): 55% of the generator's instructions per 1 KiB echo in a
/// callgrind profile. It is also 128 MiB for 1,000 subscribers.
pub const MIN_READ_BUFFER: usize = 8 * 1024;
/// The most any socket gets (tungstenite's default): larger messages take more reads.
pub const MAX_READ_BUFFER: usize = 128 * 1024;

/// The read buffer for a socket whose largest message is `largest` bytes: room for it
/// and its frame header, within [`MIN_READ_BUFFER`] and [`MAX_READ_BUFFER`].
pub fn read_buffer_for(largest: usize) -> usize {
    largest
        .saturating_add(1024)
        .clamp(MIN_READ_BUFFER, MAX_READ_BUFFER)
}

/// Where a WebSocket lives.
#[derive(Clone)]
pub struct WsTarget {
    http: HttpTarget,
    path: String,
    subprotocol: Option<&'static str>,
}

impl WsTarget {
    /// Parses `target`; its path, when it has one, replaces `default_path`.
    pub async fn new(
        target: &str,
        default_path: &str,
        tls: &TlsOptions,
    ) -> Result<WsTarget, CallError> {
        let (scheme, rest) = target.split_once("://").unwrap_or(("ws", target));
        let scheme = match scheme {
            "wss" | "https" => "https",
            "ws" | "http" => "http",
            other => return Err(CallError::Connect(format!("unknown scheme {other}://"))),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) if rest.len() > i + 1 => (&rest[..i], rest[i..].to_string()),
            Some(i) => (&rest[..i], default_path.to_string()),
            None => (rest, default_path.to_string()),
        };
        // The upgrade is HTTP/1.1: offer only http/1.1 by ALPN.
        let http =
            HttpTarget::new(&format!("{scheme}://{authority}"), HttpVersion::H1, tls).await?;
        Ok(WsTarget {
            http,
            path,
            subprotocol: None,
        })
    }

    /// Asks for `protocol` in Sec-WebSocket-Protocol and insists the server picks it.
    pub fn with_subprotocol(mut self, protocol: &'static str) -> WsTarget {
        self.subprotocol = Some(protocol);
        self
    }

    pub fn is_tls(&self) -> bool {
        self.http.scheme == "https"
    }

    /// `ws://host:port/path` or `wss://...`.
    pub fn url(&self) -> String {
        let scheme = if self.is_tls() { "wss" } else { "ws" };
        format!("{scheme}://{}{}", self.http.authority, self.path)
    }

    /// Opens a socket: TCP, TLS, then the upgrade (`handshake`), reading
    /// `read_buffer` bytes at a time ([`read_buffer_for`]).
    pub async fn connect(&self, read_buffer: usize) -> Result<(Ws, ConnectTimings), CallError> {
        let (io, _, mut timings) = self.http.connect_io().await?;
        let t = Instant::now();
        let mut req = self
            .url()
            .into_client_request()
            .map_err(|e| CallError::Connect(format!("bad WebSocket URL: {e}")))?;
        if let Some(p) = self.subprotocol {
            req.headers_mut()
                .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(p));
        }
        let config = WebSocketConfig::default().read_buffer_size(read_buffer);
        let upgrade = tokio_tungstenite::client_async_with_config(req, io, Some(config));
        let (ws, resp) = tokio::time::timeout(CONNECT_TIMEOUT, upgrade)
            .await
            .map_err(|_| CallError::Connect("WebSocket upgrade timed out".into()))?
            .map_err(|e| CallError::Connect(format!("WebSocket upgrade: {e}")))?;
        timings.handshake = Some(t.elapsed());
        if let Some(p) = self.subprotocol {
            let chosen = resp.headers().get("sec-websocket-protocol");
            if chosen.and_then(|v| v.to_str().ok()) != Some(p) {
                return Err(CallError::Connect(format!(
                    "server chose subprotocol {chosen:?}, not {p}"
                )));
            }
        }
        Ok((ws, timings))
    }
}

/// A tungstenite error as a call error: a closed socket is `Closed`, the rest protocol.
pub fn ws_error(e: tokio_tungstenite::tungstenite::Error) -> CallError {
    use tokio_tungstenite::tungstenite::Error as E;
    match e {
        E::ConnectionClosed | E::AlreadyClosed | E::Io(_) => CallError::Closed,
        other => CallError::Protocol(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_buffer_fits_the_largest_message_within_its_bounds() {
        assert_eq!(read_buffer_for(0), MIN_READ_BUFFER);
        assert_eq!(read_buffer_for(20_000), 21_024);
        assert_eq!(read_buffer_for(1 << 20), MAX_READ_BUFFER);
        assert_eq!(read_buffer_for(usize::MAX), MAX_READ_BUFFER);
    }
}
