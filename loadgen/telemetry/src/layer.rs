//! The `tracing` layer: times each span in the span's own extensions while it is
//! open, and hands it to the shared aggregate once, when it closes. It runs inside
//! the user's app, so it never panics and never takes a shared lock on the hot
//! path (create, enter, exit, event).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::state::{ClosedSpan, Config, Shared};
use crate::Telemetry;

/// Configures a [`TelemetryLayer`]; [`build`](Self::build) returns the layer and
/// its [`Telemetry`] handle.
#[derive(Debug, Clone, Default)]
pub struct TelemetryBuilder {
    config: Config,
}

impl TelemetryBuilder {
    /// Spans whose wall time is at or over `threshold` are slow calls
    /// (default 100 ms, reference/001's `slow_call_threshold`).
    pub fn slow_threshold(mut self, threshold: Duration) -> Self {
        self.config.slow_threshold = threshold;
        self
    }

    /// Keeps the `n` slowest slow calls in the report (default 100); all slow
    /// calls are still counted.
    pub fn keep_slow(mut self, n: usize) -> Self {
        self.config.keep_slow = n;
        self
    }

    /// Calls at this nesting depth or deeper are counted as deep calls
    /// (default 5, reference/001's `deep_stack_threshold`).
    pub fn deep_stack_threshold(mut self, depth: u32) -> Self {
        self.config.deep_stack_threshold = depth;
        self
    }

    /// Counts every span named `name` as one network round trip, for spans you do
    /// not write yourself (e.g. a client library's `"http.request"`). Your own
    /// spans can say so with a `round_trip` field instead.
    pub fn round_trip_span(mut self, name: impl Into<String>) -> Self {
        self.config.round_trip_names.insert(name.into());
        self
    }

    pub fn build(self) -> (TelemetryLayer, Telemetry) {
        let shared = Arc::new(Shared::new(self.config));
        let telemetry = Telemetry {
            shared: Arc::clone(&shared),
        };
        (TelemetryLayer { shared }, telemetry)
    }
}

/// A `tracing_subscriber` layer that profiles spans; needs a subscriber with span
/// storage (`tracing_subscriber::registry()`).
///
/// What a span costs: on creation one clock read, a look at the parent's
/// extensions and one small insert into its own (plus one hash lookup when
/// [`TelemetryBuilder::round_trip_span`] names were given); on each enter and exit
/// one clock read and a write to its own extensions; on close one clock read, one
/// atomic decrement and one short `Mutex` section (a hash lookup and a histogram
/// record), plus the root's extensions when it is a round trip. ERROR events mark
/// their span; other events cost a level comparison. One aggregate mutex is taken
/// once per closed span, never on enter or exit.
pub struct TelemetryLayer {
    shared: Arc<Shared>,
}

impl TelemetryLayer {
    pub fn builder() -> TelemetryBuilder {
        TelemetryBuilder::default()
    }

    /// A `round_trip` field (whatever its value) or a configured name.
    fn is_round_trip(&self, metadata: &Metadata<'_>) -> bool {
        let names = &self.shared.config.round_trip_names;
        metadata.fields().field("round_trip").is_some()
            || (!names.is_empty() && names.contains(metadata.name()))
    }
}

impl std::fmt::Debug for TelemetryLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryLayer")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

/// What the layer keeps in an open span's extensions.
struct SpanTiming {
    created: Instant,
    /// When the span was entered, while `entered > 0`.
    entered_at: Option<Instant>,
    /// Enters not yet exited: a span may be re-entered, or entered on two threads.
    entered: u32,
    busy: Duration,
    depth: u32,
    parent_name: Option<&'static str>,
    /// The root span of this span's tree; `None` when this span is the root.
    root: Option<Id>,
    round_trip: bool,
    failed: bool,
    /// Round-trip spans closed in this tree so far (kept on the root only).
    round_trips_inside: u64,
}

impl<S> Layer<S> for TelemetryLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let (depth, parent_name, root) = match span.parent() {
            None => (0, None, None),
            Some(parent) => {
                let extensions = parent.extensions();
                let timing = extensions.get::<SpanTiming>();
                let depth = timing.map_or(0, |t| t.depth).saturating_add(1);
                let root = timing
                    .and_then(|t| t.root.clone())
                    .unwrap_or_else(|| parent.id());
                (depth, Some(parent.name()), Some(root))
            }
        };
        let timing = SpanTiming {
            created: Instant::now(),
            entered_at: None,
            entered: 0,
            busy: Duration::ZERO,
            depth,
            parent_name,
            root,
            round_trip: self.is_round_trip(attrs.metadata()),
            failed: false,
            round_trips_inside: 0,
        };
        span.extensions_mut().insert(timing);
        self.shared.span_opened();
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(timing) = extensions.get_mut::<SpanTiming>() {
            if timing.entered == 0 {
                timing.entered_at = Some(Instant::now());
            }
            timing.entered = timing.entered.saturating_add(1);
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(timing) = extensions.get_mut::<SpanTiming>() {
            timing.entered = timing.entered.saturating_sub(1);
            if timing.entered == 0 {
                if let Some(at) = timing.entered_at.take() {
                    timing.busy += at.elapsed();
                }
            }
        }
    }

    /// An ERROR event fails the span it was recorded in (not its ancestors: a
    /// retried request that failed once does not fail the whole operation).
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if *event.metadata().level() != Level::ERROR {
            return;
        }
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        if let Some(timing) = extensions.get_mut::<SpanTiming>() {
            timing.failed = true;
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let removed = span.extensions_mut().remove::<SpanTiming>();
        let Some(mut timing) = removed else { return };
        let now = Instant::now();
        if let Some(at) = timing.entered_at.take() {
            // Closed while still entered: count the open interval too.
            timing.busy += now.saturating_duration_since(at);
        }
        if timing.round_trip {
            match &timing.root {
                None => timing.round_trips_inside += 1,
                // The root is still open: every span holds its parent open.
                Some(root) => {
                    if let Some(root) = ctx.span(root) {
                        let mut extensions = root.extensions_mut();
                        if let Some(root_timing) = extensions.get_mut::<SpanTiming>() {
                            root_timing.round_trips_inside += 1;
                        }
                    }
                }
            }
        }
        let metadata = span.metadata();
        self.shared.span_closed(ClosedSpan {
            target: metadata.target(),
            name: metadata.name(),
            created: timing.created,
            wall: now.saturating_duration_since(timing.created),
            busy: timing.busy,
            depth: timing.depth,
            parent_name: timing.parent_name,
            failed: timing.failed,
            round_trip: timing.round_trip,
            root_round_trips: timing.root.is_none().then_some(timing.round_trips_inside),
        });
    }
}
