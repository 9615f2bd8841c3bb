//! The endpoints a suite runs against: one server spoken to one way (REST over h1,
//! over h2c, over TLS h2, ...), and where each server is (compose service names, the
//! host's loopback, or the `--local` lab's ports). Names only; drivers are built in
//! `commands`.

use crate::driver::http::HttpVersion;

/// How an endpoint talks to its server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// HTTP-based protocol (REST): version, and whether over the TLS port.
    Http { version: HttpVersion, tls: bool },
    /// gRPC; over the TLS port with the lab's client certificate (mTLS).
    Grpc { tls: bool },
    /// GraphQL over HTTP (queries, mutations), subscriptions over WebSocket.
    Graphql { version: HttpVersion, tls: bool },
    /// Server-Sent Events over HTTP/1.1.
    Sse { tls: bool },
    /// The WebSocket JSON envelope at `/ws`.
    WebSocket { tls: bool },
    /// NET-001 on the binary server's plain or TLS port.
    Net001 { tls: bool },
    /// The 0x12345678 framed protocol on the binary server's framed port.
    Framed,
}

/// One way of reaching one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub name: &'static str,
    pub server: &'static str,
    pub transport: Transport,
}

/// Every endpoint with a driver, in table order.
pub const ALL: &[Endpoint] = &[
    Endpoint {
        name: "rest-h1",
        server: "rest",
        transport: Transport::Http {
            version: HttpVersion::H1,
            tls: false,
        },
    },
    Endpoint {
        name: "rest-h2c",
        server: "rest",
        transport: Transport::Http {
            version: HttpVersion::H2,
            tls: false,
        },
    },
    Endpoint {
        name: "rest-tls-h2",
        server: "rest",
        transport: Transport::Http {
            version: HttpVersion::H2,
            tls: true,
        },
    },
    Endpoint {
        name: "grpc",
        server: "grpc",
        transport: Transport::Grpc { tls: false },
    },
    Endpoint {
        name: "grpc-mtls",
        server: "grpc",
        transport: Transport::Grpc { tls: true },
    },
    Endpoint {
        name: "graphql",
        server: "graphql",
        transport: Transport::Graphql {
            version: HttpVersion::H1,
            tls: false,
        },
    },
    Endpoint {
        name: "graphql-tls-h2",
        server: "graphql",
        transport: Transport::Graphql {
            version: HttpVersion::H2,
            tls: true,
        },
    },
    Endpoint {
        name: "sse",
        server: "sse",
        transport: Transport::Sse { tls: false },
    },
    Endpoint {
        name: "websocket",
        server: "websocket",
        transport: Transport::WebSocket { tls: false },
    },
    Endpoint {
        name: "websocket-tls",
        server: "websocket",
        transport: Transport::WebSocket { tls: true },
    },
    Endpoint {
        name: "net001",
        server: "binary",
        transport: Transport::Net001 { tls: false },
    },
    Endpoint {
        name: "net001-tls",
        server: "binary",
        transport: Transport::Net001 { tls: true },
    },
    Endpoint {
        name: "framed",
        server: "binary",
        transport: Transport::Framed,
    },
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
}

/// The endpoints of `servers` (all when empty), optionally only `names`.
pub fn select(servers: &[String], names: Option<&[String]>) -> Vec<Endpoint> {
    ALL.iter()
        .filter(|e| servers.is_empty() || servers.iter().any(|s| s == e.server))
        .filter(|e| names.is_none_or(|n| n.iter().any(|x| x == e.name)))
        .copied()
        .collect()
}

/// Servers behind a set of endpoints, each once, in order.
pub fn servers_of(endpoints: &[Endpoint]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in endpoints {
        if !out.iter().any(|s| s == e.server) {
            out.push(e.server.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_has_default_ports_and_selection_filters() {
        assert!(ALL.iter().all(|e| default_ports(e.server).is_some()));
        assert_eq!(select(&[], None).len(), ALL.len());
        let grpc = select(&["grpc".into()], None);
        assert!(grpc.len() == 2 && grpc.iter().all(|e| e.server == "grpc"));
        let one = select(&[], Some(&["rest-h2c".into()]));
        assert_eq!(
            one.iter().map(|e| e.name).collect::<Vec<_>>(),
            vec!["rest-h2c"]
        );
        assert_eq!(
            servers_of(ALL),
            ["rest", "grpc", "graphql", "sse", "websocket", "binary"].map(String::from)
        );
    }
}
