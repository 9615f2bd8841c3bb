//! `protolab-binary`: parse flags, then serve NET-001 and the framed protocol until
//! SIGTERM.

use std::process::ExitCode;

use anyhow::Context;
use protolab_binary::{BinaryArgs, BinaryConfig, SPEC};
use protolab_core::server::{healthcheck, Cli, Command, Listeners};
use protolab_core::ServerState;

fn main() -> ExitCode {
    let cli = Cli::<BinaryArgs>::parse_for(&SPEC);
    if let Some(Command::Healthcheck) = cli.command {
        return healthcheck(&SPEC, &cli.server);
    }
    protolab_core::telemetry::init();
    match serve(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "server failed");
            eprintln!("protolab-binary: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(cli: Cli<BinaryArgs>) -> anyhow::Result<()> {
    let config = BinaryConfig::from_args(&cli.extra)?;
    let rt = cli.server.build_runtime().context("building the runtime")?;
    rt.block_on(async {
        let state = ServerState::open(&SPEC, &cli.server).await?;
        let listeners = Listeners::bind(&SPEC, &cli.server).await?;
        let framed_addr = cli.server.addr(cli.extra.framed_port);
        let framed = protolab_core::server::bind(framed_addr)?;
        let (plain, tls, admin) = listeners.addrs();
        tracing::info!(server = SPEC.name, %plain, ?tls, framed = %framed_addr, %admin, "listening");
        tokio::spawn(protolab_core::shutdown::cancel_on_signal(
            state.shutdown.clone(),
        ));
        protolab_binary::run(state, listeners, framed, config).await;
        Ok(())
    })
}
