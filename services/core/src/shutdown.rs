//! Graceful shutdown: SIGTERM (what Docker sends) or Ctrl-C cancels the server's
//! token; accept loops stop, connections finish in-flight work, and the process exits
//! once they are done or the grace period runs out.

use tokio_util::sync::CancellationToken;

/// Waits for SIGTERM or SIGINT.
pub async fn signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// Cancels `token` when a signal arrives.
pub async fn cancel_on_signal(token: CancellationToken) {
    tokio::select! {
        _ = signal() => {
            tracing::info!("shutdown signal received: draining");
            token.cancel();
        }
        _ = token.cancelled() => {}
    }
}
