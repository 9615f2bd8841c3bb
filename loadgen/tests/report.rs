//! Report rendering on the synthetic fixture run: every chart family is drawn,
//! PNGs are real PNGs, SVGs are SVG, report.md / report.html open with the answer
//! (leaders, margins, who may not lead) and then carry the expected sections, a
//! re-render from run.json alone replaces the files, and a chart set that shrinks
//! leaves no stale PNG behind.

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
        // IHDR: the width the chart asked for; the answer's are narrower, to sit
        // side by side.
        let w = u32::from_be_bytes(bytes[16..20].try_into().expect("width"));
        let story = p.to_string_lossy().contains("/answer-");
        assert_eq!(w, if story { 620 } else { 1100 }, "{}", p.display());
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
    // The answer first, then the details: every case, validity, environment, kinds.
    let first = md.lines().find(|l| l.starts_with("## "));
    assert_eq!(first, Some("## The answer"), "{md}");
    assert!(at("## The answer") < at("## All cases"));
    assert!(at("## All cases") < at("## Validity"));
    assert!(at("## Validity") < at("## Environment"));
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
    let h2 = |s: &str| html.find(&format!("<h2>{s}</h2>")).expect(s);
    assert!(html.find("<h2>").is_some_and(|i| i == h2("The answer")));
    assert!(h2("The answer") < h2("All cases") && h2("All cases") < h2("Validity"));
    let embedded = html.matches("src=\"data:image/png;base64,").count();
    assert_eq!(embedded, written.charts.len(), "every chart embedded");
    assert!(!html.contains("src=\"charts/"), "no external image left");
}

/// The answer section of report.md, up to the next section.
fn answer_of(md: &str) -> &str {
    let start = md.find("## The answer").expect("an answer");
    let end = md[start..].find("## All cases").expect("then every case");
    &md[start..start + end]
}

#[test]
fn the_answer_names_leaders_margins_and_who_may_not_lead() {
    let run = support::fixture_run();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = loadgen::results::write(tmp.path(), &run).expect("run written");
    let written = report::write(&dir, &run).expect("report");
    let md = std::fs::read_to_string(&written.markdown).expect("md");
    let answer = answer_of(&md);
    let row = |workload: &str| {
        answer
            .lines()
            .find(|l| l.starts_with(&format!("| {workload} |")))
            .unwrap_or_else(|| panic!("no row for {workload}:\n{answer}"))
    };
    // framed's 30000 req/s was the generator's (client-bound, INVALID) and graphql
    // answered wrongly (FAILED): rest-h1 leads, 21630 / 18025 = 1.2 times rest-h2c.
    assert_eq!(
        row("throughput/get_item"),
        "| throughput/get_item | **rest-h1** 21.6k\u{a0}req/s \
         | 20% ahead of rest-h2c (18.0k\u{a0}req/s) | valid · server-bound \
         | INVALID: framed; FAILED: graphql |"
    );
    // Less is better for latency; rest-h1 / grpc = 460 / 650 µs.
    let latency = row("latency/get_item").replace('\u{a0}', " ");
    assert!(
        latency
            .contains("| **rest-h1** p50 0.460 ms (p99 1.150 ms) | 41% ahead of grpc (0.650 ms) |"),
        "{latency}"
    );
    // The rest-h1 ping's CV is 20%: its lead is within the noise.
    assert!(row("throughput/ping").contains(", within noise |"));
    // sse delivered fastest but lost events: websocket leads the broadcast.
    let broadcast = row("broadcast/100x100");
    assert!(
        broadcast.contains("**websocket**") && broadcast.contains("lost events: sse (10)"),
        "{broadcast}"
    );
    assert!(row("sweep/get_item").contains("| **rest-h1** knee\u{a0}6.75k\u{a0}req/s |"));
    let hold = row("hold/10k");
    assert!(
        hold.contains("| the only one ranked | valid* · co-saturated |"),
        "{hold}"
    );
    assert!(
        row("transfer/download/1500000/0").contains("| **rest-h1** 950.0\u{a0}MB/s | 43% ahead")
    );
    assert!(
        answer.contains("*Leader*: the best figure (throughput: most req/s; rate: lowest p99; ")
    );
    assert!(row("connect/ping").contains("**rest-h1**"));
    // Every case counted by verdict, and the story's charts side by side.
    assert!(answer.contains("\n32 cases: 29 valid, 1 valid\\*, 1 INVALID, 1 FAILED. "));
    let story: Vec<&str> = answer.lines().filter(|l| l.starts_with("![")).collect();
    assert_eq!(story.len(), 3, "{answer}");
    assert!(story[0].contains("(charts/answer-rps-throughput_get_item.png)"));
    assert!(story[1].contains("(charts/answer-spectrum-latency_get_item.png)"));
    assert!(story[2].contains("(charts/answer-connect-connect_ping.png)"));
    // The answer's req/s chart says which bar may not lead.
    let told = report::plan::story(&run);
    let Some(report::chart::Plot::Bars(bars)) = told.first().map(|c| &c.plot) else {
        panic!("req/s bars first")
    };
    let labels: Vec<&str> = bars.series.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["rest-h1", "rest-h2c", "grpc", "framed (INVALID)"]);
}

#[test]
fn an_incomplete_run_says_so_before_anything_else() {
    let mut run = support::fixture_run();
    run.incomplete = Some("interrupted".into());
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = loadgen::results::write(tmp.path(), &run).expect("run written");
    let written = report::write(&dir, &run).expect("report");
    let md = std::fs::read_to_string(&written.markdown).expect("md");
    let lines: Vec<&str> = md.lines().filter(|l| !l.is_empty()).collect();
    assert!(lines[0].starts_with("# protolab run "), "{md}");
    assert!(
        lines[1].starts_with("> **This run is incomplete** (interrupted)"),
        "{md}"
    );
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
