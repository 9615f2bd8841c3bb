//! Axes of the charts: how values map onto an axis (linear, log10, percentile
//! "nines", log2 bytes), where the tick marks go (1-2-5 steps, decades, 50% / 90% /
//! 99% ...) and how a tick reads. Every chart axis is drawn as a linear f64 range in
//! these transformed units, so one drawing routine serves every scale.

/// How values are placed along an axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    /// Plain numbers, from zero.
    Linear,
    /// Plain numbers over the data's own span (memory over time: the change is
    /// the point, not the distance from zero).
    Fitted,
    /// log10 of the value: for latencies spanning decades.
    Log,
    /// Percentile spectrum: a quantile q (0..1) at -log10(1 - q), so 90%, 99%,
    /// 99.9% and 99.99% are evenly spaced, as HdrHistogram plots them.
    Nines,
    /// log2 of a byte count, ticks read as B / KiB / MiB.
    Bytes,
}

/// One axis: its title (with unit) and scale.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub label: String,
    pub scale: Scale,
}

/// Highest quantile the spectrum shows (99.99%).
pub const MAX_NINES: f64 = 4.0;

impl Axis {
    pub fn new(label: impl Into<String>, scale: Scale) -> Axis {
        Axis {
            label: label.into(),
            scale,
        }
    }

    /// A latency axis in ms, log10 when the values span more than a decade.
    pub fn latency_ms(values: impl IntoIterator<Item = f64>) -> Axis {
        Axis::auto("latency (ms)", values, 10.0)
    }

    /// A linear axis, or log10 when the positive values span more than `ratio`.
    pub fn auto(
        label: impl Into<String>,
        values: impl IntoIterator<Item = f64>,
        ratio: f64,
    ) -> Axis {
        let (lo, hi) = bounds(values.into_iter().filter(|v| *v > 0.0));
        let scale = if hi > ratio * lo {
            Scale::Log
        } else {
            Scale::Linear
        };
        Axis::new(label, scale)
    }

    /// A value placed on this axis (transformed units). Non-positive values on a
    /// log axis sit at a tiny positive floor instead of minus infinity.
    pub fn place(&self, v: f64) -> f64 {
        match self.scale {
            Scale::Linear | Scale::Fitted => v,
            Scale::Log => v.max(1e-6).log10(),
            Scale::Nines => -(1.0 - v.clamp(0.0, 0.999_999)).log10(),
            Scale::Bytes => v.max(1.0).log2(),
        }
    }

    /// The drawn range and its tick positions (both in transformed units) for raw
    /// values `values`; linear axes start at zero so bar and line heights compare.
    pub fn range(&self, values: impl IntoIterator<Item = f64>) -> (std::ops::Range<f64>, Vec<f64>) {
        let (lo, hi) = bounds(values.into_iter().filter(|v| v.is_finite()));
        match self.scale {
            Scale::Linear => {
                let hi = if hi > 0.0 { hi * 1.08 } else { 1.0 };
                let lo = lo.min(0.0);
                (lo..hi, linear_ticks(lo, hi))
            }
            Scale::Fitted => {
                let pad = ((hi - lo) * 0.15).max(hi.abs() * 0.05).max(1e-9);
                let (a, b) = ((lo - pad).max(lo.min(0.0)), hi + pad);
                (a..b, linear_ticks(a, b))
            }
            Scale::Log => {
                let (lo, hi) = (lo.max(1e-6), hi.max(lo.max(1e-6) * 1.01));
                let (a, b) = (lo.log10() - 0.05, hi.log10() + 0.05);
                (a..b, log_ticks(a, b))
            }
            Scale::Nines => {
                let ticks = vec![0.0, 2f64.log10(), 1.0, 2.0, 3.0, 4.0];
                (0.0..MAX_NINES + 0.05, ticks)
            }
            Scale::Bytes => {
                let (a, b) = (self.place(lo) - 0.5, self.place(hi) + 0.5);
                let step = if b - a > 12.0 { 4.0 } else { 2.0 };
                let first = (a / step).ceil() * step;
                let ticks = (0..)
                    .map(|i| first + i as f64 * step)
                    .take_while(|t| *t <= b);
                (a..b, ticks.collect())
            }
        }
    }

    /// How a tick at transformed position `t` reads.
    pub fn tick(&self, t: f64) -> String {
        match self.scale {
            Scale::Linear | Scale::Fitted => short(t),
            Scale::Log => short(10f64.powf(t)),
            Scale::Nines => {
                let q = 1.0 - 10f64.powf(-t);
                let pct = format!("{:.4}", q * 100.0);
                let pct = pct.trim_end_matches('0').trim_end_matches('.');
                format!("{pct}%")
            }
            Scale::Bytes => bytes(2f64.powf(t).round()),
        }
    }
}

