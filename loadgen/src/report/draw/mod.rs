//! Drawing routines, one per plot shape, generic over the plotters backend so the
//! same code paints PNG pixels and writes SVG. They draw the data they are given
//! and never choose it; styles (fonts, grid, legend box) are shared from here.

pub mod bars;
pub mod boxes;
pub mod heat;
pub mod lines;
pub mod stacked;
pub mod surface;

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

/// A colour for `share` (0..=1) of a scale: dark blue through teal to yellow, as
/// viridis runs (readable in grey and by colour-blind readers).
pub fn scale_colour(share: f64) -> RGBColor {
    const STOPS: [(f64, (f64, f64, f64)); 5] = [
        (0.0, (68.0, 1.0, 84.0)),
        (0.25, (59.0, 82.0, 139.0)),
        (0.5, (33.0, 145.0, 140.0)),
        (0.75, (94.0, 201.0, 98.0)),
        (1.0, (253.0, 231.0, 37.0)),
    ];
    let t = if share.is_finite() {
        share.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let i = STOPS
        .iter()
        .rposition(|(at, _)| *at <= t)
        .unwrap_or(0)
        .min(3);
    let ((a, ca), (b, cb)) = (STOPS[i], STOPS[i + 1]);
    let f = (t - a) / (b - a);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    RGBColor(mix(ca.0, cb.0), mix(ca.1, cb.1), mix(ca.2, cb.2))
}

/// A number in at most 4 characters' worth of digits: 12.3k, 1.2M, 523, 0.84.
pub fn short_number(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
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
