"""Benchmark results → the suite's metric rows → ``bench/results/SUMMARY.md``. Pure functions.

Each benchmark writes its own JSON (its shape is the owning engineer's); ``EXTRACTORS`` reads the
numbers the issues set targets for out of each one. A number a JSON does not hold becomes a row
that says so and counts as not met: a renamed key shows up in the table instead of vanishing.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Metric:
    """One row of the summary. ``ratio`` = value ÷ baseline measured in the same run."""

    benchmark: str
    metric: str
    value: float | None
    unit: str
    baseline: float | None = None
    ratio: float | None = None
    target: str = ""
    met: bool | None = None  # None: the benchmark sets no target for this number
    note: str = ""


@dataclass(frozen=True, slots=True)
class Run:
    """One benchmark's run in the suite."""

    name: str
    command: str
    seconds: float
    exit_status: int
    results_file: str
    fresh: bool  # the JSON was written by this run (not left over from an earlier one)
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]


def get(data: Mapping[str, Any], path: str) -> Any:
    """``data["a"]["b"]`` for ``"a/b"`` (list items by index, ``"runs/0"``); None when any
    step is missing. Keys may contain dots (``"tick_0.5s/lag_p99_s"``)."""
    cur: Any = data
    for key in path.split("/"):
        if isinstance(cur, Mapping) and key in cur:
            cur = cur[key]
        elif isinstance(cur, list) and key.isdigit() and int(key) < len(cur):
            cur = cur[int(key)]
        else:
            return None
    return cur


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list) and value and all(isinstance(v, int | float) for v in value):
        return float(statistics.median(value))
    return None


def at_least(
    bench: str, metric: str, data: Mapping[str, Any], path: str, target: float, unit: str = "",
    *, baseline: str | None = None, value_path: str | None = None,
) -> Metric:  # fmt: skip
    """A ratio (or a value with ``value_path``) that must be ≥ ``target``."""
    ratio = _num(get(data, path))
    value = _num(get(data, value_path)) if value_path else ratio
    base = _num(get(data, baseline)) if baseline else None
    if ratio is None:
        return Metric(
            bench,
            metric,
            None,
            unit,
            base,
            None,
            f"≥ {target:g} {unit}".strip(),
            False,
            f"no {path}",
        )
    return Metric(
        bench, metric, value, unit, base, ratio if value_path else None,
        f"≥ {target:g} {unit}".strip(),
        ratio >= target,
    )  # fmt: skip


def ratio_at_least(
    bench: str, metric: str, data: Mapping[str, Any], *, ratio: str, value: str, baseline: str,
    target: float, unit: str,
) -> Metric:  # fmt: skip
    """A value beside its same-run baseline whose ratio must be ≥ ``target``."""
    r = _num(get(data, ratio))
    return Metric(
        bench, metric, _num(get(data, value)), unit, _num(get(data, baseline)), r,
        f"≥ {target:g}", r is not None and r >= target, "" if r is not None else f"no {ratio}",
    )  # fmt: skip


def at_most(
    bench: str, metric: str, data: Mapping[str, Any], path: str, target: float, unit: str
) -> Metric:
    value = _num(get(data, path))
    if value is None:
        return Metric(bench, metric, None, unit, target=f"≤ {target:g} {unit}", met=False,
                      note=f"no {path}")  # fmt: skip
    return Metric(bench, metric, value, unit, target=f"≤ {target:g} {unit}", met=value <= target)


def info(bench: str, metric: str, data: Mapping[str, Any], path: str, unit: str) -> Metric:
    """A number recorded without a target."""
    value = _num(get(data, path))
    return Metric(bench, metric, value, unit, note="" if value is not None else f"no {path}")


def schemas_metrics(d: Mapping[str, Any]) -> list[Metric]:
    return [
        ratio_at_least(
            "schemas",
            "codec encode+decode (ratio to raw fastavro)",
            d,
            ratio="ratio_median",
            value="codec_records_per_s_median",
            baseline="baseline_records_per_s_median",
            target=0.8,
            unit="records/s",
        ),
    ]


