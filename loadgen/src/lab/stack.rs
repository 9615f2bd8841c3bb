//! compose.yaml as a Docker Swarm stack file (`loadgen stack`, which `make swarm-up`
//! runs from the loadgen image): the same services, images, environment, hardening
//! and healthchecks, with what swarm needs differently.
//!
//! `docker stack deploy` reads only the 3.x compose format, and compose.yaml is 2.4
//! (docker-compose 1.29 needs it for `cpus`, `mem_limit` and `cpuset`). So the stack
//! file is derived from compose.yaml, never written by hand, and the two cannot drift:
//!
//! - services under a profile (the loadgen tools, the dashboard) are left out, but
//!   for the generator's workers (profile `workers`, `loadgen worker`), which are
//!   kept when workers are asked for: that many replicas, each told its slot
//!   (`TASK_SLOT`, its index in the fleet), placed away from nodes labelled
//!   `protolab.role=server`;
//! - one-shot services others wait for (`service_completed_successfully`: the seed)
//!   are left out; swarm has no such ordering. Each server seeds the dataset itself
//!   when it finds none (atomically: a temp file renamed into place), so the volumes
//!   the one-shot wrote are mounted writable;
//! - `cpus` and `mem_limit` become `deploy.resources.limits`; `cpuset`, `build`,
//!   `depends_on`, `group_add` and `security_opt` go (swarm has no cpuset and ignores
//!   the others); `tmpfs` becomes a tmpfs mount, which swarm supports;
//! - `deploy`: the replicas asked for, `endpoint_mode: dnsrr` (the service's name
//!   resolves to every replica, and the generator spreads its connections over them;
//!   swarm's virtual IP needs the kernel's IPVS, which many hosts, this lab's CI
//!   among them, lack), and placement away from nodes labelled
//!   `protolab.role=loadgen`;
//! - `hostname: <stack>_<service>.<slot>`: the name each replica reports (core's
//!   `process::replica`);
//! - no published ports: with `dnsrr` swarm refuses ingress ports, and host-mode
//!   ports allow one replica per node. The generator runs on the stack's network,
//!   which is attachable (`make swarm-bench`);
//! - relative bind mounts are made absolute against the project folder (the
//!   certificates: on several nodes, that folder must exist on each server node);
//! - `${VAR:-default}` is left for `docker stack deploy`, which substitutes the
//!   environment as compose does.

use std::collections::BTreeSet;
use std::path::Path;

use serde_norway::{Mapping, Value};

/// What the stack file is made with.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Replicas of every server.
    pub replicas: u32,
    /// The folder compose.yaml's relative paths are relative to.
    pub project_dir: std::path::PathBuf,
    /// Only these servers (all when empty).
    pub servers: Vec<String>,
    /// Replicas of the generator's worker service (0: left out).
    pub workers: u32,
}

/// The profile of compose.yaml's generator workers.
pub const WORKERS_PROFILE: &str = "workers";

/// Errors turning compose.yaml into a stack file.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("compose file is not YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
    #[error("compose file has no `services` mapping")]
    NoServices,
}

/// Keys of a 2.4 service that a stack file has no place for.
const DROPPED: [&str; 10] = [
    "build",
    "cpus",
    "cpuset",
    "mem_limit",
    "memswap_limit",
    "depends_on",
    "group_add",
    "security_opt",
    "ports",
    "tmpfs",
];

/// The node label that keeps servers off the generator's nodes.
pub const SERVER_PLACEMENT: &str = "node.labels.protolab.role != loadgen";
/// The node label that keeps generator workers off the servers' nodes.
pub const WORKER_PLACEMENT: &str = "node.labels.protolab.role != server";

