//! The answer section of report.md: how many cases each verdict got, then one line
//! per workload (`report::answer`: who led, by how much, with what verdict, and who
//! was not ranked), what decided each kind, and the story's charts side by side.
//! Lays out strings; the figures and the rule are `report::answer`'s.

use std::fmt::Write;

use super::{image, text_table};
use crate::report::answer::{self, Answer, Exclusion};
use crate::report::chart::Chart;
use crate::report::plan;
use crate::results::Run;
use protolab_bench::CaseResult;

/// The answer: how many cases each verdict got, then per workload which protocol
/// led, on what figure, by how much, with what verdict, and the story's charts.
pub(super) fn section(md: &mut String, run: &Run, story: &[&Chart]) {
    md.push_str("## The answer\n\n");
    let verdicts: Vec<String> = ["valid", "valid*", "INVALID", "FAILED", "skipped"]
        .iter()
        .map(|v| {
            (
                run.cases.iter().filter(|c| c.verdict_label() == *v).count(),
                v,
            )
        })
        .filter(|(n, _)| *n > 0)
        .map(|(n, v)| format!("{n} {v}"))
        .collect();
    match verdicts.is_empty() {
        true => md.push_str("No cases.\n\n"),
        false => {
            let _ = writeln!(
                md,
                "{} cases: {}. Why a case is not valid, and every warning: *Validity*, below.\n",
                run.cases.len(),
                verdicts.join(", ").replace('*', "\\*")
            );
        }
    }
    let workloads = plan::workloads(run);
    let answers = answer::answers(&workloads);
    let rows: Vec<Vec<String>> = answers.iter().map(answer_row).collect();
    if !rows.is_empty() {
        let header = [
            "workload",
            "leader",
            "ahead of the next",
            "verdict · limit",
            "not ranked",
        ];
        md.push_str(&text_table(&header, &rows));
        let _ = writeln!(
            md,
            "*Leader*: the best figure ({}) among the cases the verdict calls valid \
             (valid\\*: valid with a warning, e.g. co-saturated: a lower bound). INVALID, FAILED \
             and client-bound cases never lead, nor push cases that lost events. *Ahead*: how \
             many times as good the leader's figure is as the next one's; *within noise*: their \
             95% confidence intervals across repetitions overlap.\n",
            deciders(&answers)
        );
    }
    for line in plan::matrix::answers(run) {
        let _ = writeln!(md, "- {line}");
    }
    if !plan::matrix::grids(run).is_empty() {
        md.push('\n');
    }
    for c in story {
        image(md, c);
    }
    if !story.is_empty() {
        md.push('\n');
    }
}

/// What decided each kind of the run: "throughput: most req/s; latency: lowest p50".
fn deciders(answers: &[Answer<'_>]) -> String {
    let mut out: Vec<String> = Vec::new();
    for a in answers {
        let d = format!("{}: {}", a.kind, a.measure.label());
        if !out.contains(&d) {
            out.push(d);
        }
    }
    out.join("; ")
}

/// One workload's line of the answer. Figures keep their unit on their line.
fn answer_row(a: &Answer<'_>) -> Vec<String> {
    let m = a.measure;
    let fig = |s: String| s.replace(' ', "\u{a0}");
    let (leader, verdict) = match a.leader() {
        Some(l) => {
            let c = l.case;
            let beside = m.beside().and_then(|b| Some(b.quoted(b.value(c)?)));
            let beside = beside.map(|b| format!(" ({})", fig(b)));
            let limit = c.bottleneck.map(|b| format!(" · {}", b.as_str()));
            (
                format!(
                    "**{}** {}{}",
                    c.spec.protocol,
                    fig(m.quoted(l.value)),
                    beside.unwrap_or_default()
                ),
                format!("{}{}", c.verdict_label(), limit.unwrap_or_default()),
            )
        }
        None => ("none valid".into(), "-".into()),
    };
    let ahead = match (a.margin(), a.ranked.len()) {
        (Some(g), _) => {
            let noise = if g.clear == Some(false) {
                ", within noise"
            } else {
                ""
            };
            let over = g.over.case.spec.protocol.as_str();
            let next = fig(m.format(g.over.value));
            format!("{} {over} ({next}){noise}", answer::ahead(g.factor))
        }
        (None, 1) => "the only one ranked".into(),
        (None, _) => "-".into(),
    };
    vec![
        a.workload.to_string(),
        leader,
        ahead,
        verdict,
        not_ranked(&a.unranked),
    ]
}

/// "INVALID: grpc, sse; FAILED: graphql" or "9 INVALID": excluded cases grouped
/// by why.
fn not_ranked(unranked: &[(&CaseResult, Exclusion)]) -> String {
    let mut groups: Vec<(&str, Vec<String>)> = Vec::new();
    for (c, why) in unranked {
        let name = match why {
            Exclusion::Lost(n) => format!("{} ({n})", c.spec.protocol),
            _ => c.spec.protocol.clone(),
        };
        match groups.iter_mut().find(|(l, _)| *l == why.label()) {
            Some((_, names)) => names.push(name),
            None => groups.push((why.label(), vec![name])),
        }
    }
    let groups: Vec<String> = groups
        .iter()
        .map(|(l, names)| match names.len() {
            n if n > NAMED => format!("{n} {l}"),
            _ => format!("{l}: {}", names.join(", ")),
        })
        .collect();
    groups.join("; ")
}

/// Up to this many cases of a group are named in the "not ranked" cell; more are
/// counted (the headline table below names each with its verdict), so a workload
/// whose protocols were mostly INVALID still takes one line.
const NAMED: usize = 3;
