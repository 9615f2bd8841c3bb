//! Benchmark client for the NET-001 server (not a test: numbers, not assertions).
//!
//! ```text
//! cargo run --release -p protolab-binary --example load -- echo  --addr 127.0.0.1:5000
//! cargo run --release -p protolab-binary --example load -- ping  --addr 127.0.0.1:5000 --rate 10000
//! cargo run --release -p protolab-binary --example load -- idle  --addr 127.0.0.1:5000 --conns 10000 --server-pid PID
//! ```
//!
//! - `echo`: pipelined 64-byte ECHO over a few connections, a window of frames in
//!   flight each; replies are decoded (CRC checked) and counted. Prints messages/s.
//! - `ping`: open loop at a fixed rate on one connection (blocking threads, so the
//!   schedule is not at the mercy of a 1 ms timer); latency is measured from each
//!   PING's intended send time (coordinated omission corrected) into an HdrHistogram.
//! - `idle`: opens N connections, one PING each, then reads the server's RSS from
//!   /proc/PID/status before and after: bytes per idle connection.
//!
//! Run the server with RATE_LIMIT=0 GLOBAL_RATE_LIMIT=0 (the defaults limit a client
//! to 1000 messages/s) and, for `idle`, MAX_CONNECTIONS above N and `ulimit -n` raised
//! in both shells.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use clap::{Parser, Subcommand};
use protolab_wire::net001::{Frame, Net001Codec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::Decoder;

#[derive(Parser)]
struct Opts {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Pipelined ECHO throughput
    Echo {
        #[arg(long, default_value = "127.0.0.1:5000")]
        addr: SocketAddr,
        #[arg(long, default_value_t = 2)]
        conns: usize,
        /// Frames in flight per connection
        #[arg(long, default_value_t = 8192)]
        window: u64,
        #[arg(long, default_value_t = 64)]
        size: usize,
        #[arg(long, default_value_t = 10)]
        secs: u64,
        /// Client runtime threads
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
    /// Open-loop PING latency
    Ping {
        #[arg(long, default_value = "127.0.0.1:5000")]
        addr: SocketAddr,
        #[arg(long, default_value_t = 10_000)]
        rate: u64,
        #[arg(long, default_value_t = 10)]
        secs: u64,
    },
    /// RSS per idle connection
    Idle {
        #[arg(long, default_value = "127.0.0.1:5000")]
        addr: SocketAddr,
        #[arg(long, default_value_t = 10_000)]
        conns: usize,
        #[arg(long)]
        server_pid: u32,
    },
}

fn main() -> anyhow::Result<()> {
    match Opts::parse().mode {
        Mode::Echo {
            addr,
            conns,
            window,
            size,
            secs,
            threads,
        } => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads.max(1))
                .enable_all()
                .build()?;
            rt.block_on(echo(addr, conns, window, size, Duration::from_secs(secs)))
        }
        Mode::Ping { addr, rate, secs } => ping(addr, rate, Duration::from_secs(secs)),
        Mode::Idle {
            addr,
            conns,
            server_pid,
        } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(idle(addr, conns, server_pid))
        }
    }
}

/// Frames written per write call.
const BATCH: u64 = 256;

