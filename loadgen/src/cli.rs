//! The command line (clap derive; every flag also reads an env var where a CI job
//! would set it). Parsing only: turning options into cases happens in `commands`.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::PossibleValuesParser;
use clap::builder::TypedValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};
use protolab_bench::KindName;
use protolab_drivers::{HttpVersion, Protocol};

#[derive(Debug, Parser)]
#[command(
    name = "loadgen",
    version,
    about = "protolab load generator: wrk2/ghz-style runs against every protocol server"
)]
pub struct Opts {
    /// No progress bars
    #[arg(long, global = true, env = "LOADGEN_QUIET")]
    pub quiet: bool,
    /// Print the run as JSON on stdout instead of a table
    #[arg(long, global = true)]
    pub json: bool,
    /// CPUs for the generator's threads, e.g. 1 or 1-3 [default: all it may use;
    /// with `bench --local` on 2+ cores: all but --server-cpus]
    #[arg(long, global = true, env = "LOADGEN_CPUS", value_parser = parse_cpus)]
    pub cpus: Option<CpuList>,
    /// Generator threads, each one event loop (like wrk -t, h2load -t) [default: one
    /// per CPU in --cpus, else one per CPU it may use]; 1 runs everything on one
    /// current-thread runtime
    #[arg(long, global = true, env = "LOADGEN_THREADS",
          value_parser = clap::value_parser!(u16).range(1..=1024).map(usize::from))]
    pub threads: Option<usize>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
// Parsed once per process: the size of the biggest variant does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Ad-hoc run against one server, like wrk2, h2load or ghz
    Run(RunOpts),
    /// Run a suite against every endpoint (compose lab, or --local child processes)
    Bench(BenchOpts),
    /// Summarize reference/002-style JSONL results (#TEST= sections)
    Summarize {
        /// results.jsonl files
        files: Vec<PathBuf>,
        /// Percentiles by numpy's linear interpolation, as reference/002's script
        /// prints them [default: HdrHistogram, as run.json takes them]
        #[arg(long)]
        numpy: bool,
    },
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
    /// Re-render a past run's report.md, report.html and charts from its run.json
    Report {
        /// Run directory (results/<run-id>) or its run.json
        run: PathBuf,
    },
    /// Regression gate: compare two runs case by case; exit 1 on a regression
    /// beyond --max-regression that is outside both runs' confidence intervals
    Compare(CompareOpts),
    /// Control the compose lab's containers (Docker Engine API, found by compose labels)
    Ctl {
        #[command(subcommand)]
        command: CtlCommand,
    },
    /// Check a finished run for CI: every protocol measured, no broken case, and
    /// (with --require-usage) the servers' resource use recorded for each case
    Check(CheckOpts),
    /// Web dashboard: server control, runs with live numbers, past results
    Dashboard(DashboardOpts),
    /// Print compose.yaml as a Docker Swarm stack file (what `make swarm-up` deploys)
    Stack(StackOpts),
    /// A generator worker of a distributed bench (`bench --workers N`): serves one
    /// coordinator at a time, running its share of each case
    Worker(WorkerOpts),
}

#[derive(Debug, Args)]
pub struct StackOpts {
    /// The compose file the stack is derived from (`-`: standard input)
    #[arg(long, default_value = "compose.yaml")]
    pub compose: PathBuf,
    /// Replicas of every server
    #[arg(long, env = "SERVER_REPLICAS", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub replicas: u32,
    /// The folder the compose file's relative paths are relative to [default: the
    /// compose file's folder; the current folder for `-`]
    #[arg(long)]
    pub project_dir: Option<PathBuf>,
    /// Only these servers, comma-separated [default: every server in the file]
    #[arg(long, value_delimiter = ',')]
    pub servers: Vec<String>,
    /// Replicas of the generator's worker service (`bench --workers`) [default: none]
    #[arg(long, env = "LOADGEN_WORKERS", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=64))]
    pub workers: u32,
}

