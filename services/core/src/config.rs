//! Server configuration shared by every protocol server: one set of flags, each
//! also read from the environment (DESIGN.md's names), with defaults named here once.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::contract::DEFAULT_MAX_BODY;
use crate::dataset::{DEFAULT_ITEMS, DEFAULT_SEED};
use crate::serve::{DEFAULT_MAX_HEADER_BYTES, MIN_MAX_HEADER_BYTES};

/// Tokio runtime flavour: the Rust counterpart of reference/001's threaded vs forking
/// server modes. `current` runs everything on one thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeKind {
    Multi,
    Current,
}

/// A server's three ports; 0 means "any free port" (tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    pub plain: u16,
    pub tls: u16,
    pub admin: u16,
}

/// Flags every server takes (flatten into the server's own `Parser`).
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Plain-text port [default: the server's port in DESIGN.md]
    #[arg(long, env = "PORT")]
    pub port: Option<u16>,
    /// TLS 1.3 port (served only when --tls-cert and --tls-key are given)
    #[arg(long, env = "TLS_PORT")]
    pub tls_port: Option<u16>,
    /// Admin port: /healthz, /readyz, /metrics
    #[arg(long, env = "ADMIN_PORT")]
    pub admin_port: Option<u16>,
    /// Address to bind every listener to
    #[arg(long, env = "BIND", default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
    pub bind: IpAddr,
    /// SQLite dataset; seeded first when the file does not exist
    #[arg(long = "db", env = "DB_PATH", default_value = "protolab.db")]
    pub db: PathBuf,
    /// Rows to seed when the dataset does not exist
    #[arg(long, env = "ITEMS", default_value_t = DEFAULT_ITEMS)]
    pub items: u32,
    /// Generator seed for the dataset
    #[arg(long, env = "SEED", default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Server certificate chain (PEM)
    #[arg(long, env = "TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Server private key (PEM: PKCS#8, PKCS#1 or SEC1)
    #[arg(long, env = "TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// CA (PEM) that client certificates must chain to; enables client verification
    #[arg(long, env = "TLS_CA")]
    pub tls_ca: Option<PathBuf>,
    /// Artificial service time of `score`, in milliseconds (reference/002)
    #[arg(long, env = "DELAY_MS", default_value_t = 0)]
    pub delay_ms: u64,
    /// Tokio runtime: multi-threaded or current-thread
    #[arg(long, env = "RUNTIME", value_enum, default_value_t = RuntimeKind::Multi)]
    pub runtime: RuntimeKind,
    /// Worker threads of the multi-threaded runtime [default: one per CPU]
    #[arg(long, env = "WORKERS")]
    pub workers: Option<usize>,
    /// Connections served at once; further ones wait in the accept backlog
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,
    /// Largest request body (echo, score, GraphQL document), in bytes
    #[arg(long, env = "MAX_BODY", default_value_t = DEFAULT_MAX_BODY)]
    pub max_body: usize,
    /// Largest HTTP request header block, in bytes (at least 8192); larger ones get
    /// 431 (HTTP/1.1 closes the connection, HTTP/2 resets the stream)
    #[arg(long, env = "MAX_HEADER_BYTES", default_value_t = DEFAULT_MAX_HEADER_BYTES,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(MIN_MAX_HEADER_BYTES as u64..))]
    pub max_header_bytes: usize,
    /// Per-request timeout for unary operations, in seconds
    #[arg(long, env = "REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// How long SIGTERM waits for in-flight work before exiting, in seconds
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
}

impl ServerArgs {
    /// The ports to bind: flags where given, else the server's defaults.
    pub fn ports(&self, defaults: Ports) -> Ports {
        Ports {
            plain: self.port.unwrap_or(defaults.plain),
            tls: self.tls_port.unwrap_or(defaults.tls),
            admin: self.admin_port.unwrap_or(defaults.admin),
        }
    }

    pub fn addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.bind, port)
    }

    pub fn delay(&self) -> Duration {
        Duration::from_millis(self.delay_ms)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    /// Builds the Tokio runtime this configuration asks for.
    pub fn build_runtime(&self) -> std::io::Result<tokio::runtime::Runtime> {
        let mut builder = match self.runtime {
            RuntimeKind::Multi => {
                let mut b = tokio::runtime::Builder::new_multi_thread();
                if let Some(n) = self.workers {
                    b.worker_threads(n.max(1));
                }
                b
            }
            RuntimeKind::Current => tokio::runtime::Builder::new_current_thread(),
        };
        builder.enable_all().build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ServerArgs,
    }

    #[test]
    fn flags_override_defaults() {
        let cli = Cli::parse_from(["x", "--port", "0", "--runtime", "current"]);
        let p = cli.args.ports(Ports {
            plain: 8000,
            tls: 8440,
            admin: 9000,
        });
        assert_eq!(
            p,
            Ports {
                plain: 0,
                tls: 8440,
                admin: 9000
            }
        );
        assert_eq!(cli.args.runtime, RuntimeKind::Current);
        assert!(Cli::try_parse_from(["x", "--tls-cert", "a.pem"]).is_err());
        assert_eq!(cli.args.max_header_bytes, DEFAULT_MAX_HEADER_BYTES);
    }

    #[test]
    fn header_cap_has_a_floor() {
        let cli = Cli::parse_from(["x", "--max-header-bytes", "32768"]);
        assert_eq!(cli.args.max_header_bytes, 32 * 1024);
        assert!(Cli::try_parse_from(["x", "--max-header-bytes", "4096"]).is_err());
    }
}
