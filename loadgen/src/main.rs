//! `loadgen`: parse the command line, start the runtime (one worker thread per CPU
//! the generator owns, each pinned), run the command.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use clap::Parser;
use loadgen::cli::Opts;

fn main() -> anyhow::Result<()> {
    protolab_core::telemetry::init();
    let mut opts = Opts::parse();
    // Before any socket, and before --local starts servers (they inherit it): the
    // hold kind's thousands of connections need file descriptors.
    let _ = protolab_bench::raise_nofile_limit();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    let cpus = loadgen::lab::local::plan_cpus(&mut opts);
    // Before any thread is pinned: the CPUs the generator's CPU use is judged against.
    protolab_bench::selfcheck::init_cpus(cpus.as_ref().map(Vec::len));
    if let Some(cpus) = cpus {
        let pin = |id: usize| core_affinity::set_for_current(core_affinity::CoreId { id });
        pin(cpus[0]);
        let next = Arc::new(AtomicUsize::new(0));
        let cpus_for_threads = cpus.clone();
        builder.worker_threads(cpus.len()).on_thread_start(move || {
            let i = next.fetch_add(1, Ordering::Relaxed);
            pin(cpus_for_threads[i % cpus_for_threads.len()]);
        });
    }
    let rt = builder.build()?;
    rt.block_on(loadgen::commands::execute(opts))
}
