//! `--local`: the lab without Docker. Starts the server binaries (found beside the
//! `loadgen` binary) as child processes on loopback, with a dataset and certificates
//! in a scratch folder, waits until each answers /readyz, samples their CPU and RSS
//! from /proc while cases run, and always reaps them (on drop: after errors, and on
//! Ctrl-C, which the caller turns into an early return).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("server binary {0} not found (build it: cargo build --release --workspace)")]
    Missing(PathBuf),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} did not become ready within {1:?}")]
    NotReady(String, Duration),
    #[error("{0} exited before it was ready ({1}); its error is printed above")]
    Exited(String, std::process::ExitStatus),
    #[error("preparing the lab: {0}")]
    Prepare(String),
}

/// MAX_CONNECTIONS of every lab server: the hold kind's 10,000 connections, its
/// probe, and the other cases' connections still closing.
pub const LAB_MAX_CONNECTIONS: usize = 20_000;

/// One running server.
pub struct LocalServer {
    pub name: String,
    pub plain: u16,
    pub tls: u16,
    pub admin: u16,
    /// The binary server's framed-protocol port.
    pub framed: Option<u16>,
    /// The environment it was started with (its whole configuration).
    pub config: Vec<(&'static str, String)>,
    child: Child,
}

impl LocalServer {
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// The running local lab; dropping it kills and reaps every child.
pub struct LocalLab {
    pub servers: Vec<LocalServer>,
    pub certs: PathBuf,
    /// The dataset the servers open, and its rows.
    db: PathBuf,
    items: u32,
    /// Datasets written so far (each re-seed writes a new file).
    generation: u32,
    bin_dir: PathBuf,
    cpus: Option<Vec<usize>>,
    dir: tempfile::TempDir,
}

/// `N` distinct free ports: all held until each is chosen (a port released at once
/// can be handed out again by the next bind), then released for the child to bind.
/// Another process may still take one in between: a tiny window, acceptable for a
/// local run (tests in this repo bind port 0 in-process instead).
fn free_ports<const N: usize>() -> Result<[u16; N], LocalError> {
    let io = |source| LocalError::Io {
        what: "finding a free port".into(),
        source,
    };
    let mut held = Vec::with_capacity(N);
    let mut ports = [0; N];
    for port in &mut ports {
        let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(io)?;
        *port = l.local_addr().map_err(io)?.port();
        held.push(l);
    }
    Ok(ports)
}

/// Folder of the running executable, where cargo puts the server binaries too.
pub fn bin_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."))
}

impl LocalLab {
    /// Seeds a dataset of `items` rows, writes certificates, starts `names`, pinned
    /// to `cpus` (through `taskset`) when given.
    pub async fn start(
        names: &[String],
        bin_dir: &Path,
        items: u32,
        cpus: Option<&[usize]>,
    ) -> Result<LocalLab, LocalError> {
        let mut lab = LocalLab::prepare(bin_dir, items, cpus).await?;
        // One at a time: a server's ports are bound before the next one's are chosen.
        for name in names {
            lab.start_server(name).await?;
        }
        Ok(lab)
    }

    /// A lab with its dataset and certificates and no server running yet.
    pub async fn prepare(
        bin_dir: &Path,
        items: u32,
        cpus: Option<&[usize]>,
    ) -> Result<LocalLab, LocalError> {
        let dir = tempfile::tempdir().map_err(|source| LocalError::Io {
            what: "scratch folder".into(),
            source,
        })?;
        let db = dir.path().join("items.db");
        seed(&db, items).await?;
        let certs = dir.path().join("certs");
        protolab_core::certs::write_to(&certs).map_err(|e| LocalError::Prepare(e.to_string()))?;
        Ok(LocalLab {
            servers: Vec::new(),
            certs,
            db,
            items,
            generation: 0,
            bin_dir: bin_dir.to_path_buf(),
            cpus: cpus.map(<[usize]>::to_vec),
            dir,
        })
    }

