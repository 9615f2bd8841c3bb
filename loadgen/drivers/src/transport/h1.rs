//! HTTP/1.1 spoken directly, for calls whose whole answer is read (the load's hot
//! path): the request's bytes are written as given (a driver's template, or a
//! request encoded once), the answer's head is parsed in place with httparse from a
//! read buffer the connection keeps for its life, and the body is counted and kept
//! only when asked. No dispatch task, no channel, no header map and no allocation
//! per call, as wrk does it. A profile of the h1 ping case put hyper's client
//! (dispatch task, oneshot and mpsc per request, header maps, request and URI
//! building) at about two thirds of the generator's instructions per call.
//!
//! Anything that streams a body (uploads, downloads, server push) goes through
//! hyper instead: `HttpConn` hands this connection's transport over between calls,
//! when no byte of an answer is left unread. Answers are checked as hyper checks
//! them: a malformed head, a bad length or a closed connection is an error.

use bytes::{Buf, Bytes, BytesMut};
use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::transport::http::Answer;
use crate::transport::Io;
use protolab_bench::driver::{CallError, CallOutcome};

/// Headers an answer may have; more is a protocol error (the lab's servers send ~5).
const MAX_HEADERS: usize = 32;
/// Longest answer head accepted (hyper's default limit is larger; the lab's heads
/// are ~150 bytes): a server that never ends its head cannot grow the buffer forever.
const MAX_HEAD: usize = 64 * 1024;
/// Bytes the read buffer asks for at a time.
const READ_CHUNK: usize = 16 * 1024;

/// One HTTP/1.1 connection driven in the caller's task.
pub struct RawH1 {
    io: Io,
    read: BytesMut,
    write: BytesMut,
    /// The server said `Connection: close` (or ended a body by closing).
    closed: bool,
}

/// How an answer's body is delimited.
enum BodyLength {
    Known(usize),
    Chunked,
    UntilClose,
}

/// A parsed answer head: status, its length in the buffer, how its body ends,
/// whether the server closes after it.
struct Head {
    status: StatusCode,
    len: usize,
    body: BodyLength,
    close: bool,
}

fn io_error(e: std::io::Error) -> CallError {
    use std::io::ErrorKind::*;
    match e.kind() {
        UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe => CallError::Closed,
        _ => CallError::Protocol(format!("io: {e}")),
    }
}

impl RawH1 {
    pub fn new(io: Io) -> RawH1 {
        RawH1 {
            io,
            read: BytesMut::with_capacity(READ_CHUNK),
            write: BytesMut::new(),
            closed: false,
        }
    }

    /// The transport, for hyper to take over; `None` when it cannot (the server
    /// closes it, or bytes of an answer are unread).
    pub fn into_io(self) -> Option<Io> {
        (!self.closed && self.read.is_empty()).then_some(self.io)
    }

    /// Sends a request given as pieces written back to back (one piece is written
    /// without a copy), with `sent` payload bytes, and reads its whole answer.
    pub async fn call(
        &mut self,
        request: &[&[u8]],
        sent: u64,
        keep: bool,
    ) -> Result<Answer, CallError> {
        if self.closed {
            return Err(CallError::Closed);
        }
        let start = Instant::now();
        let written = match request {
            [one] => self.io.write_all(one).await,
            pieces => {
                self.write.clear();
                for p in pieces {
                    self.write.extend_from_slice(p);
                }
                self.io.write_all(&self.write).await
            }
        };
        written.map_err(io_error)?;
        self.io.flush().await.map_err(io_error)?;
        self.answer(start, sent, keep).await
    }

    /// Reads one answer: its head, then its body.
    async fn answer(&mut self, start: Instant, sent: u64, keep: bool) -> Result<Answer, CallError> {
        let head = loop {
            if let Some(h) = parse_head(&self.read)? {
                break h;
            }
            self.fill().await?;
        };
        let ttfb = start.elapsed();
        self.read.advance(head.len);
        let (received, body) = match head.body {
            BodyLength::Known(n) => self.known(n, keep).await?,
            BodyLength::Chunked => self.chunked(keep).await?,
            BodyLength::UntilClose => self.until_close(keep).await?,
        };
        self.closed |= head.close;
        Ok(Answer {
            status: head.status,
            body,
            outcome: CallOutcome {
                ttfb: Some(ttfb),
                sent,
                received,
            },
        })
    }

    /// Reads more bytes into the buffer; a closed connection is an error.
    async fn fill(&mut self) -> Result<(), CallError> {
        self.read.reserve(READ_CHUNK);
        match self.io.read_buf(&mut self.read).await.map_err(io_error)? {
            0 => {
                self.closed = true;
                Err(CallError::Closed)
            }
            _ => Ok(()),
        }
    }

