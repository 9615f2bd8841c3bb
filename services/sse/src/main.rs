//! `protolab-sse`: parse flags, then serve the SSE app until SIGTERM.

use std::process::ExitCode;

use protolab_core::hub::{Hub, DEFAULT_CAPACITY};
use protolab_core::server::{main_http, NoExtra};

fn main() -> ExitCode {
    main_http::<NoExtra, _>(protolab_sse::SPEC, |state, _| {
        let hub = Hub::new(DEFAULT_CAPACITY, &state.metrics);
        protolab_sse::app(state, hub)
    })
}
