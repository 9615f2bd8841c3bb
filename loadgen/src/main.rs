//! `loadgen`: the protolab load generator. This first cut carries the commands the
//! lab needs before the engine lands: `seed` (the dataset, same code as the servers)
//! and `certs` (the lab's CA, server and client certificates).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "loadgen", version, about = "protolab load generator")]
struct Opts {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write the dataset (SQLite `items`) deterministically
    Seed {
        /// Dataset file to write
        #[arg(long = "db", env = "DB_PATH", default_value = "protolab.db")]
        db: PathBuf,
        /// Rows to generate
        #[arg(long, env = "ITEMS", default_value_t = protolab_core::dataset::DEFAULT_ITEMS)]
        items: u32,
        /// Generator seed
        #[arg(long, env = "SEED", default_value_t = protolab_core::dataset::DEFAULT_SEED)]
        seed: u64,
        /// Rewrite the file even if it exists
        #[arg(long)]
        force: bool,
    },
    /// Generate ca.crt, server.crt/key and client.crt/key (TLS 1.3, mTLS)
    Certs {
        /// Output folder
        #[arg(long, default_value = "certs")]
        out: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    protolab_core::telemetry::init();
    match Opts::parse().command {
        Cmd::Seed {
            db,
            items,
            seed,
            force,
        } => {
            if db.exists() && !force {
                println!(
                    "{} exists; keeping it (use --force to rewrite)",
                    db.display()
                );
                return Ok(());
            }
            let rt = tokio::runtime::Runtime::new().context("starting runtime")?;
            let start = std::time::Instant::now();
            rt.block_on(protolab_core::dataset::seed_file(&db, items, seed))
                .with_context(|| format!("seeding {}", db.display()))?;
            println!(
                "seeded {} with {items} items (seed {seed}) in {:.2?}",
                db.display(),
                start.elapsed()
            );
        }
        Cmd::Certs { out } => {
            protolab_core::certs::write_to(&out)
                .with_context(|| format!("writing certificates to {}", out.display()))?;
            println!(
                "wrote ca.crt, server.crt, server.key, client.crt, client.key to {}",
                out.display()
            );
        }
    }
    Ok(())
}
