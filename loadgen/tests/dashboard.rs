//! The dashboard's handlers and state: pages, the security rules (Host, token,
//! CSRF, Origin), validation (400 with a message), one run at a time (409), past
//! runs and compare (oneshot on the router); and the local lab over a real socket:
//! stop, start, a run with live numbers written to results/, re-seed.

mod support;

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use loadgen::dashboard::docker::DockerServers;
use loadgen::dashboard::security::Guard;
use loadgen::dashboard::{app, AppState, Servers};
use loadgen::lab::controller::Controller;
use tower::ServiceExt;

/// The dashboard without --local, on a compose project that does not exist (so
/// nothing of a real lab on this machine is touched, engine or not).
async fn docker_state(results: PathBuf, token: Option<&str>) -> anyhow::Result<Arc<AppState>> {
    let guard = Guard::new(([127, 0, 0, 1], 0).into(), token.map(String::from))?;
    let project = "protolab-dashboard-test-none".to_string();
    let controller = Controller::connect_to(project).await;
    let servers = Servers::Docker(DockerServers::new(controller, "127.0.0.1".into()).await);
    Ok(Arc::new(AppState::new(
        servers,
        results,
        guard,
        "127.0.0.1".into(),
    )))
}

fn get(path: &str) -> Request<Body> {
    request("GET", path, None, &[])
}

fn request(
    method: &str,
    path: &str,
    json: Option<&str>,
    headers: &[(&str, &str)],
) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "127.0.0.1:8088");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let body = match json {
        Some(j) => {
            b = b.header(header::CONTENT_TYPE, "application/json");
            Body::from(j.to_string())
        }
        None => Body::empty(),
    };
    b.body(body).unwrap_or_default()
}

async fn call(state: &Arc<AppState>, req: Request<Body>) -> anyhow::Result<(StatusCode, String)> {
    let resp = app(state.clone()).oneshot(req).await?;
    let status = resp.status();
    let bytes = resp.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

#[tokio::test]
async fn pages_and_embedded_assets_are_served() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let s = docker_state(dir.path().into(), None).await?;
    let (status, page) = call(&s, get("/")).await?;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("content=\"{}\"", s.guard.csrf())),
        "CSRF token in the page"
    );
    assert!(page.contains("id=\"launch\"") && page.contains("id=\"servers\""));
    let (status, js) = call(&s, get("/assets/app.js")).await?;
    assert!(status.is_success() && js.contains("EventSource"));
    let (status, page) = call(&s, get("/runs")).await?;
    assert!(status.is_success() && page.contains("No runs"), "{page}");
    let (status, page) = call(&s, get("/engineering")).await?;
    assert!(status.is_success() && page.contains("Server configuration"));
    Ok(())
}

#[tokio::test]
async fn a_foreign_host_header_is_refused_on_loopback() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let s = docker_state(dir.path().into(), None).await?;
    let mut req = get("/");
    req.headers_mut()
        .insert(header::HOST, "attacker.example:8088".parse()?);
    let (status, _) = call(&s, req).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    Ok(())
}