#[derive(Debug, Subcommand)]
pub enum CtlCommand {
    /// The project's containers: state and health
    Ps,
    /// Restart services (all servers when none is named) and wait until they are healthy
    Restart {
        services: Vec<String>,
        /// Do not wait for health
        #[arg(long)]
        no_wait: bool,
        /// Longest wait for health
        #[arg(long, default_value = "120s", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
    /// Wait until services (all servers when none is named) are running and healthy
    WaitHealthy {
        services: Vec<String>,
        #[arg(long, default_value = "180s", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
    /// Stream a service's container stats (CPU %, memory, network) once a second
    Stats {
        service: String,
        /// Stop after this many samples [default: until Ctrl-C]
        #[arg(long)]
        count: Option<u64>,
    },
}

#[derive(Debug, Args)]
pub struct CheckOpts {
    /// Run directory (results/<run-id>) or its run.json; `latest` for the newest under --out
    pub run: PathBuf,
    /// Where `latest` is looked for
    #[arg(long, env = "LOADGEN_OUT", default_value = "results")]
    pub out: PathBuf,
    /// Servers that must have at least one valid case [default: every server]
    #[arg(long, value_delimiter = ',')]
    pub servers: Vec<String>,
    /// Every measured case must carry the server's resource use from this source
    /// (admin, what a bench records; older runs: docker or proc)
    #[arg(long)]
    pub require_usage: Option<String>,
    /// Every measured case with this many connections or more must have reached
    /// this many replicas of its server, each answering some of its calls (a swarm
    /// stack with replicas)
    #[arg(long)]
    pub require_replicas: Option<usize>,
    /// Every measured case must have run on this many generator workers, each
    /// making calls, with the case's calls the sum of theirs (`bench --workers`)
    #[arg(long)]
    pub require_workers: Option<usize>,
}

#[derive(Debug, Args)]
pub struct DashboardOpts {
    /// Address to serve on; anything but loopback needs --token
    #[arg(
        long,
        env = "LOADGEN_DASHBOARD_LISTEN",
        default_value = "127.0.0.1:8088"
    )]
    pub listen: std::net::SocketAddr,
    /// Access token checked on every request (header `x-dashboard-token`, or the
    /// cookie a first visit with `?token=` sets)
    #[arg(long, env = "LOADGEN_DASHBOARD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Run the servers as child processes on loopback (no Docker)
    #[arg(long)]
    pub local: bool,
    /// --local: rows in the dataset it starts with
    #[arg(long, env = "ITEMS", default_value_t = protolab_core::dataset::DEFAULT_ITEMS)]
    pub items: u32,
    /// --local: CPUs the servers are pinned to (taskset), e.g. 0
    #[arg(long, value_parser = parse_cpus)]
    pub server_cpus: Option<CpuList>,
    /// Host of every server without --local; `compose` means each server's compose
    /// service name
    #[arg(long, env = "LOADGEN_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Results folder: runs are written to and browsed from here
    #[arg(long, env = "LOADGEN_OUT", default_value = "results")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct CompareOpts {
    /// Baseline run directory or run.json
    pub baseline: PathBuf,
    /// Candidate run directory or run.json
    pub candidate: PathBuf,
    /// Largest tolerated regression per metric (10%, 5, 0.5%)
    #[arg(long, env = "LOADGEN_MAX_REGRESSION", default_value = "10%",
          value_parser = crate::report::compare::parse_percent)]
    pub max_regression: f64,
    /// Metrics to gate on, comma-separated: rps (higher is better), p50, p99 (lower is better)
    #[arg(long, value_delimiter = ',', default_value = "p99,rps")]
    pub metric: Vec<String>,
}

#[derive(Debug, Args)]
pub struct BenchOpts {
    /// Built-in suite (quick, full, smoke, fleet, scale, scale-full) or a TOML file
    #[arg(long, default_value = "quick", env = "LOADGEN_SUITE")]
    pub suite: String,
    /// Servers to benchmark, comma-separated [default: every server with a driver]
    #[arg(long, value_delimiter = ',')]
    pub targets: Vec<String>,
    /// Only these endpoints (e.g. rest-h1,rest-h2c), comma-separated
    #[arg(long, value_delimiter = ',')]
    pub endpoints: Option<Vec<String>>,
    /// Start the server binaries as child processes on loopback (no Docker)
    #[arg(long)]
    pub local: bool,
    /// Compose lab: restart each server before its cases (fresh state) and wait until
    /// it is healthy again
    #[arg(long, env = "LOADGEN_RESTART")]
    pub restart: bool,
    /// --local: CPUs the servers are pinned to (taskset), e.g. 0 [default: 0 on 2+ cores]
    #[arg(long, value_parser = parse_cpus)]
    pub server_cpus: Option<CpuList>,
    /// Rows in the dataset (--local seeds this many; get_item ids stay within it)
    #[arg(long, env = "ITEMS", default_value_t = protolab_core::dataset::DEFAULT_ITEMS)]
    pub items: u32,
    /// Host of every server; `compose` means each server's compose service name
    #[arg(long, env = "LOADGEN_HOST", default_value = "127.0.0.1")]
    pub host: String,
    #[command(flatten)]
    pub tls: LabTls,
    /// Override every case's repetitions
    #[arg(long)]
    pub repeat: Option<usize>,
    /// Write every measured sample to results.jsonl (reference/002's format)
    #[arg(long)]
    pub raw: bool,
    /// Exit non-zero on INVALID cases too (CPU saturation, schedule lag), not only on
    /// failed ones (no numbers, wrong answers)
    #[arg(long, env = "LOADGEN_STRICT")]
    pub strict: bool,
    /// Where to write results/<run-id>/
    #[arg(long, env = "LOADGEN_OUT", default_value = "results")]
    pub out: PathBuf,
    #[command(flatten)]
    pub slow: SlowOpts,
    #[command(flatten)]
    pub fleet: FleetOpts,
}

