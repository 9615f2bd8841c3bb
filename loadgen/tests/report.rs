//! Report rendering on the synthetic fixture run: every chart family is drawn,
//! PNGs are real PNGs, SVGs are SVG, report.md / report.html carry the expected
//! sections, a re-render from run.json alone replaces the files, and a chart set
//! that shrinks leaves no stale PNG behind.

mod support;

use std::path::Path;

use loadgen::report;

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Renders the fixture into a fresh run directory (or `REPORT_FIXTURE_DIR`, to look at).
fn rendered() -> (tempfile::TempDir, std::path::PathBuf, loadgen::results::Run) {
    let run = support::fixture_run();
    let tmp = tempfile::tempdir().expect("tempdir");
    let root =
        std::env::var_os("REPORT_FIXTURE_DIR").map_or_else(|| tmp.path().to_path_buf(), Into::into);
    let dir = loadgen::results::write(&root, &run).expect("run written");
    (tmp, dir, run)
}

#[test]
fn every_chart_family_is_drawn_as_png() {
    let (_tmp, dir, run) = rendered();
    let written = report::write(&dir, &run).expect("report");
    assert!(written.failed.is_empty(), "{:?}", written.failed);
    let ids: Vec<String> = written
        .charts
        .iter()
        .map(|p| p.file_stem().expect("stem").to_string_lossy().into_owned())
        .collect();
    for prefix in [
        "spectrum-throughput_get_item",
        "boxes-throughput_get_item",
        "throughput-throughput",
        "sweep-sweep_get_item",
        "connect-connect_ping",
        "bandwidth-bandwidth_echo",
        "transfer-download",
        "delivery-broadcast_100x100",
        "probe-hold_10k",
        "usage-throughput_get_item",
        "cpu-efficiency-throughput",
        "memory-per-connection-hold",
    ] {
        assert!(
            ids.iter().any(|i| i == prefix),
            "no chart {prefix} in {ids:?}"
        );
    }
    for p in &written.charts {
        let bytes = std::fs::read(p).expect("png");
        assert!(
            bytes.len() > 5_000,
            "{} is {} bytes",
            p.display(),
            bytes.len()
        );
        assert_eq!(&bytes[..8], PNG_MAGIC, "{}", p.display());
        // IHDR: the width and height the chart asked for.
        let w = u32::from_be_bytes(bytes[16..20].try_into().expect("width"));
        assert_eq!(w, 1100, "{}", p.display());
    }
}

#[test]
fn documents_have_their_sections_in_order() {
    let (_tmp, dir, run) = rendered();
    let written = report::write(&dir, &run).expect("report");
    let md = std::fs::read_to_string(&written.markdown).expect("md");
    let at = |s: &str| {
        md.find(s)
            .unwrap_or_else(|| panic!("report.md lacks {s:?}:\n{md}"))
    };
    // Validity first, then the summary, then the environment, then per-kind sections.
    assert!(at("## Validity") < at("## Summary"));
    assert!(at("## Summary") < at("## Environment"));
    assert!(at("## Environment") < at("## throughput"));
    for s in [
        "## rate",
        "## latency",
        "## connect",
        "## sweep",
        "## bandwidth",
        "## transfer",
        "## hold",
        "## broadcast",
    ] {
        at(s);
    }
    at("**WRONG ANSWER** `graphql/throughput/get_item`");
    at("**high variation** `rest-h1/throughput/ping`: rps CV");
    at("FAILED: verification of get_item failed");
    at("| case | verdict | limit | req/s | p50 ms |");
    at("![Latency by percentile: throughput/get_item](charts/spectrum-throughput_get_item.png)");
    at("**Connection set-up, p50 / p99 ms**");
    at("**Steps**");
    at("**Pushed events (last repetition)**");
    at("**Transfers (all repetitions)**");
    at("**Held connections (last repetition)**");
    at("**Server resources (whole case, warm-up included)**");
    // Every image the document names exists.
    for line in md.lines().filter(|l| l.starts_with("![")) {
        let path = line
            .rsplit_once("](")
            .expect("link")
            .1
            .trim_end_matches(')');
        assert!(dir.join(path).is_file(), "{path}");
    }
    let html = std::fs::read_to_string(&written.html).expect("html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<h2>Validity</h2>") && html.contains("<table>"));
    let embedded = html.matches("src=\"data:image/png;base64,").count();
    assert_eq!(embedded, written.charts.len(), "every chart embedded");
    assert!(!html.contains("src=\"charts/"), "no external image left");
}

#[test]
fn rerender_from_run_json_replaces_and_prunes() {
    let (_tmp, dir, mut run) = rendered();
    let first = report::write(&dir, &run).expect("report");
    let before = std::fs::read_to_string(&first.markdown).expect("md");
    let again = report::rerender(&dir).expect("re-render from run.json");
    assert_eq!(
        std::fs::read_to_string(&again.markdown).expect("md"),
        before
    );
    assert_eq!(again.charts, first.charts);
    // Drop the sweep cases: their chart must go, and no temp files may remain.
    run.cases.retain(|c| c.workload() != "sweep/get_item");
    let json = serde_json::to_vec(&run).expect("json");
    std::fs::write(dir.join("run.json"), json).expect("write");
    let pruned = report::rerender(&dir.join("run.json")).expect("re-render");
    assert!(!dir.join("charts/sweep-sweep_get_item.png").exists());
    assert_eq!(pruned.charts.len() + 1, first.charts.len());
    let leftovers = |d: &Path| {
        std::fs::read_dir(d)
            .expect("dir")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .count()
    };
    assert_eq!(leftovers(&dir) + leftovers(&dir.join("charts")), 0);
}

#[test]
fn charts_render_as_svg_too() {
    let run = support::fixture_run();
    let svgs = report::svgs(&run);
    assert!(svgs.len() >= 12);
    for (chart, svg) in svgs {
        let svg = svg.unwrap_or_else(|e| panic!("{}: {e}", chart.id));
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{}",
            chart.id
        );
        assert!(
            svg.contains(&chart.title.replace('&', "&amp;")),
            "{}: title",
            chart.id
        );
        // Text stays text, in the viewer's sans-serif (no font embedded in the SVG).
        assert!(
            svg.contains("<text") && svg.contains("sans-serif"),
            "{}: fonts",
            chart.id
        );
    }
}