#[tokio::test]
async fn with_a_token_every_request_needs_it_and_a_first_visit_sets_the_cookie(
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let token = "0123456789abcdef-secret";
    let s = docker_state(dir.path().into(), Some(token)).await?;
    let (status, body) = call(&s, get("/")).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(call(&s, get("/events")).await?.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        call(&s, get("/?token=wrong")).await?.0,
        StatusCode::UNAUTHORIZED
    );
    let resp = app(s.clone())
        .oneshot(get(&format!("/runs?token={token}")))
        .await?;
    assert!(resp.status().is_redirection());
    assert_eq!(resp.headers()[header::LOCATION], "/runs");
    let cookie = resp.headers()[header::SET_COOKIE].to_str()?.to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let pair = cookie.split(';').next().unwrap_or_default();
    let (status, _) = call(&s, request("GET", "/", None, &[("cookie", pair)])).await?;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        &s,
        request("GET", "/", None, &[("x-dashboard-token", token)]),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn posts_need_the_csrf_token_and_a_same_origin() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let s = docker_state(dir.path().into(), None).await?;
    let body = Some(r#"{"mode":"custom"}"#);
    let (status, why) = call(&s, request("POST", "/api/runs", body, &[])).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(why.contains("CSRF"), "{why}");
    let wrong = [("x-csrf-token", "0000")];
    assert_eq!(
        call(&s, request("POST", "/api/runs", body, &wrong))
            .await?
            .0,
        StatusCode::FORBIDDEN
    );
    let csrf = s.guard.csrf().to_string();
    let cross = [
        ("x-csrf-token", csrf.as_str()),
        ("origin", "http://attacker.example"),
    ];
    let (status, why) = call(&s, request("POST", "/api/runs", body, &cross)).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(why.contains("cross-origin"), "{why}");
    Ok(())
}

#[tokio::test]
async fn bad_run_parameters_get_a_400_with_a_message() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let s = docker_state(dir.path().into(), None).await?;
    let csrf = s.guard.csrf().to_string();
    let h = [
        ("x-csrf-token", csrf.as_str()),
        ("origin", "http://127.0.0.1:8088"),
    ];
    for (body, says) in [
        (r#"{"mode":"custom","duration":"soon"}"#, "duration"),
        (r#"{"mode":"custom","model":"open"}"#, "needs a rate"),
        (r#"{"mode":"custom","connections":0}"#, "connections"),
        (r#"{"mode":"custom","op":"dance"}"#, "unknown op"),
        (r#"{"mode":"suite","suite":"/etc/passwd"}"#, "unknown suite"),
        (r#"{"mode":"custom","targets":["nginx"]}"#, "unknown target"),
        (r#"{"mode":"custom","repeat":99}"#, "repetitions"),
        (r#"{"mode":"custom","surprise":1}"#, "surprise"),
        ("not json", "JSON"),
    ] {
        let (status, answer) = call(&s, request("POST", "/api/runs", Some(body), &h)).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        let v: serde_json::Value = serde_json::from_str(&answer)?;
        let msg = v["error"].as_str().unwrap_or_default();
        assert!(msg.contains(says), "{body}: {msg}");
    }
    Ok(())
}

#[tokio::test]
async fn a_second_run_is_refused_while_one_goes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let s = docker_state(dir.path().into(), None).await?;
    assert!(s.claim_run(), "the slot is free at first");
    let csrf = s.guard.csrf().to_string();
    let h = [("x-csrf-token", csrf.as_str())];
    let body = Some(r#"{"mode":"custom","op":"ping","endpoints":["rest-h1"]}"#);
    let (status, answer) = call(&s, request("POST", "/api/runs", body, &h)).await?;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(answer.contains("in progress"));
    let (status, _) = call(&s, request("POST", "/api/servers/rest/restart", None, &h)).await?;
    assert_eq!(status, StatusCode::CONFLICT);
    s.release_run();
    // Without --local, a compose project with no containers (or no engine): a clear 503.
    let (status, answer) = call(&s, request("POST", "/api/servers/rest/restart", None, &h)).await?;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert!(
        answer.contains("no container") || answer.contains("no Docker engine"),
        "{answer}"
    );
    let (status, _) = call(&s, request("POST", "/api/servers/nginx/start", None, &h)).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn past_runs_show_their_table_charts_and_compare() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut run = support::fixture_run();
    run.run_id = "20260101-000000".into();
    loadgen::results::write(dir.path(), &run)?;
    run.run_id = "20260102-000000".into();
    loadgen::results::write(dir.path(), &run)?;
    let s = docker_state(dir.path().into(), None).await?;
    let (status, list) = call(&s, get("/runs")).await?;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("/runs/20260101-000000") && list.contains("name=\"baseline\""));
    let (status, page) = call(&s, get("/runs/20260102-000000")).await?;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<table class=\"grid headline\">"));
    let charts = page.matches("<figure class=\"chart\"").count();
    assert!(
        charts > 5 && page.matches("<svg").count() >= charts,
        "{charts} charts"
    );
    assert!(page.contains("Environment"));
    let (status, cmp) = call(
        &s,
        get("/compare?baseline=20260101-000000&candidate=20260102-000000"),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    assert!(
        cmp.contains("verdict") && cmp.contains("The gate passes"),
        "{cmp}"
    );
    for missing in [
        "/runs/nope",
        "/runs/..",
        "/runs/.hidden",
        "/compare?baseline=a&candidate=b",
    ] {
        assert_eq!(
            call(&s, get(missing)).await?.0,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
    assert_eq!(call(&s, get("/compare")).await?.0, StatusCode::BAD_REQUEST);
    Ok(())
}

/// Where cargo put the server binaries (beside this test's folder); builds the REST
/// server when it is missing. None (the test skips) when it cannot be had.
pub fn server_bins() -> Option<PathBuf> {
    let dir = std::env::current_exe()
        .ok()?
        .parent()?
        .parent()?
        .to_path_buf();
    if !dir.join("protolab-rest").exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let built = std::process::Command::new(cargo)
            .args(["build", "-p", "protolab-rest", "--bin", "protolab-rest"])
            .status();
        if !built.is_ok_and(|s| s.success()) || !dir.join("protolab-rest").exists() {
            eprintln!("SKIPPED: no protolab-rest binary in {}", dir.display());
            return None;
        }
    }
    Some(dir)
}

async fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + limit;
    while !ok() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[tokio::test]
async fn the_local_lab_is_controlled_runs_live_and_reseeds() -> anyhow::Result<()> {
    let Some(bins) = server_bins() else {
        return Ok(());
    };
    let dashboard = common::LocalDashboard::start(&bins, 200).await?;
    let (s, addr) = (dashboard.state.clone(), dashboard.addr);
    let results = dashboard.results.path().to_path_buf();
    let rest = |s: &AppState| s.live.servers().into_iter().find(|x| x.name == "rest");
    wait_for("rest running and ready", Duration::from_secs(20), || {
        rest(&s).is_some_and(|r| r.state == "running" && r.ready && r.memory_bytes.is_some())
    })
    .await?;

    let client = reqwest_like::Client::new(addr, s.guard.csrf());
    let (status, _) = client.post("/api/servers/rest/stop", None).await?;
    assert_eq!(status, 200);
    wait_for("rest stopped", Duration::from_secs(10), || {
        rest(&s).is_some_and(|r| r.state == "stopped")
    })
    .await?;
    let (status, why) = client
        .post(
            "/api/runs",
            Some(r#"{"mode":"custom","op":"ping","endpoints":["rest-h1"]}"#),
        )
        .await?;
    assert_eq!(status, 400, "a stopped server cannot be benchmarked: {why}");
    assert!(why.contains("not running: rest"), "{why}");
    assert_eq!(client.post("/api/servers/rest/start", None).await?.0, 200);
    wait_for("rest running", Duration::from_secs(20), || {
        rest(&s).is_some_and(|r| r.ready)
    })
    .await?;

    let body = r#"{"mode":"custom","op":"get_item","duration":"2s","connections":4,"endpoints":["rest-h1"]}"#;
    let (status, answer) = client.post("/api/runs", Some(body)).await?;
    assert_eq!(status, 202, "{answer}");
    let mut seen_live = false;
    wait_for("the run to finish", Duration::from_secs(60), || {
        let r = s.live.run();
        seen_live |=
            r.state == "running" && r.cases.iter().any(|c| c.requests > 0 && c.p99_ms > 0.0);
        r.state != "running"
    })
    .await?;
    let run = s.live.run();
    assert_eq!(run.state, "finished", "{run:?}");
    assert!(seen_live, "per-second numbers while the case ran");
    let id = run.run_id.unwrap_or_default();
    assert!(results.join(&id).join("run.json").is_file());
    assert!(results.join(&id).join("report.html").is_file());
    assert_eq!(run.cases.len(), 1);
    assert_eq!(run.cases[0].status, "ok", "{:?}", run.cases[0]);

    let (status, _) = client.post("/api/reseed", Some(r#"{"items":300}"#)).await?;
    assert_eq!(status, 200);
    assert_eq!(s.servers.items(), Some(300));
    wait_for(
        "rest back after the re-seed",
        Duration::from_secs(20),
        || rest(&s).is_some_and(|r| r.ready),
    )
    .await?;
    let page = client.get("/engineering").await?;
    assert!(
        page.contains("300 items") && page.contains("DB_PATH"),
        "{page}"
    );

    dashboard.stop().await?;
    assert!(rest(&s)
        .and_then(|r| r.pid)
        .is_none_or(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists()));
    Ok(())
}

/// A tiny HTTP/1.1 client over a real socket (hyper), enough for these tests.
mod reqwest_like {
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper_util::rt::TokioIo;

    pub struct Client {
        addr: std::net::SocketAddr,
        csrf: String,
    }

    impl Client {
        pub fn new(addr: std::net::SocketAddr, csrf: &str) -> Client {
            Client {
                addr,
                csrf: csrf.into(),
            }
        }

        async fn send(&self, req: http::Request<Full<Bytes>>) -> anyhow::Result<(u16, String)> {
            let tcp = tokio::net::TcpStream::connect(self.addr).await?;
            let (mut tx, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
            tokio::spawn(conn);
            let resp = tx.send_request(req).await?;
            let status = resp.status().as_u16();
            let body = resp.into_body().collect().await?.to_bytes();
            Ok((status, String::from_utf8_lossy(&body).into_owned()))
        }

        pub async fn post(&self, path: &str, json: Option<&str>) -> anyhow::Result<(u16, String)> {
            let req = http::Request::post(path)
                .header("host", self.addr.to_string())
                .header("x-csrf-token", &self.csrf)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(json.unwrap_or("{}").to_string())))?;
            self.send(req).await
        }

        pub async fn get(&self, path: &str) -> anyhow::Result<String> {
            let req = http::Request::get(path)
                .header("host", self.addr.to_string())
                .body(Full::new(Bytes::new()))?;
            Ok(self.send(req).await?.1)
        }
    }
}
