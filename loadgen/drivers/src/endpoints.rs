//! The protocols loadgen drives, the servers that speak them, and the endpoints a
//! suite runs against (one server spoken to one way: REST over h1, over h2c, over
//! TLS h2, ...), in one table; and [`with_driver`], the one place a protocol becomes
//! a driver.
//!
//! Adding a protocol: its driver file, a [`Protocol`] variant (name, server),
//! its endpoint rows in [`ALL`], and one arm in [`with_driver`].

use std::future::Future;

use protolab_bench::{CallError, Driver, OpSpec};

use crate::transport::http::{HttpTarget, HttpVersion, TlsOptions};
use crate::WebSocketDriver;
use crate::{FramedDriver, GraphqlDriver, GrpcDriver, Net001Driver, RestDriver, SseDriver};

/// A protocol with a driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Rest,
    Grpc,
    Graphql,
    Sse,
    WebSocket,
    /// NET-001 (reference/004)
    Net001,
    /// The 0x12345678 framed protocol (reference/003)
    Framed,
}

impl Protocol {
    /// Every protocol, in table order.
    pub const ALL: [Protocol; 7] = [
        Protocol::Rest,
        Protocol::Grpc,
        Protocol::Graphql,
        Protocol::Sse,
        Protocol::WebSocket,
        Protocol::Net001,
        Protocol::Framed,
    ];

    /// The name `loadgen run` takes.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Rest => "rest",
            Protocol::Grpc => "grpc",
            Protocol::Graphql => "graphql",
            Protocol::Sse => "sse",
            Protocol::WebSocket => "websocket",
            Protocol::Net001 => "net001",
            Protocol::Framed => "framed",
        }
    }

    /// The server (compose service, server binary `protolab-<server>`) that speaks it.
    pub fn server(self) -> &'static str {
        match self {
            Protocol::Net001 | Protocol::Framed => "binary",
            other => other.name(),
        }
    }

    /// The protocol called `name`.
    pub fn from_name(name: &str) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// What a driver is built from, whatever its protocol.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// `http(s)://host:port` (HTTP-based protocols), `host:port` or
    /// `https://host:port` (gRPC, NET-001), `host:port` (framed).
    pub target: String,
    /// HTTP version to speak (REST, GraphQL, SSE); over TLS the preference offered.
    pub http: HttpVersion,
    pub tls: TlsOptions,
    /// NET-001: AUTH as `user:token` on every connection.
    pub auth: Option<String>,
    /// The dataset's seed (answers are verified against it).
    pub seed: u64,
}

/// Something to do with a driver of any protocol (run a case, say).
pub trait UseDriver {
    type Output: Send;

    fn run<D: Driver>(self, driver: D) -> impl Future<Output = Self::Output> + Send;
}

/// Builds `protocol`'s driver for `op` from `config` and hands it to `user`.
pub async fn with_driver<U: UseDriver>(
    protocol: Protocol,
    config: &DriverConfig,
    op: &OpSpec,
    user: U,
) -> Result<U::Output, CallError> {
    let (target, tls, seed) = (config.target.as_str(), &config.tls, config.seed);
    let http = || HttpTarget::new(target, config.http, tls);
    Ok(match protocol {
        Protocol::Rest => user.run(RestDriver::new(http().await?, seed, op)).await,
        Protocol::Grpc => {
            user.run(GrpcDriver::new(target, Some(tls), seed, op).await?)
                .await
        }
        Protocol::Graphql => {
            let d = GraphqlDriver::new(target, config.http, tls, seed, op).await?;
            user.run(d).await
        }
        Protocol::Sse => user.run(SseDriver::new(http().await?, seed)).await,
        Protocol::WebSocket => {
            user.run(WebSocketDriver::new(target, tls, seed, op).await?)
                .await
        }
        Protocol::Net001 => {
            let auth = config.auth.as_deref();
            user.run(Net001Driver::new(target, tls, auth, seed, op).await?)
                .await
        }
        Protocol::Framed => user.run(FramedDriver::new(target, seed, op).await?).await,
    })
}

/// One way of reaching one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub name: &'static str,
    pub protocol: Protocol,
    /// HTTP version (HTTP-based protocols; others ignore it).
    pub http: HttpVersion,
    /// Over the server's TLS port (with the lab's client certificate: mTLS for gRPC).
    pub tls: bool,
    /// Its colour in every chart (Tableau 10; families in related hues).
    pub colour: (u8, u8, u8),
}

impl Endpoint {
    /// The server behind it.
    pub fn server(&self) -> &'static str {
        self.protocol.server()
    }

    /// Its target on `addr`, as its driver takes it.
    pub fn target(&self, addr: &ServerAddr) -> String {
        let host = &addr.host;
        match (self.protocol, self.tls) {
            (_, true) => format!("https://{host}:{}", addr.tls),
            (Protocol::Grpc | Protocol::Net001, false) => format!("{host}:{}", addr.plain),
            (Protocol::Framed, false) => {
                format!("{host}:{}", addr.framed.unwrap_or(DEFAULT_FRAMED_PORT))
            }
            (_, false) => format!("http://{host}:{}", addr.plain),
        }
    }
}

