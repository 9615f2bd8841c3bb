//! A server's life: open the dataset, bind listeners, serve, drain on signal.
//!
//! `ServerState` is what handlers share (dataset, metrics, limits, shutdown token).
//! `Listeners::bind` takes the configured ports, or port 0 for tests, which then read
//! the bound addresses back. `run_http` serves an axum router on the plain and TLS
//! ports plus the admin endpoints, and returns once every connection has drained or
//! the grace period is over. `main_http` is the whole `main` of an HTTP-based server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::admin::{self, Readiness};
use crate::config::{Ports, ServerArgs};
use crate::dataset::{Dataset, DatasetError};
use crate::guard::{Constant, RequestLimits};
use crate::metrics::Metrics;
use crate::serve::{self, AcceptCtx, Constants, HttpConfig};
use crate::tls::{self, TlsError};

/// What distinguishes one server binary from another, outside its handlers.
#[derive(Debug, Clone, Copy)]
pub struct ServerSpec {
    /// Short name: `rest`, `grpc`, ... (logs, metrics help).
    pub name: &'static str,
    /// Default ports (DESIGN.md's table).
    pub ports: Ports,
    /// ALPN protocols offered on the TLS port.
    pub alpn: &'static [&'static [u8]],
    /// Serve HTTP/2 only (gRPC).
    pub http2_only: bool,
    /// `GET` routes answered before routing, through the same limits (`guard::PING`).
    pub constants: &'static [Constant],
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Certs(#[from] crate::certs::CertError),
}

/// What every handler of a server shares. Cloning it is one reference count: axum
/// clones a router's state for every request it routes.
#[derive(Clone, Debug)]
pub struct ServerState(Arc<ServerStateInner>);

/// The fields of a `ServerState`, read through it.
#[derive(Debug)]
pub struct ServerStateInner {
    pub name: &'static str,
    pub dataset: Dataset,
    pub metrics: Arc<Metrics>,
    pub ready: Readiness,
    pub shutdown: CancellationToken,
    pub delay: Duration,
    pub max_body: usize,
    pub max_header_bytes: usize,
    pub request_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_grace: Duration,
}

impl std::ops::Deref for ServerState {
    type Target = ServerStateInner;

    fn deref(&self) -> &ServerStateInner {
        &self.0
    }
}

impl ServerState {
    /// Opens (seeding if missing) the dataset and sets up metrics.
    pub async fn open(spec: &ServerSpec, args: &ServerArgs) -> Result<ServerState, ServerError> {
        let dataset = Dataset::open_or_seed(&args.db, args.items, args.seed).await?;
        tracing::info!(server = spec.name, db = %args.db.display(), items = dataset.len(), "dataset open");
        Ok(ServerState(Arc::new(ServerStateInner {
            name: spec.name,
            dataset,
            metrics: Metrics::new(spec.name),
            ready: Readiness::default(),
            shutdown: CancellationToken::new(),
            delay: args.delay(),
            max_body: args.max_body,
            max_header_bytes: args.max_header_bytes,
            request_timeout: args.request_timeout(),
            max_connections: args.max_connections.max(1),
            shutdown_grace: args.shutdown_grace(),
        })))
    }

    /// A fresh accept context sharing this server's connection cap.
    pub fn accept_ctx(&self, limit: &Arc<Semaphore>, tracker: &TaskTracker) -> AcceptCtx {
        AcceptCtx {
            limit: limit.clone(),
            metrics: self.metrics.clone(),
            shutdown: self.shutdown.clone(),
            tracker: tracker.clone(),
        }
    }
}

/// A server's bound sockets.
pub struct Listeners {
    pub plain: TcpListener,
    pub tls: Option<(TcpListener, TlsAcceptor)>,
    pub admin: TcpListener,
}

/// Connections the kernel completes and queues for `accept` (the kernel caps it at
/// `net.core.somaxconn`, 4096 on current kernels). std's and mio's 128 overflowed
/// when a client opened connections faster than a busy server accepted them: the
/// dropped handshakes were retried after TCP's 1 s timeout, and 1,000 connections
/// took a second to set up instead of 50 ms.
pub const LISTEN_BACKLOG: u32 = 4096;

/// A listener on `addr` with `LISTEN_BACKLOG` (address reuse on, as tokio's `bind`).
pub fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    let listen = || {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(LISTEN_BACKLOG)
    };
    listen().map_err(|source| ServerError::Bind { addr, source })
}