/// (min, max) of finite values; (0, 1) for none.
pub(crate) fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    }
}

/// About six ticks at 1-2-5 steps covering `lo..hi`.
pub fn linear_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let raw = (hi - lo) / 6.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() * step;
    (0..)
        .map(|i| first + i as f64 * step)
        .take_while(|t| *t <= hi + step * 1e-9)
        .collect()
}

/// Decades in log10 units within `a..b`, with 2 and 5 between when few decades.
fn log_ticks(a: f64, b: f64) -> Vec<f64> {
    let per_decade: &[f64] = if b - a <= 2.5 {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0]
    };
    let mut ticks = Vec::new();
    for d in (a.floor() as i32)..=(b.ceil() as i32) {
        for m in per_decade {
            let t = f64::from(d) + m.log10();
            if t >= a && t <= b {
                ticks.push(t);
            }
        }
    }
    ticks
}

/// A number in a few characters: 12k, 1.5M, 3.2, 0.125.
pub fn short(v: f64) -> String {
    let a = v.abs();
    let trim = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    match a {
        _ if a >= 1e6 => trim(format!("{:.1}", v / 1e6)) + "M",
        _ if a >= 1e4 => trim(format!("{:.0}", v / 1e3)) + "k",
        _ if a >= 1e3 => trim(format!("{:.1}", v / 1e3)) + "k",
        _ if a >= 10.0 => trim(format!("{v:.0}")),
        _ if a >= 1.0 => trim(format!("{v:.1}")),
        _ if a == 0.0 => "0".into(),
        _ => trim(format!("{v:.3}")),
    }
}

/// A number to three significant digits, with k / M past a thousand: 21.0k,
/// 953, 2.69, 0.125 (bar values, where "1k" for 999 would mislead).
pub fn precise(v: f64) -> String {
    let (v, suffix) = match v.abs() {
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e3 => (v / 1e3, "k"),
        _ => (v, ""),
    };
    let digits = match v.abs() {
        a if a >= 99.95 => 0,
        a if a >= 9.995 => 1,
        a if a >= 1.0 => 2,
        _ => 3,
    };
    format!("{v:.digits$}{suffix}")
}

/// A size as people write it: binary units (KiB, MiB) for multiples of 1024,
/// decimal (kB, MB) otherwise, so 1,500,000 reads "1.5 MB" and 65,536 "64 KiB".
pub fn size(b: u64) -> String {
    if b >= 1000 && b % 1024 != 0 {
        let (v, unit) = match b {
            _ if b >= 1_000_000_000 => (b as f64 / 1e9, "GB"),
            _ if b >= 1_000_000 => (b as f64 / 1e6, "MB"),
            _ => (b as f64 / 1e3, "kB"),
        };
        format!("{} {unit}", short(v))
    } else {
        bytes(b as f64)
    }
}

/// A byte count as B, KiB, MiB or GiB.
pub fn bytes(v: f64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = v;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{} {}", short(v), UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_read_as_their_units() {
        let nines = Axis::new("q", Scale::Nines);
        let labels: Vec<String> = nines.range([]).1.iter().map(|t| nines.tick(*t)).collect();
        assert_eq!(labels, ["0%", "50%", "90%", "99%", "99.9%", "99.99%"]);
        let b = Axis::new("size", Scale::Bytes);
        assert_eq!(b.tick(b.place(1024.0)), "1 KiB");
        assert_eq!(b.tick(b.place(1_048_576.0)), "1 MiB");
        assert_eq!(short(12_345.0), "12k");
        assert_eq!(short(1_500_000.0), "1.5M");
        assert_eq!(short(0.125), "0.125");
        assert_eq!(precise(999.4), "999");
        assert_eq!(precise(21_000.0), "21.0k");
        assert_eq!(precise(2.694), "2.69");
        assert_eq!(size(1_500_000), "1.5 MB");
        assert_eq!(size(65_536), "64 KiB");
    }

    #[test]
    fn ranges_cover_their_values() {
        let lin = Axis::new("x", Scale::Linear);
        let (r, ticks) = lin.range([3.0, 97.0]);
        assert!(r.start <= 0.0 && r.end >= 97.0);
        assert!(ticks.len() >= 3 && ticks.windows(2).all(|w| w[0] < w[1]));
        let log = Axis::latency_ms([0.2, 40.0]);
        assert_eq!(log.scale, Scale::Log);
        let (r, ticks) = log.range([0.2, 40.0]);
        assert!(r.start <= log.place(0.2) && r.end >= log.place(40.0));
        assert!(ticks.iter().any(|t| log.tick(*t) == "1"));
        assert_eq!(Axis::latency_ms([1.0, 5.0]).scale, Scale::Linear);
    }
}