/// A distributed bench: the generator's load split over worker processes.
#[derive(Debug, Clone, Args)]
pub struct FleetOpts {
    /// Run every case on this many `loadgen worker`s (each its segment of the load)
    /// and merge their histograms; this process coordinates [default, or 0:
    /// generate here]
    #[arg(long, env = "LOADGEN_WORKERS")]
    pub workers: Option<usize>,
    /// Where the workers listen: a name that resolves to every worker's address (the
    /// worker service's name, in the swarm stack or compose), or one address per
    /// worker, comma-separated
    #[arg(
        long,
        env = "LOADGEN_WORKER_ADDR",
        default_value = "loadgen-worker:7070",
        value_delimiter = ','
    )]
    pub worker_addr: Vec<String>,
    /// How long to wait for the workers to be there and answer
    #[arg(long, default_value = "120s", value_parser = humantime::parse_duration)]
    pub join_timeout: Duration,
}

/// `loadgen worker`.
#[derive(Debug, Clone, Args)]
pub struct WorkerOpts {
    /// Address to listen on for a coordinator
    #[arg(long, env = "LOADGEN_WORKER_LISTEN", default_value = "0.0.0.0:7070")]
    pub listen: std::net::SocketAddr,
    /// The name the worker gives [default: REPLICA, else the host name]
    #[arg(long, env = "LOADGEN_WORKER_NAME")]
    pub name: Option<String>,
    #[command(flatten)]
    pub tls: LabTls,
}

/// The lab's client TLS material (`bench`, `worker`): each file defaults to the
/// lab's certificate folder.
#[derive(Debug, Clone, Args)]
pub struct LabTls {
    /// CA for TLS endpoints [default: certs/ca.crt, or the --local lab's]
    #[arg(long, env = "TLS_CA")]
    pub ca: Option<PathBuf>,
    /// Client certificate for mTLS endpoints
    #[arg(long, env = "TLS_CLIENT_CERT")]
    pub cert: Option<PathBuf>,
    /// Client key for mTLS endpoints
    #[arg(long, env = "TLS_CLIENT_KEY")]
    pub key: Option<PathBuf>,
}

impl LabTls {
    /// The options, each file not given taken from `certs`.
    pub fn options(&self, certs: &std::path::Path) -> protolab_drivers::TlsOptions {
        crate::lab::lab_tls(
            self.ca.as_deref(),
            self.cert.as_deref(),
            self.key.as_deref(),
            certs,
        )
    }
}

/// The slowest calls of every case (`bench` and `run`).
#[derive(Debug, Clone, Args)]
pub struct SlowOpts {
    /// Keep the slowest measured calls at or over this latency (e.g. 50ms), with their
    /// time, connection, call number and error, in run.json, slow_calls.jsonl and the
    /// report
    #[arg(long, value_parser = humantime::parse_duration, env = "LOADGEN_SLOW")]
    pub slow: Option<Duration>,
    /// With --slow: how many of the slowest calls each repetition keeps (all are
    /// counted)
    #[arg(long, default_value_t = protolab_bench::slow::DEFAULT_KEEP, requires = "slow")]
    pub slow_keep: usize,
}

impl SlowOpts {
    /// What the engine keeps, when asked.
    pub fn plan(&self) -> Option<protolab_bench::slow::SlowPlan> {
        self.slow.map(|threshold| protolab_bench::slow::SlowPlan {
            threshold,
            keep: self.slow_keep,
        })
    }
}

/// Operations `run` can exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
/// Names are the contract's (`get_item`); the kebab-case forms are accepted too.
pub enum OpName {
    Ping,
    #[value(name = "get_item", alias = "get-item")]
    GetItem,
    #[value(name = "list_items", alias = "list-items")]
    ListItems,
    Echo,
    Score,
}

/// Which way the transfer kind moves blobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectionName {
    Upload,
    Download,
    Both,
}