    /// Starts server `name` as a child process (not waiting for it to be ready).
    fn spawn(&self, name: &str) -> Result<LocalServer, LocalError> {
        let bin = self.bin_dir.join(format!("protolab-{name}"));
        if !bin.exists() {
            return Err(LocalError::Missing(bin));
        }
        let (certs, db) = (&self.certs, &self.db);
        let [plain, tls, admin, framed_port] = free_ports()?;
        let mut cmd = match &self.cpus {
            Some(c) => {
                let list: Vec<String> = c.iter().map(usize::to_string).collect();
                let mut t = Command::new("taskset");
                t.arg("-c")
                    .arg(list.join(","))
                    .arg(&bin)
                    .env("WORKERS", c.len().to_string());
                t
            }
            None => Command::new(&bin),
        };
        let path = |p: &Path| p.display().to_string();
        let mut config: Vec<(&'static str, String)> = vec![
            ("BIND", "127.0.0.1".into()),
            ("PORT", plain.to_string()),
            ("TLS_PORT", tls.to_string()),
            ("ADMIN_PORT", admin.to_string()),
            ("DB_PATH", path(db)),
            ("TLS_CERT", path(&certs.join("server.crt"))),
            ("TLS_KEY", path(&certs.join("server.key"))),
            ("RUST_LOG", "warn".into()),
            // Room for the hold kind's 10,000 connections plus its probe.
            ("MAX_CONNECTIONS", LAB_MAX_CONNECTIONS.to_string()),
        ];
        if name == "grpc" {
            config.push(("TLS_CA", path(&certs.join("ca.crt"))));
        }
        let framed = if name == "binary" {
            let port = framed_port;
            // Benchmarks measure the protocol, not NET-001's per-client (1000
            // msg/s) and global (50,000 msg/s) rate limits: both off.
            config.push(("FRAMED_PORT", port.to_string()));
            config.push(("RATE_LIMIT", "0".into()));
            config.push(("GLOBAL_RATE_LIMIT", "0".into()));
            Some(port)
        } else {
            None
        };
        cmd.envs(config.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true);
        let child = cmd.spawn().map_err(|source| LocalError::Io {
            what: format!("starting {}", bin.display()),
            source,
        })?;
        Ok(LocalServer {
            name: name.to_string(),
            plain,
            tls,
            admin,
            framed,
            config,
            child,
        })
    }

    pub fn server(&self, name: &str) -> Option<&LocalServer> {
        self.servers.iter().find(|s| s.name == name)
    }

    /// Rows in the dataset the servers serve.
    pub fn items(&self) -> u32 {
        self.items
    }

    /// The dataset file the servers open.
    pub fn db(&self) -> &Path {
        &self.db
    }

    /// Starts server `name` (new ports) and waits until it is ready; a server already
    /// running is left alone.
    /// The CPUs a server may use: the ones it is pinned to, else every CPU.
    pub fn server_cpus(&self) -> f64 {
        match &self.cpus {
            Some(c) => c.len().max(1) as f64,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()) as f64,
        }
    }

    pub async fn start_server(&mut self, name: &str) -> Result<(), LocalError> {
        if self.server(name).is_some() {
            return Ok(());
        }
        let mut server = self.spawn(name)?;
        if let Err(e) = wait_ready(&mut server, Duration::from_secs(60)).await {
            let _ = server.child.start_kill();
            let _ = server.child.wait().await;
            return Err(e);
        }
        self.servers.push(server);
        Ok(())
    }

    /// Kills server `name` and reaps it; false when it was not running.
    pub async fn stop_server(&mut self, name: &str) -> bool {
        let Some(i) = self.servers.iter().position(|s| s.name == name) else {
            return false;
        };
        let mut s = self.servers.remove(i);
        let _ = s.child.start_kill();
        let _ = s.child.wait().await;
        true
    }

    /// Stops server `name` if it runs, then starts it again.
    pub async fn restart_server(&mut self, name: &str) -> Result<(), LocalError> {
        self.stop_server(name).await;
        self.start_server(name).await
    }

