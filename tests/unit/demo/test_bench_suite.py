"""The benchmark suite runner's selection, locking, collection and summary (not the benchmarks:
fake benchmark modules stand in for them)."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from ticketstream.bench.cli import parse_extra_args
from ticketstream.bench.runner import (
    BENCHMARKS,
    Bench,
    BenchError,
    bench_lock,
    collect,
    machine_info,
    run_suite,
    select,
)
from ticketstream.bench.summary import EXTRACTORS, Metric, Run, get, render_summary, routing_metrics

SCHEMAS = {"codec_records_per_s_median": 28000, "baseline_records_per_s_median": 35000,
           "ratio_median": 0.8}  # fmt: skip
GATEWAY = {
    "throughput": {"gateway_median": 2000.0, "bare_median": 5000.0, "ratio": 0.4},
    "latency_at_1000_rps": {"p99_seconds": 0.031},
}
STREAMS = {"worker_msgs_per_s": 6000.0, "raw_aiokafka_msgs_per_s": 20000.0, "ratio": 0.3,
           "worker_rss_mb_at_open_tickets": 500.5}  # fmt: skip
SLA = {
    "tick_cost_ratio_1M_vs_10k_active": {"memory": 1.6, "rocksdict": 0.6},
    "runs": [
        {"store": "memory", "active": 10000, "tick_0.5s": {"lag_p99_s": 0.2}, "rss_mb_loaded": 60},
        {"store": "memory", "active": 1000000, "tick_0.5s": {"lag_p99_s": 1.2},
         "rss_mb_loaded": 1000},
    ],
}  # fmt: skip
PROJECTIONS = {
    "throughput": {"projector_rows_per_s": [10, 30, 20], "raw_rows_per_s": [40, 50, 60],
                   "ratio": 0.4},
    "latency": {"p99_s": 1.5},
    "rebuild": {"events_per_s": 9000},
}  # fmt: skip


def test_every_benchmark_of_the_issues_is_in_the_suite_with_an_extractor() -> None:
    assert [b.name for b in BENCHMARKS] == [
        "schemas", "sla", "routing", "streams", "gateway", "projections",
    ]  # fmt: skip
    assert set(EXTRACTORS) == {b.name for b in BENCHMARKS}
    # every benchmark module in bench/ is in the suite (a new one cannot be left out silently)
    modules = {p.stem for p in (Path(__file__).parents[3] / "bench").glob("bench_*.py")}
    # outside the suite, on purpose (bench/results/README.md): whole-pipeline runs of minutes
    outside = {"bench_scale", "bench_rebalance"}
    assert modules - outside == {b.module.removeprefix("bench.") for b in BENCHMARKS}
    for b in BENCHMARKS:
        assert (Path(__file__).parents[3] / (b.module.replace(".", "/") + ".py")).exists()


def test_only_selects_in_suite_order_and_rejects_unknown_names() -> None:
    assert [b.name for b in select("gateway, sla")] == ["sla", "gateway"]
    assert [b.name for b in select(None)] == [b.name for b in BENCHMARKS]
    with pytest.raises(BenchError, match=r"unknown benchmark.*gatway; choose from gateway, "):
        select("gatway")


def test_extra_args_per_benchmark() -> None:
    assert parse_extra_args(["gateway=--rounds 3", "gateway=--paced-runs 1", "sla="]) == {
        "gateway": ["--rounds", "3", "--paced-runs", "1"],
        "sla": [],
    }
    with pytest.raises(BenchError, match="NAME=ARGS"):
        parse_extra_args(["--rounds 3"])


def test_get_walks_dicts_and_lists_and_keys_with_dots() -> None:
    assert get(SLA, "runs/1/tick_0.5s/lag_p99_s") == 1.2
    assert get(SLA, "runs/2/store") is None and get(SLA, "nope/x") is None


def row(rows: list[Metric], metric_start: str) -> Metric:
    (found,) = [m for m in rows if m.metric.startswith(metric_start)]
    return found


def test_extractors_read_value_baseline_ratio_and_judge_the_target() -> None:
    s = EXTRACTORS["schemas"](SCHEMAS)[0]
    assert (s.value, s.baseline, s.ratio, s.target, s.met) == (28000, 35000, 0.8, "≥ 0.8", True)
    g = EXTRACTORS["gateway"](GATEWAY)
    assert (row(g, "signed").ratio, row(g, "signed").met) == (0.4, False)
    assert (row(g, "p99").value, row(g, "p99").met) == (0.031, True)
    st = EXTRACTORS["streams"](STREAMS)
    assert row(st, "threading").met and row(st, "worker throughput").met
    assert row(st, "worker RSS").met is None  # recorded, no target
    sla = EXTRACTORS["sla"](SLA)
    assert (
        row(sla, "tick cost, most vs fewest active timers (memory)").met,
        row(sla, "tick cost, most vs fewest active timers (rocksdict)").met,
    ) == (False, True)
    lag = row(sla, "firing lag p99")  # only the run with the most active timers
    assert (lag.metric, lag.value, lag.met) == (
        "firing lag p99, 1,000,000 active (memory)", 1.2, False,
    )  # fmt: skip
    p = EXTRACTORS["projections"](PROJECTIONS)
    assert (row(p, "projector").value, row(p, "projector").baseline) == (20, 50)  # medians
    assert row(p, "event").met and row(p, "rebuild").value == 9000


def test_the_real_worker_sla_shape_is_read_too() -> None:
    real = {
        "tick_cost_ratio_vs_baseline": {"memory": 1.1, "rocksdict": 2.0},
        "target_lag_p99_s": 1.0,
        "runs": [
            {"store": "rocksdict", "active": 10000, "lag_p99_s": 0.3, "rss_mb_after_window": 90},
            {"store": "rocksdict", "active": 1000000, "lag_p99_s": 0.8,
             "rss_mb_after_window": 400},
        ],
    }  # fmt: skip
    rows = EXTRACTORS["sla"](real)
    assert [(m.metric, m.value, m.met) for m in rows] == [
        ("tick cost, most vs fewest active timers (memory)", 1.1, True),
        ("tick cost, most vs fewest active timers (rocksdict)", 2.0, False),
        ("firing lag p99, 1,000,000 active (rocksdict)", 0.8, True),
        ("RSS with 1,000,000 timers (rocksdict)", 400, None),
    ]


def test_a_missing_number_is_a_row_that_says_so_and_is_not_met() -> None:
    g = EXTRACTORS["gateway"]({"throughput": {}})
    assert [(m.value, m.met, m.note) for m in g] == [
        (None, False, "no throughput/ratio"),
        (None, False, "no latency_at_1000_rps/p99_seconds"),
    ]
    assert EXTRACTORS["sla"]({})[-1].note == "no runs"
    # at_least's missing value was a 1-tuple holding the Metric (found by mypy)
    streams = EXTRACTORS["streams"]({})
    assert all(isinstance(m, Metric) for m in streams)
    assert ("worker throughput", None, False, "no worker_msgs_per_s") in [
        (m.metric, m.value, m.met, m.note) for m in streams
    ]


def test_collect_flags_missing_unreadable_and_stale_results(tmp_path: Path) -> None:
    b = Bench("schemas", "bench.bench_schemas", "schemas.json", False)
    assert collect(b, None, tmp_path)[0].note == "schemas.json was not written"
    (tmp_path / "schemas.json").write_text("{not json")
    assert "unreadable" in collect(b, None, tmp_path)[0].note
    (tmp_path / "schemas.json").write_text(json.dumps(SCHEMAS))
    stale = Run("schemas", "x", 1.0, 0, "schemas.json", False, (0, 0, 0), (0, 0, 0))
    assert collect(b, stale, tmp_path)[0].note == "stale: earlier run"


def test_summary_table_has_machine_rows_metrics_and_runs() -> None:
    metrics = EXTRACTORS["schemas"](SCHEMAS) + EXTRACTORS["gateway"](GATEWAY)
    runs = [Run("gateway", "python -m bench.bench_gateway", 61.2, 0, "bench/results/gateway.json",
                False, (1.0, 0.5, 0.25), (2.0, 1.0, 0.5))]  # fmt: skip
    text = render_summary(metrics, runs, {"cores": "2", "CPU": "Test CPU"}, when="W", command="C")
    assert "| cores | 2 |" in text and "| CPU | Test CPU |" in text
    assert "| benchmark | metric | value | baseline | ratio | target | met? |" in text
    assert (
        "| schemas | codec encode+decode (ratio to raw fastavro) | 28,000 records/s | "
        "35,000 records/s | 0.8 | ≥ 0.8 | yes |"
    ) in text
    assert "| gateway | p99 ack latency at 1,000 req/s | 0.031 s | — | — | ≤ 0.05 s | yes |" in text
    assert "Targets met: 2 of 3." in text
    assert "**not written by this run**" in text and "1.00 0.50 0.25 → 2.00 1.00 0.50" in text
    # schemas has rows but no run in this suite: the summary says its rows are older
    assert "Not run this time: schemas — their rows are from their last results" in text


def test_machine_info_names_what_the_summary_promises() -> None:
    info = machine_info()
    assert set(info) == {"cores", "CPU", "RAM", "load average (1/5/15 min) at start", "Python",
                         "kernel", "git commit"}  # fmt: skip
    assert info["cores"] == str(os.cpu_count())


def test_the_lock_excludes_a_second_holder(tmp_path: Path) -> None:
    lock = tmp_path / "bench.lock"
    with bench_lock(lock), lock.open("a") as other, pytest.raises(BlockingIOError):
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with lock.open("a") as other:  # released on exit
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_suite_runs_each_benchmark_and_writes_the_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mods = tmp_path / "mods"
    mods.mkdir()
    results = tmp_path / "bench" / "results"
    results.mkdir(parents=True)
    (mods / "fake_schemas_bench.py").write_text(
        textwrap.dedent(f"""
            import json, os, sys
            print("measuring", sys.argv[1:])
            with open({str(results / "schemas.json")!r}, "w") as f:
                json.dump({SCHEMAS!r}, f)
        """)
    )
    (mods / "fake_broken_bench.py").write_text("raise SystemExit('no broker')\n")
    monkeypatch.setenv("PYTHONPATH", str(mods) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    benches = [
        Bench("schemas", "fake_schemas_bench", "schemas.json", False),
        Bench("sla", "fake_broken_bench", "sla.json", False),
    ]
    lines: list[str] = []
    runs, metrics = run_suite(
        benches,
        results_dir=results,
        log_dir=tmp_path / "logs",
        lock=tmp_path / "bench.lock",
        extra_args={"schemas": ["--rounds", "3"]},
        out=lines.append,
    )
    assert [(r.name, r.exit_status, r.fresh) for r in runs] == [
        ("schemas", 0, True),
        ("sla", 1, False),
    ]
    assert runs[0].command == "python -m fake_schemas_bench --rounds 3"
    assert "  [schemas] measuring ['--rounds', '3']" in lines
    assert "no broker" in (tmp_path / "logs" / "sla.log").read_text()
    assert [(m.benchmark, m.met) for m in metrics] == [("schemas", True), ("sla", False)]
    summary = (results / "SUMMARY.md").read_text()
    assert "| sla | results (sla.json was not written) |" in summary
    suite = json.loads((results / "suite.json").read_text())
    assert [m["benchmark"] for m in suite["metrics"]] == ["schemas", "sla"]
    assert json.loads((results / "suite" / "schemas.json").read_text()) == SCHEMAS
    assert not (results / "suite" / "sla.json").exists()
    assert sys.executable  # the children ran with this interpreter


def test_summary_only_rerenders_the_last_suite_run_from_its_snapshots(tmp_path: Path) -> None:
    from ticketstream.bench.cli import rerender_summary

    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "schemas.json").write_text(json.dumps(SCHEMAS))
    (tmp_path / "schemas.json").write_text(json.dumps({**SCHEMAS, "ratio_median": 0.5}))  # later
    run = Run("schemas", "python -m bench.bench_schemas", 19.0, 0, "bench/results/schemas.json",
              True, (1.0, 1.0, 1.0), (2.0, 2.0, 2.0))  # fmt: skip
    (tmp_path / "suite.json").write_text(
        json.dumps(
            {
                "when": "W",
                "command": "C",
                "machine": {"cores": "2"},
                "runs": [dataclasses.asdict(run)],
            }
        )
    )
    text = rerender_summary(tmp_path, select("schemas"), "ignored")
    assert "Run W with `C`" in text and "| cores | 2 |" in text
    assert "| 0.8 | ≥ 0.8 | yes |" in text  # the suite run's snapshot, not the later 0.5
    assert "| schemas | `python -m bench.bench_schemas` | 19 | 0 |" in text
    assert (tmp_path / "SUMMARY.md").read_text() == text


def test_routing_rows_put_each_queue_size_beside_the_router_it_replaced() -> None:
    run = {
        "waiting_tickets": 10000,
        "batch_size": 10,
        "current": {"assignment_latency_s": 0.5},
        "baseline": {"assignment_latency_s": 8.0},
    }
    (row,) = routing_metrics({"runs": [run]})
    assert row.metric == (
        "assignment latency, 10,000 waiting, 10 records per batch (vs router before)"
    )
    assert (row.value, row.baseline, row.ratio, row.met) == (0.5, 8.0, 0.0625, None)
    (missing,) = routing_metrics({})
    assert missing.value is None and missing.note == "no runs"