#[derive(Debug, Args)]
pub struct RunOpts {
    /// Protocol of the target
    #[arg(value_parser = protocol_parser())]
    pub protocol: Protocol,
    /// Target: http(s)://host:port (REST, GraphQL, SSE); host:port or https://host:port
    /// (gRPC); ws(s)://host:port[/ws] (WebSocket)
    pub target: String,
    /// Operation to exercise
    #[arg(long, value_enum, default_value_t = OpName::GetItem)]
    pub op: OpName,
    /// Kind of measurement [default: throughput, or rate when --rate is given]:
    /// throughput (closed loop), rate (open loop at --rate), latency (serial calls on
    /// one connection), concurrency (-c clients x --requests-each), bandwidth (echo at
    /// each of --sizes), connect (a new connection per attempt), sweep (rate steps to
    /// the knee), pipeline (--depth in flight, --messages each), transfer
    /// (--transfer-sizes up/down, CRC checked), hold (--hold connections held while a
    /// probe calls), stream (server push of --count events), broadcast
    /// (--subscribers, a publisher at --rate)
    #[arg(long, value_parser = kind_parser())]
    pub kind: Option<KindName>,
    /// Open loop at this many requests per second (accepts 10k, 1.5M)
    #[arg(long, value_parser = parse_count)]
    pub rate: Option<u64>,
    /// Connections to open
    #[arg(short = 'c', long, default_value_t = 32)]
    pub connections: usize,
    /// Requests in flight per connection (HTTP/2 multiplexing; h1 opens more connections)
    #[arg(long, default_value_t = 1)]
    pub inflight: usize,
    /// Measured duration (after warm-up): 30s, 2m
    #[arg(short = 'd', long, value_parser = humantime::parse_duration, default_value = "10s")]
    pub duration: Duration,
    /// Warm-up, excluded from statistics
    #[arg(long, value_parser = humantime::parse_duration, default_value = "2s")]
    pub warmup: Duration,
    /// Stop after this many measured requests (closed loop; accepts 10k)
    #[arg(short = 'n', long, value_parser = parse_count)]
    pub requests: Option<u64>,
    /// Concurrency kind: requests per client
    #[arg(long, value_parser = parse_count, default_value = "100")]
    pub requests_each: u64,
    /// Per-request timeout
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    pub timeout: Duration,
    /// Repetitions; statistics across them (mean, CV, 95% CI, outliers removed)
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Speak HTTP/2 (h2c on plain targets, offered first by ALPN on TLS)
    #[arg(long)]
    pub http2: bool,
    /// HTTP version explicitly (overrides --http2)
    #[arg(long, value_parser = http_parser())]
    pub http: Option<HttpVersion>,
    /// CA certificate to trust for https targets
    #[arg(long, env = "TLS_CA")]
    pub ca: Option<PathBuf>,
    /// Client certificate (mTLS)
    #[arg(long, env = "TLS_CLIENT_CERT", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Client key (mTLS)
    #[arg(long, env = "TLS_CLIENT_KEY", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Echo payload, stream event or broadcast message size in bytes (accepts 1k, 1M)
    #[arg(long, value_parser = parse_count, default_value = "1k")]
    pub size: u64,
    /// Stream kind: events per stream (accepts 10k)
    #[arg(long, value_parser = parse_count, default_value = "1000")]
    pub count: u64,
    /// Stream kind: pause between events, milliseconds
    #[arg(long, default_value_t = 0)]
    pub interval_ms: u64,
    /// Broadcast kind: subscribers, each on its own connection
    #[arg(long, value_parser = parse_count, default_value = "100")]
    pub subscribers: u64,
    /// Bandwidth kind: payload sizes, one case each
    #[arg(long, value_parser = parse_count, value_delimiter = ',', default_value = "1k,16k,64k,256k,1M")]
    pub sizes: Vec<u64>,
    /// Use TLS (turns host:port or http:// into https://)
    #[arg(long)]
    pub tls: bool,
    /// Write every measured sample to results.jsonl (reference/002's format; needs --out)
    #[arg(long, requires = "out")]
    pub raw: bool,
    /// get_item draws ids from 1..=ids
    #[arg(long, default_value_t = protolab_core::dataset::DEFAULT_ITEMS)]
    pub ids: u32,
    /// list_items page size
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Score: numbers in the JSON vector
    #[arg(long, default_value_t = 64)]
    pub dims: usize,
    /// Dataset seed of the target (verification compares rows)
    #[arg(long, env = "SEED", default_value_t = protolab_core::dataset::DEFAULT_SEED)]
    pub seed: u64,
    /// Open loop: the floor of the send-lag limit; a case whose send lag p99 exceeds
    /// the larger of this and 10% of its service-time P50 did not send on time
    #[arg(long, value_parser = humantime::parse_duration, default_value = "1ms")]
    pub max_lag: Duration,
    #[command(flatten)]
    pub slow: SlowOpts,
    /// The server's process id, when it runs on this host: its CPU is read from /proc
    /// over each measured window (judged against the CPUs it may use), so the case
    /// says which side was the bottleneck, as `bench --local` does
    #[arg(long, env = "LOADGEN_SERVER_PID")]
    pub server_pid: Option<u32>,
    /// Error budget: failed calls as a share of all (0.1%, 1%, 0.001) beyond which the
    /// case is FAILED and the run exits non-zero
    #[arg(long, env = "LOADGEN_MAX_ERRORS", default_value = "0.1%",
          value_parser = parse_share)]
    pub max_errors: f64,
    /// Sweep: multiply the rate by this each step
    #[arg(long, default_value_t = 1.5)]
    pub sweep_factor: f64,
    /// Sweep: highest rate to try
    #[arg(long, value_parser = parse_count, default_value = "1M")]
    pub sweep_max: u64,
    /// Sweep: P99 limit in milliseconds
    #[arg(long, default_value_t = 50.0)]
    pub sweep_p99_ms: f64,
    /// Connect kind: attempts
    #[arg(long, default_value_t = 100)]
    pub attempts: u64,
    /// Where to write results/<run-id>/ (nothing written when absent)
    #[arg(long, env = "LOADGEN_OUT")]
    pub out: Option<PathBuf>,
    /// NET-001: AUTH as user:token on every connection (the handshake)
    #[arg(long, env = "NET001_AUTH")]
    pub auth: Option<String>,
    /// Pipeline kind: calls in flight per connection
    #[arg(long, default_value_t = 16)]
    pub depth: usize,
    /// Pipeline kind: calls per client (accepts 10k)
    #[arg(long, value_parser = parse_count, default_value = "1000")]
    pub messages: u64,
    /// Transfer kind: blob sizes, one case each (1.5Mi = 1,572,864 bytes)
    #[arg(long, value_parser = parse_count, value_delimiter = ',', default_value = "1.5Mi,128Mi,500Mi")]
    pub transfer_sizes: Vec<u64>,
    /// Transfer kind: piece size (REST download chunk, body frames, gRPC messages, NET-001 DATA chunk)
    #[arg(long, value_parser = parse_count, default_value = "64Ki")]
    pub chunk: u64,
    /// Transfer kind: one whole body (REST; gRPC up to 4 MiB) instead of --chunk pieces
    #[arg(long)]
    pub whole: bool,
    /// Transfer kind: direction
    #[arg(long, value_enum, default_value_t = DirectionName::Both)]
    pub direction: DirectionName,
    /// Transfer kind: transfers per repetition
    #[arg(long, default_value_t = 1)]
    pub transfers: u64,
    /// Hold kind: connections to hold open (accepts 10k)
    #[arg(long, value_parser = parse_count, default_value = "1000")]
    pub hold: u64,
    /// Hold kind: the probe's calls per second
    #[arg(long, default_value_t = 100.0)]
    pub probe_rate: f64,
    /// Hold kind: the server's admin host:port (its /metrics?format=json gives RSS)
    #[arg(long)]
    pub admin: Option<String>,
}