/// The stack file (YAML) for compose file `compose`.
pub fn stack_of(compose: &str, opts: &StackOptions) -> Result<String, StackError> {
    let mut doc: Value = serde_norway::from_str(compose)?;
    // A merge can bring in a mapping with merge keys of its own (`<<: *server`,
    // itself `<<: [*common, ...]`): merge until none is left.
    for _ in 0..MAX_MERGE_DEPTH {
        if !has_merge_key(&doc) {
            break;
        }
        doc.apply_merge()?;
    }
    let Value::Mapping(top) = doc else {
        return Err(StackError::NoServices);
    };
    let Some(Value::Mapping(services)) = top.get("services") else {
        return Err(StackError::NoServices);
    };
    let one_shots = one_shots(services);
    let written = volumes_of(services, &one_shots);
    let mut out_services = Mapping::new();
    for (name, service) in services {
        let (Some(name), Value::Mapping(service)) = (name.as_str(), service) else {
            continue;
        };
        if in_profile(service, WORKERS_PROFILE) {
            if opts.workers > 0 {
                out_services.insert(name.into(), worker(service, &written, opts).into());
            }
            continue;
        }
        let unasked = !opts.servers.is_empty() && !opts.servers.iter().any(|s| s == name);
        if service.contains_key("profiles") || one_shots.contains(name) || unasked {
            continue;
        }
        out_services.insert(name.into(), server(service, &written, opts).into());
    }
    let mut out = Mapping::new();
    out.insert("version".into(), "3.8".into());
    out.insert("services".into(), out_services.into());
    if let Some(Value::Mapping(networks)) = top.get("networks") {
        let mut overlay = Mapping::new();
        for (name, config) in networks {
            let mut config = match config {
                Value::Mapping(m) => m.clone(),
                _ => Mapping::new(),
            };
            config.insert("driver".into(), "overlay".into());
            config.insert("attachable".into(), true.into());
            overlay.insert(name.clone(), config.into());
        }
        out.insert("networks".into(), overlay.into());
    }
    if let Some(volumes) = top.get("volumes") {
        out.insert("volumes".into(), volumes.clone());
    }
    let header = "# Generated by `loadgen stack` from compose.yaml (make swarm-up): do not edit.\n";
    Ok(format!("{header}{}", serde_norway::to_string(&out)?))
}

/// How deep `<<` merges may nest.
const MAX_MERGE_DEPTH: usize = 8;

/// Whether a `<<` key is left anywhere in `v`.
fn has_merge_key(v: &Value) -> bool {
    match v {
        Value::Mapping(m) => m
            .iter()
            .any(|(k, v)| k.as_str() == Some("<<") || has_merge_key(v)),
        Value::Sequence(s) => s.iter().any(has_merge_key),
        _ => false,
    }
}

/// Services that others wait for to complete: run once, not replicated.
fn one_shots(services: &Mapping) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for service in services.values() {
        let Some(Value::Mapping(deps)) = service.get("depends_on") else {
            continue;
        };
        for (dep, how) in deps {
            let completes = how.get("condition").and_then(Value::as_str)
                == Some("service_completed_successfully");
            if let (true, Some(dep)) = (completes, dep.as_str()) {
                out.insert(dep.to_string());
            }
        }
    }
    out
}

/// Named volumes the `one_shots` mount (what they write for the others).
fn volumes_of(services: &Mapping, one_shots: &BTreeSet<String>) -> BTreeSet<String> {
    one_shots
        .iter()
        .filter_map(|s| services.get(s.as_str())?.get("volumes")?.as_sequence())
        .flatten()
        .filter_map(|v| Some(v.as_str()?.split(':').next()?.to_string()))
        .collect()
}

/// One server's service as swarm runs it.
fn server(service: &Mapping, written: &BTreeSet<String>, opts: &StackOptions) -> Mapping {
    let mut out = service.clone();
    for key in DROPPED {
        out.remove(key);
    }
    let mut volumes: Vec<Value> = service
        .get("volumes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .map(|v| match v.as_str() {
            Some(short) => volume(short, written, &opts.project_dir).into(),
            None => v.clone(),
        })
        .collect();
    volumes.extend(
        service
            .get("tmpfs")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(tmpfs_mount),
    );
    if !volumes.is_empty() {
        out.insert("volumes".into(), volumes.into());
    }
    let mut limits = Mapping::new();
    if let Some(cpus) = service.get("cpus") {
        limits.insert("cpus".into(), scalar_string(cpus).into());
    }
    if let Some(memory) = service.get("mem_limit") {
        limits.insert("memory".into(), scalar_string(memory).into());
    }
    let mut deploy = Mapping::new();
    deploy.insert("replicas".into(), opts.replicas.into());
    deploy.insert("endpoint_mode".into(), "dnsrr".into());
    if !limits.is_empty() {
        let mut resources = Mapping::new();
        resources.insert("limits".into(), limits.into());
        deploy.insert("resources".into(), resources.into());
    }
    let mut placement = Mapping::new();
    placement.insert("constraints".into(), vec![SERVER_PLACEMENT].into());
    deploy.insert("placement".into(), placement.into());
    out.insert("deploy".into(), deploy.into());
    out.insert("hostname".into(), "{{.Service.Name}}.{{.Task.Slot}}".into());
    out
}

/// Whether `service` is under `profile`.
fn in_profile(service: &Mapping, profile: &str) -> bool {
    service
        .get("profiles")
        .and_then(Value::as_sequence)
        .is_some_and(|p| p.iter().any(|v| v.as_str() == Some(profile)))
}

