//! Reports of a run, from run.json alone (`results::Run`), so any past run can be
//! re-rendered: charts (plotters, drawn once per chart into PNG files for the
//! documents or SVG strings for the dashboard), report.md (the answer first, per
//! workload who led and by how much (`answer`), then tables + the PNGs, readable on
//! any git host) and a self-contained report.html (the same document, images
//! embedded); and `compare`, the regression gate between two runs.
//! Never measures and never recomputes a statistic differently from the run: the
//! numbers come from `results` (headline table, efficiency) and the run itself.

pub mod answer;
pub mod axis;
pub mod chart;
pub mod compare;
mod draw;
mod font;
mod html;
mod markdown;
pub mod palette;
pub mod plan;
mod tables;

use std::path::{Path, PathBuf};

use crate::results::files::{write_atomic, OutputError};
use crate::results::Run;

pub use chart::Chart;

/// Folder of the chart PNGs inside a run directory.
pub const CHART_DIR: &str = "charts";

/// Width of the answer's charts, pixels: two side by side on a laptop's screen
/// (1366 px) at 1:1, so their text reads as in every other chart.
const STORY_WIDTH: u32 = 620;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The embedded font did not parse (a broken build, never the input).
    #[error("the embedded chart font could not be loaded")]
    Font,
    /// plotters or the PNG encoder failed on one chart.
    #[error("chart {chart}: {msg}")]
    Draw { chart: String, msg: String },
    /// Reading run.json or writing a report file failed.
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// What `write` produced.
#[derive(Debug, Clone)]
pub struct Written {
    pub markdown: PathBuf,
    pub html: PathBuf,
    pub charts: Vec<PathBuf>,
    /// Charts that could not be drawn, and why (the documents say so too).
    pub failed: Vec<String>,
}

/// Writes `run` under `root/<run-id>/` (`results::write`) and then its report;
/// returns the directory. The numbers are safe on disk first: a report that fails
/// is a warning, not a lost run.
pub fn save(root: &Path, run: &Run) -> anyhow::Result<PathBuf> {
    use anyhow::Context;
    let dir = crate::results::write(root, run).context("writing results")?;
    eprintln!("results in {}", dir.display());
    match write(&dir, run) {
        Ok(w) => written(&w),
        Err(e) => eprintln!("warning: report not written: {e}"),
    }
    Ok(dir)
}

/// Tells where a report went (and which charts failed) on stderr.
pub fn written(w: &Written) {
    for f in &w.failed {
        eprintln!("warning: {f}");
    }
    eprintln!(
        "report in {} and {} ({} charts)",
        w.markdown.display(),
        w.html.display(),
        w.charts.len()
    );
}

/// Every chart of `run` as SVG documents, by chart (for the dashboard).
pub fn svgs(run: &Run) -> Vec<(Chart, Result<String, ReportError>)> {
    plan::charts(run)
        .into_iter()
        .map(|c| {
            let svg = c.svg();
            (c, svg)
        })
        .collect()
}

/// Writes `dir/charts/*.png`, `dir/report.md` and `dir/report.html` for `run`,
/// each file atomically; PNGs left from an earlier rendering that this one no
/// longer draws are removed. A chart that fails to draw is left out and listed.
pub fn write(dir: &Path, run: &Run) -> Result<Written, ReportError> {
    let chart_dir = dir.join(CHART_DIR);
    std::fs::create_dir_all(&chart_dir).map_err(|source| OutputError::Io {
        path: chart_dir.clone(),
        source,
    })?;
    let mut failed = Vec::new();
    let drawn = draw(plan::charts(run), Chart::png, &mut failed);
    let story = draw(plan::story(run), |c| c.png_at(STORY_WIDTH), &mut failed);
    let mut charts = Vec::new();
    for (c, png) in drawn.iter().chain(&story) {
        let path = chart_dir.join(format!("{}.png", c.id));
        write_atomic(&path, png)?;
        charts.push(path);
    }
    remove_stale(&chart_dir, &charts);
    let only: Vec<&Chart> = drawn.iter().map(|(c, _)| c).collect();
    let told: Vec<&Chart> = story.iter().map(|(c, _)| c).collect();
    let md = markdown::document(run, &only, &told, &failed);
    let markdown = dir.join("report.md");
    write_atomic(&markdown, md.as_bytes())?;
    let images: Vec<(Chart, Vec<u8>)> = drawn.into_iter().chain(story).collect();
    let page = html::document(&format!("protolab run {}", run.run_id), &md, &images);
    let html = dir.join("report.html");
    write_atomic(&html, page.as_bytes())?;
    Ok(Written {
        markdown,
        html,
        charts,
        failed,
    })
}

/// Each chart drawn by `render`; one that fails is left out and listed in `failed`.
fn draw(
    charts: Vec<Chart>,
    render: impl Fn(&Chart) -> Result<Vec<u8>, ReportError>,
    failed: &mut Vec<String>,
) -> Vec<(Chart, Vec<u8>)> {
    let mut drawn = Vec::new();
    for c in charts {
        match render(&c) {
            Ok(png) => drawn.push((c, png)),
            Err(e) => {
                tracing::warn!(error = %e, "chart not drawn");
                failed.push(e.to_string());
            }
        }
    }
    drawn
}

/// Re-renders the report of the run in `path` (a run directory or its run.json).
pub fn rerender(path: &Path) -> Result<Written, ReportError> {
    let run = crate::results::read(path)?;
    let dir = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    };
    write(&dir, &run)
}

/// Removes `*.png` files in `chart_dir` that are not in `keep` (best effort: a
/// stale chart left behind is only clutter).
fn remove_stale(chart_dir: &Path, keep: &[PathBuf]) {
    let Ok(entries) = std::fs::read_dir(chart_dir) else {
        return;
    };
    for e in entries.filter_map(Result::ok) {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "png") && !keep.contains(&p) {
            let _ = std::fs::remove_file(&p);
        }
    }
}