/// `run`'s protocols: the driver table's.
fn protocol_parser() -> impl clap::builder::TypedValueParser<Value = Protocol> {
    PossibleValuesParser::new(Protocol::ALL.map(Protocol::name)).try_map(|s: String| {
        Protocol::from_name(&s).ok_or_else(|| format!("unknown protocol {s:?}"))
    })
}

/// The kinds of measurement, as the engine names them.
fn kind_parser() -> impl clap::builder::TypedValueParser<Value = KindName> {
    PossibleValuesParser::new(KindName::ALL.map(KindName::as_str))
        .try_map(|s: String| s.parse::<KindName>())
}

fn http_parser() -> impl clap::builder::TypedValueParser<Value = HttpVersion> {
    PossibleValuesParser::new(["h1", "h2"]).try_map(|s: String| s.parse::<HttpVersion>())
}

/// CPU ids, as `--cpus 0,2-3` names them (one value: clap must not read it as a
/// list of values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuList(pub Vec<usize>);

impl std::ops::Deref for CpuList {
    type Target = [usize];

    fn deref(&self) -> &[usize] {
        &self.0
    }
}

/// `0`, `1-3`, `0,2,4-5` → CPU ids.
pub fn parse_cpus(s: &str) -> Result<CpuList, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || format!("'{part}' is not a CPU or CPU range (e.g. 1, 0-3)");
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) =
                    (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                if a > b {
                    return Err(bad());
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().map_err(|_| bad())?),
        }
    }
    if out.is_empty() {
        return Err("no CPU given".into());
    }
    Ok(CpuList(out))
}

/// A share: `0.1%` → 0.001, `0.001` → 0.001 (at most 100%).
pub fn parse_share(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, scale) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), 100.0),
        None => (t, 1.0),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a share (e.g. 0.1%, 0.001)"))?;
    let share = v / scale;
    if !(0.0..=1.0).contains(&share) {
        return Err(format!("'{s}' must be between 0 and 100%"));
    }
    Ok(share)
}

