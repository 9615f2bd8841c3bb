//! Vertical box plots: groups along x (P50, P95, P99), one box per series in each:
//! interquartile box, median bar, whiskers to min and max, and a dot per box so a
//! single repetition still shows as a point.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{grid, Ticked, legend_background, legend_border, text, Drawn};
use crate::report::chart::BoxPlot;

/// Share of a group's width its boxes take.
const FILL: f64 = 0.78;

/// Draws `p` filling `area`.
pub fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &BoxPlot) -> Drawn
where
    DB::ErrorType: 'static,
{
    let groups = p.groups.len().max(1);
    let ys: Vec<f64> = p
        .series
        .iter()
        .flat_map(|s| s.boxes.iter().flatten())
        .flat_map(|b| [b.min, b.max])
        .collect();
    let (yr, yticks) = p.y.range(ys.iter().copied());
    let centres: Vec<f64> = (0..groups).map(|g| g as f64 + 0.5).collect();
    let mut chart = ChartBuilder::on(area)
        .margin(14)
        .margin_right(28)
        .x_label_area_size(48)
        .y_label_area_size(78)
        .build_cartesian_2d(
            Ticked::new(0.0..groups as f64, centres),
            Ticked::new(yr, yticks),
        )?;
    chart
        .configure_mesh()
        .y_desc(p.y.label.as_str())
        .x_label_formatter(&|v| {
            p.groups
                .get(v.floor().max(0.0) as usize)
                .cloned()
                .unwrap_or_default()
        })
        .y_label_formatter(&|v| p.y.tick(*v))
        .axis_desc_style(text(18))
        .label_style(text(16))
        .bold_line_style(grid())
        .light_line_style(TRANSPARENT)
        .disable_x_mesh()
        .draw()?;
    let per = FILL / p.series.len().max(1) as f64;
    for (i, s) in p.series.iter().enumerate() {
        let colour = s.colour;
        let mut shapes: Vec<DynElement<DB, (f64, f64)>> = Vec::new();
        for (g, b) in s.boxes.iter().enumerate() {
            let Some(b) = b else { continue };
            let left = g as f64 + (1.0 - FILL) / 2.0 + i as f64 * per;
            let (x0, x1) = (left + per * 0.12, left + per * 0.88);
            let mid = (x0 + x1) / 2.0;
            let y = |v: f64| p.y.place(v);
            let line = colour.stroke_width(2);
            shapes.push(PathElement::new(vec![(mid, y(b.min)), (mid, y(b.q1))], line).into_dyn());
            shapes.push(PathElement::new(vec![(mid, y(b.q3)), (mid, y(b.max))], line).into_dyn());
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
        chart
            .draw_series(shapes)?
            .label(s.label.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 7), (x + 16, y + 7)], colour.filled()));
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
