//! `protolab-grpc`: parse flags, then serve the gRPC services until SIGTERM.

use std::process::ExitCode;

use protolab_core::server::{main_http, NoExtra};

fn main() -> ExitCode {
    main_http::<NoExtra, _>(protolab_grpc::SPEC, |state, _| protolab_grpc::app(state))
}
