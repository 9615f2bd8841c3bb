#!/usr/bin/env python3
"""loadgen against the field's tools, on the same servers in the same run (issues 16
and 17): a benchmark, not a test.

- HTTP/1.1 /ping and /items/1, 32 and 64 connections: loadgen vs `wrk -t1`;
- h2c /ping, 4 connections x 16 streams: loadgen vs `h2load -t1`;
- gRPC unary score: loadgen's req/s and CPU per call next to the grpc server's;
- NET-001 pipelined 64-byte ECHO: loadgen's own `pipeline` kind, msg/s.

Every server is pinned to SERVER_CPU and every generator to CLIENT_CPU, each
generator with one thread. Tools alternate (the order flips every round) and each
case runs REPEAT times; the best req/s of each tool is kept with its CPU. CPU is read
from /proc/<pid>/stat of the generator and of the server over the same window inside
the measured part of each run (after WARMUP seconds), so CPU-us per request are
comparable between tools whatever each one reports about itself.

A round is refused (exit status 1, the table still written, the reason in it) when a
generator was client-bound (its CPU >= 90% of its core while the server's is under
90%), when a loadgen case was not valid, or when a reference tool reported errors.
Writes results/calibration/<date>.md and prints it.
"""

import datetime
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("BIN", os.path.join(ROOT, "target", "release"))
DURATION = float(os.environ.get("DURATION", "10"))
WARMUP = float(os.environ.get("WARMUP", "2"))
REPEAT = int(os.environ.get("REPEAT", "3"))
SERVER_CPU = os.environ.get("SERVER_CPU", "0")
CLIENT_CPU = os.environ.get("CLIENT_CPU", "1")
OUT = os.environ.get("OUT", os.path.join(ROOT, "results", "calibration"))
ECHO_MESSAGES = int(os.environ.get("ECHO_MESSAGES", "4000000"))
SATURATED = 0.90
HZ = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), seconds; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(rest[11]) + int(rest[12])) / HZ


