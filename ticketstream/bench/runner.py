"""Run the benchmarks one after another under an exclusive file lock and collect their JSON.

The lock is ``flock(2)`` on a file (default ``var/bench.lock``; ``--lock /work/team/bench.lock``
shares the team's), the same lock ``flock(1)`` takes, so a suite never overlaps another suite
or a single benchmark run under ``flock``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ticketstream.bench.summary import EXTRACTORS, Metric, Run, render_summary
from ticketstream.settings import REPO_ROOT

RESULTS_DIR = REPO_ROOT / "bench" / "results"
DEFAULT_LOCK = REPO_ROOT / "var" / "bench.lock"


@dataclass(frozen=True, slots=True)
class Bench:
    """One benchmark: its module (run with ``python -m``), the JSON it writes, whether it needs
    the dev stack (Kafka/ClickHouse)."""

    name: str
    module: str
    results: str
    needs_stack: bool


# In the order the suite runs them: in-process ones first, then those needing the stack.
BENCHMARKS: tuple[Bench, ...] = (
    Bench("schemas", "bench.bench_schemas", "schemas.json", False),
    Bench("sla", "bench.bench_sla", "sla.json", False),
    Bench("routing", "bench.bench_routing", "routing.json", False),
    Bench("streams", "bench.bench_streams", "streams.json", True),
    Bench("gateway", "bench.bench_gateway", "gateway.json", True),
    Bench("projections", "bench.bench_projections", "projections.json", True),
)


class BenchError(Exception):
    """The suite cannot run as asked (unknown benchmark, lock, stack)."""


def select(only: str | None, benches: Sequence[Bench] = BENCHMARKS) -> list[Bench]:
    """The benchmarks named in ``only`` (comma-separated; None/empty: all), in suite order."""
    if not only:
        return list(benches)
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    known = {b.name for b in benches}
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise BenchError(
            f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(sorted(known))}"
        )
    return [b for b in benches if b.name in wanted]


@contextlib.contextmanager
def bench_lock(path: Path, out: Callable[[str], None] = print) -> Iterator[None]:
    """Hold an exclusive flock on ``path`` (waiting, with a message, while someone else has it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            out(f"ticketstream bench: waiting for {path} (another benchmark is running)")
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _ram() -> str:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def _git_commit(repo: Path) -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{head} (with uncommitted changes)" if dirty else head


def machine_info(repo: Path = REPO_ROOT) -> dict[str, str]:
    """Cores, CPU model, RAM, load average, Python, kernel and git commit of this machine."""
    load = os.getloadavg()
    return {
        "cores": str(os.cpu_count()),
        "CPU": _cpu_model(),
        "RAM": _ram(),
        "load average (1/5/15 min) at start": " ".join(f"{x:.2f}" for x in load),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "kernel": f"{platform.system()} {platform.release()}",
        "git commit": _git_commit(repo),
    }


def run_one(
    bench: Bench,
    results_dir: Path,
    log_dir: Path,
    extra_args: Sequence[str] = (),
    out: Callable[[str], None] = print,
) -> Run:
    """Run one benchmark as a child process (output to the terminal and its log)."""
    argv = [sys.executable, "-m", bench.module, *extra_args]
    log_dir.mkdir(parents=True, exist_ok=True)
    results = results_dir / bench.results
    load_before = os.getloadavg()
    started = time.time()
    t0 = time.monotonic()
    with (
        (log_dir / f"{bench.name}.log").open("w") as log,
        subprocess.Popen(
            argv, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as proc,
    ):
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            out(f"  [{bench.name}] {line.rstrip()}")
        status = proc.wait()
    fresh = results.exists() and results.stat().st_mtime >= started
    return Run(
        name=bench.name,
        command=f"python -m {bench.module} {' '.join(extra_args)}".strip(),
        seconds=time.monotonic() - t0,
        exit_status=status,
        results_file=str(results.relative_to(results_dir.parent.parent))
        if results.is_relative_to(results_dir.parent.parent)
        else str(results),
        fresh=fresh,
        load_before=load_before,
        load_after=os.getloadavg(),
    )


def collect(bench: Bench, run: Run | None, results_dir: Path) -> list[Metric]:
    """The summary rows of one benchmark from its JSON (a row saying why when there is none)."""
    path = results_dir / bench.results
    if not path.exists():
        return [Metric(bench.name, "results", None, "", target="a JSON file", met=False,
                       note=f"{bench.results} was not written")]  # fmt: skip
    try:
        data: Any = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return [Metric(bench.name, "results", None, "", target="valid JSON", met=False,
                       note=f"{bench.results} is unreadable: {exc}")]  # fmt: skip
    if not isinstance(data, dict):
        return [Metric(bench.name, "results", None, "", target="a JSON object", met=False,
                       note=f"{bench.results} holds a {type(data).__name__}")]  # fmt: skip
    rows = EXTRACTORS[bench.name](data)
    if run is not None and not run.fresh:
        rows = [
            Metric(**{**asdict(m), "note": "; ".join(filter(None, [m.note, "stale: earlier run"]))})
            for m in rows
        ]
    return rows


def snapshot(bench: Bench, results_dir: Path) -> None:
    """Copy a benchmark's fresh JSON (and its .md) to ``<results>/suite/``: the summary's
    numbers stay next to it even when the benchmark is later re-run on its own."""
    dest = results_dir / "suite"
    dest.mkdir(exist_ok=True)
    for path in (results_dir / bench.results, (results_dir / bench.results).with_suffix(".md")):
        if path.exists():
            shutil.copy2(path, dest / path.name)


def run_suite(
    benches: Sequence[Bench],
    *,
    results_dir: Path = RESULTS_DIR,
    log_dir: Path = REPO_ROOT / "var" / "bench" / "logs",
    lock: Path = DEFAULT_LOCK,
    extra_args: dict[str, list[str]] | None = None,
    ensure_stack: Callable[[], None] | None = None,
    command: str = "ticketstream bench",
    out: Callable[[str], None] = print,
) -> tuple[list[Run], list[Metric]]:
    """Run ``benches`` in order under ``lock``; write SUMMARY.md and suite.json into
    ``results_dir``; return the runs and the summary's rows."""
    runs: list[Run] = []
    metrics: list[Metric] = []
    with bench_lock(lock, out):
        machine = machine_info()
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        if ensure_stack is not None and any(b.needs_stack for b in benches):
            ensure_stack()
        for bench in benches:
            out(f"== {bench.name}: python -m {bench.module}")
            run = run_one(bench, results_dir, log_dir, (extra_args or {}).get(bench.name, ()), out)
            runs.append(run)
            out(
                f"== {bench.name}: exit {run.exit_status} after {run.seconds:.0f} s"
                + ("" if run.fresh else f"; {bench.results} NOT written by this run")
            )
            metrics += collect(bench, run, results_dir)
            if run.fresh:
                snapshot(bench, results_dir)
        summary = render_summary(metrics, runs, machine, when=when, command=command)
        (results_dir / "SUMMARY.md").write_text(summary)
        (results_dir / "suite.json").write_text(
            json.dumps(
                {
                    "when": when,
                    "command": command,
                    "machine": machine,
                    "runs": [asdict(r) for r in runs],
                    "metrics": [asdict(m) for m in metrics],
                },
                indent=2,
                ensure_ascii=False,
            )
            + "\n"
        )
    return runs, metrics
