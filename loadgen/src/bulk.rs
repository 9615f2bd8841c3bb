//! The `pipeline`, `transfer` and `hold` kinds as the command line and suites name
//! them: their parameters from `run` options, and case names that say what varies
//! (clients, messages, depth; direction, size, chunk; held connections). Parsing
//! and naming only: the runners are `pipeline`, `transfer` and `hold`.

use crate::cli::{DirectionName, KindName, RunOpts};
use crate::driver::OpSpec;
use crate::scenario::Kind;
use crate::stats::Direction;

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

/// A case name for these kinds (`pipeline/ping/c10/m1000/d16`,
/// `transfer/download/1572864B/65536B-chunks`, `hold/ping/1000conns`); `None` for
/// the other kinds, whose names the caller makes. `clients` is the plan's.
pub fn case_name(kind: &Kind, op: &OpSpec, clients: usize) -> Option<String> {
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
        _ => return None,
    })
}

/// What the table's notes column says about a case of these kinds (from its last
/// repetition and its statistics).
pub fn notes(case: &crate::scenario::CaseResult) -> Vec<String> {
    let mut notes = Vec::new();
    let Some(last) = case.repetitions.last() else {
        return notes;
    };
    if let Some(t) = &last.transfer {
        let mbps = case.stats.get("mbps").map_or(0.0, |m| m.mean);
        notes.push(format!(
            "{mbps:.1} MB/s, {} ok, {} integrity failures, largest piece {} B",
            t.transfers, t.integrity_failures, t.largest_piece_bytes
        ));
    }
    if let Some(h) = &last.hold {
        let mut n = format!(
            "held {}/{} ({:.0}/s set-up), probe p99 {:.3} ms",
            h.held,
            h.wanted,
            h.setup_per_sec,
            h.probe.p99_us as f64 / 1000.0
        );
        if let Some(b) = h.server_bytes_per_conn {
            n.push_str(&format!(", server {:.1} KiB/conn", b / 1024.0));
        }
        if h.capped_by_nofile {
            n.push_str(&format!(
                ", CAPPED by the open-file limit {}",
                h.nofile_limit.unwrap_or(0)
            ));
        }
        notes.push(n);
    }
    if let Some(t) = case.stats.get("client_total_s") {
        notes.push(format!("client total {:.3} s (mean)", t.mean));
    }
    notes
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
        assert_eq!(
            case_name(&t, &OpSpec::Ping, 1).as_deref(),
            Some("transfer/upload/10B/whole")
        );
        let p = Kind::Pipeline {
            depth: 4,
            messages: 100,
        };
        assert_eq!(
            case_name(&p, &OpSpec::Ping, 10).as_deref(),
            Some("pipeline/ping/c10/m100/d4")
        );
        assert_eq!(case_name(&Kind::Throughput, &OpSpec::Ping, 1), None);
        assert_eq!(parse_direction("both").map(|d| d.len()), Ok(2));
        assert!(parse_direction("sideways").is_err());
    }
}
