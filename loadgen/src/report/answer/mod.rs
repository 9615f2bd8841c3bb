//! The answer a report opens with: for each workload, which protocol led, on which
//! figure, by how much over the next one, and with what verdict. Computed here once,
//! from the figures run.json holds (the headline table's merged summaries, a kind's
//! own statistics), so report.md and report.html (rendered from it) say the same.
//!
//! Only a measured, valid case (valid* included: a co-saturated figure is a lower
//! bound) may lead. INVALID, FAILED and client-bound cases are listed as not ranked,
//! never as leaders; a push case that lost events is not ranked either (its delivery
//! figures cover only what arrived). Never judges a case: the verdict is the run's.

use protolab_bench::selfcheck::Bottleneck;
use protolab_bench::{CaseResult, Kind, KindName, Metric, Status};

use super::axis::{bytes, precise};
use super::plan::Workload;

/// The figure that decides a workload, and which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Successful calls per second (throughput, concurrency, pipeline): more wins.
    Rps,
    /// P50 of every call (latency: one request at a time): less wins.
    P50,
    /// P99 of every call at a fixed offered rate (rate): less wins.
    P99,
    /// Echo MB/s returned (bandwidth): more wins.
    EchoMbps,
    /// Events received per second (a stream sent as fast as the server can): more wins.
    EventsPerSec,
    /// Delivery P99 (a paced stream, a broadcast): less wins.
    DeliveryP99,
    /// Transfer MB/s, mean over repetitions (transfer): more wins.
    TransferMbps,
    /// Server memory per held connection (hold): less wins.
    MemoryPerConn,
    /// Connections opened per second (hold, when no server memory was observed): more wins.
    SetupRate,
    /// Total connection set-up P50: TCP, TLS, handshake, first call (connect): less wins.
    ConnectP50,
    /// The sweep's knee, the highest offered rate that met its limits: more wins.
    Knee,
}

impl Measure {
    /// The measure of a workload of `kind`; `cases` decide only the hold kind's
    /// (server memory per connection when any case observed it).
    pub fn of(kind: &Kind, cases: &[&CaseResult]) -> Measure {
        match kind {
            Kind::Throughput | Kind::Concurrency | Kind::Pipeline { .. } => Measure::Rps,
            Kind::Latency => Measure::P50,
            Kind::Rate => Measure::P99,
            Kind::Bandwidth => Measure::EchoMbps,
            Kind::Stream { interval_ms: 0, .. } => Measure::EventsPerSec,
            Kind::Stream { .. } | Kind::Broadcast { .. } => Measure::DeliveryP99,
            Kind::Transfer { .. } => Measure::TransferMbps,
            Kind::Hold { .. } if cases.iter().any(|c| held_memory(c).is_some()) => {
                Measure::MemoryPerConn
            }
            Kind::Hold { .. } => Measure::SetupRate,
            Kind::Connect { .. } => Measure::ConnectP50,
            Kind::Sweep { .. } => Measure::Knee,
        }
    }

    /// Whether a higher figure is better.
    pub fn higher_wins(self) -> bool {
        !matches!(
            self,
            Measure::P50
                | Measure::P99
                | Measure::DeliveryP99
                | Measure::MemoryPerConn
                | Measure::ConnectP50
        )
    }

