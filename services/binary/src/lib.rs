//! The binary server: NET-001 (reference/004) on 5000 and, over TLS 1.3, on 5443; the
//! 0x12345678 framed protocol (reference/003) on 5100; admin on 6000.
//!
//! Codecs come from `protolab_wire`; this crate adds the connection loop (`conn`:
//! pipelining with in-order replies, one write per read, idle timeout, rate limits),
//! the two protocols' handlers (`net001`, `framed`), the DATA ops (`data`), token
//! buckets (`limits`) and AUTH (`auth`). Connections beyond MAX_CONNECTIONS are not
//! left waiting: they get ERROR server-busy (a failure response on the framed port)
//! and are closed. Broadcasts go through the core `Hub`.
//!
//! | NET-001 message | answer |
//! |---|---|
//! | PING (u64 timestamp) | PONG with the same timestamp, at once |
//! | ECHO (bytes) | ECHO_REPLY with the same bytes |
//! | BROADCAST (bytes) | none to the sender; a BROADCAST with the bytes to every other (authenticated, when AUTH_TOKENS is set) client |
//! | AUTH (user, token) | AUTH_REPLY 1 + 16-byte session id, or 0 + zeros (connection stays) |
//! | DATA get_item / list_items / score / download | DATA responses (`protolab_wire::net001::data`), MORE-split where long |
//! | anything else from a client | ERROR bad-request / unknown-type; ERROR frames from a client are ignored |
//!
//! A subscriber that lags behind the hub's ring skips the lost broadcasts (counted in
//! `protolab_hub_dropped_total`); nothing is sent for them.

pub mod auth;
mod conn;
mod data;
mod framed;
pub mod limits;
mod net001;

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use protolab_core::hub::{Hub, DEFAULT_CAPACITY};
use protolab_core::serve::{accept_loop, Conn};
use protolab_core::server::{drain, spawn_admin, Listeners};
use protolab_core::{Ports, ServerSpec, ServerState};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::AuthTokens;
use crate::limits::GlobalLimiter;

/// The binary server's identity and default ports (DESIGN.md; admin is port + 1000).
pub const SPEC: ServerSpec = ServerSpec {
    name: "binary",
    ports: Ports {
        plain: 5000,
        tls: 5443,
        admin: 6000,
    },
    alpn: &[],
    http2_only: false,
    constants: &[],
};

/// Default port of the framed protocol.
pub const DEFAULT_FRAMED_PORT: u16 = 5100;
/// Default receive limit of a framed payload: a 1 MiB echo is ~2.1 MB of JSON.
pub const DEFAULT_FRAMED_MAX_PAYLOAD: usize = 4 << 20;
/// Connections accepted beyond MAX_CONNECTIONS only to be told "busy"; past this
/// many more, new connections wait in the kernel backlog (file descriptors are finite).
pub const BUSY_HEADROOM: usize = 1024;

/// The binary server's own flags (beside core's `ServerArgs`).
#[derive(Debug, Clone, Args)]
pub struct BinaryArgs {
    /// Port of the framed (0x12345678) protocol
    #[arg(long, env = "FRAMED_PORT", default_value_t = DEFAULT_FRAMED_PORT)]
    pub framed_port: u16,
    /// Close a connection that sends no complete frame for this long, in seconds
    #[arg(long, env = "IDLE_TIMEOUT", default_value_t = 60)]
    pub idle_timeout_secs: u64,
    /// Messages per second per client (0 = unlimited)
    #[arg(long, env = "RATE_LIMIT", default_value_t = 1000)]
    pub rate_limit: u32,
    /// Messages per second over all clients (0 = unlimited)
    #[arg(long, env = "GLOBAL_RATE_LIMIT", default_value_t = 50_000)]
    pub global_rate_limit: u32,
    /// `user:token,...` or `@file`; when set, DATA and BROADCAST need AUTH first
    #[arg(long, env = "AUTH_TOKENS")]
    pub auth_tokens: Option<String>,
    /// Largest framed-protocol payload accepted, in bytes
    #[arg(long, env = "FRAMED_MAX_PAYLOAD", default_value_t = DEFAULT_FRAMED_MAX_PAYLOAD)]
    pub framed_max_payload: usize,
}

/// The binary server's settings, resolved from `BinaryArgs`.
#[derive(Debug, Clone)]
pub struct BinaryConfig {
    pub idle_timeout: Duration,
    pub rate_limit: u32,
    pub global_rate_limit: u32,
    pub auth: AuthTokens,
    pub framed_max_payload: usize,
}