    /// Waits until `n` bytes are buffered.
    async fn buffered(&mut self, n: usize) -> Result<(), CallError> {
        while self.read.len() < n {
            self.fill().await?;
        }
        Ok(())
    }

    /// Takes `n` body bytes from the buffer (kept or dropped).
    fn take(&mut self, n: usize, kept: &mut Option<BytesMut>) {
        if let Some(k) = kept {
            k.extend_from_slice(&self.read[..n]);
        }
        self.read.advance(n);
    }

    async fn known(&mut self, n: usize, keep: bool) -> Result<(u64, Bytes), CallError> {
        let mut received = 0;
        let mut kept = keep.then(BytesMut::new);
        while received < n {
            if self.read.is_empty() {
                self.fill().await?;
            }
            let piece = self.read.len().min(n - received);
            self.take(piece, &mut kept);
            received += piece;
        }
        Ok((n as u64, kept.map(BytesMut::freeze).unwrap_or_default()))
    }

    async fn chunked(&mut self, keep: bool) -> Result<(u64, Bytes), CallError> {
        let mut received = 0u64;
        let mut kept = keep.then(BytesMut::new);
        loop {
            let (line, size) = loop {
                match httparse::parse_chunk_size(&self.read) {
                    Ok(httparse::Status::Complete(c)) => break c,
                    Ok(httparse::Status::Partial) => self.fill().await?,
                    Err(_) => return Err(CallError::Protocol("bad chunk size".into())),
                }
            };
            self.read.advance(line);
            if size == 0 {
                self.trailers().await?;
                return Ok((received, kept.map(BytesMut::freeze).unwrap_or_default()));
            }
            let mut left =
                usize::try_from(size).map_err(|_| CallError::Protocol("chunk too large".into()))?;
            while left > 0 {
                if self.read.is_empty() {
                    self.fill().await?;
                }
                let piece = self.read.len().min(left);
                self.take(piece, &mut kept);
                left -= piece;
                received += piece as u64;
            }
            self.buffered(2).await?;
            if &self.read[..2] != b"\r\n" {
                return Err(CallError::Protocol("chunk not followed by CRLF".into()));
            }
            self.read.advance(2);
        }
    }

    /// Skips the trailer section after the last chunk, up to its empty line.
    async fn trailers(&mut self) -> Result<(), CallError> {
        loop {
            let end = loop {
                match self.read.windows(2).position(|w| w == b"\r\n") {
                    Some(i) => break i,
                    None => self.fill().await?,
                }
            };
            self.read.advance(end + 2);
            if end == 0 {
                return Ok(());
            }
        }
    }

    async fn until_close(&mut self, keep: bool) -> Result<(u64, Bytes), CallError> {
        let mut received = 0u64;
        let mut kept = keep.then(BytesMut::new);
        loop {
            let piece = self.read.len();
            self.take(piece, &mut kept);
            received += piece as u64;
            self.read.reserve(READ_CHUNK);
            if self.io.read_buf(&mut self.read).await.map_err(io_error)? == 0 {
                self.closed = true;
                return Ok((received, kept.map(BytesMut::freeze).unwrap_or_default()));
            }
        }
    }
}

/// The answer head at the start of `buf`, `None` while incomplete.
fn parse_head(buf: &[u8]) -> Result<Option<Head>, CallError> {
    // Left uninitialised until parsed: zeroing 64 headers per answer showed in the
    // profile.
    let mut headers =
        [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut resp,
        buf,
        &mut headers,
    );
    let len = match parsed {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            return Err(CallError::Protocol("answer head too large".into()))
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(CallError::Protocol(format!("bad answer head: {e}"))),
    };
    let code = resp.code.unwrap_or(0);
    let status = StatusCode::from_u16(code)
        .map_err(|_| CallError::Protocol(format!("bad status {code}")))?;
    let mut body = BodyLength::UntilClose;
    let mut close = resp.version == Some(0);
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| CallError::Protocol("bad content-length".into()))?;
            if !matches!(body, BodyLength::Chunked) {
                body = BodyLength::Known(n);
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if contains_token(h.value, b"chunked") {
                body = BodyLength::Chunked;
            }
        } else if h.name.eq_ignore_ascii_case("connection") {
            close |= contains_token(h.value, b"close");
        }
    }
    // 1xx, 204 and 304 answers have no body whatever their headers say.
    if code < 200 || code == 204 || code == 304 {
        body = BodyLength::Known(0);
    }
    Ok(Some(Head {
        status,
        len,
        body,
        close,
    }))
}

/// Whether a comma-separated header value holds `token` (case-insensitive).
fn contains_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|b| *b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

