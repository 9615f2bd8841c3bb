//! A 3D surface (reference/003's plots): a value over a grid of two variables,
//! each grid square a quadrilateral coloured by its mean height, seen from above
//! at an angle, with the axes drawn in 3D.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{scale_colour, short_number, text, Drawn};
use crate::report::chart::SurfacePlot;

/// Draws `p` filling `area`.
pub fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &SurfacePlot) -> Drawn
where
    DB::ErrorType: 'static,
{
    let span = |v: &[f64]| {
        let (lo, hi) = crate::report::axis::bounds(v.iter().copied());
        if hi > lo {
            lo..hi
        } else {
            lo - 0.5..lo + 0.5
        }
    };
    let zs: Vec<f64> =
        p.z.iter()
            .flatten()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
    let zr = span(&zs);
    let top = zr.end * 1.05;
    let mut chart = ChartBuilder::on(area).margin(20).build_cartesian_3d(
        span(&p.x),
        0.0..top.max(1e-9),
        span(&p.y),
    )?;
    chart.with_projection(|mut pb| {
        pb.yaw = 0.6;
        pb.pitch = 0.35;
        pb.scale = 0.85;
        pb.into_matrix()
    });
    let whole = |v: &f64| format!("{v:.0}");
    let height = |v: &f64| short_number(*v);
    chart
        .configure_axes()
        .x_formatter(&whole)
        .y_formatter(&height)
        .z_formatter(&whole)
        .label_style(text(13))
        .light_grid_style(BLACK.mix(0.08))
        .max_light_lines(3)
        .draw()?;
    let (lo, hi) = (zr.start, zr.end);
    for i in 0..p.x.len().saturating_sub(1) {
        for j in 0..p.y.len().saturating_sub(1) {
            let corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)];
            let heights: Vec<f64> = corners.iter().map(|&(a, b)| p.z[a][b]).collect();
            if heights.iter().any(|h| !h.is_finite()) {
                continue;
            }
            let mean = heights.iter().sum::<f64>() / 4.0;
            let share = if hi > lo {
                (mean - lo) / (hi - lo)
            } else {
                0.5
            };
            let points: Vec<(f64, f64, f64)> = corners
                .iter()
                .zip(&heights)
                .map(|(&(a, b), h)| (p.x[a], *h, p.y[b]))
                .collect();
            chart.draw_series(std::iter::once(Polygon::new(
                points.clone(),
                scale_colour(share).mix(0.85).filled(),
            )))?;
            let mut outline = points;
            outline.push(outline[0]);
            chart.draw_series(std::iter::once(PathElement::new(
                outline,
                BLACK.mix(0.4).stroke_width(1),
            )))?;
        }
    }
    Ok(())
}
