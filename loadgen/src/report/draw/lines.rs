//! Line plots: series over a shared x axis (linear, log, percentile or bytes),
//! dashed or solid, with dots at the data points, called-out marks (a sweep's knee)
//! and dashed horizontal limits, and a legend.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{bold, grid, legend_background, legend_border, text, Drawn, Ticked};
use crate::report::chart::LinePlot;

/// Series with more points than this are drawn as lines without dots.
const MAX_DOTS: usize = 24;

/// Draws `p` filling `area`.
pub fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &LinePlot) -> Drawn
where
    DB::ErrorType: 'static,
{
    let xs = p.series.iter().flat_map(|s| s.points.iter().map(|q| q.0));
    let xs: Vec<f64> = xs.chain(p.marks.iter().map(|m| m.x)).collect();
    let ys = p.series.iter().flat_map(|s| s.points.iter().map(|q| q.1));
    let ys: Vec<f64> = ys
        .chain(p.marks.iter().chain(&p.limits).map(|m| m.y))
        .collect();
    let (xr, xticks) = p.x.range(xs.iter().copied());
    let (yr, yticks) = p.y.range(ys.iter().copied());
    let (x0, x1) = (xr.start, xr.end);
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(14)
        .margin_right(28)
        .x_label_area_size(52)
        .y_label_area_size(78);
    if !p.title.is_empty() {
        builder.caption(&p.title, bold(19));
    }
    let mut chart = builder.build_cartesian_2d(Ticked::new(xr, xticks), Ticked::new(yr, yticks))?;
    chart
        .configure_mesh()
        .x_desc(p.x.label.as_str())
        .y_desc(p.y.label.as_str())
        .x_label_formatter(&|v| p.x.tick(*v))
        .y_label_formatter(&|v| p.y.tick(*v))
        .axis_desc_style(text(18))
        .label_style(text(15))
        .bold_line_style(grid())
        .light_line_style(TRANSPARENT)
        .draw()?;
    for s in &p.series {
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .map(|&(x, y)| (p.x.place(x), p.y.place(y)))
            .collect();
        let style = s.colour.stroke_width(3);
        let anno = if s.dashed {
            chart.draw_series(DashedLineSeries::new(pts.clone(), 9, 6, style))?
        } else {
            chart.draw_series(LineSeries::new(pts.clone(), style))?
        };
        let dashed = s.dashed;
        anno.label(s.label.as_str()).legend(move |(x, y)| {
            // A dashed series gets a dashed legend sample: two strokes with a gap.
            let gap = if dashed { 6 } else { 0 };
            EmptyElement::at((x, y))
                + PathElement::new(vec![(0, 0), (10, 0)], style)
                + PathElement::new(vec![(10 + gap, 0), (26, 0)], style)
        });
        // Dots mark measured points; a dense curve (a whole histogram) is its own mark.
        if pts.len() <= MAX_DOTS {
            let dot = s.colour.filled();
            chart.draw_series(pts.iter().map(|q| Circle::new(*q, 4, dot)))?;
        }
    }
    for l in &p.limits {
        let y = p.y.place(l.y);
        let style = l.colour.stroke_width(2);
        chart
            .draw_series(DashedLineSeries::new([(x0, y), (x1, y)], 6, 6, style))?
            .label(l.label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 26, y)], style));
    }
    for m in &p.marks {
        let at = (p.x.place(m.x), p.y.place(m.y));
        let style = text(14).color(&m.colour);
        chart.draw_series([EmptyElement::at(at)
            + TriangleMarker::new((0, 0), 11, m.colour.filled())
            + Text::new(m.label.clone(), (10, -26), style)])?;
    }
    let corner = emptiest_corner(p, (x0, x1), (chart.y_range().start, chart.y_range().end));
    chart
        .configure_series_labels()
        .position(corner)
        .background_style(legend_background())
        .border_style(legend_border())
        .label_font(text(15))
        .margin(12)
        .draw()?;
    Ok(())
}

/// The plot corner with the fewest data points, where the legend hides least.
fn emptiest_corner(p: &LinePlot, x: (f64, f64), y: (f64, f64)) -> SeriesLabelPosition {
    let unit = |v: f64, (a, b): (f64, f64)| if b > a { (v - a) / (b - a) } else { 0.5 };
    let mut counts = [0usize; 4]; // upper left, upper right, lower left, lower right
    for s in &p.series {
        // Sample along each segment too: a line crossing a corner counts there.
        for w in s.points.windows(2).chain(s.points.chunks(1).take(1)) {
            let (a, b) = (w[0], *w.last().unwrap_or(&w[0]));
            for k in 0..=8 {
                let f = f64::from(k) / 8.0;
                let px = unit(p.x.place(a.0) + (p.x.place(b.0) - p.x.place(a.0)) * f, x);
                let py = unit(p.y.place(a.1) + (p.y.place(b.1) - p.y.place(a.1)) * f, y);
                let (left, right, top, bottom) = (px < 0.4, px > 0.6, py > 0.6, py < 0.4);
                counts[0] += usize::from(left && top);
                counts[1] += usize::from(right && top);
                counts[2] += usize::from(left && bottom);
                counts[3] += usize::from(right && bottom);
            }
        }
    }
    let corners = [
        SeriesLabelPosition::UpperLeft,
        SeriesLabelPosition::UpperRight,
        SeriesLabelPosition::LowerLeft,
        SeriesLabelPosition::LowerRight,
    ];
    let best = (0..4).min_by_key(|i| counts[*i]).unwrap_or(0);
    corners
        .into_iter()
        .nth(best)
        .unwrap_or(SeriesLabelPosition::UpperLeft)
}
