//! protolab-core: everything two or more protocol servers need, written once.
//!
//! The dataset and the operation contract make a number from one protocol mean the
//! same work as a number from another; config, TLS, admin endpoints, metrics,
//! shutdown, tracing and the HTTP accept loop keep every server's behaviour equal
//! outside its protocol. Servers add only their protocol mapping. Nothing here may
//! know about a particular protocol's wire format.

#[cfg(feature = "server")]
pub mod admin;
#[cfg(feature = "server")]
pub mod certs;
#[cfg(feature = "server")]
pub mod config;
pub mod contract;
#[cfg(feature = "server")]
pub mod dataset;
#[cfg(feature = "server")]
pub mod guard;
#[cfg(feature = "server")]
pub mod healthcheck;
#[cfg(feature = "server")]
pub mod http_error;
#[cfg(feature = "server")]
pub mod hub;
#[cfg(feature = "server")]
pub mod metrics;
pub mod process;
#[cfg(feature = "server")]
pub mod serve;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod shutdown;
#[cfg(feature = "server")]
pub mod telemetry;
#[cfg(feature = "server")]
pub mod tls;
#[cfg(feature = "server")]
pub mod websocket;

#[cfg(feature = "server")]
pub use config::{Ports, RuntimeKind, ServerArgs};
pub use contract::{ContractError, Op};
#[cfg(feature = "server")]
pub use dataset::{Dataset, Item};
#[cfg(feature = "server")]
pub use server::{ServerSpec, ServerState};
