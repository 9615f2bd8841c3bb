//! A server binary run as a child process on loopback ports chosen by the OS, and
//! its resident memory (capacity harnesses: the server's RSS must not include the
//! clients'). Shared by every server's harness with `#[path]`.
#![allow(dead_code)] // each harness uses a different part

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running server; killed when dropped, however the harness ends.
pub struct ServerProcess {
    child: Child,
    /// Its plain-text address, read from its `listening` log line.
    pub addr: SocketAddr,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    /// Starts `bin` on 127.0.0.1 with a small dataset in `dir`, room for
    /// `connections` connections and any `extra` flags, and waits for its address.
    pub fn start(
        bin: &Path,
        dir: &Path,
        connections: usize,
        extra: &[&str],
    ) -> anyhow::Result<ServerProcess> {
        let mut child = Command::new(bin)
            .args(["--bind", "127.0.0.1", "--port", "0", "--admin-port", "0"])
            .arg("--db")
            .arg(dir.join("items.db"))
            .args(["--items", "1000", "--max-connections"])
            .arg((connections + 100).to_string())
            .args(extra)
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stderr"))?;
        let mut lines = BufReader::new(stderr).lines();
        for line in lines.by_ref().take(50) {
            let line = line?;
            let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if v["fields"]["message"] == "listening" {
                let addr = v["fields"]["plain"].as_str().unwrap_or_default().parse()?;
                // Keep draining the log so the server never writes into a closed pipe.
                std::thread::spawn(move || lines.for_each(drop));
                return Ok(ServerProcess { child, addr });
            }
            eprintln!("server: {line}");
        }
        let _ = child.kill();
        let _ = child.wait();
        anyhow::bail!("{} never logged its address", bin.display())
    }

    /// The server's resident set (VmRSS), in KiB.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| anyhow::anyhow!("no VmRSS"))
    }
}
