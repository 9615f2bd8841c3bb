//! Box plots, one panel per group (P50, P95, P99) with its own latency axis so
//! protocols compare within a percentile: interquartile box, median bar, whiskers
//! to min and max, and a dot at the median so a single repetition still shows.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{bold, grid, legend_background, legend_border, text, Drawn, Ticked};
use crate::report::axis::{linear_ticks, Scale};
use crate::report::chart::{BoxPlot, BoxSeries};

/// Share of a panel's width its boxes take.
const FILL: f64 = 0.8;

/// Draws `p` filling `area`: one panel per group, side by side.
pub fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &BoxPlot) -> Drawn
where
    DB::ErrorType: 'static,
{
    let panels = area.split_evenly((1, p.groups.len().max(1)));
    for (g, (panel, name)) in panels.iter().zip(&p.groups).enumerate() {
        draw_group(panel, p, g, name, g == 0)?;
    }
    Ok(())
}

fn draw_group<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &BoxPlot,
    g: usize,
    name: &str,
    first: bool,
) -> Drawn
where
    DB::ErrorType: 'static,
{
    let boxes = |s: &BoxSeries| s.boxes.get(g).copied().flatten();
    let ys: Vec<f64> = p
        .series
        .iter()
        .filter_map(boxes)
        .flat_map(|b| [b.min, b.max])
        .collect();
    // Linear axes start just below the lowest whisker: the spread is the point here.
    let (yr, yticks) = p.y.range(ys.iter().copied());
    let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
    let (yr, yticks) = if p.y.scale == Scale::Linear && lo.is_finite() {
        let hi = yr.end;
        let floor = (lo - (hi - lo) * 0.15).max(0.0);
        (floor..hi, linear_ticks(floor, hi))
    } else {
        (yr, yticks)
    };
    let mut chart = ChartBuilder::on(area)
        .caption(name, bold(19))
        .margin(12)
        .x_label_area_size(10)
        .y_label_area_size(if first { 78 } else { 58 })
        .build_cartesian_2d(Ticked::new(0.0..1.0, Vec::new()), Ticked::new(yr, yticks))?;
    let tick = |v: &f64| p.y.tick(*v);
    let mut mesh = chart.configure_mesh();
    mesh.y_label_formatter(&tick)
        .axis_desc_style(text(18))
        .label_style(text(15))
        .bold_line_style(grid())
        .light_line_style(TRANSPARENT)
        .disable_x_mesh();
    if first {
        mesh.y_desc(p.y.label.as_str());
    }
    mesh.draw()?;
    let per = FILL / p.series.len().max(1) as f64;
    for (i, s) in p.series.iter().enumerate() {
        let colour = s.colour;
        let mut shapes: Vec<DynElement<DB, (f64, f64)>> = Vec::new();
        if let Some(b) = boxes(s) {
            let left = (1.0 - FILL) / 2.0 + i as f64 * per;
            let (x0, x1) = (left + per * 0.15, left + per * 0.85);
            let mid = (x0 + x1) / 2.0;
            let y = |v: f64| p.y.place(v);
            let line = colour.stroke_width(2);
            for (a, b) in [(b.min, b.q1), (b.q3, b.max)] {
                shapes.push(PathElement::new(vec![(mid, y(a)), (mid, y(b))], line).into_dyn());
            }
            for v in [b.min, b.max] {
                let cap = vec![(mid - per * 0.2, y(v)), (mid + per * 0.2, y(v))];
                shapes.push(PathElement::new(cap, line).into_dyn());
            }
            let body = [(x0, y(b.q1)), (x1, y(b.q3))];
            shapes.push(Rectangle::new(body, colour.mix(0.3).filled()).into_dyn());
            shapes.push(Rectangle::new(body, line).into_dyn());
            let median = vec![(x0, y(b.median)), (x1, y(b.median))];
            shapes.push(PathElement::new(median, BLACK.stroke_width(3)).into_dyn());
            shapes.push(Circle::new((mid, y(b.median)), 4, colour.filled()).into_dyn());
        }
        let anno = chart.draw_series(shapes)?;
        if first {
            anno.label(s.label.as_str()).legend(move |(x, y)| {
                Rectangle::new([(x, y - 7), (x + 16, y + 7)], colour.filled())
            });
        }
    }
    if first {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(legend_background())
            .border_style(legend_border())
            .label_font(text(14))
            .margin(8)
            .draw()?;
    }
    Ok(())
}
