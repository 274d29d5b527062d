"""What the dashboards show, as data: panels with their queries, units and layout.

build.py turns these into Grafana JSON; the integration tests run every query against the real
Prometheus and ClickHouse. Variables: ``$channel`` and ``$priority`` (multi-select, regex for
PromQL); ``$tenant``, ``$channel``, ``$priority`` for ClickHouse (``${var:singlequote}`` lists).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["timeseries", "stat", "table", "barchart"]

RATE = "$__rate_interval"


@dataclass(frozen=True)
class Query:
    text: str  # PromQL or ClickHouse SQL
    legend: str = ""  # Prometheus legend format
    time_series: bool = True  # ClickHouse: time series (first column a DateTime) or table


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    queries: tuple[Query, ...]
    unit: str = "short"
    kind: Kind = "timeseries"
    width: int = 12
    height: int = 8


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    query: str  # PromQL label_values(...) or SQL returning one column
    multi: bool = True


@dataclass(frozen=True)
class DashboardSpec:
    uid: str
    title: str
    description: str
    datasource: Literal["prometheus", "clickhouse"]
    rows: tuple[Row, ...]
    variables: tuple[Variable, ...] = field(default_factory=tuple)
    tags: tuple[str, ...] = ()
    time_from: str = "now-6h"


def P(expr: str, legend: str = "") -> Query:
    return Query(expr, legend)


def quantiles(histogram: str, *qs: float, by: str = "", match: str = "") -> tuple[Query, ...]:
    """One ``histogram_quantile`` query per quantile of ``histogram`` (its ``_bucket`` series),
    legend ``p50``/``p99``…; with ``by`` (a label) one series per label value, legend the value."""
    groups = ", ".join(("le", by) if by else ("le",))
    selector = f"{histogram}_bucket{{{match}}}" if match else f"{histogram}_bucket"
    return tuple(
        Query(
            f"histogram_quantile({q:g}, sum by ({groups}) (rate({selector}[{RATE}])))",
            f"{{{{{by}}}}}" if by else f"p{round(q * 100)}",
        )
        for q in qs
    )


CH_FILTER = (
    "tenant_id = ${tenant:singlequote} AND channel IN (${channel:singlequote}) "
    "AND priority IN (${priority:singlequote})"
)