const fn endpoint(
    name: &'static str,
    protocol: Protocol,
    http: HttpVersion,
    tls: bool,
    colour: (u8, u8, u8),
) -> Endpoint {
    Endpoint {
        name,
        protocol,
        http,
        tls,
        colour,
    }
}

use HttpVersion::{H1, H2};
use Protocol::{Framed, Graphql, Grpc, Net001, Rest, Sse, WebSocket};

/// Every endpoint with a driver, in table order.
pub const ALL: &[Endpoint] = &[
    endpoint("rest-h1", Rest, H1, false, (31, 119, 180)),
    endpoint("rest-h2c", Rest, H2, false, (23, 190, 207)),
    endpoint("rest-tls-h2", Rest, H2, true, (148, 103, 189)),
    endpoint("grpc", Grpc, H2, false, (44, 160, 44)),
    endpoint("grpc-mtls", Grpc, H2, true, (188, 189, 34)),
    endpoint("graphql", Graphql, H1, false, (227, 119, 194)),
    endpoint("graphql-tls-h2", Graphql, H2, true, (247, 182, 210)),
    endpoint("sse", Sse, H1, false, (255, 127, 14)),
    endpoint("websocket", WebSocket, H1, false, (214, 39, 40)),
    endpoint("websocket-tls", WebSocket, H1, true, (255, 152, 150)),
    endpoint("net001", Net001, H1, false, (140, 86, 75)),
    endpoint("net001-tls", Net001, H1, true, (196, 156, 148)),
    endpoint("framed", Framed, H1, false, (127, 127, 127)),
];

/// The binary server's framed-protocol port (DESIGN.md).
pub const DEFAULT_FRAMED_PORT: u16 = 5100;

/// Default ports per server (DESIGN.md): (plain, tls, admin).
pub fn default_ports(server: &str) -> Option<(u16, u16, u16)> {
    Some(match server {
        "rest" => (8000, 8440, 9000),
        "graphql" => (8001, 8441, 9001),
        "sse" => (8002, 8442, 9002),
        "websocket" => (8003, 8443, 9003),
        "grpc" => (50051, 50052, 9004),
        "binary" => (5000, 5443, 6000),
        _ => return None,
    })
}

/// Where a server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddr {
    pub host: String,
    pub plain: u16,
    pub tls: u16,
    pub admin: u16,
    /// The binary server's framed-protocol port (none for other servers).
    pub framed: Option<u16>,
}

impl ServerAddr {
    /// The server at its default ports on `host`.
    pub fn default_on(server: &str, host: &str) -> Option<ServerAddr> {
        let (plain, tls, admin) = default_ports(server)?;
        Some(ServerAddr {
            host: host.to_string(),
            plain,
            tls,
            admin,
            framed: (server == "binary").then_some(DEFAULT_FRAMED_PORT),
        })
    }

    /// The server at its default ports in a lab on `host`, where `compose` means each
    /// server at its own service name (inside the compose network).
    pub fn in_lab(server: &str, host: &str) -> Option<ServerAddr> {
        ServerAddr::default_on(server, if host == "compose" { server } else { host })
    }

    /// Its admin endpoint, `host:port`.
    pub fn admin(&self) -> String {
        format!("{}:{}", self.host, self.admin)
    }
}

/// The endpoints of `servers` (all when empty), optionally only `names`.
pub fn select(servers: &[String], names: Option<&[String]>) -> Vec<Endpoint> {
    ALL.iter()
        .filter(|e| servers.is_empty() || servers.iter().any(|s| s == e.server()))
        .filter(|e| names.is_none_or(|n| n.iter().any(|x| x == e.name)))
        .copied()
        .collect()
}

/// Servers behind a set of endpoints, each once, in order.
pub fn servers_of(endpoints: &[Endpoint]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in endpoints {
        if !out.iter().any(|s| s == e.server()) {
            out.push(e.server().to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_has_default_ports_and_selection_filters() {
        assert!(ALL.iter().all(|e| default_ports(e.server()).is_some()));
        assert_eq!(select(&[], None).len(), ALL.len());
        let grpc = select(&["grpc".into()], None);
        assert!(grpc.len() == 2 && grpc.iter().all(|e| e.server() == "grpc"));
        let one = select(&[], Some(&["rest-h2c".into()]));
        assert_eq!(
            one.iter().map(|e| e.name).collect::<Vec<_>>(),
            vec!["rest-h2c"]
        );
        assert_eq!(
            servers_of(ALL),
            ["rest", "grpc", "graphql", "sse", "websocket", "binary"].map(String::from)
        );
        for p in Protocol::ALL {
            assert_eq!(Protocol::from_name(p.name()), Some(p));
            assert!(ALL.iter().any(|e| e.protocol == p), "{p:?} has no endpoint");
        }
    }

    #[test]
    fn names_and_colours_are_unique() {
        for (i, a) in ALL.iter().enumerate() {
            for b in &ALL[i + 1..] {
                assert_ne!(a.name, b.name);
                assert_ne!(a.colour, b.colour, "{} and {}", a.name, b.name);
            }
        }
    }
}
