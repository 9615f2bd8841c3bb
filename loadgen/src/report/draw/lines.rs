//! Line plots: series over a shared x axis (linear, log, percentile or bytes),
//! dashed or solid, with dots at the data points, called-out marks (a sweep's knee)
//! and dashed horizontal limits, and a legend.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{bold, grid, legend_background, legend_border, text, Drawn, Ticked};
use crate::report::chart::LinePlot;

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
        let dot = s.colour.filled();
        chart.draw_series(pts.iter().map(|q| Circle::new(*q, 4, dot)))?;
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
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(legend_background())
        .border_style(legend_border())
        .label_font(text(15))
        .margin(12)
        .draw()?;
    Ok(())
}
