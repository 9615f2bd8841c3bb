//! Each subcommand, from parsed options to printed and written results: one file per
//! subcommand (`run`, `bench`, `ctl`, `check`, `report` with `compare` and
//! `summarize`); `seed` and `certs` are here.

mod bench;
mod check;
mod ctl;
mod report;
mod run;

use anyhow::Context;
use protolab_bench::CaseResult;

use crate::cli::{Command, Opts};
use crate::results::{self, Run};

/// Runs the parsed command line.
pub async fn execute(opts: Opts) -> anyhow::Result<()> {
    match opts.command {
        Command::Run(ref o) => run::run(o, opts.quiet, opts.json).await,
        Command::Bench(ref o) => bench::bench(o, opts.quiet, opts.json).await,
        Command::Summarize { ref files, numpy } => report::summarize(files, numpy),
        Command::Seed {
            ref db,
            items,
            seed,
            force,
        } => seed_file(db, items, seed, force).await,
        Command::Report { ref run } => report::rerender(run),
        Command::Compare(ref c) => report::compare(c, opts.json),
        Command::Ctl { ref command } => ctl::ctl(command, opts.json).await,
        Command::Check(ref c) => check::check(c),
        Command::Dashboard(ref d) => crate::dashboard::run(d).await.context("dashboard"),
        Command::Stack(ref s) => stack(s),
        Command::Worker(ref w) => crate::fleet::worker(w).await,
        Command::Certs { ref out } => {
            protolab_core::certs::write_to(out)
                .with_context(|| format!("writing certificates to {}", out.display()))?;
            println!(
                "wrote ca.crt, server.crt, server.key, client.crt, client.key to {}",
                out.display()
            );
            Ok(())
        }
    }
}

/// `loadgen stack`: the swarm stack file for a compose file, on standard output.
fn stack(o: &crate::cli::StackOpts) -> anyhow::Result<()> {
    use std::io::Read;
    let from_stdin = o.compose.as_os_str() == "-";
    let compose = if from_stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the compose file from standard input")?;
        text
    } else {
        std::fs::read_to_string(&o.compose)
            .with_context(|| format!("reading {}", o.compose.display()))?
    };
    let project_dir = match &o.project_dir {
        Some(dir) => dir.clone(),
        None if from_stdin => std::env::current_dir().context("the current folder")?,
        None => std::path::absolute(&o.compose)
            .context("the compose file's folder")?
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default(),
    };
    let opts = crate::lab::stack::StackOptions {
        replicas: o.replicas,
        workers: o.workers,
        project_dir,
        servers: o
            .servers
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect(),
    };
    let text = crate::lab::stack::stack_of(&compose, &opts)
        .with_context(|| format!("converting {}", o.compose.display()))?;
    print!("{text}");
    Ok(())
}

/// `loadgen seed`: the dataset file, unless it exists (or `force`).
async fn seed_file(db: &std::path::Path, items: u32, seed: u64, force: bool) -> anyhow::Result<()> {
    if db.exists() && !force {
        println!(
            "{} exists; keeping it (use --force to rewrite)",
            db.display()
        );
        return Ok(());
    }
    let start = std::time::Instant::now();
    protolab_core::dataset::seed_file(db, items, seed)
        .await
        .with_context(|| format!("seeding {}", db.display()))?;
    println!(
        "seeded {} with {items} items (seed {seed}) in {:.2?}",
        db.display(),
        start.elapsed()
    );
    Ok(())
}

/// Prints the run (table or JSON), writes it under `out`, and fails when a case is
/// broken (no numbers, wrong answers) or, with `strict`, merely INVALID.
fn finish(
    run: &Run,
    out: Option<&std::path::Path>,
    json: bool,
    strict: bool,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(run)?);
    } else {
        results::print_table(run);
        for w in &run.environment.warnings {
            eprintln!("warning: {w}");
        }
    }
    if let Some(root) = out {
        crate::report::save(root, run)?;
    }
    if let Some(why) = &run.incomplete {
        anyhow::bail!("the run is incomplete ({why}); what it measured is kept");
    }
    let names = |pick: &dyn Fn(&CaseResult) -> bool| -> Vec<&str> {
        let picked = run.cases.iter().filter(|c| pick(c));
        picked.map(|c| c.spec.name.as_str()).collect()
    };
    let broken = names(&|c| c.broken());
    let invalid = names(&|c| !c.valid && !c.broken());
    anyhow::ensure!(
        broken.is_empty(),
        "{} case(s) failed: {}",
        broken.len(),
        broken.join(", ")
    );
    if !invalid.is_empty() {
        let msg = format!(
            "{} case(s) INVALID (the generator cannot vouch for them): {}",
            invalid.len(),
            invalid.join(", ")
        );
        anyhow::ensure!(!strict, msg);
        eprintln!("warning: {msg}");
    }
    Ok(())
}
