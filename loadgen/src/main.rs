//! `loadgen`: parse the command line, start the runtime, run the command.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    protolab_core::telemetry::init();
    let opts = loadgen::cli::Opts::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(loadgen::commands::execute(opts))
}