async fn echo(
    addr: SocketAddr,
    conns: usize,
    window: u64,
    size: usize,
    dur: Duration,
) -> anyhow::Result<()> {
    let mut batch = BytesMut::new();
    for _ in 0..BATCH {
        Frame::Echo(Bytes::from(vec![b'x'; size])).encode(&mut batch)?;
    }
    let batch = batch.freeze();
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let s = tokio::net::TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        let (mut rd, mut wr) = s.into_split();
        let received = Arc::new(AtomicU64::new(0));
        let notify = Arc::new(tokio::sync::Notify::new());
        let (batch, stop2, recv2, notify2) = (
            batch.clone(),
            stop.clone(),
            received.clone(),
            notify.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut sent = 0u64;
            while !stop2.load(Ordering::Relaxed) {
                let wait = notify2.notified();
                if sent - recv2.load(Ordering::Acquire) + BATCH > window {
                    wait.await;
                    continue;
                }
                if wr.write_all(&batch).await.is_err() {
                    break;
                }
                sent += BATCH;
            }
        }));
        let (stop3, total2) = (stop.clone(), total.clone());
        tasks.push(tokio::spawn(async move {
            let (mut codec, mut buf) = (Net001Codec::new(), BytesMut::with_capacity(256 * 1024));
            while !stop3.load(Ordering::Relaxed) {
                buf.reserve(128 * 1024);
                match rd.read_buf(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let mut n = 0;
                while let Ok(Some(item)) = codec.decode(&mut buf) {
                    match item {
                        Ok(Frame::EchoReply(b)) if b.len() == size => n += 1,
                        other => panic!("unexpected reply {other:?}"),
                    }
                }
                received.fetch_add(n, Ordering::Release);
                total2.fetch_add(n, Ordering::Relaxed);
                notify.notify_one();
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await; // warm-up
    let (t0, n0) = (Instant::now(), total.load(Ordering::Relaxed));
    tokio::time::sleep(dur).await;
    let (secs, n) = (
        t0.elapsed().as_secs_f64(),
        total.load(Ordering::Relaxed) - n0,
    );
    stop.store(true, Ordering::Relaxed);
    println!("echo: {n} replies of {size} B in {secs:.2} s = {:.0} msg/s ({conns} conns, window {window})", n as f64 / secs);
    for t in tasks {
        t.abort();
    }
    Ok(())
}

fn ping(addr: SocketAddr, rate: u64, dur: Duration) -> anyhow::Result<()> {
    let s = std::net::TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    let mut rd = s.try_clone()?;
    let mut wr = s;
    let count = rate * dur.as_secs();
    let period = Duration::from_nanos(1_000_000_000 / rate.max(1));
    let start = Instant::now() + Duration::from_millis(100);
    let reader = std::thread::spawn(move || -> anyhow::Result<hdrhistogram::Histogram<u64>> {
        let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 10_000_000, 3)?;
        let (mut codec, mut buf, mut got) = (Net001Codec::new(), BytesMut::new(), 0u64);
        let mut chunk = [0u8; 64 * 1024];
        while got < count {
            let n = rd.read(&mut chunk)?;
            anyhow::ensure!(n > 0, "server closed after {got} PONGs");
            buf.extend_from_slice(&chunk[..n]);
            let now = Instant::now();
            while let Some(item) = codec.decode(&mut buf)? {
                let Ok(Frame::Pong { timestamp_us: i }) = item else {
                    anyhow::bail!("unexpected reply {item:?}");
                };
                let intended = start + period * u32::try_from(i)?;
                h.record(now.saturating_duration_since(intended).as_micros().max(1) as u64)?;
                got += 1;
            }
        }
        Ok(h)
    });
    let mut frame = BytesMut::new();
    for i in 0..count {
        let due = start + period * u32::try_from(i)?;
        loop {
            let now = Instant::now();
            if now >= due {
                break;
            }
            if due - now > Duration::from_micros(200) {
                std::thread::sleep(due - now - Duration::from_micros(100));
            } else {
                std::hint::spin_loop();
            }
        }
        frame.clear();
        Frame::Ping { timestamp_us: i }.encode(&mut frame)?;
        wr.write_all(&frame)?;
    }
    let h = reader
        .join()
        .map_err(|_| anyhow::anyhow!("reader panicked"))??;
    println!(
        "ping @ {rate}/s x {count}: p50 {} us, p90 {} us, p99 {} us, p99.9 {} us, max {} us",
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.9),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max()
    );
    Ok(())
}

fn rss_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or_else(|| anyhow::anyhow!("no VmRSS"))?;
    Ok(line.split_whitespace().nth(1).unwrap_or("0").parse()?)
}

async fn idle(addr: SocketAddr, conns: usize, pid: u32) -> anyhow::Result<()> {
    let mut ping = BytesMut::new();
    Frame::Ping { timestamp_us: 1 }.encode(&mut ping)?;
    let mut reply = vec![0u8; ping.len()];
    let mut held = Vec::with_capacity(conns);
    // One warm-up round so the baseline includes allocator arenas and the hub.
    for _ in 0..2 {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(&ping).await?;
        s.read_exact(&mut reply).await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kb(pid)?;
    for i in 0..conns {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(&ping).await?;
        s.read_exact(&mut reply)
            .await
            .map_err(|e| anyhow::anyhow!("connection {i}: {e}"))?;
        held.push(s);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kb(pid)?;
    println!(
        "idle: {conns} connections, server RSS {before} KiB -> {after} KiB: {:.2} KiB per connection",
        after.saturating_sub(before) as f64 / conns as f64
    );
    Ok(())
}
