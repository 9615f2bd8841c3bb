//! Every limit an HTTP request passes, in one layer with no allocation of its own:
//! load shedding once `max_in_flight` requests are being answered (503), the request
//! timeout to the response head (408), and the request's metrics (op, status, time).
//! It replaces a stack of tower layers (`HandleError`, `load_shed`, a global
//! concurrency limit, `timeout`) and a `from_fn` metrics middleware, which boxed a
//! future or two and cloned a label per request: a third of the REST server's CPU on
//! `/ping` (issue 23).
//!
//! A `Constant` route (`GET /ping`) is answered before routing, by the connection's
//! service, through the same admission and metrics: its answer is ready at once, so
//! the timeout cannot apply to it.

use std::borrow::Cow;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use pin_project_lite::pin_project;
use tokio::time::Timeout;
use tower::{Layer, Service};

use crate::http_error::json_error;
use crate::metrics::Metrics;

/// A `GET` route whose answer never changes: served before routing, with no handler.
#[derive(Debug, Clone, Copy)]
pub struct Constant {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
}

/// `GET /ping` of the HTTP servers: `{"pong":true}` (the lab's floor).
pub const PING: Constant = Constant {
    path: "/ping",
    content_type: "application/json",
    body: r#"{"pong":true}"#,
};

/// The header a constant answer names its replica in (`process::replica`), so a
/// client behind a balancer sees which replica served it.
pub const REPLICA_HEADER: &str = "x-protolab-replica";

/// This process's replica as a header value, made once.
fn replica_header() -> Option<&'static HeaderValue> {
    static VALUE: std::sync::OnceLock<Option<HeaderValue>> = std::sync::OnceLock::new();
    VALUE
        .get_or_init(|| HeaderValue::from_str(crate::process::replica()?).ok())
        .as_ref()
}

impl Constant {
    /// The answer: 200 with the body, its content type and the replica's name.
    pub fn response(&self) -> Response {
        let mut response = (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.content_type),
            )],
            self.body,
        )
            .into_response();
        if let Some(replica) = replica_header() {
            response.headers_mut().insert(
                header::HeaderName::from_static(REPLICA_HEADER),
                replica.clone(),
            );
        }
        response
    }
}

/// The limits every request of one server shares.
#[derive(Debug)]
pub struct RequestLimits {
    metrics: Arc<Metrics>,
    in_flight: AtomicUsize,
    max_in_flight: usize,
    timeout: Duration,
}

impl RequestLimits {
    pub fn new(metrics: Arc<Metrics>, max_in_flight: usize, timeout: Duration) -> Arc<Self> {
        Arc::new(RequestLimits {
            metrics,
            in_flight: AtomicUsize::new(0),
            max_in_flight: max_in_flight.max(1),
            timeout,
        })
    }

    /// Requests being answered now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Takes a slot, or refuses when all `max_in_flight` are taken.
    fn admit(self: &Arc<Self>) -> Admission {
        let admitted = self.in_flight.fetch_add(1, Ordering::Relaxed) < self.max_in_flight;
        if !admitted {
            self.in_flight.fetch_sub(1, Ordering::Relaxed);
        }
        Admission {
            limits: self.clone(),
            admitted,
        }
    }

    /// Answers a constant route: refused when the server is full, recorded as any
    /// request is. Its answer is ready at once, so it holds no slot.
    pub fn answer(&self, constant: &Constant) -> Response {
        let start = Instant::now();
        let response = if self.in_flight() >= self.max_in_flight {
            overloaded()
        } else {
            constant.response()
        };
        self.metrics.observe(
            Cow::Borrowed(constant.path),
            response.status().as_u16(),
            start.elapsed(),
        );
        response
    }
}

/// A slot among `max_in_flight`, given back when dropped (a request whose client
/// went away included).
struct Admission {
    limits: Arc<RequestLimits>,
    admitted: bool,
}

impl Admission {
    fn release(&mut self) {
        if std::mem::take(&mut self.admitted) {
            self.limits.in_flight.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.release();
    }
}

/// The answer to a request over the in-flight cap.
fn overloaded() -> Response {
    json_error(StatusCode::SERVICE_UNAVAILABLE, "server overloaded")
}

/// The `Router::layer` that puts every route behind the guard.
#[derive(Clone, Debug)]
pub struct GuardLayer(pub Arc<RequestLimits>);

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Guard<S> {
        Guard {
            inner,
            limits: self.0.clone(),
        }
    }
}

/// A route behind the guard.
#[derive(Clone, Debug)]
pub struct Guard<S> {
    inner: S,
    limits: Arc<RequestLimits>,
}

/// How a request is named in the metrics: its matched route (bounded), or for gRPC
/// the method path, which is only kept when the server knew the method.
enum OpName {
    Route(MatchedPath),
    Grpc(String),
    Unmatched,
}

impl OpName {
    fn of(req: &Request) -> OpName {
        let grpc = req
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
        match req.extensions().get::<MatchedPath>() {
            Some(_) if grpc => OpName::Grpc(req.uri().path().to_string()),
            Some(p) => OpName::Route(p.clone()),
            None => OpName::Unmatched,
        }
    }

