//! gRPC's transport: hyper's HTTP/2 client connection used directly as tonic's
//! service. tonic's `Channel` puts a tower `Buffer` (a channel and a worker task)
//! between a call and the connection; here a call goes from the caller's task to
//! the connection's task and back, nothing in between. Every in-flight caller
//! shares the connection through a cheap clone.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::body::Incoming;
use hyper::client::conn::http2;

/// One HTTP/2 connection to a gRPC server, as tonic's clients call it.
#[derive(Clone)]
pub struct GrpcConn {
    send: http2::SendRequest<tonic::body::Body>,
}

impl GrpcConn {
    pub fn new(send: http2::SendRequest<tonic::body::Body>) -> GrpcConn {
        GrpcConn { send }
    }

    /// The origin tonic's clients put in front of a method's path (HTTP/2 wants a
    /// scheme and an authority; the server does not look at the authority).
    pub fn origin() -> http::Uri {
        http::Uri::from_static("http://protolab")
    }
}

/// A call's answer head, on its way from the connection's task.
type Answer = Pin<Box<dyn Future<Output = Result<http::Response<Incoming>, hyper::Error>> + Send>>;

impl tower::Service<http::Request<tonic::body::Body>> for GrpcConn {
    type Response = http::Response<Incoming>;
    type Error = hyper::Error;
    type Future = Answer;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), hyper::Error>> {
        self.send.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Answer {
        Box::pin(self.send.send_request(req))
    }
}
