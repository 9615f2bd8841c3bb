//! `loadgen`: parse the command line, start the runtime, run the command.
//!
//! The runtime follows wrk's model: one event loop per generator thread. With one
//! thread (`--threads 1`, or one CPU in `--cpus`) that is a current-thread runtime
//! on the main thread, so a call's tasks (the worker, the protocol's connection
//! task, the aggregator) wake each other without crossing threads or taking a
//! scheduler lock; with more, a multi-thread runtime of that many workers. Every
//! thread is pinned to the generator's CPUs when they are given.

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
    let cpus = loadgen::lab::local::plan_cpus(&mut opts);
    let threads = opts.threads.or(cpus.as_ref().map(Vec::len));
    // Before any thread is pinned: the CPUs the generator's CPU use is judged
    // against (no more than it has threads to use them with).
    let usable = match (cpus.as_ref().map(Vec::len), threads) {
        (Some(c), Some(t)) => Some(c.min(t)),
        (None, Some(t)) => Some(t.min(allowed_cpus())),
        (c, None) => c,
    };
    protolab_bench::selfcheck::init_cpus(usable);
    let rt = runtime(cpus, threads)?;
    rt.block_on(loadgen::commands::execute(opts))
}

/// One event loop per generator thread, each pinned to the next of `cpus`.
fn runtime(
    cpus: Option<Vec<usize>>,
    threads: Option<usize>,
) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = if threads == Some(1) {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all();
    if let Some(n) = threads.filter(|n| *n > 1) {
        builder.worker_threads(n);
    }
    if let Some(cpus) = cpus.filter(|c| !c.is_empty()) {
        let pin = |id: usize| core_affinity::set_for_current(core_affinity::CoreId { id });
        pin(cpus[0]);
        let next = Arc::new(AtomicUsize::new(0));
        builder.on_thread_start(move || {
            let i = next.fetch_add(1, Ordering::Relaxed);
            pin(cpus[i % cpus.len()]);
        });
    }
    builder.build()
}

/// The CPUs this process may run on now (affinity and cgroup quota aware).
fn allowed_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