    /// What wins, in a few words ("most req/s").
    pub fn label(self) -> &'static str {
        match self {
            Measure::Rps => "most req/s",
            Measure::P50 => "lowest p50",
            Measure::P99 => "lowest p99",
            Measure::EchoMbps => "most MB/s",
            Measure::EventsPerSec => "most events/s",
            Measure::DeliveryP99 => "lowest delivery p99",
            Measure::TransferMbps => "most MB/s",
            Measure::MemoryPerConn => "least server memory/conn",
            Measure::SetupRate => "most conn/s opened",
            Measure::ConnectP50 => "fastest set-up p50",
            Measure::Knee => "highest knee",
        }
    }

    /// The case's figure, in the unit `format` expects; `None` when it has none.
    pub fn value(self, c: &CaseResult) -> Option<f64> {
        let last = c.repetitions.last()?;
        let shown = c.headline()?;
        let push = || last.push.as_ref();
        match self {
            Measure::Rps => Some(shown.rps),
            Measure::P50 => Some(shown.tail().p50_us as f64),
            Measure::P99 => Some(shown.tail().p99_us as f64),
            Measure::EchoMbps => Some(shown.mbps_received),
            Measure::EventsPerSec => push().map(|p| p.events_per_sec),
            Measure::DeliveryP99 => push().map(|p| p.delivery.p99_us as f64),
            Measure::TransferMbps => c.stats.get(&Metric::Mbps).map(|m| m.mean),
            Measure::MemoryPerConn => held_memory(c),
            Measure::SetupRate => last.hold.as_ref().map(|h| h.setup_per_sec),
            Measure::ConnectP50 => last.connect.as_ref().map(|b| b.total.p50_us as f64),
            Measure::Knee => c.knee_rate,
        }
    }

    /// The statistic across repetitions that says how noisy the figure is.
    fn stat(self) -> Option<Metric> {
        match self {
            Measure::Rps => Some(Metric::Rps),
            Measure::P50 => Some(Metric::P50Us),
            Measure::P99 => Some(Metric::P99Us),
            Measure::TransferMbps => Some(Metric::Mbps),
            Measure::SetupRate => Some(Metric::SetupPerSec),
            _ => None,
        }
    }

    /// A figure with its unit: counts to three significant digits as the charts'
    /// bars label them (22.1k req/s), times in ms as the tables write them.
    pub fn format(self, v: f64) -> String {
        match self {
            Measure::Rps => format!("{} req/s", precise(v)),
            Measure::P50 | Measure::P99 | Measure::DeliveryP99 | Measure::ConnectP50 => {
                format!("{:.3} ms", v / 1000.0)
            }
            Measure::EchoMbps | Measure::TransferMbps => format!("{v:.1} MB/s"),
            Measure::EventsPerSec => format!("{} events/s", precise(v)),
            Measure::MemoryPerConn => format!("{}/conn", bytes(v)),
            Measure::SetupRate => format!("{} conn/s", precise(v)),
            Measure::Knee => format!("knee {} req/s", precise(v)),
        }
    }

    /// The figure a reader wants beside this one, when the kind records two:
    /// a latency's P99, a push's other half (delivery P99 or events/s), a hold's
    /// set-up rate.
    pub fn beside(self) -> Option<Measure> {
        match self {
            Measure::P50 => Some(Measure::P99),
            Measure::EventsPerSec => Some(Measure::DeliveryP99),
            Measure::DeliveryP99 => Some(Measure::EventsPerSec),
            Measure::MemoryPerConn => Some(Measure::SetupRate),
            _ => None,
        }
    }

    /// The figure named when its unit does not say what it is ("p99 0.340 ms"),
    /// for quoting it beside another.
    pub fn quoted(self, v: f64) -> String {
        let name = match self {
            Measure::P50 => "p50 ",
            Measure::P99 => "p99 ",
            Measure::DeliveryP99 => "delivery p99 ",
            Measure::ConnectP50 => "set-up p50 ",
            _ => "",
        };
        format!("{name}{}", self.format(v))
    }
}

/// Server memory per held connection, from the hold's last repetition.
fn held_memory(c: &CaseResult) -> Option<f64> {
    c.repetitions.last()?.hold.as_ref()?.server_bytes_per_conn
}

/// Why a measured case may not lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclusion {
    /// The target let the case down (no numbers, wrong answers, errors over budget).
    Failed,
    /// The generator cannot vouch for the numbers.
    Invalid,
    /// The generator was the limit: the figure measures it, not the server.
    ClientBound,
    /// Events were lost: the delivery figures cover only what arrived.
    Lost(u64),
    /// The case has no figure for the workload's measure.
    NoFigure,
}

impl Exclusion {
    /// The case's exclusion, if any (`value`: its figure for the workload's measure).
    fn of(c: &CaseResult, value: Option<f64>) -> Option<Exclusion> {
        let lost = c.repetitions.iter().filter_map(|r| r.push.as_ref());
        let lost: u64 = lost.map(|p| p.lost).sum();
        if c.status == Status::Failed || c.repetitions.is_empty() {
            Some(Exclusion::Failed)
        } else if c.status == Status::Invalid || !c.valid {
            Some(Exclusion::Invalid)
        } else if c.bottleneck == Some(Bottleneck::ClientBound) {
            Some(Exclusion::ClientBound)
        } else if lost > 0 {
            Some(Exclusion::Lost(lost))
        } else if value.is_none_or(|v| !v.is_finite()) {
            Some(Exclusion::NoFigure)
        } else {
            None
        }
    }

    /// The heading of its group in the "not ranked" cell.
    pub fn label(self) -> &'static str {
        match self {
            Exclusion::Failed => "FAILED",
            Exclusion::Invalid => "INVALID",
            Exclusion::ClientBound => "client-bound",
            Exclusion::Lost(_) => "lost events",
            Exclusion::NoFigure => "no figure",
        }
    }
}

