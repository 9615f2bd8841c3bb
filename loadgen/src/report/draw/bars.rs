//! Horizontal grouped bars: a category per row group (labels on the left, where
//! long workload names fit), one bar per series coloured as everywhere else, the
//! value written at the bar's end and an optional whisker (a confidence interval,
//! or slowest..fastest).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{grid, label_left, label_width, legend_background, legend_border, text, Drawn, Ticked};
use crate::report::axis::precise;
use crate::report::chart::BarPlot;

/// Share of a group's height its bars take; the rest separates groups.
const FILL: f64 = 0.76;

/// Draws `p` filling `area`.
pub fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &BarPlot) -> Drawn
where
    DB::ErrorType: 'static,
{
    let groups = p.groups.len().max(1);
    let values = p.series.iter().flat_map(|s| s.bars.iter().flatten());
    let highs: Vec<f64> = values
        .flat_map(|b| [b.value, b.whisker.map_or(b.value, |w| w.1)])
        .collect();
    // Room after the longest bar for its value label and, top right, the legend.
    let (xr, xticks) = p.value.range(highs.iter().map(|v| v * 1.45));
    // Group g (0 = first) occupies rows [G-1-g, G-g): the first group on top.
    let centres: Vec<f64> = (0..groups).map(|g| g as f64 + 0.5).collect();
    let longest = p
        .groups
        .iter()
        .map(|g| g.chars().count())
        .max()
        .unwrap_or(4);
    let mut chart = ChartBuilder::on(area)
        .margin(14)
        .margin_right(30)
        .x_label_area_size(52)
        .y_label_area_size(label_width(longest).clamp(80, 420))
        .build_cartesian_2d(
            Ticked::new(xr, xticks),
            Ticked::new(0.0..groups as f64, centres),
        )?;
    let name = |y: f64| -> String {
        let g = groups as f64 - 0.5 - y;
        p.groups
            .get(g.round().max(0.0) as usize)
            .cloned()
            .unwrap_or_default()
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
    let per = FILL / p.series.len().max(1) as f64;
    // Bars present in each group, packed and centred so a missing one leaves no hole.
    let present: Vec<usize> = (0..groups)
        .map(|g| {
            p.series
                .iter()
                .filter(|s| s.bars.get(g).is_some_and(Option::is_some))
                .count()
        })
        .collect();
    let mut slot = vec![0usize; groups];
    for s in &p.series {
        let (mut rects, mut whiskers, mut caps, mut labels) = (vec![], vec![], vec![], vec![]);
        for (g, bar) in s.bars.iter().enumerate() {
            let Some(bar) = bar else { continue };
            let centre = (groups - g) as f64 - 0.5;
            let top = centre + per * present[g] as f64 / 2.0 - slot[g] as f64 * per;
            slot[g] += 1;
            let (y0, y1) = (top - per * 0.92, top);
            let x = p.value.place(bar.value);
            rects.push(Rectangle::new([(0.0, y0), (x, y1)], s.colour.filled()));
            let mid = (y0 + y1) / 2.0;
            let mut end = x;
            if let Some((lo, hi)) = bar.whisker {
                let (lo, hi) = (p.value.place(lo), p.value.place(hi));
                let style = BLACK.stroke_width(2);
                whiskers.push(PathElement::new(vec![(lo, mid), (hi, mid)], style));
                for at in [lo, hi] {
                    caps.push(
                        EmptyElement::at((at, mid))
                            + PathElement::new(vec![(0, -6), (0, 6)], style),
                    );
                }
                end = end.max(hi);
            }
            labels.push(
                EmptyElement::at((end, mid))
                    + Text::new(precise(bar.value), (6, 0), label_left(14)),
            );
        }
        let colour = s.colour;
        chart
            .draw_series(rects)?
            .label(s.label.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 7), (x + 16, y + 7)], colour.filled()));
        chart.draw_series(whiskers)?;
        chart.draw_series(caps)?;
        chart.draw_series(labels)?;
    }
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
