"""Benchmark: signed LINE-style webhooks verified, encoded and produced (acks=all) by the gateway,
against a bare aiohttp handler on the same machine in the same run.

    flock /work/team/bench.lock .venv/bin/python -m bench.bench_gateway \
        [--seconds 5] [--rounds 5] [--concurrency 32] [--paced-seconds 5] [--paced-runs 3]

Each server runs in its own process on 127.0.0.1 (same aiohttp, same ``AppRunner`` without
access log). Every request is a distinct, correctly signed LINE webhook (one text event), so the
gateway verifies, normalises, encodes and produces each one and waits for Kafka's ack (acks=all).

1. Throughput (closed loop): ``wrk`` (C, Debian package ``wrk``, one thread, ``--concurrency``
   keep-alive connections) sends pre-signed bodies (``--bodies`` distinct per round, cycled by a
   Lua script) to each server for ``--seconds``, alternating which goes first over ``--rounds``
   rounds. The same generator, body
   file shape and concurrency serve both sides, and the generator costs a few µs of CPU per
   request (an aiohttp client in Python costs more than the bare server does, which capped the
   bare side and flattered the ratio). Ratio = gateway req/s ÷ bare req/s of the same round;
   reported: median and range over rounds (target ≥ 0.5), with each round's load average.
2. Latency (open loop): ``--paced-runs`` runs of 1,000 req/s for ``--paced-seconds`` from a
   separate generator process (raw asyncio HTTP/1.1 over a keep-alive connection pool, requests
   pre-built); latency is measured from each request's scheduled send time, so a stall counts
   for every request it delays (no coordinated omission). p50/p99 per run, median and range
   (target p99 ≤ 50 ms). The bare handler gets the same paced runs: its p99 is the floor the
   machine and generator set.

Needs Kafka (the dev stack: ``ticketstream dev up``); uses a fresh 6-partition topic, deleted
afterwards. ``--profile PATH`` writes a cProfile of the gateway process (for finding costs; the
profiler slows it, so a profiled run's numbers are not results and are not written).
Writes bench/results/gateway.json and bench/results/gateway.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from connectors.channels import line

RESULTS = Path(__file__).resolve().parent / "results"
SECRET = "bench-line-secret"
BOT = "U1234567890abcdef1234567890abcdef"
TARGET_RATIO, TARGET_P99 = 0.5, 0.050
PATH = "/webhooks/line"

# wrk script: cycles through pre-signed bodies ("<signature>\t<body>" per line); done() prints a
# JSON summary for the bench to parse. (wrk always runs for its -d duration: a round is timed.)
WRK_LUA = r"""
local sigs, bodies, n = {}, {}, 0
for l in io.lines(os.getenv("BENCH_FILE")) do
  local tab = l:find("\t", 1, true)
  n = n + 1
  sigs[n] = l:sub(1, tab - 1)
  bodies[n] = l:sub(tab + 1)
end
local sent = 0
request = function()
  sent = sent + 1
  local k = ((sent - 1) % n) + 1
  return wrk.format("POST", nil,
    {["Content-Type"] = "application/json", ["x-line-signature"] = sigs[k]}, bodies[k])
end
done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def webhook(i: int, run: str) -> tuple[bytes, str]:
    """One distinct LINE webhook body (Thai, emoji, English) and its ``x-line-signature``."""
    body = json.dumps(
        {
            "destination": BOT,
            "events": [
                {
                    "type": "message",
                    "mode": "active",
                    "timestamp": 1763884800000 + i,
                    "source": {"type": "user", "userId": f"U{i % 500:032x}"},
                    "webhookEventId": f"{run}{i:010d}",
                    "deliveryContext": {"isRedelivery": False},
                    "replyToken": "0f3779fba3b349968c5d07db31eab56f",
                    "message": {
                        "id": str(444573844083572737 + i),
                        "type": "text",
                        "text": "สวัสดีครับ สั่งของเมื่อวานแต่ยังไม่ได้รับเลย 🙏 where is my parcel?",
                    },
                }
            ],
        },
        ensure_ascii=False,
    ).encode()
    return body, line.sign(SECRET, body)


