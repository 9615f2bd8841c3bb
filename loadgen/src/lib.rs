//! The `loadgen` binary's library: the command line, suites, the commands (one file
//! per subcommand), the lab (local processes, the Docker controller), the suite
//! runner, results files, reports and the dashboard. Measuring is
//! `protolab_bench`; speaking protocols is `protolab_drivers`.

mod cases;
pub mod cli;
pub mod commands;
pub mod dashboard;
pub mod fleet;
pub mod lab;
mod progress;
pub mod report;
pub use protolab_bench::results;
mod runner;
mod suite;
