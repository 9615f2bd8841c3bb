//! The coordinator: joins its members (each says hello and has its clock offset
//! measured), then runs each case's repetitions on all of them at once: one job per
//! member with its segment and a common start time, the server's CPU metered over
//! the common window, every member's outcome collected under deadlines, and the
//! parts merged. A member that dies, stalls or starts late makes the case FAILED
//! with its name; no wait is without a deadline.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::case::{CaseResult, CaseSpec, Repetition, Status};
use crate::engine::EngineError;
use crate::fleet::merge::{merge, WorkerLine};
use crate::fleet::segment::Segment;
use crate::fleet::wire::{self, Job, Outcome, ToCoordinator, ToMember, WireError};
use crate::selfcheck::Meter;
use crate::sink::{Progress, Tick};
use crate::usage::ServerProbe;

/// A member silent this long (no heartbeat, no tick) is taken for dead.
pub const STALL: Duration = Duration::from_secs(5);
/// A member whose load began later than this after the fleet's start time makes
/// the case FAILED: its window is not the others'.
pub const LATE_START: Duration = Duration::from_millis(250);
/// Time given to open connections before the common start: this, plus 1 ms per
/// connection of the largest segment.
const LEAD: Duration = Duration::from_secs(2);
/// Beyond the plan's own length, how long a repetition may take to come back.
const GRACE: Duration = Duration::from_secs(15);
/// Clock probes per member; the one with the shortest round trip is kept.
const CLOCK_PROBES: usize = 8;

/// Why a fleet could not be formed.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("worker at {addr}: {why}")]
    Join { addr: SocketAddr, why: String },
    #[error("two workers say they are index {0}")]
    DuplicateIndex(usize),
    #[error("no worker address given")]
    Empty,
}