/// The generator's worker service as swarm runs it: a server's conversion, with
/// its own replicas and placement, and each replica told its slot.
fn worker(service: &Mapping, written: &BTreeSet<String>, opts: &StackOptions) -> Mapping {
    let mut out = server(service, written, opts);
    out.remove("profiles");
    if let Some(Value::Mapping(deploy)) = out.get_mut("deploy") {
        deploy.insert("replicas".into(), opts.workers.into());
        let mut placement = Mapping::new();
        placement.insert("constraints".into(), vec![WORKER_PLACEMENT].into());
        deploy.insert("placement".into(), placement.into());
    }
    let mut env = match out.get("environment") {
        Some(Value::Mapping(m)) => m.clone(),
        _ => Mapping::new(),
    };
    env.insert("TASK_SLOT".into(), "{{.Task.Slot}}".into());
    out.insert("environment".into(), env.into());
    out
}

/// A short-syntax mount (`source:target[:mode]`): a written volume loses `:ro`, a
/// relative bind source becomes absolute.
fn volume(short: &str, written: &BTreeSet<String>, project_dir: &Path) -> String {
    let mut parts: Vec<String> = short.split(':').map(str::to_string).collect();
    if written.contains(&parts[0]) && parts.get(2).map(String::as_str) == Some("ro") {
        parts.truncate(2);
    }
    if let Some(rel) = parts[0].strip_prefix("./") {
        parts[0] = project_dir.join(rel).display().to_string();
    }
    parts.join(":")
}

/// compose's `tmpfs: /path:size=64m,...` as a long-syntax tmpfs mount.
fn tmpfs_mount(spec: &str) -> Value {
    let (target, options) = spec.split_once(':').unwrap_or((spec, ""));
    let mut mount = Mapping::new();
    mount.insert("type".into(), "tmpfs".into());
    mount.insert("target".into(), target.into());
    let size = options
        .split(',')
        .find_map(|o| o.strip_prefix("size="))
        .and_then(bytes_of);
    if let Some(size) = size {
        let mut tmpfs = Mapping::new();
        tmpfs.insert("size".into(), size.into());
        mount.insert("tmpfs".into(), tmpfs.into());
    }
    mount.into()
}

/// `64m`, `1g`, `4096` as bytes.
fn bytes_of(size: &str) -> Option<u64> {
    let size = size.trim().to_ascii_lowercase();
    let (digits, unit) = match size.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => size.split_at(i),
        None => (size.as_str(), ""),
    };
    let scale = match unit.trim_end_matches('b') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(scale)
}

