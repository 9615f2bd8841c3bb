//! The generator watches itself: how much CPU it used during a case, as a fraction
//! of the cores it may run on. A saturated generator measures itself, not the server,
//! so such a case is marked invalid.

use std::time::Instant;

/// Above this fraction of its cores the generator counts as saturated.
pub const CPU_SATURATED: f64 = 0.90;

/// Linux reports /proc times in USER_HZ, which is 100 on every architecture.
const USER_HZ: f64 = 100.0;

/// Process CPU seconds (user + system) from /proc/self/stat; `None` off Linux.
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / USER_HZ)
}

/// Cores this process may use (affinity and cgroup quota aware).
pub fn available_cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Measures CPU use between `start` and `fraction`.
pub struct CpuMeter {
    wall: Instant,
    cpu: Option<f64>,
}

impl CpuMeter {
    pub fn start() -> CpuMeter {
        CpuMeter {
            wall: Instant::now(),
            cpu: process_cpu_seconds(),
        }
    }

    /// CPU used since `start`, as a fraction of the available cores; `None` when
    /// unknown or when under a second of wall time passed (the 10 ms tick of /proc
    /// makes shorter windows meaningless).
    pub fn fraction(&self) -> Option<f64> {
        let wall = self.wall.elapsed().as_secs_f64();
        match (self.cpu, process_cpu_seconds()) {
            (Some(a), Some(b)) if wall >= 1.0 => Some((b - a) / wall / available_cores() as f64),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burning_cpu_shows_up_in_process_cpu_seconds() {
        // Bounded by wall time; on a busy machine it only takes longer.
        let before = process_cpu_seconds().expect("/proc/self/stat readable");
        let t = Instant::now();
        let mut x = 0u64;
        while process_cpu_seconds().unwrap_or(0.0) - before < 0.2 && t.elapsed().as_secs() < 30 {
            for _ in 0..100_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
        }
        std::hint::black_box(x);
        let used = process_cpu_seconds().unwrap_or(0.0) - before;
        assert!(used >= 0.2, "{used} CPU seconds after {:?}", t.elapsed());
        assert!(
            CpuMeter::start().fraction().is_none(),
            "no verdict on a window under a second"
        );
    }
}
