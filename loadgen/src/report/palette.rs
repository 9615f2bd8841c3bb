//! Colours: each protocol keeps one colour in every chart of a report (and the
//! same known endpoint keeps it across reports), from a palette that stays apart
//! for colour-blind readers (Tableau 10); connection stages get their own.

use plotters::style::RGBColor;

use crate::results::Run;

/// Known endpoints and their colours: families in related hues, so REST, gRPC
/// and the rest read as groups.
const KNOWN: &[(&str, RGBColor)] = &[
    ("rest-h1", RGBColor(31, 119, 180)),
    ("rest-h2c", RGBColor(23, 190, 207)),
    ("rest-tls-h2", RGBColor(148, 103, 189)),
    ("grpc", RGBColor(44, 160, 44)),
    ("grpc-mtls", RGBColor(188, 189, 34)),
    ("graphql", RGBColor(227, 119, 194)),
    ("sse", RGBColor(255, 127, 14)),
    ("websocket", RGBColor(214, 39, 40)),
    ("binary", RGBColor(140, 86, 75)),
    ("net001", RGBColor(140, 86, 75)),
    ("framed", RGBColor(127, 127, 127)),
];

/// Colours handed to protocols not in `KNOWN`, in order.
const SPARE: &[RGBColor] = &[
    RGBColor(0, 0, 0),
    RGBColor(174, 199, 232),
    RGBColor(255, 152, 150),
    RGBColor(152, 223, 138),
    RGBColor(197, 176, 213),
    RGBColor(196, 156, 148),
    RGBColor(247, 182, 210),
    RGBColor(219, 219, 141),
    RGBColor(158, 218, 229),
    RGBColor(255, 187, 120),
];

/// Connection set-up stages, in stacking order, with their colours.
pub const STAGES: [(&str, RGBColor); 4] = [
    ("TCP connect", RGBColor(120, 144, 156)),
    ("TLS handshake", RGBColor(148, 103, 189)),
    ("protocol handshake", RGBColor(255, 127, 14)),
    ("first call", RGBColor(44, 160, 44)),
];

/// The colour of every protocol of one run.
#[derive(Debug, Clone)]
pub struct Palette {
    assigned: Vec<(String, RGBColor)>,
}

impl Palette {
    /// Known endpoints get their fixed colour; the others, sorted by name, the
    /// spare colours in turn (then the known ones not used by this run).
    pub fn for_run(run: &Run) -> Palette {
        let mut names: Vec<&str> = run.cases.iter().map(|c| c.spec.protocol.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let mut assigned: Vec<(String, RGBColor)> = Vec::new();
        let mut unknown = Vec::new();
        for n in names {
            match KNOWN.iter().find(|(k, _)| *k == n) {
                Some((_, c)) => assigned.push((n.to_string(), *c)),
                None => unknown.push(n),
            }
        }
        let used: Vec<RGBColor> = assigned.iter().map(|a| a.1).collect();
        let mut free = SPARE
            .iter()
            .chain(KNOWN.iter().map(|k| &k.1))
            .filter(|c| !used.contains(c))
            .cycle();
        for n in unknown {
            let c = free.next().copied().unwrap_or(RGBColor(0, 0, 0));
            assigned.push((n.to_string(), c));
        }
        Palette { assigned }
    }

    /// The colour of `protocol` (black for one not in the run).
    pub fn colour(&self, protocol: &str) -> RGBColor {
        self.assigned
            .iter()
            .find(|(n, _)| n == protocol)
            .map_or(RGBColor(0, 0, 0), |a| a.1)
    }
}