/// A case that may lead, with its figure.
#[derive(Debug, Clone, Copy)]
pub struct Ranked<'a> {
    pub case: &'a CaseResult,
    pub value: f64,
}

/// How far the leader is ahead of the next ranked case.
#[derive(Debug, Clone, Copy)]
pub struct Margin<'a> {
    /// The next case's figure over the leader's (less wins) or the leader's over the
    /// next's (more wins): at least 1, how many times better the leader's is.
    pub factor: f64,
    pub over: Ranked<'a>,
    /// Whether the two cases' 95% confidence intervals across repetitions are apart
    /// (`None`: a side has no interval, e.g. a single repetition).
    pub clear: Option<bool>,
}

/// One workload's answer.
#[derive(Debug, Clone)]
pub struct Answer<'a> {
    pub workload: &'a str,
    pub kind: KindName,
    pub measure: Measure,
    /// The cases that may lead, best first.
    pub ranked: Vec<Ranked<'a>>,
    /// Measured cases that may not lead, and why, in run order.
    pub unranked: Vec<(&'a CaseResult, Exclusion)>,
}

impl<'a> Answer<'a> {
    /// The answer of one workload; `None` when every case of it was skipped.
    pub fn of(w: &Workload<'a>) -> Option<Answer<'a>> {
        let cases: Vec<&CaseResult> = w
            .cases
            .iter()
            .copied()
            .filter(|c| c.skipped.is_none() && c.status != Status::Skipped)
            .collect();
        let first = *cases.first()?;
        let measure = Measure::of(&first.spec.kind, &cases);
        let mut ranked = Vec::new();
        let mut unranked = Vec::new();
        for c in cases {
            let value = measure.value(c);
            match (Exclusion::of(c, value), value) {
                (None, Some(value)) => ranked.push(Ranked { case: c, value }),
                (why, _) => unranked.push((c, why.unwrap_or(Exclusion::NoFigure))),
            }
        }
        let better = |a: &Ranked<'_>, b: &Ranked<'_>| match measure.higher_wins() {
            true => b.value.total_cmp(&a.value),
            false => a.value.total_cmp(&b.value),
        };
        ranked.sort_by(better);
        Some(Answer {
            workload: w.name,
            kind: first.spec.kind.id(),
            measure,
            ranked,
            unranked,
        })
    }

    /// The case that led, if any may.
    pub fn leader(&self) -> Option<Ranked<'a>> {
        self.ranked.first().copied()
    }

    /// How far the leader is ahead of the next ranked case; `None` with fewer than two.
    pub fn margin(&self) -> Option<Margin<'a>> {
        let (lead, next) = (self.ranked.first()?, *self.ranked.get(1)?);
        let (better, worse) = match self.measure.higher_wins() {
            true => (lead.value, next.value),
            false => (next.value, lead.value),
        };
        let factor = if worse > 0.0 {
            better / worse
        } else if better > 0.0 {
            f64::INFINITY
        } else {
            1.0
        };
        let interval = |c: &CaseResult| {
            let s = c.stats.get(&self.measure.stat()?)?;
            (s.kept > 1 && !s.ci95_degenerate).then_some((s.ci95_low, s.ci95_high))
        };
        let clear = match (interval(lead.case), interval(next.case)) {
            (Some((l1, h1)), Some((l2, h2))) => Some(h1 < l2 || h2 < l1),
            _ => None,
        };
        Some(Margin {
            factor,
            over: next,
            clear,
        })
    }
}

/// Every workload's answer, grouped by kind in order of first appearance (the
/// report's sections), workloads in run order within a kind.
pub fn answers<'a>(workloads: &[Workload<'a>]) -> Vec<Answer<'a>> {
    let mut sections: Vec<&str> = Vec::new();
    for w in workloads {
        if !sections.contains(&w.section) {
            sections.push(w.section);
        }
    }
    sections
        .iter()
        .flat_map(|s| workloads.iter().filter(move |w| w.section == *s))
        .filter_map(Answer::of)
        .collect()
}

/// How a leader's `factor` reads before the next one's name: "tied with" below
/// 0.5%, "18% ahead of" below twice as good, "3.2× ahead of" from there.
pub fn ahead(factor: f64) -> String {
    if !factor.is_finite() {
        "ahead of".into()
    } else if factor < 1.005 {
        "tied with".into()
    } else if factor < 2.0 {
        format!("{:.0}% ahead of", (factor - 1.0) * 100.0)
    } else {
        format!("{factor:.1}× ahead of")
    }
}

#[cfg(test)]
mod tests;
