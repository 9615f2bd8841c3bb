//! The broadcast hub: fan-out of published messages to every subscriber, shared by
//! every push server (SSE, WebSocket, GraphQL subscriptions, NET-001 BROADCAST).
//!
//! Memory is bounded: one ring of `capacity` messages shared by all subscribers
//! (tokio's broadcast channel), never a queue per subscriber that could grow. A
//! subscriber that falls more than `capacity` messages behind skips the oldest ones
//! and is told so with `HubEvent::Lagged(n)`; it is not disconnected, and it never
//! slows the publisher or the other subscribers.

use std::sync::Arc;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::contract::now_micros;
use crate::metrics::Metrics;

/// Default ring size: at 1 KB messages, 1 MB of memory whatever the subscriber count.
pub const DEFAULT_CAPACITY: usize = 1024;

/// One published message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    /// Hub-wide sequence number, from 0.
    pub seq: u64,
    /// Server wall clock at publish time, microseconds since the epoch.
    pub sent_at_us: u64,
    pub body: String,
}

/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq)]
pub enum HubEvent {
    Message(Arc<Message>),
    /// This many messages were skipped because the subscriber fell behind.
    Lagged(u64),
}

#[derive(Clone, Default)]
struct HubMetrics {
    published: Counter,
    delivered: Counter,
    dropped: Counter,
    lagged: Counter,
    subscribers: Gauge,
}

/// The hub; cheap to clone (all clones share one channel).
#[derive(Clone)]
pub struct Hub {
    tx: broadcast::Sender<Arc<Message>>,
    seq: Arc<std::sync::atomic::AtomicU64>,
    metrics: HubMetrics,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("subscribers", &self.tx.receiver_count())
            .finish()
    }
}

impl Hub {
    /// A hub whose counters are registered in `metrics` (prefix `hub_`).
    pub fn new(capacity: usize, metrics: &Metrics) -> Hub {
        let (tx, _) = broadcast::channel(capacity.max(1));
        let m = HubMetrics::default();
        metrics.register("hub_published", "Messages published", m.published.clone());
        metrics.register(
            "hub_delivered",
            "Messages delivered to subscribers",
            m.delivered.clone(),
        );
        metrics.register(
            "hub_dropped",
            "Messages skipped by lagging subscribers",
            m.dropped.clone(),
        );
        metrics.register(
            "hub_lagged",
            "Times a subscriber fell behind",
            m.lagged.clone(),
        );
        metrics.register("hub_subscribers", "Subscribers now", m.subscribers.clone());
        Hub {
            tx,
            seq: Arc::default(),
            metrics: m,
        }
    }

    /// Publishes `body`; returns the message and how many subscribers it will reach.
    pub fn publish(&self, body: String) -> (Arc<Message>, usize) {
        let seq = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let msg = Arc::new(Message {
            seq,
            sent_at_us: now_micros(),
            body,
        });
        self.metrics.published.inc();
        let reached = self.tx.send(msg.clone()).unwrap_or(0);
        (msg, reached)
    }

    /// A new subscriber, receiving messages published from now on.
    pub fn subscribe(&self) -> Subscription {
        self.metrics.subscribers.inc();
        Subscription {
            rx: self.tx.subscribe(),
            metrics: self.metrics.clone(),
        }
    }

    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}

/// One subscriber's end.
pub struct Subscription {
    rx: broadcast::Receiver<Arc<Message>>,
    metrics: HubMetrics,
}

impl Subscription {
    /// The next event; `None` once the hub is gone.
    pub async fn recv(&mut self) -> Option<HubEvent> {
        match self.rx.recv().await {
            Ok(m) => {
                self.metrics.delivered.inc();
                Some(HubEvent::Message(m))
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                self.metrics.lagged.inc();
                self.metrics.dropped.inc_by(n);
                Some(HubEvent::Lagged(n))
            }
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// The subscription as a `Stream` of events.
    pub fn into_stream(self) -> impl futures::Stream<Item = HubEvent> + Send {
        futures::stream::unfold(self, |mut s| async move { s.recv().await.map(|e| (e, s)) })
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.metrics.subscribers.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slow_subscriber_is_told_it_lagged_and_others_are_unaffected() {
        let metrics = Metrics::new("test");
        let hub = Hub::new(4, &metrics);
        let mut fast = hub.subscribe();
        let mut slow = hub.subscribe();
        for i in 0..10 {
            hub.publish(format!("m{i}"));
            assert!(
                matches!(fast.recv().await, Some(HubEvent::Message(m)) if m.body == format!("m{i}"))
            );
        }
        assert_eq!(slow.recv().await, Some(HubEvent::Lagged(6)));
        assert!(matches!(slow.recv().await, Some(HubEvent::Message(m)) if m.seq == 6));
        assert!(metrics.encode().contains("protolab_hub_dropped_total 6"));
        drop(hub);
        assert!(matches!(slow.recv().await, Some(HubEvent::Message(_))));
    }
}
