"""The projections benchmark's round collects each projector process's result, and gives a
round up (to start it again) when a process lost partitions to a rebalance or died, instead
of waiting ten minutes for a result that cannot come."""

from __future__ import annotations

import queue
from dataclasses import dataclass

import pytest

from bench.bench_projections import _results


@dataclass
class Proc:
    exitcode: int | None = None


def test_every_process_result_is_collected() -> None:
    results: queue.Queue[object] = queue.Queue()
    results.put((1.0, 10, 2.0, 0.1))
    results.put((1.1, 12, 2.1, 0.2))
    assert _results(results, [Proc(), Proc(0)], 5) == [(1.0, 10, 2.0, 0.1), (1.1, 12, 2.1, 0.2)]


def test_a_process_that_lost_partitions_gives_the_round_up() -> None:
    results: queue.Queue[object] = queue.Queue()
    results.put((1.0, 10, 2.0, 0.1))
    results.put(None)  # what a process reports after a rebalance in the timed window
    assert _results(results, [Proc(), Proc()], 5) is None


def test_a_dead_process_gives_the_round_up_without_waiting_out_the_timeout() -> None:
    results: queue.Queue[object] = queue.Queue()
    assert _results(results, [Proc(), Proc(1)], 600) is None


def test_no_result_and_no_death_times_out() -> None:
    with pytest.raises(TimeoutError, match="no result in 0 s"):
        _results(queue.Queue(), [Proc()], 0)
