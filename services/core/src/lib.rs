//! protolab-core: everything two or more protocol servers need, written once.
//!
//! The dataset and the operation contract make a number from one protocol mean the
//! same work as a number from another; config, TLS, admin endpoints, metrics,
//! shutdown, tracing and the HTTP accept loop keep every server's behaviour equal
//! outside its protocol. Servers add only their protocol mapping. Nothing here may
//! know about a particular protocol's wire format.

pub mod admin;
pub mod certs;
pub mod config;
pub mod contract;
pub mod dataset;
pub mod guard;
pub mod healthcheck;
pub mod http_error;
pub mod hub;
pub mod metrics;
pub mod process;
pub mod serve;
pub mod server;
pub mod shutdown;
pub mod telemetry;
pub mod tls;
pub mod websocket;

pub use config::{Ports, RuntimeKind, ServerArgs};
pub use contract::{ContractError, Op};
pub use dataset::{Dataset, Item};
pub use server::{ServerSpec, ServerState};