/// `10k` → 10_000, `1.5M` → 1_500_000, `1024` → 1024, `1Ki` → 1024.
pub fn parse_count(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s {
        _ if s.ends_with("Ki") => (&s[..s.len() - 2], 1024.0),
        _ if s.ends_with("Mi") => (&s[..s.len() - 2], 1024.0 * 1024.0),
        _ if s.ends_with(['k', 'K']) => (&s[..s.len() - 1], 1e3),
        _ if s.ends_with(['m', 'M']) => (&s[..s.len() - 1], 1e6),
        _ if s.ends_with(['g', 'G']) => (&s[..s.len() - 1], 1e9),
        _ => (s, 1.0),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a count (e.g. 500, 10k, 1.5M)"))?;
    if !(v >= 0.0 && v.is_finite()) {
        return Err(format!("'{s}' must be a positive count"));
    }
    Ok((v * mult).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use protolab_bench::Kind;

    #[test]
    fn counts_accept_suffixes() {
        assert_eq!(parse_count("10k"), Ok(10_000));
        assert_eq!(parse_count("1.5M"), Ok(1_500_000));
        assert_eq!(parse_count("1Ki"), Ok(1024));
        assert_eq!(parse_count("42"), Ok(42));
        assert!(parse_count("ten").is_err());
        assert!(parse_count("-3").is_err());
    }

    #[test]
    fn shares_parse_with_or_without_a_percent_sign() {
        assert_eq!(parse_share("0.1%"), Ok(0.001));
        assert_eq!(parse_share("0.001"), Ok(0.001));
        assert_eq!(parse_share("5 %"), Ok(0.05));
        assert!(parse_share("150%").is_err() && parse_share("2").is_err());
        assert!(parse_share("lots").is_err());
    }

    #[test]
    fn cpu_lists_parse() {
        assert_eq!(parse_cpus("1"), Ok(CpuList(vec![1])));
        assert_eq!(parse_cpus("0,2-4"), Ok(CpuList(vec![0, 2, 3, 4])));
        assert!(parse_cpus("3-1").is_err());
        assert!(parse_cpus("x").is_err());
    }

    #[test]
    fn cpu_flags_parse_and_reach_the_options() {
        let o = Opts::try_parse_from([
            "loadgen",
            "--cpus",
            "1",
            "bench",
            "--local",
            "--server-cpus",
            "0",
        ])
        .expect("parses");
        assert_eq!(o.cpus, Some(CpuList(vec![1])));
        let Command::Bench(b) = o.command else {
            panic!("bench")
        };
        assert_eq!(b.server_cpus, Some(CpuList(vec![0])));
        let o = Opts::try_parse_from(["loadgen", "run", "rest", "127.0.0.1:1", "--cpus", "0-1"])
            .expect("parses");
        assert_eq!(o.cpus.as_deref(), Some(&[0, 1][..]));
    }

    /// A `run` command line with `extra` appended.
    fn run_with(extra: &[&str]) -> RunOpts {
        let mut argv = vec!["loadgen", "run", "rest", "http://127.0.0.1:1"];
        argv.extend_from_slice(extra);
        match Opts::try_parse_from(&argv).map(|o| o.command) {
            Ok(Command::Run(r)) => r,
            other => panic!("{argv:?} did not parse as run: {other:?}"),
        }
    }

    /// A `bench` command line with `extra` appended.
    fn bench_with(extra: &[&str]) -> BenchOpts {
        let mut argv = vec!["loadgen", "bench"];
        argv.extend_from_slice(extra);
        match Opts::try_parse_from(&argv).map(|o| o.command) {
            Ok(Command::Bench(b)) => b,
            other => panic!("{argv:?} did not parse as bench: {other:?}"),
        }
    }

    type RunCheck = fn(&RunOpts) -> bool;

    /// Every flag `run --help` lists: a command line using it, and what it must
    /// have changed (against the defaults, so a flag that is ignored fails).
    const RUN_FLAGS: &[(&str, &[&str], RunCheck)] = &[
        ("op", &["--op", "list-items"], |o| o.op == OpName::ListItems),
        ("kind", &["--kind", "sweep"], |o| {
            o.kind == Some(KindName::Sweep)
        }),
        ("rate", &["--rate", "1.5k"], |o| o.rate == Some(1500)),
        ("connections", &["-c", "7"], |o| o.connections == 7),
        ("inflight", &["--inflight", "16"], |o| o.inflight == 16),
        ("duration", &["-d", "2m"], |o| {
            o.duration == Duration::from_secs(120)
        }),
        ("warmup", &["--warmup", "0s"], |o| o.warmup.is_zero()),
        ("requests", &["-n", "10k"], |o| o.requests == Some(10_000)),
        ("requests-each", &["--requests-each", "5"], |o| {
            o.requests_each == 5
        }),
        ("timeout", &["--timeout", "250ms"], |o| {
            o.timeout == Duration::from_millis(250)
        }),
        ("repeat", &["--repeat", "3"], |o| o.repeat == 3),
        ("http2", &["--http2"], |o| o.http2),
        ("http", &["--http", "h2"], |o| {
            o.http == Some(HttpVersion::H2)
        }),
        ("ca", &["--ca", "ca.crt"], |o| {
            o.ca.as_deref() == Some("ca.crt".as_ref())
        }),
        ("cert", &["--cert", "c.crt", "--key", "c.key"], |o| {
            o.cert.as_deref() == Some("c.crt".as_ref())
        }),
        ("key", &["--key", "c.key", "--cert", "c.crt"], |o| {
            o.key.as_deref() == Some("c.key".as_ref())
        }),
        ("size", &["--size", "64"], |o| o.size == 64),
        ("count", &["--count", "10k"], |o| o.count == 10_000),
        ("interval-ms", &["--interval-ms", "5"], |o| {
            o.interval_ms == 5
        }),
        ("subscribers", &["--subscribers", "3"], |o| {
            o.subscribers == 3
        }),
        ("sizes", &["--sizes", "1k,2k"], |o| o.sizes == [1000, 2000]),
        ("tls", &["--tls"], |o| o.tls),
        ("raw", &["--raw", "--out", "r"], |o| o.raw),
        ("ids", &["--ids", "1"], |o| o.ids == 1),
        ("limit", &["--limit", "7"], |o| o.limit == 7),
        ("dims", &["--dims", "8"], |o| o.dims == 8),
        ("seed", &["--seed", "7"], |o| o.seed == 7),
        ("server-pid", &["--server-pid", "42"], |o| {
            o.server_pid == Some(42)
        }),
        ("max-lag", &["--max-lag", "3ms"], |o| {
            o.max_lag == Duration::from_millis(3)
        }),
        ("slow", &["--slow", "50ms"], |o| {
            o.slow.plan().map(|p| (p.threshold, p.keep))
                == Some((
                    Duration::from_millis(50),
                    protolab_bench::slow::DEFAULT_KEEP,
                ))
        }),
        ("slow-keep", &["--slow", "1s", "--slow-keep", "3"], |o| {
            o.slow.plan().map(|p| p.keep) == Some(3)
        }),
        ("max-errors", &["--max-errors", "1%"], |o| {
            o.max_errors == 0.01
        }),
        ("sweep-factor", &["--sweep-factor", "2"], |o| {
            o.sweep_factor == 2.0
        }),
        ("sweep-max", &["--sweep-max", "5k"], |o| o.sweep_max == 5000),
        ("sweep-p99-ms", &["--sweep-p99-ms", "9"], |o| {
            o.sweep_p99_ms == 9.0
        }),
        ("attempts", &["--attempts", "9"], |o| o.attempts == 9),
        ("out", &["--out", "r"], |o| {
            o.out.as_deref() == Some("r".as_ref())
        }),
        ("auth", &["--auth", "u:t"], |o| {
            o.auth.as_deref() == Some("u:t")
        }),
        ("depth", &["--kind", "pipeline", "--depth", "64"], |o| {
            pipeline_of(o) == Some((64, 1000))
        }),
        (
            "messages",
            &["--kind", "pipeline", "--messages", "10k"],
            |o| pipeline_of(o) == Some((16, 10_000)),
        ),
        (
            "transfer-sizes",
            &[
                "--kind",
                "transfer",
                "--transfer-sizes",
                "1Ki",
                "--direction",
                "upload",
            ],
            |o| transfers_of(o) == [(1024, Some(65536))],
        ),
        (
            "chunk",
            &[
                "--kind",
                "transfer",
                "--transfer-sizes",
                "1Mi",
                "--chunk",
                "4Ki",
                "--direction",
                "upload",
            ],
            |o| transfers_of(o) == [(1 << 20, Some(4096))],
        ),
        (
            "whole",
            &[
                "--kind",
                "transfer",
                "--transfer-sizes",
                "1Mi",
                "--whole",
                "--direction",
                "upload",
            ],
            |o| transfers_of(o) == [(1 << 20, None)],
        ),
        (
            "direction",
            &["--kind", "transfer", "--direction", "download"],
            |o| transfers_of(o).len() == 3 && o.direction == DirectionName::Download,
        ),
        ("transfers", &["--transfers", "4"], |o| o.transfers == 4),
        ("hold", &["--kind", "hold", "--hold", "10k"], |o| {
            matches!(
                hold_of(o),
                Some(Kind::Hold {
                    connections: 10_000,
                    ..
                })
            )
        }),
        (
            "probe-rate",
            &["--kind", "hold", "--probe-rate", "5"],
            |o| matches!(hold_of(o), Some(Kind::Hold { probe_rate, .. }) if probe_rate == 5.0),
        ),
        (
            "admin",
            &["--kind", "hold", "--admin", "h:1"],
            |o| matches!(hold_of(o), Some(Kind::Hold { admin: Some(a), .. }) if a == "h:1"),
        ),
    ];

    fn pipeline_of(o: &RunOpts) -> Option<(usize, u64)> {
        match crate::cases::adhoc_kinds(o, KindName::Pipeline)?.first()? {
            Kind::Pipeline { depth, messages } => Some((*depth, *messages)),
            _ => None,
        }
    }

    fn transfers_of(o: &RunOpts) -> Vec<(u64, Option<u64>)> {
        let kinds = crate::cases::adhoc_kinds(o, KindName::Transfer).unwrap_or_default();
        kinds
            .into_iter()
            .filter_map(|k| match k {
                Kind::Transfer { size, chunk, .. } => Some((size, chunk)),
                _ => None,
            })
            .collect()
    }

    fn hold_of(o: &RunOpts) -> Option<Kind> {
        crate::cases::adhoc_kinds(o, KindName::Hold)?
            .into_iter()
            .next()
    }

    type BenchCheck = fn(&BenchOpts) -> bool;

    /// Every flag `bench --help` lists, as for `run`.
    const BENCH_FLAGS: &[(&str, &[&str], BenchCheck)] = &[
        ("suite", &["--suite", "full"], |b| {
            b.suite == "full" && crate::suite::load(&b.suite).is_ok_and(|c| !c.is_empty())
        }),
        ("targets", &["--targets", "rest,grpc"], |b| {
            b.targets == ["rest", "grpc"]
        }),
        ("endpoints", &["--endpoints", "rest-h1"], |b| {
            b.endpoints.as_deref() == Some(&["rest-h1".to_string()][..])
        }),
        ("local", &["--local"], |b| b.local),
        ("restart", &["--restart"], |b| b.restart),
        ("server-cpus", &["--server-cpus", "0"], |b| {
            b.server_cpus == Some(CpuList(vec![0]))
        }),
        ("items", &["--items", "500"], |b| b.items == 500),
        ("host", &["--host", "compose"], |b| b.host == "compose"),
        ("ca", &["--ca", "x"], |b| {
            b.tls.ca.as_deref() == Some("x".as_ref())
        }),
        ("cert", &["--cert", "x"], |b| {
            b.tls.cert.as_deref() == Some("x".as_ref())
        }),
        ("key", &["--key", "x"], |b| {
            b.tls.key.as_deref() == Some("x".as_ref())
        }),
        ("repeat", &["--repeat", "2"], |b| b.repeat == Some(2)),
        ("raw", &["--raw"], |b| b.raw),
        ("strict", &["--strict"], |b| b.strict),
        ("slow", &["--slow", "20ms"], |b| {
            b.slow.plan().map(|p| p.threshold) == Some(Duration::from_millis(20))
        }),
        ("slow-keep", &["--slow", "1s", "--slow-keep", "5"], |b| {
            b.slow.plan().map(|p| p.keep) == Some(5)
        }),
        ("out", &["--out", "elsewhere"], |b| {
            b.out.as_os_str() == "elsewhere"
        }),
        ("workers", &["--workers", "3"], |b| {
            b.fleet.workers == Some(3)
        }),
        ("worker-addr", &["--worker-addr", "a:1,b:2"], |b| {
            b.fleet.worker_addr == ["a:1", "b:2"]
        }),
        ("join-timeout", &["--join-timeout", "5s"], |b| {
            b.fleet.join_timeout == Duration::from_secs(5)
        }),
    ];

    /// The global flags, on either subcommand.
    const GLOBAL_FLAGS: &[&str] = &["quiet", "json", "cpus", "threads"];

    /// The long names of the flags a subcommand's `--help` lists.
    fn listed_flags(sub: &str) -> Vec<String> {
        use clap::CommandFactory;
        let cmd = Opts::command();
        let sub = cmd.find_subcommand(sub).expect("subcommand").clone();
        sub.get_arguments()
            .filter(|a| !a.is_positional() && !a.is_hide_set())
            .filter_map(|a| a.get_long().map(str::to_string))
            .chain(GLOBAL_FLAGS.iter().map(|f| f.to_string()))
            .filter(|f| f != "help" && f != "version")
            .collect()
    }

    #[test]
    fn every_run_flag_parses_and_reaches_what_uses_it() {
        for (flag, args, check) in RUN_FLAGS {
            let o = run_with(args);
            assert!(check(&o), "--{flag} ({args:?}) had no effect: {o:?}");
        }
        let defaults = run_with(&[]);
        for (flag, _, check) in RUN_FLAGS {
            // A check the defaults pass proves nothing.
            assert!(!check(&defaults), "--{flag}'s check passes without it");
        }
        let listed = listed_flags("run");
        for flag in &listed {
            let tested =
                RUN_FLAGS.iter().any(|(f, ..)| f == flag) || GLOBAL_FLAGS.contains(&flag.as_str());
            assert!(tested, "run --{flag} has no test here");
        }
    }

    #[test]
    fn every_bench_flag_parses_and_reaches_what_uses_it() {
        let defaults = bench_with(&[]);
        for (flag, args, check) in BENCH_FLAGS {
            let b = bench_with(args);
            assert!(check(&b), "--{flag} ({args:?}) had no effect: {b:?}");
            assert!(!check(&defaults), "--{flag}'s check passes without it");
        }
        for flag in listed_flags("bench") {
            let tested = BENCH_FLAGS.iter().any(|(f, ..)| *f == flag)
                || GLOBAL_FLAGS.contains(&flag.as_str());
            assert!(tested, "bench --{flag} has no test here");
        }
    }

    #[test]
    fn global_flags_parse_on_every_subcommand_and_reach_the_plan() {
        for sub in [
            &["run", "rest", "http://127.0.0.1:1"][..],
            &["bench", "--local"][..],
        ] {
            let mut argv = vec![
                "loadgen",
                "--quiet",
                "--json",
                "--threads",
                "1",
                "--cpus",
                "1",
            ];
            argv.extend_from_slice(sub);
            let mut o = Opts::try_parse_from(&argv).expect("parses");
            assert!(o.quiet && o.json);
            assert_eq!(o.threads, Some(1));
            assert_eq!(o.cpus, Some(CpuList(vec![1])));
            // The generator's CPUs as main.rs pins them (CPU 1 may not exist here:
            // the plan is only decided when this machine lists its CPUs).
            if core_affinity::get_core_ids().is_some() {
                assert_eq!(crate::lab::local::plan_cpus(&mut o), Some(vec![1]));
            }
        }
        let o = Opts::try_parse_from(["loadgen", "run", "rest", "h:1", "--threads", "4"]);
        assert_eq!(o.map(|o| o.threads).ok(), Some(Some(4)));
        assert!(Opts::try_parse_from(["loadgen", "--threads", "0", "run", "rest", "h:1"]).is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Opts::command().debug_assert();
    }
}
