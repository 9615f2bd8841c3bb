//! A chart as data (what to draw, already taken from `results::Run`) and its two
//! renderings: PNG bytes (for report.md/html) and an SVG string (for the dashboard).
//! One drawing routine per plot shape serves both backends; nothing here reads
//! files or decides what a run's charts are (that is `plan`).

use plotters::backend::{BitMapBackend, DrawingBackend, SVGBackend};
use plotters::coord::Shift;
use plotters::prelude::{DrawingArea, IntoDrawingArea, RGBColor, WHITE};

use super::axis::Axis;
use super::{draw, font, ReportError};

/// One chart of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// File stem, unique within a report (`spectrum-throughput_get_item`).
    pub id: String,
    pub title: String,
    /// A second line under the title: what the marks mean, how many samples.
    pub subtitle: Option<String>,
    /// The report section (a kind's name) the chart belongs to.
    pub section: String,
    pub plot: Plot,
}

/// What a chart draws.
#[derive(Debug, Clone, PartialEq)]
pub enum Plot {
    Lines(LinePlot),
    /// Line plots stacked vertically, sharing the chart's title.
    Panels(Vec<LinePlot>),
    Bars(BarPlot),
    Boxes(BoxPlot),
    Stacked(StackedPlot),
    Heatmap(HeatmapPlot),
    Surface(SurfacePlot),
}

/// Values on a grid (rows × columns), one panel per value of a third variable,
/// every panel on one colour scale, each cell's value printed in it.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatmapPlot {
    /// Row labels, bottom to top, and what they are.
    pub rows: Vec<String>,
    pub row_title: String,
    /// Column labels, left to right, and what they are.
    pub columns: Vec<String>,
    pub column_title: String,
    pub panels: Vec<HeatPanel>,
    /// Whether a higher value is the better one (coloured brighter).
    pub higher_is_better: bool,
}

/// One panel: `values[row][column]`, `None` where no case measured the cell.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatPanel {
    pub title: String,
    pub values: Vec<Vec<Option<f64>>>,
}

/// A surface over a grid: `z[i][j]` at (`x[i]`, `y[j]`).
#[derive(Debug, Clone, PartialEq)]
pub struct SurfacePlot {
    pub x_title: String,
    pub x: Vec<f64>,
    pub y_title: String,
    pub y: Vec<f64>,
    pub z_title: String,
    pub z: Vec<Vec<f64>>,
}

/// Lines over an x axis, with optional marked points and horizontal limits.
#[derive(Debug, Clone, PartialEq)]
pub struct LinePlot {
    /// Panel title (in `Plot::Panels`); empty for a single plot.
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<Series>,
    /// Points to call out (a sweep's knee), drawn as labelled triangles.
    pub marks: Vec<Mark>,
    /// Horizontal reference lines (a limit), drawn dashed with a legend entry.
    pub limits: Vec<Mark>,
}

/// One line: raw (untransformed) points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub colour: RGBColor,
    pub dashed: bool,
    pub points: Vec<(f64, f64)>,
}

/// A labelled point or level.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub x: f64,
    pub y: f64,
    pub label: String,
    pub colour: RGBColor,
}

/// Horizontal grouped bars: one group per category, one bar per series in it.
#[derive(Debug, Clone, PartialEq)]
pub struct BarPlot {
    pub value: Axis,
    pub groups: Vec<String>,
    pub series: Vec<BarSeries>,
}

/// One series' bars, aligned with `BarPlot::groups` (`None`: no bar there).
#[derive(Debug, Clone, PartialEq)]
pub struct BarSeries {
    pub label: String,
    pub colour: RGBColor,
    pub bars: Vec<Option<Bar>>,
}

/// A bar's value and optional whisker (low, high).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    pub value: f64,
    pub whisker: Option<(f64, f64)>,
}

/// Vertical box plots: groups along x (P50, P95, P99), one box per series in each.
#[derive(Debug, Clone, PartialEq)]
pub struct BoxPlot {
    pub y: Axis,
    pub groups: Vec<String>,
    pub series: Vec<BoxSeries>,
}

/// One series' boxes, aligned with `BoxPlot::groups`.
#[derive(Debug, Clone, PartialEq)]
pub struct BoxSeries {
    pub label: String,
    pub colour: RGBColor,
    pub boxes: Vec<Option<FiveNumbers>>,
}