    /// Writes a new dataset of `items` rows and restarts every running server on it
    /// (they open the dataset once, read-only); the old file is removed.
    pub async fn reseed(&mut self, items: u32) -> Result<(), LocalError> {
        self.generation += 1;
        let db = self
            .dir
            .path()
            .join(format!("items-{}.db", self.generation));
        seed(&db, items).await?;
        let old = std::mem::replace(&mut self.db, db);
        self.items = items;
        let running: Vec<String> = self.servers.iter().map(|s| s.name.clone()).collect();
        let mut outcome = Ok(());
        for name in &running {
            if let Err(e) = self.restart_server(name).await {
                outcome = Err(e);
            }
        }
        let _ = std::fs::remove_file(old);
        outcome
    }

    /// Stops every server and waits for it.
    pub async fn stop(mut self) {
        for s in &mut self.servers {
            let _ = s.child.start_kill();
            let _ = s.child.wait().await;
        }
    }
}

async fn seed(db: &Path, items: u32) -> Result<(), LocalError> {
    protolab_core::dataset::seed_file(db, items, protolab_core::dataset::DEFAULT_SEED)
        .await
        .map_err(|e| LocalError::Prepare(e.to_string()))
}

/// Waits until `server` answers its readiness check; fails at once when it exits.
async fn wait_ready(server: &mut LocalServer, limit: Duration) -> Result<(), LocalError> {
    let (name, admin) = (server.name.as_str(), server.admin);
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(LocalError::Exited(name.into(), status));
        }
        let ok = tokio::task::spawn_blocking(move || {
            protolab_core::healthcheck::check(admin, Duration::from_millis(500)).is_ok()
        })
        .await
        .unwrap_or(false);
        if ok {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(LocalError::NotReady(name.into(), limit))
}

pub use protolab_bench::usage::ServerUsage;

/// (CPU seconds, RSS bytes) of a process, from /proc.
pub fn proc_usage(pid: u32) -> Option<(f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let cpu = (fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?) / 100.0;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((cpu, kb * 1024))
}

/// The CPU counters of any process on this host (`run --server-pid`), from /proc,
/// judged against `cpus` cores.
pub fn process_probe(pid: u32, cpus: f64) -> protolab_bench::usage::ServerProbe {
    let probe: protolab_bench::usage::Probe = std::sync::Arc::new(move || {
        Box::pin(async move {
            proc_usage(pid).map(
                |(cpu_seconds, memory_bytes)| protolab_bench::usage::Reading {
                    cpu_seconds,
                    memory_bytes,
                    ..Default::default()
                },
            )
        })
    });
    protolab_bench::usage::ServerProbe { probe, cpus }
}

/// How many CPUs a process may run on (`Cpus_allowed_list` in /proc/PID/status).
pub fn allowed_cpus(pid: u32) -> Option<usize> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?;
    crate::cli::parse_cpus(list).ok().map(|c| c.len())
}

fn taskset_works() -> bool {
    std::process::Command::new("taskset")
        .arg("-V")
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Decides CPU pinning before the runtime starts (afterwards the process only sees
/// its own CPUs). Returns the generator's CPUs: `--cpus`, or for `bench --local` on 2+
/// cores every CPU but the servers' (`--server-cpus`, default CPU 0), which it writes
/// back into the options. DESIGN.md: a generator thread on the server's core costs the
/// server ~15% and cross-CPU wake-ups add latency, so they are kept apart.
pub fn plan_cpus(opts: &mut crate::cli::Opts) -> Option<Vec<usize>> {
    let all: Vec<usize> = core_affinity::get_core_ids()?
        .into_iter()
        .map(|c| c.id)
        .collect();
    if let crate::cli::Command::Bench(b) = &mut opts.command {
        if b.local && all.len() >= 2 && b.server_cpus.is_none() {
            if taskset_works() {
                b.server_cpus = Some(crate::cli::CpuList(vec![all[0]]));
            } else {
                eprintln!("warning: taskset not found: servers and generator share every CPU");
            }
        }
        if opts.cpus.is_none() && b.local {
            if let Some(servers) = &b.server_cpus {
                let rest: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|c| !servers.contains(c))
                    .collect();
                return (!rest.is_empty()).then_some(rest);
            }
        }
    }
    opts.cpus.as_ref().map(|c| c.0.clone())
}
