"""Tallies: Prometheus counter increments and histogram observations kept as plain numbers and
added to their children whenever the default registry is collected (a scrape of /metrics,
``REGISTRY.get_sample_value``), so what is exposed is the same. prometheus-client's own
``inc``/``observe`` take a lock each and ``observe`` walks the buckets in Python: ~13 µs of the
gateway's CPU per request for its four updates (elimination under ``wrk -c32``), and a labels
lookup plus a locked add several times per channel message in the stream worker.

Import this module before defining the metrics that get tallies: the flush is a collector
registered at import, and the registry collects in registration order.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable
from typing import Any, TypeVar

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector


class CountTally:
    """``inc`` of a Counter child (or a Gauge's ``inc``/``dec`` with a negative amount),
    applied when the registry is collected."""

    __slots__ = ("child", "flushed", "total")

    def __init__(self, child: Counter | Gauge) -> None:
        self.child = child
        self.total = 0  # counted since created (cumulative: a flush from another thread is safe)
        self.flushed = 0  # of which already added to the child

    def inc(self, amount: int = 1) -> None:
        self.total += amount

    def flush(self) -> None:
        total = self.total
        if total != self.flushed:
            self.child.inc(total - self.flushed)
            self.flushed = total


class TimeTally:
    """``observe`` of a Histogram child, applied when the registry is collected. Same buckets
    (an observation goes to the first bound ≥ it) and sum; relies on prometheus-client's
    Histogram child layout (``_upper_bounds``, ``_buckets``, ``_sum``), checked by
    tests/unit/connectors/test_metrics_tally.py against ``observe`` itself."""

    __slots__ = ("bounds", "child", "counts", "flushed", "flushed_sum", "sum")

    def __init__(self, child: Histogram) -> None:
        self.child = child
        self.bounds: list[float] = list(child._upper_bounds)
        self.counts = [0] * len(self.bounds)  # cumulative per bucket (not Prometheus' running)
        self.flushed = [0] * len(self.bounds)
        self.sum = 0.0
        self.flushed_sum = 0.0

    def observe(self, amount: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, amount)] += 1
        self.sum += amount

    def flush(self) -> None:
        buckets = self.child._buckets
        for i, n in enumerate(self.counts):
            if n != self.flushed[i]:
                buckets[i].inc(n - self.flushed[i])
                self.flushed[i] = n
        total = self.sum
        if total != self.flushed_sum:
            self.child._sum.inc(total - self.flushed_sum)
            self.flushed_sum = total


class LastTally:
    """``set`` of a Gauge child: the last value set, applied when the registry is collected."""

    __slots__ = ("child", "flushed", "value")

    def __init__(self, child: Gauge) -> None:
        self.child = child
        self.value: float | None = None
        self.flushed: float | None = None

    def set(self, value: float) -> None:
        self.value = value

    def flush(self) -> None:
        value = self.value
        if value is not None and value != self.flushed:
            self.child.set(value)
            self.flushed = value


# child → its tally (children live as long as their metric: the process)
_TALLIES: dict[Counter | Gauge | Histogram, CountTally | TimeTally | LastTally] = {}
_FLUSH_LOCK = threading.Lock()


_T = TypeVar("_T", CountTally, TimeTally, LastTally)


def _tally(child: Any, kind: type[_T]) -> _T:
    """The one tally of ``kind`` for ``child`` (made on first use, shared after)."""
    tally = _TALLIES.get(child)
    if tally is None:
        tally = _TALLIES[child] = kind(child)
    if not isinstance(tally, kind):
        raise TypeError(f"{child!r} already has a {type(tally).__name__}")
    return tally


def counted(child: Counter | Gauge) -> CountTally:
    """The tally of a Counter child, or of a Gauge child's ``inc``/``dec``."""
    return _tally(child, CountTally)


def timed(child: Histogram) -> TimeTally:
    """The tally of a Histogram child."""
    return _tally(child, TimeTally)


def last_set(child: Gauge) -> LastTally:
    """The tally of a Gauge child's ``set``."""
    return _tally(child, LastTally)


def flush() -> None:
    """Add every tally's new counts to its Prometheus child."""
    with _FLUSH_LOCK:
        for tally in list(_TALLIES.values()):
            tally.flush()


class _FlushFirst(Collector):
    """Registered before the metrics that get tallies (see the module docstring), so each
    collection sees every tally flushed."""

    def describe(self) -> Iterable[Metric]:
        return ()

    def collect(self) -> Iterable[Metric]:
        flush()
        return ()


REGISTRY.register(_FlushFirst())
