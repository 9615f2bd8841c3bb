//! `loadgen dashboard`: a web UI over the same lab, engine and reports as the CLI.
//! It shows every server live (state, readiness, CPU, memory, open connections),
//! starts, stops and restarts them, launches runs (a built-in suite or one custom
//! case) and streams their per-second numbers, browses past runs (headline table,
//! the report's charts as SVG, environment, `compare` of two) and re-seeds the
//! dataset. Pages are rendered here; a little plain JavaScript (embedded) fills the
//! live parts from one SSE stream. It never measures or charts anything itself:
//! `commands::bench`, `report` and `results` do, for the CLI and for it.
//!
//! Serves loopback by default; any other address needs a token (`security`).

pub mod docker;
pub mod history;
pub mod launch;
pub mod live;
pub mod pages;
pub mod routes;
pub mod security;
pub mod state;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::cli::DashboardOpts;

pub use routes::app;
pub use state::{AppState, Servers};

/// Why the dashboard could not run.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error(transparent)]
    Security(#[from] security::SecurityError),
    #[error("starting the local lab: {0}")]
    Local(#[from] crate::lab::local::LocalError),
    #[error("listening on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("serving: {0}")]
    Serve(std::io::Error),
}

/// `loadgen dashboard`: starts the servers (with `--local`), serves until Ctrl-C
/// or SIGTERM, then stops them.
pub async fn run(o: &DashboardOpts) -> Result<(), DashboardError> {
    let guard = security::Guard::new(o.listen, o.token.clone())?;
    let listener = tokio::net::TcpListener::bind(o.listen)
        .await
        .map_err(|source| DashboardError::Listen {
            addr: o.listen,
            source,
        })?;
    let servers = if o.local {
        eprintln!("--local: starting the servers as child processes on loopback");
        let bin_dir = crate::lab::local::bin_dir();
        Servers::start_local(&bin_dir, o.items, o.server_cpus.as_deref()).await?
    } else {
        Servers::Docker(docker::DockerServers::connect(o.host.clone()).await)
    };
    let state = Arc::new(AppState::new(servers, o.out.clone(), guard, o.host.clone()));
    let addr = listener.local_addr().unwrap_or(o.listen);
    let hint = if o.token.is_some() {
        "?token=<token>"
    } else {
        ""
    };
    eprintln!("dashboard on http://{addr}/{hint} (Ctrl-C stops it and its servers)");
    serve(listener, state, shutdown_signal()).await
}

/// Serves the dashboard of `state` on `listener` until `shutdown` completes; then
/// stops a running run and the local servers.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DashboardError> {
    tokio::spawn(live::sample_servers(Arc::downgrade(&state)));
    let closing = state.closing.clone();
    let served = axum::serve(listener, app(state.clone()))
        .with_graceful_shutdown(async move {
            shutdown.await;
            closing.send_replace(true);
        })
        .await;
    // A run hands the lab back when cancelled; wait for that, a bounded while.
    if state.run_active() {
        state.cancel.notify_one();
        for _ in 0..50 {
            if !state.run_active() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    state.servers.shutdown().await;
    served.map_err(DashboardError::Serve)
}

/// Ctrl-C, or SIGTERM (what Docker sends).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
