//! Counting pushed events: one `Receiver` per stream or subscriber (sequence order,
//! gaps, reorders, lag notices, and for broadcast its own latency distribution),
//! and one shared `Tally` per repetition that every delivery is recorded into.
//!
//! Memory stays bounded whatever the subscriber count: latencies go into
//! HdrHistograms, never lists. The shared delivery histogram has the recorder's
//! 3 significant digits; each subscriber's own histogram, kept only to know its P50
//! and P99, has 2 (about 13 KB instead of 190 KB: 1,000 subscribers cost 13 MB).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;

use super::push::PushStats;
use crate::stats::{new_histogram, Percentiles, Recorder, MAX_US};

/// One stream's or subscriber's view of what arrived.
#[derive(Debug)]
pub struct Receiver {
    /// The sequence number expected next.
    next: u64,
    pub received: u64,
    pub gaps: u64,
    pub reorders: u64,
    pub lagged: u64,
    pub resumed: u64,
    own: Option<Histogram<u32>>,
}

impl Receiver {
    /// A receiver; `per_subscriber` keeps its own latency histogram (broadcast).
    pub fn new(per_subscriber: bool) -> Receiver {
        let own = per_subscriber
            .then(|| Histogram::new_with_bounds(1, MAX_US, 2).ok())
            .flatten();
        Receiver {
            next: 0,
            received: 0,
            gaps: 0,
            reorders: 0,
            lagged: 0,
            resumed: 0,
            own,
        }
    }

    /// Event `seq` arrived `latency_us` after it was sent.
    pub fn event(&mut self, seq: u64, latency_us: u64) {
        self.received += 1;
        if seq > self.next {
            self.gaps += 1;
        } else if seq < self.next {
            self.reorders += 1;
        }
        self.next = self.next.max(seq + 1);
        if let Some(h) = self.own.as_mut() {
            h.saturating_record(latency_us.clamp(1, MAX_US));
        }
    }

    /// True once event `count - 1` (the last) has been seen.
    pub fn saw_last(&self, count: u64) -> bool {
        self.next >= count
    }
}

#[derive(Default)]
struct Shared {
    delivery: Recorder,
    /// Server stamp to arrival, when the server's clock is the generator's.
    one_way: Option<Histogram<u64>>,
    receivers: u64,
    received: u64,
    gaps: u64,
    reorders: u64,
    lagged: u64,
    resumed: u64,
    subscriber_p50: Option<Histogram<u64>>,
    subscriber_p99: Option<Histogram<u64>>,
}

/// Every delivery of one repetition, and every receiver once it is done.
#[derive(Default)]
pub struct Tally {
    shared: Mutex<Shared>,
    /// Deliveries so far (the progress bar reads it without the lock).
    delivered: AtomicU64,
    /// Wall clock of the latest arrival, µs since the epoch.
    last_arrival_us: AtomicU64,
}

impl Tally {
    /// One delivery, arrived at `arrived_us`, `latency_us` after its intended send
    /// time; `one_way_us` after the server's own send stamp, when that clock is ours.
    pub fn delivery(&self, latency_us: u64, arrived_us: u64, one_way_us: Option<u64>) {
        self.delivered.fetch_add(1, Ordering::Relaxed);
        self.last_arrival_us
            .fetch_max(arrived_us, Ordering::Relaxed);
        let d = Duration::from_micros(latency_us);
        if let Ok(mut s) = self.shared.lock() {
            s.delivery.record_ok(d, d, None, 0, 0);
            if let Some(w) = one_way_us {
                s.one_way
                    .get_or_insert_with(new_histogram)
                    .saturating_record(w.clamp(1, MAX_US));
            }
        }
    }

    /// Deliveries so far.
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// Wall clock of the latest delivery (0 before any), µs since the epoch.
    pub fn last_arrival_us(&self) -> u64 {
        self.last_arrival_us.load(Ordering::Relaxed)
    }

    /// A failure of kind `kind` (subscribe, publish, a broken stream) after `took`.
    pub fn error(&self, kind: &str, took: Duration) {
        if let Ok(mut s) = self.shared.lock() {
            s.delivery.record_error(kind, took);
        }
    }

    /// Adds a finished receiver's counts (and its P50/P99, when it kept them).
    pub fn finish(&self, r: &Receiver) {
        let Ok(mut guard) = self.shared.lock() else {
            return;
        };
        let s = &mut *guard;
        s.receivers += 1;
        s.received += r.received;
        s.gaps += r.gaps;
        s.reorders += r.reorders;
        s.lagged += r.lagged;
        s.resumed += r.resumed;
        if let Some(own) = r.own.as_ref().filter(|h| !h.is_empty()) {
            for (q, spread) in [(0.5, &mut s.subscriber_p50), (0.99, &mut s.subscriber_p99)] {
                spread
                    .get_or_insert_with(new_histogram)
                    .saturating_record(own.value_at_quantile(q).max(1));
            }
        }
    }

    /// The repetition's delivery recorder and push statistics over `elapsed`, with
    /// `expected` events per receiver.
    pub fn result(&self, expected: u64, elapsed: Duration) -> (Recorder, PushStats) {
        let s = match self.shared.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        let secs = elapsed.as_secs_f64();
        let stats = PushStats {
            subscribers: s.receivers as usize,
            expected_per_subscriber: expected,
            received: s.received,
            lost: (expected * s.receivers).saturating_sub(s.received),
            lagged: s.lagged,
            gaps: s.gaps,
            reorders: s.reorders,
            events_per_sec: if secs > 0.0 {
                s.received as f64 / secs
            } else {
                0.0
            },
            delivery: Percentiles::from_histogram(s.delivery.latency_histogram()),
            subscriber_p50: s.subscriber_p50.as_ref().map(Percentiles::from_histogram),
            subscriber_p99: s.subscriber_p99.as_ref().map(Percentiles::from_histogram),
            published: 0,
            publish_rate: 0.0,
            publish_lag: None,
            one_way: s.one_way.as_ref().map(Percentiles::from_histogram),
            resumed: s.resumed,
        };
        (s.delivery.clone(), stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_reorders_and_loss_are_counted() {
        let mut r = Receiver::new(true);
        for seq in [0, 1, 3, 2, 4] {
            r.event(seq, 100 + seq);
        }
        assert_eq!((r.received, r.gaps, r.reorders), (5, 1, 1));
        assert!(r.saw_last(5) && !r.saw_last(6));
        let t = Tally::default();
        t.finish(&r);
        let mut short = Receiver::new(true);
        short.event(0, 50);
        t.finish(&short);
        let (_, s) = t.result(5, Duration::from_secs(1));
        assert_eq!((s.subscribers, s.received, s.lost), (2, 6, 4));
        assert_eq!(s.subscriber_p50.map(|p| p.count), Some(2));
    }

    #[test]
    fn a_stream_resumed_after_event_4_counts_one_gap_and_five_lost() {
        let mut r = Receiver::new(false);
        for seq in 5..10 {
            r.event(seq, 1);
        }
        let tally = Tally::default();
        tally.finish(&r);
        let (_, s) = tally.result(10, Duration::from_secs(1));
        assert_eq!((s.received, s.gaps, s.reorders, s.lost), (5, 1, 0, 5));
    }
}
