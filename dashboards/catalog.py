"""Every Ticketstream metric in one list: read from the services' ``metrics.py`` modules,
Faust's Prometheus sensor and the lag exporter. Feeds docs/sre.md's metric table and the
dashboard tests.

    python -m dashboards.catalog          # rewrite the table in docs/sre.md
    python -m dashboards.catalog --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase

from dashboards.generated import write_or_check

REPO = Path(__file__).resolve().parent.parent
SRE_DOC = REPO / "docs" / "sre.md"
BEGIN, END = "<!-- metrics:begin -->", "<!-- metrics:end -->"

# Modules owned by the other services; each is read if it exists.
SERVICE_MODULES = (
    "connectors.metrics",
    "streams.metrics",
    "streams.sla.metrics",
    "projections.metrics",
)


@dataclass(frozen=True, slots=True)
class MetricDoc:
    name: str  # as exposed (counters with _total)
    type: str
    labels: tuple[str, ...]
    help: str
    source: str


# Series rendered by custom collectors (ticketstream/observability/{lag,freshness}.py).
EXPORTER_METRICS = (
    MetricDoc("ticketstream_consumer_lag_messages", "gauge", ("group", "topic", "partition"),
              "Messages in the partition not yet committed by the consumer group", "lag-exporter"),
    MetricDoc("ticketstream_consumer_committed_offset", "gauge", ("group", "topic", "partition"),
              "The consumer group's committed offset (next message it will read)", "lag-exporter"),
    MetricDoc("ticketstream_topic_end_offset", "gauge", ("topic", "partition"),
              "The partition's end offset; its rate is the produce rate", "lag-exporter"),
    MetricDoc("ticketstream_kafka_up", "gauge", (),
              "1 when the lag exporter's last poll reached Kafka, else 0", "lag-exporter"),
    MetricDoc("ticketstream_lag_exporter_poll_duration_seconds", "gauge", (),
              "Seconds the last poll of Kafka offsets took", "lag-exporter"),
    MetricDoc("ticketstream_lag_exporter_last_success_timestamp_seconds", "gauge", (),
              "Unix time of the last successful poll of Kafka offsets", "lag-exporter"),
    MetricDoc("ticketstream_clickhouse_up", "gauge", (),
              "1 when the last freshness query reached ClickHouse", "lag-exporter"),
    MetricDoc("ticketstream_projection_newest_event_timestamp_seconds", "gauge", ("table",),
              "Event time (unix seconds) of the newest row in the projection table", "lag-exporter"),
    MetricDoc("ticketstream_projection_freshness_seconds", "gauge", ("table",),
              "Seconds between now and the newest event time in the projection table", "lag-exporter"),
)  # fmt: skip


def _doc(metric: MetricWrapperBase, source: str) -> MetricDoc:
    name = metric._name
    kind = metric._type
    assert kind is not None, f"{name}: a metric class without a type"
    exposed = f"{name}_total" if kind == "counter" else name
    return MetricDoc(exposed, kind, tuple(metric._labelnames), metric._documentation, source)


def module_metrics(module_name: str) -> list[MetricDoc]:
    """Metrics defined at module level (or in module-level containers) of ``module_name``;
    [] when the module does not exist (yet)."""
    try:
        if importlib.util.find_spec(module_name) is None:
            return []
    except ModuleNotFoundError:
        return []
    module = importlib.import_module(module_name)
    found: dict[str, MetricDoc] = {}
    for value in vars(module).values():
        candidates = [value]
        if hasattr(value, "__dict__") and not isinstance(value, type):
            candidates += list(vars(value).values())
        for c in candidates:
            if isinstance(c, MetricWrapperBase):
                d = _doc(c, module_name)
                found[d.name] = d
    return sorted(found.values(), key=lambda d: d.name)


def faust_metrics() -> list[MetricDoc]:
    """The metrics Faust's Prometheus sensor defines (prefix ``ticketstream_faust``)."""
    from faust.sensors.prometheus import FaustMetrics

    from ticketstream.observability.faust_sensor import FAUST_METRIC_PREFIX

    metrics = FaustMetrics.create(CollectorRegistry(), FAUST_METRIC_PREFIX)
    return sorted((_doc(m, "faust sensor") for m in metrics), key=lambda d: d.name)


def catalog() -> list[MetricDoc]:
    """Every metric: the services' modules, Faust's sensor, the lag exporter."""
    out: list[MetricDoc] = []
    for name in SERVICE_MODULES:
        out += module_metrics(name)
    out += faust_metrics()
    out += EXPORTER_METRICS
    return out


def markdown_table(docs: list[MetricDoc]) -> str:
    lines = ["| metric | type | labels | from | meaning |", "|---|---|---|---|---|"]
    for d in docs:
        labels = ", ".join(d.labels) or "—"
        meaning = d.help.replace("|", "\\|")
        lines.append(f"| `{d.name}` | {d.type} | {labels} | {d.source} | {meaning} |")
    return "\n".join(lines)


def render_doc(text: str, docs: list[MetricDoc]) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{markdown_table(docs)}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    return write_or_check(
        __doc__.splitlines()[0],
        lambda: {SRE_DOC: render_doc(SRE_DOC.read_text(), catalog())},
        "python -m dashboards.catalog",
        argv,
    )


if __name__ == "__main__":
    sys.exit(main())
