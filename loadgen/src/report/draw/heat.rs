//! Heatmaps: small multiples (one panel per value of a third variable) of a grid
//! of cells, every panel on one shared colour scale, each cell's value printed in
//! it, and a strip under the panels that reads the scale.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{bold, scale_colour, short_number, text, Drawn, GREY};
use crate::report::chart::HeatmapPlot;

/// Draws `p` filling `area`.
pub fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &HeatmapPlot) -> Drawn
where
    DB::ErrorType: 'static,
{
    let all: Vec<f64> = p
        .panels
        .iter()
        .flat_map(|panel| panel.values.iter().flatten().flatten().copied())
        .filter(|v| v.is_finite())
        .collect();
    let (lo, hi) = crate::report::axis::bounds(all.iter().copied());
    let share = |v: f64| {
        let s = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
        if p.higher_is_better {
            s
        } else {
            1.0 - s
        }
    };
    let (body, strip) = area.split_vertically(area.dim_in_pixel().1.saturating_sub(56));
    let panels = body.split_evenly((1, p.panels.len().max(1)));
    let (rows, cols) = (p.rows.len(), p.columns.len());
    for (panel_area, panel) in panels.iter().zip(&p.panels) {
        let (nc, nr) = (cols.max(1) as i32, rows.max(1) as i32);
        let mut chart = ChartBuilder::on(panel_area)
            .margin(12)
            .caption(&panel.title, bold(18))
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d((0..nc - 1).into_segmented(), (0..nr - 1).into_segmented())?;
        let name = |labels: &[String], v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(p.column_title.as_str())
            .y_desc(p.row_title.as_str())
            .x_labels(cols)
            .y_labels(rows)
            .x_label_formatter(&|v| name(&p.columns, v))
            .y_label_formatter(&|v| name(&p.rows, v))
            .axis_desc_style(text(16))
            .label_style(text(14))
            .draw()?;
        for (r, row) in panel.values.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let Some(v) = v else { continue };
                let (x, y) = (c as i32, r as i32);
                chart.draw_series(std::iter::once(Rectangle::new(
                    [
                        (SegmentValue::Exact(x), SegmentValue::Exact(y)),
                        (SegmentValue::Exact(x + 1), SegmentValue::Exact(y + 1)),
                    ],
                    scale_colour(share(*v)).filled(),
                )))?;
                let dark = share(*v) < 0.6;
                let style = text(15)
                    .color(if dark { &WHITE } else { &BLACK })
                    .pos(Pos::new(HPos::Center, VPos::Center));
                chart.draw_series(std::iter::once(Text::new(
                    short_number(*v),
                    (SegmentValue::CenterOf(x), SegmentValue::CenterOf(y)),
                    style,
                )))?;
            }
        }
    }
    if all.is_empty() {
        return Ok(());
    }
    // The scale: 10 swatches from the worst value to the best.
    let (w, _) = strip.dim_in_pixel();
    let (x0, width) = (w as i32 / 4, w as i32 / 2);
    for k in 0..10 {
        let from = x0 + width * k / 10;
        let to = x0 + width * (k + 1) / 10;
        let t = (f64::from(k) + 0.5) / 10.0;
        strip.draw(&Rectangle::new(
            [(from, 12), (to, 30)],
            scale_colour(t).filled(),
        ))?;
    }
    let (worst, best) = if p.higher_is_better {
        (lo, hi)
    } else {
        (hi, lo)
    };
    let side = text(14).color(&GREY);
    strip.draw(&Text::new(
        short_number(worst),
        (x0 - 8, 21),
        side.pos(Pos::new(HPos::Right, VPos::Center)),
    ))?;
    strip.draw(&Text::new(
        short_number(best),
        (x0 + width + 8, 21),
        side.pos(Pos::new(HPos::Left, VPos::Center)),
    ))?;
    Ok(())
}
