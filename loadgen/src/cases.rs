//! Cases as the command line and suites name them: the parameters of the kinds
//! with many (pipeline, transfer, hold) from `run` options, and case names that say
//! what varies (clients, messages, depth; direction, size, chunk; held connections;
//! events, subscribers). Parsing and naming only: `protolab_bench` runs them.

use protolab_bench::{Direction, Kind, KindName, OpSpec};

use crate::cli::{DirectionName, RunOpts};

/// The directions a `--direction` (or a suite's `direction`) stands for.
pub fn directions(d: DirectionName) -> Vec<Direction> {
    match d {
        DirectionName::Upload => vec![Direction::Upload],
        DirectionName::Download => vec![Direction::Download],
        DirectionName::Both => vec![Direction::Download, Direction::Upload],
    }
}

/// A suite's direction word.
pub fn parse_direction(s: &str) -> Result<Vec<Direction>, String> {
    match s {
        "upload" | "up" => Ok(vec![Direction::Upload]),
        "download" | "down" => Ok(vec![Direction::Download]),
        "both" => Ok(directions(DirectionName::Both)),
        other => Err(format!(
            "direction {other:?} is not upload, download or both"
        )),
    }
}

/// The kinds an ad-hoc `run` of one of these kinds covers (transfer: one per size
/// and direction); `None` for every other kind.
pub fn adhoc_kinds(o: &RunOpts, name: KindName) -> Option<Vec<Kind>> {
    match name {
        KindName::Pipeline => Some(vec![Kind::Pipeline {
            depth: o.depth.max(1),
            messages: o.messages.max(1),
        }]),
        KindName::Transfer => {
            let chunk = (!o.whole).then_some(o.chunk.max(1));
            let mut kinds = Vec::new();
            for size in &o.transfer_sizes {
                for direction in directions(o.direction) {
                    kinds.push(Kind::Transfer {
                        direction,
                        size: *size,
                        chunk,
                        transfers: o.transfers.max(1),
                    });
                }
            }
            Some(kinds)
        }
        KindName::Hold => Some(vec![Kind::Hold {
            connections: o.hold as usize,
            probe_rate: o.probe_rate,
            admin: o.admin.clone(),
        }]),
        _ => None,
    }
}

fn direction_word(d: Direction) -> &'static str {
    match d {
        Direction::Upload => "upload",
        Direction::Download => "download",
    }
}

/// A case's name without its endpoint: `<kind>/<op>` (`throughput/get_item`,
/// `bandwidth/echo/1024B`), or what varies for the kinds with many parameters.
/// `clients` is the plan's.
pub fn case_name(kind: &Kind, op: &OpSpec, clients: usize) -> String {
    if let Some(name) = parameter_name(kind, op, clients) {
        return name;
    }
    match (kind, op) {
        (Kind::Bandwidth, OpSpec::Echo { size }) => format!("bandwidth/echo/{size}B"),
        _ => format!("{}/{}", kind.name(), op.name()),
    }
}

/// A name for the kinds named by their parameters (`pipeline/ping/c10/m1000/d16`,
/// `transfer/download/1572864B/65536B-chunks`, `hold/ping/1000conns`,
/// `stream/1000x64B`, `broadcast/100subs@100`); `None` for the others, which are
/// named by their op. `clients` is the plan's.
pub fn parameter_name(kind: &Kind, op: &OpSpec, clients: usize) -> Option<String> {
    Some(match kind {
        Kind::Pipeline { depth, messages } => {
            format!("pipeline/{}/c{clients}/m{messages}/d{depth}", op.name())
        }
        Kind::Transfer {
            direction,
            size,
            chunk,
            ..
        } => {
            let pieces = chunk.map_or("whole".to_string(), |c| format!("{c}B-chunks"));
            format!("transfer/{}/{size}B/{pieces}", direction_word(*direction))
        }
        Kind::Hold { connections, .. } => format!("hold/{}/{connections}conns", op.name()),
        Kind::Stream { count, size, .. } => format!("stream/{count}x{size}B"),
        Kind::Broadcast {
            subscribers, rate, ..
        } => format!("broadcast/{subscribers}subs@{rate}"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_what_varies() {
        let t = Kind::Transfer {
            direction: Direction::Upload,
            size: 10,
            chunk: None,
            transfers: 1,
        };
        assert_eq!(case_name(&t, &OpSpec::Ping, 1), "transfer/upload/10B/whole");
        let p = Kind::Pipeline {
            depth: 4,
            messages: 100,
        };
        assert_eq!(
            case_name(&p, &OpSpec::Ping, 10),
            "pipeline/ping/c10/m100/d4"
        );
        assert_eq!(
            case_name(&Kind::Throughput, &OpSpec::Ping, 1),
            "throughput/ping"
        );
        let bw = OpSpec::Echo { size: 1024 };
        assert_eq!(case_name(&Kind::Bandwidth, &bw, 1), "bandwidth/echo/1024B");
        assert_eq!(parameter_name(&Kind::Throughput, &OpSpec::Ping, 1), None);
        assert_eq!(parse_direction("both").map(|d| d.len()), Ok(2));
        assert!(parse_direction("sideways").is_err());
    }
}
