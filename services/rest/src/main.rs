//! `protolab-rest`: parse flags, then serve the REST app until SIGTERM.

use std::process::ExitCode;

use protolab_core::server::{main_http, NoExtra};

fn main() -> ExitCode {
    main_http::<NoExtra, _>(protolab_rest::SPEC, |state, _| protolab_rest::app(state))
}