    /// The label and status to record for `response`.
    fn label(self, response: &Response) -> (Cow<'static, str>, u16) {
        match self {
            OpName::Grpc(path) => {
                let status = response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                // An unknown method must not mint a new label per name.
                if status == 12 {
                    (Cow::Borrowed("unimplemented"), status)
                } else {
                    (Cow::Owned(path), status)
                }
            }
            OpName::Route(p) => (
                Cow::Owned(p.as_str().to_string()),
                response.status().as_u16(),
            ),
            OpName::Unmatched => (Cow::Borrowed("unmatched"), response.status().as_u16()),
        }
    }
}

impl<S> Service<Request> for Guard<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = GuardFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> GuardFuture<S::Future> {
        let start = Instant::now();
        let op = Some(OpName::of(&req));
        let admission = self.limits.admit();
        let inner = admission.admitted.then(|| {
            let deadline = tokio::time::Instant::from_std(start) + self.limits.timeout;
            tokio::time::timeout_at(deadline, self.inner.call(req))
        });
        GuardFuture {
            inner,
            admission,
            op,
            start,
        }
    }
}

pin_project! {
    /// A guarded request: refused at once, or the route's answer within the timeout.
    pub struct GuardFuture<F> {
        #[pin]
        inner: Option<Timeout<F>>,
        admission: Admission,
        op: Option<OpName>,
        start: Instant,
    }
}

impl<F> Future for GuardFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = match this.inner.as_pin_mut() {
            None => overloaded(),
            Some(inner) => match ready!(inner.poll(cx)) {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                Err(_elapsed) => json_error(StatusCode::REQUEST_TIMEOUT, "request timed out"),
            },
        };
        this.admission.release();
        if let Some(op) = this.op.take() {
            let (label, status) = op.label(&response);
            let metrics = &this.admission.limits.metrics;
            metrics.observe(label, status, this.start.elapsed());
        }
        Poll::Ready(Ok(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    fn app(limits: &Arc<RequestLimits>, gate: Arc<tokio::sync::Notify>) -> Router {
        Router::new()
            .route(
                "/wait",
                get(move || async move {
                    gate.notified().await;
                    "done"
                }),
            )
            .route("/now", get(|| async { "now" }))
            .layer(GuardLayer(limits.clone()))
    }

    fn get_req(path: &str) -> Request {
        Request::builder()
            .uri(path)
            .body(Body::empty())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn a_request_over_the_in_flight_cap_is_refused_with_503_and_the_slot_comes_back() {
        let metrics = Metrics::new("test");
        let limits = RequestLimits::new(metrics.clone(), 1, Duration::from_secs(30));
        let gate = Arc::new(tokio::sync::Notify::new());
        let app = app(&limits, gate.clone());
        let waiting = tokio::spawn(app.clone().oneshot(get_req("/wait")));
        while limits.in_flight() == 0 {
            tokio::task::yield_now().await;
        }
        let refused = answered(app.clone().oneshot(get_req("/now")).await);
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            limits.answer(&PING).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        gate.notify_one();
        let done = waiting.await.map(answered).ok();
        assert_eq!(done.map(|r| r.status()), Some(StatusCode::OK));
        assert_eq!(limits.in_flight(), 0);
        let served = answered(app.oneshot(get_req("/now")).await);
        assert_eq!(served.status(), StatusCode::OK);
        assert_eq!(metrics.requests("/now", 503), 1);
        assert_eq!(metrics.requests("/now", 200), 1);
        assert_eq!(metrics.requests("/ping", 503), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_route_that_does_not_answer_in_time_gets_408_and_gives_its_slot_back() {
        let metrics = Metrics::new("test");
        let limits = RequestLimits::new(metrics.clone(), 4, Duration::from_secs(2));
        let app = app(&limits, Arc::new(tokio::sync::Notify::new()));
        // Time is paused, so the 60 s here elapse only if the guard's 2 s do not.
        let answer = tokio::time::timeout(Duration::from_secs(60), app.oneshot(get_req("/wait")))
            .await
            .map(answered);
        assert_eq!(
            answer.map(|r| r.status()).ok(),
            Some(StatusCode::REQUEST_TIMEOUT)
        );
        assert_eq!(limits.in_flight(), 0);
        assert_eq!(metrics.requests("/wait", 408), 1);
    }

    #[tokio::test]
    async fn a_constant_answers_with_its_body_and_is_counted() {
        let metrics = Metrics::new("test");
        let limits = RequestLimits::new(metrics.clone(), 4, Duration::from_secs(2));
        let answer = limits.answer(&PING);
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(
            answer.headers().get(header::CONTENT_TYPE),
            Some(&HeaderValue::from_static("application/json"))
        );
        // The test process has a host name, so the answer names its replica.
        let replica = answer.headers().get(REPLICA_HEADER).cloned();
        assert_eq!(
            replica.as_ref().and_then(|v| v.to_str().ok()),
            crate::process::replica()
        );
        assert!(replica.is_some());
        let body = axum::body::to_bytes(answer.into_body(), 1024).await.ok();
        assert_eq!(body.as_deref(), Some(PING.body.as_bytes()));
        assert_eq!(metrics.requests("/ping", 200), 1);
    }

    /// The response of a service that cannot fail.
    fn answered(r: Result<Response, Infallible>) -> Response {
        match r {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}
