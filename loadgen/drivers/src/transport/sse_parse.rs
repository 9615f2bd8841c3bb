//! Incremental `text/event-stream` parsing (WHATWG HTML, server-sent events): bytes
//! in as they arrive, whole events out; an event not yet complete stays buffered.
//! Each byte is looked at once and lines are split off without copying the rest of
//! the buffer (a parser that re-copies its buffer per line makes a fast stream
//! quadratic, and the generator the bottleneck). Pure: no IO.

use bytes::BytesMut;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// `event:` field, `message` when absent.
    pub event: String,
    /// `data:` lines joined by `\n`.
    pub data: String,
    /// The last `id:` seen on the stream, if any.
    pub id: Option<String>,
}

/// The parser's state between chunks.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: BytesMut,
    event: String,
    data: String,
    has_data: bool,
    id: Option<String>,
}

impl SseParser {
    /// Appends bytes received.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete event, or `None` until more bytes arrive.
    pub fn next_event(&mut self) -> Option<SseEvent> {
        loop {
            let end = self.buf.iter().position(|b| *b == b'\n' || *b == b'\r')?;
            let mut eol = 1;
            if self.buf[end] == b'\r' {
                // CR LF may be split across chunks: wait for the byte after a final CR.
                match self.buf.get(end + 1) {
                    None => return None,
                    Some(b'\n') => eol = 2,
                    Some(_) => {}
                }
            }
            let line = self.buf.split_to(end + eol);
            let line = &line[..end];
            if line.is_empty() {
                if let Some(ev) = self.dispatch() {
                    return Some(ev);
                }
            } else {
                self.field(line);
            }
        }
    }

    fn field(&mut self, line: &[u8]) {
        if line[0] == b':' {
            return; // a comment (keep-alive)
        }
        let (name, value) = match line.iter().position(|b| *b == b':') {
            Some(i) => (
                &line[..i],
                line[i + 1..].strip_prefix(b" ").unwrap_or(&line[i + 1..]),
            ),
            None => (line, &b""[..]),
        };
        let value = String::from_utf8_lossy(value);
        match name {
            b"event" => self.event = value.into_owned(),
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&value);
                self.has_data = true;
            }
            b"id" if !value.contains('\0') => self.id = Some(value.into_owned()),
            _ => {} // retry and unknown fields
        }
    }

    /// A blank line: the event so far, unless it had no data.
    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = std::mem::take(&mut self.event);
        if !std::mem::take(&mut self.has_data) {
            return None;
        }
        Some(SseEvent {
            event: if event.is_empty() {
                "message".into()
            } else {
                event
            },
            data: std::mem::take(&mut self.data),
            id: self.id.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(p: &mut SseParser) -> Vec<SseEvent> {
        std::iter::from_fn(|| p.next_event()).collect()
    }

    #[test]
    fn events_split_anywhere_parse_the_same() {
        let text = b": keep-alive\n\nid: 1\ndata: {\"a\":1}\n\r\nevent: lagged\r\ndata: x\r\ndata:y\r\r: c\ndata\n\n";
        let mut whole = SseParser::default();
        whole.push(text);
        let want = all(&mut whole);
        assert_eq!(want.len(), 3);
        assert_eq!(want[0].data, "{\"a\":1}");
        assert_eq!(want[0].id.as_deref(), Some("1"));
        assert_eq!(
            (want[1].event.as_str(), want[1].data.as_str()),
            ("lagged", "x\ny")
        );
        assert_eq!(
            (want[2].event.as_str(), want[2].data.as_str()),
            ("message", "")
        );
        for cut in 1..text.len() {
            let mut p = SseParser::default();
            p.push(&text[..cut]);
            let mut got = all(&mut p);
            p.push(&text[cut..]);
            got.extend(all(&mut p));
            assert_eq!(got, want, "split at {cut}");
        }
    }
}
