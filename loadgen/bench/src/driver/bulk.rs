//! What the two bulk capabilities of a driver take and give: pipelining (many calls
//! in flight on one connection, answers in request order) and large transfers (a blob
//! up or down, streamed, checked by CRC32). Plain data: nothing here does IO, and the
//! drivers fill these without deciding what counts as a pass.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One client's pipelined calls: `count` calls numbered `first_seq..`, at most
/// `depth` unanswered at any time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub first_seq: u64,
    pub count: u64,
    pub depth: usize,
    /// Longest wait for the next answer; beyond it the pipeline fails with `Timeout`.
    pub timeout: Duration,
}

/// A large transfer: `size` bytes of the contract's deterministic pattern
/// (`protolab_core::contract::fill_pattern`), in pieces of `chunk` bytes, or as one
/// whole body/message (`None`) where the protocol allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blob {
    pub size: u64,
    pub chunk: Option<u64>,
}

impl Blob {
    /// Piece size the generator produces and consumes: the chunk, or 64 KiB pieces of
    /// a whole body (the generator never holds a whole blob).
    pub fn piece(&self) -> usize {
        let c = self
            .chunk
            .unwrap_or(u64::from(protolab_core::contract::DEFAULT_CHUNK));
        c.clamp(1, u64::from(protolab_core::contract::MAX_CHUNK)) as usize
    }

    /// The blob's bytes as pieces generated lazily, each with its offset: memory is
    /// one piece at a time.
    pub fn pieces(self) -> impl Iterator<Item = bytes::Bytes> + Send + 'static {
        let piece = self.piece() as u64;
        (0..self.size.div_ceil(piece)).map(move |i| {
            let start = i * piece;
            let mut buf = vec![0u8; piece.min(self.size - start) as usize];
            protolab_core::contract::fill_pattern(start, &mut buf);
            bytes::Bytes::from(buf)
        })
    }
}

/// What a finished transfer moved, as the receiving side counted it: for a download
/// the generator, for an upload the server's reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TransferOutcome {
    pub bytes: u64,
    pub crc32: u32,
    /// Largest single piece the generator held at once (bounded-memory evidence).
    pub largest_piece: u64,
    /// Time to the first byte of the answer, when measurable.
    pub ttfb: Option<Duration>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_are_the_pattern_in_bounded_pieces() {
        let blob = Blob {
            size: 200_003,
            chunk: Some(65_536),
        };
        let mut crc = crc32fast::Hasher::new();
        let mut largest = 0;
        for p in blob.pieces() {
            largest = largest.max(p.len());
            crc.update(&p);
        }
        assert_eq!(largest, 65_536);
        assert_eq!(
            crc.finalize(),
            protolab_core::contract::pattern_crc32(200_003)
        );
        let whole = Blob {
            size: 10,
            chunk: None,
        };
        assert_eq!(whole.piece(), 65_536);
        assert_eq!(whole.pieces().count(), 1);
    }
}