def raw_request(port: int, i: int, run: str) -> bytes:
    body, sig = webhook(i, run)
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"x-line-signature: {sig}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


# ------------------------------------------------------------------ servers (child processes)
async def serve(kind: str, port: int, topic: str, bootstrap: str, profile: str) -> None:
    import cProfile

    from aiohttp import web

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    # CPU time, not wall time: on a shared machine a wall-clock profile charges the time this
    # process waits for a core to whatever function it was in.
    prof = cProfile.Profile(time.process_time) if profile else None
    if kind == "bare":
        # The fair bare handler: same aiohttp, same runner settings (no access log), reads the
        # whole body like the gateway must, answers 200 "OK" as the gateway does.
        async def ok(request: web.Request) -> web.Response:
            await request.read()
            return web.Response(text="OK")

        app = web.Application()
        app.router.add_post(PATH, ok)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        print("ready", flush=True)
        await stop.wait()
        await runner.cleanup()
        return
    from connectors.service import running_gateway
    from connectors.settings import ConnectorSettings
    from ticketstream.settings import Settings

    core = Settings(kafka_bootstrap=bootstrap)  # type: ignore[call-arg]
    settings = ConnectorSettings(line_channel_secret=SECRET)  # type: ignore[call-arg, arg-type]
    async with running_gateway(
        core, settings, host="127.0.0.1", port=port, topic=topic, warm=False
    ):
        print("ready", flush=True)
        if prof is not None:
            prof.enable()
        await stop.wait()
        if prof is not None:
            prof.disable()
            prof.dump_stats(profile)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (from /proc; Linux only)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(
    kind: str, port: int, topic: str, bootstrap: str, profile: str = ""
) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "bench.bench_gateway", "--serve", kind, "--port", str(port)]
    cmd += ["--topic", topic, "--bootstrap", bootstrap, "--profile", profile]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    if b"ready" not in proc.stdout.readline():
        proc.kill()
        raise SystemExit(f"{kind} server did not start")
    return proc


# ------------------------------------------------------------------ load: closed loop (wrk)
def write_bodies(path: Path, n: int, run: str) -> None:
    with path.open("wb") as f:
        for i in range(n):
            body, sig = webhook(i, run)
            f.write(sig.encode("ascii") + b"\t" + body + b"\n")


