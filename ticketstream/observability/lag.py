"""Consumer lag for every consumer group, per topic and partition, read from Kafka.

Lag = the partition's end offset (the offset the next produced record will get) − the group's
committed offset, in messages, never negative. It is measured from outside the consumers (the
Kafka admin API), so a stopped or stuck worker still shows its lag growing — the thing the
consumer-lag alert is for. Faust does not commit offsets for its changelog/repartition reads,
so those topics do not appear; the groups are the workers, the projector and any other
consumer.

Exported series (labels are group, topic and partition: small fixed sets, never ids):

- ``ticketstream_consumer_lag_messages{group,topic,partition}``
- ``ticketstream_consumer_committed_offset{group,topic,partition}``
- ``ticketstream_topic_end_offset{topic,partition}`` for every topic (its rate is the
  produce rate)
- ``ticketstream_kafka_up`` 1 when the last poll reached Kafka, else 0
- ``ticketstream_lag_exporter_poll_duration_seconds``, ``…_last_success_timestamp_seconds``
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client.core import GaugeMetricFamily, Metric

log = logging.getLogger(__name__)

__all__ = ["KafkaLagReader", "LagCollector", "LagSnapshot", "PartitionLag", "compute_lag"]


@dataclass(frozen=True, slots=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int
    end: int

    @property
    def lag(self) -> int:
        """Messages produced but not yet committed by the group (0 when caught up)."""
        return max(0, self.end - self.committed)


@dataclass(frozen=True, slots=True)
class LagSnapshot:
    """One poll's result. ``ok`` is False when Kafka could not be reached."""

    taken_at: float  # unix seconds
    ok: bool
    lags: tuple[PartitionLag, ...] = ()
    end_offsets: Mapping[tuple[str, int], int] = field(default_factory=dict)
    duration_seconds: float = 0.0
    error: str = ""


def compute_lag(
    committed: Mapping[str, Mapping[tuple[str, int], int]],
    end_offsets: Mapping[tuple[str, int], int],
) -> list[PartitionLag]:
    """Pair each group's committed offsets with the partitions' end offsets.

    ``committed``: group -> (topic, partition) -> committed offset (negative = none committed,
    which is skipped). Partitions whose end offset is unknown (topic deleted) are skipped.
    Sorted by group, topic, partition.
    """
    out = []
    for group, offsets in committed.items():
        for (topic, partition), offset in offsets.items():
            end = end_offsets.get((topic, partition))
            if offset < 0 or end is None:
                continue
            out.append(PartitionLag(group, topic, partition, offset, end))
    out.sort(key=lambda p: (p.group, p.topic, p.partition))
    return out


