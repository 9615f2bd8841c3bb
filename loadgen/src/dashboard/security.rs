//! Not an open door. Every request passes [`check`]:
//! - with an access token (`--token`, required off loopback), the request carries it
//!   in the `x-dashboard-token` header or the cookie that a first `GET ...?token=`
//!   sets (HttpOnly, SameSite=Strict), or it gets 401;
//! - on a loopback address, the Host header must name loopback too (a page on some
//!   other site cannot reach the dashboard through DNS rebinding);
//! - anything but GET/HEAD must carry the per-process CSRF token (embedded in every
//!   page) in `x-csrf-token`, and an Origin, when the browser sends one, of this
//!   very host.
//!
//! The comparisons are constant-time; the tokens never reach a log.

use std::io::Read;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

/// The cookie that carries the access token after a `?token=` visit.
pub const COOKIE: &str = "loadgen_dashboard_token";
/// The header that carries the access token (scripts, curl).
pub const TOKEN_HEADER: &str = "x-dashboard-token";
/// The header that carries the CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    #[error(
        "listening on {0} (not loopback) needs an access token: --token or LOADGEN_DASHBOARD_TOKEN"
    )]
    TokenRequired(std::net::SocketAddr),
    #[error("the access token must be at least 16 characters")]
    TokenTooShort,
    #[error("reading random bytes for the CSRF token: {0}")]
    Random(std::io::Error),
}

/// The tokens and the host rule.
#[derive(Clone)]
pub struct Guard {
    token: Option<String>,
    csrf: String,
    loopback: bool,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("loopback", &self.loopback)
            .finish_non_exhaustive()
    }
}

impl Guard {
    /// The guard for a dashboard on `listen`: refuses a non-loopback address without
    /// a token, and draws a fresh CSRF token.
    pub fn new(
        listen: std::net::SocketAddr,
        token: Option<String>,
    ) -> Result<Guard, SecurityError> {
        let token = token.filter(|t| !t.is_empty());
        let loopback = listen.ip().is_loopback();
        match &token {
            None if !loopback => return Err(SecurityError::TokenRequired(listen)),
            Some(t) if t.len() < 16 => return Err(SecurityError::TokenTooShort),
            _ => {}
        }
        Ok(Guard {
            token,
            csrf: random_hex(16)?,
            loopback,
        })
    }

    /// The CSRF token pages embed.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    fn has_token(&self, headers: &HeaderMap) -> bool {
        let Some(want) = &self.token else {
            return true;
        };
        let header = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok());
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .find(|(k, _)| *k == COOKIE)
            .map(|(_, v)| v);
        [header, cookie]
            .into_iter()
            .flatten()
            .any(|got| same(got.as_bytes(), want.as_bytes()))
    }
}

/// Random bytes from the kernel, hex-encoded.
fn random_hex(bytes: usize) -> Result<String, SecurityError> {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(SecurityError::Random)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Constant-time equality (the length is not secret).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn refuse(status: StatusCode, why: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        format!("{why}\n"),
    )
        .into_response()
}

/// True for `localhost`, `127.x.y.z` and `[::1]`, with or without a port.
fn loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `?token=` in a query string.
fn query_token(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "token")
        .map(|(_, v)| v)
}

/// The middleware: see the module documentation.
pub async fn check(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_string();
    if guard.loopback && !loopback_host(&host) {
        return refuse(
            StatusCode::FORBIDDEN,
            "unexpected Host header for a loopback dashboard",
        );
    }
    if !guard.has_token(headers) {
        let given = query_token(req.uri().query());
        let want = guard.token.as_deref().unwrap_or_default();
        if req.method() == Method::GET && given.is_some_and(|t| same(t.as_bytes(), want.as_bytes()))
        {
            let cookie = format!("{COOKIE}={want}; HttpOnly; SameSite=Strict; Path=/");
            let mut r = Redirect::to(req.uri().path()).into_response();
            if let Ok(v) = cookie.parse() {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            return r;
        }
        return refuse(
            StatusCode::UNAUTHORIZED,
            "access token required: open the dashboard once with ?token=<token>, or send the x-dashboard-token header",
        );
    }
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        let csrf = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if !csrf.is_some_and(|c| same(c.as_bytes(), guard.csrf.as_bytes())) {
            return refuse(
                StatusCode::FORBIDDEN,
                "missing or wrong CSRF token: reload the page",
            );
        }
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        if let Some(o) = origin {
            let origin_host = o.split_once("://").map_or(o, |(_, h)| h);
            if origin_host != host {
                return refuse(StatusCode::FORBIDDEN, "cross-origin request refused");
            }
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_tokens() {
        assert!(loopback_host("127.0.0.1:8088") && loopback_host("localhost"));
        assert!(loopback_host("[::1]:80") && !loopback_host("evil.example:8088"));
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"a", b"ab"));
        assert_eq!(query_token(Some("a=1&token=xyz")), Some("xyz"));
        let public: std::net::SocketAddr = ([0, 0, 0, 0], 8088).into();
        assert!(matches!(
            Guard::new(public, None),
            Err(SecurityError::TokenRequired(_))
        ));
        assert!(Guard::new(public, Some("short".into())).is_err());
        let g = Guard::new(([127, 0, 0, 1], 0).into(), None);
        assert!(g.is_ok_and(|g| g.csrf().len() == 32));
    }
}
