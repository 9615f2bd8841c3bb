//! Past runs in the results folder: the list (with the pick-two compare form), one
//! run (headline table, charts, environment) and the comparison of two. Everything
//! comes from run.json through the code the CLI uses: `results::table::headline`,
//! `report::svgs` (the report's plotters charts, as SVG) and `report::compare`.

use std::path::{Path, PathBuf};

use crate::report::compare;
use crate::results::{self, table, Run};

use super::pages::{esc, layout, Tab};

/// Why a run page cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("no run {0:?} in the results folder")]
    NotFound(String),
    #[error("run {id}: {msg}")]
    Unreadable { id: String, msg: String },
    #[error("{0}")]
    Compare(String),
}

/// A run id that can only name a folder directly inside `root`.
pub fn run_dir(root: &Path, id: &str) -> Result<PathBuf, HistoryError> {
    let safe = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !id.starts_with('.');
    let dir = root.join(id);
    if !safe || !dir.join("run.json").is_file() {
        return Err(HistoryError::NotFound(id.into()));
    }
    Ok(dir)
}

/// Reads run `id`.
pub fn read(root: &Path, id: &str) -> Result<Run, HistoryError> {
    let dir = run_dir(root, id)?;
    results::read(&dir).map_err(|e| HistoryError::Unreadable {
        id: id.into(),
        msg: e.to_string(),
    })
}

/// Run ids in `root`, newest first.
pub fn run_ids(root: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join("run.json").is_file())
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    ids
}

/// The list of runs and the compare form.
pub fn list_page(root: &Path, csrf: &str) -> String {
    let ids = run_ids(root);
    let mut rows = String::new();
    for id in &ids {
        let (cases, what, bad) = match results::read(&root.join(id)) {
            Ok(run) => {
                let broken = run.cases.iter().filter(|c| c.broken()).count();
                let invalid = run.cases.iter().filter(|c| !c.valid && !c.broken()).count();
                let bad = match (broken, invalid) {
                    (0, 0) => String::new(),
                    (b, i) => format!("{b} failed, {i} invalid"),
                };
                (run.cases.len().to_string(), run.command.join(" "), bad)
            }
            Err(e) => (String::new(), format!("unreadable: {e}"), String::new()),
        };
        rows.push_str(&format!(
            "<tr><td><a href=\"/runs/{id}\">{id}</a></td><td class=\"num\">{cases}</td><td class=\"error\">{bad}</td><td><code>{what}</code></td></tr>",
            id = esc(id),
            bad = esc(&bad),
            what = esc(&what),
        ));
    }
    // Defaults: the newest run as candidate, the one before it as baseline.
    let options = |pick: usize| -> String {
        ids.iter()
            .enumerate()
            .map(|(n, i)| {
                let sel = if n == pick { " selected" } else { "" };
                format!("<option{sel}>{}</option>", esc(i))
            })
            .collect()
    };
    let body = if ids.is_empty() {
        format!(
            "<h1>Results</h1><p>No runs in <code>{}</code> yet: launch one on the <a href=\"/\">lab page</a>.</p>",
            esc(&root.display().to_string())
        )
    } else {
        format!(
            r#"<h1>Results</h1>
<form class="card" action="/compare" method="get"><h2>Compare two runs</h2>
<label>baseline <select name="baseline">{base}</select></label>
<label>candidate <select name="candidate">{candidate}</select></label>
<button type="submit">Compare</button></form>
<table class="grid"><thead><tr><th>run</th><th class="num">cases</th><th>problems</th><th>command</th></tr></thead><tbody>{rows}</tbody></table>"#,
            base = options(1.min(ids.len() - 1)),
            candidate = options(0),
        )
    };
    layout("results", Tab::Results, csrf, &body)
}