impl Listeners {
    /// Binds the plain and admin ports, and the TLS port when a certificate is configured.
    pub async fn bind(spec: &ServerSpec, args: &ServerArgs) -> Result<Listeners, ServerError> {
        let ports = args.ports(spec.ports);
        let tls = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => {
                let config = tls::server_config(cert, key, args.tls_ca.as_deref(), spec.alpn)?;
                Some((bind(args.addr(ports.tls))?, TlsAcceptor::from(config)))
            }
            _ => None,
        };
        Ok(Listeners {
            plain: bind(args.addr(ports.plain))?,
            tls,
            admin: bind(args.addr(ports.admin))?,
        })
    }

    /// Bound addresses: (plain, tls, admin).
    pub fn addrs(&self) -> (SocketAddr, Option<SocketAddr>, SocketAddr) {
        let addr = |l: &TcpListener| {
            l.local_addr()
                .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
        };
        (
            addr(&self.plain),
            self.tls.as_ref().map(|(l, _)| addr(l)),
            addr(&self.admin),
        )
    }
}

/// Serves the admin router until shutdown (it stays up while others drain, so
/// `/readyz` can say "not ready").
pub fn spawn_admin(
    state: &ServerState,
    admin: TcpListener,
    done: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let items = u64::try_from(state.dataset.len()).ok();
    let app = admin::router(
        state.name,
        state.metrics.clone(),
        state.ready.clone(),
        items,
    );
    tokio::spawn(async move {
        let serve =
            axum::serve(admin, app).with_graceful_shutdown(async move { done.cancelled().await });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "admin server failed");
        }
    })
}

/// Waits for connections to drain after shutdown, at most the grace period.
pub async fn drain(state: &ServerState, tracker: TaskTracker) {
    tracker.close();
    if tokio::time::timeout(state.shutdown_grace, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            server = state.name,
            "grace period over; dropping remaining connections"
        );
    }
}

/// Serves `router` (wrapped in `serve::http_layers`) on the plain and TLS listeners
/// and the admin endpoints, until `state.shutdown` is cancelled; then drains.
pub async fn run_http(router: Router, listeners: Listeners, state: ServerState, spec: ServerSpec) {
    let limits = RequestLimits::new(
        state.metrics.clone(),
        state.max_connections * 64,
        state.request_timeout,
    );
    let router = serve::http_layers(router, &limits, state.max_body);
    let constants = Constants {
        routes: spec.constants,
        limits,
    };
    let admin_done = CancellationToken::new();
    let admin = spawn_admin(&state, listeners.admin, admin_done.clone());
    let limit = Arc::new(Semaphore::new(state.max_connections));
    let tracker = TaskTracker::new();
    let config = HttpConfig {
        http2_only: spec.http2_only,
        max_header_bytes: state.max_header_bytes,
    };
    let mut loops = vec![tokio::spawn(serve::serve_http(
        router.clone(),
        constants.clone(),
        listeners.plain,
        None,
        state.accept_ctx(&limit, &tracker),
        config,
    ))];
    if let Some((listener, acceptor)) = listeners.tls {
        loops.push(tokio::spawn(serve::serve_http(
            router,
            constants,
            listener,
            Some(acceptor),
            state.accept_ctx(&limit, &tracker),
            config,
        )));
    }
    state.ready.set(true);
    tracing::info!(server = state.name, "ready");
    state.shutdown.cancelled().await;
    state.ready.set(false);
    for l in loops {
        let _ = l.await;
    }
    drain(&state, tracker).await;
    admin_done.cancel();
    let _ = admin.await;
    tracing::info!(server = state.name, "stopped");
}

/// The subcommands every server binary has.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Exit 0 when this server's admin /readyz answers (Docker HEALTHCHECK)
    Healthcheck,
}

/// A server's command line: the shared flags plus its own `E`.
#[derive(Debug, Parser)]
pub struct Cli<E: Args> {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub extra: E,
}

/// For servers with no flags of their own.
#[derive(Debug, Clone, Default, Args)]
pub struct NoExtra {}

