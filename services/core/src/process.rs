//! Facts about this process for the admin JSON summary: which replica it is, resident
//! memory (from `/proc`) and CPU time (the process CPU clock). Each returns `None`
//! where the platform does not tell it; none fails a request.

use std::sync::OnceLock;

/// Which replica of its service this process is: `REPLICA` when set (an override),
/// else the host name (a container's own: its id under Compose,
/// `<stack>_<service>.<slot>` in the swarm stack, whose file sets it). Read once.
pub fn replica() -> Option<&'static str> {
    static REPLICA: OnceLock<Option<String>> = OnceLock::new();
    REPLICA
        .get_or_init(|| {
            let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
            env("REPLICA").or_else(|| env("HOSTNAME")).or_else(|| {
                let name = std::fs::read_to_string("/etc/hostname").ok()?;
                Some(name.trim().to_string()).filter(|n| !n.is_empty())
            })
        })
        .as_deref()
}

/// Resident set size in bytes (`VmRSS` of `/proc/self/status`).
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_rss(&status)
}

/// CPU seconds this process has used, all threads, user and system, to the
/// nanosecond (`CLOCK_PROCESS_CPUTIME_ID`): a load generator reads it at a measured
/// window's start and end, so a window of a few hundred calls is still measured
/// exactly (`/proc`'s clock ticks are 10 ms).
pub fn cpu_seconds() -> Option<f64> {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_PROCESS_CPUTIME_ID).ok()?;
    Some(t.tv_sec() as f64 + t.tv_nsec() as f64 / 1e9)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vm_rss() {
        assert_eq!(
            parse_vm_rss("Name:\tx\nVmRSS:\t    1234 kB\nThreads: 2\n"),
            Some(1234 * 1024)
        );
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
    }

    #[test]
    fn cpu_seconds_count_this_process_work() {
        let before = cpu_seconds().expect("the process CPU clock");
        let spin = std::time::Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < std::time::Duration::from_millis(30) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let used = cpu_seconds().expect("the process CPU clock") - before;
        // 30 ms of wall time spinning on this thread: at least some of it on a CPU
        // (a loaded machine may preempt us), never more than the wall time allows
        // for every thread of a test binary.
        assert!(used > 0.001 && used < 30.0, "used {used} s");
    }
}
