//! `loadgen ctl ...`: the compose lab's containers, through the Docker Engine API.

use crate::cli::CtlCommand;
use crate::lab::controller::Controller;

/// `loadgen ctl ...`: the compose lab's containers.
pub async fn ctl(command: &CtlCommand, json: bool) -> anyhow::Result<()> {
    let c = Controller::connect().await?;
    let all_servers = || protolab_drivers::servers_of(protolab_drivers::ENDPOINTS);
    let named = |s: &[String]| {
        if s.is_empty() {
            all_servers()
        } else {
            s.to_vec()
        }
    };
    match command {
        CtlCommand::Ps => {
            let states = c.services().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&states)?);
            } else {
                println!(
                    "{:<12} {:<10} {:<10} container",
                    "service", "state", "health"
                );
                for s in &states {
                    let id = s.container_id.get(..12).unwrap_or(&s.container_id);
                    let health = s.health.as_deref().unwrap_or("-");
                    println!("{:<12} {:<10} {:<10} {id}", s.service, s.state, health);
                }
            }
        }
        CtlCommand::Restart {
            services,
            no_wait,
            timeout,
        } => {
            let services = named(services);
            for s in &services {
                c.restart(s).await?;
                eprintln!("restarted {s}");
            }
            if !no_wait {
                c.wait_healthy(&services, *timeout).await?;
                eprintln!("healthy: {}", services.join(", "));
            }
        }
        CtlCommand::WaitHealthy { services, timeout } => {
            let services = named(services);
            c.wait_healthy(&services, *timeout).await?;
            eprintln!("healthy: {}", services.join(", "));
        }
        CtlCommand::Stats { service, count } => {
            let stream = c.stats_stream(service).await?;
            let limit = count.map_or(usize::MAX, |n| n as usize);
            let mut stream = std::pin::pin!(futures::StreamExt::take(stream, limit));
            if !json {
                println!(
                    "{:>8} {:>10} {:>12} {:>12} {:>12}",
                    "CPU %", "CPU s", "memory", "net rx", "net tx"
                );
            }
            loop {
                let next = tokio::select! {
                    n = futures::StreamExt::next(&mut stream) => n,
                    _ = tokio::signal::ctrl_c() => None,
                };
                let Some(sample) = next else { break };
                let s = sample?;
                if json {
                    println!("{}", serde_json::to_string(&s)?);
                } else {
                    let pct = s
                        .cpu_percent
                        .map_or_else(|| "-".into(), |p| format!("{p:.1}"));
                    let mib = |b: u64| format!("{:.1} MiB", b as f64 / 1048576.0);
                    println!(
                        "{pct:>8} {:>10.2} {:>12} {:>12} {:>12}",
                        s.cpu_seconds,
                        mib(s.memory_bytes),
                        mib(s.rx_bytes),
                        mib(s.tx_bytes)
                    );
                }
            }
        }
    }
    Ok(())
}