def gateway_metrics(d: Mapping[str, Any]) -> list[Metric]:
    return [
        ratio_at_least(
            "gateway",
            "signed webhooks produced (ratio to bare aiohttp)",
            d,
            ratio="throughput/ratio",
            value="throughput/gateway_median",
            baseline="throughput/bare_median",
            target=0.5,
            unit="req/s",
        ),
        at_most("gateway", "p99 ack latency at 1,000 req/s", d, _gateway_p99_path(d), 0.05, "s"),
    ]


def _gateway_p99_path(d: Mapping[str, Any]) -> str:
    for path in ("latency_at_1000_rps/p99_seconds_median", "latency_at_1000_rps/p99_seconds"):
        if get(d, path) is not None:
            return path
    return "latency_at_1000_rps/p99_seconds"


def streams_metrics(d: Mapping[str, Any]) -> list[Metric]:
    return [
        ratio_at_least(
            "streams",
            "threading + ticket aggregate (ratio to raw aiokafka)",
            d,
            ratio="ratio",
            value="worker_msgs_per_s",
            baseline="raw_aiokafka_msgs_per_s",
            target=0.3,
            unit="msg/s",
        ),
        at_least("streams", "worker throughput", d, "worker_msgs_per_s", 5000, "msg/s"),
        info(
            "streams", "worker RSS at 100k open tickets", d, "worker_rss_mb_at_open_tickets", "MB"
        ),
    ]


def sla_metrics(d: Mapping[str, Any]) -> list[Metric]:
    """Both shapes of sla.json: the in-process one (``tick_cost_ratio_1M_vs_10k_active``,
    ``runs[].tick_0.5s``) and the real-worker one (``tick_cost_ratio_vs_baseline``,
    ``runs[].lag_p99_s``, ``target_lag_p99_s``)."""
    out: list[Metric] = []
    ratios = get(d, "tick_cost_ratio_vs_baseline") or get(d, "tick_cost_ratio_1M_vs_10k_active")
    lag_target = _num(d.get("target_lag_p99_s")) or 1.0
    for store in ("memory", "rocksdict"):
        ratio = _num(ratios.get(store)) if isinstance(ratios, Mapping) else None
        out.append(
            Metric(
                "sla",
                f"tick cost, most vs fewest active timers ({store})",
                ratio,
                "×",
                None,
                ratio,
                "≤ 1.5 (cost follows due, not active)",
                ratio is not None and ratio <= 1.5,
                "" if ratio is not None else f"no tick cost ratio for {store}",
            )
        )
    runs = [r for r in (get(d, "runs") or []) if isinstance(r, Mapping)]
    most = max((x.get("active", 0) for x in runs), default=0)
    for r in runs:
        if r.get("active") != most:
            continue
        lag_path = "lag_p99_s" if "lag_p99_s" in r else "tick_0.5s/lag_p99_s"
        lag = _num(get(r, lag_path))
        out.append(
            Metric(
                "sla",
                f"firing lag p99, {r.get('active'):,} active ({r.get('store')})",
                lag,
                "s",
                target=f"≤ {lag_target:g} s",
                met=lag is not None and lag <= lag_target,
                note="" if lag is not None else f"no {lag_path}",
            )
        )
        rss_path = "rss_mb_after_window" if "rss_mb_after_window" in r else "rss_mb_loaded"
        out.append(
            info(
                "sla", f"RSS with {r.get('active'):,} timers ({r.get('store')})", r, rss_path, "MB"
            )
        )
    if not runs:
        out.append(
            Metric("sla", "firing lag p99", None, "s", target="≤ 1 s", met=False, note="no runs")
        )
    return out


