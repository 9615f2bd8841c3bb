//! protolab's load generator as a library: drivers (one per protocol), the
//! protocol-agnostic engine, statistics, cases and results. The `loadgen` binary is
//! a thin CLI over it; tests drive it against real servers on loopback.

pub mod bulk;
pub mod check;
pub mod cli;
pub mod commands;
pub mod controller;
pub mod dashboard;
pub mod driver;
pub mod endpoints;
pub mod engine;
pub mod env;
pub mod hold;
pub mod local;
pub mod output;
pub mod pipeline;
pub mod push;
pub mod report;
pub mod results;
pub mod scenario;
pub mod selfcheck;
pub mod stats;
pub mod suite;
pub mod transfer;
pub mod usage;
pub mod web;
