//! Horizontal stacked bars: one row per series (protocol), one coloured segment per
//! stage (TCP, TLS, handshake, first call), a black tick at each row's total and
//! the total written after it.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{grid, label_left, label_width, legend_background, legend_border, text, Drawn, Ticked};
use crate::report::axis::precise;
use crate::report::chart::StackedPlot;

/// Draws `p` filling `area`.
pub fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &StackedPlot) -> Drawn
where
    DB::ErrorType: 'static,
{
    let rows = p.rows.len().max(1);
    let ends: Vec<f64> = p
        .rows
        .iter()
        .flat_map(|r| [r.segments.iter().sum::<f64>(), r.total.unwrap_or(0.0)])
        .collect();
    // Room after the longest bar for its total and, top right, the legend.
    let (xr, xticks) = p.value.range(ends.iter().map(|v| v * 1.5));
    let centres: Vec<f64> = (0..rows).map(|r| r as f64 + 0.5).collect();
    let longest = p.rows.iter().map(|r| r.label.chars().count()).max();
    let mut chart = ChartBuilder::on(area)
        .margin(14)
        .margin_right(30)
        .x_label_area_size(52)
        .y_label_area_size(label_width(longest.unwrap_or(4)).clamp(80, 360))
        .build_cartesian_2d(
            Ticked::new(xr, xticks),
            Ticked::new(0.0..rows as f64, centres),
        )?;
    let name = |y: f64| -> String {
        let r = rows as f64 - 0.5 - y;
        let row = p.rows.get(r.round().max(0.0) as usize);
        row.map(|r| r.label.clone()).unwrap_or_default()
    };
    chart
        .configure_mesh()
        .x_desc(p.value.label.as_str())
        .x_label_formatter(&|v| p.value.tick(*v))
        .y_label_formatter(&|v| name(*v))
        .axis_desc_style(text(18))
        .label_style(text(15))
        .bold_line_style(grid())
        .light_line_style(TRANSPARENT)
        .disable_y_mesh()
        .draw()?;
    for (stage, (label, colour)) in p.stages.iter().enumerate() {
        let mut rects = Vec::new();
        for (r, row) in p.rows.iter().enumerate() {
            let start: f64 = row.segments.iter().take(stage).sum();
            let len = row.segments.get(stage).copied().unwrap_or(0.0);
            let y1 = (rows - r) as f64 - 0.2;
            rects.push(Rectangle::new(
                [(start, y1 - 0.6), (start + len, y1)],
                colour.filled(),
            ));
        }
        let colour = *colour;
        chart
            .draw_series(rects)?
            .label(label.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 7), (x + 16, y + 7)], colour.filled()));
    }
    let mut totals = Vec::new();
    for (r, row) in p.rows.iter().enumerate() {
        let Some(t) = row.total else { continue };
        let mid = (rows - r) as f64 - 0.5;
        let end = t.max(row.segments.iter().sum());
        totals.push(
            EmptyElement::at((t, mid))
                + PathElement::new(vec![(0, -20), (0, 20)], BLACK.stroke_width(3))
                + Text::new(String::new(), (0, 0), label_left(14)),
        );
        totals.push(
            EmptyElement::at((end, mid))
                + PathElement::new(vec![(0, 0), (0, 0)], TRANSPARENT)
                + Text::new(format!("{} ms", precise(t)), (8, 0), label_left(14)),
        );
    }
    chart
        .draw_series(totals)?
        .label(p.total_label.as_str())
        .legend(|(x, y)| {
            PathElement::new(vec![(x + 8, y - 9), (x + 8, y + 9)], BLACK.stroke_width(3))
        });
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(legend_background())
        .border_style(legend_border())
        .label_font(text(15))
        .margin(12)
        .draw()?;
    Ok(())
}
