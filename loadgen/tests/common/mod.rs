//! Shared by the dashboard tests: a dashboard over a real `--local` lab.
#![allow(dead_code)] // each test file uses a different part

use std::net::SocketAddr;
use std::sync::Arc;

/// A dashboard over a `--local` lab of `items` rows, served on a loopback port
/// chosen by the OS, with its results in a temporary folder.
pub struct LocalDashboard {
    pub state: Arc<loadgen::dashboard::AppState>,
    pub addr: SocketAddr,
    pub results: tempfile::TempDir,
    stop: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<Result<(), loadgen::dashboard::DashboardError>>,
}

impl LocalDashboard {
    pub async fn start(bins: &std::path::Path, items: u32) -> anyhow::Result<LocalDashboard> {
        use loadgen::dashboard::{security::Guard, AppState, Servers};
        let results = tempfile::tempdir()?;
        let servers = Servers::start_local(bins, items, None).await?;
        let guard = Guard::new(([127, 0, 0, 1], 0).into(), None)?;
        let state = Arc::new(AppState::new(
            servers,
            results.path().into(),
            guard,
            "127.0.0.1".into(),
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(loadgen::dashboard::serve(listener, state.clone(), async {
            let _ = stopped.await;
        }));
        Ok(LocalDashboard {
            state,
            addr,
            results,
            stop,
            served,
        })
    }

    /// Shuts the dashboard down (its servers with it) and returns how serving ended.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.served.await??;
        Ok(())
    }
}
