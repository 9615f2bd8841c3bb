//! The `loadgen` binary's exit status says what its run proved: a server that
//! answers correctly until verification is done and then fails every other call
//! makes `run` exit non-zero with the case FAILED, and `check` and `compare` on
//! that run fail too; a healthy server measured by a generator pinned to one CPU
//! is not falsely INVALID. Real processes, real sockets on loopback, bounded runs.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

/// A REST /ping that answers every call, or (`fail_every_other`) fails every
/// second call after the first few (the verification's).
async fn ping_server(fail_every_other: bool) -> anyhow::Result<SocketAddr> {
    let calls = Arc::new(AtomicU64::new(0));
    let app = Router::new().route(
        "/ping",
        get(move || {
            let n = calls.fetch_add(1, Ordering::Relaxed);
            async move {
                if fail_every_other && n > 4 && n % 2 == 0 {
                    (StatusCode::INTERNAL_SERVER_ERROR, "{\"error\":\"no\"}")
                } else {
                    (StatusCode::OK, "{\"pong\":true}")
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

fn loadgen(args: &[&str]) -> anyhow::Result<std::process::Output> {
    Ok(Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .env("RUST_LOG", "error")
        .output()?)
}

/// `loadgen run rest` against `addr`, results under `out`; the output and the run
/// directory written.
fn run(
    addr: SocketAddr,
    out: &Path,
    global: &[&str],
    more: &[&str],
) -> anyhow::Result<(std::process::Output, std::path::PathBuf)> {
    let target = format!("http://{addr}");
    let out_s = out.to_string_lossy().into_owned();
    let mut args = vec!["--quiet"];
    args.extend_from_slice(global);
    args.extend([
        "run", "rest", &target, "--op", "ping", "-c", "4", "-d", "1500ms", "--warmup", "300ms",
        "--json", "--out", &out_s,
    ]);
    args.extend_from_slice(more);
    let output = loadgen(&args)?;
    let dir = std::fs::read_dir(out)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .ok_or_else(|| anyhow::anyhow!("no run directory in {}", out.display()))?;
    Ok((output, dir))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_server_fails_run_check_and_compare() -> anyhow::Result<()> {
    let good = ping_server(false).await?;
    let bad = ping_server(true).await?;
    let (good_out, bad_out) = (tempfile::tempdir()?, tempfile::tempdir()?);

    let (ok, good_dir) = run(good, good_out.path(), &[], &[])?;
    let (failed, bad_dir) = run(bad, bad_out.path(), &[], &[])?;
    let stdout = String::from_utf8_lossy(&failed.stdout);
    assert!(
        !failed.status.success(),
        "a run with 50% errors must fail: {stdout}"
    );
    let json: serde_json::Value = serde_json::from_slice(&failed.stdout)?;
    assert_eq!(json["cases"][0]["status"], "failed", "{stdout}");
    let problems = json["cases"][0]["problems"].to_string();
    assert!(problems.contains("error budget"), "{problems}");

    let check = loadgen(&["check", &bad_dir.to_string_lossy(), "--servers", "rest"])?;
    assert!(!check.status.success(), "check passes a FAILED run");

    let cmp = loadgen(&[
        "compare",
        &good_dir.to_string_lossy(),
        &bad_dir.to_string_lossy(),
    ])?;
    // The baseline may be INVALID on a loaded machine; then the gate has nothing
    // valid to hold the candidate against and says so, failing either way.
    assert!(!cmp.status.success(), "compare passes a FAILED candidate");
    let _ = ok;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generator_pinned_to_one_cpu_is_not_falsely_invalid() -> anyhow::Result<()> {
    let addr = ping_server(false).await?;
    let out = tempfile::tempdir()?;
    // A light open loop: far from saturating one CPU. (The lag floor is raised: this
    // is about the CPU verdict, and a loaded test machine wakes late.)
    let (output, _) = run(
        addr,
        out.path(),
        &["--cpus", "0"],
        &["--rate", "500", "--max-lag", "50ms"],
    )?;
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let case = &json["cases"][0];
    let window = &case["repetitions"][0]["window"];
    assert_eq!(window["client_cpus"], 1, "{window}");
    assert!(
        !case["problems"].to_string().contains("client-bound"),
        "{}",
        case["problems"]
    );
    Ok(())
}