impl Default for BinaryConfig {
    fn default() -> Self {
        BinaryConfig {
            idle_timeout: Duration::from_secs(60),
            rate_limit: 1000,
            global_rate_limit: 50_000,
            auth: AuthTokens::default(),
            framed_max_payload: DEFAULT_FRAMED_MAX_PAYLOAD,
        }
    }
}

impl BinaryConfig {
    /// Resolves the flags (reads the token file if one is named).
    pub fn from_args(args: &BinaryArgs) -> Result<BinaryConfig, auth::AuthError> {
        Ok(BinaryConfig {
            idle_timeout: Duration::from_secs(args.idle_timeout_secs.max(1)),
            rate_limit: args.rate_limit,
            global_rate_limit: args.global_rate_limit,
            auth: match &args.auth_tokens {
                Some(spec) => AuthTokens::parse(spec)?,
                None => AuthTokens::default(),
            },
            framed_max_payload: args.framed_max_payload,
        })
    }
}

/// What every connection shares.
pub(crate) struct Shared {
    pub state: ServerState,
    pub hub: Hub,
    pub config: BinaryConfig,
    pub global: GlobalLimiter,
    /// One permit per served connection, over all three ports.
    pub slots: Arc<Semaphore>,
}

/// Serves NET-001 on the plain and TLS listeners, the framed protocol on `framed`,
/// and the admin endpoints, until `state.shutdown` is cancelled; then drains.
pub async fn run(
    state: ServerState,
    listeners: Listeners,
    framed: TcpListener,
    config: BinaryConfig,
) {
    let admin_done = CancellationToken::new();
    let admin = spawn_admin(&state, listeners.admin, admin_done.clone());
    let shared = Arc::new(Shared {
        hub: Hub::new(DEFAULT_CAPACITY, &state.metrics),
        global: GlobalLimiter::new(config.global_rate_limit),
        slots: Arc::new(Semaphore::new(state.max_connections)),
        config,
        state: state.clone(),
    });
    // accept_loop's own cap only bounds the connections told "busy".
    let limit = Arc::new(Semaphore::new(state.max_connections + BUSY_HEADROOM));
    let tracker = TaskTracker::new();
    let net001 = |s: &Arc<Shared>| {
        let s = s.clone();
        move |conn: Conn, _| net001::serve(s.clone(), conn)
    };
    let mut loops = vec![tokio::spawn(accept_loop(
        listeners.plain,
        None,
        state.accept_ctx(&limit, &tracker),
        net001(&shared),
    ))];
    if let Some((listener, acceptor)) = listeners.tls {
        loops.push(tokio::spawn(accept_loop(
            listener,
            Some(acceptor),
            state.accept_ctx(&limit, &tracker),
            net001(&shared),
        )));
    }
    let s = shared.clone();
    loops.push(tokio::spawn(accept_loop(
        framed,
        None,
        state.accept_ctx(&limit, &tracker),
        move |conn, _| framed::serve(s.clone(), conn),
    )));
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

/// A server running inside this process on loopback (tests, the load example).
pub struct InProcess {
    pub plain: std::net::SocketAddr,
    pub tls: std::net::SocketAddr,
    pub framed: std::net::SocketAddr,
    pub admin: std::net::SocketAddr,
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

/// Starts the server in this process: certificates written to `dir`, a dataset of
/// `items` rows, every port chosen by the OS on 127.0.0.1; `tune` adjusts the core
/// arguments first (max connections, delay).
pub async fn start_in_process(
    dir: &std::path::Path,
    items: u32,
    tune: impl FnOnce(&mut protolab_core::ServerArgs),
    config: BinaryConfig,
) -> anyhow::Result<InProcess> {
    protolab_core::certs::write_to(dir)?;
    let mut args = protolab_core::server::ephemeral_args(dir.join("items.db"), items);
    args.tls_cert = Some(dir.join("server.crt"));
    args.tls_key = Some(dir.join("server.key"));
    tune(&mut args);
    let state = ServerState::open(&SPEC, &args).await?;
    let listeners = Listeners::bind(&SPEC, &args).await?;
    let framed = protolab_core::server::bind(args.addr(0))?;
    let (plain, tls, admin) = listeners.addrs();
    let framed_addr = framed.local_addr()?;
    let task = tokio::spawn(run(state.clone(), listeners, framed, config));
    Ok(InProcess {
        plain,
        tls: tls.unwrap_or(plain),
        framed: framed_addr,
        admin,
        state,
        task,
    })
}
