//! `loadgen check`: does a finished run hold what CI needs to trust it? Every server
//! measured by at least one valid case, no broken case, and (when asked) every
//! measured case carrying the server's resource use from the expected source.

use std::path::{Path, PathBuf};

use anyhow::Context;
use protolab_drivers::{servers_of, ENDPOINTS};

use crate::cli::CheckOpts;
use crate::results::{self, Run};

/// `loadgen check`: fails with every problem listed when the run is not complete.
pub fn check(o: &CheckOpts) -> anyhow::Result<()> {
    let path = resolve(&o.run, &o.out).with_context(|| format!("finding {}", o.run.display()))?;
    let run = results::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut problems = problems(&run, &o.servers, o.require_usage.as_deref());
    if let Some(n) = o.require_replicas {
        problems.extend(replica_problems(&run, n));
    }
    if let Some(n) = o.require_workers {
        problems.extend(worker_problems(&run, n));
    }
    anyhow::ensure!(
        problems.is_empty(),
        "run {} is incomplete:\n  {}",
        run.run_id,
        problems.join("\n  ")
    );
    let measured = run.cases.iter().filter(|c| c.skipped.is_none()).count();
    println!(
        "run {} ({}): {measured} measured cases, every server covered{}",
        run.run_id,
        path.display(),
        o.require_usage
            .as_ref()
            .map(|s| format!(", {s} resource use on each"))
            .unwrap_or_default()
            + &o.require_replicas
                .map(|n| format!(", {n}+ replicas answering each"))
                .unwrap_or_default()
            + &o.require_workers
                .map(|n| format!(", {n} generator workers adding up on each"))
                .unwrap_or_default()
    );
    Ok(())
}

/// What is wrong with a run; empty when it passes.
pub fn problems(run: &Run, servers: &[String], require_usage: Option<&str>) -> Vec<String> {
    let wanted: Vec<String> = if servers.is_empty() {
        servers_of(ENDPOINTS)
    } else {
        servers.to_vec()
    };
    let server_of = |protocol: &str| {
        ENDPOINTS
            .iter()
            .find(|e| e.name == protocol)
            .map(|e| e.server())
    };
    let mut out = Vec::new();
    if run.cases.is_empty() {
        out.push("the run has no cases".to_string());
    }
    for s in &wanted {
        let valid = run.cases.iter().any(|c| {
            server_of(&c.spec.protocol) == Some(s.as_str())
                && c.valid
                && c.skipped.is_none()
                && !c.repetitions.is_empty()
        });
        if !valid {
            out.push(format!("{s}: no valid measured case"));
        }
    }
    for c in &run.cases {
        if c.broken() {
            out.push(format!(
                "{}: failed: {}",
                c.spec.name,
                c.problems.join("; ")
            ));
        }
        let measured = c.skipped.is_none() && !c.repetitions.is_empty();
        if let (Some(source), true) = (require_usage, measured) {
            match &c.server_usage {
                None => out.push(format!("{}: no server resource use recorded", c.spec.name)),
                Some(u) if u.source != source => out.push(format!(
                    "{}: server resource use from {:?}, not {source:?}",
                    c.spec.name, u.source
                )),
                Some(u) if u.samples.is_empty() => out.push(format!(
                    "{}: server resource use has no samples",
                    c.spec.name
                )),
                Some(_) => {}
            }
        }
    }
    out
}

/// Measured repetitions that did not run on `n` workers each making calls, or
/// whose calls are not the sum of the workers'.
pub fn worker_problems(run: &Run, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for c in run.cases.iter().filter(|c| c.skipped.is_none()) {
        for (i, r) in c.repetitions.iter().enumerate() {
            let lines: Vec<_> = c.workers.iter().filter(|w| w.repetition == i).collect();
            let at = format!("{} repetition {}", c.spec.name, i + 1);
            let working = lines.iter().filter(|w| w.requests > 0).count();
            if working < n {
                out.push(format!("{at}: {working} of {n} workers made calls"));
            }
            let sum: u64 = lines.iter().map(|w| w.requests).sum();
            if sum != r.summary.requests {
                out.push(format!(
                    "{at}: {} calls, the workers' add up to {sum}",
                    r.summary.requests
                ));
            }
        }
    }
    out
}

/// Measured repetitions with `n` or more connections (one connection reaches one
/// replica) that did not reach `n` replicas of their server, each answering some
/// calls.
pub fn replica_problems(run: &Run, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for c in run.cases.iter().filter(|c| c.skipped.is_none()) {
        let spread = c
            .repetitions
            .iter()
            .enumerate()
            .filter(|(_, r)| r.connections >= n);
        for (i, r) in spread {
            let shares = r.window.as_ref().map_or(&[][..], |w| &w.replicas[..]);
            let answering = shares.iter().filter(|s| s.calls > 0).count();
            if answering < n {
                let seen: Vec<String> = shares.iter().map(ToString::to_string).collect();
                out.push(format!(
                    "{} repetition {}: {answering} of {n} replicas answered ({})",
                    c.spec.name,
                    i + 1,
                    if seen.is_empty() {
                        "no per-replica counts".to_string()
                    } else {
                        seen.join(", ")
                    }
                ));
            }
        }
    }
    out
}