/// Encodes `req` as HTTP/1.1 request bytes for `authority` (the `Host`): the path
/// in the request line, the request's own headers, a length for any body.
pub fn encode_request(
    method: &http::Method,
    uri: &http::Uri,
    headers: &http::HeaderMap,
    body: &[u8],
    authority: &str,
    out: &mut BytesMut,
) {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    out.extend_from_slice(method.as_str().as_bytes());
    out.extend_from_slice(b" ");
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    out.extend_from_slice(authority.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        if name == http::header::HOST || name == http::header::CONTENT_LENGTH {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() || !matches!(*method, http::Method::GET | http::Method::HEAD) {
        out.extend_from_slice(b"content-length: ");
        push_decimal(out, body.len() as u64);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

/// Appends `n` in decimal.
pub fn push_decimal(out: &mut BytesMut, n: u64) {
    out.extend_from_slice(decimal(n, &mut [0; 20]));
}

/// `n` in decimal, written into `digits` (no formatting machinery and no
/// allocation: it runs once per call).
pub fn decimal(mut n: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &digits[i..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn heads_parse_with_their_body_length() {
        let h = parse_head(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello")
            .ok()
            .flatten()
            .expect("complete");
        assert_eq!(h.status, StatusCode::OK);
        assert_eq!(h.len, 38);
        assert!(matches!(h.body, BodyLength::Known(5)) && !h.close);
        let h = parse_head(b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n")
            .ok()
            .flatten()
            .expect("complete");
        assert_eq!(h.status, StatusCode::NOT_FOUND);
        assert!(matches!(h.body, BodyLength::Chunked) && h.close);
        assert!(matches!(
            parse_head(b"HTTP/1.1 200 OK\r\ncontent-le"),
            Ok(None)
        ));
        assert!(parse_head(b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n").is_err());
        assert!(parse_head(b"NOT HTTP\r\n\r\n").is_err());
    }

    /// A server that answers three requests on one connection with canned
    /// answers (chunked with a trailer, a sized 404, then one ended by closing).
    async fn canned_server() -> std::io::Result<std::net::SocketAddr> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let answers: [&[u8]; 3] = [
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=1\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n",
                b"HTTP/1.1 404 Not Found\r\ncontent-length: 3\r\n\r\nnop",
                b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nbye",
            ];
            let mut buf = Vec::new();
            for answer in answers {
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    let mut piece = [0u8; 256];
                    match s.read(&mut piece).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&piece[..n]),
                    }
                }
                buf.clear();
                // Written in two pieces: the client must wait for the rest.
                let (a, b) = answer.split_at(answer.len() / 2);
                if s.write_all(a).await.is_err() || s.flush().await.is_err() {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                if s.write_all(b).await.is_err() {
                    return;
                }
            }
        });
        Ok(addr)
    }

    #[tokio::test]
    async fn answers_are_read_whole_whatever_delimits_them() -> std::io::Result<()> {
        let addr = canned_server().await?;
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        let mut conn = RawH1::new(tokio_util::either::Either::Left(tcp));
        let req: &[&[u8]] = &[b"GET / HTTP/1.1\r\n", b"host: x\r\n\r\n"];
        let a = conn.call(req, 0, true).await.expect("chunked answer");
        assert_eq!(
            (a.status, &a.body[..]),
            (StatusCode::OK, &b"hello world"[..])
        );
        assert_eq!(a.outcome.received, 11);
        let a = conn.call(req, 0, false).await.expect("sized answer");
        assert_eq!(a.status, StatusCode::NOT_FOUND);
        assert_eq!(
            (a.outcome.received, a.body.len()),
            (3, 0),
            "counted, not kept"
        );
        let a = conn
            .call(req, 0, true)
            .await
            .expect("answer ended by close");
        assert_eq!(&a.body[..], b"bye");
        assert!(matches!(
            conn.call(req, 0, true).await,
            Err(CallError::Closed)
        ));
        assert!(
            conn.into_io().is_none(),
            "a closed connection is not handed on"
        );
        Ok(())
    }

    #[test]
    fn requests_encode_with_host_and_length() {
        let mut out = BytesMut::new();
        let uri: http::Uri = "http://a:1/echo?x=1".parse().expect("uri");
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain"),
        );
        encode_request(&http::Method::POST, &uri, &headers, b"hi", "a:1", &mut out);
        assert_eq!(
            &out[..],
            b"POST /echo?x=1 HTTP/1.1\r\nhost: a:1\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nhi"
        );
        out.clear();
        push_decimal(&mut out, 0);
        push_decimal(&mut out, 18_446_744_073_709_551_615);
        assert_eq!(&out[..], b"018446744073709551615");
    }
}
