//! Suites: TOML files of cases run against every endpoint, so results line up in
//! one table. `smoke`, `quick` and `full` are embedded in the binary; any file can be given.
//! This module only parses and expands; it never runs anything.

use std::time::Duration;

use serde::Deserialize;

use protolab_bench::Kind;
use protolab_bench::OpSpec;
use protolab_bench::{LoadPlan, MatrixCell, Model};

use protolab_bench::engine::DEFAULT_MAX_LAG;

/// The built-in suites, by name.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("quick", include_str!("../suites/quick.toml")),
    ("full", include_str!("../suites/full.toml")),
    ("smoke", include_str!("../suites/smoke.toml")),
    ("fleet", include_str!("../suites/fleet.toml")),
    ("scale", include_str!("../suites/scale.toml")),
    ("scale-full", include_str!("../suites/scale-full.toml")),
];

#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error("suite file: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("reading {0}: {1}")]
    Io(String, std::io::Error),
    #[error("case {case}: {msg}")]
    Case { case: usize, msg: String },
    #[error("matrix {matrix}: {msg}")]
    Matrix { matrix: usize, msg: String },
}

/// One value or a list of values (`rate = 1000` or `rate = [500, 1000]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T: Clone> OneOrMany<T> {
    fn values(&self) -> Vec<T> {
        match self {
            OneOrMany::One(v) => vec![v.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// Every setting a case can carry; `[defaults]` holds the same.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Knobs {
    duration: Option<String>,
    warmup: Option<String>,
    timeout: Option<String>,
    max_lag: Option<String>,
    connections: Option<usize>,
    inflight: Option<usize>,
    repeat: Option<usize>,
    z_threshold: Option<f64>,
    /// The error budget: failed calls as a share of all (0.001 = 0.1%).
    max_errors: Option<f64>,
    requests: Option<u64>,
    requests_each: Option<u64>,
    rate: Option<OneOrMany<f64>>,
    size: Option<OneOrMany<usize>>,
    ids: Option<u32>,
    limit: Option<u32>,
    dims: Option<usize>,
    attempts: Option<u64>,
    sweep_factor: Option<f64>,
    sweep_max: Option<f64>,
    sweep_p99_ms: Option<f64>,
    sweep_error_limit: Option<f64>,
    /// Pipeline: clients (each its own connection), calls per client, calls in flight.
    clients: Option<OneOrMany<usize>>,
    messages: Option<OneOrMany<u64>>,
    depth: Option<OneOrMany<usize>>,
    /// Transfer: piece size, or one whole body; upload, download or both.
    chunk: Option<u64>,
    whole: Option<bool>,
    direction: Option<OneOrMany<String>>,
    /// Hold: connections held open.
    hold: Option<OneOrMany<usize>>,
    count: Option<u64>,
    interval_ms: Option<u64>,
    subscribers: Option<usize>,
    /// Replicas of the server, set before the case runs (a swarm stack).
    replicas: Option<OneOrMany<u32>>,
}

impl Knobs {
    /// `self` where set, else `d`.
    fn or(&self, d: &Knobs) -> Knobs {
        macro_rules! pick { ($($f:ident),*) => { Knobs { $($f: self.$f.clone().or_else(|| d.$f.clone()),)* } } }
        pick!(
            duration,
            warmup,
            timeout,
            max_lag,
            connections,
            inflight,
            repeat,
            z_threshold,
            max_errors,
            requests,
            requests_each,
            rate,
            size,
            ids,
            limit,
            dims,
            attempts,
            sweep_factor,
            sweep_max,
            sweep_p99_ms,
            sweep_error_limit,
            clients,
            messages,
            depth,
            chunk,
            whole,
            direction,
            hold,
            count,
            interval_ms,
            subscribers,
            replicas
        )
    }
}

/// A case: what it is (`kind`, `op`, optional `name` and `endpoints`) plus knobs.
/// Split by hand because serde cannot deny unknown fields through `flatten`.
#[derive(Debug)]
struct CaseDef {
    name: Option<String>,
    kind: String,
    op: String,
    endpoints: Option<Vec<String>>,
    knobs: Knobs,
}

impl CaseDef {
    fn from_table(mut t: toml::Table) -> Result<CaseDef, String> {
        let mut text = |key: &str| match t.remove(key) {
            Some(toml::Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(format!("{key} must be a string, not {other}")),
            None => Ok(None),
        };
        let name = text("name")?;
        let kind = text("kind")?.ok_or("kind is missing")?;
        // Transfer and hold verify or probe with, and push kinds check, ping unless told otherwise.
        let op = text("op")?
            .or_else(|| {
                matches!(kind.as_str(), "transfer" | "hold" | "stream" | "broadcast")
                    .then(|| "ping".into())
            })
            .ok_or("op is missing")?;
        let endpoints = match t.remove("endpoints") {
            Some(v) => Some(
                v.try_into::<Vec<String>>()
                    .map_err(|e| format!("endpoints: {e}"))?,
            ),
            None => None,
        };
        let knobs = toml::Value::Table(t)
            .try_into::<Knobs>()
            .map_err(|e| e.to_string())?;
        Ok(CaseDef {
            name,
            kind,
            op,
            endpoints,
            knobs,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteFile {
    #[serde(default)]
    defaults: Knobs,
    #[serde(default)]
    case: Vec<toml::Table>,
    /// reference/003's grids: replicas × clients × messages (or × rate).
    #[serde(default)]
    matrix: Vec<toml::Table>,
}

/// A case of a suite, before it is bound to an endpoint.
#[derive(Debug, Clone)]
pub struct CaseTemplate {
    pub name: String,
    pub op: OpSpec,
    pub kind: Kind,
    pub plan: LoadPlan,
    pub repeat: usize,
    pub z_threshold: f64,
    /// The error budget (see `CaseSpec::max_errors`).
    pub max_errors: f64,
    /// Only these endpoints, when set.
    pub endpoints: Option<Vec<String>>,
    /// The server's replicas for this case (scaled to before it runs).
    pub replicas: Option<u32>,
    /// A matrix case's cell.
    pub cell: Option<MatrixCell>,
}

/// Loads a built-in suite by name, or a TOML file by path.
pub fn load(name_or_path: &str) -> Result<Vec<CaseTemplate>, SuiteError> {
    let text = match BUILT_IN.iter().find(|(n, _)| *n == name_or_path) {
        Some((_, t)) => t.to_string(),
        None => std::fs::read_to_string(name_or_path)
            .map_err(|e| SuiteError::Io(name_or_path.into(), e))?,
    };
    parse(&text)
}

/// Parses a suite and expands list-valued knobs into one case per value, then each
/// `[[matrix]]` into one case per cell.
pub fn parse(text: &str) -> Result<Vec<CaseTemplate>, SuiteError> {
    let file: SuiteFile = toml::from_str(text)?;
    let mut out = Vec::new();
    for (i, table) in file.case.into_iter().enumerate() {
        let err = |msg: String| SuiteError::Case { case: i + 1, msg };
        let def = CaseDef::from_table(table).map_err(err)?;
        let k = def.knobs.or(&file.defaults);
        let rates = optional_list(&k.rate);
        let sizes = optional_list(&k.size);
        for replicas in optional_list(&k.replicas) {
            for rate in &rates {
                for size in &sizes {
                    for bulk in bulk_kinds(&def.kind, &k, *rate, *size).map_err(err)? {
                        let mut t = template(&def, &k, *rate, *size, bulk).map_err(err)?;
                        if let Some(r) = replicas {
                            t.name.push_str(&format!("/r{r}"));
                        }
                        t.replicas = replicas;
                        out.push(t);
                    }
                }
            }
        }
    }
    for (i, table) in file.matrix.into_iter().enumerate() {
        let err = |msg: String| SuiteError::Matrix { matrix: i + 1, msg };
        out.extend(matrix(table, &file.defaults).map_err(err)?);
    }
    Ok(out)
}

/// Every value of a list knob, or one `None` when it is not set.
fn optional_list<T: Clone>(v: &Option<OneOrMany<T>>) -> Vec<Option<T>> {
    v.as_ref()
        .map_or(vec![None], |l| l.values().into_iter().map(Some).collect())
}

/// A `[[matrix]]`: one case per cell of replicas × clients × messages (kind
/// `concurrency`, the default: each client its own connection making `messages`
/// calls one at a time; or `pipeline`, reference/003's own: each client sends its
/// messages with up to `depth` unanswered) or × rate (kind `rate`; `throughput`
/// takes clients only), replicas outermost so the server is rescaled once per
/// replica count. Every cell is repeated `repeat` times.
fn matrix(mut table: toml::Table, defaults: &Knobs) -> Result<Vec<CaseTemplate>, String> {
    table.entry("kind").or_insert_with(|| "concurrency".into());
    table.entry("op").or_insert_with(|| "get_item".into());
    let def = CaseDef::from_table(table)?;
    if !matches!(
        def.kind.as_str(),
        "concurrency" | "pipeline" | "rate" | "throughput"
    ) {
        return Err(format!(
            "a matrix runs kind concurrency, pipeline, rate or throughput, not {}",
            def.kind
        ));
    }
    let k = def.knobs.or(defaults);
    let replicas = k
        .replicas
        .as_ref()
        .map(OneOrMany::values)
        .ok_or("a matrix needs replicas")?;
    let clients = list(&k.clients, k.connections.unwrap_or(10));
    let messages = match def.kind.as_str() {
        "concurrency" | "pipeline" => list(&k.messages, k.requests_each.unwrap_or(100))
            .into_iter()
            .map(Some)
            .collect(),
        _ => vec![None],
    };
    let mut out = Vec::new();
    for &r in &replicas {
        for rate in optional_list(&k.rate) {
            for &c in &clients {
                for &m in &messages {
                    let mut knobs = k.clone();
                    knobs.connections = Some(c);
                    knobs.requests_each = m;
                    let pipeline = m.filter(|_| def.kind == "pipeline").map(|messages| {
                        let depth = list(&k.depth, 16)[0].max(1);
                        (Kind::Pipeline { depth, messages }, Some(c))
                    });
                    let mut t = template(&def, &knobs, rate, None, pipeline)?;
                    let what = match (m, rate) {
                        (Some(m), _) => format!("m{m}"),
                        (None, Some(rate)) => format!("@{rate}"),
                        (None, None) => def.kind.clone(),
                    };
                    t.name = format!("matrix/{}/r{r}/c{c}/{what}", t.op.name());
                    t.replicas = Some(r);
                    t.cell = Some(MatrixCell {
                        replicas: r,
                        clients: c,
                        messages: m,
                        rate,
                    });
                    out.push(t);
                }
            }
        }
    }
    Ok(out)
}

fn duration(v: &Option<String>, default: Duration) -> Result<Duration, String> {
    match v {
        Some(s) => humantime::parse_duration(s).map_err(|e| format!("bad duration {s:?}: {e}")),
        None => Ok(default),
    }
}

/// A pipeline, transfer or hold kind with the client count it wants.
type BulkKind = Option<(Kind, Option<usize>)>;

fn list<T: Clone>(v: &Option<OneOrMany<T>>, default: T) -> Vec<T> {
    v.as_ref().map_or(vec![default], OneOrMany::values)
}

/// What a pipeline, transfer or hold case's list knobs expand to (one kind per
/// combination); `[None]` for every other kind.
fn bulk_kinds(
    kind: &str,
    k: &Knobs,
    rate: Option<f64>,
    size: Option<usize>,
) -> Result<Vec<BulkKind>, String> {
    let mut out = Vec::new();
    match kind {
        "pipeline" => {
            for clients in list(&k.clients, 10) {
                for messages in list(&k.messages, 1000) {
                    for depth in list(&k.depth, 16) {
                        let depth = depth.max(1);
                        out.push(Some((Kind::Pipeline { depth, messages }, Some(clients))));
                    }
                }
            }
        }
        "transfer" => {
            for word in list(&k.direction, "both".to_string()) {
                for direction in crate::cases::parse_direction(&word)? {
                    let t = Kind::Transfer {
                        direction,
                        size: size.unwrap_or(1_572_864) as u64,
                        chunk: (!k.whole.unwrap_or(false)).then_some(k.chunk.unwrap_or(65_536)),
                        transfers: k.requests.unwrap_or(1).max(1),
                    };
                    out.push(Some((t, None)));
                }
            }
        }
        "hold" => {
            for connections in list(&k.hold, 1000) {
                let probe_rate = rate.unwrap_or(100.0);
                let h = Kind::Hold {
                    connections,
                    probe_rate,
                    admin: None,
                };
                out.push(Some((h, None)));
            }
        }
        _ => out.push(None),
    }
    Ok(out)
}

fn template(
    def: &CaseDef,
    k: &Knobs,
    rate: Option<f64>,
    size: Option<usize>,
    bulk: BulkKind,
) -> Result<CaseTemplate, String> {
    let op = match def.op.as_str() {
        "ping" => OpSpec::Ping,
        "get_item" => OpSpec::GetItem {
            ids: k.ids.unwrap_or(protolab_core::dataset::DEFAULT_ITEMS),
        },
        "list_items" => OpSpec::ListItems {
            limit: k.limit.unwrap_or(20),
            category: None,
        },
        "echo" => OpSpec::Echo {
            size: size.unwrap_or(1024),
        },
        "score" => OpSpec::Score {
            dims: k.dims.unwrap_or(64),
        },
        other => return Err(format!("unknown op {other:?}")),
    };
    let (kind, clients) = match bulk {
        Some((kind, clients)) => (kind, clients),
        None => (plain_kind(def, k, &op, rate, size)?, None),
    };
    if matches!(kind, Kind::Rate) && rate.is_none() {
        return Err("kind rate needs rate".into());
    }
    let mut plan = LoadPlan {
        model: match kind {
            Kind::Rate => Model::Open {
                rate: rate.unwrap_or(1000.0),
            },
            _ => Model::Closed,
        },
        connections: clients.or(k.connections).unwrap_or(16).max(1),
        inflight: k.inflight.unwrap_or(1).max(1),
        duration: duration(&k.duration, Duration::from_secs(10))?,
        warmup: duration(&k.warmup, Duration::from_secs(2))?,
        requests: k.requests,
        requests_per_worker: None,
        timeout: duration(&k.timeout, Duration::from_secs(10))?,
        max_lag: duration(&k.max_lag, DEFAULT_MAX_LAG)?,
        slow: None,
        schedule: None,
    };
    kind.shape_plan(&mut plan, k.requests, k.requests_each.unwrap_or(100));
    let bulk_name = crate::cases::parameter_name(&kind, &op, plan.connections);
    let mut name = match (&def.name, &bulk_name) {
        (Some(n), Some(b)) => format!("{n}/{b}"),
        (Some(n), None) => n.clone(),
        (None, Some(b)) => b.clone(),
        (None, None) => format!("{}/{}", kind.name(), op.name()),
    };
    if let (Some(s), None) = (size, &bulk_name) {
        name.push_str(&format!("/{s}B"));
    }
    if let (Some(r), Kind::Rate) = (rate, &kind) {
        name.push_str(&format!("@{r}"));
    }
    Ok(CaseTemplate {
        name,
        op,
        kind,
        plan,
        repeat: k.repeat.unwrap_or(1).max(1),
        z_threshold: k.z_threshold.unwrap_or(2.0),
        max_errors: k
            .max_errors
            .unwrap_or(protolab_bench::case::DEFAULT_MAX_ERRORS),
        endpoints: def.endpoints.clone(),
        replicas: None,
        cell: None,
    })
}

/// The kinds that take no list knobs of their own.
fn plain_kind(
    def: &CaseDef,
    k: &Knobs,
    op: &OpSpec,
    rate: Option<f64>,
    size: Option<usize>,
) -> Result<Kind, String> {
    Ok(match def.kind.as_str() {
        "throughput" => Kind::Throughput,
        "bandwidth" if matches!(op, OpSpec::Echo { .. }) => Kind::Bandwidth,
        "bandwidth" => return Err("kind bandwidth needs op echo".into()),
        "rate" => Kind::Rate,
        "latency" => Kind::Latency,
        "concurrency" => Kind::Concurrency,
        "connect" => Kind::Connect {
            rate: rate.unwrap_or(10.0),
            attempts: k.attempts.unwrap_or(100),
        },
        "sweep" => Kind::Sweep {
            start: rate.unwrap_or(1000.0),
            factor: k.sweep_factor.unwrap_or(1.5),
            max: k.sweep_max.unwrap_or(1e6),
            p99_limit_ms: k.sweep_p99_ms.unwrap_or(50.0),
            error_limit: k.sweep_error_limit.unwrap_or(0.01),
        },
        "stream" => Kind::Stream {
            count: k.count.unwrap_or(1000),
            interval_ms: k.interval_ms.unwrap_or(0),
            size: size.unwrap_or(64),
        },
        "broadcast" => Kind::Broadcast {
            subscribers: k.subscribers.unwrap_or(100),
            rate: rate.unwrap_or(100.0),
            size: size.unwrap_or(64),
        },
        other => return Err(format!("unknown kind {other:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matrix_expands_to_its_cells_replicas_outermost() {
        let suite = parse(
            r#"
            [defaults]
            repeat = 2
            [[matrix]]
            endpoints = ["framed"]
            replicas = [1, 2]
            clients = [10, 50]
            messages = [1, 100, 1000]
            "#,
        )
        .expect("parses");
        assert_eq!(suite.len(), 12);
        let first = &suite[0];
        assert_eq!(first.name, "matrix/get_item/r1/c10/m1");
        assert_eq!(first.kind, Kind::Concurrency);
        assert_eq!(first.plan.connections, 10);
        assert_eq!(first.plan.requests_per_worker, Some(1));
        assert_eq!(first.repeat, 2);
        assert_eq!(
            first.endpoints.as_deref(),
            Some(&["framed".to_string()][..])
        );
        let replicas: Vec<u32> = suite.iter().filter_map(|t| t.replicas).collect();
        assert_eq!(replicas, [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
        let last = suite.last().and_then(|t| t.cell).expect("a cell");
        assert_eq!(
            last,
            MatrixCell {
                replicas: 2,
                clients: 50,
                messages: Some(1000),
                rate: None
            }
        );
        let rates = parse(
            "[[matrix]]\nkind = \"rate\"\nreplicas = [1]\nclients = [4]\nrate = [100, 200]\n",
        )
        .expect("parses");
        assert_eq!(rates.len(), 2);
        assert_eq!(rates[1].plan.model, Model::Open { rate: 200.0 });
        assert_eq!(rates[1].name, "matrix/get_item/r1/c4/@200");
        let piped = parse(
            "[[matrix]]\nkind = \"pipeline\"\nreplicas = [1]\nclients = [4]\nmessages = [50]\n",
        )
        .expect("parses");
        assert_eq!(
            piped[0].kind,
            Kind::Pipeline {
                depth: 16,
                messages: 50
            }
        );
        let no_replicas = parse("[[matrix]]\nclients = [4]\n");
        assert!(no_replicas.is_err_and(|e| e.to_string().contains("needs replicas")));
        let wrong = parse("[[matrix]]\nkind = \"hold\"\nreplicas = [1]\n");
        assert!(wrong.is_err());
    }

    #[test]
    fn built_in_and_example_suites_parse() {
        for (name, _) in BUILT_IN {
            let cases = load(name).expect("built-in suite parses");
            assert!(!cases.is_empty(), "{name}");
        }
        let example = parse(include_str!("../suites/example.toml")).expect("example parses");
        assert!(example.iter().any(|c| c.name == "item-by-id"));
    }

    #[test]
    fn lists_expand_and_case_knobs_override_defaults() {
        let cases = parse(
            r#"
            [defaults]
            duration = "3s"
            connections = 8
            [[case]]
            kind = "rate"
            op = "score"
            rate = [100, 200]
            connections = 2
            [[case]]
            kind = "throughput"
            op = "echo"
            size = [1, 2, 3]
            "#,
        )
        .expect("parses");
        assert_eq!(cases.len(), 5);
        assert_eq!(cases[0].name, "rate/score@100");
        assert_eq!(cases[0].plan.connections, 2);
        assert_eq!(cases[0].plan.model, Model::Open { rate: 100.0 });
        assert_eq!(cases[2].plan.connections, 8);
        assert_eq!(cases[2].plan.duration, Duration::from_secs(3));
        assert_eq!(cases[4].op, OpSpec::Echo { size: 3 });
    }

    #[test]
    fn bulk_kinds_expand_their_lists() {
        let cases = parse(
            r#"
            [[case]]
            kind = "pipeline"
            op = "ping"
            clients = [10, 20]
            messages = [1, 100]
            depth = 8
            [[case]]
            kind = "transfer"
            size = [10, 20]
            direction = "both"
            whole = true
            requests = 3
            [[case]]
            kind = "hold"
            hold = [5, 6]
            rate = 50
            "#,
        )
        .expect("parses");
        let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names.len(), 10, "{names:?}");
        assert_eq!(names[0], "pipeline/ping/c10/m1/d8");
        assert_eq!(cases[3].plan.connections, 20);
        assert_eq!(names[4], "transfer/download/10B/whole");
        assert_eq!(names[7], "transfer/upload/20B/whole");
        assert!(matches!(
            cases[4].kind,
            Kind::Transfer {
                chunk: None,
                transfers: 3,
                ..
            }
        ));
        assert_eq!(cases[9].name, "hold/ping/6conns");
        assert!(matches!(cases[9].kind, Kind::Hold { probe_rate, .. } if probe_rate == 50.0));
        assert!(parse("[[case]]\nkind = \"transfer\"\ndirection = \"sideways\"\n").is_err());
    }

    #[test]
    fn push_kinds_take_their_parameters_and_need_no_op() {
        let cases = parse(
            r#"
            [[case]]
            kind = "stream"
            count = 50
            size = 16
            [[case]]
            kind = "broadcast"
            subscribers = 20
            rate = [10, 20]
            "#,
        )
        .expect("parses");
        assert_eq!(cases.len(), 3);
        assert_eq!(cases[0].name, "stream/50x16B");
        assert_eq!(
            cases[0].kind,
            Kind::Stream {
                count: 50,
                interval_ms: 0,
                size: 16
            }
        );
        assert_eq!(cases[0].op, OpSpec::Ping);
        assert_eq!(cases[2].name, "broadcast/20subs@20");
        assert!(parse("[[case]]\nkind = \"throughput\"\n").is_err());
    }

    #[test]
    fn mistakes_are_reported() {
        assert!(parse("[[case]]\nkind = \"rate\"\nop = \"ping\"\n").is_err());
        assert!(parse("[[case]]\nkind = \"warp\"\nop = \"ping\"\n").is_err());
        assert!(parse("[[case]]\nkind = \"throughput\"\nop = \"ping\"\nconections = 3\n").is_err());
    }
}