/// `latest` means the newest run under `out` (run ids sort by time); anything else
/// is a run directory or run.json as given.
pub fn resolve(run: &Path, out: &Path) -> std::io::Result<PathBuf> {
    if run != Path::new("latest") {
        return Ok(run.to_path_buf());
    }
    let mut runs: Vec<PathBuf> = std::fs::read_dir(out)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("run.json").is_file())
        .collect();
    runs.sort();
    runs.pop().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no run with a run.json under {}", out.display()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use protolab_bench::usage::ServerUsage;
    use protolab_bench::CaseResult;

    fn case(protocol: &str, valid: bool, usage: Option<&str>) -> CaseResult {
        let json = include_str!("../../tests/fixtures/case.json");
        let mut c: CaseResult = serde_json::from_str(json).expect("fixture case parses");
        c.spec.protocol = protocol.into();
        c.spec.name = format!("{protocol}/throughput/ping");
        c.valid = valid;
        c.server_usage = usage.map(|s| ServerUsage {
            source: s.into(),
            samples: vec![(1.0, 0.5, 10)],
            ..Default::default()
        });
        c
    }

    fn run(cases: Vec<CaseResult>) -> Run {
        let mut r = Run::new(cases, 0.0);
        r.command.clear();
        r
    }

    #[test]
    fn every_server_needs_a_valid_case() {
        let r = run(vec![case("rest-h1", true, None), case("grpc", false, None)]);
        let p = problems(&r, &["rest".into(), "grpc".into()], None);
        assert_eq!(p, vec!["grpc: no valid measured case".to_string()]);
        assert!(problems(&r, &["rest".into()], None).is_empty());
    }

    #[test]
    fn usage_must_come_from_the_asked_source() {
        let r = run(vec![
            case("rest-h1", true, Some("admin")),
            case("rest-h2c", true, Some("proc")),
            case("net001", true, None),
        ]);
        let p = problems(&r, &["rest".into(), "binary".into()], Some("admin"));
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].contains("rest-h2c") && p[0].contains("\"proc\""),
            "{p:?}"
        );
        assert!(p[1].contains("no server resource use"), "{p:?}");
    }

    #[test]
    fn every_case_must_run_on_every_worker_and_add_up() {
        use protolab_bench::fleet::{Segment, WorkerLine};
        let line = |name: &str, index, requests| WorkerLine {
            name: name.into(),
            segment: Segment { index, count: 2 },
            repetition: 0,
            status: protolab_bench::Status::Valid,
            requests,
            errors: 0,
            rps: 0.0,
            p99_us: 0,
            connections: 1,
            client_cpu_fraction: None,
            send_lag_p99_us: None,
            start_late_ms: 0.0,
            clock_offset_ms: 0.0,
            clock_rtt_ms: 0.0,
            problems: Vec::new(),
        };
        let mut good = case("rest-h1", true, None);
        let calls = good.repetitions[0].summary.requests;
        good.workers = vec![line("w1", 0, calls - 1), line("w2", 1, 1)];
        let mut idle = case("framed", true, None);
        idle.workers = vec![line("w1", 0, calls), line("w2", 1, 0)];
        let mut short = case("net001", true, None);
        short.workers = vec![line("w1", 0, 1), line("w2", 1, 1)];
        let r = run(vec![good, idle, short]);
        let p = worker_problems(&r, 2);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].starts_with("framed") && p[0].contains("1 of 2 workers"),
            "{p:?}"
        );
        assert!(
            p[1].starts_with("net001") && p[1].contains("add up to 2"),
            "{p:?}"
        );
    }

    #[test]
    fn cases_with_enough_connections_must_reach_every_replica() {
        use protolab_bench::selfcheck::{ReplicaShare, WindowUsage};
        let share = |replica: &str, calls| ReplicaShare {
            replica: replica.into(),
            calls,
        };
        let mut both = case("rest-h1", true, None);
        let mut one = case("framed", true, None);
        let mut single = case("net001", true, None);
        let mut unread = case("rest-h2c", true, None);
        for (c, shares) in [
            (&mut both, vec![share("rest.1", 500), share("rest.2", 480)]),
            (&mut one, vec![share("binary.1", 900), share("binary.2", 0)]),
            (&mut single, vec![share("binary.1", 10)]),
        ] {
            c.repetitions[0].window = Some(WindowUsage {
                wall_s: 2.0,
                client_cpu_s: 1.0,
                client_cpus: 1,
                client_cpu_fraction: 0.5,
                busiest_thread_fraction: 0.5,
                server_cpu_s: Some(1.0),
                server_cpus: Some(2.0),
                server_cpu_fraction: Some(0.25),
                server_net_bytes: None,
                replicas: shares,
            });
        }
        single.repetitions[0].connections = 1;
        unread.repetitions[0].window = None;
        let p = replica_problems(&run(vec![both, one, single, unread]), 2);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].starts_with("framed") && p[0].contains("1 of 2"),
            "{p:?}"
        );
        assert!(p[1].contains("no per-replica counts"), "{p:?}");
    }

    #[test]
    fn latest_is_the_newest_run_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        for id in ["20261201-100000", "20261201-120000", "20261130-235959"] {
            std::fs::create_dir_all(dir.path().join(id)).expect("mkdir");
            std::fs::write(dir.path().join(id).join("run.json"), "{}").expect("write");
        }
        std::fs::create_dir_all(dir.path().join("20271231-000000")).expect("no run.json");
        let got = resolve(Path::new("latest"), dir.path()).expect("latest");
        assert_eq!(got, dir.path().join("20261201-120000"));
        assert!(resolve(Path::new("latest"), &dir.path().join("none")).is_err());
    }
}
