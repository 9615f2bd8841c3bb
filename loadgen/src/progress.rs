//! A running case's progress on the terminal (an indicatif spinner with the last
//! second's req/s and P99) and, for a suite, to whoever watches the bench (the
//! dashboard's live view). The engine reports through `protolab_bench::Progress`.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use protolab_bench::{Progress, Tick};

use crate::runner::BenchEvents;

/// One case's progress: its spinner, and the bench's events with the case's name.
pub struct CaseProgress<'a> {
    bar: ProgressBar,
    events: Option<(&'a str, &'a dyn BenchEvents)>,
}

impl<'a> CaseProgress<'a> {
    /// A spinner for case `name` (hidden when `quiet`), ticks also told to `events`.
    pub fn new(
        quiet: bool,
        name: &str,
        events: Option<(&'a str, &'a dyn BenchEvents)>,
    ) -> CaseProgress<'a> {
        let bar = if quiet {
            ProgressBar::hidden()
        } else {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {prefix:.bold} [{elapsed_precise}] {pos} req {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(name.to_string());
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        };
        CaseProgress { bar, events }
    }

    /// Clears the spinner.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for CaseProgress<'_> {
    fn set_position(&self, done: u64) {
        self.bar.set_position(done);
    }

    fn tick(&self, t: Tick) {
        self.bar.set_message(format!(
            "{:>9.0} req/s  p99 {} µs  errors {}",
            t.rps, t.p99_us, t.errors
        ));
        if let Some((name, events)) = self.events {
            events.tick(name, t);
        }
    }
}
