//! Facts about this process read from `/proc` (Linux): resident memory for the admin
//! JSON summary. Returns `None` where `/proc` is absent; never fails a request.

/// Resident set size in bytes (`VmRSS` of `/proc/self/status`).
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_rss(&status)
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
}
