//! Drawing routines, one per plot shape, generic over the plotters backend so the
//! same code paints PNG pixels and writes SVG. They draw the data they are given
//! and never choose it; styles (fonts, grid, legend box) are shared from here.

pub mod bars;
pub mod boxes;
pub mod lines;
pub mod stacked;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::font::FAMILY;

/// Any failure of a drawing routine (plotters' error types, boxed).
pub type DrawError = Box<dyn std::error::Error + Send + Sync>;
/// What a drawing routine returns.
pub type Drawn = Result<(), DrawError>;

/// Grey of secondary text (subtitles, value labels).
pub const GREY: RGBColor = RGBColor(90, 90, 90);

/// Body text of `size` px.
pub fn text(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&BLACK)
}

/// Bold text of `size` px.
pub fn bold(size: u32) -> TextStyle<'static> {
    // `FontDesc::style` keeps the regular face's data: ask for the bold face anew.
    FontDesc::new(FontFamily::Name(FAMILY), f64::from(size), FontStyle::Bold).color(&BLACK)
}

/// Text of `size` px anchored at its left edge, vertically centred.
pub fn label_left(size: u32) -> TextStyle<'static> {
    text(size)
        .color(&GREY)
        .pos(Pos::new(HPos::Left, VPos::Center))
}

/// Draws the title (and subtitle) at the top of `root`; returns the area below.
pub fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: Option<&str>,
) -> Result<DrawingArea<DB, Shift>, DrawError>
where
    DB::ErrorType: 'static,
{
    let area = root.titled(title, bold(26))?;
    Ok(match subtitle {
        Some(s) => area.titled(s, text(16).color(&GREY))?,
        None => area,
    })
}

/// Legend box style: white, slightly transparent, thin border.
pub fn legend_background() -> ShapeStyle {
    WHITE.mix(0.9).filled()
}

/// Legend border style.
pub fn legend_border() -> ShapeStyle {
    BLACK.mix(0.3).stroke_width(1)
}

/// Grid lines: light enough to read data over.
pub fn grid() -> ShapeStyle {
    BLACK.mix(0.12).stroke_width(1)
}

/// Pixels a label of `chars` characters needs at 15 px (Noto Sans averages ~0.55 em).
pub fn label_width(chars: usize) -> u32 {
    (chars as f64 * 8.5) as u32 + 16
}

/// A linear f64 axis whose tick marks are exactly the given points (plotters'
/// `WithKeyPoints` over f64 offers no label formatter; this one takes ours).
#[derive(Debug, Clone)]
pub struct Ticked {
    range: std::ops::Range<f64>,
    ticks: Vec<f64>,
}

impl Ticked {
    pub fn new(range: std::ops::Range<f64>, ticks: Vec<f64>) -> Ticked {
        Ticked { range, ticks }
    }
}

impl plotters::coord::ranged1d::Ranged for Ticked {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let span = self.range.end - self.range.start;
        if span <= 0.0 {
            return (limit.0 + limit.1) / 2;
        }
        let share = (v - self.range.start) / span;
        limit.0 + (f64::from(limit.1 - limit.0) * share).round() as i32
    }

    fn key_points<H: plotters::coord::ranged1d::KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.range.clone()
    }
}