/// The headline table as HTML (the same rows `loadgen` prints).
fn headline_html(run: &Run) -> String {
    let t = table::headline(run);
    let head: String = table::HEADER
        .iter()
        .map(|h| format!("<th>{}</th>", esc(h)))
        .collect();
    let mut rows = String::new();
    for (workload, group) in &t.groups {
        rows.push_str(&format!(
            "<tr class=\"group\"><th colspan=\"{}\">{}</th></tr>",
            table::HEADER.len(),
            esc(workload)
        ));
        for r in group {
            match r {
                table::Row::Measured { cells, detail } => {
                    let tds: String = cells
                        .iter()
                        .enumerate()
                        .map(|(i, c)| {
                            let class = if i == 0 || i + 1 == cells.len() {
                                ""
                            } else {
                                " class=\"num\""
                            };
                            format!("<td{class}>{}</td>", esc(c))
                        })
                        .collect();
                    rows.push_str(&format!("<tr>{tds}</tr>"));
                    if let Some(d) = detail {
                        rows.push_str(&format!(
                            "<tr><td></td><td colspan=\"{}\" class=\"muted\">{}</td></tr>",
                            table::HEADER.len() - 1,
                            esc(d)
                        ));
                    }
                }
                table::Row::Unmeasured { case, status, why } => rows.push_str(&format!(
                    "<tr><td>{}</td><td colspan=\"{}\" class=\"{}\">{}: {}</td></tr>",
                    esc(case),
                    table::HEADER.len() - 1,
                    if *status == "FAILED" {
                        "error"
                    } else {
                        "muted"
                    },
                    esc(status),
                    esc(why)
                )),
            }
        }
    }
    format!("<table class=\"grid headline\"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
}

/// One run: headline table, charts by section, environment.
pub fn run_page(run: &Run, csrf: &str) -> String {
    let mut body = format!(
        "<h1>Run {id}</h1><p><code>{cmd}</code></p><h2>Headline</h2>{table}",
        id = esc(&run.run_id),
        cmd = esc(&run.command.join(" ")),
        table = headline_html(run),
    );
    if !run.environment.warnings.is_empty() {
        body.push_str("<h2>Warnings</h2><ul class=\"warnings\">");
        for w in &run.environment.warnings {
            body.push_str(&format!("<li>{}</li>", esc(w)));
        }
        body.push_str("</ul>");
    }
    body.push_str("<h2>Charts</h2>");
    let mut section = String::new();
    for (chart, svg) in crate::report::svgs(run) {
        if chart.section != section {
            section = chart.section.clone();
            body.push_str(&format!("<h3>{}</h3>", esc(&section)));
        }
        match svg {
            // plotters writes a bare <svg> element: inline it (text stays text).
            Ok(svg) => body.push_str(&format!(
                "<figure class=\"chart\" id=\"chart-{}\">{}</figure>",
                esc(&chart.id),
                svg.trim_start_matches(|c: char| c != '<')
            )),
            Err(e) => body.push_str(&format!(
                "<p class=\"error\">chart {} not drawn: {}</p>",
                esc(&chart.title),
                esc(&e.to_string())
            )),
        }
    }
    body.push_str("<h2>Environment</h2><table class=\"kv\">");
    if let Ok(serde_json::Value::Object(env)) = serde_json::to_value(&run.environment) {
        for (k, v) in env.iter().filter(|(k, _)| *k != "warnings") {
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "—".into(),
                other => other.to_string(),
            };
            body.push_str(&format!("<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v)));
        }
    }
    body.push_str("</table>");
    layout(&format!("run {}", run.run_id), Tab::Results, csrf, &body)
}

/// The `compare` table of two runs (the CLI's text, and its verdict).
pub fn compare_page(
    root: &Path,
    baseline: &str,
    candidate: &str,
    csrf: &str,
) -> Result<String, HistoryError> {
    let (base, cand) = (read(root, baseline)?, read(root, candidate)?);
    let metrics = ["p99".to_string(), "rps".to_string()];
    let cmp = compare::compare(&base, &cand, 0.10, &metrics)
        .map_err(|e| HistoryError::Compare(e.to_string()))?;
    let verdict = if cmp.failed() {
        "<p class=\"error\"><strong>The gate fails:</strong> a regression beyond 10% outside the noise, or a broken case.</p>"
    } else {
        "<p class=\"ok\"><strong>The gate passes</strong> (10% on p99 and req/s).</p>"
    };
    let body = format!(
        "<h1>Compare</h1><p>baseline <a href=\"/runs/{b}\">{b}</a>, candidate <a href=\"/runs/{c}\">{c}</a></p>{verdict}<pre class=\"compare\">{text}</pre>\
<p class=\"muted\">The same table as <code>loadgen compare results/{b} results/{c}</code>.</p>",
        b = esc(baseline),
        c = esc(candidate),
        text = esc(&compare::render_text(&cmp)),
    );
    Ok(layout("compare", Tab::Results, csrf, &body))
}
