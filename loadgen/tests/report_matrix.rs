//! A matrix run (reference/003's replicas × clients × messages) rendered: its
//! cells get the matrix section (heatmaps with a panel per message count, scaling
//! lines, a 3D surface, the cells table with outliers) and none of the
//! per-workload charts, which would be one per cell.

mod support;

use loadgen::report;
use protolab_bench::{Kind, MatrixCell, OpSpec};

fn matrix_run() -> loadgen::results::Run {
    let mut cases = Vec::new();
    for protocol in ["framed", "rest-h1"] {
        for replicas in [1u32, 2, 4] {
            for clients in [10usize, 50] {
                for messages in [1u64, 100] {
                    let rps =
                        10_000.0 * f64::from(replicas).min(2.0) * (clients as f64 / 10.0).sqrt();
                    let p50 = 200 + 10 * clients as u64 / u64::from(replicas);
                    let reps = (0..3)
                        .map(|i| {
                            support::rep(support::summary(rps * (1.0 + 0.01 * i as f64), p50, 3.0))
                        })
                        .collect();
                    let workload = format!("matrix/get_item/r{replicas}/c{clients}/m{messages}");
                    let mut c = support::case(
                        protocol,
                        &workload,
                        Kind::Concurrency,
                        OpSpec::GetItem { ids: 1000 },
                        reps,
                    );
                    c.cell = Some(MatrixCell {
                        replicas,
                        clients,
                        messages: Some(messages),
                        rate: None,
                    });
                    cases.push(c);
                }
            }
        }
    }
    loadgen::results::Run::new(cases, 1_700_000_000.0)
}

#[test]
fn a_matrix_gets_heatmaps_scaling_lines_a_surface_and_its_cells_table() {
    let run = matrix_run();
    let tmp = tempfile::tempdir().expect("tempdir");
    let root =
        std::env::var_os("REPORT_MATRIX_DIR").map_or_else(|| tmp.path().to_path_buf(), Into::into);
    let dir = loadgen::results::write(&root, &run).expect("run written");
    let written = report::write(&dir, &run).expect("report");
    assert!(written.failed.is_empty(), "{:?}", written.failed);
    let ids: Vec<String> = written
        .charts
        .iter()
        .map(|p| p.file_stem().expect("stem").to_string_lossy().into_owned())
        .collect();
    for protocol in ["framed", "rest-h1"] {
        for family in [
            "matrix-rps",
            "matrix-p99",
            "matrix-scaling",
            "matrix-surface",
        ] {
            let id = format!("{family}-{protocol}-concurrency_get_item");
            assert!(ids.contains(&id), "no chart {id} in {ids:?}");
        }
    }
    assert!(
        ids.iter()
            .all(|i| i.starts_with("matrix-") || i.starts_with("answer-")),
        "per-workload charts for matrix cells: {ids:?}"
    );
    for p in &written.charts {
        let bytes = std::fs::read(p).expect("png");
        assert!(
            bytes.len() > 5_000,
            "{} is {} bytes",
            p.display(),
            bytes.len()
        );
    }
    let md = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    assert!(md.contains("## matrix"), "no matrix section");
    let cells = md
        .lines()
        .filter(|l| l.starts_with("| framed |") || l.starts_with("| rest-h1 |"))
        .count();
    assert_eq!(cells, 24, "a row per cell");
    assert!(md.contains("| outliers |"));
    let answer = md.split("## All cases").next().unwrap_or_default();
    assert!(
        answer.contains("**framed concurrency get_item** (matrix): most calls/s"),
        "{answer}"
    );
    assert!(md.contains("core(s), shared by every replica") || md.contains("![Calls/s"));
}
