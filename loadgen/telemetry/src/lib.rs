//! Call telemetry for your own app, the Rust counterpart of reference/001's RPyC
//! telemetry: install [`TelemetryLayer`] in your `tracing` subscriber, mark the
//! functions you care about with `#[tracing::instrument]`, and read a profile from
//! the [`Telemetry`] handle.
//!
//! For every closed span, keyed by (target, name), it keeps:
//! - **wall time** (creation to close: what an async `#[instrument]` call costs its
//!   caller, awaits included) in an HdrHistogram, and **busy time** (the sum of the
//!   intervals the span was entered: CPU work, not waiting);
//! - call and **error** counts (failed = an `ERROR` event inside the span, which is
//!   what `#[instrument(err)]` emits on `Err`);
//! - **nesting depth** (0 for a root span, parent's depth + 1 below it);
//! - **network round trips**: a span with a field named `round_trip`
//!   (`#[instrument(fields(round_trip = true))]`) or a name given to
//!   [`TelemetryBuilder::round_trip_span`] is one round trip, counted per name and
//!   per call of the root span it ran under (`checkout` made 7 per call);
//! - the **slowest calls** at or over a threshold, with their parent and start time.
//!
//! The report is plain data ([`TelemetryReport`]): printed with `Display` in
//! reference/001's summary layout, saved as JSON with
//! [`TelemetryReport::save_json`]. This crate never installs a subscriber itself,
//! never prints on its own and never panics the app it observes.
//!
//! ```
//! use std::time::Duration;
//!
//! use protolab_telemetry::TelemetryLayer;
//! use tracing_subscriber::prelude::*;
//!
//! #[tracing::instrument(fields(round_trip = true))]
//! fn fetch_price(item: u32) -> u32 {
//!     item * 100
//! }
//!
//! #[tracing::instrument(skip_all)]
//! fn checkout(items: &[u32]) -> u32 {
//!     items.iter().map(|&item| fetch_price(item)).sum()
//! }
//!
//! let (layer, telemetry) = TelemetryLayer::builder()
//!     .slow_threshold(Duration::from_millis(50))
//!     .build();
//! tracing_subscriber::registry().with(layer).init();
//!
//! checkout(&[1, 2, 3]);
//! checkout(&[4]);
//!
//! let report = telemetry.report();
//! assert_eq!(report.total_calls, 6);
//! assert_eq!(report.round_trips, 4);
//! assert_eq!(report.max_depth, 1);
//! let checkout = report.span("checkout").map(|s| (s.calls, s.round_trips_per_root_mean));
//! assert_eq!(checkout, Some((2, 2.0)));
//! println!("{report}");
//! ```

mod layer;
mod report;
mod state;

use std::fmt;
use std::sync::Arc;

pub use layer::{TelemetryBuilder, TelemetryLayer};
pub use report::{SlowCall, SpanStats, TelemetryError, TelemetryReport};

use state::Shared;

/// The reading side of a [`TelemetryLayer`]: cheap to clone (an `Arc`), usable
/// from any thread while the app runs.
#[derive(Clone)]
pub struct Telemetry {
    shared: Arc<Shared>,
}

impl Telemetry {
    /// Everything recorded since the layer was built or last [`reset`](Self::reset).
    /// Takes the layer's lock once, for as long as it takes to copy the figures.
    pub fn report(&self) -> TelemetryReport {
        self.shared.report()
    }

    /// Forgets every recorded call (e.g. after a warm-up). Spans open at this
    /// moment are still recorded when they close, and the open-span count stays.
    pub fn reset(&self) {
        self.shared.reset();
    }
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telemetry")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}
