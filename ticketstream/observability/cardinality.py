"""Cardinality guard: after driving many tickets through metric code, no series may carry a
per-ticket, per-customer or per-message label value, and the series count must not grow
with the number of tickets.

Used by tests (tests/unit/dashboards/test_cardinality.py); usable against any registry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry


@dataclass(frozen=True, slots=True)
class LabelSets:
    """Distinct label values per (metric family, label name), and the series count."""

    values: dict[tuple[str, str], frozenset[str]]
    series: int


def label_sets(registry: CollectorRegistry) -> LabelSets:
    values: dict[tuple[str, str], set[str]] = defaultdict(set)
    series = 0
    for metric in registry.collect():
        for sample in metric.samples:
            series += 1
            for name, value in sample.labels.items():
                if name in {"le", "quantile"}:  # bucket bounds: fixed by the metric definition
                    continue
                values[(metric.name, name)].add(value)
    return LabelSets({k: frozenset(v) for k, v in values.items()}, series)


def id_leaks(sets: LabelSets, ids: Iterable[str]) -> list[str]:
    """Descriptions of every label whose values contain one of ``ids`` (ticket, customer,
    message ids used while driving the metrics); empty when clean."""
    wanted = set(ids)
    leaks = []
    for (metric, label), values in sorted(sets.values.items()):
        hit = sorted(v for v in values if v in wanted or any(i in v for i in _probe(wanted, v)))
        if hit:
            leaks.append(f"{metric}{{{label}}} carries ids, e.g. {hit[:3]}")
    return leaks


def _probe(ids: set[str], value: str) -> Iterable[str]:
    # Substring check only for long-enough values (an id embedded in "topic.T-42" etc.).
    return (i for i in ids if len(i) >= 6) if len(value) >= 6 else ()


def widest_labels(sets: LabelSets, limit: int) -> list[str]:
    """Labels with more than ``limit`` distinct values (a fixed set stays far below it)."""
    return [
        f"{metric}{{{label}}}: {len(values)} values"
        for (metric, label), values in sorted(sets.values.items())
        if len(values) > limit
    ]
