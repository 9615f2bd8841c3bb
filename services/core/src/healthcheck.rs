//! `<server> healthcheck`: exits 0 when the server's own `/readyz` answers 200.
//! Distroless images have no shell or curl, so the binary checks itself with a
//! plain HTTP/1.0 request over std's blocking socket (no runtime needed).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error("admin port {0}: {1}")]
    Io(SocketAddr, std::io::Error),
    #[error("/readyz answered {0:?}")]
    NotReady(String),
}

/// Asks `127.0.0.1:<admin_port>/readyz`.
pub fn check(admin_port: u16, timeout: Duration) -> Result<(), HealthError> {
    let addr = SocketAddr::from(([127, 0, 0, 1], admin_port));
    let io = |e| HealthError::Io(addr, e);
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(io)?;
    s.set_read_timeout(Some(timeout)).map_err(io)?;
    s.set_write_timeout(Some(timeout)).map_err(io)?;
    s.write_all(b"GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .map_err(io)?;
    let mut head = [0u8; 64];
    let n = s.read(&mut head).map_err(io)?;
    let line = String::from_utf8_lossy(&head[..n]);
    let status = line.lines().next().unwrap_or_default().to_string();
    if status.split(' ').nth(1) == Some("200") {
        Ok(())
    } else {
        Err(HealthError::NotReady(status))
    }
}