/// A scalar as the string a stack file's resource limits want.
fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => serde_norway::to_string(other)
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The repository's own compose.yaml.
    const COMPOSE: &str = include_str!("../../../compose.yaml");

    fn stack(replicas: u32) -> Mapping {
        let opts = StackOptions {
            replicas,
            project_dir: "/srv/protolab".into(),
            servers: Vec::new(),
            workers: 0,
        };
        let text = stack_of(COMPOSE, &opts).expect("compose.yaml converts");
        match serde_norway::from_str(&text) {
            Ok(Value::Mapping(m)) => m,
            other => panic!("stack file is not a mapping: {other:?}"),
        }
    }

    fn services(stack: &Mapping) -> &Mapping {
        stack
            .get("services")
            .and_then(Value::as_mapping)
            .expect("services")
    }

    #[test]
    fn every_server_of_compose_yaml_is_in_the_stack_and_nothing_else() {
        let stack = stack(3);
        let names: BTreeSet<&str> = services(&stack).keys().filter_map(Value::as_str).collect();
        let servers: BTreeSet<&str> =
            ["rest", "graphql", "sse", "websocket", "grpc", "binary"].into();
        assert_eq!(
            names, servers,
            "tools (profiles) and the one-shot seed stay out"
        );
        assert_eq!(stack.get("version").and_then(Value::as_str), Some("3.8"));
    }

    #[test]
    fn servers_are_replicated_balanced_by_dns_limited_and_placed() {
        let stack = stack(4);
        let rest = services(&stack)
            .get("rest")
            .and_then(Value::as_mapping)
            .expect("rest");
        let deploy = rest.get("deploy").expect("deploy");
        assert_eq!(deploy.get("replicas").and_then(Value::as_u64), Some(4));
        assert_eq!(
            deploy.get("endpoint_mode").and_then(Value::as_str),
            Some("dnsrr")
        );
        let limits = &deploy["resources"]["limits"];
        assert_eq!(limits["cpus"].as_str(), Some("${SERVER_CPUS:-1}"));
        assert_eq!(limits["memory"].as_str(), Some("${SERVER_MEM:-512m}"));
        assert_eq!(
            deploy["placement"]["constraints"][0].as_str(),
            Some(SERVER_PLACEMENT)
        );
        for key in DROPPED {
            assert!(!rest.contains_key(key), "{key} left in the stack's rest");
        }
        assert_eq!(
            rest.get("image").and_then(Value::as_str),
            Some("protolab/rest:${IMAGE_TAG:-latest}")
        );
        // compose.yaml's hardening and healthcheck carry over.
        assert_eq!(rest.get("read_only").and_then(Value::as_bool), Some(true));
        assert_eq!(rest["cap_drop"][0].as_str(), Some("ALL"));
        assert!(rest.contains_key("healthcheck"));
        assert_eq!(
            rest["hostname"].as_str(),
            Some("{{.Service.Name}}.{{.Task.Slot}}")
        );
    }

    #[test]
    fn the_dataset_is_writable_certs_absolute_and_tmp_a_tmpfs_mount() {
        let stack = stack(1);
        let volumes = services(&stack)["binary"]["volumes"]
            .as_sequence()
            .expect("volumes")
            .clone();
        assert!(volumes.contains(&"dataset:/data".into()), "{volumes:?}");
        assert!(
            volumes.contains(&"/srv/protolab/certs:/certs:ro".into()),
            "{volumes:?}"
        );
        let tmpfs = volumes
            .iter()
            .find(|v| v.get("type").and_then(Value::as_str) == Some("tmpfs"))
            .expect("a tmpfs mount");
        assert_eq!(tmpfs["target"].as_str(), Some("/tmp"));
        assert_eq!(tmpfs["tmpfs"]["size"].as_u64(), Some(64 << 20));
        assert_eq!(stack["networks"]["lab"]["driver"].as_str(), Some("overlay"));
        assert_eq!(stack["networks"]["lab"]["attachable"].as_bool(), Some(true));
        assert!(stack["volumes"].get("dataset").is_some());
    }

    #[test]
    fn servers_can_be_narrowed() -> Result<(), StackError> {
        let opts = StackOptions {
            replicas: 2,
            project_dir: ".".into(),
            servers: vec!["rest".into(), "binary".into()],
            workers: 0,
        };
        let stack: Value = serde_norway::from_str(&stack_of(COMPOSE, &opts)?)?;
        let names: Vec<&str> = stack["services"]
            .as_mapping()
            .into_iter()
            .flat_map(|m| m.keys())
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(names, ["rest", "binary"]);
        Ok(())
    }

    #[test]
    fn workers_join_the_stack_when_asked_each_told_its_slot() -> Result<(), StackError> {
        let opts = StackOptions {
            replicas: 2,
            project_dir: "/srv/protolab".into(),
            servers: vec!["rest".into()],
            workers: 3,
        };
        let stack: Value = serde_norway::from_str(&stack_of(COMPOSE, &opts)?)?;
        let worker = &stack["services"]["loadgen-worker"];
        assert_eq!(worker["deploy"]["replicas"].as_u64(), Some(3));
        assert_eq!(worker["deploy"]["endpoint_mode"].as_str(), Some("dnsrr"));
        assert_eq!(
            worker["deploy"]["placement"]["constraints"][0].as_str(),
            Some(WORKER_PLACEMENT)
        );
        assert_eq!(
            worker["environment"]["TASK_SLOT"].as_str(),
            Some("{{.Task.Slot}}")
        );
        assert!(worker.get("profiles").is_none());
        assert_eq!(worker["command"][0].as_str(), Some("worker"));
        assert_eq!(
            worker["volumes"][0].as_str(),
            Some("/srv/protolab/certs:/certs:ro")
        );
        Ok(())
    }

    #[test]
    fn sizes_parse_as_docker_writes_them() {
        assert_eq!(bytes_of("64m"), Some(64 << 20));
        assert_eq!(bytes_of("1g"), Some(1 << 30));
        assert_eq!(bytes_of("512kb"), Some(512 << 10));
        assert_eq!(bytes_of("4096"), Some(4096));
        assert_eq!(bytes_of("12x"), None);
    }

    #[test]
    fn a_file_without_services_is_refused() {
        let opts = StackOptions {
            replicas: 1,
            project_dir: ".".into(),
            servers: Vec::new(),
            workers: 0,
        };
        assert!(matches!(
            stack_of("version: '2.4'\n", &opts),
            Err(StackError::NoServices)
        ));
        assert!(matches!(
            stack_of("services: [", &opts),
            Err(StackError::Yaml(_))
        ));
    }
}