/// Min, quartiles, median and max of a handful of values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FiveNumbers {
    pub min: f64,
    pub q1: f64,
    pub median: f64,
    pub q3: f64,
    pub max: f64,
    pub n: usize,
}

impl FiveNumbers {
    /// The five numbers of `values` (linear interpolation between order
    /// statistics); `None` for no finite value.
    pub fn of(values: &[f64]) -> Option<FiveNumbers> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let at = |q: f64| {
            let pos = q * (n - 1) as f64;
            let (i, frac) = (pos.floor() as usize, pos.fract());
            v[i] + (v[(i + 1).min(n - 1)] - v[i]) * frac
        };
        (n > 0).then(|| FiveNumbers {
            min: v[0],
            q1: at(0.25),
            median: at(0.5),
            q3: at(0.75),
            max: v[n - 1],
            n,
        })
    }
}

/// Horizontal stacked bars: one row per series, one segment per stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StackedPlot {
    pub value: Axis,
    /// Stage names and colours, in stacking order.
    pub stages: Vec<(String, RGBColor)>,
    pub rows: Vec<StackedRow>,
    /// What the per-row total marker means (legend text).
    pub total_label: String,
}

/// One row: a segment length per stage (0 for a stage it does not have) and a total.
#[derive(Debug, Clone, PartialEq)]
pub struct StackedRow {
    pub label: String,
    pub segments: Vec<f64>,
    pub total: Option<f64>,
}

/// Width of every chart, pixels.
const WIDTH: u32 = 1100;

impl Chart {
    /// Pixel size: wide and short for lines, taller with more bars.
    pub fn size(&self) -> (u32, u32) {
        let h = match &self.plot {
            Plot::Lines(_) | Plot::Boxes(_) => 600,
            Plot::Panels(p) => 120 + 330 * p.len() as u32,
            Plot::Bars(b) => {
                let bars = (b.groups.len() * b.series.len().max(1)) as u32;
                (170 + bars * 26 + b.groups.len() as u32 * 14).clamp(300, 1800)
            }
            Plot::Stacked(s) => (200 + s.rows.len() as u32 * 46).clamp(300, 1200),
            Plot::Heatmap(h) => (230 + h.rows.len() as u32 * 64).clamp(360, 900),
            Plot::Surface(_) => 700,
        };
        (WIDTH, h)
    }

    /// The chart as a PNG file's bytes.
    pub fn png(&self) -> Result<Vec<u8>, ReportError> {
        self.png_at(WIDTH)
    }

    /// The chart as PNG bytes `w` pixels wide (its usual height): text keeps its
    /// size, so a narrow chart reads at 1:1 beside another.
    pub fn png_at(&self, w: u32) -> Result<Vec<u8>, ReportError> {
        let h = self.size().1;
        let mut rgb = vec![255u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
            self.draw_on(&root)?;
        }
        encode_png(&rgb, w, h).map_err(|e| self.error(e))
    }

    /// The chart as an SVG document (text left to the viewer's sans-serif font).
    pub fn svg(&self) -> Result<String, ReportError> {
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, self.size()).into_drawing_area();
            self.draw_on(&root)?;
        }
        Ok(out)
    }

    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ReportError>
    where
        DB::ErrorType: 'static,
    {
        font::register()?;
        let drawn = (|| {
            root.fill(&WHITE)?;
            let area = draw::titled(root, &self.title, self.subtitle.as_deref())?;
            match &self.plot {
                Plot::Lines(p) => draw::lines::draw(&area, p)?,
                Plot::Panels(ps) => {
                    for (panel, p) in area.split_evenly((ps.len(), 1)).iter().zip(ps) {
                        draw::lines::draw(panel, p)?;
                    }
                }
                Plot::Bars(p) => draw::bars::draw(&area, p)?,
                Plot::Boxes(p) => draw::boxes::draw(&area, p)?,
                Plot::Stacked(p) => draw::stacked::draw(&area, p)?,
                Plot::Heatmap(p) => draw::heat::draw(&area, p)?,
                Plot::Surface(p) => draw::surface::draw(&area, p)?,
            }
            root.present()?;
            Ok::<(), draw::DrawError>(())
        })();
        drawn.map_err(|e| self.error(e))
    }

    fn error(&self, e: impl std::fmt::Display) -> ReportError {
        ReportError::Draw {
            chart: self.id.clone(),
            msg: e.to_string(),
        }
    }
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header()?;
        writer.write_image_data(rgb)?;
    }
    Ok(out)
}