struct Member {
    /// Unique in this fleet's life: messages of a member gone are told apart.
    id: u64,
    name: String,
    index: Option<usize>,
    addr: SocketAddr,
    writer: wire::Writer,
    /// Its clock minus the coordinator's, seconds, and the probe's round trip.
    offset_s: f64,
    rtt_s: f64,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Member {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

type Inbox = (u64, Result<ToCoordinator, WireError>);

/// A coordinator and its members.
pub struct Fleet {
    members: Vec<Member>,
    /// How many members the fleet was formed with.
    want: usize,
    /// Members lost, by name, for the reason a short fleet gives.
    lost: Vec<String>,
    tx: mpsc::UnboundedSender<Inbox>,
    rx: mpsc::UnboundedReceiver<Inbox>,
    next_id: u64,
    next_job: u64,
}

/// A joined member before it is one: who it is, its session, its clock.
struct Joined {
    name: String,
    index: Option<usize>,
    addr: SocketAddr,
    reader: wire::Reader,
    writer: wire::Writer,
    offset_s: f64,
    rtt_s: f64,
}

impl Fleet {
    /// Joins a member at every address (each is retried until `within`), ordered
    /// by the index each gives (then name): member i takes segment i.
    pub async fn connect(addrs: &[SocketAddr], within: Duration) -> Result<Fleet, FleetError> {
        if addrs.is_empty() {
            return Err(FleetError::Empty);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let mut fleet = Fleet {
            members: Vec::new(),
            want: addrs.len(),
            lost: Vec::new(),
            tx,
            rx,
            next_id: 0,
            next_job: 0,
        };
        fleet.join_all(addrs, within).await?;
        Ok(fleet)
    }

    /// Members now, and how many the fleet was formed with.
    pub fn size(&self) -> (usize, usize) {
        (self.members.len(), self.want)
    }

    /// Every member in segment order: name, clock offset and round trip (s).
    pub fn members(&self) -> Vec<(String, f64, f64)> {
        self.members
            .iter()
            .map(|m| (m.name.clone(), m.offset_s, m.rtt_s))
            .collect()
    }

    /// Joins members at those of `addrs` that are not members already (a fleet
    /// refilled after a loss, from its orchestrator's current addresses), within
    /// `within`.
    pub async fn rejoin(
        &mut self,
        addrs: &[SocketAddr],
        within: Duration,
    ) -> Result<(), FleetError> {
        let new: Vec<SocketAddr> = addrs
            .iter()
            .filter(|a| self.members.iter().all(|m| m.addr != **a))
            .copied()
            .collect();
        self.join_all(&new, within).await?;
        if self.members.len() >= self.want {
            self.lost.clear();
        }
        Ok(())
    }

    async fn join_all(&mut self, addrs: &[SocketAddr], within: Duration) -> Result<(), FleetError> {
        let until = Instant::now() + within;
        let joined = futures::future::join_all(addrs.iter().map(|a| join(*a, until))).await;
        for j in joined {
            let j = j?;
            let id = self.next_id;
            self.next_id += 1;
            let reader = tokio::spawn(listen(id, j.reader, self.tx.clone()));
            self.members.push(Member {
                id,
                name: j.name,
                index: j.index,
                addr: j.addr,
                writer: j.writer,
                offset_s: j.offset_s,
                rtt_s: j.rtt_s,
                reader,
            });
        }
        self.members
            .sort_by(|a, b| (a.index, &a.name).cmp(&(b.index, &b.name)));
        for pair in self.members.windows(2) {
            if let (Some(a), Some(b)) = (pair[0].index, pair[1].index) {
                if a == b {
                    return Err(FleetError::DuplicateIndex(a));
                }
            }
        }
        Ok(())
    }

    /// Runs `spec` on every member with `endpoint`'s driver, repetition by
    /// repetition, and merges what they measured into one case. `server` meters the
    /// server over the common window; `progress` gets the fleet's summed ticks.
    pub async fn run_case(
        &mut self,
        endpoint: &str,
        spec: CaseSpec,
        server: Option<&ServerProbe>,
        progress: &dyn Progress,
    ) -> CaseResult {
        let mut result = CaseResult::new(spec.clone());
        let (have, want) = self.size();
        if have < want {
            let why = format!(
                "the fleet has {have} of its {want} workers (lost: {})",
                self.lost.join(", ")
            );
            return CaseResult::failed(spec, why);
        }
        let mut one = spec.clone();
        one.repeat = 1;
        let parts: Result<Vec<CaseSpec>, String> = (0..have)
            .map(|index| Segment { index, count: have }.apply(&one))
            .collect();
        let parts = match parts {
            Ok(p) => p,
            Err(why) => return CaseResult::skipped(spec, why),
        };
        let mut more = Vec::new();
        for index in 0..spec.repeat.max(1) {
            progress.set_position(0);
            match self
                .repetition(index, endpoint, &parts, server, progress)
                .await
            {
                Ok(Step::Measured(rep, lines, found)) => {
                    result.repetitions.push(*rep);
                    result.workers.extend(lines);
                    more.extend(found);
                }
                Ok(Step::Skipped(why)) => return CaseResult::skipped(spec, why),
                Err(why) => {
                    more.push((Status::Failed, why));
                    break;
                }
            }
        }
        crate::kind::conclude(&mut result, Ok::<(), EngineError>(()), more);
        result
    }

    /// One repetition on every member.
    async fn repetition(
        &mut self,
        index: usize,
        endpoint: &str,
        parts: &[CaseSpec],
        server: Option<&ServerProbe>,
        progress: &dyn Progress,
    ) -> Result<Step, String> {
        let job = self.next_job;
        self.next_job += 1;
        let plan = &parts[0].plan;
        let widest = parts.iter().map(|p| p.plan.connections).max().unwrap_or(1);
        let lead = LEAD + Duration::from_millis(widest as u64);
        let start_at = crate::unix_now() + lead.as_secs_f64();
        let sent = Instant::now();
        for (i, part) in parts.iter().enumerate() {
            let m = &mut self.members[i];
            let mut spec = part.clone();
            if let Some(s) = spec.plan.schedule.as_mut() {
                s.start_at_unix = start_at + m.offset_s;
            }
            let msg = ToMember::Job(Box::new(Job {
                id: job,
                endpoint: endpoint.to_string(),
                segment: Segment {
                    index: i,
                    count: parts.len(),
                },
                spec,
            }));
            if let Err(e) = m.writer.send(&msg).await {
                let name = m.name.clone();
                self.drop_member(i);
                self.abort(job).await;
                return Err(format!("worker {name} lost: {e}"));
            }
        }
        let window_start = sent + lead + plan.warmup;
        let deadline = window_start + plan.duration + plan.timeout + GRACE;
        let meter = async {
            tokio::time::sleep_until(window_start).await;
            Meter::start(server).await
        };
        let (meter, outcomes) = tokio::join!(meter, self.collect(job, deadline, progress));
        let window = meter.stop().await;
        let mut outcomes = outcomes?;
        // Every member's window on the coordinator's clock.
        for (m, o) in self.members.iter().zip(outcomes.iter_mut()) {
            if let Some(part) = o.measured.as_mut() {
                part.measured_start_unix_s -= m.offset_s;
            }
        }
        if let Some(why) = outcomes.iter().find_map(|o| o.skipped.clone()) {
            return Ok(Step::Skipped(why));
        }
        let mut lines = Vec::new();
        let mut found = Vec::new();
        for (i, (m, o)) in self.members.iter().zip(&outcomes).enumerate() {
            for p in &o.problems {
                if o.status != Status::Valid {
                    found.push((o.status, format!("worker {}: {p}", m.name)));
                }
            }
            let Some(part) = &o.measured else { continue };
            let began = part.measured_start_unix_s - plan.warmup.as_secs_f64();
            let late = began - start_at;
            if late > LATE_START.as_secs_f64() {
                found.push((
                    Status::Failed,
                    format!(
                        "worker {} started {:.0} ms after the fleet (bound {} ms): its window is not the others'",
                        m.name,
                        late * 1e3,
                        LATE_START.as_millis()
                    ),
                ));
            }
            let s = &part.rep.summary;
            lines.push(WorkerLine {
                name: m.name.clone(),
                segment: Segment {
                    index: i,
                    count: parts.len(),
                },
                repetition: index,
                status: o.status,
                requests: s.requests,
                errors: s.errors,
                rps: s.rps,
                p99_us: s.tail().p99_us,
                connections: part.rep.connections,
                client_cpu_fraction: part.rep.cpu_fraction,
                send_lag_p99_us: part.rep.send_lag.as_ref().map(|l| l.p99_us),
                start_late_ms: late * 1e3,
                clock_offset_ms: m.offset_s * 1e3,
                clock_rtt_ms: m.rtt_s * 1e3,
                problems: o.problems.clone(),
            });
        }
        let measured: Vec<&wire::Measured> = outcomes
            .iter()
            .filter_map(|o| o.measured.as_ref())
            .collect();
        if measured.len() < outcomes.len() {
            let why = found
                .first()
                .map(|(_, w)| w.clone())
                .unwrap_or_else(|| "a worker measured nothing".to_string());
            return Err(why);
        }
        let mut rep = merge(&measured);
        if let (Some(w), Some(server)) = (rep.window.as_mut(), window) {
            w.server_cpu_s = server.server_cpu_s;
            w.server_cpus = server.server_cpus;
            w.server_cpu_fraction = server.server_cpu_fraction;
            w.server_net_bytes = server.server_net_bytes;
            w.replicas = server.replicas;
        }
        Ok(Step::Measured(Box::new(rep), lines, found))
    }

    /// Every member's outcome of `job`, by `deadline`; a member lost, stalled or
    /// late ends the wait at once (the others are told to abort).
    async fn collect(
        &mut self,
        job: u64,
        deadline: Instant,
        progress: &dyn Progress,
    ) -> Result<Vec<Outcome>, String> {
        let n = self.members.len();
        let mut outcomes: Vec<Option<Outcome>> = vec![None; n];
        let mut heard = vec![Instant::now(); n];
        let mut ticks: Vec<Option<Tick>> = vec![None; n];
        while outcomes.iter().any(Option::is_none) {
            let pending = (0..n).filter(|i| outcomes[*i].is_none());
            let stall_at = pending.map(|i| heard[i] + STALL).min().unwrap_or(deadline);
            let wake = stall_at.min(deadline);
            let failure = match tokio::time::timeout_at(wake, self.rx.recv()).await {
                Ok(Some((id, msg))) => {
                    let Some(i) = self.members.iter().position(|m| m.id == id) else {
                        continue;
                    };
                    heard[i] = Instant::now();
                    match msg {
                        Ok(ToCoordinator::Tick { job: j, tick }) if j == job => {
                            ticks[i] = Some(tick);
                            let fleet = sum(&ticks);
                            progress.tick(fleet);
                            progress.set_position(fleet.requests);
                            continue;
                        }
                        Ok(ToCoordinator::Done { job: j, outcome }) if j == job => {
                            outcomes[i] = Some(*outcome);
                            continue;
                        }
                        Ok(_) => continue,
                        Err(e) => (i, format!("worker {} lost: {e}", self.members[i].name)),
                    }
                }
                Ok(None) => return Err("the fleet's inbox closed".to_string()),
                Err(_) => {
                    let now = Instant::now();
                    let late = (0..n).find(|i| outcomes[*i].is_none() && heard[*i] + STALL <= now);
                    match late {
                        Some(i) => (
                            i,
                            format!(
                                "worker {} stalled: no word from it for {} s",
                                self.members[i].name,
                                STALL.as_secs()
                            ),
                        ),
                        None => {
                            let i = outcomes.iter().position(Option::is_none).unwrap_or(0);
                            (
                                i,
                                format!(
                                    "worker {} did not finish by the repetition's deadline",
                                    self.members[i].name
                                ),
                            )
                        }
                    }
                }
            };
            let (i, why) = failure;
            self.drop_member(i);
            self.abort(job).await;
            return Err(why);
        }
        Ok(outcomes.into_iter().flatten().collect())
    }

    /// Removes member `i` (its session closes; it is remembered as lost).
    fn drop_member(&mut self, i: usize) {
        let m = self.members.remove(i);
        tracing::warn!(worker = %m.name, "worker dropped from the fleet");
        self.lost.push(m.name.clone());
    }

    /// Tells every member to stop `job` and waits (5 s at most) until each says it
    /// stopped or finished; one that says neither, or whose session broke, is
    /// dropped.
    async fn abort(&mut self, job: u64) {
        let mut waiting = Vec::new();
        for m in &mut self.members {
            if m.writer.send(&ToMember::Abort).await.is_ok() {
                waiting.push(m.id);
            }
        }
        let until = Instant::now() + Duration::from_secs(5);
        while !waiting.is_empty() {
            match tokio::time::timeout_at(until, self.rx.recv()).await {
                Ok(Some((
                    id,
                    Ok(ToCoordinator::Aborted { job: j } | ToCoordinator::Done { job: j, .. }),
                ))) if j == job => waiting.retain(|w| *w != id),
                Ok(Some((id, Err(_)))) => waiting.retain(|w| *w != id),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        let gone: Vec<usize> = self
            .members
            .iter()
            .enumerate()
            .filter(|(_, m)| waiting.contains(&m.id))
            .map(|(i, _)| i)
            .collect();
        for i in gone.into_iter().rev() {
            self.drop_member(i);
        }
    }
}

/// What one repetition came to.
enum Step {
    Measured(Box<Repetition>, Vec<WorkerLine>, Vec<(Status, String)>),
    Skipped(String),
}

/// The fleet's tick: counts and rates added; the latencies are the worst member's
/// (progress only: the merged histograms give the figures).
fn sum(ticks: &[Option<Tick>]) -> Tick {
    let mut t = Tick {
        requests: 0,
        errors: 0,
        rps: 0.0,
        p50_us: 0,
        p99_us: 0,
    };
    for x in ticks.iter().flatten() {
        t.requests += x.requests;
        t.errors += x.errors;
        t.rps += x.rps;
        t.p50_us = t.p50_us.max(x.p50_us);
        t.p99_us = t.p99_us.max(x.p99_us);
    }
    t
}

/// Forwards a member's messages to the fleet's inbox until its session ends.
async fn listen(id: u64, mut reader: wire::Reader, tx: mpsc::UnboundedSender<Inbox>) {
    loop {
        let msg = reader.recv::<ToCoordinator>(None).await;
        let end = msg.is_err();
        if tx.send((id, msg)).is_err() || end {
            return;
        }
    }
}

/// Connects to the member at `addr` (retrying until `until`), reads its hello and
/// measures its clock.
async fn join(addr: SocketAddr, until: Instant) -> Result<Joined, FleetError> {
    let fail = |why: String| FleetError::Join { addr, why };
    let stream = loop {
        match tokio::time::timeout_at(until, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => break s,
            Ok(Err(e)) if Instant::now() < until => {
                tracing::debug!(%addr, error = %e, "worker not there yet");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Ok(Err(e)) => return Err(fail(format!("cannot connect: {e}"))),
            Err(_) => return Err(fail("cannot connect in time".to_string())),
        }
    };
    let (mut reader, mut writer) = wire::split(stream);
    let (name, index) = match reader.recv(Some(until)).await {
        Ok(ToCoordinator::Hello {
            name,
            index,
            version,
        }) if version == wire::VERSION => (name, index),
        Ok(ToCoordinator::Hello { version, .. }) => {
            return Err(fail(format!(
                "speaks version {version}, this coordinator {}",
                wire::VERSION
            )))
        }
        Ok(ToCoordinator::Busy) => return Err(fail("busy with another coordinator".to_string())),
        Ok(other) => return Err(fail(format!("said {other:?} instead of hello"))),
        Err(e) => return Err(fail(format!("no hello: {e}"))),
    };
    let mut samples = Vec::with_capacity(CLOCK_PROBES);
    for seq in 0..CLOCK_PROBES as u64 {
        let t0 = crate::unix_now();
        let reply = async {
            writer.send(&ToMember::Clock { seq }).await?;
            reader.recv::<ToCoordinator>(Some(until)).await
        };
        match reply.await {
            Ok(ToCoordinator::Clock {
                seq: echo,
                member_unix,
            }) if echo == seq => {
                samples.push((t0, member_unix, crate::unix_now()));
            }
            Ok(other) => return Err(fail(format!("said {other:?} to a clock probe"))),
            Err(e) => return Err(fail(format!("clock probe: {e}"))),
        }
    }
    let (offset_s, rtt_s) = clock_offset(&samples);
    tracing::info!(worker = %name, %addr, offset_ms = offset_s * 1e3, rtt_ms = rtt_s * 1e3, "worker joined");
    Ok(Joined {
        name,
        index,
        addr,
        reader,
        writer,
        offset_s,
        rtt_s,
    })
}

/// A member's clock offset (its clock minus ours) and the round trip it was
/// measured over, from probes (our send time, its time, our receive time): the
/// probe with the shortest round trip, its time taken as the midpoint (NTP's rule).
pub fn clock_offset(samples: &[(f64, f64, f64)]) -> (f64, f64) {
    samples
        .iter()
        .map(|&(t0, tm, t1)| (tm - (t0 + t1) / 2.0, t1 - t0))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((0.0, 0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_comes_from_the_shortest_round_trip() {
        // The member's clock is 0.5 s ahead; the second probe waited in a queue.
        let samples = [
            (10.0, 10.501, 10.002),
            (11.0, 11.6, 11.2),
            (12.0, 12.5005, 12.001),
        ];
        let (offset, rtt) = clock_offset(&samples);
        assert!((offset - 0.5).abs() < 1e-9, "{offset}");
        assert!((rtt - 0.001).abs() < 1e-9);
        assert_eq!(clock_offset(&[]), (0.0, 0.0));
    }
}
