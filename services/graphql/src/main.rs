//! `protolab-graphql`: parse flags, then serve the GraphQL app until SIGTERM.

use std::process::ExitCode;

use protolab_core::server::{main_http, NoExtra};

fn main() -> ExitCode {
    main_http::<NoExtra, _>(protolab_graphql::SPEC, |state, _| {
        protolab_graphql::app(state)
    })
}