def wrk_round(
    port: int, seconds: float, concurrency: int, bodies: Path, distinct: int, tmp: Path
) -> dict[str, Any]:
    """Closed loop for ``seconds``; the gateway side must never get a body twice (a repeat is a
    redelivery: dropped without a produce, which would flatter it)."""
    script = tmp / "cycle.lua"
    script.write_text(WRK_LUA)
    env = {**os.environ, "BENCH_FILE": str(bodies)}
    cmd = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "--timeout", "10s"]
    out = subprocess.run(
        [*cmd, "-s", str(script), f"http://127.0.0.1:{port}{PATH}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    summary = json.loads(out.strip().splitlines()[-1])
    bad = sum(summary[k] for k in ("non_2xx", "read_errors", "write_errors", "timeouts"))
    if bad or summary["connect_errors"]:
        raise SystemExit(f"wrk against port {port}: errors {summary}")
    summary["distinct_bodies"] = distinct
    summary["rps"] = summary["requests"] / (summary["duration_us"] / 1e6)
    return summary


# ------------------------------------------------------------------ load: open loop (paced)
async def paced(port: int, rate: float, seconds: float, run: str, pool: int) -> dict[str, float]:
    """Open-loop load: request i is due at start + i/rate; latency = answer time − due time."""
    n = int(rate * seconds)
    reqs = [raw_request(port, i, run) for i in range(n)]
    free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(pool):
        free.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    lat: list[float] = []
    errors = 0
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2

    async def one(i: int, due: float) -> None:
        nonlocal errors
        reader, writer = await free.get()  # waiting for a connection counts as latency
        writer.write(reqs[i])
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for h in head.split(b"\r\n"):
            if h[:15].lower() == b"content-length:":
                length = int(h[15:])
        await reader.readexactly(length)
        lat.append(loop.time() - due)
        errors += not head.startswith(b"HTTP/1.1 200")
        free.put_nowait((reader, writer))

    tasks = []
    for i in range(n):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    wall = loop.time() - start
    while not free.empty():
        free.get_nowait()[1].close()
    lat.sort()
    return {
        "requests": n,
        "errors": errors,
        "target_rate": rate,
        "achieved_rate": n / wall,
        "p50_seconds": lat[len(lat) // 2],
        "p99_seconds": lat[int(len(lat) * 0.99) - 1],
        "max_seconds": lat[-1],
    }


def paced_in_child(port: int, seconds: float, run: str) -> dict[str, float]:
    """Run the paced generator in its own process (its CPU is not the orchestrator's)."""
    cmd = [sys.executable, "-m", "bench.bench_gateway", "--paced-child", str(port)]
    cmd += ["--paced-seconds", str(seconds), "--topic", run]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def spread(xs: list[float]) -> dict[str, float]:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--serve", choices=["bare", "gateway"])
    ap.add_argument("--paced-child", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--topic", default="")
    ap.add_argument("--bootstrap", default="")
    ap.add_argument("--profile", default="", help="write a cProfile of the gateway to this path")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of a throughput round")
    ap.add_argument("--bodies", type=int, default=60_000, help="distinct bodies per round")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--paced-seconds", type=float, default=5.0)
    ap.add_argument("--paced-runs", type=int, default=3)
    args = ap.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, args.port, args.topic, args.bootstrap, args.profile))
        return 0
    if args.paced_child:
        res = asyncio.run(paced(args.paced_child, 1000.0, args.paced_seconds, args.topic, 64))
        print(json.dumps(res))
        return 0
    if shutil.which("wrk") is None:  # the load generator: a Debian package, installed once
        from ticketstream.devstack import InstallError, ensure_apt_packages

        try:
            ensure_apt_packages(["wrk"])
        except InstallError as exc:
            raise SystemExit(f"the benchmark needs wrk (Debian package wrk): {exc}") from exc

    from kafka.admin import KafkaAdminClient, NewTopic

    from ticketstream.devstack.procs import free_port
    from ticketstream.settings import Settings

    bootstrap = args.bootstrap or Settings().kafka_bootstrap  # type: ignore[call-arg]
    topic = f"bench.gateway.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=6, replication_factor=1)])
    ports = {"bare": free_port(), "gateway": free_port()}
    profile = str(Path(args.profile).resolve()) if args.profile else ""
    procs = {
        k: start_server(k, p, topic, bootstrap, profile if k == "gateway" else "")
        for k, p in ports.items()
    }
    rounds: list[dict[str, Any]] = []
    latency: dict[str, list[dict[str, float]]] = {"bare": [], "gateway": []}
    try:
        with tempfile.TemporaryDirectory() as tmpdir:
            tmp = Path(tmpdir)
            distinct = args.bodies
            for kind in ("gateway", "bare"):  # warm-up: connections, metadata, code paths
                write_bodies(tmp / "warm.tsv", args.bodies, f"w{kind[0]}")
                warm = wrk_round(
                    ports[kind], 2, args.concurrency, tmp / "warm.tsv", args.bodies, tmp
                )
                if kind == "gateway":
                    # enough distinct bodies for a round at 1.5x the warm-up's rate (a round
                    # past --bodies would repeat bodies; on 2026-12-07 one did 66,455 of 60,000),
                    # no more: wrk's Lua table of bodies costs the client, hence both sides, CPU
                    need = int(warm["rps"] * args.seconds * 1.5)
                    distinct = max(args.bodies, need)
            for rnd in range(args.rounds):
                order = ["bare", "gateway"] if rnd % 2 == 0 else ["gateway", "bare"]
                this: dict[str, Any] = {}
                for kind in order:
                    # Fresh distinct bodies for every round and side: same shape for both.
                    bodies = tmp / f"r{rnd}{kind[0]}.tsv"
                    write_bodies(bodies, distinct, f"r{rnd}{kind[0]}")
                    pid = procs[kind].pid
                    before = cpu_seconds(pid)
                    res = wrk_round(
                        ports[kind], args.seconds, args.concurrency, bodies, distinct, tmp
                    )
                    bodies.unlink()
                    if kind == "gateway" and res["requests"] > distinct:
                        raise SystemExit(
                            f"gateway answered {res['requests']} requests from {distinct} "
                            "distinct bodies: repeats were deduplicated; raise --bodies"
                        )
                    cpu = (cpu_seconds(pid) - before) / res["requests"] * 1e6
                    this[kind] = {"rps": res["rps"], "server_cpu_us": cpu, "wrk": res}
                this["ratio"] = this["gateway"]["rps"] / this["bare"]["rps"]
                this["load_average_1m"] = os.getloadavg()[0]
                rounds.append(this)
                print(
                    f"round {rnd}: bare {this['bare']['rps']:,.0f} req/s, gateway "
                    f"{this['gateway']['rps']:,.0f} req/s, ratio {this['ratio']:.2f}, "
                    f"load {this['load_average_1m']:.2f}",
                    flush=True,
                )
        for r in range(args.paced_runs):
            for kind in ("bare", "gateway"):
                res = paced_in_child(ports[kind], args.paced_seconds, f"p{r}{kind[0]}")
                res["load_average_1m"] = os.getloadavg()[0]
                latency[kind].append(res)
                print(
                    f"paced {r} {kind}: p50 {res['p50_seconds'] * 1000:.1f} ms, p99 "
                    f"{res['p99_seconds'] * 1000:.1f} ms, load {res['load_average_1m']:.2f}",
                    flush=True,
                )
    finally:
        for p in procs.values():
            p.terminate()
            p.wait(30)
        admin.delete_topics([topic])
        admin.close()
    if profile:
        print(f"profile written to {profile}; a profiled run is not a result")
        return 0
    write_results(args, bootstrap, rounds, latency)
    return 0


def write_results(
    args: argparse.Namespace,
    bootstrap: str,
    rounds: list[dict[str, Any]],
    latency: dict[str, list[dict[str, float]]],
) -> None:
    ratio = spread([r["ratio"] for r in rounds])
    rps = {k: spread([r[k]["rps"] for r in rounds]) for k in ("bare", "gateway")}
    cpu = {k: spread([r[k]["server_cpu_us"] for r in rounds]) for k in ("bare", "gateway")}
    loads = spread(
        [r["load_average_1m"] for r in rounds]
        + [x["load_average_1m"] for v in latency.values() for x in v]
    )
    p99 = {k: spread([x["p99_seconds"] for x in v]) for k, v in latency.items()}
    p50 = {k: spread([x["p50_seconds"] for x in v]) for k, v in latency.items()}
    met = sum(x["p99_seconds"] <= TARGET_P99 for x in latency["gateway"])
    ratio_met = sum(r["ratio"] >= TARGET_RATIO for r in rounds)
    result = {
        "benchmark": "gateway",
        "command": "flock /work/team/bench.lock .venv/bin/python -m bench.bench_gateway "
        + " ".join(sys.argv[1:]),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "generator": {
            "throughput": f"wrk -t1 -c{args.concurrency} (Lua: pre-signed bodies cycled)",
            "latency": "separate Python process, raw asyncio HTTP/1.1, 64 keep-alive connections",
        },
        # Flat numbers where the suite summary (ticketstream/bench/summary.py) reads them:
        # throughput.ratio / gateway_median / bare_median, latency p99_seconds_median.
        "throughput": {
            "rounds": rounds,
            "ratio": ratio["median"],
            "ratio_spread": ratio,
            "gateway_median": rps["gateway"]["median"],
            "bare_median": rps["bare"]["median"],
            "rps": rps,
            "server_cpu_us_per_request": cpu,
            "target_ratio": TARGET_RATIO,
            "rounds_meeting_target": ratio_met,
            "seconds_per_round": args.seconds,
            "distinct_bodies_per_round": max(
                r["gateway"]["wrk"]["distinct_bodies"] for r in rounds
            ),
            "concurrency": args.concurrency,
        },
        "latency_at_1000_rps": {
            "runs": latency,
            "p99_seconds_median": p99["gateway"]["median"],
            "p99_seconds": p99,
            "p50_seconds": p50,
            "target_p99_seconds": TARGET_P99,
            "gateway_runs_meeting_target": met,
        },
        "load_average_1m": loads,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "gateway.json").write_text(json.dumps(result, indent=2) + "\n")

    def rng(s: dict[str, float], fmt: str = ",.0f", scale: float = 1.0) -> str:
        return f"{s['median'] * scale:{fmt}} ({s['min'] * scale:{fmt}}–{s['max'] * scale:{fmt}})"

    lines = "\n".join(
        f"| {i} | {r['bare']['rps']:,.0f} | {r['gateway']['rps']:,.0f} | {r['ratio']:.2f} | "
        f"{r['bare']['server_cpu_us']:.0f} / {r['gateway']['server_cpu_us']:.0f} | "
        f"{r['load_average_1m']:.2f} |"
        for i, r in enumerate(rounds)
    )
    paced_lines = "\n".join(
        f"| {i} | {b['p50_seconds'] * 1000:.1f} / {b['p99_seconds'] * 1000:.1f} | "
        f"{g['p50_seconds'] * 1000:.1f} / {g['p99_seconds'] * 1000:.1f} / "
        f"{g['max_seconds'] * 1000:.1f} | {g['achieved_rate']:,.0f} | {g['errors']:.0f} | "
        f"{g['load_average_1m']:.2f} |"
        for i, (b, g) in enumerate(zip(latency["bare"], latency["gateway"], strict=True))
    )
    md = f"""# Gateway benchmark

`{result["command"]}` — {result["when"]}, Python {platform.python_version()}, {os.cpu_count()} CPUs
({platform.platform()}); Kafka {bootstrap} (acks=all, idempotent producer, 6 partitions);
servers, generator and Kafka share the machine's cores on 127.0.0.1.

## Throughput (closed loop, wrk -t1 -c{args.concurrency}, {args.seconds:g} s per side per round, every gateway request distinct)

| round | bare req/s | gateway req/s | ratio | server CPU µs/req bare / gateway | load avg 1m |
|---|---|---|---|---|---|
{lines}

**Ratio gateway / bare: median {ratio["median"]:.2f}, range {ratio["min"]:.2f}–{ratio["max"]:.2f}**
over {len(rounds)} rounds ({ratio_met} of {len(rounds)} at or above the target {TARGET_RATIO}).
Bare {rng(rps["bare"])} req/s, gateway {rng(rps["gateway"])} req/s (median, range).
Server CPU per request: bare {rng(cpu["bare"])} µs, gateway {rng(cpu["gateway"])} µs (process
user+system time ÷ requests; excludes Kafka's CPU, which the wall-clock ratio includes).

## Latency (open loop at 1,000 req/s, {args.paced_seconds:.0f} s per run, from each request's scheduled time)

| run | bare p50 / p99 ms | gateway p50 / p99 / max ms | gateway achieved req/s | errors | load avg 1m |
|---|---|---|---|---|---|
{paced_lines}

**Gateway p99: median {p99["gateway"]["median"] * 1000:.1f} ms, range
{p99["gateway"]["min"] * 1000:.1f}–{p99["gateway"]["max"] * 1000:.1f} ms** ({met} of
{len(latency["gateway"])} runs at or under the target {TARGET_P99 * 1000:.0f} ms); the bare handler
under the same generator: p99 median {p99["bare"]["median"] * 1000:.1f} ms.

Load average (1 min) during the benchmark: {rng(loads, ".2f")} on {os.cpu_count()} CPUs; the
machine is shared with other work, so absolute numbers are lower bounds.
"""
    (RESULTS / "gateway.md").write_text(md)
    print(md)


if __name__ == "__main__":
    raise SystemExit(main())