def projections_metrics(d: Mapping[str, Any]) -> list[Metric]:
    return [
        ratio_at_least(
            "projections",
            "projector rows (ratio to raw columnar inserts)",
            d,
            ratio="throughput/ratio",
            value="throughput/projector_rows_per_s",
            baseline="throughput/raw_rows_per_s",
            target=0.7,
            unit="rows/s",
        ),
        at_most(
            "projections", "event → queryable p99 at 5,000 events/s", d, "latency/p99_s", 2.0, "s"
        ),
        info("projections", "rebuild rate", d, "rebuild/events_per_s", "events/s"),
    ]


def routing_metrics(d: Mapping[str, Any]) -> list[Metric]:
    """Assignment latency with a large waiting queue, the current router beside the router it
    replaced (same events, same run); the issue sets no number, so these rows carry no target."""
    runs = [r for r in (get(d, "runs") or []) if isinstance(r, Mapping)]
    out = []
    for r in runs:
        now = _num(get(r, "current/assignment_latency_s"))
        before = _num(get(r, "baseline/assignment_latency_s"))
        out.append(
            Metric(
                "routing",
                f"assignment latency, {r.get('waiting_tickets', 0):,} waiting, "
                f"{r.get('batch_size')} records per batch (vs router before)",
                now,
                "s",
                before,
                now / before if now is not None and before else None,
                note="" if now is not None else "no current/assignment_latency_s",
            )
        )
    if not runs:
        out.append(Metric("routing", "assignment latency", None, "s", note="no runs"))
    return out


EXTRACTORS: dict[str, Callable[[Mapping[str, Any]], list[Metric]]] = {
    "schemas": schemas_metrics,
    "streams": streams_metrics,
    "sla": sla_metrics,
    "gateway": gateway_metrics,
    "projections": projections_metrics,
    "routing": routing_metrics,
}


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _met(m: Metric) -> str:
    return "" if m.met is None else ("yes" if m.met else "**no**")


def render_summary(
    metrics: Sequence[Metric],
    runs: Sequence[Run],
    machine: Mapping[str, str],
    *,
    when: str,
    command: str,
) -> str:
    """The suite's SUMMARY.md: machine, one table row per metric, each run's status."""
    lines = [
        "# Benchmark suite summary",
        "",
        f"Run {when} with `{command}` (one benchmark at a time, under the bench lock). Each ratio "
        "is against a baseline measured in the same run on the same machine. Each benchmark's "
        "own JSON and notes from this run are in `suite/<name>.json` and `suite/<name>.md`.",
    ]
    earlier = sorted({m.benchmark for m in metrics} - {r.name for r in runs})
    if earlier:
        lines += [
            "",
            f"Not run this time: {', '.join(earlier)} — their rows are from their last results "
            "(`bench/results/<name>.json`/`.md` say when and at what load).",
        ]
    lines += [
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in machine.items()]
    lines += [
        "",
        "## Results",
        "",
        "| benchmark | metric | value | baseline | ratio | target | met? |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for m in metrics:
        value = f"{_fmt(m.value)} {m.unit}".strip() if m.value is not None else "—"
        base = f"{_fmt(m.baseline)} {m.unit}".strip() if m.baseline is not None else "—"
        note = f" ({m.note})" if m.note else ""
        lines.append(
            f"| {m.benchmark} | {m.metric}{note} | {value} | {base} | {_fmt(m.ratio)} | "
            f"{m.target or '—'} | {_met(m)} |"
        )
    targeted = [m for m in metrics if m.met is not None]
    lines += [
        "",
        f"Targets met: {sum(1 for m in targeted if m.met)} of {len(targeted)}.",
        "",
        "## Runs",
        "",
        "| benchmark | command | seconds | exit | results | load average before → after |",
        "|---|---|---:|---:|---|---|",
    ]
    for r in runs:
        fresh = r.results_file if r.fresh else f"{r.results_file} (**not written by this run**)"
        load = (
            f"{' '.join(f'{x:.2f}' for x in r.load_before)} → "
            f"{' '.join(f'{x:.2f}' for x in r.load_after)}"
        )
        lines.append(
            f"| {r.name} | `{r.command}` | {r.seconds:.0f} | {r.exit_status} | {fresh} | {load} |"
        )
    return "\n".join(lines) + "\n"