class KafkaLagReader:
    """Reads committed and end offsets through kafka-python's admin client.

    ``group_pattern`` (a regex, full match) limits the groups reported; the default reports
    every group. The admin client is created on first use and recreated after a failure.
    """

    def __init__(
        self, bootstrap: str, *, group_pattern: str = ".*", request_timeout_ms: int = 5000
    ) -> None:
        self.bootstrap = bootstrap
        self.group_re = re.compile(group_pattern)
        self.request_timeout_ms = request_timeout_ms
        self._admin: object | None = None

    def _client(self) -> object:
        if self._admin is None:
            from kafka.admin import KafkaAdminClient

            self._admin = KafkaAdminClient(
                bootstrap_servers=self.bootstrap,
                client_id="ticketstream-lag-exporter",
                request_timeout_ms=self.request_timeout_ms,
                bootstrap_timeout_ms=self.request_timeout_ms,
            )
        return self._admin

    def close(self) -> None:
        if self._admin is not None:
            try:
                self._admin.close()  # type: ignore[attr-defined]
            finally:
                self._admin = None

    def read(self, now: float | None = None) -> LagSnapshot:
        """Poll Kafka once. Never raises: a failure gives ``LagSnapshot(ok=False, error=…)``."""
        start = time.monotonic()
        taken_at = time.time() if now is None else now
        try:
            committed, ends = self._read_offsets()
        except Exception as exc:  # any client/broker error means "Kafka unreachable" here
            log.warning("lag exporter: cannot read offsets from %s: %s", self.bootstrap, exc)
            self.close()
            return LagSnapshot(
                taken_at, False, duration_seconds=time.monotonic() - start, error=str(exc)
            )
        return LagSnapshot(
            taken_at,
            True,
            tuple(compute_lag(committed, ends)),
            ends,
            duration_seconds=time.monotonic() - start,
        )

    def _read_offsets(
        self,
    ) -> tuple[dict[str, dict[tuple[str, int], int]], dict[tuple[str, int], int]]:
        from kafka.admin import OffsetSpec

        admin: object = self._client()
        groups = sorted(
            g["group_id"]
            for g in admin.list_groups()  # type: ignore[attr-defined]
            if self.group_re.fullmatch(g["group_id"])
        )
        committed: dict[str, dict[tuple[str, int], int]] = {}
        if groups:
            raw = admin.list_group_offsets(groups)  # type: ignore[attr-defined]
            for group, offsets in raw.items():
                committed[group] = {
                    (tp.topic, tp.partition): om.offset for tp, om in offsets.items()
                }
        partitions = {tp for offsets in committed.values() for tp in offsets}
        # End offsets of every (non-internal) topic, consumed or not: their growth is the
        # produce rate, e.g. of the dead-letter topic nobody consumes.
        topics = [t for t in admin.list_topics() if not t.startswith("__")]  # type: ignore[attr-defined]
        if topics:
            for desc in admin.describe_topics(topics):  # type: ignore[attr-defined]
                if desc.get("error_code", 0) == 0 and not desc.get("is_internal"):
                    partitions |= {(desc["name"], p["partition_index"]) for p in desc["partitions"]}
        ends: dict[tuple[str, int], int] = {}
        if partitions:
            from kafka import TopicPartition

            specs = {TopicPartition(t, p): OffsetSpec.LATEST for t, p in partitions}
            try:
                result = admin.list_partition_offsets(specs)  # type: ignore[attr-defined]
            except Exception as exc:
                # One deleted topic must not hide every other lag: retry partition by
                # partition only when the batch fails.
                log.info("lag exporter: batch end-offset lookup failed (%s); one by one", exc)
                result = {}
                for tp, spec in specs.items():
                    try:
                        result.update(admin.list_partition_offsets({tp: spec}))  # type: ignore[attr-defined]
                    except Exception:
                        continue
            ends = {(tp.topic, tp.partition): ot.offset for tp, ot in result.items()}
        return committed, ends


class LagCollector:
    """A prometheus-client collector rendering the latest :class:`LagSnapshot`.

    Register it on a registry and call :meth:`update` after each poll; a scrape never waits
    for Kafka. Series of groups/partitions that disappear vanish on the next update.
    """

    def __init__(self) -> None:
        self._snapshot: LagSnapshot | None = None
        self._last_success: float | None = None

    def update(self, snapshot: LagSnapshot) -> None:
        """Replace the rendered state with ``snapshot`` (a failed poll drops the lag series)."""
        self._snapshot = snapshot
        if snapshot.ok:
            self._last_success = snapshot.taken_at

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot
        up = GaugeMetricFamily(
            "ticketstream_kafka_up", "1 when the lag exporter's last poll reached Kafka, else 0"
        )
        up.add_metric([], 1.0 if snap is not None and snap.ok else 0.0)
        yield up
        duration = GaugeMetricFamily(
            "ticketstream_lag_exporter_poll_duration_seconds",
            "Seconds the last poll of Kafka offsets took",
        )
        duration.add_metric([], snap.duration_seconds if snap is not None else 0.0)
        yield duration
        if self._last_success is not None:
            last = GaugeMetricFamily(
                "ticketstream_lag_exporter_last_success_timestamp_seconds",
                "Unix time of the last successful poll of Kafka offsets",
            )
            last.add_metric([], self._last_success)
            yield last
        lag = GaugeMetricFamily(
            "ticketstream_consumer_lag_messages",
            "Messages in the partition not yet committed by the consumer group",
            labels=["group", "topic", "partition"],
        )
        committed = GaugeMetricFamily(
            "ticketstream_consumer_committed_offset",
            "The consumer group's committed offset (next message it will read)",
            labels=["group", "topic", "partition"],
        )
        end = GaugeMetricFamily(
            "ticketstream_topic_end_offset",
            "The partition's end offset (offset of the next produced message)",
            labels=["topic", "partition"],
        )
        if snap is not None and snap.ok:
            for p in snap.lags:
                labels = [p.group, p.topic, str(p.partition)]
                lag.add_metric(labels, float(p.lag))
                committed.add_metric(labels, float(p.committed))
            for (topic, partition), offset in sorted(snap.end_offsets.items()):
                end.add_metric([topic, str(partition)], float(offset))
        yield lag
        yield committed
        yield end
