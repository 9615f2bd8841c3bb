//! `loadgen report`, `compare` and `summarize`: documents and verdicts from runs
//! already written.

use anyhow::Context;

use crate::cli::CompareOpts;
use crate::results;

/// `loadgen report RUN`: re-renders a past run's report from its run.json.
pub fn rerender(run: &std::path::Path) -> anyhow::Result<()> {
    let w = crate::report::rerender(run)
        .with_context(|| format!("rendering the report of {}", run.display()))?;
    crate::report::written(&w);
    Ok(())
}

/// `loadgen summarize FILE..`: reference/002's summary of JSONL results.
pub fn summarize(files: &[std::path::PathBuf], numpy: bool) -> anyhow::Result<()> {
    use results::jsonl::PercentileMethod;
    let method = if numpy {
        PercentileMethod::Numpy
    } else {
        PercentileMethod::Hdr
    };
    for f in files {
        let summaries = results::jsonl::summarize(f, method)
            .with_context(|| format!("reading {}", f.display()))?;
        for s in summaries {
            println!("{s}");
        }
    }
    Ok(())
}

/// `loadgen compare`: prints the diff table (or JSON) and fails on a regression.
pub fn compare(o: &CompareOpts, json: bool) -> anyhow::Result<()> {
    let read = |p: &std::path::Path| {
        results::read(p).with_context(|| format!("reading the run in {}", p.display()))
    };
    let (base, cand) = (read(&o.baseline)?, read(&o.candidate)?);
    let cmp = crate::report::compare::compare(&base, &cand, o.max_regression, &o.metric)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&cmp)?);
    } else {
        print!("{}", crate::report::compare::render_text(&cmp));
    }
    anyhow::ensure!(!cmp.failed(), "performance regression: the gate fails");
    if cmp.unjudged() > 0 {
        // Neither a pass nor a regression: its own exit status, so CI can tell.
        eprintln!(
            "the gate cannot judge {} metric(s): too few repetitions or seconds",
            cmp.unjudged()
        );
        std::process::exit(2);
    }
    Ok(())
}