impl<E: Args> Cli<E> {
    /// Parses the process arguments, naming the command after the binary.
    pub fn parse_for(spec: &ServerSpec) -> Self {
        let cmd = Self::command()
            .bin_name(format!("protolab-{}", spec.name))
            .about(format!("protolab {} server", spec.name));
        let matches = cmd.get_matches();
        Self::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
}

/// Runs the `healthcheck` subcommand.
pub fn healthcheck(spec: &ServerSpec, args: &ServerArgs) -> ExitCode {
    match crate::healthcheck::check(args.ports(spec.ports).admin, Duration::from_secs(3)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("unhealthy: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The whole `main` of an HTTP-based server: parse, trace, build the runtime, open
/// the dataset, bind, serve `app(state, extra)` until SIGTERM/Ctrl-C, drain.
pub fn main_http<E, F>(spec: ServerSpec, app: F) -> ExitCode
where
    E: Args,
    F: FnOnce(ServerState, E) -> Router,
{
    let cli = Cli::<E>::parse_for(&spec);
    if let Some(Command::Healthcheck) = cli.command {
        return healthcheck(&spec, &cli.server);
    }
    crate::telemetry::init();
    let result = cli.server.build_runtime().map_err(ServerError::Runtime).and_then(|rt| {
        rt.block_on(async {
            let state = ServerState::open(&spec, &cli.server).await?;
            let listeners = Listeners::bind(&spec, &cli.server).await?;
            let (plain, tls, admin) = listeners.addrs();
            tracing::info!(server = spec.name, %plain, ?tls, %admin, runtime = ?cli.server.runtime, "listening");
            tokio::spawn(crate::shutdown::cancel_on_signal(state.shutdown.clone()));
            let router = app(state.clone(), cli.extra);
            run_http(router, listeners, state, spec).await;
            Ok(())
        })
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            eprintln!("protolab-{}: {e}", spec.name);
            ExitCode::FAILURE
        }
    }
}

/// Arguments for an in-process server on loopback with every port chosen by the OS
/// (tests, `loadgen --local` helpers): no TLS unless certificates are added.
pub fn ephemeral_args(db: PathBuf, items: u32) -> ServerArgs {
    ServerArgs {
        port: Some(0),
        tls_port: Some(0),
        admin_port: Some(0),
        bind: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        db,
        items,
        seed: crate::dataset::DEFAULT_SEED,
        tls_cert: None,
        tls_key: None,
        tls_ca: None,
        delay_ms: 0,
        runtime: crate::config::RuntimeKind::Multi,
        workers: None,
        max_connections: 1000,
        max_body: crate::contract::DEFAULT_MAX_BODY,
        max_header_bytes: crate::serve::DEFAULT_MAX_HEADER_BYTES,
        request_timeout_secs: 30,
        shutdown_grace_secs: 5,
    }
}

/// A server running inside this process on loopback (tests, tools that embed one).
pub struct InProcess {
    pub plain: SocketAddr,
    /// The TLS port (always served: `start_in_process` writes certificates).
    pub tls: SocketAddr,
    pub admin: SocketAddr,
    pub state: ServerState,
    pub task: tokio::task::JoinHandle<()>,
}

impl InProcess {
    /// Cancels the server and waits until it has drained.
    pub async fn stop(self) {
        self.state.shutdown.cancel();
        let _ = self.task.await;
    }
}

/// Starts `app` as `spec`'s server inside this process: lab certificates written to
/// `dir` (ca.crt, server.*, client.*), a dataset of `items` rows at `dir/items.db`,
/// every port chosen by the OS on 127.0.0.1, TLS served; `tune` adjusts the
/// arguments first (e.g. `delay_ms`, or `tls_ca` for mTLS).
pub async fn start_in_process(
    spec: &ServerSpec,
    dir: &std::path::Path,
    items: u32,
    tune: impl FnOnce(&mut ServerArgs),
    app: impl FnOnce(ServerState) -> Router,
) -> Result<InProcess, ServerError> {
    crate::certs::write_to(dir)?;
    let mut args = ephemeral_args(dir.join("items.db"), items);
    args.tls_cert = Some(dir.join("server.crt"));
    args.tls_key = Some(dir.join("server.key"));
    tune(&mut args);
    let state = ServerState::open(spec, &args).await?;
    let listeners = Listeners::bind(spec, &args).await?;
    let (plain, tls, admin) = listeners.addrs();
    let task = tokio::spawn(run_http(
        app(state.clone()),
        listeners,
        state.clone(),
        *spec,
    ));
    Ok(InProcess {
        plain,
        tls: tls.unwrap_or(plain),
        admin,
        state,
        task,
    })
}