class Server:
    """One protolab server, pinned, on free loopback ports; killed on close."""

    def __init__(self, name, work, extra_env=None):
        self.port, self.admin = free_port(), free_port()
        env = dict(os.environ)
        env.update({
            "BIND": "127.0.0.1", "PORT": str(self.port), "TLS_PORT": str(free_port()),
            "ADMIN_PORT": str(self.admin), "DB_PATH": os.path.join(work, "items.db"),
            "TLS_CERT": os.path.join(work, "certs", "server.crt"),
            "TLS_KEY": os.path.join(work, "certs", "server.key"),
            "TLS_CA": os.path.join(work, "certs", "ca.crt"),
            "WORKERS": "1", "MAX_CONNECTIONS": "100000", "DELAY_MS": "0", "RUST_LOG": "warn",
        })
        env.update(extra_env or {})
        self.binary = os.path.join(BIN, f"protolab-{name}")
        self.proc = subprocess.Popen(["taskset", "-c", SERVER_CPU, self.binary], env=env,
                                     stdout=subprocess.DEVNULL)
        for _ in range(300):
            ok = subprocess.run([self.binary, "--admin-port", str(self.admin), "healthcheck"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if ok.returncode == 0:
                return
            time.sleep(0.1)
        self.close()
        raise SystemExit(f"calibrate: protolab-{name} did not become ready")

    def close(self):
        self.proc.kill()
        self.proc.wait()


class Measured:
    """One generator run: its own figures and both sides' CPU over the window."""

    def __init__(self, tool, rps, client_cpu, server_cpu, wall, problems, extra=None):
        self.tool, self.rps, self.wall = tool, rps, wall
        self.client_cpu, self.server_cpu = client_cpu, server_cpu
        self.problems = problems
        self.extra = extra or {}

    def fraction(self, cpu):
        return cpu / self.wall if self.wall > 0 else 0.0

    def client_bound(self):
        return (self.fraction(self.client_cpu) >= SATURATED
                and self.fraction(self.server_cpu) < SATURATED)

    def us_per_request(self, cpu):
        return self.fraction(cpu) * 1e6 / self.rps if self.rps > 0 else float("nan")


def measure(tool, argv, server, parse, total):
    """Runs `argv` pinned to CLIENT_CPU; reads both CPUs from WARMUP to the end of the
    measured part (`total` seconds after the start, less a margin)."""
    proc = subprocess.Popen(["taskset", "-c", CLIENT_CPU] + argv, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(WARMUP)
    t0, c0, s0 = time.monotonic(), cpu_seconds(proc.pid), cpu_seconds(server.proc.pid)
    time.sleep(max(0.5, total - WARMUP - 0.5))
    t1, c1, s1 = time.monotonic(), cpu_seconds(proc.pid), cpu_seconds(server.proc.pid)
    try:
        out, err = proc.communicate(timeout=total + 120)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    problems = []
    if None in (c0, c1, s0, s1):
        problems.append("a process ended before the window closed")
        c0 = c1 = s0 = s1 = 0.0
    rps, more, extra = parse(out, err, proc.returncode)
    return Measured(tool, rps, c1 - c0, s1 - s0, t1 - t0, problems + more, extra)


def parse_wrk(out, err, code):
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    problems = [] if code == 0 and m else [f"wrk exited {code}: {err.strip()[:200]}"]
    for pattern in (r"Non-2xx or 3xx responses: (\d+)", r"Socket errors: (.*)"):
        e = re.search(pattern, out)
        if e:
            problems.append(f"wrk: {e.group(0)}")
    return (float(m.group(1)) if m else 0.0), problems, {}


def parse_h2load(out, err, code):
    m = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", out)
    problems = [] if code == 0 and m else [f"h2load exited {code}: {err.strip()[:200]}"]
    r = re.search(r"requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, (\d+) failed, (\d+) errored", out)
    if r and (int(r.group(1)) or int(r.group(2))):
        problems.append(f"h2load: {r.group(0)}")
    return (float(m.group(1)) if m else 0.0), problems, {}


def parse_loadgen(out, err, code):
    try:
        case = json.loads(out)["cases"][0]
    except (ValueError, KeyError, IndexError):
        return 0.0, [f"loadgen exited {code}: {err.strip()[-300:]}"], {}
    rep = case["repetitions"][0]
    problems = [f"loadgen case {case.get('status', '?')}: {p}" for p in case.get("problems", [])]
    if not case.get("valid", False) and not problems:
        problems.append(f"loadgen case {case.get('status')}")
    window = rep.get("window") or {}
    calls = rep["summary"]["requests"] + rep["summary"]["errors"]
    own = window.get("client_cpu_s", 0.0) * 1e6 / calls if calls else float("nan")
    extra = {"own_us": own, "bottleneck": case.get("bottleneck"),
             "elapsed": rep["summary"]["elapsed_s"], "requests": rep["summary"]["requests"]}
    return rep["summary"]["rps"], problems, extra


def loadgen(args, server):
    """loadgen with one thread, reading `server`'s CPU over its measured windows (so
    its case names the bottleneck)."""
    return [os.path.join(BIN, "loadgen"), "--quiet", "--json", "--threads", "1"] + args + [
        "--server-pid", str(server.proc.pid)]


def best(runs):
    return max(runs, key=lambda m: m.rps)


def row(name, ref, lg, ratio_note=""):
    def cells(m):
        return (f"{m.rps:,.0f} | {m.us_per_request(m.client_cpu):.2f} | "
                f"{m.fraction(m.client_cpu) * 100:.0f}% | {m.us_per_request(m.server_cpu):.2f} | "
                f"{m.fraction(m.server_cpu) * 100:.0f}%")
    ratio = lg.rps / ref.rps if ref and ref.rps else float("nan")
    cpu_ratio = (lg.us_per_request(lg.client_cpu) / ref.us_per_request(ref.client_cpu)
                 if ref and ref.rps else float("nan"))
    ref_cells = cells(ref) if ref else "- | - | - | - | -"
    ratios = f"{ratio:.2f}x | {cpu_ratio:.2f}x" if ref else "- | -"
    return f"| {name} | {ref.tool if ref else '-'} | {ref_cells} | {cells(lg)} | {ratios} |{ratio_note}"


def loadgen_case(argv, during=None):
    """Runs loadgen pinned (calling `during(pid)` while it runs) and returns its case."""
    proc = subprocess.Popen(["taskset", "-c", CLIENT_CPU] + argv, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    if during:
        during(proc.pid)
    out, _ = proc.communicate(timeout=DURATION + WARMUP + 120)
    try:
        return json.loads(out)["cases"][0]
    except (ValueError, KeyError, IndexError):
        return None


def open_loop_checks(rest, url, d, w):
    """Open-loop rate accuracy at 20,000 req/s, and a 1 s server stall (SIGSTOP) at
    1,000 req/s: the corrected latency must show it, the service time must not."""
    lines = ["", "Open loop (loadgen alone):", ""]
    case = loadgen_case(loadgen(["run", "rest", url, "--op", "ping", "--rate", "20k", "-c", "64",
                                 "-d", d, "--warmup", w], rest))
    if case:
        r = case["repetitions"][0]
        sps = r.get("sends_per_second") or {}
        lines.append(f"- 20,000 req/s asked: {r['summary']['rps']:,.0f} achieved, sends per second "
                     f"min {sps.get('min', 0):,} max {sps.get('max', 0):,}; p99 "
                     f"{r['summary']['latency']['p99_us'] / 1000:.2f} ms; {case.get('status')} "
                     f"{'; '.join(case.get('problems', []))}")

    def stall(_pid):
        time.sleep(WARMUP + 3)
        os.kill(rest.proc.pid, 19)  # SIGSTOP
        time.sleep(1)
        os.kill(rest.proc.pid, 18)  # SIGCONT

    case = loadgen_case(loadgen(["run", "rest", url, "--op", "ping", "--rate", "1000", "-c", "16",
                                 "-d", d, "--warmup", w], rest), stall)
    if case:
        s = case["repetitions"][0]["summary"]
        lines.append(f"- 1 s server stall at 1,000 req/s: corrected p99 "
                     f"{s['latency']['p99_us'] / 1000:.1f} ms, max {s['latency']['max_us'] / 1000:.1f} ms; "
                     f"service time p99 {s['service']['p99_us'] / 1000:.1f} ms, max "
                     f"{s['service']['max_us'] / 1000:.1f} ms")
    return lines


def main():
    work = tempfile.mkdtemp(prefix="calibrate-")
    lg = os.path.join(BIN, "loadgen")
    subprocess.run([lg, "--quiet", "seed", "--db", os.path.join(work, "items.db")], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([lg, "--quiet", "certs", "--out", os.path.join(work, "certs")], check=True,
                   stdout=subprocess.DEVNULL)
    total = WARMUP + DURATION
    d, w = f"{DURATION:g}s", f"{WARMUP:g}s"
    rows, refused, lines = [], [], []
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()

    rest = Server("rest", work)
    url = f"http://127.0.0.1:{rest.port}"
    try:
        pairs = []
        for path, op, conns in (("/ping", "ping", 32), ("/ping", "ping", 64),
                                ("/items/1", "get-item", 32), ("/items/1", "get-item", 64)):
            pairs.append((f"HTTP/1.1 {path} -c{conns}",
                          ("wrk -t1", ["wrk", "-t1", f"-c{conns}", f"-d{total:g}s", url + path], parse_wrk),
                          loadgen(["run", "rest", url, "--op", op, "--ids", "1", "-c", str(conns),
                                   "-d", d, "--warmup", w], rest)))
        pairs.append(("h2c /ping -c4 -m16",
                      ("h2load -t1", ["h2load", "-t1", "-c4", "-m16", f"-D{DURATION:g}",
                                      f"--warm-up-time={WARMUP:g}", url + "/ping"], parse_h2load),
                      loadgen(["run", "rest", url, "--op", "ping", "--http2", "-c", "4",
                               "--inflight", "16", "-d", d, "--warmup", w], rest)))
        results = {name: {"ref": [], "lg": []} for name, _, _ in pairs}
        for rnd in range(REPEAT):
            for name, (tool, argv, parse), lg_argv in pairs:
                order = [("ref", tool, argv, parse), ("lg", "loadgen", lg_argv, parse_loadgen)]
                if rnd % 2:
                    order.reverse()
                for key, t, a, p in order:
                    m = measure(t, a, rest, p, total)
                    results[name][key].append(m)
                    print(f"  {name} {t} round {rnd + 1}: {m.rps:,.0f} req/s, client "
                          f"{m.us_per_request(m.client_cpu):.2f} us/req, server "
                          f"{m.us_per_request(m.server_cpu):.2f} us/req", file=sys.stderr)
        for name, _, _ in pairs:
            ref, mine = best(results[name]["ref"]), best(results[name]["lg"])
            rows.append(row(name, ref, mine))
            for m in results[name]["ref"] + results[name]["lg"]:
                why = list(m.problems)
                if m.client_bound():
                    why.append(f"{m.tool} client-bound ({m.fraction(m.client_cpu) * 100:.0f}% of "
                               f"its core, server {m.fraction(m.server_cpu) * 100:.0f}%)")
                refused += [f"{name}: {x}" for x in why]
        lines += open_loop_checks(rest, url, d, w)
    finally:
        rest.close()

    grpc = Server("grpc", work)
    try:
        runs = [measure("loadgen", loadgen(["run", "grpc", f"127.0.0.1:{grpc.port}", "--op", "score",
                                             "-c", "4", "--inflight", "16", "-d", d, "--warmup", w],
                                    grpc),
                        grpc, parse_loadgen, total) for _ in range(REPEAT)]
        m = best(runs)
        rows.append(row("gRPC score -c4 x16", None, m))
        lines.append(f"gRPC unary score: generator {m.us_per_request(m.client_cpu):.2f} CPU-us per "
                     f"call, server {m.us_per_request(m.server_cpu):.2f} "
                     f"({'generator cheaper' if m.client_cpu < m.server_cpu else 'generator NOT cheaper'}).")
        for r in runs:
            refused += [f"gRPC score: {x}" for x in r.problems]
            if r.client_bound():
                refused.append("gRPC score: loadgen client-bound")
    finally:
        grpc.close()

    binary = Server("binary", work, {"RATE_LIMIT": "0", "GLOBAL_RATE_LIMIT": "0",
                                    "FRAMED_PORT": str(free_port())})
    try:
        runs = []
        for _ in range(REPEAT):
            argv = loadgen(["run", "net001", f"127.0.0.1:{binary.port}", "--kind", "pipeline",
                            "--op", "echo", "--size", "64", "-c", "2", "--depth", "4096",
                            "--messages", str(ECHO_MESSAGES // 2)], binary)
            runs.append(measure("loadgen", argv, binary, parse_loadgen, 1.5 + WARMUP))
        m = best(runs)
        rows.append(row("NET-001 pipelined ECHO 64 B -c2 d4096", None, m))
        lines.append(f"NET-001 pipelined 64-byte ECHO (loadgen pipeline kind, "
                     f"{ECHO_MESSAGES:,} messages): {m.rps:,.0f} msg/s "
                     f"({'meets' if m.rps >= 1e6 else 'below'} the 1,000,000 msg/s target).")
        # A 64-byte echo costs the NET-001 server less than any client spends making
        # it: a generator-bound pipeline is the expected outcome, stated, not refused.
        for r in runs:
            for x in r.problems:
                if "client-bound" in x:
                    lines.append(f"NET-001 pipeline is generator-bound (the server is cheaper per "
                                 f"message than the client; the figure is a lower bound of the "
                                 f"server): {x}")
                else:
                    refused.append(f"NET-001 pipeline: {x}")
    finally:
        binary.close()

    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "none"
    load_after = os.getloadavg()
    md = [
        f"# loadgen calibration, {started:%Y-%m-%d %H:%M} UTC, commit {commit}",
        "",
        f"Servers pinned to CPU {SERVER_CPU} (one worker thread), every generator to CPU "
        f"{CLIENT_CPU} with one thread; {WARMUP:g} s warm-up + {DURATION:g} s per run; tools "
        f"alternate, {REPEAT} rounds, best req/s of each kept. CPU from /proc over the same window "
        f"for generator and server. Load average before {load_before[0]:.1f}, after "
        f"{load_after[0]:.1f} ({os.cpu_count()} CPUs).",
        "",
        "| workload | reference | ref req/s | ref client CPU-us/req | ref client CPU | "
        "ref server CPU-us/req | ref server CPU | loadgen req/s | loadgen client CPU-us/req | "
        "loadgen client CPU | loadgen server CPU-us/req | loadgen server CPU | req/s ratio | "
        "client CPU/req ratio |",
        "|" + "---|" * 14,
    ] + rows + [
        "",
        "Ratios: loadgen / reference (req/s: higher is better; client CPU-us per request: "
        "lower is better). get_item asks for /items/1 with both tools (`--ids 1`): the same row "
        "every time, as wrk's fixed URL does.",
        "",
    ] + lines + [""]
    if refused:
        md += ["## REFUSED", ""] + [f"- {r}" for r in refused] + [""]
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, f"{started:%Y-%m-%d-%H%M%S}.md")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(md))
    os.replace(path + ".tmp", path)
    print("\n".join(md))
    print(f"written to {path}", file=sys.stderr)
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
